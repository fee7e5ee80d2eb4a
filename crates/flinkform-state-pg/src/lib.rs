//! flinkform state in PostgreSQL (`specs/state-postgres.md`): one job, keeping the state of
//! many stacks in one database, behind the [`flinkform_state::Backend`] contract.
//!
//! - [`PgUrl`] is the state URL, `postgres://USER@HOST/DB?stack=NAME` (`url.rs`).
//! - `schema.rs` migrates the database on first connect (embedded, versioned SQL in
//!   `migrations/`, recorded in `flinkform.migrations`).
//! - One row per resource, intent and gate; [`flinkform_state::Session::commit`] writes the
//!   rows a commit changes, bumps the stack's serial and appends a history row, all in one
//!   transaction (`session.rs`): O(change), whatever the size of the stack.
//! - The run lock is a session-level advisory lock on a connection the run keeps, with an
//!   owner row; a dead holder's connection closes and its lock with it (`lock.rs`).
//! - Every serial is kept in `flinkform.history` (the changes of each commit, the whole
//!   state of each replace); `read_serial` replays them (`store.rs`).
//! - `testing` (feature `testing`) starts a throwaway PostgreSQL server for tests.
//!
//! Connections: a small pool (deadpool-postgres) for reads, plus one dedicated connection
//! per held lock, which every commit of that run goes through.

mod codec;
mod error;
mod key;
mod lock;
mod schema;
mod session;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod url;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use flinkform_state::{
    Backend, Error as StateError, HistoryEntry, LockInfo, LockStatus, Result as StateResult,
    Session, State, now_rfc3339,
};
use tokio_postgres::{Client, IsolationLevel, NoTls};

pub use error::{Error, Result};
pub use schema::SCHEMA_VERSION;
pub use url::{DEFAULT_STACK, PgUrl, StackName};

use crate::session::PgSession;
use crate::store::Ctx;

/// Connections the pool keeps at most (a CLI run reads through one or two; the run lock
/// has its own connection besides).
const POOL_SIZE: usize = 4;

/// The first pause between two tries to take a held lock; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// A stack's state in a PostgreSQL database.
pub struct PgBackend {
    url: PgUrl,
    pool: Pool,
    describe: String,
    /// Set once the schema is known to be current.
    migrated: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// A backend for the database and stack `url` names. Connects lazily: the first
    /// operation connects and brings the database's schema up to date.
    ///
    /// # Errors
    /// [`Error::Pool`] when the pool cannot be set up.
    pub fn new(url: PgUrl) -> Result<Self> {
        let manager = Manager::from_config(
            url.config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::Pool {
                target: url.target().to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            describe: format!("postgres stack {} on {}", url.stack(), url.target()),
            url,
            pool,
            migrated: tokio::sync::OnceCell::new(),
        })
    }

    /// Parses `url` ([`PgUrl`]) and makes a [`PgBackend::new`].
    ///
    /// # Errors
    /// [`Error::Url`], [`Error::StackName`], [`Error::Pool`].
    pub fn open(url: &str) -> Result<Self> {
        Self::new(url.parse()?)
    }

    /// Connects now and brings the database's schema up to date (what the first operation
    /// does otherwise), to report an unreachable database before anything else.
    ///
    /// # Errors
    /// [`Error::Database`] / [`Error::Pool`] when it cannot connect or migrate,
    /// [`Error::SchemaTooNew`].
    pub async fn connect(&self) -> Result<()> {
        drop(self.pooled().await?);
        Ok(())
    }

    /// The URL this backend was opened with.
    #[must_use]
    pub fn url(&self) -> &PgUrl {
        &self.url
    }

    /// The stacks this database holds a state of, by name.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Pool`].
    pub async fn stacks(&self) -> Result<Vec<String>> {
        let client = self.pooled().await?;
        let ctx = self.ctx();
        let rows = client
            .query("SELECT name FROM flinkform.stacks ORDER BY name", &[])
            .await
            .map_err(ctx.db("list the stacks"))?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            target: self.url.target().to_owned(),
            stack: self.url.stack().as_str().to_owned(),
        }
    }

    /// A pooled connection, the schema migrated first if this backend has not checked it yet.
    async fn pooled(&self) -> Result<deadpool_postgres::Object> {
        let mut client = self.raw_pooled().await?;
        self.migrated
            .get_or_try_init(|| schema::migrate(&mut client, self.url.target()))
            .await?;
        Ok(client)
    }

    async fn raw_pooled(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            let reason = match &e {
                deadpool_postgres::PoolError::Backend(source) => error::db_reason(source),
                other => other.to_string(),
            };
            Error::Pool {
                target: self.url.target().to_owned(),
                reason,
            }
        })
    }

    /// A connection of its own, outside the pool: the one a run lock lives on.
    async fn dedicated(&self) -> Result<Client> {
        let ctx = self.ctx();
        let (client, connection) = self
            .url
            .config
            .connect(NoTls)
            .await
            .map_err(ctx.db("connect"))?;
        tokio::spawn(async move {
            // Ends when the client is dropped or the server goes away; either way the
            // session's advisory lock is gone with it.
            let _ = connection.await;
        });
        Ok(client)
    }

    fn err(&self, action: &str) -> impl FnOnce(Error) -> StateError + use<> {
        let describe = self.describe.clone();
        let action = action.to_owned();
        move |e| e.into_state(&describe, &action)
    }

    async fn read_current(&self) -> Result<Option<State>> {
        let ctx = self.ctx();
        let mut client = self.pooled().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(ctx.db("start a transaction"))?;
        let state = store::load(&*tx, &ctx).await?;
        tx.commit().await.map_err(ctx.db("read the state"))?;
        Ok(state)
    }

    async fn take(
        &self,
        operation: &str,
        timeout: Duration,
    ) -> StateResult<Result<PgSession, LockInfo>> {
        let ctx = self.ctx();
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            who: who(),
            pid: std::process::id(),
            created: now_rfc3339(),
        };
        session::settle(&self.describe).await;
        // The schema first: the dedicated connection does not go through the pool.
        drop(self.pooled().await.map_err(self.err("lock"))?);
        let mut client = self.dedicated().await.map_err(self.err("lock"))?;
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_PAUSE;
        let stale = loop {
            match lock::try_take(&mut client, &ctx, &info)
                .await
                .map_err(self.err("lock"))?
            {
                lock::Taken::Yes { stale } => break stale,
                lock::Taken::No { holder } => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(Err(holder.unwrap_or_else(lock::unknown_holder)));
                    }
                    tokio::time::sleep(pause.min(deadline - now)).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
            }
        };
        // The lock is held: nobody writes this stack but us from here on.
        let state = store::load(&client, &ctx)
            .await
            .map_err(self.err("read the state"))?
            .unwrap_or_default();
        Ok(Ok(PgSession {
            client: Some(client),
            ctx,
            describe: self.describe.clone(),
            info,
            stale,
            state,
            stmts: std::collections::HashMap::new(),
        }))
    }
}

#[async_trait]
impl Backend for PgBackend {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn read(&self) -> StateResult<State> {
        Ok(self
            .read_current()
            .await
            .map_err(self.err("read the state"))?
            .unwrap_or_default())
    }

    async fn lock(&self, operation: &str, timeout: Duration) -> StateResult<Box<dyn Session>> {
        match self.take(operation, timeout).await? {
            Ok(session) => Ok(Box::new(session)),
            Err(holder) => Err(StateError::StateLocked {
                path: self.describe.clone().into(),
                id: holder.id,
                operation: holder.operation,
                who: holder.who,
                pid: holder.pid,
                created: holder.created,
            }),
        }
    }

    async fn lock_status(&self) -> StateResult<LockStatus> {
        session::settle(&self.describe).await;
        let ctx = self.ctx();
        let result: Result<LockStatus> = async {
            let mut client = self.pooled().await?;
            lock::status(&mut client, &ctx).await
        }
        .await;
        result.map_err(self.err("read the lock"))
    }

    async fn force_unlock(&self, id: &str) -> StateResult<LockInfo> {
        session::settle(&self.describe).await;
        let ctx = self.ctx();
        let result: Result<lock::Forced> = async {
            let mut client = self.pooled().await?;
            lock::force(&mut client, &ctx, id).await
        }
        .await;
        let path: std::path::PathBuf = self.describe.clone().into();
        match result.map_err(self.err("force the lock open"))? {
            lock::Forced::Cleared(info) => Ok(info),
            lock::Forced::NotLocked => Err(StateError::NotLocked { path }),
            lock::Forced::OtherId => Err(StateError::LockIdMismatch {
                path,
                given: id.to_owned(),
            }),
            lock::Forced::StillHeld(info) => Err(StateError::LockStillHeld {
                path,
                who: info.who,
                pid: info.pid,
                operation: info.operation,
            }),
        }
    }

    async fn history(&self) -> StateResult<Vec<HistoryEntry>> {
        let ctx = self.ctx();
        let result: Result<Vec<HistoryEntry>> = async {
            let client = self.pooled().await?;
            store::history(&**client, &ctx).await
        }
        .await;
        result.map_err(self.err("read the history"))
    }

    async fn read_serial(&self, serial: u64) -> StateResult<State> {
        let ctx = self.ctx();
        let result: Result<Option<State>> = async {
            let client = self.pooled().await?;
            store::at_serial(&**client, &ctx, serial, &self.describe).await
        }
        .await;
        result
            .map_err(self.err("read the history"))?
            .ok_or_else(|| StateError::SerialNotKept {
                serial,
                backend: self.describe.clone(),
                reason: format!(
                    "the history of stack `{}` has no version {serial}",
                    self.url.stack()
                ),
            })
    }
}

/// `user@host` of this process.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!("{user}@{host}")
}
