//! Mail rules on the path, end to end with real clients: swaks submits or sends to the MX
//! listener, Postfix's `smtp-sink` stands for the other domains' servers (routed there by
//! the transport table), and the mailboxes are read back from the engine.
//!
//! Forwarding: an alias's external targets are an automatic forward, allowed by the
//! `auto_forward` setting (an alias: its domain's default) and leaving with an SRS
//! envelope sender when the original sender is elsewhere; a bounce to that SRS address
//! goes back to the original sender, a forged one is refused.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_contract::outbound::OutboundTransport;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";

/// Postfix's smtp-sink on a free loopback port, dumping each transaction to a file.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops root for `nobody`, who must write the dumps.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let mut child = Command::new("smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(dir.path().join("m%s."))
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian package postfix) must be installed");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Sink { child, port, dir };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("smtp-sink did not start on {port}");
    }

    /// The dumped transactions (envelope lines, then the message).
    fn dumps(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

async fn server(engine: &Engine, dir: &Path) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Mx, any), (ListenerKind::Submission, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    // No DNS server answers here: routes come from the transport table.
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.outbound.poll = Duration::from_millis(200);
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

fn port(server: &MailServer, kind: ListenerKind) -> u16 {
    server.bound().iter().find(|(k, _)| *k == kind).unwrap().1.port()
}

/// swaks's transcript and whether it ended well.
fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks").args(args).output().expect("swaks must be installed");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sends from `from` (anyone) to the MX listener, unauthenticated.
fn to_mx(server: &MailServer, from: &str, to: &str, subject: &str) -> (bool, String) {
    let at = format!("127.0.0.1:{}", port(server, ListenerKind::Mx));
    let header = format!("Subject: {subject}");
    swaks(&["--server", &at, "--from", from, "--to", to, "--header", &header, "--body", "Forward me."])
}

/// Submits as `user` (STARTTLS, AUTH PLAIN).
fn submit(server: &MailServer, user: &str, to: &str, subject: &str) -> (bool, String) {
    let at = format!("127.0.0.1:{}", port(server, ListenerKind::Submission));
    let header = format!("Subject: {subject}");
    swaks(&[
        "--server",
        &at,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        PASSWORD,
        "--from",
        user,
        "--to",
        to,
        "--header",
        &header,
        "--body",
        "Hello.",
    ])
}

async fn route(engine: &Engine, domain: &str, port: u16) {
    engine.set_transport(OutboundTransport { domain: domain.into(), host: "127.0.0.1".into(), port }).await.unwrap();
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

async fn inbox(engine: &Engine, account: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in engine.messages(account, "INBOX").await.unwrap() {
        let raw = MailStore::message_bytes(engine, account, "INBOX", m.uid).await.unwrap();
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

async fn set_domain_default(engine: &Engine, values: serde_json::Value) {
    let set = Some(serde_json::from_value(values).unwrap());
    let p = UpdateSettings { domain: "example.com".into(), target: BatchTarget::Domain, set, ..Default::default() };
    engine.local_backend().update_settings(p).await.unwrap();
}

/// The envelope sender of a sink's dump.
fn mail_from(dump: &str) -> String {
    dump.lines().find_map(|l| l.strip_prefix("X-Mail-Args: ")).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_another_domain_leaves_with_an_srs_sender_and_its_bounce_goes_back_to_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let remote = Sink::start();
    let senders = Sink::start();
    route(&engine, "remote.test", remote.port).await;
    route(&engine, "elsewhere.test", senders.port).await;
    let alias = CreateAlias {
        address: "fwd@example.com".into(),
        targets: vec!["x@remote.test".into(), BOB.into()],
        description: None,
    };
    engine.local_backend().create_alias(alias).await.unwrap();
    let server = server(&engine, dir.path()).await;

    // From someone elsewhere: the forwarded copy leaves as SRS0=…@example.com.
    let (ok, text) = to_mx(&server, "Pat@Elsewhere.test", "fwd@example.com", "from outside");
    assert!(ok, "{text}");
    until("the forwarded copy", async || remote.dumps().len() == 1).await;
    let dump = &remote.dumps()[0];
    assert!(dump.contains("X-Rcpt-Args: <x@remote.test>") && dump.contains("Subject: from outside"), "{dump}");
    let srs = mail_from(dump);
    let srs = srs.trim_start_matches('<').split('>').next().unwrap().to_string();
    assert!(srs.starts_with("SRS0=") && srs.ends_with("=elsewhere.test=pat@example.com"), "{srs}");
    assert_eq!(inbox(&engine, BOB).await.len(), 1, "the local target has its copy");

    // From one of ours: our SPF covers it already, the sender stays.
    let (ok, text) = submit(&server, ANN, "fwd@example.com", "from inside");
    assert!(ok, "{text}");
    until("the second forwarded copy", async || remote.dumps().len() == 2).await;
    assert_eq!(mail_from(&remote.dumps()[1]), "<ann@example.com>");

    // The remote bounces to the SRS address: it goes on to pat, from the null sender.
    let (ok, text) = to_mx(&server, "<>", &srs, "bounce");
    assert!(ok, "{text}");
    until("the bounce at the original sender", async || senders.dumps().len() == 1).await;
    let back = &senders.dumps()[0];
    assert!(back.contains("X-Rcpt-Args: <pat@elsewhere.test>") && back.contains("Subject: bounce"), "{back}");
    assert_eq!(mail_from(back), "<>");

    // A forged or altered SRS address leads nowhere: refused at RCPT, nothing relayed.
    let forged = srs.replacen("SRS0=", "SRS0=0", 1).replacen("=", "", 2).replacen("SRS0", "SRS0=", 1);
    for address in [forged.as_str(), "SRS0=00000000=000=elsewhere.test=pat@example.com"] {
        let (ok, text) = to_mx(&server, "<>", address, "forged");
        assert!(!ok && text.contains("550"), "{address}: {text}");
    }
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(senders.dumps().len(), 1);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_forward_off_keeps_an_alias_from_forwarding_outside_and_on_lets_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let remote = Sink::start();
    route(&engine, "remote.test", remote.port).await;
    let alias = CreateAlias {
        address: "fwd@example.com".into(),
        targets: vec!["x@remote.test".into(), BOB.into()],
        description: None,
    };
    engine.local_backend().create_alias(alias).await.unwrap();
    set_domain_default(&engine, serde_json::json!({ "auto_forward": false })).await;
    let server = server(&engine, dir.path()).await;

    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "not forwarded");
    assert!(ok, "{text}");
    until("bob's copy", async || inbox(&engine, BOB).await.len() == 1).await;
    until("the refused forward counted", async || server.delivery_stats().refused == 1).await;
    let queued = engine.local_backend().list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    assert!(queued.is_empty(), "nothing queued for the other domain: {queued:?}");
    assert_eq!(server.delivery_stats().awaiting_relay, 0);

    // Allowed again: the next message is forwarded.
    set_domain_default(&engine, serde_json::json!({ "auto_forward": true })).await;
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "forwarded");
    assert!(ok, "{text}");
    until("the forwarded copy", async || remote.dumps().len() == 1).await;
    assert!(remote.dumps()[0].contains("Subject: forwarded"));

    // The domain's external-send restriction binds its aliases' forwards too.
    set_domain_default(&engine, serde_json::json!({ "external_send": false })).await;
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "kept inside");
    assert!(ok, "{text}");
    until("bob's third copy", async || inbox(&engine, BOB).await.len() == 3).await;
    until("the second refused forward", async || server.delivery_stats().refused == 2).await;
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(remote.dumps().len(), 1, "only the allowed forward left");
    engine.close().await;
}
