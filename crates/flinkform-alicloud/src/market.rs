//! Marketplace subscriptions in the provider: the Marketplace order (market 2015-11-01
//! `CreateOrder`, `DescribeInstances`, `DescribeInstance`), and the vendor steps through the
//! Billing Center connector (`crate::connector`): account, settlement binding, workspace,
//! and the e-mail verification gate.
//!
//! Cloud ids: an order's is the product **Instance ID** (what the vendor needs for
//! settlement; the order id is the attribute `order_id`); a billing account's, binding's and
//! workspace's are the connector's ids; a passed gate's is `verified-<account id>` (e-mail)
//! or `confirmed` (a manual step).
//!
//! Orders: one instance of a product per account. A create first lists the account's
//! instances of the product: an open one is adopted (no second order); otherwise the
//! `ClientToken` is the executor's token mixed with the number of ended (expired or closed)
//! instances of the product, so a retry or a re-run after a crash sends the same token (the
//! Marketplace answers with the same order), and a re-order after an expiry sends a new one.
//!
//! Verification is per Alibaba Cloud account: every connector call that registers, binds,
//! verifies, settles or creates a workspace carries the caller's `aliUid` (STS
//! `GetCallerIdentity`), reads ask with it, and the e-mail gate is observed as passed only
//! when the account is verified for this UID. Refresh also records the vendor facts the
//! planner's checks before an order need (`Observed::billing_accounts`).
//!
//! Secrets: the password is read from its reference (`env:NAME`, `file:PATH`) only inside
//! [`AliProvider::create_market`], right before the connector call, and appears in no
//! attribute, log or error.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, AccountUid, Address, Attrs, BillingAccountFacts, ChangeRequest, CloudId,
    DeleteRequest, Observation, ObserveRequest, Observed, ObservedResource, Outcome, Owner,
    ProviderError, ProviderErrorKind, Readiness, ResourceKind, Value,
};
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use crate::client::{ApiError, Client, RpcMethod};
use crate::connector::{Connector, ConnectorMethod};
use crate::endpoint::Product;
use crate::provider::AliProvider;

/// Whether `kind` is handled here.
#[must_use]
pub(crate) fn is_market_kind(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace
    )
}

fn invalid(action: &str, message: impl Into<String>) -> ProviderError {
    ApiError::local(ProviderErrorKind::InvalidParameter, action, message).into()
}

fn s<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

fn need<'a>(attrs: &'a Attrs, name: &str, action: &str) -> Result<&'a str, ProviderError> {
    s(attrs, name).ok_or_else(|| invalid(action, format!("attribute `{name}` is missing")))
}

fn cloud_id(id: &str, action: &str) -> Result<CloudId, ProviderError> {
    CloudId::new(id).map_err(|_| invalid(action, format!("`{id}` is not an id")))
}

/// Whether the boolean field `key` of `v` is `true`.
fn flag(v: &Json, key: &str) -> bool {
    v.get(key).and_then(Json::as_bool) == Some(true)
}

fn json_str(v: &Json, key: &str) -> Option<String> {
    match v.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a secret from its reference (`env:NAME` or `file:PATH`). The error says where it
/// looked, never what it found.
fn resolve_secret(reference: &str, action: &str) -> Result<String, ProviderError> {
    let fail = |why: String| {
        ProviderError::from(ApiError::local(
            ProviderErrorKind::InvalidParameter,
            action,
            why,
        ))
    };
    if let Some(name) = reference.strip_prefix("env:") {
        return std::env::var(name).map_err(|_| {
            fail(format!(
                "the password is read from the environment variable {name}, which is not set: \
                 export it (e.g. `read -rs {name} && export {name}`) and apply again"
            ))
        });
    }
    if let Some(path) = reference.strip_prefix("file:") {
        return std::fs::read_to_string(path)
            .map(|t| t.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| {
                fail(format!(
                    "the password is read from the file {path}, which cannot be read ({})",
                    e.kind()
                ))
            });
    }
    Err(fail(format!(
        "`{reference}` is not a secret reference (env:NAME or file:PATH)"
    )))
}

/// Instance items of one account's `DescribeInstances` for `codes`.
async fn list_instances(
    client: &Client,
    region: &flinkform_core::Region,
    codes: &BTreeSet<String>,
) -> Result<Vec<Json>, ApiError> {
    let mut out = Vec::new();
    let mut page = 1_u64;
    loop {
        let mut params = vec![
            ("PageNumber".to_owned(), page.to_string()),
            ("PageSize".to_owned(), "100".to_owned()),
        ];
        if !codes.is_empty() {
            params.push((
                "Codes".to_owned(),
                codes.iter().cloned().collect::<Vec<_>>().join(","),
            ));
        }
        let resp = client
            .rpc_read(
                Product::Market,
                Some(region),
                "DescribeInstances",
                params,
                RpcMethod::Post,
            )
            .await?;
        let items = resp
            .pointer("/InstanceItems/InstanceItem")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let total = resp
            .get("TotalCount")
            .and_then(Json::as_u64)
            .unwrap_or_default();
        let n = items.len();
        out.extend(items);
        if n == 0 || out.len() as u64 >= total {
            return Ok(out);
        }
        page += 1;
    }
}

fn open(status: &str) -> bool {
    matches!(
        status,
        "OPENED" | "OPENING" | "STARTED" | "READYING" | "CONFIRM" | "USING" | "PRODUCE"
    )
}

/// Statuses of a product instance that no longer serves (expired, released, closed): the
/// subscription is gone and a new order may be placed.
fn ended(status: &str) -> bool {
    matches!(status, "EXPIRED" | "CLOSED" | "UNUSED")
}

fn order_observation(item: &Json) -> Observation {
    let status = json_str(item, "Status").unwrap_or_default();
    let unknown = |why: String| {
        let id = json_str(item, "OrderId")
            .or_else(|| json_str(item, "InstanceId"))
            .unwrap_or_else(|| "unknown".to_owned());
        match CloudId::new(id).or_else(|_| CloudId::new("unknown")) {
            Ok(id) => Observation::Found(ObservedResource::new(
                ResourceKind::MarketOrder,
                id,
                Attrs::new(),
                Readiness::Unknown(why),
            )),
            // Nothing to name it by: the planner refuses an unknown order too.
            Err(_) => Observation::Unknown,
        }
    };
    // Money fails closed: an instance whose status is not known, or that has no id, is
    // never taken for "absent" (which would order again).
    let Some(id) = json_str(item, "InstanceId").and_then(|i| CloudId::new(i).ok()) else {
        return unknown("the Marketplace lists it without an InstanceId".to_owned());
    };
    if ended(&status) {
        // Expired or released: it no longer serves; reported as gone.
        return Observation::Absent;
    }
    if !open(&status) {
        return unknown(format!("Marketplace instance status `{status}`"));
    }
    let mut attrs = Attrs::new();
    for (k, j) in [
        ("product_code", "ProductCode"),
        ("sku_code", "ProductSkuCode"),
        ("order_id", "OrderId"),
        ("status", "Status"),
    ] {
        if let Some(v) = json_str(item, j) {
            attrs.insert(k.to_owned(), Value::Str(v));
        }
    }
    let readiness = if status == "OPENING" {
        Readiness::Pending
    } else {
        Readiness::Ready
    };
    Observation::Found(ObservedResource::new(
        ResourceKind::MarketOrder,
        id,
        attrs,
        readiness,
    ))
}

/// A connector object (it has an `id`) as a ready observation with `attrs`.
fn connector_found(v: &Json, attrs: Attrs) -> Option<Observation> {
    Some(Observation::Found(ObservedResource {
        cloud_id: CloudId::new(json_str(v, "id")?).ok()?,
        attrs,
        readiness: Readiness::Ready,
        owner: Owner::NotMarkable,
    }))
}

/// Copies the string fields `keys` of `v` that are present into `attrs`, under the same names.
fn copy_strs(v: &Json, keys: &[&str], attrs: &mut Attrs) {
    for k in keys {
        if let Some(x) = json_str(v, k) {
            attrs.insert((*k).to_owned(), Value::Str(x));
        }
    }
}

fn account_observation(v: &Json) -> Option<Observation> {
    let mut attrs = Attrs::new();
    copy_strs(v, &["site", "username", "email", "status"], &mut attrs);
    connector_found(v, attrs)
}

fn binding_observation(v: &Json) -> Option<Observation> {
    let mut attrs = Attrs::new();
    attrs.insert(
        "billing_account_id".into(),
        Value::Str(json_str(v, "billingAccountId")?),
    );
    attrs.insert("instance_id".into(), Value::Str(json_str(v, "instanceId")?));
    connector_found(v, attrs)
}

fn workspace_observation(v: &Json) -> Option<Observation> {
    let mut attrs = Attrs::new();
    attrs.insert(
        "billing_account_id".into(),
        Value::Str(json_str(v, "billingAccountId")?),
    );
    copy_strs(v, &["name", "language", "site"], &mut attrs);
    connector_found(v, attrs)
}

/// One marketplace item to observe: what the specs want and what the state remembers.
struct Item {
    addr: Address,
    account: AccountName,
    desired: Option<Attrs>,
    recorded: Option<(CloudId, Attrs)>,
}

fn items(req: &ObserveRequest<'_>) -> BTreeMap<Address, Item> {
    let mut out: BTreeMap<Address, Item> = BTreeMap::new();
    for d in req.desired.iter().filter(|d| is_market_kind(d.addr.kind())) {
        out.insert(
            d.addr.clone(),
            Item {
                addr: d.addr.clone(),
                account: d.account.clone(),
                desired: Some(d.attrs.clone()),
                recorded: None,
            },
        );
    }
    for r in req
        .recorded
        .iter()
        .filter(|r| is_market_kind(r.addr.kind()))
    {
        let it = out.entry(r.addr.clone()).or_insert_with(|| Item {
            addr: r.addr.clone(),
            account: r.account.clone(),
            desired: None,
            recorded: None,
        });
        it.recorded = Some((r.cloud_id.clone(), r.attrs.clone()));
    }
    out
}

impl Item {
    /// Attribute `name`, desired (when not a reference) else recorded.
    fn attr(&self, name: &str) -> Option<&Value> {
        self.desired
            .as_ref()
            .and_then(|d| d.get(name))
            .filter(|v| !matches!(v, Value::Ref(_)))
            .or_else(|| self.recorded.as_ref().and_then(|(_, a)| a.get(name)))
    }
    fn str_attr(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(Value::as_str)
    }
    /// Attribute `name` as an id: a reference resolved with `ids`, a string, else recorded.
    fn id_attr(&self, name: &str, ids: &BTreeMap<Address, CloudId>) -> Option<String> {
        match self.desired.as_ref().and_then(|d| d.get(name)) {
            Some(Value::Ref(r)) => ids.get(&r.addr).map(ToString::to_string),
            Some(Value::Str(x)) => Some(x.clone()),
            _ => self
                .recorded
                .as_ref()
                .and_then(|(_, a)| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// A connector read; `None` when the connector answers 404.
async fn connector_get(
    conn: &Connector,
    path: &str,
    calls: &mut u64,
) -> Result<Option<Json>, ProviderError> {
    *calls += 1;
    match conn.call(ConnectorMethod::Get, path, None).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `items` of a connector list answer.
fn list_items(v: Option<Json>) -> Vec<Json> {
    v.and_then(|v| v.get("items").and_then(Json::as_array).cloned())
        .unwrap_or_default()
}

/// Observes `billing_account.<s>` as the Alibaba Cloud account `uid` sees it, and, for a
/// desired account, the vendor facts the checks before an order need (whether the account
/// exists, whether the spec's e-mail address is its, and the names of its workspaces when
/// the subscription binds one it has not bound yet). Reads only; no password.
///
/// An account is this subscription's when the state records it, or, found by site and
/// username, when this UID verified it or waits for the code it asked for. An account
/// another UID registered or verified is not: binding it goes through the e-mail gate for
/// this UID. `verified` collects the accounts this UID verified (the gate is passed for them).
async fn observe_billing_account(
    conn: &Connector,
    it: &Item,
    uid: &str,
    items: &BTreeMap<Address, Item>,
    verified: &mut BTreeSet<String>,
    calls: &mut u64,
) -> Result<(Observation, Option<BillingAccountFacts>), ProviderError> {
    let site = it.str_attr("site").unwrap_or_default();
    let user = it.str_attr("username").unwrap_or_default();
    let by_name = format!("billing-accounts?site={site}&username={user}&aliUid={uid}");
    // `Some(answer)` once the account was looked up by site and username.
    let mut named: Option<Option<Json>> = None;
    let found = match &it.recorded {
        Some((id, _)) => {
            connector_get(conn, &format!("billing-accounts/{id}?aliUid={uid}"), calls).await?
        }
        None => {
            let hit = list_items(connector_get(conn, &by_name, calls).await?)
                .into_iter()
                .next();
            named = Some(hit.clone());
            hit.filter(|a| flag(a, "verifiedForUid") || flag(a, "pendingForUid"))
        }
    };
    if let Some(v) = &found
        && flag(v, "verifiedForUid")
        && let Some(id) = json_str(v, "id")
    {
        verified.insert(id);
    }
    let obs = found
        .as_ref()
        .and_then(account_observation)
        .unwrap_or(Observation::Absent);
    if it.desired.is_none() {
        return Ok((obs, None));
    }
    let named = match (found, named) {
        (Some(ours), _) if matches!(obs, Observation::Found(_)) => Some(ours),
        (_, Some(n)) => n,
        (_, None) => list_items(connector_get(conn, &by_name, calls).await?)
            .into_iter()
            .next(),
    };
    let Some(account) = named else {
        return Ok((obs, Some(BillingAccountFacts::Missing)));
    };
    let email_matches = json_str(&account, "email").as_deref() == it.str_attr("email");
    // The workspace a subscription binds must exist under the account.
    let binds = Address::new(ResourceKind::SaasWorkspace, it.addr.name())
        .ok()
        .and_then(|a| items.get(&a))
        .filter(|w| w.recorded.is_none() && w.str_attr("mode") == Some("bind"));
    let workspaces = match (binds, json_str(&account, "id")) {
        (Some(_), Some(id)) => Some(
            list_items(
                connector_get(conn, &format!("workspaces?billingAccountId={id}"), calls).await?,
            )
            .iter()
            .filter_map(|w| json_str(w, "name"))
            .collect(),
        ),
        _ => None,
    };
    Ok((
        obs,
        Some(BillingAccountFacts::Exists {
            email_matches,
            workspaces,
        }),
    ))
}

impl AliProvider {
    fn connector_for(&self, action: &str) -> Result<&Connector, ProviderError> {
        self.connector.as_ref().ok_or_else(|| {
            ProviderError::from(ApiError::local(
                ProviderErrorKind::Fatal,
                action,
                "no vendor connector is configured: set FLINKFORM_CONNECTOR_URL and \
                 FLINKFORM_CONNECTOR_TOKEN, or use `billingCenter.connector: manual` (each vendor \
                 step becomes a gate)",
            ))
        })
    }

    /// Observes every marketplace item of `req` into `out`: per account one
    /// `DescribeInstances` for the orders, and connector reads for the vendor resources.
    pub(crate) async fn observe_market(
        &self,
        req: &ObserveRequest<'_>,
        out: &mut Observed,
    ) -> Result<(), ProviderError> {
        let items = items(req);
        if items.is_empty() {
            return Ok(());
        }
        // Orders, per account.
        let mut codes: BTreeMap<AccountName, BTreeSet<String>> = BTreeMap::new();
        for it in items
            .values()
            .filter(|i| i.addr.kind() == ResourceKind::MarketOrder)
        {
            if let Some(c) = it.str_attr("product_code") {
                codes
                    .entry(it.account.clone())
                    .or_default()
                    .insert(c.to_owned());
            }
        }
        let mut ids: BTreeMap<Address, CloudId> = BTreeMap::new();
        for (account, codes) in &codes {
            let client = self.client(account)?;
            let region = self.home_region(account);
            let list = list_instances(client, &region, codes).await?;
            out.api_calls += 1;
            for it in items
                .values()
                .filter(|i| i.addr.kind() == ResourceKind::MarketOrder && &i.account == account)
            {
                let code = it.str_attr("product_code").unwrap_or_default();
                let hit = match &it.recorded {
                    Some((id, _)) => list
                        .iter()
                        .find(|x| json_str(x, "InstanceId").as_deref() == Some(id.as_str())),
                    None => list.iter().find(|x| {
                        json_str(x, "ProductCode").as_deref() == Some(code)
                            && open(&json_str(x, "Status").unwrap_or_default())
                    }),
                };
                let obs = hit.map_or(Observation::Absent, order_observation);
                if let Observation::Found(o) = &obs {
                    ids.insert(it.addr.clone(), o.cloud_id.clone());
                }
                out.resources.insert(it.addr.clone(), obs);
            }
        }
        let vendor_items: Vec<&Item> = items
            .values()
            .filter(|i| i.addr.kind() != ResourceKind::MarketOrder)
            .collect();
        if vendor_items.is_empty() {
            return Ok(());
        }
        let Some(conn) = self.connector.as_ref() else {
            for it in vendor_items {
                out.resources.insert(it.addr.clone(), Observation::Unknown);
            }
            return Ok(());
        };
        // Verification is per Alibaba Cloud account: the vendor answers for the asking UID.
        let mut uids: BTreeMap<AccountName, AccountUid> = BTreeMap::new();
        for it in &vendor_items {
            if uids.contains_key(&it.account) {
                continue;
            }
            let uid = match out.accounts.get(&it.account).and_then(|f| f.uid.clone()) {
                Some(uid) => uid,
                None => {
                    out.api_calls += 1;
                    crate::provider::caller_uid(self.client(&it.account)?).await?
                }
            };
            uids.insert(it.account.clone(), uid);
        }
        // In dependency order: accounts, then gates, bindings, workspaces.
        let mut verified: BTreeSet<String> = BTreeSet::new();
        for kind in [
            ResourceKind::BillingAccount,
            ResourceKind::Gate,
            ResourceKind::SettlementBinding,
            ResourceKind::SaasWorkspace,
        ] {
            for it in vendor_items.iter().filter(|i| i.addr.kind() == kind) {
                let obs = if kind == ResourceKind::BillingAccount {
                    let uid = uids.get(&it.account).map_or("", AccountUid::as_str);
                    let (obs, facts) = observe_billing_account(
                        conn,
                        it,
                        uid,
                        &items,
                        &mut verified,
                        &mut out.api_calls,
                    )
                    .await?;
                    if let Some(f) = facts {
                        out.billing_accounts.insert(it.addr.clone(), f);
                    }
                    obs
                } else {
                    self.observe_vendor_item(conn, it, &ids, &verified, &mut out.api_calls)
                        .await?
                };
                if let Observation::Found(o) = &obs {
                    ids.insert(it.addr.clone(), o.cloud_id.clone());
                }
                out.resources.insert(it.addr.clone(), obs);
            }
        }
        Ok(())
    }

    async fn observe_vendor_item(
        &self,
        conn: &Connector,
        it: &Item,
        ids: &BTreeMap<Address, CloudId>,
        verified: &BTreeSet<String>,
        calls: &mut u64,
    ) -> Result<Observation, ProviderError> {
        let get = |path: String| async move {
            match conn.call(ConnectorMethod::Get, &path, None).await {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        };
        *calls += 1;
        Ok(match it.addr.kind() {
            ResourceKind::Gate => {
                if it.str_attr("step") != Some("verify-email") {
                    // A manual step: only the person knows; the state is trusted.
                    return Ok(Observation::Unknown);
                }
                match it.id_attr("target", ids) {
                    Some(account) if verified.contains(&account) => {
                        let mut attrs = Attrs::new();
                        attrs.insert("target".into(), Value::Str(account.clone()));
                        Observation::Found(ObservedResource {
                            cloud_id: cloud_id(&format!("verified-{account}"), "observe")?,
                            attrs,
                            readiness: Readiness::Ready,
                            owner: Owner::NotMarkable,
                        })
                    }
                    _ => Observation::Absent,
                }
            }
            ResourceKind::SettlementBinding => {
                let found = match &it.recorded {
                    Some((id, _)) => get(format!("settlement-bindings/{id}")).await?,
                    None => match (
                        it.id_attr("billing_account_id", ids),
                        it.id_attr("instance_id", ids),
                    ) {
                        (Some(acct), Some(inst)) => {
                            get(format!("settlement-bindings?billingAccountId={acct}"))
                                .await?
                                .and_then(|v| v.get("items").and_then(Json::as_array).cloned())
                                .and_then(|items| {
                                    items.into_iter().find(|b| {
                                        json_str(b, "instanceId").as_deref() == Some(&inst)
                                    })
                                })
                        }
                        _ => None,
                    },
                };
                found
                    .as_ref()
                    .and_then(binding_observation)
                    .unwrap_or(Observation::Absent)
            }
            ResourceKind::SaasWorkspace => {
                let found = match &it.recorded {
                    Some((id, _)) => get(format!("workspaces/{id}")).await?,
                    None => match it.id_attr("billing_account_id", ids) {
                        Some(acct) => {
                            let name = it.str_attr("name").unwrap_or_default().to_owned();
                            get(format!("workspaces?billingAccountId={acct}"))
                                .await?
                                .and_then(|v| v.get("items").and_then(Json::as_array).cloned())
                                .and_then(|items| {
                                    items.into_iter().find(|w| {
                                        json_str(w, "name").as_deref() == Some(&name)
                                            && w.get("bound").and_then(Json::as_bool) == Some(true)
                                    })
                                })
                        }
                        None => None,
                    },
                };
                found
                    .as_ref()
                    .and_then(workspace_observation)
                    .unwrap_or(Observation::Absent)
            }
            _ => Observation::Unknown,
        })
    }

    /// Reads one marketplace resource (polling).
    pub(crate) async fn read_market(
        &self,
        addr: &Address,
        account: &AccountName,
        id: &CloudId,
    ) -> Result<Observation, ProviderError> {
        match addr.kind() {
            ResourceKind::MarketOrder => {
                let client = self.client(account)?;
                let region = self.home_region(account);
                let list = list_instances(client, &region, &BTreeSet::new()).await?;
                Ok(list
                    .iter()
                    .find(|x| json_str(x, "InstanceId").as_deref() == Some(id.as_str()))
                    .map_or(Observation::Absent, order_observation))
            }
            ResourceKind::Gate => Ok(Observation::Unknown),
            kind => {
                let conn = self.connector_for("read")?;
                let path = match kind {
                    ResourceKind::BillingAccount => format!("billing-accounts/{id}"),
                    ResourceKind::SettlementBinding => format!("settlement-bindings/{id}"),
                    _ => format!("workspaces/{id}"),
                };
                let v = match conn.call(ConnectorMethod::Get, &path, None).await {
                    Ok(v) => v,
                    Err(e) if e.kind == ProviderErrorKind::NotFound => {
                        return Ok(Observation::Absent);
                    }
                    Err(e) => return Err(e),
                };
                let obs = match kind {
                    ResourceKind::BillingAccount => account_observation(&v),
                    ResourceKind::SettlementBinding => binding_observation(&v),
                    _ => workspace_observation(&v),
                };
                Ok(obs.unwrap_or(Observation::Absent))
            }
        }
    }

    async fn create_order(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let a = &req.attrs;
        let action = "CreateOrder";
        let code = need(a, "product_code", action)?;
        let sku = need(a, "sku_code", action)?;
        let package = need(a, "package_version", action)?;
        let cycle = need(a, "pricing_cycle", action)?;
        let duration = a.get("duration").and_then(Value::as_int).unwrap_or(1);
        let client = self.client(&req.account)?;
        let region = self.home_region(&req.account);
        let codes: BTreeSet<String> = [code.to_owned()].into();
        let list = list_instances(client, &region, &codes).await?;
        if let Some(open_item) = list.iter().find(|x| {
            json_str(x, "ProductCode").as_deref() == Some(code)
                && open(&json_str(x, "Status").unwrap_or_default())
        }) && let Observation::Found(o) = order_observation(open_item)
        {
            // The account has an instance of the product already (an earlier order whose
            // answer was lost, or one bought in the console): no second order.
            return Ok(Outcome {
                cloud_id: o.cloud_id,
                attrs: o.attrs,
                done: o.readiness == Readiness::Ready,
            });
        }
        let ended = list
            .iter()
            .filter(|x| json_str(x, "ProductCode").as_deref() == Some(code))
            .count();
        let mut h = Sha256::new();
        h.update(format!("{}:{ended}", req.client_token).as_bytes());
        let mut token = format!("ff-{}", hex::encode(h.finalize()));
        token.truncate(64);
        let commodity = json!({
            "components": { "package_version": package },
            "couponId": "",
            "duration": duration,
            "pricingCycle": cycle,
            "productCode": code,
            "quantity": 1,
            "skuCode": sku,
        });
        let resp = client
            .rpc(
                Product::Market,
                Some(&region),
                action,
                vec![
                    ("ClientToken".to_owned(), token),
                    ("Commodity".to_owned(), commodity.to_string()),
                    ("OrderType".to_owned(), "INSTANCE_BUY".to_owned()),
                    ("PaymentType".to_owned(), "AUTO".to_owned()),
                ],
                RpcMethod::Post,
            )
            .await?;
        let instance = resp
            .pointer("/InstanceIds/InstanceId/0")
            .and_then(|v| match v {
                Json::String(s) => Some(s.clone()),
                Json::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| invalid(action, "the answer names no instance"))?;
        let mut attrs = a.clone();
        if let Some(order) = json_str(&resp, "OrderId") {
            attrs.insert("order_id".into(), Value::Str(order));
        }
        Ok(Outcome {
            cloud_id: cloud_id(&instance, action)?,
            attrs,
            // Poll until the vendor has provisioned it (OPENED).
            done: false,
        })
    }

    /// Creates a marketplace resource (orders, connector steps, gates).
    pub(crate) async fn create_market(
        &self,
        req: &ChangeRequest,
    ) -> Result<Outcome, ProviderError> {
        let a = &req.attrs;
        if req.addr.kind() == ResourceKind::MarketOrder {
            return self.create_order(req).await;
        }
        if req.addr.kind() == ResourceKind::Gate {
            return self.pass_gate(req).await;
        }
        let conn = self.connector_for("create")?;
        // Every vendor step names the Alibaba Cloud account it is for: the vendor verifies
        // a Billing Center account per UID.
        let uid = crate::provider::caller_uid(self.client(&req.account)?).await?;
        let uid = uid.as_str();
        let (path, body) = match req.addr.kind() {
            ResourceKind::BillingAccount => {
                let site = need(a, "site", "register")?;
                let username = need(a, "username", "register")?;
                let email = need(a, "email", "register")?;
                if s(a, "mode") == Some("bind") {
                    (
                        "billing-accounts/bind".to_owned(),
                        json!({
                            "site": site, "username": username, "email": email, "aliUid": uid,
                        }),
                    )
                } else {
                    let reference = need(a, "password", "register")?;
                    let password = resolve_secret(reference, "connector POST billing-accounts")?;
                    (
                        "billing-accounts".to_owned(),
                        json!({
                            "site": site, "username": username, "email": email,
                            "password": password,
                            "company": { "name": s(a, "company").unwrap_or_default() },
                            "aliUid": uid,
                        }),
                    )
                }
            }
            ResourceKind::SettlementBinding => (
                "settlement-bindings".to_owned(),
                json!({
                    "billingAccountId": need(a, "billing_account_id", "bind settlement")?,
                    "aliUid": uid,
                    "instanceId": need(a, "instance_id", "bind settlement")?,
                }),
            ),
            _ => {
                let account = need(a, "billing_account_id", "workspace")?;
                let name = need(a, "name", "workspace")?;
                if s(a, "mode") == Some("bind") {
                    (
                        "workspaces/bind".to_owned(),
                        json!({ "billingAccountId": account, "name": name, "aliUid": uid }),
                    )
                } else {
                    (
                        "workspaces".to_owned(),
                        json!({
                            "billingAccountId": account, "name": name,
                            "language": need(a, "language", "workspace")?,
                            "site": need(a, "site", "workspace")?,
                            "aliUid": uid,
                        }),
                    )
                }
            }
        };
        let v = conn.call(ConnectorMethod::Post, &path, Some(&body)).await?;
        let id =
            json_str(&v, "id").ok_or_else(|| invalid("create", "the connector answered no id"))?;
        let mut attrs = a.clone();
        if req.addr.kind() == ResourceKind::SaasWorkspace && s(a, "mode") == Some("bind") {
            // A bound workspace keeps its language: record what the vendor has.
            if let Some(l) = json_str(&v, "language") {
                attrs.insert("language".into(), Value::Str(l));
            }
        }
        Ok(Outcome {
            cloud_id: cloud_id(&id, "create")?,
            attrs,
            done: true,
        })
    }

    async fn pass_gate(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let a = &req.attrs;
        let input = s(a, "input").unwrap_or_default().trim();
        match s(a, "step") {
            Some("verify-email") => {
                let conn = self.connector_for("verify")?;
                let account = need(a, "target", "verify")?;
                // The code verifies the account for this Alibaba Cloud account only.
                let uid = crate::provider::caller_uid(self.client(&req.account)?).await?;
                conn.call(
                    ConnectorMethod::Post,
                    &format!("billing-accounts/{account}/verify"),
                    Some(&json!({ "code": input, "aliUid": uid.as_str() })),
                )
                .await?;
                let mut attrs = a.clone();
                attrs.remove("input");
                Ok(Outcome {
                    cloud_id: cloud_id(&format!("verified-{account}"), "verify")?,
                    attrs,
                    done: true,
                })
            }
            _ => {
                if !input.eq_ignore_ascii_case("done") {
                    return Err(invalid(
                        "confirm",
                        format!(
                            "a manual step is confirmed with `--input {}=done` once it is done",
                            req.addr.name()
                        ),
                    ));
                }
                let mut attrs = a.clone();
                attrs.remove("input");
                Ok(Outcome {
                    cloud_id: cloud_id("confirmed", "confirm")?,
                    attrs,
                    done: true,
                })
            }
        }
    }

    /// Updates a vendor workspace's name or language in place.
    pub(crate) async fn update_market(
        &self,
        req: &ChangeRequest,
    ) -> Result<Outcome, ProviderError> {
        let conn = self.connector_for("update")?;
        let prior = req
            .prior
            .as_ref()
            .ok_or_else(|| invalid("update", "an update needs the recorded resource"))?;
        let mut body = serde_json::Map::new();
        for name in &req.changed {
            if let Some(v) = s(&req.attrs, name) {
                body.insert(name.clone(), Json::String(v.to_owned()));
            }
        }
        conn.call(
            ConnectorMethod::Patch,
            &format!("workspaces/{}", prior.cloud_id),
            Some(&Json::Object(body)),
        )
        .await?;
        Ok(Outcome {
            cloud_id: prior.cloud_id.clone(),
            attrs: req.attrs.clone(),
            done: true,
        })
    }

    /// Deletes what can be undone: a settlement binding is released, a created workspace
    /// deleted, a bound one unbound. Orders and Billing Center accounts are never deleted
    /// (the planner keeps them); a gate has nothing to delete.
    pub(crate) async fn delete_market(
        &self,
        req: &DeleteRequest,
    ) -> Result<Outcome, ProviderError> {
        let prior = &req.prior;
        let gone = Outcome {
            cloud_id: prior.cloud_id.clone(),
            attrs: prior.attrs.clone(),
            done: true,
        };
        let path = match prior.addr.kind() {
            ResourceKind::SettlementBinding => format!("settlement-bindings/{}", prior.cloud_id),
            ResourceKind::SaasWorkspace if s(&prior.attrs, "mode") == Some("bind") => {
                format!("workspaces/{}?unbind=true", prior.cloud_id)
            }
            ResourceKind::SaasWorkspace => format!("workspaces/{}", prior.cloud_id),
            _ => return Ok(gone),
        };
        let conn = self.connector_for("delete")?;
        match conn.call(ConnectorMethod::Delete, &path, None).await {
            Ok(_) => Ok(gone),
            Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(gone),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readiness(item: &Json) -> Option<Readiness> {
        match order_observation(item) {
            Observation::Found(o) => Some(o.readiness),
            _ => None,
        }
    }

    #[test]
    fn money_fails_closed_on_an_order_it_cannot_read() {
        let item =
            |status: &str| json!({"InstanceId": "5604018", "OrderId": "2021", "Status": status});
        assert_eq!(readiness(&item("OPENED")), Some(Readiness::Ready));
        assert_eq!(readiness(&item("OPENING")), Some(Readiness::Pending));
        // Ended: gone, so a new order may be placed.
        assert_eq!(order_observation(&item("EXPIRED")), Observation::Absent);
        // A status flinkform does not know, or no InstanceId: never "absent".
        assert!(matches!(
            readiness(&item("SUSPENDED_BY_RISK")),
            Some(Readiness::Unknown(why)) if why.contains("SUSPENDED_BY_RISK")
        ));
        let no_id = json!({"OrderId": "2021", "Status": "OPENED"});
        assert!(matches!(readiness(&no_id), Some(Readiness::Unknown(_))));
    }
}
