//! The sequence every command that plans runs: mark the specs with the stack's lineage,
//! refresh (one batched read of everything the specs and the state name), plan, and
//! explain the interrupted calls of the intent journal. The CLI and the tests share it, so
//! what a test plans is what `flinkform plan` shows.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{Address, Attrs, Observed, Provider, RecordedResource};
use flinkform_plan::{Desired, Op, Plan, PlanOptions, PlannedAction};
use flinkform_state::State;

use crate::error::Error;
use crate::recovery::{IntentResolution, resolve_intents};

/// What a refresh and a plan produced.
#[derive(Debug)]
pub struct Prepared {
    /// The plan, with the journal's intents explained in its reasons.
    pub plan: Plan,
    /// What the refresh saw.
    pub observed: Observed,
    /// How each dangling intent of the journal is resolved, in journal order.
    pub resolutions: Vec<IntentResolution>,
    /// Intents the observation alone settled: apply clears them before it starts.
    pub settled: BTreeSet<u64>,
    /// How many resources the refresh read.
    pub refreshed: usize,
    /// How many prices were read ([`quote_prices`]): one API call each.
    pub quotes: usize,
}

/// Most price quotes in flight at once: quotes are reads, as concurrent as the refresh's
/// per-resource reads (the client retries a throttled one after the cloud's `Retry-After`).
/// At 8, the 100 quotes of a 100-workspace plan took 1.25 s at 100 ms per call: a third of
/// the apply's critical path (BENCHMARKS.md, "Fleet").
const QUOTE_CONCURRENCY: usize = 64;

/// How many failed quotes are named one by one in the plan's warnings; the rest are
/// counted in one more.
const QUOTE_WARNINGS: usize = 3;

/// What a change of `a` is priced from: the attributes it has now (the state's, with the
/// diff's current values over them).
fn current_attrs(a: &PlannedAction) -> Attrs {
    let mut attrs = a
        .prior
        .as_ref()
        .map(|p| p.attrs.clone())
        .unwrap_or_default();
    for d in &a.diffs {
        if let Some(before) = &d.before {
            attrs.insert(d.name.clone(), before.clone());
        }
    }
    attrs
}

/// Asks the provider what each action that orders something costs (`Provider::quote`: a
/// creation or replacement, or an in-place update such as a quota change) and keeps the
/// answers in the plan's actions, where every rendering shows them. At most one quote per
/// action, [`QUOTE_CONCURRENCY`] at a time. A quote that fails is a warning of the plan,
/// never an error: a price is information, not a precondition. Returns how many prices
/// were read (answers with a price or an error; a provider answers "nothing to price"
/// without a call).
///
/// # Guarantees
/// Never fails and never changes anything but `price` and `warnings`.
pub async fn quote_prices(provider: &dyn Provider, plan: &mut Plan) -> usize {
    use futures_util::StreamExt as _;

    let asks: Vec<(usize, Option<Attrs>)> = plan
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.desired.is_some())
        .filter_map(|(i, a)| match a.op {
            Op::Create | Op::Replace => Some((i, None)),
            Op::Update => Some((i, Some(current_attrs(a)))),
            _ => None,
        })
        .collect();
    let actions = &plan.actions;
    let answers: Vec<_> = futures_util::stream::iter(asks)
        .map(|(i, current)| async move {
            let Some(desired) = actions[i].desired.as_ref() else {
                return (i, Ok(None));
            };
            (i, provider.quote(desired, current.as_ref()).await)
        })
        .buffer_unordered(QUOTE_CONCURRENCY)
        .collect()
        .await;
    let mut failed = Vec::new();
    let mut count = 0;
    for (i, answer) in answers {
        if !matches!(answer, Ok(None)) {
            count += 1;
        }
        match answer {
            Ok(price) => plan.actions[i].price = price,
            Err(e) => failed.push((plan.actions[i].addr.clone(), e)),
        }
    }
    failed.sort_by(|a, b| a.0.cmp(&b.0));
    for (addr, e) in failed.iter().take(QUOTE_WARNINGS) {
        plan.warnings.push(format!(
            "the price of `{addr}` is unknown (the plan shows none for it): {e}"
        ));
    }
    if failed.len() > QUOTE_WARNINGS {
        plan.warnings.push(format!(
            "the prices of {} more resource(s) are unknown",
            failed.len() - QUOTE_WARNINGS
        ));
    }
    count
}

/// `desired` marked with the ownership mark of the stack `state` is (its lineage), as every
/// plan and import must see it.
#[must_use]
pub fn marked(mut desired: Desired, state: &State) -> Desired {
    flinkform_plan::mark(&mut desired, &state.lineage.to_string());
    desired
}

/// Refreshes what `desired` (already [`marked`]; `None`: destroy) and the state name,
/// plans against it with `opts` (the journal's addresses are claimed: an interrupted apply
/// made them), resolves the journal's intents and prices what the plan orders
/// ([`quote_prices`]).
///
/// # Errors
/// A refresh that cannot read the cloud; a plan that is refused.
pub async fn refresh_and_plan(
    provider: &dyn Provider,
    state: &State,
    desired: Option<&Desired>,
    mut opts: PlanOptions,
) -> Result<Prepared, Error> {
    // Borrowed: a fleet's state holds thousands of resources.
    let recorded: &BTreeMap<Address, RecordedResource> = &state.resources;
    let empty = Desired::default();
    let req = flinkform_plan::observe_request(desired.unwrap_or(&empty), recorded);
    let refreshed = req.desired.len().max(recorded.len());
    let observed = provider.observe(&req).await?;
    opts.claimed = state.journal.iter().map(|i| i.addr.clone()).collect();
    let mut plan = match desired {
        Some(d) => flinkform_plan::plan(d, recorded, &observed, &opts),
        None => flinkform_plan::plan_destroy(recorded, &observed, &opts),
    }
    .map_err(Error::Plan)?;
    let resolutions = resolve_intents(&mut plan, &state.journal);
    let quotes = quote_prices(provider, &mut plan).await;
    let settled = resolutions
        .iter()
        .filter(|r| r.settled)
        .map(|r| r.intent_id)
        .collect();
    Ok(Prepared {
        plan,
        observed,
        resolutions,
        settled,
        refreshed,
        quotes,
    })
}
