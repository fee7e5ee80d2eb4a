//! Faults on demand: a seeded, reproducible [`FaultPlan`] (loaded from a JSON file or set
//! through the loopback admin endpoint `POST /_sim/faults`) that makes the emulator behave
//! like a hostile cloud: per-action QPS limits (token buckets in wall-clock time; excess
//! requests get 400 `Throttling.User` with `x-acs-retry-after`), 5xx answers with a
//! probability or in bursts, latency, responses lost after the change was committed (by
//! action or by the k-th committed mutating call), workspaces stuck in `CREATING`, and
//! failed orders. The default plan has no faults. The format is documented in
//! `specs/cloud-api.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Matches every action in a rule's `action` field.
pub const ANY_ACTION: &str = "*";

fn any() -> String {
    ANY_ACTION.to_owned()
}

fn one() -> u32 {
    1
}

fn status_500() -> u16 {
    500
}

fn internal_error() -> String {
    "InternalError".to_owned()
}

fn status_400() -> u16 {
    400
}

fn order_failed() -> String {
    "ORDER.CREATE_FAILED".to_owned()
}

fn order_failed_message() -> String {
    "The order could not be placed. Please try again later.".to_owned()
}

/// A seeded, reproducible set of faults. Every field is optional; `{}` means no faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Seed of the random choices (error probabilities, uniform latency).
    pub seed: u64,
    /// Requests per wall-clock second allowed per action (`"*"`: every action, each with
    /// its own bucket). A bucket holds at most one second of requests (and at least one).
    pub qps: BTreeMap<String, f64>,
    /// Server errors answered instead of carrying the request out.
    pub errors: Vec<ErrorRule>,
    /// Delays before a request is handled.
    pub latency: Vec<LatencyRule>,
    /// Responses lost after the change was committed (the client sees 503).
    pub lose_response: Vec<LoseRule>,
    /// Names of workspaces that stay `CREATING` for ever once ordered.
    pub stuck_creating: Vec<String>,
    /// `CreateInstance` calls that fail with an order error, creating nothing.
    pub failed_orders: Vec<FailedOrder>,
}

/// 5xx answers for an action: with a probability, and/or in a burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// The action (`"*"`: every action).
    #[serde(default = "any")]
    pub action: String,
    /// Chance in `[0, 1]` that a matching request fails (seeded).
    #[serde(default)]
    pub probability: f64,
    /// A burst: matching requests number `after + 1 ..= after + count` (1-based, counted per
    /// rule) fail.
    #[serde(default)]
    pub burst: Option<Burst>,
    /// HTTP status (default 500).
    #[serde(default = "status_500")]
    pub status: u16,
    /// Error code (default `InternalError`).
    #[serde(default = "internal_error")]
    pub code: String,
}

/// A run of consecutive failing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Matching requests that pass before the burst.
    pub after: u64,
    /// Requests that fail.
    pub count: u64,
}

/// A delay before matching requests are handled (wall-clock milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRule {
    /// The action (`"*"`: every action).
    #[serde(default = "any")]
    pub action: String,
    /// A fixed delay.
    #[serde(default)]
    pub fixed_ms: Option<u64>,
    /// A delay drawn uniformly from `[min, max]` (seeded).
    #[serde(default)]
    pub uniform_ms: Option<[u64; 2]>,
}

/// A response lost after commit: the change is made and persisted, the client gets 503
/// `ServiceUnavailable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoseRule {
    /// Only committed calls of this action (`None` or `"*"`: any mutating action).
    #[serde(default)]
    pub action: Option<String>,
    /// Only the k-th committed mutating call of the server's lifetime (1-based).
    #[serde(default)]
    pub mutating_call: Option<u64>,
    /// How many matching calls lose their response (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

/// A failed order: `CreateInstance` answers this error and creates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedOrder {
    /// Only orders for this workspace name (`None`: every order).
    #[serde(default)]
    pub workspace: Option<String>,
    /// HTTP status (default 400).
    #[serde(default = "status_400")]
    pub status: u16,
    /// Error code (default `ORDER.CREATE_FAILED`).
    #[serde(default = "order_failed")]
    pub code: String,
    /// Error message.
    #[serde(default = "order_failed_message")]
    pub message: String,
    /// How many orders fail (`None`: all of them).
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultPlan {
    /// Parses a plan from JSON and checks it.
    ///
    /// # Errors
    /// [`Error::FaultPlan`] naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self> {
        let plan: Self = serde_json::from_str(text).map_err(|e| Error::FaultPlan(e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    /// Reads a plan from a JSON file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::FaultPlan`] when it is not a plan.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| match e {
            Error::FaultPlan(m) => Error::FaultPlan(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Checks ranges: positive finite QPS, probabilities in `[0, 1]`, error statuses 4xx/5xx,
    /// ordered uniform bounds.
    ///
    /// # Errors
    /// [`Error::FaultPlan`].
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::FaultPlan(m));
        for (action, qps) in &self.qps {
            if !qps.is_finite() || *qps <= 0.0 {
                return bad(format!("qps of {action:?} must be a positive number"));
            }
        }
        for r in &self.errors {
            if !(0.0..=1.0).contains(&r.probability) {
                return bad(format!(
                    "error probability of {:?} must be between 0 and 1",
                    r.action
                ));
            }
            if !(400..=599).contains(&r.status) {
                return bad(format!("error status {} is not 4xx or 5xx", r.status));
            }
        }
        for o in &self.failed_orders {
            if !(400..=599).contains(&o.status) {
                return bad(format!("order error status {} is not 4xx or 5xx", o.status));
            }
        }
        for l in &self.latency {
            if let Some([lo, hi]) = l.uniform_ms
                && lo > hi
            {
                return bad(format!("uniform latency [{lo}, {hi}] is not ordered"));
            }
        }
        Ok(())
    }

    /// Whether the plan has no faults at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.qps.is_empty()
            && self.errors.is_empty()
            && self.latency.is_empty()
            && self.lose_response.is_empty()
            && self.stuck_creating.is_empty()
            && self.failed_orders.is_empty()
    }
}

fn matches(rule: &str, action: &str) -> bool {
    rule == ANY_ACTION || rule == action
}

/// An error the fault plan answers instead of the real handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Injected {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) retry_after_ms: Option<u64>,
}

struct TokenBucket {
    tokens: f64,
    last: Instant,
}

/// A plan plus the counters and random state that make it reproducible.
pub(crate) struct Faults {
    plan: FaultPlan,
    rng: u64,
    buckets: BTreeMap<String, TokenBucket>,
    /// Matching requests seen per error rule (for bursts).
    error_seen: Vec<u64>,
    /// Firings left per lose rule.
    lose_left: Vec<u32>,
    /// Failures left per failed-order rule (`None`: unlimited).
    orders_left: Vec<Option<u32>>,
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let mut f = Self {
            plan: FaultPlan::default(),
            rng: 0,
            buckets: BTreeMap::new(),
            error_seen: Vec::new(),
            lose_left: Vec::new(),
            orders_left: Vec::new(),
        };
        f.set(plan);
        f
    }

    /// Replaces the plan and resets every counter, bucket and the random state.
    pub(crate) fn set(&mut self, plan: FaultPlan) {
        self.rng = plan.seed ^ 0x9E37_79B9_7F4A_7C15;
        self.buckets.clear();
        self.error_seen = vec![0; plan.errors.len()];
        self.lose_left = plan.lose_response.iter().map(|r| r.times).collect();
        self.orders_left = plan.failed_orders.iter().map(|o| o.times).collect();
        self.plan = plan;
    }

    pub(crate) fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The delay to wait before handling a request of `action`.
    pub(crate) fn latency(&mut self, action: &str) -> Option<Duration> {
        let rule = self
            .plan
            .latency
            .iter()
            .find(|l| matches(&l.action, action))
            .cloned()?;
        let ms = match (rule.fixed_ms, rule.uniform_ms) {
            (_, Some([lo, hi])) => lo + self.next_u64() % (hi - lo + 1),
            (Some(ms), None) => ms,
            (None, None) => 0,
        };
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// Throttling, then server errors, then failed orders: the error to answer instead of
    /// handling a request of `action` (`workspace`: the `InstanceName` of a `CreateInstance`).
    pub(crate) fn before(&mut self, action: &str, workspace: Option<&str>) -> Option<Injected> {
        if let Some(e) = self.throttle(action, Instant::now()) {
            return Some(e);
        }
        for i in 0..self.plan.errors.len() {
            if !matches(&self.plan.errors[i].action, action) {
                continue;
            }
            self.error_seen[i] += 1;
            let n = self.error_seen[i];
            let rule = &self.plan.errors[i];
            let in_burst = rule
                .burst
                .is_some_and(|b| n > b.after && n <= b.after.saturating_add(b.count));
            let (status, code, p) = (rule.status, rule.code.clone(), rule.probability);
            if in_burst || (p > 0.0 && self.unit() < p) {
                return Some(Injected {
                    status,
                    code,
                    message: "The request processing has failed due to some unknown error."
                        .to_owned(),
                    retry_after_ms: None,
                });
            }
        }
        if action == "CreateInstance" {
            for i in 0..self.plan.failed_orders.len() {
                let o = &self.plan.failed_orders[i];
                let applies = o.workspace.is_none() || o.workspace.as_deref() == workspace;
                if !applies || self.orders_left[i] == Some(0) {
                    continue;
                }
                if let Some(left) = &mut self.orders_left[i] {
                    *left -= 1;
                }
                return Some(Injected {
                    status: o.status,
                    code: o.code.clone(),
                    message: o.message.clone(),
                    retry_after_ms: None,
                });
            }
        }
        None
    }

    /// The QPS limit of `action` at time `now` (a token bucket that refills in wall-clock
    /// time; `now` is a parameter so tests can step time instead of sleeping).
    fn throttle(&mut self, action: &str, now: Instant) -> Option<Injected> {
        let qps = self
            .plan
            .qps
            .get(action)
            .or_else(|| self.plan.qps.get(ANY_ACTION))
            .copied()?;
        let capacity = qps.max(1.0);
        let bucket = self
            .buckets
            .entry(action.to_owned())
            .or_insert(TokenBucket {
                tokens: capacity,
                last: now,
            });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * qps).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return None;
        }
        let wait_ms = ((1.0 - bucket.tokens) / qps * 1000.0).ceil().max(1.0) as u64;
        Some(Injected {
            status: 400,
            code: "Throttling.User".to_owned(),
            message: "Request was denied due to user flow control.".to_owned(),
            retry_after_ms: Some(wait_ms),
        })
    }

    /// Whether the committed call `k` (1-based, over the server's lifetime) of `action`
    /// loses its response.
    pub(crate) fn lose(&mut self, action: &str, k: u64) -> bool {
        for i in 0..self.plan.lose_response.len() {
            let r = &self.plan.lose_response[i];
            let action_ok = r.action.as_deref().is_none_or(|a| matches(a, action));
            let k_ok = r.mutating_call.is_none_or(|m| m == k);
            if action_ok && k_ok && self.lose_left[i] > 0 {
                self.lose_left[i] -= 1;
                return true;
            }
        }
        false
    }

    /// Whether a workspace called `name` stays `CREATING`.
    pub(crate) fn stuck(&self, name: &str) -> bool {
        self.plan.stuck_creating.iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_plan_injects_nothing() {
        let mut f = Faults::new(FaultPlan::default());
        assert!(FaultPlan::default().is_empty());
        for _ in 0..1000 {
            assert_eq!(f.before("CreateVpc", None), None);
        }
        assert_eq!(f.latency("CreateVpc"), None);
        assert!(!f.lose("CreateVpc", 1));
        assert_eq!(FaultPlan::from_json("{}").unwrap(), FaultPlan::default());
    }

    #[test]
    fn qps_limits_each_action_separately() {
        let mut f = Faults::new(FaultPlan::from_json(r#"{"qps": {"*": 2}}"#).unwrap());
        assert_eq!(f.before("CreateVpc", None), None);
        assert_eq!(f.before("CreateVpc", None), None);
        let e = f.before("CreateVpc", None).unwrap();
        assert_eq!((e.status, e.code.as_str()), (400, "Throttling.User"));
        assert!(e.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 500));
        assert_eq!(f.before("CreateVSwitch", None), None, "own bucket");
    }

    #[test]
    fn a_throttled_action_recovers_after_its_retry_hint() {
        let mut f = Faults::new(FaultPlan::from_json(r#"{"qps": {"GetRole": 2}}"#).unwrap());
        let t0 = Instant::now();
        assert_eq!(f.throttle("GetRole", t0), None);
        assert_eq!(f.throttle("GetRole", t0), None);
        let hint = f
            .throttle("GetRole", t0)
            .and_then(|e| e.retry_after_ms)
            .unwrap();
        let just_before = t0 + Duration::from_millis(hint.saturating_sub(100));
        assert!(
            f.throttle("GetRole", just_before).is_some(),
            "still empty before the hint"
        );
        let after = t0 + Duration::from_millis(hint + 1);
        assert_eq!(
            f.throttle("GetRole", after),
            None,
            "refilled after the hint"
        );
    }

    #[test]
    fn errors_are_seeded_and_bursts_exact() {
        let plan = FaultPlan::from_json(
            r#"{"seed": 7, "errors": [{"action": "DescribeVpcs", "probability": 0.3}]}"#,
        )
        .unwrap();
        let run = |plan: &FaultPlan| {
            let mut f = Faults::new(plan.clone());
            (0..200)
                .map(|_| f.before("DescribeVpcs", None).is_some())
                .collect::<Vec<_>>()
        };
        let a = run(&plan);
        assert_eq!(a, run(&plan), "same seed, same faults");
        let n = a.iter().filter(|x| **x).count();
        assert!((30..=90).contains(&n), "{n} of 200 at p=0.3");
        let mut f = Faults::new(
            FaultPlan::from_json(
                r#"{"errors": [{"action": "GetRole", "burst": {"after": 1, "count": 2}, "status": 503, "code": "ServiceUnavailable"}]}"#,
            )
            .unwrap(),
        );
        let seen: Vec<Option<u16>> = (0..5)
            .map(|_| f.before("GetRole", None).map(|e| e.status))
            .collect();
        assert_eq!(seen, [None, Some(503), Some(503), None, None]);
    }

    #[test]
    fn lose_by_k_and_failed_orders() {
        let mut f = Faults::new(
            FaultPlan::from_json(
                r#"{"lose_response": [{"mutating_call": 3}, {"action": "CreateVpc", "times": 2}],
                    "failed_orders": [{"workspace": "w", "times": 1}],
                    "stuck_creating": ["s"]}"#,
            )
            .unwrap(),
        );
        assert!(!f.lose("CreateRole", 1));
        assert!(f.lose("CreateRole", 3));
        assert!(!f.lose("CreateRole", 3), "fires once");
        assert!(f.lose("CreateVpc", 4));
        assert!(f.lose("CreateVpc", 5));
        assert!(!f.lose("CreateVpc", 6));
        assert_eq!(f.before("CreateInstance", Some("x")), None);
        let e = f.before("CreateInstance", Some("w")).unwrap();
        assert_eq!(e.code, "ORDER.CREATE_FAILED");
        assert_eq!(f.before("CreateInstance", Some("w")), None);
        assert!(f.stuck("s") && !f.stuck("w"));
    }

    #[test]
    fn bad_plans_are_rejected() {
        for bad in [
            r#"{"qps": {"*": 0}}"#,
            r#"{"errors": [{"probability": 2}]}"#,
            r#"{"latency": [{"uniform_ms": [5, 1]}]}"#,
            r#"{"nonsense": 1}"#,
            "[",
        ] {
            assert!(FaultPlan::from_json(bad).is_err(), "{bad}");
        }
    }
}
