//! `flink_workspace`: a fully managed Flink workspace (an instance, `f-…`), pay-as-you-go
//! or a subscription with its auto-renewal.
//!
//! API actions: foasconsole `DescribeInstances` (refresh reads one paged listing per
//! account and region, and the account's other regions for a name it did not find),
//! `CreateInstance`, `ModifyPrepayInstanceSpec`, `DeleteInstance`, `DescribeNamespaces` (the
//! default-project check), `TagResources` / `UntagResources` (through `crate::tags`); BSS
//! `QueryAvailableInstances` (renewal statuses, one per account with subscriptions) and
//! `SetRenewal`; ResourceManager `MoveResources` (through `crate::rm`); foasconsole
//! `QueryCreateInstancePrice` (the price of an order or a quota change, `quote`).
//!
//! Idempotency: by name and ownership mark. `CreateInstance` takes no `ClientToken` and
//! workspace names are unique across the account's regions, so a create looks the name up
//! first and takes a workspace only when it carries this resource's mark; when the order's
//! answer is lost (transient error, or `InstanceName.AlreadyExists`) it looks again. Deleting
//! one that is not found is success.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountFacts, AccountName, Address, Attrs, ChangeRequest, CloudId, DeleteRequest,
    DesiredResource, Mode, Money, Observation, ObservedResource, Outcome, Price, PriceTerm,
    ProviderError, ProviderErrorKind, Readiness, Region, ResourceKind, Value,
};
use serde_json::{Value as Json, json};

use super::observe::{Item, Listed, Listing};
use super::{
    AliProvider, Paging, adopted, attr_int, attr_str, attr_strings, changed, create_region,
    deleted, done, invalid, need_str, not_ours, paged, params, prior_id, project, region_of,
    resource_spec, with_id, with_name,
};
use crate::client::{ApiError, Client, RpcMethod};
use crate::endpoint::{Product, is_china_site_region};
use crate::rm;
use crate::tags;
use crate::wire;

/// The BSS product code of fully managed Flink.
pub const BSS_PRODUCT_CODE: &str = "sc";

/// How `DescribeInstances` pages.
const INSTANCE_PAGES: Paging = Paging {
    page_key: "PageIndex",
    size_key: "PageSize",
    size: 100,
    items: &["Instances"],
    total: &["TotalCount"],
};

/// The instances of `region` (not `DELETED`) as workspaces without their `auto_renew`
/// ([`wire::renewal`]), optionally only those matching `filter` (parameter and value:
/// `InstanceName` or `InstanceId`).
pub(super) async fn list(
    client: Client,
    region: Region,
    filter: Option<(&str, String)>,
) -> Result<Vec<ObservedResource>, ApiError> {
    let mut base = params(&[("Region", region.as_str())]);
    if let Some((key, value)) = filter {
        base.push((key.to_owned(), value));
    }
    paged(
        &client,
        Product::Foasconsole,
        Some(&region),
        "DescribeInstances",
        base,
        RpcMethod::Get,
        INSTANCE_PAGES,
        |inst| wire::workspace(&inst),
    )
    .await
}

/// Instance id → BSS `RenewStatus` for the account's Flink subscriptions.
pub(super) async fn renew_statuses(
    client: Client,
    bss_region: Region,
    instance_ids: Option<String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut base = params(&[
        ("ProductCode", BSS_PRODUCT_CODE),
        ("SubscriptionType", "Subscription"),
    ]);
    if let Some(ids) = instance_ids {
        base.push(("InstanceIDs".to_owned(), ids));
    }
    let pages = Paging {
        page_key: "PageNum",
        size_key: "PageSize",
        size: 300,
        items: &["Data", "InstanceList"],
        total: &["Data", "TotalCount"],
    };
    let list = paged(
        &client,
        Product::Bss,
        Some(&bss_region),
        "QueryAvailableInstances",
        base,
        RpcMethod::Post,
        pages,
        |i| {
            Some((
                wire::string_at(&i, &["InstanceID"])?,
                wire::string_at(&i, &["RenewStatus"])?,
            ))
        },
    )
    .await?;
    Ok(list.into_iter().collect())
}

/// The BSS host of a workspace in `region`: the region's own on the China site, else the
/// international one.
fn bss_region(provider: &AliProvider, region: &Region) -> Region {
    if is_china_site_region(region.as_str()) {
        region.clone()
    } else {
        provider.default_region.clone()
    }
}

/// Workspaces refresh matched: address → (account, workspace as listed).
pub(super) type Matched = BTreeMap<Address, (AccountName, ObservedResource)>;

/// Refresh, first pass: each workspace in its own region's listing, by its known id, else
/// by name.
pub(super) fn match_listed<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    instances: &Listed,
) -> Matched {
    let mut matched = Matched::new();
    for it in items.filter(|i| i.addr.kind() == ResourceKind::FlinkWorkspace) {
        let Some(region) = &it.region else { continue };
        let listing = instances.get(&(it.account.clone(), region.clone()));
        let hit = match it.known_id() {
            Some(id) => listing.and_then(|l| l.by_id(&id)),
            None => it
                .name()
                .and_then(|n| with_name(listing.map_or(&[][..], |l| &l[..]), n)),
        };
        if let Some(inst) = hit {
            matched.insert(it.addr.clone(), (it.account.clone(), inst.clone()));
        }
    }
    matched
}

/// Managed workspaces to create that the first pass did not find.
fn unmatched<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    matched: &Matched,
) -> impl Iterator<Item = &'a Item<'a>> {
    items.filter(|i| {
        i.addr.kind() == ResourceKind::FlinkWorkspace
            && i.mode == Mode::Managed
            && i.known_id().is_none()
            && !matched.contains_key(&i.addr)
    })
}

/// Workspace names are unique across all regions of an account: a workspace to
/// create whose name is taken in another region is found there (and the planner
/// refuses it unless it is this stack's). These are the regions refresh lists too.
pub(super) fn other_regions<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    matched: &Matched,
    facts: &BTreeMap<AccountName, AccountFacts>,
    instances: &Listed,
) -> Vec<(AccountName, Region)> {
    let mut elsewhere: BTreeMap<AccountName, BTreeSet<Region>> = BTreeMap::new();
    for it in unmatched(items, matched) {
        let offered = facts
            .get(&it.account)
            .map(|f| f.flink_regions.clone())
            .unwrap_or_default();
        for region in offered {
            if !instances.contains_key(&(it.account.clone(), region.clone())) {
                elsewhere
                    .entry(it.account.clone())
                    .or_default()
                    .insert(region);
            }
        }
    }
    elsewhere
        .into_iter()
        .flat_map(|(a, rs)| rs.into_iter().map(move |r| (a.clone(), r)))
        .collect()
}

/// Refresh, second pass: the unmatched workspaces by name in any listed region of their
/// account (`instances`: listings of distinct regions, searched in (account, region)
/// order as one).
pub(super) fn match_elsewhere<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    instances: &[&Listed],
    matched: &mut Matched,
) {
    let unmatched: Vec<&Item> = unmatched(items, matched).collect();
    for it in unmatched {
        let Some(name) = it.name() else { continue };
        let mut regions: Vec<(&Region, &Listing)> = instances
            .iter()
            .flat_map(|l| l.iter())
            .filter(|((a, _), _)| a == &it.account)
            .map(|((_, r), list)| (r, list))
            .collect();
        regions.sort_by(|x, y| x.0.cmp(y.0));
        let listed = regions.into_iter().flat_map(|(_, list)| list.iter());
        if let Some(inst) = with_name(listed, name) {
            matched.insert(it.addr.clone(), (it.account.clone(), inst.clone()));
        }
    }
}

/// The accounts of matched subscriptions, whose renewal statuses refresh reads.
pub(super) fn subscription_accounts(matched: &Matched) -> Vec<AccountName> {
    matched
        .values()
        .filter(|(_, ws)| attr_str(&ws.attrs, "charge_type") == Some("PRE"))
        .map(|(acct, _)| acct.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Refresh: the matched workspace (taken out of `matched`) with its renewal status.
pub(super) fn observation(
    it: &Item,
    matched: &mut Matched,
    renew: &BTreeMap<String, String>,
) -> Option<Observation> {
    let (_, mut ws) = matched.remove(&it.addr)?;
    wire::renewal(&mut ws, renew);
    Some(Observation::Found(ws))
}

/// A listing shared by batched reads, with when its first call started.
type Shared = (tokio::time::Instant, std::sync::Arc<Listing>);

/// Reads of workspaces of one account and region waiting together (the polls of a fleet's
/// workspaces while they are created), answered from one listing per round.
#[derive(Debug, Default)]
pub(crate) struct PollBatch {
    /// Reads in progress.
    active: std::sync::atomic::AtomicUsize,
    /// The last full listing and when its first call started.
    last: tokio::sync::Mutex<Option<Shared>>,
}

/// Counts a read in progress until dropped.
struct Active<'a>(&'a std::sync::atomic::AtomicUsize);

impl Active<'_> {
    fn others(&self) -> usize {
        self.0
            .load(std::sync::atomic::Ordering::SeqCst)
            .saturating_sub(1)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The instance `id` as the cloud shows it at or after this call (without its
/// `auto_renew`).
///
/// # Guarantees
/// - The answer comes from a call that started after this read was asked for (a poll never
///   sees an older state than its own start).
/// - Reads of one account and region in progress together share listings: a read alone
///   asks for its one id (`InstanceId` filter); a read while others are in progress lists
///   the whole region (one paged `DescribeInstances`, pages in parallel) for all of them,
///   and every read queued meanwhile whose ask came before that listing started takes its
///   answer from it.
async fn read_instance(
    provider: &AliProvider,
    account: &AccountName,
    client: &Client,
    region: &Region,
    id: &str,
) -> Result<Option<ObservedResource>, ApiError> {
    let batch = provider.poll_batch(account, region);
    let asked = tokio::time::Instant::now();
    batch
        .active
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let active = Active(&batch.active);
    let mut last = batch.last.lock().await;
    if let Some((started, listing)) = &*last
        && *started >= asked
    {
        return Ok(listing.by_id(id).cloned());
    }
    if active.others() == 0 {
        drop(last);
        let filter = Some(("InstanceId", id.to_owned()));
        let list = list(client.clone(), region.clone(), filter).await?;
        return Ok(with_id(list, id));
    }
    let started = tokio::time::Instant::now();
    let listing = std::sync::Arc::new(Listing::new(
        list(client.clone(), region.clone(), None).await?,
    ));
    let hit = listing.by_id(id).cloned();
    *last = Some((started, listing));
    Ok(hit)
}

pub(super) async fn read(
    provider: &AliProvider,
    account: &AccountName,
    client: &Client,
    region: Option<&Region>,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let region = region_of(region, "DescribeInstances")?;
    let id = cloud_id.as_str();
    let Some(mut ws) = read_instance(provider, account, client, region, id).await? else {
        return Ok(Observation::Absent);
    };
    if attr_str(&ws.attrs, "charge_type") == Some("PRE") {
        let bss = bss_region(provider, region);
        let renew = renew_statuses(client.clone(), bss, Some(id.to_owned())).await?;
        wire::renewal(&mut ws, &renew);
    }
    Ok(Observation::Found(ws))
}

/// The instance named `name` in `region`, as an observation.
async fn find(
    client: &Client,
    region: &Region,
    name: &str,
) -> Result<Option<ObservedResource>, ProviderError> {
    let filter = Some(("InstanceName", name.to_owned()));
    let list = list(client.clone(), region.clone(), filter).await?;
    Ok(list
        .into_iter()
        .filter(|o| attr_str(&o.attrs, "name") == Some(name))
        .find(|o| o.readiness != Readiness::Deleting))
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "CreateInstance";
    let a = &req.attrs;
    let name = need_str(a, "name", A)?;
    let region = create_region(req, A)?;
    if let Some(found) = find(client, &region, name).await? {
        // Names are unique in the account: a workspace of this name is this resource
        // only when it carries its mark (a retry, or an apply that died after ordering).
        if !tags::same_mark(&found.attrs, a) {
            return Err(not_ours(
                A,
                &format!("workspace `{name}` ({})", found.cloud_id),
            ));
        }
        tracing::debug!(name, id = %found.cloud_id, "adopting this stack's workspace");
        let ready = found.readiness == Readiness::Ready;
        return Ok(adopted(found.cloud_id, a, &found.attrs, ready));
    }
    let charge = need_str(a, "charge_type", A)?;
    let mut p = params(&[
        ("InstanceName", name),
        ("ChargeType", charge),
        ("Region", region.as_str()),
        ("VpcId", need_str(a, "vpc_id", A)?),
    ]);
    if let Some(zone) = attr_str(a, "zone") {
        p.push(("ZoneId".into(), zone.to_owned()));
    }
    let wanted = tags::tag_map(a);
    if !wanted.is_empty() {
        p.push(("Tag".into(), tags::json_param(&wanted)));
    }
    if let Some(group) = attr_str(a, "resource_group") {
        p.push(("ResourceGroupId".into(), group.to_owned()));
    }
    let vswitches = attr_strings(a, "vswitch_ids");
    p.push(("VSwitchIds".into(), json!(vswitches).to_string()));
    p.push((
        "Storage".into(),
        json!({"Oss": {"Bucket": need_str(a, "bucket", A)?}}).to_string(),
    ));
    if charge == "PRE" {
        let cu =
            attr_int(a, "cu").ok_or_else(|| invalid(A, "a subscription needs attribute `cu`"))?;
        p.push(("ResourceSpec".into(), resource_spec(cu)));
        p.push((
            "PricingCycle".into(),
            attr_str(a, "pricing_cycle").unwrap_or("Month").to_owned(),
        ));
        p.push((
            "Duration".into(),
            attr_int(a, "duration").unwrap_or(1).to_string(),
        ));
        let auto = a
            .get("auto_renew")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        p.push(("AutoRenew".into(), auto.to_string()));
    }
    if let Some(cu) = attr_int(a, "default_project_cu") {
        p.push(("DefaultNamespaceResourceSpec".into(), resource_spec(cu)));
    }
    match client
        .rpc(Product::Foasconsole, Some(&region), A, p, RpcMethod::Post)
        .await
    {
        Ok(resp) => {
            let id = wire::string_at(&resp, &["OrderInfo", "InstanceId"]).ok_or_else(|| {
                ApiError::local(
                    ProviderErrorKind::Fatal,
                    A,
                    "answer has no OrderInfo.InstanceId",
                )
            })?;
            let cloud_id = CloudId::new(id).map_err(|e| invalid(A, e.to_string()))?;
            Ok(Outcome {
                cloud_id,
                attrs: a.clone(),
                done: false,
            })
        }
        Err(e)
            if e.kind == ProviderErrorKind::Transient
                || e.has_code("InstanceName.AlreadyExists") =>
        {
            // The order may have been placed although the answer was lost.
            match find(client, &region, name).await {
                Ok(Some(found)) if tags::same_mark(&found.attrs, a) => {
                    let ready = found.readiness == Readiness::Ready;
                    Ok(adopted(found.cloud_id, a, &found.attrs, ready))
                }
                _ => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the generated default project `name` of a RUNNING workspace is gone (deleted
/// in the console): then flinkform creates it again, with its quota. While the
/// workspace is still being created, the service makes it.
pub(super) async fn default_project_missing(
    client: &Client,
    region: &Region,
    instance: &str,
    name: &str,
) -> Result<bool, ProviderError> {
    let filter = Some(("InstanceId", instance.to_owned()));
    let list = list(client.clone(), region.clone(), filter).await?;
    // `RUNNING` is the one status a workspace is ready in.
    let running = list
        .iter()
        .any(|ws| ws.cloud_id.as_str() == instance && ws.readiness == Readiness::Ready);
    if !running {
        return Ok(false);
    }
    let namespaces = project::list(
        client.clone(),
        region.clone(),
        instance.to_owned(),
        Some(name.to_owned()),
    )
    .await?
    .unwrap_or_default();
    Ok(with_name(&namespaces, name).is_none())
}

/// Changes `cu` (`ModifyPrepayInstanceSpec`, pending until the workspace is RUNNING
/// again), `auto_renew` (`SetRenewal`), `tags` and `resource_group`; nothing else changes
/// in place.
pub(super) async fn update(
    provider: &AliProvider,
    req: &ChangeRequest,
    client: &Client,
) -> Result<Outcome, ProviderError> {
    let a = &req.attrs;
    let changed = changed(req);
    let id = prior_id(req, "ModifyPrepayInstanceSpec")?;
    let region = region_of(req.region.as_ref(), "ModifyPrepayInstanceSpec")?;
    let mut pending = false;
    if changed.contains("cu") {
        const A: &str = "ModifyPrepayInstanceSpec";
        let cu = attr_int(a, "cu").ok_or_else(|| invalid(A, "attribute `cu` is missing"))?;
        let p = params(&[
            ("InstanceId", id.as_str()),
            ("Region", region.as_str()),
            ("ResourceSpec", &resource_spec(cu)),
        ]);
        client
            .rpc(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
            .await?;
        pending = true;
    }
    if changed.contains("auto_renew") {
        const A: &str = "SetRenewal";
        let auto = a
            .get("auto_renew")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut p = params(&[
            ("InstanceIDs", id.as_str()),
            ("ProductCode", BSS_PRODUCT_CODE),
            ("SubscriptionType", "Subscription"),
            (
                "RenewalStatus",
                if auto { "AutoRenewal" } else { "ManualRenewal" },
            ),
        ]);
        if auto {
            p.extend(params(&[
                ("RenewalPeriod", "1"),
                ("RenewalPeriodUnit", "M"),
            ]));
        }
        let bss = bss_region(provider, region);
        client
            .rpc(Product::Bss, Some(&bss), A, p, RpcMethod::Post)
            .await?;
    }
    if changed.contains("tags") {
        let prior = req.prior.as_ref().map(|p| tags::tag_map(&p.attrs));
        tags::set(
            client,
            ResourceKind::FlinkWorkspace,
            region,
            id.as_str(),
            &tags::tag_map(a),
            &prior.unwrap_or_default(),
        )
        .await?;
    }
    if changed.contains("resource_group") {
        let group = need_str(a, "resource_group", rm::MOVE)?;
        rm::move_to_group(client, rm::WORKSPACE, region, id.as_str(), group).await?;
    }
    if let Some(other) = changed
        .iter()
        .find(|c| !matches!(**c, "cu" | "auto_renew" | "tags" | "resource_group"))
    {
        return Err(invalid(
            "update",
            format!("`{other}` of a workspace cannot change in place"),
        ));
    }
    Ok(done(id, a, !pending))
}

/// `DeleteInstance`: pending until a read no longer finds the workspace.
pub(super) async fn delete(req: &DeleteRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "DeleteInstance";
    let prior = &req.prior;
    let region = region_of(prior.region.as_ref(), A)?;
    let p = params(&[
        ("InstanceId", prior.cloud_id.as_str()),
        ("Region", region.as_str()),
    ]);
    let result = client
        .rpc(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
        .await;
    deleted(prior, result, false)
}

/// The price of ordering `desired` (`current`: `None`) or of changing a subscription's `cu`
/// from `current`'s, with one `QueryCreateInstancePrice` call (a read):
///
/// - a subscription's order: its `cu` for its term (`pricing_cycle`, `duration`); the
///   monthly change is the term's amount divided by its months;
/// - a pay-as-you-go order: one hour (`PriceTerm::Hour`, usage billed on top), no monthly
///   amount;
/// - a quota change of a subscription: the foasconsole API quotes a prepaid spec change only
///   through the change itself (`QueryModifyInstancePrice` goes with `ModifyInstanceSpec`,
///   not with the `ModifyPrepayInstanceSpec` flinkform calls), so the CU added or released
///   are priced as a one-month subscription of that many CU, negative when released; what
///   the rest of the current term costs at the change is not quoted.
///
/// Anything else (no `cu` change, attributes not resolved yet) is `None`, without a call.
pub(super) async fn quote(
    client: &Client,
    desired: &DesiredResource,
    current: Option<&Attrs>,
) -> Result<Option<Price>, ProviderError> {
    const A: &str = "QueryCreateInstancePrice";
    let a = &desired.attrs;
    let (Some(region), Some(charge)) = (&desired.region, attr_str(a, "charge_type")) else {
        return Ok(None);
    };
    let mut p = params(&[("ChargeType", charge), ("Region", region.as_str())]);
    let price = |resp: &Json| -> Result<(Money, Money), ProviderError> {
        let info =
            wire::at(resp, &["PriceInfo"]).ok_or_else(|| invalid(A, "answer has no PriceInfo"))?;
        if let Some(code) = wire::string_at(info, &["Code"]).filter(|c| !c.is_empty()) {
            let message = wire::string_at(info, &["Message"]).unwrap_or_default();
            return Err(
                ApiError::local(ProviderErrorKind::Fatal, A, format!("{code}: {message}")).into(),
            );
        }
        let currency = wire::string_at(info, &["Currency"])
            .ok_or_else(|| invalid(A, "PriceInfo has no Currency"))?;
        let money = |field: &str| {
            wire::at(info, &[field])
                .and_then(amount_text)
                .and_then(|t| Money::parse(&t, &currency))
                .ok_or_else(|| {
                    invalid(
                        A,
                        format!("PriceInfo.{field} is not an amount with at most two decimals"),
                    )
                })
        };
        Ok((money("TradeAmount")?, money("OriginalAmount")?))
    };
    match current {
        None => {
            if let Some(name) = attr_str(a, "name") {
                p.push(("InstanceName".into(), name.to_owned()));
            }
            if let Some(vpc) = attr_str(a, "vpc_id") {
                p.push(("VpcId".into(), vpc.to_owned()));
            }
            let vswitches = attr_strings(a, "vswitch_ids");
            if !vswitches.is_empty() {
                p.push(("VSwitchIds".into(), json!(vswitches).to_string()));
            }
            if let Some(bucket) = attr_str(a, "bucket") {
                p.push((
                    "Storage".into(),
                    json!({"Oss": {"Bucket": bucket}}).to_string(),
                ));
            }
            if charge != "PRE" {
                let resp = client
                    .rpc_read(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
                    .await?;
                let (amount, list) = price(&resp)?;
                return Ok(Some(Price {
                    amount,
                    list,
                    term: PriceTerm::Hour,
                    monthly: None,
                }));
            }
            let Some(cu) = attr_int(a, "cu") else {
                return Ok(None);
            };
            let cycle = attr_str(a, "pricing_cycle").unwrap_or("Month");
            let duration = attr_int(a, "duration").unwrap_or(1);
            let per = if cycle.eq_ignore_ascii_case("year") {
                12
            } else {
                1
            };
            let months = u32::try_from(duration.saturating_mul(per)).unwrap_or(u32::MAX);
            p.push(("ResourceSpec".into(), resource_spec(cu)));
            p.push(("PricingCycle".into(), cycle.to_owned()));
            p.push(("Duration".into(), duration.to_string()));
            let resp = client
                .rpc_read(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
                .await?;
            let (amount, list) = price(&resp)?;
            Ok(Some(Price::subscription(amount, list, months)))
        }
        Some(now) => {
            let (Some(new), Some(old)) = (attr_int(a, "cu"), attr_int(now, "cu")) else {
                return Ok(None);
            };
            if charge != "PRE" || new == old {
                return Ok(None);
            }
            let delta = new - old;
            p.push(("ResourceSpec".into(), resource_spec(delta.abs())));
            p.push(("PricingCycle".into(), "Month".into()));
            p.push(("Duration".into(), "1".into()));
            let resp = client
                .rpc_read(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
                .await?;
            let (amount, list) = price(&resp)?;
            let sign = delta.signum();
            let signed = |m: Money| Money {
                cents: m.cents * sign,
                currency: m.currency,
            };
            let amount = signed(amount);
            Ok(Some(Price {
                monthly: Some(amount.clone()),
                amount,
                list: signed(list),
                term: PriceTerm::QuotaChangePerMonth,
            }))
        }
    }
}

/// An amount as the API sends it (a JSON number such as `800`, `816.0` or `1.6`, or a
/// decimal string), as text for `Money::parse`, which refuses more than two decimals.
fn amount_text(v: &Json) -> Option<String> {
    match v {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) => Some(s.clone()),
        _ => None,
    }
}
