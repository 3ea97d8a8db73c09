//! The report types: what the wizard, the CLI (`--json`) and the server API show.
//!
//! The JSON shape is a contract (`{"domain": …, "checks": {"mx": …, "spf": …}}`); finding
//! codes are stable snake_case identifiers that the UI may key translations on, so a code is
//! never renamed, only added.

use serde::{Deserialize, Serialize};

/// Outcome of one check: the worst severity among its findings.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to fix.
    Pass,
    /// Nothing to judge: an optional record that is not published (MTA-STS, TLS-RPT), or a
    /// check given nothing to compare against (no CNAME expected). Neither a pass nor a
    /// problem, and never shown as one.
    Unset,
    /// Works, but should be improved.
    Warn,
    /// Broken or unsafe: mail will bounce, be spoofable or land in spam.
    Fail,
}

/// How serious one finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A fact worth showing (what was found); never changes the status.
    Info,
    /// Makes the check `warn`.
    Warn,
    /// Makes the check `fail`.
    Fail,
}

/// One thing a check found, in plain language, with the record to publish when we know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Finding {
    /// Stable snake_case identifier (e.g. `spf_pass_all`).
    pub code: String,
    /// How serious it is.
    pub severity: Severity,
    /// Plain-language explanation for an admin.
    pub message: String,
    /// The exact record to publish (zone-file syntax), when the fix is a record.
    pub fix: Option<String>,
}

impl Finding {
    /// A finding without a fix.
    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Self {
        Finding { code: code.to_owned(), severity, message: message.into(), fix: None }
    }

    /// Attaches the record to publish.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Status derived from findings: the worst severity, `info` counting as pass.
pub fn status_of(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| match f.severity {
            Severity::Info => Status::Pass,
            Severity::Warn => Status::Warn,
            Severity::Fail => Status::Fail,
        })
        .max()
        .unwrap_or(Status::Pass)
}

/// Result of the MX, DKIM, DMARC, CNAME, MTA-STS and TLS-RPT checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct CheckResult {
    /// Worst severity among the findings.
    pub status: Status,
    /// What was found, in order.
    pub findings: Vec<Finding>,
}

impl CheckResult {
    /// Builds a result whose status follows from the findings.
    pub fn from_findings(findings: Vec<Finding>) -> Self {
        CheckResult { status: status_of(&findings), findings }
    }

    /// A result with nothing to judge ([`Status::Unset`]); the findings say why.
    pub fn unset(findings: Vec<Finding>) -> Self {
        CheckResult { status: Status::Unset, findings }
    }
}

/// Result of the SPF check, with the RFC 7208 §4.6.4 counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct SpfResult {
    /// Worst severity among the findings.
    pub status: Status,
    /// DNS-querying terms (include, a, mx, ptr, exists, redirect) over the whole tree; limit 10.
    pub lookups: u32,
    /// Queries of those terms that returned NXDOMAIN or no data; limit 2.
    pub void_lookups: u32,
    /// What was found, in order.
    pub findings: Vec<Finding>,
}

/// All checks of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct Checks {
    /// Mail exchangers.
    pub mx: CheckResult,
    /// Sender Policy Framework.
    pub spf: SpfResult,
    /// DomainKeys Identified Mail selectors.
    pub dkim: CheckResult,
    /// DMARC policy.
    pub dmarc: CheckResult,
    /// Expected CNAMEs (custom login host and the like).
    pub cname: CheckResult,
    /// Informational: MTA-STS (RFC 8461); never affects [`DomainReport::passed`].
    pub mta_sts: CheckResult,
    /// Informational: SMTP TLS reporting (RFC 8460); never affects [`DomainReport::passed`].
    pub tls_rpt: CheckResult,
}

/// The report for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
pub struct DomainReport {
    /// The domain checked, lower-case, without trailing dot.
    pub domain: String,
    /// One result per check.
    pub checks: Checks,
}

impl DomainReport {
    /// True when none of MX, SPF, DKIM, DMARC and CNAME failed (warnings pass).
    pub fn passed(&self) -> bool {
        self.main_statuses().iter().all(|(_, s)| *s != Status::Fail)
    }

    /// The five checks that decide [`DomainReport::passed`], by name.
    pub fn main_statuses(&self) -> [(&'static str, Status); 5] {
        let c = &self.checks;
        [
            ("mx", c.mx.status),
            ("spf", c.spf.status),
            ("dkim", c.dkim.status),
            ("dmarc", c.dmarc.status),
            ("cname", c.cname.status),
        ]
    }

    /// Every finding with the name of its check, in report order.
    pub fn all_findings(&self) -> impl Iterator<Item = (&'static str, &Finding)> {
        let c = &self.checks;
        c.mx.findings
            .iter()
            .map(|f| ("mx", f))
            .chain(c.spf.findings.iter().map(|f| ("spf", f)))
            .chain(c.dkim.findings.iter().map(|f| ("dkim", f)))
            .chain(c.dmarc.findings.iter().map(|f| ("dmarc", f)))
            .chain(c.cname.findings.iter().map(|f| ("cname", f)))
            .chain(c.mta_sts.findings.iter().map(|f| ("mta_sts", f)))
            .chain(c.tls_rpt.findings.iter().map(|f| ("tls_rpt", f)))
    }
}
