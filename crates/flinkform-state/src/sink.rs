//! [`StateSink`]: how the executor reads and durably changes state while it runs, with an
//! implementation over a held [`StateLock`] and an in-memory one.

use crate::error::Result;
use crate::local::StateLock;
use crate::model::State;

/// The executor's view of state: the current content, and durable changes to it.
///
/// `commit` calls `f` exactly once on a copy of the state and persists the result before it
/// returns; when it fails, the in-memory state is left as it was before the call.
pub trait StateSink: Send {
    /// The current state (as of the last successful commit).
    fn state(&self) -> &State;

    /// Applies `f` and persists the result.
    ///
    /// # Errors
    /// When the result cannot be persisted.
    fn commit(&mut self, f: &mut dyn FnMut(&mut State)) -> Result<()>;
}

/// A state read under a held lock; every commit is an atomic write through the lock.
#[derive(Debug)]
pub struct LockedState {
    lock: StateLock,
    state: State,
}

impl LockedState {
    /// Reads the state through `lock`.
    ///
    /// # Errors
    /// See [`StateLock::read`].
    pub fn new(mut lock: StateLock) -> Result<Self> {
        let state = lock.read()?;
        Ok(Self { lock, state })
    }

    /// The lock (e.g. to show its id).
    #[must_use]
    pub fn lock(&self) -> &StateLock {
        &self.lock
    }

    /// Gives back the final state and the lock.
    #[must_use]
    pub fn into_parts(self) -> (State, StateLock) {
        (self.state, self.lock)
    }
}

impl StateSink for LockedState {
    fn state(&self) -> &State {
        &self.state
    }

    fn commit(&mut self, f: &mut dyn FnMut(&mut State)) -> Result<()> {
        let mut next = self.state.clone();
        f(&mut next);
        self.lock.write(&next)?;
        next.serial = self.lock.serial();
        self.state = next;
        Ok(())
    }
}

/// A state kept only in memory (tests, dry runs). Commits never fail; they bump the serial
/// the way a file write would (only when the content changed) and are counted.
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

impl StateSink for MemorySink {
    fn state(&self) -> &State {
        &self.state
    }

    fn commit(&mut self, f: &mut dyn FnMut(&mut State)) -> Result<()> {
        let mut next = self.state.clone();
        f(&mut next);
        if !next.same_content(&self.state) {
            next.serial = self.state.serial + 1;
            self.commits += 1;
        }
        self.state = next;
        Ok(())
    }
}
