//! CNAME check: hosts that must be aliases of a given target (the custom login host, an
//! autodiscover name, a provider's DKIM delegation).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DnsError;
use crate::fix::{fqdn, record};
use crate::mx::dns_error;
use crate::names::normalize_domain;
use crate::report::{CheckResult, Finding, Severity};
use crate::resolver::{Answer, DnsLookup, Record, RecordType};

/// Codes this check can emit.
pub const CODES: &[&str] = &["dns_error", "cname_ok", "cname_missing", "cname_wrong_target", "cname_none_expected"];

/// `HOST=TARGET`: HOST must be a CNAME to TARGET. A HOST without a dot is relative to the
/// domain checked (`autodiscover` → `autodiscover.example.com`; `@` is the domain itself);
/// anything with a dot is absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct CnameExpectation {
    /// The alias, absolute or relative (see the type's docs).
    pub host: String,
    /// The name it must point at.
    pub target: String,
}

impl FromStr for CnameExpectation {
    type Err = DnsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, target) =
            s.split_once('=').ok_or_else(|| DnsError::Validation(format!("{s:?} is not HOST=TARGET")))?;
        let host = host.trim();
        let host = if host == "@" { "@".to_owned() } else { normalize_domain(host)? };
        Ok(CnameExpectation { host, target: normalize_domain(target)? })
    }
}

impl CnameExpectation {
    /// The absolute alias name for `domain`.
    pub fn host_for(&self, domain: &str) -> String {
        if self.host == "@" {
            domain.to_owned()
        } else if self.host.contains('.') {
            self.host.clone()
        } else {
            format!("{}.{domain}", self.host)
        }
    }

    /// True when the alias is `domain` itself or a name under it (always for a relative HOST).
    pub fn belongs_to(&self, domain: &str) -> bool {
        let host = self.host_for(domain);
        host == domain || host.ends_with(&format!(".{domain}"))
    }
}

/// The expectations that are `domain`'s own when `domains` are checked together: a relative
/// HOST belongs to each domain; an absolute one to the checked domain it lies in (the
/// longest such), so one domain's aliases are never reported under another. An absolute
/// HOST inside none of them belongs to every domain (there is no better owner).
pub fn expectations_for(domain: &str, domains: &[String], expectations: &[CnameExpectation]) -> Vec<CnameExpectation> {
    expectations
        .iter()
        .filter(|e| {
            if e.host == "@" || !e.host.contains('.') {
                return true;
            }
            let owner = domains.iter().filter(|d| e.belongs_to(d)).max_by_key(|d| d.len());
            owner.is_none_or(|d| d == domain)
        })
        .cloned()
        .collect()
}

/// Checks every expectation for `domain`; no expectations means [`Status::Unset`](crate::Status::Unset):
/// nothing was checked, which is not a pass.
pub async fn check_cname(dns: &dyn DnsLookup, domain: &str, expectations: &[CnameExpectation]) -> CheckResult {
    if expectations.is_empty() {
        return CheckResult::unset(vec![Finding::new(
            "cname_none_expected",
            Severity::Info,
            format!(
                "No alias of {domain} was checked: give the mail host (the wizard asks for it) \
                 or the aliases that must exist."
            ),
        )]);
    }
    let results = futures::future::join_all(expectations.iter().map(|exp| async move {
        let host = exp.host_for(domain);
        let fix = record(&host, "CNAME", &fqdn(&exp.target));
        match dns.query(&host, RecordType::Cname).await {
            Err(e) => dns_error(&e),
            Ok(ans) => {
                let target = ans.records().iter().find_map(|r| match r {
                    Record::Cname(t) => Some(t.clone()),
                    _ => None,
                });
                match target {
                    Some(t) if t == exp.target => {
                        Finding::new("cname_ok", Severity::Info, format!("{host} points at {t}, as expected."))
                    }
                    Some(t) => Finding::new(
                        "cname_wrong_target",
                        Severity::Fail,
                        format!(
                            "{host} is an alias of {t}, but it should point at {}. Change the \
                             CNAME record.",
                            exp.target
                        ),
                    )
                    .with_fix(fix),
                    None => Finding::new(
                        "cname_missing",
                        Severity::Fail,
                        format!(
                            "{host} {} it should be an alias (CNAME) of {}. Publish the record \
                             below{}.",
                            if ans == Answer::NxDomain { "does not exist;" } else { "is not an alias;" },
                            exp.target,
                            if ans == Answer::NxDomain { "" } else { " and remove the other records at that name" }
                        ),
                    )
                    .with_fix(fix),
                }
            }
        }
    }))
    .await;
    CheckResult::from_findings(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemoryZone;

    #[test]
    fn parses_expectations() {
        let e: CnameExpectation = "Login=Host.Provider.test.".parse().expect("valid");
        assert_eq!(e.host, "login");
        assert_eq!(e.target, "host.provider.test");
        assert_eq!(e.host_for("example.test"), "login.example.test");
        let abs: CnameExpectation = "mail.other.test=x.test".parse().expect("valid");
        assert_eq!(abs.host_for("example.test"), "mail.other.test");
        let apex: CnameExpectation = "@=x.test".parse().expect("valid");
        assert_eq!(apex.host_for("example.test"), "example.test");
        assert!("nohost".parse::<CnameExpectation>().is_err());
        assert!("a b=c.test".parse::<CnameExpectation>().is_err());
    }

    #[tokio::test]
    async fn table() {
        let zone = MemoryZone::new()
            .cname("login.example.test", "app.provider.test")
            .ip("www.example.test", "192.0.2.1".parse().unwrap());
        let cases = [
            ("login=app.provider.test", "cname_ok"),
            ("login=other.provider.test", "cname_wrong_target"),
            ("www=app.provider.test", "cname_missing"),
            ("nope=app.provider.test", "cname_missing"),
        ];
        for (exp, code) in cases {
            let exp: CnameExpectation = exp.parse().expect("valid");
            let r = check_cname(&zone, "example.test", &[exp]).await;
            assert_eq!(r.findings[0].code, code);
        }
    }

    #[test]
    fn each_domain_owns_its_expectations() {
        let domains: Vec<String> = ["a.test", "b.test", "sub.a.test"].map(String::from).into();
        let exps: Vec<CnameExpectation> =
            ["login=x.test", "@=y.test", "mail.b.test=x.test", "w.sub.a.test=x.test", "ext.other=x.test"]
                .iter()
                .map(|e| e.parse().expect("valid"))
                .collect();
        let hosts =
            |d: &str| -> Vec<String> { expectations_for(d, &domains, &exps).iter().map(|e| e.host_for(d)).collect() };
        assert_eq!(hosts("a.test"), ["login.a.test", "a.test", "ext.other"]);
        assert_eq!(hosts("b.test"), ["login.b.test", "b.test", "mail.b.test", "ext.other"]);
        assert_eq!(hosts("sub.a.test"), ["login.sub.a.test", "sub.a.test", "w.sub.a.test", "ext.other"]);
    }

    #[tokio::test]
    async fn nothing_expected_is_not_a_pass() {
        let r = check_cname(&MemoryZone::new(), "example.test", &[]).await;
        assert_eq!(r.status, crate::Status::Unset);
        assert_eq!(r.findings[0].code, "cname_none_expected");
    }
}
