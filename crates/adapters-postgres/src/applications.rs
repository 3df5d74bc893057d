//! [`ApplicationStore`]: the tenants.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::application::{self, ActiveModel, Column, Entity};
use crate::pages::keyset;
use anyhow::Context as _;
use async_trait::async_trait;
use domain::application::{
    Application, ApplicationName, ApplicationSettings, ApplicationUpdate, PreviousKey,
    PreviousSecret, RequestSigningKeys, ResponseSigningKeys, Rotation, SecretToRotate,
};
use domain::crypto::{PublicKey, SealedKeyPair};
use domain::event::Event;
use domain::page::{Page, PageRequest};
use domain::ports::ApplicationStore;
use domain::values::{ApplicationId, Digest};
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

impl TryFrom<application::Model> for Application {
    type Error = anyhow::Error;

    fn try_from(model: application::Model) -> anyhow::Result<Self> {
        let response_signing_keys = signing_keys(&model)?;
        let request_signing_keys = request_keys(&model)?;
        Ok(Self {
            id: ApplicationId::from_uuid(model.id),
            name: ApplicationName::parse(&model.name).context("stored application name")?,
            device_authentication: model.device_authentication,
            api_key: model.api_key,
            api_secret_digest: Digest::from_slice(&model.api_secret_digest)
                .context("stored api secret digest")?,
            admin_api_key_digest: Digest::from_slice(&model.admin_api_key_digest)
                .context("stored admin key digest")?,
            settings: ApplicationSettings {
                device_limit: count(model.allowed_number_of_devices)?,
                session_limit: count(model.allowed_number_of_simultaneous_sessions)?,
                session_lifetime_seconds: count(model.session_lifetime_seconds)?,
                cross_banning: model.cross_banning,
                response_signing: model.response_signing,
                request_signing: model.request_signing,
                anonymous_access: model.anonymous_access,
                max_user_variables: count(model.max_user_variables)?,
                legacy_auth: model.legacy_auth,
            },
            previous_api_secret: previous(
                model.previous_api_secret_digest.as_deref(),
                model.previous_api_secret_expires_at,
            )?,
            previous_admin_api_key: previous(
                model.previous_admin_api_key_digest.as_deref(),
                model.previous_admin_api_key_expires_at,
            )?,
            response_signing_keys,
            request_signing_keys,
            sealed_files_key: model.sealed_files_key,
            created_at: model.created_at,
        })
    }
}

fn previous(
    digest: Option<&[u8]>,
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<Option<PreviousSecret>> {
    match (digest, valid_until) {
        (Some(digest), Some(valid_until)) => Ok(Some(PreviousSecret {
            digest: Digest::from_slice(digest).context("stored previous secret digest")?,
            valid_until,
        })),
        _ => Ok(None),
    }
}

fn key_pair(public: Option<&[u8]>, sealed: Option<&[u8]>) -> anyhow::Result<Option<SealedKeyPair>> {
    let (Some(public), Some(sealed)) = (public, sealed) else {
        return Ok(None);
    };
    let public: [u8; 32] = public
        .try_into()
        .context("a stored public key is not 32 bytes")?;
    Ok(Some(SealedKeyPair {
        public_key: PublicKey::from_bytes(public),
        sealed_private_key: sealed.to_vec(),
    }))
}

fn signing_keys(model: &application::Model) -> anyhow::Result<Option<ResponseSigningKeys>> {
    let Some(current) = key_pair(
        model.response_signing_public_key.as_deref(),
        model.response_signing_private_key.as_deref(),
    )?
    else {
        return Ok(None);
    };
    let previous = key_pair(
        model.previous_response_signing_public_key.as_deref(),
        model.previous_response_signing_private_key.as_deref(),
    )?
    .zip(model.previous_response_signing_valid_until)
    .map(|(key, valid_until)| PreviousKey { key, valid_until });
    Ok(Some(ResponseSigningKeys { current, previous }))
}

fn public_key(stored: &[u8]) -> anyhow::Result<PublicKey> {
    let bytes: [u8; 32] = stored
        .try_into()
        .context("a stored public key is not 32 bytes")?;
    Ok(PublicKey::from_bytes(bytes))
}

fn request_keys(model: &application::Model) -> anyhow::Result<Option<RequestSigningKeys>> {
    let Some(current) = model.request_signing_public_key.as_deref() else {
        return Ok(None);
    };
    let previous = match (
        model.previous_request_signing_public_key.as_deref(),
        model.previous_request_signing_valid_until,
    ) {
        (Some(key), Some(valid_until)) => Some((public_key(key)?, valid_until)),
        _ => None,
    };
    Ok(Some(RequestSigningKeys {
        current: public_key(current)?,
        previous,
    }))
}

/// Stores `keys` in `active`.
fn set_signing_keys(active: &mut ActiveModel, keys: Option<&ResponseSigningKeys>) {
    let current = keys.map(|keys| &keys.current);
    let previous = keys.and_then(|keys| keys.previous.as_ref());
    active.response_signing_public_key = Set(current.map(|key| key.public_key.as_bytes().to_vec()));
    active.response_signing_private_key = Set(current.map(|key| key.sealed_private_key.clone()));
    active.previous_response_signing_public_key =
        Set(previous.map(|p| p.key.public_key.as_bytes().to_vec()));
    active.previous_response_signing_private_key =
        Set(previous.map(|p| p.key.sealed_private_key.clone()));
    active.previous_response_signing_valid_until = Set(previous.map(|p| p.valid_until));
}

/// A stored count: never negative.
pub(crate) fn count(stored: i32) -> anyhow::Result<u32> {
    u32::try_from(stored).context("a stored count is negative")
}

/// A count as stored: limits beyond `i32::MAX` are stored as `i32::MAX`.
pub(crate) fn stored_count(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// Writes the columns set in `active`; `None` when no application has its id.
async fn update_columns(
    db: &impl ConnectionTrait,
    active: ActiveModel,
) -> anyhow::Result<Option<Application>> {
    match active.update(db).await {
        Ok(model) => Application::try_from(model).map(Some),
        Err(sea_orm::DbErr::RecordNotUpdated) => Ok(None),
        Err(error) => Err(crate::connection::store_error(
            error,
            "storing signing keys",
        )),
    }
}

#[async_trait]
impl ApplicationStore for SeaOrmStore {
    async fn create(&self, app: &Application) -> anyhow::Result<()> {
        let model = ActiveModel {
            id: Set(app.id.as_uuid()),
            name: Set(app.name.as_str().to_owned()),
            device_authentication: Set(app.device_authentication),
            api_key: Set(app.api_key.clone()),
            api_secret_digest: Set(app.api_secret_digest.as_bytes().to_vec()),
            admin_api_key_digest: Set(app.admin_api_key_digest.as_bytes().to_vec()),
            created_at: Set(app.created_at),
            allowed_number_of_devices: Set(stored_count(app.settings.device_limit)),
            allowed_number_of_simultaneous_sessions: Set(stored_count(app.settings.session_limit)),
            session_lifetime_seconds: Set(stored_count(app.settings.session_lifetime_seconds)),
            cross_banning: Set(app.settings.cross_banning),
            response_signing: Set(app.settings.response_signing),
            request_signing: Set(app.settings.request_signing),
            anonymous_access: Set(app.settings.anonymous_access),
            max_user_variables: Set(stored_count(app.settings.max_user_variables)),
            legacy_auth: Set(app.settings.legacy_auth),
            previous_api_secret_digest: Set(None),
            previous_api_secret_expires_at: Set(None),
            previous_admin_api_key_digest: Set(None),
            previous_admin_api_key_expires_at: Set(None),
            sealed_files_key: Set(app.sealed_files_key.clone()),
            ..<ActiveModel as ActiveModelTrait>::default()
        };
        let mut model = model;
        set_signing_keys(&mut model, app.response_signing_keys.as_ref());
        Entity::insert(model)
            .exec_without_returning(&self.db)
            .await
            .or_unavailable("inserting an application")?;
        Ok(())
    }

    async fn list(&self, page: &PageRequest) -> anyhow::Result<Page<Application>> {
        let rows = keyset(Entity::find(), Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing applications")?;
        Page::from_rows(rows, page, |row| row.id).try_map(Application::try_from)
    }

    async fn find_by_api_key(&self, api_key: &str) -> anyhow::Result<Option<Application>> {
        Entity::find()
            .filter(Column::ApiKey.eq(api_key))
            .one(&self.db)
            .await
            .or_unavailable("finding an application by api key")?
            .map(Application::try_from)
            .transpose()
    }

    async fn find_by_admin_key(&self, digest: &Digest) -> anyhow::Result<Option<Application>> {
        let digest = digest.as_bytes().to_vec();
        Entity::find()
            .filter(
                Condition::any()
                    .add(Column::AdminApiKeyDigest.eq(digest.clone()))
                    .add(Column::PreviousAdminApiKeyDigest.eq(digest)),
            )
            .one(&self.db)
            .await
            .or_unavailable("finding an application by admin key")?
            .map(Application::try_from)
            .transpose()
    }

    async fn get(&self, id: ApplicationId) -> anyhow::Result<Option<Application>> {
        Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .or_unavailable("finding an application")?
            .map(Application::try_from)
            .transpose()
    }

    async fn rotate(
        &self,
        id: ApplicationId,
        rotation: &Rotation,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        self.change_with_events(events, "rotating a secret", async |txn| {
            let Some(model) = Entity::find_by_id(id.as_uuid())
                .one(txn)
                .await
                .or_unavailable("finding an application to rotate")?
            else {
                return Ok(None);
            };
            let mut active: ActiveModel = model.into();
            let new = Set(rotation.new_digest.as_bytes().to_vec());
            let previous_digest = Set(rotation.previous.map(|p| p.digest.as_bytes().to_vec()));
            let previous_until = Set(rotation.previous.map(|p| p.valid_until));
            match rotation.which {
                SecretToRotate::ApiSecret => {
                    active.api_secret_digest = new;
                    active.previous_api_secret_digest = previous_digest;
                    active.previous_api_secret_expires_at = previous_until;
                }
                SecretToRotate::AdminApiKey => {
                    active.admin_api_key_digest = new;
                    active.previous_admin_api_key_digest = previous_digest;
                    active.previous_admin_api_key_expires_at = previous_until;
                }
                SecretToRotate::ResponseSigningKey
                | SecretToRotate::RequestSigningKey
                | SecretToRotate::FilesKey => {
                    anyhow::bail!("keys are replaced by their own store methods")
                }
            }
            let model = active
                .update(txn)
                .await
                .or_unavailable("rotating a secret")?;
            Application::try_from(model).map(Some)
        })
        .await
    }

    async fn update(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        self.change_with_events(events, "updating an application", async |txn| {
            let Some(model) = Entity::find_by_id(id.as_uuid())
                .one(txn)
                .await
                .or_unavailable("finding an application to update")?
            else {
                return Ok(None);
            };
            if update == &ApplicationUpdate::default() {
                return Application::try_from(model).map(Some);
            }
            let mut active: ActiveModel = model.into();
            if let Some(name) = &update.name {
                active.name = Set(name.as_str().to_owned());
            }
            if let Some(device_authentication) = update.device_authentication {
                active.device_authentication = Set(device_authentication);
            }
            if let Some(limit) = update.device_limit {
                active.allowed_number_of_devices = Set(stored_count(limit));
            }
            if let Some(limit) = update.session_limit {
                active.allowed_number_of_simultaneous_sessions = Set(stored_count(limit));
            }
            if let Some(seconds) = update.session_lifetime_seconds {
                active.session_lifetime_seconds = Set(stored_count(seconds));
            }
            if let Some(cross_banning) = update.cross_banning {
                active.cross_banning = Set(cross_banning);
            }
            if let Some(response_signing) = update.response_signing {
                active.response_signing = Set(response_signing);
            }
            if let Some(request_signing) = update.request_signing {
                active.request_signing = Set(request_signing);
            }
            if let Some(anonymous_access) = update.anonymous_access {
                active.anonymous_access = Set(anonymous_access);
            }
            if let Some(max) = update.max_user_variables {
                active.max_user_variables = Set(stored_count(max));
            }
            if let Some(legacy_auth) = update.legacy_auth {
                active.legacy_auth = Set(legacy_auth);
            }
            let model = active
                .update(txn)
                .await
                .or_unavailable("updating an application")?;
            Application::try_from(model).map(Some)
        })
        .await
    }

    async fn set_response_signing_keys(
        &self,
        id: ApplicationId,
        keys: &ResponseSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let mut active = ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.as_uuid()),
            ..<ActiveModel as ActiveModelTrait>::default()
        };
        set_signing_keys(&mut active, Some(keys));
        self.change_with_events(events, "storing signing keys", async |txn| {
            update_columns(txn, active).await
        })
        .await
    }

    async fn set_request_signing_keys(
        &self,
        id: ApplicationId,
        keys: &RequestSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let active = ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.as_uuid()),
            request_signing_public_key: Set(Some(keys.current.as_bytes().to_vec())),
            previous_request_signing_public_key: Set(keys
                .previous
                .map(|(key, _)| key.as_bytes().to_vec())),
            previous_request_signing_valid_until: Set(keys.previous.map(|(_, until)| until)),
            ..<ActiveModel as ActiveModelTrait>::default()
        };
        self.change_with_events(events, "storing signing keys", async |txn| {
            update_columns(txn, active).await
        })
        .await
    }

    async fn set_files_key(
        &self,
        id: ApplicationId,
        sealed: &[u8],
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let active = ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id.as_uuid()),
            sealed_files_key: Set(Some(sealed.to_vec())),
            ..<ActiveModel as ActiveModelTrait>::default()
        };
        self.change_with_events(events, "storing a files key", async |txn| {
            update_columns(txn, active).await
        })
        .await
    }
}
