//! Exactly once on the update path: a quota change whose answer is lost is read back
//! before it is repeated, so it is ordered (and billed) once; every action makes one
//! mutating call, so a failure of the renewal change cannot repeat the quota change.

use crate::harness::Sandbox;

/// `examples/subscription.yaml` with quota `cu` and auto-renewal `renew`.
fn subscription(sb: &Sandbox, cu: u32, renew: bool) -> String {
    let spec = std::fs::read_to_string(sb.path().join("examples/subscription.yaml")).expect("read");
    spec.replace("quota: { cu: 16 }", &format!("quota: {{ cu: {cu} }}"))
        .replace("autoRenew: true", &format!("autoRenew: {renew}"))
}

fn modification_orders(sb: &Sandbox) -> usize {
    sb.world().orders_of("main", "ModifyPrepayInstanceSpec")
}

#[test]
fn a_quota_change_whose_answer_is_lost_is_ordered_once() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    assert_eq!(modification_orders(&sb), 0);
    sb.write("sub.yaml", &subscription(&sb, 24, false));
    sb.write(
        "faults.json",
        r#"{"lose_response": [{"action": "ModifyPrepayInstanceSpec"}], "errors": [{"action": "SetRenewal", "burst": {"after": 0, "count": 1}, "status": 503, "code": "ServiceUnavailable"}]}"#,
    );
    let plan = sb.run(&["plan", "sub.yaml"]).expect(0);
    assert!(
        plan.stdout.contains("step 1 of 2 (one API call per step)"),
        "{}",
        plan.stdout
    );
    let apply = sb
        .run(&[
            "--sim-faults",
            "faults.json",
            "apply",
            "--auto-approve",
            "sub.yaml",
        ])
        .expect(0);
    assert!(
        apply.stdout.contains("Apply complete"),
        "{}\n{}",
        apply.stdout,
        apply.stderr
    );
    assert_eq!(
        modification_orders(&sb),
        1,
        "the lost answer was read back, not ordered again: {}",
        apply.stderr
    );
    let calls = sb.world().calls().clone();
    assert_eq!(calls.get("ModifyPrepayInstanceSpec"), Some(&1), "{calls:?}");
    // SetRenewal failed once (503) and was retried: it is idempotent.
    assert_eq!(calls.get("SetRenewal"), Some(&2), "{calls:?}");
    let ws = sb
        .world()
        .instances("main")
        .expect("instances")
        .into_iter()
        .find(|i| i.name == "analytics-sub")
        .expect("workspace");
    assert_eq!(ws.cpu, Some(24));
    assert_ne!(ws.renew_status, "AutoRenewal");
    sb.run(&["plan", "--detailed-exitcode", "sub.yaml"])
        .expect(0);
}
