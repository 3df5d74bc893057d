//! The webhook dispatcher: one loop per replica that delivers the committed events (the
//! outbox) and the deliveries due again. It wakes when this process commits an event an
//! endpoint subscribes to, and polls for those of other replicas and for retries coming due.
//! Replicas share the work through leases: one takes the new events at a time
//! ([`domain::ports::WebhookStore::take_new_events`]), and each claims its own due
//! deliveries ([`domain::ports::WebhookStore::claim_due`]).

use domain::Latchkey;
use domain::webhook::FanOutRound;
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
            let (mut full, mut soon) = (false, false);
            match self
                .service
                .deliver_new_events(self.lease, self.concurrency)
                .await
            {
                Ok(FanOutRound::Delivered { events, outcomes }) => {
                    count(&outcomes);
                    full = events >= self.concurrency;
                }
                // Transactions begun before the last commits are still open: they end in
                // milliseconds, and nothing else may wake this loop when they do.
                Ok(FanOutRound::NotYet) => soon = true,
                Ok(FanOutRound::Nothing) => {}
                Err(error) => warn(&error),
            }
            match self
                .service
                .deliver_due_webhooks(self.lease, self.concurrency)
                .await
            {
                Ok(outcomes) => {
                    count(&outcomes);
                    full |= outcomes.len() as u64 >= self.concurrency;
                }
                Err(error) => warn(&error),
            }
            // A full batch of either means more may wait: go on at once.
            if soon && !full {
                tokio::time::sleep(LINGER).await;
            } else if !full {
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

fn count(outcomes: &[domain::webhook::AttemptOutcome]) {
    for outcome in outcomes {
        metrics::counter!("latchkey_webhook_attempts_total", "outcome" => outcome.as_str())
            .increment(1);
    }
}

fn warn(error: &anyhow::Error) {
    tracing::warn!(
        error = format!("{error:#}"),
        "delivering webhooks failed; retrying at the next poll"
    );
}
