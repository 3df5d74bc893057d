//! Operator accounts: the people who sign in to the console, their roles, second factor and
//! console sessions. (The operator *API* keeps its bearer token from configuration; these
//! accounts are for the console only.)

use crate::values::secret::{base32, random_bytes};
use crate::values::{Digest, OperatorId, PasswordHash};
use chrono::{DateTime, Utc};
use std::fmt;
use thiserror::Error;

/// An operator's e-mail address, trimmed and lower-cased: the unique sign-in name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperatorEmail(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OperatorEmailError {
    #[error("enter an e-mail address such as ops@example.com")]
    Malformed,
    #[error("an e-mail address has at most 254 characters")]
    TooLong,
}

impl OperatorEmail {
    pub const MAX_CHARS: usize = 254;

    /// One `@` with something before it and a dotted domain after it; no spaces or control
    /// characters. Deliberately loose beyond that: the address is a name, not a mailbox we
    /// write to.
    ///
    /// # Errors
    /// [`OperatorEmailError`] when the address is too long or not of that shape.
    pub fn parse(raw: &str) -> Result<Self, OperatorEmailError> {
        let email = raw.trim().to_lowercase();
        if email.chars().count() > Self::MAX_CHARS {
            return Err(OperatorEmailError::TooLong);
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(OperatorEmailError::Malformed);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(OperatorEmailError::Malformed);
        };
        let dotted = domain.split('.').all(|label| !label.is_empty()) && domain.contains('.');
        if local.is_empty() || domain.contains('@') || !dotted {
            return Err(OperatorEmailError::Malformed);
        }
        Ok(Self(email))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an operator may do. `Support` reads, adjusts memberships and resets devices; it
/// never sees keys and never deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorRole {
    Owner,
    Support,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a role is `owner` or `support`")]
pub struct OperatorRoleError;

impl OperatorRole {
    /// # Errors
    /// [`OperatorRoleError`] for anything but `owner` or `support`.
    pub fn parse(raw: &str) -> Result<Self, OperatorRoleError> {
        match raw.trim() {
            "owner" => Ok(Self::Owner),
            "support" => Ok(Self::Support),
            _ => Err(OperatorRoleError),
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Support => "support",
        }
    }

    /// The one place that says which role may do what; every console screen asks it.
    #[must_use]
    pub const fn allows(self, action: ConsoleAction) -> bool {
        match self {
            Self::Owner => true,
            Self::Support => matches!(
                action,
                ConsoleAction::Read | ConsoleAction::AdjustMembership | ConsoleAction::ResetDevices
            ),
        }
    }
}

/// The kinds of console action a role is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAction {
    /// See applications, users, licenses, bans (never keys or secrets).
    Read,
    AdjustMembership,
    ResetDevices,
    /// See or rotate keys and secrets, mint licenses (codes are secrets).
    ManageKeys,
    /// Create applications, change settings, ban, set variables.
    Change,
    Delete,
    /// Invite operators.
    ManageOperators,
}

/// A stored operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAccount {
    pub id: OperatorId,
    pub email: OperatorEmail,
    pub role: OperatorRole,
    pub password_hash: PasswordHash,
    /// The TOTP secret sealed under the master key for `totp_purpose(id)`; `None` until the
    /// operator sets one up.
    pub sealed_totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted, so the same code cannot be used twice.
    pub totp_last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl OperatorAccount {
    #[must_use]
    pub fn has_totp(&self) -> bool {
        self.sealed_totp_secret.is_some()
    }
}

/// What the TOTP secret of an operator is sealed for: bound to the account, so a sealed
/// secret copied onto another account does not open.
#[must_use]
pub fn totp_purpose(id: OperatorId) -> String {
    format!("console-totp:{id}")
}

/// A console session token: 256 random bits, shown to the browser (in its cookie) and never
/// stored; the store keeps its SHA-256 digest.
#[derive(Clone)]
pub struct ConsoleToken(String);

impl ConsoleToken {
    #[must_use]
    pub fn generate() -> Self {
        Self(format!(
            "lk_con_{}",
            base32(&random_bytes::<32>()).to_lowercase()
        ))
    }

    /// A token as the browser sent it; any string is accepted, an unknown one finds nothing.
    #[must_use]
    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(&self.0)
    }
}

impl fmt::Debug for ConsoleToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleToken(<redacted>)")
    }
}

/// A server-side console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub token_digest: Digest,
    pub operator: OperatorId,
    /// Signed in with a password only, the second factor still owed: such a session opens
    /// nothing but the code form, and lives minutes.
    pub pending_second_factor: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end; the idle end is `last_seen_at` plus the idle timeout.
    pub expires_at: DateTime<Utc>,
}

/// Backup codes: 80 random bits each, as four groups of four Crockford base32 characters.
#[derive(Clone)]
pub struct BackupCode(String);

impl BackupCode {
    pub const COUNT: usize = 10;

    #[must_use]
    pub fn generate() -> Self {
        let raw = base32(&random_bytes::<10>());
        let groups: Vec<&str> = [0, 4, 8, 12]
            .iter()
            .filter_map(|start| raw.get(*start..start + 4))
            .collect();
        Self(groups.join("-"))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest of a code as typed: case, spaces and hyphens do not matter.
    #[must_use]
    pub fn digest_of(typed: &str) -> Digest {
        let canonical: String = typed
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Digest::of(&format!("backup:{canonical}"))
    }

    #[must_use]
    pub fn digest(&self) -> Digest {
        Self::digest_of(&self.0)
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCode(<redacted>)")
    }
}

/// Why an operator account could not be stored.
#[derive(Debug, Error)]
pub enum CreateOperatorError {
    #[error("an operator with this e-mail address exists")]
    EmailTaken,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = OperatorEmail::parse("  Ops@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ops@example.com");
    }

    #[test]
    fn an_email_without_a_dotted_domain_is_refused() {
        for raw in [
            "ops",
            "ops@",
            "@example.com",
            "ops@localhost",
            "a b@x.io",
            "a@b@c.io",
            "ops@x..io",
        ] {
            assert_eq!(
                OperatorEmail::parse(raw),
                Err(OperatorEmailError::Malformed),
                "{raw}"
            );
        }
    }

    #[test]
    fn support_may_read_adjust_and_reset_but_not_see_keys_or_delete() {
        let support = OperatorRole::Support;
        assert!(support.allows(ConsoleAction::Read));
        assert!(support.allows(ConsoleAction::AdjustMembership));
        assert!(support.allows(ConsoleAction::ResetDevices));
        assert!(!support.allows(ConsoleAction::ManageKeys));
        assert!(!support.allows(ConsoleAction::Delete));
        assert!(!support.allows(ConsoleAction::ManageOperators));
        assert!(OperatorRole::Owner.allows(ConsoleAction::Delete));
    }

    #[test]
    fn a_backup_code_matches_however_it_is_typed() {
        let code = BackupCode::generate();
        assert_eq!(code.expose().len(), 19);
        let typed = code.expose().to_lowercase().replace('-', " ");
        assert_eq!(BackupCode::digest_of(&typed), code.digest());
    }

    #[test]
    fn console_tokens_carry_256_bits() {
        let token = ConsoleToken::generate();
        // 32 bytes in base32 is 52 characters, after the 7-character prefix.
        assert_eq!(token.expose().len(), 7 + 52);
        assert_ne!(token.expose(), ConsoleToken::generate().expose());
    }
}
