//! The admin API under hostile clients, over real HTTP on loopback with a real engine:
//! a raw socket that sends headers and never the body, and curl. Bounds show as answers
//! (401 before any body, 413 past a route's limit), never as times.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;

use postdesk_engine::Engine;

/// The engine (with its first owner token) and the admin API on a free port.
async fn start() -> (Engine, SocketAddr, String) {
    start_with(postdesk_server::Timeouts::default()).await
}

/// [`start`] with chosen connection time-outs.
async fn start_with(timeouts: postdesk_server::Timeouts) -> (Engine, SocketAddr, String) {
    let engine = Engine::open_in_memory().await.unwrap();
    let token = engine.ensure_first_admin().await.unwrap().unwrap().token.secret;
    let tcp = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let router = postdesk_server::router(engine.clone());
    tokio::spawn(postdesk_server::serve_with(router, tcp, None, timeouts, std::future::pending()));
    (engine, addr, token)
}

/// Whether the server closes `s` (end of stream or reset) before `patience` — a bound for
/// a broken server, not a timing assertion — and what it sent before closing.
fn closed_by_server(s: &mut std::net::TcpStream, patience: std::time::Duration) -> (bool, String) {
    s.set_read_timeout(Some(patience)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (true, String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, String::from_utf8_lossy(&got).into_owned());
            }
            Err(_) => return (false, String::from_utf8_lossy(&got).into_owned()),
        }
    }
}

/// Sends `head` (request line and headers, no body) and returns what the server answers
/// while the announced body is still unsent.
fn answer_before_body(addr: SocketAddr, head: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    // Only so a broken server fails this test instead of hanging it.
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `curl -s -w '\n%{http_code}'` with `args`; (status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_checked_before_any_body_and_each_route_has_its_limit() {
    let (_engine, addr, token) = start().await;
    // No token, 50 MB announced, none sent: refused from the headers alone.
    let head = format!(
        "POST /api/domains HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
    );
    let answer = tokio::task::spawn_blocking(move || answer_before_body(addr, &head)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    assert!(answer.contains("missing API token"), "{answer:?}");

    let url = format!("http://{addr}/api/domains");
    let result = tokio::task::spawn_blocking(move || {
        // The scheme is case-insensitive (RFC 7235).
        let lower = format!("Authorization: bearer {token}");
        let upper = format!("Authorization: BEARER {token}");
        let listed = curl(&["-H", &lower, &url]);
        let created = curl(&[
            "-H",
            &upper,
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"domain":"example.com"}"#,
            &url,
        ]);
        // 100 KB to a route that takes 64 KiB: 413, nothing created.
        let padding = "x".repeat(100 * 1024);
        let big = format!(r#"{{"domain":"big.example","pad":"{padding}"}}"#);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.json");
        std::fs::write(&file, big).unwrap();
        let too_big = curl(&[
            "-H",
            &lower,
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", file.display()),
            &url,
        ]);
        let after = curl(&["-H", &lower, &url]);
        (listed, created, too_big, after)
    })
    .await
    .unwrap();
    let (listed, created, too_big, after) = result;
    assert_eq!(listed, (200, r#"{"items":[],"next":null}"#.to_string()));
    assert_eq!(created.0, 200, "{}", created.1);
    assert_eq!(too_big.0, 413, "{}", too_big.1);
    assert!(too_big.1.contains("over 65536 bytes"), "{}", too_big.1);
    assert!(after.1.contains("example.com") && !after.1.contains("big.example"), "{}", after.1);
}

/// One client holding its share of connections (idle, never sending a request) gets the
/// next one closed at once; another client's `/api/health` still answers, and the first
/// client is served again once it lets go.
#[tokio::test(flavor = "multi_thread")]
async fn one_client_cannot_take_every_connection() {
    let (_engine, addr, _token) = start().await;
    let share = postdesk_server::limits::MAX_PER_CLIENT as usize;
    let result = tokio::task::spawn_blocking(move || {
        let held: Vec<std::net::TcpStream> = (0..share).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        // Every held connection is really open: each answers a request.
        let mut probe = held.into_iter().collect::<Vec<_>>();
        for s in probe.iter_mut().take(1) {
            s.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        }
        let over = answer_before_body(addr, &format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
        let url = format!("http://{addr}/api/health");
        let other = curl(&["--interface", "127.0.0.2", &url]);
        drop(probe);
        // The held slots are given back as the server sees the connections close.
        let mut again = (0, String::new());
        for _ in 0..100 {
            again = curl(&[&url]);
            if again.0 == 200 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        (over, other, again)
    })
    .await
    .unwrap();
    let (over, other, again) = result;
    assert_eq!(over, "", "the connection past the client's share is closed unanswered");
    assert_eq!(other.0, 200, "{other:?}");
    assert_eq!(again.0, 200, "{again:?}");
}

/// A client that sends half a request header and stalls is disconnected after the header
/// time-out (lowered to 1 s here), and so is an idle keep-alive connection after its
/// answer; without the time-out both would be held for good.
#[tokio::test(flavor = "multi_thread")]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let timeouts = postdesk_server::Timeouts { header: std::time::Duration::from_secs(1), ..Default::default() };
    let (_engine, addr, _token) = start_with(timeouts).await;
    let result = tokio::task::spawn_blocking(move || {
        let patience = std::time::Duration::from_secs(30);
        let mut half = std::net::TcpStream::connect(addr).unwrap();
        half.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes()).unwrap();
        let half = closed_by_server(&mut half, patience);
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        idle.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
        let idle = closed_by_server(&mut idle, patience);
        (half, idle)
    })
    .await
    .unwrap();
    let (half, idle) = result;
    assert!(half.0, "a half-sent header kept its connection");
    assert!(!half.1.contains("200 OK"), "{:?}", half.1);
    assert!(idle.0, "an idle keep-alive connection was kept");
    assert!(idle.1.starts_with("HTTP/1.1 200"), "the request before the idle time was answered: {:?}", idle.1);
}

/// A flood of slow clients — each of ten addresses holding its whole share of connections
/// with a half-sent header — does not stop `/api/health` answering another client.
#[tokio::test(flavor = "multi_thread")]
async fn health_answers_during_a_flood_of_slow_clients() {
    use tokio::io::AsyncWriteExt;
    let (_engine, addr, _token) = start().await;
    let share = postdesk_server::limits::MAX_PER_CLIENT as usize;
    let mut slow = Vec::new();
    for n in 10..20 {
        for _ in 0..share {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from(([127, 0, 0, n], 0))).unwrap();
            let mut s = socket.connect(addr).await.unwrap();
            s.write_all(b"GET /api/health HTTP/1.1\r\nX-Slow: ").await.unwrap();
            slow.push(s);
        }
    }
    let url = format!("http://{addr}/api/health");
    let health = tokio::task::spawn_blocking(move || curl(&["--interface", "127.0.0.2", "--max-time", "20", &url]))
        .await
        .unwrap();
    assert_eq!(health.0, 200, "{health:?}");
    drop(slow);
}

/// A body over the route's limit is answered 413 with `Connection: close`, and the server
/// then closes: a client that keeps streaming the 50 MB it announced gets its connection
/// reset (or its pipe broken), not drained nor left hanging.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused_and_the_connection_closed() {
    let (_engine, addr, token) = start().await;
    let result = tokio::task::spawn_blocking(move || {
        let listing = format!("Authorization: Bearer {token}");
        let url = format!("http://{addr}/api/domains");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        // Only so a broken server fails this test instead of hanging it.
        s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        s.set_write_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let head = format!(
            "POST /api/domains HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{{\"domain\":\"big.example\",\"pad\":\""
        );
        s.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        s.write_all(&chunk).unwrap();
        s.write_all(&chunk).unwrap();
        // The answer: read up to the end of its JSON body.
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.ends_with(b"}") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        // Keep streaming the announced body: the closed connection refuses it.
        let mut sent = 2 * chunk.len();
        let refused = loop {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) => break Some(e.kind()),
            }
            if sent >= 50_000_000 {
                break None;
            }
        };
        let domains = curl(&["-H", &listing, &url]);
        (String::from_utf8_lossy(&answer).into_owned(), refused, sent, domains)
    })
    .await
    .unwrap();
    let (answer, refused, sent, domains) = result;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{answer:?}");
    assert!(answer.contains("over 65536 bytes"), "{answer:?}");
    assert!(
        matches!(refused, Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)),
        "the server went on taking the body: {refused:?} after {sent} bytes"
    );
    assert_eq!(domains, (200, r#"{"items":[],"next":null}"#.to_string()), "nothing created");
}

/// A client that asks for responses and never reads them is dropped once a write makes no
/// progress for the write time-out (lowered to 1 s here): it holds every connection its
/// address may open but one, the stalled one; once the server drops that, the same address
/// gets `/api/health` again. Without the time-out the stalled connection is kept for good.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_dropped() {
    let timeouts = postdesk_server::Timeouts {
        write: std::time::Duration::from_secs(1),
        header: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    let (_engine, addr, _token) = start_with(timeouts).await;
    let share = postdesk_server::limits::MAX_PER_CLIENT as usize;
    // A small receive buffer so the server's writes stall soon; thousands of pipelined
    // requests for the OpenAPI document, never read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stalled = socket.connect(addr).await.unwrap().into_std().unwrap();
    stalled.set_nonblocking(false).unwrap();
    let result = tokio::task::spawn_blocking(move || {
        let mut stalled = stalled;
        let held: Vec<std::net::TcpStream> = (1..share).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        let request = format!("GET /api/openapi.json HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stalled.set_write_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        for _ in 0..2000 {
            if stalled.write_all(request.as_bytes()).is_err() {
                break;
            }
        }
        // Every slot of this address is taken until the server drops the stalled one.
        let health = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut answer = String::new();
        while std::time::Instant::now() < deadline {
            answer = answer_before_body(addr, &health);
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        drop(held);
        answer
    })
    .await
    .unwrap();
    assert!(result.starts_with("HTTP/1.1 200"), "the stalled connection was kept: {result:?}");
}
