//! Tuning of the executor: concurrency, polling, retries and per-API rate limits.

use std::collections::BTreeMap;
use std::time::Duration;

use flinkform_core::{ApiGroup, ApiKey, CallClass};

/// How the executor retries calls that failed with a retryable error (throttling, 5xx,
/// timeouts): exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means no retry).
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry; it doubles with every further retry.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(500),
            max: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling before retry number `retry` (1-based): `min(max, base · 2^(retry-1))`.
    #[must_use]
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Executor options. The defaults suit the real cloud; tests shrink the durations.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOptions {
    /// Most provider calls in flight at once (0 counts as 1). Waiting for a resource to
    /// become ready holds no slot.
    pub parallelism: usize,
    /// First delay between polls of a pending resource.
    pub poll_initial: Duration,
    /// Longest delay between polls (the delay doubles up to it).
    pub poll_max: Duration,
    /// Longest wait for one resource to become ready or absent.
    pub wait_timeout: Duration,
    /// Retries of retryable errors.
    pub retry: RetryPolicy,
    /// Calls per second per API budget (API group and changes or reads), halved on
    /// throttling and recovered additively on success.
    pub rate_limits: RateLimits,
    /// Values for gates (`apply --input NAME=VALUE`), by gate name
    /// (`verify-email.observability`). A gate without a value waits.
    pub inputs: std::collections::BTreeMap<String, String>,
    /// Cancelled by the first Ctrl-C: no further action starts, a wait stops at its next
    /// poll, and the walk ends once the calls in flight are recorded.
    pub cancel: crate::cancel::Cancellation,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            parallelism: 10,
            poll_initial: Duration::from_secs(2),
            poll_max: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(30 * 60),
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            inputs: std::collections::BTreeMap::new(),
            cancel: crate::cancel::Cancellation::default(),
        }
    }
}

/// Starting rates (calls per second, per account and region) of each API budget. A rate
/// that is zero, negative or infinite means unlimited.
///
/// [`RateLimits::documented`] starts from Alibaba Cloud's published API quotas where they
/// are known (see ARCHITECTURE.md, "Rate limits"); `--rate-limit API=N` overrides them.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Budgets not named in `rates` (`None`: unlimited).
    pub fallback: Option<f64>,
    /// Rates by budget.
    pub rates: BTreeMap<ApiKey, f64>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::documented()
    }
}

fn finite(rate: f64) -> Option<f64> {
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

impl RateLimits {
    /// The documented quotas: the VPC quota table gives its changes (`CreateVSwitch`,
    /// `ModifyVpcAttribute`, …) 300 calls per minute each, per action, region and account
    /// (5/s), so the VPC group's changes, two create actions of a fleet at once, get 10/s;
    /// every other API 10 calls/s for changes, and every group 20/s for reads (no published
    /// figure was found for VPC reads, foasconsole, OSS bucket administration, RAM or BSS:
    /// conservative values, adapted down on throttling).
    #[must_use]
    pub fn documented() -> Self {
        let mut rates = BTreeMap::new();
        for group in ApiGroup::ALL {
            let (write, read) = (10.0, 20.0);
            rates.insert(ApiKey::write(group), write);
            rates.insert(ApiKey::read(group), read);
        }
        Self {
            fallback: Some(10.0),
            rates,
        }
    }

    /// No limit at all.
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            fallback: None,
            rates: BTreeMap::new(),
        }
    }

    /// `rate` calls per second for every budget.
    #[must_use]
    pub fn uniform(rate: f64) -> Self {
        Self {
            fallback: finite(rate),
            rates: BTreeMap::new(),
        }
    }

    /// The starting rate of `key` (`None`: unlimited).
    #[must_use]
    pub fn rate(&self, key: ApiKey) -> Option<f64> {
        match self.rates.get(&key) {
            Some(r) => finite(*r),
            None => self.fallback,
        }
    }

    /// Applies one override `API=N`: `API` is a group (`vpc`, `oss`, `flink`, `ram`, `bss`,
    /// `sts`, `resourcemanager`, `market`; both changes and reads), a budget (`vpc.write`,
    /// `flink.read`) or `*` (every budget); `N` is calls per second (`0` or `inf`:
    /// unlimited).
    ///
    /// # Errors
    /// A message naming what is wrong with `spec`.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (api, n) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}` is not API=N"))?;
        let rate: f64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` in `{spec}` is not a number of calls per second"))?;
        if rate.is_nan() || rate < 0.0 {
            return Err(format!("`{n}` in `{spec}` is negative"));
        }
        let api = api.trim();
        let (group, class) = match api.split_once('.') {
            Some((g, c)) => (g, Some(c)),
            None => (api, None),
        };
        let classes: Vec<CallClass> = match class {
            None => vec![CallClass::Write, CallClass::Read],
            Some("write") => vec![CallClass::Write],
            Some("read") => vec![CallClass::Read],
            Some(other) => {
                return Err(format!(
                    "`{other}` in `{spec}` is neither `write` nor `read`"
                ));
            }
        };
        let groups: Vec<ApiGroup> = if group == "*" {
            if class.is_none() {
                self.fallback = finite(rate);
            }
            ApiGroup::ALL.to_vec()
        } else {
            vec![group.parse::<ApiGroup>()?]
        };
        for group in groups {
            for class in &classes {
                self.rates.insert(
                    ApiKey {
                        group,
                        class: *class,
                    },
                    rate,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VPC_W: ApiKey = ApiKey::write(ApiGroup::Vpc);
    const VPC_R: ApiKey = ApiKey::read(ApiGroup::Vpc);
    const FLINK_R: ApiKey = ApiKey::read(ApiGroup::Flink);

    #[test]
    fn overrides_by_group_budget_and_star() {
        let mut l = RateLimits::documented();
        assert_eq!((l.rate(VPC_W), l.rate(VPC_R)), (Some(10.0), Some(20.0)));
        l.set("vpc=50").unwrap();
        assert_eq!((l.rate(VPC_W), l.rate(VPC_R)), (Some(50.0), Some(50.0)));
        l.set("vpc.read=0").unwrap();
        assert_eq!((l.rate(VPC_W), l.rate(VPC_R)), (Some(50.0), None));
        l.set("foasconsole.read=7.5").unwrap();
        assert_eq!(l.rate(FLINK_R), Some(7.5));
        l.set("*=inf").unwrap();
        assert_eq!((l.rate(VPC_W), l.rate(FLINK_R)), (None, None));
        for bad in ["vpc", "vpc=x", "vpc=-1", "ecs=3", "vpc.poll=3"] {
            assert!(l.set(bad).is_err(), "{bad}");
        }
    }
}
