//! The CLI contract: exit codes, diagnostics, JSON output, safety refusals.

use crate::harness::Sandbox;

#[test]
fn invalid_spec_exits_1_with_file_line_column_and_help() {
    let sb = Sandbox::new();
    sb.write(
        "bad.yaml",
        "apiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata:\n  name: 9bad\nspec:\n  account: main\n  region: ap-southeast-1\n  zone: ap-southeast-1a\n  billing: { method: pay-as-you-go, autoRenew: true }\n  network:\n    vpc: { create: { cidr: 10.0.0.0/16 } }\n    vSwitches: []\n  storage:\n    ossBucket: { name: bad-bucket-name }\n",
    );
    let run = sb.run(&["validate", "bad.yaml"]).expect(1);
    assert!(run.stderr.contains("bad.yaml:4:9"), "{}", run.stderr);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn plan_refuses_to_replace_a_protected_workspace() {
    let sb = Sandbox::new();
    let spec = std::fs::read_to_string(sb.path().join("examples/quickstart.yaml")).expect("read");
    let protected = spec.replace("protect: false", "protect: true");
    sb.write("ws.yaml", &protected);
    sb.run(&["apply", "--auto-approve", "ws.yaml"]).expect(0);
    sb.write(
        "ws.yaml",
        &protected.replace("quickstart-flink-demo", "quickstart-flink-other"),
    );
    let plan = sb.run(&["plan", "ws.yaml"]).expect(1);
    assert!(
        plan.stderr.contains("flink_workspace.quickstart"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("--allow-replace"), "{}", plan.stderr);
    // With the flag the plan shows the replacement and why; the old bucket leaves the
    // specs but holds the workspace's directories, so it is kept and reported, and deleting
    // it needs its own permission.
    let plan = sb
        .run(&[
            "plan",
            "--allow-replace",
            "flink_workspace.quickstart",
            "--detailed-exitcode",
            "ws.yaml",
        ])
        .expect(2);
    assert!(
        plan.stdout.contains("-/+ flink_workspace.quickstart"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("bucket"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("oss_bucket.quickstart-flink-demo: holds 4 object(s)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("`--allow-destroy oss_bucket.quickstart-flink-demo` deletes it"),
        "{}",
        plan.stdout
    );
}

#[test]
fn plan_json_is_versioned_and_machine_readable() {
    let sb = Sandbox::new();
    let run = sb
        .run(&[
            "plan",
            "--json",
            "--detailed-exitcode",
            "examples/quickstart.yaml",
        ])
        .expect(2);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON on stdout");
    assert_eq!(plan["format_version"], "1");
    assert_eq!(plan["summary"]["add"], 8, "{plan}");
}

#[test]
fn a_state_is_never_applied_to_another_cloud() {
    let a = Sandbox::new();
    a.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let b = Sandbox::new();
    b.write(
        ".flinkform/state.json",
        &std::fs::read_to_string(a.path().join(".flinkform/state.json")).expect("state"),
    );
    let plan = b.run(&["plan", "examples/quickstart.yaml"]).expect(1);
    assert!(plan.stderr.contains("world"), "{}", plan.stderr);
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let sb = Sandbox::new();
    let run = sb.run(&["apply", "examples/quickstart.yaml"]).expect(1);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
}

#[test]
fn graph_prints_dot() {
    let sb = Sandbox::new();
    let run = sb.run(&["graph", "examples/quickstart.yaml"]).expect(0);
    assert!(
        run.stdout.starts_with("digraph flinkform {"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("flink_workspace.quickstart"),
        "{}",
        run.stdout
    );
}

#[test]
fn schema_prints_the_committed_schema() {
    let sb = Sandbox::new();
    let run = sb.run(&["schema"]).expect(0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../specs/flinkform.schema.json"
    ))
    .expect("schema file");
    assert_eq!(run.stdout, committed);
}

#[test]
fn help_lists_every_command() {
    let sb = Sandbox::new();
    let run = sb.run(&["--help"]).expect(0);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn a_held_state_lock_is_reported_with_its_holder() {
    let sb = Sandbox::new();
    let backend = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"));
    let lock = backend.lock("apply").expect("lock");
    let run = sb.run(&["plan", "examples/quickstart.yaml"]).expect(1);
    assert!(
        run.stderr.contains(&lock.info().id),
        "the holder's lock id is shown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("force-unlock"), "{}", run.stderr);
    drop(lock);
    sb.run(&["plan", "examples/quickstart.yaml"]).expect(0);
}

#[test]
fn state_list_and_show_read_the_recorded_resources() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let list = sb.run(&["state", "list"]).expect(0);
    assert!(
        list.stdout.contains("flink_workspace.quickstart\tf-"),
        "{}",
        list.stdout
    );
    let show = sb
        .run(&["state", "show", "flink_workspace.quickstart"])
        .expect(0);
    let r: serde_json::Value = serde_json::from_str(&show.stdout).expect("JSON");
    assert_eq!(r["attrs"]["charge_type"], "POST", "{r}");
    let missing = sb.run(&["state", "show", "vpc.nope"]).expect(1);
    assert!(missing.stderr.contains("state list"), "{}", missing.stderr);
}

#[test]
fn sim_serve_prints_its_endpoint_and_credentials() {
    use std::io::BufRead as _;
    let sb = Sandbox::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flinkform"))
        .args(["sim", "serve", "--port", "0", "--account", "main"])
        .current_dir(sb.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let endpoint = lines.next().expect("a line").expect("utf-8");
    let account = lines.next().expect("a line").expect("utf-8");
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(
        endpoint.starts_with("endpoint http://127.0.0.1:"),
        "{endpoint}"
    );
    assert!(account.starts_with("account main: uid "), "{account}");
    assert!(account.contains("access key id"), "{account}");
}

#[test]
fn a_spec_that_is_not_utf8_is_named_as_such() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path().join("latin1.yaml"),
        b"apiVersion: flinkform/v1\nkind: caf\xe9\n",
    )
    .expect("write");
    let run = sb.run(&["validate", "latin1.yaml"]).expect(1);
    assert!(
        run.stderr
            .contains("`latin1.yaml` is not UTF-8 text: invalid byte 0xE9 at latin1.yaml:2:10\n"),
        "{}",
        run.stderr
    );
    // The column counts characters, not bytes, of the valid text before the byte.
    let mut mixed = "apiVersion: flinkform/v1\n\nmetadata:\n  name: café-ü"
        .as_bytes()
        .to_vec();
    mixed.extend_from_slice(b"\xff tail\n");
    std::fs::write(sb.path().join("mixed.yaml"), mixed).expect("write");
    let run = sb.run(&["validate", "mixed.yaml"]).expect(1);
    assert!(
        run.stderr
            .contains("`mixed.yaml` is not UTF-8 text: invalid byte 0xFF at mixed.yaml:4:15\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pay_as_you_go_plan_needs_usd_100_of_balance() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "42.50"])
        .expect(0);
    let plan = sb.run(&["plan", "examples/quickstart.yaml"]).expect(1);
    assert!(
        plan.stderr.contains("plan::insufficient_balance"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("examples/quickstart.yaml:14:13"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("USD 42.50"), "{}", plan.stderr);
    // A subscription does not need the balance check.
    sb.run(&["plan", "examples/subscription.yaml"]).expect(0);
    assert_eq!(
        sb.world().summary()["main"].orders,
        0,
        "nothing was ordered"
    );
}
