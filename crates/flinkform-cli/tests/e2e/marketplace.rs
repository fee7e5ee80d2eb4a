//! Marketplace subscriptions end to end: the register and bind paths of the Billing Center
//! account, the create and bind paths of the vendor workspace, the e-mail verification gate
//! (apply pauses with exit code 3, the rest of the graph completes, `--input` resumes and
//! converges), manual mode, drift and destroy, one order after a lost `CreateOrder`
//! response, and a secrets canary. Verification is per Alibaba Cloud account: a second
//! account binding a Billing Center account the first one registered waits for its own
//! e-mail code. What the vendor must have (an account to bind, a free username, a workspace
//! to bind) is checked before anything is ordered.

use flinkform_cloudsim::{FaultKind, World};

use crate::harness::{Run, Sandbox};

/// The password the specs reference; it must never show up anywhere.
const CANARY: &str = "canary-pw-7f3e9d1c2b";

fn spec(name: &str, account_mode: &str, ws_mode: &str, ws_name: &str, connector: &str) -> String {
    let secret = if account_mode == "register" {
        "\n      password: { env: BC_PASSWORD }\n      company: { name: Example Ltd }"
    } else {
        ""
    };
    format!(
        "apiVersion: flinkform/v1
kind: MarketplaceSubscription
metadata:
  name: {name}
spec:
  account: main
  product:
    code: cmgj00053362
    packageVersion: yuncode5336200001
    billing: {{ method: pay-as-you-go }}
  billingCenter:
    site: intl
    connector: {connector}
    account:
      mode: {account_mode}
      username: ops-team
      email: ops@example.com{secret}
  workspace:
    name: {ws_name}
    language: en
    mode: {ws_mode}
  protect: false
"
    )
}

/// Runs flinkform with the canary password in the environment.
fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb
        .command(args)
        .env("BC_PASSWORD", CANARY)
        .output()
        .expect("run flinkform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The newest verification code in the emulator's outbox, read through the CLI.
fn latest_code(sb: &Sandbox) -> String {
    let out = run(sb, &["sim", "outbox", "--json"]).expect(0);
    let messages: serde_json::Value = serde_json::from_str(&out.stdout).expect("outbox JSON");
    messages
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["code"].as_str())
        .expect("a code in the outbox")
        .to_owned()
}

/// The names of the gates the state records as waiting.
fn waiting_gates(sb: &Sandbox) -> Vec<String> {
    sb.state()["gates"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Passes every waiting gate of an apply that exited 3 (the newest outbox code for e-mail
/// verification, `done` for manual steps) until apply exits 0; returns every run.
pub(crate) fn apply_through_gates(sb: &Sandbox, path: &str) -> Vec<Run> {
    let mut runs = vec![run(sb, &["apply", "--auto-approve", path])];
    for _ in 0..6 {
        let last = runs.last().expect("a run");
        if last.code != 3 {
            break;
        }
        let inputs: Vec<String> = waiting_gates(sb)
            .into_iter()
            .map(|g| {
                let value = if g.starts_with("verify-email.") {
                    latest_code(sb)
                } else {
                    "done".to_owned()
                };
                format!("{g}={value}")
            })
            .collect();
        assert!(!inputs.is_empty(), "exit 3 without a waiting gate in state");
        let mut args = vec!["apply", "--auto-approve"];
        for i in &inputs {
            args.extend(["--input", i.as_str()]);
        }
        args.push(path);
        runs.push(run(sb, &args));
    }
    runs
}

fn converged(sb: &Sandbox, path: &str) {
    let plan = run(sb, &["plan", "--detailed-exitcode", path]).expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn register_and_create_pause_at_the_gate_then_converge() {
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("observability", "register", "create", "prod-obs", "api"),
    );
    let first = run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(3);
    assert!(
        first.stdout.contains("gate `verify-email.observability`")
            && first
                .stdout
                .contains("--input verify-email.observability=<value>"),
        "{}",
        first.stdout
    );
    // The branch that does not depend on the gate is done: the order and the account.
    let world = sb.world();
    assert_eq!(world.market_orders("main").unwrap(), 1);
    let vendor = world.vendor_summary();
    assert_eq!(vendor.accounts["ops-team"], "pending_verification");
    assert!(vendor.workspaces.is_empty() && vendor.bindings.is_empty());
    assert_eq!(vendor.spi_calls.get("createInstance"), Some(&1));
    assert_eq!(waiting_gates(&sb), ["verify-email.observability"]);
    let state = sb.state();
    let addrs: Vec<&str> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        [
            "market_order.observability",
            "billing_account.observability"
        ]
    );

    // A second apply without the code waits again and orders nothing more.
    run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(3);
    assert_eq!(sb.world().market_orders("main").unwrap(), 1);

    // A wrong code fails the gate (exit 1); the gate stays waiting.
    let wrong = run(
        &sb,
        &[
            "apply",
            "--auto-approve",
            "--input",
            "verify-email.observability=000000",
            "sub.yaml",
        ],
    )
    .expect(1);
    assert!(wrong.stderr.contains("invalid_code") || wrong.stdout.contains("invalid_code"));
    assert_eq!(waiting_gates(&sb), ["verify-email.observability"]);

    let code = latest_code(&sb);
    let input = format!("verify-email.observability={code}");
    run(
        &sb,
        &["apply", "--auto-approve", "--input", &input, "sub.yaml"],
    )
    .expect(0);
    assert!(waiting_gates(&sb).is_empty());
    converged(&sb, "sub.yaml");
    let world = sb.world();
    let vendor = world.vendor_summary();
    assert_eq!(vendor.accounts["ops-team"], "active");
    let instance = world.market_instances("main").unwrap()[0].id.clone();
    assert!(vendor.bindings.contains(&("ops-team".to_owned(), instance)));
    assert_eq!(
        vendor.workspaces["prod-obs"],
        ("ops-team".to_owned(), "en".to_owned(), true)
    );
    assert_eq!(world.market_orders("main").unwrap(), 1);
}

#[test]
fn bind_existing_account_and_existing_workspace() {
    let sb = Sandbox::new();
    let mut world = World::new(7);
    world.ensure_account("main");
    world.vendor_seed_account("intl", "ops-team", "ops@example.com");
    world
        .vendor_seed_workspace("intl", "ops-team", "legacy-ws", "zh")
        .unwrap();
    std::fs::create_dir_all(sb.path().join(".flinkform")).unwrap();
    world
        .save(&sb.path().join(".flinkform/sim-world.json"))
        .unwrap();
    let mut text = spec("bound", "bind", "bind", "legacy-ws", "api");
    // A bound workspace keeps the language it has at the vendor.
    text = text.replace("language: en", "language: zh");
    sb.write("sub.yaml", &text);

    run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(3);
    let outbox = sb.world().outbox().to_vec();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].purpose, "bind ops-team");
    let runs = apply_through_gates(&sb, "sub.yaml");
    assert_eq!(runs.last().unwrap().code, 0, "{:?}", runs.last());
    converged(&sb, "sub.yaml");
    let vendor = sb.world().vendor_summary();
    assert_eq!(vendor.accounts.len(), 1, "no second account: {vendor:?}");
    assert_eq!(
        vendor.workspaces["legacy-ws"],
        ("ops-team".to_owned(), "zh".to_owned(), true)
    );
    assert_eq!(vendor.workspaces.len(), 1, "no second workspace");

    // Destroy unbinds the workspace it bound (it stays at the vendor), releases the
    // settlement binding, and keeps the order and the account, saying why.
    let destroy = run(&sb, &["destroy", "--auto-approve"]).expect(0);
    assert!(
        destroy.stdout.contains("an order cannot be undone by API"),
        "{}",
        destroy.stdout
    );
    assert!(
        destroy.stdout.contains("it stays at the vendor"),
        "{}",
        destroy.stdout
    );
    let vendor = sb.world().vendor_summary();
    assert_eq!(
        vendor.workspaces["legacy-ws"],
        ("ops-team".to_owned(), "zh".to_owned(), false)
    );
    assert!(vendor.bindings.is_empty());
}

#[test]
fn register_with_bind_workspace_and_bind_with_create_workspace() {
    // Register, then bind a workspace: a new account has none, which the plan says before
    // anything is ordered.
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("mixed", "register", "bind", "nowhere", "api"),
    );
    let apply = run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(1);
    assert!(
        apply.stderr.contains("plan::vendor_workspace_missing")
            && apply.stderr.contains("has no workspace `nowhere`")
            && apply.stderr.contains("sub.yaml:21:11"),
        "{apply:?}"
    );
    assert_eq!(sb.world().market_orders("main").unwrap(), 0);

    // Bind an existing account, then create a workspace.
    let sb = Sandbox::new();
    let mut world = World::new(11);
    world.ensure_account("main");
    world.vendor_seed_account("intl", "ops-team", "ops@example.com");
    std::fs::create_dir_all(sb.path().join(".flinkform")).unwrap();
    world
        .save(&sb.path().join(".flinkform/sim-world.json"))
        .unwrap();
    sb.write(
        "sub.yaml",
        &spec("mixed", "bind", "create", "fresh-ws", "api"),
    );
    let runs = apply_through_gates(&sb, "sub.yaml");
    assert_eq!(runs.last().unwrap().code, 0, "{:?}", runs.last());
    converged(&sb, "sub.yaml");
    assert_eq!(
        sb.world().vendor_summary().workspaces["fresh-ws"],
        ("ops-team".to_owned(), "en".to_owned(), true)
    );
}

#[test]
fn a_lost_create_order_response_places_one_order() {
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("lossy", "register", "create", "lossy-ws", "api"),
    );
    // The first command creates the world; then the next CreateOrder's answer is lost
    // after the order was placed.
    run(&sb, &["plan", "sub.yaml"]).expect(0);
    let path = sb.path().join(".flinkform/sim-world.json");
    let mut world = World::load(&path).unwrap();
    world.inject_fault(Some("CreateOrder"), FaultKind::LoseResponse, 1);
    world.save(&path).unwrap();
    run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(3);
    let world = sb.world();
    assert_eq!(world.market_orders("main").unwrap(), 1);
    assert_eq!(world.market_instances("main").unwrap().len(), 1);
    let runs = apply_through_gates(&sb, "sub.yaml");
    assert_eq!(runs.last().unwrap().code, 0, "{:?}", runs.last());
    converged(&sb, "sub.yaml");
    assert_eq!(sb.world().market_orders("main").unwrap(), 1);
}

#[test]
fn manual_mode_gates_say_what_to_enter_where() {
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("by-hand", "register", "create", "manual-ws", "manual"),
    );
    let first = run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(3);
    assert!(
        first.stdout.contains("gate `billing-account.by-hand`")
            && first.stdout.contains("username `ops-team`")
            && first.stdout.contains("env:BC_PASSWORD"),
        "{}",
        first.stdout
    );
    // The vendor cannot be asked before the order: the plan says so.
    assert!(
        first
            .stdout
            .contains("is ordered without asking the vendor first (connector: manual)"),
        "{}",
        first.stdout
    );
    let second = run(
        &sb,
        &[
            "apply",
            "--auto-approve",
            "--input",
            "billing-account.by-hand=done",
            "sub.yaml",
        ],
    )
    .expect(3);
    let world = sb.world();
    let instance = world.market_instances("main").unwrap()[0].id.clone();
    let uid = sb.state()["target"]["accounts"]["main"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        second
            .stdout
            .contains(&format!("Product Instance ID: {instance}"))
            && second
                .stdout
                .contains(&format!("Alibaba Cloud account ID: {uid}")),
        "{}",
        second.stdout
    );
    // Anything but `done` does not confirm a manual step.
    run(
        &sb,
        &[
            "apply",
            "--auto-approve",
            "--input",
            "settlement.by-hand=later",
            "sub.yaml",
        ],
    )
    .expect(1);
    let runs = apply_through_gates(&sb, "sub.yaml");
    let last = runs.last().unwrap();
    assert_eq!(last.code, 0, "{last:?}");
    assert!(
        runs.iter()
            .any(|r| r.stdout.contains("Workspace name: manual-ws")),
        "the workspace gate names the workspace"
    );
    converged(&sb, "sub.yaml");
    // Manual mode never talks to the vendor's connector.
    assert!(sb.world().vendor_summary().accounts.is_empty());
}

#[test]
fn drift_reports_expiry_removed_binding_and_rename_then_apply_repairs() {
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("drifty", "register", "create", "drift-ws", "api"),
    );
    let runs = apply_through_gates(&sb, "sub.yaml");
    assert_eq!(runs.last().unwrap().code, 0, "{:?}", runs.last());
    run(&sb, &["drift", "sub.yaml"]).expect(0);
    let instance = sb.world().market_instances("main").unwrap()[0].id.clone();
    run(
        &sb,
        &[
            "sim",
            "console",
            "rename-vendor-workspace",
            "drift-ws",
            "renamed",
        ],
    )
    .expect(0);
    run(
        &sb,
        &["sim", "console", "remove-settlement-binding", &instance],
    )
    .expect(0);
    let drift = run(&sb, &["drift", "sub.yaml"]).expect(2);
    assert!(
        drift
            .stdout
            .contains("settlement_binding.drifty was removed at the vendor")
            && drift
                .stdout
                .contains("~ name = \"drift-ws\" -> \"renamed\""),
        "{}",
        drift.stdout
    );
    run(
        &sb,
        &["sim", "console", "expire-market-instance", &instance],
    )
    .expect(0);
    let drift = run(&sb, &["drift", "sub.yaml"]).expect(2);
    assert!(
        drift
            .stdout
            .contains("market_order.drifty expired or was released outside flinkform"),
        "{}",
        drift.stdout
    );
    // Apply orders a new instance (a new order: the old one ended), binds it and renames
    // the workspace back.
    run(&sb, &["apply", "--auto-approve", "sub.yaml"]).expect(0);
    converged(&sb, "sub.yaml");
    let world = sb.world();
    assert_eq!(world.market_orders("main").unwrap(), 2);
    assert!(world.vendor_summary().workspaces.contains_key("drift-ws"));
}

#[test]
fn secrets_appear_in_no_state_plan_log_or_error() {
    let sb = Sandbox::new();
    sb.write(
        "sub.yaml",
        &spec("secretive", "register", "create", "secret-ws", "api"),
    );
    let mut outputs: Vec<String> = Vec::new();
    fn keep_in(outputs: &mut Vec<String>, r: Run) {
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    let debug = |args: &[&str]| {
        let out = sb
            .command(args)
            .env("BC_PASSWORD", CANARY)
            .env("FLINKFORM_LOG", "debug")
            .output()
            .expect("run");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    keep_in(&mut outputs, debug(&["plan", "--json", "sub.yaml"]));
    keep_in(
        &mut outputs,
        debug(&["apply", "--auto-approve", "sub.yaml"]).expect(3),
    );
    let code = latest_code(&sb);
    let input = format!("verify-email.secretive={code}");
    keep_in(
        &mut outputs,
        debug(&["apply", "--auto-approve", "--input", &input, "sub.yaml"]).expect(0),
    );
    keep_in(&mut outputs, debug(&["drift", "sub.yaml"]));
    keep_in(
        &mut outputs,
        debug(&["state", "show", "billing_account.secretive"]).expect(0),
    );
    // A missing secret fails with a message naming the variable, not a value.
    let sb2 = Sandbox::new();
    sb2.write(
        "sub.yaml",
        &spec("secretive", "register", "create", "secret-ws", "api"),
    );
    let missing = sb2
        .command(&["apply", "--auto-approve", "sub.yaml"])
        .env_remove("BC_PASSWORD")
        .output()
        .expect("run");
    let missing_err = String::from_utf8_lossy(&missing.stderr).into_owned()
        + &String::from_utf8_lossy(&missing.stdout);
    assert!(missing_err.contains("BC_PASSWORD"), "{missing_err}");
    // It is found before anything is ordered.
    assert_eq!(missing.status.code(), Some(1), "{missing_err}");
    assert!(missing_err.contains("nothing was ordered"), "{missing_err}");
    assert_eq!(sb2.world().market_orders("main").expect("account"), 0);
    outputs.push(missing_err);
    keep_in(
        &mut outputs,
        debug(&["destroy", "--auto-approve"]).expect(0),
    );

    let mut world = sb.world();
    let keys = [world.vendor_connector_key(), world.vendor_spi_key()];
    let state = std::fs::read_to_string(sb.path().join(".flinkform/state.json")).unwrap();
    let world_text = std::fs::read_to_string(sb.path().join(".flinkform/sim-world.json")).unwrap();
    assert!(
        !world_text.contains(CANARY),
        "the emulated vendor keeps a digest only"
    );
    for (i, text) in outputs.iter().chain([&state]).enumerate() {
        assert!(
            !text.contains(CANARY),
            "password leaked in output {i}:\n{text}"
        );
        for k in &keys {
            assert!(
                !text.contains(k.as_str()),
                "vendor key leaked in output {i}:\n{text}"
            );
        }
    }
    assert!(
        outputs.iter().any(|o| o.contains("env:BC_PASSWORD")),
        "the reference itself is shown"
    );
}

/// A world holding accounts `main` and `other` and, when `owner_email` is given, the
/// Billing Center account `ops-team` (registered before flinkform, verified by no UID) with
/// workspace `legacy-ws`.
fn seeded(sb: &Sandbox, owner_email: Option<&str>) {
    let mut world = World::new(23);
    world.ensure_account("main");
    world.ensure_account("other");
    if let Some(email) = owner_email {
        world.vendor_seed_account("intl", "ops-team", email);
        world
            .vendor_seed_workspace("intl", "ops-team", "legacy-ws", "en")
            .expect("seed workspace");
    }
    std::fs::create_dir_all(sb.path().join(".flinkform")).expect("mkdir");
    world
        .save(&sb.path().join(".flinkform/sim-world.json"))
        .expect("save world");
}

#[test]
fn a_second_alibaba_account_binding_a_registered_account_waits_for_its_own_code() {
    let sb = Sandbox::new();
    // Account `main` registers `ops-team` and applies fully.
    sb.write(
        "main.yaml",
        &spec("observability", "register", "create", "prod-obs", "api"),
    );
    let runs = apply_through_gates(&sb, "main.yaml");
    assert_eq!(runs.last().unwrap().code, 0, "{:?}", runs.last());
    let world = sb.world();
    let main_instance = world.market_instances("main").unwrap()[0].id.clone();
    let main_uid = sb.state()["target"]["accounts"]["main"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(world.outbox().len(), 1);
    assert_eq!(
        world.vendor_summary().verified_uids["ops-team"],
        [main_uid.clone()].into_iter().collect()
    );

    // A second Alibaba Cloud account, in its own stack and state, binds `ops-team`.
    sb.write(
        "other.yaml",
        &spec("shared-billing", "bind", "create", "other-ws", "api")
            .replace("account: main", "account: other"),
    );
    let other = |extra: &[&str]| {
        let mut args = vec!["--state", "other/state.json", "apply", "--auto-approve"];
        args.extend_from_slice(extra);
        args.push("other.yaml");
        run(&sb, &args)
    };
    let first = other(&[]).expect(3);
    assert!(
        first.stdout.contains("gate `verify-email.shared-billing`"),
        "{}",
        first.stdout
    );
    let other_state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.path().join("other/state.json")).unwrap())
            .unwrap();
    let other_uid = other_state["target"]["accounts"]["other"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other_uid, main_uid);
    assert_eq!(
        other_state["gates"][0]["name"], "verify-email.shared-billing",
        "{other_state}"
    );
    // The vendor e-mailed ops-team's owner a code for the binding ...
    let world = sb.world();
    let outbox = world.outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[1].to, "ops@example.com");
    assert_eq!(outbox[1].purpose, "bind ops-team");
    let printed = run(&sb, &["sim", "outbox"]).expect(0);
    assert!(
        printed.stdout.contains(&outbox[1].code),
        "{}",
        printed.stdout
    );
    // ... and, before the code, saw no settlement binding or workspace of `other`: only
    // `main` has verified the account.
    let other_instance = world.market_instances("other").unwrap()[0].id.clone();
    let vendor = world.vendor_summary();
    assert_eq!(
        vendor.bindings,
        [("ops-team".to_owned(), main_instance.clone())]
            .into_iter()
            .collect()
    );
    assert!(!vendor.workspaces.contains_key("other-ws"), "{vendor:?}");
    assert_eq!(
        vendor.verified_uids["ops-team"],
        [main_uid.clone()].into_iter().collect()
    );
    // Another apply without the code still waits, and sends no new e-mail.
    other(&[]).expect(3);
    assert_eq!(sb.world().outbox().len(), 2);
    assert!(
        !sb.world()
            .vendor_summary()
            .bindings
            .iter()
            .any(|(_, i)| *i == other_instance)
    );

    // With the code it completes.
    let input = format!("verify-email.shared-billing={}", outbox[1].code);
    other(&["--input", &input]).expect(0);
    let world = sb.world();
    let vendor = world.vendor_summary();
    assert!(
        vendor
            .bindings
            .contains(&("ops-team".to_owned(), other_instance))
    );
    assert!(
        vendor
            .bindings
            .contains(&("ops-team".to_owned(), main_instance))
    );
    assert_eq!(
        vendor.workspaces["other-ws"],
        ("ops-team".to_owned(), "en".to_owned(), true)
    );
    assert_eq!(
        vendor.verified_uids["ops-team"],
        [main_uid, other_uid].into_iter().collect()
    );
    run(
        &sb,
        &[
            "--state",
            "other/state.json",
            "plan",
            "--detailed-exitcode",
            "other.yaml",
        ],
    )
    .expect(0);
    converged(&sb, "main.yaml");
}

/// Plans and applies `sub.yaml`: both exit 1 with `code` at `position` and its help (the
/// start of it: miette wraps long lines), and the Marketplace has no order.
#[track_caller]
fn refused_before_the_order(sb: &Sandbox, code: &str, position: &str, help: &str) {
    for args in [
        &["plan", "sub.yaml"][..],
        &["apply", "--auto-approve", "sub.yaml"][..],
    ] {
        let r = run(sb, args).expect(1);
        assert!(
            r.stderr.contains(code) && r.stderr.contains(position) && r.stderr.contains(help),
            "{args:?}: {}",
            r.stderr
        );
    }
    let world = sb.world();
    assert_eq!(world.market_orders("main").expect("account"), 0);
    assert!(world.market_instances("main").expect("account").is_empty());
}

#[test]
fn what_the_vendor_must_have_is_checked_before_anything_is_ordered() {
    // Binding an account that does not exist.
    let sb = Sandbox::new();
    seeded(&sb, None);
    sb.write("sub.yaml", &spec("ghost", "bind", "create", "ws", "api"));
    refused_before_the_order(
        &sb,
        "plan::billing_account_missing",
        "sub.yaml:16:17",
        "help: check the username",
    );

    // Binding an existing account with another e-mail address.
    let sb = Sandbox::new();
    seeded(&sb, Some("owner@example.com"));
    sb.write(
        "sub.yaml",
        &spec("elsewhere", "bind", "create", "ws", "api"),
    );
    refused_before_the_order(
        &sb,
        "plan::billing_account_email",
        "sub.yaml:17:14",
        "help: give the address the account",
    );
    // The check sent no e-mail: it only reads.
    assert!(sb.world().outbox().is_empty());

    // Binding a workspace the account does not have.
    let sb = Sandbox::new();
    seeded(&sb, Some("ops@example.com"));
    sb.write(
        "sub.yaml",
        &spec("nowhere", "bind", "bind", "nowhere", "api"),
    );
    refused_before_the_order(
        &sb,
        "plan::vendor_workspace_missing",
        "sub.yaml:19:11",
        "help: check `workspace.name`",
    );
    assert!(sb.world().outbox().is_empty());
    // The workspace it has is fine.
    sb.write(
        "sub.yaml",
        &spec("legacy", "bind", "bind", "legacy-ws", "api"),
    );
    run(&sb, &["plan", "sub.yaml"]).expect(0);

    // Registering a username that is taken.
    let sb = Sandbox::new();
    seeded(&sb, Some("ops@example.com"));
    sb.write(
        "sub.yaml",
        &spec("taken", "register", "create", "ws", "api"),
    );
    refused_before_the_order(
        &sb,
        "plan::username_taken",
        "sub.yaml:16:17",
        "help: pick another username",
    );
    let vendor = sb.world().vendor_summary();
    assert_eq!(vendor.accounts.len(), 1, "{vendor:?}");
}
