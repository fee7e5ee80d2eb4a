//! Saved plans: `plan -out FILE` → `apply FILE` converges; a plan file made before a console
//! change, another apply or a spec edit is refused with exit 1 naming what changed; `show
//! FILE`; and a plan file holds no secret.

use crate::harness::{Run, Sandbox};

const QUICKSTART: &str = "examples/quickstart.yaml";

/// Error output with miette's line wrapping undone (words joined by single spaces).
pub(crate) fn flat(s: &str) -> String {
    s.split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

fn plan_out(sb: &Sandbox, spec: &str) -> Run {
    let run = sb.run(&["plan", "-out", "plan.json", spec]).expect(0);
    assert!(
        sb.path().join("plan.json").is_file(),
        "no plan file: {}",
        run.stderr
    );
    run
}

#[test]
fn plan_out_then_apply_file_converges_and_the_file_cannot_be_applied_twice() {
    let sb = Sandbox::new();
    let plan = plan_out(&sb, QUICKSTART);
    assert!(
        plan.stdout
            .contains("Plan: 8 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let bytes = std::fs::read_to_string(sb.path().join("plan.json")).expect("plan file");
    let json: serde_json::Value = serde_json::from_str(&bytes).expect("plan file is JSON");
    assert_eq!(json["format"], "flinkform-plan");
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["specs"][0]["path"], QUICKSTART);
    assert_eq!(json["state"]["serial"], 0);

    // `show` prints it as text and as the plan JSON with the file's metadata.
    let text = sb.run(&["show", "plan.json"]).expect(0);
    assert!(
        text.stdout
            .contains("Plan: 8 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        text.stdout
    );
    let shown = sb.run(&["show", "--json", "plan.json"]).expect(0);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).expect("show --json");
    assert_eq!(shown["plan_file"]["format_version"], 2);
    assert_eq!(shown["plan_file"]["specs"][0]["path"], QUICKSTART);
    assert_eq!(
        shown["format_version"],
        serde_json::from_str::<serde_json::Value>(
            &sb.run(&["plan", "--json", QUICKSTART]).expect(0).stdout
        )
        .expect("plan --json")["format_version"],
        "show --json is the plan JSON of specs/plan-json.md"
    );
    let md = sb.run(&["show", "--format", "md", "plan.json"]).expect(0);
    assert!(
        md.stdout
            .contains("| <code>+</code> | <code>flink\\_workspace.quickstart</code> | create |"),
        "{}",
        md.stdout
    );

    // Applied without a confirmation prompt (the plan was reviewed when it was made).
    let apply = sb.run(&["apply", "plan.json"]).expect(0);
    assert!(
        apply.stdout.contains("Apply complete: 8 added"),
        "{}",
        apply.stdout
    );
    let next = sb
        .run(&["plan", "--detailed-exitcode", QUICKSTART])
        .expect(0);
    assert!(next.stdout.contains("No changes."), "{}", next.stdout);
    // The resources carry the ownership mark of the plan's lineage, which the state took.
    assert_eq!(sb.state()["lineage"], json["state"]["lineage"]);

    // The same file again: the state moved on.
    let again = sb.run(&["apply", "plan.json"]).expect(1);
    assert!(
        flat(&again.stderr).contains("the state changed since the plan was made")
            && flat(&again.stderr).contains("another apply ran"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_console_change_after_the_plan_makes_apply_file_refuse_naming_the_attribute() {
    let sb = Sandbox::new();
    sb.run(&["apply", "--auto-approve", "examples/subscription.yaml"])
        .expect(0);
    let spec = std::fs::read_to_string(sb.path().join("examples/subscription.yaml"))
        .expect("spec")
        .replace("{ name: adhoc, cu: 2 }", "{ name: adhoc, cu: 3 }");
    sb.write("examples/subscription.yaml", &spec);
    let plan = plan_out(&sb, "examples/subscription.yaml");
    assert!(plan.stdout.contains("to change"), "{}", plan.stdout);
    sb.run(&["sim", "console", "set-quota", "analytics-sub", "20"])
        .expect(0);
    let serial = sb.state()["serial"].clone();
    let refused = sb.run(&["apply", "plan.json"]).expect(1);
    assert!(
        flat(&refused.stderr).contains(
            "flink_workspace.analytics-sub: cu changed from 16 to 20 outside flinkform since the plan was made"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        flat(&refused.stderr).contains("flinkform plan -out"),
        "{}",
        refused.stderr
    );
    assert_eq!(sb.state()["serial"], serial, "a refused plan wrote state");
    // Nothing was applied: the project still has its old CU.
    let again = sb.run(&["plan", "examples/subscription.yaml"]).expect(0);
    assert!(again.stdout.contains("to change"), "{}", again.stdout);
}

#[test]
fn another_apply_after_the_plan_makes_apply_file_refuse() {
    let sb = Sandbox::new();
    plan_out(&sb, QUICKSTART);
    sb.run(&["apply", "--auto-approve", QUICKSTART]).expect(0);
    let refused = sb.run(&["apply", "plan.json"]).expect(1);
    assert!(
        flat(&refused.stderr)
            .contains("the state was created since the plan was made: another apply ran"),
        "{}",
        refused.stderr
    );
    let planned = sb.run(&["plan", "-out", "plan.json", QUICKSTART]).expect(0);
    assert!(planned.stdout.contains("No changes."), "{}", planned.stdout);
    // A later plan file of the applied state: another apply in between refuses it.
    let spec = std::fs::read_to_string(sb.path().join(QUICKSTART)).expect("spec");
    sb.write(
        "other.yaml",
        &spec.replace("{ name: etl }", "{ name: etl2 }"),
    );
    sb.run(&["plan", "-out", "plan.json", QUICKSTART]).expect(0);
    sb.run(&["apply", "--auto-approve", "other.yaml"]).expect(0);
    let refused = sb.run(&["apply", "plan.json"]).expect(1);
    assert!(
        flat(&refused.stderr).contains("another apply ran"),
        "{}",
        refused.stderr
    );
}

#[test]
fn an_edited_spec_makes_apply_file_refuse_naming_the_file() {
    let sb = Sandbox::new();
    plan_out(&sb, QUICKSTART);
    let spec = std::fs::read_to_string(sb.path().join(QUICKSTART)).expect("spec");
    sb.write(QUICKSTART, &format!("{spec}\n# edited after the plan\n"));
    let refused = sb.run(&["apply", "plan.json"]).expect(1);
    assert!(
        flat(&refused.stderr).contains(&format!(
            "spec file `{QUICKSTART}` was edited since the plan was made"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        !sb.path().join(".flinkform/state.json").exists(),
        "a refused plan wrote state"
    );
}

#[test]
fn safety_flags_belong_to_the_plan_not_to_apply_file() {
    let sb = Sandbox::new();
    plan_out(&sb, QUICKSTART);
    let run = sb
        .run(&[
            "apply",
            "--allow-destroy",
            "oss_bucket.quickstart",
            "plan.json",
        ])
        .expect(1);
    assert!(
        flat(&run.stderr).contains("decided when the plan is made"),
        "{}",
        run.stderr
    );
    let shown = sb.run(&["show", "--json", "plan.json"]).expect(0);
    assert!(
        shown.stdout.contains("\"allow_destroy\": []"),
        "{}",
        shown.stdout
    );
}

/// A Marketplace subscription that registers a Billing Center account with a password from
/// the environment.
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
      password: { env: BC_PASSWORD }
      company: { name: Example Ltd, country: Singapore }
  workspace:
    name: canary-observability
    language: en
    mode: create
  protect: false
";

#[test]
fn a_plan_file_holds_no_secret() {
    const PASSWORD: &str = "CANARYplanfilePW9d2c";
    const KEY_SECRET: &str = "CANARYplanfileAKsecret71b0";
    const TOKEN: &str = "CANARYplanfileSTStoken44e1";
    let sb = Sandbox::new();
    sb.write("market.yaml", MARKET);
    let mut cmd = sb.command(&["plan", "-out", "plan.json", QUICKSTART, "market.yaml"]);
    cmd.env("BC_PASSWORD", PASSWORD)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN);
    let out = cmd.output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(sb.path().join("plan.json")).expect("plan file");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("env:BC_PASSWORD"),
        "the plan keeps the reference"
    );
    let world = sb.world();
    let mut secrets: Vec<String> = vec![PASSWORD.into(), KEY_SECRET.into(), TOKEN.into()];
    for account in world.summary().into_keys() {
        let keys = world.clone().ensure_account(&account);
        secrets.push(keys.access_key_secret);
    }
    secrets.push(world.clone().vendor_connector_key());
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "the plan file holds a secret");
    }
}
