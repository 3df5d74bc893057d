//! Ed25519 keys. The server signs its integration answers with a key pair of its own, whose
//! private half is kept sealed under the master key; it checks signed requests against the
//! public half of a key pair whose private half only the vendor's program holds.

use super::sealing::{MasterKey, SealError};
use crate::values::secret::random_bytes;
use data_encoding::BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// An Ed25519 public key: 32 bytes, shown as standard base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Standard base64 of the 32 raw bytes, as the API shows it.
    #[must_use]
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.0)
    }

    /// The key's id, derived from the key so it cannot name another: `lk_key_` and the
    /// first 80 bits of the key's SHA-256 in lower-case Crockford base32.
    #[must_use]
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0);
        format!(
            "lk_key_{}",
            crate::values::secret::base32(&digest[..10]).to_lowercase()
        )
    }

    /// Whether `signature` is this key's signature of `message` (strict RFC 8032 checks).
    #[must_use]
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let (Ok(key), Ok(signature)) = (
            VerifyingKey::from_bytes(&self.0),
            Signature::from_slice(signature),
        ) else {
            return false;
        };
        key.verify_strict(message, &signature).is_ok()
    }
}

/// A key pair whose private half is sealed under the master key for `purpose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKeyPair {
    pub public_key: PublicKey,
    pub sealed_private_key: Vec<u8>,
}

impl SealedKeyPair {
    /// # Errors
    /// Only when sealing fails, which it does not for 32 bytes.
    pub fn generate(master: &MasterKey, purpose: &str) -> Result<Self, SealError> {
        let seed = Zeroizing::new(random_bytes::<32>());
        let signing = SigningKey::from_bytes(&seed);
        Ok(Self {
            public_key: PublicKey(signing.verifying_key().to_bytes()),
            sealed_private_key: master.seal(purpose, seed.as_ref())?,
        })
    }

    /// The signature of `message`.
    ///
    /// # Errors
    /// [`SealError::Unopenable`] when the private key does not open under `master` for
    /// `purpose` (another master key, or a damaged row).
    pub fn sign(
        &self,
        master: &MasterKey,
        purpose: &str,
        message: &[u8],
    ) -> Result<[u8; 64], SealError> {
        let seed = master.open(purpose, &self.sealed_private_key)?;
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Unopenable)?;
        Ok(SigningKey::from_bytes(seed).sign(message).to_bytes())
    }
}

/// A key pair made for the vendor's program: the private half (its 32-byte seed, standard
/// base64) is shown once and never stored.
pub struct ClientKeyPair {
    pub public_key: PublicKey,
    pub private_key_base64: Zeroizing<String>,
}

impl ClientKeyPair {
    #[must_use]
    pub fn generate() -> Self {
        let seed = Zeroizing::new(random_bytes::<32>());
        let signing = SigningKey::from_bytes(&seed);
        Self {
            public_key: PublicKey(signing.verifying_key().to_bytes()),
            private_key_base64: Zeroizing::new(BASE64.encode(seed.as_ref())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_bytes(MasterKey::generate_bytes().as_ref()).unwrap()
    }

    #[test]
    fn a_sealed_key_pair_signs_what_its_public_key_verifies() {
        let master = master();
        let pair = SealedKeyPair::generate(&master, "response-signing:a").unwrap();
        let signature = pair.sign(&master, "response-signing:a", b"base").unwrap();
        assert!(pair.public_key.verifies(b"base", &signature));
        assert!(!pair.public_key.verifies(b"other", &signature));
        assert_eq!(
            pair.sign(&master, "response-signing:b", b"base"),
            Err(SealError::Unopenable)
        );
    }

    #[test]
    fn the_key_id_is_derived_from_the_key() {
        let pair = SealedKeyPair::generate(&master(), "p").unwrap();
        let id = pair.public_key.key_id();
        assert!(id.starts_with("lk_key_") && id.len() == 7 + 16, "{id}");
        assert_eq!(
            id,
            PublicKey::from_bytes(*pair.public_key.as_bytes()).key_id()
        );
        assert_eq!(
            BASE64
                .decode(pair.public_key.to_base64().as_bytes())
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn a_client_key_pair_shows_a_private_key_that_signs_for_its_public_key() {
        let pair = ClientKeyPair::generate();
        let seed: [u8; 32] = BASE64
            .decode(pair.private_key_base64.as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        let signature = SigningKey::from_bytes(&seed).sign(b"request").to_bytes();
        assert!(pair.public_key.verifies(b"request", &signature));
        assert!(!pair.public_key.verifies(b"request", &[0; 64]));
        assert!(!pair.public_key.verifies(b"request", &[0; 3]));
    }
}
