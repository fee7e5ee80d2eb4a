//! The local backend's writes ([`StateLock`] as a [`Session`]) and its [`Backend`] impl.

use std::fs::{self, OpenOptions};
use std::io::{self, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::{Backend, Change, HistoryEntry, Session};
use crate::error::{Error, Result};
use crate::format;
use crate::journal::{self, ChangeV1, EntryV1};
use crate::local::{LocalBackend, LockInfo, LockStatus, StateLock, io_err, sibling, sync_dir};
use crate::model::{State, now_rfc3339};
use crate::store;

impl StateLock {
    /// The serial of the state as of the last read or commit (0 for a stack never written).
    #[must_use]
    pub fn serial(&self) -> u64 {
        self.cur.state.serial
    }

    /// The state as of the last read or commit.
    #[must_use]
    pub fn current(&self) -> &State {
        &self.cur.state
    }

    /// Reads the state again from the files. A missing file is a new empty state with a
    /// fresh lineage and serial 0.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Corrupt`], [`Error::TooNew`].
    pub fn read(&mut self) -> Result<State> {
        self.cur = store::load(&self.backend)?.into_current();
        Ok(self.cur.state.clone())
    }

    /// Writes the whole `state` as a new snapshot. The serial written is one more than the
    /// stored one, and nothing is written at all when the content (everything but the serial)
    /// is what is stored already.
    ///
    /// # Errors
    /// [`Error::LineageMismatch`] when the stored state has another lineage; [`Error::Io`]
    /// when any step fails, in which case the stored state is the previous version.
    pub fn write(&mut self, state: &State) -> Result<()> {
        if self.cur.state.same_content(state) {
            return Ok(());
        }
        if self.cur.snapshot_exists && self.cur.state.lineage != state.lineage {
            return Err(self.lineage_mismatch(state));
        }
        let mut next = state.clone();
        next.serial = self.cur.state.serial + 1;
        let prev = std::mem::replace(&mut self.cur.state, next);
        if let Err(e) = self.write_snapshot() {
            self.cur.state = prev;
            return Err(e);
        }
        Ok(())
    }

    /// Makes `changes` durable as one journal line (one new serial); writes nothing when they
    /// leave the content as it is. The first commit of a stack never written writes the
    /// snapshot instead. On error the state is as before the call.
    ///
    /// # Errors
    /// [`Error::Io`] when the line cannot be appended and synced.
    pub fn commit_changes(&mut self, changes: &[Change]) -> Result<()> {
        if self.faults.crashed {
            return Err(crashed(self.backend.path()));
        }
        let undo = self.cur.state.apply_tracked(changes);
        if !undo.changed(&self.cur.state) {
            return Ok(());
        }
        let serial = self.cur.state.serial + 1;
        self.cur.state.serial = serial;
        let written = if self.cur.snapshot_exists {
            self.append(changes, serial)
        } else {
            self.write_snapshot()
        };
        if let Err(e) = written {
            undo.restore(&mut self.cur.state);
            self.cur.state.serial = serial - 1;
            return Err(e);
        }
        if self.cur.journal_len > self.cur.snapshot_len.max(self.backend.compact_floor())
            && let Err(e) = self.write_snapshot()
        {
            // The commit is durable in the journal; compaction is tried again later.
            tracing::warn!(error = %e, "could not compact the state journal");
        }
        Ok(())
    }

    /// Replaces the whole content (see [`Session::replace`]).
    ///
    /// # Errors
    /// [`Error::LineageMismatch`], [`Error::StaleSerial`], [`Error::Io`].
    pub fn replace_state(&mut self, state: State, force: bool) -> Result<()> {
        let cur = &self.cur.state;
        let written = cur.serial > 0 || self.cur.snapshot_exists;
        if written && !force {
            if state.lineage != cur.lineage {
                return Err(self.lineage_mismatch(&state));
            }
            if state.serial <= cur.serial {
                return Err(Error::StaleSerial {
                    stored: cur.serial,
                    given: state.serial,
                });
            }
        }
        let mut next = state;
        next.serial = next.serial.max(cur.serial + 1);
        let prev = std::mem::replace(&mut self.cur.state, next);
        if let Err(e) = self.write_snapshot() {
            self.cur.state = prev;
            return Err(e);
        }
        Ok(())
    }

    /// Ends the run: compacts the journal when it is at least half the snapshot's size (so
    /// that a run changing a few resources of a large state writes O(change)), then releases
    /// the lock.
    ///
    /// # Errors
    /// When compaction fails; the commits are durable regardless.
    pub fn finish_run(mut self) -> Result<()> {
        self.compact_if_due()
    }

    /// The end-of-run compaction without releasing the lock: rewrites the snapshot when the
    /// journal is at least half its size. A smaller journal stays (with the history it holds)
    /// for a later run: a run changing a few resources of a large state writes O(change).
    ///
    /// # Errors
    /// When compaction fails; the commits are durable regardless.
    pub fn compact_if_due(&mut self) -> Result<()> {
        if self.faults.crashed {
            return Err(crashed(self.backend.path()));
        }
        let (journal, snapshot) = (self.cur.journal_len, self.cur.snapshot_len);
        if journal > 0 && journal * 2 >= snapshot {
            self.write_snapshot()?;
        }
        Ok(())
    }

    /// Test support: how many write steps this lock has done.
    #[doc(hidden)]
    #[must_use]
    pub fn writes_done(&self) -> u64 {
        self.faults.done
    }

    /// Test support: simulates a crash after `writes` more write steps (a write, sync,
    /// rename, link or truncation): that step fails and this lock does no further IO, as a
    /// process that died, leaving its owner record behind. Used by the crash tests.
    #[doc(hidden)]
    pub fn crash_after_writes(&mut self, writes: u64) {
        self.faults.after = Some(self.faults.done + writes);
    }

    fn lineage_mismatch(&self, state: &State) -> Error {
        Error::LineageMismatch {
            path: self.backend.path().to_path_buf(),
            file: self.cur.state.lineage.to_string(),
            given: state.lineage.to_string(),
        }
    }

    /// Counts one write step, failing it when a simulated crash is due.
    fn step(&mut self) -> Result<()> {
        if self.faults.crashed || self.faults.after == Some(self.faults.done) {
            self.faults.crashed = true;
            return Err(crashed(self.backend.path()));
        }
        self.faults.done += 1;
        Ok(())
    }

    /// Appends one journal line for `changes` with `serial` and syncs it.
    fn append(&mut self, changes: &[Change], serial: u64) -> Result<()> {
        let entry = EntryV1 {
            serial,
            lineage: self.cur.state.lineage,
            time: now_rfc3339(),
            operation: self.info().operation.clone(),
            who: self.info().who.clone(),
            changes: changes.iter().map(ChangeV1::from).collect(),
        };
        let line = journal::encode_line(&entry)?;
        let path = self.backend.journal_path();
        let created = if self.journal.is_none() {
            let existed = path.exists();
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err("open", &path))?;
            self.journal = Some(f);
            !existed
        } else {
            false
        };
        let (valid, file_len) = (self.cur.journal_len, self.cur.journal_file_len);
        if file_len != valid {
            // A torn tail (or a line whose sync failed) is cut off before the next line.
            self.step()?;
            self.journal_file()?
                .set_len(valid)
                .map_err(io_err("truncate", &path))?;
            self.cur.journal_file_len = valid;
        }
        self.step()?;
        // Until the line is synced, its bytes count as a torn tail to cut off.
        self.cur.journal_file_len = valid + line.len() as u64;
        let f = self.journal_file()?;
        f.seek(SeekFrom::Start(valid))
            .and_then(|_| f.write_all(line.as_bytes()))
            .map_err(io_err("append to", &path))?;
        self.step()?;
        self.journal_file()?
            .sync_data()
            .map_err(io_err("sync", &path))?;
        if created {
            self.step()?;
            sync_dir(&path)?;
        }
        self.cur.journal_len = valid + line.len() as u64;
        Ok(())
    }

    fn journal_file(&mut self) -> Result<&mut fs::File> {
        let path = self.backend.journal_path();
        self.journal.as_mut().ok_or_else(|| Error::Io {
            action: "open",
            path,
            source: io::Error::other("the journal is not open"),
        })
    }

    /// Writes the current state as the snapshot (temp file, fsync, the run's one backup,
    /// rename, fsync of the directory), then empties the journal.
    fn write_snapshot(&mut self) -> Result<()> {
        let text = format::encode(&self.cur.state)?;
        let path = self.backend.path().to_path_buf();
        let tmp = self.backend.temp_path();
        self.step()?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        f.write_all(text.as_bytes())
            .map_err(io_err("write", &tmp))?;
        self.step()?;
        f.sync_all().map_err(io_err("sync", &tmp))?;
        drop(f);
        if !self.compacted && self.cur.snapshot_exists {
            // The run's one backup: the snapshot as it was when the run took the lock,
            // hard-linked (no copy) before the rename replaces it.
            let backup = self.backend.backup_path();
            let backup_tmp = sibling(&backup, ".tmp");
            let _ = fs::remove_file(&backup_tmp);
            self.step()?;
            if fs::hard_link(&path, &backup_tmp).is_err() {
                fs::copy(&path, &backup_tmp).map_err(io_err("back up to", &backup_tmp))?;
            }
            self.step()?;
            fs::rename(&backup_tmp, &backup).map_err(io_err("rename into place", &backup))?;
        }
        self.step()?;
        fs::rename(&tmp, &path).map_err(io_err("rename into place", &path))?;
        self.step()?;
        sync_dir(&path)?;
        self.compacted = true;
        self.cur.snapshot_exists = true;
        self.cur.snapshot_len = text.len() as u64;
        // Every journal line is in the snapshot now (a line at or below its serial is skipped
        // on reading), so emptying the journal can fail or be cut short without harm.
        self.cur.journal_len = 0;
        if self.cur.journal_file_len > 0 {
            let jpath = self.backend.journal_path();
            if self.journal.is_none() {
                self.journal = Some(
                    OpenOptions::new()
                        .write(true)
                        .open(&jpath)
                        .map_err(io_err("open", &jpath))?,
                );
            }
            self.step()?;
            self.journal_file()?
                .set_len(0)
                .map_err(io_err("truncate", &jpath))?;
            self.step()?;
            self.journal_file()?
                .sync_data()
                .map_err(io_err("sync", &jpath))?;
            self.cur.journal_file_len = 0;
        }
        Ok(())
    }
}

fn crashed(path: &Path) -> Error {
    Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source: io::Error::other("simulated crash"),
    }
}

#[async_trait]
impl Session for StateLock {
    fn info(&self) -> &LockInfo {
        StateLock::info(self)
    }

    fn stale_predecessor(&self) -> Option<&LockInfo> {
        StateLock::stale_predecessor(self)
    }

    fn state(&self) -> &State {
        &self.cur.state
    }

    async fn commit(&mut self, changes: Vec<Change>) -> Result<()> {
        self.commit_changes(&changes)
    }

    async fn replace(&mut self, state: State, force: bool) -> Result<()> {
        self.replace_state(state, force)
    }

    async fn finish(self: Box<Self>) -> Result<()> {
        (*self).finish_run()
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        format!("local file `{}`", self.path().display())
    }

    async fn read(&self) -> Result<State> {
        LocalBackend::read(self)
    }

    async fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Session>> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(10);
        loop {
            match LocalBackend::lock(self, operation) {
                Ok(lock) => return Ok(Box::new(lock)),
                Err(e @ Error::StateLocked { .. }) => {
                    let left = timeout.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(e);
                    }
                    tokio::time::sleep(backoff.min(left)).await;
                    backoff = (backoff * 2).min(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn lock_status(&self) -> Result<LockStatus> {
        LocalBackend::lock_status(self)
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo> {
        LocalBackend::force_unlock(self, id)
    }

    async fn history(&self) -> Result<Vec<HistoryEntry>> {
        store::history(self)
    }

    async fn read_serial(&self, serial: u64) -> Result<State> {
        store::read_serial(self, serial)
    }
}
