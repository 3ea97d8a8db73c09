//! The smarthost relay with real servers on loopback, set up through the CLI (the secret on
//! stdin):
//!
//! * A (`postdesk serve`, example.com and example.org) relays all its outbound mail through
//!   B, a second `postdesk serve` whose submission port requires AUTH over STARTTLS. With
//!   certificate verification on, B's self-signed certificate defers the mail with a TLS
//!   reply (never a plain fallback); with a wrong password it is deferred with B's 535
//!   (nothing lost, nothing bounced); with the password fixed, `outbound retry` delivers it
//!   into the right INBOX at B. The secret is a 0600 file and in no API answer, database
//!   file or audit entry.
//! * A sender-domain relay beats the global one: example.org's mail goes through B's SMTPS
//!   port with AUTH LOGIN, example.com's through a Python smarthost that takes only AUTH
//!   XOAUTH2 and checks its string.
//!
//! Needs `swaks` and `python3` (Debian: swaks python3).

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::smtp::SmtpSettings;
use postdesk_engine::Engine;

const PASSWORD: &str = "Correct horse 1";
const RELAY_PASSWORD: &str = "Relay-pass 9 kQz";
const TOKEN: &str = "ya29.a0-static-bearer-7Hq";

struct Serve {
    child: Child,
    submission: SocketAddr,
    smtps: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, hostname: &str) -> Serve {
    let any = "127.0.0.1:0";
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--dns-resolver", "127.0.0.1:9", "serve", "--listen", any])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any, "--no-imap", "--no-pop3"])
        .args(["--smtp-hostname", hostname, "--outbound-poll-secs", "1"])
        .env_remove("POSTDESK_UI_DIR")
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_TOKEN")
        .env("POSTDESK_LOG", "warn,postdesk_mailserver::outbound=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let name = hostname.to_string();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            eprintln!("{name} (log): {line}");
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut listeners = std::collections::HashMap::new();
    let mut started = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("{hostname}: {line}");
        if let Some(rest) = line.strip_prefix("SMTP ") {
            let (kind, addr) = rest.split_once(" listening on ").unwrap();
            listeners.insert(kind.to_string(), addr.trim().parse::<SocketAddr>().unwrap());
        }
        if line.starts_with("Postdesk admin API listening on ") {
            started = true;
            break;
        }
    }
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    assert!(started, "serve did not start: {}", common::cmdline(&c));
    Serve { child, submission: listeners["submission"], smtps: listeners["submissions"] }
}

/// A data folder with these domains and accounts; `relay_host`: senders need not match the
/// authenticated account (a smarthost that relays other servers' mail).
async fn provision(dir: &Path, domains: &[&str], users: &[&str], relay_host: bool) {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    for domain in domains {
        b.create_domain(CreateDomain { domain: domain.to_string(), limits: None, group: None }).await.unwrap();
    }
    for user in users {
        let account = CreateAccount {
            address: user.to_string(),
            password: Some(Password(PASSWORD.into())),
            ..Default::default()
        };
        b.create_account(account).await.unwrap();
    }
    if relay_host {
        let account = CreateAccount {
            address: "relay@example.net".into(),
            password: Some(Password(RELAY_PASSWORD.into())),
            ..Default::default()
        };
        b.create_account(account).await.unwrap();
        let settings = SmtpSettings { require_sender_match: false, ..Default::default() };
        b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    }
    engine.close().await;
}

fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> common::Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).args(args);
    common::run(c, stdin)
}

/// Submits one message as `user` through `serve`'s submission port.
fn submit(s: &Serve, user: &str, to: &str, subject: &str) {
    let mut c = Command::new("swaks");
    c.args(["--server", &s.submission.ip().to_string(), "--port", &s.submission.port().to_string()])
        .args(["--tls", "--auth", "PLAIN", "--auth-user", user, "--auth-password", PASSWORD])
        .args(["--from", user, "--to", to, "--header", &format!("Subject: {subject}")]);
    let sent = common::run(c, None);
    assert!(sent.success() && sent.stdout().contains("250 2.0.0"), "{sent}");
}

/// The queue's one recipient of `sender`'s message once `done` holds for it (30 s at most).
fn wait_for_recipient(dir: &Path, sender: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queue = cli(dir, &["--json", "outbound", "queue", "--sender", sender], None);
        queue.assert_ok();
        let json = queue.json();
        let rcpt = json[0]["recipients"][0].clone();
        if done(&rcpt) || Instant::now() > deadline {
            return json;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The subjects in `address`'s INBOX at the data folder `dir` (read while its serve runs).
async fn inbox_subjects(dir: &Path, address: &str) -> Vec<String> {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    let page = b
        .list_messages(ListMessages { address: address.into(), folder: None, offset: None, limit: None })
        .await
        .unwrap();
    engine.close().await;
    page.items.into_iter().map(|m| m.subject).collect()
}

async fn wait_for_inbox(dir: &Path, address: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let subjects = inbox_subjects(dir, address).await;
        if subjects.len() >= n || Instant::now() > deadline {
            return subjects;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smarthost_with_auth_defers_on_tls_and_535_then_delivers_with_the_right_secret() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    provision(dir_a.path(), &["example.com"], &["ann@example.com"], false).await;
    provision(dir_b.path(), &["example.net"], &["zoe@example.net"], true).await;
    let b = serve(dir_b.path(), "smarthost.example.net");
    let a = serve(dir_a.path(), "mx.example.com");
    let port = b.submission.port().to_string();
    let set = |extra: &[&str], secret: Option<&str>| {
        let mut args = vec!["outbound", "relay", "set", "127.0.0.1", &port, "--tls", "starttls"];
        args.extend_from_slice(&["--auth", "plain", "--user", "relay@example.net"]);
        args.extend_from_slice(extra);
        if secret.is_some() {
            args.push("--secret-stdin");
        }
        let ran = cli(dir_a.path(), &args, secret.map(|s| format!("{s}\n")).as_deref());
        ran.assert_ok();
        ran
    };

    // 1. Certificate verification on: B's self-signed certificate fails the handshake.
    set(&[], Some(RELAY_PASSWORD));
    submit(&a, "ann@example.com", "zoe@example.net", "through the relay");
    let json = wait_for_recipient(dir_a.path(), "ann@example.com", |r| r["status"] == "deferred");
    let rcpt = &json[0]["recipients"][0];
    let reply = rcpt["last_reply"].as_str().unwrap_or_default();
    assert_eq!(rcpt["status"], "deferred", "{json}");
    assert!(reply.starts_with("451 4.7.5 TLS with the relay 127.0.0.1"), "{json}");
    assert!(reply.contains("not sent without it"), "{json}");
    let id = json[0]["id"].as_i64().unwrap().to_string();

    // 2. Encrypted without the certificate check, a wrong password: B's 535, deferred.
    let listed = set(&["--no-verify-certificate"], Some("wrong password"));
    assert!(!listed.stdout().contains("wrong password"), "{}", listed.stdout());
    cli(dir_a.path(), &["outbound", "retry", &id], None).assert_ok();
    let json = wait_for_recipient(dir_a.path(), "ann@example.com", |r| {
        r["last_reply"].as_str().is_some_and(|s| s.starts_with("535"))
    });
    let rcpt = &json[0]["recipients"][0];
    assert_eq!(rcpt["status"], "deferred", "a relay credential problem does not bounce: {json}");
    let reply = rcpt["last_reply"].as_str().unwrap();
    assert!(reply.starts_with("535 5.7.8") && reply.contains("AUTH PLAIN for relay@example.net"), "{json}");
    assert!(inbox_subjects(dir_b.path(), "zoe@example.net").await.is_empty());
    assert!(inbox_subjects(dir_a.path(), "ann@example.com").await.is_empty(), "no bounce to the sender");

    // 3. The password fixed (only the secret: the rest is set again as it was): retry delivers.
    set(&["--no-verify-certificate"], Some(RELAY_PASSWORD));
    cli(dir_a.path(), &["outbound", "retry", &id], None).assert_ok();
    let json = wait_for_recipient(dir_a.path(), "ann@example.com", |r| r["status"] == "delivered");
    assert_eq!(json[0]["recipients"][0]["status"], "delivered", "{json}");
    assert!(json[0]["recipients"][0]["last_reply"].as_str().unwrap().starts_with("250 "), "{json}");
    assert_eq!(wait_for_inbox(dir_b.path(), "zoe@example.net", 1).await, ["through the relay"]);
    assert!(inbox_subjects(dir_b.path(), "relay@example.net").await.is_empty(), "into the recipient's INBOX");

    // The secret: a 0600 file, and nowhere else.
    let file = dir_a.path().join("secrets/relay.all");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), RELAY_PASSWORD);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let list = cli(dir_a.path(), &["--json", "outbound", "relay", "list"], None);
    list.assert_ok();
    assert_eq!(list.json()[0]["secret_set"], true, "{}", list.stdout());
    let audit = cli(dir_a.path(), &["--json", "audit", "--limit", "1000"], None);
    audit.assert_ok();
    assert!(audit.stdout().contains("set_relay"), "{}", audit.stdout());
    let mut db = Vec::new();
    for name in ["postdesk.db", "postdesk.db-wal"] {
        db.extend(std::fs::read(dir_a.path().join(name)).unwrap_or_default());
    }
    assert!(holds(&db, "relay@example.net"), "the settings are in the database");
    for secret in [RELAY_PASSWORD, "wrong password"] {
        assert!(!list.stdout().contains(secret) && !audit.stdout().contains(secret), "{secret} shown");
        assert!(!holds(&db, secret), "{secret} in the database");
    }
    drop(a);
    drop(b);
}

/// A Python smarthost that takes only AUTH XOAUTH2 with this user and token.
struct Xoauth2 {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
}

impl Drop for Xoauth2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn xoauth2_smarthost(user: &str, token: &str) -> Xoauth2 {
    let out = tempfile::tempdir().unwrap();
    let id = postdesk_server::tls::Identity::self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (out.path().join("cert.pem"), out.path().join("key.pem"));
    std::fs::write(&cert, &id.cert_pem).unwrap();
    std::fs::write(&key, &id.key_pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/xoauth2_smarthost.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([cert.as_os_str(), key.as_os_str()])
        .args([user, token])
        .arg(out.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).parse().unwrap();
    Xoauth2 { child, port, out }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_domain_relay_beats_the_global_one_and_xoauth2_sends_the_bearer_token() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    provision(dir_a.path(), &["example.com", "example.org"], &["ann@example.com", "bob@example.org"], false).await;
    provision(dir_b.path(), &["example.net"], &["zoe@example.net"], true).await;
    let b = serve(dir_b.path(), "smarthost.example.net");
    let a = serve(dir_a.path(), "mx.example.com");
    let python = xoauth2_smarthost("ann@example.com", TOKEN);

    // Global: the XOAUTH2 smarthost, implicit TLS. example.org's: B's SMTPS, AUTH LOGIN.
    let py_port = python.port.to_string();
    let global = ["outbound", "relay", "set", "127.0.0.1", &py_port, "--tls", "implicit", "--no-verify-certificate"];
    let xoauth2 = ["--auth", "xoauth2", "--user", "ann@example.com", "--secret-stdin"];
    cli(dir_a.path(), &[&global[..], &xoauth2[..]].concat(), Some(&format!("{TOKEN}\n"))).assert_ok();
    let smtps = b.smtps.port().to_string();
    let own = ["outbound", "relay", "set", "--sender-domain", "example.org", "127.0.0.1", &smtps, "--tls", "implicit"];
    let login = ["--no-verify-certificate", "--auth", "login", "--user", "relay@example.net", "--secret-stdin"];
    cli(dir_a.path(), &[&own[..], &login[..]].concat(), Some(&format!("{RELAY_PASSWORD}\n"))).assert_ok();

    submit(&a, "bob@example.org", "zoe@example.net", "from example.org");
    submit(&a, "ann@example.com", "zoe@example.net", "from example.com");
    let org = wait_for_recipient(dir_a.path(), "bob@example.org", |r| r["status"] == "delivered");
    assert_eq!(org[0]["recipients"][0]["status"], "delivered", "{org}");
    let com = wait_for_recipient(dir_a.path(), "ann@example.com", |r| r["status"] == "delivered");
    assert_eq!(com[0]["recipients"][0]["status"], "delivered", "{com}");

    // example.org's went through B only; example.com's through the Python smarthost only.
    assert_eq!(wait_for_inbox(dir_b.path(), "zoe@example.net", 1).await, ["from example.org"]);
    let auth_log = std::fs::read_to_string(python.out.path().join("auth.log")).unwrap();
    assert_eq!(auth_log, "ok ann@example.com\n", "one XOAUTH2 with the right string");
    let relayed = std::fs::read_to_string(python.out.path().join("1.eml")).unwrap();
    assert!(relayed.contains("Subject: from example.com"), "{relayed}");
    assert!(!python.out.path().join("2.eml").exists(), "example.org's mail did not go there");

    // A wrong token: the XOAUTH2 error challenge, then 535, deferred.
    cli(dir_a.path(), &[&global[..], &xoauth2[..]].concat(), Some("expired-token\n")).assert_ok();
    submit(&a, "ann@example.com", "zoe@example.net", "with an expired token");
    let deadline = Instant::now() + Duration::from_secs(30);
    let json = loop {
        let queue = cli(dir_a.path(), &["--json", "outbound", "queue", "--status", "deferred"], None);
        let json = queue.json();
        if json.as_array().is_some_and(|a| !a.is_empty()) || Instant::now() > deadline {
            break json;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let reply = json[0]["recipients"][0]["last_reply"].as_str().unwrap_or_default();
    assert!(reply.starts_with("535 5.7.8") && reply.contains("AUTH XOAUTH2"), "{json}");
    let auth_log = std::fs::read_to_string(python.out.path().join("auth.log")).unwrap();
    assert!(auth_log.ends_with("refused user=ann@example.com^Aauth=Bearer expired-token^A^A\n"), "{auth_log}");
    drop(a);
    drop(b);
}
