//! OSS bucket tags (`PutBucketTags`, `GetBucketTags`, `DeleteBucketTags`, the
//! `x-oss-bucket-tagging` header of `PutBucket`) and objects (`PutObject`, `GetObject`,
//! `HeadObject`, `DeleteObject`, `DeleteMultipleObjects`, `ListObjects` V1 and V2), with
//! the XML bodies `oss2` sends and parses.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::{Digest as _, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::escape::escape;
use serde::Deserialize;

use super::{Ctx, OssRequest, OssResponse};
use crate::tags::{MAX_TAGS, Tags, invalid_tag};
use crate::world::{Bucket, Object, SMALL_OBJECT_BYTES, World, iso};

/// GetObject answers objects whose bytes were not kept (larger than
/// [`SMALL_OBJECT_BYTES`]) with zeros, up to this size; beyond it, 501.
const MAX_SYNTHETIC_BYTES: u64 = 16 * 1024 * 1024;

/// What `encoding-type=url` leaves unencoded.
const URL_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The bucket `name` for a change by `uid`: 404 `NoSuchBucket`, 403 `AccessDenied` (another
/// account's, or addressed through another region's endpoint).
fn bucket_mut<'w>(
    world: &'w mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    ctx: &Ctx,
) -> Result<&'w mut Bucket, OssResponse> {
    match world.buckets.get_mut(name) {
        None => Err(ctx.error(404, "NoSuchBucket", "The specified bucket does not exist.")),
        Some(b) if b.owner_uid != uid => Err(ctx.error(
            403,
            "AccessDenied",
            "You have no right to access this bucket.",
        )),
        Some(b) if region.is_some_and(|r| r != b.region) => Err(ctx.error(
            403,
            "AccessDenied",
            "The bucket you are attempting to access must be addressed using the specified endpoint.",
        )),
        Some(b) => Ok(b),
    }
}

fn query<'q>(q: &'q [(String, String)], name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn malformed(ctx: &Ctx) -> OssResponse {
    ctx.error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

// ------------------------------------------------------------------ tags

/// Tags of the `x-oss-bucket-tagging` header (`k1=v1&k2=v2`, URL-encoded).
pub(super) fn header_tags(header: &str) -> Result<Tags, String> {
    let mut tags = Tags::new();
    for (k, v) in form_urlencoded::parse(header.as_bytes()) {
        if let Some(why) = invalid_tag(&k, &v) {
            return Err(why);
        }
        tags.insert(k.into_owned(), v.into_owned());
    }
    if tags.len() > MAX_TAGS {
        return Err("A bucket has at most 20 tags.".to_owned());
    }
    Ok(tags)
}

#[derive(Deserialize)]
struct TaggingXml {
    #[serde(rename = "TagSet", default)]
    tag_set: TagSetXml,
}

#[derive(Deserialize, Default)]
struct TagSetXml {
    #[serde(rename = "Tag", default)]
    tags: Vec<TagXml>,
}

#[derive(Deserialize)]
struct TagXml {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

pub(super) fn put_bucket_tags(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    req: &OssRequest<'_>,
    ctx: &Ctx,
) -> OssResponse {
    let parsed = std::str::from_utf8(req.body)
        .ok()
        .and_then(|t| quick_xml::de::from_str::<TaggingXml>(t).ok());
    let Some(parsed) = parsed else {
        return malformed(ctx);
    };
    let mut tags = Tags::new();
    for t in parsed.tag_set.tags {
        if let Some(why) = invalid_tag(&t.key, &t.value) {
            return ctx.error(400, "InvalidTag", &why);
        }
        tags.insert(t.key, t.value);
    }
    if tags.len() > MAX_TAGS {
        return ctx.error(400, "InvalidTag", "A bucket has at most 20 tags.");
    }
    match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => {
            b.tags = tags;
            ctx.respond(200, String::new(), Vec::new(), true)
        }
        Err(e) => e,
    }
}

pub(super) fn get_bucket_tags(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    ctx: &Ctx,
) -> OssResponse {
    let b = match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let mut items = String::new();
    for (k, v) in &b.tags {
        items.push_str(&format!(
            "    <Tag>\n      <Key>{}</Key>\n      <Value>{}</Value>\n    </Tag>\n",
            escape(k),
            escape(v)
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging>\n  <TagSet>\n{items}  </TagSet>\n</Tagging>\n"
    );
    ctx.respond(200, body, Vec::new(), false)
}

/// `DELETE /?tagging` removes every tag; `?tagging=k1,k2` only those keys.
pub(super) fn delete_bucket_tags(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    q: &[(String, String)],
    ctx: &Ctx,
) -> OssResponse {
    let keys: Vec<&str> = query(q, "tagging")
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.is_empty())
        .collect();
    match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => {
            if keys.is_empty() {
                b.tags.clear();
            } else {
                b.tags.retain(|k, _| !keys.contains(&k.as_str()));
            }
            ctx.respond(204, String::new(), Vec::new(), true)
        }
        Err(e) => e,
    }
}

// ------------------------------------------------------------------ objects

fn etag_header(o: &Object) -> (String, String) {
    ("etag".to_owned(), format!("\"{}\"", o.etag))
}

fn http_date(ms: i64) -> String {
    let secs = u64::try_from(ms.max(0) / 1000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// `PutObject`: the body's size and MD5 are kept (and the bytes of a small object);
/// a `Content-MD5` that does not match → 400 `InvalidDigest`.
#[allow(clippy::too_many_arguments)]
pub(super) fn put_object(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    key: &str,
    req: &OssRequest<'_>,
    ctx: &Ctx,
    now: i64,
) -> OssResponse {
    if key.len() > 1023 {
        return ctx.error(
            400,
            "InvalidObjectName",
            "The length of the object name must be less than 1024 bytes.",
        );
    }
    let digest = Md5::digest(req.body);
    if let Some(claimed) = req.headers.get("content-md5")
        && *claimed != STANDARD.encode(digest)
    {
        return ctx.error(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        );
    }
    let object = Object {
        size: req.body.len() as u64,
        etag: hex::encode_upper(digest),
        last_modified_ms: now,
        content_type: req
            .headers
            .get("content-type")
            .cloned()
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
        data: (req.body.len() <= SMALL_OBJECT_BYTES).then(|| STANDARD.encode(req.body)),
    };
    match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => {
            let headers = vec![
                etag_header(&object),
                ("content-md5".to_owned(), STANDARD.encode(digest)),
            ];
            b.objects.insert(key.to_owned(), object);
            ctx.respond(200, String::new(), headers, true)
        }
        Err(e) => e,
    }
}

/// `GetObject` (`head`: `HeadObject`, headers only). Missing → 404 `NoSuchKey`.
pub(super) fn get_object(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    key: &str,
    ctx: &Ctx,
    head: bool,
) -> OssResponse {
    let b = match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(o) = b.objects.get(key) else {
        if head {
            return ctx.respond(404, String::new(), Vec::new(), false);
        }
        return ctx.error(404, "NoSuchKey", "The specified key does not exist.");
    };
    let headers = vec![
        etag_header(o),
        ("content-type".to_owned(), o.content_type.clone()),
        ("last-modified".to_owned(), http_date(o.last_modified_ms)),
        ("x-oss-object-type".to_owned(), "Normal".to_owned()),
        ("x-oss-storage-class".to_owned(), "Standard".to_owned()),
        ("content-length".to_owned(), o.size.to_string()),
    ];
    if head {
        return ctx.respond(200, Vec::new(), headers, false);
    }
    let body = match &o.data {
        Some(d) => STANDARD.decode(d).unwrap_or_default(),
        None if o.size <= MAX_SYNTHETIC_BYTES => {
            vec![0; usize::try_from(o.size).unwrap_or(0)]
        }
        None => {
            return ctx.error(
                501,
                "NotImplemented",
                "The emulator keeps no content of large objects.",
            );
        }
    };
    ctx.respond(200, body, headers, false)
}

/// `DeleteObject`: 204, also when the object does not exist.
pub(super) fn delete_object(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    key: &str,
    ctx: &Ctx,
) -> OssResponse {
    match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => {
            b.objects.remove(key);
            ctx.respond(204, String::new(), Vec::new(), true)
        }
        Err(e) => e,
    }
}

#[derive(Deserialize)]
struct DeleteXml {
    #[serde(rename = "Quiet", default)]
    quiet: Option<String>,
    #[serde(rename = "Object", default)]
    objects: Vec<DeleteObjectXml>,
}

#[derive(Deserialize)]
struct DeleteObjectXml {
    #[serde(rename = "Key")]
    key: String,
}

fn encode_if(url: bool, s: &str) -> String {
    if url {
        utf8_percent_encode(s, URL_KEEP).to_string()
    } else {
        escape(s).into_owned()
    }
}

/// `DeleteMultipleObjects` (`POST /?delete`): `Content-MD5` required (missing → 400
/// `MissingArgument`, wrong → 400 `InvalidDigest`), at most 1000 keys; every key is reported
/// deleted unless `<Quiet>true</Quiet>`.
pub(super) fn delete_multiple_objects(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    req: &OssRequest<'_>,
    ctx: &Ctx,
) -> OssResponse {
    let Some(claimed) = req.headers.get("content-md5") else {
        return ctx.error(
            400,
            "MissingArgument",
            "Content-MD5 is required for DeleteMultipleObjects.",
        );
    };
    if *claimed != STANDARD.encode(Md5::digest(req.body)) {
        return ctx.error(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        );
    }
    let parsed = std::str::from_utf8(req.body)
        .ok()
        .and_then(|t| quick_xml::de::from_str::<DeleteXml>(t).ok());
    let Some(parsed) = parsed else {
        return malformed(ctx);
    };
    if parsed.objects.is_empty() || parsed.objects.len() > 1000 {
        return malformed(ctx);
    }
    let quiet = parsed
        .quiet
        .is_some_and(|q| q.trim().eq_ignore_ascii_case("true"));
    let url = query(req.query, "encoding-type") == Some("url");
    let b = match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let mut items = String::new();
    for o in &parsed.objects {
        b.objects.remove(&o.key);
        if !quiet {
            items.push_str(&format!(
                "  <Deleted>\n    <Key>{}</Key>\n  </Deleted>\n",
                encode_if(url, &o.key)
            ));
        }
    }
    let encoding = if url {
        "  <EncodingType>url</EncodingType>\n"
    } else {
        ""
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult>\n{encoding}{items}</DeleteResult>\n"
    );
    ctx.respond(200, body, Vec::new(), true)
}

/// One entry of a listing: an object, or a common prefix rolled up at the delimiter.
enum Entry<'b> {
    Object(&'b str, &'b Object),
    Prefix(String),
}

impl Entry<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Object(k, _) => k,
            Self::Prefix(p) => p,
        }
    }
}

/// The entries after `after` (keys and common prefixes, in key order), at most `max`, and
/// whether more follow.
fn entries<'b>(
    b: &'b Bucket,
    prefix: &str,
    delimiter: &str,
    after: &str,
    max: usize,
) -> (Vec<Entry<'b>>, bool) {
    let mut out: Vec<Entry<'b>> = Vec::new();
    for (key, o) in b.objects.range::<str, _>((
        std::ops::Bound::Included(prefix),
        std::ops::Bound::Unbounded,
    )) {
        if !key.starts_with(prefix) {
            break;
        }
        let rest = &key[prefix.len()..];
        let entry = match rest.find(delimiter).filter(|_| !delimiter.is_empty()) {
            Some(i) => Entry::Prefix(format!("{prefix}{}", &rest[..i + delimiter.len()])),
            None => Entry::Object(key, o),
        };
        if entry.name() <= after {
            continue;
        }
        if out.last().is_some_and(|last| last.name() == entry.name()) {
            continue;
        }
        if out.len() == max {
            return (out, true);
        }
        out.push(entry);
    }
    (out, false)
}

/// `ListObjects` (`GET /`, `prefix`, `marker`, `max-keys` 1–1000 default 100, `delimiter`,
/// `encoding-type=url`) and `ListObjectsV2` (`list-type=2`, `continuation-token`,
/// `start-after`, `fetch-owner`, with `KeyCount`).
pub(super) fn list_objects(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    q: &[(String, String)],
    ctx: &Ctx,
) -> OssResponse {
    let prefix = query(q, "prefix").unwrap_or_default();
    let delimiter = query(q, "delimiter").unwrap_or_default();
    let url = query(q, "encoding-type") == Some("url");
    let v2 = query(q, "list-type") == Some("2");
    let max = match query(q, "max-keys").filter(|m| !m.is_empty()) {
        None => 100,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return ctx.error(
                    400,
                    "InvalidArgument",
                    "max-keys must be between 1 and 1000.",
                );
            }
        },
    };
    let token = query(q, "continuation-token").filter(|t| !t.is_empty());
    let after = if v2 {
        match token {
            Some(t) => match URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                Some(after) => after,
                None => {
                    return ctx.error(
                        400,
                        "InvalidArgument",
                        "The continuation token is not valid.",
                    );
                }
            },
            None => query(q, "start-after").unwrap_or_default().to_owned(),
        }
    } else {
        query(q, "marker").unwrap_or_default().to_owned()
    };
    let owner_display = uid.to_owned();
    let b = match bucket_mut(world, uid, name, region, ctx) {
        Ok(b) => &*b,
        Err(e) => return e,
    };
    let (page, truncated) = entries(b, prefix, delimiter, &after, max);
    let with_owner = !v2 || query(q, "fetch-owner") == Some("true");
    let mut contents = String::new();
    let mut prefixes = String::new();
    for e in &page {
        match e {
            Entry::Object(k, o) => {
                let owner = if with_owner {
                    format!(
                        "    <Owner>\n      <ID>{id}</ID>\n      <DisplayName>{id}</DisplayName>\n    </Owner>\n",
                        id = escape(&owner_display)
                    )
                } else {
                    String::new()
                };
                contents.push_str(&format!(
                    "  <Contents>\n    <Key>{key}</Key>\n    <LastModified>{modified}</LastModified>\n    <ETag>\"{etag}\"</ETag>\n    <Type>Normal</Type>\n    <Size>{size}</Size>\n    <StorageClass>Standard</StorageClass>\n{owner}  </Contents>\n",
                    key = encode_if(url, k),
                    modified = iso(o.last_modified_ms).replace('Z', ".000Z"),
                    etag = o.etag,
                    size = o.size,
                ));
            }
            Entry::Prefix(p) => prefixes.push_str(&format!(
                "  <CommonPrefixes>\n    <Prefix>{}</Prefix>\n  </CommonPrefixes>\n",
                encode_if(url, p)
            )),
        }
    }
    let next = page.last().map(|e| e.name().to_owned()).unwrap_or_default();
    let mut head = format!(
        "  <Name>{}</Name>\n  <Prefix>{}</Prefix>\n",
        escape(name),
        encode_if(url, prefix)
    );
    if v2 {
        if let Some(t) = token {
            head.push_str(&format!(
                "  <ContinuationToken>{}</ContinuationToken>\n",
                escape(t)
            ));
        }
        if let Some(s) = query(q, "start-after").filter(|s| !s.is_empty()) {
            head.push_str(&format!(
                "  <StartAfter>{}</StartAfter>\n",
                encode_if(url, s)
            ));
        }
    } else {
        head.push_str(&format!("  <Marker>{}</Marker>\n", encode_if(url, &after)));
    }
    head.push_str(&format!(
        "  <MaxKeys>{max}</MaxKeys>\n  <Delimiter>{}</Delimiter>\n  <IsTruncated>{truncated}</IsTruncated>\n",
        encode_if(url, delimiter)
    ));
    if truncated {
        if v2 {
            head.push_str(&format!(
                "  <NextContinuationToken>{}</NextContinuationToken>\n",
                URL_SAFE_NO_PAD.encode(next.as_bytes())
            ));
        } else {
            head.push_str(&format!(
                "  <NextMarker>{}</NextMarker>\n",
                encode_if(url, &next)
            ));
        }
    }
    if v2 {
        head.push_str(&format!("  <KeyCount>{}</KeyCount>\n", page.len()));
    }
    if url {
        head.push_str("  <EncodingType>url</EncodingType>\n");
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>\n{head}{contents}{prefixes}</ListBucketResult>\n"
    );
    ctx.respond(200, body, Vec::new(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(keys: &[&str]) -> Bucket {
        let mut b = Bucket::new("b", "1", "ap-southeast-1", 0);
        for k in keys {
            b.objects.insert(
                (*k).to_owned(),
                Object {
                    size: 0,
                    etag: crate::world::EMPTY_ETAG.to_owned(),
                    last_modified_ms: 0,
                    content_type: String::new(),
                    data: None,
                },
            );
        }
        b
    }

    fn names(e: &[Entry<'_>]) -> Vec<String> {
        e.iter().map(|e| e.name().to_owned()).collect()
    }

    #[test]
    fn listing_rolls_up_at_the_delimiter_and_pages_past_prefixes() {
        let b = bucket(&["a/1", "a/2", "b", "c/x/y", "d"]);
        let (p, more) = entries(&b, "", "/", "", 2);
        assert_eq!(
            (names(&p), more),
            (vec!["a/".to_owned(), "b".to_owned()], true)
        );
        let (p, more) = entries(&b, "", "/", "b", 2);
        assert_eq!(
            (names(&p), more),
            (vec!["c/".to_owned(), "d".to_owned()], false)
        );
        let (p, _) = entries(&b, "a/", "", "", 10);
        assert_eq!(names(&p), ["a/1", "a/2"]);
        let (p, more) = entries(&b, "", "", "a/2", 10);
        assert_eq!((names(&p).len(), more), (3, false));
    }

    #[test]
    fn tagging_header() {
        let t = header_tags("owner=flinkform&stack=a%20b").unwrap();
        assert_eq!(t.get("stack").map(String::as_str), Some("a b"));
        assert!(header_tags("aliyun-x=1").is_err());
    }
}
