//! The admin API: licenses, bans and user lookup within one application.

use super::{
    AdminApi, BanExpiry, BanListQuery, BanRequest, BanSubject, BatchCodes, Latchkey, LicenseBatch,
    LicenseListQuery, SettingsChange, events,
};
use crate::application::{Application, ApplicationUpdate};
use crate::ban::{Ban, BanFilter, BanProbe, BanTarget, NewBan, StoredBan};
use crate::errors::{AuthenticateError, CreateBanError, CreateLicensesError, StoreLicensesError};
use crate::event::{ChangedBy, Event, EventFilter};
use crate::license::{CreatedLicense, LicenseDetails, LicenseDuration, LicenseFilter, NewLicense};
use crate::page::{Page, PageRequest};
use crate::user::UserDetails;
use crate::values::{ApplicationId, BanId, Digest, IpBanRange, LicenseCode, LicenseId, Username};
use async_trait::async_trait;
use std::collections::HashSet;
use thiserror::Error;

/// Why a batch of licenses cannot be made; each names the request field at fault.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LicenseBatchError {
    #[error("count must be between 1 and 1000")]
    Count,
    #[error("codes must hold 1 to 1000 distinct codes")]
    Codes,
    #[error("minutes must be between 1 and 52560000, or null for lifetime")]
    Minutes,
}

impl LicenseBatch {
    pub const MAX_LICENSES: usize = 1000;

    /// `count` licenses with generated codes; `minutes: None` grants lifetime access.
    ///
    /// # Errors
    /// [`LicenseBatchError`] naming the field out of bounds.
    pub fn generate(count: i64, minutes: Option<i64>) -> Result<Self, LicenseBatchError> {
        let count = usize::try_from(count)
            .ok()
            .filter(|count| (1..=Self::MAX_LICENSES).contains(count))
            .ok_or(LicenseBatchError::Count)?;
        Ok(Self {
            codes: BatchCodes::Generate(count),
            duration: duration(minutes)?,
        })
    }

    /// Licenses with the vendor's own codes.
    ///
    /// # Errors
    /// [`LicenseBatchError`] naming the field out of bounds.
    pub fn import(
        codes: Vec<LicenseCode>,
        minutes: Option<i64>,
    ) -> Result<Self, LicenseBatchError> {
        let distinct: HashSet<_> = codes.iter().map(LicenseCode::digest).collect();
        if codes.is_empty() || codes.len() > Self::MAX_LICENSES || distinct.len() != codes.len() {
            return Err(LicenseBatchError::Codes);
        }
        Ok(Self {
            codes: BatchCodes::Import(codes),
            duration: duration(minutes)?,
        })
    }
}

fn duration(minutes: Option<i64>) -> Result<LicenseDuration, LicenseBatchError> {
    match minutes {
        None => Ok(LicenseDuration::Lifetime),
        Some(minutes) => u32::try_from(minutes)
            .ok()
            .filter(|minutes| (1..=LicenseDuration::MAX_MINUTES).contains(minutes))
            .map(LicenseDuration::Minutes)
            .ok_or(LicenseBatchError::Minutes),
    }
}

impl Latchkey {
    /// The user's ban in force now, if any: one exact key, as a ban check finds it.
    pub(super) async fn user_ban(
        &self,
        app: ApplicationId,
        user: crate::values::UserId,
    ) -> anyhow::Result<Option<Ban>> {
        let filter = BanFilter {
            kind: Some(crate::ban::BanKind::User),
            match_keys: Some(vec![BanTarget::User(user).match_key()]),
            now: self.ports.clock.now(),
        };
        let page = PageRequest::new(None, 1)?;
        let listed = self.ports.bans.list(app, &filter, &page).await?;
        Ok(listed.items.into_iter().next())
    }

    /// A banned user's sessions end, and the addresses and devices recorded for them are
    /// banned too, as cross-bans that end no later than the user's ban.
    async fn ban_users_identifiers(&self, app: ApplicationId, ban: &Ban) -> anyhow::Result<()> {
        let BanTarget::User(user) = ban.target else {
            return Ok(());
        };
        self.ports
            .sessions
            .revoke_all(app, user, self.ports.clock.now())
            .await?;
        let Some(stored) = self.ports.users.get(app, user).await? else {
            return Ok(());
        };
        let reason = format!("banned with user {}", stored.username);
        let ips: HashSet<_> = stored.signup_ip.into_iter().chain(stored.last_ip).collect();
        let targets = ips
            .into_iter()
            .map(|ip| BanTarget::Ip(IpBanRange::network_of(ip, self.ipv6_prefix)))
            .chain(
                (self.ports.devices.list_for_user(app, user).await?)
                    .into_iter()
                    .map(|device| BanTarget::HardwareId(device.hardware_id)),
            );
        for target in targets {
            self.ban_unless_banned(app, target, &reason, ban.expires_at)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl AdminApi for Latchkey {
    async fn authenticate_admin(
        &self,
        admin_api_key: &str,
    ) -> Result<Application, AuthenticateError> {
        // A lookup by digest: the key has 128 random bits, so timing reveals nothing useful.
        let presented = Digest::of(admin_api_key);
        let now = self.ports.clock.now();
        self.ports
            .applications
            .find_by_admin_key(&presented)
            .await?
            .filter(|app| app.accepts_admin_api_key(&presented, now))
            .ok_or(AuthenticateError::InvalidCredentials)
    }

    async fn create_licenses(
        &self,
        app: ApplicationId,
        batch: LicenseBatch,
        by: &ChangedBy,
    ) -> Result<Vec<CreatedLicense>, CreateLicensesError> {
        let codes = match batch.codes {
            BatchCodes::Generate(count) => (0..count).map(|_| LicenseCode::generate()).collect(),
            BatchCodes::Import(codes) => codes,
        };
        let now = self.ports.clock.now();
        let new: Vec<NewLicense> = codes
            .into_iter()
            .map(|code| NewLicense {
                id: LicenseId::generate(),
                code,
                duration: batch.duration,
                created_at: now,
            })
            .collect();
        let created: Vec<Event> = new
            .iter()
            .map(|license| events::license_created(app, license, by))
            .collect();
        let stored = self
            .ports
            .licenses
            .create_many(app, &new, &created)
            .await
            .map_err(|error| match error {
                StoreLicensesError::DuplicateCode => CreateLicensesError::DuplicateCode,
                StoreLicensesError::Unknown(error) => CreateLicensesError::Unknown(error),
            })?;
        Ok(stored
            .into_iter()
            .zip(new)
            .map(|(license, new)| CreatedLicense {
                license,
                code: new.code,
            })
            .collect())
    }

    async fn find_license(
        &self,
        app: ApplicationId,
        code: &LicenseCode,
    ) -> anyhow::Result<Option<LicenseDetails>> {
        let Some(license) = self.ports.licenses.find_by_code(app, code).await? else {
            return Ok(None);
        };
        let probe = BanProbe {
            license: Some(license.id),
            ..BanProbe::default()
        };
        let now = self.ports.clock.now();
        let is_banned = self.ports.bans.find_ban(app, &probe, now).await?.is_some();
        Ok(Some(LicenseDetails { license, is_banned }))
    }

    async fn list_licenses(
        &self,
        app: ApplicationId,
        query: LicenseListQuery,
        page: PageRequest,
    ) -> anyhow::Result<Page<LicenseDetails>> {
        let filter = LicenseFilter {
            used: query.used,
            banned: query.banned,
            created_since: query.created_since,
            created_until: query.created_until,
            code: query.code,
            now: self.ports.clock.now(),
        };
        self.ports.licenses.list(app, &filter, &page).await
    }

    async fn create_ban(
        &self,
        app: ApplicationId,
        request: BanRequest,
        by: &ChangedBy,
    ) -> Result<StoredBan, CreateBanError> {
        let now = self.ports.clock.now();
        let expires_at = match request.expiry {
            BanExpiry::Never => None,
            BanExpiry::At(at) if at > now => Some(at),
            BanExpiry::After(duration) if duration > chrono::Duration::zero() => {
                Some(now + duration)
            }
            BanExpiry::At(_) | BanExpiry::After(_) => {
                return Err(CreateBanError::ExpiryNotInFuture);
            }
        };
        let target = match request.subject {
            BanSubject::Ip(range) => BanTarget::Ip(range),
            BanSubject::HardwareId(id) => BanTarget::HardwareId(id),
            BanSubject::License(code) => {
                let license = self.ports.licenses.find_by_code(app, &code).await?;
                BanTarget::License(license.ok_or(CreateBanError::UnknownLicense)?.id)
            }
            BanSubject::LicenseId(id) => {
                let found = self.ports.licenses.get_many(app, &[id]).await?;
                BanTarget::License(found.first().ok_or(CreateBanError::UnknownLicense)?.id)
            }
            BanSubject::User(username) => {
                let user = self.ports.users.find_by_username(app, &username).await?;
                BanTarget::User(user.ok_or(CreateBanError::UnknownUser)?.id)
            }
        };
        let ban = NewBan {
            id: BanId::generate(),
            target,
            reason: request.reason,
            created_at: now,
            expires_at,
        };
        let mut recorded = vec![events::ban_created(app, &ban, by)];
        if let BanTarget::User(user) = ban.target {
            recorded.push(events::user_banned(app, user, &ban, by));
        }
        let stored = self.ports.bans.create(app, &ban, &recorded).await?;
        if let StoredBan::Created(created) = &stored {
            self.ban_users_identifiers(app, created).await?;
        }
        Ok(stored)
    }

    async fn update_settings(
        &self,
        app: ApplicationId,
        update: ApplicationUpdate,
        by: &ChangedBy,
    ) -> anyhow::Result<SettingsChange> {
        // Only the settings: the name and device authentication are the operator's.
        let update = ApplicationUpdate {
            name: None,
            device_authentication: None,
            ..update
        };
        self.change_settings(app, &update, by)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the authenticated application disappeared"))
    }

    async fn audit(
        &self,
        app: ApplicationId,
        filter: EventFilter,
        page: PageRequest,
    ) -> anyhow::Result<Page<Event>> {
        self.ports.events.list(app, &filter, &page).await
    }

    async fn list_bans(
        &self,
        app: ApplicationId,
        query: BanListQuery,
        page: PageRequest,
    ) -> anyhow::Result<Page<Ban>> {
        let match_keys = query.value.map(|value| {
            BanTarget::shown_as(query.kind, &value)
                .iter()
                .map(BanTarget::match_key)
                .collect()
        });
        let filter = BanFilter {
            kind: query.kind,
            match_keys,
            now: self.ports.clock.now(),
        };
        self.ports.bans.list(app, &filter, &page).await
    }

    async fn delete_ban(
        &self,
        app: ApplicationId,
        id: BanId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool> {
        let deleted = events::ban_deleted(app, id, by, self.ports.clock.now());
        self.ports.bans.delete(app, id, &[deleted]).await
    }

    async fn find_user(
        &self,
        app: ApplicationId,
        username_or_code: &str,
    ) -> anyhow::Result<Option<UserDetails>> {
        let mut user = None;
        if let Ok(username) = Username::parse(username_or_code) {
            user = self.ports.users.find_by_username(app, &username).await?;
        }
        if user.is_none()
            && let Ok(code) = LicenseCode::parse(username_or_code)
            && let Some(license) = self.ports.licenses.find_by_code(app, &code).await?
            && let Some(id) = license.activated_by
        {
            user = self.ports.users.get(app, id).await?;
        }
        let Some(user) = user else { return Ok(None) };
        let devices = self.ports.devices.list_for_user(app, user.id).await?;
        let ban = self.user_ban(app, user.id).await?;
        Ok(Some(UserDetails { user, devices, ban }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ban::BanKind;
    use crate::license::License;
    use crate::services::test_support::{
        Mocks, application, fixed_now, password_user, unused_license,
    };
    use crate::values::IpBanRange;

    fn admin() -> ChangedBy {
        ChangedBy {
            actor: crate::event::Actor::AdminKey("adm_0123456789ab".into()),
            context: Some(crate::event::RequestContext::from_ip(
                crate::services::test_support::ip(),
            )),
        }
    }

    #[test]
    fn batch_bounds_name_the_field_at_fault() {
        assert!(LicenseBatch::generate(1, None).is_ok());
        assert!(LicenseBatch::generate(1000, Some(1)).is_ok());
        assert_eq!(
            LicenseBatch::generate(0, None),
            Err(LicenseBatchError::Count)
        );
        assert_eq!(
            LicenseBatch::generate(1001, None),
            Err(LicenseBatchError::Count)
        );
        assert_eq!(
            LicenseBatch::generate(1, Some(0)),
            Err(LicenseBatchError::Minutes)
        );
        assert_eq!(
            LicenseBatch::generate(1, Some(-5)),
            Err(LicenseBatchError::Minutes)
        );
        let code = LicenseCode::parse("AAAA").unwrap();
        let same = LicenseCode::parse("aa-aa").unwrap();
        assert_eq!(
            LicenseBatch::import(vec![code, same], None),
            Err(LicenseBatchError::Codes)
        );
        assert_eq!(
            LicenseBatch::import(vec![], None),
            Err(LicenseBatchError::Codes)
        );
    }

    #[tokio::test]
    async fn generated_licenses_are_stored_and_their_codes_returned_once() {
        let mut mocks = Mocks::default();
        mocks
            .licenses
            .expect_create_many()
            .withf(|_, new, _| {
                new.len() == 3
                    && new
                        .iter()
                        .all(|l| l.duration == LicenseDuration::Minutes(60))
            })
            .times(1)
            .returning(|_, new, _| {
                Ok(new
                    .iter()
                    .map(|l| License {
                        id: l.id,
                        duration: l.duration,
                        activated_at: None,
                        activated_by: None,
                        created_at: l.created_at,
                    })
                    .collect())
            });
        let batch = LicenseBatch::generate(3, Some(60)).unwrap();
        let created = mocks
            .service()
            .create_licenses(application(false).id, batch, &admin())
            .await
            .unwrap();
        assert_eq!(created.len(), 3);
        assert_ne!(created[0].code, created[1].code);
    }

    #[tokio::test]
    async fn importing_an_existing_code_is_a_duplicate() {
        let mut mocks = Mocks::default();
        mocks
            .licenses
            .expect_create_many()
            .times(1)
            .return_once(|_, _, _| Err(StoreLicensesError::DuplicateCode));
        let batch = LicenseBatch::import(vec![LicenseCode::parse("ABC").unwrap()], None).unwrap();
        let result = mocks
            .service()
            .create_licenses(application(false).id, batch, &admin())
            .await;
        assert!(matches!(result, Err(CreateLicensesError::DuplicateCode)));
    }

    #[tokio::test]
    async fn a_license_ban_names_the_license_by_id_and_unknown_codes_are_refused() {
        let license = unused_license(LicenseDuration::Lifetime);
        let license_id = license.id;
        let mut mocks = Mocks::default();
        mocks
            .licenses
            .expect_find_by_code()
            .times(1)
            .return_once(|_, _| Ok(Some(license)));
        mocks
            .licenses
            .expect_find_by_code()
            .times(1)
            .return_once(|_, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .withf(move |_, ban, _| {
                ban.target == BanTarget::License(license_id) && ban.created_at == fixed_now()
            })
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let service = mocks.service();
        let app = application(false).id;
        let request = |code: &str| BanRequest {
            subject: BanSubject::License(LicenseCode::parse(code).unwrap()),
            reason: None,
            expiry: BanExpiry::Never,
        };
        let ban = service
            .create_ban(app, request("ABC"), &admin())
            .await
            .unwrap()
            .into_ban();
        assert_eq!(ban.target.value(), license_id.to_string());
        assert!(matches!(
            service.create_ban(app, request("XYZ"), &admin()).await,
            Err(CreateBanError::UnknownLicense)
        ));
    }

    #[tokio::test]
    async fn an_ip_ban_is_stored_as_its_canonical_range() {
        let mut mocks = Mocks::default();
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| {
                ban.target.kind() == BanKind::Ip && ban.target.value() == "10.0.0.0/8"
            })
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let request = BanRequest {
            subject: BanSubject::Ip(IpBanRange::parse("10.1.2.3/8").unwrap()),
            reason: Some("abuse".into()),
            expiry: BanExpiry::Never,
        };
        let ban = mocks
            .service()
            .create_ban(application(false).id, request, &admin())
            .await
            .unwrap()
            .into_ban();
        assert_eq!(ban.reason.as_deref(), Some("abuse"));
        assert_eq!(ban.expires_at, None);
    }

    fn ip_ban_request(expiry: BanExpiry) -> BanRequest {
        BanRequest {
            subject: BanSubject::Ip(IpBanRange::parse("10.0.0.1").unwrap()),
            reason: None,
            expiry,
        }
    }

    #[tokio::test]
    async fn a_ban_for_a_duration_expires_that_long_from_now() {
        let mut mocks = Mocks::default();
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| ban.expires_at == Some(fixed_now() + chrono::Duration::seconds(90)))
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let request = ip_ban_request(BanExpiry::After(chrono::Duration::seconds(90)));
        let service = mocks.service();
        assert!(
            service
                .create_ban(application(false).id, request, &admin())
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_ban_that_would_expire_now_or_earlier_is_refused() {
        let service = Mocks::default().service();
        let app = application(false).id;
        for expiry in [
            BanExpiry::At(fixed_now()),
            BanExpiry::At(fixed_now() - chrono::Duration::seconds(1)),
            BanExpiry::After(chrono::Duration::zero()),
        ] {
            assert!(matches!(
                service
                    .create_ban(app, ip_ban_request(expiry), &admin())
                    .await,
                Err(CreateBanError::ExpiryNotInFuture)
            ));
        }
    }

    #[tokio::test]
    async fn an_existing_user_ban_is_returned_and_bans_nothing_more() {
        let user = password_user();
        let user_id = user.id;
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_find_by_username()
            .times(1)
            .return_once(move |_, _| Ok(Some(user)));
        mocks
            .bans
            .expect_create()
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Existing(ban.created())));
        mocks.sessions.expect_revoke_all().never();
        let request = BanRequest {
            subject: BanSubject::User(Username::parse("john_doe").unwrap()),
            reason: None,
            expiry: BanExpiry::Never,
        };
        let stored = mocks
            .service()
            .create_ban(application(false).id, request, &admin())
            .await
            .unwrap();
        assert!(
            matches!(stored, StoredBan::Existing(ban) if ban.target == BanTarget::User(user_id))
        );
    }

    #[tokio::test]
    async fn a_value_filter_lists_the_bans_under_every_key_the_value_may_mean() {
        let mut mocks = Mocks::default();
        mocks
            .bans
            .expect_list()
            .withf(|_, filter, page| {
                filter.match_keys
                    == Some(vec![
                        "ip:1.2.3.4/32".to_owned(),
                        "hardware_id:1.2.3.4".to_owned(),
                    ])
                    && filter.now == fixed_now()
                    && page.limit() == 10
            })
            .times(1)
            .returning(|_, _, _| {
                Ok(Page {
                    items: vec![],
                    next: None,
                })
            });
        let query = BanListQuery {
            kind: None,
            value: Some("1.2.3.4".into()),
        };
        let page = PageRequest::new(None, 10).unwrap();
        let listed = mocks
            .service()
            .list_bans(application(false).id, query, page)
            .await
            .unwrap();
        assert!(listed.items.is_empty());
    }

    #[tokio::test]
    async fn a_user_is_found_by_the_license_code_they_signed_up_with() {
        let user = password_user();
        let user_id = user.id;
        let license = License {
            activated_by: Some(user_id),
            activated_at: Some(fixed_now()),
            ..unused_license(LicenseDuration::Lifetime)
        };
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_find_by_username()
            .times(1)
            .return_once(|_, _| Ok(None));
        mocks
            .licenses
            .expect_find_by_code()
            .times(1)
            .return_once(|_, _| Ok(Some(license)));
        mocks
            .users
            .expect_get()
            .withf(move |_, id| *id == user_id)
            .times(1)
            .return_once(|_, _| Ok(Some(user)));
        mocks
            .devices
            .expect_list_for_user()
            .times(1)
            .return_once(|_, _| Ok(vec![]));
        let found = mocks
            .service()
            .find_user(application(false).id, "ABCD-EFGH")
            .await
            .unwrap();
        assert_eq!(found.map(|details| details.user.id), Some(user_id));
    }

    #[tokio::test]
    async fn an_admin_key_authenticates_by_its_digest() {
        let app = application(false);
        let mut mocks = Mocks::default();
        let found = app.clone();
        mocks
            .applications
            .expect_find_by_admin_key()
            .withf(|digest| *digest == Digest::of("lk_adm_admin"))
            .times(1)
            .return_once(|_| Ok(Some(found)));
        mocks
            .applications
            .expect_find_by_admin_key()
            .times(1)
            .return_once(|_| Ok(None));
        let service = mocks.service();
        assert_eq!(
            service.authenticate_admin("lk_adm_admin").await.unwrap(),
            app
        );
        assert!(matches!(
            service.authenticate_admin("lk_adm_other").await,
            Err(AuthenticateError::InvalidCredentials)
        ));
    }

    #[tokio::test]
    async fn banning_a_user_ends_their_sessions_and_bans_their_addresses_and_devices() {
        let user = crate::user::User {
            signup_ip: Some(crate::values::ClientIp::parse("198.51.100.1").unwrap()),
            last_ip: Some(crate::values::ClientIp::parse("198.51.100.2").unwrap()),
            ..password_user()
        };
        let user_id = user.id;
        let found = user.clone();
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_find_by_username()
            .times(1)
            .return_once(move |_, _| Ok(Some(found)));
        mocks
            .users
            .expect_get()
            .times(1)
            .return_once(move |_, _| Ok(Some(user)));
        mocks
            .sessions
            .expect_revoke_all()
            .withf(move |_, id, _| *id == user_id)
            .times(1)
            .returning(|_, _, _| Ok(()));
        mocks
            .devices
            .expect_list_for_user()
            .times(1)
            .return_once(|_, _| {
                Ok(vec![crate::user::Device {
                    id: crate::values::DeviceId::generate(),
                    hardware_id: crate::values::HardwareId::parse("hw-1").unwrap(),
                    registered_at: fixed_now(),
                }])
            });
        mocks
            .bans
            .expect_find_ban()
            .times(3)
            .returning(|_, _, _| Ok(None));
        let user_ban_ends = fixed_now() + chrono::Duration::days(1);
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| matches!(ban.target, BanTarget::User(_)))
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        mocks
            .bans
            .expect_create()
            .withf(move |_, ban, _| ban.expires_at == Some(user_ban_ends))
            .times(3)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let request = BanRequest {
            subject: BanSubject::User(Username::parse("john_doe").unwrap()),
            reason: None,
            expiry: BanExpiry::At(user_ban_ends),
        };
        let ban = mocks
            .service()
            .create_ban(application(false).id, request, &admin())
            .await
            .unwrap()
            .into_ban();
        assert_eq!(ban.target, BanTarget::User(user_id));
    }
}
