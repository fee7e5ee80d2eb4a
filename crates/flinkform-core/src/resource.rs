//! Desired and recorded resources: what the specs ask for and what the state remembers.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::addr::Address;
use crate::ids::{AccountName, CloudId, Region};
use crate::value::Attrs;

/// Whether flinkform manages a resource or only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Created, updated and deleted by flinkform.
    Managed,
    /// Referenced by id in a spec (`vpc: { id: vpc-… }`): read and checked, never changed.
    Data,
}

/// Where in the specs a resource comes from, for diagnostics raised after parsing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Spec file path as given on the command line.
    pub file: String,
    /// 1-based line of the value that produced the resource.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One resource as the specs want it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredResource {
    /// Its address.
    pub addr: Address,
    /// Managed or data.
    pub mode: Mode,
    /// The account it lives in.
    pub account: AccountName,
    /// Its region; `None` for account-level resources.
    pub region: Option<Region>,
    /// Desired attributes (catalog names); may hold references to other resources' ids.
    pub attrs: Attrs,
    /// Resources that must exist (and be ready) before this one is created. Includes every
    /// address referenced from `attrs`.
    pub depends_on: BTreeSet<Address>,
    /// `protect: true` in the spec: never destroyed or replaced without an explicit flag.
    pub protect: bool,
    /// Where the resource comes from in the specs.
    pub origin: Option<Origin>,
}

/// One resource as the state remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResource {
    /// Its address.
    pub addr: Address,
    /// Managed or data.
    pub mode: Mode,
    /// The account it lives in.
    pub account: AccountName,
    /// Its region; `None` for account-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The id the cloud gave it.
    pub cloud_id: CloudId,
    /// Attributes as last applied or read (never references, never secrets).
    pub attrs: Attrs,
    /// What it depended on when it was created; destroy deletes in the reverse order.
    #[serde(default)]
    pub depends_on: BTreeSet<Address>,
    /// Whether the spec protected it when it was last applied.
    #[serde(default)]
    pub protect: bool,
}
