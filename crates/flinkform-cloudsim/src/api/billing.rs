//! Account-level actions: STS `GetCallerIdentity`, BSS `QueryAccountBalance`,
//! `QueryAvailableInstances` and `SetRenewal` (the subscription workspaces, BSS product code
//! `sc`), and oss-admin `OpenOssService`.

use serde_json::{Value, json};

use super::{ApiError, Call, page, paging};
use crate::world::{ChargeType, InstancePhase, iso};

/// Formats cents as a decimal string with two decimals (`-1119` → `"-11.19"`).
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

pub(crate) fn get_caller_identity(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let account = call.account()?;
    let uid = account.uid.clone();
    if let Some((role, session)) = &call.assumed {
        let role_id = account
            .roles
            .get(role)
            .map(|r| r.id.clone())
            .unwrap_or_default();
        return Ok(json!({
            "AccountId": uid,
            "UserId": format!("{role_id}:{session}"),
            "PrincipalId": format!("{role_id}:{session}"),
            "RoleId": role_id,
            "Arn": format!("acs:ram::{uid}:assumed-role/{}/{session}", role.to_ascii_lowercase()),
            "IdentityType": "AssumedRoleUser",
        }));
    }
    Ok(json!({
        "AccountId": uid,
        "UserId": uid,
        "PrincipalId": uid,
        "Arn": format!("acs:ram::{uid}:root"),
        "IdentityType": "Account",
    }))
}

pub(crate) fn query_account_balance(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let account = call.account()?;
    let amount = money(account.balance_cents);
    Ok(json!({
        "Data": {
            "AvailableAmount": amount,
            "AvailableCashAmount": amount,
            "CreditAmount": "0.00",
            "MybankCreditAmount": "0.00",
            "Currency": account.site.currency(),
            "QuotaLimit": "0.00",
        }
    }))
}

/// BSS product code of fully managed Flink (emulator choice, see the contract).
const PRODUCT_CODE: &str = "sc";

pub(crate) fn query_available_instances(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (page_num, page_size) = paging(call.params, "PageNum", "PageSize", 20, 300)?;
    let now = call.now;
    let product_ok = call
        .params
        .get("ProductCode")
        .is_none_or(|p| p == PRODUCT_CODE);
    let subscription_ok = call
        .params
        .get("SubscriptionType")
        .is_none_or(|s| s == "Subscription");
    let region = call.params.get("Region");
    let ids: Option<Vec<&str>> = call.params.get("InstanceIDs").map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let account = call.account()?;
    let mut list: Vec<Value> = Vec::new();
    if product_ok && subscription_ok {
        let mut instances: Vec<_> = account
            .instances
            .values()
            .filter(|i| i.charge == ChargeType::Pre && i.phase(now) != InstancePhase::Gone)
            .filter(|i| region.is_none_or(|r| r == i.region))
            .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.id.as_str())))
            .collect();
        instances.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        for i in instances {
            list.push(json!({
                "InstanceID": i.id,
                "ProductCode": PRODUCT_CODE,
                "ProductType": "sc_flink_pre",
                "SubscriptionType": "Subscription",
                "RenewStatus": i.renewal.status,
                "RenewalDurationUnit": i.renewal.unit,
                "RenewalDuration": i.renewal.period,
                "Status": "Normal",
                "SubStatus": "Normal",
                "Region": i.region,
                "Seller": "26842",
                "CreateTime": iso(i.created_ms),
                "EndTime": i.expires_ms.map(iso).unwrap_or_default(),
                "OwnerId": account.uid.parse::<u64>().unwrap_or_default(),
            }));
        }
    }
    let total = list.len();
    Ok(json!({
        "Data": {
            "PageNum": page_num,
            "PageSize": page_size,
            "TotalCount": total,
            "InstanceList": page(&list, page_num, page_size),
        }
    }))
}

pub(crate) fn set_renewal(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let ids: Vec<String> = call
        .params
        .require("InstanceIDs")?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let status = call.params.require("RenewalStatus")?.to_owned();
    if !["AutoRenewal", "ManualRenewal", "NotRenewal"].contains(&status.as_str()) {
        return Err(ApiError::bad_request(
            "InvalidParameter",
            format!(
                "RenewalStatus must be AutoRenewal, ManualRenewal or NotRenewal, not {status:?}."
            ),
        ));
    }
    if call
        .params
        .get("ProductCode")
        .is_some_and(|p| p != PRODUCT_CODE)
    {
        return Err(ApiError::bad_request(
            "InvalidParameter",
            "The product code does not match the instances.",
        ));
    }
    let period = call.params.int("RenewalPeriod", 1)?;
    let unit = call
        .params
        .get("RenewalPeriodUnit")
        .unwrap_or("M")
        .to_owned();
    if unit != "M" && unit != "Y" {
        return Err(ApiError::bad_request(
            "InvalidParameter",
            "RenewalPeriodUnit must be M or Y.",
        ));
    }
    let now = call.now;
    let account = call.account_mut()?;
    for id in &ids {
        let ok = account
            .instances
            .get(id)
            .is_some_and(|i| i.charge == ChargeType::Pre && i.phase(now) != InstancePhase::Gone);
        if !ok {
            return Err(ApiError::bad_request(
                "InvalidParameter",
                format!("The subscription instance {id} does not exist in this account."),
            ));
        }
    }
    for id in &ids {
        if let Some(i) = account.instances.get_mut(id) {
            i.renewal.status.clone_from(&status);
            i.renewal.period = u32::try_from(period).unwrap_or(1);
            i.renewal.unit.clone_from(&unit);
        }
    }
    Ok(json!({}))
}

pub(crate) fn open_oss_service(call: &mut Call<'_>) -> Result<Value, ApiError> {
    if call.account()?.oss_opened {
        return Err(ApiError::bad_request(
            "ORDER.OPEND",
            "You have already open the service, no need to open it again.",
        ));
    }
    let order_id = call.world.order_id();
    call.account_mut()?.oss_opened = true;
    Ok(json!({ "OrderId": order_id.to_string() }))
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(100_000), "1000.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-1119), "-11.19");
    }
}
