//! The executor's concurrency slots: at most `parallelism` provider calls in flight, and a
//! free slot goes to the waiting call with the **smallest priority key**, not to the one
//! that asked first.
//!
//! The keys come from [`group_keys`]: every action serves the actions that depend on it,
//! and its key is the smallest plan index among them (itself included). A fleet's plan is
//! many independent chains (VPC → vSwitch → workspace → project, bucket → workspace); with
//! first-come slots every chain advances one step per round in lockstep, so every
//! workspace's provisioning wait starts at the same late moment and nothing runs during
//! it. With the keys, the chains of the first workspaces go first and their waits overlap
//! the later chains' calls. Only the order of the waiting calls changes: a free slot is
//! never left unused while a call waits.
//!
//! # Guarantees
//! - At most `n` slots are held at once, and a slot is free again when its [`Slot`] is
//!   dropped.
//! - A free slot is handed to a waiting call at once; among waiters, the smallest key
//!   first, then the earliest asked.
//! - A waiter that gives up (its future dropped) never holds a slot: one handed to it as
//!   it gave up goes to the next waiter.

use std::collections::{BTreeSet, BinaryHeap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// The slots, shared by every task of one apply.
#[derive(Debug)]
pub(crate) struct Slots {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    free: usize,
    waiting: BinaryHeap<Waiter>,
    /// Tie-break among equal keys: the order of asking.
    asked: u64,
}

#[derive(Debug)]
struct Waiter {
    key: u64,
    asked: u64,
    hand: oneshot::Sender<Slot>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.asked) == (other.key, other.asked)
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    /// Reversed: `BinaryHeap` pops the greatest, and the smallest key goes first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.key, other.asked).cmp(&(self.key, self.asked))
    }
}

/// One held slot; dropping it frees the slot (to the next waiter, if any).
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Option<Arc<Slots>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            Slots::release(&slots);
        }
    }
}

impl Slots {
    /// `n` slots (at least one).
    pub(crate) fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                free: n.max(1),
                waiting: BinaryHeap::new(),
                asked: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The critical sections cannot panic half-way; a poisoned lock holds valid counts.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a call of priority `key` (smaller goes first), waiting while all are held.
    pub(crate) async fn acquire(self: &Arc<Self>, key: u64) -> Slot {
        let rx = {
            let mut inner = self.lock();
            if inner.free > 0 {
                inner.free -= 1;
                return Slot {
                    slots: Some(Arc::clone(self)),
                };
            }
            let (hand, rx) = oneshot::channel();
            inner.asked += 1;
            let asked = inner.asked;
            inner.waiting.push(Waiter { key, asked, hand });
            rx
        };
        match rx.await {
            Ok(slot) => slot,
            // The sender is only dropped unsent by `release`, which never does so: it either
            // hands the slot over or keeps the waiter. Ask again rather than fail a call.
            Err(_) => Box::pin(self.acquire(key)).await,
        }
    }

    fn release(self: &Arc<Self>) {
        let mut inner = self.lock();
        while let Some(w) = inner.waiting.pop() {
            let slot = Slot {
                slots: Some(Arc::clone(self)),
            };
            match w.hand.send(slot) {
                Ok(()) => return,
                // That waiter gave up: the slot goes to the next one (disarmed first, so
                // that dropping it does not release a second time).
                Err(mut back) => {
                    back.slots = None;
                }
            }
        }
        inner.free += 1;
    }

    /// Slots free now (tests).
    #[cfg(test)]
    fn free(&self) -> usize {
        self.lock().free
    }
}

/// Each action's priority key: the smallest index among the action and every action that
/// depends on it, directly or not (`dependents[i]`: the actions that wait for `i`).
pub(crate) fn group_keys(dependents: &[BTreeSet<usize>]) -> Vec<u64> {
    let n = dependents.len();
    let mut key: Vec<u64> = (0..n as u64).collect();
    // Relaxation to a fixed point, from the last action back: a plan lists an action before
    // those that depend on it, so one pass settles every key and a second confirms it (in
    // any other order it takes one pass per level of the deepest chain). Keys only
    // decrease, so the loop ends within `n` passes.
    for _ in 0..n.max(1) {
        let mut changed = false;
        for i in (0..n).rev() {
            let lowest = dependents[i]
                .iter()
                .filter_map(|&j| key.get(j).copied())
                .min()
                .unwrap_or(u64::MAX);
            if lowest < key[i] {
                key[i] = lowest;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_smallest_key_then_the_earliest() {
        let slots = Slots::new(1);
        let held = slots.acquire(5).await;
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        for (queued, (name, key)) in [("late-low", 9), ("first-high", 1), ("second-high", 1)]
            .into_iter()
            .enumerate()
        {
            let waiter = (Arc::clone(&slots), done_tx.clone());
            tokio::spawn(async move {
                let _slot = waiter.0.acquire(key).await;
                waiter.1.send(name).unwrap();
            });
            // Each waiter is queued before the next one is spawned.
            while slots.lock().waiting.len() <= queued {
                tokio::task::yield_now().await;
            }
        }
        drop(held);
        let order = [
            done.recv().await.unwrap(),
            done.recv().await.unwrap(),
            done.recv().await.unwrap(),
        ];
        assert_eq!(order, ["first-high", "second-high", "late-low"]);
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_never_keeps_a_slot() {
        let slots = Slots::new(2);
        let a = slots.acquire(0).await;
        let b = slots.acquire(0).await;
        assert_eq!(slots.free(), 0);
        // A waiter dropped while waiting.
        let gave_up = {
            let slots = Arc::clone(&slots);
            tokio::spawn(async move { slots.acquire(0).await })
        };
        while slots.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        gave_up.abort();
        let _ = gave_up.await;
        drop(a);
        // The slot was not lost to the aborted waiter.
        assert_eq!(slots.free(), 1);
        let c = slots.acquire(3).await;
        drop((b, c));
        assert_eq!(slots.free(), 2);
    }

    #[test]
    fn keys_follow_the_chains_to_their_first_member() {
        // 0: project of ws A, 1: project of ws B, 2: workspace A, 3: workspace B,
        // 4: vpc A, 5: vpc B, 6: a shared role every workspace needs.
        let mut dependents = vec![BTreeSet::new(); 7];
        dependents[2].insert(0);
        dependents[3].insert(1);
        dependents[4].insert(2);
        dependents[5].insert(3);
        dependents[6].extend([2, 3]);
        assert_eq!(group_keys(&dependents), [0, 1, 0, 1, 0, 1, 0]);
    }
}
