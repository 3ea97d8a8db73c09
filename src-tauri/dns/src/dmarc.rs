//! DMARC check (RFC 7489): the record at `_dmarc.<domain>` or, failing that, at the
//! organisational domain; tag syntax and values; policy strength; report destinations and
//! their external-destination authorisation (§7.1).

use crate::fix::txt_record;
use crate::mx::dns_error;
use crate::names::{is_valid_name, organizational_domain};
use crate::report::{CheckResult, Finding, Severity};
use crate::resolver::{DnsLookup, RecordType};
use crate::tags::{parse_tag_list, tag};

/// Codes this check can emit.
pub const CODES: &[&str] = &[
    "dns_error",
    "dmarc_ok",
    "dmarc_missing",
    "dmarc_inherited",
    "dmarc_multiple",
    "dmarc_syntax",
    "dmarc_policy_missing",
    "dmarc_invalid_value",
    "dmarc_unknown_tag",
    "dmarc_policy_none",
    "dmarc_pct_partial",
    "dmarc_invalid_uri",
    "dmarc_no_reports",
    "dmarc_external_report_unauthorized",
];

const KNOWN_TAGS: &[&str] = &[
    "v", "p", "sp", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf",
    // DMARCbis additions, accepted so they are not reported as typos.
    "np", "psd", "t",
];

/// The record we recommend when there is none.
pub fn recommended_record(domain: &str) -> String {
    format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}")
}

/// Looks up DMARC records at `_dmarc.<name>`: Ok(None) if none; the TXT strings that look
/// like DMARC (mention DMARC1) otherwise.
async fn fetch(dns: &dyn DnsLookup, name: &str) -> Result<Vec<String>, crate::error::DnsError> {
    let ans = dns.query(&format!("_dmarc.{name}"), RecordType::Txt).await?;
    Ok(ans.txt_strings().into_iter().filter(|t| t.to_ascii_lowercase().contains("dmarc1")).collect())
}

/// Checks the DMARC policy that applies to `domain`.
pub async fn check_dmarc(dns: &dyn DnsLookup, domain: &str) -> CheckResult {
    let mut findings = Vec::new();
    let mut found_at = domain.to_owned();
    let mut records = match fetch(dns, domain).await {
        Ok(r) => r,
        Err(e) => return CheckResult::from_findings(vec![dns_error(&e)]),
    };
    let org = organizational_domain(domain);
    let mut inherited = false;
    if records.is_empty() && org != domain {
        records = match fetch(dns, &org).await {
            Ok(r) => r,
            Err(e) => return CheckResult::from_findings(vec![dns_error(&e)]),
        };
        if !records.is_empty() {
            inherited = true;
            found_at = org.clone();
        }
    }
    let name = format!("_dmarc.{found_at}");
    if records.is_empty() {
        findings.push(
            Finding::new(
                "dmarc_missing",
                Severity::Fail,
                format!(
                    "{domain} has no DMARC record{}, so receivers do not know what to do with \
                     mail that fails SPF and DKIM, and anyone can spoof the domain. Publish one; \
                     start with p=quarantine (or p=none while you watch the reports).",
                    if org != domain { format!(" (nor does its organisational domain {org})") } else { String::new() }
                ),
            )
            .with_fix(txt_record(&format!("_dmarc.{domain}"), &recommended_record(domain))),
        );
        return CheckResult::from_findings(findings);
    }
    if records.len() > 1 {
        findings.push(Finding::new(
            "dmarc_multiple",
            Severity::Fail,
            format!(
                "{name} has {} DMARC records; receivers ignore DMARC entirely when there is \
                 more than one (RFC 7489 §6.6.3). Keep one.",
                records.len()
            ),
        ));
        return CheckResult::from_findings(findings);
    }
    let record = records.remove(0);
    if inherited {
        findings.push(Finding::new(
            "dmarc_inherited",
            Severity::Info,
            format!(
                "{domain} has no DMARC record of its own; the record of its organisational \
                 domain {org} applies (its sp= policy, if set)."
            ),
        ));
    }
    let syntax = |why: String| {
        Finding::new(
            "dmarc_syntax",
            Severity::Fail,
            format!("The DMARC record at {name} {why}; receivers ignore it. Record: \"{record}\""),
        )
        .with_fix(txt_record(&name, &recommended_record(&found_at)))
    };
    let tags = match parse_tag_list(&record) {
        Ok(t) => t,
        Err(why) => {
            findings.push(syntax(why));
            return CheckResult::from_findings(findings);
        }
    };
    match tags.first() {
        Some((n, v)) if n == "v" && v == "DMARC1" => {}
        Some((n, v)) if n == "v" => {
            findings.push(syntax(format!("has v={v}; it must be exactly v=DMARC1")));
            return CheckResult::from_findings(findings);
        }
        _ => {
            findings.push(syntax("does not start with v=DMARC1".into()));
            return CheckResult::from_findings(findings);
        }
    }

    // Tag values (RFC 7489 §6.3).
    let mut invalid = |tag_name: &str, value: &str, allowed: &str| {
        findings.push(Finding::new(
            "dmarc_invalid_value",
            Severity::Fail,
            format!(
                "The DMARC record at {name} has {tag_name}={value}, which is not valid; allowed: \
                 {allowed}."
            ),
        ));
    };
    let policies = ["none", "quarantine", "reject"];
    for (n, v) in &tags {
        let v = v.as_str();
        let lv = v.to_ascii_lowercase();
        match n.as_str() {
            "p" | "sp" | "np" if !policies.contains(&lv.as_str()) => invalid(n, v, "none, quarantine, reject"),
            "adkim" | "aspf" if lv != "r" && lv != "s" => invalid(n, v, "r (relaxed) or s (strict)"),
            "pct" if v.parse::<u8>().ok().filter(|p| *p <= 100).is_none() => {
                invalid(n, v, "a whole number from 0 to 100")
            }
            "fo" if v.is_empty() || !lv.split(':').all(|o| matches!(o.trim(), "0" | "1" | "d" | "s")) => {
                invalid(n, v, "0, 1, d, s, separated by colons")
            }
            "rf" if v.is_empty() || !lv.split(':').all(|o| matches!(o.trim(), "afrf" | "iodef")) => {
                invalid(n, v, "afrf")
            }
            "ri" if v.parse::<u32>().is_err() => invalid(n, v, "a number of seconds"),
            "psd" if !matches!(lv.as_str(), "y" | "n" | "u") => invalid(n, v, "y, n, u"),
            "t" if !matches!(lv.as_str(), "y" | "n") => invalid(n, v, "y, n"),
            _ => {}
        }
    }
    for (n, v) in &tags {
        if !KNOWN_TAGS.contains(&n.as_str()) {
            findings.push(Finding::new(
                "dmarc_unknown_tag",
                Severity::Warn,
                format!(
                    "The DMARC record at {name} has an unknown tag {n}={v}, which receivers \
                     ignore; check its spelling."
                ),
            ));
        }
    }

    let p = tag(&tags, "p").map(str::to_ascii_lowercase);
    let sp = tag(&tags, "sp").map(str::to_ascii_lowercase);
    let Some(p) = p else {
        findings.push(
            Finding::new(
                "dmarc_policy_missing",
                Severity::Fail,
                format!(
                    "The DMARC record at {name} has no p= policy tag, which is required \
                     (RFC 7489 §6.3). Add p=quarantine or p=reject."
                ),
            )
            .with_fix(txt_record(&name, &with_policy(&record, "quarantine"))),
        );
        return CheckResult::from_findings(findings);
    };
    let effective = if inherited { sp.unwrap_or(p.clone()) } else { p.clone() };
    if effective == "none" {
        findings.push(
            Finding::new(
                "dmarc_policy_none",
                Severity::Warn,
                format!(
                    "The DMARC policy for {domain} is none (monitoring only): mail that fails \
                     authentication is still delivered, so the domain can be spoofed. Once the \
                     reports show your own mail passes, move to quarantine, then reject."
                ),
            )
            .with_fix(txt_record(&name, &with_policy(&record, "quarantine"))),
        );
    }
    if let Some(pct) = tag(&tags, "pct").and_then(|v| v.parse::<u8>().ok())
        && pct < 100
    {
        findings.push(Finding::new(
            "dmarc_pct_partial",
            Severity::Warn,
            format!(
                "The DMARC policy at {name} applies to only {pct}% of failing mail (pct={pct}); \
                     the rest is treated as p=none. Raise it to 100 (or remove pct)."
            ),
        ));
    }

    // Report destinations.
    let mut any_reports = false;
    for key in ["rua", "ruf"] {
        let Some(value) = tag(&tags, key) else {
            continue;
        };
        for uri in value.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let Some(target) = mailto_domain(uri) else {
                findings.push(Finding::new(
                    "dmarc_invalid_uri",
                    Severity::Fail,
                    format!(
                        "The DMARC record at {name} has {key}={uri}, which is not a valid \
                         mailto: address; write it as {key}=mailto:reports@example.com."
                    ),
                ));
                continue;
            };
            any_reports |= key == "rua";
            if organizational_domain(&target) == organizational_domain(&found_at) {
                continue;
            }
            let auth_name = format!("{found_at}._report._dmarc.{target}");
            let authorised = match dns.query(&auth_name, RecordType::Txt).await {
                Ok(ans) => {
                    ans.txt_strings().iter().any(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1"))
                }
                Err(e) => {
                    findings.push(dns_error(&e));
                    continue;
                }
            };
            if !authorised {
                findings.push(
                    Finding::new(
                        "dmarc_external_report_unauthorized",
                        Severity::Warn,
                        format!(
                            "The DMARC record at {name} sends {} reports to {uri}, in another \
                             domain, but {target} has not agreed to receive them (no record at \
                             {auth_name}, RFC 7489 §7.1), so receivers will not send them. The \
                             owner of {target} must publish the record below.",
                            if key == "rua" { "aggregate" } else { "failure" }
                        ),
                    )
                    .with_fix(txt_record(&auth_name, "v=DMARC1")),
                );
            }
        }
    }
    if !any_reports {
        findings.push(Finding::new(
            "dmarc_no_reports",
            Severity::Info,
            format!(
                "The DMARC record at {name} asks for no aggregate reports (no rua=), so you will \
                 not see who sends mail as {found_at}. Consider adding \
                 rua=mailto:postmaster@{found_at}."
            ),
        ));
    }
    if !findings.iter().any(|f| f.severity != Severity::Info) {
        findings.insert(
            0,
            Finding::new(
                "dmarc_ok",
                Severity::Info,
                format!("{name} publishes DMARC with policy {effective}: \"{record}\"."),
            ),
        );
    }
    CheckResult::from_findings(findings)
}

/// The domain of a `mailto:` report URI (size suffix `!10m` allowed), lower-cased.
fn mailto_domain(uri: &str) -> Option<String> {
    let rest = uri.get(..7).filter(|s| s.eq_ignore_ascii_case("mailto:"))?;
    let addr = &uri[rest.len()..];
    let addr = addr.split('!').next()?;
    let (local, domain) = addr.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if local.is_empty() || !is_valid_name(&domain) || !domain.contains('.') {
        return None;
    }
    Some(domain)
}

/// The record with its p= set to `policy` (added after v= if missing).
fn with_policy(record: &str, policy: &str) -> String {
    let mut parts: Vec<String> = record.split(';').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    match parts.iter().position(|s| s.split('=').next().map(str::trim).is_some_and(|n| n.eq_ignore_ascii_case("p"))) {
        Some(i) => parts[i] = format!("p={policy}"),
        None => parts.insert(1.min(parts.len()), format!("p={policy}")),
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemoryZone;

    #[test]
    fn mailto() {
        let cases = [
            ("mailto:d@example.test", Some("example.test")),
            ("MAILTO:d@Example.TEST!10m", Some("example.test")),
            ("mailto:example.test", None),
            ("https://example.test/r", None),
            ("mailto:@example.test", None),
        ];
        for (uri, want) in cases {
            assert_eq!(mailto_domain(uri).as_deref(), want, "{uri}");
        }
    }

    #[test]
    fn policy_rewrite() {
        assert_eq!(
            with_policy("v=DMARC1; p=none; rua=mailto:a@b.test", "quarantine"),
            "v=DMARC1; p=quarantine; rua=mailto:a@b.test"
        );
        assert_eq!(
            with_policy("v=DMARC1; rua=mailto:a@b.test", "quarantine"),
            "v=DMARC1; p=quarantine; rua=mailto:a@b.test"
        );
    }

    #[tokio::test]
    async fn table() {
        let zone = MemoryZone::new()
            .txt("_dmarc.ok.test", "v=DMARC1; p=reject; rua=mailto:d@ok.test")
            .txt("_dmarc.none.test", "v=DMARC1; p=none; rua=mailto:d@none.test")
            .txt("_dmarc.org.test", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@org.test")
            .txt("_dmarc.ext.test", "v=DMARC1; p=reject; rua=mailto:d@ok.test,mailto:d@far.test")
            .txt("ext.test._report._dmarc.ok.test", "v=DMARC1")
            .txt("_dmarc.bad.test", "v=DMARC1; p=always; adkim=x; pct=200; fo=2; rf=xml; ri=soon")
            .txt("_dmarc.order.test", "p=reject; v=DMARC1")
            .txt("_dmarc.nop.test", "v=DMARC1; rua=mailto:d@nop.test")
            .txt("_dmarc.pct.test", "v=DMARC1; p=reject; pct=50; rua=mailto:d@pct.test")
            .txt("_dmarc.typo.test", "v=DMARC1; p=reject; rue=mailto:d@typo.test")
            .txt("_dmarc.uri.test", "v=DMARC1; p=reject; rua=d@uri.test");
        let cases: &[(&str, &[&str])] = &[
            ("ok.test", &["dmarc_ok"]),
            ("none.test", &["dmarc_policy_none"]),
            ("sub.org.test", &["dmarc_ok", "dmarc_inherited"]),
            ("ext.test", &["dmarc_external_report_unauthorized"]),
            (
                "bad.test",
                &[
                    "dmarc_invalid_value",
                    "dmarc_invalid_value",
                    "dmarc_invalid_value",
                    "dmarc_invalid_value",
                    "dmarc_invalid_value",
                    "dmarc_invalid_value",
                    "dmarc_no_reports",
                ],
            ),
            ("order.test", &["dmarc_syntax"]),
            ("nop.test", &["dmarc_policy_missing"]),
            ("pct.test", &["dmarc_pct_partial"]),
            ("typo.test", &["dmarc_unknown_tag", "dmarc_no_reports"]),
            ("uri.test", &["dmarc_invalid_uri", "dmarc_no_reports"]),
            ("nothing.test", &["dmarc_missing"]),
        ];
        for (domain, want) in cases {
            let r = check_dmarc(&zone, domain).await;
            let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
            assert_eq!(codes, *want, "{domain}");
        }
    }
}
