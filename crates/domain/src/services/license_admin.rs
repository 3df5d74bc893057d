//! The console's license actions on a selection: revoke (ban) and delete.
//!
//! In Latchkey's model a license is a single-use code whose row also explains the membership
//! it gave. **Revoke** bans the license (a ban of type `license`, through the bans service,
//! recorded as `ban.created`): it can no longer be redeemed or activated, a user who signed up
//! with it can no longer sign in, and its row stays, so the ledger and the audit log still
//! name it. Lifting the ban undoes a revocation. **Delete** removes an *unused* license's row
//! (`license.deleted`): a used one is kept, since a membership's ledger row points at it;
//! revoke it instead.

use super::{BanExpiry, BanRequest, BanSubject, Latchkey, events};
use crate::ban::StoredBan;
use crate::errors::CreateBanError;
use crate::event::ChangedBy;
use crate::values::{ApplicationId, LicenseId};
use async_trait::async_trait;

/// At most this many licenses per action: one page of the console's list.
pub const MAX_SELECTED: usize = 200;

/// What a revocation or a ban of a selection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevokeOutcome {
    /// Newly banned.
    pub revoked: u64,
    /// Banned already: their ban is kept as it is.
    pub already_banned: u64,
    /// Not licenses of this application (deleted meanwhile, or a forged id).
    pub unknown: u64,
}

/// What a deletion of a selection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    pub deleted: u64,
    /// Used licenses, kept (a membership's ledger names them): revoke them instead.
    pub used_kept: u64,
    /// Not licenses of this application (deleted meanwhile, or a forged id).
    pub unknown: u64,
}

/// The console's actions on selected licenses.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LicenseAdminApi: Send + Sync {
    /// Bans each license (type `license`, no expiry) with `reason`.
    async fn revoke_licenses(
        &self,
        app: ApplicationId,
        ids: &[LicenseId],
        reason: Option<String>,
        by: &ChangedBy,
    ) -> anyhow::Result<RevokeOutcome>;
    /// Deletes each unused license, recording `license.deleted` for each.
    async fn delete_licenses(
        &self,
        app: ApplicationId,
        ids: &[LicenseId],
        by: &ChangedBy,
    ) -> anyhow::Result<DeleteOutcome>;
}

#[async_trait]
impl LicenseAdminApi for Latchkey {
    async fn revoke_licenses(
        &self,
        app: ApplicationId,
        ids: &[LicenseId],
        reason: Option<String>,
        by: &ChangedBy,
    ) -> anyhow::Result<RevokeOutcome> {
        let ids = &ids[..ids.len().min(MAX_SELECTED)];
        let mut outcome = RevokeOutcome::default();
        for id in ids {
            let request = BanRequest {
                subject: BanSubject::LicenseId(*id),
                reason: reason.clone(),
                expiry: BanExpiry::Never,
            };
            match super::AdminApi::create_ban(self, app, request, by).await {
                Ok(StoredBan::Created(_)) => outcome.revoked += 1,
                Ok(StoredBan::Existing(_)) => outcome.already_banned += 1,
                Err(CreateBanError::UnknownLicense) => outcome.unknown += 1,
                Err(error) => return Err(anyhow::Error::new(error).context("revoking a license")),
            }
        }
        Ok(outcome)
    }

    async fn delete_licenses(
        &self,
        app: ApplicationId,
        ids: &[LicenseId],
        by: &ChangedBy,
    ) -> anyhow::Result<DeleteOutcome> {
        let ids = &ids[..ids.len().min(MAX_SELECTED)];
        let found = self.ports.licenses.get_many(app, ids).await?;
        let mut outcome = DeleteOutcome {
            unknown: (ids.len() - found.len().min(ids.len())) as u64,
            ..DeleteOutcome::default()
        };
        for license in &found {
            if license.is_used() {
                outcome.used_kept += 1;
                continue;
            }
            let deleted = events::license_deleted(app, license, by, self.ports.clock.now());
            if self
                .ports
                .licenses
                .delete_unused(app, license.id, &[deleted])
                .await?
            {
                outcome.deleted += 1;
            } else {
                // Redeemed (or deleted) since it was read: the conditional delete kept it.
                outcome.used_kept += 1;
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ban::{Ban, BanTarget};
    use crate::event::{Actor, EventType};
    use crate::license::{License, LicenseDuration};
    use crate::services::test_support::{Mocks, fixed_now};
    use crate::values::UserId;

    fn operator() -> ChangedBy {
        ChangedBy {
            actor: Actor::Operator,
            context: None,
        }
    }

    fn license(used: bool) -> License {
        License {
            id: LicenseId::generate(),
            duration: LicenseDuration::Minutes(60),
            activated_at: used.then(fixed_now),
            activated_by: used.then(UserId::generate),
            created_at: fixed_now(),
        }
    }

    #[tokio::test]
    async fn only_unused_licenses_are_deleted_each_with_its_event() {
        let mut mocks = Mocks::default();
        let unused = license(false);
        let used = license(true);
        let unknown = LicenseId::generate();
        let found = vec![unused.clone(), used.clone()];
        mocks
            .licenses
            .expect_get_many()
            .times(1)
            .return_once(move |_, _| Ok(found));
        let unused_id = unused.id;
        mocks
            .licenses
            .expect_delete_unused()
            .withf(move |_, id, events| {
                *id == unused_id
                    && events.len() == 1
                    && events[0].event_type == EventType::LicenseDeleted
            })
            .times(1)
            .return_once(|_, _, _| Ok(true));
        let service = mocks.service();
        let outcome = service
            .delete_licenses(
                crate::values::ApplicationId::generate(),
                &[unused.id, used.id, unknown],
                &operator(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            DeleteOutcome {
                deleted: 1,
                used_kept: 1,
                unknown: 1
            }
        );
    }

    #[tokio::test]
    async fn revoking_bans_each_known_license_by_id_and_counts_the_rest() {
        let mut mocks = Mocks::default();
        let known = license(true);
        let banned_before = license(false);
        let unknown = LicenseId::generate();
        let (known_id, banned_id) = (known.id, banned_before.id);
        mocks
            .licenses
            .expect_get_many()
            .times(3)
            .returning(move |_, ids| {
                Ok([known.clone(), banned_before.clone()]
                    .into_iter()
                    .filter(|license| ids.contains(&license.id))
                    .collect())
            });
        mocks
            .bans
            .expect_create()
            .withf(move |_, ban, events| {
                matches!(ban.target, BanTarget::License(id) if id == known_id || id == banned_id)
                    && ban.expires_at.is_none()
                    && ban.reason.as_deref() == Some("chargeback")
                    && events
                        .iter()
                        .any(|event| event.event_type == EventType::BanCreated)
            })
            .times(2)
            .returning(move |_, ban, _| {
                let stored = Ban {
                    id: ban.id,
                    target: ban.target.clone(),
                    reason: ban.reason.clone(),
                    created_at: ban.created_at,
                    expires_at: ban.expires_at,
                };
                Ok(if ban.target == BanTarget::License(banned_id) {
                    StoredBan::Existing(stored)
                } else {
                    StoredBan::Created(stored)
                })
            });
        let outcome = mocks
            .service()
            .revoke_licenses(
                crate::values::ApplicationId::generate(),
                &[known_id, banned_id, unknown],
                Some("chargeback".to_owned()),
                &operator(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            RevokeOutcome {
                revoked: 1,
                already_banned: 1,
                unknown: 1
            }
        );
    }

    #[tokio::test]
    async fn a_license_redeemed_while_being_deleted_is_counted_as_kept() {
        let mut mocks = Mocks::default();
        let unused = license(false);
        let found = vec![unused.clone()];
        mocks
            .licenses
            .expect_get_many()
            .return_once(move |_, _| Ok(found));
        mocks
            .licenses
            .expect_delete_unused()
            .times(1)
            .return_once(|_, _, _| Ok(false));
        let outcome = mocks
            .service()
            .delete_licenses(
                crate::values::ApplicationId::generate(),
                &[unused.id],
                &operator(),
            )
            .await
            .unwrap();
        assert_eq!(outcome.deleted, 0);
        assert_eq!(outcome.used_kept, 1);
    }
}
