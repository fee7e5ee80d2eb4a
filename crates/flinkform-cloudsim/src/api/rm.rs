//! ResourceManager 2020-03-31 (global): the account's resource groups (`ListResourceGroups`)
//! and moving resources between them (`MoveResources`), the in-place change of a resource's
//! group for VPCs, vSwitches, buckets and Flink workspaces.

use serde_json::{Value, json};

use super::{ApiError, Call, page, paging};
use crate::tags;
use crate::world::{Account, EXISTING_VPC_ID, iso};

/// The resource types that can move, as `(Service, ResourceType)` (any case).
const MOVABLE: &[(&str, &str)] = &[
    ("vpc", "vpc"),
    ("vpc", "vswitch"),
    ("oss", "bucket"),
    ("stream", "vvpinstance"),
];

/// At most this many resources per MoveResources call.
const MAX_MOVE: usize = 10;

fn field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn move_resources(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let target = call.params.require("ResourceGroupId")?.to_owned();
    let resources = match call.params.structured("Resources")? {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(ApiError::missing("Resources")),
    };
    if resources.len() > MAX_MOVE {
        return Err(ApiError::bad_request(
            "InvalidParameter.Resources",
            format!("At most {MAX_MOVE} resources can be moved at a time."),
        ));
    }
    if !call.account()?.has_group(&target) {
        return Err(ApiError::not_found(
            "EntityNotExists.ResourceGroup",
            format!("The resource group {target} does not exist."),
        ));
    }
    let now = call.now;
    let mut out = Vec::new();
    for r in &resources {
        let (id, rtype, region, service) = (
            field(r, "ResourceId"),
            field(r, "ResourceType"),
            field(r, "RegionId"),
            field(r, "Service"),
        );
        let request_id = format!(
            "{:08X}-{:04X}-4{:03X}-{:04X}-{:012X}",
            call.world.next_u64() & 0xFFFF_FFFF,
            call.world.next_u64() & 0xFFFF,
            call.world.next_u64() & 0xFFF,
            call.world.next_u64() & 0xFFFF,
            call.world.next_u64() & 0xFFFF_FFFF_FFFF,
        );
        let supported = MOVABLE
            .iter()
            .any(|(s, t)| s.eq_ignore_ascii_case(&service) && t.eq_ignore_ascii_case(&rtype));
        let outcome = if supported {
            move_one(call, &id, &rtype, &region, &target, now)
        } else {
            Err((
                "NotSupported.ResourceType",
                format!("Service {service:?} resource type {rtype:?} cannot be moved."),
            ))
        };
        let mut item = json!({
            "Service": service,
            "ResourceId": id,
            "ResourceType": rtype,
            "RegionId": region,
            "RequestId": request_id,
            "Status": if outcome.is_ok() { "SUCCESS" } else { "FAIL" },
        });
        if let (Err((code, msg)), Some(m)) = (outcome, item.as_object_mut()) {
            m.insert("ErrorCode".to_owned(), json!(code));
            m.insert("ErrorMsg".to_owned(), json!(msg));
        }
        out.push(item);
    }
    Ok(json!({ "Responses": out }))
}

/// Moves one resource; `Err((code, message))` when it is not there.
fn move_one(
    call: &mut Call<'_>,
    id: &str,
    rtype: &str,
    region: &str,
    target: &str,
    now: i64,
) -> Result<(), (&'static str, String)> {
    let uid = call.uid.clone();
    let world = &mut *call.world;
    let missing = || {
        (
            "EntityNotExists.Resource",
            format!("The resource {id} ({rtype}) does not exist in {region}."),
        )
    };
    let account = world.accounts.get_mut(&uid).ok_or_else(missing)?;
    let found = tags::find(account, &mut world.buckets, id, now).ok_or_else(missing)?;
    let kind_ok = matches!(
        (&found, rtype.to_ascii_lowercase().as_str()),
        (tags::Taggable::Vpc(_), "vpc")
            | (tags::Taggable::VSwitch(_), "vswitch")
            | (tags::Taggable::Bucket(_), "bucket")
            | (tags::Taggable::Instance(_), "vvpinstance")
    );
    let mut found = found;
    if !kind_ok || (!region.is_empty() && found.region() != region) {
        return Err(missing());
    }
    *found.resource_group_mut() = target.to_owned();
    Ok(())
}

/// When the default group was "created": the account's pre-existing network's time.
fn default_group_created(account: &Account) -> i64 {
    account
        .vpcs
        .get(EXISTING_VPC_ID)
        .map_or(0, |v| v.created_ms)
}

pub(crate) fn list_resource_groups(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (page_num, page_size) = paging(call.params, "PageNumber", "PageSize", 10, 100)?;
    let id = call.params.get("ResourceGroupId");
    let ids = call.params.string_list("ResourceGroupIds")?;
    let name = call.params.get("Name");
    let status = call.params.get("Status");
    let account = call.account()?;
    let mut groups = vec![(
        account.resource_group_id.clone(),
        "default".to_owned(),
        "default resource group".to_owned(),
        default_group_created(account),
    )];
    groups.extend(account.resource_groups.values().map(|g| {
        (
            g.id.clone(),
            g.name.clone(),
            g.display_name.clone(),
            g.created_ms,
        )
    }));
    let items: Vec<Value> = groups
        .into_iter()
        .filter(|(gid, ..)| id.is_none_or(|i| i == gid))
        .filter(|(gid, ..)| ids.as_ref().is_none_or(|ids| ids.contains(gid)))
        .filter(|(_, n, ..)| name.is_none_or(|want| want == n))
        .filter(|_| status.is_none_or(|s| s == "OK"))
        .map(|(gid, n, display, created)| {
            json!({
                "AccountId": account.uid,
                "CreateDate": iso(created),
                "DisplayName": display,
                "Id": gid,
                "Name": n,
                "Status": "OK",
            })
        })
        .collect();
    Ok(json!({
        "PageNumber": page_num,
        "PageSize": page_size,
        "TotalCount": items.len(),
        "ResourceGroups": { "ResourceGroup": page(&items, page_num, page_size) },
    }))
}
