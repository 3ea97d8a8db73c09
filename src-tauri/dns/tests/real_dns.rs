//! Integration tests against a real authoritative DNS server (knotd on loopback) serving
//! `tests/zones/test.zone`. Every finding code has a fixture domain and a row below that
//! asserts the exact codes and status of its check; `every_code_has_a_fixture` keeps it so.

#[path = "support/knot.rs"]
mod knot;

use std::collections::BTreeSet;
use std::process::ExitCode;

use knot::{Knot, zones_dir};
use postdesk_dns::cli::{DnsCheckArgs, run_to};
use postdesk_dns::{
    CheckOptions, CheckResult, CnameExpectation, DomainReport, HickoryLookup, Status, check_domain, check_domains,
};

fn server() -> Knot {
    let zone = zones_dir().join("test.zone");
    Knot::start(&[("test.", zone.as_path())])
}

fn lookup(knot: &Knot) -> HickoryLookup {
    HickoryLookup::with_server(knot.addr).expect("resolver for the loopback server")
}

/// Options of one row.
#[derive(Clone, Copy)]
enum Opt {
    Plain,
    Selector(&'static str),
    ServerIp(&'static str),
    ExpectMx(&'static str),
    Cname(&'static str),
}

impl Opt {
    fn options(self) -> CheckOptions {
        let mut o = CheckOptions::default();
        match self {
            Opt::Plain => {}
            Opt::Selector(s) => o.dkim_selectors = vec![s.to_owned()],
            Opt::ServerIp(ip) => o.server_ip = Some(ip.parse().expect("test IP")),
            Opt::ExpectMx(h) => o.expected_mx = Some(h.to_owned()),
            Opt::Cname(c) => o.expect_cnames = vec![c.parse::<CnameExpectation>().expect("HOST=TARGET")],
        }
        o
    }
}

/// (domain, options, check, exact codes in order, status)
type Row = (&'static str, Opt, &'static str, &'static [&'static str], Status);

use Opt::*;
use Status::{Fail, Pass, Unset, Warn};

const ROWS: &[Row] = &[
    // ---- MX
    ("good.test", Plain, "mx", &["mx_ok"], Pass),
    ("good.test", ExpectMx("mx.good.test"), "mx", &["mx_ok"], Pass),
    ("good.test", ExpectMx("mail.elsewhere.test"), "mx", &["mx_expected_missing"], Fail),
    ("nullmx.test", Plain, "mx", &["mx_null"], Warn),
    ("nullmx.test", ExpectMx("mx.good.test"), "mx", &["mx_null"], Fail),
    ("nullmixed.test", Plain, "mx", &["mx_null_mixed"], Fail),
    ("implicit.test", Plain, "mx", &["mx_implicit"], Warn),
    ("nomail.test", Plain, "mx", &["mx_missing"], Fail),
    ("absent.test", Plain, "mx", &["mx_missing"], Fail),
    ("mxliteral.test", Plain, "mx", &["mx_target_ip_literal"], Fail),
    ("mxcname.test", Plain, "mx", &["mx_target_cname"], Warn),
    ("mxdangling.test", Plain, "mx", &["mx_target_unresolvable"], Fail),
    // The server is not authoritative for .zz and answers REFUSED.
    ("notserved.zz", Plain, "mx", &["dns_error"], Fail),
    // ---- SPF
    ("good.test", Plain, "spf", &["spf_ok"], Pass),
    ("good.test", ServerIp("192.0.2.10"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("good.test", ServerIp("198.51.100.20"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("good.test", ServerIp("203.0.113.1"), "spf", &["spf_server_not_authorized"], Fail),
    ("nomail.test", Plain, "spf", &["spf_missing"], Fail),
    ("spf-multi.test", Plain, "spf", &["spf_multiple"], Fail),
    ("spf-split.test", Plain, "spf", &["spf_ok"], Pass),
    ("spf-badip.test", Plain, "spf", &["spf_invalid_ip"], Fail),
    ("spf-badcidr.test", Plain, "spf", &["spf_invalid_cidr"], Fail),
    ("spf-unknown.test", Plain, "spf", &["spf_unknown_mechanism"], Fail),
    ("spf-qualifier.test", Plain, "spf", &["spf_invalid_qualifier", "spf_no_all"], Fail),
    ("spf-baddomain.test", Plain, "spf", &["spf_invalid_domain"], Fail),
    ("spf-badterm.test", Plain, "spf", &["spf_invalid_term"], Fail),
    ("spf-dupmod.test", Plain, "spf", &["spf_duplicate_modifier"], Fail),
    ("spf-unknownmod.test", Plain, "spf", &["spf_unknown_modifier"], Warn),
    ("spf-toomany.test", Plain, "spf", &["spf_too_many_lookups"], Fail),
    ("spf-void.test", Plain, "spf", &["spf_too_many_void_lookups"], Fail),
    ("spf-loop.test", Plain, "spf", &["spf_include_loop"], Fail),
    ("spf-incmissing.test", Plain, "spf", &["spf_include_missing"], Fail),
    ("spf-redirmissing.test", Plain, "spf", &["spf_redirect_missing"], Fail),
    ("spf-plusall.test", Plain, "spf", &["spf_pass_all"], Fail),
    ("spf-neutralall.test", Plain, "spf", &["spf_neutral_all"], Fail),
    ("spf-softall.test", Plain, "spf", &["spf_softfail_all"], Warn),
    ("spf-noall.test", Plain, "spf", &["spf_no_all"], Warn),
    ("spf-ptr.test", Plain, "spf", &["spf_ptr"], Warn),
    ("spf-afterall.test", Plain, "spf", &["spf_terms_after_all"], Warn),
    ("spf-redirignored.test", Plain, "spf", &["spf_redirect_ignored"], Warn),
    ("spf-macro.test", Plain, "spf", &["spf_ok", "spf_macro_not_evaluated"], Pass),
    ("spf-macro.test", ServerIp("192.0.2.50"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("spf-macro.test", ServerIp("192.0.2.51"), "spf", &["spf_server_not_authorized"], Fail),
    ("spf-auth.test", ServerIp("203.0.113.5"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("spf-auth.test", ServerIp("203.0.113.6"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("spf-auth.test", ServerIp("2001:db8:5::1"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("spf-auth.test", ServerIp("203.0.113.99"), "spf", &["spf_server_not_authorized"], Fail),
    ("spf-redirect.test", ServerIp("203.0.113.6"), "spf", &["spf_ok", "spf_server_authorized"], Pass),
    ("notserved.zz", Plain, "spf", &["dns_error"], Fail),
    // ---- DKIM
    ("good.test", Plain, "dkim", &["dkim_ok"], Pass),
    ("good.test", Selector("postdesk"), "dkim", &["dkim_ok"], Pass),
    ("good.test", Selector("missing"), "dkim", &["dkim_missing"], Fail),
    ("nomail.test", Plain, "dkim", &["dkim_not_found"], Warn),
    ("dkim.test", Selector("good"), "dkim", &["dkim_ok"], Pass),
    ("dkim.test", Selector("ed"), "dkim", &["dkim_ok"], Pass),
    ("dkim.test", Selector("multi"), "dkim", &["dkim_multiple"], Fail),
    ("dkim.test", Selector("syntax"), "dkim", &["dkim_syntax"], Fail),
    ("dkim.test", Selector("revoked"), "dkim", &["dkim_revoked"], Fail),
    ("dkim.test", Selector("dsa"), "dkim", &["dkim_unknown_key_type"], Fail),
    ("dkim.test", Selector("invalid"), "dkim", &["dkim_key_invalid"], Fail),
    ("dkim.test", Selector("weak"), "dkim", &["dkim_key_weak"], Fail),
    ("dkim.test", Selector("short"), "dkim", &["dkim_key_short"], Warn),
    ("dkim.test", Selector("testmode"), "dkim", &["dkim_test_mode"], Warn),
    ("dkim.test", Selector("sha1"), "dkim", &["dkim_sha1"], Warn),
    ("notserved.zz", Plain, "dkim", &["dns_error"], Fail),
    // ---- DMARC
    ("good.test", Plain, "dmarc", &["dmarc_ok"], Pass),
    ("nomail.test", Plain, "dmarc", &["dmarc_missing"], Fail),
    ("sub.inherit.test", Plain, "dmarc", &["dmarc_ok", "dmarc_inherited"], Pass),
    ("dmarc-multi.test", Plain, "dmarc", &["dmarc_multiple"], Fail),
    ("dmarc-syntax.test", Plain, "dmarc", &["dmarc_syntax"], Fail),
    ("dmarc-nop.test", Plain, "dmarc", &["dmarc_policy_missing"], Fail),
    ("dmarc-values.test", Plain, "dmarc", &["dmarc_invalid_value"], Fail),
    ("dmarc-unknown.test", Plain, "dmarc", &["dmarc_unknown_tag"], Warn),
    ("dmarc-none.test", Plain, "dmarc", &["dmarc_policy_none"], Warn),
    ("dmarc-pct.test", Plain, "dmarc", &["dmarc_pct_partial"], Warn),
    ("dmarc-uri.test", Plain, "dmarc", &["dmarc_invalid_uri", "dmarc_no_reports"], Fail),
    ("dmarc-norua.test", Plain, "dmarc", &["dmarc_ok", "dmarc_no_reports"], Pass),
    ("dmarc-ext.test", Plain, "dmarc", &["dmarc_external_report_unauthorized"], Warn),
    ("notserved.zz", Plain, "dmarc", &["dns_error"], Fail),
    // ---- CNAME
    ("good.test", Plain, "cname", &["cname_none_expected"], Unset),
    ("good.test", Cname("login=app.provider.test"), "cname", &["cname_ok"], Pass),
    ("good.test", Cname("login.good.test=app.provider.test"), "cname", &["cname_ok"], Pass),
    ("good.test", Cname("login=other.provider.test"), "cname", &["cname_wrong_target"], Fail),
    ("good.test", Cname("www=app.provider.test"), "cname", &["cname_missing"], Fail),
    ("good.test", Cname("nope=app.provider.test"), "cname", &["cname_missing"], Fail),
    ("notserved.zz", Cname("login=app.provider.test"), "cname", &["dns_error"], Fail),
    // ---- MTA-STS / TLS-RPT (informational)
    ("good.test", Plain, "mta_sts", &["mta_sts_found"], Pass),
    ("nomail.test", Plain, "mta_sts", &["mta_sts_missing"], Unset),
    ("sts-bad.test", Plain, "mta_sts", &["mta_sts_invalid"], Warn),
    ("notserved.zz", Plain, "mta_sts", &["dns_error"], Fail),
    ("good.test", Plain, "tls_rpt", &["tls_rpt_found"], Pass),
    ("nomail.test", Plain, "tls_rpt", &["tls_rpt_missing"], Unset),
    ("sts-bad.test", Plain, "tls_rpt", &["tls_rpt_invalid"], Warn),
];

fn check_of(report: &DomainReport, name: &str) -> CheckResult {
    let c = &report.checks;
    match name {
        "mx" => c.mx.clone(),
        "spf" => CheckResult { status: c.spf.status, findings: c.spf.findings.clone() },
        "dkim" => c.dkim.clone(),
        "dmarc" => c.dmarc.clone(),
        "cname" => c.cname.clone(),
        "mta_sts" => c.mta_sts.clone(),
        "tls_rpt" => c.tls_rpt.clone(),
        other => panic!("unknown check {other}"),
    }
}

#[tokio::test]
async fn every_row_gives_its_exact_codes_and_status() {
    let knot = server();
    let dns = lookup(&knot);
    let mut failures = Vec::new();
    for (domain, opt, check, codes, status) in ROWS {
        let report = check_domain(&dns, domain, &opt.options()).await.expect("valid domain");
        let result = check_of(&report, check);
        let got: Vec<&str> = result.findings.iter().map(|f| f.code.as_str()).collect();
        if got != *codes || result.status != *status {
            failures.push(format!(
                "{domain} {check}: want {codes:?} {status:?}, got {got:?} {:?}\n  {:#?}",
                result.status, result.findings
            ));
        }
    }
    assert!(failures.is_empty(), "{} rows differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_code_has_a_fixture() {
    let covered: BTreeSet<&str> = ROWS.iter().flat_map(|r| r.3.iter().copied()).collect();
    let missing: Vec<&str> = postdesk_dns::all_codes().into_iter().filter(|c| !covered.contains(c)).collect();
    assert!(missing.is_empty(), "finding codes without a fixture row: {missing:?}");
}

#[tokio::test]
async fn spf_counts_lookups_and_void_lookups() {
    let knot = server();
    let dns = lookup(&knot);
    let cases = [
        ("good.test", 2, 0),
        ("spf-split.test", 0, 0),
        ("spf-toomany.test", 12, 0),
        ("spf-void.test", 3, 3),
        ("spf-incmissing.test", 1, 1),
        ("spf-ptr.test", 1, 0),
        ("spf-dupmod.test", 3, 0),
        ("spf-redirect.test", 4, 0),
        ("spf-afterall.test", 0, 0),
    ];
    for (domain, lookups, voids) in cases {
        let r = check_domain(&dns, domain, &CheckOptions::default()).await.expect("valid domain");
        assert_eq!(
            (r.checks.spf.lookups, r.checks.spf.void_lookups),
            (lookups, voids),
            "{domain}: {:#?}",
            r.checks.spf.findings
        );
    }
}

#[tokio::test]
async fn fixes_are_exact_records() {
    let knot = server();
    let dns = lookup(&knot);
    let fix = |r: &CheckResult, code: &str| {
        r.findings
            .iter()
            .find(|f| f.code == code)
            .and_then(|f| f.fix.clone())
            .unwrap_or_else(|| panic!("no fix for {code}"))
    };
    let r = check_domain(&dns, "nomail.test", &CheckOptions::default()).await.expect("ok");
    assert_eq!(
        fix(&r.checks.dmarc, "dmarc_missing"),
        "_dmarc.nomail.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@nomail.test\""
    );
    assert_eq!(fix(&r.checks.mx, "mx_missing"), "nomail.test. IN MX 10 mail.nomail.test.");
    let spf = CheckResult { status: r.checks.spf.status, findings: r.checks.spf.findings.clone() };
    assert_eq!(fix(&spf, "spf_missing"), "nomail.test. IN TXT \"v=spf1 mx -all\"");

    let r = check_domain(&dns, "good.test", &Opt::ServerIp("203.0.113.1").options()).await.expect("ok");
    let spf = CheckResult { status: r.checks.spf.status, findings: r.checks.spf.findings.clone() };
    assert_eq!(
        fix(&spf, "spf_server_not_authorized"),
        "good.test. IN TXT \"v=spf1 mx ip4:192.0.2.0/24 include:_spf.good.test ip4:203.0.113.1 -all\""
    );

    let r = check_domain(&dns, "good.test", &Opt::Cname("login=other.provider.test").options()).await.expect("ok");
    assert_eq!(fix(&r.checks.cname, "cname_wrong_target"), "login.good.test. IN CNAME other.provider.test.");

    let r = check_domain(&dns, "dmarc-ext.test", &CheckOptions::default()).await.expect("ok");
    assert_eq!(
        fix(&r.checks.dmarc, "dmarc_external_report_unauthorized"),
        "dmarc-ext.test._report._dmarc.reports.test. IN TXT \"v=DMARC1\""
    );

    let r = check_domain(&dns, "dmarc-none.test", &CheckOptions::default()).await.expect("ok");
    assert_eq!(
        fix(&r.checks.dmarc, "dmarc_policy_none"),
        "_dmarc.dmarc-none.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:d@dmarc-none.test\""
    );

    let r = check_domain(&dns, "good.test", &Opt::ExpectMx("mail.elsewhere.test").options()).await.expect("ok");
    assert_eq!(fix(&r.checks.mx, "mx_expected_missing"), "good.test. IN MX 10 mail.elsewhere.test.");
}

#[tokio::test]
async fn many_domains_concurrently_in_order() {
    let knot = server();
    let dns = lookup(&knot);
    let domains: Vec<String> = ROWS.iter().map(|r| r.0.to_owned()).collect::<BTreeSet<_>>().into_iter().collect();
    let reports = check_domains(&dns, &domains, &CheckOptions::default(), 8).await;
    assert_eq!(reports.len(), domains.len());
    for (domain, report) in domains.iter().zip(&reports) {
        let report = report.as_ref().expect("valid domain");
        assert_eq!(&report.domain, domain);
    }
}

/// Several domains checked together: each report holds only its own CNAME expectations
/// (an absolute alias under good.test is not a failure of warnonly.test), relative ones
/// apply to each.
#[tokio::test]
async fn each_domain_is_held_to_its_own_cname_expectations() {
    let knot = server();
    let mut a = args(&knot, &["good.test", "warnonly.test"]);
    a.expect_cnames = vec!["login.good.test=app.provider.test".into()];
    let mut out = Vec::new();
    run_to(a, &mut out).await;
    let json: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let codes = |i: usize| -> Vec<String> {
        json[i]["checks"]["cname"]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["code"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!((json[0]["domain"].as_str(), codes(0)), (Some("good.test"), vec!["cname_ok".to_owned()]));
    assert_eq!(json[0]["checks"]["cname"]["status"], "pass");
    assert_eq!(codes(1), ["cname_none_expected"], "{:#}", json[1]["checks"]["cname"]);
    assert_eq!(json[1]["checks"]["cname"]["status"], "unset");

    // A relative alias is every domain's: warnonly.test has no login alias, so it fails there.
    let mut a = args(&knot, &["good.test", "warnonly.test"]);
    a.expect_cnames = vec!["login=app.provider.test".into()];
    let mut out = Vec::new();
    run_to(a, &mut out).await;
    let json: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    assert_eq!(json[0]["checks"]["cname"]["status"], "pass");
    assert_eq!(json[1]["checks"]["cname"]["status"], "fail");
}

fn args(knot: &Knot, domains: &[&str]) -> DnsCheckArgs {
    DnsCheckArgs {
        resolver: Some(knot.addr.to_string()),
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
async fn cli_json_and_exit_codes() {
    let knot = server();

    // good.test passes, spf-softall.test fails (a soft-failing `all`, the server not
    // authorised): one JSON array with one object per domain, and the run fails.
    let mut a = args(&knot, &["good.test", "spf-softall.test"]);
    a.server_ip = Some("192.0.2.10".into());
    a.expect_cnames = vec!["login=app.provider.test".into()];
    let mut out = Vec::new();
    let code = run_to(a, &mut out).await;
    let json: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let arr = json.as_array().expect("a JSON array");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["domain"], "good.test");
    assert_eq!(arr[0]["checks"]["spf"]["lookups"], 2);
    assert_eq!(arr[0]["checks"]["spf"]["void_lookups"], 0);
    let codes: Vec<&str> = arr[1]["checks"]["spf"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, ["spf_softfail_all", "spf_server_not_authorized"]);
    assert_eq!(arr[1]["checks"]["spf"]["status"], "fail");
    // spf-softall.test has no MX/DMARC and does not authorise the server: the run fails.
    assert_eq!(code, ExitCode::from(1));

    let mut a = args(&knot, &["good.test"]);
    a.server_ip = Some("192.0.2.10".into());
    let mut out = Vec::new();
    assert_eq!(run_to(a, &mut out).await, ExitCode::SUCCESS);

    // An expected MX that is among the domain's MX hosts passes.
    let mut a = args(&knot, &["good.test"]);
    a.dkim_selectors = vec!["postdesk".into()];
    a.expect_mx = Some("mx.good.test".into());
    let mut out = Vec::new();
    assert_eq!(run_to(a, &mut out).await, ExitCode::SUCCESS);

    // A warning alone does not fail the run: warnonly.test passes everything but DMARC,
    // whose p=none is a warning.
    let mut a = args(&knot, &["warnonly.test"]);
    a.dkim_selectors = vec!["postdesk".into()];
    let mut out = Vec::new();
    assert_eq!(run_to(a, &mut out).await, ExitCode::SUCCESS);
    let json: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let statuses: Vec<(String, String)> = json[0]["checks"]
        .as_object()
        .expect("checks")
        .iter()
        .map(|(check, r)| (check.clone(), r["status"].as_str().unwrap_or_default().to_string()))
        .filter(|(_, status)| status != "pass" && status != "unset")
        .collect();
    assert_eq!(statuses, [("dmarc".to_string(), "warn".to_string())], "{json}");
    // No alias was asked for: the CNAME check says it checked nothing, not that it passed.
    assert_eq!(json[0]["checks"]["cname"]["status"], "unset", "{json}");
    assert_eq!(json[0]["checks"]["dmarc"]["findings"][0]["code"], "dmarc_policy_none");

    // Readable output mentions each check and the fix.
    let mut a = args(&knot, &["nomail.test"]);
    a.json = false;
    let mut out = Vec::new();
    assert_eq!(run_to(a, &mut out).await, ExitCode::from(1));
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("[dmarc_missing]"), "{text}");
    assert!(text.contains("publish: _dmarc.nomail.test. IN TXT"), "{text}");

    // Usage error.
    let mut a = args(&knot, &["good.test"]);
    a.resolver = Some("nonsense".into());
    assert_eq!(run_to(a, &mut Vec::new()).await, ExitCode::from(2));
}
