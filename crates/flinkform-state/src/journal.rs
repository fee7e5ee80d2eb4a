//! The local backend's journal (`state.json.journal`, `specs/state-format.md`): one JSON
//! line per commit, appended and synced, each carrying a checksum of its entry.
//!
//! A line is `{"sha256":"<16 hex digits>","entry":<entry>}` followed by `\n`, where the
//! digits are the first 8 bytes of the SHA-256 of the entry's bytes exactly as written. A
//! line that is unterminated, fails its checksum or does not parse ends the journal: when no
//! valid line follows it, it is a torn tail (a crash during the append) and is ignored;
//! otherwise the journal is corrupt.

use std::path::Path;

use flinkform_core::Address;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::backend::Change;
use crate::error::{Error, Result};
use crate::format::{GateV1, IntentV1, ResourceV1, TargetV1};
use crate::model::Lineage;

const PREFIX: &str = "{\"sha256\":\"";
const SUM_LEN: usize = 16;
const MIDDLE: &str = "\",\"entry\":";

/// One commit in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryV1 {
    /// The serial the state has after this commit.
    pub serial: u64,
    /// The lineage of the state it applies to.
    pub lineage: Lineage,
    /// When it was written (RFC 3339, UTC).
    pub time: String,
    /// The command that wrote it (`apply`, `state rm`, …).
    pub operation: String,
    /// `user@host`.
    pub who: String,
    /// The changes, applied in order.
    pub changes: Vec<ChangeV1>,
}

/// One change in a journal entry (the file form of [`Change`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeV1 {
    /// Records (or replaces) a resource.
    Record {
        /// The resource.
        resource: ResourceV1,
    },
    /// Drops a resource.
    Remove {
        /// Its address.
        address: Address,
    },
    /// Adds an intent.
    BeginIntent {
        /// The intent.
        intent: IntentV1,
    },
    /// Removes an intent.
    EndIntent {
        /// Its id.
        id: u64,
    },
    /// Removes every intent of an address.
    EndIntentsOf {
        /// The address.
        address: Address,
    },
    /// Records a waiting gate.
    SetGate {
        /// The gate.
        gate: GateV1,
    },
    /// Drops a gate.
    RemoveGate {
        /// Its input name.
        name: String,
    },
    /// Drops every gate of an address.
    RemoveGatesOf {
        /// The address.
        address: Address,
    },
    /// Sets the target.
    SetTarget {
        /// The target.
        target: TargetV1,
    },
}

impl From<&Change> for ChangeV1 {
    fn from(c: &Change) -> Self {
        match c {
            Change::Record(r) => Self::Record { resource: r.into() },
            Change::Remove(a) => Self::Remove { address: a.clone() },
            Change::BeginIntent(i) => Self::BeginIntent { intent: i.into() },
            Change::EndIntent(id) => Self::EndIntent { id: *id },
            Change::EndIntentsOf(a) => Self::EndIntentsOf { address: a.clone() },
            Change::SetGate { name, gate } => Self::SetGate {
                gate: GateV1::new(name, gate),
            },
            Change::RemoveGate(name) => Self::RemoveGate { name: name.clone() },
            Change::RemoveGatesOf(a) => Self::RemoveGatesOf { address: a.clone() },
            Change::SetTarget(t) => Self::SetTarget { target: t.into() },
        }
    }
}

impl From<ChangeV1> for Change {
    fn from(c: ChangeV1) -> Self {
        match c {
            ChangeV1::Record { resource } => Self::Record(resource.into()),
            ChangeV1::Remove { address } => Self::Remove(address),
            ChangeV1::BeginIntent { intent } => Self::BeginIntent(intent.into()),
            ChangeV1::EndIntent { id } => Self::EndIntent(id),
            ChangeV1::EndIntentsOf { address } => Self::EndIntentsOf(address),
            ChangeV1::SetGate { gate } => {
                let (name, gate) = gate.into_parts();
                Self::SetGate { name, gate }
            }
            ChangeV1::RemoveGate { name } => Self::RemoveGate(name),
            ChangeV1::RemoveGatesOf { address } => Self::RemoveGatesOf(address),
            ChangeV1::SetTarget { target } => Self::SetTarget(target.into()),
        }
    }
}

impl EntryV1 {
    /// The changes in domain form.
    #[must_use]
    pub fn changes(&self) -> Vec<Change> {
        self.changes.iter().cloned().map(Change::from).collect()
    }
}

fn checksum(entry: &[u8]) -> String {
    let digest = Sha256::digest(entry);
    digest[..SUM_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Encodes `entry` as one journal line, `\n` included.
///
/// # Errors
/// [`Error::Encode`], which plain data never triggers.
pub fn encode_line(entry: &EntryV1) -> Result<String> {
    let body = serde_json::to_string(entry).map_err(Error::Encode)?;
    let sum = checksum(body.as_bytes());
    Ok(format!("{PREFIX}{sum}{MIDDLE}{body}}}\n"))
}

/// Decodes one line (without its `\n`); `None` when it fails its checksum or does not parse.
#[must_use]
pub fn decode_line(line: &[u8]) -> Option<EntryV1> {
    let head = PREFIX.len() + SUM_LEN + MIDDLE.len();
    if line.len() <= head + 1
        || !line.starts_with(PREFIX.as_bytes())
        || &line[PREFIX.len() + SUM_LEN..head] != MIDDLE.as_bytes()
        || line.last() != Some(&b'}')
    {
        return None;
    }
    let body = &line[head..line.len() - 1];
    if checksum(body).as_bytes() != &line[PREFIX.len()..PREFIX.len() + SUM_LEN] {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// A journal file, read.
#[derive(Debug, Default)]
pub struct Read {
    /// The valid entries, in file order.
    pub entries: Vec<EntryV1>,
    /// Bytes of the valid lines (where the next append goes).
    pub valid_len: u64,
    /// Bytes after them: a torn tail, ignored (and cut off by the next locked write).
    pub torn: u64,
}

/// Splits `bytes` into valid entries and a torn tail; `path` names the file in errors.
///
/// # Errors
/// [`Error::Corrupt`] when a valid line follows an invalid one (not a crash's torn tail).
pub fn parse(bytes: &[u8], path: &Path) -> Result<Read> {
    let mut read = Read::default();
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(end) = bytes[at..].iter().position(|b| *b == b'\n').map(|e| at + e) else {
            break;
        };
        match decode_line(&bytes[at..end]) {
            Some(entry) => {
                read.entries.push(entry);
                at = end + 1;
            }
            None => break,
        }
    }
    read.valid_len = at as u64;
    read.torn = (bytes.len() - at) as u64;
    if read.torn > 0 {
        // A crash tears the last append only: a valid line after the bad one is corruption.
        let rest = &bytes[at..];
        let later_valid = rest
            .split(|b| *b == b'\n')
            .skip(1)
            .any(|l| decode_line(l).is_some());
        if later_valid {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "the journal line at byte {at} is damaged but later lines are intact (a crash only tears the last line)"
                ),
            });
        }
    }
    Ok(read)
}
