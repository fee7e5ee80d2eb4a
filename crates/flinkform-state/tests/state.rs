//! Tests of the state model, the file format and the local backend: round trips, atomic
//! writes, serial and lineage rules, locking, corrupt and too-new files, the target rule.

#![allow(clippy::unwrap_used)] // helpers of a test file
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use flinkform_core::{
    AccountName, AccountUid, Address, Attrs, CloudId, Mode, RecordedResource, Region, Target,
    TargetCloud, Value,
};
use flinkform_state::{
    Change, Error, IntentOp, LocalBackend, LockStatus, MemorySink, State, StateSink, format,
};

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn vpc(name: &str, id: &str) -> RecordedResource {
    let mut attrs = Attrs::new();
    attrs.insert("cidr".into(), Value::str("10.0.0.0/16"));
    attrs.insert("name".into(), Value::str(name));
    attrs.insert("region".into(), Value::str("ap-southeast-1"));
    RecordedResource {
        addr: addr(&format!("vpc.{name}")),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        cloud_id: CloudId::new(id).unwrap(),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
    }
}

fn target(cloud: TargetCloud, world: Option<&str>, accounts: &[(&str, &str)]) -> Target {
    Target {
        cloud,
        world: world.map(str::to_owned),
        accounts: accounts
            .iter()
            .map(|(n, u)| (AccountName::new(*n).unwrap(), AccountUid::new(*u).unwrap()))
            .collect(),
    }
}

fn sample_state() -> State {
    let mut s = State::new();
    s.target = Some(target(
        TargetCloud::Sim,
        Some("w-1"),
        &[("main", "5123456789012345")],
    ));
    s.record(vpc("b", "vpc-2"));
    s.record(vpc("a", "vpc-1"));
    let mut identity = Attrs::new();
    identity.insert("name".into(), Value::str("a"));
    s.begin_intent(addr("vpc.a"), IntentOp::Create, "ff-abc".into(), identity);
    s
}

#[test]
fn round_trips_through_the_file_format() {
    let s = sample_state();
    let text = format::encode(&s).unwrap();
    assert!(text.ends_with("}\n"));
    let back = format::decode(&text, "x.json".as_ref()).unwrap();
    assert_eq!(back, s);
    // Deterministic: encoding again gives the same bytes, and resources are sorted.
    assert_eq!(format::encode(&back).unwrap(), text);
    let a = text.find("\"vpc.a\"").unwrap();
    let b = text.find("\"vpc.b\"").unwrap();
    assert!(a < b);
    assert!(text.starts_with("{\n  \"format_version\": 1,\n  \"lineage\": "));
}

#[test]
fn attributes_are_serialized_verbatim() {
    let s = sample_state();
    let text = format::encode(&s).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let attrs = &v["resources"][0]["attrs"];
    assert_eq!(
        attrs,
        &serde_json::json!({"cidr": "10.0.0.0/16", "name": "a", "region": "ap-southeast-1"}),
        "state holds exactly the recorded attributes, nothing added"
    );
}

#[test]
fn missing_file_reads_as_new_empty_state() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path());
    assert_eq!(backend.path(), dir.path().join(".flinkform/state.json"));
    let s = backend.read().unwrap();
    assert_eq!(s.serial, 0);
    assert!(s.resources.is_empty() && s.journal.is_empty() && s.target.is_none());
    assert_ne!(
        s.lineage,
        backend.read().unwrap().lineage,
        "each fresh state gets its own lineage"
    );
}

#[test]
fn serial_bumps_only_when_content_changes_and_lineage_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    let mut lock = backend.lock("apply").unwrap();
    let mut s = lock.read().unwrap();
    let lineage = s.lineage;

    // Writing the unchanged fresh state writes nothing.
    lock.write(&s).unwrap();
    assert!(!backend.path().exists());

    s.record(vpc("a", "vpc-1"));
    lock.write(&s).unwrap();
    assert_eq!(backend.read().unwrap().serial, 1);

    // Same content again: no bump, whatever serial the caller's copy holds.
    lock.write(&s).unwrap();
    s.serial = 77;
    lock.write(&s).unwrap();
    assert_eq!(backend.read().unwrap().serial, 1);

    // A new run: its one backup is the snapshot as the run found it.
    drop(lock);
    let mut lock = backend.lock("apply").unwrap();
    s.record(vpc("b", "vpc-2"));
    lock.write(&s).unwrap();
    let on_disk = lock.read().unwrap();
    assert_eq!(on_disk.serial, 2);
    assert_eq!(on_disk.lineage, lineage);
    assert_eq!(lock.serial(), 2);

    // The backup holds the previous version.
    let backup = format::decode(
        &fs::read_to_string(backend.backup_path()).unwrap(),
        "b".as_ref(),
    )
    .unwrap();
    assert_eq!(backup.serial, 1);
    assert_eq!(backup.resources.len(), 1);

    // Another lineage is refused.
    let mut other = State::new();
    other.record(vpc("c", "vpc-3"));
    assert!(matches!(
        lock.write(&other),
        Err(Error::LineageMismatch { .. })
    ));
}

#[test]
fn failed_write_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    let mut lock = backend.lock("apply").unwrap();
    let mut s = lock.read().unwrap();
    s.record(vpc("a", "vpc-1"));
    lock.write(&s).unwrap();
    let before = fs::read(backend.path()).unwrap();

    fs::create_dir(backend.temp_path()).unwrap();
    s.record(vpc("b", "vpc-2"));
    let err = lock.write(&s).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(fs::read(backend.path()).unwrap(), before);

    // Once the obstacle is gone the write goes through with the next serial.
    fs::remove_dir(backend.temp_path()).unwrap();
    lock.write(&s).unwrap();
    assert_eq!(backend.read().unwrap().serial, 2);
    assert!(!backend.temp_path().exists());
}

#[test]
fn second_lock_is_refused_with_holder_info() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    let held = backend.lock("apply").unwrap();
    let err = backend.lock("destroy").unwrap_err();
    match &err {
        Error::StateLocked {
            id,
            operation,
            pid,
            who,
            ..
        } => {
            assert_eq!(id, &held.info().id);
            assert_eq!(operation, "apply");
            assert_eq!(*pid, std::process::id());
            assert!(who.contains('@'));
        }
        other => panic!("expected StateLocked, got {other}"),
    }
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(
        help.contains(&format!("flinkform force-unlock {}", held.info().id)),
        "{help}"
    );
    assert_eq!(
        backend.lock_status().unwrap(),
        LockStatus::Held(held.info().clone())
    );

    // force-unlock cannot break a lock whose holder runs.
    assert!(matches!(
        backend.force_unlock(&held.info().id),
        Err(Error::LockStillHeld { .. })
    ));

    drop(held);
    assert_eq!(backend.lock_status().unwrap(), LockStatus::Free);
    let again = backend.lock("destroy").unwrap();
    assert!(again.stale_predecessor().is_none());
}

#[test]
fn stale_lock_info_is_reported_and_force_unlock_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    // What a killed holder leaves behind: owner info, but no OS lock.
    let dead = serde_json::json!({
        "id": "dead-1", "operation": "apply", "who": "ci@runner", "pid": 4_000_000, "created": "2026-01-01T00:00:00Z"
    });
    fs::write(backend.lock_path(), dead.to_string()).unwrap();
    let status = backend.lock_status().unwrap();
    assert!(
        matches!(&status, LockStatus::Stale(i) if i.id == "dead-1"),
        "{status:?}"
    );

    let wrong = backend.force_unlock("other").unwrap_err();
    assert!(matches!(wrong, Error::LockIdMismatch { .. }), "{wrong}");
    // The message says the id is wrong without giving away the right one.
    let help = miette::Diagnostic::help(&wrong).unwrap().to_string();
    let said = format!("{wrong} {help} {wrong:?}");
    assert!(said.contains("does not match the current lock"), "{said}");
    assert!(!said.contains("dead-1"), "{said}");
    let cleared = backend.force_unlock("dead-1").unwrap();
    assert_eq!(cleared.who, "ci@runner");
    assert_eq!(backend.lock_status().unwrap(), LockStatus::Free);
    assert!(matches!(
        backend.force_unlock("dead-1"),
        Err(Error::NotLocked { .. })
    ));

    // Taking the lock over stale info works and remembers the predecessor.
    fs::write(backend.lock_path(), dead.to_string()).unwrap();
    let lock = backend.lock("apply").unwrap();
    assert_eq!(
        lock.stale_predecessor().map(|i| i.id.as_str()),
        Some("dead-1")
    );
}

#[test]
fn corrupt_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    for garbage in [
        "not json".as_bytes(),
        b"{}",
        b"{\"format_version\": \"one\"}",
        b"{\"format_version\": 1}",
        b"{\"format_version\": 0, \"lineage\": \"x\"}",
        b"\xff\xfe",
        b"[1,2,3]",
    ] {
        fs::write(backend.path(), garbage).unwrap();
        let err = backend.read().unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("state.json"), "{err}");
    }
    // An address appearing twice.
    let s = sample_state();
    let mut v: serde_json::Value = serde_json::from_str(&format::encode(&s).unwrap()).unwrap();
    let first = v["resources"][0].clone();
    v["resources"].as_array_mut().unwrap().push(first);
    fs::write(backend.path(), v.to_string()).unwrap();
    assert!(
        matches!(backend.read(), Err(Error::Corrupt { reason, .. }) if reason.contains("twice"))
    );
}

#[test]
fn newer_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    fs::write(backend.path(), r#"{"format_version": 2, "whatever": true}"#).unwrap();
    let err = backend.read().unwrap_err();
    assert!(matches!(err, Error::TooNew { version: 2, .. }));
    assert!(
        err.to_string().contains("written by a newer flinkform"),
        "{err}"
    );
}

#[test]
fn target_rule() {
    let mut s = State::new();
    let sim = target(TargetCloud::Sim, Some("w-1"), &[("main", "111")]);
    s.check_target(&sim).unwrap();
    s.bind_target(&sim);

    // Same target, and a target with an extra account, pass.
    s.check_target(&sim).unwrap();
    let more = target(
        TargetCloud::Sim,
        Some("w-1"),
        &[("main", "111"), ("dev", "222")],
    );
    s.check_target(&more).unwrap();
    s.bind_target(&more);
    assert_eq!(s.target.as_ref().unwrap().accounts.len(), 2);
    // An account the current run does not use is not a mismatch.
    s.check_target(&target(TargetCloud::Sim, Some("w-1"), &[("dev", "222")]))
        .unwrap();

    let cases = [
        (
            target(TargetCloud::Alibaba, None, &[("main", "111")]),
            "cloud",
        ),
        (
            target(TargetCloud::Sim, Some("w-2"), &[("main", "111")]),
            "world",
        ),
        (target(TargetCloud::Sim, None, &[("main", "111")]), "world"),
        (
            target(TargetCloud::Sim, Some("w-1"), &[("main", "999")]),
            "UID 999",
        ),
    ];
    for (current, needle) in cases {
        let err = s.check_target(&current).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::TargetMismatch { .. }));
        assert!(text.contains(needle), "{text}");
        assert!(text.contains("w-1"), "names the state's target: {text}");
        let help = miette::Diagnostic::help(&err).unwrap().to_string();
        assert!(help.contains("one cloud"), "{help}");
    }
}

#[test]
fn intents_are_journaled_and_removed() {
    let mut s = State::new();
    let id1 = s.begin_intent(
        addr("vpc.a"),
        IntentOp::Create,
        "t1".into(),
        BTreeMap::new(),
    );
    let id2 = s.begin_intent(
        addr("vpc.b"),
        IntentOp::Delete,
        String::new(),
        BTreeMap::new(),
    );
    assert_eq!((id1, id2), (1, 2));
    assert_eq!(s.end_intent(id1).unwrap().client_token, "t1");
    assert!(s.end_intent(id1).is_none());
    assert_eq!(s.next_intent_id(), 3);
    assert_eq!(s.journal.len(), 1);
}

#[tokio::test]
async fn state_lock_and_memory_sink_commit() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    let mut sink = backend.lock("apply").unwrap();
    sink.commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    assert_eq!(StateSink::state(&sink).serial, 1);
    sink.commit(Vec::new()).await.unwrap();
    assert_eq!(StateSink::state(&sink).serial, 1);
    assert_eq!(backend.read().unwrap(), *StateSink::state(&sink));

    let mut mem = MemorySink::new(State::new());
    mem.commit(Vec::new()).await.unwrap();
    mem.commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    assert_eq!((mem.commits(), mem.state().serial), (1, 1));
}

/// Waiting gates round-trip, sorted by name; a state without gates has no `gates` key, so
/// files written before gates existed and files written now without gates are identical.
#[test]
fn waiting_gates_round_trip_and_are_omitted_when_empty() {
    let mut s = sample_state();
    let plain = format::encode(&s).unwrap();
    assert!(!plain.contains("\"gates\""));
    for name in ["verify-email.b", "settlement.a"] {
        s.gates.insert(
            name.to_owned(),
            flinkform_state::WaitingGate {
                addr: addr(&format!("gate.{name}")),
                instructions: format!("do {name}"),
                since: "2026-01-01T00:00:00Z".to_owned(),
            },
        );
    }
    let text = format::encode(&s).unwrap();
    assert!(text.find("settlement.a").unwrap() < text.find("verify-email.b").unwrap());
    let back = format::decode(&text, "x.json".as_ref()).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        format::decode(&plain, "x.json".as_ref())
            .unwrap()
            .gates
            .len(),
        0
    );
}

/// What one attempt of a racing locker saw: its own lock, or the holder the refusal named.
enum Attempt {
    Won(flinkform_state::LockInfo),
    Lost(flinkform_state::LockInfo),
}

fn attempt(
    backend: &LocalBackend,
    operation: &str,
) -> (Attempt, Option<flinkform_state::StateLock>) {
    match backend.lock(operation) {
        Ok(lock) => (Attempt::Won(lock.info().clone()), Some(lock)),
        Err(Error::StateLocked {
            id,
            operation,
            who,
            pid,
            created,
            ..
        }) => (
            Attempt::Lost(flinkform_state::LockInfo {
                id,
                operation,
                who,
                pid,
                created,
            }),
            None,
        ),
        Err(other) => panic!("{operation}: {other}"),
    }
}

/// The owner record of a real holder: none of the placeholders a half-written one gives.
#[track_caller]
fn assert_real_owner(holder: &flinkform_state::LockInfo) {
    assert!(holder.operation.starts_with("op-"), "{holder:?}");
    assert!(
        holder.who.contains('@') && holder.who != "(unknown)",
        "{holder:?}"
    );
    assert_eq!(holder.pid, std::process::id(), "{holder:?}");
    assert!(uuid::Uuid::parse_str(&holder.id).is_ok(), "{holder:?}");
    assert!(holder.created.ends_with('Z'), "{holder:?}");
}

#[test]
fn racing_lockers_always_name_the_real_holder() {
    use std::sync::{Arc, Barrier};
    const THREADS: usize = 8;
    const ROUNDS: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));

    // Rounds: every thread tries at once; the winner holds the lock until all have tried.
    // Exactly one wins, and every loser names that winner, never a half-written record.
    let start = Arc::new(Barrier::new(THREADS));
    let tried = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (backend, start, tried) = (backend.clone(), Arc::clone(&start), Arc::clone(&tried));
            std::thread::spawn(move || {
                (0..ROUNDS)
                    .map(|r| {
                        start.wait();
                        let (seen, held) = attempt(&backend, &format!("op-{t}-{r}"));
                        tried.wait();
                        drop(held);
                        seen
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let seen: Vec<Vec<Attempt>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for r in 0..ROUNDS {
        let winners: Vec<&flinkform_state::LockInfo> = seen
            .iter()
            .filter_map(|s| match &s[r] {
                Attempt::Won(i) => Some(i),
                Attempt::Lost(_) => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {r}: one winner");
        for s in &seen {
            if let Attempt::Lost(holder) = &s[r] {
                assert_real_owner(holder);
                assert_eq!(holder, winners[0], "round {r}: the loser names the winner");
            }
        }
    }

    // Free-for-all: lockers take and release the lock as fast as they can, so refusals also
    // meet a holder that is releasing it. Every refusal still names a real holder.
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (backend, start) = (backend.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for r in 0..ROUNDS {
                    if let (Attempt::Lost(holder), _) = attempt(&backend, &format!("op-{t}-{r}")) {
                        assert_real_owner(&holder);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(backend.lock_status().unwrap(), LockStatus::Free);
}
