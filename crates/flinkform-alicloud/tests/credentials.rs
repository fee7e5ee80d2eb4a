//! The credential chain against the emulator's STS and metadata service: RAM role
//! assumption, OIDC, the ECS instance role, refresh before expiry on an injected clock (no
//! sleeping), the emulator refusing expired credentials, and errors that name the endpoint
//! and where the credentials are configured.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flinkform_alicloud::client::{Client, ClientOptions, RpcMethod};
use flinkform_alicloud::credentials::{
    Clock, CredentialCache, Credentials, ManualClock, Source, chain,
};
use flinkform_alicloud::endpoint::{Endpoints, Product};
use flinkform_cloudsim::{SimHandle, World};

struct Sim {
    handle: SimHandle,
    uid: String,
    keys: (String, String),
}

async fn sim() -> Sim {
    let mut world = World::new(7);
    world.set_time_scale(1.0).unwrap();
    let keys = world.ensure_account("main");
    let uid = keys.uid.clone();
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{uid}:root"],"Federated":["acs:ram::{uid}:oidc-provider/github"]}}}}]}}"#
    );
    world
        .console_create_role("main", "deployer", &trust)
        .unwrap();
    world
        .console_create_role(
            "main",
            "stranger",
            r#"{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::999:root"]}}]}"#,
        )
        .unwrap();
    world
        .console_create_oidc_provider(
            "main",
            "github",
            "https://token.actions.githubusercontent.com",
            &["sts.aliyuncs.com".to_owned()],
        )
        .unwrap();
    world
        .console_attach_instance_role("main", "deployer")
        .unwrap();
    let handle = flinkform_cloudsim::spawn(world).await.unwrap();
    Sim {
        handle,
        uid,
        keys: (keys.access_key_id, keys.access_key_secret),
    }
}

fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<&'static str, String> = pairs.into_iter().collect();
    move |k: &str| map.get(k).cloned()
}

fn no_config() -> Option<&'static std::path::Path> {
    Some(std::path::Path::new("/nonexistent/flinkform/config.json"))
}

fn ram_role_source(sim: &Sim, role: &str) -> Source {
    let env = env_of(vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", sim.keys.0.clone()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sim.keys.1.clone()),
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            format!("acs:ram::{}:role/{role}", sim.uid),
        ),
        ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "ci-run".to_owned()),
        ("ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION", "900".to_owned()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", sim.handle.endpoint()),
    ]);
    chain("main", &env, no_config()).unwrap()
}

fn cache(sim: &Sim, source: Source, clock: Arc<dyn Clock>) -> Arc<CredentialCache> {
    Arc::new(CredentialCache::new(
        source,
        Endpoints::Override(sim.handle.endpoint()),
        ClientOptions::default(),
        clock,
    ))
}

async fn caller(client: &Client) -> Result<serde_json::Value, flinkform_alicloud::ApiError> {
    client
        .rpc(
            Product::Sts,
            None,
            "GetCallerIdentity",
            vec![],
            RpcMethod::Post,
        )
        .await
}

#[tokio::test]
async fn ram_role_credentials_are_refreshed_before_they_expire() {
    let sim = sim().await;
    let clock = Arc::new(ManualClock::new());
    let cache = cache(&sim, ram_role_source(&sim, "deployer"), clock.clone());
    let client = Client::with_cache(
        Endpoints::Override(sim.handle.endpoint()),
        cache.clone(),
        ClientOptions::default(),
    )
    .unwrap();

    let who = caller(&client).await.unwrap();
    assert_eq!(who["AccountId"], sim.uid.as_str());
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        who["Arn"],
        format!("acs:ram::{}:assumed-role/deployer/ci-run", sim.uid).as_str()
    );
    let first = cache.get().await.unwrap();
    assert!(first.access_key_id.starts_with("STS."), "{first:?}");
    assert!(first.security_token.is_some());
    assert_eq!(cache.fetches(), 1, "one AssumeRole for both requests");

    // 900 s credentials: at 700 s they are still used, at 721 s (less than 180 s left)
    // they are refreshed.
    clock.advance(Duration::from_secs(700));
    caller(&client).await.unwrap();
    assert_eq!(cache.fetches(), 1);
    clock.advance(Duration::from_secs(21));
    // The emulator's clock moves along (the client's clock and the cloud's agree).
    sim.handle
        .world
        .lock()
        .await
        .advance(Duration::from_secs(721));
    caller(&client).await.unwrap();
    assert_eq!(
        cache.fetches(),
        2,
        "refreshed with less than 3 minutes left"
    );
    let second = cache.get().await.unwrap();
    assert_ne!(second.access_key_id, first.access_key_id);

    // The emulator's clock passes the first credentials' expiry: a request signed with them
    // is refused as the real STS does, one with the refreshed ones is not.
    sim.handle
        .world
        .lock()
        .await
        .advance(Duration::from_secs(180));
    let stale = Client::new(
        Endpoints::Override(sim.handle.endpoint()),
        first,
        ClientOptions::default(),
    )
    .unwrap();
    let e = caller(&stale).await.unwrap_err();
    assert_eq!(
        e.code.as_deref(),
        Some("InvalidSecurityToken.Expired"),
        "{e}"
    );
    assert_eq!(e.kind, flinkform_core::ProviderErrorKind::Auth);
    caller(&client).await.unwrap();
    let world = sim.handle.world.lock().await;
    assert_eq!(world.expired_token_refusals(), 1);
    assert_eq!(world.calls().get("AssumeRole"), Some(&2));
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_caller_is_refused_with_what_to_check() {
    let sim = sim().await;
    let cache = cache(
        &sim,
        ram_role_source(&sim, "stranger"),
        Arc::new(ManualClock::new()),
    );
    let e = cache.get().await.unwrap_err().to_string();
    assert!(e.contains("STS AssumeRole at http://127.0.0.1"), "{e}");
    assert!(
        e.contains(&format!("acs:ram::{}:role/stranger", sim.uid)),
        "{e}"
    );
    assert!(e.contains("NoPermission"), "{e}");
    assert!(e.contains("trust policy"), "{e}");
    assert!(e.contains("environment"), "{e}");
    assert!(!e.contains(&sim.keys.1), "no secret in errors");
}

fn jwt(claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        enc(br#"{"alg":"RS256","typ":"JWT"}"#),
        enc(claims.to_string().as_bytes()),
        enc(b"signature")
    )
}

#[tokio::test]
async fn oidc_tokens_are_read_from_the_file_at_every_fetch() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let exp = chrono::Utc::now().timestamp() + 600;
    let good = jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.aliyuncs.com",
        "sub": "repo:acme/flink:ref:refs/heads/main",
        "exp": exp,
    }));
    std::fs::write(&token_file, &good).unwrap();
    let env = env_of(vec![
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            format!("acs:ram::{}:role/deployer", sim.uid),
        ),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            format!("acs:ram::{}:oidc-provider/github", sim.uid),
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("ALIBABA_CLOUD_STS_ENDPOINT", sim.handle.endpoint()),
        ("ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION", "900".to_owned()),
    ]);
    let source = chain("main", &env, no_config()).unwrap();
    assert_eq!(source.mode(), "OIDC");
    let clock = Arc::new(ManualClock::new());
    let cache = cache(&sim, source, clock.clone());
    let client = Client::with_cache(
        Endpoints::Override(sim.handle.endpoint()),
        cache.clone(),
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(
        caller(&client).await.unwrap()["AccountId"],
        sim.uid.as_str()
    );

    // The CI system rotates the token file; the refresh reads the new (here: wrong
    // audience) one. The held credentials are still valid, so requests keep working until
    // they expire; then the refusal comes through, naming the endpoint and what to check.
    let wrong = jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "someone-else",
        "exp": exp,
    }));
    std::fs::write(&token_file, &wrong).unwrap();
    clock.advance(Duration::from_secs(800));
    caller(&client).await.unwrap();
    assert_eq!(cache.fetches(), 2);
    clock.advance(Duration::from_secs(200));
    let e = caller(&client).await.unwrap_err();
    assert!(e.message.contains("AssumeRoleWithOIDC"), "{e}");
    assert!(
        e.message.contains("AuthenticationFail.OIDCToken.Invalid"),
        "{e}"
    );
    assert!(e.message.contains("OIDC token file"), "{e}");
    assert!(!e.message.contains(&wrong), "the token is never shown");
}

#[tokio::test]
async fn the_ecs_instance_role_comes_from_the_metadata_service() {
    let sim = sim().await;
    let env = env_of(vec![("ALIBABA_CLOUD_IMDS_ENDPOINT", sim.handle.endpoint())]);
    let source = chain("main", &env, no_config()).unwrap();
    assert_eq!(source.mode(), "EcsRamRole");
    let held = cache(&sim, source, Arc::new(ManualClock::new()));
    let client = Client::with_cache(
        Endpoints::Override(sim.handle.endpoint()),
        held.clone(),
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(
        caller(&client).await.unwrap()["AccountId"],
        sim.uid.as_str()
    );
    assert!(held.get().await.unwrap().access_key_id.starts_with("STS."));

    // A role name the instance does not have.
    let env = env_of(vec![
        ("ALIBABA_CLOUD_IMDS_ENDPOINT", sim.handle.endpoint()),
        ("ALIBABA_CLOUD_ECS_METADATA", "other-role".to_owned()),
    ]);
    let cache2 = cache(
        &sim,
        chain("main", &env, no_config()).unwrap(),
        Arc::new(ManualClock::new()),
    );
    let e = cache2.get().await.unwrap_err().to_string();
    assert!(e.contains("metadata service"), "{e}");
    assert!(e.contains("other-role"), "{e}");
    assert!(e.contains("ALIBABA_CLOUD_ECS_METADATA"), "{e}");
}

#[tokio::test]
async fn unreachable_endpoints_are_named_with_the_profile() {
    // A port nothing listens on: bind one, note it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"current":"x","profiles":[{"name":"ci","mode":"RamRoleArn","access_key_id":"LTAIci","access_key_secret":"CANARYsecret","ram_role_arn":"acs:ram::1:role/deployer","ram_session_name":"ci"}]}"#,
    )
    .unwrap();
    let env = env_of(vec![
        ("ALIBABA_CLOUD_PROFILE", "ci".to_owned()),
        (
            "ALIBABA_CLOUD_STS_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
    ]);
    let source = chain("main", &env, Some(&path)).unwrap();
    let cache = Arc::new(CredentialCache::new(
        source,
        Endpoints::Real,
        ClientOptions::default(),
        Arc::new(ManualClock::new()),
    ));
    let e = cache.get().await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("cannot reach http://127.0.0.1:{port}")),
        "{e}"
    );
    assert!(e.contains("profile `ci`"), "{e}");
    assert!(e.contains("ALIBABA_CLOUD_STS_ENDPOINT"), "{e}");
    assert!(!e.contains("CANARYsecret"), "{e}");

    // The OpenAPI client's own connection errors name the host and the credentials.
    let client = Client::new(
        Endpoints::Override(format!("http://127.0.0.1:{port}")),
        Credentials::new("LTAIx", "s"),
        ClientOptions::default(),
    )
    .unwrap();
    let e = caller(&client).await.unwrap_err();
    assert!(
        e.message.contains(&format!(
            "cannot reach 127.0.0.1:{port} for sts.aliyuncs.com"
        )),
        "{e}"
    );
    assert!(e.message.contains("endpoint override"), "{e}");
}

/// The client's clock says the credentials are fresh, the cloud's says they expired (clock
/// skew): the refused request is sent once more with new credentials and succeeds.
#[tokio::test]
async fn a_request_refused_as_expired_is_sent_again_with_new_credentials() {
    let sim = sim().await;
    let cache = cache(
        &sim,
        ram_role_source(&sim, "deployer"),
        Arc::new(ManualClock::new()),
    );
    let client = Client::with_cache(
        Endpoints::Override(sim.handle.endpoint()),
        cache.clone(),
        ClientOptions::default(),
    )
    .unwrap();
    caller(&client).await.unwrap();
    sim.handle
        .world
        .lock()
        .await
        .advance(Duration::from_secs(901));
    let who = caller(&client).await.unwrap();
    assert_eq!(who["AccountId"], sim.uid.as_str());
    assert_eq!(cache.fetches(), 2);
    let world = sim.handle.world.lock().await;
    assert_eq!(
        world.expired_token_refusals(),
        1,
        "refused once, then sent again"
    );
}
