//! The mail server on an S3 blob store that goes away: submission still answers 250 (the
//! message is in the SMTP spool, fsynced), delivery into the mailbox waits and is retried,
//! and once the store is back the message arrives. Nothing answered 250 is lost.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use postdesk_blobs::{S3Blobs, S3Settings};
use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

use crate::s3;

const PASSWORD: &str = "Correct horse 1";

fn swaks(port: u16, subject: &str) {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{port}"), "--tls", "--auth", "PLAIN"])
        .args(["--auth-user", "ann@example.com", "--auth-password", PASSWORD])
        .args(["--from", "ann@example.com", "--to", "bob@example.com", "--header", &format!("Subject: {subject}")])
        .output()
        .expect("swaks must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("<-  250"), "swaks failed:\n{text}");
}

async fn bobs_inbox(engine: &Engine, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..300 {
        let messages = engine.messages("bob@example.com", "INBOX").await.unwrap();
        if messages.len() >= n {
            let mut out = Vec::new();
            for m in messages {
                out.push(MailStore::message_bytes(engine, "bob@example.com", "INBOX", m.uid).await.unwrap_or_default());
            }
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("bob's INBOX never held {n} messages");
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_answered_250_while_the_object_store_is_down_arrives_once_it_is_back() {
    let server = s3::S3Server::start();
    server.bucket("mail");
    let port = server.addr.port();
    let settings = S3Settings {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(s3::ACCESS_KEY.into()),
        secret_access_key: Some(s3::SECRET_KEY.into()),
    };
    let dir = tempfile::tempdir().unwrap();
    let engine =
        Engine::open_with_blobs(dir.path(), Arc::new(S3Blobs::new("s3://mail", settings).unwrap())).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    for a in ["ann@example.com", "bob@example.com"] {
        let account =
            CreateAccount { address: a.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, SocketAddr::from(([127, 0, 0, 1], 0)))];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    let mail = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    let submission = mail.bound().iter().find(|(k, _)| *k == ListenerKind::Submission).unwrap().1.port();

    swaks(submission, "while the store is up");
    bobs_inbox(&engine, 1).await;

    // The store goes away: the message is still answered 250 (it is in the spool) ...
    drop(server);
    swaks(submission, "while the store is down");
    for _ in 0..300 {
        if mail.delivery_stats().retries > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mail.delivery_stats().retries > 0, "{:?}", mail.delivery_stats());
    assert_eq!(engine.messages("bob@example.com", "INBOX").await.unwrap().len(), 1, "not delivered without its blob");

    // ... and delivered once a store answers again (this one starts empty: the test server
    // keeps nothing across restarts, so only the new message's bytes are there to read).
    let back = s3::S3Server::start_on(port);
    back.bucket("mail");
    let inbox = bobs_inbox(&engine, 2).await;
    assert!(String::from_utf8_lossy(&inbox[1]).contains("Subject: while the store is down"));
    assert_eq!(back.keys("mail").len(), 1);
    mail.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}
