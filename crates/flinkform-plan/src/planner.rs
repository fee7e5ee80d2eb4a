//! The planner: desired + recorded + observed → a [`Plan`], a DAG of actions with reasons,
//! attribute diffs, drift, kept resources and warnings. Pure and deterministic.
//!
//! How each address is decided:
//! - desired, observed absent: create (again, with a reason, when the state remembers it);
//! - desired, observed (or, when the cloud cannot be asked, recorded): catalog attributes
//!   that are not `create_only` are diffed (references resolved to ids; an attribute the
//!   cloud does not report and the state does not remember is not diffed); an immutable
//!   difference replaces, an in-place one updates, none is a no-op (or an adoption when the
//!   state does not know the resource, or when only `protect` changed);
//! - data resources (`{ id: … }`) are read, and must exist;
//! - the account balance is always a check;
//! - recorded, not desired: deleted, or forgotten when it cannot or must not be deleted
//!   (see [`plan_destroy`] for the rules, which removals from the specs share).
//!
//! Preconditions are checked only for workspaces this plan orders (creates or replaces):
//! the region must be offered by the account's site (when the refresh could tell), the zone
//! offered in the region (when known), and, for pay-as-you-go, the available balance at
//! least `flinkform_core::money::payg_minimum_cents` of the account's currency (USD 100.00,
//! CNY 700.00). A low balance does not fail plans that order nothing. A workspace that is
//! ordered or moved into the resource group its spec names needs that group to exist in
//! the account (when the refresh read the account's groups).
//!
//! A resource found in the cloud by its identity but missing from state is adopted when it
//! matches the specs; when it must change, the update or replacement carries a `prior` built
//! from the observation (the state has none), so the executor can act on what the cloud has.
//!
//! Protection: a replacement is refused when the *spec* protects the resource (so that
//! setting `protect: false` and applying works in one step); a deletion is refused when the
//! *state* protects it (the spec no longer has it). Replacements forced only because a
//! dependency is replaced need no flag of their own.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::money::{format_cents as cents, payg_minimum_cents};
use flinkform_core::{
    Address, Attrs, CloudId, Deletion, DesiredResource, Mode, Observation, Observed,
    ObservedResource, Owner, Readiness, RecordedResource, ResourceKind, Value, attr, kind_spec,
    updates_together,
};
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use sha2::{Digest, Sha256};

use crate::error::{Error, PlanErrors, at};
use crate::expand::Desired;
use crate::model::{ActionId, After, AttrDiff, Drift, DriftKind, Op, Plan, PlannedAction};

/// Reason given for resources `destroy` keeps because the spec protects them.
pub const KEPT_PROTECTED: &str = "protected (protect: true)";
/// Reason given for the OSS activation.
pub const KEPT_NEVER: &str = "OSS activation cannot be undone";
/// Reason given for the RAM role.
pub const KEPT_SHARED: &str = "shared by every workspace of the account";
/// Reason given for subscription workspaces.
pub const KEPT_SUBSCRIPTION: &str = "subscription workspaces cannot be released through the API; they end with their term (turn off autoRenew)";
/// Reason given for Marketplace orders.
pub const KEPT_ORDER: &str = "an order cannot be undone by API; the instance is released when it expires or is unsubscribed in the Marketplace console";
/// Reason given for Billing Center accounts.
pub const KEPT_BILLING_ACCOUNT: &str = "a Billing Center account is never closed by flinkform; close it at the vendor if it is no longer needed";
/// Reason given for passed gates.
pub const GATE_FORGET: &str = "a gate is a step of apply, not a resource in the cloud";
/// Reason given for resources the specs reference by id.
pub const KEPT_DATA: &str = "referenced by id in the specs; flinkform never deletes it";

/// Flags that allow destructive actions on protected resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--allow-replace ADDRESS`: protected resources that may be replaced.
    pub allow_replace: BTreeSet<Address>,
    /// `--allow-destroy ADDRESS`: protected resources that may be deleted.
    pub allow_destroy: BTreeSet<Address>,
    /// Every protected resource may be replaced or deleted.
    pub force_all: bool,
    /// `--allow-destroy ADDRESS=N`: the object count the user confirmed for a bucket that
    /// holds objects (deleting it deletes them).
    pub confirmed_objects: BTreeMap<Address, u64>,
    /// Addresses this state's intent journal names (an apply died between a mutating call
    /// and its state write): a resource found there is this stack's even without a mark.
    pub claimed: BTreeSet<Address>,
}

impl PlanOptions {
    fn may_replace(&self, addr: &Address) -> bool {
        self.force_all || self.allow_replace.contains(addr)
    }
    fn may_destroy(&self, addr: &Address) -> bool {
        self.force_all || self.allow_destroy.contains(addr)
    }
}

/// Plans the changes that make the cloud match `desired`.
///
/// # Errors
/// Every failed precondition (region, zone, balance, missing resources referenced by id),
/// every refused destruction of a protected resource, and dependency cycles, all at once.
pub fn plan(
    desired: &Desired,
    recorded: &BTreeMap<Address, RecordedResource>,
    observed: &Observed,
    opts: &PlanOptions,
) -> Result<Plan, PlanErrors> {
    let mut cx = Ctx::new(Some(desired), recorded, observed, opts);

    // Decide desired resources dependencies first, so that references know whether their
    // target gets a new id.
    let addrs: Vec<&Address> = desired.resources.keys().collect();
    let pos: BTreeMap<&Address, usize> = addrs.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    let mut edges = BTreeSet::new();
    for (i, d) in desired.resources.values().enumerate() {
        for dep in &d.depends_on {
            match pos.get(dep) {
                Some(&j) => {
                    edges.insert((j, i));
                }
                None => cx.errors.push(Error::UnknownDependency {
                    addr: d.addr.to_string(),
                    missing: dep.to_string(),
                }),
            }
        }
    }
    let order = match topo(addrs.len(), &edges) {
        Ok(order) => order,
        Err(cycles) => {
            for c in cycles {
                cx.errors.push(cycle_error(c.iter().map(|&i| addrs[i])));
            }
            return Err(PlanErrors { errors: cx.errors });
        }
    };
    for i in order {
        if let Some(d) = desired.resources.get(addrs[i]) {
            cx.decide(d);
        }
    }

    let removed: Vec<&RecordedResource> = recorded
        .values()
        .filter(|r| !desired.resources.contains_key(&r.addr))
        .collect();
    cx.removals(&removed, false);
    cx.preconditions();
    let ops: BTreeMap<&Address, Op> = cx.drafts.iter().map(|(a, d)| (a, d.op)).collect();
    let (errors, warnings) = crate::market::check_before_order(desired, observed, &ops);
    cx.errors.extend(errors);
    cx.warnings.extend(warnings);
    cx.finish()
}

/// Plans the removal of everything `recorded` holds.
///
/// Every recorded resource is deleted, except:
/// - protected ones (unless allowed): no action, they **stay in state**, listed in
///   [`Plan::kept`] as "protected (protect: true)";
/// - the OSS activation (cannot be undone), the RAM role (shared by the account),
///   subscription workspaces (cannot be released through the API) and resources referenced
///   by id: **forgotten** (dropped from state, no API call) and listed as kept;
/// - whatever a kept resource uses (transitively, through the recorded dependencies): kept
///   the same way as its user ("used by …"): staying in state when the user stays,
///   forgotten when the user is forgotten;
/// - a generated default project: forgotten (it goes away with its workspace, or is kept
///   with it);
/// - resources already gone from the cloud: forgotten.
///
/// # Errors
/// Dependency cycles in the recorded state.
pub fn plan_destroy(
    recorded: &BTreeMap<Address, RecordedResource>,
    observed: &Observed,
    opts: &PlanOptions,
) -> Result<Plan, PlanErrors> {
    let mut cx = Ctx::new(None, recorded, observed, opts);
    let all: Vec<&RecordedResource> = recorded.values().collect();
    cx.removals(&all, true);
    cx.finish()
}

/// A deterministic idempotency token for creating `addr` with the fully resolved `attrs`:
/// `ff-` followed by the hex SHA-256 of the address and the canonical JSON of the
/// attributes, 64 ASCII characters in all.
#[must_use]
pub fn client_token(addr: &Address, attrs: &Attrs) -> String {
    // A BTreeMap of plain values always serializes; the fallback keeps this total.
    let json = serde_json::to_string(attrs).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(addr.to_string().as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    let mut token = format!("ff-{}", hex::encode(h.finalize()));
    token.truncate(64);
    token
}

/// An action before it has its final id.
struct Draft {
    op: Op,
    reasons: Vec<String>,
    diffs: Vec<AttrDiff>,
    desired: Option<DesiredResource>,
    prior: Option<RecordedResource>,
    cloud_id: Option<CloudId>,
    /// For a bucket deletion: the object count the user confirmed.
    objects: Option<u64>,
}

impl Draft {
    /// The action of `addr`, not numbered yet; which resource it is comes from its desired
    /// form, else its record, else (a no-op carries neither) `spec`.
    fn into_action(self, addr: Address, spec: Option<&DesiredResource>) -> PlannedAction {
        let (mode, account, region) = match (&self.desired, &self.prior, spec) {
            (Some(d), _, _) | (None, None, Some(d)) => {
                (Some(d.mode), Some(d.account.clone()), d.region.clone())
            }
            (None, Some(p), _) => (Some(p.mode), Some(p.account.clone()), p.region.clone()),
            (None, None, None) => (None, None, None),
        };
        PlannedAction {
            id: ActionId(0),
            addr,
            mode,
            account,
            region,
            op: self.op,
            reasons: self.reasons,
            diffs: self.diffs,
            desired: self.desired,
            prior: self.prior,
            cloud_id: self.cloud_id,
            objects: self.objects,
            price: None,
            wait_ready: false,
        }
    }
}

/// What happens to a recorded resource that is being removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    /// Deleted through the API.
    Delete,
    /// Dropped from state, not reported.
    Forget,
    /// Dropped from state, reported as kept in the cloud.
    ForgetKept,
    /// No action at all: stays in state and in the cloud, reported as kept.
    Stay,
}

struct Ctx<'a> {
    desired: Option<&'a Desired>,
    recorded: &'a BTreeMap<Address, RecordedResource>,
    observed: &'a Observed,
    opts: &'a PlanOptions,
    drafts: BTreeMap<Address, Draft>,
    /// Resources that get a new cloud id in this plan (created or replaced).
    new: BTreeSet<Address>,
    /// Of those, the ones replaced (a replacement the user allowed, or an unprotected one).
    replaced: BTreeSet<Address>,
    kept: BTreeMap<Address, String>,
    /// Steps that run before an address's main action, in order: the deletion of the old
    /// resource of a replacement; turning auto-renewal off before a subscription is
    /// forgotten.
    pre: BTreeMap<Address, Vec<Draft>>,
    errors: Vec<Error>,
    warnings: Vec<String>,
}

/// A changed attribute, before it becomes an [`AttrDiff`].
struct Change {
    diff: AttrDiff,
    /// The new value is unknown only because a referenced resource gets a new id.
    cascade: Vec<Address>,
}

impl<'a> Ctx<'a> {
    fn new(
        desired: Option<&'a Desired>,
        recorded: &'a BTreeMap<Address, RecordedResource>,
        observed: &'a Observed,
        opts: &'a PlanOptions,
    ) -> Self {
        Self {
            desired,
            recorded,
            observed,
            opts,
            drafts: BTreeMap::new(),
            new: BTreeSet::new(),
            replaced: BTreeSet::new(),
            kept: BTreeMap::new(),
            pre: BTreeMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn observation(&self, addr: &Address) -> Option<&'a Observation> {
        self.observed.resources.get(addr)
    }

    fn found(&self, addr: &Address) -> Option<&'a ObservedResource> {
        match self.observation(addr) {
            Some(Observation::Found(o)) => Some(o),
            _ => None,
        }
    }

    /// The cloud id `addr` has now and keeps through this plan.
    fn stable_id(&self, addr: &Address) -> Option<String> {
        if self.new.contains(addr) {
            return None;
        }
        self.found(addr)
            .map(|o| o.cloud_id.to_string())
            .or_else(|| self.recorded.get(addr).map(|r| r.cloud_id.to_string()))
    }

    /// The desired value with references resolved, and the referenced resources that get a
    /// new id.
    fn after(&self, v: &Value) -> (After, Vec<Address>) {
        let new: Vec<Address> = v
            .refs()
            .into_iter()
            .filter(|a| self.new.contains(*a))
            .cloned()
            .collect();
        let after = match v.resolve(&|a| self.stable_id(a)) {
            Some(r) => After::Known(r),
            None => After::KnownAfterApply,
        };
        (after, new)
    }

    /// The desired resource of `addr`, if the specs have it.
    fn spec_of(&self, addr: &Address) -> Option<&'a DesiredResource> {
        self.desired.and_then(|d| d.resources.get(addr))
    }

    fn origin_at(&self, addr: &Address, name: &str) -> String {
        at(self.desired.and_then(|d| d.origin_of(addr, name)))
    }

    fn put(&mut self, addr: &Address, draft: Draft) {
        let draft = if addr.kind() == ResourceKind::RamRole && draft.op == Op::Create {
            self.role_then_policies(addr, draft)
        } else {
            draft
        };
        let draft = if draft.op == Op::Update {
            let mut steps = split_update(addr, draft);
            let last = steps.pop();
            if !steps.is_empty() {
                self.pre.entry(addr.clone()).or_default().extend(steps);
            }
            match last {
                Some(d) => d,
                None => return,
            }
        } else {
            draft
        };
        if matches!(draft.op, Op::Create | Op::Replace) {
            self.new.insert(addr.clone());
        }
        if draft.op == Op::Replace {
            self.replaced.insert(addr.clone());
            // Destroy before create: the old resource is deleted first (names are unique),
            // as an action of its own so that what uses it can be deleted before it.
            if let Some(p) = &draft.prior {
                let objects = self.objects_confirmed(addr);
                let what = draft
                    .cloud_id
                    .as_ref()
                    .map_or_else(String::new, |id| format!(" ({id})"));
                // What no API deletes (an order, a Billing Center account) stays; it is only
                // dropped from state before its replacement is recorded.
                let deletable = kind_spec(addr.kind()).deletion == Deletion::Api;
                let (op, reason) = if deletable {
                    (
                        Op::Delete,
                        format!(
                            "replaced: the current one{what} is deleted first, then created again below"
                        ),
                    )
                } else {
                    (
                        Op::Forget,
                        format!(
                            "replaced: the current one{what} cannot be deleted through the API and stays; it is dropped from state, and the new one is created below"
                        ),
                    )
                };
                let step = Draft {
                    op,
                    reasons: vec![reason],
                    diffs: Vec::new(),
                    desired: None,
                    prior: Some(p.clone()),
                    cloud_id: draft.cloud_id.clone(),
                    objects,
                };
                self.pre.entry(addr.clone()).or_default().push(step);
            }
        }
        // A no-op carries no copy of its record: the state has it, and apply reads it from
        // there (a fleet's plan is thousands of no-ops).
        let draft = if draft.op == Op::NoOp {
            Draft {
                prior: None,
                desired: None,
                ..draft
            }
        } else {
            draft
        };
        self.drafts.insert(addr.clone(), draft);
    }

    /// A role to create with policies: `CreateRole` first (a pre-step without them), then
    /// the attachments as updates (one `AttachPolicyToRole` each).
    fn role_then_policies(&mut self, addr: &Address, draft: Draft) -> Draft {
        let Some(d) = &draft.desired else {
            return draft;
        };
        let Some(Value::List(policies)) = d.attrs.get("policies") else {
            return draft;
        };
        if policies.is_empty() {
            return draft;
        }
        let policies = policies.clone();
        let mut bare = d.clone();
        bare.attrs
            .insert("policies".to_owned(), Value::List(Vec::new()));
        let create = Draft {
            desired: Some(bare),
            diffs: draft
                .diffs
                .iter()
                .filter(|x| x.name != "policies")
                .cloned()
                .collect(),
            ..draft
        };
        self.pre.entry(addr.clone()).or_default().push(create);
        Draft {
            op: Op::Update,
            reasons: vec![
                "attach its policies once it exists (one AttachPolicyToRole per policy)".to_owned(),
            ],
            diffs: vec![AttrDiff {
                name: "policies".to_owned(),
                before: Some(Value::List(Vec::new())),
                after: After::Known(Value::List(policies)),
                forces_replacement: false,
            }],
            desired: Some(d.clone()),
            prior: None,
            cloud_id: None,
            objects: None,
        }
    }

    /// How many objects the bucket at `addr` holds, as observed (0 for anything else).
    fn objects_of(&self, addr: &Address) -> u64 {
        self.found(addr)
            .filter(|_| addr.kind() == ResourceKind::OssBucket)
            .and_then(|o| o.attrs.get("objects"))
            .and_then(Value::as_int)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    }

    /// For the deletion of the bucket at `addr`: `None` when it holds no objects; the
    /// confirmed count when the user confirmed exactly the observed one; otherwise an
    /// [`Error::ObjectsUnconfirmed`] is recorded (and `None` returned).
    fn objects_confirmed(&mut self, addr: &Address) -> Option<u64> {
        let objects = self.objects_of(addr);
        if objects == 0 {
            return None;
        }
        // The user confirmed deleting up to `given` objects: fewer now (a resumed destroy
        // that emptied part of it) is fine; more (job data written since) is not.
        let given = self.opts.confirmed_objects.get(addr).copied();
        if let Some(g) = given
            && g >= objects
        {
            return Some(g);
        }
        self.errors.push(Error::ObjectsUnconfirmed {
            addr: addr.to_string(),
            objects,
            given: given.map_or_else(String::new, |g| format!("; you confirmed {g}")),
        });
        None
    }

    fn decide(&mut self, d: &DesiredResource) {
        // Borrowed: a draft copies it only when it changes something (a fleet's plan is
        // thousands of no-ops).
        let recorded = self.recorded;
        let prior = recorded.get(&d.addr);
        if d.addr.kind() == ResourceKind::AccountBalance {
            let reasons = vec![self.balance_reason(d)];
            let draft = Draft {
                op: Op::Check,
                reasons,
                diffs: Vec::new(),
                desired: Some(d.clone()),
                prior: prior.cloned(),
                cloud_id: None,
                objects: None,
            };
            self.put(&d.addr, draft);
            return;
        }
        if d.addr.kind() == ResourceKind::Gate {
            let draft = self.decide_gate(d, prior);
            self.put(&d.addr, draft);
            return;
        }
        let draft = match d.mode {
            Mode::Data => self.decide_data(d, prior),
            Mode::Managed => self.decide_managed(d, prior),
        };
        self.put(&d.addr, draft);
    }

    /// A gate is passed once it is recorded (and what it completes has not changed); until
    /// then it waits for a person.
    fn decide_gate(&mut self, d: &DesiredResource, prior: Option<&RecordedResource>) -> Draft {
        let mut draft = self.decide_managed(d, prior);
        if matches!(draft.op, Op::Create | Op::Replace) {
            let instructions = d
                .attrs
                .get("instructions")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let why = if draft.op == Op::Replace {
                "what it completes changed, so it must be passed again"
            } else {
                "not passed yet"
            };
            draft.op = Op::Gate;
            draft.reasons = vec![
                format!("a step only a person can complete ({why})"),
                instructions,
            ];
            draft.diffs.clear();
        }
        draft
    }

    fn balance_reason(&self, d: &DesiredResource) -> String {
        let facts = self.observed.accounts.get(&d.account);
        match facts.and_then(|f| f.balance.as_ref()) {
            Some(b) => {
                let min = payg_minimum_cents(&b.currency)
                    .map(cents)
                    .unwrap_or_else(|| "?".into());
                format!(
                    "available balance {cur} {avail}; a pay-as-you-go order needs at least {cur} {min}",
                    cur = b.currency,
                    avail = cents(b.cents)
                )
            }
            None => "the balance is checked again right before the order".to_owned(),
        }
    }

    fn decide_data(&mut self, d: &DesiredResource, prior: Option<&RecordedResource>) -> Draft {
        let id = d
            .attrs
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut draft = Draft {
            op: Op::Read,
            reasons: vec![format!("read `{id}` (referenced by id in the specs)")],
            diffs: Vec::new(),
            desired: Some(d.clone()),
            prior: prior.cloned(),
            cloud_id: prior.map(|p| p.cloud_id.clone()),
            objects: None,
        };
        match self.observation(&d.addr) {
            Some(Observation::Found(o)) => {
                draft.cloud_id = Some(o.cloud_id.clone());
                if let Some(p) = prior
                    && p.cloud_id == o.cloud_id
                    && changed_attrs(&d.addr, &p.attrs, &o.attrs).is_empty()
                {
                    draft.op = Op::NoOp;
                    draft.reasons.clear();
                }
            }
            Some(Observation::Absent) => {
                let what = match d.addr.kind() {
                    ResourceKind::Vswitch => {
                        let index = d
                            .addr
                            .name()
                            .rfind('[')
                            .map(|i| &d.addr.name()[i..])
                            .unwrap_or_default();
                        format!("vSwitches{index}: {{ id: {id} }}")
                    }
                    kind => format!("{kind}: {{ id: {id} }}"),
                };
                self.errors.push(Error::DataSourceMissing {
                    at: at(d.origin.as_ref()),
                    what,
                    region: d
                        .region
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                });
            }
            Some(Observation::Unknown) | None => {
                if prior.is_some() {
                    draft.op = Op::NoOp;
                    draft.reasons.clear();
                }
            }
        }
        draft
    }

    fn create(
        &self,
        d: &DesiredResource,
        prior: Option<&RecordedResource>,
        reason: String,
    ) -> Draft {
        let diffs = d
            .attrs
            .iter()
            .map(|(name, v)| AttrDiff {
                name: name.clone(),
                before: None,
                after: self.after(v).0,
                forces_replacement: false,
            })
            .collect();
        Draft {
            op: Op::Create,
            reasons: vec![reason],
            diffs,
            desired: Some(d.clone()),
            prior: prior.cloned(),
            cloud_id: None,
            objects: None,
        }
    }

    fn decide_managed(&mut self, d: &DesiredResource, prior: Option<&RecordedResource>) -> Draft {
        let obs = self.observation(&d.addr);
        let found = match obs {
            Some(Observation::Found(o)) if o.readiness != Readiness::Deleting => Some(o),
            Some(Observation::Found(_)) => {
                return self.create(
                    d,
                    prior,
                    "is being deleted outside flinkform; it will be created again".into(),
                );
            }
            Some(Observation::Absent) => {
                let generated = d.attrs.get("generated") == Some(&Value::Bool(true));
                let reason = match (prior.is_some(), generated) {
                    (true, _) if d.addr.kind() == ResourceKind::MarketOrder => {
                        "the product instance expired or was released outside flinkform; a new order is placed"
                    }
                    (true, _) => "was deleted outside flinkform",
                    (false, true) => {
                        "the service generates it with the workspace; apply waits until it exists"
                    }
                    (false, false) => "not found in the cloud",
                };
                return self.create(d, prior, reason.into());
            }
            Some(Observation::Unknown) | None => {
                if prior.is_none()
                    && costs_money(d.addr.kind())
                    && matches!(obs, Some(Observation::Unknown))
                {
                    // Never order on a guess.
                    self.errors.push(Error::StatusUnknown {
                        at: self.origin_at(&d.addr, "name"),
                        addr: d.addr.to_string(),
                        why: "the cloud cannot tell whether it exists".to_owned(),
                    });
                    return self.create(d, prior, String::new());
                }
                if prior.is_none() {
                    return self.create(
                        d,
                        prior,
                        "not in state, and the cloud cannot tell whether it exists (doing it again is harmless)".into(),
                    );
                }
                None
            }
        };
        if let Some(Readiness::Unknown(why)) = found.map(|o| &o.readiness) {
            self.errors.push(Error::StatusUnknown {
                at: self.origin_at(&d.addr, "name"),
                addr: d.addr.to_string(),
                why: why.clone(),
            });
        }
        if prior.is_none()
            && let Some(o) = found
            && !self.owns(d, o)
        {
            self.not_owned(d, o);
            return Draft {
                op: Op::NoOp,
                reasons: Vec::new(),
                diffs: Vec::new(),
                desired: None,
                prior: None,
                cloud_id: None,
                objects: None,
            };
        }
        let empty = Attrs::new();
        let observed_attrs = found.map_or(&empty, |o| &o.attrs);
        let recorded_attrs = prior.as_ref().map_or(&empty, |p| &p.attrs);
        let cloud_id = found
            .map(|o| o.cloud_id.clone())
            .or_else(|| prior.as_ref().map(|p| p.cloud_id.clone()));

        let mut changes = Vec::new();
        for (name, v) in &d.attrs {
            let Some(spec) = attr(d.addr.kind(), name) else {
                continue;
            };
            if spec.create_only {
                continue;
            }
            let Some(before) = observed_attrs
                .get(name)
                .or_else(|| recorded_attrs.get(name))
            else {
                continue;
            };
            let before = &compared(name, before, v, recorded_attrs.get(name));
            let (after, new) = self.after(v);
            let changed = match &after {
                After::Known(x) => !same_value(x, before),
                After::KnownAfterApply | After::Removed => !new.is_empty(),
            };
            if changed {
                let cascade = if matches!(after, After::Known(_)) {
                    Vec::new()
                } else {
                    new
                };
                changes.push(Change {
                    diff: AttrDiff {
                        name: name.clone(),
                        before: Some(before.clone()),
                        after,
                        forces_replacement: spec.immutable,
                    },
                    cascade,
                });
            }
        }

        let mut reasons = Vec::new();
        if prior.is_none() {
            let why = match found.map(|o| &o.owner) {
                Some(Owner::Marked(_)) => {
                    "found in the cloud with this stack's ownership mark but not in state (an interrupted apply made it)"
                }
                Some(Owner::NotMarkable) => {
                    "found in the cloud by its name but not in state (it belongs to a workspace or account of this stack)"
                }
                _ => {
                    "found in the cloud but not in state; this state's journal names it (an interrupted apply made it)"
                }
            };
            reasons.push(why.to_owned());
        }
        if let Some(Readiness::Failed(why)) = found.map(|o| &o.readiness) {
            reasons.push(format!(
                "replace because the cloud reports it failed: {why}"
            ));
        }
        let failed = matches!(found.map(|o| &o.readiness), Some(Readiness::Failed(_)));
        let replace = failed || changes.iter().any(|c| c.diff.forces_replacement);
        for c in &changes {
            let AttrDiff {
                name,
                before,
                after,
                forces_replacement,
            } = &c.diff;
            let before = before.as_ref().map(ToString::to_string).unwrap_or_default();
            let text = match (forces_replacement, c.cascade.is_empty()) {
                (true, true) => {
                    format!("replace because `{name}` is immutable (was {before}, now {after})")
                }
                (true, false) => format!(
                    "replace because `{name}` is immutable and {} {}",
                    join(c.cascade.iter().map(|a| format!("`{a}`"))),
                    if c.cascade.iter().all(|a| self.replaced.contains(a)) {
                        "is replaced"
                    } else {
                        "gets a new id"
                    }
                ),
                (false, _) => format!("update `{name}` in place (was {before}, now {after})"),
            };
            reasons.push(text);
        }

        let op = if replace {
            self.check_replace(d, &changes, failed);
            if d.addr.kind() == ResourceKind::FlinkWorkspace
                && observed_attrs
                    .get("charge_type")
                    .or_else(|| recorded_attrs.get("charge_type"))
                    == Some(&Value::str("PRE"))
            {
                let forcing: Vec<&Change> = changes
                    .iter()
                    .filter(|c| c.diff.forces_replacement)
                    .collect();
                let because = if forcing.is_empty() {
                    "the cloud reports it failed".to_owned()
                } else {
                    join(
                        forcing
                            .iter()
                            .map(|c| format!("`{}` is immutable", c.diff.name)),
                    )
                };
                let first = forcing.first().map_or("name", |c| c.diff.name.as_str());
                self.errors.push(Error::SubscriptionReplace {
                    at: self.origin_at(&d.addr, first),
                    addr: d.addr.to_string(),
                    because,
                });
            }
            Op::Replace
        } else if !changes.is_empty() {
            Op::Update
        } else if prior.is_none() {
            Op::Adopt
        } else if prior.as_ref().is_some_and(|p| p.protect != d.protect) {
            reasons.push(format!(
                "record `protect: {}` in state (no API call)",
                d.protect
            ));
            Op::Adopt
        } else {
            Op::NoOp
        };
        // A no-op carries no reasons and no copies ([`Ctx::put`]).
        if op == Op::NoOp {
            return Draft {
                op,
                reasons: Vec::new(),
                diffs: Vec::new(),
                desired: None,
                prior: None,
                cloud_id,
                objects: None,
            };
        }
        let diffs = if replace || op == Op::Update {
            changes.into_iter().map(|c| c.diff).collect()
        } else {
            Vec::new()
        };
        // A resource found in the cloud but not in state that must change: the executor
        // updates (or deletes, to replace) what the cloud has, so `prior` describes it.
        let prior = match (prior, found, op) {
            (None, Some(o), Op::Update | Op::Replace) => Some(RecordedResource {
                addr: d.addr.clone(),
                mode: d.mode,
                account: d.account.clone(),
                region: d.region.clone(),
                cloud_id: o.cloud_id.clone(),
                attrs: o.attrs.clone(),
                depends_on: d.depends_on.clone(),
                protect: d.protect,
            }),
            (prior, _, _) => prior.cloned(),
        };
        Draft {
            op,
            reasons,
            diffs,
            desired: Some(d.clone()),
            prior,
            cloud_id,
            objects: None,
        }
    }

    /// Refuses the replacement of a protected resource, unless allowed or only forced by a
    /// replaced dependency.
    fn check_replace(&mut self, d: &DesiredResource, changes: &[Change], failed: bool) {
        if !d.protect || self.opts.may_replace(&d.addr) {
            return;
        }
        let forcing: Vec<&Change> = changes
            .iter()
            .filter(|c| {
                c.diff.forces_replacement
                    && (c.cascade.is_empty()
                        || !c.cascade.iter().all(|a| self.replaced.contains(a)))
            })
            .collect();
        let because = if forcing.is_empty() {
            if !failed {
                return;
            }
            "the cloud reports it failed".to_owned()
        } else {
            join(forcing.iter().map(|c| {
                if c.cascade.is_empty() {
                    format!("`{}` is immutable", c.diff.name)
                } else {
                    let refs = join(c.cascade.iter().map(|a| format!("`{a}`")));
                    format!("`{}` is immutable and {refs} gets a new id", c.diff.name)
                }
            }))
        };
        let first = forcing.first().map_or("name", |c| c.diff.name.as_str());
        self.errors.push(Error::ProtectedReplace {
            at: self.origin_at(&d.addr, first),
            addr: d.addr.to_string(),
            because,
        });
    }

    /// Whether a resource found in the cloud but missing from state is this stack's: it
    /// carries this stack's mark, or cannot carry one (projects, account singletons,
    /// Marketplace resources), or this state's journal names its address.
    fn owns(&self, d: &DesiredResource, o: &ObservedResource) -> bool {
        match &o.owner {
            Owner::NotMarkable => true,
            Owner::OtherAccount => false,
            owner => {
                let stack = self.desired.map_or("", |x| x.stack.as_str());
                (!stack.is_empty() && owner.is_stack(stack)) || self.opts.claimed.contains(&d.addr)
            }
        }
    }

    /// The plan error for a resource the specs want that exists and is someone else's.
    fn not_owned(&mut self, d: &DesiredResource, o: &ObservedResource) {
        let s = |name: &str| o.attrs.get(name).and_then(Value::as_str);
        let named = s("name")
            .map(|n| format!(" named `{n}`"))
            .unwrap_or_default();
        let what = match d.addr.kind() {
            ResourceKind::FlinkWorkspace => format!("workspace {}{named}", o.cloud_id),
            ResourceKind::OssBucket => format!("bucket `{}`", o.cloud_id),
            ResourceKind::Vpc => format!("VPC {}{named}", o.cloud_id),
            ResourceKind::Vswitch => format!("vSwitch {}{named}", o.cloud_id),
            kind => format!("{kind} {}", o.cloud_id),
        };
        let place = match (&o.owner, s("region")) {
            (Owner::OtherAccount, _) => "outside this account".to_owned(),
            (_, Some(region)) => format!("account {}, region {region}", d.account),
            (_, None) => format!("account {}", d.account),
        };
        let rename = match d.addr.kind() {
            ResourceKind::FlinkWorkspace => {
                "choose another `metadata.name` (workspace names are unique in an account, across all its regions)"
            }
            ResourceKind::OssBucket => {
                "choose another `spec.storage.ossBucket.name` (bucket names are unique across all of Alibaba Cloud)"
            }
            _ => "choose another name",
        };
        let help = match &o.owner {
            Owner::OtherAccount => {
                format!("{rename}; a bucket of another account cannot be imported")
            }
            Owner::Marked(m) => format!(
                "{rename}; or, if this stack must manage it from now on, `flinkform import --force {} {} <specs>` \
                 (it is `{}` of stack {}: make that stack forget it first, by removing it from that \
                 stack's state; removing it from that stack's specs would delete it)",
                d.addr, o.cloud_id, m.address, m.stack
            ),
            _ => format!(
                "{rename}; or, to manage the existing one with this stack, `flinkform import {} {} <specs>`",
                d.addr, o.cloud_id
            ),
        };
        self.errors.push(Error::NotOwned {
            at: self.origin_at(&d.addr, "name"),
            addr: d.addr.to_string(),
            what,
            found: Box::new(crate::error::Found {
                place,
                owner: o.owner.to_string(),
            }),
            help,
        });
    }

    /// Decides what happens to recorded resources that are removed (from the specs, or by
    /// `destroy`).
    fn removals(&mut self, removed: &[&RecordedResource], destroy: bool) {
        let set: BTreeSet<&Address> = removed.iter().map(|r| &r.addr).collect();
        let mut disp: BTreeMap<Address, (Disposition, String)> = BTreeMap::new();
        for r in removed {
            if r.addr.kind() == ResourceKind::AccountBalance {
                disp.insert(
                    r.addr.clone(),
                    (Disposition::Forget, "a check is never kept in state".into()),
                );
                continue;
            }
            let generated = r.attrs.get("generated") == Some(&Value::Bool(true));
            let pre = r.addr.kind() == ResourceKind::FlinkWorkspace
                && r.attrs.get("charge_type") == Some(&Value::str("PRE"));
            let absent = matches!(self.observation(&r.addr), Some(Observation::Absent));
            let base = if r.addr.kind() == ResourceKind::Gate {
                (Disposition::Forget, GATE_FORGET.to_owned())
            } else if r.mode == Mode::Data {
                (Disposition::ForgetKept, KEPT_DATA.to_owned())
            } else if absent {
                (
                    Disposition::Forget,
                    "already gone from the cloud".to_owned(),
                )
            } else {
                match kind_spec(r.addr.kind()).deletion {
                    Deletion::Never if r.addr.kind() == ResourceKind::MarketOrder => {
                        (Disposition::ForgetKept, KEPT_ORDER.to_owned())
                    }
                    Deletion::Never if r.addr.kind() == ResourceKind::BillingAccount => {
                        (Disposition::ForgetKept, KEPT_BILLING_ACCOUNT.to_owned())
                    }
                    Deletion::Never => (Disposition::ForgetKept, KEPT_NEVER.to_owned()),
                    Deletion::Shared => (Disposition::ForgetKept, KEPT_SHARED.to_owned()),
                    Deletion::WithParent | Deletion::Check => (
                        Disposition::Forget,
                        "goes away with its workspace".to_owned(),
                    ),
                    Deletion::Api if generated => (
                        Disposition::Forget,
                        "goes away with its workspace".to_owned(),
                    ),
                    Deletion::Api if pre => (Disposition::ForgetKept, KEPT_SUBSCRIPTION.to_owned()),
                    Deletion::Api => (Disposition::Delete, String::new()),
                }
            };
            let objects = self.objects_of(&r.addr);
            let base = if base.0 == Disposition::Delete
                && objects > 0
                && !self.opts.may_destroy(&r.addr)
            {
                (
                    Disposition::Stay,
                    format!(
                        "holds {objects} object(s) (the workspace's artifacts/, flink-jobs/, \
                         flink-savepoints/, logs/ and job data); `--allow-destroy {}` deletes it with them",
                        r.addr
                    ),
                )
            } else {
                base
            };
            let protected = r.protect && !self.opts.may_destroy(&r.addr);
            let d = if destroy
                && protected
                && matches!(base.0, Disposition::Delete | Disposition::ForgetKept)
                && r.mode == Mode::Managed
                && !absent
            {
                (Disposition::Stay, KEPT_PROTECTED.to_owned())
            } else {
                base
            };
            disp.insert(r.addr.clone(), d);
        }

        // Whatever a kept resource uses is kept the same way.
        loop {
            let mut changed = false;
            let keepers: Vec<(Address, Disposition)> = disp
                .iter()
                .filter(|(_, (d, _))| matches!(d, Disposition::Stay | Disposition::ForgetKept))
                .map(|(a, (d, _))| (a.clone(), *d))
                .collect();
            for (user, how) in keepers {
                let Some(r) = self.recorded.get(&user) else {
                    continue;
                };
                for dep in &r.depends_on {
                    if !set.contains(dep) {
                        continue;
                    }
                    let Some(entry) = disp.get_mut(dep) else {
                        continue;
                    };
                    match (entry.0, how) {
                        (Disposition::Delete, _) => {
                            *entry = (how, format!("used by {user}"));
                            changed = true;
                        }
                        (Disposition::ForgetKept, Disposition::Stay) => {
                            entry.0 = Disposition::Stay;
                            changed = true;
                        }
                        _ => {}
                    }
                }
            }
            // A generated default project is kept with its workspace.
            let parents: Vec<(Address, Disposition)> = disp
                .iter()
                .filter(|(a, (d, _))| {
                    *d == Disposition::Forget
                        && a.kind() == ResourceKind::FlinkProject
                        && self.recorded.get(*a).and_then(|r| r.attrs.get("generated"))
                            == Some(&Value::Bool(true))
                })
                .filter_map(|(a, _)| {
                    let ws = a.name().split_once('/').map(|(w, _)| w)?;
                    let parent = Address::new(ResourceKind::FlinkWorkspace, ws).ok()?;
                    let (pd, _) = disp.get(&parent)?;
                    matches!(pd, Disposition::Stay | Disposition::ForgetKept)
                        .then(|| (a.clone(), *pd))
                })
                .collect();
            for (a, how) in parents {
                if let Some(entry) = disp.get_mut(&a) {
                    let ws = a.name().split_once('/').map(|(w, _)| w).unwrap_or_default();
                    *entry = (how, format!("part of flink_workspace.{ws}"));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        for r in removed {
            let Some((d, reason)) = disp.remove(&r.addr) else {
                continue;
            };
            if r.addr.kind() == ResourceKind::AccountBalance {
                continue;
            }
            let (op, reason) = match d {
                Disposition::Stay => {
                    self.kept.insert(r.addr.clone(), reason);
                    continue;
                }
                Disposition::ForgetKept => {
                    self.kept.insert(r.addr.clone(), reason.clone());
                    (
                        Op::Forget,
                        format!("{reason}: dropped from state only, it stays in the cloud"),
                    )
                }
                Disposition::Forget => (Op::Forget, format!("{reason}: dropped from state only")),
                Disposition::Delete => {
                    if !destroy && r.protect && !self.opts.may_destroy(&r.addr) {
                        self.errors.push(Error::ProtectedDelete {
                            addr: r.addr.to_string(),
                        });
                    }
                    let why = if destroy {
                        "destroy deletes everything in state that is not kept"
                    } else {
                        "no longer in the specs"
                    };
                    let what = match r.addr.kind() {
                        ResourceKind::SettlementBinding => {
                            ": releases the settlement binding (the instance is no longer billed through this Billing Center account)"
                        }
                        ResourceKind::SaasWorkspace
                            if r.attrs.get("mode") == Some(&Value::str("bind")) =>
                        {
                            ": unbinds the workspace from the subscription (it was bound, not created: it stays at the vendor)"
                        }
                        ResourceKind::SaasWorkspace => {
                            ": deletes the workspace at the vendor (it was created by flinkform)"
                        }
                        _ => "",
                    };
                    if self.objects_of(&r.addr) > 0 {
                        let objects = self.objects_confirmed(&r.addr);
                        let reason = format!(
                            "{why}: with its {} object(s), as confirmed",
                            objects.unwrap_or_default()
                        );
                        self.put_removal(r, Op::Delete, reason, objects);
                        continue;
                    }
                    (Op::Delete, format!("{why}{what}"))
                }
            };
            if op == Op::Forget && self.renews(r) {
                // flinkform stops managing a subscription that renews itself: turn that off
                // first, so that it ends with its term instead of renewing unnoticed.
                let mut attrs = r.attrs.clone();
                attrs.insert("auto_renew".to_owned(), Value::Bool(false));
                let step = Draft {
                    op: Op::Update,
                    reasons: vec![
                        "turn auto-renewal off before flinkform stops managing this subscription: it ends with its term instead of renewing unnoticed".to_owned(),
                    ],
                    diffs: vec![AttrDiff {
                        name: "auto_renew".to_owned(),
                        before: Some(Value::Bool(true)),
                        after: After::Known(Value::Bool(false)),
                        forces_replacement: false,
                    }],
                    desired: Some(DesiredResource {
                        addr: r.addr.clone(),
                        mode: r.mode,
                        account: r.account.clone(),
                        region: r.region.clone(),
                        attrs,
                        depends_on: r.depends_on.clone(),
                        protect: r.protect,
                        origin: None,
                    }),
                    prior: Some((*r).clone()),
                    cloud_id: Some(r.cloud_id.clone()),
                    objects: None,
                };
                self.pre.entry(r.addr.clone()).or_default().push(step);
            }
            self.put_removal(r, op, reason, None);
        }
    }

    /// The deletion or forgetting of recorded resource `r`.
    fn put_removal(&mut self, r: &RecordedResource, op: Op, reason: String, objects: Option<u64>) {
        let cloud_id = self
            .found(&r.addr)
            .map(|o| o.cloud_id.clone())
            .or_else(|| Some(r.cloud_id.clone()));
        let draft = Draft {
            op,
            reasons: vec![reason],
            diffs: Vec::new(),
            desired: None,
            prior: Some(r.clone()),
            cloud_id,
            objects,
        };
        self.put(&r.addr, draft);
    }

    /// Whether recorded resource `r` is a subscription workspace that renews itself (as
    /// observed, else as recorded).
    fn renews(&self, r: &RecordedResource) -> bool {
        r.addr.kind() == ResourceKind::FlinkWorkspace
            && r.attrs.get("charge_type") == Some(&Value::str("PRE"))
            && self
                .found(&r.addr)
                .and_then(|o| o.attrs.get("auto_renew"))
                .or_else(|| r.attrs.get("auto_renew"))
                == Some(&Value::Bool(true))
    }

    /// Balance, region and zone preconditions of the workspaces this plan orders.
    fn preconditions(&mut self) {
        let Some(desired) = self.desired else { return };
        let ordering: Vec<&DesiredResource> = self
            .drafts
            .iter()
            .filter(|(a, d)| {
                a.kind() == ResourceKind::FlinkWorkspace && matches!(d.op, Op::Create | Op::Replace)
            })
            .filter_map(|(_, d)| d.desired.as_ref())
            .collect();
        let mut errors = Vec::new();
        for (addr, draft) in &self.drafts {
            if addr.kind() != ResourceKind::AccountBalance {
                continue;
            }
            let Some(b) = draft.desired.as_ref() else {
                continue;
            };
            let Some(balance) = self
                .observed
                .accounts
                .get(&b.account)
                .and_then(|f| f.balance.as_ref())
            else {
                continue;
            };
            let Some(min) = payg_minimum_cents(&balance.currency) else {
                continue;
            };
            let orders = ordering.iter().any(|w| w.depends_on.contains(addr));
            if orders && balance.cents < min {
                errors.push(Error::InsufficientBalance {
                    at: at(desired.origin_of(addr, "minimum")),
                    account: b.account.to_string(),
                    currency: balance.currency.clone(),
                    available: cents(balance.cents),
                    minimum: cents(min),
                });
            }
        }
        for w in &ordering {
            errors.extend(self.vswitch_zones(desired, w));
        }
        errors.extend(self.resource_groups(desired));
        errors.extend(self.vswitch_cidrs(desired));
        for w in ordering {
            let Some(facts) = self.observed.accounts.get(&w.account) else {
                continue;
            };
            let Some(region) = &w.region else { continue };
            if !facts.flink_regions.is_empty() && !facts.flink_regions.contains(region) {
                errors.push(Error::RegionNotOffered {
                    at: at(desired.origin_of(&w.addr, "region")),
                    region: region.to_string(),
                    account: w.account.to_string(),
                    offered: join(facts.flink_regions.iter().map(ToString::to_string)),
                });
                continue;
            }
            let zone = w
                .attrs
                .get("zone")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(zones) = facts.flink_zones.get(region)
                && !zones.iter().any(|z| z.as_str() == zone)
            {
                errors.push(Error::ZoneNotOffered {
                    at: at(desired.origin_of(&w.addr, "zone")),
                    zone: zone.to_owned(),
                    region: region.to_string(),
                    offered: join(zones.iter().map(ToString::to_string)),
                });
            }
        }
        self.errors.extend(errors);
    }

    /// The resource group of a workspace to order, or to move (an update of
    /// `resource_group`), must be one of its account's (when the refresh read them).
    fn resource_groups(&self, desired: &Desired) -> Vec<Error> {
        self.drafts
            .iter()
            .filter(|(a, _)| a.kind() == ResourceKind::FlinkWorkspace)
            .filter(|(_, d)| match d.op {
                Op::Create | Op::Replace => true,
                Op::Update => d.diffs.iter().any(|x| x.name == "resource_group"),
                _ => false,
            })
            .filter_map(|(addr, d)| {
                let w = d.desired.as_ref()?;
                let group = w.attrs.get("resource_group").and_then(Value::as_str)?;
                let groups = self
                    .observed
                    .accounts
                    .get(&w.account)?
                    .resource_groups
                    .as_ref()?;
                (!groups.contains(group)).then(|| Error::ResourceGroupMissing {
                    at: at(desired.origin_of(addr, "resource_group")),
                    group: group.to_owned(),
                    account: w.account.to_string(),
                    groups: join(groups.iter().cloned()),
                })
            })
            .collect()
    }

    /// Existing vSwitches (referenced by id) of a workspace to order must be in its zone.
    fn vswitch_zones(&self, desired: &Desired, w: &DesiredResource) -> Vec<Error> {
        let zone = w
            .attrs
            .get("zone")
            .and_then(Value::as_str)
            .unwrap_or_default();
        w.depends_on
            .iter()
            .filter(|a| a.kind() == ResourceKind::Vswitch)
            .filter_map(|a| {
                let r = desired.resources.get(a).filter(|r| r.mode == Mode::Data)?;
                let id = r.attrs.get("id").and_then(Value::as_str)?;
                let o = self.found(a).filter(|o| o.cloud_id.as_str() == id)?;
                let actual = o.attrs.get("zone").and_then(Value::as_str)?;
                (actual != zone).then(|| Error::VswitchZone {
                    at: at(desired.origin_of(a, "id")),
                    vswitch: o.cloud_id.to_string(),
                    actual: actual.to_owned(),
                    zone: zone.to_owned(),
                })
            })
            .collect()
    }

    /// A vSwitch to create in an existing VPC must lie inside the VPC's CIDR and overlap
    /// none of the VPC's vSwitches (nor another vSwitch this plan creates there).
    fn vswitch_cidrs(&self, desired: &Desired) -> Vec<Error> {
        let mut errors = Vec::new();
        let mut claimed: BTreeMap<String, Vec<(ipnet::Ipv4Net, String)>> = BTreeMap::new();
        // Existing VPCs (referenced by id), by id, found once.
        let existing: BTreeMap<&str, &ObservedResource> = desired
            .resources
            .values()
            .filter(|r| r.addr.kind() == ResourceKind::Vpc)
            .filter_map(|r| Some((r.attrs.get("id")?.as_str()?, self.found(&r.addr)?)))
            .collect();
        for (addr, draft) in &self.drafts {
            if addr.kind() != ResourceKind::Vswitch || !matches!(draft.op, Op::Create | Op::Replace)
            {
                continue;
            }
            let Some(v) = &draft.desired else { continue };
            // Only a literal VPC id is an existing VPC; a reference is one this plan makes.
            let Some(vpc_id) = v.attrs.get("vpc_id").and_then(Value::as_str) else {
                continue;
            };
            let Some(cidr) = v.attrs.get("cidr").and_then(Value::as_str) else {
                continue;
            };
            let Ok(net) = cidr.parse::<ipnet::Ipv4Net>() else {
                continue;
            };
            let vpc_cidr = existing
                .get(vpc_id)
                .and_then(|o| o.attrs.get("cidr"))
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<ipnet::Ipv4Net>().ok());
            let origin = at(desired.origin_of(addr, "cidr"));
            let Some(vpc_cidr) = vpc_cidr else { continue };
            if !vpc_cidr.contains(&net) {
                errors.push(Error::VswitchCidr {
                    at: origin,
                    cidr: cidr.to_owned(),
                    problem: format!("is not inside VPC {vpc_id}'s {vpc_cidr}"),
                    vpc_cidr: vpc_cidr.to_string(),
                });
                continue;
            }
            let cloud_id = CloudId::new(vpc_id).ok();
            let neighbours = cloud_id
                .as_ref()
                .and_then(|id| self.observed.network.get(id))
                .map_or(&[][..], Vec::as_slice);
            let taken = claimed.entry(vpc_id.to_owned()).or_default();
            let clash = neighbours
                .iter()
                .filter(|n| Some(&n.cloud_id) != draft.prior.as_ref().map(|p| &p.cloud_id))
                .filter_map(|n| {
                    let c = n.attrs.get("cidr").and_then(Value::as_str)?;
                    Some((
                        c.parse::<ipnet::Ipv4Net>().ok()?,
                        format!("vSwitch {}", n.cloud_id),
                    ))
                })
                .chain(taken.iter().cloned())
                .find(|(other, _)| other.contains(&net) || net.contains(other));
            if let Some((other, who)) = clash {
                errors.push(Error::VswitchCidr {
                    at: origin,
                    cidr: cidr.to_owned(),
                    problem: format!("overlaps {who} ({other}) in VPC {vpc_id}"),
                    vpc_cidr: vpc_cidr.to_string(),
                });
                continue;
            }
            taken.push((net, format!("`{addr}`")));
        }
        errors
    }

    /// Errors for replacements the cloud could not carry out: the old resource must be
    /// deleted before the new one exists (names are unique; destroy-before-create), so
    /// everything that still uses it must be deleted or replaced first.
    fn unorderable_replacements(&self) -> Vec<Error> {
        let mut errors = Vec::new();
        for (y, steps) in &self.pre {
            if !steps.iter().any(|d| d.op == Op::Delete) {
                continue;
            }
            // Gates and checks are steps of apply, not users in the cloud.
            let users = self.recorded.values().filter(|r| {
                r.depends_on.contains(y)
                    && !matches!(
                        r.addr.kind(),
                        ResourceKind::Gate | ResourceKind::AccountBalance
                    )
            });
            for user in users {
                let generated = user.attrs.get("generated") == Some(&Value::Bool(true));
                let goes = match self.drafts.get(&user.addr).map(|d| d.op) {
                    Some(Op::Delete | Op::Replace) => true,
                    // Gone from the cloud already (deleted outside flinkform, or by an apply
                    // that died before recording it): it uses nothing, and is created again
                    // after what it depends on.
                    Some(Op::Create) => true,
                    // Goes away with its workspace, which is deleted or replaced.
                    Some(Op::Forget) => generated,
                    _ => false,
                };
                if !goes {
                    errors.push(Error::ReplaceBlocked {
                        at: self.origin_at(y, "name"),
                        addr: y.to_string(),
                        user: user.addr.to_string(),
                    });
                }
            }
        }
        errors
    }

    fn finish(mut self) -> Result<Plan, PlanErrors> {
        let blocked = self.unorderable_replacements();
        self.errors.extend(blocked);

        // Nodes: per address, its pre-steps (in order), then its main action; numbered in
        // execution order below.
        let mut nodes: Vec<PlannedAction> = Vec::new();
        let mut pos: BTreeMap<Address, usize> = BTreeMap::new();
        // The node that disposes of the old resource (deletes or forgets it), per address.
        let mut gone: BTreeMap<Address, usize> = BTreeMap::new();
        let mut pre = std::mem::take(&mut self.pre);
        let mut chain_edges = BTreeSet::new();
        for (addr, draft) in std::mem::take(&mut self.drafts) {
            let mut last = None;
            for step in pre.remove(&addr).unwrap_or_default() {
                let i = nodes.len();
                if matches!(step.op, Op::Delete | Op::Forget) {
                    gone.insert(addr.clone(), i);
                }
                if let Some(l) = last {
                    chain_edges.insert((l, i));
                }
                last = Some(i);
                nodes.push(step.into_action(addr.clone(), self.spec_of(&addr)));
            }
            let i = nodes.len();
            if matches!(draft.op, Op::Delete | Op::Forget) {
                gone.insert(addr.clone(), i);
            }
            if let Some(l) = last {
                chain_edges.insert((l, i));
            }
            pos.insert(addr.clone(), i);
            let spec = self.spec_of(&addr);
            nodes.push(draft.into_action(addr, spec));
        }
        let drafts: Vec<&PlannedAction> = nodes.iter().collect();
        let addrs: Vec<&Address> = nodes.iter().map(|a| &a.addr).collect();
        let mut edges = chain_edges;

        for (y, draft) in drafts.iter().enumerate() {
            // Creation order: dependency before dependent. An in-place update of the
            // dependency only has to precede the dependent's creation (the role's policy
            // before the workspace that needs it); an existing dependent does not wait for
            // it (CU ordering below decides between a workspace and its projects).
            // (A no-op carries no desired resource: its dependencies are the spec's.)
            let desired = draft.desired.as_ref().or_else(|| {
                (draft.op == Op::NoOp)
                    .then(|| self.spec_of(addrs[y]))
                    .flatten()
            });
            if let Some(d) = desired
                && pos.get(addrs[y]) == Some(&y)
            {
                for dep in &d.depends_on {
                    if let Some(&x) = pos.get(dep)
                        && (drafts[x].op != Op::Update
                            || matches!(draft.op, Op::Create | Op::Replace))
                    {
                        edges.insert((x, y));
                    }
                }
            }
            // Deletion order: the old dependent goes before the old dependency.
            if gone.get(addrs[y]) == Some(&y)
                && let Some(p) = &draft.prior
            {
                for dep in &p.depends_on {
                    let Some(&x) = gone.get(dep) else { continue };
                    match (draft.op, drafts[x].op) {
                        // Forgetting only writes state: after what it goes away with.
                        (Op::Forget, Op::Delete) => {
                            edges.insert((x, y));
                        }
                        (Op::Forget, _) => {}
                        (Op::Delete, _) => {
                            edges.insert((y, x));
                        }
                        _ => {}
                    }
                }
            }
        }

        // CU released before CU claimed, per workspace.
        let mut by_workspace: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, a) in addrs.iter().enumerate() {
            if a.kind() != ResourceKind::FlinkProject {
                continue;
            }
            let Some((ws, _)) = a.name().split_once('/') else {
                continue;
            };
            let entry = by_workspace.entry(ws).or_default();
            match cu_effect(drafts[i]) {
                Some(true) => entry.1.push(i),
                Some(false) => entry.0.push(i),
                None => {}
            }
        }
        for (ws, (releases, claims)) in by_workspace {
            // The workspace's quota change (an update may be several steps: the one with
            // `cu`).
            let update = Address::new(ResourceKind::FlinkWorkspace, ws)
                .ok()
                .and_then(|a| {
                    (0..drafts.len()).find(|&u| {
                        addrs[u] == &a
                            && drafts[u].op == Op::Update
                            && drafts[u].diffs.iter().any(|d| d.name == "cu")
                    })
                });
            match update {
                Some(u) => {
                    edges.extend(releases.iter().map(|&r| (r, u)));
                    edges.extend(claims.iter().map(|&c| (u, c)));
                }
                None => {
                    for &r in &releases {
                        edges.extend(claims.iter().map(|&c| (r, c)));
                    }
                }
            }
        }

        let order = match topo(nodes.len(), &edges) {
            Ok(order) => order,
            Err(cycles) => {
                for c in cycles {
                    self.errors.push(cycle_error(c.iter().map(|&i| addrs[i])));
                }
                return Err(PlanErrors {
                    errors: self.errors,
                });
            }
        };
        if !self.errors.is_empty() {
            return Err(PlanErrors {
                errors: self.errors,
            });
        }

        let mut new_id = vec![ActionId(0); nodes.len()];
        for (n, &i) in order.iter().enumerate() {
            new_id[i] = ActionId(u32::try_from(n).unwrap_or(u32::MAX));
        }
        // Numbered and sorted in place (a fleet's plan is thousands of actions: no copy).
        let mut actions = nodes;
        for (a, id) in actions.iter_mut().zip(&new_id) {
            a.id = *id;
            // An interrupted apply left it being created: the next one waits for it.
            a.wait_ready = a.op == Op::NoOp
                && self
                    .found(&a.addr)
                    .is_some_and(|o| o.readiness == Readiness::Pending);
        }
        actions.sort_unstable_by_key(|a| a.id);
        let edges = edges
            .into_iter()
            .map(|(a, b)| (new_id[a], new_id[b]))
            .collect();
        let mut warnings = self.warnings;
        warnings.sort();
        warnings.dedup();
        Ok(Plan {
            actions,
            edges,
            drift: drift(self.recorded, self.observed),
            kept: self.kept.into_iter().collect(),
            warnings,
        })
    }
}

/// An in-place update as actions of one mutating call each, in order: one per changed
/// attribute (unless the kind changes them together); a `tags` change that both sets and
/// removes keys as a set (the removed keys kept) then a removal; a `policies` change as one
/// attachment per added policy. Every step but the last is a pre-step of the address.
fn split_update(addr: &Address, draft: Draft) -> Vec<Draft> {
    let mut diffs: Vec<AttrDiff> = Vec::new();
    for d in &draft.diffs {
        match d.name.as_str() {
            "tags" => diffs.extend(split_tags(d)),
            "policies" => diffs.extend(split_policies(d)),
            _ => diffs.push(d.clone()),
        }
    }
    if updates_together(addr.kind()) || diffs.len() <= 1 {
        return vec![Draft { diffs, ..draft }];
    }
    let n = diffs.len();
    diffs
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut step = Draft {
                op: Op::Update,
                reasons: draft.reasons.clone(),
                diffs: vec![d.clone()],
                desired: draft.desired.clone(),
                prior: draft.prior.clone(),
                cloud_id: draft.cloud_id.clone(),
                objects: None,
            };
            // The step's desired value of its attribute is the step's own `after` (a tags
            // set keeps the keys a later step removes).
            if let (Some(desired), After::Known(v)) = (&mut step.desired, &d.after) {
                desired.attrs.insert(d.name.clone(), v.clone());
            }
            // Each step says why it changes its attribute; the last one keeps the reasons
            // about the resource as a whole.
            let mine = format!("`{}`", d.name);
            let mut reasons: Vec<String> = draft
                .reasons
                .iter()
                .filter(|r| {
                    if r.starts_with("update `") {
                        r.contains(&mine)
                    } else {
                        i + 1 == n
                    }
                })
                .cloned()
                .collect();
            reasons.push(format!("step {} of {} (one API call per step)", i + 1, n));
            step.reasons = reasons;
            step
        })
        .collect()
}

/// A `tags` change that sets some keys and removes others as two steps: set (with the
/// removed keys still there), then remove.
fn split_tags(d: &AttrDiff) -> Vec<AttrDiff> {
    let (Some(before), After::Known(after)) = (d.before.as_ref().and_then(Value::as_map), &d.after)
    else {
        return vec![d.clone()];
    };
    let Some(want) = after.as_map() else {
        return vec![d.clone()];
    };
    let removed: Vec<&String> = before.keys().filter(|k| !want.contains_key(*k)).collect();
    let sets = want.iter().any(|(k, v)| before.get(k) != Some(v));
    if removed.is_empty() || !sets {
        return vec![d.clone()];
    }
    let mut kept = want.clone();
    for k in removed {
        if let Some(v) = before.get(k) {
            kept.insert(k.clone(), v.clone());
        }
    }
    let first = AttrDiff {
        after: After::Known(Value::Map(kept.clone())),
        ..d.clone()
    };
    let second = AttrDiff {
        before: Some(Value::Map(kept)),
        ..d.clone()
    };
    vec![first, second]
}

/// A `policies` change as one step per added policy (each `AttachPolicyToRole`).
fn split_policies(d: &AttrDiff) -> Vec<AttrDiff> {
    let (Some(before), After::Known(Value::List(after))) =
        (d.before.as_ref().and_then(Value::as_list), &d.after)
    else {
        return vec![d.clone()];
    };
    let added: Vec<&Value> = after.iter().filter(|p| !before.contains(p)).collect();
    if added.len() <= 1 {
        return vec![d.clone()];
    }
    let mut have: Vec<Value> = before.to_vec();
    added
        .into_iter()
        .map(|p| {
            let was = Value::List(have.clone());
            have.push(p.clone());
            AttrDiff {
                name: d.name.clone(),
                before: Some(was),
                after: After::Known(Value::List(have.clone())),
                forces_replacement: false,
            }
        })
        .collect()
}

/// Kinds whose creation places an order (a workspace, a Marketplace subscription):
/// anything unsure about them stops the plan.
fn costs_money(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::FlinkWorkspace | ResourceKind::MarketOrder
    )
}

/// Whether a project action claims CU (`Some(true)`), releases CU (`Some(false)`) or
/// neither.
fn cu_effect(d: &PlannedAction) -> Option<bool> {
    match d.op {
        Op::Create | Op::Replace => Some(true),
        Op::Delete => Some(false),
        Op::Update => {
            let diff = d.diffs.iter().find(|x| x.name == "cu")?;
            let before = diff.before.as_ref().and_then(Value::as_int)?;
            let After::Known(after) = &diff.after else {
                return None;
            };
            let after = after.as_int()?;
            (after != before).then_some(after > before)
        }
        _ => None,
    }
}

/// Recorded vs observed, for every recorded resource the refresh saw.
fn drift(recorded: &BTreeMap<Address, RecordedResource>, observed: &Observed) -> Vec<Drift> {
    recorded
        .values()
        .filter_map(|r| {
            let kind = match observed.resources.get(&r.addr)? {
                Observation::Absent => DriftKind::Deleted,
                Observation::Found(o) => {
                    let changes = changed_attrs(&r.addr, &r.attrs, &o.attrs);
                    if changes.is_empty() {
                        return None;
                    }
                    DriftKind::Changed(changes)
                }
                Observation::Unknown => return None,
            };
            Some(Drift {
                addr: r.addr.clone(),
                kind,
            })
        })
        .collect()
}

/// Catalog attributes (not `create_only`) both sides have, whose values differ.
fn changed_attrs(
    addr: &Address,
    recorded: &Attrs,
    observed: &Attrs,
) -> Vec<(String, Value, Option<Value>)> {
    recorded
        .iter()
        .filter(|(name, _)| attr(addr.kind(), name).is_some_and(|s| !s.create_only))
        .filter_map(|(name, rv)| {
            let ov = compared(name, observed.get(name)?, rv, None);
            (!same_value(&ov, rv)).then(|| (name.clone(), rv.clone(), Some(ov)))
        })
        .collect()
}

/// Whether two attribute values mean the same. Lists are compared as sets: no catalog list
/// is ordered (`vswitch_ids`, `policies`), and clouds report them in their own order.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            let mut x: Vec<&Value> = x.iter().collect();
            let mut y: Vec<&Value> = y.iter().collect();
            x.sort();
            y.sort();
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| same_value(p, q))
        }
        _ => a == b,
    }
}

/// Whether the cloud already has attribute `name` as desired: the comparison the planner
/// diffs with (lists as sets; of `tags`, only the keys the desired value sets). The
/// executor asks it before repeating an in-place change whose answer was lost
/// (compare before modify), so that a change is never made, and billed, twice.
/// `prior` is what the state recorded before the change (a tag it had and the desired
/// value drops must be gone).
#[must_use]
pub fn attr_settled(name: &str, desired: &Value, observed: &Value, prior: Option<&Value>) -> bool {
    same_value(&compared(name, observed, desired, prior), desired)
}

/// The observed value of attribute `name` as far as flinkform compares it with `desired`
/// (in the plan's diff, in drift, and before repeating a change): itself, except `tags`,
/// of which only the keys the specs set now or set before (`recorded`) count. Tags someone
/// else added in the console are left alone, neither diffed nor removed.
fn compared(name: &str, observed: &Value, desired: &Value, recorded: Option<&Value>) -> Value {
    let Some(observed) = observed.as_map().filter(|_| name == "tags") else {
        return observed.clone();
    };
    let keys: BTreeSet<&String> = desired
        .as_map()
        .into_iter()
        .chain(recorded.and_then(Value::as_map))
        .flat_map(BTreeMap::keys)
        .collect();
    Value::Map(
        observed
            .iter()
            .filter(|(k, _)| keys.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn cycle_error<'x>(addrs: impl Iterator<Item = &'x Address>) -> Error {
    let mut v: Vec<String> = addrs.map(ToString::to_string).collect();
    v.sort();
    Error::Cycle {
        addresses: v.join(", "),
    }
}

/// Topological order of nodes `0..n` (ties broken by index, i.e. by address), or every
/// cycle (strongly connected component with more than one node, or a self loop).
fn topo(n: usize, edges: &BTreeSet<(usize, usize)>) -> Result<Vec<usize>, Vec<Vec<usize>>> {
    let mut g: StableDiGraph<usize, ()> = StableDiGraph::with_capacity(n, edges.len());
    let idx: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
    for &(a, b) in edges {
        g.add_edge(idx[a], idx[b], ());
    }
    let mut cycles: Vec<Vec<usize>> = tarjan_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1 || c.first().is_some_and(|&x| g.contains_edge(x, x)))
        .map(|c| {
            let mut v: Vec<usize> = c.into_iter().map(|x| g[x]).collect();
            v.sort_unstable();
            v
        })
        .collect();
    if !cycles.is_empty() {
        cycles.sort();
        return Err(cycles);
    }
    let mut indegree = vec![0_usize; n];
    for &(_, b) in edges {
        indegree[b] += 1;
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for next in g.neighbors_directed(idx[i], Direction::Outgoing) {
            let j = g[next];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    #[test]
    fn client_tokens_are_deterministic_ascii_and_short() {
        let mut attrs = Attrs::new();
        attrs.insert("cidr".into(), Value::str("10.0.0.0/16"));
        let t = client_token(&a("vpc.x"), &attrs);
        assert_eq!(t, client_token(&a("vpc.x"), &attrs.clone()));
        assert_eq!(t.len(), 64);
        assert!(t.starts_with("ff-") && t.is_ascii());
        assert_ne!(t, client_token(&a("vpc.y"), &attrs));
        attrs.insert("cidr".into(), Value::str("10.1.0.0/16"));
        assert_ne!(t, client_token(&a("vpc.x"), &attrs));
    }

    #[test]
    fn topo_breaks_ties_by_index_and_reports_cycles() {
        let edges: BTreeSet<(usize, usize)> = [(2, 0), (3, 1)].into_iter().collect();
        assert_eq!(topo(4, &edges).unwrap(), vec![2, 0, 3, 1]);
        let cyclic: BTreeSet<(usize, usize)> =
            [(0, 1), (1, 2), (2, 0), (3, 3)].into_iter().collect();
        assert_eq!(topo(4, &cyclic).unwrap_err(), vec![vec![0, 1, 2], vec![3]]);
    }

    #[test]
    fn lists_compare_as_sets() {
        let l = |v: &[&str]| Value::List(v.iter().map(|s| Value::str(*s)).collect());
        assert!(same_value(&l(&["a", "b"]), &l(&["b", "a"])));
        assert!(!same_value(&l(&["a", "b"]), &l(&["a"])));
        assert!(!same_value(&l(&["a", "a"]), &l(&["a", "b"])));
        assert!(!same_value(&Value::Int(1), &Value::str("1")));
    }

    #[test]
    fn cents_render_with_two_decimals() {
        assert_eq!(cents(4210), "42.10");
        assert_eq!(cents(5), "0.05");
        assert_eq!(cents(-150), "-1.50");
    }

    #[test]
    fn a_replacement_whose_old_resource_something_keeps_using_is_refused() {
        let main: flinkform_core::AccountName = "main".parse().unwrap();
        let attrs = |pairs: &[(&str, &str)]| -> Attrs {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
                .collect()
        };
        let vpc = a("vpc.x");
        let vsw = a("vswitch.x[0]");
        let mut desired = Desired::default();
        desired.resources.insert(
            vpc.clone(),
            DesiredResource {
                addr: vpc.clone(),
                mode: Mode::Managed,
                account: main.clone(),
                region: None,
                attrs: attrs(&[("cidr", "10.11.0.0/16")]),
                depends_on: BTreeSet::new(),
                protect: false,
                origin: None,
            },
        );
        // An existing vSwitch (read, never deleted) inside the VPC.
        desired.resources.insert(
            vsw.clone(),
            DesiredResource {
                addr: vsw.clone(),
                mode: Mode::Data,
                account: main.clone(),
                region: None,
                attrs: attrs(&[("id", "vsw-1")]),
                depends_on: [vpc.clone()].into_iter().collect(),
                protect: false,
                origin: None,
            },
        );
        let rec =
            |addr: &Address, mode, id: &str, attrs: Attrs, deps: &[&Address]| RecordedResource {
                addr: addr.clone(),
                mode,
                account: main.clone(),
                region: None,
                cloud_id: CloudId::new(id).unwrap(),
                attrs,
                depends_on: deps.iter().map(|a| (*a).clone()).collect(),
                protect: false,
            };
        let recorded: BTreeMap<Address, RecordedResource> = [
            (
                vpc.clone(),
                rec(
                    &vpc,
                    Mode::Managed,
                    "vpc-1",
                    attrs(&[("cidr", "10.10.0.0/16")]),
                    &[],
                ),
            ),
            (
                vsw.clone(),
                rec(&vsw, Mode::Data, "vsw-1", Attrs::new(), &[&vpc]),
            ),
        ]
        .into_iter()
        .collect();
        let e = plan(
            &desired,
            &recorded,
            &Observed::default(),
            &PlanOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.errors,
            vec![Error::ReplaceBlocked {
                at: String::new(),
                addr: "vpc.x".into(),
                user: "vswitch.x[0]".into(),
            }]
        );
    }

    #[test]
    fn a_no_op_names_its_resource_and_carries_no_copy_of_it() {
        let main: flinkform_core::AccountName = "main".parse().unwrap();
        let region: flinkform_core::Region = "ap-southeast-1".parse().unwrap();
        let attrs: Attrs = [("cidr".to_owned(), Value::str("10.10.0.0/16"))]
            .into_iter()
            .collect();
        let mut desired = Desired::default();
        let mut recorded = BTreeMap::new();
        let mut observed = Observed::default();
        for (i, name) in ["same", "changed"].into_iter().enumerate() {
            let addr = a(&format!("vpc.{name}"));
            desired.resources.insert(
                addr.clone(),
                DesiredResource {
                    addr: addr.clone(),
                    mode: Mode::Managed,
                    account: main.clone(),
                    region: Some(region.clone()),
                    attrs: attrs.clone(),
                    depends_on: BTreeSet::new(),
                    protect: i == 1,
                    origin: None,
                },
            );
            let id = CloudId::new(format!("vpc-{name}")).unwrap();
            recorded.insert(
                addr.clone(),
                RecordedResource {
                    addr: addr.clone(),
                    mode: Mode::Managed,
                    account: main.clone(),
                    region: Some(region.clone()),
                    cloud_id: id.clone(),
                    attrs: attrs.clone(),
                    depends_on: BTreeSet::new(),
                    protect: false,
                },
            );
            let found =
                ObservedResource::new(ResourceKind::Vpc, id, attrs.clone(), Readiness::Ready);
            observed.resources.insert(addr, Observation::Found(found));
        }
        let plan = plan(&desired, &recorded, &observed, &PlanOptions::default()).unwrap();
        let ops: Vec<(String, Op)> = plan
            .actions
            .iter()
            .map(|x| (x.addr.to_string(), x.op))
            .collect();
        assert_eq!(
            ops,
            [
                ("vpc.changed".to_owned(), Op::Adopt),
                ("vpc.same".to_owned(), Op::NoOp)
            ]
        );
        for (i, x) in plan.actions.iter().enumerate() {
            assert_eq!(
                x.id,
                ActionId(u32::try_from(i).unwrap()),
                "numbered in order"
            );
            assert_eq!(x.mode, Some(Mode::Managed));
            assert_eq!(x.account.as_ref(), Some(&main));
            assert_eq!(x.region.as_ref(), Some(&region));
        }
        let (changed, same) = (&plan.actions[0], &plan.actions[1]);
        assert!(changed.desired.is_some() && changed.prior.is_some());
        assert!(same.desired.is_none() && same.prior.is_none());
        assert_eq!(
            same.cloud_id.as_ref().map(CloudId::as_str),
            Some("vpc-same")
        );
    }

    #[test]
    fn a_dependency_cycle_is_an_error_not_a_panic() {
        let mut desired = Desired::default();
        for (name, dep) in [("x", "y"), ("y", "x")] {
            let addr = a(&format!("vpc.{name}"));
            desired.resources.insert(
                addr.clone(),
                DesiredResource {
                    addr,
                    mode: Mode::Managed,
                    account: "main".parse().unwrap(),
                    region: None,
                    attrs: Attrs::new(),
                    depends_on: [a(&format!("vpc.{dep}"))].into_iter().collect(),
                    protect: false,
                    origin: None,
                },
            );
        }
        let e = plan(
            &desired,
            &BTreeMap::new(),
            &Observed::default(),
            &PlanOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.errors,
            vec![Error::Cycle {
                addresses: "vpc.x, vpc.y".into()
            }]
        );
    }
}
