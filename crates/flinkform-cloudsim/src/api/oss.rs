//! OSS over its REST protocol: V1 `Authorization: OSS ak:sig` verification, bucket, key and
//! region from the virtual host (`<bucket>.oss-<region>.aliyuncs.com`) or, for loopback
//! hosts, from the path; `PutBucket`, `GetBucketInfo`, `GetBucketLocation`, `HeadBucket`,
//! `ListBuckets` and `DeleteBucket` with XML bodies and XML errors; bucket tags and objects
//! are in [`objects`].

mod objects;

use std::collections::BTreeMap;

use flinkform_sign::OssV1Request;
use quick_xml::escape::escape;

use crate::world::{Bucket, InstancePhase, REPLAY_WINDOW_MS, World, iso, wall_ms};

/// An OSS request as the server received it.
pub(crate) struct OssRequest<'a> {
    pub(crate) method: &'a str,
    /// `Host` header.
    pub(crate) host: &'a str,
    /// Decoded path.
    pub(crate) path: &'a str,
    pub(crate) query: &'a [(String, String)],
    /// Lower-case header names.
    pub(crate) headers: &'a BTreeMap<String, String>,
    pub(crate) body: &'a [u8],
}

/// An OSS answer.
pub(crate) struct OssResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the world changed (the server then persists it).
    pub(crate) mutated: bool,
}

/// Whether `name` is a valid bucket name: 3–63 lowercase letters, digits and hyphens,
/// starting and ending with a letter or digit.
#[must_use]
pub(crate) fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn request_id(world: &mut World) -> String {
    format!(
        "{:016X}{:08X}",
        world.next_u64(),
        world.next_u64() & 0xFFFF_FFFF
    )
}

struct Target {
    bucket: Option<String>,
    /// The object key (empty for bucket-level requests).
    key: String,
    /// Region named by the host; `None` for loopback path-style requests.
    region: Option<String>,
    host_id: String,
}

fn target(req: &OssRequest<'_>) -> Target {
    let host = req.host.split(':').next().unwrap_or_default().to_owned();
    if let Some(prefix) = host.strip_suffix(".aliyuncs.com") {
        let labels: Vec<&str> = prefix.split('.').collect();
        let region_of = |l: &str| {
            l.strip_prefix("oss-")
                .map(|r| r.strip_suffix("-internal").unwrap_or(r).to_owned())
        };
        match labels.as_slice() {
            [endpoint] => {
                let (bucket, key) = split_path(req.path);
                return Target {
                    bucket,
                    key,
                    region: region_of(endpoint),
                    host_id: host.clone(),
                };
            }
            [bucket, endpoint, ..] => {
                return Target {
                    bucket: Some((*bucket).to_owned()),
                    key: req.path.strip_prefix('/').unwrap_or(req.path).to_owned(),
                    region: region_of(endpoint),
                    host_id: host.clone(),
                };
            }
            [] => {}
        }
    }
    let (bucket, key) = split_path(req.path);
    Target {
        bucket,
        key,
        region: None,
        host_id: host,
    }
}

/// `/<bucket>/<key>` of a path-style request.
fn split_path(path: &str) -> (Option<String>, String) {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (
        Some(bucket.to_owned()).filter(|b| !b.is_empty()),
        key.to_owned(),
    )
}

/// The sub-resources that are part of the canonicalized resource (OSS's list, as `oss2`
/// signs them).
const SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "asyncFetch",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "qosInfo",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "resourceGroup",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-process",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

fn canonical_resource(bucket: Option<&str>, key: &str, query: &[(String, String)]) -> String {
    let Some(bucket) = bucket else {
        return "/".to_owned();
    };
    let mut subs: Vec<String> = query
        .iter()
        .filter(|(k, _)| SUBRESOURCES.contains(&k.as_str()))
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    subs.sort();
    if subs.is_empty() {
        format!("/{bucket}/{key}")
    } else {
        format!("/{bucket}/{key}?{}", subs.join("&"))
    }
}

struct Ctx {
    request_id: String,
    host_id: String,
}

impl Ctx {
    fn error(&self, status: u16, code: &str, message: &str) -> OssResponse {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>{}</HostId>\n</Error>\n",
            escape(code),
            escape(message),
            self.request_id,
            escape(&self.host_id)
        );
        self.respond(status, body, Vec::new(), false)
    }

    fn respond(
        &self,
        status: u16,
        body: impl Into<Vec<u8>>,
        extra: Vec<(String, String)>,
        mutated: bool,
    ) -> OssResponse {
        let body = body.into();
        let mut headers = vec![
            ("x-oss-request-id".to_owned(), self.request_id.clone()),
            ("server".to_owned(), "AliyunOSS".to_owned()),
        ];
        if !body.is_empty() && !extra.iter().any(|(k, _)| k == "content-type") {
            headers.push(("content-type".to_owned(), "application/xml".to_owned()));
        }
        headers.extend(extra);
        OssResponse {
            status,
            headers,
            body,
            mutated,
        }
    }
}

/// Authenticates and runs one OSS request.
pub(crate) fn handle(world: &mut World, req: &OssRequest<'_>) -> OssResponse {
    let t = target(req);
    let ctx = Ctx {
        request_id: request_id(world),
        host_id: t.host_id.clone(),
    };
    let uid = match authenticate(world, req, &t, &ctx) {
        Ok(uid) => uid,
        Err(resp) => return resp,
    };
    world.record_call(&format!("oss:{}", req.method));
    let now = world.now_ms();
    world.collect_garbage(now);
    let has = |name: &str| req.query.iter().any(|(k, _)| k == name);
    let Some(b) = t.bucket.as_deref() else {
        return match req.method {
            "GET" => list_buckets(world, &uid, req.query, &ctx),
            _ => not_implemented(&ctx),
        };
    };
    let region = t.region.as_deref();
    if !t.key.is_empty() {
        return match req.method {
            "PUT" => objects::put_object(world, &uid, b, region, &t.key, req, &ctx, now),
            "GET" => objects::get_object(world, &uid, b, region, &t.key, &ctx, false),
            "HEAD" => objects::get_object(world, &uid, b, region, &t.key, &ctx, true),
            "DELETE" => objects::delete_object(world, &uid, b, region, &t.key, &ctx),
            _ => not_implemented(&ctx),
        };
    }
    match req.method {
        "PUT" if has("tagging") => objects::put_bucket_tags(world, &uid, b, region, req, &ctx),
        "PUT" => put_bucket(world, &uid, b, region, req, &ctx, now),
        "GET" if has("tagging") => objects::get_bucket_tags(world, &uid, b, region, &ctx),
        "GET" if has("bucketInfo") => with_bucket(world, &uid, b, region, &ctx, |bucket, _| {
            let resource_group = world
                .accounts
                .get(&uid)
                .map(|a| a.group(&bucket.resource_group_id).to_owned())
                .unwrap_or_default();
            bucket_info(bucket, &resource_group, &ctx)
        }),
        "GET" if has("location") => with_bucket(world, &uid, b, region, &ctx, |bucket, _| {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint>oss-{}</LocationConstraint>\n",
                escape(&bucket.region)
            );
            ctx.respond(200, body, Vec::new(), false)
        }),
        "GET" => objects::list_objects(world, &uid, b, region, req.query, &ctx),
        "HEAD" => with_bucket(world, &uid, b, region, &ctx, |_, _| {
            ctx.respond(200, String::new(), Vec::new(), false)
        }),
        "DELETE" if has("tagging") => {
            objects::delete_bucket_tags(world, &uid, b, region, req.query, &ctx)
        }
        "DELETE" => delete_bucket(world, &uid, b, region, &ctx, now),
        "POST" if has("delete") => {
            objects::delete_multiple_objects(world, &uid, b, region, req, &ctx)
        }
        _ => not_implemented(&ctx),
    }
}

fn not_implemented(ctx: &Ctx) -> OssResponse {
    ctx.error(
        501,
        "NotImplemented",
        "The emulator does not implement this OSS operation.",
    )
}

fn authenticate(
    world: &mut World,
    req: &OssRequest<'_>,
    t: &Target,
    ctx: &Ctx,
) -> Result<String, OssResponse> {
    let auth = req
        .headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(cred) = auth.strip_prefix("OSS ") else {
        return Err(ctx.error(
            400,
            "InvalidArgument",
            "Only OSS V1 signatures (Authorization: OSS AccessKeyId:Signature) are supported by the emulator.",
        ));
    };
    let (ak, signature) = cred.trim().split_once(':').unwrap_or((cred, ""));
    let token = req.headers.get("x-oss-security-token").map(String::as_str);
    let (uid, secret) = match crate::auth::check_key(world, ak, token) {
        Ok(found) => found,
        Err(e) if e.code == "InvalidSecurityToken.Expired" => {
            return Err(ctx.error(
                403,
                "SecurityTokenExpired",
                "The security token you provided has expired.",
            ));
        }
        Err(e) if e.code.starts_with("InvalidAccessKeyId") => {
            return Err(ctx.error(
                403,
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
            ));
        }
        Err(e) => {
            return Err(ctx.error(403, "InvalidSecurityToken", &e.message));
        }
    };
    let date = req
        .headers
        .get("date")
        .map(String::as_str)
        .unwrap_or_default();
    let Ok(when) = httpdate::parse_http_date(date) else {
        return Err(ctx.error(
            403,
            "AccessDenied",
            "The Date header is missing or not an RFC 1123 date.",
        ));
    };
    let when_ms = when
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    if (when_ms - wall_ms()).abs() > REPLAY_WINDOW_MS {
        return Err(ctx.error(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    let oss_headers: BTreeMap<String, String> = req
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-oss-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let resource = canonical_resource(t.bucket.as_deref(), &t.key, req.query);
    let expected = OssV1Request {
        verb: req.method,
        content_md5: req
            .headers
            .get("content-md5")
            .map(String::as_str)
            .unwrap_or_default(),
        content_type: req
            .headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or_default(),
        date,
        oss_headers: &oss_headers,
        resource: &resource,
    }
    .signature(&secret);
    if expected != signature {
        return Err(ctx.error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    Ok(uid)
}

fn owner_name(world: &World, uid: &str) -> String {
    world
        .accounts
        .get(uid)
        .map(|a| a.name.clone())
        .unwrap_or_default()
}

fn with_bucket(
    world: &World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    ctx: &Ctx,
    f: impl FnOnce(&Bucket, &str) -> OssResponse,
) -> OssResponse {
    match world.buckets.get(name) {
        None => ctx.error(404, "NoSuchBucket", "The specified bucket does not exist."),
        Some(b) if b.owner_uid != uid => ctx.error(403, "AccessDenied", "You have no right to access this bucket."),
        Some(b) if region.is_some_and(|r| r != b.region) => ctx.error(
            403,
            "AccessDenied",
            "The bucket you are attempting to access must be addressed using the specified endpoint.",
        ),
        Some(b) => f(b, &owner_name(world, uid)),
    }
}

/// GetBucketInfo's answer, with the fields a real one has for a bucket with default settings
/// (no server-side encryption, access tracking, acceleration or replication).
fn bucket_info(b: &Bucket, resource_group: &str, ctx: &Ctx) -> OssResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BucketInfo>\n  <Bucket>\n    <AccessMonitor>Disabled</AccessMonitor>\n    <Name>{name}</Name>\n    <Location>oss-{region}</Location>\n    <Region>{region}</Region>\n    <CreationDate>{created}</CreationDate>\n    <ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>\n    <IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>\n    <StorageClass>{class}</StorageClass>\n    <DataRedundancyType>LRS</DataRedundancyType>\n    <TransferAcceleration>Disabled</TransferAcceleration>\n    <CrossRegionReplication>Disabled</CrossRegionReplication>\n    <ResourceGroupId>{resource_group}</ResourceGroupId>\n    <Comment></Comment>\n    <AccessControlList><Grant>private</Grant></AccessControlList>\n    <Owner>\n      <ID>{owner_id}</ID>\n      <DisplayName>{owner_id}</DisplayName>\n    </Owner>\n    <ServerSideEncryptionRule>\n      <SSEAlgorithm>None</SSEAlgorithm>\n    </ServerSideEncryptionRule>\n  </Bucket>\n</BucketInfo>\n",
        name = escape(&b.name),
        region = escape(&b.region),
        created = iso(b.created_ms).replace('Z', ".000Z"),
        class = escape(&b.storage_class),
        owner_id = escape(&b.owner_uid),
        resource_group = escape(resource_group),
    );
    ctx.respond(200, body, Vec::new(), false)
}

fn storage_class_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut in_class = false;
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) => in_class = e.name().as_ref() == b"StorageClass",
            quick_xml::events::Event::Text(t) if in_class => {
                return Some(String::from_utf8_lossy(t.as_ref()).trim().to_owned());
            }
            quick_xml::events::Event::End(_) => in_class = false,
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

fn put_bucket(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    req: &OssRequest<'_>,
    ctx: &Ctx,
    now: i64,
) -> OssResponse {
    let opened = world.accounts.get(uid).is_some_and(|a| a.oss_opened);
    if !opened {
        return ctx.error(403, "UserDisable", "OSS is not activated for this account.");
    }
    if !valid_bucket_name(name) {
        return ctx.error(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        );
    }
    let region = region.unwrap_or(world.default_region()).to_owned();
    let location = vec![("location".to_owned(), format!("/{name}"))];
    if let Some(existing) = world.buckets.get(name) {
        if existing.owner_uid == uid && existing.region == region {
            return ctx.respond(200, String::new(), location, false);
        }
        return ctx.error(
            409,
            "BucketAlreadyExists",
            "The requested bucket name is not available.",
        );
    }
    let storage_class = storage_class_of(req.body).unwrap_or_else(|| "Standard".to_owned());
    let tags = match req.headers.get("x-oss-bucket-tagging") {
        None => crate::tags::Tags::new(),
        Some(h) => match objects::header_tags(h) {
            Ok(t) => t,
            Err(why) => return ctx.error(400, "InvalidTag", &why),
        },
    };
    let resource_group_id = req
        .headers
        .get("x-oss-resource-group-id")
        .cloned()
        .unwrap_or_default();
    let group_known = resource_group_id.is_empty()
        || world
            .accounts
            .get(uid)
            .is_some_and(|a| a.has_group(&resource_group_id));
    if !group_known {
        return ctx.error(
            400,
            "InvalidArgument",
            "The resource group in x-oss-resource-group-id does not exist.",
        );
    }
    let mut bucket = Bucket::new(name, uid, &region, now);
    bucket.storage_class = storage_class;
    bucket.tags = tags;
    bucket.resource_group_id = resource_group_id;
    world.buckets.insert(name.to_owned(), bucket);
    ctx.respond(200, String::new(), location, true)
}

fn delete_bucket(
    world: &mut World,
    uid: &str,
    name: &str,
    region: Option<&str>,
    ctx: &Ctx,
    now: i64,
) -> OssResponse {
    let check = with_bucket(world, uid, name, region, ctx, |_, _| {
        ctx.respond(204, String::new(), Vec::new(), true)
    });
    if check.status != 204 {
        return check;
    }
    let used = world.accounts.get(uid).is_some_and(|a| {
        a.instances
            .values()
            .any(|i| i.bucket == name && i.phase(now) != InstancePhase::Gone)
    });
    let has_objects = world
        .buckets
        .get(name)
        .is_some_and(|b| !b.objects.is_empty());
    if used || has_objects {
        return ctx.error(
            409,
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty.",
        );
    }
    world.buckets.remove(name);
    check
}

/// `ListBuckets` (GetService) with OSS's `prefix`, `marker` and `max-keys` (1–1000, default 100).
fn list_buckets(world: &World, uid: &str, query: &[(String, String)], ctx: &Ctx) -> OssResponse {
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let prefix = q("prefix").unwrap_or_default();
    let marker = q("marker").unwrap_or_default();
    let max_keys = match q("max-keys").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return ctx.error(
                400,
                "InvalidArgument",
                "max-keys must be between 1 and 1000.",
            );
        }
    };
    let matching: Vec<&Bucket> = world
        .buckets
        .values()
        .filter(|b| b.owner_uid == uid && b.name.starts_with(prefix) && b.name.as_str() > marker)
        .collect();
    let truncated = matching.len() > max_keys;
    let page = &matching[..matching.len().min(max_keys)];
    let mut items = String::new();
    for b in page {
        items.push_str(&format!(
            "    <Bucket>\n      <Name>{name}</Name>\n      <Location>oss-{region}</Location>\n      <Region>{region}</Region>\n      <CreationDate>{created}</CreationDate>\n      <ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>\n      <IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>\n      <StorageClass>{class}</StorageClass>\n    </Bucket>\n",
            name = escape(&b.name),
            region = escape(&b.region),
            created = iso(b.created_ms).replace('Z', ".000Z"),
            class = escape(&b.storage_class),
        ));
    }
    let paging = if truncated {
        let next = page
            .last()
            .map(|b| escape(&b.name).into_owned())
            .unwrap_or_default();
        format!("  <IsTruncated>true</IsTruncated>\n  <NextMarker>{next}</NextMarker>\n")
    } else {
        String::new()
    };
    let owner = escape(uid);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult>\n  <Prefix>{prefix}</Prefix>\n  <Marker>{marker}</Marker>\n  <MaxKeys>{max_keys}</MaxKeys>\n{paging}  <Owner>\n    <ID>{owner}</ID>\n    <DisplayName>{owner}</DisplayName>\n  </Owner>\n  <Buckets>\n{items}  </Buckets>\n</ListAllMyBucketsResult>\n",
        prefix = escape(prefix),
        marker = escape(marker),
    );
    ctx.respond(200, body, Vec::new(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("flink-state-1"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("Upper"));
        assert!(!valid_bucket_name("-edge"));
    }

    #[test]
    fn canonical_resources() {
        let q = vec![
            ("bucketInfo".to_owned(), String::new()),
            ("foo".to_owned(), "1".to_owned()),
        ];
        assert_eq!(canonical_resource(Some("b"), "", &q), "/b/?bucketInfo");
        assert_eq!(canonical_resource(Some("b"), "", &[]), "/b/");
        assert_eq!(canonical_resource(Some("b"), "d/k.txt", &[]), "/b/d/k.txt");
        assert_eq!(canonical_resource(None, "", &q), "/");
    }

    #[test]
    fn storage_class_from_create_configuration() {
        let xml = b"<CreateBucketConfiguration><StorageClass>IA</StorageClass></CreateBucketConfiguration>";
        assert_eq!(storage_class_of(xml).as_deref(), Some("IA"));
        assert_eq!(storage_class_of(b""), None);
    }
}
