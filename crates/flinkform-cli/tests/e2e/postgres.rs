//! State in PostgreSQL (`specs/state-postgres.md`), end to end: the real binary with
//! `FLINKFORM_STATE=postgres://…` against the emulator, on a throwaway server of this test
//! process (`flinkform_state_pg::testing`). Eight applies of eight stacks of one database run
//! at once and all proceed; two runs of one stack take turns, the second failing fast with
//! the holder named or waiting for it; every command works on a PostgreSQL stack; and the
//! crash and lost-response matrices of the quickstart pass with its state in PostgreSQL.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use flinkform_cloudsim::{CommitHook, FaultPlan, World};
use flinkform_state::{Backend as _, State};
use flinkform_state_pg::PgBackend;
use flinkform_state_pg::testing::{self, PgServer};

use crate::crash::{Emulator, SCALE, with_endpoint};
use crate::harness::{Run, Sandbox};
use crate::matrix::{Scenario, no_check};

/// A database of the throwaway server, handing out new stacks.
#[derive(Clone)]
pub(crate) struct Database {
    server: &'static PgServer,
    name: String,
    next: Arc<AtomicU32>,
}

impl Database {
    /// A new database, or `None` (with a visible notice) without PostgreSQL outside CI.
    pub(crate) fn new_or_skip(test: &str) -> Option<Self> {
        let server = testing::shared_or_skip(test)?;
        Some(Self {
            server,
            name: server.create_database(),
            next: Arc::default(),
        })
    }

    /// The state URL of `stack`.
    pub(crate) fn url(&self, stack: &str) -> String {
        self.server.url(&self.name, stack)
    }

    /// The state URL of a stack not used before.
    pub(crate) fn new_stack(&self) -> String {
        self.url(&format!("run-{}", self.next.fetch_add(1, Ordering::SeqCst)))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The state of the stack `url` names.
pub(crate) fn read(url: &str) -> State {
    runtime().block_on(async {
        PgBackend::open(url)
            .expect("url")
            .read()
            .await
            .expect("state reads")
    })
}

/// Puts the state file `bytes` into the stack `url` names, as `state push` would.
pub(crate) fn push(url: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let state = flinkform_state::format::decode(text, std::path::Path::new("snapshot"))
        .expect("state file");
    runtime().block_on(async {
        let backend = PgBackend::open(url).expect("url");
        let mut session = backend
            .lock("state push", std::time::Duration::ZERO)
            .await
            .expect("lock");
        session.replace(state, true).await.expect("replace");
        session.finish().await.expect("finish");
    });
}

/// `n` pay-as-you-go workspaces named `{prefix}-NN`, each with its VPC, vSwitch, bucket and
/// project; `octet` keeps CIDRs of different files apart.
fn fleet_spec(prefix: &str, octet: usize) -> String {
    format!(
        "apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: {prefix}
spec:
  account: main
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: {{ create: {{ cidr: 10.{octet}.0.0/16 }} }}
    vSwitches:
      - {{ create: {{ cidr: 10.{octet}.1.0/24 }} }}
  storage:
    ossBucket: {{ name: {prefix}-flink-demo }}
  projects:
    - {{ name: etl }}
  protect: false
"
    )
}

fn fresh_world(seed: u64) -> World {
    let mut world = World::new(seed);
    world.set_time_scale(SCALE).expect("scale");
    world.ensure_account("main");
    world
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `flinkform ARGS` with its state in the stack `url`, output captured, started.
fn spawn(sb: &Sandbox, emu: &Emulator, url: &str, args: &[&str]) -> Child {
    with_endpoint(sb, emu, args)
        .env("FLINKFORM_STATE", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flinkform")
}

#[test]
fn eight_stacks_of_one_database_apply_at_once() {
    let Some(db) = Database::new_or_skip("eight_stacks_of_one_database_apply_at_once") else {
        return;
    };
    let sb = Sandbox::new();
    let emu = Emulator::start_world(&sb, fresh_world(31), FaultPlan::default(), None);
    let stacks: Vec<String> = (0..8).map(|i| format!("team-{i}")).collect();
    for (i, stack) in stacks.iter().enumerate() {
        sb.write(&format!("{stack}.yaml"), &fleet_spec(stack, 100 + i));
    }
    // All at once, none waiting for a lock: a stack's lock never holds up another stack.
    let children: Vec<(String, Child)> = stacks
        .iter()
        .map(|stack| {
            let file = format!("{stack}.yaml");
            let child = spawn(
                &sb,
                &emu,
                &db.url(stack),
                &["apply", "--auto-approve", "--lock-timeout", "0s", &file],
            );
            (stack.clone(), child)
        })
        .collect();
    for (stack, child) in children {
        let run = finish(child);
        assert_eq!(
            run.code, 0,
            "{stack}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
    }
    let world = emu.world();
    let instances = world.instances("main").expect("instances");
    for stack in &stacks {
        let state = read(&db.url(stack));
        let addr = format!("flink_workspace.{stack}");
        let recorded = state
            .resources
            .get(&addr.parse().expect("address"))
            .unwrap_or_else(|| panic!("{stack}: {addr} not recorded"));
        let named: Vec<_> = instances.iter().filter(|i| &i.name == stack).collect();
        assert_eq!(named.len(), 1, "{stack}: one workspace in the cloud");
        assert_eq!(recorded.cloud_id.to_string(), named[0].id, "{stack}");
        assert!(state.journal.is_empty(), "{stack}: {:?}", state.journal);
        // Converged: nothing left to do for any stack.
        let plan = finish(spawn(
            &sb,
            &emu,
            &db.url(stack),
            &["plan", "--detailed-exitcode", &format!("{stack}.yaml")],
        ));
        assert_eq!(plan.code, 0, "{stack}: {}\n{}", plan.stdout, plan.stderr);
    }
    let listed = runtime().block_on(async {
        PgBackend::open(&db.url("any"))
            .expect("url")
            .stacks()
            .await
            .expect("stacks")
    });
    assert_eq!(listed, stacks, "one database holds the eight stacks");
}

#[test]
fn two_runs_of_one_stack_take_turns() {
    let Some(db) = Database::new_or_skip("two_runs_of_one_stack_take_turns") else {
        return;
    };
    // The first apply is held inside its first mutating call (the emulator waits in its
    // commit hook), with the stack's lock, until the test lets it go.
    let (reached_tx, reached) = mpsc::channel::<()>();
    let (go, go_rx) = mpsc::channel::<()>();
    let (reached_tx, go_rx) = (Mutex::new(reached_tx), Mutex::new(go_rx));
    let hook = CommitHook::new(move |k, _| {
        if k == 1 {
            reached_tx.lock().expect("tx").send(()).expect("reached");
            go_rx.lock().expect("rx").recv().expect("go");
        }
    });
    let sb = Sandbox::new();
    let emu = Emulator::start_world(&sb, fresh_world(32), FaultPlan::default(), Some(hook));
    // Dropped before the emulator (which waits for the held call) should the test fail.
    let go = go;
    sb.write("one.yaml", &fleet_spec("shared-stack", 120));
    let url = db.url("shared");
    let first = with_endpoint(&sb, &emu, &["apply", "--auto-approve", "one.yaml"])
        .env("FLINKFORM_STATE", &url)
        .env("USER", "alice")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flinkform");
    let first_pid = first.id();
    reached
        .recv()
        .expect("the first apply reaches its first call");

    // A second run that will not wait fails at once, naming the holder.
    let fast = finish(spawn(
        &sb,
        &emu,
        &url,
        &[
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "0s",
            "one.yaml",
        ],
    ));
    assert_eq!(fast.code, 1, "{}\n{}", fast.stdout, fast.stderr);
    // The diagnostic as one line (the renderer wraps it).
    let said = fast
        .stderr
        .lines()
        .map(|l| l.trim().trim_start_matches('|').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "postgres stack shared on".to_owned(),
        "is locked by alice@".to_owned(),
        format!("(pid {first_pid}) running `apply`"),
        "force-unlock".to_owned(),
    ] {
        assert!(
            said.contains(&expected),
            "the refusal names `{expected}`:\n{}",
            fast.stderr
        );
    }

    // A second run that waits says whom it waits for, and proceeds once the first is done:
    // the first is let go only after the second said it waits.
    let mut waiting = spawn(
        &sb,
        &emu,
        &url,
        &[
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "5m",
            "one.yaml",
        ],
    );
    let mut stderr = BufReader::new(waiting.stderr.take().expect("stderr")).lines();
    let mut said = String::new();
    loop {
        let line = stderr
            .next()
            .unwrap_or_else(|| panic!("the second run ended without waiting:\n{said}"))
            .expect("stderr");
        said.push_str(&line);
        said.push('\n');
        if line.contains("waiting up to") {
            assert!(
                line.contains("locked by alice@")
                    && line.contains(&format!("(pid {first_pid}) running `apply`")),
                "{line}"
            );
            break;
        }
    }
    go.send(()).expect("let the first apply go");
    let first = finish(first);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    for line in stderr {
        said.push_str(&line.expect("stderr"));
        said.push('\n');
    }
    let second = finish(waiting);
    assert_eq!(second.code, 0, "{}\n{said}", second.stdout);
    let world = emu.world();
    let named = world
        .instances("main")
        .expect("instances")
        .into_iter()
        .filter(|i| i.name == "shared-stack")
        .count();
    assert_eq!(named, 1, "the two runs made one workspace");
    let state = read(&url);
    assert!(state.journal.is_empty(), "{:?}", state.journal);
}

#[test]
fn crash_matrix_quickstart_with_postgres_state() {
    let Some(db) = Database::new_or_skip("crash_matrix_quickstart_with_postgres_state") else {
        return;
    };
    Scenario::create("examples/quickstart.yaml")
        .on_postgres(db)
        .crash_matrix(&no_check);
}

#[test]
fn lost_response_matrix_quickstart_with_postgres_state() {
    let Some(db) = Database::new_or_skip("lost_response_matrix_quickstart_with_postgres_state")
    else {
        return;
    };
    Scenario::create("examples/quickstart.yaml")
        .on_postgres(db)
        .lost_response_matrix(&no_check);
}

#[test]
fn every_state_command_works_on_a_postgres_stack() {
    let Some(db) = Database::new_or_skip("every_state_command_works_on_a_postgres_stack") else {
        return;
    };
    let url = db.url("quickstart");
    let sb = Sandbox::new().with_state_url(url.clone());
    let spec = "examples/quickstart.yaml";
    sb.run(&["apply", "--auto-approve", spec]).expect(0);
    assert!(
        !sb.path().join(".flinkform/state.json").exists(),
        "no state file: the state is in PostgreSQL"
    );
    sb.run(&["plan", "--detailed-exitcode", spec]).expect(0);
    sb.run(&["drift", spec]).expect(0);
    let state = sb.read_state();
    assert!(state.serial > 1 && state.journal.is_empty());

    let list = sb.run(&["state", "list"]).expect(0);
    assert!(
        list.stdout.contains("flink_workspace.quickstart"),
        "{}",
        list.stdout
    );
    let history = sb.run(&["state", "history", "--json"]).expect(0);
    let history: serde_json::Value = serde_json::from_str(&history.stdout).expect("JSON");
    let versions = history["versions"].as_array().expect("versions");
    assert_eq!(versions.len() as u64, state.serial, "every serial is kept");
    assert_eq!(versions[0]["operation"], "apply");
    assert!(
        history["backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("postgres stack quickstart on ")),
        "{history}"
    );
    let first = sb.run(&["state", "pull", "--serial", "1"]).expect(0);
    let first: serde_json::Value = serde_json::from_str(&first.stdout).expect("JSON");
    assert_eq!(first["serial"], 1);
    assert_eq!(first["lineage"], state.lineage.to_string());
    let now = sb.run(&["state", "pull"]).expect(0);
    let now: serde_json::Value = serde_json::from_str(&now.stdout).expect("JSON");
    assert_eq!(now["serial"], state.serial);

    // A lock left by a run that died: named, refused under a wrong id, cleared by its own.
    let dead = testing::leave_dead_holder(&url);
    sb.run(&["force-unlock", "not-the-id"]).expect(1);
    let unlock = sb.run(&["force-unlock", &dead.id]).expect(0);
    assert!(unlock.stderr.contains(&dead.id), "{}", unlock.stderr);
    let status = runtime().block_on(async {
        PgBackend::open(&url)
            .expect("url")
            .lock_status()
            .await
            .expect("status")
    });
    assert_eq!(status, flinkform_state::LockStatus::Free);

    sb.run(&[
        "destroy",
        "--auto-approve",
        "--allow-destroy",
        "oss_bucket.quickstart-flink-demo=4",
    ])
    .expect(0);
    let after = sb.read_state();
    assert!(
        !after
            .resources
            .keys()
            .any(|a| a.to_string() == "flink_workspace.quickstart"),
        "{:?}",
        after.resources.keys()
    );
}

#[test]
fn help_never_shows_a_password_in_the_state_url() {
    let sb = Sandbox::new();
    let out = sb
        .command(&["--help"])
        .env(
            "FLINKFORM_STATE",
            "postgres://ops:s3cret-pw@db.example/flinkform?stack=prod",
        )
        .output()
        .expect("run flinkform");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("FLINKFORM_STATE"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[test]
fn crash_matrix_of_an_update_with_postgres_state() {
    let Some(db) = Database::new_or_skip("crash_matrix_of_an_update_with_postgres_state") else {
        return;
    };
    // The snapshot's state (made with the file) is pushed into a new stack for every run.
    crate::crash_paths::update()
        .on_postgres(db)
        .crash_matrix(&crate::crash_paths::updated);
}
