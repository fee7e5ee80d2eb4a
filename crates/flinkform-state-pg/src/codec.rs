//! What the rows hold: the state format's version-1 objects ([`ResourceV1`], [`IntentV1`],
//! [`GateV1`], [`TargetV1`]) as `jsonb`, so a row reads like the matching entry of a state
//! file, and the journal's [`ChangeV1`], one [`Change`] of a commit as the history keeps it
//! (the same JSON as a line of the local backend's journal). The conversions are the state
//! crate's: one file form for every backend.

pub(crate) use flinkform_state::journal::ChangeV1;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use flinkform_core::{AccountName, Attrs, CloudId, Mode, TargetCloud, Value};
    use flinkform_state::IntentOp;

    use flinkform_core::{Address, RecordedResource, Target};
    use flinkform_state::{Change, Intent, WaitingGate};

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
            let json = serde_json::to_value(ChangeV1::from(&c)).expect("encode");
            let back: ChangeV1 = serde_json::from_value(json).expect("decode");
            assert_eq!(Change::from(back), c);
        }
    }
}
