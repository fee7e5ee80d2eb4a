//! The drift report (and the plan) as one self-contained HTML file: inline CSS, no script,
//! no external asset (no font, image or stylesheet link), readable on its own — a CI job
//! keeps it as an artifact and a person opens it days later.
//!
//! Every string from the plan or the caller goes through [`esc`].

use std::fmt::Write as _;

use flinkform_core::Value;

use super::{
    ReportMeta, action_label, action_phrase, deleted_phrase, diff_sides, monthly_change_text,
};
use crate::model::{DriftKind, Op, Plan, PlannedAction};

/// `s` with `&`, `<`, `>`, `"` and `'` as HTML entities: safe as element text and as a
/// quoted attribute value.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A sentence of the planner (a reason, a warning): its `` `quoted` `` parts in `<code>`,
/// everything escaped ([`super::prose`]).
fn prose(s: &str) -> String {
    super::prose(s, esc, |p| format!("<code>{}</code>", esc(p)))
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1c2430}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 8px}
h2{font-size:1.25em;margin:28px 0 8px;border-bottom:1px solid #d5dae1;padding-bottom:4px}
h3{font-size:1.05em;margin:18px 0 6px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
td:first-child code{white-space:nowrap}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0 0 16px;color:#4a5565}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0}
.summary{font-size:1.1em;font-weight:600;padding:12px 16px;border-radius:6px;border:1px solid}
.summary.clean{background:#e8f6ec;border-color:#9bd3ab;color:#17562b}
.summary.drifted,.summary.changes{background:#fff4e5;border-color:#f0c37a;color:#6b4100}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px}
th,td{border:1px solid #d5dae1;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.recorded{background:#fdecec}
td.observed{background:#e9f4ff}
ul{background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:10px 10px 10px 30px}
details{background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:6px 12px;margin:6px 0}
summary{cursor:pointer}
footer{margin-top:32px;color:#6b7585;font-size:.85em}
";

fn head(out: &mut String, title: &str, meta: &ReportMeta) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    out.push_str("<dl class=\"meta\">\n");
    if !meta.generated_at.is_empty() {
        let _ = writeln!(
            out,
            "<dt>Generated</dt><dd>{}</dd>",
            esc(&meta.generated_at)
        );
    }
    for (k, v) in &meta.facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str("</dl>\n");
}

fn foot(out: &mut String) {
    out.push_str(
        "<footer>Made by flinkform. This file is self-contained: it loads nothing.</footer>\n\
         </main>\n</body>\n</html>\n",
    );
}

fn value(v: &Value) -> String {
    format!("<code>{}</code>", esc(&v.to_string()))
}

/// The drift report as one self-contained HTML page: title, when and for what stack
/// (`meta`), summary counts, a table per changed resource (recorded vs observed), the
/// resources deleted outside flinkform, what apply would do; a clear message when there is
/// no drift.
///
/// # Guarantees
/// The page loads nothing (no `<script>`, `<link>`, `<img>`, `<iframe>`, no `url(` in its
/// style), and every string from the plan or `meta` is escaped, so no value can add an
/// element.
#[must_use]
pub fn drift_html(plan: &Plan, meta: &ReportMeta) -> String {
    let mut out = String::new();
    head(&mut out, "flinkform drift report", meta);
    if plan.drift.is_empty() {
        out.push_str(
            "<p class=\"summary clean\">No drift. The cloud matches the state: nothing was changed outside flinkform.</p>\n",
        );
        foot(&mut out);
        return out;
    }
    let changed: Vec<_> = plan
        .drift
        .iter()
        .filter_map(|d| match &d.kind {
            DriftKind::Changed(c) => Some((&d.addr, c)),
            DriftKind::Deleted => None,
        })
        .collect();
    let deleted: Vec<_> = plan
        .drift
        .iter()
        .filter(|d| d.kind == DriftKind::Deleted)
        .map(|d| &d.addr)
        .collect();
    let _ = writeln!(
        out,
        "<p class=\"summary drifted\">Drift: {} resource(s) changed outside flinkform ({} changed, {} deleted).</p>",
        plan.drift.len(),
        changed.len(),
        deleted.len()
    );
    if !changed.is_empty() {
        out.push_str("<h2>Changed outside flinkform</h2>\n");
        for (addr, changes) in changed {
            let _ = writeln!(
                out,
                "<h3><code>{}</code></h3>\n<table>\n<thead><tr><th>Attribute</th><th>Recorded (state)</th><th>Observed (cloud)</th></tr></thead>\n<tbody>",
                esc(&addr.to_string())
            );
            for (name, recorded, observed) in changes {
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td class=\"recorded\">{}</td><td class=\"observed\">{}</td></tr>",
                    esc(name),
                    value(recorded),
                    observed
                        .as_ref()
                        .map_or_else(|| "<em>no longer reported</em>".to_owned(), value)
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }
    }
    if !deleted.is_empty() {
        out.push_str("<h2>Deleted outside flinkform</h2>\n<ul>\n");
        for addr in deleted {
            let _ = writeln!(
                out,
                "<li><code>{}</code> {}</li>",
                esc(&addr.to_string()),
                esc(deleted_phrase(addr))
            );
        }
        out.push_str("</ul>\n");
    }
    if plan.has_changes() {
        let mut line = plan.summary().to_string();
        if let Some(m) = monthly_change_text(plan) {
            let _ = write!(line, " Monthly cost change: {m}.");
        }
        let _ = writeln!(
            out,
            "<h2>What apply would do</h2>\n<p>To make the cloud match the specs again, apply would: {}</p>",
            esc(&line)
        );
    }
    foot(&mut out);
    out
}

/// The plan as one self-contained HTML page: summary (with the monthly price change), a
/// table of actions, details per resource (attribute diff, reasons, price), what is kept,
/// warnings.
///
/// # Guarantees
/// As [`drift_html`]: nothing external, everything escaped.
#[must_use]
pub fn plan_html(plan: &Plan, meta: &ReportMeta) -> String {
    let mut out = String::new();
    head(&mut out, "flinkform plan", meta);
    if !plan.has_changes() {
        out.push_str("<p class=\"summary clean\">No changes. The cloud matches the specs.</p>\n");
    } else {
        let mut line = plan.summary().to_string();
        if let Some(m) = monthly_change_text(plan) {
            let _ = write!(line, " Monthly cost change: {m}.");
        }
        let _ = writeln!(out, "<p class=\"summary changes\">{}</p>", esc(&line));
        let per_address = plan.actions_per_address();
        let acting: Vec<&PlannedAction> =
            plan.actions.iter().filter(|a| a.op != Op::NoOp).collect();
        out.push_str("<h2>Actions</h2>\n<table>\n<thead><tr><th></th><th>Resource</th><th>Action</th><th>Price</th></tr></thead>\n<tbody>\n");
        for a in &acting {
            let first = Plan::replaced_first(&per_address, a);
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(a.op.symbol().trim()),
                esc(&a.addr.to_string()),
                esc(action_label(a, first)),
                a.price
                    .as_ref()
                    .map(|p| esc(&p.describe()))
                    .unwrap_or_default()
            );
        }
        out.push_str("</tbody>\n</table>\n<h2>Details</h2>\n");
        for a in &acting {
            let first = Plan::replaced_first(&per_address, a);
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code> {}</summary>",
                esc(&a.addr.to_string()),
                esc(action_phrase(a, first))
            );
            if !a.reasons.is_empty() || a.price.is_some() {
                out.push_str("<ul>\n");
                for r in &a.reasons {
                    let _ = writeln!(out, "<li>{}</li>", prose(r));
                }
                if let Some(p) = &a.price {
                    let _ = writeln!(out, "<li>price: {}</li>", esc(&p.describe()));
                }
                out.push_str("</ul>\n");
            }
            if !a.diffs.is_empty() {
                out.push_str("<table>\n<thead><tr><th>Attribute</th><th>Before</th><th>After</th></tr></thead>\n<tbody>\n");
                for d in &a.diffs {
                    let (before, after) = diff_sides(d);
                    let _ = writeln!(
                        out,
                        "<tr><td><code>{}</code>{}</td><td class=\"recorded\">{}</td><td class=\"observed\">{}</td></tr>",
                        esc(&d.name),
                        if d.forces_replacement && a.op == Op::Replace {
                            " (forces replacement)"
                        } else {
                            ""
                        },
                        before
                            .map(|b| format!("<code>{}</code>", esc(&b)))
                            .unwrap_or_default(),
                        after.map_or_else(
                            || "<em>removed</em>".to_owned(),
                            |v| format!("<code>{}</code>", esc(&v))
                        ),
                    );
                }
                out.push_str("</tbody>\n</table>\n");
            }
            out.push_str("</details>\n");
        }
    }
    if !plan.kept.is_empty() {
        out.push_str("<h2>Kept (not destroyed)</h2>\n<ul>\n");
        for (addr, why) in &plan.kept {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                esc(&addr.to_string()),
                prose(why)
            );
        }
        out.push_str("</ul>\n");
    }
    if !plan.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n<ul>\n");
        for w in &plan.warnings {
            let _ = writeln!(out, "<li>{}</li>", prose(w));
        }
        out.push_str("</ul>\n");
    }
    foot(&mut out);
    out
}
