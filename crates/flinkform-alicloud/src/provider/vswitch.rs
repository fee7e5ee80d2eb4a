//! `vswitch`: a vSwitch (a zone's subnet of a VPC); refresh also reports the vSwitches of
//! existing VPCs the specs reference by id (`Observed::network`).
//!
//! API actions (VPC): `DescribeVSwitches` (refresh reads one paged listing per account and
//! region), `CreateVSwitch`, `TagResources` / `UnTagResources` (through `crate::tags`),
//! `DeleteVSwitch`; the calls are shared with [`super::vpc`].
//!
//! Idempotency: `CreateVSwitch` sends the request's `ClientToken`. vSwitch names are not
//! unique, so before the state knows its id a vSwitch is found only by this resource's
//! ownership mark. Reading or deleting one that is not found is absent / success.

use std::collections::BTreeMap;

use flinkform_core::{
    ChangeRequest, CloudId, DeleteRequest, Mode, Observation, ObservedResource, Outcome,
    ProviderError, ProviderErrorKind, Region, ResourceKind,
};

use super::observe::{Item, Listed, by_id_or_mark};
use super::{attr_str, found, need_str, params, region_of, vpc, with_id};
use crate::client::{ApiError, Client};
use crate::tags;
use crate::wire;

/// Only `tags` change in place.
pub(super) use super::update_tags_only as update;

/// The vSwitches of `region` (or the one of id `vsw_id`).
pub(super) async fn list(
    client: Client,
    region: Region,
    vsw_id: Option<String>,
) -> Result<Vec<ObservedResource>, ApiError> {
    let filter = vsw_id.map(|id| ("VSwitchId", id));
    vpc::describe(
        client,
        region,
        "DescribeVSwitches",
        &["VSwitches", "VSwitch"],
        filter,
        wire::vswitch,
    )
    .await
}

/// Refresh: the vSwitch of the recorded id, else (managed, not yet recorded) the one
/// carrying this resource's mark.
pub(super) fn observation(it: &Item, vsws: &Listed) -> Option<Observation> {
    by_id_or_mark(it, vsws)
}

/// Refresh: the vSwitches of existing VPCs the specs reference by id (data `vpc`s).
pub(super) fn network<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    vsws: &Listed,
) -> BTreeMap<CloudId, Vec<ObservedResource>> {
    let mut network = BTreeMap::new();
    for it in items.filter(|i| i.addr.kind() == ResourceKind::Vpc && i.mode == Mode::Data) {
        let (Some(region), Some(id)) = (&it.region, it.known_id()) else {
            continue;
        };
        let Some(list) = vsws.get(&(it.account.clone(), region.clone())) else {
            continue;
        };
        let members = list
            .iter()
            .filter(|v| attr_str(&v.attrs, "vpc_id") == Some(id.as_str()))
            .cloned()
            .collect();
        if let Ok(id) = CloudId::new(id) {
            network.insert(id, members);
        }
    }
    network
}

pub(super) async fn read(
    client: &Client,
    region: Option<&Region>,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let region = region_of(region, "DescribeVSwitches")?;
    let id = cloud_id.as_str();
    match list(client.clone(), region.clone(), Some(id.to_owned())).await {
        Ok(list) => Ok(found(with_id(list, id))),
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(Observation::Absent),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "CreateVSwitch";
    let a = &req.attrs;
    let region = region_of(req.region.as_ref(), A)?;
    let mut p = params(&[
        ("RegionId", region.as_str()),
        ("ZoneId", need_str(a, "zone", A)?),
        ("CidrBlock", need_str(a, "cidr", A)?),
        ("VpcId", need_str(a, "vpc_id", A)?),
        ("VSwitchName", need_str(a, "name", A)?),
        ("ClientToken", &req.client_token),
    ]);
    p.extend(tags::repeat_params(&tags::tag_map(a)));
    vpc::create_pending(client, region, A, p, "VSwitchId", a).await
}

pub(super) async fn delete(req: &DeleteRequest, client: &Client) -> Result<Outcome, ProviderError> {
    vpc::delete_by_id(req, client, "DeleteVSwitch", "VSwitchId").await
}
