//! The operator API: creating and changing applications.

use super::{Latchkey, OperatorApi, SettingsChange, events};
use crate::application::{
    Application, ApplicationName, ApplicationUpdate, CreatedApplication, PreviousSecret,
    ResponseSigningKeys, RotatedSecret, RotatedValue, Rotation, SecretToRotate,
};
use crate::crypto::FilesKey;
use crate::event::ChangedBy;
use crate::page::{Page, PageRequest};
use crate::values::ApplicationId;
use crate::values::{Secret, SecretKind};
use async_trait::async_trait;

#[async_trait]
impl OperatorApi for Latchkey {
    async fn create_application(
        &self,
        name: ApplicationName,
        device_authentication: bool,
    ) -> anyhow::Result<CreatedApplication> {
        let now = self.ports.clock.now();
        let created =
            CreatedApplication::generate(name, device_authentication, now, &self.master_key)?;
        self.ports.applications.create(&created.application).await?;
        Ok(created)
    }

    async fn list_applications(&self, page: PageRequest) -> anyhow::Result<Page<Application>> {
        self.ports.applications.list(&page).await
    }

    async fn get_application(&self, id: ApplicationId) -> anyhow::Result<Option<Application>> {
        self.ports.applications.get(id).await
    }

    async fn rotate_secret(
        &self,
        id: ApplicationId,
        which: SecretToRotate,
        old_valid_for: chrono::Duration,
        by: &ChangedBy,
    ) -> anyhow::Result<Option<RotatedSecret>> {
        let now = self.ports.clock.now();
        let rotated = |old_valid_until| events::secret_rotated(id, which, old_valid_until, by, now);
        let Some(app) = self.ports.applications.get(id).await? else {
            return Ok(None);
        };
        let old_valid_until =
            (old_valid_for > chrono::Duration::zero()).then(|| now + old_valid_for);
        let (kind, current) = match which {
            SecretToRotate::ApiSecret => (SecretKind::ApiSecret, app.api_secret_digest),
            SecretToRotate::AdminApiKey => (SecretKind::AdminApiKey, app.admin_api_key_digest),
            SecretToRotate::RequestSigningKey => {
                let old_valid_until = app
                    .request_signing_keys
                    .filter(|_| old_valid_for > chrono::Duration::zero())
                    .map(|_| now + old_valid_for);
                let made = self
                    .new_request_signing_key(
                        id,
                        app.request_signing_keys,
                        old_valid_for,
                        &[rotated(old_valid_until)],
                    )
                    .await?;
                return Ok(made.map(|(application, private_key)| RotatedSecret {
                    which,
                    value: RotatedValue::PrivateKey(private_key),
                    old_valid_until: application
                        .request_signing_keys
                        .and_then(|keys| keys.previous)
                        .map(|(_, valid_until)| valid_until),
                    application,
                }));
            }
            SecretToRotate::FilesKey => {
                // Files stored before stay under the old key: nothing is re-encrypted.
                let key = FilesKey::generate();
                let sealed = key.seal(&self.master_key, id)?;
                let stored = self
                    .ports
                    .applications
                    .set_files_key(id, &sealed, &[rotated(None)])
                    .await?;
                return Ok(stored.map(|application| RotatedSecret {
                    which,
                    value: RotatedValue::FilesKey(key.to_hex()),
                    old_valid_until: None,
                    application,
                }));
            }
            SecretToRotate::ResponseSigningKey => {
                let keys = match &app.response_signing_keys {
                    Some(keys) => keys.rotated(&self.master_key, id, now, old_valid_for)?,
                    None => ResponseSigningKeys::generate(&self.master_key, id)?,
                };
                let public_key = keys.current.public_key;
                let event = rotated(keys.previous.as_ref().map(|previous| previous.valid_until));
                let stored = self
                    .ports
                    .applications
                    .set_response_signing_keys(id, &keys, &[event])
                    .await?;
                return Ok(stored.map(|application| RotatedSecret {
                    which,
                    value: RotatedValue::PublicKey(public_key),
                    old_valid_until: keys.previous.map(|previous| previous.valid_until),
                    application,
                }));
            }
        };
        let secret = Secret::generate(kind);
        let rotation = Rotation {
            which,
            new_digest: secret.digest(),
            previous: old_valid_until.map(|valid_until| PreviousSecret {
                digest: current,
                valid_until,
            }),
        };
        Ok(self
            .ports
            .applications
            .rotate(id, &rotation, &[rotated(old_valid_until)])
            .await?
            .map(|application| RotatedSecret {
                which,
                value: RotatedValue::Secret(secret),
                old_valid_until,
                application,
            }))
    }

    async fn update_application(
        &self,
        id: ApplicationId,
        update: ApplicationUpdate,
        by: &ChangedBy,
    ) -> anyhow::Result<Option<SettingsChange>> {
        self.change_settings(id, &update, by).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::Mocks;

    #[tokio::test]
    async fn a_created_application_is_stored_with_digests_and_returned_with_plaintext() {
        let mut mocks = Mocks::default();
        mocks
            .applications
            .expect_create()
            .withf(|app| app.name.as_str() == "My App" && app.device_authentication)
            .times(1)
            .return_once(|_| Ok(()));
        let name = ApplicationName::parse("My App").unwrap();
        let created = mocks
            .service()
            .create_application(name, true)
            .await
            .unwrap();
        assert_eq!(
            created.application.api_secret_digest,
            created.api_secret.digest()
        );
    }
}
