//! Ctrl-C during `apply` and `destroy`: the first SIGINT (or SIGTERM) stops starting new
//! calls, lets the calls in flight finish and be recorded, and the command then saves the
//! emulator's world and exits 130; a second one ends the process at once (exit 130 too,
//! after saving the in-process emulator's world), which the intent journal makes safe: the
//! next plan explains every call left in flight.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flinkform_apply::{ApplyReport, Cancellation, NodeStatus};
use flinkform_cloudsim::World;
use tokio::sync::Mutex;

use crate::{Exit, view};

/// Installs the signal handler for the rest of the process and returns the cancellation the
/// executor watches. `world` is the in-process emulator's world and file: a second signal
/// still saves it (briefly waiting for a request that holds it), so that the emulated cloud
/// keeps what it did, as a real one would.
pub(crate) fn on_signal(world: Option<(Arc<Mutex<World>>, PathBuf)>) -> Cancellation {
    let cancel = Cancellation::default();
    let handle = cancel.clone();
    tokio::spawn(async move {
        let mut signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                view::warn(&format!("cannot install the Ctrl-C handler: {e}"));
                return;
            }
        };
        signals.next().await;
        view::warn(
            "interrupted: starting nothing new, waiting for the calls in flight to be recorded; press Ctrl-C again to stop at once",
        );
        handle.cancel();
        signals.next().await;
        view::warn(
            "interrupted again: stopping at once; the next `flinkform plan` explains any call left in flight",
        );
        if let Some((world, path)) = world {
            match tokio::time::timeout(Duration::from_millis(500), world.lock()).await {
                Ok(w) => {
                    if let Err(e) = w.save(&path) {
                        view::warn(&format!("the emulator world could not be saved: {e}"));
                    }
                }
                Err(_) => view::warn("the emulator world is busy; it was not saved"),
            }
        }
        std::process::exit(130);
    });
    cancel
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reports an interrupted apply: what finished, what did not start.
pub(crate) fn report(report: &ApplyReport) -> Exit {
    let finished = report
        .results
        .values()
        .filter(|r| r.status == NodeStatus::Done)
        .count();
    let not_started = report
        .results
        .values()
        .filter(|r| r.status == NodeStatus::Interrupted)
        .count();
    let failed = report.failed();
    let failed = if failed.is_empty() {
        String::new()
    } else {
        format!(", {} failed", failed.len())
    };
    view::out(&format!(
        "interrupted: {finished} action(s) finished, {not_started} not started{failed}; state recorded; run apply again to continue"
    ));
    Exit::Interrupted
}
