//! Two `postdesk serve` exchanging mail through MX records served by knotd: a user of A
//! (example.com) writes to a user of B (example.net); A finds B by example.net's MX record,
//! signs with example.com's active DKIM key (published in the zone), and the message lands
//! in B's INBOX with `dkim=pass` and `spf=pass` in B's Authentication-Results. The queue is
//! then read and the transport table edited through the CLI.
//!
//! A second test SIGKILLs the sending `serve` while its queue drains to a slow smtp-sink
//! and starts it again: every message reaches the sink at least once.
//!
//! Needs `swaks`, `knotd` and Postfix's `smtp-sink` (Debian: swaks knot postfix).

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_engine::Engine;

use crate::knot;

const PASSWORD: &str = "Correct horse 1";

struct Serve {
    child: Child,
    url: String,
    token: String,
    mx: SocketAddr,
    submission: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, resolver: SocketAddr, hostname: &str, extra: &[&str]) -> Serve {
    let any = "127.0.0.1:0";
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--dns-resolver", &resolver.to_string(), "serve", "--listen", any])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any, "--no-imap", "--no-pop3"])
        .args(["--smtp-hostname", hostname])
        .args(extra)
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
    let (mut token, mut url) = (String::new(), String::new());
    let mut listeners = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("{hostname}: {line}");
        if line.starts_with("pd_") {
            token = line.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("SMTP ") {
            let (kind, addr) = rest.split_once(" listening on ").unwrap();
            listeners.insert(kind.to_string(), addr.trim().parse::<SocketAddr>().unwrap());
        }
        if let Some(rest) = line.strip_prefix("Postdesk admin API listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    assert!(!url.is_empty(), "serve did not start: {}", common::cmdline(&c));
    Serve { child, url, token, mx: listeners["mx"], submission: listeners["submission"] }
}

/// A data folder with a domain, an account and (for the sender) an active DKIM key; the
/// key's DNS record (name, value) is returned.
async fn provision(dir: &Path, domain: &str, user: &str, dkim: bool) -> Option<(String, String)> {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: domain.into(), limits: None, group: None }).await.unwrap();
    let account =
        CreateAccount { address: user.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
    b.create_account(account).await.unwrap();
    let key = if dkim {
        let key = b.create_dkim_key(CreateDkimKey { domain: domain.into(), ..Default::default() }).await.unwrap();
        Some((key.record_name, key.record_value))
    } else {
        None
    };
    engine.close().await;
    key
}

/// A TXT record value as zone-file character-strings of at most 255 bytes.
fn txt(value: &str) -> String {
    value.as_bytes().chunks(200).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

fn cli(dir: &Path, args: &[&str]) -> common::Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).args(args);
    common::run(c, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_exchange_mail_through_mx_records_with_dkim_pass() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (name, value) = provision(dir_a.path(), "example.com", "ann@example.com", true).await.unwrap();
    provision(dir_b.path(), "example.net", "zoe@example.net", false).await;

    let zones = tempfile::tempdir().unwrap();
    let com = zones.path().join("com.zone");
    let selector = name.strip_suffix("._domainkey.example.com").unwrap();
    std::fs::write(
        &com,
        format!(
            "$ORIGIN example.com.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
             @ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n\
             {selector}._domainkey TXT {}\n",
            txt(&value)
        ),
    )
    .unwrap();
    let net = zones.path().join("net.zone");
    std::fs::write(
        &net,
        "$ORIGIN example.net.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
         @ MX 20 backup\n@ MX 10 mx\nmx A 127.0.0.1\nbackup A 127.0.0.9\n",
    )
    .unwrap();
    // The empty parent: DMARC's look-up of the organisational domain gets NXDOMAIN.
    let parent = zones.path().join("com.parent.zone");
    std::fs::write(&parent, "$ORIGIN com.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n").unwrap();
    let knot = knot::Knot::start(&[
        ("example.com.", com.as_path()),
        ("example.net.", net.as_path()),
        ("com.", parent.as_path()),
    ]);
    let resolver = knot.addr;

    let b = serve(dir_b.path(), resolver, "mx.example.net", &[]);
    // A's MX connections go to B's MX port (on the address example.net's MX record gives).
    let a = serve(dir_a.path(), resolver, "mx.example.com", &["--outbound-mx-port", &b.mx.port().to_string()]);

    let mut c = Command::new("swaks");
    c.args(["--server", &a.submission.ip().to_string(), "--port", &a.submission.port().to_string()])
        .args(["--tls", "--auth", "PLAIN", "--auth-user", "ann@example.com", "--auth-password", PASSWORD])
        .args(["--from", "ann@example.com", "--to", "zoe@example.net", "--header", "Subject: across the net"]);
    let sent = common::run(c, None);
    assert!(sent.success() && sent.stdout().contains("250 2.0.0"), "{sent}");

    let remote_b = postdesk_client::RemoteBackend::new(
        &b.url,
        postdesk_client::Token::new(&b.token),
        postdesk_client::Options { ca_cert_pem: None, timeout: None },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let inbox = loop {
        let p = ListMessages { address: "zoe@example.net".into(), folder: None, offset: None, limit: None };
        let page = remote_b.list_messages(p).await.unwrap();
        if page.total == 1 || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(inbox.total, 1, "the message reached B's INBOX");
    let engine_b = Engine::open(dir_b.path()).await.unwrap();
    let raw =
        postdesk_contract::mail::MailStore::message_bytes(&engine_b, "zoe@example.net", "INBOX", 1).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("dkim=pass") && text.contains("header.d=example.com"), "{text}");
    assert!(text.contains("spf=pass") && text.contains("dmarc=pass"), "{text}");
    assert!(text.contains("with ESMTPS"), "over STARTTLS: {text}");
    assert!(text.contains("Subject: across the net"), "{text}");

    // The queue through the CLI (A's data folder, while A runs: the engine is shared).
    let queue = cli(dir_a.path(), &["--json", "outbound", "queue"]);
    queue.assert_ok();
    let json = queue.json();
    assert_eq!(json[0]["recipients"][0]["status"], "delivered", "{json}");
    assert_eq!(json[0]["recipients"][0]["address"], "zoe@example.net");
    assert!(json[0]["recipients"][0]["last_reply"].as_str().unwrap().starts_with("250 "), "{json}");
    cli(dir_a.path(), &["outbound", "transports", "set", "example.org", "127.0.0.1", "2525"]).assert_ok();
    cli(dir_a.path(), &["outbound", "transports", "list"]).assert_stdout_contains("example.org");
    cli(dir_a.path(), &["outbound", "transports", "remove", "example.org"]).assert_ok();
    engine_b.close().await;
    drop(a);
    drop(b);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_while_the_queue_drains_loses_nothing() {
    const N: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    provision(dir.path(), "example.com", "ann@example.com", false).await;
    // A sink that takes a second per message, dumping each transaction.
    let dumps = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dumps.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut sink = Command::new("smtp-sink")
        .args(["-u", "nobody", "-w", "1", "-d"])
        .arg(dumps.path().join("m%s."))
        .arg(format!("127.0.0.1:{port}"))
        .arg("64")
        .spawn()
        .expect("smtp-sink (Debian package postfix)");
    cli(dir.path(), &["outbound", "transports", "set", "remote.test", "127.0.0.1", &port.to_string()]).assert_ok();
    let nowhere = SocketAddr::from(([127, 0, 0, 1], 9));
    let a = serve(dir.path(), nowhere, "mx.example.com", &["--outbound-per-destination", "2"]);
    for i in 0..N {
        submit(&a, "ann@example.com", "x@remote.test", &format!("crash {i:02}"));
    }
    // Some are through, some in flight: kill it.
    let subjects = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dumps.path())
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .filter_map(|t| t.lines().find_map(|l| l.strip_prefix("Subject: ").map(str::to_string)))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while subjects().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = subjects().len();
    assert!(before < N, "the kill came too late to test anything ({before} of {N} through)");
    drop(a); // SIGKILL
    let a = serve(dir.path(), nowhere, "mx.example.com", &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while subjects().len() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = subjects();
    let _ = sink.kill();
    let _ = sink.wait();
    assert_eq!(got.len(), N, "every message reached the sink at least once (killed after {before}): {got:?}");
    // The sink has a message before the server has read its 250 and marked it delivered:
    // wait (a while) for the last marks, then compare.
    let delivered = || cli(dir.path(), &["--json", "outbound", "queue", "--status", "delivered"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut queue = delivered();
    while queue.json().as_array().unwrap().len() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        queue = delivered();
    }
    assert_eq!(queue.json().as_array().unwrap().len(), N, "{}", queue.stdout());
    drop(a);
}
