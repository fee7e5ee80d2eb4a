//! Errors of the state crate: reading, writing and locking state, and the target rule.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with state.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// A file system operation failed.
    #[error("could not {action} `{path}`: {source}")]
    #[diagnostic(
        code(state::io),
        help("check that the path exists and that you may read and write it")
    )]
    Io {
        /// What was being done (`read`, `write`, `rename`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The state file is not valid JSON or does not have the state format's shape.
    #[error("`{path}` is not a valid flinkform state file: {reason}")]
    #[diagnostic(
        code(state::corrupt),
        help("the previous version is kept next to it as `{}.backup`; inspect both before restoring one", path.display())
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The state file has a `format_version` this build does not know.
    #[error(
        "`{path}` has state format version {version}, written by a newer flinkform (this one reads version {supported})"
    )]
    #[diagnostic(
        code(state::too_new),
        help("upgrade flinkform; never edit the file down by hand")
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u64,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// Another process holds the state lock.
    #[error(
        "state `{path}` is locked by {who} (pid {pid}) running `{operation}` since {created} (lock id {id})"
    )]
    #[diagnostic(
        code(state::locked),
        help("wait for it to finish; if that process is gone, run `flinkform force-unlock {id}`")
    )]
    StateLocked {
        /// The state file.
        path: PathBuf,
        /// Lock id of the holder.
        id: String,
        /// What the holder is doing.
        operation: String,
        /// `user@host` of the holder.
        who: String,
        /// Process id of the holder.
        pid: u32,
        /// When it took the lock (RFC 3339).
        created: String,
    },

    /// `force-unlock` was given an id that is not the recorded lock's. The recorded id is not
    /// named: knowing it is what shows the caller means this lock.
    #[error("lock id `{given}` does not match the current lock of `{path}`")]
    #[diagnostic(
        code(state::lock_id_mismatch),
        help(
            "use the lock id named by the command that found the lock: its `state is locked` error, or its warning about a lock left behind by a process that died; run that command again to see it"
        )
    )]
    LockIdMismatch {
        /// The state file.
        path: PathBuf,
        /// The id given.
        given: String,
    },

    /// `force-unlock` found no lock information.
    #[error("state `{path}` is not locked")]
    #[diagnostic(code(state::not_locked))]
    NotLocked {
        /// The state file.
        path: PathBuf,
    },

    /// `force-unlock` on a lock whose holder is still alive.
    #[error(
        "the lock on `{path}` is held by a running process: {who} (pid {pid}) running `{operation}`"
    )]
    #[diagnostic(
        code(state::lock_held),
        help(
            "the operating system releases the lock when that process exits; stop it (or wait for it) instead of forcing"
        )
    )]
    LockStillHeld {
        /// The state file.
        path: PathBuf,
        /// `user@host` of the holder.
        who: String,
        /// Process id of the holder.
        pid: u32,
        /// What the holder is doing.
        operation: String,
    },

    /// A write would replace a state of another lineage.
    #[error("refusing to write state of lineage {given} over `{path}`, which has lineage {file}")]
    #[diagnostic(
        code(state::lineage_mismatch),
        help(
            "a lineage identifies one state from its first write on; states of different lineages describe different resources"
        )
    )]
    LineageMismatch {
        /// The state file.
        path: PathBuf,
        /// Lineage in the file.
        file: String,
        /// Lineage of the state being written.
        given: String,
    },

    /// The state belongs to another cloud, emulator world or account.
    #[error("this state belongs to {recorded}, but the current target is {current}: {reason}")]
    #[diagnostic(
        code(state::wrong_target),
        help(
            "a state belongs to exactly one cloud (emulator world or Alibaba Cloud) and one UID per account; use the state file made for this target, or another state path"
        )
    )]
    TargetMismatch {
        /// The state's target, rendered.
        recorded: String,
        /// The current target, rendered.
        current: String,
        /// The first difference found.
        reason: String,
    },

    /// `replace` (`state push`) of a state that is not newer than the stored one.
    #[error(
        "refusing to replace state serial {stored} with serial {given}: the pushed state is not newer"
    )]
    #[diagnostic(
        code(state::stale_serial),
        help(
            "pull the current state (`flinkform state pull`), apply your edits to it, and push that; or pass `--force` to overwrite it anyway"
        )
    )]
    StaleSerial {
        /// The serial stored now.
        stored: u64,
        /// The serial of the state given.
        given: u64,
    },

    /// `read_serial` of a version the backend does not keep.
    #[error("state serial {serial} is not kept by {backend}: {reason}")]
    #[diagnostic(
        code(state::serial_not_kept),
        help("`flinkform state history` lists the serials that are kept")
    )]
    SerialNotKept {
        /// The serial asked for.
        serial: u64,
        /// The backend (`Backend::describe`).
        backend: String,
        /// Why it is not kept.
        reason: String,
    },

    /// The state could not be encoded (never expected: every field is plain data).
    #[error("could not encode the state as JSON: {0}")]
    #[diagnostic(code(state::encode))]
    Encode(#[source] serde_json::Error),
}
