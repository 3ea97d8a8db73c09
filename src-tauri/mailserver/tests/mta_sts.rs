//! MTA-STS enforcement (RFC 8461) end to end on loopback: knotd serves the recipient
//! domains' MX, address and `_mta-sts` TXT records; a small HTTPS server
//! (`clients/mta_sts_policy.py`, a certificate from a test CA) serves their policies; the MX
//! hosts are a second Postdesk mail server with a certificate from the same CA (STARTTLS),
//! Postfix's `smtp-sink` (no STARTTLS) and a second Postdesk with its own self-signed
//! certificate. The sending server trusts the test CA (`StsOptions::extra_roots`, the hook
//! `serve --outbound-ca-file` sets) and fetches policies from the test port
//! (`StsOptions::https_port`, `serve --outbound-mta-sts-port`).
//!
//! Every MX host listens on the same port (the sender's MX port) on its own loopback
//! address: 127.0.0.1 the verified server, 127.0.0.2 the sink, 127.0.0.3 the self-signed one.
//! The same set-up shows the backup MX taking over from a primary that refuses the
//! connection or greets with 421.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions, OutboundStats};

use crate::knot;

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test CA and certificates it signs (PEM).
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Postdesk test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// (certificate PEM, key PEM) for `names`.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

async fn receiver(dir: &Path, domain: &str, user: &str, addr: SocketAddr, dns: SocketAddr) -> (Engine, MailServer) {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: domain.into(), limits: None, group: None }).await.unwrap();
    let account =
        CreateAccount { address: user.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
    b.create_account(account).await.unwrap();
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some(format!("mx.{domain}"));
    options.listeners = vec![(ListenerKind::Mx, addr)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    // The inbound checks ask knotd, which answers at once (refusing other zones).
    options.dns_server = Some(dns);
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    (engine, server)
}

fn sink(addr: SocketAddr, dumps: &Path) -> Killed {
    std::fs::set_permissions(dumps, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let child = Killed(
        Command::new("smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(dumps.join("m%s."))
            .arg(addr.to_string())
            .arg("64")
            .stdout(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian package postfix) must be installed"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("smtp-sink did not start on {addr}");
}

fn dumped(dumps: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dumps).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
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

/// Each recipient's (status, last reply) in the sender's queue.
async fn replies(engine: &Engine) -> std::collections::BTreeMap<String, (String, String)> {
    let queued = engine.local_backend().list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    queued
        .into_iter()
        .flat_map(|m| m.recipients)
        .map(|r| (r.address, (r.status.name().to_string(), r.last_reply.unwrap_or_default())))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enforced_policy_allows_only_named_mx_hosts_with_verified_tls() {
    let ca = Ca::new();
    let work = tempfile::tempdir().unwrap();

    // DNS: each domain's MX, its address, its _mta-sts record and policy host.
    let mut zones = Vec::new();
    for (domain, ip) in [
        ("good.test", "127.0.0.1"),
        ("plain.test", "127.0.0.2"),
        ("other.test", "127.0.0.2"),
        ("self.test", "127.0.0.3"),
        ("testing.test", "127.0.0.2"),
    ] {
        let file = work.path().join(format!("{domain}.zone"));
        std::fs::write(
            &file,
            format!(
                "$ORIGIN {domain}.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
                 @ MX 10 mx\nmx A {ip}\nmta-sts A 127.0.0.1\n_mta-sts TXT \"v=STSv1; id=20261203\"\n"
            ),
        )
        .unwrap();
        zones.push((format!("{domain}."), file));
    }
    let zone_refs: Vec<(&str, &Path)> = zones.iter().map(|(z, f)| (z.as_str(), f.as_path())).collect();
    let knot = knot::Knot::start(&zone_refs);

    // The MX hosts, all on one port.
    let dir_good = tempfile::tempdir().unwrap();
    let (cert, key) = ca.issue(&["mx.good.test"]);
    std::fs::write(dir_good.path().join("smtp-cert.pem"), cert).unwrap();
    std::fs::write(dir_good.path().join("smtp-key.pem"), key).unwrap();
    let (good, good_server) =
        receiver(dir_good.path(), "good.test", "zoe@good.test", SocketAddr::from(([127, 0, 0, 1], 0)), knot.addr).await;
    let port = good_server.bound()[0].1.port();
    let dumps = tempfile::tempdir().unwrap();
    let _sink = sink(SocketAddr::from(([127, 0, 0, 2], port)), dumps.path());
    let dir_self = tempfile::tempdir().unwrap();
    let (selfsigned, self_server) =
        receiver(dir_self.path(), "self.test", "sam@self.test", SocketAddr::from(([127, 0, 0, 3], port)), knot.addr)
            .await;

    // The policies, over HTTPS with a certificate of the test CA.
    let policies = work.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let policy = |domain: &str, mode: &str, mx: &str| {
        let text = format!("version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n");
        std::fs::write(policies.join(format!("mta-sts.{domain}")), text).unwrap();
    };
    policy("good.test", "enforce", "mx.good.test");
    policy("plain.test", "enforce", "*.plain.test");
    policy("other.test", "enforce", "mx.elsewhere.test");
    policy("self.test", "enforce", "mx.self.test");
    policy("testing.test", "testing", "mx.testing.test");
    let domains = ["good.test", "plain.test", "other.test", "self.test", "testing.test"];
    let names: Vec<String> = domains.iter().map(|d| format!("mta-sts.{d}")).collect();
    let (cert, key) = ca.issue(&names.iter().map(String::as_str).collect::<Vec<_>>());
    std::fs::write(work.path().join("https-cert.pem"), cert).unwrap();
    std::fs::write(work.path().join("https-key.pem"), key).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mta_sts_policy.py");
    let mut https = Command::new("python3")
        .arg(script)
        .arg(work.path().join("https-cert.pem"))
        .arg(work.path().join("https-key.pem"))
        .arg(&policies)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(https.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let https = (Killed(https), line.trim().strip_prefix("port ").unwrap().parse::<u16>().unwrap());

    // The sender: trusts the test CA, fetches policies from the test port.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    let account =
        CreateAccount { address: ANN.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
    b.create_account(account).await.unwrap();
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mail.example.com".into());
    options.listeners = Vec::new();
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(knot.addr);
    options.outbound.mx_port = port;
    options.outbound.poll = Duration::from_millis(200);
    options.outbound.retry.first_retry_secs = 3600;
    options.outbound.timeouts.connect = Duration::from_secs(2);
    options.outbound.timeouts.command = Duration::from_secs(30);
    options.outbound.mta_sts.https_port = https.1;
    options.outbound.mta_sts.extra_roots = vec![ca.cert.der().clone()];
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();

    let to = ["zoe@good.test", "x@plain.test", "x@other.test", "sam@self.test", "x@testing.test"];
    for (i, rcpt) in to.iter().enumerate() {
        let envelope =
            postdesk_contract::outbound::OutboundEnvelope { sender: ANN.into(), recipients: vec![rcpt.to_string()] };
        let raw = format!("From: {ANN}\r\nTo: {rcpt}\r\nSubject: sts {i}\r\n\r\nhello\r\n").into_bytes();
        engine.queue_outbound(&format!("t:{i}"), envelope, raw).await.unwrap();
    }
    let stats = wait_for(&server, "every recipient tried", |s| s.delivered + s.deferred >= 5).await;
    let got = replies(&engine).await;
    assert_eq!((stats.delivered, stats.deferred), (2, 3), "{got:#?}");
    // Named MX host, certificate of a trusted CA for its name: delivered over TLS.
    assert_eq!(got["zoe@good.test"].0, "delivered", "{got:#?}");
    let mut inbox = Vec::new();
    for _ in 0..100 {
        inbox = good.messages("zoe@good.test", "INBOX").await.unwrap();
        if !inbox.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let raw = MailStore::message_bytes(&good, "zoe@good.test", "INBOX", inbox[0].uid).await.unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("with ESMTPS"), "over TLS");
    // No STARTTLS at the named MX: refused, never in plain text.
    let (status, reply) = &got["x@plain.test"];
    assert_eq!(status, "deferred");
    assert!(reply.starts_with("451 4.7.5 ") && reply.contains("does not offer STARTTLS"), "{reply}");
    // The policy names another MX host: not tried at all.
    let (status, reply) = &got["x@other.test"];
    assert_eq!(status, "deferred");
    assert!(reply.starts_with("451 4.7.5 ") && reply.contains("names none of its MX hosts (mx.other.test)"), "{reply}");
    // A certificate no trusted CA signed: refused.
    let (status, reply) = &got["sam@self.test"];
    assert_eq!(status, "deferred");
    assert!(reply.starts_with("451 4.7.5 ") && reply.contains("TLS with mx.self.test failed"), "{reply}");
    assert!(selfsigned.messages("sam@self.test", "INBOX").await.unwrap().is_empty());
    // Testing mode: delivered anyway (to the sink, in plain text).
    assert_eq!(got["x@testing.test"].0, "delivered", "{got:#?}");
    let dumps = dumped(dumps.path());
    assert_eq!(dumps.len(), 1, "only the testing domain's message reached the sink: {dumps:?}");
    assert!(dumps[0].contains("X-Rcpt-Args: <x@testing.test>"), "{}", dumps[0]);

    server.shutdown(Duration::from_secs(5)).await;
    good_server.shutdown(Duration::from_secs(5)).await;
    self_server.shutdown(Duration::from_secs(5)).await;
    drop(https);
    engine.close().await;
    good.close().await;
    selfsigned.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_mx_takes_the_mail_when_the_primary_refuses_the_connection_or_greets_with_421() {
    // backup.test's backup MX (preference 20) is smtp-sink on 127.0.0.2; its primary (10)
    // on 127.0.0.1 refuses connections. busy.test's primary answers 421 at once.
    let dumps = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let _sink = sink(SocketAddr::from(([127, 0, 0, 2], port)), dumps.path());
    let work = tempfile::tempdir().unwrap();
    let mut zones = Vec::new();
    for (domain, primary) in [("backup.test", "127.0.0.1"), ("busy.test", "127.0.0.3")] {
        let file = work.path().join(format!("{domain}.zone"));
        std::fs::write(
            &file,
            format!(
                "$ORIGIN {domain}.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
                 @ MX 10 primary\n@ MX 20 backup\nprimary A {primary}\nbackup A 127.0.0.2\n"
            ),
        )
        .unwrap();
        zones.push((format!("{domain}."), file));
    }
    let zone_refs: Vec<(&str, &Path)> = zones.iter().map(|(z, f)| (z.as_str(), f.as_path())).collect();
    let knot = knot::Knot::start(&zone_refs);
    let busy = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 3], port))).await.unwrap();
    let greeted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = greeted.clone();
    let busy = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = busy.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = s.write_all(b"421 4.3.2 too busy\r\n").await;
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mail.example.com".into());
    options.listeners = Vec::new();
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(knot.addr);
    options.outbound.mx_port = port;
    options.outbound.poll = Duration::from_millis(200);
    options.outbound.timeouts.connect = Duration::from_secs(2);
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    for (i, rcpt) in ["x@backup.test", "y@busy.test"].iter().enumerate() {
        let envelope = postdesk_contract::outbound::OutboundEnvelope {
            sender: "ann@example.com".into(),
            recipients: vec![rcpt.to_string()],
        };
        let raw = format!("Subject: backup {i}\r\n\r\nhello\r\n").into_bytes();
        engine.queue_outbound(&format!("t:{i}"), envelope, raw).await.unwrap();
    }
    let stats = wait_for(&server, "both delivered", |s| s.delivered == 2).await;
    assert_eq!(stats.deferred, 0, "{stats:?}");
    let dumps = dumped(dumps.path());
    assert_eq!(dumps.len(), 2, "both at the backup: {dumps:?}");
    assert!(greeted.load(std::sync::atomic::Ordering::Relaxed) >= 1, "busy.test's primary was tried first");
    server.shutdown(Duration::from_secs(5)).await;
    busy.abort();
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_policy_survives_a_restart_until_its_max_age_runs_out() {
    // kept.test: one MX, the sink on 127.0.0.2 (no STARTTLS), and an enforce policy naming
    // it with max_age 3600.
    let ca = Ca::new();
    let work = tempfile::tempdir().unwrap();
    let dumps = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let _sink = sink(SocketAddr::from(([127, 0, 0, 2], port)), dumps.path());
    let zone = work.path().join("kept.test.zone");
    std::fs::write(
        &zone,
        "$ORIGIN kept.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
         @ MX 10 mx\nmx A 127.0.0.2\nmta-sts A 127.0.0.1\n_mta-sts TXT \"v=STSv1; id=20261204\"\n",
    )
    .unwrap();
    let knot = knot::Knot::start(&[("kept.test.", zone.as_path())]);
    let policies = work.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("mta-sts.kept.test"),
        "version: STSv1\r\nmode: enforce\r\nmx: mx.kept.test\r\nmax_age: 3600\r\n",
    )
    .unwrap();
    let (cert, key) = ca.issue(&["mta-sts.kept.test"]);
    std::fs::write(work.path().join("https-cert.pem"), cert).unwrap();
    std::fs::write(work.path().join("https-key.pem"), key).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mta_sts_policy.py");
    let mut https = Command::new("python3")
        .arg(script)
        .arg(work.path().join("https-cert.pem"))
        .arg(work.path().join("https-key.pem"))
        .arg(&policies)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(https.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let https = (Killed(https), line.trim().strip_prefix("port ").unwrap().parse::<u16>().unwrap());

    // The sender, on a clock the test moves ahead: real time plus a skew. (A clock stopped
    // at the test's start would never reach the time the queue stamps on a message queued a
    // second later, and the message would wait for the skew.)
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let dir = tempfile::tempdir().unwrap();
    let options = {
        let clock = clock.clone();
        let mut options = MailServerOptions::defaults(dir.path());
        options.hostname = Some("mail.example.com".into());
        options.listeners = Vec::new();
        options.imap = Vec::new();
        options.pop3 = Vec::new();
        options.dns_server = Some(knot.addr);
        options.outbound.mx_port = port;
        options.outbound.poll = Duration::from_millis(200);
        options.outbound.retry.first_retry_secs = 600;
        options.outbound.retry.max_retry_secs = 600;
        options.outbound.timeouts.connect = Duration::from_secs(2);
        options.outbound.mta_sts.https_port = https.1;
        options.outbound.mta_sts.extra_roots = vec![ca.cert.der().clone()];
        options.outbound.clock = postdesk_mailserver::Clock::new(move || {
            time::OffsetDateTime::now_utc().unix_timestamp() + clock.load(std::sync::atomic::Ordering::Relaxed)
        });
        options
    };
    let queue = |engine: Engine, key: &'static str, rcpt: &'static str| async move {
        let envelope =
            postdesk_contract::outbound::OutboundEnvelope { sender: ANN.into(), recipients: vec![rcpt.to_string()] };
        let raw = format!("From: {ANN}\r\nTo: {rcpt}\r\nSubject: {key}\r\n\r\nhello\r\n").into_bytes();
        engine.queue_outbound(key, envelope, raw).await.unwrap();
    };
    let refused = |reply: &str| reply.starts_with("451 4.7.5 ") && reply.contains("does not offer STARTTLS");

    // First run: the policy is fetched and enforced (the MX offers no STARTTLS).
    let engine = Engine::open(dir.path()).await.unwrap();
    let server = MailServer::start(Arc::new(engine.clone()), options.clone()).await.unwrap();
    queue(engine.clone(), "t:1", "one@kept.test").await;
    wait_for(&server, "deferred by the policy", |s| s.deferred == 1).await;
    let (status, reply) = replies(&engine).await["one@kept.test"].clone();
    assert!(status == "deferred" && refused(&reply), "{status} {reply}");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;

    // The policy host is gone (an attacker blocks it, or it is down) and the server starts
    // again: the policy kept from the first run still applies.
    drop(https);
    let engine = Engine::open(dir.path()).await.unwrap();
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    queue(engine.clone(), "t:2", "two@kept.test").await;
    wait_for(&server, "deferred by the kept policy", |s| s.deferred == 1).await;
    let (status, reply) = replies(&engine).await["two@kept.test"].clone();
    assert!(status == "deferred" && refused(&reply), "after the restart: {status} {reply}");
    assert!(dumped(dumps.path()).is_empty(), "nothing in plain text while the policy holds");

    // Past its max_age (3600 s) it no longer applies: with no policy fetched, delivery goes
    // on as without MTA-STS, and both messages reach the sink.
    clock.fetch_add(3601, std::sync::atomic::Ordering::Relaxed);
    let stats = wait_for(&server, "both delivered", |s| s.delivered == 2).await;
    assert_eq!(stats.deferred, 1, "{stats:?}");
    assert_eq!(dumped(dumps.path()).len(), 2);
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}
