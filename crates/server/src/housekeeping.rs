//! Work on a timer rather than on a request: purging sessions that expired long ago and bans
//! that expired, so neither table grows forever.

use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// How often expired rows are purged; the first purge runs at start.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Calls `purge` now and then every `every`, for as long as it is polled, logging how many
/// `what` it deleted. A failure is logged and retried at the next tick: a database that is
/// down must not stop the purging for good.
pub async fn purge_periodically<F, Fut>(every: Duration, what: &'static str, purge: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match purge().await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "purged expired {what}"),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "purging expired {what} failed; trying again at the next tick"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn purges_at_start_then_every_period_and_a_failure_does_not_stop_it() {
        let (calls, mut called) = tokio::sync::mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let task = tokio::spawn(purge_periodically(PURGE_EVERY, "sessions", move || {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let _ = calls.send(Instant::now());
            async move {
                if n == 1 {
                    anyhow::bail!("the database is down");
                }
                Ok(3)
            }
        }));
        let mut at = Vec::new();
        for _ in 0..4 {
            at.push(called.recv().await.unwrap() - started);
        }
        task.abort();
        assert_eq!(
            at,
            [0, 1, 2, 3].map(|n| PURGE_EVERY * n),
            "at start, then once a period, the failed second purge included"
        );
    }
}
