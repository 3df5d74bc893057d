//! Applications: the tenants. Each has integration credentials and an admin key.

use crate::values::{ApplicationId, Digest, Secret, SecretKind};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// A vendor's application, as stored: secrets only as digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: ApplicationId,
    pub name: ApplicationName,
    pub device_authentication: bool,
    pub api_key: String,
    pub api_secret_digest: Digest,
    pub admin_api_key_digest: Digest,
    pub settings: ApplicationSettings,
    /// The API secret before the last rotation, still accepted until its deadline.
    pub previous_api_secret: Option<PreviousSecret>,
    /// The admin key before the last rotation, still accepted until its deadline.
    pub previous_admin_api_key: Option<PreviousSecret>,
    pub created_at: DateTime<Utc>,
}

/// A rotated-out secret that keeps working for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousSecret {
    pub digest: Digest,
    pub valid_until: DateTime<Utc>,
}

impl PreviousSecret {
    fn accepts(&self, presented: &Digest, now: DateTime<Utc>) -> bool {
        // Compared whatever the deadline, so timing does not tell whether one is set.
        self.digest.matches(presented) & (self.valid_until > now)
    }
}

impl Application {
    /// The current API secret, or the previous one before its deadline.
    #[must_use]
    pub fn accepts_api_secret(&self, presented: &Digest, now: DateTime<Utc>) -> bool {
        let previous = self
            .previous_api_secret
            .is_some_and(|p| p.accepts(presented, now));
        self.api_secret_digest.matches(presented) | previous
    }

    /// The current admin key, or the previous one before its deadline.
    #[must_use]
    pub fn accepts_admin_api_key(&self, presented: &Digest, now: DateTime<Utc>) -> bool {
        let previous = self
            .previous_admin_api_key
            .is_some_and(|p| p.accepts(presented, now));
        self.admin_api_key_digest.matches(presented) | previous
    }
}

/// Which secret to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretToRotate {
    ApiSecret,
    AdminApiKey,
}

/// A rotation as stored: the new secret's digest, and the old one while it stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub which: SecretToRotate,
    pub new_digest: Digest,
    /// `None` when the old secret stops working at once.
    pub previous: Option<PreviousSecret>,
}

/// A rotation's answer: the new secret, shown once.
#[derive(Debug, Clone)]
pub struct RotatedSecret {
    pub which: SecretToRotate,
    pub secret: Secret,
    pub old_valid_until: Option<DateTime<Utc>>,
}

/// How an application's users sign in. Defaults as in Authgate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationSettings {
    /// Devices a user may register, unless the user has their own limit.
    pub device_limit: u32,
    /// Live sessions a user may hold at once, unless the user has their own limit.
    pub session_limit: u32,
    /// How long a sign-in session lasts.
    pub session_lifetime_seconds: u32,
    /// Whether a request refused for one banned identifier bans its other identifiers too.
    pub cross_banning: bool,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        Self {
            device_limit: 1,
            session_limit: 1,
            session_lifetime_seconds: 300,
            cross_banning: true,
        }
    }
}

/// An application just created, with the secrets that are shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApplication {
    pub application: Application,
    pub api_secret: Secret,
    pub admin_api_key: Secret,
}

impl CreatedApplication {
    /// Fresh credentials for a new application.
    #[must_use]
    pub fn generate(
        name: ApplicationName,
        device_authentication: bool,
        now: DateTime<Utc>,
    ) -> Self {
        let api_secret = Secret::generate(SecretKind::ApiSecret);
        let admin_api_key = Secret::generate(SecretKind::AdminApiKey);
        let application = Application {
            id: ApplicationId::generate(),
            name,
            device_authentication,
            api_key: Secret::generate(SecretKind::ApiKey).expose().to_owned(),
            api_secret_digest: api_secret.digest(),
            admin_api_key_digest: admin_api_key.digest(),
            settings: ApplicationSettings::default(),
            previous_api_secret: None,
            previous_admin_api_key: None,
            created_at: now,
        };
        Self {
            application,
            api_secret,
            admin_api_key,
        }
    }
}

/// What an operator may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationUpdate {
    pub name: Option<ApplicationName>,
    pub device_authentication: Option<bool>,
    pub device_limit: Option<u32>,
    pub session_limit: Option<u32>,
    pub session_lifetime_seconds: Option<u32>,
    pub cross_banning: Option<bool>,
}

/// 1 to 100 characters, no control characters, surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationName(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApplicationNameError {
    #[error("must be 1 to 100 characters without control characters")]
    Invalid,
}

impl ApplicationName {
    /// # Errors
    /// [`ApplicationNameError::Invalid`] for an empty, overlong or control-character name.
    pub fn parse(raw: &str) -> Result<Self, ApplicationNameError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
            return Err(ApplicationNameError::Invalid);
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_application_stores_only_digests_of_its_secrets() {
        let name = ApplicationName::parse(" My App ").unwrap();
        let created = CreatedApplication::generate(name, true, Utc::now());
        assert_eq!(created.application.name.as_str(), "My App");
        assert!(created.application.api_key.starts_with("lk_app_"));
        assert!(created.api_secret.expose().starts_with("lk_sec_"));
        assert!(created.admin_api_key.expose().starts_with("lk_adm_"));
        assert_eq!(
            created.application.api_secret_digest,
            created.api_secret.digest()
        );
        assert_eq!(
            created.application.admin_api_key_digest,
            created.admin_api_key.digest()
        );
    }

    #[test]
    fn empty_or_control_character_names_are_rejected() {
        assert!(ApplicationName::parse("  ").is_err());
        assert!(ApplicationName::parse("a\u{7}b").is_err());
        assert!(ApplicationName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn a_previous_secret_works_until_its_deadline_only() {
        let now = Utc::now();
        let mut created =
            CreatedApplication::generate(ApplicationName::parse("App").unwrap(), true, now);
        let old = created.api_secret.digest();
        let new = Secret::generate(SecretKind::ApiSecret).digest();
        created.application.api_secret_digest = new;
        created.application.previous_api_secret = Some(PreviousSecret {
            digest: old,
            valid_until: now + chrono::Duration::hours(1),
        });
        let app = &created.application;
        assert!(app.accepts_api_secret(&new, now));
        assert!(app.accepts_api_secret(&old, now));
        assert!(!app.accepts_api_secret(&old, now + chrono::Duration::hours(2)));
        assert!(!app.accepts_api_secret(&Digest::of("other"), now));
        assert!(
            !app.accepts_admin_api_key(&old, now),
            "the secrets are separate"
        );
    }
}
