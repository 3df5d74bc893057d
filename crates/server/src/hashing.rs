//! The argon2id [`PasswordHasher`]. Hashing is CPU- and memory-heavy, so:
//! - it runs on the blocking pool, never on an async worker;
//! - at most `max_concurrent` hashes run at once; a request that waits longer than
//!   `max_wait` for its turn is shed with [`HashError::Busy`] (503) instead of queueing;
//! - each running hash uses a memory buffer from a pool of at most `max_concurrent`, reused
//!   across hashes, so memory stays flat under a storm instead of growing with every thread
//!   arena the allocator opens.

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use domain::errors::HashError;
use domain::ports::PasswordHasher;
use domain::values::{Password, PasswordHash, Secret, SecretKind};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
const OUTPUT_LEN: usize = 32;

pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    max_wait: Duration,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    /// A hash of a random password, verified against when the user does not exist, so that
    /// an unknown username costs the same time as a wrong password.
    dummy: String,
}

impl Argon2Hasher {
    /// # Errors
    /// Never with the built-in parameters; kept fallible as argon2's constructor is.
    pub fn new(max_concurrent: usize, max_wait: Duration) -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
            .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
        let mut blocks = vec![Block::default(); params.block_count()];
        let dummy = hash_into(
            &params,
            Secret::generate(SecretKind::ApiSecret).expose().as_bytes(),
            &mut blocks,
        )?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            max_wait,
            buffers: Arc::new(Mutex::new(vec![blocks])),
            dummy,
        })
    }
}

/// One hash into `blocks`, as a PHC string; what `argon2`'s `hash_password` does, minus
/// its allocation.
fn hash_into(params: &Params, password: &[u8], blocks: &mut [Block]) -> anyhow::Result<String> {
    let fail = |error: &dyn std::fmt::Display| anyhow::anyhow!("hashing a password: {error}");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0_u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| fail(&e))?;
    let output = Output::init_with(OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password, salt_bytes, out, &mut *blocks)
            .map_err(Into::into)
    })
    .map_err(|e| fail(&e))?;
    let phc = argon2::password_hash::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Verifies `password` against a PHC string with the parameters stored in it, computing into
/// `blocks` (grown when the stored parameters need more memory).
fn verify_into(phc: &str, password: &[u8], blocks: &mut Vec<Block>) -> anyhow::Result<bool> {
    let fail = |error: &dyn std::fmt::Display| anyhow::anyhow!("verifying a password: {error}");
    let parsed = argon2::password_hash::PasswordHash::new(phc).map_err(|e| fail(&e))?;
    let params = Params::try_from(&parsed).map_err(|e| fail(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| fail(&e))?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(|e| fail(&e))?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("verifying a password: the stored hash has no salt or output");
    };
    let mut salt_bytes = [0_u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| fail(&e))?;
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut output = vec![0_u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt_bytes, &mut output, &mut blocks[..])
        .map_err(|e| fail(&e))?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&output).map_err(|e| fail(&e))? == expected)
}

impl Argon2Hasher {
    /// Runs `work` on the blocking pool with a hashing slot and a pooled buffer; a request
    /// that waits longer than `max_wait` for a slot is shed as [`HashError::Busy`].
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let waited = std::time::Instant::now();
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                metrics::counter!("latchkey_hash_permits_refused_total").increment(1);
                HashError::Busy
            })?
            .context("the hashing semaphore closed")?;
        metrics::histogram!("latchkey_hash_permit_wait_seconds")
            .record(waited.elapsed().as_secs_f64());
        let (buffers, block_count) = (self.buffers.clone(), self.params.block_count());
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let in_flight = metrics::gauge!("latchkey_hashes_in_flight");
            in_flight.increment(1.0);
            let pooled = buffers.lock().ok().and_then(|mut pool| pool.pop());
            let mut blocks = pooled.unwrap_or_else(|| vec![Block::default(); block_count]);
            let result = work(&mut blocks);
            if let Ok(mut pool) = buffers.lock() {
                pool.push(blocks);
            }
            in_flight.decrement(1.0);
            result
        })
        .await
        .context("the hashing task failed")??;
        Ok(result)
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let (params, password) = (self.params.clone(), password.clone());
        let phc = self
            .run(move |blocks| hash_into(&params, password.expose().as_bytes(), blocks))
            .await?;
        Ok(PasswordHash::from_phc(phc))
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_str()) else {
            return false; // unreadable hashes never verify, so they are never re-hashed
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let argon2id =
            Algorithm::try_from(parsed.algorithm).is_ok_and(|a| a == Algorithm::Argon2id);
        !argon2id
            || params.m_cost() < self.params.m_cost()
            || params.t_cost() < self.params.t_cost()
            || params.p_cost() < self.params.p_cost()
    }

    async fn verify(
        &self,
        hash: Option<PasswordHash>,
        password: &Password,
    ) -> Result<bool, HashError> {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.clone(), |hash| hash.as_str().to_owned());
        let password = password.clone();
        let matches = self
            .run(
                move |blocks| match verify_into(&phc, password.expose().as_bytes(), blocks) {
                    Ok(matches) => Ok(matches),
                    // A corrupt stored hash signs nobody in; it is logged, not shown.
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "unreadable password hash");
                        Ok(false)
                    }
                },
            )
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier as _;

    fn hasher(max_concurrent: usize, max_wait: Duration) -> Argon2Hasher {
        Argon2Hasher::new(max_concurrent, max_wait).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_the_minimum_parameters_and_verify() {
        let hasher = hasher(2, Duration::from_secs(5));
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

    #[tokio::test]
    async fn memory_buffers_are_reused_not_reallocated() {
        let hasher = hasher(1, Duration::from_secs(5));
        let password = Password::parse("secure_password123").unwrap();
        for _ in 0..3 {
            hasher.hash(&password).await.unwrap();
        }
        assert_eq!(
            hasher.buffers.lock().unwrap().len(),
            1,
            "one slot, one buffer"
        );
    }

    #[tokio::test]
    async fn verification_uses_the_stored_parameters_and_an_unknown_user_never_matches() {
        let hasher = hasher(2, Duration::from_secs(5));
        let password = Password::parse("secure_password123").unwrap();
        let stored = hasher.hash(&password).await.unwrap();
        assert!(
            hasher
                .verify(Some(stored.clone()), &password)
                .await
                .unwrap()
        );
        let wrong = Password::parse("wrong_password1").unwrap();
        assert!(!hasher.verify(Some(stored), &wrong).await.unwrap());
        assert!(!hasher.verify(None, &password).await.unwrap());
        // A hash made with other (weaker) parameters still verifies with its own.
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2::PasswordHasher::hash_password(&weak, b"secure_password123", &salt)
            .unwrap()
            .to_string();
        assert!(
            hasher
                .verify(Some(PasswordHash::from_phc(phc.clone())), &password)
                .await
                .unwrap()
        );
        assert!(hasher.needs_rehash(&PasswordHash::from_phc(phc)));
        assert!(!hasher.needs_rehash(&hasher.hash(&password).await.unwrap()));
        let corrupt = PasswordHash::from_phc("$argon2id$garbage".into());
        assert!(!hasher.verify(Some(corrupt), &password).await.unwrap());
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_for_a_slot_is_shed_as_busy() {
        let hasher = hasher(1, Duration::from_millis(20));
        let _taken = hasher.permits.clone().acquire_owned().await.unwrap();
        let password = Password::parse("secure_password123").unwrap();
        assert!(matches!(hasher.hash(&password).await, Err(HashError::Busy)));
    }
}
