//! The emulated SaaS vendor over loopback HTTP: the SPI endpoint verifies the Marketplace's
//! MD5 token (sorted parameters + `&key=<ISV key>`), and the Billing Center connector
//! requires its bearer token and walks register → verify → settlement → workspace, and
//! verification is per Alibaba Cloud account (UID): an account one UID verified is refused
//! to every other UID until that UID enters a code of its own.

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
        "password": "long-enough-pw", "company": { "name": "Example Ltd" },
        "aliUid": "1111111111111111"
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
    let ws = json!({
        "billingAccountId": id, "name": "ws", "language": "en", "site": "intl",
        "aliUid": "1111111111111111"
    });
    let resp = post("workspaces", ws.clone(), &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 409);

    let resp = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": "000000", "aliUid": "1111111111111111" }),
        &key,
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let code = sim.world.lock().await.outbox()[0].code.clone();
    let resp = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": code, "aliUid": "1111111111111111" }),
        &key,
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // An instance the Marketplace never provisioned cannot be bound.
    let bind = json!({ "billingAccountId": id, "aliUid": "1111111111111111", "instanceId": "42" });
    let resp = post("settlement-bindings", bind, &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let resp = post("workspaces", ws, &key).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let world = sim.world.lock().await.clone();
    let text = serde_json::to_string(&world).unwrap();
    assert!(!text.contains("long-enough-pw"), "only a digest is kept");
    sim.stop().await.unwrap();
}

/// The connector's answer: status and JSON body.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, url)
        .header("authorization", format!("Bearer {key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("connector answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_account_verified_by_one_uid_is_refused_to_another_until_it_verifies() {
    const OWNER: &str = "1111111111111111";
    const OTHER: &str = "2222222222222222";
    const THIRD: &str = "3333333333333333";
    let mut world = World::new(9);
    let key = world.vendor_connector_key();
    let spi_key = world.vendor_spi_key();
    let sim = spawn(world).await.unwrap();
    let http = http();
    let base = format!("{}/_vendor/connector/v1", sim.endpoint());
    let post = |path: &str, body: Value| {
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/{path}"),
            &key,
            Some(body),
        )
    };
    let get = |path: &str| {
        call(
            &http,
            reqwest::Method::GET,
            format!("{base}/{path}"),
            &key,
            None,
        )
    };

    // OWNER registers and verifies `ops-team`.
    let (status, account) = post(
        "billing-accounts",
        json!({
            "site": "intl", "username": "ops-team", "email": "ops@example.com",
            "password": "long-enough-pw", "company": { "name": "Example Ltd" },
            "aliUid": OWNER
        }),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    let code = sim.world.lock().await.outbox()[0].code.clone();
    let (status, account) = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": code, "aliUid": OWNER }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(account["verifiedForUid"], true);
    assert_eq!(account["bound"], true);

    // The Marketplace provisions an instance to OTHER.
    let mut params = BTreeMap::new();
    params.insert("action", "createInstance");
    params.insert("aliUid", OTHER);
    params.insert("orderBizId", "5600123");
    params.insert("orderId", "202600000000009");
    params.insert("productCode", "cmgj00053362");
    params.insert("skuId", "cmgj00053362-postpay");
    let mut signed: Vec<(&str, String)> =
        params.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    signed.push(("token", token(&params, &spi_key)));
    let resp = http
        .get(format!("{}/_vendor/spi", sim.endpoint()))
        .query(&signed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // OTHER has not verified the account: no settlement binding, no workspace, no bind.
    let settle = json!({ "billingAccountId": id, "aliUid": OTHER, "instanceId": "5600123" });
    let (status, body) = post("settlement-bindings", settle.clone()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("not_verified"))
    );
    let ws = json!({
        "billingAccountId": id, "name": "other-ws", "language": "en", "site": "intl",
        "aliUid": OTHER
    });
    let (status, body) = post("workspaces", ws.clone()).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("not_verified"))
    );
    let (status, body) = post(
        "workspaces/bind",
        json!({ "billingAccountId": id, "name": "other-ws", "aliUid": OTHER }),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("not_verified"))
    );

    // The account answers per asking UID and never names the other UIDs.
    let (_, list) = get(&format!(
        "billing-accounts?site=intl&username=ops-team&aliUid={OTHER}"
    ))
    .await;
    let seen = &list["items"][0];
    assert_eq!(seen["verifiedForUid"], false);
    assert_eq!(seen["pendingForUid"], false);
    assert_eq!(seen["status"], "active");
    assert!(!list.to_string().contains(OWNER), "{list}");
    let (_, anonymous) = get(&format!("billing-accounts/{id}")).await;
    assert!(anonymous.get("verifiedForUid").is_none(), "{anonymous}");

    // Binding is not a shortcut: it sends a code to the account's address, for OTHER only.
    let bind = json!({
        "site": "intl", "username": "ops-team", "email": "ops@example.com", "aliUid": OTHER
    });
    let (status, account) = post("billing-accounts/bind", bind.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(account["verifiedForUid"], false);
    assert_eq!(account["pendingForUid"], true);
    let outbox = sim.world.lock().await.outbox().to_vec();
    assert_eq!(outbox.len(), 2);
    assert_eq!(
        (outbox[1].to.as_str(), outbox[1].purpose.as_str()),
        ("ops@example.com", "bind ops-team")
    );
    let (status, _) = post("settlement-bindings", settle.clone()).await;
    assert_eq!(status, 409, "a pending bind is not a verification");
    // Another UID cannot use OTHER's code, and a wrong code is refused.
    let (status, body) = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": outbox[1].code, "aliUid": THIRD }),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_code"))
    );
    // Without `aliUid` a bind or a verification is refused.
    let (status, _) = post(
        "billing-accounts/bind",
        json!({ "site": "intl", "username": "ops-team", "email": "ops@example.com" }),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": outbox[1].code }),
    )
    .await;
    assert_eq!(status, 400);
    {
        let world = sim.world.lock().await;
        assert!(world.vendor_summary().bindings.is_empty());
        assert_eq!(
            world.vendor_summary().verified_uids["ops-team"],
            [OWNER.to_owned()].into_iter().collect()
        );
    }

    // With its own code OTHER may bind, settle and create a workspace.
    let (status, account) = post(
        &format!("billing-accounts/{id}/verify"),
        json!({ "code": outbox[1].code, "aliUid": OTHER }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(account["verifiedForUid"], true);
    let (status, _) = post("settlement-bindings", settle).await;
    assert_eq!(status, 201);
    let (status, _) = post("workspaces", ws).await;
    assert_eq!(status, 201);
    // Binding again now answers the account as it is, without a new e-mail.
    let (status, account) = post("billing-accounts/bind", bind).await;
    assert_eq!((status, &account["verifiedForUid"]), (200, &json!(true)));
    let world = sim.world.lock().await.clone();
    assert_eq!(world.outbox().len(), 2);
    assert_eq!(
        world.vendor_summary().verified_uids["ops-team"],
        [OWNER.to_owned(), OTHER.to_owned()].into_iter().collect()
    );
    sim.stop().await.unwrap();
}
