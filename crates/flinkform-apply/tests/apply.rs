//! Executor tests against the in-memory fake cloud, on a paused tokio clock: failure
//! isolation, retries and throttling, the concurrency bound, waiting without slots, intents,
//! replace and delete semantics, the balance re-check, conflicts, reads and adoption.

#![allow(clippy::unwrap_used)] // helpers of a test file

mod fake;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fake::{FakeProvider, SharedSink};
use flinkform_apply::{ApplyOptions, ApplyReport, Event, NodeStatus, RetryPolicy, apply};
use flinkform_core::{
    AccountName, Address, Attrs, CloudId, DesiredResource, Mode, RecordedResource, Region, Value,
};
use flinkform_plan::{ActionId, After, AttrDiff, Op, Plan, PlannedAction};
use flinkform_state::State;
use tokio::sync::mpsc;

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn desired(a: &str, attrs: Attrs) -> DesiredResource {
    let depends_on: BTreeSet<Address> = attrs.values().flat_map(|v| v.refs()).cloned().collect();
    DesiredResource {
        addr: addr(a),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        attrs,
        depends_on,
        protect: false,
        origin: None,
    }
}

fn recorded(a: &str, id: &str, attrs: Attrs) -> RecordedResource {
    RecordedResource {
        addr: addr(a),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        cloud_id: CloudId::new(id).unwrap(),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
    }
}

/// Builds plans: each action gets the next id, edges come from `depends_on`.
#[derive(Default)]
struct PlanBuilder {
    plan: Plan,
}

impl PlanBuilder {
    fn add(
        &mut self,
        op: Op,
        desired: Option<DesiredResource>,
        prior: Option<RecordedResource>,
    ) -> &mut Self {
        self.add_full(op, desired, prior, None, Vec::new())
    }

    fn add_full(
        &mut self,
        op: Op,
        desired: Option<DesiredResource>,
        prior: Option<RecordedResource>,
        cloud_id: Option<&str>,
        diffs: Vec<AttrDiff>,
    ) -> &mut Self {
        let id = ActionId(u32::try_from(self.plan.actions.len()).unwrap());
        let a = desired
            .as_ref()
            .map_or_else(|| prior.as_ref().unwrap().addr.clone(), |d| d.addr.clone());
        if let Some(d) = &desired {
            for dep in &d.depends_on {
                let from = self
                    .plan
                    .actions
                    .iter()
                    .find(|x| &x.addr == dep)
                    .map(|x| x.id);
                if let Some(from) = from {
                    self.plan.edges.insert((from, id));
                }
            }
        }
        let (mode, account, region) = match (&desired, &prior) {
            (Some(d), _) => (Some(d.mode), Some(d.account.clone()), d.region.clone()),
            (None, Some(p)) => (Some(p.mode), Some(p.account.clone()), p.region.clone()),
            (None, None) => (None, None, None),
        };
        self.plan.actions.push(PlannedAction {
            id,
            addr: a,
            mode,
            account,
            region,
            op,
            reasons: Vec::new(),
            diffs,
            desired,
            prior,
            cloud_id: cloud_id.map(|c| CloudId::new(c).unwrap()),
            objects: None,
            price: None,
            wait_ready: false,
        });
        self
    }

    fn edge(&mut self, from: &str, to: &str) -> &mut Self {
        let find = |s: &str| {
            self.plan
                .actions
                .iter()
                .find(|x| x.addr == addr(s))
                .unwrap()
                .id
        };
        let e = (find(from), find(to));
        self.plan.edges.insert(e);
        self
    }
}

fn opts(parallelism: usize) -> ApplyOptions {
    ApplyOptions {
        parallelism,
        poll_initial: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        wait_timeout: Duration::from_secs(3600),
        retry: RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
        },
        rate_limits: flinkform_apply::RateLimits::unlimited(),
        ..ApplyOptions::default()
    }
}

struct Run {
    report: ApplyReport,
    state: State,
    events: Vec<Event>,
}

async fn run(
    plan: &Plan,
    fake: &Arc<FakeProvider>,
    sink: &mut SharedSink,
    o: &ApplyOptions,
) -> Run {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report = apply(plan, fake.clone(), sink, o, tx).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    Run {
        report,
        state: sink.state.clone(),
        events,
    }
}

fn setup(state: State) -> (Arc<FakeProvider>, SharedSink) {
    let sink = SharedSink::new(state);
    let fake = Arc::new(FakeProvider::new(sink.view.clone()));
    (fake, sink)
}

fn vpc(name: &str) -> DesiredResource {
    desired(
        &format!("vpc.{name}"),
        attrs(&[
            ("cidr", Value::str("10.0.0.0/16")),
            ("name", Value::str(name)),
            ("region", Value::str("ap-southeast-1")),
        ]),
    )
}

fn vswitch(name: &str) -> DesiredResource {
    desired(
        &format!("vswitch.{name}[0]"),
        attrs(&[
            ("cidr", Value::str("10.0.1.0/24")),
            ("name", Value::str(format!("{name}-0"))),
            ("vpc_id", Value::reference(addr(&format!("vpc.{name}")))),
            ("zone", Value::str("ap-southeast-1a")),
        ]),
    )
}

fn bucket(i: usize) -> DesiredResource {
    desired(
        &format!("oss_bucket.b{i}"),
        attrs(&[("name", Value::str(format!("b{i}")))]),
    )
}

fn status<'a>(r: &'a ApplyReport, a: &str) -> &'a NodeStatus {
    &r.results[&addr(a)].status
}

#[tokio::test(start_paused = true)]
async fn failed_branch_skips_its_dependents_and_the_other_branch_finishes() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| {
        c.fail_create.insert(addr("vpc.a"));
    });
    let mut b = PlanBuilder::default();
    let ws = desired(
        "flink_workspace.a",
        attrs(&[
            ("name", Value::str("a")),
            (
                "vswitch_ids",
                Value::List(vec![Value::reference(addr("vswitch.a[0]"))]),
            ),
        ]),
    );
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None)
        .add(Op::Create, Some(ws), None)
        .add(Op::Create, Some(vpc("b")), None)
        .add(Op::Create, Some(vswitch("b")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(4)).await;

    assert!(!r.report.succeeded());
    assert!(
        matches!(status(&r.report, "vpc.a"), NodeStatus::Failed(m) if m.contains("InvalidParameter"))
    );
    for a in ["vswitch.a[0]", "flink_workspace.a"] {
        assert_eq!(
            status(&r.report, a),
            &NodeStatus::Skipped {
                because: addr("vpc.a")
            },
            "{a}"
        );
        let skipped = r
            .events
            .iter()
            .filter(|e| matches!(e, Event::Skipped { addr: x, .. } if *x == addr(a)))
            .count();
        assert_eq!(skipped, 1, "{a} is reported once");
    }
    assert_eq!(status(&r.report, "vpc.b"), &NodeStatus::Done);
    assert_eq!(status(&r.report, "vswitch.b[0]"), &NodeStatus::Done);
    assert_eq!(r.report.failed(), vec![&addr("vpc.a")]);

    // The vSwitch was created with the VPC's id, and both are recorded.
    let vpc_id = r.state.resources[&addr("vpc.b")].cloud_id.to_string();
    let vsw = &r.state.resources[&addr("vswitch.b[0]")];
    assert_eq!(vsw.attrs["vpc_id"], Value::str(vpc_id));
    assert_eq!(
        vsw.attrs["status_from_cloud"],
        Value::str("seen"),
        "outcome attributes are kept"
    );
    assert!(!r.state.resources.contains_key(&addr("vpc.a")));
    assert!(
        r.state.journal.is_empty(),
        "a definite refusal ends the intent"
    );
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
    // The report is sorted by address (kind order, then name).
    let order: Vec<String> = r.report.results.keys().map(ToString::to_string).collect();
    assert_eq!(
        order,
        [
            "vpc.a",
            "vpc.b",
            "vswitch.a[0]",
            "vswitch.b[0]",
            "flink_workspace.a"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_and_counted() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| c.throttle_next = 3);
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(bucket(1)), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert_eq!(r.report.throttled, 3);
    assert_eq!(r.report.retries, 3);
    assert_eq!(r.report.api_calls, 4);
    assert_eq!(r.report.results[&addr("oss_bucket.b1")].retries, 3);
    let retrying: Vec<u32> = r
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Retrying { attempt, .. } = e {
                Some(*attempt)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(retrying, [1, 2, 3]);
    assert_eq!(
        fake.with(|c| c.resources.len()),
        1,
        "retried creates made one bucket"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_errors_until_attempts_run_out_fail_and_keep_the_intent() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| c.transient_next = 100);
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(bucket(1)), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(
        matches!(status(&r.report, "oss_bucket.b1"), NodeStatus::Failed(m) if m.contains("ServiceUnavailable"))
    );
    assert_eq!(r.report.api_calls, 5, "max_attempts");
    assert_eq!(r.report.retries, 4);
    assert_eq!(r.report.throttled, 0);
    // The outcome is unknown: the intent stays for the next run to resolve.
    assert_eq!(r.state.journal.len(), 1);
    assert_eq!(r.state.journal[0].addr, addr("oss_bucket.b1"));
    assert_eq!(r.state.journal[0].identity["name"], Value::str("b1"));
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_calls_in_flight() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    for i in 0..20 {
        b.add(Op::Create, Some(bucket(i)), None);
    }
    let r = run(&b.plan, &fake, &mut sink, &opts(3)).await;
    assert!(r.report.succeeded());
    assert_eq!(
        fake.max_in_flight(),
        3,
        "the bound is reached and never exceeded"
    );
    assert_eq!(r.state.resources.len(), 20);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_readiness_holds_no_slot() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| c.reads_until_ready = 10);
    let mut b = PlanBuilder::default();
    for i in 0..20 {
        b.add(Op::Create, Some(vpc(&format!("v{i}"))), None);
    }
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert!(fake.max_in_flight() <= 2);
    assert_eq!(
        fake.with(|c| c.max_pending),
        20,
        "all 20 were creating at once"
    );
    // Each needed its create and ten reads.
    assert_eq!(r.report.api_calls, 20 * 11);
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Waiting { status, .. } if status == "pending"))
    );
    assert!(r.state.journal.is_empty());
    assert!(
        fake.with(|c| c.intent_violations.clone()).is_empty(),
        "intents are durable under concurrency"
    );
}

#[tokio::test(start_paused = true)]
async fn intent_is_durable_before_each_mutating_call_and_gone_after() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded());
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
    assert!(r.state.journal.is_empty());
    assert_eq!(fake.with(|c| c.calls.len()), 2);
}

#[tokio::test(start_paused = true)]
async fn replace_deletes_then_creates() {
    let mut state = State::new();
    let old = recorded(
        "vpc.a",
        "vpc-old",
        attrs(&[
            ("cidr", Value::str("10.9.0.0/16")),
            ("name", Value::str("a")),
        ]),
    );
    state.record(old.clone());
    let (fake, mut sink) = setup(state);
    fake.seed("vpc.a", "vpc-old", old.attrs.clone());
    // A replacement is two actions: the old one's deletion, then the creation.
    let mut b = PlanBuilder::default();
    b.add(Op::Delete, None, Some(old.clone()))
        .add(Op::Replace, Some(vpc("a")), Some(old));
    b.plan.edges.insert((ActionId(0), ActionId(1)));
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    // One result for the address: the replacement, with the calls of both halves.
    let result = &r.report.results[&addr("vpc.a")];
    assert_eq!(result.op, Op::Replace);
    assert_eq!(
        fake.with(|c| c.calls.clone()),
        ["delete vpc-old", "create vpc.a"]
    );
    let now = &r.state.resources[&addr("vpc.a")];
    assert_ne!(now.cloud_id.as_str(), "vpc-old");
    assert_eq!(now.attrs["cidr"], Value::str("10.0.0.0/16"));
    assert!(fake.with(|c| !c.resources.contains_key(&CloudId::new("vpc-old").unwrap())));
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
    assert!(r.state.journal.is_empty());
}

#[tokio::test(start_paused = true)]
async fn delete_waits_until_absent_and_already_gone_is_success() {
    let mut state = State::new();
    let here = recorded("vpc.here", "vpc-1", attrs(&[("name", Value::str("here"))]));
    let gone = recorded("vpc.gone", "vpc-2", attrs(&[("name", Value::str("gone"))]));
    state.record(here.clone());
    state.record(gone.clone());
    let (fake, mut sink) = setup(state);
    fake.seed("vpc.here", "vpc-1", here.attrs.clone());
    let mut b = PlanBuilder::default();
    b.add(Op::Delete, None, Some(here))
        .add(Op::Delete, None, Some(gone));
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert!(r.state.resources.is_empty());
    assert!(r.state.journal.is_empty());
    assert!(fake.with(|c| c.resources.is_empty()));
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Waiting { status, .. } if status == "deleting"))
    );
}

#[tokio::test(start_paused = true)]
async fn update_sends_changed_names_and_records_new_attributes() {
    let mut state = State::new();
    let prior = recorded(
        "flink_project.w/etl",
        "etl",
        attrs(&[("cu", Value::Int(4)), ("name", Value::str("etl"))]),
    );
    state.record(prior.clone());
    let (fake, mut sink) = setup(state);
    fake.seed("flink_project.w/etl", "etl", prior.attrs.clone());
    let d = desired(
        "flink_project.w/etl",
        attrs(&[("cu", Value::Int(8)), ("name", Value::str("etl"))]),
    );
    let diff = AttrDiff {
        name: "cu".to_owned(),
        before: Some(Value::Int(4)),
        after: After::Known(Value::Int(8)),
        forces_replacement: false,
    };
    let mut b = PlanBuilder::default();
    b.add_full(Op::Update, Some(d), Some(prior), Some("etl"), vec![diff]);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert_eq!(
        fake.with(|c| c.calls.clone()),
        [r#"update flink_project.w/etl ["cu"]"#]
    );
    assert_eq!(
        r.state.resources[&addr("flink_project.w/etl")].attrs["cu"],
        Value::Int(8)
    );
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
}

/// The balance check expansion makes: no amount of its own, the rule is the currency's.
fn balance_check() -> DesiredResource {
    let mut d = desired("account_balance.main", attrs(&[]));
    d.region = None;
    d
}

#[tokio::test(start_paused = true)]
async fn balance_is_rechecked_before_an_order() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| c.balance_cents = 9_999);
    let ws = desired("flink_workspace.a", attrs(&[("name", Value::str("a"))]));
    let mut b = PlanBuilder::default();
    b.add(Op::Check, Some(balance_check()), None)
        .add(Op::Create, Some(ws), None)
        .edge("account_balance.main", "flink_workspace.a");
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "account_balance.main"), NodeStatus::Failed(m) if m.contains("99.99 USD available, less than the 100.00"))
    );
    assert_eq!(
        status(&r.report, "flink_workspace.a"),
        &NodeStatus::Skipped {
            because: addr("account_balance.main")
        }
    );
    assert!(fake.with(|c| c.calls.is_empty()), "no order was placed");

    fake.with(|c| c.balance_cents = 10_000);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert!(
        !r.state
            .resources
            .contains_key(&addr("account_balance.main")),
        "a check is never stored"
    );
}

/// The re-check applies the minimum of the currency the account reports (the planner's
/// rule, `money::payg_minimum_cents`): CNY 700.00 on the China site.
#[tokio::test(start_paused = true)]
async fn a_cny_balance_is_rechecked_against_the_cny_minimum() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| {
        c.currency = "CNY".to_owned();
        c.balance_cents = 50_000;
    });
    let ws = desired("flink_workspace.a", attrs(&[("name", Value::str("a"))]));
    let mut b = PlanBuilder::default();
    b.add(Op::Check, Some(balance_check()), None)
        .add(Op::Create, Some(ws), None)
        .edge("account_balance.main", "flink_workspace.a");
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "account_balance.main"), NodeStatus::Failed(m) if m.contains("500.00 CNY available, less than the 700.00 CNY required")),
        "{:?}",
        r.report
    );
    assert!(fake.with(|c| c.calls.is_empty()), "no order was placed");

    fake.with(|c| c.balance_cents = 80_000);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);

    fake.with(|c| c.currency = "EUR".to_owned());
    let mut b = PlanBuilder::default();
    b.add(Op::Check, Some(balance_check()), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "account_balance.main"), NodeStatus::Failed(m) if m.contains("no pay-as-you-go minimum in `EUR`")),
        "{:?}",
        r.report
    );
}

#[tokio::test(start_paused = true)]
async fn create_conflict_adopts_the_existing_resource() {
    let (fake, mut sink) = setup(State::new());
    fake.seed("oss_bucket.b1", "b1", attrs(&[("name", Value::str("b1"))]));
    fake.with(|c| {
        c.conflict_create.insert(addr("oss_bucket.b1"));
    });
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(bucket(1)), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert_eq!(
        r.state.resources[&addr("oss_bucket.b1")].cloud_id.as_str(),
        "b1"
    );
    assert_eq!(fake.with(|c| c.resources.len()), 1);
    assert!(r.state.journal.is_empty());

    // A conflict with nothing to find fails, and ends the intent.
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| {
        c.conflict_create.insert(addr("oss_bucket.b1"));
    });
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "oss_bucket.b1"), NodeStatus::Failed(m) if m.contains("AlreadyExists"))
    );
    assert!(r.state.journal.is_empty());
}

#[tokio::test(start_paused = true)]
async fn resource_that_fails_in_the_cloud_is_recorded_and_fails_the_node() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| {
        c.fail_ready.insert(addr("vpc.a"));
    });
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "vpc.a"), NodeStatus::Failed(m) if m.contains("quota exhausted"))
    );
    assert!(matches!(
        status(&r.report, "vswitch.a[0]"),
        NodeStatus::Skipped { .. }
    ));
    assert!(
        r.state.resources.contains_key(&addr("vpc.a")),
        "nothing is orphaned"
    );
}

#[tokio::test(start_paused = true)]
async fn read_adopt_forget_and_noop() {
    let mut state = State::new();
    state.record(recorded(
        "oss_bucket.old",
        "old",
        attrs(&[("name", Value::str("old"))]),
    ));
    let (fake, mut sink) = setup(state);
    fake.seed(
        "vpc.shared",
        "vpc-77",
        attrs(&[("cidr", Value::str("10.7.0.0/16"))]),
    );
    let mut data = desired("vpc.shared", attrs(&[("id", Value::str("vpc-77"))]));
    data.mode = Mode::Data;
    let mut b = PlanBuilder::default();
    b.add(Op::Read, Some(data), None)
        .add_full(Op::Adopt, Some(bucket(5)), None, Some("b5"), Vec::new())
        .add(
            Op::Forget,
            None,
            Some(recorded("oss_bucket.old", "old", Attrs::new())),
        )
        .add_full(Op::NoOp, Some(bucket(6)), None, Some("b6"), Vec::new());
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    let shared = &r.state.resources[&addr("vpc.shared")];
    assert_eq!(shared.mode, Mode::Data);
    assert_eq!(shared.attrs["cidr"], Value::str("10.7.0.0/16"));
    assert_eq!(
        r.state.resources[&addr("oss_bucket.b5")].cloud_id.as_str(),
        "b5"
    );
    assert!(!r.state.resources.contains_key(&addr("oss_bucket.old")));
    assert!(
        !r.state.resources.contains_key(&addr("oss_bucket.b6")),
        "a no-op records nothing"
    );
    assert!(
        fake.with(|c| c.calls.is_empty()),
        "none of these mutate the cloud"
    );
    assert!(r.events.contains(&Event::Finished {
        addr: addr("oss_bucket.b6"),
        op: Op::NoOp,
        cloud_id: Some(CloudId::new("b6").unwrap())
    }));

    // Reading an id that does not exist fails.
    let mut missing = desired("vpc.nope", attrs(&[("id", Value::str("vpc-404"))]));
    missing.mode = Mode::Data;
    let mut b = PlanBuilder::default();
    b.add(Op::Read, Some(missing), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "vpc.nope"), NodeStatus::Failed(m) if m.contains("vpc-404"))
    );
}

#[tokio::test(start_paused = true)]
async fn unresolvable_reference_fails_clearly() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vswitch("x")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "vswitch.x[0]"), NodeStatus::Failed(m) if m.contains("refers to the id of `vpc.x`")),
        "{:?}",
        r.report
    );
    assert_eq!(r.report.api_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn state_write_failure_stops_further_actions() {
    let (fake, mut sink) = setup(State::new());
    sink.fail_after = Some(0);
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(matches!(status(&r.report, "vpc.a"), NodeStatus::Failed(m) if m.contains("disk full")));
    assert!(matches!(
        status(&r.report, "vswitch.a[0]"),
        NodeStatus::Skipped { .. }
    ));
    assert!(
        fake.with(|c| c.calls.is_empty()),
        "no call without a durable intent"
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_plans_fail_instead_of_hanging() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(bucket(1)), None)
        .add(Op::Create, Some(bucket(2)), None)
        .edge("oss_bucket.b1", "oss_bucket.b2")
        .edge("oss_bucket.b2", "oss_bucket.b1")
        .add(Op::Create, Some(bucket(3)), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(2)).await;
    assert!(
        matches!(status(&r.report, "oss_bucket.b1"), NodeStatus::Failed(m) if m.contains("cycle"))
    );
    assert!(
        matches!(status(&r.report, "oss_bucket.b2"), NodeStatus::Failed(m) if m.contains("cycle"))
    );
    assert_eq!(status(&r.report, "oss_bucket.b3"), &NodeStatus::Done);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_spaces_calls_per_api() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    for i in 0..12 {
        b.add(Op::Create, Some(bucket(i)), None);
    }
    let o = ApplyOptions {
        rate_limits: flinkform_apply::RateLimits::uniform(2.0),
        ..opts(10)
    };
    let start = tokio::time::Instant::now();
    let r = run(&b.plan, &fake, &mut sink, &o).await;
    assert!(r.report.succeeded());
    // A bucket of 2 tokens at 2/s: the 10 calls beyond the first 2 take about 5 s.
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took <= Duration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn writes_through_the_locked_local_backend_and_a_noop_apply_keeps_the_serial() {
    use flinkform_state::{LocalBackend, StateSink as _};

    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::open(dir.path());
    let view = Arc::new(std::sync::Mutex::new(State::new()));
    let fake = Arc::new(FakeProvider::new(view));
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);

    let mut sink = backend.lock("apply").unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let report = apply(&b.plan, fake.clone(), &mut sink, &opts(2), tx).await;
    assert!(report.succeeded(), "{report:?}");
    let after = sink.state().clone();
    drop(sink);
    let on_disk = backend.read().unwrap();
    assert_eq!(on_disk, after);
    assert_eq!(on_disk.resources.len(), 2);
    assert!(on_disk.journal.is_empty());
    assert!(
        on_disk.serial >= 4,
        "intent and outcome of each create were written"
    );

    // The same resources again, as no-ops: nothing is written.
    let mut noop = PlanBuilder::default();
    for a in ["vpc.a", "vswitch.a[0]"] {
        let rec = on_disk.resources[&addr(a)].clone();
        noop.add_full(
            Op::NoOp,
            None,
            Some(rec.clone()),
            Some(rec.cloud_id.as_str()),
            Vec::new(),
        );
    }
    let mut sink = backend.lock("apply").unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let report = apply(&noop.plan, fake, &mut sink, &opts(2), tx).await;
    assert!(report.succeeded());
    drop(sink);
    assert_eq!(backend.read().unwrap().serial, on_disk.serial);
}

#[tokio::test(start_paused = true)]
async fn adopt_records_protect_changes_and_clears_dangling_intents() {
    let mut state = State::new();
    let prior = recorded(
        "oss_bucket.p",
        "p",
        attrs(&[
            ("name", Value::str("p")),
            ("status_from_cloud", Value::str("seen")),
        ]),
    );
    state.record(prior.clone());
    // An intent left by a run that was killed after its create call.
    state.begin_intent(
        addr("oss_bucket.p"),
        flinkform_state::IntentOp::Create,
        "ff-old".into(),
        Attrs::new(),
    );
    let (fake, mut sink) = setup(state);
    let mut d = desired("oss_bucket.p", attrs(&[("name", Value::str("p"))]));
    d.protect = true;
    let mut b = PlanBuilder::default();
    b.add(Op::Adopt, Some(d), Some(prior));
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    let rec = &r.state.resources[&addr("oss_bucket.p")];
    assert!(rec.protect);
    assert_eq!(rec.cloud_id.as_str(), "p");
    assert_eq!(
        rec.attrs["status_from_cloud"],
        Value::str("seen"),
        "attributes the cloud reported are kept"
    );
    assert!(r.state.journal.is_empty());
    assert_eq!(r.report.api_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn large_tree_runs_every_action_after_its_dependencies() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    let n = 500;
    for i in 0..n {
        let mut d = bucket(i);
        if i > 0 {
            d.depends_on
                .insert(addr(&format!("oss_bucket.b{}", (i - 1) / 2)));
        }
        b.add(Op::Create, Some(d), None);
    }
    let r = run(&b.plan, &fake, &mut sink, &opts(8)).await;
    assert!(r.report.succeeded());
    assert_eq!(r.report.results.len(), n);
    let calls = fake.with(|c| c.calls.clone());
    let position = |i: usize| {
        calls
            .iter()
            .position(|c| *c == format!("create oss_bucket.b{i}"))
            .unwrap()
    };
    for i in 1..n {
        assert!(
            position((i - 1) / 2) < position(i),
            "b{i} ran before its parent"
        );
    }
    assert!(fake.max_in_flight() <= 8);
    assert!(fake.with(|c| c.intent_violations.clone()).is_empty());
    assert!(
        sink.commits < 2 * n,
        "queued changes share writes: {} commits",
        sink.commits
    );
}

/// A gate without its input waits: it is recorded in state as waiting, what depends on it is
/// skipped, an independent branch finishes. With `inputs`, the next run passes it through the
/// provider (which gets the value) and records it without the value.
#[tokio::test(start_paused = true)]
async fn a_gate_waits_then_passes_with_its_input() {
    let (fake, mut sink) = setup(State::new());
    let gate = desired(
        "gate.verify-email.s",
        attrs(&[
            ("instructions", Value::str("Enter the code.")),
            ("step", Value::str("verify-email")),
            ("target", Value::reference(addr("vpc.a"))),
        ]),
    );
    let mut after = vswitch("a");
    after.depends_on.insert(addr("gate.verify-email.s"));
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Gate, Some(gate.clone()), None)
        .add(Op::Create, Some(after.clone()), None)
        .add(Op::Create, Some(vpc("b")), None);
    let r = run(&b.plan, &fake, &mut sink, &opts(4)).await;
    assert!(
        matches!(status(&r.report, "gate.verify-email.s"), NodeStatus::Waiting { instructions } if instructions == "Enter the code.")
    );
    assert_eq!(
        status(&r.report, "vswitch.a[0]"),
        &NodeStatus::Skipped {
            because: addr("gate.verify-email.s")
        }
    );
    assert_eq!(status(&r.report, "vpc.b"), &NodeStatus::Done);
    assert_eq!(r.report.waiting().len(), 1);
    let waiting = &r.state.gates["verify-email.s"];
    assert_eq!(waiting.addr, addr("gate.verify-email.s"));
    assert!(!r.state.resources.contains_key(&addr("gate.verify-email.s")));

    // Second run: only the gate and what follows, with the input.
    let mut b = PlanBuilder::default();
    b.add(Op::NoOp, Some(vpc("a")), None)
        .add(Op::Gate, Some(gate), None)
        .add(Op::Create, Some(after), None);
    let mut o = opts(4);
    o.inputs.insert("verify-email.s".into(), "123456".into());
    let r = run(&b.plan, &fake, &mut sink, &o).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert!(r.state.gates.is_empty());
    let passed = &r.state.resources[&addr("gate.verify-email.s")];
    assert!(
        !passed.attrs.contains_key("input"),
        "the value is never recorded"
    );
    let seen = fake.with(|c| {
        c.resources
            .values()
            .find(|x| x.addr == addr("gate.verify-email.s"))
            .map(|x| x.attrs.get("input").cloned())
    });
    assert_eq!(
        seen,
        Some(Some(Value::str("123456"))),
        "the provider got the value"
    );
}

/// An apply killed after the provider passed a gate but before it recorded that leaves the
/// gate waiting in state; the next plan adopts the gate (the cloud says it is passed), and
/// recording it clears the waiting entry.
#[tokio::test(start_paused = true)]
async fn adopting_a_passed_gate_clears_its_waiting_entry() {
    let mut state = State::new();
    state.gates.insert(
        "verify-email.s".into(),
        flinkform_state::WaitingGate {
            addr: addr("gate.verify-email.s"),
            instructions: "Enter the code.".into(),
            since: "2026-01-01T00:00:00Z".into(),
        },
    );
    let (fake, mut sink) = setup(state);
    let gate = desired(
        "gate.verify-email.s",
        attrs(&[
            ("instructions", Value::str("Enter the code.")),
            ("step", Value::str("verify-email")),
        ]),
    );
    let mut b = PlanBuilder::default();
    b.add_full(Op::Adopt, Some(gate), None, Some("verified-s"), Vec::new());
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    assert!(r.state.gates.is_empty(), "{:?}", r.state.gates);
    assert_eq!(
        r.state.resources[&addr("gate.verify-email.s")]
            .cloud_id
            .as_str(),
        "verified-s"
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_whose_answer_was_lost_is_read_back_not_repeated() {
    let mut state = State::new();
    let old = recorded("vpc.a", "vpc-1", attrs(&[("name", Value::str("a"))]));
    state.record(old.clone());
    let (fake, mut sink) = setup(state);
    fake.seed("vpc.a", "vpc-1", old.attrs.clone());
    fake.with(|c| c.lose_update_answers = 1);
    let diff = AttrDiff {
        name: "name".into(),
        before: Some(Value::str("a")),
        after: After::Known(Value::str("b")),
        forces_replacement: false,
    };
    let mut desired = vpc("a");
    desired.attrs.insert("name".into(), Value::str("b"));
    let mut b = PlanBuilder::default();
    b.add_full(
        Op::Update,
        Some(desired),
        Some(old),
        Some("vpc-1"),
        vec![diff],
    );
    let r = run(&b.plan, &fake, &mut sink, &opts(1)).await;
    assert!(r.report.succeeded(), "{:?}", r.report);
    // One update call: the retry read the resource back, saw the change, and stopped.
    let updates: Vec<String> = fake.with(|c| c.calls.clone());
    assert_eq!(updates, [r#"update vpc.a ["name"]"#]);
    assert_eq!(r.report.retries, 1);
    assert_eq!(
        r.state.resources[&addr("vpc.a")].attrs["name"],
        Value::str("b")
    );
    assert!(r.state.journal.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_apply_starts_nothing() {
    let (fake, mut sink) = setup(State::new());
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);
    let o = opts(2);
    o.cancel.cancel();
    let r = run(&b.plan, &fake, &mut sink, &o).await;
    assert!(r.report.interrupted);
    assert_eq!(status(&r.report, "vpc.a"), &NodeStatus::Interrupted);
    assert_eq!(status(&r.report, "vswitch.a[0]"), &NodeStatus::Interrupted);
    assert_eq!(r.report.api_calls, 0);
    assert!(r.state.resources.is_empty());
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_a_wait_stops_at_the_next_poll_with_the_creation_recorded() {
    let (fake, mut sink) = setup(State::new());
    fake.with(|c| c.reads_until_ready = 1_000);
    let mut b = PlanBuilder::default();
    b.add(Op::Create, Some(vpc("a")), None)
        .add(Op::Create, Some(vswitch("a")), None);
    let o = opts(2);
    let cancel = o.cancel.clone();
    let (r, ()) = tokio::join!(run(&b.plan, &fake, &mut sink, &o), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel();
    });
    assert!(r.report.interrupted);
    // The VPC was created and recorded; its wait stopped; the vSwitch never started.
    assert_eq!(status(&r.report, "vpc.a"), &NodeStatus::Interrupted);
    assert_eq!(status(&r.report, "vswitch.a[0]"), &NodeStatus::Interrupted);
    assert!(r.state.resources.contains_key(&addr("vpc.a")));
    assert!(!r.state.resources.contains_key(&addr("vswitch.a[0]")));
    assert!(
        r.state.journal.is_empty(),
        "the create's outcome is recorded"
    );
    assert!(
        r.report.results[&addr("vpc.a")].api_calls < 1_000,
        "it stopped polling"
    );
}
