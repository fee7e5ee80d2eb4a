//! The state domain model: lineage, serial, target, recorded resources and the intent
//! journal, plus the target rule (a state belongs to one cloud and one UID per account).
//!
//! This is the in-memory shape every other crate uses; the on-disk shape is
//! [`crate::format::StateFileV1`], a separate type.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use flinkform_core::{Address, Attrs, RecordedResource, Target};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The identity of one state from its first write on (a random UUID). Serials only compare
/// within one lineage; a saved plan remembers the lineage it was made against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lineage(pub uuid::Uuid);

impl Lineage {
    /// A fresh random lineage.
    #[must_use]
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl Default for Lineage {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for Lineage {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, uuid::Error> {
        uuid::Uuid::parse_str(s).map(Self)
    }
}

/// The kind of mutating call an intent announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentOp {
    /// A create call.
    Create,
    /// An in-place update call.
    Update,
    /// A delete call.
    Delete,
}

impl IntentOp {
    /// `create`, `update` or `delete`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for IntentOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mutating call that was announced but whose outcome is not recorded yet.
///
/// The executor persists an intent before each mutating call and removes it in the same
/// write that records the outcome. An intent found at the start of a run means the previous
/// run stopped in between: the call may or may not have happened, and the resource is looked
/// up by its client token or identity before anything is created again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Unique within the state's journal.
    pub id: u64,
    /// The resource.
    pub addr: Address,
    /// The call.
    pub op: IntentOp,
    /// The idempotency token sent with the call (empty when the call takes none).
    pub client_token: String,
    /// Attributes that find the resource again (e.g. `name`).
    pub identity: Attrs,
    /// When the call was announced (RFC 3339, UTC).
    pub started_at: String,
}

/// A gate an apply stopped at: a step only a person can complete (an e-mail verification
/// code, a manual vendor step). `apply --input NAME=VALUE` passes it; the value itself is
/// never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingGate {
    /// The gate's resource address (`gate.verify-email.observability`); its name part is
    /// the input name.
    pub addr: Address,
    /// What the person has to do, with the values to enter.
    pub instructions: String,
    /// When the apply first stopped there (RFC 3339, UTC).
    pub since: String,
}

/// Everything flinkform remembers about one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Identity of this state.
    pub lineage: Lineage,
    /// Incremented by every write that changes the content; 0 for a state never written.
    pub serial: u64,
    /// The cloud and accounts this state belongs to; `None` until the first apply.
    pub target: Option<Target>,
    /// Recorded resources by address.
    pub resources: BTreeMap<Address, RecordedResource>,
    /// Announced mutating calls whose outcome is not recorded yet, by ascending id.
    pub journal: Vec<Intent>,
    /// Gates the last apply stopped at, by name (`verify-email.observability`).
    pub gates: BTreeMap<String, WaitingGate>,
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// An empty state with a fresh lineage and serial 0.
    #[must_use]
    pub fn new() -> Self {
        Self {
            lineage: Lineage::new(),
            serial: 0,
            target: None,
            resources: BTreeMap::new(),
            journal: Vec::new(),
            gates: BTreeMap::new(),
        }
    }

    /// Whether `self` and `other` hold the same content, ignoring the serial.
    #[must_use]
    pub fn same_content(&self, other: &Self) -> bool {
        self.lineage == other.lineage
            && self.target == other.target
            && self.resources == other.resources
            && self.journal == other.journal
            && self.gates == other.gates
    }

    /// Records (or replaces) a resource.
    pub fn record(&mut self, resource: RecordedResource) {
        self.resources.insert(resource.addr.clone(), resource);
    }

    /// Drops a resource; returns what was recorded.
    pub fn remove(&mut self, addr: &Address) -> Option<RecordedResource> {
        self.resources.remove(addr)
    }

    /// The id the next intent should get (one more than the largest in the journal).
    #[must_use]
    pub fn next_intent_id(&self) -> u64 {
        self.journal.iter().map(|i| i.id).max().map_or(1, |m| m + 1)
    }

    /// Adds an intent to the journal (kept sorted by id; an intent with the same id is
    /// replaced).
    pub fn push_intent(&mut self, intent: Intent) {
        self.journal.retain(|i| i.id != intent.id);
        let at = self.journal.partition_point(|i| i.id < intent.id);
        self.journal.insert(at, intent);
    }

    /// Announces a call: adds an intent started now and returns its id.
    pub fn begin_intent(
        &mut self,
        addr: Address,
        op: IntentOp,
        client_token: String,
        identity: Attrs,
    ) -> u64 {
        let id = self.next_intent_id();
        self.push_intent(Intent {
            id,
            addr,
            op,
            client_token,
            identity,
            started_at: now_rfc3339(),
        });
        id
    }

    /// Removes the intent `id` once the outcome of its call is recorded.
    pub fn end_intent(&mut self, id: u64) -> Option<Intent> {
        let at = self.journal.iter().position(|i| i.id == id)?;
        Some(self.journal.remove(at))
    }

    /// Checks that this state may be applied to `current`: same cloud, same emulator world,
    /// and every account known to both with the same UID. A state without a target (never
    /// applied) accepts any target.
    ///
    /// # Errors
    /// [`Error::TargetMismatch`] naming both targets and the first difference.
    pub fn check_target(&self, current: &Target) -> Result<()> {
        let Some(recorded) = &self.target else {
            return Ok(());
        };
        let mismatch = |reason: String| Error::TargetMismatch {
            recorded: describe_target(recorded),
            current: describe_target(current),
            reason,
        };
        if recorded.cloud != current.cloud {
            return Err(mismatch(format!(
                "the state was made on cloud `{}`, not `{}`",
                recorded.cloud, current.cloud
            )));
        }
        if recorded.world != current.world {
            return Err(mismatch(format!(
                "the state was made in emulator world `{}`, not `{}`",
                recorded.world.as_deref().unwrap_or("(none)"),
                current.world.as_deref().unwrap_or("(none)")
            )));
        }
        for (name, uid) in &recorded.accounts {
            if let Some(now) = current.accounts.get(name)
                && now != uid
            {
                return Err(mismatch(format!(
                    "account `{name}` was UID {uid} when the state was made, but its credentials now belong to UID {now}"
                )));
            }
        }
        Ok(())
    }

    /// Binds the state to `current` after [`State::check_target`] passed: sets the target
    /// of a state that has none, and adds accounts the state has not seen yet.
    pub fn bind_target(&mut self, current: &Target) {
        match &mut self.target {
            None => self.target = Some(current.clone()),
            Some(t) => {
                for (name, uid) in &current.accounts {
                    t.accounts
                        .entry(name.clone())
                        .or_insert_with(|| uid.clone());
                }
            }
        }
    }
}

/// Renders a target for messages: `emulator world w-1 (main = 123)`.
#[must_use]
pub fn describe_target(t: &Target) -> String {
    let mut s = match (&t.cloud, &t.world) {
        (flinkform_core::TargetCloud::Sim, Some(w)) => format!("emulator world `{w}`"),
        (flinkform_core::TargetCloud::Sim, None) => "the emulator".to_owned(),
        (cloud, Some(w)) => format!("cloud `{cloud}` world `{w}`"),
        (cloud, None) => format!("cloud `{cloud}`"),
    };
    if !t.accounts.is_empty() {
        let accounts: Vec<String> = t
            .accounts
            .iter()
            .map(|(n, u)| format!("{n} = UID {u}"))
            .collect();
        s.push_str(&format!(" ({})", accounts.join(", ")));
    }
    s
}

/// The current time as RFC 3339 in UTC, to the second.
#[must_use]
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
