//! Organisation benchmark (not a test): creating 100,000 accounts in one domain, moving a
//! department of 10,000 accounts. (Listing them: the server's `accounts` bench.)
//! Runs on an on-disk database with the production settings (WAL, synchronous=FULL).
//!
//! `cargo bench -p postdesk-core --bench organisation` (POSTDESK_BENCH_ACCOUNTS to scale).

use std::time::{Duration, Instant};

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_engine::Engine;

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:>8.2} ms  p99 {:>8.2} ms  (n={})",
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        samples.len()
    )
}

fn account(i: usize, department: &str) -> CreateAccount {
    CreateAccount {
        address: format!("user{i:06}@bench.example"),
        display_name: Some(format!("User {i} {}", ["Lee", "Ng", "Smith", "García", "Müller"][i % 5])),
        department: Some(department.to_string()),
        notes: None,
        password: None,
        force_password_change: None,
        quota_mb: None,
    }
}

async fn run() {
    let total: usize = std::env::var("POSTDESK_BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    let limits = PlanLimits { max_accounts: (total + 10_000) as u32, ..PlanLimits::default() };
    b.create_domain(CreateDomain { domain: "bench.example".into(), limits: Some(limits), group: None }).await.unwrap();
    let departments = ["Big/Team", "Sales/East", "Sales/West", "Support", "Ops/Night"];
    for d in departments.iter().chain(&["Archive"]) {
        b.create_department(CreateDepartment {
            domain: "bench.example".into(),
            path: d.to_string(),
            parents: Some(true),
        })
        .await
        .unwrap();
    }
    println!("Postdesk organisation benchmark — {total} accounts, SQLite WAL synchronous=FULL on disk\n");

    // 1. Creating the accounts: batches of 10,000, each one durable transaction.
    let started = Instant::now();
    let mut i = 0;
    while i < total {
        let n = (total - i).min(10_000);
        // The first 10,000 go to Big/Team (moved below); the rest spread over the others.
        let rows =
            (i..i + n).map(|k| account(k, if k < 10_000 { departments[0] } else { departments[1 + k % 4] })).collect();
        b.create_accounts(CreateAccounts { domain: "bench.example".into(), accounts: rows }).await.unwrap();
        i += n;
    }
    let elapsed = started.elapsed();
    println!(
        "create {total} accounts (batches of 10,000):  {:>8.2} s   {:>9.0} accounts/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    // …and one at a time, each its own durable transaction with its audit entry.
    let mut single = Vec::new();
    for k in 0..500 {
        let t = Instant::now();
        b.create_account(account(total + k, "Support")).await.unwrap();
        single.push(t.elapsed());
    }
    println!("create_account, one per transaction:        {}", stats(single));

    // Listing pages of this domain: `cargo bench -p postdesk-server --bench accounts` (through
    // the HTTP API and in-process).

    // 2. Moving a department holding 10,000 accounts, back and forth.
    let mut moves = Vec::new();
    for k in 0..20 {
        let (path, to) = if k % 2 == 0 { ("Big/Team", Some("Archive")) } else { ("Archive/Team", Some("Big")) };
        let t = Instant::now();
        let d = b
            .move_department(MoveDepartment {
                domain: "bench.example".into(),
                path: path.into(),
                new_parent: to.map(String::from),
            })
            .await
            .unwrap();
        moves.push(t.elapsed());
        assert_eq!(d.total_accounts as usize, total.min(10_000));
    }
    println!("move a department of {} accounts:        {}", total.min(10_000), stats(moves));
    engine.close().await;
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
