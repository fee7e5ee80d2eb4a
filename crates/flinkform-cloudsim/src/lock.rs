//! Who may change a world file: one process at a time. A process that loads a world, works
//! on it in memory and saves it back (an in-process `--cloud sim` command, `flinkform sim
//! serve`, `flinkform sim console`) holds an OS lock (`flock(2)` through std's
//! `File::try_lock`) on `<world>.lock` from before the load until after its last save, so
//! two of them never overwrite each other's changes. The lock file holds the owner's pid
//! (for messages only). An emulator serving the world also writes `<world>.serve`
//! (atomically: temporary file, rename) with its pid and endpoint, and removes it when it
//! stops; whoever finds the world locked and that file present sends changes through the
//! emulator instead. A process that takes the lock removes a `<world>.serve` it finds: the
//! emulator that wrote it is gone (it would hold the lock otherwise).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The emulator serving a world, as `<world>.serve` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeInfo {
    /// Its process id.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// Who holds the lock of a world that [`WorldLock::try_acquire`] could not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// An emulator serving the world (`flinkform sim serve`): send changes through it.
    Server(ServeInfo),
    /// Another process working on the world file (its pid when it wrote one): wait for it.
    Process(Option<u32>),
}

/// The held lock of a world file; released when dropped (and `<world>.serve` removed, if
/// this process announced itself as its server).
#[derive(Debug)]
pub struct WorldLock {
    _file: File,
    serve_file: PathBuf,
    serving: bool,
}

fn sibling(world: &Path, suffix: &str) -> PathBuf {
    let name = world
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    world.with_file_name(format!("{name}{suffix}"))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

impl WorldLock {
    /// The lock file of world file `world`: `<world>.lock`.
    #[must_use]
    pub fn lock_path(world: &Path) -> PathBuf {
        sibling(world, ".lock")
    }

    /// The file in which the emulator serving `world` names itself: `<world>.serve`.
    #[must_use]
    pub fn serve_path(world: &Path) -> PathBuf {
        sibling(world, ".serve")
    }

    /// Takes the lock of world file `world` if nobody holds it (creating the lock file and
    /// its directory as needed), or says who holds it.
    ///
    /// # Errors
    /// [`Error::Io`] when the lock file cannot be created, locked or written.
    pub fn try_acquire(world: &Path) -> Result<std::result::Result<Self, Holder>> {
        let lock_path = Self::lock_path(world);
        if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create the directory of", &lock_path))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Err(Self::holder(world, &mut file))),
            Err(TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        file.set_len(0).map_err(io("write", &lock_path))?;
        file.seek(SeekFrom::Start(0))
            .map_err(io("write", &lock_path))?;
        file.write_all(std::process::id().to_string().as_bytes())
            .map_err(io("write", &lock_path))?;
        let serve_file = Self::serve_path(world);
        // Left behind by an emulator that was killed: it no longer serves the world.
        match std::fs::remove_file(&serve_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &serve_file)(e)),
        }
        Ok(Ok(Self {
            _file: file,
            serve_file,
            serving: false,
        }))
    }

    fn holder(world: &Path, lock: &mut File) -> Holder {
        let served = std::fs::read_to_string(Self::serve_path(world))
            .ok()
            .and_then(|text| serde_json::from_str::<ServeInfo>(&text).ok());
        if let Some(info) = served {
            return Holder::Server(info);
        }
        let mut pid = String::new();
        let _ = lock.read_to_string(&mut pid);
        Holder::Process(pid.trim().parse().ok())
    }

    /// Announces this process as the emulator serving the world at `endpoint`: writes
    /// `<world>.serve` atomically (removed again when the lock is dropped).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn announce_server(&mut self, endpoint: &str) -> Result<()> {
        let info = ServeInfo {
            pid: std::process::id(),
            endpoint: endpoint.to_owned(),
        };
        let path = &self.serve_file;
        let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
        let bytes = serde_json::to_vec(&info).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(&bytes).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("sync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io("replace", path))?;
        self.serving = true;
        Ok(())
    }
}

impl Drop for WorldLock {
    fn drop(&mut self) {
        if self.serving {
            let _ = std::fs::remove_file(&self.serve_file);
        }
    }
}
