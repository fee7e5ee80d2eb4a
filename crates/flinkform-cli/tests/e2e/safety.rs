//! Destroy and replace lose nothing by surprise: a subscription flinkform stops managing gets
//! its auto-renewal turned off as a planned action; a bucket holding job data is kept until
//! the user confirms its object count; a VPC with vSwitches is replaced in an order the
//! cloud accepts; a default project deleted in the console comes back with its quota.

use crate::harness::Sandbox;

fn instance(sb: &Sandbox, name: &str) -> flinkform_cloudsim::InstanceInfo {
    sb.world()
        .instances("main")
        .expect("instances")
        .into_iter()
        .find(|i| i.name == name)
        .expect("the workspace")
}

#[test]
fn destroying_a_subscription_turns_its_auto_renewal_off_first() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    assert_eq!(instance(&sb, "analytics-sub").renew_status, "AutoRenewal");

    let plan = sb.run(&["destroy", "--auto-approve"]).expect(0);
    assert!(
        plan.stdout
            .contains("turn auto-renewal off before flinkform stops managing this subscription"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("~ auto_renew = true -> false"),
        "{}",
        plan.stdout
    );
    let ws = instance(&sb, "analytics-sub");
    assert_eq!(ws.status, "RUNNING", "a subscription is never released");
    assert_ne!(ws.renew_status, "AutoRenewal", "{}", ws.renew_status);
    let calls = sb.world().calls().clone();
    assert_eq!(calls.get("SetRenewal"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DeleteInstance"), None, "{calls:?}");
}

#[test]
fn a_bucket_with_job_data_is_kept_until_its_object_count_is_confirmed() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "put-object",
        "quickstart-flink-demo",
        "flink-savepoints/job-1/_metadata",
        "--size",
        "2048",
    ])
    .expect(0);
    let objects = || {
        sb.world()
            .object_keys("quickstart-flink-demo")
            .map(|k| k.len())
    };
    assert_eq!(objects(), Some(5), "four directories and the savepoint");

    // Destroy keeps it and says why, with the count.
    let destroy = sb.run(&["destroy", "--auto-approve"]).expect(0);
    assert!(
        destroy
            .stdout
            .contains("oss_bucket.quickstart-flink-demo: holds 5 object(s)"),
        "{}",
        destroy.stdout
    );
    assert_eq!(objects(), Some(5));

    // Allowed without the count, or with another count: refused before any call.
    let before = sb.world().mutating_calls();
    let plan = sb
        .run(&[
            "destroy",
            "--auto-approve",
            "--allow-destroy",
            "oss_bucket.quickstart-flink-demo",
        ])
        .expect(1);
    assert!(
        plan.stderr.contains("plan::bucket_objects"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("--allow-destroy oss_bucket.quickstart-flink-demo=5"),
        "{}",
        plan.stderr
    );
    sb.run(&[
        "destroy",
        "--auto-approve",
        "--allow-destroy",
        "oss_bucket.quickstart-flink-demo=4",
    ])
    .expect(1);
    assert_eq!(sb.world().mutating_calls(), before);

    // Confirmed: the objects and the bucket go.
    sb.run(&[
        "destroy",
        "--auto-approve",
        "--allow-destroy",
        "oss_bucket.quickstart-flink-demo=5",
    ])
    .expect(0);
    assert_eq!(objects(), None, "the bucket is gone");
    assert_eq!(sb.world().summary()["main"].buckets, 0);
    let state = sb.state();
    assert_eq!(
        state["resources"].as_array().map(Vec::len),
        Some(0),
        "{state}"
    );
}

#[test]
fn a_vpc_with_vswitches_is_replaced_in_an_order_the_cloud_accepts() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/quickstart.yaml"])
        .expect(0);
    let spec = std::fs::read_to_string(sb.path().join("examples/quickstart.yaml")).expect("read");
    let moved = spec
        .replace("10.10.0.0/16", "10.30.0.0/16")
        .replace("10.10.1.0/24", "10.30.1.0/24");
    sb.write("moved.yaml", &moved);
    let plan = sb
        .run(&["plan", "--detailed-exitcode", "moved.yaml"])
        .expect(2);
    assert!(
        plan.stdout
            .contains("vpc.quickstart will be destroyed first, to be replaced"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stderr.contains("Warning"), "{}", plan.stderr);
    // The workspace uses the bucket, which holds its directories: confirm them.
    let apply = sb.run(&["apply", "--auto-approve", "moved.yaml"]).expect(0);
    assert!(
        apply.stdout.contains("Apply complete"),
        "{}\n{}",
        apply.stdout,
        apply.stderr
    );
    let c = sb.world().summary()["main"].clone();
    // The seeded VPC and vSwitch, plus the new ones; the old ones are gone.
    assert_eq!((c.vpcs, c.vswitches, c.instances), (2, 2, 1));
    sb.run(&["plan", "--detailed-exitcode", "moved.yaml"])
        .expect(0);
}

#[test]
fn a_default_project_deleted_in_the_console_comes_back() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "delete-project",
        "analytics-sub",
        "analytics-sub-default",
    ])
    .expect(0);
    let drift = sb.run(&["drift", "examples/subscription.yaml"]).expect(2);
    assert!(
        drift
            .stdout
            .contains("flink_project.analytics-sub/analytics-sub-default"),
        "{}",
        drift.stdout
    );
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    let ws = instance(&sb, "analytics-sub");
    assert_eq!(
        ws.namespaces
            .get("analytics-sub-default")
            .map(String::as_str),
        Some("SUCCESS"),
        "{:?}",
        ws.namespaces
    );
    assert_eq!(sb.world().calls().get("CreateNamespace"), Some(&3));
    sb.run(&["plan", "--detailed-exitcode", "examples/subscription.yaml"])
        .expect(0);
}
