//! The plan and the drift report as GitHub-flavoured Markdown, for a pull-request comment:
//! a summary line (with the monthly price change), a table of actions, details per
//! resource in `<details>`, what is kept, warnings.
//!
//! Escaping: a value in Markdown context (table cells, list items) goes through [`md`]
//! (HTML special characters as entities, every other ASCII punctuation backslash-escaped,
//! so neither `|` nor `*` nor a backtick can change the table or the emphasis); a value
//! inside raw HTML (`<summary>`) goes through [`super::html::esc`].

use std::fmt::Write as _;

use flinkform_core::Value;

use super::html::esc;
use super::{action_label, action_phrase, deleted_phrase, diff_sides, monthly_change_text};
use crate::model::{DriftKind, Op, Plan, PlannedAction};

/// Most actions the table lists; the rest are counted (a comment has a size limit).
pub const TABLE_ROWS: usize = 100;
/// Most actions shown with their details.
pub const DETAIL_BLOCKS: usize = 50;
/// Longest value shown in a table cell before it is cut (`…`).
const CELL_CHARS: usize = 80;

/// `s` as literal text in Markdown context: `&`, `<`, `>` as HTML entities, other ASCII
/// punctuation that Markdown could read as syntax backslash-escaped, line breaks as
/// `<br>`.
#[must_use]
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A sentence of the planner (a reason, a warning): its `` `quoted` `` parts as code, the
/// rest as [`md`] text ([`super::prose`]).
fn prose(s: &str) -> String {
    super::prose(s, md, code)
}

/// [`prose`] at the start of a line (a list item).
fn prose_line(s: &str) -> String {
    match s.chars().next() {
        Some(c @ ('-' | '+' | '#')) => format!("\\{c}{}", prose(&s[1..])),
        _ => prose(s),
    }
}

/// An address or a value in a table cell: `<code>` with its text escaped.
fn code(s: &str) -> String {
    format!("<code>{}</code>", md(s))
}

/// A value cut to [`CELL_CHARS`] characters for a table cell.
fn cell(s: &str) -> String {
    if s.chars().count() > CELL_CHARS {
        let cut: String = s.chars().take(CELL_CHARS).collect();
        format!("{}…", code(&cut))
    } else {
        code(s)
    }
}

/// `**Plan:** 4 to create, 1 to update in place, 1 to replace, 0 to destroy · monthly cost
/// +USD 800.00`.
fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "**Plan:** no changes. The cloud matches the specs.".to_owned();
    }
    let s = plan.summary();
    let mut line = format!(
        "**Plan:** {} to create, {} to update in place, {} to replace, {} to destroy",
        s.add, s.change, s.replace, s.destroy
    );
    if let Some(m) = monthly_change_text(plan) {
        let _ = write!(line, " · monthly cost {}", md(&m));
    }
    line
}

/// What changes, in one cell: the attributes of an update or replacement (at most three),
/// the number of attributes of a creation, else the first reason.
fn changes_cell(a: &PlannedAction) -> String {
    match a.op {
        Op::Update | Op::Replace if !a.diffs.is_empty() => {
            let mut parts: Vec<String> = a
                .diffs
                .iter()
                .take(3)
                .map(|d| {
                    let (before, after) = diff_sides(d);
                    let forces = if d.forces_replacement && a.op == Op::Replace {
                        " (forces replacement)"
                    } else {
                        ""
                    };
                    format!(
                        "{}: {} → {}{forces}",
                        code(&d.name),
                        before.as_deref().map_or_else(|| "–".to_owned(), cell),
                        after.as_deref().map_or_else(|| "removed".to_owned(), cell),
                    )
                })
                .collect();
            if a.diffs.len() > 3 {
                parts.push(format!("and {} more", a.diffs.len() - 3));
            }
            parts.join("<br>")
        }
        Op::Create if !a.diffs.is_empty() => format!("{} attribute(s)", a.diffs.len()),
        _ => a.reasons.first().map(|r| prose(r)).unwrap_or_default(),
    }
}

fn price_cell(a: &PlannedAction) -> String {
    a.price
        .as_ref()
        .map(|p| md(&p.describe()))
        .unwrap_or_default()
}

/// The plan as GitHub-flavoured Markdown for a pull-request comment.
///
/// # Guarantees
/// Every value from the plan is escaped ([`md`] or HTML entities), so no `|`, `<` or
/// backtick in a value can break the table or inject markup; at most [`TABLE_ROWS`] table
/// rows and [`DETAIL_BLOCKS`] detail blocks, the rest counted.
#[must_use]
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::from("### flinkform plan\n\n");
    let _ = writeln!(out, "{}", summary_line(plan));
    let acting: Vec<&PlannedAction> = plan.actions.iter().filter(|a| a.op != Op::NoOp).collect();
    let per_address = plan.actions_per_address();
    if plan.has_changes() && !acting.is_empty() {
        out.push_str("\n| | Resource | Action | Changes | Price |\n|:-:|---|---|---|---|\n");
        for a in acting.iter().take(TABLE_ROWS) {
            let first = Plan::replaced_first(&per_address, a);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                code(a.op.symbol().trim()),
                code(&a.addr.to_string()),
                md(action_label(a, first)),
                changes_cell(a),
                price_cell(a),
            );
        }
        if acting.len() > TABLE_ROWS {
            let _ = writeln!(
                out,
                "\n… and {} more actions (`flinkform plan` shows them all).",
                acting.len() - TABLE_ROWS
            );
        }
        out.push('\n');
        for a in acting.iter().take(DETAIL_BLOCKS) {
            details(&mut out, a, Plan::replaced_first(&per_address, a));
        }
        if acting.len() > DETAIL_BLOCKS {
            let _ = writeln!(
                out,
                "Details of {} more actions are left out.\n",
                acting.len() - DETAIL_BLOCKS
            );
        }
    }
    if !plan.kept.is_empty() {
        out.push_str("\n**Kept (not destroyed):**\n\n");
        for (addr, why) in &plan.kept {
            let _ = writeln!(out, "- {}: {}", code(&addr.to_string()), prose(why));
        }
    }
    if !plan.warnings.is_empty() {
        out.push_str("\n**Warnings:**\n\n");
        for w in &plan.warnings {
            let _ = writeln!(out, "- {}", prose_line(w));
        }
    }
    out
}

/// One `<details>` block: the reasons, the price, the attribute diff (old → new).
fn details(out: &mut String, a: &PlannedAction, replaced_first: bool) {
    let price = a
        .price
        .as_ref()
        .map(|p| format!(" · {}", esc(&p.describe())))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> {}{price}</summary>\n",
        esc(&a.addr.to_string()),
        esc(action_phrase(a, replaced_first)),
    );
    for r in &a.reasons {
        let _ = writeln!(out, "- {}", prose_line(r));
    }
    if let Some(id) = &a.cloud_id {
        let _ = writeln!(out, "- cloud id: {}", code(id.as_str()));
    }
    if let Some(p) = &a.price {
        let _ = writeln!(out, "- price: {}", md(&p.describe()));
        if let Some(m) = &p.monthly {
            let _ = writeln!(out, "- monthly cost change: {}", md(&m.signed()));
        }
    }
    if !a.diffs.is_empty() {
        out.push_str("\n| Attribute | Before | After |\n|---|---|---|\n");
        for d in &a.diffs {
            let (before, after) = diff_sides(d);
            let forces = if d.forces_replacement && a.op == Op::Replace {
                " (forces replacement)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| {}{forces} | {} | {} |",
                code(&d.name),
                before.as_deref().map(code).unwrap_or_default(),
                after
                    .as_deref()
                    .map_or_else(|| "*removed*".to_owned(), code),
            );
        }
    }
    out.push_str("\n</details>\n\n");
}

/// The drift report as GitHub-flavoured Markdown: a summary line, one table row per
/// drifted attribute (recorded → observed) and per resource deleted outside flinkform,
/// and what apply would do about it.
#[must_use]
pub fn drift_markdown(plan: &Plan) -> String {
    let mut out = String::from("### flinkform drift\n\n");
    if plan.drift.is_empty() {
        out.push_str("**No drift.** The cloud matches the state.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "**Drift:** {} resource(s) changed outside flinkform.\n",
        plan.drift.len()
    );
    out.push_str(
        "| Resource | What happened | Attribute | Recorded | Observed |\n|---|---|---|---|---|\n",
    );
    for d in &plan.drift {
        let addr = code(&d.addr.to_string());
        match &d.kind {
            DriftKind::Deleted => {
                let _ = writeln!(out, "| {addr} | {} | | | |", md(deleted_phrase(&d.addr)));
            }
            DriftKind::Changed(changes) => {
                for (name, recorded, observed) in changes {
                    let _ = writeln!(
                        out,
                        "| {addr} | changed outside flinkform | {} | {} | {} |",
                        code(name),
                        cell(&value_text(recorded)),
                        observed.as_ref().map_or_else(
                            || "*no longer reported*".to_owned(),
                            |o| cell(&value_text(o))
                        ),
                    );
                }
            }
        }
    }
    if plan.has_changes() {
        let _ = write!(
            out,
            "\nTo make the cloud match the specs again, apply would: {}",
            md(&plan.summary().to_string())
        );
        if let Some(m) = monthly_change_text(plan) {
            let _ = write!(out, " Monthly cost change: {}.", md(&m));
        }
        out.push('\n');
    }
    out
}

fn value_text(v: &Value) -> String {
    v.to_string()
}
