//! The ports: what the rules need from storage and the runtime. Adapters implement them.
//!
//! Every write that changes state records the events describing it in the same database
//! transaction: through the [`Transaction`] when a use case makes several writes, or as the
//! `events` argument of a store method that writes on its own.
//!
//! Every store method takes the [`ApplicationId`]: no store call can forget its tenant. The
//! console's operator accounts and sessions are the exception: operators span applications.
//! Infrastructure failures are `anyhow::Error`; outcomes the rules act on are typed.

use crate::application::{
    Application, ApplicationUpdate, RequestSigningKeys, ResponseSigningKeys, Rotation,
};
use crate::ban::{Ban, BanFilter, BanKind, BanProbe, IpPrefixLengths, NewBan, StoredBan};
use crate::errors::{CreateFileError, HashError, SetUserVariableError, StoreLicensesError};
use crate::event::{Event, EventFilter};
use crate::file::{BlobKey, FileName, StoredFile};
use crate::license::{License, LicenseDetails, LicenseFilter, NewLicense};
use crate::operator_account::{
    ConsoleSession, CreateOperatorError, OperatorAccount, OperatorEmail,
};
use crate::page::{Page, PageRequest};
use crate::session::{NewSession, Session, UserVariable, Variable};
use crate::user::{Adjustment, Device, Membership, NewUser, User, UserLimits};
use crate::values::{
    ApplicationId, BanId, ClientIp, DeviceId, Digest, FileId, HardwareId, LicenseCode, LicenseId,
    OperatorId, Password, PasswordHash, UserId, Username, WebhookDeliveryId, WebhookEndpointId,
};
use crate::webhook::{
    ClaimedDelivery, FanOutPosition, FinishedAttempt, OutgoingWebhook, Requeued, TakenEvents,
    WebhookAttempt, WebhookBacklog, WebhookDelivery, WebhookEndpoint, WebhookUrl,
};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

/// The registry of applications (tenants).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn create(&self, application: &Application) -> anyhow::Result<()>;
    /// Newest first.
    async fn list(&self, page: &PageRequest) -> anyhow::Result<Page<Application>>;
    async fn get(&self, id: ApplicationId) -> anyhow::Result<Option<Application>>;
    async fn find_by_api_key(&self, api_key: &str) -> anyhow::Result<Option<Application>>;
    /// Finds by the current admin key or the previous one (the caller checks its deadline).
    async fn find_by_admin_key(&self, digest: &Digest) -> anyhow::Result<Option<Application>>;
    /// Stores a rotation, with `events`; `None` when no application has that id.
    async fn rotate(
        &self,
        id: ApplicationId,
        rotation: &Rotation,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>>;
    /// `None` when no application has that id; `events` are recorded with the change.
    async fn update(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>>;
    /// Replaces the application's response signing keys, with `events`; `None` when there is
    /// no such application.
    async fn set_response_signing_keys(
        &self,
        id: ApplicationId,
        keys: &ResponseSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>>;
    /// Replaces the public keys signed requests are checked against, with `events`; `None`
    /// when there is no such application.
    async fn set_request_signing_keys(
        &self,
        id: ApplicationId,
        keys: &RequestSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>>;
    /// Replaces the application's sealed files key, with `events`; `None` when there is no
    /// such application.
    async fn set_files_key(
        &self,
        id: ApplicationId,
        sealed: &[u8],
        events: &[Event],
    ) -> anyhow::Result<Option<Application>>;
}

/// The nonces of signed requests, single-use across every replica.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Records `nonce` as used until `keep_until`: `true` the first time, `false` when it
    /// was recorded already (a replay). Of concurrent calls for one nonce, exactly one gets
    /// `true`.
    async fn record(
        &self,
        app: ApplicationId,
        nonce: &str,
        keep_until: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
    /// Forgets up to `batch` nonces kept until `now` or earlier; how many. A store that
    /// expires nonces by itself answers 0.
    async fn delete_expired(&self, now: DateTime<Utc>, batch: u64) -> anyhow::Result<u64>;
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
    /// The application's users among `ids`, in one query (unknown ids are left out).
    async fn find_many(&self, app: ApplicationId, ids: &[UserId]) -> anyhow::Result<Vec<User>>;
    /// Newest first.
    async fn list(&self, app: ApplicationId, page: &PageRequest) -> anyhow::Result<Page<User>>;
    /// The deprecated offset pages: `limit` users from `offset`, oldest first, and how many
    /// there are in all. Its cost grows with the offset and the count.
    async fn list_by_offset(
        &self,
        app: ApplicationId,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<(Vec<User>, u64)>;
    /// Users whose canonical username starts with `prefix` (already in canonical form), in
    /// the order of their canonical usernames (by code point); the cursor is the id of the
    /// last user seen. One range of the (application, canonical username) index per page.
    async fn search(
        &self,
        app: ApplicationId,
        prefix: &str,
        page: &PageRequest,
    ) -> anyhow::Result<Page<User>>;
    /// The user's membership ledger, newest first.
    async fn ledger(
        &self,
        app: ApplicationId,
        user: UserId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Adjustment>>;
    /// Deletes the user with their devices, sessions, ledger and variables (their licenses
    /// stay, used, naming nobody); `events` are recorded with the deletion, and only then.
    /// `false` when the application has no such user.
    async fn delete(
        &self,
        app: ApplicationId,
        user: UserId,
        events: &[Event],
    ) -> anyhow::Result<bool>;
    /// Sets the user's own limits (`None`: the application's apply). `false` if no such user.
    async fn set_limits(
        &self,
        app: ApplicationId,
        user: UserId,
        limits: &UserLimits,
    ) -> anyhow::Result<bool>;
}

/// Licenses of one application, matched by the digest of their code.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LicenseStore: Send + Sync {
    /// Stores all or none, with `events` (recorded as by [`Transaction::record_events`]).
    ///
    /// # Errors
    /// - MUST return [`StoreLicensesError::DuplicateCode`] when a code exists in the application.
    async fn create_many(
        &self,
        app: ApplicationId,
        licenses: &[NewLicense],
        events: &[Event],
    ) -> Result<Vec<License>, StoreLicensesError>;
    async fn find_by_code(
        &self,
        app: ApplicationId,
        code: &LicenseCode,
    ) -> anyhow::Result<Option<License>>;
    /// The application's licenses among `ids` (unknown ids are left out).
    async fn get_many(&self, app: ApplicationId, ids: &[LicenseId])
    -> anyhow::Result<Vec<License>>;
    /// Deletes the license if it is unused, in one conditional `DELETE` (a redemption racing
    /// it wins or loses whole); `events` are recorded with the deletion, and only then.
    /// `false` when there is no such unused license.
    async fn delete_unused(
        &self,
        app: ApplicationId,
        id: LicenseId,
        events: &[Event],
    ) -> anyhow::Result<bool>;
    /// Newest first, each with whether a ban in force at `filter.now` names it.
    async fn list(
        &self,
        app: ApplicationId,
        filter: &LicenseFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<LicenseDetails>>;
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
    /// Stores the ban unless its target is banned already, in force at `ban.created_at`:
    /// then that ban is returned as it is. An expired ban of the target is replaced.
    /// Concurrent calls for one target store one ban. `events` are recorded (as by
    /// [`Transaction::record_events`]) in the ban's own transaction, when it is stored.
    async fn create(
        &self,
        app: ApplicationId,
        ban: &NewBan,
        events: &[Event],
    ) -> anyhow::Result<StoredBan>;
    /// Newest first.
    async fn list(
        &self,
        app: ApplicationId,
        filter: &BanFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Ban>>;
    /// `false` when no such ban exists in the application; `events` are recorded with the
    /// deletion, and only then.
    async fn delete(&self, app: ApplicationId, id: BanId, events: &[Event])
    -> anyhow::Result<bool>;
    /// The prefix lengths of the application's IP bans: at least those of the bans in force
    /// (it may hold more, of bans gone since), at most 33 + 129 of them.
    async fn ip_prefix_lengths(&self, app: ApplicationId) -> anyhow::Result<IpPrefixLengths>;
    /// The kind of a ban in force at `now` under any of the probe's
    /// [`BanProbe::match_keys`], in one query of one index seek per key.
    async fn find_ban(
        &self,
        app: ApplicationId,
        probe: &BanProbe,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BanKind>>;
    /// Deletes up to `batch` bans, of any application, that expired at or before `now`;
    /// how many it deleted.
    async fn delete_expired(&self, now: DateTime<Utc>, batch: u64) -> anyhow::Result<u64>;
}

/// Starts the transactions that make a sign-up all-or-nothing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    async fn begin(&self) -> anyhow::Result<Box<dyn Transaction>>;
}

/// The writes of one request (a sign-up, a sign-in, an activation), all or nothing.
/// Dropping it without [`Transaction::commit`] rolls back.
///
/// Inserts ([`create_user`](Self::create_user), [`claim_license`](Self::claim_license),
/// [`register_device`](Self::register_device), [`record_adjustment`](Self::record_adjustment),
/// [`create_session`](Self::create_session), [`record_events`](Self::record_events)) MAY be
/// held back and sent with the next call that reads, or with the commit, as few statements as
/// the database allows: a license sign-up is one statement on PostgreSQL. So a conflict with
/// a concurrent writer surfaces from [`commit`](Self::commit), as a [`CommitConflict`](crate::errors::CommitConflict) in its
/// error chain, and nothing of the transaction is kept.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Transaction: Send {
    /// Creates the user. A taken canonical username MUST fail the commit with
    /// [`CommitConflict::UsernameTaken`](crate::errors::CommitConflict::UsernameTaken) (or
    /// this call with that error).
    async fn create_user(&mut self, app: ApplicationId, user: &NewUser) -> anyhow::Result<User>;

    /// Marks the unused license `license` used by `user` at `at`, in one conditional update
    /// by primary key: of any number of concurrent claims of one license, exactly one
    /// transaction commits; the others MUST fail their commit with
    /// [`CommitConflict::LicenseClaimed`](crate::errors::CommitConflict::LicenseClaimed) and
    /// keep nothing. So does a claim of a license that
    /// is used, or of no license of `app`. `user` may be created in the same transaction,
    /// before or after this call.
    async fn claim_license(
        &mut self,
        app: ApplicationId,
        license: LicenseId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;

    async fn register_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Device>;

    /// Locks the user's row for the rest of the transaction (concurrent sign-ins, activations
    /// and admin changes of one user take turns), records `ip` (when the user is the caller)
    /// as their last IP, and returns the user as now stored. `None` when there is no such user.
    async fn lock_user(
        &mut self,
        app: ApplicationId,
        user: UserId,
        ip: Option<ClientIp>,
    ) -> anyhow::Result<Option<User>>;

    /// Replaces the user's password hash (after a sign-in, with stronger parameters).
    async fn set_password_hash(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hash: &PasswordHash,
    ) -> anyhow::Result<()>;

    /// Deletes all the user's devices (and, with them, their sessions); returns how many.
    async fn delete_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64>;

    async fn find_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
    ) -> anyhow::Result<Option<Device>>;

    async fn count_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64>;

    /// Revokes the live sessions of one of the user's devices.
    async fn revoke_device_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        device: DeviceId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;

    /// Sessions of the user neither expired nor revoked at `now`.
    async fn count_live_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    async fn create_session(
        &mut self,
        app: ApplicationId,
        session: &NewSession,
    ) -> anyhow::Result<()>;

    /// Stores the user's new membership and the ledger row that explains it.
    async fn adjust_membership(
        &mut self,
        app: ApplicationId,
        user: UserId,
        membership: Membership,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()>;

    /// Stores only the ledger row, for a membership the user row was created with (a license
    /// sign-up's): one statement fewer than [`Transaction::adjust_membership`].
    async fn record_adjustment(
        &mut self,
        app: ApplicationId,
        user: UserId,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()>;

    /// Records the events of the changes made in this transaction: they commit with the
    /// changes, or roll back with them. They are also the webhooks' outbox: once committed,
    /// the dispatcher takes them ([`WebhookStore::take_new_events`]).
    async fn record_events(&mut self, events: &[Event]) -> anyhow::Result<()>;

    async fn insert_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()>;

    /// Locks the endpoint's row for the rest of the transaction; `None` when the application
    /// has no such endpoint.
    async fn lock_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>>;

    /// Stores every field of an endpoint found by [`Transaction::lock_webhook_endpoint`].
    async fn update_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()>;

    /// Deletes the endpoint with its deliveries; `false` when the application has no such
    /// endpoint.
    async fn delete_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<bool>;

    /// Queues one delivery (a test message).
    async fn insert_delivery(&mut self, delivery: &WebhookDelivery) -> anyhow::Result<()>;

    /// Makes a delivery of the endpoint pending again, due at `now`, with its message id and
    /// a new run of retries; `None` when there is no such delivery. One being sent (under a
    /// lease that has not run out at `now`) is left as it is: [`Requeued::InFlight`].
    async fn requeue_delivery(
        &mut self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Requeued>>;

    /// Records the attempts of one claim's deliveries and where each stands after its
    /// attempt, in a few statements; the ids of those recorded. A delivery whose lease is no
    /// longer `lease` (it ran out, and another claim took the delivery) is left out.
    async fn finish_attempts(
        &mut self,
        lease: uuid::Uuid,
        finished: &[FinishedAttempt],
    ) -> anyhow::Result<Vec<WebhookDeliveryId>>;

    /// Records the dispatcher's deliveries of the events it took under `lease`, each with its
    /// first attempt, and moves its position to `through`; `false`, writing nothing, when
    /// the lease is no longer `lease` (it ran out, and another replica took the events).
    async fn record_fan_out(
        &mut self,
        lease: uuid::Uuid,
        through: FanOutPosition,
        deliveries: &[WebhookDelivery],
    ) -> anyhow::Result<bool>;

    /// Sends what is held back and commits. A lost race fails it with a
    /// [`CommitConflict`](crate::errors::CommitConflict) in the error chain.
    async fn commit(self: Box<Self>) -> anyhow::Result<()>;
}

/// The audit log: recorded events, read back and, past their retention, purged. Nothing else
/// changes or deletes them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Newest first.
    async fn list(
        &self,
        app: ApplicationId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Event>>;
    /// Deletes up to `batch` events, of any application, that occurred before `before`; how
    /// many it deleted.
    async fn delete_older_than(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64>;
}

/// Webhook endpoints and their deliveries, read back; the dispatcher's claims. Changes go
/// through the [`Transaction`], with their events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Newest first.
    async fn list_endpoints(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<WebhookEndpoint>>;
    async fn get_endpoint(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>>;
    /// Every application's endpoints, newest first: for resealing their secrets at start.
    async fn list_all_endpoints(&self, page: &PageRequest)
    -> anyhow::Result<Page<WebhookEndpoint>>;
    /// The endpoint's deliveries, newest first, each with its attempts.
    async fn list_deliveries(
        &self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<WebhookDelivery>>;
    /// Claims up to `limit` pending deliveries due at `now`, of enabled endpoints of any
    /// application, until `lease_until`: until then no other claim takes them, on any
    /// replica; after it, one that was not finished is due again.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<ClaimedDelivery>>;
    /// Takes up to `limit` events committed past the dispatcher's position, in commit order,
    /// leased until `lease_until`.
    async fn take_new_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<TakenEvents>;
    /// What waits to be sent to enabled endpoints: pending deliveries, and events not yet
    /// taken of applications with an enabled endpoint.
    async fn backlog(&self) -> anyhow::Result<WebhookBacklog>;
    /// Deletes up to `batch` deliveries, of any application, done (succeeded or failed) and
    /// queued before `before`, with their attempts; how many it deleted.
    async fn delete_finished_before(
        &self,
        before: DateTime<Utc>,
        batch: u64,
    ) -> anyhow::Result<u64>;
}

/// Sends webhooks over HTTP: signs them, refuses targets it may not reach, answers how an
/// attempt went.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Why `url` may not be a target (it resolves to a loopback, private, link-local or
    /// metadata address); `Ok` when it may.
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), String>;
    /// One attempt; it never fails, it reports.
    async fn send<'a>(&self, webhook: &OutgoingWebhook<'a>) -> WebhookAttempt;
}

/// Hashes and verifies passwords. Expensive by design, so it is a port: rules are tested
/// without it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// # Errors
    /// - MUST return [`HashError::Busy`] rather than queue without bound.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`, with the parameters stored in the hash. With
    /// `None` (no such user) it MUST spend the same time on a dummy hash and answer `false`,
    /// so that response time does not tell which usernames exist.
    ///
    /// # Errors
    /// - MUST return [`HashError::Busy`] rather than queue without bound.
    async fn verify(
        &self,
        hash: Option<PasswordHash>,
        password: &Password,
    ) -> Result<bool, HashError>;

    /// Whether `hash` was made with weaker parameters than new hashes get, so that it should
    /// be replaced at the next successful sign-in.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}

/// Sign-in sessions, found by the digest of their token.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn find_by_token(
        &self,
        app: ApplicationId,
        token: &Digest,
    ) -> anyhow::Result<Option<Session>>;
    /// How many of the user's sessions are neither expired nor revoked at `now`.
    async fn count_live(
        &self,
        app: ApplicationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64>;
    /// Revokes every live session of the user.
    async fn revoke_all(
        &self,
        app: ApplicationId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;
    /// Deletes up to `batch` sessions, of any application, that expired before `before`;
    /// how many it deleted.
    async fn delete_expired(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64>;
}

/// What is known of each file; the bytes are in the [`crate::file::BlobStore`]. Writes take
/// the events that record them. A file's blob key is its version: a replacement or a deletion
/// applies only to the version the caller read, so concurrent ones cannot lose each other's
/// bytes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait FileStore: Send + Sync {
    async fn get(&self, app: ApplicationId, id: FileId) -> anyhow::Result<Option<StoredFile>>;
    async fn find_by_name(
        &self,
        app: ApplicationId,
        name: &FileName,
    ) -> anyhow::Result<Option<StoredFile>>;
    /// Newest first.
    async fn list(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<StoredFile>>;
    /// Every file, or the public ones only, by name; at most `limit`.
    async fn list_by_name(
        &self,
        app: ApplicationId,
        public_only: bool,
        limit: u64,
    ) -> anyhow::Result<Vec<StoredFile>>;
    /// # Errors
    /// - MUST return [`CreateFileError::NameTaken`] when the application has a file of that
    ///   name.
    async fn create(&self, file: &StoredFile, events: &[Event]) -> Result<(), CreateFileError>;
    /// Replaces the file of `file.id` by `file`, when its blob key is still `previous`;
    /// `false` (and nothing recorded) when it is not, or the file is gone.
    async fn replace(
        &self,
        previous: &BlobKey,
        file: &StoredFile,
        events: &[Event],
    ) -> anyhow::Result<bool>;
    /// Deletes the file `id` when its blob key is still `version`; `false` otherwise.
    async fn delete(
        &self,
        app: ApplicationId,
        id: FileId,
        version: &BlobKey,
        events: &[Event],
    ) -> anyhow::Result<bool>;
}

/// Application variables.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait VariableStore: Send + Sync {
    async fn list(&self, app: ApplicationId) -> anyhow::Result<Vec<Variable>>;
    /// Sorted by name: at most `limit` variables whose names sort after `after` (all of them
    /// when `None`); one index range over the application's names.
    async fn list_after(
        &self,
        app: ApplicationId,
        after: Option<String>,
        limit: u64,
    ) -> anyhow::Result<Vec<Variable>>;
    /// Creates or replaces the variable of that name.
    async fn set(
        &self,
        app: ApplicationId,
        variable: &Variable,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;
    /// `false` when there is no variable of that name.
    async fn delete(&self, app: ApplicationId, name: &str) -> anyhow::Result<bool>;
}

/// Variables of one user.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserVariableStore: Send + Sync {
    /// Sorted by name; `None` when the application has no such user.
    async fn list(
        &self,
        app: ApplicationId,
        user: UserId,
    ) -> anyhow::Result<Option<Vec<UserVariable>>>;
    /// Creates or replaces the variable, unless that would give the user more than `max`
    /// variables; concurrent calls for one user take turns, so `max` holds under races.
    ///
    /// # Errors
    /// - MUST return [`SetUserVariableError::UnknownUser`] when the application has no
    ///   such user, and [`SetUserVariableError::TooMany`] for one variable too many.
    async fn set(
        &self,
        app: ApplicationId,
        user: UserId,
        variable: &UserVariable,
        max: u32,
        at: DateTime<Utc>,
    ) -> Result<(), SetUserVariableError>;
    /// `false` when the user has no variable of that name.
    async fn delete(&self, app: ApplicationId, user: UserId, name: &str) -> anyhow::Result<bool>;
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

/// What is counted, per client IP and application, on the integration endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimit {
    /// Every request (per second).
    Requests,
    /// Sign-ups of either kind (per hour).
    SignUps,
    /// Wrong credentials or codes (per minute).
    FailedAttempts,
}

/// Over a limit: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: std::time::Duration,
}

/// Counts events per (limit, application, client IP) in windows.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one event, and refuses it when it goes over the limit.
    async fn count(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited>;
    /// Refuses when the limit is already reached, without counting.
    async fn check(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited>;
    /// Counts a wrong password against an account (its canonical username), in the
    /// failed-attempt window, whichever address it came from.
    async fn count_account_failure(&self, _app: ApplicationId, _account: &str) {}
    /// Refuses an attempt on an account whose failures reached the failed-attempt limit,
    /// unless `ip` has failed nothing in its window: a guesser spread over many addresses is
    /// stopped, and the owner on a clean address still signs in (so no one can lock them out).
    async fn check_account(
        &self,
        _app: ApplicationId,
        _account: &str,
        _ip: ClientIp,
    ) -> Result<(), Limited> {
        Ok(())
    }
}

/// No limits at all (`limits.enabled = false`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLimits;

#[async_trait]
impl RateLimiter for NoLimits {
    async fn count(&self, _: RateLimit, _: ApplicationId, _: ClientIp) -> Result<(), Limited> {
        Ok(())
    }
    async fn check(&self, _: RateLimit, _: ApplicationId, _: ClientIp) -> Result<(), Limited> {
        Ok(())
    }
}

/// Operator accounts of the console (not scoped by application: operators see every one).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OperatorAccountStore: Send + Sync {
    /// # Errors
    /// - MUST return [`CreateOperatorError::EmailTaken`] when the e-mail address exists.
    async fn create(&self, account: &OperatorAccount) -> Result<(), CreateOperatorError>;
    async fn get(&self, id: OperatorId) -> anyhow::Result<Option<OperatorAccount>>;
    async fn find_by_email(&self, email: &OperatorEmail)
    -> anyhow::Result<Option<OperatorAccount>>;
    /// Sets the sealed TOTP secret and replaces every backup code with `backup_codes`, in
    /// one transaction; `false` when the account already has a secret (nothing changes).
    async fn enable_totp(
        &self,
        id: OperatorId,
        sealed_secret: &[u8],
        backup_codes: &[Digest],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
    /// Records `step` as the last accepted TOTP step, only when it is later than the one
    /// recorded (one conditional update): `false` for a replayed or older step.
    async fn accept_totp_step(&self, id: OperatorId, step: i64) -> anyhow::Result<bool>;
    /// Marks the unused backup code with this digest used (one conditional update): `false`
    /// when there is none, or it was used.
    async fn use_backup_code(
        &self,
        id: OperatorId,
        code: &Digest,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
    /// How many unused backup codes the account has.
    async fn unused_backup_codes(&self, id: OperatorId) -> anyhow::Result<u64>;
    /// Replaces the password hash (a rehash with today's parameters after a sign-in).
    async fn set_password_hash(&self, id: OperatorId, hash: &PasswordHash) -> anyhow::Result<()>;
}

/// Console sessions, found by the digest of their token.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConsoleSessionStore: Send + Sync {
    async fn create(&self, session: &ConsoleSession) -> anyhow::Result<()>;
    async fn find(&self, token: &Digest) -> anyhow::Result<Option<ConsoleSession>>;
    /// Moves `last_seen_at` forward.
    async fn touch(&self, token: &Digest, at: DateTime<Utc>) -> anyhow::Result<()>;
    /// Deletes the session: `false` when there was none.
    async fn delete(&self, token: &Digest) -> anyhow::Result<bool>;
    /// Deletes up to `batch` sessions, of any operator, whose absolute end is before `before`.
    async fn delete_expired(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64>;
}

/// Counts for an application's overview. Every count reads at most `cap + 1` index entries.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApplicationStats: Send + Sync {
    async fn counts(
        &self,
        app: ApplicationId,
        now: DateTime<Utc>,
        cap: u64,
    ) -> anyhow::Result<crate::overview::ApplicationCounts>;
    /// Sign-ups (users created) and redemptions (licenses activated) in `[from, until)`.
    async fn activity(
        &self,
        app: ApplicationId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: u64,
    ) -> anyhow::Result<(crate::overview::Count, crate::overview::Count)>;
}
