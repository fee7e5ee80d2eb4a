//! The on-disk state format, version 1 (documented in `specs/state-format.md`).
//!
//! [`StateFileV1`] is a separate type from the domain [`State`]: the file format changes only
//! with a new `format_version`, whatever happens to the model. Encoding is deterministic:
//! pretty JSON, fields in declaration order, resources sorted by address, the journal by id,
//! every map sorted, and a trailing newline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use flinkform_core::{
    AccountName, AccountUid, Address, Attrs, CloudId, Mode, RecordedResource, Region, Target,
    TargetCloud,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Intent, IntentOp, Lineage, State, WaitingGate};

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A state file, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFileV1 {
    /// Always 1.
    pub format_version: u32,
    /// Lineage (UUID).
    pub lineage: Lineage,
    /// Serial.
    pub serial: u64,
    /// Target, `null` until the first apply.
    pub target: Option<TargetV1>,
    /// Resources, sorted by address.
    pub resources: Vec<ResourceV1>,
    /// Intents, sorted by id.
    pub journal: Vec<IntentV1>,
    /// Gates the last apply stopped at, sorted by name; absent when there are none (files
    /// written before gates existed load with none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateV1>,
}

/// One waiting gate in a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateV1 {
    /// The input name (`verify-email.observability`).
    pub name: String,
    /// The gate's address.
    pub address: Address,
    /// What the person has to do.
    pub instructions: String,
    /// RFC 3339 time the apply first stopped there.
    pub since: String,
}

impl GateV1 {
    /// The file form of the gate waiting under input name `name`.
    #[must_use]
    pub fn new(name: &str, gate: &WaitingGate) -> Self {
        Self {
            name: name.to_owned(),
            address: gate.addr.clone(),
            instructions: gate.instructions.clone(),
            since: gate.since.clone(),
        }
    }

    /// The domain form: the input name and the gate.
    #[must_use]
    pub fn into_parts(self) -> (String, WaitingGate) {
        (
            self.name,
            WaitingGate {
                addr: self.address,
                instructions: self.instructions,
                since: self.since,
            },
        )
    }
}

/// The target of a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetV1 {
    /// `sim` or `alibaba`.
    pub cloud: TargetCloud,
    /// Emulator world id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    /// Account name → UID.
    pub accounts: BTreeMap<AccountName, AccountUid>,
}

/// One recorded resource in a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceV1 {
    /// Address.
    pub address: Address,
    /// `managed` or `data`.
    pub mode: Mode,
    /// Account name.
    pub account: AccountName,
    /// Region, absent for account-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The cloud's id.
    pub cloud_id: CloudId,
    /// Attributes as last applied or read.
    pub attrs: Attrs,
    /// Dependencies at creation time, sorted.
    #[serde(default)]
    pub depends_on: BTreeSet<Address>,
    /// Whether the spec protected it.
    #[serde(default)]
    pub protect: bool,
}

/// One intent in a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentV1 {
    /// Unique id within the journal.
    pub id: u64,
    /// Address.
    pub address: Address,
    /// `create`, `update` or `delete`.
    pub op: IntentOp,
    /// Idempotency token sent with the call.
    pub client_token: String,
    /// Identity attributes.
    pub identity: Attrs,
    /// RFC 3339 time the call was announced.
    pub started_at: String,
}

impl StateFileV1 {
    /// The file form of `state`.
    #[must_use]
    pub fn from_state(state: &State) -> Self {
        let mut journal: Vec<IntentV1> = state
            .journal
            .iter()
            .map(|i| IntentV1 {
                id: i.id,
                address: i.addr.clone(),
                op: i.op,
                client_token: i.client_token.clone(),
                identity: i.identity.clone(),
                started_at: i.started_at.clone(),
            })
            .collect();
        journal.sort_by_key(|i| i.id);
        Self {
            format_version: FORMAT_VERSION,
            lineage: state.lineage,
            serial: state.serial,
            target: state.target.as_ref().map(|t| TargetV1 {
                cloud: t.cloud,
                world: t.world.clone(),
                accounts: t.accounts.clone(),
            }),
            resources: state
                .resources
                .values()
                .map(|r| ResourceV1 {
                    address: r.addr.clone(),
                    mode: r.mode,
                    account: r.account.clone(),
                    region: r.region.clone(),
                    cloud_id: r.cloud_id.clone(),
                    attrs: r.attrs.clone(),
                    depends_on: r.depends_on.clone(),
                    protect: r.protect,
                })
                .collect(),
            journal,
            gates: state
                .gates
                .iter()
                .map(|(name, g)| GateV1::new(name, g))
                .collect(),
        }
    }

    /// The domain form; `path` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when an address or intent id appears twice.
    pub fn into_state(self, path: &Path) -> Result<State> {
        let corrupt = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let mut resources = BTreeMap::new();
        for r in self.resources {
            let addr = r.address.clone();
            let rec = RecordedResource::from(r);
            if resources.insert(addr.clone(), rec).is_some() {
                return Err(corrupt(format!("resource `{addr}` appears twice")));
            }
        }
        let mut journal: Vec<Intent> = Vec::with_capacity(self.journal.len());
        let mut ids = BTreeSet::new();
        for i in self.journal {
            if !ids.insert(i.id) {
                return Err(corrupt(format!("intent id {} appears twice", i.id)));
            }
            journal.push(Intent::from(i));
        }
        journal.sort_by_key(|i| i.id);
        let mut gates = BTreeMap::new();
        for g in self.gates {
            let (name, gate) = g.into_parts();
            if gates.insert(name.clone(), gate).is_some() {
                return Err(corrupt(format!("gate `{name}` appears twice")));
            }
        }
        Ok(State {
            lineage: self.lineage,
            serial: self.serial,
            target: self.target.map(Target::from),
            resources,
            journal,
            gates,
        })
    }
}

/// Encodes `state` as the bytes of a version-1 state file.
///
/// # Errors
/// [`Error::Encode`], which plain data never triggers.
pub fn encode(state: &State) -> Result<String> {
    let mut text =
        serde_json::to_string_pretty(&StateFileV1::from_state(state)).map_err(Error::Encode)?;
    text.push('\n');
    Ok(text)
}

/// Decodes the text of a state file; `path` names it in errors. Never panics on bad input.
///
/// # Errors
/// [`Error::TooNew`] for a `format_version` above [`FORMAT_VERSION`], [`Error::Corrupt`] for
/// anything else that is not a valid version-1 state.
pub fn decode(text: &str, path: &Path) -> Result<State> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    /// Only the version, read first (the rest is skipped, not built).
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: Option<serde_json::Value>,
    }
    let head: Version = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let version = match head.format_version {
        None => return Err(corrupt("no `format_version` field".to_owned())),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| corrupt(format!("`format_version` is {v}, not a positive integer")))?,
    };
    if version > u64::from(FORMAT_VERSION) {
        return Err(Error::TooNew {
            path: path.to_path_buf(),
            version,
            supported: FORMAT_VERSION,
        });
    }
    if version != u64::from(FORMAT_VERSION) {
        return Err(corrupt(format!("unknown `format_version` {version}")));
    }
    let file: StateFileV1 = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    file.into_state(path)
}

impl From<&RecordedResource> for ResourceV1 {
    fn from(r: &RecordedResource) -> Self {
        Self {
            address: r.addr.clone(),
            mode: r.mode,
            account: r.account.clone(),
            region: r.region.clone(),
            cloud_id: r.cloud_id.clone(),
            attrs: r.attrs.clone(),
            depends_on: r.depends_on.clone(),
            protect: r.protect,
        }
    }
}

impl From<ResourceV1> for RecordedResource {
    fn from(r: ResourceV1) -> Self {
        Self {
            addr: r.address,
            mode: r.mode,
            account: r.account,
            region: r.region,
            cloud_id: r.cloud_id,
            attrs: r.attrs,
            depends_on: r.depends_on,
            protect: r.protect,
        }
    }
}

impl From<&Intent> for IntentV1 {
    fn from(i: &Intent) -> Self {
        Self {
            id: i.id,
            address: i.addr.clone(),
            op: i.op,
            client_token: i.client_token.clone(),
            identity: i.identity.clone(),
            started_at: i.started_at.clone(),
        }
    }
}

impl From<IntentV1> for Intent {
    fn from(i: IntentV1) -> Self {
        Self {
            id: i.id,
            addr: i.address,
            op: i.op,
            client_token: i.client_token,
            identity: i.identity,
            started_at: i.started_at,
        }
    }
}

impl From<&Target> for TargetV1 {
    fn from(t: &Target) -> Self {
        Self {
            cloud: t.cloud,
            world: t.world.clone(),
            accounts: t.accounts.clone(),
        }
    }
}

impl From<TargetV1> for Target {
    fn from(t: TargetV1) -> Self {
        Self {
            cloud: t.cloud,
            world: t.world,
            accounts: t.accounts,
        }
    }
}
