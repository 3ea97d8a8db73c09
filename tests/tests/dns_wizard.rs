//! The DNS wizard through the Backend (in-process and remote), against a real
//! authoritative server (knotd on loopback): the records `dns_setup` asks for, once
//! published, check green; each one missing or wrong is reported with its fix.

use crate::knot;

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_dns::Status;
use postdesk_tests::{Harness, Kind};

/// A TXT value in zone syntax, split into strings of at most 255 bytes.
fn txt(value: &str) -> String {
    value.as_bytes().chunks(255).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

/// Writes a zone file: `base` plus `records` (leaving out the checks in `omit`).
fn zone(dir: &std::path::Path, name: &str, base: &str, records: &[DnsRecord], omit: &[&str]) -> std::path::PathBuf {
    let mut z = base.to_string();
    for r in records.iter().filter(|r| !omit.contains(&r.check.as_str())) {
        let data = if r.record_type == "TXT" { txt(&r.value) } else { r.value.clone() };
        z.push_str(&format!("{}. {} {}\n", r.name, r.record_type, data));
    }
    let path = dir.join(format!("wizard-{name}.zone"));
    std::fs::write(&path, z).unwrap();
    path
}

const BASE: &str = "$ORIGIN wizard.test.\n$TTL 60\n@ SOA ns.wizard.test. admin.wizard.test. 1 60 60 600 60\n\
    @ NS ns.wizard.test.\nns A 127.0.0.1\nmx A 192.0.2.10\n";

async fn wizard(kind: Kind) {
    let seed = Harness::new(kind).await;
    seed.domain("wizard.test", 10).await;
    let key =
        seed.owner.create_dkim_key(CreateDkimKey { domain: "wizard.test".into(), ..Default::default() }).await.unwrap();
    let params = || DnsSetup {
        domain: "wizard.test".into(),
        mail_host: "mx.wizard.test".into(),
        server_ip: Some("192.0.2.10".into()),
    };
    let dir = tempfile::tempdir().unwrap();

    // Nothing published yet: the wizard lists what to publish and every check says what is missing.
    let empty = zone(dir.path(), "empty", BASE, &[], &[]);
    let server = knot::Knot::start(&[("wizard.test.", empty.as_path())]);
    let plan = seed.reopen(kind, Some(server.addr)).await.owner.dns_setup(params()).await.unwrap();
    drop(server);
    let checks: Vec<&str> = plan.records.iter().map(|r| r.check.as_str()).collect();
    assert_eq!(checks, ["mx", "spf", "dkim", "dmarc", "cname"]);
    let dkim = plan.records.iter().find(|r| r.check == "dkim").unwrap();
    assert_eq!((dkim.name.as_str(), dkim.value.as_str()), (key.record_name.as_str(), key.record_value.as_str()));
    for (name, status) in plan.report.main_statuses() {
        assert_eq!(status, Status::Fail, "{name} should fail on an empty zone: {:#?}", plan.report);
    }
    // Each record to publish is exactly the fix its failing check offers (one text, not two).
    let fixes: Vec<String> = plan.report.all_findings().filter_map(|(_, f)| f.fix.clone()).collect();
    for r in plan.records.iter().filter(|r| r.check != "dkim") {
        let data = if r.record_type == "TXT" { txt(&r.value) } else { r.value.clone() };
        let line = format!("{}. IN {} {}", r.name, r.record_type, data);
        assert!(fixes.contains(&line), "the plan's {line:?} is not among the fixes {fixes:#?}");
    }

    // Published exactly as asked: every check passes.
    let all = zone(dir.path(), "all", BASE, &plan.records, &[]);
    let server = knot::Knot::start(&[("wizard.test.", all.as_path())]);
    let report = seed.reopen(kind, Some(server.addr)).await.owner.dns_setup(params()).await.unwrap().report;
    for (name, status) in report.main_statuses() {
        assert_eq!(status, Status::Pass, "{name}: {report:#?}");
    }
    drop(server);

    // DKIM and the login CNAME left out: those fail, with the record to publish.
    let partial = zone(dir.path(), "partial", BASE, &plan.records, &["dkim", "cname"]);
    let server = knot::Knot::start(&[("wizard.test.", partial.as_path())]);
    let h = seed.reopen(kind, Some(server.addr)).await;
    let report = h.owner.dns_setup(params()).await.unwrap().report;
    assert_eq!((report.checks.dkim.status, report.checks.cname.status), (Status::Fail, Status::Fail), "{report:#?}");
    assert_eq!((report.checks.mx.status, report.checks.spf.status), (Status::Pass, Status::Pass), "{report:#?}");
    let cname_fix = report.checks.cname.findings.iter().find_map(|f| f.fix.clone()).unwrap_or_default();
    assert!(cname_fix.contains("mx.wizard.test"), "{cname_fix}");
    // check_dns defaults to the domain's own DKIM selectors, and refuses malformed input.
    let own = CheckDns { domain: "wizard.test".into(), ..Default::default() };
    let checked = h.owner.check_dns(own).await.unwrap();
    assert!(checked.checks.dkim.findings.iter().any(|f| f.message.contains(&key.selector)), "{checked:#?}");
    let bad = CheckDns {
        domain: "wizard.test".into(),
        expect_cnames: Some(vec!["nonsense".into()]),
        server_ip: Some("1.2.3".into()),
        ..Default::default()
    };
    let err = h.owner.check_dns(bad).await.unwrap_err();
    assert_eq!(err.code, postdesk_contract::ErrorCode::Validation, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_wizard_against_real_dns() {
    wizard(Kind::Local).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_wizard_against_real_dns() {
    wizard(Kind::Remote).await
}
