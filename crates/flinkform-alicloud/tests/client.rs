//! Tests of the OpenAPI client and provider: credentials resolution, endpoint hosts, error
//! classification, secret redaction, and signed calls against a small scripted HTTP server
//! on loopback that re-verifies every signature it receives.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use flinkform_alicloud::client::{ApiError, Client, ClientOptions, OssMethod, RpcMethod, classify};
use flinkform_alicloud::credentials::{Credentials, Secret, resolve};
use flinkform_alicloud::endpoint::{Endpoints, Product, oss_host};
use flinkform_alicloud::sign::{self, OssV1Request, V3Authorization, V3Request};
use flinkform_alicloud::{AliProvider, Error};
use flinkform_core::{
    AccountName, Address, Attrs, ChangeRequest, CloudId, DesiredResource, Mode, Observation,
    ObserveRequest, Provider, ProviderError, ProviderErrorKind as K, Readiness, RecordedResource,
    Region, Value,
};

const AK: &str = "LTAItestkey";
const SECRET: &str = "test-secret-value";

fn region(s: &str) -> Region {
    Region::new(s).unwrap()
}

// ---------------------------------------------------------------- credentials

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

const CONFIG: &str = r#"{
  "current": "main",
  "profiles": [
    {"name": "main", "mode": "AK", "access_key_id": "AK-MAIN", "access_key_secret": "SK-MAIN", "region_id": "ap-southeast-1"},
    {"name": "staging", "mode": "StsToken", "access_key_id": "STS.AK", "access_key_secret": "SK-STS", "sts_token": "TOKEN", "region_id": "cn-beijing"},
    {"name": "role", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y"}
  ]
}"#;

fn config_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, CONFIG).unwrap();
    (dir, path)
}

#[test]
fn credentials_from_env_closure() {
    let env = env_of(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK-ENV"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SK-ENV"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "TOK-ENV"),
    ]);
    let c = resolve("main", &env, None).unwrap();
    assert_eq!(c.access_key_id, "AK-ENV");
    assert_eq!(c.access_key_secret.expose(), "SK-ENV");
    assert_eq!(
        c.security_token.as_ref().map(Secret::expose),
        Some("TOK-ENV")
    );

    let half = env_of(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK-ENV")]);
    let err = resolve("main", &half, None).unwrap_err();
    assert!(matches!(err, Error::IncompleteEnv { .. }), "{err:?}");
}

#[test]
fn credentials_from_aliyun_profiles() {
    let (_dir, path) = config_file();
    let env = env_of(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK-ENV"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SK-ENV"),
    ]);

    // A profile named like the account wins over the environment.
    let main = resolve("main", &env, Some(&path)).unwrap();
    assert_eq!(main.access_key_id, "AK-MAIN");
    assert_eq!(main.access_key_secret.expose(), "SK-MAIN");
    assert!(main.security_token.is_none());

    let staging = resolve("staging", &env, Some(&path)).unwrap();
    assert_eq!(staging.access_key_id, "STS.AK");
    assert_eq!(
        staging.security_token.as_ref().map(Secret::expose),
        Some("TOKEN")
    );

    // No such profile: the environment.
    let other = resolve("other", &env, Some(&path)).unwrap();
    assert_eq!(other.access_key_id, "AK-ENV");

    let names = [
        AccountName::new("staging").unwrap(),
        AccountName::new("main").unwrap(),
    ];
    let all = flinkform_alicloud::resolve_all(&names, &env, Some(&path)).unwrap();
    let ids: Vec<(&str, &str)> = all
        .iter()
        .map(|(k, v)| (k.as_str(), v.access_key_id.as_str()))
        .collect();
    assert_eq!(ids, [("main", "AK-MAIN"), ("staging", "STS.AK")]);

    // Direct reads: `current` and unsupported modes.
    let current = Credentials::from_aliyun_profile(&path, None).unwrap();
    assert_eq!(current.access_key_id, "AK-MAIN");
    let err = Credentials::from_aliyun_profile(&path, Some("role")).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedProfileMode { .. }),
        "{err:?}"
    );
    let err = Credentials::from_aliyun_profile(&path, Some("nope")).unwrap_err();
    match err {
        Error::ProfileNotFound { known, .. } => assert_eq!(known, "main, role, staging"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_credentials_explain_both_options() {
    let (_dir, path) = config_file();
    let none = |_: &str| None;
    let err = resolve("prod", &none, Some(&path)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no Alibaba Cloud credentials for account `prod` (checked: "),
        "{err}"
    );
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("aliyun configure --profile prod"), "{help}");
    assert!(help.contains(&path.display().to_string()), "{help}");
    assert!(
        help.contains("ALIBABA_CLOUD_ACCESS_KEY_ID")
            && help.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{help}"
    );

    // A missing config file is not an error by itself.
    let err = resolve("prod", &none, Some(&path.with_file_name("absent.json"))).unwrap_err();
    assert!(matches!(err, Error::NoCredentials { .. }));

    // A malformed one is.
    std::fs::write(&path, "{not json").unwrap();
    let err = resolve("prod", &none, Some(&path)).unwrap_err();
    assert!(matches!(err, Error::ConfigParse { .. }), "{err:?}");
}

#[test]
fn secrets_never_print() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?}"), "***");
    assert_eq!(format!("{s}"), "***");
    let c = Credentials {
        access_key_id: "AKID".into(),
        access_key_secret: Secret::new("hunter2"),
        security_token: Some(Secret::new("tok-123")),
    };
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("hunter2") && !dbg.contains("tok-123"),
        "{dbg}"
    );
    assert!(dbg.contains("AKID"));
    let client = Client::new(Endpoints::Real, c, ClientOptions::default()).unwrap();
    let dbg = format!("{client:?}");
    assert!(
        !dbg.contains("hunter2") && !dbg.contains("tok-123"),
        "{dbg}"
    );
}

// ---------------------------------------------------------------- endpoints

#[test]
fn real_hosts_per_product_and_region() {
    let cases: &[(Product, Option<&str>, &str)] = &[
        (
            Product::Foasconsole,
            Some("ap-southeast-1"),
            "foasconsole.ap-southeast-1.aliyuncs.com",
        ),
        (
            Product::Foasconsole,
            Some("cn-beijing"),
            "foasconsole.cn-beijing.aliyuncs.com",
        ),
        (
            Product::Foasconsole,
            Some("cn-north-2-gov-1"),
            "foasconsole.aliyuncs.com",
        ),
        (Product::Vpc, Some("cn-hangzhou"), "vpc.aliyuncs.com"),
        (
            Product::Vpc,
            Some("eu-central-1"),
            "vpc.eu-central-1.aliyuncs.com",
        ),
        (Product::Ram, Some("cn-shanghai"), "ram.aliyuncs.com"),
        (Product::Ram, None, "ram.aliyuncs.com"),
        (
            Product::Bss,
            Some("ap-southeast-1"),
            "business.ap-southeast-1.aliyuncs.com",
        ),
        (
            Product::Bss,
            Some("cn-hongkong"),
            "business.ap-southeast-1.aliyuncs.com",
        ),
        (Product::Bss, Some("cn-beijing"), "business.aliyuncs.com"),
        (Product::Bss, None, "business.ap-southeast-1.aliyuncs.com"),
        (Product::Sts, None, "sts.aliyuncs.com"),
        (Product::OssAdmin, None, "oss-admin.aliyuncs.com"),
    ];
    for (product, r, host) in cases {
        let r = r.map(region);
        assert_eq!(product.host(r.as_ref()), *host, "{product} {r:?}");
    }
    assert_eq!(Product::Foasconsole.version(), "2021-10-28");
    assert_eq!(Product::OssAdmin.version(), "2019-04-22");
    assert_eq!(
        oss_host(&region("ap-southeast-1"), Some("b1")),
        "b1.oss-ap-southeast-1.aliyuncs.com"
    );
    assert_eq!(
        oss_host(&region("cn-beijing"), None),
        "oss-cn-beijing.aliyuncs.com"
    );

    assert_eq!(
        Endpoints::Real.url_for("vpc.aliyuncs.com"),
        "https://vpc.aliyuncs.com/"
    );
    assert_eq!(
        Endpoints::Override("http://127.0.0.1:9/".into()).url_for("vpc.aliyuncs.com"),
        "http://127.0.0.1:9/"
    );
    assert!(Endpoints::Override("not a url".into()).validate().is_err());
    assert!(Endpoints::Override("ftp://x".into()).validate().is_err());
}

// ---------------------------------------------------------------- errors

#[test]
fn error_classification_table() {
    let cases: &[(u16, &str, bool, K)] = &[
        (400, "Throttling.User", true, K::Throttling),
        (400, "Throttling.Api", false, K::Throttling),
        (400, "Throttling", false, K::Throttling),
        (429, "", false, K::Throttling),
        (400, "SomethingElse", true, K::Throttling),
        (500, "InternalError", false, K::Transient),
        (503, "ServiceUnavailable", false, K::Transient),
        (502, "", false, K::Transient),
        (404, "EntityNotExist.Role", false, K::NotFound),
        (404, "InvalidVpcId.NotFound", false, K::NotFound),
        (404, "InstanceNotFound", false, K::NotFound),
        (404, "NoSuchBucket", false, K::NotFound),
        (400, "InvalidVSwitchId.NotFound", false, K::NotFound),
        (404, "InvalidAccessKeyId.NotFound", false, K::Auth),
        (400, "SignatureDoesNotMatch", false, K::Auth),
        (403, "SignatureDoesNotMatch", false, K::Auth),
        (400, "InvalidTimeStamp.Expired", false, K::Auth),
        (409, "EntityAlreadyExists.Role", false, K::Conflict),
        (409, "EntityAlreadyExists.Role.Policy", false, K::Conflict),
        (400, "InstanceName.AlreadyExists", false, K::Conflict),
        (400, "IncorrectInstanceStatus", false, K::Conflict),
        (400, "DependencyViolation.VSwitch", false, K::Conflict),
        (409, "BucketAlreadyExists", false, K::Conflict),
        (409, "BucketNotEmpty", false, K::Conflict),
        (400, "ORDER.OPEND", false, K::Conflict),
        (400, "InsufficientBalance", false, K::InsufficientBalance),
        (
            400,
            "InvalidParameter.VSwitchIds",
            false,
            K::InvalidParameter,
        ),
        (400, "MissingParameter", false, K::InvalidParameter),
        (
            400,
            "InvalidCidrBlock.Overlapped",
            false,
            K::InvalidParameter,
        ),
        (400, "UnsupportedOperation", false, K::InvalidParameter),
        (400, "InsufficientResource", false, K::Fatal),
        (403, "Forbidden.RAM", false, K::Fatal),
        (400, "InvalidAction.NotFound", false, K::Fatal),
    ];
    for (status, code, retry_after, kind) in cases {
        let code = (!code.is_empty()).then_some(*code);
        assert_eq!(
            classify(Some(*status), code, *retry_after),
            *kind,
            "{status} {code:?}"
        );
    }
}

// ---------------------------------------------------------------- scripted server

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn action(&self) -> &str {
        self.header("x-acs-action")
    }

    /// Query and form parameters, merged.
    fn params(&self) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = self.query.iter().cloned().collect();
        p.extend(url::form_urlencoded::parse(&self.body).into_owned());
        p
    }

    /// Recomputes the V3 signature from what was received and checks it, the body hash
    /// and the set of signed headers.
    fn verify_v3(&self, secret: &str) {
        let auth = V3Authorization::parse(self.header("authorization"))
            .expect("a V3 Authorization header");
        assert_eq!(auth.access_key_id, AK);
        let body_sha = sign::sha256_hex(&self.body);
        assert_eq!(self.header("x-acs-content-sha256"), body_sha, "body hash");
        for required in [
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        ] {
            assert!(
                auth.signed_headers.iter().any(|h| h == required),
                "{required} not signed"
            );
        }
        let req = V3Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            signed_headers: &auth.signed_headers,
            body_sha256: &body_sha,
        };
        assert_eq!(req.signature(secret), auth.signature, "V3 signature");
    }
}

type Script = Arc<dyn Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync>;

#[derive(Clone)]
struct Server {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Script,
}

async fn handle(State(server): State<Server>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        headers,
        body,
    };
    let (status, headers, text) = (server.script)(&seen);
    server.seen.lock().unwrap().push(seen);
    let mut resp = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::from(text)).unwrap()
}

/// Starts a server answering with `script`; returns its base URL and the requests log.
async fn serve(
    script: impl Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Server {
        seen: Arc::clone(&seen),
        script: Arc::new(script),
    };
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn json_ok(body: serde_json::Value) -> (u16, Vec<(&'static str, String)>, String) {
    (
        200,
        vec![("content-type", "application/json;charset=utf-8".into())],
        body.to_string(),
    )
}

fn client(url: &str, token: Option<&str>) -> Client {
    let mut creds = Credentials::new(AK, SECRET);
    creds.security_token = token.map(Secret::new);
    Client::new(
        Endpoints::Override(url.to_owned()),
        creds,
        ClientOptions::default(),
    )
    .unwrap()
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn rpc_post_is_signed_with_real_host_and_form_body() {
    let (url, seen) =
        serve(|_| json_ok(serde_json::json!({"RequestId": "R1", "Success": true}))).await;
    let c = client(&url, None);
    let storage = r#"{"Oss":{"Bucket":"my-bucket"}}"#;
    let resp = c
        .rpc(
            Product::Foasconsole,
            Some(&region("ap-southeast-1")),
            "CreateInstance",
            p(&[
                ("InstanceName", "analytics prod*"),
                ("VSwitchIds", r#"["vsw-1","vsw-2"]"#),
                ("Storage", storage),
            ]),
            RpcMethod::Post,
        )
        .await
        .unwrap();
    assert_eq!(resp["RequestId"], "R1");
    assert_eq!(c.api_calls(), 1);

    let seen = seen.lock().unwrap();
    let r = &seen[0];
    r.verify_v3(SECRET);
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/");
    assert!(r.query.is_empty());
    assert_eq!(r.header("host"), "foasconsole.ap-southeast-1.aliyuncs.com");
    assert_eq!(r.action(), "CreateInstance");
    assert_eq!(r.header("x-acs-version"), "2021-10-28");
    assert_eq!(
        r.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(r.header("x-acs-signature-nonce").len(), 32);
    assert!(!r.headers.contains_key("x-acs-security-token"));
    let params = r.params();
    assert_eq!(params["InstanceName"], "analytics prod*");
    assert_eq!(params["VSwitchIds"], r#"["vsw-1","vsw-2"]"#);
    assert_eq!(params["Storage"], storage);
}

#[tokio::test]
async fn rpc_get_puts_params_in_query_and_signs_sts_token() {
    let (url, seen) =
        serve(|_| json_ok(serde_json::json!({"RequestId": "R2", "Instances": []}))).await;
    let c = client(&url, Some("sts-token-value"));
    c.rpc(
        Product::Vpc,
        Some(&region("cn-hangzhou")),
        "DescribeVpcs",
        p(&[("RegionId", "cn-hangzhou"), ("VpcName", "a b/c")]),
        RpcMethod::Get,
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    let r = &seen[0];
    r.verify_v3(SECRET);
    assert_eq!(r.method, "GET");
    assert!(r.body.is_empty());
    assert_eq!(r.header("x-acs-content-sha256"), sign::EMPTY_SHA256);
    assert_eq!(r.header("host"), "vpc.aliyuncs.com");
    assert_eq!(r.params()["VpcName"], "a b/c");
    assert_eq!(r.header("x-acs-security-token"), "sts-token-value");
    let auth = V3Authorization::parse(r.header("authorization")).unwrap();
    assert!(
        auth.signed_headers
            .iter()
            .any(|h| h == "x-acs-security-token")
    );
}

#[tokio::test]
async fn rpc_error_envelopes_are_typed() {
    let (url, _seen) = serve(|r| match r.action() {
        "GetRole" => (
            404,
            vec![],
            serde_json::json!({"RequestId": "REQ-404", "HostId": "ram.aliyuncs.com", "Code": "EntityNotExist.Role", "Message": "The role does not exist"}).to_string(),
        ),
        "DescribeInstances" => (
            400,
            vec![("x-acs-retry-after", "1500".to_owned())],
            serde_json::json!({"RequestId": "REQ-T", "Code": "Throttling.User", "Message": "Request was denied due to user flow control."}).to_string(),
        ),
        _ => (503, vec![], "<html>down</html>".to_owned()),
    })
    .await;
    let c = client(&url, None);
    let err = c
        .rpc(
            Product::Ram,
            None,
            "GetRole",
            p(&[("RoleName", "x")]),
            RpcMethod::Post,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApiError {
            kind: K::NotFound,
            action: "GetRole".into(),
            code: Some("EntityNotExist.Role".into()),
            message: "The role does not exist".into(),
            request_id: Some("REQ-404".into()),
            http_status: Some(404),
            retry_after_ms: None,
        }
    );
    assert_eq!(
        err.to_string(),
        "GetRole failed (HTTP 404): EntityNotExist.Role: The role does not exist (RequestId REQ-404)"
    );
    let pe: ProviderError = err.into();
    assert_eq!(pe.request_id.as_deref(), Some("REQ-404"));
    assert_eq!(pe.kind, K::NotFound);

    let err = c
        .rpc(
            Product::Foasconsole,
            None,
            "DescribeInstances",
            vec![],
            RpcMethod::Get,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, K::Throttling);
    assert_eq!(err.retry_after_ms, Some(1500));
    assert_eq!(err.request_id.as_deref(), Some("REQ-T"));

    let err = c
        .rpc(
            Product::Sts,
            None,
            "GetCallerIdentity",
            vec![],
            RpcMethod::Post,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, K::Transient);
    assert_eq!(err.code, None);
    assert_eq!(c.api_calls(), 3);
}

#[tokio::test]
async fn reads_retry_transient_errors_and_count_every_attempt() {
    let calls = Arc::new(Mutex::new(0));
    let n = Arc::clone(&calls);
    let (url, _seen) = serve(move |_| {
        let mut n = n.lock().unwrap();
        *n += 1;
        if *n < 3 {
            (
                500,
                vec![],
                serde_json::json!({"RequestId": "X", "Code": "InternalError", "Message": "boom"})
                    .to_string(),
            )
        } else {
            json_ok(serde_json::json!({"RequestId": "OK", "AccountId": "5123456789012345"}))
        }
    })
    .await;
    let opts = ClientOptions {
        retry_base_delay: std::time::Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let c = Client::new(Endpoints::Override(url), Credentials::new(AK, SECRET), opts).unwrap();
    let resp = c
        .rpc_read(
            Product::Sts,
            None,
            "GetCallerIdentity",
            vec![],
            RpcMethod::Post,
        )
        .await
        .unwrap();
    assert_eq!(resp["RequestId"], "OK");
    assert_eq!(c.api_calls(), 3);
}

#[tokio::test]
async fn transport_failures_are_transient() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = client(&url, None);
    let err = c
        .rpc(
            Product::Sts,
            None,
            "GetCallerIdentity",
            vec![],
            RpcMethod::Post,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, K::Transient);
    assert!(err.request_id.is_none());
}

#[tokio::test]
async fn oss_calls_use_v1_signature_and_parse_xml_errors() {
    let (url, seen) = serve(|r| {
        if r.method == "PUT" {
            (200, vec![("x-oss-request-id", "OSS-1".into()), ("location", "/my-bucket".into())], String::new())
        } else {
            (
                404,
                vec![("content-type", "application/xml".into()), ("x-oss-request-id", "OSS-2".into())],
                r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message><RequestId>OSS-2</RequestId><HostId>gone.oss-ap-southeast-1.aliyuncs.com</HostId></Error>"#.to_owned(),
            )
        }
    })
    .await;
    let c = client(&url, None);
    let r1 = region("ap-southeast-1");
    let (status, _) = c
        .oss(OssMethod::Put, &r1, Some("my-bucket"), None, Vec::new())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let err = c
        .oss(
            OssMethod::Get,
            &r1,
            Some("gone"),
            Some("bucketInfo"),
            Vec::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, K::NotFound);
    assert_eq!(err.action, "GetBucketInfo");
    assert_eq!(err.code.as_deref(), Some("NoSuchBucket"));
    assert_eq!(err.request_id.as_deref(), Some("OSS-2"));

    let seen = seen.lock().unwrap();
    for (r, resource) in [(&seen[0], "/my-bucket/"), (&seen[1], "/gone/?bucketInfo")] {
        let bucket = resource.trim_start_matches('/').split('/').next().unwrap();
        assert_eq!(
            r.header("host"),
            format!("{bucket}.oss-ap-southeast-1.aliyuncs.com")
        );
        let date = r.header("date");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        let expected = OssV1Request {
            verb: &r.method,
            content_md5: "",
            content_type: r.header("content-type"),
            date,
            oss_headers: &BTreeMap::new(),
            resource,
        }
        .signature(SECRET);
        assert_eq!(r.header("authorization"), format!("OSS {AK}:{expected}"));
    }
    assert_eq!(seen[1].query, p(&[("bucketInfo", "")]));
}

// ---------------------------------------------------------------- provider

fn instance(id: &str, name: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "InstanceId": id, "InstanceName": name, "Region": "ap-southeast-1", "ZoneId": "ap-southeast-1a",
        "VpcId": "vpc-1", "VSwitchIds": ["vsw-2", "vsw-1"], "ChargeType": "PRE",
        "ResourceSpec": {"Cpu": 16, "MemoryGB": 64}, "ClusterStatus": status,
        "Storage": {"Oss": {"Bucket": "bkt"}}
    })
}

fn provider(url: &str) -> AliProvider {
    let accounts = BTreeMap::from([(
        AccountName::new("main").unwrap(),
        Credentials::new(AK, SECRET),
    )]);
    AliProvider::new(
        Endpoints::Override(url.to_owned()),
        accounts,
        ClientOptions::default(),
    )
    .unwrap()
}

fn workspace_attrs() -> Attrs {
    Attrs::from([
        ("name".to_owned(), Value::str("analytics")),
        ("region".to_owned(), Value::str("ap-southeast-1")),
        ("zone".to_owned(), Value::str("ap-southeast-1a")),
        ("charge_type".to_owned(), Value::str("PRE")),
        ("vpc_id".to_owned(), Value::str("vpc-1")),
        (
            "vswitch_ids".to_owned(),
            Value::List(vec![Value::str("vsw-2"), Value::str("vsw-1")]),
        ),
        ("bucket".to_owned(), Value::str("bkt")),
        ("cu".to_owned(), Value::Int(16)),
        ("auto_renew".to_owned(), Value::Bool(true)),
        ("pricing_cycle".to_owned(), Value::str("Month")),
        ("duration".to_owned(), Value::Int(1)),
    ])
}

fn change(addr: &str, attrs: Attrs) -> ChangeRequest {
    ChangeRequest {
        addr: addr.parse().unwrap(),
        account: AccountName::new("main").unwrap(),
        region: Some(region("ap-southeast-1")),
        attrs,
        prior: None,
        changed: vec![],
        client_token: "tok-1".into(),
    }
}

#[tokio::test]
async fn workspace_create_sends_the_order_with_json_parameters() {
    let (url, seen) = serve(|r| {
        r.verify_v3(SECRET);
        match r.action() {
            "DescribeInstances" => json_ok(serde_json::json!({"RequestId": "D", "Instances": [], "TotalCount": 0})),
            "CreateInstance" => json_ok(
                serde_json::json!({"RequestId": "C", "Success": true, "OrderInfo": {"InstanceId": "f-sg-abc", "OrderId": 1}}),
            ),
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let prov = provider(&url);
    let out = prov
        .create(&change("flink_workspace.analytics", workspace_attrs()))
        .await
        .unwrap();
    assert_eq!(out.cloud_id.as_str(), "f-sg-abc");
    assert!(!out.done);
    let seen = seen.lock().unwrap();
    let actions: Vec<&str> = seen.iter().map(Seen::action).collect();
    assert_eq!(actions, ["DescribeInstances", "CreateInstance"]);
    assert_eq!(seen[0].params()["InstanceName"], "analytics");
    let params = seen[1].params();
    assert_eq!(params["VSwitchIds"], r#"["vsw-2","vsw-1"]"#);
    assert_eq!(params["Storage"], r#"{"Oss":{"Bucket":"bkt"}}"#);
    assert_eq!(params["ResourceSpec"], r#"{"Cpu":16,"MemoryGB":64}"#);
    assert_eq!(params["ChargeType"], "PRE");
    assert_eq!(params["PricingCycle"], "Month");
    assert_eq!(params["Duration"], "1");
    assert_eq!(params["AutoRenew"], "true");
    assert_eq!(params["Region"], "ap-southeast-1");
}

/// The ownership mark of `addr` in the test stack, as the `tags` attribute.
fn marked(mut attrs: Attrs, addr: &str) -> Attrs {
    attrs.insert(
        "tags".to_owned(),
        Value::str_map([("flinkform:stack", "stack-1"), ("flinkform:address", addr)]),
    );
    attrs
}

/// `instance` carrying `tags`.
fn tagged(mut inst: serde_json::Value, tags: &[(&str, &str)]) -> serde_json::Value {
    let list: Vec<_> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    inst["Tags"] = serde_json::json!(list);
    inst
}

#[tokio::test]
async fn workspace_create_adopts_one_that_carries_its_mark() {
    let (url, seen) = serve(|r| match r.action() {
        "DescribeInstances" => json_ok(serde_json::json!({"RequestId": "D", "TotalCount": 1, "Instances": [
            tagged(instance("f-sg-1", "analytics", "CREATING"),
                   &[("flinkform:stack", "stack-1"), ("flinkform:address", "flink_workspace.analytics")])
        ]})),
        other => panic!("unexpected {other}"),
    })
    .await;
    let attrs = marked(workspace_attrs(), "flink_workspace.analytics");
    let out = provider(&url)
        .create(&change("flink_workspace.analytics", attrs))
        .await
        .unwrap();
    assert_eq!(out.cloud_id.as_str(), "f-sg-1");
    assert!(!out.done);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn workspace_create_never_takes_over_one_without_its_mark() {
    for tags in [
        &[][..],
        &[
            ("flinkform:stack", "another"),
            ("flinkform:address", "flink_workspace.analytics"),
        ][..],
    ] {
        let (url, seen) = serve(move |r| match r.action() {
            "DescribeInstances" => json_ok(serde_json::json!({"RequestId": "D", "TotalCount": 1,
                "Instances": [tagged(instance("f-sg-1", "analytics", "RUNNING"), tags)]})),
            other => panic!("unexpected {other}: nothing may be ordered"),
        })
        .await;
        let attrs = marked(workspace_attrs(), "flink_workspace.analytics");
        let err = provider(&url)
            .create(&change("flink_workspace.analytics", attrs))
            .await
            .unwrap_err();
        assert_eq!(err.kind, K::Conflict, "{err}");
        assert!(err.message.contains("ownership mark"), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn observe_batches_and_maps_catalog_attributes() {
    let (url, seen) = serve(|r| {
        r.verify_v3(SECRET);
        let p = r.params();
        match r.action() {
            "DescribeInstances" => json_ok(serde_json::json!({
                "RequestId": "D", "TotalCount": 2,
                "Instances": [instance("f-sg-1", "analytics", "RUNNING"), instance("f-sg-2", "other", "CREATING")]
            })),
            "QueryAvailableInstances" => json_ok(serde_json::json!({
                "RequestId": "Q", "Code": "200", "Success": true,
                "Data": {"TotalCount": 1, "InstanceList": [{"InstanceID": "f-sg-1", "RenewStatus": "AutoRenewal"}]}
            })),
            "DescribeNamespaces" => {
                assert_eq!(p["InstanceId"], "f-sg-1");
                json_ok(serde_json::json!({
                    "RequestId": "N", "TotalCount": 2,
                    "Namespaces": [
                        {"Namespace": "analytics-default", "Status": "SUCCESS", "ResourceSpec": {"Cpu": 12, "MemoryGB": 48}},
                        {"Namespace": "etl", "Status": "CREATING", "ResourceSpec": {"Cpu": 4, "MemoryGB": 16}}
                    ]
                }))
            }
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let desired = |addr: &str, attrs: Attrs| DesiredResource {
        addr: addr.parse().unwrap(),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(region("ap-southeast-1")),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    };
    let wanted = [
        desired("flink_workspace.analytics", workspace_attrs()),
        desired(
            "flink_workspace.missing",
            Attrs::from([("name".to_owned(), Value::str("missing"))]),
        ),
        desired(
            "flink_project.analytics/etl",
            Attrs::from([("name".to_owned(), Value::str("etl"))]),
        ),
        desired(
            "flink_project.analytics/nope",
            Attrs::from([("name".to_owned(), Value::str("nope"))]),
        ),
        desired("oss_service.main", Attrs::new()),
    ];
    let req = ObserveRequest {
        desired: wanted.iter().collect(),
        recorded: vec![],
        accounts: BTreeMap::new(),
    };
    let observed = provider(&url).observe(&req).await.unwrap();
    let addr = |s: &str| -> Address { s.parse().unwrap() };

    let Observation::Found(ws) = &observed.resources[&addr("flink_workspace.analytics")] else {
        panic!()
    };
    assert_eq!(ws.cloud_id.as_str(), "f-sg-1");
    assert_eq!(ws.readiness, Readiness::Ready);
    let mut expected = workspace_attrs();
    expected.remove("pricing_cycle");
    expected.remove("duration");
    assert_eq!(ws.attrs, expected);

    assert_eq!(
        observed.resources[&addr("flink_workspace.missing")],
        Observation::Absent
    );
    let Observation::Found(etl) = &observed.resources[&addr("flink_project.analytics/etl")] else {
        panic!()
    };
    assert_eq!(etl.cloud_id.as_str(), "f-sg-1/etl");
    assert_eq!(etl.readiness, Readiness::Pending);
    assert_eq!(etl.attrs["cu"], Value::Int(4));
    assert_eq!(etl.attrs["workspace_id"], Value::str("f-sg-1"));
    assert_eq!(
        observed.resources[&addr("flink_project.analytics/nope")],
        Observation::Absent
    );
    assert_eq!(
        observed.resources[&addr("oss_service.main")],
        Observation::Unknown
    );

    // One listing, then one renewal query and one namespace listing (at the same time).
    assert_eq!(observed.api_calls, 3);
    let actions: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.action().to_owned())
        .collect();
    assert_eq!(actions[0], "DescribeInstances");
    let mut rest = actions[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["DescribeNamespaces", "QueryAvailableInstances"]);
}

#[tokio::test]
async fn account_level_creates_treat_existing_as_success() {
    let (url, seen) = serve(|r| {
        let err = |status: u16, code: &str| {
            (
                status,
                vec![],
                serde_json::json!({"RequestId": "E", "Code": code, "Message": "m"}).to_string(),
            )
        };
        match r.action() {
            "OpenOssService" => err(400, "ORDER.OPEND"),
            "GetRole" => err(404, "EntityNotExist.Role"),
            "ListPoliciesForRole" => {
                json_ok(serde_json::json!({"RequestId": "L", "Policies": {"Policy": []}}))
            }
            "CreateRole" => {
                let p = r.params();
                assert_eq!(p["RoleName"], "AliyunStreamAsiDefaultRole");
                assert!(p["AssumeRolePolicyDocument"].contains("stream.aliyuncs.com"));
                err(409, "EntityAlreadyExists.Role")
            }
            "AttachPolicyToRole" => {
                let p = r.params();
                assert_eq!(
                    (p["PolicyType"].as_str(), p["PolicyName"].as_str()),
                    ("System", "AliyunStreamAsiDefaultRolePolicy")
                );
                err(409, "EntityAlreadyExists.Role.Policy")
            }
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    let prov = provider(&url);
    let out = prov
        .create(&change("oss_service.main", Attrs::new()))
        .await
        .unwrap();
    assert_eq!((out.cloud_id.as_str(), out.done), ("oss", true));
    let role = Attrs::from([
        (
            "role_name".to_owned(),
            Value::str("AliyunStreamAsiDefaultRole"),
        ),
        (
            "policies".to_owned(),
            Value::List(vec![Value::str("System:AliyunStreamAsiDefaultRolePolicy")]),
        ),
    ]);
    let mut req = change("ram_role.main", role);
    req.region = None;
    // Creating makes one mutating call (CreateRole); the policy is attached by an update,
    // an action of its own.
    let out = prov.create(&req).await.unwrap();
    assert_eq!(
        (out.cloud_id.as_str(), out.done),
        ("AliyunStreamAsiDefaultRole", true)
    );
    req.changed = vec!["policies".to_owned()];
    req.prior = Some(flinkform_core::RecordedResource {
        addr: req.addr.clone(),
        mode: Mode::Managed,
        account: req.account.clone(),
        region: None,
        cloud_id: out.cloud_id.clone(),
        attrs: out.attrs.clone(),
        depends_on: BTreeSet::new(),
        protect: false,
    });
    prov.update(&req).await.unwrap();
    let actions: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.action().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "OpenOssService",
            "GetRole",
            "CreateRole",
            "ListPoliciesForRole",
            "AttachPolicyToRole"
        ]
    );

    let err = prov
        .create(&change("account_balance.main", Attrs::new()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, K::InvalidParameter);
}

#[tokio::test]
async fn deletes_treat_not_found_as_done() {
    let (url, seen) = serve(|r| match r.action() {
        "DeleteVpc" => (
            404,
            vec![],
            serde_json::json!({"RequestId": "E", "Code": "InvalidVpcId.NotFound", "Message": "m"})
                .to_string(),
        ),
        "DeleteInstance" => json_ok(serde_json::json!({"RequestId": "D", "Success": true})),
        "DeleteNamespace" => {
            let p = r.params();
            assert_eq!(
                (p["InstanceId"].as_str(), p["Namespace"].as_str()),
                ("f-sg-1", "etl")
            );
            json_ok(serde_json::json!({"RequestId": "N", "Success": true}))
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let prov = provider(&url);
    let prior = |addr: &str, id: &str| flinkform_core::DeleteRequest {
        prior: flinkform_core::RecordedResource {
            addr: addr.parse().unwrap(),
            mode: Mode::Managed,
            account: AccountName::new("main").unwrap(),
            region: Some(region("ap-southeast-1")),
            cloud_id: flinkform_core::CloudId::new(id).unwrap(),
            attrs: Attrs::new(),
            depends_on: BTreeSet::new(),
            protect: false,
        },
        objects: None,
    };
    assert!(
        prov.delete(&prior("vpc.ws", "vpc-gone"))
            .await
            .unwrap()
            .done
    );
    assert!(
        !prov
            .delete(&prior("flink_workspace.ws", "f-sg-1"))
            .await
            .unwrap()
            .done
    );
    assert!(
        !prov
            .delete(&prior("flink_project.ws/etl", "f-sg-1/etl"))
            .await
            .unwrap()
            .done
    );
    // Never deleted through the API: no call.
    assert!(
        prov.delete(&prior("oss_service.main", "oss"))
            .await
            .unwrap()
            .done
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// A listing of several pages, each mapped as it arrives: the pages after the first are
/// asked for at once the total is known, entries without an id are dropped, and a resource
/// is found on any page.
#[tokio::test]
async fn observe_maps_every_page_of_a_listing() {
    let (url, seen) = serve(|r| {
        r.verify_v3(SECRET);
        assert_eq!(r.action(), "DescribeVpcs", "{r:?}");
        let page: usize = r.params()["PageNumber"].parse().unwrap();
        let size: usize = r.params()["PageSize"].parse().unwrap();
        // 120 VPCs, numbered from 0; the first of each page has no id.
        let vpcs: Vec<serde_json::Value> = ((page - 1) * size..(page * size).min(120))
            .map(|i| {
                let id = if i % size == 0 {
                    serde_json::Value::Null
                } else {
                    serde_json::json!(format!("vpc-{i}"))
                };
                serde_json::json!({"VpcId": id, "VpcName": format!("n{i}"), "CidrBlock": "10.0.0.0/16",
                    "Status": "Available", "RegionId": "ap-southeast-1"})
            })
            .collect();
        json_ok(serde_json::json!({"RequestId": "V", "TotalCount": 120, "Vpcs": {"Vpc": vpcs}}))
    })
    .await;
    let main = AccountName::new("main").unwrap();
    let recorded = |name: &str, id: &str| RecordedResource {
        addr: format!("vpc.{name}").parse().unwrap(),
        mode: Mode::Managed,
        account: main.clone(),
        region: Some(region("ap-southeast-1")),
        cloud_id: CloudId::new(id).unwrap(),
        attrs: Attrs::new(),
        depends_on: BTreeSet::new(),
        protect: false,
    };
    let on = [
        recorded("first", "vpc-1"),
        recorded("last", "vpc-119"),
        recorded("gone", "vpc-120"),
    ];
    let req = ObserveRequest {
        desired: vec![],
        recorded: on.iter().collect(),
        accounts: BTreeMap::new(),
    };
    let observed = provider(&url).observe(&req).await.unwrap();
    let get = |a: &str| observed.resources[&a.parse::<Address>().unwrap()].clone();
    let Observation::Found(last) = get("vpc.last") else {
        panic!("vpc-119 is on the last page");
    };
    assert_eq!(last.attrs["name"], Value::str("n119"));
    assert!(matches!(get("vpc.first"), Observation::Found(_)));
    assert_eq!(get("vpc.gone"), Observation::Absent);
    let mut pages: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.params()["PageNumber"].clone())
        .collect();
    pages.sort();
    assert_eq!(pages, ["1", "2", "3"], "each page once");
}

#[tokio::test]
async fn observe_reads_networks_buckets_roles_and_account_facts_in_batches() {
    let (url, seen) = serve(|r| {
        if r.header("authorization").starts_with("OSS ") {
            let xml = |body: &str| {
                (
                    200,
                    vec![("content-type", "application/xml".into())],
                    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"),
                )
            };
            match (r.header("host"), r.query.first().map(|(k, _)| k.as_str())) {
                ("bkt.oss-ap-southeast-1.aliyuncs.com", Some("tagging")) => {
                    return xml("<Tagging><TagSet><Tag><Key>team</Key><Value>data</Value></Tag></TagSet></Tagging>");
                }
                ("bkt.oss-ap-southeast-1.aliyuncs.com", Some("list-type")) => {
                    return xml("<ListBucketResult><Name>bkt</Name><KeyCount>4</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>");
                }
                ("nope.oss-ap-southeast-1.aliyuncs.com", Some("bucketInfo")) => {
                    return (
                        404,
                        vec![("content-type", "application/xml".into())],
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code><Message>none</Message><RequestId>N</RequestId></Error>".to_owned(),
                    );
                }
                (host, _) => assert_eq!(host, "oss-ap-southeast-1.aliyuncs.com", "{r:?}"),
            }
            return (
                200,
                vec![("content-type", "application/xml".into())],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets>\
                 <Bucket><Name>bkt</Name><Location>oss-ap-southeast-1</Location><Region>ap-southeast-1</Region></Bucket>\
                 <Bucket><Name>other</Name><Location>oss-eu-west-1</Location></Bucket></Buckets></ListAllMyBucketsResult>"
                    .to_owned(),
            );
        }
        r.verify_v3(SECRET);
        json_ok(match r.action() {
            "DescribeVpcs" => serde_json::json!({"RequestId": "V", "TotalCount": 3, "Vpcs": {"Vpc": [
                {"VpcId": "vpc-same-name", "VpcName": "ws", "CidrBlock": "10.0.0.0/16", "Status": "Available", "RegionId": "ap-southeast-1",
                 "Tags": {"Tag": []}},
                {"VpcId": "vpc-1", "VpcName": "ws", "CidrBlock": "10.0.0.0/16", "Status": "Available", "RegionId": "ap-southeast-1",
                 "Tags": {"Tag": [{"Key": "flinkform:stack", "Value": "stack-1"}, {"Key": "flinkform:address", "Value": "vpc.ws"}]}},
                {"VpcId": "vpc-existing", "VpcName": "shared", "CidrBlock": "10.9.0.0/16", "Status": "Available", "RegionId": "ap-southeast-1"}
            ]}}),
            "DescribeVSwitches" => serde_json::json!({"RequestId": "S", "TotalCount": 1, "VSwitches": {"VSwitch": [
                {"VSwitchId": "vsw-1", "VSwitchName": "ws-0", "VpcId": "vpc-1", "ZoneId": "ap-southeast-1a", "CidrBlock": "10.0.1.0/24", "Status": "Pending",
                 "Tags": {"Tag": [{"Key": "flinkform:stack", "Value": "stack-1"}, {"Key": "flinkform:address", "Value": "vswitch.ws[0]"}]}},
                {"VSwitchId": "vsw-9", "VSwitchName": "corp", "VpcId": "vpc-existing", "ZoneId": "ap-southeast-1b", "CidrBlock": "10.9.1.0/24", "Status": "Available"}
            ]}}),
            "GetRole" => serde_json::json!({"RequestId": "G", "Role": {"RoleName": "AliyunStreamAsiDefaultRole"}}),
            "ListPoliciesForRole" => serde_json::json!({"RequestId": "L", "Policies": {"Policy": [
                {"PolicyName": "Zeta", "PolicyType": "Custom"},
                {"PolicyName": "AliyunStreamAsiDefaultRolePolicy", "PolicyType": "System"}
            ]}}),
            "GetCallerIdentity" => serde_json::json!({"RequestId": "I", "AccountId": "5123456789012345"}),
            "QueryAccountBalance" => serde_json::json!({"RequestId": "B", "Code": "200", "Success": true,
                "Data": {"AvailableAmount": "99.50", "Currency": "USD"}}),
            "DescribeSupportedRegions" => serde_json::json!({"RequestId": "R", "Success": true,
                "Regions": [{"Region": "ap-southeast-1"}, {"Region": "eu-central-1"}]}),
            "DescribeSupportedZones" => serde_json::json!({"RequestId": "Z", "ZoneIds": ["ap-southeast-1a", "ap-southeast-1b"]}),
            other => panic!("unexpected {other}"),
        })
    })
    .await;
    let main = AccountName::new("main").unwrap();
    let sg = region("ap-southeast-1");
    let desired = |addr: &str, mode: Mode, attrs: Attrs| DesiredResource {
        addr: addr.parse().unwrap(),
        mode,
        account: main.clone(),
        region: Some(sg.clone()),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    };
    let s = |v: &str| Value::str(v);
    let wanted = [
        desired(
            "vpc.ws",
            Mode::Managed,
            marked(
                Attrs::from([
                    ("name".to_owned(), s("ws")),
                    ("cidr".to_owned(), s("10.0.0.0/16")),
                ]),
                "vpc.ws",
            ),
        ),
        desired(
            "vpc.other",
            Mode::Data,
            Attrs::from([("id".to_owned(), s("vpc-existing"))]),
        ),
        desired(
            "vswitch.ws[0]",
            Mode::Managed,
            marked(
                Attrs::from([("name".to_owned(), s("ws-0"))]),
                "vswitch.ws[0]",
            ),
        ),
        desired(
            "oss_bucket.bkt",
            Mode::Managed,
            Attrs::from([("name".to_owned(), s("bkt"))]),
        ),
        desired(
            "oss_bucket.nope",
            Mode::Managed,
            Attrs::from([("name".to_owned(), s("nope"))]),
        ),
        DesiredResource {
            region: None,
            ..desired("ram_role.main", Mode::Managed, Attrs::new())
        },
        DesiredResource {
            region: None,
            ..desired("account_balance.main", Mode::Managed, Attrs::new())
        },
    ];
    let req = ObserveRequest {
        desired: wanted.iter().collect(),
        recorded: vec![],
        accounts: BTreeMap::from([(
            main.clone(),
            BTreeSet::from([sg.clone(), region("us-east-1")]),
        )]),
    };
    let observed = provider(&url).observe(&req).await.unwrap();
    let get = |a: &str| match &observed.resources[&a.parse::<Address>().unwrap()] {
        Observation::Found(f) => f.clone(),
        other => panic!("{a}: {other:?}"),
    };
    // Found by its mark, not by the name another VPC shares.
    assert_eq!(get("vpc.ws").cloud_id.as_str(), "vpc-1");
    assert!(get("vpc.ws").owner.is_stack("stack-1"));
    // The existing VPC's vSwitches, for the CIDR check.
    let neighbours = &observed.network[&CloudId::new("vpc-existing").unwrap()];
    assert_eq!(neighbours.len(), 1);
    assert_eq!(neighbours[0].attrs["cidr"], s("10.9.1.0/24"));
    assert_eq!(get("vpc.other").attrs["cidr"], s("10.9.0.0/16"));
    let vsw = get("vswitch.ws[0]");
    assert_eq!(vsw.readiness, Readiness::Pending);
    assert_eq!(vsw.attrs["vpc_id"], s("vpc-1"));
    assert_eq!(vsw.attrs["zone"], s("ap-southeast-1a"));
    let bkt = get("oss_bucket.bkt");
    assert_eq!(bkt.attrs["region"], s("ap-southeast-1"));
    assert_eq!(bkt.attrs["tags"], Value::str_map([("team", "data")]));
    // Objects are counted only for buckets a deletion may be planned for.
    assert_eq!(bkt.attrs.get("objects"), None);
    assert_eq!(bkt.owner, flinkform_core::Owner::Unmarked);
    assert_eq!(
        observed.resources[&"oss_bucket.nope".parse::<Address>().unwrap()],
        Observation::Absent
    );
    assert_eq!(
        get("ram_role.main").attrs["policies"],
        Value::List(vec![
            s("Custom:Zeta"),
            s("System:AliyunStreamAsiDefaultRolePolicy")
        ])
    );
    let bal = get("account_balance.main");
    assert_eq!(
        (
            bal.attrs["available"].clone(),
            bal.attrs["currency"].clone()
        ),
        (s("99.50"), s("USD"))
    );

    let facts = &observed.accounts[&main];
    assert_eq!(
        facts.uid.as_ref().map(|u| u.as_str()),
        Some("5123456789012345")
    );
    assert_eq!(facts.balance.as_ref().map(|b| b.cents), Some(9950));
    assert!(facts.flink_regions.contains(&region("eu-central-1")));
    // Zones only for requested regions the site offers (us-east-1 is not offered here).
    assert_eq!(
        facts.flink_zones.keys().cloned().collect::<Vec<_>>(),
        vec![sg.clone()]
    );
    assert_eq!(facts.flink_zones[&sg].len(), 2);

    // VPCs, vSwitches, buckets, bkt's tags, nope's probe, role (2), balance (shared with
    // the check), regions, zones; and the identity, which is the session's call (asked once
    // per client, whoever asks first), not counted in the refresh's.
    assert_eq!(observed.api_calls, 10);
    assert_eq!(seen.lock().unwrap().len(), 11);
}

// ---------------------------------------------------------------- prices

fn desired_workspace(attrs: Attrs) -> DesiredResource {
    DesiredResource {
        addr: "flink_workspace.analytics".parse().unwrap(),
        mode: Mode::Managed,
        account: AccountName::new("main").unwrap(),
        region: Some(region("ap-southeast-1")),
        attrs,
        depends_on: BTreeSet::new(),
        protect: false,
        origin: None,
    }
}

/// One `QueryCreateInstancePrice` per quote, the amounts read as money (floats with at most
/// two decimals; more is refused, as an error inside a 200 answer is), a year's monthly
/// share, a quota decrease negative, nothing to price without a call.
#[tokio::test]
async fn workspace_quotes_read_query_create_instance_price() {
    let (url, seen) = serve(|r| {
        r.verify_v3(SECRET);
        assert_eq!(r.action(), "QueryCreateInstancePrice");
        let p = r.params();
        let info = match (
            p["ChargeType"].as_str(),
            p.get("ResourceSpec").map(String::as_str),
        ) {
            ("PRE", Some(r#"{"Cpu":16,"MemoryGB":64}"#)) => serde_json::json!({
                "Currency": "USD", "OriginalAmount": 19200.0, "TradeAmount": 16320.0, "Code": ""
            }),
            ("PRE", Some(r#"{"Cpu":4,"MemoryGB":16}"#)) => serde_json::json!({
                "Currency": "USD", "OriginalAmount": 400, "TradeAmount": 400
            }),
            ("PRE", Some(r#"{"Cpu":2,"MemoryGB":8}"#)) => serde_json::json!({
                "Currency": "USD", "OriginalAmount": 0.125, "TradeAmount": 0.125
            }),
            ("POST", None) => serde_json::json!({
                "Currency": "USD", "Code": "ORDER.INST_HAS_UNPAID_ORDER", "Message": "unpaid order"
            }),
            other => panic!("unexpected {other:?}"),
        };
        json_ok(serde_json::json!({"RequestId": "Q", "PriceInfo": info}))
    })
    .await;
    let prov = provider(&url);
    let mut two_years = workspace_attrs();
    two_years.insert("pricing_cycle".into(), Value::str("Year"));
    two_years.insert("duration".into(), Value::Int(2));
    let price = prov
        .quote(&desired_workspace(two_years), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(price.amount.to_string(), "USD 16320.00");
    assert_eq!(price.list.to_string(), "USD 19200.00");
    assert_eq!(price.term, flinkform_core::PriceTerm::Months(24));
    assert_eq!(price.monthly.unwrap().to_string(), "USD 680.00");
    {
        let seen = seen.lock().unwrap();
        let p = seen[0].params();
        assert_eq!(
            (
                p["PricingCycle"].as_str(),
                p["Duration"].as_str(),
                p["InstanceName"].as_str()
            ),
            ("Year", "2", "analytics")
        );
        assert_eq!(p["VSwitchIds"], r#"["vsw-2","vsw-1"]"#);
    }

    // 16 → 12 CU: the 4 CU released, for a month, negative.
    let mut now = workspace_attrs();
    now.insert("cu".into(), Value::Int(16));
    let mut smaller = workspace_attrs();
    smaller.insert("cu".into(), Value::Int(12));
    let price = prov
        .quote(&desired_workspace(smaller), Some(&now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(price.amount.signed(), "-USD 400.00");
    assert_eq!(price.term, flinkform_core::PriceTerm::QuotaChangePerMonth);
    assert_eq!(price.monthly.unwrap().cents, -40_000);
    {
        let seen = seen.lock().unwrap();
        let p = seen[1].params();
        assert_eq!(
            (p["PricingCycle"].as_str(), p["Duration"].as_str()),
            ("Month", "1")
        );
    }

    // Nothing changes the quota: nothing to price, no call.
    let calls = seen.lock().unwrap().len();
    assert_eq!(
        prov.quote(&desired_workspace(workspace_attrs()), Some(&now))
            .await
            .unwrap(),
        None
    );
    assert_eq!(seen.lock().unwrap().len(), calls);

    // Money fails closed: a third decimal is refused, and so is an error inside the answer.
    let mut two_cu = workspace_attrs();
    two_cu.insert("cu".into(), Value::Int(2));
    let err = prov
        .quote(&desired_workspace(two_cu), None)
        .await
        .unwrap_err();
    assert!(err.message.contains("TradeAmount"), "{err}");
    let mut payg = workspace_attrs();
    payg.insert("charge_type".into(), Value::str("POST"));
    payg.remove("cu");
    let err = prov
        .quote(&desired_workspace(payg), None)
        .await
        .unwrap_err();
    assert!(err.message.contains("ORDER.INST_HAS_UNPAID_ORDER"), "{err}");

    // Other kinds are not priced.
    let mut vpc = desired_workspace(Attrs::new());
    vpc.addr = "vpc.analytics".parse().unwrap();
    assert_eq!(prov.quote(&vpc, None).await.unwrap(), None);
}
