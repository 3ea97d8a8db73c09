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
//! Security questions: a user sets three (question in their own words, answer kept only as
//! an Argon2id hash of [`normalise_answer`]), required first when the account's effective
//! `require_security_questions` applies (after the first-logon password change). Without a
//! session, a forgotten password is recovered with the answers: the questions of an unknown
//! address, or of one without questions, are three stand-ins picked by an HMAC of the address
//! (the installation's `portal_recovery_key`), the same each time; every try checks three
//! hashes; wrong answers count with the failed sign-ins (per address, per client) and are
//! refused unchecked past the limit; locked and disabled are said only after right answers.
//!
//! Kept apart from the admin API: a portal secret is `pu_<id>_<secret>` in `portal_sessions`
//! and is accepted only by [`Engine::portal_session_at`]; admin sessions (`ps_…`,
//! `admin_sessions`) and API tokens (`pd_…`, `api_tokens`) are never looked up here, and no
//! portal secret is accepted by `Engine::session_at` or `Engine::authenticate`.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, password};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use postdesk_contract::autoreply::AutoReply;
use postdesk_contract::forwarding::{OwnForwarding, SetForwarding};
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
/// The one answer to wrong recovery answers, whatever was wrong.
const WRONG_ANSWERS: &str = "the answers do not match this address's security questions";

/// Security questions an account sets.
pub const SECURITY_QUESTIONS: usize = 3;
/// Characters of a question (white space collapsed), at least and at most.
const QUESTION_CHARS: (usize, usize) = (3, 200);
/// Characters of a normalised answer, at least and at most.
const ANSWER_CHARS: (usize, usize) = (2, 100);
/// Bytes of an answer as typed, at most (before it is normalised).
const MAX_ANSWER_BYTES: usize = 1000;

/// Where the stand-in questions of an address without any come from (the kind of question
/// users choose, so the stand-ins look like real ones).
const STAND_INS: [&str; 12] = [
    "What was the name of your first pet?",
    "In which city were you born?",
    "What was the name of your primary school?",
    "What is your mother's maiden name?",
    "What was the make of your first car?",
    "What is the name of the street you grew up on?",
    "What was your childhood nickname?",
    "What is the middle name of your oldest sibling?",
    "In which city did your parents meet?",
    "What was the name of your first employer?",
    "What is your favourite book?",
    "What was the first concert you went to?",
];

/// An answer as compared: lower case, without any white space ("Big Ben" is "BigBen").
pub fn normalise_answer(answer: &str) -> String {
    answer.split_whitespace().collect::<String>().to_lowercase()
}

/// An answer as it was compared before white space stopped counting at all: every run of it
/// one space, trimmed. Answers stored then were hashed in this form.
fn legacy_answer(answer: &str) -> String {
    answer.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether each typed answer matches its stored hash, `(typed, hash)`: in today's form, or,
/// where that fails and the older form differs, in the older form (hashes stored before still
/// verify when the answer is typed as then).
async fn answers_match(pairs: Vec<(String, String)>) -> Result<Vec<bool>> {
    let now = pairs.iter().map(|(typed, hash)| (normalise_answer(typed), hash.clone())).collect();
    let mut results = password::verify_all(now).await?;
    let (at, legacy): (Vec<usize>, Vec<(String, String)>) = pairs
        .into_iter()
        .enumerate()
        .filter(|(i, (typed, _))| !results[*i] && legacy_answer(typed) != normalise_answer(typed))
        .map(|(i, (typed, hash))| (i, (legacy_answer(&typed), hash)))
        .unzip();
    if !legacy.is_empty() {
        for (i, right) in at.into_iter().zip(password::verify_all(legacy).await?) {
            results[i] = right;
        }
    }
    Ok(results)
}

/// Three distinct stand-in questions for `address`, picked by HMAC-SHA256 under `key`.
fn stand_in_questions(key: &str, address: &str) -> Vec<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"portal-recovery-questions\0");
    mac.update(address.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut pool: Vec<&str> = STAND_INS.to_vec();
    (0..SECURITY_QUESTIONS)
        .map(|i| {
            let pick = u16::from_be_bytes([digest[2 * i], digest[2 * i + 1]]) as usize % pool.len();
            pool.remove(pick).to_string()
        })
        .collect()
}

/// The questions and normalised answers of a user's setting, checked: exactly three, each
/// question 3 to 200 characters and unlike the others, each answer 2 to 100 characters.
fn checked_questions(questions: &[SecurityAnswer]) -> Result<Vec<(String, String)>> {
    if questions.len() != SECURITY_QUESTIONS {
        return Err(Error::validation(format!(
            "set exactly {SECURITY_QUESTIONS} security questions ({} given)",
            questions.len()
        ))
        .with_field("questions"));
    }
    let mut checked: Vec<(String, String)> = Vec::with_capacity(SECURITY_QUESTIONS);
    for (i, q) in questions.iter().enumerate() {
        let n = i + 1;
        let question = q.question.split_whitespace().collect::<Vec<_>>().join(" ");
        let field = format!("question_{n}");
        let chars = question.chars().count();
        if question.chars().any(char::is_control) {
            return Err(Error::validation(format!("question {n} has control characters")).with_field(field));
        }
        if chars < QUESTION_CHARS.0 {
            return Err(Error::validation(format!(
                "question {n} is too short: at least {} characters",
                QUESTION_CHARS.0
            ))
            .with_field(field));
        }
        if chars > QUESTION_CHARS.1 {
            return Err(Error::validation(format!(
                "question {n} is too long: at most {} characters",
                QUESTION_CHARS.1
            ))
            .with_field(field));
        }
        if let Some(same) = checked.iter().position(|(other, _)| normalise_answer(other) == normalise_answer(&question))
        {
            return Err(
                Error::validation(format!("question {n} is the same as question {}", same + 1)).with_field(field)
            );
        }
        let field = format!("answer_{n}");
        let answer = normalise_answer(&q.answer.0);
        let chars = answer.chars().count();
        if chars < ANSWER_CHARS.0 {
            return Err(Error::validation(format!(
                "answer {n} is too short: at least {} characters (case and spaces do not count)",
                ANSWER_CHARS.0
            ))
            .with_field(field));
        }
        if chars > ANSWER_CHARS.1 || q.answer.0.len() > MAX_ANSWER_BYTES {
            return Err(Error::validation(format!("answer {n} is too long: at most {} characters", ANSWER_CHARS.1))
                .with_field(field));
        }
        checked.push((question, answer));
    }
    Ok(checked)
}

/// Whether the account must set security questions before anything else (none set, and its
/// effective settings require them).
async fn must_set_questions(conn: &mut Conn, account_id: i64, set: bool) -> Result<bool> {
    if set {
        return Ok(false);
    }
    Ok(crate::settings::effective(conn, account_id).await?.values.require_security_questions.value)
}
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

/// What a session answers: its account, anti-CSRF token, pending demands and times.
struct Answer<'a> {
    address: &'a str,
    csrf: String,
    force: bool,
    must_set_questions: bool,
    idle_minutes: u32,
    expires_at: i64,
}

fn session_answer(a: Answer<'_>) -> PortalSession {
    let Answer { address, csrf, force, must_set_questions, idle_minutes, expires_at } = a;
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    PortalSession {
        address: address.to_string(),
        csrf_token: csrf,
        must_change_password: force,
        must_set_security_questions: must_set_questions,
        idle_minutes,
        expires_at: super::format_time(expires),
        must_bind_phone: false,
    }
}

impl Engine {
    /// Refuses an address or client past its failures, auditing the refusal.
    async fn portal_rate_limit(&self, address: &str, client: &str, now: i64) -> Result<()> {
        self.portal_rate_limit_for("portal_sign_in_refused", address, client, now).await
    }

    /// Refuses an address or client past its failures, auditing the refusal as `action`.
    async fn portal_rate_limit_for(&self, action: &str, address: &str, client: &str, now: i64) -> Result<()> {
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
        audit_event(&mut tx, action, address, &Event { client, reason: Some(reason) }).await?;
        tx.commit().await?;
        Err(Error::limit_exceeded(format!(
            "too many failed tries for this address or from this computer; try again in {} minutes",
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
        let set = sql::portal::account_state(&mut tx, account_id).await?.is_some_and(|(_, set)| set);
        let must_set_questions = must_set_questions(&mut tx, account_id, set).await?;
        let reason = if force {
            Some("password_change_pending")
        } else {
            must_set_questions.then_some("security_questions_pending")
        };
        audit_event(&mut tx, "portal_sign_in", address, &Event { client, reason }).await?;
        tx.commit().await?;
        let answer = Answer { address, csrf, force, must_set_questions, idle_minutes: policy.idle_minutes, expires_at };
        Ok(PortalStep { answer: self.with_phone_demand(session_answer(answer)).await?, session_secret: secret })
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
        let answer = self.session_row_answer(&row, policy.idle_minutes).await?;
        let user = PortalUser { address: row.address, session: row.id };
        Ok((user, answer))
    }

    async fn session_row_answer(&self, row: &sql::portal::SessionRow, idle_minutes: u32) -> Result<PortalSession> {
        let must_set_questions =
            must_set_questions(&mut *self.read().await?, row.account_id, row.security_questions_set).await?;
        let answer = session_answer(Answer {
            address: &row.address,
            csrf: row.csrf.clone(),
            force: row.force_password_change,
            must_set_questions,
            idle_minutes,
            expires_at: row.expires_at,
        });
        self.with_phone_demand(answer).await
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
        self.session_row_answer(&row, policy.idle_minutes).await
    }

    /// The user's account id and password hash; refused while the admin's first-logon
    /// password change is pending (as every portal page but the change itself).
    async fn portal_credentials(&self, user: &PortalUser) -> Result<(i64, Option<String>)> {
        let gone = || Error::unauthenticated("your account no longer exists; sign in again");
        let mut conn = self.read().await?;
        let (account_id, hash) = sql::portal::credentials(&mut conn, &user.address).await?.ok_or_else(gone)?;
        if sql::portal::force_password_change(&mut conn, account_id).await? {
            return Err(Error::permission_denied("set a new password first: your administrator asked for one"));
        }
        Ok((account_id, hash))
    }

    /// The user's account id; refused while the admin's first-logon password change is
    /// pending, then while required security questions are not set, then while a required
    /// phone is not bound (as every portal page but those three, `phone.rs`).
    pub(crate) async fn portal_account_id(&self, user: &PortalUser) -> Result<i64> {
        let (account_id, _) = self.portal_credentials(user).await?;
        let mut conn = self.read().await?;
        let set = sql::portal::account_state(&mut conn, account_id).await?.is_some_and(|(_, set)| set);
        if must_set_questions(&mut conn, account_id, set).await? {
            return Err(Error::permission_denied(
                "set your security questions first: your administrator requires them",
            ));
        }
        self.refuse_unbound_phone(account_id).await?;
        Ok(account_id)
    }

    /// The user's own security questions (never the answers) and whether they are required.
    /// Refused while the first-logon password change is pending.
    pub async fn portal_security_questions(&self, user: &PortalUser) -> Result<PortalSecurityQuestions> {
        let (account_id, _) = self.portal_credentials(user).await?;
        let mut conn = self.read().await?;
        let required = crate::settings::effective(&mut conn, account_id).await?.values.require_security_questions.value;
        let questions =
            sql::portal::security_questions(&mut conn, account_id).await?.into_iter().map(|(q, _)| q).collect();
        Ok(PortalSecurityQuestions { required, questions })
    }

    /// Sets the user's own security questions at `now`, replacing those set before: the
    /// current password required (a wrong one counts as a failed sign-in), the questions
    /// checked by [`checked_questions`]. Audited without the answers.
    pub async fn portal_set_security_questions_at(
        &self,
        user: &PortalUser,
        set: SetSecurityQuestions,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<PortalSecurityQuestions> {
        let client = client_key(client);
        self.portal_rate_limit(&user.address, &client, now).await?;
        let (account_id, hash) = self.portal_credentials(user).await?;
        let current = set.current_password.0;
        let wrong = || Error::validation("the current password is wrong").with_field("current_password");
        if current.len() > password::MAX_LENGTH {
            return Err(wrong());
        }
        let checked = checked_questions(&set.questions)?;
        let right = match hash {
            Some(hash) => password::verify_login(current, hash).await?,
            None => false,
        };
        if !right {
            let action = "portal_set_security_questions_failed";
            return Err(self.portal_failed(action, &user.address, &client, "wrong_password", now, wrong()).await?);
        }
        let (questions, answers): (Vec<String>, Vec<String>) = checked.into_iter().unzip();
        let hashes = password::hash_secrets_async(answers).await?;
        let rows: Vec<(String, String)> = questions.into_iter().zip(hashes).collect();
        let mut tx = self.write().await?;
        let had = sql::portal::security_questions(&mut tx, account_id).await?.len();
        sql::portal::set_security_questions(&mut tx, account_id, &rows, &super::now()).await?;
        let domain = user.address.rsplit_once('@').map(|(_, d)| d.to_string());
        let change =
            Change { action: "portal_set_security_questions", domain: domain.as_deref(), target: &user.address };
        let before = serde_json::json!({ "security_questions": had });
        let after = serde_json::json!({ "security_questions": rows.len(), "client": client });
        audit::record(&mut tx, ACTOR, change, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.portal_security_questions(user).await
    }

    /// The account `address` (its own address, lower case) when it has its three security
    /// questions: its id and the questions with their answer hashes.
    async fn recovery_account(&self, address: &str) -> Result<Option<(i64, Vec<(String, String)>)>> {
        let mut conn = self.read().await?;
        let Some((id, _)) = sql::portal::credentials(&mut conn, address).await? else { return Ok(None) };
        let rows = sql::portal::security_questions(&mut conn, id).await?;
        Ok((rows.len() == SECURITY_QUESTIONS).then_some((id, rows)))
    }

    /// The questions to answer to recover the password of `address` at `now`: the account's
    /// own, or three stand-ins of the same shape (the same each time) for an unknown address
    /// or one without questions. Refused past the failure limits, as a sign-in.
    pub async fn portal_recovery_questions_at(
        &self,
        address: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<RecoveryQuestions> {
        let key = address_key(address);
        let client = client_key(client);
        if key.is_empty() {
            return Err(Error::validation("enter your email address").with_field("address"));
        }
        self.portal_rate_limit_for("portal_recovery_refused", &key, &client, now).await?;
        let questions = match self.recovery_account(&key).await? {
            Some((_, rows)) => rows.into_iter().map(|(q, _)| q).collect(),
            None => stand_in_questions(&sql::portal::recovery_key(&mut *self.read().await?).await?, &key),
        };
        let mut tx = self.write().await?;
        audit_event(&mut tx, "portal_recovery_started", &key, &Event { client: &client, reason: None }).await?;
        tx.commit().await?;
        Ok(RecoveryQuestions { address: key, questions })
    }

    /// Recovers a forgotten password at `now` with the answers to the account's security
    /// questions: every answer right (each checked, the stand-ins' too) sets the new password
    /// (policy checked), clears the first-logon demand and the lockout failures, and ends the
    /// account's portal sessions. Wrong answers get one answer and count as a failed sign-in;
    /// past the limits, tries are refused unchecked. A locked or disabled account is told so
    /// only after right answers.
    pub async fn portal_recover_password_at(
        &self,
        recovery: RecoverPassword,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<()> {
        let key = address_key(&recovery.address);
        let client = client_key(client);
        if key.is_empty() {
            return Err(Error::validation("enter your email address").with_field("address"));
        }
        self.portal_rate_limit_for("portal_recovery_refused", &key, &client, now).await?;
        if recovery.answers.len() != SECURITY_QUESTIONS {
            return Err(Error::validation(format!("answer all {SECURITY_QUESTIONS} questions")).with_field("answers"));
        }
        let mut answers = Vec::with_capacity(SECURITY_QUESTIONS);
        for (i, answer) in recovery.answers.iter().enumerate() {
            let field = format!("answer_{}", i + 1);
            if normalise_answer(&answer.0).is_empty() {
                return Err(Error::validation(format!("answer question {}", i + 1)).with_field(field));
            }
            if answer.0.len() > MAX_ANSWER_BYTES {
                return Err(Error::validation(format!("answer {} is too long", i + 1)).with_field(field));
            }
            answers.push(answer.0.clone());
        }
        let new = recovery.new_password.0;
        password::check_policy(&new).map_err(|e| e.with_field("new_password"))?;
        let account = self.recovery_account(&key).await?;
        let pairs: Vec<(String, String)> = match &account {
            Some((_, rows)) => answers.into_iter().zip(rows.iter().map(|(_, h)| h.clone())).collect(),
            // The same work for an address without questions.
            None => answers.into_iter().map(|a| (a, crate::login::DUMMY_HASH.to_string())).collect(),
        };
        let results = answers_match(pairs).await?;
        let account_id = match account {
            Some((id, _)) if results.iter().all(|r| *r) => id,
            found => {
                let reason = if found.is_some() { "wrong_answers" } else { "no_security_questions" };
                let answer = Error::unauthenticated(WRONG_ANSWERS);
                return Err(self.portal_failed("portal_recovery_failed", &key, &client, reason, now, answer).await?);
            }
        };
        let status = sql::portal::account_state(&mut *self.read().await?, account_id).await?.map(|(s, _)| s);
        if status.as_deref() != Some(AccountStatus::Active.as_str()) {
            let (refusal, reason) = match status.as_deref() {
                Some("locked") => {
                    ("this account is locked; ask your administrator to unlock it or reset its password", "locked")
                }
                _ => ("this account is disabled; ask your administrator", "disabled"),
            };
            let mut tx = self.write().await?;
            audit_event(&mut tx, "portal_recovery_refused", &key, &Event { client: &client, reason: Some(reason) })
                .await?;
            tx.commit().await?;
            return Err(Error::permission_denied(refusal));
        }
        let hash = password::hash_async(new).await.map_err(|e| e.with_field("new_password"))?;
        let mut tx = self.write().await?;
        let before = sql::portal::force_password_change(&mut tx, account_id).await?;
        sql::accounts::set_password(&mut tx, account_id, &hash, Some(false), &super::now()).await?;
        let ended = sql::portal::delete_sessions_of(&mut tx, account_id, None).await?;
        sql::portal::clear_failures(&mut tx, &key).await?;
        sql::login::clear_failures(&mut tx, account_id).await?;
        sql::login::clear_all_client_failures(&mut tx, account_id).await?;
        let domain = key.rsplit_once('@').map(|(_, d)| d.to_string());
        let change = Change { action: "portal_password_recovered", domain: domain.as_deref(), target: &key };
        let before = serde_json::json!({ "force_password_change": before });
        let after = serde_json::json!({ "force_password_change": false, "client": client, "sessions_ended": ended });
        audit::record(&mut tx, ACTOR, change, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's own mailbox: storage use and the client settings of the services that
    /// run. Refused while the admin's first-logon password change is pending.
    pub async fn portal_own_account(&self, user: &PortalUser) -> Result<PortalAccount> {
        self.portal_account_id(user).await?;
        let local = self.local_backend();
        let account = local.get_account(GetAccount { address: user.address.clone() }).await?;
        let view = local.get_mailbox(GetMailbox { address: user.address.clone() }).await?;
        let shared_mailboxes = self.owned_shared_mailboxes(&user.address).await?;
        Ok(PortalAccount {
            address: view.address,
            display_name: account.display_name,
            quota_mb: view.quota_mb,
            used_bytes: view.used_bytes,
            messages: view.messages,
            client: view.client,
            client_note: view.client_note,
            shared_mailboxes,
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
    async fn own_security_questions(&self, user: &PortalUser) -> Result<PortalSecurityQuestions> {
        self.portal_security_questions(user).await
    }
    async fn set_own_security_questions(
        &self,
        user: &PortalUser,
        set: SetSecurityQuestions,
        client: Option<IpAddr>,
    ) -> Result<PortalSecurityQuestions> {
        self.portal_set_security_questions_at(user, set, client, unix_now()).await
    }
    async fn recovery_questions(&self, address: &str, client: Option<IpAddr>) -> Result<RecoveryQuestions> {
        self.portal_recovery_questions_at(address, client, unix_now()).await
    }
    async fn recover_password(&self, recovery: RecoverPassword, client: Option<IpAddr>) -> Result<()> {
        self.portal_recover_password_at(recovery, client, unix_now()).await
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
    async fn own_forwarding(&self, user: &PortalUser) -> Result<OwnForwarding> {
        self.own_forwarding_of(user).await
    }
    async fn set_own_forwarding(&self, user: &PortalUser, forwarding: SetForwarding) -> Result<OwnForwarding> {
        self.set_own_forwarding_of(user, forwarding).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_compared_in_lower_case_without_spaces() {
        assert_eq!(normalise_answer("  New   York\tCity \n"), "newyorkcity");
        assert_eq!(normalise_answer("ÉCOLE  Saint-Jean"), "écolesaint-jean");
        assert_eq!(normalise_answer("Rex"), normalise_answer(" rEX "));
        assert_eq!(normalise_answer("Big Ben"), normalise_answer("BigBen"));
        assert_eq!(normalise_answer(" \t\n "), "");
    }

    #[tokio::test]
    async fn answers_stored_in_the_older_form_still_verify() {
        // Stored before: "big ben" (spaces collapsed); now: "bigben".
        let old = password::hash_secret(&legacy_answer("Big Ben")).unwrap();
        let new = password::hash_secret(&normalise_answer("Big Ben")).unwrap();
        let check = |typed: &str, hash: &String| (typed.to_string(), hash.clone());
        let pairs = vec![
            check(" BIG   ben ", &old),
            check("bigben", &new),
            check("Big Ben", &new),
            check("Big Bent", &old),
            check("Big Bent", &new),
        ];
        assert_eq!(answers_match(pairs).await.unwrap(), [true, true, true, false, false]);
    }

    #[test]
    fn stand_in_questions_are_three_distinct_and_stable_per_address_and_key() {
        let a = stand_in_questions("k1", "nobody@example.com");
        assert_eq!(a.len(), SECURITY_QUESTIONS);
        assert!(a[0] != a[1] && a[1] != a[2] && a[0] != a[2], "{a:?}");
        assert!(a.iter().all(|q| STAND_INS.contains(&q.as_str())));
        assert_eq!(a, stand_in_questions("k1", "nobody@example.com"));
        let spread: std::collections::HashSet<Vec<String>> =
            (0..20).map(|n| stand_in_questions("k1", &format!("u{n}@example.com"))).collect();
        assert!(spread.len() > 10, "different addresses get different questions");
        let keyed: std::collections::HashSet<Vec<String>> =
            (0..20).map(|n| stand_in_questions(&format!("k{n}"), "nobody@example.com")).collect();
        assert!(keyed.len() > 10, "the key picks them, not the address alone");
    }

    #[test]
    fn security_questions_are_checked_by_field() {
        let q = |question: &str, answer: &str| SecurityAnswer {
            question: question.into(),
            answer: crate::api::Password(answer.into()),
        };
        let good = [q("First pet?", "Rex"), q("Home  town?", " New York "), q("Best friend?", "Al")];
        let checked = checked_questions(&good).unwrap();
        assert_eq!(checked[1], ("Home town?".to_string(), "newyork".to_string()));
        let field = |qs: &[SecurityAnswer]| checked_questions(qs).unwrap_err().field;
        assert_eq!(field(&good[..2]).as_deref(), Some("questions"));
        assert_eq!(field(&[q("ab", "Rex"), good[1].clone(), good[2].clone()]).as_deref(), Some("question_1"));
        let long = "x".repeat(201);
        assert_eq!(field(&[good[0].clone(), q(&long, "Rex"), good[2].clone()]).as_deref(), Some("question_2"));
        let same = [good[0].clone(), good[1].clone(), q(" first  PET? ", "Max")];
        assert_eq!(checked_questions(&same).unwrap_err().message, "question 3 is the same as question 1");
        assert_eq!(field(&[good[0].clone(), q("Home town?", " x  "), good[2].clone()]).as_deref(), Some("answer_2"));
        let long = "y".repeat(101);
        assert_eq!(field(&[good[0].clone(), good[1].clone(), q("Friend?", &long)]).as_deref(), Some("answer_3"));
        // Spaces do not count towards the length.
        assert!(
            checked_questions(&[good[0].clone(), good[1].clone(), q("Friend?", &format!("{}   ", "z".repeat(100)))])
                .is_ok()
        );
    }

    #[test]
    fn addresses_are_counted_trimmed_lower_case_and_bounded() {
        assert_eq!(address_key("  Ann@Example.COM\r\n"), "ann@example.com");
        assert_eq!(address_key(&"a".repeat(1000)).len(), MAX_ADDRESS);
    }
}
