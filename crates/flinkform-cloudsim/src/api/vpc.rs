//! VPC 2016-04-28: VPCs and vSwitches with CIDR checks, `ClientToken` idempotency, paging,
//! and the `Pending` → `Available` transition.

use std::str::FromStr as _;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::{ApiError, Call, page, paging};
use crate::regions;
use crate::world::{InstancePhase, VSwitch, Vpc, iso, network_status};

fn malformed(what: &str, cidr: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidCidrBlock.Malformed",
        format!("The {what} CIDR block {cidr:?} is malformed."),
    )
}

fn parse_cidr(
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

fn check_region(region: &str) -> Result<(), ApiError> {
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
                "ResourceGroupId": account.resource_group_id,
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
    let vpc = Vpc {
        id: format!("vpc-{}", call.world.alnum(17)),
        region,
        name,
        description,
        cidr,
        vrouter_id: format!("vrt-{}", call.world.alnum(17)),
        route_table_id: format!("vtb-{}", call.world.alnum(17)),
        created_ms: call.now,
    };
    let account = call.account_mut()?;
    let body = json!({
        "VpcId": vpc.id,
        "VRouterId": vpc.vrouter_id,
        "RouteTableId": vpc.route_table_id,
        "ResourceGroupId": account.resource_group_id,
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
    let now = call.now;
    let account = call.account()?;
    let mut vpcs: Vec<&Vpc> = account
        .vpcs
        .values()
        .filter(|v| v.region == region)
        .filter(|v| ids.as_ref().is_none_or(|ids| ids.contains(&v.id)))
        .filter(|v| name.is_none_or(|n| n == v.name))
        .collect();
    vpcs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    let items: Vec<Value> = vpcs
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
                "ResourceGroupId": account.resource_group_id,
                "OwnerId": account.uid.parse::<u64>().unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": items.len(),
        "PageNumber": page_num,
        "PageSize": page_size,
        "Vpcs": { "Vpc": page(&items, page_num, page_size) },
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
    let vpc = account
        .vpcs
        .get(&vpc_id)
        .filter(|v| region_param.as_ref().is_none_or(|r| *r == v.region))
        .ok_or_else(|| {
            ApiError::not_found(
                "InvalidVpcId.NotFound",
                format!("The VPC {vpc_id} does not exist."),
            )
        })?;
    if !regions::zones(&vpc.region).contains(&zone) {
        return Err(ApiError::bad_request(
            "InvalidZoneId.NotFound",
            format!("The zone {zone:?} does not exist in region {}.", vpc.region),
        ));
    }
    let net = parse_cidr("vSwitch", &cidr, 16..=29)?;
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
    check_name("VSwitchName", &name)?;
    let region = vpc.region.clone();
    let vsw = VSwitch {
        id: format!("vsw-{}", call.world.alnum(17)),
        vpc_id,
        region,
        zone,
        cidr,
        name,
        description,
        created_ms: call.now,
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
        .collect();
    list.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    let items: Vec<Value> = list
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
                "ResourceGroupId": account.resource_group_id,
                "OwnerId": account.uid.parse::<u64>().unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": items.len(),
        "PageNumber": page_num,
        "PageSize": page_size,
        "VSwitches": { "VSwitch": page(&items, page_num, page_size) },
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
