//! The engine behind the SMTP seams, without a network: what the directory and the policy
//! answer for an organisation provisioned through the Backend.

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::{AccountStatus, SendPermission};
use postdesk_contract::settings::Settings;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::{
    Account, AuthOutcome, Directory, ListenerKind, Policy, PolicyRequest, RecipientStatus, Stage, Verdict,
};
use postdesk_mailserver::{BackendDirectory, BackendPolicy};

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

const PASSWORD: &str = "Correct horse 1";

fn account(address: &str, department: Option<&str>, quota_mb: Option<u32>) -> CreateAccount {
    CreateAccount {
        address: address.into(),
        display_name: None,
        department: department.map(str::to_string),
        notes: None,
        password: Some(Password(PASSWORD.into())),
        force_password_change: None,
        quota_mb,
    }
}

/// example.com: ann (alias sales@), bob in Sales (external send off), carl the catch-all
/// collector with external receive off, dora (1 MiB), erin (SMTP off), group team@ of
/// ann and bob for the same domain only; example.org: zed.
async fn organisation() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    for d in ["example.com", "example.org"] {
        b.create_domain(CreateDomain { domain: d.into(), limits: None, group: None }).await.unwrap();
    }
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Sales".into(), parents: None })
        .await
        .unwrap();
    b.create_account(account("ann@example.com", None, None)).await.unwrap();
    b.create_account(account("bob@example.com", Some("Sales"), None)).await.unwrap();
    b.create_account(account("carl@example.com", None, None)).await.unwrap();
    b.create_account(account("dora@example.com", None, Some(1))).await.unwrap();
    b.create_account(account("erin@example.com", None, None)).await.unwrap();
    b.create_account(account("zed@example.org", None, None)).await.unwrap();
    b.add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "sales@example.com".into() })
        .await
        .unwrap();
    b.create_group(CreateGroup {
        address: "team@example.com".into(),
        name: "Team".into(),
        send_permission: Some(SendPermission::SameDomain),
        members: Some(vec!["ann@example.com".into(), "bob@example.com".into()]),
        departments: None,
        allowed_senders: None,
    })
    .await
    .unwrap();
    let set = |target: BatchTarget, settings: Settings| UpdateSettings {
        domain: "example.com".into(),
        target,
        set: Some(settings),
        clear: None,
    };
    b.update_settings(set(
        BatchTarget::Department { path: "Sales".into(), subdepartments: None },
        Settings { external_send: Some(false), ..Default::default() },
    ))
    .await
    .unwrap();
    b.update_settings(set(
        BatchTarget::Accounts { addresses: vec!["carl@example.com".into()] },
        Settings { external_receive: Some(false), ..Default::default() },
    ))
    .await
    .unwrap();
    b.update_settings(set(
        BatchTarget::Accounts { addresses: vec!["erin@example.com".into()] },
        Settings { smtp: Some(false), ..Default::default() },
    ))
    .await
    .unwrap();
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: Some(2),
        retention_days: None,
        mail_host: None,
        catch_all: Some(true),
        catch_all_target: Some("carl@example.com".into()),
    })
    .await
    .unwrap();
    (dir, engine)
}

#[tokio::test]
async fn the_directory_resolves_quota_and_logs_in_through_the_engine() {
    let (_dir, engine) = organisation().await;
    let d = BackendDirectory::new(std::sync::Arc::new(engine.clone()));
    for (rcpt, expected) in [
        ("ANN@example.com", RecipientStatus::Accept),
        ("sales@example.com", RecipientStatus::Accept),
        ("team@example.com", RecipientStatus::Accept),
        ("anything-else@example.com", RecipientStatus::Accept), // catch-all
        ("nobody@example.org", RecipientStatus::Unknown),
        ("not an address", RecipientStatus::Unknown),
    ] {
        assert_eq!(d.resolve_recipient(rcpt, 0).await.unwrap(), expected, "{rcpt}");
    }
    assert_eq!(d.resolve_recipient("dora@example.com", 2 << 20).await.unwrap(), RecipientStatus::OverQuota);
    assert_eq!(d.resolve_recipient("dora@example.com", 1000).await.unwrap(), RecipientStatus::Accept);
    assert!(d.is_local_domain("Example.ORG").await.unwrap());
    assert!(!d.is_local_domain("far.example").await.unwrap());

    // Logins: an alias logs in as its account; SMTP switch; lockout at the threshold (2).
    let ann = Account { id: "ann@example.com".into(), address: "ann@example.com".into() };
    assert_eq!(
        d.authenticate("sales@example.com", PASSWORD, LOOPBACK).await.unwrap(),
        AuthOutcome::Authenticated(ann.clone())
    );
    assert_eq!(d.sender_addresses(&ann).await.unwrap(), vec!["ann@example.com", "sales@example.com"]);
    assert_eq!(d.authenticate("erin@example.com", PASSWORD, LOOPBACK).await.unwrap(), AuthOutcome::SmtpDisabled);
    assert_eq!(d.authenticate("nobody@example.com", PASSWORD, LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
    assert_eq!(d.authenticate("dora@example.com", "wrong", LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
    assert_eq!(d.authenticate("dora@example.com", "wrong", LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
    // The guessing client is kept out (told only "wrong"); from elsewhere dora logs in.
    assert_eq!(d.authenticate("dora@example.com", PASSWORD, LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
    let elsewhere = std::net::IpAddr::from([192, 0, 2, 9]);
    assert!(matches!(
        d.authenticate("dora@example.com", PASSWORD, elsewhere).await.unwrap(),
        AuthOutcome::Authenticated(_)
    ));
    let lock =
        UpdateAccount { address: "dora@example.com".into(), status: Some(AccountStatus::Locked), ..Default::default() };
    engine.local_backend().update_account(lock).await.unwrap();
    assert_eq!(d.authenticate("dora@example.com", PASSWORD, elsewhere).await.unwrap(), AuthOutcome::Locked);
    // Locked accounts still receive; disabled ones are left to the policy.
    assert_eq!(d.resolve_recipient("dora@example.com", 0).await.unwrap(), RecipientStatus::Accept);
}

fn rcpt<'a>(from: &'a str, to: &'a str, account: Option<&'a Account>, listener: ListenerKind) -> PolicyRequest<'a> {
    PolicyRequest {
        stage: Stage::Rcpt,
        listener,
        client_ip: "127.0.0.1".parse().unwrap(),
        helo: Some("client.test"),
        account,
        tls: true,
        mail_from: Some(from),
        sender_is_local: false,
        rcpt_to: Some(to),
        recipient_is_local: true,
        recipients: &[],
        message: None,
    }
}

fn refusal(v: Verdict) -> (String, String) {
    match v {
        Verdict::Reject { reply, rule } => (reply.to_string(), rule),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_policy_refuses_at_rcpt_naming_the_rule_and_its_level() {
    let (_dir, engine) = organisation().await;
    let p = BackendPolicy::new(std::sync::Arc::new(engine.clone()));
    let bob = Account { id: "bob@example.com".into(), address: "bob@example.com".into() };
    let ann = Account { id: "ann@example.com".into(), address: "ann@example.com".into() };
    let sub = ListenerKind::Submission;

    let (reply, rule) = refusal(p.check(&rcpt("bob@example.com", "x@far.example", Some(&bob), sub)).await);
    assert_eq!(rule, "external_send");
    assert!(
        reply.starts_with(
            "550 5.7.1 external send is not allowed for bob@example.com (external_send, department Sales)"
        ),
        "{reply}"
    );
    // Another domain of the same backend is external too; within the domain is fine.
    assert_eq!(refusal(p.check(&rcpt("bob@example.com", "zed@example.org", Some(&bob), sub)).await).1, "external_send");
    assert_eq!(p.check(&rcpt("bob@example.com", "ann@example.com", Some(&bob), sub)).await, Verdict::Continue);
    assert_eq!(p.check(&rcpt("ann@example.com", "x@far.example", Some(&ann), sub)).await, Verdict::Continue);

    // Inbound: the catch-all collector may not receive from outside (its own setting).
    let mx = ListenerKind::Mx;
    let (reply, rule) = refusal(p.check(&rcpt("x@far.example", "whoever@example.com", None, mx)).await);
    assert_eq!(rule, "external_receive");
    assert!(reply.contains("external receive is not allowed for carl@example.com (external_receive, account setting)"));
    // The group takes only its own domain's senders.
    let (reply, rule) = refusal(p.check(&rcpt("x@far.example", "team@example.com", None, mx)).await);
    assert_eq!(rule, "group_send_permission");
    assert!(reply.starts_with("550 5.7.1 "), "{reply}");
    assert_eq!(p.check(&rcpt("x@far.example", "ann@example.com", None, mx)).await, Verdict::Continue);
    // A disabled account: 550 5.2.1.
    engine
        .local_backend()
        .update_account(UpdateAccount {
            address: "ann@example.com".into(),
            display_name: None,
            department: None,
            notes: None,
            status: Some(AccountStatus::Disabled),
            force_password_change: None,
            quota_mb: None,
        })
        .await
        .unwrap();
    let (reply, rule) = refusal(p.check(&rcpt("x@far.example", "ann@example.com", None, mx)).await);
    assert_eq!(rule, "recipient_disabled");
    assert!(reply.starts_with("550 5.2.1"), "{reply}");
    // Other stages are the profile's business.
    let mut connect = rcpt("x@far.example", "ann@example.com", None, mx);
    connect.stage = Stage::Connect;
    assert_eq!(p.check(&connect).await, Verdict::Continue);
}
