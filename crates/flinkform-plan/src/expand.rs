//! Expansion: a validated [`Stack`] becomes the set of resources it asks for ([`Desired`]),
//! with attributes named as in the catalog (`flinkform_core::kind_spec`), references to
//! the ids of resources created here, dependencies, protection and origins.
//!
//! Account-level resources (`account_balance`, `oss_service`, `ram_role`) are shared: every
//! workspace of an account points at the same node. A bucket used by two workspaces of the
//! same account and region is one node too. Everything else belongs to one document, and
//! two documents producing the same address is an error.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, Address, Attrs, DesiredResource, Mark, Mode, ObserveRequest, Origin,
    RecordedResource, Region, ResourceKind, Value, desired_tags, markable,
};
use flinkform_spec::{Billing, Duration, FlinkWorkspace, SpecResource, Stack, VSwitchRef, VpcRef};

use crate::error::{Error, at};

/// The RAM role Flink assumes.
pub const ROLE_NAME: &str = "AliyunStreamAsiDefaultRole";
/// The system policy attached to [`ROLE_NAME`].
pub const ROLE_POLICY: &str = "System:AliyunStreamAsiDefaultRolePolicy";

/// Every resource the specs ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The resources, by address.
    pub resources: BTreeMap<Address, DesiredResource>,
    /// Account → regions its workspaces use (the facts refresh reads).
    pub accounts: BTreeMap<AccountName, BTreeSet<Region>>,
    /// Where individual attributes come from in the specs (address → attribute → origin),
    /// so that errors about one attribute (`region`, `bucket`) point at its value.
    pub attr_origins: BTreeMap<Address, BTreeMap<String, Origin>>,
    /// The lineage of the state these resources are planned against (set by [`mark`]);
    /// empty when unknown, and then nothing found in the cloud counts as this stack's.
    pub stack: String,
}

impl Desired {
    /// Where attribute `name` of `addr` comes from, else where the resource does.
    #[must_use]
    pub fn origin_of(&self, addr: &Address, name: &str) -> Option<&Origin> {
        self.attr_origins
            .get(addr)
            .and_then(|m| m.get(name))
            .or_else(|| self.resources.get(addr).and_then(|r| r.origin.as_ref()))
    }
}

/// Expands every document of `stack` into resources.
///
/// # Errors
/// When two documents produce the same address with different meanings (two workspaces
/// with one name; one bucket in two accounts or regions), when a name does not fit into an
/// address, or when projects claim the whole quota.
pub fn expand(stack: &Stack) -> Result<Desired, Error> {
    let mut x = Expander::default();
    for doc in &stack.documents {
        match &doc.resource {
            SpecResource::FlinkWorkspace(w) => x.workspace(w, &doc.origin)?,
            SpecResource::MarketplaceSubscription(s) => {
                crate::market::expand_subscription(&mut x.desired, &mut x.owner, s, &doc.origin)?;
            }
        }
    }
    Ok(x.desired)
}

/// Puts the ownership mark of the stack with lineage `stack` on every managed resource that
/// takes tags (`flinkform_core::markable`): its `tags` become the spec's labels plus
/// `flinkform:stack` and `flinkform:address`. The planner then adopts a resource found in
/// the cloud but missing from state only when it carries this mark.
pub fn mark(desired: &mut Desired, stack: &str) {
    desired.stack = stack.to_owned();
    for r in desired.resources.values_mut() {
        if r.mode != Mode::Managed || !markable(r.addr.kind()) {
            continue;
        }
        let labels: BTreeMap<String, String> = r
            .attrs
            .get("tags")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with(flinkform_core::RESERVED_TAG_PREFIX))
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let tags = desired_tags(&labels, &Mark::new(stack, &r.addr));
        r.attrs.insert("tags".to_owned(), tags);
    }
}

/// What refresh must read for `desired` and `recorded`: every resource (account balance
/// checks excluded: they are account facts, not resources) and, per account, the regions
/// used by the specs and by the state.
#[must_use]
pub fn observe_request<'a>(
    desired: &'a Desired,
    recorded: &'a BTreeMap<Address, RecordedResource>,
) -> ObserveRequest<'a> {
    let mut accounts = desired.accounts.clone();
    for r in recorded.values() {
        let regions = accounts.entry(r.account.clone()).or_default();
        if let Some(region) = &r.region {
            regions.insert(region.clone());
        }
    }
    ObserveRequest {
        desired: desired
            .resources
            .values()
            .filter(|d| d.addr.kind() != ResourceKind::AccountBalance)
            .collect(),
        recorded: recorded
            .values()
            .filter(|r| r.addr.kind() != ResourceKind::AccountBalance)
            .collect(),
        accounts,
    }
}

#[derive(Default)]
struct Expander {
    desired: Desired,
    /// Address → workspace that declared it first (for conflict messages).
    owner: BTreeMap<Address, String>,
}

/// One workspace document being expanded.
struct Doc<'a> {
    w: &'a FlinkWorkspace,
    origin: &'a Origin,
}

impl Doc<'_> {
    /// The origin of the first of `keys` the spec recorded, else the document's.
    fn origin(&self, keys: &[&str]) -> Origin {
        keys.iter()
            .find_map(|k| self.w.origins.get(*k))
            .unwrap_or(self.origin)
            .clone()
    }

    fn addr(&self, kind: ResourceKind, name: &str, origin: &Origin) -> Result<Address, Error> {
        Address::new(kind, name).map_err(|_| Error::BadAddress {
            at: at(Some(origin)),
            input: format!("{kind}.{name}"),
        })
    }

    fn resource(
        &self,
        addr: &Address,
        mode: Mode,
        attrs: Attrs,
        origin: Origin,
    ) -> DesiredResource {
        let depends_on = attrs.values().flat_map(Value::refs).cloned().collect();
        DesiredResource {
            addr: addr.clone(),
            mode,
            account: self.w.account.clone(),
            region: Some(self.w.region.clone()),
            attrs,
            depends_on,
            protect: self.w.protect,
            origin: Some(origin),
        }
    }
}

fn attrs<const N: usize>(pairs: [(&str, Value); N]) -> Attrs {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Expander {
    fn workspace(&mut self, w: &FlinkWorkspace, origin: &Origin) -> Result<(), Error> {
        let d = Doc { w, origin };
        let region = Value::str(w.region.as_str());
        let labels = Value::str_map(w.labels.clone());
        self.desired
            .accounts
            .entry(w.account.clone())
            .or_default()
            .insert(w.region.clone());

        // Account level: shared by every workspace of the account.
        let account_origin = d.origin(&["spec.account"]);
        let mut ws_deps = BTreeSet::new();
        if w.billing == Billing::PayAsYouGo {
            let o = d.origin(&["spec.billing.method", "spec.billing"]);
            let addr = d.addr(ResourceKind::AccountBalance, w.account.as_str(), &o)?;
            // No amount here: the minimum depends on the currency the account reports, which
            // only a read tells; the planner and the executor apply
            // `flinkform_core::money::payg_minimum_cents` to it.
            self.shared(&d, &addr, Attrs::new(), o);
            ws_deps.insert(addr);
        }
        let oss = d.addr(
            ResourceKind::OssService,
            w.account.as_str(),
            &account_origin,
        )?;
        self.shared(&d, &oss, Attrs::new(), account_origin.clone());
        let role = d.addr(ResourceKind::RamRole, w.account.as_str(), &account_origin)?;
        let role_attrs = attrs([
            ("policies", Value::List(vec![Value::str(ROLE_POLICY)])),
            ("role_name", Value::str(ROLE_NAME)),
        ]);
        self.shared(&d, &role, role_attrs, account_origin);
        ws_deps.extend([oss.clone(), role]);

        // VPC.
        let vpc_origin = d.origin(&["spec.network.vpc"]);
        let vpc = d.addr(ResourceKind::Vpc, &w.name, &vpc_origin)?;
        let vpc_id = match &w.network.vpc {
            VpcRef::Create { cidr } => {
                let a = attrs([
                    ("cidr", Value::str(cidr)),
                    ("name", Value::str(&w.name)),
                    ("region", region.clone()),
                    ("tags", labels.clone()),
                ]);
                let r = d.resource(&vpc, Mode::Managed, a, vpc_origin);
                self.attr_origin(
                    &vpc,
                    "cidr",
                    d.origin(&["spec.network.vpc.create.cidr", "spec.network.vpc"]),
                );
                self.attr_origin(&vpc, "region", d.origin(&["spec.region"]));
                self.owned(&d, r)?;
                Value::reference(vpc.clone())
            }
            VpcRef::Existing(id) => {
                let o = d.origin(&["spec.network.vpc.id", "spec.network.vpc"]);
                let r = d.resource(
                    &vpc,
                    Mode::Data,
                    attrs([("id", Value::str(id.as_str()))]),
                    o,
                );
                self.owned(&d, r)?;
                Value::str(id.as_str())
            }
        };
        ws_deps.insert(vpc.clone());

        // vSwitches.
        let mut vswitch_ids = Vec::new();
        for (i, v) in w.network.vswitches.iter().enumerate() {
            let key = format!("spec.network.vSwitches[{i}]");
            let o = d.origin(&[&key]);
            let addr = d.addr(ResourceKind::Vswitch, &format!("{}[{i}]", w.name), &o)?;
            match v {
                VSwitchRef::Create { cidr } => {
                    let a = attrs([
                        ("cidr", Value::str(cidr)),
                        ("name", Value::str(format!("{}-{i}", w.name))),
                        ("region", region.clone()),
                        ("tags", labels.clone()),
                        ("vpc_id", vpc_id.clone()),
                        ("zone", Value::str(w.zone.as_str())),
                    ]);
                    let mut r = d.resource(&addr, Mode::Managed, a, o);
                    r.depends_on.insert(vpc.clone());
                    self.attr_origin(
                        &addr,
                        "cidr",
                        d.origin(&[&format!("{key}.create.cidr"), &key]),
                    );
                    self.attr_origin(&addr, "zone", d.origin(&["spec.zone"]));
                    self.attr_origin(&addr, "region", d.origin(&["spec.region"]));
                    self.attr_origin(&addr, "vpc_id", d.origin(&["spec.network.vpc"]));
                    self.owned(&d, r)?;
                    vswitch_ids.push(Value::reference(addr.clone()));
                }
                VSwitchRef::Existing(id) => {
                    let o = d.origin(&[&format!("{key}.id"), &key]);
                    let mut r = d.resource(
                        &addr,
                        Mode::Data,
                        attrs([("id", Value::str(id.as_str()))]),
                        o,
                    );
                    r.depends_on.insert(vpc.clone());
                    self.owned(&d, r)?;
                    vswitch_ids.push(Value::str(id.as_str()));
                }
            }
            ws_deps.insert(addr);
        }

        // Bucket.
        let bucket_origin = d.origin(&[
            "spec.storage.ossBucket.name",
            "spec.storage.ossBucket",
            "spec.storage",
        ]);
        let bucket = d.addr(ResourceKind::OssBucket, &w.storage.bucket, &bucket_origin)?;
        let a = attrs([
            ("name", Value::str(&w.storage.bucket)),
            ("region", region.clone()),
            ("tags", labels.clone()),
        ]);
        let mut r = d.resource(&bucket, Mode::Managed, a, bucket_origin);
        r.depends_on.insert(oss);
        self.attr_origin(&bucket, "region", d.origin(&["spec.region"]));
        self.bucket(&d, r)?;
        ws_deps.insert(bucket);

        // Workspace.
        let name_origin = d.origin(&["metadata.name"]);
        let ws = d.addr(ResourceKind::FlinkWorkspace, &w.name, &name_origin)?;
        let mut a = attrs([
            ("bucket", Value::str(&w.storage.bucket)),
            ("name", Value::str(&w.name)),
            ("region", region.clone()),
            ("tags", labels),
            ("vpc_id", vpc_id),
            ("vswitch_ids", Value::List(vswitch_ids)),
            ("zone", Value::str(w.zone.as_str())),
        ]);
        if let Some(group) = &w.resource_group {
            a.insert("resource_group".into(), Value::str(group));
        }
        let project_cu: u64 = w.projects.iter().filter_map(|p| p.cu).map(u64::from).sum();
        let default_cu = match &w.billing {
            Billing::PayAsYouGo => {
                a.insert("charge_type".into(), Value::str("POST"));
                None
            }
            Billing::Subscription {
                duration,
                auto_renew,
                quota_cu,
            } => {
                let quota = u64::from(*quota_cu);
                if project_cu >= quota {
                    return Err(Error::QuotaExhausted {
                        at: at(Some(&d.origin(&["spec.quota.cu", "spec.quota"]))),
                        workspace: w.name.clone(),
                        claimed: project_cu,
                        quota,
                    });
                }
                let (cycle, n) = match duration {
                    Duration::Months(n) => ("Month", n),
                    Duration::Years(n) => ("Year", n),
                };
                let default_cu = i64::try_from(quota - project_cu).unwrap_or(i64::MAX);
                a.insert("auto_renew".into(), Value::Bool(*auto_renew));
                a.insert("charge_type".into(), Value::str("PRE"));
                a.insert("cu".into(), Value::Int(i64::from(*quota_cu)));
                a.insert("default_project_cu".into(), Value::Int(default_cu));
                a.insert("duration".into(), Value::Int(i64::from(*n)));
                a.insert("pricing_cycle".into(), Value::str(cycle));
                Some(default_cu)
            }
        };
        let mut r = d.resource(&ws, Mode::Managed, a, name_origin.clone());
        r.depends_on.extend(ws_deps);
        for (attr, keys) in [
            ("region", &["spec.region"][..]),
            ("zone", &["spec.zone"][..]),
            (
                "bucket",
                &[
                    "spec.storage.ossBucket.name",
                    "spec.storage.ossBucket",
                    "spec.storage",
                ][..],
            ),
            ("charge_type", &["spec.billing.method", "spec.billing"][..]),
            ("cu", &["spec.quota.cu", "spec.quota"][..]),
            (
                "auto_renew",
                &["spec.billing.autoRenew", "spec.billing"][..],
            ),
            ("vpc_id", &["spec.network.vpc"][..]),
            ("vswitch_ids", &["spec.network.vSwitches"][..]),
            ("resource_group", &["spec.resourceGroup"][..]),
        ] {
            self.attr_origin(&ws, attr, d.origin(keys));
        }
        self.owned(&d, r)?;

        // Generated default project.
        let default_name = format!("{}-default", w.name);
        let default = d.addr(
            ResourceKind::FlinkProject,
            &format!("{}/{default_name}", w.name),
            &name_origin,
        )?;
        let mut a = attrs([
            ("generated", Value::Bool(true)),
            ("name", Value::str(&default_name)),
            ("region", region.clone()),
            ("workspace_id", Value::reference(ws.clone())),
        ]);
        if let Some(cu) = default_cu {
            a.insert("cu".into(), Value::Int(cu));
        }
        let r = d.resource(&default, Mode::Managed, a, name_origin);
        self.owned(&d, r)?;

        // Projects.
        for (i, p) in w.projects.iter().enumerate() {
            let key = format!("spec.projects[{i}]");
            let o = d.origin(&[&format!("{key}.name"), &key]);
            let addr = d.addr(
                ResourceKind::FlinkProject,
                &format!("{}/{}", w.name, p.name),
                &o,
            )?;
            let mut a = attrs([
                ("name", Value::str(&p.name)),
                ("region", region.clone()),
                ("workspace_id", Value::reference(ws.clone())),
            ]);
            if let Some(cu) = p.cu {
                a.insert("cu".into(), Value::Int(i64::from(cu)));
                self.attr_origin(&addr, "cu", d.origin(&[&format!("{key}.cu"), &key]));
            }
            let mut r = d.resource(&addr, Mode::Managed, a, o);
            r.depends_on.insert(default.clone());
            self.owned(&d, r)?;
        }
        Ok(())
    }

    fn attr_origin(&mut self, addr: &Address, name: &str, origin: Origin) {
        self.desired
            .attr_origins
            .entry(addr.clone())
            .or_default()
            .insert(name.to_owned(), origin);
    }

    /// An account-level resource: merged with the same node of other workspaces.
    fn shared(&mut self, d: &Doc<'_>, addr: &Address, attrs: Attrs, origin: Origin) {
        self.desired
            .resources
            .entry(addr.clone())
            .or_insert_with(|| {
                let mut r = d.resource(addr, Mode::Managed, attrs, origin);
                r.region = None;
                r.protect = false;
                r
            });
    }

    /// A bucket: shared by workspaces of one account and region, else a conflict.
    fn bucket(&mut self, d: &Doc<'_>, r: DesiredResource) -> Result<(), Error> {
        let Some(prev) = self.desired.resources.get_mut(&r.addr) else {
            self.owner.insert(r.addr.clone(), d.w.name.clone());
            self.desired.resources.insert(r.addr.clone(), r);
            return Ok(());
        };
        if prev.account == r.account && prev.region == r.region {
            prev.protect |= r.protect;
            return Ok(());
        }
        Err(Error::BucketConflict {
            at: at(r.origin.as_ref()),
            bucket: d.w.storage.bucket.clone(),
            other: self.owner.get(&r.addr).cloned().unwrap_or_default(),
            other_place: format!(
                "account {}, region {}",
                prev.account,
                prev.region.as_ref().map(Region::as_str).unwrap_or_default()
            ),
        })
    }

    /// A resource only this document may declare.
    fn owned(&mut self, d: &Doc<'_>, r: DesiredResource) -> Result<(), Error> {
        if let Some(prev) = self.desired.resources.get(&r.addr) {
            let first = prev
                .origin
                .as_ref()
                .map(|o| format!(" (first at {o})"))
                .unwrap_or_default();
            let other = self.owner.get(&r.addr).cloned().unwrap_or_default();
            return Err(Error::Conflict {
                at: at(r.origin.as_ref()),
                addr: r.addr.to_string(),
                detail: format!(
                    "workspace `{}` and workspace `{other}`{first} both produce it",
                    d.w.name
                ),
            });
        }
        self.owner.insert(r.addr.clone(), d.w.name.clone());
        self.desired.resources.insert(r.addr.clone(), r);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use flinkform_core::{CloudId, ZoneId, attr};
    use flinkform_spec::{Document, Network, Project, Storage};

    use super::*;

    fn ws(name: &str) -> FlinkWorkspace {
        FlinkWorkspace {
            name: name.to_owned(),
            account: AccountName::new("main").unwrap(),
            region: Region::new("ap-southeast-1").unwrap(),
            zone: ZoneId::new("ap-southeast-1a").unwrap(),
            resource_group: None,
            billing: Billing::Subscription {
                duration: Duration::Years(1),
                auto_renew: false,
                quota_cu: 8,
            },
            network: Network {
                vpc: VpcRef::Create {
                    cidr: "10.0.0.0/16".into(),
                },
                vswitches: vec![
                    VSwitchRef::Create {
                        cidr: "10.0.1.0/24".into(),
                    },
                    VSwitchRef::Existing(CloudId::new("vsw-x").unwrap()),
                ],
            },
            storage: Storage {
                bucket: format!("{name}-b"),
            },
            projects: vec![Project {
                name: "etl".into(),
                cu: Some(3),
            }],
            protect: true,
            upstream: Vec::new(),
            labels: BTreeMap::new(),
            origins: [(
                "spec.quota.cu".to_owned(),
                Origin {
                    file: "a.yaml".into(),
                    line: 9,
                    column: 9,
                },
            )]
            .into_iter()
            .collect(),
        }
    }

    fn stack(ws: Vec<FlinkWorkspace>) -> Stack {
        Stack {
            documents: ws
                .into_iter()
                .map(|w| Document {
                    origin: Origin {
                        file: "a.yaml".into(),
                        line: 1,
                        column: 1,
                    },
                    resource: SpecResource::FlinkWorkspace(w),
                })
                .collect(),
        }
    }

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    #[test]
    fn every_managed_attribute_is_in_the_catalog() {
        let d = expand(&stack(vec![ws("w")])).unwrap();
        for r in d.resources.values() {
            for name in r.attrs.keys() {
                let known =
                    attr(r.addr.kind(), name).is_some() || (r.mode == Mode::Data && name == "id");
                assert!(
                    known,
                    "{} has `{name}`, which the catalog does not know",
                    r.addr
                );
            }
            for dep in &r.depends_on {
                assert!(
                    d.resources.contains_key(dep),
                    "{} depends on unknown {dep}",
                    r.addr
                );
            }
            for target in r.attrs.values().flat_map(Value::refs) {
                assert!(
                    r.depends_on.contains(target),
                    "{} refers to {target} without depending on it",
                    r.addr
                );
            }
        }
    }

    #[test]
    fn subscription_workspace_carries_quota_and_default_project_cu() {
        let d = expand(&stack(vec![ws("w")])).unwrap();
        let w = &d.resources[&a("flink_workspace.w")];
        assert_eq!(w.attrs["charge_type"], Value::str("PRE"));
        assert_eq!(w.attrs["cu"], Value::Int(8));
        assert_eq!(w.attrs["default_project_cu"], Value::Int(5));
        assert_eq!(w.attrs["pricing_cycle"], Value::str("Year"));
        assert_eq!(
            w.attrs["vswitch_ids"],
            Value::List(vec![
                Value::reference(a("vswitch.w[0]")),
                Value::str("vsw-x")
            ])
        );
        let default = &d.resources[&a("flink_project.w/w-default")];
        assert_eq!(default.attrs["cu"], Value::Int(5));
        assert_eq!(default.attrs["generated"], Value::Bool(true));
        let etl = &d.resources[&a("flink_project.w/etl")];
        assert!(etl.depends_on.contains(&a("flink_project.w/w-default")));
        assert_eq!(d.resources[&a("vswitch.w[1]")].mode, Mode::Data);
        assert!(!d.resources.contains_key(&a("account_balance.main")));
        assert!(w.protect);
    }

    #[test]
    fn account_level_resources_are_shared_and_unprotected() {
        let mut second = ws("v");
        second.billing = Billing::PayAsYouGo;
        second.projects.clear();
        let d = expand(&stack(vec![ws("w"), second])).unwrap();
        let shared: Vec<_> = d
            .resources
            .keys()
            .filter(|k| {
                matches!(
                    k.kind(),
                    ResourceKind::OssService | ResourceKind::RamRole | ResourceKind::AccountBalance
                )
            })
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shared,
            ["account_balance.main", "oss_service.main", "ram_role.main"]
        );
        assert!(
            d.resources
                .values()
                .filter(|r| r.region.is_none())
                .all(|r| !r.protect)
        );
        assert_eq!(d.accounts.len(), 1);
        assert!(
            d.resources[&a("flink_workspace.v")]
                .depends_on
                .contains(&a("account_balance.main"))
        );
        assert!(
            !d.resources[&a("flink_workspace.w")]
                .depends_on
                .contains(&a("account_balance.main"))
        );
    }

    #[test]
    fn a_resource_group_is_an_attribute_of_the_workspace_only_when_given() {
        let d = expand(&stack(vec![ws("w")])).unwrap();
        assert!(
            !d.resources[&a("flink_workspace.w")]
                .attrs
                .contains_key("resource_group")
        );
        let mut w = ws("w");
        w.resource_group = Some("rg-acfm1".into());
        w.origins.insert(
            "spec.resourceGroup".into(),
            Origin {
                file: "a.yaml".into(),
                line: 7,
                column: 18,
            },
        );
        let d = expand(&stack(vec![w])).unwrap();
        let addr = a("flink_workspace.w");
        assert_eq!(
            d.resources[&addr].attrs["resource_group"],
            Value::str("rg-acfm1")
        );
        assert_eq!(
            d.origin_of(&addr, "resource_group")
                .map(ToString::to_string),
            Some("a.yaml:7:18".to_owned())
        );
        // Only the workspace moves; its network and bucket stay where they are.
        for r in d.resources.values().filter(|r| r.addr != addr) {
            assert!(!r.attrs.contains_key("resource_group"), "{}", r.addr);
        }
    }

    #[test]
    fn the_balance_check_states_no_amount_of_its_own() {
        let mut w = ws("w");
        w.billing = Billing::PayAsYouGo;
        w.projects.clear();
        let d = expand(&stack(vec![w])).unwrap();
        assert!(d.resources[&a("account_balance.main")].attrs.is_empty());
    }

    #[test]
    fn two_workspaces_with_one_name_conflict() {
        let e = expand(&stack(vec![ws("w"), ws("w")])).unwrap_err();
        assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    }

    #[test]
    fn a_bucket_in_two_regions_conflicts() {
        let mut other = ws("v");
        other.storage.bucket = "w-b".into();
        other.region = Region::new("eu-central-1").unwrap();
        let e = expand(&stack(vec![ws("w"), other])).unwrap_err();
        assert!(matches!(e, Error::BucketConflict { .. }), "{e:?}");
    }

    #[test]
    fn projects_claiming_the_whole_quota_are_refused_at_the_quota() {
        let mut w = ws("w");
        w.projects.push(Project {
            name: "ml".into(),
            cu: Some(5),
        });
        let e = expand(&stack(vec![w])).unwrap_err();
        assert!(e.to_string().starts_with("a.yaml:9:9: "), "{e}");
    }

    #[test]
    fn the_observe_request_leaves_out_balance_checks() {
        let mut w = ws("w");
        w.billing = Billing::PayAsYouGo;
        w.projects.clear();
        let d = expand(&stack(vec![w])).unwrap();
        let recorded = BTreeMap::new();
        let req = observe_request(&d, &recorded);
        assert_eq!(req.desired.len(), d.resources.len() - 1);
        assert!(
            req.desired
                .iter()
                .all(|r| r.addr.kind() != ResourceKind::AccountBalance)
        );
        assert_eq!(req.accounts[&AccountName::new("main").unwrap()].len(), 1);
    }
}
