//! Labels and the ownership mark as resource tags, changed in place; and a workspace's
//! resource group, checked before any order and changed in place with ResourceManager
//! `MoveResources`. Each step asserts what the emulator holds and which calls it answered.

use std::collections::BTreeMap;

use crate::harness::Sandbox;

const QUICKSTART: &str = "examples/quickstart.yaml";

/// The taggable resources the quickstart creates, as `(address, cloud id)`.
fn taggable(sb: &Sandbox) -> Vec<(String, String)> {
    let state = sb.state();
    let mut out: Vec<(String, String)> = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| Some((r["address"].as_str()?, r["cloud_id"].as_str()?)))
        .filter(|(a, _)| {
            ["vpc.", "vswitch.", "oss_bucket.", "flink_workspace."]
                .iter()
                .any(|k| a.starts_with(k))
        })
        .map(|(a, id)| (a.to_owned(), id.to_owned()))
        .collect();
    out.sort();
    out
}

fn cloud_id(sb: &Sandbox, addr: &str) -> String {
    taggable(sb)
        .into_iter()
        .find(|(a, _)| a == addr)
        .map(|(_, id)| id)
        .unwrap_or_else(|| panic!("{addr} is not in state"))
}

/// The tags the emulator holds on resource `id` of account `main`.
fn tags(sb: &Sandbox, id: &str) -> BTreeMap<String, String> {
    sb.world().tags("main", id).expect("taggable resource")
}

/// How many requests of `action` the emulator answered.
fn calls(sb: &Sandbox, action: &str) -> u64 {
    sb.world().calls().get(action).copied().unwrap_or(0)
}

/// The quickstart with `labels` instead of its own.
fn quickstart_labelled(labels: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart.yaml"),
    )
    .expect("quickstart");
    let block: String = labels
        .iter()
        .map(|(k, v)| format!("    {k}: {v}\n"))
        .collect();
    text.replace("    purpose: quickstart\n", &block)
}

/// The attribute lines of a plan's `~` updates (`~ tags = …`), trimmed.
fn updated_attrs(plan: &str) -> Vec<String> {
    plan.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("~ ") && l.contains(" = "))
        .map(|l| {
            l.trim_start_matches("~ ")
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// `plan --detailed-exitcode` says there is nothing to do.
#[track_caller]
fn converged(sb: &Sandbox, spec: &str) {
    let plan = sb.run(&["plan", "--detailed-exitcode", spec]).expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn labels_change_in_place_and_the_mark_is_repaired_while_foreign_tags_stay() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", QUICKSTART]).expect(0);
    let lineage = sb.state()["lineage"].as_str().expect("lineage").to_owned();
    let resources = taggable(&sb);
    assert_eq!(
        resources
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>(),
        [
            "flink_workspace.quickstart",
            "oss_bucket.quickstart-flink-demo",
            "vpc.quickstart",
            "vswitch.quickstart[0]",
        ]
    );
    // Every created VPC, vSwitch, bucket and workspace carries the mark and the label.
    for (addr, id) in &resources {
        let want: BTreeMap<String, String> = [
            ("flinkform:address", addr.as_str()),
            ("flinkform:stack", lineage.as_str()),
            ("purpose", "quickstart"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(tags(&sb, id), want, "{addr} ({id})");
    }

    // A label value changes and one is added: `~ tags` updates only, in place.
    sb.write(
        "labels.yaml",
        &quickstart_labelled(&[("purpose", "demo"), ("owner", "alice")]),
    );
    let plan = sb.run(&["plan", "labels.yaml"]).expect(0);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 4 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert_eq!(updated_attrs(&plan.stdout), ["tags"; 4], "{}", plan.stdout);
    let (tag0, untag0, untag_foas0, oss_put0) = (
        calls(&sb, "TagResources"),
        calls(&sb, "UnTagResources"),
        calls(&sb, "UntagResources"),
        calls(&sb, "oss:PUT"),
    );
    let mutating0 = sb.world().mutating_calls();
    sb.run(&["apply", "--auto-approve", "labels.yaml"])
        .expect(0);
    // VPC, vSwitch and workspace: TagResources each; the bucket: PutBucketTags (an OSS PUT).
    assert_eq!(calls(&sb, "TagResources") - tag0, 3);
    assert_eq!(calls(&sb, "oss:PUT") - oss_put0, 1);
    assert_eq!(calls(&sb, "UnTagResources"), untag0);
    assert_eq!(calls(&sb, "UntagResources"), untag_foas0);
    assert_eq!(
        sb.world().mutating_calls() - mutating0,
        4,
        "only the tag calls changed the cloud"
    );
    for (addr, id) in &resources {
        let t = tags(&sb, id);
        assert_eq!(t.get("purpose").map(String::as_str), Some("demo"), "{addr}");
        assert_eq!(t.get("owner").map(String::as_str), Some("alice"), "{addr}");
        assert_eq!(t.get("flinkform:address"), Some(addr), "{addr}");
    }
    converged(&sb, "labels.yaml");

    // A label is removed: untagged on each product's API, the others stay.
    sb.write("labels.yaml", &quickstart_labelled(&[("purpose", "demo")]));
    let plan = sb.run(&["plan", "labels.yaml"]).expect(0);
    assert_eq!(updated_attrs(&plan.stdout), ["tags"; 4], "{}", plan.stdout);
    let (untag0, untag_foas0) = (calls(&sb, "UnTagResources"), calls(&sb, "UntagResources"));
    sb.run(&["apply", "--auto-approve", "labels.yaml"])
        .expect(0);
    assert_eq!(calls(&sb, "UnTagResources") - untag0, 2, "VPC and vSwitch");
    assert_eq!(calls(&sb, "UntagResources") - untag_foas0, 1, "workspace");
    for (addr, id) in &resources {
        let t = tags(&sb, id);
        assert!(!t.contains_key("owner"), "{addr}: {t:?}");
        assert_eq!(t.get("purpose").map(String::as_str), Some("demo"), "{addr}");
        assert_eq!(
            t.get("flinkform:stack").map(String::as_str),
            Some(lineage.as_str())
        );
    }
    converged(&sb, "labels.yaml");

    // Someone adds an unrelated tag in the console: no drift, no plan change.
    let ws = cloud_id(&sb, "flink_workspace.quickstart");
    let vpc = cloud_id(&sb, "vpc.quickstart");
    sb.run(&["sim", "console", "tag", &ws, "costcenter=42"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "tag",
        "quickstart-flink-demo",
        "backup=daily",
    ])
    .expect(0);
    sb.run(&["drift", "labels.yaml"]).expect(0);
    converged(&sb, "labels.yaml");

    // Someone removes the ownership mark: drift names `tags`, apply puts the mark back and
    // leaves the console's tag alone.
    sb.run(&["sim", "console", "untag", &vpc, "flinkform:stack"])
        .expect(0);
    sb.run(&["sim", "console", "untag", &ws, "flinkform:address"])
        .expect(0);
    let drift = sb.run(&["drift", "labels.yaml"]).expect(2);
    assert!(drift.stdout.contains("vpc.quickstart"), "{}", drift.stdout);
    assert!(
        drift.stdout.contains("flink_workspace.quickstart"),
        "{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("tags"), "{}", drift.stdout);
    let plan = sb.run(&["plan", "labels.yaml"]).expect(0);
    assert_eq!(updated_attrs(&plan.stdout), ["tags"; 2], "{}", plan.stdout);
    sb.run(&["apply", "--auto-approve", "labels.yaml"])
        .expect(0);
    assert_eq!(
        tags(&sb, &vpc).get("flinkform:stack").map(String::as_str),
        Some(lineage.as_str())
    );
    let ws_tags = tags(&sb, &ws);
    assert_eq!(
        ws_tags.get("flinkform:address").map(String::as_str),
        Some("flink_workspace.quickstart")
    );
    assert_eq!(
        ws_tags.get("costcenter").map(String::as_str),
        Some("42"),
        "{ws_tags:?}"
    );
    assert_eq!(
        tags(&sb, "quickstart-flink-demo")
            .get("backup")
            .map(String::as_str),
        Some("daily")
    );
    sb.run(&["drift", "labels.yaml"]).expect(0);
    converged(&sb, "labels.yaml");
}

/// The quickstart in resource group `group` (none when `None`).
fn quickstart_in_group(group: &str) -> String {
    quickstart_labelled(&[("purpose", "quickstart")]).replace(
        "  zone: ap-southeast-1a\n",
        &format!("  zone: ap-southeast-1a\n  resourceGroup: {group}\n"),
    )
}

fn create_group(sb: &Sandbox, name: &str) -> String {
    let out = sb
        .run(&["sim", "console", "create-resource-group", name])
        .expect(0);
    let id = out.stdout.trim().to_owned();
    assert!(id.starts_with("rg-"), "{out:?}");
    id
}

/// Runs `plan` and `apply` of `spec`, expects both to fail with exit 1 naming a missing
/// resource group, and no mutating call at all.
#[track_caller]
fn refused_for_the_group(sb: &Sandbox, spec: &str, group: &str) {
    let before = sb.world().mutating_calls();
    let plan = sb.run(&["plan", spec]).expect(1);
    let err = plan
        .stderr
        .split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(err.contains("plan::resource_group_missing"), "{err}");
    assert!(
        err.contains(&format!("resource group `{group}` does not exist")),
        "{err}"
    );
    assert!(err.contains(&format!("{spec}:13:18")), "{err}");
    sb.run(&["apply", "--auto-approve", spec]).expect(1);
    assert_eq!(
        sb.world().mutating_calls(),
        before,
        "a refused plan made a mutating call"
    );
}

#[test]
fn a_workspace_is_created_in_its_resource_group_and_moved_in_place() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "1000"]).expect(0);
    let a = create_group(&sb, "team-a");
    let b = create_group(&sb, "team-b");

    // A group the account does not have fails the plan before anything is ordered.
    sb.write("g.yaml", &quickstart_in_group("rg-acfmnosuchgroup"));
    refused_for_the_group(&sb, "g.yaml", "rg-acfmnosuchgroup");
    assert_eq!(sb.world().summary()["main"].instances, 0);

    // Created in group a (CreateInstance's ResourceGroupId): nothing is moved, and the
    // cloud reports it there (the plan is empty).
    sb.write("g.yaml", &quickstart_in_group(&a));
    sb.run(&["apply", "--auto-approve", "g.yaml"]).expect(0);
    assert_eq!(calls(&sb, "MoveResources"), 0);
    converged(&sb, "g.yaml");
    assert_eq!(
        recorded_group(&sb).as_deref(),
        Some(a.as_str()),
        "the state records the group"
    );

    // Changed to group b: `~ resource_group` only, one MoveResources, then converged.
    sb.write("g.yaml", &quickstart_in_group(&b));
    let plan = sb.run(&["plan", "g.yaml"]).expect(0);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert_eq!(
        updated_attrs(&plan.stdout),
        ["resource_group"],
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("~ resource_group = \"{a}\" -> \"{b}\"")),
        "{}",
        plan.stdout
    );
    sb.run(&["apply", "--auto-approve", "g.yaml"]).expect(0);
    assert_eq!(calls(&sb, "MoveResources"), 1);
    converged(&sb, "g.yaml");
    assert_eq!(recorded_group(&sb).as_deref(), Some(b.as_str()));

    // Moving it to a group that does not exist is refused before MoveResources.
    sb.write("g.yaml", &quickstart_in_group("rg-acfmgone"));
    refused_for_the_group(&sb, "g.yaml", "rg-acfmgone");
    assert_eq!(calls(&sb, "MoveResources"), 1);

    // Without `resourceGroup` the group is not diffed: the workspace stays in b.
    converged(&sb, QUICKSTART);
}

/// The resource group the state records for the quickstart workspace.
fn recorded_group(sb: &Sandbox) -> Option<String> {
    sb.state()["resources"]
        .as_array()?
        .iter()
        .find(|r| r["address"] == "flink_workspace.quickstart")?["attrs"]["resource_group"]
        .as_str()
        .map(str::to_owned)
}
