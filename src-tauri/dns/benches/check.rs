//! Time to check 1, 20 and 500 domains against a loopback knotd serving a generated zone
//! (`cargo bench -p postdesk-dns --bench check`). Prints figures; asserts nothing about time.
//! Under `cargo test --benches` (no `--bench` argument) it only checks one domain.

#[path = "../tests/support/knot.rs"]
mod knot;

use std::time::Instant;

use postdesk_dns::{CheckOptions, DkimAlgorithm, HickoryLookup, check_domains, generate_dkim_key};

const DOMAINS: usize = 500;

fn zone(dkim_value: &str) -> String {
    let mut z = String::from(
        "$ORIGIN bench.\n$TTL 300\n\
         @ SOA ns.bench. hostmaster.bench. 1 3600 600 86400 300\n\
         @ NS ns.bench.\nns A 127.0.0.1\n",
    );
    let dkim = postdesk_dns_quote(dkim_value);
    for i in 0..DOMAINS {
        let d = format!("d{i:03}");
        let (a, b) = (i / 250, i % 250 + 1);
        z.push_str(&format!(
            "{d} MX 10 mx.{d}.bench.\n\
             mx.{d} A 198.18.{a}.{b}\n\
             mx.{d} AAAA 2001:db8::{i:x}\n\
             {d} TXT \"v=spf1 mx include:_spf.{d}.bench -all\"\n\
             _spf.{d} TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\"\n\
             postdesk._domainkey.{d} TXT {dkim}\n\
             _dmarc.{d} TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{d}.bench\"\n\
             _mta-sts.{d} TXT \"v=STSv1; id=2026010100\"\n\
             _smtp._tls.{d} TXT \"v=TLSRPTv1; rua=mailto:tls@{d}.bench\"\n\
             login.{d} CNAME app.provider.bench.\n"
        ));
    }
    z.push_str("app.provider A 192.0.2.1\n");
    z
}

/// Splits a TXT value into quoted 255-byte strings.
fn postdesk_dns_quote(value: &str) -> String {
    value.as_bytes().chunks(255).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

#[tokio::main]
async fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let key = generate_dkim_key(DkimAlgorithm::Rsa2048, "postdesk", "bench.bench").expect("generate a DKIM key");
    let dir = tempfile::tempdir().expect("temp dir");
    let zone_path = dir.path().join("bench.zone");
    std::fs::write(&zone_path, zone(&key.record_value)).expect("write zone");
    let server = knot::Knot::start(&[("bench.", zone_path.as_path())]);

    let options = CheckOptions {
        dkim_selectors: vec![],
        expect_cnames: vec!["login=app.provider.bench".parse().expect("HOST=TARGET")],
        expected_mx: None,
        server_ip: Some("192.0.2.7".parse().expect("IP")),
    };
    let all: Vec<String> = (0..DOMAINS).map(|i| format!("d{i:03}.bench")).collect();
    let sizes: &[usize] = if bench_mode { &[1, 20, 500] } else { &[1] };
    let concurrency = postdesk_dns::DEFAULT_CONCURRENCY;

    println!("postdesk-dns check benchmark: knotd on {}, concurrency {concurrency}", server.addr);
    println!("{:>8} {:>10} {:>12} {:>14} {:>12}", "domains", "cache", "total ms", "ms/domain", "domains/s");
    for &n in sizes {
        for warm in [false, true] {
            // A fresh resolver per cold run: nothing cached from the previous size.
            let dns = HickoryLookup::with_server(server.addr).expect("resolver");
            if warm {
                let _ = check_domains(&dns, &all[..n], &options, concurrency).await;
            }
            let start = Instant::now();
            let reports = check_domains(&dns, &all[..n], &options, concurrency).await;
            let elapsed = start.elapsed();
            let failed = reports.iter().filter(|r| r.as_ref().map(|r| !r.passed()).unwrap_or(true)).count();
            assert_eq!(failed, 0, "every generated domain should pass");
            let ms = elapsed.as_secs_f64() * 1000.0;
            println!(
                "{n:>8} {:>10} {ms:>12.1} {:>14.2} {:>12.0}",
                if warm { "warm" } else { "cold" },
                ms / n as f64,
                n as f64 / elapsed.as_secs_f64()
            );
        }
    }
}
