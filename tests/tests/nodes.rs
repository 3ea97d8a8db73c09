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

/// With one secrets key, a relay password set through node A is what node B signs in with;
/// the database holds it only sealed; a node given another key is told so, not handed junk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_password_set_on_one_node_is_known_to_the_others_sealed() {
    const SECRET: &str = "relay-Passw0rd-shared-9q";
    let key = postdesk_engine::sealed::parse_key(&"7e".repeat(32)).unwrap();
    let (a, b, db, _dirs) = two_nodes().await;
    let (a, b) = (a.with_sealed_secrets(&[key]).unwrap(), b.with_sealed_secrets(&[key]).unwrap());
    let relay = postdesk_tests::relay_with_password(SECRET);
    assert!(a.local_backend().set_relay(relay).await.unwrap().secret_set);
    let route = b.outbound_relay("example.com").await.unwrap().expect("node B has the relay");
    assert_eq!(route.secret.as_ref().map(|s| s.expose().as_str()), Some(SECRET));
    assert!(b.local_backend().list_relays(ListRelays::default()).await.unwrap().items[0].secret_set);

    let dump = std::process::Command::new("pg_dump").args(["--data-only", db.url()]).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("sealed_secrets") && !dump.contains(SECRET), "the database holds it sealed only");

    let other_key = postdesk_engine::sealed::parse_key(&"01".repeat(32)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = Engine::open_postgres(dir.path(), db.url(), None).await.unwrap().with_sealed_secrets(&[other_key]).unwrap();
    let refused = c.outbound_relay("example.com").await.unwrap_err();
    assert!(refused.message.contains("does not open with this node's secrets key"), "{}", refused.message);
    for bad in ["", "7e", &"zz".repeat(32), &"7e".repeat(33)] {
        assert!(postdesk_engine::sealed::parse_key(bad).unwrap_err().message.contains("64 hexadecimal digits"));
    }
    let sqlite = tempfile::tempdir().unwrap();
    let one = Engine::open(sqlite.path()).await.unwrap();
    assert!(one.with_sealed_secrets(&[key]).unwrap_err().message.contains("PostgreSQL"));
}
