//! The conformance suite every [`Backend`] passes (`crate::backend`'s guarantees), as plain
//! async functions a backend's tests call, one per property so that a failure is named:
//!
//! ```ignore
//! #[tokio::test]
//! async fn commit_reads_back() {
//!     flinkform_state::conformance::commit_reads_back(&my_stack).await;
//! }
//! ```
//!
//! Each takes a function making a [`TestStack`]: a new, empty stack, opened as many times as
//! a test needs (each [`TestStack::open`] is a new backend object, as a second process would
//! make). Failures panic with what was expected. What only one backend can simulate (a crash
//! between two writes of the local files) is tested beside that backend.

// Test support: a failed expectation panics, as in a test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use flinkform_core::{
    AccountName, Address, Attrs, CloudId, Mode, RecordedResource, Region, Target, TargetCloud,
    Value,
};

use crate::backend::{Backend, Change};
use crate::error::Error;
use crate::local::{LockInfo, LockStatus};
use crate::model::{Intent, IntentOp, Lineage, State, WaitingGate};

/// A new stack for one property.
pub struct TestStack {
    /// Opens a backend object for this stack; every call makes a new object.
    pub open: Box<dyn Fn() -> Box<dyn Backend> + Send + Sync>,
    /// Leaves the stack's lock as a holder that died holding it would (a killed process, a
    /// lost database session), and returns the owner information it left.
    pub leave_dead_holder: Box<dyn Fn() -> LockInfo + Send + Sync>,
}

/// A factory of new stacks.
pub type MakeStack<'a> = &'a (dyn Fn() -> TestStack + Sync);

const ZERO: Duration = Duration::ZERO;

/// A recorded VPC for the tests.
#[must_use]
pub fn vpc(name: &str, id: &str) -> RecordedResource {
    let mut attrs = Attrs::new();
    attrs.insert("cidr".into(), Value::str("10.0.0.0/16"));
    attrs.insert("name".into(), Value::str(name));
    RecordedResource {
        addr: addr(&format!("vpc.{name}")),
        mode: Mode::Managed,
        account: AccountName::new("main").expect("account name"),
        region: Some(Region::new("ap-southeast-1").expect("region")),
        cloud_id: CloudId::new(id).expect("cloud id"),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
    }
}

fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

fn intent(id: u64, name: &str) -> Intent {
    let mut identity = Attrs::new();
    identity.insert("name".into(), Value::str(name));
    Intent {
        id,
        addr: addr(&format!("vpc.{name}")),
        op: IntentOp::Create,
        client_token: format!("ff-{id}"),
        identity,
        started_at: "2026-01-01T00:00:00Z".to_owned(),
    }
}

fn target() -> Target {
    Target {
        cloud: TargetCloud::Sim,
        world: Some("w-1".to_owned()),
        accounts: [(
            AccountName::new("main").expect("account name"),
            flinkform_core::AccountUid::new("5123456789012345").expect("uid"),
        )]
        .into_iter()
        .collect(),
    }
}

/// The changes of one action: the intent before its call, then the outcome.
fn one_action(id: u64, name: &str, cloud_id: &str) -> [Vec<Change>; 2] {
    [
        vec![
            Change::EndIntentsOf(addr(&format!("vpc.{name}"))),
            Change::BeginIntent(intent(id, name)),
        ],
        vec![
            Change::Record(vpc(name, cloud_id)),
            Change::EndIntentsOf(addr(&format!("vpc.{name}"))),
            Change::RemoveGatesOf(addr(&format!("vpc.{name}"))),
        ],
    ]
}

#[track_caller]
fn assert_locked_by(err: &Error, holder: &LockInfo) {
    match err {
        Error::StateLocked {
            id, operation, who, ..
        } => {
            assert_eq!(id, &holder.id, "the refusal names the holder's lock id");
            assert_eq!(operation, &holder.operation, "and its operation");
            assert_eq!(who, &holder.who, "and who runs it");
        }
        other => panic!("expected StateLocked naming {holder:?}, got {other:?}"),
    }
}

/// Every property, in order.
pub async fn run_all(make: MakeStack<'_>) {
    new_stack_reads_empty(make).await;
    commit_reads_back(make).await;
    noop_commit_keeps_serial(make).await;
    serial_bumps_by_one_per_commit(make).await;
    every_change_kind_round_trips(make).await;
    lock_is_exclusive_with_owner_info(make).await;
    lock_timeout_waits_then_names_the_holder(make).await;
    lock_released_on_drop(make).await;
    finish_keeps_commits_and_releases(make).await;
    stale_lock_of_dead_holder(make).await;
    force_unlock_needs_the_right_id(make).await;
    replace_rules(make).await;
    history_lists_serials(make).await;
    read_serial_gives_each_kept_version(make).await;
}

/// A new stack reads as an empty state with serial 0; its lock is free and nothing is kept.
pub async fn new_stack_reads_empty(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let s = b.read().await.unwrap();
    assert_eq!(s.serial, 0);
    assert!(s.resources.is_empty() && s.journal.is_empty() && s.gates.is_empty());
    assert!(s.target.is_none());
    assert_eq!(b.lock_status().await.unwrap(), LockStatus::Free);
    let session = b.lock("plan", ZERO).await.unwrap();
    assert_eq!(session.state().serial, 0);
    assert!(session.stale_predecessor().is_none());
}

/// One action (its intent, then its outcome) committed and read back by another backend
/// object: serial 2, the resource recorded, no intent left; the lineage is kept.
pub async fn commit_reads_back(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    let lineage = session.state().lineage;
    let [intent_changes, outcome] = one_action(1, "a", "vpc-1");
    session.commit(intent_changes).await.unwrap();
    assert_eq!(session.state().serial, 1);
    assert_eq!(session.state().journal, vec![intent(1, "a")]);
    let other = (stack.open)();
    let mid = other.read().await.unwrap();
    assert_eq!(
        mid.journal,
        vec![intent(1, "a")],
        "the intent is durable before the call"
    );
    session.commit(outcome).await.unwrap();
    let s = other.read().await.unwrap();
    assert_eq!(s.serial, 2);
    assert_eq!(s.lineage, lineage);
    assert_eq!(s.resources.get(&addr("vpc.a")), Some(&vpc("a", "vpc-1")));
    assert!(s.journal.is_empty());
    assert_eq!(&s, session.state(), "the session's state is what is stored");
}

/// A commit that changes nothing (no changes, or changes that leave the content as it is)
/// keeps the serial.
pub async fn noop_commit_keeps_serial(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    session.commit(Vec::new()).await.unwrap();
    assert_eq!(session.state().serial, 0);
    session
        .commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    session
        .commit(vec![
            Change::Record(vpc("a", "vpc-1")),
            Change::EndIntentsOf(addr("vpc.a")),
            Change::Remove(addr("vpc.zz")),
        ])
        .await
        .unwrap();
    assert_eq!(session.state().serial, 1);
    assert_eq!((stack.open)().read().await.unwrap().serial, 1);
}

/// Each commit that changes the content bumps the serial by exactly one.
pub async fn serial_bumps_by_one_per_commit(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        session
            .commit(vec![Change::Record(vpc(name, &format!("vpc-{i}")))])
            .await
            .unwrap();
        assert_eq!(session.state().serial, i as u64 + 1);
        assert_eq!((stack.open)().read().await.unwrap().serial, i as u64 + 1);
    }
}

/// Every kind of change is stored and read back as applied in memory.
pub async fn every_change_kind_round_trips(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    let gate = WaitingGate {
        addr: addr("gate.verify-email.x"),
        instructions: "enter the code".to_owned(),
        since: "2026-01-01T00:00:00Z".to_owned(),
    };
    let batches = vec![
        vec![Change::SetTarget(target())],
        vec![
            Change::Record(vpc("a", "vpc-1")),
            Change::Record(vpc("b", "vpc-2")),
            Change::BeginIntent(intent(1, "a")),
            Change::BeginIntent(intent(2, "b")),
            Change::BeginIntent(intent(3, "c")),
        ],
        vec![
            Change::SetGate {
                name: "verify-email.x".to_owned(),
                gate: gate.clone(),
            },
            Change::SetGate {
                name: "verify-email.y".to_owned(),
                gate: WaitingGate {
                    addr: addr("gate.verify-email.y"),
                    ..gate.clone()
                },
            },
        ],
        vec![
            Change::EndIntent(1),
            Change::EndIntentsOf(addr("vpc.b")),
            Change::Remove(addr("vpc.b")),
            Change::RemoveGate("verify-email.y".to_owned()),
        ],
        vec![Change::RemoveGatesOf(addr("gate.verify-email.x"))],
    ];
    let mut expected = session.state().clone();
    for batch in batches {
        expected.apply_all(&batch);
        expected.serial += 1;
        session.commit(batch).await.unwrap();
        assert_eq!(session.state(), &expected);
        assert_eq!((stack.open)().read().await.unwrap(), expected);
    }
    assert_eq!(expected.journal, vec![intent(3, "c")]);
    assert!(expected.gates.is_empty());
}

/// The lock is exclusive: a second `lock` with a zero timeout fails at once naming the
/// holder, and `lock_status` names it too.
pub async fn lock_is_exclusive_with_owner_info(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let held = b.lock("apply", ZERO).await.unwrap();
    assert_eq!(held.info().operation, "apply");
    assert!(held.info().who.contains('@'), "{:?}", held.info());
    let other = (stack.open)();
    let err = other
        .lock("destroy", ZERO)
        .await
        .err()
        .expect("the lock is held");
    assert_locked_by(&err, held.info());
    assert_eq!(
        other.lock_status().await.unwrap(),
        LockStatus::Held(held.info().clone())
    );
}

/// A second `lock` waits up to its timeout, then fails naming the holder.
pub async fn lock_timeout_waits_then_names_the_holder(make: MakeStack<'_>) {
    let stack = make();
    let held = (stack.open)().lock("apply", ZERO).await.unwrap();
    let other = (stack.open)();
    let wait = Duration::from_millis(300);
    let start = Instant::now();
    let err = other
        .lock("destroy", wait)
        .await
        .err()
        .expect("the lock is held");
    let waited = start.elapsed();
    assert!(waited >= wait, "gave up after {waited:?}, before {wait:?}");
    assert_locked_by(&err, held.info());
}

/// Dropping a session (without `finish`) releases the lock and keeps what it committed.
pub async fn lock_released_on_drop(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    session
        .commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    drop(session);
    let other = (stack.open)();
    assert_eq!(other.lock_status().await.unwrap(), LockStatus::Free);
    let again = other.lock("destroy", ZERO).await.unwrap();
    assert!(again.stale_predecessor().is_none());
    assert_eq!(again.state().serial, 1);
    assert!(again.state().resources.contains_key(&addr("vpc.a")));
}

/// `finish` keeps every commit and releases the lock.
pub async fn finish_keeps_commits_and_releases(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        for batch in one_action(i as u64 + 1, name, &format!("vpc-{i}")) {
            session.commit(batch).await.unwrap();
        }
    }
    let expected = session.state().clone();
    session.finish().await.unwrap();
    let other = (stack.open)();
    assert_eq!(other.lock_status().await.unwrap(), LockStatus::Free);
    assert_eq!(other.read().await.unwrap(), expected);
    assert_eq!(expected.serial, 6);
    let again = other.lock("apply", ZERO).await.unwrap();
    assert_eq!(again.state(), &expected);
}

/// A lock left by a holder that died is stale, not held: another run takes it and is told
/// about its predecessor.
pub async fn stale_lock_of_dead_holder(make: MakeStack<'_>) {
    let stack = make();
    let dead = (stack.leave_dead_holder)();
    let b = (stack.open)();
    assert_eq!(
        b.lock_status().await.unwrap(),
        LockStatus::Stale(dead.clone())
    );
    let session = b.lock("apply", ZERO).await.unwrap();
    assert_eq!(session.stale_predecessor(), Some(&dead));
    drop(session);
    assert_eq!(b.lock_status().await.unwrap(), LockStatus::Free);
}

/// `force_unlock` needs the lock's id, refuses a holder that runs, and clears a dead one's.
pub async fn force_unlock_needs_the_right_id(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    match b.force_unlock("nothing-here").await {
        Err(Error::NotLocked { .. }) => {}
        other => panic!("expected NotLocked, got {other:?}"),
    }
    let held = b.lock("apply", ZERO).await.unwrap();
    let other = (stack.open)();
    match other.force_unlock(&held.info().id).await {
        Err(Error::LockStillHeld { .. }) => {}
        r => panic!("expected LockStillHeld, got {r:?}"),
    }
    drop(held);

    let dead = (stack.leave_dead_holder)();
    match other.force_unlock("not-the-id").await {
        Err(e @ Error::LockIdMismatch { .. }) => {
            let said = format!("{e} {e:?}");
            assert!(
                !said.contains(&dead.id),
                "the right id is not given away: {said}"
            );
        }
        r => panic!("expected LockIdMismatch, got {r:?}"),
    }
    assert_eq!(other.force_unlock(&dead.id).await.unwrap(), dead);
    assert_eq!(other.lock_status().await.unwrap(), LockStatus::Free);
}

/// `replace`: a new stack takes any lineage; then another lineage and a serial not newer
/// are refused unless forced; the stored serial is `max(given, stored + 1)`.
pub async fn replace_rules(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("state push", ZERO).await.unwrap();
    let mut pushed = State::new();
    let lineage = pushed.lineage;
    pushed.serial = 5;
    pushed.record(vpc("a", "vpc-1"));
    session.replace(pushed.clone(), false).await.unwrap();
    assert_eq!(session.state().serial, 5);
    assert_eq!(session.state().lineage, lineage);
    assert_eq!((stack.open)().read().await.unwrap(), pushed);

    let mut other = State::new();
    other.serial = 9;
    match session.replace(other.clone(), false).await {
        Err(Error::LineageMismatch { .. }) => {}
        r => panic!("another lineage: expected LineageMismatch, got {r:?}"),
    }
    for serial in [4, 5] {
        let mut older = pushed.clone();
        older.serial = serial;
        older.record(vpc("b", "vpc-2"));
        match session.replace(older, false).await {
            Err(Error::StaleSerial { stored: 5, given }) => assert_eq!(given, serial),
            r => panic!("serial {serial}: expected StaleSerial, got {r:?}"),
        }
    }
    assert_eq!(
        (stack.open)().read().await.unwrap(),
        pushed,
        "refusals change nothing"
    );

    let mut newer = pushed.clone();
    newer.serial = 7;
    newer.record(vpc("b", "vpc-2"));
    session.replace(newer.clone(), false).await.unwrap();
    assert_eq!((stack.open)().read().await.unwrap(), newer);

    let mut forced_old = pushed.clone();
    forced_old.serial = 2;
    session.replace(forced_old.clone(), true).await.unwrap();
    let now = (stack.open)().read().await.unwrap();
    assert_eq!(now.serial, 8, "a forced older state gets a new serial");
    assert!(forced_old.same_content(&now));

    session.replace(other.clone(), true).await.unwrap();
    let now = (stack.open)().read().await.unwrap();
    assert_eq!(now.lineage, other.lineage);
    assert_eq!(now.serial, 9);

    // A commit never changes the lineage.
    session
        .commit(vec![Change::Record(vpc("c", "vpc-3"))])
        .await
        .unwrap();
    let now = (stack.open)().read().await.unwrap();
    assert_eq!((now.lineage, now.serial), (other.lineage, 10));
    let _: Lineage = now.lineage;
}

/// `history` lists the kept versions oldest first, ending with the current serial; a
/// commit's entry names the addresses it changed, the operation and who ran it.
pub async fn history_lists_serials(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        session
            .commit(vec![Change::Record(vpc(name, &format!("vpc-{i}")))])
            .await
            .unwrap();
    }
    let who = session.info().who.clone();
    let history = (stack.open)().history().await.unwrap();
    let serials: Vec<u64> = history.iter().map(|h| h.serial).collect();
    assert!(
        serials.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {serials:?}"
    );
    assert_eq!(serials.last(), Some(&3), "{serials:?}");
    let last = history.last().unwrap();
    assert_eq!(last.operation, "apply");
    assert_eq!(last.who, who);
    assert_eq!(last.changed, [addr("vpc.c")].into_iter().collect());
    assert!(!last.written_at.is_empty());
}

/// `read_serial` gives the current version and each kept one as it was; a serial never
/// written is an error.
pub async fn read_serial_gives_each_kept_version(make: MakeStack<'_>) {
    let stack = make();
    let b = (stack.open)();
    let mut session = b.lock("apply", ZERO).await.unwrap();
    let mut versions = Vec::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        session
            .commit(vec![Change::Record(vpc(name, &format!("vpc-{i}")))])
            .await
            .unwrap();
        versions.push(session.state().clone());
    }
    let other = (stack.open)();
    let kept: BTreeSet<u64> = other
        .history()
        .await
        .unwrap()
        .iter()
        .map(|h| h.serial)
        .collect();
    assert!(kept.contains(&3), "{kept:?}");
    for v in &versions {
        if kept.contains(&v.serial) {
            assert_eq!(&other.read_serial(v.serial).await.unwrap(), v);
        }
    }
    match other.read_serial(999).await {
        Err(Error::SerialNotKept { serial: 999, .. }) => {}
        r => panic!("expected SerialNotKept, got {r:?}"),
    }
}
