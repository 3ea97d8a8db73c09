//! Mailbox logins (used by the SMTP, IMAP and POP3 services): password verification,
//! failed-login counting and lockout.

use super::audit::{self, Change};
use super::{Engine, now};
use crate::error::Result;
use crate::model::AccountStatus;
use crate::sql::{self, login::LoginRow};
use crate::{password, validate};
use postdesk_contract::mail::{Login, LoginRefusal};

pub use postdesk_contract::settings::DEFAULT_LOCKOUT_THRESHOLD;

impl Engine {
    /// Checks `password` for the account (or account alias) `login`. A wrong password
    /// counts towards the domain's lockout threshold; reaching it locks the account (audited).
    pub async fn verify_login(&self, login: &str, password: &str) -> Result<Login> {
        let Ok(addr) = validate::address(login) else {
            return Ok(Login::Refused(LoginRefusal::WrongCredentials));
        };
        let address = addr.full();
        let row = sql::login::account(&mut *self.read().await?, &address).await?;
        let Some(LoginRow {
            id,
            address: account,
            status,
            password_hash: hash,
            force_password_change: force,
            failed_logins: failed,
            lockout_threshold: threshold,
        }) = row
        else {
            // Spend the same time as a real check, so timing does not reveal addresses.
            let pw = password.to_string();
            let _ = tokio::task::spawn_blocking(move || password::verify(&pw, DUMMY_HASH)).await;
            return Ok(Login::Refused(LoginRefusal::WrongCredentials));
        };
        match AccountStatus::parse(&status) {
            Some(AccountStatus::Active) => {}
            Some(AccountStatus::Locked) => return Ok(Login::Refused(LoginRefusal::Locked)),
            _ => return Ok(Login::Refused(LoginRefusal::Disabled)),
        }
        let Some(hash) = hash else {
            return Ok(Login::Refused(LoginRefusal::WrongCredentials));
        };
        let pw = password.to_string();
        let matches = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
            .await
            .map_err(|e| crate::Error::internal(format!("password check failed: {e}")))?;
        let mut tx = self.write().await?;
        if matches {
            if failed > 0 {
                sql::login::clear_failures(&mut tx, id).await?;
            }
            tx.commit().await?;
            return Ok(Login::Accepted { address: account, force_password_change: force });
        }
        let failed = sql::login::count_failure(&mut tx, id).await?;
        if failed >= threshold {
            sql::login::lock(&mut tx, id, now()).await?;
            let change = Change { action: "lock_account", domain: Some(&addr.domain), target: &account };
            let after = serde_json::json!({ "status": "locked", "failed_logins": failed });
            audit::record(&mut tx, "system", change, Some(&serde_json::json!({ "status": "active" })), Some(&after))
                .await?;
        }
        tx.commit().await?;
        Ok(Login::Refused(LoginRefusal::WrongCredentials))
    }
}

/// A valid Argon2id hash of a random password, for equal-time refusals.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2cXrAVdXhq6ASuhZMfMEy0zcPQ8nQCAvDPi25XK0Ys0";
