//! The plan and the drift report as text for people: one block per action that does
//! something, the execution order in waves (long waves summarised), the summary line and
//! the monthly price change.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use flinkform_core::{ResourceKind, Value};
use similar::{ChangeTag, TextDiff};

use super::{WAVE_LISTED, action_phrase, deleted_phrase, monthly_change_text, waves};
use crate::model::{After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction};

/// The plan as text: one block per action that does something, the execution order in
/// waves, and the summary line (or "No changes. The cloud matches the specs.").
///
/// # Guarantees
/// An execution wave lists at most [`WAVE_LISTED`] addresses and counts the rest
/// (`… and 993 more`), so no line grows with the size of the fleet.
#[must_use]
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.has_changes() {
        out.push_str("flinkform will perform the following actions:\n");
        let per_address = plan.actions_per_address();
        for a in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
            out.push('\n');
            block(&mut out, a, Plan::replaced_first(&per_address, a));
        }
        out.push_str("\nExecution order:\n");
        for (n, wave) in waves(plan).iter().enumerate() {
            // An address with two actions (a replacement's deletion and creation) says
            // which one each wave runs.
            let names: Vec<String> = wave
                .iter()
                .take(WAVE_LISTED)
                .map(|&i| {
                    let a = &plan.actions[i];
                    if per_address.get(&a.addr).is_some_and(|(n, _)| *n > 1) {
                        format!("{} ({})", a.addr, a.op)
                    } else {
                        a.addr.to_string()
                    }
                })
                .collect();
            if wave.len() > WAVE_LISTED {
                let _ = writeln!(
                    out,
                    "  {}. {} actions ({}): {}, … and {} more",
                    n + 1,
                    wave.len(),
                    kinds(plan, wave),
                    names.join(", "),
                    wave.len() - WAVE_LISTED
                );
            } else {
                let _ = writeln!(out, "  {}. {}", n + 1, names.join(", "));
            }
        }
        let _ = writeln!(out, "\n{}", plan.summary());
        if let Some(monthly) = monthly_change_text(plan) {
            let _ = writeln!(out, "Monthly cost change: {monthly}.");
        }
    } else {
        out.push_str("No changes. The cloud matches the specs.\n");
    }
    if !plan.kept.is_empty() {
        out.push_str("\nKept (not destroyed):\n");
        for (addr, why) in &plan.kept {
            let _ = writeln!(out, "  {addr}: {why}");
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "\nWarning: {w}");
    }
    out
}

/// The same as [`plan_text`] (its first name).
#[must_use]
pub fn render_text(plan: &Plan) -> String {
    plan_text(plan)
}

/// How many actions of each kind a wave holds: `flink_workspace: 1000, vpc: 2`.
fn kinds(plan: &Plan, wave: &[usize]) -> String {
    let mut counts: BTreeMap<ResourceKind, usize> = BTreeMap::new();
    for &i in wave {
        *counts.entry(plan.actions[i].addr.kind()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn block(out: &mut String, a: &PlannedAction, replaced_first: bool) {
    let phrase = action_phrase(a, replaced_first);
    let _ = writeln!(out, "  # {} {phrase}", a.addr);
    for r in &a.reasons {
        let _ = writeln!(out, "  #   {r}");
    }
    if let Some(price) = &a.price {
        let _ = writeln!(out, "  #   price: {}", price.describe());
    }
    let id = match (&a.cloud_id, a.op) {
        (Some(id), Op::Delete | Op::Forget | Op::Replace | Op::Update | Op::Adopt | Op::Read) => {
            format!(" ({id})")
        }
        _ => String::new(),
    };
    let _ = writeln!(out, "{:>3} {}{id}", a.op.symbol(), a.addr);
    let width = a.diffs.iter().map(|d| d.name.len()).max().unwrap_or(0);
    for d in &a.diffs {
        let (sym, value) = diff_text(d);
        let forces = if d.forces_replacement && a.op == Op::Replace {
            " # forces replacement"
        } else {
            ""
        };
        let _ = writeln!(out, "      {sym} {:<width$} = {value}{forces}", d.name);
    }
}

fn diff_text(d: &AttrDiff) -> (&'static str, String) {
    match (&d.before, &d.after) {
        (Some(b), After::Removed) => ("-", b.to_string()),
        (Some(b), after) => ("~", format!("{b} -> {after}")),
        (None, after) => ("+", after.to_string()),
    }
}

/// The drift report as text: what changed outside flinkform since the last apply.
#[must_use]
pub fn drift_text(plan: &Plan) -> String {
    if plan.drift.is_empty() {
        return "No drift. The cloud matches the state.\n".to_owned();
    }
    let mut out = String::from("Changes made outside flinkform:\n");
    for d in &plan.drift {
        out.push('\n');
        drift_block(&mut out, d);
    }
    let _ = writeln!(
        out,
        "\nDrift: {} resource(s) changed outside flinkform.",
        plan.drift.len()
    );
    out
}

/// The same as [`drift_text`] (its first name).
#[must_use]
pub fn render_drift_text(plan: &Plan) -> String {
    drift_text(plan)
}

fn drift_block(out: &mut String, d: &Drift) {
    match &d.kind {
        DriftKind::Deleted => {
            let _ = writeln!(out, "  # {} {}", d.addr, deleted_phrase(&d.addr));
        }
        DriftKind::Changed(changes) => {
            let _ = writeln!(out, "  # {} was changed outside flinkform", d.addr);
            let width = changes.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
            for (name, recorded, observed) in changes {
                match observed {
                    Some(o) if long(recorded) || long(o) => {
                        let _ = writeln!(out, "      ~ {name}:");
                        let (a, b) = (lines(recorded), lines(o));
                        for change in TextDiff::from_lines(&a, &b).iter_all_changes() {
                            let sym = match change.tag() {
                                ChangeTag::Delete => "-",
                                ChangeTag::Insert => "+",
                                ChangeTag::Equal => " ",
                            };
                            let _ = writeln!(
                                out,
                                "          {sym} {}",
                                change.value().trim_end_matches('\n')
                            );
                        }
                    }
                    Some(o) => {
                        let _ = writeln!(out, "      ~ {name:<width$} = {recorded} -> {o}");
                    }
                    None => {
                        let _ = writeln!(out, "      - {name:<width$} = {recorded}");
                    }
                }
            }
        }
    }
}

/// Lists and long or multi-line strings are shown as line diffs.
fn long(v: &Value) -> bool {
    match v {
        Value::List(_) => true,
        Value::Str(s) => s.len() > 60 || s.contains('\n'),
        _ => false,
    }
}

fn lines(v: &Value) -> String {
    match v {
        Value::List(items) => items.iter().map(|i| format!("{i}\n")).collect(),
        Value::Str(s) => s.lines().map(|l| format!("{l}\n")).collect(),
        other => format!("{other}\n"),
    }
}
