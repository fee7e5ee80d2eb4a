//! One world file, several processes: the world lock and the serving emulator's
//! announcement (`WorldLock`), and console commands through a running emulator's admin
//! endpoint `POST /_sim/console` (applied to the world it serves, then persisted).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use flinkform_cloudsim::{
    ConsoleOp, Error, Holder, ServeInfo, SimOptions, World, WorldLock, send_console, spawn_shared,
};

#[test]
fn the_world_lock_names_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("nested/world.json");
    let mut first = WorldLock::try_acquire(&world).unwrap().unwrap();
    // Another holder (this process's pid, written into the lock file) keeps it.
    let busy = WorldLock::try_acquire(&world).unwrap().unwrap_err();
    assert_eq!(busy, Holder::Process(Some(std::process::id())));
    // An emulator serving the world names itself: changes go through it.
    first.announce_server("http://127.0.0.1:4242").unwrap();
    let served = WorldLock::try_acquire(&world).unwrap().unwrap_err();
    assert_eq!(
        served,
        Holder::Server(ServeInfo {
            pid: std::process::id(),
            endpoint: "http://127.0.0.1:4242".to_owned(),
        })
    );
    drop(first);
    assert!(
        !WorldLock::serve_path(&world).exists(),
        "removed on release"
    );
    // A `.serve` left behind by a killed emulator does not outlive the lock it held.
    std::fs::write(
        WorldLock::serve_path(&world),
        r#"{"pid":1,"endpoint":"http://127.0.0.1:1"}"#,
    )
    .unwrap();
    let again = WorldLock::try_acquire(&world).unwrap().unwrap();
    assert!(!WorldLock::serve_path(&world).exists());
    drop(again);
}

#[tokio::test]
async fn console_commands_through_the_admin_endpoint_are_applied_and_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let mut world = World::new(3);
    world.ensure_account("main");
    world.save(&file).unwrap();
    let shared = Arc::new(tokio::sync::Mutex::new(world));
    let sim = spawn_shared(
        shared.clone(),
        SimOptions {
            persist_to: Some(file.clone()),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let endpoint = sim.endpoint();
    let created = send_console(
        &endpoint,
        &ConsoleOp::CreateVpc {
            account: "main".to_owned(),
            region: "ap-southeast-1".to_owned(),
            cidr: "10.5.0.0/16".to_owned(),
            name: None,
        },
    )
    .await
    .unwrap();
    let id = created.printed.clone().unwrap();
    assert!(id.starts_with("vpc-"), "{created:?}");
    assert!(created.message.contains(&id), "{created:?}");
    // In the served world, and in its file.
    assert_eq!(shared.lock().await.summary()["main"].vpcs, 2);
    assert_eq!(World::load(&file).unwrap().summary()["main"].vpcs, 2);
    // A failing command changes nothing and says why.
    let before = World::load(&file).unwrap().summary();
    let failed = send_console(
        &endpoint,
        &ConsoleOp::DeleteVswitch {
            account: "main".to_owned(),
            id: "vsw-nope".to_owned(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&failed, Error::Admin { message, .. } if message.contains("vsw-nope")),
        "{failed:?}"
    );
    assert_eq!(shared.lock().await.summary(), before);
    // What is not a console command is refused.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw = reqwest::Client::new()
        .post(format!("{endpoint}/_sim/console"))
        .body(r#"{"command":"format-disk"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["Code"], "InvalidConsoleCommand");
    sim.stop().await.unwrap();
    // Nobody listens any more: the caller learns it.
    let gone = send_console(
        &endpoint,
        &ConsoleOp::SetBalance {
            account: "main".to_owned(),
            cents: 1,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(gone, Error::Admin { .. }), "{gone:?}");
}
