//! Secrets canary: credentials never leave the place they are kept. Every command of a whole
//! lifecycle (two accounts, Flink workspaces and a Marketplace subscription whose Billing
//! Center password is a `{ file: ... }` reference) runs with `FLINKFORM_LOG=trace`, and the
//! emulator accounts' AccessKey secrets, the emulated vendor's keys and the canary password
//! must then appear in no output (stdout, stderr with every log line, error messages) and in
//! no file the binary wrote, except the emulator's own world file (the cloud's database
//! legitimately holds the keys) and the password file itself. With `--cloud alibaba`, canary
//! secrets in the environment and in malformed aliyun CLI profiles must not appear in the
//! errors either (those runs fail before any network call). The `{ env: ... }` reference is
//! covered the same way by `marketplace.rs`.

use std::path::{Path, PathBuf};

use crate::harness::{Run, Sandbox};

/// A second workspace in a second account, so that two accounts' keys are in play.
const OTHER_ACCOUNT: &str = "\
apiVersion: flinkform/v1
kind: FlinkWorkspace
metadata:
  name: other-ws
spec:
  account: other
  region: ap-southeast-1
  zone: ap-southeast-1a
  billing:
    method: pay-as-you-go
  network:
    vpc: { create: { cidr: 10.20.0.0/16 } }
    vSwitches:
      - { create: { cidr: 10.20.1.0/24 } }
  storage:
    ossBucket: { name: other-ws-flink-canary }
  projects:
    - { name: etl }
  protect: false
";

/// A Marketplace subscription whose password is read from a file.
const MARKET: &str = "\
apiVersion: flinkform/v1
kind: MarketplaceSubscription
metadata:
  name: canary
spec:
  account: main
  product:
    code: cmgj00053362
    packageVersion: yuncode5336200001
    billing: { method: pay-as-you-go }
  billingCenter:
    site: intl
    account:
      mode: register
      username: canary-ops
      email: canary-ops@example.com
      password: { file: bc-password.txt }
      company: { name: Example Ltd, country: Singapore }
  workspace:
    name: canary-observability
    language: en
    mode: create
  protect: false
";

/// The Billing Center password, kept in `bc-password.txt`.
const CANARY_PASSWORD: &str = "CANARYpassword3e1d9f77";

/// Runs `flinkform ARGS` in the sandbox (as the harness does) with trace logging, without
/// any STS token from the environment, and with the extra environment `env`.
fn run_traced(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = sb.command(args);
    cmd.env("FLINKFORM_LOG", "trace")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run flinkform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Everything the runs printed, labelled by command.
#[derive(Default)]
struct Transcript {
    outputs: Vec<(String, String)>,
}

impl Transcript {
    /// Runs a command, checks its exit code and keeps its output.
    #[track_caller]
    fn run(&mut self, sb: &Sandbox, args: &[&str], env: &[(&str, &str)], code: i32) -> Run {
        let run = run_traced(sb, args, env).expect(code);
        let label = args.join(" ");
        self.outputs
            .push((format!("stdout of `{label}`"), run.stdout.clone()));
        self.outputs
            .push((format!("stderr of `{label}`"), run.stderr.clone()));
        run
    }
}

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Asserts that no output and no file of the sandbox (but the files `skip` accepts) holds
/// any of `secrets`; returns how many texts were searched.
#[track_caller]
fn assert_nowhere(
    sb: &Sandbox,
    transcript: &Transcript,
    secrets: &[String],
    skip: &dyn Fn(&Path) -> bool,
) -> usize {
    let mut texts: Vec<(String, String)> = transcript.outputs.clone();
    for path in files_under(sb.path()) {
        if skip(&path) {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        texts.push((
            format!("file {}", path.display()),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for secret in secrets {
        assert!(secret.len() >= 8, "canary `{secret}` is too short to test");
        for (what, text) in &texts {
            assert!(
                !text.contains(secret.as_str()),
                "{what} holds the secret `{secret}`:\n{text}"
            );
        }
    }
    texts.len()
}

fn is_world_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("sim-world"))
}

#[test]
fn emulator_secrets_appear_in_no_output_state_or_log() {
    let sb = Sandbox::new();
    sb.write("other.yaml", OTHER_ACCOUNT);
    sb.write("market.yaml", MARKET);
    sb.write("bc-password.txt", CANARY_PASSWORD);
    let mut t = Transcript::default();
    let quick = "examples/quickstart.yaml";
    let sub = "examples/subscription.yaml";
    let two = [quick, "other.yaml"];
    // A stack is the files given: later applies add the subscription and the Marketplace.
    let all = [quick, sub, "other.yaml", "market.yaml"];
    fn with<'a>(head: &[&'a str], files: &[&'a str]) -> Vec<&'a str> {
        head.iter().chain(files).copied().collect()
    }

    t.run(&sb, &with(&["validate"], &all), &[], 0);
    t.run(&sb, &with(&["plan", "--json"], &two), &[], 0);
    let applied = t.run(&sb, &with(&["apply", "--auto-approve"], &two), &[], 0);
    assert!(
        applied.stderr.contains("TRACE") || applied.stderr.contains("DEBUG"),
        "trace logging must be on for this test to mean anything:\n{}",
        applied.stderr
    );
    t.run(&sb, &with(&["plan", "--json"], &all), &[], 0);
    // The Marketplace subscription stops at its e-mail gate (exit 3) and resumes with the
    // code from the emulator's outbox.
    t.run(&sb, &with(&["apply", "--auto-approve"], &all), &[], 3);
    let outbox = t.run(&sb, &["sim", "outbox", "--json"], &[], 0);
    let messages: serde_json::Value = serde_json::from_str(&outbox.stdout).expect("outbox");
    let code = messages
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["code"].as_str())
        .expect("a verification code")
        .to_owned();
    let input = format!("verify-email.canary={code}");
    t.run(
        &sb,
        &with(
            &["apply", "--auto-approve", "--input", input.as_str()],
            &all,
        ),
        &[],
        0,
    );
    t.run(&sb, &with(&["plan", "--json"], &all), &[], 0);
    t.run(&sb, &with(&["plan", "--detailed-exitcode"], &all), &[], 0);
    t.run(&sb, &with(&["graph"], &all), &[], 0);
    t.run(&sb, &["state", "list"], &[], 0);
    for addr in [
        "flink_workspace.quickstart",
        "ram_role.other",
        "billing_account.canary",
    ] {
        t.run(&sb, &["state", "show", addr], &[], 0);
    }
    // Import into a second state: another stack's VPC is refused, then taken with --force
    // (read only; the plan it shows fails on the workspace and bucket of the first stack).
    let vpc = t.run(&sb, &["state", "show", "vpc.quickstart"], &[], 0);
    let vpc: serde_json::Value = serde_json::from_str(&vpc.stdout).expect("resource JSON");
    let vpc_id = vpc["cloud_id"].as_str().expect("cloud id").to_owned();
    let import = ["--state", "imported.json", "import"];
    t.run(
        &sb,
        &with(&import, &["vpc.quickstart", vpc_id.as_str(), quick]),
        &[],
        1,
    );
    t.run(
        &sb,
        &with(
            &import,
            &["--force", "vpc.quickstart", vpc_id.as_str(), quick],
        ),
        &[],
        0,
    );

    // Drift made in the console, reported in both formats, then repaired.
    t.run(
        &sb,
        &["sim", "console", "delete-project", "quickstart", "etl"],
        &[],
        0,
    );
    t.run(&sb, &with(&["drift"], &all), &[], 2);
    t.run(&sb, &with(&["drift", "--json"], &all), &[], 2);
    // Error paths: an unconfirmed apply, a broken spec, an unknown address, a literal
    // password in a spec.
    t.run(&sb, &with(&["apply"], &all), &[], 1);
    t.run(&sb, &with(&["apply", "--auto-approve"], &all), &[], 0);
    sb.write(
        "broken.yaml",
        "apiVersion: flinkform/v1\nkind: FlinkWorkspace\n",
    );
    t.run(&sb, &["plan", "broken.yaml"], &[], 1);
    t.run(&sb, &["state", "show", "vpc.nope"], &[], 1);
    sb.write(
        "literal.yaml",
        &MARKET.replace("{ file: bc-password.txt }", CANARY_PASSWORD),
    );
    t.run(&sb, &["validate", "literal.yaml"], &[], 1);
    std::fs::remove_file(sb.path().join("literal.yaml")).expect("rm");

    t.run(&sb, &["destroy", "--auto-approve"], &[], 0);

    // The secrets, read from the emulator's own database.
    let mut world = sb.world();
    let accounts: Vec<String> = world.summary().into_keys().collect();
    assert!(
        accounts.contains(&"main".to_owned()) && accounts.contains(&"other".to_owned()),
        "both accounts exist: {accounts:?}"
    );
    let mut secrets: Vec<String> = accounts
        .iter()
        .map(|a| world.clone().ensure_account(a).access_key_secret)
        .collect();
    // The world file does hold them, so the search below is not vacuous.
    let world_text =
        std::fs::read_to_string(sb.path().join(".flinkform/sim-world.json")).expect("world");
    for s in &secrets {
        assert!(world_text.contains(s.as_str()), "world file holds `{s}`");
    }
    secrets.push(world.vendor_connector_key());
    secrets.push(world.vendor_spi_key());
    secrets.push(CANARY_PASSWORD.to_owned());
    assert!(
        sb.path().join(".flinkform/state.json").is_file(),
        "the state file is searched"
    );
    assert!(
        t.outputs
            .iter()
            .any(|(_, o)| o.contains("file:bc-password.txt")),
        "the reference itself is shown"
    );

    let skip = |p: &Path| is_world_file(p) || p.ends_with("bc-password.txt");
    let searched = assert_nowhere(&sb, &t, &secrets, &skip);
    assert!(searched > 40, "searched only {searched} texts");
}

const CANARY_SECRET: &str = "CANARYsecretE2e4f1a9b3c";
const CANARY_TOKEN: &str = "CANARYtokenE2e8d7c6b5a";
const CANARY_DIGITS: &str = "918273645546372819";

/// aliyun CLI configurations that must be refused before any call, each holding a canary.
fn malformed_aliyun_configs() -> Vec<(&'static str, String)> {
    let profile = |body: String| format!(r#"{{"current": "main", "profiles": [{body}]}}"#);
    vec![
        (
            "truncated",
            format!(
                r#"{{"current": "main", "profiles": [{{"name": "main", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": "{CANARY_SECRET}"#
            ),
        ),
        (
            "numeric secret",
            profile(format!(
                r#"{{"name": "main", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": {CANARY_DIGITS}}}"#
            )),
        ),
        (
            "profiles is a string",
            format!(r#"{{"current": "main", "profiles": "{CANARY_SECRET}"}}"#),
        ),
        (
            "unsupported mode",
            profile(format!(
                r#"{{"name": "main", "mode": "RamRoleArn", "access_key_id": "LTAIx", "access_key_secret": "{CANARY_SECRET}", "sts_token": "{CANARY_TOKEN}"}}"#
            )),
        ),
        (
            "no access key id",
            profile(format!(
                r#"{{"name": "main", "mode": "AK", "access_key_secret": "{CANARY_SECRET}"}}"#
            )),
        ),
        (
            "STS without a token",
            profile(format!(
                r#"{{"name": "main", "mode": "StsToken", "access_key_id": "LTAIx", "access_key_secret": "{CANARY_SECRET}"}}"#
            )),
        ),
    ]
}

#[test]
fn alibaba_credential_errors_do_not_print_the_secret() {
    let sb = Sandbox::new();
    let mut t = Transcript::default();
    let quick = "examples/quickstart.yaml";
    // Should anything try the network after all, it meets a closed loopback port.
    let no_net = [
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("HTTP_PROXY", "http://127.0.0.1:9"),
        ("ALL_PROXY", "http://127.0.0.1:9"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = no_net.to_vec();
        env.extend_from_slice(extra);
        env
    };

    // Only the secret (and a token) in the environment: refused, naming the variables.
    let env = with(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", CANARY_SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", CANARY_TOKEN),
    ]);
    let run = t.run(&sb, &["plan", "--cloud", "alibaba", quick], &env, 1);
    assert!(
        run.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        "{}",
        run.stderr
    );

    // Malformed aliyun CLI profiles, with a canary in the environment as well.
    let env = with(&[("ALIBABA_CLOUD_ACCESS_KEY_SECRET", CANARY_SECRET)]);
    for (case, text) in malformed_aliyun_configs() {
        sb.write(".aliyun/config.json", &text);
        let run = t.run(&sb, &["plan", "--cloud", "alibaba", quick], &env, 1);
        assert!(
            run.stderr.contains("credentials") || run.stderr.contains("profile"),
            "{case}: the error is about credentials:\n{}",
            run.stderr
        );
        t.run(
            &sb,
            &["apply", "--cloud", "alibaba", "--auto-approve", quick],
            &env,
            1,
        );
    }

    assert!(
        !sb.path().join(".flinkform/state.json").exists(),
        "no state is written when credentials are refused"
    );
    let secrets = [
        CANARY_SECRET.to_owned(),
        CANARY_TOKEN.to_owned(),
        CANARY_DIGITS.to_owned(),
    ];
    // The aliyun configuration is where the canaries were put.
    let searched = assert_nowhere(&sb, &t, &secrets, &|p| p.ends_with(".aliyun/config.json"));
    assert!(searched >= 26, "searched only {searched} texts");
}
