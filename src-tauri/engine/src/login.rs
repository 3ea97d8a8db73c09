//! Mailbox logins (used by the SMTP, IMAP and POP3 services): password verification,
//! failed-login counting and lockout, the service switches, and the login log.

use super::{Engine, EngineBackend, now};
use crate::api::{ListLogins, MAX_LOGIN_PAGE};
use crate::error::Result;
use crate::model::{AccountStatus, LoginLog, LoginRecord, Page, Role, login_reason_text};
use crate::sql::{self, login::LogEntry, login::LoginRow};
use crate::{password, validate};
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};
use postdesk_contract::settings::EffectiveSettings;

pub use postdesk_contract::settings::DEFAULT_LOCKOUT_THRESHOLD;

/// How many login-log rows are kept (the oldest go first).
const LOGIN_LOG_ROWS: i64 = 200_000;

/// The longest login name that is logged as given (longer ones are cut).
const MAX_LOGGED_LOGIN: usize = 320;

/// How long a client that reached an account's lockout threshold is kept out of it.
pub const CLIENT_LOCKOUT_SECS: i64 = 15 * 60;

/// The client as failures are counted: its IPv4 address, or its IPv6 /64 (one host
/// has a whole /64 to pick addresses from).
pub(crate) fn client_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// What one attempt came to, for the log.
struct Verdict {
    account: Option<String>,
    /// The domain of an unknown address, when it is one of ours (so its helpdesk sees typos).
    unknown_in: Option<String>,
    reason: &'static str,
    login: Login,
}

impl Engine {
    /// Checks the password of `attempt` for the account (or account alias) it names. A
    /// wrong password counts towards the domain's lockout threshold for the client's
    /// address (IPv4, or IPv6 /64); reaching it keeps that client out of the account for
    /// [`CLIENT_LOCKOUT_SECS`] (no password is checked meanwhile), and nobody else. An
    /// unknown address, a wrong password, a locked-out client and a locked or disabled
    /// account with a wrong password all get `WrongCredentials`; the login log keeps the
    /// real reason. A right password is still refused when the account's settings
    /// switch the service off, and, for IMAP and POP3, while the admin asks for a new
    /// password at first logon. Every attempt goes into the login log.
    pub async fn verify_login(&self, attempt: LoginAttempt<'_>) -> Result<Login> {
        Ok(self.verify_login_why(attempt).await?.0)
    }

    /// [`Engine::verify_login`], with the reason the login log keeps (for the portal's audit).
    pub(crate) async fn verify_login_why(&self, attempt: LoginAttempt<'_>) -> Result<(Login, &'static str)> {
        let verdict = self.check_login(&attempt).await?;
        let outcome = match verdict.login {
            Login::Accepted { .. } => "accepted",
            Login::Refused(_) => "refused",
        };
        let mut login: String = attempt.login.chars().filter(|c| !c.is_control()).collect();
        if login.len() > MAX_LOGGED_LOGIN {
            let cut = (0..=MAX_LOGGED_LOGIN).rev().find(|&i| login.is_char_boundary(i)).unwrap_or(0);
            login.truncate(cut);
        }
        let domain = match verdict.account.as_deref().and_then(|a| a.rsplit_once('@')) {
            Some((_, d)) => Some(d.to_string()),
            None => verdict.unknown_in,
        };
        let entry = LogEntry {
            at: now(),
            service: attempt.service.name(),
            login: &login,
            account: verdict.account.as_deref(),
            domain: domain.as_deref(),
            client: attempt.client.to_string(),
            outcome,
            reason: verdict.reason,
        };
        let mut tx = self.write().await?;
        log(&mut tx, entry).await?;
        tx.commit().await?;
        Ok((verdict.login, verdict.reason))
    }

    async fn check_login(&self, attempt: &LoginAttempt<'_>) -> Result<Verdict> {
        let refused = |account: Option<String>, why: LoginRefusal| Verdict {
            account,
            unknown_in: None,
            reason: why.name(),
            login: Login::Refused(why),
        };
        let Ok(addr) = validate::address(attempt.login) else {
            return Ok(refused(None, LoginRefusal::WrongCredentials));
        };
        let address = addr.full();
        let mut conn = self.read().await?;
        let row = sql::login::account(&mut conn, &address).await?;
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
            let ours = sql::domains::id_by_name(&mut conn, &addr.domain).await?.is_some();
            drop(conn);
            // Spend the same time as a real check, so timing does not reveal addresses.
            password::verify_login(attempt.password.to_string(), DUMMY_HASH.to_string()).await?;
            return Ok(Verdict {
                account: None,
                unknown_in: ours.then(|| addr.domain.clone()),
                reason: "unknown_address",
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        };
        // A client that reached the threshold on this account is kept out for a while
        // without a password check (no more guesses), told what any wrong password is told.
        let client = client_key(attempt.client);
        let unix = time::OffsetDateTime::now_utc().unix_timestamp();
        if sql::login::client_locked_until(&mut conn, id, &client, unix).await?.is_some() {
            return Ok(Verdict {
                account: Some(account),
                unknown_in: None,
                reason: "client_locked_out",
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        }
        drop(conn);
        // Whatever the account's state, an unauthenticated client learns only "wrong":
        // locked and disabled are said only to a client that gave the right password.
        let status = AccountStatus::parse(&status);
        let right = match &hash {
            Some(hash) => password::verify_login(attempt.password.to_string(), hash.clone()).await?,
            None => {
                password::verify_login(attempt.password.to_string(), DUMMY_HASH.to_string()).await?;
                false
            }
        };
        if !right {
            let mut tx = self.write().await?;
            let reason = match (status, &hash) {
                (Some(AccountStatus::Locked), _) => "locked_wrong_password",
                (Some(AccountStatus::Active), None) => "no_password_set",
                (Some(AccountStatus::Active), Some(_)) => "wrong_password",
                _ => "disabled_wrong_password",
            };
            let mut reason = reason;
            if hash.is_some() {
                sql::login::count_failure(&mut tx, id).await?;
                let failed = sql::login::count_client_failure(&mut tx, id, &client, unix, CLIENT_LOCKOUT_SECS).await?;
                if failed >= threshold {
                    sql::login::lock_client(&mut tx, id, &client, unix + CLIENT_LOCKOUT_SECS).await?;
                    if reason == "wrong_password" {
                        reason = "wrong_password_client_locked_out";
                    }
                }
            }
            tx.commit().await?;
            return Ok(Verdict {
                account: Some(account),
                unknown_in: None,
                reason,
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        }
        match status {
            Some(AccountStatus::Active) => {}
            Some(AccountStatus::Locked) => return Ok(refused(Some(account), LoginRefusal::Locked)),
            _ => return Ok(refused(Some(account), LoginRefusal::Disabled)),
        }
        if failed > 0 || sql::login::client_failures(&mut *self.read().await?, id, &client).await? {
            let mut tx = self.write().await?;
            sql::login::clear_failures(&mut tx, id).await?;
            sql::login::clear_client_failures(&mut tx, id, &client).await?;
            tx.commit().await?;
        }
        let settings = self.effective_settings_of(&account).await?;
        let values = &settings.values;
        let enabled = match attempt.service {
            LoginService::Smtp => values.smtp.value,
            LoginService::Imap => values.imap.value,
            LoginService::Pop3 => values.pop3.value,
            // The portal serves the mail services' password and settings: it is open while
            // any of them is.
            LoginService::Portal => values.smtp.value || values.imap.value || values.pop3.value,
        };
        if !enabled && attempt.service == LoginService::Portal {
            return Ok(Verdict { reason: "no_mail_service", ..refused(Some(account), LoginRefusal::ServiceDisabled) });
        }
        if !enabled {
            return Ok(refused(Some(account), LoginRefusal::ServiceDisabled));
        }
        // Reading mail waits for the new password; sending (SMTP) and the portal, where the
        // user sets it, do not.
        if force && matches!(attempt.service, LoginService::Imap | LoginService::Pop3) {
            return Ok(refused(Some(account), LoginRefusal::PasswordChangeRequired));
        }
        Ok(Verdict {
            account: Some(account.clone()),
            unknown_in: None,
            reason: if force { "accepted_password_change_pending" } else { "accepted" },
            login: Login::Accepted { address: account, force_password_change: force },
        })
    }

    async fn effective_settings_of(&self, account: &str) -> Result<EffectiveSettings> {
        use postdesk_contract::api::Backend as _;
        let params = crate::api::GetEffectiveSettings { address: account.to_string() };
        self.local_backend().get_effective_settings(params).await
    }

    /// The newest login-log rows (at most `limit`), of one account (its address or an
    /// account alias of it) and/or of one domain, newest first; no role applies (for the
    /// services and tests; the admin API's `list_logins` is [`list`]).
    pub async fn login_log(&self, account: Option<&str>, domain: Option<&str>, limit: u32) -> Result<Vec<LoginRecord>> {
        let mut conn = self.read().await?;
        let account = match account {
            Some(a) => Some(account_of(&mut conn, &validate::address(a)?.full()).await?),
            None => None,
        };
        let domain = domain.map(validate::domain).transpose()?;
        let filter =
            sql::login::Filter { account: account.as_deref(), domain: domain.as_deref(), ..Default::default() };
        let rows = sql::login::page(&mut conn, &filter, i64::from(limit)).await?;
        Ok(rows.into_iter().map(record).collect())
    }
}

/// Writes one row of the login log (only the newest [`LOGIN_LOG_ROWS`] are kept).
pub(crate) async fn log(conn: &mut sql::Conn, entry: LogEntry<'_>) -> Result<()> {
    sql::login::log(conn, entry, LOGIN_LOG_ROWS).await
}

/// The account an address names: itself, or the account an account alias belongs to.
async fn account_of(conn: &mut sql::Conn, address: &str) -> Result<String> {
    Ok(sql::login::account(conn, address).await?.map_or_else(|| address.to_string(), |row| row.address))
}

fn record(r: sql::login::LogRow) -> LoginRecord {
    LoginRecord {
        explanation: login_reason_text(&r.service, &r.reason),
        id: r.id as u64,
        at: r.at,
        service: r.service,
        login: r.login,
        account: r.account,
        domain: r.domain,
        client: r.client,
        outcome: r.outcome,
        reason: r.reason,
    }
}

/// `list_logins`: one page of the login log, within the caller's domains. The accounts page
/// covers it (the helpdesk answers "why can't she log in" there). Rows naming none of our
/// domains (logins that are no address, addresses of foreign domains) carry no domain:
/// only a caller of all domains sees them, as it sees the server-wide SMTP page.
pub(crate) async fn list(b: &EngineBackend, p: ListLogins) -> Result<LoginLog> {
    b.caller.require_page(Page::Accounts)?;
    let domain = p.domain.as_deref().map(validate::domain).transpose()?;
    if let Some(d) = &domain {
        b.caller.require(Page::Accounts, Some(d))?;
    }
    let address = p.account.as_deref().map(validate::address).transpose()?;
    if let Some(a) = &address {
        b.caller.require(Page::Accounts, Some(&a.domain))?;
    }
    let limit = p.limit.unwrap_or(50).clamp(1, MAX_LOGIN_PAGE);
    let mut conn = b.engine.read().await?;
    let account = match &address {
        Some(a) => {
            let account = account_of(&mut conn, &a.full()).await?;
            // An account alias may live in another domain than its account.
            if let Some((_, d)) = account.rsplit_once('@') {
                b.caller.require(Page::Accounts, Some(d))?;
            }
            Some(account)
        }
        None => None,
    };
    // A caller limited to some domains sees only rows of them.
    // (An account filter already names one covered domain.)
    let scope = match (&domain, &account, &b.caller.domains) {
        (None, None, Some(list)) if b.caller.role != Role::Owner => Some(serde_json::to_string(list)?),
        _ => None,
    };
    let filter = sql::login::Filter {
        account: account.as_deref(),
        domain: domain.as_deref(),
        scope: scope.as_deref(),
        before: p.before.map(|id| i64::try_from(id).unwrap_or(i64::MAX)),
    };
    // One row more than asked tells whether an older page exists.
    let mut rows = sql::login::page(&mut conn, &filter, i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let items: Vec<LoginRecord> = rows.into_iter().map(record).collect();
    let next_before = if more { items.last().map(|r| r.id) } else { None };
    Ok(LoginLog { items, next_before })
}

/// A valid Argon2id hash of a random password, for equal-time refusals.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2cXrAVdXhq6ASuhZMfMEy0zcPQ8nQCAvDPi25XK0Ys0";

#[cfg(test)]
mod tests {
    use crate::api::{BatchTarget, Password};
    use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};
    use postdesk_contract::settings::Settings;

    use crate::api::{CreateAccount, CreateDomain, UpdateSettings};
    use crate::{Backend, Engine};

    const PW: &str = "Correct horse 1";
    const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 9));

    async fn engine() -> Engine {
        let engine = Engine::open_in_memory().await.unwrap();
        let b = engine.local_backend();
        b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
        for (a, force) in [("ann@example.com", false), ("new@example.com", true), ("pia@example.com", false)] {
            let account = CreateAccount {
                address: a.into(),
                password: Some(Password(PW.into())),
                force_password_change: Some(force),
                ..Default::default()
            };
            b.create_account(account).await.unwrap();
        }
        let off = Settings { imap: Some(false), ..Default::default() };
        let target = BatchTarget::Accounts { addresses: vec!["pia@example.com".into()] };
        b.update_settings(UpdateSettings { domain: "example.com".into(), target, set: Some(off), clear: None })
            .await
            .unwrap();
        engine
    }

    async fn login(engine: &Engine, login: &str, password: &str, service: LoginService) -> Login {
        engine.verify_login(LoginAttempt { login, password, service, client: CLIENT }).await.unwrap()
    }

    async fn log(engine: &Engine) -> Vec<(String, String, Option<String>, String, String, String)> {
        let rows = engine.login_log(None, None, 100).await.unwrap();
        rows.into_iter().map(|r| (r.service, r.login, r.account, r.client, r.outcome, r.reason)).collect()
    }

    #[tokio::test]
    async fn service_switches_and_first_logon_refuse_a_right_password() {
        let engine = engine().await;
        let accepted = |a: &str| Login::Accepted { address: a.into(), force_password_change: false };
        assert_eq!(login(&engine, "ann@example.com", PW, LoginService::Imap).await, accepted("ann@example.com"));
        assert_eq!(
            login(&engine, "pia@example.com", PW, LoginService::Imap).await,
            Login::Refused(LoginRefusal::ServiceDisabled)
        );
        assert_eq!(login(&engine, "pia@example.com", PW, LoginService::Pop3).await, accepted("pia@example.com"));
        for service in [LoginService::Imap, LoginService::Pop3] {
            assert_eq!(
                login(&engine, "new@example.com", PW, service).await,
                Login::Refused(LoginRefusal::PasswordChangeRequired)
            );
        }
        assert_eq!(
            login(&engine, "new@example.com", PW, LoginService::Smtp).await,
            Login::Accepted { address: "new@example.com".into(), force_password_change: true }
        );
        // A wrong password says nothing about the switches.
        assert_eq!(
            login(&engine, "pia@example.com", "wrong", LoginService::Imap).await,
            Login::Refused(LoginRefusal::WrongCredentials)
        );
    }

    #[tokio::test]
    async fn every_attempt_is_logged_with_service_client_and_reason() {
        let engine = engine().await;
        login(&engine, "ann@example.com", PW, LoginService::Imap).await;
        login(&engine, "ann@example.com", "wrong", LoginService::Pop3).await;
        login(&engine, "nobody@example.com", PW, LoginService::Smtp).await;
        login(&engine, "pia@example.com", PW, LoginService::Imap).await;
        login(&engine, "x\r\ny", PW, LoginService::Imap).await;
        let rows = log(&engine).await;
        let ann = Some("ann@example.com".to_string());
        let pia = Some("pia@example.com".to_string());
        let row = |s: &str, l: &str, a: Option<String>, o: &str, r: &str| {
            (s.to_string(), l.to_string(), a, CLIENT.to_string(), o.to_string(), r.to_string())
        };
        assert_eq!(
            rows,
            [
                row("imap", "xy", None, "refused", "wrong_credentials"),
                row("imap", "pia@example.com", pia, "refused", "service_disabled"),
                row("smtp", "nobody@example.com", None, "refused", "unknown_address"),
                row("pop3", "ann@example.com", ann.clone(), "refused", "wrong_password"),
                row("imap", "ann@example.com", ann, "accepted", "accepted"),
            ],
            "newest first; control characters never reach the log"
        );
    }

    #[tokio::test]
    async fn unknown_addresses_of_our_domains_carry_the_domain_and_alias_filters_find_the_account() {
        let engine = engine().await;
        let b = engine.local_backend();
        let alias = crate::api::AddAccountAlias { address: "ann@example.com".into(), alias: "anna@example.com".into() };
        b.add_account_alias(alias).await.unwrap();
        login(&engine, "anna@example.com", "wrong", LoginService::Imap).await;
        login(&engine, "ann@exmaple.com", PW, LoginService::Imap).await;
        login(&engine, "anne@example.com", PW, LoginService::Imap).await;
        let rows = engine.login_log(None, None, 10).await.unwrap();
        let domains: Vec<Option<&str>> = rows.iter().map(|r| r.domain.as_deref()).collect();
        assert_eq!(domains, [Some("example.com"), None, Some("example.com")], "a foreign domain is not ours");
        assert_eq!(rows[0].explanation, "no such account (check the address for typos)");
        let by_alias = engine.login_log(Some("ANNA@example.com"), None, 10).await.unwrap();
        assert_eq!(by_alias.len(), 1);
        assert_eq!((by_alias[0].login.as_str(), by_alias[0].reason.as_str()), ("anna@example.com", "wrong_password"));
        assert_eq!(engine.login_log(None, Some("example.com"), 10).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn every_page_shape_walks_one_index_backwards_without_sorting() {
        use crate::sql::login::{Filter, plan};
        let engine = engine().await;
        let mut conn = engine.read().await.unwrap();
        let shapes = [
            (Filter { account: Some("a@example.com"), ..Default::default() }, "login_log_account"),
            (Filter { account: Some("a@example.com"), before: Some(9), ..Default::default() }, "login_log_account"),
            (Filter { domain: Some("example.com"), before: Some(9), ..Default::default() }, "login_log_domain"),
            (Filter { before: Some(9), ..Default::default() }, "INTEGER PRIMARY KEY"),
            (Filter::default(), "SCAN login_log"),
        ];
        for (filter, index) in shapes {
            let plan = plan(&mut conn, &filter).await.unwrap();
            assert!(plan.contains(index), "{index}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
    }
}
