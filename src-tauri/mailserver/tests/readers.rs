//! The mail server's IMAP side with real clients no one here wrote (Python's imaplib, curl),
//! on a real engine: login rules, folders, APPEND/FETCH/SEARCH/STORE/COPY/MOVE/EXPUNGE,
//! and a message sent by SMTP submission pushed to an IDLEing client.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::settings::Settings;
use postdesk_engine::Engine;
use postdesk_mailserver::imap::ImapListener;
use postdesk_mailserver::pop3::Pop3Listener;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    for (address, force) in [(ANN, false), ("pia@example.com", false), ("new@example.com", true)] {
        let account = CreateAccount {
            address: address.into(),
            password: Some(Password(PASSWORD.into())),
            force_password_change: Some(force),
            ..Default::default()
        };
        b.create_account(account).await.unwrap();
    }
    let off = Settings { imap: Some(false), ..Default::default() };
    let target = BatchTarget::Accounts { addresses: vec!["pia@example.com".into()] };
    b.update_settings(UpdateSettings { domain: "example.com".into(), target, set: Some(off), clear: None })
        .await
        .unwrap();
    engine
}

async fn start(dir: &Path, engine: &Engine) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mx.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = vec![(ImapListener::Imap, any), (ImapListener::Imaps, any)];
    options.pop3 = vec![(Pop3Listener::Pop3s, any)];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

fn port<K: PartialEq>(bound: &[(K, SocketAddr)], kind: K) -> String {
    bound.iter().find(|(k, _)| *k == kind).unwrap().1.port().to_string()
}

/// What every imaplib script over implicit TLS needs: the IMAPS port, the server's
/// certificate and the password.
fn imaps_env(dir: &Path, server: &MailServer) -> Vec<(&'static str, String)> {
    vec![
        ("IMAPS", port(&server.imap_bound(), ImapListener::Imaps)),
        ("CA", dir.join("smtp-cert.pem").display().to_string()),
        ("PASS", PASSWORD.to_string()),
    ]
}

/// Runs a client script beside this file with `env`; panics with its output unless it
/// ends with ALL OK.
fn python(script: &str, env: &[(&str, String)]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let out = Command::new("python3").arg(&path).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("ALL OK"), "{script}:\n{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn imaplib_reads_files_and_is_pushed_new_mail() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let server = start(dir.path(), &engine).await;
    let imap = server.imap_bound();
    let env = [
        ("IMAP", port(&imap, ImapListener::Imap)),
        ("IMAPS", port(&imap, ImapListener::Imaps)),
        ("SUBMISSION", port(server.bound(), ListenerKind::Submission)),
        ("CA", dir.path().join("smtp-cert.pem").display().to_string()),
        ("USER_ADDR", ANN.to_string()),
        ("PASS", PASSWORD.to_string()),
    ];
    let run = tokio::task::spawn_blocking(move || python("imap_flow.py", &env));
    run.await.unwrap();
    // The pushed message is in the store, where POP3 and the admin tools see it too.
    let inbox = postdesk_contract::mail::MailStore::messages(&engine, ANN, "INBOX").await.unwrap();
    assert_eq!(inbox.len(), 1);
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_tells_an_idle_client_of_other_folders() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let server = start(dir.path(), &engine).await;
    let mut env = imaps_env(dir.path(), &server);
    env.push(("USER_ADDR", ANN.to_string()));
    tokio::task::spawn_blocking(move || python("imap_notify.py", &env)).await.unwrap();
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_are_told_why_they_cannot_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let server = start(dir.path(), &engine).await;
    // Where `serve` says the user portal is: the refusal names it.
    engine.set_portal_url(Some("https://mail.example.com:8443/#/portal".into()));
    let mut env = imaps_env(dir.path(), &server);
    env.extend([
        ("OFF", "pia@example.com".to_string()),
        ("FIRST", "new@example.com".to_string()),
        ("OK_USER", ANN.to_string()),
    ]);
    tokio::task::spawn_blocking(move || python("imap_refusals.py", &env)).await.unwrap();
    let log = engine.login_log(None, None, 10).await.unwrap();
    let reasons: Vec<&str> = log.iter().filter(|r| r.service == "imap").map(|r| r.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["wrong_password", "password_change_required", "password_change_required", "service_disabled"],
        "newest first"
    );
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_lists_and_fetches_over_imaps_and_pop3s() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    engine.deliver(ANN, b"Subject: for curl\r\n\r\nfetched by curl\r\n").await.unwrap();
    let server = start(dir.path(), &engine).await;
    let ca = dir.path().join("smtp-cert.pem");
    let user = format!("{ANN}:{PASSWORD}");
    let curl = move |url: String| {
        let out = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&ca)
            .args(["--resolve", "localhost:0:127.0.0.1", "--user", &user, &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let imaps = port(&server.imap_bound(), ImapListener::Imaps);
    let pop3s = port(&server.pop3_bound(), Pop3Listener::Pop3s);
    let listing = tokio::task::spawn_blocking({
        let curl = curl.clone();
        let imaps = imaps.clone();
        move || curl(format!("imaps://localhost:{imaps}/"))
    })
    .await
    .unwrap();
    assert!(listing.contains("INBOX") && listing.contains("\\Sent"), "{listing}");
    let message = tokio::task::spawn_blocking({
        let curl = curl.clone();
        move || curl(format!("imaps://localhost:{imaps}/INBOX;UID=1"))
    })
    .await
    .unwrap();
    assert!(message.contains("fetched by curl"), "{message}");
    let popped = tokio::task::spawn_blocking(move || curl(format!("pop3s://localhost:{pop3s}/1"))).await.unwrap();
    assert!(popped.contains("fetched by curl"), "{popped}");
    server.shutdown(std::time::Duration::from_secs(5)).await;
}
