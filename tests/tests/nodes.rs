//! Two engines on one PostgreSQL database, as two `serve` nodes would be: what one commits
//! reaches the other through `LISTEN/NOTIFY` — the SMTP settings' version (the live SMTP
//! profile reloads) and the mailbox changes IMAP sessions wait for in IDLE — and the
//! organisation itself is one.

use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_contract::model::*;
use postdesk_contract::smtp::SmtpRuleAction;
use postdesk_engine::Engine;

async fn two_nodes() -> (Engine, Engine, postdesk_tests::postgres::Database, [tempfile::TempDir; 2]) {
    let database = postdesk_tests::postgres::fresh_database().await;
    let url = database.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Engine::open_postgres(dir_a.path(), url, None).await.unwrap();
    let b = Engine::open_postgres(dir_b.path(), url, None).await.unwrap();
    (a, b, database, [dir_a, dir_b])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_reaches_the_other_as_it_commits() {
    let (a, b, _database, _dirs) = two_nodes().await;

    // The SMTP rules: node B's subscribers see node A's new version.
    let mut smtp_b = b.subscribe_smtp_config();
    let before = *smtp_b.borrow_and_update();
    let rule = AddSmtpRule {
        name: "block".into(),
        kind: postdesk_contract::smtp::SmtpRuleKind::SenderDomain,
        value: "spam.test".into(),
        action: SmtpRuleAction::Reject,
        note: None,
        position: None,
    };
    a.local_backend().add_smtp_rule(rule).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), smtp_b.changed()).await.expect("node B hears of it").unwrap();
    let after = *smtp_b.borrow();
    assert!(after > before, "the new version: {before} -> {after}");
    assert_eq!(b.smtp_config().await.unwrap().version, after, "node B reads the version it was told of");

    // A message delivered by node A: node B's IDLE sessions are told.
    let owner = a.local_backend();
    owner.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    owner.create_account(CreateAccount { address: "ann@example.com".into(), ..Default::default() }).await.unwrap();
    let mut idle_b = MailStore::watch_mailboxes(&b);
    a.deliver("ann@example.com", b"Subject: hi\r\n\r\nhello\r\n").await.unwrap();
    let change = loop {
        let change = tokio::time::timeout(Duration::from_secs(10), idle_b.recv()).await.expect("node B hears").unwrap();
        if change.folder.as_deref() == Some("INBOX") {
            break change;
        }
    };
    assert_eq!(change.account, "ann@example.com");

    // One organisation: node B reads what node A made.
    let seen = b.local_backend().get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(seen.status, AccountStatus::Active);
}
