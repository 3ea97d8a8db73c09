//! What recording the message trace costs delivery into the mailboxes: `deliver_batch` of
//! spooled-size batches (64 messages of 4 KiB, one recipient each) on a database file,
//! with the trace (`KeyedMessage::trace` set, as the mail server does) and without, in
//! alternating rounds so both see the same machine load.
//!
//!     cargo bench -p postdesk-server --bench trace_delivery    # TRACE_DELIVERY_N=… messages per round
//!
//! A benchmark, not a test: it prints figures (see docs/BENCHMARKS.md).

use std::time::Instant;

use postdesk_contract::Backend;
use postdesk_contract::api::{CreateAccount, CreateDomain};
use postdesk_contract::mail::{KeyedMessage, TraceStart};
use postdesk_engine::Engine;

async fn run() {
    let n: usize = std::env::var("TRACE_DELIVERY_N").ok().and_then(|s| s.parse().ok()).unwrap_or(3_200);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    for i in 0..40 {
        b.create_account(CreateAccount { address: format!("user{i}@example.com"), ..Default::default() })
            .await
            .unwrap();
    }
    let body = "x".repeat(4000);
    let mut key = 0u64;
    let mut rates = [Vec::new(), Vec::new()];
    for round in 0..6 {
        let traced = round % 2 == 1;
        let t = Instant::now();
        for _ in 0..n / 64 {
            let batch: Vec<KeyedMessage> = (0..64)
                .map(|_| {
                    key += 1;
                    let to = format!("user{}@example.com", key % 40);
                    KeyedMessage {
                        filed: Vec::new(),
                        key: format!("smtp:{key:016X}"),
                        mailboxes: vec![to.clone()],
                        raw: format!("Message-ID: <{key}@remote.test>\r\nSubject: {key}\r\n\r\n{body}\r\n")
                            .into_bytes(),
                        folder: None,
                        outbound: None,
                        trace: traced.then(|| TraceStart {
                            at: time::OffsetDateTime::now_utc().unix_timestamp(),
                            client: "192.0.2.1".into(),
                            account: None,
                            sender: "someone@remote.test".into(),
                            recipients: vec![to],
                            message_id: Some(format!("{key}@remote.test")),
                            checks: "spf=pass dkim=none dmarc=pass".into(),
                            junk: None,
                        }),
                    }
                })
                .collect();
            engine.deliver_batch(batch).await.unwrap();
        }
        let rate = (n / 64 * 64) as f64 / t.elapsed().as_secs_f64();
        rates[usize::from(traced)].push(rate);
        println!(
            "round {round}: {} {rate:.0} messages/s",
            if traced { "with the trace   " } else { "without the trace" }
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "deliver_batch, 64 × 4 KiB per batch: without the trace {:.0} msg/s, with it {:.0} msg/s ({:+.1} %)",
        mean(&rates[0]),
        mean(&rates[1]),
        (mean(&rates[1]) / mean(&rates[0]) - 1.0) * 100.0
    );
    engine.close().await;
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
