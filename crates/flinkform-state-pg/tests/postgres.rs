//! What only the PostgreSQL backend has: URLs over TCP and unix sockets, many stacks in one
//! database, the schema migrated once by many processes at once, a run whose connection
//! died cannot commit, one row per resource, and `read_serial` across a replace. Each test
//! uses the throwaway server of this test process (`testing::shared_or_skip`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use flinkform_core::{AccountName, Attrs, CloudId, Mode, RecordedResource, Region, Value};
use flinkform_state::{Backend as _, Change, Error, LockStatus, State};
use flinkform_state_pg::testing::{self, PgServer};
use flinkform_state_pg::{Error as PgError, PgBackend, SCHEMA_VERSION};

const ZERO: Duration = Duration::ZERO;

fn vpc(name: &str, id: &str) -> RecordedResource {
    let mut attrs = Attrs::new();
    attrs.insert("name".into(), Value::str(name));
    RecordedResource {
        addr: format!("vpc.{name}").parse().expect("address"),
        mode: Mode::Managed,
        account: AccountName::new("main").expect("account"),
        region: Some(Region::new("ap-southeast-1").expect("region")),
        cloud_id: CloudId::new(id).expect("id"),
        attrs,
        depends_on: std::collections::BTreeSet::new(),
        protect: false,
    }
}

/// A plain connection to `db` for looking at the rows.
async fn sql(server: &PgServer, db: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host={} port={} user={} dbname={db}",
            server.socket_dir().display(),
            server.port(),
            testing::USER
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn tcp_and_unix_socket_urls_reach_the_same_stack() {
    let Some(server) = testing::shared_or_skip("tcp_and_unix_socket_urls_reach_the_same_stack")
    else {
        return;
    };
    let db = server.create_database();
    let over_tcp = PgBackend::open(&server.tcp_url(&db, "s")).unwrap();
    let mut session = over_tcp.lock("apply", ZERO).await.unwrap();
    session
        .commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    session.finish().await.unwrap();
    let over_socket = PgBackend::open(&server.url(&db, "s")).unwrap();
    let s = over_socket.read().await.unwrap();
    assert_eq!(s.serial, 1);
    assert!(s.resources.contains_key(&"vpc.a".parse().unwrap()));
    assert!(over_tcp.describe().contains("stack s on 127.0.0.1:"));
}

#[tokio::test]
async fn stacks_of_one_database_are_independent() {
    let Some(server) = testing::shared_or_skip("stacks_of_one_database_are_independent") else {
        return;
    };
    let db = server.create_database();
    let a = PgBackend::open(&server.url(&db, "a")).unwrap();
    let b = PgBackend::open(&server.url(&db, "b")).unwrap();
    let mut sa = a.lock("apply", ZERO).await.unwrap();
    // Stack a's lock leaves stack b free.
    assert_eq!(b.lock_status().await.unwrap(), LockStatus::Free);
    let mut sb = b.lock("apply", ZERO).await.unwrap();
    sa.commit(vec![Change::Record(vpc("x", "vpc-a"))])
        .await
        .unwrap();
    sb.commit(vec![Change::Record(vpc("y", "vpc-b"))])
        .await
        .unwrap();
    sb.commit(vec![Change::Record(vpc("z", "vpc-b2"))])
        .await
        .unwrap();
    let (ra, rb) = (a.read().await.unwrap(), b.read().await.unwrap());
    assert_eq!((ra.serial, ra.resources.len()), (1, 1));
    assert_eq!((rb.serial, rb.resources.len()), (2, 2));
    assert_ne!(ra.lineage, rb.lineage);
    assert_eq!(a.history().await.unwrap().len(), 1);
    assert_eq!(
        a.stacks().await.unwrap(),
        vec!["a".to_owned(), "b".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_backends_migrate_a_new_database_once() {
    let Some(server) = testing::shared_or_skip("many_backends_migrate_a_new_database_once") else {
        return;
    };
    let db = server.create_database();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let backend = PgBackend::open(&server.url(&db, &format!("s{i}"))).unwrap();
            tokio::spawn(async move { backend.connect().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let client = sql(server, &db).await;
    let rows = client
        .query("SELECT version FROM flinkform.migrations", &[])
        .await
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_flinkform_is_refused() {
    let Some(server) =
        testing::shared_or_skip("a_database_migrated_by_a_newer_flinkform_is_refused")
    else {
        return;
    };
    let db = server.create_database();
    PgBackend::open(&server.url(&db, "s"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    sql(server, &db)
        .await
        .execute(
            "INSERT INTO flinkform.migrations (version, name) VALUES ($1, 'future')",
            &[&(SCHEMA_VERSION + 1)],
        )
        .await
        .unwrap();
    let err = PgBackend::open(&server.url(&db, "s"))
        .unwrap()
        .connect()
        .await
        .expect_err("too new");
    assert!(matches!(err, PgError::SchemaTooNew { .. }), "{err:?}");
}

#[tokio::test]
async fn a_run_whose_connection_died_cannot_commit() {
    let Some(server) = testing::shared_or_skip("a_run_whose_connection_died_cannot_commit") else {
        return;
    };
    let db = server.create_database();
    let url = server.url(&db, "s");
    let backend = PgBackend::open(&url).unwrap();
    let mut first = backend.lock("apply", ZERO).await.unwrap();
    first
        .commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    let client = sql(server, &db).await;
    let gone: bool = client
        .query_one(
            "SELECT pg_terminate_backend(backend_pid, 30000) FROM flinkform.locks WHERE stack = 's'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(gone);
    // The lock went with the connection: another run takes it (told of the dead holder).
    let mut second = backend.lock("apply", ZERO).await.unwrap();
    assert_eq!(
        second.stale_predecessor().map(|i| &i.id),
        Some(&first.info().id)
    );
    second
        .commit(vec![Change::Record(vpc("b", "vpc-2"))])
        .await
        .unwrap();
    // The first run's commit fails and leaves its in-memory state as it was.
    let before = first.state().clone();
    let err = first
        .commit(vec![Change::Record(vpc("c", "vpc-3"))])
        .await
        .expect_err("the connection is gone");
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert_eq!(first.state(), &before);
    let now = backend.read().await.unwrap();
    assert_eq!(now.serial, 2);
    assert!(!now.resources.contains_key(&"vpc.c".parse().unwrap()));
}

#[tokio::test]
async fn one_row_per_resource_and_one_history_row_per_commit() {
    let Some(server) =
        testing::shared_or_skip("one_row_per_resource_and_one_history_row_per_commit")
    else {
        return;
    };
    let db = server.create_database();
    let backend = PgBackend::open(&server.url(&db, "s")).unwrap();
    let mut session = backend.lock("apply", ZERO).await.unwrap();
    for i in 0..5 {
        session
            .commit(vec![Change::Record(vpc(
                &format!("v{i}"),
                &format!("vpc-{i}"),
            ))])
            .await
            .unwrap();
    }
    session
        .commit(vec![Change::Remove("vpc.v0".parse().unwrap())])
        .await
        .unwrap();
    let client = sql(server, &db).await;
    let count = |table: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    &format!("SELECT count(*) FROM flinkform.{table} WHERE stack = 's'"),
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    assert_eq!(count("resources").await, 4);
    assert_eq!(count("history").await, 6);
    // A row holds the state format's resource object.
    let record: serde_json::Value = client
        .query_one(
            "SELECT record FROM flinkform.resources WHERE stack = 's' AND address = 'vpc.v1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(record["address"], "vpc.v1");
    assert_eq!(record["cloud_id"], "vpc-1");
    // The last history row holds just its change.
    let changes: serde_json::Value = client
        .query_one(
            "SELECT changes FROM flinkform.history WHERE stack = 's' AND serial = 6",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        changes,
        serde_json::json!([{"op": "remove", "address": "vpc.v0"}])
    );
}

#[tokio::test]
async fn read_serial_replays_from_the_last_replace() {
    let Some(server) = testing::shared_or_skip("read_serial_replays_from_the_last_replace") else {
        return;
    };
    let db = server.create_database();
    let backend = PgBackend::open(&server.url(&db, "s")).unwrap();
    let mut session = backend.lock("apply", ZERO).await.unwrap();
    let mut versions: Vec<State> = Vec::new();
    session
        .commit(vec![Change::Record(vpc("a", "vpc-1"))])
        .await
        .unwrap();
    versions.push(session.state().clone());
    let mut pushed = State::new();
    pushed.serial = 4;
    pushed.record(vpc("p", "vpc-p"));
    session.replace(pushed, true).await.unwrap();
    versions.push(session.state().clone());
    for name in ["b", "c"] {
        session
            .commit(vec![Change::Record(vpc(name, &format!("vpc-{name}")))])
            .await
            .unwrap();
        versions.push(session.state().clone());
    }
    let serials: Vec<u64> = versions.iter().map(|v| v.serial).collect();
    assert_eq!(serials, vec![1, 4, 5, 6]);
    for v in &versions {
        assert_eq!(&backend.read_serial(v.serial).await.unwrap(), v);
    }
    assert!(matches!(
        backend.read_serial(2).await,
        Err(Error::SerialNotKept { serial: 2, .. })
    ));
    let history = backend.history().await.unwrap();
    assert!(history[1].changed.is_empty(), "a replace names no address");
}
