//! Password hashing: Argon2id with the OWASP-recommended parameters
//! (m = 19 MiB, t = 2, p = 1), PHC strings in the database, nothing else anywhere.
//!
//! Every hash and every check runs in one process-wide [`HashPool`]: at most one Argon2id
//! computation per core at a time (so at most cores × 19 MiB, whatever arrives), admin work
//! (imports, resets) waiting its turn, mailbox logins waiting only while fewer than
//! [`LOGIN_QUEUE`] others wait and refused at once past that ([`verify_login`]), which the
//! mail services answer as a temporary failure (SMTP 454 4.7.0, IMAP `NO [UNAVAILABLE]`,
//! POP3 `-ERR [SYS/TEMP]`).
//!
//! Memory. Argon2id needs its 19 MiB of blocks per computation. Allocated afresh each time
//! (the `argon2` crate's default), glibc serves them from the arena of whichever blocking
//! thread runs the job and keeps them there after a burst (hundreds of MB after 300
//! parallel logins, never given back). So the blocks are allocated once and reused: at
//! most one set per pool worker is kept ([`BlockSets`]), zeroed after each use, and every
//! hash and check runs in one of them; after a burst the process holds baseline + workers ×
//! 19 MiB (figures: `mailserver/bench/auth_burst.sh`, docs/BENCHMARKS.md).

use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Most login checks that may wait for a hashing worker; one more is refused at once.
pub const LOGIN_QUEUE: usize = 64;

/// A bounded set of hashing workers shared by everything that runs Argon2id.
pub struct HashPool {
    workers: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue_limit: usize,
}

/// The process's pool: one worker per core.
static POOL: LazyLock<HashPool> = LazyLock::new(|| HashPool::new(workers(), LOGIN_QUEUE));

/// Workers of the process's pool: one per core.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Argon2 memory kept for reuse: at most `keep` sets of blocks (one per worker of the
/// pool, which never runs more computations at once), each zeroed when it comes back.
pub struct BlockSets {
    free: Mutex<Vec<Vec<Block>>>,
    keep: usize,
}

static BLOCKS: LazyLock<BlockSets> = LazyLock::new(|| BlockSets::new(workers()));

impl BlockSets {
    /// Keeps at most `keep` sets.
    pub fn new(keep: usize) -> Self {
        BlockSets { free: Mutex::new(Vec::new()), keep }
    }

    /// Runs `f` with a set of `count` blocks: a kept one of that size, else a new one
    /// (kept afterwards while fewer than `keep` are).
    pub fn with<T>(&self, count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let kept = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            free.iter().position(|b| b.len() == count).map(|i| free.swap_remove(i))
        };
        let mut blocks = kept.unwrap_or_else(|| vec![Block::default(); count]);
        let out = f(&mut blocks);
        // Nothing derived from a password stays in memory between uses.
        blocks.fill(Block::default());
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.keep {
            free.push(blocks);
        }
        out
    }

    /// Sets kept now.
    pub fn kept(&self) -> usize {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Takes one off the waiting count when a waiter stops waiting (got a worker or was dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashPool {
    /// A pool of `workers` concurrent computations where at most `queue_limit` refusable
    /// jobs may wait.
    pub fn new(workers: usize, queue_limit: usize) -> Self {
        Self { workers: Arc::new(Semaphore::new(workers.max(1))), waiting: AtomicUsize::new(0), queue_limit }
    }

    /// Runs `work` on a blocking thread once a worker is free, however long that takes
    /// (admin work: it is authenticated and bounded by its own limits).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = self.workers.clone().acquire_owned().await.map_err(|_| Error::internal("hashing pool closed"))?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))
    }

    /// Like [`run`](Self::run), but refused at once (`unavailable`) when `queue_limit`
    /// jobs already wait: unauthenticated clients cannot pile up work or memory.
    pub async fn run_or_refuse<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::unavailable("too many logins are being checked right now; try again shortly"));
        }
        let waiting = Waiting(&self.waiting);
        let permit = self.workers.clone().acquire_owned().await.map_err(|_| Error::internal("hashing pool closed"))?;
        drop(waiting);
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::internal(format!("password check task failed: {e}")))
    }
}

/// Checks a login's password in the process's pool, refused (`unavailable`) when too many
/// checks already wait. `phc` is the stored hash (a dummy one for unknown addresses, so
/// they cost the same).
pub async fn verify_login(password: String, phc: String) -> Result<bool> {
    POOL.run_or_refuse(move || verify(&password, &phc)).await
}

/// Checks several secrets against their hashes in one turn of the pool (refused when too
/// many checks already wait), every one of them checked whatever the others' results.
pub async fn verify_all(pairs: Vec<(String, String)>) -> Result<Vec<bool>> {
    POOL.run_or_refuse(move || pairs.iter().map(|(secret, phc)| verify(secret, phc)).collect()).await
}

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_LENGTH: usize = 256;

/// OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid")
}

/// The raw Argon2 output of `password` with `params` in reused blocks ([`BlockSets`]).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), argon2::Error> {
    let count = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    BLOCKS.with(count, |blocks| argon.hash_password_into_with_memory(password, salt, out, blocks))
}

/// Checks the password policy: length bounds and at least two character classes.
pub fn check_policy(password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(Error::validation(format!("password is too short: at least {MIN_LENGTH} characters"))
            .with_field("password"));
    }
    if len > MAX_LENGTH {
        return Err(
            Error::validation(format!("password is too long: at most {MAX_LENGTH} characters")).with_field("password")
        );
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 2 {
        return Err(Error::validation("password needs at least two of: lower-case, upper-case, digits, symbols")
            .with_field("password"));
    }
    Ok(())
}

/// Hashes a password (after the policy check) into a PHC string. CPU-heavy: call it
/// from a blocking thread when on the async runtime.
pub fn hash(password: &str) -> Result<String> {
    check_policy(password)?;
    hash_secret(password)
}

/// Hashes any secret (no password policy: a security answer) into an Argon2id PHC string.
/// CPU-heavy, as [`hash`].
pub fn hash_secret(password: &str) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| Error::internal(format!("password hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut raw_salt).map_err(|e| failed(&e))?;
    let params = params();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(Algorithm::Argon2id, Version::V0x13, params.clone(), password.as_bytes(), raw_salt, &mut out)
        .map_err(|e| failed(&e))?;
    let out = Output::new(&out).map_err(|e| failed(&e))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${out}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str()
    ))
}

/// Hashes in the process's pool (waiting its turn) so the async workers stay responsive.
pub async fn hash_async(password: String) -> Result<String> {
    POOL.run(move || hash(&password)).await?
}

/// Hashes secrets without the password policy (security answers) in the process's pool.
pub async fn hash_secrets_async(secrets: Vec<String>) -> Result<Vec<String>> {
    POOL.run(move || secrets.iter().map(|s| hash_secret(s)).collect::<Result<Vec<_>>>()).await?
}

/// Hashes many passwords across all cores (blocking threads), keeping each one's key.
/// Policy failures name the key they belong to.
pub async fn hash_many<K: Send + 'static>(passwords: Vec<(K, crate::api::Password)>) -> Result<Vec<(K, String)>> {
    hash_many_counted(passwords, Default::default()).await
}

/// [`hash_many`], counting finished hashes in `done` as it goes (for progress reports).
pub async fn hash_many_counted<K: Send + 'static>(
    passwords: Vec<(K, crate::api::Password)>,
    done: std::sync::Arc<std::sync::atomic::AtomicU32>,
) -> Result<Vec<(K, String)>> {
    if passwords.is_empty() {
        return Ok(Vec::new());
    }
    // Policy first, so a bad password fails the batch before any hashing.
    for (_, pw) in &passwords {
        check_policy(&pw.0)?;
    }
    // One pool job per hash (never one per chunk) and at most one waiting per core, so a
    // login waits for a few hashes of a big import, not for the whole of it.
    use futures::{StreamExt, TryStreamExt};
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    futures::stream::iter(passwords)
        .map(|(k, pw)| {
            let done = done.clone();
            async move {
                let hashed = POOL.run(move || hash(&pw.0)).await??;
                done.fetch_add(1, Ordering::Relaxed);
                Ok::<_, Error>((k, hashed))
            }
        })
        .buffered(cores)
        .try_collect()
        .await
}

/// Whether `password` matches the stored PHC string.
/// Any Argon2 PHC string is read (its own algorithm, version and parameters); the output
/// is compared in constant time (`Output`'s equality).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else { return false };
    let mut out = vec![0u8; expected.len()];
    compute(algorithm, version, params, password.as_bytes(), raw_salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|out| out == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("Correct horse 1").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("Correct horse 1", &phc));
        assert!(!verify("correct horse 1", &phc));
        assert_ne!(phc, hash("Correct horse 1").unwrap(), "salted");
        // The same PHC strings as the argon2 crate's own hasher, both ways.
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(Argon2::default().verify_password(b"Correct horse 1", &parsed).is_ok());
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"Other pass 22", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify("Other pass 22", &theirs));
        assert!(!verify("Other pass 23", &theirs));
        assert!(!verify("Other pass 22", "$argon2id$v=19$m=19456,t=2,p=1$bm90IGEgaGFzaA"));
        assert!(!verify("Other pass 22", "not a hash"));
    }

    /// The blocks are reused: however many computations run, at most `keep` sets stay,
    /// and they come back zeroed.
    #[test]
    fn argon2_memory_is_reused_and_bounded() {
        let sets = Arc::new(BlockSets::new(2));
        // Six at once (each waits for the others inside): six sets exist, two are kept.
        let all = Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let (sets, all) = (sets.clone(), all.clone());
                std::thread::spawn(move || {
                    sets.with(1024, |blocks| {
                        blocks[0].as_mut()[0] = i + 1;
                        all.wait();
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sets.kept(), 2);
        sets.with(1024, |blocks| assert!(blocks.iter().all(|b| b.as_ref().iter().all(|w| *w == 0))));
        assert_eq!(sets.kept(), 2);
    }

    /// The queue bound is a count, not a time: with the one worker held and the queue
    /// full, the next refusable job is refused at once while admin work still waits.
    #[tokio::test]
    async fn a_full_pool_refuses_logins_at_once_and_serves_them_again_after() {
        let pool = Arc::new(HashPool::new(1, 2));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    let _ = started.send(());
                    held.recv().ok()
                })
                .await
            }
        });
        running.await.unwrap();
        let queued: Vec<_> = (0..2)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run_or_refuse(move || i).await })
            })
            .collect();
        while pool.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run_or_refuse(|| 9).await.unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Unavailable);
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        let done: Vec<i32> =
            futures::future::try_join_all(queued).await.unwrap().into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(done, [0, 1]);
        assert_eq!(pool.run_or_refuse(|| 7).await.unwrap(), 7, "served again once the queue drained");
    }

    #[test]
    fn policy_refuses_weak_passwords() {
        assert!(check_policy("short1").unwrap_err().message.contains("too short"));
        assert!(check_policy("alllowercase").unwrap_err().message.contains("two of"));
        assert!(check_policy(&"aA".repeat(200)).unwrap_err().message.contains("too long"));
        assert!(check_policy("longer pass 9").is_ok());
    }
}
