//! Waiting on a condition only visible from outside: a server in another process or task,
//! deliveries made in the background.

use std::time::{Duration, Instant};

/// Polls `condition` until it holds, for at most 30 s.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, condition: F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
