//! An in-memory cloud honouring the `Provider` trait, with injectable faults, and a state
//! sink whose content the fake cloud can inspect at call time.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use flinkform_core::{
    AccountFacts, AccountName, AccountUid, Address, Attrs, Balance, ChangeRequest, CloudId,
    DeleteRequest, Mode, Observation, ObserveRequest, Observed, ObservedResource, Outcome,
    Provider, ProviderError, ProviderErrorKind, Readiness, Region, Value, kind_spec,
};
use flinkform_state::{IntentOp, State, StateSink};

/// One resource of the fake cloud.
#[derive(Debug, Clone)]
pub struct FakeRes {
    pub addr: Address,
    pub attrs: Attrs,
    /// Reads left before a pending resource becomes ready.
    pub reads_left: u32,
    /// `Some(n)`: being deleted, gone after `n` more reads.
    pub deleting: Option<u32>,
    /// Becomes `Failed` instead of `Ready`.
    pub fails: bool,
}

/// The mutable part of the fake cloud.
#[derive(Debug, Default)]
pub struct Cloud {
    pub next_id: u64,
    pub resources: BTreeMap<CloudId, FakeRes>,
    pub tokens: BTreeMap<String, CloudId>,
    /// Creates of these addresses fail permanently.
    pub fail_create: BTreeSet<Address>,
    /// The next N calls are throttled.
    pub throttle_next: u32,
    /// The next N calls fail with a transient error.
    pub transient_next: u32,
    /// The answers of the next N updates are lost after the change was made (a 503 after
    /// commit).
    pub lose_update_answers: u32,
    /// Creates of these addresses answer `Conflict` (the resource exists, found by name).
    pub conflict_create: BTreeSet<Address>,
    /// Created resources of these addresses end up `Failed`.
    pub fail_ready: BTreeSet<Address>,
    /// Reads a pending (async) resource needs before it is ready.
    pub reads_until_ready: u32,
    /// Most resources pending at once.
    pub max_pending: usize,
    /// Log of mutating calls: `create vpc.a`, `delete vpc-1`, `update vpc.a`.
    pub calls: Vec<String>,
    /// Mutating calls made without a matching intent in state.
    pub intent_violations: Vec<String>,
    /// Available balance of every account.
    pub balance_cents: i64,
    /// The currency the balance is in (`USD` unless a test changes it).
    pub currency: String,
}

/// The fake cloud.
pub struct FakeProvider {
    pub cloud: Mutex<Cloud>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// The state as the executor last committed it.
    pub state_view: Arc<Mutex<State>>,
}

impl FakeProvider {
    pub fn new(state_view: Arc<Mutex<State>>) -> Self {
        Self {
            cloud: Mutex::new(Cloud {
                reads_until_ready: 3,
                balance_cents: 50_000,
                currency: "USD".to_owned(),
                ..Cloud::default()
            }),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            state_view,
        }
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Cloud) -> T) -> T {
        f(&mut self.cloud.lock().unwrap())
    }

    /// Puts a ready resource into the cloud.
    pub fn seed(&self, addr: &str, id: &str, attrs: Attrs) {
        self.with(|c| {
            c.resources.insert(
                CloudId::new(id).unwrap(),
                FakeRes {
                    addr: addr.parse().unwrap(),
                    attrs,
                    reads_left: 0,
                    deleting: None,
                    fails: false,
                },
            );
        });
    }

    /// Counts the call as in flight for 1 ms of (paused) time, then applies injected faults.
    async fn enter(&self, action: &str) -> Result<InFlight<'_>, ProviderError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.with(|c| {
            if c.throttle_next > 0 {
                c.throttle_next -= 1;
                return Err(err(
                    ProviderErrorKind::Throttling,
                    action,
                    "Throttling.User",
                ));
            }
            if c.transient_next > 0 {
                c.transient_next -= 1;
                return Err(err(
                    ProviderErrorKind::Transient,
                    action,
                    "ServiceUnavailable",
                ));
            }
            Ok(())
        })?;
        Ok(guard)
    }

    /// Checks that the call was announced, and that its intent records the token the call
    /// sends where the API takes one, and no token where it does not.
    fn check_intent(&self, addr: &Address, op: IntentOp, token: Option<&str>) {
        let takes_token = op == IntentOp::Create && kind_spec(addr.kind()).client_token;
        let token = token.map(|t| if takes_token { t } else { "" });
        let state = self.state_view.lock().unwrap();
        let ok = state
            .journal
            .iter()
            .any(|i| &i.addr == addr && i.op == op && token.is_none_or(|t| t == i.client_token));
        if !ok {
            self.with(|c| {
                c.intent_violations
                    .push(format!("{op} {addr} without an intent"))
            });
        }
    }
}

pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn err(kind: ProviderErrorKind, action: &str, code: &str) -> ProviderError {
    ProviderError {
        kind,
        action: action.to_owned(),
        code: Some(code.to_owned()),
        message: format!("injected {code}"),
        request_id: Some("req-1".to_owned()),
    }
}

fn observe_one(r: &FakeRes, id: &CloudId) -> Observation {
    let readiness = if r.deleting.is_some() {
        Readiness::Deleting
    } else if r.reads_left > 0 {
        Readiness::Pending
    } else if r.fails {
        Readiness::Failed("quota exhausted".to_owned())
    } else {
        Readiness::Ready
    };
    Observation::Found(ObservedResource::new(
        r.addr.kind(),
        id.clone(),
        r.attrs.clone(),
        readiness,
    ))
}

#[async_trait]
impl Provider for FakeProvider {
    async fn whoami(&self, _account: &AccountName) -> Result<AccountUid, ProviderError> {
        Ok(AccountUid::new("5123456789012345").unwrap())
    }

    async fn observe(&self, req: &ObserveRequest<'_>) -> Result<Observed, ProviderError> {
        let _g = self.enter("Describe").await?;
        Ok(self.with(|c| {
            let mut out = Observed {
                api_calls: 1,
                ..Observed::default()
            };
            for d in &req.desired {
                let found = c
                    .resources
                    .iter()
                    .find(|(_, r)| r.addr == d.addr && r.attrs.get("name") == d.attrs.get("name"));
                let obs = found.map_or(Observation::Absent, |(id, r)| observe_one(r, id));
                out.resources.insert(d.addr.clone(), obs);
            }
            for account in req.accounts.keys() {
                out.accounts.insert(
                    account.clone(),
                    AccountFacts {
                        balance: Some(Balance {
                            cents: c.balance_cents,
                            currency: c.currency.clone(),
                        }),
                        ..AccountFacts::default()
                    },
                );
            }
            out
        }))
    }

    async fn read(
        &self,
        _addr: &Address,
        _mode: Mode,
        _account: &AccountName,
        _region: Option<&Region>,
        cloud_id: &CloudId,
    ) -> Result<Observation, ProviderError> {
        let _g = self.enter("Read").await?;
        Ok(self.with(|c| {
            let Some(r) = c.resources.get_mut(cloud_id) else {
                return Observation::Absent;
            };
            if let Some(n) = r.deleting {
                if n <= 1 {
                    c.resources.remove(cloud_id);
                    return Observation::Absent;
                }
                r.deleting = Some(n - 1);
            } else if r.reads_left > 0 {
                r.reads_left -= 1;
            }
            observe_one(r, cloud_id)
        }))
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        self.check_intent(&req.addr, IntentOp::Create, Some(&req.client_token));
        let _g = self.enter("Create").await?;
        self.with(|c| {
            c.calls.push(format!("create {}", req.addr));
            if c.fail_create.contains(&req.addr) {
                return Err(err(
                    ProviderErrorKind::InvalidParameter,
                    "Create",
                    "InvalidParameter",
                ));
            }
            if c.conflict_create.contains(&req.addr) {
                return Err(err(ProviderErrorKind::Conflict, "Create", "AlreadyExists"));
            }
            if let Some(id) = c.tokens.get(&req.client_token) {
                let r = &c.resources[id];
                return Ok(Outcome {
                    cloud_id: id.clone(),
                    attrs: r.attrs.clone(),
                    done: r.reads_left == 0,
                });
            }
            c.next_id += 1;
            let id = CloudId::new(format!("{}-{}", req.addr.kind(), c.next_id)).unwrap();
            let pending = kind_spec(req.addr.kind()).async_create;
            let reads_left = if pending { c.reads_until_ready } else { 0 };
            let mut attrs = req.attrs.clone();
            attrs.insert("status_from_cloud".to_owned(), Value::str("seen"));
            c.resources.insert(
                id.clone(),
                FakeRes {
                    addr: req.addr.clone(),
                    attrs: attrs.clone(),
                    reads_left,
                    deleting: None,
                    fails: c.fail_ready.contains(&req.addr),
                },
            );
            c.tokens.insert(req.client_token.clone(), id.clone());
            let now_pending = c
                .resources
                .values()
                .filter(|r| r.reads_left > 0 && r.deleting.is_none())
                .count();
            c.max_pending = c.max_pending.max(now_pending);
            Ok(Outcome {
                cloud_id: id,
                attrs,
                done: !pending,
            })
        })
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        self.check_intent(&req.addr, IntentOp::Update, Some(&req.client_token));
        let _g = self.enter("Update").await?;
        self.with(|c| {
            c.calls
                .push(format!("update {} {:?}", req.addr, req.changed));
            let prior = req.prior.as_ref().unwrap();
            let Some(r) = c.resources.get_mut(&prior.cloud_id) else {
                return Err(err(ProviderErrorKind::NotFound, "Update", "NotFound"));
            };
            for name in &req.changed {
                if let Some(v) = req.attrs.get(name) {
                    r.attrs.insert(name.clone(), v.clone());
                }
            }
            if c.lose_update_answers > 0 {
                c.lose_update_answers -= 1;
                return Err(err(
                    ProviderErrorKind::Transient,
                    "Update",
                    "ServiceUnavailable",
                ));
            }
            Ok(Outcome {
                cloud_id: prior.cloud_id.clone(),
                attrs: r.attrs.clone(),
                done: true,
            })
        })
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<Outcome, ProviderError> {
        self.check_intent(&req.prior.addr, IntentOp::Delete, None);
        let _g = self.enter("Delete").await?;
        self.with(|c| {
            let id = &req.prior.cloud_id;
            c.calls.push(format!("delete {id}"));
            let pending = kind_spec(req.prior.addr.kind()).async_create;
            let Some(r) = c.resources.get_mut(id) else {
                return Err(err(ProviderErrorKind::NotFound, "Delete", "NotFound"));
            };
            if pending {
                r.deleting = Some(2);
            } else {
                c.resources.remove(id);
            }
            Ok(Outcome {
                cloud_id: id.clone(),
                attrs: Attrs::new(),
                done: !pending,
            })
        })
    }
}

/// A state sink in memory that mirrors every commit into a handle the fake cloud reads.
pub struct SharedSink {
    pub state: State,
    pub view: Arc<Mutex<State>>,
    pub commits: usize,
    /// Commits after this many fail.
    pub fail_after: Option<usize>,
}

impl SharedSink {
    pub fn new(state: State) -> Self {
        let view = Arc::new(Mutex::new(state.clone()));
        Self {
            state,
            view,
            commits: 0,
            fail_after: None,
        }
    }
}

#[async_trait::async_trait]
impl StateSink for SharedSink {
    fn state(&self) -> &State {
        &self.state
    }

    async fn commit(
        &mut self,
        changes: Vec<flinkform_state::Change>,
    ) -> flinkform_state::Result<()> {
        if self.fail_after.is_some_and(|n| self.commits >= n) {
            return Err(flinkform_state::Error::Io {
                action: "write",
                path: "state.json".into(),
                source: std::io::Error::other("disk full"),
            });
        }
        self.state.apply_all(&changes);
        self.commits += 1;
        *self.view.lock().unwrap() = self.state.clone();
        Ok(())
    }
}
