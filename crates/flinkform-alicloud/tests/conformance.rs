//! Conformance from the Rust client's side: the same cases as the official-SDK suite in
//! `tests/python/conformance`, sent through [`flinkform_alicloud::Client`] to the emulator
//! (`flinkform_cloudsim::spawn`, cloud time frozen and moved by the tests). Every implemented
//! action succeeds with the real answer's fields; every error arrives as an [`ApiError`] with
//! the right code, HTTP status, request id and the kind the executor's retry policy acts on;
//! wrong secrets, unknown keys, replayed nonces and stale dates are rejected; the legacy
//! HMAC-SHA1 signature is accepted; injected throttling, 5xx and lost responses classify as
//! retryable.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use flinkform_alicloud::client::{ApiError, Client, ClientOptions, OssMethod, RpcMethod};
use flinkform_alicloud::credentials::Credentials;
use flinkform_alicloud::endpoint::{Endpoints, Product};
use flinkform_alicloud::sign::{self, V3Request};
use flinkform_cloudsim::{AccountKeys, FaultKind, SimHandle, World, spawn};
use flinkform_core::{ProviderErrorKind as K, Region};
use serde_json::Value;

const REGION: &str = "ap-southeast-1";
const TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;

fn region() -> Region {
    Region::new(REGION).unwrap()
}

fn client_for(sim: &SimHandle, ak: &str, secret: &str) -> Client {
    Client::new(
        Endpoints::Override(sim.endpoint()),
        Credentials::new(ak, secret),
        ClientOptions {
            read_retries: 0,
            retry_base_delay: Duration::from_millis(1),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// An emulator with a frozen clock and the client of account `main`.
struct Env {
    sim: SimHandle,
    c: Client,
    keys: AccountKeys,
}

async fn env() -> Env {
    let mut world = World::new(3);
    world.set_time_scale(0.0).unwrap();
    let keys = world.ensure_account("main");
    world.ensure_account("other");
    let sim = spawn(world).await.unwrap();
    let c = client_for(&sim, &keys.access_key_id, &keys.access_key_secret);
    Env { sim, c, keys }
}

impl Env {
    async fn other(&self) -> Client {
        let keys = self.sim.world.lock().await.ensure_account("other");
        client_for(&self.sim, &keys.access_key_id, &keys.access_key_secret)
    }

    async fn advance(&self, by: Duration) {
        self.sim.world.lock().await.advance(by);
    }
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn regional(product: Product) -> Option<Region> {
    matches!(product, Product::Foasconsole | Product::Vpc | Product::Bss).then(region)
}

/// A call that must succeed (POST, as the SDKs send changes); checks the request id.
async fn ok(c: &Client, product: Product, action: &str, params: &[(&str, &str)]) -> Value {
    call(c, product, action, params, RpcMethod::Post)
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"))
}

async fn call(
    c: &Client,
    product: Product,
    action: &str,
    params: &[(&str, &str)],
    method: RpcMethod,
) -> Result<Value, ApiError> {
    let r = c
        .rpc(
            product,
            regional(product).as_ref(),
            action,
            p(params),
            method,
        )
        .await;
    if let Ok(v) = &r {
        let id = v["RequestId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{action} answers with a RequestId: {v}");
    }
    r
}

/// A call that must fail with `code`, HTTP `status` and `kind`; checks the request id.
async fn err(
    c: &Client,
    product: Product,
    action: &str,
    params: &[(&str, &str)],
    (kind, code, status): (K, &str, u16),
) -> ApiError {
    let e = call(c, product, action, params, RpcMethod::Post)
        .await
        .expect_err(action);
    assert_eq!(
        (e.kind, e.code.as_deref(), e.http_status),
        (kind, Some(code), Some(status)),
        "{e}"
    );
    assert!(
        e.request_id.as_deref().is_some_and(|id| !id.is_empty()),
        "{e}"
    );
    assert_eq!(e.action, action);
    e
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path} is a string in {v}"))
}

fn n(v: &Value, path: &str) -> i64 {
    v.pointer(path)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{path} is an integer in {v}"))
}

// ---------------------------------------------------------------- account level

#[tokio::test]
async fn sts_bss_and_oss_activation() {
    let e = env().await;
    let c = &e.c;
    let me = ok(c, Product::Sts, "GetCallerIdentity", &[]).await;
    assert_eq!(s(&me, "/AccountId"), e.keys.uid);
    assert_eq!(s(&me, "/Arn"), format!("acs:ram::{}:root", e.keys.uid));
    assert_eq!(s(&me, "/IdentityType"), "Account");

    let balance = ok(c, Product::Bss, "QueryAccountBalance", &[]).await;
    assert_eq!(
        (s(&balance, "/Code"), balance["Success"].as_bool()),
        ("200", Some(true))
    );
    assert_eq!(s(&balance, "/Data/AvailableAmount"), "1000.00");
    assert_eq!(s(&balance, "/Data/Currency"), "USD");
    for f in [
        "AvailableCashAmount",
        "CreditAmount",
        "MybankCreditAmount",
        "QuotaLimit",
    ] {
        assert!(balance["Data"][f].is_string(), "{f}");
    }
    // A read through GET works the same.
    let got = call(c, Product::Bss, "QueryAccountBalance", &[], RpcMethod::Get)
        .await
        .unwrap();
    assert_eq!(s(&got, "/Data/AvailableAmount"), "1000.00");

    let opened = ok(c, Product::OssAdmin, "OpenOssService", &[]).await;
    assert!(s(&opened, "/OrderId").chars().all(|d| d.is_ascii_digit()));
    err(
        c,
        Product::OssAdmin,
        "OpenOssService",
        &[],
        (K::Conflict, "ORDER.OPEND", 400),
    )
    .await;
    let none = ok(
        c,
        Product::Bss,
        "QueryAvailableInstances",
        &[("ProductCode", "sc"), ("SubscriptionType", "Subscription")],
    )
    .await;
    assert_eq!(n(&none, "/Data/TotalCount"), 0);
    err(
        c,
        Product::Bss,
        "QueryAvailableInstances",
        &[("PageSize", "301")],
        (K::InvalidParameter, "InvalidParameter", 400),
    )
    .await;
    err(
        c,
        Product::Bss,
        "SetRenewal",
        &[
            ("InstanceIDs", "f-ap-nothere"),
            ("ProductCode", "sc"),
            ("SubscriptionType", "Subscription"),
            ("RenewalStatus", "AutoRenewal"),
        ],
        (K::InvalidParameter, "InvalidParameter", 400),
    )
    .await;
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- RAM

#[tokio::test]
async fn ram_role_lifecycle() {
    let e = env().await;
    let c = &e.c;
    let role = [("RoleName", "ConformanceRole")];
    let policy = [
        ("PolicyType", "System"),
        ("PolicyName", "AliyunOSSFullAccess"),
        ("RoleName", "ConformanceRole"),
    ];
    err(
        c,
        Product::Ram,
        "GetRole",
        &role,
        (K::NotFound, "EntityNotExist.Role", 404),
    )
    .await;
    let create = [
        ("RoleName", "ConformanceRole"),
        ("AssumeRolePolicyDocument", TRUST),
        ("Description", "conformance"),
    ];
    let created = ok(c, Product::Ram, "CreateRole", &create).await;
    assert_eq!(
        s(&created, "/Role/Arn"),
        format!("acs:ram::{}:role/conformancerole", e.keys.uid)
    );
    assert_eq!(s(&created, "/Role/AssumeRolePolicyDocument"), TRUST);
    assert!(created["Role"].get("UpdateDate").is_none());
    assert_eq!(n(&created, "/Role/MaxSessionDuration"), 3600);
    err(
        c,
        Product::Ram,
        "CreateRole",
        &create,
        (K::Conflict, "EntityAlreadyExists.Role", 409),
    )
    .await;
    err(
        c,
        Product::Ram,
        "CreateRole",
        &[("RoleName", "Bad"), ("AssumeRolePolicyDocument", "{")],
        (K::InvalidParameter, "MalformedPolicyDocument", 400),
    )
    .await;
    err(
        c,
        Product::Ram,
        "CreateRole",
        &[
            ("RoleName", "bad name!"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
        (
            K::InvalidParameter,
            "InvalidParameter.RoleName.InvalidChars",
            400,
        ),
    )
    .await;
    let got = call(c, Product::Ram, "GetRole", &role, RpcMethod::Get)
        .await
        .unwrap();
    assert_eq!(
        s(&got, "/Role/RoleId"),
        s(&created, "/Role/RoleId"),
        "{got}"
    );
    assert!(got["Role"]["UpdateDate"].is_string());

    ok(c, Product::Ram, "AttachPolicyToRole", &policy).await;
    err(
        c,
        Product::Ram,
        "AttachPolicyToRole",
        &policy,
        (K::Conflict, "EntityAlreadyExists.Role.Policy", 409),
    )
    .await;
    err(
        c,
        Product::Ram,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "NoSuchPolicy"),
            ("RoleName", "ConformanceRole"),
        ],
        (K::NotFound, "EntityNotExist.Policy", 404),
    )
    .await;
    let listed = ok(c, Product::Ram, "ListPoliciesForRole", &role).await;
    let first = &listed["Policies"]["Policy"][0];
    assert_eq!(s(first, "/PolicyName"), "AliyunOSSFullAccess");
    assert_eq!(s(first, "/PolicyType"), "System");
    assert!(first["AttachDate"].is_string() && first["DefaultVersion"].is_string());
    err(
        c,
        Product::Ram,
        "DeleteRole",
        &role,
        (K::Conflict, "DeleteConflict.Role.Policy", 409),
    )
    .await;
    ok(c, Product::Ram, "DetachPolicyFromRole", &policy).await;
    err(
        c,
        Product::Ram,
        "DetachPolicyFromRole",
        &policy,
        (K::NotFound, "EntityNotExist.Role.Policy", 404),
    )
    .await;
    ok(c, Product::Ram, "DeleteRole", &role).await;
    err(
        c,
        Product::Ram,
        "DeleteRole",
        &role,
        (K::NotFound, "EntityNotExist.Role", 404),
    )
    .await;
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- VPC

#[tokio::test]
async fn vpc_and_vswitch_lifecycle() {
    let e = env().await;
    let c = &e.c;
    let create = [
        ("RegionId", REGION),
        ("CidrBlock", "172.16.0.0/16"),
        ("VpcName", "conf"),
        ("ClientToken", "conf-1"),
    ];
    let vpc = ok(c, Product::Vpc, "CreateVpc", &create).await;
    let vpc_id = s(&vpc, "/VpcId").to_owned();
    for f in ["VRouterId", "RouteTableId", "ResourceGroupId"] {
        assert!(vpc[f].is_string(), "{f}");
    }
    let again = ok(c, Product::Vpc, "CreateVpc", &create).await;
    assert_eq!(s(&again, "/VpcId"), vpc_id, "ClientToken");
    let described = call(
        c,
        Product::Vpc,
        "DescribeVpcs",
        &[("RegionId", REGION), ("VpcId", &vpc_id)],
        RpcMethod::Get,
    )
    .await
    .unwrap();
    assert_eq!(n(&described, "/TotalCount"), 1);
    assert_eq!(s(&described, "/Vpcs/Vpc/0/Status"), "Pending");
    e.advance(Duration::from_secs(3)).await;
    let described = ok(
        c,
        Product::Vpc,
        "DescribeVpcs",
        &[("RegionId", REGION), ("VpcId", &vpc_id)],
    )
    .await;
    assert_eq!(s(&described, "/Vpcs/Vpc/0/Status"), "Available");
    assert_eq!(s(&described, "/Vpcs/Vpc/0/CidrBlock"), "172.16.0.0/16");

    let vsw_params = [
        ("RegionId", REGION),
        ("VpcId", vpc_id.as_str()),
        ("ZoneId", "ap-southeast-1a"),
        ("CidrBlock", "172.16.1.0/24"),
    ];
    let vsw = ok(c, Product::Vpc, "CreateVSwitch", &vsw_params).await;
    let vsw_id = s(&vsw, "/VSwitchId").to_owned();
    let listed = ok(
        c,
        Product::Vpc,
        "DescribeVSwitches",
        &[("RegionId", REGION), ("VpcId", &vpc_id)],
    )
    .await;
    assert_eq!(s(&listed, "/VSwitches/VSwitch/0/VSwitchId"), vsw_id);
    assert_eq!(
        n(&listed, "/VSwitches/VSwitch/0/AvailableIpAddressCount"),
        252
    );
    let mut overlapping = vsw_params;
    overlapping[3] = ("CidrBlock", "172.16.1.0/25");
    let invalid = (K::InvalidParameter, "InvalidCidrBlock.Overlapped", 400);
    err(c, Product::Vpc, "CreateVSwitch", &overlapping, invalid).await;
    let mut bad_zone = vsw_params;
    bad_zone[2] = ("ZoneId", "ap-southeast-1z");
    // (`classify` files every `*.NotFound` code under NotFound, this one too.)
    let invalid = (K::NotFound, "InvalidZoneId.NotFound", 400);
    err(c, Product::Vpc, "CreateVSwitch", &bad_zone, invalid).await;
    let mut no_vpc = vsw_params;
    no_vpc[1] = ("VpcId", "vpc-nothere");
    let missing = (K::NotFound, "InvalidVpcId.NotFound", 404);
    err(c, Product::Vpc, "CreateVSwitch", &no_vpc, missing).await;
    let busy = (K::Conflict, "DependencyViolation.VSwitch", 400);
    err(c, Product::Vpc, "DeleteVpc", &[("VpcId", &vpc_id)], busy).await;
    ok(c, Product::Vpc, "DeleteVSwitch", &[("VSwitchId", &vsw_id)]).await;
    let gone = (K::NotFound, "InvalidVSwitchId.NotFound", 404);
    err(
        c,
        Product::Vpc,
        "DeleteVSwitch",
        &[("VSwitchId", &vsw_id)],
        gone,
    )
    .await;
    ok(c, Product::Vpc, "DeleteVpc", &[("VpcId", &vpc_id)]).await;
    let gone = (K::NotFound, "InvalidVpcId.NotFound", 404);
    err(c, Product::Vpc, "DeleteVpc", &[("VpcId", &vpc_id)], gone).await;
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- Flink

/// OSS, bucket, role and a network for `c`'s account, through the client; returns
/// `(vpc_id, vswitch_id)`.
async fn prerequisites(c: &Client, bucket: &str) -> (String, String) {
    ok(c, Product::OssAdmin, "OpenOssService", &[]).await;
    c.oss(OssMethod::Put, &region(), Some(bucket), None, Vec::new())
        .await
        .unwrap();
    let role = "AliyunStreamAsiDefaultRole";
    ok(
        c,
        Product::Ram,
        "CreateRole",
        &[("RoleName", role), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await;
    ok(
        c,
        Product::Ram,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", role),
        ],
    )
    .await;
    let vpc = ok(
        c,
        Product::Vpc,
        "CreateVpc",
        &[("RegionId", REGION), ("CidrBlock", "10.0.0.0/16")],
    )
    .await;
    let vpc_id = s(&vpc, "/VpcId").to_owned();
    let vsw = ok(
        c,
        Product::Vpc,
        "CreateVSwitch",
        &[
            ("RegionId", REGION),
            ("VpcId", &vpc_id),
            ("ZoneId", "ap-southeast-1a"),
            ("CidrBlock", "10.0.1.0/24"),
        ],
    )
    .await;
    (vpc_id, s(&vsw, "/VSwitchId").to_owned())
}

/// CreateInstance's parameters, as the SDK sends them (JSON strings for the complex ones).
fn create<'a>(
    name: &'a str,
    charge: &'a str,
    vpc: &'a str,
    vsws: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Region", REGION),
        ("InstanceName", name),
        ("ChargeType", charge),
        ("VpcId", vpc),
        ("VSwitchIds", vsws),
        ("Storage", r#"{"Oss":{"Bucket":"conf-state"}}"#),
    ]
}

#[tokio::test]
async fn flink_workspaces_and_namespaces() {
    let e = env().await;
    let c = &e.c;
    let regions = ok(c, Product::Foasconsole, "DescribeSupportedRegions", &[]).await;
    assert!(
        regions["Regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Region"] == REGION)
    );
    let zones = ok(
        c,
        Product::Foasconsole,
        "DescribeSupportedZones",
        &[("Region", REGION)],
    )
    .await;
    assert_eq!(s(&zones, "/ZoneIds/0"), "ap-southeast-1a");
    let bad_region = (K::InvalidParameter, "InvalidParameter.Region", 400);
    let zones = [("Region", "cn-beijing")];
    err(
        c,
        Product::Foasconsole,
        "DescribeSupportedZones",
        &zones,
        bad_region,
    )
    .await;

    // Before anything exists: OSS is checked first.
    let existing = r#"["vsw-sim-existing"]"#;
    let early = create("early", "POST", "vpc-sim-existing", existing);
    let not_opened = (K::Fatal, "OssService.NotOpened", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &early,
        not_opened,
    )
    .await;
    let (vpc_id, vsw_id) = prerequisites(c, "conf-state").await;
    let vsws = format!(r#"["{vsw_id}"]"#);
    let with_net = |name: &'static str, charge: &'static str| create(name, charge, &vpc_id, &vsws);
    let mut pre = with_net("conf-pre", "PRE");
    pre.extend([
        ("ResourceSpec", r#"{"Cpu":8,"MemoryGB":32}"#),
        ("PricingCycle", "Month"),
        ("Duration", "1"),
    ]);
    let price = ok(c, Product::Foasconsole, "QueryCreateInstancePrice", &pre).await;
    assert_eq!(n(&price, "/PriceInfo/TradeAmount"), 800);
    assert_eq!(s(&price, "/PriceInfo/Currency"), "USD");

    // Preconditions, in the contract's order.
    let bad_name = (K::InvalidParameter, "InvalidParameter.InstanceName", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &with_net("9x", "POST"),
        bad_name,
    )
    .await;
    let missing = (K::InvalidParameter, "MissingParameter", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &with_net("p", "PRE"),
        missing,
    )
    .await;
    let mut bad_spec = pre.clone();
    bad_spec[6] = ("ResourceSpec", r#"{"Cpu":2,"MemoryGB":6}"#);
    bad_spec[1] = ("InstanceName", "bad-spec");
    let invalid = (K::InvalidParameter, "InvalidParameter.ResourceSpec", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &bad_spec,
        invalid,
    )
    .await;
    let mut no_vpc = with_net("no-vpc", "POST");
    no_vpc[3] = ("VpcId", "vpc-nothere");
    let invalid = (K::NotFound, "InvalidVpcId.NotFound", 400);
    err(c, Product::Foasconsole, "CreateInstance", &no_vpc, invalid).await;
    let mut foreign = with_net("foreign", "POST");
    foreign[4] = ("VSwitchIds", r#"["vsw-sim-existing"]"#);
    let invalid = (K::InvalidParameter, "InvalidParameter.VSwitchIds", 400);
    err(c, Product::Foasconsole, "CreateInstance", &foreign, invalid).await;
    let mut no_bucket = with_net("no-bucket", "POST");
    no_bucket[5] = ("Storage", r#"{"Oss":{"Bucket":"nobody-has-it"}}"#);
    let invalid = (K::InvalidParameter, "InvalidParameter.Storage", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &no_bucket,
        invalid,
    )
    .await;
    e.sim.world.lock().await.set_balance("main", 5_000).unwrap();
    let poor = (K::InsufficientBalance, "InsufficientBalance", 400);
    err(
        c,
        Product::Foasconsole,
        "CreateInstance",
        &with_net("poor", "POST"),
        poor,
    )
    .await;
    e.sim
        .world
        .lock()
        .await
        .set_balance("main", 100_000)
        .unwrap();
    let other = e.other().await;
    ok(&other, Product::OssAdmin, "OpenOssService", &[]).await;
    let forbidden = (K::Fatal, "Forbidden.RAM", 403);
    let no_role = create("x", "POST", "vpc-sim-existing", existing);
    err(
        &other,
        Product::Foasconsole,
        "CreateInstance",
        &no_role,
        forbidden,
    )
    .await;

    // Pay-as-you-go: create, describe, provisioning, namespaces, delete.
    let mut payg = with_net("conf-payg", "POST");
    payg.push(("Tag", r#"[{"Key":"owner","Value":"conf"}]"#));
    let created = ok(c, Product::Foasconsole, "CreateInstance", &payg).await;
    assert_eq!(created["Success"], Value::Bool(true));
    let payg_id = s(&created, "/OrderInfo/InstanceId").to_owned();
    assert!(created["OrderInfo"]["OrderId"].is_u64());
    assert!(created["OrderInfo"]["StorageOrderId"].is_u64());
    let exists = (K::Conflict, "InstanceName.AlreadyExists", 400);
    err(c, Product::Foasconsole, "CreateInstance", &payg, exists).await;
    let ws = [("Region", REGION), ("InstanceId", payg_id.as_str())];
    let mut ns = ws.to_vec();
    ns.push(("Namespace", "etl"));
    let early = (K::Conflict, "IncorrectInstanceStatus", 400);
    err(c, Product::Foasconsole, "CreateNamespace", &ns, early).await;
    let described = call(
        c,
        Product::Foasconsole,
        "DescribeInstances",
        &ws,
        RpcMethod::Get,
    )
    .await
    .unwrap();
    let i = &described["Instances"][0];
    assert_eq!(
        (
            s(i, "/ClusterStatus"),
            s(i, "/OrderState"),
            s(i, "/ChargeType")
        ),
        ("CREATING", "NOT_INIT", "POST")
    );
    assert_eq!(s(i, "/VSwitchIds/0"), vsw_id);
    assert_eq!(s(i, "/Storage/Oss/Bucket"), "conf-state");
    assert_eq!(s(i, "/Tags/0/Value"), "conf");
    assert!(n(i, "/ResourceCreateTime") > 1_600_000_000_000);
    e.advance(Duration::from_secs(11 * 60)).await;
    let described = ok(c, Product::Foasconsole, "DescribeInstances", &ws).await;
    assert_eq!(s(&described, "/Instances/0/ClusterStatus"), "RUNNING");
    assert_eq!(s(&described, "/Instances/0/OrderState"), "NORMAL");
    ok(c, Product::Foasconsole, "CreateNamespace", &ns).await;
    let dup = (K::Conflict, "Namespace.AlreadyExists", 400);
    err(c, Product::Foasconsole, "CreateNamespace", &ns, dup).await;
    let namespaces = ok(c, Product::Foasconsole, "DescribeNamespaces", &ns).await;
    assert_eq!(s(&namespaces, "/Namespaces/0/Status"), "CREATING");
    assert!(namespaces["Namespaces"][0]["GmtCreate"].is_i64());
    let unsupported = (K::InvalidParameter, "UnsupportedOperation", 400);
    let mut grow = ws.to_vec();
    grow.push(("ResourceSpec", r#"{"Cpu":4,"MemoryGB":16}"#));
    err(
        c,
        Product::Foasconsole,
        "ModifyPrepayInstanceSpec",
        &grow,
        unsupported,
    )
    .await;
    let in_use = (K::Conflict, "DependencyViolation", 400);
    err(
        c,
        Product::Vpc,
        "DeleteVSwitch",
        &[("VSwitchId", &vsw_id)],
        in_use,
    )
    .await;
    ok(c, Product::Foasconsole, "DeleteNamespace", &ns).await;
    let mut nope = ws.to_vec();
    nope.push(("Namespace", "nope"));
    let gone = (K::NotFound, "Namespace.NotFound", 404);
    err(c, Product::Foasconsole, "DeleteNamespace", &nope, gone).await;
    let deleted = ok(c, Product::Foasconsole, "DeleteInstance", &ws).await;
    assert_eq!(deleted["Success"], Value::Bool(true));
    e.advance(Duration::from_secs(2 * 60)).await;
    let none = ok(c, Product::Foasconsole, "DescribeInstances", &ws).await;
    assert_eq!(
        (
            n(&none, "/TotalCount"),
            none["Instances"].as_array().map(Vec::len)
        ),
        (0, Some(0))
    );
    let gone = (K::NotFound, "InstanceNotFound", 404);
    err(c, Product::Foasconsole, "DeleteInstance", &ws, gone).await;

    // Subscription: quota, namespaces, renewal through BSS.
    let created = ok(c, Product::Foasconsole, "CreateInstance", &pre).await;
    let pre_id = s(&created, "/OrderInfo/InstanceId").to_owned();
    e.advance(Duration::from_secs(11 * 60)).await;
    let ws = [("Region", REGION), ("InstanceId", pre_id.as_str())];
    let mut grow = ws.to_vec();
    grow.push(("ResourceSpec", r#"{"Cpu":12,"MemoryGB":48}"#));
    let grown = ok(c, Product::Foasconsole, "ModifyPrepayInstanceSpec", &grow).await;
    assert!(grown["OrderId"].is_u64());
    let mut shrink = ws.to_vec();
    shrink.push(("ResourceSpec", r#"{"Cpu":4,"MemoryGB":16}"#));
    let short = (K::Fatal, "InsufficientResource", 400);
    err(
        c,
        Product::Foasconsole,
        "ModifyPrepayInstanceSpec",
        &shrink,
        short,
    )
    .await;
    let mut ns = ws.to_vec();
    ns.extend([
        ("Namespace", "etl"),
        ("ResourceSpec", r#"{"Cpu":2,"MemoryGB":8}"#),
    ]);
    ok(c, Product::Foasconsole, "CreateNamespace", &ns).await;
    ns[3] = ("ResourceSpec", r#"{"Cpu":4,"MemoryGB":16}"#);
    ok(c, Product::Foasconsole, "ModifyPrepayNamespaceSpec", &ns).await;
    let listed = ok(c, Product::Foasconsole, "DescribeNamespaces", &ns[..3]).await;
    assert_eq!(n(&listed, "/Namespaces/0/ResourceSpec/Cpu"), 4);
    let not_payg = (K::InvalidParameter, "UnsupportedOperation", 400);
    err(c, Product::Foasconsole, "DeleteInstance", &ws, not_payg).await;
    let sub = [
        ("ProductCode", "sc"),
        ("SubscriptionType", "Subscription"),
        ("InstanceIDs", pre_id.as_str()),
    ];
    let listed = ok(c, Product::Bss, "QueryAvailableInstances", &sub).await;
    assert_eq!(s(&listed, "/Data/InstanceList/0/InstanceID"), pre_id);
    assert_eq!(
        s(&listed, "/Data/InstanceList/0/RenewStatus"),
        "ManualRenewal"
    );
    let mut renew = sub.to_vec();
    renew.extend([("RenewalStatus", "AutoRenewal"), ("RenewalPeriod", "2")]);
    ok(c, Product::Bss, "SetRenewal", &renew).await;
    let listed = ok(c, Product::Bss, "QueryAvailableInstances", &sub).await;
    assert_eq!(
        s(&listed, "/Data/InstanceList/0/RenewStatus"),
        "AutoRenewal"
    );
    assert_eq!(n(&listed, "/Data/InstanceList/0/RenewalDuration"), 2);
    let unknown = [("Region", REGION), ("InstanceId", "f-ap-nothere")];
    let gone = (K::NotFound, "InstanceNotFound", 404);
    err(
        c,
        Product::Foasconsole,
        "DescribeNamespaces",
        &unknown,
        gone,
    )
    .await;
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- OSS

#[tokio::test]
async fn oss_buckets() {
    let e = env().await;
    let c = &e.c;
    let r = region();
    let no_oss = c
        .oss(OssMethod::Put, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        (no_oss.code.as_deref(), no_oss.http_status),
        (Some("UserDisable"), Some(403))
    );
    ok(c, Product::OssAdmin, "OpenOssService", &[]).await;
    let (status, _) = c
        .oss(OssMethod::Put, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, _) = c
        .oss(OssMethod::Put, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap();
    assert_eq!(status, 200, "same owner again");
    let (_, info) = c
        .oss(
            OssMethod::Get,
            &r,
            Some("conf-b"),
            Some("bucketInfo"),
            Vec::new(),
        )
        .await
        .unwrap();
    for part in [
        "<Name>conf-b</Name>",
        "<Location>oss-ap-southeast-1</Location>",
        "<StorageClass>Standard</StorageClass>",
        &format!("<ID>{}</ID>", e.keys.uid),
    ] {
        assert!(info.contains(part), "{part} in {info}");
    }
    let (_, list) = c.oss_read(&r, None, None, &[]).await.unwrap();
    assert!(list.contains("<Name>conf-b</Name>"), "{list}");
    let bad = c
        .oss(OssMethod::Put, &r, Some("Bad_Name"), None, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        (bad.kind, bad.code.as_deref(), bad.http_status),
        (K::InvalidParameter, Some("InvalidBucketName"), Some(400))
    );
    let other = e.other().await;
    ok(&other, Product::OssAdmin, "OpenOssService", &[]).await;
    let taken = other
        .oss(OssMethod::Put, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        (taken.kind, taken.code.as_deref(), taken.http_status),
        (K::Conflict, Some("BucketAlreadyExists"), Some(409))
    );
    assert!(taken.request_id.is_some());
    let (status, _) = c
        .oss(OssMethod::Delete, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap();
    assert_eq!(status, 204);
    let missing = c
        .oss(OssMethod::Delete, &r, Some("conf-b"), None, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        (missing.kind, missing.code.as_deref(), missing.http_status),
        (K::NotFound, Some("NoSuchBucket"), Some(404))
    );
    let forged = client_for(&e.sim, &e.keys.access_key_id, "not-the-secret");
    let denied = forged.oss_read(&r, None, None, &[]).await.unwrap_err();
    assert_eq!(
        (denied.kind, denied.code.as_deref(), denied.http_status),
        (K::Auth, Some("SignatureDoesNotMatch"), Some(403))
    );
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn wrong_secret_and_unknown_key() {
    let e = env().await;
    let forged = client_for(&e.sim, &e.keys.access_key_id, "not-the-secret");
    let mismatch = (K::Auth, "SignatureDoesNotMatch", 400);
    err(&forged, Product::Sts, "GetCallerIdentity", &[], mismatch).await;
    err(&forged, Product::Vpc, "DescribeVpcs", &[], mismatch).await;
    let stranger = client_for(&e.sim, "LTAI5tNoSuchKeyAtAll00000", "x");
    let unknown = (K::Auth, "InvalidAccessKeyId.NotFound", 404);
    err(&stranger, Product::Sts, "GetCallerIdentity", &[], unknown).await;
    let no_action = (K::Fatal, "InvalidAction.NotFound", 404);
    err(&e.c, Product::Vpc, "NoSuchAction", &[], no_action).await;
    e.sim.stop().await.unwrap();
}

/// A V3-signed `GetCallerIdentity` with a chosen nonce and date, sent by hand (the client
/// always makes fresh ones); returns `(status, code)` and the kind the client would give it.
async fn hand_signed(e: &Env, nonce: &str, date: &str) -> (u16, String, K) {
    let host = Product::Sts.host(None);
    let mut headers = BTreeMap::new();
    headers.insert("host".to_owned(), host.clone());
    headers.insert("x-acs-action".to_owned(), "GetCallerIdentity".to_owned());
    headers.insert("x-acs-version".to_owned(), "2015-04-01".to_owned());
    headers.insert("x-acs-date".to_owned(), date.to_owned());
    headers.insert("x-acs-signature-nonce".to_owned(), nonce.to_owned());
    headers.insert(
        "x-acs-content-sha256".to_owned(),
        sign::EMPTY_SHA256.to_owned(),
    );
    let names: Vec<String> = headers.keys().cloned().collect();
    let authorization = V3Request {
        method: "POST",
        path: "/",
        query: &[],
        headers: &headers,
        signed_headers: &names,
        body_sha256: sign::EMPTY_SHA256,
    }
    .authorization(&e.keys.access_key_id, &e.keys.access_key_secret);
    let mut req = reqwest::Client::new().post(format!("{}/", e.sim.endpoint()));
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let code = body["Code"].as_str().unwrap_or("").to_owned();
    let kind = flinkform_alicloud::classify(Some(status), Some(&code), false);
    (status, code, kind)
}

#[tokio::test]
async fn replayed_nonce_and_stale_date() {
    let e = env().await;
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let first = hand_signed(&e, "conformance-nonce", &fmt(now)).await;
    assert_eq!(first.0, 200, "{first:?}");
    let replay = hand_signed(&e, "conformance-nonce", &fmt(now)).await;
    assert_eq!(replay, (400, "SignatureNonceUsed".to_owned(), K::Auth));
    let stale = hand_signed(&e, "other-nonce", &fmt(now - chrono::Duration::minutes(20))).await;
    assert_eq!(stale, (400, "InvalidTimeStamp.Expired".to_owned(), K::Auth));
    let garbled = hand_signed(&e, "third-nonce", "yesterday").await;
    assert_eq!(
        garbled,
        (400, "InvalidTimeStamp.Format".to_owned(), K::Auth)
    );
    e.sim.stop().await.unwrap();
}

#[tokio::test]
async fn legacy_hmac_sha1_is_accepted() {
    let e = env().await;
    let mut params = p(&[
        ("Action", "DescribeVpcs"),
        ("Version", "2016-04-28"),
        ("Format", "JSON"),
        ("AccessKeyId", &e.keys.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "legacy-nonce-1"),
        ("RegionId", REGION),
    ]);
    params.push((
        "Timestamp".to_owned(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ));
    let signature = sign::rpc_v1_signature("GET", &params, &e.keys.access_key_secret);
    params.push(("Signature".to_owned(), signature));
    let query = sign::canonical_query(&params);
    let resp = reqwest::get(format!("{}/?{query}", e.sim.endpoint()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(s(&body, "/Vpcs/Vpc/0/VpcId"), "vpc-sim-existing");
    e.sim.stop().await.unwrap();
}

// ---------------------------------------------------------------- injected faults

#[tokio::test]
async fn throttling_server_errors_and_lost_responses_are_retryable() {
    let e = env().await;
    let c = &e.c;
    {
        let mut w = e.sim.world.lock().await;
        w.inject_fault(Some("DescribeVpcs"), FaultKind::Throttle, 1);
        w.inject_fault(Some("DescribeVSwitches"), FaultKind::InternalError, 1);
        w.inject_fault(Some("CreateVpc"), FaultKind::LoseResponse, 1);
    }
    let throttled = err(
        c,
        Product::Vpc,
        "DescribeVpcs",
        &[],
        (K::Throttling, "Throttling.User", 400),
    )
    .await;
    assert_eq!(throttled.retry_after_ms, Some(1000));
    err(
        c,
        Product::Vpc,
        "DescribeVSwitches",
        &[],
        (K::Transient, "InternalError", 500),
    )
    .await;
    err(
        c,
        Product::Vpc,
        "CreateVpc",
        &[("RegionId", REGION), ("ClientToken", "lost-1")],
        (K::Transient, "ServiceUnavailable", 503),
    )
    .await;
    // The lost CreateVpc was carried out: the same token returns the VPC it made.
    let again = ok(
        c,
        Product::Vpc,
        "CreateVpc",
        &[("RegionId", REGION), ("ClientToken", "lost-1")],
    )
    .await;
    let listed = ok(
        c,
        Product::Vpc,
        "DescribeVpcs",
        &[("RegionId", REGION), ("VpcId", s(&again, "/VpcId"))],
    )
    .await;
    assert_eq!(n(&listed, "/TotalCount"), 1);
    // A read retries through a 5xx by itself.
    e.sim
        .world
        .lock()
        .await
        .inject_fault(Some("DescribeVpcs"), FaultKind::InternalError, 1);
    let patient = Client::new(
        Endpoints::Override(e.sim.endpoint()),
        Credentials::new(&e.keys.access_key_id, &e.keys.access_key_secret),
        ClientOptions {
            read_retries: 2,
            retry_base_delay: Duration::from_millis(1),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let r = region();
    patient
        .rpc_read(
            Product::Vpc,
            Some(&r),
            "DescribeVpcs",
            p(&[("RegionId", REGION)]),
            RpcMethod::Get,
        )
        .await
        .unwrap();
    assert_eq!(patient.api_calls(), 2);
    e.sim.stop().await.unwrap();
}
