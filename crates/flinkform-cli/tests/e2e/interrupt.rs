//! Ctrl-C during an apply: the first SIGINT stops starting new calls, lets the ones in flight
//! finish and be recorded, saves the in-process emulator's world and exits 130; the next plan
//! shows no false drift, and the next apply converges.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use crate::harness::Sandbox;

/// Cloud seconds per wall-clock second at which a workspace takes seconds to create.
const SLOW: &str = "100";

#[test]
fn ctrl_c_during_the_workspace_wait_exits_130_and_the_next_apply_converges() {
    let sb = Sandbox::new();
    let mut child = sb
        .command(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .env("FLINKFORM_SIM_TIME_SCALE", SLOW)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flinkform");
    let mut stdout = child.stdout.take().expect("stdout");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    // The progress line of the workspace wait: the workspace is created and recorded.
    loop {
        let line = lines
            .next()
            .expect("apply ended before the workspace wait")
            .expect("stderr line");
        let waiting = line.starts_with("flink_workspace.quickstart: waiting (");
        seen.push(line);
        if waiting {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    seen.extend(lines.map_while(Result::ok));
    let code = child.wait().expect("wait").code();
    let stdout = out_reader.join().expect("stdout");
    let stderr = seen.join("\n");
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
