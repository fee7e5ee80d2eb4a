//! The sequence every command that plans runs: mark the specs with the stack's lineage,
//! refresh (one batched read of everything the specs and the state name), plan, and
//! explain the interrupted calls of the intent journal. The CLI and the tests share it, so
//! what a test plans is what `flinkform plan` shows.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{Address, Observed, Provider, RecordedResource};
use flinkform_plan::{Desired, Plan, PlanOptions};
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
}

/// `desired` marked with the ownership mark of the stack `state` is (its lineage), as every
/// plan and import must see it.
#[must_use]
pub fn marked(desired: &Desired, state: &State) -> Desired {
    let mut d = desired.clone();
    flinkform_plan::mark(&mut d, &state.lineage.to_string());
    d
}

/// Refreshes what `desired` (already [`marked`]; `None`: destroy) and the state name,
/// plans against it with `opts` (the journal's addresses are claimed: an interrupted apply
/// made them) and resolves the journal's intents.
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
    })
}
