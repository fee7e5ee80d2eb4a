//! Nothing lost in a hostile cloud: the real binary against an emulator that lives in the
//! test process (`--sim-endpoint`), so that the test can SIGKILL the binary right after the
//! emulator committed its k-th mutating call, or lose the response of that call, for every
//! k (for the Marketplace example also the Billing Center connector's calls, through its
//! e-mail gate); and a throttling storm. After each fault a second apply must converge with no
//! duplicate in the emulated cloud, every cloud resource in state, a state that parses, and
//! an empty plan.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use flinkform_cloudsim::{CommitHook, FaultPlan, SimHandle, SimOptions, VendorSummary, World};

use crate::harness::{Run, Sandbox};
use crate::matrix::{CallLog, Killer, Scenario, no_check, numbered, settled_state};

/// Cloud seconds per wall-clock second: a workspace is ready in 15-30 ms.
pub(crate) const SCALE: f64 = 20_000.0;

/// An emulator on a loopback port of this process, serving a fresh world whose file the
/// binary reads for the credentials.
pub(crate) struct Emulator {
    rt: tokio::runtime::Runtime,
    handle: Option<SimHandle>,
}

impl Emulator {
    fn start(sb: &Sandbox, seed: u64, faults: FaultPlan, hook: Option<CommitHook>) -> Self {
        let mut world = World::new(seed);
        world.set_time_scale(SCALE).expect("scale");
        world.ensure_account("main");
        Self::start_world(sb, world, faults, hook)
    }

    /// Serves `world` (its time scale and accounts as given).
    pub(crate) fn start_world(
        sb: &Sandbox,
        world: World,
        faults: FaultPlan,
        hook: Option<CommitHook>,
    ) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let path = sb.path().join(".flinkform/sim-world.json");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        world.save(&path).expect("save world");
        let shared = Arc::new(tokio::sync::Mutex::new(world));
        let options = SimOptions {
            faults,
            on_commit: hook,
            ..SimOptions::default()
        };
        let handle = rt
            .block_on(flinkform_cloudsim::spawn_shared(shared, options))
            .expect("spawn emulator");
        Self {
            rt,
            handle: Some(handle),
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        self.handle.as_ref().expect("running").endpoint()
    }

    pub(crate) fn world(&self) -> World {
        let h = self.handle.as_ref().expect("running");
        self.rt.block_on(async { h.world.lock().await.clone() })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.rt.block_on(h.stop());
        }
    }
}

/// Sends SIGKILL to `pid` and returns once it is sent (the shell's `kill` builtin: no
/// `unsafe`, no extra dependency).
pub(crate) fn sigkill(pid: u32) -> std::process::ExitStatus {
    Command::new("sh")
        .args(["-c", &format!("kill -9 {pid}")])
        .status()
        .expect("sh")
}

pub(crate) fn with_endpoint(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> Command {
    let mut cmd = sb.command(args);
    cmd.env("FLINKFORM_SIM_ENDPOINT", emu.endpoint());
    cmd
}

pub(crate) fn run_with(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> Run {
    let out = with_endpoint(sb, emu, args)
        .output()
        .expect("run flinkform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn crash_matrix_quickstart() {
    Scenario::create("examples/quickstart.yaml").crash_matrix(&no_check);
}

#[test]
fn crash_matrix_subscription() {
    Scenario::create("examples/subscription.yaml").crash_matrix(&no_check);
}

#[test]
fn lost_response_matrix_quickstart() {
    Scenario::create("examples/quickstart.yaml").lost_response_matrix(&no_check);
}

#[test]
fn lost_response_matrix_subscription() {
    Scenario::create("examples/subscription.yaml").lost_response_matrix(&no_check);
}

/// 20 pay-as-you-go workspaces in one account, each with its own VPC, vSwitch, bucket and
/// project.
fn storm_spec(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: storm-{i:02}
spec:
  account: main
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: {{ create: {{ cidr: 10.{o}.0.0/16 }} }}
    vSwitches:
      - {{ create: {{ cidr: 10.{o}.1.0/24 }} }}
  storage:
    ossBucket: {{ name: storm-{i:02}-flink-demo }}
  projects:
    - {{ name: etl }}
  protect: false
",
                o = 100 + i
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn summary_number(stdout: &str, label: &str) -> u64 {
    stdout
        .split(label)
        .nth(1)
        .and_then(|rest| {
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        })
        .unwrap_or_else(|| panic!("no `{label}` in the summary:\n{stdout}"))
}

#[test]
fn throttling_storm_of_twenty_workspaces() {
    let sb = Sandbox::new();
    sb.write("storm.yaml", &storm_spec(20));
    let faults = FaultPlan::from_json(
        r#"{"seed": 42, "qps": {"*": 2}, "errors": [{"action": "*", "probability": 0.05}]}"#,
    )
    .expect("plan");
    let emu = Emulator::start(&sb, 5, faults, None);
    let start = Instant::now();
    let apply = run_with(&sb, &emu, &["apply", "--auto-approve", "storm.yaml"]).expect(0);
    let took = start.elapsed();
    let calls = summary_number(&apply.stdout, "API calls:");
    let retries = summary_number(&apply.stdout, "retries:");
    let throttled = summary_number(&apply.stdout, "throttled:");
    println!(
        "throttling storm: 20 workspaces at 2 QPS per action and 5% 5xx: {calls} API calls, {retries} retries, {throttled} throttled, {:.1} s",
        took.as_secs_f64()
    );
    assert!(retries > 0 && throttled > 0, "{}", apply.stdout);
    let world = emu.world();
    let s = world.summary().remove("main").expect("main");
    // One existing VPC and vSwitch per account, plus one each per workspace.
    assert_eq!(
        (s.instances, s.vpcs, s.vswitches, s.buckets, s.roles),
        (20, 21, 21, 20, 1)
    );
    assert_eq!(s.namespaces, 40, "etl and the default project of each");
    let names: BTreeMap<String, usize> = world
        .instances("main")
        .expect("instances")
        .into_iter()
        .fold(BTreeMap::new(), |mut m, i| {
            *m.entry(i.name).or_default() += 1;
            m
        });
    assert!(names.values().all(|n| *n == 1), "{names:?}");
    // The storm is over (the admin endpoint takes the faults away): nothing is left to do.
    let answer = admin_post(&emu, "/_sim/faults", "{}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let plan = run_with(&sb, &emu, &["plan", "--detailed-exitcode", "storm.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// A plain HTTP/1.1 POST to the emulator's admin endpoint; returns the raw answer.
fn admin_post(emu: &Emulator, path: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let addr = emu.handle.as_ref().expect("running").addr;
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn a_killed_apply_leaves_a_stale_lock_that_force_unlock_clears() {
    let sb = Sandbox::new();
    let killer = Killer::at(1);
    let emu = Emulator::start(&sb, 3, FaultPlan::default(), Some(killer.hook()));
    let spec = "examples/quickstart.yaml";
    let status = killer.run(with_endpoint(&sb, &emu, &["apply", "--auto-approve", spec]));
    assert!(killer.hit(status), "{status:?}");
    let pid = killer.last_pid();
    let lock = sb.path().join(".flinkform/state.json.lock");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).expect("lock file")).expect("json");
    assert_eq!(info["operation"], "apply");
    assert_eq!(info["pid"].as_u64(), Some(u64::from(pid)));
    let id = info["id"].as_str().expect("id").to_owned();

    let wrong = run_with(&sb, &emu, &["force-unlock", "not-the-id"]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    // A wrong id is refused without giving away the right one.
    assert!(
        wrong.stderr.contains("does not match the current lock"),
        "{}",
        wrong.stderr
    );
    assert!(!wrong.stderr.contains(&id), "{}", wrong.stderr);
    let unlock = run_with(&sb, &emu, &["force-unlock", &id]).expect(0);
    assert!(unlock.stderr.contains(&id), "{}", unlock.stderr);
    assert!(
        std::fs::read_to_string(&lock)
            .expect("lock")
            .trim()
            .is_empty(),
        "the owner information is cleared"
    );
    let again = run_with(&sb, &emu, &["apply", "--auto-approve", spec]).expect(0);
    assert!(
        !again.stderr.contains("exited without releasing"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_dangling_intent_is_shown_in_the_plan_and_cleared_by_apply() {
    let sb = Sandbox::new();
    let killer = Killer::new(|_, action| action == "CreateVpc");
    let emu = Emulator::start(&sb, 4, FaultPlan::default(), Some(killer.hook()));
    let spec = "examples/quickstart.yaml";
    let status = killer.run(with_endpoint(&sb, &emu, &["apply", "--auto-approve", spec]));
    assert!(killer.hit(status), "{status:?}");
    let state = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"))
        .read()
        .expect("state");
    assert!(
        state
            .journal
            .iter()
            .any(|i| i.addr.to_string().starts_with("vpc.") && !i.client_token.is_empty()),
        "the VPC's create intent with its client token is in the journal: {:?}",
        state.journal
    );
    let plan = run_with(&sb, &emu, &["plan", spec]).expect(0);
    let shown = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        shown.contains("an earlier apply was interrupted during create"),
        "{shown}"
    );
    let apply = run_with(&sb, &emu, &["apply", "--auto-approve", spec]).expect(0);
    let state = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"))
        .read()
        .expect("state");
    assert!(state.journal.is_empty(), "{}", apply.stdout);
    let s = emu.world().summary().remove("main").expect("main");
    assert_eq!(s.vpcs, 2, "one VPC created, not two");
}

#[test]
fn a_fault_plan_file_makes_the_in_process_emulator_hostile() {
    let sb = Sandbox::new();
    sb.write(
        "faults.json",
        r#"{"seed": 9,
            "lose_response": [{"action": "CreateVpc"}, {"action": "CreateInstance"}, {"action": "oss:PUT"}],
            "errors": [{"action": "DescribeInstances", "burst": {"after": 0, "count": 2}}],
            "latency": [{"action": "*", "uniform_ms": [0, 3]}]}"#,
    );
    let apply = sb
        .run(&[
            "--sim-faults",
            "faults.json",
            "apply",
            "--auto-approve",
            "examples/quickstart.yaml",
        ])
        .expect(0);
    assert!(
        summary_number(&apply.stdout, "retries:") > 0,
        "{}",
        apply.stdout
    );
    let s = sb.world().summary().remove("main").expect("main");
    assert_eq!(
        (s.instances, s.vpcs, s.vswitches, s.buckets, s.namespaces),
        (1, 2, 2, 1, 2),
        "nothing duplicated by the lost responses"
    );
    sb.run(&["plan", "--detailed-exitcode", "examples/quickstart.yaml"])
        .expect(0);
    let bad = sb.run(&[
        "--sim-faults",
        "missing.json",
        "plan",
        "examples/quickstart.yaml",
    ]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("missing.json"), "{}", bad.stderr);
}

/// The Marketplace example and the password its spec references.
const MARKETPLACE: &str = "examples/marketplace.yaml";
const BC_PASSWORD: &str = "crash-pw-5d1e";

/// `flinkform ARGS` against the in-process emulator with the Billing Center password set.
fn market_command(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> Command {
    let mut cmd = with_endpoint(sb, emu, args);
    cmd.env("BC_PASSWORD", BC_PASSWORD);
    cmd
}

fn market_run(sb: &Sandbox, emu: &Emulator, args: &[&str]) -> Run {
    let out = market_command(sb, emu, args)
        .output()
        .expect("run flinkform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Applies the Marketplace example and, while apply stops at a gate (exit 3), resumes it
/// with the newest code of the emulator's outbox; returns every run.
fn market_apply_through_gate(sb: &Sandbox, emu: &Emulator) -> Vec<Run> {
    let mut runs = vec![market_run(
        sb,
        emu,
        &["apply", "--auto-approve", MARKETPLACE],
    )];
    for _ in 0..4 {
        if runs.last().expect("a run").code != 3 {
            break;
        }
        let gates: Vec<String> = sb.state()["gates"]
            .as_array()
            .map(|g| {
                g.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            gates,
            ["verify-email.observability"],
            "exit 3 waits for the e-mail gate"
        );
        let code = emu
            .world()
            .outbox()
            .last()
            .map(|m| m.code.clone())
            .expect("a code in the outbox");
        let input = format!("{}={code}", gates[0]);
        runs.push(market_run(
            sb,
            emu,
            &["apply", "--auto-approve", "--input", &input, MARKETPLACE],
        ));
    }
    runs
}

/// The ids of the emulated vendor's and Marketplace's objects: `kind/id`.
fn market_ids(world: &World) -> BTreeSet<String> {
    let json = serde_json::to_value(world).expect("world JSON");
    let market = &json["market"];
    let mut out = BTreeSet::new();
    for (kind, map) in [
        ("instance", &market["instances"]),
        ("account", &market["vendor"]["accounts"]),
        ("binding", &market["vendor"]["bindings"]),
        ("workspace", &market["vendor"]["workspaces"]),
    ] {
        let ids = map.as_object().expect("a map by id");
        out.extend(ids.keys().map(|id| format!("{kind}/{id}")));
    }
    out
}

/// Asserts the Marketplace invariants: one order and one instance, one vendor account,
/// binding and workspace (as in the clean run), each recorded in state under the right
/// address, no intent or gate left, and an empty plan.
fn assert_market_converged(sb: &Sandbox, emu: &Emulator, clean: &VendorSummary, what: &str) {
    let world = emu.world();
    assert_eq!(
        world.market_orders("main").expect("main"),
        1,
        "{what}: orders"
    );
    let instances = world.market_instances("main").expect("main");
    assert_eq!(instances.len(), 1, "{what}: market instances {instances:?}");
    let vendor = world.vendor_summary();
    assert_eq!(
        (&vendor.accounts, &vendor.bindings, &vendor.workspaces),
        (&clean.accounts, &clean.bindings, &clean.workspaces),
        "{what}: the vendor differs from the clean run"
    );
    assert_eq!(
        vendor.spi_calls.get("createInstance"),
        Some(&1),
        "{what}: the vendor was asked for one instance"
    );
    let ids = market_ids(&world);
    assert_eq!(ids.len(), 4, "{what}: one of each, no orphan: {ids:?}");
    let state = settled_state(sb, what);
    let recorded: BTreeMap<String, String> = state
        .resources
        .values()
        .map(|r| (r.addr.to_string(), r.cloud_id.to_string()))
        .collect();
    let expected: BTreeSet<String> = [
        ("market_order.observability", "instance"),
        ("billing_account.observability", "account"),
        ("settlement_binding.observability", "binding"),
        ("saas_workspace.observability", "workspace"),
    ]
    .iter()
    .map(|(addr, kind)| {
        let id = recorded
            .get(*addr)
            .unwrap_or_else(|| panic!("{what}: {addr} not in state: {recorded:?}"));
        format!("{kind}/{id}")
    })
    .collect();
    assert_eq!(ids, expected, "{what}: the cloud's objects are the state's");
    // The passed gate is recorded too, naming the account it verified.
    assert_eq!(
        recorded.get("gate.verify-email.observability"),
        Some(&format!(
            "verified-{}",
            recorded["billing_account.observability"]
        )),
        "{what}: {recorded:?}"
    );
    assert_eq!(recorded.len(), 5, "{what}: {recorded:?}");
    let gates = sb.state()["gates"].as_array().map_or(0, Vec::len);
    assert_eq!(gates, 0, "{what}: a gate is left waiting");
    let plan = market_run(sb, emu, &["plan", "--detailed-exitcode", MARKETPLACE]);
    assert_eq!(
        plan.code, 0,
        "{what}: the plan is not empty\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

/// A clean apply of the Marketplace example through its gate: the vendor it leaves and
/// the committed mutating calls, in order.
fn market_clean_run() -> (VendorSummary, Vec<String>) {
    let sb = Sandbox::new();
    let log = CallLog::default();
    let emu = Emulator::start(&sb, 11, FaultPlan::default(), Some(log.hook()));
    let runs = market_apply_through_gate(&sb, &emu);
    assert_eq!(runs.len(), 2, "apply stops at the gate once: {runs:?}");
    assert_eq!(runs[0].code, 3, "{:?}", runs[0]);
    assert_eq!(runs[1].code, 0, "{:?}", runs[1]);
    let calls = log.calls();
    let clean = emu.world().vendor_summary();
    assert_market_converged(&sb, &emu, &clean, "clean run");
    assert_eq!(
        log.calls().len(),
        calls.len(),
        "a converged plan makes no mutating call"
    );
    (clean, calls)
}

/// Kills the Marketplace apply (first run or the resume through the gate) right after the
/// emulator committed call `k`, then applies through the gate again. Returns whether the
/// kill happened at `k`.
fn market_crash_at(k: u64, clean: &VendorSummary) -> bool {
    let sb = Sandbox::new();
    let killer = Killer::at(k);
    let emu = Emulator::start(&sb, 11, FaultPlan::default(), Some(killer.hook()));
    // The clean run's two applies (the second resumes through the gate), each spawned so
    // that the hook can kill it; the first one killed ends this phase.
    let mut hit = false;
    let mut exits = Vec::new();
    for resume in [false, true] {
        let input = if resume {
            let code = emu
                .world()
                .outbox()
                .last()
                .map(|m| m.code.clone())
                .expect("a code in the outbox");
            vec![
                "--input".to_owned(),
                format!("verify-email.observability={code}"),
            ]
        } else {
            Vec::new()
        };
        let mut args = vec!["apply", "--auto-approve"];
        args.extend(input.iter().map(String::as_str));
        args.push(MARKETPLACE);
        let status = killer.run(market_command(&sb, &emu, &args));
        exits.push(status);
        if killer.fired() {
            hit = killer.hit(status);
            break;
        }
        assert_eq!(
            status.code(),
            Some(if resume { 0 } else { 3 }),
            "crash at {k}: not reached yet, the apply behaves as in the clean run"
        );
    }
    if !hit {
        println!("crash at {k} missed: exits {exits:?}");
    }
    let runs = market_apply_through_gate(&sb, &emu);
    let last = runs.last().expect("a run");
    assert_eq!(
        last.code, 0,
        "crash at {k}: applying through the gate again failed\n{runs:#?}"
    );
    if hit {
        assert!(
            runs[0].stderr.contains("exited without releasing"),
            "crash at {k}: the stale lock is reported\n{}",
            runs[0].stderr
        );
    }
    assert_market_converged(&sb, &emu, clean, &format!("crash at call {k}"));
    hit
}

#[test]
fn crash_matrix_marketplace() {
    let (clean, calls) = market_clean_run();
    let m = calls.len() as u64;
    assert!(
        calls.iter().any(|c| c == "CreateOrder"),
        "the order is a crash point: {calls:?}"
    );
    println!(
        "crash matrix {MARKETPLACE}: mutating calls of a clean run: {}",
        numbered(&calls)
    );
    let start = Instant::now();
    let covered = (1..=m).filter(|k| market_crash_at(*k, &clean)).count() as u64;
    println!(
        "crash matrix {MARKETPLACE}: covered {covered} of {m} mutating calls in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(covered, m, "every mutating call is a crash point");
}

/// Loses the response of committed call `k` of the Marketplace example (the order, or a
/// connector call: the change is made, the binary sees 503), then applies through the
/// gate again if the first attempt gave up. Returns whether the first attempt converged.
fn market_lose_at(k: u64, clean: &VendorSummary) -> bool {
    let sb = Sandbox::new();
    let faults = FaultPlan::from_json(&format!(
        r#"{{"lose_response": [{{"mutating_call": {k}}}]}}"#
    ))
    .expect("plan");
    let emu = Emulator::start(&sb, 11, faults, None);
    let first = market_apply_through_gate(&sb, &emu);
    let recovered = first.last().expect("a run").code == 0;
    if !recovered {
        let again = market_apply_through_gate(&sb, &emu);
        assert_eq!(
            again.last().expect("a run").code,
            0,
            "lost response at {k}: applying again failed\n{first:#?}\n{again:#?}"
        );
    }
    assert_market_converged(&sb, &emu, clean, &format!("lost response at call {k}"));
    recovered
}

#[test]
fn lost_response_matrix_marketplace() {
    let (clean, calls) = market_clean_run();
    let m = calls.len() as u64;
    let recovered = (1..=m).filter(|k| market_lose_at(*k, &clean)).count();
    println!(
        "lost-response matrix {MARKETPLACE}: {m} of {m} mutating calls, {recovered} recovered within the same apply"
    );
}
