//! Reads of one kind, account and region in progress together (the polls of a fleet's
//! resources while they are created) answered from one listing per round.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value as Json;

use super::find_by;
use super::observe::Listing;
use crate::client::ApiError;

/// A listing shared by batched reads, with when its first call started.
type Shared = (tokio::time::Instant, Arc<Listing>);

/// The reads of one kind in one account and region.
#[derive(Debug, Default)]
pub(crate) struct PollBatch {
    /// Reads in progress.
    active: AtomicUsize,
    /// The last full listing and when its first call started.
    last: tokio::sync::Mutex<Option<Shared>>,
}

/// Counts a read in progress until dropped.
struct Active<'a>(&'a AtomicUsize);

impl Active<'_> {
    fn others(&self) -> usize {
        self.0.load(Ordering::SeqCst).saturating_sub(1)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The entry whose `id_field` is `id`, as the cloud shows it at or after this call: `one`
/// lists just that id, `all` the whole region.
///
/// # Guarantees
/// - The answer comes from a call that started after this read was asked for (a poll never
///   sees an older state than its own start).
/// - Reads of one batch in progress together share listings: a read alone asks for its one
///   id (`one`); a read while others are in progress lists the whole region (`all`) for
///   all of them, and every read queued meanwhile whose ask came before that listing
///   started takes its answer from it.
pub(super) async fn read<One, All>(
    batch: &PollBatch,
    id_field: &'static str,
    id: &str,
    one: One,
    all: All,
) -> Result<Option<Json>, ApiError>
where
    One: Future<Output = Result<Vec<Json>, ApiError>>,
    All: Future<Output = Result<Vec<Json>, ApiError>>,
{
    let asked = tokio::time::Instant::now();
    batch.active.fetch_add(1, Ordering::SeqCst);
    let active = Active(&batch.active);
    let mut last = batch.last.lock().await;
    if let Some((started, listing)) = &*last
        && *started >= asked
    {
        return Ok(listing.by_id(id).cloned());
    }
    if active.others() == 0 {
        drop(last);
        let list = one.await?;
        return Ok(find_by(&list, id_field, id).cloned());
    }
    let started = tokio::time::Instant::now();
    let listing = Arc::new(Listing::new(all.await?, id_field));
    let hit = listing.by_id(id).cloned();
    *last = Some((started, listing));
    Ok(hit)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::oneshot;

    use super::*;

    fn entry(id: &str, status: &str) -> Json {
        serde_json::json!({"VpcId": id, "Status": status})
    }

    /// A listing call that counts itself, waits for `gate` (when given) and answers `items`.
    fn listing(
        calls: &Arc<AtomicUsize>,
        items: Vec<Json>,
        gate: Option<oneshot::Receiver<()>>,
    ) -> impl Future<Output = Result<Vec<Json>, ApiError>> + Send + 'static {
        let calls = Arc::clone(calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            Ok(items)
        }
    }

    /// Yields until `cond` holds (the spawned reads have reached the point looked for).
    async fn until(cond: impl Fn() -> bool) {
        while !cond() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_read_alone_asks_for_its_id_and_reads_waiting_together_share_a_listing() {
        let batch = Arc::new(PollBatch::default());
        let (one, all) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let region = vec![entry("vpc-1", "Pending"), entry("vpc-2", "Available")];
        let calls = |one: &AtomicUsize, all: &AtomicUsize| {
            (one.load(Ordering::SeqCst), all.load(Ordering::SeqCst))
        };

        // Alone: the one-id call.
        let hit = read(
            &batch,
            "VpcId",
            "vpc-1",
            listing(&one, vec![entry("vpc-1", "Pending")], None),
            listing(&all, region.clone(), None),
        )
        .await
        .unwrap();
        assert_eq!(hit, Some(entry("vpc-1", "Pending")));
        assert_eq!(calls(&one, &all), (1, 0));

        // A read `h` alone, held in its one-id call; then `p`, not alone, lists the region
        // (held too), holding the batch; then `q` and `r` ask and wait for it.
        let spawn = |id: &'static str, one_fut, all_fut| {
            let batch = Arc::clone(&batch);
            tokio::spawn(async move { read(&batch, "VpcId", id, one_fut, all_fut).await })
        };
        let (h_go, h_gate) = oneshot::channel();
        let h = spawn(
            "vpc-2",
            listing(&one, vec![entry("vpc-2", "Available")], Some(h_gate)),
            listing(&all, vec![], None),
        );
        until(|| calls(&one, &all) == (2, 0)).await;
        let (p_go, p_gate) = oneshot::channel();
        let p = spawn(
            "vpc-1",
            listing(&one, vec![], None),
            listing(&all, region.clone(), Some(p_gate)),
        );
        until(|| calls(&one, &all) == (2, 1)).await;
        let q = spawn(
            "vpc-1",
            listing(&one, vec![], None),
            listing(&all, region.clone(), None),
        );
        let r = spawn(
            "vpc-2",
            listing(&one, vec![], None),
            listing(&all, region.clone(), None),
        );
        until(|| batch.active.load(Ordering::SeqCst) == 4).await;
        // `p`'s listing started before `q` and `r` asked: neither may take it. `q` lists the
        // region again (others wait), and `r`, which asked before that listing started,
        // takes its answer from it.
        p_go.send(()).unwrap();
        assert_eq!(p.await.unwrap().unwrap(), Some(entry("vpc-1", "Pending")));
        assert_eq!(q.await.unwrap().unwrap(), Some(entry("vpc-1", "Pending")));
        assert_eq!(r.await.unwrap().unwrap(), Some(entry("vpc-2", "Available")));
        assert_eq!(calls(&one, &all), (2, 2), "r shared q's listing");
        h_go.send(()).unwrap();
        assert_eq!(h.await.unwrap().unwrap(), Some(entry("vpc-2", "Available")));
        assert_eq!(batch.active.load(Ordering::SeqCst), 0);
    }
}
