//! Per-API token buckets with adaptive rates: each resource kind (one cloud API family) has
//! its own bucket; a throttled call halves that bucket's rate and drains it, every successful
//! call recovers a twentieth of the configured rate (additive increase, multiplicative
//! decrease). Time is `tokio::time`, so paused-clock tests never sleep for real.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use flinkform_core::ResourceKind;
use tokio::time::Instant;

struct Bucket {
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
}

/// Token buckets keyed by resource kind.
pub(crate) struct RateLimiter {
    /// `None`: unlimited.
    max_rate: Option<f64>,
    buckets: Mutex<BTreeMap<ResourceKind, Bucket>>,
}

impl RateLimiter {
    /// Buckets of `rate_per_api` calls per second; zero, negative or infinite means unlimited.
    pub(crate) fn new(rate_per_api: f64) -> Self {
        let max_rate = (rate_per_api.is_finite() && rate_per_api > 0.0).then_some(rate_per_api);
        Self {
            max_rate,
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    fn with_bucket<T>(
        &self,
        kind: ResourceKind,
        f: impl FnOnce(&mut Bucket, f64) -> T,
    ) -> Option<T> {
        let max = self.max_rate?;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let bucket = buckets.entry(kind).or_insert_with(|| Bucket {
            rate: max,
            tokens: max.max(1.0),
            last: now,
        });
        bucket.refill(now);
        Some(f(bucket, max))
    }

    /// Waits until a call to `kind`'s API may go out, and takes its token.
    pub(crate) async fn acquire(&self, kind: ResourceKind) {
        loop {
            let wait = self.with_bucket(kind, |b, _| {
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

    /// The cloud throttled a call to `kind`'s API: halve its rate and drain its bucket.
    pub(crate) fn throttled(&self, kind: ResourceKind) {
        self.with_bucket(kind, |b, max| {
            b.rate = (b.rate / 2.0).max(max / 32.0);
            b.tokens = b.tokens.min(0.0);
        });
    }

    /// A call to `kind`'s API succeeded: recover some of its rate.
    pub(crate) fn succeeded(&self, kind: ResourceKind) {
        self.with_bucket(kind, |b, max| {
            b.rate = (b.rate + max / 20.0).min(max);
        });
    }

    /// The current rate of `kind`'s API (`None` when unlimited).
    #[cfg(test)]
    fn rate(&self, kind: ResourceKind) -> Option<f64> {
        self.with_bucket(kind, |b, _| b.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limits_rate_per_kind() {
        let l = RateLimiter::new(10.0);
        let start = Instant::now();
        // The bucket holds 10 tokens; 30 calls need 20 more at 10/s: about 2 s.
        for _ in 0..30 {
            l.acquire(ResourceKind::Vpc).await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
        // Another kind has its own full bucket.
        let start = Instant::now();
        l.acquire(ResourceKind::OssBucket).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_and_success_recovers() {
        let l = RateLimiter::new(8.0);
        l.throttled(ResourceKind::Vpc);
        assert_eq!(l.rate(ResourceKind::Vpc), Some(4.0));
        l.throttled(ResourceKind::Vpc);
        assert_eq!(l.rate(ResourceKind::Vpc), Some(2.0));
        for _ in 0..100 {
            l.throttled(ResourceKind::Vpc);
        }
        assert_eq!(
            l.rate(ResourceKind::Vpc),
            Some(0.25),
            "floor is 1/32 of the rate"
        );
        l.succeeded(ResourceKind::Vpc);
        assert_eq!(l.rate(ResourceKind::Vpc), Some(0.65));
        for _ in 0..100 {
            l.succeeded(ResourceKind::Vpc);
        }
        assert_eq!(l.rate(ResourceKind::Vpc), Some(8.0));
        assert_eq!(
            RateLimiter::new(f64::INFINITY).rate(ResourceKind::Vpc),
            None
        );
    }
}
