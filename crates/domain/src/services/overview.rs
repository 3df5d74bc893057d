//! An application's overview: counts and 30 days of sign-ups and redemptions.

use crate::overview::{ApplicationCounts, DailyActivity};
use crate::ports::{ApplicationStats, Clock};
use crate::values::ApplicationId;
use chrono::{Days, NaiveTime};
use std::sync::Arc;

/// Totals above this show as "10000+".
pub const COUNT_CAP: u64 = 10_000;
/// A day's sign-ups or redemptions above this show as "1000+": 60 day counts must fit in the
/// page's time budget too (about 0.2 ms each at this cap on an index-only scan).
pub const DAY_CAP: u64 = 1_000;
/// Days in the activity chart.
pub const CHART_DAYS: u64 = 30;

/// The overview service.
#[derive(Clone)]
pub struct ApplicationOverview {
    stats: Arc<dyn ApplicationStats>,
    clock: Arc<dyn Clock>,
}

impl ApplicationOverview {
    #[must_use]
    pub fn new(stats: Arc<dyn ApplicationStats>, clock: Arc<dyn Clock>) -> Self {
        Self { stats, clock }
    }

    /// # Errors
    /// Storage failures only.
    pub async fn counts(&self, app: ApplicationId) -> anyhow::Result<ApplicationCounts> {
        self.stats.counts(app, self.clock.now(), COUNT_CAP).await
    }

    /// The last [`CHART_DAYS`] UTC days, oldest first, today included.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn daily_activity(&self, app: ApplicationId) -> anyhow::Result<Vec<DailyActivity>> {
        let today = self.clock.now().date_naive();
        let mut ranges = Vec::new();
        for back in (0..CHART_DAYS).rev() {
            let Some(day) = today.checked_sub_days(Days::new(back)) else {
                continue;
            };
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                continue;
            };
            ranges.push((
                day,
                day.and_time(NaiveTime::MIN).and_utc(),
                next.and_time(NaiveTime::MIN).and_utc(),
            ));
        }
        // The days are independent: read them at once, over the pool.
        let days = futures_util::future::try_join_all(ranges.into_iter().map(
            |(day, from, until)| async move {
                let (sign_ups, redemptions) =
                    self.stats.activity(app, from, until, DAY_CAP).await?;
                Ok::<_, anyhow::Error>(DailyActivity {
                    day,
                    sign_ups,
                    redemptions,
                })
            },
        ))
        .await?;
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::Count;
    use crate::ports::{MockApplicationStats, MockClock};
    use crate::services::test_support::fixed_now;

    #[tokio::test]
    async fn the_chart_covers_thirty_utc_days_ending_today() {
        let mut stats = MockApplicationStats::new();
        stats
            .expect_activity()
            .times(30)
            .returning(|_, from, until, cap| {
                assert_eq!(until - from, chrono::Duration::days(1));
                assert_eq!(cap, DAY_CAP);
                Ok((Count::of(1, cap), Count::of(0, cap)))
            });
        let mut clock = MockClock::new();
        clock.expect_now().returning(fixed_now);
        let days = ApplicationOverview::new(Arc::new(stats), Arc::new(clock))
            .daily_activity(ApplicationId::generate())
            .await
            .unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days.last().map(|d| d.day), Some(fixed_now().date_naive()));
    }

    #[test]
    fn a_count_past_the_cap_says_so() {
        assert_eq!(
            Count::of(10_001, 10_000),
            Count {
                value: 10_000,
                capped: true
            }
        );
        assert_eq!(
            Count::of(7, 10_000),
            Count {
                value: 7,
                capped: false
            }
        );
    }
}
