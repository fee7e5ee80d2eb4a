//! End-to-end tests of the emulator over loopback HTTP: a minimal test-only signing client
//! (V3, legacy HMAC-SHA1 and OSS V1, built on `flinkform_sign`) exercises the
//! signature checks, the Flink lifecycle with its prerequisites, every CreateInstance
//! precondition, idempotency, console mutations, persistence, and the official Python SDKs.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use flinkform_cloudsim::{AccountKeys, FaultKind, SimHandle, Site, World, spawn};
use flinkform_sign::{OssV1Request, V3Request, percent_encode, rpc_v1_signature, sha256_hex};
use serde_json::{Value, json};

const FOAS: &str = "2021-10-28";
const VPC: &str = "2016-04-28";
const RAM: &str = "2015-05-01";
const BSS: &str = "2017-12-14";
const STS: &str = "2015-04-01";
const OSS_ADMIN: &str = "2019-04-22";
const REGION: &str = "ap-southeast-1";
const TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;

fn host_of(version: &str) -> String {
    match version {
        FOAS => format!("foasconsole.{REGION}.aliyuncs.com"),
        VPC => format!("vpc.{REGION}.aliyuncs.com"),
        RAM => "ram.aliyuncs.com".to_owned(),
        BSS => "business.ap-southeast-1.aliyuncs.com".to_owned(),
        STS => "sts.aliyuncs.com".to_owned(),
        _ => "oss-admin.aliyuncs.com".to_owned(),
    }
}

/// Knobs of one V3 request, to produce the bad requests the tests need.
#[derive(Clone, Default)]
struct Tweak {
    secret: Option<String>,
    access_key_id: Option<String>,
    nonce: Option<String>,
    date: Option<String>,
    /// Body sent differs from the body signed.
    tamper_body: bool,
}

struct Client {
    http: reqwest::Client,
    endpoint: String,
    keys: AccountKeys,
}

struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

impl Reply {
    fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.body);
        self.body
    }
    fn err(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["Code"].as_str().unwrap_or_default()),
            (status, code),
            "{}",
            self.body
        );
        assert!(
            self.body["RequestId"].is_string()
                && self.body["HostId"].is_string()
                && self.body["Message"].is_string()
        );
    }
}

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn form(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    fn new(sim: &SimHandle, keys: AccountKeys) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::builder().build().unwrap(),
            endpoint: sim.endpoint(),
            keys,
        }
    }

    async fn call(&self, version: &str, action: &str, params: &[(&str, &str)]) -> Reply {
        self.call_with(version, action, params, Tweak::default())
            .await
    }

    /// A V3-signed POST with the parameters in the form body.
    async fn call_with(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        t: Tweak,
    ) -> Reply {
        let body = form(params);
        let body_hash = sha256_hex(body.as_bytes());
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        headers.insert("host".into(), host_of(version));
        headers.insert("x-acs-action".into(), action.into());
        headers.insert("x-acs-version".into(), version.into());
        headers.insert("x-acs-date".into(), t.date.clone().unwrap_or_else(now_iso));
        headers.insert(
            "x-acs-signature-nonce".into(),
            t.nonce
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        );
        headers.insert("x-acs-content-sha256".into(), body_hash.clone());
        headers.insert(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        );
        let signed: Vec<String> = headers.keys().cloned().collect();
        let auth = V3Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            signed_headers: &signed,
            body_sha256: &body_hash,
        }
        .authorization(
            t.access_key_id
                .as_deref()
                .unwrap_or(&self.keys.access_key_id),
            t.secret.as_deref().unwrap_or(&self.keys.access_key_secret),
        );
        let sent = if t.tamper_body {
            format!("{body}&Extra=1")
        } else {
            body
        };
        let mut req = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("authorization", auth)
            .body(sent);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json;charset=utf-8")
        );
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("x-acs-retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        Reply {
            status,
            body: resp.json().await.unwrap(),
            retry_after,
        }
    }

    /// A legacy HMAC-SHA1 GET with everything in the query string.
    async fn legacy(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        secret: &str,
    ) -> Reply {
        let nonce = uuid::Uuid::new_v4().to_string();
        let timestamp = now_iso();
        let mut all: Vec<(String, String)> = vec![
            ("AccessKeyId".into(), self.keys.access_key_id.clone()),
            ("Action".into(), action.into()),
            ("Format".into(), "JSON".into()),
            ("SignatureMethod".into(), "HMAC-SHA1".into()),
            ("SignatureNonce".into(), nonce),
            ("SignatureVersion".into(), "1.0".into()),
            ("Timestamp".into(), timestamp),
            ("Version".into(), version.into()),
        ];
        all.extend(
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let signature = rpc_v1_signature("GET", &all, secret);
        all.push(("Signature".into(), signature));
        let query = all
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = self
            .http
            .get(format!("{}/?{query}", self.endpoint))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("x-acs-retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        Reply {
            status,
            body: resp.json().await.unwrap(),
            retry_after,
        }
    }

    /// A legacy HMAC-SHA1 POST (terraform's tea-rpc style): protocol parameters in the
    /// query, action parameters dot-flattened in the form body; the signature covers both.
    async fn legacy_post(
        &self,
        version: &str,
        action: &str,
        form_params: &[(&str, &str)],
    ) -> Reply {
        let mut query: Vec<(String, String)> = vec![
            ("AccessKeyId".into(), self.keys.access_key_id.clone()),
            ("Action".into(), action.into()),
            ("Format".into(), "JSON".into()),
            ("SignatureMethod".into(), "HMAC-SHA1".into()),
            ("SignatureNonce".into(), uuid::Uuid::new_v4().to_string()),
            ("SignatureVersion".into(), "1.0".into()),
            ("Timestamp".into(), now_iso()),
            ("Version".into(), version.into()),
        ];
        let mut signed = query.clone();
        signed.extend(
            form_params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        query.push((
            "Signature".into(),
            rpc_v1_signature("POST", &signed, &self.keys.access_key_secret),
        ));
        let query = query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = self
            .http
            .post(format!("{}/?{query}", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(form_params))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        Reply {
            status,
            body: resp.json().await.unwrap(),
            retry_after: None,
        }
    }

    /// An OSS V1-signed request, virtual-host style (`Host: <bucket>.oss-<region>.aliyuncs.com`).
    async fn oss(
        &self,
        method: &str,
        bucket: Option<&str>,
        region: &str,
        sub: &str,
        secret: Option<&str>,
    ) -> (u16, String) {
        let host = match bucket {
            Some(b) => format!("{b}.oss-{region}.aliyuncs.com"),
            None => format!("oss-{region}.aliyuncs.com"),
        };
        let date = httpdate::fmt_http_date(SystemTime::now());
        let resource = match bucket {
            Some(b) if sub.is_empty() => format!("/{b}/"),
            Some(b) => format!("/{b}/?{sub}"),
            None => "/".to_owned(),
        };
        let empty = BTreeMap::new();
        let sig = OssV1Request {
            verb: method,
            content_md5: "",
            content_type: "",
            date: &date,
            oss_headers: &empty,
            resource: &resource,
        }
        .signature(secret.unwrap_or(&self.keys.access_key_secret));
        let url = if sub.is_empty() {
            format!("{}/", self.endpoint)
        } else {
            format!("{}/?{sub}", self.endpoint)
        };
        let resp = self
            .http
            .request(method.parse().unwrap(), url)
            .header("host", host)
            .header("date", date)
            .header(
                "authorization",
                format!("OSS {}:{sig}", self.keys.access_key_id),
            )
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status >= 300 {
            assert!(resp.headers().contains_key("x-oss-request-id"));
        }
        (status, resp.text().await.unwrap())
    }
}

/// A frozen-clock world with account `main`, served on a loopback port.
async fn start() -> (SimHandle, Client) {
    let mut world = World::new(42);
    world.set_time_scale(0.0).unwrap();
    let keys = world.ensure_account("main");
    let sim = spawn(world).await.unwrap();
    let client = Client::new(&sim, keys);
    (sim, client)
}

async fn advance(sim: &SimHandle, secs: u64) {
    sim.world.lock().await.advance(Duration::from_secs(secs));
}

/// OSS, role, VPC, vSwitch and bucket through the APIs; returns (vpc, vswitch).
async fn prerequisites(c: &Client, bucket: &str) -> (String, String) {
    c.call(OSS_ADMIN, "OpenOssService", &[]).await.ok();
    c.call(
        RAM,
        "CreateRole",
        &[
            ("RoleName", "AliyunStreamAsiDefaultRole"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await
    .ok();
    c.call(
        RAM,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", "AliyunStreamAsiDefaultRole"),
        ],
    )
    .await
    .ok();
    let vpc = c
        .call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", REGION),
                ("CidrBlock", "10.0.0.0/16"),
                ("VpcName", "flink"),
            ],
        )
        .await
        .ok();
    let vpc = vpc["VpcId"].as_str().unwrap().to_owned();
    let vsw = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("RegionId", REGION),
                ("VpcId", &vpc),
                ("ZoneId", "ap-southeast-1b"),
                ("CidrBlock", "10.0.1.0/24"),
            ],
        )
        .await
        .ok();
    let vsw = vsw["VSwitchId"].as_str().unwrap().to_owned();
    assert_eq!(c.oss("PUT", Some(bucket), REGION, "", None).await.0, 200);
    (vpc, vsw)
}

fn create_params<'a>(
    name: &'a str,
    vpc: &'a str,
    vswitches: &'a str,
    storage: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Region", REGION),
        ("InstanceName", name),
        ("ChargeType", "PRE"),
        ("VpcId", vpc),
        ("VSwitchIds", vswitches),
        ("Storage", storage),
        ("ResourceSpec", r#"{"Cpu":10,"MemoryGB":40}"#),
        ("PricingCycle", "Month"),
        ("Duration", "1"),
        ("AutoRenew", "true"),
    ]
}

fn set<'a>(
    mut params: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    params.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        params.push((key, v));
    }
    params
}

async fn describe(c: &Client, id: &str) -> Value {
    let r = c
        .call(
            FOAS,
            "DescribeInstances",
            &[("Region", REGION), ("InstanceId", id)],
        )
        .await
        .ok();
    assert_eq!(r["TotalCount"], 1, "{r}");
    r["Instances"][0].clone()
}

async fn namespaces(c: &Client, id: &str) -> BTreeMap<String, (String, u64)> {
    let r = c
        .call(
            FOAS,
            "DescribeNamespaces",
            &[("Region", REGION), ("InstanceId", id)],
        )
        .await
        .ok();
    r["Namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["Namespace"].as_str().unwrap().to_owned(),
                (
                    n["Status"].as_str().unwrap().to_owned(),
                    n["ResourceSpec"]["Cpu"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn signatures_are_verified() {
    let (sim, c) = start().await;
    let ok = c.call(STS, "GetCallerIdentity", &[]).await.ok();
    assert_eq!(ok["AccountId"], c.keys.uid.as_str());
    assert_eq!(ok["Arn"], format!("acs:ram::{}:root", c.keys.uid));
    assert_eq!(ok["IdentityType"], "Account");

    let wrong = Tweak {
        secret: Some("not-the-secret".into()),
        ..Tweak::default()
    };
    c.call_with(STS, "GetCallerIdentity", &[], wrong)
        .await
        .err(400, "SignatureDoesNotMatch");
    let unknown = Tweak {
        access_key_id: Some("LTAInobody".into()),
        ..Tweak::default()
    };
    c.call_with(STS, "GetCallerIdentity", &[], unknown)
        .await
        .err(404, "InvalidAccessKeyId.NotFound");
    let tampered = Tweak {
        tamper_body: true,
        ..Tweak::default()
    };
    c.call_with(STS, "GetCallerIdentity", &[], tampered)
        .await
        .err(400, "SignatureDoesNotMatch");

    let nonce = Tweak {
        nonce: Some("fixed-nonce-1".into()),
        ..Tweak::default()
    };
    c.call_with(STS, "GetCallerIdentity", &[], nonce.clone())
        .await
        .ok();
    c.call_with(STS, "GetCallerIdentity", &[], nonce)
        .await
        .err(400, "SignatureNonceUsed");

    let stale = (chrono::Utc::now() - chrono::Duration::minutes(20))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    c.call_with(
        STS,
        "GetCallerIdentity",
        &[],
        Tweak {
            date: Some(stale),
            ..Tweak::default()
        },
    )
    .await
    .err(400, "InvalidTimeStamp.Expired");
    c.call_with(
        STS,
        "GetCallerIdentity",
        &[],
        Tweak {
            date: Some("yesterday".into()),
            ..Tweak::default()
        },
    )
    .await
    .err(400, "InvalidTimeStamp.Format");

    let legacy = c
        .legacy(
            FOAS,
            "DescribeSupportedRegions",
            &[],
            &c.keys.access_key_secret,
        )
        .await
        .ok();
    assert_eq!(legacy["Success"], true);
    assert!(
        legacy["Regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Region"] == REGION)
    );
    c.legacy(FOAS, "DescribeSupportedRegions", &[], "bad")
        .await
        .err(400, "SignatureDoesNotMatch");

    let vpc = c
        .legacy_post(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", REGION),
                ("CidrBlock", "10.7.0.0/16"),
                ("Tag.1.Key", "k"),
            ],
        )
        .await
        .ok();
    let vpc_id = vpc["VpcId"].as_str().unwrap();
    let seen = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", REGION), ("VpcId", vpc_id)],
        )
        .await
        .ok();
    assert_eq!(seen["Vpcs"]["Vpc"][0]["CidrBlock"], "10.7.0.0/16");

    c.call(FOAS, "NoSuchThing", &[])
        .await
        .err(404, "InvalidAction.NotFound");
    c.call("1999-01-01", "GetCallerIdentity", &[])
        .await
        .err(400, "NoSuchVersion");
    let (status, body) = c.oss("GET", None, REGION, "", Some("bad")).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn flink_lifecycle_with_prerequisites() {
    let (sim, c) = start().await;
    // Before activation, buckets cannot be created.
    let (status, body) = c.oss("PUT", Some("flink-state"), REGION, "", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>UserDisable</Code>"));

    let (vpc, vsw) = prerequisites(&c, "flink-state").await;
    c.call(OSS_ADMIN, "OpenOssService", &[])
        .await
        .err(400, "ORDER.OPEND");
    let policies = c
        .call(
            RAM,
            "ListPoliciesForRole",
            &[("RoleName", "AliyunStreamAsiDefaultRole")],
        )
        .await
        .ok();
    assert_eq!(
        policies["Policies"]["Policy"][0]["PolicyName"],
        "AliyunStreamAsiDefaultRolePolicy"
    );
    let role = c
        .call(
            RAM,
            "GetRole",
            &[("RoleName", "AliyunStreamAsiDefaultRole")],
        )
        .await
        .ok();
    assert_eq!(role["Role"]["AssumeRolePolicyDocument"], TRUST);

    // Network: Pending for 2 s of cloud time, then Available.
    let vpcs = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", REGION), ("VpcId", &vpc)],
        )
        .await
        .ok();
    assert_eq!(vpcs["Vpcs"]["Vpc"][0]["Status"], "Pending");
    assert_eq!(
        vpcs["Vpcs"]["Vpc"][0]["VSwitchIds"]["VSwitchId"][0],
        vsw.as_str()
    );
    advance(&sim, 3).await;
    let vsws = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("RegionId", REGION), ("VpcId", &vpc)],
        )
        .await
        .ok();
    assert_eq!(vsws["VSwitches"]["VSwitch"][0]["Status"], "Available");
    assert_eq!(
        vsws["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"],
        252
    );

    let (status, info) = c
        .oss("GET", Some("flink-state"), REGION, "bucketInfo", None)
        .await;
    assert_eq!(status, 200, "{info}");
    assert!(
        info.contains("<Location>oss-ap-southeast-1</Location>")
            && info.contains("<Name>flink-state</Name>")
    );

    let price = c
        .call(
            FOAS,
            "QueryCreateInstancePrice",
            &create_params(
                "ws",
                &vpc,
                &format!(r#"["{vsw}"]"#),
                r#"{"Oss":{"Bucket":"flink-state"}}"#,
            ),
        )
        .await
        .ok();
    assert_eq!(price["PriceInfo"]["TradeAmount"], 1000);
    assert_eq!(price["PriceInfo"]["Currency"], "USD");

    // Subscription workspace, with the dot-flattened parameter style.
    let vsw_flat = vsw.clone();
    let created = c
        .call(
            FOAS,
            "CreateInstance",
            &[
                ("Region", REGION),
                ("InstanceName", "analytics"),
                ("ChargeType", "PRE"),
                ("VpcId", &vpc),
                ("VSwitchIds.1", &vsw_flat),
                ("Storage.Oss.Bucket", "flink-state"),
                ("ResourceSpec.Cpu", "10"),
                ("ResourceSpec.MemoryGB", "40"),
                ("PricingCycle", "Month"),
                ("Duration", "1"),
                ("AutoRenew", "true"),
                ("Tag", r#"[{"Key":"team","Value":"data"}]"#),
            ],
        )
        .await
        .ok();
    assert_eq!(created["Success"], true);
    let id = created["OrderInfo"]["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        id.starts_with("f-ap-") && id.len() == "f-ap-".len() + 11,
        "{id}"
    );
    assert!(created["OrderInfo"]["OrderId"].is_u64());

    let inst = describe(&c, &id).await;
    assert_eq!(inst["ClusterStatus"], "CREATING");
    assert_eq!(inst["OrderState"], "NOT_INIT");
    assert_eq!(inst["ResourceSpec"], json!({"Cpu": 10, "MemoryGB": 40}));
    assert_eq!(inst["Storage"]["Oss"]["Bucket"], "flink-state");
    assert_eq!(inst["VSwitchIds"], json!([vsw]));
    assert_eq!(inst["ZoneId"], "ap-southeast-1b");
    assert_eq!(inst["Tags"], json!([{"Key": "team", "Value": "data"}]));
    assert_eq!(inst["Uid"], c.keys.uid.as_str());
    assert!(namespaces(&c, &id).await.is_empty());
    // Not RUNNING yet: namespaces cannot be created.
    c.call(
        FOAS,
        "CreateNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
            ("ResourceSpec", r#"{"Cpu":2,"MemoryGB":8}"#),
        ],
    )
    .await
    .err(400, "IncorrectInstanceStatus");
    advance(&sim, 120).await;
    assert_eq!(describe(&c, &id).await["OrderState"], "NORMAL");
    assert_eq!(describe(&c, &id).await["ClusterStatus"], "CREATING");
    advance(&sim, 600).await;
    let inst = describe(&c, &id).await;
    assert_eq!(inst["ClusterStatus"], "RUNNING");
    assert_eq!(inst["ClusterState"]["Status"], "RUNNING");
    let ns = namespaces(&c, &id).await;
    assert_eq!(
        ns,
        BTreeMap::from([("analytics-default".to_owned(), ("SUCCESS".to_owned(), 10))])
    );

    // The default namespace holds the whole quota: grow it, shrink the default, add one.
    c.call(
        FOAS,
        "CreateNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
            ("ResourceSpec", r#"{"Cpu":2,"MemoryGB":8}"#),
        ],
    )
    .await
    .err(400, "InsufficientResource");
    let modified = c
        .call(
            FOAS,
            "ModifyPrepayInstanceSpec",
            &[
                ("Region", REGION),
                ("InstanceId", &id),
                ("ResourceSpec", r#"{"Cpu":12,"MemoryGB":48}"#),
            ],
        )
        .await
        .ok();
    assert!(modified["OrderId"].is_u64());
    c.call(
        FOAS,
        "ModifyPrepayInstanceSpec",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("ResourceSpec", r#"{"Cpu":8,"MemoryGB":32}"#),
        ],
    )
    .await
    .err(400, "InsufficientResource");
    c.call(
        FOAS,
        "ModifyPrepayNamespaceSpec",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "analytics-default"),
            ("ResourceSpec", r#"{"Cpu":6,"MemoryGB":24}"#),
        ],
    )
    .await
    .ok();
    c.call(
        FOAS,
        "CreateNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
            ("ResourceSpec", r#"{"Cpu":6,"MemoryGB":24}"#),
        ],
    )
    .await
    .ok();
    c.call(
        FOAS,
        "CreateNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
            ("ResourceSpec", r#"{"Cpu":1,"MemoryGB":4}"#),
        ],
    )
    .await
    .err(400, "Namespace.AlreadyExists");
    c.call(
        FOAS,
        "CreateNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "Bad_Name"),
            ("ResourceSpec", r#"{"Cpu":1,"MemoryGB":4}"#),
        ],
    )
    .await
    .err(400, "InvalidParameter.Namespace");
    assert_eq!(namespaces(&c, &id).await["etl"], ("CREATING".to_owned(), 6));
    advance(&sim, 21).await;
    assert_eq!(namespaces(&c, &id).await["etl"], ("SUCCESS".to_owned(), 6));
    c.call(
        FOAS,
        "DeleteNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
        ],
    )
    .await
    .ok();
    assert_eq!(namespaces(&c, &id).await["etl"].0, "DELETING");
    advance(&sim, 21).await;
    assert!(!namespaces(&c, &id).await.contains_key("etl"));
    c.call(
        FOAS,
        "DeleteNamespace",
        &[
            ("Region", REGION),
            ("InstanceId", &id),
            ("Namespace", "etl"),
        ],
    )
    .await
    .err(404, "Namespace.NotFound");

    // Subscriptions are billed through BSS and cannot be released.
    let bss = c
        .call(
            BSS,
            "QueryAvailableInstances",
            &[("ProductCode", "sc"), ("Region", REGION)],
        )
        .await
        .ok();
    assert_eq!(bss["Data"]["TotalCount"], 1);
    assert_eq!(bss["Data"]["InstanceList"][0]["InstanceID"], id.as_str());
    assert_eq!(bss["Data"]["InstanceList"][0]["RenewStatus"], "AutoRenewal");
    c.call(
        BSS,
        "SetRenewal",
        &[
            ("InstanceIDs", &id),
            ("ProductCode", "sc"),
            ("SubscriptionType", "Subscription"),
            ("RenewalStatus", "ManualRenewal"),
        ],
    )
    .await
    .ok();
    let bss = c
        .call(BSS, "QueryAvailableInstances", &[("InstanceIDs", &id)])
        .await
        .ok();
    assert_eq!(
        bss["Data"]["InstanceList"][0]["RenewStatus"],
        "ManualRenewal"
    );
    c.call(
        FOAS,
        "DeleteInstance",
        &[("Region", REGION), ("InstanceId", &id)],
    )
    .await
    .err(400, "UnsupportedOperation");

    // Pay-as-you-go workspace: created, running, released.
    let created = c
        .call(
            FOAS,
            "CreateInstance",
            &[
                ("Region", REGION),
                ("InstanceName", "adhoc"),
                ("ChargeType", "POST"),
                ("VpcId", &vpc),
                ("VSwitchIds", &format!(r#"["{vsw}"]"#)),
                ("Storage", r#"{"Oss":{"Bucket":"flink-state"}}"#),
            ],
        )
        .await
        .ok();
    let payg = created["OrderInfo"]["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    c.call(
        FOAS,
        "ModifyPrepayInstanceSpec",
        &[
            ("Region", REGION),
            ("InstanceId", &payg),
            ("ResourceSpec", r#"{"Cpu":4,"MemoryGB":16}"#),
        ],
    )
    .await
    .err(400, "UnsupportedOperation");
    advance(&sim, 601).await;
    assert_eq!(describe(&c, &payg).await["ClusterStatus"], "RUNNING");
    c.call(VPC, "DeleteVSwitch", &[("VSwitchId", &vsw)])
        .await
        .err(400, "DependencyViolation");
    let (status, body) = c.oss("DELETE", Some("flink-state"), REGION, "", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("BucketNotEmpty"));
    c.call(
        FOAS,
        "DeleteInstance",
        &[("Region", REGION), ("InstanceId", &payg)],
    )
    .await
    .ok();
    assert_eq!(describe(&c, &payg).await["ClusterStatus"], "DELETING");
    advance(&sim, 61).await;
    let gone = c
        .call(
            FOAS,
            "DescribeInstances",
            &[("Region", REGION), ("InstanceId", &payg)],
        )
        .await
        .ok();
    assert_eq!(gone["Instances"], json!([]));
    assert_eq!(gone["TotalCount"], 0);
    c.call(
        FOAS,
        "DeleteInstance",
        &[("Region", REGION), ("InstanceId", &payg)],
    )
    .await
    .err(404, "InstanceNotFound");
    c.call(
        FOAS,
        "DescribeNamespaces",
        &[("Region", REGION), ("InstanceId", &payg)],
    )
    .await
    .err(404, "InstanceNotFound");

    let summary = sim.world.lock().await.summary()["main"].clone();
    assert_eq!(
        (
            summary.instances,
            summary.orders,
            summary.vpcs,
            summary.vswitches,
            summary.buckets,
            summary.roles,
            summary.namespaces
        ),
        (1, 3, 2, 2, 1, 1, 1)
    );
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn create_instance_preconditions_in_order() {
    let (sim, c) = start().await;
    let storage = r#"{"Oss":{"Bucket":"pre-bucket"}}"#;
    let vsws = r#"["vsw-sim-existing"]"#;
    let base = create_params("ws1", "vpc-sim-existing", vsws, storage);
    let create = |p: Vec<(&'static str, &'static str)>| {
        let c = &c;
        async move { c.call(FOAS, "CreateInstance", &p).await }
    };
    create(set(base.clone(), "Region", Some("cn-beijing")))
        .await
        .err(400, "InvalidParameter.Region");
    create(set(base.clone(), "InstanceName", Some("9lives")))
        .await
        .err(400, "InvalidParameter.InstanceName");
    create(set(base.clone(), "InstanceName", None))
        .await
        .err(400, "MissingParameter");
    create(set(base.clone(), "PricingCycle", None))
        .await
        .err(400, "MissingParameter");
    create(set(base.clone(), "ResourceSpec", None))
        .await
        .err(400, "MissingParameter");
    create(set(
        base.clone(),
        "ResourceSpec",
        Some(r#"{"Cpu":4,"MemoryGB":8}"#),
    ))
    .await
    .err(400, "InvalidParameter.ResourceSpec");
    create(set(
        base.clone(),
        "ResourceSpec",
        Some(r#"{"Cpu":0,"MemoryGB":0}"#),
    ))
    .await
    .err(400, "InvalidParameter.ResourceSpec");
    create(base.clone()).await.err(400, "OssService.NotOpened");
    c.call(OSS_ADMIN, "OpenOssService", &[]).await.ok();
    create(base.clone()).await.err(403, "Forbidden.RAM");
    c.call(
        RAM,
        "CreateRole",
        &[
            ("RoleName", "AliyunStreamAsiDefaultRole"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await
    .ok();
    create(base.clone()).await.err(403, "Forbidden.RAM");
    c.call(
        RAM,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", "AliyunStreamAsiDefaultRole"),
        ],
    )
    .await
    .ok();
    create(set(base.clone(), "VpcId", Some("vpc-missing")))
        .await
        .err(400, "InvalidVpcId.NotFound");
    create(set(base.clone(), "VSwitchIds", Some("[]")))
        .await
        .err(400, "InvalidParameter.VSwitchIds");
    create(set(base.clone(), "VSwitchIds", Some(r#"["vsw-missing"]"#)))
        .await
        .err(400, "InvalidParameter.VSwitchIds");
    create(set(
        base.clone(),
        "VSwitchIds",
        Some(r#"["a","b","c","d","e","f"]"#),
    ))
    .await
    .err(400, "InvalidParameter.VSwitchIds");
    // A second vSwitch in another zone of the same VPC, and one in another VPC.
    let other_zone = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", "vpc-sim-existing"),
                ("ZoneId", "ap-southeast-1c"),
                ("CidrBlock", "10.99.2.0/24"),
            ],
        )
        .await
        .ok()["VSwitchId"]
        .as_str()
        .unwrap()
        .to_owned();
    let two_zones: &'static str =
        Box::leak(format!(r#"["vsw-sim-existing","{other_zone}"]"#).into_boxed_str());
    create(set(base.clone(), "VSwitchIds", Some(two_zones)))
        .await
        .err(400, "InvalidParameter.VSwitchIds");
    let vpc2 = c
        .call(
            VPC,
            "CreateVpc",
            &[("RegionId", REGION), ("CidrBlock", "192.168.0.0/16")],
        )
        .await
        .ok()["VpcId"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc2),
                ("ZoneId", "ap-southeast-1a"),
                ("CidrBlock", "192.168.0.0/24"),
            ],
        )
        .await
        .ok()["VSwitchId"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign: &'static str = Box::leak(format!(r#"["{foreign}"]"#).into_boxed_str());
    create(set(base.clone(), "VSwitchIds", Some(foreign)))
        .await
        .err(400, "InvalidParameter.VSwitchIds");
    create(base.clone())
        .await
        .err(400, "InvalidParameter.Storage");
    // A bucket in another region, and one of another account, are not usable either.
    assert_eq!(
        c.oss("PUT", Some("far-bucket"), "eu-central-1", "", None)
            .await
            .0,
        200
    );
    create(set(
        base.clone(),
        "Storage",
        Some(r#"{"Oss":{"Bucket":"far-bucket"}}"#),
    ))
    .await
    .err(400, "InvalidParameter.Storage");
    {
        let mut w = sim.world.lock().await;
        w.ensure_account("other");
        w.console_open_oss("other").unwrap();
        w.console_create_bucket("other", "their-bucket", REGION)
            .unwrap();
    }
    create(set(
        base.clone(),
        "Storage",
        Some(r#"{"Oss":{"Bucket":"their-bucket"}}"#),
    ))
    .await
    .err(400, "InvalidParameter.Storage");
    let (status, body) = c.oss("PUT", Some("their-bucket"), REGION, "", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("BucketAlreadyExists"));
    assert_eq!(
        c.oss("PUT", Some("Bad_Name"), REGION, "", None).await.0,
        400
    );
    assert_eq!(
        c.oss("PUT", Some("pre-bucket"), REGION, "", None).await.0,
        200
    );
    assert_eq!(
        c.oss("PUT", Some("pre-bucket"), REGION, "", None).await.0,
        200,
        "same owner again is fine"
    );

    // Pay-as-you-go needs USD 100 of balance.
    sim.world.lock().await.set_balance("main", 9_999).unwrap();
    let post = set(
        set(
            set(
                set(base.clone(), "ChargeType", Some("POST")),
                "ResourceSpec",
                None,
            ),
            "PricingCycle",
            None,
        ),
        "Duration",
        None,
    );
    create(post.clone()).await.err(400, "InsufficientBalance");
    let balance = c.call(BSS, "QueryAccountBalance", &[]).await.ok();
    assert_eq!(balance["Data"]["AvailableAmount"], "99.99");
    assert_eq!(balance["Data"]["Currency"], "USD");
    assert_eq!(
        (balance["Code"].as_str(), balance["Success"].as_bool()),
        (Some("200"), Some(true))
    );
    sim.world.lock().await.set_balance("main", 10_000).unwrap();
    create(post).await.ok();
    create(base.clone())
        .await
        .err(400, "InstanceName.AlreadyExists");
    create(set(base.clone(), "InstanceName", Some("ws2")))
        .await
        .ok();

    // The China site offers other regions.
    sim.world
        .lock()
        .await
        .set_site("main", Site::China)
        .unwrap();
    let regions = c.call(FOAS, "DescribeSupportedRegions", &[]).await.ok();
    assert!(
        regions["Regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["Region"].as_str().unwrap().starts_with("cn-"))
    );
    let zones = c
        .call(FOAS, "DescribeSupportedZones", &[("Region", "cn-beijing")])
        .await
        .ok();
    assert_eq!(
        zones["ZoneIds"],
        json!(["cn-beijing-g", "cn-beijing-h", "cn-beijing-i"])
    );
    c.call(FOAS, "DescribeSupportedZones", &[("Region", REGION)])
        .await
        .err(400, "InvalidParameter.Region");
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn network_idempotency_and_errors() {
    let (sim, c) = start().await;
    let a = c
        .call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", REGION),
                ("CidrBlock", "10.1.0.0/16"),
                ("ClientToken", "tok-1"),
            ],
        )
        .await
        .ok();
    let b = c
        .call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", REGION),
                ("CidrBlock", "10.1.0.0/16"),
                ("ClientToken", "tok-1"),
            ],
        )
        .await
        .ok();
    assert_eq!(a["VpcId"], b["VpcId"]);
    let vpc = a["VpcId"].as_str().unwrap().to_owned();
    assert!(vpc.starts_with("vpc-") && vpc.len() == 21);
    let s1 = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "ap-southeast-1a"),
                ("CidrBlock", "10.1.1.0/24"),
                ("ClientToken", "tok-1"),
            ],
        )
        .await
        .ok();
    let s2 = c
        .call(
            VPC,
            "CreateVSwitch",
            &[
                ("VpcId", &vpc),
                ("ZoneId", "ap-southeast-1a"),
                ("CidrBlock", "10.1.1.0/24"),
                ("ClientToken", "tok-1"),
            ],
        )
        .await
        .ok();
    assert_eq!(s1["VSwitchId"], s2["VSwitchId"]);
    let summary = sim.world.lock().await.summary()["main"].clone();
    assert_eq!(
        (summary.vpcs, summary.vswitches),
        (2, 2),
        "the example network plus one of each"
    );

    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "ap-southeast-1a"),
            ("CidrBlock", "10.1.1.128/25"),
        ],
    )
    .await
    .err(400, "InvalidCidrBlock.Overlapped");
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "ap-southeast-1a"),
            ("CidrBlock", "10.2.0.0/24"),
        ],
    )
    .await
    .err(400, "InvalidCidrBlock.Malformed");
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "ap-southeast-1a"),
            ("CidrBlock", "banana"),
        ],
    )
    .await
    .err(400, "InvalidCidrBlock.Malformed");
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", &vpc),
            ("ZoneId", "cn-beijing-g"),
            ("CidrBlock", "10.1.2.0/24"),
        ],
    )
    .await
    .err(400, "InvalidZoneId.NotFound");
    c.call(
        VPC,
        "CreateVSwitch",
        &[
            ("VpcId", "vpc-nope"),
            ("ZoneId", "ap-southeast-1a"),
            ("CidrBlock", "10.1.2.0/24"),
        ],
    )
    .await
    .err(404, "InvalidVpcId.NotFound");

    // Paging over more VPCs than one page holds.
    for i in 0..4 {
        c.call(
            VPC,
            "CreateVpc",
            &[
                ("RegionId", REGION),
                ("CidrBlock", &format!("10.{}.0.0/16", 10 + i)),
            ],
        )
        .await
        .ok();
    }
    let p1 = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", REGION), ("PageSize", "4")],
        )
        .await
        .ok();
    let p2 = c
        .call(
            VPC,
            "DescribeVpcs",
            &[("RegionId", REGION), ("PageSize", "4"), ("PageNumber", "2")],
        )
        .await
        .ok();
    assert_eq!(
        (
            p1["TotalCount"].as_u64(),
            p1["Vpcs"]["Vpc"].as_array().unwrap().len()
        ),
        (Some(6), 4)
    );
    assert_eq!(p2["Vpcs"]["Vpc"].as_array().unwrap().len(), 2);
    c.call(
        VPC,
        "DescribeVpcs",
        &[("RegionId", REGION), ("PageSize", "51")],
    )
    .await
    .err(400, "InvalidParameter");

    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc)])
        .await
        .err(400, "DependencyViolation.VSwitch");
    c.call(
        VPC,
        "DeleteVSwitch",
        &[("VSwitchId", s1["VSwitchId"].as_str().unwrap())],
    )
    .await
    .ok();
    c.call(
        VPC,
        "DeleteVSwitch",
        &[("VSwitchId", s1["VSwitchId"].as_str().unwrap())],
    )
    .await
    .err(404, "InvalidVSwitchId.NotFound");
    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc)]).await.ok();
    c.call(VPC, "DeleteVpc", &[("VpcId", &vpc)])
        .await
        .err(404, "InvalidVpcId.NotFound");

    // RAM errors.
    c.call(RAM, "GetRole", &[("RoleName", "Nope")])
        .await
        .err(404, "EntityNotExist.Role");
    c.call(
        RAM,
        "CreateRole",
        &[
            ("RoleName", "R1"),
            ("AssumeRolePolicyDocument", "{not json"),
        ],
    )
    .await
    .err(400, "MalformedPolicyDocument");
    c.call(
        RAM,
        "CreateRole",
        &[("RoleName", "R1"), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await
    .ok();
    c.call(
        RAM,
        "CreateRole",
        &[("RoleName", "R1"), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await
    .err(409, "EntityAlreadyExists.Role");
    let attach = [
        ("PolicyType", "System"),
        ("PolicyName", "AliyunOSSFullAccess"),
        ("RoleName", "R1"),
    ];
    c.call(RAM, "AttachPolicyToRole", &attach).await.ok();
    c.call(RAM, "AttachPolicyToRole", &attach)
        .await
        .err(409, "EntityAlreadyExists.Role.Policy");
    c.call(
        RAM,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "NoSuchPolicy"),
            ("RoleName", "R1"),
        ],
    )
    .await
    .err(404, "EntityNotExist.Policy");
    c.call(RAM, "DeleteRole", &[("RoleName", "R1")])
        .await
        .err(409, "DeleteConflict.Role.Policy");
    c.call(RAM, "DetachPolicyFromRole", &attach).await.ok();
    c.call(RAM, "DetachPolicyFromRole", &attach)
        .await
        .err(404, "EntityNotExist.Role.Policy");
    c.call(RAM, "DeleteRole", &[("RoleName", "R1")]).await.ok();
    sim.stop().await.unwrap();
}

/// A running PRE workspace `ws` in the example network, set up directly in the world.
async fn running_workspace(sim: &SimHandle, c: &Client) -> String {
    {
        let mut w = sim.world.lock().await;
        w.console_open_oss("main").unwrap();
        w.console_create_bucket("main", "ws-bucket", REGION)
            .unwrap();
    }
    c.call(
        RAM,
        "CreateRole",
        &[
            ("RoleName", "AliyunStreamAsiDefaultRole"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await
    .ok();
    c.call(
        RAM,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", "AliyunStreamAsiDefaultRole"),
        ],
    )
    .await
    .ok();
    let r = c
        .call(
            FOAS,
            "CreateInstance",
            &create_params(
                "ws",
                "vpc-sim-existing",
                r#"["vsw-sim-existing"]"#,
                r#"{"Oss":{"Bucket":"ws-bucket"}}"#,
            ),
        )
        .await
        .ok();
    advance(sim, 601).await;
    r["OrderInfo"]["InstanceId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn console_mutations_show_up_on_the_wire() {
    let (sim, c) = start().await;
    let id = running_workspace(&sim, &c).await;
    {
        let mut w = sim.world.lock().await;
        w.console_set_quota("main", "ws", 20).unwrap();
        w.console_set_auto_renew("main", "ws", false).unwrap();
        w.console_delete_namespace("main", "ws", "ws-default")
            .unwrap();
        w.console_delete_vswitch("main", "vsw-sim-existing")
            .unwrap();
        w.console_delete_bucket("main", "ws-bucket").unwrap();
        assert!(matches!(
            w.console_set_quota("main", "nope", 1),
            Err(flinkform_cloudsim::Error::NotFound { .. })
        ));
        assert!(matches!(
            w.console_delete_namespace("main", "ws", "ws-default"),
            Err(flinkform_cloudsim::Error::NotFound { .. })
        ));
        assert!(
            w.console_delete_vswitch("main", "vsw-sim-existing")
                .is_err()
        );
        assert!(w.console_delete_bucket("main", "ws-bucket").is_err());
        assert!(matches!(
            w.console_set_auto_renew("nobody", "ws", true),
            Err(flinkform_cloudsim::Error::UnknownAccount(_))
        ));
        let info = &w.instances("main").unwrap()[0];
        assert_eq!(
            (info.cpu, info.renew_status.as_str(), info.namespaces.len()),
            (Some(20), "ManualRenewal", 0)
        );
    }
    assert_eq!(describe(&c, &id).await["ResourceSpec"]["Cpu"], 20);
    assert!(namespaces(&c, &id).await.is_empty());
    let bss = c
        .call(BSS, "QueryAvailableInstances", &[("InstanceIDs", &id)])
        .await
        .ok();
    assert_eq!(
        bss["Data"]["InstanceList"][0]["RenewStatus"],
        "ManualRenewal"
    );
    let vsws = c
        .call(
            VPC,
            "DescribeVSwitches",
            &[("VSwitchId", "vsw-sim-existing")],
        )
        .await
        .ok();
    assert_eq!(vsws["TotalCount"], 0);
    let (status, _) = c
        .oss("GET", Some("ws-bucket"), REGION, "bucketInfo", None)
        .await;
    assert_eq!(status, 404);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn world_survives_save_and_load() {
    let (sim, c) = start().await;
    let id = {
        let mut w = sim.world.lock().await;
        w.console_open_oss("main").unwrap();
        w.console_create_bucket("main", "persisted", REGION)
            .unwrap();
        drop(w);
        c.call(
            RAM,
            "CreateRole",
            &[
                ("RoleName", "AliyunStreamAsiDefaultRole"),
                ("AssumeRolePolicyDocument", TRUST),
            ],
        )
        .await
        .ok();
        c.call(
            RAM,
            "AttachPolicyToRole",
            &[
                ("PolicyType", "System"),
                ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
                ("RoleName", "AliyunStreamAsiDefaultRole"),
            ],
        )
        .await
        .ok();
        let r = c
            .call(
                FOAS,
                "CreateInstance",
                &create_params(
                    "ws",
                    "vpc-sim-existing",
                    r#"["vsw-sim-existing"]"#,
                    r#"{"Oss":{"Bucket":"persisted"}}"#,
                ),
            )
            .await
            .ok();
        r["OrderInfo"]["InstanceId"].as_str().unwrap().to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    let before = {
        let w = sim.world.lock().await;
        w.save(&path).unwrap();
        (w.id().to_owned(), w.summary())
    };
    sim.stop().await.unwrap();
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 1,
        "no temporary file left behind"
    );

    let mut loaded = World::load(&path).unwrap();
    assert_eq!((loaded.id().to_owned(), loaded.summary()), before);
    assert_eq!(loaded.instances("main").unwrap()[0].status, "CREATING");
    loaded.advance(Duration::from_secs(601));
    let keys = loaded.ensure_account("main");
    assert_eq!(keys, c.keys, "credentials survive");
    let sim = spawn(loaded).await.unwrap();
    let c = Client::new(&sim, keys);
    assert_eq!(describe(&c, &id).await["ClusterStatus"], "RUNNING");
    assert_eq!(namespaces(&c, &id).await["ws-default"].0, "SUCCESS");
    sim.stop().await.unwrap();

    std::fs::write(&path, b"{\"not\":\"a world\"}").unwrap();
    assert!(matches!(
        World::load(&path),
        Err(flinkform_cloudsim::Error::CorruptWorld { .. })
    ));
    assert!(matches!(
        World::load(&dir.path().join("missing.json")),
        Err(flinkform_cloudsim::Error::Io { .. })
    ));
}

#[tokio::test]
async fn persistence_hook_saves_after_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    let mut world = World::new(3);
    let keys = world.ensure_account("main");
    let shared = std::sync::Arc::new(tokio::sync::Mutex::new(world));
    let sim = flinkform_cloudsim::spawn_shared(
        shared,
        flinkform_cloudsim::SimOptions {
            persist_to: Some(path.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = Client::new(&sim, keys);
    c.call(STS, "GetCallerIdentity", &[]).await.ok();
    assert!(!path.exists(), "reads do not write the file");
    c.call(VPC, "CreateVpc", &[("RegionId", REGION)]).await.ok();
    assert_eq!(World::load(&path).unwrap().summary()["main"].vpcs, 2);
    c.call(OSS_ADMIN, "OpenOssService", &[]).await.ok();
    assert_eq!(c.oss("PUT", Some("hooked"), REGION, "", None).await.0, 200);
    assert_eq!(World::load(&path).unwrap().summary()["main"].buckets, 1);
    let (status, list) = c.oss("GET", None, REGION, "", None).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("<Name>hooked</Name>") && list.contains("<ListAllMyBucketsResult>"),
        "{list}"
    );
    assert!(!list.contains("<IsTruncated>true"), "{list}");
    assert_eq!(
        c.oss("PUT", Some("hooked-2"), REGION, "", None).await.0,
        200
    );
    let (_, first) = c.oss("GET", None, REGION, "max-keys=1", None).await;
    assert!(
        first.contains("<Name>hooked</Name>") && !first.contains("hooked-2"),
        "{first}"
    );
    assert!(
        first.contains("<IsTruncated>true</IsTruncated>")
            && first.contains("<NextMarker>hooked</NextMarker>")
    );
    let (_, second) = c
        .oss("GET", None, REGION, "marker=hooked&max-keys=1", None)
        .await;
    assert!(
        second.contains("<Name>hooked-2</Name>") && !second.contains("<IsTruncated>true"),
        "{second}"
    );
    assert_eq!(
        c.oss("DELETE", Some("hooked-2"), REGION, "", None).await.0,
        204
    );
    let (status, _) = c.oss("DELETE", Some("hooked"), REGION, "", None).await;
    assert_eq!(status, 204);
    assert_eq!(World::load(&path).unwrap().summary()["main"].buckets, 0);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn injected_faults() {
    let (sim, c) = start().await;
    {
        let mut w = sim.world.lock().await;
        w.inject_fault(Some("DescribeVpcs"), FaultKind::Throttle, 2);
        w.inject_fault(None, FaultKind::InternalError, 1);
    }
    let throttled = c.call(VPC, "DescribeVpcs", &[("RegionId", REGION)]).await;
    throttled.err(400, "Throttling.User");
    assert_eq!(throttled.retry_after.as_deref(), Some("1000"));
    c.call(VPC, "DescribeVpcs", &[("RegionId", REGION)])
        .await
        .err(400, "Throttling.User");
    c.call(VPC, "DescribeVpcs", &[("RegionId", REGION)])
        .await
        .err(500, "InternalError");
    assert!(sim.world.lock().await.faults().is_empty());
    c.call(VPC, "DescribeVpcs", &[("RegionId", REGION)])
        .await
        .ok();

    // A lost response: the VPC exists although the client saw 503; its ClientToken retry
    // returns the same VPC.
    sim.world
        .lock()
        .await
        .inject_fault(Some("CreateVpc"), FaultKind::LoseResponse, 1);
    let params = [
        ("RegionId", REGION),
        ("CidrBlock", "10.5.0.0/16"),
        ("ClientToken", "lost-1"),
    ];
    c.call(VPC, "CreateVpc", &params)
        .await
        .err(503, "ServiceUnavailable");
    assert_eq!(sim.world.lock().await.summary()["main"].vpcs, 2);
    let retried = c.call(VPC, "CreateVpc", &params).await.ok();
    assert!(retried["VpcId"].as_str().unwrap().starts_with("vpc-"));
    assert_eq!(sim.world.lock().await.summary()["main"].vpcs, 2);
    sim.world.lock().await.clear_faults();
    sim.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_client_token_create_one_vpc() {
    let (sim, c) = start().await;
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .call(
                    VPC,
                    "CreateVpc",
                    &[
                        ("RegionId", REGION),
                        ("CidrBlock", "10.9.0.0/16"),
                        ("ClientToken", "same"),
                    ],
                )
                .await
                .ok();
            r["VpcId"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(sim.world.lock().await.summary()["main"].vpcs, 2);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn oss_path_style_on_loopback() {
    let (sim, c) = start().await;
    sim.world.lock().await.console_open_oss("main").unwrap();
    let send = |method: &'static str, sub: &'static str| {
        let c = &c;
        let sim = &sim;
        async move {
            let date = httpdate::fmt_http_date(SystemTime::now());
            let resource = if sub.is_empty() {
                "/pathy/".to_owned()
            } else {
                format!("/pathy/?{sub}")
            };
            let empty = BTreeMap::new();
            let sig = OssV1Request {
                verb: method,
                content_md5: "",
                content_type: "",
                date: &date,
                oss_headers: &empty,
                resource: &resource,
            }
            .signature(&c.keys.access_key_secret);
            let url = if sub.is_empty() {
                format!("{}/pathy", sim.endpoint())
            } else {
                format!("{}/pathy?{sub}", sim.endpoint())
            };
            let resp = c
                .http
                .request(method.parse().unwrap(), url)
                .header("date", date)
                .header(
                    "authorization",
                    format!("OSS {}:{sig}", c.keys.access_key_id),
                )
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    assert_eq!(send("PUT", "").await.0, 200);
    let (status, info) = send("GET", "bucketInfo").await;
    assert_eq!(status, 200);
    assert!(
        info.contains("<Location>oss-ap-southeast-1</Location>"),
        "{info}"
    );
    let (status, location) = send("GET", "location").await;
    assert_eq!(status, 200);
    assert!(
        location.contains("<LocationConstraint>oss-ap-southeast-1</LocationConstraint>"),
        "{location}"
    );
    assert_eq!(send("DELETE", "").await.0, 204);
    let (status, body) = send("GET", "bucketInfo").await;
    assert_eq!(status, 404);
    assert!(
        body.contains("<Code>NoSuchBucket</Code>") && body.contains("<RequestId>"),
        "{body}"
    );
    sim.stop().await.unwrap();
}

/// An OSS request on the virtual host `<bucket>.oss-<region>.aliyuncs.com` for object `key`
/// (the canonical resource names it), with `query` appended and signed sub-resources `sub`.
async fn oss_object(
    c: &Client,
    method: &str,
    bucket: &str,
    key: &str,
    query: &str,
    body: &[u8],
) -> (u16, String) {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let empty = BTreeMap::new();
    let sub = query
        .split('&')
        .filter(|p| ["delete", "tagging"].contains(&p.split('=').next().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("&");
    let resource = if sub.is_empty() {
        format!("/{bucket}/{key}")
    } else {
        format!("/{bucket}/{key}?{sub}")
    };
    let sig = OssV1Request {
        verb: method,
        content_md5: "",
        content_type: "",
        date: &date,
        oss_headers: &empty,
        resource: &resource,
    }
    .signature(&c.keys.access_key_secret);
    let path = key
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    let url = if query.is_empty() {
        format!("{}/{path}", c.endpoint)
    } else {
        format!("{}/{path}?{query}", c.endpoint)
    };
    let resp = c
        .http
        .request(method.parse().unwrap(), url)
        .header("host", format!("{bucket}.oss-{REGION}.aliyuncs.com"))
        .header("date", date)
        .header(
            "authorization",
            format!("OSS {}:{sig}", c.keys.access_key_id),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn objects_on_the_virtual_host_and_bucket_not_empty() {
    let (sim, c) = start().await;
    {
        let mut w = sim.world.lock().await;
        w.console_open_oss("main").unwrap();
        w.console_create_bucket("main", "vhost", REGION).unwrap();
    }
    let (status, _) = oss_object(&c, "PUT", "vhost", "jobs/a b.jar", "", b"jar").await;
    assert_eq!(status, 200);
    let (status, body) = oss_object(&c, "GET", "vhost", "jobs/a b.jar", "", b"").await;
    assert_eq!((status, body.as_str()), (200, "jar"));
    let (status, list) = oss_object(&c, "GET", "vhost", "", "prefix=jobs%2F", b"").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("<Key>jobs/a b.jar</Key>") && list.contains("<Size>3</Size>"),
        "{list}"
    );
    let (status, body) = oss_object(&c, "DELETE", "vhost", "", "", b"").await;
    assert_eq!(status, 409);
    assert!(body.contains("<Code>BucketNotEmpty</Code>"), "{body}");
    assert_eq!(
        oss_object(&c, "DELETE", "vhost", "jobs/a b.jar", "", b"")
            .await
            .0,
        204
    );
    assert_eq!(
        oss_object(&c, "DELETE", "vhost", "jobs/a b.jar", "", b"")
            .await
            .0,
        204
    );
    let (status, body) = oss_object(&c, "GET", "vhost", "jobs/a b.jar", "", b"").await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
    assert_eq!(oss_object(&c, "DELETE", "vhost", "", "", b"").await.0, 204);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn a_running_workspace_writes_its_directories_once() {
    let (sim, c) = start().await;
    let id = running_workspace(&sim, &c).await;
    let dirs = ["artifacts/", "flink-jobs/", "flink-savepoints/", "logs/"];
    assert_eq!(
        sim.world.lock().await.object_keys("ws-bucket").unwrap(),
        dirs
    );
    let (status, _) = c.oss("DELETE", Some("ws-bucket"), REGION, "", None).await;
    assert_eq!(
        status, 409,
        "the directories keep the bucket from being deleted"
    );
    // Deleting a directory is the user's business: the service does not write it again.
    assert_eq!(
        oss_object(&c, "DELETE", "ws-bucket", "logs/", "", b"")
            .await
            .0,
        204
    );
    advance(&sim, 60).await;
    assert_eq!(describe(&c, &id).await["ClusterStatus"], "RUNNING");
    assert_eq!(
        sim.world.lock().await.object_keys("ws-bucket").unwrap(),
        dirs[..3]
    );

    // A workspace still CREATING has written nothing yet.
    {
        let mut w = sim.world.lock().await;
        w.console_create_bucket("main", "young-bucket", REGION)
            .unwrap();
    }
    c.call(
        FOAS,
        "CreateInstance",
        &create_params(
            "young",
            "vpc-sim-existing",
            r#"["vsw-sim-existing"]"#,
            r#"{"Oss":{"Bucket":"young-bucket"}}"#,
        ),
    )
    .await
    .ok();
    assert!(
        sim.world
            .lock()
            .await
            .object_keys("young-bucket")
            .unwrap()
            .is_empty()
    );
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn console_changes_made_outside_flinkform() {
    let (sim, c) = start().await;
    let (china, vpc, vsw, group) = {
        let mut w = sim.world.lock().await;
        let china = w.console_create_account("cn", Site::China).unwrap();
        assert!(matches!(
            w.console_create_account("cn", Site::Intl),
            Err(flinkform_cloudsim::Error::Invalid(_))
        ));
        let vpc = w
            .console_create_vpc("main", REGION, "10.50.0.0/16", Some("theirs"))
            .unwrap();
        let vsw = w
            .console_create_vswitch("main", &vpc, "ap-southeast-1b", "10.50.1.0/24")
            .unwrap();
        assert!(
            w.console_create_vswitch("main", &vpc, "ap-southeast-1b", "10.50.1.0/25")
                .is_err()
        );
        assert!(
            w.console_create_vswitch("main", "vpc-nope", "ap-southeast-1b", "10.50.2.0/24")
                .is_err()
        );
        assert!(
            w.console_create_vpc("main", "mars-1", "10.0.0.0/16", None)
                .is_err()
        );
        w.console_tag("main", &vpc, &[("team".to_owned(), "them".to_owned())])
            .unwrap();
        w.console_tag("main", &vsw, &[("k".to_owned(), "v".to_owned())])
            .unwrap();
        w.console_untag("main", &vsw, &["k".to_owned()]).unwrap();
        assert!(w.tags("main", &vsw).unwrap().is_empty());
        assert!(matches!(
            w.console_tag("main", "vpc-nope", &[("k".to_owned(), "v".to_owned())]),
            Err(flinkform_cloudsim::Error::NotFound { .. })
        ));
        assert!(
            w.console_tag("main", &vpc, &[("acs:x".to_owned(), "v".to_owned())])
                .is_err()
        );
        w.console_open_oss("main").unwrap();
        w.console_create_bucket("main", "their-data", REGION)
            .unwrap();
        w.console_put_object("main", "their-data", "flink-jobs/job-1/state", 1 << 30)
            .unwrap();
        assert!(w.console_put_object("cn", "their-data", "k", 1).is_err());
        w.console_tag(
            "main",
            "their-data",
            &[("owner".to_owned(), "data-team".to_owned())],
        )
        .unwrap();
        let group = w
            .console_create_resource_group("main", "analytics")
            .unwrap();
        assert!(group.starts_with("rg-"));
        assert!(
            w.console_create_resource_group("main", "analytics")
                .is_err()
        );
        (china, vpc, vsw, group)
    };
    let found = c
        .call(
            VPC,
            "DescribeVpcs",
            &[
                ("RegionId", REGION),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "them"),
            ],
        )
        .await
        .ok();
    assert_eq!(found["Vpcs"]["Vpc"][0]["VpcId"], vpc.as_str());
    assert_eq!(found["Vpcs"]["Vpc"][0]["Tags"]["Tag"][0]["Key"], "team");
    let vsws = c
        .call(VPC, "DescribeVSwitches", &[("VpcId", &vpc)])
        .await
        .ok();
    assert_eq!(vsws["VSwitches"]["VSwitch"][0]["VSwitchId"], vsw.as_str());
    let (status, tags) = c
        .oss("GET", Some("their-data"), REGION, "tagging", None)
        .await;
    assert_eq!(status, 200);
    assert!(
        tags.contains("<Key>owner</Key>") && tags.contains("<Value>data-team</Value>"),
        "{tags}"
    );
    let (status, list) = oss_object(&c, "GET", "their-data", "", "", b"").await;
    assert_eq!(status, 200);
    assert!(list.contains("<Size>1073741824</Size>"), "{list}");
    let groups = c.call("2020-03-31", "ListResourceGroups", &[]).await.ok();
    assert_eq!(groups["TotalCount"], 2);
    assert_eq!(
        groups["ResourceGroups"]["ResourceGroup"][1]["Id"],
        group.as_str()
    );

    let cn = Client::new(&sim, china);
    let balance = cn.call(BSS, "QueryAccountBalance", &[]).await.ok();
    assert_eq!(balance["Data"]["Currency"], "CNY");
    let regions = cn.call(FOAS, "DescribeSupportedRegions", &[]).await.ok();
    assert!(
        regions["Regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Region"] == "cn-hangzhou")
    );
    sim.stop().await.unwrap();
}

/// Every required parameter of every emulated action, as `specs/cloud-api.md` lists them.
const REQUIRED: &[(&str, &str, &[&str])] = &[
    (FOAS, "QueryCreateInstancePrice", &["ChargeType", "Region"]),
    (
        FOAS,
        "CreateInstance",
        &[
            "InstanceName",
            "ChargeType",
            "Region",
            "VpcId",
            "VSwitchIds",
            "Storage",
        ],
    ),
    (FOAS, "DescribeInstances", &["Region"]),
    (
        FOAS,
        "ModifyPrepayInstanceSpec",
        &["Region", "InstanceId", "ResourceSpec"],
    ),
    (FOAS, "DeleteInstance", &["Region", "InstanceId"]),
    (
        FOAS,
        "CreateNamespace",
        &["Region", "InstanceId", "Namespace"],
    ),
    (FOAS, "DescribeNamespaces", &["Region", "InstanceId"]),
    (
        FOAS,
        "ModifyPrepayNamespaceSpec",
        &["Region", "InstanceId", "Namespace", "ResourceSpec"],
    ),
    (
        FOAS,
        "DeleteNamespace",
        &["Region", "InstanceId", "Namespace"],
    ),
    (
        FOAS,
        "TagResources",
        &["RegionId", "ResourceType", "ResourceId", "Tag"],
    ),
    (
        FOAS,
        "UntagResources",
        &["RegionId", "ResourceType", "ResourceId"],
    ),
    (FOAS, "ListTagResources", &["RegionId", "ResourceType"]),
    (VPC, "CreateVpc", &["RegionId"]),
    (VPC, "DescribeVpcs", &["RegionId"]),
    (VPC, "DeleteVpc", &["VpcId"]),
    (VPC, "CreateVSwitch", &["VpcId", "ZoneId", "CidrBlock"]),
    (VPC, "DeleteVSwitch", &["VSwitchId"]),
    (
        VPC,
        "TagResources",
        &["RegionId", "ResourceType", "ResourceId", "Tag"],
    ),
    (
        VPC,
        "UnTagResources",
        &["RegionId", "ResourceType", "ResourceId"],
    ),
    (VPC, "ListTagResources", &["RegionId", "ResourceType"]),
    (RAM, "GetRole", &["RoleName"]),
    (RAM, "DeleteRole", &["RoleName"]),
    (RAM, "ListPoliciesForRole", &["RoleName"]),
    (RAM, "CreateRole", &["RoleName", "AssumeRolePolicyDocument"]),
    (
        RAM,
        "AttachPolicyToRole",
        &["PolicyType", "PolicyName", "RoleName"],
    ),
    (
        RAM,
        "DetachPolicyFromRole",
        &["PolicyType", "PolicyName", "RoleName"],
    ),
    (
        BSS,
        "SetRenewal",
        &["InstanceIDs", "ProductCode", "RenewalStatus"],
    ),
    (
        MARKET,
        "CreateOrder",
        &["OrderType", "Commodity", "PaymentType", "ClientToken"],
    ),
    (MARKET, "DescribeOrder", &["OrderId"]),
    (MARKET, "DescribeInstance", &["InstanceId"]),
    (MARKET, "DescribeInstances", &["PageNumber", "PageSize"]),
    (RM, "MoveResources", &["ResourceGroupId", "Resources"]),
];
const MARKET: &str = "2015-11-01";
const RM: &str = "2020-03-31";

/// The diagnosis link every RPC error carries.
fn recommend(body: &Value, product: &str) -> String {
    format!(
        "https://api.aliyun.com/troubleshoot?q={}&product={product}&requestId={}",
        body["Code"].as_str().unwrap(),
        body["RequestId"].as_str().unwrap()
    )
}

#[tokio::test]
async fn every_required_parameter_is_required() {
    let (sim, c) = start().await;
    let before = sim.world.lock().await.clone();
    for (version, action, required) in REQUIRED {
        for missing in *required {
            // Every other required parameter is given (any value: the gateway checks
            // presence before the action looks at values); flattened forms count too.
            let mut params: Vec<(String, String)> = Vec::new();
            for p in required.iter().filter(|p| *p != missing) {
                if matches!(*p, "Tag" | "Resources") {
                    params.push((format!("{p}.1.Key"), "k".to_owned()));
                } else {
                    params.push(((*p).to_owned(), "x".to_owned()));
                }
            }
            // An empty value is no value.
            params.push(((*missing).to_owned(), String::new()));
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let r = c.call(version, action, &refs).await;
            r.err(400, "MissingParameter");
            assert!(
                r.body["Message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("\"{missing}\"")),
                "{action} without {missing}: {}",
                r.body
            );
        }
    }
    // Only the checks ran: the world's resources are as they were.
    assert_eq!(sim.world.lock().await.summary(), before.summary());
}

#[tokio::test]
async fn foasconsole_reads_need_their_region() {
    let (_sim, c) = start().await;
    // No fallback to the endpoint's or the emulator's default region.
    let r = c.call(FOAS, "DescribeInstances", &[]).await;
    r.err(400, "MissingParameter");
    assert_eq!(
        r.body["Message"],
        "The input parameter \"Region\" that is mandatory for processing this request is not supplied."
    );
    c.call(FOAS, "DescribeInstances", &[("Region", REGION)])
        .await
        .ok();
    // DescribeSupportedZones' Region is optional (API metadata): the endpoint's region.
    let zones = c.call(FOAS, "DescribeSupportedZones", &[]).await.ok();
    assert_eq!(zones["ZoneIds"][0], "ap-southeast-1a");
}

#[tokio::test]
async fn every_rpc_error_carries_its_diagnosis_link() {
    let (_sim, c) = start().await;
    /// `(version, action, params, status, code, product in the link)`.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        u16,
        &'static str,
        &'static str,
    );
    let cases: [Case; 5] = [
        (
            FOAS,
            "DescribeInstances",
            &[],
            400,
            "MissingParameter",
            "foasconsole",
        ),
        (
            VPC,
            "DeleteVpc",
            &[("VpcId", "vpc-nope")],
            404,
            "InvalidVpcId.NotFound",
            "Vpc",
        ),
        (
            RAM,
            "GetRole",
            &[("RoleName", "nope")],
            404,
            "EntityNotExist.Role",
            "Ram",
        ),
        (
            BSS,
            "NoSuchAction",
            &[],
            404,
            "InvalidAction.NotFound",
            "BssOpenApi",
        ),
        (
            MARKET,
            "DescribeOrder",
            &[("OrderId", "1")],
            500,
            "UnknownError",
            "Market",
        ),
    ];
    for (version, action, params, status, code, product) in cases {
        let r = c.call(version, action, params).await;
        r.err(status, code);
        assert_eq!(
            r.body["Recommend"],
            recommend(&r.body, product),
            "{}",
            r.body
        );
    }
    // Authentication errors too; an unknown version names no product.
    let bad = c
        .call_with(
            VPC,
            "DescribeVpcs",
            &[("RegionId", REGION)],
            Tweak {
                secret: Some("wrong".to_owned()),
                ..Tweak::default()
            },
        )
        .await;
    bad.err(400, "SignatureDoesNotMatch");
    assert_eq!(bad.body["Recommend"], recommend(&bad.body, "Vpc"));
    let unknown = c.call("1999-01-01", "Nothing", &[]).await;
    unknown.err(400, "NoSuchVersion");
    assert_eq!(
        unknown.body["Recommend"],
        format!(
            "https://api.aliyun.com/troubleshoot?q=NoSuchVersion&requestId={}",
            unknown.body["RequestId"].as_str().unwrap()
        )
    );
}

/// Unix milliseconds of a UTC date and time.
fn utc_ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

/// A frozen world whose cloud time is `now` (RFC 3339), ready for subscription workspaces.
async fn start_at(now: &str) -> (SimHandle, Client, String, String) {
    let mut world = World::new(7);
    world.set_time_scale(0.0).unwrap();
    world.set_now_ms(utc_ms(now));
    let keys = world.ensure_account("main");
    let sim = spawn(world).await.unwrap();
    let c = Client::new(&sim, keys);
    let (vpc, vsw) = prerequisites(&c, "calendar-bucket").await;
    (sim, c, vpc, vsw)
}

#[tokio::test]
async fn subscriptions_end_by_the_calendar() {
    for (now, cycle, duration, end) in [
        // The day of the month clamps at a shorter month's end.
        ("2027-01-31T10:00:00Z", "Month", "1", "2027-02-28T10:00:00Z"),
        ("2028-01-31T10:00:00Z", "Month", "1", "2028-02-29T10:00:00Z"),
        ("2027-08-31T00:00:00Z", "Month", "9", "2028-05-31T00:00:00Z"),
        ("2027-03-31T23:30:00Z", "Month", "3", "2027-06-30T23:30:00Z"),
        // A year is twelve calendar months: 365 or 366 days, never 360.
        ("2028-02-29T12:00:00Z", "Year", "1", "2029-02-28T12:00:00Z"),
        ("2027-05-15T08:00:00Z", "Year", "3", "2030-05-15T08:00:00Z"),
    ] {
        let (_sim, c, vpc, vsw) = start_at(now).await;
        let vsws = format!(r#"["{vsw}"]"#);
        let storage = r#"{"Oss":{"Bucket":"calendar-bucket"}}"#;
        let params = create_params("cal", &vpc, &vsws, storage);
        let params = set(params, "PricingCycle", Some(cycle));
        let params = set(params, "Duration", Some(duration));
        let created = c.call(FOAS, "CreateInstance", &params).await.ok();
        let id = created["OrderInfo"]["InstanceId"].as_str().unwrap();
        let i = describe(&c, id).await;
        assert_eq!(i["ResourceCreateTime"], utc_ms(now), "{now}");
        assert_eq!(
            i["ResourceExpiredTime"],
            utc_ms(end),
            "{now} + {duration} {cycle}"
        );
        let bss = c
            .call(
                BSS,
                "QueryAvailableInstances",
                &[("ProductCode", "sc"), ("InstanceIDs", id)],
            )
            .await
            .ok();
        assert_eq!(bss["Data"]["InstanceList"][0]["EndTime"], end, "{bss}");
    }
}

#[tokio::test]
async fn marketplace_subscriptions_end_by_the_calendar() {
    for (now, cycle, duration, end) in [
        ("2027-01-31T10:00:00Z", "Month", 1, "2027-02-28T10:00:00Z"),
        ("2028-02-29T00:00:00Z", "Year", 1, "2029-02-28T00:00:00Z"),
        ("2027-12-31T06:00:00Z", "Month", 2, "2028-02-29T06:00:00Z"),
        ("2027-01-31T10:00:00Z", "Day", 30, "2027-03-02T10:00:00Z"),
    ] {
        let mut world = World::new(5);
        world.set_time_scale(0.0).unwrap();
        world.set_now_ms(utc_ms(now));
        let keys = world.ensure_account("main");
        let sim = spawn(world).await.unwrap();
        let c = Client::new(&sim, keys);
        let commodity = json!({
            "components": {"package_version": "yuncode5336200001"},
            "duration": duration,
            "pricingCycle": cycle,
            "productCode": "cmgj00053362",
            "skuCode": "cmgj00053362-prepay",
        })
        .to_string();
        let order = c
            .call(
                MARKET,
                "CreateOrder",
                &[
                    ("OrderType", "INSTANCE_BUY"),
                    ("PaymentType", "AUTO"),
                    ("ClientToken", "calendar"),
                    ("Commodity", &commodity),
                ],
            )
            .await
            .ok();
        let id = order["InstanceIds"]["InstanceId"][0].as_str().unwrap();
        let i = c
            .call(MARKET, "DescribeInstance", &[("InstanceId", id)])
            .await
            .ok();
        assert_eq!(i["BeganOn"], utc_ms(now), "{i}");
        assert_eq!(i["EndOn"], utc_ms(end), "{now} + {duration} {cycle}: {i}");
    }
}

/// The price model (specs/cloud-api.md, "Prices"): USD 100 per CU-month of a subscription,
/// 15 % off a yearly term; USD 0.20 per reserved CU-hour of pay-as-you-go, nothing for a
/// pay-as-you-go order that reserves nothing.
#[tokio::test]
async fn prices_follow_the_documented_model() {
    let (_sim, c) = start().await;
    let quote = |charge: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let c = &c;
        async move {
            let mut p = vec![("Region", REGION), ("ChargeType", charge)];
            p.extend(extra);
            c.call(FOAS, "QueryCreateInstancePrice", &p).await.ok()["PriceInfo"].clone()
        }
    };
    let spec = ("ResourceSpec", r#"{"Cpu":8,"MemoryGB":32}"#);
    let month = quote(
        "PRE",
        vec![spec, ("PricingCycle", "Month"), ("Duration", "2")],
    )
    .await;
    assert_eq!(
        (
            &month["TradeAmount"],
            &month["OriginalAmount"],
            &month["Currency"]
        ),
        (
            &serde_json::json!(1600),
            &serde_json::json!(1600),
            &serde_json::json!("USD")
        )
    );
    let year = quote(
        "PRE",
        vec![spec, ("PricingCycle", "Year"), ("Duration", "1")],
    )
    .await;
    assert_eq!(year["OriginalAmount"], 9600);
    assert_eq!(year["DiscountAmount"], 1440);
    assert_eq!(year["TradeAmount"], 8160);
    let hour = quote("POST", vec![spec]).await;
    assert_eq!(hour["TradeAmount"], 1.6);
    assert_eq!(hour["StandDiscountPrice"], "1.60");
    let usage = quote("POST", vec![]).await;
    assert_eq!(usage["TradeAmount"], 0);
}

#[tokio::test]
async fn subscription_durations_stay_within_the_limits() {
    let (_sim, c) = start().await;
    let price = |cycle: &'static str, duration: &'static str| {
        let c = &c;
        async move {
            c.call(
                FOAS,
                "QueryCreateInstancePrice",
                &[
                    ("Region", REGION),
                    ("ChargeType", "PRE"),
                    ("ResourceSpec", r#"{"Cpu":1,"MemoryGB":4}"#),
                    ("PricingCycle", cycle),
                    ("Duration", duration),
                ],
            )
            .await
        }
    };
    for (cycle, ok, bad) in [
        ("Month", ["1", "9"], ["0", "10"]),
        ("Year", ["1", "3"], ["0", "4"]),
    ] {
        for d in ok {
            price(cycle, d).await.ok();
        }
        for d in bad {
            price(cycle, d).await.err(400, "InvalidParameter.Duration");
        }
    }
    // CreateInstance checks the term before anything the account lacks (OSS here).
    let base = create_params(
        "ws-long",
        "vpc-sim-existing",
        r#"["vsw-sim-existing"]"#,
        r#"{"Oss":{"Bucket":"b"}}"#,
    );
    c.call(
        FOAS,
        "CreateInstance",
        &set(base.clone(), "Duration", Some("10")),
    )
    .await
    .err(400, "InvalidParameter.Duration");
    let years = set(
        set(base, "PricingCycle", Some("Year")),
        "Duration",
        Some("4"),
    );
    c.call(FOAS, "CreateInstance", &years)
        .await
        .err(400, "InvalidParameter.Duration");
    // Marketplace: 1 to 256 cycles.
    for (duration, token) in [(0, "d0"), (257, "d257")] {
        let commodity = json!({
            "components": {"package_version": "yuncode5336200001"},
            "duration": duration,
            "pricingCycle": "Month",
            "productCode": "cmgj00053362",
            "skuCode": "cmgj00053362-prepay",
        })
        .to_string();
        c.call(
            MARKET,
            "CreateOrder",
            &[
                ("OrderType", "INSTANCE_BUY"),
                ("PaymentType", "AUTO"),
                ("ClientToken", token),
                ("Commodity", &commodity),
            ],
        )
        .await
        .err(400, "InvalidParameter");
    }
}
