//! Pipeline credentials end to end: the real binary with `--cloud alibaba`, every request
//! sent to an emulator in this process (`FLINKFORM_ENDPOINT`), authenticating the way CI
//! systems do: a RAM role assumed with AccessKeys, an OIDC token file (GitHub Actions, ACK
//! RRSA), the ECS instance's RAM role; temporary credentials refreshed during a long apply;
//! and errors that name the unreachable host and the profile.

use flinkform_cloudsim::{FaultPlan, World};

use crate::crash::Emulator;
use crate::harness::{Run, Sandbox};

/// Cloud seconds per wall-clock second for the emulator of most tests: a workspace is
/// ready in 150-300 ms, 900-second STS credentials last 450 ms.
const SCALE: f64 = 2_000.0;
/// The time scale the binary is told (`--sim-time-scale`): ten times the emulator's, so
/// that it refreshes credentials well before the emulator would refuse them, however slow
/// a loaded machine makes one request.
const CLIENT_SCALE: f64 = 20_000.0;

struct Cloud {
    sb: Sandbox,
    emu: Emulator,
    uid: String,
    keys: (String, String),
}

/// A world with account `main`, role `deployer` (trusting `main` and the OIDC provider
/// `github`), that provider, and `deployer` attached to the emulated ECS instance.
fn cloud(scale: f64) -> Cloud {
    let sb = Sandbox::new();
    let mut world = World::new(11);
    world.set_time_scale(scale).expect("scale");
    let keys = world.ensure_account("main");
    let uid = keys.uid.clone();
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{uid}:root"],"Federated":["acs:ram::{uid}:oidc-provider/github"]}}}}]}}"#
    );
    world
        .console_create_role("main", "deployer", &trust)
        .expect("role");
    world
        .console_create_oidc_provider(
            "main",
            "github",
            "https://token.actions.githubusercontent.com",
            &["sts.aliyuncs.com".to_owned()],
        )
        .expect("provider");
    world
        .console_attach_instance_role("main", "deployer")
        .expect("instance role");
    let emu = Emulator::start_world(&sb, world, FaultPlan::default(), None);
    Cloud {
        sb,
        emu,
        uid,
        keys: (keys.access_key_id, keys.access_key_secret),
    }
}

impl Cloud {
    fn role_arn(&self) -> String {
        format!("acs:ram::{}:role/deployer", self.uid)
    }

    /// `flinkform ARGS --cloud alibaba` against the emulator, with `vars` set.
    fn run(&self, args: &[&str], vars: &[(&str, String)], scale: f64) -> Run {
        let mut all = args.to_vec();
        all.extend(["--cloud", "alibaba"]);
        let mut cmd = self.sb.command(&all);
        cmd.env("FLINKFORM_ENDPOINT", self.emu.endpoint())
            .env("FLINKFORM_SIM_TIME_SCALE", scale.to_string());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run flinkform");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ram_role_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", self.keys.0.clone()),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", self.keys.1.clone()),
            ("ALIBABA_CLOUD_ROLE_ARN", self.role_arn()),
            ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "e2e".to_owned()),
            ("ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION", "900".to_owned()),
        ]
    }

    /// apply converges, the next plan is empty, nothing was refused as expired.
    fn converges(&self, vars: &[(&str, String)], scale: f64) -> Run {
        let run = self
            .run(
                &["apply", "--auto-approve", "examples/quickstart.yaml"],
                vars,
                scale,
            )
            .expect(0);
        self.run(
            &["plan", "--detailed-exitcode", "examples/quickstart.yaml"],
            vars,
            scale,
        )
        .expect(0);
        let world = self.emu.world();
        assert_eq!(world.summary()["main"].instances, 1);
        assert_eq!(world.expired_token_refusals(), 0);
        run
    }
}

/// Every secret and token the emulator's STS issued (from the world's JSON).
fn issued_secrets(world: &World) -> Vec<String> {
    let json = serde_json::to_value(world).expect("world json");
    let sessions = json["sts_sessions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    sessions
        .values()
        .flat_map(|s| {
            [s["secret"].as_str(), s["token"].as_str()]
                .into_iter()
                .flatten()
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn apply_with_a_ram_role_assumed_from_access_keys() {
    let c = cloud(SCALE);
    let mut vars = c.ram_role_vars();
    vars.push(("FLINKFORM_LOG", "trace".to_owned()));
    let run = c.converges(&vars, CLIENT_SCALE);
    let secrets = issued_secrets(&c.emu.world());
    assert!(!secrets.is_empty());
    let state = std::fs::read_to_string(c.sb.path().join(".flinkform/state.json")).expect("state");
    for secret in &secrets {
        assert!(
            !run.stderr.contains(secret.as_str()) && !run.stdout.contains(secret.as_str()),
            "an STS secret or token reached the output (trace logs)"
        );
        assert!(
            !state.contains(secret.as_str()),
            "an STS secret is in the state"
        );
    }
    assert!(
        run.stderr
            .contains("account `main`: credentials from environment, RamRoleArn"),
        "{}",
        run.stderr
    );
    assert!(
        c.emu
            .world()
            .calls()
            .get("AssumeRole")
            .copied()
            .unwrap_or(0)
            >= 2,
        "one AssumeRole per run at least"
    );
    // The state records the real cloud's target, and no secret.
    let state = std::fs::read_to_string(c.sb.path().join(".flinkform/state.json")).expect("state");
    assert!(state.contains("alibaba"), "{state}");
    assert!(
        !state.contains(&c.keys.1),
        "the AccessKey secret is not in the state"
    );
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

#[test]
fn apply_with_an_oidc_token_file() {
    let c = cloud(SCALE);
    let token = jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.aliyuncs.com",
        "sub": "repo:acme/flink:ref:refs/heads/main",
        "exp": chrono::Utc::now().timestamp() + 3600,
    }));
    c.sb.write("oidc-token", &token);
    let vars = vec![
        ("ALIBABA_CLOUD_ROLE_ARN", c.role_arn()),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            format!("acs:ram::{}:oidc-provider/github", c.uid),
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            c.sb.path().join("oidc-token").display().to_string(),
        ),
        ("FLINKFORM_LOG", "trace".to_owned()),
    ];
    let run = c.converges(&vars, CLIENT_SCALE);
    assert!(run.stderr.contains("environment, OIDC"), "{}", run.stderr);
    assert!(
        c.emu
            .world()
            .calls()
            .get("AssumeRoleWithOIDC")
            .copied()
            .unwrap_or(0)
            >= 2,
        "{:?}",
        c.emu.world().calls()
    );
    assert!(
        !run.stderr.contains(&token),
        "the OIDC token never reaches the logs"
    );
}

#[test]
fn apply_with_the_ecs_instance_role() {
    let c = cloud(SCALE);
    let vars = vec![
        ("ALIBABA_CLOUD_IMDS_ENDPOINT", c.emu.endpoint()),
        ("ALIBABA_CLOUD_ECS_METADATA", "deployer".to_owned()),
    ];
    let run = c.converges(&vars, CLIENT_SCALE);
    assert!(
        run.stderr.contains("environment, EcsRamRole"),
        "{}",
        run.stderr
    );
}

/// The emulator's clock runs 600 times the wall clock: its 900-second credentials expire
/// after 1.5 wall seconds, and the workspace takes 0.5-1 wall seconds to be ready. The
/// client is told its clock runs 6000 times faster (`--sim-time-scale`), so it judges the
/// credentials due for refresh every ~0.1 wall seconds, long before the emulator would
/// refuse them: the apply must assume the role again mid-run, and no request may be refused
/// as expired.
#[test]
fn credentials_that_expire_mid_apply_are_refreshed_in_time() {
    let c = cloud(600.0);
    c.run(
        &["apply", "--auto-approve", "examples/quickstart.yaml"],
        &c.ram_role_vars(),
        6000.0,
    )
    .expect(0);
    let world = c.emu.world();
    let assumed = world.calls().get("AssumeRole").copied().unwrap_or(0);
    assert!(
        assumed >= 2,
        "refreshed during the apply: {assumed} AssumeRole"
    );
    assert_eq!(
        world.expired_token_refusals(),
        0,
        "no request was refused with expired credentials"
    );
    assert_eq!(world.summary()["main"].instances, 1);
}

/// An error report's words: the report wraps long lines (`|` continues them).
fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn an_unreachable_sts_endpoint_is_named_with_the_profile() {
    let c = cloud(SCALE);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    c.sb.write(
        ".aliyun/config.json",
        &format!(
            r#"{{"current":"ci","profiles":[{{"name":"ci","mode":"RamRoleArn","access_key_id":"{}","access_key_secret":"{}","ram_role_arn":"{}","ram_session_name":"ci"}}]}}"#,
            c.keys.0,
            c.keys.1,
            c.role_arn()
        ),
    );
    let vars = vec![
        ("ALIBABA_CLOUD_PROFILE", "ci".to_owned()),
        (
            "ALIBABA_CLOUD_STS_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
    ];
    let run = c
        .run(&["plan", "examples/quickstart.yaml"], &vars, CLIENT_SCALE)
        .expect(1);
    let stderr = flat(&run.stderr);
    assert!(
        stderr.contains(&format!("cannot reach http://127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("profile `ci`"), "{stderr}");
    assert!(stderr.contains("ALIBABA_CLOUD_STS_ENDPOINT"), "{stderr}");
    assert!(!stderr.contains(&c.keys.1), "{stderr}");

    // The OpenAPI endpoint itself unreachable: the address, the real host it stands for
    // and where the credentials come from.
    let out =
        c.sb.command(&["plan", "--cloud", "alibaba", "examples/quickstart.yaml"])
            .env("FLINKFORM_ENDPOINT", format!("http://127.0.0.1:{port}"))
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &c.keys.0)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &c.keys.1)
            .output()
            .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stderr = flat(&stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach 127.0.0.1:{port} for sts.aliyuncs.com (credentials: environment, AK)"
        )),
        "{stderr}"
    );

    // A role that does not trust the caller: STS's refusal, the role and what to check.
    let vars = vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", c.keys.0.clone()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", c.keys.1.clone()),
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            format!("acs:ram::{}:role/nobody", c.uid),
        ),
    ];
    let run = c
        .run(&["plan", "examples/quickstart.yaml"], &vars, CLIENT_SCALE)
        .expect(1);
    let stderr = flat(&run.stderr);
    assert!(
        stderr.contains("STS AssumeRole at sts.aliyuncs.com"),
        "{stderr}"
    );
    assert!(stderr.contains("EntityNotExist.Role"), "{stderr}");
    assert!(stderr.contains("account `main`"), "{stderr}");
}

/// `sim console` sets up what the credential sources need (a role trusting the account and
/// an OIDC provider, the provider, the instance role), and an OIDC apply then works against
/// that world.
#[test]
fn sim_console_prepares_roles_and_oidc_providers() {
    let sb = Sandbox::new();
    sb.run(&["sim", "console", "create-account", "main"])
        .expect(0);
    let provider = sb
        .run(&[
            "sim",
            "console",
            "create-oidc-provider",
            "github",
            "--issuer-url",
            "https://token.actions.githubusercontent.com",
            "--client-id",
            "sts.aliyuncs.com",
        ])
        .expect(0);
    let provider_arn = provider.stdout.trim().to_owned();
    assert!(
        provider_arn.ends_with(":oidc-provider/github"),
        "{provider_arn}"
    );
    let role = sb
        .run(&[
            "sim",
            "console",
            "create-role",
            "deployer",
            "--trust-oidc",
            "github",
        ])
        .expect(0);
    let role_arn = role.stdout.trim().to_owned();
    assert!(role_arn.ends_with(":role/deployer"), "{role_arn}");
    sb.run(&["sim", "console", "attach-instance-role", "deployer"])
        .expect(0);
    sb.run(&["sim", "console", "attach-instance-role", "nobody"])
        .expect(1);

    let mut world = sb.world();
    world.set_time_scale(SCALE).expect("scale");
    let emu = Emulator::start_world(&sb, world, FaultPlan::default(), None);
    let token = jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.aliyuncs.com",
        "exp": chrono::Utc::now().timestamp() + 3600,
    }));
    sb.write("oidc-token", &token);
    let out = sb
        .command(&[
            "apply",
            "--auto-approve",
            "--cloud",
            "alibaba",
            "examples/quickstart.yaml",
        ])
        .env("FLINKFORM_ENDPOINT", emu.endpoint())
        .env("FLINKFORM_SIM_TIME_SCALE", CLIENT_SCALE.to_string())
        .env("ALIBABA_CLOUD_ROLE_ARN", &role_arn)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", &provider_arn)
        .env(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            sb.path().join("oidc-token"),
        )
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emu.world().summary()["main"].instances, 1);
}
