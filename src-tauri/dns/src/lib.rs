//! Mail DNS checks for the Postdesk DNS wizard, the security tab and `postdesk dns check`.
//!
//! Contract: [`check_domain`] asks real DNS (through a [`DnsLookup`]) about one domain and
//! returns a [`DomainReport`] with one result per check — MX, SPF, DKIM, DMARC, CNAME, and
//! the informational MTA-STS and TLS-RPT — each a `pass`/`warn`/`fail` status and findings
//! with a stable snake_case `code`, a plain-language `message` and, where the remedy is a
//! record, the exact record to publish (`fix`, zone-file syntax). A lookup the server does
//! not answer becomes a `dns_error` finding inside the check it belongs to; the only `Err`
//! is an invalid domain name. Reports never contain secrets; [`generate_dkim_key`] returns
//! a private key, which its `Debug` redacts. Nothing here writes files or caches results
//! beyond the resolver's own TTL cache.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod cname;
mod der;
pub mod dkim;
pub mod dmarc;
mod error;
mod fix;
pub mod keygen;
pub mod mta_sts;
pub mod mx;
pub mod names;
mod report;
pub mod resolver;
pub mod spf;
mod tags;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

pub use cname::CnameExpectation;
pub use error::DnsError;
pub use keygen::{DkimAlgorithm, GeneratedDkimKey, generate_dkim_key};
pub use report::{CheckResult, Checks, DomainReport, Finding, Severity, SpfResult, Status};
pub use resolver::{Answer, DnsLookup, HickoryLookup, MemoryZone, Record, RecordType};

/// How many domains [`check_domains`] checks at once by default.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// What to compare the DNS against; everything is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// DKIM selectors to check; empty: probe [`dkim::COMMON_SELECTORS`].
    pub dkim_selectors: Vec<String>,
    /// Aliases that must exist.
    pub expect_cnames: Vec<CnameExpectation>,
    /// The host that should receive the domain's mail (an MX target).
    pub expected_mx: Option<String>,
    /// Our sending server's address, which SPF must authorise.
    pub server_ip: Option<IpAddr>,
}

/// Which DNS server answers the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolverChoice {
    /// The operating system's configuration.
    System,
    /// Exactly this server (tests, `--resolver`).
    Server(SocketAddr),
}

/// Builds the real-DNS lookup for `choice`.
pub fn resolver(choice: ResolverChoice) -> Result<Arc<dyn DnsLookup>, DnsError> {
    Ok(match choice {
        ResolverChoice::System => Arc::new(HickoryLookup::system()?),
        ResolverChoice::Server(addr) => Arc::new(HickoryLookup::with_server(addr)?),
    })
}

/// Checks one domain. `Err` only when `domain` is not a valid domain name.
pub async fn check_domain(dns: &dyn DnsLookup, domain: &str, options: &CheckOptions) -> Result<DomainReport, DnsError> {
    let domain = names::normalize_domain(domain)?;
    let expected_mx = match &options.expected_mx {
        Some(h) => Some(names::normalize_domain(h)?),
        None => None,
    };
    let d = domain.as_str();
    let (mx, spf, dkim, dmarc, cname, mta_sts, tls_rpt) = futures::join!(
        mx::check_mx(dns, d, expected_mx.as_deref()),
        spf::check_spf(dns, d, options.server_ip),
        dkim::check_dkim(dns, d, &options.dkim_selectors),
        dmarc::check_dmarc(dns, d),
        cname::check_cname(dns, d, &options.expect_cnames),
        mta_sts::check_mta_sts(dns, d),
        mta_sts::check_tls_rpt(dns, d),
    );
    Ok(DomainReport { domain, checks: Checks { mx, spf, dkim, dmarc, cname, mta_sts, tls_rpt } })
}

/// Checks many domains, at most `concurrency` at a time (0 is treated as 1). Results come
/// back in the order of `domains`. Each domain is held only to its own CNAME expectations
/// ([`cname::expectations_for`]).
pub async fn check_domains(
    dns: &dyn DnsLookup,
    domains: &[String],
    options: &CheckOptions,
    concurrency: usize,
) -> Vec<Result<DomainReport, DnsError>> {
    let normalized: Vec<String> = domains.iter().filter_map(|d| names::normalize_domain(d).ok()).collect();
    futures::stream::iter(domains)
        .map(|d| {
            let own = names::normalize_domain(d)
                .map(|n| cname::expectations_for(&n, &normalized, &options.expect_cnames))
                .unwrap_or_default();
            let options = CheckOptions { expect_cnames: own, ..options.clone() };
            async move { check_domain(dns, d, &options).await }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Every finding code the checks can emit, for documentation and for tests that make sure
/// each one has a fixture.
pub fn all_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> =
        [mx::CODES, spf::CODES, dkim::CODES, dmarc::CODES, cname::CODES, mta_sts::CODES].concat();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn report_json_shape() {
        let zone = MemoryZone::new()
            .mx("example.test", 10, "mx.example.test")
            .ip("mx.example.test", "192.0.2.1".parse().unwrap())
            .txt("example.test", "v=spf1 mx -all")
            .txt("_dmarc.example.test", "v=DMARC1; p=reject; rua=mailto:d@example.test");
        let report = check_domain(&zone, "Example.TEST.", &CheckOptions::default()).await.expect("valid domain");
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(json["domain"], "example.test");
        let checks = json["checks"].as_object().expect("object");
        for key in ["mx", "spf", "dkim", "dmarc", "cname", "mta_sts", "tls_rpt"] {
            assert!(checks[key]["status"].is_string(), "{key}");
            assert!(checks[key]["findings"].is_array(), "{key}");
        }
        assert_eq!(json["checks"]["spf"]["lookups"], 1);
        assert_eq!(json["checks"]["spf"]["void_lookups"], 0);
        assert_eq!(json["checks"]["mx"]["status"], "pass");
        assert_eq!(json["checks"]["dkim"]["status"], "warn");
        assert_eq!(
            json["checks"]["mx"]["findings"][0],
            serde_json::json!({
                "code": "mx_ok",
                "severity": "info",
                "message": "Mail for example.test is delivered to mx.example.test (preference 10).",
                "fix": null
            })
        );
        assert!(report.passed());
        let back: DomainReport = serde_json::from_value(json).expect("round-trips");
        assert_eq!(back, report);
    }

    #[tokio::test]
    async fn many_domains_keep_order_and_reject_bad_names() {
        let zone = MemoryZone::new();
        let domains: Vec<String> = ["b.test", "a.test", "bad name", "c.test"].iter().map(|s| (*s).to_owned()).collect();
        let out = check_domains(&zone, &domains, &CheckOptions::default(), 2).await;
        let names: Vec<Option<String>> = out.iter().map(|r| r.as_ref().ok().map(|r| r.domain.clone())).collect();
        assert_eq!(names, vec![Some("b.test".into()), Some("a.test".into()), None, Some("c.test".into())]);
    }
}
