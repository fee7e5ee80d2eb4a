//! Per-API token buckets with adaptive rates: each budget ([`ApiKey`]: an API group such as
//! VPC or foasconsole, and changes or reads) has its own bucket, starting from
//! [`RateLimits`] (documented quotas unless overridden). A throttled call halves the rates of
//! its API group and drains their buckets; every successful call recovers a twentieth of the
//! configured rate (additive increase, multiplicative decrease). Throttles are read from a
//! shared [`Throttles`] counter, which the provider's client also feeds (the reads it retries
//! itself included), so both layers slow down together. Time is `tokio::time`, so
//! paused-clock tests never sleep for real.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flinkform_core::{ApiGroup, ApiKey, Throttles};
use tokio::time::Instant;

use crate::options::RateLimits;

struct Bucket {
    /// The configured rate (the ceiling of recovery).
    max: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn capacity(&self) -> f64 {
        self.rate.max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity());
        self.last = now;
    }

    fn halve(&mut self) {
        self.rate = (self.rate / 2.0).max(self.max / 32.0);
        self.tokens = self.tokens.min(0.0);
    }
}

struct Buckets {
    by_key: BTreeMap<ApiKey, Bucket>,
    /// Per group, the throttle count last acted upon.
    seen: BTreeMap<ApiGroup, u64>,
}

/// Token buckets keyed by [`ApiKey`].
pub struct RateLimiter {
    limits: RateLimits,
    throttles: Arc<Throttles>,
    buckets: Mutex<Buckets>,
}

impl RateLimiter {
    /// Buckets at `limits`, adapting to the throttles counted in `throttles`.
    #[must_use]
    pub fn new(limits: RateLimits, throttles: Arc<Throttles>) -> Self {
        let seen = ApiGroup::ALL
            .into_iter()
            .map(|g| (g, throttles.count(g)))
            .collect();
        Self {
            limits,
            throttles,
            buckets: Mutex::new(Buckets {
                by_key: BTreeMap::new(),
                seen,
            }),
        }
    }

    /// The shared throttle counters.
    #[must_use]
    pub fn throttles(&self) -> &Arc<Throttles> {
        &self.throttles
    }

    fn with_bucket<T>(&self, key: ApiKey, f: impl FnOnce(&mut Bucket) -> T) -> Option<T> {
        let max = self.limits.rate(key)?;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        // Throttles counted since the last look (by the client or the executor) halve the
        // group's buckets once per look, not once per throttled answer: a burst of answers
        // to calls sent together is one signal.
        let count = self.throttles.count(key.group);
        let seen = buckets.seen.entry(key.group).or_insert(count);
        let throttled = count > *seen;
        *seen = count;
        if throttled {
            for (k, b) in &mut buckets.by_key {
                if k.group == key.group {
                    b.refill(now);
                    b.halve();
                }
            }
        }
        let bucket = buckets.by_key.entry(key).or_insert_with(|| Bucket {
            max,
            rate: max,
            tokens: max.max(1.0),
            last: now,
        });
        if throttled && bucket.rate == max {
            bucket.halve();
        }
        bucket.refill(now);
        Some(f(bucket))
    }

    /// Waits until a call of budget `key` may go out, and takes its token.
    pub async fn acquire(&self, key: ApiKey) {
        loop {
            let wait = self.with_bucket(key, |b| {
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    None
                } else {
                    Some(Duration::from_secs_f64((1.0 - b.tokens) / b.rate))
                }
            });
            match wait.flatten() {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// The cloud throttled a call of `key`'s group (seen by the caller, not counted by a
    /// client): count it, which halves the group's rates on the next look.
    pub fn throttled(&self, key: ApiKey) {
        self.throttles.record(key.group);
        self.with_bucket(key, |_| ());
    }

    /// A call of budget `key` succeeded: recover some of its rate.
    pub fn succeeded(&self, key: ApiKey) {
        self.with_bucket(key, |b| {
            b.rate = (b.rate + b.max / 20.0).min(b.max);
        });
    }

    /// The current rate of budget `key` (`None` when unlimited).
    #[must_use]
    pub fn rate(&self, key: ApiKey) -> Option<f64> {
        self.with_bucket(key, |b| b.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VPC_W: ApiKey = ApiKey::write(ApiGroup::Vpc);
    const VPC_R: ApiKey = ApiKey::read(ApiGroup::Vpc);
    const OSS_W: ApiKey = ApiKey::write(ApiGroup::Oss);

    fn limiter(rate: f64) -> RateLimiter {
        RateLimiter::new(RateLimits::uniform(rate), Arc::default())
    }

    #[tokio::test(start_paused = true)]
    async fn limits_rate_per_budget() {
        let l = limiter(10.0);
        let start = Instant::now();
        // The bucket holds 10 tokens; 30 calls need 20 more at 10/s: about 2 s.
        for _ in 0..30 {
            l.acquire(VPC_W).await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
        // Another group, and the reads (polls) of the same group, have their own buckets.
        let start = Instant::now();
        l.acquire(OSS_W).await;
        l.acquire(VPC_R).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_and_success_recovers() {
        let l = limiter(8.0);
        l.throttled(VPC_W);
        assert_eq!(l.rate(VPC_W), Some(4.0));
        l.throttled(VPC_W);
        assert_eq!(l.rate(VPC_W), Some(2.0));
        for _ in 0..100 {
            l.throttled(VPC_W);
        }
        assert_eq!(l.rate(VPC_W), Some(0.25), "floor is 1/32 of the rate");
        l.succeeded(VPC_W);
        assert_eq!(l.rate(VPC_W), Some(0.65));
        for _ in 0..100 {
            l.succeeded(VPC_W);
        }
        assert_eq!(l.rate(VPC_W), Some(8.0));
        assert_eq!(
            RateLimiter::new(RateLimits::unlimited(), Arc::default()).rate(VPC_W),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttles_counted_by_the_client_slow_the_whole_group() {
        let throttles = Arc::new(Throttles::default());
        let l = RateLimiter::new(RateLimits::uniform(8.0), Arc::clone(&throttles));
        assert_eq!(l.rate(VPC_W), Some(8.0));
        assert_eq!(l.rate(VPC_R), Some(8.0));
        // The client retried three throttled reads itself: one signal for the group.
        for _ in 0..3 {
            throttles.record(ApiGroup::Vpc);
        }
        assert_eq!(l.rate(VPC_W), Some(4.0));
        assert_eq!(l.rate(VPC_R), Some(4.0), "reads of the group too");
        assert_eq!(l.rate(OSS_W), Some(8.0), "other groups are untouched");
        assert_eq!(l.rate(VPC_W), Some(4.0), "each throttle is acted upon once");
    }
}
