//! Planner benchmark (`cargo bench -p flinkform-plan --bench plan`): how the pure planner
//! scales with the number of workspaces. For N = 10, 100 and 1000 pay-as-you-go workspaces
//! (each with its VPC, vSwitch, bucket and one project, all in one account and region) it
//! times loading the YAML (`flinkform_spec::load`), `expand` and `plan` against the state
//! and observations a perfect apply leaves behind (so the plan has no changes), and prints
//! the median of several runs and the ratios between consecutive sizes (1000/100 among
//! them), measured in the same process. Other sizes: `cargo bench -p flinkform-plan --bench
//! plan -- 1000 3000`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use flinkform_plan::{PlanOptions, expand, plan};
use flinkform_spec::{Project, SourceFile, load};

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
             ossBucket: {{ name: ws{i:04}-flink }}\n  projects:\n    - {{ name: etl }}\n  protect: false\n"
        )
        .unwrap();
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Row {
    n: usize,
    resources: usize,
    load: Duration,
    expand: Duration,
    plan: Duration,
}

fn measure(n: usize) -> Row {
    let text = yaml(n);
    let files = [SourceFile::new("bench.yaml", text)];
    let runs = (3000 / n).clamp(5, 200);
    let (mut t_load, mut t_expand, mut t_plan) = (Vec::new(), Vec::new(), Vec::new());
    let mut resources = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let loaded = load(&files).expect("specs load");
        t_load.push(t.elapsed());
        assert_eq!(loaded.stack.documents.len(), n);

        // The same workspaces built in Rust, as the golden tests do, plus one project.
        let ws: Vec<_> = (0..n)
            .map(|i| {
                let mut w = support::workspace(&format!("ws{i:04}"));
                w.protect = false;
                w.projects = vec![Project {
                    name: "etl".into(),
                    cu: None,
                }];
                w
            })
            .collect();
        let stack = support::stack(ws);

        let t = Instant::now();
        let desired = expand(&stack).expect("expand");
        t_expand.push(t.elapsed());
        resources = desired.resources.len();

        let (recorded, observed) = support::applied(&desired);
        let t = Instant::now();
        let p = plan(&desired, &recorded, &observed, &PlanOptions::default()).expect("plan");
        t_plan.push(t.elapsed());
        assert!(!p.has_changes(), "a perfect apply leaves nothing to do");
    }
    Row {
        n,
        resources,
        load: median(t_load),
        expand: median(t_expand),
        plan: median(t_plan),
    }
}

fn main() {
    // Warm up allocator and caches.
    let _ = measure(10);
    // `cargo bench -p flinkform-plan --bench plan -- 1000 3000` measures other sizes.
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .filter(|n| *n > 0)
        .collect();
    if sizes.is_empty() {
        sizes = vec![10, 100, 1000];
    }
    let rows: Vec<Row> = sizes.into_iter().map(measure).collect();
    println!(
        "{:>5} {:>9} {:>10} {:>10} {:>10} {:>14} {:>16}",
        "N", "resources", "load ms", "expand ms", "plan ms", "expand+plan ms", "µs per workspace"
    );
    for r in &rows {
        let pure = r.expand + r.plan;
        println!(
            "{:>5} {:>9} {:>10.3} {:>10.3} {:>10.3} {:>14.3} {:>16.1}",
            r.n,
            r.resources,
            ms(r.load),
            ms(r.expand),
            ms(r.plan),
            ms(pure),
            pure.as_secs_f64() * 1e6 / r.n as f64
        );
    }
    let ratio = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        println!(
            "ratio {}/{} ({:.0}x the workspaces): expand+plan {:.2}x, plan {:.2}x, load {:.2}x",
            b.n,
            a.n,
            b.n as f64 / a.n as f64,
            ratio(b.expand + b.plan, a.expand + a.plan),
            ratio(b.plan, a.plan),
            ratio(b.load, a.load)
        );
    }
}
