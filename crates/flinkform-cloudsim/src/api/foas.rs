//! foasconsole 2021-10-28: fully managed Flink workspaces ("instances") and their
//! namespaces — supported regions and zones, prices, the ordered preconditions of
//! `CreateInstance`, the CREATING → RUNNING lifecycle, subscription quota and namespaces.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ApiError, Call, page, paging, ram};
use crate::regions;
use crate::tags::{self, Tags};
use crate::world::{
    Account, ChargeType, Instance, InstancePhase, NAMESPACE_TRANSITION_MS, Namespace, NsPhase,
    Order, Renewal, Spec, stable_hash,
};

/// Minimum available balance for a pay-as-you-go workspace, in cents (USD, CNY).
const MIN_BALANCE_USD_CENTS: i64 = 10_000;
const MIN_BALANCE_CNY_CENTS: i64 = 70_000;
/// Subscription price of one CU for one month, in whole currency units (USD, CNY).
const CU_MONTH_USD: u64 = 100;
const CU_MONTH_CNY: u64 = 700;
/// Pay-as-you-go price of one reserved CU for one hour, in cents (USD 0.20, CNY 1.40).
const CU_HOUR_USD_CENTS: u64 = 20;
const CU_HOUR_CNY_CENTS: u64 = 140;
/// `ResourceExpiredTime` of pay-as-you-go workspaces (2099-12-31T23:59:59Z).
const NEVER_EXPIRES_MS: i64 = 4_102_444_799_000;

fn offered_region(call: &Call<'_>) -> Result<String, ApiError> {
    let region = call.region("Region");
    if regions::offered(call.account()?.site, &region) {
        Ok(region)
    } else {
        Err(ApiError::bad_request(
            "InvalidParameter.Region",
            format!("The region {region:?} is not supported for this account."),
        ))
    }
}

pub(crate) fn describe_supported_regions(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let regions: Vec<Value> = regions::site_regions(call.account()?.site)
        .iter()
        .map(|(r, name)| json!({ "Region": r, "RegionName": name, "Description": name }))
        .collect();
    Ok(
        json!({ "Regions": regions, "TotalCount": regions.len(), "PageIndex": 1, "PageSize": regions.len(), "TotalPage": 1 }),
    )
}

pub(crate) fn describe_supported_zones(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = offered_region(call)?;
    let zones = regions::zones(&region);
    Ok(
        json!({ "ZoneIds": zones, "TotalCount": zones.len(), "PageIndex": 1, "PageSize": zones.len(), "TotalPage": 1 }),
    )
}

/// `PRE` or `POST`.
fn charge_type(call: &Call<'_>) -> Result<ChargeType, ApiError> {
    match call.params.require("ChargeType")? {
        "PRE" => Ok(ChargeType::Pre),
        "POST" => Ok(ChargeType::Post),
        other => Err(ApiError::bad_request(
            "InvalidParameter.ChargeType",
            format!("ChargeType must be PRE or POST, not {other:?}."),
        )),
    }
}

/// The longest subscription term per `PricingCycle`: 9 months or 3 years (an emulator
/// choice: the API reference states no limit; the spec language limits
/// `billing.duration` the same way).
const MAX_MONTHS: u32 = 9;
const MAX_YEARS: u32 = 3;

/// The subscription term of a PRE request: `(PricingCycle, Duration, months)`. A `Duration`
/// outside 1–9 (`Month`) or 1–3 (`Year`) → 400 `InvalidParameter.Duration`.
fn subscription_term(call: &Call<'_>) -> Result<(String, u32, u32), ApiError> {
    let cycle = call
        .params
        .get("PricingCycle")
        .ok_or_else(|| ApiError::missing("PricingCycle"))?;
    let duration = call
        .params
        .get("Duration")
        .ok_or_else(|| ApiError::missing("Duration"))?;
    let (per, max) = match cycle.to_ascii_lowercase().as_str() {
        "month" => (1, MAX_MONTHS),
        "year" => (12, MAX_YEARS),
        _ => {
            return Err(ApiError::bad_request(
                "InvalidParameter.PricingCycle",
                format!("PricingCycle must be Month or Year, not {cycle:?}."),
            ));
        }
    };
    let duration: u32 = duration
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=max).contains(d))
        .ok_or_else(|| {
            ApiError::bad_request(
                "InvalidParameter.Duration",
                format!("Duration for PricingCycle {cycle} must be 1 to {max}, not {duration:?}."),
            )
        })?;
    Ok((cycle.to_owned(), duration, per * duration))
}

pub(crate) fn query_create_instance_price(call: &mut Call<'_>) -> Result<Value, ApiError> {
    offered_region(call)?;
    let charge = charge_type(call)?;
    let currency = call.account()?.site.currency();
    let (original, discount) = if charge == ChargeType::Pre {
        let spec = call
            .params
            .spec("ResourceSpec")?
            .ok_or_else(|| ApiError::missing("ResourceSpec"))?;
        let (cycle, _, months) = subscription_term(call)?;
        let unit = if currency == "USD" {
            CU_MONTH_USD
        } else {
            CU_MONTH_CNY
        };
        let original = u64::from(spec.cpu) * u64::from(months) * unit;
        let discount = if cycle.eq_ignore_ascii_case("year") {
            original * 15 / 100
        } else {
            0
        };
        (original * 100, discount * 100)
    } else {
        // Pay-as-you-go: one hour of the CU a `ResourceSpec` reserves (none: nothing is
        // reserved, usage is billed as it comes).
        let cu = call
            .params
            .spec("ResourceSpec")?
            .map_or(0, |s| u64::from(s.cpu));
        let unit = if currency == "USD" {
            CU_HOUR_USD_CENTS
        } else {
            CU_HOUR_CNY_CENTS
        };
        (cu * unit, 0)
    };
    let trade = original - discount;
    Ok(json!({
        "PriceInfo": {
            "Currency": currency,
            "OriginalAmount": amount(original),
            "DiscountAmount": amount(discount),
            "TradeAmount": amount(trade),
            "StandPrice": cents_text(original),
            "StandDiscountPrice": cents_text(trade),
            "Code": "",
            "Message": "",
            "IsContractActivity": false,
            "Rules": [],
            "OptionalPromotions": [],
        }
    }))
}

/// An amount of cents as the API's JSON number: whole units as an integer (`800`), else a
/// decimal (`1.6`).
fn amount(cents: u64) -> Value {
    if cents.is_multiple_of(100) {
        json!(cents / 100)
    } else {
        // At most two decimals: the shortest representation reads back exactly.
        #[allow(clippy::cast_precision_loss)]
        let units = cents as f64 / 100.0;
        json!(units)
    }
}

/// `1.60`.
fn cents_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn valid_instance_name(name: &str) -> bool {
    (1..=60).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn valid_namespace_name(name: &str) -> bool {
    (1..=60).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Everything CreateInstance checked, ready to build the workspace from.
struct Checked {
    region: String,
    name: String,
    charge: ChargeType,
    spec: Option<Spec>,
    term: Option<(String, u32, u32)>,
    default_ns_spec: Option<Spec>,
    vpc_id: String,
    vswitch_ids: Vec<String>,
    zone: String,
    bucket: String,
    tags: Tags,
    resource_group_id: String,
}

fn bad_vswitches(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameter.VSwitchIds", message)
}

/// The preconditions of CreateInstance, in the order of the contract's table.
fn check_create(call: &Call<'_>) -> Result<Checked, ApiError> {
    let p = call.params;
    let region = offered_region(call)?;
    let name = p.get("InstanceName").unwrap_or_default().to_owned();
    if !valid_instance_name(&name) {
        return Err(ApiError::bad_request(
            "InvalidParameter.InstanceName",
            "InstanceName must be 1-60 characters: letters, digits and hyphens, starting with a letter.",
        ));
    }
    let account: &Account = call.account()?;
    if account.instance_by_name(&name, call.now).is_some() {
        return Err(ApiError::bad_request(
            "InstanceName.AlreadyExists",
            format!("A workspace named {name:?} already exists in this account."),
        ));
    }
    let charge = charge_type(call)?;
    let mut term = None;
    if charge == ChargeType::Pre {
        if p.structured("ResourceSpec")?.is_none() {
            return Err(ApiError::missing("ResourceSpec"));
        }
        term = Some(subscription_term(call)?);
    }
    let spec = p.spec("ResourceSpec")?;
    let default_ns_spec = p.spec("DefaultNamespaceResourceSpec")?;
    if let (ChargeType::Pre, Some(quota), Some(ns)) = (charge, spec, default_ns_spec)
        && ns.cpu > quota.cpu
    {
        return Err(ApiError::bad_request(
            "InvalidParameter.ResourceSpec",
            "DefaultNamespaceResourceSpec exceeds the workspace's ResourceSpec.",
        ));
    }
    if !account.oss_opened {
        return Err(ApiError::bad_request(
            "OssService.NotOpened",
            "OSS is not activated for this account.",
        ));
    }
    if !ram::flink_role_ready(account) {
        return Err(ApiError::new(
            403,
            "Forbidden.RAM",
            "The service role AliyunStreamAsiDefaultRole with policy AliyunStreamAsiDefaultRolePolicy is required.",
        ));
    }
    let vpc_id = p.get("VpcId").unwrap_or_default().to_owned();
    if account.vpcs.get(&vpc_id).is_none_or(|v| v.region != region) {
        return Err(ApiError::bad_request(
            "InvalidVpcId.NotFound",
            format!("The VPC {vpc_id:?} does not exist in {region}."),
        ));
    }
    let vswitch_ids = p.string_list("VSwitchIds")?.unwrap_or_default();
    if vswitch_ids.is_empty() || vswitch_ids.len() > 5 {
        return Err(bad_vswitches("Between 1 and 5 vSwitches are required."));
    }
    let mut zone: Option<String> = None;
    for id in &vswitch_ids {
        let vsw = account
            .vswitches
            .get(id)
            .ok_or_else(|| bad_vswitches(format!("The vSwitch {id} does not exist.")))?;
        if vsw.vpc_id != vpc_id {
            return Err(bad_vswitches(format!(
                "The vSwitch {id} is not in the VPC {vpc_id}."
            )));
        }
        match &zone {
            None => zone = Some(vsw.zone.clone()),
            Some(z) if *z != vsw.zone => {
                return Err(bad_vswitches("All vSwitches must be in one zone."));
            }
            Some(_) => {}
        }
    }
    let zone = zone.unwrap_or_default();
    if let Some(want) = p.get("ZoneId")
        && want != zone
    {
        return Err(ApiError::bad_request(
            "InvalidParameter.ZoneId",
            format!("ZoneId {want:?} is not the zone of the vSwitches ({zone})."),
        ));
    }
    let tags = p.tags_to_set("Tag")?;
    let resource_group_id = match p.get("ResourceGroupId") {
        Some(rg) if !account.has_group(rg) => {
            return Err(ApiError::bad_request(
                "InvalidParameter.ResourceGroupId",
                format!("The resource group {rg} does not exist in this account."),
            ));
        }
        Some(rg) => rg.to_owned(),
        None => String::new(),
    };
    let storage = p.structured("Storage")?;
    let bucket = storage
        .as_ref()
        .and_then(|s| s.get("Oss"))
        .and_then(|o| o.get("Bucket"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let bucket_ok = call
        .world
        .buckets
        .get(&bucket)
        .is_some_and(|b| b.owner_uid == account.uid && b.region == region);
    if !bucket_ok {
        return Err(ApiError::bad_request(
            "InvalidParameter.Storage",
            format!("The OSS bucket {bucket:?} does not exist in {region} in this account."),
        ));
    }
    if charge == ChargeType::Post {
        let min = if account.site.currency() == "USD" {
            MIN_BALANCE_USD_CENTS
        } else {
            MIN_BALANCE_CNY_CENTS
        };
        if account.balance_cents < min {
            return Err(ApiError::bad_request(
                "InsufficientBalance",
                format!(
                    "Pay-as-you-go needs an available balance of at least {}.",
                    super::billing::money(min)
                ),
            ));
        }
    }
    Ok(Checked {
        region,
        name,
        charge,
        spec,
        term,
        default_ns_spec,
        vpc_id,
        vswitch_ids,
        zone,
        bucket,
        tags,
        resource_group_id,
    })
}

pub(crate) fn create_instance(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let c = check_create(call)?;
    let auto_renew = call.params.bool("AutoRenew").unwrap_or(false);
    let architecture = call
        .params
        .get("ArchitectureType")
        .unwrap_or("X86")
        .to_owned();
    let now = call.now;
    let prefix = c.region.split('-').next().unwrap_or("cn").to_owned();
    let id = format!("f-{prefix}-{}", call.world.alnum(11));
    let ready_ms = now + 300_000 + i64::try_from(stable_hash(&id) % 300_001).unwrap_or(0);
    let order_id = call.world.order_id();
    let storage_order_id = call.world.order_id();
    let storage_instance_id = format!(
        "sc_flinkstorage_public_{}-{}",
        c.region,
        call.world.alnum(11)
    );
    let default_spec = match c.charge {
        ChargeType::Pre => c.default_ns_spec.or(c.spec),
        ChargeType::Post => c.default_ns_spec,
    };
    let default_name = format!("{}-default", c.name);
    let default_ns = Namespace {
        name: default_name.clone(),
        spec: default_spec,
        visible_ms: ready_ms,
        ready_ms,
        modified_ms: ready_ms,
        deleting_ms: None,
    };
    let (pricing_cycle, duration, expires_ms) = match &c.term {
        Some((cycle, duration, months)) => (
            Some(cycle.clone()),
            Some(*duration),
            Some(crate::world::add_months(now, *months)),
        ),
        None => (None, None, None),
    };
    let unit = if pricing_cycle
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("year"))
    {
        "Y"
    } else {
        "M"
    };
    let instance = Instance {
        id: id.clone(),
        name: c.name,
        region: c.region,
        zone: c.zone,
        vpc_id: c.vpc_id,
        vswitch_ids: c.vswitch_ids,
        charge: c.charge,
        spec: c.spec,
        bucket: c.bucket,
        created_ms: now,
        ready_ms,
        deleting_ms: None,
        expires_ms,
        pricing_cycle,
        duration,
        renewal: Renewal {
            status: if auto_renew {
                "AutoRenewal"
            } else {
                "ManualRenewal"
            }
            .to_owned(),
            period: 1,
            unit: unit.to_owned(),
        },
        tags: c.tags,
        architecture,
        resource_group_id: c.resource_group_id,
        order_id,
        storage_instance_id: storage_instance_id.clone(),
        storage_order_id,
        namespaces: BTreeMap::from([(default_name, default_ns)]),
        directories_written: false,
    };
    let account = call.account_mut()?;
    account.orders.insert(
        order_id,
        Order {
            id: order_id,
            instance_id: id.clone(),
            kind: "CreateInstance".to_owned(),
            created_ms: now,
        },
    );
    account.instances.insert(id.clone(), instance);
    Ok(json!({
        "OrderInfo": {
            "InstanceId": id,
            "OrderId": order_id,
            "StorageInstanceId": storage_instance_id,
            "StorageOrderId": storage_order_id,
        }
    }))
}

fn spec_json(spec: Option<Spec>) -> Value {
    let s = spec.unwrap_or(Spec {
        cpu: 0,
        memory_gb: 0,
    });
    json!({ "Cpu": s.cpu, "MemoryGB": s.memory_gb })
}

fn instance_json(account: &Account, i: &Instance, now: i64) -> Value {
    let status = i.phase(now).wire();
    let order_state = i.order_state(now);
    let vpc_info = account.vpcs.get(&i.vpc_id).map_or(Value::Null, |v| {
        json!({
            "VpcId": v.id,
            "VpcName": v.name,
            "CidrBlock": v.cidr,
            "Status": crate::world::network_status(v.created_ms, now),
            "RegionId": v.region,
            "Description": v.description,
        })
    });
    let vswitch_info: Vec<Value> = i
        .vswitch_ids
        .iter()
        .filter_map(|id| account.vswitches.get(id))
        .map(|s| {
            json!({
                "VSwitchId": s.id,
                "VSwitchName": s.name,
                "VSwitchCidr": s.cidr,
                "ZoneId": s.zone,
                "VpcId": s.vpc_id,
                "RegionId": s.region,
                "Description": s.description,
                "AvailableIpAddressCount": super::vpc::available_ips(&s.cidr).to_string(),
            })
        })
        .collect();
    let tags: Vec<Value> = i
        .tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "Region": i.region,
        "ZoneId": i.zone,
        "VpcId": i.vpc_id,
        "VSwitchIds": i.vswitch_ids,
        "ChargeType": i.charge.wire(),
        "ResourceSpec": spec_json(i.spec),
        "ClusterStatus": status,
        "OrderState": order_state,
        "Storage": { "Oss": { "Bucket": i.bucket }, "FullyManaged": false, "OrderState": order_state },
        "OssInfo": { "Bucket": i.bucket, "Endpoint": format!("oss-{}-internal.aliyuncs.com", i.region) },
        "ResourceCreateTime": i.created_ms,
        "ResourceExpiredTime": i.expires_ms.unwrap_or(NEVER_EXPIRES_MS),
        "ResourceGroupId": account.group(&i.resource_group_id),
        "Uid": account.uid,
        "Tags": tags,
        "ClusterState": { "Status": status, "SubStatus": status },
        "VpcInfo": vpc_info,
        "VSwitchInfo": vswitch_info,
        "ArchitectureType": i.architecture,
        "MonitorType": "ARMS",
        "Ha": false,
        "Elastic": false,
        "DeletionProtection": false,
    })
}

pub(crate) fn describe_instances(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.region("Region");
    let (page_index, page_size) = paging(call.params, "PageIndex", "PageSize", 10, 100)?;
    let id = call.params.get("InstanceId");
    let name = call.params.get("InstanceName");
    let charge = call.params.get("ChargeType");
    let tag_filter = call.params.tag_filter("Tags")?;
    let group = call.params.get("ResourceGroupId");
    let now = call.now;
    let account = call.account()?;
    let mut list: Vec<&Instance> = account
        .instances
        .values()
        .filter(|i| i.phase(now) != InstancePhase::Gone && i.region == region)
        .filter(|i| id.is_none_or(|id| id == i.id))
        .filter(|i| name.is_none_or(|n| n == i.name))
        .filter(|i| charge.is_none_or(|c| c == i.charge.wire()))
        .filter(|i| tags::matches(&i.tags, &tag_filter))
        .filter(|i| group.is_none_or(|g| g == account.group(&i.resource_group_id)))
        .collect();
    list.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    // Only the requested page is rendered (a fleet's listing has many pages).
    let total = list.len() as u64;
    let items: Vec<Value> = page(&list, page_index, page_size)
        .iter()
        .map(|i| instance_json(account, i, now))
        .collect();
    Ok(json!({
        "Instances": items,
        "TotalCount": total,
        "TotalPage": total.div_ceil(page_size),
        "PageIndex": page_index,
        "PageSize": page_size,
    }))
}

fn no_instance(id: &str) -> ApiError {
    ApiError::not_found(
        "InstanceNotFound",
        format!("The workspace {id} does not exist."),
    )
}

/// The id of the workspace named by `InstanceId` (and `Region`) that is not gone.
fn instance_id(call: &Call<'_>) -> Result<String, ApiError> {
    let id = call.params.require("InstanceId")?;
    let region = call.region("Region");
    let account = call.account()?;
    account
        .instances
        .get(id)
        .filter(|i| i.region == region && i.phase(call.now) != InstancePhase::Gone)
        .map(|i| i.id.clone())
        .ok_or_else(|| no_instance(id))
}

fn instance_mut<'c>(call: &'c mut Call<'_>, id: &str) -> Result<&'c mut Instance, ApiError> {
    call.account_mut()?
        .instances
        .get_mut(id)
        .ok_or_else(|| no_instance(id))
}

fn require_running(i: &Instance, now: i64) -> Result<(), ApiError> {
    if i.phase(now) == InstancePhase::Running {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "IncorrectInstanceStatus",
            format!(
                "The workspace {} is {}, not RUNNING.",
                i.id,
                i.phase(now).wire()
            ),
        ))
    }
}

fn insufficient(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InsufficientResource", message)
}

pub(crate) fn modify_prepay_instance_spec(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let spec = call
        .params
        .spec("ResourceSpec")?
        .ok_or_else(|| ApiError::missing("ResourceSpec"))?;
    let now = call.now;
    let order_id = call.world.order_id();
    let instance = instance_mut(call, &id)?;
    if instance.charge != ChargeType::Pre {
        return Err(ApiError::bad_request(
            "UnsupportedOperation",
            "Pay-as-you-go workspaces have no subscription quota to modify.",
        ));
    }
    require_running(instance, now)?;
    let used = instance.namespaces_cpu(now, None);
    if spec.cpu < used {
        return Err(insufficient(format!(
            "The namespaces already use {used} CU; the quota cannot be {} CU.",
            spec.cpu
        )));
    }
    instance.spec = Some(spec);
    call.account_mut()?.orders.insert(
        order_id,
        Order {
            id: order_id,
            instance_id: id,
            kind: "ModifyPrepayInstanceSpec".to_owned(),
            created_ms: now,
        },
    );
    Ok(json!({ "OrderId": order_id }))
}

pub(crate) fn delete_instance(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let now = call.now;
    let instance = instance_mut(call, &id)?;
    if instance.charge == ChargeType::Pre {
        return Err(ApiError::bad_request(
            "UnsupportedOperation",
            "Subscription workspaces cannot be released; they end when their term ends.",
        ));
    }
    if instance.deleting_ms.is_none() {
        instance.deleting_ms = Some(now);
    }
    Ok(json!({}))
}

pub(crate) fn create_namespace(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let name = call.params.require("Namespace")?.to_owned();
    if !valid_namespace_name(&name) {
        return Err(ApiError::bad_request(
            "InvalidParameter.Namespace",
            "A namespace name has 1-60 lowercase letters, digits and hyphens, starts with a letter and does not end with a hyphen.",
        ));
    }
    let spec_given = call.params.structured("ResourceSpec")?.is_some();
    let spec = if spec_given {
        call.params.spec("ResourceSpec")?
    } else {
        None
    };
    let now = call.now;
    let instance = instance_mut(call, &id)?;
    require_running(instance, now)?;
    if instance
        .namespaces
        .get(&name)
        .is_some_and(|n| n.phase(now) != NsPhase::Gone)
    {
        return Err(ApiError::bad_request(
            "Namespace.AlreadyExists",
            format!("The namespace {name} already exists."),
        ));
    }
    if instance.charge == ChargeType::Pre {
        let spec = spec.ok_or_else(|| ApiError::missing("ResourceSpec"))?;
        let quota = instance.spec.map_or(0, |s| s.cpu);
        let free = quota.saturating_sub(instance.namespaces_cpu(now, Some(&name)));
        if spec.cpu > free {
            return Err(insufficient(format!(
                "Only {free} CU of the workspace's {quota} CU are free."
            )));
        }
    }
    instance.namespaces.insert(
        name.clone(),
        Namespace {
            name,
            spec,
            visible_ms: now,
            ready_ms: now + NAMESPACE_TRANSITION_MS,
            modified_ms: now,
            deleting_ms: None,
        },
    );
    Ok(json!({}))
}

pub(crate) fn describe_namespaces(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let (page_index, page_size) = paging(call.params, "PageIndex", "PageSize", 10, 100)?;
    let filter = call.params.get("Namespace");
    let now = call.now;
    let account = call.account()?;
    let instance = account.instances.get(&id).ok_or_else(|| no_instance(&id))?;
    let mut list: Vec<&Namespace> = instance
        .namespaces
        .values()
        .filter(|n| n.phase(now).exists())
        .filter(|n| filter.is_none_or(|f| f == n.name))
        .collect();
    list.sort_by(|a, b| (a.visible_ms, &a.name).cmp(&(b.visible_ms, &b.name)));
    let items: Vec<Value> = list
        .iter()
        .map(|n| {
            json!({
                "Namespace": n.name,
                "Status": n.phase(now).wire(),
                "GmtCreate": n.visible_ms,
                "GmtModified": n.modified_ms,
                "ResourceSpec": spec_json(n.spec),
                "ResourceUsed": { "Cpu": 0.0, "MemoryGB": 0.0, "Cu": 0.0 },
                "Ha": false,
                "Tags": [],
            })
        })
        .collect();
    let total = items.len() as u64;
    Ok(json!({
        "Namespaces": page(&items, page_index, page_size),
        "TotalCount": total,
        "TotalPage": total.div_ceil(page_size),
        "PageIndex": page_index,
        "PageSize": page_size,
    }))
}

fn no_namespace(name: &str) -> ApiError {
    ApiError::not_found(
        "Namespace.NotFound",
        format!("The namespace {name} does not exist."),
    )
}

pub(crate) fn modify_prepay_namespace_spec(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let name = call.params.require("Namespace")?.to_owned();
    let spec = call
        .params
        .spec("ResourceSpec")?
        .ok_or_else(|| ApiError::missing("ResourceSpec"))?;
    let now = call.now;
    let instance = instance_mut(call, &id)?;
    let exists = instance
        .namespaces
        .get(&name)
        .is_some_and(|n| matches!(n.phase(now), NsPhase::Creating | NsPhase::Success));
    if !exists {
        return Err(no_namespace(&name));
    }
    if instance.charge == ChargeType::Pre {
        let quota = instance.spec.map_or(0, |s| s.cpu);
        let free = quota.saturating_sub(instance.namespaces_cpu(now, Some(&name)));
        if spec.cpu > free {
            return Err(insufficient(format!(
                "Only {free} CU of the workspace's {quota} CU are free for {name}."
            )));
        }
    }
    if let Some(ns) = instance.namespaces.get_mut(&name) {
        ns.spec = Some(spec);
        ns.modified_ms = now;
    }
    Ok(json!({}))
}

pub(crate) fn delete_namespace(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = instance_id(call)?;
    let name = call.params.require("Namespace")?.to_owned();
    let now = call.now;
    let instance = instance_mut(call, &id)?;
    let ns = instance
        .namespaces
        .get_mut(&name)
        .filter(|n| n.phase(now).exists())
        .ok_or_else(|| no_namespace(&name))?;
    if ns.deleting_ms.is_none() {
        ns.deleting_ms = Some(now);
    }
    Ok(json!({}))
}

/// The resource type of a workspace in the tag actions (any case).
const TAG_RESOURCE_TYPE: &str = "vvpinstance";

/// `RegionId` and `ResourceType` of a tag action.
fn tag_scope(call: &Call<'_>) -> Result<String, ApiError> {
    let region = call.params.require("RegionId")?.to_owned();
    let t = call.params.require("ResourceType")?;
    if !t.eq_ignore_ascii_case(TAG_RESOURCE_TYPE) {
        return Err(ApiError::bad_request(
            "InvalidParameter.ResourceType",
            format!("ResourceType must be {TAG_RESOURCE_TYPE}, not {t:?}."),
        ));
    }
    Ok(region)
}

/// `ResourceId.N` (required, at most 50), every one a workspace of `region` that is not gone.
fn tag_targets(call: &Call<'_>, region: &str) -> Result<Vec<String>, ApiError> {
    let ids = call.params.string_list("ResourceId")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::missing("ResourceId.N"));
    }
    if ids.len() > 50 {
        return Err(ApiError::bad_request(
            "NumberExceed.ResourceIds",
            "The ResourceIds parameter's number is exceed , Valid : 50",
        ));
    }
    let account = call.account()?;
    for id in &ids {
        let found = account
            .instances
            .get(id)
            .is_some_and(|i| i.region == region && i.phase(call.now) != InstancePhase::Gone);
        if !found {
            return Err(no_instance(id));
        }
    }
    Ok(ids)
}

pub(crate) fn tag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = tag_scope(call)?;
    let ids = tag_targets(call, &region)?;
    let tags = call.params.tags_to_set("Tag")?;
    if tags.is_empty() {
        return Err(ApiError::missing("Tag"));
    }
    let account = call.account_mut()?;
    for id in &ids {
        let have = account.instances.get(id).map(|i| &i.tags);
        let after = have
            .into_iter()
            .flat_map(|t| t.keys())
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if after > tags::MAX_TAGS {
            return Err(ApiError::bad_request(
                "NumberExceed.Tags",
                format!("The workspace {id} would have more than 20 tags."),
            ));
        }
    }
    for id in &ids {
        if let Some(i) = account.instances.get_mut(id) {
            i.tags.extend(tags.clone());
        }
    }
    Ok(json!({}))
}

pub(crate) fn untag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = tag_scope(call)?;
    let ids = tag_targets(call, &region)?;
    let keys = call.params.string_list("TagKey")?.unwrap_or_default();
    let all = call.params.bool("All").unwrap_or(false);
    if keys.is_empty() && !all {
        return Err(ApiError::missing("TagKey"));
    }
    let account = call.account_mut()?;
    for id in &ids {
        if let Some(i) = account.instances.get_mut(id) {
            if keys.is_empty() {
                i.tags.clear();
            } else {
                i.tags.retain(|k, _| !keys.contains(k));
            }
        }
    }
    Ok(json!({}))
}

pub(crate) fn list_tag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = tag_scope(call)?;
    let ids = call.params.string_list("ResourceId")?.unwrap_or_default();
    let filter = call.params.tag_filter("Tag")?;
    let now = call.now;
    let account = call.account()?;
    let entries: Vec<Value> = account
        .instances
        .values()
        .filter(|i| i.region == region && i.phase(now) != InstancePhase::Gone)
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .filter(|i| tags::matches(&i.tags, &filter))
        .flat_map(|i| {
            i.tags.iter().map(|(k, v)| {
                json!({
                    "ResourceId": i.id,
                    "ResourceType": TAG_RESOURCE_TYPE,
                    "TagKey": k,
                    "TagValue": v,
                })
            })
        })
        .collect();
    let (page, next) = tags::paginate(&entries, call.params.get("NextToken"), 50)?;
    Ok(json!({ "NextToken": next, "TagResources": page }))
}
