//! Tags (key → value ownership marks) shared by every taggable resource: the rules a tag
//! must follow, the "all given tags match" filter of the describe actions, and the lookup of
//! a taggable resource by its id (for the console and ResourceManager).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::world::{Account, Bucket, Instance, VSwitch, Vpc};

/// Tags of one resource, by key.
pub(crate) type Tags = BTreeMap<String, String>;

/// At most this many tags per resource (and per request).
pub(crate) const MAX_TAGS: usize = 20;

/// Reads tags stored as a map, or as the `[[key, value], …]` pairs of older world files.
pub(crate) fn deserialize_compat<'de, D: Deserializer<'de>>(d: D) -> Result<Tags, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Map(Tags),
        Pairs(Vec<(String, String)>),
    }
    Ok(match Repr::deserialize(d)? {
        Repr::Map(m) => m,
        Repr::Pairs(p) => p.into_iter().collect(),
    })
}

/// Why a tag key or value is refused (`None`: fine). Keys are 1–128 characters, values at
/// most 128; neither starts with `aliyun` or `acs:` nor contains `http://` or `https://`.
pub(crate) fn invalid_tag(key: &str, value: &str) -> Option<String> {
    let bad = |s: &str| {
        s.starts_with("aliyun")
            || s.starts_with("acs:")
            || s.contains("http://")
            || s.contains("https://")
    };
    if key.is_empty() || key.chars().count() > 128 || bad(key) {
        return Some(format!("The tag key {key:?} is not valid."));
    }
    if value.chars().count() > 128 || bad(value) {
        return Some(format!("The tag value {value:?} is not valid."));
    }
    None
}

/// Whether `tags` has every `(key, value)` of `filter`; a filter value of `None` matches any
/// value of the key.
pub(crate) fn matches(tags: &Tags, filter: &[(String, Option<String>)]) -> bool {
    filter.iter().all(|(k, v)| {
        tags.get(k)
            .is_some_and(|have| v.as_ref().is_none_or(|want| want == have))
    })
}

/// A taggable resource of an account, found by its id (or a bucket by its name).
pub(crate) enum Taggable<'a> {
    Vpc(&'a mut Vpc),
    VSwitch(&'a mut VSwitch),
    Instance(&'a mut Instance),
    Bucket(&'a mut Bucket),
}

impl Taggable<'_> {
    pub(crate) fn tags_mut(&mut self) -> &mut Tags {
        match self {
            Self::Vpc(v) => &mut v.tags,
            Self::VSwitch(s) => &mut s.tags,
            Self::Instance(i) => &mut i.tags,
            Self::Bucket(b) => &mut b.tags,
        }
    }

    pub(crate) fn resource_group_mut(&mut self) -> &mut String {
        match self {
            Self::Vpc(v) => &mut v.resource_group_id,
            Self::VSwitch(s) => &mut s.resource_group_id,
            Self::Instance(i) => &mut i.resource_group_id,
            Self::Bucket(b) => &mut b.resource_group_id,
        }
    }

    pub(crate) fn region(&self) -> &str {
        match self {
            Self::Vpc(v) => &v.region,
            Self::VSwitch(s) => &s.region,
            Self::Instance(i) => &i.region,
            Self::Bucket(b) => &b.region,
        }
    }
}

/// The account's resource `id`: `vpc-…`, `vsw-…`, a workspace `f-…` that is not gone, or the
/// name of a bucket it owns.
pub(crate) fn find<'a>(
    account: &'a mut Account,
    buckets: &'a mut BTreeMap<String, Bucket>,
    id: &str,
    now: i64,
) -> Option<Taggable<'a>> {
    if let Some(v) = account.vpcs.get_mut(id) {
        return Some(Taggable::Vpc(v));
    }
    if let Some(s) = account.vswitches.get_mut(id) {
        return Some(Taggable::VSwitch(s));
    }
    if let Some(i) = account
        .instances
        .get_mut(id)
        .filter(|i| i.phase(now) != crate::world::InstancePhase::Gone)
    {
        return Some(Taggable::Instance(i));
    }
    buckets
        .get_mut(id)
        .filter(|b| b.owner_uid == account.uid)
        .map(Taggable::Bucket)
}

/// One page of `entries` from the opaque `next_token` (empty: the start), at most `max`;
/// with the token of the next page (empty on the last). A token not made here → 400
/// `InvalidParameter.NextToken`.
pub(crate) fn paginate<T: Clone>(
    entries: &[T],
    next_token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, String), crate::api::ApiError> {
    let start = match next_token {
        None => 0,
        Some(t) => t
            .strip_prefix("nt-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= entries.len())
            .ok_or_else(|| {
                crate::api::ApiError::bad_request(
                    "InvalidParameter.NextToken",
                    format!("The NextToken {t:?} is not valid."),
                )
            })?,
    };
    let end = entries.len().min(start.saturating_add(max.max(1)));
    let next = if end < entries.len() {
        format!("nt-{end}")
    } else {
        String::new()
    };
    Ok((entries[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_need_every_tag() {
        let tags: Tags = [("a", "1"), ("b", "2")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let f = |pairs: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect()
        };
        assert!(matches(&tags, &f(&[("a", Some("1")), ("b", None)])));
        assert!(!matches(&tags, &f(&[("a", Some("1")), ("c", None)])));
        assert!(!matches(&tags, &f(&[("a", Some("2"))])));
        assert!(matches(&tags, &[]));
    }

    #[test]
    fn pages_follow_their_tokens() {
        let all = [1, 2, 3, 4, 5];
        let (p1, t1) = paginate(&all, None, 2).unwrap();
        assert_eq!((p1, t1.as_str()), (vec![1, 2], "nt-2"));
        let (p3, t3) = paginate(&all, Some("nt-4"), 2).unwrap();
        assert_eq!((p3, t3.as_str()), (vec![5], ""));
        assert!(paginate(&all, Some("garbage"), 2).is_err());
    }

    #[test]
    fn tag_rules() {
        assert!(invalid_tag("flinkform:managed-by", "stack").is_none());
        assert!(invalid_tag("", "v").is_some());
        assert!(invalid_tag("aliyun-x", "v").is_some());
        assert!(invalid_tag("k", "acs:x").is_some());
    }

    #[test]
    fn old_pair_lists_still_load() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "deserialize_compat")]
            tags: Tags,
        }
        let t: T = serde_json::from_str(r#"{"tags":[["k","v"]]}"#).unwrap();
        assert_eq!(t.tags.get("k").map(String::as_str), Some("v"));
        let t: T = serde_json::from_str(r#"{"tags":{"k":"v"}}"#).unwrap();
        assert_eq!(t.tags.len(), 1);
    }
}
