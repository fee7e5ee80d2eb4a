//! flinkform changes only what it owns: a resource found in the cloud that this stack did
//! not create, import or journal is a plan error naming its owner and the ways out, and the
//! plan fails before any mutating call. Each test asserts from the emulator's call log that
//! the refused plan and apply changed nothing.

use crate::harness::Sandbox;

/// A pay-as-you-go workspace `name` in `region`/`zone` with a new VPC, one new vSwitch and
/// bucket `bucket`.
fn workspace(name: &str, region: &str, zone: &str, bucket: &str, cidr: &str) -> String {
    format!(
        "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: {name}
spec:
  account: main
  region: {region}
  zone: {zone}
  billing:
    method: pay-as-you-go
  network:
    vpc: {{ create: {{ cidr: {cidr}.0.0/16 }} }}
    vSwitches:
      - {{ create: {{ cidr: {cidr}.1.0/24 }} }}
  storage:
    ossBucket: {{ name: {bucket} }}
  protect: false
"
    )
}

/// Runs `plan` and `apply` of `spec` against the state `state`, expects both to fail with
/// exit 1 before any mutating call, and returns the plan's stderr with the renderer's line
/// wrapping undone (words joined by single spaces).
fn refused(sb: &Sandbox, state: &str, spec: &str) -> String {
    let before = sb.world().mutating_calls();
    let plan = sb.run(&["--state", state, "plan", spec]).expect(1);
    let apply = sb
        .run(&["--state", state, "apply", "--auto-approve", spec])
        .expect(1);
    assert!(
        !apply.stdout.contains("Apply complete"),
        "{}\n{}",
        apply.stdout,
        apply.stderr
    );
    assert_eq!(
        sb.world().mutating_calls(),
        before,
        "a refused plan made a mutating call:\n{}",
        apply.stderr
    );
    plan.stderr
        .split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

fn lineage(sb: &Sandbox) -> String {
    sb.state()["lineage"].as_str().expect("lineage").to_owned()
}

#[test]
fn a_second_stack_with_the_same_workspace_name_is_refused_and_names_the_first() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let a = lineage(&sb);
    let summary = sb.world().summary().remove("main").expect("main");
    sb.write(
        "b.yaml",
        &workspace(
            "quickstart",
            "ap-southeast-1",
            "ap-southeast-1a",
            "quickstart-b-flink",
            "10.30",
        ),
    );
    let err = refused(&sb, "b.json", "b.yaml");
    assert!(err.contains("plan::not_owned"), "{err}");
    assert!(
        err.contains("`flink_workspace.quickstart` would take over workspace"),
        "{err}"
    );
    assert!(err.contains(&a), "the owner's lineage is named: {err}");
    assert!(err.contains("b.yaml:4:9"), "file:line:column: {err}");
    assert!(err.contains("flinkform import"), "{err}");
    // A's VPC, vSwitch and workspace are untouched, and B created nothing.
    let after = sb.world().summary().remove("main").expect("main");
    assert_eq!(
        (after.instances, after.vpcs, after.vswitches, after.buckets),
        (
            summary.instances,
            summary.vpcs,
            summary.vswitches,
            summary.buckets
        )
    );
    // A still converges.
    sb.run(&["plan", "--detailed-exitcode", "examples/quickstart.yaml"])
        .expect(0);
}

#[test]
fn a_workspace_name_used_in_another_region_is_refused_before_the_order() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    sb.write(
        "eu.yaml",
        &workspace(
            "quickstart",
            "eu-central-1",
            "eu-central-1a",
            "quickstart-eu-flink",
            "10.40",
        ),
    );
    let err = refused(&sb, "eu.json", "eu.yaml");
    assert!(err.contains("region ap-southeast-1"), "{err}");
    assert!(
        err.contains("workspace names are unique in an account"),
        "{err}"
    );
}

#[test]
fn a_bucket_of_another_stack_in_another_region_is_never_adopted_or_deleted() {
    let sb = Sandbox::new();
    sb.write(
        "a.yaml",
        &workspace(
            "stack-a",
            "ap-southeast-1",
            "ap-southeast-1a",
            "shared-name-flink",
            "10.50",
        ),
    );
    sb.run(&["apply", "--auto-approve", "a.yaml"]).expect(0);
    let a = lineage(&sb);
    sb.write(
        "b.yaml",
        &workspace(
            "stack-b",
            "eu-central-1",
            "eu-central-1a",
            "shared-name-flink",
            "10.60",
        ),
    );
    let err = refused(&sb, "b.json", "b.yaml");
    assert!(
        err.contains("`oss_bucket.shared-name-flink` would take over bucket"),
        "{err}"
    );
    assert!(err.contains(&a), "{err}");
    assert!(err.contains("b.yaml:16:24"), "{err}");
    assert_eq!(sb.world().summary()["main"].buckets, 1);
}

#[test]
fn a_bucket_name_taken_by_another_account_is_refused() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "500", "--account", "other"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "create-bucket",
        "taken-elsewhere",
        "--region",
        "ap-southeast-1",
        "--account",
        "other",
    ])
    .expect(0);
    sb.write(
        "w.yaml",
        &workspace(
            "mine",
            "ap-southeast-1",
            "ap-southeast-1a",
            "taken-elsewhere",
            "10.70",
        ),
    );
    let err = refused(&sb, ".flinkform/state.json", "w.yaml");
    assert!(err.contains("another Alibaba Cloud account"), "{err}");
    assert!(err.contains("cannot be imported"), "{err}");
}

#[test]
fn an_existing_vswitch_in_another_zone_is_refused_before_the_order() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "500"]).expect(0);
    let made = sb
        .run(&[
            "sim",
            "console",
            "create-vswitch",
            "--vpc",
            "vpc-sim-existing",
            "--zone",
            "ap-southeast-1b",
            "--cidr",
            "10.99.7.0/24",
        ])
        .expect(0);
    let id = made
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("vsw-"))
        .expect("the new vSwitch id is printed")
        .to_owned();
    sb.write(
        "w.yaml",
        &format!(
            "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: zoned
spec:
  account: main
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: {{ id: vpc-sim-existing }}
    vSwitches:
      - {{ id: {id} }}
      - {{ create: {{ cidr: 10.99.1.0/24 }} }}
  storage:
    ossBucket: {{ name: zoned-flink }}
  protect: false
"
        ),
    );
    let err = refused(&sb, ".flinkform/state.json", "w.yaml");
    assert!(err.contains("plan::vswitch_zone"), "{err}");
    assert!(err.contains("w.yaml:14:15"), "{err}");
    assert!(
        err.contains("in zone ap-southeast-1b, but the workspace is in zone ap-southeast-1a"),
        "{err}"
    );
    // The created vSwitch overlaps the existing one of vpc-sim-existing.
    assert!(err.contains("plan::vswitch_cidr"), "{err}");
    assert!(err.contains("overlaps vSwitch vsw-sim-existing"), "{err}");
}
