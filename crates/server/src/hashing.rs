//! The argon2id [`PasswordHasher`]. Hashing is CPU- and memory-heavy, so:
//! - it runs on `max_concurrent` dedicated hashing threads, never on an async worker;
//! - requests queue for those threads; one whose hash has not started after `max_wait` is
//!   shed with [`HashError::Busy`] (503) instead of waiting on;
//! - each thread owns one memory buffer, reused from hash to hash, so memory stays flat under
//!   a storm instead of growing with every thread arena the allocator opens.
//!
//! Why dedicated threads rather than tokio's blocking pool: a hashing thread that finishes
//! takes the next queued hash at once, on the core it is already on. Through the blocking
//! pool every hash is handed over by an async worker to whichever pool thread wakes, and the
//! scheduler would often stack two fresh hashes on one core while the other sat idle; on two
//! cores that cost about a tenth of the sign-up rate (docs/benchmarks.md).

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use domain::errors::HashError;
use domain::ports::PasswordHasher;
use domain::values::{Password, PasswordHash, Secret, SecretKind};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
const OUTPUT_LEN: usize = 32;

pub struct Argon2Hasher {
    params: Params,
    /// The hashing threads' queue; they stop when it is dropped with the hasher.
    jobs: crossbeam_channel::Sender<Job>,
    max_wait: Duration,
    /// Memory buffers allocated so far: one per hashing thread that has hashed. Read by the
    /// tests that prove buffers are reused.
    #[cfg_attr(not(test), allow(dead_code))]
    buffers_allocated: Arc<AtomicUsize>,
    /// A hash of a random password, verified against when the user does not exist, so that
    /// an unknown username costs the same time as a wrong password.
    dummy: String,
}

/// A hash waiting for a thread. Whoever takes `claim` first decides its fate: a hashing
/// thread runs it, the waiting request sheds it at `max_wait`, or the request went away.
struct Job {
    claim: Arc<AtomicBool>,
    queued_at: Instant,
    work: Work,
}

/// A job's computation, given the thread's buffer; it sends its own result.
type Work = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A job's claim, taken when the waiting request gives up or goes away (dropped with it),
/// so that a queued hash nobody waits for is never computed.
struct Claim(Arc<AtomicBool>);

impl Claim {
    /// Whether this call took the claim (nobody had).
    fn take(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = self.take();
    }
}

impl Argon2Hasher {
    /// # Errors
    /// When a hashing thread cannot be started; never for the built-in parameters.
    pub fn new(max_concurrent: usize, max_wait: Duration) -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
            .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?;
        let dummy = hash_into(
            &params,
            Secret::generate(SecretKind::ApiSecret).expose().as_bytes(),
            &mut vec![Block::default(); params.block_count()],
        )?;
        let (jobs, queue) = crossbeam_channel::unbounded();
        let buffers_allocated = Arc::new(AtomicUsize::new(0));
        for n in 0..max_concurrent.max(1) {
            let (queue, allocated) = (queue.clone(), buffers_allocated.clone());
            let block_count = params.block_count();
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{n}"))
                .spawn(move || hashing_thread(&queue, block_count, &allocated))
                .context("starting a hashing thread")?;
        }
        Ok(Self {
            params,
            jobs,
            max_wait,
            buffers_allocated,
            dummy,
        })
    }

    /// Runs `work` on a hashing thread with that thread's buffer; a request whose work has
    /// not started after `max_wait` is shed as [`HashError::Busy`].
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        let claim = Claim(Arc::new(AtomicBool::new(false)));
        self.jobs
            .send(Job {
                claim: claim.0.clone(),
                queued_at: Instant::now(),
                work: Box::new(move |blocks| {
                    let _ = reply.send(work(blocks));
                }),
            })
            .map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        let answer = tokio::select! {
            answer = &mut answer => answer,
            () = tokio::time::sleep(self.max_wait) => {
                if claim.take() {
                    metrics::counter!("latchkey_hash_permits_refused_total").increment(1);
                    return Err(HashError::Busy);
                }
                answer.await // a thread took it just in time
            }
        };
        Ok(answer.context("the hashing thread failed")??)
    }
}

/// One hashing thread: takes queued jobs until the hasher is dropped, skipping those already
/// shed or abandoned. Its buffer is allocated at its first hash and kept.
fn hashing_thread(
    queue: &crossbeam_channel::Receiver<Job>,
    block_count: usize,
    allocated: &AtomicUsize,
) {
    let mut blocks = Vec::new();
    for job in queue {
        if job.claim.swap(true, Ordering::AcqRel) {
            continue;
        }
        metrics::histogram!("latchkey_hash_permit_wait_seconds")
            .record(job.queued_at.elapsed().as_secs_f64());
        if blocks.is_empty() {
            blocks = vec![Block::default(); block_count];
            allocated.fetch_add(1, Ordering::Relaxed);
        }
        let in_flight = metrics::gauge!("latchkey_hashes_in_flight");
        in_flight.increment(1.0);
        // A panic drops the job's reply, which its request reports as an error; the thread
        // carries on with the next job.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(&mut blocks)));
        in_flight.decrement(1.0);
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
            hasher.buffers_allocated.load(Ordering::Relaxed),
            1,
            "one thread, one buffer"
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

    /// Occupies one hashing thread until the returned sender is dropped or sent to.
    async fn occupy(hasher: &Arc<Argon2Hasher>) -> std::sync::mpsc::Sender<()> {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = tokio::sync::oneshot::channel();
        let busy = hasher.clone();
        tokio::spawn(async move {
            busy.run(move |_| {
                let _ = started.send(());
                let _ = released.recv();
                Ok(())
            })
            .await
        });
        is_started.await.unwrap();
        release
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_for_a_thread_is_shed_and_its_hash_never_runs() {
        let hasher = Arc::new(hasher(1, Duration::from_millis(20)));
        let release = occupy(&hasher).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let shed = hasher
            .run(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(shed, Err(HashError::Busy)));
        drop(release);
        // The queue is first in, first out: once this later hash is done, the shed one was
        // taken off the queue before it, and skipped.
        let password = Password::parse("secure_password123").unwrap();
        hasher.hash(&password).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "a shed hash is never computed");
    }

    fn waiting_jobs(hasher: &Argon2Hasher) -> usize {
        hasher.jobs.len()
    }

    #[tokio::test]
    async fn a_request_that_goes_away_while_queued_costs_no_hash() {
        let hasher = Arc::new(hasher(1, Duration::from_secs(5)));
        let release = occupy(&hasher).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let waiting = hasher.clone();
        let abandoned = tokio::spawn(async move {
            waiting
                .run(move |_| {
                    flag.store(true, Ordering::SeqCst);
                    Ok(())
                })
                .await
        });
        while waiting_jobs(&hasher) == 0 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        drop(release);
        let password = Password::parse("secure_password123").unwrap();
        hasher.hash(&password).await.unwrap();
        assert!(
            !ran.load(Ordering::SeqCst),
            "an abandoned hash is never computed"
        );
    }

    #[tokio::test]
    async fn a_panicking_hash_fails_its_request_and_the_thread_carries_on() {
        let hasher = hasher(1, Duration::from_secs(5));
        let failed = hasher
            .run(|_| -> anyhow::Result<()> { panic!("boom") })
            .await;
        assert!(matches!(failed, Err(HashError::Unknown(_))));
        let password = Password::parse("secure_password123").unwrap();
        assert!(hasher.hash(&password).await.is_ok());
    }
}
