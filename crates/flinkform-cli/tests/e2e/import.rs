//! `flinkform import ADDRESS ID SPECS...`: an existing resource the specs declare is read
//! (never changed), recorded in one state write, and the next plan is shown; the next apply
//! puts this stack's ownership mark on it and the plan after that is empty. Every refusal
//! exits 1 having made no mutating call and written no state.

use flinkform_cloudsim::World;

use crate::harness::Sandbox;
use crate::matrix::Scenario;

/// A pay-as-you-go workspace `legacy` whose VPC is `10.20.0.0/16`, with one vSwitch and a
/// bucket.
const LEGACY: &str = "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: legacy
spec:
  account: main
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: { create: { cidr: 10.20.0.0/16 } }
    vSwitches:
      - { create: { cidr: 10.20.1.0/24 } }
  storage:
    ossBucket: { name: legacy-flink }
  protect: false
";

/// Another stack's lineage, as its mark would carry it.
const OTHER_STACK: &str = "0b5e2f9c-7d1a-4c3e-9f60-2a8b4d6e1c07";

/// A world with a balance and the VPC `legacy` made in the console; returns its id.
fn console_vpc(sb: &Sandbox) -> String {
    sb.run(&["sim", "console", "set-balance", "500"]).expect(0);
    let made = sb
        .run(&[
            "sim",
            "console",
            "create-vpc",
            "--region",
            "ap-southeast-1",
            "--cidr",
            "10.20.0.0/16",
            "--name",
            "legacy",
        ])
        .expect(0);
    let id = made.stdout.trim().to_owned();
    assert!(id.starts_with("vpc-"), "the id is printed: {made:?}");
    sb.write("legacy.yaml", LEGACY);
    id
}

fn lineage(sb: &Sandbox) -> String {
    sb.state()["lineage"].as_str().expect("lineage").to_owned()
}

/// stderr with every space, line break and miette gutter taken out, so that a long id
/// wrapped across lines still reads as one word.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '|')
        .collect()
}

/// Whether `text` says `words`, however the diagnostic wrapped them.
fn has(text: &str, words: impl AsRef<str>) -> bool {
    squeezed(text).contains(&squeezed(words.as_ref()))
}

/// The action of `address` in `plan --json` of `spec`.
fn planned(sb: &Sandbox, spec: &str, address: &str) -> serde_json::Value {
    let run = sb.run(&["plan", "--json", spec]).expect(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["address"] == address)
        .cloned()
        .unwrap_or_else(|| panic!("no action for {address} in {plan}"))
}

/// Runs `import ARGS`, expects exit 1 with `code` in stderr, no mutating call and no state
/// change; returns stderr.
#[track_caller]
fn refused(sb: &Sandbox, args: &[&str], code: &str) -> String {
    let state = sb.path().join(".flinkform/state.json");
    let before_state = std::fs::read_to_string(&state).ok();
    let before = sb.world().mutating_calls();
    let mut argv = vec!["import"];
    argv.extend_from_slice(args);
    let run = sb.run(&argv).expect(1);
    assert!(run.stderr.contains(code), "{code}: {}", run.stderr);
    assert!(
        !run.stdout.contains("Import successful"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        sb.world().mutating_calls(),
        before,
        "a refused import made a mutating call:\n{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&state).ok(),
        before_state,
        "a refused import wrote the state"
    );
    run.stderr
}

#[test]
fn a_console_vpc_is_imported_then_marked_by_the_next_apply_and_the_plan_is_empty() {
    let sb = Sandbox::new();
    let id = console_vpc(&sb);
    let calls = sb.world().mutating_calls();
    let import = sb
        .run(&["import", "vpc.legacy", &id, "legacy.yaml"])
        .expect(0);
    assert_eq!(
        sb.world().mutating_calls(),
        calls,
        "import made a mutating call:\n{}",
        import.stderr
    );
    assert!(
        import.stderr.contains(&format!(
            "VPC {id} carries no ownership mark (made in the console"
        )),
        "{}",
        import.stderr
    );
    let out = &import.stdout;
    assert!(out.contains(&format!("~ vpc.legacy ({id})")), "{out}");
    assert!(
        out.contains(&format!(
            "Import successful: `vpc.legacy` is {id} (account main, region ap-southeast-1), recorded in the state (serial 1). Nothing was changed in the cloud."
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "The next apply updates it in place: `tags`: add this stack's ownership mark. No other change to it."
        ),
        "{out}"
    );
    assert!(out.contains("Next: flinkform apply legacy.yaml"), "{out}");
    // The state records the observed VPC under the address, in its first write.
    let state = sb.state();
    assert_eq!(state["serial"], 1);
    let recorded = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "vpc.legacy")
        .cloned()
        .expect("vpc.legacy recorded");
    assert_eq!(recorded["cloud_id"], id.as_str());
    assert_eq!(recorded["attrs"]["cidr"], "10.20.0.0/16");
    assert_eq!(recorded["attrs"]["name"], "legacy");
    assert_eq!(recorded["attrs"]["tags"], serde_json::json!({}));
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(1));
    // The plan shown is the next plan, word for word; the VPC's only change is its mark.
    let next = sb.run(&["plan", "legacy.yaml"]).expect(0);
    assert!(
        out.starts_with(&next.stdout),
        "import showed:\n{out}\nplan shows:\n{}",
        next.stdout
    );
    let lineage = lineage(&sb);
    let vpc = planned(&sb, "legacy.yaml", "vpc.legacy");
    assert_eq!(vpc["op"], "update", "{vpc}");
    assert_eq!(
        vpc["diffs"],
        serde_json::json!([{
            "name": "tags",
            "before": {},
            "after": {"flinkform:address": "vpc.legacy", "flinkform:stack": lineage},
            "after_state": "known",
            "forces_replacement": false,
        }]),
        "{vpc}"
    );
    let apply = sb
        .run(&["apply", "--auto-approve", "legacy.yaml"])
        .expect(0);
    assert!(
        apply.stdout.contains("6 added, 1 changed, 0 replaced"),
        "{}",
        apply.stdout
    );
    let mut world = sb.world();
    let tags = world.tags("main", &id).expect("the VPC is still there");
    assert_eq!(
        tags.get("flinkform:stack").map(String::as_str),
        Some(lineage.as_str())
    );
    assert_eq!(
        tags.get("flinkform:address").map(String::as_str),
        Some("vpc.legacy")
    );
    // The pre-existing VPC and the imported one: no VPC was created.
    assert_eq!(world.summary()["main"].vpcs, 2);
    sb.run(&["plan", "--detailed-exitcode", "legacy.yaml"])
        .expect(0);
}

#[test]
fn a_resource_marked_by_another_stack_is_refused_unless_forced_and_then_re_marked() {
    let sb = Sandbox::new();
    let id = console_vpc(&sb);
    sb.run(&[
        "sim",
        "console",
        "tag",
        &id,
        &format!("flinkform:stack={OTHER_STACK}"),
        "flinkform:address=vpc.old",
        "team=data",
    ])
    .expect(0);
    let err = refused(
        &sb,
        &["vpc.legacy", &id, "legacy.yaml"],
        "cli::import_other_stack",
    );
    let flat = squeezed(&err);
    assert!(
        flat.contains(&squeezed(&format!(
            "VPC {id} belongs to another flinkform stack: lineage {OTHER_STACK}, address `vpc.old`"
        ))),
        "the owner is named: {err}"
    );
    assert!(flat.contains("--force"), "{err}");
    let forced = sb
        .run(&["import", "--force", "vpc.legacy", &id, "legacy.yaml"])
        .expect(0);
    assert!(
        has(
            &forced.stderr,
            "--force takes it over: the next apply replaces that stack's mark"
        ),
        "{}",
        forced.stderr
    );
    assert!(
        forced.stdout.contains(&format!(
            "`tags`: replace the ownership mark of stack {OTHER_STACK} with this stack's"
        )),
        "{}",
        forced.stdout
    );
    sb.run(&["apply", "--auto-approve", "legacy.yaml"])
        .expect(0);
    let lineage = lineage(&sb);
    let tags = sb.world().tags("main", &id).expect("the VPC");
    assert_eq!(
        tags.get("flinkform:stack").map(String::as_str),
        Some(lineage.as_str())
    );
    assert_eq!(
        tags.get("flinkform:address").map(String::as_str),
        Some("vpc.legacy")
    );
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("data"),
        "a tag the specs do not manage is left alone"
    );
    sb.run(&["plan", "--detailed-exitcode", "legacy.yaml"])
        .expect(0);
}

#[test]
fn a_console_bucket_is_imported_and_keeps_the_tags_others_set() {
    let sb = Sandbox::new();
    let vpc = console_vpc(&sb);
    sb.run(&[
        "sim",
        "console",
        "create-bucket",
        "legacy-flink",
        "--region",
        "ap-southeast-1",
    ])
    .expect(0);
    sb.run(&["sim", "console", "tag", "legacy-flink", "cost-center=42"])
        .expect(0);
    sb.run(&["import", "vpc.legacy", &vpc, "legacy.yaml"])
        .expect(0);
    let calls = sb.world().mutating_calls();
    let import = sb
        .run(&[
            "import",
            "oss_bucket.legacy-flink",
            "legacy-flink",
            "legacy.yaml",
        ])
        .expect(0);
    assert_eq!(sb.world().mutating_calls(), calls);
    assert!(
        import.stdout.contains(
            "The next apply updates it in place: `tags`: add this stack's ownership mark."
        ),
        "{}",
        import.stdout
    );
    assert_eq!(sb.state()["serial"], 2, "one write per import");
    let bucket = planned(&sb, "legacy.yaml", "oss_bucket.legacy-flink");
    assert_eq!(bucket["op"], "update", "{bucket}");
    let changed: Vec<&str> = bucket["diffs"]
        .as_array()
        .expect("diffs")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(changed, ["tags"], "{bucket}");
    sb.run(&["apply", "--auto-approve", "legacy.yaml"])
        .expect(0);
    let lineage = lineage(&sb);
    let tags = sb.world().tags("main", "legacy-flink").expect("the bucket");
    assert_eq!(
        tags.get("flinkform:stack").map(String::as_str),
        Some(lineage.as_str())
    );
    assert_eq!(
        tags.get("cost-center").map(String::as_str),
        Some("42"),
        "{tags:?}"
    );
    assert_eq!(sb.world().summary()["main"].buckets, 1);
    sb.run(&["plan", "--detailed-exitcode", "legacy.yaml"])
        .expect(0);
}

#[test]
fn a_workspace_whose_state_entry_was_lost_is_imported_by_its_own_mark() {
    let sb = Sandbox::new();
    let spec = "examples/quickstart.yaml";
    sb.run(&["apply", "--auto-approve", spec]).expect(0);
    // The state loses the workspace's entry (as a hand edit would).
    let path = sb.path().join(".flinkform/state.json");
    let mut state = sb.state();
    let resources = state["resources"].as_array_mut().expect("resources");
    let at = resources
        .iter()
        .position(|r| r["address"] == "flink_workspace.quickstart")
        .expect("recorded");
    let id = resources.remove(at)["cloud_id"]
        .as_str()
        .expect("id")
        .to_owned();
    std::fs::write(&path, serde_json::to_string_pretty(&state).expect("json")).expect("write");
    let serial = sb.state()["serial"].as_u64().expect("serial");
    let calls = sb.world().mutating_calls();
    let import = sb
        .run(&["import", "flink_workspace.quickstart", &id, spec])
        .expect(0);
    assert!(
        import
            .stderr
            .contains("carries this stack's ownership mark (as `flink_workspace.quickstart`)"),
        "{}",
        import.stderr
    );
    assert!(
        import.stdout.contains(
            "The next apply leaves it as it is: it matches the specs and carries this stack's ownership mark."
        ),
        "{}",
        import.stdout
    );
    assert!(
        import
            .stdout
            .contains("The cloud matches the specs: there is nothing to apply."),
        "{}",
        import.stdout
    );
    assert_eq!(sb.world().mutating_calls(), calls);
    assert_eq!(sb.state()["serial"].as_u64(), Some(serial + 1), "one write");
    sb.run(&["plan", "--detailed-exitcode", spec]).expect(0);
}

#[test]
fn an_import_that_the_specs_would_replace_says_so_loudly() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "set-balance", "500"]).expect(0);
    sb.write("legacy.yaml", LEGACY);
    // The account's pre-existing VPC is 10.99.0.0/16 named `existing`.
    let import = sb
        .run(&["import", "vpc.legacy", "vpc-sim-existing", "legacy.yaml"])
        .expect(0);
    let warning = squeezed(&import.stderr);
    assert!(
        warning.contains(&squeezed(
            "the next apply would REPLACE `vpc.legacy`: delete vpc-sim-existing (the resource just imported) and create a new one, because `cidr` differs (the cloud has \"10.99.0.0/16\", the specs want \"10.20.0.0/16\"); `name` differs"
        )),
        "{}",
        import.stderr
    );
    assert!(
        import
            .stdout
            .contains("WARNING: the next apply REPLACES it (deletes vpc-sim-existing"),
        "{}",
        import.stdout
    );
    assert!(
        import.stdout.contains("-/+ vpc.legacy (vpc-sim-existing)"),
        "{}",
        import.stdout
    );
}

#[test]
fn refusals_exit_1_change_nothing_and_say_why() {
    let sb = Sandbox::new();
    let id = console_vpc(&sb);

    // Not declared by the specs: the addresses of that kind they declare are listed.
    let err = refused(
        &sb,
        &["vpc.nope", &id, "legacy.yaml"],
        "cli::import_not_declared",
    );
    insta::assert_snapshot!("import_not_declared", err);

    // A kind without an id of its own.
    let err = refused(
        &sb,
        &["ram_role.main", "AliyunStreamAsiDefaultRole", "legacy.yaml"],
        "cli::import_kind",
    );
    assert!(has(&err, "account-level singleton"), "{err}");
    let err = refused(
        &sb,
        &["account_balance.main", "x", "legacy.yaml"],
        "cli::import_kind",
    );
    assert!(has(&err, "a check made on every run"), "{err}");

    // An id of another kind, and a project id without its workspace.
    let err = refused(
        &sb,
        &["vpc.legacy", "vsw-123", "legacy.yaml"],
        "cli::import_bad_id",
    );
    assert!(has(&err, "VPC ids start with `vpc-`"), "{err}");

    // Unknown id: read in the account and region the specs give.
    let err = refused(
        &sb,
        &["vpc.legacy", "vpc-doesnotexist", "legacy.yaml"],
        "cli::import_not_found",
    );
    assert!(
        has(
            &err,
            "no VPC vpc-doesnotexist in account main, region ap-southeast-1"
        ),
        "{err}"
    );

    // Referenced by id in the specs: read-only, nothing to import.
    sb.write(
        "by-id.yaml",
        &LEGACY.replace(
            "vpc: { create: { cidr: 10.20.0.0/16 } }",
            &format!("vpc: {{ id: {id} }}"),
        ),
    );
    let err = refused(
        &sb,
        &["vpc.legacy", &id, "by-id.yaml"],
        "cli::import_data_source",
    );
    assert!(has(&err, "declare it with `create:`"), "{err}");

    // A bucket of another account.
    sb.run(&["sim", "console", "set-balance", "500", "--account", "other"])
        .expect(0);
    sb.run(&[
        "sim",
        "console",
        "create-bucket",
        "legacy-flink",
        "--region",
        "ap-southeast-1",
        "--account",
        "other",
    ])
    .expect(0);
    let err = refused(
        &sb,
        &["oss_bucket.legacy-flink", "legacy-flink", "legacy.yaml"],
        "cli::import_other_account",
    );
    assert!(has(&err, "cannot be imported"), "{err}");

    // Already in state: the recorded id is named.
    sb.run(&["import", "vpc.legacy", &id, "legacy.yaml"])
        .expect(0);
    let err = refused(
        &sb,
        &["vpc.legacy", "vpc-sim-existing", "legacy.yaml"],
        "cli::import_in_state",
    );
    assert!(
        has(
            &err,
            format!("`vpc.legacy` is already in the state, as {id}")
        ),
        "{err}"
    );
    assert!(has(&err, "no `state rm` yet"), "{err}");
}

#[test]
fn import_help() {
    let sb = Sandbox::new();
    let run = sb.run(&["import", "--help"]).expect(0);
    insta::assert_snapshot!(run.stdout);
}

/// The VPC carries this stack's mark, once.
fn assert_marked(world: &mut World, id: &str, lineage: &str, what: &str) {
    let tags = world.tags("main", id).expect("the VPC");
    assert_eq!(
        tags.get("flinkform:stack").map(String::as_str),
        Some(lineage),
        "{what}: {tags:?}"
    );
    assert_eq!(
        tags.get("flinkform:address").map(String::as_str),
        Some("vpc.legacy"),
        "{what}: {tags:?}"
    );
}

/// The apply after an import, from a snapshot of the world and state the import left: the
/// VPC is marked in place, never created again.
fn after_an_import() -> (Scenario, String, String) {
    let sb = Sandbox::new();
    let id = console_vpc(&sb);
    let committed = sb.world().mutating_calls();
    sb.run(&["import", "vpc.legacy", &id, "legacy.yaml"])
        .expect(0);
    assert_eq!(sb.world().mutating_calls(), committed, "import mutates");
    let scenario = Scenario::snapshot(
        "the apply after an import",
        &sb,
        &["apply", "--auto-approve", "legacy.yaml"],
        &["plan", "--detailed-exitcode", "legacy.yaml"],
    );
    (scenario, id, lineage(&sb))
}

/// The VPC carries this stack's mark and was never created again.
fn marked_not_recreated(id: &str, lineage: &str) -> impl Fn(&mut crate::matrix::Outcome<'_>) {
    move |o| {
        assert_marked(&mut o.world, id, lineage, o.what);
        assert_eq!(
            o.world.calls().get("CreateVpc"),
            None,
            "{}: the imported VPC is created again",
            o.what
        );
    }
}

#[test]
fn crash_matrix_of_the_apply_after_an_import() {
    let (scenario, id, lineage) = after_an_import();
    let calls = scenario.crash_matrix(&marked_not_recreated(&id, &lineage));
    assert!(
        calls.iter().any(|c| c == "TagResources"),
        "the apply marks the VPC: {calls:?}"
    );
}

#[test]
fn lost_response_matrix_of_the_apply_after_an_import() {
    let (scenario, id, lineage) = after_an_import();
    scenario.lost_response_matrix(&marked_not_recreated(&id, &lineage));
}
