//! `fleet-bench`: the fleet benchmark (BENCHMARKS.md, "Fleet").

#![allow(clippy::print_stderr)]

use clap::Parser as _;
use flinkform_bench::{Args, print_table, run};

/// The allocator `flinkform` uses (`flinkform sim serve` included), for the emulator this
/// process serves the runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fleet-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(rows) => {
            print_table(&rows);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleet-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
