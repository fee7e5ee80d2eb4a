//! Resolution of dangling intents (an earlier run killed between announcing a call and
//! recording its outcome): what the next plan says about each, and that the next apply
//! leaves an empty journal, adopting what the interrupted call made instead of making it
//! twice, or creating it again with the same client token.

#![allow(clippy::unwrap_used)] // helpers of a test file

mod fake;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fake::{FakeProvider, SharedSink};
use flinkform_apply::{ApplyOptions, NodeStatus, RetryPolicy, apply, resolve_intents};
use flinkform_core::{AccountName, Address, Attrs, CloudId, DesiredResource, Mode, Region, Value};
use flinkform_plan::{ActionId, Op, Plan, PlannedAction, client_token};
use flinkform_state::{IntentOp, State};
use tokio::sync::mpsc;

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn vpc(name: &str) -> DesiredResource {
    let attrs: Attrs = [
        ("cidr", Value::str("10.0.0.0/16")),
        ("name", Value::str(name)),
        ("region", Value::str("ap-southeast-1")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    DesiredResource {
        addr: addr(&format!("vpc.{name}")),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    }
}

fn action(i: u32, op: Op, d: DesiredResource, cloud_id: Option<&str>) -> PlannedAction {
    PlannedAction {
        id: ActionId(i),
        addr: d.addr.clone(),
        mode: Some(d.mode),
        account: Some(d.account.clone()),
        region: d.region.clone(),
        op,
        reasons: Vec::new(),
        diffs: Vec::new(),
        desired: Some(d),
        prior: None,
        cloud_id: cloud_id.map(|c| CloudId::new(c).unwrap()),
        objects: None,
        price: None,
        wait_ready: false,
    }
}

fn plan_of(actions: Vec<PlannedAction>) -> Plan {
    Plan {
        actions,
        ..Plan::default()
    }
}

/// A state whose journal holds the create intent an interrupted apply left for `d`.
fn interrupted(d: &DesiredResource) -> State {
    let mut s = State::new();
    let identity: Attrs = d
        .attrs
        .iter()
        .filter(|(k, _)| k.as_str() == "name")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    s.begin_intent(
        d.addr.clone(),
        IntentOp::Create,
        client_token(&d.addr, &d.attrs),
        identity,
    );
    s
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        poll_initial: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
        },
        rate_limits: flinkform_apply::RateLimits::unlimited(),
        ..ApplyOptions::default()
    }
}

#[test]
fn the_plan_says_what_happens_to_each_dangling_intent() {
    let (a, b, c, gone) = (vpc("a"), vpc("b"), vpc("c"), vpc("gone"));
    let mut journal = interrupted(&a).journal;
    for d in [&b, &c, &gone] {
        let mut s = State::new();
        s.journal = journal.clone();
        s.begin_intent(
            d.addr.clone(),
            IntentOp::Create,
            client_token(&d.addr, &d.attrs),
            Attrs::from([("name".to_owned(), d.attrs["name"].clone())]),
        );
        journal = s.journal;
    }
    let mut plan = plan_of(vec![
        action(0, Op::Adopt, a.clone(), Some("vpc-found")),
        action(1, Op::Create, b.clone(), None),
        action(2, Op::NoOp, c.clone(), Some("vpc-c")),
    ]);
    let r = resolve_intents(&mut plan, &journal);
    assert_eq!(r.len(), 4);
    assert!(
        r[0].message
            .contains("interrupted during create of `vpc.a`")
            && r[0]
                .message
                .contains("found it in the cloud by name \"a\" → adopt"),
        "{}",
        r[0].message
    );
    let token = client_token(&b.addr, &b.attrs);
    assert!(
        r[1].message.contains("not found in the cloud")
            && r[1].message.contains(&format!(
                "create it again with the same ClientToken {token}"
            )),
        "{}",
        r[1].message
    );
    assert!(r[2].message.contains("took effect"), "{}", r[2].message);
    assert!(
        r[3].message.contains("no longer planned"),
        "{}",
        r[3].message
    );
    assert_eq!(
        r.iter().map(|x| x.settled).collect::<Vec<_>>(),
        [false, false, true, true],
        "only what the observation settled is cleared before apply"
    );
    // The plan itself carries the explanation.
    assert!(plan.actions[0].reasons[0].contains("adopt"));
    assert!(plan.actions[1].reasons[0].contains("ClientToken"));
    // Explaining twice adds nothing twice.
    resolve_intents(&mut plan, &journal);
    assert_eq!(plan.actions[0].reasons.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_create_found_in_the_cloud_is_adopted_without_a_call() {
    let d = vpc("a");
    let (state, token) = (interrupted(&d), client_token(&d.addr, &d.attrs));
    let mut sink = SharedSink::new(state);
    let fake = Arc::new(FakeProvider::new(sink.view.clone()));
    // The interrupted call had created it.
    fake.seed("vpc.a", "vpc-made-before-the-crash", d.attrs.clone());
    fake.with(|c| {
        c.tokens.insert(
            token.clone(),
            CloudId::new("vpc-made-before-the-crash").unwrap(),
        )
    });
    let mut plan = plan_of(vec![action(
        0,
        Op::Adopt,
        d.clone(),
        Some("vpc-made-before-the-crash"),
    )]);
    let r = resolve_intents(&mut plan, &sink.state.journal.clone());
    assert!(!r[0].settled);
    let (tx, _rx) = mpsc::unbounded_channel();
    let report = apply(&plan, fake.clone(), &mut sink, &opts(), tx).await;
    assert_eq!(report.results[&d.addr].status, NodeStatus::Done);
    assert!(sink.state.journal.is_empty(), "{:?}", sink.state.journal);
    assert_eq!(
        sink.state.resources[&d.addr].cloud_id.as_str(),
        "vpc-made-before-the-crash"
    );
    assert!(fake.with(|c| c.calls.clone()).is_empty(), "no API call");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_create_not_in_the_cloud_is_made_once_with_the_same_token() {
    let d = vpc("a");
    let state = interrupted(&d);
    let old_token = state.journal[0].client_token.clone();
    let mut sink = SharedSink::new(state);
    let fake = Arc::new(FakeProvider::new(sink.view.clone()));
    let plan = plan_of(vec![action(0, Op::Create, d.clone(), None)]);
    let (tx, _rx) = mpsc::unbounded_channel();
    let report = apply(&plan, fake.clone(), &mut sink, &opts(), tx).await;
    assert_eq!(report.results[&d.addr].status, NodeStatus::Done);
    assert!(sink.state.journal.is_empty(), "{:?}", sink.state.journal);
    assert_eq!(fake.with(|c| c.calls.clone()), ["create vpc.a"]);
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
    assert_eq!(
        fake.with(|c| c.tokens.keys().cloned().collect::<Vec<_>>()),
        [old_token],
        "the same client token as the interrupted call"
    );
}

fn named(address: &str, name: &str) -> DesiredResource {
    let mut d = vpc(name);
    d.addr = addr(address);
    d
}

#[test]
fn a_create_without_a_client_token_is_explained_by_its_lookup_not_by_a_token() {
    // A workspace: CreateInstance takes no ClientToken. The journal of an older flinkform
    // recorded a token for it anyway; the explanation follows the API, not the record.
    let ws = named("flink_workspace.w", "w");
    let project = named("flink_project.w/etl", "etl");
    let (vpc_a, order) = (vpc("a"), named("market_order.obs", "obs"));
    let mut state = State::new();
    for d in [&ws, &project, &vpc_a, &order] {
        state.begin_intent(
            d.addr.clone(),
            IntentOp::Create,
            client_token(&d.addr, &d.attrs),
            Attrs::from([("name".to_owned(), d.attrs["name"].clone())]),
        );
    }
    let mut plan = plan_of(vec![
        action(0, Op::Create, ws.clone(), None),
        action(1, Op::Create, project.clone(), None),
        action(2, Op::Create, vpc_a.clone(), None),
        action(3, Op::Create, order.clone(), None),
    ]);
    let r = resolve_intents(&mut plan, &state.journal);
    let ws_token = client_token(&ws.addr, &ws.attrs);
    assert!(
        r[0].message.ends_with(
            "not found in the cloud by name \"w\" → create it again; its create call takes no \
             ClientToken, so it is looked up by name and its ownership mark first, and again \
             after a conflict or a lost answer, and adopted if found"
        ),
        "{}",
        r[0].message
    );
    assert!(!r[0].message.contains(&ws_token), "{}", r[0].message);
    assert!(
        r[1].message
            .contains("takes no ClientToken, so it is looked up by name first"),
        "projects carry no ownership mark: {}",
        r[1].message
    );
    let vpc_token = client_token(&vpc_a.addr, &vpc_a.attrs);
    assert!(
        r[2].message.ends_with(&format!(
            "create it again with the same ClientToken {vpc_token}, which the cloud deduplicates"
        )),
        "{}",
        r[2].message
    );
    let order_token = client_token(&order.addr, &order.attrs);
    assert!(
        r[3].message.contains(&format!(
            "CreateOrder sends a ClientToken derived from {order_token}"
        )),
        "{}",
        r[3].message
    );
}

#[tokio::test(start_paused = true)]
async fn intents_record_a_client_token_only_for_creates_that_send_one() {
    let (ws, vpc_b) = (named("flink_workspace.w", "w"), vpc("b"));
    let mut sink = SharedSink::new(State::new());
    let fake = Arc::new(FakeProvider::new(sink.view.clone()));
    let plan = plan_of(vec![
        action(0, Op::Create, ws.clone(), None),
        action(1, Op::Create, vpc_b.clone(), None),
    ]);
    let (tx, _rx) = mpsc::unbounded_channel();
    let report = apply(&plan, fake.clone(), &mut sink, &opts(), tx).await;
    assert_eq!(report.results[&ws.addr].status, NodeStatus::Done);
    assert_eq!(report.results[&vpc_b.addr].status, NodeStatus::Done);
    // The fake checks every create against the intent on disk at that moment: the VPC's
    // records the token the call sends, the workspace's records none.
    assert!(
        fake.with(|c| c.intent_violations.clone()).is_empty(),
        "{:?}",
        fake.with(|c| c.intent_violations.clone())
    );
}
