//! Applications: the tenants. Each has integration credentials and an admin key.

use crate::crypto::{FilesKey, MasterKey, SealError, SealedKeyPair};
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
    /// `None` only for an application made before response signing existed, until the
    /// server gives it keys at start.
    pub response_signing_keys: Option<ResponseSigningKeys>,
    /// The public halves of the key pairs its program signs requests with: made when request
    /// signing is first turned on, or rotated.
    pub request_signing_keys: Option<RequestSigningKeys>,
    /// The AES-256 key its encrypted files are stored under, sealed under the master key
    /// (purpose [`FilesKey::purpose`]). `None` only for an application made before files
    /// existed, until the server gives it one at start.
    pub sealed_files_key: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// The Ed25519 keys that sign an application's integration answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSigningKeys {
    pub current: SealedKeyPair,
    /// The key before the last rotation: it keeps signing, beside the current one, until its
    /// deadline, so programs that pinned it keep working while vendors ship the new one.
    pub previous: Option<PreviousKey>,
}

/// The public keys that signed requests are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSigningKeys {
    pub current: crate::crypto::PublicKey,
    /// The key before the last rotation, still accepted until its deadline.
    pub previous: Option<(crate::crypto::PublicKey, DateTime<Utc>)>,
}

impl RequestSigningKeys {
    /// The key with this id, if it is accepted at `now`.
    #[must_use]
    pub fn accepted(&self, key_id: &str, now: DateTime<Utc>) -> Option<crate::crypto::PublicKey> {
        let previous = self
            .previous
            .filter(|(_, valid_until)| *valid_until > now)
            .map(|(key, _)| key);
        std::iter::once(self.current)
            .chain(previous)
            .find(|key| key.key_id() == key_id)
    }
}

/// A rotated-out signing key that keeps signing for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousKey {
    pub key: SealedKeyPair,
    pub valid_until: DateTime<Utc>,
}

impl ResponseSigningKeys {
    /// A fresh key for the application `id`.
    ///
    /// # Errors
    /// Only when sealing fails.
    pub fn generate(master: &MasterKey, id: ApplicationId) -> Result<Self, SealError> {
        Ok(Self {
            current: SealedKeyPair::generate(master, &Self::purpose(id))?,
            previous: None,
        })
    }

    /// What the sealed private keys of the application `id` are bound to.
    #[must_use]
    pub fn purpose(id: ApplicationId) -> String {
        format!("response-signing:{id}")
    }

    /// The keys that sign at `now`: the current one, then the previous one before its
    /// deadline.
    #[must_use]
    pub fn in_force(&self, now: DateTime<Utc>) -> Vec<&SealedKeyPair> {
        let previous = self
            .previous
            .as_ref()
            .filter(|previous| previous.valid_until > now)
            .map(|previous| &previous.key);
        std::iter::once(&self.current).chain(previous).collect()
    }

    /// A new current key; the current one keeps signing for `old_valid_for` (zero: not at
    /// all).
    ///
    /// # Errors
    /// Only when sealing fails.
    pub fn rotated(
        &self,
        master: &MasterKey,
        id: ApplicationId,
        now: DateTime<Utc>,
        old_valid_for: chrono::Duration,
    ) -> Result<Self, SealError> {
        Ok(Self {
            current: SealedKeyPair::generate(master, &Self::purpose(id))?,
            previous: (old_valid_for > chrono::Duration::zero()).then(|| PreviousKey {
                key: self.current.clone(),
                valid_until: now + old_valid_for,
            }),
        })
    }
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
    /// The key pair that signs integration answers.
    ResponseSigningKey,
    /// The key pair the application's program signs its requests with.
    RequestSigningKey,
    /// The key encrypted files are stored under. Files stored before stay as they are.
    FilesKey,
}

/// A rotation as stored: the new secret's digest, and the old one while it stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub which: SecretToRotate,
    pub new_digest: Digest,
    /// `None` when the old secret stops working at once.
    pub previous: Option<PreviousSecret>,
}

/// A rotation's answer: the new secret, shown once, or the new public key; and the
/// application as it now is.
#[derive(Debug, Clone)]
pub struct RotatedSecret {
    pub which: SecretToRotate,
    pub value: RotatedValue,
    pub old_valid_until: Option<DateTime<Utc>>,
    pub application: Application,
}

/// What a rotation made.
#[derive(Debug, Clone)]
pub enum RotatedValue {
    Secret(Secret),
    PublicKey(crate::crypto::PublicKey),
    /// A request signing key pair: its private half, shown once.
    PrivateKey(zeroize::Zeroizing<String>),
    /// A files key, in hex (it is also shown in the settings answers).
    FilesKey(zeroize::Zeroizing<String>),
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
    /// Whether integration answers carry an Ed25519 signature (RFC 9421).
    pub response_signing: bool,
    /// Whether every integration request must carry an Ed25519 signature (RFC 9421).
    pub request_signing: bool,
    /// Whether `app_context` answers callers without a session, with the public variables.
    pub anonymous_access: bool,
    /// How many variables a user may have.
    pub max_user_variables: u32,
    /// Whether calls that read the application context or user variables may carry the
    /// user's credentials instead of a session, as Authgate's legacy clients do.
    pub legacy_auth: bool,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        Self {
            device_limit: 1,
            session_limit: 1,
            session_lifetime_seconds: 300,
            cross_banning: true,
            response_signing: true,
            request_signing: false,
            anonymous_access: false,
            max_user_variables: 100,
            legacy_auth: false,
        }
    }
}

impl ApplicationSettings {
    /// The bounds of each number setting, as the admin API and the console accept them.
    pub const DEVICE_LIMITS: std::ops::RangeInclusive<u32> = 1..=10_000;
    pub const SESSION_LIMITS: std::ops::RangeInclusive<u32> = 1..=10_000;
    pub const SESSION_LIFETIME_SECONDS: std::ops::RangeInclusive<u32> = 60..=31_536_000;
    pub const MAX_USER_VARIABLES: std::ops::RangeInclusive<u32> = 1..=1000;
}

/// An application just created, with the secrets that are shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApplication {
    pub application: Application,
    pub api_secret: Secret,
    pub admin_api_key: Secret,
}

impl CreatedApplication {
    /// Fresh credentials and a response signing key for a new application.
    ///
    /// # Errors
    /// Only when sealing the signing key fails.
    pub fn generate(
        name: ApplicationName,
        device_authentication: bool,
        now: DateTime<Utc>,
        master: &MasterKey,
    ) -> Result<Self, SealError> {
        let api_secret = Secret::generate(SecretKind::ApiSecret);
        let admin_api_key = Secret::generate(SecretKind::AdminApiKey);
        let id = ApplicationId::generate();
        let application = Application {
            id,
            name,
            device_authentication,
            api_key: Secret::generate(SecretKind::ApiKey).expose().to_owned(),
            api_secret_digest: api_secret.digest(),
            admin_api_key_digest: admin_api_key.digest(),
            settings: ApplicationSettings::default(),
            previous_api_secret: None,
            previous_admin_api_key: None,
            response_signing_keys: Some(ResponseSigningKeys::generate(master, id)?),
            request_signing_keys: None,
            sealed_files_key: Some(FilesKey::generate().seal(master, id)?),
            created_at: now,
        };
        Ok(Self {
            application,
            api_secret,
            admin_api_key,
        })
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
    pub response_signing: Option<bool>,
    pub request_signing: Option<bool>,
    pub anonymous_access: Option<bool>,
    pub max_user_variables: Option<u32>,
    pub legacy_auth: Option<bool>,
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
pub(crate) fn master() -> MasterKey {
    MasterKey::from_bytes(&[7; MasterKey::LEN]).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_signing_key_keeps_signing_until_its_deadline() {
        let (master, id, now) = (master(), ApplicationId::generate(), Utc::now());
        let keys = ResponseSigningKeys::generate(&master, id).unwrap();
        assert_eq!(keys.in_force(now), vec![&keys.current]);
        let rotated = keys
            .rotated(&master, id, now, chrono::Duration::hours(1))
            .unwrap();
        assert_ne!(rotated.current, keys.current);
        assert_eq!(rotated.in_force(now), vec![&rotated.current, &keys.current]);
        let later = now + chrono::Duration::hours(1);
        assert_eq!(rotated.in_force(later), vec![&rotated.current]);
        let at_once = keys
            .rotated(&master, id, now, chrono::Duration::zero())
            .unwrap();
        assert_eq!(at_once.previous, None);
    }

    #[test]
    fn a_new_application_stores_only_digests_of_its_secrets() {
        let name = ApplicationName::parse(" My App ").unwrap();
        let created = CreatedApplication::generate(name, true, Utc::now(), &master()).unwrap();
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
        let name = ApplicationName::parse("App").unwrap();
        let mut created = CreatedApplication::generate(name, true, now, &master()).unwrap();
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
