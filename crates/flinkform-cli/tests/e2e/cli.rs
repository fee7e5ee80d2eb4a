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
    // The old bucket leaves the specs, so deleting it needs its own permission.
    assert!(
        plan.stderr
            .contains("--allow-destroy oss_bucket.quickstart-flink-demo"),
        "{}",
        plan.stderr
    );
    // With both flags the plan shows the replacement and why.
    let plan = sb
        .run(&[
            "plan",
            "--allow-replace",
            "flink_workspace.quickstart",
            "--allow-destroy",
            "oss_bucket.quickstart-flink-demo",
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
