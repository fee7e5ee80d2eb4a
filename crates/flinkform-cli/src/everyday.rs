//! The everyday CLI contract (specs/cli.md, "Exit codes", "Logging", "Completions and man
//! page"): argument errors exit 1 (2 means changes or drift), `-v`/`-q` and `RUST_LOG`
//! besides `FLINKFORM_LOG`, shell completions (clap_complete) and the man page
//! (clap_mangen).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;

use clap::CommandFactory as _;
use clap::Parser as _;
use miette::Result;

use crate::Exit;
use crate::args::{Cli, GlobalArgs};
use crate::error::CliError;

/// After the top-level help: where the hidden emulator options are, and the exit codes.
pub(crate) const TOP_AFTER_HELP: &str = "\
Emulator options (--sim-world, --sim-time-scale, --sim-faults, --sim-endpoint): see `flinkform sim --help`.

Exit codes: 0 success (no changes), 1 error (usage errors too), 2 changes present (plan --detailed-exitcode) or drift found, 3 apply stopped at a gate, 130 interrupted.";

/// After `flinkform sim --help` and `sim serve --help`: the emulator options, which every
/// command accepts with `--cloud sim` but whose help only shows here.
pub(crate) const SIM_AFTER_HELP: &str = "\
Emulator options (accepted by every command, used with --cloud sim and by `sim serve`):
      --sim-world <PATH>          Emulator world file [default: .flinkform/sim-world.json] [env: FLINKFORM_SIM_WORLD]
      --sim-time-scale <SCALE>    Cloud seconds per wall-clock second (60 makes the 5-10 minutes of provisioning take 5-10 seconds) [env: FLINKFORM_SIM_TIME_SCALE]
      --sim-faults <PATH>         Fault plan (JSON, see specs/cloud-api.md) for the emulator this process starts [env: FLINKFORM_SIM_FAULTS]
      --sim-endpoint <URL>        Use an emulator already running at this URL (e.g. one started by `sim serve`) [env: FLINKFORM_SIM_ENDPOINT]";

/// Parses the command line. `--help` and `--version` print and end with exit 0; every
/// other argument error prints clap's message and ends with exit 1 (never 2, which means
/// "changes" to `--detailed-exitcode` and `drift` pipelines).
pub(crate) fn parse() -> std::result::Result<Cli, std::process::ExitCode> {
    match Cli::try_parse_from(crate::saved::normalize_args(std::env::args_os())) {
        Ok(cli) => Ok(cli),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                Err(std::process::ExitCode::from(1))
            } else {
                Err(std::process::ExitCode::SUCCESS)
            }
        }
    }
}

/// The log filter: `FLINKFORM_LOG`, else `RUST_LOG`, else from `-v`/`-q` (`warn` by
/// default). `-v` and `-vv` raise flinkform's own crates only (the HTTP stack's debug lines
/// carry URLs).
pub(crate) fn log_filter(global: &GlobalArgs, env: &dyn Fn(&str) -> Option<String>) -> String {
    for var in ["FLINKFORM_LOG", "RUST_LOG"] {
        if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
            return v;
        }
    }
    if global.quiet {
        return "error".to_owned();
    }
    let level = match global.verbose {
        0 => return "warn".to_owned(),
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let ours = [
        "flinkform",
        "flinkform_core",
        "flinkform_spec",
        "flinkform_plan",
        "flinkform_state",
        "flinkform_apply",
        "flinkform_alicloud",
        "flinkform_cloudsim",
    ];
    let mut filter = "warn".to_owned();
    for c in ours {
        filter.push_str(&format!(",{c}={level}"));
    }
    filter
}

/// Starts logging on stderr with [`log_filter`], and sets the quiet switch of the view.
pub(crate) fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    crate::view::set_quiet(global.quiet);
    let wanted = log_filter(global, &|k| std::env::var(k).ok());
    let filter = EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// `flinkform completions SHELL`: the completion script on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "flinkform", &mut std::io::stdout());
    Ok(Exit::Ok)
}

/// `flinkform man [--dir DIR]`: the man page (roff) on stdout, or one page per command
/// written into `DIR`.
pub(crate) fn man(dir: Option<&Path>) -> Result<Exit> {
    let cmd = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, &e))?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| CliError::io(dir, &e))?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| CliError::io(Path::new("<stdout>"), &e))?;
            crate::view::out(&String::from_utf8_lossy(&out));
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["flinkform"];
        argv.extend_from_slice(args);
        argv.push("schema");
        Cli::try_parse_from(argv).expect("parses").global
    }

    #[test]
    fn flinkform_log_wins_over_rust_log_over_flags() {
        let g = global(&["-vv"]);
        let both = |k: &str| match k {
            "FLINKFORM_LOG" => Some("trace".to_owned()),
            "RUST_LOG" => Some("info".to_owned()),
            _ => None,
        };
        assert_eq!(log_filter(&g, &both), "trace");
        let rust = |k: &str| (k == "RUST_LOG").then(|| "info".to_owned());
        assert_eq!(log_filter(&g, &rust), "info");
        let none = |_: &str| None;
        let f = log_filter(&g, &none);
        assert!(
            f.starts_with("warn,") && f.contains("flinkform_alicloud=debug"),
            "{f}"
        );
        assert_eq!(log_filter(&global(&[]), &none), "warn");
        assert_eq!(log_filter(&global(&["-q"]), &none), "error");
        assert!(log_filter(&global(&["-v"]), &none).contains("flinkform_apply=info"));
    }

    #[test]
    fn quiet_and_verbose_exclude_each_other() {
        assert!(Cli::try_parse_from(["flinkform", "-q", "-v", "schema"]).is_err());
    }

    #[test]
    fn emulator_options_are_hidden_but_listed_under_sim() {
        let mut cmd = Cli::command();
        let top = cmd.render_long_help().to_string();
        assert!(!top.contains("--sim-world <"), "{top}");
        assert!(top.contains("flinkform sim --help"), "{top}");
        let sim = cmd
            .find_subcommand_mut("sim")
            .expect("sim")
            .render_long_help()
            .to_string();
        assert!(sim.contains("--sim-time-scale"), "{sim}");
        // They still parse anywhere.
        let g = global(&["--sim-world", "w.json", "--sim-time-scale", "5"]);
        assert_eq!(g.sim_time_scale, Some(5.0));
    }
}
