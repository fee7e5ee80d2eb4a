//! The batched refresh: which listings to read for the requested resources, read with
//! bounded concurrency in pipelined stages, then one mapping per kind module from the listings to
//! observations.
//!
//! `observe` is batched: per account and region one paged `DescribeInstances`,
//! `DescribeVpcs` and `DescribeVSwitches`; per account one `ListBuckets`, one
//! `GetRole` + `ListPoliciesForRole`, one `QueryAvailableInstances` (auto-renewal of
//! subscriptions); per workspace with projects one `DescribeNamespaces`; and per requested
//! account its facts (`GetCallerIdentity`, `QueryAccountBalance`,
//! `DescribeSupportedRegions`, `DescribeSupportedZones` per requested region).
//!
//! Stages, each a set of independent reads run at most [`OBSERVE_CONCURRENCY`] at once
//! per kind; the pages of a listing are fetched in parallel once the first page tells the
//! total, and listings are indexed by id (a lookup per resource, not a search). Every stage
//! starts as soon as what it needs is in (a pipeline, not phases that wait for each other):
//! - at once: the listings per account and region (instances, VPCs, vSwitches) and per
//!   account (buckets, the role), the account facts (the UID, usually known from before the
//!   refresh, the balance and the Flink regions at the same time, then the zones), the
//!   resource groups, the balances of balance checks of accounts whose facts are not asked
//!   for, and the namespaces of projects whose instance id is known (recorded, or the
//!   spec's `workspace_id`);
//! - once the instance listings are in: the namespaces of the other projects (a project's
//!   instance is looked up in its own region only);
//! - once the instance listings and the facts are in: the workspaces, by name in the
//!   account's other regions the site offers (listed now) for a name not found in its own,
//!   then the renewal statuses of the subscriptions found;
//! - once the bucket listings are in: the tags (and object counts) of the buckets found and,
//!   at the same time, whether another account owns a bucket name to create.
//!
//! The outcome does not depend on the timing: of several failures, the first in the fixed
//! order of [`Stage`] wins (a stage's failure waits for every earlier stage to succeed;
//! every stage depends only on earlier ones), and dropping the refresh aborts its reads.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flinkform_core::{
    AccountFacts, AccountName, Address, Attrs, CloudId, Mode, Observation, ObserveRequest,
    Observed, ObservedResource, ProviderError, ProviderErrorKind, Region, ResourceKind,
};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::{
    AliProvider, account, attr_str, bucket, invalid, project, role, vpc, vswitch, workspace,
};
use crate::client::{ApiError, Client};
use crate::endpoint::is_china_site_region;
use crate::rm;
use crate::tags;

/// How many reads of one kind `observe` runs at once (per-resource reads such as one
/// `DescribeNamespaces` per workspace or one `GetBucketTags` per bucket; the client retries
/// a throttled read after the cloud's `Retry-After`).
const OBSERVE_CONCURRENCY: usize = 64;

/// One requested resource, merged from its desired and recorded forms (its attributes
/// borrowed from the request: a fleet's are megabytes).
#[derive(Debug, Clone)]
pub(super) struct Item<'a> {
    pub(super) addr: Address,
    pub(super) mode: Mode,
    pub(super) account: AccountName,
    pub(super) region: Option<Region>,
    pub(super) cloud_id: Option<CloudId>,
    pub(super) attrs: &'a Attrs,
}

impl Item<'_> {
    pub(super) fn name(&self) -> Option<&str> {
        attr_str(self.attrs, "name")
    }

    /// The id to look for: recorded, else (data sources) the spec's `id`.
    pub(super) fn known_id(&self) -> Option<String> {
        self.cloud_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .or_else(|| attr_str(self.attrs, "id").map(str::to_owned))
    }

    /// For projects: (workspace name, project name) from the address `<ws>/<project>`.
    pub(super) fn project_names(&self) -> (String, String) {
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

fn merge_items<'a>(req: &ObserveRequest<'a>) -> BTreeMap<Address, Item<'a>> {
    let mut items: BTreeMap<Address, Item<'a>> = BTreeMap::new();
    for d in &req.desired {
        items.insert(
            d.addr.clone(),
            Item {
                addr: d.addr.clone(),
                mode: d.mode,
                account: d.account.clone(),
                region: d.region.clone(),
                cloud_id: None,
                attrs: &d.attrs,
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
            attrs: &r.attrs,
        });
        // The recorded resource is what exists: find it where the state says it is.
        item.account = r.account.clone();
        item.region = r.region.clone().or_else(|| item.region.clone());
        item.cloud_id = Some(r.cloud_id.clone());
    }
    items
}

/// Runs `futs` with at most as many at once as `sem` has permits (shared by every batch
/// of one kind of read); results in input order.
async fn bounded<T, F>(futs: Vec<F>, sem: &Arc<Semaphore>) -> Result<Vec<T>, ProviderError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut set = JoinSet::new();
    let n = futs.len();
    for (i, f) in futs.into_iter().enumerate() {
        let sem = Arc::clone(sem);
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

/// The bound of one kind of read: [`OBSERVE_CONCURRENCY`] at once.
fn one_kind() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(OBSERVE_CONCURRENCY))
}

/// `read(key)` for every key, as many at once as `sem` allows; every result with its key
/// (in key order).
async fn read_all<K, T, Fut>(
    sem: &Arc<Semaphore>,
    keys: impl IntoIterator<Item = K>,
    read: impl FnMut(&K) -> Result<Fut, ProviderError>,
) -> Result<Vec<(K, Result<T, ApiError>)>, ProviderError>
where
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let keys: Vec<K> = keys.into_iter().collect();
    let futs = keys.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let results = bounded(futs, sem).await?;
    Ok(keys.into_iter().zip(results).collect())
}

/// One set of reads: `read(key)` for every key, at most [`OBSERVE_CONCURRENCY`] at once;
/// the results with their keys (in key order), or the first failure in that order.
async fn read_each<K, T, Fut, C>(
    keys: impl IntoIterator<Item = K>,
    read: impl FnMut(&K) -> Result<Fut, ProviderError>,
) -> Result<C, ProviderError>
where
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
    C: FromIterator<(K, T)>,
{
    Ok(read_all(&one_kind(), keys, read)
        .await?
        .into_iter()
        .map(|(key, res)| Ok((key, res?)))
        .collect::<Result<C, ApiError>>()?)
}

/// The reads of one refresh, in the order their failures are reported: of several that
/// fail, the first in this order wins (whichever failed first in time). Every read depends
/// only on reads before it.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Instances,
    Vpcs,
    Vswitches,
    BucketLists,
    Roles,
    Facts,
    Groups,
    Balances,
    Workspaces,
    Namespaces,
    BucketTags,
    BucketProbes,
}

/// Which stages have succeeded; a failed stage reports once every stage before it has.
struct Stages {
    done: watch::Sender<u32>,
}

impl Stages {
    fn new() -> Self {
        Self {
            done: watch::Sender::new(0),
        }
    }

    /// Runs `stage`: its value, or its failure once every earlier stage has succeeded
    /// (never, when one of them fails: that failure is reported instead).
    async fn run<T>(
        &self,
        stage: Stage,
        fut: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let bit = 1u32 << (stage as u32);
        match fut.await {
            Ok(v) => {
                self.done.send_modify(|m| *m |= bit);
                Ok(v)
            }
            Err(e) => {
                let before = bit - 1;
                let mut rx = self.done.subscribe();
                if rx.wait_for(|m| m & before == before).await.is_err() {
                    std::future::pending::<()>().await;
                }
                Err(e)
            }
        }
    }
}

/// The value `tx` is given, once it is (never, when its stage fails).
async fn given<T: Clone>(tx: &watch::Sender<Option<T>>) -> T {
    let mut rx = tx.subscribe();
    let value = match rx.wait_for(Option::is_some).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    };
    match value {
        Some(v) => v,
        None => std::future::pending().await,
    }
}

/// A listing in a region the account's site does not offer finds nothing (the planner
/// reports the region from the account facts); other errors stay errors.
fn unless_region_unsupported<T>(list: Result<Vec<T>, ApiError>) -> Result<Vec<T>, ApiError> {
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

/// Refresh of a VPC-product resource (`vpc`, `vswitch`) from its region's listing: by the
/// known id, else, managed and not yet recorded, by this resource's ownership mark (their
/// names are not unique).
pub(super) fn by_id_or_mark(it: &Item, listings: &Listed) -> Option<Observation> {
    let region = it.region.as_ref()?;
    let list = listings.get(&(it.account.clone(), region.clone()))?;
    let hit = match it.known_id() {
        Some(id) => list.by_id(&id),
        None if it.mode == Mode::Managed => {
            list.iter().find(|o| tags::same_mark(&o.attrs, it.attrs))
        }
        None => None,
    }?;
    Some(Observation::Found(hit.clone()))
}

/// What one refresh reads with: clients that count its calls, the requested resources,
/// and the regions each account uses.
struct Refresh<'a> {
    provider: &'a AliProvider,
    counter: Arc<AtomicU64>,
    clients: BTreeMap<AccountName, Client>,
    items: BTreeMap<Address, Item<'a>>,
    /// Account → the regions it uses (for the BSS host and the OSS service host).
    home: BTreeMap<AccountName, BTreeSet<Region>>,
}

impl<'a> Refresh<'a> {
    fn new(provider: &'a AliProvider, req: &ObserveRequest<'a>) -> Self {
        let counter = Arc::new(AtomicU64::new(0));
        let clients = provider
            .clients
            .iter()
            .map(|(k, c)| (k.clone(), c.counting(Arc::clone(&counter))))
            .collect();
        let items = merge_items(req);
        let mut home: BTreeMap<AccountName, BTreeSet<Region>> = req.accounts.clone();
        for it in items.values() {
            if let Some(r) = &it.region {
                home.entry(it.account.clone())
                    .or_default()
                    .insert(r.clone());
            }
        }
        Self {
            provider,
            counter,
            clients,
            items,
            home,
        }
    }

    fn client(&self, account: &AccountName) -> Result<Client, ProviderError> {
        self.clients.get(account).cloned().ok_or_else(|| {
            self.provider
                .client(account)
                .err()
                .unwrap_or_else(|| invalid("observe", "unknown account"))
        })
    }

    /// The region whose BSS host serves `account`: a China-site region it uses, else any
    /// region it uses, else the default one.
    fn bss_region(&self, account: &AccountName) -> Region {
        let regions = self.home.get(account);
        regions
            .and_then(|rs| {
                rs.iter()
                    .find(|r| is_china_site_region(r.as_str()))
                    .or_else(|| rs.iter().next())
            })
            .cloned()
            .unwrap_or_else(|| self.provider.default_region.clone())
    }

    /// A region `account` uses (the OSS service host), else the default one.
    fn any_region(&self, account: &AccountName) -> Region {
        self.home
            .get(account)
            .and_then(|rs| rs.iter().next().cloned())
            .unwrap_or_else(|| self.provider.default_region.clone())
    }

    /// The requested resources of `kinds`.
    fn of<'s>(&'s self, kinds: &'s [ResourceKind]) -> impl Iterator<Item = &'s Item<'a>> {
        self.items
            .values()
            .filter(move |i| kinds.contains(&i.addr.kind()))
    }

    /// The (account, region) pairs of the requested resources of `kinds`.
    fn regions_of(&self, kinds: &[ResourceKind]) -> BTreeSet<(AccountName, Region)> {
        self.of(kinds)
            .filter_map(|it| Some((it.account.clone(), it.region.clone()?)))
            .collect()
    }

    /// The accounts of the requested resources of `kind`.
    fn accounts_of(&self, kind: ResourceKind) -> BTreeSet<AccountName> {
        self.of(&[kind]).map(|it| it.account.clone()).collect()
    }
}

/// One listing, its entries (mapped as their pages arrived) indexed by their id (refresh
/// matches thousands of resources against listings of thousands: a lookup each, not a
/// search).
#[derive(Debug, Default)]
pub(super) struct Listing {
    items: Vec<ObservedResource>,
    /// Id → position of the first entry with it.
    by_id: HashMap<CloudId, usize>,
}

impl Listing {
    /// `items` indexed by their id.
    pub(super) fn new(items: Vec<ObservedResource>) -> Self {
        let mut by_id = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            by_id.entry(item.cloud_id.clone()).or_insert(i);
        }
        Self { items, by_id }
    }

    /// The entry whose id is `id`.
    pub(super) fn by_id(&self, id: &str) -> Option<&ObservedResource> {
        self.by_id.get(id).and_then(|i| self.items.get(*i))
    }
}

impl std::ops::Deref for Listing {
    type Target = [ObservedResource];

    fn deref(&self) -> &[ObservedResource] {
        &self.items
    }
}

/// Listings per account and region.
pub(super) type Listed = BTreeMap<(AccountName, Region), Listing>;

/// Listings per (account, region), indexed by id; a region the site does not offer lists
/// nothing.
async fn list_regions<Fut>(
    keys: impl IntoIterator<Item = (AccountName, Region)>,
    mut list: impl FnMut(&(AccountName, Region)) -> Result<Fut, ProviderError>,
) -> Result<Listed, ProviderError>
where
    Fut: Future<Output = Result<Vec<ObservedResource>, ApiError>> + Send + 'static,
{
    read_each(keys, |key| {
        let fut = list(key)?;
        Ok(async move { unless_region_unsupported(fut.await).map(Listing::new) })
    })
    .await
}

/// An account's buckets with their regions.
type BucketLists = BTreeMap<AccountName, Vec<(String, Option<String>)>>;

/// What a stage waits for until another stage gives it.
type Given<T> = watch::Sender<Option<Arc<T>>>;

/// Reads the cloud for every requested resource (all but the Marketplace kinds, which
/// `crate::market` observes) and every requested account.
pub(super) async fn observe(
    provider: &AliProvider,
    req: &ObserveRequest<'_>,
) -> Result<Observed, ProviderError> {
    use ResourceKind as K;
    let cx = Refresh::new(provider, req);
    if let Ok(mut known) = provider.bss_regions.lock() {
        for acct in cx.home.keys() {
            known.insert(acct.clone(), cx.bss_region(acct));
        }
    }
    let stages = Stages::new();
    // What later reads wait for: the instance listings of the requested regions, the
    // account facts.
    let instances_in: Given<Listed> = watch::Sender::new(None);
    let facts_in: Given<BTreeMap<AccountName, AccountFacts>> = watch::Sender::new(None);

    // Every read that needs nothing else starts at once.
    let instances = stages.run(Stage::Instances, async {
        let listed = list_regions(
            cx.regions_of(&[K::FlinkWorkspace, K::FlinkProject]),
            |(acct, region)| Ok(workspace::list(cx.client(acct)?, region.clone(), None)),
        )
        .await?;
        instances_in.send_replace(Some(Arc::new(listed)));
        Ok(())
    });
    let vpcs = stages.run(
        Stage::Vpcs,
        list_regions(cx.regions_of(&[K::Vpc]), |(acct, region)| {
            Ok(vpc::list(cx.client(acct)?, region.clone(), None))
        }),
    );
    let vswitches = stages.run(
        Stage::Vswitches,
        list_regions(cx.regions_of(&[K::Vswitch]), |(acct, region)| {
            Ok(vswitch::list(cx.client(acct)?, region.clone(), None))
        }),
    );
    // The buckets' details as soon as their accounts' listings are in.
    let buckets = async {
        let listed: BucketLists = stages
            .run(
                Stage::BucketLists,
                read_each(cx.accounts_of(K::OssBucket), |acct| {
                    Ok(bucket::list(cx.client(acct)?, cx.any_region(acct)))
                }),
            )
            .await?;
        let (read, foreign) = bucket_details(&cx, req, &stages, &listed).await?;
        Ok::<_, ProviderError>(bucket::Seen {
            listed,
            read,
            foreign,
        })
    };
    let role_names: BTreeSet<(AccountName, String)> = cx
        .of(&[K::RamRole])
        .map(|it| (it.account.clone(), role::name_of(it)))
        .collect();
    let roles = stages.run(
        Stage::Roles,
        read_each(role_names, |(acct, name)| {
            Ok(role::read_role(cx.client(acct)?, name.clone()))
        }),
    );
    let facts = stages.run(Stage::Facts, async {
        let read: Vec<(AccountName, (AccountFacts, String))> =
            read_each(req.accounts.keys().cloned(), |acct| {
                let regions = req.accounts.get(acct).cloned().unwrap_or_default();
                Ok(account::facts(
                    cx.client(acct)?,
                    regions,
                    cx.bss_region(acct),
                    cx.provider.default_region.clone(),
                ))
            })
            .await?;
        let mut facts: BTreeMap<AccountName, AccountFacts> = BTreeMap::new();
        let mut balances: BTreeMap<AccountName, (String, String)> = BTreeMap::new();
        for (acct, (f, amount)) in read {
            if let Some(b) = &f.balance {
                balances.insert(acct.clone(), (amount, b.currency.clone()));
            }
            facts.insert(acct, f);
        }
        facts_in.send_replace(Some(Arc::new(facts.clone())));
        Ok((facts, balances))
    });
    // Resource groups, read only for accounts whose desired workspaces name one (among
    // those whose facts are asked for).
    let groups = stages.run(
        Stage::Groups,
        read_each(account::group_accounts(req, &req.accounts), |acct| {
            let client = cx.client(acct)?;
            Ok(async move { rm::group_ids(&client).await })
        }),
    );
    // Balances for balance checks of accounts whose facts are not asked for (the facts
    // hold the balance of the others).
    let balance_checks: Vec<AccountName> = cx
        .accounts_of(K::AccountBalance)
        .into_iter()
        .filter(|acct| !req.accounts.contains_key(acct))
        .collect();
    let checked = stages.run(
        Stage::Balances,
        read_each(balance_checks, |acct| {
            let client = cx.client(acct)?;
            let region = cx.bss_region(acct);
            Ok(async move { account::query_balance(&client, &region).await })
        }),
    );
    // The workspaces once the listings of their regions and the facts (the regions the
    // site offers) are in; the projects' namespaces as soon as their instance is known.
    let flink = stages.run(Stage::Workspaces, async {
        let own = given(&instances_in).await;
        let facts = given(&facts_in).await;
        workspaces(&cx, &own, &facts).await
    });
    let namespaces = stages.run(Stage::Namespaces, projects(&cx, &instances_in));

    let (
        (),
        vpcs,
        vswitches,
        buckets,
        roles,
        (mut facts, mut balances),
        groups,
        checked,
        (mut matched, renew),
        (instance_of, namespaces),
    ) = tokio::try_join!(
        instances, vpcs, vswitches, buckets, roles, facts, groups, checked, flink, namespaces
    )?;
    let groups: Vec<(AccountName, BTreeSet<String>)> = groups;
    for (acct, ids) in groups {
        if let Some(f) = facts.get_mut(&acct) {
            f.resource_groups = Some(ids);
        }
    }
    let checked: Vec<(AccountName, (String, String, i64))> = checked;
    for (acct, (amount, currency, _)) in checked {
        balances.insert(acct, (amount, currency));
    }

    // Each kind's mapping from what was read; a listing is dropped as soon as its kind is
    // mapped (a fleet's listings and observations are megabytes each: never all at once).
    // The workspaces found hold what they need of the instance listings.
    instances_in.send_replace(None);
    let mut resources: BTreeMap<Address, Observation> = BTreeMap::new();
    let mut mapped = |kind: ResourceKind, map: &mut dyn FnMut(&Item) -> Option<Observation>| {
        for it in cx.of(&[kind]) {
            resources.insert(it.addr.clone(), map(it).unwrap_or(Observation::Absent));
        }
    };
    mapped(K::FlinkWorkspace, &mut |it| {
        workspace::observation(it, &mut matched, &renew)
    });
    drop(matched);
    mapped(K::FlinkProject, &mut |it| {
        project::observation(it, &instance_of, &namespaces)
    });
    drop(namespaces);
    mapped(K::Vpc, &mut |it| vpc::observation(it, &vpcs));
    drop(vpcs);
    mapped(K::Vswitch, &mut |it| vswitch::observation(it, &vswitches));
    let network = vswitch::network(cx.items.values(), &vswitches);
    drop(vswitches);
    for it in cx.items.values() {
        let obs = match it.addr.kind() {
            // Mapped above, listing by listing.
            K::FlinkWorkspace | K::FlinkProject | K::Vpc | K::Vswitch => continue,
            K::OssBucket => bucket::observation(it, &buckets),
            K::RamRole => role::observation(it, &roles),
            K::AccountBalance => account::observation(it, &balances),
            K::OssService => Some(Observation::Unknown),
            // Marketplace and vendor resources: `crate::market`.
            K::MarketOrder
            | K::BillingAccount
            | K::Gate
            | K::SettlementBinding
            | K::SaasWorkspace => None,
        };
        resources.insert(it.addr.clone(), obs.unwrap_or(Observation::Absent));
    }

    let mut accounts = BTreeMap::new();
    for acct in req.accounts.keys() {
        accounts.insert(acct.clone(), facts.remove(acct).unwrap_or_default());
    }
    Ok(Observed {
        resources,
        accounts,
        api_calls: cx.counter.load(Ordering::Relaxed),
        network,
        ..Observed::default()
    })
}

/// The workspaces, in their own region (`own`: the listings of the requested regions),
/// then by name in the account's other regions the site offers (listed now); then the
/// auto-renewal of the subscriptions found, per account.
async fn workspaces(
    cx: &Refresh<'_>,
    own: &Listed,
    facts: &BTreeMap<AccountName, AccountFacts>,
) -> Result<(workspace::Matched, BTreeMap<String, String>), ProviderError> {
    let mut matched = workspace::match_listed(cx.items.values(), own);
    let others = workspace::other_regions(cx.items.values(), &matched, facts, own);
    let listed = list_regions(others, |(acct, region)| {
        Ok(workspace::list(cx.client(acct)?, region.clone(), None))
    })
    .await?;
    workspace::match_elsewhere(cx.items.values(), &[own, &listed], &mut matched);
    let renewals: Vec<(AccountName, BTreeMap<String, String>)> =
        read_each(workspace::subscription_accounts(&matched), |acct| {
            Ok(workspace::renew_statuses(
                cx.client(acct)?,
                cx.bss_region(acct),
                None,
            ))
        })
        .await?;
    let renew = renewals.into_iter().flat_map(|(_, r)| r).collect();
    Ok((matched, renew))
}

/// The projects' instance ids, and one `DescribeNamespaces` per instance (of those that
/// exist): at once for the instances whose id is known (recorded, or the spec's
/// `workspace_id`), the others once the listings of their regions (`instances_in`) name
/// them; one bound for both, the first failure in instance order.
///
/// A project's instance is looked up only in its own region's listing, so the listings of
/// other regions (read for workspaces) never change it.
async fn projects(
    cx: &Refresh<'_>,
    instances_in: &Given<Listed>,
) -> Result<
    (
        BTreeMap<Address, project::Instance>,
        BTreeMap<project::Instance, Vec<ObservedResource>>,
    ),
    ProviderError,
> {
    let sem = one_kind();
    let read = |(acct, region, id): &project::Instance| {
        Ok(project::list(
            cx.client(acct)?,
            region.clone(),
            id.clone(),
            None,
        ))
    };
    let known: BTreeSet<project::Instance> =
        project::instances_of(cx.items.values(), &Listed::new())
            .into_values()
            .collect();
    let early = read_all(&sem, known.iter().cloned(), read);
    let late = async {
        let own = given(instances_in).await;
        let instance_of = project::instances_of(cx.items.values(), &own);
        drop(own);
        let rest: BTreeSet<project::Instance> = instance_of
            .values()
            .filter(|i| !known.contains(*i))
            .cloned()
            .collect();
        Ok::<_, ProviderError>((instance_of, read_all(&sem, rest, read).await?))
    };
    let (early, late) = tokio::join!(early, late);
    let (instance_of, late) = late?;
    let read: BTreeMap<project::Instance, Result<Option<Vec<ObservedResource>>, ApiError>> =
        early?.into_iter().chain(late).collect();
    let mut namespaces = BTreeMap::new();
    for (key, res) in read {
        if let Some(list) = res? {
            namespaces.insert(key, list);
        }
    }
    Ok((instance_of, namespaces))
}

/// The tags (and object counts) of the requested buckets the account has, and which
/// bucket names to create another account owns (the two at the same time).
async fn bucket_details(
    cx: &Refresh<'_>,
    req: &ObserveRequest<'_>,
    stages: &Stages,
    listed: &BucketLists,
) -> Result<
    (
        BTreeMap<(AccountName, String), bucket::BucketSeen>,
        BTreeSet<(AccountName, String)>,
    ),
    ProviderError,
> {
    let desired_region: BTreeMap<&Address, Option<&str>> = req
        .desired
        .iter()
        .map(|d| (&d.addr, attr_str(&d.attrs, "region")))
        .collect();
    let (tag_reads, probes) = bucket::further_reads(
        cx.of(&[ResourceKind::OssBucket]),
        listed,
        &desired_region,
        &cx.provider.default_region,
    );
    let tags = stages.run(
        Stage::BucketTags,
        read_each(tag_reads, |(acct, name, region, count)| {
            Ok(bucket::read_seen(
                cx.client(acct)?,
                region.clone(),
                name.clone(),
                *count,
            ))
        }),
    );
    let owned = stages.run(
        Stage::BucketProbes,
        read_each(probes, |(acct, name)| {
            Ok(bucket::owned_elsewhere(
                cx.client(acct)?,
                cx.any_region(acct),
                name.clone(),
            ))
        }),
    );
    let (read, owned) = tokio::try_join!(tags, owned)?;
    let read: Vec<(bucket::TagRead, bucket::BucketSeen)> = read;
    let owned: Vec<((AccountName, String), bool)> = owned;
    let read = read
        .into_iter()
        .map(|((acct, name, _, _), seen)| ((acct, name), seen))
        .collect();
    let foreign = owned
        .into_iter()
        .filter_map(|(key, taken)| taken.then_some(key))
        .collect();
    Ok((read, foreign))
}
