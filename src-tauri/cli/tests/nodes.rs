//! Two `postdesk serve` nodes on one PostgreSQL database and one S3 bucket (moto), as two
//! processes on loopback: accounts made through node A's admin API; mail sent into node B's
//! SMTP and read through node A's IMAP (Python's imaplib); then node B is killed while it
//! holds a message of the outbound queue, and node A sends that message once B's lease has
//! run out.
//!
//! Needs PostgreSQL (Debian `postgresql`), moto (`pip install 'moto[server]'`), `swaks`,
//! Postfix's `smtp-sink` and `python3`.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::outbound::RecipientStatus;

use crate::s3;

const PASSWORD: &str = "Correct horse 1";
const BLOBS: &str = "s3://mail/nodes";

struct Node {
    child: Child,
    url: String,
    token: Option<String>,
    listeners: HashMap<String, SocketAddr>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node: its own data folder, the shared database and bucket, every service on a free
/// loopback port, outbound leases of 5 s and a queue looked at every second.
fn node(name: &str, dir: &Path, database: &str, s3: &s3::S3Server) -> Node {
    let any = "127.0.0.1:0";
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--database", database, "--blobs", BLOBS, "--dns-resolver", "127.0.0.1:9"])
        .args([
            "serve",
            "--listen",
            any,
            "--node-name",
            name,
            "--outbound-lease-secs",
            "5",
            "--outbound-poll-secs",
            "1",
        ])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any])
        .args(["--imap-listen", any, "--imaps-listen", any, "--no-pop3", "--smtp-hostname", "mx.example.com"])
        .envs(s3.env())
        .env_remove("POSTDESK_UI_DIR")
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_BLOBS")
        .env("POSTDESK_LOG", "warn,postdesk_mailserver::outbound=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let tag = name.to_string();
    std::thread::spawn(move || stderr.lines().map_while(Result::ok).for_each(|l| eprintln!("{tag} (log): {l}")));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut url, mut listeners) = (None, String::new(), HashMap::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("{name}: {line}");
        if line.starts_with("pd_") {
            token = Some(line.trim().to_string());
        }
        for service in ["SMTP ", "IMAP "] {
            if let Some(rest) = line.strip_prefix(service)
                && let Some((kind, addr)) = rest.split_once(" listening on ")
            {
                listeners.insert(kind.to_string(), addr.trim().parse::<SocketAddr>().unwrap());
            }
        }
        if let Some(rest) = line.strip_prefix("Postdesk admin API listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    assert!(!url.is_empty(), "node {name} did not start: {}", common::cmdline(&c));
    Node { child, url, token, listeners }
}

fn remote(n: &Node, token: &str) -> RemoteBackend {
    RemoteBackend::new(&n.url, Token::new(token), Options { ca_cert_pem: None, timeout: None }).unwrap()
}

fn swaks(to: SocketAddr, args: &[&str]) {
    let mut c = Command::new("swaks");
    c.args(["--server", "127.0.0.1", "--port", &to.port().to_string(), "--helo", "client.test"]).args(args);
    common::run(c, None).assert_ok();
}

/// How many messages with `subject` ann's INBOX holds, read over IMAPS with imaplib.
fn imap_count(imaps: SocketAddr, subject: &str) -> usize {
    let script = format!(
        "import imaplib, ssl\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         m = imaplib.IMAP4_SSL('127.0.0.1', {port}, ssl_context=ctx)\n\
         m.login('ann@example.com', '{PASSWORD}')\n\
         m.select('INBOX')\n\
         typ, data = m.search(None, 'SUBJECT', '\"{subject}\"')\n\
         ids = data[0].split()\n\
         for i in ids:\n\
         \x20   typ, body = m.fetch(i, '(BODY.PEEK[])')\n\
         \x20   assert b'sent into node b' in body[0][1], body\n\
         print(len(ids))\n\
         m.logout()\n",
        port = imaps.port()
    );
    let out = Command::new("python3").arg("-c").arg(script).output().expect("python3 runs");
    assert!(out.status.success(), "imaplib: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Waits (at most `secs`) until `done` holds.
async fn until<F: AsyncFnMut() -> bool>(secs: u64, what: &str, mut done: F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The queued message to `to` (there is one at most here).
async fn queued(b: &RemoteBackend, to: &str) -> Option<postdesk_contract::outbound::QueuedMessage> {
    let page = b.list_outbound_queue(ListOutboundQueue::default()).await.unwrap();
    page.items.into_iter().find(|m| m.recipients.iter().any(|r| r.address == to))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_accounts_mailboxes_and_the_outbound_queue() {
    let db = postdesk_tests::postgres::fresh_database().await;
    let database = db.url().to_string();
    let s3 = s3::S3Server::start();
    s3.bucket("mail");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // Node A starts first on the empty database: it makes the first admin and prints its
    // token. Node B, on the same database, makes none.
    let a = node("a", dir_a.path(), &database, &s3);
    let token = a.token.clone().expect("the first node prints the first admin's token");
    let b_node = node("b", dir_b.path(), &database, &s3);
    assert_eq!(b_node.token, None, "the second node finds the admin made");

    // Accounts through node A's admin API; node B's API sees them at once.
    let api_a = remote(&a, &token);
    api_a.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    let ann = CreateAccount {
        address: "ann@example.com".into(),
        password: Some(Password(PASSWORD.into())),
        ..Default::default()
    };
    api_a.create_account(ann).await.unwrap();
    let api_b = remote(&b_node, &token);
    let seen = api_b.get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(seen.address, "ann@example.com");

    // Mail into node B's SMTP, read through node A's IMAP.
    swaks(
        b_node.listeners["mx"],
        &[
            "--from",
            "x@outside.test",
            "--to",
            "ann@example.com",
            "--header",
            "Subject: across",
            "--body",
            "sent into node b",
        ],
    );
    let imaps = a.listeners["imaps"];
    until(30, "the message in ann's INBOX through node A", async || imap_count(imaps, "across") == 1).await;
    let stored = s3.keys("mail");
    assert!(
        !stored.is_empty() && stored.iter().all(|k| k.starts_with("nodes/")),
        "the bucket holds the blob: {stored:?}"
    );

    // Node B takes a message for another domain from the queue and dies sending it: its
    // route goes to a listener that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let route = |port: u16| SetTransport { domain: "remote.test".into(), host: "127.0.0.1".into(), port };
    api_a.set_transport(route(silent.local_addr().unwrap().port())).await.unwrap();
    drop(a); // Node A is down meanwhile: only B can take the message.
    swaks(
        b_node.listeners["submission"],
        &["--tls", "--auth", "PLAIN", "--auth-user", "ann@example.com", "--auth-password", PASSWORD]
            .into_iter()
            .chain(["--from", "ann@example.com", "--to", "zoe@remote.test", "--header", "Subject: takeover"])
            .collect::<Vec<_>>(),
    );
    until(30, "node B's lease on the message", async || {
        queued(&api_b, "zoe@remote.test").await.and_then(|m| m.leased_by).is_some_and(|by| by.starts_with("b:"))
    })
    .await;
    let mut b_node = b_node;
    b_node.child.kill().unwrap();
    b_node.child.wait().unwrap();

    // The route now goes to a sink; node A starts again and sends the dead node's message
    // once the lease has run out.
    let sink_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dumps = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dumps.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut sink = Command::new("smtp-sink")
        .args(["-u", "nobody", "-d"])
        .arg(dumps.path().join("m%s."))
        .arg(format!("127.0.0.1:{sink_port}"))
        .arg("64")
        .spawn()
        .expect("smtp-sink (Debian package postfix)");
    let a = node("a", dir_a.path(), &database, &s3);
    let api_a = remote(&a, &token);
    api_a.set_transport(route(sink_port)).await.unwrap();
    until(60, "node A sending the message node B held", async || {
        queued(&api_a, "zoe@remote.test")
            .await
            .is_some_and(|m| m.recipients.iter().all(|r| r.status == RecipientStatus::Delivered))
    })
    .await;
    let dumped: Vec<String> = std::fs::read_dir(dumps.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert_eq!(dumped.iter().filter(|d| d.contains("Subject: takeover")).count(), 1, "sent once: {dumped:?}");
    let _ = sink.kill();
    let _ = sink.wait();
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_its_blobs_in_its_own_folder_is_warned() {
    let db = postdesk_tests::postgres::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--database", db.url(), "serve", "--listen", "127.0.0.1:0", "--no-smtp"])
        .env_remove("POSTDESK_UI_DIR")
        .env_remove("POSTDESK_BLOBS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let listening = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Postdesk admin API listening on"))
        .expect("serve starts");
    assert!(listening.ends_with(", database: PostgreSQL)"), "{listening}");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("warning: the message blobs are in this node's data folder"), "{stderr}");
}

/// A change made by a short-lived `postdesk` command on the shared database reaches a running
/// node: its notice goes out with the change's commit, not from a task the exiting command
/// would never run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_setting_changed_by_a_command_reaches_a_running_node() {
    let db = postdesk_tests::postgres::fresh_database().await;
    let (serving, admin) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut child, mx) = serve_mx(serving.path(), db.url(), &[]).expect("the node starts");
    let banner = |stream: &std::net::TcpStream| {
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line
    };
    // Two connections from one address are welcome (20 by default) …
    let first = std::net::TcpStream::connect(mx).unwrap();
    let second = std::net::TcpStream::connect(mx).unwrap();
    assert!(banner(&first).starts_with("220 ") && banner(&second).starts_with("220 "));
    drop((first, second));
    let status = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .arg("--data-dir")
        .arg(admin.path())
        .args(["--database", db.url(), "smtp", "settings", "set", "--max-connections-per-ip", "1"])
        .env_remove("POSTDESK_UI_DIR")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // … until the command's change arrives: then the second one is turned away.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let first = std::net::TcpStream::connect(mx).unwrap();
        assert!(banner(&first).starts_with("220 "));
        let second = std::net::TcpStream::connect(mx).unwrap();
        if banner(&second).starts_with("421 ") {
            break;
        }
        assert!(Instant::now() < deadline, "the running node never took the command's setting");
        drop((first, second));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A `serve` process on `database` with SMTP on loopback (no IMAP, POP3): the process and its
/// MX address, or its standard error when it does not start.
fn serve_mx(dir: &Path, database: &str, args: &[&str]) -> Result<(Child, SocketAddr), String> {
    let any = "127.0.0.1:0";
    let mut child = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--database", database, "--dns-resolver", "127.0.0.1:9", "serve", "--listen", any])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any, "--no-imap", "--no-pop3"])
        .args(args)
        .env_remove("POSTDESK_UI_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut mx = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        if let Some(addr) = line.strip_prefix("SMTP mx listening on ") {
            mx = Some(addr.parse::<SocketAddr>().unwrap());
        }
        if line.starts_with("Postdesk admin API listening on") {
            return Ok((child, mx.expect("the node listens for SMTP")));
        }
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    child.wait().unwrap();
    Err(stderr)
}

/// Two running nodes never share a name (it names their delivery keys and outbound leases);
/// the name is free again once its node has stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_with_a_running_node_s_name_is_refused() {
    let db = postdesk_tests::postgres::fresh_database().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut first, _) = serve_mx(a.path(), db.url(), &["--node-name", "mx1"]).expect("the first node starts");
    let refused = serve_mx(b.path(), db.url(), &["--node-name", "mx1"]).expect_err("the second is refused");
    assert!(refused.contains("a node named mx1 is running on this database already"), "{refused}");
    let (mut other, _) = serve_mx(b.path(), db.url(), &["--node-name", "mx2"]).expect("another name starts");
    first.kill().unwrap();
    first.wait().unwrap();
    other.kill().unwrap();
    other.wait().unwrap();
    let (mut again, _) = serve_mx(a.path(), db.url(), &["--node-name", "mx1"]).expect("the name is free again");
    again.kill().unwrap();
    again.wait().unwrap();
}
