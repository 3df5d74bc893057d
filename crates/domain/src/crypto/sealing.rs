//! The one sealing helper. Every secret Latchkey must read back (signing keys now; webhook
//! secrets, TOTP secrets and file keys later) is stored as AES-256-GCM ciphertext under the
//! master key, bound to what it is for, so a database dump alone yields no usable secret and
//! a sealed value copied into another row or column does not open there.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// The first byte of every sealed value: the format, so a later one can be told apart.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the master key must be 32 bytes")]
    KeyLength,
    /// Wrong master key, another purpose, or a damaged value: AES-GCM cannot tell which.
    #[error("the sealed value does not open under this master key for this purpose")]
    Unopenable,
}

/// The master key: 32 bytes from `secrets.master_key_file` or the environment; during a
/// rotation, also the key before it, which still opens what it sealed.
pub struct MasterKey {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub const LEN: usize = 32;

    /// # Errors
    /// [`SealError::KeyLength`] unless `bytes` holds exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        Ok(Self {
            current: cipher(bytes)?,
            previous: None,
        })
    }

    /// During a master-key rotation: values sealed under `previous` still open, and
    /// [`Self::reseal`] moves them under the current key.
    ///
    /// # Errors
    /// [`SealError::KeyLength`] unless `previous` holds exactly 32 bytes.
    pub fn with_previous(self, previous: &[u8]) -> Result<Self, SealError> {
        Ok(Self {
            previous: Some(cipher(previous)?),
            ..self
        })
    }

    /// 32 fresh bytes from the operating system's CSPRNG, for a new master key.
    #[must_use]
    pub fn generate_bytes() -> Zeroizing<[u8; Self::LEN]> {
        let mut bytes = Zeroizing::new([0_u8; Self::LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        bytes
    }

    /// `plaintext` sealed for `purpose` (for example `response-signing:<application id>`):
    /// the version byte, a random 12-byte nonce, then the ciphertext and its 16-byte tag.
    ///
    /// # Errors
    /// Only for a plaintext larger than AES-GCM can take (64 GiB).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: purpose.as_bytes(),
        };
        let ciphertext = self
            .current
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Unopenable)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// # Errors
    /// [`SealError::Unopenable`] for another master key, another purpose, or a damaged value.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        open_with(&self.current, purpose, sealed).or_else(|error| match &self.previous {
            Some(previous) => open_with(previous, purpose, sealed),
            None => Err(error),
        })
    }

    /// `sealed` under the current key: `None` when it is already, the value sealed anew when
    /// only the previous key opens it.
    ///
    /// # Errors
    /// [`SealError::Unopenable`] when neither key opens it.
    pub fn reseal(&self, purpose: &str, sealed: &[u8]) -> Result<Option<Vec<u8>>, SealError> {
        if open_with(&self.current, purpose, sealed).is_ok() {
            return Ok(None);
        }
        let plaintext = self.open(purpose, sealed)?;
        self.seal(purpose, &plaintext).map(Some)
    }
}

fn cipher(bytes: &[u8]) -> Result<Aes256Gcm, SealError> {
    Aes256Gcm::new_from_slice(bytes).map_err(|_| SealError::KeyLength)
}

fn open_with(
    cipher: &Aes256Gcm,
    purpose: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Unopenable)?;
    if version != VERSION || rest.len() < NONCE_LEN {
        return Err(SealError::Unopenable);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let payload = Payload {
        msg: ciphertext,
        aad: purpose.as_bytes(),
    };
    cipher
        .decrypt(Nonce::from_slice(nonce), payload)
        .map(Zeroizing::new)
        .map_err(|_| SealError::Unopenable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes(MasterKey::generate_bytes().as_ref()).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_purpose_only() {
        let key = key();
        let sealed = key.seal("response-signing:app-1", b"private").unwrap();
        assert_eq!(sealed[0], VERSION);
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(
            key.open("response-signing:app-1", &sealed)
                .unwrap()
                .as_slice(),
            b"private"
        );
        assert_eq!(
            key.open("response-signing:app-2", &sealed),
            Err(SealError::Unopenable)
        );
    }

    #[test]
    fn another_key_or_a_flipped_bit_does_not_open() {
        let (one, other) = (key(), key());
        let mut sealed = one.seal("p", b"secret").unwrap();
        assert_eq!(other.open("p", &sealed), Err(SealError::Unopenable));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(one.open("p", &sealed), Err(SealError::Unopenable));
        assert_eq!(one.open("p", &[]), Err(SealError::Unopenable));
        assert_eq!(one.open("p", &[2; 40]), Err(SealError::Unopenable));
    }

    #[test]
    fn sealing_twice_gives_two_ciphertexts() {
        let key = key();
        assert_ne!(key.seal("p", b"x").unwrap(), key.seal("p", b"x").unwrap());
    }

    #[test]
    fn during_a_rotation_old_values_open_and_reseal_under_the_new_key() {
        let old_bytes = MasterKey::generate_bytes();
        let new_bytes = MasterKey::generate_bytes();
        let old = MasterKey::from_bytes(old_bytes.as_ref()).unwrap();
        let sealed = old.seal("p", b"secret").unwrap();
        let rotating = MasterKey::from_bytes(new_bytes.as_ref())
            .unwrap()
            .with_previous(old_bytes.as_ref())
            .unwrap();
        assert_eq!(rotating.open("p", &sealed).unwrap().as_slice(), b"secret");
        let resealed = rotating.reseal("p", &sealed).unwrap().unwrap();
        assert_eq!(rotating.reseal("p", &resealed), Ok(None), "already current");
        let new_only = MasterKey::from_bytes(new_bytes.as_ref()).unwrap();
        assert_eq!(new_only.open("p", &resealed).unwrap().as_slice(), b"secret");
        assert_eq!(new_only.open("p", &sealed), Err(SealError::Unopenable));
        assert_eq!(new_only.reseal("p", &sealed), Err(SealError::Unopenable));
    }

    #[test]
    fn a_master_key_is_32_bytes() {
        assert_eq!(
            MasterKey::from_bytes(&[0; 31]).map(|_| ()),
            Err(SealError::KeyLength)
        );
        assert!(MasterKey::from_bytes(&[0; 32]).is_ok());
        assert_eq!(format!("{:?}", key()), "MasterKey(..)");
    }
}
