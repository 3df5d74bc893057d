//! Signing integration answers: which keys sign an application's answers now, and the
//! signatures themselves. The HTTP adapter builds what is signed (RFC 9421's signature base);
//! the private keys never leave the domain unsealed.

use super::Latchkey;
use crate::application::{Application, ResponseSigningKeys};

/// A key that signs an application's answers now, and the label of its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseKey {
    /// `latchkey` for the current key, `latchkey-previous` for the key before the last
    /// rotation while it still signs.
    pub label: &'static str,
    pub key_id: String,
}

/// Signs an application's integration answers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ResponseSigning: Send + Sync {
    /// The keys that sign `app`'s answers now, the current one first; none when response
    /// signing is off.
    fn response_keys(&self, app: &Application) -> Vec<ResponseKey>;

    /// `message` signed with `app`'s key `key_id`.
    ///
    /// # Errors
    /// When no key of `app` has that id, or its private key does not open under the master
    /// key (the master key was changed without resealing).
    fn sign_response(
        &self,
        app: &Application,
        key_id: &str,
        message: &[u8],
    ) -> anyhow::Result<[u8; 64]>;
}

impl ResponseSigning for Latchkey {
    fn response_keys(&self, app: &Application) -> Vec<ResponseKey> {
        let Some(keys) = app
            .response_signing_keys
            .as_ref()
            .filter(|_| app.settings.response_signing)
        else {
            return Vec::new();
        };
        let labels = ["latchkey", "latchkey-previous"];
        keys.in_force(self.ports.clock.now())
            .into_iter()
            .zip(labels)
            .map(|(key, label)| ResponseKey {
                label,
                key_id: key.public_key.key_id(),
            })
            .collect()
    }

    fn sign_response(
        &self,
        app: &Application,
        key_id: &str,
        message: &[u8],
    ) -> anyhow::Result<[u8; 64]> {
        let key = app
            .response_signing_keys
            .as_ref()
            .and_then(|keys| {
                keys.in_force(self.ports.clock.now())
                    .into_iter()
                    .find(|key| key.public_key.key_id() == key_id)
            })
            .ok_or_else(|| anyhow::anyhow!("no response signing key {key_id} in force"))?;
        let purpose = ResponseSigningKeys::purpose(app.id);
        Ok(key.sign(&self.master_key, &purpose, message)?)
    }
}

impl Latchkey {
    /// Gives every application made before response signing existed its key pair, and
    /// moves private keys sealed under the previous master key (during a master-key
    /// rotation) under the current one; how many applications it changed. The server calls
    /// it at start, after migrating.
    ///
    /// # Errors
    /// When the store fails, or a private key opens under neither master key; applications
    /// done until then keep their changes.
    pub async fn prepare_response_signing_keys(&self) -> anyhow::Result<u64> {
        self.for_each_application(async |app| {
            let Some(keys) = self.keys_to_store(app)? else {
                return Ok(false);
            };
            self.ports
                .applications
                .set_response_signing_keys(app.id, &keys, &[])
                .await?;
            Ok(true)
        })
        .await
    }

    /// `app`'s keys as they should be stored, when that differs from how they are.
    fn keys_to_store(&self, app: &Application) -> anyhow::Result<Option<ResponseSigningKeys>> {
        let Some(keys) = &app.response_signing_keys else {
            return Ok(Some(ResponseSigningKeys::generate(
                &self.master_key,
                app.id,
            )?));
        };
        let purpose = ResponseSigningKeys::purpose(app.id);
        let mut resealed = keys.clone();
        let mut changed = false;
        let pairs = std::iter::once(&mut resealed.current)
            .chain(resealed.previous.as_mut().map(|previous| &mut previous.key));
        for pair in pairs {
            let resealed_pair = self
                .master_key
                .reseal(&purpose, &pair.sealed_private_key)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "application {}: {error}; start with the master key it was sealed \
                         under as secrets.master_key or secrets.previous_master_key",
                        app.id
                    )
                })?;
            if let Some(sealed) = resealed_pair {
                pair.sealed_private_key = sealed;
                changed = true;
            }
        }
        Ok(changed.then_some(resealed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::ApplicationName;
    use crate::application::CreatedApplication;
    use crate::services::test_support::{Mocks, fixed_now};

    fn signed_app() -> Application {
        let name = ApplicationName::parse("App").unwrap();
        CreatedApplication::generate(name, true, fixed_now(), &crate::application::master())
            .unwrap()
            .application
    }

    #[test]
    fn the_current_key_signs_as_latchkey_and_its_signature_verifies() {
        let service = Mocks::default().service();
        let app = signed_app();
        let keys = service.response_keys(&app);
        let current = &app.response_signing_keys.as_ref().unwrap().current;
        assert_eq!(
            keys,
            vec![ResponseKey {
                label: "latchkey",
                key_id: current.public_key.key_id()
            }]
        );
        let signature = service
            .sign_response(&app, &keys[0].key_id, b"base")
            .unwrap();
        assert!(current.public_key.verifies(b"base", &signature));
        assert!(
            service
                .sign_response(&app, "lk_key_other", b"base")
                .is_err()
        );
    }

    #[test]
    fn with_response_signing_off_no_key_signs() {
        let mut app = signed_app();
        app.settings.response_signing = false;
        assert!(Mocks::default().service().response_keys(&app).is_empty());
    }

    #[test]
    fn a_rotated_out_key_signs_as_latchkey_previous_until_its_deadline() {
        let service = Mocks::default().service();
        let mut app = signed_app();
        let old = app.response_signing_keys.clone().unwrap();
        let rotated = old
            .rotated(
                &crate::application::master(),
                app.id,
                fixed_now(),
                chrono::Duration::hours(1),
            )
            .unwrap();
        app.response_signing_keys = Some(rotated.clone());
        let labels: Vec<_> = service
            .response_keys(&app)
            .into_iter()
            .map(|key| (key.label, key.key_id))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("latchkey", rotated.current.public_key.key_id()),
                ("latchkey-previous", old.current.public_key.key_id()),
            ]
        );
    }

    #[tokio::test]
    async fn at_start_applications_without_keys_get_one_and_others_are_left_alone() {
        let mut mocks = Mocks::default();
        let (keyed, mut bare) = (signed_app(), signed_app());
        bare.response_signing_keys = None;
        let bare_id = bare.id;
        mocks
            .applications
            .expect_list()
            .times(1)
            .return_once(move |_| {
                Ok(crate::page::Page {
                    items: vec![keyed, bare],
                    next: None,
                })
            });
        mocks
            .applications
            .expect_set_response_signing_keys()
            .withf(move |id, keys, _| *id == bare_id && keys.previous.is_none())
            .times(1)
            .returning(|_, _, _| Ok(None));
        let changed = mocks
            .service()
            .prepare_response_signing_keys()
            .await
            .unwrap();
        assert_eq!(changed, 1);
    }
}
