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
pub const CODES: &[&str] = &["dns_error", "cname_ok", "cname_missing", "cname_wrong_target"];

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
}

/// Checks every expectation for `domain`; no expectations means `pass` with no findings.
pub async fn check_cname(dns: &dyn DnsLookup, domain: &str, expectations: &[CnameExpectation]) -> CheckResult {
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
}
