//! Fetching 10,000 messages from a local Dovecot (loopback, IMAPS) into a shared mailbox of
//! an on-disk engine, against isync's `mbsync` pulling the same account to a Maildir.
//! `cargo bench -p postdesk-tests --bench shared_fetch` (COUNT=… to change the number).
//! Needs `dovecot-imapd` and `isync`. Prints the wall time of each, best of three runs.

use std::process::Command;
use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::PlanLimits;
use postdesk_contract::shared::FetchTls;
use postdesk_tests::dovecot::Dovecot;

const USER: &str = "bench@ext.test";
const PASSWORD: &str = "bench-password";

fn message(i: usize) -> Vec<u8> {
    let body = format!("Message {i} of the benchmark.\r\n").repeat(40);
    format!(
        "From: sender{i}@ext.test\r\nTo: {USER}\r\nSubject: message {i}\r\nMessage-ID: <{i}@bench.ext.test>\r\n\
         Date: Fri, 04 Dec 2026 03:00:00 +0000\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn postdesk(dovecot: &Dovecot, count: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let engine = postdesk_engine::Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    let limits = PlanLimits { max_accounts: 10, mailbox_size_mb: 10_000, ..PlanLimits::default() };
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: Some(limits), ..Default::default() })
        .await
        .unwrap();
    b.create_shared_mailbox(CreateSharedMailbox {
        domain: "example.com".into(),
        address: "desk@example.com".into(),
        name: "Bench".into(),
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.imaps_port),
        tls: Some(FetchTls::Implicit),
        verify_certificate: Some(false),
        username: Some(USER.into()),
        secret: Some(RemoteSecret(PASSWORD.into())),
        ..Default::default()
    })
    .await
    .unwrap();
    engine.set_fetch_limits(postdesk_engine::FetchLimits { max_messages: 20_000, ..Default::default() });
    let started = Instant::now();
    let mut fetched = 0;
    loop {
        let r = b.fetch_shared_mailbox(FetchSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
        assert_eq!(r.error, None);
        fetched += r.fetched as usize;
        if !r.more {
            break;
        }
    }
    let took = started.elapsed();
    assert_eq!(fetched, count);
    engine.close().await;
    took
}

fn mbsync(dovecot: &Dovecot, count: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    std::fs::create_dir_all(&maildir).unwrap();
    let config = format!(
        "IMAPAccount ext\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass {PASSWORD}\nSSLType IMAPS\n\
         CertificateFile {cert}\n\nIMAPStore far\nAccount ext\n\nMaildirStore near\nPath {m}/\nInbox {m}/INBOX\n\n\
         Channel bench\nFar :far:\nNear :near:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
        port = dovecot.imaps_port,
        cert = dovecot.dir().join("cert.pem").display(),
        m = maildir.display(),
    );
    let rc = dir.path().join("mbsyncrc");
    std::fs::write(&rc, config).unwrap();
    let started = Instant::now();
    let out = Command::new("mbsync").arg("-q").arg("-c").arg(&rc).arg("bench").output().expect("mbsync runs (isync)");
    let took = started.elapsed();
    assert!(out.status.success(), "mbsync: {}", String::from_utf8_lossy(&out.stderr));
    let got = std::fs::read_dir(maildir.join("INBOX/cur")).map_or(0, |d| d.count())
        + std::fs::read_dir(maildir.join("INBOX/new")).map_or(0, |d| d.count());
    assert_eq!(got, count, "mbsync pulled every message");
    took
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(10_000);
    let dovecot = Dovecot::start(&[(USER, PASSWORD)]);
    dovecot.fill_inbox(USER, count, message);
    let bytes: usize = (0..count).map(|i| message(i).len()).sum();
    // Dovecot indexes the Maildir on first access: once, before either is timed.
    mbsync(&dovecot, count);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..3 {
        theirs.push(mbsync(&dovecot, count));
        ours.push(postdesk(&dovecot, count).await);
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap();
    let (p, m) = (best(&ours), best(&theirs));
    println!("{count} messages, {:.1} MB, from Dovecot over IMAPS on loopback (best of 3):", bytes as f64 / 1e6);
    println!("  postdesk fetch → store: {:.2} s ({:.0} msg/s)", p.as_secs_f64(), count as f64 / p.as_secs_f64());
    println!("  mbsync → Maildir:       {:.2} s ({:.0} msg/s)", m.as_secs_f64(), count as f64 / m.as_secs_f64());
    println!("  ratio postdesk / mbsync: {:.2}", p.as_secs_f64() / m.as_secs_f64());
}
