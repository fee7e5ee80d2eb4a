//! The credentials of one account as the client signs with them: a [`CredentialCache`]
//! holds the current ones, fetches temporary credentials on first use and again before they
//! expire, and is shared by every request of that account (a long apply keeps working past
//! the lifetime of one set of STS credentials).
//!
//! # Guarantees
//! - Temporary credentials are refetched once less than [`REFRESH_MARGIN`] (or half their
//!   lifetime, when shorter) is left, judged on the cache's [`Clock`]; until then every
//!   request gets the same ones and the network is not asked.
//! - A lifetime is `Expiration` minus the issue time (the requested `DurationSeconds` for
//!   STS, `LastUpdated` for the metadata service), never longer than `Expiration` minus the
//!   local wall clock, and measured from the moment the answer arrived: a local clock that
//!   runs late cannot make the cache use expired credentials.
//! - When a refresh fails while the held credentials are still valid, they are used and
//!   the next request tries again; once expired, the error is returned.
//! - A request the cloud refused as signed with expired credentials
//!   (`InvalidSecurityToken.Expired`, OSS `SecurityTokenExpired`: the local and the cloud's
//!   clock disagree) makes the client fetch new ones and send it once more
//!   ([`CredentialCache::expire`]); the refused request changed nothing.
//!
//! Tests: `tests/credentials.rs` (`ram_role_credentials_are_refreshed_before_they_expire`,
//! `oidc_tokens_are_read_from_the_file_at_every_fetch`,
//! `a_request_refused_as_expired_is_sent_again_with_new_credentials`) and
//! `fetch::tests::a_lifetime_is_the_issued_one_capped_by_the_wall_clock`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Credentials;
use super::fetch::{Fetched, fetch};
use super::source::Source;
use crate::client::ClientOptions;
use crate::endpoint::Endpoints;
use crate::error::Result;

/// Temporary credentials are refreshed when less than this is left (as the official SDKs
/// do), or half their lifetime when that is shorter.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(180);

/// What [`CredentialCache::get`] returns.
pub type CredentialsFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Credentials>> + Send + 'a>>;

/// A monotonic clock for credential lifetimes.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock, optionally running `scale` times faster (for an emulator
/// whose cloud clock is compressed: its credentials' lifetimes are cloud seconds).
#[derive(Debug)]
pub struct MonotonicClock {
    start: Instant,
    scale: f64,
}

impl MonotonicClock {
    /// The real clock.
    #[must_use]
    pub fn new() -> Self {
        Self::scaled(1.0)
    }

    /// A clock running `scale` times faster than the real one (values below 1 count as 1).
    #[must_use]
    pub fn scaled(scale: f64) -> Self {
        Self {
            start: Instant::now(),
            scale: if scale.is_finite() {
                scale.max(1.0)
            } else {
                1.0
            },
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.start.elapsed().mul_f64(self.scale)
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicU64,
}

impl ManualClock {
    /// A clock at zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.ms.load(Ordering::SeqCst))
    }
}

struct Held {
    credentials: Credentials,
    /// Clock time from which to refresh; `None`: never.
    refresh_at: Option<Duration>,
    /// Clock time of expiry; `None`: never.
    expires_at: Option<Duration>,
}

/// The current credentials of one account (see the module documentation). Shared by every
/// client handle of that account.
pub struct CredentialCache {
    source: Source,
    endpoints: Endpoints,
    options: ClientOptions,
    clock: Arc<dyn Clock>,
    held: tokio::sync::Mutex<Option<Held>>,
    fetches: AtomicU64,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("source", &self.source.describe())
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache of `source`; STS calls go through `endpoints` (unless the source names its
    /// own STS endpoint) with `options`; lifetimes are judged on `clock`.
    #[must_use]
    pub fn new(
        source: Source,
        endpoints: Endpoints,
        options: ClientOptions,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let held = match &source {
            Source::Static { credentials, .. } => Some(Held {
                credentials: credentials.clone(),
                refresh_at: None,
                expires_at: None,
            }),
            _ => None,
        };
        Self {
            source,
            endpoints,
            options,
            clock,
            held: tokio::sync::Mutex::new(held),
            fetches: AtomicU64::new(0),
        }
    }

    /// A cache of fixed credentials (never fetched).
    #[must_use]
    pub fn fixed(credentials: Credentials) -> Self {
        Self::new(
            Source::Static {
                credentials,
                origin: super::source::Origin::Given,
            },
            Endpoints::Real,
            ClientOptions::default(),
            Arc::new(MonotonicClock::new()),
        )
    }

    /// Where the credentials come from.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// How many times credentials were fetched (STS calls, metadata reads).
    #[must_use]
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cloud refused the held credentials as expired: the next [`CredentialCache::get`]
    /// fetches new ones. `false` (nothing to do) for fixed credentials.
    pub async fn expire(&self) -> bool {
        if matches!(self.source, Source::Static { .. }) {
            return false;
        }
        if let Some(h) = self.held.lock().await.as_mut() {
            h.refresh_at = Some(Duration::ZERO);
            h.expires_at = Some(Duration::ZERO);
        }
        true
    }

    /// The credentials to sign the next request with: the held ones, or fresh ones when
    /// none are held or they are due for refresh.
    ///
    /// # Errors
    /// When fetching fails and no valid credentials are held.
    pub fn get(&self) -> CredentialsFuture<'_> {
        // A named, boxed future: fetching signs STS calls with a client whose requests ask
        // a cache, so the compiler could not otherwise see that this future is `Send`.
        Box::pin(self.get_inner())
    }

    async fn get_inner(&self) -> Result<Credentials> {
        let mut held = self.held.lock().await;
        let now = self.clock.now();
        if let Some(h) = held.as_ref()
            && h.refresh_at.is_none_or(|at| now < at)
        {
            return Ok(h.credentials.clone());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch(&self.source, &self.endpoints, &self.options).await {
            Ok(Fetched {
                credentials,
                lifetime,
            }) => {
                let arrived = self.clock.now();
                let (refresh_at, expires_at) = match lifetime {
                    Some(life) => {
                        let margin = REFRESH_MARGIN.min(life / 2);
                        (Some(arrived + life - margin), Some(arrived + life))
                    }
                    None => (None, None),
                };
                tracing::debug!(
                    source = %self.source.describe(),
                    access_key_id = %credentials.access_key_id,
                    lifetime_s = lifetime.map_or(0, |l| l.as_secs()),
                    "fetched credentials"
                );
                *held = Some(Held {
                    credentials: credentials.clone(),
                    refresh_at,
                    expires_at,
                });
                Ok(credentials)
            }
            Err(e) => match held.as_ref() {
                Some(h) if h.expires_at.is_some_and(|at| now < at) => {
                    tracing::warn!(source = %self.source.describe(), error = %e, "refreshing credentials failed; the current ones are still valid");
                    Ok(h.credentials.clone())
                }
                _ => Err(e),
            },
        }
    }
}
