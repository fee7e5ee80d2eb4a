//! Golden planner cases, as data. Every directory under `tests/data/` is one case:
//!
//! - `spec.yaml`: the specs to plan (absent: a `destroy` plan);
//! - `applied.yaml` (optional): specs applied earlier; the state and the cloud start as a
//!   perfect apply of them left them (ids derived from addresses, see `support::applied`);
//! - `state.json` (optional): edits to that state: address → recorded resource, or `null`
//!   to remove the address from state;
//! - `observed.json` (optional): edits to that cloud (format below);
//! - `options.json` (optional): `{ "destroy": bool, "allow_replace": [..],
//!   "allow_destroy": [..], "force_all": bool, "claimed": [..], "confirmed_objects": { ADDRESS: N } }`
//!   (claimed: addresses the state's intent journal names; confirmed_objects: the counts
//!   of `--allow-destroy ADDRESS=N`).
//!
//! Specs are marked with the test stack's lineage (`support::STACK`), as the CLI marks them
//! with the state's.
//!
//! `observed.json`: `{ "resources": { ADDRESS: OBS }, "accounts": { NAME: FACTS } }` where
//! OBS is `"absent"`, `"unknown"`, `{ "found": { "cloud_id", "attrs", "readiness", "owner" } }`
//! (readiness `ready` | `pending` | `deleting` | `failed: why` | `unknown: why`; owner `other_account`, else
//! read from `attrs.tags`) or
//! `{ "changed": { ATTR: VALUE } }` (the resource as applied, with these attributes
//! changed); `"network": { VPC_ID: [{ "cloud_id", "attrs" }] }` lists the vSwitches of an
//! existing VPC; FACTS is `{ "uid", "flink_regions": [..], "flink_zones": { REGION: [..] },
//! "balance": { "available_cents", "currency" }, "resource_groups": [..] }` and replaces the
//! default facts (every region and zone the specs use is offered, USD 500.00 available, every
//! resource group the specs name exists). Addresses the cloud
//! did not get from `applied.yaml` are absent, except resources referenced by id, which
//! exist. `"billing_accounts": { "billing_account.<s>": "unknown" | "missing" |
//! { "exists": { "email_matches", "workspaces": [..] | null } } }` replaces the vendor's
//! default answer, which agrees with the specs (a username to register is free, an account
//! to bind exists with the spec's e-mail address and the workspace to bind).
//!
//! The snapshot shows the text plan, the edges, the drift report and the JSON summary, or
//! every planning error.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use flinkform_core::{
    AccountFacts, AccountName, Address, Attrs, Balance, BillingAccountFacts, CloudId, Mode,
    Observation, Observed, ObservedResource, Readiness, RecordedResource, Region, ResourceKind,
    Value, ZoneId,
};
use flinkform_plan::{
    Desired, PlanOptions, expand, plan, plan_destroy, plan_json, render_drift_text, render_text,
};
use flinkform_spec::{SourceFile, load};
use miette::Diagnostic;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    destroy: bool,
    #[serde(default)]
    allow_replace: BTreeSet<Address>,
    #[serde(default)]
    allow_destroy: BTreeSet<Address>,
    #[serde(default)]
    force_all: bool,
    #[serde(default)]
    claimed: BTreeSet<Address>,
    #[serde(default)]
    confirmed_objects: BTreeMap<Address, u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ObservedFile {
    #[serde(default)]
    resources: BTreeMap<Address, ObsFile>,
    #[serde(default)]
    accounts: BTreeMap<AccountName, FactsFile>,
    #[serde(default)]
    network: BTreeMap<CloudId, Vec<NetFile>>,
    #[serde(default)]
    billing_accounts: BTreeMap<Address, VendorFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetFile {
    cloud_id: CloudId,
    attrs: Attrs,
}

/// Vendor facts of a `billing_account.<s>` address.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum VendorFile {
    /// The vendor was not asked (no entry).
    Unknown,
    Missing,
    Exists {
        email_matches: bool,
        workspaces: Option<BTreeSet<String>>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ObsFile {
    Absent,
    Unknown,
    Found {
        cloud_id: CloudId,
        attrs: Attrs,
        readiness: String,
        /// `other_account`: a bucket another Alibaba Cloud account owns. Otherwise the owner
        /// is read from `attrs.tags`.
        #[serde(default)]
        owner: Option<String>,
    },
    Changed(Attrs),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    uid: Option<flinkform_core::AccountUid>,
    #[serde(default)]
    flink_regions: BTreeSet<Region>,
    #[serde(default)]
    flink_zones: BTreeMap<Region, BTreeSet<ZoneId>>,
    balance: Option<BalanceFile>,
    #[serde(default)]
    resource_groups: Option<BTreeSet<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceFile {
    available_cents: i64,
    currency: String,
}

fn readiness(s: &str) -> Readiness {
    match s {
        "ready" => Readiness::Ready,
        "pending" => Readiness::Pending,
        "deleting" => Readiness::Deleting,
        other if other.starts_with("unknown: ") => {
            Readiness::Unknown(other.trim_start_matches("unknown: ").to_owned())
        }
        other => Readiness::Failed(other.strip_prefix("failed: ").unwrap_or(other).to_owned()),
    }
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn desired_from(dir: &Path, case: &str, file: &str) -> Option<Desired> {
    let text = read(dir, file)?;
    let loaded = load(&[SourceFile::new(format!("{case}/{file}"), text)])
        .unwrap_or_else(|e| panic!("{case}/{file} does not load: {e:?}"));
    let mut d =
        expand(&loaded.stack).unwrap_or_else(|e| panic!("{case}/{file} does not expand: {e}"));
    flinkform_plan::mark(&mut d, support::STACK);
    Some(d)
}

fn plan_case(dir: &Path) -> Result<flinkform_plan::Plan, flinkform_plan::PlanErrors> {
    let case = dir.file_name().unwrap().to_string_lossy().into_owned();
    let desired = desired_from(dir, &case, "spec.yaml");
    let applied = desired_from(dir, &case, "applied.yaml");
    let options: Options = read(dir, "options.json")
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();

    // The cloud and the state as a perfect apply of `applied.yaml` left them.
    let (mut recorded, cloud) = applied.as_ref().map(support::applied).unwrap_or_default();
    if let Some(t) = read(dir, "state.json") {
        let edits: BTreeMap<Address, Option<RecordedResource>> = serde_json::from_str(&t).unwrap();
        for (addr, r) in edits {
            match r {
                Some(r) => recorded.insert(addr, r),
                None => recorded.remove(&addr),
            };
        }
    }
    let edits: ObservedFile = read(dir, "observed.json")
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();

    // What refresh would report for the request the planner makes.
    let empty = Desired::default();
    let request = flinkform_plan::observe_request(desired.as_ref().unwrap_or(&empty), &recorded);
    let mut observed = Observed::default();
    for d in &request.desired {
        let obs = match (d.mode, d.attrs.get("id").and_then(Value::as_str)) {
            (Mode::Data, Some(id)) => Observation::Found(ObservedResource::new(
                d.addr.kind(),
                CloudId::new(id).unwrap(),
                Attrs::new(),
                Readiness::Ready,
            )),
            _ => Observation::Absent,
        };
        observed.resources.insert(d.addr.clone(), obs);
    }
    for r in &request.recorded {
        observed
            .resources
            .insert(r.addr.clone(), Observation::Absent);
    }
    for (addr, obs) in &mut observed.resources {
        if let Some(o) = cloud.resources.get(addr) {
            *obs = o.clone();
        }
    }
    for (addr, edit) in edits.resources {
        let obs = match edit {
            ObsFile::Absent => Observation::Absent,
            ObsFile::Unknown => Observation::Unknown,
            ObsFile::Found {
                cloud_id,
                attrs,
                readiness: r,
                owner,
            } => {
                let mut o = ObservedResource::new(addr.kind(), cloud_id, attrs, readiness(&r));
                if owner.as_deref() == Some("other_account") {
                    o.owner = flinkform_core::Owner::OtherAccount;
                }
                Observation::Found(o)
            }
            ObsFile::Changed(changes) => match cloud.resources.get(&addr) {
                Some(Observation::Found(o)) => {
                    let mut attrs = o.attrs.clone();
                    attrs.extend(changes);
                    Observation::Found(ObservedResource::new(
                        addr.kind(),
                        o.cloud_id.clone(),
                        attrs,
                        o.readiness.clone(),
                    ))
                }
                _ => panic!("{case}: `changed` needs {addr} in applied.yaml"),
            },
        };
        observed.resources.insert(addr, obs);
    }
    for (vpc, list) in edits.network {
        let list = list
            .into_iter()
            .map(|n| {
                ObservedResource::new(ResourceKind::Vswitch, n.cloud_id, n.attrs, Readiness::Ready)
            })
            .collect();
        observed.network.insert(vpc, list);
    }
    observed.accounts = desired
        .as_ref()
        .map(support::generous_facts)
        .unwrap_or_default();
    for (name, f) in edits.accounts {
        let facts = AccountFacts {
            uid: f.uid,
            flink_regions: f.flink_regions,
            flink_zones: f.flink_zones,
            balance: f.balance.map(|b| Balance {
                cents: b.available_cents,
                currency: b.currency,
            }),
            resource_groups: f.resource_groups,
        };
        observed.accounts.insert(name, facts);
    }
    observed.billing_accounts = desired
        .as_ref()
        .map(support::vendor_facts)
        .unwrap_or_default();
    for (addr, f) in edits.billing_accounts {
        match f {
            VendorFile::Unknown => observed.billing_accounts.remove(&addr),
            VendorFile::Missing => observed
                .billing_accounts
                .insert(addr, BillingAccountFacts::Missing),
            VendorFile::Exists {
                email_matches,
                workspaces,
            } => observed.billing_accounts.insert(
                addr,
                BillingAccountFacts::Exists {
                    email_matches,
                    workspaces,
                },
            ),
        };
    }

    let opts = PlanOptions {
        allow_replace: options.allow_replace,
        allow_destroy: options.allow_destroy,
        force_all: options.force_all,
        claimed: options.claimed,
        confirmed_objects: options.confirmed_objects,
    };
    match (&desired, options.destroy) {
        (Some(d), false) => plan(d, &recorded, &observed, &opts),
        (None, true) => plan_destroy(&recorded, &observed, &opts),
        _ => panic!("{case}: give spec.yaml, or options.json with \"destroy\": true"),
    }
}

fn plan_json_of(dir: &Path) -> serde_json::Value {
    plan_json(&plan_case(dir).unwrap())
}

fn run_case(dir: &Path) -> String {
    let mut out = String::new();
    match plan_case(dir) {
        Ok(p) => {
            out.push_str(&render_text(&p));
            out.push_str("\n--- edges ---\n");
            for (from, to) in &p.edges {
                let (a, b) = (p.action(*from), p.action(*to));
                let _ = writeln!(out, "{} {} -> {} {}", a.op, a.addr, b.op, b.addr);
            }
            out.push_str("\n--- drift ---\n");
            out.push_str(&render_drift_text(&p));
            let json = plan_json(&p);
            let _ = writeln!(out, "\n--- json summary ---\n{}", json["summary"]);
            // Every kind in the plan is one the catalog knows.
            assert!(
                p.actions
                    .iter()
                    .all(|a| ResourceKind::ALL.contains(&a.addr.kind()))
            );
        }
        Err(errors) => {
            out.push_str("--- errors ---\n");
            for e in &errors.errors {
                let code = e.code().map(|c| c.to_string()).unwrap_or_default();
                let _ = writeln!(out, "error[{code}]: {e}");
                if let Some(help) = e.help() {
                    let _ = writeln!(out, "  help: {help}");
                }
            }
        }
    }
    out
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn golden_cases() {
    let dirs = cases();
    assert!(
        dirs.len() >= 12,
        "expected at least 12 cases, found {}",
        dirs.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let text = run_case(&dir);
            insta::assert_snapshot!(name, text);
        }
    });
}

#[test]
fn planning_is_deterministic_for_every_case() {
    for dir in cases() {
        assert_eq!(run_case(&dir), run_case(&dir), "{}", dir.display());
    }
}

/// The full JSON document of two cases: the format `specs/plan-json.md` documents.
#[test]
fn plan_json_documents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for case in ["quota-decrease-project-cu", "drift-quota-changed-outside"] {
            let json = plan_json_of(&root.join(case));
            let text = serde_json::to_string_pretty(&json).unwrap();
            insta::assert_snapshot!(format!("{case}.json"), text);
        }
    });
}

/// The full example in `specs/plan-json.md` is the real output for its case.
#[test]
fn the_documented_example_is_current() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(manifest.join("../../specs/plan-json.md")).unwrap();
    let after = &doc[doc.find("## Full example").unwrap()..];
    let start = after.find("```json\n").unwrap() + "```json\n".len();
    let end = start + after[start..].find("\n```").unwrap();
    let documented: serde_json::Value = serde_json::from_str(&after[start..end]).unwrap();
    let actual = plan_json_of(&manifest.join("tests/data/quota-decrease-project-cu"));
    assert_eq!(
        documented, actual,
        "update the example in specs/plan-json.md"
    );
}
