//! The mail server following the engine's stored SMTP settings and rules while it runs,
//! and reporting its status to the engine (in process; the network side is in
//! `cli/tests/smtp.rs`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::smtp::{SmtpListenerKind, SmtpRuleAction, SmtpRuleKind};
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::{ListAction, ListMatch, ListenerKind};
use postdesk_mailserver::{MailServer, MailServerOptions};

/// Waits (up to 20 s) until `done` holds for the server's profile.
async fn until(server: &MailServer, what: &str, done: impl Fn(&postdesk_mailserver::smtp::SmtpProfile) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&server.profile()) {
        assert!(Instant::now() < deadline, "the profile never showed {what}: {:?}", server.profile());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_changes_reach_the_running_service_and_the_status_follows_its_life() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.hostname = "stored.example.com".into();
    settings.max_recipients = 7;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    assert!(!b.get_smtp_status(GetSmtpStatus {}).await.unwrap().running, "no mail server yet");

    let mut options = MailServerOptions::defaults(dir.path());
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    options.listeners = vec![(ListenerKind::Mx, any), (ListenerKind::Submission, any)];
    // Never asked (nothing is sent here), but no system resolver either.
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    // Started from what is stored.
    assert_eq!(server.profile().hostname, "stored.example.com");
    assert_eq!(server.profile().max_recipients, 7);

    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert!(status.running);
    let listeners: Vec<_> = status.listeners.iter().map(|l| (l.kind, l.address.clone())).collect();
    let bound: Vec<_> = server.bound().iter().map(|(_, a)| a.to_string()).collect();
    assert_eq!(
        listeners,
        vec![(SmtpListenerKind::Mx, bound[0].clone()), (SmtpListenerKind::Submission, bound[1].clone())]
    );

    // A rule and a limit changed through the Backend: the running service takes them up.
    b.add_smtp_rule(AddSmtpRule {
        name: "bad-net".into(),
        kind: SmtpRuleKind::ClientIp,
        value: "192.0.2.0/24".into(),
        action: SmtpRuleAction::Reject,
        note: None,
        position: None,
    })
    .await
    .unwrap();
    until(&server, "the rule", |p| p.lists.len() == 1).await;
    let rule = &server.profile().lists[0];
    assert_eq!((rule.name.as_str(), rule.action), ("bad-net", ListAction::Reject));
    assert_eq!(rule.matches, ListMatch::ClientIp("192.0.2.0/24".parse().unwrap()));
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.max_recipients = 2;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    until(&server, "2 recipients", |p| p.max_recipients == 2).await;
    assert_eq!(server.profile().lists.len(), 1);
    assert_eq!(server.bound().len(), 2, "same listeners");

    server.shutdown(Duration::from_secs(5)).await;
    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert!(!status.running, "the monitor is gone with the server");
    assert!(status.listeners.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostname_given_at_start_wins_over_the_stored_one_also_after_changes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    let mut options = MailServerOptions::defaults(dir.path());
    options.listeners = vec![(ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], 0)))];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.hostname = Some("mx.override.test".into());
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    assert_eq!(server.profile().hostname, "mx.override.test");
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.hostname = "stored.example.com".into();
    settings.banner = "ESMTP changed".into();
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    until(&server, "the new banner", |p| p.banner == "ESMTP changed").await;
    assert_eq!(server.profile().hostname, "mx.override.test");
    server.shutdown(Duration::from_secs(5)).await;
}

/// Sets a rule's stored value behind the engine's back (another process on the database),
/// as damage would.
fn set_rule_value(dir: &std::path::Path, name: &str, value: &str) {
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1], timeout=30)\n\
        db.execute('UPDATE smtp_rules SET value = ? WHERE name = ?', (sys.argv[3], sys.argv[2]))\n\
        db.commit()\n";
    let db = dir.join(postdesk_engine::DATABASE_FILE);
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&db)
        .args([name, value])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_loaded_keeps_the_previous_profile() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.add_smtp_rule(AddSmtpRule {
        name: "bad-net".into(),
        kind: SmtpRuleKind::ClientIp,
        value: "192.0.2.0/24".into(),
        action: SmtpRuleAction::Reject,
        note: None,
        position: None,
    })
    .await
    .unwrap();
    let mut options = MailServerOptions::defaults(dir.path());
    options.listeners = vec![(ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], 0)))];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    let before = server.profile();
    assert_eq!(before.lists.len(), 1);

    set_rule_value(dir.path(), "bad-net", "not an address");
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.max_recipients = 3;
    b.update_smtp_settings(UpdateSmtpSettings { settings: settings.clone() }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.reloads().failed == 0 {
        assert!(Instant::now() < deadline, "no reload was attempted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.reloads().applied, 0);
    let kept = server.profile();
    assert_eq!(kept.max_recipients, before.max_recipients, "the whole previous profile stays");
    assert_eq!(kept.lists, before.lists);

    // Repaired, the next change applies everything stored.
    set_rule_value(dir.path(), "bad-net", "192.0.2.0/24");
    settings.max_recipients = 4;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    until(&server, "4 recipients", |p| p.max_recipients == 4).await;
    assert_eq!(server.reloads(), postdesk_mailserver::live::Reloads { applied: 1, failed: 1 });
    server.shutdown(Duration::from_secs(5)).await;
}

/// "Enter mailbox" shows what the running server offers clients: its real ports, no POP3
/// when POP3 is not started, the SMTP host name when the domain names no client host, a
/// service switched off for the account marked so; and says so when nothing runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_mailbox_shows_the_client_services_that_run_on_their_real_ports() {
    use postdesk_contract::model::Security;
    use postdesk_contract::settings::Settings;
    use postdesk_mailserver::imap::ImapListener;

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    b.create_account(CreateAccount { address: "ann@example.com".into(), ..Default::default() }).await.unwrap();
    let view = b.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(!view.mail_server_running);
    assert!(view.client.is_empty(), "{:?}", view.client);
    assert!(view.client_note.unwrap().contains("not running"));

    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir.path());
    options.listeners =
        vec![(ListenerKind::Mx, any), (ListenerKind::Submission, any), (ListenerKind::Submissions, any)];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = vec![(ImapListener::Imap, any), (ImapListener::Imaps, any)];
    options.pop3 = Vec::new();
    options.hostname = Some("mx.example.net".into());
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    let port = |kind: ListenerKind| server.bound().iter().find(|(k, _)| *k == kind).unwrap().1.port();
    let imap = |kind: ImapListener| server.imap_bound().iter().find(|(k, _)| *k == kind).unwrap().1.port();

    let view = b.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(view.mail_server_running);
    assert_eq!(view.client_note, None);
    let shown: Vec<_> =
        view.client.iter().map(|e| (e.protocol.as_str(), e.host.as_str(), e.port, e.security)).collect();
    assert_eq!(
        shown,
        vec![
            ("imap", "mx.example.net", imap(ImapListener::Imaps), Security::Tls),
            ("imap", "mx.example.net", imap(ImapListener::Imap), Security::StartTls),
            ("smtp", "mx.example.net", port(ListenerKind::Submissions), Security::Tls),
            ("smtp", "mx.example.net", port(ListenerKind::Submission), Security::StartTls),
        ]
    );
    assert!(view.client.iter().all(|e| e.allowed && e.note.is_none()));

    // The domain's client host wins; IMAP switched off for the account is said, not hidden.
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        mail_host: Some("imap.example.com".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    b.update_settings(UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["ann@example.com".into()] },
        set: Some(Settings { imap: Some(false), ..Default::default() }),
        clear: None,
    })
    .await
    .unwrap();
    let view = b.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(view.client.iter().all(|e| e.host == "imap.example.com"));
    let imap_rows: Vec<_> = view.client.iter().filter(|e| e.protocol == "imap").collect();
    assert_eq!(imap_rows.len(), 2);
    assert!(imap_rows.iter().all(|e| !e.allowed && e.note.as_deref().unwrap().contains("switched off")));
    assert!(view.client.iter().filter(|e| e.protocol == "smtp").all(|e| e.allowed));
    assert!(view.client_note.unwrap().contains("IMAP is switched off"));

    server.shutdown(Duration::from_secs(5)).await;
    let view = b.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(!view.mail_server_running && view.client.is_empty());
}

/// The stored probing policy reaches the running service live: with the slow-down from the
/// first unknown recipient, the second RCPT after an unknown one is held back (counted as
/// tarpitted), where the default (from the third) answers it at once; the stored in-flight
/// data budget is the one the service was started with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_probing_policy_and_data_budget_are_in_force() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    // No DNS here: no SPF/DKIM/DMARC.
    settings.inbound_auth.verify = false;
    settings.max_message_bytes = 10 * 1024 * 1024;
    settings.data.in_flight_bytes = 32 * 1024 * 1024;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    let mut options = MailServerOptions::defaults(dir.path());
    options.listeners = vec![(ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], 0)))];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    assert_eq!(server.data_limits().in_flight, 32 * 1024 * 1024);
    let mx = server.bound()[0].1;

    // Two unknown recipients of a local domain in one session; how many RCPTs the tarpit held back.
    let probe = |from: &'static str| async move {
        let mut s = BufReader::new(tokio::net::TcpStream::connect(mx).await.unwrap());
        let mut line = String::new();
        let mut reply = async |s: &mut BufReader<tokio::net::TcpStream>, cmd: &str| {
            if !cmd.is_empty() {
                s.get_mut().write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
            }
            loop {
                line.clear();
                s.read_line(&mut line).await.unwrap();
                if line.as_bytes().get(3) != Some(&b'-') {
                    return line.clone();
                }
            }
        };
        assert!(reply(&mut s, "").await.starts_with("220"));
        assert!(reply(&mut s, "EHLO client.test").await.starts_with("250"));
        assert!(reply(&mut s, &format!("MAIL FROM:<{from}>")).await.starts_with("250"));
        assert!(reply(&mut s, "RCPT TO:<nobody1@example.com>").await.starts_with("550"));
        assert!(reply(&mut s, "RCPT TO:<nobody2@example.com>").await.starts_with("550"));
        reply(&mut s, "QUIT").await;
    };
    probe("a@remote.test").await;
    assert_eq!(server.counters().recipients_tarpitted, 0, "the default slows down from the third");

    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.probing.slow_after = 1;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    until(&server, "the slow-down from the first", |p| p.probing.slow_after == 1).await;
    probe("b@remote.test").await;
    assert_eq!(server.counters().recipients_tarpitted, 1, "held back after the first unknown");
    server.shutdown(Duration::from_secs(5)).await;
}

/// A message answered 250 but not yet in the mailboxes shows as waiting in the status, and
/// leaves the count once delivered. The mailboxes' database is held locked by another
/// process, so delivery cannot finish while the status is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waiting_in_the_spool_is_counted_until_it_is_delivered() {
    use std::io::{BufRead, Write};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    b.create_account(CreateAccount { address: "ann@example.com".into(), ..Default::default() }).await.unwrap();
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.inbound_auth.verify = false; // no DNS here
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    let mut options = MailServerOptions::defaults(dir.path());
    options.listeners = vec![(ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], 0)))];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    let server = MailServer::start(std::sync::Arc::new(engine.clone()), options).await.unwrap();
    let mx = server.bound()[0].1;
    assert_eq!(b.get_smtp_status(GetSmtpStatus {}).await.unwrap().delivery.waiting, 0);

    // Another process takes the database's write lock and holds it until its stdin closes.
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n\
        db.execute('BEGIN IMMEDIATE')\n\
        print('locked', flush=True)\n\
        sys.stdin.read()\n\
        db.execute('ROLLBACK')\n";
    let mut locker = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.path().join(postdesk_engine::DATABASE_FILE))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(locker.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");

    let mut s = BufReader::new(tokio::net::TcpStream::connect(mx).await.unwrap());
    let reply = async |s: &mut BufReader<tokio::net::TcpStream>, cmd: &str| {
        if !cmd.is_empty() {
            s.get_mut().write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        }
        let mut line = String::new();
        loop {
            line.clear();
            s.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    };
    assert!(reply(&mut s, "").await.starts_with("220"));
    assert!(reply(&mut s, "EHLO client.test").await.starts_with("250"));
    assert!(reply(&mut s, "MAIL FROM:<someone@remote.test>").await.starts_with("250"));
    assert!(reply(&mut s, "RCPT TO:<ann@example.com>").await.starts_with("250"));
    assert!(reply(&mut s, "DATA").await.starts_with("354"));
    let answer = reply(&mut s, "Subject: waiting\r\n\r\nStill in the spool.\r\n.").await;
    assert!(answer.starts_with("250"), "{answer}");
    reply(&mut s, "QUIT").await;

    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert_eq!((status.delivery.waiting, status.delivery.copies), (1, 0), "answered 250, not delivered yet");

    // The lock goes: the message reaches the mailbox and leaves the count.
    locker.stdin.take().unwrap().flush().unwrap();
    assert!(locker.wait().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = b.get_smtp_status(GetSmtpStatus {}).await.unwrap().delivery;
        if d.copies == 1 {
            assert_eq!(d.waiting, 0, "delivered, so no longer waiting");
            break;
        }
        assert!(Instant::now() < deadline, "never delivered: {d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown(Duration::from_secs(5)).await;
}
