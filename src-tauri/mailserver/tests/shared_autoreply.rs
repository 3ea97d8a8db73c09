//! A shared mailbox's auto-reply through real SMTP: swaks sends to the MX listener, the
//! reply leaves through the outbound queue to Postfix's `smtp-sink` (routed there by the
//! transport table). RFC 3834: answered once per sender in the period, never a list or
//! bulk message, an automatic one or the null sender; the reply carries
//! `Auto-Submitted: auto-replied` and `In-Reply-To`, with the null envelope sender.
//!
//! The same engine answers for a user who set an own auto-reply in the self-service portal.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_contract::outbound::OutboundTransport;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

use crate::knot;

const DESK: &str = "desk@example.com";

/// knotd serving `remote.test` (an A record, no SPF), so the inbound checks of each
/// message are answered at once instead of timing out.
fn dns(work: &Path) -> knot::Knot {
    let zone = work.join("remote.test.zone");
    std::fs::write(
        &zone,
        "$ORIGIN remote.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n@ A 127.0.0.1\n",
    )
    .unwrap();
    knot::Knot::start(&[("remote.test.", zone.as_path())])
}

use crate::sink;
use sink::Sink;

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    let desk = CreateSharedMailbox {
        domain: "example.com".into(),
        address: DESK.into(),
        name: "Support desk".into(),
        host: Some("imap.elsewhere.test".into()),
        username: Some("desk".into()),
        ..Default::default()
    };
    b.create_shared_mailbox(desk).await.unwrap();
    engine
}

async fn server(engine: &Engine, dir: &Path, dns: SocketAddr) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Mx, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(dns);
    options.outbound.poll = Duration::from_millis(200);
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

/// Sends to the desk through the MX listener from `from` ("<>": the null sender) with
/// extra header lines.
fn to_desk(server: &MailServer, from: &str, subject: &str, headers: &[&str]) {
    let port = server.bound().iter().find(|(k, _)| *k == ListenerKind::Mx).unwrap().1.port();
    let at = format!("127.0.0.1:{port}");
    let subject = format!("Subject: {subject}");
    let mut args = vec!["--server", &at, "--from", from, "--to", DESK, "--header", &subject];
    for h in headers {
        args.extend(["--header", h]);
    }
    let out = Command::new("swaks").args(&args).args(["--body", "Hello desk."]).output().expect("swaks");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

async fn until(what: &str, done: impl AsyncFn() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The recipients of the auto-replies queued so far (null envelope sender), sorted.
async fn replies(engine: &Engine) -> Vec<String> {
    let p = ListOutboundQueue { sender: Some(String::new()), limit: Some(1000), ..Default::default() };
    let mut to: Vec<String> = engine
        .local_backend()
        .list_outbound_queue(p)
        .await
        .unwrap()
        .items
        .into_iter()
        .flat_map(|m| m.recipients.into_iter().map(|r| r.address))
        .collect();
    to.sort();
    to
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_answers_each_sender_once_and_never_lists_bulk_automatic_mail_or_the_null_sender() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let sink = Sink::start(&[]);
    engine
        .set_transport(OutboundTransport { domain: "remote.test".into(), host: "127.0.0.1".into(), port: sink.port })
        .await
        .unwrap();
    let b = engine.local_backend();
    let away = SetSharedAutoReply {
        address: DESK.into(),
        enabled: true,
        starts_at: Some("2026-01-01T00:00:00Z".into()),
        ends_at: Some("2099-01-01T00:00:00Z".into()),
        subject: "We got your message".into(),
        text: "The desk answers within a day.\nThank you.".into(),
    };
    let desk = b.set_shared_auto_reply(away).await.unwrap();
    assert!(desk.auto_reply.enabled);
    let work = tempfile::tempdir().unwrap();
    let knot = dns(work.path());
    let server = server(&engine, dir.path(), knot.addr).await;
    let inbox = async |n: usize| engine.messages(DESK, "INBOX").await.unwrap().len() >= n;

    // The first message from a sender: answered, through the queue, to the sink.
    to_desk(&server, "ann@remote.test", "help 1", &["Message-Id: <first.1@remote.test>"]);
    until("the first reply at the sink", async || sink.dumps().len() == 1).await;
    let reply = &sink.dumps()[0];
    for needle in [
        "X-Mail-Args: <>\n",
        "X-Rcpt-Args: <ann@remote.test>",
        "Auto-Submitted: auto-replied",
        "In-Reply-To: <first.1@remote.test>",
        "References: <first.1@remote.test>",
        "Subject: We got your message",
        "The desk answers within a day.",
    ] {
        assert!(reply.contains(needle), "{needle} in the reply:\n{reply}");
    }

    // Not twice in the period; never to list, bulk, automatic mail or the null sender.
    to_desk(&server, "ann@remote.test", "help 2", &[]);
    to_desk(&server, "news@remote.test", "newsletter", &["List-Id: <news.remote.test>"]);
    to_desk(&server, "offers@remote.test", "offers", &["List-Unsubscribe: <mailto:u@remote.test>"]);
    to_desk(&server, "bulk@remote.test", "bulk", &["Precedence: bulk"]);
    to_desk(&server, "robot@remote.test", "robot", &["Auto-Submitted: auto-generated"]);
    to_desk(&server, "<>", "a bounce", &[]);
    // And a new sender is answered (the same path, shown working after the refusals).
    to_desk(&server, "bob@remote.test", "question", &[]);
    until("all eight messages in the desk's INBOX", async || inbox(8).await).await;
    assert_eq!(replies(&engine).await, ["ann@remote.test", "bob@remote.test"]);
    until("bob's reply at the sink", async || sink.dumps().len() == 2).await;

    // Turned off: nobody new is answered.
    let off = SetSharedAutoReply { address: DESK.into(), enabled: false, ..Default::default() };
    b.set_shared_auto_reply(off).await.unwrap();
    to_desk(&server, "carol@remote.test", "after", &[]);
    until("the ninth message", async || inbox(9).await).await;
    assert_eq!(replies(&engine).await, ["ann@remote.test", "bob@remote.test"]);
    server.shutdown(Duration::from_secs(5)).await;
}

/// Sends to `rcpt` through the MX listener from `from` with extra header lines.
fn to_mx(server: &MailServer, from: &str, rcpt: &str, subject: &str, headers: &[&str]) {
    let port = server.bound().iter().find(|(k, _)| *k == ListenerKind::Mx).unwrap().1.port();
    let at = format!("127.0.0.1:{port}");
    let subject = format!("Subject: {subject}");
    let mut args = vec!["--server", &at, "--from", from, "--to", rcpt, "--header", &subject];
    for h in headers {
        args.extend(["--header", h]);
    }
    let out = Command::new("swaks").args(&args).args(["--body", "Hello."]).output().expect("swaks");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_own_auto_reply_from_the_portal_answers_once_and_never_a_list() {
    use postdesk_contract::api::Portal;
    use postdesk_contract::autoreply::AutoReply;
    const LEE: &str = "lee@example.com";
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let account =
        CreateAccount { address: LEE.into(), password: Some(Password("Correct horse 1".into())), ..Default::default() };
    engine.local_backend().create_account(account).await.unwrap();
    let sink = Sink::start(&[]);
    engine
        .set_transport(OutboundTransport { domain: "remote.test".into(), host: "127.0.0.1".into(), port: sink.port })
        .await
        .unwrap();
    // Lee sets it in the portal.
    let step = <Engine as Portal>::sign_in(&engine, LEE, &Password("Correct horse 1".into()), None).await.unwrap();
    let (user, _) = <Engine as Portal>::session(&engine, &step.session_secret).await.unwrap();
    let away =
        AutoReply { enabled: true, subject: "Away".into(), text: "Back on Monday.".into(), ..Default::default() };
    engine.set_own_auto_reply(&user, away).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let knot = dns(work.path());
    let server = server(&engine, dir.path(), knot.addr).await;
    let inbox = async |n: usize| engine.messages(LEE, "INBOX").await.unwrap().len() >= n;

    to_mx(&server, "ann@remote.test", LEE, "lunch?", &["Message-Id: <lunch.1@remote.test>"]);
    until("the reply at the sink", async || sink.dumps().len() == 1).await;
    let reply = &sink.dumps()[0];
    for needle in
        ["X-Mail-Args: <>\n", "X-Rcpt-Args: <ann@remote.test>", "Auto-Submitted: auto-replied", "Back on Monday."]
    {
        assert!(reply.contains(needle), "{needle} in the reply:\n{reply}");
    }
    // Once per sender; never to a list.
    to_mx(&server, "ann@remote.test", LEE, "lunch again?", &[]);
    to_mx(&server, "news@remote.test", LEE, "newsletter", &["List-Id: <news.remote.test>"]);
    until("the three messages in lee's INBOX", async || inbox(3).await).await;
    assert_eq!(replies(&engine).await, ["ann@remote.test"]);
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(sink.dumps().len(), 1);
}
