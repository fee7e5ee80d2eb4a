//! The fault plan and the commit observer over loopback HTTP, driven by the real client:
//! QPS throttling with the real code and `x-acs-retry-after`, seeded 5xx, lost responses by
//! k-th committed call, a workspace stuck in `CREATING`, a failed order, the loopback admin
//! endpoint, and the observer's numbering of committed mutating calls.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flinkform_alicloud::{Client, ClientOptions, Credentials, Endpoints, Product, RpcMethod};
use flinkform_cloudsim::{
    CommitHook, EXISTING_VPC_ID, EXISTING_VSWITCH_ID, FaultPlan, SimHandle, SimOptions, World,
};
use flinkform_core::{ProviderErrorKind, Region};

const REGION: &str = "ap-southeast-1";
const TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;

/// An emulator with account `main` ready for a workspace (role, OSS, bucket `b-1`).
async fn start(plan: &str, hook: Option<CommitHook>) -> (SimHandle, Client) {
    let mut world = World::new(9);
    let keys = world.ensure_account("main");
    world.console_open_oss("main").unwrap();
    world.console_create_bucket("main", "b-1", REGION).unwrap();
    let sim = flinkform_cloudsim::spawn_shared(
        Arc::new(tokio::sync::Mutex::new(world)),
        SimOptions {
            faults: FaultPlan::from_json(plan).unwrap(),
            on_commit: hook,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let client = Client::new(
        Endpoints::Override(sim.endpoint()),
        Credentials::new(keys.access_key_id, keys.access_key_secret),
        ClientOptions {
            read_retries: 0,
            ..ClientOptions::default()
        },
    )
    .unwrap();
    (sim, client)
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn role(c: &Client) {
    c.rpc(
        Product::Ram,
        None,
        "CreateRole",
        p(&[
            ("RoleName", "AliyunStreamAsiDefaultRole"),
            ("AssumeRolePolicyDocument", TRUST),
        ]),
        RpcMethod::Post,
    )
    .await
    .unwrap();
    c.rpc(
        Product::Ram,
        None,
        "AttachPolicyToRole",
        p(&[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", "AliyunStreamAsiDefaultRole"),
        ]),
        RpcMethod::Post,
    )
    .await
    .unwrap();
}

async fn create_instance(
    c: &Client,
    name: &str,
) -> Result<serde_json::Value, flinkform_alicloud::ApiError> {
    let region = Region::new(REGION).unwrap();
    let vsw = format!("[\"{EXISTING_VSWITCH_ID}\"]");
    c.rpc(
        Product::Foasconsole,
        Some(&region),
        "CreateInstance",
        p(&[
            ("Region", REGION),
            ("InstanceName", name),
            ("ChargeType", "POST"),
            ("VpcId", EXISTING_VPC_ID),
            ("VSwitchIds", &vsw),
            ("Storage", r#"{"Oss":{"Bucket":"b-1"}}"#),
        ]),
        RpcMethod::Post,
    )
    .await
}

async fn whoami(c: &Client) -> Result<serde_json::Value, flinkform_alicloud::ApiError> {
    c.rpc(
        Product::Sts,
        None,
        "GetCallerIdentity",
        Vec::new(),
        RpcMethod::Post,
    )
    .await
}

#[tokio::test]
async fn qps_limit_throttles_with_the_real_code_and_a_retry_hint() {
    let (sim, c) = start(r#"{"qps": {"GetCallerIdentity": 2}}"#, None).await;
    whoami(&c).await.unwrap();
    whoami(&c).await.unwrap();
    let e = whoami(&c).await.unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::Throttling);
    assert_eq!(
        (e.http_status, e.code.as_deref()),
        (Some(400), Some("Throttling.User"))
    );
    let hint = e.retry_after_ms.unwrap();
    assert!((1..=500).contains(&hint), "{hint}");
    // Other actions have their own bucket.
    c.rpc(
        Product::Bss,
        None,
        "QueryAccountBalance",
        Vec::new(),
        RpcMethod::Post,
    )
    .await
    .unwrap();
    // That the bucket refills after the hint is a unit test of the fault plan
    // (`a_throttled_action_recovers_after_its_retry_hint`), with time stepped, not slept.
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn server_errors_follow_the_seed() {
    let plan = r#"{"seed": 3, "errors": [{"action": "GetCallerIdentity", "probability": 0.5}]}"#;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (sim, c) = start(plan, None).await;
        let mut outcome = Vec::new();
        for _ in 0..24 {
            outcome.push(match whoami(&c).await {
                Ok(_) => 200,
                Err(e) => e.http_status.unwrap(),
            });
        }
        sim.stop().await.unwrap();
        runs.push(outcome);
    }
    assert_eq!(runs[0], runs[1], "same seed, same faults");
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn committed_calls_are_numbered_and_a_lost_response_still_commits() {
    let seen: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let hook = CommitHook::new(move |k, action| log.lock().unwrap().push((k, action.to_owned())));
    let (sim, c) = start(r#"{"lose_response": [{"mutating_call": 3}]}"#, Some(hook)).await;
    role(&c).await;
    whoami(&c).await.unwrap();
    let e = create_instance(&c, "lost").await.unwrap_err();
    assert_eq!(
        (e.http_status, e.code.as_deref()),
        (Some(503), Some("ServiceUnavailable"))
    );
    // A failed mutating call is not committed and has no number.
    let dup = create_instance(&c, "lost").await.unwrap_err();
    assert_eq!(dup.http_status, Some(400), "{dup:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (1, "CreateRole".to_owned()),
            (2, "AttachPolicyToRole".to_owned()),
            (3, "CreateInstance".to_owned()),
        ]
    );
    let world = sim.world.lock().await.clone();
    assert_eq!(
        world.instances("main").unwrap().len(),
        1,
        "the change was made"
    );
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn a_stuck_workspace_never_runs_and_a_failed_order_creates_nothing() {
    let plan =
        r#"{"stuck_creating": ["stuck"], "failed_orders": [{"workspace": "broke", "times": 1}]}"#;
    let (sim, c) = start(plan, None).await;
    role(&c).await;
    let e = create_instance(&c, "broke").await.unwrap_err();
    assert_eq!(
        (e.http_status, e.code.as_deref()),
        (Some(400), Some("ORDER.CREATE_FAILED"))
    );
    create_instance(&c, "stuck").await.unwrap();
    create_instance(&c, "fine").await.unwrap();
    {
        let mut w = sim.world.lock().await;
        w.advance(Duration::from_secs(24 * 3600));
        let status: Vec<(String, String)> = w
            .instances("main")
            .unwrap()
            .into_iter()
            .map(|i| (i.name, i.status))
            .collect();
        assert_eq!(
            status,
            [
                ("fine".to_owned(), "RUNNING".to_owned()),
                ("stuck".to_owned(), "CREATING".to_owned()),
            ]
        );
        assert_eq!(
            w.summary()["main"].orders,
            2,
            "the failed order placed none"
        );
    }
    // `times: 1`: the next order for it goes through.
    create_instance(&c, "broke").await.unwrap();
    sim.stop().await.unwrap();
}

async fn admin(sim: &SimHandle, method: reqwest::Method, body: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .request(method, format!("{}/_sim/faults", sim.endpoint()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_admin_endpoint_replaces_the_plan() {
    let (sim, c) = start("{}", None).await;
    let (status, body) = admin(&sim, reqwest::Method::POST, r#"{"qps": {"*": 0}}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidFaultPlan"), "{body}");
    let (status, _) = admin(
        &sim,
        reqwest::Method::POST,
        r#"{"errors": [{"action": "GetCallerIdentity", "burst": {"after": 0, "count": 1}}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    let (status, shown) = admin(&sim, reqwest::Method::GET, "").await;
    assert_eq!(status, 200);
    assert!(shown.contains("GetCallerIdentity"), "{shown}");
    assert_eq!(whoami(&c).await.unwrap_err().http_status, Some(500));
    whoami(&c).await.unwrap();
    let (status, _) = admin(&sim, reqwest::Method::POST, "{}").await;
    assert_eq!(status, 200);
    whoami(&c).await.unwrap();
    let (status, _) = admin(&sim, reqwest::Method::DELETE, "").await;
    assert_eq!(status, 405);
    sim.stop().await.unwrap();
}

#[test]
fn a_plan_file_loads_and_bad_files_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("faults.json");
    std::fs::write(&good, r#"{"seed": 1, "qps": {"*": 2}}"#).unwrap();
    assert_eq!(FaultPlan::load(&good).unwrap().qps["*"], 2.0);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"qps": {"*": -1}}"#).unwrap();
    let e = FaultPlan::load(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("positive"), "{e}");
}
