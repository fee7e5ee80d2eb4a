//! The executor: walks a [`flinkform_plan::Plan`] with tokio, calling a
//! [`flinkform_core::Provider`] for each action and recording every intent and outcome
//! through a [`flinkform_state::StateSink`].
//!
//! - bounded concurrency: at most `parallelism` provider calls in flight, a free slot going
//!   to the call of the plan's earliest chain; waiting for a resource to become ready polls
//!   without holding a slot;
//! - per-API (per resource kind) adaptive token buckets, and retries of throttling and
//!   transient errors with exponential backoff and full jitter;
//! - crash safety: an intent is durable before each mutating call, the outcome right after;
//!   [`resolve_intents`] explains in the next plan what happens to intents left dangling;
//! - failure isolation: a failed action's dependents are skipped, independent branches finish;
//! - progress as [`Event`]s, and an [`ApplyReport`] sorted by address.
//!
//! All time is `tokio::time`, so tests run on a paused clock.

mod cancel;
mod error;
mod event;
mod exec;
mod gate;
pub mod limiter;
mod options;
mod prepare;
mod recovery;
mod report;
mod saved;
mod slots;

pub use cancel::Cancellation;
pub use error::{Error, Result};
pub use event::Event;
pub use exec::apply;
pub use limiter::RateLimiter;
pub use options::{ApplyOptions, RateLimits, RetryPolicy};
pub use prepare::{Prepared, marked, quote_prices, refresh_and_plan};
pub use recovery::{IntentResolution, resolve_intents};
pub use report::{ApplyReport, NodeResult, NodeStatus};
pub use saved::reobserve;
