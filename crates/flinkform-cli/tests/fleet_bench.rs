//! The fleet benchmark (`crates/flinkform-bench`) at N = 5, with this build's binary, so
//! that it cannot rot. It asserts what the runs did (every run succeeded, calls counted,
//! state written), never how long they took.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_bench_smoke_run_at_five_workspaces() {
    use clap::Parser as _;

    let dir = tempfile::tempdir().unwrap();
    let args = flinkform_bench::Args::try_parse_from([
        "fleet-bench",
        "--quick",
        "--binary",
        env!("CARGO_BIN_EXE_flinkform"),
        "--dir",
        dir.path().to_str().unwrap(),
    ])
    .unwrap();
    let rows = flinkform_bench::run(args).await.unwrap();
    let names: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| (r.scenario.as_str(), r.latency_ms))
        .collect();
    assert_eq!(
        names,
        [
            ("apply", 0),
            ("no-op plan", 0),
            ("no-op plan", 20),
            ("change 10", 0),
            ("change 10", 20),
            ("apply", 20),
        ]
    );
    let apply = &rows[0];
    assert!(apply.calls > 5 * 4, "{apply:?}");
    assert!(apply.written > 0, "the apply wrote its state: {apply:?}");
    assert!(apply.max_rss > 0 && apply.cpu.as_nanos() > 0, "{apply:?}");
    let noop = &rows[1];
    assert!(noop.calls > 0 && noop.calls < apply.calls, "{noop:?}");
    assert!(
        rows[5].bound.is_some(),
        "the apply with latency has its bound"
    );
    // With --dir, each fleet's world, specs and state stay, the world saved with the fleet
    // in it (for `flinkform sim serve --sim-world`).
    let fleet = dir.path().join("n5");
    let world = flinkform_cloudsim::World::load(&fleet.join("world.json")).unwrap();
    assert_eq!(world.instances("main").unwrap().len(), 5);
    assert!(fleet.join("ws-5-0.yaml").is_file());
    assert!(fleet.join("state").is_dir());
}
