//! Renderings of a [`Plan`]: Terraform-like text for people and a versioned JSON document
//! for machines (format in `specs/plan-json.md`). Strings only: the CLI decides where they
//! go. The JSON is built from private DTOs so that the model can change without changing
//! the format.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use flinkform_core::{Address, ResourceKind, Value};
use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::model::{After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction};

/// Version of the JSON documents [`plan_json`] and [`drift_json`] produce.
pub const FORMAT_VERSION: &str = "1";

/// The plan as text: one block per action that does something, the execution order in
/// waves, and the summary line (or "No changes. The cloud matches the specs.").
#[must_use]
pub fn render_text(plan: &Plan) -> String {
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
                .map(|&i| {
                    let a = &plan.actions[i];
                    if per_address.get(&a.addr).is_some_and(|(n, _)| *n > 1) {
                        format!("{} ({})", a.addr, a.op)
                    } else {
                        a.addr.to_string()
                    }
                })
                .collect();
            let _ = writeln!(out, "  {}. {}", n + 1, names.join(", "));
        }
        let _ = writeln!(out, "\n{}", plan.summary());
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

fn phrase(op: Op) -> &'static str {
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

fn block(out: &mut String, a: &PlannedAction, replaced_first: bool) {
    let phrase = match (a.op, &a.prior) {
        (Op::Delete, _) if replaced_first => "will be destroyed first, to be replaced",
        (Op::Forget, _) if replaced_first => "will be forgotten first, to be replaced",
        (Op::Adopt, Some(_)) => "will be updated in state only (no API call)",
        (op, _) => phrase(op),
    };
    let _ = writeln!(out, "  # {} {phrase}", a.addr);
    for r in &a.reasons {
        let _ = writeln!(out, "  #   {r}");
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

/// Groups the actions that do something into waves: each action comes after every wave
/// holding one of its (transitive, through no-ops) dependencies. Indices into
/// `plan.actions`.
fn waves(plan: &Plan) -> Vec<Vec<usize>> {
    let mut level = vec![0_usize; plan.actions.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    // `actions` is in topological order, so dependencies are always computed first.
    for (i, a) in plan.actions.iter().enumerate() {
        let deps = plan
            .dependencies(a.id)
            .map(|d| level[d.index()])
            .max()
            .unwrap_or(0);
        if a.op == Op::NoOp {
            level[i] = deps;
            continue;
        }
        level[i] = deps + 1;
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

/// The drift report as text: what changed outside flinkform since the last apply.
#[must_use]
pub fn render_drift_text(plan: &Plan) -> String {
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

fn drift_block(out: &mut String, d: &Drift) {
    match &d.kind {
        DriftKind::Deleted => {
            let what = match d.addr.kind() {
                ResourceKind::MarketOrder => {
                    "expired or was released outside flinkform (the product instance no longer serves)"
                }
                ResourceKind::SettlementBinding => "was removed at the vendor",
                ResourceKind::SaasWorkspace | ResourceKind::BillingAccount => {
                    "was deleted at the vendor"
                }
                _ => "was deleted outside flinkform",
            };
            let _ = writeln!(out, "  # {} {what}", d.addr);
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

#[derive(Serialize)]
struct PlanDoc<'a> {
    format_version: &'static str,
    summary: SummaryDoc,
    actions: Vec<ActionDoc<'a>>,
    drift: Vec<DriftDoc<'a>>,
    kept: Vec<KeptDoc<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct SummaryDoc {
    add: usize,
    change: usize,
    replace: usize,
    destroy: usize,
    has_changes: bool,
}

#[derive(Serialize)]
struct ActionDoc<'a> {
    id: u32,
    address: String,
    op: &'static str,
    mode: Option<&'static str>,
    account: Option<&'a str>,
    region: Option<&'a str>,
    cloud_id: Option<&'a str>,
    reasons: &'a [String],
    diffs: Vec<DiffDoc<'a>>,
    depends_on: Vec<u32>,
    /// The deletion (or forgetting) of the old resource of a replacement; the action of
    /// the same address with op `replace` creates the new one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replaced_first: bool,
    /// For the deletion of a bucket that holds objects: the count the user confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_objects: Option<u64>,
}

#[derive(Serialize)]
struct DiffDoc<'a> {
    name: &'a str,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    after_state: &'static str,
    forces_replacement: bool,
}

#[derive(Serialize)]
struct DriftDoc<'a> {
    address: String,
    kind: &'static str,
    changes: Vec<DriftChangeDoc<'a>>,
}

#[derive(Serialize)]
struct DriftChangeDoc<'a> {
    name: &'a str,
    recorded: &'a Value,
    observed: Option<&'a Value>,
}

#[derive(Serialize)]
struct KeptDoc<'a> {
    address: String,
    reason: &'a str,
}

#[derive(Serialize)]
struct DriftOnlyDoc<'a> {
    format_version: &'static str,
    drift: Vec<DriftDoc<'a>>,
}

fn action_doc<'a>(
    plan: &Plan,
    per_address: &BTreeMap<&Address, (usize, bool)>,
    a: &'a PlannedAction,
) -> ActionDoc<'a> {
    let mode = a
        .desired
        .as_ref()
        .map(|d| d.mode)
        .or(a.prior.as_ref().map(|p| p.mode));
    let account = a
        .desired
        .as_ref()
        .map(|d| d.account.as_str())
        .or(a.prior.as_ref().map(|p| p.account.as_str()));
    let region = a
        .desired
        .as_ref()
        .and_then(|d| d.region.as_ref())
        .or(a.prior.as_ref().and_then(|p| p.region.as_ref()))
        .map(|r| r.as_str());
    ActionDoc {
        id: a.id.0,
        address: a.addr.to_string(),
        op: a.op.as_str(),
        mode: mode.map(|m| match m {
            flinkform_core::Mode::Managed => "managed",
            flinkform_core::Mode::Data => "data",
        }),
        account,
        region,
        cloud_id: a.cloud_id.as_ref().map(|c| c.as_str()),
        reasons: &a.reasons,
        diffs: a
            .diffs
            .iter()
            .map(|d| DiffDoc {
                name: &d.name,
                before: d.before.as_ref(),
                after: match &d.after {
                    After::Known(v) => Some(v),
                    After::KnownAfterApply | After::Removed => None,
                },
                after_state: match d.after {
                    After::Known(_) => "known",
                    After::KnownAfterApply => "known_after_apply",
                    After::Removed => "removed",
                },
                forces_replacement: d.forces_replacement,
            })
            .collect(),
        depends_on: plan.dependencies(a.id).map(|d| d.0).collect(),
        replaced_first: Plan::replaced_first(per_address, a),
        confirmed_objects: a.objects,
    }
}

fn drift_docs(plan: &Plan) -> Vec<DriftDoc<'_>> {
    plan.drift
        .iter()
        .map(|d| match &d.kind {
            DriftKind::Deleted => DriftDoc {
                address: d.addr.to_string(),
                kind: "deleted",
                changes: Vec::new(),
            },
            DriftKind::Changed(changes) => DriftDoc {
                address: d.addr.to_string(),
                kind: "changed",
                changes: changes
                    .iter()
                    .map(|(name, recorded, observed)| DriftChangeDoc {
                        name,
                        recorded,
                        observed: observed.as_ref(),
                    })
                    .collect(),
            },
        })
        .collect()
}

/// The plan as a versioned JSON document (`specs/plan-json.md`).
#[must_use]
pub fn plan_json(plan: &Plan) -> serde_json::Value {
    let s = plan.summary();
    let doc = PlanDoc {
        format_version: FORMAT_VERSION,
        summary: SummaryDoc {
            add: s.add,
            change: s.change,
            replace: s.replace,
            destroy: s.destroy,
            has_changes: plan.has_changes(),
        },
        actions: {
            let per_address = plan.actions_per_address();
            plan.actions
                .iter()
                .map(|a| action_doc(plan, &per_address, a))
                .collect()
        },
        drift: drift_docs(plan),
        kept: plan
            .kept
            .iter()
            .map(|(a, r)| KeptDoc {
                address: a.to_string(),
                reason: r,
            })
            .collect(),
        warnings: &plan.warnings,
    };
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}

/// The drift report as a versioned JSON document (`specs/plan-json.md`, section drift).
#[must_use]
pub fn drift_json(plan: &Plan) -> serde_json::Value {
    let doc = DriftOnlyDoc {
        format_version: FORMAT_VERSION,
        drift: drift_docs(plan),
    };
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}
