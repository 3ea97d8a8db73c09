//! The login log (`list_logins`): every SMTP/IMAP/POP3 login attempt the engine checked,
//! with its reason, filtered by account and domain, paged with `before`, and only within
//! the caller's domains. Every test runs on the in-process backend and on the remote
//! client against the real server over TLS. The 403 row of `list_logins` is in the role
//! table of `contract.rs` with all the others.

use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::mail::{Login, LoginAttempt, LoginService};
use postdesk_contract::model::*;
use postdesk_contract::settings::Settings;
use postdesk_engine::DEFAULT_LOCKOUT_THRESHOLD;
use postdesk_tests::{Harness, contract, refused};

contract!(
    every_attempt_is_listed_with_its_reason_in_plain_words,
    the_log_filters_by_account_and_domain,
    long_logs_page_with_before_and_a_bounded_limit,
    a_domain_admin_sees_only_its_own_domains_logins,
    the_helpdesk_reads_the_login_log,
);

const PW: &str = "Correct horse 1";
const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

async fn attempt(h: &Harness, login: &str, password: &str, service: LoginService) -> Login {
    h.engine.verify_login(LoginAttempt { login, password, service, client: CLIENT }).await.expect("verify_login")
}

async fn account(h: &Harness, address: &str, password: Option<&str>, force: bool) {
    let params = CreateAccount {
        address: address.into(),
        password: password.map(|p| Password(p.into())),
        force_password_change: Some(force),
        ..Default::default()
    };
    h.owner.create_account(params).await.expect("create account");
}

/// example.com: ann, new (must change the password), pia (POP3 off), nopw (no password),
/// dis (disabled); other.org: bob.
async fn organisation(h: &Harness) {
    h.domain("example.com", 100).await;
    h.domain("other.org", 100).await;
    account(h, "ann@example.com", Some(PW), false).await;
    account(h, "new@example.com", Some(PW), true).await;
    account(h, "pia@example.com", Some(PW), false).await;
    account(h, "nopw@example.com", None, false).await;
    account(h, "dis@example.com", Some(PW), false).await;
    account(h, "bob@other.org", Some(PW), false).await;
    let off = UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["pia@example.com".into()] },
        set: Some(Settings { pop3: Some(false), ..Default::default() }),
        clear: None,
    };
    h.owner.update_settings(off).await.expect("pop3 off");
    let disable = UpdateAccount {
        address: "dis@example.com".into(),
        status: Some(AccountStatus::Disabled),
        ..Default::default()
    };
    h.owner.update_account(disable).await.expect("disable");
}

async fn logins(b: &dyn postdesk_contract::Backend, params: ListLogins) -> LoginLog {
    b.list_logins(params).await.expect("list_logins")
}

fn filter(account: Option<&str>, domain: Option<&str>) -> ListLogins {
    ListLogins { account: account.map(String::from), domain: domain.map(String::from), ..Default::default() }
}

/// `(service, login, account, domain, outcome, reason)` of each row.
type Brief = (String, String, Option<String>, Option<String>, String, String);

fn brief(log: &LoginLog) -> Vec<Brief> {
    log.items
        .iter()
        .map(|r| {
            (
                r.service.clone(),
                r.login.clone(),
                r.account.clone(),
                r.domain.clone(),
                r.outcome.clone(),
                r.reason.clone(),
            )
        })
        .collect()
}

fn row(service: &str, login: &str, account: Option<&str>, domain: Option<&str>, reason: &str) -> Brief {
    let outcome = if reason.starts_with("accepted") { "accepted" } else { "refused" };
    (service.into(), login.into(), account.map(String::from), domain.map(String::from), outcome.into(), reason.into())
}

async fn every_attempt_is_listed_with_its_reason_in_plain_words(h: Harness) {
    organisation(&h).await;
    assert!(logins(h.owner.as_ref(), ListLogins::default()).await.items.is_empty(), "nothing yet");
    use LoginService::{Imap, Pop3, Smtp};
    attempt(&h, "ann@example.com", PW, Imap).await;
    attempt(&h, "Ann@Example.com", "wrong", Pop3).await;
    attempt(&h, "anne@example.com", PW, Imap).await;
    attempt(&h, "ann@elsewhere.example", PW, Imap).await;
    attempt(&h, "ann", PW, Imap).await;
    attempt(&h, "pia@example.com", PW, Pop3).await;
    attempt(&h, "new@example.com", PW, Imap).await;
    attempt(&h, "new@example.com", PW, Smtp).await;
    attempt(&h, "nopw@example.com", PW, Imap).await;
    attempt(&h, "dis@example.com", PW, Imap).await;
    for _ in 0..DEFAULT_LOCKOUT_THRESHOLD {
        attempt(&h, "bob@other.org", "guess", Imap).await;
    }
    attempt(&h, "bob@other.org", PW, Imap).await;

    let log = logins(h.owner.as_ref(), ListLogins::default()).await;
    let (ann, bob) = (Some("ann@example.com"), Some("bob@other.org"));
    let (ex, other) = (Some("example.com"), Some("other.org"));
    let mut expected = vec![
        row("imap", "bob@other.org", bob, other, "client_locked_out"),
        row("imap", "bob@other.org", bob, other, "wrong_password_client_locked_out"),
    ];
    for _ in 1..DEFAULT_LOCKOUT_THRESHOLD {
        expected.push(row("imap", "bob@other.org", bob, other, "wrong_password"));
    }
    expected.extend([
        row("imap", "dis@example.com", Some("dis@example.com"), ex, "disabled"),
        row("imap", "nopw@example.com", Some("nopw@example.com"), ex, "no_password_set"),
        row("smtp", "new@example.com", Some("new@example.com"), ex, "accepted_password_change_pending"),
        row("imap", "new@example.com", Some("new@example.com"), ex, "password_change_required"),
        row("pop3", "pia@example.com", Some("pia@example.com"), ex, "service_disabled"),
        row("imap", "ann", None, None, "wrong_credentials"),
        row("imap", "ann@elsewhere.example", None, None, "unknown_address"),
        row("imap", "anne@example.com", None, ex, "unknown_address"),
        row("pop3", "Ann@Example.com", ann, ex, "wrong_password"),
        row("imap", "ann@example.com", ann, ex, "accepted"),
    ]);
    assert_eq!(brief(&log), expected, "newest first; a typo in one of our domains is listed under that domain");
    let words = |reason: &str| {
        let r = log.items.iter().find(|r| r.reason == reason).expect(reason);
        r.explanation.clone()
    };
    assert!(words("client_locked_out").starts_with("refused unchecked: this client address"));
    assert!(words("wrong_password_client_locked_out").contains("kept out of the account for 15 minutes"));
    assert_eq!(words("password_change_required"), "must change the password first");
    assert_eq!(words("service_disabled"), "POP3 switched off for this account");
    assert_eq!(words("wrong_password"), "wrong password");
    assert_eq!(words("accepted"), "logged in");
    assert!(log.items.iter().all(|r| r.client == "192.0.2.7"), "the client's address");
    assert!(log.items.windows(2).all(|w| w[0].id > w[1].id), "ids fall");
    assert!(log.items.iter().all(|r| !r.at.is_empty() && r.at.ends_with('Z')), "RFC 3339 UTC");
}

async fn the_log_filters_by_account_and_domain(h: Harness) {
    organisation(&h).await;
    h.owner
        .add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "anna@example.com".into() })
        .await
        .unwrap();
    attempt(&h, "ann@example.com", PW, LoginService::Imap).await;
    attempt(&h, "anna@example.com", "wrong", LoginService::Pop3).await;
    attempt(&h, "pia@example.com", PW, LoginService::Imap).await;
    attempt(&h, "bob@other.org", PW, LoginService::Smtp).await;
    attempt(&h, "nobody@other.org", PW, LoginService::Smtp).await;
    attempt(&h, "no address", PW, LoginService::Smtp).await;

    let logins_of = |b: ListLogins| {
        let owner = h.owner.clone();
        async move { brief(&logins(owner.as_ref(), b).await).into_iter().map(|r| r.1).collect::<Vec<_>>() }
    };
    assert_eq!(logins_of(filter(Some("ANN@example.com"), None)).await, ["anna@example.com", "ann@example.com"]);
    assert_eq!(
        logins_of(filter(Some("anna@example.com"), None)).await,
        ["anna@example.com", "ann@example.com"],
        "an account alias names its account"
    );
    assert_eq!(logins_of(filter(None, Some("Other.ORG"))).await, ["nobody@other.org", "bob@other.org"]);
    assert_eq!(logins_of(filter(Some("ann@example.com"), Some("other.org"))).await, Vec::<String>::new());
    assert_eq!(logins_of(filter(Some("pia@example.com"), Some("example.com"))).await, ["pia@example.com"]);
    assert_eq!(logins_of(filter(None, None)).await.len(), 6, "the owner sees everything");
    assert!(logins_of(filter(Some("gone@example.com"), None)).await.is_empty());

    let bad = h.owner.list_logins(filter(Some("not an address"), None)).await.unwrap_err();
    assert_eq!((bad.code, bad.field.as_deref()), (ErrorCode::Validation, Some("address")));
    let bad = h.owner.list_logins(filter(None, Some("not a domain"))).await.unwrap_err();
    assert_eq!((bad.code, bad.field.as_deref()), (ErrorCode::Validation, Some("domain")));
}

async fn long_logs_page_with_before_and_a_bounded_limit(h: Harness) {
    h.domain("example.com", 10).await;
    account(&h, "ann@example.com", Some(PW), false).await;
    // Logins that are no address are refused before any password hashing: quick to make.
    for i in 0..MAX_LOGIN_PAGE + 5 {
        attempt(&h, &format!("junk {i}"), "x", LoginService::Smtp).await;
    }
    for _ in 0..7 {
        attempt(&h, "ann@example.com", PW, LoginService::Imap).await;
    }

    let mut seen = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let params =
            ListLogins { account: Some("ann@example.com".into()), before, limit: Some(3), ..Default::default() };
        let page = logins(h.owner.as_ref(), params).await;
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_before {
            Some(id) => {
                assert_eq!(Some(&id), seen.last(), "the cursor is the page's oldest id");
                before = Some(id);
            }
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 7), "3 + 3 + 1, and the last page says so");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no row twice");

    // An exactly full last page says there is no more.
    let all =
        logins(h.owner.as_ref(), ListLogins { account: Some("ann@example.com".into()), ..Default::default() }).await;
    assert_eq!((all.items.len(), all.next_before), (7, None));
    let seven = ListLogins { account: Some("ann@example.com".into()), limit: Some(7), ..Default::default() };
    assert_eq!(logins(h.owner.as_ref(), seven).await.next_before, None);

    let huge = logins(h.owner.as_ref(), ListLogins { limit: Some(100_000), ..Default::default() }).await;
    assert_eq!(huge.items.len(), MAX_LOGIN_PAGE as usize, "the limit has a maximum");
    assert!(huge.next_before.is_some());
    let rest = ListLogins { before: huge.next_before, limit: Some(100_000), ..Default::default() };
    assert_eq!(logins(h.owner.as_ref(), rest).await.items.len(), 12);
    let tiny = logins(h.owner.as_ref(), ListLogins { limit: Some(0), ..Default::default() }).await;
    assert_eq!(tiny.items.len(), 1, "at least one row");
    let default = logins(h.owner.as_ref(), ListLogins::default()).await;
    assert_eq!(default.items.len(), 50, "50 by default");
}

async fn a_domain_admin_sees_only_its_own_domains_logins(h: Harness) {
    organisation(&h).await;
    attempt(&h, "ann@example.com", "wrong", LoginService::Imap).await;
    attempt(&h, "anne@example.com", PW, LoginService::Imap).await;
    attempt(&h, "no address", PW, LoginService::Imap).await;
    attempt(&h, "bob@other.org", PW, LoginService::Pop3).await;
    attempt(&h, "bobby@other.org", PW, LoginService::Pop3).await;

    let (alice, _) = h.admin("alice", Role::Admin, &Page::ALL, Some(&["other.org"])).await;
    let everything = logins(alice.as_ref(), ListLogins::default()).await;
    let mine: Vec<String> = everything.items.iter().map(|r| r.login.clone()).collect();
    assert_eq!(mine, ["bobby@other.org", "bob@other.org"], "nothing of example.com, nothing of no domain");
    refused(alice.list_logins(filter(None, Some("example.com"))).await, ErrorCode::PermissionDenied, "example.com");
    refused(alice.list_logins(filter(Some("ann@example.com"), None)).await, ErrorCode::PermissionDenied, "example.com");
    refused(
        alice.list_logins(filter(Some("nobody@example.com"), None)).await,
        ErrorCode::PermissionDenied,
        "example.com",
    );
    let own = logins(alice.as_ref(), filter(Some("bob@other.org"), Some("other.org"))).await;
    assert_eq!(own.items.len(), 1);

    // Without the accounts page there is no login log.
    let (carol, _) = h.admin("carol", Role::Admin, &[Page::Aliases], None).await;
    refused(carol.list_logins(ListLogins::default()).await, ErrorCode::PermissionDenied, "accounts page");
    // An admin of all domains sees the rows of no domain too.
    let (dave, _) = h.admin("dave", Role::Admin, &[Page::Accounts], None).await;
    assert_eq!(logins(dave.as_ref(), ListLogins::default()).await.items.len(), 5);
}

async fn the_helpdesk_reads_the_login_log(h: Harness) {
    organisation(&h).await;
    attempt(&h, "pia@example.com", PW, LoginService::Pop3).await;
    attempt(&h, "bob@other.org", PW, LoginService::Pop3).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], Some(&["example.com"])).await;
    let log = logins(desk.as_ref(), filter(Some("pia@example.com"), None)).await;
    assert_eq!(log.items.len(), 1);
    assert_eq!(
        (log.items[0].reason.as_str(), log.items[0].explanation.as_str()),
        ("service_disabled", "POP3 switched off for this account"),
        "why can't she log in"
    );
    let all = logins(desk.as_ref(), ListLogins::default()).await;
    assert_eq!(brief(&all).into_iter().map(|r| r.1).collect::<Vec<_>>(), ["pia@example.com"]);
    refused(desk.list_logins(filter(None, Some("other.org"))).await, ErrorCode::PermissionDenied, "other.org");
    // Reading the log changes nothing, so it is no audited change.
    let before = h.audit_count().await;
    logins(desk.as_ref(), ListLogins::default()).await;
    assert_eq!(h.audit_count().await, before);
}
