//! Reading the local backend's files: the snapshot, the journal replayed over it, the backup,
//! and the history they keep.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use crate::backend::HistoryEntry;
use crate::error::{Error, Result};
use crate::format;
use crate::journal::{self, EntryV1};
use crate::local::{LocalBackend, io_err};
use crate::model::{Lineage, State};

/// What a locked session knows about the files besides the state.
#[derive(Debug, Default)]
pub(crate) struct Current {
    /// Snapshot + journal.
    pub(crate) state: State,
    /// Whether `state.json` exists.
    pub(crate) snapshot_exists: bool,
    /// Its size in bytes.
    pub(crate) snapshot_len: u64,
    /// Bytes of valid journal lines (where the next line goes).
    pub(crate) journal_len: u64,
    /// Bytes in the journal file (more than `journal_len` after a torn tail).
    pub(crate) journal_file_len: u64,
}

/// Everything read from the files.
pub(crate) struct Loaded {
    pub(crate) state: State,
    /// The snapshot's lineage, serial and size (its resources are in `state`: a fleet's
    /// state is not held twice).
    pub(crate) snapshot: Option<Snapshot>,
    pub(crate) journal: journal::Read,
}

/// What [`Loaded`] keeps of the snapshot it read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) lineage: Lineage,
    pub(crate) serial: u64,
    pub(crate) len: u64,
}

impl Loaded {
    pub(crate) fn into_current(self) -> Current {
        let (snapshot_exists, snapshot_len) = self.snapshot.map_or((false, 0), |s| (true, s.len));
        Current {
            state: self.state,
            snapshot_exists,
            snapshot_len,
            journal_len: self.journal.valid_len,
            journal_file_len: self.journal.valid_len + self.journal.torn,
        }
    }
}

/// Reads a state file; `None` when it does not exist. Also gives its size.
pub(crate) fn read_snapshot(path: &Path) -> Result<Option<(State, u64)>> {
    match fs::read(path) {
        Ok(bytes) => {
            let len = bytes.len() as u64;
            let text = String::from_utf8(bytes).map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("not UTF-8 text: {e}"),
            })?;
            Ok(Some((format::decode(&text, path)?, len)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Reads the journal; a missing file is an empty journal.
pub(crate) fn read_journal(path: &Path) -> Result<journal::Read> {
    match fs::read(path) {
        Ok(bytes) => journal::parse(&bytes, path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(journal::Read::default()),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Applies the journal's entries that follow `state`'s serial, up to `upto`.
pub(crate) fn replay(
    state: &mut State,
    entries: &[EntryV1],
    upto: Option<u64>,
    path: &Path,
) -> Result<()> {
    for e in entries {
        if e.serial <= state.serial {
            // Already in the snapshot: a crash came between a compaction's rename and the
            // journal's truncation.
            continue;
        }
        if upto.is_some_and(|u| e.serial > u) {
            break;
        }
        if e.lineage != state.lineage || e.serial != state.serial + 1 {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "journal entry serial {} of lineage {} does not follow the snapshot's serial {} of lineage {}; if the snapshot was restored by hand, move the journal away to use the snapshot alone",
                    e.serial, e.lineage, state.serial, state.lineage
                ),
            });
        }
        state.apply_all(&e.changes());
        state.serial = e.serial;
    }
    Ok(())
}

/// Reads snapshot + journal. A torn journal tail is reported as a warning and ignored.
pub(crate) fn load(backend: &LocalBackend) -> Result<Loaded> {
    let snapshot = read_snapshot(backend.path())?;
    let jpath = backend.journal_path();
    let journal = read_journal(&jpath)?;
    if journal.torn > 0 {
        tracing::warn!(
            journal = %jpath.display(),
            bytes = journal.torn,
            "ignoring the torn last line of the state journal (a write interrupted by a crash); the state is as of the last complete commit, and the next locked write cuts the torn bytes off"
        );
    }
    let meta = snapshot.as_ref().map(|(s, len)| Snapshot {
        lineage: s.lineage,
        serial: s.serial,
        len: *len,
    });
    let mut state = snapshot.map_or_else(State::new, |(s, _)| s);
    if meta.is_none()
        && let Some(first) = journal.entries.first()
    {
        return Err(Error::Corrupt {
            path: jpath.clone(),
            reason: format!(
                "the journal holds commits (serial {} on) but the snapshot `{}` is missing",
                first.serial,
                backend.path().display()
            ),
        });
    }
    replay(&mut state, &journal.entries, None, &jpath)?;
    Ok(Loaded {
        state,
        snapshot: meta,
        journal,
    })
}

fn modified(path: &Path) -> String {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default()
}

/// The versions the files keep, oldest first: the backup, the snapshot, each journal entry
/// after it.
pub(crate) fn history(backend: &LocalBackend) -> Result<Vec<HistoryEntry>> {
    let loaded = load(backend)?;
    let mut out: Vec<HistoryEntry> = Vec::new();
    let snap_serial = loaded.snapshot.map(|s| s.serial);
    if let Some((backup, _)) = read_snapshot(&backend.backup_path())?
        && Some(backup.lineage) == loaded.snapshot.map(|s| s.lineage)
        && snap_serial.is_some_and(|s| backup.serial < s)
    {
        out.push(HistoryEntry {
            serial: backup.serial,
            written_at: modified(&backend.backup_path()),
            operation: "(backup)".to_owned(),
            who: String::new(),
            changed: BTreeSet::new(),
        });
    }
    if let Some(serial) = snap_serial.filter(|s| *s > 0) {
        out.push(HistoryEntry {
            serial,
            written_at: modified(backend.path()),
            operation: "(snapshot)".to_owned(),
            who: String::new(),
            changed: BTreeSet::new(),
        });
    }
    for e in &loaded.journal.entries {
        if snap_serial.is_some_and(|s| e.serial <= s) {
            continue;
        }
        out.push(HistoryEntry {
            serial: e.serial,
            written_at: e.time.clone(),
            operation: e.operation.clone(),
            who: e.who.clone(),
            changed: e
                .changes()
                .iter()
                .filter_map(|c| c.addr().cloned())
                .collect(),
        });
    }
    Ok(out)
}

/// The state at `serial`, when the files still hold it.
pub(crate) fn read_serial(backend: &LocalBackend, serial: u64) -> Result<State> {
    let loaded = load(backend)?;
    let jpath = backend.journal_path();
    if let Some(snap) = loaded.snapshot
        && snap.serial <= serial
        && serial <= loaded.state.serial
        // Read again (`Loaded` keeps one copy of the state); a snapshot another run has
        // rewritten meanwhile is not the one the journal was read against.
        && let Some((mut state, _)) = read_snapshot(backend.path())?
        && state.serial == snap.serial
    {
        replay(&mut state, &loaded.journal.entries, Some(serial), &jpath)?;
        return Ok(state);
    }
    if let Some((backup, _)) = read_snapshot(&backend.backup_path())?
        && backup.serial == serial
    {
        return Ok(backup);
    }
    let kept: Vec<String> = history(backend)?
        .iter()
        .map(|h| h.serial.to_string())
        .collect();
    Err(Error::SerialNotKept {
        serial,
        backend: format!("local file `{}`", backend.path().display()),
        reason: format!(
            "the local backend keeps only the current run's history (kept now: {}); use the PostgreSQL backend for every serial",
            if kept.is_empty() {
                "none".to_owned()
            } else {
                kept.join(", ")
            }
        ),
    })
}
