//! [`AliProvider`]: the `flinkform_core::Provider` for Alibaba Cloud (and, through an
//! endpoint override, for the bundled emulator). It maps catalog attributes onto API
//! parameters and API answers back onto catalog attributes.
//!
//! Cloud ids: a workspace's is its instance id (`f-…`), a VPC's `vpc-…`, a vSwitch's
//! `vsw-…`, a bucket's and a RAM role's their names, OSS activation's `oss`, an account
//! balance check's the account name, and **a project's `<instanceId>/<namespace>`** (so that
//! [`Provider::read`] can find it: namespaces are only addressable within their instance).
//!
//! One module per resource kind, each with its refresh mapping, read, create, update and
//! delete: `account` (account facts, `account_balance`, `oss_service`), `role`
//! (`ram_role`), `vpc`, `vswitch`, `bucket` (`oss_bucket`), `workspace`
//! (`flink_workspace`), `project` (`flink_project`); the Marketplace and vendor kinds are
//! `crate::market`. `observe` is the batched refresh that reads the cloud for all of them.
//! This module holds the provider itself, the [`Provider`] impl (one dispatch line per
//! kind) and the small helpers the kinds share.

mod account;
mod bucket;
mod observe;
mod project;
mod role;
mod vpc;
mod vswitch;
mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use flinkform_core::{
    AccountName, AccountUid, Address, Attrs, ChangeRequest, CloudId, DeleteRequest, Mode,
    Observation, ObserveRequest, Observed, ObservedResource, Outcome, Provider, ProviderError,
    ProviderErrorKind, RecordedResource, Region, ResourceKind, Value,
};
use serde_json::{Value as Json, json};

use crate::client::{ApiError, Client, ClientOptions, RpcMethod};
use crate::credentials::{CredentialCache, Credentials};
use crate::endpoint::{Endpoints, Product};
use crate::error::Result;
use crate::tags;
use crate::wire;

pub(crate) use account::caller_uid;
pub use role::{ROLE_NAME, ROLE_TRUST_POLICY};
pub use workspace::BSS_PRODUCT_CODE;

/// Region used for calls that need one when nothing else names it (the international
/// site's BSS host and the emulator's default region).
pub const DEFAULT_REGION: &str = "ap-southeast-1";

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

/// The `ResourceSpec` of `cu` compute units (a workspace's or a project's quota).
fn resource_spec(cu: i64) -> String {
    json!({"Cpu": cu, "MemoryGB": 4 * cu}).to_string()
}

/// Pages of one listing fetched at once after the first (which tells the total).
const PAGE_CONCURRENCY: usize = 16;

/// How a list action pages: its paging parameters and page size, and where each answer
/// holds the items and the total.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub(crate) page_key: &'static str,
    pub(crate) size_key: &'static str,
    pub(crate) size: usize,
    pub(crate) items: &'static [&'static str],
    pub(crate) total: &'static [&'static str],
}

/// Pages through a list action, mapping each entry with `map` as its page arrives (a
/// fleet's listings are megabytes of JSON: only what `map` keeps stays; `None` drops an
/// entry). Once the first page tells the total, the other pages are fetched in parallel
/// (at most [`PAGE_CONCURRENCY`] at once) and joined in page order; without a total, one
/// after another until a short page.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn paged<T, M>(
    client: &Client,
    product: Product,
    region: Option<&Region>,
    action: &str,
    base: Params,
    method: RpcMethod,
    paging: Paging,
    map: M,
) -> Result<Vec<T>, ApiError>
where
    T: Send + 'static,
    M: Fn(Json) -> Option<T> + Clone + Send + 'static,
{
    let page_params = |page: u32| {
        let mut p = base.clone();
        p.push((paging.page_key.to_owned(), page.to_string()));
        p.push((paging.size_key.to_owned(), paging.size.to_string()));
        p
    };
    // A page's entries mapped, and how many it had.
    let entries = move |resp: Json, map: &M| {
        let raw = wire::take_list_at(resp, paging.items);
        let got = raw.len();
        (got, raw.into_iter().filter_map(map).collect::<Vec<T>>())
    };
    let resp = client
        .rpc_read(product, region, action, page_params(1), method)
        .await?;
    let total = wire::int_at(&resp, paging.total).and_then(|t| usize::try_from(t).ok());
    let (got, mut all) = entries(resp, &map);
    if let Some(total) = total {
        if got == 0 || got >= total {
            return Ok(all);
        }
        let pages = u32::try_from(total.div_ceil(paging.size.max(1)).min(10_000)).unwrap_or(10_000);
        let sem = Arc::new(tokio::sync::Semaphore::new(PAGE_CONCURRENCY));
        let mut set = tokio::task::JoinSet::new();
        for page in 2..=pages {
            let (client, sem, region) = (client.clone(), Arc::clone(&sem), region.cloned());
            let (action, params, map) = (action.to_owned(), page_params(page), map.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await.ok();
                let resp = client
                    .rpc_read(product, region.as_ref(), &action, params, method)
                    .await?;
                Ok::<_, ApiError>((page, entries(resp, &map).1))
            });
        }
        let mut rest = Vec::with_capacity(set.len());
        while let Some(joined) = set.join_next().await {
            let page = joined.map_err(|e| {
                ApiError::local(
                    ProviderErrorKind::Fatal,
                    action,
                    format!("page task failed: {e}"),
                )
            })??;
            rest.push(page);
        }
        rest.sort_by_key(|(page, _)| *page);
        all.extend(rest.into_iter().flat_map(|(_, items)| items));
        return Ok(all);
    }
    if got < paging.size {
        return Ok(all);
    }
    for page in 2..=10_000u32 {
        let resp = client
            .rpc_read(product, region, action, page_params(page), method)
            .await?;
        let (got, items) = entries(resp, &map);
        all.extend(items);
        if got < paging.size {
            break;
        }
    }
    Ok(all)
}

/// The entry of a mapped listing whose cloud id is `id`, taken out of it.
fn with_id(list: Vec<ObservedResource>, id: &str) -> Option<ObservedResource> {
    list.into_iter().find(|o| o.cloud_id.as_str() == id)
}

/// The first entry of a mapped listing whose `name` is `name` (a workspace's or a
/// project's; listings hold no deleted workspace).
fn with_name<'a>(
    list: impl IntoIterator<Item = &'a ObservedResource>,
    name: &str,
) -> Option<&'a ObservedResource> {
    list.into_iter()
        .find(|o| attr_str(&o.attrs, "name") == Some(name))
}

/// What a read found: the resource, or absent.
fn found(o: Option<ObservedResource>) -> Observation {
    o.map_or(Observation::Absent, Observation::Found)
}

fn region_of<'a>(
    req_region: Option<&'a Region>,
    action: &str,
) -> Result<&'a Region, ProviderError> {
    req_region.ok_or_else(|| invalid(action, "the resource has no region"))
}

/// Where a create happens: the request's region, else the attribute `region`.
fn create_region(req: &ChangeRequest, action: &str) -> Result<Region, ProviderError> {
    match req.region.as_ref() {
        Some(r) => Ok(r.clone()),
        None => Region::new(need_str(&req.attrs, "region", action)?)
            .map_err(|e| invalid(action, e.to_string())),
    }
}

/// A create that takes a resource this stack already made: the desired attributes, with
/// what was seen of it on top.
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

/// The outcome of a deletion call: done when `finished` (else pending until a read no
/// longer finds it); not found is success.
fn deleted<T>(
    prior: &RecordedResource,
    result: Result<T, ApiError>,
    finished: bool,
) -> Result<Outcome, ProviderError> {
    match result {
        Ok(_) => Ok(done(&prior.cloud_id, &prior.attrs, finished)),
        Err(e) if e.kind == ProviderErrorKind::NotFound => {
            Ok(done(&prior.cloud_id, &prior.attrs, true))
        }
        Err(e) => Err(e.into()),
    }
}

/// The attributes an update changes, sorted.
fn changed(req: &ChangeRequest) -> BTreeSet<&str> {
    req.changed.iter().map(String::as_str).collect()
}

/// The update of a kind whose only attribute that changes in place is `tags` (`vpc`,
/// `vswitch`, `oss_bucket`).
async fn update_tags_only(
    provider: &AliProvider,
    req: &ChangeRequest,
    client: &Client,
) -> Result<Outcome, ProviderError> {
    let kind = req.addr.kind();
    let id = prior_id(req, "TagResources")?;
    if let Some(other) = changed(req).into_iter().find(|c| *c != "tags") {
        return Err(invalid(
            "update",
            format!("`{other}` of a {kind} cannot change in place"),
        ));
    }
    let region = provider.region_or_default(req.region.as_ref());
    let prior = req.prior.as_ref().map(|p| tags::tag_map(&p.attrs));
    tags::set(
        client,
        kind,
        &region,
        id.as_str(),
        &tags::tag_map(&req.attrs),
        &prior.unwrap_or_default(),
    )
    .await?;
    Ok(done(id, &req.attrs, true))
}

/// The update of a kind with no attribute that changes in place.
fn fixed(kind: ResourceKind) -> Result<Outcome, ProviderError> {
    Err(invalid(
        "update",
        format!("a {kind} has no attributes that change in place"),
    ))
}

/// Batched workspace reads per account and region.
type PollBatches = BTreeMap<(AccountName, Region), Arc<workspace::PollBatch>>;

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
    /// Throttled answers of every client, shared with the executor's limiter.
    throttles: Arc<flinkform_core::Throttles>,
    /// Batched reads of workspaces, per account and region.
    poll_batches: Arc<std::sync::Mutex<PollBatches>>,
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
        let throttles = Arc::new(flinkform_core::Throttles::default());
        let clients = accounts
            .into_iter()
            .map(|(name, creds)| {
                Ok((
                    name,
                    Client::new(endpoints.clone(), creds, options.clone())?
                        .sharing_throttles(Arc::clone(&throttles)),
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
            throttles,
            poll_batches: Arc::default(),
        })
    }

    /// A provider for `accounts`, each signing with its [`CredentialCache`] (temporary
    /// credentials refreshed before they expire).
    ///
    /// # Errors
    /// As [`AliProvider::new`].
    pub fn with_credentials(
        endpoints: Endpoints,
        accounts: BTreeMap<AccountName, Arc<CredentialCache>>,
        options: ClientOptions,
    ) -> Result<Self> {
        let mut provider = Self::new(endpoints.clone(), BTreeMap::new(), options.clone())?;
        provider.clients = accounts
            .into_iter()
            .map(|(name, cache)| {
                Ok((
                    name,
                    Client::with_cache(endpoints.clone(), cache, options.clone())?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(provider)
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

    /// `region`, else [`DEFAULT_REGION`] (buckets, whose region a request may not name).
    fn region_or_default(&self, region: Option<&Region>) -> Region {
        region
            .cloned()
            .unwrap_or_else(|| self.default_region.clone())
    }

    /// The batch of workspace reads of `account` in `region`.
    pub(crate) fn poll_batch(
        &self,
        account: &AccountName,
        region: &Region,
    ) -> Arc<workspace::PollBatch> {
        let mut batches = self
            .poll_batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            batches
                .entry((account.clone(), region.clone()))
                .or_default(),
        )
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
}

#[async_trait]
impl Provider for AliProvider {
    fn throttles(&self) -> Option<Arc<flinkform_core::Throttles>> {
        Some(Arc::clone(&self.throttles))
    }

    async fn whoami(&self, account: &AccountName) -> Result<AccountUid, ProviderError> {
        Ok(caller_uid(self.client(account)?).await?)
    }

    async fn observe(&self, req: &ObserveRequest<'_>) -> Result<Observed, ProviderError> {
        let mut observed = observe::observe(self, req).await?;
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
        let client = self.client(account)?;
        match addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => self.read_market(addr, account, cloud_id).await,
            ResourceKind::OssService => Ok(account::read_oss_service()),
            ResourceKind::AccountBalance => {
                account::read_balance(self, client, account, region).await
            }
            ResourceKind::RamRole => role::read(client, cloud_id).await,
            ResourceKind::Vpc => vpc::read(client, region, cloud_id).await,
            ResourceKind::Vswitch => vswitch::read(client, region, cloud_id).await,
            ResourceKind::OssBucket => bucket::read(self, client, region, cloud_id).await,
            ResourceKind::FlinkWorkspace => {
                workspace::read(self, account, client, region, cloud_id).await
            }
            ResourceKind::FlinkProject => project::read(client, region, cloud_id).await,
        }
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let client = self.client(&req.account)?;
        match req.addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => self.create_market(req).await,
            ResourceKind::AccountBalance => account::create_balance(),
            ResourceKind::OssService => account::create_oss_service(req, client).await,
            ResourceKind::RamRole => role::create(req, client).await,
            ResourceKind::Vpc => vpc::create(req, client).await,
            ResourceKind::Vswitch => vswitch::create(req, client).await,
            ResourceKind::OssBucket => bucket::create(req, client).await,
            ResourceKind::FlinkWorkspace => workspace::create(req, client).await,
            ResourceKind::FlinkProject => project::create(req, client).await,
        }
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Outcome, ProviderError> {
        let client = self.client(&req.account)?;
        match req.addr.kind() {
            ResourceKind::SaasWorkspace => self.update_market(req).await,
            ResourceKind::RamRole => role::update(req, client).await,
            ResourceKind::FlinkWorkspace => workspace::update(self, req, client).await,
            ResourceKind::FlinkProject => project::update(req, client).await,
            ResourceKind::Vpc => vpc::update(self, req, client).await,
            ResourceKind::Vswitch => vswitch::update(self, req, client).await,
            ResourceKind::OssBucket => bucket::update(self, req, client).await,
            kind @ (ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::OssService
            | ResourceKind::AccountBalance) => fixed(kind),
        }
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<Outcome, ProviderError> {
        let client = self.client(&req.prior.account)?;
        match req.prior.addr.kind() {
            ResourceKind::MarketOrder
            | ResourceKind::BillingAccount
            | ResourceKind::Gate
            | ResourceKind::SettlementBinding
            | ResourceKind::SaasWorkspace => self.delete_market(req).await,
            ResourceKind::OssService | ResourceKind::AccountBalance => Ok(account::delete(req)),
            ResourceKind::RamRole => Ok(role::delete(req)),
            ResourceKind::Vpc => vpc::delete(req, client).await,
            ResourceKind::Vswitch => vswitch::delete(req, client).await,
            ResourceKind::OssBucket => bucket::delete(self, req, client).await,
            ResourceKind::FlinkWorkspace => workspace::delete(req, client).await,
            ResourceKind::FlinkProject => project::delete(req, client).await,
        }
    }

    async fn quote(
        &self,
        desired: &flinkform_core::DesiredResource,
        current: Option<&Attrs>,
    ) -> Result<Option<flinkform_core::Price>, ProviderError> {
        match desired.addr.kind() {
            ResourceKind::FlinkWorkspace => {
                workspace::quote(self.client(&desired.account)?, desired, current).await
            }
            _ => Ok(None),
        }
    }
}
