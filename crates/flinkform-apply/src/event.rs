//! Progress events the executor sends while it runs (the CLI renders them).

use flinkform_core::{Address, CloudId};
use flinkform_plan::Op;

/// Something that happened to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The action started.
    Started {
        /// The resource.
        addr: Address,
        /// What is done to it.
        op: Op,
    },
    /// The action waits for the cloud (`creating`, `deleting`, …).
    Waiting {
        /// The resource.
        addr: Address,
        /// The status the cloud reports.
        status: String,
    },
    /// A call failed with a retryable error and is retried after a backoff.
    Retrying {
        /// The resource.
        addr: Address,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The error.
        error: String,
    },
    /// The action finished successfully.
    Finished {
        /// The resource.
        addr: Address,
        /// What was done.
        op: Op,
        /// Its cloud id afterwards, when it exists.
        cloud_id: Option<CloudId>,
    },
    /// The action failed.
    Failed {
        /// The resource.
        addr: Address,
        /// Why.
        error: String,
    },
    /// The action was not run because an action it depends on failed.
    Skipped {
        /// The resource.
        addr: Address,
        /// The failed action.
        because: Address,
    },
}
