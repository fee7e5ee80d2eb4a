//! Saved plans (`flinkform plan -out FILE`): the versioned plan file (specs/plan-file.md),
//! the digests it keeps of what the plan relied on, and the comparison that tells
//! `flinkform apply FILE` what changed since. Pure: the CLI reads and writes the file, the
//! executor re-observes.
//!
//! # Guarantees
//! - A plan file holds no secret: it holds the plan (whose attributes never hold secrets,
//!   only references such as `env:NAME`), state identity, the target's account UIDs, and
//!   SHA-256 digests; never an observed value itself.
//! - [`PlanFile::from_json`] of [`PlanFile::to_json`] gives the same plan file back.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, Address, CloudId, DesiredResource, Observation, Observed, Readiness,
    RecordedResource, Region, Target, Value,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::Plan;

/// The `format` marker every plan file starts with.
pub const FORMAT: &str = "flinkform-plan";
/// The plan file format this version writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// A saved plan: everything `apply FILE` executes, and what it must find unchanged first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for files this version writes.
    pub format_version: u32,
    /// The flinkform version that made it.
    pub flinkform_version: String,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
    /// The state it was planned against.
    pub state: StateRef,
    /// The cloud and accounts it was planned against.
    pub target: Target,
    /// Each spec file (path relative to the working directory) and its SHA-256.
    pub specs: Vec<SpecDigest>,
    /// The safety flags given at plan time (`--allow-replace`, `--allow-destroy`).
    pub options: SavedOptions,
    /// What the plan observed: re-observed by `apply FILE`.
    pub scope: Scope,
    /// Per address, a digest of what the observation found (absent included).
    pub observed: BTreeMap<Address, ObservedDigest>,
    /// Digests of the account facts (balance excepted: the plan's `check` action reads it
    /// again), of the vSwitches of referenced VPCs and of the vendor facts, by key
    /// (`account.<name>`, `network.<vpc id>`, `billing.<address>`).
    pub facts: BTreeMap<String, String>,
    /// Intents of an interrupted run that the observation settled (apply clears them).
    pub settled_intents: BTreeSet<u64>,
    /// The plan itself, exactly as the executor runs it.
    pub plan: Plan,
}

/// The state a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// The state's lineage.
    pub lineage: String,
    /// Its serial.
    pub serial: u64,
}

/// One spec file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecDigest {
    /// Path relative to the working directory, `/`-separated.
    pub path: String,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
}

/// Safety flags decided at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SavedOptions {
    /// `--allow-replace`.
    #[serde(default)]
    pub allow_replace: BTreeSet<Address>,
    /// `--allow-destroy`.
    #[serde(default)]
    pub allow_destroy: BTreeSet<Address>,
    /// `--allow-destroy ADDRESS=N`: confirmed object counts.
    #[serde(default)]
    pub confirmed_objects: BTreeMap<Address, u64>,
}

/// What the plan's refresh read: the desired resources (identity attributes find what the
/// state does not know yet) and the accounts' regions. The recorded side is the state, which
/// cannot have changed when the serial has not.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// The desired resources, marked, by address order.
    pub desired: Vec<DesiredResource>,
    /// Account → regions whose facts were read.
    pub accounts: BTreeMap<AccountName, BTreeSet<Region>>,
}

/// A digest of one observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedDigest {
    /// SHA-256 of the whole record (status, cloud id, attributes).
    pub digest: String,
    /// `absent`, `unknown` (cannot be read), `ready`, `pending`, `deleting`, `failed`.
    pub status: String,
    /// The cloud id found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<CloudId>,
    /// Per attribute, SHA-256 of its value.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

/// Lower-case hex SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn value_digest(v: &Value) -> String {
    sha256_hex(serde_json::to_string(v).unwrap_or_default().as_bytes())
}

fn status_word(r: &Readiness) -> &'static str {
    match r {
        Readiness::Ready => "ready",
        Readiness::Pending => "pending",
        Readiness::Deleting => "deleting",
        Readiness::Failed(_) => "failed",
        Readiness::Unknown(_) => "unknown status",
    }
}

/// The digest of one observation.
#[must_use]
pub fn observation_digest(o: &Observation) -> ObservedDigest {
    match o {
        Observation::Absent | Observation::Unknown => {
            let status = if matches!(o, Observation::Absent) {
                "absent"
            } else {
                "unknown"
            };
            ObservedDigest {
                digest: sha256_hex(status.as_bytes()),
                status: status.to_owned(),
                cloud_id: None,
                attrs: BTreeMap::new(),
            }
        }
        Observation::Found(r) => {
            let attrs: BTreeMap<String, String> = r
                .attrs
                .iter()
                .map(|(k, v)| (k.clone(), value_digest(v)))
                .collect();
            let status = status_word(&r.readiness).to_owned();
            let whole = serde_json::json!({
                "status": status,
                "cloud_id": r.cloud_id.as_str(),
                "attrs": attrs,
            });
            ObservedDigest {
                digest: sha256_hex(whole.to_string().as_bytes()),
                status,
                cloud_id: Some(r.cloud_id.clone()),
                attrs,
            }
        }
    }
}

/// Digests of everything in `observed` a plan relies on: per address, and the facts.
#[must_use]
pub fn observed_digests(
    observed: &Observed,
) -> (BTreeMap<Address, ObservedDigest>, BTreeMap<String, String>) {
    let resources = observed
        .resources
        .iter()
        .map(|(a, o)| (a.clone(), observation_digest(o)))
        .collect();
    let mut facts = BTreeMap::new();
    for (name, f) in &observed.accounts {
        // The balance moves on its own (pay-as-you-go); the `check` action reads it again.
        let mut f = f.clone();
        f.balance = None;
        facts.insert(
            format!("account.{name}"),
            sha256_hex(format!("{f:?}").as_bytes()),
        );
    }
    for (vpc, vsws) in &observed.network {
        facts.insert(
            format!("network.{vpc}"),
            sha256_hex(format!("{vsws:?}").as_bytes()),
        );
    }
    for (addr, b) in &observed.billing_accounts {
        facts.insert(
            format!("billing.{addr}"),
            sha256_hex(format!("{b:?}").as_bytes()),
        );
    }
    (resources, facts)
}

impl PlanFile {
    /// Whether `text` looks like a plan file (rather than a spec): a JSON object whose
    /// `format` is [`FORMAT`].
    #[must_use]
    pub fn sniff(text: &str) -> bool {
        let t = text.trim_start();
        t.starts_with('{')
            && serde_json::from_str::<serde_json::Value>(t)
                .ok()
                .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(FORMAT))
    }

    /// The file's JSON (pretty, deterministic).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a plan file; `path` names it in errors.
    ///
    /// # Errors
    /// [`Error::BadPlanFile`] when it is not JSON, not a plan file, or of another format
    /// version.
    pub fn from_json(path: &str, text: &str) -> Result<Self, Error> {
        let bad = |message: String| Error::BadPlanFile {
            path: path.to_owned(),
            message,
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(bad(format!("its `format` is not `{FORMAT}`")));
        }
        match v.get("format_version").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(FORMAT_VERSION) => {}
            Some(n) => {
                return Err(bad(format!(
                    "format version {n}; this flinkform reads version {FORMAT_VERSION}"
                )));
            }
            None => return Err(bad("it has no `format_version`".to_owned())),
        }
        serde_json::from_value(v).map_err(|e| bad(e.to_string()))
    }

    /// What changed in the cloud since the plan was made, one sentence per change, naming
    /// the address and the attribute (`flink_workspace.analytics-prod: cu changed from 8 to
    /// 12 outside flinkform since the plan was made`). Empty: nothing changed. `recorded` is
    /// the state the plan was made against (a no-op's record is there, not in the plan).
    #[must_use]
    pub fn cloud_changes(
        &self,
        now: &Observed,
        recorded: &BTreeMap<Address, RecordedResource>,
    ) -> Vec<String> {
        let (resources, facts) = observed_digests(now);
        let mut out = Vec::new();
        let since = "outside flinkform since the plan was made";
        for (addr, was) in &self.observed {
            let Some(is) = resources.get(addr) else {
                continue;
            };
            if was.digest == is.digest {
                continue;
            }
            if was.status != is.status && (was.status == "absent" || is.status == "absent") {
                let what = if is.status == "absent" {
                    "was deleted".to_owned()
                } else {
                    format!("appeared ({})", is.status)
                };
                out.push(format!("{addr}: {what} {since}"));
                continue;
            }
            if was.status != is.status {
                out.push(format!(
                    "{addr}: status changed from {} to {} {since}",
                    was.status, is.status
                ));
            }
            if was.cloud_id != is.cloud_id {
                out.push(format!(
                    "{addr}: it is now a different resource ({} instead of {}) {since}",
                    is.cloud_id.as_ref().map_or("none", |c| c.as_str()),
                    was.cloud_id.as_ref().map_or("none", |c| c.as_str())
                ));
            }
            let names: BTreeSet<&String> = was.attrs.keys().chain(is.attrs.keys()).collect();
            for name in names {
                let (old, new) = (was.attrs.get(name), is.attrs.get(name));
                if old == new {
                    continue;
                }
                let new_value = match now.resources.get(addr) {
                    Some(Observation::Found(r)) => r.attrs.get(name),
                    _ => None,
                };
                let old_value = old.and_then(|d| self.known_value(addr, name, d, recorded));
                let text = match (old_value, new_value) {
                    (Some(o), Some(n)) => format!("{name} changed from {o} to {n}"),
                    (None, Some(n)) => format!("{name} changed to {n}"),
                    (_, None) => format!("{name} was removed"),
                };
                out.push(format!("{addr}: {text} {since}"));
            }
        }
        for (key, was) in &self.facts {
            if facts.get(key).is_some_and(|is| is != was) {
                out.push(format!("{key}: changed {since}"));
            }
        }
        out
    }

    /// A value of `addr`'s attribute `name` the plan or the state knows (a diff's old side,
    /// the recorded value) whose digest is `digest`: the value observed when the plan was
    /// made.
    fn known_value<'v>(
        &'v self,
        addr: &Address,
        name: &str,
        digest: &str,
        recorded: &'v BTreeMap<Address, RecordedResource>,
    ) -> Option<&'v Value> {
        self.plan
            .actions
            .iter()
            .filter(|a| &a.addr == addr)
            .flat_map(|a| {
                a.diffs
                    .iter()
                    .filter(|d| d.name == name)
                    .filter_map(|d| d.before.as_ref())
                    .chain(a.prior.as_ref().and_then(|p| p.attrs.get(name)))
            })
            .chain(recorded.get(addr).and_then(|r| r.attrs.get(name)))
            .find(|v| value_digest(v) == digest)
    }

    /// The spec files whose content differs from the plan's digest: `(path, why)`. `read`
    /// returns a file's bytes by its recorded path, `None` when it cannot be read.
    #[must_use]
    pub fn spec_changes(
        &self,
        read: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Vec<(String, &'static str)> {
        self.specs
            .iter()
            .filter_map(|s| match read(&s.path) {
                None => Some((s.path.clone(), "is gone")),
                Some(bytes) if sha256_hex(&bytes) != s.sha256 => {
                    Some((s.path.clone(), "was edited"))
                }
                Some(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinkform_core::{Attrs, ObservedResource, ResourceKind, TargetCloud};

    fn ws(cu: i64) -> Observation {
        let mut attrs = Attrs::new();
        attrs.insert("cu".to_owned(), Value::Int(cu));
        Observation::Found(ObservedResource::new(
            ResourceKind::FlinkWorkspace,
            "f-1".parse().expect("id"),
            attrs,
            Readiness::Ready,
        ))
    }

    fn file(observed: &Observed) -> PlanFile {
        let (o, facts) = observed_digests(observed);
        PlanFile {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            flinkform_version: "0".to_owned(),
            created: "2026-01-01T00:00:00Z".to_owned(),
            state: StateRef {
                lineage: "l".to_owned(),
                serial: 3,
            },
            target: Target {
                cloud: TargetCloud::Sim,
                world: None,
                accounts: BTreeMap::new(),
            },
            specs: vec![SpecDigest {
                path: "a.yaml".to_owned(),
                sha256: sha256_hex(b"x"),
            }],
            options: SavedOptions::default(),
            scope: Scope::default(),
            observed: o,
            facts,
            settled_intents: BTreeSet::new(),
            plan: Plan::default(),
        }
    }

    #[test]
    fn round_trips_and_sniffs() {
        let mut obs = Observed::default();
        let a: Address = "flink_workspace.w".parse().expect("addr");
        obs.resources.insert(a, ws(8));
        let f = file(&obs);
        let json = f.to_json();
        assert!(PlanFile::sniff(&json));
        assert!(!PlanFile::sniff("apiVersion: flinkform/v1\n"));
        assert_eq!(PlanFile::from_json("p", &json).expect("reads"), f);
        // Another version is refused, the previous one included (its no-ops carried copies
        // of their resources and its actions no account or region of their own).
        for version in [1, 9] {
            let other = json.replace(
                &format!("\"format_version\": {FORMAT_VERSION}"),
                &format!("\"format_version\": {version}"),
            );
            assert_ne!(other, json);
            assert!(PlanFile::from_json("p", &other).is_err());
        }
    }

    #[test]
    fn names_the_changed_attribute() {
        let a: Address = "flink_workspace.w".parse().expect("addr");
        let mut before = Observed::default();
        before.resources.insert(a.clone(), ws(8));
        let f = file(&before);
        let none = BTreeMap::new();
        assert!(f.cloud_changes(&before, &none).is_empty());
        let mut after = Observed::default();
        after.resources.insert(a.clone(), ws(12));
        let changes = f.cloud_changes(&after, &none);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].starts_with("flink_workspace.w: cu changed to 12"));
        // The state's record (a no-op's is not in the plan) tells the old value.
        let Observation::Found(was) = ws(8) else {
            panic!("found")
        };
        let record = RecordedResource {
            addr: a.clone(),
            mode: flinkform_core::Mode::Managed,
            account: "main".parse().expect("account"),
            region: None,
            cloud_id: was.cloud_id,
            attrs: was.attrs,
            depends_on: BTreeSet::new(),
            protect: false,
        };
        let recorded = [(a.clone(), record)].into_iter().collect();
        let changes = f.cloud_changes(&after, &recorded);
        assert!(changes[0].starts_with("flink_workspace.w: cu changed from 8 to 12"));
        after.resources.insert(a, Observation::Absent);
        assert!(f.cloud_changes(&after, &none)[0].contains("was deleted"));
    }

    #[test]
    fn names_edited_specs() {
        let f = file(&Observed::default());
        assert!(f.spec_changes(&|_| Some(b"x".to_vec())).is_empty());
        assert_eq!(
            f.spec_changes(&|_| Some(b"y".to_vec())),
            vec![("a.yaml".to_owned(), "was edited")]
        );
        assert_eq!(
            f.spec_changes(&|_| None),
            vec![("a.yaml".to_owned(), "is gone")]
        );
    }
}
