//! The backend conformance suite (`flinkform_state::conformance`) against PostgreSQL: each
//! property on new stacks of one database of this test process's throwaway server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use flinkform_state::Backend;
use flinkform_state::conformance::{self, TestStack};
use flinkform_state_pg::PgBackend;
use flinkform_state_pg::testing;

/// New stacks in a new database, or `None` (with the notice) without PostgreSQL.
fn stacks(test: &str) -> Option<impl Fn() -> TestStack + Sync> {
    let server = testing::shared_or_skip(test)?;
    let db = server.create_database();
    let next = AtomicU32::new(0);
    Some(move || {
        let url = server.url(&db, &format!("c{}", next.fetch_add(1, Ordering::SeqCst)));
        let open_url = url.clone();
        TestStack {
            open: Box::new(move || {
                Box::new(PgBackend::open(&open_url).expect("url")) as Box<dyn Backend>
            }),
            leave_dead_holder: Box::new(move || testing::leave_dead_holder(&url)),
        }
    })
}

macro_rules! conformance {
    ($($property:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $property() {
            let Some(make) = stacks(stringify!($property)) else {
                return;
            };
            conformance::$property(&make).await;
        }
    )*};
}

conformance!(
    new_stack_reads_empty,
    commit_reads_back,
    noop_commit_keeps_serial,
    serial_bumps_by_one_per_commit,
    every_change_kind_round_trips,
    lock_is_exclusive_with_owner_info,
    lock_timeout_waits_then_names_the_holder,
    lock_released_on_drop,
    finish_keeps_commits_and_releases,
    stale_lock_of_dead_holder,
    force_unlock_needs_the_right_id,
    replace_rules,
    history_lists_serials,
    read_serial_gives_each_kept_version,
);
