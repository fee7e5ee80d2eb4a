//! `quote_prices`: what the plan orders is priced by the provider, at most one quote per
//! action, a failed quote is a warning and nothing else of the plan changes.

#![allow(clippy::unwrap_used)] // helpers of a test file

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use flinkform_apply::quote_prices;
use flinkform_core::{
    AccountName, AccountUid, Address, Attrs, ChangeRequest, CloudId, DeleteRequest,
    DesiredResource, Mode, Money, Observation, ObserveRequest, Observed, Outcome, Price, Provider,
    ProviderError, ProviderErrorKind, RecordedResource, Region, Value,
};
use flinkform_plan::{ActionId, After, AttrDiff, Op, Plan, PlannedAction};

/// Prices every workspace at USD 100 per CU (its `cu`, or the change from `current`'s),
/// fails for the workspace named `broken`, and records what it was asked.
#[derive(Default)]
struct Quoter {
    asked: Mutex<Vec<(Address, Option<Attrs>)>>,
}

fn no(action: &str) -> ProviderError {
    ProviderError {
        kind: ProviderErrorKind::Fatal,
        action: action.to_owned(),
        code: None,
        message: "not in this test".to_owned(),
        request_id: None,
    }
}

#[async_trait]
impl Provider for Quoter {
    async fn whoami(&self, _: &AccountName) -> Result<AccountUid, ProviderError> {
        Err(no("whoami"))
    }
    async fn observe(&self, _: &ObserveRequest<'_>) -> Result<Observed, ProviderError> {
        Err(no("observe"))
    }
    async fn read(
        &self,
        _: &Address,
        _: Mode,
        _: &AccountName,
        _: Option<&Region>,
        _: &CloudId,
    ) -> Result<Observation, ProviderError> {
        Err(no("read"))
    }
    async fn create(&self, _: &ChangeRequest) -> Result<Outcome, ProviderError> {
        Err(no("create"))
    }
    async fn update(&self, _: &ChangeRequest) -> Result<Outcome, ProviderError> {
        Err(no("update"))
    }
    async fn delete(&self, _: &DeleteRequest) -> Result<Outcome, ProviderError> {
        Err(no("delete"))
    }
    async fn quote(
        &self,
        d: &DesiredResource,
        current: Option<&Attrs>,
    ) -> Result<Option<Price>, ProviderError> {
        self.asked
            .lock()
            .unwrap()
            .push((d.addr.clone(), current.cloned()));
        if d.addr.name() == "broken" {
            return Err(ProviderError {
                kind: ProviderErrorKind::Transient,
                action: "QueryCreateInstancePrice".into(),
                code: Some("ServiceUnavailable".into()),
                message: "try later".into(),
                request_id: None,
            });
        }
        let cu = |a: &Attrs| a.get("cu").and_then(Value::as_int).unwrap_or(0);
        let delta = cu(&d.attrs) - current.map_or(0, cu);
        let usd = Money {
            cents: delta * 10_000,
            currency: "USD".into(),
        };
        Ok(Some(Price::subscription(usd.clone(), usd, 1)))
    }
}

fn action(id: u32, name: &str, op: Op, cu: i64) -> PlannedAction {
    let addr: Address = format!("flink_workspace.{name}").parse().unwrap();
    let attrs: Attrs = [("cu".to_owned(), Value::Int(cu))].into_iter().collect();
    let account = AccountName::new("main").unwrap();
    let desired = (op != Op::Delete).then(|| DesiredResource {
        addr: addr.clone(),
        mode: Mode::Managed,
        account: account.clone(),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        attrs: attrs.clone(),
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    });
    let prior = matches!(op, Op::Update | Op::Delete).then(|| RecordedResource {
        addr: addr.clone(),
        mode: Mode::Managed,
        account,
        region: Some(Region::new("ap-southeast-1").unwrap()),
        cloud_id: CloudId::new(format!("f-{name}")).unwrap(),
        attrs: [("cu".to_owned(), Value::Int(1))].into_iter().collect(),
        depends_on: BTreeSet::new(),
        protect: false,
    });
    PlannedAction {
        id: ActionId(id),
        addr,
        mode: Some(Mode::Managed),
        account: Some(AccountName::new("main").unwrap()),
        region: Some(Region::new("ap-southeast-1").unwrap()),
        op,
        reasons: Vec::new(),
        diffs: Vec::new(),
        desired,
        prior,
        cloud_id: None,
        objects: None,
        price: None,
        wait_ready: false,
    }
}

#[tokio::test]
async fn orders_are_priced_once_and_a_failed_quote_is_a_warning() {
    let mut update = action(2, "grow", Op::Update, 16);
    // The cloud has 12 CU (the state remembers 1): the change is priced from what is there.
    update.diffs.push(AttrDiff {
        name: "cu".into(),
        before: Some(Value::Int(12)),
        after: After::Known(Value::Int(16)),
        forces_replacement: false,
    });
    let mut plan = Plan {
        actions: vec![
            action(0, "new", Op::Create, 8),
            action(1, "broken", Op::Create, 4),
            update,
            action(3, "gone", Op::Delete, 0),
            action(4, "same", Op::NoOp, 2),
        ],
        ..Plan::default()
    };
    let before = plan.clone();
    let quoter = Quoter::default();
    let read = quote_prices(&quoter, &mut plan).await;
    assert_eq!(read, 3);
    let calls = quoter.asked.lock().unwrap().clone();
    let per_address: BTreeMap<String, usize> = calls.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.0.to_string()).or_default() += 1;
        m
    });
    assert_eq!(
        per_address,
        BTreeMap::from([
            ("flink_workspace.broken".to_owned(), 1),
            ("flink_workspace.grow".to_owned(), 1),
            ("flink_workspace.new".to_owned(), 1),
        ])
    );
    let grow = calls.iter().find(|c| c.0.name() == "grow").unwrap();
    assert_eq!(
        grow.1.as_ref().and_then(|a| a.get("cu")),
        Some(&Value::Int(12))
    );
    let monthly = |i: usize| {
        plan.actions[i]
            .price
            .as_ref()
            .and_then(|p| p.monthly.clone())
    };
    assert_eq!(monthly(0).map(|m| m.cents), Some(80_000));
    assert_eq!(monthly(1), None);
    assert_eq!(monthly(2).map(|m| m.cents), Some(40_000));
    assert_eq!(
        plan.monthly_change(),
        vec![Money {
            cents: 120_000,
            currency: "USD".into()
        }]
    );
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("the price of `flink_workspace.broken` is unknown"),
        "{:?}",
        plan.warnings
    );
    // Nothing else changed.
    let mut stripped = plan.clone();
    for a in &mut stripped.actions {
        a.price = None;
    }
    stripped.warnings.clear();
    assert_eq!(stripped, before);
}
