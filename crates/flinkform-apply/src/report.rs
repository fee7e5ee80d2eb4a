//! The summary of an apply: what happened to each action, and call counts.

use std::collections::BTreeMap;

use flinkform_core::Address;
use flinkform_plan::Op;

/// How one action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    /// It succeeded.
    Done,
    /// It failed; the text says why.
    Failed(String),
    /// A gate: it waits for a person (`apply --input NAME=VALUE` passes it).
    Waiting {
        /// What the person has to do, with the values to enter.
        instructions: String,
    },
    /// It did not run because `because` failed (or is a gate that waits).
    Skipped {
        /// The failed action it (transitively) depends on.
        because: Address,
    },
    /// The apply was interrupted (Ctrl-C) before it started, or while it waited for the
    /// resource to become ready (its creation is recorded; the next apply waits again).
    Interrupted,
}

/// What happened to one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeResult {
    /// What the plan asked for.
    pub op: Op,
    /// How it ended.
    pub status: NodeStatus,
    /// Provider calls it made (polls and retries included).
    pub api_calls: u64,
    /// Retries among them.
    pub retries: u64,
}

/// The outcome of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// Per action, sorted by address.
    pub results: BTreeMap<Address, NodeResult>,
    /// Retries in all.
    pub retries: u64,
    /// Calls the cloud throttled.
    pub throttled: u64,
    /// Provider calls in all.
    pub api_calls: u64,
    /// Whether the apply was interrupted (its cancellation was triggered).
    pub interrupted: bool,
}

impl ApplyReport {
    /// Whether every action succeeded.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.results.values().all(|r| r.status == NodeStatus::Done)
    }

    /// The gates that wait for a person, with their instructions, sorted by address.
    #[must_use]
    pub fn waiting(&self) -> Vec<(&Address, &str)> {
        self.results
            .iter()
            .filter_map(|(a, r)| match &r.status {
                NodeStatus::Waiting { instructions } => Some((a, instructions.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Addresses of the actions that failed (not the skipped ones), sorted.
    #[must_use]
    pub fn failed(&self) -> Vec<&Address> {
        self.results
            .iter()
            .filter(|(_, r)| matches!(r.status, NodeStatus::Failed(_)))
            .map(|(a, _)| a)
            .collect()
    }
}
