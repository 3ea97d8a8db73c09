//! The message trace against real SMTP sessions: `postdesk serve` (the real binary) is
//! given mail by swaks on its MX and submission listeners, delivers some of it to Postfix's
//! `smtp-sink` (routed there by the transport table: one sink accepting, one answering 4xx,
//! one 5xx), and the trace is read through the admin API (the remote Backend over HTTP),
//! the CLI and its exports. knotd answers the inbound checks (SPF, DMARC).
//!
//! Needs `swaks`, `knotd` and `smtp-sink` (Debian: swaks knot postfix).

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::api::*;
use postdesk_contract::model::{Page, Role};
use postdesk_contract::smtp::{SmtpRuleAction, SmtpRuleKind};
use postdesk_contract::trace::{ExportFormat, TraceStage, TracedMessage};
use postdesk_contract::{Backend, ErrorCode};

use crate::knot;

const PASSWORD: &str = "Correct horse 1";

/// A running `postdesk serve`; dropping it kills the process.
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

fn serve(dir: &Path, resolver: SocketAddr) -> Serve {
    let any = "127.0.0.1:0";
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--dns-resolver", &resolver.to_string(), "serve", "--listen", any])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any])
        .args(["--imap-listen", any, "--imaps-listen", any, "--pop3-listen", any, "--pop3s-listen", any])
        .args(["--smtp-hostname", "mx.example.com", "--outbound-poll-secs", "1"])
        .env_remove("POSTDESK_UI_DIR")
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_TOKEN")
        .env("POSTDESK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut url) = (String::new(), String::new());
    let mut listeners = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("serve: {line}");
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
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("serve: {line}");
        }
    });
    assert!(!url.is_empty(), "serve did not start: {}", common::cmdline(&c));
    Serve { child, url, token, mx: listeners["mx"], submission: listeners["submission"] }
}

fn remote(s: &Serve, token: &str) -> RemoteBackend {
    RemoteBackend::new(&s.url, Token::new(token), Options { ca_cert_pem: None, timeout: None }).unwrap()
}

/// swaks against `addr`; returns (exit success, the whole transcript).
fn swaks(addr: SocketAddr, args: &[&str]) -> (bool, String) {
    let mut c = Command::new("swaks");
    c.args(["--server", &addr.ip().to_string(), "--port", &addr.port().to_string(), "--helo", "client.test"])
        .args(args);
    let out = common::run(c, None);
    (out.success(), format!("{}{}", out.stdout(), out.stderr()))
}

/// Ann submits (STARTTLS, AUTH PLAIN) a message to `to`.
fn submit(s: &Serve, to: &str, password: &str) -> (bool, String) {
    let args = ["--tls", "--auth", "PLAIN", "--auth-user", "ann@example.com", "--auth-password", password];
    let envelope = ["--from", "ann@example.com", "--to", to, "--header", "Subject: out"];
    swaks(s.submission, &[&args[..], &envelope[..]].concat())
}

/// Postfix's smtp-sink on a free loopback port (`extra`: `-r RCPT` answers 4xx to RCPT,
/// `-f RCPT` 5xx).
struct Sink {
    child: Child,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sink(extra: &[&str]) -> Sink {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("smtp-sink")
        .args(["-u", "nobody"])
        .args(extra)
        .arg(format!("127.0.0.1:{port}"))
        .arg("64")
        .stdout(Stdio::null())
        .spawn()
        .expect("smtp-sink (Debian package postfix)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Sink { child, port };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("smtp-sink did not start on {port}");
}

/// knotd, authoritative for the outside sender's domain (SPF passes from 127.0.0.1) and a
/// domain with DMARC p=quarantine used only in From: headers.
fn dns() -> (knot::Knot, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let soa = "$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n";
    let remote = write("remote.zone", &format!("$ORIGIN remote.test.\n{soa}@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n"));
    let spoofed =
        write("spoofed.zone", &format!("$ORIGIN spoofed.test.\n{soa}_dmarc TXT \"v=DMARC1; p=quarantine\"\n"));
    let parent = write("test.zone", &format!("$ORIGIN test.\n{soa}"));
    let zones = [("remote.test.", remote.as_path()), ("spoofed.test.", spoofed.as_path()), ("test.", parent.as_path())];
    (knot::Knot::start(&zones), dir)
}

fn filter() -> ListMessageTrace {
    ListMessageTrace::default()
}

/// Waits until the trace search `p` finds a message for which `done` holds; returns it.
async fn wait_for(b: &dyn Backend, p: ListMessageTrace, done: impl Fn(&TracedMessage) -> bool) -> TracedMessage {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = b.list_message_trace(p.clone()).await.unwrap();
        if let Some(m) = page.items.iter().find(|m| done(m)) {
            return m.clone();
        }
        assert!(Instant::now() < deadline, "no traced message as expected for {p:?}: {page:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn steps(b: &dyn Backend, id: i64) -> Vec<(TraceStage, String)> {
    let d = b.get_message_trace(GetMessageTrace { id }).await.unwrap();
    d.steps.into_iter().map(|s| (s.stage, s.text)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_tells_what_became_of_each_message_and_who_may_read_it() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    for domain in ["example.com", "other.org"] {
        b.create_domain(CreateDomain { domain: domain.into(), ..Default::default() }).await.unwrap();
    }
    for address in ["ann@example.com", "bob@example.com", "olga@other.org"] {
        let password = Some(Password(PASSWORD.into()));
        b.create_account(CreateAccount { address: address.into(), password, ..Default::default() }).await.unwrap();
    }
    // A newsletter the admin drops: answered 250, never delivered. Added first, so the
    // running service has long taken it up when the newsletter comes (below).
    let drop = AddSmtpRule {
        name: "drop-newsletter".into(),
        kind: SmtpRuleKind::SenderAddress,
        value: "news@remote.test".into(),
        action: SmtpRuleAction::Discard,
        note: None,
        position: None,
    };
    b.add_smtp_rule(drop).await.unwrap();
    let (accept, defer, refuse) = (sink(&[]), sink(&["-r", "RCPT"]), sink(&["-f", "RCPT"]));
    for (domain, sink) in [("sink.test", &accept), ("slow.test", &defer), ("hard.test", &refuse)] {
        let route = SetTransport { domain: domain.into(), host: "127.0.0.1".into(), port: sink.port };
        b.set_transport(route).await.unwrap();
    }

    // Accepted from outside and filed into the INBOX, SPF passing.
    let mx = |to: &str, headers: &[&str]| {
        let mut args = vec!["--from", "someone@remote.test", "--to", to];
        for h in headers {
            args.extend(["--header", h]);
        }
        swaks(s.mx, &args)
    };
    let (ok, text) = mx("bob@example.com", &["Message-Id: <first@remote.test>", "From: someone@remote.test"]);
    assert!(ok, "{text}");
    let by_bob = ListMessageTrace { address: Some("bob@example.com".into()), ..filter() };
    let inbox = wait_for(&b, by_bob.clone(), |m| m.outcome == TraceStage::Inbox).await;
    assert_eq!(inbox.sender, "someone@remote.test");
    assert_eq!(inbox.recipients, ["bob@example.com"]);
    assert_eq!(inbox.client, "127.0.0.1");
    assert_eq!(inbox.message_id.as_deref(), Some("first@remote.test"));
    assert!(inbox.size.unwrap() > 100, "{inbox:?}");
    let inbox_steps = steps(&b, inbox.id).await;
    assert_eq!(inbox_steps.iter().map(|s| s.0).collect::<Vec<_>>(), [TraceStage::Accepted, TraceStage::Inbox]);
    assert!(inbox_steps[1].1.contains("SPF passed"), "{inbox_steps:?}");

    // The author's domain fails DMARC (p=quarantine): Junk, and the trace says why.
    let (ok, text) = mx("bob@example.com", &["From: Boss <boss@spoofed.test>"]);
    assert!(ok, "{text}");
    let junk = wait_for(&b, by_bob.clone(), |m| m.outcome == TraceStage::Junk).await;
    let junk_steps = steps(&b, junk.id).await;
    assert_eq!(junk_steps[1].0, TraceStage::Junk, "{junk_steps:?}");
    assert!(junk_steps[1].1.contains("failed its DMARC check") && junk_steps[1].1.contains("DMARC failed"));

    // Refused at RCPT: no such address; the reply and the rule are kept.
    let (ok, text) = mx("nobody@example.com", &[]);
    assert!(!ok, "{text}");
    let refused =
        wait_for(&b, ListMessageTrace { address: Some("nobody@example.com".into()), ..filter() }, |_| true).await;
    assert_eq!(refused.outcome, TraceStage::Refused);
    let d = b.get_message_trace(GetMessageTrace { id: refused.id }).await.unwrap();
    assert_eq!(d.steps[0].rule.as_deref(), Some("unknown_recipient"));
    assert!(d.steps[0].detail.starts_with("550 5.1.1"), "{d:?}");
    assert!(d.steps[0].text.contains("there is no such address here"), "{d:?}");

    // Dropped by the discard rule: the sender was told 250; the trace says which rule.
    let (ok, text) = swaks(s.mx, &["--from", "news@remote.test", "--to", "bob@example.com"]);
    assert!(ok, "{text}");
    let dropped = wait_for(&b, by_bob.clone(), |m| m.outcome == TraceStage::Discarded).await;
    assert_eq!(dropped.sender, "news@remote.test");
    let d = b.get_message_trace(GetMessageTrace { id: dropped.id }).await.unwrap();
    assert_eq!(d.steps.len(), 1, "{d:?}");
    assert_eq!(d.steps[0].rule.as_deref(), Some("drop-newsletter"));
    assert!(d.steps[0].detail.starts_with("250 "), "{d:?}");
    assert!(d.steps[0].text.contains("dropped, as the rule \u{201c}drop-newsletter\u{201d} says"), "{d:?}");
    let discarded = ListMessageTrace { outcome: Some(TraceStage::Discarded), ..filter() };
    assert_eq!(b.list_message_trace(discarded).await.unwrap().items.len(), 1);

    // Submitted by a signed-in account, queued and sent: one sink accepts, one defers, one
    // refuses (a bounce).
    for to in ["x@sink.test", "y@slow.test", "z@hard.test"] {
        let (ok, text) = submit(&s, to, PASSWORD);
        assert!(ok, "{text}");
    }
    let to = |a: &str| ListMessageTrace { address: Some(a.into()), ..filter() };
    let delivered = wait_for(&b, to("x@sink.test"), |m| m.outcome == TraceStage::Delivered).await;
    assert_eq!(delivered.account.as_deref(), Some("ann@example.com"));
    let sent = steps(&b, delivered.id).await;
    let stages: Vec<TraceStage> = sent.iter().map(|s| s.0).collect();
    assert_eq!(stages, [TraceStage::Accepted, TraceStage::Queued, TraceStage::Delivered], "{sent:?}");
    assert!(sent[2].1.contains("250"), "the remote reply: {sent:?}");
    let deferred = wait_for(&b, to("y@slow.test"), |m| m.outcome == TraceStage::Deferred).await;
    assert!(steps(&b, deferred.id).await[2].1.contains(" 4"), "a 4xx reply");
    let bounced = wait_for(&b, to("z@hard.test"), |m| m.outcome == TraceStage::Bounced).await;
    assert!(steps(&b, bounced.id).await[2].1.contains(" 5"), "a 5xx reply");

    // Search: by outcome, domain, Message-ID (with or without <>), time range.
    let ids = |page: postdesk_contract::model::CursorPage<TracedMessage>| -> Vec<i64> {
        page.items.iter().map(|m| m.id).collect()
    };
    let junked = b.list_message_trace(ListMessageTrace { outcome: Some(TraceStage::Junk), ..filter() }).await;
    assert_eq!(ids(junked.unwrap()), [junk.id]);
    let domain = ListMessageTrace { domain: Some("slow.test".into()), ..filter() };
    assert_eq!(ids(b.list_message_trace(domain).await.unwrap()), [deferred.id]);
    for id in ["first@remote.test", "<first@remote.test>"] {
        let p = ListMessageTrace { message_id: Some(id.into()), ..filter() };
        assert_eq!(ids(b.list_message_trace(p).await.unwrap()), [inbox.id]);
    }
    let later = ListMessageTrace { since: Some("2100-01-01T00:00:00Z".into()), ..filter() };
    assert!(b.list_message_trace(later).await.unwrap().items.is_empty());
    let earlier = ListMessageTrace { until: Some("2000-01-01T00:00:00Z".into()), ..filter() };
    assert!(b.list_message_trace(earlier).await.unwrap().items.is_empty());
    let all = b.list_message_trace(ListMessageTrace { limit: Some(1000), ..filter() }).await.unwrap();
    // Pages of two walk all of them, newest first, each once.
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = b.list_message_trace(ListMessageTrace { after, limit: Some(2), ..filter() }).await.unwrap();
        walked.extend(page.items.iter().map(|m| m.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(walked, ids(all.clone()));
    let bad = ListMessageTrace { since: Some("yesterday".into()), ..filter() };
    assert_eq!(b.list_message_trace(bad).await.unwrap_err().field.as_deref(), Some("since"));

    // A helpdesk agent of other.org sees none of example.com's mail, and is refused a search
    // by example.com or one of its messages.
    let desk = CreateAdmin {
        name: "desk".into(),
        role: Role::Helpdesk,
        pages: Some(vec![Page::Accounts]),
        domains: Some(vec!["other.org".into()]),
    };
    b.create_admin(desk).await.unwrap();
    let secret = b.create_token(CreateToken { admin: "desk".into(), ..Default::default() }).await.unwrap().secret;
    let d = remote(&s, &secret);
    assert!(d.list_message_trace(filter()).await.unwrap().items.is_empty());
    let other = ListMessageTrace { domain: Some("example.com".into()), ..filter() };
    assert_eq!(d.list_message_trace(other).await.unwrap_err().code, ErrorCode::PermissionDenied);
    let theirs_not = d.get_message_trace(GetMessageTrace { id: inbox.id }).await.unwrap_err();
    assert_eq!(theirs_not.code, ErrorCode::PermissionDenied);
    let retention = UpdateTraceSettings { retention_days: 7 };
    assert_eq!(d.update_trace_settings(retention).await.unwrap_err().code, ErrorCode::PermissionDenied);
    // Mail of other.org is theirs.
    let (ok, text) = mx("olga@other.org", &[]);
    assert!(ok, "{text}");
    let theirs = wait_for(&d, filter(), |m| m.recipients == ["olga@other.org"]).await;
    assert_eq!(ids(d.list_message_trace(filter()).await.unwrap()), [theirs.id]);

    // The export: CSV with formula-safe cells, XLSX.
    let csv = ExportMessageTrace { address: Some("bob@example.com".into()), ..Default::default() };
    let file = b.export_message_trace(csv).await.unwrap();
    assert_eq!((file.rows, file.file_name.as_str()), (3, "postdesk-message-trace.csv"), "INBOX, Junk, dropped");
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&file.content_base64).unwrap());
    let text = text.unwrap();
    assert!(text.starts_with("Time,Client,Account,Sender,Recipients,Size,Message-ID,Outcome,Steps\r\n"), "{text}");
    assert!(text.contains("Put in Junk") && text.contains("first@remote.test"), "{text}");
    let xlsx = ExportMessageTrace { format: Some(ExportFormat::Xlsx), ..Default::default() };
    let file = b.export_message_trace(xlsx).await.unwrap();
    assert!(file.file_name.ends_with(".xlsx") && file.rows as usize == all.items.len() + 1, "{}", file.rows);

    // The CLI on the same data folder.
    let cli = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--data-dir").arg(data.path()).args(args);
        common::run(c, None)
    };
    let out = cli(&["trace", "search", "--address", "bob@example.com", "--outcome", "junk"]);
    out.assert_stdout_contains("Put in Junk");
    cli(&["trace", "show", &junk.id.to_string()]).assert_stdout_contains("failed its DMARC check");
    let csv_path = data.path().join("trace.csv");
    cli(&["trace", "export", "--domain", "sink.test", "--out", csv_path.to_str().unwrap()])
        .assert_stdout_contains("1 messages written");
    assert!(std::fs::read_to_string(&csv_path).unwrap().contains("x@sink.test"));
    cli(&["trace", "retention", "7"]).assert_stdout_contains("kept 7 days");
    assert_eq!(b.get_trace_settings(GetTraceSettings {}).await.unwrap().retention_days, 7);

    // The login log says why an SMTP AUTH failed, and exports.
    let (ok, text) = submit(&s, "x@sink.test", "wrong password 1");
    assert!(!ok, "{text}");
    let logins = b.export_logins(ExportLogins { account: Some("ann@example.com".into()), ..Default::default() });
    let file = logins.await.unwrap();
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&file.content_base64).unwrap());
    let text = text.unwrap();
    assert!(text.starts_with("Time,Service,Login,Account,Domain,Client,Outcome,Reason\r\n"), "{text}");
    assert!(text.contains("ann@example.com") && text.contains("wrong password"), "{text}");
    let xlsx =
        cli(&["logins", "--account", "ann@example.com", "--export", data.path().join("l.xlsx").to_str().unwrap()]);
    xlsx.assert_stdout_contains("logins written");
}
