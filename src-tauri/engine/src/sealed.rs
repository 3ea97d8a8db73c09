//! Secrets shared by the nodes of one PostgreSQL database (`postdesk --secrets-key FILE`):
//! relay, shared-mailbox and SMS-gateway secrets, sealed with ChaCha20-Poly1305 under a key every node
//! is given and the database never holds, the secret's name as associated data (a sealed
//! value moved to another name does not open). The database holds only the sealed text, so
//! a password set through one node's API is known to every node given the key.

use base64::Engine as _;
use postdesk_contract::secret::{SecretStore, Sensitive};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{Error, Result, sql};

/// A secrets key's length in bytes (written as 64 hexadecimal digits).
pub const KEY_LEN: usize = 32;

/// The most keys a secrets key file holds (the sealing key and those being retired).
pub const MAX_KEYS: usize = 8;

/// A secrets key from its text: 64 hexadecimal digits (`openssl rand -hex 32`), surrounding
/// white space ignored.
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN]> {
    let refused = || Error::validation("a secrets key is 64 hexadecimal digits (make one with: openssl rand -hex 32)");
    hex::decode(text.trim()).map_err(|_| refused())?.try_into().map_err(|_| refused())
}

/// The keys of a secrets key file: one per line, blank lines and `#` comments skipped. The
/// first seals; every one opens, so a key is changed without stopping the nodes (give every
/// node the new key after the old, then first, `postdesk secrets reseal`, then drop the old).
pub fn parse_keys(text: &str) -> Result<Vec<[u8; KEY_LEN]>> {
    let lines: Vec<&str> =
        text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
    if lines.is_empty() {
        return Err(Error::validation(
            "the secrets key file holds no key (64 hexadecimal digits: openssl rand -hex 32)",
        ));
    }
    if lines.len() > MAX_KEYS {
        return Err(Error::validation(format!("a secrets key file holds at most {MAX_KEYS} keys")));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            parse_key(line)
                .map_err(|e| Error::validation(format!("key {} of the secrets key file: {}", i + 1, e.message)))
        })
        .collect()
}

/// What [`SealedSecrets::reseal`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resealed {
    /// The secrets in the database.
    pub secrets: usize,
    /// Those that were sealed under another key and are now under the first.
    pub resealed: usize,
}

/// Secrets sealed into the shared database. Its calls block (they run on the runtime the
/// store was made on): call them from a blocking thread, as every [`SecretStore`].
pub struct SealedSecrets {
    pool: sql::Pool,
    /// The first seals; each opens.
    keys: Vec<LessSafeKey>,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for SealedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecrets").finish_non_exhaustive()
    }
}

impl SealedSecrets {
    /// The store over `pool`'s `sealed_secrets` table: `keys[0]` seals, each of `keys` opens;
    /// made inside a runtime.
    pub(crate) fn new(pool: sql::Pool, keys: &[[u8; KEY_LEN]]) -> Result<SealedSecrets> {
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(Error::validation(format!("a node is given 1 to {MAX_KEYS} secrets keys")));
        }
        let keys = keys
            .iter()
            .map(|key| {
                UnboundKey::new(&CHACHA20_POLY1305, key)
                    .map(LessSafeKey::new)
                    .map_err(|_| Error::internal("unusable secrets key"))
            })
            .collect::<Result<Vec<_>>>()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("the sealed secrets store is made inside a runtime"))?;
        Ok(SealedSecrets { pool, keys, runtime })
    }

    /// Seals every secret in the database under the first key, in one transaction: after it,
    /// the keys after the first may be dropped. A secret that opens under none of the keys
    /// refuses the whole (named), and nothing changes.
    pub async fn reseal(&self) -> Result<Resealed> {
        let mut tx = sql::begin_write(&self.pool).await?;
        let stored = sql::secrets::all_for_update(&mut tx).await?;
        let mut resealed = 0;
        for (name, text) in &stored {
            let (index, secret) = self.open_at(name, text)?;
            if index > 0 {
                sql::secrets::set(&mut tx, name, &self.seal(name, secret.expose())?).await?;
                resealed += 1;
            }
        }
        tx.commit().await?;
        Ok(Resealed { secrets: stored.len(), resealed })
    }

    /// `secret` sealed for `name`: base64 of a random nonce, the ciphertext and its tag.
    fn seal(&self, name: &str, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.keys[0]
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| Error::internal("cannot seal a secret"))?;
        let mut text = nonce.to_vec();
        text.append(&mut sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(text))
    }

    /// The secret `name` sealed as `text`; refused when no key of this node sealed it for `name`.
    fn open(&self, name: &str, text: &str) -> Result<Sensitive<String>> {
        self.open_at(name, text).map(|(_, secret)| secret)
    }

    /// The secret `name` sealed as `text`, and the index of the key that opened it.
    fn open_at(&self, name: &str, text: &str) -> Result<(usize, Sensitive<String>)> {
        let refused = || {
            Error::unavailable(format!(
                "the secret {name} does not open with this node's secrets key: every node needs the key it was sealed with"
            ))
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        for (index, key) in self.keys.iter().enumerate() {
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
            let mut sealed = sealed.to_vec();
            if let Ok(secret) = key.open_in_place(nonce, Aad::from(name.as_bytes()), &mut sealed) {
                return String::from_utf8(secret.to_vec()).map(|s| (index, Sensitive(s))).map_err(|_| refused());
            }
        }
        Err(refused())
    }
}

impl SecretStore for SealedSecrets {
    fn get(&self, name: &str) -> Result<Option<Sensitive<String>>> {
        let sealed = self.runtime.block_on(async {
            let mut conn = sql::read(&self.pool).await?;
            sql::secrets::get(&mut conn, name).await
        })?;
        sealed.map(|text| self.open(name, &text)).transpose()
    }

    // A write is one statement on a connection of its own, committed by itself, not under the
    // database-wide write lock: the caller's write transaction holds that lock while it sets
    // the secret (a relay's row and its secret change together, `relay::set`), as it writes
    // the data folder's file.
    fn set(&self, name: &str, secret: &Sensitive<String>) -> Result<()> {
        let sealed = self.seal(name, secret.expose())?;
        self.runtime.block_on(async {
            let mut conn = sql::read(&self.pool).await?;
            sql::secrets::set(&mut conn, name, &sealed).await
        })
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.runtime.block_on(async {
            let mut conn = sql::read(&self.pool).await?;
            sql::secrets::delete(&mut conn, name).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_holds_the_sealing_key_first_then_those_being_retired() {
        let text = format!("# sealing\n{}\n\n  {}  \n# retired\n", "a1".repeat(32), "5d".repeat(32));
        assert_eq!(parse_keys(&text).unwrap(), vec![[0xa1; KEY_LEN], [0x5d; KEY_LEN]]);
        assert!(parse_keys("# nothing\n\n").unwrap_err().message.contains("holds no key"));
        let bad = format!("{}\n{}\n", "a1".repeat(32), "a1".repeat(31));
        assert!(
            parse_keys(&bad).unwrap_err().message.starts_with("key 2 of the secrets key file: a secrets key is 64")
        );
        let many = format!("{}\n", "a1".repeat(32)).repeat(MAX_KEYS + 1);
        assert!(parse_keys(&many).unwrap_err().message.contains("at most 8 keys"));
        assert_eq!(parse_keys(&many[..65 * MAX_KEYS]).unwrap().len(), MAX_KEYS);
    }
}
