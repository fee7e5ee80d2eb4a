//! The rules of a `FlinkWorkspace` document: checks a parsed [`DocumentDto`], records one
//! diagnostic per broken rule (all of them, not just the first), and builds the validated
//! [`FlinkWorkspace`] when none is broken. Cross-document rules (duplicate names and
//! buckets) are checked by the loader with the keys returned here.

use std::collections::BTreeMap;

use flinkform_core::{AccountName, CloudId, Origin, Region, ZoneId};
use ipnet::Ipv4Net;
use serde_saphyr::{Location, Spanned};

use crate::dto::{DocumentDto, DurationDto, RefDto};
use crate::error::Code;
use crate::model::{
    Billing, Duration, FlinkWorkspace, Network, Project, Storage, Upstream, VSwitchRef, VpcRef,
};
use crate::rules::{self, CidrProblem};
use crate::source::{DocCtx, Site, text};

/// A value other documents are compared with (workspace name, bucket).
#[derive(Debug, Clone)]
pub(crate) struct Keyed {
    pub(crate) value: String,
    pub(crate) site: Site,
}

/// What checking one document gave.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The workspace, when the document broke no rule.
    pub(crate) workspace: Option<FlinkWorkspace>,
    /// `metadata.name`, when it is a valid name.
    pub(crate) name: Option<Keyed>,
    /// `spec.storage.ossBucket.name`, when it is a valid bucket name.
    pub(crate) bucket: Option<Keyed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Subscription,
    PayAsYouGo,
}

const SUBSCRIPTION_ONLY_HELP: &str = "remove it, or set billing.method: subscription";

/// Where each field is, by dotted path.
#[derive(Default)]
struct Origins(BTreeMap<String, Origin>);

impl Origins {
    fn put(&mut self, ctx: &DocCtx<'_>, path: &str, loc: &Location) {
        self.0.insert(path.to_owned(), ctx.origin(loc));
    }
}

/// Checks every rule of a `FlinkWorkspace` document.
#[expect(
    clippy::too_many_lines,
    reason = "one linear pass over the document's fields"
)]
pub(crate) fn check_workspace(ctx: &mut DocCtx<'_>, doc: DocumentDto) -> Checked {
    let errors_before = ctx.error_count();
    let mut o = Origins::default();
    let DocumentDto { metadata, spec, .. } = doc;

    // metadata
    let name = metadata.name;
    o.put(ctx, "metadata.name", &name.referenced);
    let name_ok = rules::is_workspace_name(&name.value);
    if !name_ok {
        ctx.error(
            Code::WorkspaceName,
            &name.referenced,
            text(
                format!("`{}` is not a valid workspace name", name.value),
                workspace_name_problem(&name.value),
                "use 1-60 characters: a letter first, then letters, digits and hyphens \
                 (e.g. `analytics-prod`); the name cannot be changed later",
            ),
        );
    }
    let mut labels = BTreeMap::new();
    if let Some(map) = metadata.labels {
        o.put(ctx, "metadata.labels", &map.referenced);
        if map.value.len() > rules::MAX_LABELS {
            ctx.error(
                Code::Labels,
                &map.referenced,
                text(
                    format!("{} labels; a workspace takes at most {}", map.value.len(), rules::MAX_LABELS),
                    "too many labels",
                    "keep at most 18 labels: they become resource tags, Alibaba Cloud allows 20 per resource, and flinkform's ownership mark takes two",
                ),
            );
        }
        for (key, value) in map.value {
            o.put(ctx, &format!("metadata.labels.{key}"), &value.referenced);
            check_label(ctx, &key, &value);
            labels.insert(key, value.value);
        }
    }

    // account, region, zone
    o.put(ctx, "spec.account", &spec.account.referenced);
    let account = check_account(ctx, &spec.account);
    o.put(ctx, "spec.region", &spec.region.referenced);
    let region = Region::new(spec.region.value.clone()).ok();
    match &region {
        None => ctx.error(
            Code::Region,
            &spec.region.referenced,
            text(
                format!("`{}` is not a region id", spec.region.value),
                "lowercase letters, digits and hyphens only",
                format!(
                    "use a region id such as `ap-southeast-1`; {}",
                    regions_help()
                ),
            ),
        ),
        Some(r) if !rules::is_flink_region(r.as_str()) => ctx.error(
            Code::UnsupportedRegion,
            &spec.region.referenced,
            text(
                format!("fully managed Flink is not offered in region `{r}`"),
                "not a Flink region",
                regions_help(),
            ),
        ),
        Some(_) => {}
    }
    o.put(ctx, "spec.zone", &spec.zone.referenced);
    let zone = ZoneId::new(spec.zone.value.clone()).ok();
    match (&zone, &region) {
        (None, _) => ctx.error(
            Code::Zone,
            &spec.zone.referenced,
            text(
                format!("`{}` is not a zone id", spec.zone.value),
                "lowercase letters, digits and hyphens only",
                "use a zone id of the region, e.g. `ap-southeast-1a` in `ap-southeast-1`",
            ),
        ),
        (Some(z), Some(r)) if !rules::zone_in_region(z.as_str(), r.as_str()) => ctx.error(
            Code::ZoneNotInRegion,
            &spec.zone.referenced,
            text(
                format!("zone `{z}` is not in region `{r}`"),
                format!("not a zone of {r}"),
                format!(
                    "the whole workspace is in one zone of its region: use a zone of `{r}` \
                     (e.g. `{r}a`), or change spec.region"
                ),
            ),
        ),
        _ => {}
    }

    // resource group
    let mut resource_group = None;
    if let Some(g) = &spec.resource_group {
        o.put(ctx, "spec.resourceGroup", &g.referenced);
        if rules::is_resource_group_id(&g.value) {
            resource_group = Some(g.value.clone());
        } else {
            ctx.error(
                Code::ResourceGroup,
                &g.referenced,
                text(
                    format!("`{}` is not a resource group id", g.value),
                    resource_group_problem(&g.value),
                    "use the id of one of the account's resource groups: `rg-` and lowercase letters and \
                     digits, e.g. `rg-acfmxazb4ph6aiy` (the console's Resource Management page and \
                     `aliyun resourcemanager ListResourceGroups` show them); leave it out for the \
                     account's default group",
                ),
            );
        }
    }

    // billing and quota
    let billing = &spec.billing;
    o.put(ctx, "spec.billing", &billing.referenced);
    let method_value = &billing.value.method;
    o.put(ctx, "spec.billing.method", &method_value.referenced);
    let method = match method_value.value.as_str() {
        "subscription" => Some(Method::Subscription),
        "pay-as-you-go" => Some(Method::PayAsYouGo),
        other => {
            ctx.error(
                Code::BillingMethod,
                &method_value.referenced,
                text(
                    format!("`{other}` is not a billing method"),
                    "unknown billing method",
                    "use `subscription` or `pay-as-you-go`",
                ),
            );
            None
        }
    };
    let mut duration = None;
    if let Some(d) = &billing.value.duration {
        o.put(ctx, "spec.billing.duration", &d.referenced);
        if method == Some(Method::PayAsYouGo) {
            subscription_only(ctx, "billing.duration", &d.referenced);
        } else {
            duration = check_duration(ctx, d);
        }
    }
    let mut auto_renew = false;
    if let Some(a) = &billing.value.auto_renew {
        o.put(ctx, "spec.billing.autoRenew", &a.referenced);
        if method == Some(Method::PayAsYouGo) {
            subscription_only(ctx, "billing.autoRenew", &a.referenced);
        }
        auto_renew = a.value;
    }
    let mut quota_cu = None;
    if let Some(q) = &spec.quota {
        o.put(ctx, "spec.quota", &q.referenced);
        o.put(ctx, "spec.quota.cu", &q.value.cu.referenced);
        if method == Some(Method::PayAsYouGo) {
            subscription_only(ctx, "spec.quota", &q.referenced);
        } else if cu_in_range(q.value.cu.value) {
            quota_cu = Some(q.value.cu.value);
        } else {
            ctx.error(
                Code::Quota,
                &q.value.cu.referenced,
                text(
                    format!("a quota of {} CU is out of range", q.value.cu.value),
                    "1 to 10000",
                    "set quota.cu from 1 to 10000 (1 CU = 1 core + 4 GiB)",
                ),
            );
        }
    }
    if method == Some(Method::Subscription) {
        if billing.value.duration.is_none() {
            ctx.error(
                Code::SubscriptionRequired,
                &method_value.referenced,
                text(
                    "a subscription needs `billing.duration`",
                    "subscription without a duration",
                    "add `duration: { months: 1 }` (1-9 months) or `duration: { years: 1 }` (1-3 years) \
                     under billing",
                ),
            );
        }
        if spec.quota.is_none() {
            ctx.error(
                Code::SubscriptionRequired,
                &method_value.referenced,
                text(
                    "a subscription needs `spec.quota`",
                    "subscription without a quota",
                    "add `quota: { cu: 16 }` under spec: the compute units the subscription pays for \
                     (1 CU = 1 core + 4 GiB)",
                ),
            );
        }
    }

    // network
    let network = &spec.network;
    let (vpc, vpc_net, vpc_created) = check_vpc(ctx, &mut o, &network.vpc);
    let vswitches = check_vswitches(ctx, &mut o, &network.v_switches, vpc_net, vpc_created);

    // storage
    let bucket = &spec.storage.oss_bucket.name;
    o.put(ctx, "spec.storage.ossBucket.name", &bucket.referenced);
    let bucket_ok = rules::is_bucket_name(&bucket.value);
    if !bucket_ok {
        ctx.error(
            Code::BucketName,
            &bucket.referenced,
            text(
                format!("`{}` is not a valid OSS bucket name", bucket.value),
                bucket_name_problem(&bucket.value),
                "use 3-63 characters of lowercase letters, digits and hyphens, starting and ending \
                 with a letter or digit (e.g. `analytics-prod-flink`)",
            ),
        );
    }

    // projects
    let projects = check_projects(ctx, &mut o, &spec, &name.value, method, quota_cu);

    // protect
    let protect = spec.protect.as_ref().is_none_or(|p| p.value);
    if let Some(p) = &spec.protect {
        o.put(ctx, "spec.protect", &p.referenced);
    }

    // upstream
    let mut upstream = Vec::new();
    for (i, u) in spec.upstream.iter().flatten().enumerate() {
        o.put(ctx, &format!("spec.upstream[{i}]"), &u.name.referenced);
        upstream.push(check_upstream(
            ctx,
            u,
            region.as_ref(),
            zone.as_ref(),
            vpc.as_ref(),
        ));
    }

    let keyed = |ok: bool, s: &Spanned<String>, ctx: &DocCtx<'_>| {
        ok.then(|| Keyed {
            value: s.value.clone(),
            site: ctx.site(&s.referenced),
        })
    };
    let name_key = keyed(name_ok, &name, ctx);
    let bucket_key = keyed(bucket_ok, bucket, ctx);
    let valid = ctx.error_count() == errors_before;
    let workspace = valid
        .then(|| {
            let billing = match method? {
                Method::PayAsYouGo => Billing::PayAsYouGo,
                Method::Subscription => Billing::Subscription {
                    duration: duration?,
                    auto_renew,
                    quota_cu: quota_cu?,
                },
            };
            let upstream = upstream.into_iter().collect::<Option<Vec<_>>>()?;
            Some(FlinkWorkspace {
                name: name.value,
                account: account?,
                region: region?,
                zone: zone?,
                resource_group,
                billing,
                network: Network {
                    vpc: vpc?,
                    vswitches: vswitches?,
                },
                storage: Storage {
                    bucket: bucket.value.clone(),
                },
                projects: projects?,
                protect,
                upstream,
                labels,
                origins: o.0,
            })
        })
        .flatten();
    Checked {
        workspace,
        name: name_key,
        bucket: bucket_key,
    }
}

fn subscription_only(ctx: &mut DocCtx<'_>, field: &str, loc: &Location) {
    ctx.error(
        Code::SubscriptionOnly,
        loc,
        text(
            format!("`{field}` is only for subscriptions"),
            "not used by pay-as-you-go",
            SUBSCRIPTION_ONLY_HELP,
        ),
    );
}

fn cu_in_range(cu: u32) -> bool {
    (rules::MIN_CU..=rules::MAX_CU).contains(&cu)
}

fn regions_help() -> String {
    format!(
        "fully managed Flink is offered in: {} (international site); {} (China site)",
        rules::INTL_REGIONS.join(", "),
        rules::CHINA_REGIONS.join(", ")
    )
}

fn check_label(ctx: &mut DocCtx<'_>, key: &str, value: &Spanned<String>) {
    let key_len = key.chars().count();
    let shown: String = if key_len > 24 {
        format!("{}...", key.chars().take(24).collect::<String>())
    } else {
        key.to_owned()
    };
    if key_len == 0 || key_len > rules::MAX_LABEL_KEY {
        let site = ctx.key_site(key, &value.referenced);
        ctx.error_at(
            Code::Labels,
            site,
            text(
                format!("label key `{shown}` has {key_len} characters"),
                "1 to 128 characters",
                "use label keys of 1-128 characters",
            ),
        );
    } else if key.starts_with(flinkform_core::RESERVED_TAG_PREFIX) {
        let site = ctx.key_site(key, &value.referenced);
        ctx.error_at(
            Code::Labels,
            site,
            text(
                format!("label key `{shown}` uses the prefix of flinkform's ownership mark"),
                "reserved prefix",
                "`flinkform:` tags mark what flinkform owns and are set by flinkform itself; rename the key",
            ),
        );
    } else if key.starts_with("aliyun") || key.starts_with("acs:") {
        let site = ctx.key_site(key, &value.referenced);
        ctx.error_at(
            Code::Labels,
            site,
            text(
                format!("label key `{shown}` uses a prefix reserved by Alibaba Cloud"),
                "reserved prefix",
                "label keys may not start with `aliyun` or `acs:`; rename the key",
            ),
        );
    }
    let value_len = value.value.chars().count();
    if value_len > rules::MAX_LABEL_VALUE {
        ctx.error(
            Code::Labels,
            &value.referenced,
            text(
                format!("the value of label `{shown}` has {value_len} characters"),
                "at most 128 characters",
                "use label values of at most 128 characters",
            ),
        );
    }
}

pub(crate) fn check_duration(ctx: &mut DocCtx<'_>, d: &Spanned<DurationDto>) -> Option<Duration> {
    match (&d.value.months, &d.value.years) {
        (Some(m), None) if (1..=9).contains(&m.value) => Some(Duration::Months(m.value)),
        (None, Some(y)) if (1..=3).contains(&y.value) => Some(Duration::Years(y.value)),
        (Some(m), None) => {
            ctx.error(
                Code::Duration,
                &m.referenced,
                text(
                    format!("{} months is not a subscription duration", m.value),
                    "1 to 9 months",
                    "use `months:` from 1 to 9, or `years:` from 1 to 3 for longer subscriptions",
                ),
            );
            None
        }
        (None, Some(y)) => {
            ctx.error(
                Code::Duration,
                &y.referenced,
                text(
                    format!("{} years is not a subscription duration", y.value),
                    "1 to 3 years",
                    "use `years:` from 1 to 3, or `months:` from 1 to 9",
                ),
            );
            None
        }
        (Some(_), Some(_)) | (None, None) => {
            let what = if d.value.months.is_some() {
                "both `months` and `years`"
            } else {
                "neither `months` nor `years`"
            };
            ctx.error(
                Code::Duration,
                &d.referenced,
                text(
                    format!("the duration has {what}"),
                    "exactly one of months and years",
                    "write `{ months: N }` (1-9) or `{ years: N }` (1-3)",
                ),
            );
            None
        }
    }
}

/// Checks a CIDR block: IPv4, network address, not reserved, mask in `masks`.
fn check_cidr(
    ctx: &mut DocCtx<'_>,
    cidr: &Spanned<String>,
    what: &str,
    masks: (u8, u8),
    example: &str,
) -> Option<Ipv4Net> {
    let net = match rules::parse_cidr(&cidr.value) {
        Ok(net) => net,
        Err(problem) => {
            let t = match problem {
                CidrProblem::Syntax => text(
                    format!("`{}` is not an IPv4 CIDR block", cidr.value),
                    "expected a.b.c.d/n",
                    format!(
                        "write the {what} block as an IPv4 network and a mask length, e.g. `{example}`"
                    ),
                ),
                CidrProblem::HostBits(canonical) => text(
                    format!(
                        "`{}` is not a network address: host bits are set",
                        cidr.value
                    ),
                    "host bits set",
                    format!("use `{canonical}`"),
                ),
                CidrProblem::Reserved(range) => text(
                    format!("`{}` overlaps the reserved range {range}", cidr.value),
                    "reserved range",
                    "use a private range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                ),
            };
            ctx.error(Code::Cidr, &cidr.referenced, t);
            return None;
        }
    };
    let (lo, hi) = masks;
    if !(lo..=hi).contains(&net.prefix_len()) {
        ctx.error(
            Code::CidrMask,
            &cidr.referenced,
            text(
                format!(
                    "a {what} block needs a mask of {lo} to {hi} bits; `{net}` has {}",
                    net.prefix_len()
                ),
                format!("/{} is out of range", net.prefix_len()),
                format!("use a mask from /{lo} to /{hi}, e.g. `{example}`"),
            ),
        );
        return None;
    }
    Some(net)
}

/// Checks `network.vpc`. Returns the reference, its block when created here, and whether
/// it is created here (`None` when the entry is broken).
fn check_vpc(
    ctx: &mut DocCtx<'_>,
    o: &mut Origins,
    vpc: &Spanned<RefDto>,
) -> (Option<VpcRef>, Option<Ipv4Net>, Option<bool>) {
    o.put(ctx, "spec.network.vpc", &vpc.referenced);
    match (&vpc.value.create, &vpc.value.id) {
        (Some(create), None) => {
            o.put(ctx, "spec.network.vpc.create.cidr", &create.cidr.referenced);
            let net = check_cidr(ctx, &create.cidr, "VPC", rules::VPC_MASKS, "10.10.0.0/16");
            (
                net.map(|n| VpcRef::Create {
                    cidr: n.to_string(),
                }),
                net,
                Some(true),
            )
        }
        (None, Some(id)) => {
            o.put(ctx, "spec.network.vpc.id", &id.referenced);
            let id = check_id(ctx, id, "vpc-", "VPC");
            (id.map(VpcRef::Existing), None, Some(false))
        }
        (Some(_), Some(_)) | (None, None) => {
            create_or_id(
                ctx,
                &vpc.value,
                &vpc.referenced,
                "the VPC",
                "a VPC",
                "vpc-",
                "10.10.0.0/16",
            );
            (None, None, None)
        }
    }
}

fn create_or_id(
    ctx: &mut DocCtx<'_>,
    r: &RefDto,
    loc: &Location,
    what: &str,
    a: &str,
    prefix: &str,
    example: &str,
) {
    let both = r.create.is_some();
    ctx.error(
        Code::CreateOrId,
        loc,
        text(
            if both { format!("{what} has both `create` and `id`") } else { format!("{what} has neither `create` nor `id`") },
            "exactly one of create and id",
            format!(
                "write `{{ create: {{ cidr: {example} }} }}` to create {a}, or `{{ id: {prefix}... }}` to use an \
                 existing one"
            ),
        ),
    );
}

fn check_id(
    ctx: &mut DocCtx<'_>,
    id: &Spanned<String>,
    prefix: &str,
    what: &str,
) -> Option<CloudId> {
    if rules::is_cloud_id(&id.value, prefix) {
        CloudId::new(id.value.clone()).ok()
    } else {
        ctx.error(
            Code::CloudId,
            &id.referenced,
            text(
                format!("`{}` is not a {what} id", id.value),
                format!("expected {prefix}..."),
                format!("{what} ids start with `{prefix}` (copy it from the console or `aliyun vpc` output)"),
            ),
        );
        None
    }
}

/// Checks `network.vSwitches`.
fn check_vswitches(
    ctx: &mut DocCtx<'_>,
    o: &mut Origins,
    list: &Spanned<Vec<Spanned<RefDto>>>,
    vpc_net: Option<Ipv4Net>,
    vpc_created: Option<bool>,
) -> Option<Vec<VSwitchRef>> {
    o.put(ctx, "spec.network.vSwitches", &list.referenced);
    let n = list.value.len();
    if n == 0 || n > rules::MAX_VSWITCHES {
        ctx.error(
            Code::VSwitchCount,
            &list.referenced,
            text(
                format!("{n} vSwitches; a workspace has 1 to 5"),
                if n == 0 { "no vSwitch" } else { "too many vSwitches" },
                "list 1 to 5 vSwitches under network.vSwitches (each job manager and task manager takes \
                 an IP address of one of them)",
            ),
        );
    }
    let example = vpc_net
        .filter(|v| v.prefix_len() <= 24)
        .and_then(|v| Ipv4Net::new(v.network(), 24).ok())
        .map_or_else(|| "10.10.1.0/24".to_owned(), |n| n.to_string());
    let mut created: Vec<(usize, Ipv4Net)> = Vec::new();
    let mut out = Vec::new();
    for (i, entry) in list.value.iter().enumerate() {
        let path = format!("spec.network.vSwitches[{i}]");
        o.put(ctx, &path, &entry.referenced);
        match (&entry.value.create, &entry.value.id) {
            (Some(create), None) => {
                o.put(ctx, &format!("{path}.create.cidr"), &create.cidr.referenced);
                let Some(net) =
                    check_cidr(ctx, &create.cidr, "vSwitch", rules::VSWITCH_MASKS, &example)
                else {
                    out.push(None);
                    continue;
                };
                let mut ok = true;
                if let Some(vnet) = vpc_net
                    && !vnet.contains(&net)
                {
                    ok = false;
                    ctx.error(
                        Code::VSwitchOutsideVpc,
                        &create.cidr.referenced,
                        text(
                            format!("vSwitch block `{net}` is not inside the VPC block `{vnet}`"),
                            format!("outside {vnet}"),
                            format!("choose a block inside {vnet}, e.g. `{example}`"),
                        ),
                    );
                }
                if let Some((j, other)) = created
                    .iter()
                    .find(|(_, other)| rules::overlaps(other, &net))
                {
                    ok = false;
                    ctx.error(
                        Code::VSwitchOverlap,
                        &create.cidr.referenced,
                        text(
                            format!("vSwitch block `{net}` overlaps `{other}` of vSwitches[{j}]"),
                            format!("overlaps vSwitches[{j}]"),
                            "give each vSwitch its own block, e.g. consecutive /24 blocks of the VPC",
                        ),
                    );
                }
                created.push((i, net));
                out.push(ok.then(|| VSwitchRef::Create {
                    cidr: net.to_string(),
                }));
            }
            (None, Some(id)) => {
                o.put(ctx, &format!("{path}.id"), &id.referenced);
                let id_ok = check_id(ctx, id, "vsw-", "vSwitch");
                if vpc_created == Some(true) {
                    ctx.error(
                        Code::ExistingVSwitchInNewVpc,
                        &id.referenced,
                        text(
                            format!("existing vSwitch `{}` cannot belong to a VPC that this spec creates", id.value),
                            "an existing vSwitch",
                            "for a new VPC, create its vSwitches too (`{ create: { cidr: ... } }`); to use this \
                             vSwitch, set `vpc: { id: vpc-... }` to the VPC it belongs to",
                        ),
                    );
                    out.push(None);
                } else {
                    out.push(id_ok.map(VSwitchRef::Existing));
                }
            }
            (Some(_), Some(_)) | (None, None) => {
                create_or_id(
                    ctx,
                    &entry.value,
                    &entry.referenced,
                    "a vSwitch entry",
                    "a vSwitch",
                    "vsw-",
                    &example,
                );
                out.push(None);
            }
        }
    }
    out.into_iter().collect()
}

/// Checks `spec.projects`.
fn check_projects(
    ctx: &mut DocCtx<'_>,
    o: &mut Origins,
    spec: &crate::dto::WorkspaceSpecDto,
    workspace: &str,
    method: Option<Method>,
    quota_cu: Option<u32>,
) -> Option<Vec<Project>> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sum: Option<u32> = Some(0);
    let default_project = format!("{workspace}-default");
    for (i, p) in spec.projects.iter().flatten().enumerate() {
        let path = format!("spec.projects[{i}]");
        o.put(ctx, &path, &p.referenced);
        o.put(ctx, &format!("{path}.name"), &p.value.name.referenced);
        let name = &p.value.name;
        let mut ok = true;
        if !rules::is_project_name(&name.value) {
            ok = false;
            ctx.error(
                Code::ProjectName,
                &name.referenced,
                text(
                    format!("`{}` is not a valid project name", name.value),
                    project_name_problem(&name.value),
                    "use lowercase letters, digits and hyphens, a letter first, not ending with `-`, \
                     at most 60 characters (e.g. `etl`)",
                ),
            );
        } else if name.value.eq_ignore_ascii_case(&default_project) {
            ok = false;
            ctx.error(
                Code::ReservedProject,
                &name.referenced,
                text(
                    format!("`{}` is the name of the generated default project", name.value),
                    "reserved name",
                    format!("the workspace creates `{default_project}` itself; choose another project name"),
                ),
            );
        } else if let Some(j) = seen.get(name.value.as_str()) {
            ok = false;
            ctx.error(
                Code::DuplicateProject,
                &name.referenced,
                text(
                    format!("project `{}` is declared twice", name.value),
                    format!("also projects[{j}]"),
                    "project names are unique in a workspace: rename or remove one of them",
                ),
            );
        } else {
            seen.insert(&name.value, i);
        }
        let cu = match &p.value.cu {
            Some(cu) => {
                o.put(ctx, &format!("{path}.cu"), &cu.referenced);
                if cu_in_range(cu.value) {
                    Some(cu.value)
                } else {
                    ok = false;
                    ctx.error(
                        Code::ProjectCu,
                        &cu.referenced,
                        text(
                            format!("{} CU is out of range for a project", cu.value),
                            "1 to 10000",
                            "give the project from 1 to 10000 CU",
                        ),
                    );
                    None
                }
            }
            None if method == Some(Method::Subscription) => {
                ok = false;
                ctx.error(
                    Code::ProjectCu,
                    &name.referenced,
                    text(
                        format!("project `{}` needs `cu` in a subscription", name.value),
                        "no cu",
                        "add `cu: N`: a subscription's quota is split between its projects, and the \
                         default project keeps the rest (at least 1 CU)",
                    ),
                );
                None
            }
            None => None,
        };
        sum = match (sum, cu) {
            (Some(s), Some(c)) => s.checked_add(c),
            (s, None) if p.value.cu.is_none() => s,
            _ => None,
        };
        out.push(ok.then_some(Project {
            name: name.value.clone(),
            cu,
        }));
    }
    if method == Some(Method::Subscription)
        && let (Some(sum), Some(quota), Some(q)) = (sum, quota_cu, &spec.quota)
        && sum > quota - 1
    {
        ctx.error(
            Code::ProjectQuota,
            &q.value.cu.referenced,
            text(
                format!(
                    "the projects ask for {sum} CU, but a quota of {quota} CU leaves {} after the default \
                     project's 1 CU",
                    quota - 1
                ),
                format!("quota of {quota} CU"),
                format!("raise spec.quota.cu to at least {}, or lower the projects' cu", sum.saturating_add(1)),
            ),
        );
    }
    out.into_iter().collect()
}

/// Checks one `spec.upstream` entry and warns where it differs from the workspace.
fn check_upstream(
    ctx: &mut DocCtx<'_>,
    u: &crate::dto::UpstreamDto,
    region: Option<&Region>,
    zone: Option<&ZoneId>,
    vpc: Option<&VpcRef>,
) -> Option<Upstream> {
    let who = &u.name.value;
    let mut ok = true;
    let mut up_region = None;
    if let Some(r) = &u.region {
        match Region::new(r.value.clone()) {
            Err(_) => {
                ok = false;
                ctx.error(
                    Code::Region,
                    &r.referenced,
                    text(
                        format!("`{}` is not a region id", r.value),
                        "lowercase letters, digits and hyphens only",
                        "use a region id such as `ap-southeast-1`",
                    ),
                );
            }
            Ok(ur) => {
                if let Some(wr) = region
                    && *wr != ur
                {
                    ctx.warn(
                        Code::UpstreamRegion,
                        &r.referenced,
                        text(
                            format!("upstream `{who}` is in region `{ur}`, the workspace in `{wr}`"),
                            format!("not {wr}"),
                            format!(
                                "fully managed Flink works best in the same region as the storage it reads \
                                 and writes: set spec.region to `{ur}`, or ignore this if cross-region \
                                 traffic is intended"
                            ),
                        ),
                    );
                }
                up_region = Some(ur);
            }
        }
    }
    let mut up_zone = None;
    if let Some(z) = &u.zone {
        match ZoneId::new(z.value.clone()) {
            Err(_) => {
                ok = false;
                ctx.error(
                    Code::Zone,
                    &z.referenced,
                    text(
                        format!("`{}` is not a zone id", z.value),
                        "lowercase letters, digits and hyphens only",
                        "use a zone id such as `ap-southeast-1a`",
                    ),
                );
            }
            Ok(uz) => {
                if let Some(wz) = zone
                    && *wz != uz
                {
                    ctx.warn(
                        Code::UpstreamZone,
                        &z.referenced,
                        text(
                            format!("upstream `{who}` is in zone `{uz}`, the workspace in `{wz}`"),
                            format!("not {wz}"),
                            format!(
                                "fully managed Flink works best in the same zone as the storage it reads and \
                                 writes: set spec.zone to `{uz}` if you can"
                            ),
                        ),
                    );
                }
                up_zone = Some(uz);
            }
        }
    }
    let mut up_vpc = None;
    if let Some(v) = &u.vpc {
        match check_id(ctx, v, "vpc-", "VPC") {
            None => ok = false,
            Some(uv) => {
                let differs = match vpc {
                    Some(VpcRef::Existing(wv)) => {
                        (*wv != uv).then(|| format!("the workspace uses `{wv}`"))
                    }
                    Some(VpcRef::Create { .. }) => {
                        Some("the workspace creates a new VPC".to_owned())
                    }
                    None => None,
                };
                if let Some(why) = differs {
                    ctx.warn(
                        Code::UpstreamVpc,
                        &v.referenced,
                        text(
                            format!("upstream `{who}` is in VPC `{uv}`; {why}"),
                            "another VPC",
                            format!(
                                "fully managed Flink works best in the same VPC as the storage it reads and \
                                 writes: set `network.vpc: {{ id: {uv} }}` with vSwitches of that VPC, or \
                                 connect the VPCs"
                            ),
                        ),
                    );
                }
                up_vpc = Some(uv);
            }
        }
    }
    ok.then(|| Upstream {
        name: who.clone(),
        region: up_region,
        zone: up_zone,
        vpc: up_vpc,
    })
}

fn workspace_name_problem(s: &str) -> String {
    let len = s.chars().count();
    if s.is_empty() {
        "empty".to_owned()
    } else if len > rules::MAX_NAME {
        format!("{len} characters, at most 60")
    } else if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        "must start with a letter".to_owned()
    } else {
        bad_char(s, |c| c.is_ascii_alphanumeric() || c == '-')
    }
}

fn resource_group_problem(s: &str) -> String {
    match s.strip_prefix("rg-") {
        None => "expected rg-...".to_owned(),
        Some("") => "nothing after `rg-`".to_owned(),
        Some(rest) => bad_char(rest, |c| c.is_ascii_lowercase() || c.is_ascii_digit()),
    }
}

fn project_name_problem(s: &str) -> String {
    let len = s.chars().count();
    if s.is_empty() {
        "empty".to_owned()
    } else if len > rules::MAX_NAME {
        format!("{len} characters, at most 60")
    } else if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        "must start with a lowercase letter".to_owned()
    } else if s.ends_with('-') {
        "must not end with `-`".to_owned()
    } else {
        bad_char(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })
    }
}

fn bucket_name_problem(s: &str) -> String {
    let len = s.chars().count();
    if !(3..=63).contains(&len) {
        format!("{len} characters, must be 3 to 63")
    } else if s.starts_with('-') || s.ends_with('-') {
        "must start and end with a letter or digit".to_owned()
    } else {
        bad_char(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })
    }
}

fn bad_char(s: &str, allowed: impl Fn(char) -> bool) -> String {
    match s.chars().find(|&c| !allowed(c)) {
        Some(c) if c.is_ascii_uppercase() => format!("upper case `{c}` is not allowed"),
        Some(c) => format!("`{c}` is not allowed"),
        None => "invalid".to_owned(),
    }
}

/// `spec.account` of either kind: a credentials profile name.
pub(crate) fn check_account(
    ctx: &mut DocCtx<'_>,
    account: &Spanned<String>,
) -> Option<AccountName> {
    let name = AccountName::new(account.value.clone()).ok();
    if name.is_none() {
        ctx.error(
            Code::Account,
            &account.referenced,
            text(
                format!("`{}` is not a valid account name", account.value),
                "letters, digits, `-`, `_` and `.` only",
                "use the name of a credentials profile, e.g. `main`",
            ),
        );
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_problems() {
        assert_eq!(workspace_name_problem("1a"), "must start with a letter");
        assert_eq!(workspace_name_problem("a_b"), "`_` is not allowed");
        assert_eq!(
            workspace_name_problem(&"a".repeat(61)),
            "61 characters, at most 60"
        );
        assert_eq!(
            project_name_problem("Etl"),
            "must start with a lowercase letter"
        );
        assert_eq!(project_name_problem("etl-"), "must not end with `-`");
        assert_eq!(bucket_name_problem("ab"), "2 characters, must be 3 to 63");
        assert_eq!(resource_group_problem("acfm1"), "expected rg-...");
        assert_eq!(resource_group_problem("rg-"), "nothing after `rg-`");
        assert_eq!(
            resource_group_problem("rg-Acfm"),
            "upper case `A` is not allowed"
        );
        assert_eq!(resource_group_problem("rg-ac-fm"), "`-` is not allowed");
        assert_eq!(bucket_name_problem("a_bc"), "`_` is not allowed");
        assert_eq!(
            bucket_name_problem("abc-"),
            "must start and end with a letter or digit"
        );
    }
}
