//! Wire-level behaviour over raw TCP: pipelining, DATA edge cases, BDAT, error limits,
//! line limits, timeouts, shutdown, connection policy. Each test sends raw bytes and
//! checks the raw replies.

use crate::support;

use std::time::Duration;

use postdesk_smtp::{ListAction, ListMatch, ListRule, RateLimit};
use support::{TestServer, Wire, python, queue_id};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_answered_in_order() {
    let server = TestServer::start().await;
    let (mut w, greeting) = Wire::open(server.mx).await;
    assert_eq!(greeting, "220 mx.example.test ESMTP Postdesk\r\n");
    w.send(
        b"EHLO client.test\r\nMAIL FROM:<a@remote.test> BODY=8BITMIME\r\nRCPT TO:<ann@example.test>\r\n\
          RCPT TO:<nobody@example.test>\r\nRCPT TO:<Sales@Example.test>\r\nDATA\r\n",
    )
    .await;
    let ehlo = w.reply().await;
    assert!(ehlo.starts_with("250-mx.example.test Hello [127.0.0.1]\r\n"));
    for ext in ["PIPELINING", "SIZE 65536", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS"] {
        assert!(ehlo.contains(ext), "{ext} in {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "no AUTH before TLS: {ehlo}");
    assert_eq!(w.reply().await, "250 2.1.0 Sender OK\r\n");
    assert_eq!(w.reply().await, "250 2.1.5 Recipient OK\r\n");
    assert!(w.reply().await.starts_with("550 5.1.1 "));
    assert_eq!(w.reply().await, "250 2.1.5 Recipient OK\r\n");
    assert!(w.reply().await.starts_with("354 "));
    w.send(b"Subject: pipelined\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n").await;
    let done = w.reply().await;
    assert!(done.starts_with("250 2.0.0 Ok: queued as "), "{done}");
    assert!(w.reply().await.starts_with("221 2.0.0"));
    let stored = server.stored(queue_id(&done));
    assert!(stored.message.ends_with(b"\r\nSubject: pipelined\r\n\r\n.leading dot\r\n"));
    assert_eq!(stored.envelope.recipients, vec!["ann@example.test".to_string(), "Sales@Example.test".to_string()]);
    assert!(!String::from_utf8_lossy(&stored.message).contains("for <"), "several recipients are not named");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_edge_cases_and_bdat() {
    let server = TestServer::start().await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.test").await;
    // An empty message, and a first line starting with a dot.
    for (body, stored_tail) in
        [(&b".\r\n"[..], &b""[..]), (b"..x\r\n.\r\n", b".x\r\n"), (b"a\r\n\r\n.\r\n", b"a\r\n\r\n")]
    {
        w.cmd("MAIL FROM:<>").await;
        w.cmd("RCPT TO:<ann@example.test>").await;
        assert!(w.cmd("DATA").await.starts_with("354"));
        w.send(body).await;
        let done = w.reply().await;
        let stored = server.stored(queue_id(&done));
        let text = stored.message;
        assert!(text.ends_with(stored_tail), "{:?}", String::from_utf8_lossy(&text));
        assert!(text.starts_with(b"Received: "));
        assert_eq!(stored.envelope.mail_from, "");
    }
    // A bare LF-dot is not an end of data (SMTP smuggling).
    w.cmd("MAIL FROM:<a@remote.test>").await;
    w.cmd("RCPT TO:<ann@example.test>").await;
    w.cmd("DATA").await;
    w.send(b"one\n.\nMAIL FROM:<evil@remote.test>\r\n.\r\n").await;
    let done = w.reply().await;
    let stored = server.stored(queue_id(&done));
    assert!(stored.message.ends_with(b"one\n.\nMAIL FROM:<evil@remote.test>\r\n"));

    // BDAT (RFC 3030): chunks of exact sizes, LAST ends the message.
    w.cmd("MAIL FROM:<a@remote.test>").await;
    w.cmd("RCPT TO:<ann@example.test>").await;
    w.send(b"BDAT 5\r\nHelloBDAT 8 LAST\r\n world\r\n").await;
    assert_eq!(w.reply().await, "250 2.0.0 5 octets received\r\n");
    let done = w.reply().await;
    assert!(server.stored(queue_id(&done)).message.ends_with(b"\r\nHello world\r\n"));
    // A chunk past the size limit is read and refused.
    w.cmd("MAIL FROM:<a@remote.test>").await;
    w.cmd("RCPT TO:<ann@example.test>").await;
    let big = vec![b'x'; 70_000];
    w.send(format!("BDAT {} LAST\r\n", big.len()).as_bytes()).await;
    w.send(&big).await;
    assert!(w.reply().await.starts_with("552 5.3.4"));
    assert_eq!(w.cmd("NOOP").await, "250 2.0.0 OK\r\n");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_sequence_and_error_limits() {
    let server = TestServer::with(|s| s.profile.max_errors = 15).await;
    let (mut w, _) = Wire::open(server.mx).await;
    let table: &[(&str, &str)] = &[
        ("MAIL FROM:<a@remote.test>", "503 5.5.1 Send EHLO or HELO first"),
        ("HELO client.test", "250 2.0.0 mx.example.test"),
        ("RCPT TO:<ann@example.test>", "503 5.5.1 Need MAIL command first"),
        ("DATA", "503 5.5.1 Need MAIL command first"),
        ("VRFY ann", "252 2.5.2 "),
        ("EXPN staff", "502 5.5.1 "),
        ("HELP", "214 2.0.0 "),
        ("MAIL FROM:<a@remote.test> FOO=BAR", "555 5.5.4 "),
        ("MAIL FROM:<not an address>", "553 5.1.7 "),
        ("MAIL FROM:<user@localhost>", "553 5.1.7 Malformed sender address"),
        ("MAIL FROM:<a@remote.test>", "250 2.1.0"),
        ("MAIL FROM:<a@remote.test>", "503 5.5.1 Nested MAIL command"),
        ("DATA", "554 5.5.1 No valid recipients"),
        ("RSET", "250 2.0.0 OK"),
        ("BOGUS", "500 5.5.2 Command unrecognized"),
    ];
    for (command, expected) in table {
        let reply = w.cmd(command).await;
        assert!(reply.starts_with(expected), "{command} → {reply:?}, wanted {expected:?}");
    }
    // A line longer than smtp-proto's limit is refused whole; the session goes on.
    let long = format!("NOOP {}\r\n", "x".repeat(10_000));
    w.send(long.as_bytes()).await;
    assert!(w.reply().await.starts_with("500 5.5.2 Line too long"));
    assert_eq!(w.cmd("NOOP").await, "250 2.0.0 OK\r\n");
    // Ten protocol errors so far; the fifteenth ends the session.
    let mut last = String::new();
    for _ in 0..10 {
        last = w.cmd("BOGUS").await;
        if last.contains("421 4.7.0") {
            break;
        }
    }
    assert!(last.contains("421 4.7.0 Too many errors"), "{last}");
    assert!(w.closed().await);
    assert_eq!(server.service.counters().refused("too_many_errors"), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_discards_pipelined_plaintext() {
    let server = TestServer::start().await;
    // RFC 3207 §6 / CVE-2011-0411: commands sent in the clear after STARTTLS must not be
    // executed inside the TLS session.
    let run = python(
        &server,
        r#"
import socket
raw = socket.create_connection(('127.0.0.1', MX))
f = raw.makefile('rb')
def reply(f):
    lines = []
    while True:
        line = f.readline()
        lines.append(line)
        if line[3:4] != b'-':
            return b''.join(lines)
reply(f)
raw.sendall(b'EHLO client.test\r\n'); reply(f)
raw.sendall(b'STARTTLS\r\nNOOP injected\r\n')
show('starttls', reply(f))
tls = ctx().wrap_socket(raw, server_hostname='localhost')
tf = tls.makefile('rb')
tls.sendall(b'EHLO client.test\r\n')
show('first-tls-reply', reply(tf).splitlines()[0])
tls.sendall(b'QUIT\r\n'); show('quit', reply(tf))
"#,
    )
    .await;
    assert!(run.ok);
    assert!(run.stdout.contains("starttls b'220 2.0.0 Ready to start TLS\\r\\n'"));
    assert!(run.stdout.contains("first-tls-reply b'250-mx.example.test Hello [127.0.0.1]'"), "{}", run.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_and_graceful_shutdown_say_421() {
    let server = TestServer::with(|s| s.profile.command_timeout = Duration::from_millis(500)).await;
    let (mut w, _) = Wire::open(server.mx).await;
    assert!(w.reply().await.starts_with("421 4.4.2 mx.example.test Timeout"));
    assert!(w.closed().await);

    let (mut idle, _) = Wire::open(server.submission).await;
    idle.cmd("EHLO client.test").await;
    let service = &server.service;
    let (reply, ()) = tokio::join!(idle.reply(), service.shutdown(Duration::from_secs(5)));
    assert!(reply.starts_with("421 4.3.2 mx.example.test Service shutting down"), "{reply}");
    assert!(TcpStream::connect(server.mx).await.is_err(), "listener closed");
    server.spool.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_policy_limits_and_ip_rules() {
    let server = TestServer::with(|s| {
        s.profile.connection.max_connections_per_ip = Some(1);
        s.profile.connection.messages_per_ip = Some(RateLimit { count: 2, window: Duration::from_secs(60) });
    })
    .await;
    let (mut first, greeting) = Wire::open(server.mx).await;
    assert!(greeting.starts_with("220 "));
    let (mut second, refused) = Wire::open(server.mx).await;
    assert!(refused.starts_with("421 4.7.0 Too many connections from your address"), "{refused}");
    assert!(second.closed().await);
    first.cmd("EHLO client.test").await;
    for n in 0..3 {
        let reply = first.cmd("MAIL FROM:<a@remote.test>").await;
        if n < 2 {
            assert!(reply.starts_with("250"), "{reply}");
            first.cmd("RSET").await;
        } else {
            assert!(reply.starts_with("451 4.7.1 Too many messages from your address"), "{reply}");
        }
    }
    let c = server.service.counters();
    assert_eq!(c.refused("connection_limit"), 1);
    assert_eq!(c.refused("message_rate"), 1);
    server.stop().await;

    let server = TestServer::with(|s| {
        s.profile.lists = vec![ListRule {
            name: "loopback-block".into(),
            matches: ListMatch::ClientIp("127.0.0.0/8".parse().unwrap()),
            action: ListAction::Reject,
        }];
    })
    .await;
    let (mut w, greeting) = Wire::open(server.mx).await;
    assert_eq!(greeting, "554 5.7.1 Connection refused by policy\r\n");
    assert!(w.closed().await);
    assert_eq!(server.service.counters().refused("loopback-block"), 1);
    server.stop().await;
}

/// Out of the box one client address gets 20 connections of the 1024: the 21st is refused
/// with 421 while another address is still greeted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_its_share_of_connections_by_default() {
    let server = TestServer::start().await;
    assert_eq!(server.service.profile().connection.max_connections_per_ip, Some(20));
    let mut held = Vec::new();
    for _ in 0..20 {
        let (wire, greeting) = Wire::open(server.mx).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        held.push(wire);
    }
    let (mut over, refused) = Wire::open(server.mx).await;
    assert!(refused.starts_with("421 4.7.0 Too many connections from your address"), "{refused}");
    assert!(over.closed().await);
    let (mut other, greeting) = Wire::open_from(server.mx, "127.0.0.2".parse().unwrap()).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(other.cmd("EHLO client.test").await.starts_with("250"));
    assert_eq!(server.service.counters().refused("connection_limit"), 1);
    drop(held);
    server.stop().await;
}

/// A store that holds every delivery until the test opens the gate; `entered` is told when
/// a delivery is waiting at the gate, `stored` counts those let through.
struct GatedStore {
    gate: tokio::sync::Semaphore,
    entered: tokio::sync::Notify,
    stored: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl postdesk_smtp::Store for GatedStore {
    async fn deliver(
        &self,
        envelope: postdesk_smtp::Envelope,
        _message: Vec<u8>,
    ) -> Result<postdesk_smtp::QueueId, postdesk_smtp::StoreError> {
        self.entered.notify_one();
        self.gate.acquire().await.expect("gate").forget();
        self.stored.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(envelope.queue_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_250_waits_for_the_store_and_shutdown_lets_it_finish() {
    let store = std::sync::Arc::new(GatedStore {
        gate: tokio::sync::Semaphore::new(0),
        entered: tokio::sync::Notify::new(),
        stored: std::sync::atomic::AtomicUsize::new(0),
    });
    let profile = postdesk_smtp::SmtpProfile { hostname: "mx.example.test".into(), ..Default::default() };
    let service =
        postdesk_smtp::SmtpService::builder(profile, std::sync::Arc::new(support::directory()), store.clone())
            .build()
            .unwrap();
    let addr = service.listen(postdesk_smtp::ListenerKind::Mx, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (mut w, _) = Wire::open(addr).await;
    w.cmd("EHLO client.test").await;
    w.cmd("MAIL FROM:<a@remote.test>").await;
    w.cmd("RCPT TO:<ann@example.test>").await;
    w.cmd("DATA").await;
    w.send(b"Subject: gated\r\n\r\nbody\r\n.\r\n").await;
    // The message waits at the store's gate; a shutdown begins (new connections are refused)…
    store.entered.notified().await;
    let shutdown = service.shutdown(Duration::from_secs(5));
    let client = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "the shutdown never closed the listener");
            tokio::task::yield_now().await;
        }
        // …and must not cut the delivery off: once stored, the session answers 250, then 421.
        store.gate.add_permits(1);
        let done = w.reply().await;
        let stored = store.stored.load(std::sync::atomic::Ordering::SeqCst);
        (done, stored, w.reply().await)
    };
    let ((done, stored, bye), ()) = tokio::join!(client, shutdown);
    assert_eq!(stored, 1, "the 250 came after the store");
    assert!(done.starts_with("250 2.0.0 Ok: queued as "), "{done}");
    assert!(bye.starts_with("421 4.3.2"), "{bye}");
    assert_eq!(service.counters().messages_accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_size_limit_is_enforced_while_reading() {
    // Regression: a limit below the initial buffer size must not panic the session.
    let server = TestServer::with(|s| s.profile.max_message_size = 100).await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.test").await;
    for (body, expected) in
        [("Subject: s\r\n\r\nsmall\r\n", "250 "), (&*format!("Subject: b\r\n\r\n{}\r\n", "x".repeat(200)), "552 5.3.4")]
    {
        w.cmd("MAIL FROM:<a@remote.test>").await;
        w.cmd("RCPT TO:<ann@example.test>").await;
        w.cmd("DATA").await;
        w.send(format!("{body}.\r\n").as_bytes()).await;
        let reply = w.reply().await;
        assert!(reply.starts_with(expected), "{reply}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_size_limits_and_mailbox_room_at_rcpt_and_end_of_data() {
    let server = TestServer::with(|s| {
        s.directory = support::directory()
            .account("fred@example.test", support::PASSWORD)
            .max_message("fred@example.test", 1000)
            .room("dora@example.test", 2000);
    })
    .await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.test").await;
    let message = |n: usize| format!("Subject: s\r\n\r\n{}\r\n.\r\n", "x".repeat(n));

    // Declared sizes are judged per recipient at RCPT.
    w.cmd("MAIL FROM:<a@remote.test> SIZE=5000").await;
    let too_big = w.cmd("RCPT TO:<fred@example.test>").await;
    assert!(too_big.starts_with("552 5.3.4 Message too big for <fred@example.test>"), "{too_big}");
    assert!(too_big.contains("at most 1000 bytes"), "{too_big}");
    assert!(w.cmd("RCPT TO:<dora@example.test>").await.starts_with("452 4.2.2 "));
    assert!(w.cmd("RCPT TO:<ann@example.test>").await.starts_with("250 "));
    w.cmd("RSET").await;

    // Without SIZE the real size decides at the end of DATA, and nothing is stored.
    let cases = [
        (vec!["fred@example.test"], 1500, "552 5.3.4 Message too big for <fred@example.test>"),
        (vec!["dora@example.test"], 2500, "552 5.2.2 Mailbox <dora@example.test> is full"),
        (vec!["ann@example.test", "dora@example.test"], 2500, "452 4.2.2 Mailbox <dora@example.test> is full"),
        (vec!["ann@example.test", "dora@example.test"], 300, "250 2.0.0 Ok: queued as"),
    ];
    for (recipients, size, expected) in cases {
        w.cmd("MAIL FROM:<a@remote.test>").await;
        for r in &recipients {
            assert!(w.cmd(&format!("RCPT TO:<{r}>")).await.starts_with("250 "), "{r}");
        }
        assert!(w.cmd("DATA").await.starts_with("354"));
        w.send(message(size).as_bytes()).await;
        let reply = w.reply().await;
        assert!(reply.starts_with(expected), "{recipients:?} {size}: {reply}");
        if expected.starts_with("250") {
            assert_eq!(server.stored(queue_id(&reply)).envelope.recipients.len(), 2);
        }
        // The transaction is over either way: a new MAIL is accepted.
    }
    let counters = server.service.counters();
    assert_eq!(counters.refused("recipient_size_limit"), 2);
    assert_eq!(counters.refused("over_quota"), 3);
    assert_eq!(counters.messages_accepted, 1);
    server.stop().await;
}

/// The command time-out runs over the whole command: a client trickling a line a byte at
/// a time is told 421 before the line is complete (each byte used to restart the clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_trickled_a_byte_at_a_time_times_out_as_a_whole() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::with(|s| s.profile.command_timeout = Duration::from_millis(800)).await;
    let mut s = TcpStream::connect(server.mx).await.unwrap();
    let mut greeting = [0u8; 256];
    let _ = s.read(&mut greeting).await.unwrap();
    // A line that never ends, a byte every 100 ms (each read well within the time-out), until
    // the server answers and closes.
    let (mut read, mut write) = s.into_split();
    let trickle = tokio::spawn(async move {
        for b in b"EHLO ".iter().chain(std::iter::repeat(&b'a')) {
            if write.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut reply = Vec::new();
    let _ = read.read_to_end(&mut reply).await;
    trickle.abort();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("421 4.4.2 mx.example.test Timeout"), "{reply}");
    server.stop().await;
}

/// A client that pipelines commands and never reads a reply is dropped once the server's
/// writes have waited the command time-out, instead of holding the session for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::with(|s| s.profile.command_timeout = Duration::from_millis(800)).await;
    let mut s = TcpStream::connect(server.mx).await.unwrap();
    let noops = b"NOOP\r\n".repeat(10_000);
    // Writes until the server drops the connection; the bound only keeps a broken server
    // from hanging the test.
    let dropped = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            if s.write_all(&noops).await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(dropped.is_ok(), "the server kept a client that never reads");
    server.stop().await;
}

/// Recipient probing (smtplib): after three unknown recipients each further RCPT is held
/// back by a growing delay, ten unknown recipients in one session drop it, and the address
/// is refused at connect for a while; another address is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_probing_drops_the_session_and_penalises_the_address() {
    // A short step so the seven delayed RCPTs take 1.4 s, not the default 28 s.
    let server = TestServer::with(|s| s.profile.probing.delay_step = Duration::from_millis(50)).await;
    let run = python(
        &server,
        r#"
s = smtplib.SMTP('127.0.0.1', MX)
s.ehlo('client.test')
s.mail('probe@remote.test')
codes = [s.rcpt('guess%d@example.test' % i)[0] for i in range(10)]
show('codes', codes)
try:
    show('after', s.rcpt('ann@example.test'))
except smtplib.SMTPServerDisconnected:
    show('after', 'disconnected')
try:
    again = smtplib.SMTP('127.0.0.1', MX)
    show('again', 'greeted')
except smtplib.SMTPConnectError as e:
    show('again', e.smtp_code, e.smtp_error)
other = smtplib.SMTP('127.0.0.1', MX, source_address=('127.0.0.2', 0))
show('other', other.ehlo('client.test')[0])
"#,
    )
    .await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("codes [550, 550, 550, 550, 550, 550, 550, 550, 550, 550]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("after (421, b'4.7.0 Too many unknown recipients, closing connection')")
            || run.stdout.contains("after disconnected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("again 421 b'4.7.0 Too many unknown recipients from your address, try again later'"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("other 250"), "{}", run.stdout);
    // The tarpit: from the fourth RCPT on (three unknown before it) each waited one step
    // longer than the one before, 1+2+…+7 steps.
    let c = server.service.counters();
    assert_eq!((c.recipients_tarpitted, c.tarpit_delay_ms), (7, 28 * 50));
    server.stop().await;
}

/// The tarpit holds the reply back: three unknown recipients and a fourth RCPT pipelined in
/// one write; the three refusals come at once, the fourth reply is withheld while the
/// session waits (a step of an hour, so only shutdown can end the wait), and the session's
/// next words are the shutdown's 421, not a reply to the fourth RCPT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probing_tarpit_withholds_the_next_rcpt_reply() {
    let server = TestServer::with(|s| s.profile.probing.delay_step = Duration::from_secs(3600)).await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.test").await;
    assert!(w.cmd("MAIL FROM:<probe@remote.test>").await.starts_with("250"));
    w.send(b"RCPT TO:<g1@example.test>\r\nRCPT TO:<g2@example.test>\r\nRCPT TO:<g3@example.test>\r\nRCPT TO:<ann@example.test>\r\n")
        .await;
    for _ in 0..3 {
        let reply = w.reply().await;
        assert!(reply.starts_with("550 5.1.1"), "{reply}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.service.counters().recipients_tarpitted == 0 {
        assert!(std::time::Instant::now() < deadline, "the fourth RCPT never reached the tarpit");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.service.counters().tarpit_delay_ms, 3_600_000);
    let (reply, ()) = tokio::join!(w.reply(), server.service.shutdown(Duration::from_secs(5)));
    assert!(reply.starts_with("421 4.3.2"), "the fourth reply was not withheld: {reply}");
    server.spool.close();
}
