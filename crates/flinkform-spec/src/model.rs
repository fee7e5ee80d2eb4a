//! The validated desired model: what a stack of spec files means once every rule has been
//! checked. It holds no spans and no serde derives; the YAML DTOs (with spans) are private
//! to this crate and are converted into these types only when they are valid.

use std::collections::BTreeMap;

use flinkform_core::{AccountName, CloudId, Origin, Region, ZoneId};

/// Every document of a stack (one or more files), in file order then document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stack {
    /// The documents.
    pub documents: Vec<Document>,
}

/// One YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Where the document starts (`apiVersion`), for diagnostics raised after parsing.
    pub origin: Origin,
    /// What it declares.
    pub resource: SpecResource,
}

/// The kinds of document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecResource {
    /// `kind: FlinkWorkspace`.
    FlinkWorkspace(FlinkWorkspace),
    /// `kind: MarketplaceSubscription`.
    MarketplaceSubscription(crate::market::MarketplaceSubscription),
}

/// `kind: FlinkWorkspace`: one fully managed Flink workspace and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinkWorkspace {
    /// `metadata.name`: 1–60 characters, a letter first, then letters, digits, hyphens.
    pub name: String,
    /// `spec.account`: the credentials profile.
    pub account: AccountName,
    /// `spec.region`.
    pub region: Region,
    /// `spec.zone` (in `region`).
    pub zone: ZoneId,
    /// `spec.resourceGroup`: the id of the account's resource group the workspace belongs
    /// in; `None` leaves it where it is (the account's default group at creation).
    pub resource_group: Option<String>,
    /// `spec.billing` (with `spec.quota` for subscriptions).
    pub billing: Billing,
    /// `spec.network`.
    pub network: Network,
    /// `spec.storage`.
    pub storage: Storage,
    /// `spec.projects`: namespaces beside the generated `<name>-default`.
    pub projects: Vec<Project>,
    /// `spec.protect` (default `true`).
    pub protect: bool,
    /// `spec.upstream`: storage the jobs read and write; used only for recommendations
    /// (same region, zone and VPC), which are warnings.
    pub upstream: Vec<Upstream>,
    /// `metadata.labels`, sent as resource tags where the API takes them.
    pub labels: BTreeMap<String, String>,
    /// Where each field came from (for planner diagnostics), keyed by the field's path in
    /// the document (`spec.storage.ossBucket.name`).
    pub origins: BTreeMap<String, Origin>,
}

/// `spec.billing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Billing {
    /// `method: pay-as-you-go`.
    PayAsYouGo,
    /// `method: subscription`.
    Subscription {
        /// `duration`.
        duration: Duration,
        /// `autoRenew` (default false).
        auto_renew: bool,
        /// `spec.quota.cu`: compute units (1 CU = 1 core + 4 GiB).
        quota_cu: u32,
    },
}

/// A subscription's duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    /// `{ months: N }` (1–9).
    Months(u32),
    /// `{ years: N }` (1–3).
    Years(u32),
}

/// `spec.network`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// `vpc`.
    pub vpc: VpcRef,
    /// `vSwitches`: 1 to 5, all in the workspace's zone.
    pub vswitches: Vec<VSwitchRef>,
}

/// A VPC: an existing one or one to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcRef {
    /// `{ id: vpc-… }`.
    Existing(CloudId),
    /// `{ create: { cidr: 10.0.0.0/16 } }`.
    Create {
        /// IPv4 CIDR, mask 8–28 bits (canonical text form).
        cidr: String,
    },
}

/// A vSwitch: an existing one or one to create in the workspace's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VSwitchRef {
    /// `{ id: vsw-… }`.
    Existing(CloudId),
    /// `{ create: { cidr: 10.0.1.0/24 } }`: inside the VPC's CIDR (when the VPC is created
    /// here), not overlapping another vSwitch, mask 16–29 bits.
    Create {
        /// IPv4 CIDR (canonical text form).
        cidr: String,
    },
}

/// `spec.storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// `ossBucket.name`: 3–63 characters of lowercase letters, digits and hyphens, starting
    /// and ending with a letter or digit. Created if missing, in the workspace's region.
    pub bucket: String,
}

/// `spec.projects[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// `name`: lowercase letters, digits, hyphens; a letter first; not ending with `-`;
    /// unique in the workspace and not `<workspace>-default`.
    pub name: String,
    /// `cu`: compute units (subscription: the sum over projects must leave at least one CU
    /// for the default project).
    pub cu: Option<u32>,
}

/// `spec.upstream[i]`: a system the jobs read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `name`.
    pub name: String,
    /// `region`.
    pub region: Option<Region>,
    /// `zone`.
    pub zone: Option<ZoneId>,
    /// `vpc`.
    pub vpc: Option<CloudId>,
}

impl Stack {
    /// Every workspace document, in order.
    pub fn workspaces(&self) -> impl Iterator<Item = &FlinkWorkspace> {
        self.documents.iter().filter_map(|d| match &d.resource {
            SpecResource::FlinkWorkspace(w) => Some(w),
            SpecResource::MarketplaceSubscription(_) => None,
        })
    }

    /// Every marketplace subscription document, in order.
    pub fn subscriptions(&self) -> impl Iterator<Item = &crate::market::MarketplaceSubscription> {
        self.documents.iter().filter_map(|d| match &d.resource {
            SpecResource::MarketplaceSubscription(s) => Some(s),
            SpecResource::FlinkWorkspace(_) => None,
        })
    }
}
