//! Seed 001 (the China-site activation guide, 开通流程) from the CLI: a China-site account,
//! a pay-as-you-go workspace in `cn-hangzhou`, applied, converged and destroyed; and the
//! pay-as-you-go balance rule in CNY, the same at plan time and at apply time.

use crate::harness::Sandbox;

const SPEC: &str = "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: analytics-cn
  labels:
    site: china
spec:
  account: cn
  region: cn-hangzhou
  zone: cn-hangzhou-h
  billing:
    method: pay-as-you-go
  network:
    vpc: { create: { cidr: 10.50.0.0/16 } }
    vSwitches:
      - { create: { cidr: 10.50.1.0/24 } }
  storage:
    ossBucket: { name: analytics-cn-flink }
  projects:
    - { name: etl }
  protect: false
";

fn summary(sb: &Sandbox) -> flinkform_cloudsim::AccountSummary {
    sb.world().summary().remove("cn").expect("account cn")
}

/// Plan and apply stderr with the renderer's wrapping undone.
fn words(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_china_site_pay_as_you_go_workspace_applies_converges_and_destroys() {
    let sb = Sandbox::new();
    let made = sb
        .run(&["sim", "console", "create-account", "cn", "--site", "china"])
        .expect(0);
    assert!(
        format!("{}{}", made.stdout, made.stderr).contains("China site"),
        "{made:?}"
    );
    sb.write("cn.yaml", SPEC);

    // CNY 500.00 is below the CNY minimum: the plan names it, and nothing is ordered.
    sb.run(&["sim", "console", "set-balance", "500", "--account", "cn"])
        .expect(0);
    let before = sb.world().mutating_calls();
    let plan = sb.run(&["plan", "cn.yaml"]).expect(1);
    let err = words(&plan.stderr);
    assert!(err.contains("plan::insufficient_balance"), "{err}");
    assert!(
        err.contains("account `cn` has CNY 500.00 available; a pay-as-you-go workspace needs at least CNY 700.00"),
        "{err}"
    );
    sb.run(&["apply", "--auto-approve", "cn.yaml"]).expect(1);
    assert_eq!(sb.world().mutating_calls(), before, "nothing was ordered");
    assert_eq!(summary(&sb).instances, 0);

    // CNY 800.00 passes the plan's check and the executor's re-check (the same rule).
    sb.run(&["sim", "console", "set-balance", "800", "--account", "cn"])
        .expect(0);
    let plan = sb.run(&["plan", "cn.yaml"]).expect(0);
    assert!(
        plan.stdout.contains(
            "available balance CNY 800.00; a pay-as-you-go order needs at least CNY 700.00"
        ),
        "{}",
        plan.stdout
    );
    let apply = sb.run(&["apply", "--auto-approve", "cn.yaml"]).expect(0);
    assert!(
        apply.stdout.contains("Apply complete: 8 added"),
        "{}",
        apply.stdout
    );
    let c = summary(&sb);
    assert_eq!(
        (c.instances, c.namespaces, c.buckets, c.roles),
        (1, 2, 1, 1)
    );
    assert!(c.oss_opened);
    let ws = &sb.world().instances("cn").expect("instances")[0];
    assert_eq!(
        (
            ws.name.as_str(),
            ws.region.as_str(),
            ws.charge_type.as_str()
        ),
        ("analytics-cn", "cn-hangzhou", "POST")
    );
    assert_eq!(ws.status, "RUNNING");

    // Converged: nothing left to do, no drift.
    let plan = sb
        .run(&["plan", "--detailed-exitcode", "cn.yaml"])
        .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    sb.run(&["drift", "cn.yaml"]).expect(0);

    // Destroy: the workspace, its projects and network go; the bucket holds the workspace's
    // directories and is kept (as for the international quickstart) with the activation.
    let destroy = sb.run(&["destroy", "--auto-approve"]).expect(0);
    assert!(
        destroy
            .stdout
            .contains("oss_bucket.analytics-cn-flink: holds 4 object(s)"),
        "{}",
        destroy.stdout
    );
    let c = summary(&sb);
    assert_eq!((c.instances, c.namespaces, c.buckets), (0, 0, 1));
    // The account's pre-existing network is all the network that is left.
    assert_eq!((c.vpcs, c.vswitches), (1, 1));
}
