//! VPC 2016-04-28: VPCs and vSwitches with CIDR checks, `ClientToken` idempotency, paging,
//! and the `Pending` → `Available` transition.

use std::str::FromStr as _;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::{ApiError, Call, page, paging};
use crate::regions;
use crate::tags::{self, Tags};
use crate::world::{Account, InstancePhase, VSwitch, Vpc, iso, network_status};

fn malformed(what: &str, cidr: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidCidrBlock.Malformed",
        format!("The {what} CIDR block {cidr:?} is malformed."),
    )
}

pub(crate) fn parse_cidr(
    what: &str,
    cidr: &str,
    prefixes: std::ops::RangeInclusive<u8>,
) -> Result<Ipv4Net, ApiError> {
    let net = Ipv4Net::from_str(cidr).map_err(|_| malformed(what, cidr))?;
    if net.trunc() != net || !prefixes.contains(&net.prefix_len()) {
        return Err(malformed(what, cidr));
    }
    Ok(net)
}

pub(crate) fn check_region(region: &str) -> Result<(), ApiError> {
    if regions::known(region) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "InvalidRegionId.NotFound",
            format!("The region {region:?} does not exist."),
        ))
    }
}

fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    if name.len() > 128 || name.starts_with("http://") || name.starts_with("https://") {
        return Err(ApiError::bad_request(
            &format!("Invalid{field}.Malformed"),
            format!("The {field} is malformed."),
        ));
    }
    Ok(())
}

fn split_ids(s: Option<&str>) -> Option<Vec<String>> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

pub(crate) fn create_vpc(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.region("RegionId");
    check_region(&region)?;
    let token = call
        .params
        .get("ClientToken")
        .map(|t| format!("CreateVpc:{t}"));
    if let Some(token) = &token {
        let account = call.account()?;
        if let Some(id) = account.client_tokens.get(token) {
            let vpc = account.vpcs.get(id);
            return Ok(json!({
                "VpcId": id,
                "VRouterId": vpc.map(|v| v.vrouter_id.clone()).unwrap_or_default(),
                "RouteTableId": vpc.map(|v| v.route_table_id.clone()).unwrap_or_default(),
                "ResourceGroupId": account.group(vpc.map(|v| v.resource_group_id.as_str()).unwrap_or_default()),
            }));
        }
    }
    let cidr = call
        .params
        .get("CidrBlock")
        .unwrap_or("172.16.0.0/12")
        .to_owned();
    parse_cidr("VPC", &cidr, 8..=28)?;
    let name = call.params.get("VpcName").unwrap_or_default().to_owned();
    check_name("VpcName", &name)?;
    let description = call
        .params
        .get("Description")
        .unwrap_or_default()
        .to_owned();
    let tags = call.params.tags_to_set("Tag")?;
    let resource_group_id = match call.params.get("ResourceGroupId") {
        Some(rg) if !call.account()?.has_group(rg) => return Err(unknown_group(rg)),
        Some(rg) => rg.to_owned(),
        None => String::new(),
    };
    let vpc = Vpc {
        id: format!("vpc-{}", call.world.alnum(17)),
        region,
        name,
        description,
        cidr,
        vrouter_id: format!("vrt-{}", call.world.alnum(17)),
        route_table_id: format!("vtb-{}", call.world.alnum(17)),
        created_ms: call.now,
        tags,
        resource_group_id,
    };
    let account = call.account_mut()?;
    let body = json!({
        "VpcId": vpc.id,
        "VRouterId": vpc.vrouter_id,
        "RouteTableId": vpc.route_table_id,
        "ResourceGroupId": account.group(&vpc.resource_group_id),
    });
    if let Some(token) = token {
        account.client_tokens.insert(token, vpc.id.clone());
    }
    account.vpcs.insert(vpc.id.clone(), vpc);
    Ok(body)
}

pub(crate) fn describe_vpcs(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.region("RegionId");
    let (page_num, page_size) = paging(call.params, "PageNumber", "PageSize", 10, 50)?;
    let ids = split_ids(call.params.get("VpcId"));
    let name = call.params.get("VpcName");
    let tag_filter = call.params.tag_filter("Tag")?;
    let group = call.params.get("ResourceGroupId");
    let now = call.now;
    let account = call.account()?;
    let mut vpcs: Vec<&Vpc> = account
        .vpcs
        .values()
        .filter(|v| v.region == region)
        .filter(|v| ids.as_ref().is_none_or(|ids| ids.contains(&v.id)))
        .filter(|v| name.is_none_or(|n| n == v.name))
        .filter(|v| tags::matches(&v.tags, &tag_filter))
        .filter(|v| group.is_none_or(|g| g == account.group(&v.resource_group_id)))
        .collect();
    vpcs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    // Only the requested page is rendered (a fleet's listing has many pages).
    let total = vpcs.len();
    let items: Vec<Value> = page(&vpcs, page_num, page_size)
        .iter()
        .map(|v| {
            let vsws: Vec<&str> = account
                .vswitches
                .values()
                .filter(|s| s.vpc_id == v.id)
                .map(|s| s.id.as_str())
                .collect();
            json!({
                "VpcId": v.id,
                "RegionId": v.region,
                "Status": network_status(v.created_ms, now),
                "VpcName": v.name,
                "CidrBlock": v.cidr,
                "CreationTime": iso(v.created_ms),
                "Description": v.description,
                "VSwitchIds": { "VSwitchId": vsws },
                "VRouterId": v.vrouter_id,
                "RouterTableIds": { "RouterTableIds": [v.route_table_id] },
                "IsDefault": false,
                "ResourceGroupId": account.group(&v.resource_group_id),
                "Tags": tags_json(&v.tags),
                "OwnerId": account.uid.parse::<u64>().unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": page_num,
        "PageSize": page_size,
        "Vpcs": { "Vpc": items },
    }))
}

pub(crate) fn delete_vpc(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = call.params.require("VpcId")?.to_owned();
    let region = call.params.get("RegionId").map(str::to_owned);
    let account = call.account_mut()?;
    let found = account
        .vpcs
        .get(&id)
        .is_some_and(|v| region.as_ref().is_none_or(|r| *r == v.region));
    if !found {
        return Err(ApiError::not_found(
            "InvalidVpcId.NotFound",
            format!("The VPC {id} does not exist."),
        ));
    }
    if account.vswitches.values().any(|s| s.vpc_id == id) {
        return Err(ApiError::bad_request(
            "DependencyViolation.VSwitch",
            "The specified VPC still has vSwitches; delete them first.",
        ));
    }
    account.vpcs.remove(&id);
    Ok(json!({}))
}

/// The checks of a new vSwitch `cidr` in `zone` of VPC `vpc_id` (in `region` when given):
/// the VPC exists, the zone is the VPC region's, the CIDR is well-formed, inside the VPC's
/// and overlaps no other vSwitch of it. Returns the VPC.
pub(crate) fn check_vswitch<'a>(
    account: &'a Account,
    vpc_id: &str,
    region: Option<&str>,
    zone: &str,
    cidr: &str,
) -> Result<&'a Vpc, ApiError> {
    let vpc = account
        .vpcs
        .get(vpc_id)
        .filter(|v| region.is_none_or(|r| r == v.region))
        .ok_or_else(|| {
            ApiError::not_found(
                "InvalidVpcId.NotFound",
                format!("The VPC {vpc_id} does not exist."),
            )
        })?;
    if !regions::zones(&vpc.region).iter().any(|z| z == zone) {
        return Err(ApiError::bad_request(
            "InvalidZoneId.NotFound",
            format!("The zone {zone:?} does not exist in region {}.", vpc.region),
        ));
    }
    let net = parse_cidr("vSwitch", cidr, 16..=29)?;
    let vpc_net = parse_cidr("VPC", &vpc.cidr, 8..=28)?;
    if !vpc_net.contains(&net) {
        return Err(ApiError::bad_request(
            "InvalidCidrBlock.Malformed",
            format!(
                "The vSwitch CIDR block {cidr} is not inside the VPC's {}.",
                vpc.cidr
            ),
        ));
    }
    let overlapped = account
        .vswitches
        .values()
        .filter(|s| s.vpc_id == vpc_id)
        .any(|s| {
            Ipv4Net::from_str(&s.cidr)
                .is_ok_and(|other| other.contains(&net.network()) || net.contains(&other.network()))
        });
    if overlapped {
        return Err(ApiError::bad_request(
            "InvalidCidrBlock.Overlapped",
            format!("The vSwitch CIDR block {cidr} overlaps another vSwitch of the VPC."),
        ));
    }
    Ok(vpc)
}

pub(crate) fn create_vswitch(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let vpc_id = call.params.require("VpcId")?.to_owned();
    let zone = call.params.require("ZoneId")?.to_owned();
    let cidr = call.params.require("CidrBlock")?.to_owned();
    let region_param = call.params.get("RegionId").map(str::to_owned);
    let token = call
        .params
        .get("ClientToken")
        .map(|t| format!("CreateVSwitch:{t}"));
    let name = call
        .params
        .get("VSwitchName")
        .unwrap_or_default()
        .to_owned();
    let description = call
        .params
        .get("Description")
        .unwrap_or_default()
        .to_owned();
    if let Some(token) = &token
        && let Some(id) = call.account()?.client_tokens.get(token)
    {
        return Ok(json!({ "VSwitchId": id }));
    }
    let account = call.account()?;
    let vpc = check_vswitch(account, &vpc_id, region_param.as_deref(), &zone, &cidr)?;
    check_name("VSwitchName", &name)?;
    let tags = call.params.tags_to_set("Tag")?;
    let region = vpc.region.clone();
    let resource_group_id = vpc.resource_group_id.clone();
    let vsw = VSwitch {
        id: format!("vsw-{}", call.world.alnum(17)),
        vpc_id,
        region,
        zone,
        cidr,
        name,
        description,
        created_ms: call.now,
        tags,
        resource_group_id,
    };
    let account = call.account_mut()?;
    let body = json!({ "VSwitchId": vsw.id });
    if let Some(token) = token {
        account.client_tokens.insert(token, vsw.id.clone());
    }
    account.vswitches.insert(vsw.id.clone(), vsw);
    Ok(body)
}

/// Addresses a vSwitch offers (the cloud reserves four per vSwitch).
pub(crate) fn available_ips(cidr: &str) -> u64 {
    Ipv4Net::from_str(cidr).map_or(0, |n| {
        (1u64 << (32 - u32::from(n.prefix_len()))).saturating_sub(4)
    })
}

pub(crate) fn describe_vswitches(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (page_num, page_size) = paging(call.params, "PageNumber", "PageSize", 10, 50)?;
    let vpc_filter = call.params.get("VpcId");
    let region = if call.params.get("RegionId").is_some() || vpc_filter.is_none() {
        Some(call.region("RegionId"))
    } else {
        None
    };
    let ids = split_ids(call.params.get("VSwitchId"));
    let zone = call.params.get("ZoneId");
    let name = call.params.get("VSwitchName");
    let tag_filter = call.params.tag_filter("Tag")?;
    let group = call.params.get("ResourceGroupId");
    let now = call.now;
    let account = call.account()?;
    let mut list: Vec<&VSwitch> = account
        .vswitches
        .values()
        .filter(|s| region.as_ref().is_none_or(|r| *r == s.region))
        .filter(|s| vpc_filter.is_none_or(|v| v == s.vpc_id))
        .filter(|s| ids.as_ref().is_none_or(|ids| ids.contains(&s.id)))
        .filter(|s| zone.is_none_or(|z| z == s.zone))
        .filter(|s| name.is_none_or(|n| n == s.name))
        .filter(|s| tags::matches(&s.tags, &tag_filter))
        .filter(|s| group.is_none_or(|g| g == account.group(&s.resource_group_id)))
        .collect();
    list.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    // Only the requested page is rendered (a fleet's listing has many pages).
    let total = list.len();
    let items: Vec<Value> = page(&list, page_num, page_size)
        .iter()
        .map(|s| {
            json!({
                "VSwitchId": s.id,
                "VpcId": s.vpc_id,
                "ZoneId": s.zone,
                "CidrBlock": s.cidr,
                "Status": network_status(s.created_ms, now),
                "AvailableIpAddressCount": available_ips(&s.cidr),
                "VSwitchName": s.name,
                "Description": s.description,
                "CreationTime": iso(s.created_ms),
                "IsDefault": false,
                "ResourceGroupId": account.group(&s.resource_group_id),
                "OwnerId": account.uid.parse::<u64>().unwrap_or_default(),
                "Tags": tags_json(&s.tags),
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": page_num,
        "PageSize": page_size,
        "VSwitches": { "VSwitch": items },
    }))
}

pub(crate) fn delete_vswitch(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let id = call.params.require("VSwitchId")?.to_owned();
    let now = call.now;
    let account = call.account_mut()?;
    if !account.vswitches.contains_key(&id) {
        return Err(ApiError::not_found(
            "InvalidVSwitchId.NotFound",
            format!("The vSwitch {id} does not exist."),
        ));
    }
    let used = account
        .instances
        .values()
        .any(|i| i.phase(now) != InstancePhase::Gone && i.vswitch_ids.contains(&id));
    if used {
        return Err(ApiError::bad_request(
            "DependencyViolation",
            format!("The vSwitch {id} is used by a Flink workspace."),
        ));
    }
    account.vswitches.remove(&id);
    Ok(json!({}))
}

/// `Tags{Tag[{Key, Value}]}` of a describe answer.
fn tags_json(tags: &Tags) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    json!({ "Tag": list })
}

/// A resource group the account does not have (**emulator choice** of code).
pub(crate) fn unknown_group(id: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidResourceGroupId.NotFound",
        format!("The resource group {id} does not exist."),
    )
}

/// The VPC resource types that can be tagged here, as the answers spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagType {
    Vpc,
    VSwitch,
}

impl TagType {
    fn wire(self) -> &'static str {
        match self {
            Self::Vpc => "VPC",
            Self::VSwitch => "VSWITCH",
        }
    }
}

/// `ResourceType` (case-insensitive): `VPC` or `VSWITCH`.
fn tag_type(call: &Call<'_>) -> Result<TagType, ApiError> {
    let t = call.params.require("ResourceType")?;
    match t.to_ascii_uppercase().as_str() {
        "VPC" => Ok(TagType::Vpc),
        "VSWITCH" => Ok(TagType::VSwitch),
        _ => Err(ApiError::bad_request(
            "InvalidResourceType.NotFound",
            format!("The resource type {t:?} is not supported by the emulator (VPC, VSWITCH)."),
        )),
    }
}

/// `ResourceId.N`: at most 50.
fn resource_ids(call: &Call<'_>, required: bool) -> Result<Vec<String>, ApiError> {
    let ids = call.params.string_list("ResourceId")?.unwrap_or_default();
    if required && ids.is_empty() {
        return Err(ApiError::missing("ResourceId.N"));
    }
    if ids.len() > 50 {
        return Err(ApiError::bad_request(
            "NumberExceed.ResourceIds",
            "The ResourceIds parameter's number is exceed , Valid : 50",
        ));
    }
    Ok(ids)
}

fn no_resource(id: &str) -> ApiError {
    ApiError::not_found(
        "InvalidResourceId.NotFound",
        format!("The specified resource {id} is not found."),
    )
}

/// The tags of resource `id` of type `t` in `region`, if it exists there.
fn tags_of<'a>(
    account: &'a mut crate::world::Account,
    t: TagType,
    id: &str,
    region: &str,
) -> Option<&'a mut Tags> {
    match t {
        TagType::Vpc => account
            .vpcs
            .get_mut(id)
            .filter(|v| v.region == region)
            .map(|v| &mut v.tags),
        TagType::VSwitch => account
            .vswitches
            .get_mut(id)
            .filter(|s| s.region == region)
            .map(|s| &mut s.tags),
    }
}

pub(crate) fn tag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.params.require("RegionId")?.to_owned();
    let t = tag_type(call)?;
    let ids = resource_ids(call, true)?;
    let tags = call.params.tags_to_set("Tag")?;
    if tags.is_empty() {
        return Err(ApiError::missing("Tag.N.Key"));
    }
    let account = call.account_mut()?;
    for id in &ids {
        let have = tags_of(account, t, id, &region).ok_or_else(|| no_resource(id))?;
        let after = have
            .keys()
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if after > crate::tags::MAX_TAGS {
            return Err(ApiError::bad_request(
                "NumberExceed.Tags",
                format!("The resource {id} would have more than 20 tags."),
            ));
        }
    }
    for id in &ids {
        if let Some(have) = tags_of(account, t, id, &region) {
            have.extend(tags.clone());
        }
    }
    Ok(json!({}))
}

pub(crate) fn un_tag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.params.require("RegionId")?.to_owned();
    let t = tag_type(call)?;
    let ids = resource_ids(call, true)?;
    let keys = call.params.string_list("TagKey")?.unwrap_or_default();
    let all = call.params.bool("All").unwrap_or(false);
    if keys.is_empty() && !all {
        return Err(ApiError::missing("TagKey.N"));
    }
    let account = call.account_mut()?;
    for id in &ids {
        tags_of(account, t, id, &region).ok_or_else(|| no_resource(id))?;
    }
    for id in &ids {
        if let Some(have) = tags_of(account, t, id, &region) {
            if keys.is_empty() {
                have.clear();
            } else {
                have.retain(|k, _| !keys.contains(k));
            }
        }
    }
    Ok(json!({}))
}

pub(crate) fn list_tag_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let region = call.params.require("RegionId")?.to_owned();
    let t = tag_type(call)?;
    let ids = resource_ids(call, false)?;
    let filter = call.params.tag_filter("Tag")?;
    if ids.is_empty() && filter.is_empty() {
        return Err(ApiError::missing("ResourceId.N or Tag.N"));
    }
    let max = call.params.int("MaxResults", 50)?;
    if !(1..=50).contains(&max) {
        return Err(ApiError::bad_request(
            "InvalidParameter",
            "The parameter MaxResults must be between 1 and 50.",
        ));
    }
    let account = call.account()?;
    let candidates: Vec<(&String, &Tags)> = match t {
        TagType::Vpc => account
            .vpcs
            .values()
            .filter(|v| v.region == region)
            .map(|v| (&v.id, &v.tags))
            .collect(),
        TagType::VSwitch => account
            .vswitches
            .values()
            .filter(|s| s.region == region)
            .map(|s| (&s.id, &s.tags))
            .collect(),
    };
    let entries: Vec<Value> = candidates
        .into_iter()
        .filter(|(id, _)| ids.is_empty() || ids.contains(id))
        .filter(|(_, tags)| tags::matches(tags, &filter))
        .flat_map(|(id, tags)| {
            tags.iter().map(move |(k, v)| {
                json!({ "ResourceId": id, "ResourceType": t.wire(), "TagKey": k, "TagValue": v })
            })
        })
        .collect();
    let (page, next) = tags::paginate(
        &entries,
        call.params.get("NextToken"),
        usize::try_from(max).unwrap_or(50),
    )?;
    Ok(json!({
        "NextToken": next,
        "TagResources": { "TagResource": page },
    }))
}
