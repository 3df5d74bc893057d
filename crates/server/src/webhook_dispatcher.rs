//! The webhook dispatcher: one loop per replica that sends what the outbox queued. It wakes
//! when this process commits a delivery, and polls for those of other replicas and for
//! retries coming due. Replicas share the work through the store's claims
//! ([`domain::ports::WebhookStore::claim_due`]).

use domain::Latchkey;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the dispatcher waits, once woken by a commit, for more to come.
const LINGER: Duration = Duration::from_millis(10);

pub struct Dispatcher {
    pub service: Arc<Latchkey>,
    pub queued: Arc<Notify>,
    pub poll_interval: Duration,
    pub lease: chrono::Duration,
    pub concurrency: u64,
}

impl Dispatcher {
    /// Runs until the task is aborted. A delivery being sent then is sent again by whichever
    /// replica claims it after its lease: receivers drop the duplicate by `webhook-id`.
    pub async fn run(self) {
        loop {
            let full = match self
                .service
                .deliver_due_webhooks(self.lease, self.concurrency)
                .await
            {
                Ok(outcomes) => {
                    for outcome in &outcomes {
                        metrics::counter!(
                            "latchkey_webhook_attempts_total",
                            "outcome" => outcome.as_str()
                        )
                        .increment(1);
                    }
                    outcomes.len() as u64 >= self.concurrency
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "delivering webhooks failed; retrying at the next poll"
                    );
                    false
                }
            };
            // A full batch means more may be due: go on at once.
            if !full {
                tokio::select! {
                    () = self.queued.notified() => {
                        // Under load, commits come a few per millisecond: lingering lets one
                        // claim take many of them, not a round of statements for each.
                        tokio::time::sleep(LINGER).await;
                    }
                    () = tokio::time::sleep(self.poll_interval) => {}
                }
            }
        }
    }
}
