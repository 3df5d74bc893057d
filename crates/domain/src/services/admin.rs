//! The admin API: licenses, bans and user lookup within one application.

use super::{AdminApi, BanRequest, BanSubject, BatchCodes, Latchkey, LicenseBatch};
use crate::application::{Application, ApplicationUpdate};
use crate::ban::{Ban, BanProbe, BanTarget, NewBan};
use crate::errors::{AuthenticateError, CreateBanError, CreateLicensesError, StoreLicensesError};
use crate::license::{CreatedLicense, LicenseDetails, LicenseDuration, NewLicense};
use crate::user::UserDetails;
use crate::values::{
    ApplicationId, BanId, Digest, IpBanRange, LicenseCode, LicenseId, UserId, Username,
};
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
    /// A banned user's sessions end, and the addresses and devices recorded for them are
    /// banned too.
    async fn ban_users_identifiers(&self, app: ApplicationId, user: UserId) -> anyhow::Result<()> {
        self.ports
            .sessions
            .revoke_all(app, user, self.ports.clock.now())
            .await?;
        let Some(stored) = self.ports.users.get(app, user).await? else {
            return Ok(());
        };
        let reason = format!("banned with user {}", stored.username);
        let ips: HashSet<_> = stored.signup_ip.into_iter().chain(stored.last_ip).collect();
        for ip in ips {
            self.ban_unless_banned(app, BanTarget::Ip(IpBanRange::single(ip)), &reason)
                .await?;
        }
        for device in self.ports.devices.list_for_user(app, user).await? {
            self.ban_unless_banned(app, BanTarget::HardwareId(device.hardware_id), &reason)
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
        let stored =
            self.ports
                .licenses
                .create_many(app, &new)
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
        let is_banned = self.ports.bans.find_ban(app, &probe).await?.is_some();
        Ok(Some(LicenseDetails { license, is_banned }))
    }

    async fn create_ban(
        &self,
        app: ApplicationId,
        request: BanRequest,
    ) -> Result<Ban, CreateBanError> {
        let target = match request.subject {
            BanSubject::Ip(range) => BanTarget::Ip(range),
            BanSubject::HardwareId(id) => BanTarget::HardwareId(id),
            BanSubject::License(code) => {
                let license = self.ports.licenses.find_by_code(app, &code).await?;
                BanTarget::License(license.ok_or(CreateBanError::UnknownLicense)?.id)
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
            created_at: self.ports.clock.now(),
        };
        let created = self.ports.bans.create(app, &ban).await?;
        if let BanTarget::User(user) = created.target {
            self.ban_users_identifiers(app, user).await?;
        }
        Ok(created)
    }

    async fn update_settings(
        &self,
        app: ApplicationId,
        update: ApplicationUpdate,
    ) -> anyhow::Result<Application> {
        // Only the settings: the name and device authentication are the operator's.
        let update = ApplicationUpdate {
            name: None,
            device_authentication: None,
            ..update
        };
        self.ports
            .applications
            .update(app, &update)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the authenticated application disappeared"))
    }

    async fn list_bans(&self, app: ApplicationId) -> anyhow::Result<Vec<Ban>> {
        self.ports.bans.list(app).await
    }

    async fn delete_ban(&self, app: ApplicationId, id: BanId) -> anyhow::Result<bool> {
        self.ports.bans.delete(app, id).await
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
        Ok(Some(UserDetails { user, devices }))
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
            .withf(|_, new| {
                new.len() == 3
                    && new
                        .iter()
                        .all(|l| l.duration == LicenseDuration::Minutes(60))
            })
            .times(1)
            .returning(|_, new| {
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
            .create_licenses(application(false).id, batch)
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
            .return_once(|_, _| Err(StoreLicensesError::DuplicateCode));
        let batch = LicenseBatch::import(vec![LicenseCode::parse("ABC").unwrap()], None).unwrap();
        let result = mocks
            .service()
            .create_licenses(application(false).id, batch)
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
            .withf(move |_, ban| {
                ban.target == BanTarget::License(license_id) && ban.created_at == fixed_now()
            })
            .times(1)
            .returning(|_, ban| Ok(ban.created()));
        let service = mocks.service();
        let app = application(false).id;
        let request = |code: &str| BanRequest {
            subject: BanSubject::License(LicenseCode::parse(code).unwrap()),
            reason: None,
        };
        let ban = service.create_ban(app, request("ABC")).await.unwrap();
        assert_eq!(ban.target.value(), license_id.to_string());
        assert!(matches!(
            service.create_ban(app, request("XYZ")).await,
            Err(CreateBanError::UnknownLicense)
        ));
    }

    #[tokio::test]
    async fn an_ip_ban_is_stored_as_its_canonical_range() {
        let mut mocks = Mocks::default();
        mocks
            .bans
            .expect_create()
            .withf(|_, ban| ban.target.kind() == BanKind::Ip && ban.target.value() == "10.0.0.0/8")
            .times(1)
            .returning(|_, ban| Ok(ban.created()));
        let request = BanRequest {
            subject: BanSubject::Ip(IpBanRange::parse("10.1.2.3/8").unwrap()),
            reason: Some("abuse".into()),
        };
        let ban = mocks
            .service()
            .create_ban(application(false).id, request)
            .await
            .unwrap();
        assert_eq!(ban.reason.as_deref(), Some("abuse"));
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
            .returning(|_, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .times(4)
            .returning(|_, ban| Ok(ban.created()));
        let request = BanRequest {
            subject: BanSubject::User(Username::parse("john_doe").unwrap()),
            reason: None,
        };
        let ban = mocks
            .service()
            .create_ban(application(false).id, request)
            .await
            .unwrap();
        assert_eq!(ban.target, BanTarget::User(user_id));
    }
}
