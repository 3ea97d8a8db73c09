//! Mailbox logins (used by the SMTP, IMAP and POP3 services): password verification,
//! failed-login counting and lockout, the service switches, and the login log.

use super::audit::{self, Change};
use super::{Engine, now};
use crate::error::Result;
use crate::model::AccountStatus;
use crate::sql::{self, login::LogEntry, login::LoginRow};
use crate::{password, validate};
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};
use postdesk_contract::settings::EffectiveSettings;

pub use postdesk_contract::settings::DEFAULT_LOCKOUT_THRESHOLD;

/// How many login-log rows are kept (the oldest go first).
const LOGIN_LOG_ROWS: i64 = 200_000;

/// The longest login name that is logged as given (longer ones are cut).
const MAX_LOGGED_LOGIN: usize = 320;

/// What one attempt came to, for the log.
struct Verdict {
    account: Option<String>,
    reason: &'static str,
    login: Login,
}

impl Engine {
    /// Checks the password of `attempt` for the account (or account alias) it names. A
    /// wrong password counts towards the domain's lockout threshold; reaching it locks the
    /// account (audited). A right password is still refused when the account's settings
    /// switch the service off, and, for IMAP and POP3, while the admin asks for a new
    /// password at first logon. Every attempt goes into the login log.
    pub async fn verify_login(&self, attempt: LoginAttempt<'_>) -> Result<Login> {
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
        let domain = verdict.account.as_deref().and_then(|a| a.rsplit_once('@')).map(|(_, d)| d.to_string());
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
        sql::login::log(&mut tx, entry, LOGIN_LOG_ROWS).await?;
        tx.commit().await?;
        Ok(verdict.login)
    }

    async fn check_login(&self, attempt: &LoginAttempt<'_>) -> Result<Verdict> {
        let refused = |account: Option<String>, why: LoginRefusal| Verdict {
            account,
            reason: why.name(),
            login: Login::Refused(why),
        };
        let Ok(addr) = validate::address(attempt.login) else {
            return Ok(refused(None, LoginRefusal::WrongCredentials));
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
            let pw = attempt.password.to_string();
            let _ = tokio::task::spawn_blocking(move || password::verify(&pw, DUMMY_HASH)).await;
            return Ok(Verdict {
                account: None,
                reason: "unknown_address",
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        };
        match AccountStatus::parse(&status) {
            Some(AccountStatus::Active) => {}
            Some(AccountStatus::Locked) => return Ok(refused(Some(account), LoginRefusal::Locked)),
            _ => return Ok(refused(Some(account), LoginRefusal::Disabled)),
        }
        let Some(hash) = hash else {
            return Ok(Verdict {
                account: Some(account),
                reason: "no_password_set",
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        };
        let pw = attempt.password.to_string();
        let matches = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
            .await
            .map_err(|e| crate::Error::internal(format!("password check failed: {e}")))?;
        if !matches {
            let mut tx = self.write().await?;
            let failed = sql::login::count_failure(&mut tx, id).await?;
            let mut reason = "wrong_password";
            if failed >= threshold {
                sql::login::lock(&mut tx, id, now()).await?;
                let change = Change { action: "lock_account", domain: Some(&addr.domain), target: &account };
                let after = serde_json::json!({ "status": "locked", "failed_logins": failed });
                audit::record(
                    &mut tx,
                    "system",
                    change,
                    Some(&serde_json::json!({ "status": "active" })),
                    Some(&after),
                )
                .await?;
                reason = "wrong_password_now_locked";
            }
            tx.commit().await?;
            return Ok(Verdict {
                account: Some(account),
                reason,
                login: Login::Refused(LoginRefusal::WrongCredentials),
            });
        }
        if failed > 0 {
            let mut tx = self.write().await?;
            sql::login::clear_failures(&mut tx, id).await?;
            tx.commit().await?;
        }
        let settings = self.effective_settings_of(&account).await?;
        let enabled = match attempt.service {
            LoginService::Smtp => settings.values.smtp.value,
            LoginService::Imap => settings.values.imap.value,
            LoginService::Pop3 => settings.values.pop3.value,
        };
        if !enabled {
            return Ok(refused(Some(account), LoginRefusal::ServiceDisabled));
        }
        if force && attempt.service != LoginService::Smtp {
            return Ok(refused(Some(account), LoginRefusal::PasswordChangeRequired));
        }
        Ok(Verdict {
            account: Some(account.clone()),
            reason: if force { "accepted_password_change_pending" } else { "accepted" },
            login: Login::Accepted { address: account, force_password_change: force },
        })
    }

    async fn effective_settings_of(&self, account: &str) -> Result<EffectiveSettings> {
        use postdesk_contract::api::Backend as _;
        let params = crate::api::GetEffectiveSettings { address: account.to_string() };
        self.local_backend().get_effective_settings(params).await
    }

    /// The newest login-log rows (at most `limit`), of one account (its address or a login
    /// naming it) and/or of one domain, newest first.
    pub async fn login_log(
        &self,
        account: Option<&str>,
        domain: Option<&str>,
        limit: u32,
    ) -> Result<Vec<postdesk_contract::mail::LoginRecord>> {
        let rows = sql::login::recent(&mut *self.read().await?, account, domain, i64::from(limit)).await?;
        Ok(rows
            .into_iter()
            .map(|r| postdesk_contract::mail::LoginRecord {
                at: r.at,
                service: r.service,
                login: r.login,
                account: r.account,
                client: r.client,
                outcome: r.outcome,
                reason: r.reason,
            })
            .collect())
    }
}

/// A valid Argon2id hash of a random password, for equal-time refusals.
const DUMMY_HASH: &str =
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
}
