//! Secrets never leak from the client side: a canary AccessKey secret (and STS token) put
//! into credentials, the `ALIBABA_CLOUD_*` variables and aliyun CLI profiles must not appear
//! in any `Debug` or `Display` of credentials and clients, nor in any error raised while
//! resolving credentials, whatever shape the (malformed) configuration has. No network: only
//! the resolving and formatting paths run.

use std::collections::BTreeMap;
use std::path::Path;

use flinkform_alicloud::{
    Client, ClientOptions, Credentials, Endpoints, Secret, credentials, resolve,
};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

const CANARY: &str = "CANARYsecret7d1f0c9e";
const CANARY_TOKEN: &str = "CANARYtoken5a6b7c8d";
/// A secret made only of digits, so that a JSON file may hold it as a number.
const CANARY_DIGITS: &str = "731159741900424242";

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for canary in [CANARY, CANARY_TOKEN, CANARY_DIGITS] {
        assert!(
            !text.contains(canary),
            "{what} shows the secret `{canary}`:\n{text}"
        );
    }
}

/// Every way an error is shown: `Display`, `Debug`, and the rendered miette report (with
/// its help text).
fn shown(e: &(dyn Diagnostic + 'static)) -> String {
    let mut report = String::new();
    let _ = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut report, e);
    format!("{e}\n{e:?}\n{report}")
}

#[test]
fn secret_credentials_and_client_never_print_the_secret() {
    let secret = Secret::new(CANARY);
    assert_eq!(secret.expose(), CANARY, "expose is the only way in");
    assert_clean("Secret Display", &format!("{secret}"));
    assert_clean("Secret Debug", &format!("{secret:?} {secret:#?}"));

    let mut creds = Credentials::new("LTAIcanaryid", CANARY);
    creds.security_token = Some(Secret::new(CANARY_TOKEN));
    assert_clean("Credentials Debug", &format!("{creds:?} {creds:#?}"));
    assert!(
        format!("{creds:?}").contains("LTAIcanaryid"),
        "the id is not secret"
    );

    let client = Client::new(
        Endpoints::Override("http://127.0.0.1:9".to_owned()),
        creds.clone(),
        ClientOptions::default(),
    )
    .expect("client");
    assert_clean("Client Debug", &format!("{client:?} {client:#?}"));

    let err = Client::new(
        Endpoints::Override("not a url".to_owned()),
        creds,
        ClientOptions::default(),
    )
    .expect_err("bad endpoint");
    assert_clean("bad endpoint error", &shown(&err));
}

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| vars.get(k).cloned()
}

#[test]
fn environment_credentials_never_print_the_secret() {
    let env = env_of(&[
        (credentials::ENV_ACCESS_KEY_ID, "LTAIcanaryid"),
        (credentials::ENV_ACCESS_KEY_SECRET, CANARY),
        (credentials::ENV_SECURITY_TOKEN, CANARY_TOKEN),
    ]);
    let creds = resolve("main", &env, None).expect("credentials");
    assert_eq!(creds.access_key_secret.expose(), CANARY);
    assert_clean("resolved Credentials", &format!("{creds:?}"));

    // Only the secret is set: the error names the variables, not their values.
    let env = env_of(&[
        (credentials::ENV_ACCESS_KEY_SECRET, CANARY),
        (credentials::ENV_SECURITY_TOKEN, CANARY_TOKEN),
    ]);
    let err = resolve("main", &env, None).expect_err("incomplete");
    assert_clean("incomplete environment error", &shown(&err));
}

/// aliyun CLI configurations that must all be refused before any call is made, each holding
/// the canary somewhere.
fn malformed_configs() -> Vec<(&'static str, String)> {
    let profile = |body: &str| format!(r#"{{"current": "main", "profiles": [{body}]}}"#);
    vec![
        (
            "truncated inside the secret",
            format!(
                r#"{{"current": "main", "profiles": [{{"name": "main", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}"#
            ),
        ),
        (
            "secret written as a number",
            profile(&format!(
                r#"{{"name": "main", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": {CANARY_DIGITS}}}"#
            )),
        ),
        (
            "secret where a list belongs",
            format!(r#"{{"current": "main", "profiles": "{CANARY}"}}"#),
        ),
        (
            "secret as the profile name's type error",
            profile(&format!(
                r#"{{"name": ["{CANARY}"], "access_key_secret": "{CANARY}"}}"#
            )),
        ),
        (
            "secret as the mode",
            profile(&format!(
                r#"{{"name": "main", "mode": {CANARY_DIGITS}, "access_key_secret": "{CANARY}"}}"#
            )),
        ),
        (
            "unsupported mode",
            profile(&format!(
                r#"{{"name": "main", "mode": "RamRoleArn", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}", "sts_token": "{CANARY_TOKEN}"}}"#
            )),
        ),
        (
            "no access key id",
            profile(&format!(
                r#"{{"name": "main", "mode": "AK", "access_key_secret": "{CANARY}"}}"#
            )),
        ),
        (
            "STS without its token",
            profile(&format!(
                r#"{{"name": "main", "mode": "StsToken", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}"}}"#
            )),
        ),
        (
            "token where the secret belongs, wrong type",
            profile(&format!(
                r#"{{"name": "main", "mode": "StsToken", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}", "sts_token": {{"v": "{CANARY_TOKEN}"}}}}"#
            )),
        ),
        (
            "secret in a control character error",
            profile(&format!(
                "{{\"name\": \"main\", \"access_key_id\": \"LTAIx\", \"access_key_secret\": \"{CANARY}\u{1}\"}}"
            )),
        ),
        (
            "duplicate secret",
            profile(&format!(
                r#"{{"name": "main", "access_key_secret": "{CANARY}", "access_key_secret": "{CANARY}"}}"#
            )),
        ),
    ]
}

#[test]
fn malformed_aliyun_profiles_fail_without_printing_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    // The environment holds canaries too: resolving must not fall back to it and print it.
    let env = env_of(&[(credentials::ENV_ACCESS_KEY_SECRET, CANARY)]);
    for (case, text) in malformed_configs() {
        std::fs::write(&path, &text).expect("write");
        let err = resolve("main", &env, Some(&path)).expect_err(case);
        assert_clean(case, &shown(&err));
        let err = Credentials::from_aliyun_profile(&path, Some("main")).expect_err(case);
        assert_clean(case, &shown(&err));
        let err = Credentials::from_aliyun_profile(&path, None).expect_err(case);
        assert_clean(case, &shown(&err));
    }
}

#[test]
fn a_missing_profile_lists_names_not_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"current": "other", "profiles": [{{"name": "other", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}"}}]}}"#
        ),
    )
    .expect("write");
    let err = Credentials::from_aliyun_profile(&path, Some("main")).expect_err("missing");
    let text = shown(&err);
    assert!(text.contains("other"), "{text}");
    assert_clean("missing profile", &text);
    let err = resolve("main", &|_| None, Some(Path::new(&path))).expect_err("no credentials");
    assert_clean("no credentials", &shown(&err));
}

/// The credential chain's sources (RAM role, OIDC, ECS role) and the cache holding them:
/// their `Debug`, their descriptions and every error of fetching (an STS endpoint nobody
/// listens on, an unreadable token file) show no secret and no OIDC token; malformed
/// configurations refused by the chain show none either.
#[tokio::test]
async fn credential_chain_sources_and_errors_never_print_secrets_or_tokens() {
    use std::sync::Arc;

    use flinkform_alicloud::credentials::{CredentialCache, ManualClock, chain};

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("header.{CANARY_TOKEN}.sig")).expect("token");
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"current": "role", "profiles": [
              {{"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIx", "access_key_secret": "{CANARY}", "ram_role_arn": "acs:ram::1:role/r", "policy": "{{}}"}},
              {{"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1:role/r", "oidc_provider_arn": "acs:ram::1:oidc-provider/p", "oidc_token_file": "{}"}},
              {{"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "r"}}]}}"#,
            token_file.display()
        ),
    )
    .expect("write");
    let endpoint = format!("http://127.0.0.1:{port}");
    for profile in ["role", "oidc", "ecs"] {
        let env = env_of(&[
            ("ALIBABA_CLOUD_PROFILE", profile),
            ("ALIBABA_CLOUD_STS_ENDPOINT", &endpoint),
            ("ALIBABA_CLOUD_IMDS_ENDPOINT", &endpoint),
            (credentials::ENV_SECURITY_TOKEN, CANARY_TOKEN),
        ]);
        let source = chain("main", &env, Some(&path)).expect(profile);
        assert_clean("Source Debug", &format!("{source:?} {source:#?}"));
        assert_clean("Source description", &source.describe());
        let cache = CredentialCache::new(
            source,
            Endpoints::Real,
            ClientOptions::default(),
            Arc::new(ManualClock::new()),
        );
        assert_clean("CredentialCache Debug", &format!("{cache:?}"));
        let err = cache.get().await.expect_err("nothing listens");
        assert_clean(profile, &shown(&err));
        let client = Client::with_cache(
            Endpoints::Override(endpoint.clone()),
            Arc::new(cache),
            ClientOptions::default(),
        )
        .expect("client");
        assert_clean("Client Debug", &format!("{client:?}"));
    }

    // A token file that cannot be read.
    let env = env_of(&[
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/r"),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1:oidc-provider/p",
        ),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/nonexistent/token"),
        (credentials::ENV_ACCESS_KEY_SECRET, CANARY),
    ]);
    let err = chain("main", &env, Some(&path)).expect_err("half the access key");
    assert_clean("half the access key", &shown(&err));

    // Malformed configurations refused by the chain too.
    let env = env_of(&[(credentials::ENV_ACCESS_KEY_SECRET, CANARY)]);
    for (case, text) in malformed_configs() {
        std::fs::write(&path, &text).expect("write");
        if let Err(err) = chain("main", &env, Some(&path)) {
            assert_clean(case, &shown(&err));
        }
    }
}
