//! Shared vocabulary of flinkform: typed identifiers and resource addresses, the attribute
//! value model, the resource catalog (what each resource kind's attributes mean and which of
//! them force a replacement) and the `Provider` boundary between the executor and a cloud.
//!
//! This crate does no IO. Every other flinkform crate depends on it; it depends on none.

mod addr;
pub mod api;
mod catalog;
mod error;
mod ids;
pub mod money;
pub use money::{Money, Price, PriceTerm};
mod observe;
mod owner;
mod provider;
mod resource;
mod value;

pub use addr::{Address, ResourceKind};
pub use api::{ApiGroup, ApiKey, CallClass, Throttles};
pub use catalog::{AttrSpec, Deletion, KindSpec, attr, kind_spec, updates_together};
pub use error::{Error, Result};
pub use ids::{AccountName, AccountUid, CloudId, Region, Target, TargetCloud, ZoneId};
pub use observe::{
    AccountFacts, Balance, BillingAccountFacts, Observation, ObserveRequest, Observed,
    ObservedResource, Readiness,
};
pub use owner::{ADDRESS_TAG, Mark, Owner, RESERVED_TAG_PREFIX, STACK_TAG, desired_tags, markable};
pub use provider::{
    ChangeRequest, DeleteRequest, Outcome, Provider, ProviderError, ProviderErrorKind,
};
pub use resource::{DesiredResource, Mode, Origin, RecordedResource};
pub use value::{Attrs, Value};
