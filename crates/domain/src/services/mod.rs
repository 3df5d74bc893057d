//! The use cases, as three traits the HTTP adapter calls (and mocks), implemented by
//! [`Latchkey`] over the ports.

mod admin;
mod bans;
mod console;
mod events;
mod files;
mod housekeeping;
mod license_admin;
mod operator;
mod overview;
mod request_signing;
mod response_signing;
mod sign_in;
mod sign_up;
#[cfg(test)]
mod test_support;
mod user_admin;
mod user_directory;
mod webhooks;

use crate::application::{Application, ApplicationUpdate, CreatedApplication};
use crate::ban::{Ban, BanKind, StoredBan};
use crate::crypto::MasterKey;
use crate::errors::{
    ActivateLicenseError, AppContextError, AuthenticateError, CreateBanError, CreateLicensesError,
    LicenseSignUpError, LoginError, SignUpError, UserAdminError,
};
use crate::event::{ChangedBy, Event, EventFilter, RequestContext};
use crate::file::{BlobStore, StoredFile};
use crate::license::{CreatedLicense, LicenseDetails, LicenseDuration};
use crate::page::{Page, PageRequest};
use crate::ports::{
    ApplicationStore, BanStore, Clock, DeviceStore, EventStore, FileStore, LicenseStore,
    NonceStore, PasswordHasher, SessionStore, UnitOfWork, UserStore, UserVariableStore,
    VariableStore, WebhookSender, WebhookStore,
};
use crate::session::{UserVariable, Variable};
use crate::user::Adjustment;
use crate::user::{User, UserDetails, UserLimits};
use crate::values::Secret;
use crate::values::{
    ApplicationId, BanId, ClientIp, HardwareId, IpBanRange, LicenseCode, Password, UserId, Username,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use admin::LicenseBatchError;
pub use console::{
    ABSOLUTE_TIMEOUT, ConsoleSignInError, CreateAccountError, IDLE_TIMEOUT, OperatorAccounts,
    SECOND_FACTOR_TIMEOUT, SecondFactorError, SignInStep, SignedInOperator, StartedSession,
    TotpSetup, TotpSetupError,
};
#[cfg(any(test, feature = "mocks"))]
pub use files::MockFilesApi;
pub use files::{Download, FilesApi, MAX_LISTED_FILES, Upload, Uploaded};
#[cfg(any(test, feature = "mocks"))]
pub use license_admin::MockLicenseAdminApi;
pub use license_admin::{DeleteOutcome, LicenseAdminApi, MAX_SELECTED, RevokeOutcome};
pub use overview::{ApplicationOverview, CHART_DAYS, COUNT_CAP, DAY_CAP};
#[cfg(any(test, feature = "mocks"))]
pub use request_signing::MockRequestSigning;
pub use request_signing::{RequestSignatureError, RequestSigning, SignedRequest};
#[cfg(any(test, feature = "mocks"))]
pub use response_signing::MockResponseSigning;
pub use response_signing::{ResponseKey, ResponseSigning};
#[cfg(any(test, feature = "mocks"))]
pub use user_directory::MockUserDirectoryApi;
pub use user_directory::{
    BulkAdjustment, MAX_SELECTED_USERS, ReasonTooLong, UserDirectoryApi, adjustment_reason,
};
#[cfg(any(test, feature = "mocks"))]
pub use webhooks::MockWebhookApi;
pub use webhooks::{EndpointWithSecret, NewWebhookEndpoint, WebhookApi};

/// A sign-up with a username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSignUp {
    pub username: Username,
    pub password: Password,
    pub hardware_id: Option<HardwareId>,
    /// Where the request came from: its address is checked for bans and recorded.
    pub context: RequestContext,
}

/// A sign-up with a license code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSignUp {
    pub code: LicenseCode,
    pub hardware_id: Option<HardwareId>,
    /// Where the request came from: its address is checked for bans and recorded.
    pub context: RequestContext,
}

/// How a user proves who they are when signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Password {
        username: Username,
        password: Password,
    },
    LicenseCode(LicenseCode),
}

/// A sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub credentials: Credentials,
    pub hardware_id: Option<HardwareId>,
    /// Where the request came from: its address is checked against bans and stored as the
    /// user's last; all of it is recorded with a device the sign-in registers.
    pub origin: RequestContext,
}

/// Who calls `app_context` or the user variables: nobody in particular, a session, or (with
/// legacy auth) the user's credentials on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Session(String),
    /// Checked by every rule of a sign-in, and makes no session.
    Credentials(Login),
}

/// A new session: the token is shown to the client once; the store keeps its digest.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
}

/// A license activation for an existing user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivateLicense {
    pub code: LicenseCode,
    pub username: Username,
    pub password: Password,
    /// Where the request came from: its address is checked for bans and recorded.
    pub context: RequestContext,
}

/// What a signed-in client may read about its application and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppContext {
    pub application: Application,
    /// Every variable for a signed-in user; the public ones for an anonymous caller.
    pub variables: Vec<Variable>,
    /// `None` for an anonymous caller.
    pub user: Option<User>,
    /// The files the caller may download, by name: every one for a user with an active
    /// membership, the public ones for anybody else.
    pub files: Vec<StoredFile>,
    pub server_time: DateTime<Utc>,
}

/// Licenses to create: generated, or imported from the vendor's own codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseBatch {
    codes: BatchCodes,
    duration: LicenseDuration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BatchCodes {
    Generate(usize),
    Import(Vec<LicenseCode>),
}

/// What a ban request names, before it is resolved to stored ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanSubject {
    Ip(IpBanRange),
    HardwareId(HardwareId),
    License(LicenseCode),
    /// A license by its id (the console's list shows licenses by id: codes are not kept).
    LicenseId(crate::values::LicenseId),
    User(Username),
}

/// When a requested ban ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanExpiry {
    Never,
    At(DateTime<Utc>),
    After(chrono::Duration),
}

impl BanExpiry {
    /// The longest `duration_seconds`: ten years; longer is a typo, or a permanent ban.
    pub const MAX_SECONDS: i64 = 315_360_000;
}

/// A ban request from the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRequest {
    pub subject: BanSubject,
    pub reason: Option<String>,
    pub expiry: BanExpiry,
}

/// What a ban list shows: bans of one kind, or of one value as the list shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanListQuery {
    pub kind: Option<BanKind>,
    pub value: Option<String>,
}

/// Which licenses a license list shows (see [`crate::license::LicenseFilter`], which adds the time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseListQuery {
    pub used: Option<bool>,
    pub banned: Option<bool>,
    pub created_since: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
    pub code: Option<LicenseCode>,
}

/// An application after a change of its settings. Turning request signing on for the first
/// time makes its key pair: the private half is shown here, once.
#[derive(Debug, Clone)]
pub struct SettingsChange {
    pub application: Application,
    pub request_signing_private_key: Option<zeroize::Zeroizing<String>>,
}

/// A ban's reason is free text of at most this many characters.
pub const MAX_BAN_REASON_CHARS: usize = 500;

/// The integration API: what a vendor's shipped program may do.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IntegrationApi: Send + Sync {
    /// Checks `x-api-key` / `x-api-secret`; one error whichever is wrong.
    async fn authenticate(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> Result<Application, AuthenticateError>;
    async fn sign_up(
        &self,
        app: &Application,
        request: PasswordSignUp,
    ) -> Result<User, SignUpError>;
    async fn sign_up_with_license_code(
        &self,
        app: &Application,
        request: LicenseSignUp,
    ) -> Result<User, LicenseSignUpError>;
}

/// The integration calls of existing users: sign-in, license activation, app context.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SignInApi: Send + Sync {
    async fn login(&self, app: &Application, request: Login) -> Result<SignedIn, LoginError>;
    async fn activate_license(
        &self,
        app: &Application,
        request: ActivateLicense,
    ) -> Result<Adjustment, ActivateLicenseError>;
    /// The signed-in user's variables, sorted by name.
    async fn user_variables(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
    ) -> Result<Vec<UserVariable>, AppContextError>;
    /// Creates or replaces one of the signed-in user's variables.
    async fn set_user_variable(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
        variable: UserVariable,
    ) -> Result<(), AppContextError>;
    /// `false` when the signed-in user has no variable of that name.
    async fn delete_user_variable(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
        name: &str,
    ) -> Result<bool, AppContextError>;
    /// An anonymous caller is answered when the application allows anonymous access, else
    /// [`AppContextError::InvalidSession`].
    async fn app_context(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
    ) -> Result<AppContext, AppContextError>;
}

/// Whose devices to reset: by id, or by the user's own credentials (as Authgate does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceResetTarget {
    User(UserId),
    Credentials(Credentials),
}

/// One page of an application's variables, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablePage {
    pub variables: Vec<Variable>,
    /// The last name of this page, when another page follows.
    pub next_after: Option<String>,
}

/// One page of an application's users by the deprecated offset pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: u64,
}

/// The admin API's user management: membership time, lifetime access, devices, limits,
/// the user list, and application variables.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserAdminApi: Send + Sync {
    /// Adds (positive) or removes (negative) minutes.
    async fn adjust_membership_time(
        &self,
        app: ApplicationId,
        user: UserId,
        minutes: i64,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError>;
    async fn set_lifetime_access(
        &self,
        app: ApplicationId,
        user: UserId,
        grant: bool,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError>;
    async fn reset_devices(
        &self,
        app: &Application,
        target: DeviceResetTarget,
        by: &ChangedBy,
    ) -> Result<UserDetails, UserAdminError>;
    async fn set_user_limits(
        &self,
        app: ApplicationId,
        user: UserId,
        limits: UserLimits,
    ) -> Result<UserDetails, UserAdminError>;
    /// Newest first.
    async fn list_users(&self, app: ApplicationId, page: PageRequest)
    -> anyhow::Result<Page<User>>;
    /// Deprecated offset pages, oldest first; `page` counts from 1.
    async fn list_users_by_offset(
        &self,
        app: ApplicationId,
        page: u64,
        per_page: u64,
    ) -> anyhow::Result<UserPage>;
    async fn list_variables(&self, app: ApplicationId) -> anyhow::Result<Vec<Variable>>;
    /// One page of variables sorted by name, after the name `after`, at most `limit`
    /// (1 to [`PageRequest::MAX_LIMIT`]); and the name the next page starts after, if any.
    async fn list_variables_page(
        &self,
        app: ApplicationId,
        after: Option<String>,
        limit: u64,
    ) -> anyhow::Result<VariablePage>;
    async fn list_user_variables(
        &self,
        app: ApplicationId,
        user: UserId,
    ) -> Result<Vec<UserVariable>, UserAdminError>;
    async fn set_user_variable(
        &self,
        app: &Application,
        user: UserId,
        variable: UserVariable,
    ) -> Result<(), UserAdminError>;
    /// `false` when the user has no variable of that name.
    async fn delete_user_variable(
        &self,
        app: ApplicationId,
        user: UserId,
        name: &str,
    ) -> Result<bool, UserAdminError>;
    async fn set_variable(&self, app: ApplicationId, variable: Variable) -> anyhow::Result<()>;
    /// `false` when there is no variable of that name.
    async fn delete_variable(&self, app: ApplicationId, name: &str) -> anyhow::Result<bool>;
}

/// The admin API: what a vendor's back office may do within its application.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AdminApi: Send + Sync {
    async fn authenticate_admin(
        &self,
        admin_api_key: &str,
    ) -> Result<Application, AuthenticateError>;
    async fn create_licenses(
        &self,
        app: ApplicationId,
        batch: LicenseBatch,
        by: &ChangedBy,
    ) -> Result<Vec<CreatedLicense>, CreateLicensesError>;
    async fn find_license(
        &self,
        app: ApplicationId,
        code: &LicenseCode,
    ) -> anyhow::Result<Option<LicenseDetails>>;
    /// Newest first.
    async fn list_licenses(
        &self,
        app: ApplicationId,
        query: LicenseListQuery,
        page: PageRequest,
    ) -> anyhow::Result<Page<LicenseDetails>>;
    /// A target already banned keeps its ban, which is returned as
    /// [`StoredBan::Existing`].
    async fn create_ban(
        &self,
        app: ApplicationId,
        request: BanRequest,
        by: &ChangedBy,
    ) -> Result<StoredBan, CreateBanError>;
    /// The bans in force, newest first.
    async fn list_bans(
        &self,
        app: ApplicationId,
        query: BanListQuery,
        page: PageRequest,
    ) -> anyhow::Result<Page<Ban>>;
    /// `false` when the application has no such ban.
    async fn delete_ban(
        &self,
        app: ApplicationId,
        id: BanId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool>;
    /// The audit log: the application's events, newest first.
    async fn audit(
        &self,
        app: ApplicationId,
        filter: EventFilter,
        page: PageRequest,
    ) -> anyhow::Result<Page<Event>>;
    /// Changes the application's sign-in settings.
    async fn update_settings(
        &self,
        app: ApplicationId,
        update: ApplicationUpdate,
        by: &ChangedBy,
    ) -> anyhow::Result<SettingsChange>;
    /// Finds a user by username, or by the license code they signed up or activated with.
    async fn find_user(
        &self,
        app: ApplicationId,
        username_or_code: &str,
    ) -> anyhow::Result<Option<UserDetails>>;
}

/// The operator API: what the person running the server may do.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OperatorApi: Send + Sync {
    async fn create_application(
        &self,
        name: crate::application::ApplicationName,
        device_authentication: bool,
    ) -> anyhow::Result<CreatedApplication>;
    /// Newest first.
    async fn list_applications(&self, page: PageRequest) -> anyhow::Result<Page<Application>>;
    /// One application, by id (the console's per-application screens).
    async fn get_application(&self, id: ApplicationId) -> anyhow::Result<Option<Application>>;
    /// `None` when there is no such application.
    async fn update_application(
        &self,
        id: ApplicationId,
        update: ApplicationUpdate,
        by: &ChangedBy,
    ) -> anyhow::Result<Option<SettingsChange>>;
    /// Replaces the API secret or the admin key; the old one keeps working for
    /// `old_valid_for` (zero: it stops at once). `None` when there is no such application.
    async fn rotate_secret(
        &self,
        id: ApplicationId,
        which: crate::application::SecretToRotate,
        old_valid_for: chrono::Duration,
        by: &ChangedBy,
    ) -> anyhow::Result<Option<crate::application::RotatedSecret>>;
}

/// The ports the use cases run on.
#[derive(Clone)]
pub struct Ports {
    pub applications: Arc<dyn ApplicationStore>,
    pub users: Arc<dyn UserStore>,
    pub licenses: Arc<dyn LicenseStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub bans: Arc<dyn BanStore>,
    pub events: Arc<dyn EventStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub variables: Arc<dyn VariableStore>,
    pub user_variables: Arc<dyn UserVariableStore>,
    pub nonces: Arc<dyn NonceStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub webhook_sender: Arc<dyn WebhookSender>,
    pub files: Arc<dyn FileStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub unit_of_work: Arc<dyn UnitOfWork>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
}

/// The use cases over the ports; implements all three APIs.
#[derive(Clone)]
pub struct Latchkey {
    ports: Ports,
    /// Seals and opens the secrets kept at rest (the response signing keys).
    master_key: Arc<MasterKey>,
    /// How long a ban made by the system (a cross-ban, or an identifier banned with its
    /// user) lasts; `None`: forever.
    cross_ban_ttl: Option<chrono::Duration>,
    /// The IPv6 prefix length an address is cross-banned by (IPv4: the address).
    ipv6_prefix: u8,
    /// How far a signed request's `created` may be from the server's clock.
    max_signature_skew: chrono::Duration,
    /// The largest file an upload may store, in bytes (before encryption).
    max_file_size: u64,
}

impl Latchkey {
    /// Applies `update`; turning request signing on for an application without a request
    /// signing key makes one first, so signing is never required before a key exists.
    async fn change_settings(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
        by: &ChangedBy,
    ) -> anyhow::Result<Option<SettingsChange>> {
        let mut request_signing_private_key = None;
        if update.request_signing == Some(true) {
            let Some(app) = self.ports.applications.get(id).await? else {
                return Ok(None);
            };
            if app.request_signing_keys.is_none() {
                // Part of this settings change, whose event records it.
                let made = self
                    .new_request_signing_key(id, None, chrono::Duration::zero(), &[])
                    .await?;
                request_signing_private_key = made.map(|(_, private_key)| private_key);
            }
        }
        // A request that names no setting changes nothing, and records nothing.
        let changed: Vec<Event> = (update != &ApplicationUpdate::default())
            .then(|| events::settings_changed(id, update, by, self.ports.clock.now()))
            .into_iter()
            .collect();
        let updated = self.ports.applications.update(id, update, &changed).await?;
        Ok(updated.map(|application| SettingsChange {
            application,
            request_signing_private_key,
        }))
    }

    /// Cross-bans last [`Self::DEFAULT_CROSS_BAN_TTL`].
    #[must_use]
    pub fn new(ports: Ports, master_key: Arc<MasterKey>) -> Self {
        Self {
            ports,
            master_key,
            cross_ban_ttl: Some(Self::DEFAULT_CROSS_BAN_TTL),
            ipv6_prefix: Self::DEFAULT_IPV6_PREFIX,
            max_signature_skew: Self::DEFAULT_MAX_SIGNATURE_SKEW,
            max_file_size: Self::DEFAULT_MAX_FILE_SIZE,
        }
    }

    /// 512 MiB.
    pub const DEFAULT_MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

    /// The largest file an upload may store, in bytes.
    #[must_use]
    pub const fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Ten seconds: clocks of devices that sync agree much better, and a captured request
    /// is worth little that long.
    pub const DEFAULT_MAX_SIGNATURE_SKEW: chrono::Duration = chrono::Duration::seconds(10);

    /// How far a signed request's `created` may be from the server's clock, either way.
    #[must_use]
    pub const fn with_max_signature_skew(mut self, skew: chrono::Duration) -> Self {
        self.max_signature_skew = skew;
        self
    }

    /// Runs `step` on every application, a page at a time (the start-up passes over keys);
    /// how many it changed (`step` answers `true`).
    ///
    /// # Errors
    /// The first failure of the store or of `step`; applications done until then keep
    /// their changes.
    pub(crate) async fn for_each_application(
        &self,
        step: impl AsyncFn(&Application) -> anyhow::Result<bool>,
    ) -> anyhow::Result<u64> {
        let mut changed = 0;
        let mut page = PageRequest::new(None, PageRequest::MAX_LIMIT)?;
        loop {
            let applications = self.ports.applications.list(&page).await?;
            for app in &applications.items {
                if step(app).await? {
                    changed += 1;
                }
            }
            let Some(next) = applications.next else {
                return Ok(changed);
            };
            page = PageRequest::new(Some(next), PageRequest::MAX_LIMIT)?;
        }
    }

    /// A week: long enough to stop an abuser's retries, short enough that an address an
    /// abuser shared (a NAT, a reassigned lease) comes back by itself.
    pub const DEFAULT_CROSS_BAN_TTL: chrono::Duration = chrono::Duration::days(7);

    /// How long bans the system makes last; `None`: forever.
    #[must_use]
    pub const fn with_cross_ban_ttl(mut self, ttl: Option<chrono::Duration>) -> Self {
        self.cross_ban_ttl = ttl;
        self
    }

    /// A `/64`: what one IPv6 subscriber is given, so its 2^64 addresses are one client.
    pub const DEFAULT_IPV6_PREFIX: u8 = 64;

    /// The IPv6 prefix length addresses are cross-banned by (`limits.ipv6_prefix`).
    #[must_use]
    pub const fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }
}
