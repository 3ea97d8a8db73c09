//! MX check: where the domain's mail is delivered (RFC 5321 §5.1, null MX RFC 7505).

use crate::fix::{fqdn, record};
use crate::names::looks_like_ip;
use crate::report::{CheckResult, Finding, Severity};
use crate::resolver::{Answer, DnsLookup, Record, RecordType};

/// Codes this check can emit.
pub const CODES: &[&str] = &[
    "dns_error",
    "mx_ok",
    "mx_missing",
    "mx_implicit",
    "mx_null",
    "mx_null_mixed",
    "mx_target_ip_literal",
    "mx_target_cname",
    "mx_target_unresolvable",
    "mx_expected_missing",
];

/// Checks the MX records of `domain`; `expected` is the host that should receive its mail
/// (the local server's name in the wizard).
pub async fn check_mx(dns: &dyn DnsLookup, domain: &str, expected: Option<&str>) -> CheckResult {
    let mut findings = Vec::new();
    let suggested = expected.map(str::to_owned).unwrap_or_else(|| format!("mail.{domain}"));
    let mx_fix = record(domain, "MX", &format!("10 {}", fqdn(&suggested)));

    let answer = match dns.query(domain, RecordType::Mx).await {
        Ok(a) => a,
        Err(e) => {
            findings.push(dns_error(&e));
            return CheckResult::from_findings(findings);
        }
    };
    let mut mxs: Vec<(u16, String)> = answer
        .records()
        .iter()
        .filter_map(|r| match r {
            Record::Mx { preference, exchange } => Some((*preference, exchange.clone())),
            _ => None,
        })
        .collect();
    mxs.sort();

    if mxs.is_empty() {
        match dns.query_ips(domain).await {
            Ok(Answer::Records(_)) => findings.push(
                Finding::new(
                    "mx_implicit",
                    Severity::Warn,
                    format!(
                        "{domain} has no MX record, so senders fall back to its own address \
                         (implicit MX). Publish an MX record naming the server that receives mail."
                    ),
                )
                .with_fix(mx_fix.clone()),
            ),
            Ok(ans) => {
                let why = if ans == Answer::NxDomain || answer == Answer::NxDomain {
                    format!("{domain} does not exist in DNS")
                } else {
                    format!("{domain} has no MX record and no address")
                };
                findings.push(
                    Finding::new(
                        "mx_missing",
                        Severity::Fail,
                        format!("{why}: nobody can send mail to it. Publish an MX record."),
                    )
                    .with_fix(mx_fix.clone()),
                );
            }
            Err(e) => findings.push(dns_error(&e)),
        }
        return CheckResult::from_findings(findings);
    }

    let has_null = mxs.iter().any(|(_, x)| x.is_empty());
    if has_null {
        if mxs.len() > 1 {
            findings.push(
                Finding::new(
                    "mx_null_mixed",
                    Severity::Fail,
                    format!(
                        "{domain} publishes a null MX (\"0 .\", meaning it accepts no mail) together \
                         with other MX records; RFC 7505 forbids mixing them. Remove the null MX \
                         if the domain should receive mail."
                    ),
                )
                .with_fix(mx_fix.clone()),
            );
        } else {
            // Receiving mail is what the wizard sets up, so a null MX fails when a server is
            // expected; otherwise it is a deliberate "no mail here" declaration.
            let severity = if expected.is_some() { Severity::Fail } else { Severity::Warn };
            let mut f = Finding::new(
                "mx_null",
                severity,
                format!(
                    "{domain} publishes a null MX (RFC 7505): it declares that it cannot receive \
                     mail, and senders bounce mail to it at once."
                ),
            );
            if expected.is_some() {
                f = f.with_fix(mx_fix.clone());
            }
            findings.push(f);
            return CheckResult::from_findings(findings);
        }
    }

    let targets: Vec<&(u16, String)> = mxs.iter().filter(|(_, x)| !x.is_empty()).collect();
    let probes = targets.iter().map(|(_, host)| async move {
        if looks_like_ip(host) {
            return vec![Finding::new(
                "mx_target_ip_literal",
                Severity::Fail,
                format!(
                    "The MX target {host} is an IP address; an MX must name a host \
                     (RFC 5321 §5.1). Give the server a name with an A record and use that."
                ),
            )];
        }
        let mut out = Vec::new();
        let (cname, ips) = futures::join!(dns.query(host, RecordType::Cname), dns.query_ips(host));
        match cname {
            Ok(Answer::Records(recs)) => {
                let to = recs
                    .iter()
                    .find_map(|r| match r {
                        Record::Cname(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .unwrap_or("?");
                out.push(Finding::new(
                    "mx_target_cname",
                    Severity::Warn,
                    format!(
                        "The MX target {host} is an alias (CNAME to {to}); MX records must point \
                         at a host name with its own A/AAAA records (RFC 2181 §10.3). Point the \
                         MX at {to} instead."
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => out.push(dns_error(&e)),
        }
        match ips {
            Ok(Answer::Records(_)) => {}
            Ok(ans) => out.push(Finding::new(
                "mx_target_unresolvable",
                Severity::Fail,
                format!(
                    "The MX target {host} {}: mail cannot be delivered to it. Publish an A \
                     (and/or AAAA) record for it or fix the MX.",
                    if ans == Answer::NxDomain { "does not exist" } else { "has no A or AAAA record" }
                ),
            )),
            Err(e) => out.push(dns_error(&e)),
        }
        out
    });
    for batch in futures::future::join_all(probes).await {
        findings.extend(batch);
    }

    if let Some(want) = expected
        && !targets.iter().any(|(_, host)| host == want)
    {
        findings.push(
            Finding::new(
                "mx_expected_missing",
                Severity::Fail,
                format!(
                    "Mail for {domain} goes to {}, not to {want}. Publish an MX record for \
                         {want} (and remove the old ones once it works).",
                    list(&targets)
                ),
            )
            .with_fix(mx_fix.clone()),
        );
    }

    if !findings.iter().any(|f| f.severity != Severity::Info) {
        findings.push(Finding::new(
            "mx_ok",
            Severity::Info,
            format!("Mail for {domain} is delivered to {}.", list(&targets)),
        ));
    }
    CheckResult::from_findings(findings)
}

fn list(targets: &[&(u16, String)]) -> String {
    targets.iter().map(|(p, h)| format!("{h} (preference {p})")).collect::<Vec<_>>().join(", ")
}

/// The finding for a lookup the server did not answer.
pub(crate) fn dns_error(e: &crate::error::DnsError) -> Finding {
    Finding::new(
        "dns_error",
        Severity::Fail,
        format!("The DNS server did not answer properly, so this could not be checked: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemoryZone;

    fn codes(r: &CheckResult) -> Vec<&str> {
        r.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[tokio::test]
    async fn table() {
        let zone = MemoryZone::new()
            .mx("good.test", 10, "mx.good.test")
            .ip("mx.good.test", "192.0.2.1".parse().unwrap())
            .mx("null.test", 0, ".")
            .mx("mixed.test", 0, ".")
            .mx("mixed.test", 10, "mx.good.test")
            .ip("implicit.test", "192.0.2.2".parse().unwrap())
            .txt("nomx.test", "x")
            .mx("lit.test", 10, "192.0.2.3")
            .mx("alias.test", 10, "alias.mx.test")
            .cname("alias.mx.test", "mx.good.test")
            .mx("dangling.test", 10, "gone.dangling.test")
            .fail("servfail.test");
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("good.test", None, &["mx_ok"]),
            ("good.test", Some("mx.good.test"), &["mx_ok"]),
            ("good.test", Some("other.test"), &["mx_expected_missing"]),
            ("null.test", None, &["mx_null"]),
            ("mixed.test", None, &["mx_null_mixed"]),
            ("implicit.test", None, &["mx_implicit"]),
            ("nomx.test", None, &["mx_missing"]),
            ("absent.test", None, &["mx_missing"]),
            ("lit.test", None, &["mx_target_ip_literal"]),
            ("alias.test", None, &["mx_target_cname"]),
            ("dangling.test", None, &["mx_target_unresolvable"]),
            ("servfail.test", None, &["dns_error"]),
        ];
        for (domain, expected, want) in cases {
            let r = check_mx(&zone, domain, *expected).await;
            assert_eq!(codes(&r), *want, "{domain}");
        }
    }
}
