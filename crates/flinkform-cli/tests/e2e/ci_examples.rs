//! The CI examples (`examples/ci/*.yml`) cannot rot: their `flinkform` command lines are
//! read from the files and run, in the order the pipeline runs them, against the emulator
//! (`FLINKFORM_CLOUD=sim` from the harness, where the examples target the real cloud), each
//! with the exit code the pipeline relies on.

use std::path::Path;

use crate::harness::{Run, Sandbox};

/// One `flinkform` command line of an example: its arguments, and the file its stdout is
/// redirected to.
#[derive(Debug)]
struct Step {
    args: Vec<String>,
    stdout_to: Option<String>,
}

impl Step {
    fn subcommand(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }
}

/// Every line of `file` (a `run:` block line or a `script:` entry) that runs `flinkform`,
/// in file order. Only a plain command with an optional `> FILE` is allowed, so that what
/// the test runs is what the pipeline runs.
fn steps(file: &str) -> Vec<Step> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/ci")
            .join(file),
    )
    .expect("example");
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("- ").unwrap_or(line);
        let line = line.strip_prefix("run: ").unwrap_or(line);
        let Some(rest) = line.strip_prefix("flinkform ") else {
            continue;
        };
        let mut tokens = rest.split_whitespace();
        let mut args = Vec::new();
        let mut stdout_to = None;
        while let Some(t) = tokens.next() {
            assert!(
                !matches!(t, "|" | "||" | "&&" | ";" | "2>" | "<") && !t.contains('$'),
                "{file}: `{line}` is more than a plain command; the test cannot run it as the pipeline does"
            );
            if t == ">" {
                stdout_to = Some(tokens.next().expect("redirect target").to_owned());
                assert!(tokens.next().is_none(), "{file}: `{line}`");
                break;
            }
            args.push(t.to_owned());
        }
        out.push(Step { args, stdout_to });
    }
    out
}

fn run_step(sb: &Sandbox, step: &Step) -> Run {
    let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
    let run = sb.run(&args);
    if let Some(to) = &step.stdout_to {
        sb.write(to, &run.stdout);
    }
    run
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let spec = std::fs::read_to_string(sb.path().join("examples/subscription.yaml")).expect("spec");
    sb.write("specs/subscription.yaml", &spec);
    sb
}

/// Runs every step but the scheduled drift report: plan with `-out` and the Markdown
/// summary, then apply of the saved plan; the stack then has converged.
fn pull_request_then_merge(file: &str) {
    let steps = steps(file);
    let subcommands: Vec<&str> = steps.iter().map(Step::subcommand).collect();
    for needed in ["plan", "show", "apply", "drift"] {
        assert!(
            subcommands.contains(&needed),
            "{file} has no `flinkform {needed}`"
        );
    }
    let sb = sandbox();
    for step in steps.iter().filter(|s| s.subcommand() != "drift") {
        let run = run_step(&sb, step).expect(0);
        match step.subcommand() {
            "plan" => assert!(step.args.iter().any(|a| a == "-out"), "{file}: {step:?}"),
            "show" => {
                let md = std::fs::read_to_string(
                    sb.path()
                        .join(step.stdout_to.as_deref().expect("show writes a file")),
                )
                .expect("summary");
                assert!(
                    md.contains("flink_workspace.analytics-sub"),
                    "{file}: the summary names the workspace: {md}"
                );
            }
            "apply" => assert!(run.stdout.contains("Apply complete"), "{}", run.stdout),
            other => panic!("{file}: unexpected `flinkform {other}`"),
        }
    }
    let next = sb.run(&["plan", "--detailed-exitcode", "specs/"]).expect(0);
    assert!(next.stdout.contains("No changes."), "{}", next.stdout);
}

/// The whole sequence, with the scheduled drift report: exit 0 without drift, exit 2 (a
/// failing job) after a console change, the report written either way.
fn whole_pipeline(file: &str) {
    let steps = steps(file);
    let sb = sandbox();
    for step in &steps {
        run_step(&sb, step).expect(0);
    }
    sb.run(&["sim", "console", "set-quota", "analytics-sub", "20"])
        .expect(0);
    for step in steps.iter().filter(|s| s.subcommand() == "drift") {
        run_step(&sb, step).expect(2);
        if let Some(to) = &step.stdout_to {
            let report = std::fs::read_to_string(sb.path().join(to)).expect("report");
            assert!(report.contains("analytics-sub"), "{report}");
        }
    }
}

#[test]
fn github_actions_pull_request_and_merge_steps_run() {
    pull_request_then_merge("github-actions.yml");
}

#[test]
fn gitlab_ci_merge_request_and_main_steps_run() {
    pull_request_then_merge("gitlab-ci.yml");
}

#[test]
fn github_actions_whole_pipeline_with_drift_report_runs() {
    whole_pipeline("github-actions.yml");
}

#[test]
fn gitlab_ci_whole_pipeline_with_drift_report_runs() {
    whole_pipeline("gitlab-ci.yml");
}
