//! Tuning of the executor: concurrency, polling, retries and per-API rate limits.

use std::time::Duration;

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
    /// Calls per second per API (resource kind), halved on throttling and recovered
    /// additively on success. Zero, negative or infinite means unlimited.
    pub rate_per_api: f64,
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
            rate_per_api: 10.0,
            inputs: std::collections::BTreeMap::new(),
            cancel: crate::cancel::Cancellation::default(),
        }
    }
}
