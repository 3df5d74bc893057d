//! [`UnitOfWork`]: a request's writes, all or nothing, in as few round trips as the database
//! allows. Inserts and the license claim are held back ([`crate::batch`]) until a call that
//! reads or updates (which opens the database transaction first) or the commit; a unit that
//! only inserts and claims, as a sign-up does, is one statement on PostgreSQL.

use crate::batch::{self, Write};
use crate::connection::DbResultExt as _;
use crate::endpoint_cache::EndpointCache;
use crate::{SeaOrmStore, devices, licenses, sessions, users, webhooks};
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::errors::CommitConflict;
use domain::event::Event;
use domain::ports::{Transaction, UnitOfWork};
use domain::session::NewSession;
use domain::user::{Adjustment, Device, Membership, NewUser, User};
use domain::values::{
    ApplicationId, ClientIp, DeviceId, HardwareId, LicenseId, PasswordHash, UserId,
};
use domain::values::{WebhookDeliveryId, WebhookEndpointId};
use domain::webhook::{
    FanOutPosition, FinishedAttempt, Requeued, WebhookDelivery, WebhookEndpoint,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

/// Rolls back when dropped uncommitted: the held-back writes were never sent, and sea-orm's
/// `DatabaseTransaction` rolls back what was.
struct SeaOrmTransaction {
    db: DatabaseConnection,
    /// Opened by the first call that reads or updates.
    txn: Option<DatabaseTransaction>,
    /// Writes not sent yet, in the order they were made.
    pending: Vec<Write>,
    /// A claim sent in the open transaction lost: the commit rolls back.
    claim_lost: bool,
    /// Whether this transaction gave the webhook dispatcher work (an event an endpoint
    /// subscribes to, a delivery due), and whom to wake when it commits.
    wake_dispatcher: bool,
    deliveries_queued: Arc<Notify>,
    endpoints: Arc<EndpointCache>,
    /// Applications whose endpoints this transaction changed: their cached endpoints are
    /// forgotten when it commits.
    changed_endpoints_of: Vec<ApplicationId>,
}

#[async_trait]
impl UnitOfWork for SeaOrmStore {
    async fn begin(&self) -> anyhow::Result<Box<dyn Transaction>> {
        Ok(Box::new(SeaOrmTransaction {
            db: self.db.clone(),
            txn: None,
            pending: Vec::new(),
            claim_lost: false,
            wake_dispatcher: false,
            deliveries_queued: self.deliveries_queued.clone(),
            endpoints: self.endpoints.clone(),
            changed_endpoints_of: Vec::new(),
        }))
    }
}

fn claim_lost() -> anyhow::Error {
    anyhow::Error::new(CommitConflict::LicenseClaimed)
}

impl SeaOrmTransaction {
    /// The open database transaction, with every held-back write sent in it: for the calls
    /// that read or update.
    async fn open(&mut self) -> anyhow::Result<&DatabaseTransaction> {
        if self.txn.is_none() {
            let txn = crate::connection::begin_write(&self.db)
                .await
                .or_unavailable("starting a transaction")?;
            self.txn = Some(txn);
        }
        let writes = std::mem::take(&mut self.pending);
        let txn = self.txn.as_ref().context("the open transaction")?;
        if !batch::send(txn, writes).await? {
            self.claim_lost = true;
        }
        self.txn.as_ref().context("the open transaction")
    }

    /// Sends what is held back and commits; `false` when a claim lost (nothing is kept).
    async fn send_and_commit(&mut self) -> anyhow::Result<bool> {
        let writes = std::mem::take(&mut self.pending);
        if let Some(txn) = self.txn.take() {
            if !batch::send(&txn, writes).await? || self.claim_lost {
                return Ok(false); // dropping `txn` rolls back
            }
            txn.commit().await.or_unavailable("committing")?;
            return Ok(true);
        }
        // One statement is a transaction of its own.
        let writes = match batch::send_alone(&self.db, writes).await? {
            batch::Sent::Alone(won) => return Ok(won),
            batch::Sent::NeedsTransaction(writes) => writes,
        };
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting a transaction")?;
        if !batch::send_each(&txn, &writes).await? {
            return Ok(false);
        }
        txn.commit().await.or_unavailable("committing")?;
        Ok(true)
    }
}

#[async_trait]
impl Transaction for SeaOrmTransaction {
    async fn create_user(&mut self, app: ApplicationId, user: &NewUser) -> anyhow::Result<User> {
        self.pending
            .push(Write::User(users::insert_statement(app, user)));
        Ok(user.created())
    }

    async fn claim_license(
        &mut self,
        app: ApplicationId,
        license: LicenseId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.pending.push(Write::Claim(licenses::claim_statement(
            app, license, user, at,
        )));
        Ok(())
    }

    async fn register_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Device> {
        let device = Device {
            id: DeviceId::generate(),
            hardware_id: hardware_id.clone(),
            registered_at: at,
        };
        self.pending.push(Write::Insert(
            devices::insert_statement(app, user, &device),
            "registering a device",
        ));
        Ok(device)
    }

    async fn lock_user(
        &mut self,
        app: ApplicationId,
        user: UserId,
        ip: Option<ClientIp>,
    ) -> anyhow::Result<Option<User>> {
        users::lock(self.open().await?, app, user, ip).await
    }

    async fn set_password_hash(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hash: &PasswordHash,
    ) -> anyhow::Result<()> {
        users::set_password_hash(self.open().await?, app, user, hash).await
    }

    async fn delete_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64> {
        devices::delete_all(self.open().await?, app, user).await
    }

    async fn find_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
    ) -> anyhow::Result<Option<Device>> {
        devices::find(self.open().await?, app, user, hardware_id).await
    }

    async fn count_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64> {
        devices::count(self.open().await?, app, user).await
    }

    async fn revoke_device_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        device: DeviceId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sessions::revoke_device(self.open().await?, app, user, device, at).await
    }

    async fn count_live_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        sessions::count_live(self.open().await?, app, user, now).await
    }

    async fn create_session(
        &mut self,
        app: ApplicationId,
        session: &NewSession,
    ) -> anyhow::Result<()> {
        self.pending.push(Write::Insert(
            sessions::insert_statement(app, session),
            "creating a session",
        ));
        Ok(())
    }

    async fn adjust_membership(
        &mut self,
        app: ApplicationId,
        user: UserId,
        membership: Membership,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()> {
        users::adjust_membership(self.open().await?, app, user, membership, adjustment).await
    }

    async fn record_adjustment(
        &mut self,
        app: ApplicationId,
        user: UserId,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()> {
        self.pending.push(Write::Insert(
            users::adjustment_statement(app, user, adjustment),
            "recording a membership adjustment",
        ));
        Ok(())
    }

    async fn record_events(&mut self, events: &[Event]) -> anyhow::Result<()> {
        // Which endpoints subscribe is read from committed state (usually the cache).
        self.wake_dispatcher |= match &self.txn {
            Some(txn) => webhooks::subscribed(txn, &self.endpoints, events).await?,
            None => webhooks::subscribed(&self.db, &self.endpoints, events).await?,
        };
        self.pending.push(Write::Events(events.to_vec()));
        Ok(())
    }

    async fn insert_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()> {
        self.changed_endpoints_of.push(endpoint.application_id);
        webhooks::insert_endpoint(self.open().await?, endpoint).await
    }

    async fn lock_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        webhooks::lock_endpoint(self.open().await?, app, id).await
    }

    async fn update_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()> {
        self.changed_endpoints_of.push(endpoint.application_id);
        webhooks::update_endpoint(self.open().await?, endpoint).await
    }

    async fn delete_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<bool> {
        self.changed_endpoints_of.push(app);
        webhooks::delete_endpoint(self.open().await?, app, id).await
    }

    async fn insert_delivery(&mut self, delivery: &WebhookDelivery) -> anyhow::Result<()> {
        webhooks::insert_delivery(self.open().await?, delivery).await?;
        self.wake_dispatcher = true;
        Ok(())
    }

    async fn requeue_delivery(
        &mut self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Requeued>> {
        let requeued =
            webhooks::requeue_delivery(self.open().await?, app, endpoint, id, now).await?;
        self.wake_dispatcher |= matches!(requeued, Some(Requeued::Due(_)));
        Ok(requeued)
    }

    async fn finish_attempts(
        &mut self,
        lease: Uuid,
        finished: &[FinishedAttempt],
    ) -> anyhow::Result<Vec<WebhookDeliveryId>> {
        webhooks::finish_attempts(self.open().await?, lease, finished).await
    }

    async fn record_fan_out(
        &mut self,
        lease: Uuid,
        through: FanOutPosition,
        deliveries: &[WebhookDelivery],
    ) -> anyhow::Result<bool> {
        // Retries among them come due later: the dispatcher's polls find them.
        crate::fan_out::record_fan_out(self.open().await?, lease, through, deliveries).await
    }

    async fn commit(mut self: Box<Self>) -> anyhow::Result<()> {
        if !self.send_and_commit().await? {
            return Err(claim_lost());
        }
        for app in &self.changed_endpoints_of {
            self.endpoints.forget(*app);
        }
        if self.wake_dispatcher {
            self.deliveries_queued.notify_one();
        }
        Ok(())
    }
}
