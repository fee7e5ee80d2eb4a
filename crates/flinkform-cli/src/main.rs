//! The `flinkform` binary: parses arguments, runs one command, renders its result and picks
//! the exit code. This is the only crate that prints or knows exit codes.

mod args;
mod backend;
mod cloud;
mod commands;
mod error;
mod everyday;
mod files;
mod gates;
mod import;
mod interrupt;
mod report;
mod saved;
mod state_cmds;
mod view;

use std::process::ExitCode;

/// mimalloc (its v2), not the system allocator: a fleet's refresh makes millions of
/// short-lived allocations, which glibc's allocator serves at about twice the CPU; v3 held on
/// to what the refresh freed (a quarter more peak RSS at the same heap). BENCHMARKS.md,
/// "Fleet".
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let cli = match everyday::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    everyday::init_tracing(&cli.global);
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
    // One thread: flinkform waits on the network (even a fleet's loopback refresh is
    // bounded by the cloud's answers), and on one thread each phase reuses the memory the
    // one before freed (an allocator keeps a heap per thread): the loopback no-op plan of
    // 1,000 peaks at about 90 MiB against about 100 on two workers, at the same CPU.
    // BENCHMARKS.md, "Fleet".
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
    let run = async {
        cloud::preflight(&cli)?;
        commands::run(cli).await
    };
    match runtime.block_on(run) {
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
