//! The whole life of a workspace through the binary: apply, convergence, drift made in the
//! console, repair, destroy; and convergence of every example.

use crate::harness::Sandbox;

/// Live resources of account `main` in the emulator.
fn counts(sb: &Sandbox) -> flinkform_cloudsim::AccountSummary {
    sb.world().summary().remove("main").expect("account main")
}

#[test]
fn quickstart_applies_converges_drifts_repairs_and_destroys() {
    let sb = Sandbox::new();
    let apply = sb
        .run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    assert!(
        apply
            .stdout
            .contains("Plan: 8 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("Apply complete: 8 added"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stderr.contains("using the bundled emulator"),
        "the emulator must be announced: {}",
        apply.stderr
    );

    let c = counts(&sb);
    assert_eq!(
        (c.instances, c.namespaces, c.buckets, c.roles),
        (1, 2, 1, 1)
    );
    assert!(c.oss_opened);
    // The world seeds one existing VPC and vSwitch per account; the quickstart adds one each.
    assert_eq!((c.vpcs, c.vswitches), (2, 2));
    let ws = &sb.world().instances("main").expect("instances")[0];
    assert_eq!(ws.name, "quickstart");

    // Convergence: nothing left to do, and a second apply changes nothing in the cloud.
    let plan = sb
        .run(&["plan", "--detailed-exitcode", "examples/quickstart.yaml"])
        .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let serial_before = sb.state()["serial"].clone();
    let again = sb
        .run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert_eq!(
        counts(&sb).orders,
        c.orders,
        "a second apply placed an order"
    );
    assert_eq!(
        sb.state()["serial"],
        serial_before,
        "a no-op apply must not bump the serial"
    );

    // Someone deletes a project in the console: drift names it, apply repairs it.
    sb.run(&["sim", "console", "delete-project", "quickstart", "etl"])
        .expect(0);
    let drift = sb.run(&["drift", "examples/quickstart.yaml"]).expect(2);
    assert!(
        drift.stdout.contains("flink_project.quickstart/etl"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains("deleted outside flinkform"),
        "{}",
        drift.stdout
    );
    let json = sb
        .run(&["drift", "--json", "examples/quickstart.yaml"])
        .expect(2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("drift JSON");
    assert_eq!(
        report["drift"][0]["address"], "flink_project.quickstart/etl",
        "{report}"
    );
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    sb.run(&["drift", "examples/quickstart.yaml"]).expect(0);
    assert_eq!(counts(&sb).namespaces, 2);

    // Destroy removes what it may and says what it kept.
    let destroy = sb.run(&["destroy", "--auto-approve"]).expect(0);
    assert!(
        destroy.stdout.contains("oss_service.main"),
        "{}",
        destroy.stdout
    );
    assert!(
        destroy.stdout.contains("ram_role.main"),
        "{}",
        destroy.stdout
    );
    // The bucket holds the workspace's four directories (seed 000): it is kept, and stays
    // in state with the OSS activation it needs, until `--allow-destroy` names it.
    assert!(
        destroy
            .stdout
            .contains("oss_bucket.quickstart-flink-demo: holds 4 object(s)"),
        "{}",
        destroy.stdout
    );
    let c = counts(&sb);
    assert_eq!(
        (c.instances, c.namespaces, c.buckets, c.vpcs, c.vswitches),
        (0, 0, 1, 1, 1)
    );
    assert_eq!(c.roles, 1, "the shared RAM role is kept");
    let state = sb.state();
    let kept: Vec<&str> = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["address"].as_str())
        .collect();
    assert_eq!(
        kept,
        ["oss_service.main", "oss_bucket.quickstart-flink-demo"],
        "{state}"
    );
}

#[test]
fn subscription_quota_and_auto_renew_drift_is_found_and_repaired() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    sb.run(&["plan", "--detailed-exitcode", "examples/subscription.yaml"])
        .expect(0);

    sb.run(&["sim", "console", "set-quota", "analytics-sub", "24"])
        .expect(0);
    sb.run(&["sim", "console", "set-auto-renew", "analytics-sub", "false"])
        .expect(0);
    let drift = sb.run(&["drift", "examples/subscription.yaml"]).expect(2);
    assert!(
        drift.stdout.contains("flink_workspace.analytics-sub"),
        "{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("cu"), "{}", drift.stdout);
    assert!(drift.stdout.contains("auto_renew"), "{}", drift.stdout);

    let plan = sb
        .run(&["plan", "--detailed-exitcode", "examples/subscription.yaml"])
        .expect(2);
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    sb.run(&["drift", "examples/subscription.yaml"]).expect(0);
    sb.run(&["plan", "--detailed-exitcode", "examples/subscription.yaml"])
        .expect(0);
}

#[test]
fn a_deleted_vswitch_is_reported_as_drift() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let state = sb.state();
    let vsw = state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == "vswitch.quickstart[0]"))
        .and_then(|r| r["cloud_id"].as_str())
        .expect("vswitch in state")
        .to_owned();
    sb.run(&["sim", "console", "delete-vswitch", &vsw])
        .expect(0);
    let drift = sb.run(&["drift", "examples/quickstart.yaml"]).expect(2);
    assert!(
        drift.stdout.contains("vswitch.quickstart[0]"),
        "{}",
        drift.stdout
    );
}

#[test]
fn every_example_converges() {
    let examples: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"))
            .expect("examples")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
    assert!(examples.len() >= 4, "{examples:?}");
    for name in examples {
        let sb = Sandbox::new();
        let path = format!("examples/{name}");
        // Gated examples (marketplace) stop with exit code 3; the gates are passed with the
        // emulator's outbox code (or `done`) until apply succeeds.
        let runs = crate::marketplace::apply_through_gates(&sb, &path);
        let last = runs.last().expect("a run");
        assert_eq!(last.code, 0, "{name}: {last:?}");
        let plan = sb.run(&["plan", "--detailed-exitcode", &path]).expect(0);
        assert!(
            plan.stdout.contains("No changes."),
            "{name}: {}",
            plan.stdout
        );
        sb.run(&["drift", &path]).expect(0);
    }
}
