//! Test harness: a temporary working directory with the examples copied in, and a runner for
//! the real binary with the emulator's time compressed so provisioning takes milliseconds.

use std::path::{Path, PathBuf};
use std::process::Command;

use flinkform_cloudsim::World;

/// One test's sandbox.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
    /// `FLINKFORM_STATE` of every command (a PostgreSQL URL), if not the state file.
    state_url: Option<String>,
}

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Panics with the full output unless the exit code is `code`.
    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Sandbox {
    /// A fresh directory holding a copy of `examples/`.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let examples = dir.path().join("examples");
        std::fs::create_dir_all(&examples).expect("mkdir");
        for entry in std::fs::read_dir(repo_root().join("examples")).expect("examples") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml") {
                std::fs::copy(&p, examples.join(p.file_name().expect("name"))).expect("copy");
            }
        }
        Self {
            dir,
            state_url: None,
        }
    }

    /// The same sandbox with its state at `url` (`FLINKFORM_STATE` of every command).
    pub(crate) fn with_state_url(self, url: String) -> Self {
        Self {
            state_url: Some(url),
            ..self
        }
    }

    /// The state URL its commands use, if not the state file.
    pub(crate) fn state_url(&self) -> Option<&str> {
        self.state_url.as_deref()
    }

    /// Its state as the last command left it, wherever it is kept.
    pub(crate) fn read_state(&self) -> flinkform_state::State {
        match &self.state_url {
            Some(url) => crate::postgres::read(url),
            None => {
                flinkform_state::LocalBackend::open(self.dir.path().join(".flinkform/state.json"))
                    .read()
                    .expect("state parses")
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` in the sandbox.
    pub(crate) fn write(&self, name: &str, text: &str) {
        let p = self.dir.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }

    /// Runs `flinkform ARGS` in the sandbox against the emulator.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run flinkform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command `flinkform ARGS` in the sandbox against the emulator, not started yet.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flinkform"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("FLINKFORM_CLOUD", "sim")
            .env("FLINKFORM_SIM_TIME_SCALE", "20000")
            .env("NO_COLOR", "1")
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
            .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN")
            .env_remove("ALIBABA_CLOUD_ROLE_ARN")
            .env_remove("ALIBABA_CLOUD_ROLE_SESSION_NAME")
            .env_remove("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
            .env_remove("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
            .env_remove("ALIBABA_CLOUD_PROFILE")
            .env_remove("ALIBABA_CLOUD_CONFIG_FILE")
            .env_remove("ALIBABA_CLOUD_ECS_METADATA")
            .env_remove("ALIBABA_CLOUD_IMDS_ENDPOINT")
            .env_remove("ALIBABA_CLOUD_STS_ENDPOINT")
            .env_remove("FLINKFORM_ENDPOINT")
            .env_remove("RUST_LOG")
            .env_remove("FLINKFORM_LOG")
            .env_remove("FLINKFORM_STATE")
            .env_remove("FLINKFORM_LOCK_TIMEOUT")
            .env_remove("FLINKFORM_SIM_WORLD")
            .env_remove("FLINKFORM_SIM_ENDPOINT")
            .env_remove("FLINKFORM_SIM_FAULTS")
            .env("HOME", self.dir.path());
        if let Some(url) = &self.state_url {
            // A run right after a killed one may find the server still ending the dead
            // run's connection (which releases its lock): wait for that, as a user would.
            cmd.env("FLINKFORM_STATE", url)
                .env("FLINKFORM_LOCK_TIMEOUT", "30s");
        }
        cmd
    }

    /// The emulator's world as the last command left it.
    pub(crate) fn world(&self) -> World {
        World::load(&self.dir.path().join(".flinkform/sim-world.json")).expect("world")
    }

    /// The state (snapshot and journal) as the JSON of a state file.
    pub(crate) fn state(&self) -> serde_json::Value {
        let path = self.dir.path().join(".flinkform/state.json");
        assert!(path.is_file(), "no state file at {}", path.display());
        let state = flinkform_state::LocalBackend::open(path)
            .read()
            .expect("state");
        let text = flinkform_state::format::encode(&state).expect("encode");
        serde_json::from_str(&text).expect("state parses")
    }
}
