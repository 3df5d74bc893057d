//! [`UnitOfWork`]: a sign-up's writes in one database transaction.

use crate::connection::DbResultExt as _;
use crate::{SeaOrmStore, devices, licenses, users};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::errors::CreateUserError;
use domain::license::License;
use domain::ports::{SignUpTransaction, UnitOfWork};
use domain::user::{Device, NewUser, User};
use domain::values::{ApplicationId, HardwareId, LicenseCode, UserId};
use sea_orm::{DatabaseTransaction, TransactionTrait};

/// Rolls back when dropped uncommitted (sea-orm's `DatabaseTransaction` does).
struct SeaOrmSignUp {
    txn: DatabaseTransaction,
}

#[async_trait]
impl UnitOfWork for SeaOrmStore {
    async fn begin(&self) -> anyhow::Result<Box<dyn SignUpTransaction>> {
        let txn = self
            .db
            .begin()
            .await
            .or_unavailable("starting a sign-up transaction")?;
        Ok(Box::new(SeaOrmSignUp { txn }))
    }
}

#[async_trait]
impl SignUpTransaction for SeaOrmSignUp {
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

    async fn commit(self: Box<Self>) -> anyhow::Result<()> {
        self.txn
            .commit()
            .await
            .or_unavailable("committing a sign-up")
    }
}
