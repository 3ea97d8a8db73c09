//! `postdesk serve` with its SMTP service, end to end: the real binary, provisioned through
//! its admin API (the remote Backend over HTTP on loopback), driven by swaks and Python's
//! smtplib, with a real DNS server (knotd) answering the inbound checks.
//!
//! Needs `swaks`, `python3` and `knotd` (Debian: apt-get install -y swaks python3 knot).

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::{AccountStatus, Listing, MessageSummary, PickupRule, SendPermission};
use postdesk_contract::settings::Settings;
use postdesk_contract::smtp::{SmtpListenerKind, SmtpRuleAction, SmtpRuleKind, SmtpStage};
use postdesk_engine::Engine;

use crate::knot;

const PASSWORD: &str = "Correct horse 1";

/// A running `postdesk serve`; dropping it kills the process.
struct Serve {
    child: Child,
    url: String,
    token: String,
    mx: SocketAddr,
    submission: SocketAddr,
    submissions: SocketAddr,
    /// Profile reloads the mail server has logged (one line each), in order.
    reloads: std::sync::mpsc::Receiver<String>,
    /// Every line serve has logged so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serve {
    /// Waits for the mail server's next profile reload (after a change through the API):
    /// from then on new SMTP sessions use the changed settings.
    fn reloaded(&self) -> String {
        self.reloads.recv_timeout(Duration::from_secs(20)).expect("the SMTP profile was reloaded")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on the data folder with every listener on a free loopback port.
fn serve(dir: &Path, resolver: SocketAddr) -> Serve {
    let any = "127.0.0.1:0";
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir")
        .arg(dir)
        .args(["--dns-resolver", &resolver.to_string(), "serve", "--listen", any])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any])
        .args(["--imap-listen", any, "--imaps-listen", any, "--pop3-listen", any, "--pop3s-listen", any])
        .args(["--smtp-hostname", "mx.example.com"])
        .env_remove("POSTDESK_UI_DIR")
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_TOKEN")
        .env("POSTDESK_LOG", "warn,postdesk_mailserver::live=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let (reload_tx, reloads) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let logged = log.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            eprintln!("serve (log): {line}");
            logged.lock().unwrap().push(line.clone());
            if line.contains("profile reloaded") {
                let _ = reload_tx.send(line);
            }
        }
    });
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
    if url.is_empty() {
        let exit = child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
        panic!(
            "serve did not start: {}\nexit: {exit}\n(its stdout and stderr are above, as serve: …)",
            common::cmdline(&c)
        );
    }
    Serve {
        child,
        url,
        token,
        mx: listeners["mx"],
        submission: listeners["submission"],
        submissions: listeners["submissions"],
        reloads,
        log,
    }
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
    eprintln!("{out}");
    (out.success(), format!("{}{}", out.stdout(), out.stderr()))
}

/// Submission with STARTTLS and AUTH PLAIN as `user`.
fn submit(s: &Serve, user: &str, password: &str, to: &str, subject: &str) -> (bool, String) {
    submit_from(s, "127.0.0.1", user, password, to, subject)
}

/// [`submit`] from the local address `from` (any of 127.0.0.0/8).
fn submit_from(s: &Serve, from: &str, user: &str, password: &str, to: &str, subject: &str) -> (bool, String) {
    swaks(
        s.submission,
        &[
            "--local-interface",
            from,
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            user,
            "--auth-password",
            password,
            "--from",
            user,
            "--to",
            to,
            "--header",
            &format!("Subject: {subject}"),
        ],
    )
}

/// Waits until `address`'s INBOX holds `n` messages (delivery from the spool is
/// asynchronous, normally milliseconds), then returns the listing.
async fn inbox(b: &RemoteBackend, address: &str, n: u32) -> Listing<MessageSummary> {
    folder(b, address, "INBOX", n).await
}

/// Waits until `address`'s `name` folder holds `n` messages, then returns the listing.
async fn folder(b: &RemoteBackend, address: &str, name: &str, n: u32) -> Listing<MessageSummary> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = b
            .list_messages(ListMessages {
                address: address.into(),
                folder: Some(name.into()),
                offset: None,
                limit: Some(500),
            })
            .await
            .unwrap();
        if page.total >= n || Instant::now() > deadline {
            assert_eq!(page.total, n, "{name} of {address}: {page:?}");
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn account(address: &str, department: Option<&str>, password: Option<&str>) -> CreateAccount {
    CreateAccount {
        address: address.into(),
        display_name: None,
        department: department.map(str::to_string),
        notes: None,
        password: password.map(|p| Password(p.into())),
        force_password_change: None,
        quota_mb: None,
    }
}

/// The DNS server the inbound checks (SPF, DKIM, DMARC) ask: authoritative for the
/// outside sender's domain, so every lookup gets an answer at once.
fn dns() -> (knot::Knot, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("remote.zone");
    std::fs::write(
        &zone,
        "$ORIGIN remote.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n",
    )
    .unwrap();
    // A domain whose DMARC policy is quarantine, used only in From: headers.
    let spoofed = dir.path().join("spoofed.zone");
    std::fs::write(
        &spoofed,
        "$ORIGIN spoofed.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n\
         _dmarc TXT \"v=DMARC1; p=quarantine\"\n",
    )
    .unwrap();
    // The empty parent: DMARC's walk up from spoofed.test gets NXDOMAIN, not REFUSED.
    let parent = dir.path().join("test.zone");
    std::fs::write(&parent, "$ORIGIN test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n")
        .unwrap();
    let zones = [("remote.test.", zone.as_path()), ("spoofed.test.", spoofed.as_path()), ("test.", parent.as_path())];
    (knot::Knot::start(&zones), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delivers_smtp_mail_into_mailboxes_with_auth_lockout_policy_and_catch_all() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    assert!(s.token.starts_with("pd_"));
    let b = remote(&s, &s.token);

    // Provisioning through the admin API.
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Sales".into(), parents: None })
        .await
        .unwrap();
    b.create_account(account("ann@example.com", None, Some(PASSWORD))).await.unwrap();
    b.create_account(account("bob@example.com", Some("Sales"), Some(PASSWORD))).await.unwrap();
    b.create_account(account("carl@example.com", None, None)).await.unwrap();
    b.create_account(account("dora@example.com", None, Some(PASSWORD))).await.unwrap();
    b.add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "sales@example.com".into() })
        .await
        .unwrap();
    b.update_settings(UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Department { path: "Sales".into(), subdepartments: None },
        set: Some(Settings { external_send: Some(false), ..Default::default() }),
        clear: None,
    })
    .await
    .unwrap();
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: Some(3),
        retention_days: None,
        mail_host: None,
        catch_all: None,
        catch_all_target: None,
    })
    .await
    .unwrap();

    // Inbound (MX): delivered into the INBOX, with our Received header on top.
    let (ok, out) =
        swaks(s.mx, &["--from", "someone@remote.test", "--to", "Ann@Example.com", "--header", "Subject: inbound one"]);
    assert!(ok && out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let page = inbox(&b, "ann@example.com", 1).await;
    assert_eq!(page.items[0].subject, "inbound one");
    // Mail to an account alias lands in the account's INBOX.
    let (ok, _) = swaks(s.mx, &["--from", "x@remote.test", "--to", "sales@example.com", "--header", "Subject: alias"]);
    assert!(ok);
    inbox(&b, "ann@example.com", 2).await;
    let view = b.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(view.messages, 2);
    let engine = Engine::open(data.path()).await.unwrap();
    let raw = String::from_utf8(engine.message_bytes("ann@example.com", "INBOX", 1).await.unwrap()).unwrap();
    assert!(raw.starts_with("Received: from client.test"), "{raw}");
    assert!(raw.contains("by mx.example.com"), "{raw}");
    assert!(raw.contains("Authentication-Results: mx.example.com") && raw.contains("spf=pass"), "{raw}");
    engine.close().await;

    // Unknown recipient: refused at RCPT.
    let (ok, out) = swaks(s.mx, &["--from", "someone@remote.test", "--to", "nobody@example.com"]);
    assert!(!ok && out.contains("550 5.1.1 Recipient address rejected: <nobody@example.com>: user unknown"), "{out}");

    // Submission: STARTTLS + AUTH PLAIN with the account's password, internal mail.
    let (ok, out) = submit(&s, "bob@example.com", PASSWORD, "ann@example.com", "from bob");
    assert!(ok && out.contains("235 2.7.0 Authentication successful"), "{out}");
    let page = inbox(&b, "ann@example.com", 3).await;
    assert!(page.items.iter().any(|m| m.subject == "from bob"));

    // Bob's department may not send outside: refused at RCPT, naming rule and level.
    let (ok, out) = submit(&s, "bob@example.com", PASSWORD, "friend@remote.test", "outside");
    assert!(!ok, "{out}");
    assert!(
        out.contains("550 5.7.1 external send is not allowed for bob@example.com (external_send, department Sales)"),
        "{out}"
    );
    // Ann may (the message goes to the outbound queue; nothing listens for remote.test here).
    let (ok, out) = submit(&s, "ann@example.com", PASSWORD, "friend@remote.test", "outside");
    assert!(ok && out.contains("250 2.0.0 Ok: queued as"), "{out}");

    // Wrong passwords from one client address keep that client out at the domain's
    // threshold (3), told only what any wrong password is told; the account stays active
    // and its owner, from another address (127.0.0.2), still logs in.
    for _ in 0..3 {
        let (ok, out) = submit(&s, "dora@example.com", "wrong password 9", "ann@example.com", "x");
        assert!(!ok && out.contains("535 5.7.8"), "{out}");
    }
    let dora = b.get_account(GetAccount { address: "dora@example.com".into() }).await.unwrap();
    assert_eq!(dora.status, AccountStatus::Active);
    let (ok, out) = submit(&s, "dora@example.com", PASSWORD, "ann@example.com", "x");
    let (_, unknown) = submit(&s, "nobody@example.com", PASSWORD, "ann@example.com", "x");
    let reply = |out: &str| {
        out.lines().find(|l| l.contains("535 ")).map(|l| l.trim_start_matches(['<', '~', '*', ' ']).to_string())
    };
    assert!(!ok && reply(&out).is_some(), "{out}");
    assert_eq!(reply(&out), reply(&unknown), "a locked-out client is told what an unknown address is told");
    let (ok, out) = submit_from(&s, "127.0.0.2", "dora@example.com", PASSWORD, "ann@example.com", "from elsewhere");
    assert!(ok && out.contains("235 2.7.0 Authentication successful"), "{out}");
    // An unauthenticated client cannot submit.
    let (ok, out) = swaks(s.submission, &["--tls", "--from", "ann@example.com", "--to", "bob@example.com"]);
    assert!(!ok && out.contains("530 5.7.0"), "{out}");
    // Implicit TLS (465-style) with AUTH LOGIN works too.
    let (ok, out) = swaks(
        s.submissions,
        &[
            "--tls-on-connect",
            "--auth",
            "LOGIN",
            "--auth-user",
            "ann@example.com",
            "--auth-password",
            PASSWORD,
            "--from",
            "sales@example.com",
            "--to",
            "bob@example.com",
        ],
    );
    assert!(ok, "{out}");
    inbox(&b, "bob@example.com", 1).await;

    // Catch-all: unknown local parts go to the collector.
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: None,
        retention_days: None,
        mail_host: None,
        catch_all: Some(true),
        catch_all_target: Some("carl@example.com".into()),
    })
    .await
    .unwrap();
    let (ok, out) = swaks(
        s.mx,
        &["--from", "someone@remote.test", "--to", "whoever-123@example.com", "--header", "Subject: collected"],
    );
    assert!(ok, "{out}");
    let page = inbox(&b, "carl@example.com", 1).await;
    assert_eq!(page.items[0].subject, "collected");

    // Graceful stop on SIGTERM.
    let mut s = s;
    let mut kill = Command::new("kill");
    kill.args(["-TERM", &s.child.id().to_string()]);
    common::run(kill, None).assert_ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = s.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_mail_is_routed_through_aliases_pickup_rules_and_groups_to_those_who_may_receive_it() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    for a in ["ann@example.com", "bob@example.com", "carl@example.com"] {
        b.create_account(account(a, None, Some(PASSWORD))).await.unwrap();
    }
    // carl may not receive mail from outside.
    b.update_settings(UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["carl@example.com".into()] },
        set: Some(Settings { external_receive: Some(false), ..Default::default() }),
        clear: None,
    })
    .await
    .unwrap();
    let crew = CreateAlias {
        address: "crew@example.com".into(),
        targets: vec!["ann@example.com".into(), "bob@example.com".into()],
        ..Default::default()
    };
    b.create_alias(crew).await.unwrap();
    let rule = PickupRule { pattern: "support-{number}".into(), target: "bob@example.com".into() };
    b.set_pickup_rules(SetPickupRules { domain: "example.com".into(), rules: vec![rule] }).await.unwrap();
    b.create_group(CreateGroup {
        address: "team@example.com".into(),
        name: "Team".into(),
        members: Some(vec!["ann@example.com".into(), "carl@example.com".into()]),
        send_permission: Some(SendPermission::Anyone),
        departments: None,
        allowed_senders: None,
    })
    .await
    .unwrap();
    let mx = |to: &str, subject: &str| {
        let (ok, out) =
            swaks(s.mx, &["--from", "someone@remote.test", "--to", to, "--header", &format!("Subject: {subject}")]);
        assert!(ok, "{out}");
    };

    // A plain alias: both targets.
    mx("crew@example.com", "to the crew");
    // A pickup rule's address: its target; one the rule does not match is unknown.
    mx("support-4711@example.com", "a ticket");
    let (ok, out) = swaks(s.mx, &["--from", "someone@remote.test", "--to", "support-x@example.com"]);
    assert!(!ok && out.contains("550 5.1.1"), "{out}");
    // A group: ann takes it; carl, who may not receive outside mail, is skipped at delivery.
    mx("team@example.com", "to the team");

    let ann = inbox(&b, "ann@example.com", 2).await;
    let mut got: Vec<&str> = ann.items.iter().map(|m| m.subject.as_str()).collect();
    got.sort();
    assert_eq!(got, ["to the crew", "to the team"]);
    let bob = inbox(&b, "bob@example.com", 2).await;
    let mut got: Vec<&str> = bob.items.iter().map(|m| m.subject.as_str()).collect();
    got.sort();
    assert_eq!(got, ["a ticket", "to the crew"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let delivery = b.get_smtp_status(GetSmtpStatus {}).await.unwrap().delivery;
        if delivery.messages >= 3 {
            break delivery;
        }
        assert!(Instant::now() < deadline, "{delivery:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((delivery.copies, delivery.refused), (4, 1), "carl's copy counted as refused: {delivery:?}");
    inbox(&b, "carl@example.com", 0).await;
    // The log comes through serve's stderr, read by another thread: wait (a while) for it.
    let skipped = |l: &String| l.contains("not delivered") && l.contains("carl@example.com");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.log.lock().unwrap().iter().any(skipped) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logged = s.log.lock().unwrap().clone();
    assert!(logged.iter().any(skipped), "carl's skipped copy is logged: {logged:?}");
    // Inside mail reaches carl through the same group.
    let (ok, out) = submit(&s, "bob@example.com", PASSWORD, "team@example.com", "inside");
    assert!(ok, "{out}");
    let carl = inbox(&b, "carl@example.com", 1).await;
    assert_eq!(carl.items[0].subject, "inside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_login_resets_the_failure_count() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.create_account(account("ann@example.com", None, Some(PASSWORD))).await.unwrap();
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: Some(3),
        retention_days: None,
        mail_host: None,
        catch_all: None,
        catch_all_target: None,
    })
    .await
    .unwrap();
    let wrong = || {
        let (ok, out) = submit(&s, "ann@example.com", "wrong password 9", "ann@example.com", "x");
        assert!(!ok && out.contains("535 5.7.8"), "{out}");
    };
    let right = || submit(&s, "ann@example.com", PASSWORD, "ann@example.com", "x");
    // Two failures, a success, two failures: never three in a row, so never kept out.
    wrong();
    wrong();
    assert!(right().0, "below the threshold");
    wrong();
    wrong();
    let (ok, out) = right();
    assert!(ok, "the success reset the count: {out}");
    // Three in a row do keep this client out (the threshold works).
    wrong();
    wrong();
    wrong();
    let (ok, out) = right();
    assert!(!ok && out.contains("535"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_mail_is_delivered_exactly_once_across_a_crash() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.create_account(account("ann@example.com", None, None)).await.unwrap();
    b.create_account(account("bob@example.com", None, None)).await.unwrap();
    // A group anyone may write to, fanning out to both mailboxes.
    b.create_group(CreateGroup {
        address: "team@example.com".into(),
        name: "Team".into(),
        members: Some(vec!["ann@example.com".into(), "bob@example.com".into()]),
        send_permission: Some(SendPermission::Anyone),
        departments: None,
        allowed_senders: None,
    })
    .await
    .unwrap();

    // Many messages in one session, then SIGKILL right after the last 250.
    let script = format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {port})\n\
         s.ehlo('client.test')\n\
         for i in range(60):\n\
         \x20   to = ['team@example.com'] if i % 2 else ['ann@example.com']\n\
         \x20   s.sendmail('someone@remote.test', to, 'Subject: m%d\\r\\n\\r\\nbody %d\\r\\n' % (i, i))\n\
         print('SENT', flush=True)\n",
        port = s.mx.port()
    );
    let mut c = Command::new("python3");
    c.arg("-c").arg(&script);
    common::run(c, None).assert_stdout_contains("SENT");
    let token = s.token.clone();
    drop(s); // SIGKILL

    // What the kill left, read while nothing runs: the spool (finishing a record is not
    // durable, so the records of its current segment are all there, delivered or not) and
    // the mailboxes (what was delivered before the kill, whole messages: one transaction each).
    let spooled = postdesk_mailserver::smtp::FileSpool::scan(&data.path().join("spool")).unwrap();
    let engine = Engine::open(data.path()).await.unwrap();
    let local = engine.local_backend();
    let before_ann = subjects(&local, "ann@example.com").await;
    let before_bob = subjects(&local, "bob@example.com").await;
    engine.close().await;
    let spooled: Vec<(String, usize)> = spooled
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.message);
            let subject = text.split("Subject: ").nth(1).and_then(|r| r.split("\r\n").next()).unwrap().to_string();
            // team@example.com fans out to ann and bob.
            let copies = m.envelope.recipients.iter().map(|r| if r == "team@example.com" { 2 } else { 1 }).sum();
            (subject, copies)
        })
        .collect();
    let all: Vec<String> = (0..60).map(|i| format!("m{i}")).collect();
    for m in &all {
        let kept = before_ann.contains(m) || spooled.iter().any(|(s, _)| s == m);
        assert!(kept, "{m} was acknowledged, yet is neither in ann's INBOX nor in the spool");
    }
    assert!(before_ann.len() < 60 || !spooled.is_empty(), "nothing left to show");
    let already = spooled.iter().filter(|(s, _)| before_ann.contains(s)).count();
    let copies_left: usize = spooled.iter().filter(|(s, _)| !before_ann.contains(s)).map(|(_, n)| n).sum();
    eprintln!(
        "at the kill: ann {} and bob {} delivered; {} spooled, {already} of them delivered already",
        before_ann.len(),
        before_bob.len(),
        spooled.len()
    );

    // Restart: the spool is offered again; what was delivered is recognised by its key and
    // skipped, the rest delivered — every message once.
    let s = serve(data.path(), dns.addr);
    assert!(s.token.is_empty(), "the first-start token was shown once");
    let b = remote(&s, &token);
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivery = loop {
        let delivery = b.get_smtp_status(GetSmtpStatus {}).await.unwrap().delivery;
        if delivery.messages >= spooled.len() as u64 {
            break delivery;
        }
        assert!(Instant::now() < deadline, "the spool was not taken up again: {delivery:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery.messages, spooled.len() as u64, "each spooled message handled once");
    assert_eq!(delivery.already_delivered, already as u64, "the delivered ones recognised by their keys");
    assert_eq!(delivery.copies, copies_left as u64, "only the undelivered ones stored");
    let mut ann = subjects(&b, "ann@example.com").await;
    let mut bob = subjects(&b, "bob@example.com").await;
    ann.sort();
    bob.sort();
    let mut want_ann = all.clone();
    want_ann.sort();
    let mut want_bob: Vec<String> = (0..60).filter(|i| i % 2 == 1).map(|i| format!("m{i}")).collect();
    want_bob.sort();
    assert_eq!(ann, want_ann, "ann has every message once");
    assert_eq!(bob, want_bob, "bob has every group message once");
}

/// The subjects in `address`'s INBOX.
async fn subjects(b: &dyn Backend, address: &str) -> Vec<String> {
    let p = ListMessages { address: address.into(), folder: Some("INBOX".into()), offset: None, limit: Some(500) };
    b.list_messages(p).await.unwrap().items.into_iter().map(|m| m.subject).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_rules_and_settings_changed_through_the_api_apply_without_restart() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.create_account(account("ann@example.com", None, None)).await.unwrap();
    b.create_account(account("bob@example.com", None, None)).await.unwrap();
    let mx = |to: &str| swaks(s.mx, &["--from", "someone@remote.test", "--to", to]);

    let (ok, text) = mx("ann@example.com");
    assert!(ok, "{text}");
    inbox(&b, "ann@example.com", 1).await;

    // A sender-domain reject rule: the next message is refused at MAIL FROM.
    let rule = b
        .add_smtp_rule(AddSmtpRule {
            name: "block-remote".into(),
            kind: SmtpRuleKind::SenderDomain,
            value: "remote.test".into(),
            action: SmtpRuleAction::Reject,
            note: None,
            position: None,
        })
        .await
        .unwrap();
    s.reloaded();
    let (ok, text) = mx("ann@example.com");
    assert!(!ok);
    assert!(text.contains("<** 550 5.7.1 Sender refused by policy"), "{text}");
    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert!(status.running);
    assert!(status.listeners.iter().any(|l| l.kind == SmtpListenerKind::Mx && l.address == s.mx.to_string()));
    assert_eq!(status.listeners.len(), 3);
    assert_eq!(status.counters.refused.get("block-remote"), Some(&1));
    assert_eq!(status.counters.messages_accepted, 1);
    assert_eq!(status.delivery.copies, 1);
    let last = &status.last_refusals[0];
    assert_eq!(last.rule, "block-remote");
    assert_eq!(last.stage, SmtpStage::Mail);
    assert_eq!(last.listener, SmtpListenerKind::Mx);
    assert_eq!(last.client_ip, "127.0.0.1");
    assert_eq!(last.sender.as_deref(), Some("someone@remote.test"));
    assert_eq!(last.reply, "550 5.7.1 Sender refused by policy");
    assert!(last.at.ends_with('Z'), "{}", last.at);

    // Removed again: accepted and delivered.
    b.remove_smtp_rule(RemoveSmtpRule { id: rule.id }).await.unwrap();
    s.reloaded();
    let (ok, text) = mx("ann@example.com");
    assert!(ok, "{text}");
    inbox(&b, "ann@example.com", 2).await;

    // One recipient per message from now on; the stored host name stays overridden by
    // --smtp-hostname.
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.max_recipients = 1;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    s.reloaded();
    let (_, text) = mx("ann@example.com,bob@example.com");
    assert!(text.contains("<-  220 mx.example.com ESMTP Postdesk"), "{text}");
    assert!(text.contains("<** 452 4.5.3 Too many recipients"), "{text}");
    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert_eq!(status.counters.refused.get("too_many_recipients"), Some(&1));
    assert_eq!(status.last_refusals[0].recipient.as_deref(), Some("bob@example.com"));
    assert_eq!(status.last_refusals.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_plan_limits_message_size_and_the_quota_is_checked_at_end_of_data() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    // A plan with 1 MiB attachments: messages up to 1 MiB × 4/3 × 78/76 + 1 MiB.
    let limits = postdesk_contract::model::PlanLimits { attachment_size_mb: 1, ..Default::default() };
    let limit = limits.max_message_bytes();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: Some(limits), group: None }).await.unwrap();
    b.create_account(account("ann@example.com", None, None)).await.unwrap();
    b.create_account(CreateAccount { quota_mb: Some(1), ..account("tiny@example.com", None, None) }).await.unwrap();

    let body = data.path().join("body.txt");
    let line = format!("{}\r\n", "x".repeat(998));
    std::fs::write(&body, line.repeat((limit as usize + 4096) / line.len() + 1)).unwrap();
    let body_arg = format!("@{}", body.display());

    // smtplib declares SIZE: refused at RCPT, before any data is sent.
    let script = format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {port})\n\
         s.ehlo('client.test')\n\
         try:\n\
         \x20   s.sendmail('someone@remote.test', ['ann@example.com'], open({body:?}).read())\n\
         except smtplib.SMTPRecipientsRefused as e:\n\
         \x20   code, text = e.recipients['ann@example.com']\n\
         \x20   print('REFUSED', code, text.decode())\n",
        port = s.mx.port(),
        body = body.display().to_string(),
    );
    let mut c = Command::new("python3");
    c.arg("-c").arg(&script);
    common::run(c, None).assert_stdout_contains(&format!(
        "REFUSED 552 5.3.4 Message too big for <ann@example.com>: its domain accepts at most {limit} bytes"
    ));

    // swaks declares nothing: refused at the end of DATA.
    let mx = ["--from", "someone@remote.test", "--to"];
    let (ok, text) = swaks(s.mx, &[&mx[..], &["ann@example.com", "--body", &body_arg]].concat());
    assert!(!ok && text.contains("<** 552 5.3.4 Message too big for <ann@example.com>"), "{text}");

    // The quota: 600 KB fits a 1 MiB mailbox once; the second copy is refused whole.
    std::fs::write(&body, line.repeat(600)).unwrap();
    let (ok, text) = swaks(s.mx, &[&mx[..], &["tiny@example.com", "--body", &body_arg]].concat());
    assert!(ok, "{text}");
    inbox(&b, "tiny@example.com", 1).await;
    let (ok, text) = swaks(s.mx, &[&mx[..], &["tiny@example.com", "--body", &body_arg]].concat());
    assert!(!ok && text.contains("<** 552 5.2.2 Mailbox <tiny@example.com> is full"), "{text}");
    // With a recipient that has room the message is deferred, not split.
    let (ok, text) = swaks(s.mx, &[&mx[..], &["tiny@example.com,ann@example.com", "--body", &body_arg]].concat());
    assert!(!ok && text.contains("<** 452 4.2.2 Mailbox <tiny@example.com> is full"), "{text}");
    inbox(&b, "ann@example.com", 0).await;
    inbox(&b, "tiny@example.com", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_failing_dmarc_with_policy_quarantine_lands_in_junk() {
    let (dns, _zones) = dns();
    let data = tempfile::tempdir().unwrap();
    let s = serve(data.path(), dns.addr);
    let b = remote(&s, &s.token);
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.create_account(account("ann@example.com", None, None)).await.unwrap();
    let mx = |header_from: &str| {
        swaks(s.mx, &["--from", "someone@remote.test", "--to", "ann@example.com", "--header", header_from])
    };
    // SPF passes for remote.test, but the author's domain is spoofed.test: DMARC fails,
    // and its policy says quarantine.
    let (ok, text) = mx("From: Boss <boss@spoofed.test>");
    assert!(ok, "{text}");
    let junk = folder(&b, "ann@example.com", "Junk", 1).await;
    assert!(junk.items[0].from.contains("boss@spoofed.test"), "{junk:?}");
    // Aligned mail still goes to the INBOX.
    let (ok, text) = mx("From: someone@remote.test");
    assert!(ok, "{text}");
    inbox(&b, "ann@example.com", 1).await;
    let status = b.get_smtp_status(GetSmtpStatus {}).await.unwrap();
    assert_eq!(status.counters.junked.get("dmarc_fail"), Some(&1), "{:?}", status.counters);

    // The admin turns the action off: the same mail goes to the INBOX.
    let mut settings = b.get_smtp_settings(GetSmtpSettings {}).await.unwrap();
    settings.inbound_auth.junk_dmarc_fail = false;
    b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
    s.reloaded();
    let (ok, text) = mx("From: Boss <boss@spoofed.test>");
    assert!(ok, "{text}");
    inbox(&b, "ann@example.com", 2).await;
    folder(&b, "ann@example.com", "Junk", 1).await;
}
