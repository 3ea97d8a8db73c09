//! Outbound delivery end to end, with real servers on loopback and nothing mocked at the
//! SMTP level: a user submits with swaks; the mail server queues the external recipients
//! and delivers them to Postfix's `smtp-sink` (routed there by the transport table), or to
//! a second Postdesk mail server. The sink answers 250, 4xx (`-r`) or 5xx (`-f`); a silent
//! listener stands for a remote that hangs. DKIM signatures are checked by dkimpy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;

use postdesk_contract::outbound::{OutboundEnvelope, OutboundTransport};
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions, OutboundStats};

use crate::knot;

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";

use crate::sink;
use sink::Sink;

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    for address in [ANN, BOB] {
        let account =
            CreateAccount { address: address.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
    engine
}

fn options(dir: &Path) -> MailServerOptions {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    // No DNS server answers here: routes come from the transport table.
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.outbound.poll = Duration::from_millis(200);
    options.outbound.retry.first_retry_secs = 1;
    options.outbound.retry.max_retry_secs = 1;
    options.outbound.timeouts.command = Duration::from_secs(2);
    options.outbound.timeouts.connect = Duration::from_secs(2);
    options
}

fn submission(server: &MailServer) -> u16 {
    server.bound().iter().find(|(k, _)| *k == ListenerKind::Submission).unwrap().1.port()
}

/// Submits a message as ann with swaks (STARTTLS, AUTH PLAIN).
fn swaks(port: u16, to: &[&str], subject: &str) {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{port}"), "--tls", "--auth", "PLAIN"])
        .args(["--auth-user", ANN, "--auth-password", PASSWORD, "--from", ANN, "--to", &to.join(",")])
        .args(["--header", &format!("Subject: {subject}"), "--body", "The plan.\n.leading dot\nEnd."])
        .output()
        .expect("swaks must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("<-  250"), "swaks failed:\n{text}");
}

async fn wait_for(server: &MailServer, what: &str, done: impl Fn(&OutboundStats) -> bool) -> OutboundStats {
    for _ in 0..300 {
        let stats = server.outbound_stats();
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:?}", server.outbound_stats());
}

async fn inbox(engine: &Engine, account: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in engine.messages(account, "INBOX").await.unwrap() {
        let raw = MailStore::message_bytes(engine, account, "INBOX", m.uid).await.unwrap();
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

async fn route(engine: &Engine, domain: &str, port: u16) {
    engine.set_transport(OutboundTransport { domain: domain.into(), host: "127.0.0.1".into(), port }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_to_other_domains_leaves_in_one_transaction_per_domain_and_local_copies_stay() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let sink = Sink::start(&[]);
    route(&engine, "remote.test", sink.port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();

    swaks(submission(&server), &["x@remote.test", "y@Remote.TEST", BOB], "outbound one");
    let stats = wait_for(&server, "both remote recipients delivered", |s| s.delivered == 2).await;
    assert_eq!((stats.transactions, stats.bounced, stats.deferred), (1, 0, 0), "{stats:?}");
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 1, "one transaction for the domain: {dumps:?}");
    let dump = &dumps[0];
    assert!(dump.contains("X-Rcpt-Args: <x@remote.test>") && dump.contains("X-Rcpt-Args: <y@remote.test>"), "{dump}");
    // smtp-sink offers PIPELINING and 8BITMIME but not SIZE: no SIZE parameter.
    assert!(dump.contains("X-Mail-Args: <ann@example.com>\n"), "{dump}");
    assert!(dump.contains("X-Helo-Args: mail.example.com"), "{dump}");
    assert!(dump.contains("Subject: outbound one") && dump.contains("\n.leading dot\n"), "dot-stuffing undone: {dump}");
    assert!(!dump.contains("bob@example.com>"), "mail to our own domain never leaves: {dump}");
    // The local recipient has it; the spool let it go.
    assert_eq!(inbox(&engine, BOB).await.len(), 1);
    assert_eq!(server.delivery_stats().awaiting_relay, 1);
    // The Mail service page's counters (get_smtp_status) show it.
    let status = engine.local_backend().get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert_eq!((status.outbound.delivered, status.outbound.transactions), (2, 1), "{:?}", status.outbound);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refusal_bounces_with_an_rfc3464_report_in_the_senders_inbox_and_never_loops() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let sink = Sink::start(&["-f", "RCPT"]);
    route(&engine, "remote.test", sink.port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();

    swaks(submission(&server), &["x@remote.test"], "refused one");
    wait_for(&server, "the recipient bounced and the DSN went", |s| s.bounced == 1 && s.dsns == 1).await;
    let ann = inbox(&engine, ANN).await;
    assert_eq!(ann.len(), 1, "one DSN: {ann:?}");
    let dsn = &ann[0];
    assert!(dsn.contains("multipart/report") && dsn.contains("report-type=\"delivery-status\""), "{dsn}");
    assert!(dsn.contains("Final-Recipient: rfc822; x@remote.test\r\nAction: failed\r\nStatus: 5.3.0"), "{dsn}");
    assert!(dsn.contains("Diagnostic-Code: smtp; 500 5.3.0 Error: command failed"), "{dsn}");
    assert!(dsn.contains("Remote-MTA: dns; 127.0.0.1") && dsn.contains("Subject: refused one"), "{dsn}");
    assert!(dsn.contains("From: \"Mail Delivery System\" <MAILER-DAEMON@mail.example.com>"), "{dsn}");

    // A bounce (null sender) that bounces again makes no DSN: no loop.
    let envelope = OutboundEnvelope { sender: String::new(), recipients: vec!["z@remote.test".into()] };
    engine.queue_outbound("dsn:test", envelope, b"Subject: a bounce\r\n\r\nx\r\n".to_vec()).await.unwrap();
    wait_for(&server, "the null-sender message bounced", |s| s.bounced == 2).await;
    // No wait needed: a job's DSN is sent (and counted) before its outcome is reported, and
    // `bounced` is counted by the reporter, so the second bounce's DSN decision is already made.
    assert_eq!(server.outbound_stats().dsns, 1);
    assert_eq!(inbox(&engine, ANN).await.len(), 1);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_refusal_is_retried_until_delivered_with_one_delay_notice() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let soft = Sink::start(&["-r", "RCPT"]);
    let port = soft.port;
    route(&engine, "remote.test", port).await;
    let mut options = options(dir.path());
    options.outbound.retry.delay_notice_secs = Some(0);
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();

    swaks(submission(&server), &["x@remote.test"], "later one");
    wait_for(&server, "deferred twice", |s| s.deferred >= 2).await;
    assert_eq!(server.outbound_stats().delivered, 0);
    let notices = inbox(&engine, ANN).await;
    assert_eq!(notices.len(), 1, "one delay notice however often it is deferred: {notices:?}");
    assert!(notices[0].contains("Action: delayed") && notices[0].contains("Status: 4.3.0"), "{}", notices[0]);
    // The remote accepts again: the next retry delivers.
    drop(soft);
    let sink = Sink::on(port, &[]);
    wait_for(&server, "delivered at a retry", |s| s.delivered == 1).await;
    assert_eq!(sink.dumps().len(), 1);
    assert_eq!(server.outbound_stats().bounced, 0);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_that_hangs_times_out_and_is_deferred() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    route(&engine, "remote.test", port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    swaks(submission(&server), &["x@remote.test"], "hang one");
    let stats = wait_for(&server, "deferred after the time-out", |s| s.deferred >= 1).await;
    assert_eq!((stats.delivered, stats.bounced), (0, 0));
    server.shutdown(Duration::from_secs(5)).await;
    held.abort();
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_mail_is_dkim_signed_with_the_domains_active_key_and_verifies() {
    for algorithm in [postdesk_dns::DkimAlgorithm::Rsa2048, postdesk_dns::DkimAlgorithm::Ed25519] {
        let dir = tempfile::tempdir().unwrap();
        let engine = organisation(dir.path()).await;
        let key = engine
            .local_backend()
            .create_dkim_key(CreateDkimKey { domain: "example.com".into(), algorithm: Some(algorithm), selector: None })
            .await
            .unwrap();
        let sink = Sink::start(&[]);
        route(&engine, "remote.test", sink.port).await;
        let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
        swaks(submission(&server), &["x@remote.test"], "signed one");
        wait_for(&server, "delivered", |s| s.delivered == 1).await;
        let dump = sink.dumps().remove(0);
        assert!(dump.contains("DKIM-Signature:") && dump.contains("d=example.com"), "{dump}");
        // dkimpy verifies it against the record the DNS wizard publishes.
        let record = key.record_value.clone();
        let name = key.record_name.clone();
        let script = format!(
            "import sys, dkim\nmsg = sys.stdin.buffer.read().replace(b'\\r\\n', b'\\n').replace(b'\\n', b'\\r\\n')\n\
             txt = {{{name:?}.encode() + b'.': {record:?}.encode()}}\n\
             ok = dkim.verify(msg, dnsfunc=lambda n, timeout=5: txt.get(n if isinstance(n, bytes) else n.encode()))\n\
             print('dkim=pass' if ok else 'dkim=fail')\n"
        );
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("Debian's python3 with python3-dkim");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(dump.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("dkim=pass"), "{algorithm:?}: {text}\n{dump}");
        server.shutdown(Duration::from_secs(5)).await;
        engine.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_postdesk_receives_it_over_starttls() {
    let dir_b = tempfile::tempdir().unwrap();
    let b = Engine::open(dir_b.path()).await.unwrap();
    let backend = b.local_backend();
    backend.create_domain(CreateDomain { domain: "example.net".into(), limits: None, group: None }).await.unwrap();
    backend
        .create_account(CreateAccount {
            address: "zoe@example.net".into(),
            password: Some(Password(PASSWORD.into())),
            ..Default::default()
        })
        .await
        .unwrap();
    // B's inbound checks (SPF, DKIM, DMARC of ann@example.com) ask knotd, which answers at
    // once; a DNS server that never answers would hold the message for the checks' time-outs.
    let dns_dir = tempfile::tempdir().unwrap();
    let knot = dns_fixture(dns_dir.path());
    let mut options_b = options(dir_b.path());
    options_b.dns_server = Some(knot.addr);
    options_b.hostname = Some("mx.example.net".into());
    options_b.listeners = vec![(ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], 0)))];
    let server_b = MailServer::start(Arc::new(b.clone()), options_b).await.unwrap();
    let mx_b = server_b.bound().iter().find(|(k, _)| *k == ListenerKind::Mx).unwrap().1.port();

    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    route(&engine, "example.net", mx_b).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    swaks(submission(&server), &["zoe@example.net"], "across");
    wait_for(&server, "delivered to the second server", |s| s.delivered == 1).await;
    let mut got = Vec::new();
    for _ in 0..100 {
        got = inbox(&b, "zoe@example.net").await;
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "in the second server's INBOX");
    assert!(got[0].contains("Subject: across"), "{}", got[0]);
    // The receiving side says how it came: over TLS (STARTTLS was offered and used).
    assert!(got[0].contains("with ESMTPS"), "{}", got[0]);
    // And what it checked: the sender's SPF, from the DNS that answered.
    assert!(got[0].contains("spf=pass"), "{}", got[0]);
    server.shutdown(Duration::from_secs(5)).await;
    server_b.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_bounce_gives_a_deferred_recipient_up_with_a_dsn() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let soft = Sink::start(&["-r", "RCPT"]);
    route(&engine, "remote.test", soft.port).await;
    let mut options = options(dir.path());
    options.outbound.retry.first_retry_secs = 3600;
    options.outbound.retry.max_retry_secs = 3600;
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    swaks(submission(&server), &["x@remote.test"], "given up");
    wait_for(&server, "deferred", |s| s.deferred == 1).await;
    let admin = engine.local_backend();
    let queued = admin.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    let r = &queued[0].recipients[0];
    assert_eq!((r.status, r.attempts), (postdesk_contract::outbound::RecipientStatus::Deferred, 1));
    assert_eq!(r.last_reply.as_deref(), Some("450 4.3.0 Error: command failed"));
    admin.bounce_outbound(BounceOutbound { id: queued[0].id }).await.unwrap();
    wait_for(&server, "bounced by the admin", |s| s.bounced == 1 && s.dsns == 1).await;
    let dsn = inbox(&engine, ANN).await.remove(0);
    assert!(dsn.contains("bounced by an administrator") && dsn.contains("Action: failed"), "{dsn}");
    assert_eq!(server.outbound_stats().transactions, 1, "no attempt for the bounce");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

/// `clients/recording_smtp.py` on a free loopback port: accepts everything and records
/// every command line with its connection number.
struct Recorder {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Recorder {
    fn start(extensions: &[&str]) -> Recorder {
        Recorder::on(0, extensions)
    }

    fn on(port: u16, extensions: &[&str]) -> Recorder {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/recording_smtp.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&log)
            .args(extensions)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap_or_else(|| panic!("recorder: {line}")).parse().unwrap();
        Recorder { child, port, log, _dir: dir }
    }

    /// (connection, command line) of everything recorded.
    fn lines(&self) -> Vec<(u64, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|v| Some((v["conn"].as_u64()?, v["line"].as_str()?.to_string())))
            .collect()
    }

    fn commands(&self, verb: &str) -> Vec<(u64, String)> {
        self.lines().into_iter().filter(|(_, l)| l.to_ascii_uppercase().starts_with(verb)).collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_carries_the_next_message_to_the_same_server_and_a_closed_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let recorder = Recorder::start(&["PIPELINING", "8BITMIME"]);
    let port = recorder.port;
    route(&engine, "remote.test", port).await;
    route(&engine, "other.test", port).await;
    let mut options = options(dir.path());
    options.outbound.reuse.idle = Duration::from_secs(60);
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    let port_in = submission(&server);
    swaks(port_in, &["x@remote.test"], "reuse 1");
    wait_for(&server, "first delivered", |s| s.delivered == 1).await;
    // Another domain, same server: the same session, reset first.
    swaks(port_in, &["y@other.test"], "reuse 2");
    wait_for(&server, "second delivered", |s| s.delivered == 2).await;
    let mails = recorder.commands("MAIL FROM");
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[0].0, mails[1].0, "one connection for both: {:?}", recorder.lines());
    let rsets = recorder.commands("RSET");
    assert_eq!(rsets.len(), 1, "RSET before the second transaction: {:?}", recorder.lines());
    assert!(recorder.commands("QUIT").is_empty(), "the session is kept open: {:?}", recorder.lines());

    // The server goes away and comes back: the kept session is dead. The next message
    // goes over a new connection, and the dead session is no failed attempt.
    drop(recorder);
    let recorder = Recorder::on(port, &["PIPELINING"]);
    swaks(port_in, &["z@remote.test"], "reuse 3");
    let stats = wait_for(&server, "third delivered", |s| s.delivered == 3).await;
    assert_eq!((stats.deferred, stats.bounced, stats.transactions, stats.connections), (0, 0, 3, 2), "{stats:?}");
    assert_eq!(recorder.commands("MAIL FROM").len(), 1, "{:?}", recorder.lines());
    server.shutdown(Duration::from_secs(5)).await;
    // Shutdown says goodbye to the kept session.
    assert_eq!(recorder.commands("QUIT").len(), 1, "{:?}", recorder.lines());
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_from_carries_size_8bitmime_and_smtputf8_where_offered_and_needed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let full = Recorder::start(&["PIPELINING", "SIZE 10000000", "8BITMIME", "SMTPUTF8"]);
    let ascii_only = Recorder::start(&["PIPELINING", "SIZE 10000000", "8BITMIME"]);
    route(&engine, "remote.test", full.port).await;
    route(&engine, "old.test", ascii_only.port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    let plain = b"Subject: plain\r\n\r\nascii only\r\n".to_vec();
    let utf8 = "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\
                Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n"
        .as_bytes()
        .to_vec();
    let queue = |key: &'static str, to: &str, raw: &Vec<u8>| {
        let envelope = OutboundEnvelope { sender: ANN.into(), recipients: vec![to.into()] };
        let (engine, raw) = (engine.clone(), raw.clone());
        async move { engine.queue_outbound(key, envelope, raw).await }
    };
    queue("t:plain", "x@remote.test", &plain).await.unwrap();
    wait_for(&server, "plain delivered", |s| s.delivered == 1).await;
    queue("t:8bit", "x@remote.test", &utf8).await.unwrap();
    wait_for(&server, "8bit delivered", |s| s.delivered == 2).await;
    queue("t:utf8", "jörg@remote.test", &utf8).await.unwrap();
    wait_for(&server, "utf-8 address delivered", |s| s.delivered == 3).await;
    let mails: Vec<String> = full.commands("MAIL FROM").into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        mails,
        [
            format!("MAIL FROM:<{ANN}> SIZE={}", plain.len()),
            format!("MAIL FROM:<{ANN}> SIZE={} BODY=8BITMIME", utf8.len()),
            format!("MAIL FROM:<{ANN}> SIZE={} BODY=8BITMIME SMTPUTF8", utf8.len()),
        ]
    );
    assert!(full.commands("RCPT TO").iter().any(|(_, l)| l == "RCPT TO:<jörg@remote.test>"), "{:?}", full.lines());
    // A server without SMTPUTF8 never sees the UTF-8 address: a bounce (RFC 6531 §3.4).
    queue("t:old", "jörg@old.test", &utf8).await.unwrap();
    wait_for(&server, "bounced", |s| s.bounced == 1).await;
    assert!(ascii_only.commands("MAIL FROM").is_empty(), "{:?}", ascii_only.lines());
    let dsn = inbox(&engine, ANN).await.remove(0);
    assert!(dsn.contains("5.6.7") && dsn.contains("SMTPUTF8"), "{dsn}");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_starttls_is_followed_by_plain_text_in_opportunistic_mode() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    // Offers STARTTLS, says 220 to it, then answers the handshake with plain text.
    let broken = Recorder::start(&["PIPELINING", "STARTTLS"]);
    route(&engine, "remote.test", broken.port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    swaks(submission(&server), &["x@remote.test"], "no tls");
    let stats = wait_for(&server, "delivered in plain text", |s| s.delivered == 1).await;
    assert_eq!((stats.deferred, stats.connections), (0, 2), "{stats:?}");
    let starttls = broken.commands("STARTTLS");
    let mails = broken.commands("MAIL FROM");
    assert_eq!(starttls.len(), 1, "{:?}", broken.lines());
    assert_eq!(mails.len(), 1, "{:?}", broken.lines());
    assert_ne!(starttls[0].0, mails[0].0, "the message went over a second, plain connection");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_still_deferred_after_five_days_is_given_up_with_a_dsn() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let soft = Sink::start(&["-r", "RCPT"]);
    route(&engine, "remote.test", soft.port).await;
    // The worker's clock: the real one, plus what the test adds.
    let ahead = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let mut options = options(dir.path());
    let offset = ahead.clone();
    options.outbound.clock = postdesk_mailserver::Clock::new(move || {
        time::OffsetDateTime::now_utc().unix_timestamp() + offset.load(std::sync::atomic::Ordering::Relaxed)
    });
    options.outbound.retry = postdesk_contract::outbound::RetryPolicy::default();
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    swaks(submission(&server), &["x@remote.test"], "five days");
    wait_for(&server, "deferred", |s| s.deferred == 1).await;
    assert!(inbox(&engine, ANN).await.is_empty());
    // Five days and an hour later the next attempt fails too: given up, and a DSN.
    ahead.store(5 * 24 * 3600 + 3600, std::sync::atomic::Ordering::Relaxed);
    let stats = wait_for(&server, "given up", |s| s.bounced == 1 && s.dsns == 1).await;
    assert_eq!(stats.deferred, 1, "{stats:?}");
    let dsn = inbox(&engine, ANN).await.remove(0);
    assert!(dsn.contains("Action: failed") && dsn.contains("given up after 5 days"), "{dsn}");
    let queued = engine.local_backend().list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    assert_eq!(queued[0].recipients[0].status, postdesk_contract::outbound::RecipientStatus::Bounced);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bounce_for_a_sender_elsewhere_is_queued_and_sent_from_the_null_sender() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let refusing = Sink::start(&["-f", "RCPT"]);
    let senders_mx = Recorder::start(&["PIPELINING", "8BITMIME"]);
    route(&engine, "remote.test", refusing.port).await;
    route(&engine, "elsewhere.test", senders_mx.port).await;
    let server = MailServer::start(Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    // Mail from someone elsewhere (e.g. relayed for an alias) that the remote refuses.
    let envelope = OutboundEnvelope { sender: "pat@elsewhere.test".into(), recipients: vec!["x@remote.test".into()] };
    engine.queue_outbound("t:relayed", envelope, b"Subject: relayed\r\n\r\nhello\r\n".to_vec()).await.unwrap();
    let stats = wait_for(&server, "bounced, and the DSN delivered", |s| s.bounced == 1 && s.delivered == 1).await;
    assert_eq!(stats.dsns, 1, "{stats:?}");
    let lines: Vec<String> = senders_mx.lines().into_iter().map(|(_, l)| l).collect();
    assert!(lines.iter().any(|l| l == "MAIL FROM:<>" || l.starts_with("MAIL FROM:<> ")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "RCPT TO:<pat@elsewhere.test>"), "{lines:?}");
    assert!(inbox(&engine, ANN).await.is_empty());
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

/// knotd serving `test.`: `nullmx.test` publishes a null MX (RFC 7505), `gone.test` does not
/// exist; and `example.com.` with the SPF record of the loopback senders.
fn dns_fixture(dir: &Path) -> knot::Knot {
    let test = dir.join("test.zone");
    std::fs::write(
        &test,
        "$ORIGIN test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\nnullmx MX 0 .\n",
    )
    .unwrap();
    let example = dir.join("example.com.zone");
    std::fs::write(
        &example,
        "$ORIGIN example.com.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
         @ TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n",
    )
    .unwrap();
    knot::Knot::start(&[("test.", test.as_path()), ("example.com.", example.as_path())])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_refusal_before_any_transaction_bounces_with_a_dsn_and_never_to_the_null_sender() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let dns_dir = tempfile::tempdir().unwrap();
    let knot = dns_fixture(dns_dir.path());
    // A remote whose SIZE limit is below the message: refused here, before MAIL FROM.
    let small = Recorder::start(&["PIPELINING", "SIZE 1000", "8BITMIME"]);
    route(&engine, "small.test", small.port).await;
    let mut options = options(dir.path());
    options.dns_server = Some(knot.addr);
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    let mut raw = format!("From: {ANN}\r\nSubject: nowhere to go\r\n\r\n").into_bytes();
    raw.extend(std::iter::repeat_n(b"0123456789 abcdefghij\r\n".as_slice(), 100).flatten());
    let envelope = OutboundEnvelope {
        sender: ANN.into(),
        recipients: vec!["x@small.test".into(), "y@nullmx.test".into(), "z@gone.test".into()],
    };
    engine.queue_outbound("t:refused", envelope, raw.clone()).await.unwrap();
    let stats = wait_for(&server, "all three bounced, one DSN", |s| s.bounced == 3 && s.dsns == 1).await;
    assert_eq!((stats.delivered, stats.deferred), (0, 0), "{stats:?}");
    assert!(small.commands("MAIL FROM").is_empty(), "nothing offered to the remote: {:?}", small.lines());
    let ann = inbox(&engine, ANN).await;
    assert_eq!(ann.len(), 1, "one DSN for the three: {ann:?}");
    let dsn = &ann[0];
    assert!(dsn.contains("multipart/report") && dsn.contains("report-type=\"delivery-status\""), "{dsn}");
    for (rcpt, status) in [("x@small.test", "5.3.4"), ("y@nullmx.test", "5.1.10"), ("z@gone.test", "5.1.2")] {
        let field = format!("Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {status}\r\n");
        assert!(dsn.contains(&field), "{field}: {dsn}");
    }
    assert!(dsn.contains("Subject: nowhere to go"), "the returned header: {dsn}");

    // The same refusals for a bounce (the null sender): bounced, and no DSN of a DSN.
    let envelope =
        OutboundEnvelope { sender: String::new(), recipients: vec!["x@small.test".into(), "y@nullmx.test".into()] };
    engine.queue_outbound("dsn:refused", envelope, raw).await.unwrap();
    wait_for(&server, "the null-sender message bounced", |s| s.bounced == 5).await;
    assert_eq!(server.outbound_stats().dsns, 1);
    assert_eq!(inbox(&engine, ANN).await.len(), 1);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}
