//! Housekeeping the server runs on a timer, not on a request.

use super::Latchkey;

/// Sessions deleted per statement: small enough that a large backlog never holds locks for
/// long, large enough that a minute's sign-ins take few statements.
pub const SESSION_PURGE_BATCH: u64 = 1000;

impl Latchkey {
    /// Deletes sessions that expired more than `retention` ago, batch after batch, and says how
    /// many. An expired session answers 401 whether its row exists or not; the row is kept for
    /// `retention` only so that recent sign-ins can still be looked at.
    ///
    /// # Errors
    /// When the store fails; the sessions deleted until then stay deleted.
    pub async fn purge_expired_sessions(&self, retention: chrono::Duration) -> anyhow::Result<u64> {
        let before = self.ports.clock.now() - retention;
        let mut deleted = 0;
        loop {
            let batch = self
                .ports
                .sessions
                .delete_expired(before, SESSION_PURGE_BATCH)
                .await?;
            deleted += batch;
            if batch < SESSION_PURGE_BATCH {
                return Ok(deleted);
            }
        }
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
        for deleted in [SESSION_PURGE_BATCH, SESSION_PURGE_BATCH, 7] {
            mocks
                .sessions
                .expect_delete_expired()
                .withf(|before, batch| {
                    *before == fixed_now() - chrono::Duration::hours(1)
                        && *batch == SESSION_PURGE_BATCH
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
        assert_eq!(deleted, 2 * SESSION_PURGE_BATCH + 7);
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
