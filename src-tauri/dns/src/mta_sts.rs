//! Informational checks: MTA-STS (RFC 8461 §3.1) and SMTP TLS reporting (RFC 8460 §3).
//! They never decide whether a domain passes; the policy file behind MTA-STS is HTTPS and
//! is not fetched here. The parsers of the TXT record ([`record_id`]) and of the policy
//! file ([`parse_policy`], RFC 8461 §3.2) are shared with outbound delivery, which fetches
//! and enforces policies.

use crate::fix::txt_record;
use crate::mx::dns_error;
use crate::report::{CheckResult, Finding, Severity};
use crate::resolver::{DnsLookup, RecordType};
use crate::tags::{parse_tag_list, tag};

/// Codes these checks can emit.
pub const CODES: &[&str] = &[
    "dns_error",
    "mta_sts_found",
    "mta_sts_missing",
    "mta_sts_invalid",
    "tls_rpt_found",
    "tls_rpt_missing",
    "tls_rpt_invalid",
];

async fn records(dns: &dyn DnsLookup, name: &str, version: &str) -> Result<Vec<String>, crate::error::DnsError> {
    let ans = dns.query(name, RecordType::Txt).await?;
    Ok(ans
        .txt_strings()
        .into_iter()
        .filter(|t| t.trim_start().to_ascii_lowercase().starts_with(&format!("v={}", version.to_ascii_lowercase())))
        .collect())
}

/// The policy id of an `_mta-sts` TXT record (RFC 8461 §3.1: `v=STSv1; id=…`, the id 1 to
/// 32 letters and digits), or why the record is not valid (in words that follow "the
/// record …").
pub fn record_id(record: &str) -> Result<String, String> {
    let tags = parse_tag_list(record)?;
    match (tags.first(), tag(&tags, "id")) {
        (Some((v, ver)), _) if v != "v" || ver != "STSv1" => Err("does not start with v=STSv1".into()),
        (_, None) => Err("has no id= tag".into()),
        (_, Some(id)) if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Err(format!("has id={id}; it must be 1 to 32 letters and digits"))
        }
        (_, Some(id)) => Ok(id.to_string()),
    }
}

/// The `_mta-sts.<domain>` TXT records that claim to be MTA-STS (`v=STSv1…`); several
/// mean none is valid (RFC 8461 §3.1).
pub async fn sts_records(dns: &dyn DnsLookup, domain: &str) -> Result<Vec<String>, crate::error::DnsError> {
    records(dns, &format!("_mta-sts.{domain}"), "STSv1").await
}

/// What a policy asks of senders (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsMode {
    /// Deliver only to matching MX hosts over verified TLS.
    Enforce,
    /// Report failures, deliver anyway.
    Testing,
    /// No policy (a domain turning MTA-STS off).
    None,
}

/// A parsed policy file (`https://mta-sts.<domain>/.well-known/mta-sts.txt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsPolicy {
    /// The mode.
    pub mode: StsMode,
    /// The MX patterns: host names, or `*.` and a domain (one left-most label).
    pub mx: Vec<String>,
    /// How long the policy may be cached, seconds (at most 31557600).
    pub max_age: u64,
}

impl StsPolicy {
    /// Whether the MX host `host` matches one of the policy's patterns (RFC 8461 §4.1:
    /// exact, or a wildcard standing for exactly one left-most label; case-insensitive).
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx.iter().any(|pattern| {
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                None => host == pattern,
            }
        })
    }
}

/// Parses a policy file (RFC 8461 §3.2): `key: value` lines (CRLF or LF) with `version:
/// STSv1`, `mode`, `max_age` and, unless the mode is `none`, at least one `mx`. Unknown
/// keys are ignored; a missing or malformed required field is an error in words.
pub fn parse_policy(text: &str) -> Result<StsPolicy, String> {
    let (mut version, mut mode, mut max_age, mut mx) = (None, None, None, Vec::new());
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("the line '{line}' is not 'key: value'"));
        };
        let value = value.trim();
        match key.trim() {
            "version" if version.is_none() => version = Some(value.to_string()),
            "mode" if mode.is_none() => {
                mode = Some(match value {
                    "enforce" => StsMode::Enforce,
                    "testing" => StsMode::Testing,
                    "none" => StsMode::None,
                    other => return Err(format!("the mode '{other}' is not enforce, testing or none")),
                })
            }
            "max_age" if max_age.is_none() => {
                let n: u64 = value
                    .parse()
                    .ok()
                    .filter(|_| !value.is_empty() && value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| format!("max_age '{value}' is not a number of seconds"))?;
                max_age = Some(n.min(31_557_600));
            }
            "mx" => {
                let name = value.strip_prefix("*.").unwrap_or(value);
                if name.is_empty() || !name.split('.').all(|l| !l.is_empty() && l.len() <= 63) {
                    return Err(format!("mx '{value}' is not a host name or *.domain"));
                }
                mx.push(value.to_ascii_lowercase())
            }
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err("it does not say version: STSv1".into());
    }
    let mode = mode.ok_or("it has no mode")?;
    let max_age = max_age.ok_or("it has no max_age")?;
    if mode != StsMode::None && mx.is_empty() {
        return Err("it names no mx".into());
    }
    Ok(StsPolicy { mode, mx, max_age })
}

/// Checks the `_mta-sts.<domain>` TXT record.
pub async fn check_mta_sts(dns: &dyn DnsLookup, domain: &str) -> CheckResult {
    let name = format!("_mta-sts.{domain}");
    let found = match records(dns, &name, "STSv1").await {
        Ok(r) => r,
        Err(e) => return CheckResult::from_findings(vec![dns_error(&e)]),
    };
    let invalid = |why: String| {
        Finding::new(
            "mta_sts_invalid",
            Severity::Warn,
            format!("The MTA-STS record at {name} {why}; senders ignore it."),
        )
    };
    let finding = match found.as_slice() {
        [] => {
            return CheckResult::unset(vec![
                Finding::new(
                    "mta_sts_missing",
                    Severity::Info,
                    format!(
                        "{domain} does not publish MTA-STS (optional): senders may deliver its \
                         mail without verified TLS. Enabling it needs the record below (raise its \
                         id whenever the policy changes) and a policy file at \
                         https://mta-sts.{domain}/.well-known/mta-sts.txt."
                    ),
                )
                .with_fix(txt_record(&name, "v=STSv1; id=1")),
            ]);
        }
        [one] => match record_id(one) {
            Err(why) => invalid(why),
            Ok(id) => {
                Finding::new("mta_sts_found", Severity::Info, format!("{domain} publishes MTA-STS (policy id {id})."))
            }
        },
        many => invalid(format!("exists {} times; there must be exactly one", many.len())),
    };
    CheckResult::from_findings(vec![finding])
}

/// Checks the `_smtp._tls.<domain>` TXT record.
pub async fn check_tls_rpt(dns: &dyn DnsLookup, domain: &str) -> CheckResult {
    let name = format!("_smtp._tls.{domain}");
    let found = match records(dns, &name, "TLSRPTv1").await {
        Ok(r) => r,
        Err(e) => return CheckResult::from_findings(vec![dns_error(&e)]),
    };
    let invalid = |why: String| {
        Finding::new(
            "tls_rpt_invalid",
            Severity::Warn,
            format!("The TLS-RPT record at {name} {why}; senders ignore it."),
        )
    };
    let finding = match found.as_slice() {
        [] => {
            return CheckResult::unset(vec![
                Finding::new(
                    "tls_rpt_missing",
                    Severity::Info,
                    format!(
                        "{domain} does not ask for SMTP TLS reports (optional); with this record, \
                 senders report TLS problems delivering to you."
                    ),
                )
                .with_fix(txt_record(&name, &format!("v=TLSRPTv1; rua=mailto:postmaster@{domain}"))),
            ]);
        }
        [one] => match parse_tag_list(one) {
            Err(why) => invalid(why),
            Ok(tags) => match (tags.first(), tag(&tags, "rua")) {
                (Some((v, ver)), _) if v != "v" || ver != "TLSRPTv1" => {
                    invalid("does not start with v=TLSRPTv1".into())
                }
                (_, None) => invalid("has no rua= tag".into()),
                (_, Some(rua)) => {
                    let bad: Vec<&str> = rua
                        .split(',')
                        .map(str::trim)
                        .filter(|u| {
                            let l = u.to_ascii_lowercase();
                            !((l.starts_with("mailto:") && u.contains('@')) || l.starts_with("https://"))
                        })
                        .collect();
                    if bad.is_empty() {
                        Finding::new(
                            "tls_rpt_found",
                            Severity::Info,
                            format!("{domain} asks for SMTP TLS reports at {rua}."),
                        )
                    } else {
                        invalid(format!(
                            "has report addresses that are neither mailto: nor https: ({})",
                            bad.join(", ")
                        ))
                    }
                }
            },
        },
        many => invalid(format!("exists {} times; there must be exactly one", many.len())),
    };
    CheckResult::from_findings(vec![finding])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemoryZone;

    #[tokio::test]
    async fn table() {
        let zone = MemoryZone::new()
            .txt("_mta-sts.a.test", "v=STSv1; id=20240101T000000")
            .txt("_smtp._tls.a.test", "v=TLSRPTv1; rua=mailto:tls@a.test")
            .txt("_mta-sts.b.test", "v=STSv1; id=")
            .txt("_smtp._tls.b.test", "v=TLSRPTv1; rua=tls@b.test");
        let sts = |d: &'static str| {
            let zone = zone.clone();
            async move { check_mta_sts(&zone, d).await.findings[0].code.clone() }
        };
        let rpt = |d: &'static str| {
            let zone = zone.clone();
            async move { check_tls_rpt(&zone, d).await.findings[0].code.clone() }
        };
        assert_eq!(sts("a.test").await, "mta_sts_found");
        assert_eq!(sts("b.test").await, "mta_sts_invalid");
        assert_eq!(sts("c.test").await, "mta_sts_missing");
        assert_eq!(rpt("a.test").await, "tls_rpt_found");
        assert_eq!(rpt("b.test").await, "tls_rpt_invalid");
        assert_eq!(rpt("c.test").await, "tls_rpt_missing");
        // Not published is not a pass: nothing to judge, with the record that would enable it.
        for r in [check_mta_sts(&zone, "c.test").await, check_tls_rpt(&zone, "c.test").await] {
            assert_eq!(r.status, crate::Status::Unset);
            assert!(r.findings[0].fix.is_some(), "{r:?}");
        }
        assert_eq!(check_mta_sts(&zone, "a.test").await.status, crate::Status::Pass);
    }

    #[test]
    fn policy_files_parse_and_match_mx_hosts() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
        )
        .unwrap();
        assert_eq!((p.mode, p.max_age), (StsMode::Enforce, 604800));
        assert!(p.matches("mail.example.com") && p.matches("MAIL.example.com."));
        assert!(p.matches("mx1.example.net") && !p.matches("a.b.example.net") && !p.matches("example.net"));
        assert!(!p.matches("evil.example.com"));
        assert_eq!(
            parse_policy("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 99999999999\n").map(|p| p.max_age),
            Err("max_age '99999999999' is not a number of seconds".into())
        );
        assert_eq!(parse_policy("version: STSv1\nmode: none\nmax_age: 1\n").unwrap().mode, StsMode::None);
        assert!(parse_policy("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1").is_err());
        assert!(parse_policy("version: STSv1\nmode: enforce\nmax_age: 1").is_err());
        assert!(parse_policy("version: STSv1\nmode: always\nmx: a.test\nmax_age: 1").is_err());
        assert!(parse_policy("<html>").is_err());
        assert_eq!(record_id("v=STSv1; id=20240101T000000").as_deref(), Ok("20240101T000000"));
        assert!(record_id("v=STSv1; id=").is_err() && record_id("v=spf1 -all").is_err());
    }
}
