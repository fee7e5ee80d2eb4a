//! `oss_bucket`: an OSS bucket, with its tags (ownership mark, labels) and, where a
//! deletion may be planned, its object count.
//!
//! API actions (OSS): `ListBuckets` (refresh reads one listing per account), `GetBucketInfo`,
//! `GetBucketTags` / `PutBucketTags` (through `crate::tags`), `PutBucket`, `DeleteBucket`,
//! and `ListObjects` / `DeleteMultipleObjects` (through `crate::objects`).
//!
//! Idempotency: by name and ownership mark. Bucket names are global and `PutBucket` of an
//! existing bucket of this account succeeds silently, so a create looks first and takes a
//! bucket only when it carries this resource's mark; one of another account
//! (`AccessDenied`) is never taken. Deleting one that is not found is success.

use std::collections::{BTreeMap, BTreeSet};

use flinkform_core::{
    AccountName, Address, Attrs, ChangeRequest, CloudId, DeleteRequest, Mode, Observation, Outcome,
    Owner, ProviderError, ProviderErrorKind, Region, Value,
};

use super::observe::Item;
use super::{
    AliProvider, adopted, create_region, deleted, done, found, invalid, need_str, not_ours, params,
};
use crate::client::{ApiError, Client, OssMethod};
use crate::tags;
use crate::wire;

/// Only `tags` change in place.
pub(super) use super::update_tags_only as update;

/// What refresh read of one bucket: its tags, and its object count where a deletion may
/// be planned.
pub(super) type BucketSeen = (BTreeMap<String, String>, Option<i64>);

/// Every bucket of the account with its region (from `ListBuckets`, paged by marker).
pub(super) async fn list(
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

/// What refresh knows of the buckets: the listings per account, what it read of the
/// requested ones, and the names another account owns.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Account → its buckets with their regions.
    pub(super) listed: BTreeMap<AccountName, Vec<(String, Option<String>)>>,
    /// Tags (and object counts) of requested buckets the account has.
    pub(super) read: BTreeMap<(AccountName, String), BucketSeen>,
    /// Requested bucket names, to create, that another account owns.
    pub(super) foreign: BTreeSet<(AccountName, String)>,
}

/// A bucket refresh reads the tags of: account, name, region, and whether to count its
/// objects.
pub(super) type TagRead = (AccountName, String, Region, bool);

/// Which buckets refresh reads further: the tags (ownership mark, labels) of those the
/// account has; for a bucket to create that the account does not have, whether another
/// account owns the name (bucket names are global).
/// Objects are counted only where a deletion may be planned (listing a bucket is
/// one call per 1000 objects): buckets the state has and the specs no longer want,
/// or want in another region.
pub(super) fn further_reads<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    listed: &BTreeMap<AccountName, Vec<(String, Option<String>)>>,
    desired_region: &BTreeMap<&Address, Option<&str>>,
    default_region: &Region,
) -> (Vec<TagRead>, Vec<(AccountName, String)>) {
    let mut tag_keys = Vec::new();
    let mut probe_keys = Vec::new();
    for it in items {
        let Some(name) = name_of(it) else {
            continue;
        };
        match listed
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
                    .unwrap_or_else(|| default_region.clone());
                tag_keys.push((it.account.clone(), name, region, count));
            }
            None if it.cloud_id.is_none() && it.mode == Mode::Managed => {
                probe_keys.push((it.account.clone(), name));
            }
            None => {}
        }
    }
    (tag_keys, probe_keys)
}

/// The bucket's name: the spec's, else the recorded id.
fn name_of(it: &Item) -> Option<String> {
    it.name().map(str::to_owned).or_else(|| it.known_id())
}

/// The tags of bucket `name`, and its object count when `count`.
pub(super) async fn read_seen(
    client: Client,
    region: Region,
    name: String,
    count: bool,
) -> Result<BucketSeen, ApiError> {
    let tags = tags::bucket_tags(&client, &region, &name).await?;
    let objects = if count {
        Some(crate::objects::count(&client, &region, &name).await?)
    } else {
        None
    };
    Ok((tags, objects))
}

/// Whether bucket `name`, which this account does not have, is another account's.
pub(super) async fn owned_elsewhere(
    client: Client,
    region: Region,
    name: String,
) -> Result<bool, ApiError> {
    match client
        .oss_read(&region, Some(&name), Some("bucketInfo"), &[])
        .await
    {
        Err(e) if e.has_code("AccessDenied") => Ok(true),
        Ok(_) => Ok(false),
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Refresh: the bucket as listed, with what was read of it; or another account's.
pub(super) fn observation(it: &Item, seen: &Seen) -> Option<Observation> {
    let n = name_of(it)?;
    let key = (it.account.clone(), n.clone());
    if seen.foreign.contains(&key) {
        let mut o = wire::bucket(&n, None, None)?;
        o.owner = Owner::OtherAccount;
        return Some(Observation::Found(o));
    }
    let list = seen.listed.get(&it.account)?;
    let (_, region) = list.iter().find(|(b, _)| *b == n)?;
    let read = seen.read.get(&key);
    let mut o = wire::bucket(&n, region.as_deref(), read.map(|(t, _)| t))?;
    if let Some((_, Some(objects))) = read {
        o.attrs.insert("objects".to_owned(), Value::Int(*objects));
    }
    Some(Observation::Found(o))
}

pub(super) async fn read(
    provider: &AliProvider,
    client: &Client,
    region: Option<&Region>,
    cloud_id: &CloudId,
) -> Result<Observation, ProviderError> {
    let id = cloud_id.as_str();
    let region = provider.region_or_default(region);
    match client
        .oss_read(&region, Some(id), Some("bucketInfo"), &[])
        .await
    {
        Ok((_, text)) => {
            let info: wire::BucketInfo = quick_xml::de::from_str(&text).map_err(|e| {
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
            let tags = tags::bucket_tags(client, &at, id).await?;
            Ok(found(wire::bucket(id, Some(&r), Some(&tags))))
        }
        Err(e) if e.kind == ProviderErrorKind::NotFound => Ok(Observation::Absent),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn create(req: &ChangeRequest, client: &Client) -> Result<Outcome, ProviderError> {
    const A: &str = "PutBucket";
    let a = &req.attrs;
    let name = need_str(a, "name", A)?;
    let region = create_region(req, A)?;
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
                return Ok(adopted(cloud_id, a, &seen, true));
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

/// Empties the bucket first when the user confirmed deleting its objects
/// (`DeleteRequest::objects`), then deletes it.
pub(super) async fn delete(
    provider: &AliProvider,
    req: &DeleteRequest,
    client: &Client,
) -> Result<Outcome, ProviderError> {
    let prior = &req.prior;
    let id = prior.cloud_id.as_str();
    let region = provider.region_or_default(prior.region.as_ref());
    if let Some(confirmed) = req.objects {
        match crate::objects::empty(client, &region, id, confirmed).await {
            Ok(()) => {}
            Err(e) if e.kind == ProviderErrorKind::NotFound => {
                return Ok(done(&prior.cloud_id, &prior.attrs, true));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let result = client
        .oss(OssMethod::Delete, &region, Some(id), None, Vec::new())
        .await;
    deleted(prior, result, true)
}
