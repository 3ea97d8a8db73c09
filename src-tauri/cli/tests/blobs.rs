//! `postdesk serve --blobs s3://…` end to end: the real binary with its message blobs in a
//! real S3-compatible server (moto), mail submitted with swaks and listed through the admin
//! API, the data folder remembering its store after a restart, another store refused, and
//! `postdesk blobs migrate` moving a data folder's mail (refused while a server runs).
//!
//! Needs `swaks` and moto (`python3 -m pip install 'moto[server]'`).

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::Backend;
use postdesk_contract::api::*;

use crate::s3;

const PASSWORD: &str = "Correct horse 1";

struct Serve {
    child: Child,
    url: String,
    token: Option<String>,
    submission: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postdesk(dir: &Path, s3: &s3::S3Server) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).envs(s3.env()).env_remove("POSTDESK_BLOBS").env_remove("POSTDESK_URL");
    c
}

/// `serve` with the admin API and submission on free loopback ports (no IMAP/POP3); `blobs`
/// is passed as --blobs when given.
fn serve(dir: &Path, s3: &s3::S3Server, blobs: Option<&str>) -> Serve {
    let any = "127.0.0.1:0";
    let mut c = postdesk(dir, s3);
    if let Some(b) = blobs {
        c.args(["--blobs", b]);
    }
    // No DNS server answers on port 9: submission of local mail needs none.
    c.args(["--dns-resolver", "127.0.0.1:9", "serve", "--listen", any, "--no-imap", "--no-pop3"])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any])
        .args(["--smtp-hostname", "mx.example.com"])
        .env_remove("POSTDESK_UI_DIR")
        .env("POSTDESK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut url, mut submission) = (None, String::new(), None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("serve: {line}");
        if line.starts_with("pd_") {
            token = Some(line.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("SMTP submission listening on ") {
            submission = Some(rest.trim().parse::<SocketAddr>().unwrap());
        }
        if let Some(rest) = line.strip_prefix("Postdesk admin API listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("serve: {l}")));
    assert!(!url.is_empty(), "serve did not start: {}", common::cmdline(&c));
    Serve { child, url, token, submission: submission.expect("a submission listener") }
}

fn remote(s: &Serve, token: &str) -> RemoteBackend {
    RemoteBackend::new(&s.url, Token::new(token), Options { ca_cert_pem: None, timeout: None }).unwrap()
}

async fn provision(b: &RemoteBackend) {
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    for a in ["ann@example.com", "bob@example.com"] {
        let account =
            CreateAccount { address: a.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
}

fn submit(s: &Serve, subject: &str) {
    let mut c = Command::new("swaks");
    c.args(["--server", "127.0.0.1", "--port", &s.submission.port().to_string(), "--helo", "client.test"])
        .args(["--tls", "--auth", "PLAIN", "--auth-user", "ann@example.com", "--auth-password", PASSWORD])
        .args(["--from", "ann@example.com", "--to", "bob@example.com", "--header", &format!("Subject: {subject}")]);
    common::run(c, None).assert_ok();
}

/// The subjects in bob's INBOX once it holds `n` messages (each read from the blob store).
async fn subjects(b: &RemoteBackend, n: u32) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = b
            .list_messages(ListMessages { address: "bob@example.com".into(), folder: None, offset: None, limit: None })
            .await
            .unwrap();
        if page.total >= n || Instant::now() > deadline {
            assert_eq!(page.total, n, "{page:?}");
            return page.items.into_iter().map(|m| m.subject).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn local_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs")).map(|d| d.flatten().filter(|e| e.file_name().len() == 2).count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_keeps_mail_in_the_bucket_and_the_data_folder_remembers_it() {
    let s3 = s3::S3Server::start();
    s3.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path(), &s3, Some("s3://mail/node"));
    let token = first.token.clone().expect("the first start prints a token");
    let b = remote(&first, &token);
    provision(&b).await;
    submit(&first, "into the bucket");
    assert_eq!(subjects(&b, 1).await, ["into the bucket"]);
    let keys = s3.keys("mail");
    assert!(keys.len() == 1 && keys[0].starts_with("node/"), "{keys:?}");
    assert_eq!(local_files(dir.path()), 0);
    drop(first);

    // Started again without --blobs: the data folder says where its mail is.
    let again = serve(dir.path(), &s3, None);
    let b = remote(&again, &token);
    submit(&again, "second");
    let mut got = subjects(&b, 2).await;
    got.sort();
    assert_eq!(got, ["into the bucket", "second"]);
    assert_eq!(s3.keys("mail").len(), 2);
    drop(again);

    let mut c = postdesk(dir.path(), &s3);
    c.args(["--json", "blobs", "where"]);
    assert_eq!(common::run(c, None).assert_ok().json()["location"], "s3://mail/node");
    let mut c = postdesk(dir.path(), &s3);
    c.args(["--blobs", "local", "accounts", "list", "example.com"]);
    common::run(c, None).assert_code(1).assert_stderr_contains("keeps its mail in s3://mail/node");
    let mut c = postdesk(dir.path(), &s3);
    c.args(["--blobs", "s3://Bad Bucket", "blobs", "where"]);
    common::run(c, None).assert_code(1).assert_stderr_contains("not an S3 location");
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_migrate_moves_a_data_folders_mail_once_its_server_is_stopped() {
    let s3 = s3::S3Server::start();
    s3.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let local = serve(dir.path(), &s3, None);
    let token = local.token.clone().unwrap();
    let b = remote(&local, &token);
    provision(&b).await;
    submit(&local, "moved");
    subjects(&b, 1).await;
    assert!(local_files(dir.path()) > 0);

    // While the server runs: refused, nothing moved.
    let mut c = postdesk(dir.path(), &s3);
    c.args(["blobs", "migrate", "--to", "s3://mail/moved"]);
    common::run(c, None).assert_code(1).assert_stderr_contains("stop it first");
    assert!(s3.keys("mail").is_empty());
    drop(local);

    let mut c = postdesk(dir.path(), &s3);
    c.args(["--json", "blobs", "migrate", "--to", "s3://mail/moved"]);
    let moved = common::run(c, None).assert_ok().json();
    assert_eq!(
        (moved["from"].as_str(), moved["to"].as_str(), moved["blobs"].as_u64()),
        (Some("local"), Some("s3://mail/moved"), Some(1))
    );
    assert_eq!(s3.keys("mail").len(), 1);

    let after = serve(dir.path(), &s3, None);
    assert_eq!(subjects(&remote(&after, &token), 1).await, ["moved"]);
}
