//! `vpc`: a VPC, and the VPC-product calls it shares with [`super::vswitch`] (listing,
//! a create that is pending until the resource is `Available`, deletion).
//!
//! API actions (VPC): `DescribeVpcs` (refresh reads one paged listing per account and
//! region), `CreateVpc`, `TagResources` / `UnTagResources` (through `crate::tags`),
//! `DeleteVpc`.
//!
//! Idempotency: `CreateVpc` sends the request's `ClientToken`. VPC names are not unique, so
//! before the state knows its id a VPC is found only by this resource's ownership mark.
//! Deleting one that is not found is success.

use flinkform_core::{
    Attrs, ChangeRequest, CloudId, DeleteRequest, Observation, ObservedResource, Outcome,
    ProviderError, ProviderErrorKind, Region,
};
use serde_json::Value as Json;

use super::observe::{Item, Listed, by_id_or_mark};
use super::{Paging, Params, deleted, found, invalid, need_str, paged, params, region_of, with_id};
use crate::client::{ApiError, Client, RpcMethod};
use crate::endpoint::Product;
use crate::tags;
use crate::wire;

/// Only `tags` change in place.
pub(super) use super::update_tags_only as update;

/// A VPC-product listing (`DescribeVpcs`, `DescribeVSwitches`) of `region`, optionally of
/// one id (`filter`: parameter and value); `items` locates the entries, `map` maps each
/// (with the region) as its page arrives.
pub(super) async fn describe(
    client: Client,
    region: Region,
    action: &str,
    items: &'static [&'static str],
    filter: Option<(&str, String)>,
    map: fn(&Json, &str) -> Option<ObservedResource>,
) -> Result<Vec<ObservedResource>, ApiError> {
    let mut base = params(&[("RegionId", region.as_str())]);
    if let Some((key, id)) = filter {
        base.push((key.to_owned(), id));
    }
    let pages = Paging {
        page_key: "PageNumber",
        size_key: "PageSize",
        size: 50,
        items,
        total: &["TotalCount"],
    };
    let name = region.as_str().to_owned();
    paged(
        &client,
        Product::Vpc,
        Some(&region),
        action,
        base,
        RpcMethod::Post,
        pages,
        move |v| map(&v, &name),
    )
    .await
}

/// The VPCs of `region` (or the one of id `vpc_id`).
pub(super) async fn list(
    client: Client,
    region: Region,
    vpc_id: Option<String>,
) -> Result<Vec<ObservedResource>, ApiError> {
    let filter = vpc_id.map(|id| ("VpcId", id));
    describe(
        client,
        region,
        "DescribeVpcs",
        &["Vpcs", "Vpc"],
        filter,
        wire::vpc,
    )
    .await
}

/// Refresh: the VPC of the recorded id, else (managed, not yet recorded) the one carrying
/// this resource's mark.
pub(super) fn observation(it: &Item, vpcs: &Listed) -> Option<Observation> {
    // VPC names are not unique: before the state knows it, a VPC is found only by this
    // resource's ownership mark.
    by_id_or_mark(it, vpcs)
}

pub(super) async fn read(
    client: &Client,
    region: Option<&Region>,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let region = region_of(region, "DescribeVpcs")?;
    let id = cloud_id.as_str();
    // Not found is absent, as for a vSwitch.
    let list = match list(client.clone(), region.clone(), Some(id.to_owned())).await {
        Ok(list) => list,
        Err(e) if e.kind == ProviderErrorKind::NotFound => return Ok(Observation::Absent),
        Err(e) => return Err(e.into()),
    };
    Ok(found(with_id(list, id)))
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "CreateVpc";
    let a = &req.attrs;
    let region = region_of(req.region.as_ref(), A)?;
    let mut p = params(&[
        ("RegionId", region.as_str()),
        ("CidrBlock", need_str(a, "cidr", A)?),
        ("VpcName", need_str(a, "name", A)?),
        ("ClientToken", &req.client_token),
    ]);
    p.extend(tags::repeat_params(&tags::tag_map(a)));
    create_pending(client, region, A, p, "VpcId", a).await
}

/// One VPC-product create (`CreateVpc`, `CreateVSwitch`): the new id is `id_field` of the
/// answer, and the resource is `Pending` until the executor's polling sees it `Available`.
pub(super) async fn create_pending(
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

pub(super) async fn delete(req: &DeleteRequest, client: &Client) -> Result<Outcome, ProviderError> {
    delete_by_id(req, client, "DeleteVpc", "VpcId").await
}

/// One VPC-product deletion (`DeleteVpc`, `DeleteVSwitch`) of the recorded id, sent as
/// `id_key`: done at once; not found is success.
pub(super) async fn delete_by_id(
    req: &DeleteRequest,
    client: &Client,
    action: &str,
    id_key: &str,
) -> Result<Outcome, ProviderError> {
    let prior = &req.prior;
    let region = region_of(prior.region.as_ref(), action)?;
    let p = params(&[
        ("RegionId", region.as_str()),
        (id_key, prior.cloud_id.as_str()),
    ]);
    let result = client
        .rpc(Product::Vpc, Some(region), action, p, RpcMethod::Post)
        .await;
    deleted(prior, result, true)
}
