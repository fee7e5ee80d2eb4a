//! The `flinkform` binary: parses arguments, runs one command, renders its result and picks
//! the exit code. This is the only crate that prints or knows exit codes.

mod args;
mod cloud;
mod commands;
mod error;
mod files;
mod gates;
mod import;
mod interrupt;
mod report;
mod saved;
mod view;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::Cli;

/// Exit codes (specs/cli.md): 0 success / no changes, 1 error, 2 changes or drift present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success, nothing to change.
    Ok,
    /// Changes present (`plan --detailed-exitcode`) or drift found (`drift`).
    Changes,
    /// `apply` stopped at a gate: a step only a person can complete (exit code 3).
    Gated,
    /// `apply` or `destroy` was interrupted (Ctrl-C, SIGTERM) and stopped cleanly (exit
    /// code 130).
    Interrupted,
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(saved::normalize_args(std::env::args_os()));
    init_tracing();
    miette::set_hook(Box::new(|_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(view::use_color())
                .unicode(view::use_color())
                .width(100)
                .build(),
        )
    }))
    .ok();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            view::error(&miette::Report::msg(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::Changes) => ExitCode::from(2),
        Ok(Exit::Gated) => ExitCode::from(3),
        Ok(Exit::Interrupted) => ExitCode::from(130),
        Err(report) => {
            view::error(&report);
            ExitCode::from(1)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("FLINKFORM_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
