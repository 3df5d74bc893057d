//! [`UserVariableStore`]: a user's variables. Setting one locks the user's row first, so
//! concurrent writes of one user take turns and the application's limit holds.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::user_variable::{ActiveModel, Column, Entity};
use crate::users;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::errors::SetUserVariableError;
use domain::ports::UserVariableStore;
use domain::session::UserVariable;
use domain::values::{ApplicationId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

#[async_trait]
impl UserVariableStore for SeaOrmStore {
    async fn list(
        &self,
        app: ApplicationId,
        user: UserId,
    ) -> anyhow::Result<Option<Vec<UserVariable>>> {
        if domain::ports::UserStore::get(self, app, user)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let rows = Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .order_by_asc(Column::Name)
            .all(&self.db)
            .await
            .or_unavailable("listing user variables")?;
        Ok(Some(
            rows.into_iter()
                .map(|row| UserVariable {
                    name: row.name,
                    value: row.value,
                })
                .collect(),
        ))
    }

    async fn set(
        &self,
        app: ApplicationId,
        user: UserId,
        variable: &UserVariable,
        max: u32,
        at: DateTime<Utc>,
    ) -> Result<(), SetUserVariableError> {
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting to set a user variable")?;
        if users::lock(&txn, app, user, None).await?.is_none() {
            return Err(SetUserVariableError::UnknownUser);
        }
        let mine = Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()));
        let exists = mine
            .clone()
            .filter(Column::Name.eq(variable.name.as_str()))
            .count(&txn)
            .await
            .or_unavailable("finding a user variable")?
            > 0;
        if !exists
            && mine
                .count(&txn)
                .await
                .or_unavailable("counting user variables")?
                >= u64::from(max)
        {
            return Err(SetUserVariableError::TooMany);
        }
        let row = ActiveModel {
            application_id: Set(app.as_uuid()),
            user_id: Set(user.as_uuid()),
            name: Set(variable.name.clone()),
            value: Set(variable.value.clone()),
            updated_at: Set(at),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::UserId, Column::Name])
                    .update_columns([Column::Value, Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .or_unavailable("setting a user variable")?;
        txn.commit()
            .await
            .or_unavailable("committing a user variable")?;
        Ok(())
    }

    async fn delete(&self, app: ApplicationId, user: UserId, name: &str) -> anyhow::Result<bool> {
        let deleted = Entity::delete_many()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Name.eq(name))
            .exec(&self.db)
            .await
            .or_unavailable("deleting a user variable")?;
        Ok(deleted.rows_affected > 0)
    }
}
