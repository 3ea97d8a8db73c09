//! Admin sign-in to the web UI: a password (Argon2id), a TOTP second factor (RFC 6238) with
//! one-time recovery codes, and server-side sessions with idle and absolute time-outs.
//!
//! Sessions and API tokens are kept apart: a session secret is `ps_<id>_<secret>`, lives in
//! `admin_sessions` and is accepted only by [`Engine::session_at`] (the server takes it only
//! from its cookie, with the session's anti-CSRF token); a token is `pd_…`, lives in
//! `api_tokens` and is accepted only by `Engine::authenticate` (the `Authorization` header).
//! Only SHA-256 hashes of either secret are stored.
//!
//! Enumeration and brute force: an unknown name, a name without a password and a wrong
//! password get the same answer after the same Argon2id work (a check against a dummy hash);
//! failures are counted per name given and per client address (IPv4, IPv6 /64) over
//! [`WINDOW_SECS`], and past [`MAX_FAILURES_PER_NAME`] or [`MAX_FAILURES_PER_CLIENT`] a
//! sign-in is refused without any check. Every sign-in, failure and refusal is audited and
//! written to the login log (service `admin`).

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend, password};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

/// The window failed sign-ins are counted over (15 minutes).
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failed sign-ins for one name within the window after which it is refused unchecked.
pub const MAX_FAILURES_PER_NAME: i64 = 10;
/// Failed sign-ins from one client address within the window after which it is refused.
pub const MAX_FAILURES_PER_CLIENT: i64 = 30;
/// How long a sign-in waits for its second factor, and how many codes it may try.
const TICKET_SECS: i64 = 5 * 60;
const TICKET_TRIES: i64 = 5;
/// Sessions one admin keeps at most (the oldest end first).
const MAX_SESSIONS_PER_ADMIN: u32 = 50;
/// Failed sign-ins kept at most, whatever the window (a flood from many addresses).
const MAX_FAILURE_ROWS: i64 = 100_000;
/// A session's last use is written at most this often (the idle time-out's precision).
const TOUCH_SECS: i64 = 30;
/// Recovery codes made at once.
const RECOVERY_CODES: usize = 10;
/// TOTP: 30-second steps, 6 digits, one step of clock drift either way (RFC 6238 §5.2).
const STEP_SECS: i64 = 30;
const DRIFT_STEPS: i64 = 1;

const WRONG: &str = "wrong name or password";

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

/// The HOTP value (RFC 4226 §5.3) of `counter`, 6 digits.
fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    (value & 0x7fff_ffff) % 1_000_000
}

/// The time step of a TOTP code matching `code` at `now`, within the allowed drift.
fn totp_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let step = now.div_euclid(STEP_SECS);
    (step - DRIFT_STEPS..=step + DRIFT_STEPS).find(|&s| u64::try_from(s).is_ok_and(|c| hotp(secret, c) == wanted))
}

/// A code as typed: without spaces and dashes, lower case.
fn normalise_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

/// A recovery code: 80 random bits as four groups of base32 (`abcd-efgh-ijkl-mnop`).
fn new_recovery_code() -> String {
    let mut b = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut b);
    let s = data_encoding::BASE32_NOPAD.encode(&b).to_lowercase();
    format!("{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
}

/// A name as counted and audited: trimmed, lower case, no control characters, at most 64.
fn name_key(name: &str) -> String {
    name.trim().chars().filter(|c| !c.is_control()).flat_map(char::to_lowercase).take(64).collect()
}

/// Where a sign-in comes from: the key its failures are counted and audited by (IPv4,
/// IPv6 /64) and the address the login log shows.
struct Origin {
    key: String,
    address: String,
}

fn client_of(client: Option<IpAddr>) -> Origin {
    match client {
        Some(ip) => Origin { key: crate::login::client_key(ip), address: ip.to_string() },
        None => Origin { key: "unknown".into(), address: "unknown".into() },
    }
}

/// The actor of a sign-in event in the audit.
const SIGN_IN_ACTOR: &str = "sign-in";
/// The login log's service of admin sign-ins.
pub const ADMIN_SERVICE: &str = "admin";

#[derive(serde::Serialize)]
struct Event<'a> {
    client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    second_factor: Option<&'a str>,
}

async fn audit_event(conn: &mut Conn, action: &str, name: &str, event: &Event<'_>) -> Result<()> {
    let change = Change { action, domain: None, target: name };
    audit::record::<(), _>(conn, SIGN_IN_ACTOR, change, None, Some(event)).await
}

/// Audits a sign-in, failure or refusal of `name` from `from` and writes it to the login log
/// (service `admin`, no domain: only admins of every domain see it there). `second_factor` is
/// set on a sign-in, `reason` on a failure or refusal.
async fn sign_in_event(
    conn: &mut Conn,
    action: &str,
    name: &str,
    from: &Origin,
    reason: Option<&str>,
    second_factor: Option<&str>,
) -> Result<()> {
    let event = Event { client: &from.key, reason, second_factor };
    audit_event(conn, action, name, &event).await?;
    let (outcome, reason) = match (reason, second_factor) {
        (Some(why), _) => ("refused", why),
        (None, Some("totp")) => ("accepted", "accepted_totp"),
        (None, Some("recovery_code")) => ("accepted", "accepted_recovery_code"),
        (None, _) => ("accepted", "accepted"),
    };
    let entry = sql::login::LogEntry {
        at: super::now(),
        service: ADMIN_SERVICE,
        login: name,
        account: None,
        domain: None,
        client: from.address.clone(),
        outcome,
        reason,
    };
    crate::login::log(conn, entry).await
}

/// The policy's time-outs, checked.
fn checked_policy(p: &SetSignInPolicy, current: &SignInPolicy) -> Result<SignInPolicy> {
    let idle = p.idle_minutes.unwrap_or(current.idle_minutes);
    let absolute = p.absolute_minutes.unwrap_or(current.absolute_minutes);
    if !(1..=1440).contains(&idle) {
        return Err(Error::validation("the idle time-out is 1 to 1440 minutes").with_field("idle_minutes"));
    }
    if !(5..=43_200).contains(&absolute) {
        return Err(
            Error::validation("the absolute time-out is 5 to 43200 minutes (30 days)").with_field("absolute_minutes")
        );
    }
    Ok(SignInPolicy { require_two_factor: p.require_two_factor, idle_minutes: idle, absolute_minutes: absolute })
}

impl Engine {
    /// Refuses a client or name past its failures, auditing the refusal.
    async fn rate_limit(&self, name: &str, from: &Origin, now: i64) -> Result<()> {
        let (by_name, by_client) =
            sql::signin::failures(&mut *self.read().await?, name, &from.key, now - WINDOW_SECS).await?;
        if by_name < MAX_FAILURES_PER_NAME && by_client < MAX_FAILURES_PER_CLIENT {
            return Ok(());
        }
        let reason = if by_name >= MAX_FAILURES_PER_NAME {
            "too_many_failures_for_name"
        } else {
            "too_many_failures_from_client"
        };
        let mut tx = self.write().await?;
        sign_in_event(&mut tx, "sign_in_refused", name, from, Some(reason), None).await?;
        tx.commit().await?;
        Err(Error::limit_exceeded(format!(
            "too many failed sign-ins for this name or from this address; try again in {} minutes",
            WINDOW_SECS / 60
        )))
    }

    /// Counts and audits a failure; the error to answer.
    async fn sign_in_failed(&self, name: &str, from: &Origin, reason: &str, now: i64, answer: Error) -> Result<Error> {
        let mut tx = self.write().await?;
        sql::signin::record_failure(&mut tx, name, &from.key, now, now - WINDOW_SECS, MAX_FAILURE_ROWS).await?;
        sign_in_event(&mut tx, "sign_in_failed", name, from, Some(reason), None).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Opens a session (or a sign-in waiting for its second factor) for `admin`.
    async fn open_session(
        &self,
        conn: &mut Conn,
        admin: &Admin,
        pending: bool,
        client: &str,
        now: i64,
    ) -> Result<(String, String, i64)> {
        let policy = sql::signin::policy(conn).await?;
        let id = random_hex(6);
        let secret = format!("{}{id}_{}", if pending { "pt_" } else { "ps_" }, random_hex(32));
        let csrf = random_hex(16);
        let expires_at = if pending { now + TICKET_SECS } else { now + i64::from(policy.absolute_minutes) * 60 };
        sql::signin::delete_ended_sessions(conn, now).await?;
        let row = sql::signin::NewSession {
            id: &id,
            secret_hash: &sha256_hex(&secret),
            admin: &admin.name,
            pending,
            csrf: &csrf,
            client,
            now,
            expires_at,
        };
        sql::signin::insert_session(conn, row, MAX_SESSIONS_PER_ADMIN).await?;
        Ok((secret, csrf, expires_at))
    }

    /// A signed-in answer for a new session.
    async fn signed_in(&self, admin: &Admin, from: &Origin, second: &str, now: i64) -> Result<SignInStep> {
        let mut tx = self.write().await?;
        let (secret, csrf, expires_at) = self.open_session(&mut tx, admin, false, &from.key, now).await?;
        sql::signin::clear_failures(&mut tx, &admin.name).await?;
        sign_in_event(&mut tx, "sign_in", &admin.name, from, None, Some(second)).await?;
        let policy = sql::signin::policy(&mut tx).await?;
        tx.commit().await?;
        Ok(SignInStep { answer: answer(admin, csrf, policy.idle_minutes, expires_at), session_secret: Some(secret) })
    }

    /// Signs `name` in with `password` from `client` at `now` (Unix seconds).
    pub async fn sign_in_at(&self, name: &str, password: &str, client: Option<IpAddr>, now: i64) -> Result<SignInStep> {
        let key = name_key(name);
        let from = client_of(client);
        self.rate_limit(&key, &from, now).await?;
        if password.len() > password::MAX_LENGTH {
            return Err(Error::validation(format!("a password has at most {} characters", password::MAX_LENGTH))
                .with_field("password"));
        }
        let found = match validate::admin_name(&key) {
            Ok(valid) => sql::signin::credentials(&mut *self.read().await?, &valid).await?,
            Err(_) => None,
        };
        // The same Argon2id work whether or not the name exists and has a password.
        let (hash, real) = match found.as_ref().and_then(|c| c.password_hash.clone()) {
            Some(hash) => (hash, true),
            None => (crate::login::DUMMY_HASH.to_string(), false),
        };
        let right = password::verify_login(password.to_string(), hash).await? && real;
        let reason = match &found {
            None => "unknown_name",
            Some(c) if c.password_hash.is_none() => "no_password_set",
            Some(_) => "wrong_password",
        };
        let Some(creds) = found.filter(|_| right) else {
            return Err(self.sign_in_failed(&key, &from, reason, now, Error::unauthenticated(WRONG)).await?);
        };
        let policy = sql::signin::policy(&mut *self.read().await?).await?;
        if creds.totp_secret.is_some() {
            let mut tx = self.write().await?;
            let (ticket, _, _) = self.open_session(&mut tx, &creds.admin, true, &from.key, now).await?;
            tx.commit().await?;
            return Ok(SignInStep { answer: SignInAnswer::SecondFactor { ticket }, session_secret: None });
        }
        if policy.require_two_factor {
            let mut tx = self.write().await?;
            let why = Some("second_factor_not_set_up");
            sign_in_event(&mut tx, "sign_in_refused", &creds.admin.name, &from, why, None).await?;
            tx.commit().await?;
            return Err(Error::permission_denied(format!(
                "the owner requires a second factor and {} has none yet: set one up with \
                 'postdesk admin 2fa enroll {}' on the server, or ask an owner",
                creds.admin.name, creds.admin.name
            )));
        }
        self.signed_in(&creds.admin, &from, "none", now).await
    }

    /// The second step: `ticket` from [`Engine::sign_in_at`] and a TOTP or recovery code.
    pub async fn second_factor_at(
        &self,
        ticket: &str,
        code: &str,
        client: Option<IpAddr>,
        now: i64,
    ) -> Result<SignInStep> {
        let from = client_of(client);
        let expired = || {
            Error::unauthenticated("this sign-in has expired or is unknown; start again with your name and password")
        };
        if !ticket.starts_with("pt_") || ticket.len() > 200 {
            return Err(expired());
        }
        let row = sql::signin::session(&mut *self.read().await?, &sha256_hex(ticket)).await?;
        let Some(row) = row.filter(|r| r.pending) else {
            return Err(expired());
        };
        if row.expires_at <= now {
            let mut tx = self.write().await?;
            sql::signin::delete_session(&mut tx, &row.id).await?;
            tx.commit().await?;
            return Err(expired());
        }
        let name = row.admin.name.clone();
        self.rate_limit(&name, &from, now).await?;
        let code = normalise_code(code);
        if code.is_empty() || code.len() > 64 {
            return Err(Error::validation("enter the 6-digit code of your authenticator app or a recovery code")
                .with_field("code"));
        }
        let creds = sql::signin::credentials(&mut *self.read().await?, &name).await?.ok_or_else(expired)?;
        let mut tx = self.write().await?;
        let used = match (&creds.totp_secret, code.len()) {
            (Some(secret), 6) => {
                let secret = hex::decode(secret).map_err(|e| Error::internal(format!("stored TOTP secret: {e}")))?;
                match totp_step(&secret, &code, now) {
                    Some(step) if sql::signin::use_totp_step(&mut tx, &name, step).await? => Some("totp"),
                    _ => None,
                }
            }
            (Some(_), _) => {
                sql::signin::use_recovery_code(&mut tx, &name, &sha256_hex(&code)).await?.then_some("recovery_code")
            }
            (None, _) => None,
        };
        let Some(kind) = used else {
            let tries = sql::signin::count_attempt(&mut tx, &row.id).await?;
            if tries >= TICKET_TRIES {
                sql::signin::delete_session(&mut tx, &row.id).await?;
            }
            tx.commit().await?;
            let message = if tries >= TICKET_TRIES {
                "wrong code, and that was the last try for this sign-in; start again with your name and password"
            } else {
                "wrong code (a code is used once; a recovery code works once)"
            };
            let answer = Error::unauthenticated(message).with_field("code");
            return Err(self.sign_in_failed(&name, &from, "wrong_second_factor", now, answer).await?);
        };
        sql::signin::delete_session(&mut tx, &row.id).await?;
        tx.commit().await?;
        self.signed_in(&row.admin, &from, kind, now).await
    }

    /// The caller of the session `secret` at `now`, its idle time restarted; ended sessions
    /// are removed and refused, saying why.
    pub async fn session_at(&self, secret: &str, now: i64) -> Result<(Caller, SignInAnswer)> {
        let unknown = || Error::unauthenticated("not signed in (the session ended or was signed out); sign in again");
        if !secret.starts_with("ps_") || secret.len() > 200 {
            return Err(unknown());
        }
        let mut conn = self.read().await?;
        let row =
            sql::signin::session(&mut conn, &sha256_hex(secret)).await?.filter(|r| !r.pending).ok_or_else(unknown)?;
        let policy = sql::signin::policy(&mut conn).await?;
        drop(conn);
        let idle_secs = i64::from(policy.idle_minutes) * 60;
        let ended = if now >= row.expires_at {
            Some(format!("your session reached its time limit ({} minutes); sign in again", policy.absolute_minutes))
        } else if now - row.last_seen_at > idle_secs {
            Some(format!("your session ended after {} minutes without use; sign in again", policy.idle_minutes))
        } else if policy.require_two_factor && !row.admin.two_factor {
            Some("the owner now requires a second factor; sign in again once one is set up".to_string())
        } else {
            None
        };
        if let Some(why) = ended {
            let mut tx = self.write().await?;
            sql::signin::delete_session(&mut tx, &row.id).await?;
            tx.commit().await?;
            return Err(Error::unauthenticated(why));
        }
        if now - row.last_seen_at >= TOUCH_SECS {
            sql::signin::touch_session(&self.pool, &row.id, now).await?;
        }
        let admin = row.admin;
        let caller = Caller {
            name: admin.name.clone(),
            role: admin.role,
            pages: admin.pages.clone(),
            domains: admin.domains.clone(),
        };
        Ok((caller, answer(&admin, row.csrf, policy.idle_minutes, row.expires_at)))
    }

    /// Ends the session `secret` (nothing when it is not one).
    pub async fn sign_out(&self, secret: &str) -> Result<()> {
        if !secret.starts_with("ps_") || secret.len() > 200 {
            return Ok(());
        }
        let mut tx = self.write().await?;
        if let Some(row) = sql::signin::session(&mut tx, &sha256_hex(secret)).await? {
            sql::signin::delete_session(&mut tx, &row.id).await?;
            audit_event(
                &mut tx,
                "sign_out",
                &row.admin.name,
                &Event { client: "-", reason: None, second_factor: None },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// [`Engine::sign_in_at`] now.
    pub async fn sign_in(&self, name: &str, password: &str, client: Option<IpAddr>) -> Result<SignInStep> {
        self.sign_in_at(name, password, client, unix_now()).await
    }
}

fn answer(admin: &Admin, csrf: String, idle_minutes: u32, expires_at: i64) -> SignInAnswer {
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    SignInAnswer::SignedIn {
        caller: Caller {
            name: admin.name.clone(),
            role: admin.role,
            pages: admin.pages.clone(),
            domains: admin.domains.clone(),
        },
        csrf_token: csrf,
        idle_minutes,
        expires_at: super::format_time(expires),
    }
}

#[async_trait::async_trait]
impl Sessions for Engine {
    async fn sign_in(&self, name: &str, password: &Password, client: Option<IpAddr>) -> Result<SignInStep> {
        self.sign_in_at(name, &password.0, client, unix_now()).await
    }
    async fn second_factor(&self, ticket: &str, code: &str, client: Option<IpAddr>) -> Result<SignInStep> {
        self.second_factor_at(ticket, code, client, unix_now()).await
    }
    async fn session(&self, secret: &str) -> Result<(Caller, SignInAnswer)> {
        self.session_at(secret, unix_now()).await
    }
    async fn sign_out(&self, secret: &str) -> Result<()> {
        Engine::sign_out(self, secret).await
    }
}

// ---- Operations ------------------------------------------------------------------------

/// The admin an operation on `name` concerns: the caller itself, or anyone for an owner.
async fn own_or_owner(b: &EngineBackend, conn: &mut Conn, name: &str) -> Result<sql::signin::Credentials> {
    let name = validate::admin_name(name)?;
    if name != b.caller.name {
        b.caller.require_owner().map_err(|_| {
            Error::permission_denied(format!(
                "{} may change only its own sign-in; {name} is an owner's business",
                b.caller.name
            ))
            .with_field("name")
        })?;
    }
    sql::signin::credentials(conn, &name)
        .await?
        .ok_or_else(|| Error::not_found(format!("admin {name} does not exist")).with_field("name"))
}

#[derive(serde::Serialize)]
struct Changed<'a> {
    changed: &'a str,
}

pub(crate) async fn set_admin_password(b: &EngineBackend, p: SetAdminPassword) -> Result<()> {
    let creds = own_or_owner(b, &mut *b.engine.read().await?, &p.name).await?;
    let name = creds.admin.name.clone();
    password::check_policy(&p.password.0).map_err(|e| e.with_field("password"))?;
    if name == b.caller.name
        && let Some(hash) = creds.password_hash
    {
        let current = p.current_password.map(|c| c.0).unwrap_or_default();
        if current.is_empty() || !password::verify_login(current, hash).await? {
            return Err(Error::validation("the current password is wrong").with_field("current_password"));
        }
    }
    let hash = password::hash_async(p.password.0).await?;
    let mut tx = b.engine.write().await?;
    sql::signin::set_password(&mut tx, &name, &hash).await?;
    // A new password ends the sessions signed in with the old one.
    sql::signin::delete_sessions_of(&mut tx, &name).await?;
    let change = Change { action: SetAdminPassword::NAME, domain: None, target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&Changed { changed: "password" })).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn start_two_factor(b: &EngineBackend, p: StartTwoFactor) -> Result<TwoFactorSetup> {
    let mut tx = b.engine.write().await?;
    let creds = own_or_owner(b, &mut tx, &p.name).await?;
    let mut secret = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut secret);
    sql::signin::set_totp_pending(&mut tx, &creds.admin.name, &hex::encode(secret)).await?;
    let change = Change { action: StartTwoFactor::NAME, domain: None, target: &creds.admin.name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&Changed { changed: "second factor started" }))
        .await?;
    tx.commit().await?;
    let base32 = data_encoding::BASE32_NOPAD.encode(&secret);
    let label: String = creds.admin.name.chars().filter(char::is_ascii_alphanumeric).collect();
    let uri =
        format!("otpauth://totp/Postdesk:{label}?secret={base32}&issuer=Postdesk&algorithm=SHA1&digits=6&period=30");
    let qr_svg = qr_svg(&totp_qr(&uri)?);
    Ok(TwoFactorSetup { secret: base32, uri, qr_svg })
}

/// The QR code of a TOTP set-up URI (error correction M, as authenticator apps expect).
fn totp_qr(uri: &str) -> Result<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::internal(format!("cannot make the QR code of the set-up link: {e}")))
}

/// A QR code as an SVG document, with its quiet zone, black on white.
fn qr_svg(code: &qrcode::QrCode) -> String {
    code.render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build()
}

pub(crate) async fn confirm_two_factor(b: &EngineBackend, p: ConfirmTwoFactor) -> Result<RecoveryCodes> {
    let now = unix_now();
    let mut tx = b.engine.write().await?;
    let creds = own_or_owner(b, &mut tx, &p.name).await?;
    let pending = creds.totp_pending.ok_or_else(|| {
        Error::conflict("no second factor is being set up; start setting one up first").with_field("code")
    })?;
    let secret = hex::decode(pending).map_err(|e| Error::internal(format!("stored TOTP secret: {e}")))?;
    let step = totp_step(&secret, &normalise_code(&p.code), now).ok_or_else(|| {
        Error::validation("the code does not match the new secret (is the device's clock right?)").with_field("code")
    })?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| sha256_hex(&normalise_code(c))).collect();
    sql::signin::activate_totp(&mut tx, &creds.admin.name, step).await?;
    sql::signin::replace_recovery_codes(&mut tx, &creds.admin.name, &hashes).await?;
    let change = Change { action: ConfirmTwoFactor::NAME, domain: None, target: &creds.admin.name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&Changed { changed: "second factor in force" }))
        .await?;
    tx.commit().await?;
    Ok(RecoveryCodes { codes })
}

pub(crate) async fn remove_two_factor(b: &EngineBackend, p: RemoveTwoFactor) -> Result<()> {
    let mut tx = b.engine.write().await?;
    let creds = own_or_owner(b, &mut tx, &p.name).await?;
    let policy = sql::signin::policy(&mut tx).await?;
    if policy.require_two_factor && b.caller.require_owner().is_err() {
        return Err(Error::permission_denied("the owner requires a second factor, so only an owner can remove one"));
    }
    sql::signin::clear_totp(&mut tx, &creds.admin.name).await?;
    if policy.require_two_factor {
        sql::signin::delete_sessions_of(&mut tx, &creds.admin.name).await?;
    }
    let change = Change { action: RemoveTwoFactor::NAME, domain: None, target: &creds.admin.name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&Changed { changed: "second factor removed" }))
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn end_sessions(b: &EngineBackend, p: EndSessions) -> Result<u32> {
    let mut tx = b.engine.write().await?;
    let creds = own_or_owner(b, &mut tx, &p.name).await?;
    let ended = sql::signin::delete_sessions_of(&mut tx, &creds.admin.name).await?;
    let change = Change { action: EndSessions::NAME, domain: None, target: &creds.admin.name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&serde_json::json!({ "ended": ended }))).await?;
    tx.commit().await?;
    Ok(u32::try_from(ended).unwrap_or(u32::MAX))
}

pub(crate) async fn get_policy(b: &EngineBackend, _: GetSignInPolicy) -> Result<SignInPolicy> {
    sql::signin::policy(&mut *b.engine.read().await?).await
}

pub(crate) async fn own(b: &EngineBackend, _: GetOwnSignIn) -> Result<OwnSignIn> {
    let mut conn = b.engine.read().await?;
    let policy = sql::signin::policy(&mut conn).await?;
    let me = sql::signin::credentials(&mut conn, &b.caller.name).await?;
    Ok(OwnSignIn {
        name: b.caller.name.clone(),
        password_set: me.as_ref().is_some_and(|c| c.password_hash.is_some()),
        two_factor: me.as_ref().is_some_and(|c| c.totp_secret.is_some()),
        policy,
    })
}

pub(crate) async fn set_policy(b: &EngineBackend, p: SetSignInPolicy) -> Result<SignInPolicy> {
    b.caller.require_owner()?;
    let mut tx = b.engine.write().await?;
    let before = sql::signin::policy(&mut tx).await?;
    let after = checked_policy(&p, &before)?;
    if after.require_two_factor && b.caller.name != super::LOCAL_OWNER {
        let me = sql::signin::credentials(&mut tx, &b.caller.name).await?;
        if me.is_some_and(|c| c.totp_secret.is_none()) {
            return Err(Error::conflict(format!(
                "set up your own second factor first ({} has none), or you would lock yourself out",
                b.caller.name
            ))
            .with_field("require_two_factor"));
        }
    }
    sql::signin::set_policy(&mut tx, &after).await?;
    if after.require_two_factor {
        sql::signin::delete_sessions_without_two_factor(&mut tx).await?;
    }
    let change = Change { action: SetSignInPolicy::NAME, domain: None, target: "sign-in policy" };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_up_qr_code_decodes_to_the_uri() {
        let uri = "otpauth://totp/Postdesk:ops?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Postdesk&algorithm=SHA1&digits=6&period=30";
        let code = totp_qr(uri).unwrap();
        // Drawn four pixels a module with a four-module quiet zone, read back by another
        // library (rqrr).
        let (width, scale, quiet) = (code.width(), 4, 4);
        let colors = code.to_colors();
        let side = (width + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
            let (mx, my) = ((x / scale).wrapping_sub(quiet), (y / scale).wrapping_sub(quiet));
            mx < width && my < width && colors[my * width + mx] == qrcode::Color::Dark
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, uri);
        let svg = qr_svg(&code);
        assert!(svg.contains("<svg") && svg.contains("#000000"), "{svg}");
    }

    #[test]
    fn totp_matches_the_rfc_6238_sha1_vectors() {
        // RFC 6238 Appendix B (SHA-1, 8 digits there; the last 6 of each here).
        let secret = b"12345678901234567890";
        for (t, code) in
            [(59i64, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(format!("{:06}", hotp(secret, u64::try_from(t / 30).unwrap())), code, "T={t}");
            assert_eq!(totp_step(secret, code, t), Some(t / 30));
        }
        // One step of drift either way, not two.
        assert_eq!(totp_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(totp_step(secret, "287082", 59 + 60), None);
        assert_eq!(totp_step(secret, "28708", 59), None);
        assert_eq!(totp_step(secret, "28708x", 59), None);
    }

    #[test]
    fn recovery_codes_are_80_bits_typed_any_way() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(normalise_code(&code.to_uppercase().replace('-', " ")), code.replace('-', ""));
        assert_ne!(new_recovery_code(), code);
    }
}
