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

/// Shows executor events: a spinner per running action on a terminal, plain lines otherwise
/// (CI logs, pipes).
pub(crate) async fn progress(mut rx: tokio::sync::mpsc::UnboundedReceiver<flinkform_apply::Event>) {
    use flinkform_apply::Event;
    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

    let bars = (std::io::stderr().is_terminal() && !quiet()).then(MultiProgress::new);
    let style = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut running = std::collections::BTreeMap::<String, ProgressBar>::new();
    while let Some(event) = rx.recv().await {
        let (addr, line, done) = match event {
            Event::Started { addr, op } => (addr.to_string(), format!("{addr}: {op}…"), false),
            Event::Waiting { addr, status } => (
                addr.to_string(),
                format!("{addr}: waiting ({status})"),
                false,
            ),
            Event::Retrying {
                addr,
                attempt,
                error,
            } => (
                addr.to_string(),
                format!("{addr}: retry {attempt} after: {error}"),
                false,
            ),
            Event::Finished { addr, op, cloud_id } => {
                let id = cloud_id.map(|c| format!(" [{c}]")).unwrap_or_default();
                (addr.to_string(), format!("{addr}: {op} done{id}"), true)
            }
            Event::Failed { addr, error } => {
                (addr.to_string(), format!("{addr}: FAILED: {error}"), true)
            }
            Event::Skipped { addr, because } => (
                addr.to_string(),
                if because.kind() == flinkform_core::ResourceKind::Gate {
                    format!("{addr}: waits for gate `{because}`")
                } else {
                    format!("{addr}: skipped because `{because}` failed")
                },
                true,
            ),
        };
        let Some(multi) = &bars else {
            note(&line);
            continue;
        };
        let bar = running.entry(addr.clone()).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(style.clone());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        if done {
            bar.finish_with_message(line);
            running.remove(&addr);
        } else {
            bar.set_message(line);
        }
    }
}
