//! Ctrl-C during an apply: the first SIGINT stops starting new calls, lets the ones in flight
//! finish and be recorded, saves the in-process emulator's world and exits 130; a second one
//! ends at once (exit 130). Either way the next plan shows no false drift, and the next apply
//! converges.

use std::io::{BufRead as _, BufReader, Lines, Read as _};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::thread::JoinHandle;

use crate::harness::Sandbox;

/// A running `flinkform` whose stderr is read line by line and whose stdout is collected.
struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
    seen: Vec<String>,
    stdout: JoinHandle<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start flinkform");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        Self {
            child,
            lines,
            seen: Vec::new(),
            stdout,
        }
    }

    /// Reads stderr until a line contains `text`.
    fn wait_for_line(&mut self, text: &str) {
        loop {
            let Some(Ok(line)) = self.lines.next() else {
                panic!("flinkform ended before `{text}`:\n{}", self.seen.join("\n"));
            };
            let found = line.contains(text);
            self.seen.push(line);
            if found {
                return;
            }
        }
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the end: exit code, stdout, stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        self.seen.extend(self.lines.map_while(Result::ok));
        let code = self.child.wait().expect("wait").code();
        let stdout = self.stdout.join().expect("stdout");
        (code, stdout, self.seen.join("\n"))
    }
}

/// The next plan explains what happened without false drift; the next apply converges and
/// the plan after it is empty.
fn converges_after(sb: &Sandbox) {
    let plan = sb.run(&["plan", "examples/quickstart.yaml"]).expect(0);
    assert!(
        !plan.stdout.contains("outside flinkform"),
        "{}",
        plan.stdout
    );
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let next = sb
        .run(&["plan", "--detailed-exitcode", "examples/quickstart.yaml"])
        .expect(0);
    assert!(next.stdout.contains("No changes."), "{}", next.stdout);
    assert_eq!(sb.world().instances("main").expect("instances").len(), 1);
    assert!(
        sb.state()["journal"].as_array().is_some_and(Vec::is_empty),
        "{}",
        sb.state()
    );
}

/// A fault plan that delays every `CreateNamespace` by `ms` wall-clock milliseconds.
fn slow_namespaces(sb: &Sandbox, ms: u64) {
    sb.write(
        "faults.json",
        &format!(r#"{{"latency": [{{"action": "CreateNamespace", "fixed_ms": {ms}}}]}}"#),
    );
}

#[test]
fn ctrl_c_lets_the_call_in_flight_finish_and_records_it() {
    let sb = Sandbox::new();
    slow_namespaces(&sb, 1_500);
    let mut run = Running::start(sb.command(&[
        "--sim-faults",
        "faults.json",
        "apply",
        "--auto-approve",
        "examples/quickstart.yaml",
    ]));
    run.wait_for_line("flink_project.quickstart/etl: create");
    run.interrupt();
    let (code, stdout, stderr) = run.finish();
    assert_eq!(
        code,
        Some(130),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The namespace's creation was under way: it finished and is recorded, no intent left.
    let state = sb.state();
    assert!(
        state["resources"].as_array().is_some_and(|r| r
            .iter()
            .any(|r| r["address"] == "flink_project.quickstart/etl")),
        "{state}"
    );
    assert!(
        state["journal"].as_array().is_some_and(Vec::is_empty),
        "{state}"
    );
    converges_after(&sb);
}

#[test]
fn a_second_ctrl_c_ends_at_once_and_the_journal_makes_it_safe() {
    let sb = Sandbox::new();
    slow_namespaces(&sb, 5_000);
    let mut run = Running::start(sb.command(&[
        "--sim-faults",
        "faults.json",
        "apply",
        "--auto-approve",
        "examples/quickstart.yaml",
    ]));
    run.wait_for_line("flink_project.quickstart/etl: create");
    run.interrupt();
    run.wait_for_line("interrupted: starting nothing new");
    run.interrupt();
    let (code, stdout, stderr) = run.finish();
    assert_eq!(
        code,
        Some(130),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stderr.contains("interrupted again: stopping at once"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("state recorded"),
        "it ended at once: {stdout}"
    );
    // The call in flight left its intent in the journal; the world was saved.
    let state = sb.state();
    assert!(
        state["journal"].as_array().is_some_and(|j| !j.is_empty()),
        "{state}"
    );
    assert_eq!(sb.world().instances("main").expect("instances").len(), 1);
    converges_after(&sb);
}

/// Cloud seconds per wall-clock second at which a workspace takes seconds to create.
const SLOW: &str = "100";

#[test]
fn ctrl_c_during_the_workspace_wait_exits_130_and_the_next_apply_converges() {
    let sb = Sandbox::new();
    let mut cmd = sb.command(&["apply", "--auto-approve", "examples/quickstart.yaml"]);
    cmd.env("FLINKFORM_SIM_TIME_SCALE", SLOW);
    let mut run = Running::start(cmd);
    // The progress line of the workspace wait: the workspace is created and recorded.
    run.wait_for_line("flink_workspace.quickstart: waiting (");
    run.interrupt();
    let (code, stdout, stderr) = run.finish();
    assert_eq!(
        code,
        Some(130),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("interrupted: ")
            && stdout.contains("not started; state recorded; run apply again to continue"),
        "{stdout}"
    );
    assert!(
        stderr.contains("interrupted: starting nothing new"),
        "{stderr}"
    );
    // The workspace's creation is recorded, and the saved world has it.
    assert!(
        sb.state()["resources"].as_array().is_some_and(|r| r
            .iter()
            .any(|r| r["address"] == "flink_workspace.quickstart")),
        "{}",
        sb.state()
    );
    assert_eq!(sb.world().instances("main").expect("instances").len(), 1);

    // No false drift: nothing was deleted outside flinkform.
    let plan = sb
        .command(&["plan", "examples/quickstart.yaml"])
        .env("FLINKFORM_SIM_TIME_SCALE", SLOW)
        .output()
        .expect("plan");
    let plan_out = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "{plan_out}");
    assert!(!plan_out.contains("outside flinkform"), "{plan_out}");
    assert!(
        !plan_out.contains("will be created\n  # flink_workspace"),
        "{plan_out}"
    );
    let drift = sb
        .command(&["drift", "examples/quickstart.yaml"])
        .env("FLINKFORM_SIM_TIME_SCALE", SLOW)
        .output()
        .expect("drift");
    let drift_out = String::from_utf8_lossy(&drift.stdout);
    assert!(!drift_out.contains("deleted"), "{drift_out}");

    // The next apply resumes (it waits for the workspace first) and converges.
    let apply = sb
        .command(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .env("FLINKFORM_SIM_TIME_SCALE", SLOW)
        .output()
        .expect("apply");
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    let next = sb
        .run(&["plan", "--detailed-exitcode", "examples/quickstart.yaml"])
        .expect(0);
    assert!(next.stdout.contains("No changes."), "{}", next.stdout);
    assert_eq!(sb.world().instances("main").expect("instances").len(), 1);
}
