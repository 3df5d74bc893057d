//! The argon2id [`PasswordHasher`]. Hashing is CPU- and memory-heavy, so it runs on the
//! blocking pool, never on an async worker, and at most `max_concurrent` at once.

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use domain::ports::PasswordHasher;
use domain::values::{Password, PasswordHash};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// # Errors
    /// Never with the built-in parameters; kept fallible as argon2's constructor is.
    pub fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        })
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the hashing semaphore closed")?;
        let argon2 = self.argon2.clone();
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
        })
        .await
        .context("the hashing task failed")??;
        Ok(PasswordHash::from_phc(phc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier as _;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_the_minimum_parameters_and_verify() {
        let hasher = Argon2Hasher::new(2).unwrap();
        let password = Password::parse("secure_password123").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        let parsed = argon2::PasswordHash::new(hash.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"secure_password123", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong_password", &parsed)
                .is_err()
        );
        let again = hasher.hash(&password).await.unwrap();
        assert_ne!(again, hash, "each hash has its own salt");
    }
}
