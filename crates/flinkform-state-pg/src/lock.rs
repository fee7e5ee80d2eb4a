//! The run lock: a session-level advisory lock on the holder's own connection, and a row in
//! `flinkform.locks` with the owner information. Both change together under the stack's
//! guard (a transaction-level advisory lock), so a process that finds the lock taken reads
//! the record of the process holding it. When a holder dies, its connection closes and the
//! server releases its advisory lock; the row it leaves reads as stale.

use flinkform_state::{LockInfo, LockStatus};
use tokio_postgres::{Client, Transaction};

use crate::error::Result;
use crate::key;
use crate::store::Ctx;

/// What a try to take the lock found.
pub(crate) enum Taken {
    /// The lock is ours now; `stale` is the record a dead holder left, if any.
    Yes {
        /// The dead holder's record.
        stale: Option<LockInfo>,
    },
    /// Another connection holds it.
    No {
        /// Its record (none only from a holder that does not write one).
        holder: Option<LockInfo>,
    },
}

async fn guard(tx: &Transaction<'_>, ctx: &Ctx) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&key::guard(&ctx.stack)],
    )
    .await
    .map_err(ctx.db("take the lock guard"))?;
    Ok(())
}

async fn record(tx: &Transaction<'_>, ctx: &Ctx) -> Result<Option<LockInfo>> {
    let row = tx
        .query_opt(
            "SELECT id, operation, who, pid, created FROM flinkform.locks WHERE stack = $1",
            &[&ctx.stack],
        )
        .await
        .map_err(ctx.db("read the lock record"))?;
    Ok(row.map(|row| LockInfo {
        id: row.get(0),
        operation: row.get(1),
        who: row.get(2),
        pid: u32::try_from(row.get::<_, i64>(3)).unwrap_or(0),
        created: row.get(4),
    }))
}

/// Whether any connection to this database holds the stack's run lock.
async fn held(tx: &Transaction<'_>, ctx: &Ctx) -> Result<bool> {
    let (high, low) = key::split(key::run(&ctx.stack));
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks
                             WHERE locktype = 'advisory' AND granted
                               AND database = (SELECT oid FROM pg_database
                                                WHERE datname = current_database())
                               AND classid = $1 AND objid = $2 AND objsubid = 1)",
            &[&high, &low],
        )
        .await
        .map_err(ctx.db("read who holds the lock"))?;
    Ok(row.get(0))
}

/// Tries once to take the run lock on `client` (the connection the run keeps), writing
/// `info` as the owner record in the same step.
pub(crate) async fn try_take(client: &mut Client, ctx: &Ctx, info: &LockInfo) -> Result<Taken> {
    let tx = client
        .transaction()
        .await
        .map_err(ctx.db("start a transaction"))?;
    guard(&tx, ctx).await?;
    let got: bool = tx
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key::run(&ctx.stack)])
        .await
        .map_err(ctx.db("take the lock"))?
        .get(0);
    let found = record(&tx, ctx).await?;
    if !got {
        tx.commit().await.map_err(ctx.db("read the lock record"))?;
        return Ok(Taken::No { holder: found });
    }
    tx.execute(
        "INSERT INTO flinkform.locks (stack, id, operation, who, pid, created, backend_pid)
         VALUES ($1, $2, $3, $4, $5, $6, pg_backend_pid())
         ON CONFLICT (stack) DO UPDATE SET
             id = EXCLUDED.id, operation = EXCLUDED.operation, who = EXCLUDED.who,
             pid = EXCLUDED.pid, created = EXCLUDED.created,
             backend_pid = EXCLUDED.backend_pid",
        &[
            &ctx.stack,
            &info.id,
            &info.operation,
            &info.who,
            &i64::from(info.pid),
            &info.created,
        ],
    )
    .await
    .map_err(ctx.db("write the lock record"))?;
    // Should the commit fail, the caller drops this connection, which releases the lock.
    tx.commit().await.map_err(ctx.db("write the lock record"))?;
    Ok(Taken::Yes { stale: found })
}

/// Releases the run lock held by `client` and deletes its record `id`.
pub(crate) async fn release(client: &mut Client, ctx: &Ctx, id: &str) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(ctx.db("start a transaction"))?;
    guard(&tx, ctx).await?;
    tx.execute(
        "DELETE FROM flinkform.locks WHERE stack = $1 AND id = $2",
        &[&ctx.stack, &id],
    )
    .await
    .map_err(ctx.db("delete the lock record"))?;
    tx.execute("SELECT pg_advisory_unlock($1)", &[&key::run(&ctx.stack)])
        .await
        .map_err(ctx.db("release the lock"))?;
    tx.commit().await.map_err(ctx.db("release the lock"))
}

/// Who holds the lock: free, held by a live connection, or a record left by a dead one.
pub(crate) async fn status(client: &mut Client, ctx: &Ctx) -> Result<LockStatus> {
    let tx = client
        .transaction()
        .await
        .map_err(ctx.db("start a transaction"))?;
    guard(&tx, ctx).await?;
    let found = record(&tx, ctx).await?;
    let live = held(&tx, ctx).await?;
    tx.commit().await.map_err(ctx.db("read the lock"))?;
    Ok(match (found, live) {
        (None, false) => LockStatus::Free,
        (Some(info), false) => LockStatus::Stale(info),
        (found, true) => LockStatus::Held(found.unwrap_or_else(unknown_holder)),
    })
}

/// What `force_unlock` found.
pub(crate) enum Forced {
    /// The stale record `id` is deleted.
    Cleared(LockInfo),
    /// There is no record.
    NotLocked,
    /// The record has another id.
    OtherId,
    /// A live connection holds the lock.
    StillHeld(LockInfo),
}

/// Deletes the record `id` when no live connection holds the lock.
pub(crate) async fn force(client: &mut Client, ctx: &Ctx, id: &str) -> Result<Forced> {
    let tx = client
        .transaction()
        .await
        .map_err(ctx.db("start a transaction"))?;
    guard(&tx, ctx).await?;
    let Some(info) = record(&tx, ctx).await? else {
        return Ok(Forced::NotLocked);
    };
    if info.id != id {
        return Ok(Forced::OtherId);
    }
    if held(&tx, ctx).await? {
        return Ok(Forced::StillHeld(info));
    }
    tx.execute(
        "DELETE FROM flinkform.locks WHERE stack = $1 AND id = $2",
        &[&ctx.stack, &id],
    )
    .await
    .map_err(ctx.db("delete the lock record"))?;
    tx.commit()
        .await
        .map_err(ctx.db("delete the lock record"))?;
    Ok(Forced::Cleared(info))
}

/// The record shown for a held lock without one.
pub(crate) fn unknown_holder() -> LockInfo {
    LockInfo {
        id: "(unknown)".to_owned(),
        operation: "(unknown)".to_owned(),
        who: "(unknown)".to_owned(),
        pid: 0,
        created: "(unknown)".to_owned(),
    }
}
