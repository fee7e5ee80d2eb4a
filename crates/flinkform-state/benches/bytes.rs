//! Bytes written to state per action, measured (not timed): an apply of N workspaces
//! (6 resources each, an intent commit and an outcome commit per resource, as the executor
//! makes them), then a run changing 10 workspaces. A benchmark binary, not a test: run with
//! `cargo bench -p flinkform-state --bench bytes` (BENCHMARKS.md, "Fleet").
//!
//! "now" is what this process wrote (`wchar` of `/proc/self/io`: every byte passed to
//! `write`, lock records included); "before" is what the whole-file backend wrote for the
//! same commits: each commit wrote the whole file and copied the previous one to `.backup`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measurement, not a product

use std::collections::BTreeSet;

use flinkform_core::{AccountName, Attrs, CloudId, Mode, RecordedResource, Region, Value};
use flinkform_state::{Change, Intent, IntentOp, LocalBackend, State, format};

const KINDS: [&str; 6] = [
    "vpc",
    "vswitch",
    "oss_bucket",
    "flink_workspace",
    "flink_project",
    "ram_role",
];

fn record(kind: &str, ws: usize) -> RecordedResource {
    let mut attrs = Attrs::new();
    attrs.insert("name".into(), Value::str(format!("ws-{ws:05}")));
    attrs.insert("cidr".into(), Value::str("10.20.0.0/16"));
    attrs.insert("zone".into(), Value::str("ap-southeast-1a"));
    attrs.insert("description".into(), Value::str("managed by flinkform"));
    let mut tags = std::collections::BTreeMap::new();
    tags.insert(
        "flinkform:stack".to_owned(),
        Value::str("0b5e2f9c-7d1a-4c3e-9f60-2a8b4d6e1c07"),
    );
    tags.insert(
        "flinkform:address".to_owned(),
        Value::str(format!("{kind}.ws-{ws:05}")),
    );
    attrs.insert("tags".into(), Value::Map(tags));
    RecordedResource {
        addr: format!("{kind}.ws-{ws:05}").parse().unwrap(),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        cloud_id: CloudId::new(format!("{kind}-{ws:020}")).unwrap(),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
    }
}

fn action(kind: &str, ws: usize, id: u64) -> [Vec<Change>; 2] {
    let r = record(kind, ws);
    let intent = Intent {
        id,
        addr: r.addr.clone(),
        op: IntentOp::Create,
        client_token: format!("ff-{id:032}"),
        identity: [("name".to_owned(), Value::str(format!("ws-{ws:05}")))]
            .into_iter()
            .collect(),
        started_at: "2026-12-01T00:00:00Z".to_owned(),
    };
    [
        vec![
            Change::EndIntentsOf(r.addr.clone()),
            Change::BeginIntent(intent),
        ],
        vec![
            Change::Record(r.clone()),
            Change::EndIntentsOf(r.addr.clone()),
            Change::RemoveGatesOf(r.addr),
        ],
    ]
}

fn wchar() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// One run: `commits` through a fresh lock, then the end of the run. Returns (bytes written
/// now, bytes the whole-file backend wrote, commits).
fn run(backend: &LocalBackend, commits: &[Vec<Change>]) -> (u64, u64, u64) {
    let before = wchar();
    let mut lock = backend.lock("apply").unwrap();
    let mut old = 0u64;
    let mut prev = format::encode(lock.current()).unwrap().len() as u64;
    let exists = backend.path().exists();
    let mut first = !exists;
    let mut n = 0;
    for c in commits {
        let serial = lock.serial();
        lock.commit_changes(c).unwrap();
        if lock.serial() != serial {
            n += 1;
            // Whole file written, the previous one copied to the backup.
            let size = estimate(lock.current());
            old += size + if first { 0 } else { prev };
            first = false;
            prev = size;
        }
    }
    lock.finish_run().unwrap();
    (wchar() - before, old, n)
}

/// The encoded size of `state`, computed incrementally enough for a measurement: exact for
/// small states, per-resource sizes summed for large ones.
fn estimate(state: &State) -> u64 {
    thread_local! {
        static PER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    if state.resources.len() <= 12 {
        return format::encode(state).unwrap().len() as u64;
    }
    let per = PER.with(|p| {
        if p.get() == 0 {
            let mut one = state.clone();
            one.resources = state
                .resources
                .iter()
                .take(12)
                .map(|(a, r)| (a.clone(), r.clone()))
                .collect();
            one.journal.clear();
            let mut none = one.clone();
            none.resources.clear();
            let d = format::encode(&one).unwrap().len() - format::encode(&none).unwrap().len();
            p.set(d as u64 / 12);
        }
        p.get()
    });
    let mut rest = state.clone();
    rest.resources.clear();
    format::encode(&rest).unwrap().len() as u64 + per * state.resources.len() as u64
}

fn measure(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path().join("state.json"));
    let mut id = 0;
    let mut apply = Vec::new();
    for ws in 0..n {
        for kind in KINDS {
            id += 1;
            apply.extend(action(kind, ws, id));
        }
    }
    let (now, old, commits) = run(&backend, &apply);
    let rec_size = serde_json::to_string_pretty(&format::StateFileV1::from_state(&{
        let mut s = State::new();
        s.record(record("flink_workspace", 1));
        s
    }))
    .unwrap()
    .len() as u64;
    let actions = commits / 2;
    println!(
        "apply of {n} workspaces: {actions} actions, {commits} commits; now {now} bytes ({} per action); before {old} bytes ({} per action); record ~{rec_size} bytes, target per action {}",
        now / actions,
        old / actions,
        4 * rec_size + 4096
    );
    // Change 10 workspaces: one update per resource.
    let mut change = Vec::new();
    for ws in 0..10 {
        for kind in KINDS {
            id += 1;
            let mut r = record(kind, ws);
            r.attrs.insert("description".into(), Value::str("changed"));
            change.push(vec![Change::BeginIntent(Intent {
                id,
                addr: r.addr.clone(),
                op: IntentOp::Update,
                client_token: String::new(),
                identity: Attrs::new(),
                started_at: "2026-12-01T00:00:00Z".to_owned(),
            })]);
            change.push(vec![Change::Record(r.clone()), Change::EndIntent(id)]);
        }
    }
    let (now, old, commits) = run(&backend, &change);
    let actions = commits / 2;
    println!(
        "change 10 of {n}: {actions} actions; now {now} bytes ({} per action); before {old} bytes ({} per action); snapshot {} bytes",
        now / actions,
        old / actions,
        std::fs::metadata(backend.path()).unwrap().len()
    );
}

fn main() {
    for n in [100, 1000] {
        measure(n);
    }
}
