//! What the rows hold: the state format's version-1 objects ([`ResourceV1`], [`IntentV1`],
//! [`GateV1`], [`TargetV1`]) as `jsonb`, so a row reads like the matching entry of a state
//! file, and [`ChangeV1`], one [`Change`] of a commit as the history keeps it.

use flinkform_core::{Address, RecordedResource, Target};
use flinkform_state::format::{IntentV1, ResourceV1, TargetV1};
use flinkform_state::{Change, GateV1, Intent, WaitingGate};
use serde::{Deserialize, Serialize};

/// The row form of a recorded resource.
pub(crate) fn resource_v1(r: &RecordedResource) -> ResourceV1 {
    ResourceV1 {
        address: r.addr.clone(),
        mode: r.mode,
        account: r.account.clone(),
        region: r.region.clone(),
        cloud_id: r.cloud_id.clone(),
        attrs: r.attrs.clone(),
        depends_on: r.depends_on.clone(),
        protect: r.protect,
    }
}

/// The domain form of a resource row.
pub(crate) fn resource(r: ResourceV1) -> RecordedResource {
    RecordedResource {
        addr: r.address,
        mode: r.mode,
        account: r.account,
        region: r.region,
        cloud_id: r.cloud_id,
        attrs: r.attrs,
        depends_on: r.depends_on,
        protect: r.protect,
    }
}

/// The row form of an intent.
pub(crate) fn intent_v1(i: &Intent) -> IntentV1 {
    IntentV1 {
        id: i.id,
        address: i.addr.clone(),
        op: i.op,
        client_token: i.client_token.clone(),
        identity: i.identity.clone(),
        started_at: i.started_at.clone(),
    }
}

/// The domain form of an intent row.
pub(crate) fn intent(i: IntentV1) -> Intent {
    Intent {
        id: i.id,
        addr: i.address,
        op: i.op,
        client_token: i.client_token,
        identity: i.identity,
        started_at: i.started_at,
    }
}

/// The row form of a gate.
pub(crate) fn gate_v1(name: &str, g: &WaitingGate) -> GateV1 {
    GateV1 {
        name: name.to_owned(),
        address: g.addr.clone(),
        instructions: g.instructions.clone(),
        since: g.since.clone(),
    }
}

/// The domain form of a gate row: its name and the gate.
pub(crate) fn gate(g: GateV1) -> (String, WaitingGate) {
    (
        g.name,
        WaitingGate {
            addr: g.address,
            instructions: g.instructions,
            since: g.since,
        },
    )
}

/// The column form of a target.
pub(crate) fn target_v1(t: &Target) -> TargetV1 {
    TargetV1 {
        cloud: t.cloud,
        world: t.world.clone(),
        accounts: t.accounts.clone(),
    }
}

/// The domain form of a target column.
pub(crate) fn target(t: TargetV1) -> Target {
    Target {
        cloud: t.cloud,
        world: t.world,
        accounts: t.accounts,
    }
}

/// One change of a commit as `history.changes` keeps it (a JSON array of these, in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum ChangeV1 {
    /// [`Change::Record`].
    Record {
        /// The resource as recorded.
        resource: ResourceV1,
    },
    /// [`Change::Remove`].
    Remove {
        /// The address dropped.
        address: Address,
    },
    /// [`Change::BeginIntent`].
    BeginIntent {
        /// The intent.
        intent: IntentV1,
    },
    /// [`Change::EndIntent`].
    EndIntent {
        /// The intent's id.
        id: u64,
    },
    /// [`Change::EndIntentsOf`].
    EndIntentsOf {
        /// The address.
        address: Address,
    },
    /// [`Change::SetGate`].
    SetGate {
        /// The gate, with its input name.
        gate: GateV1,
    },
    /// [`Change::RemoveGate`].
    RemoveGate {
        /// The input name.
        name: String,
    },
    /// [`Change::RemoveGatesOf`].
    RemoveGatesOf {
        /// The address.
        address: Address,
    },
    /// [`Change::SetTarget`].
    SetTarget {
        /// The target.
        target: TargetV1,
    },
}

impl ChangeV1 {
    /// The history form of `c`.
    pub(crate) fn of(c: &Change) -> Self {
        match c {
            Change::Record(r) => Self::Record {
                resource: resource_v1(r),
            },
            Change::Remove(a) => Self::Remove { address: a.clone() },
            Change::BeginIntent(i) => Self::BeginIntent {
                intent: intent_v1(i),
            },
            Change::EndIntent(id) => Self::EndIntent { id: *id },
            Change::EndIntentsOf(a) => Self::EndIntentsOf { address: a.clone() },
            Change::SetGate { name, gate } => Self::SetGate {
                gate: gate_v1(name, gate),
            },
            Change::RemoveGate(name) => Self::RemoveGate { name: name.clone() },
            Change::RemoveGatesOf(a) => Self::RemoveGatesOf { address: a.clone() },
            Change::SetTarget(t) => Self::SetTarget {
                target: target_v1(t),
            },
        }
    }

    /// The domain form.
    pub(crate) fn into_change(self) -> Change {
        match self {
            Self::Record { resource: r } => Change::Record(resource(r)),
            Self::Remove { address } => Change::Remove(address),
            Self::BeginIntent { intent: i } => Change::BeginIntent(intent(i)),
            Self::EndIntent { id } => Change::EndIntent(id),
            Self::EndIntentsOf { address } => Change::EndIntentsOf(address),
            Self::SetGate { gate: g } => {
                let (name, gate) = gate(g);
                Change::SetGate { name, gate }
            }
            Self::RemoveGate { name } => Change::RemoveGate(name),
            Self::RemoveGatesOf { address } => Change::RemoveGatesOf(address),
            Self::SetTarget { target: t } => Change::SetTarget(target(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use flinkform_core::{AccountName, Attrs, CloudId, Mode, TargetCloud, Value};
    use flinkform_state::IntentOp;

    use super::*;

    fn addr(s: &str) -> Address {
        s.parse().expect("address")
    }

    #[test]
    fn every_change_survives_the_history_form() {
        let mut attrs = Attrs::new();
        attrs.insert("name".to_owned(), Value::str("a"));
        let changes = vec![
            Change::Record(RecordedResource {
                addr: addr("vpc.a"),
                mode: Mode::Managed,
                account: AccountName::new("main").expect("account"),
                region: None,
                cloud_id: CloudId::new("vpc-1").expect("id"),
                attrs: attrs.clone(),
                depends_on: BTreeSet::from([addr("ram_role.b")]),
                protect: true,
            }),
            Change::Remove(addr("vpc.a")),
            Change::BeginIntent(Intent {
                id: 7,
                addr: addr("vpc.a"),
                op: IntentOp::Create,
                client_token: "tok".to_owned(),
                identity: attrs,
                started_at: "2026-01-01T00:00:00Z".to_owned(),
            }),
            Change::EndIntent(7),
            Change::EndIntentsOf(addr("vpc.a")),
            Change::SetGate {
                name: "verify-email.x".to_owned(),
                gate: WaitingGate {
                    addr: addr("gate.verify-email.x"),
                    instructions: "enter the code".to_owned(),
                    since: "2026-01-01T00:00:00Z".to_owned(),
                },
            },
            Change::RemoveGate("verify-email.x".to_owned()),
            Change::RemoveGatesOf(addr("gate.verify-email.x")),
            Change::SetTarget(Target {
                cloud: TargetCloud::Sim,
                world: Some("w".to_owned()),
                accounts: BTreeMap::new(),
            }),
        ];
        for c in changes {
            let json = serde_json::to_value(ChangeV1::of(&c)).expect("encode");
            let back: ChangeV1 = serde_json::from_value(json).expect("decode");
            assert_eq!(back.into_change(), c);
        }
    }
}
