//! Random secrets and their SHA-256 digests: the store only ever sees digests.

use data_encoding::{Encoding, Specification};
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::LazyLock;
use subtle::ConstantTimeEq;

/// Crockford's base32 alphabet: no I, L, O or U, so nothing reads as another symbol.
pub(crate) const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static CROCKFORD: LazyLock<Option<Encoding>> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str(ALPHABET);
    spec.encoding().ok()
});

/// `N` random bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0_u8; N];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf
}

/// `bytes` in Crockford base32.
pub(crate) fn base32(bytes: &[u8]) -> String {
    match CROCKFORD.as_ref() {
        Some(encoding) => encoding.encode(bytes),
        // The alphabet is a valid 32-symbol spec; this arm exists to avoid a panic path.
        None => data_encoding::BASE32_NOPAD.encode(bytes),
    }
}

/// `bytes` random bytes from the operating system's CSPRNG, in Crockford base32.
pub(crate) fn random_base32(bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base32(&buf)
}

/// What a secret is for; its prefix makes a leaked one recognisable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ApiKey,
    ApiSecret,
    AdminApiKey,
    SessionToken,
}

impl SecretKind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "lk_app_",
            Self::ApiSecret => "lk_sec_",
            Self::AdminApiKey => "lk_adm_",
            Self::SessionToken => "lk_ses_",
        }
    }
}

/// A freshly generated 128-bit secret. Its `Debug` hides the value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn generate(kind: SecretKind) -> Self {
        Self(format!(
            "{}{}",
            kind.prefix(),
            random_base32(16).to_lowercase()
        ))
    }

    /// The plaintext, to show once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a secret. Secrets have ≥128 bits of entropy, so a fast digest is enough.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    #[must_use]
    pub fn of(plaintext: &str) -> Self {
        Self(Sha256::digest(plaintext.as_bytes()).into())
    }

    /// `None` when the stored bytes are not a digest.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time, so response timing says nothing about a wrong secret.
    #[must_use]
    pub fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_their_prefix_and_128_bits() {
        let secret = Secret::generate(SecretKind::ApiSecret);
        assert!(secret.expose().starts_with("lk_sec_"));
        assert_eq!(secret.expose().len(), "lk_sec_".len() + 26);
        assert_ne!(
            secret.expose(),
            Secret::generate(SecretKind::ApiSecret).expose()
        );
    }

    #[test]
    fn random_text_uses_only_the_unambiguous_alphabet() {
        let text = random_base32(64);
        assert_eq!(text.len(), 103);
        assert!(text.chars().all(|c| ALPHABET.contains(c)), "{text}");
    }

    #[test]
    fn a_digest_matches_only_the_same_plaintext() {
        assert!(Digest::of("a").matches(&Digest::of("a")));
        assert!(!Digest::of("a").matches(&Digest::of("b")));
        assert_eq!(
            Digest::from_slice(Digest::of("a").as_bytes()),
            Some(Digest::of("a"))
        );
        assert_eq!(Digest::from_slice(&[1, 2, 3]), None);
    }
}
