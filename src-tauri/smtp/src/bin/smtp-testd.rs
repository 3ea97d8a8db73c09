//! A small SMTP daemon over the real file spool and an in-memory directory, for the crash
//! test and manual experiments (not for production: the engine wires the real service).
//!
//! ```text
//! smtp-testd --spool DIR [--mx 127.0.0.1:2525] [--submission ADDR] [--submissions ADDR]
//!            [--domain example.test]... [--user ann@example.test:secret]...
//! ```
//!
//! Domains are catch-all (every local part is accepted). Prints one line
//! `READY mx=ADDR submission=ADDR submissions=ADDR` once all listeners are bound, and
//! `RECOVERED <messages> <torn bytes>` before it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use postdesk_smtp::store::SpoolOptions;
use postdesk_smtp::{FileSpool, ListenerKind, MemoryDirectory, SmtpProfile, SmtpService, TlsIdentity};

struct Args {
    spool: PathBuf,
    listeners: Vec<(ListenerKind, SocketAddr)>,
    domains: Vec<String>,
    users: Vec<(String, String)>,
}

fn usage(why: &str) -> ! {
    eprintln!("smtp-testd: {why}");
    eprintln!(
        "usage: smtp-testd --spool DIR [--mx ADDR] [--submission ADDR] [--submissions ADDR] [--domain D]... [--user ADDR:PASSWORD]..."
    );
    std::process::exit(2)
}

fn parse() -> Args {
    let mut args = std::env::args().skip(1);
    let mut spool = None;
    let mut listeners = Vec::new();
    let mut domains = Vec::new();
    let mut users = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let addr = |v: String| v.parse::<SocketAddr>().unwrap_or_else(|_| usage(&format!("bad address {v}")));
        match flag.as_str() {
            "--spool" => spool = Some(PathBuf::from(value())),
            "--mx" => listeners.push((ListenerKind::Mx, addr(value()))),
            "--submission" => listeners.push((ListenerKind::Submission, addr(value()))),
            "--submissions" => listeners.push((ListenerKind::Submissions, addr(value()))),
            "--domain" => domains.push(value()),
            "--user" => {
                let v = value();
                let (user, password) = v.split_once(':').unwrap_or_else(|| usage("--user wants ADDRESS:PASSWORD"));
                users.push((user.to_string(), password.to_string()));
            }
            other => usage(&format!("unknown option {other}")),
        }
    }
    if listeners.is_empty() {
        listeners.push((ListenerKind::Mx, SocketAddr::from(([127, 0, 0, 1], ListenerKind::Mx.default_port()))));
    }
    if domains.is_empty() {
        domains.push("example.test".into());
    }
    Args { spool: spool.unwrap_or_else(|| usage("--spool is required")), listeners, domains, users }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = parse();
    let (spool, recovery) = FileSpool::open(&args.spool, SpoolOptions::default())?;
    println!("RECOVERED {} {}", recovery.messages, recovery.torn_bytes);
    let spool = Arc::new(spool);
    let mut directory = MemoryDirectory::new();
    for d in &args.domains {
        directory = directory.catch_all_domain(d);
    }
    for (user, password) in &args.users {
        directory = directory.account(user, password);
    }
    let profile = SmtpProfile { hostname: "mx.postdesk.test".into(), ..SmtpProfile::default() };
    let identity = TlsIdentity::load_or_create(&args.spool, &["localhost".into(), "127.0.0.1".into()])?;
    let service = SmtpService::builder(profile, Arc::new(directory), spool.clone()).tls(identity).build()?;
    let mut ready = String::from("READY");
    for (kind, addr) in &args.listeners {
        let bound = service.listen(*kind, *addr).await?;
        ready.push_str(&format!(" {}={bound}", kind.name()));
    }
    println!("{ready}");
    tokio::signal::ctrl_c().await?;
    service.shutdown(Duration::from_secs(10)).await;
    spool.close();
    Ok(())
}
