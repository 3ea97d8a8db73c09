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

/// A secrets key from its text: 64 hexadecimal digits (`openssl rand -hex 32`), surrounding
/// white space ignored.
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN]> {
    let refused = || Error::validation("a secrets key is 64 hexadecimal digits (make one with: openssl rand -hex 32)");
    hex::decode(text.trim()).map_err(|_| refused())?.try_into().map_err(|_| refused())
}

/// Secrets sealed into the shared database. Its calls block (they run on the runtime the
/// store was made on): call them from a blocking thread, as every [`SecretStore`].
pub struct SealedSecrets {
    pool: sql::Pool,
    key: LessSafeKey,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for SealedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecrets").finish_non_exhaustive()
    }
}

impl SealedSecrets {
    /// The store over `pool`'s `sealed_secrets` table with `key`; made inside a runtime.
    pub(crate) fn new(pool: sql::Pool, key: &[u8; KEY_LEN]) -> Result<SealedSecrets> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| Error::internal("unusable secrets key"))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("the sealed secrets store is made inside a runtime"))?;
        Ok(SealedSecrets { pool, key: LessSafeKey::new(key), runtime })
    }

    /// `secret` sealed for `name`: base64 of a random nonce, the ciphertext and its tag.
    fn seal(&self, name: &str, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| Error::internal("no randomness for a nonce"))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| Error::internal("cannot seal a secret"))?;
        let mut text = nonce.to_vec();
        text.append(&mut sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(text))
    }

    /// The secret `name` sealed as `text`; refused when this key did not seal it for `name`.
    fn open(&self, name: &str, text: &str) -> Result<Sensitive<String>> {
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
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut sealed = sealed.to_vec();
        let secret = self.key.open_in_place(nonce, Aad::from(name.as_bytes()), &mut sealed).map_err(|_| refused())?;
        String::from_utf8(secret.to_vec()).map(Sensitive).map_err(|_| refused())
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
