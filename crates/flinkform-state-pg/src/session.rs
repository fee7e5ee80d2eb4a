//! A held run lock: the connection that holds the advisory lock, and every commit of the
//! run, each one transaction on that same connection. A commit can only happen while the
//! lock is held (if the connection dies, the lock goes with it and so does the commit), and
//! each one checks that the stored serial is the one the run last wrote, so a run whose lock
//! was broken can never overwrite another run's work.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use flinkform_core::Address;
use flinkform_state::format::{IntentV1, ResourceV1, TargetV1};
use flinkform_state::{
    Change, Error as StateError, GateV1, Intent, LockInfo, Result as StateResult, Session, State,
    StateFileV1, WaitingGate, now_rfc3339,
};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Statement, Transaction};

use crate::codec::ChangeV1;
use crate::error::Error;
use crate::lock;
use crate::store::{self, Ctx};

/// A run's hold on one stack (see the module doc).
pub(crate) struct PgSession {
    /// The connection holding the lock (`None` once released).
    pub(crate) client: Option<Client>,
    pub(crate) ctx: Ctx,
    pub(crate) describe: String,
    pub(crate) info: LockInfo,
    pub(crate) stale: Option<LockInfo>,
    pub(crate) state: State,
    /// The commit's statements, prepared on `client`.
    pub(crate) stmts: HashMap<&'static str, Statement>,
}

/// The rows one commit writes.
struct Rows {
    /// Resources to write (`Some`) or delete (`None`).
    resources: BTreeMap<Address, Option<serde_json::Value>>,
    /// Intents to write (`Some`) or delete (`None`), by id.
    intents: BTreeMap<u64, Option<(Address, serde_json::Value)>>,
    /// Gates to write (`Some`) or delete (`None`), by name.
    gates: BTreeMap<String, Option<(Address, serde_json::Value)>>,
    /// Addresses the commit changed.
    changed: BTreeSet<Address>,
}

/// The error of a commit after the lock was released.
fn released(describe: &str) -> StateError {
    StateError::Backend {
        backend: describe.to_owned(),
        action: "commit".to_owned(),
        reason: "the lock was released".to_owned(),
        help: "take the lock again".to_owned(),
    }
}

/// `sql` prepared on this connection once, then reused (one round trip less per statement).
async fn prepared(
    tx: &Transaction<'_>,
    cache: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
) -> Result<Statement, tokio_postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = tx.prepare(sql).await?;
    cache.insert(sql, s.clone());
    Ok(s)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::to_value(v)
}

impl PgSession {
    fn backend_err(&self, action: &str) -> impl FnOnce(Error) -> StateError + use<> {
        let describe = self.describe.clone();
        let action = action.to_owned();
        move |e| e.into_state(&describe, &action)
    }

    /// The rows that turn the stored state `before` (journal and gates only; resources are
    /// read from `changes`) into `self.state`.
    fn rows(
        &self,
        changes: &[Change],
        journal_before: Option<&[Intent]>,
        gates_before: Option<&BTreeMap<String, WaitingGate>>,
    ) -> Result<Rows, serde_json::Error> {
        let mut rows = Rows {
            resources: BTreeMap::new(),
            intents: BTreeMap::new(),
            gates: BTreeMap::new(),
            changed: BTreeSet::new(),
        };
        for c in changes {
            if let Change::Record(r) = c {
                rows.resources.insert(r.addr.clone(), None);
            } else if let Change::Remove(a) = c {
                rows.resources.insert(a.clone(), None);
            }
        }
        for (addr, row) in &mut rows.resources {
            if let Some(r) = self.state.resources.get(addr) {
                *row = Some(to_json(&ResourceV1::from(r))?);
            }
            rows.changed.insert(addr.clone());
        }
        if let Some(before) = journal_before {
            let old: BTreeMap<u64, &Intent> = before.iter().map(|i| (i.id, i)).collect();
            let new: BTreeMap<u64, &Intent> =
                self.state.journal.iter().map(|i| (i.id, i)).collect();
            for (id, i) in &old {
                if !new.contains_key(id) {
                    rows.intents.insert(*id, None);
                    rows.changed.insert(i.addr.clone());
                }
            }
            for (id, i) in &new {
                if old.get(id) != Some(i) {
                    let json = to_json(&IntentV1::from(*i))?;
                    rows.intents.insert(*id, Some((i.addr.clone(), json)));
                    rows.changed.insert(i.addr.clone());
                }
            }
        }
        if let Some(before) = gates_before {
            for (name, g) in before {
                if !self.state.gates.contains_key(name) {
                    rows.gates.insert(name.clone(), None);
                    rows.changed.insert(g.addr.clone());
                }
            }
            for (name, g) in &self.state.gates {
                if before.get(name) != Some(g) {
                    let json = to_json(&GateV1::new(name, g))?;
                    rows.gates
                        .insert(name.clone(), Some((g.addr.clone(), json)));
                    rows.changed.insert(g.addr.clone());
                }
            }
        }
        Ok(rows)
    }

    /// Writes `rows` and the history row of `changes` in one transaction, moving the stack
    /// from `serial` to `serial + 1`.
    async fn write(
        &mut self,
        serial: u64,
        rows: Rows,
        changes: &[Change],
        set_target: bool,
    ) -> StateResult<()> {
        let ctx = self.ctx.clone();
        let map = self.backend_err("commit");
        let history: Vec<ChangeV1> = changes.iter().map(ChangeV1::from).collect();
        let history = to_json(&history).map_err(StateError::Encode)?;
        let target = match &self.state.target {
            Some(t) => Some(to_json(&TargetV1::from(t)).map_err(StateError::Encode)?),
            None => None,
        };
        let lineage = self.state.lineage.0;
        let (operation, who) = (self.info.operation.clone(), self.info.who.clone());
        let describe = self.describe.clone();
        let Self { client, stmts, .. } = self;
        let client = client.as_mut().ok_or_else(|| released(&describe))?;
        let result: Result<(), Error> = async {
            let old = store::to_db(serial, &ctx)?;
            let new = store::to_db(serial + 1, &ctx)?;
            let stack = ctx.stack.as_str();
            let tx = client.transaction().await.map_err(ctx.db("start a transaction"))?;
            let moved = if serial == 0 {
                tx.execute(
                    &prepared(&tx, stmts, "INSERT INTO flinkform.stacks (name, lineage, serial, target)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                    &[&stack, &lineage, &new, &target],
                )
                .await
                .map_err(ctx.db("create the stack"))?
            } else if set_target {
                tx.execute(
                    &prepared(&tx, stmts, "UPDATE flinkform.stacks SET serial = $3, target = $4, updated_at = now()
                      WHERE name = $1 AND serial = $2")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                    &[&stack, &old, &new, &target],
                )
                .await
                .map_err(ctx.db("update the stack"))?
            } else {
                tx.execute(
                    &prepared(&tx, stmts, "UPDATE flinkform.stacks SET serial = $3, updated_at = now()
                      WHERE name = $1 AND serial = $2")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                    &[&stack, &old, &new],
                )
                .await
                .map_err(ctx.db("update the stack"))?
            };
            if moved != 1 {
                return Err(ctx.corrupt(format!(
                    "the stored serial is no longer {serial}: another run wrote this stack while this one held the lock (was the lock forced?)"
                )));
            }
            for (addr, record) in &rows.resources {
                let address = addr.to_string();
                if let Some(record) = record {
                    tx.execute(
                    &prepared(&tx, stmts, "INSERT INTO flinkform.resources (stack, address, record) VALUES ($1, $2, $3)
                         ON CONFLICT (stack, address) DO UPDATE SET record = EXCLUDED.record")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, &address, record],
                    )
                    .await
                } else {
                    tx.execute(
                    &prepared(&tx, stmts, "DELETE FROM flinkform.resources WHERE stack = $1 AND address = $2")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, &address],
                    )
                    .await
                }
                .map_err(ctx.db("write a resource"))?;
            }
            for (id, record) in &rows.intents {
                let id = store::to_db(*id, &ctx)?;
                if let Some((addr, record)) = record {
                    let address = addr.to_string();
                    tx.execute(
                    &prepared(&tx, stmts, "INSERT INTO flinkform.intents (stack, id, address, record) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (stack, id) DO UPDATE SET address = EXCLUDED.address, record = EXCLUDED.record")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, &id, &address, record],
                    )
                    .await
                } else {
                    tx.execute(
                    &prepared(&tx, stmts, "DELETE FROM flinkform.intents WHERE stack = $1 AND id = $2")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, &id],
                    )
                    .await
                }
                .map_err(ctx.db("write an intent"))?;
            }
            for (name, record) in &rows.gates {
                if let Some((addr, record)) = record {
                    let address = addr.to_string();
                    tx.execute(
                    &prepared(&tx, stmts, "INSERT INTO flinkform.gates (stack, name, address, record) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (stack, name) DO UPDATE SET address = EXCLUDED.address, record = EXCLUDED.record")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, name, &address, record],
                    )
                    .await
                } else {
                    tx.execute(
                    &prepared(&tx, stmts, "DELETE FROM flinkform.gates WHERE stack = $1 AND name = $2")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                        &[&stack, name],
                    )
                    .await
                }
                .map_err(ctx.db("write a gate"))?;
            }
            let changed: Vec<String> = rows.changed.iter().map(ToString::to_string).collect();
            tx.execute(
                    &prepared(&tx, stmts, "INSERT INTO flinkform.history (stack, serial, lineage, written_at, operation, who, changed, changes)
                 VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6, $7, $8)")
                        .await
                        .map_err(ctx.db("prepare a statement"))?,
                &[&stack, &new, &lineage, &now_rfc3339(), &operation, &who, &changed, &history],
            )
            .await
            .map_err(ctx.db("write the history"))?;
            tx.commit().await.map_err(ctx.db("commit"))
        }
        .await;
        result.map_err(map)
    }

    /// Replaces every row of the stack with `state` (already at its new serial), in one
    /// transaction; `stored` is the serial stored now (0: never written).
    async fn write_whole(&mut self, stored: u64, state: &State) -> StateResult<()> {
        let ctx = self.ctx.clone();
        let map = self.backend_err("replace the state");
        let file = StateFileV1::from_state(state);
        let resources = to_json(&file.resources).map_err(StateError::Encode)?;
        let intents = to_json(&file.journal).map_err(StateError::Encode)?;
        let gates = to_json(&file.gates).map_err(StateError::Encode)?;
        let target = match &file.target {
            Some(t) => Some(to_json(t).map_err(StateError::Encode)?),
            None => None,
        };
        let snapshot = to_json(&file).map_err(StateError::Encode)?;
        let lineage = state.lineage.0;
        let new_serial = state.serial;
        let (operation, who) = (self.info.operation.clone(), self.info.who.clone());
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| released(&self.describe))?;
        let result: Result<(), Error> = async {
            let old = store::to_db(stored, &ctx)?;
            let new = store::to_db(new_serial, &ctx)?;
            let stack = ctx.stack.as_str();
            let tx = client.transaction().await.map_err(ctx.db("start a transaction"))?;
            let moved = if stored == 0 {
                tx.execute(
                    "INSERT INTO flinkform.stacks (name, lineage, serial, target)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    &[&stack, &lineage, &new, &target],
                )
                .await
                .map_err(ctx.db("create the stack"))?
            } else {
                tx.execute(
                    "UPDATE flinkform.stacks SET lineage = $3, serial = $4, target = $5, updated_at = now()
                      WHERE name = $1 AND serial = $2",
                    &[&stack, &old, &lineage, &new, &target],
                )
                .await
                .map_err(ctx.db("update the stack"))?
            };
            if moved != 1 {
                return Err(ctx.corrupt(format!(
                    "the stored serial is no longer {stored}: another run wrote this stack while this one held the lock (was the lock forced?)"
                )));
            }
            for table in ["resources", "intents", "gates"] {
                tx.execute(&format!("DELETE FROM flinkform.{table} WHERE stack = $1"), &[&stack])
                    .await
                    .map_err(ctx.db("replace the rows"))?;
            }
            tx.execute(
                "INSERT INTO flinkform.resources (stack, address, record)
                 SELECT $1, r->>'address', r FROM jsonb_array_elements($2::jsonb) AS r",
                &[&stack, &resources],
            )
            .await
            .map_err(ctx.db("write the resources"))?;
            tx.execute(
                "INSERT INTO flinkform.intents (stack, id, address, record)
                 SELECT $1, (r->>'id')::bigint, r->>'address', r FROM jsonb_array_elements($2::jsonb) AS r",
                &[&stack, &intents],
            )
            .await
            .map_err(ctx.db("write the intents"))?;
            tx.execute(
                "INSERT INTO flinkform.gates (stack, name, address, record)
                 SELECT $1, r->>'name', r->>'address', r FROM jsonb_array_elements($2::jsonb) AS r",
                &[&stack, &gates],
            )
            .await
            .map_err(ctx.db("write the gates"))?;
            let changed: Vec<String> = Vec::new();
            tx.execute(
                "INSERT INTO flinkform.history (stack, serial, lineage, written_at, operation, who, changed, snapshot)
                 VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6, $7, $8)",
                &[&stack, &new, &lineage, &now_rfc3339(), &operation, &who, &changed, &snapshot],
            )
            .await
            .map_err(ctx.db("write the history"))?;
            tx.commit().await.map_err(ctx.db("commit"))
        }
        .await;
        result.map_err(map)
    }
}

#[async_trait]
impl Session for PgSession {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn stale_predecessor(&self) -> Option<&LockInfo> {
        self.stale.as_ref()
    }

    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(&mut self, changes: Vec<Change>) -> StateResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let journal_before = changes
            .iter()
            .any(|c| {
                matches!(
                    c,
                    Change::BeginIntent(_) | Change::EndIntent(_) | Change::EndIntentsOf(_)
                )
            })
            .then(|| self.state.journal.clone());
        let gates_before = changes
            .iter()
            .any(|c| {
                matches!(
                    c,
                    Change::SetGate { .. } | Change::RemoveGate(_) | Change::RemoveGatesOf(_)
                )
            })
            .then(|| self.state.gates.clone());
        let set_target = changes.iter().any(|c| matches!(c, Change::SetTarget(_)));
        let undo = self.state.apply_tracked(&changes);
        if !undo.changed(&self.state) {
            return Ok(());
        }
        let serial = self.state.serial;
        let written = match self.rows(&changes, journal_before.as_deref(), gates_before.as_ref()) {
            Ok(rows) => self.write(serial, rows, &changes, set_target).await,
            Err(e) => Err(StateError::Encode(e)),
        };
        match written {
            Ok(()) => {
                self.state.serial = serial + 1;
                Ok(())
            }
            Err(e) => {
                undo.restore(&mut self.state);
                Err(e)
            }
        }
    }

    async fn replace(&mut self, state: State, force: bool) -> StateResult<()> {
        let stored = self.state.serial;
        if stored > 0 && !force {
            if state.lineage != self.state.lineage {
                return Err(StateError::LineageMismatch {
                    path: self.describe.clone().into(),
                    file: self.state.lineage.to_string(),
                    given: state.lineage.to_string(),
                });
            }
            if state.serial <= stored {
                return Err(StateError::StaleSerial {
                    stored,
                    given: state.serial,
                });
            }
        }
        let mut next = state;
        next.serial = next.serial.max(stored + 1);
        self.write_whole(stored, &next).await?;
        self.state = next;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> StateResult<()> {
        let Some(mut client) = self.client.take() else {
            return Ok(());
        };
        let released = lock::release(&mut client, &self.ctx, &self.info.id).await;
        // Closing the connection releases the advisory lock whatever happened above.
        drop(client);
        released.map_err(self.backend_err("release the lock"))
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        // Dropped without `finish`: release now on a multi-threaded runtime, else on the
        // runtime's next turn with this process's next look at the stack's lock waiting for
        // it ([`settle`]). Closing the connection releases the advisory lock in any case; a
        // record the release could not delete reads as stale.
        let Some(mut client) = self.client.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let ctx = self.ctx.clone();
        let id = self.info.id.clone();
        let release = async move {
            let _ =
                tokio::time::timeout(RELEASE_TIMEOUT, lock::release(&mut client, &ctx, &id)).await;
        };
        if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| rt.block_on(release));
        } else {
            let task = rt.spawn(release);
            if let Ok(mut releasing) = RELEASING.lock() {
                releasing.push((self.describe.clone(), task));
            }
        }
    }
}

/// How long a dropped session tries to delete its lock record before it just closes its
/// connection (which releases the lock and leaves the record as stale).
const RELEASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Releases of dropped sessions still under way, by backend description.
static RELEASING: Mutex<Vec<(String, JoinHandle<()>)>> = Mutex::new(Vec::new());

/// Waits for the releases of sessions of `describe` this process dropped: a lock dropped
/// here is free for this process's next `lock` or `lock_status`, as with a file lock.
pub(crate) async fn settle(describe: &str) {
    let pending: Vec<JoinHandle<()>> = match RELEASING.lock() {
        Ok(mut releasing) => {
            let (mine, others): (Vec<_>, Vec<_>) =
                releasing.drain(..).partition(|(d, _)| d == describe);
            *releasing = others;
            mine.into_iter().map(|(_, task)| task).collect()
        }
        Err(_) => Vec::new(),
    };
    for task in pending {
        let _ = task.await;
    }
}
