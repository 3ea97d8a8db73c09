//! Forwarding to other domains: the Sender Rewriting Scheme.
//!
//! Mail an address of ours passes on to another domain (an alias's external target, and
//! any forward a mailbox makes) keeps the original sender in its header but not in its
//! envelope: a receiver checking SPF would see our server sending for the original
//! sender's domain and fail it. So the forwarded copy leaves with
//! `SRS0=<hmac>=<day>=<domain>=<local>@<forwarding domain>` (mailrs-srs, HMAC-SHA256 under
//! a key made on first use and kept in the database, `srs_secret`), which our domain's SPF
//! covers. A bounce coming back to such an address is resolved (in `addresses.rs`) to the
//! original sender when its HMAC verifies and it is at most [`SRS_WINDOW_DAYS`] old, and
//! only then; anything else at an `SRS0=` address is unknown, so the return path is no
//! open relay.
//!
//! Addresses are rewritten lower-cased: our SMTP service lower-cases local parts when it
//! reads an address, and the HMAC covers the local part.

use rand::RngCore;

use super::Engine;
use super::sql::{self, Conn};
use crate::Result;

/// How long a rewritten sender leads back to its original sender (days).
pub const SRS_WINDOW_DAYS: u32 = 14;

impl Engine {
    /// The envelope sender for a copy of a message from `original` that an address of
    /// `forwarding_domain` (ours) forwards to another domain: `original` itself when it is
    /// empty (a bounce) or of one of our domains, else its SRS rewriting.
    pub async fn forward_sender(&self, original: &str, forwarding_domain: &str) -> Result<String> {
        let original = original.trim();
        let Some((_, domain)) = original.rsplit_once('@') else { return Ok(original.to_string()) };
        if self.is_local_domain(domain).await? {
            return Ok(original.to_string());
        }
        let secret = self.srs_secret().await?;
        let forwarding = forwarding_domain.to_ascii_lowercase();
        Ok(mailrs_srs::rewrite(&original.to_lowercase(), &forwarding, &secret))
    }

    /// The SRS key, made on first use.
    async fn srs_secret(&self) -> Result<String> {
        if let Some(s) = sql::rules::srs_secret(&mut *self.read().await?).await? {
            return Ok(s);
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let mut tx = self.write().await?;
        let kept = sql::rules::keep_srs_secret(&mut tx, &hex::encode(key), &super::now()).await?;
        tx.commit().await?;
        Ok(kept)
    }
}

/// The original sender an SRS address of ours (`local` its lower-cased local part) leads
/// back to, when it is one we made within [`SRS_WINDOW_DAYS`].
pub(crate) async fn srs_return(conn: &mut Conn, local: &str, domain: &str) -> Result<Option<String>> {
    let Some(rest) = local.strip_prefix("srs0=") else { return Ok(None) };
    let Some(secret) = sql::rules::srs_secret(conn).await? else { return Ok(None) };
    Ok(mailrs_srs::reverse(&format!("SRS0={rest}@{domain}"), &secret, SRS_WINDOW_DAYS))
}
