//! The user self-service portal: a mailbox user signs in with address and password into a
//! server-side session of its own kind, changes the password (forced at first logon when the
//! admin asked for it), sets the mailbox's auto-reply, and reads the mailbox's storage use
//! and client settings.
//!
//! The password check is the mail services' ([`Engine::verify_login`] with
//! `LoginService::Portal`): the account's status, its domain's lockout threshold (a client
//! that reached it is kept out unchecked), the dummy-hash work for unknown addresses and the
//! login log all apply as they do to IMAP. On top, failures are counted per address given and
//! per client address (IPv4, IPv6 /64) over [`WINDOW_SECS`] like the admin sign-in, and every
//! sign-in, failure and refusal is audited (actor `portal`).
//!
//! Kept apart from the admin API: a portal secret is `pu_<id>_<secret>` in `portal_sessions`
//! and is accepted only by [`Engine::portal_session_at`]; admin sessions (`ps_…`,
//! `admin_sessions`) and API tokens (`pd_…`, `api_tokens`) are never looked up here, and no
//! portal secret is accepted by `Engine::session_at` or `Engine::authenticate`.

use std::net::IpAddr;

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, password};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use postdesk_contract::autoreply::AutoReply;
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};

/// The window failed portal sign-ins are counted over (15 minutes).
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one address within the window after which it is refused unchecked.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 10;
/// Failures from one client address within the window after which it is refused.
pub const MAX_FAILURES_PER_CLIENT: i64 = 30;
/// Sessions one account keeps at most (the oldest end first).
const MAX_SESSIONS_PER_ACCOUNT: u32 = 20;
/// Failures kept at most, whatever the window.
const MAX_FAILURE_ROWS: i64 = 100_000;
/// A session's last use is written at most this often.
const TOUCH_SECS: i64 = 30;
/// The longest address kept as given in the counters and the audit.
const MAX_ADDRESS: usize = 320;

const WRONG: &str = "wrong address or password";
/// The actor of portal events in the audit.
const ACTOR: &str = "portal";

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// An address as counted and audited: trimmed, lower case, no control characters, bounded.
fn address_key(address: &str) -> String {
    address.trim().chars().filter(|c| !c.is_control()).flat_map(char::to_lowercase).take(MAX_ADDRESS).collect()
}

fn client_key(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_string(), crate::login::client_key)
}

#[derive(serde::Serialize)]
struct Event<'a> {
    client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// Audits a portal event about `address`, under its domain when that is one of ours (so the
/// domain's admins see it).
async fn audit_event(conn: &mut Conn, action: &str, address: &str, event: &Event<'_>) -> Result<()> {
    let domain = match address.rsplit_once('@') {
        Some((_, d)) if sql::domains::id_by_name(&mut *conn, d).await?.is_some() => Some(d.to_string()),
        _ => None,
    };
    let change = Change { action, domain: domain.as_deref(), target: address };
    audit::record::<(), _>(conn, ACTOR, change, None, Some(event)).await
}

fn session_answer(address: &str, csrf: String, force: bool, idle_minutes: u32, expires_at: i64) -> PortalSession {
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    PortalSession {
        address: address.to_string(),
        csrf_token: csrf,
        must_change_password: force,
        idle_minutes,
        expires_at: super::format_time(expires),
        must_bind_phone: false,
    }
}

impl Engine {
    /// Refuses an address or client past its failures, auditing the refusal.
    async fn portal_rate_limit(&self, address: &str, client: &str, now: i64) -> Result<()> {
        let (by_address, by_client) =
            sql::portal::failures(&mut *self.read().await?, address, client, now - WINDOW_SECS).await?;
        if by_address < MAX_FAILURES_PER_ADDRESS && by_client < MAX_FAILURES_PER_CLIENT {
            return Ok(());
        }
        let reason = if by_address >= MAX_FAILURES_PER_ADDRESS {
            "too_many_failures_for_address"
        } else {
            "too_many_failures_from_client"
        };
        let mut tx = self.write().await?;
        audit_event(&mut tx, "portal_sign_in_refused", address, &Event { client, reason: Some(reason) }).await?;
        tx.commit().await?;
        Err(Error::limit_exceeded(format!(
            "too many failed sign-ins for this address or from this computer; try again in {} minutes",
            WINDOW_SECS / 60
        )))
    }

    /// Counts and audits a failure (`action`); the error to answer.
    async fn portal_failed(
        &self,
        action: &str,
        address: &str,
        client: &str,
        reason: &str,
        now: i64,
        answer: Error,
    ) -> Result<Error> {
        let mut tx = self.write().await?;
        sql::portal::record_failure(&mut tx, address, client, now, now - WINDOW_SECS, MAX_FAILURE_ROWS).await?;
        audit_event(&mut tx, action, address, &Event { client, reason: Some(reason) }).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Signs a mailbox user in to the portal with `address` and `password` from `client` at
    /// `now` (Unix seconds; the account's own client lockout follows the real clock).
    pub async fn portal_sign_in_at(
        &self,
        address: &str,
        password: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<PortalStep> {
        let key = address_key(address);
        let client_text = client_key(client);
        if key.is_empty() {
            return Err(Error::validation("enter your email address").with_field("address"));
        }
        self.portal_rate_limit(&key, &client_text, now).await?;
        if password.len() > password::MAX_LENGTH {
            return Err(Error::validation(format!("a password has at most {} characters", password::MAX_LENGTH))
                .with_field("password"));
        }
        let ip = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let attempt = LoginAttempt { login: &key, password, service: LoginService::Portal, client: ip };
        let (login, reason) = self.verify_login_why(attempt).await?;
        let refusal = match login {
            Login::Accepted { address, force_password_change } => {
                return self.open_portal_session(&address, force_password_change, &client_text, now).await;
            }
            Login::Refused(LoginRefusal::WrongCredentials) => {
                let answer = Error::unauthenticated(WRONG);
                return Err(self
                    .portal_failed("portal_sign_in_failed", &key, &client_text, reason, now, answer)
                    .await?);
            }
            // The password was right: say what is wrong, as the mail services do.
            Login::Refused(LoginRefusal::Locked) => {
                "this account is locked; ask your administrator to unlock it or reset its password"
            }
            Login::Refused(LoginRefusal::Disabled) => "this account is disabled; ask your administrator",
            Login::Refused(LoginRefusal::ServiceDisabled | LoginRefusal::PasswordChangeRequired) => {
                "no mail service (IMAP, POP3 or SMTP) is switched on for this account; ask your administrator"
            }
        };
        let mut tx = self.write().await?;
        audit_event(&mut tx, "portal_sign_in_refused", &key, &Event { client: &client_text, reason: Some(reason) })
            .await?;
        tx.commit().await?;
        Err(Error::permission_denied(refusal))
    }

    async fn open_portal_session(&self, address: &str, force: bool, client: &str, now: i64) -> Result<PortalStep> {
        let mut tx = self.write().await?;
        let (account_id, _) = sql::portal::credentials(&mut tx, address)
            .await?
            .ok_or_else(|| Error::internal(format!("account {address} vanished while signing in")))?;
        let policy = sql::signin::policy(&mut tx).await?;
        let id = random_hex(6);
        let secret = format!("pu_{id}_{}", random_hex(32));
        let csrf = random_hex(16);
        let expires_at = now + i64::from(policy.absolute_minutes) * 60;
        let row = sql::portal::NewSession {
            id: &id,
            secret_hash: &sha256_hex(&secret),
            account_id,
            csrf: &csrf,
            client,
            now,
            expires_at,
        };
        sql::portal::insert_session(&mut tx, row, MAX_SESSIONS_PER_ACCOUNT).await?;
        sql::portal::clear_failures(&mut tx, address).await?;
        let reason = force.then_some("password_change_pending");
        audit_event(&mut tx, "portal_sign_in", address, &Event { client, reason }).await?;
        tx.commit().await?;
        let answer = session_answer(address, csrf, force, policy.idle_minutes, expires_at);
        Ok(PortalStep { answer: self.with_phone_demand(answer).await?, session_secret: secret })
    }

    /// The user of the portal session `secret` at `now`, its idle time restarted. A session
    /// ends past the policy's idle or absolute time, and when an admin locked, disabled or
    /// deleted the account since.
    pub async fn portal_session_at(&self, secret: &str, now: i64) -> Result<(PortalUser, PortalSession)> {
        let unknown = || Error::unauthenticated("not signed in (the session ended or was signed out); sign in again");
        if !secret.starts_with("pu_") || secret.len() > 200 {
            return Err(unknown());
        }
        let mut conn = self.read().await?;
        let row = sql::portal::session(&mut conn, &sha256_hex(secret)).await?.ok_or_else(unknown)?;
        let policy = sql::signin::policy(&mut conn).await?;
        drop(conn);
        let ended = if now >= row.expires_at {
            Some(format!("your session reached its time limit ({} minutes); sign in again", policy.absolute_minutes))
        } else if now - row.last_seen_at > i64::from(policy.idle_minutes) * 60 {
            Some(format!("your session ended after {} minutes without use; sign in again", policy.idle_minutes))
        } else if row.status != AccountStatus::Active.as_str() {
            Some(format!("your account is {} now; ask your administrator", row.status))
        } else {
            None
        };
        if let Some(why) = ended {
            let mut tx = self.write().await?;
            sql::portal::delete_session(&mut tx, &row.id).await?;
            tx.commit().await?;
            return Err(Error::unauthenticated(why));
        }
        if now - row.last_seen_at >= TOUCH_SECS {
            sql::portal::touch_session(&self.pool, &row.id, now).await?;
        }
        let user = PortalUser { address: row.address.clone(), session: row.id };
        let answer =
            session_answer(&row.address, row.csrf, row.force_password_change, policy.idle_minutes, row.expires_at);
        Ok((user, self.with_phone_demand(answer).await?))
    }

    /// Ends the portal session `secret` (nothing when it is not one).
    pub async fn portal_sign_out(&self, secret: &str) -> Result<()> {
        if !secret.starts_with("pu_") || secret.len() > 200 {
            return Ok(());
        }
        let mut tx = self.write().await?;
        if let Some(row) = sql::portal::session(&mut tx, &sha256_hex(secret)).await? {
            sql::portal::delete_session(&mut tx, &row.id).await?;
            audit_event(&mut tx, "portal_sign_out", &row.address, &Event { client: "-", reason: None }).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's change of their own password at `now`: the current one must be right (a
    /// wrong one counts as a failed sign-in), the new one passes the password policy and
    /// differs from it. Clears the first-logon demand and ends the user's other sessions.
    pub async fn portal_change_password_at(
        &self,
        user: &PortalUser,
        change: ChangeOwnPassword,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<PortalSession> {
        let client = client_key(client);
        self.portal_rate_limit(&user.address, &client, now).await?;
        let (current, new) = (change.current_password.0, change.new_password.0);
        if current.len() > password::MAX_LENGTH {
            return Err(Error::validation("the current password is wrong").with_field("current_password"));
        }
        password::check_policy(&new).map_err(|e| e.with_field("new_password"))?;
        let gone = || Error::unauthenticated("your account no longer exists; sign in again");
        let (_, hash) = sql::portal::credentials(&mut *self.read().await?, &user.address).await?.ok_or_else(gone)?;
        let right = match hash {
            Some(hash) => password::verify_login(current.clone(), hash).await?,
            None => false,
        };
        if !right {
            let answer = Error::validation("the current password is wrong").with_field("current_password");
            let action = "portal_change_password_failed";
            return Err(self.portal_failed(action, &user.address, &client, "wrong_password", now, answer).await?);
        }
        if new == current {
            return Err(
                Error::validation("the new password must differ from the current one").with_field("new_password")
            );
        }
        let hash = password::hash_async(new).await.map_err(|e| e.with_field("new_password"))?;
        let mut tx = self.write().await?;
        let (account_id, _) = sql::portal::credentials(&mut tx, &user.address).await?.ok_or_else(gone)?;
        let before = sql::portal::force_password_change(&mut tx, account_id).await?;
        sql::accounts::set_password(&mut tx, account_id, &hash, Some(false), &super::now()).await?;
        let ended = sql::portal::delete_sessions_of(&mut tx, account_id, Some(&user.session)).await?;
        let domain = user.address.rsplit_once('@').map(|(_, d)| d.to_string());
        let change = Change { action: "portal_change_password", domain: domain.as_deref(), target: &user.address };
        let after =
            serde_json::json!({ "force_password_change": false, "client": client, "other_sessions_ended": ended });
        let before = serde_json::json!({ "force_password_change": before });
        audit::record(&mut tx, ACTOR, change, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        let row = sql::portal::session_by_id(&mut *self.read().await?, &user.session).await?;
        let row = row.ok_or_else(|| Error::unauthenticated("your session ended; sign in again"))?;
        let policy = sql::signin::policy(&mut *self.read().await?).await?;
        let answer =
            session_answer(&row.address, row.csrf, row.force_password_change, policy.idle_minutes, row.expires_at);
        self.with_phone_demand(answer).await
    }

    /// The user's account id; refused while the admin's first-logon password change is
    /// pending (as every portal page but the change itself), and while a required phone is
    /// not bound (every page but the phone's, `phone.rs`).
    async fn portal_account_id(&self, user: &PortalUser) -> Result<i64> {
        let gone = || Error::unauthenticated("your account no longer exists; sign in again");
        let (account_id, _) =
            sql::portal::credentials(&mut *self.read().await?, &user.address).await?.ok_or_else(gone)?;
        if sql::portal::force_password_change(&mut *self.read().await?, account_id).await? {
            return Err(Error::permission_denied("set a new password first: your administrator asked for one"));
        }
        self.refuse_unbound_phone(account_id).await?;
        Ok(account_id)
    }

    /// The user's own mailbox: storage use and the client settings of the services that
    /// run. Refused while the admin's first-logon password change is pending.
    pub async fn portal_own_account(&self, user: &PortalUser) -> Result<PortalAccount> {
        self.portal_account_id(user).await?;
        let local = self.local_backend();
        let account = local.get_account(GetAccount { address: user.address.clone() }).await?;
        let view = local.get_mailbox(GetMailbox { address: user.address.clone() }).await?;
        Ok(PortalAccount {
            address: view.address,
            display_name: account.display_name,
            quota_mb: view.quota_mb,
            used_bytes: view.used_bytes,
            messages: view.messages,
            client: view.client,
            client_note: view.client_note,
        })
    }
}

#[async_trait::async_trait]
impl Portal for Engine {
    async fn sign_in(&self, address: &str, password: &Password, client: Option<IpAddr>) -> Result<PortalStep> {
        self.portal_sign_in_at(address, &password.0, client, unix_now()).await
    }
    async fn session(&self, secret: &str) -> Result<(PortalUser, PortalSession)> {
        self.portal_session_at(secret, unix_now()).await
    }
    async fn sign_out(&self, secret: &str) -> Result<()> {
        self.portal_sign_out(secret).await
    }
    async fn change_own_password(
        &self,
        user: &PortalUser,
        change: ChangeOwnPassword,
        client: Option<IpAddr>,
    ) -> Result<PortalSession> {
        self.portal_change_password_at(user, change, client, unix_now()).await
    }
    async fn own_account(&self, user: &PortalUser) -> Result<PortalAccount> {
        self.portal_own_account(user).await
    }
    async fn own_auto_reply(&self, user: &PortalUser) -> Result<AutoReply> {
        let account_id = self.portal_account_id(user).await?;
        crate::autoreply::get(&mut *self.read().await?, account_id).await
    }
    async fn set_own_auto_reply(&self, user: &PortalUser, reply: AutoReply) -> Result<AutoReply> {
        let reply = crate::autoreply::checked(reply)?;
        let account_id = self.portal_account_id(user).await?;
        let mut tx = self.write().await?;
        let before = crate::autoreply::get(&mut tx, account_id).await?;
        let after = crate::autoreply::set(&mut tx, account_id, reply).await?;
        let domain = user.address.rsplit_once('@').map(|(_, d)| d.to_string());
        let change = Change { action: "portal_set_auto_reply", domain: domain.as_deref(), target: &user.address };
        audit::record(&mut tx, ACTOR, change, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_trimmed_lower_case_and_bounded() {
        assert_eq!(address_key("  Ann@Example.COM\r\n"), "ann@example.com");
        assert_eq!(address_key(&"a".repeat(1000)).len(), MAX_ADDRESS);
    }
}
