//! Starting the whole mail server: one mail server per spool.

use std::net::SocketAddr;
use std::time::Duration;

use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

fn options(dir: &std::path::Path) -> MailServerOptions {
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mx.example.test".into());
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    options.listeners = vec![(ListenerKind::Mx, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options
}

#[tokio::test]
async fn a_second_mail_server_on_the_same_spool_is_refused_before_it_touches_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let first = MailServer::start(std::sync::Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    let before: Vec<_> = std::fs::read_dir(dir.path().join("spool")).unwrap().map(|e| e.unwrap().file_name()).collect();

    let err = MailServer::start(std::sync::Arc::new(engine.clone()), options(dir.path())).await.unwrap_err();
    assert!(err.to_string().contains("is in use by another Postdesk mail server"), "{err}");
    let after: Vec<_> = std::fs::read_dir(dir.path().join("spool")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "the refused start changed the spool");

    // Once the first stops, the spool can be opened again.
    first.shutdown(Duration::from_secs(5)).await;
    let again = MailServer::start(std::sync::Arc::new(engine.clone()), options(dir.path())).await.unwrap();
    assert_eq!(again.bound().len(), 1);
    again.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}
