//! Where the state is kept: `--state` / `FLINKFORM_STATE` → a [`Backend`], and taking its
//! lock for a command (`--lock-timeout`).

use std::path::PathBuf;
use std::time::Duration;

use flinkform_state::{Backend, LocalBackend, Session};
use miette::Result;

use crate::args::GlobalArgs;
use crate::view;

/// A held state lock with the state read under it.
pub(crate) type Locked = Box<dyn Session>;

/// The backend `--state` names: a `postgres://` or `postgresql://` URL, else a path (a
/// directory means `<dir>/.flinkform/state.json`; the default is `.flinkform/state.json`).
pub(crate) fn open_backend(global: &GlobalArgs) -> Result<Box<dyn Backend>> {
    match global.state.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            open_postgres(url)
        }
        Some(path) => Ok(Box::new(LocalBackend::open(PathBuf::from(path)))),
        None => Ok(Box::new(LocalBackend::open(
            flinkform_state::DEFAULT_STATE_PATH,
        ))),
    }
}

/// Where the state is, for reports and messages: the path, or the URL without a password.
pub(crate) fn display_state(global: &GlobalArgs) -> String {
    let Some(given) = global.state.as_deref() else {
        return flinkform_state::DEFAULT_STATE_PATH.to_owned();
    };
    match given.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{scheme}://{user}@{host}")
            }
            None => given.to_owned(),
        },
        None => given.to_owned(),
    }
}

/// The PostgreSQL backend for `url` (`postgres://USER@HOST/DB?stack=NAME`,
/// specs/state-postgres.md). It connects (and migrates the schema) on first use.
fn open_postgres(url: &str) -> Result<Box<dyn Backend>> {
    Ok(Box::new(flinkform_state_pg::PgBackend::open(url)?))
}

/// Takes the state lock for `operation`, waiting up to `--lock-timeout`, and warns about a
/// holder that died with it.
pub(crate) async fn lock_state(global: &GlobalArgs, operation: &str) -> Result<Locked> {
    let backend = open_backend(global)?;
    let timeout = global.lock_timeout.unwrap_or(Duration::ZERO);
    let state = match backend.lock(operation, Duration::ZERO).await {
        Err(flinkform_state::Error::StateLocked {
            who,
            pid,
            operation: theirs,
            ..
        }) if !timeout.is_zero() => {
            view::note(&format!(
                "the state is locked by {who} (pid {pid}) running `{theirs}`; waiting up to {timeout:?} (--lock-timeout)"
            ));
            backend.lock(operation, timeout).await?
        }
        other => other?,
    };
    if let Some(dead) = state.stale_predecessor() {
        view::warn(&format!(
            "the previous holder of the state lock exited without releasing it: `{}` by {} (pid {}) since {} (lock id {}); its lock went with it (a file lock with its process, a PostgreSQL lock with its connection), and what it recorded is kept",
            dead.operation, dead.who, dead.pid, dead.created, dead.id
        ));
    }
    Ok(state)
}

/// Ends a run that holds the lock: compacts what it wrote and releases the lock. A failed
/// compaction is a warning: every commit is durable already.
pub(crate) async fn finish(state: Locked) {
    if let Err(e) = state.finish().await {
        view::warn(&format!(
            "the state could not be compacted at the end of the run ({e}); every change is recorded in its journal, and the next run compacts it"
        ));
    }
}

/// Parses a duration: `0`, `0s`, `500ms`, `30s`, `5m`, `1h`, or sums like `1m30s`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("`{text}` is not a duration: use e.g. `0s`, `30s`, `5m`, `1h`, `1m30s`");
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::args::Cli;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["flinkform"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["state", "list"]);
        Cli::try_parse_from(argv).unwrap().global
    }

    #[test]
    fn state_names_a_path_or_a_url() {
        let local = open_backend(&global(&[])).unwrap();
        assert_eq!(local.describe(), "local file `.flinkform/state.json`");
        let local = open_backend(&global(&["--state", "some/where.json"])).unwrap();
        assert_eq!(local.describe(), "local file `some/where.json`");
        for url in [
            "postgres://ops@db.example/flinkform?stack=prod",
            "postgresql://ops@db.example/flinkform?stack=prod",
        ] {
            // Opening connects to nothing yet: the first operation does.
            let pg = open_backend(&global(&["--state", url])).unwrap();
            assert_eq!(
                pg.describe(),
                "postgres stack prod on db.example:5432/flinkform"
            );
        }
        let err = open_backend(&global(&[
            "--state",
            "postgres://ops@db.example/f?stack=a/b",
        ]))
        .err()
        .unwrap();
        assert!(err.to_string().contains("invalid stack name"), "{err}");
    }

    #[test]
    fn a_state_url_is_shown_without_its_password() {
        assert_eq!(display_state(&global(&[])), ".flinkform/state.json");
        assert_eq!(display_state(&global(&["--state", "s.json"])), "s.json");
        assert_eq!(
            display_state(&global(&[
                "--state",
                "postgres://ops:hunter2@db.example/ff?stack=prod"
            ])),
            "postgres://ops@db.example/ff?stack=prod"
        );
    }

    #[test]
    fn lock_timeout_is_a_duration() {
        assert_eq!(global(&[]).lock_timeout, None);
        assert_eq!(
            global(&["--lock-timeout", "5m"]).lock_timeout,
            Some(Duration::from_secs(300))
        );
        let argv = ["flinkform", "--lock-timeout", "soon", "state", "list"];
        assert!(Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn durations() {
        let ok = |t: &str| parse_duration(t).unwrap();
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("5m"), Duration::from_secs(300));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        for bad in ["", "s", "30", "5 m", "1d", "-1s", "m5"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
    }
}
