//! Observations: what a provider's refresh saw in the cloud.
//!
//! The planner never sees a wire type: providers translate API responses into these values.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::{Address, ResourceKind};
use crate::ids::{AccountName, AccountUid, CloudId, Region, ZoneId};
use crate::owner::Owner;
use crate::resource::{DesiredResource, RecordedResource};
use crate::value::Attrs;

/// What to read: every desired and recorded resource, and the regions each account uses.
///
/// It borrows the resources from the desired set and the state: a fleet's are thousands,
/// and a refresh only reads them.
#[derive(Debug, Clone, Default)]
pub struct ObserveRequest<'a> {
    /// Resources the specs want (identity attributes such as `name` let a provider find a
    /// resource that state does not know yet, e.g. after a crash).
    pub desired: Vec<&'a DesiredResource>,
    /// Resources the state remembers (found by `cloud_id`).
    pub recorded: Vec<&'a RecordedResource>,
    /// Account → regions whose facts (supported regions and zones, balance) to read.
    pub accounts: BTreeMap<AccountName, BTreeSet<Region>>,
}

/// Whether a resource is usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Done (`RUNNING`, `Available`, `SUCCESS`).
    Ready,
    /// Still being created or changed (`CREATING`, `Pending`, `MODIFYING`).
    Pending,
    /// Being deleted.
    Deleting,
    /// The cloud says it failed; the text says how.
    Failed(String),
    /// The cloud reports a status flinkform does not know (or leaves out what it needs, such
    /// as a Marketplace instance's id): nothing is planned for it on a guess. Anything that
    /// costs money fails closed: an unknown status is never taken for "absent" (which would
    /// order again) or "failed" (which would replace it).
    Unknown(String),
}

/// A resource the cloud has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedResource {
    /// Its id.
    pub cloud_id: CloudId,
    /// Its attributes, named as in the catalog.
    pub attrs: Attrs,
    /// Whether it is ready.
    pub readiness: Readiness,
    /// Who it belongs to, as far as the read can tell (its ownership mark).
    pub owner: Owner,
}

impl ObservedResource {
    /// A resource of `kind` the cloud has; its owner is read from its `tags` attribute
    /// ([`Owner::of`]).
    #[must_use]
    pub fn new(kind: ResourceKind, cloud_id: CloudId, attrs: Attrs, readiness: Readiness) -> Self {
        let owner = Owner::of(kind, &attrs);
        Self {
            cloud_id,
            attrs,
            readiness,
            owner,
        }
    }
}

/// What refresh found for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The resource exists.
    Found(ObservedResource),
    /// The cloud has no such resource.
    Absent,
    /// The cloud cannot be asked (OSS activation has no read API); the state is trusted.
    Unknown,
}

/// The available pay-as-you-go balance of an account.
pub type Balance = crate::money::Money;

/// Facts about one account that preconditions are checked against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountFacts {
    /// The UID behind the credentials.
    pub uid: Option<AccountUid>,
    /// Regions where the account's site offers fully managed Flink.
    pub flink_regions: BTreeSet<Region>,
    /// Zones offered per requested region.
    pub flink_zones: BTreeMap<Region, BTreeSet<ZoneId>>,
    /// Current balance.
    pub balance: Option<Balance>,
    /// Ids of the account's resource groups (its default group included); read
    /// (`ListResourceGroups`) only when a desired workspace names a group, else `None`.
    pub resource_groups: Option<BTreeSet<String>>,
}

/// What a SaaS vendor's Billing Center says about the account a `MarketplaceSubscription`
/// names (by site and username), whoever it belongs to: the facts the checks before a
/// Marketplace order need. Read without the password and without any mutating call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingAccountFacts {
    /// The site has no account of that username.
    Missing,
    /// The account exists.
    Exists {
        /// Whether the e-mail address the spec gives is the account's.
        email_matches: bool,
        /// Names of the account's vendor workspaces, when they were read (for a
        /// subscription that binds an existing workspace).
        workspaces: Option<BTreeSet<String>>,
    },
}

/// Everything a refresh saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// One entry per requested address.
    pub resources: BTreeMap<Address, Observation>,
    /// One entry per requested account.
    pub accounts: BTreeMap<AccountName, AccountFacts>,
    /// The vSwitches of every existing VPC the specs reference by id (`vpc: { id: … }`), so
    /// that a vSwitch to create in it can be checked against its CIDR and its neighbours
    /// before anything is ordered.
    pub network: BTreeMap<CloudId, Vec<ObservedResource>>,
    /// Vendor facts per `billing_account.<subscription>` address; no entry when the vendor
    /// could not be asked (manual mode, no connector).
    pub billing_accounts: BTreeMap<Address, BillingAccountFacts>,
    /// How many API calls the refresh made (reported by `plan`).
    pub api_calls: u64,
}
