//! Mailbox-management benchmark (not a test): importing 5000 accounts from an XLSX file
//! without and with passwords, the time of one Argon2id hash (so the import with passwords
//! can be compared with its lower bound, 5000 × hash / cores), and exporting 100,000
//! accounts. On-disk database with the production settings (WAL, synchronous=FULL).
//!
//! `cargo bench -p postdesk-core --bench mailbox`
//! (POSTDESK_BENCH_IMPORT_ROWS, POSTDESK_BENCH_EXPORT_ACCOUNTS to scale).

use std::time::{Duration, Instant};

use base64::Engine as _;
use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_engine::{Engine, LocalBackend};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `n` single Argon2id hashes (the OWASP parameters the engine uses).
fn hash_samples(n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            postdesk_engine::password::hash(&format!("Bench pass {i}")).unwrap();
            t.elapsed()
        })
        .collect()
}

/// The machine's load, for reading the figures (a shared machine skews them).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "unknown".into(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// An import file of `rows` accounts in `domain`, with passwords or without.
fn import_file(domain: &str, rows: usize, passwords: bool) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in postdesk_xlsx::COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let departments = ["Sales/East", "Sales/West", "Support", "Ops/Night"];
    for i in 0..rows {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, format!("user{i:05}@{domain}")).unwrap();
        sheet.write_string(r, 1, format!("User {i}")).unwrap();
        sheet.write_string(r, 2, departments[i % departments.len()]).unwrap();
        if passwords {
            sheet.write_string(r, 3, format!("Bench pass {i}")).unwrap();
        }
        sheet.write_string(r, 4, "imported by the benchmark").unwrap();
    }
    book.save_to_buffer().unwrap()
}

async fn domain(b: &LocalBackend, name: &str, max_accounts: usize) {
    let limits = PlanLimits { max_accounts: max_accounts as u32, ..PlanLimits::default() };
    b.create_domain(CreateDomain { domain: name.into(), limits: Some(limits), group: None }).await.unwrap();
}

/// Imports a file; returns (time until the job started = the whole check, total time).
async fn import(b: &LocalBackend, domain: &str, bytes: &[u8]) -> (Duration, Duration) {
    let start = Instant::now();
    let job = b
        .start_import(StartImport {
            domain: domain.into(),
            file_name: "bench.xlsx".into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            force_password_change: None,
        })
        .await
        .unwrap();
    let checked = start.elapsed();
    loop {
        let status = b.import_status(ImportStatus { id: job.id.clone() }).await.unwrap();
        match status.phase {
            ImportPhase::Done => return (checked, start.elapsed()),
            ImportPhase::Failed => panic!("import failed: {:?}", status.error),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn run() {
    let rows = env("POSTDESK_BENCH_IMPORT_ROWS", 5000);
    let exported = env("POSTDESK_BENCH_EXPORT_ACCOUNTS", 100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    println!("mailbox benchmark: {cores} cores, on-disk SQLite (WAL, synchronous=FULL), load average {}", load());

    // Import without passwords: three fresh domains.
    let mut checks = Vec::new();
    let mut totals = Vec::new();
    for run in 0..3 {
        let name = format!("plain{run}.example");
        domain(&b, &name, rows).await;
        let file = import_file(&name, rows, false);
        let (checked, total) = import(&b, &name, &file).await;
        checks.push(checked);
        totals.push(total);
        if run == 0 {
            println!("  import file of {rows} rows: {} KiB", file.len() / 1024);
        }
    }
    println!(
        "import {rows} rows, no passwords:   median {} (checking the file {}), n=3",
        secs(median(totals)),
        secs(median(checks))
    );

    // One Argon2id hash, timed before and after the import with passwords.
    let mut hashes = hash_samples(20);

    // Import with a password on every row: one run (it is the slow one).
    domain(&b, "hashed.example", rows).await;
    let file = import_file("hashed.example", rows, true);
    let (checked, total) = import(&b, "hashed.example", &file).await;
    hashes.extend(hash_samples(20));
    let fastest = *hashes.iter().min().unwrap();
    let typical = median(hashes);
    println!(
        "one Argon2id hash (m=19 MiB, t=2, p=1): median {:.1} ms, fastest {:.1} ms, n=40",
        typical.as_secs_f64() * 1e3,
        fastest.as_secs_f64() * 1e3
    );
    println!("import {rows} rows, all with passwords: {} (checking the file {}), n=1", secs(total), secs(checked));
    for (what, hash) in [("median", typical), ("fastest", fastest)] {
        let bound = hash.mul_f64(rows as f64 / cores as f64);
        println!(
            "  lower bound {rows} × {what} hash / {cores} cores = {}; measured / bound = {:.2}",
            secs(bound),
            total.as_secs_f64() / bound.as_secs_f64()
        );
    }

    // Export of a domain of `exported` accounts.
    domain(&b, "export.example", exported).await;
    let mut made = 0;
    while made < exported {
        let n = (exported - made).min(10_000);
        let accounts = (made..made + n)
            .map(|i| CreateAccount {
                address: format!("user{i:06}@export.example"),
                display_name: Some(format!("User {i}")),
                department: None,
                notes: Some("=formula-looking note".into()),
                password: None,
                force_password_change: None,
                quota_mb: None,
            })
            .collect();
        b.create_accounts(CreateAccounts { domain: "export.example".into(), accounts }).await.unwrap();
        made += n;
    }
    let mut samples = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let file = b
            .export_accounts(ExportAccounts {
                domain: "export.example".into(),
                query: None,
                department: None,
                subdepartments: None,
                status: None,
                sort: None,
                descending: None,
            })
            .await
            .unwrap();
        samples.push(t.elapsed());
        assert_eq!(file.rows as usize, exported);
        size = file.content_base64.len() * 3 / 4;
    }
    println!("export {exported} accounts: median {} ({} KiB XLSX), n=3", secs(median(samples)), size / 1024);
    println!("load average at the end: {}", load());
    engine.close().await;
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
