//! The plan: a DAG of actions, each with its reason and attribute diffs, plus the drift
//! report (recorded vs observed). Built by the pure planner, executed by `flinkform-apply`,
//! rendered by the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use flinkform_core::{
    AccountName, Address, CloudId, DesiredResource, Mode, Money, Price, RecordedResource, Region,
    Value,
};
use serde::{Deserialize, Serialize};

/// Index of an action in [`Plan::actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub u32);

impl ActionId {
    /// The index into [`Plan::actions`].
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// Nothing to do: desired, recorded and observed agree.
    NoOp,
    /// Re-check a precondition at apply time (account balance).
    Check,
    /// Read a resource the spec references by id (`vpc: { id: … }`) and record it.
    Read,
    /// Create it.
    Create,
    /// Change in-place attributes.
    Update,
    /// Delete, then create again (an immutable attribute changed).
    Replace,
    /// Delete it.
    Delete,
    /// Record a resource that exists in the cloud but not in state (found by its identity,
    /// e.g. after an interrupted apply): no API call, only a state write.
    Adopt,
    /// Drop it from state without any API call (it cannot be deleted, or is shared, or goes
    /// away with its parent).
    Forget,
    /// Wait for a person: a step only a person can complete (an e-mail verification code, a
    /// manual vendor step). The gate's name is its address's name; its instructions are in
    /// the desired attributes. Passed by `apply --input NAME=VALUE`, then recorded.
    Gate,
}

impl Op {
    /// The symbol shown in plan output, as in Terraform.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            Self::NoOp => " ",
            Self::Check => "?",
            Self::Read => "<=",
            Self::Create => "+",
            Self::Update => "~",
            Self::Replace => "-/+",
            Self::Delete => "-",
            Self::Adopt => "=",
            Self::Forget => "x",
            Self::Gate => "!",
        }
    }

    /// Whether executing it calls a mutating cloud API.
    #[must_use]
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Replace | Self::Delete
        )
    }

    /// Lower-case name used in JSON (`create`, `no-op`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoOp => "no-op",
            Self::Check => "check",
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::Adopt => "adopt",
            Self::Forget => "forget",
            Self::Gate => "gate",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The new side of an attribute diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// The value is known now.
    Known(Value),
    /// Known only after a dependency has been created (it refers to its id).
    KnownAfterApply,
    /// The attribute is removed.
    Removed,
}

impl fmt::Display for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(v) => write!(f, "{v}"),
            Self::KnownAfterApply => f.write_str("(known after apply)"),
            Self::Removed => f.write_str("null"),
        }
    }
}

/// One attribute that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrDiff {
    /// Catalog name.
    pub name: String,
    /// Current value (observed, else recorded); `None` when creating.
    pub before: Option<Value>,
    /// New value.
    pub after: After,
    /// This change alone forces a replacement.
    pub forces_replacement: bool,
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Its id (index in [`Plan::actions`]).
    pub id: ActionId,
    /// The resource.
    pub addr: Address,
    /// Its mode, as its desired form (else its record) has it; set on every action the
    /// planner makes, a no-op included (which carries neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The account it lives in (as `mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountName>,
    /// Its region (as `mode`); `None` for account-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// What to do.
    pub op: Op,
    /// Why, in words (`` replace because `bucket` is immutable ``). Empty for no-ops.
    pub reasons: Vec<String>,
    /// Attribute diffs, sorted by name.
    pub diffs: Vec<AttrDiff>,
    /// The desired resource (absent for deletes, forgets and no-ops: a fleet's plan is
    /// thousands of no-ops, and apply does nothing with an unchanged resource's spec).
    pub desired: Option<DesiredResource>,
    /// What the state remembers (absent for creates, and for no-ops: apply reads an
    /// unchanged resource's record from the state, which a saved plan is only applied to at
    /// the serial it was made against).
    pub prior: Option<RecordedResource>,
    /// The id the cloud currently has for it (observed), when it exists.
    pub cloud_id: Option<CloudId>,
    /// For the deletion of a bucket that holds objects: the count the user confirmed
    /// (`--allow-destroy ADDRESS=N`); the deletion refuses when the bucket holds more by
    /// then.
    pub objects: Option<u64>,
    /// What it orders costs, as the cloud quoted it after planning
    /// (`flinkform_apply::refresh_and_plan` asks `Provider::quote`; the planner itself
    /// leaves it `None`): a workspace's creation or replacement, a quota change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// A no-op for a resource the cloud is still creating or changing (an apply interrupted
    /// while waiting for it): the executor waits until it is ready before its dependents
    /// start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait_ready: bool,
}

/// What changed outside flinkform for one resource (recorded vs observed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The resource.
    pub addr: Address,
    /// What happened.
    pub kind: DriftKind,
}

/// The kinds of drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// It was deleted outside flinkform.
    Deleted,
    /// Attributes changed: name, recorded value, observed value.
    Changed(Vec<(String, Value, Option<Value>)>),
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Every action, in a deterministic topological order (dependencies first).
    pub actions: Vec<PlannedAction>,
    /// `(from, to)`: `to` runs only after `from` succeeded. Sorted.
    pub edges: BTreeSet<(ActionId, ActionId)>,
    /// Drift, sorted by address.
    pub drift: Vec<Drift>,
    /// Resources `destroy` leaves in place, and why (protected, shared, cannot be undone).
    pub kept: Vec<(Address, String)>,
    /// Non-fatal findings (recommendations), already rendered as text.
    pub warnings: Vec<String>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Creates (and reads of data resources not yet recorded, and adoptions).
    pub add: usize,
    /// In-place updates.
    pub change: usize,
    /// Replacements.
    pub replace: usize,
    /// Deletes (and forgets).
    pub destroy: usize,
}

impl Plan {
    /// The action with id `id`.
    #[must_use]
    pub fn action(&self, id: ActionId) -> &PlannedAction {
        &self.actions[id.index()]
    }

    /// Ids of the actions `id` waits for.
    pub fn dependencies(&self, id: ActionId) -> impl Iterator<Item = ActionId> + '_ {
        self.edges
            .iter()
            .filter(move |(_, to)| *to == id)
            .map(|(from, _)| *from)
    }

    /// How many actions each address has (more than one: a replacement's deletion and
    /// creation, an update's steps, a role's creation and its policies, …), computed once
    /// for a renderer instead of a search per action.
    #[must_use]
    pub fn actions_per_address(&self) -> BTreeMap<&Address, (usize, bool)> {
        let mut out: BTreeMap<&Address, (usize, bool)> = BTreeMap::new();
        for a in &self.actions {
            let entry = out.entry(&a.addr).or_default();
            entry.0 += 1;
            entry.1 |= a.op == Op::Replace;
        }
        out
    }

    /// Whether `action` is the first half of a replacement (the deletion, or forgetting, of
    /// the old resource before the `Replace` action of the same address creates it again),
    /// given [`Plan::actions_per_address`].
    #[must_use]
    pub fn replaced_first(
        per_address: &BTreeMap<&Address, (usize, bool)>,
        action: &PlannedAction,
    ) -> bool {
        matches!(action.op, Op::Delete | Op::Forget)
            && per_address.get(&action.addr).is_some_and(|(_, r)| *r)
    }

    /// Counts for `Plan: N to add, N to change, N to replace, N to destroy.` Each address
    /// counts once, by its last action (a replacement is a deletion then a `replace`; an
    /// update of several attributes is one step per attribute; turning auto-renewal off
    /// comes before forgetting).
    #[must_use]
    pub fn summary(&self) -> Summary {
        // Per address: a creation or replacement among its actions wins (a role is created,
        // then its policies attached), else its last action.
        let mut main: std::collections::BTreeMap<&Address, &PlannedAction> =
            std::collections::BTreeMap::new();
        for a in &self.actions {
            let keep = main
                .get(&a.addr)
                .is_some_and(|m| matches!(m.op, Op::Create | Op::Replace));
            if !keep {
                main.insert(&a.addr, a);
            }
        }
        let mut s = Summary::default();
        for a in main.into_values() {
            match a.op {
                Op::Create => s.add += 1,
                // Adopting a resource the state lacks adds it; adopting one the state has only
                // rewrites its record (e.g. `protect` changed), which is a change.
                Op::Adopt if a.prior.is_none() => s.add += 1,
                Op::Update | Op::Adopt => s.change += 1,
                Op::Replace => s.replace += 1,
                Op::Delete | Op::Forget => s.destroy += 1,
                Op::NoOp | Op::Check | Op::Read | Op::Gate => {}
            }
        }
        s
    }

    /// How much the monthly bill changes if the plan is applied: the sum of the actions'
    /// [`Price::monthly`], one amount per currency (sorted); empty when nothing is priced.
    #[must_use]
    pub fn monthly_change(&self) -> Vec<Money> {
        flinkform_core::money::monthly_total(self.actions.iter().filter_map(|a| a.price.as_ref()))
    }

    /// Whether applying it would change anything (cloud or state).
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(|a| {
            !(matches!(a.op, Op::NoOp | Op::Check) || (a.op == Op::Read && a.prior.is_some()))
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
            self.add, self.change, self.replace, self.destroy
        )
    }
}
