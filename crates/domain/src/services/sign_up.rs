//! The integration API: application credentials and both sign-ups.
//!
//! Order matters in both sign-ups: validation and ban checks come before hashing and before
//! any write, and all writes share one transaction, so a refused sign-up changes nothing.

use super::bans::Proof;
use super::{IntegrationApi, Latchkey, LicenseSignUp, PasswordSignUp, events};
use crate::application::Application;
use crate::ban::BanProbe;
use crate::errors::{AuthenticateError, CommitConflict, LicenseSignUpError, SignUpError};
use crate::event::{ChangedBy, EventType};
use crate::user::{Adjustment, Credential, Membership, NewUser, User};
use crate::values::{Digest, UserId, Username};
use async_trait::async_trait;

#[async_trait]
impl IntegrationApi for Latchkey {
    async fn authenticate(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> Result<Application, AuthenticateError> {
        let presented = Digest::of(api_secret);
        let now = self.ports.clock.now();
        match self.ports.applications.find_by_api_key(api_key).await? {
            Some(app) if app.accepts_api_secret(&presented, now) => Ok(app),
            _ => Err(AuthenticateError::InvalidCredentials),
        }
    }

    async fn sign_up(
        &self,
        app: &Application,
        request: PasswordSignUp,
    ) -> Result<User, SignUpError> {
        let PasswordSignUp {
            username,
            password,
            hardware_id,
            context,
        } = request;
        let ip = context.client_ip;
        if app.device_authentication && hardware_id.is_none() {
            return Err(SignUpError::HardwareIdRequired);
        }
        let probe = BanProbe {
            ip: Some(ip),
            hardware_id: hardware_id.clone(),
            ..BanProbe::default()
        };
        if let Some(kind) = self.refusal(app, &probe, Proof::Nothing).await? {
            return Err(SignUpError::Banned(kind));
        }
        // A cheap look first so that a taken name costs no hash; the unique index decides races.
        if self
            .ports
            .users
            .find_by_username(app.id, &username)
            .await?
            .is_some()
        {
            return Err(SignUpError::UsernameTaken);
        }
        let hash = self.ports.hasher.hash(&password).await?;
        let now = self.ports.clock.now();
        let new_user = NewUser {
            id: UserId::generate(),
            username,
            credential: Credential::Password(hash),
            membership: Membership::default(),
            signup_ip: ip,
            created_at: now,
        };
        // One statement on PostgreSQL: the user, the device and the events are sent together
        // at the commit.
        let mut tx = self.ports.unit_of_work.begin().await?;
        let user = tx.create_user(app.id, &new_user).await?;
        let by = ChangedBy::end_user(user.id, context);
        let mut events = vec![events::user_created(app.id, &user, &by)];
        if let Some(hardware_id) = &hardware_id {
            let device = tx
                .register_device(app.id, user.id, hardware_id, now)
                .await?;
            events.push(events::device_registered(app.id, &device, user.id, &by));
        }
        tx.record_events(&events).await?;
        tx.commit()
            .await
            .map_err(|error| match CommitConflict::of(&error) {
                Some(CommitConflict::UsernameTaken) => SignUpError::UsernameTaken,
                _ => SignUpError::Unknown(error),
            })?;
        Ok(user)
    }

    async fn sign_up_with_license_code(
        &self,
        app: &Application,
        request: LicenseSignUp,
    ) -> Result<User, LicenseSignUpError> {
        let LicenseSignUp {
            code,
            hardware_id,
            context,
        } = request;
        let ip = context.client_ip;
        if app.device_authentication && hardware_id.is_none() {
            return Err(LicenseSignUpError::HardwareIdRequired);
        }
        // Looked up first so its ban is checked with the others in one query; bans come
        // before "invalid code", so a banned client cannot probe codes. Redemption below is
        // what settles races.
        let license = self.ports.licenses.find_by_code(app.id, &code).await?;
        let probe = BanProbe {
            ip: Some(ip),
            hardware_id: hardware_id.clone(),
            license: license.as_ref().map(|license| license.id),
            ..BanProbe::default()
        };
        // A code that exists proved the license; an unknown one proved nothing.
        let proof = if license.is_some() {
            Proof::Matched
        } else {
            Proof::Nothing
        };
        if let Some(kind) = self.refusal(app, &probe, proof).await? {
            return Err(LicenseSignUpError::Banned(kind));
        }
        let license = match license {
            Some(license) if !license.is_used() => license,
            _ => return Err(LicenseSignUpError::InvalidCode),
        };
        let now = self.ports.clock.now();
        let new_user = NewUser {
            id: UserId::generate(),
            username: Username::generate(),
            credential: Credential::LicenseCode,
            membership: license.duration.membership_from(now),
            signup_ip: ip,
            created_at: now,
        };
        // Everything below is decided from the license read above and sent at the commit, as
        // one statement on PostgreSQL; the claim, a conditional update by primary key, makes
        // the whole of it conditional: a rival that used the code first leaves nothing here.
        let mut tx = self.ports.unit_of_work.begin().await?;
        let user = tx.create_user(app.id, &new_user).await?;
        tx.claim_license(app.id, license.id, user.id, now).await?;
        let license = license.used_by(user.id, now);
        // The membership was set with the user; the ledger row says where it came from.
        let adjustment = Adjustment::for_license(&license, now);
        tx.record_adjustment(app.id, user.id, &adjustment).await?;
        let by = ChangedBy::end_user(user.id, context);
        let mut events = vec![
            events::user_created(app.id, &user, &by),
            events::license_used(
                app.id,
                EventType::LicenseRedeemed,
                &license,
                user.id,
                &by,
                now,
            ),
        ];
        if let Some(hardware_id) = &hardware_id {
            let device = tx
                .register_device(app.id, user.id, hardware_id, now)
                .await?;
            events.push(events::device_registered(app.id, &device, user.id, &by));
        }
        tx.record_events(&events).await?;
        tx.commit()
            .await
            .map_err(|error| match CommitConflict::of(&error) {
                Some(CommitConflict::LicenseClaimed) => LicenseSignUpError::InvalidCode,
                // 130 random bits collided: not the client's fault, and not worth a retry loop.
                _ => LicenseSignUpError::Unknown(error),
            })?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests;
