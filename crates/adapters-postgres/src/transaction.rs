//! [`UnitOfWork`]: a sign-up's writes in one database transaction.

use crate::connection::DbResultExt as _;
use crate::endpoint_cache::EndpointCache;
use crate::{SeaOrmStore, devices, events, licenses, sessions, users, webhooks};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::errors::CreateUserError;
use domain::event::Event;
use domain::license::License;
use domain::ports::{Transaction, UnitOfWork};
use domain::session::NewSession;
use domain::user::{Adjustment, Device, Membership, NewUser, User};
use domain::values::{
    ApplicationId, ClientIp, DeviceId, HardwareId, LicenseCode, PasswordHash, UserId,
};
use domain::values::{WebhookDeliveryId, WebhookEndpointId};
use domain::webhook::{
    FanOutPosition, FinishedAttempt, Requeued, WebhookDelivery, WebhookEndpoint,
};
use sea_orm::DatabaseTransaction;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

/// Rolls back when dropped uncommitted (sea-orm's `DatabaseTransaction` does).
struct SeaOrmTransaction {
    txn: DatabaseTransaction,
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
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting a sign-up transaction")?;
        Ok(Box::new(SeaOrmTransaction {
            txn,
            wake_dispatcher: false,
            deliveries_queued: self.deliveries_queued.clone(),
            endpoints: self.endpoints.clone(),
            changed_endpoints_of: Vec::new(),
        }))
    }
}

#[async_trait]
impl Transaction for SeaOrmTransaction {
    async fn create_user(
        &mut self,
        app: ApplicationId,
        user: &NewUser,
    ) -> Result<User, CreateUserError> {
        users::insert(&self.txn, app, user).await
    }

    async fn redeem_license(
        &mut self,
        app: ApplicationId,
        code: &LicenseCode,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<License>> {
        licenses::redeem(&self.txn, app, code, user, at).await
    }

    async fn register_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Device> {
        devices::insert(&self.txn, app, user, hardware_id, at).await
    }

    async fn lock_user(
        &mut self,
        app: ApplicationId,
        user: UserId,
        ip: Option<ClientIp>,
    ) -> anyhow::Result<Option<User>> {
        users::lock(&self.txn, app, user, ip).await
    }

    async fn set_password_hash(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hash: &PasswordHash,
    ) -> anyhow::Result<()> {
        users::set_password_hash(&self.txn, app, user, hash).await
    }

    async fn delete_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64> {
        devices::delete_all(&self.txn, app, user).await
    }

    async fn find_device(
        &mut self,
        app: ApplicationId,
        user: UserId,
        hardware_id: &HardwareId,
    ) -> anyhow::Result<Option<Device>> {
        devices::find(&self.txn, app, user, hardware_id).await
    }

    async fn count_devices(&mut self, app: ApplicationId, user: UserId) -> anyhow::Result<u64> {
        devices::count(&self.txn, app, user).await
    }

    async fn revoke_device_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        device: DeviceId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sessions::revoke_device(&self.txn, app, user, device, at).await
    }

    async fn count_live_sessions(
        &mut self,
        app: ApplicationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        sessions::count_live(&self.txn, app, user, now).await
    }

    async fn create_session(
        &mut self,
        app: ApplicationId,
        session: &NewSession,
    ) -> anyhow::Result<()> {
        sessions::insert(&self.txn, app, session).await
    }

    async fn adjust_membership(
        &mut self,
        app: ApplicationId,
        user: UserId,
        membership: Membership,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()> {
        users::adjust_membership(&self.txn, app, user, membership, adjustment).await
    }

    async fn record_adjustment(
        &mut self,
        app: ApplicationId,
        user: UserId,
        adjustment: &Adjustment,
    ) -> anyhow::Result<()> {
        users::record_adjustment(&self.txn, app, user, adjustment).await
    }

    async fn record_events(&mut self, events: &[Event]) -> anyhow::Result<()> {
        self.wake_dispatcher |= events::record(&self.txn, &self.endpoints, events).await?;
        Ok(())
    }

    async fn insert_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()> {
        self.changed_endpoints_of.push(endpoint.application_id);
        webhooks::insert_endpoint(&self.txn, endpoint).await
    }

    async fn lock_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        webhooks::lock_endpoint(&self.txn, app, id).await
    }

    async fn update_webhook_endpoint(&mut self, endpoint: &WebhookEndpoint) -> anyhow::Result<()> {
        self.changed_endpoints_of.push(endpoint.application_id);
        webhooks::update_endpoint(&self.txn, endpoint).await
    }

    async fn delete_webhook_endpoint(
        &mut self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<bool> {
        self.changed_endpoints_of.push(app);
        webhooks::delete_endpoint(&self.txn, app, id).await
    }

    async fn insert_delivery(&mut self, delivery: &WebhookDelivery) -> anyhow::Result<()> {
        webhooks::insert_delivery(&self.txn, delivery).await?;
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
        let requeued = webhooks::requeue_delivery(&self.txn, app, endpoint, id, now).await?;
        self.wake_dispatcher |= matches!(requeued, Some(Requeued::Due(_)));
        Ok(requeued)
    }

    async fn finish_attempts(
        &mut self,
        lease: Uuid,
        finished: &[FinishedAttempt],
    ) -> anyhow::Result<Vec<WebhookDeliveryId>> {
        webhooks::finish_attempts(&self.txn, lease, finished).await
    }

    async fn record_fan_out(
        &mut self,
        lease: Uuid,
        through: FanOutPosition,
        deliveries: &[WebhookDelivery],
    ) -> anyhow::Result<bool> {
        // Retries among them come due later: the dispatcher's polls find them.
        crate::fan_out::record_fan_out(&self.txn, lease, through, deliveries).await
    }

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn.commit().await.or_unavailable("committing")?;
        for app in self.changed_endpoints_of {
            self.endpoints.forget(app);
        }
        if self.wake_dispatcher {
            self.deliveries_queued.notify_one();
        }
        Ok(())
    }
}
