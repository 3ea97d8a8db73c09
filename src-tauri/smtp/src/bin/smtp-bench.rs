//! Benchmark: accepted messages per second and acceptance latency of the SMTP service on
//! the real fsync'ing spool, loaded with Postfix's `smtp-source`; optionally the same
//! against another server (a local Postfix) for comparison.
//!
//! ```text
//! smtp-bench [--messages 20000] [--sessions 50] [--size 4096] [--spool DIR]
//!            [--compare NAME=HOST:PORT]... [--no-builtin] [--baseline NAME]
//! ```
//!
//! `--no-builtin` measures only the `--compare` servers (e.g. a running `postdesk serve`
//! and a Postfix: `src-tauri/mailserver/bench/wired.sh`); `--baseline NAME` prints every
//! server's rate divided by NAME's.
//!
//! Rate: messages / wall time of the smtp-source run (each message answered 250 only once
//! fsync'd). Latency: a probe connection sends one message after another during the run
//! and times end of DATA (`CRLF.CRLF` sent) → 250 received; the same probe runs against
//! every server, so the figures compare. For Postdesk the server-side histogram is shown
//! too. Needs `smtp-source` (Debian package postfix).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use postdesk_smtp::store::SpoolOptions;
use postdesk_smtp::{FileSpool, ListenerKind, MemoryDirectory, SmtpProfile, SmtpService};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    messages: usize,
    sessions: usize,
    size: usize,
    spool: PathBuf,
    compare: Vec<(String, SocketAddr)>,
    builtin: bool,
    baseline: Option<String>,
}

fn parse() -> Args {
    let mut a = Args {
        messages: 20_000,
        sessions: 50,
        size: 4096,
        spool: std::env::temp_dir().join("postdesk-smtp-bench"),
        compare: Vec::new(),
        builtin: true,
        baseline: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-builtin" {
            a.builtin = false;
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => a.messages = value.parse().expect("--messages N"),
            "--sessions" => a.sessions = value.parse().expect("--sessions N"),
            "--size" => a.size = value.parse().expect("--size BYTES"),
            "--spool" => a.spool = value.into(),
            "--baseline" => a.baseline = Some(value),
            "--compare" => {
                let (name, addr) = value.split_once('=').expect("--compare NAME=HOST:PORT");
                a.compare.push((name.to_string(), addr.parse().expect("HOST:PORT")));
            }
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// Sends messages one at a time until `stop`, timing end of DATA → 250.
async fn probe(addr: SocketAddr, size: usize, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut samples = Vec::new();
    let body = format!("Subject: probe\r\n\r\n{}\r\n", "x".repeat(size.saturating_sub(24).max(1)));
    let Ok(tcp) = TcpStream::connect(addr).await else { return samples };
    let _ = tcp.set_nodelay(true);
    let mut io = BufReader::new(tcp);
    async fn reply(io: &mut BufReader<TcpStream>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if io.read_line(&mut line).await.unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }
    reply(&mut io).await;
    let _ = io.get_mut().write_all(b"EHLO probe.test\r\n").await;
    reply(&mut io).await;
    while !stop.load(Ordering::Relaxed) {
        for command in ["MAIL FROM:<probe@remote.test>\r\n", "RCPT TO:<probe@example.test>\r\n", "DATA\r\n"] {
            let _ = io.get_mut().write_all(command.as_bytes()).await;
            reply(&mut io).await;
        }
        let _ = io.get_mut().write_all(body.as_bytes()).await;
        let start = Instant::now();
        let _ = io.get_mut().write_all(b".\r\n").await;
        let r = reply(&mut io).await;
        if r.starts_with("250") {
            samples.push(start.elapsed());
        } else {
            eprintln!("probe: {r:?}");
            break;
        }
    }
    let _ = io.get_mut().write_all(b"QUIT\r\n").await;
    samples
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    samples: usize,
}

async fn load(name: &str, addr: SocketAddr, args: &Args) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(addr, args.size, stop.clone()));
    let mut cmd = Command::new("smtp-source");
    cmd.args(["-s", &args.sessions.to_string(), "-l", &args.size.to_string(), "-m", &args.messages.to_string()])
        .args(["-f", "bench@remote.test", "-t", "rcpt@example.test", "-M", "bench.test", "-d"])
        .arg(format!("{}:{}", addr.ip(), addr.port()));
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || cmd.status()).await.expect("join");
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut samples = prober.await.expect("probe");
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("smtp-source against {name} failed: {s}"),
        Err(e) => panic!("cannot run smtp-source ({e}); install the Debian package postfix"),
    }
    samples.sort_unstable();
    Figures {
        rate: args.messages as f64 / elapsed.as_secs_f64(),
        p50: quantile(&samples, 0.50),
        p99: quantile(&samples, 0.99),
        samples: samples.len(),
    }
}

/// The protocol service alone (in-process, memory directory, the real spool).
async fn builtin(args: &Args) -> Figures {
    let _ = std::fs::remove_dir_all(&args.spool);
    let (spool, _) = FileSpool::open(&args.spool, SpoolOptions::default()).expect("open spool");
    let spool = Arc::new(spool);
    let directory = MemoryDirectory::new().catch_all_domain("example.test");
    // Every bench session comes from 127.0.0.1: no per-address share (20 by default).
    let mut profile =
        SmtpProfile { hostname: "bench.postdesk.test".into(), max_connections: 4096, ..Default::default() };
    profile.connection.max_connections_per_ip = None;
    let service = SmtpService::builder(profile, Arc::new(directory), spool.clone()).build().expect("service");
    let addr = service.listen(ListenerKind::Mx, "127.0.0.1:0".parse().unwrap()).await.expect("listen");
    let ours = load("postdesk", addr, args).await;
    let counters = service.counters();
    let commits = spool.commit_stats();
    println!(
        "postdesk: {:.0} msg/s accepted; probe latency p50 {:.2} ms, p99 {:.2} ms ({} samples); \
         server-side p50 {:.2} ms, p99 {:.2} ms; {} accepted, {} fsync batches (avg {:.1} msg/batch)",
        ours.rate,
        ours.p50,
        ours.p99,
        ours.samples,
        counters.accept_latency_p50_ms,
        counters.accept_latency_p99_ms,
        counters.messages_accepted,
        commits.batches,
        commits.messages as f64 / commits.batches.max(1) as f64,
    );
    service.shutdown(Duration::from_secs(5)).await;
    spool.close();
    ours
}

fn main() {
    let args = parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!(
            "{} messages of {} bytes over {} sessions (smtp-source), spool {}",
            args.messages,
            args.size,
            args.sessions,
            args.spool.display()
        );
        let mut rates = Vec::new();
        if args.builtin {
            rates.push(("postdesk".to_string(), builtin(&args).await.rate));
        }
        for (name, addr) in &args.compare {
            let theirs = load(name, *addr, &args).await;
            println!(
                "{name}: {:.0} msg/s accepted; probe latency p50 {:.2} ms, p99 {:.2} ms ({} samples)",
                theirs.rate, theirs.p50, theirs.p99, theirs.samples,
            );
            rates.push((name.clone(), theirs.rate));
        }
        let baseline = args.baseline.clone().or_else(|| rates.last().map(|(n, _)| n.clone()));
        if let Some(base) = baseline.and_then(|b| rates.iter().find(|(n, _)| *n == b).cloned()) {
            for (name, rate) in rates.iter().filter(|(n, _)| *n != base.0) {
                println!("ratio {name}/{} = {:.2}x", base.0, rate / base.1);
            }
        }
    });
}
