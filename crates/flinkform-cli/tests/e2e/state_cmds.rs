//! State surgery and history through the state backend: `state list --json`, `rm`, `mv`,
//! `pull`, `push`, `history`; `--lock-timeout`; `--state` with a PostgreSQL URL in a build
//! without that backend. Every surgery is one recorded commit with a new serial.

use std::time::{Duration, Instant};

use crate::harness::Sandbox;

const SPEC: &str = "examples/quickstart.yaml";

fn listed(sb: &Sandbox) -> serde_json::Value {
    let run = sb.run(&["state", "list", "--json"]).expect(0);
    serde_json::from_str(&run.stdout).expect("state list --json")
}

fn addresses(list: &serde_json::Value) -> Vec<String> {
    list["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["address"].as_str().expect("address").to_owned())
        .collect()
}

fn first_of_kind(list: &serde_json::Value, kind: &str) -> String {
    addresses(list)
        .into_iter()
        .find(|a| a.starts_with(&format!("{kind}.")))
        .unwrap_or_else(|| panic!("no {kind} in {list}"))
}

fn history(sb: &Sandbox) -> Vec<serde_json::Value> {
    let run = sb.run(&["state", "history", "--json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("history --json");
    doc["versions"].as_array().expect("versions").clone()
}

#[test]
fn list_json_rm_and_mv_are_recorded_commits() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", SPEC]).expect(0);
    let list = listed(&sb);
    let serial = list["serial"].as_u64().expect("serial");
    assert_eq!(list["lineage"], sb.state()["lineage"]);
    let vpc = first_of_kind(&list, "vpc");
    let entry = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == vpc.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["kind"], "vpc");
    assert!(
        entry["cloud_id"].as_str().unwrap().starts_with("vpc-"),
        "{entry}"
    );
    let vpc_id = entry["cloud_id"].as_str().unwrap().to_owned();

    // mv: the same kind only, never onto a recorded address, and the source must exist.
    let vswitch = first_of_kind(&list, "vswitch");
    let run = sb
        .run(&["state", "mv", &vpc, "vswitch.elsewhere"])
        .expect(1);
    assert!(run.stderr.contains("keeps its kind"), "{}", run.stderr);
    let run = sb.run(&["state", "mv", &vswitch, &vswitch]).expect(1);
    assert!(run.stderr.contains("records"), "{}", run.stderr);
    let run = sb
        .run(&["state", "mv", "vpc.nowhere", "vpc.else"])
        .expect(1);
    assert!(run.stderr.contains("not in the state"), "{}", run.stderr);
    assert_eq!(
        listed(&sb)["serial"].as_u64(),
        Some(serial),
        "refusals write nothing"
    );

    let run = sb.run(&["state", "mv", &vpc, "vpc.renamed"]).expect(0);
    assert!(run.stderr.contains("moved"), "{}", run.stderr);
    let after = listed(&sb);
    assert_eq!(after["serial"].as_u64(), Some(serial + 1));
    let now = addresses(&after);
    assert!(
        now.contains(&"vpc.renamed".to_owned()) && !now.contains(&vpc),
        "{now:?}"
    );
    let state = sb.state();
    for r in state["resources"].as_array().unwrap() {
        let deps: Vec<&str> = r["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d.as_str())
            .collect();
        assert!(
            !deps.contains(&vpc.as_str()),
            "dependents follow the move: {r}"
        );
    }
    let last = history(&sb).last().cloned().expect("a version");
    assert_eq!(last["serial"].as_u64(), Some(serial + 1));
    assert_eq!(last["operation"], "state mv");
    let changed: Vec<&str> = last["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        changed.contains(&vpc.as_str()) && changed.contains(&"vpc.renamed"),
        "{last}"
    );

    // rm: state only; the message says the resource stays, marked, and how to re-import.
    let run = sb.run(&["state", "rm", "vpc.renamed"]).expect(0);
    assert!(run.stderr.contains(&vpc_id), "{}", run.stderr);
    assert!(run.stderr.contains("is kept"), "{}", run.stderr);
    assert!(run.stderr.contains("ownership mark"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("flinkform import vpc.renamed {vpc_id}")),
        "{}",
        run.stderr
    );
    let after = listed(&sb);
    assert_eq!(after["serial"].as_u64(), Some(serial + 2));
    assert!(!addresses(&after).contains(&"vpc.renamed".to_owned()));
    let world = std::fs::read_to_string(sb.path().join(".flinkform/sim-world.json")).unwrap();
    assert!(world.contains(&vpc_id), "the VPC is still in the cloud");
    let run = sb.run(&["state", "rm", "vpc.renamed"]).expect(1);
    assert!(run.stderr.contains("not in the state"), "{}", run.stderr);

    // The text forms.
    let text = sb.run(&["state", "list"]).expect(0);
    assert!(text.stdout.contains(&vswitch), "{}", text.stdout);
    let hist = sb.run(&["state", "history"]).expect(0);
    assert!(hist.stdout.contains("state rm"), "{}", hist.stdout);
}

#[test]
fn pull_and_push_follow_the_lineage_and_serial_rules() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", SPEC]).expect(0);
    let pulled = sb.run(&["state", "pull"]).expect(0).stdout;
    let doc: serde_json::Value = serde_json::from_str(&pulled).expect("a state document");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc, sb.state(), "pull prints the current state");
    let serial = doc["serial"].as_u64().unwrap();

    // The same serial again is not newer: refused unless forced.
    sb.write("same.json", &pulled);
    let run = sb.run(&["state", "push", "same.json"]).expect(1);
    assert!(run.stderr.contains("not newer"), "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    sb.run(&["state", "push", "same.json", "--force"]).expect(0);
    assert_eq!(
        sb.state()["serial"].as_u64(),
        Some(serial + 1),
        "a new serial"
    );

    // An edited copy with a newer serial is taken as it is.
    let mut edited = doc.clone();
    edited["serial"] = (serial + 10).into();
    edited["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["address"].as_str().unwrap().starts_with("oss_bucket."));
    sb.write(
        "edited.json",
        &serde_json::to_string_pretty(&edited).unwrap(),
    );
    let run = sb.run(&["state", "push", "edited.json"]).expect(0);
    assert!(
        run.stderr.contains(&format!("serial {}", serial + 10)),
        "{}",
        run.stderr
    );
    assert_eq!(sb.state(), edited);

    // Another lineage is refused unless forced.
    let mut other = edited.clone();
    other["lineage"] = "0b5e2f9c-7d1a-4c3e-9f60-2a8b4d6e1c07".into();
    other["serial"] = (serial + 20).into();
    sb.write("other.json", &serde_json::to_string_pretty(&other).unwrap());
    let run = sb.run(&["state", "push", "other.json"]).expect(1);
    assert!(run.stderr.contains("lineage"), "{}", run.stderr);
    assert_eq!(sb.state(), edited, "a refusal changes nothing");

    // History lists the pushes; pull --serial gives a kept version, or says what is kept.
    let versions = history(&sb);
    let serials: Vec<u64> = versions
        .iter()
        .filter_map(|v| v["serial"].as_u64())
        .collect();
    assert_eq!(serials.last(), Some(&(serial + 10)), "{versions:?}");
    let current = sb
        .run(&["state", "pull", "--serial", &(serial + 10).to_string()])
        .expect(0);
    let current: serde_json::Value = serde_json::from_str(&current.stdout).unwrap();
    assert_eq!(current, edited);
    let run = sb.run(&["state", "pull", "--serial", "1"]).expect(1);
    let said: String = run
        .stderr
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '|')
        .collect();
    assert!(
        said.contains("thelocalbackendkeepsonlythecurrentrun'shistory"),
        "{}",
        run.stderr
    );
    assert!(
        said.contains("PostgreSQLbackendforeveryserial"),
        "{}",
        run.stderr
    );
}

#[test]
fn lock_timeout_waits_then_names_the_holder() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", SPEC]).expect(0);
    let backend = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"));
    let lock = backend.lock("apply").expect("lock");
    let start = Instant::now();
    let run = sb
        .run(&["--lock-timeout", "700ms", "state", "rm", "vpc.nowhere"])
        .expect(1);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(700),
        "gave up after {waited:?}"
    );
    assert!(run.stderr.contains(&lock.info().id), "{}", run.stderr);
    assert!(run.stderr.contains("locked by"), "{}", run.stderr);
    assert!(run.stderr.contains("waiting up to 700ms"), "{}", run.stderr);

    // The environment variable works the same; a bad duration is refused.
    let mut cmd = sb.command(&["state", "rm", "vpc.nowhere"]);
    cmd.env("FLINKFORM_LOCK_TIMEOUT", "0s");
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked by"));
    let run = sb.run(&["--lock-timeout", "5 parsecs", "state", "list"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("not a duration"), "{}", run.stderr);
    drop(lock);
    let run = sb
        .run(&["--lock-timeout", "30s", "state", "rm", "vpc.nowhere"])
        .expect(1);
    assert!(run.stderr.contains("not in the state"), "{}", run.stderr);
}

#[test]
fn a_postgres_url_is_refused_clearly_in_this_build() {
    let sb = Sandbox::new();
    for url in [
        "postgres://flinkform@db.example/flinkform?stack=prod",
        "postgresql://flinkform@db.example/flinkform?stack=prod",
    ] {
        let run = sb.run(&["--state", url, "state", "list"]).expect(1);
        assert!(
            run.stderr
                .contains("PostgreSQL backend not available in this build"),
            "{}",
            run.stderr
        );
    }
}

/// A small change to a recorded stack appends to the journal; the state read back (by the
/// next command and by the library) includes it.
#[test]
fn commits_go_to_the_journal_and_reads_include_it() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", SPEC]).expect(0);
    let journal = sb.path().join(".flinkform/state.json.journal");
    assert!(
        std::fs::metadata(&journal).map_or(0, |m| m.len()) == 0,
        "an apply that made the whole stack compacts at the end of the run"
    );
    let snapshot = std::fs::read(sb.path().join(".flinkform/state.json")).unwrap();
    let list = listed(&sb);
    let vpc = first_of_kind(&list, "vpc");
    sb.run(&["state", "rm", &vpc]).expect(0);
    assert_eq!(
        std::fs::read(sb.path().join(".flinkform/state.json")).unwrap(),
        snapshot,
        "one small commit leaves the snapshot alone"
    );
    let appended = std::fs::metadata(&journal).unwrap().len();
    assert!(
        appended > 0 && (appended as usize) < snapshot.len() / 2,
        "one journal line of {appended} bytes"
    );
    let state = sb.state();
    assert!(
        !state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["address"] == vpc.as_str()),
        "{state}"
    );
}
