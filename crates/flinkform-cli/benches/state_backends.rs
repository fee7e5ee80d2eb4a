//! State backend benchmark (`cargo bench -p flinkform-cli --bench state_backends [-- N
//! REPEATS]`): the wall time of `flinkform apply` of N pay-as-you-go workspaces (each with
//! its VPC, vSwitch, bucket and one project; default N = 100) with the state in the local
//! file and in PostgreSQL, against the same emulator settings. Each run starts from a fresh
//! emulator world (the same seed) served in-process, and a new state (a new file; a new stack
//! of one database of a throwaway PostgreSQL server with production durability: fsync and
//! synchronous commit on). Runs alternate between the backends; it prints each run and the
//! median per backend, and the ratio PostgreSQL / local.
//!
//! The apply's wall time is mostly the executor's rate limits and the emulator; so it also
//! times the backends alone: the commits such an apply makes (per resource, its intent, then
//! its outcome with the intent ended: 2 × 6 × N commits) through `Session::commit`, in
//! process, for each backend, from `lock` to `finish` (`-- N REPEATS commits`: only these).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkform_cloudsim::{SimOptions, World, spawn_shared};
use flinkform_core::{AccountName, Attrs, CloudId, Mode, RecordedResource, Region, Value};
use flinkform_state::{Backend, Change, Intent, IntentOp, LocalBackend};
use flinkform_state_pg::PgBackend;
use flinkform_state_pg::testing::{Options, PgServer};

fn yaml(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        write!(
            s,
            "---\napiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata:\n  name: ws{i:04}\n\
             spec:\n  account: main\n  region: ap-southeast-1\n  zone: ap-southeast-1a\n  \
             billing: {{ method: pay-as-you-go }}\n  network:\n    vpc: {{ create: {{ cidr: 10.10.0.0/16 }} }}\n    \
             vSwitches:\n      - {{ create: {{ cidr: 10.10.1.0/24 }} }}\n  storage:\n    \
             ossBucket: {{ name: ws{i:04}-flink-bench }}\n  projects:\n    - {{ name: etl }}\n  protect: false\n"
        )
        .unwrap();
    }
    s
}

/// One `flinkform apply` of `n` workspaces; `state` is `FLINKFORM_STATE` (none: the file).
fn apply_once(rt: &tokio::runtime::Runtime, n: usize, state: Option<&str>) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new(1000 + n as u64);
    world.set_time_scale(20_000.0).unwrap();
    world.ensure_account("main");
    let world_file = dir.path().join(".flinkform/sim-world.json");
    std::fs::create_dir_all(world_file.parent().unwrap()).unwrap();
    world.save(&world_file).unwrap();
    let handle = rt
        .block_on(spawn_shared(
            Arc::new(tokio::sync::Mutex::new(world)),
            SimOptions::default(),
        ))
        .unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), yaml(n)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flinkform"));
    cmd.args(["apply", "--auto-approve", "fleet.yaml"])
        .current_dir(dir.path())
        .env("FLINKFORM_CLOUD", "sim")
        .env("FLINKFORM_SIM_ENDPOINT", handle.endpoint())
        .env("FLINKFORM_SIM_TIME_SCALE", "20000")
        .env("NO_COLOR", "1")
        .env("HOME", dir.path())
        .env_remove("FLINKFORM_STATE")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    if let Some(url) = state {
        cmd.env("FLINKFORM_STATE", url);
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "apply failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(handle.stop()).unwrap();
    took
}

/// A recorded resource about the size of a workspace's.
fn resource(i: usize) -> RecordedResource {
    let mut attrs = Attrs::new();
    for (k, v) in [
        ("name", format!("ws{i:04}")),
        ("zone", "ap-southeast-1a".to_owned()),
        ("vpc_id", format!("vpc-{i:020}")),
        ("vswitch_ids", format!("vsw-{i:020}")),
        ("oss_bucket", format!("ws{i:04}-flink-bench")),
        ("billing", "pay-as-you-go".to_owned()),
        ("status", "RUNNING".to_owned()),
    ] {
        attrs.insert(k.to_owned(), Value::str(&v));
    }
    RecordedResource {
        addr: format!("flink_workspace.ws{i:05}").parse().unwrap(),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        cloud_id: CloudId::new(format!("f-{i:020}")).unwrap(),
        attrs,
        depends_on: std::collections::BTreeSet::new(),
        protect: false,
    }
}

/// The commits of an apply of `resources` resources, through `backend`, timed from `lock`
/// to `finish`.
async fn commits(backend: &dyn Backend, resources: usize) -> Duration {
    let start = Instant::now();
    let mut session = backend.lock("apply", Duration::ZERO).await.unwrap();
    for i in 0..resources {
        let r = resource(i);
        let id = session.state().next_intent_id();
        let mut identity = Attrs::new();
        identity.insert("name".to_owned(), Value::str(format!("ws{i:04}")));
        session
            .commit(vec![
                Change::EndIntentsOf(r.addr.clone()),
                Change::BeginIntent(Intent {
                    id,
                    addr: r.addr.clone(),
                    op: IntentOp::Create,
                    client_token: format!("ff-{i}"),
                    identity,
                    started_at: "2026-12-01T00:00:00Z".to_owned(),
                }),
            ])
            .await
            .unwrap();
        let addr = r.addr.clone();
        session
            .commit(vec![
                Change::Record(r),
                Change::EndIntentsOf(addr.clone()),
                Change::RemoveGatesOf(addr),
            ])
            .await
            .unwrap();
    }
    session.finish().await.unwrap();
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100);
    let repeats = args.get(1).copied().unwrap_or(3);
    // `commits`: only the backends alone, not the applies.
    let applies = !std::env::args().any(|a| a == "commits");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = PgServer::start(Options { durable: true }).expect("throwaway PostgreSQL");
    let db = server.create_database();
    let (mut local, mut pg) = (Vec::new(), Vec::new());
    for r in (0..repeats).filter(|_| applies) {
        let l = apply_once(&rt, n, None);
        let url = server.tcp_url(&db, &format!("bench-{r}"));
        let p = apply_once(&rt, n, Some(&url));
        println!(
            "run {}: local file {:.2} s, PostgreSQL {:.2} s",
            r + 1,
            l.as_secs_f64(),
            p.as_secs_f64()
        );
        local.push(l);
        pg.push(p);
    }
    let resources = 6 * n;
    let (mut local_commits, mut pg_commits) = (Vec::new(), Vec::new());
    for r in 0..repeats {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalBackend::open(dir.path().join("state.json"));
        let l = rt.block_on(commits(&local, resources));
        let pg = PgBackend::open(&server.tcp_url(&db, &format!("commits-{r}"))).unwrap();
        let p = rt.block_on(commits(&pg, resources));
        println!(
            "commits run {}: {} commits: local file {:.2} s, PostgreSQL {:.2} s",
            r + 1,
            2 * resources,
            l.as_secs_f64(),
            p.as_secs_f64()
        );
        local_commits.push(l);
        pg_commits.push(p);
    }
    let (lc, pc) = (median(local_commits), median(pg_commits));
    if applies {
        let (l, p) = (median(local), median(pg));
        println!("\n| backend | N | runs | median apply wall s |\n|---|---:|---:|---:|");
        println!("| local file | {n} | {repeats} | {:.2} |", l.as_secs_f64());
        println!(
            "| PostgreSQL (TCP, fsync on) | {n} | {repeats} | {:.2} |",
            p.as_secs_f64()
        );
        println!(
            "\nPostgreSQL / local: {:.2}",
            p.as_secs_f64() / l.as_secs_f64()
        );
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / (2 * resources) as f64;
    println!(
        "\n| backend | commits | median s | ms per commit |\n|---|---:|---:|---:|\n| local file | {c} | {:.2} | {:.2} |\n| PostgreSQL (TCP, fsync on) | {c} | {:.2} | {:.2} |",
        lc.as_secs_f64(),
        per(lc),
        pc.as_secs_f64(),
        per(pc),
        c = 2 * resources
    );
    println!(
        "\nPostgreSQL / local, commits alone: {:.2}",
        pc.as_secs_f64() / lc.as_secs_f64()
    );
}
