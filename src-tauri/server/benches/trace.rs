//! The message trace at scale, through the admin HTTP API: a trace of `TRACE_BENCH_N`
//! messages (default 1,000,000) spread over the last 30 days — 5,000 senders outside,
//! 20,000 recipients at example.com, one busy address receiving 1 % of all mail — then
//! searches timed as a client of `GET /api/trace` sees them (loopback, plain HTTP) and
//! in-process (the engine alone): one address's messages of the last week (first page of
//! 50; the busy address also page 10), a domain's last day, a Message-ID miss.
//!
//!     cargo bench -p postdesk-server --bench trace            # TRACE_BENCH_N=… to change N
//!
//! A benchmark, not a test: it prints figures (see docs/BENCHMARKS.md).

use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::ListMessageTrace;
use postdesk_contract::mail::TracedRefusal;
use postdesk_engine::Engine;

const DAY: i64 = 24 * 3600;

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.2} ms, p90 {:.2} ms, max {:.2} ms ({} runs)",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 9 / 10]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

async fn run() {
    let n: usize = std::env::var("TRACE_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let token = engine.ensure_first_admin().await.unwrap().unwrap().token.secret;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Fill: batches of 10,000 per transaction, oldest first, as they would have arrived.
    let t = Instant::now();
    let mut i = 0usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    while i < n {
        let batch: Vec<TracedRefusal> = (i..(i + 10_000).min(n))
            .map(|k| {
                let r = next();
                let to = if r % 100 == 0 {
                    "busy@example.com".to_string()
                } else {
                    format!("user{}@example.com", r % 20_000)
                };
                TracedRefusal {
                    at: now - 30 * DAY + (k as i64 * 30 * DAY) / n as i64,
                    client: format!("192.0.2.{}", r % 250),
                    account: None,
                    sender: format!("sender{}@remote{}.test", (r >> 20) % 5_000, (r >> 40) % 50),
                    recipients: vec![to],
                    rule: "unknown_recipient".into(),
                    reply: "550 5.1.1 <x>: Recipient address rejected: user unknown".into(),
                    discarded: false,
                }
            })
            .collect();
        i += batch.len();
        engine.record_refusals(batch).await.unwrap();
    }
    println!("filled {n} trace records in {:.1} s", t.elapsed().as_secs_f64());

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let router = postdesk_server::router(engine.clone());
    tokio::spawn(postdesk_server::serve_with(router, tcp, None, Default::default(), std::future::pending()));
    let http = reqwest::Client::new();
    let week = time::OffsetDateTime::from_unix_timestamp(now - 7 * DAY).unwrap();
    let week = week.format(&time::format_description::well_known::Rfc3339).unwrap();
    let day = time::OffsetDateTime::from_unix_timestamp(now - DAY).unwrap();
    let day = day.format(&time::format_description::well_known::Rfc3339).unwrap();
    let backend = engine.local_backend();
    let cases: Vec<(&str, ListMessageTrace)> = vec![
        (
            "one address, last week, page 1 of 50",
            ListMessageTrace {
                address: Some("user4242@example.com".into()),
                since: Some(week.clone()),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "busy address (1 %), last week, page 1 of 50",
            ListMessageTrace {
                address: Some("busy@example.com".into()),
                since: Some(week.clone()),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "a sender, last week, page 1 of 50",
            ListMessageTrace {
                address: Some("sender17@remote3.test".into()),
                since: Some(week.clone()),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "domain example.com, last day, page 1 of 50",
            ListMessageTrace {
                domain: Some("example.com".into()),
                since: Some(day),
                limit: Some(50),
                ..Default::default()
            },
        ),
        ("Message-ID not there", ListMessageTrace { message_id: Some("nothing@nowhere".into()), ..Default::default() }),
        ("everything, newest page of 50", ListMessageTrace { limit: Some(50), ..Default::default() }),
    ];
    for (name, p) in cases {
        // Page 1, and for the busy address page 10 through the cursor.
        let mut api = Vec::new();
        let mut inproc = Vec::new();
        let mut found = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let page = backend.list_message_trace(p.clone()).await.unwrap();
            inproc.push(t.elapsed());
            found = page.items.len();
            let query = serde_urlencoded::to_string(&p).unwrap();
            let t = Instant::now();
            let r = http.get(format!("http://{addr}/api/trace?{query}")).bearer_auth(&token).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            let _ = r.bytes().await.unwrap();
            api.push(t.elapsed());
        }
        println!("{name} ({found} found): HTTP {}; engine {}", stats(api), stats(inproc));
    }
    let mut p = ListMessageTrace {
        address: Some("busy@example.com".into()),
        since: Some(week),
        limit: Some(50),
        ..Default::default()
    };
    for _ in 0..9 {
        p.after = backend.list_message_trace(p.clone()).await.unwrap().next;
    }
    let mut api = Vec::new();
    for _ in 0..20 {
        let query = serde_urlencoded::to_string(&p).unwrap();
        let t = Instant::now();
        let r = http.get(format!("http://{addr}/api/trace?{query}")).bearer_auth(&token).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        api.push(t.elapsed());
    }
    println!("busy address, last week, page 10 of 50 (cursor): HTTP {}", stats(api));
    let size = std::fs::metadata(dir.path().join("postdesk.db")).map(|m| m.len()).unwrap_or(0);
    println!("database file: {:.0} MB", size as f64 / 1e6);
    engine.close().await;
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
