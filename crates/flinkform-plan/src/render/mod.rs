//! Renderings of a [`Plan`] and of its drift report, one module per format. Strings only:
//! the CLI decides where they go. Every renderer is a pure function of the plan (and, for
//! the self-contained HTML reports, of a [`ReportMeta`] saying when and for what stack).
//!
//! - [`text`]: Terraform-like text for people ([`plan_text`], [`drift_text`]);
//! - [`json`]: versioned JSON documents for machines ([`plan_json`], [`drift_json`],
//!   format in `specs/plan-json.md`);
//! - [`markdown`]: GitHub-flavoured Markdown for a pull-request comment
//!   ([`plan_markdown`], [`drift_markdown`]);
//! - [`html`]: one self-contained HTML file (inline CSS, no script, no external asset)
//!   ([`plan_html`], [`drift_html`]);
//! - [`graph`]: the plan's DAG as Graphviz DOT ([`graph_dot`]) or a Mermaid flowchart
//!   ([`graph_mermaid`]).
//!
//! Nothing secret is an attribute (secrets are references such as `env:NAME`), so no
//! renderer has anything to redact; every value is escaped for its format.

pub mod graph;
pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use flinkform_core::{Address, ResourceKind};

use crate::model::{After, AttrDiff, Op, Plan, PlannedAction};

pub use graph::{graph_dot, graph_mermaid};
pub use html::{drift_html, plan_html};
pub use json::{FORMAT_VERSION, drift_json, plan_json};
pub use markdown::{drift_markdown, plan_markdown};
pub use text::{drift_text, plan_text, render_drift_text, render_text};

/// When and for what a standalone report (HTML) was made: the reader of a file has no
/// terminal around it. Supplied by the caller, so renderers stay pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportMeta {
    /// When the cloud was read, as the caller formats it (e.g. RFC 3339, UTC).
    pub generated_at: String,
    /// Facts shown under the title, in order: `("Specs", "specs/prod.yaml")`,
    /// `("Cloud", "sim")`, `("State lineage", "…")`.
    pub facts: Vec<(String, String)>,
}

/// How many addresses the text plan lists per execution wave before it summarises the
/// rest (`… and 993 more`), so that a plan of thousands of actions stays readable.
pub const WAVE_LISTED: usize = 10;

/// Groups the actions that do something into waves: each action comes after every wave
/// holding one of its (transitive, through no-ops) dependencies. Indices into
/// `plan.actions`, each wave sorted by address. Linear in actions and edges.
pub(crate) fn waves(plan: &Plan) -> Vec<Vec<usize>> {
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); plan.actions.len()];
    for (from, to) in &plan.edges {
        if let Some(d) = deps.get_mut(to.index()) {
            d.push(from.index());
        }
    }
    let mut level = vec![0_usize; plan.actions.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    // `actions` is in topological order, so dependencies are always computed first.
    for (i, a) in plan.actions.iter().enumerate() {
        let before = deps[i]
            .iter()
            .map(|&d| level.get(d).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if a.op == Op::NoOp {
            level[i] = before;
            continue;
        }
        level[i] = before + 1;
        if out.len() < level[i] {
            out.resize_with(level[i], Vec::new);
        }
        out[level[i] - 1].push(i);
    }
    for w in &mut out {
        w.sort_by(|&x, &y| plan.actions[x].addr.cmp(&plan.actions[y].addr));
    }
    out
}

/// A sentence of the planner (a reason, a warning) for a marked-up format: its
/// `` `quoted` `` parts through `code`, the rest through `text`; with unbalanced backticks
/// all of it through `text`. One rule for Markdown and HTML.
pub(crate) fn prose(s: &str, text: fn(&str) -> String, code: fn(&str) -> String) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return text(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { code(p) } else { text(p) })
        .collect()
}

/// What an action does, in words (`will be created`).
pub(crate) fn phrase(op: Op) -> &'static str {
    match op {
        Op::NoOp => "is unchanged",
        Op::Check => "will be checked before anything is ordered",
        Op::Read => "will be read",
        Op::Create => "will be created",
        Op::Update => "will be updated in place",
        Op::Replace => "must be replaced",
        Op::Delete => "will be destroyed",
        Op::Adopt => "will be adopted into state (no API call)",
        Op::Forget => "will be forgotten (removed from state, no API call)",
        Op::Gate => "waits for a person (apply pauses here until `--input` passes it)",
    }
}

/// [`phrase`] of one action of a plan, which knows about replacements and adoptions.
pub(crate) fn action_phrase(a: &PlannedAction, replaced_first: bool) -> &'static str {
    match (a.op, &a.prior) {
        (Op::Delete, _) if replaced_first => "will be destroyed first, to be replaced",
        (Op::Forget, _) if replaced_first => "will be forgotten first, to be replaced",
        (Op::Adopt, Some(_)) => "will be updated in state only (no API call)",
        (op, _) => phrase(op),
    }
}

/// A short name of the action for tables: `create`, `update in place`, `replace`, ….
pub(crate) fn action_label(a: &PlannedAction, replaced_first: bool) -> &'static str {
    match a.op {
        Op::Delete if replaced_first => "destroy (to replace)",
        Op::Forget if replaced_first => "forget (to replace)",
        Op::NoOp => "no-op",
        Op::Check => "check",
        Op::Read => "read",
        Op::Create => "create",
        Op::Update => "update in place",
        Op::Replace => "replace",
        Op::Delete => "destroy",
        Op::Adopt => "adopt",
        Op::Forget => "forget",
        Op::Gate => "gate",
    }
}

/// The old and new side of a diff as text (`None` for a side that does not exist).
pub(crate) fn diff_sides(d: &AttrDiff) -> (Option<String>, Option<String>) {
    let before = d.before.as_ref().map(ToString::to_string);
    let after = match &d.after {
        After::Removed => None,
        after => Some(after.to_string()),
    };
    (before, after)
}

/// What a deletion outside flinkform is called for a kind.
pub(crate) fn deleted_phrase(addr: &Address) -> &'static str {
    match addr.kind() {
        ResourceKind::MarketOrder => {
            "expired or was released outside flinkform (the product instance no longer serves)"
        }
        ResourceKind::SettlementBinding => "was removed at the vendor",
        ResourceKind::SaasWorkspace | ResourceKind::BillingAccount => "was deleted at the vendor",
        _ => "was deleted outside flinkform",
    }
}

/// The plan's monthly price change as every format shows it: `+USD 800.00` (currencies
/// joined by ` and `), or `None` when nothing in the plan is priced.
#[must_use]
pub fn monthly_change_text(plan: &Plan) -> Option<String> {
    let change = plan.monthly_change();
    (!change.is_empty()).then(|| {
        change
            .iter()
            .map(flinkform_core::Money::signed)
            .collect::<Vec<_>>()
            .join(" and ")
    })
}

#[cfg(test)]
mod tests;
