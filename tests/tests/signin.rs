//! Admin sign-in for people: password (Argon2id), TOTP second factor with recovery codes,
//! sessions with idle and absolute time-outs, rate limits and the audit. The management
//! operations (`set_admin_password`, `start_two_factor`, …) run on both backends; the sign-in
//! steps are the engine's (`Engine::sign_in_at` with an injected clock), and the HTTP session
//! (cookie, anti-CSRF header, tokens and sessions apart) is tested against the real router.

use hmac::{Hmac, Mac};
use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_tests::{Harness, Kind, contract, refused};

contract!(
    an_admin_signs_in_with_password_and_totp_and_each_code_works_once,
    sessions_end_when_idle_too_old_or_signed_out_everywhere,
    an_unknown_name_and_a_wrong_password_get_one_answer_and_failures_are_limited,
    the_owner_requires_a_second_factor,
    an_admin_manages_only_its_own_sign_in,
    admin_sign_ins_and_failures_reach_the_login_log_of_admins_of_every_domain,
);

const PW: &str = "Correct horse 1";
const T0: i64 = 1_800_000_000;
fn ip(last: u8) -> Option<std::net::IpAddr> {
    Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, last)))
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret at `unix`, computed here.
fn totp(secret_base32: &str, unix: i64) -> String {
    let key = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).expect("base32 secret");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&((unix / 30) as u64).to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = (d[19] & 0x0f) as usize;
    let v = u32::from_be_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]) & 0x7fff_ffff;
    format!("{:06}", v % 1_000_000)
}

async fn admin_with_password(h: &Harness, name: &str, role: Role) -> std::sync::Arc<dyn postdesk_contract::Backend> {
    let (backend, _) = h.admin(name, role, &[Page::Accounts], None).await;
    h.owner
        .set_admin_password(SetAdminPassword {
            name: name.into(),
            password: Password(PW.into()),
            current_password: None,
        })
        .await
        .expect("set password");
    backend
}

fn signed_in(step: &SignInStep) -> &Caller {
    match &step.answer {
        SignInAnswer::SignedIn { caller, .. } => {
            assert!(step.session_secret.as_deref().is_some_and(|s| s.starts_with("ps_")), "a session secret");
            caller
        }
        other => panic!("expected signed in, got {other:?}"),
    }
}

fn ticket(step: &SignInStep) -> String {
    match &step.answer {
        SignInAnswer::SecondFactor { ticket } => {
            assert!(step.session_secret.is_none(), "no session before the second factor");
            ticket.clone()
        }
        other => panic!("expected a second-factor step, got {other:?}"),
    }
}

/// Sets up ann's second factor at `T0` through `backend`; the secret and recovery codes.
async fn enrol(backend: &dyn postdesk_contract::Backend, name: &str) -> (String, Vec<String>) {
    let setup = backend.start_two_factor(StartTwoFactor { name: name.into() }).await.unwrap();
    assert!(setup.uri.starts_with("otpauth://totp/Postdesk:") && setup.uri.contains(&setup.secret), "{}", setup.uri);
    // Confirmed with a code of "now" (the operation uses the real clock).
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let codes = backend
        .confirm_two_factor(ConfirmTwoFactor { name: name.into(), code: totp(&setup.secret, now) })
        .await
        .unwrap();
    (setup.secret, codes.codes)
}

async fn an_admin_signs_in_with_password_and_totp_and_each_code_works_once(h: Harness) {
    let ann = admin_with_password(&h, "ann", Role::Admin).await;
    let listed = h.owner.list_admins(ListAdmins::default()).await.unwrap().items;
    let shown = listed.iter().find(|a| a.name == "ann").unwrap();
    assert!(shown.password_set && !shown.two_factor, "{shown:?}");
    // A weak password is refused, naming the field, and changes nothing.
    let audit = h.audit_count().await;
    let weak = SetAdminPassword { name: "ann".into(), password: Password("short".into()), current_password: None };
    assert_eq!(
        refused(h.owner.set_admin_password(weak).await, ErrorCode::Validation, "").field.as_deref(),
        Some("password")
    );
    assert_eq!(h.audit_count().await, audit);

    // Password only.
    let step = h.engine.sign_in_at("ann", PW, ip(1), T0).await.unwrap();
    assert_eq!(signed_in(&step).name, "ann");

    // A second factor: a wrong confirmation code is refused, a right one gives recovery codes.
    let setup = ann.start_two_factor(StartTwoFactor { name: "ann".into() }).await.unwrap();
    let wrong = ConfirmTwoFactor { name: "ann".into(), code: "000000".into() };
    let wrong = if totp(&setup.secret, time::OffsetDateTime::now_utc().unix_timestamp()) == "000000" {
        ConfirmTwoFactor { code: "111111".into(), ..wrong }
    } else {
        wrong
    };
    assert_eq!(
        refused(ann.confirm_two_factor(wrong).await, ErrorCode::Validation, "does not match").field.as_deref(),
        Some("code")
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let codes = ann
        .confirm_two_factor(ConfirmTwoFactor { name: "ann".into(), code: totp(&setup.secret, now) })
        .await
        .unwrap()
        .codes;
    assert_eq!(codes.len(), 10);
    assert!(
        h.owner.list_admins(ListAdmins::default()).await.unwrap().items.iter().any(|a| a.name == "ann" && a.two_factor)
    );

    // Now the password alone is not enough: a ticket, then the code.
    let t = T0 + 3600;
    let first = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t).await.unwrap());
    let bad = if totp(&setup.secret, t) == "123456" { "654321" } else { "123456" };
    let err = refused(h.engine.second_factor_at(&first, bad, ip(1), t).await, ErrorCode::Unauthenticated, "wrong code");
    assert_eq!(err.field.as_deref(), Some("code"));
    let step = h.engine.second_factor_at(&first, &totp(&setup.secret, t), ip(1), t).await.unwrap();
    assert_eq!(signed_in(&step).name, "ann");
    // The ticket is spent, and the same code does not sign in twice (no replay).
    refused(
        h.engine.second_factor_at(&first, &totp(&setup.secret, t), ip(1), t).await,
        ErrorCode::Unauthenticated,
        "expired",
    );
    let again = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t + 5).await.unwrap());
    refused(
        h.engine.second_factor_at(&again, &totp(&setup.secret, t), ip(1), t + 5).await,
        ErrorCode::Unauthenticated,
        "wrong code",
    );
    // The next step's code works (one step of drift allowed either way).
    signed_in(&h.engine.second_factor_at(&again, &totp(&setup.secret, t + 30), ip(1), t + 5).await.unwrap());

    // A recovery code, typed any way, works once.
    let t2 = t + 600;
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t2).await.unwrap());
    let typed = codes[0].to_uppercase().replace('-', " ");
    signed_in(&h.engine.second_factor_at(&r, &typed, ip(1), t2).await.unwrap());
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t2).await.unwrap());
    refused(h.engine.second_factor_at(&r, &codes[0], ip(1), t2).await, ErrorCode::Unauthenticated, "wrong code");
    signed_in(&h.engine.second_factor_at(&r, &codes[1], ip(1), t2).await.unwrap());

    // A ticket allows five tries, then it is gone; it also ends after five minutes.
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t2).await.unwrap());
    for _ in 0..4 {
        refused(h.engine.second_factor_at(&r, bad, ip(1), t2).await, ErrorCode::Unauthenticated, "wrong code");
    }
    refused(h.engine.second_factor_at(&r, bad, ip(1), t2).await, ErrorCode::Unauthenticated, "last try");
    refused(
        h.engine.second_factor_at(&r, &totp(&setup.secret, t2), ip(1), t2).await,
        ErrorCode::Unauthenticated,
        "expired",
    );
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(1), t2).await.unwrap());
    refused(
        h.engine.second_factor_at(&r, &totp(&setup.secret, t2 + 301), ip(1), t2 + 301).await,
        ErrorCode::Unauthenticated,
        "expired",
    );

    // Every step is in the audit, with the client address and the kind of second factor.
    let audit = h.owner.list_audit(ListAudit { limit: Some(200), ..Default::default() }).await.unwrap().items;
    let of = |action: &str| audit.iter().filter(|e| e.action == action && e.target == "ann").count();
    assert_eq!(of("sign_in"), 5, "{audit:#?}");
    assert!(of("sign_in_failed") >= 8, "wrong codes audited");
    assert!(audit.iter().any(|e| e.action == "sign_in" && json(&e.after).contains("recovery_code")));
    assert!(audit.iter().any(|e| e.action == "sign_in" && json(&e.after).contains("192.0.2.1")));
}

async fn sessions_end_when_idle_too_old_or_signed_out_everywhere(h: Harness) {
    let ann = admin_with_password(&h, "ann", Role::Admin).await;
    let policy = h.owner.get_sign_in_policy(GetSignInPolicy {}).await.unwrap();
    assert_eq!((policy.idle_minutes, policy.absolute_minutes, policy.require_two_factor), (30, 720, false));
    for (idle, absolute, field) in [(0, 60, "idle_minutes"), (1441, 60, "idle_minutes"), (30, 4, "absolute_minutes")] {
        let p =
            SetSignInPolicy { require_two_factor: false, idle_minutes: Some(idle), absolute_minutes: Some(absolute) };
        assert_eq!(
            refused(h.owner.set_sign_in_policy(p).await, ErrorCode::Validation, "").field.as_deref(),
            Some(field)
        );
    }
    let p = SetSignInPolicy { require_two_factor: false, idle_minutes: Some(10), absolute_minutes: Some(60) };
    h.owner.set_sign_in_policy(p).await.unwrap();

    let secret = |s: SignInStep| s.session_secret.unwrap();
    // Used every 9 minutes it lives; 10 minutes and a second unused, it ends.
    let s = secret(h.engine.sign_in_at("ann", PW, ip(1), T0).await.unwrap());
    for k in 1..=5 {
        assert_eq!(h.engine.session_at(&s, T0 + k * 540).await.unwrap().0.name, "ann");
    }
    let late = T0 + 5 * 540 + 601;
    refused(h.engine.session_at(&s, late).await, ErrorCode::Unauthenticated, "10 minutes without use");
    refused(h.engine.session_at(&s, T0 + 5 * 540 + 60).await, ErrorCode::Unauthenticated, "not signed in");
    // Used all along, it still ends an hour after sign-in.
    let s = secret(h.engine.sign_in_at("ann", PW, ip(1), T0).await.unwrap());
    for k in 1..=6 {
        let at = T0 + k * 540;
        assert!(h.engine.session_at(&s, at).await.is_ok(), "{k}");
    }
    refused(h.engine.session_at(&s, T0 + 3600).await, ErrorCode::Unauthenticated, "time limit (60 minutes)");
    // The answer carries the anti-CSRF token and the end.
    let s = secret(h.engine.sign_in_at("ann", PW, ip(1), T0).await.unwrap());
    let (_, answer) = h.engine.session_at(&s, T0 + 1).await.unwrap();
    let SignInAnswer::SignedIn { csrf_token, idle_minutes, .. } = answer else { panic!() };
    assert_eq!((csrf_token.len(), idle_minutes), (32, 10));
    // Sign out everywhere: every session of ann ends, her API token does not.
    let s2 = secret(h.engine.sign_in_at("ann", PW, ip(2), T0).await.unwrap());
    assert_eq!(ann.end_sessions(EndSessions { name: "ann".into() }).await.unwrap(), 2);
    refused(h.engine.session_at(&s, T0 + 2).await, ErrorCode::Unauthenticated, "not signed in");
    refused(h.engine.session_at(&s2, T0 + 2).await, ErrorCode::Unauthenticated, "not signed in");
    assert_eq!(ann.whoami(WhoAmI {}).await.unwrap().name, "ann");
    // A new password ends the sessions signed in with the old one; sign-out ends one.
    let s = secret(h.engine.sign_in_at("ann", PW, ip(1), T0).await.unwrap());
    let change = SetAdminPassword {
        name: "ann".into(),
        password: Password("Another horse 2".into()),
        current_password: Some(Password(PW.into())),
    };
    ann.set_admin_password(change).await.unwrap();
    refused(h.engine.session_at(&s, T0 + 2).await, ErrorCode::Unauthenticated, "not signed in");
    let s = secret(h.engine.sign_in_at("ann", "Another horse 2", ip(1), T0).await.unwrap());
    h.engine.sign_out(&s).await.unwrap();
    refused(h.engine.session_at(&s, T0 + 2).await, ErrorCode::Unauthenticated, "not signed in");
    // Sessions and tokens are apart: a session secret is no token, a token no session.
    refused(h.engine.authenticate(&s).await, ErrorCode::Unauthenticated, "not valid");
    let token = h.owner.create_token(CreateToken { admin: "ann".into(), ..Default::default() }).await.unwrap();
    refused(h.engine.session_at(&token.secret, T0).await, ErrorCode::Unauthenticated, "not signed in");
}

async fn an_unknown_name_and_a_wrong_password_get_one_answer_and_failures_are_limited(h: Harness) {
    admin_with_password(&h, "ann", Role::Admin).await;
    h.admin("nopw", Role::Admin, &[Page::Accounts], None).await;
    let wrong = h.engine.sign_in_at("ann", "not her password", ip(1), T0).await.unwrap_err();
    let unknown = h.engine.sign_in_at("nobody", PW, ip(1), T0).await.unwrap_err();
    let no_password = h.engine.sign_in_at("nopw", PW, ip(1), T0).await.unwrap_err();
    let not_a_name = h.engine.sign_in_at("a b\u{7}c", PW, ip(1), T0).await.unwrap_err();
    for e in [&unknown, &no_password, &not_a_name] {
        assert_eq!((e.code, &e.message, &e.field), (wrong.code, &wrong.message, &wrong.field));
    }
    assert_eq!(wrong.code, ErrorCode::Unauthenticated);
    // The audit keeps the real reason.
    let audit = h.owner.list_audit(ListAudit { limit: Some(100), ..Default::default() }).await.unwrap().items;
    let reasons: Vec<String> = audit.iter().filter(|e| e.action == "sign_in_failed").map(|e| json(&e.after)).collect();
    for reason in ["wrong_password", "unknown_name", "no_password_set"] {
        assert!(reasons.iter().any(|r| r.contains(reason)), "{reason} in {reasons:?}");
    }

    // Per name: after 10 failures within 15 minutes (from any addresses) even the right
    // password is refused unchecked, for a known and an unknown name alike.
    for k in 0..9 {
        h.engine.sign_in_at("ann", "wrong", ip(10 + k), T0 + 1).await.unwrap_err();
        h.engine.sign_in_at("ghost", "wrong", ip(10 + k), T0 + 1).await.unwrap_err();
    }
    h.engine.sign_in_at("ghost", "wrong", ip(9), T0 + 1).await.unwrap_err();
    for name in ["ann", "ghost"] {
        refused(
            h.engine.sign_in_at(name, PW, ip(50), T0 + 2).await,
            ErrorCode::LimitExceeded,
            "too many failed sign-ins",
        );
    }
    // …until the window has passed.
    signed_in(&h.engine.sign_in_at("ann", PW, ip(50), T0 + 2 + 15 * 60).await.unwrap());
    // Per client: 30 failures from one address over any names shut that address out, not others.
    for k in 0..30 {
        h.engine.sign_in_at(&format!("guess{k}"), "x", ip(99), T0 + 2000).await.unwrap_err();
    }
    refused(h.engine.sign_in_at("ann", PW, ip(99), T0 + 2001).await, ErrorCode::LimitExceeded, "from this address");
    signed_in(&h.engine.sign_in_at("ann", PW, ip(98), T0 + 2001).await.unwrap());
    let audit = h.owner.list_audit(ListAudit { limit: Some(1000), ..Default::default() }).await.unwrap().items;
    assert!(
        audit.iter().any(|e| e.action == "sign_in_refused" && json(&e.after).contains("too_many_failures_from_client"))
    );
    assert!(
        audit.iter().any(|e| e.action == "sign_in_refused" && json(&e.after).contains("too_many_failures_for_name"))
    );
}

async fn the_owner_requires_a_second_factor(h: Harness) {
    let ann = admin_with_password(&h, "ann", Role::Admin).await;
    admin_with_password(&h, "bob", Role::Admin).await;
    let (boss, _) = h.admin("boss", Role::Owner, &[], None).await;
    h.owner
        .set_admin_password(SetAdminPassword {
            name: "boss".into(),
            password: Password(PW.into()),
            current_password: None,
        })
        .await
        .unwrap();
    let bob_session = h.engine.sign_in_at("bob", PW, ip(1), T0).await.unwrap().session_secret.unwrap();
    let require = SetSignInPolicy { require_two_factor: true, ..Default::default() };
    // An owner without a second factor would lock itself out.
    let err = refused(
        boss.set_sign_in_policy(require.clone()).await,
        ErrorCode::Conflict,
        "set up your own second factor first",
    );
    assert_eq!(err.field.as_deref(), Some("require_two_factor"));
    enrol(boss.as_ref(), "boss").await;
    enrol(ann.as_ref(), "ann").await;
    assert!(boss.set_sign_in_policy(require).await.unwrap().require_two_factor);
    // bob has none: his session ended, and the right password is not enough, saying why.
    refused(h.engine.session_at(&bob_session, T0 + 1).await, ErrorCode::Unauthenticated, "not signed in");
    refused(
        h.engine.sign_in_at("bob", PW, ip(1), T0 + 2).await,
        ErrorCode::PermissionDenied,
        "requires a second factor",
    );
    // …whereas a wrong password is told only that.
    refused(
        h.engine.sign_in_at("bob", "wrong", ip(1), T0 + 2).await,
        ErrorCode::Unauthenticated,
        "wrong name or password",
    );
    ticket(&h.engine.sign_in_at("ann", PW, ip(1), T0 + 3).await.unwrap());
    // ann may not drop her own second factor now; an owner may.
    refused(
        ann.remove_two_factor(RemoveTwoFactor { name: "ann".into() }).await,
        ErrorCode::PermissionDenied,
        "only an owner",
    );
    boss.remove_two_factor(RemoveTwoFactor { name: "ann".into() }).await.unwrap();
    refused(
        h.engine.sign_in_at("ann", PW, ip(1), T0 + 4).await,
        ErrorCode::PermissionDenied,
        "requires a second factor",
    );
    // API tokens are another way in, not concerned.
    assert_eq!(ann.whoami(WhoAmI {}).await.unwrap().name, "ann");
}

async fn an_admin_manages_only_its_own_sign_in(h: Harness) {
    let ann = admin_with_password(&h, "ann", Role::Admin).await;
    let desk = admin_with_password(&h, "desk", Role::Helpdesk).await;
    let audit = h.audit_count().await;
    // Another admin's: refused, for an admin and a helpdesk agent alike.
    for (b, name) in [(&ann, "desk"), (&desk, "ann")] {
        let other = || name.to_string();
        let pw =
            SetAdminPassword { name: other(), password: Password("Another horse 2".into()), current_password: None };
        refused(b.set_admin_password(pw).await, ErrorCode::PermissionDenied, "only its own");
        refused(
            b.start_two_factor(StartTwoFactor { name: other() }).await,
            ErrorCode::PermissionDenied,
            "only its own",
        );
        refused(
            b.remove_two_factor(RemoveTwoFactor { name: other() }).await,
            ErrorCode::PermissionDenied,
            "only its own",
        );
        refused(b.end_sessions(EndSessions { name: other() }).await, ErrorCode::PermissionDenied, "only its own");
        let p = SetSignInPolicy { require_two_factor: false, ..Default::default() };
        refused(b.set_sign_in_policy(p).await, ErrorCode::PermissionDenied, "");
    }
    assert_eq!(h.audit_count().await, audit, "nothing changed");
    // Its own: the helpdesk too (read-only for everything else), with the current password.
    let change = |current: Option<&str>| SetAdminPassword {
        name: "desk".into(),
        password: Password("Another horse 2".into()),
        current_password: current.map(|c| Password(c.into())),
    };
    refused(desk.set_admin_password(change(None)).await, ErrorCode::Validation, "current password is wrong");
    refused(desk.set_admin_password(change(Some("nope"))).await, ErrorCode::Validation, "current password is wrong");
    desk.set_admin_password(change(Some(PW))).await.unwrap();
    signed_in(&h.engine.sign_in_at("desk", "Another horse 2", ip(1), T0).await.unwrap());
    enrol(desk.as_ref(), "desk").await;
    refused(
        desk.confirm_two_factor(ConfirmTwoFactor { name: "desk".into(), code: "123456".into() }).await,
        ErrorCode::Conflict,
        "no second factor is being set up",
    );
    assert_eq!(desk.end_sessions(EndSessions { name: "desk".into() }).await.unwrap(), 1);
    // An unknown admin is not found (for an owner), never a silent success.
    refused(
        h.owner.start_two_factor(StartTwoFactor { name: "nobody".into() }).await,
        ErrorCode::NotFound,
        "does not exist",
    );
}

/// The HTTP face: the cookie's flags, the anti-CSRF header, tokens and sessions kept apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_strict_and_needs_its_csrf_token() {
    let h = Harness::new(Kind::Remote).await;
    admin_with_password(&h, "ann", Role::Admin).await;
    let url = h.url().unwrap().to_string();
    let cert = reqwest::Certificate::from_pem(h.cert_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(cert).build().unwrap();
    let sign_in = |body: serde_json::Value, json: bool| {
        let mut r = http.post(format!("{url}/api/session")).body(body.to_string());
        if json {
            r = r.header("content-type", "application/json");
        }
        r.send()
    };
    // A form post (what another site could make a browser send) is refused.
    let r = sign_in(serde_json::json!({ "name": "ann", "password": PW }), false).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("set-cookie").is_none());
    let r = sign_in(serde_json::json!({ "name": "ann", "password": "wrong" }), true).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = sign_in(serde_json::json!({ "name": "ann", "password": PW }), true).await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-postdesk_session=ps_"), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["step"], "signed_in");
    let csrf = answer["csrf_token"].as_str().unwrap().to_string();
    assert!(!answer.to_string().contains("ps_"), "the session secret is only in the cookie");
    let pair = cookie.split(';').next().unwrap().to_string();
    let secret = pair.split_once('=').unwrap().1.to_string();

    let whoami = |csrf: Option<&str>, cookie: Option<&str>, bearer: Option<&str>| {
        let mut r = http.get(format!("{url}/api/whoami"));
        if let Some(c) = csrf {
            r = r.header("x-postdesk-csrf", c);
        }
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        r.send()
    };
    let ok = whoami(Some(&csrf), Some(&pair), None).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["name"], "ann");
    // Without the anti-CSRF token, or with another, refused.
    for sent in [None, Some("0".repeat(32))] {
        let r = whoami(sent.as_deref(), Some(&pair), None).await.unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("anti-CSRF"));
    }
    // The session secret is no bearer token, and a token is no session cookie.
    assert_eq!(whoami(None, None, Some(&secret)).await.unwrap().status(), 401);
    let token = h.owner.create_token(CreateToken { admin: "ann".into(), ..Default::default() }).await.unwrap();
    let as_cookie = format!("__Host-postdesk_session={}", token.secret);
    assert_eq!(whoami(Some(&csrf), Some(&as_cookie), None).await.unwrap().status(), 401);
    assert_eq!(whoami(None, None, Some(&token.secret)).await.unwrap().status(), 200);
    // A reloaded page gets the token back with the cookie alone.
    let current = http.get(format!("{url}/api/session")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(current.json::<serde_json::Value>().await.unwrap()["csrf_token"], csrf.as_str());
    // Sign-out needs the token too, then clears the cookie and ends the session.
    let out = http.delete(format!("{url}/api/session")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(out.status(), 403);
    let out = http
        .delete(format!("{url}/api/session"))
        .header("cookie", &pair)
        .header("x-postdesk-csrf", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(whoami(Some(&csrf), Some(&pair), None).await.unwrap().status(), 401);
}

/// An audit entry's `after` as text.
fn json(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

/// The login log's admin sign-in rows as `b` sees them, oldest first: (login, client,
/// outcome, reason).
async fn admin_logins(b: &dyn postdesk_contract::Backend) -> Vec<(String, String, String, String)> {
    let page = b.list_logins(ListLogins { limit: Some(500), ..Default::default() }).await.unwrap();
    let mut rows: Vec<_> = page
        .items
        .into_iter()
        .filter(|r| r.service == "admin")
        .inspect(|r| assert_eq!((&r.account, &r.domain), (&None, &None), "{r:?}"))
        .inspect(|r| assert!(!r.explanation.contains('_'), "said in words: {r:?}"))
        .map(|r| (r.login, r.client, r.outcome, r.reason))
        .collect();
    rows.reverse();
    rows
}

async fn admin_sign_ins_and_failures_reach_the_login_log_of_admins_of_every_domain(h: Harness) {
    let ann = admin_with_password(&h, "ann", Role::Admin).await;
    let v6: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    let row = |login: &str, client: &str, outcome: &str, reason: &str| {
        (login.to_string(), client.to_string(), outcome.to_string(), reason.to_string())
    };
    h.engine.sign_in_at("Nobody", PW, ip(1), T0).await.unwrap_err();
    h.engine.sign_in_at("ann", "not her password", Some(v6), T0).await.unwrap_err();
    signed_in(&h.engine.sign_in_at("ann", PW, ip(2), T0).await.unwrap());
    let (secret, codes) = enrol(ann.as_ref(), "ann").await;
    let t = T0 + 3600;
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(3), t).await.unwrap());
    let bad = if totp(&secret, t) == "000000" { "111111" } else { "000000" };
    h.engine.second_factor_at(&r, bad, ip(3), t).await.unwrap_err();
    signed_in(&h.engine.second_factor_at(&r, &totp(&secret, t), ip(3), t).await.unwrap());
    let r = ticket(&h.engine.sign_in_at("ann", PW, ip(3), t).await.unwrap());
    signed_in(&h.engine.second_factor_at(&r, &codes[0], ip(3), t).await.unwrap());
    let expected = vec![
        row("nobody", "192.0.2.1", "refused", "unknown_name"),
        row("ann", "2001:db8::7", "refused", "wrong_password"),
        row("ann", "192.0.2.2", "accepted", "accepted"),
        row("ann", "192.0.2.3", "refused", "wrong_second_factor"),
        row("ann", "192.0.2.3", "accepted", "accepted_totp"),
        row("ann", "192.0.2.3", "accepted", "accepted_recovery_code"),
    ];
    assert_eq!(admin_logins(h.owner.as_ref()).await, expected);
    let texts: Vec<String> =
        h.owner.list_logins(ListLogins::default()).await.unwrap().items.into_iter().map(|r| r.explanation).collect();
    assert!(texts.iter().any(|t| t.contains("recovery code")), "{texts:?}");

    // Refused unchecked past the limit: logged too.
    for k in 0..10 {
        h.engine.sign_in_at("ghost", "wrong", ip(10 + k), T0).await.unwrap_err();
    }
    refused(h.engine.sign_in_at("ghost", "x", ip(60), T0).await, ErrorCode::LimitExceeded, "too many");
    let rows = admin_logins(h.owner.as_ref()).await;
    assert_eq!(rows.last(), Some(&row("ghost", "192.0.2.60", "refused", "too_many_failures_for_name")));

    // Admin sign-ins have no domain: an admin of every domain sees them (a helpdesk too), an
    // admin limited to some domains does not.
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    assert_eq!(admin_logins(desk.as_ref()).await, rows);
    h.domain("a.example", 10).await;
    let (sub, _) = h.admin("sub", Role::Admin, &[Page::Accounts], Some(&["a.example"])).await;
    assert_eq!(admin_logins(sub.as_ref()).await, vec![]);
}
