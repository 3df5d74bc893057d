//! [`FileStore`]: what is known of each file. The unique (application, name) index decides
//! between concurrent uploads of one name; a file's blob key is its version, so a
//! replacement or a deletion applies only to the version its caller read.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::file::{ActiveModel, Column, Entity, Model};
use crate::pages::keyset;
use anyhow::Context as _;
use async_trait::async_trait;
use domain::errors::CreateFileError;
use domain::event::Event;
use domain::file::{BlobKey, FileName, StoredFile};
use domain::page::{Page, PageRequest};
use domain::ports::FileStore;
use domain::values::{ApplicationId, FileId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr};

impl TryFrom<Model> for StoredFile {
    type Error = anyhow::Error;

    fn try_from(model: Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: FileId::from_uuid(model.id),
            application_id: ApplicationId::from_uuid(model.application_id),
            name: FileName::parse(&model.name).context("stored file name")?,
            is_public: model.is_public,
            is_encrypted: model.is_encrypted,
            size_bytes: u64::try_from(model.size_bytes).context("stored file size")?,
            sha256: model
                .sha256
                .as_slice()
                .try_into()
                .context("a stored SHA-256 is not 32 bytes")?,
            mime_type: model.mime_type,
            blob_key: BlobKey::from_stored(model.blob_key),
            created_at: model.created_at,
        })
    }
}

fn row(file: &StoredFile) -> ActiveModel {
    ActiveModel {
        id: Set(file.id.as_uuid()),
        application_id: Set(file.application_id.as_uuid()),
        name: Set(file.name.as_str().to_owned()),
        is_public: Set(file.is_public),
        is_encrypted: Set(file.is_encrypted),
        size_bytes: Set(i64::try_from(file.size_bytes).unwrap_or(i64::MAX)),
        sha256: Set(file.sha256.to_vec()),
        mime_type: Set(file.mime_type.clone()),
        blob_key: Set(file.blob_key.as_str().to_owned()),
        created_at: Set(file.created_at),
        updated_at: Set(chrono::Utc::now()),
    }
}

#[async_trait]
impl FileStore for SeaOrmStore {
    async fn get(&self, app: ApplicationId, id: FileId) -> anyhow::Result<Option<StoredFile>> {
        Entity::find_by_id(id.as_uuid())
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .one(&self.db)
            .await
            .or_unavailable("reading a file")?
            .map(StoredFile::try_from)
            .transpose()
    }

    async fn find_by_name(
        &self,
        app: ApplicationId,
        name: &FileName,
    ) -> anyhow::Result<Option<StoredFile>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Name.eq(name.as_str()))
            .one(&self.db)
            .await
            .or_unavailable("finding a file by name")?
            .map(StoredFile::try_from)
            .transpose()
    }

    async fn list(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<StoredFile>> {
        let select = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
        let rows = keyset(select, Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing files")?;
        Page::from_rows(rows, page, |row| row.id).try_map(StoredFile::try_from)
    }

    async fn list_by_name(
        &self,
        app: ApplicationId,
        public_only: bool,
        limit: u64,
    ) -> anyhow::Result<Vec<StoredFile>> {
        let mut select = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
        if public_only {
            select = select.filter(Column::IsPublic.eq(true));
        }
        select
            .order_by_asc(Column::Name)
            .limit(limit)
            .all(&self.db)
            .await
            .or_unavailable("listing files by name")?
            .into_iter()
            .map(StoredFile::try_from)
            .collect()
    }

    async fn create(&self, file: &StoredFile, events: &[Event]) -> Result<(), CreateFileError> {
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("storing a file")?;
        match Entity::insert(row(file)).exec_without_returning(&txn).await {
            Ok(_) => {}
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(CreateFileError::NameTaken);
            }
            Err(error) => {
                return Err(crate::connection::store_error(error, "storing a file").into());
            }
        }
        let queued = crate::events::record(&txn, &self.endpoints, events).await?;
        txn.commit().await.or_unavailable("storing a file")?;
        self.committed(queued);
        Ok(())
    }

    async fn replace(
        &self,
        previous: &BlobKey,
        file: &StoredFile,
        events: &[Event],
    ) -> anyhow::Result<bool> {
        let mut changes = row(file);
        changes.id = sea_orm::ActiveValue::NotSet;
        changes.application_id = sea_orm::ActiveValue::NotSet;
        changes.name = sea_orm::ActiveValue::NotSet;
        changes.created_at = sea_orm::ActiveValue::NotSet;
        let replaced = self
            .change_with_events(events, "replacing a file", async |txn| {
                let updated = Entity::update_many()
                    .set(changes)
                    .filter(Column::Id.eq(file.id.as_uuid()))
                    .filter(Column::ApplicationId.eq(file.application_id.as_uuid()))
                    .filter(Column::BlobKey.eq(previous.as_str()))
                    .exec(txn)
                    .await
                    .or_unavailable("replacing a file")?;
                Ok((updated.rows_affected == 1).then_some(()))
            })
            .await?;
        Ok(replaced.is_some())
    }

    async fn delete(
        &self,
        app: ApplicationId,
        id: FileId,
        version: &BlobKey,
        events: &[Event],
    ) -> anyhow::Result<bool> {
        let deleted = self
            .change_with_events(events, "deleting a file", async |txn| {
                let deleted = Entity::delete_many()
                    .filter(Column::Id.eq(id.as_uuid()))
                    .filter(Column::ApplicationId.eq(app.as_uuid()))
                    .filter(Column::BlobKey.eq(version.as_str()))
                    .exec(txn)
                    .await
                    .or_unavailable("deleting a file")?;
                Ok((deleted.rows_affected == 1).then_some(()))
            })
            .await?;
        Ok(deleted.is_some())
    }
}
