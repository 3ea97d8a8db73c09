//! Phone binding in the user portal (issue 18) and the SMS gateway: the code read from the
//! log sender through the admin API, wrong codes counted and the code voided after five,
//! expiry and the hourly send limit (time-injected `_at` engine functions), a required
//! phone closing the other portal pages until bound, unbinding only where allowed, an
//! admin's look and clearing, the gateway's roles, and the HTTP gateway against a real
//! server on 127.0.0.1 (the bearer token, and a refusal that binds nothing). Both faces:
//! the engine's `Portal` (local) and the HTTP routes with the portal cookie (remote, TLS).

use std::sync::{Arc, Mutex};

use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::phone::*;
use postdesk_contract::settings::Settings;
use postdesk_engine::Engine;
use postdesk_tests::{Harness, contract, refused};

contract!(
    a_required_phone_is_bound_with_the_code_from_the_log,
    wrong_codes_are_counted_and_void_the_code_after_five,
    codes_expire_and_an_account_gets_five_an_hour,
    unbinding_only_where_allowed_and_an_admin_clears_a_phone,
    the_gateway_is_for_server_admins_and_its_token_is_write_only,
    the_http_gateway_gets_the_message_and_a_refusal_binds_nothing,
);

const PW: &str = "Correct horse 1";
const D: &str = "example.com";
const ANN: &str = "ann@example.com";

fn ip() -> Option<std::net::IpAddr> {
    Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)))
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A signed-in portal user, through the engine or through HTTP.
struct User {
    engine: Engine,
    secret: String,
    csrf: String,
    http: Option<(reqwest::Client, String)>,
}

async fn answer(r: reqwest::Response) -> postdesk_contract::Result<serde_json::Value> {
    let ok = r.status().is_success();
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    if ok { Ok(value) } else { Err(serde_json::from_value(value).unwrap()) }
}

impl User {
    async fn sign_in(h: &Harness, address: &str) -> User {
        match h.url() {
            None => {
                let step = <Engine as Portal>::sign_in(&h.engine, address, &Password(PW.into()), ip()).await.unwrap();
                User { engine: h.engine.clone(), secret: step.session_secret, csrf: step.answer.csrf_token, http: None }
            }
            Some(url) => {
                let cert = reqwest::Certificate::from_pem(h.cert_pem().unwrap().as_bytes()).unwrap();
                let http = reqwest::Client::builder().add_root_certificate(cert).build().unwrap();
                let r = http
                    .post(format!("{url}/api/portal/session"))
                    .header("content-type", "application/json")
                    .body(serde_json::json!({ "address": address, "password": PW }).to_string())
                    .send()
                    .await
                    .unwrap();
                let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
                let session: PortalSession = serde_json::from_value(answer(r).await.unwrap()).unwrap();
                let secret = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
                User { engine: h.engine.clone(), secret, csrf: session.csrf_token, http: Some((http, url.to_string())) }
            }
        }
    }

    /// The engine's user of this session (for the time-injected calls).
    async fn me(&self) -> PortalUser {
        <Engine as Portal>::session(&self.engine, &self.secret).await.unwrap().0
    }

    async fn http(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> postdesk_contract::Result<serde_json::Value> {
        let (http, url) = self.http.as_ref().unwrap();
        let mut r = http
            .request(method, format!("{url}{path}"))
            .header("cookie", format!("__Host-postdesk_portal={}", self.secret))
            .header("x-postdesk-csrf", &self.csrf);
        if let Some(body) = body {
            r = r.header("content-type", "application/json").body(body.to_string());
        }
        answer(r.send().await.unwrap()).await
    }

    async fn session(&self) -> PortalSession {
        match &self.http {
            None => <Engine as Portal>::session(&self.engine, &self.secret).await.unwrap().1,
            Some(_) => {
                serde_json::from_value(self.http(reqwest::Method::GET, "/api/portal/session", None).await.unwrap())
                    .unwrap()
            }
        }
    }

    async fn account(&self) -> postdesk_contract::Result<PortalAccount> {
        match &self.http {
            None => self.engine.own_account(&self.me().await).await,
            Some(_) => self
                .http(reqwest::Method::GET, "/api/portal/account", None)
                .await
                .map(|v| serde_json::from_value(v).unwrap()),
        }
    }

    async fn phone(&self) -> postdesk_contract::Result<PortalPhone> {
        match &self.http {
            None => self.engine.own_phone(&self.me().await).await,
            Some(_) => self
                .http(reqwest::Method::GET, "/api/portal/phone", None)
                .await
                .map(|v| serde_json::from_value(v).unwrap()),
        }
    }

    async fn send_code(&self, phone: &str) -> postdesk_contract::Result<PortalPhone> {
        let request = SendPhoneCode { phone: phone.into() };
        match &self.http {
            None => self.engine.send_phone_code(&self.me().await, request).await,
            Some(_) => self
                .http(reqwest::Method::POST, "/api/portal/phone/code", Some(serde_json::to_value(&request).unwrap()))
                .await
                .map(|v| serde_json::from_value(v).unwrap()),
        }
    }

    async fn confirm(&self, code: &str) -> postdesk_contract::Result<PortalPhone> {
        let request = ConfirmPhone { code: code.into() };
        match &self.http {
            None => self.engine.confirm_phone(&self.me().await, request).await,
            Some(_) => self
                .http(reqwest::Method::POST, "/api/portal/phone/confirm", Some(serde_json::to_value(&request).unwrap()))
                .await
                .map(|v| serde_json::from_value(v).unwrap()),
        }
    }

    async fn unbind(&self) -> postdesk_contract::Result<PortalPhone> {
        match &self.http {
            None => self.engine.unbind_phone(&self.me().await).await,
            Some(_) => self
                .http(reqwest::Method::DELETE, "/api/portal/phone", None)
                .await
                .map(|v| serde_json::from_value(v).unwrap()),
        }
    }
}

async fn setup(h: &Harness) {
    h.domain(D, 50).await;
    for address in [ANN, "bob@example.com"] {
        h.account(address, None).await;
        let p = SetPassword { address: address.into(), password: Password(PW.into()), force_password_change: None };
        h.owner.set_password(p).await.unwrap();
    }
}

/// Sets `values` on the account `address` (a batch of the owner).
async fn set_for(h: &Harness, address: &str, values: serde_json::Value) {
    let target = BatchTarget::Accounts { addresses: vec![address.into()] };
    let set: Settings = serde_json::from_value(values).unwrap();
    h.owner
        .update_settings(UpdateSettings { domain: D.into(), target, set: Some(set), ..Default::default() })
        .await
        .unwrap();
}

/// The newest message of the SMS log (read as an admin), and the code it carries.
async fn last_code(h: &Harness) -> (SmsMessage, String) {
    let log = h.owner.list_sms_log(ListSmsLog { limit: Some(5), ..Default::default() }).await.unwrap();
    let message = log.items.into_iter().next().expect("a message in the SMS log");
    let code: String = message
        .text
        .split_whitespace()
        .find(|w| w.trim_end_matches('.').len() == 6 && w.trim_end_matches('.').bytes().all(|b| b.is_ascii_digit()))
        .expect("a code")
        .trim_end_matches('.')
        .to_string();
    (message, code)
}

/// A code that is not `code`.
fn other(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn portal_audit(h: &Harness) -> Vec<(String, String)> {
    let page = h.owner.list_audit(ListAudit { limit: Some(200), ..Default::default() }).await.unwrap();
    page.items
        .into_iter()
        .filter(|e| e.actor == "portal" && e.action.contains("phone"))
        .map(|e| (e.action, e.after.map(|a| a.to_string()).unwrap_or_default()))
        .collect()
}

async fn a_required_phone_is_bound_with_the_code_from_the_log(h: Harness) {
    setup(&h).await;
    set_for(&h, ANN, serde_json::json!({ "require_phone": true })).await;
    let ann = User::sign_in(&h, ANN).await;
    assert!(ann.session().await.must_bind_phone);
    // The other pages are closed until a phone is bound; the phone's own section is open.
    refused(ann.account().await, ErrorCode::PermissionDenied, "bind a mobile phone first");
    let phone = ann.phone().await.unwrap();
    assert_eq!(phone, PortalPhone { phone: None, required: true, unbinding_allowed: false, pending: None });
    // Bob, without the requirement, is not asked.
    let bob = User::sign_in(&h, "bob@example.com").await;
    assert!(!bob.session().await.must_bind_phone);
    assert!(bob.account().await.is_ok());

    // E.164 only.
    for bad in ["0791234567", "+41 79", "+41 79 abc 45 67"] {
        let e = refused(ann.send_code(bad).await, ErrorCode::Validation, "international form");
        assert_eq!(e.field.as_deref(), Some("phone"));
    }
    assert!(h.owner.list_sms_log(ListSmsLog::default()).await.unwrap().items.is_empty(), "nothing sent");

    let sent = ann.send_code("+41 79 123 45 67").await.unwrap();
    assert_eq!(sent.pending.as_deref(), Some("+********567"));
    assert_eq!(sent.phone, None);
    let (message, code) = last_code(&h).await;
    assert_eq!(message.to, "+41791234567");
    assert_eq!(message.account.as_deref(), Some(ANN));
    assert!(message.text.contains("10 minutes"), "{}", message.text);
    // A wrong code binds nothing; the right one binds the number.
    let e = refused(ann.confirm(&other(&code)).await, ErrorCode::Validation, "wrong code; 4 tries left");
    assert_eq!(e.field.as_deref(), Some("code"));
    refused(ann.confirm("12345").await, ErrorCode::Validation, "6 digits");
    assert!(ann.session().await.must_bind_phone);
    let bound = ann.confirm(&code).await.unwrap();
    assert_eq!(bound.phone.as_deref(), Some("+********567"));
    assert_eq!(bound.pending, None);
    assert!(!ann.session().await.must_bind_phone);
    assert!(ann.account().await.is_ok(), "the portal opens once a phone is bound");
    // The code is used up.
    refused(ann.confirm(&code).await, ErrorCode::Validation, "no code is waiting");

    // The admin sees it (masked); the audit has the events, never the code or the number.
    let seen = h.owner.get_account_phone(GetAccountPhone { address: ANN.into() }).await.unwrap();
    assert_eq!(seen.phone.as_deref(), Some("+********567"));
    assert!(seen.bound_at.is_some());
    let none = h.owner.get_account_phone(GetAccountPhone { address: "bob@example.com".into() }).await.unwrap();
    assert_eq!(none.phone, None);
    let audit = portal_audit(&h).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["portal_bind_phone", "portal_phone_code_sent"], "{audit:?}");
    assert!(audit.iter().all(|(_, after)| !after.contains(&code) && !after.contains("41791234567")), "{audit:?}");
}

async fn wrong_codes_are_counted_and_void_the_code_after_five(h: Harness) {
    setup(&h).await;
    let ann = User::sign_in(&h, ANN).await;
    ann.send_code("+4915112345678").await.unwrap();
    let (_, code) = last_code(&h).await;
    let wrong = other(&code);
    for left in [4, 3, 2, 1] {
        let needle = format!("{left} tr");
        refused(ann.confirm(&wrong).await, ErrorCode::Validation, &needle);
    }
    refused(ann.confirm(&wrong).await, ErrorCode::Validation, "the code is void");
    // The fifth wrong try voided it: the right code no longer binds.
    refused(ann.confirm(&code).await, ErrorCode::Validation, "no code is waiting");
    let phone = ann.phone().await.unwrap();
    assert_eq!((phone.phone, phone.pending), (None, None));
    assert!(portal_audit(&h).await.iter().any(|(a, _)| a == "portal_phone_code_void"));
    // A new code works.
    ann.send_code("+4915112345678").await.unwrap();
    let (_, code) = last_code(&h).await;
    assert_eq!(ann.confirm(&code).await.unwrap().phone.as_deref(), Some("+**********678"));
}

async fn codes_expire_and_an_account_gets_five_an_hour(h: Harness) {
    setup(&h).await;
    let ann = User::sign_in(&h, ANN).await;
    let me = ann.me().await;
    let t = unix_now() + 10 * 86_400;
    let send = |at: i64| h.engine.portal_send_phone_code_at(&me, SendPhoneCode { phone: "+41791234567".into() }, at);
    send(t).await.unwrap();
    let (_, code) = last_code(&h).await;
    let confirm = |code: String, at: i64| h.engine.portal_confirm_phone_at(&me, ConfirmPhone { code }, at);
    // Valid for 10 minutes, not a second more.
    refused(confirm(code.clone(), t + CODE_VALID_SECS).await, ErrorCode::Validation, "expired");
    refused(confirm(code.clone(), t + 1).await, ErrorCode::Validation, "no code is waiting");
    send(t + 700).await.unwrap();
    let (_, code) = last_code(&h).await;
    assert!(h.engine.portal_phone_at(&me, t + 700 + CODE_VALID_SECS).await.unwrap().pending.is_none());
    assert!(confirm(code, t + 700 + CODE_VALID_SECS - 1).await.unwrap().phone.is_some());
    // Five codes an hour: the sixth within the hour is refused, one after it goes.
    for i in 2..5 {
        send(t + 800 + i).await.unwrap();
    }
    refused(send(t + 900).await, ErrorCode::LimitExceeded, "within the last hour");
    let log = h.owner.list_sms_log(ListSmsLog::default()).await.unwrap().items;
    assert_eq!(log.len(), 5, "the refused one was not sent");
    send(t + 3600 + 1).await.unwrap();
}

async fn unbinding_only_where_allowed_and_an_admin_clears_a_phone(h: Harness) {
    setup(&h).await;
    let ann = User::sign_in(&h, ANN).await;
    let bind = async |user: &User| {
        user.send_code("+41791234567").await.unwrap();
        let (_, code) = last_code(&h).await;
        user.confirm(&code).await.unwrap()
    };
    let bound = bind(&ann).await;
    assert!(!bound.unbinding_allowed);
    refused(ann.unbind().await, ErrorCode::PermissionDenied, "does not allow removing the phone");
    assert!(ann.phone().await.unwrap().phone.is_some(), "still bound");

    set_for(&h, ANN, serde_json::json!({ "allow_phone_unbinding": true, "require_phone": true })).await;
    let phone = ann.phone().await.unwrap();
    assert!(phone.unbinding_allowed && phone.required);
    let unbound = ann.unbind().await.unwrap();
    assert_eq!(unbound.phone, None);
    refused(ann.unbind().await, ErrorCode::NotFound, "no phone is bound");
    // Still required: the portal closes again until a phone is bound.
    assert!(ann.session().await.must_bind_phone);
    refused(ann.account().await, ErrorCode::PermissionDenied, "bind a mobile phone first");
    bind(&ann).await;
    assert!(ann.account().await.is_ok());

    // An admin clears it whatever the setting; audited.
    set_for(&h, ANN, serde_json::json!({ "allow_phone_unbinding": false })).await;
    h.owner.clear_account_phone(ClearAccountPhone { address: ANN.into() }).await.unwrap();
    assert_eq!(h.owner.get_account_phone(GetAccountPhone { address: ANN.into() }).await.unwrap().phone, None);
    refused(
        h.owner.clear_account_phone(ClearAccountPhone { address: ANN.into() }).await,
        ErrorCode::NotFound,
        "no phone",
    );
    assert!(ann.session().await.must_bind_phone);
    let audit = h.owner.list_audit(ListAudit::default()).await.unwrap();
    assert!(audit.items.iter().any(|e| e.action == "clear_account_phone" && e.target == ANN));
    assert!(portal_audit(&h).await.iter().any(|(a, _)| a == "portal_unbind_phone"));
}

async fn the_gateway_is_for_server_admins_and_its_token_is_write_only(h: Harness) {
    setup(&h).await;
    let gateway = h.owner.get_sms_gateway(GetSmsGateway {}).await.unwrap();
    assert_eq!(gateway, SmsGateway { mode: SmsGatewayMode::Log, url: None, token_set: false });
    let http = |url: &str| SetSmsGateway {
        mode: SmsGatewayMode::Http,
        url: Some(url.into()),
        token: Some(SmsToken("tok-secret-123".into())),
        clear_token: None,
    };
    // https, or http to this computer only.
    let e = refused(h.owner.set_sms_gateway(http("http://sms.example/send")).await, ErrorCode::Validation, "https://");
    assert_eq!(e.field.as_deref(), Some("url"));
    refused(
        h.owner.set_sms_gateway(SetSmsGateway { mode: SmsGatewayMode::Http, ..Default::default() }).await,
        ErrorCode::Validation,
        "needs a URL",
    );
    let set = h.owner.set_sms_gateway(http("https://sms.example/send")).await.unwrap();
    assert_eq!(
        set,
        SmsGateway { mode: SmsGatewayMode::Http, url: Some("https://sms.example/send".into()), token_set: true }
    );
    let kept = h.owner.set_sms_gateway(SetSmsGateway { token: None, ..http("https://sms.example/v2") }).await.unwrap();
    assert!(kept.token_set, "an absent token keeps the stored one");
    let audit = h.owner.list_audit(ListAudit::default()).await.unwrap();
    let entries: Vec<&AuditEntry> = audit.items.iter().filter(|e| e.action == "set_sms_gateway").collect();
    assert_eq!(entries.len(), 2);
    assert!(!serde_json::to_string(&audit.items).unwrap().contains("tok-secret-123"), "never in the audit");

    // A helpdesk agent reads but does not set; an admin without the SMTP page or limited to
    // some domains does neither.
    let (desk, _) = h.admin("desk", Role::Helpdesk, &Page::ALL, None).await;
    assert_eq!(desk.get_sms_gateway(GetSmsGateway {}).await.unwrap(), kept);
    assert!(desk.list_sms_log(ListSmsLog::default()).await.is_ok());
    refused(desk.set_sms_gateway(http("https://evil.example/")).await, ErrorCode::PermissionDenied, "helpdesk");
    let (no_page, _) = h.admin("accounts-only", Role::Admin, &[Page::Accounts], None).await;
    refused(no_page.get_sms_gateway(GetSmsGateway {}).await, ErrorCode::PermissionDenied, "smtp");
    refused(no_page.list_sms_log(ListSmsLog::default()).await, ErrorCode::PermissionDenied, "smtp");
    assert!(no_page.get_account_phone(GetAccountPhone { address: ANN.into() }).await.is_ok());
    let (scoped, _) = h.admin("scoped", Role::Admin, &Page::ALL, Some(&[D])).await;
    refused(scoped.set_sms_gateway(http("https://evil.example/")).await, ErrorCode::PermissionDenied, "all of them");
    assert_eq!(h.owner.get_sms_gateway(GetSmsGateway {}).await.unwrap().url.as_deref(), Some("https://sms.example/v2"));

    // Back to the log: URL and token forgotten.
    let log = h.owner.set_sms_gateway(SetSmsGateway { mode: SmsGatewayMode::Log, ..Default::default() }).await.unwrap();
    assert_eq!(log, SmsGateway::default());
}

/// What the test gateway received: the Authorization header and the JSON body.
type Received = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

/// A small SMS gateway on 127.0.0.1 answering `status` (changeable) to every POST.
async fn gateway(status: Arc<std::sync::atomic::AtomicU16>) -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            let status = status.clone();
            async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_string());
                seen.lock().unwrap().push((auth, body.0));
                axum::http::StatusCode::from_u16(status.load(std::sync::atomic::Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn the_http_gateway_gets_the_message_and_a_refusal_binds_nothing(h: Harness) {
    setup(&h).await;
    let status = Arc::new(std::sync::atomic::AtomicU16::new(500));
    let (url, received) = gateway(status.clone()).await;
    let set = SetSmsGateway {
        mode: SmsGatewayMode::Http,
        url: Some(url),
        token: Some(SmsToken("tok-abc".into())),
        clear_token: None,
    };
    h.owner.set_sms_gateway(set).await.unwrap();
    set_for(&h, ANN, serde_json::json!({ "require_phone": true })).await;
    let ann = User::sign_in(&h, ANN).await;

    // The gateway answers 500: a clear error, no code stored, nothing bound, nothing logged.
    let e = refused(
        ann.send_code("+41791234567").await,
        ErrorCode::Unavailable,
        "SMS gateway refused the message (HTTP 500)",
    );
    assert!(e.message.contains("no code was sent"), "{e:?}");
    let phone = ann.phone().await.unwrap();
    assert_eq!((phone.phone, phone.pending), (None, None));
    assert!(ann.session().await.must_bind_phone);
    assert!(h.owner.list_sms_log(ListSmsLog::default()).await.unwrap().items.is_empty());
    assert!(
        portal_audit(&h).await.iter().any(|(a, after)| a == "portal_phone_code_failed" && after.contains("HTTP 500"))
    );

    // It answers 200: the POST carries the bearer token and {"to","text"}; the code binds.
    status.store(200, std::sync::atomic::Ordering::SeqCst);
    ann.send_code("+41791234567").await.unwrap();
    let (auth, body) = received.lock().unwrap().last().cloned().unwrap();
    assert_eq!(auth.as_deref(), Some("Bearer tok-abc"));
    assert_eq!(body["to"], "+41791234567");
    let text = body["text"].as_str().unwrap();
    let code: String = text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    assert_eq!(received.lock().unwrap().len(), 2);
    assert_eq!(ann.confirm(&code).await.unwrap().phone.as_deref(), Some("+********567"));
    assert!(!ann.session().await.must_bind_phone);
}
