//! Password hashing: Argon2id with the OWASP-recommended parameters
//! (m = 19 MiB, t = 2, p = 1), PHC strings in the database, nothing else anywhere.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_LENGTH: usize = 256;

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
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
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

/// Hashes on the blocking pool so the async workers stay responsive.
pub async fn hash_async(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))?
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
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = passwords.len().div_ceil(cores);
    let mut chunks: Vec<Vec<(K, crate::api::Password)>> = Vec::new();
    let mut rest = passwords;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let done = done.clone();
            tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(k, pw)| {
                        let hashed = hash(&pw.0).map(|h| (k, h));
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        hashed
                    })
                    .collect::<Result<Vec<_>>>()
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.map_err(|e| Error::internal(format!("password hashing task failed: {e}")))??);
    }
    Ok(out)
}

/// Whether `password` matches the stored PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
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
    }

    #[test]
    fn policy_refuses_weak_passwords() {
        assert!(check_policy("short1").unwrap_err().message.contains("too short"));
        assert!(check_policy("alllowercase").unwrap_err().message.contains("two of"));
        assert!(check_policy(&"aA".repeat(200)).unwrap_err().message.contains("too long"));
        assert!(check_policy("longer pass 9").is_ok());
    }
}
