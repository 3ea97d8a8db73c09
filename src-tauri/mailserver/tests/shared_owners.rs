//! Owners of a shared mailbox send as its address, through real SMTP (swaks, STARTTLS and
//! AUTH PLAIN on the submission listener): the "sender must match" rule admits the shared
//! address for its owners (users and members of an owning workflow group) and refuses
//! everyone else with a reply that names the address and the user.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::MailStore;
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const READER: &str = "reader@example.com";
const DESK: &str = "desk@example.com";

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    for address in [ANN, BOB, CAROL, READER] {
        let account =
            CreateAccount { address: address.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
    let desk = CreateSharedMailbox {
        domain: "example.com".into(),
        address: DESK.into(),
        name: "Support desk".into(),
        host: Some("imap.elsewhere.test".into()),
        username: Some("desk".into()),
        ..Default::default()
    };
    b.create_shared_mailbox(desk).await.unwrap();
    engine
}

async fn server(engine: &Engine, dir: &Path) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

/// Submits as `user` (STARTTLS, AUTH PLAIN) with `from` as the envelope and header sender:
/// whether swaks ended well, and its transcript.
fn submit_as(server: &MailServer, user: &str, from: &str, subject: &str) -> (bool, String) {
    let port = server.bound().iter().find(|(k, _)| *k == ListenerKind::Submission).unwrap().1.port();
    let at = format!("127.0.0.1:{port}");
    let header = format!("Subject: {subject}");
    let out = Command::new("swaks")
        .args(["--server", &at, "--tls", "--auth", "PLAIN", "--auth-user", user, "--auth-password", PASSWORD])
        .args(["--from", from, "--to", READER, "--header", &header, "--body", "From the desk."])
        .output()
        .expect("swaks must be installed");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The subjects in the reader's INBOX, waiting up to 30 s for `n` of them.
async fn received(engine: &Engine, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let list = engine.messages(READER, "INBOX").await.unwrap();
        if list.len() >= n {
            let mut out = Vec::new();
            for m in list {
                let raw = MailStore::message_bytes(engine, READER, "INBOX", m.uid).await.unwrap();
                let raw = String::from_utf8_lossy(&raw).into_owned();
                out.push(raw.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default().to_string());
            }
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the reader did not get {n} messages");
}

fn refused_as(transcript: &str, user: &str) {
    let reply = format!("553 5.7.1 Sender address <{DESK}> is not owned by user {user}");
    assert!(transcript.contains(&reply), "expected '{reply}' in:\n{transcript}");
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_and_members_of_an_owning_workflow_group_send_as_the_shared_address_and_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    let server = server(&engine, dir.path()).await;

    // No owners yet: nobody sends as the desk.
    let (ok, t) = submit_as(&server, ANN, DESK, "before");
    assert!(!ok, "{t}");
    refused_as(&t, ANN);

    // A user made owner may; another user still may not.
    let group =
        CreateWorkflowGroup { domain: "example.com".into(), name: "Support".into(), members: vec![CAROL.into()] };
    b.create_workflow_group(group).await.unwrap();
    let owners = SetSharedMailboxOwners { address: DESK.into(), users: vec![ANN.into()], groups: vec![] };
    b.set_shared_mailbox_owners(owners).await.unwrap();
    let (ok, t) = submit_as(&server, ANN, DESK, "from ann");
    assert!(ok, "an owner sends as the desk:\n{t}");
    let (ok, t) = submit_as(&server, BOB, DESK, "from bob");
    assert!(!ok, "{t}");
    refused_as(&t, BOB);
    let (ok, t) = submit_as(&server, CAROL, DESK, "from carol, not yet");
    assert!(!ok, "carol's group does not own the desk yet:\n{t}");
    refused_as(&t, CAROL);

    // The group made owner: its member may.
    let owners =
        SetSharedMailboxOwners { address: DESK.into(), users: vec![ANN.into()], groups: vec!["support".into()] };
    let desk = b.set_shared_mailbox_owners(owners).await.unwrap();
    assert_eq!((desk.owners, desk.owner_groups), (vec![ANN.to_string()], vec!["Support".to_string()]));
    let (ok, t) = submit_as(&server, CAROL, DESK, "from carol");
    assert!(ok, "a member of an owning group sends as the desk:\n{t}");

    // Removed from the group: no longer.
    let members = SetWorkflowGroupMembers { domain: "example.com".into(), name: "Support".into(), members: vec![] };
    b.set_workflow_group_members(members).await.unwrap();
    let (ok, t) = submit_as(&server, CAROL, DESK, "from carol, removed");
    assert!(!ok, "{t}");
    refused_as(&t, CAROL);
    // Her own address still works; ann's ownership is untouched.
    assert!(submit_as(&server, CAROL, CAROL, "carol as herself").0);
    assert!(submit_as(&server, ANN, DESK, "from ann again").0);

    let mut got = received(&engine, 4).await;
    got.sort();
    assert_eq!(got, ["carol as herself", "from ann", "from ann again", "from carol"]);
    server.shutdown(Duration::from_secs(5)).await;
}

/// Owners read the shared mailbox over IMAP (imaplib, clients/imap_shared.py); someone who
/// does not own it does not see it, and an owner removed loses it at the next LIST.
#[tokio::test(flavor = "multi_thread")]
async fn owners_read_the_shared_mailbox_over_imap_and_no_one_else() {
    use postdesk_mailserver::imap::ImapListener;
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    // Bob owns the desk through a workflow group.
    let group = CreateWorkflowGroup { domain: "example.com".into(), name: "Support".into(), members: vec![BOB.into()] };
    b.create_workflow_group(group).await.unwrap();
    let owners = SetSharedMailboxOwners { address: DESK.into(), users: vec![], groups: vec!["Support".into()] };
    b.set_shared_mailbox_owners(owners).await.unwrap();
    engine.deliver(DESK, b"From: someone@far.test\r\nSubject: for the desk\r\n\r\nPlease help.\r\n").await.unwrap();

    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mail.example.com".into());
    options.listeners = Vec::new();
    options.imap = vec![(ImapListener::Imaps, any)];
    options.pop3 = Vec::new();
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();
    let imaps = server.imap_bound().iter().find(|(k, _)| *k == ImapListener::Imaps).unwrap().1.port();
    let env = vec![
        ("IMAPS", imaps.to_string()),
        ("CA", dir.path().join("smtp-cert.pem").display().to_string()),
        ("PASS", PASSWORD.to_string()),
        ("OWNER", BOB.to_string()),
        ("OTHER", CAROL.to_string()),
        ("DESK", DESK.to_string()),
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/imap_shared.py");
    let run = |env: Vec<(&'static str, String)>, script: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            let out = Command::new("python3").arg(&script).envs(env).output().unwrap();
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        })
    };
    let text = run(env.clone(), script.clone()).await.unwrap();
    assert!(text.contains("ALL OK"), "{text}");
    // What the owner did is in the store: the desk holds 2 messages, bob's INBOX the copy.
    assert_eq!(engine.messages(DESK, "INBOX").await.unwrap().len(), 2);
    assert_eq!(engine.messages(BOB, "INBOX").await.unwrap().len(), 1);

    // Bob's group no longer owns the desk: the same script now fails at its LIST check.
    let none = SetSharedMailboxOwners { address: DESK.into(), users: vec![], groups: vec![] };
    b.set_shared_mailbox_owners(none).await.unwrap();
    let text = run(env, script).await.unwrap();
    assert!(!text.contains("ALL OK") && text.contains("LIST shows the desk's INBOX"), "{text}");
    server.shutdown(Duration::from_secs(5)).await;
}
