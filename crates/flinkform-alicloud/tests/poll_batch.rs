//! Batched workspace reads (the polls of a fleet's workspaces while they are created):
//! reads of one account and region in progress together share `DescribeInstances`
//! listings, each answer still comes from a call that started after its read was asked, and
//! a read alone asks for its one id.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flinkform_alicloud::client::{Client, ClientOptions, OssMethod, RpcMethod};
use flinkform_alicloud::credentials::Credentials;
use flinkform_alicloud::endpoint::{Endpoints, Product};
use flinkform_alicloud::provider::AliProvider;
use flinkform_cloudsim::{EXISTING_VPC_ID, EXISTING_VSWITCH_ID, World, spawn};
use flinkform_core::{
    AccountName, Address, CloudId, Mode, Observation, Provider, Region, ResourceKind,
};

const REGION: &str = "ap-southeast-1";

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn post(c: &Client, product: Product, action: &str, p: &[(&str, &str)]) -> serde_json::Value {
    let region = Region::new(REGION).unwrap();
    let regional = matches!(product, Product::Foasconsole | Product::Vpc);
    c.rpc(
        product,
        regional.then_some(&region),
        action,
        params(p),
        RpcMethod::Post,
    )
    .await
    .unwrap_or_else(|e| panic!("{action}: {e}"))
}

#[tokio::test]
async fn concurrent_workspace_reads_share_listings() {
    let mut world = World::new(11);
    // Frozen cloud time: the workspaces stay CREATING, as while an apply polls them.
    world.set_time_scale(0.0).unwrap();
    let keys = world.ensure_account("main");
    let sim = spawn(world).await.unwrap();
    let creds = || Credentials::new(&keys.access_key_id, &keys.access_key_secret);
    let options = ClientOptions {
        read_retries: 0,
        retry_base_delay: Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let c = Client::new(
        Endpoints::Override(sim.endpoint()),
        creds(),
        options.clone(),
    )
    .unwrap();
    post(&c, Product::OssAdmin, "OpenOssService", &[]).await;
    let region = Region::new(REGION).unwrap();
    c.oss(
        OssMethod::Put,
        &region,
        Some("batch-state"),
        None,
        Vec::new(),
    )
    .await
    .unwrap();
    let role = "AliyunStreamAsiDefaultRole";
    let trust = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["stream.aliyuncs.com"]}}],"Version":"1"}"#;
    post(
        &c,
        Product::Ram,
        "CreateRole",
        &[("RoleName", role), ("AssumeRolePolicyDocument", trust)],
    )
    .await;
    post(
        &c,
        Product::Ram,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunStreamAsiDefaultRolePolicy"),
            ("RoleName", role),
        ],
    )
    .await;
    let vsws = format!(r#"["{EXISTING_VSWITCH_ID}"]"#);
    let mut ids = Vec::new();
    for i in 0..6 {
        let name = format!("batch-{i}");
        let created = post(
            &c,
            Product::Foasconsole,
            "CreateInstance",
            &[
                ("Region", REGION),
                ("InstanceName", &name),
                ("ChargeType", "POST"),
                ("VpcId", EXISTING_VPC_ID),
                ("VSwitchIds", &vsws),
                ("Storage", r#"{"Oss":{"Bucket":"batch-state"}}"#),
            ],
        )
        .await;
        let id = created["OrderInfo"]["InstanceId"]
            .as_str()
            .or_else(|| created["InstanceId"].as_str())
            .unwrap_or_else(|| panic!("no instance id in {created}"))
            .to_owned();
        ids.push((name, id));
    }

    let main = AccountName::new("main").unwrap();
    let provider = Arc::new(
        AliProvider::new(
            Endpoints::Override(sim.endpoint()),
            BTreeMap::from([(main.clone(), creds())]),
            options,
        )
        .unwrap(),
    );
    let describes = || async {
        sim.world
            .lock()
            .await
            .calls()
            .get("DescribeInstances")
            .copied()
            .unwrap_or(0)
    };
    let read = |name: String, id: String| {
        let (provider, main, region) = (Arc::clone(&provider), main.clone(), region.clone());
        async move {
            let addr = Address::new(ResourceKind::FlinkWorkspace, name).unwrap();
            let obs = provider
                .read(
                    &addr,
                    Mode::Managed,
                    &main,
                    Some(&region),
                    &CloudId::new(id.clone()).unwrap(),
                )
                .await
                .unwrap();
            match obs {
                Observation::Found(r) => assert_eq!(r.cloud_id.as_str(), id),
                other => panic!("{id}: {other:?}"),
            }
        }
    };

    // Six reads at once: the first is alone (one filtered call), the second lists the
    // region for the others, and the reads queued behind that listing share the next one.
    let before = describes().await;
    let mut set = tokio::task::JoinSet::new();
    for (name, id) in &ids {
        set.spawn(read(name.clone(), id.clone()));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let shared = describes().await - before;
    assert!(
        (1..=3).contains(&shared),
        "6 concurrent reads made {shared} DescribeInstances calls"
    );

    // A read alone asks for its own id: one call, never an old listing.
    let before = describes().await;
    let (name, id) = ids[0].clone();
    read(name, id).await;
    assert_eq!(describes().await - before, 1);
}
