//! The state backend contract: what every place that keeps state (the local file, PostgreSQL)
//! provides, and the unit it persists, a [`Change`].
//!
//! A run takes the lock ([`Backend::lock`]) and gets a [`Session`]: the state as read under
//! the lock, and [`Session::commit`], which makes a list of changes durable as one step with
//! one new serial. Because a commit carries only what changed (a resource recorded, an
//! intent begun or ended), a backend persists O(change) per action, not O(state).
//!
//! # Guarantees (every backend; `crate::conformance` tests them)
//! - A commit is atomic: after a crash at any point, a read sees the state before the commit
//!   or after it, never a part of it.
//! - A commit whose changes leave the content as it was writes nothing and keeps the serial;
//!   any other commit bumps the serial by exactly one.
//! - The lock is exclusive per stack: a second `lock` waits up to its timeout, then fails with
//!   the holder's owner information; a holder that died leaves a lock that is free again
//!   (reported as stale), and `force_unlock` needs the holder's lock id.
//! - A state never changes lineage by a commit; `replace` of another lineage or an older
//!   serial is refused unless forced.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use flinkform_core::{Address, RecordedResource, Target};

use crate::error::Result;
use crate::local::{LockInfo, LockStatus};
use crate::model::{Intent, State, WaitingGate};

/// One change to a state. A commit is a list of changes applied in order, as one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Records (or replaces) a resource.
    Record(RecordedResource),
    /// Drops a resource.
    Remove(Address),
    /// Adds an intent to the journal (replacing one with the same id).
    BeginIntent(Intent),
    /// Removes the intent with this id (its outcome is recorded).
    EndIntent(u64),
    /// Removes every intent of this address.
    EndIntentsOf(Address),
    /// Records a gate the apply stopped at, by input name.
    SetGate {
        /// The input name (`verify-email.observability`).
        name: String,
        /// The gate.
        gate: WaitingGate,
    },
    /// Drops the gate with this input name.
    RemoveGate(String),
    /// Drops every gate of this address.
    RemoveGatesOf(Address),
    /// Sets the cloud and accounts the state belongs to.
    SetTarget(Target),
}

impl Change {
    /// The address this change is about, if it is about one resource.
    #[must_use]
    pub fn addr(&self) -> Option<&Address> {
        match self {
            Self::Record(r) => Some(&r.addr),
            Self::Remove(a) | Self::EndIntentsOf(a) | Self::RemoveGatesOf(a) => Some(a),
            Self::BeginIntent(i) => Some(&i.addr),
            Self::SetGate { gate, .. } => Some(&gate.addr),
            Self::EndIntent(_) | Self::RemoveGate(_) | Self::SetTarget(_) => None,
        }
    }
}

impl State {
    /// Applies one change in memory (no IO). Costs O(log n) in the number of resources, and
    /// O(journal) for intent changes (the journal holds the calls in flight only).
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Record(r) => self.record(r.clone()),
            Change::Remove(a) => {
                self.remove(a);
            }
            Change::BeginIntent(i) => self.push_intent(i.clone()),
            Change::EndIntent(id) => {
                self.end_intent(*id);
            }
            Change::EndIntentsOf(a) => self.journal.retain(|i| &i.addr != a),
            Change::SetGate { name, gate } => {
                self.gates.insert(name.clone(), gate.clone());
            }
            Change::RemoveGate(name) => {
                self.gates.remove(name);
            }
            Change::RemoveGatesOf(a) => self.gates.retain(|_, g| &g.addr != a),
            Change::SetTarget(t) => self.target = Some(t.clone()),
        }
    }

    /// Applies `changes` in order; returns whether the content changed.
    pub fn apply_all(&mut self, changes: &[Change]) -> bool {
        let mut changed = false;
        for c in changes {
            changed |= self.would_change(c);
            self.apply(c);
        }
        changed
    }

    /// Whether applying `change` would change the content.
    #[must_use]
    pub fn would_change(&self, change: &Change) -> bool {
        match change {
            Change::Record(r) => self.resources.get(&r.addr) != Some(r),
            Change::Remove(a) => self.resources.contains_key(a),
            Change::BeginIntent(i) => !self.journal.contains(i),
            Change::EndIntent(id) => self.journal.iter().any(|i| i.id == *id),
            Change::EndIntentsOf(a) => self.journal.iter().any(|i| &i.addr == a),
            Change::SetGate { name, gate } => self.gates.get(name) != Some(gate),
            Change::RemoveGate(name) => self.gates.contains_key(name),
            Change::RemoveGatesOf(a) => self.gates.values().any(|g| &g.addr == a),
            Change::SetTarget(t) => self.target.as_ref() != Some(t),
        }
    }
}

/// One kept version of a state (`flinkform state history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The serial this version has.
    pub serial: u64,
    /// When it was written (RFC 3339, UTC).
    pub written_at: String,
    /// The command that wrote it (`apply`, `state rm`, …) and who ran it (`user@host`).
    pub operation: String,
    /// `user@host`.
    pub who: String,
    /// Addresses the write changed (empty for a whole-state write such as `state push`).
    pub changed: BTreeSet<Address>,
}

/// Where a stack's state is kept.
#[async_trait]
pub trait Backend: Send + Sync {
    /// For messages: `local file .flinkform/state.json`, `postgres stack prod on db.example/flinkform`.
    fn describe(&self) -> String;

    /// Reads the current state without locking (read-only commands). A stack never written
    /// is an empty state with a fresh lineage and serial 0.
    ///
    /// # Errors
    /// When the backend cannot be read or holds an invalid state.
    async fn read(&self) -> Result<State>;

    /// Takes the stack's lock for `operation`, waiting up to `timeout` (zero: fail at once)
    /// while another holder has it, and reads the state under it.
    ///
    /// # Errors
    /// `Error::StateLocked` naming the holder when the timeout passes.
    async fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Session>>;

    /// Who holds the lock, if anyone.
    ///
    /// # Errors
    /// When the backend cannot be read.
    async fn lock_status(&self) -> Result<LockStatus>;

    /// Releases the lock `id` left by a holder that is gone; returns its owner information.
    ///
    /// # Errors
    /// When it is not locked, the id differs, or the holder is still running.
    async fn force_unlock(&self, id: &str) -> Result<LockInfo>;

    /// The versions kept, oldest first.
    ///
    /// # Errors
    /// When the backend cannot be read.
    async fn history(&self) -> Result<Vec<HistoryEntry>>;

    /// The state as it was at `serial`.
    ///
    /// # Errors
    /// `Error::SerialNotKept` when that version is not kept.
    async fn read_serial(&self, serial: u64) -> Result<State>;
}

/// A held lock on one stack, with the state as of the last commit.
#[async_trait]
pub trait Session: Send + Sync {
    /// This lock's owner information.
    fn info(&self) -> &LockInfo;

    /// Owner information a dead holder had left before this lock was taken.
    fn stale_predecessor(&self) -> Option<&LockInfo>;

    /// The state as of the last successful commit.
    fn state(&self) -> &State;

    /// Makes `changes` durable as one step with one new serial (none when the content stays
    /// the same). On error the in-memory state is as before the call.
    ///
    /// # Errors
    /// When the changes cannot be persisted.
    async fn commit(&mut self, changes: Vec<Change>) -> Result<()>;

    /// Replaces the whole content (`state push`, migrations). Refuses another lineage
    /// (`Error::LineageMismatch`) or a serial not newer than the stored one
    /// (`Error::StaleSerial`) unless `force`; a stack never written (serial 0) takes any
    /// lineage. The stored serial becomes `max(state.serial, stored + 1)`: a replace is
    /// always a new serial, and a forced older state never reuses a serial already written.
    ///
    /// # Errors
    /// `Error::LineageMismatch`, `Error::StaleSerial`, or when it cannot be persisted.
    async fn replace(&mut self, state: State, force: bool) -> Result<()>;

    /// Ends the run: compacts what the run wrote (where the backend does that) and releases
    /// the lock. Dropping a session without `finish` releases the lock too, without compaction.
    ///
    /// # Errors
    /// When compaction fails (the committed changes are durable regardless).
    async fn finish(self: Box<Self>) -> Result<()>;
}
