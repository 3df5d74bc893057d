//! Signing in, activating licenses and reading the application context: the integration
//! calls of users who already exist.
//!
//! Order: IP and device bans before any hashing; credentials; then the user's and license's
//! bans (after the password, so a ban tells nothing to someone without it); then the writes in
//! one transaction that locks the user's row, so concurrent sign-ins of one user take turns
//! and cannot exceed the device or session limits.

use super::bans::Proof;
use super::{
    ActivateLicense, AppContext, Caller, Credentials, Latchkey, Login, SignInApi, SignedIn, events,
};
use crate::application::Application;
use crate::ban::BanProbe;
use crate::errors::{
    ActivateLicenseError, AppContextError, CommitConflict, HashError, LoginError,
    SetUserVariableError,
};
use crate::event::{ChangedBy, EventType};
use crate::session::{NewSession, UserVariable};
use crate::user::{Adjustment, Credential, User};
use crate::values::{Digest, LicenseId, Password, Secret, SecretKind, SessionId, Username};
use async_trait::async_trait;
use chrono::Duration;

impl Latchkey {
    /// The user whose password this is; `None` for an unknown user or a wrong password, after
    /// the same amount of hashing either way.
    async fn user_with_password(
        &self,
        app: &Application,
        username: &Username,
        password: &Password,
    ) -> Result<Option<User>, HashError> {
        let user = self.ports.users.find_by_username(app.id, username).await?;
        let hash = user.as_ref().and_then(|user| match &user.credential {
            Credential::Password(hash) => Some(hash.clone()),
            Credential::LicenseCode => None,
        });
        let known = hash.is_some();
        let matches = self.ports.hasher.verify(hash, password).await?;
        Ok(user.filter(|_| matches && known))
    }

    /// The user these credentials prove, and the license when they are a code.
    pub(crate) async fn user_with_credentials(
        &self,
        app: &Application,
        credentials: &Credentials,
    ) -> Result<Option<(User, Option<LicenseId>)>, HashError> {
        Ok(match credentials {
            Credentials::Password { username, password } => self
                .user_with_password(app, username, password)
                .await?
                .map(|user| (user, None)),
            Credentials::LicenseCode(code) => self
                .user_with_code(app, code)
                .await?
                .map(|(user, license)| (user, Some(license))),
        })
    }

    /// The user who signed up with this code. A code that a password user activated is no
    /// credential: holding it must not let anyone in as that user.
    async fn user_with_code(
        &self,
        app: &Application,
        code: &crate::values::LicenseCode,
    ) -> anyhow::Result<Option<(User, LicenseId)>> {
        let Some(license) = self.ports.licenses.find_by_code(app.id, code).await? else {
            return Ok(None);
        };
        let Some(user_id) = license.activated_by else {
            return Ok(None);
        };
        let user = self.ports.users.get(app.id, user_id).await?;
        Ok(user
            .filter(|user| user.credential == Credential::LicenseCode)
            .map(|user| (user, license.id)))
    }
}

/// A sign-in's checks passed: the user, locked in `tx`, and the device it came from.
struct Proven {
    user: User,
    tx: Box<dyn crate::ports::Transaction>,
    device: Option<crate::user::Device>,
    now: chrono::DateTime<chrono::Utc>,
}

#[async_trait]
impl SignInApi for Latchkey {
    async fn login(&self, app: &Application, request: Login) -> Result<SignedIn, LoginError> {
        let Proven {
            user,
            mut tx,
            device,
            now,
        } = self.prove(app, request).await?;
        // A new sign-in on a device replaces that device's older sessions.
        if let Some(device) = &device {
            tx.revoke_device_sessions(app.id, user.id, device.id, now)
                .await?;
        }
        let limit = user.session_limit.unwrap_or(app.settings.session_limit);
        if tx.count_live_sessions(app.id, user.id, now).await? >= u64::from(limit) {
            return Err(LoginError::MaxSessionsReached);
        }
        let token = Secret::generate(SecretKind::SessionToken);
        let expires_at = now + Duration::seconds(i64::from(app.settings.session_lifetime_seconds));
        let session = NewSession {
            id: SessionId::generate(),
            token_digest: token.digest(),
            user: user.id,
            device: device.map(|device| device.id),
            created_at: now,
            expires_at,
        };
        tx.create_session(app.id, &session).await?;
        tx.commit().await?;
        Ok(SignedIn { token, expires_at })
    }

    async fn activate_license(
        &self,
        app: &Application,
        request: ActivateLicense,
    ) -> Result<Adjustment, ActivateLicenseError> {
        let ActivateLicense {
            code,
            username,
            password,
            context,
        } = request;
        let ip = context.client_ip;
        let mut probe = BanProbe {
            ip: Some(ip),
            ..BanProbe::default()
        };
        if let Some(kind) = self.refusal(app, &probe, Proof::Nothing).await? {
            return Err(ActivateLicenseError::Banned(kind));
        }
        let user = self
            .user_with_password(app, &username, &password)
            .await?
            .ok_or(ActivateLicenseError::InvalidCredentials)?;
        let license = self.ports.licenses.find_by_code(app.id, &code).await?;
        probe.user = Some(user.id);
        probe.license = license.as_ref().map(|license| license.id);
        if let Some(kind) = self.refusal(app, &probe, Proof::Matched).await? {
            return Err(ActivateLicenseError::Banned(kind));
        }
        let license = match license {
            Some(license) if !license.is_used() => license,
            _ => return Err(ActivateLicenseError::InvalidCode),
        };

        let now = self.ports.clock.now();
        let mut tx = self.ports.unit_of_work.begin().await?;
        // Locked first, so two activations for one user add up instead of overwriting.
        let user = tx
            .lock_user(app.id, user.id, Some(ip))
            .await?
            .ok_or(ActivateLicenseError::InvalidCredentials)?;
        // The claim decides between rivals for the code: the loser's commit keeps nothing.
        tx.claim_license(app.id, license.id, user.id, now).await?;
        let license = license.used_by(user.id, now);
        let adjustment = Adjustment::for_license(&license, now);
        let membership = user.membership.after(&adjustment, now);
        tx.adjust_membership(app.id, user.id, membership, &adjustment)
            .await?;
        let by = ChangedBy::end_user(user.id, context);
        let activated = events::license_used(
            app.id,
            EventType::LicenseActivated,
            &license,
            user.id,
            &by,
            now,
        );
        let adjusted = events::membership_adjusted(app.id, user.id, &adjustment, &by);
        tx.record_events(&[activated, adjusted]).await?;
        tx.commit()
            .await
            .map_err(|error| match CommitConflict::of(&error) {
                Some(CommitConflict::LicenseClaimed) => ActivateLicenseError::InvalidCode,
                _ => ActivateLicenseError::Unknown(error),
            })?;
        Ok(adjustment)
    }

    async fn app_context(
        &self,
        app: &Application,
        caller: Caller,
        ip: crate::values::ClientIp,
    ) -> Result<AppContext, AppContextError> {
        if caller == Caller::Anonymous {
            return self.anonymous_context(app, ip).await;
        }
        let user = self.caller_user(app, caller, ip).await?;
        let variables = self.ports.variables.list(app.id).await?;
        let files = self.listed_files(app.id, Some(&user)).await?;
        Ok(AppContext {
            application: app.clone(),
            variables,
            user: Some(user),
            files,
            server_time: self.ports.clock.now(),
        })
    }

    async fn user_variables(
        &self,
        app: &Application,
        caller: Caller,
        ip: crate::values::ClientIp,
    ) -> Result<Vec<UserVariable>, AppContextError> {
        let user = self.caller_user(app, caller, ip).await?;
        let listed = self.ports.user_variables.list(app.id, user.id).await?;
        listed.ok_or(AppContextError::InvalidSession)
    }

    async fn set_user_variable(
        &self,
        app: &Application,
        caller: Caller,
        ip: crate::values::ClientIp,
        variable: UserVariable,
    ) -> Result<(), AppContextError> {
        let user = self.caller_user(app, caller, ip).await?;
        let max = app.settings.max_user_variables;
        let now = self.ports.clock.now();
        match self
            .ports
            .user_variables
            .set(app.id, user.id, &variable, max, now)
            .await
        {
            Ok(()) => Ok(()),
            Err(SetUserVariableError::TooMany) => Err(AppContextError::TooManyVariables),
            Err(SetUserVariableError::UnknownUser) => Err(AppContextError::InvalidSession),
            Err(SetUserVariableError::Unknown(error)) => Err(error.into()),
        }
    }

    async fn delete_user_variable(
        &self,
        app: &Application,
        caller: Caller,
        ip: crate::values::ClientIp,
        name: &str,
    ) -> Result<bool, AppContextError> {
        let user = self.caller_user(app, caller, ip).await?;
        Ok(self
            .ports
            .user_variables
            .delete(app.id, user.id, name)
            .await?)
    }
}

impl Latchkey {
    /// What every sign-in checks, with credentials instead of a session: the device
    /// requirement and bans before any hashing, the credentials, then the user's and the
    /// license's bans and the membership; in a transaction that locks the user, records the
    /// address, upgrades a weak hash and registers a new device within the limit.
    async fn prove(&self, app: &Application, request: Login) -> Result<Proven, LoginError> {
        let Login {
            credentials,
            hardware_id,
            origin,
        } = request;
        let ip = origin.client_ip;
        if app.device_authentication && hardware_id.is_none() {
            return Err(LoginError::DeviceAuthenticationRequired);
        }
        let mut probe = BanProbe {
            ip: Some(ip),
            hardware_id: hardware_id.clone(),
            ..BanProbe::default()
        };
        if let Some(kind) = self.refusal(app, &probe, Proof::Nothing).await? {
            return Err(LoginError::Banned(kind));
        }
        let (user, license) = self
            .user_with_credentials(app, &credentials)
            .await?
            .ok_or(LoginError::InvalidCredentials)?;
        // The password matched: if its hash is weaker than today's, hash it again now.
        let rehash = match (&credentials, &user.credential) {
            (Credentials::Password { password, .. }, Credential::Password(stored))
                if self.ports.hasher.needs_rehash(stored) =>
            {
                Some(self.ports.hasher.hash(password).await?)
            }
            _ => None,
        };
        probe.user = Some(user.id);
        probe.license = license;
        if let Some(kind) = self.refusal(app, &probe, Proof::Matched).await? {
            return Err(LoginError::Banned(kind));
        }
        let now = self.ports.clock.now();
        if !user.membership.is_active(now) {
            return Err(LoginError::MembershipInactive);
        }

        let mut tx = self.ports.unit_of_work.begin().await?;
        let user = tx
            .lock_user(app.id, user.id, Some(ip))
            .await?
            .ok_or(LoginError::InvalidCredentials)?;
        if let Some(hash) = &rehash {
            tx.set_password_hash(app.id, user.id, hash).await?;
        }
        let device = match &hardware_id {
            None => None,
            Some(hardware_id) => match tx.find_device(app.id, user.id, hardware_id).await? {
                Some(device) => Some(device),
                None => {
                    let limit = user.device_limit.unwrap_or(app.settings.device_limit);
                    if app.device_authentication
                        && tx.count_devices(app.id, user.id).await? >= u64::from(limit)
                    {
                        return Err(LoginError::MaxDevicesReached);
                    }
                    let device = tx
                        .register_device(app.id, user.id, hardware_id, now)
                        .await?;
                    let by = ChangedBy::end_user(user.id, origin);
                    let registered = events::device_registered(app.id, &device, user.id, &by);
                    tx.record_events(&[registered]).await?;
                    Some(device)
                }
            },
        };
        Ok(Proven {
            user,
            tx,
            device,
            now,
        })
    }

    /// The user whose credentials a call carries instead of a session (legacy auth): every
    /// rule of a sign-in, and no session.
    async fn credential_user(&self, app: &Application, request: Login) -> Result<User, LoginError> {
        let proven = self.prove(app, request).await?;
        proven.tx.commit().await?;
        Ok(proven.user)
    }

    /// The user who calls: by a live session, or by credentials when the application
    /// allows legacy auth. Nobody in particular is an invalid session here.
    pub(crate) async fn caller_user(
        &self,
        app: &Application,
        caller: Caller,
        ip: crate::values::ClientIp,
    ) -> Result<User, AppContextError> {
        match caller {
            Caller::Session(token) => self.session_user(app, &token, ip).await,
            Caller::Credentials(login) if app.settings.legacy_auth => self
                .credential_user(app, login)
                .await
                .map_err(AppContextError::SignIn),
            Caller::Credentials(_) | Caller::Anonymous => Err(AppContextError::InvalidSession),
        }
    }

    /// The user a live session belongs to, unless the user or the caller's address is
    /// banned.
    async fn session_user(
        &self,
        app: &Application,
        session_token: &str,
        ip: crate::values::ClientIp,
    ) -> Result<User, AppContextError> {
        let now = self.ports.clock.now();
        let session = self
            .ports
            .sessions
            .find_by_token(app.id, &Digest::of(session_token))
            .await?
            .filter(|session| session.is_live(now))
            .ok_or(AppContextError::InvalidSession)?;
        let user = self
            .ports
            .users
            .get(app.id, session.user)
            .await?
            .ok_or(AppContextError::InvalidSession)?;
        let probe = BanProbe {
            ip: Some(ip),
            user: Some(user.id),
            ..BanProbe::default()
        };
        if let Some(kind) = self.refusal(app, &probe, Proof::Matched).await? {
            return Err(AppContextError::Banned(kind));
        }
        Ok(user)
    }

    /// The context a caller without a session may read: the public variables, when the
    /// application allows anonymous access and the caller's address is not banned.
    async fn anonymous_context(
        &self,
        app: &Application,
        ip: crate::values::ClientIp,
    ) -> Result<AppContext, AppContextError> {
        if !app.settings.anonymous_access {
            return Err(AppContextError::InvalidSession);
        }
        let probe = BanProbe {
            ip: Some(ip),
            ..BanProbe::default()
        };
        if let Some(kind) = self.refusal(app, &probe, Proof::Nothing).await? {
            return Err(AppContextError::Banned(kind));
        }
        let mut variables = self.ports.variables.list(app.id).await?;
        variables.retain(|variable| variable.is_public);
        let files = self.listed_files(app.id, None).await?;
        Ok(AppContext {
            application: app.clone(),
            variables,
            user: None,
            files,
            server_time: self.ports.clock.now(),
        })
    }
}

#[cfg(test)]
mod tests;
