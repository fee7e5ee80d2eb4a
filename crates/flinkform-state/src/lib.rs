//! State: what flinkform remembers about the resources it manages, the versioned file format
//! that stores it (`specs/state-format.md`), and the backends that keep it.
//!
//! - [`State`] is the domain model (lineage, serial, target, resources, intent journal) and
//!   [`State::check_target`] enforces that a state is only ever applied to its own cloud.
//! - [`Backend`] / [`Session`] ([`backend`]) is the contract every place that keeps state
//!   implements; a commit is a list of [`Change`]s, persisted in O(change).
//! - [`format`] holds the snapshot type [`StateFileV1`] and [`format::encode`] /
//!   [`format::decode`]; [`journal`] the local journal's lines.
//! - [`LocalBackend`] keeps the state in `.flinkform/state.json` plus an append-only
//!   journal, locked by [`StateLock`] (its [`Session`]); [`MemoryBackend`] keeps it in memory.
//! - [`StateSink`] is the executor's interface to a session; [`MemorySink`] a bare one.
//! - [`conformance`] is the test suite every backend passes.
//!
//! No network: backends that need one live elsewhere.

pub mod backend;
pub mod conformance;
mod error;
pub mod format;
pub mod journal;
mod local;
mod memory;
mod model;
mod session;
mod sink;
mod store;
mod undo;

pub use backend::{Backend, Change, HistoryEntry, Session};
pub use error::{Error, Result};
pub use format::{FORMAT_VERSION, GateV1, StateFileV1};
pub use local::{COMPACT_FLOOR, DEFAULT_STATE_PATH, LocalBackend, LockInfo, LockStatus, StateLock};
pub use memory::{MemoryBackend, MemorySession};
pub use model::{Intent, IntentOp, Lineage, State, WaitingGate, describe_target, now_rfc3339};
pub use sink::{MemorySink, StateSink};
pub use undo::Undo;
