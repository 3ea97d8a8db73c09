//! Informational checks: MTA-STS (RFC 8461 §3.1) and SMTP TLS reporting (RFC 8460 §3).
//! They never decide whether a domain passes; the policy file behind MTA-STS is HTTPS and
//! is not fetched here.

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
        [] => Finding::new(
            "mta_sts_missing",
            Severity::Info,
            format!(
                "{domain} does not publish MTA-STS (optional): senders may deliver its mail \
                 without verified TLS. Enabling it needs this record and a policy file at \
                 https://mta-sts.{domain}/.well-known/mta-sts.txt."
            ),
        ),
        [one] => match parse_tag_list(one) {
            Err(why) => invalid(why),
            Ok(tags) => match (tags.first(), tag(&tags, "id")) {
                (Some((v, ver)), _) if v != "v" || ver != "STSv1" => invalid("does not start with v=STSv1".into()),
                (_, None) => invalid("has no id= tag".into()),
                (_, Some(id)) if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    invalid(format!("has id={id}; it must be 1 to 32 letters and digits"))
                }
                (_, Some(id)) => Finding::new(
                    "mta_sts_found",
                    Severity::Info,
                    format!("{domain} publishes MTA-STS (policy id {id})."),
                ),
            },
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
        [] => Finding::new(
            "tls_rpt_missing",
            Severity::Info,
            format!(
                "{domain} does not ask for SMTP TLS reports (optional); with this record, \
                 senders report TLS problems delivering to you."
            ),
        )
        .with_fix(txt_record(&name, &format!("v=TLSRPTv1; rua=mailto:postmaster@{domain}"))),
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
    }
}
