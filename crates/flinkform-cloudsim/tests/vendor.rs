//! The emulated SaaS vendor over loopback HTTP: the SPI endpoint verifies the Marketplace's
//! MD5 token (sorted parameters + `&key=<ISV key>`), and the Billing Center connector
//! requires its bearer token and walks register → verify → settlement → workspace.

use std::collections::BTreeMap;

use flinkform_cloudsim::{World, spawn};
use md5::{Digest as _, Md5};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn token(params: &BTreeMap<&str, &str>, key: &str) -> String {
    let joined = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{joined}&key={key}").as_bytes()))
}

#[tokio::test]
async fn spi_calls_need_a_valid_token() {
    let mut world = World::new(3);
    let key = world.vendor_spi_key();
    let sim = spawn(world).await.unwrap();
    let http = http();
    let mut params = BTreeMap::new();
    params.insert("action", "createInstance");
    params.insert("aliUid", "1234567890");
    params.insert("orderBizId", "5600099");
    params.insert("orderId", "202600000000001");
    params.insert("productCode", "cmgj00053362");
    params.insert("skuId", "cmgj00053362-postpay");
    params.insert("trial", "false");
    let url = format!("{}/_vendor/spi", sim.endpoint());

    let mut forged: Vec<(&str, String)> =
        params.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    forged.push(("token", token(&params, "not-the-key")));
    let resp = http.get(&url).query(&forged).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    let mut signed: Vec<(&str, String)> =
        params.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    signed.push(("token", token(&params, &key)));
    let resp = http.get(&url).query(&signed).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["instanceId"], "5600099");
    // Idempotent: the same call again answers the same instance.
    let again: Value = http
        .get(&url)
        .query(&signed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["instanceId"], "5600099");
    let world = sim.world.lock().await.clone();
    assert_eq!(world.vendor_summary().spi_calls["createInstance"], 2);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn the_connector_needs_its_token_and_a_verified_account() {
    let mut world = World::new(5);
    let key = world.vendor_connector_key();
    let sim = spawn(world).await.unwrap();
    let http = http();
    let base = format!("{}/_vendor/connector/v1", sim.endpoint());
    let post = |path: &str, body: Value, bearer: &str| {
        http.post(format!("{base}/{path}"))
            .header("authorization", format!("Bearer {bearer}"))
            .json(&body)
            .send()
    };
    let register = json!({
        "site": "intl", "username": "ops-team", "email": "ops@example.com",
        "password": "long-enough-pw", "company": { "name": "Example Ltd" }
    });
    let resp = post("billing-accounts", register.clone(), "wrong")
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = post("billing-accounts", register, &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let account: Value = resp.json().await.unwrap();
    assert_eq!(account["status"], "pending_verification");
    assert!(account.get("password").is_none());
    let id = account["id"].as_str().unwrap().to_owned();

    // Not verified yet: no workspace.
    let ws = json!({ "billingAccountId": id, "name": "ws", "language": "en", "site": "intl" });
    let resp = post("workspaces", ws.clone(), &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 409);

    let resp = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": "000000" }),
        &key,
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let code = sim.world.lock().await.outbox()[0].code.clone();
    let resp = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": code }),
        &key,
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // An instance the Marketplace never provisioned cannot be bound.
    let bind = json!({ "billingAccountId": id, "aliUid": "1", "instanceId": "42" });
    let resp = post("settlement-bindings", bind, &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let resp = post("workspaces", ws, &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let world = sim.world.lock().await.clone();
    let text = serde_json::to_string(&world).unwrap();
    assert!(!text.contains("long-enough-pw"), "only a digest is kept");
    sim.stop().await.unwrap();
}
