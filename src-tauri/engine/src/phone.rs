//! Phone binding in the user portal (issue 18) and the SMS gateway that carries its codes;
//! the rules are the contract's ([`postdesk_contract::phone`]).
//!
//! Invariants:
//! * the gateway's settings are the one row of `sms_gateway`; its bearer token is only ever
//!   in the engine's secret store under [`SECRET`] (write-only), never in a row, an answer
//!   or the audit;
//! * a code is kept as a salted SHA-256 only, one per account (a new one replaces it), and
//!   is void past its expiry or its [`MAX_WRONG_TRIES`]th wrong try;
//! * a send the HTTP gateway refused (or could not take) stores no code: nothing can be
//!   bound with it. It still counts toward the hourly limit;
//! * the phone routes work while `require_phone` waits for a phone (they are how it is
//!   met), but not while the first-logon password change is pending.

use std::time::Duration;

use postdesk_contract::phone::*;
use postdesk_contract::secret::Sensitive;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, PortalSession, page_limit};
use crate::sql::{self, Conn};
use crate::store::blocking;
use crate::{Engine, EngineBackend, Operation};

/// The secret store's name of the gateway's bearer token.
pub const SECRET: &str = "sms.gateway";
/// The actor of the user's own phone events in the audit (as every portal event).
const ACTOR: &str = "portal";
/// How long the HTTP gateway may take to answer.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest URL and token accepted.
const MAX_URL: usize = 2048;
const MAX_TOKEN: usize = 4096;
const HOUR: i64 = 3600;

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn unix_time(at: i64) -> String {
    crate::format_time(time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

fn code_hash(salt: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

/// A gateway URL: `https://…`, or `http://` to a loopback address only.
fn checked_url(input: &str) -> Result<String> {
    let field = "url";
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::validation("the HTTP gateway needs a URL").with_field(field));
    }
    if text.len() > MAX_URL {
        return Err(Error::validation(format!("the URL is longer than {MAX_URL} characters")).with_field(field));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| Error::validation(format!("'{text}' is not a URL: {e}")).with_field(field))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::validation(
                "the gateway URL must be https:// (plain http:// only to this computer: 127.0.0.1, ::1 or localhost)",
            )
            .with_field(field));
        }
        _ => return Err(Error::validation("the gateway URL must be https://").with_field(field)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::validation("put the credentials in the token, not in the URL").with_field(field));
    }
    Ok(url.to_string())
}

impl Engine {
    async fn sms_token(&self) -> Result<Option<Sensitive<String>>> {
        let store = self.secrets.clone();
        blocking(move || store.get(SECRET)).await
    }

    async fn gateway_now(&self) -> Result<SmsGateway> {
        let (mode, url) = sql::phone::gateway(&mut *self.read().await?).await?;
        let mode = SmsGatewayMode::parse(&mode).unwrap_or_default();
        let token_set = self.sms_token().await?.is_some();
        Ok(SmsGateway { mode, url: (!url.is_empty()).then_some(url), token_set })
    }

    /// POSTs `{"to","text"}` to the HTTP gateway; a clear error when it cannot take it.
    async fn post_sms(&self, url: &str, to: &str, text: &str) -> Result<()> {
        let token = self.sms_token().await?;
        let client = reqwest::Client::builder()
            .timeout(GATEWAY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("cannot start the SMS gateway client: {e}")))?;
        let mut request = client.post(url).json(&serde_json::json!({ "to": to, "text": text }));
        if let Some(token) = &token {
            request = request.bearer_auth(&token.0);
        }
        let after = "no code was sent; try again later or ask your administrator";
        match request.send().await {
            Err(e) => {
                let why = if e.is_timeout() {
                    "did not answer within 10 seconds".to_string()
                } else {
                    e.without_url().to_string()
                };
                tracing::warn!(target: "postdesk::sms", error = %why, "SMS gateway unreachable");
                Err(Error::unavailable(format!("the SMS gateway could not be reached ({why}): {after}")))
            }
            Ok(answer) if !answer.status().is_success() => {
                let status = answer.status();
                tracing::warn!(target: "postdesk::sms", status = status.as_u16(), "SMS gateway refused a message");
                Err(Error::unavailable(format!(
                    "the SMS gateway refused the message (HTTP {}): {after}",
                    status.as_u16()
                )))
            }
            Ok(_) => Ok(()),
        }
    }

    /// Whether the account must bind a phone: effective `require_phone` and none bound.
    pub(crate) async fn must_bind_phone(&self, conn: &mut Conn, account: i64) -> Result<bool> {
        if sql::phone::bound(&mut *conn, account).await?.is_some() {
            return Ok(false);
        }
        Ok(crate::settings::effective(conn, account).await?.values.require_phone.value)
    }

    /// A portal session answer with `must_bind_phone` filled in for its account.
    pub(crate) async fn with_phone_demand(&self, mut answer: PortalSession) -> Result<PortalSession> {
        let mut conn = self.read().await?;
        if let Some((account, _)) = sql::portal::credentials(&mut conn, &answer.address).await? {
            answer.must_bind_phone = self.must_bind_phone(&mut conn, account).await?;
        }
        Ok(answer)
    }

    /// Refuses a portal page while the account must bind a phone first.
    pub(crate) async fn refuse_unbound_phone(&self, account: i64) -> Result<()> {
        if self.must_bind_phone(&mut *self.read().await?, account).await? {
            return Err(Error::permission_denied(
                "bind a mobile phone first: your administrator requires one (Mobile phone section)",
            ));
        }
        Ok(())
    }

    /// The user's account id for the phone routes: refused while the first-logon password
    /// change is pending, but not while a phone is required (they are how it is met).
    async fn phone_account(&self, user: &PortalUser) -> Result<i64> {
        let gone = || Error::unauthenticated("your account no longer exists; sign in again");
        let mut conn = self.read().await?;
        let (account, _) = sql::portal::credentials(&mut conn, &user.address).await?.ok_or_else(gone)?;
        if sql::portal::force_password_change(&mut conn, account).await? {
            return Err(Error::permission_denied("set a new password first: your administrator asked for one"));
        }
        Ok(account)
    }

    async fn phone_answer(&self, account: i64, now: i64) -> Result<PortalPhone> {
        let mut conn = self.read().await?;
        let bound = sql::phone::bound(&mut conn, account).await?;
        let pending = sql::phone::code(&mut conn, account).await?.filter(|c| now < c.3).map(|c| mask_phone(&c.0));
        let values = crate::settings::effective(&mut conn, account).await?.values;
        Ok(PortalPhone {
            phone: bound.map(|(p, _)| mask_phone(&p)),
            required: values.require_phone.value,
            unbinding_allowed: values.allow_phone_unbinding.value,
            pending,
        })
    }

    async fn audit_phone(
        conn: &mut Conn,
        action: &str,
        address: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        let domain = address.rsplit_once('@').map(|(_, d)| d.to_string());
        let change = Change { action, domain: domain.as_deref(), target: address };
        audit::record(conn, ACTOR, change, before, after).await
    }

    /// The user's phone section at `now`.
    pub async fn portal_phone_at(&self, user: &PortalUser, now: i64) -> Result<PortalPhone> {
        let account = self.phone_account(user).await?;
        self.phone_answer(account, now).await
    }

    /// Sends a code for `request.phone` through the gateway at `now`.
    pub async fn portal_send_phone_code_at(
        &self,
        user: &PortalUser,
        request: SendPhoneCode,
        now: i64,
    ) -> Result<PortalPhone> {
        let account = self.phone_account(user).await?;
        let phone = normalize_phone(&request.phone)?;
        // The send is counted (reserved) in the transaction that checks the limit, before
        // the gateway is asked: concurrent requests cannot get past it, and a failed send counts.
        let mut tx = self.write().await?;
        if sql::phone::sends_since(&mut tx, account, now - HOUR).await? >= MAX_CODES_PER_HOUR {
            return Err(Error::limit_exceeded(format!(
                "{MAX_CODES_PER_HOUR} codes were sent within the last hour; wait a while before asking for another"
            )));
        }
        sql::phone::record_send(&mut tx, account, now, now - HOUR).await?;
        tx.commit().await?;
        let code = format!("{:0width$}", rand::thread_rng().gen_range(0..1_000_000u32), width = CODE_DIGITS);
        let text = format!("Postdesk: your code is {code}. It is valid for {} minutes.", CODE_VALID_SECS / 60);
        let gateway = self.gateway_now().await?;
        let masked = mask_phone(&phone);
        if gateway.mode == SmsGatewayMode::Http {
            let url = gateway.url.clone().unwrap_or_default();
            if let Err(e) = self.post_sms(&url, &phone, &text).await {
                let mut tx = self.write().await?;
                let after = serde_json::json!({ "phone": masked, "error": e.message });
                Self::audit_phone(&mut tx, "portal_phone_code_failed", &user.address, None, Some(&after)).await?;
                tx.commit().await?;
                return Err(e);
            }
        }
        let salt = hex::encode(rand::thread_rng().r#gen::<[u8; 16]>());
        let hash = code_hash(&salt, &code);
        let mut tx = self.write().await?;
        if gateway.mode == SmsGatewayMode::Log {
            sql::phone::log(&mut tx, now, &phone, &text, &user.address, SMS_LOG_KEEP).await?;
        }
        sql::phone::put_code(&mut tx, account, (&phone, &salt, &hash, now + CODE_VALID_SECS)).await?;
        let after = serde_json::json!({ "phone": masked, "gateway": gateway.mode.name() });
        Self::audit_phone(&mut tx, "portal_phone_code_sent", &user.address, None, Some(&after)).await?;
        tx.commit().await?;
        self.phone_answer(account, now).await
    }

    /// Binds the pending code's number when `request.code` is right at `now`.
    pub async fn portal_confirm_phone_at(
        &self,
        user: &PortalUser,
        request: ConfirmPhone,
        now: i64,
    ) -> Result<PortalPhone> {
        let account = self.phone_account(user).await?;
        let given: String = request.code.chars().filter(|c| !c.is_whitespace()).collect();
        if given.len() != CODE_DIGITS || !given.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::validation(format!("the code has {CODE_DIGITS} digits")).with_field("code"));
        }
        let mut tx = self.write().await?;
        let Some((phone, salt, hash, expires_at, _)) = sql::phone::code(&mut tx, account).await? else {
            return Err(Error::validation("no code is waiting for this account: send a code first").with_field("code"));
        };
        if now >= expires_at {
            sql::phone::drop_code(&mut tx, account).await?;
            tx.commit().await?;
            return Err(Error::validation(format!(
                "the code expired (a code is valid for {} minutes): send a new one",
                CODE_VALID_SECS / 60
            ))
            .with_field("code"));
        }
        if code_hash(&salt, &given) != hash {
            let tries = sql::phone::wrong_try(&mut tx, account).await?;
            let masked = mask_phone(&phone);
            let message = if tries >= MAX_WRONG_TRIES {
                sql::phone::drop_code(&mut tx, account).await?;
                let after = serde_json::json!({ "phone": masked, "wrong_tries": tries });
                Self::audit_phone(&mut tx, "portal_phone_code_void", &user.address, None, Some(&after)).await?;
                format!("wrong code; after {MAX_WRONG_TRIES} wrong tries the code is void: send a new one")
            } else {
                let left = MAX_WRONG_TRIES - tries;
                format!("wrong code; {left} {} left", if left == 1 { "try" } else { "tries" })
            };
            tx.commit().await?;
            return Err(Error::validation(message).with_field("code"));
        }
        let before = sql::phone::bound(&mut tx, account).await?.map(|(p, _)| mask_phone(&p));
        sql::phone::bind(&mut tx, account, &phone, now).await?;
        sql::phone::drop_code(&mut tx, account).await?;
        let before = serde_json::json!({ "phone": before });
        let after = serde_json::json!({ "phone": mask_phone(&phone) });
        Self::audit_phone(&mut tx, "portal_bind_phone", &user.address, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.phone_answer(account, now).await
    }

    /// Removes the user's bound phone where the effective `allow_phone_unbinding` permits.
    pub async fn portal_unbind_phone_at(&self, user: &PortalUser, now: i64) -> Result<PortalPhone> {
        let account = self.phone_account(user).await?;
        let mut tx = self.write().await?;
        let allowed = crate::settings::effective(&mut tx, account).await?.values.allow_phone_unbinding.value;
        if !allowed {
            return Err(Error::permission_denied(
                "your administrator does not allow removing the phone yourself; ask your administrator to clear it",
            ));
        }
        let Some((phone, _)) = sql::phone::bound(&mut tx, account).await? else {
            return Err(Error::not_found("no phone is bound to this account"));
        };
        sql::phone::unbind(&mut tx, account).await?;
        let before = serde_json::json!({ "phone": mask_phone(&phone) });
        Self::audit_phone(&mut tx, "portal_unbind_phone", &user.address, Some(&before), None).await?;
        tx.commit().await?;
        self.phone_answer(account, now).await
    }
}

#[async_trait::async_trait]
impl PortalPhones for Engine {
    async fn own_phone(&self, user: &PortalUser) -> Result<PortalPhone> {
        self.portal_phone_at(user, unix_now()).await
    }
    async fn send_phone_code(&self, user: &PortalUser, request: SendPhoneCode) -> Result<PortalPhone> {
        self.portal_send_phone_code_at(user, request, unix_now()).await
    }
    async fn confirm_phone(&self, user: &PortalUser, request: ConfirmPhone) -> Result<PortalPhone> {
        self.portal_confirm_phone_at(user, request, unix_now()).await
    }
    async fn unbind_phone(&self, user: &PortalUser) -> Result<PortalPhone> {
        self.portal_unbind_phone_at(user, unix_now()).await
    }
}

// ---- Admin operations --------------------------------------------------------------------

/// The gateway is server-wide: page `smtp` and every domain (as the relays).
fn require_server(b: &EngineBackend) -> Result<()> {
    b.caller.require(Page::Smtp, None)
}

pub(crate) async fn get_gateway(b: &EngineBackend, _p: GetSmsGateway) -> Result<SmsGateway> {
    require_server(b)?;
    b.engine.gateway_now().await
}

pub(crate) async fn set_gateway(b: &EngineBackend, p: SetSmsGateway) -> Result<SmsGateway> {
    require_server(b)?;
    let token = p.token.map(|t| t.0);
    let clear = p.clear_token.unwrap_or(false);
    let url = match p.mode {
        SmsGatewayMode::Log => String::new(),
        SmsGatewayMode::Http => checked_url(p.url.as_deref().unwrap_or(""))?,
    };
    if let Some(t) = &token {
        if p.mode == SmsGatewayMode::Log {
            return Err(Error::validation("a token is for the HTTP gateway only").with_field("token"));
        }
        if clear {
            return Err(Error::validation("either set a token or clear it, not both").with_field("token"));
        }
        if t.is_empty() || t.len() > MAX_TOKEN || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::validation(format!(
                "the token must be 1–{MAX_TOKEN} characters without spaces or line breaks"
            ))
            .with_field("token"));
        }
    }
    let before = b.engine.gateway_now().await?;
    let mut tx = b.engine.write().await?;
    sql::phone::set_gateway(&mut tx, p.mode.name(), &url).await?;
    // The token changes with the row, before the commit: a failed write changes nothing.
    let store = b.engine.secrets.clone();
    let token_set = match (p.mode, token) {
        (SmsGatewayMode::Log, _) => {
            blocking(move || store.delete(SECRET)).await?;
            false
        }
        (_, Some(token)) => {
            blocking(move || store.set(SECRET, &Sensitive(token))).await?;
            true
        }
        (_, None) if clear => {
            blocking(move || store.delete(SECRET)).await?;
            false
        }
        (_, None) => before.token_set,
    };
    let after = SmsGateway { mode: p.mode, url: (!url.is_empty()).then_some(url), token_set };
    let change = Change { action: SetSmsGateway::NAME, domain: None, target: "sms gateway" };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn list_log(b: &EngineBackend, p: ListSmsLog) -> Result<CursorPage<SmsMessage>> {
    require_server(b)?;
    let limit = page_limit(p.limit)?;
    let before = match p.after.as_deref() {
        None | Some("") => i64::MAX,
        Some(c) => c.parse::<i64>().map_err(|_| Error::validation("not a cursor of this list").with_field("after"))?,
    };
    let mut rows = sql::phone::log_page(&mut *b.engine.read().await?, before, limit + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.0.to_string())
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|(id, at, to, text, account)| SmsMessage { id: id as u32, at: unix_time(at), to, text, account })
        .collect();
    Ok(CursorPage { items, next })
}

pub(crate) async fn account_phone(b: &EngineBackend, p: GetAccountPhone) -> Result<AccountPhone> {
    let address = crate::accounts::authorised(b, &p.address)?.full();
    let mut conn = b.engine.read().await?;
    let account = crate::settings::account_id(&mut conn, &address).await?;
    let bound = sql::phone::bound(&mut conn, account).await?;
    Ok(AccountPhone {
        address,
        phone: bound.as_ref().map(|(p, _)| mask_phone(p)),
        bound_at: bound.map(|(_, at)| unix_time(at)),
    })
}

pub(crate) async fn clear_account_phone(b: &EngineBackend, p: ClearAccountPhone) -> Result<()> {
    let addr = crate::accounts::authorised(b, &p.address)?;
    let (address, domain) = (addr.full(), addr.domain);
    let mut tx = b.engine.write().await?;
    let account = crate::settings::account_id(&mut tx, &address).await?;
    let Some((phone, _)) = sql::phone::bound(&mut tx, account).await? else {
        return Err(Error::not_found(format!("{address} has no phone bound")).with_field("address"));
    };
    sql::phone::unbind(&mut tx, account).await?;
    let change = Change { action: ClearAccountPhone::NAME, domain: Some(&domain), target: &address };
    let before = serde_json::json!({ "phone": mask_phone(&phone) });
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_urls_are_https_or_loopback_http() {
        assert!(checked_url("https://sms.example/send").is_ok());
        assert!(checked_url("http://127.0.0.1:8080/sms").is_ok());
        assert!(checked_url("http://[::1]:8080/sms").is_ok());
        assert!(checked_url("http://localhost/sms").is_ok());
        for bad in ["http://sms.example/send", "ftp://x", "", "https://user:pw@sms.example/", "not a url"] {
            assert_eq!(checked_url(bad).unwrap_err().field.as_deref(), Some("url"), "{bad}");
        }
    }
}
