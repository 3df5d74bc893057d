//! Housekeeping the server runs on a timer, not on a request.

use super::Latchkey;
use std::future::Future;

/// Rows deleted per statement: small enough that a large backlog never holds locks for
/// long, large enough that a minute's sign-ins take few statements.
pub const PURGE_BATCH: u64 = 1000;

/// Calls `delete_batch` until a batch deletes fewer than [`PURGE_BATCH`] rows; how many
/// it deleted in all.
pub(crate) async fn in_batches<F, Fut>(mut delete_batch: F) -> anyhow::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    let mut deleted = 0;
    loop {
        let batch = delete_batch().await?;
        deleted += batch;
        if batch < PURGE_BATCH {
            return Ok(deleted);
        }
    }
}

impl Latchkey {
    /// Deletes sessions that expired more than `retention` ago, batch after batch, and says how
    /// many. An expired session answers 401 whether its row exists or not; the row is kept for
    /// `retention` only so that recent sign-ins can still be looked at.
    ///
    /// # Errors
    /// When the store fails; the sessions deleted until then stay deleted.
    pub async fn purge_expired_sessions(&self, retention: chrono::Duration) -> anyhow::Result<u64> {
        let before = self.ports.clock.now() - retention;
        in_batches(|| self.ports.sessions.delete_expired(before, PURGE_BATCH)).await
    }

    /// Deletes expired bans, batch after batch, and says how many. An expired ban never
    /// matches whether its row exists or not; the purge only keeps the table to the bans
    /// in force.
    ///
    /// # Errors
    /// When the store fails; the bans deleted until then stay deleted.
    pub async fn purge_expired_bans(&self) -> anyhow::Result<u64> {
        let now = self.ports.clock.now();
        in_batches(|| self.ports.bans.delete_expired(now, PURGE_BATCH)).await
    }

    /// Deletes events that occurred more than `retention` ago, batch after batch, and says how
    /// many: the audit log's retention, and the only deletion of events there is.
    ///
    /// # Errors
    /// When the store fails; the events deleted until then stay deleted.
    pub async fn purge_old_events(&self, retention: chrono::Duration) -> anyhow::Result<u64> {
        let before = self.ports.clock.now() - retention;
        in_batches(|| self.ports.events.delete_older_than(before, PURGE_BATCH)).await
    }

    /// Deletes webhook deliveries done and queued more than `retention` ago (the audit
    /// log's), with their attempts, batch after batch; how many.
    ///
    /// # Errors
    /// When the store fails; the deliveries deleted until then stay deleted.
    pub async fn purge_old_deliveries(&self, retention: chrono::Duration) -> anyhow::Result<u64> {
        let before = self.ports.clock.now() - retention;
        in_batches(|| {
            self.ports
                .webhooks
                .delete_finished_before(before, PURGE_BATCH)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::{Mocks, fixed_now};
    use mockall::Sequence;

    #[tokio::test]
    async fn sessions_expired_longer_than_the_retention_are_deleted_batch_after_batch() {
        let mut mocks = Mocks::default();
        let mut order = Sequence::new();
        for deleted in [PURGE_BATCH, PURGE_BATCH, 7] {
            mocks
                .sessions
                .expect_delete_expired()
                .withf(|before, batch| {
                    *before == fixed_now() - chrono::Duration::hours(1) && *batch == PURGE_BATCH
                })
                .times(1)
                .in_sequence(&mut order)
                .returning(move |_, _| Ok(deleted));
        }
        let deleted = mocks
            .service()
            .purge_expired_sessions(chrono::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(deleted, 2 * PURGE_BATCH + 7);
    }

    #[tokio::test]
    async fn bans_expired_by_now_are_deleted_batch_after_batch() {
        let mut mocks = Mocks::default();
        let mut order = Sequence::new();
        for deleted in [PURGE_BATCH, 0] {
            mocks
                .bans
                .expect_delete_expired()
                .withf(|now, batch| *now == fixed_now() && *batch == PURGE_BATCH)
                .times(1)
                .in_sequence(&mut order)
                .returning(move |_, _| Ok(deleted));
        }
        let deleted = mocks.service().purge_expired_bans().await.unwrap();
        assert_eq!(deleted, PURGE_BATCH);
    }

    #[tokio::test]
    async fn events_older_than_the_retention_are_deleted_batch_after_batch() {
        let mut mocks = Mocks::default();
        let mut order = Sequence::new();
        for deleted in [PURGE_BATCH, 0] {
            mocks
                .events
                .expect_delete_older_than()
                .withf(|before, batch| {
                    *before == fixed_now() - chrono::Duration::days(180) && *batch == PURGE_BATCH
                })
                .times(1)
                .in_sequence(&mut order)
                .returning(move |_, _| Ok(deleted));
        }
        let service = mocks.service();
        let deleted = service.purge_old_events(chrono::Duration::days(180)).await;
        assert_eq!(deleted.unwrap(), PURGE_BATCH);
    }

    #[tokio::test]
    async fn a_store_failure_stops_the_purge_and_is_reported() {
        let mut mocks = Mocks::default();
        mocks
            .sessions
            .expect_delete_expired()
            .times(1)
            .returning(|_, _| Err(anyhow::anyhow!("the database is down")));
        let service = mocks.service();
        let purge = service.purge_expired_sessions(chrono::Duration::hours(1));
        assert!(purge.await.is_err());
    }
}
