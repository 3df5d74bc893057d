//! The console's accounts: creating operators, signing in (password, then TOTP or a backup
//! code when set up), console sessions, TOTP set-up, and invitations. The console adapter
//! calls this service; the screens behind sign-in call the same services as the admin API.

use crate::crypto::MasterKey;
use crate::errors::HashError;
use crate::operator_account::{
    BackupCode, ConsoleSession, ConsoleToken, CreateOperatorError, OperatorAccount, OperatorEmail,
    OperatorRole, totp_purpose,
};
use crate::ports::{
    Clock, ConsoleSessionStore, Limited, OperatorAccountStore, PasswordHasher, RateLimit,
    RateLimiter,
};
use crate::values::secret::{base32, random_bytes};
use crate::values::{ApplicationId, ClientIp, OperatorId, Password};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use thiserror::Error;
use zeroize::Zeroizing;

/// A session with no request for this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::hours(12);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::days(7);
/// The time between a correct password and the second factor.
pub const SECOND_FACTOR_TIMEOUT: Duration = Duration::minutes(5);
/// `last_seen_at` is written at most this often, so that reading pages does not write a row
/// per request; the idle timeout is therefore exact to within this.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// TOTP: RFC 6238, 30-second steps, 6 digits, one step of skew either way.
const TOTP_STEP_SECONDS: u64 = 30;
/// 160 bits, as RFC 4226 recommends.
const TOTP_SECRET_BYTES: usize = 20;

/// The rate limiter counts per (limit, application, IP). Console sign-ins are counted under
/// an application id no application has (the nil UUID) for the per-IP bucket, and under one
/// derived from the e-mail address, with the unspecified IP, for the per-account bucket:
/// the port is reused unchanged, and neither bucket collides with an application's.
fn ip_bucket(ip: ClientIp) -> (ApplicationId, ClientIp) {
    (ApplicationId::from_uuid(uuid::Uuid::nil()), ip)
}

fn account_bucket(email: &str) -> (ApplicationId, ClientIp) {
    let digest = Sha256::digest(format!("console-account:{email}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    (
        ApplicationId::from_uuid(uuid::Uuid::from_bytes(bytes)),
        ClientIp::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    )
}

/// A new console session: the token goes into the cookie; the store keeps its digest.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub token: ConsoleToken,
    pub session: ConsoleSession,
}

/// The outcome of a correct password.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// Signed in.
    Complete(StartedSession),
    /// The account has TOTP: this short session opens only the code form.
    SecondFactorNeeded(StartedSession),
}

#[derive(Debug, Error)]
pub enum ConsoleSignInError {
    /// Unknown e-mail, wrong password, or wrong code: one answer for all.
    #[error("the e-mail address or password is wrong")]
    WrongCredentials,
    #[error("too many failed sign-ins; try again later")]
    RateLimited(Limited),
    #[error(transparent)]
    Busy(HashError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Debug, Error)]
pub enum SecondFactorError {
    #[error("the code is wrong or was already used")]
    WrongCode,
    /// The pending session is unknown or older than [`SECOND_FACTOR_TIMEOUT`].
    #[error("the sign-in took too long; sign in again")]
    Expired,
    #[error("too many failed sign-ins; try again later")]
    RateLimited(Limited),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Debug, Error)]
pub enum CreateAccountError {
    #[error("an operator with this e-mail address exists")]
    EmailTaken,
    /// Only owners invite operators.
    #[error("only an owner may do this")]
    NotAllowed,
    #[error(transparent)]
    Busy(HashError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Debug, Error)]
pub enum TotpSetupError {
    #[error("the code is wrong; check the device's clock and enter the current code")]
    WrongCode,
    #[error("a second factor is already set up")]
    AlreadyEnabled,
    /// The set-up form's sealed secret was altered or belongs to another account.
    #[error("the set-up expired; start again")]
    Invalid,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// A TOTP secret being set up: shown once, and carried sealed in the confirmation form, so
/// nothing is stored until the operator proves their authenticator has it.
pub struct TotpSetup {
    /// Base32 (RFC 4648, no padding), as authenticator apps take it.
    pub secret_base32: Zeroizing<String>,
    pub otpauth_uri: Zeroizing<String>,
    /// The secret sealed for this account's set-up: opaque to the browser.
    pub sealed: Vec<u8>,
}

/// What a signed-in request knows about its operator.
#[derive(Debug, Clone)]
pub struct SignedInOperator {
    pub account: OperatorAccount,
    pub session: ConsoleSession,
}

/// The operator accounts service.
#[derive(Clone)]
pub struct OperatorAccounts {
    accounts: Arc<dyn OperatorAccountStore>,
    sessions: Arc<dyn ConsoleSessionStore>,
    hasher: Arc<dyn PasswordHasher>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    master_key: Arc<MasterKey>,
}

fn setup_purpose(id: OperatorId) -> String {
    format!("console-totp-setup:{id}")
}

fn totp(secret: &[u8]) -> anyhow::Result<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(TOTP_STEP_SECONDS)
        .build()
        .map_err(|error| anyhow::anyhow!("building the TOTP: {error}"))
}

/// The step a 6-digit `code` matches at `now` (±1 step), if any.
fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> anyhow::Result<Option<i64>> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Ok(seconds) = u64::try_from(now.timestamp()) else {
        return Ok(None);
    };
    Ok(totp(secret)?
        .check(code, seconds)
        .and_then(|step| i64::try_from(step).ok()))
}

/// What the set-up page shows for `secret`.
fn setup_for(
    operator: &OperatorAccount,
    secret: &[u8],
    sealed: Vec<u8>,
) -> Result<TotpSetup, TotpSetupError> {
    let secret_base32 = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(secret));
    let label = format!("Latchkey:{}", operator.email);
    let mut uri = url::Url::parse("otpauth://totp/").map_err(anyhow::Error::from)?;
    uri.set_path(&label);
    uri.query_pairs_mut()
        .append_pair("secret", &secret_base32)
        .append_pair("issuer", "Latchkey")
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30");
    Ok(TotpSetup {
        secret_base32,
        otpauth_uri: Zeroizing::new(uri.to_string()),
        sealed,
    })
}

impl OperatorAccounts {
    #[must_use]
    pub fn new(
        accounts: Arc<dyn OperatorAccountStore>,
        sessions: Arc<dyn ConsoleSessionStore>,
        hasher: Arc<dyn PasswordHasher>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        master_key: Arc<MasterKey>,
    ) -> Self {
        Self {
            accounts,
            sessions,
            hasher,
            limiter,
            clock,
            master_key,
        }
    }

    /// Creates an account (from the CLI, or by an owner's invitation).
    ///
    /// # Errors
    /// [`CreateAccountError::EmailTaken`]; [`CreateAccountError::Busy`] when the hashing pool
    /// is full.
    pub async fn create_account(
        &self,
        email: OperatorEmail,
        password: &Password,
        role: OperatorRole,
    ) -> Result<OperatorAccount, CreateAccountError> {
        let password_hash = self
            .hasher
            .hash(password)
            .await
            .map_err(CreateAccountError::Busy)?;
        let account = OperatorAccount {
            id: OperatorId::generate(),
            email,
            role,
            password_hash,
            sealed_totp_secret: None,
            totp_last_step: None,
            created_at: self.clock.now(),
        };
        self.accounts
            .create(&account)
            .await
            .map_err(|error| match error {
                CreateOperatorError::EmailTaken => CreateAccountError::EmailTaken,
                CreateOperatorError::Unknown(error) => CreateAccountError::Unknown(error),
            })?;
        Ok(account)
    }

    /// An owner invites an operator: the account gets a random one-time password, shown
    /// once to the owner to hand over.
    ///
    /// # Errors
    /// [`CreateAccountError::NotAllowed`] unless `by` is an owner; else as
    /// [`Self::create_account`].
    pub async fn invite(
        &self,
        by: &OperatorAccount,
        email: OperatorEmail,
        role: OperatorRole,
    ) -> Result<(OperatorAccount, Zeroizing<String>), CreateAccountError> {
        if !by
            .role
            .allows(crate::operator_account::ConsoleAction::ManageOperators)
        {
            return Err(CreateAccountError::NotAllowed);
        }
        // 100 bits in base32: 20 characters, well inside the password rules.
        let plaintext = Zeroizing::new(base32(&random_bytes::<13>()).to_lowercase());
        let password = Password::parse(&plaintext)
            .map_err(|error| anyhow::anyhow!("generated password refused: {error}"))?;
        let account = self.create_account(email, &password, role).await?;
        Ok((account, plaintext))
    }

    async fn limited(&self, ip: ClientIp, email: &str) -> Result<(), Limited> {
        let (app, ip) = ip_bucket(ip);
        self.limiter
            .check(RateLimit::FailedAttempts, app, ip)
            .await?;
        let (app, ip) = account_bucket(email);
        self.limiter.check(RateLimit::FailedAttempts, app, ip).await
    }

    async fn count_failure(&self, ip: ClientIp, email: &str) {
        let (app, bucket_ip) = ip_bucket(ip);
        // Counting is all that matters here; whether this one went over shows on the next.
        let _ = self
            .limiter
            .count(RateLimit::FailedAttempts, app, bucket_ip)
            .await;
        let (app, bucket_ip) = account_bucket(email);
        let _ = self
            .limiter
            .count(RateLimit::FailedAttempts, app, bucket_ip)
            .await;
    }

    async fn start(
        &self,
        operator: OperatorId,
        pending_second_factor: bool,
    ) -> anyhow::Result<StartedSession> {
        let now = self.clock.now();
        let token = ConsoleToken::generate();
        let session = ConsoleSession {
            token_digest: token.digest(),
            operator,
            pending_second_factor,
            created_at: now,
            last_seen_at: now,
            expires_at: now
                + if pending_second_factor {
                    SECOND_FACTOR_TIMEOUT
                } else {
                    ABSOLUTE_TIMEOUT
                },
        };
        self.sessions.create(&session).await?;
        Ok(StartedSession { token, session })
    }

    /// Checks the e-mail address and password and starts a new session (always a new
    /// token: a session id planted before sign-in is never promoted). Refused before any
    /// hashing when the client IP or the account is over the failed sign-in limit.
    ///
    /// # Errors
    /// [`ConsoleSignInError::WrongCredentials`] for an unknown address or a wrong password,
    /// alike in body and (by hashing a dummy) in time.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: ClientIp,
    ) -> Result<SignInStep, ConsoleSignInError> {
        let canonical = email.trim().to_lowercase();
        self.limited(ip, &canonical)
            .await
            .map_err(ConsoleSignInError::RateLimited)?;
        let account = match OperatorEmail::parse(email) {
            Ok(email) => self.accounts.find_by_email(&email).await?,
            Err(_) => None,
        };
        // A password that breaks the rules cannot match; it still costs a dummy hash.
        let password = Password::parse(password).ok();
        let matches = match &password {
            Some(password) => self
                .hasher
                .verify(account.as_ref().map(|a| a.password_hash.clone()), password)
                .await
                .map_err(ConsoleSignInError::Busy)?,
            None => {
                let dummy = Password::parse("not-a-password").map_err(anyhow::Error::from)?;
                self.hasher
                    .verify(None, &dummy)
                    .await
                    .map_err(ConsoleSignInError::Busy)?
            }
        };
        let Some(account) = account.filter(|_| matches && password.is_some()) else {
            self.count_failure(ip, &canonical).await;
            return Err(ConsoleSignInError::WrongCredentials);
        };
        if let Some(password) = &password {
            self.rehash_if_weak(&account, password).await;
        }
        let started = self.start(account.id, account.has_totp()).await?;
        Ok(if account.has_totp() {
            SignInStep::SecondFactorNeeded(started)
        } else {
            SignInStep::Complete(started)
        })
    }

    /// A hash made with weaker parameters than today's is replaced after a correct password.
    /// Best effort: a busy pool or a failed write leaves the old hash, which still verifies.
    async fn rehash_if_weak(&self, account: &OperatorAccount, password: &Password) {
        if !self.hasher.needs_rehash(&account.password_hash) {
            return;
        }
        match self.hasher.hash(password).await {
            Ok(hash) => {
                if let Err(error) = self.accounts.set_password_hash(account.id, &hash).await {
                    tracing::warn!(error = format!("{error:#}"), "operator rehash not stored");
                }
            }
            Err(error) => tracing::warn!(%error, "operator rehash skipped"),
        }
    }

    /// The second step: a 6-digit TOTP code (each time step accepted once) or an unused
    /// backup code. The pending session ends either way it succeeds, and a new full one
    /// starts.
    ///
    /// # Errors
    /// [`SecondFactorError::Expired`] for an unknown or stale pending session;
    /// [`SecondFactorError::WrongCode`] for a wrong, replayed or used code.
    pub async fn second_factor(
        &self,
        pending: &ConsoleToken,
        code: &str,
        ip: ClientIp,
    ) -> Result<StartedSession, SecondFactorError> {
        let now = self.clock.now();
        let Some(session) = self.sessions.find(&pending.digest()).await? else {
            return Err(SecondFactorError::Expired);
        };
        if !session.pending_second_factor || session.expires_at <= now {
            return Err(SecondFactorError::Expired);
        }
        let Some(account) = self.accounts.get(session.operator).await? else {
            return Err(SecondFactorError::Expired);
        };
        let email = account.email.as_str().to_owned();
        self.limited(ip, &email)
            .await
            .map_err(SecondFactorError::RateLimited)?;
        let accepted = self.check_code(&account, code, now).await?;
        if !accepted {
            self.count_failure(ip, &email).await;
            return Err(SecondFactorError::WrongCode);
        }
        self.sessions.delete(&pending.digest()).await?;
        Ok(self.start(account.id, false).await?)
    }

    async fn check_code(
        &self,
        account: &OperatorAccount,
        code: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let Some(sealed) = &account.sealed_totp_secret else {
            return Ok(false);
        };
        let secret = self
            .master_key
            .open(&totp_purpose(account.id), sealed)
            .map_err(|error| anyhow::anyhow!("opening the TOTP secret: {error}"))?;
        if let Some(step) = matching_step(&secret, code, now)? {
            // The store refuses a step not later than the last accepted: no replay.
            return self.accounts.accept_totp_step(account.id, step).await;
        }
        let typed: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
        if typed.len() == 16 {
            return self
                .accounts
                .use_backup_code(account.id, &BackupCode::digest_of(&typed), now)
                .await;
        }
        Ok(false)
    }

    /// The operator behind a session token, when the session is complete and live; keeps it
    /// alive (idle timeout) as a side effect.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn session(&self, token: &ConsoleToken) -> anyhow::Result<Option<SignedInOperator>> {
        let now = self.clock.now();
        let digest = token.digest();
        let Some(session) = self.sessions.find(&digest).await? else {
            return Ok(None);
        };
        let idle_end = session.last_seen_at + IDLE_TIMEOUT;
        if session.pending_second_factor || session.expires_at <= now || idle_end <= now {
            return Ok(None);
        }
        let Some(account) = self.accounts.get(session.operator).await? else {
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.sessions.touch(&digest, now).await?;
        }
        Ok(Some(SignedInOperator { account, session }))
    }

    /// Whether the token is a live session waiting for its second factor.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn pending_session(&self, token: &ConsoleToken) -> anyhow::Result<bool> {
        let now = self.clock.now();
        Ok(self
            .sessions
            .find(&token.digest())
            .await?
            .is_some_and(|session| session.pending_second_factor && session.expires_at > now))
    }

    /// Ends the session on the server: the cookie, if kept, opens nothing.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn sign_out(&self, token: &ConsoleToken) -> anyhow::Result<()> {
        self.sessions.delete(&token.digest()).await?;
        Ok(())
    }

    /// The set-up page again for a secret being set up (after a wrong confirmation code), so
    /// the operator need not add a new one to their app.
    ///
    /// # Errors
    /// [`TotpSetupError::Invalid`] when `sealed_setup` does not open for this account.
    pub fn reopen_totp_setup(
        &self,
        operator: &OperatorAccount,
        sealed_setup: &[u8],
    ) -> Result<TotpSetup, TotpSetupError> {
        let secret = self
            .master_key
            .open(&setup_purpose(operator.id), sealed_setup)
            .map_err(|_| TotpSetupError::Invalid)?;
        setup_for(operator, &secret, sealed_setup.to_vec())
    }

    /// A new TOTP secret for `operator`, not yet stored.
    ///
    /// # Errors
    /// [`TotpSetupError::AlreadyEnabled`] when the account has one.
    pub fn begin_totp_setup(
        &self,
        operator: &OperatorAccount,
    ) -> Result<TotpSetup, TotpSetupError> {
        if operator.has_totp() {
            return Err(TotpSetupError::AlreadyEnabled);
        }
        let secret = Zeroizing::new(random_bytes::<TOTP_SECRET_BYTES>());
        let sealed = self
            .master_key
            .seal(&setup_purpose(operator.id), secret.as_ref())
            .map_err(|error| anyhow::anyhow!("sealing the TOTP secret: {error}"))?;
        setup_for(operator, secret.as_ref(), sealed)
    }

    /// Confirms a set-up with a current code: stores the secret sealed for the account and
    /// ten new backup codes (as digests), and returns the codes to show once.
    ///
    /// # Errors
    /// [`TotpSetupError::WrongCode`], [`TotpSetupError::Invalid`] for a sealed secret that
    /// does not open for this account, [`TotpSetupError::AlreadyEnabled`].
    pub async fn confirm_totp_setup(
        &self,
        operator: &OperatorAccount,
        sealed_setup: &[u8],
        code: &str,
    ) -> Result<Vec<BackupCode>, TotpSetupError> {
        if operator.has_totp() {
            return Err(TotpSetupError::AlreadyEnabled);
        }
        let secret = self
            .master_key
            .open(&setup_purpose(operator.id), sealed_setup)
            .map_err(|_| TotpSetupError::Invalid)?;
        let now = self.clock.now();
        let Some(step) = matching_step(&secret, code, now)? else {
            return Err(TotpSetupError::WrongCode);
        };
        let sealed = self
            .master_key
            .seal(&totp_purpose(operator.id), &secret)
            .map_err(|error| anyhow::anyhow!("sealing the TOTP secret: {error}"))?;
        let codes: Vec<BackupCode> = (0..BackupCode::COUNT)
            .map(|_| BackupCode::generate())
            .collect();
        let digests: Vec<_> = codes.iter().map(BackupCode::digest).collect();
        if !self
            .accounts
            .enable_totp(operator.id, &sealed, &digests, now)
            .await?
        {
            return Err(TotpSetupError::AlreadyEnabled);
        }
        // The confirming code's step is spent: it cannot also sign in.
        self.accounts.accept_totp_step(operator.id, step).await?;
        Ok(codes)
    }

    /// How many unused backup codes the operator has left.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn backup_codes_left(&self, operator: OperatorId) -> anyhow::Result<u64> {
        self.accounts.unused_backup_codes(operator).await
    }

    /// Deletes sessions past their absolute end.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn purge_expired_sessions(&self) -> anyhow::Result<u64> {
        self.sessions.delete_expired(self.clock.now(), 1000).await
    }
}

#[cfg(test)]
mod tests;
