//! Reading API answers: small accessors over `serde_json::Value` (Alibaba Cloud sends
//! numbers as strings in places and wraps lists in XML-era objects) and the translation of
//! each product's resource shape into catalog attributes. Nothing here does IO.

use std::collections::BTreeMap;

use flinkform_core::{Attrs, CloudId, ObservedResource, Readiness, ResourceKind, Value};
use serde::Deserialize;
use serde_json::Value as Json;

/// The value at `path` (object keys).
pub(crate) fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))
}

/// The array at `path`, moved out of `v` (a listing page is large: its entries are taken,
/// not copied); empty when absent.
pub(crate) fn take_list_at(mut v: Json, path: &[&str]) -> Vec<Json> {
    let found = path.iter().try_fold(&mut v, |cur, k| cur.get_mut(*k));
    match found {
        Some(Json::Array(items)) => std::mem::take(items),
        _ => Vec::new(),
    }
}

/// A string (or a number rendered as one) at `path`.
pub(crate) fn string_at(v: &Json, path: &[&str]) -> Option<String> {
    match at(v, path)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer (or a numeric string) at `path`.
pub(crate) fn int_at(v: &Json, path: &[&str]) -> Option<i64> {
    match at(v, path)? {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The array at `path`; empty when absent.
pub(crate) fn list_at<'a>(v: &'a Json, path: &[&str]) -> &'a [Json] {
    at(v, path)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Strings of the array at `path`, in order.
pub(crate) fn strings_at(v: &Json, path: &[&str]) -> Vec<String> {
    list_at(v, path)
        .iter()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

fn put(attrs: &mut Attrs, name: &str, value: Option<String>) {
    if let Some(v) = value {
        attrs.insert(name.to_owned(), Value::Str(v));
    }
}

fn found(
    kind: ResourceKind,
    id: String,
    attrs: Attrs,
    readiness: Readiness,
) -> Option<ObservedResource> {
    Some(ObservedResource::new(
        kind,
        CloudId::new(id).ok()?,
        attrs,
        readiness,
    ))
}

/// Tags as a `tags` attribute from a list of `{Key, Value}` objects at `path`; nothing when
/// the answer has no such field (an attribute the cloud does not report is not diffed).
fn put_tags(attrs: &mut Attrs, v: &Json, path: &[&str]) {
    if at(v, path).is_none() {
        return;
    }
    let tags = list_at(v, path).iter().filter_map(|t| {
        Some((
            string_at(t, &["Key"])?,
            string_at(t, &["Value"]).unwrap_or_default(),
        ))
    });
    attrs.insert("tags".to_owned(), Value::str_map(tags));
}

/// A foasconsole instance as a `flink_workspace`; `None` for a `DELETED` one. Its
/// `auto_renew` is BSS's to tell ([`renewal`]).
pub(crate) fn workspace(inst: &Json) -> Option<ObservedResource> {
    let id = string_at(inst, &["InstanceId"])?;
    let status = string_at(inst, &["ClusterStatus"]).unwrap_or_default();
    if status == "DELETED" {
        return None;
    }
    let charge = string_at(inst, &["ChargeType"]);
    let mut attrs = Attrs::new();
    put(&mut attrs, "name", string_at(inst, &["InstanceName"]));
    put(&mut attrs, "region", string_at(inst, &["Region"]));
    put(&mut attrs, "zone", string_at(inst, &["ZoneId"]));
    put(&mut attrs, "charge_type", charge.clone());
    put(&mut attrs, "vpc_id", string_at(inst, &["VpcId"]));
    if at(inst, &["VSwitchIds"]).is_some() {
        let ids = strings_at(inst, &["VSwitchIds"])
            .into_iter()
            .map(Value::Str)
            .collect();
        attrs.insert("vswitch_ids".to_owned(), Value::List(ids));
    }
    put(
        &mut attrs,
        "bucket",
        string_at(inst, &["Storage", "Oss", "Bucket"]),
    );
    if charge.as_deref() == Some("PRE")
        && let Some(cpu) = int_at(inst, &["ResourceSpec", "Cpu"])
    {
        attrs.insert("cu".to_owned(), Value::Int(cpu));
    }
    let readiness = match status.as_str() {
        "RUNNING" => Readiness::Ready,
        "CREATING" => Readiness::Pending,
        "DELETING" => Readiness::Deleting,
        // `DISABLE` (overdue, stopped) and anything new: not a failure to replace, but a
        // status to look at (money fails closed).
        other => Readiness::Unknown(format!("cluster status `{other}`")),
    };
    put_tags(&mut attrs, inst, &["Tags"]);
    put(
        &mut attrs,
        "resource_group",
        string_at(inst, &["ResourceGroupId"]),
    );
    found(ResourceKind::FlinkWorkspace, id, attrs, readiness)
}

/// A subscription workspace's `auto_renew` from BSS's `RenewStatus`es (`renew`: instance id
/// → status); nothing for pay-as-you-go, or a subscription BSS did not list.
pub(crate) fn renewal(ws: &mut ObservedResource, renew: &BTreeMap<String, String>) {
    let subscription = ws.attrs.get("charge_type").and_then(Value::as_str) == Some("PRE");
    if let Some(status) = renew.get(ws.cloud_id.as_str()).filter(|_| subscription) {
        ws.attrs.insert(
            "auto_renew".to_owned(),
            Value::Bool(status == "AutoRenewal"),
        );
    }
}

fn vpc_readiness(status: Option<String>) -> Readiness {
    match status.as_deref() {
        Some("Available") => Readiness::Ready,
        Some("Pending") | None => Readiness::Pending,
        Some(other) => Readiness::Failed(format!("status {other}")),
    }
}

/// A VPC as a `vpc`.
pub(crate) fn vpc(v: &Json, region: &str) -> Option<ObservedResource> {
    let id = string_at(v, &["VpcId"])?;
    let mut attrs = Attrs::new();
    put(&mut attrs, "name", string_at(v, &["VpcName"]));
    put(
        &mut attrs,
        "region",
        string_at(v, &["RegionId"]).or_else(|| Some(region.to_owned())),
    );
    put(&mut attrs, "cidr", string_at(v, &["CidrBlock"]));
    put_tags(&mut attrs, v, &["Tags", "Tag"]);
    found(
        ResourceKind::Vpc,
        id,
        attrs,
        vpc_readiness(string_at(v, &["Status"])),
    )
}

/// A vSwitch as a `vswitch`.
pub(crate) fn vswitch(v: &Json, region: &str) -> Option<ObservedResource> {
    let id = string_at(v, &["VSwitchId"])?;
    let mut attrs = Attrs::new();
    put(&mut attrs, "name", string_at(v, &["VSwitchName"]));
    put(&mut attrs, "region", Some(region.to_owned()));
    put(&mut attrs, "zone", string_at(v, &["ZoneId"]));
    put(&mut attrs, "cidr", string_at(v, &["CidrBlock"]));
    put(&mut attrs, "vpc_id", string_at(v, &["VpcId"]));
    put_tags(&mut attrs, v, &["Tags", "Tag"]);
    found(
        ResourceKind::Vswitch,
        id,
        attrs,
        vpc_readiness(string_at(v, &["Status"])),
    )
}

/// A namespace as a `flink_project` of `instance_id`; its cloud id is
/// `<instance_id>/<namespace>`. `generated` is not observable and left out.
pub(crate) fn project(ns: &Json, instance_id: &str, region: &str) -> Option<ObservedResource> {
    let name = string_at(ns, &["Namespace"])?;
    let mut attrs = Attrs::new();
    attrs.insert("name".to_owned(), Value::Str(name.clone()));
    attrs.insert("region".to_owned(), Value::Str(region.to_owned()));
    attrs.insert(
        "workspace_id".to_owned(),
        Value::Str(instance_id.to_owned()),
    );
    if let Some(cpu) = int_at(ns, &["ResourceSpec", "Cpu"]) {
        attrs.insert("cu".to_owned(), Value::Int(cpu));
    }
    let readiness = match string_at(ns, &["Status"]).as_deref() {
        Some("SUCCESS") | None => Readiness::Ready,
        Some("CREATING" | "MODIFYING") => Readiness::Pending,
        Some("DELETING") => Readiness::Deleting,
        Some(other) => Readiness::Failed(format!("namespace status {other}")),
    };
    found(
        ResourceKind::FlinkProject,
        format!("{instance_id}/{name}"),
        attrs,
        readiness,
    )
}

/// The RAM role as a `ram_role`: policies as sorted `<PolicyType>:<PolicyName>`.
pub(crate) fn role(role_name: &str, policies: &[String]) -> Option<ObservedResource> {
    let mut sorted = policies.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut attrs = Attrs::new();
    attrs.insert("role_name".to_owned(), Value::Str(role_name.to_owned()));
    attrs.insert(
        "policies".to_owned(),
        Value::List(sorted.into_iter().map(Value::Str).collect()),
    );
    found(
        ResourceKind::RamRole,
        role_name.to_owned(),
        attrs,
        Readiness::Ready,
    )
}

/// The policies of a `ListPoliciesForRole` answer as `<PolicyType>:<PolicyName>`.
pub(crate) fn role_policies(resp: &Json) -> Vec<String> {
    list_at(resp, &["Policies", "Policy"])
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{}:{}",
                string_at(p, &["PolicyType"])?,
                string_at(p, &["PolicyName"])?
            ))
        })
        .collect()
}

/// A bucket as an `oss_bucket`; `tags` when they were read (`GetBucketTags`).
pub(crate) fn bucket(
    name: &str,
    region: Option<&str>,
    tags: Option<&BTreeMap<String, String>>,
) -> Option<ObservedResource> {
    let mut attrs = Attrs::new();
    attrs.insert("name".to_owned(), Value::Str(name.to_owned()));
    put(&mut attrs, "region", region.map(str::to_owned));
    if let Some(tags) = tags {
        attrs.insert("tags".to_owned(), Value::str_map(tags.clone()));
    }
    found(
        ResourceKind::OssBucket,
        name.to_owned(),
        attrs,
        Readiness::Ready,
    )
}

/// `oss-ap-southeast-1` → `ap-southeast-1`.
pub(crate) fn oss_location_region(location: &str) -> String {
    location.strip_prefix("oss-").unwrap_or(location).to_owned()
}

/// `ListAllMyBucketsResult`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BucketList {
    #[serde(rename = "Buckets", default)]
    pub(crate) buckets: BucketsXml,
    #[serde(rename = "IsTruncated", default)]
    pub(crate) is_truncated: Option<String>,
    #[serde(rename = "NextMarker", default)]
    pub(crate) next_marker: Option<String>,
}

/// `<Buckets>`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BucketsXml {
    #[serde(rename = "Bucket", default)]
    pub(crate) bucket: Vec<BucketXml>,
}

/// One `<Bucket>` of a listing or of `GetBucketInfo`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BucketXml {
    #[serde(rename = "Name", default)]
    pub(crate) name: String,
    #[serde(rename = "Location", default)]
    pub(crate) location: Option<String>,
    #[serde(rename = "Region", default)]
    pub(crate) region: Option<String>,
}

impl BucketXml {
    /// The bucket's region, from `Region` or else `Location`.
    pub(crate) fn region(&self) -> Option<String> {
        self.region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| self.location.as_deref().map(oss_location_region))
    }
}

/// `ListBucketResult` of `ListObjectsV2`: the keys of one page.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ObjectPage {
    #[serde(rename = "Contents", default)]
    pub(crate) contents: Vec<ObjectXml>,
    #[serde(rename = "IsTruncated", default)]
    pub(crate) is_truncated: Option<String>,
    #[serde(rename = "NextContinuationToken", default)]
    pub(crate) next_continuation_token: Option<String>,
}

/// One `<Contents>` of a listing.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ObjectXml {
    #[serde(rename = "Key", default)]
    pub(crate) key: String,
}

/// The `DeleteMultipleObjects` body for `keys`, quiet (the answer lists only failures).
pub(crate) fn delete_xml(keys: &[String]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>");
    for k in keys {
        out.push_str("<Object><Key>");
        out.push_str(&quick_xml::escape::escape(k.as_str()));
        out.push_str("</Key></Object>");
    }
    out.push_str("</Delete>");
    out
}

/// `Tagging` (`GetBucketTags` answer, `PutBucketTags` body).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct TaggingXml {
    #[serde(rename = "TagSet", default)]
    pub(crate) tag_set: TagSetXml,
}

/// `<TagSet>`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct TagSetXml {
    #[serde(rename = "Tag", default)]
    pub(crate) tag: Vec<TagXml>,
}

/// One `<Tag>`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct TagXml {
    #[serde(rename = "Key", default)]
    pub(crate) key: String,
    #[serde(rename = "Value", default)]
    pub(crate) value: String,
}

impl TaggingXml {
    /// The tags as a sorted map.
    pub(crate) fn map(&self) -> BTreeMap<String, String> {
        self.tag_set
            .tag
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect()
    }
}

/// The `PutBucketTags` body for `tags`.
pub(crate) fn tagging_xml(tags: &BTreeMap<String, String>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Tagging><TagSet>");
    for (k, v) in tags {
        out.push_str("<Tag><Key>");
        out.push_str(&quick_xml::escape::escape(k.as_str()));
        out.push_str("</Key><Value>");
        out.push_str(&quick_xml::escape::escape(v.as_str()));
        out.push_str("</Value></Tag>");
    }
    out.push_str("</TagSet></Tagging>");
    out
}

/// `BucketInfo`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BucketInfo {
    #[serde(rename = "Bucket", default)]
    pub(crate) bucket: BucketXml,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_may_come_as_strings() {
        let v = serde_json::json!({"A": {"B": "42"}, "C": 7, "L": {"X": ["a", "b"]}});
        assert_eq!(int_at(&v, &["A", "B"]), Some(42));
        assert_eq!(string_at(&v, &["C"]), Some("7".to_owned()));
        assert_eq!(strings_at(&v, &["L", "X"]), ["a", "b"]);
        assert!(list_at(&v, &["missing"]).is_empty());
        assert!(take_list_at(v.clone(), &["missing"]).is_empty());
        assert_eq!(
            take_list_at(v.clone(), &["L", "X"]),
            list_at(&v, &["L", "X"]).to_vec()
        );
    }
}
