//! The plan and its drift report as versioned JSON documents for machines (format in
//! `specs/plan-json.md`). Built from private DTOs so that the model can change without
//! changing the format.

use std::collections::BTreeMap;

use flinkform_core::{Address, Money, Price, PriceTerm, Value};
use serde::Serialize;

use crate::model::{After, DriftKind, Plan, PlannedAction};

/// Version of the JSON documents [`plan_json`] and [`drift_json`] produce.
pub const FORMAT_VERSION: &str = "1";

#[derive(Serialize)]
struct PlanDoc<'a> {
    format_version: &'static str,
    summary: SummaryDoc,
    actions: Vec<ActionDoc<'a>>,
    drift: Vec<DriftDoc<'a>>,
    kept: Vec<KeptDoc<'a>>,
    warnings: &'a [String],
    /// The monthly bill's change per currency; absent when nothing is priced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    monthly_change: Vec<MoneyDoc>,
}

#[derive(Serialize)]
struct MoneyDoc {
    currency: String,
    /// A decimal string with two decimals (`"800.00"`, `"-100.00"`): money is never a float.
    amount: String,
}

impl From<&Money> for MoneyDoc {
    fn from(m: &Money) -> Self {
        Self {
            currency: m.currency.clone(),
            amount: m.amount(),
        }
    }
}

#[derive(Serialize)]
struct PriceDoc {
    currency: String,
    amount: String,
    list_amount: String,
    term: &'static str,
    term_months: Option<u32>,
    monthly: Option<String>,
}

fn price_doc(p: &Price) -> PriceDoc {
    let (term, term_months) = match p.term {
        PriceTerm::Months(n) => ("subscription", Some(n)),
        PriceTerm::Hour => ("hour", None),
        PriceTerm::QuotaChangePerMonth => ("quota_change_per_month", None),
    };
    PriceDoc {
        currency: p.amount.currency.clone(),
        amount: p.amount.amount(),
        list_amount: p.list.amount(),
        term,
        term_months,
        monthly: p.monthly.as_ref().map(Money::amount),
    }
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
    /// What it orders costs (`specs/plan-json.md`, "Prices").
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<PriceDoc>,
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
    depends_on: Vec<u32>,
    per_address: &BTreeMap<&Address, (usize, bool)>,
    a: &'a PlannedAction,
) -> ActionDoc<'a> {
    ActionDoc {
        id: a.id.0,
        address: a.addr.to_string(),
        op: a.op.as_str(),
        mode: a.mode.map(|m| match m {
            flinkform_core::Mode::Managed => "managed",
            flinkform_core::Mode::Data => "data",
        }),
        account: a.account.as_ref().map(|x| x.as_str()),
        region: a.region.as_ref().map(|r| r.as_str()),
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
        depends_on,
        replaced_first: Plan::replaced_first(per_address, a),
        confirmed_objects: a.objects,
        price: a.price.as_ref().map(price_doc),
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
            // Each action's dependencies, sorted (edges are sorted by their source), found
            // in one pass over the edges rather than one pass per action.
            let mut deps: Vec<Vec<u32>> = vec![Vec::new(); plan.actions.len()];
            for (from, to) in &plan.edges {
                if let Some(d) = deps.get_mut(to.index()) {
                    d.push(from.0);
                }
            }
            plan.actions
                .iter()
                .zip(deps)
                .map(|(a, d)| action_doc(d, &per_address, a))
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
        monthly_change: plan.monthly_change().iter().map(MoneyDoc::from).collect(),
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
