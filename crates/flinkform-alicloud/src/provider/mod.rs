//! [`AliProvider`]: the `flinkform_core::Provider` for Alibaba Cloud (and, through an
//! endpoint override, for the bundled emulator). It maps catalog attributes onto API
//! parameters and API answers back onto catalog attributes.
//!
//! Cloud ids: a workspace's is its instance id (`f-…`), a VPC's `vpc-…`, a vSwitch's
//! `vsw-…`, a bucket's and a RAM role's their names, OSS activation's `oss`, an account
//! balance check's the account name, and **a project's `<instanceId>/<namespace>`** (so that
//! [`Provider::read`] can find it: namespaces are only addressable within their instance).
//!
//! `observe` is batched: per account and region one paged `DescribeInstances`,
//! `DescribeVpcs` and `DescribeVSwitches`; per account one `ListBuckets`, one
//! `GetRole` + `ListPoliciesForRole`, one `QueryAvailableInstances` (auto-renewal of
//! subscriptions); per workspace with projects one `DescribeNamespaces`; and per requested
//! account its facts (`GetCallerIdentity`, `QueryAccountBalance`,
//! `DescribeSupportedRegions`, `DescribeSupportedZones` per requested region).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use flinkform_core::{
    AccountFacts, AccountName, AccountUid, Address, Attrs, Balance, ChangeRequest, CloudId,
    DeleteRequest, Mode, Observation, ObserveRequest, Observed, ObservedResource, Outcome,
    Provider, ProviderError, ProviderErrorKind, Readiness, Region, ResourceKind, Value, ZoneId,
};
use serde_json::{Value as Json, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{ApiError, Client, ClientOptions, OssMethod, RpcMethod};
use crate::credentials::Credentials;
use crate::endpoint::{Endpoints, Product, is_china_site_region};
use crate::error::Result;
use crate::rm;
use crate::tags;
use crate::wire;

/// The RAM role fully managed Flink assumes.
pub const ROLE_NAME: &str = "AliyunStreamAsiDefaultRole";
/// The trust policy flinkform gives [`ROLE_NAME`] (cloud-api.md §4, ram).
pub const ROLE_TRUST_POLICY: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;
/// The BSS product code of fully managed Flink.
pub const BSS_PRODUCT_CODE: &str = "sc";
/// Region used for calls that need one when nothing else names it (the international
/// site's BSS host and the emulator's default region).
pub const DEFAULT_REGION: &str = "ap-southeast-1";
/// How many reads `observe` runs at once.
const OBSERVE_CONCURRENCY: usize = 8;

type Params = Vec<(String, String)>;

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn invalid(action: &str, message: impl Into<String>) -> ProviderError {
    ApiError::local(ProviderErrorKind::InvalidParameter, action, message).into()
}

fn attr_str<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

fn need_str<'a>(attrs: &'a Attrs, name: &str, action: &str) -> Result<&'a str, ProviderError> {
    attr_str(attrs, name).ok_or_else(|| {
        invalid(
            action,
            format!("attribute `{name}` is missing or not a resolved string"),
        )
    })
}

fn attr_int(attrs: &Attrs, name: &str) -> Option<i64> {
    attrs.get(name).and_then(Value::as_int)
}

fn attr_strings(attrs: &Attrs, name: &str) -> Vec<String> {
    attrs
        .get(name)
        .and_then(Value::as_list)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn resource_spec(cu: i64) -> String {
    json!({"Cpu": cu, "MemoryGB": 4 * cu}).to_string()
}

/// Runs `futs` with at most `limit` at once; results in input order.
async fn bounded<T, F>(futs: Vec<F>, limit: usize) -> Result<Vec<T>, ProviderError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let sem = Arc::new(Semaphore::new(limit.max(1)));
    let mut set = JoinSet::new();
    let n = futs.len();
    for (i, f) in futs.into_iter().enumerate() {
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.ok();
            (i, f.await)
        });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(x) => out.push(x),
            Err(e) => {
                return Err(ApiError::local(
                    ProviderErrorKind::Fatal,
                    "observe",
                    format!("read task failed: {e}"),
                )
                .into());
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// Pages through a list action. `page_key`/`size_key` name the paging parameters;
/// `list_path` and `total_path` locate the items and the total in each answer.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn paged(
    client: &Client,
    product: Product,
    region: Option<&Region>,
    action: &str,
    base: Params,
    method: RpcMethod,
    (page_key, size_key, size): (&str, &str, usize),
    list_path: &[&str],
    total_path: &[&str],
) -> Result<Vec<Json>, ApiError> {
    let mut all = Vec::new();
    for page in 1..=10_000u32 {
        let mut p = base.clone();
        p.push((page_key.to_owned(), page.to_string()));
        p.push((size_key.to_owned(), size.to_string()));
        let resp = client.rpc_read(product, region, action, p, method).await?;
        let items = wire::list_at(&resp, list_path).to_vec();
        let got = items.len();
        all.extend(items);
        let total = wire::int_at(&resp, total_path).and_then(|t| usize::try_from(t).ok());
        let more = match total {
            Some(t) => all.len() < t && got > 0,
            None => got >= size,
        };
        if !more {
            break;
        }
    }
    Ok(all)
}

async fn list_instances(
    client: Client,
    region: Region,
    name: Option<String>,
) -> Result<Vec<Json>, ApiError> {
    let mut base = params(&[("Region", region.as_str())]);
    if let Some(n) = name {
        base.push(("InstanceName".to_owned(), n));
    }
    paged(
        &client,
        Product::Foasconsole,
        Some(&region),
        "DescribeInstances",
        base,
        RpcMethod::Get,
        ("PageIndex", "PageSize", 100),
        &["Instances"],
        &["TotalCount"],
    )
    .await
}

async fn list_vpcs(
    client: Client,
    region: Region,
    vpc_id: Option<String>,
) -> Result<Vec<Json>, ApiError> {
    let mut base = params(&[("RegionId", region.as_str())]);
    if let Some(id) = vpc_id {
        base.push(("VpcId".to_owned(), id));
    }
    paged(
        &client,
        Product::Vpc,
        Some(&region),
        "DescribeVpcs",
        base,
        RpcMethod::Post,
        ("PageNumber", "PageSize", 50),
        &["Vpcs", "Vpc"],
        &["TotalCount"],
    )
    .await
}

async fn list_vswitches(
    client: Client,
    region: Region,
    vsw_id: Option<String>,
) -> Result<Vec<Json>, ApiError> {
    let mut base = params(&[("RegionId", region.as_str())]);
    if let Some(id) = vsw_id {
        base.push(("VSwitchId".to_owned(), id));
    }
    paged(
        &client,
        Product::Vpc,
        Some(&region),
        "DescribeVSwitches",
        base,
        RpcMethod::Post,
        ("PageNumber", "PageSize", 50),
        &["VSwitches", "VSwitch"],
        &["TotalCount"],
    )
    .await
}

/// Namespaces of an instance; `None` when the instance does not exist.
async fn list_namespaces(
    client: Client,
    region: Region,
    instance_id: String,
    namespace: Option<String>,
) -> Result<Option<Vec<Json>>, ApiError> {
    let mut base = params(&[("InstanceId", &instance_id), ("Region", region.as_str())]);
    if let Some(ns) = namespace {
        base.push(("Namespace".to_owned(), ns));
    }
    let res = paged(
        &client,
        Product::Foasconsole,
        Some(&region),
        "DescribeNamespaces",
        base,
        RpcMethod::Get,
        ("PageIndex", "PageSize", 100),
        &["Namespaces"],
        &["TotalCount"],
    )
    .await;
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every bucket of the account with its region (from `ListBuckets`, paged by marker).
async fn list_buckets(
    client: Client,
    region: Region,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..1000 {
        let mut query = params(&[("max-keys", "1000")]);
        if let Some(m) = &marker {
            query.push(("marker".to_owned(), m.clone()));
        }
        let (_, text) = client.oss_read(&region, None, None, &query).await?;
        let list: wire::BucketList = quick_xml::de::from_str(&text).map_err(|e| {
            ApiError::local(
                ProviderErrorKind::Fatal,
                "ListBuckets",
                format!("unreadable answer: {e}"),
            )
        })?;
        let last = list.buckets.bucket.last().map(|b| b.name.clone());
        out.extend(
            list.buckets
                .bucket
                .iter()
                .map(|b| (b.name.clone(), b.region())),
        );
        let truncated = list.is_truncated.as_deref() == Some("true");
        marker = list.next_marker.filter(|m| !m.is_empty()).or(last);
        if !truncated || marker.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The role's policies, or `None` when the role does not exist.
async fn read_role(client: Client, role_name: String) -> Result<Option<Vec<String>>, ApiError> {
    match client
        .rpc_read(
            Product::Ram,
            None,
            "GetRole",
            params(&[("RoleName", &role_name)]),
            RpcMethod::Post,
        )
        .await
    {
        Ok(_) => {}
        Err(e) if e.kind == ProviderErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let resp = client
        .rpc_read(
            Product::Ram,
            None,
            "ListPoliciesForRole",
            params(&[("RoleName", &role_name)]),
            RpcMethod::Post,
        )
        .await?;
    Ok(Some(wire::role_policies(&resp)))
}

/// `(available amount as sent, currency, cents)`.
async fn query_balance(
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

pub(crate) async fn caller_uid(client: &Client) -> Result<AccountUid, ApiError> {
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
async fn account_facts(
    client: Client,
    regions: BTreeSet<Region>,
    bss_region: Region,
    fallback: Region,
) -> Result<(AccountFacts, String), ApiError> {
    let uid = caller_uid(&client).await?;
    let (amount, currency, cents) = query_balance(&client, &bss_region).await?;
    let home = regions.iter().next().cloned().unwrap_or(fallback);
    let resp = client
        .rpc_read(
            Product::Foasconsole,
            Some(&home),
            "DescribeSupportedRegions",
            Vec::new(),
            RpcMethod::Get,
        )
        .await?;
    let flink_regions: BTreeSet<Region> = wire::list_at(&resp, &["Regions"])
        .iter()
        .filter_map(|r| wire::string_at(r, &["Region"]))
        .filter_map(|r| Region::new(r).ok())
        .collect();
    let mut flink_zones = BTreeMap::new();
    for region in regions.iter().filter(|r| flink_regions.contains(*r)) {
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
        flink_zones.insert(region.clone(), zones);
    }
    let facts = AccountFacts {
        uid: Some(uid),
        flink_regions,
        flink_zones,
        balance: Some(Balance { cents, currency }),
        resource_groups: None,
    };
    Ok((facts, amount))
}

/// Instance id → BSS `RenewStatus` for the account's Flink subscriptions.
async fn renew_statuses(
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
    let list = paged(
        &client,
        Product::Bss,
        Some(&bss_region),
        "QueryAvailableInstances",
        base,
        RpcMethod::Post,
        ("PageNum", "PageSize", 300),
        &["Data", "InstanceList"],
        &["Data", "TotalCount"],
    )
    .await?;
    Ok(list
        .iter()
        .filter_map(|i| {
            Some((
                wire::string_at(i, &["InstanceID"])?,
                wire::string_at(i, &["RenewStatus"])?,
            ))
        })
        .collect())
}

/// What refresh read of one bucket: its tags, and its object count where a deletion may
/// be planned.
type BucketSeen = (BTreeMap<String, String>, Option<i64>);

/// One requested resource, merged from its desired and recorded forms.
#[derive(Debug, Clone)]
struct Item {
    addr: Address,
    mode: Mode,
    account: AccountName,
    region: Option<Region>,
    cloud_id: Option<CloudId>,
    attrs: Attrs,
}

impl Item {
    fn name(&self) -> Option<&str> {
        attr_str(&self.attrs, "name")
    }

    /// The id to look for: recorded, else (data sources) the spec's `id`.
    fn known_id(&self) -> Option<String> {
        self.cloud_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .or_else(|| attr_str(&self.attrs, "id").map(str::to_owned))
    }

    /// For projects: (workspace name, project name) from the address `<ws>/<project>`.
    fn project_names(&self) -> (String, String) {
        let (ws, p) = self
            .addr
            .name()
            .split_once('/')
            .unwrap_or((self.addr.name(), ""));
        (
            ws.to_owned(),
            self.name().map_or_else(|| p.to_owned(), str::to_owned),
        )
    }
}

fn merge_items(req: &ObserveRequest) -> BTreeMap<Address, Item> {
    let mut items: BTreeMap<Address, Item> = BTreeMap::new();
    for d in &req.desired {
        items.insert(
            d.addr.clone(),
            Item {
                addr: d.addr.clone(),
                mode: d.mode,
                account: d.account.clone(),
                region: d.region.clone(),
                cloud_id: None,
                attrs: d.attrs.clone(),
            },
        );
    }
    for r in &req.recorded {
        let item = items.entry(r.addr.clone()).or_insert_with(|| Item {
            addr: r.addr.clone(),
            mode: r.mode,
            account: r.account.clone(),
            region: r.region.clone(),
            cloud_id: None,
            attrs: r.attrs.clone(),
        });
        // The recorded resource is what exists: find it where the state says it is.
        item.account = r.account.clone();
        item.region = r.region.clone().or_else(|| item.region.clone());
        item.cloud_id = Some(r.cloud_id.clone());
    }
    items
}

/// The Alibaba Cloud provider: one [`Client`] per account.
#[derive(Debug, Clone)]
pub struct AliProvider {
    clients: BTreeMap<AccountName, Client>,
    /// [`DEFAULT_REGION`], parsed once.
    default_region: Region,
    /// Account → the region whose BSS host serves it (its site), learnt by `observe` and
    /// used by later account-level reads.
    bss_regions: Arc<std::sync::Mutex<BTreeMap<AccountName, Region>>>,
    /// The vendor's Billing Center connector, when one is configured.
    pub(crate) connector: Option<crate::connector::Connector>,
}

impl AliProvider {
    /// A provider for `accounts`, talking to `endpoints` (`Endpoints::Override(url)` for
    /// the emulator).
    ///
    /// # Errors
    /// When the endpoint override is not a URL or an HTTP client cannot be built.
    pub fn new(
        endpoints: Endpoints,
        accounts: BTreeMap<AccountName, Credentials>,
        options: ClientOptions,
    ) -> Result<Self> {
        let clients = accounts
            .into_iter()
            .map(|(name, creds)| {
                Ok((
                    name,
                    Client::new(endpoints.clone(), creds, options.clone())?,
                ))
            })
            .collect::<Result<_>>()?;
        let default_region =
            Region::new(DEFAULT_REGION).map_err(|e| crate::error::Error::BadEndpoint {
                url: DEFAULT_REGION.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self {
            clients,
            default_region,
            bss_regions: Arc::default(),
            connector: None,
        })
    }

    /// The same provider with a vendor connector (`specs/connector.md`) for the Billing
    /// Center steps of Marketplace subscriptions.
    #[must_use]
    pub fn with_connector(mut self, connector: crate::connector::Connector) -> Self {
        self.connector = Some(connector);
        self
    }

    /// The region whose site serves `account` (learnt by `observe`), else the default one.
    pub(crate) fn home_region(&self, account: &AccountName) -> Region {
        self.bss_regions
            .lock()
            .ok()
            .and_then(|m| m.get(account).cloned())
            .unwrap_or_else(|| self.default_region.clone())
    }

    /// The client of `account`.
    ///
    /// # Errors
    /// `Auth` when the provider has no credentials for it.
    pub fn client(&self, account: &AccountName) -> Result<&Client, ProviderError> {
        self.clients.get(account).ok_or_else(|| ProviderError {
            kind: ProviderErrorKind::Auth,
            action: "credentials".to_owned(),
            code: None,
            message: format!("no credentials configured for account `{account}`"),
            request_id: None,
        })
    }

    /// API calls made by all clients so far.
    #[must_use]
    pub fn api_calls(&self) -> u64 {
        self.clients.values().map(Client::api_calls).sum()
    }

    /// One VPC-product create (`CreateVpc`, `CreateVSwitch`): the new id is `id_field` of the
    /// answer, and the resource is `Pending` until the executor's polling sees it `Available`.
    async fn create_pending(
        client: &Client,
        region: &Region,
        action: &str,
        params: Params,
        id_field: &str,
        attrs: &Attrs,
    ) -> Result<Outcome, ProviderError> {
        let resp = client
            .rpc(Product::Vpc, Some(region), action, params, RpcMethod::Post)
            .await?;
        let id = wire::string_at(&resp, &[id_field]).ok_or_else(|| {
            ApiError::local(
                ProviderErrorKind::Fatal,
                action,
                format!("answer has no {id_field}"),
            )
        })?;
        let cloud_id = CloudId::new(id).map_err(|e| invalid(action, e.to_string()))?;
        Ok(Outcome {
            cloud_id,
            attrs: attrs.clone(),
            done: false,
        })
    }

    fn region_of<'a>(
        req_region: Option<&'a Region>,
        action: &str,
    ) -> Result<&'a Region, ProviderError> {
        req_region.ok_or_else(|| invalid(action, "the resource has no region"))
    }

    /// The instance named `name` in `region`, as an observation.
    async fn find_workspace(
        client: &Client,
        region: &Region,
        name: &str,
    ) -> Result<Option<ObservedResource>, ProviderError> {
        let list = list_instances(client.clone(), region.clone(), Some(name.to_owned())).await?;
        Ok(list
            .iter()
            .filter(|i| wire::string_at(i, &["InstanceName"]).as_deref() == Some(name))
            .filter_map(|i| wire::workspace(i, &BTreeMap::new()))
            .find(|o| o.readiness != Readiness::Deleting))
    }

    fn adopted(cloud_id: CloudId, desired: &Attrs, seen: &Attrs, ready: bool) -> Outcome {
        let mut attrs = desired.clone();
        for (k, v) in seen {
            attrs.insert(k.clone(), v.clone());
        }
        Outcome {
            cloud_id,
            attrs,
            done: ready,
        }
    }

    async fn create_workspace(
        &self,
        req: &ChangeRequest,
        client: &Client,
    ) -> Result<Outcome, ProviderError> {
        const A: &str = "CreateInstance";
        let a = &req.attrs;
        let name = need_str(a, "name", A)?;
        let region = match req.region.as_ref() {
            Some(r) => r.clone(),
            None => {
                Region::new(need_str(a, "region", A)?).map_err(|e| invalid(A, e.to_string()))?
            }
        };
        if let Some(found) = Self::find_workspace(client, &region, name).await? {
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
            return Ok(Self::adopted(found.cloud_id, a, &found.attrs, ready));
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
            let cu = attr_int(a, "cu")
                .ok_or_else(|| invalid(A, "a subscription needs attribute `cu`"))?;
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
                match Self::find_workspace(client, &region, name).await {
                    Ok(Some(found)) if tags::same_mark(&found.attrs, a) => {
                        let ready = found.readiness == Readiness::Ready;
                        Ok(Self::adopted(found.cloud_id, a, &found.attrs, ready))
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
    async fn default_project_missing(
        client: &Client,
        region: &Region,
        instance: &str,
        name: &str,
    ) -> Result<bool, ProviderError> {
        let list = paged(
            client,
            Product::Foasconsole,
            Some(region),
            "DescribeInstances",
            params(&[("Region", region.as_str()), ("InstanceId", instance)]),
            RpcMethod::Get,
            ("PageIndex", "PageSize", 100),
            &["Instances"],
            &["TotalCount"],
        )
        .await?;
        let running = list.iter().any(|i| {
            wire::string_at(i, &["InstanceId"]).as_deref() == Some(instance)
                && wire::string_at(i, &["ClusterStatus"]).as_deref() == Some("RUNNING")
        });
        if !running {
            return Ok(false);
        }
        let namespaces = list_namespaces(
            client.clone(),
            region.clone(),
            instance.to_owned(),
            Some(name.to_owned()),
        )
        .await?
        .unwrap_or_default();
        Ok(!namespaces
            .iter()
            .any(|n| wire::string_at(n, &["Namespace"]).as_deref() == Some(name)))
    }

    async fn create_role(
        &self,
        req: &ChangeRequest,
        client: &Client,
    ) -> Result<Outcome, ProviderError> {
        // CreateRole only: the plan attaches its policies in actions of their own (one
        // mutating call per action).
        let role_name = attr_str(&req.attrs, "role_name").unwrap_or(ROLE_NAME);
        let existing = read_role(client.clone(), role_name.to_owned()).await?;
        let attached: Vec<String> = match existing {
            Some(p) => p,
            None => {
                let p = params(&[
                    ("RoleName", role_name),
                    ("AssumeRolePolicyDocument", ROLE_TRUST_POLICY),
                    (
                        "Description",
                        "Role assumed by fully managed Flink (created by flinkform)",
                    ),
                ]);
                match client
                    .rpc(Product::Ram, None, "CreateRole", p, RpcMethod::Post)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.kind == ProviderErrorKind::Conflict => {}
                    Err(e) => return Err(e.into()),
                }
                Vec::new()
            }
        };
        let cloud_id = CloudId::new(role_name).map_err(|e| invalid("CreateRole", e.to_string()))?;
        let mut attrs = req.attrs.clone();
        let mut attached = attached;
        attached.sort();
        attrs.insert(
            "policies".to_owned(),
            Value::List(attached.into_iter().map(Value::Str).collect()),
        );
        Ok(Outcome {
            cloud_id,
            attrs,
            done: true,
        })
    }

    async fn observe_inner(&self, req: &ObserveRequest) -> Result<Observed, ProviderError> {
        let counter = Arc::new(AtomicU64::new(0));
        let clients: BTreeMap<AccountName, Client> = self
            .clients
            .iter()
            .map(|(k, c)| (k.clone(), c.counting(Arc::clone(&counter))))
            .collect();
        let client_of = |account: &AccountName| -> Result<Client, ProviderError> {
            clients.get(account).cloned().ok_or_else(|| {
                self.client(account)
                    .err()
                    .unwrap_or_else(|| invalid("observe", "unknown account"))
            })
        };
        let items = merge_items(req);

        // Groups.
        let mut ws_groups: BTreeSet<(AccountName, Region)> = BTreeSet::new();
        let mut vpc_groups = BTreeSet::new();
        let mut vsw_groups = BTreeSet::new();
        let mut bucket_accounts: BTreeSet<AccountName> = BTreeSet::new();
        let mut roles: BTreeSet<(AccountName, String)> = BTreeSet::new();
        let mut balance_accounts: BTreeSet<AccountName> = BTreeSet::new();
        // Account → a region it uses (for the BSS host and the OSS service host).
        let mut home: BTreeMap<AccountName, BTreeSet<Region>> = req.accounts.clone();
        for it in items.values() {
            if let Some(r) = &it.region {
                home.entry(it.account.clone())
                    .or_default()
                    .insert(r.clone());
            }
        }
        let bss_region = |account: &AccountName| -> Region {
            let regions = home.get(account);
            regions
                .and_then(|rs| {
                    rs.iter()
                        .find(|r| is_china_site_region(r.as_str()))
                        .or_else(|| rs.iter().next())
                })
                .cloned()
                .unwrap_or_else(|| self.default_region.clone())
        };
        if let Ok(mut known) = self.bss_regions.lock() {
            for acct in home.keys() {
                known.insert(acct.clone(), bss_region(acct));
            }
        }
        for it in items.values() {
            let region = it.region.clone();
            match it.addr.kind() {
                ResourceKind::FlinkWorkspace | ResourceKind::FlinkProject => {
                    if let Some(r) = region {
                        ws_groups.insert((it.account.clone(), r));
                    }
                }
                ResourceKind::Vpc => {
                    if let Some(r) = region {
                        vpc_groups.insert((it.account.clone(), r));
                    }
                }
                ResourceKind::Vswitch => {
                    if let Some(r) = region {
                        vsw_groups.insert((it.account.clone(), r));
                    }
                }
                ResourceKind::OssBucket => {
                    bucket_accounts.insert(it.account.clone());
                }
                ResourceKind::RamRole => {
                    let name = attr_str(&it.attrs, "role_name")
                        .map(str::to_owned)
                        .or_else(|| it.cloud_id.as_ref().map(|c| c.as_str().to_owned()))
                        .unwrap_or_else(|| ROLE_NAME.to_owned());
                    roles.insert((it.account.clone(), name));
                }
                ResourceKind::AccountBalance => {
                    balance_accounts.insert(it.account.clone());
                }
                ResourceKind::OssService
                | ResourceKind::MarketOrder
                | ResourceKind::BillingAccount
                | ResourceKind::Gate
                | ResourceKind::SettlementBinding
                | ResourceKind::SaasWorkspace => {}
            }
        }

        // Phase 1: listings.
        let ws_keys: Vec<_> = ws_groups.into_iter().collect();
        let mut futs = Vec::new();
        for (acct, region) in &ws_keys {
            futs.push(list_instances(client_of(acct)?, region.clone(), None));
        }
        let ws_lists = bounded(futs, OBSERVE_CONCURRENCY).await?;
        let mut instances: BTreeMap<(AccountName, Region), Vec<Json>> = BTreeMap::new();
        for (key, list) in ws_keys.into_iter().zip(ws_lists) {
            instances.insert(key, unless_region_unsupported(list)?);
        }

        let vpc_keys: Vec<_> = vpc_groups.into_iter().collect();
        let mut futs = Vec::new();
        for (acct, region) in &vpc_keys {
            futs.push(list_vpcs(client_of(acct)?, region.clone(), None));
        }
        let mut vpcs: BTreeMap<(AccountName, Region), Vec<Json>> = BTreeMap::new();
        for (key, list) in vpc_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            vpcs.insert(key, unless_region_unsupported(list)?);
        }

        let vsw_keys: Vec<_> = vsw_groups.into_iter().collect();
        let mut futs = Vec::new();
        for (acct, region) in &vsw_keys {
            futs.push(list_vswitches(client_of(acct)?, region.clone(), None));
        }
        let mut vsws: BTreeMap<(AccountName, Region), Vec<Json>> = BTreeMap::new();
        for (key, list) in vsw_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            vsws.insert(key, unless_region_unsupported(list)?);
        }

        let bucket_keys: Vec<_> = bucket_accounts.into_iter().collect();
        let mut futs = Vec::new();
        for acct in &bucket_keys {
            let region = home
                .get(acct)
                .and_then(|rs| rs.iter().next().cloned())
                .unwrap_or_else(|| self.default_region.clone());
            futs.push(list_buckets(client_of(acct)?, region));
        }
        let mut buckets: BTreeMap<AccountName, Vec<(String, Option<String>)>> = BTreeMap::new();
        for (key, list) in bucket_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            buckets.insert(key, list?);
        }

        let role_keys: Vec<_> = roles.into_iter().collect();
        let mut futs = Vec::new();
        for (acct, name) in &role_keys {
            futs.push(read_role(client_of(acct)?, name.clone()));
        }
        let mut role_policies: BTreeMap<(AccountName, String), Option<Vec<String>>> =
            BTreeMap::new();
        for (key, res) in role_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            role_policies.insert(key, res?);
        }

        let fact_keys: Vec<_> = req.accounts.keys().cloned().collect();
        let mut futs = Vec::new();
        for acct in &fact_keys {
            let regions = req.accounts.get(acct).cloned().unwrap_or_default();
            futs.push(account_facts(
                client_of(acct)?,
                regions,
                bss_region(acct),
                self.default_region.clone(),
            ));
        }
        let mut facts: BTreeMap<AccountName, AccountFacts> = BTreeMap::new();
        let mut balances: BTreeMap<AccountName, (String, String)> = BTreeMap::new();
        for (key, res) in fact_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            let (f, amount) = res?;
            if let Some(b) = &f.balance {
                balances.insert(key.clone(), (amount, b.currency.clone()));
            }
            facts.insert(key, f);
        }

        // Resource groups, read only for accounts whose desired workspaces name one.
        let group_keys: Vec<AccountName> = req
            .desired
            .iter()
            .filter(|d| {
                d.addr.kind() == ResourceKind::FlinkWorkspace
                    && d.attrs.contains_key("resource_group")
                    && facts.contains_key(&d.account)
            })
            .map(|d| d.account.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut futs = Vec::new();
        for acct in &group_keys {
            let client = client_of(acct)?;
            futs.push(async move { rm::group_ids(&client).await });
        }
        for (key, res) in group_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            if let Some(f) = facts.get_mut(&key) {
                f.resource_groups = Some(res?);
            }
        }

        // Balances for balance checks of accounts whose facts were not asked for.
        balance_accounts.retain(|a| !balances.contains_key(a));
        for acct in &balance_accounts {
            let client = client_of(acct)?;
            let (amount, currency, _) = query_balance(&client, &bss_region(acct)).await?;
            balances.insert(acct.clone(), (amount, currency));
        }

        // Match workspaces.
        let mut resources: BTreeMap<Address, Observation> = BTreeMap::new();
        let mut matched_ws: BTreeMap<Address, (AccountName, Json)> = BTreeMap::new();
        for it in items
            .values()
            .filter(|i| i.addr.kind() == ResourceKind::FlinkWorkspace)
        {
            let Some(region) = &it.region else { continue };
            let list = instances
                .get(&(it.account.clone(), region.clone()))
                .map_or(&[][..], Vec::as_slice);
            let hit = match it.known_id() {
                Some(id) => list
                    .iter()
                    .find(|i| wire::string_at(i, &["InstanceId"]).as_deref() == Some(id.as_str())),
                None => it.name().and_then(|n| {
                    list.iter().find(|i| {
                        wire::string_at(i, &["InstanceName"]).as_deref() == Some(n)
                            && wire::string_at(i, &["ClusterStatus"]).as_deref() != Some("DELETED")
                    })
                }),
            };
            if let Some(inst) = hit {
                matched_ws.insert(it.addr.clone(), (it.account.clone(), inst.clone()));
            }
        }

        // Workspace names are unique across all regions of an account: a workspace to
        // create whose name is taken in another region is found there (and the planner
        // refuses it unless it is this stack's).
        let mut elsewhere: BTreeMap<AccountName, BTreeSet<Region>> = BTreeMap::new();
        for it in items.values().filter(|i| {
            i.addr.kind() == ResourceKind::FlinkWorkspace
                && i.mode == Mode::Managed
                && i.known_id().is_none()
                && !matched_ws.contains_key(&i.addr)
        }) {
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
        let other_keys: Vec<(AccountName, Region)> = elsewhere
            .into_iter()
            .flat_map(|(a, rs)| rs.into_iter().map(move |r| (a.clone(), r)))
            .collect();
        let mut futs = Vec::new();
        for (acct, region) in &other_keys {
            futs.push(list_instances(client_of(acct)?, region.clone(), None));
        }
        for (key, list) in other_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            instances.insert(key, unless_region_unsupported(list)?);
        }
        let unmatched: Vec<&Item> = items
            .values()
            .filter(|i| {
                i.addr.kind() == ResourceKind::FlinkWorkspace
                    && i.mode == Mode::Managed
                    && i.known_id().is_none()
                    && !matched_ws.contains_key(&i.addr)
            })
            .collect();
        for it in unmatched {
            let Some(name) = it.name() else { continue };
            let hit = instances
                .iter()
                .filter(|((a, _), _)| a == &it.account)
                .flat_map(|(_, list)| list.iter())
                .find(|i| {
                    wire::string_at(i, &["InstanceName"]).as_deref() == Some(name)
                        && wire::string_at(i, &["ClusterStatus"]).as_deref() != Some("DELETED")
                });
            if let Some(inst) = hit {
                matched_ws.insert(it.addr.clone(), (it.account.clone(), inst.clone()));
            }
        }

        // Phase 2: auto-renewal of subscriptions, per account.
        let mut pre_accounts: BTreeSet<AccountName> = BTreeSet::new();
        for (acct, inst) in matched_ws.values() {
            if wire::string_at(inst, &["ChargeType"]).as_deref() == Some("PRE") {
                pre_accounts.insert(acct.clone());
            }
        }
        let pre_keys: Vec<_> = pre_accounts.into_iter().collect();
        let mut futs = Vec::new();
        for acct in &pre_keys {
            futs.push(renew_statuses(client_of(acct)?, bss_region(acct), None));
        }
        let mut renew: BTreeMap<String, String> = BTreeMap::new();
        for res in bounded(futs, OBSERVE_CONCURRENCY).await? {
            renew.extend(res?);
        }
        for (addr, (_, inst)) in &matched_ws {
            if let Some(o) = wire::workspace(inst, &renew) {
                resources.insert(addr.clone(), Observation::Found(o));
            }
        }

        // Projects: resolve their instance ids, then one DescribeNamespaces per instance.
        let mut ns_groups: BTreeMap<(AccountName, Region, String), Vec<Address>> = BTreeMap::new();
        for it in items
            .values()
            .filter(|i| i.addr.kind() == ResourceKind::FlinkProject)
        {
            let Some(region) = &it.region else { continue };
            let (ws_name, _) = it.project_names();
            let id = it
                .cloud_id
                .as_ref()
                .and_then(|c| c.as_str().split_once('/').map(|(i, _)| i.to_owned()))
                .or_else(|| attr_str(&it.attrs, "workspace_id").map(str::to_owned))
                .or_else(|| {
                    instances
                        .get(&(it.account.clone(), region.clone()))
                        .and_then(|list| {
                            list.iter()
                                .find(|i| {
                                    wire::string_at(i, &["InstanceName"]).as_deref()
                                        == Some(ws_name.as_str())
                                })
                                .and_then(|i| wire::string_at(i, &["InstanceId"]))
                        })
                });
            if let Some(id) = id {
                ns_groups
                    .entry((it.account.clone(), region.clone(), id))
                    .or_default()
                    .push(it.addr.clone());
            }
        }
        let ns_keys: Vec<_> = ns_groups.keys().cloned().collect();
        let mut futs = Vec::new();
        for (acct, region, id) in &ns_keys {
            futs.push(list_namespaces(
                client_of(acct)?,
                region.clone(),
                id.clone(),
                None,
            ));
        }
        for (key, res) in ns_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            let Some(list) = res? else { continue };
            let (_, region, id) = &key;
            for addr in ns_groups.get(&key).map_or(&[][..], Vec::as_slice) {
                let Some(it) = items.get(addr) else { continue };
                let (_, project) = it.project_names();
                if let Some(o) = list
                    .iter()
                    .find(|n| {
                        wire::string_at(n, &["Namespace"]).as_deref() == Some(project.as_str())
                    })
                    .and_then(|n| wire::project(n, id, region.as_str()))
                {
                    resources.insert(addr.clone(), Observation::Found(o));
                }
            }
        }

        // Buckets: the tags (ownership mark, labels) of those the account has; for a bucket
        // to create that the account does not have, whether another account owns the name
        // (bucket names are global).
        // Objects are counted only where a deletion may be planned (listing a bucket is
        // one call per 1000 objects): buckets the state has and the specs no longer want,
        // or want in another region.
        let desired_region: BTreeMap<&Address, Option<&str>> = req
            .desired
            .iter()
            .map(|d| (&d.addr, attr_str(&d.attrs, "region")))
            .collect();
        let mut tag_keys: Vec<(AccountName, String, Region, bool)> = Vec::new();
        let mut probe_keys: Vec<(AccountName, String)> = Vec::new();
        for it in items
            .values()
            .filter(|i| i.addr.kind() == ResourceKind::OssBucket)
        {
            let Some(name) = it.name().map(str::to_owned).or_else(|| it.known_id()) else {
                continue;
            };
            match buckets
                .get(&it.account)
                .and_then(|l| l.iter().find(|(b, _)| *b == name))
            {
                Some((_, region)) => {
                    let count = match desired_region.get(&it.addr) {
                        None => it.cloud_id.is_some(),
                        Some(want) => it.cloud_id.is_some() && *want != region.as_deref(),
                    };
                    let region = region
                        .as_deref()
                        .and_then(|r| Region::new(r).ok())
                        .unwrap_or_else(|| self.default_region.clone());
                    tag_keys.push((it.account.clone(), name, region, count));
                }
                None if it.cloud_id.is_none() && it.mode == Mode::Managed => {
                    probe_keys.push((it.account.clone(), name));
                }
                None => {}
            }
        }
        let mut futs = Vec::new();
        for (acct, name, region, count) in &tag_keys {
            let client = client_of(acct)?;
            let (name, region, count) = (name.clone(), region.clone(), *count);
            futs.push(async move {
                let tags = tags::bucket_tags(&client, &region, &name).await?;
                let objects = if count {
                    Some(crate::objects::count(&client, &region, &name).await?)
                } else {
                    None
                };
                Ok::<_, ApiError>((tags, objects))
            });
        }
        let mut bucket_tags: BTreeMap<(AccountName, String), BucketSeen> = BTreeMap::new();
        for ((acct, name, _, _), res) in tag_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            bucket_tags.insert((acct, name), res?);
        }
        let mut futs = Vec::new();
        for (acct, name) in &probe_keys {
            let client = client_of(acct)?;
            let region = home
                .get(acct)
                .and_then(|rs| rs.iter().next().cloned())
                .unwrap_or_else(|| self.default_region.clone());
            let name = name.clone();
            futs.push(async move {
                match client
                    .oss_read(&region, Some(&name), Some("bucketInfo"), &[])
                    .await
                {
                    Err(e) if e.has_code("AccessDenied") => Ok(true),
                    Ok(_) => Ok(false),
                    Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(false),
                    Err(e) => Err(e),
                }
            });
        }
        let mut foreign_buckets: BTreeSet<(AccountName, String)> = BTreeSet::new();
        for (key, res) in probe_keys
            .into_iter()
            .zip(bounded(futs, OBSERVE_CONCURRENCY).await?)
        {
            if res? {
                foreign_buckets.insert(key);
            }
        }

        // The vSwitches of existing VPCs the specs reference by id.
        let mut network: BTreeMap<CloudId, Vec<ObservedResource>> = BTreeMap::new();
        for it in items
            .values()
            .filter(|i| i.addr.kind() == ResourceKind::Vpc && i.mode == Mode::Data)
        {
            let (Some(region), Some(id)) = (&it.region, it.known_id()) else {
                continue;
            };
            let Some(list) = vsws.get(&(it.account.clone(), region.clone())) else {
                continue;
            };
            let members = list
                .iter()
                .filter(|v| wire::string_at(v, &["VpcId"]).as_deref() == Some(id.as_str()))
                .filter_map(|v| wire::vswitch(v, region.as_str()))
                .collect();
            if let Ok(id) = CloudId::new(id) {
                network.insert(id, members);
            }
        }

        // Everything else.
        for it in items.values() {
            let obs = match it.addr.kind() {
                ResourceKind::FlinkWorkspace | ResourceKind::FlinkProject => continue,
                // Marketplace and vendor resources: `crate::market`.
                ResourceKind::MarketOrder
                | ResourceKind::BillingAccount
                | ResourceKind::Gate
                | ResourceKind::SettlementBinding
                | ResourceKind::SaasWorkspace => continue,
                ResourceKind::OssService => Some(Observation::Unknown),
                ResourceKind::Vpc => it.region.as_ref().and_then(|region| {
                    let list = vpcs.get(&(it.account.clone(), region.clone()))?;
                    let hit = match it.known_id() {
                        Some(id) => list.iter().find(|v| {
                            wire::string_at(v, &["VpcId"]).as_deref() == Some(id.as_str())
                        }),
                        // VPC names are not unique: before the state knows it, a VPC is
                        // found only by this resource's ownership mark.
                        None if it.mode == Mode::Managed => list.iter().find(|v| {
                            wire::vpc(v, region.as_str())
                                .is_some_and(|o| tags::same_mark(&o.attrs, &it.attrs))
                        }),
                        None => None,
                    }?;
                    wire::vpc(hit, region.as_str()).map(Observation::Found)
                }),
                ResourceKind::Vswitch => it.region.as_ref().and_then(|region| {
                    let list = vsws.get(&(it.account.clone(), region.clone()))?;
                    let hit = match it.known_id() {
                        Some(id) => list.iter().find(|v| {
                            wire::string_at(v, &["VSwitchId"]).as_deref() == Some(id.as_str())
                        }),
                        None if it.mode == Mode::Managed => list.iter().find(|v| {
                            wire::vswitch(v, region.as_str())
                                .is_some_and(|o| tags::same_mark(&o.attrs, &it.attrs))
                        }),
                        None => None,
                    }?;
                    wire::vswitch(hit, region.as_str()).map(Observation::Found)
                }),
                ResourceKind::OssBucket => {
                    let name = it.name().map(str::to_owned).or_else(|| it.known_id());
                    name.and_then(|n| {
                        let key = (it.account.clone(), n.clone());
                        if foreign_buckets.contains(&key) {
                            let mut o = wire::bucket(&n, None, None)?;
                            o.owner = flinkform_core::Owner::OtherAccount;
                            return Some(Observation::Found(o));
                        }
                        let list = buckets.get(&it.account)?;
                        let (_, region) = list.iter().find(|(b, _)| *b == n)?;
                        let seen = bucket_tags.get(&key);
                        let mut o = wire::bucket(&n, region.as_deref(), seen.map(|(t, _)| t))?;
                        if let Some((_, Some(objects))) = seen {
                            o.attrs.insert("objects".to_owned(), Value::Int(*objects));
                        }
                        Some(Observation::Found(o))
                    })
                }
                ResourceKind::RamRole => {
                    let name = attr_str(&it.attrs, "role_name")
                        .map(str::to_owned)
                        .or_else(|| it.cloud_id.as_ref().map(|c| c.as_str().to_owned()))
                        .unwrap_or_else(|| ROLE_NAME.to_owned());
                    role_policies
                        .get(&(it.account.clone(), name.clone()))
                        .and_then(Option::as_ref)
                        .and_then(|p| wire::role(&name, p))
                        .map(Observation::Found)
                }
                ResourceKind::AccountBalance => {
                    balances.get(&it.account).and_then(|(amount, currency)| {
                        balance_observation(&it.account, amount, currency).map(Observation::Found)
                    })
                }
            };
            resources.insert(it.addr.clone(), obs.unwrap_or(Observation::Absent));
        }
        for addr in items.keys() {
            resources.entry(addr.clone()).or_insert(Observation::Absent);
        }

        let mut accounts = BTreeMap::new();
        for acct in req.accounts.keys() {
            accounts.insert(acct.clone(), facts.remove(acct).unwrap_or_default());
        }
        Ok(Observed {
            resources,
            accounts,
            api_calls: counter.load(Ordering::Relaxed),
            network,
            ..Observed::default()
        })
    }
}

/// A listing in a region the account's site does not offer finds nothing (the planner
/// reports the region from the account facts); other errors stay errors.
fn unless_region_unsupported(list: Result<Vec<Json>, ApiError>) -> Result<Vec<Json>, ApiError> {
    match list {
        Err(e)
            if e.code.as_deref().is_some_and(|c| {
                c == "InvalidParameter.Region" || c.starts_with("InvalidRegionId")
            }) =>
        {
            Ok(Vec::new())
        }
        other => other,
    }
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

/// Attaches every policy of `attrs.policies` (`<Type>:<Name>`) not in `attached`.
async fn attach_policies(
    client: &Client,
    role_name: &str,
    attrs: &Attrs,
    attached: &BTreeSet<String>,
) -> Result<(), ProviderError> {
    for policy in attr_strings(attrs, "policies") {
        if attached.contains(&policy) {
            continue;
        }
        let (ptype, pname) = policy.split_once(':').ok_or_else(|| {
            invalid(
                "AttachPolicyToRole",
                format!("policy `{policy}` is not `<PolicyType>:<PolicyName>`"),
            )
        })?;
        let p = params(&[
            ("PolicyType", ptype),
            ("PolicyName", pname),
            ("RoleName", role_name),
        ]);
        match client
            .rpc(Product::Ram, None, "AttachPolicyToRole", p, RpcMethod::Post)
            .await
        {
            Ok(_) => {}
            Err(e) if e.has_code("EntityAlreadyExists.Role.Policy") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A create that found the resource's identity taken by something this stack does not
/// own (the plan checked, but the cloud changed since): never adopted, never retried.
fn not_ours(action: &str, what: &str) -> ProviderError {
    ProviderError {
        kind: ProviderErrorKind::Conflict,
        action: action.to_owned(),
        code: None,
        message: format!(
            "{what} exists already and does not carry this stack's ownership mark; flinkform \
             does not take it over (plan again to see who owns it)"
        ),
        request_id: None,
    }
}

fn split_project_id(cloud_id: &CloudId, action: &str) -> Result<(String, String), ProviderError> {
    cloud_id
        .as_str()
        .split_once('/')
        .map(|(i, n)| (i.to_owned(), n.to_owned()))
        .ok_or_else(|| {
            invalid(
                action,
                format!("project id `{cloud_id}` is not `<instanceId>/<namespace>`"),
            )
        })
}

fn prior_id<'a>(req: &'a ChangeRequest, action: &str) -> Result<&'a CloudId, ProviderError> {
    req.prior
        .as_ref()
        .map(|p| &p.cloud_id)
        .ok_or_else(|| invalid(action, "an update needs the recorded resource"))
}

fn done(cloud_id: &CloudId, attrs: &Attrs, done: bool) -> Outcome {
    Outcome {
        cloud_id: cloud_id.clone(),
        attrs: attrs.clone(),
        done,
    }
}

#[async_trait]
impl Provider for AliProvider {
    async fn whoami(&self, account: &AccountName) -> Result<AccountUid, ProviderError> {
        Ok(caller_uid(self.client(account)?).await?)
    }

    async fn observe(&self, req: &ObserveRequest) -> Result<Observed, ProviderError> {
        let mut observed = self.observe_inner(req).await?;
        self.observe_market(req, &mut observed).await?;
        Ok(observed)
    }

    async fn read(
        &self,
        addr: &Address,
        _mode: Mode,
        account: &AccountName,
        region: Option<&Region>,
        cloud_id: &CloudId,
    ) -> Result<Observation, ProviderError> {
        let client = self.client(account)?.clone();
        let id = cloud_id.as_str().to_owned();
        let found = |o: Option<ObservedResource>| o.map_or(Observation::Absent, Observation::Found);
        Ok(match addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => {
                return self.read_market(addr, account, cloud_id).await;
            }
            ResourceKind::OssService => Observation::Unknown,
            ResourceKind::AccountBalance => {
                let bss = region
                    .cloned()
                    .or_else(|| self.bss_regions.lock().ok()?.get(account).cloned())
                    .unwrap_or_else(|| self.default_region.clone());
                let (amount, currency, _) = query_balance(&client, &bss).await?;
                found(balance_observation(account, &amount, &currency))
            }
            ResourceKind::RamRole => found(
                read_role(client, id.clone())
                    .await?
                    .and_then(|p| wire::role(&id, &p)),
            ),
            ResourceKind::FlinkWorkspace => {
                let region = Self::region_of(region, "DescribeInstances")?;
                let list = paged(
                    &client,
                    Product::Foasconsole,
                    Some(region),
                    "DescribeInstances",
                    params(&[("Region", region.as_str()), ("InstanceId", &id)]),
                    RpcMethod::Get,
                    ("PageIndex", "PageSize", 100),
                    &["Instances"],
                    &["TotalCount"],
                )
                .await?;
                let Some(inst) = list
                    .iter()
                    .find(|i| wire::string_at(i, &["InstanceId"]).as_deref() == Some(id.as_str()))
                else {
                    return Ok(Observation::Absent);
                };
                let renew = if wire::string_at(inst, &["ChargeType"]).as_deref() == Some("PRE") {
                    let bss = if is_china_site_region(region.as_str()) {
                        region.clone()
                    } else {
                        self.default_region.clone()
                    };
                    renew_statuses(client.clone(), bss, Some(id.clone())).await?
                } else {
                    BTreeMap::new()
                };
                found(wire::workspace(inst, &renew))
            }
            ResourceKind::Vpc => {
                let region = Self::region_of(region, "DescribeVpcs")?;
                let list = list_vpcs(client, region.clone(), Some(id.clone())).await?;
                found(
                    list.iter()
                        .find(|v| wire::string_at(v, &["VpcId"]).as_deref() == Some(id.as_str()))
                        .and_then(|v| wire::vpc(v, region.as_str())),
                )
            }
            ResourceKind::Vswitch => {
                let region = Self::region_of(region, "DescribeVSwitches")?;
                match list_vswitches(client, region.clone(), Some(id.clone())).await {
                    Ok(list) => found(
                        list.iter()
                            .find(|v| {
                                wire::string_at(v, &["VSwitchId"]).as_deref() == Some(id.as_str())
                            })
                            .and_then(|v| wire::vswitch(v, region.as_str())),
                    ),
                    Err(e) if e.kind == ProviderErrorKind::NotFound => Observation::Absent,
                    Err(e) => return Err(e.into()),
                }
            }
            ResourceKind::OssBucket => {
                let region = region
                    .cloned()
                    .unwrap_or_else(|| self.default_region.clone());
                match client
                    .oss_read(&region, Some(&id), Some("bucketInfo"), &[])
                    .await
                {
                    Ok((_, text)) => {
                        let info: wire::BucketInfo =
                            quick_xml::de::from_str(&text).map_err(|e| {
                                ApiError::local(
                                    ProviderErrorKind::Fatal,
                                    "GetBucketInfo",
                                    format!("unreadable answer: {e}"),
                                )
                            })?;
                        let r = info
                            .bucket
                            .region()
                            .unwrap_or_else(|| region.as_str().to_owned());
                        let at = Region::new(r.clone()).unwrap_or(region);
                        let tags = tags::bucket_tags(&client, &at, &id).await?;
                        found(wire::bucket(&id, Some(&r), Some(&tags)))
                    }
                    Err(e) if e.kind == ProviderErrorKind::NotFound => Observation::Absent,
                    Err(e) => return Err(e.into()),
                }
            }
            ResourceKind::FlinkProject => {
                let region = Self::region_of(region, "DescribeNamespaces")?;
                let (instance, ns) = split_project_id(cloud_id, "DescribeNamespaces")?;
                let list =
                    list_namespaces(client, region.clone(), instance.clone(), Some(ns.clone()))
                        .await?;
                found(list.and_then(|l| {
                    l.iter()
                        .find(|n| {
                            wire::string_at(n, &["Namespace"]).as_deref() == Some(ns.as_str())
                        })
                        .and_then(|n| wire::project(n, &instance, region.as_str()))
                }))
            }
        })
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let client = self.client(&req.account)?;
        let a = &req.attrs;
        match req.addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => self.create_market(req).await,
            ResourceKind::AccountBalance => Err(invalid(
                "create",
                "an account balance check is evaluated, never created",
            )),
            ResourceKind::OssService => {
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
                let id =
                    CloudId::new("oss").map_err(|e| invalid("OpenOssService", e.to_string()))?;
                Ok(Outcome {
                    cloud_id: id,
                    attrs: a.clone(),
                    done: true,
                })
            }
            ResourceKind::RamRole => self.create_role(req, client).await,
            ResourceKind::Vpc => {
                const A: &str = "CreateVpc";
                let region = Self::region_of(req.region.as_ref(), A)?;
                let mut p = params(&[
                    ("RegionId", region.as_str()),
                    ("CidrBlock", need_str(a, "cidr", A)?),
                    ("VpcName", need_str(a, "name", A)?),
                    ("ClientToken", &req.client_token),
                ]);
                p.extend(tags::repeat_params(&tags::tag_map(a)));
                Self::create_pending(client, region, A, p, "VpcId", a).await
            }
            ResourceKind::Vswitch => {
                const A: &str = "CreateVSwitch";
                let region = Self::region_of(req.region.as_ref(), A)?;
                let mut p = params(&[
                    ("RegionId", region.as_str()),
                    ("ZoneId", need_str(a, "zone", A)?),
                    ("CidrBlock", need_str(a, "cidr", A)?),
                    ("VpcId", need_str(a, "vpc_id", A)?),
                    ("VSwitchName", need_str(a, "name", A)?),
                    ("ClientToken", &req.client_token),
                ]);
                p.extend(tags::repeat_params(&tags::tag_map(a)));
                Self::create_pending(client, region, A, p, "VSwitchId", a).await
            }
            ResourceKind::OssBucket => {
                const A: &str = "PutBucket";
                let name = need_str(a, "name", A)?;
                let region = match req.region.as_ref() {
                    Some(r) => r.clone(),
                    None => Region::new(need_str(a, "region", A)?)
                        .map_err(|e| invalid(A, e.to_string()))?,
                };
                let cloud_id = CloudId::new(name).map_err(|e| invalid(A, e.to_string()))?;
                // PutBucket of an existing bucket of this account succeeds silently: look
                // first, and take it only when it carries this resource's mark (a retry, or
                // an apply that died after creating it).
                match client
                    .oss_read(&region, Some(name), Some("bucketInfo"), &[])
                    .await
                {
                    Ok(_) => {
                        let found = tags::bucket_tags(client, &region, name).await?;
                        let mut seen = Attrs::new();
                        seen.insert("tags".to_owned(), Value::str_map(found));
                        if tags::same_mark(&seen, a) {
                            return Ok(Self::adopted(cloud_id, a, &seen, true));
                        }
                        return Err(not_ours(A, &format!("bucket `{name}`")));
                    }
                    Err(e) if e.kind == ProviderErrorKind::NotFound => {}
                    Err(e) if e.has_code("AccessDenied") => {
                        return Err(not_ours(
                            A,
                            &format!("bucket `{name}` (of another Alibaba Cloud account)"),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
                let mut headers = BTreeMap::new();
                let wanted = tags::tag_map(a);
                if !wanted.is_empty() {
                    headers.insert("x-oss-bucket-tagging".to_owned(), tags::oss_header(&wanted));
                }
                client
                    .oss_with_headers(
                        OssMethod::Put,
                        &region,
                        Some(name),
                        None,
                        &[],
                        &headers,
                        Vec::new(),
                    )
                    .await?;
                Ok(Outcome {
                    cloud_id,
                    attrs: a.clone(),
                    done: true,
                })
            }
            ResourceKind::FlinkWorkspace => self.create_workspace(req, client).await,
            ResourceKind::FlinkProject => {
                const A: &str = "CreateNamespace";
                let region = Self::region_of(req.region.as_ref(), A)?;
                let instance = need_str(a, "workspace_id", A)?;
                let name = need_str(a, "name", A)?;
                let cloud_id = CloudId::new(format!("{instance}/{name}"))
                    .map_err(|e| invalid(A, e.to_string()))?;
                if a.get("generated").and_then(Value::as_bool) == Some(true)
                    && !Self::default_project_missing(client, region, instance, name).await?
                {
                    // The service creates the default project with the workspace: wait for
                    // it (or it exists already).
                    return Ok(Outcome {
                        cloud_id,
                        attrs: a.clone(),
                        done: false,
                    });
                }
                let mut p = params(&[
                    ("InstanceId", instance),
                    ("Region", region.as_str()),
                    ("Namespace", name),
                ]);
                if let Some(cu) = attr_int(a, "cu") {
                    p.push(("ResourceSpec".into(), resource_spec(cu)));
                }
                match client
                    .rpc(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.has_code("Namespace.AlreadyExists") => {}
                    Err(e) => return Err(e.into()),
                }
                Ok(Outcome {
                    cloud_id,
                    attrs: a.clone(),
                    done: false,
                })
            }
        }
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let client = self.client(&req.account)?;
        let a = &req.attrs;
        let changed: BTreeSet<&str> = req.changed.iter().map(String::as_str).collect();
        match req.addr.kind() {
            ResourceKind::SaasWorkspace => self.update_market(req).await,
            ResourceKind::RamRole => {
                let role_name = attr_str(a, "role_name").unwrap_or(ROLE_NAME);
                let resp = client
                    .rpc_read(
                        Product::Ram,
                        None,
                        "ListPoliciesForRole",
                        params(&[("RoleName", role_name)]),
                        RpcMethod::Post,
                    )
                    .await?;
                let attached: BTreeSet<String> = wire::role_policies(&resp).into_iter().collect();
                attach_policies(client, role_name, a, &attached).await?;
                let cloud_id = CloudId::new(role_name)
                    .map_err(|e| invalid("AttachPolicyToRole", e.to_string()))?;
                Ok(done(&cloud_id, a, true))
            }
            ResourceKind::FlinkWorkspace => {
                let id = prior_id(req, "ModifyPrepayInstanceSpec")?;
                let region = Self::region_of(req.region.as_ref(), "ModifyPrepayInstanceSpec")?;
                let mut pending = false;
                if changed.contains("cu") {
                    const A: &str = "ModifyPrepayInstanceSpec";
                    let cu =
                        attr_int(a, "cu").ok_or_else(|| invalid(A, "attribute `cu` is missing"))?;
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
                    let bss = if is_china_site_region(region.as_str()) {
                        region.clone()
                    } else {
                        self.default_region.clone()
                    };
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
            ResourceKind::FlinkProject => {
                const A: &str = "ModifyPrepayNamespaceSpec";
                let id = prior_id(req, A)?;
                if let Some(other) = changed.iter().find(|c| **c != "cu") {
                    return Err(invalid(
                        "update",
                        format!("`{other}` of a project cannot change in place"),
                    ));
                }
                let region = Self::region_of(req.region.as_ref(), A)?;
                let (instance, ns) = split_project_id(id, A)?;
                let cu =
                    attr_int(a, "cu").ok_or_else(|| invalid(A, "attribute `cu` is missing"))?;
                let p = params(&[
                    ("InstanceId", &instance),
                    ("Region", region.as_str()),
                    ("Namespace", &ns),
                    ("ResourceSpec", &resource_spec(cu)),
                ]);
                client
                    .rpc(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
                    .await?;
                Ok(done(id, a, false))
            }
            kind @ (ResourceKind::Vpc | ResourceKind::Vswitch | ResourceKind::OssBucket) => {
                let id = prior_id(req, "TagResources")?;
                if let Some(other) = changed.iter().find(|c| **c != "tags") {
                    return Err(invalid(
                        "update",
                        format!("`{other}` of a {kind} cannot change in place"),
                    ));
                }
                let region = match req.region.as_ref() {
                    Some(r) => r.clone(),
                    None => self.default_region.clone(),
                };
                let prior = req.prior.as_ref().map(|p| tags::tag_map(&p.attrs));
                tags::set(
                    client,
                    kind,
                    &region,
                    id.as_str(),
                    &tags::tag_map(a),
                    &prior.unwrap_or_default(),
                )
                .await?;
                Ok(done(id, a, true))
            }
            kind => Err(invalid(
                "update",
                format!("a {kind} has no attributes that change in place"),
            )),
        }
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<Outcome, ProviderError> {
        let prior = &req.prior;
        let client = self.client(&prior.account)?;
        let id = prior.cloud_id.as_str();
        let region = prior.region.as_ref();
        let gone = || Ok(done(&prior.cloud_id, &prior.attrs, true));
        let (result, finished) = match prior.addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => return self.delete_market(req).await,
            // Never deleted through the API (catalog: Never, Shared, Check).
            ResourceKind::OssService | ResourceKind::RamRole | ResourceKind::AccountBalance => {
                return gone();
            }
            ResourceKind::Vpc => {
                let region = Self::region_of(region, "DeleteVpc")?;
                let p = params(&[("RegionId", region.as_str()), ("VpcId", id)]);
                (
                    client
                        .rpc(Product::Vpc, Some(region), "DeleteVpc", p, RpcMethod::Post)
                        .await
                        .map(|_| ()),
                    true,
                )
            }
            ResourceKind::Vswitch => {
                let region = Self::region_of(region, "DeleteVSwitch")?;
                let p = params(&[("RegionId", region.as_str()), ("VSwitchId", id)]);
                (
                    client
                        .rpc(
                            Product::Vpc,
                            Some(region),
                            "DeleteVSwitch",
                            p,
                            RpcMethod::Post,
                        )
                        .await
                        .map(|_| ()),
                    true,
                )
            }
            ResourceKind::OssBucket => {
                let region = region
                    .cloned()
                    .unwrap_or_else(|| self.default_region.clone());
                if let Some(confirmed) = req.objects {
                    match crate::objects::empty(client, &region, id, confirmed).await {
                        Ok(()) => {}
                        Err(e) if e.kind == ProviderErrorKind::NotFound => return gone(),
                        Err(e) => return Err(e.into()),
                    }
                }
                (
                    client
                        .oss(OssMethod::Delete, &region, Some(id), None, Vec::new())
                        .await
                        .map(|_| ()),
                    true,
                )
            }
            ResourceKind::FlinkWorkspace => {
                let region = Self::region_of(region, "DeleteInstance")?;
                let p = params(&[("InstanceId", id), ("Region", region.as_str())]);
                (
                    client
                        .rpc(
                            Product::Foasconsole,
                            Some(region),
                            "DeleteInstance",
                            p,
                            RpcMethod::Post,
                        )
                        .await
                        .map(|_| ()),
                    false,
                )
            }
            ResourceKind::FlinkProject => {
                if prior.attrs.get("generated").and_then(Value::as_bool) == Some(true) {
                    return gone();
                }
                let region = Self::region_of(region, "DeleteNamespace")?;
                let (instance, ns) = split_project_id(&prior.cloud_id, "DeleteNamespace")?;
                let p = params(&[
                    ("InstanceId", &instance),
                    ("Region", region.as_str()),
                    ("Namespace", &ns),
                ]);
                (
                    client
                        .rpc(
                            Product::Foasconsole,
                            Some(region),
                            "DeleteNamespace",
                            p,
                            RpcMethod::Post,
                        )
                        .await
                        .map(|_| ()),
                    false,
                )
            }
        };
        match result {
            Ok(()) => Ok(done(&prior.cloud_id, &prior.attrs, finished)),
            Err(e) if e.kind == ProviderErrorKind::NotFound => gone(),
            Err(e) => Err(e.into()),
        }
    }
}
