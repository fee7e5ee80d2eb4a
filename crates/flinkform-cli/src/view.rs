//! Everything the CLI prints: data on stdout, messages and progress on stderr. Colour only on
//! a terminal and never when `NO_COLOR` is set; colour is never the only signal.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal as _;

/// Whether stderr is a terminal and colour is wanted.
pub(crate) fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Whether stdin and stderr are terminals (someone can answer a prompt and see progress).
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Prints data (plans, reports, JSON) on stdout.
pub(crate) fn out(text: &str) {
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
}

/// `-q`: notes are not printed.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns notes off (`-q`) or on.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `-q` turned notes off.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a message line on stderr (not with `-q`).
pub(crate) fn note(text: &str) {
    if quiet() {
        return;
    }
    eprintln!("{text}");
}

/// Prints a warning on stderr.
pub(crate) fn warn(text: &str) {
    if use_color() {
        eprintln!("\x1b[33mwarning\x1b[0m: {text}");
    } else {
        eprintln!("warning: {text}");
    }
}

/// Prints an error report on stderr.
pub(crate) fn error(report: &miette::Report) {
    eprintln!("{report:?}");
}

/// Says loudly that the emulator is in use.
pub(crate) fn sim_banner(world: &str) {
    let text = format!(
        "using the bundled emulator (--cloud sim, world {world}): nothing here touches Alibaba Cloud"
    );
    if use_color() {
        eprintln!("\x1b[1;35m▶ {text}\x1b[0m");
    } else {
        eprintln!("▶ {text}");
    }
}

/// Asks `question` on stderr and reads a line from stdin.
pub(crate) fn ask(question: &str) -> std::io::Result<String> {
    eprint!("{question} ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// What the progress line counts besides actions: the API calls and the throttled answers
/// so far (read from the provider while the apply runs).
pub(crate) struct Counters {
    /// API calls made so far.
    pub(crate) calls: Box<dyn Fn() -> u64 + Send>,
    /// Throttled answers so far.
    pub(crate) throttled: Box<dyn Fn() -> u64 + Send>,
}

/// One executor event as a line, or `None` for the events of an unchanged resource (a
/// no-op is counted, not printed: a fleet apply changing ten workspaces prints ten, not
/// thousands). `done` says whether the action ended.
fn event_line(event: flinkform_apply::Event) -> Option<(String, bool)> {
    use flinkform_apply::Event;
    use flinkform_plan::Op;
    Some(match event {
        Event::Started { op: Op::NoOp, .. } | Event::Finished { op: Op::NoOp, .. } => {
            return None;
        }
        Event::Started { addr, op } => (format!("{addr}: {op}…"), false),
        Event::Waiting { addr, status } => (format!("{addr}: waiting ({status})"), false),
        Event::Retrying {
            addr,
            attempt,
            error,
        } => (format!("{addr}: retry {attempt} after: {error}"), false),
        Event::Finished { addr, op, cloud_id } => {
            let id = cloud_id.map(|c| format!(" [{c}]")).unwrap_or_default();
            (format!("{addr}: {op} done{id}"), true)
        }
        Event::Failed { addr, error } => (format!("{addr}: FAILED: {error}"), true),
        Event::Skipped { addr, because } => (
            if because.kind() == flinkform_core::ResourceKind::Gate {
                format!("{addr}: waits for gate `{because}`")
            } else {
                format!("{addr}: skipped because `{because}` failed")
            },
            true,
        ),
    })
}

/// Shows executor events. Unchanged resources are only counted (one line at the end).
/// On a terminal: the lines of actions that ended (and retries) above one progress line
/// with actions done of `total`, API calls, throttled answers and an estimate of the time
/// left. Elsewhere (CI logs, pipes): plain lines, no progress line.
pub(crate) async fn progress(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<flinkform_apply::Event>,
    total: usize,
    counters: Counters,
) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    let mut unchanged = 0usize;
    let bar = (std::io::stderr().is_terminal() && !quiet()).then(|| {
        let bar = ProgressBar::with_draw_target(
            Some(u64::try_from(total).unwrap_or(u64::MAX)),
            ProgressDrawTarget::stderr(),
        );
        let style = ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:24}] {pos}/{len} actions · {msg} · about {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    while let Some(event) = rx.recv().await {
        let retry = matches!(event, flinkform_apply::Event::Retrying { .. });
        let noop_done = matches!(
            event,
            flinkform_apply::Event::Finished {
                op: flinkform_plan::Op::NoOp,
                ..
            }
        );
        let Some((line, done)) = event_line(event) else {
            // Each no-op sends a start and a finish: count it once, as one action done.
            unchanged += 1;
            if let (true, Some(bar)) = (noop_done, &bar) {
                bar.inc(1);
            }
            continue;
        };
        let Some(bar) = &bar else {
            note(&line);
            continue;
        };
        if done {
            bar.inc(1);
        }
        if done || retry {
            bar.println(&line);
        }
        bar.set_message(format!(
            "{} API calls, {} throttled",
            (counters.calls)(),
            (counters.throttled)()
        ));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let unchanged = unchanged / 2;
    if unchanged > 0 {
        note(&format!(
            "{unchanged} unchanged resource{} not shown.",
            if unchanged == 1 { "" } else { "s" }
        ));
    }
}
