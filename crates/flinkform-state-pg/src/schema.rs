//! The schema and its migrations: versioned SQL files embedded in the binary, applied in
//! order, each in the transaction that records it in `flinkform.migrations`, under a
//! transaction-level advisory lock so that many processes connecting to a new database at
//! once migrate it once.

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::key;

/// The migrations, in order: (version, name, SQL). A released migration never changes; a
/// schema change is a new one.
const MIGRATIONS: &[(i32, &str, &str)] =
    &[(1, "schema", include_str!("../migrations/0001_schema.sql"))];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i32 = 1;

/// The version the database is at (0 for none), without waiting on any lock.
async fn current(client: &Client, target: &str) -> Result<i32> {
    let db = |source| Error::Database {
        target: target.to_owned(),
        action: "read the schema version".to_owned(),
        source,
    };
    let row = client
        .query_one(
            "SELECT to_regclass('flinkform.migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(db)?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM flinkform.migrations",
            &[],
        )
        .await
        .map_err(db)?;
    Ok(row.get(0))
}

/// Brings the database's schema to [`SCHEMA_VERSION`]. A database already there costs two
/// reads and no lock.
///
/// # Errors
/// [`Error::SchemaTooNew`] for a database migrated by a newer flinkform; [`Error::Database`].
pub(crate) async fn migrate(client: &mut Client, target: &str) -> Result<()> {
    let found = current(client, target).await?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            target: target.to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let db = |action: &str| {
        let action = action.to_owned();
        move |source| Error::Database {
            target: target.to_owned(),
            action,
            source,
        }
    };
    let tx = client
        .transaction()
        .await
        .map_err(db("start the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key::MIGRATIONS])
        .await
        .map_err(db("lock the schema for migration"))?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS flinkform;
         CREATE TABLE IF NOT EXISTS flinkform.migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await
    .map_err(db("create the schema"))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM flinkform.migrations",
            &[],
        )
        .await
        .map_err(db("read the schema version"))?;
    let at: i32 = row.get(0);
    if at > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            target: target.to_owned(),
            found: at,
            known: SCHEMA_VERSION,
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > at) {
        tx.batch_execute(sql)
            .await
            .map_err(db(&format!("apply schema migration {version} ({name})")))?;
        tx.execute(
            "INSERT INTO flinkform.migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(db("record the schema migration"))?;
    }
    tx.commit().await.map_err(db("commit the migration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        for (i, (v, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(*v).expect("positive"), i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(SCHEMA_VERSION));
    }
}
