//! The console's user screens: search by name, a user's ledger and live sessions, time
//! adjustments with a reason (one user or a selection), and deletion.

use super::{Latchkey, events};
use crate::errors::UserAdminError;
use crate::event::ChangedBy;
use crate::page::{Page, PageRequest};
use crate::user::{Adjustment, User, UserDetails};
use crate::values::{ApplicationId, UserId, Username};
use async_trait::async_trait;

/// At most this many users per bulk adjustment: one page of the console's list.
pub const MAX_SELECTED_USERS: usize = 200;

/// What a bulk adjustment did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkAdjustment {
    pub adjusted: u64,
    /// Lifetime memberships, left as they are (time means nothing to them).
    pub lifetime_skipped: u64,
    /// Not users of this application (deleted meanwhile, or a forged id).
    pub unknown: u64,
}

/// Why an adjustment's reason is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the reason must be at most {} characters",
    Adjustment::MAX_REASON_CHARS
)]
pub struct ReasonTooLong;

/// An adjustment's reason: trimmed, empty is none.
///
/// # Errors
/// [`ReasonTooLong`].
pub fn adjustment_reason(raw: &str) -> Result<Option<String>, ReasonTooLong> {
    let reason = raw.trim();
    if reason.chars().count() > Adjustment::MAX_REASON_CHARS {
        return Err(ReasonTooLong);
    }
    Ok((!reason.is_empty()).then(|| reason.to_owned()))
}

/// The console's reads and changes of users beyond the admin API's.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserDirectoryApi: Send + Sync {
    /// Users whose name starts with `query` (compared as canonical usernames: case and width
    /// do not matter), in name order; an empty query lists the newest users first.
    async fn search_users(
        &self,
        app: ApplicationId,
        query: &str,
        page: PageRequest,
    ) -> anyhow::Result<Page<User>>;
    /// One user with their devices; `None` when the application has no such user.
    async fn user(&self, app: ApplicationId, user: UserId) -> anyhow::Result<Option<UserDetails>>;
    /// The usernames of those of `users` that exist (for naming who used a license).
    async fn usernames(
        &self,
        app: ApplicationId,
        users: &[UserId],
    ) -> anyhow::Result<Vec<(UserId, String)>>;
    /// The user's membership ledger, newest first.
    async fn ledger(
        &self,
        app: ApplicationId,
        user: UserId,
        page: PageRequest,
    ) -> anyhow::Result<Page<Adjustment>>;
    /// How many of the user's sessions are live now.
    async fn live_sessions(&self, app: ApplicationId, user: UserId) -> anyhow::Result<u64>;
    /// Adds (positive) or removes (negative) minutes, with the reason in the ledger.
    async fn adjust_time(
        &self,
        app: ApplicationId,
        user: UserId,
        minutes: i64,
        reason: Option<String>,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError>;
    /// [`Self::adjust_time`] for each user (each under its own lock, with its own event);
    /// lifetime memberships are skipped.
    async fn adjust_many(
        &self,
        app: ApplicationId,
        users: &[UserId],
        minutes: i64,
        reason: Option<String>,
        by: &ChangedBy,
    ) -> anyhow::Result<BulkAdjustment>;
    /// Deletes the user (`user.deleted`); `false` when there is no such user.
    async fn delete_user(
        &self,
        app: ApplicationId,
        user: UserId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool>;
}

#[async_trait]
impl UserDirectoryApi for Latchkey {
    async fn search_users(
        &self,
        app: ApplicationId,
        query: &str,
        page: PageRequest,
    ) -> anyhow::Result<Page<User>> {
        let prefix = Username::search_prefix(query);
        if prefix.is_empty() {
            return self.ports.users.list(app, &page).await;
        }
        self.ports.users.search(app, &prefix, &page).await
    }

    async fn user(&self, app: ApplicationId, user: UserId) -> anyhow::Result<Option<UserDetails>> {
        match self.details(app, user).await {
            Ok(details) => Ok(Some(details)),
            Err(UserAdminError::UnknownUser) => Ok(None),
            Err(error) => Err(anyhow::Error::new(error).context("reading a user")),
        }
    }

    async fn usernames(
        &self,
        app: ApplicationId,
        users: &[UserId],
    ) -> anyhow::Result<Vec<(UserId, String)>> {
        // One query for a page's worth: a page names at most a page of users.
        let found = self
            .ports
            .users
            .find_many(app, &users[..users.len().min(MAX_SELECTED_USERS)])
            .await?;
        Ok(found
            .into_iter()
            .map(|user| (user.id, user.username))
            .collect())
    }

    async fn ledger(
        &self,
        app: ApplicationId,
        user: UserId,
        page: PageRequest,
    ) -> anyhow::Result<Page<Adjustment>> {
        self.ports.users.ledger(app, user, &page).await
    }

    async fn live_sessions(&self, app: ApplicationId, user: UserId) -> anyhow::Result<u64> {
        self.ports
            .sessions
            .count_live(app, user, self.ports.clock.now())
            .await
    }

    async fn adjust_time(
        &self,
        app: ApplicationId,
        user: UserId,
        minutes: i64,
        reason: Option<String>,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError> {
        self.adjust(app, user, by, |membership| {
            if membership.is_lifetime {
                return Err(UserAdminError::LifetimeMembership);
            }
            Ok(Adjustment {
                reason,
                ..self.admin_adjustment(minutes, false, false)
            })
        })
        .await
    }

    async fn adjust_many(
        &self,
        app: ApplicationId,
        users: &[UserId],
        minutes: i64,
        reason: Option<String>,
        by: &ChangedBy,
    ) -> anyhow::Result<BulkAdjustment> {
        let mut outcome = BulkAdjustment::default();
        for user in &users[..users.len().min(MAX_SELECTED_USERS)] {
            match self
                .adjust_time(app, *user, minutes, reason.clone(), by)
                .await
            {
                Ok(_) => outcome.adjusted += 1,
                Err(UserAdminError::LifetimeMembership) => outcome.lifetime_skipped += 1,
                Err(UserAdminError::UnknownUser) => outcome.unknown += 1,
                Err(error) => {
                    return Err(anyhow::Error::new(error).context("adjusting a selection"));
                }
            }
        }
        Ok(outcome)
    }

    async fn delete_user(
        &self,
        app: ApplicationId,
        user: UserId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool> {
        let Some(stored) = self.ports.users.get(app, user).await? else {
            return Ok(false);
        };
        let deleted = events::user_deleted(app, &stored, by, self.ports.clock.now());
        self.ports.users.delete(app, user, &[deleted]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Detail, EventType};
    use crate::ports::MockTransaction;
    use crate::services::test_support::{Mocks, password_user};
    use crate::user::Membership;

    fn operator() -> ChangedBy {
        ChangedBy {
            actor: Actor::Operator,
            context: None,
        }
    }

    #[test]
    fn a_reason_is_trimmed_empty_is_none_and_long_is_refused() {
        assert_eq!(adjustment_reason("  promo  "), Ok(Some("promo".to_owned())));
        assert_eq!(adjustment_reason("   "), Ok(None));
        assert_eq!(adjustment_reason(&"x".repeat(501)), Err(ReasonTooLong));
    }

    #[tokio::test]
    async fn a_search_compares_the_canonical_start_of_names_and_an_empty_one_lists_the_newest() {
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_search()
            .withf(|_, prefix, _| prefix == "alice")
            .times(1)
            .returning(|_, _, _| {
                Ok(Page {
                    items: vec![],
                    next: None,
                })
            });
        mocks.users.expect_list().times(1).returning(|_, _| {
            Ok(Page {
                items: vec![],
                next: None,
            })
        });
        let service = mocks.service();
        let app = ApplicationId::generate();
        service
            .search_users(app, " ＡLICE ", PageRequest::first())
            .await
            .unwrap();
        service
            .search_users(app, "  ", PageRequest::first())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_bulk_adjustment_records_the_reason_and_skips_lifetime_members() {
        let mut mocks = Mocks::default();
        let member = password_user();
        let lifetime = User {
            id: UserId::generate(),
            membership: Membership {
                is_lifetime: true,
                active_until: None,
            },
            ..password_user()
        };
        let mut first = MockTransaction::new();
        let locked = member.clone();
        first
            .expect_lock_user()
            .return_once(move |_, _, _| Ok(Some(locked)));
        first
            .expect_adjust_membership()
            .withf(|_, _, _, adjustment| {
                adjustment.minutes == 90 && adjustment.reason.as_deref() == Some("outage")
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        first
            .expect_record_events()
            .withf(|events| {
                events[0].event_type == EventType::MembershipAdjusted
                    && events[0].summary.get("reason") == Some(&Detail::from("outage"))
            })
            .times(1)
            .returning(|_| Ok(()));
        first.expect_commit().times(1).return_once(|| Ok(()));
        let mut second = MockTransaction::new();
        let locked = lifetime.clone();
        second
            .expect_lock_user()
            .return_once(move |_, _, _| Ok(Some(locked)));
        second.expect_adjust_membership().never();
        let mut third = MockTransaction::new();
        third.expect_lock_user().return_once(|_, _, _| Ok(None));
        let mut transactions = vec![third, second, first];
        mocks
            .unit_of_work
            .expect_begin()
            .times(3)
            .returning(move || Ok(Box::new(transactions.pop().unwrap())));
        let stored = member.clone();
        mocks
            .users
            .expect_get()
            .return_once(move |_, _| Ok(Some(stored)));
        mocks
            .devices
            .expect_list_for_user()
            .return_once(|_, _| Ok(vec![]));
        let outcome = mocks
            .service()
            .adjust_many(
                ApplicationId::generate(),
                &[member.id, lifetime.id, UserId::generate()],
                90,
                Some("outage".to_owned()),
                &operator(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            BulkAdjustment {
                adjusted: 1,
                lifetime_skipped: 1,
                unknown: 1
            }
        );
    }

    #[tokio::test]
    async fn deleting_a_user_records_user_deleted_with_the_deletion() {
        let mut mocks = Mocks::default();
        let user = password_user();
        let id = user.id;
        mocks
            .users
            .expect_get()
            .return_once(move |_, _| Ok(Some(user)));
        mocks
            .users
            .expect_delete()
            .withf(move |_, deleted, events| {
                *deleted == id
                    && events.len() == 1
                    && events[0].event_type == EventType::UserDeleted
            })
            .times(1)
            .return_once(|_, _, _| Ok(true));
        assert!(
            mocks
                .service()
                .delete_user(ApplicationId::generate(), id, &operator())
                .await
                .unwrap()
        );
    }
}
