//! Reading a stack's rows: the current state, the history, a past version.

use std::collections::BTreeSet;
use std::path::Path;

use flinkform_core::{Address, RecordedResource, Target};
use flinkform_state::format::{IntentV1, ResourceV1, TargetV1};
use flinkform_state::{GateV1, HistoryEntry, Intent, Lineage, State, StateFileV1};
use serde::de::DeserializeOwned;
use tokio_postgres::GenericClient;

use crate::codec::ChangeV1;
use crate::error::{Error, Result};

/// What a query is about, for errors: the server and database, and the stack.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// `db.example:5432/flinkform`.
    pub(crate) target: String,
    /// The stack.
    pub(crate) stack: String,
}

impl Ctx {
    /// A mapper of a driver error into [`Error::Database`] for `action`.
    pub(crate) fn db(&self, action: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + use<> {
        let target = self.target.clone();
        let action = action.to_owned();
        move |source| Error::Database {
            target,
            action,
            source,
        }
    }

    /// [`Error::Corrupt`] with `reason`.
    pub(crate) fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            target: self.target.clone(),
            stack: self.stack.clone(),
            reason,
        }
    }

    /// Decodes one `jsonb` value.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        what: &str,
        v: serde_json::Value,
    ) -> Result<T> {
        serde_json::from_value(v).map_err(|e| self.corrupt(format!("{what}: {e}")))
    }
}

/// A serial as the database keeps it (`bigint`).
pub(crate) fn to_db(serial: u64, ctx: &Ctx) -> Result<i64> {
    i64::try_from(serial).map_err(|_| ctx.corrupt(format!("serial {serial} is too large")))
}

/// A serial the database kept.
pub(crate) fn from_db(serial: i64, ctx: &Ctx) -> Result<u64> {
    u64::try_from(serial).map_err(|_| ctx.corrupt(format!("serial {serial} is negative")))
}

/// The stack's current state, `None` for a stack never written. Run it inside one
/// transaction (or under the lock) for a consistent picture.
pub(crate) async fn load(c: &impl GenericClient, ctx: &Ctx) -> Result<Option<State>> {
    let stack = ctx.stack.as_str();
    let Some(row) = c
        .query_opt(
            "SELECT lineage, serial, target FROM flinkform.stacks WHERE name = $1",
            &[&stack],
        )
        .await
        .map_err(ctx.db("read the stack"))?
    else {
        return Ok(None);
    };
    let lineage = Lineage(row.get::<_, uuid::Uuid>(0));
    let serial = from_db(row.get(1), ctx)?;
    let target = match row.get::<_, Option<serde_json::Value>>(2) {
        Some(v) => Some(Target::from(ctx.decode::<TargetV1>("target", v)?)),
        None => None,
    };
    let mut state = State {
        lineage,
        serial,
        target,
        ..State::new()
    };
    for row in c
        .query(
            "SELECT record FROM flinkform.resources WHERE stack = $1",
            &[&stack],
        )
        .await
        .map_err(ctx.db("read the resources"))?
    {
        let r = RecordedResource::from(ctx.decode::<ResourceV1>("resource", row.get(0))?);
        state.resources.insert(r.addr.clone(), r);
    }
    for row in c
        .query(
            "SELECT record FROM flinkform.intents WHERE stack = $1 ORDER BY id",
            &[&stack],
        )
        .await
        .map_err(ctx.db("read the intents"))?
    {
        state
            .journal
            .push(Intent::from(ctx.decode::<IntentV1>("intent", row.get(0))?));
    }
    for row in c
        .query(
            "SELECT record FROM flinkform.gates WHERE stack = $1",
            &[&stack],
        )
        .await
        .map_err(ctx.db("read the gates"))?
    {
        let (name, gate) = ctx.decode::<GateV1>("gate", row.get(0))?.into_parts();
        state.gates.insert(name, gate);
    }
    Ok(Some(state))
}

/// Every version kept, oldest first.
pub(crate) async fn history(c: &impl GenericClient, ctx: &Ctx) -> Result<Vec<HistoryEntry>> {
    let rows = c
        .query(
            "SELECT serial,
                    to_char(written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    operation, who, changed
               FROM flinkform.history WHERE stack = $1 ORDER BY serial",
            &[&ctx.stack.as_str()],
        )
        .await
        .map_err(ctx.db("read the history"))?;
    rows.into_iter()
        .map(|row| {
            let changed = row
                .get::<_, Vec<String>>(4)
                .into_iter()
                .map(|a| {
                    a.parse::<Address>()
                        .map_err(|e| ctx.corrupt(format!("history address `{a}`: {e}")))
                })
                .collect::<Result<BTreeSet<Address>>>()?;
            Ok(HistoryEntry {
                serial: from_db(row.get(0), ctx)?,
                written_at: row.get(1),
                operation: row.get(2),
                who: row.get(3),
                changed,
            })
        })
        .collect()
}

/// The state as it was at `serial`: the last whole-state version at or before it (or the
/// empty state of the first commit's lineage), with every later commit up to `serial`
/// replayed. `None` when no version `serial` is kept.
pub(crate) async fn at_serial(
    c: &impl GenericClient,
    ctx: &Ctx,
    serial: u64,
    describe: &str,
) -> Result<Option<State>> {
    let n = to_db(serial, ctx)?;
    let rows = c
        .query(
            "SELECT serial, lineage, changes, snapshot FROM flinkform.history
              WHERE stack = $1 AND serial <= $2
                AND serial >= coalesce((SELECT max(serial) FROM flinkform.history
                                         WHERE stack = $1 AND serial <= $2
                                           AND snapshot IS NOT NULL), 0)
              ORDER BY serial",
            &[&ctx.stack.as_str(), &n],
        )
        .await
        .map_err(ctx.db("read the history"))?;
    if rows.last().map(|r| r.get::<_, i64>(0)) != Some(n) {
        return Ok(None);
    }
    let mut state: Option<State> = None;
    for row in rows {
        let at = from_db(row.get(0), ctx)?;
        let lineage = Lineage(row.get::<_, uuid::Uuid>(1));
        if let Some(snapshot) = row.get::<_, Option<serde_json::Value>>(3) {
            let file: StateFileV1 = ctx.decode("history snapshot", snapshot)?;
            let s = file
                .into_state(Path::new(describe))
                .map_err(|e| ctx.corrupt(format!("history snapshot at serial {at}: {e}")))?;
            state = Some(s);
        } else {
            let changes: Vec<ChangeV1> = ctx.decode(
                "history changes",
                row.get::<_, Option<serde_json::Value>>(2)
                    .unwrap_or(serde_json::Value::Null),
            )?;
            let s = state.get_or_insert_with(|| State {
                lineage,
                ..State::new()
            });
            for change in changes {
                s.apply(&flinkform_state::Change::from(change));
            }
        }
        if let Some(s) = state.as_mut() {
            s.serial = at;
            s.lineage = lineage;
        }
    }
    Ok(state)
}
