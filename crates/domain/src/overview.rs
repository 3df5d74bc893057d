//! What an application's overview shows: counts and daily activity. Counts are exact up to a
//! cap and then shown as "cap+": each is one index range read that stops at the cap, so the
//! page costs the same for a thousand users as for ten million.

use chrono::NaiveDate;

/// A count that stopped at a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub value: u64,
    /// `true` when there are more than `value`.
    pub capped: bool,
}

impl Count {
    /// `counted` rows read with a limit of `cap + 1`.
    #[must_use]
    pub const fn of(counted: u64, cap: u64) -> Self {
        if counted > cap {
            Self {
                value: cap,
                capped: true,
            }
        } else {
            Self {
                value: counted,
                capped: false,
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationCounts {
    pub users: Count,
    /// Lifetime, or active until later than now.
    pub active_memberships: Count,
    pub licenses_used: Count,
    pub licenses_unused: Count,
    pub bans: Count,
}

/// One UTC day's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyActivity {
    pub day: NaiveDate,
    pub sign_ups: Count,
    pub redemptions: Count,
}
