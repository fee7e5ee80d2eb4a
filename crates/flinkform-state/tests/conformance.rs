//! The backend conformance suite (`flinkform_state::conformance`) run against the local file
//! backend and the in-memory one, plus what only the local files can show: a crash between
//! any two writes, and a journal torn at every byte of its last line.

#![allow(clippy::unwrap_used)] // helpers of a test file

use std::fs;
use std::path::PathBuf;

use flinkform_state::conformance::{self, TestStack, vpc};
use flinkform_state::{Backend, Change, LocalBackend, LockInfo, MemoryBackend, State, StateLock};

/// Temporary directories live until the test binary exits (each property makes its own).
fn temp_dir() -> PathBuf {
    let dir = tempfile::tempdir().unwrap();
    #[allow(deprecated)]
    dir.into_path()
}

fn local_stack() -> TestStack {
    let path = temp_dir().join("state.json");
    let open_path = path.clone();
    TestStack {
        open: Box::new(move || Box::new(LocalBackend::open(&open_path)) as Box<dyn Backend>),
        leave_dead_holder: Box::new(move || {
            let backend = LocalBackend::open(&path);
            let info = LockInfo {
                id: uuid::Uuid::new_v4().to_string(),
                operation: "apply".to_owned(),
                who: "ci@dead-runner".to_owned(),
                pid: 4_000_000,
                created: "2026-01-01T00:00:00Z".to_owned(),
            };
            // What a killed holder leaves: its owner record, and no OS lock.
            fs::write(backend.lock_path(), serde_json::to_string(&info).unwrap()).unwrap();
            info
        }),
    }
}

fn memory_stack() -> TestStack {
    let backend = MemoryBackend::new();
    let dead = backend.clone();
    TestStack {
        open: Box::new(move || Box::new(backend.clone()) as Box<dyn Backend>),
        leave_dead_holder: Box::new(move || dead.leave_dead_holder()),
    }
}

macro_rules! suite {
    ($module:ident, $make:ident) => {
        mod $module {
            use super::*;
            suite!(@props $make;
                new_stack_reads_empty, commit_reads_back, noop_commit_keeps_serial,
                serial_bumps_by_one_per_commit, every_change_kind_round_trips,
                lock_is_exclusive_with_owner_info, lock_timeout_waits_then_names_the_holder,
                lock_released_on_drop, finish_keeps_commits_and_releases,
                stale_lock_of_dead_holder, force_unlock_needs_the_right_id, replace_rules,
                history_lists_serials, read_serial_gives_each_kept_version);
        }
    };
    (@props $make:ident; $($prop:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $prop() {
                conformance::$prop(&$make).await;
            }
        )*
    };
}

suite!(local, local_stack);
suite!(memory, memory_stack);

// ---- local files only ----

fn intent(i: usize) -> flinkform_state::Intent {
    flinkform_state::Intent {
        id: i as u64 + 1,
        addr: format!("vpc.n{i}").parse().unwrap(),
        op: flinkform_state::IntentOp::Create,
        client_token: format!("ff-{i}"),
        identity: Default::default(),
        started_at: "2026-01-01T00:00:00Z".to_owned(),
    }
}

/// The commits of a run of `many` actions: each an intent, then its outcome.
fn commits(many: usize) -> Vec<Vec<Change>> {
    (0..many)
        .flat_map(|i| {
            [
                vec![Change::BeginIntent(intent(i))],
                vec![
                    Change::Record(vpc(&format!("n{i}"), &format!("vpc-{i}"))),
                    Change::EndIntent(i as u64 + 1),
                ],
            ]
        })
        .collect()
}

/// Commits `batches` through `lock`, counting those that returned, then compacts as the
/// end of a run does.
#[allow(clippy::result_large_err)]
fn run(
    lock: &mut StateLock,
    batches: &[Vec<Change>],
    committed: &mut usize,
) -> Result<(), flinkform_state::Error> {
    for b in batches {
        lock.commit_changes(b)?;
        *committed += 1;
    }
    lock.compact_if_due()
}

/// Puts the stack's files back as they were before the run.
fn reset(backend: &LocalBackend, seed: &[u8]) {
    for p in [
        backend.journal_path(),
        backend.backup_path(),
        backend.temp_path(),
    ] {
        let _ = fs::remove_file(p);
    }
    fs::write(backend.path(), seed).unwrap();
}

/// A crash after every number of write steps of a run (appends, a compaction in the middle
/// past the size threshold with the run's one backup, the compaction at the end): the files
/// always read as one of the states the run committed, never a part of one, and no commit
/// that returned is lost; the next run takes the lock (reported stale), cuts off what the
/// crash left, and commits on top.
#[test]
fn a_crash_between_any_two_writes_leaves_a_committed_state() {
    // Enough actions for the journal to pass a 4 KiB compaction floor mid-run.
    const MANY: usize = 12;
    let dir = temp_dir();
    let backend = LocalBackend::open(dir.join("state.json")).with_compact_floor(4096);
    {
        let mut lock = backend.lock("apply").unwrap();
        lock.commit_changes(&[Change::Record(vpc("seed", "vpc-seed"))])
            .unwrap();
    }
    let seed = fs::read(backend.path()).unwrap();
    let batches = commits(MANY);

    // Every state the run passes through, and how many write steps it takes.
    let mut states = vec![backend.read().unwrap()];
    let total = {
        let mut lock = backend.lock("apply").unwrap();
        for b in &batches {
            lock.commit_changes(b).unwrap();
            states.push(lock.current().clone());
        }
        lock.compact_if_due().unwrap();
        assert!(
            fs::metadata(backend.backup_path()).is_ok(),
            "the run compacted at least once"
        );
        lock.writes_done()
    };
    assert!(total > 2 * batches.len() as u64, "{total} write steps");
    reset(&backend, &seed);

    for n in 0..total {
        let mut lock = backend.lock("apply").unwrap();
        lock.crash_after_writes(n);
        let mut committed = 0;
        let outcome = run(&mut lock, &batches, &mut committed);
        assert!(outcome.is_err(), "a crash after {n} of {total} writes");
        drop(lock);

        let after = backend.read().unwrap();
        let at = states.iter().position(|s| *s == after).unwrap_or_else(|| {
            panic!(
                "crash after {n} writes: serial {} is not a committed state",
                after.serial
            )
        });
        assert!(
            at >= committed,
            "crash after {n} writes: {committed} commits returned but the state is at {at}"
        );

        let mut next = backend.lock("apply").unwrap();
        assert!(next.stale_predecessor().is_some(), "crash after {n}");
        next.commit_changes(&[Change::Record(vpc("later", "vpc-later"))])
            .unwrap();
        next.finish_run().unwrap();
        let last = backend.read().unwrap();
        assert_eq!(last.serial, after.serial + 1, "crash after {n}");
        assert!(last.resources.contains_key(&"vpc.later".parse().unwrap()));
        reset(&backend, &seed);
    }
}

/// A journal whose last line is cut at any byte (or followed by garbage a crash left) reads
/// as the state before that commit, with the other commits intact; the next locked write
/// cuts the torn bytes off.
#[test]
fn a_torn_last_line_is_ignored_at_every_byte() {
    let dir = temp_dir();
    let backend = LocalBackend::open(dir.join("state.json"));
    let batches = commits(3);
    let mut states = Vec::new();
    {
        let mut lock = backend.lock("apply").unwrap();
        lock.commit_changes(&[Change::Record(vpc("seed", "vpc-seed"))])
            .unwrap();
        for b in &batches {
            states.push(lock.current().clone());
            lock.commit_changes(b).unwrap();
        }
        states.push(lock.current().clone());
        // Dropped without finishing: the journal stays.
    }
    let journal = fs::read(backend.journal_path()).unwrap();
    assert_eq!(
        journal.iter().filter(|b| **b == b'\n').count(),
        batches.len()
    );
    let last_start = journal[..journal.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let before_last = &states[states.len() - 2];
    for cut in last_start..journal.len() {
        fs::write(backend.journal_path(), &journal[..cut]).unwrap();
        assert_eq!(&backend.read().unwrap(), before_last, "cut at byte {cut}");
        // A crash may also leave zeros or a flipped byte where the line was going.
        let mut junk = journal[..cut].to_vec();
        junk.extend_from_slice(&[0u8; 7]);
        fs::write(backend.journal_path(), &junk).unwrap();
        assert_eq!(
            &backend.read().unwrap(),
            before_last,
            "cut at {cut} + zeros"
        );
    }
    let mut flipped = journal.clone();
    let at = journal.len() - 10;
    flipped[at] ^= 0x01;
    fs::write(backend.journal_path(), &flipped).unwrap();
    assert_eq!(&backend.read().unwrap(), before_last, "a bad checksum");

    // The next locked write cuts the torn line off and appends after the good ones.
    fs::write(backend.journal_path(), &journal[..journal.len() - 5]).unwrap();
    {
        let mut lock = backend.lock("apply").unwrap();
        assert_eq!(lock.current(), before_last);
        lock.commit_changes(&[Change::Record(vpc("later", "vpc-later"))])
            .unwrap();
    }
    let now = backend.read().unwrap();
    assert_eq!(now.serial, before_last.serial + 1);
    let text = fs::read_to_string(backend.journal_path()).unwrap();
    assert!(
        text.ends_with("}\n") && text.lines().count() == batches.len(),
        "{text}"
    );

    // A damaged line with intact lines after it is not a crash: the journal is corrupt.
    let mut middle = journal.clone();
    middle[10] ^= 0x01;
    fs::write(backend.journal_path(), &middle).unwrap();
    let err = backend.read().unwrap_err();
    assert!(
        matches!(err, flinkform_state::Error::Corrupt { .. }),
        "{err}"
    );
}

/// Bytes written per action stay O(change): each commit appends one line of about the
/// size of what it changed, whatever the size of the state, and the end of a run that
/// changed little does not rewrite the snapshot.
#[test]
fn commits_write_their_change_not_the_state() {
    let dir = temp_dir();
    let backend = LocalBackend::open(dir.join("state.json"));
    let big = 2000;
    {
        let mut lock = backend.lock("apply").unwrap();
        let all: Vec<Change> = (0..big)
            .map(|i| Change::Record(vpc(&format!("big{i}"), &format!("vpc-{i}"))))
            .collect();
        lock.commit_changes(&all).unwrap();
        lock.finish_run().unwrap();
    }
    let snapshot = fs::metadata(backend.path()).unwrap().len();
    let record = serde_json::to_string(&flinkform_state::format::StateFileV1::from_state(&{
        let mut s = State::new();
        s.record(vpc("n0", "vpc-0"));
        s
    }))
    .unwrap()
    .len() as u64;
    let mut lock = backend.lock("apply").unwrap();
    for b in commits(5) {
        let before = fs::metadata(backend.journal_path()).map_or(0, |m| m.len());
        lock.commit_changes(&b).unwrap();
        let grew = fs::metadata(backend.journal_path()).unwrap().len() - before;
        assert!(grew <= 4 * record + 4096, "a commit appended {grew} bytes");
    }
    lock.finish_run().unwrap();
    assert_eq!(
        fs::metadata(backend.path()).unwrap().len(),
        snapshot,
        "a small run leaves the {snapshot}-byte snapshot alone"
    );
    assert!(
        !backend.backup_path().exists(),
        "no backup without a compaction"
    );
}
