//! Cancellation of an apply (the first Ctrl-C): nothing new starts, waits stop at their next
//! poll, and the calls in flight finish and are recorded.

use std::sync::Arc;

use tokio::sync::watch;

/// A shared cancellation flag. Clones share it; [`Cancellation::default`] is a fresh one
/// nobody has cancelled.
#[derive(Debug, Clone)]
pub struct Cancellation {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Cancellation {
    fn default() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Cancellation {
    /// Cancels (idempotent).
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether it was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once it is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so the channel never closes while this waits.
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Two handles are equal when they are in the same state: options compare by what they ask
/// for, and a handle is not a setting.
impl PartialEq for Cancellation {
    fn eq(&self, other: &Self) -> bool {
        self.is_cancelled() == other.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_the_flag_and_waiters_wake() {
        let c = Cancellation::default();
        let other = c.clone();
        assert!(!other.is_cancelled());
        let waiter = tokio::spawn(async move { other.cancelled().await });
        c.cancel();
        waiter.await.expect("joins");
        assert!(c.is_cancelled());
        // Already cancelled: resolves at once.
        c.cancelled().await;
    }
}
