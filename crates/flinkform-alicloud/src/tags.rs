//! Resource tags, the carrier of flinkform's ownership mark and of the specs' labels: how
//! each product takes them at creation, reports them, and changes them in place.
//!
//! | kind | at creation | read | change in place |
//! |---|---|---|---|
//! | `vpc`, `vswitch` | `Tag.N.Key/Value` on `CreateVpc` / `CreateVSwitch` | `Tags.Tag[]` of `DescribeVpcs` / `DescribeVSwitches` | vpc `TagResources` / `UnTagResources` (`ResourceType` `VPC` / `VSWITCH`) |
//! | `flink_workspace` | `Tag` (JSON) on `CreateInstance` | `Tags[]` of `DescribeInstances` | foasconsole `TagResources` / `UntagResources` (`ResourceType` `vvpinstance`) |
//! | `oss_bucket` | `x-oss-bucket-tagging` on `PutBucket` | `GetBucketTags` | `PutBucketTags` (the whole set: tags others added are kept) |

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{Attrs, Mark, Region, ResourceKind, Value};
use serde_json::json;

use crate::client::{ApiError, Client, OssMethod, RpcMethod};
use crate::endpoint::Product;
use crate::wire;

/// Query or form parameters, in order.
pub(crate) type Params = Vec<(String, String)>;

/// The `tags` attribute of `attrs` as strings.
pub(crate) fn tag_map(attrs: &Attrs) -> BTreeMap<String, String> {
    attrs
        .get("tags")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// `Tag.N.Key` / `Tag.N.Value` (1-based), as the VPC and tagging APIs take them.
pub(crate) fn repeat_params(tags: &BTreeMap<String, String>) -> Params {
    let mut p = Params::new();
    for (i, (k, v)) in tags.iter().enumerate() {
        p.push((format!("Tag.{}.Key", i + 1), k.clone()));
        p.push((format!("Tag.{}.Value", i + 1), v.clone()));
    }
    p
}

/// The JSON list `[{"Key","Value"}]` `CreateInstance` takes as `Tag`.
pub(crate) fn json_param(tags: &BTreeMap<String, String>) -> String {
    let list: Vec<_> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!(list).to_string()
}

/// The `x-oss-bucket-tagging` header value (`k1=v1&k2=v2`, URL-encoded).
pub(crate) fn oss_header(tags: &BTreeMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(tags.iter())
        .finish()
}

/// Whether the tags of a resource found in the cloud carry the mark the desired `attrs`
/// carry (the same stack and address).
pub(crate) fn same_mark(found: &Attrs, desired: &Attrs) -> bool {
    match (Mark::from_attrs(found), Mark::from_attrs(desired)) {
        (Some(f), Some(d)) => f == d,
        _ => false,
    }
}

/// The tags of `bucket` (`GetBucketTags`); none when it has no tag set.
pub(crate) async fn bucket_tags(
    client: &Client,
    region: &Region,
    bucket: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    match client
        .oss_read(region, Some(bucket), Some("tagging"), &[])
        .await
    {
        Ok((_, text)) => {
            let tagging: wire::TaggingXml = quick_xml::de::from_str(&text).map_err(|e| {
                ApiError::local(
                    flinkform_core::ProviderErrorKind::Fatal,
                    "GetBucketTags",
                    format!("unreadable answer: {e}"),
                )
            })?;
            Ok(tagging.map())
        }
        Err(e) if e.has_code("NoSuchTagSet") => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// Makes the tags of resource `id` of `kind` match `desired`, removing the keys `prior`
/// had that `desired` no longer has. Tags neither side names (added by someone else) stay.
pub(crate) async fn set(
    client: &Client,
    kind: ResourceKind,
    region: &Region,
    id: &str,
    desired: &BTreeMap<String, String>,
    prior: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let removed: BTreeSet<&String> = prior.keys().filter(|k| !desired.contains_key(*k)).collect();
    match kind {
        ResourceKind::OssBucket => {
            let mut tags = bucket_tags(client, region, id).await?;
            tags.retain(|k, _| !removed.contains(k));
            tags.extend(desired.iter().map(|(k, v)| (k.clone(), v.clone())));
            let body = wire::tagging_xml(&tags).into_bytes();
            client
                .oss(OssMethod::Put, region, Some(id), Some("tagging"), body)
                .await?;
            Ok(())
        }
        ResourceKind::Vpc | ResourceKind::Vswitch | ResourceKind::FlinkWorkspace => {
            let (product, resource_type, untag) = match kind {
                ResourceKind::Vpc => (Product::Vpc, "VPC", "UnTagResources"),
                ResourceKind::Vswitch => (Product::Vpc, "VSWITCH", "UnTagResources"),
                _ => (Product::Foasconsole, "vvpinstance", "UntagResources"),
            };
            let base = |p: &mut Params| {
                p.push(("RegionId".to_owned(), region.as_str().to_owned()));
                p.push(("ResourceType".to_owned(), resource_type.to_owned()));
                p.push(("ResourceId.1".to_owned(), id.to_owned()));
            };
            // One call per action: the planner splits a change that both sets and removes
            // keys into a set (removed keys kept) and a removal. A set re-sends every
            // desired tag (so drift is repaired); a removal only removes.
            let sets = desired.iter().any(|(k, v)| prior.get(k) != Some(v));
            if !desired.is_empty() && (removed.is_empty() || sets) {
                let mut p = Params::new();
                base(&mut p);
                p.extend(repeat_params(desired));
                client
                    .rpc(product, Some(region), "TagResources", p, RpcMethod::Post)
                    .await?;
            }
            if !removed.is_empty() {
                let mut p = Params::new();
                base(&mut p);
                for (i, k) in removed.iter().enumerate() {
                    p.push((format!("TagKey.{}", i + 1), (*k).clone()));
                }
                client
                    .rpc(product, Some(region), untag, p, RpcMethod::Post)
                    .await?;
            }
            Ok(())
        }
        _ => Err(ApiError::local(
            flinkform_core::ProviderErrorKind::InvalidParameter,
            "TagResources",
            format!("a {kind} takes no tags"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_apis() {
        let tags: BTreeMap<String, String> = [
            ("flinkform:stack".to_owned(), "s 1".to_owned()),
            ("team".to_owned(), "data&ml".to_owned()),
        ]
        .into();
        assert_eq!(
            repeat_params(&tags),
            vec![
                ("Tag.1.Key".to_owned(), "flinkform:stack".to_owned()),
                ("Tag.1.Value".to_owned(), "s 1".to_owned()),
                ("Tag.2.Key".to_owned(), "team".to_owned()),
                ("Tag.2.Value".to_owned(), "data&ml".to_owned()),
            ]
        );
        assert_eq!(
            json_param(&tags),
            r#"[{"Key":"flinkform:stack","Value":"s 1"},{"Key":"team","Value":"data&ml"}]"#
        );
        assert_eq!(oss_header(&tags), "flinkform%3Astack=s+1&team=data%26ml");
    }
}
