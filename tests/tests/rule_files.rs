//! XLSX files of disclaimer rules and of monitoring rules through the `Backend`, on both
//! implementations: export (values only, never formulas, disclaimers in their order),
//! template, import (each row checked as adding that rule checks it; all or nothing, every
//! problem by row and column), a round trip into a fresh backend, and who may do it.

use std::io::Cursor;

use base64::Engine as _;
use calamine::{Data, Reader, Xlsx};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::monitor::{MonitorAction, MonitorRule, MonitorTraffic};
use postdesk_contract::rules::{DisclaimerRule, DisclaimerScope};
use postdesk_contract::{Backend, ErrorCode, Result};
use postdesk_tests::{Harness, contract, refused, xlsx};

contract!(
    disclaimer_rules_export_in_order_as_values_and_import_into_a_fresh_backend_equal,
    bad_disclaimer_files_are_refused_whole_by_row_and_column,
    monitor_rules_export_as_values_and_import_into_a_fresh_backend_equal,
    bad_monitor_files_are_refused_whole_by_row_and_column,
    rule_file_imports_need_the_page_and_the_domain,
);

const DISCLAIMER_COLUMNS: [&str; 10] = [
    "Name",
    "Scope",
    "Sender",
    "Recipient",
    "Department",
    "Except sender",
    "Except recipient",
    "Except department",
    "Text",
    "HTML",
];
const MONITOR_COLUMNS: [&str; 13] = [
    "Name",
    "Watch department",
    "Watch account",
    "Traffic",
    "Sender",
    "Recipient",
    "Min size (KB)",
    "Keyword",
    "Except sender",
    "Except recipient",
    "Except keyword",
    "Action",
    "Target",
];

fn file(columns: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    let mut all: Vec<Vec<String>> = vec![columns.iter().map(|c| c.to_string()).collect()];
    all.extend(rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()));
    xlsx(&all)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

async fn import_disclaimers(b: &dyn Backend, domain: &str, bytes: &[u8]) -> Result<ImportedRows> {
    let p = ImportDisclaimerRules { domain: domain.into(), file_name: "d.xlsx".into(), content_base64: b64(bytes) };
    b.import_disclaimer_rules(p).await
}

async fn import_monitors(b: &dyn Backend, domain: &str, bytes: &[u8]) -> Result<ImportedRows> {
    let p = ImportMonitorRules { domain: domain.into(), file_name: "m.xlsx".into(), content_base64: b64(bytes) };
    b.import_monitor_rules(p).await
}

async fn disclaimers(b: &dyn Backend, domain: &str) -> Vec<DisclaimerRule> {
    b.list_disclaimer_rules(ListDisclaimerRules { domain: domain.into(), ..Default::default() }).await.unwrap().items
}

async fn monitors(b: &dyn Backend, domain: &str) -> Vec<MonitorRule> {
    b.list_monitor_rules(ListMonitorRules { domain: domain.into(), ..Default::default() }).await.unwrap().items
}

/// (row, column) of every problem of a refusal, in order.
fn places(err: &postdesk_contract::Error) -> Vec<(u32, String)> {
    err.rows.iter().map(|r| (r.row, r.column.clone())).collect()
}

/// The first sheet's cells as text, whether any cell is a formula, whether every non-empty
/// cell is a string cell, and the number of sheets.
fn read_back(content_base64: &str) -> (Vec<Vec<String>>, bool, bool, usize) {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(unb64(content_base64))).unwrap();
    let names = book.sheet_names();
    let first = names[0].clone();
    let formulas = book.worksheet_formula(&first).unwrap();
    let any_formula = formulas.used_cells().any(|(_, _, f)| !f.is_empty());
    let range = book.worksheet_range(&first).unwrap();
    let all_strings = range.used_cells().all(|(_, _, c)| matches!(c, Data::String(_)));
    let rows = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    (rows, any_formula, all_strings, names.len())
}

/// example.com with the departments Sales/East and Legal, the accounts ann (Sales/East),
/// bob and monitor, and the alias team.
async fn world(h: &Harness) {
    h.domain("example.com", 10).await;
    for path in ["Sales/East", "Legal"] {
        let p = CreateDepartment { domain: "example.com".into(), path: path.into(), parents: Some(true) };
        h.owner.create_department(p).await.unwrap();
    }
    h.account("ann@example.com", Some("Sales/East")).await;
    h.account("bob@example.com", None).await;
    h.account("monitor@example.com", None).await;
    let alias =
        CreateAlias { address: "team@example.com".into(), targets: vec!["bob@example.com".into()], description: None };
    h.owner.create_alias(alias).await.unwrap();
}

/// `n` characters that do not compress (so a file of a few such rules is larger than the
/// 64 KiB most routes take).
fn noise(n: usize, seed: u64) -> String {
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,".chars().collect();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            alphabet[(x >> 33) as usize % alphabet.len()]
        })
        .collect()
}

fn disclaimer(name: &str) -> AddDisclaimerRule {
    AddDisclaimerRule {
        domain: "example.com".into(),
        name: name.into(),
        text: "Confidential.".into(),
        ..Default::default()
    }
}

async fn disclaimer_rules_export_in_order_as_values_and_import_into_a_fresh_backend_equal(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let legal = AddDisclaimerRule {
        scope: Some(DisclaimerScope::External),
        recipient: Some("@Partner.Example".into()),
        department: Some("sales".into()),
        except_sender: Some("ann@example.com".into()),
        except_department: Some("legal".into()),
        text: "=cmd|'/C calc'!A0\nSecond line".into(),
        html: Some("<p>+Confidential</p>".into()),
        ..disclaimer("=HYPERLINK(\"x\")")
    };
    let first = b.add_disclaimer_rule(legal).await.unwrap();
    let internal = AddDisclaimerRule { scope: Some(DisclaimerScope::Internal), ..disclaimer("-inside") };
    b.add_disclaimer_rule(internal).await.unwrap();
    // Rules of large, incompressible texts: the file is larger than the 64 KiB of most routes.
    for i in 0..6 {
        let big = AddDisclaimerRule {
            sender: Some(format!("big{i}@example.com")),
            text: noise(16_000, i),
            ..disclaimer(&format!("big {i}"))
        };
        b.add_disclaimer_rule(big).await.unwrap();
    }
    // The first goes last: the export follows the order, not the ids.
    let p = MoveDisclaimerRule { domain: "example.com".into(), id: first.id, position: 8 };
    b.move_disclaimer_rule(p).await.unwrap();

    let exported = b.export_disclaimer_rules(ExportDisclaimerRules { domain: "example.com".into() }).await.unwrap();
    assert_eq!(exported.rows, 8);
    assert!(exported.file_name.starts_with("disclaimer-rules-example.com-"), "{}", exported.file_name);
    assert!(exported.content_base64.len() > 64 * 1024, "{} base64 bytes", exported.content_base64.len());
    let (rows, any_formula, all_strings, _) = read_back(&exported.content_base64);
    assert!(!any_formula && all_strings, "values only, as strings");
    assert_eq!(rows[0], DISCLAIMER_COLUMNS);
    assert_eq!(rows[1], ["-inside", "internal", "", "", "", "", "", "", "Confidential.", ""]);
    assert_eq!(rows[2][..3], ["big 0", "any", "big0@example.com"]);
    assert_eq!(
        rows[8],
        [
            "=HYPERLINK(\"x\")",
            "external",
            "",
            "partner.example",
            "Sales",
            "ann@example.com",
            "",
            "Legal",
            "=cmd|'/C calc'!A0\nSecond line",
            "<p>+Confidential</p>"
        ]
    );

    // Into a fresh backend that has a rule of its own: after it, in the file's order.
    let fresh = Harness::new(h.kind).await;
    world(&fresh).await;
    let own = AddDisclaimerRule { recipient: Some("own.example".into()), ..disclaimer("own") };
    fresh.owner.add_disclaimer_rule(own).await.unwrap();
    let audit = fresh.audit_count().await;
    let bytes = unb64(&exported.content_base64);
    let done = import_disclaimers(fresh.owner.as_ref(), "example.com", &bytes).await.unwrap();
    assert_eq!(done, ImportedRows { added: 8 });
    let key = |r: &DisclaimerRule| {
        let mut r = r.clone();
        r.id = 0;
        r
    };
    let imported = disclaimers(fresh.owner.as_ref(), "example.com").await;
    assert_eq!(imported[0].name, "own");
    let shifted: Vec<DisclaimerRule> = disclaimers(b, "example.com")
        .await
        .iter()
        .map(|r| DisclaimerRule { position: r.position + 1, ..key(r) })
        .collect();
    assert_eq!(imported[1..].iter().map(key).collect::<Vec<_>>(), shifted, "the same rules, after the domain's own");
    assert_eq!(fresh.audit_count().await, audit + 1, "one audit entry for the import");
    let entry = fresh
        .owner
        .list_audit(ListAudit { action: Some("import_disclaimer_rules".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(entry.items.len(), 1);
    assert_eq!(entry.items[0].domain.as_deref(), Some("example.com"));

    // Back into the domain that has them: each would never fire, a problem of its row.
    let err = refused(import_disclaimers(b, "example.com", &bytes).await, ErrorCode::Validation, "never be appended");
    assert_eq!(places(&err), (2..=9).map(|r| (r, "Text".to_string())).collect::<Vec<_>>());
    assert_eq!(disclaimers(b, "example.com").await.len(), 8, "nothing added");

    let template = b.disclaimer_rules_template(DisclaimerRulesTemplate {}).await.unwrap();
    let (rows, _, _, sheets) = read_back(&template.content_base64);
    assert_eq!((rows, sheets), (vec![DISCLAIMER_COLUMNS.map(String::from).to_vec()], 2));
    let empty = unb64(&template.content_base64);
    refused(import_disclaimers(b, "example.com", &empty).await, ErrorCode::Validation, "no rules below the header");
}

async fn bad_disclaimer_files_are_refused_whole_by_row_and_column(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let long = "x".repeat(16 * 1024 + 1);
    let bad = file(
        &DISCLAIMER_COLUMNS,
        &[
            &["fine", "", "", "", "Sales", "", "", "", "Text."],
            &["", "any", "", "", "", "", "", "", "Text."],
            &["x", "sideways", "", "", "", "", "", "", "Text."],
            &["x", "", "no domain here", "a@b@c", "", "", "", "", "Text."],
            &["x", "", "", "", "Nowhere", "", "", "Legal/Nope", "Text."],
            &["x", "", "", "", "", "not a domain!", "a@@b", "", "Text."],
            &["x", "external", "", "", "", "", "", "", ""],
            &["x", "internal", "", "", "", "", "", "", &long, &long],
            &["again", "ANY", "", "", "sales", "", "", "", "Other text."],
        ],
    );
    let err = refused(import_disclaimers(b, "example.com", &bad).await, ErrorCode::Validation, "nothing was written");
    let s = |c: &str| c.to_string();
    assert_eq!(
        places(&err),
        [
            (3, s("Name")),
            (4, s("Scope")),
            (5, s("Sender")),
            (5, s("Recipient")),
            (6, s("Department")),
            (6, s("Except department")),
            (7, s("Except sender")),
            (7, s("Except recipient")),
            (8, s("Text")),
            (9, s("Text")),
            (9, s("HTML")),
            (10, s("Text")),
        ],
        "{err:?}"
    );
    let message =
        |row: u32, column: &str| err.rows.iter().find(|r| r.row == row && r.column == column).unwrap().message.clone();
    assert!(message(3, "Name").contains("give the rule a name"), "{}", message(3, "Name"));
    assert!(message(4, "Scope").contains("'sideways' is not a scope"), "{}", message(4, "Scope"));
    assert!(message(6, "Department").contains("Nowhere does not exist"), "{}", message(6, "Department"));
    assert!(message(8, "Text").contains("is empty"), "{}", message(8, "Text"));
    assert!(message(9, "HTML").contains("longer than 16384 bytes"), "{}", message(9, "HTML"));
    assert!(message(10, "Text").contains("row 2 has the same scope"), "{}", message(10, "Text"));
    assert!(err.message.contains("\nrow 3, Name:"), "{}", err.message);
    assert!(disclaimers(b, "example.com").await.is_empty(), "nothing written");
    assert_eq!(h.audit_count().await, audit, "nothing audited");

    // Files that are not right are refused before any row.
    refused(
        import_disclaimers(b, "example.com", &file(&DISCLAIMER_COLUMNS, &[])).await,
        ErrorCode::Validation,
        "no rules below",
    );
    let wrong = file(&["Name", "Direction"], &[&["x", "inbound"]]);
    refused(import_disclaimers(b, "example.com", &wrong).await, ErrorCode::Validation, "wrong header: column B");
    refused(import_disclaimers(b, "example.com", b"Name,Text\n").await, ErrorCode::Validation, "not an XLSX");
    let one = file(&DISCLAIMER_COLUMNS, &[&["x", "", "", "", "", "", "", "", "Text."]]);
    refused(import_disclaimers(b, "nowhere.example", &one).await, ErrorCode::NotFound, "nowhere");

    // A domain holds at most 100: 99 of its own and two from a file are too many.
    for i in 0..99 {
        let p = AddDisclaimerRule { sender: Some(format!("s{i}@example.com")), ..disclaimer(&format!("r{i}")) };
        b.add_disclaimer_rule(p).await.unwrap();
    }
    let two = file(
        &DISCLAIMER_COLUMNS,
        &[&["a", "", "a@x.example", "", "", "", "", "", "A."], &["b", "", "b@x.example", "", "", "", "", "", "B."]],
    );
    refused(import_disclaimers(b, "example.com", &two).await, ErrorCode::LimitExceeded, "at most 100 disclaimer rules");
    assert_eq!(disclaimers(b, "example.com").await.len(), 99);
    assert_eq!(import_disclaimers(b, "example.com", &one).await.unwrap().added, 1, "one more fits");
}

fn monitor(name: &str, target: &str) -> AddMonitorRule {
    AddMonitorRule { domain: "example.com".into(), name: name.into(), target: target.into(), ..Default::default() }
}

async fn monitor_rules_export_as_values_and_import_into_a_fresh_backend_equal(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let legal = AddMonitorRule {
        scope_department: Some("legal".into()),
        traffic: Some(MonitorTraffic::External),
        recipient: Some("@Partner.Example".into()),
        keyword: Some("=SUM(1)".into()),
        except_keyword: Some("newsletter".into()),
        ..monitor("+legal outside", "monitor@example.com")
    };
    b.add_monitor_rule(legal).await.unwrap();
    let big = AddMonitorRule {
        scope_account: Some("ann@example.com".into()),
        min_size_kb: Some(512),
        except_sender: Some("bob@example.com".into()),
        action: Some(MonitorAction::Folder),
        ..monitor("big", "-Large")
    };
    b.add_monitor_rule(big).await.unwrap();
    b.add_monitor_rule(monitor("all", "team@example.com")).await.unwrap();

    let exported = b.export_monitor_rules(ExportMonitorRules { domain: "example.com".into() }).await.unwrap();
    assert_eq!(exported.rows, 3);
    let (rows, any_formula, all_strings, _) = read_back(&exported.content_base64);
    assert!(!any_formula && all_strings, "values only, as strings (the size too)");
    assert_eq!(rows[0], MONITOR_COLUMNS);
    assert_eq!(
        rows[1],
        [
            "+legal outside",
            "Legal",
            "",
            "external",
            "",
            "partner.example",
            "",
            "=SUM(1)",
            "",
            "",
            "newsletter",
            "copy",
            "monitor@example.com"
        ]
    );
    assert_eq!(
        rows[2],
        ["big", "", "ann@example.com", "any", "", "", "512", "", "bob@example.com", "", "", "folder", "-Large"]
    );
    assert_eq!(rows[3], ["all", "", "", "any", "", "", "", "", "", "", "", "copy", "team@example.com"]);

    let fresh = Harness::new(h.kind).await;
    world(&fresh).await;
    let audit = fresh.audit_count().await;
    let bytes = unb64(&exported.content_base64);
    assert_eq!(import_monitors(fresh.owner.as_ref(), "example.com", &bytes).await.unwrap(), ImportedRows { added: 3 });
    let key = |r: &MonitorRule| MonitorRule { id: 0, ..r.clone() };
    let imported: Vec<_> = monitors(fresh.owner.as_ref(), "example.com").await.iter().map(key).collect();
    let original: Vec<_> = monitors(b, "example.com").await.iter().map(key).collect();
    assert_eq!(imported, original);
    assert_eq!(fresh.audit_count().await, audit + 1, "one audit entry for the import");
    let entry = fresh
        .owner
        .list_audit(ListAudit { action: Some("import_monitor_rules".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(entry.items.len(), 1);

    // Back into the domain that has them: each does what a rule does already.
    let err = refused(import_monitors(b, "example.com", &bytes).await, ErrorCode::Validation, "already does the same");
    assert_eq!(places(&err), (2..=4).map(|r| (r, "Target".to_string())).collect::<Vec<_>>());
    assert_eq!(monitors(b, "example.com").await.len(), 3, "nothing added");

    let template = b.monitor_rules_template(MonitorRulesTemplate {}).await.unwrap();
    let (rows, _, _, sheets) = read_back(&template.content_base64);
    assert_eq!((rows, sheets), (vec![MONITOR_COLUMNS.map(String::from).to_vec()], 2));
}

async fn bad_monitor_files_are_refused_whole_by_row_and_column(h: Harness) {
    world(&h).await;
    h.domain("other.example", 10).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let word = "w".repeat(201);
    let m = "monitor@example.com";
    let bad = file(
        &MONITOR_COLUMNS,
        &[
            &["fine", "Legal", "", "", "", "", "", "", "", "", "", "", m],
            &[" ", "", "", "", "", "", "", "", "", "", "", "", m],
            &["x", "Legal", "ann@example.com", "", "", "", "", "", "", "", "", "", m],
            &["x", "", "pat@other.example", "", "", "", "", "", "", "", "", "", m],
            &["x", "", "team@example.com", "sideways", "", "", "", "", "", "", "", "", m],
            &["x", "Nowhere", "", "", "no domain", "a@@b", "", "", "", "", "", "", m],
            &["x", "", "", "", "", "", "lots", &word, "", "", "", "", m],
            &["x", "", "", "", "", "", "0", "", "x y", "", "", "", m],
            &["x", "", "", "", "", "", "", "", "", "", "", "forward", m],
            &["x", "", "", "", "", "", "", "", "", "", "", "folder", "inbox"],
            &["x", "", "", "", "", "", "", "", "", "", "", "copy", "nobody@example.com"],
            &["x", "", "", "", "", "", "", "", "", "", "", "", "pat@far.example"],
            &["x", "", "", "", "", "", "", "", "", "", "", "", ""],
            &["again", "legal", "", "ANY", "", "", "", "", "", "", "", "COPY", m],
        ],
    );
    let err = refused(import_monitors(b, "example.com", &bad).await, ErrorCode::Validation, "nothing was written");
    let s = |c: &str| c.to_string();
    assert_eq!(
        places(&err),
        [
            (3, s("Name")),
            (4, s("Watch department")),
            (5, s("Watch account")),
            (6, s("Watch account")),
            (6, s("Traffic")),
            (7, s("Watch department")),
            (7, s("Sender")),
            (7, s("Recipient")),
            (8, s("Min size (KB)")),
            (8, s("Keyword")),
            (9, s("Min size (KB)")),
            (9, s("Except sender")),
            (10, s("Action")),
            (11, s("Target")),
            (12, s("Target")),
            (13, s("Target")),
            (14, s("Target")),
            (15, s("Target")),
        ],
        "{err:?}"
    );
    let message =
        |row: u32, column: &str| err.rows.iter().find(|r| r.row == row && r.column == column).unwrap().message.clone();
    assert!(message(4, "Watch department").contains("not both"), "{}", message(4, "Watch department"));
    assert!(message(5, "Watch account").contains("not an account of example.com"), "{}", message(5, "Watch account"));
    assert!(
        message(6, "Watch account").contains("team@example.com is not an account"),
        "{}",
        message(6, "Watch account")
    );
    assert!(message(8, "Min size (KB)").contains("'lots' is not a whole number"), "{}", message(8, "Min size (KB)"));
    assert!(message(9, "Min size (KB)").contains("1 to 1048576 KB"), "{}", message(9, "Min size (KB)"));
    assert!(message(11, "Target").contains("not a folder"), "{}", message(11, "Target"));
    assert!(message(12, "Target").contains("cannot be delivered"), "{}", message(12, "Target"));
    assert!(message(13, "Target").contains("must be one of ours"), "{}", message(13, "Target"));
    assert!(message(14, "Target").contains("is empty"), "{}", message(14, "Target"));
    assert!(message(15, "Target").contains("row 2 already does the same"), "{}", message(15, "Target"));
    assert!(monitors(b, "example.com").await.is_empty(), "nothing written");
    assert_eq!(h.audit_count().await, audit, "nothing audited");

    refused(
        import_monitors(b, "example.com", &file(&MONITOR_COLUMNS, &[])).await,
        ErrorCode::Validation,
        "no rules below",
    );
    let wrong = file(&DISCLAIMER_COLUMNS, &[&["x", "", "", "", "", "", "", "", "Text."]]);
    refused(import_monitors(b, "example.com", &wrong).await, ErrorCode::Validation, "wrong header: column B");
    refused(import_monitors(b, "example.com", &[b'P'; 1024 * 1024 + 1]).await, ErrorCode::Validation, "at most");
    let many: Vec<Vec<String>> = std::iter::once(MONITOR_COLUMNS.iter().map(|c| c.to_string()).collect())
        .chain((0..101).map(|i| {
            let mut row = vec![String::new(); 13];
            row[0] = format!("r{i}");
            row[12] = m.to_string();
            row
        }))
        .collect();
    refused(import_monitors(b, "example.com", &xlsx(&many)).await, ErrorCode::LimitExceeded, "at most 100");
    assert!(monitors(b, "example.com").await.is_empty());
}

async fn rule_file_imports_need_the_page_and_the_domain(h: Harness) {
    world(&h).await;
    h.domain("b.example", 10).await;
    h.account("user@b.example", None).await;
    let (alice, _) = h.admin("alice", Role::Admin, &Page::ALL, Some(&["example.com"])).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &Page::ALL, None).await;
    let (no_page, _) = h.admin("nopage", Role::Admin, &[Page::Accounts], None).await;
    let audit = h.audit_count().await;
    let denied = ErrorCode::PermissionDenied;
    let d_file = file(&DISCLAIMER_COLUMNS, &[&["x", "", "", "", "", "", "", "", "Text."]]);
    let m_into_b = file(&MONITOR_COLUMNS, &[&["x", "", "", "", "", "", "", "", "", "", "", "", "user@b.example"]]);
    let m_own = file(&MONITOR_COLUMNS, &[&["x", "", "", "", "", "", "", "", "", "", "", "", "monitor@example.com"]]);
    refused(import_disclaimers(alice.as_ref(), "b.example", &d_file).await, denied, "b.example");
    refused(
        alice.export_disclaimer_rules(ExportDisclaimerRules { domain: "b.example".into() }).await,
        denied,
        "b.example",
    );
    refused(import_monitors(alice.as_ref(), "b.example", &m_into_b).await, denied, "b.example");
    // Its own domain's rule may not copy into B's mailboxes either.
    let err = refused(import_monitors(alice.as_ref(), "example.com", &m_into_b).await, denied, "b.example");
    assert!(err.message.contains("row 2, Target"), "{}", err.message);
    refused(alice.export_monitor_rules(ExportMonitorRules { domain: "b.example".into() }).await, denied, "b.example");
    refused(import_disclaimers(desk.as_ref(), "example.com", &d_file).await, denied, "helpdesk");
    refused(import_monitors(desk.as_ref(), "example.com", &m_own).await, denied, "helpdesk");
    refused(import_disclaimers(no_page.as_ref(), "example.com", &d_file).await, denied, "policy");
    refused(import_monitors(no_page.as_ref(), "example.com", &m_own).await, denied, "policy");
    refused(no_page.monitor_rules_template(MonitorRulesTemplate {}).await, denied, "policy");
    refused(no_page.disclaimer_rules_template(DisclaimerRulesTemplate {}).await, denied, "policy");
    assert_eq!(h.audit_count().await, audit, "refusals change and audit nothing");
    // In its own domain, the sub-admin imports; the helpdesk may export.
    assert_eq!(import_disclaimers(alice.as_ref(), "example.com", &d_file).await.unwrap().added, 1);
    assert_eq!(import_monitors(alice.as_ref(), "example.com", &m_own).await.unwrap().added, 1);
    let exported = desk.export_disclaimer_rules(ExportDisclaimerRules { domain: "example.com".into() }).await;
    assert_eq!(exported.unwrap().rows, 1);
    assert_eq!(desk.export_monitor_rules(ExportMonitorRules { domain: "example.com".into() }).await.unwrap().rows, 1);
}
