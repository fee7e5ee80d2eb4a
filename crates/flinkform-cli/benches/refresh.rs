//! Refresh benchmark (`cargo bench -p flinkform-cli --bench refresh`): how many API calls a
//! refresh of N unchanged workspaces costs, against the bundled emulator in-process. For
//! N = 1, 10 and 50 pay-as-you-go workspaces (each with its VPC, vSwitch, bucket and one
//! project, one account, one region) it applies the specs through the library (plan, then
//! `flinkform_apply::apply` into a `MemorySink`), then times one refresh (`observe`) of the
//! applied stack, checks that the plan after it is empty, and prints the calls the provider
//! counted and the calls the emulator answered, by action.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkform_alicloud::{AliProvider, ClientOptions, Credentials, Endpoints};
use flinkform_apply::{ApplyOptions, apply};
use flinkform_cloudsim::{SimOptions, World, spawn_shared};
use flinkform_core::{AccountName, Provider};
use flinkform_plan::{PlanOptions, expand, observe_request, plan};
use flinkform_spec::{SourceFile, load};
use flinkform_state::{MemorySink, State};

/// YAML of `n` workspaces, one document each.
fn yaml(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        write!(
            s,
            "---\napiVersion: flinkform/v1\nkind: FlinkWorkspace\nmetadata:\n  name: ws{i:04}\n\
             spec:\n  account: main\n  region: ap-southeast-1\n  zone: ap-southeast-1a\n  \
             billing: {{ method: pay-as-you-go }}\n  network:\n    vpc: {{ create: {{ cidr: 10.10.0.0/16 }} }}\n    \
             vSwitches:\n      - {{ create: {{ cidr: 10.10.1.0/24 }} }}\n  storage:\n    \
             ossBucket: {{ name: ws{i:04}-flink-bench }}\n  projects:\n    - {{ name: etl }}\n  protect: false\n"
        )
        .unwrap();
    }
    s
}

struct Row {
    n: usize,
    resources: usize,
    provider_calls: u64,
    by_action: BTreeMap<String, u64>,
    took: Duration,
}

async fn measure(n: usize) -> Row {
    let mut world = World::new(7 + n as u64);
    world.set_time_scale(20_000.0).unwrap();
    let keys = world.ensure_account("main");
    let world = Arc::new(tokio::sync::Mutex::new(world));
    let handle = spawn_shared(world.clone(), SimOptions::default())
        .await
        .unwrap();
    let creds = BTreeMap::from([(
        AccountName::new("main").unwrap(),
        Credentials::new(keys.access_key_id, keys.access_key_secret),
    )]);
    let provider = Arc::new(
        AliProvider::new(
            Endpoints::Override(handle.endpoint()),
            creds,
            ClientOptions::default(),
        )
        .unwrap(),
    );

    let loaded = load(&[SourceFile::new("bench.yaml", yaml(n))]).expect("specs");
    let desired = expand(&loaded.stack).expect("expand");
    let none = BTreeMap::new();

    // Create everything.
    let observed = provider
        .observe(&observe_request(&desired, &none))
        .await
        .unwrap();
    let create = plan(&desired, &none, &observed, &PlanOptions::default()).expect("plan");
    let mut sink = MemorySink::new(State::new());
    let opts = ApplyOptions {
        poll_initial: Duration::from_millis(10),
        poll_max: Duration::from_millis(50),
        wait_timeout: Duration::from_secs(60),
        ..ApplyOptions::default()
    };
    let (events, _keep) = tokio::sync::mpsc::unbounded_channel();
    let dyn_provider: Arc<dyn Provider> = provider.clone();
    let _report = apply(&create, dyn_provider, &mut sink, &opts, events).await;
    let recorded = sink.into_state().resources;

    // One refresh of the unchanged stack.
    let before = world.lock().await.calls().clone();
    let start = Instant::now();
    let observed = provider
        .observe(&observe_request(&desired, &recorded))
        .await
        .unwrap();
    let took = start.elapsed();
    let after = world.lock().await.calls().clone();
    let by_action: BTreeMap<String, u64> = after
        .iter()
        .map(|(a, k)| (a.clone(), k - before.get(a).copied().unwrap_or(0)))
        .filter(|(_, k)| *k > 0)
        .collect();

    let again = plan(&desired, &recorded, &observed, &PlanOptions::default()).expect("plan");
    assert!(
        !again.has_changes(),
        "N={n}: the apply did not converge:\n{}",
        flinkform_plan::render_text(&again)
    );
    handle.stop().await.unwrap();
    Row {
        n,
        resources: recorded.len(),
        provider_calls: observed.api_calls,
        by_action,
        took,
    }
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    for n in [1, 10, 50] {
        rows.push(measure(n).await);
    }
    println!(
        "{:>3} {:>9} {:>9} {:>16} {:>11}",
        "N", "resources", "API calls", "calls/workspace", "refresh ms"
    );
    for r in &rows {
        println!(
            "{:>3} {:>9} {:>9} {:>16.2} {:>11.1}",
            r.n,
            r.resources,
            r.provider_calls,
            r.provider_calls as f64 / r.n as f64,
            r.took.as_secs_f64() * 1e3
        );
    }
    println!();
    println!("calls the emulator answered during the refresh, by action:");
    let actions: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|r| r.by_action.keys()).collect();
    print!("{:<28}", "action");
    for r in &rows {
        print!(" {:>6}", format!("N={}", r.n));
    }
    println!();
    for a in actions {
        print!("{a:<28}");
        for r in &rows {
            print!(" {:>6}", r.by_action.get(a).copied().unwrap_or(0));
        }
        println!();
    }
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let marginal = (last.provider_calls - first.provider_calls) as f64 / (last.n - first.n) as f64;
    println!(
        "\nmarginal cost: {marginal:.2} calls per extra workspace; fixed cost: {:.0} calls",
        first.provider_calls as f64 - marginal * first.n as f64
    );
}
