//! A hostile-client fuzz of the whole session (command parser, SASL, DATA and BDAT
//! framing, limits): many connections of seeded random input made of SMTP words, random
//! bytes, long lines and literal sizes. Every connection must end (the server answers or
//! closes; nothing hangs), and afterwards the server still takes a message from a normal
//! client. `SMTP_FUZZ_SESSIONS` sets the count (default 400) and `SMTP_FUZZ_SEED` the seed;
//! longer runs are quoted in docs/BENCHMARKS.md, "Fuzzing".

use crate::support;

use std::time::Duration;

use support::{TestServer, Wire, queue_id};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// xorshift64*: the same sessions on every run for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "EHLO x.test",
    "HELO",
    "MAIL FROM:<a@remote.test>",
    "MAIL FROM:<>",
    "MAIL FROM:<a@b> SIZE=99999999999",
    "MAIL FROM:<a@b> BODY=BINARYMIME SMTPUTF8",
    "RCPT TO:<ann@example.test>",
    "RCPT TO:<nobody@example.test>",
    "RCPT TO:<\"quoted local\"@example.test>",
    "RCPT TO:<@route:ann@example.test>",
    "DATA",
    "BDAT 5",
    "BDAT 0 LAST",
    "BDAT 18446744073709551615",
    "RSET",
    "NOOP",
    "VRFY ann",
    "EXPN list",
    "HELP",
    "STARTTLS",
    "AUTH PLAIN",
    "AUTH PLAIN AGFubkBleGFtcGxlLnRlc3QAeA==",
    "AUTH LOGIN",
    "AUTH XOAUTH2 =",
    "*",
    "=",
    "QUIT",
    ".",
    "..",
    "",
    "\u{0}",
    "\u{ff}",
    "MAIL FROM:<ä@ü.test>",
    "RCPT TO:<ann@example.test> NOTIFY=SUCCESS ORCPT=rfc822;x",
];

fn session(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(30) + 1 {
        match rng.below(10) {
            0 => {
                let n = rng.below(200);
                out.extend((0..n).map(|_| rng.next() as u8));
            }
            1 => out.extend(std::iter::repeat_n(b'A', rng.below(5000))),
            2 => out.extend_from_slice(b"\r\n.\r\n"),
            3 => out.extend_from_slice(format!("BDAT {}\r\n", rng.below(100)).as_bytes()),
            _ => out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
        }
        out.extend_from_slice(if rng.below(8) == 0 { b"\n" } else { b"\r\n" });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sessions_never_hang_or_break_the_server() {
    let sessions: usize = std::env::var("SMTP_FUZZ_SESSIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(400);
    // A panic in a session task would only drop its connection: count them.
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        default_hook(info);
    }));
    let server = TestServer::start().await;
    // `SMTP_FUZZ_SEED` picks other sessions (the default is the one CI runs).
    let seed = std::env::var("SMTP_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x005e_ed0f_5afe);
    eprintln!("{sessions} sessions, seed {seed}");
    let mut rng = Rng(seed);
    let (mut answered, mut replies) = (0, 0);
    for i in 0..sessions {
        let input = session(&mut rng);
        // Spread over loopback sources: the probing penalty of one does not silence the rest.
        let source = std::net::SocketAddr::new(format!("127.0.1.{}", 1 + i % 250).parse().unwrap(), 0);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(source).unwrap();
        let mut tcp = socket.connect(server.mx).await.unwrap();
        // The server may close before everything is written: that is an answer too.
        let _ = tcp.write_all(&input).await;
        let _ = tcp.shutdown().await;
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(60), tcp.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "session {i} did not end: {:?}", String::from_utf8_lossy(&input));
        let text = String::from_utf8_lossy(&rest);
        answered += usize::from(text.lines().count() > 1);
        replies += text.lines().count();
    }
    println!("{sessions} sessions, {replies} reply lines; {answered} went past the greeting");
    assert_eq!(PANICS.load(std::sync::atomic::Ordering::SeqCst), 0, "a session panicked");
    // The input reached the parser: most sessions got more than the greeting.
    assert!(answered * 2 > sessions, "only {answered} of {sessions} sessions were answered");
    // A normal client is still served.
    let (mut w, greeting) = Wire::open_from(server.mx, "127.0.0.1".parse().unwrap()).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(w.cmd("EHLO client.test").await.starts_with("250"));
    assert!(w.cmd("MAIL FROM:<a@remote.test>").await.starts_with("250"));
    assert!(w.cmd("RCPT TO:<ann@example.test>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    w.send(b"Subject: after the fuzz\r\n\r\nstill here\r\n.\r\n").await;
    let done = w.reply().await;
    assert!(server.stored(queue_id(&done)).message.ends_with(b"still here\r\n"), "{done}");
    server.stop().await;
}
