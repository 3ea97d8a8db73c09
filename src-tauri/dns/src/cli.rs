//! `postdesk dns check`: the arguments and the runner the `postdesk` binary mounts.
//!
//! Exit codes: 0 when no domain has a failing MX/SPF/DKIM/DMARC/CNAME check (warnings
//! pass), 1 when any fails (including DNS errors), 2 on usage errors.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use crate::report::{CheckResult, DomainReport, Finding, Severity, Status};
use crate::{CheckOptions, CnameExpectation, ResolverChoice, check_domains, names, resolver};

/// Arguments of `postdesk dns check`.
#[derive(Debug, Clone, clap::Args)]
pub struct DnsCheckArgs {
    /// DNS server to ask, as IP:PORT (or IP for port 53); default: the system resolver.
    #[arg(long, value_name = "IP:PORT")]
    pub resolver: Option<String>,
    /// DKIM selector to check (repeatable); default: probe common selectors.
    #[arg(long = "dkim-selector", value_name = "SELECTOR")]
    pub dkim_selectors: Vec<String>,
    /// Alias that must exist, as HOST=TARGET (repeatable); a HOST without a dot is relative
    /// to each domain, `@` is the domain itself; an absolute HOST is checked only under the
    /// domain it lies in.
    #[arg(long = "expect-cname", value_name = "HOST=TARGET")]
    pub expect_cnames: Vec<String>,
    /// Host that should receive the domain's mail (must be one of the MX targets).
    #[arg(long = "expect-mx", value_name = "HOST")]
    pub expect_mx: Option<String>,
    /// Address of our sending server, which SPF must authorise.
    #[arg(long = "server-ip", value_name = "IP")]
    pub server_ip: Option<String>,
    /// Print one JSON array (an object per domain) instead of the readable report.
    #[arg(long)]
    pub json: bool,
    /// Domains checked at the same time.
    #[arg(long, value_name = "N", default_value_t = crate::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Domains to check.
    #[arg(value_name = "DOMAIN", required = true)]
    pub domains: Vec<String>,
}

/// Parses `IP:PORT`, `[IPv6]:PORT` or a bare IP (port 53).
pub fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!("--resolver {s:?} is not IP:PORT"))
}

struct Prepared {
    choice: ResolverChoice,
    options: CheckOptions,
    domains: Vec<String>,
}

fn prepare(args: &DnsCheckArgs) -> Result<Prepared, String> {
    let choice = match &args.resolver {
        Some(r) => ResolverChoice::Server(parse_resolver(r)?),
        None => ResolverChoice::System,
    };
    let server_ip = match &args.server_ip {
        Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| format!("--server-ip {ip:?} is not an IP address"))?),
        None => None,
    };
    let expect_cnames = args
        .expect_cnames
        .iter()
        .map(|e| e.parse::<CnameExpectation>().map_err(|err| format!("--expect-cname {e:?}: {err}")))
        .collect::<Result<Vec<_>, _>>()?;
    let expected_mx = match &args.expect_mx {
        Some(h) => Some(names::normalize_domain(h).map_err(|e| format!("--expect-mx: {e}"))?),
        None => None,
    };
    let dkim_selectors = args
        .dkim_selectors
        .iter()
        .map(|s| names::normalize_domain(s).map_err(|e| format!("--dkim-selector: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let domains = args
        .domains
        .iter()
        .map(|d| names::normalize_domain(d).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prepared { choice, options: CheckOptions { dkim_selectors, expect_cnames, expected_mx, server_ip }, domains })
}

/// Runs the check and prints the report to stdout; usage errors go to stderr.
pub async fn run(args: DnsCheckArgs) -> ExitCode {
    let mut buf: Vec<u8> = Vec::new();
    let code = run_to(args, &mut buf).await;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not a check failure.
    let _ = out.write_all(&buf);
    let _ = out.flush();
    code
}

/// [`run`] writing the report to `out` instead of stdout (for tests and embedding).
pub async fn run_to(args: DnsCheckArgs, out: &mut (dyn Write + Send)) -> ExitCode {
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("postdesk dns check: {msg}");
            return ExitCode::from(2);
        }
    };
    let dns = match resolver(prepared.choice) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("postdesk dns check: {e}");
            return ExitCode::from(2);
        }
    };
    let results = check_domains(dns.as_ref(), &prepared.domains, &prepared.options, args.concurrency).await;
    let mut reports = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("postdesk dns check: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let text = if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(j) => j + "\n",
            Err(e) => {
                eprintln!("postdesk dns check: cannot serialise the report: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        reports.iter().map(render).collect::<Vec<_>>().join("\n")
    };
    let _ = out.write_all(text.as_bytes());
    if reports.iter().all(DomainReport::passed) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Unset => "NOT SET",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    }
}

/// The readable report of one domain.
pub fn render(report: &DomainReport) -> String {
    let c = &report.checks;
    let mut out = format!("{} — {}\n", report.domain, if report.passed() { "passed" } else { "FAILED" });
    let mut section = |name: &str, extra: String, result: &CheckResult| {
        out.push_str(&format!("  {name:<8} {}{extra}\n", status_word(result.status)));
        for f in &result.findings {
            render_finding(&mut out, f);
        }
    };
    section("MX", String::new(), &c.mx);
    let spf_as_check = CheckResult { status: c.spf.status, findings: c.spf.findings.clone() };
    section("SPF", format!("  ({} of 10 lookups, {} of 2 void)", c.spf.lookups, c.spf.void_lookups), &spf_as_check);
    section("DKIM", String::new(), &c.dkim);
    section("DMARC", String::new(), &c.dmarc);
    section("CNAME", String::new(), &c.cname);
    section("MTA-STS", "  (informational)".into(), &c.mta_sts);
    section("TLS-RPT", "  (informational)".into(), &c.tls_rpt);
    out
}

fn render_finding(out: &mut String, f: &Finding) {
    let sev = match f.severity {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Fail => "fail",
    };
    out.push_str(&format!("    {sev:<4} [{}] {}\n", f.code, f.message));
    if let Some(fix) = &f.fix {
        out.push_str(&format!("         publish: {fix}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses() {
        assert_eq!(parse_resolver("127.0.0.1:5353"), Ok("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(parse_resolver("[::1]:53"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(parse_resolver("192.0.2.1"), Ok("192.0.2.1:53".parse().unwrap()));
        assert!(parse_resolver("localhost:53").is_err());
        assert!(parse_resolver("127.0.0.1:99999").is_err());
    }

    fn args(domains: &[&str]) -> DnsCheckArgs {
        DnsCheckArgs {
            resolver: Some("127.0.0.1:1".into()),
            dkim_selectors: vec![],
            expect_cnames: vec![],
            expect_mx: None,
            server_ip: None,
            json: true,
            concurrency: 4,
            domains: domains.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn usage_errors_exit_2() {
        let mut a = args(&["example.test"]);
        a.resolver = Some("not-an-address".into());
        assert_eq!(run(a).await, ExitCode::from(2));
        let mut a = args(&["example.test"]);
        a.server_ip = Some("300.1.1.1".into());
        assert_eq!(run(a).await, ExitCode::from(2));
        let mut a = args(&["example.test"]);
        a.expect_cnames = vec!["nohost".into()];
        assert_eq!(run(a).await, ExitCode::from(2));
        assert_eq!(run(args(&["bad domain"])).await, ExitCode::from(2));
    }
}
