//! A throwaway PostgreSQL server for tests (feature `testing`): `initdb` into a temporary
//! directory, `pg_ctl -w start` (which waits for the server to accept connections), a unix
//! socket in that directory and a loopback TCP port, trust authentication for the user
//! `flinkform`, and `pg_ctl stop` plus the directory removed at the end. Never a shared or
//! system server.
//!
//! PostgreSQL refuses to run as root; as root the server runs as the `postgres` user (or
//! `nobody`) through `setpriv`, in a directory chowned to it.
//!
//! The binaries are found through `FLINKFORM_PG_BIN` (a directory), `initdb` on `PATH`, or
//! Debian's `/usr/lib/postgresql/<version>/bin` (the newest). Without them,
//! [`shared_or_skip`] prints a visible `SKIPPED` notice and gives `None`, except with `CI`
//! set, where a missing PostgreSQL fails the test (CI installs it: `.ci/run`).

// Test support: a failed step panics, as in a test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use flinkform_state::{Backend as _, LockInfo};

use crate::PgBackend;

/// The superuser the server is made with (trust authentication: no password).
pub const USER: &str = "flinkform";

/// How the server is run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep PostgreSQL's durability settings (fsync, synchronous commit) as in production;
    /// off by default, which is what makes tests fast and changes nothing else.
    pub durable: bool,
}

/// A running throwaway server.
#[derive(Debug)]
pub struct PgServer {
    /// Holds the data directory, the socket and the log; `None` once handed to the
    /// watchdog of a shared server.
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    next_db: AtomicU32,
    /// A shared server's watchdog: it stops the server when this process exits and so
    /// closes the pipe.
    _watchdog: Option<ChildStdin>,
}

/// The directory with `initdb` and `pg_ctl`, if PostgreSQL is installed.
#[must_use]
pub fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FLINKFORM_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            // A link (`/usr/local/bin/initdb`) stands for the directory it points into,
            // which has the other tools (`createdb`) too.
            if let Ok(initdb) = std::fs::canonicalize(dir.join("initdb"))
                && let Some(bin) = initdb.parent()
                && bin.join("pg_ctl").is_file()
            {
                return Some(bin.to_path_buf());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The effective user id of this process (from `/proc/self/status`).
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The uid and gid of `postgres` from `/etc/passwd`, else those of `nobody`.
fn unprivileged() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name) && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
    };
    find("postgres")
        .or_else(|| find("nobody"))
        .unwrap_or((65534, 65534))
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl PgServer {
    /// `program` of the server's bin directory, run as the server's user.
    fn tool(&self, program: &str) -> Command {
        tool(&self.bin, self.run_as, program, &self.root)
    }

    /// Starts a fresh server.
    ///
    /// # Errors
    /// When PostgreSQL is not installed or a step fails (with its output).
    pub fn start(options: Options) -> Result<Self, String> {
        let bin = find_bin().ok_or_else(|| "PostgreSQL is not installed".to_owned())?;
        let dir = tempfile::Builder::new()
            .prefix("ffpg")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let root = dir.path().to_path_buf();
        let run_as = (euid() == Some(0)).then(unprivileged);
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", root.display()))?;
        }
        let data = root.join("data");
        run(tool(&bin, run_as, "initdb", &root)
            .args([
                "--no-sync",
                "-A",
                "trust",
                "-U",
                USER,
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data))?;
        let mut server = Self {
            dir: Some(dir),
            root,
            bin,
            port: 0,
            run_as,
            next_db: AtomicU32::new(0),
            _watchdog: None,
        };
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port().map_err(|e| format!("free port: {e}"))?;
            let mut settings = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB",
                server.port,
                server.root.display()
            );
            if !options.durable {
                settings
                    .push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            }
            let started = run(server
                .tool("pg_ctl")
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(server.root.join("log"))
                .args(["-o", &settings, "start"]));
            match started {
                Ok(()) => return Ok(server),
                // Another process took the port in between: try another one.
                Err(e) => last = format!("{e}\n{}", server.log()),
            }
        }
        Err(last)
    }

    /// The server's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("log")).unwrap_or_default()
    }

    /// The loopback TCP port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of its unix socket.
    #[must_use]
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// Creates a new empty database and returns its name.
    ///
    /// # Panics
    /// When `createdb` fails.
    #[must_use]
    pub fn create_database(&self) -> String {
        let name = format!("t{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        let mut cmd = Command::new(self.bin.join("createdb"));
        cmd.args(["-h"])
            .arg(&self.root)
            .args(["-p", &self.port.to_string(), "-U", USER, &name]);
        if let Err(e) = run(&mut cmd) {
            panic!("createdb {name}: {e}");
        }
        name
    }

    /// The state URL of `stack` in `database` through the unix socket.
    #[must_use]
    pub fn url(&self, database: &str, stack: &str) -> String {
        format!(
            "postgres://{USER}@/{database}?host={}&port={}&stack={stack}",
            self.root.display(),
            self.port
        )
    }

    /// The state URL of `stack` in `database` over loopback TCP.
    #[must_use]
    pub fn tcp_url(&self, database: &str, stack: &str) -> String {
        format!(
            "postgres://{USER}@127.0.0.1:{}/{database}?sslmode=disable&stack={stack}",
            self.port
        )
    }

    /// Stops the server at once (`pg_ctl -m immediate stop`).
    fn stop(&mut self) {
        if self.dir.is_some() {
            let _ = self
                .tool("pg_ctl")
                .args(["-w", "-m", "immediate", "-D"])
                .arg(self.root.join("data"))
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Makes this server live until the process exits: a watchdog process stops it and
    /// removes its directory when the pipe this process holds closes.
    fn into_shared(mut self) -> Result<Self, String> {
        let Some(dir) = self.dir.take() else {
            return Ok(self);
        };
        let root = dir.keep();
        let mut stop = tool(&self.bin, self.run_as, "pg_ctl", &root);
        stop.args(["-w", "-m", "immediate", "-D"])
            .arg(root.join("data"))
            .arg("stop");
        let mut line: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        line.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let script = r#"read _ignored; "$@" >/dev/null 2>&1; rm -rf "$ROOT""#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(&line)
            .env("ROOT", &root)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        self._watchdog = child.stdin;
        Ok(self)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tool(bin: &Path, run_as: Option<(u32, u32)>, program: &str, cwd: &Path) -> Command {
    let mut cmd = match run_as {
        Some((uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(bin.join(program));
            c
        }
        None => Command::new(bin.join(program)),
    };
    cmd.current_dir(cwd).stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} {:?} failed ({}):\n{}{}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The server this test process shares between its tests (started on first use, stopped
/// when the process exits). `None` with a visible notice when PostgreSQL is not installed
/// and `CI` is not set.
///
/// # Panics
/// When PostgreSQL is not installed and `CI` is set, or it fails to start.
#[must_use]
pub fn shared_or_skip(test: &str) -> Option<&'static PgServer> {
    if find_bin().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: PostgreSQL is not installed (no initdb on PATH, in FLINKFORM_PG_BIN or in /usr/lib/postgresql/*/bin), and CI is set: .ci/run installs it"
        );
        // Written past the test harness's capture, so that the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: PostgreSQL not installed (no initdb on PATH, in FLINKFORM_PG_BIN or in /usr/lib/postgresql/*/bin): {test} did not run; install it (apt-get install postgresql) to run it"
        );
        return None;
    }
    let server = SHARED.get_or_init(|| PgServer::start(Options::default())?.into_shared());
    match server {
        Ok(s) => Some(s),
        Err(e) => panic!("{test}: could not start a throwaway PostgreSQL: {e}"),
    }
}

/// Leaves the lock of the stack `url` names as a holder that died would: a run takes it,
/// then the server ends that run's connection (`pg_terminate_backend`, waiting until the
/// connection is gone), so the advisory lock is released and the owner record stays.
/// Returns that record. Runs on a thread of its own and blocks the caller's: call it from a
/// multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`), so that the caller's
/// runtime can still release a lock it dropped.
///
/// # Panics
/// When a step fails.
#[must_use]
pub fn leave_dead_holder(url: &str) -> LockInfo {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let backend = PgBackend::open(&url).expect("url");
            // A holder that just let go may still be releasing (a dropped session releases
            // on its runtime): wait for it as a second run would.
            let session = backend
                .lock("apply", Duration::from_secs(30))
                .await
                .expect("take the lock");
            let info = session.info().clone();
            let client = backend.pooled().await.expect("connection");
            let gone: bool = client
                .query_one(
                    "SELECT pg_terminate_backend(backend_pid, 30000) FROM flinkform.locks
                      WHERE stack = $1 AND id = $2",
                    &[&backend.url().stack().as_str(), &info.id],
                )
                .await
                .expect("terminate the holder's connection")
                .get(0);
            assert!(gone, "the holder's connection did not end");
            drop(session);
            info
        })
    })
    .join()
    .expect("thread")
}
