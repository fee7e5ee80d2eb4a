//! An in-memory [`Backend`] for tests: every version kept, a lock with owner information
//! and timeout, the same rules as the stored backends. Objects made by
//! [`MemoryBackend::clone`] share one stack, as two processes opening one stack would.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::{Backend, Change, HistoryEntry, Session};
use crate::error::{Error, Result};
use crate::local::{LockInfo, LockStatus, who};
use crate::model::{State, now_rfc3339};

#[derive(Debug, Default)]
struct Inner {
    /// Every version written, oldest first (empty: never written).
    versions: Vec<(State, HistoryEntry)>,
    /// The holder of the lock.
    holder: Option<LockInfo>,
    /// What a holder that died left behind.
    stale: Option<LockInfo>,
    /// The lineage a never-written stack reads with (stable per stack).
    fresh: State,
}

/// A stack kept in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

fn locked(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryBackend {
    /// An empty stack.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Test support: leaves the lock as a holder that died holding it would, and returns its
    /// owner information.
    pub fn leave_dead_holder(&self) -> LockInfo {
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: "apply".to_owned(),
            who: "ci@dead-runner".to_owned(),
            pid: 4_000_000,
            created: now_rfc3339(),
        };
        locked(&self.inner).stale = Some(info.clone());
        info
    }

    fn current(inner: &Inner) -> State {
        inner
            .versions
            .last()
            .map_or_else(|| inner.fresh.clone(), |(s, _)| s.clone())
    }

    fn locked_error(holder: &LockInfo) -> Error {
        Error::StateLocked {
            path: "(memory)".into(),
            id: holder.id.clone(),
            operation: holder.operation.clone(),
            who: holder.who.clone(),
            pid: holder.pid,
            created: holder.created.clone(),
        }
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    async fn read(&self) -> Result<State> {
        Ok(Self::current(&locked(&self.inner)))
    }

    async fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Session>> {
        let start = Instant::now();
        loop {
            {
                let mut inner = locked(&self.inner);
                match &inner.holder {
                    None => {
                        let info = LockInfo {
                            id: uuid::Uuid::new_v4().to_string(),
                            operation: operation.to_owned(),
                            who: who(),
                            pid: std::process::id(),
                            created: now_rfc3339(),
                        };
                        inner.holder = Some(info.clone());
                        let stale = inner.stale.take();
                        let state = Self::current(&inner);
                        return Ok(Box::new(MemorySession {
                            backend: self.clone(),
                            info,
                            stale,
                            state,
                        }));
                    }
                    Some(holder) => {
                        if start.elapsed() >= timeout {
                            return Err(Self::locked_error(holder));
                        }
                    }
                }
            }
            let left = timeout.saturating_sub(start.elapsed());
            tokio::time::sleep(left.min(Duration::from_millis(5))).await;
        }
    }

    async fn lock_status(&self) -> Result<LockStatus> {
        let inner = locked(&self.inner);
        Ok(match (&inner.holder, &inner.stale) {
            (Some(h), _) => LockStatus::Held(h.clone()),
            (None, Some(s)) => LockStatus::Stale(s.clone()),
            (None, None) => LockStatus::Free,
        })
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo> {
        let mut inner = locked(&self.inner);
        let path = std::path::PathBuf::from("(memory)");
        if let Some(h) = &inner.holder {
            if h.id != id {
                return Err(Error::LockIdMismatch {
                    path,
                    given: id.to_owned(),
                });
            }
            return Err(Error::LockStillHeld {
                path,
                who: h.who.clone(),
                pid: h.pid,
                operation: h.operation.clone(),
            });
        }
        match inner.stale.take() {
            None => Err(Error::NotLocked { path }),
            Some(s) if s.id != id => {
                inner.stale = Some(s);
                Err(Error::LockIdMismatch {
                    path,
                    given: id.to_owned(),
                })
            }
            Some(s) => Ok(s),
        }
    }

    async fn history(&self) -> Result<Vec<HistoryEntry>> {
        Ok(locked(&self.inner)
            .versions
            .iter()
            .map(|(_, h)| h.clone())
            .collect())
    }

    async fn read_serial(&self, serial: u64) -> Result<State> {
        locked(&self.inner)
            .versions
            .iter()
            .find(|(s, _)| s.serial == serial)
            .map(|(s, _)| s.clone())
            .ok_or_else(|| Error::SerialNotKept {
                serial,
                backend: "memory".to_owned(),
                reason: "no such serial was written".to_owned(),
            })
    }
}

/// A held lock on a [`MemoryBackend`].
#[derive(Debug)]
pub struct MemorySession {
    backend: MemoryBackend,
    info: LockInfo,
    stale: Option<LockInfo>,
    state: State,
}

impl MemorySession {
    fn store(&self, changed: BTreeSet<flinkform_core::Address>) {
        let entry = HistoryEntry {
            serial: self.state.serial,
            written_at: now_rfc3339(),
            operation: self.info.operation.clone(),
            who: self.info.who.clone(),
            changed,
        };
        locked(&self.backend.inner)
            .versions
            .push((self.state.clone(), entry));
    }
}

#[async_trait]
impl Session for MemorySession {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn stale_predecessor(&self) -> Option<&LockInfo> {
        self.stale.as_ref()
    }

    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(&mut self, changes: Vec<Change>) -> Result<()> {
        let undo = self.state.apply_tracked(&changes);
        if undo.changed(&self.state) {
            self.state.serial += 1;
            self.store(changes.iter().filter_map(|c| c.addr().cloned()).collect());
        }
        Ok(())
    }

    async fn replace(&mut self, state: State, force: bool) -> Result<()> {
        let written = self.state.serial > 0;
        if written && !force {
            if state.lineage != self.state.lineage {
                return Err(Error::LineageMismatch {
                    path: "(memory)".into(),
                    file: self.state.lineage.to_string(),
                    given: state.lineage.to_string(),
                });
            }
            if state.serial <= self.state.serial {
                return Err(Error::StaleSerial {
                    stored: self.state.serial,
                    given: state.serial,
                });
            }
        }
        let serial = state.serial.max(self.state.serial + 1);
        self.state = state;
        self.state.serial = serial;
        self.store(BTreeSet::new());
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

impl Drop for MemorySession {
    fn drop(&mut self) {
        let mut inner = locked(&self.backend.inner);
        if inner.holder.as_ref().is_some_and(|h| h.id == self.info.id) {
            inner.holder = None;
        }
    }
}
