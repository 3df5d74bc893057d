//! The ports: what the rules need from storage and the runtime. Adapters implement them.
//!
//! Every store method takes the [`ApplicationId`]: no store call can forget its tenant.
//! Infrastructure failures are `anyhow::Error`; outcomes the rules act on are typed.

use crate::application::{Application, ApplicationUpdate};
use crate::ban::{Ban, BanKind, BanProbe, NewBan};
use crate::errors::{CreateUserError, HashError, StoreLicensesError};
use crate::license::{License, NewLicense};
use crate::user::{Device, NewUser, User};
use crate::values::{
    ApplicationId, BanId, Digest, HardwareId, LicenseCode, Password, PasswordHash, UserId, Username,
};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

/// The registry of applications (tenants).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn create(&self, application: &Application) -> anyhow::Result<()>;
    async fn list(&self) -> anyhow::Result<Vec<Application>>;
    async fn find_by_api_key(&self, api_key: &str) -> anyhow::Result<Option<Application>>;
    async fn find_by_admin_key(&self, digest: &Digest) -> anyhow::Result<Option<Application>>;
    /// `None` when no application has that id.
    async fn update(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
    ) -> anyhow::Result<Option<Application>>;
}

/// Users of one application.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Finds by canonical username.
    async fn find_by_username(
        &self,
        app: ApplicationId,
        username: &Username,
    ) -> anyhow::Result<Option<User>>;
    async fn get(&self, app: ApplicationId, id: UserId) -> anyhow::Result<Option<User>>;
}

/// Licenses of one application, matched by the digest of their code.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LicenseStore: Send + Sync {
    /// Stores all or none.
    ///
    /// # Errors
    /// - MUST return [`StoreLicensesError::DuplicateCode`] when a code exists in the application.
    async fn create_many(
        &self,
        app: ApplicationId,
        licenses: &[NewLicense],
    ) -> Result<Vec<License>, StoreLicensesError>;
    async fn find_by_code(
        &self,
        app: ApplicationId,
        code: &LicenseCode,
    ) -> anyhow::Result<Option<License>>;
}

/// Devices registered to users of one application.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn list_for_user(&self, app: ApplicationId, user: UserId) -> anyhow::Result<Vec<Device>>;
}

/// Bans of one application.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BanStore: Send + Sync {
    async fn create(&self, app: ApplicationId, ban: &NewBan) -> anyhow::Result<Ban>;
    async fn list(&self, app: ApplicationId) -> anyhow::Result<Vec<Ban>>;
    /// `false` when no such ban exists in the application.
    async fn delete(&self, app: ApplicationId, id: BanId) -> anyhow::Result<bool>;
    /// The kind of the first ban that matches any identifier of the probe, in one query.
    async fn find_ban(
        &self,
        app: ApplicationId,
        probe: &BanProbe,
    ) -> anyhow::Result<Option<BanKind>>;
}

/// Starts the transactions that make a sign-up all-or-nothing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    async fn begin(&self) -> anyhow::Result<Box<dyn SignUpTransaction>>;
}

/// The writes of one sign-up. Dropping it without [`SignUpTransaction::commit`] rolls back.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SignUpTransaction: Send {
    /// # Errors
    /// - MUST return [`CreateUserError::UsernameTaken`] when the canonical username exists.
    async fn create_user(
        &mut self,
        app: ApplicationId,
        user: &NewUser,
    ) -> Result<User, CreateUserError>;

    /// Marks an unused license as used by `user`, in one conditional update: of any number of
    /// concurrent calls for one code, exactly one gets `Some`. `None` for an unknown or used
    /// code.
    async fn redeem_license(
        &mut self,
        app: ApplicationId,
        code: &LicenseCode,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<License>>;

    async fn register_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Device>;

    async fn commit(self: Box<Self>) -> anyhow::Result<()>;
}

/// Hashes passwords. Expensive by design, so it is a port: rules are tested without it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// # Errors
    /// - MUST return [`HashError::Busy`] rather than queue without bound.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;
}

/// The time, so rules about time can be tested.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock, to the microsecond: what every database stores, so a stored time reads
/// back equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// Whether the storage can serve requests (for `/readyz`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Readiness: Send + Sync {
    async fn check(&self) -> anyhow::Result<()>;
}
