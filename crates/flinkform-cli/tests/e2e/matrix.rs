//! The machinery of the crash and lost-response matrices: a [`Scenario`] says where every
//! run starts (a world and the files of the working directory, e.g. a snapshot taken after
//! a first apply) and which command is under test; [`Scenario::crash_matrix`] kills that
//! command right after each of its committed mutating calls in turn ([`Killer`]) and
//! [`Scenario::lost_response_matrix`] loses the answer of each in turn; after each fault the
//! same command runs again and must converge ([`assert_converged`] and the scenario's own
//! check).

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use flinkform_cloudsim::{AccountSummary, CommitHook, FaultPlan, World};

use crate::crash::{Emulator, SCALE, run_with, sigkill, with_endpoint};
use crate::harness::{Run, Sandbox};

/// The counts that must not grow through a crash: duplicates would show here.
pub(crate) fn counts(s: &AccountSummary) -> [usize; 7] {
    [
        s.instances,
        s.orders,
        s.vpcs,
        s.vswitches,
        s.buckets,
        s.roles,
        s.namespaces,
    ]
}

/// What a converged run leaves behind, as the run without faults left it.
pub(crate) struct Converged {
    /// [`counts`] of account `main`.
    pub(crate) counts: [usize; 7],
    /// The addresses the state records.
    pub(crate) addresses: BTreeSet<String>,
    /// The cloud resources of account `main` the state does not record: none after an
    /// apply; after a destroy, what it leaves in the cloud on purpose (a subscription
    /// workspace and what it uses).
    pub(crate) unrecorded: BTreeSet<String>,
}

impl Converged {
    /// What `sb`'s state and `world` hold now.
    pub(crate) fn of(sb: &Sandbox, world: &World) -> Self {
        let state = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"))
            .read()
            .expect("state parses");
        let recorded: BTreeSet<String> = state
            .resources
            .values()
            .map(|r| r.cloud_id.to_string())
            .collect();
        let in_cloud = world.resource_ids("main").expect("ids");
        Self {
            counts: counts(&world.summary()["main"]),
            addresses: state.resources.keys().map(ToString::to_string).collect(),
            unrecorded: in_cloud.difference(&recorded).cloned().collect(),
        }
    }
}

/// The state of `sb`, which must parse and hold no intent.
pub(crate) fn settled_state(sb: &Sandbox, what: &str) -> flinkform_state::State {
    let state = flinkform_state::LocalBackend::open(sb.path().join(".flinkform/state.json"))
        .read()
        .expect("state parses");
    assert!(
        state.journal.is_empty(),
        "{what}: intents left: {:?}",
        state.journal
    );
    state
}

/// Asserts the invariants after the recovering run: no duplicates (counts equal the clean
/// run's), the state parses with an empty journal and records what the clean run's does,
/// no orphan (every cloud resource in state but what the clean run leaves out on purpose),
/// and nothing left to do: `settled` (`plan --detailed-exitcode SPEC`, or the destroy
/// again) exits 0 without a mutating call.
pub(crate) fn assert_converged(
    sb: &Sandbox,
    emu: &Emulator,
    settled: &[&str],
    clean: &Converged,
    what: &str,
) {
    let world = emu.world();
    settled_state(sb, what);
    let now = Converged::of(sb, &world);
    assert_eq!(
        now.counts, clean.counts,
        "{what}: [instances, orders, vpcs, vswitches, buckets, roles, namespaces] differ from the clean run"
    );
    assert_eq!(
        now.addresses, clean.addresses,
        "{what}: the state records other addresses than after the clean run"
    );
    assert_eq!(
        now.unrecorded, clean.unrecorded,
        "{what}: cloud resources not in state (the clean run's are {:?})",
        clean.unrecorded
    );
    let before = world.mutating_calls();
    let run = run_with(sb, emu, settled);
    assert_eq!(
        run.code,
        0,
        "{what}: `{}` finds something left to do\n{}\n{}",
        settled.join(" "),
        run.stdout,
        run.stderr
    );
    assert_eq!(
        emu.world().mutating_calls(),
        before,
        "{what}: `{}` changed the cloud\n{}",
        settled.join(" "),
        run.stdout
    );
}

/// `1 CreateRole, 2 AttachPolicyToRole, …`
pub(crate) fn numbered(calls: &[String]) -> String {
    calls
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{} {a}", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which committed call (`k`, action) a [`Killer`] kills at.
type Pick = dyn Fn(u64, &str) -> bool + Send + Sync;

/// SIGKILLs the child it runs right after the emulator committed a mutating call that
/// `when(k, action)` picks (within the commit, before the answer is written). A call
/// committed while no child of it runs (a setup or recovering run) is no target.
#[derive(Clone)]
pub(crate) struct Killer {
    when: Arc<Pick>,
    /// The child running now (0: none).
    pid: Arc<AtomicU32>,
    /// The last child run.
    last: Arc<AtomicU32>,
    killed: Arc<AtomicBool>,
    /// Held while a child is spawned and registered, and while the hook kills it.
    gate: Arc<Mutex<()>>,
}

impl Killer {
    pub(crate) fn new(when: impl Fn(u64, &str) -> bool + Send + Sync + 'static) -> Self {
        Self {
            when: Arc::new(when),
            pid: Arc::default(),
            last: Arc::default(),
            killed: Arc::default(),
            gate: Arc::default(),
        }
    }

    /// Kills at the `k`-th committed mutating call of the emulator's lifetime.
    pub(crate) fn at(k: u64) -> Self {
        Self::new(move |n, _| n == k)
    }

    /// The emulator's commit observer.
    pub(crate) fn hook(&self) -> CommitHook {
        let me = self.clone();
        CommitHook::new(move |n, action| {
            if !(me.when)(n, action) {
                return;
            }
            let _registered = me.gate.lock().expect("gate");
            let target = me.pid.load(Ordering::SeqCst);
            if target == 0 {
                return;
            }
            // Marked first: the test thread may see the child die before `kill` returns.
            me.killed.store(true, Ordering::SeqCst);
            assert!(sigkill(target).success(), "kill -9 {target}");
        })
    }

    /// Runs `cmd` (its output discarded) as the target and waits for it.
    pub(crate) fn run(&self, mut cmd: Command) -> ExitStatus {
        let mut child = {
            let _registering = self.gate.lock().expect("gate");
            let child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            self.pid.store(child.id(), Ordering::SeqCst);
            self.last.store(child.id(), Ordering::SeqCst);
            child
        };
        let status = child.wait().expect("wait");
        let _done = self.gate.lock().expect("gate");
        self.pid.store(0, Ordering::SeqCst);
        status
    }

    /// Whether the hook killed a child (`status` is the last run's: killed by the signal).
    pub(crate) fn hit(&self, status: ExitStatus) -> bool {
        self.killed.load(Ordering::SeqCst) && status.signal() == Some(9)
    }

    /// The process id of the last child run.
    pub(crate) fn last_pid(&self) -> u32 {
        self.last.load(Ordering::SeqCst)
    }

    /// Whether the hook has fired.
    pub(crate) fn fired(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// Records the action of every committed mutating call, in order.
#[derive(Clone, Default)]
pub(crate) struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The emulator's commit observer.
    pub(crate) fn hook(&self) -> CommitHook {
        let log = Arc::clone(&self.0);
        CommitHook::new(move |_, action| log.lock().expect("log").push(action.to_owned()))
    }

    /// The actions committed so far.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.0.lock().expect("log").clone()
    }
}

/// A converged run, for a scenario's own assertions.
pub(crate) struct Outcome<'a> {
    /// Its working directory (the state).
    pub(crate) sb: &'a Sandbox,
    /// The world every run of the scenario started from.
    pub(crate) before: &'a World,
    /// The world now.
    pub(crate) world: World,
    /// What happened: `clean run`, `…: crash at call 3`.
    pub(crate) what: &'a str,
}

/// What a scenario asserts beyond [`assert_converged`] after each converged run.
pub(crate) type Check<'a> = &'a dyn Fn(&mut Outcome<'_>);

/// No assertion beyond [`assert_converged`].
pub(crate) fn no_check(_: &mut Outcome<'_>) {}

/// Where every run of a matrix starts and what it runs.
pub(crate) struct Scenario {
    name: String,
    world: World,
    /// The cloud time every run starts at (a matrix that takes long does not let a
    /// month-long subscription of the snapshot run out: 1 s of wall time is 5.5 cloud hours).
    now_ms: i64,
    /// Files each run's working directory starts with besides `examples/` (path relative to
    /// it, contents): the state and the specs of a snapshot.
    files: Vec<(PathBuf, Vec<u8>)>,
    /// The command under test, run again to recover.
    args: Vec<String>,
    /// The command that must find nothing left to do once it converged.
    settled: Vec<String>,
    /// Whether the command leaves cloud resources out of state on purpose (destroy).
    forgets: bool,
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

impl Scenario {
    /// `apply SPEC` in a fresh world (seed 11, account `main`): the create path.
    pub(crate) fn create(spec: &str) -> Self {
        let mut world = World::new(11);
        world.set_time_scale(SCALE).expect("scale");
        world.ensure_account("main");
        Self {
            name: spec.to_owned(),
            now_ms: world.now_ms(),
            world,
            files: Vec::new(),
            args: owned(&["apply", "--auto-approve", spec]),
            settled: owned(&["plan", "--detailed-exitcode", spec]),
            forgets: false,
        }
    }

    /// `args` run where `sb` is now: its emulator world (which the binary's own emulator
    /// saved), its state and the files at its top (the specs it wrote), snapshotted once
    /// and copied for every run. `settled` must find nothing left to do afterwards.
    pub(crate) fn snapshot(name: &str, sb: &Sandbox, args: &[&str], settled: &[&str]) -> Self {
        let world = sb.world();
        let mut files = vec![(
            PathBuf::from(".flinkform/state.json"),
            std::fs::read(sb.path().join(".flinkform/state.json")).expect("state"),
        )];
        // The state's journal of commits since its last compaction, if there is one.
        let journal = sb.path().join(".flinkform/state.json.journal");
        if journal.is_file() {
            files.push((
                PathBuf::from(".flinkform/state.json.journal"),
                std::fs::read(&journal).expect("journal"),
            ));
        }
        for entry in std::fs::read_dir(sb.path()).expect("sandbox") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let name = PathBuf::from(path.file_name().expect("name"));
                files.push((name, std::fs::read(&path).expect("read")));
            }
        }
        Self {
            name: name.to_owned(),
            now_ms: world.now_ms(),
            world,
            files,
            args: owned(args),
            settled: owned(settled),
            forgets: false,
        }
    }

    /// The command leaves what it keeps in the cloud out of state (destroy).
    pub(crate) fn forgetting(self) -> Self {
        Self {
            forgets: true,
            ..self
        }
    }

    fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// A fresh working directory with the scenario's files, and an emulator serving its
    /// world at its cloud time.
    fn start(&self, faults: FaultPlan, hook: Option<CommitHook>) -> (Sandbox, Emulator) {
        let sb = Sandbox::new();
        for (path, bytes) in &self.files {
            let path = sb.path().join(path);
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let mut world = self.world.clone();
        world.set_now_ms(self.now_ms);
        let emu = Emulator::start_world(&sb, world, faults, hook);
        (sb, emu)
    }

    /// Runs the command again (exit 0) and checks that it converged.
    fn recover(
        &self,
        sb: &Sandbox,
        emu: &Emulator,
        clean: &Converged,
        check: Check<'_>,
        what: &str,
    ) -> Run {
        let again = run_with(sb, emu, &self.args());
        assert_eq!(
            again.code,
            0,
            "{what}: running `{}` again failed\n{}\n{}",
            self.args.join(" "),
            again.stdout,
            again.stderr
        );
        let settled: Vec<&str> = self.settled.iter().map(String::as_str).collect();
        assert_converged(sb, emu, &settled, clean, what);
        check(&mut Outcome {
            sb,
            before: &self.world,
            world: emu.world(),
            what,
        });
        again
    }

    /// The command without faults: what converged looks like, and the mutating calls it
    /// commits, in order.
    pub(crate) fn clean_run(&self, check: Check<'_>) -> (Converged, Vec<String>) {
        let log = CallLog::default();
        let (sb, emu) = self.start(FaultPlan::default(), Some(log.hook()));
        run_with(&sb, &emu, &self.args()).expect(0);
        let calls = log.calls();
        let clean = Converged::of(&sb, &emu.world());
        assert!(
            self.forgets || clean.unrecorded.is_empty(),
            "{}: not in state after the clean run: {:?}",
            self.name,
            clean.unrecorded
        );
        // Running it again changes nothing.
        self.recover(&sb, &emu, &clean, check, "clean run");
        assert_eq!(
            log.calls().len(),
            calls.len(),
            "{}: a converged run makes no mutating call",
            self.name
        );
        (clean, calls)
    }

    /// Kills the command with SIGKILL right after the emulator committed its call `k`, then
    /// runs it again. Returns whether the kill happened at `k`.
    fn crash_at(&self, k: u64, clean: &Converged, check: Check<'_>) -> bool {
        let killer = Killer::at(k);
        let (sb, emu) = self.start(FaultPlan::default(), Some(killer.hook()));
        let status = killer.run(with_endpoint(&sb, &emu, &self.args()));
        let hit = killer.hit(status);
        if !hit {
            println!(
                "{}: crash at {k} missed: killed {}, exit {status:?}",
                self.name,
                killer.fired()
            );
        }
        let what = format!("{}: crash at call {k}", self.name);
        let again = self.recover(&sb, &emu, clean, check, &what);
        if hit {
            assert!(
                again.stderr.contains("exited without releasing"),
                "{what}: the stale lock is reported\n{}",
                again.stderr
            );
        }
        hit
    }

    /// For every mutating call k of a clean run, kills the command right after the emulator
    /// committed call k and checks that running it again converges; prints how many crash
    /// points it covered and requires all of them. Returns the clean run's calls.
    pub(crate) fn crash_matrix(&self, check: Check<'_>) -> Vec<String> {
        let (clean, calls) = self.clean_run(check);
        let m = calls.len() as u64;
        assert!(m > 0, "{}: the clean run made no mutating call", self.name);
        println!(
            "crash matrix {}: mutating calls of a clean run: {}",
            self.name,
            numbered(&calls)
        );
        let start = Instant::now();
        let covered = (1..=m).filter(|k| self.crash_at(*k, &clean, check)).count() as u64;
        println!(
            "crash matrix {}: covered {covered} of {m} mutating calls in {:.1} s",
            self.name,
            start.elapsed().as_secs_f64()
        );
        assert_eq!(
            covered, m,
            "{}: every mutating call is a crash point",
            self.name
        );
        calls
    }

    /// Loses the answer of committed call `k` (the change is made; the binary sees 503),
    /// then runs the command again. Returns whether call `k` was made by the first run, and
    /// whether that run converged by itself.
    fn lose_at(&self, k: u64, clean: &Converged, check: Check<'_>) -> (bool, bool) {
        let faults = FaultPlan::from_json(&format!(
            r#"{{"lose_response": [{{"mutating_call": {k}}}]}}"#
        ))
        .expect("plan");
        let reached = Arc::new(AtomicBool::new(false));
        let hook = {
            let reached = Arc::clone(&reached);
            CommitHook::new(move |n, _| {
                if n == k {
                    reached.store(true, Ordering::SeqCst);
                }
            })
        };
        let (sb, emu) = self.start(faults, Some(hook));
        let what = format!("{}: lost response at call {k}", self.name);
        let first = run_with(&sb, &emu, &self.args());
        assert!(
            first.code == 0 || first.code == 1,
            "{what}: {}\n{}",
            first.stdout,
            first.stderr
        );
        let lost = reached.load(Ordering::SeqCst);
        self.recover(&sb, &emu, clean, check, &what);
        (lost, first.code == 0)
    }

    /// For every mutating call k of a clean run, loses the answer of call k and checks that
    /// the command (run again if it gave up) converges; prints how many loss points it
    /// covered and how many the run recovered from by itself, and requires all of them.
    pub(crate) fn lost_response_matrix(&self, check: Check<'_>) {
        let (clean, calls) = self.clean_run(check);
        let m = calls.len() as u64;
        assert!(m > 0, "{}: the clean run made no mutating call", self.name);
        let start = Instant::now();
        let (mut covered, mut recovered) = (0, 0);
        for k in 1..=m {
            let (lost, by_itself) = self.lose_at(k, &clean, check);
            covered += u64::from(lost);
            recovered += u64::from(by_itself);
        }
        println!(
            "lost-response matrix {}: covered {covered} of {m} mutating calls, {recovered} recovered within the same run, in {:.1} s",
            self.name,
            start.elapsed().as_secs_f64()
        );
        assert_eq!(
            covered, m,
            "{}: every mutating call lost its answer once",
            self.name
        );
    }
}
