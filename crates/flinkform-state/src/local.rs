//! The local file backend: `.flinkform/state.json` (the snapshot, format v1), the journal
//! `state.json.journal` beside it (one appended, synced JSON line per commit, see
//! [`crate::journal`]), an OS file lock on `state.json.lock` with owner information, and
//! `state.json.backup`, the snapshot the run's first compaction replaced.
//!
//! A commit appends one line and syncs it: O(change) bytes per action. The snapshot is
//! rewritten (temp file, fsync, rename, fsync of the directory, then the journal truncated)
//! only when the journal outgrows it, at the end of a run whose journal is at least half the
//! snapshot, and by whole-state writes (`state push`). A crash between any two of these
//! writes leaves snapshot + journal equal to the state before or after each commit.
//!
//! The lock is `flock(2)` through std's `File::try_lock`: advisory, held by an open file
//! description, released by the OS when the holder exits however it exits. The lock file is
//! never deleted (deleting a locked file lets two processes lock two different inodes); an
//! empty lock file means free, and owner information left behind by a process that died is
//! reported as stale, not as held.
//!
//! The owner record and the lock change together: every step that takes or releases the lock,
//! or reads who holds it, runs under a second, short-lived lock on `state.json.lock.guard`
//! (a blocking `flock`, held only for those few file operations). A holder writes its record
//! before it lets go of the guard, and clears it before it unlocks, so whoever finds the lock
//! held reads the complete record of the process holding it, never a half-written one or the
//! record of the previous holder. Waiting for a held lock (`--lock-timeout`) retries that
//! step with a short, bounded backoff: a blocking `flock` would hold the guard meanwhile.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{State, now_rfc3339};
use crate::store::{self, Current};

/// Where the CLI keeps state by default, relative to the working directory.
pub const DEFAULT_STATE_PATH: &str = ".flinkform/state.json";

/// Who holds (or held) a state lock. Written as JSON into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random id; `flinkform force-unlock <id>` names the lock by it.
    pub id: String,
    /// The command that took it (`apply`, `destroy`, `state rm`, …).
    pub operation: String,
    /// `user@host`.
    pub who: String,
    /// Process id of the holder.
    pub pid: u32,
    /// When it was taken (RFC 3339, UTC).
    pub created: String,
}

/// What the lock file says right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockStatus {
    /// Nobody holds the lock and no owner information is left.
    Free,
    /// A running process holds the lock.
    Held(LockInfo),
    /// Nobody holds the lock, but a process that died while holding it left its information.
    Stale(LockInfo),
}

/// State kept in one JSON file on the local disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBackend {
    path: PathBuf,
    /// The journal is compacted during a run once it is larger than the snapshot and this.
    compact_floor: u64,
}

/// The default [`LocalBackend`] compaction floor: 256 KiB.
pub const COMPACT_FLOOR: u64 = 256 * 1024;

impl LocalBackend {
    /// A backend for `dir_or_path`: an existing directory means `<dir>/.flinkform/state.json`,
    /// anything else is the state file itself. Does no IO beyond checking for a directory.
    #[must_use]
    pub fn open(dir_or_path: impl AsRef<Path>) -> Self {
        let p = dir_or_path.as_ref();
        let path = if p.is_dir() {
            p.join(DEFAULT_STATE_PATH)
        } else {
            p.to_path_buf()
        };
        Self {
            path,
            compact_floor: COMPACT_FLOOR,
        }
    }

    /// Test support: compacts during a run once the journal is larger than the snapshot
    /// and `bytes` (default [`COMPACT_FLOOR`]), so that tests reach a compaction quickly.
    #[doc(hidden)]
    #[must_use]
    pub fn with_compact_floor(mut self, bytes: u64) -> Self {
        self.compact_floor = bytes;
        self
    }

    pub(crate) fn compact_floor(&self) -> u64 {
        self.compact_floor
    }

    /// The state file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file, `<state>.lock`.
    #[must_use]
    pub fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock")
    }

    /// The backup of the previous version, `<state>.backup`.
    #[must_use]
    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, ".backup")
    }

    /// The guard that makes taking the lock and writing its owner record one step,
    /// `<state>.lock.guard` (always empty).
    #[must_use]
    pub fn guard_path(&self) -> PathBuf {
        sibling(&self.path, ".lock.guard")
    }

    /// Takes the guard: blocks until no other process is taking, releasing or reading the
    /// lock. Released when the returned file is dropped.
    pub(crate) fn guard(&self) -> Result<File> {
        let path = self.guard_path();
        let guard = open_lock_file(&path)?;
        guard.lock().map_err(io_err("lock", &path))?;
        Ok(guard)
    }

    /// The temporary file a write goes through, `<state>.tmp`.
    #[must_use]
    pub fn temp_path(&self) -> PathBuf {
        sibling(&self.path, ".tmp")
    }

    /// Reads the state without locking (for read-only commands). A missing file is a new
    /// empty state with a fresh lineage and serial 0.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Corrupt`], [`Error::TooNew`].
    pub fn read(&self) -> Result<State> {
        Ok(store::load(self)?.state)
    }

    /// The journal of commits since the last compaction, `<state>.journal`.
    #[must_use]
    pub fn journal_path(&self) -> PathBuf {
        sibling(&self.path, ".journal")
    }

    /// Takes the state lock for `operation`, waiting up to `timeout` while another process
    /// holds it (retrying with a backoff of 10 ms doubling up to 250 ms).
    ///
    /// # Errors
    /// [`Error::StateLocked`] naming the holder once `timeout` has passed; [`Error::Io`].
    pub fn lock_wait(&self, operation: &str, timeout: Duration) -> Result<StateLock> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.lock(operation) {
                Err(e @ Error::StateLocked { .. }) => {
                    let left = timeout.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(e);
                    }
                    std::thread::sleep(backoff.min(left));
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// Takes the state lock for `operation`, or fails at once if another holder has it, and
    /// reads the state under it.
    ///
    /// # Errors
    /// [`Error::StateLocked`] with the holder's information; [`Error::Io`], and what
    /// [`LocalBackend::read`] fails with.
    pub fn lock(&self, operation: &str) -> Result<StateLock> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        }
        let lock_path = self.lock_path();
        let mut file = open_lock_file(&lock_path)?;
        let _guard = self.guard()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // Under the guard the holder's record is complete (a holder writes it before
                // releasing the guard); a missing one comes from a flinkform without the guard.
                let holder = read_info(&mut file).unwrap_or_else(unknown_holder);
                return Err(Error::StateLocked {
                    path: self.path.clone(),
                    id: holder.id,
                    operation: holder.operation,
                    who: holder.who,
                    pid: holder.pid,
                    created: holder.created,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        let stale = read_info(&mut file);
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            who: who(),
            pid: std::process::id(),
            created: now_rfc3339(),
        };
        if let Err(e) = write_info(&mut file, Some(&info)) {
            let _ = file.unlock();
            return Err(io_err("write", &lock_path)(e));
        }
        let mut lock = StateLock {
            file,
            info,
            stale,
            backend: self.clone(),
            cur: Current::default(),
            journal: None,
            compacted: false,
            faults: Faults::default(),
        };
        lock.cur = store::load(self)?.into_current();
        Ok(lock)
    }

    /// What the lock file says: free, held by a running process, or stale.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn lock_status(&self) -> Result<LockStatus> {
        let lock_path = self.lock_path();
        let mut file = match OpenOptions::new().read(true).write(true).open(&lock_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LockStatus::Free),
            Err(e) => return Err(io_err("open", &lock_path)(e)),
        };
        let _guard = self.guard()?;
        let info = read_info(&mut file);
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                Ok(info.map_or(LockStatus::Free, LockStatus::Stale))
            }
            Err(TryLockError::WouldBlock) => {
                Ok(LockStatus::Held(info.unwrap_or_else(unknown_holder)))
            }
            Err(TryLockError::Error(e)) => Err(io_err("lock", &lock_path)(e)),
        }
    }

    /// Clears the owner information of lock `id` left behind by a holder that is gone, and
    /// returns it. A lock held by a running process cannot be broken: the OS releases it
    /// when that process exits.
    ///
    /// # Errors
    /// [`Error::NotLocked`], [`Error::LockIdMismatch`], [`Error::LockStillHeld`], [`Error::Io`].
    pub fn force_unlock(&self, id: &str) -> Result<LockInfo> {
        let lock_path = self.lock_path();
        let mut file = match OpenOptions::new().read(true).write(true).open(&lock_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotLocked {
                    path: self.path.clone(),
                });
            }
            Err(e) => return Err(io_err("open", &lock_path)(e)),
        };
        let _guard = self.guard()?;
        let info = read_info(&mut file).ok_or_else(|| Error::NotLocked {
            path: self.path.clone(),
        })?;
        if info.id != id {
            // The recorded id is not repeated: it is what proves the caller read it from the
            // message of the command that found this lock.
            return Err(Error::LockIdMismatch {
                path: self.path.clone(),
                given: id.to_owned(),
            });
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::LockStillHeld {
                    path: self.path.clone(),
                    who: info.who,
                    pid: info.pid,
                    operation: info.operation,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        let cleared = write_info(&mut file, None).map_err(io_err("write", &lock_path));
        let _ = file.unlock();
        cleared?;
        Ok(info)
    }
}

/// The held state lock, with the state as of the last commit: the local backend's
/// [`crate::Session`]. Dropping it releases the lock and clears the owner information.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    info: LockInfo,
    stale: Option<LockInfo>,
    pub(crate) backend: LocalBackend,
    pub(crate) cur: Current,
    /// The journal, once opened for appending.
    pub(crate) journal: Option<File>,
    /// Whether this run has rewritten the snapshot (and so made its one backup).
    pub(crate) compacted: bool,
    pub(crate) faults: Faults,
}

/// Test-only fault injection: a simulated crash after a number of write steps.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Fail the write step after this many succeeded.
    pub(crate) after: Option<u64>,
    /// Write steps done.
    pub(crate) done: u64,
    /// Crashed: no further IO at all, as for a process that died.
    pub(crate) crashed: bool,
}

impl StateLock {
    /// This lock's owner information.
    #[must_use]
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Owner information a dead holder had left in the lock file before this lock was taken.
    #[must_use]
    pub fn stale_predecessor(&self) -> Option<&LockInfo> {
        self.stale.as_ref()
    }

    /// The state file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.backend.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if self.faults.crashed {
            // A simulated crash: the process "died", so its owner record stays (stale) and
            // only the OS lock goes away, with the file handle.
            return;
        }
        // Clearing the owner information is best effort: if it fails, the next holder
        // reports it as stale. The OS lock goes away with the file handle either way. The
        // guard keeps a process that finds the lock held from reading the cleared record
        // (without the guard, should it fail, the record is still cleared before the unlock).
        let _guard = self.backend.guard();
        let _ = write_info(&mut self.file, None);
        let _ = self.file.unlock();
    }
}

/// The longest pause between two attempts to take a held lock.
const MAX_BACKOFF: Duration = Duration::from_millis(250);

#[cfg(unix)]
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_path: &Path) -> Result<()> {
    Ok(())
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open", path))
}

/// The record shown for a held lock without one (a holder that does not use the guard).
fn unknown_holder() -> LockInfo {
    LockInfo {
        id: "(unknown)".to_owned(),
        operation: "(unknown)".to_owned(),
        who: "(unknown)".to_owned(),
        pid: 0,
        created: "(unknown)".to_owned(),
    }
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str(&text).ok()
}

/// Replaces the owner record (under the guard): the complete record is encoded first and
/// written with one call.
fn write_info(file: &mut File, info: Option<&LockInfo>) -> io::Result<()> {
    let text = match info {
        Some(info) => {
            let mut text = serde_json::to_string_pretty(info).map_err(io::Error::other)?;
            text.push('\n');
            text
        }
        None => String::new(),
    };
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

pub(crate) fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!("{user}@{host}")
}

pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
