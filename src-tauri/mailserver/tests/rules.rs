//! Mail rules on the path, end to end with real clients: swaks submits or sends to the MX
//! listener, Postfix's `smtp-sink` stands for the other domains' servers (routed there by
//! the transport table), and the mailboxes are read back from the engine.
//!
//! Forwarding: an alias's external targets are an automatic forward, allowed by the
//! `auto_forward` setting (an alias: its domain's default) and leaving with an SRS
//! envelope sender when the original sender is elsewhere; a bounce to that SRS address
//! goes back to the original sender, a forged one is refused.
//!
//! Automatic BCC: each condition (direction, sender address or domain, recipient address or
//! domain) shown firing and not firing, copies to an account, an alias and an address
//! elsewhere.
//!
//! Daily send quota: refused past the message count (at RCPT) and past the size (at the end
//! of DATA), with a per-account override, until the next day in the domain's time zone
//! (an injected clock).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::forwarding::SetForwarding;
use postdesk_contract::mail::MailStore;
use postdesk_contract::outbound::OutboundTransport;
use postdesk_contract::rules::{QuotaState, RuleDirection};
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";

use crate::sink;
use sink::Sink;

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    for address in [ANN, BOB] {
        let account =
            CreateAccount { address: address.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
    engine
}

async fn server(engine: &Engine, dir: &Path) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Mx, any), (ListenerKind::Submission, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    // No DNS server answers here: routes come from the transport table.
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.outbound.poll = Duration::from_millis(200);
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

fn port(server: &MailServer, kind: ListenerKind) -> u16 {
    server.bound().iter().find(|(k, _)| *k == kind).unwrap().1.port()
}

/// swaks's transcript and whether it ended well.
fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks").args(args).output().expect("swaks must be installed");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sends from `from` (anyone) to the MX listener, unauthenticated.
fn to_mx(server: &MailServer, from: &str, to: &str, subject: &str) -> (bool, String) {
    let at = format!("127.0.0.1:{}", port(server, ListenerKind::Mx));
    let header = format!("Subject: {subject}");
    swaks(&["--server", &at, "--from", from, "--to", to, "--header", &header, "--body", "Forward me."])
}

/// Submits as `user` (STARTTLS, AUTH PLAIN).
fn submit(server: &MailServer, user: &str, to: &str, subject: &str) -> (bool, String) {
    let at = format!("127.0.0.1:{}", port(server, ListenerKind::Submission));
    let header = format!("Subject: {subject}");
    swaks(&[
        "--server",
        &at,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        PASSWORD,
        "--from",
        user,
        "--to",
        to,
        "--header",
        &header,
        "--body",
        "Hello.",
    ])
}

async fn route(engine: &Engine, domain: &str, port: u16) {
    engine.set_transport(OutboundTransport { domain: domain.into(), host: "127.0.0.1".into(), port }).await.unwrap();
}

async fn until(what: &str, done: impl AsyncFn() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn inbox(engine: &Engine, account: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in engine.messages(account, "INBOX").await.unwrap() {
        let raw = MailStore::message_bytes(engine, account, "INBOX", m.uid).await.unwrap();
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

async fn set_domain_default(engine: &Engine, values: serde_json::Value) {
    let set = Some(serde_json::from_value(values).unwrap());
    let p = UpdateSettings { domain: "example.com".into(), target: BatchTarget::Domain, set, ..Default::default() };
    engine.local_backend().update_settings(p).await.unwrap();
}

/// The envelope sender of a sink's dump.
fn mail_from(dump: &str) -> String {
    dump.lines().find_map(|l| l.strip_prefix("X-Mail-Args: ")).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_another_domain_leaves_with_an_srs_sender_and_its_bounce_goes_back_to_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let remote = Sink::start(&[]);
    let senders = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    route(&engine, "elsewhere.test", senders.port).await;
    let alias = CreateAlias {
        address: "fwd@example.com".into(),
        targets: vec!["x@remote.test".into(), BOB.into()],
        description: None,
    };
    engine.local_backend().create_alias(alias).await.unwrap();
    let server = server(&engine, dir.path()).await;

    // From someone elsewhere: the forwarded copy leaves as SRS0=…@example.com.
    let (ok, text) = to_mx(&server, "Pat@Elsewhere.test", "fwd@example.com", "from outside");
    assert!(ok, "{text}");
    until("the forwarded copy", async || remote.dumps().len() == 1).await;
    let dump = &remote.dumps()[0];
    assert!(dump.contains("X-Rcpt-Args: <x@remote.test>") && dump.contains("Subject: from outside"), "{dump}");
    let srs = mail_from(dump);
    let srs = srs.trim_start_matches('<').split('>').next().unwrap().to_string();
    assert!(srs.starts_with("SRS0=") && srs.ends_with("=elsewhere.test=pat@example.com"), "{srs}");
    assert_eq!(inbox(&engine, BOB).await.len(), 1, "the local target has its copy");

    // From one of ours: our SPF covers it already, the sender stays.
    let (ok, text) = submit(&server, ANN, "fwd@example.com", "from inside");
    assert!(ok, "{text}");
    until("the second forwarded copy", async || remote.dumps().len() == 2).await;
    assert_eq!(mail_from(&remote.dumps()[1]), "<ann@example.com>");

    // The remote bounces to the SRS address: it goes on to pat, from the null sender.
    let (ok, text) = to_mx(&server, "<>", &srs, "bounce");
    assert!(ok, "{text}");
    until("the bounce at the original sender", async || senders.dumps().len() == 1).await;
    let back = &senders.dumps()[0];
    assert!(back.contains("X-Rcpt-Args: <pat@elsewhere.test>") && back.contains("Subject: bounce"), "{back}");
    assert_eq!(mail_from(back), "<>");

    // A forged or altered SRS address leads nowhere: refused at RCPT, nothing relayed.
    let forged = srs.replacen("SRS0=", "SRS0=0", 1).replacen("=", "", 2).replacen("SRS0", "SRS0=", 1);
    for address in [forged.as_str(), "SRS0=00000000=000=elsewhere.test=pat@example.com"] {
        let (ok, text) = to_mx(&server, "<>", address, "forged");
        assert!(!ok && text.contains("550"), "{address}: {text}");
    }
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(senders.dumps().len(), 1);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_forward_off_keeps_an_alias_from_forwarding_outside_and_on_lets_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    let alias = CreateAlias {
        address: "fwd@example.com".into(),
        targets: vec!["x@remote.test".into(), BOB.into()],
        description: None,
    };
    engine.local_backend().create_alias(alias).await.unwrap();
    set_domain_default(&engine, serde_json::json!({ "auto_forward": false })).await;
    let server = server(&engine, dir.path()).await;

    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "not forwarded");
    assert!(ok, "{text}");
    until("bob's copy", async || inbox(&engine, BOB).await.len() == 1).await;
    until("the refused forward counted", async || server.delivery_stats().refused == 1).await;
    let queued = engine.local_backend().list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    assert!(queued.is_empty(), "nothing queued for the other domain: {queued:?}");
    assert_eq!(server.delivery_stats().awaiting_relay, 0);

    // Allowed again: the next message is forwarded.
    set_domain_default(&engine, serde_json::json!({ "auto_forward": true })).await;
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "forwarded");
    assert!(ok, "{text}");
    until("the forwarded copy", async || remote.dumps().len() == 1).await;
    assert!(remote.dumps()[0].contains("Subject: forwarded"));

    // The domain's external-send restriction binds its aliases' forwards too.
    set_domain_default(&engine, serde_json::json!({ "external_send": false })).await;
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", "fwd@example.com", "kept inside");
    assert!(ok, "{text}");
    until("bob's third copy", async || inbox(&engine, BOB).await.len() == 3).await;
    until("the second refused forward", async || server.delivery_stats().refused == 2).await;
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(remote.dumps().len(), 1, "only the allowed forward left");
    engine.close().await;
}

async fn bcc(
    engine: &Engine,
    name: &str,
    direction: RuleDirection,
    sender: Option<&str>,
    recipient: Option<&str>,
    to: &str,
) {
    let rule = AddBccRule {
        domain: "example.com".into(),
        name: name.into(),
        direction: Some(direction),
        sender: sender.map(Into::into),
        recipient: recipient.map(Into::into),
        copy_to: to.into(),
    };
    engine.local_backend().add_bcc_rule(rule).await.unwrap();
}

/// Waits until the delivery task has handled `n` spooled messages.
async fn delivered(server: &MailServer, n: u64) {
    until(&format!("{n} messages delivered"), async || server.delivery_stats().messages >= n).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn automatic_bcc_copies_by_direction_sender_and_recipient_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    for address in ["archive@example.com", "boss@example.com", "carol@example.com"] {
        b.create_account(CreateAccount { address: address.into(), ..Default::default() }).await.unwrap();
    }
    let team = CreateAlias {
        address: "team@example.com".into(),
        targets: vec!["carol@example.com".into()],
        description: None,
    };
    b.create_alias(team).await.unwrap();
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    route(&engine, "other.test", remote.port).await;
    // Outbound by sender address → an account; inbound by recipient address → an account;
    // inbound by sender domain → an address elsewhere; outbound by recipient domain → an alias.
    bcc(&engine, "ann's sent mail", RuleDirection::Outbound, Some(ANN), None, "archive@example.com").await;
    bcc(&engine, "bob's mail", RuleDirection::Inbound, None, Some(BOB), "boss@example.com").await;
    bcc(&engine, "from remote", RuleDirection::Inbound, Some("remote.test"), None, "audit@remote.test").await;
    bcc(&engine, "to other", RuleDirection::Outbound, None, Some("@other.test"), "team@example.com").await;
    let server = server(&engine, dir.path()).await;
    let count = async |a: &str| inbox(&engine, a).await.len();

    // Outbound, sender matches: archive gets a copy; the recipient domain rule does not fire.
    assert!(submit(&server, ANN, "x@remote.test", "ann out").0);
    delivered(&server, 1).await;
    assert_eq!((count("archive@example.com").await, count("carol@example.com").await), (1, 0));
    // Outbound, sender does not match: no copy.
    assert!(submit(&server, BOB, "x@remote.test", "bob out").0);
    delivered(&server, 2).await;
    assert_eq!(count("archive@example.com").await, 1);
    // Outbound to the recipient domain: the alias's mailbox gets it.
    assert!(submit(&server, BOB, "y@other.test", "bob to other").0);
    delivered(&server, 3).await;
    assert_eq!(count("carol@example.com").await, 1);
    let carol = inbox(&engine, "carol@example.com").await.remove(0);
    assert!(carol.contains("Subject: bob to other"), "{carol}");

    // Inbound to bob: boss gets a copy, bob his own.
    assert!(to_mx(&server, "pat@far.test", BOB, "for bob").0);
    delivered(&server, 4).await;
    assert_eq!((count("boss@example.com").await, count(BOB).await), (1, 1));
    // Inbound to ann: not bob, so no copy to boss; far.test is not remote.test: none out.
    assert!(to_mx(&server, "pat@far.test", ANN, "for ann").0);
    delivered(&server, 5).await;
    assert_eq!(count("boss@example.com").await, 1);
    // An outbound rule never fires for inbound mail (archive: ann is a recipient here).
    assert_eq!(count("archive@example.com").await, 1);

    // Inbound from the sender domain: the copy leaves for the address elsewhere, SRS sender.
    let before = remote.dumps().len();
    assert!(to_mx(&server, "pat@remote.test", ANN, "from remote").0);
    delivered(&server, 6).await;
    until("the copy elsewhere", async || remote.dumps().iter().any(|d| d.contains("Subject: from remote"))).await;
    let copy = remote.dumps().into_iter().find(|d| d.contains("Subject: from remote")).unwrap();
    assert!(copy.contains("X-Rcpt-Args: <audit@remote.test>"), "{copy}");
    assert!(mail_from(&copy).contains("=remote.test=pat@example.com>"), "{copy}");
    // The outbound messages of the first three steps went out too; nothing else did.
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(remote.dumps().len(), before + 1, "one copy elsewhere: {:?}", remote.dumps());
    engine.close().await;
}

/// Submits as `user` with the body read from `body` (a file).
fn submit_file(server: &MailServer, user: &str, to: &str, body: &Path) -> (bool, String) {
    let at = format!("127.0.0.1:{}", port(server, ListenerKind::Submission));
    let body = body.to_str().unwrap();
    swaks(&[
        "--server",
        &at,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        PASSWORD,
        "--from",
        user,
        "--to",
        to,
        "--body",
        body,
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_send_quota_refuses_past_either_limit_until_the_domains_next_day() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    // The domain's day begins at an offset that makes it 23:30 there now: one hour on, it
    // is the next day there (whatever the day in UTC).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let minutes_now = (now % 86_400) / 60;
    let mut offset = (23 * 60 + 30 - minutes_now).rem_euclid(1440);
    if offset > 840 {
        offset -= 1440;
    }
    // Two messages a day for the domain; bob: no count limit but 1 MB.
    set_domain_default(&engine, serde_json::json!({ "daily_send_messages": 2, "utc_offset_minutes": offset })).await;
    let bob_only = BatchTarget::Accounts { addresses: vec![BOB.into()] };
    let set =
        Some(serde_json::from_value(serde_json::json!({ "daily_send_messages": 0, "daily_send_mb": 1 })).unwrap());
    b.update_settings(UpdateSettings { domain: "example.com".into(), target: bob_only, set, ..Default::default() })
        .await
        .unwrap();
    let clock = Arc::new(AtomicI64::new(now));
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir.path());
    options.hostname = Some("mail.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = Vec::new();
    options.pop3 = Vec::new();
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    options.outbound.poll = Duration::from_millis(200);
    let read = clock.clone();
    options.outbound.clock = postdesk_mailserver::Clock::new(move || read.load(Ordering::SeqCst));
    let server = MailServer::start(Arc::new(engine.clone()), options).await.unwrap();

    // By count: two go, the third is refused at RCPT with the reason; mail inside still goes.
    for n in 1..=2 {
        let (ok, text) = submit(&server, ANN, "x@remote.test", &format!("ann {n}"));
        assert!(ok, "{text}");
    }
    let (ok, text) = submit(&server, ANN, "x@remote.test", "ann 3");
    assert!(!ok && text.contains("550 5.4.5") && text.contains("daily limit of 2 messages"), "{text}");
    assert!(text.contains(&format!("UTC{}", if offset < 0 { '-' } else { '+' })), "the day's zone is named: {text}");
    let (ok, text) = submit(&server, ANN, BOB, "inside");
    assert!(ok, "{text}");

    // By size: bob's 845 KB goes, the next 845 KB is refused at the end of DATA; small fits.
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n".repeat(13_200)).unwrap();
    let (ok, text) = submit_file(&server, BOB, "x@remote.test", &big);
    assert!(ok, "{text}");
    let (ok, text) = submit_file(&server, BOB, "x@remote.test", &big);
    assert!(!ok && text.contains("550 5.4.5") && text.contains("daily limit of 1 MB"), "{text}");
    let (ok, text) = submit(&server, BOB, "x@remote.test", "small");
    assert!(ok, "{text}");

    // The usage view: who is over, who near.
    let usage = b.list_outbound_usage(ListOutboundUsage { domain: "example.com".into(), ..Default::default() });
    let usage = usage.await.unwrap().items;
    let of = |a: &str| usage.iter().find(|u| u.address == a).unwrap().clone();
    let (ann, bob) = (of(ANN), of(BOB));
    assert_eq!((ann.today_messages, ann.limit_messages, ann.state), (2, 2, QuotaState::Over), "{ann:?}");
    assert_eq!((bob.today_messages, bob.limit_mb, bob.state), (2, 1, QuotaState::Near), "{bob:?}");
    assert!(bob.today_bytes > 840_000 && bob.month_bytes == bob.today_bytes, "{bob:?}");

    // The domain's next day (one hour on): ann may send again.
    clock.fetch_add(3600, Ordering::SeqCst);
    let (ok, text) = submit(&server, ANN, "x@remote.test", "next day");
    assert!(ok, "{text}");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

/// Builds every MIME shape with Python's `email` package and submits them over one
/// STARTTLS + AUTH session with smtplib: `shape plain`, `html`, `alternative`, `mixed`
/// (alternative + a binary and a text attachment), `latin1` (ISO-8859-1 quoted-printable),
/// `signed` (multipart/signed), `marked` (already carrying the disclaimer mark).
const SHAPES: &str = r#"
import smtplib, ssl, sys
from email.message import EmailMessage
port, user, password, to = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def base(shape):
    m = EmailMessage()
    m['From'] = user; m['To'] = to; m['Subject'] = 'shape ' + shape
    return m
msgs = []
m = base('plain'); m.set_content('Hello plain.\n'); msgs.append(m.as_bytes())
m = base('html'); m.set_content('<html><body><p>Hello html.</p></body></html>\n', subtype='html'); msgs.append(m.as_bytes())
m = base('alternative'); m.set_content('Hello alternative.\n')
m.add_alternative('<html><body><p>Hello alternative.</p></body></html>\n', subtype='html'); msgs.append(m.as_bytes())
m = base('mixed'); m.set_content('Hello mixed.\n')
m.add_alternative('<html><body><p>Hello mixed.</p></body></html>\n', subtype='html')
m.add_attachment(bytes(range(256)) * 12, maintype='application', subtype='octet-stream', filename='data.bin')
m.add_attachment('notes, not to be touched\n', filename='notes.txt')
msgs.append(m.as_bytes())
m = base('latin1'); m.set_content('Gr\u00fc\u00dfe aus K\u00f6ln.\n', charset='iso-8859-1', cte='quoted-printable'); msgs.append(m.as_bytes())
signed = ('From: %s\r\nTo: %s\r\nSubject: shape signed\r\nMIME-Version: 1.0\r\n'
    'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="sig"\r\n\r\n'
    '--sig\r\nContent-Type: text/plain\r\n\r\nSigned text.\r\n'
    '--sig\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    'MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIIB\r\n--sig--\r\n') % (user, to)
msgs.append(signed.encode())
m = base('marked'); m['X-Postdesk-Disclaimer'] = 'example.com; rule=1'; m.set_content('Already stamped.\n'); msgs.append(m.as_bytes())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP('127.0.0.1', port) as s:
    s.starttls(context=ctx); s.login(user, password)
    for raw in msgs:
        s.sendmail(user, [to], raw)
print('sent', len(msgs))
"#;

fn submit_shapes(server: &MailServer, user: &str, to: &str) {
    let port = port(server, ListenerKind::Submission).to_string();
    let out = Command::new("/usr/bin/python3").args(["-c", SHAPES, &port, user, PASSWORD, to]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Whether dkimpy verifies every message of `dumps` against the key's record.
fn dkim_verifies(key: &postdesk_contract::model::DkimKey, dump: &str) -> String {
    let script = format!(
        "import sys, dkim\nmsg = sys.stdin.buffer.read().replace(b'\\r\\n', b'\\n').replace(b'\\n', b'\\r\\n')\n\
         txt = {{{name:?}.encode() + b'.': {record:?}.encode()}}\n\
         ok = dkim.verify(msg, dnsfunc=lambda n, timeout=5: txt.get(n if isinstance(n, bytes) else n.encode()))\n\
         print('dkim=pass' if ok else 'dkim=fail')\n",
        name = key.record_name,
        record = key.record_value
    );
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Debian's python3 with python3-dkim");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(dump.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const LEGAL_TEXT: &str = "This message is confidential. Legal notice for outside readers.";
const LEGAL_HTML: &str = "<p class=\"legal\">This message is <b>confidential</b>.</p>";
const INTERNAL_TEXT: &str = "Internal only: do not forward.";

#[tokio::test(flavor = "multi_thread")]
async fn disclaimers_are_appended_once_to_every_mime_shape_before_dkim_and_signed_mail_is_left_alone() {
    use mail_parser::{MessageParser, MimeHeaders};
    use postdesk_contract::rules::DisclaimerScope;
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Legal".into(), parents: None })
        .await
        .unwrap();
    let lee = CreateAccount {
        address: "lee@example.com".into(),
        password: Some(Password(PASSWORD.into())),
        department: Some("Legal".into()),
        ..Default::default()
    };
    b.create_account(lee).await.unwrap();
    let key = b
        .create_dkim_key(CreateDkimKey {
            domain: "example.com".into(),
            algorithm: Some(postdesk_dns::DkimAlgorithm::Ed25519),
            selector: None,
        })
        .await
        .unwrap();
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    let rule = |name: &str, scope, text: &str, html: Option<&str>| AddDisclaimerRule {
        domain: "example.com".into(),
        name: name.into(),
        scope: Some(scope),
        text: text.into(),
        html: html.map(Into::into),
        ..Default::default()
    };
    // Tried in order: internal (only for our domains), then the outside one that the Legal
    // department is excepted from; a catch-all last that never wins for these senders.
    let internal =
        b.add_disclaimer_rule(rule("internal", DisclaimerScope::Internal, INTERNAL_TEXT, None)).await.unwrap();
    let mut legal = rule("legal", DisclaimerScope::External, LEGAL_TEXT, Some(LEGAL_HTML));
    legal.except_department = Some("legal".into());
    let legal = b.add_disclaimer_rule(legal).await.unwrap();
    let last = b.add_disclaimer_rule(rule("last", DisclaimerScope::Any, "LAST RULE", None)).await.unwrap();
    assert_eq!((internal.position, legal.position, last.position), (1, 2, 3));
    let server = server(&engine, dir.path()).await;

    // Every shape, from ann to the world: through the queue to the sink, DKIM-signed there.
    submit_shapes(&server, ANN, "x@remote.test");
    until("7 messages at the sink", async || remote.dumps().len() >= 7).await;
    let dumps = remote.dumps();
    let shape = |name: &str| {
        dumps
            .iter()
            .find(|d| {
                d.contains(&format!("Subject: shape {name}\r\n")) || d.contains(&format!("Subject: shape {name}\n"))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {dumps:?}"))
    };
    for name in ["plain", "html", "alternative", "mixed", "latin1"] {
        let dump = shape(name);
        let parsed = MessageParser::new().parse(dump.as_bytes()).unwrap_or_else(|| panic!("{name} no longer parses"));
        let text = parsed.body_text(0).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert_eq!(dump.matches("X-Postdesk-Disclaimer:").count(), 1, "{name}: {dump}");
        assert!(!dump.contains("LAST RULE") && !text.contains(INTERNAL_TEXT), "{name}: the first rule only: {dump}");
        if name != "html" {
            assert_eq!(text.matches(LEGAL_TEXT).count(), 1, "{name}: {text}\n{dump}");
        }
        if name != "plain" && name != "latin1" {
            assert_eq!(html.matches(LEGAL_HTML).count(), 1, "{name}: {html}\n{dump}");
            assert!(
                html.find(LEGAL_HTML) < html.to_ascii_lowercase().find("</body>"),
                "{name}: before </body>: {html}"
            );
        }
        if name == "latin1" {
            assert!(text.starts_with("Grüße aus Köln.") && text.contains(LEGAL_TEXT), "{name}: {text}\n{dump}");
        }
        assert!(dkim_verifies(&key, &dump).contains("dkim=pass"), "{name}: {dump}");
    }
    // The attachments come out byte for byte, and get no disclaimer.
    let mixed = shape("mixed");
    let parsed = MessageParser::new().parse(mixed.as_bytes()).unwrap();
    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 2, "{mixed}");
    let expected: Vec<u8> = (0..12).flat_map(|_| 0u8..=255).collect();
    assert_eq!(attachments[0].attachment_name(), Some("data.bin"));
    assert_eq!(attachments[0].contents(), expected.as_slice());
    assert_eq!(attachments[1].attachment_name(), Some("notes.txt"));
    assert_eq!(attachments[1].contents(), b"notes, not to be touched\n");
    // Signed mail is left as it was sent (and still DKIM-signed by us), and counted.
    let signed = shape("signed");
    assert!(!signed.contains("X-Postdesk-Disclaimer") && !signed.contains("confidential"), "{signed}");
    assert!(
        signed.replace("\r\n", "\n").contains(
            "--sig\nContent-Type: text/plain\n\nSigned text.\n--sig\nContent-Type: application/pkcs7-signature"
        ),
        "{signed}"
    );
    assert!(dkim_verifies(&key, &signed).contains("dkim=pass"), "{signed}");
    // A message that passed once already is not stamped twice.
    let marked = shape("marked");
    assert!(!marked.contains(LEGAL_TEXT) && marked.matches("X-Postdesk-Disclaimer:").count() == 1, "{marked}");
    let stats = server.delivery_stats();
    assert_eq!((stats.disclaimers, stats.disclaimers_signed_untouched), (5, 1), "{stats:?}");

    // Inside the domain the first rule is the internal one.
    assert!(submit(&server, ANN, BOB, "inside").0);
    until("bob's copy", async || !inbox(&engine, BOB).await.is_empty()).await;
    let inside = inbox(&engine, BOB).await.remove(0);
    let parsed = MessageParser::new().parse(inside.as_bytes()).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains(INTERNAL_TEXT) && !text.contains(LEGAL_TEXT), "{inside}");

    // The exception: lee is in Legal, so the outside rule does not apply — nor does the
    // internal one (a recipient is outside): the catch-all last rule does.
    let before = remote.dumps().len();
    assert!(submit(&server, "lee@example.com", "y@remote.test", "from legal").0);
    until("lee's message", async || remote.dumps().len() > before).await;
    let lees = remote.dumps().into_iter().find(|d| d.contains("Subject: from legal")).unwrap();
    assert!(!lees.contains("confidential") && lees.contains("LAST RULE"), "{lees}");
    let parsed = MessageParser::new().parse(lees.as_bytes()).unwrap();
    assert_eq!(parsed.body_text(0).unwrap().matches("LAST RULE").count(), 1);
    assert_eq!(parsed.parts[0].content_type().and_then(|c| c.attribute("charset")), Some("utf-8"));

    // Reordered, the catch-all comes first for ann too.
    b.move_disclaimer_rule(MoveDisclaimerRule { domain: "example.com".into(), id: last.id, position: 1 })
        .await
        .unwrap();
    let before = remote.dumps().len();
    assert!(submit(&server, ANN, "z@remote.test", "after the move").0);
    until("the moved rule's message", async || remote.dumps().len() > before).await;
    let moved = remote.dumps().into_iter().find(|d| d.contains("Subject: after the move")).unwrap();
    assert!(moved.contains("LAST RULE") && !moved.contains("confidential"), "{moved}");

    // Mail from outside to our users gets none.
    assert!(to_mx(&server, "pat@far.test", ANN, "from outside").0);
    until("ann's copy", async || !inbox(&engine, ANN).await.is_empty()).await;
    let from_outside = inbox(&engine, ANN).await.remove(0);
    assert!(!from_outside.contains("X-Postdesk-Disclaimer") && !from_outside.contains("LAST RULE"), "{from_outside}");
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

async fn monitor(engine: &Engine, rule: AddMonitorRule) {
    engine.local_backend().add_monitor_rule(AddMonitorRule { domain: "example.com".into(), ..rule }).await.unwrap();
}

async fn folder(engine: &Engine, account: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in engine.messages(account, name).await.unwrap_or_default() {
        let raw = MailStore::message_bytes(engine, account, name, m.uid).await.unwrap();
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

/// Monitoring and copy rules (seed 004) through real SMTP: a department's external mail
/// copied to a monitor mailbox (not its internal mail, not what the keyword exception
/// names, not another department's), one account's large mail filed into a folder (not its
/// small mail), everyone's mail mentioning a keyword filed (not from the excepted sender).
#[tokio::test(flavor = "multi_thread")]
async fn monitoring_rules_copy_and_file_by_scope_conditions_and_exceptions() {
    use postdesk_contract::monitor::{MonitorAction, MonitorTraffic};
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let b = engine.local_backend();
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Legal".into(), parents: None })
        .await
        .unwrap();
    let lena = CreateAccount {
        address: "lena@example.com".into(),
        password: Some(Password(PASSWORD.into())),
        department: Some("Legal".into()),
        ..Default::default()
    };
    b.create_account(lena).await.unwrap();
    for address in ["monitor@example.com", "carol@example.com"] {
        b.create_account(CreateAccount { address: address.into(), ..Default::default() }).await.unwrap();
    }
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    let copy = AddMonitorRule {
        name: "legal outside".into(),
        scope_department: Some("legal".into()),
        traffic: Some(MonitorTraffic::External),
        except_keyword: Some("newsletter".into()),
        target: "monitor@example.com".into(),
        ..Default::default()
    };
    monitor(&engine, copy).await;
    let large = AddMonitorRule {
        name: "bob's large mail".into(),
        scope_account: Some(BOB.into()),
        min_size_kb: Some(20),
        action: Some(MonitorAction::Folder),
        target: "Large".into(),
        ..Default::default()
    };
    monitor(&engine, large).await;
    let invoices = AddMonitorRule {
        name: "invoices".into(),
        keyword: Some("INVOICE".into()),
        except_sender: Some("trusted.test".into()),
        action: Some(MonitorAction::Folder),
        target: "Invoices".into(),
        ..Default::default()
    };
    monitor(&engine, invoices).await;
    let server = server(&engine, dir.path()).await;
    let monitored = async || inbox(&engine, "monitor@example.com").await;

    // Legal to another domain: copied. Legal inside: not (external traffic only).
    assert!(submit(&server, "lena@example.com", "x@remote.test", "the contract").0);
    assert!(submit(&server, "lena@example.com", BOB, "lunch").0);
    delivered(&server, 2).await;
    let m = monitored().await;
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("Subject: the contract"), "{}", m[0]);
    // From elsewhere to Legal: copied, unless it names the exception's keyword.
    assert!(to_mx(&server, "pat@far.test", "lena@example.com", "an offer").0);
    assert!(to_mx(&server, "pat@far.test", "lena@example.com", "our Newsletter").0);
    // Another department's (none) external mail: not copied.
    assert!(submit(&server, ANN, "x@remote.test", "ann out").0);
    delivered(&server, 5).await;
    let subjects: Vec<bool> = monitored().await.iter().map(|m| m.contains("Subject: an offer")).collect();
    assert_eq!(subjects, [false, true], "only the offer was added");
    assert_eq!(inbox(&engine, "lena@example.com").await.len(), 2, "lena still gets hers in the INBOX");

    // bob's small mail stays in the INBOX; large mail (at least 20 KB) goes to Large.
    let before = inbox(&engine, BOB).await.len();
    assert!(to_mx(&server, "pat@far.test", BOB, "small").0);
    let big = "x".repeat(30 * 1024);
    let at = format!("127.0.0.1:{}", port(&server, ListenerKind::Mx));
    let sent =
        swaks(&["--server", &at, "--from", "pat@far.test", "--to", BOB, "--header", "Subject: big", "--body", &big]);
    assert!(sent.0, "{}", sent.1);
    delivered(&server, 7).await;
    assert_eq!(inbox(&engine, BOB).await.len(), before + 1);
    let filed = folder(&engine, BOB, "Large").await;
    assert_eq!(filed.len(), 1);
    assert!(filed[0].contains("Subject: big"));
    // ann's large mail: not bob, so her INBOX.
    let sent =
        swaks(&["--server", &at, "--from", "pat@far.test", "--to", ANN, "--header", "Subject: big", "--body", &big]);
    assert!(sent.0, "{}", sent.1);
    // Anyone's mail mentioning an invoice (any case, subject or body) is filed, except from trusted.test.
    assert!(to_mx(&server, "pat@far.test", "carol@example.com", "Invoice 42").0);
    assert!(to_mx(&server, "pay@trusted.test", "carol@example.com", "Invoice 43").0);
    delivered(&server, 10).await;
    assert!(folder(&engine, ANN, "Large").await.is_empty());
    let carol_filed = folder(&engine, "carol@example.com", "Invoices").await;
    assert_eq!(carol_filed.len(), 1);
    assert!(carol_filed[0].contains("Subject: Invoice 42"));
    let carol_inbox = inbox(&engine, "carol@example.com").await;
    assert_eq!(carol_inbox.len(), 1);
    assert!(carol_inbox[0].contains("Subject: Invoice 43"));
    server.shutdown(Duration::from_secs(5)).await;
    engine.close().await;
}

/// The portal user of `address` (signed in through the engine's portal).
async fn portal_user(engine: &Engine, address: &str) -> PortalUser {
    let step = <Engine as Portal>::sign_in(engine, address, &Password(PASSWORD.into()), None).await.unwrap();
    <Engine as Portal>::session(engine, &step.session_secret).await.unwrap().0
}

async fn forward(
    engine: &Engine,
    user: &PortalUser,
    targets: &[&str],
    keep_copy: bool,
) -> postdesk_contract::Result<()> {
    let set = SetForwarding { targets: targets.iter().map(|t| t.to_string()).collect(), keep_copy };
    engine.set_own_forwarding(user, set).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_own_forwarding_leaves_with_srs_keeps_a_copy_as_asked_and_stops_where_auto_forward_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    let remote = Sink::start(&[]);
    route(&engine, "remote.test", remote.port).await;
    let (ann, bob) = (portal_user(&engine, ANN).await, portal_user(&engine, BOB).await);
    forward(&engine, &ann, &["X@Remote.test", BOB], true).await.unwrap();
    let server = server(&engine, dir.path()).await;

    // Forwarded outside with an SRS sender of ann's domain, and into bob's mailbox; ann
    // keeps her copy.
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", ANN, "one");
    assert!(ok, "{text}");
    until("the forwarded copy", async || remote.dumps().len() == 1).await;
    let dump = &remote.dumps()[0];
    assert!(dump.contains("X-Rcpt-Args: <x@remote.test>") && dump.contains("Subject: one"), "{dump}");
    let srs = mail_from(dump);
    assert!(srs.starts_with("<SRS0=") && srs.ends_with("=elsewhere.test=pat@example.com>"), "{srs}");
    until("ann's and bob's copies", async || {
        inbox(&engine, ANN).await.len() == 1 && inbox(&engine, BOB).await.len() == 1
    })
    .await;

    // No copy kept; bob forwards back to ann, but a forwarded copy is not forwarded again.
    forward(&engine, &ann, &["x@remote.test", BOB], false).await.unwrap();
    forward(&engine, &bob, &[ANN], true).await.unwrap();
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", ANN, "two");
    assert!(ok, "{text}");
    until("the second forwarded copy", async || remote.dumps().len() == 2).await;
    until("bob's second copy", async || inbox(&engine, BOB).await.len() == 2).await;
    let ann_has = inbox(&engine, ANN).await;
    assert_eq!(ann_has.len(), 1, "ann kept no copy and bob's forward did not bring one back");

    // The admin switches auto_forward off for the domain: the user cannot set it any more,
    // and what is set no longer forwards — the mailbox keeps the message though it asked
    // for no copy.
    set_domain_default(&engine, serde_json::json!({ "auto_forward": false })).await;
    let refused = forward(&engine, &ann, &["y@remote.test"], true).await.unwrap_err();
    assert_eq!(refused.code, postdesk_contract::ErrorCode::PermissionDenied, "{refused:?}");
    assert!(!engine.own_forwarding(&ann).await.unwrap().allowed);
    let refused_before = server.delivery_stats().refused;
    let (ok, text) = to_mx(&server, "pat@elsewhere.test", ANN, "three");
    assert!(ok, "{text}");
    until("ann's copy, kept", async || inbox(&engine, ANN).await.len() == 2).await;
    until("both forwards refused", async || server.delivery_stats().refused == refused_before + 2).await;
    assert!(inbox(&engine, ANN).await[1].contains("Subject: three"));
    assert_eq!(inbox(&engine, BOB).await.len(), 2, "bob got no forwarded copy");
    let queued = engine.local_backend().list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    assert_eq!(queued.len(), 2, "only the two forwarded copies were ever queued: {queued:?}");

    // Ending the forwarding is always allowed.
    forward(&engine, &ann, &[], false).await.unwrap();
    assert!(engine.own_forwarding(&ann).await.unwrap().targets.is_empty());
    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(remote.dumps().len(), 2);
    engine.close().await;
}
