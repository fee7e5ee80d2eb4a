//! [`StateSink`]: how the executor reads and durably changes state while it runs. Every
//! [`Session`] is one (through `Box<dyn Session>`), and [`MemorySink`] is a bare in-memory one
//! for tests and benchmarks.

use async_trait::async_trait;

use crate::backend::{Change, Session};
use crate::error::Result;
use crate::local::StateLock;
use crate::model::State;

/// The executor's view of state: the current content, and durable changes to it.
///
/// `commit` persists the changes as one step before it returns; when it fails, the
/// in-memory state is left as it was before the call.
#[async_trait]
pub trait StateSink: Send {
    /// The current state (as of the last successful commit).
    fn state(&self) -> &State;

    /// Applies `changes` in order and persists them as one step.
    ///
    /// # Errors
    /// When they cannot be persisted.
    async fn commit(&mut self, changes: Vec<Change>) -> Result<()>;
}

#[async_trait]
impl StateSink for Box<dyn Session> {
    fn state(&self) -> &State {
        (**self).state()
    }

    async fn commit(&mut self, changes: Vec<Change>) -> Result<()> {
        (**self).commit(changes).await
    }
}

#[async_trait]
impl StateSink for StateLock {
    fn state(&self) -> &State {
        self.current()
    }

    async fn commit(&mut self, changes: Vec<Change>) -> Result<()> {
        self.commit_changes(&changes)
    }
}

/// A state kept only in memory (tests, benchmarks). Commits never fail; they bump the serial
/// the way a backend does (only when the content changed) and are counted.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    state: State,
    commits: u64,
}

impl MemorySink {
    /// Starts from `state`.
    #[must_use]
    pub fn new(state: State) -> Self {
        Self { state, commits: 0 }
    }

    /// How many commits changed the content.
    #[must_use]
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// The final state.
    #[must_use]
    pub fn into_state(self) -> State {
        self.state
    }
}

#[async_trait]
impl StateSink for MemorySink {
    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(&mut self, changes: Vec<Change>) -> Result<()> {
        let undo = self.state.apply_tracked(&changes);
        if undo.changed(&self.state) {
            self.state.serial += 1;
            self.commits += 1;
        }
        Ok(())
    }
}
