//! The boundary between the executor and a cloud.
//!
//! A `Provider` reads the cloud in batches and performs one mutating call per method call.
//! The executor owns ordering, concurrency, retries and waiting; a provider owns the mapping
//! between catalog attributes and API parameters. The same provider implementation talks to
//! the real Alibaba Cloud and to the bundled emulator: only the endpoints differ.

use std::fmt;

use async_trait::async_trait;

use crate::addr::Address;
use crate::ids::{AccountName, AccountUid, CloudId, Region};
use crate::money::Price;
use crate::observe::{Observation, ObserveRequest, Observed};
use crate::resource::{DesiredResource, Mode, RecordedResource};
use crate::value::Attrs;

/// A request to create or update one resource. Attributes are fully resolved: no references.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// The resource.
    pub addr: Address,
    /// Its account.
    pub account: AccountName,
    /// Its region, if regional.
    pub region: Option<Region>,
    /// Desired attributes.
    pub attrs: Attrs,
    /// For updates: what the state remembers.
    pub prior: Option<RecordedResource>,
    /// For updates: names of the attributes to change.
    pub changed: Vec<String>,
    /// A deterministic idempotency token for this create (same address and attributes →
    /// same token), at most 64 ASCII characters. Sent as `ClientToken` where the API has one.
    pub client_token: String,
}

/// A request to delete one resource.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// What the state remembers of it.
    pub prior: RecordedResource,
    /// For a bucket: how many objects the user confirmed deleting with it (`None`: it held
    /// none when planned). A provider deletes them first, and refuses when the bucket
    /// holds more by then.
    pub objects: Option<u64>,
}

/// What a mutating call achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The resource's id (for a delete, the id that was deleted).
    pub cloud_id: CloudId,
    /// Attributes as now known (desired attributes where the API did not echo them).
    pub attrs: Attrs,
    /// `false` when the cloud is still working: the executor polls [`Provider::read`] until
    /// the resource is ready (or, for deletes, absent).
    pub done: bool,
}

/// Classification of a provider failure; the executor's retry policy is based on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// Flow control (`Throttling*`): retried with backoff, and slows the API's rate.
    Throttling,
    /// 5xx, timeouts, connection errors: retried with backoff.
    Transient,
    /// The resource does not exist.
    NotFound,
    /// It exists already, or another operation is in progress on it.
    Conflict,
    /// The account balance does not allow the order.
    InsufficientBalance,
    /// The request was wrong; retrying does not help.
    InvalidParameter,
    /// Credentials are missing or rejected.
    Auth,
    /// Anything else that retrying does not fix.
    Fatal,
}

impl ProviderErrorKind {
    /// Whether retrying the same call can succeed.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttling | Self::Transient)
    }
}

/// A failed cloud call, with what the cloud said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProviderError {
    /// Classification.
    pub kind: ProviderErrorKind,
    /// The API action (`CreateInstance`).
    pub action: String,
    /// The cloud's error code (`Throttling.User`), if it answered.
    pub code: Option<String>,
    /// The cloud's message, or the transport error.
    pub message: String,
    /// The cloud's `RequestId`, if it answered.
    pub request_id: Option<String>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.action)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (RequestId {id})")?;
        }
        Ok(())
    }
}

impl miette::Diagnostic for ProviderError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            format!("provider::{:?}", self.kind).to_lowercase(),
        ))
    }
}

/// A cloud, as the executor and refresh see it.
///
/// # Guarantees every implementation gives
/// - `observe` makes one paged list/describe call per resource type, region and account,
///   not one call per resource, and never mutates anything.
/// - Mutating methods make at most one mutating API call each; they are safe to call again
///   after an error whose kind is retryable (creates send `client_token` where the API takes
///   one, and creates without one look the resource up by name first).
/// - "Not found" on delete is success.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The UID behind the credentials of `account`.
    async fn whoami(&self, account: &AccountName) -> Result<AccountUid, ProviderError>;

    /// Reads everything `req` names, in batches.
    async fn observe(&self, req: &ObserveRequest<'_>) -> Result<Observed, ProviderError>;

    /// Reads one resource (used to poll a pending create, update or delete).
    async fn read(
        &self,
        addr: &Address,
        mode: Mode,
        account: &AccountName,
        region: Option<&Region>,
        cloud_id: &CloudId,
    ) -> Result<Observation, ProviderError>;

    /// Creates one resource.
    async fn create(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError>;

    /// Changes the in-place attributes `req.changed` of one resource.
    async fn update(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError>;

    /// Deletes one resource.
    async fn delete(&self, req: &DeleteRequest) -> Result<Outcome, ProviderError>;

    /// What ordering `desired` costs (`current`: `None`), or changing it from the
    /// attributes it has now (`current`), as the cloud quotes it; `None` when nothing of it
    /// is ordered or priced. A read: at most one API call, never mutating. `desired` may
    /// still hold references (ids known only after apply); a provider prices without them.
    /// The default prices nothing.
    async fn quote(
        &self,
        desired: &DesiredResource,
        current: Option<&Attrs>,
    ) -> Result<Option<Price>, ProviderError> {
        let _ = (desired, current);
        Ok(None)
    }

    /// The throttled answers this provider's client has seen (including the ones it retried
    /// itself), shared with the executor's rate limiter; `None` when it does not count them.
    fn throttles(&self) -> Option<std::sync::Arc<crate::Throttles>> {
        None
    }
}
