//! The SMTP service driven by real clients no one here wrote: swaks and Python's smtplib,
//! over plain TCP, STARTTLS and implicit TLS, against the real fsync'ing spool.
//! Needs `swaks` and `python3` (Debian: apt-get install -y swaks python3).

use crate::support;

use std::sync::Arc;

use async_trait::async_trait;
use postdesk_smtp::{ListAction, ListMatch, ListRule, Policy, PolicyRequest, Stage, Verdict};
use support::{PASSWORD, TestServer, python, swaks};

/// A message with CRLF line ends, a line that needs dot-stuffing, and 8-bit text.
const MESSAGE: &str = "From: Someone <someone@remote.test>\r\n\
To: Ann <ann@example.test>\r\n\
Subject: byte-exact\r\n\
Message-ID: <byte-exact@remote.test>\r\n\
\r\n\
first line\r\n\
.a line that starts with a dot\r\n\
..two dots\r\n\
Grüße\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_plain_mx_message_is_stored_byte_exact_after_250() {
    let server = TestServer::start().await;
    let file = server.dir.path().join("message.eml");
    // swaks ends the data with CRLF.CRLF itself, so the file leaves out the last CRLF.
    std::fs::write(&file, MESSAGE.strip_suffix("\r\n").unwrap()).unwrap();
    let data = format!("@{}", file.display());
    let run = swaks(server.mx, &["--from", "someone@remote.test", "--to", "ann@example.test", "--data", &data]).await;
    assert!(run.ok);
    let ids = run.queue_ids();
    assert_eq!(ids.len(), 1);
    let stored = server.stored(ids[0]);
    let text = String::from_utf8(stored.message.clone()).unwrap();
    let (trace, rest) = text.split_at(text.find("From: Someone").expect("original message kept"));
    assert_eq!(rest, MESSAGE, "message stored byte-exact after our trace header");
    assert!(trace.starts_with(
        "Received: from client.test (unknown [127.0.0.1])\r\n\tby mx.example.test (Postdesk) with ESMTP id "
    ));
    assert!(trace.contains(&format!("id {}", ids[0])));
    assert!(trace.contains("for <ann@example.test>;"));
    assert!(trace.ends_with("\r\n") && trace.matches("\r\n").count() == 4, "{trace:?}");
    assert_eq!(stored.envelope.mail_from, "someone@remote.test");
    assert_eq!(stored.envelope.recipients, vec!["ann@example.test".to_string()]);
    assert_eq!(stored.envelope.listener, "mx");
    assert_eq!(stored.envelope.account, None);
    let counters = server.service.counters();
    assert_eq!(counters.messages_accepted, 1);
    assert_eq!(counters.recipients_accepted, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_starttls_and_implicit_tls_with_auth_plain_and_login() {
    let server = TestServer::start().await;
    let run = swaks(
        server.submission,
        &[
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "ann@example.test",
            "--auth-password",
            PASSWORD,
            "--from",
            "sales@example.test",
            "--to",
            "someone@remote.test",
        ],
    )
    .await;
    assert!(run.ok);
    assert!(run.stdout.contains("<~  235 2.7.0 Authentication successful"));
    let id = run.queue_ids()[0];
    let stored = server.stored(id);
    let text = String::from_utf8_lossy(&stored.message);
    assert!(text.contains("with ESMTPSA id"), "{text}");
    assert!(text.contains("version=TLSv1_3"), "{text}");
    assert_eq!(stored.envelope.account.as_deref(), Some("ann@example.test"));
    assert_eq!(stored.envelope.recipients, vec!["someone@remote.test".to_string()]);

    let run = swaks(
        server.submissions,
        &[
            "--tls-on-connect",
            "--auth",
            "LOGIN",
            "--auth-user",
            "ann@example.test",
            "--auth-password",
            PASSWORD,
            "--from",
            "ann@example.test",
            "--to",
            "bob@example.test",
        ],
    )
    .await;
    assert!(run.ok);
    assert!(run.stdout.contains("235 2.7.0"));
    assert_eq!(server.stored(run.queue_ids()[0]).envelope.listener, "submissions");
    // PIPELINING (RFC 2920): swaks sends MAIL, RCPT and DATA in one go after STARTTLS+AUTH.
    let run = swaks(
        server.submission,
        &[
            "--tls",
            "--pipeline",
            "--auth",
            "PLAIN",
            "--auth-user",
            "ann@example.test",
            "--auth-password",
            PASSWORD,
            "--from",
            "ann@example.test",
            "--to",
            "dora@example.test,bob@example.test",
        ],
    )
    .await;
    assert!(run.ok);
    assert_eq!(server.stored(run.queue_ids()[0]).envelope.recipients.len(), 2);
    let c = server.service.counters();
    assert_eq!(c.auth_succeeded, 3);
    assert_eq!(c.tls_sessions, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_wrong_password_unknown_recipient_and_relay_are_refused() {
    let server = TestServer::start().await;
    let run = swaks(
        server.submission,
        &[
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "ann@example.test",
            "--auth-password",
            "wrong",
            "--from",
            "ann@example.test",
            "--to",
            "someone@remote.test",
        ],
    )
    .await;
    assert!(!run.ok);
    assert!(run.stdout.contains("535 5.7.8 Authentication credentials invalid"));

    let run = swaks(server.mx, &["--from", "someone@remote.test", "--to", "nobody@example.test"]).await;
    assert!(!run.ok);
    assert!(run.stdout.contains("<** 550 5.1.1 Recipient address rejected: <nobody@example.test>: user unknown"));

    let run = swaks(server.mx, &["--from", "someone@remote.test", "--to", "victim@elsewhere.test"]).await;
    assert!(run.stdout.contains("<** 554 5.7.1 Relay access denied"));

    let run = swaks(server.mx, &["--from", "someone@remote.test", "--to", "carl@example.test"]).await;
    assert!(run.stdout.contains("<** 452 4.2.2 Mailbox <carl@example.test> is full"));

    let c = server.service.counters();
    assert_eq!(c.refused("auth_failed"), 1);
    assert_eq!(c.refused("unknown_recipient"), 1);
    assert_eq!(c.refused("relay_denied"), 1);
    assert_eq!(c.refused("over_quota"), 1);
    assert_eq!(c.messages_accepted, 0);
    assert!(server.spool.ids().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_auth_rules_before_and_after_tls() {
    let server = TestServer::start().await;
    let run = python(
        &server,
        r#"
s = smtplib.SMTP('127.0.0.1', SUB)
s.ehlo('client.test')
show('auth-advertised-plain', s.has_extn('auth'))
show('starttls-advertised', s.has_extn('starttls'))
show('mail-unauth', s.mail('ann@example.test'))
show('auth-before-tls', s.docmd('AUTH', 'PLAIN ' + base64.b64encode(b'\0ann@example.test\0x').decode()))
s.starttls(context=ctx())
s.ehlo('client.test')
show('auth-advertised-tls', s.has_extn('auth'), s.esmtp_features.get('auth'))
try:
    s.login('bob@example.test', 'correct horse')
except smtplib.SMTPAuthenticationError as e:
    show('smtp-disabled', e.smtp_code, e.smtp_error.decode())
s.login('ann@example.test', 'correct horse')
show('sender-not-owned', s.mail('bob@example.test'))
show('alias-sender', s.mail('sales@example.test'))
s.rset()
s.sendmail('ann@example.test', ['dora@example.test'], b'Subject: hi\r\n\r\nhello\r\n')
show('sent')
s.quit()
"#,
    )
    .await;
    assert!(run.ok);
    let out = &run.stdout;
    assert!(out.contains("auth-advertised-plain False"));
    assert!(out.contains("starttls-advertised True"));
    assert!(out.contains("mail-unauth (530, b'5.7.0 Authentication required')"));
    assert!(out.contains("auth-before-tls (538, b'5.7.11 Encryption required"));
    assert!(out.contains("auth-advertised-tls True  PLAIN LOGIN"));
    assert!(out.contains("smtp-disabled 525 5.7.13 SMTP is disabled for this account"));
    assert!(out.contains(
        "sender-not-owned (553, b'5.7.1 Sender address <bob@example.test> is not owned by user ann@example.test')"
    ));
    assert!(out.contains("alias-sender (250, b'2.1.0 Sender OK')"));
    assert!(out.contains("sent"));
    let c = server.service.counters();
    assert_eq!(c.refused("auth_without_tls"), 1);
    assert_eq!(c.refused("auth_required"), 1);
    assert_eq!(c.refused("sender_not_owned"), 1);
    assert_eq!(c.messages_accepted, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_failed_logins_lock_the_account() {
    let server = TestServer::start().await;
    let run = python(
        &server,
        r#"
def connect():
    s = smtplib.SMTP_SSL('127.0.0.1', SUBS, context=ctx())
    s.ehlo('client.test')
    return s
def login(s, user, password):
    s.user, s.password = user, password
    try:
        s.auth('PLAIN', s.auth_plain)
        return 'ok'
    except smtplib.SMTPAuthenticationError as e:
        return '%d %s' % (e.smtp_code, e.smtp_error.decode())
s = connect()
show('first', [login(s, 'dora@example.test', p) for p in ['bad1', 'bad2', 'correct horse']])
s.quit()
s = connect()
show('second', [login(s, 'dora@example.test', p) for p in ['bad1', 'bad2', 'bad3']])
# The 421 that ended the session is the next reply the client reads.
show('after', s.noop())
s = connect()
show('third', login(s, 'dora@example.test', 'correct horse'))
"#,
    )
    .await;
    assert!(run.ok);
    // Lockout threshold 3 (consecutive failures; a success resets), per-connection limit 3.
    let out = &run.stdout;
    assert!(out.contains("first ['535 5.7.8 Authentication credentials invalid', '535 5.7.8 Authentication credentials invalid', 'ok']"), "{out}");
    assert!(out.contains("second ['535 5.7.8 Authentication credentials invalid', '535 5.7.8 Authentication credentials invalid', '535 5.7.8 Authentication credentials invalid']"), "{out}");
    assert!(out.contains("after (421, b'4.7.0 Too many failed authentications, closing connection')"), "{out}");
    assert!(out.contains("third 535 5.7.8 Account locked; ask your administrator"), "{out}");
    assert_eq!(server.service.counters().refused("auth_locked"), 1);
    assert!(server.directory.is_locked("dora@example.test"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtplib_size_limits_and_too_many_recipients() {
    let server = TestServer::start().await;
    let run = python(
        &server,
        r#"
s = smtplib.SMTP('127.0.0.1', MX)
s.ehlo('client.test')
show('size-advertised', s.esmtp_features.get('size'))
show('size-declared', s.mail('someone@remote.test', ['SIZE=70000']))
s.rset()
s.mail('someone@remote.test')
for n in range(6):
    show('rcpt', n, s.rcpt('ann@example.test'))
s.rset()
s.mail('someone@remote.test')
codes = [s.rcpt(a)[0] for a in ['ann@example.test', 'sales@example.test', 'dora@example.test', 'bob@example.test', 'carl@example.test', 'ann@example.test']]
show('codes', codes)
s.rset()
try:
    s.sendmail('someone@remote.test', ['ann@example.test'], b'Subject: big\r\n\r\n' + (b'x' * 998 + b'\r\n') * 80)
except smtplib.SMTPSenderRefused as e:
    show('too-big-declared', e.smtp_code)
# Without SIZE= the limit is enforced while the data is read.
s.rset()
s.mail('someone@remote.test')
s.rcpt('ann@example.test')
code, text = s.data(b'Subject: big\r\n\r\n' + (b'x' * 998 + b'\r\n') * 80)
show('too-big', code, text.decode())
s.sendmail('someone@remote.test', ['ann@example.test'], b'Subject: small\r\n\r\nfits\r\n')
show('small-ok')
s.quit()
"#,
    )
    .await;
    assert!(run.ok);
    let out = &run.stdout;
    assert!(out.contains("size-advertised 65536"));
    assert!(out.contains("size-declared (552, b'5.3.4 Message size exceeds the fixed maximum message size')"));
    // Duplicates count against the limit of 5 recipients as sent, the 6th is refused.
    assert!(out.contains("rcpt 5 (452, b'4.5.3 Too many recipients')"), "{out}");
    // carl's mailbox is full (452 4.2.2) and does not count; the repeated ann is the 5th.
    assert!(out.contains("codes [250, 250, 250, 250, 452, 250]"), "{out}");
    assert!(out.contains("too-big-declared 552"));
    assert!(out.contains("too-big 552 5.3.4"));
    assert!(out.contains("small-ok"));
    let c = server.service.counters();
    assert_eq!(c.refused("message_too_big"), 3);
    assert_eq!(c.messages_accepted, 1);
    server.stop().await;
}

/// A policy hook standing in for the engine's decision function: mail to
/// `restricted@example.test` is refused at RCPT, anything mentioning "lottery" at DATA.
struct TestPolicy;

#[async_trait]
impl Policy for TestPolicy {
    async fn check(&self, r: &PolicyRequest<'_>) -> Verdict {
        match r.stage {
            Stage::Rcpt if r.rcpt_to == Some("restricted@example.test") => {
                Verdict::reject("external_receive", 550, [5, 7, 1], "This mailbox does not receive external mail")
            }
            Stage::Data if r.message.is_some_and(|m| String::from_utf8_lossy(m).contains("lottery")) => {
                Verdict::reject("content", 554, [5, 7, 1], "Message refused by policy")
            }
            _ => Verdict::Continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_rules_and_the_policy_hook() {
    let server = TestServer::with(|s| {
        s.profile.lists = vec![
            ListRule {
                name: "newsletter-discard".into(),
                matches: ListMatch::SenderDomain("newsletter.test".into()),
                action: ListAction::Discard,
            },
            ListRule {
                name: "spammer".into(),
                matches: ListMatch::SenderAddress("spam@bad.test".into()),
                action: ListAction::Reject,
            },
        ];
        s.directory = support::directory().catch_all_domain("example.test");
        s.policy = Some(Arc::new(TestPolicy));
    })
    .await;
    let run = swaks(server.mx, &["--from", "news@mail.newsletter.test", "--to", "ann@example.test"]).await;
    assert!(run.ok, "a discarded message looks accepted");
    assert!(server.spool.ids().is_empty(), "but is not stored");

    let run = swaks(server.mx, &["--from", "spam@bad.test", "--to", "ann@example.test"]).await;
    assert!(run.stdout.contains("<** 550 5.7.1 Sender refused by policy"));

    let run = swaks(server.mx, &["--from", "x@remote.test", "--to", "restricted@example.test"]).await;
    assert!(run.stdout.contains("<** 550 5.7.1 This mailbox does not receive external mail"));

    let run =
        swaks(server.mx, &["--from", "x@remote.test", "--to", "ann@example.test", "--body", "win the lottery"]).await;
    assert!(run.stdout.contains("<** 554 5.7.1 Message refused by policy"));

    let run = swaks(server.mx, &["--from", "ann@example.test", "--to", "dora@example.test"]).await;
    assert!(run.stdout.contains("<** 550 5.7.1 Authentication required to send as a user of example.test"));

    let c = server.service.counters();
    assert_eq!(c.messages_discarded, 1);
    assert_eq!(c.discarded.get("newsletter-discard"), Some(&1));
    assert_eq!(c.refused("spammer"), 1);
    assert_eq!(c.refused("external_receive"), 1);
    assert_eq!(c.refused("content"), 1);
    assert_eq!(c.refused("sender_local_unauthenticated"), 1);
    assert_eq!(c.messages_accepted, 0);
    server.stop().await;
}
