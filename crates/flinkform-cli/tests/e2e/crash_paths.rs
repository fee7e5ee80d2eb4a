//! Exactly once on every path: the crash and lost-response matrices of what comes after the
//! first apply, an in-place update, a replacement and a destroy. Each scenario applies once,
//! snapshots the emulator's world and the state, and starts every run of its matrices from
//! a copy (`Scenario::snapshot`), so a matrix costs a run of the command under test per
//! mutating call, not a first apply each.

use std::collections::BTreeSet;

use flinkform_cloudsim::{InstanceInfo, World};

use crate::harness::Sandbox;
use crate::matrix::{Outcome, Scenario};

const SUBSCRIPTION: &str = "examples/subscription.yaml";
const QUICKSTART: &str = "examples/quickstart.yaml";
const BUCKET: &str = "quickstart-flink-demo";

/// The live workspace named `name`.
fn workspace(world: &World, name: &str, what: &str) -> InstanceInfo {
    let mut found: Vec<InstanceInfo> = world
        .instances("main")
        .expect("instances")
        .into_iter()
        .filter(|i| i.name == name)
        .collect();
    assert_eq!(found.len(), 1, "{what}: workspaces named {name}: {found:?}");
    found.remove(0)
}

/// The CU the cloud gives project `project` of workspace `id`.
fn project_cu(world: &World, id: &str, project: &str) -> Option<u64> {
    let json = serde_json::to_value(world).expect("world JSON");
    json["accounts"]
        .as_object()
        .expect("accounts")
        .values()
        .find_map(|a| a["instances"][id]["namespaces"][project]["spec"]["cpu"].as_u64())
}

/// How many calls of `action` the run made (the world counts from its creation).
fn calls_since(o: &Outcome<'_>, action: &str) -> u64 {
    let count = |w: &World| w.calls().get(action).copied().unwrap_or(0);
    count(&o.world) - count(o.before)
}

/// A spec of the sandbox's examples, edited.
fn edited(sb: &Sandbox, spec: &str, edits: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(sb.path().join(spec)).expect("read");
    edits.iter().fold(text, |text, (from, to)| {
        assert!(text.contains(from), "{spec} has no `{from}`");
        text.replace(from, to)
    })
}

/// `spec` applied, then `apply` of it with `edits` made, written to `file`.
fn change(name: &str, spec: &str, edits: &[(&str, &str)], file: &str) -> Scenario {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", spec]).expect(0);
    sb.write(file, &edited(&sb, spec, edits));
    Scenario::snapshot(
        name,
        &sb,
        &["apply", "--auto-approve", file],
        &["plan", "--detailed-exitcode", file],
    )
}

/// `examples/subscription.yaml` applied, then the quota raised (16 → 24), auto-renewal off,
/// project `etl` at 6 CU (the default project's share grows to 16) and label `team` changed.
pub(crate) fn update() -> Scenario {
    change(
        "an in-place update of subscription.yaml",
        SUBSCRIPTION,
        &[
            ("quota: { cu: 16 }", "quota: { cu: 24 }"),
            ("autoRenew: true", "autoRenew: false"),
            ("{ name: etl, cu: 4 }", "{ name: etl, cu: 6 }"),
            ("team: data", "team: platform"),
        ],
        "update.yaml",
    )
}

/// One modification order, and the workspace as the updated spec says.
pub(crate) fn updated(o: &mut Outcome<'_>) {
    let what = o.what;
    assert_eq!(
        o.world.orders_of("main", "ModifyPrepayInstanceSpec"),
        1,
        "{what}: the quota change is ordered once"
    );
    // Neither change is sent twice: a lost answer is read back before it is repeated, and
    // a run after a crash finds the change made.
    for action in ["ModifyPrepayInstanceSpec", "SetRenewal"] {
        assert_eq!(calls_since(o, action), 1, "{what}: {action}");
    }
    let ws = workspace(&o.world, "analytics-sub", what);
    assert_eq!(ws.cpu, Some(24), "{what}: quota");
    assert_ne!(ws.renew_status, "AutoRenewal", "{what}: renewal");
    assert_eq!(project_cu(&o.world, &ws.id, "etl"), Some(6), "{what}: etl");
    assert_eq!(
        project_cu(&o.world, &ws.id, "analytics-sub-default"),
        Some(16),
        "{what}: the default project keeps the rest"
    );
    let tags = o.world.tags("main", &ws.id).expect("tags");
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("platform"),
        "{what}: {tags:?}"
    );
}

#[test]
fn crash_matrix_of_an_update() {
    let calls = update().crash_matrix(&updated);
    assert!(
        calls.iter().any(|c| c == "ModifyPrepayInstanceSpec"),
        "{calls:?}"
    );
}

#[test]
fn lost_response_matrix_of_an_update() {
    update().lost_response_matrix(&updated);
}

/// The resource group the cloud has workspace `id` in.
fn group_of(world: &World, id: &str) -> Option<String> {
    let json = serde_json::to_value(world).expect("world JSON");
    json["accounts"]
        .as_object()
        .expect("accounts")
        .values()
        .find_map(|a| {
            a["instances"][id]["resource_group_id"]
                .as_str()
                .map(str::to_owned)
        })
}

/// `examples/subscription.yaml` applied in resource group a; then its default project is
/// deleted in the console and the spec moves it to group b: the apply makes the two calls
/// of this path no other matrix makes, `MoveResources` and the `CreateNamespace` of the
/// default project made again.
fn move_and_repair() -> (Scenario, String) {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "1000"]).expect(0);
    let group = |name: &str| {
        let out = sb
            .run(&["sim", "console", "create-resource-group", name])
            .expect(0);
        out.stdout.trim().to_owned()
    };
    let (a, b) = (group("team-a"), group("team-b"));
    let in_group = |g: &str| {
        edited(
            &sb,
            SUBSCRIPTION,
            &[(
                "  zone: ap-southeast-1b\n",
                &format!("  zone: ap-southeast-1b\n  resourceGroup: {g}\n"),
            )],
        )
    };
    sb.write("grouped.yaml", &in_group(&a));
    sb.run(&["apply", "--auto-approve", "grouped.yaml"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "delete-project",
        "analytics-sub",
        "analytics-sub-default",
    ])
    .expect(0);
    sb.write("grouped.yaml", &in_group(&b));
    let scenario = Scenario::snapshot(
        "a move to another resource group and a default project made again",
        &sb,
        &["apply", "--auto-approve", "grouped.yaml"],
        &["plan", "--detailed-exitcode", "grouped.yaml"],
    );
    (scenario, b)
}

/// One move, one re-creation, and the workspace as the spec says.
fn moved_and_repaired(b: &str) -> impl Fn(&mut Outcome<'_>) {
    move |o| {
        let what = o.what;
        for action in ["MoveResources", "CreateNamespace"] {
            assert_eq!(calls_since(o, action), 1, "{what}: {action}");
        }
        let ws = workspace(&o.world, "analytics-sub", what);
        assert_eq!(
            group_of(&o.world, &ws.id).as_deref(),
            Some(b),
            "{what}: group"
        );
        assert_eq!(
            project_cu(&o.world, &ws.id, "analytics-sub-default"),
            Some(10),
            "{what}: the default project is back with its quota"
        );
    }
}

#[test]
fn crash_matrix_of_a_move_and_a_default_project_made_again() {
    let (scenario, b) = move_and_repair();
    let calls = scenario.crash_matrix(&moved_and_repaired(&b));
    for action in ["MoveResources", "CreateNamespace"] {
        assert!(calls.iter().any(|c| c == action), "{action}: {calls:?}");
    }
}

#[test]
fn lost_response_matrix_of_a_move_and_a_default_project_made_again() {
    let (scenario, b) = move_and_repair();
    scenario.lost_response_matrix(&moved_and_repaired(&b));
}

/// `examples/quickstart.yaml` applied, then its VPC CIDR changed: the VPC, its vSwitch and
/// the pay-as-you-go workspace (with its projects) are replaced.
fn replacement() -> Scenario {
    change(
        "a replacement of quickstart.yaml's network",
        QUICKSTART,
        &[
            ("10.10.0.0/16", "10.30.0.0/16"),
            ("10.10.1.0/24", "10.30.1.0/24"),
        ],
        "moved.yaml",
    )
}

/// The cloud's VPCs, vSwitches and workspaces (ids by prefix).
fn network_and_workspaces(world: &World) -> BTreeSet<String> {
    world
        .resource_ids("main")
        .expect("ids")
        .into_iter()
        .filter(|id| !id.contains('/') && ["vpc-", "vsw-", "f-"].iter().any(|p| id.starts_with(p)))
        .collect()
}

/// One live workspace, one new VPC and vSwitch in place of the old ones, two orders.
fn replaced(o: &mut Outcome<'_>) {
    let what = o.what;
    let old = network_and_workspaces(o.before);
    let now = network_and_workspaces(&o.world);
    assert_eq!(old.len(), 3, "{what}: {old:?}");
    assert!(
        old.is_disjoint(&now),
        "{what}: left over: {old:?} / {now:?}"
    );
    assert_eq!(
        now.len(),
        3,
        "{what}: one VPC, vSwitch and workspace: {now:?}"
    );
    let s = &o.world.summary()["main"];
    // The seeded VPC and vSwitch, plus the new ones.
    assert_eq!((s.vpcs, s.vswitches, s.instances), (2, 2, 1), "{what}");
    workspace(&o.world, "quickstart", what);
    assert_eq!(
        o.world.orders_of("main", "CreateInstance"),
        2,
        "{what}: the first apply's order and the replacement's"
    );
}

#[test]
fn crash_matrix_of_a_replacement() {
    replacement().crash_matrix(&replaced);
}

#[test]
fn lost_response_matrix_of_a_replacement() {
    replacement().lost_response_matrix(&replaced);
}

/// `examples/subscription.yaml` and `examples/quickstart.yaml` applied into one state and an
/// object written into the quickstart bucket (which then holds 5: the workspace's four
/// directories and it), then `destroy`, with `--allow-destroy` confirming the 5 or without.
fn destruction(confirm: bool) -> Scenario {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", SUBSCRIPTION, QUICKSTART])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "put-object",
        BUCKET,
        "flink-savepoints/job-1/_metadata",
        "--size",
        "2048",
    ])
    .expect(0);
    let objects = sb.world().object_keys(BUCKET).map(|k| k.len());
    assert_eq!(objects, Some(5), "four directories and the savepoint");
    let confirmed = format!("oss_bucket.{BUCKET}=5");
    let mut args = vec!["destroy", "--auto-approve"];
    if confirm {
        args.extend(["--allow-destroy", &confirmed]);
    }
    let name = if confirm {
        "destroy --allow-destroy oss_bucket.quickstart-flink-demo=5"
    } else {
        "destroy"
    };
    Scenario::snapshot(name, &sb, &args, &args).forgetting()
}

/// The subscription kept with its renewal off (one `SetRenewal`), the quickstart workspace
/// and network gone, its bucket gone with its objects only when confirmed, and the state
/// holding only what destroy keeps by design.
fn destroyed(confirm: bool) -> impl Fn(&mut Outcome<'_>) {
    move |o| {
        let what = o.what;
        let sub = workspace(&o.world, "analytics-sub", what);
        assert_eq!(
            sub.id,
            workspace(o.before, "analytics-sub", what).id,
            "{what}: the subscription is the one ordered"
        );
        assert_eq!(
            sub.status, "RUNNING",
            "{what}: a subscription is never released"
        );
        assert_ne!(sub.renew_status, "AutoRenewal", "{what}: renewal");
        // The renewal is turned off once: a lost answer is read back before it is repeated,
        // and a run after a crash finds it off and only forgets the workspace.
        assert_eq!(calls_since(o, "SetRenewal"), 1, "{what}: SetRenewal");
        let live: Vec<String> = o
            .world
            .instances("main")
            .expect("instances")
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(live, ["analytics-sub"], "{what}: workspaces");
        let s = &o.world.summary()["main"];
        // The seeded VPC and vSwitch and the subscription's (its workspace uses them).
        assert_eq!((s.vpcs, s.vswitches), (2, 3), "{what}: network");
        assert_eq!(
            s.namespaces, 1,
            "{what}: the subscription's default project"
        );
        assert_eq!(
            o.world
                .object_keys("analytics-sub-flink-demo")
                .map(|k| k.len()),
            Some(4),
            "{what}: the subscription's bucket holds its directories and is kept"
        );
        let quickstart = o.world.object_keys(BUCKET).map(|k| k.len());
        if confirm {
            assert_eq!(quickstart, None, "{what}: the confirmed bucket is deleted");
        } else {
            assert_eq!(quickstart, Some(5), "{what}: the bucket is kept");
            assert_eq!(calls_since(o, "oss:POST"), 0, "{what}: no object deleted");
            assert_eq!(
                calls_since(o, "oss:DELETE"),
                0,
                "{what}: nothing deleted in OSS"
            );
        }
        let state = o.sb.state();
        let mut recorded: Vec<&str> = state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r["address"].as_str())
            .collect();
        recorded.sort_unstable();
        let mut kept = vec!["oss_service.main", "oss_bucket.analytics-sub-flink-demo"];
        if !confirm {
            kept.push("oss_bucket.quickstart-flink-demo");
        }
        kept.sort_unstable();
        assert_eq!(
            recorded, kept,
            "{what}: the state keeps only what destroy keeps"
        );
    }
}

#[test]
fn crash_matrix_of_a_destroy() {
    let calls = destruction(true).crash_matrix(&destroyed(true));
    assert!(
        calls.iter().any(|c| c == "oss:POST"),
        "objects deleted: {calls:?}"
    );
}

#[test]
fn lost_response_matrix_of_a_destroy() {
    destruction(true).lost_response_matrix(&destroyed(true));
}

#[test]
fn crash_matrix_of_a_destroy_that_keeps_a_bucket_with_objects() {
    destruction(false).crash_matrix(&destroyed(false));
}
