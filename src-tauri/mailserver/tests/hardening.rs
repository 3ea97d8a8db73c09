//! Bounded resources under hostile clients, with real clients (Python's smtplib) against
//! the mail server on a real engine: bounds show as refusals and counts, never as times.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
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
    let account =
        CreateAccount { address: ANN.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
    b.create_account(account).await.unwrap();
    engine
}

async fn start(dir: &Path, engine: &Engine) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mx.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

fn port<K: PartialEq>(bound: &[(K, SocketAddr)], kind: K) -> String {
    bound.iter().find(|(k, _)| *k == kind).unwrap().1.port().to_string()
}

/// Runs a client script of tests/clients with `env`; panics with its output unless it
/// ends with ALL OK.
fn python(script: &str, env: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let out = Command::new("python3").arg(&path).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("ALL OK"), "{script}:\n{text}");
    text
}

/// 300 wrong-password AUTHs at once: the password checks run in the engine's bounded pool
/// (one Argon2id per core, at most `LOGIN_QUEUE` waiting), so the rest get 454 4.7.0 at
/// once instead of a hashing thread and 19 MiB each; every attempt is answered and the
/// owner logs in afterwards. Without the pool every attempt is hashed (no 454).
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_smtp_auth_attempts_is_refused_past_the_hashing_queue() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let server = start(dir.path(), &engine).await;
    let env = [
        ("SUBMISSION", port(server.bound(), ListenerKind::Submission)),
        ("CA", dir.path().join("smtp-cert.pem").display().to_string()),
        ("USER_ADDR", ANN.to_string()),
        ("PASS", PASSWORD.to_string()),
        ("N", "300".to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || python("auth_flood.py", &env)).await.unwrap();
    println!("{out}");
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

/// 150 IMAP and 150 POP3 wrong-password logins at once (imaplib, poplib over implicit TLS):
/// past the engine's hashing queue the excess gets `NO [UNAVAILABLE]` / `-ERR [SYS/TEMP]`
/// at once, the rest are checked and refused; every attempt is answered. Then the
/// per-address connection caps of the plain IMAP and POP3 ports: the address past its share
/// is refused, another address is greeted.
#[tokio::test(flavor = "multi_thread")]
async fn imap_and_pop3_login_floods_are_refused_past_the_hashing_queue_and_capped_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mx.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = vec![(ImapListener::Imap, any), (ImapListener::Imaps, any)];
    options.pop3 = vec![(Pop3Listener::Pop3, any), (Pop3Listener::Pop3s, any)];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    let (imap, pop3) = (server.imap_bound(), server.pop3_bound());
    let env = [
        ("IMAP", port(&imap, ImapListener::Imap)),
        ("IMAPS", port(&imap, ImapListener::Imaps)),
        ("POP3", port(&pop3, Pop3Listener::Pop3)),
        ("POP3S", port(&pop3, Pop3Listener::Pop3s)),
        ("CA", dir.path().join("smtp-cert.pem").display().to_string()),
        ("USER_ADDR", ANN.to_string()),
        ("PYTHONPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").display().to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || python("login_flood.py", &env)).await.unwrap();
    println!("{out}");
    server.shutdown(std::time::Duration::from_secs(5)).await;
}
