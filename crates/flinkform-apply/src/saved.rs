//! Re-observation for `apply FILE`: reads again exactly what a saved plan's refresh read.

use flinkform_core::{ObserveRequest, Observed, Provider, ResourceKind};
use flinkform_plan::PlanFile;
use flinkform_state::State;

use crate::error::Error;

/// Observes again what `file`'s plan observed: its desired resources, the state's recorded
/// resources the plan saw (the state is the one the plan was made against: the caller
/// checked its lineage and serial), and the same accounts' facts. Nothing else is read.
///
/// # Errors
/// A refresh that cannot read the cloud.
pub async fn reobserve(
    provider: &dyn Provider,
    file: &PlanFile,
    state: &State,
) -> Result<Observed, Error> {
    let req = ObserveRequest {
        desired: file.scope.desired.iter().collect(),
        recorded: state
            .resources
            .values()
            .filter(|r| {
                r.addr.kind() != ResourceKind::AccountBalance && file.observed.contains_key(&r.addr)
            })
            .collect(),
        accounts: file.scope.accounts.clone(),
    };
    Ok(provider.observe(&req).await?)
}
