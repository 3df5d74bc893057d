//! Signed requests. For an application that requires them, these checks run in this order
//! before any other work on a request: its `created` time within the allowed skew, then its
//! signature, and only then its nonce is recorded as used, so a request that fails a check
//! spends no nonce, and one that passes can never be accepted again, on any replica.
//! The HTTP adapter finds the signature and builds what was signed (RFC 9421); the domain
//! decides.

use super::Latchkey;
use crate::application::{Application, RequestSigningKeys};
use crate::crypto::ClientKeyPair;
use crate::values::ApplicationId;
use async_trait::async_trait;
use chrono::{DateTime, Duration};
use thiserror::Error;
use zeroize::Zeroizing;

/// A request's signature and what it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub key_id: String,
    /// Seconds since the Unix epoch, as the signature's `created` parameter says.
    pub created: i64,
    pub nonce: String,
    /// RFC 9421's signature base, as the server rebuilt it from the request.
    pub base: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Why a request of an application that requires signed requests is refused.
#[derive(Debug, Error)]
pub enum RequestSignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the request signature does not verify")]
    Invalid,
    #[error("the request signature was made too long ago, or in the future")]
    Stale,
    #[error("the request was accepted before")]
    Replayed,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Checks signed requests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RequestSigning: Send + Sync {
    /// # Errors
    /// [`RequestSignatureError`] naming the first check that failed.
    async fn check_signed_request(
        &self,
        app: &Application,
        request: &SignedRequest,
    ) -> Result<(), RequestSignatureError>;
}

#[async_trait]
impl RequestSigning for Latchkey {
    async fn check_signed_request(
        &self,
        app: &Application,
        request: &SignedRequest,
    ) -> Result<(), RequestSignatureError> {
        let now = self.ports.clock.now();
        let created =
            DateTime::from_timestamp(request.created, 0).ok_or(RequestSignatureError::Stale)?;
        if (now - created).abs() > self.max_signature_skew {
            return Err(RequestSignatureError::Stale);
        }
        let key = app
            .request_signing_keys
            .and_then(|keys| keys.accepted(&request.key_id, now))
            .ok_or(RequestSignatureError::Invalid)?;
        if !key.verifies(&request.base, &request.signature) {
            return Err(RequestSignatureError::Invalid);
        }
        // Kept for as long as a request signed at `created` passes the time check, and a
        // second more for the truncation of `created` to whole seconds.
        let keep_until = created + self.max_signature_skew + Duration::seconds(1);
        if self
            .ports
            .nonces
            .record(app.id, &request.nonce, keep_until)
            .await?
        {
            Ok(())
        } else {
            Err(RequestSignatureError::Replayed)
        }
    }
}

impl Latchkey {
    /// A new request signing key pair for `id`; the previous public key stays accepted for
    /// `old_valid_for` (zero: not at all). The private half is shown once.
    pub(crate) async fn new_request_signing_key(
        &self,
        id: ApplicationId,
        previous: Option<RequestSigningKeys>,
        old_valid_for: Duration,
        events: &[crate::event::Event],
    ) -> anyhow::Result<Option<(Application, Zeroizing<String>)>> {
        let pair = ClientKeyPair::generate();
        let now = self.ports.clock.now();
        let keys = RequestSigningKeys {
            current: pair.public_key,
            previous: previous
                .filter(|_| old_valid_for > Duration::zero())
                .map(|previous| (previous.current, now + old_valid_for)),
        };
        let stored = self
            .ports
            .applications
            .set_request_signing_keys(id, &keys, events)
            .await?;
        Ok(stored.map(|app| (app, pair.private_key_base64)))
    }

    /// Deletes nonces kept long enough, batch after batch; how many.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn purge_expired_nonces(&self) -> anyhow::Result<u64> {
        let now = self.ports.clock.now();
        super::housekeeping::in_batches(|| {
            self.ports
                .nonces
                .delete_expired(now, super::housekeeping::PURGE_BATCH)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationName, CreatedApplication};
    use crate::services::test_support::{Mocks, fixed_now};
    use ed25519_dalek::Signer as _;

    /// An application that requires signed requests, and the private key its program holds.
    fn signing_app() -> (Application, ed25519_dalek::SigningKey) {
        let name = ApplicationName::parse("App").unwrap();
        let master = crate::application::master();
        let mut app = CreatedApplication::generate(name, true, fixed_now(), &master)
            .unwrap()
            .application;
        let pair = ClientKeyPair::generate();
        let seed: [u8; 32] = data_encoding::BASE64
            .decode(pair.private_key_base64.as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        app.settings.request_signing = true;
        app.request_signing_keys = Some(RequestSigningKeys {
            current: pair.public_key,
            previous: None,
        });
        (app, ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    fn signed(app: &Application, key: &ed25519_dalek::SigningKey, created: i64) -> SignedRequest {
        let base = b"the signature base".to_vec();
        SignedRequest {
            key_id: app.request_signing_keys.unwrap().current.key_id(),
            created,
            nonce: "nonce-0123456789abcdef".into(),
            signature: key.sign(&base).to_bytes().to_vec(),
            base,
        }
    }

    #[tokio::test]
    async fn a_good_request_spends_its_nonce_until_it_could_no_longer_pass() {
        let (app, key) = signing_app();
        let mut mocks = Mocks::default();
        let now = fixed_now().timestamp();
        mocks
            .nonces
            .expect_record()
            .withf(move |_, nonce, until| {
                nonce == "nonce-0123456789abcdef" && until.timestamp() == now + 10 + 1
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        mocks
            .nonces
            .expect_record()
            .times(1)
            .returning(|_, _, _| Ok(false));
        let service = mocks.service();
        let request = signed(&app, &key, now);
        assert!(service.check_signed_request(&app, &request).await.is_ok());
        assert!(matches!(
            service.check_signed_request(&app, &request).await,
            Err(RequestSignatureError::Replayed)
        ));
    }

    #[tokio::test]
    async fn time_then_signature_are_checked_before_any_nonce_is_spent() {
        let (app, key) = signing_app();
        let mut mocks = Mocks::default();
        mocks.nonces.expect_record().never();
        let service = mocks.service();
        let now = fixed_now().timestamp();
        for stale in [now - 11, now + 11, i64::MAX] {
            let request = signed(&app, &key, stale);
            assert!(matches!(
                service.check_signed_request(&app, &request).await,
                Err(RequestSignatureError::Stale)
            ));
        }
        let mut tampered = signed(&app, &key, now);
        tampered.base.push(b'!');
        assert!(matches!(
            service.check_signed_request(&app, &tampered).await,
            Err(RequestSignatureError::Invalid)
        ));
        let (_, other_key) = signing_app();
        let wrong_key = signed(&app, &other_key, now);
        assert!(matches!(
            service.check_signed_request(&app, &wrong_key).await,
            Err(RequestSignatureError::Invalid)
        ));
        let mut unknown_id = signed(&app, &key, now);
        unknown_id.key_id = "lk_key_unknown".into();
        assert!(matches!(
            service.check_signed_request(&app, &unknown_id).await,
            Err(RequestSignatureError::Invalid)
        ));
    }
}
