//! `flink_project`: a project (a namespace) of a Flink workspace, with its CU quota; its
//! cloud id is `<instanceId>/<namespace>`. A workspace's generated default project is made
//! by the service with the workspace and is never deleted on its own.
//!
//! API actions (foasconsole): `DescribeNamespaces` (refresh reads one per workspace with
//! projects), `CreateNamespace`, `ModifyPrepayNamespaceSpec`, `DeleteNamespace`.
//!
//! Idempotency: by name within the workspace. `CreateNamespace` answering
//! `Namespace.AlreadyExists` is success; a generated default project is created only when
//! it is missing from a RUNNING workspace ([`super::workspace::default_project_missing`]).
//! Deleting one that is not found is success.

use std::collections::BTreeMap;

use flinkform_core::{
    AccountName, Address, ChangeRequest, CloudId, DeleteRequest, Observation, ObservedResource,
    Outcome, ProviderError, ProviderErrorKind, Region, ResourceKind, Value,
};
use serde_json::Value as Json;

use super::observe::{Item, Listed};
use super::{
    Paging, attr_int, attr_str, changed, deleted, done, found, invalid, need_str, paged, params,
    prior_id, region_of, resource_spec, with_name, workspace,
};
use crate::client::{ApiError, Client, RpcMethod};
use crate::endpoint::Product;
use crate::wire;

/// How `DescribeNamespaces` pages.
const NAMESPACE_PAGES: Paging = Paging {
    page_key: "PageIndex",
    size_key: "PageSize",
    size: 100,
    items: &["Namespaces"],
    total: &["TotalCount"],
};

/// The namespaces of an instance as projects; `None` when the instance does not exist.
pub(super) async fn list(
    client: Client,
    region: Region,
    instance_id: String,
    namespace: Option<String>,
) -> Result<Option<Vec<ObservedResource>>, ApiError> {
    let mut base = params(&[("InstanceId", &instance_id), ("Region", region.as_str())]);
    if let Some(ns) = namespace {
        base.push(("Namespace".to_owned(), ns));
    }
    let map = {
        let region = region.clone();
        move |ns: Json| wire::project(&ns, &instance_id, region.as_str())
    };
    let res = paged(
        &client,
        Product::Foasconsole,
        Some(&region),
        "DescribeNamespaces",
        base,
        RpcMethod::Get,
        NAMESPACE_PAGES,
        map,
    )
    .await;
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
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

/// The instance a refresh reads namespaces of: account, region, instance id.
pub(super) type Instance = (AccountName, Region, String);

/// Refresh: the instance of each project, from its recorded id, its `workspace_id`, or its
/// workspace's name in the instance listing of its region.
pub(super) fn instances_of<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    instances: &Listed,
) -> BTreeMap<Address, Instance> {
    let mut out = BTreeMap::new();
    for it in items.filter(|i| i.addr.kind() == ResourceKind::FlinkProject) {
        let Some(region) = &it.region else { continue };
        let (ws_name, _) = it.project_names();
        let id = it
            .cloud_id
            .as_ref()
            .and_then(|c| c.as_str().split_once('/').map(|(i, _)| i.to_owned()))
            .or_else(|| attr_str(it.attrs, "workspace_id").map(str::to_owned))
            .or_else(|| {
                instances
                    .get(&(it.account.clone(), region.clone()))
                    // The live workspace of that name, never a deleted one of the past.
                    .and_then(|list| with_name(list.iter(), &ws_name))
                    .map(|ws| ws.cloud_id.as_str().to_owned())
            });
        if let Some(id) = id {
            out.insert(it.addr.clone(), (it.account.clone(), region.clone(), id));
        }
    }
    out
}

/// Refresh: the project in its instance's namespaces (`namespaces` holds those of the
/// instances that exist).
pub(super) fn observation(
    it: &Item,
    instance_of: &BTreeMap<Address, Instance>,
    namespaces: &BTreeMap<Instance, Vec<ObservedResource>>,
) -> Option<Observation> {
    let list = namespaces.get(instance_of.get(&it.addr)?)?;
    let (_, project) = it.project_names();
    with_name(list, &project).cloned().map(Observation::Found)
}

pub(super) async fn read(
    client: &Client,
    region: Option<&Region>,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let region = region_of(region, "DescribeNamespaces")?;
    let (instance, ns) = split_project_id(cloud_id, "DescribeNamespaces")?;
    let list = list(
        client.clone(),
        region.clone(),
        instance.clone(),
        Some(ns.clone()),
    )
    .await?;
    Ok(found(list.and_then(|l| with_name(&l, &ns).cloned())))
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "CreateNamespace";
    let a = &req.attrs;
    let region = region_of(req.region.as_ref(), A)?;
    let instance = need_str(a, "workspace_id", A)?;
    let name = need_str(a, "name", A)?;
    let cloud_id =
        CloudId::new(format!("{instance}/{name}")).map_err(|e| invalid(A, e.to_string()))?;
    if a.get("generated").and_then(Value::as_bool) == Some(true)
        && !workspace::default_project_missing(client, region, instance, name).await?
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

/// Only `cu` changes in place (`ModifyPrepayNamespaceSpec`, pending until read back).
pub(super) async fn update(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "ModifyPrepayNamespaceSpec";
    let a = &req.attrs;
    let id = prior_id(req, A)?;
    if let Some(other) = changed(req).into_iter().find(|c| *c != "cu") {
        return Err(invalid(
            "update",
            format!("`{other}` of a project cannot change in place"),
        ));
    }
    let region = region_of(req.region.as_ref(), A)?;
    let (instance, ns) = split_project_id(id, A)?;
    let cu = attr_int(a, "cu").ok_or_else(|| invalid(A, "attribute `cu` is missing"))?;
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

/// `DeleteNamespace`, pending until a read no longer finds it; a generated default
/// project goes with its workspace and is done at once.
pub(super) async fn delete(req: &DeleteRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "DeleteNamespace";
    let prior = &req.prior;
    if prior.attrs.get("generated").and_then(Value::as_bool) == Some(true) {
        return Ok(done(&prior.cloud_id, &prior.attrs, true));
    }
    let region = region_of(prior.region.as_ref(), A)?;
    let (instance, ns) = split_project_id(&prior.cloud_id, A)?;
    let p = params(&[
        ("InstanceId", &instance),
        ("Region", region.as_str()),
        ("Namespace", &ns),
    ]);
    let result = client
        .rpc(Product::Foasconsole, Some(region), A, p, RpcMethod::Post)
        .await;
    deleted(prior, result, false)
}
