//! The user self-service portal: a mailbox user signs in with address and password (status,
//! lockout threshold and service switches applied; one answer for unknown address and wrong
//! password; per-address and per-client limits; audited and in the login log), must change
//! the password at first logon, changes it (current one required, policy applied) and reads
//! the mailbox's storage use and client settings. Both faces: the engine's `Portal` (local)
//! and the HTTP routes with the portal cookie (remote, over TLS). The cookie, the anti-CSRF
//! header and the separation from admin sessions and API tokens are tested on the router.

use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::autoreply::AutoReply;
use postdesk_contract::forwarding::{OwnForwarding, SetForwarding};
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};
use postdesk_contract::model::*;
use postdesk_engine::Engine;
use postdesk_tests::{Harness, Kind, contract, refused};

contract!(
    a_user_signs_in_and_unknown_address_and_wrong_password_get_one_answer,
    the_accounts_status_lockout_and_services_apply,
    the_first_logon_forces_a_password_change,
    a_user_sees_own_storage_and_client_settings,
    an_admin_ending_or_changing_the_account_ends_its_portal_sessions,
    a_user_sets_an_own_auto_reply_that_answers_mail,
    a_user_sets_security_questions_checked_by_field_and_never_shown_the_answers,
    required_security_questions_come_after_the_password_change_and_before_the_rest,
    a_forgotten_password_is_recovered_with_the_answers_in_any_case_and_spacing,
    an_unknown_address_gets_stable_questions_of_the_same_shape,
    clearing_security_questions_deletes_the_answers,
    a_user_forwards_only_where_auto_forward_allows,
    a_user_sees_the_shared_mailboxes_it_owns_with_its_default_and_template,
);

const PW: &str = "Correct horse 1";
const NEW_PW: &str = "Battery staple 2";
const T0: i64 = 1_800_000_000;

fn ip(last: u8) -> Option<std::net::IpAddr> {
    Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, last)))
}

/// A signed-in portal user, through the engine or through HTTP.
struct User {
    // (no Debug: it holds the session secret)
    engine: Engine,
    secret: String,
    csrf: String,
    http: Option<(reqwest::Client, String)>,
}

fn http_client(h: &Harness) -> Option<(reqwest::Client, String)> {
    let url = h.url()?.to_string();
    let cert = reqwest::Certificate::from_pem(h.cert_pem().unwrap().as_bytes()).unwrap();
    Some((reqwest::Client::builder().add_root_certificate(cert).build().unwrap(), url))
}

/// The body of an HTTP answer, or the API error it carries.
async fn answer(r: reqwest::Response) -> postdesk_contract::Result<serde_json::Value> {
    let ok = r.status().is_success();
    let text = r.text().await.unwrap();
    if ok {
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    } else {
        Err(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }
}

const COOKIE: &str = "__Host-postdesk_portal";

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("User(signed in)")
    }
}

impl User {
    async fn sign_in(h: &Harness, address: &str, password: &str) -> postdesk_contract::Result<(User, PortalSession)> {
        match http_client(h) {
            None => {
                let step = <Engine as Portal>::sign_in(&h.engine, address, &Password(password.into()), ip(1)).await?;
                assert!(step.session_secret.starts_with("pu_"));
                let user = User {
                    engine: h.engine.clone(),
                    secret: step.session_secret,
                    csrf: step.answer.csrf_token.clone(),
                    http: None,
                };
                Ok((user, step.answer))
            }
            Some((http, url)) => {
                let r = http
                    .post(format!("{url}/api/portal/session"))
                    .header("content-type", "application/json")
                    .body(serde_json::json!({ "address": address, "password": password }).to_string())
                    .send()
                    .await
                    .unwrap();
                let cookie = r.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
                let session: PortalSession = serde_json::from_value(answer(r).await?).unwrap();
                let cookie = cookie.expect("a session cookie");
                let secret = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
                let user = User {
                    engine: h.engine.clone(),
                    secret,
                    csrf: session.csrf_token.clone(),
                    http: Some((http, url)),
                };
                Ok((user, session))
            }
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let (http, url) = self.http.as_ref().unwrap();
        http.request(method, format!("{url}{path}"))
            .header("cookie", format!("{COOKIE}={}", self.secret))
            .header("x-postdesk-csrf", &self.csrf)
    }

    async fn current(&self) -> postdesk_contract::Result<PortalSession> {
        match &self.http {
            None => Ok(<Engine as Portal>::session(&self.engine, &self.secret).await?.1),
            Some(_) => {
                let r = self.request(reqwest::Method::GET, "/api/portal/session").send().await.unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    async fn account(&self) -> postdesk_contract::Result<PortalAccount> {
        match &self.http {
            None => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                self.engine.own_account(&user).await
            }
            Some(_) => {
                let r = self.request(reqwest::Method::GET, "/api/portal/account").send().await.unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    async fn change(&self, current: &str, new: &str) -> postdesk_contract::Result<PortalSession> {
        let change =
            ChangeOwnPassword { current_password: Password(current.into()), new_password: Password(new.into()) };
        match &self.http {
            None => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                self.engine.change_own_password(&user, change, ip(1)).await
            }
            Some(_) => {
                let r = self
                    .request(reqwest::Method::POST, "/api/portal/password")
                    .header("content-type", "application/json")
                    .body(serde_json::to_string(&change).unwrap())
                    .send()
                    .await
                    .unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    async fn auto_reply(&self, set: Option<&AutoReply>) -> postdesk_contract::Result<AutoReply> {
        match (&self.http, set) {
            (None, _) => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                match set {
                    Some(r) => self.engine.set_own_auto_reply(&user, r.clone()).await,
                    None => self.engine.own_auto_reply(&user).await,
                }
            }
            (Some(_), None) => {
                let r = self.request(reqwest::Method::GET, "/api/portal/auto-reply").send().await.unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
            (Some(_), Some(set)) => {
                let r = self
                    .request(reqwest::Method::PUT, "/api/portal/auto-reply")
                    .header("content-type", "application/json")
                    .body(serde_json::to_string(set).unwrap())
                    .send()
                    .await
                    .unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    async fn questions(&self) -> postdesk_contract::Result<PortalSecurityQuestions> {
        match &self.http {
            None => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                self.engine.own_security_questions(&user).await
            }
            Some(_) => {
                let r = self.request(reqwest::Method::GET, "/api/portal/security-questions").send().await.unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    /// Sets security questions; over HTTP the raw answer is returned as text too.
    async fn set_questions(
        &self,
        current: &str,
        questions: &[(&str, &str)],
    ) -> postdesk_contract::Result<(PortalSecurityQuestions, String)> {
        let set = SetSecurityQuestions {
            current_password: Password(current.into()),
            questions: questions
                .iter()
                .map(|(q, a)| SecurityAnswer { question: q.to_string(), answer: Password(a.to_string()) })
                .collect(),
        };
        match &self.http {
            None => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                let answer = self.engine.set_own_security_questions(&user, set, ip(1)).await?;
                let text = serde_json::to_string(&answer).unwrap();
                Ok((answer, text))
            }
            Some(_) => {
                let r = self
                    .request(reqwest::Method::PUT, "/api/portal/security-questions")
                    .header("content-type", "application/json")
                    .body(serde_json::to_string(&set).unwrap())
                    .send()
                    .await
                    .unwrap();
                let value = answer(r).await?;
                Ok((serde_json::from_value(value.clone()).unwrap(), value.to_string()))
            }
        }
    }

    async fn forwarding(&self, set: Option<&SetForwarding>) -> postdesk_contract::Result<OwnForwarding> {
        match (&self.http, set) {
            (None, _) => {
                let (user, _) = <Engine as Portal>::session(&self.engine, &self.secret).await?;
                match set {
                    Some(f) => self.engine.set_own_forwarding(&user, f.clone()).await,
                    None => self.engine.own_forwarding(&user).await,
                }
            }
            (Some(_), None) => {
                let r = self.request(reqwest::Method::GET, "/api/portal/forwarding").send().await.unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
            (Some(_), Some(set)) => {
                let r = self
                    .request(reqwest::Method::PUT, "/api/portal/forwarding")
                    .header("content-type", "application/json")
                    .body(serde_json::to_string(set).unwrap())
                    .send()
                    .await
                    .unwrap();
                Ok(serde_json::from_value(answer(r).await?).unwrap())
            }
        }
    }

    async fn sign_out(&self) {
        match &self.http {
            None => <Engine as Portal>::sign_out(&self.engine, &self.secret).await.unwrap(),
            Some(_) => {
                let r = self.request(reqwest::Method::DELETE, "/api/portal/session").send().await.unwrap();
                assert_eq!(r.status(), 204);
            }
        }
    }
}

/// The questions to recover `address`'s password with (no session).
async fn recovery_questions(h: &Harness, address: &str) -> postdesk_contract::Result<RecoveryQuestions> {
    match http_client(h) {
        None => <Engine as Portal>::recovery_questions(&h.engine, address, ip(1)).await,
        Some((http, url)) => {
            let r = http
                .post(format!("{url}/api/portal/recovery/questions"))
                .header("content-type", "application/json")
                .body(serde_json::json!({ "address": address }).to_string())
                .send()
                .await
                .unwrap();
            Ok(serde_json::from_value(answer(r).await?).unwrap())
        }
    }
}

/// Recovers `address`'s password with `answers` (no session).
async fn recover(h: &Harness, address: &str, answers: &[&str], new: &str) -> postdesk_contract::Result<()> {
    let recovery = RecoverPassword {
        address: address.into(),
        answers: answers.iter().map(|a| Password(a.to_string())).collect(),
        new_password: Password(new.into()),
    };
    match http_client(h) {
        None => <Engine as Portal>::recover_password(&h.engine, recovery, ip(1)).await,
        Some((http, url)) => {
            let r = http
                .post(format!("{url}/api/portal/recovery"))
                .header("content-type", "application/json")
                .body(serde_json::to_string(&recovery).unwrap())
                .send()
                .await
                .unwrap();
            if r.status() == 204 {
                return Ok(());
            }
            answer(r).await.map(|v| panic!("unexpected answer {v}"))
        }
    }
}

const QUESTIONS: [(&str, &str); 3] = [
    ("What was the name of your first pet?", "Rex the Dog"),
    ("Which street did you grow up on?", "Elm  Street"),
    ("Who was your best friend at school?", "Alice"),
];

async fn setup(h: &Harness) {
    h.domain("example.com", 50).await;
    for address in ["ann@example.com", "bob@example.com", "cid@example.com"] {
        h.account(address, None).await;
        set_password(h, address, PW, None).await;
    }
}

async fn set_password(h: &Harness, address: &str, password: &str, force: Option<bool>) {
    let p = SetPassword { address: address.into(), password: Password(password.into()), force_password_change: force };
    h.owner.set_password(p).await.unwrap();
}

async fn audit_actions(h: &Harness) -> Vec<(String, String, String)> {
    let page = h.owner.list_audit(ListAudit { limit: Some(200), ..Default::default() }).await.unwrap();
    page.items
        .into_iter()
        .filter(|e| e.actor == "portal")
        .map(|e| (e.action, e.target, e.after.map(|a| a.to_string()).unwrap_or_default()))
        .collect()
}

async fn a_user_signs_in_and_unknown_address_and_wrong_password_get_one_answer(h: Harness) {
    setup(&h).await;
    h.owner
        .add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "anna@example.com".into() })
        .await
        .unwrap();
    let (user, session) = User::sign_in(&h, " Ann@Example.com ", PW).await.unwrap();
    assert_eq!(session.address, "ann@example.com");
    assert!(!session.must_change_password);
    assert_eq!(user.current().await.unwrap().csrf_token, session.csrf_token);
    // An account alias signs in as its account.
    let (_, by_alias) = User::sign_in(&h, "anna@example.com", PW).await.unwrap();
    assert_eq!(by_alias.address, "ann@example.com");

    let wrong = refused(User::sign_in(&h, "ann@example.com", "Wrong horse 1").await, ErrorCode::Unauthenticated, "");
    let unknown = refused(User::sign_in(&h, "nobody@example.com", PW).await, ErrorCode::Unauthenticated, "");
    let foreign = refused(User::sign_in(&h, "ann@elsewhere.example", PW).await, ErrorCode::Unauthenticated, "");
    assert_eq!(wrong, unknown, "one answer for a wrong password and an unknown address");
    assert_eq!(wrong, foreign);
    assert_eq!(wrong.message, "wrong address or password");

    // The login log keeps the real reasons, as a portal login.
    let log = h.engine.login_log(None, Some("example.com"), 20).await.unwrap();
    let portal: Vec<(&str, &str)> =
        log.iter().filter(|r| r.service == "portal").map(|r| (r.login.as_str(), r.reason.as_str())).collect();
    assert_eq!(
        portal,
        [
            ("nobody@example.com", "unknown_address"),
            ("ann@example.com", "wrong_password"),
            ("anna@example.com", "accepted"),
            ("ann@example.com", "accepted"),
        ]
    );
    // Every sign-in and failure is audited, with the client and the reason.
    let audit = audit_actions(&h).await;
    let actions: Vec<(&str, &str)> = audit.iter().map(|(a, t, _)| (a.as_str(), t.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("portal_sign_in_failed", "ann@elsewhere.example"),
            ("portal_sign_in_failed", "nobody@example.com"),
            ("portal_sign_in_failed", "ann@example.com"),
            ("portal_sign_in", "ann@example.com"),
            ("portal_sign_in", "ann@example.com"),
        ]
    );
    assert!(audit[1].2.contains("unknown_address") && audit[2].2.contains("wrong_password"), "{audit:?}");
    assert!(audit[2].2.contains("\"client\""), "{audit:?}");

    // Signed out: the secret no longer works.
    user.sign_out().await;
    refused(user.current().await, ErrorCode::Unauthenticated, "not signed in");
    assert_eq!(audit_actions(&h).await[0].0, "portal_sign_out");
}

async fn the_accounts_status_lockout_and_services_apply(h: Harness) {
    setup(&h).await;
    let status = |address: &str, status: AccountStatus| UpdateAccount {
        address: address.into(),
        status: Some(status),
        ..Default::default()
    };
    h.owner.update_account(status("bob@example.com", AccountStatus::Disabled)).await.unwrap();
    refused(User::sign_in(&h, "bob@example.com", PW).await, ErrorCode::PermissionDenied, "disabled");
    // A wrong password for a disabled account says only "wrong".
    let wrong = refused(User::sign_in(&h, "bob@example.com", "Wrong horse 1").await, ErrorCode::Unauthenticated, "");
    assert_eq!(wrong.message, "wrong address or password");
    h.owner.update_account(status("bob@example.com", AccountStatus::Locked)).await.unwrap();
    refused(User::sign_in(&h, "bob@example.com", PW).await, ErrorCode::PermissionDenied, "locked");

    // With IMAP, POP3 and SMTP all off the portal has nothing to offer; one of them on is enough.
    let off = |values: serde_json::Value| UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["cid@example.com".into()] },
        set: Some(serde_json::from_value(values).unwrap()),
        ..Default::default()
    };
    h.owner.update_settings(off(serde_json::json!({ "imap": false, "pop3": false }))).await.unwrap();
    User::sign_in(&h, "cid@example.com", PW).await.expect("SMTP is still on");
    h.owner.update_settings(off(serde_json::json!({ "smtp": false }))).await.unwrap();
    refused(User::sign_in(&h, "cid@example.com", PW).await, ErrorCode::PermissionDenied, "no mail service");

    // The domain's lockout threshold (default 5) keeps this client out of the account, unchecked,
    // even with the right password (told only "wrong").
    for n in 0..5 {
        let e =
            refused(User::sign_in(&h, "ann@example.com", &format!("Wrong {n}x")).await, ErrorCode::Unauthenticated, "");
        assert_eq!(e.message, "wrong address or password");
    }
    let e = refused(User::sign_in(&h, "ann@example.com", PW).await, ErrorCode::Unauthenticated, "");
    assert_eq!(e.message, "wrong address or password");
    let log = h.engine.login_log(Some("ann@example.com"), None, 1).await.unwrap();
    assert_eq!((log[0].service.as_str(), log[0].reason.as_str()), ("portal", "client_locked_out"));
    let audit = audit_actions(&h).await;
    assert!(audit.iter().any(|(a, t, after)| a == "portal_sign_in_refused"
        && t == "cid@example.com"
        && after.contains("no_mail_service")));
    assert!(
        audit
            .iter()
            .any(|(a, t, after)| a == "portal_sign_in_refused" && t == "bob@example.com" && after.contains("locked"))
    );
}

async fn the_first_logon_forces_a_password_change(h: Harness) {
    setup(&h).await;
    set_password(&h, "ann@example.com", PW, Some(true)).await;
    let imap = |password: &str| {
        let engine = h.engine.clone();
        let password = password.to_string();
        async move {
            let client = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
            let attempt =
                LoginAttempt { login: "ann@example.com", password: &password, service: LoginService::Imap, client };
            engine.verify_login(attempt).await.unwrap()
        }
    };
    assert_eq!(imap(PW).await, Login::Refused(LoginRefusal::PasswordChangeRequired));

    let (user, session) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    assert!(session.must_change_password);
    // Nothing else until the password is changed.
    refused(user.account().await, ErrorCode::PermissionDenied, "set a new password first");
    // The current password is required, the policy applies, and the new one must differ.
    let e = refused(user.change("Wrong horse 1", NEW_PW).await, ErrorCode::Validation, "current password is wrong");
    assert_eq!(e.field.as_deref(), Some("current_password"));
    let e = refused(user.change(PW, "short").await, ErrorCode::Validation, "too short");
    assert_eq!(e.field.as_deref(), Some("new_password"));
    refused(user.change(PW, "alllowercaseletters").await, ErrorCode::Validation, "two of");
    refused(user.change(PW, PW).await, ErrorCode::Validation, "differ");
    assert!(user.current().await.unwrap().must_change_password, "nothing changed by the refusals");
    assert_eq!(imap(PW).await, Login::Refused(LoginRefusal::PasswordChangeRequired));

    let (other, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    let changed = user.change(PW, NEW_PW).await.unwrap();
    assert!(!changed.must_change_password);
    assert!(user.account().await.is_ok(), "the portal opens once the password is set");
    // The mail clients log in with the new password, not the old one; the other session ended.
    assert!(matches!(imap(NEW_PW).await, Login::Accepted { force_password_change: false, .. }));
    assert_eq!(imap(PW).await, Login::Refused(LoginRefusal::WrongCredentials));
    refused(other.current().await, ErrorCode::Unauthenticated, "not signed in");
    let audit = audit_actions(&h).await;
    let changes: Vec<&str> =
        audit.iter().filter(|(a, _, _)| a.starts_with("portal_change_password")).map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(changes, ["portal_change_password", "portal_change_password_failed"]);
    assert!(
        audit.iter().any(|(a, _, after)| a == "portal_change_password" && after.contains("\"other_sessions_ended\":1"))
    );
}

async fn a_user_sees_own_storage_and_client_settings(h: Harness) {
    setup(&h).await;
    h.engine.deliver("ann@example.com", b"Subject: one\r\n\r\nhello\r\n").await.unwrap();
    h.engine.deliver("ann@example.com", b"Subject: two\r\n\r\nhello again\r\n").await.unwrap();
    h.engine.deliver("bob@example.com", b"Subject: bob's\r\n\r\nnot ann's\r\n").await.unwrap();
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    let account = user.account().await.unwrap();
    assert_eq!(account.address, "ann@example.com");
    assert_eq!(account.messages, 2, "her own messages only");
    let admin_view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(account.used_bytes > 0);
    assert_eq!((account.used_bytes, account.quota_mb), (admin_view.used_bytes, admin_view.quota_mb));
    // No mail server runs in this process: no service is offered, and the page says why.
    assert!(account.client.is_empty(), "{:?}", account.client);
    assert!(account.client_note.as_deref().is_some_and(|n| n.contains("not running")), "{:?}", account.client_note);
}

async fn an_admin_ending_or_changing_the_account_ends_its_portal_sessions(h: Harness) {
    setup(&h).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    set_password(&h, "ann@example.com", NEW_PW, None).await;
    refused(user.current().await, ErrorCode::Unauthenticated, "not signed in");
    let (user, _) = User::sign_in(&h, "ann@example.com", NEW_PW).await.unwrap();
    let disable = UpdateAccount {
        address: "ann@example.com".into(),
        status: Some(AccountStatus::Disabled),
        ..Default::default()
    };
    h.owner.update_account(disable).await.unwrap();
    refused(user.account().await, ErrorCode::Unauthenticated, "disabled");
    refused(user.current().await, ErrorCode::Unauthenticated, "not signed in");
}

/// Per-address and per-client limits over the window (engine, injected clock and clients).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_limited_per_address_and_per_client() {
    let h = Harness::new(Kind::Local).await;
    setup(&h).await;
    let e = &h.engine;
    // Ten failures for an unknown address from ten clients: the eleventh try is refused unchecked.
    for n in 0..10 {
        refused(
            e.portal_sign_in_at("ghost@example.com", PW, ip(10 + n), T0).await,
            ErrorCode::Unauthenticated,
            "wrong",
        );
    }
    refused(e.portal_sign_in_at("ghost@example.com", PW, ip(50), T0).await, ErrorCode::LimitExceeded, "too many");
    // Another address from a fresh client is not affected; the window passing frees the address.
    e.portal_sign_in_at("bob@example.com", PW, ip(51), T0).await.unwrap();
    refused(e.portal_sign_in_at("ghost@example.com", PW, ip(50), T0 + 901).await, ErrorCode::Unauthenticated, "wrong");
    // Thirty failures from one client over many addresses: that client is refused everywhere.
    for n in 0..30 {
        let address = format!("guess{n}@example.com");
        refused(e.portal_sign_in_at(&address, PW, ip(99), T0 + 1000).await, ErrorCode::Unauthenticated, "wrong");
    }
    refused(e.portal_sign_in_at("bob@example.com", PW, ip(99), T0 + 1000).await, ErrorCode::LimitExceeded, "too many");
    e.portal_sign_in_at("bob@example.com", PW, ip(98), T0 + 1000).await.unwrap();
    let audit = audit_actions(&h).await;
    assert!(
        audit
            .iter()
            .any(|(a, _, after)| a == "portal_sign_in_refused" && after.contains("too_many_failures_from_client"))
    );
    assert!(
        audit
            .iter()
            .any(|(a, _, after)| a == "portal_sign_in_refused" && after.contains("too_many_failures_for_address"))
    );
}

/// The HTTP face: the portal cookie's flags and anti-CSRF token; portal sessions, admin
/// sessions and API tokens never accepted as one another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_sessions_admin_sessions_and_tokens_are_kept_apart() {
    let h = Harness::new(Kind::Remote).await;
    setup(&h).await;
    let (http, url) = http_client(&h).unwrap();
    let post = |path: &str, body: serde_json::Value, json: bool| {
        let mut r = http.post(format!("{url}{path}")).body(body.to_string());
        if json {
            r = r.header("content-type", "application/json");
        }
        r.send()
    };
    // A form post (what another site could make a browser send) is refused.
    let r = post("/api/portal/session", serde_json::json!({ "address": "ann@example.com", "password": PW }), false)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post("/api/portal/session", serde_json::json!({ "address": "ann@example.com", "password": PW }), true)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-postdesk_portal=pu_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let session: serde_json::Value = r.json().await.unwrap();
    assert!(!session.to_string().contains("pu_"), "the secret travels only in the cookie");
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    let portal_secret = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();

    // An admin with a web session and a token.
    let (_, _) = h.admin("desk", Role::Admin, &[Page::Accounts], None).await;
    h.owner
        .set_admin_password(SetAdminPassword {
            name: "desk".into(),
            password: Password(PW.into()),
            current_password: None,
        })
        .await
        .unwrap();
    let r = post("/api/session", serde_json::json!({ "name": "desk", "password": PW }), true).await.unwrap();
    let admin_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let admin_secret = admin_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    let admin_csrf = r.json::<serde_json::Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();
    let token = h.owner.create_token(CreateToken { admin: "desk".into(), ..Default::default() }).await.unwrap().secret;

    let get = |path: &str, cookie: Option<String>, csrf: Option<&str>, bearer: Option<&str>| {
        let mut r = http.get(format!("{url}{path}"));
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        if let Some(c) = csrf {
            r = r.header("x-postdesk-csrf", c);
        }
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        r.send()
    };
    let portal_cookie = format!("__Host-postdesk_portal={portal_secret}");
    assert_eq!(get("/api/portal/account", Some(portal_cookie.clone()), Some(&csrf), None).await.unwrap().status(), 200);
    // Without the anti-CSRF token, or with the admin session's, refused.
    for sent in [None, Some(admin_csrf.as_str())] {
        let r = get("/api/portal/account", Some(portal_cookie.clone()), sent, None).await.unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("anti-CSRF"));
    }
    // The portal session opens no admin route: not as the admin cookie, not as a bearer token,
    // and the portal cookie is not read there at all.
    let as_admin_cookie = format!("__Host-postdesk_session={portal_secret}");
    assert_eq!(get("/api/whoami", Some(as_admin_cookie), Some(&csrf), None).await.unwrap().status(), 401);
    assert_eq!(get("/api/whoami", None, None, Some(&portal_secret)).await.unwrap().status(), 401);
    assert_eq!(get("/api/whoami", Some(portal_cookie.clone()), Some(&csrf), None).await.unwrap().status(), 401);
    // No admin credential opens a portal route: the admin's session under the portal's cookie
    // name, the admin's own cookie, an API token.
    let admin_as_portal = format!("__Host-postdesk_portal={admin_secret}");
    for (cookie, csrf, bearer) in [
        (Some(admin_as_portal), Some(admin_csrf.as_str()), None),
        (Some(format!("__Host-postdesk_session={admin_secret}")), Some(admin_csrf.as_str()), None),
        (None, None, Some(token.as_str())),
        (Some(portal_cookie.clone()), Some(csrf.as_str()), Some(token.as_str())),
    ] {
        let r = get("/api/portal/account", cookie, csrf, bearer).await.unwrap();
        assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    }
    // And below HTTP: each lookup refuses the other kinds.
    refused(h.engine.portal_session_at(&admin_secret, T0).await, ErrorCode::Unauthenticated, "not signed in");
    refused(h.engine.portal_session_at(&token, T0).await, ErrorCode::Unauthenticated, "not signed in");
    refused(h.engine.session_at(&portal_secret, T0).await, ErrorCode::Unauthenticated, "not signed in");
    refused(h.engine.authenticate(&portal_secret).await, ErrorCode::Unauthenticated, "");
    // The admin's session still works for the admin API.
    let admin_pair = format!("__Host-postdesk_session={admin_secret}");
    assert_eq!(get("/api/whoami", Some(admin_pair), Some(&admin_csrf), None).await.unwrap().status(), 200);
}

/// The idle time-out of the owner's sign-in policy ends a portal session too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_or_old_portal_session_ends() {
    let h = Harness::new(Kind::Local).await;
    setup(&h).await;
    let step = h.engine.portal_sign_in_at("ann@example.com", PW, ip(1), T0).await.unwrap();
    let secret = step.session_secret;
    h.engine.portal_session_at(&secret, T0 + 29 * 60).await.unwrap();
    refused(
        h.engine.portal_session_at(&secret, T0 + 29 * 60 + 31 * 60).await,
        ErrorCode::Unauthenticated,
        "without use",
    );
    let step = h.engine.portal_sign_in_at("ann@example.com", PW, ip(1), T0).await.unwrap();
    let mut at = T0;
    while at + 20 * 60 < T0 + 12 * 3600 {
        at += 20 * 60;
        h.engine.portal_session_at(&step.session_secret, at).await.unwrap();
    }
    refused(
        h.engine.portal_session_at(&step.session_secret, T0 + 12 * 3600).await,
        ErrorCode::Unauthenticated,
        "time limit",
    );
}

async fn a_user_sets_an_own_auto_reply_that_answers_mail(h: Harness) {
    use postdesk_contract::mail::{KeyedMessage, MailStore, TraceStart};
    setup(&h).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    assert_eq!(user.auto_reply(None).await.unwrap(), AutoReply::default(), "none set");
    // Bad input: refused at its field, nothing stored.
    let bad = AutoReply {
        enabled: true,
        starts_at: Some("2026-12-10T00:00:00Z".into()),
        ends_at: Some("2026-12-01T00:00:00Z".into()),
        subject: "Away".into(),
        text: "Back soon.".into(),
    };
    let e = refused(user.auto_reply(Some(&bad)).await, ErrorCode::Validation, "");
    assert_eq!(e.field.as_deref(), Some("ends_at"), "{e:?}");
    assert_eq!(user.auto_reply(None).await.unwrap(), AutoReply::default(), "nothing stored");
    let away =
        AutoReply { enabled: true, subject: "Away".into(), text: "Back on Monday.".into(), ..Default::default() };
    assert_eq!(user.auto_reply(Some(&away)).await.unwrap(), away);
    assert_eq!(user.auto_reply(None).await.unwrap(), away);
    let audit = audit_actions(&h).await;
    assert!(
        audit.iter().any(|(a, target, _)| a == "portal_set_auto_reply" && target == "ann@example.com"),
        "{audit:?}"
    );
    // Mail from bob filed into ann's INBOX is answered: bob gets the reply once.
    let raw = b"From: bob@example.com\r\nTo: ann@example.com\r\nSubject: lunch?\r\nMessage-ID: <1@example.com>\r\n\r\nat noon\r\n";
    let message = |key: &str| KeyedMessage {
        key: key.into(),
        mailboxes: vec!["ann@example.com".into()],
        raw: raw.to_vec(),
        folder: None,
        filed: Vec::new(),
        outbound: None,
        trace: Some(TraceStart { sender: "bob@example.com".into(), ..Default::default() }),
    };
    h.engine.deliver_batch(vec![message("k1"), message("k2")]).await.unwrap();
    let bob = h.engine.messages("bob@example.com", "INBOX").await.unwrap();
    assert_eq!(bob.len(), 1, "one reply for two messages from the same sender");
    let reply = MailStore::message_bytes(&h.engine, "bob@example.com", "INBOX", bob[0].uid).await.unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.contains("Auto-Submitted: auto-replied") && reply.contains("Back on Monday."), "{reply}");
    // Turned off: stored as off.
    let off = AutoReply { enabled: false, ..away };
    assert!(!user.auto_reply(Some(&off)).await.unwrap().enabled);
}

async fn a_user_sets_security_questions_checked_by_field_and_never_shown_the_answers(h: Harness) {
    setup(&h).await;
    let (user, session) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    assert!(!session.must_set_security_questions, "not required by default");
    let none = user.questions().await.unwrap();
    assert_eq!((none.required, none.questions.len()), (false, 0));

    // Refusals at their fields; nothing stored.
    let e = refused(user.set_questions(PW, &QUESTIONS[..2]).await, ErrorCode::Validation, "exactly 3");
    assert_eq!(e.field.as_deref(), Some("questions"));
    let short = [("Q?", "Rex"), QUESTIONS[1], QUESTIONS[2]];
    let e = refused(user.set_questions(PW, &short).await, ErrorCode::Validation, "question 1 is too short");
    assert_eq!(e.field.as_deref(), Some("question_1"));
    let twice = [QUESTIONS[0], QUESTIONS[1], ("  what was the NAME of your first   pet? ", "Max")];
    let e = refused(user.set_questions(PW, &twice).await, ErrorCode::Validation, "same as question 1");
    assert_eq!(e.field.as_deref(), Some("question_3"));
    let blank = [QUESTIONS[0], ("Which street did you grow up on?", "  x  "), QUESTIONS[2]];
    let e = refused(user.set_questions(PW, &blank).await, ErrorCode::Validation, "answer 2 is too short");
    assert_eq!(e.field.as_deref(), Some("answer_2"));
    let e = refused(user.set_questions("Wrong horse 1", &QUESTIONS).await, ErrorCode::Validation, "current password");
    assert_eq!(e.field.as_deref(), Some("current_password"));
    assert!(user.questions().await.unwrap().questions.is_empty(), "nothing stored");

    let (set, text) = user.set_questions(PW, &QUESTIONS).await.unwrap();
    assert_eq!(set.questions, QUESTIONS.map(|(q, _)| q.to_string()));
    for (_, a) in QUESTIONS {
        assert!(!text.contains(a) && !text.to_lowercase().contains(&a.to_lowercase()), "no answer in {text}");
    }
    assert_eq!(user.questions().await.unwrap(), set);
    let effective = h.owner.get_effective_settings(GetEffectiveSettings { address: "ann@example.com".into() });
    assert!(effective.await.unwrap().security_questions_set);
    // Setting them again replaces them (white space in a question tidied).
    let other = [("In   which city were you born?", "Paris"), QUESTIONS[1], QUESTIONS[2]];
    let (set, _) = user.set_questions(PW, &other).await.unwrap();
    assert_eq!(set.questions[0], "In which city were you born?");
    assert_eq!(recovery_questions(&h, "ann@example.com").await.unwrap().questions, set.questions);

    // Audited, with no answer in the audit.
    let audit = audit_actions(&h).await;
    let sets: Vec<&(String, String, String)> =
        audit.iter().filter(|(a, _, _)| a.starts_with("portal_set_security_questions")).collect();
    assert_eq!(
        sets.iter().map(|(a, _, _)| a.as_str()).collect::<Vec<_>>(),
        ["portal_set_security_questions", "portal_set_security_questions", "portal_set_security_questions_failed"]
    );
    let all = format!("{audit:?}").to_lowercase();
    for a in ["rex the dog", "elm", "alice", "paris"] {
        assert!(!all.contains(a), "{a} in the audit: {all}");
    }
}

async fn required_security_questions_come_after_the_password_change_and_before_the_rest(h: Harness) {
    setup(&h).await;
    let require = UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["ann@example.com".into()] },
        set: Some(serde_json::from_value(serde_json::json!({ "require_security_questions": true })).unwrap()),
        ..Default::default()
    };
    h.owner.update_settings(require).await.unwrap();
    set_password(&h, "ann@example.com", PW, Some(true)).await;
    let (user, session) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    assert!(session.must_change_password && session.must_set_security_questions);
    // The password change comes first, even before the questions.
    refused(user.questions().await, ErrorCode::PermissionDenied, "set a new password first");
    refused(user.set_questions(PW, &QUESTIONS).await, ErrorCode::PermissionDenied, "set a new password first");
    refused(user.account().await, ErrorCode::PermissionDenied, "set a new password first");
    let changed = user.change(PW, NEW_PW).await.unwrap();
    assert!(!changed.must_change_password && changed.must_set_security_questions);
    // Then the questions: nothing else until they are set.
    refused(user.account().await, ErrorCode::PermissionDenied, "security questions first");
    refused(user.auto_reply(None).await, ErrorCode::PermissionDenied, "security questions first");
    let off = AutoReply { enabled: false, ..Default::default() };
    refused(user.auto_reply(Some(&off)).await, ErrorCode::PermissionDenied, "security questions first");
    let q = user.questions().await.unwrap();
    assert!(q.required && q.questions.is_empty());
    assert!(user.current().await.unwrap().must_set_security_questions, "a reload keeps the demand");
    user.set_questions(NEW_PW, &QUESTIONS).await.unwrap();
    assert!(!user.current().await.unwrap().must_set_security_questions);
    user.account().await.unwrap();
    user.auto_reply(None).await.unwrap();
    // bob is not required to: his portal opens at once.
    let (bob, session) = User::sign_in(&h, "bob@example.com", PW).await.unwrap();
    assert!(!session.must_set_security_questions);
    bob.account().await.unwrap();
}

async fn a_forgotten_password_is_recovered_with_the_answers_in_any_case_and_spacing(h: Harness) {
    setup(&h).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    user.set_questions(PW, &QUESTIONS).await.unwrap();
    let (other, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    // The admin asks for a new password at the next logon meanwhile (her sessions end).
    set_password(&h, "ann@example.com", PW, Some(true)).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();

    let asked = recovery_questions(&h, "  ANN@Example.com ").await.unwrap();
    assert_eq!(asked.address, "ann@example.com");
    assert_eq!(asked.questions, QUESTIONS.map(|(q, _)| q.to_string()));
    // Case and white space do not count: "ELMSTREET" is "Elm  Street".
    let right = ["  rex THE   dog ", "ELMSTREET", "alice\t"];
    // Wrong answers and unknown addresses get one answer; nothing changes.
    let wrong = refused(
        recover(&h, "ann@example.com", &["Rex the Dog", "Elm Street", "Bob"], NEW_PW).await,
        ErrorCode::Unauthenticated,
        "do not match",
    );
    let unknown = refused(recover(&h, "nobody@example.com", &right, NEW_PW).await, ErrorCode::Unauthenticated, "");
    let without = refused(recover(&h, "bob@example.com", &right, NEW_PW).await, ErrorCode::Unauthenticated, "");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, without);
    // Checked before the answers: their count, an empty one, the password policy.
    let e = refused(recover(&h, "ann@example.com", &right[..2], NEW_PW).await, ErrorCode::Validation, "all 3");
    assert_eq!(e.field.as_deref(), Some("answers"));
    let e = refused(recover(&h, "ann@example.com", &["a", " ", "c"], NEW_PW).await, ErrorCode::Validation, "");
    assert_eq!(e.field.as_deref(), Some("answer_2"));
    let e = refused(recover(&h, "ann@example.com", &right, "short").await, ErrorCode::Validation, "too short");
    assert_eq!(e.field.as_deref(), Some("new_password"));
    user.current().await.expect("still signed in after the refusals");

    recover(&h, "Ann@example.com", &right, NEW_PW).await.unwrap();
    refused(user.current().await, ErrorCode::Unauthenticated, "not signed in");
    refused(other.current().await, ErrorCode::Unauthenticated, "not signed in");
    refused(User::sign_in(&h, "ann@example.com", PW).await, ErrorCode::Unauthenticated, "wrong");
    let (_, session) = User::sign_in(&h, "ann@example.com", NEW_PW).await.unwrap();
    assert!(!session.must_change_password, "the recovery set the new password the admin asked for");

    // A disabled account is told so only after right answers.
    let (bob, _) = User::sign_in(&h, "bob@example.com", PW).await.unwrap();
    bob.set_questions(PW, &QUESTIONS).await.unwrap();
    let disable = UpdateAccount {
        address: "bob@example.com".into(),
        status: Some(AccountStatus::Disabled),
        ..Default::default()
    };
    h.owner.update_account(disable).await.unwrap();
    let e = refused(recover(&h, "bob@example.com", &["x1", "y2", "z3"], NEW_PW).await, ErrorCode::Unauthenticated, "");
    assert_eq!(e, wrong);
    refused(recover(&h, "bob@example.com", &right, NEW_PW).await, ErrorCode::PermissionDenied, "disabled");
    refused(User::sign_in(&h, "bob@example.com", NEW_PW).await, ErrorCode::Unauthenticated, "wrong");

    let audit = audit_actions(&h).await;
    let recovered: Vec<&(String, String, String)> =
        audit.iter().filter(|(a, _, _)| a == "portal_password_recovered").collect();
    assert_eq!(recovered.len(), 1, "{audit:?}");
    assert_eq!(recovered[0].1, "ann@example.com");
    assert!(recovered[0].2.contains("\"sessions_ended\":1"), "{:?}", recovered[0]);
    let failed = |who: &str, why: &str| {
        audit.iter().any(|(a, t, after)| a == "portal_recovery_failed" && t == who && after.contains(why))
    };
    assert!(failed("ann@example.com", "wrong_answers"), "{audit:?}");
    assert!(failed("nobody@example.com", "no_security_questions"), "{audit:?}");
    assert!(failed("bob@example.com", "no_security_questions"), "{audit:?}");
    assert!(
        audit.iter().any(|(a, t, after)| a == "portal_recovery_refused"
            && t == "bob@example.com"
            && after.contains("disabled"))
    );
    assert!(audit.iter().any(|(a, t, _)| a == "portal_recovery_started" && t == "ann@example.com"));
}

async fn an_unknown_address_gets_stable_questions_of_the_same_shape(h: Harness) {
    setup(&h).await;
    let unknown = recovery_questions(&h, "nobody@example.com").await.unwrap();
    assert_eq!(unknown.questions.len(), 3);
    assert!(unknown.questions.iter().all(|q| q.ends_with('?') && q.len() >= 3), "{unknown:?}");
    let mut distinct = unknown.questions.clone();
    distinct.dedup();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{unknown:?}");
    assert_eq!(recovery_questions(&h, "NOBODY@example.com ").await.unwrap(), unknown, "the same each time");
    // An account without questions, and an address of another domain, get the same kind.
    let bob = recovery_questions(&h, "bob@example.com").await.unwrap();
    assert_eq!(bob.questions.len(), 3);
    assert_eq!(recovery_questions(&h, "bob@example.com").await.unwrap(), bob);
    assert_eq!(recovery_questions(&h, "x@elsewhere.example").await.unwrap().questions.len(), 3);
    let e = refused(recovery_questions(&h, "  ").await, ErrorCode::Validation, "address");
    assert_eq!(e.field.as_deref(), Some("address"));
}

async fn clearing_security_questions_deletes_the_answers(h: Harness) {
    setup(&h).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    user.set_questions(PW, &QUESTIONS).await.unwrap();
    let answers = QUESTIONS.map(|(_, a)| a);
    let clear = ClearSecurityQuestions {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["ann@example.com".into()] },
    };
    let outcome = h.owner.clear_security_questions(clear).await.unwrap();
    assert!(outcome.message.contains("cleared the security questions of 1 account"), "{}", outcome.message);
    assert!(user.questions().await.unwrap().questions.is_empty());
    let asked = recovery_questions(&h, "ann@example.com").await.unwrap();
    assert_ne!(asked.questions, QUESTIONS.map(|(q, _)| q.to_string()), "stand-ins now");
    refused(recover(&h, "ann@example.com", &answers, NEW_PW).await, ErrorCode::Unauthenticated, "do not match");
    let (_, session) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    assert!(!session.must_set_security_questions);
}

/// Wrong recovery answers count as failed sign-ins: past the per-address limit the address
/// is refused unchecked (right answers too) until the window passes (engine, injected clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_recovery_answers_are_counted_and_locked_after_the_limit() {
    let h = Harness::new(Kind::Local).await;
    setup(&h).await;
    let (user, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    user.set_questions(PW, &QUESTIONS).await.unwrap();
    let e = &h.engine;
    let attempt = |answers: [&str; 3], new: &str| RecoverPassword {
        address: "ann@example.com".into(),
        answers: answers.iter().map(|a| Password(a.to_string())).collect(),
        new_password: Password(new.into()),
    };
    let right = QUESTIONS.map(|(_, a)| a);
    for n in 0..10 {
        let wrong = attempt(["rex the dog", "elm street", "carol"], NEW_PW);
        refused(e.portal_recover_password_at(wrong, ip(10 + n), T0).await, ErrorCode::Unauthenticated, "do not match");
    }
    // Locked: the right answers are refused unchecked, from any client, and so are the questions.
    refused(
        e.portal_recover_password_at(attempt(right, NEW_PW), ip(60), T0).await,
        ErrorCode::LimitExceeded,
        "too many",
    );
    refused(e.portal_recovery_questions_at("ann@example.com", ip(61), T0).await, ErrorCode::LimitExceeded, "too many");
    // Wrong answers count with failed sign-ins: the address is refused there too.
    refused(e.portal_sign_in_at("ann@example.com", PW, ip(62), T0).await, ErrorCode::LimitExceeded, "too many");
    // After the window the right answers work.
    e.portal_recover_password_at(attempt(right, NEW_PW), ip(60), T0 + 901).await.unwrap();
    e.portal_sign_in_at("ann@example.com", NEW_PW, ip(60), T0 + 902).await.unwrap();
    // Thirty failures from one client over addresses it guesses lock that client out.
    for n in 0..30 {
        let wrong = RecoverPassword { address: format!("guess{n}@example.com"), ..attempt(right, NEW_PW) };
        refused(e.portal_recover_password_at(wrong, ip(99), T0 + 1000).await, ErrorCode::Unauthenticated, "");
    }
    let locked = e.portal_recover_password_at(attempt(right, "Another one 3"), ip(99), T0 + 1000).await;
    refused(locked, ErrorCode::LimitExceeded, "too many");
    let audit = audit_actions(&h).await;
    assert_eq!(audit.iter().filter(|(a, _, _)| a == "portal_recovery_failed").count(), 40);
    assert!(
        audit
            .iter()
            .any(|(a, _, after)| a == "portal_recovery_refused" && after.contains("too_many_failures_for_address"))
    );
    assert!(
        audit
            .iter()
            .any(|(a, _, after)| a == "portal_recovery_refused" && after.contains("too_many_failures_from_client"))
    );
}

fn forwarding(targets: &[&str], keep_copy: bool) -> SetForwarding {
    SetForwarding { targets: targets.iter().map(|t| t.to_string()).collect(), keep_copy }
}

async fn a_user_forwards_only_where_auto_forward_allows(h: Harness) {
    setup(&h).await;
    let (ann, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    let none = ann.forwarding(None).await.unwrap();
    assert_eq!(none, OwnForwarding { targets: Vec::new(), keep_copy: true, allowed: true });

    // Bad input: refused at its field, nothing stored.
    let six = ["a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test"];
    for (bad, why) in [
        (forwarding(&six, true), "at most 5"),
        (forwarding(&["not an address"], true), "no @"),
        (forwarding(&["Ann@Example.com"], true), "itself"),
        (forwarding(&["nobody@example.com"], true), "nothing receives mail at nobody@example.com"),
    ] {
        let e = refused(ann.forwarding(Some(&bad)).await, ErrorCode::Validation, why);
        assert_eq!(e.field.as_deref(), Some("targets"), "{e:?}");
    }
    assert_eq!(ann.forwarding(None).await.unwrap(), none, "nothing stored");

    // Set: canonical, without duplicates; audited as the user's.
    let set = ann.forwarding(Some(&forwarding(&["Pat@Far.Test", "bob@example.com", "pat@far.test"], false))).await;
    let want = OwnForwarding {
        targets: vec!["bob@example.com".into(), "pat@far.test".into()],
        keep_copy: false,
        allowed: true,
    };
    assert_eq!(set.unwrap(), want);
    assert_eq!(ann.forwarding(None).await.unwrap(), want);
    // The policy explainer names it for mail to ann.
    let to_ann = ExplainPolicy {
        sender: "pat@far.test".into(),
        recipients: vec!["ann@example.com".into()],
        ..Default::default()
    };
    let rules = h.owner.explain_policy(to_ann.clone()).await.unwrap().rules;
    let fired = rules.iter().find(|r| r.kind == "forwarding").expect("the forwarding explained");
    assert_eq!(fired.name, "forwarding of ann@example.com");
    assert!(
        fired.effect.contains("bob@example.com, pat@far.test") && fired.effect.contains("keeps no copy"),
        "{fired:?}"
    );
    let audit = audit_actions(&h).await;
    let (_, _, after) = audit.iter().find(|(a, _, _)| a == "portal_set_forwarding").expect("audited");
    assert!(after.contains("pat@far.test") && after.contains("\"keep_copy\":false"), "{after}");

    // The admin switches auto_forward off for ann: what is stored is shown as not allowed,
    // a new forwarding is refused, ending it is not.
    let off = UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["ann@example.com".into()] },
        set: Some(serde_json::from_value(serde_json::json!({ "auto_forward": false })).unwrap()),
        clear: None,
    };
    h.owner.update_settings(off).await.unwrap();
    assert!(!ann.forwarding(None).await.unwrap().allowed);
    let rules = h.owner.explain_policy(to_ann).await.unwrap().rules;
    let fired = rules.iter().find(|r| r.kind == "forwarding").expect("the forwarding explained");
    assert!(fired.effect.starts_with("not used: automatic forwarding is off"), "{fired:?}");
    refused(
        ann.forwarding(Some(&forwarding(&["pat@far.test"], true))).await,
        ErrorCode::PermissionDenied,
        "does not allow this mailbox to forward",
    );
    let ended = ann.forwarding(Some(&forwarding(&[], false))).await.unwrap();
    assert_eq!(ended, OwnForwarding { targets: Vec::new(), keep_copy: true, allowed: false });

    // Bob, still allowed, is not affected.
    let (bob, _) = User::sign_in(&h, "bob@example.com", PW).await.unwrap();
    assert!(bob.forwarding(Some(&forwarding(&["ann@example.com"], true))).await.unwrap().allowed);

    // The admin sees a user's forwarding and can end it (audited); ending none is not found.
    let seen = h.owner.get_account_forwarding(GetAccountForwarding { address: "Bob@Example.com".into() }).await;
    let want = OwnForwarding { targets: vec!["ann@example.com".into()], keep_copy: true, allowed: true };
    assert_eq!(seen.unwrap(), want);
    h.owner.clear_account_forwarding(ClearAccountForwarding { address: "bob@example.com".into() }).await.unwrap();
    assert!(bob.forwarding(None).await.unwrap().targets.is_empty(), "the user sees it ended");
    let again = h.owner.clear_account_forwarding(ClearAccountForwarding { address: "bob@example.com".into() }).await;
    refused(again, ErrorCode::NotFound, "forwards no mail");
    let page = h.owner.list_audit(ListAudit { limit: Some(5), ..Default::default() }).await.unwrap();
    let entry = page.items.iter().find(|e| e.action == "clear_account_forwarding").expect("audited");
    assert_eq!(entry.target, "bob@example.com");
    assert!(entry.before.as_ref().unwrap().to_string().contains("ann@example.com"));
}

/// The portal's account view lists the shared mailboxes the user owns (directly or through a
/// workflow group) with its default and their templates; another user's are not shown.
async fn a_user_sees_the_shared_mailboxes_it_owns_with_its_default_and_template(h: Harness) {
    setup(&h).await;
    let b = h.owner.as_ref();
    for (address, name) in [("desk@example.com", "Desk"), ("sales@example.com", "Sales")] {
        let p = CreateSharedMailbox {
            domain: "example.com".into(),
            address: address.into(),
            name: name.into(),
            host: Some("imap.example.net".into()),
            username: Some("u".into()),
            ..Default::default()
        };
        b.create_shared_mailbox(p).await.unwrap();
    }
    let group = CreateWorkflowGroup {
        domain: "example.com".into(),
        name: "Sales team".into(),
        members: vec!["ann@example.com".into()],
    };
    b.create_workflow_group(group).await.unwrap();
    let owners = |address: &str, users: Vec<String>, groups: Vec<String>| SetSharedMailboxOwners {
        address: address.into(),
        users,
        groups,
    };
    b.set_shared_mailbox_owners(owners("desk@example.com", vec!["ann@example.com".into()], vec![])).await.unwrap();
    b.set_shared_mailbox_owners(owners("sales@example.com", vec![], vec!["Sales team".into()])).await.unwrap();
    let template =
        SetSharedTemplate { address: "sales@example.com".into(), font: Some("Verdana".into()), size_pt: Some(11) };
    b.set_shared_template(template).await.unwrap();
    let (ann, _) = User::sign_in(&h, "ann@example.com", PW).await.unwrap();
    let listed = ann.account().await.unwrap().shared_mailboxes;
    let seen: Vec<(&str, &str, bool)> =
        listed.iter().map(|m| (m.address.as_str(), m.name.as_str(), m.is_default)).collect();
    assert_eq!(seen, [("desk@example.com", "Desk", false), ("sales@example.com", "Sales", false)]);
    assert_eq!(listed[1].template.font.as_deref(), Some("Verdana"));
    assert_eq!(listed[1].template.size_pt, Some(11));

    let default = SetDefaultSharedMailbox { user: "ann@example.com".into(), mailbox: Some("sales@example.com".into()) };
    b.set_default_shared_mailbox(default).await.unwrap();
    let listed = ann.account().await.unwrap().shared_mailboxes;
    assert_eq!(listed.iter().map(|m| m.is_default).collect::<Vec<_>>(), [false, true]);
    let (bob, _) = User::sign_in(&h, "bob@example.com", PW).await.unwrap();
    assert!(bob.account().await.unwrap().shared_mailboxes.is_empty(), "bob owns none");
}
