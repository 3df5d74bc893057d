//! The admin API's user management: membership time, lifetime access, devices, limits, the
//! user list, and application variables. Changes to one user run in a transaction that locks
//! the user's row, so they never interleave with that user's sign-ins or activations.

use super::{DeviceResetTarget, Latchkey, UserAdminApi, UserPage, VariablePage, events};
use crate::application::Application;
use crate::errors::UserAdminError;
use crate::event::ChangedBy;
use crate::page::{Page, PageRequest};
use crate::session::{UserVariable, Variable};
use crate::user::{Adjustment, AdjustmentKind, User, UserDetails, UserLimits};
use crate::values::{AdjustmentId, ApplicationId, UserId};
use async_trait::async_trait;

impl Latchkey {
    pub(super) async fn details(
        &self,
        app: ApplicationId,
        user: UserId,
    ) -> Result<UserDetails, UserAdminError> {
        let user = self
            .ports
            .users
            .get(app, user)
            .await?
            .ok_or(UserAdminError::UnknownUser)?;
        let devices = self.ports.devices.list_for_user(app, user.id).await?;
        let ban = self.user_ban(app, user.id).await?;
        Ok(UserDetails { user, devices, ban })
    }

    /// Applies an admin adjustment to the user's membership, under the user's lock.
    pub(super) async fn adjust(
        &self,
        app: ApplicationId,
        user: UserId,
        by: &ChangedBy,
        adjustment: impl FnOnce(&crate::user::Membership) -> Result<Adjustment, UserAdminError>,
    ) -> Result<UserDetails, UserAdminError> {
        let now = self.ports.clock.now();
        let mut tx = self.ports.unit_of_work.begin().await?;
        let locked = tx
            .lock_user(app, user, None)
            .await?
            .ok_or(UserAdminError::UnknownUser)?;
        let adjustment = adjustment(&locked.membership)?;
        let membership = locked.membership.after(&adjustment, now);
        tx.adjust_membership(app, user, membership, &adjustment)
            .await?;
        let adjusted = events::membership_adjusted(app, user, &adjustment, by);
        tx.record_events(&[adjusted]).await?;
        tx.commit().await?;
        self.details(app, user).await
    }

    pub(super) fn admin_adjustment(&self, minutes: i64, grants: bool, revokes: bool) -> Adjustment {
        Adjustment {
            id: AdjustmentId::generate(),
            kind: AdjustmentKind::Admin,
            occurred_at: self.ports.clock.now(),
            minutes,
            grants_lifetime_access: grants,
            revokes_lifetime_access: revokes,
            license_id: None,
            reason: None,
        }
    }
}

#[async_trait]
impl UserAdminApi for Latchkey {
    async fn adjust_membership_time(
        &self,
        app: ApplicationId,
        user: UserId,
        minutes: i64,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError> {
        self.adjust(app, user, by, |membership| {
            if membership.is_lifetime {
                return Err(UserAdminError::LifetimeMembership);
            }
            Ok(self.admin_adjustment(minutes, false, false))
        })
        .await
    }

    async fn set_lifetime_access(
        &self,
        app: ApplicationId,
        user: UserId,
        grant: bool,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError> {
        self.adjust(app, user, by, |_| {
            Ok(self.admin_adjustment(0, grant, !grant))
        })
        .await
    }

    async fn reset_devices(
        &self,
        app: &Application,
        target: DeviceResetTarget,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError> {
        let user = match target {
            DeviceResetTarget::User(user) => user,
            DeviceResetTarget::Credentials(credentials) => self
                .user_with_credentials(app, &credentials)
                .await?
                .map(|(user, _)| user.id)
                .ok_or(UserAdminError::InvalidCredentials)?,
        };
        let mut tx = self.ports.unit_of_work.begin().await?;
        tx.lock_user(app.id, user, None)
            .await?
            .ok_or(UserAdminError::UnknownUser)?;
        let removed = tx.delete_devices(app.id, user).await?;
        let now = self.ports.clock.now();
        let reset = events::devices_reset(app.id, user, removed, by, now);
        tx.record_events(&[reset]).await?;
        tx.commit().await?;
        self.details(app.id, user).await
    }

    async fn set_user_limits(
        &self,
        app: ApplicationId,
        user: UserId,
        limits: UserLimits,
    ) -> Result<UserDetails, UserAdminError> {
        if !self.ports.users.set_limits(app, user, &limits).await? {
            return Err(UserAdminError::UnknownUser);
        }
        self.details(app, user).await
    }

    async fn list_users(
        &self,
        app: ApplicationId,
        page: PageRequest,
    ) -> anyhow::Result<Page<User>> {
        self.ports.users.list(app, &page).await
    }

    async fn list_users_by_offset(
        &self,
        app: ApplicationId,
        page: u64,
        per_page: u64,
    ) -> anyhow::Result<UserPage> {
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        let (users, total) = self
            .ports
            .users
            .list_by_offset(app, offset, per_page)
            .await?;
        Ok(UserPage { users, total })
    }

    async fn list_variables(&self, app: ApplicationId) -> anyhow::Result<Vec<Variable>> {
        self.ports.variables.list(app).await
    }

    async fn list_variables_page(
        &self,
        app: ApplicationId,
        after: Option<String>,
        limit: u64,
    ) -> anyhow::Result<VariablePage> {
        let limit = limit.clamp(1, PageRequest::MAX_LIMIT);
        // One more than asked for says whether another page follows.
        let mut variables = self
            .ports
            .variables
            .list_after(app, after, limit + 1)
            .await?;
        let more = u64::try_from(variables.len()).unwrap_or(u64::MAX) > limit;
        variables.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_after = more
            .then(|| variables.last().map(|variable| variable.name.clone()))
            .flatten();
        Ok(VariablePage {
            variables,
            next_after,
        })
    }

    async fn list_user_variables(
        &self,
        app: ApplicationId,
        user: UserId,
    ) -> Result<Vec<UserVariable>, UserAdminError> {
        self.ports
            .user_variables
            .list(app, user)
            .await?
            .ok_or(UserAdminError::UnknownUser)
    }

    async fn set_user_variable(
        &self,
        app: &Application,
        user: UserId,
        variable: UserVariable,
    ) -> Result<(), UserAdminError> {
        let max = app.settings.max_user_variables;
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .user_variables
            .set(app.id, user, &variable, max, now)
            .await?)
    }

    async fn delete_user_variable(
        &self,
        app: ApplicationId,
        user: UserId,
        name: &str,
    ) -> Result<bool, UserAdminError> {
        if self.ports.users.get(app, user).await?.is_none() {
            return Err(UserAdminError::UnknownUser);
        }
        Ok(self.ports.user_variables.delete(app, user, name).await?)
    }

    async fn set_variable(&self, app: ApplicationId, variable: Variable) -> anyhow::Result<()> {
        self.ports
            .variables
            .set(app, &variable, self.ports.clock.now())
            .await
    }

    async fn delete_variable(&self, app: ApplicationId, name: &str) -> anyhow::Result<bool> {
        self.ports.variables.delete(app, name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Detail, EventType, RequestContext};
    use crate::ports::MockTransaction;
    use crate::services::test_support::{Mocks, application, fixed_now, ip, password_user};
    use crate::user::{Membership, User};
    use chrono::Duration;

    #[tokio::test]
    async fn a_variables_page_asks_one_more_and_names_where_the_next_starts() {
        let variable = |name: &str| Variable::parse(name, "v", false).unwrap();
        let mut mocks = Mocks::default();
        mocks
            .variables
            .expect_list_after()
            .withf(|_, after, limit| after.as_deref() == Some("a") && *limit == 3)
            .times(1)
            .return_once(move |_, _, _| Ok(vec![variable("b"), variable("c"), variable("d")]));
        mocks
            .variables
            .expect_list_after()
            .withf(|_, after, limit| after.as_deref() == Some("c") && *limit == 3)
            .times(1)
            .return_once(move |_, _, _| Ok(vec![variable("d")]));
        let service = mocks.service();
        let app = application(false).id;
        let first = service
            .list_variables_page(app, Some("a".to_owned()), 2)
            .await
            .unwrap();
        assert_eq!(first.variables.len(), 2);
        assert_eq!(first.next_after.as_deref(), Some("c"));
        let last = service
            .list_variables_page(app, first.next_after, 2)
            .await
            .unwrap();
        assert_eq!(last.variables, vec![variable("d")]);
        assert_eq!(last.next_after, None);
    }

    fn admin() -> ChangedBy {
        ChangedBy {
            actor: Actor::AdminKey("adm_0123456789ab".to_owned()),
            context: Some(RequestContext::from_ip(ip())),
        }
    }

    fn locked(membership: Membership) -> User {
        User {
            membership,
            ..password_user()
        }
    }

    #[tokio::test]
    async fn time_cannot_be_added_to_a_lifetime_membership() {
        let mut mocks = Mocks::default();
        let mut tx = MockTransaction::new();
        tx.expect_lock_user()
            .withf(|_, _, ip| ip.is_none())
            .times(1)
            .return_once(|_, _, _| {
                Ok(Some(locked(Membership {
                    is_lifetime: true,
                    active_until: None,
                })))
            });
        tx.expect_adjust_membership().never();
        tx.expect_commit().never();
        mocks.expect_transaction(tx);
        let result = mocks
            .service()
            .adjust_membership_time(application(false).id, UserId::generate(), 60, &admin())
            .await;
        assert!(matches!(result, Err(UserAdminError::LifetimeMembership)));
    }

    #[tokio::test]
    async fn removing_time_shortens_the_membership_and_is_recorded_as_an_admin_adjustment() {
        let until = fixed_now() + Duration::days(2);
        let user = locked(Membership {
            is_lifetime: false,
            active_until: Some(until),
        });
        let stored = user.clone();
        let mut mocks = Mocks::default();
        let mut tx = MockTransaction::new();
        tx.expect_lock_user()
            .times(1)
            .return_once(move |_, _, _| Ok(Some(user)));
        tx.expect_adjust_membership()
            .withf(move |_, _, membership, adjustment| {
                membership.active_until == Some(until - Duration::minutes(90))
                    && adjustment.kind == AdjustmentKind::Admin
                    && adjustment.minutes == -90
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        tx.expect_record_events()
            .withf(|events| {
                let [event] = events else { return false };
                event.event_type == EventType::MembershipAdjusted
                    && event.actor == admin().actor
                    && event.context == admin().context
                    && event.summary.get("minutes") == Some(&Detail::Number(-90))
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_commit().times(1).return_once(|| Ok(()));
        mocks.expect_transaction(tx);
        mocks
            .users
            .expect_get()
            .times(1)
            .return_once(move |_, _| Ok(Some(stored)));
        mocks
            .devices
            .expect_list_for_user()
            .times(1)
            .return_once(|_, _| Ok(vec![]));
        let result = mocks
            .service()
            .adjust_membership_time(application(false).id, UserId::generate(), -90, &admin())
            .await;
        assert!(result.is_ok());
    }

    #[tokio::test]
    async fn an_unknown_user_cannot_be_adjusted() {
        let mut mocks = Mocks::default();
        let mut tx = MockTransaction::new();
        tx.expect_lock_user()
            .times(1)
            .return_once(|_, _, _| Ok(None));
        mocks.expect_transaction(tx);
        let result = mocks
            .service()
            .set_lifetime_access(application(false).id, UserId::generate(), true, &admin())
            .await;
        assert!(matches!(result, Err(UserAdminError::UnknownUser)));
    }

    #[tokio::test]
    async fn pages_start_at_one() {
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_list_by_offset()
            .withf(|_, offset, limit| *offset == 50 && *limit == 50)
            .times(1)
            .return_once(|_, _, _| Ok((vec![], 120)));
        let page = mocks
            .service()
            .list_users_by_offset(application(false).id, 2, 50)
            .await
            .unwrap();
        assert_eq!(page.total, 120);
    }
}
