//! State: what flinkform remembers about the resources it manages, the versioned file format
//! that stores it (`specs/state-format.md`), and the local backend with its OS file lock.
//!
//! - [`State`] is the domain model (lineage, serial, target, resources, intent journal) and
//!   [`State::check_target`] enforces that a state is only ever applied to its own cloud.
//! - [`format`] holds the on-disk type [`StateFileV1`] and [`format::encode`] /
//!   [`format::decode`].
//! - [`LocalBackend`] keeps the state in `.flinkform/state.json`, locked by [`StateLock`],
//!   written atomically.
//! - [`StateSink`] is the executor's interface to state, implemented by [`LockedState`] and
//!   [`MemorySink`].
//!
//! No async and no network: backends that need them live elsewhere.

pub mod backend;
mod error;
pub mod format;
mod local;
mod model;
mod sink;

pub use backend::{Backend, Change, HistoryEntry, Session};
pub use error::{Error, Result};
pub use format::{FORMAT_VERSION, GateV1, StateFileV1};
pub use local::{DEFAULT_STATE_PATH, LocalBackend, LockInfo, LockStatus, StateLock};
pub use model::{Intent, IntentOp, Lineage, State, WaitingGate, describe_target, now_rfc3339};
pub use sink::{LockedState, MemorySink, StateSink};
