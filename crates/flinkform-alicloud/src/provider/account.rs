//! Account-level facts and kinds: what refresh reads of every requested account (its UID,
//! its balance, the Flink regions and zones its site offers, its resource groups) and the
//! kinds `account_balance` (a check of the pay-as-you-go balance) and `oss_service` (OSS
//! activation).
//!
//! API actions: `GetCallerIdentity` (STS), `QueryAccountBalance` (BSS, at the account's
//! site), `DescribeSupportedRegions` and `DescribeSupportedZones` (foasconsole), the resource
//! groups through `crate::rm`, and `OpenOssService` (OSS admin).
//!
//! Idempotency: a balance check is evaluated, never created or deleted; `OpenOssService`
//! of an account that has OSS already (`ORDER.OPEND`) is success, and OSS is never closed
//! through the API (its deletion only forgets it).

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountFacts, AccountName, AccountUid, Attrs, Balance, ChangeRequest, CloudId, DeleteRequest,
    Observation, ObserveRequest, ObservedResource, Outcome, ProviderError, ProviderErrorKind,
    Readiness, Region, ResourceKind, Value, ZoneId,
};

use super::observe::Item;
use super::{AliProvider, done, found, invalid, params};
use crate::client::{ApiError, Client, RpcMethod};
use crate::endpoint::Product;
use crate::wire;

/// `(available amount as sent, currency, cents)`.
pub(super) async fn query_balance(
    client: &Client,
    bss_region: &Region,
) -> Result<(String, String, i64), ApiError> {
    let resp = client
        .rpc_read(
            Product::Bss,
            Some(bss_region),
            "QueryAccountBalance",
            Vec::new(),
            RpcMethod::Post,
        )
        .await?;
    let amount = wire::string_at(&resp, &["Data", "AvailableAmount"]).ok_or_else(|| {
        ApiError::local(
            ProviderErrorKind::Fatal,
            "QueryAccountBalance",
            "answer has no Data.AvailableAmount",
        )
    })?;
    let currency = wire::string_at(&resp, &["Data", "Currency"]).unwrap_or_default();
    let cents = flinkform_core::money::parse_cents(&amount).ok_or_else(|| {
        ApiError::local(
            ProviderErrorKind::Fatal,
            "QueryAccountBalance",
            format!("unreadable amount `{amount}`"),
        )
    })?;
    Ok((amount, currency, cents))
}

/// The UID behind `client`'s credentials: asked once per client (`GetCallerIdentity`),
/// then remembered for the rest of the run; concurrent callers (the CLI's account check
/// and the refresh's facts) share the one call. It is the session's call, not a scope's:
/// a refresh's count of calls never includes it, whoever asked first.
pub(crate) async fn caller_uid(client: &Client) -> Result<AccountUid, ApiError> {
    let session = client.unscoped();
    client
        .uid_once(|| async move { ask_caller_uid(&session).await })
        .await
}

async fn ask_caller_uid(client: &Client) -> Result<AccountUid, ApiError> {
    let resp = client
        .rpc_read(
            Product::Sts,
            None,
            "GetCallerIdentity",
            Vec::new(),
            RpcMethod::Post,
        )
        .await?;
    let id = wire::string_at(&resp, &["AccountId"]).ok_or_else(|| {
        ApiError::local(
            ProviderErrorKind::Fatal,
            "GetCallerIdentity",
            "answer has no AccountId",
        )
    })?;
    AccountUid::new(id.clone()).map_err(|_| {
        ApiError::local(
            ProviderErrorKind::Fatal,
            "GetCallerIdentity",
            format!("`{id}` is not an account UID"),
        )
    })
}

/// The facts of one account: UID, balance, Flink regions and zones of `regions`; with the
/// available amount as the cloud wrote it.
///
/// The UID (asked once per client, usually before refresh), the balance and the Flink
/// regions are read at the same time, then the zones of every requested region the site
/// offers at the same time; the first failure in that order wins.
pub(super) async fn facts(
    client: Client,
    regions: BTreeSet<Region>,
    bss_region: Region,
    fallback: Region,
) -> Result<(AccountFacts, String), ApiError> {
    let home = regions.iter().next().cloned().unwrap_or(fallback);
    let (uid, balance, supported) = tokio::join!(
        caller_uid(&client),
        query_balance(&client, &bss_region),
        client.rpc_read(
            Product::Foasconsole,
            Some(&home),
            "DescribeSupportedRegions",
            Vec::new(),
            RpcMethod::Get,
        )
    );
    let uid = uid?;
    let (amount, currency, cents) = balance?;
    let flink_regions: BTreeSet<Region> = wire::list_at(&supported?, &["Regions"])
        .iter()
        .filter_map(|r| wire::string_at(r, &["Region"]))
        .filter_map(|r| Region::new(r).ok())
        .collect();
    let zone_reads = regions
        .iter()
        .filter(|r| flink_regions.contains(*r))
        .map(|region| async {
            let resp = client
                .rpc_read(
                    Product::Foasconsole,
                    Some(region),
                    "DescribeSupportedZones",
                    params(&[("Region", region.as_str())]),
                    RpcMethod::Get,
                )
                .await?;
            let zones: BTreeSet<ZoneId> = wire::strings_at(&resp, &["ZoneIds"])
                .into_iter()
                .filter_map(|z| ZoneId::new(z).ok())
                .collect();
            Ok::<_, ApiError>((region.clone(), zones))
        });
    // A handful of regions per account: all at once, the first failure in region order.
    let flink_zones = futures_util::future::join_all(zone_reads)
        .await
        .into_iter()
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let facts = AccountFacts {
        uid: Some(uid),
        flink_regions,
        flink_zones,
        balance: Some(Balance { cents, currency }),
        resource_groups: None,
    };
    Ok((facts, amount))
}

/// The accounts whose resource groups refresh reads: those whose desired workspaces name
/// one, among the accounts whose facts are asked for (`asked`: the request's accounts).
pub(super) fn group_accounts<V>(
    req: &ObserveRequest<'_>,
    asked: &BTreeMap<AccountName, V>,
) -> Vec<AccountName> {
    req.desired
        .iter()
        .filter(|d| {
            d.addr.kind() == ResourceKind::FlinkWorkspace
                && d.attrs.contains_key("resource_group")
                && asked.contains_key(&d.account)
        })
        .map(|d| d.account.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Refresh: an `account_balance` is the balance read for its account.
pub(super) fn observation(
    it: &Item,
    balances: &BTreeMap<AccountName, (String, String)>,
) -> Option<Observation> {
    balances.get(&it.account).and_then(|(amount, currency)| {
        balance_observation(&it.account, amount, currency).map(Observation::Found)
    })
}

fn balance_observation(
    account: &AccountName,
    amount: &str,
    currency: &str,
) -> Option<ObservedResource> {
    let mut attrs = Attrs::new();
    attrs.insert("available".to_owned(), Value::Str(amount.to_owned()));
    attrs.insert("currency".to_owned(), Value::Str(currency.to_owned()));
    Some(ObservedResource::new(
        ResourceKind::AccountBalance,
        CloudId::new(account.as_str()).ok()?,
        attrs,
        Readiness::Ready,
    ))
}

/// Reads the balance of `account` at `region`, else at the site refresh learnt.
pub(super) async fn read_balance(
    provider: &AliProvider,
    client: &Client,
    account: &AccountName,
    region: Option<&Region>,
) -> Result<Observation, ProviderError> {
    let bss = region
        .cloned()
        .unwrap_or_else(|| provider.home_region(account));
    let (amount, currency, _) = query_balance(client, &bss).await?;
    Ok(found(balance_observation(account, &amount, &currency)))
}

/// OSS activation cannot be read: always unknown.
pub(super) fn read_oss_service() -> Observation {
    Observation::Unknown
}

/// A balance check is evaluated, never created.
pub(super) fn create_balance() -> Result<Outcome, ProviderError> {
    Err(invalid(
        "create",
        "an account balance check is evaluated, never created",
    ))
}

/// `OpenOssService`; an account that has OSS already is success.
pub(super) async fn create_oss_service(
    req: &ChangeRequest,
    client: &Client,
) -> Result<Outcome, ProviderError> {
    match client
        .rpc(
            Product::OssAdmin,
            None,
            "OpenOssService",
            Vec::new(),
            RpcMethod::Post,
        )
        .await
    {
        Ok(_) => {}
        Err(e) if e.has_code("ORDER.OPEND") => {}
        Err(e) => return Err(e.into()),
    }
    let id = CloudId::new("oss").map_err(|e| invalid("OpenOssService", e.to_string()))?;
    Ok(Outcome {
        cloud_id: id,
        attrs: req.attrs.clone(),
        done: true,
    })
}

/// Never deleted through the API (catalog: Never, Check): done at once.
pub(super) fn delete(req: &DeleteRequest) -> Outcome {
    done(&req.prior.cloud_id, &req.prior.attrs, true)
}
