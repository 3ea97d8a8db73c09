//! XLSX files of aliases and of automatic-BCC rules through the `Backend`, on both
//! implementations: export (values only, never formulas), template, import (all or nothing,
//! every problem by row and column), a round trip into a fresh backend, and who may do it.

use std::io::Cursor;

use base64::Engine as _;
use calamine::{Data, Reader, Xlsx};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::rules::{BccRule, RuleDirection};
use postdesk_contract::{Backend, ErrorCode, Result};
use postdesk_tests::{Harness, contract, refused, xlsx};

contract!(
    aliases_export_as_values_and_import_into_a_fresh_backend_equal,
    bad_alias_files_are_refused_whole_by_row_and_column,
    alias_files_that_are_not_right_are_refused_before_any_row,
    bcc_rules_export_as_values_and_import_into_a_fresh_backend_equal,
    bad_bcc_files_are_refused_whole_by_row_and_column,
    imports_need_the_page_and_the_domain,
);

const ALIAS_COLUMNS: [&str; 3] = ["Alias address", "Targets", "Description"];
const BCC_COLUMNS: [&str; 5] = ["Name", "Direction", "Sender", "Recipient", "Copy to"];

fn file(columns: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    let mut all: Vec<Vec<String>> = vec![columns.iter().map(|c| c.to_string()).collect()];
    all.extend(rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()));
    xlsx(&all)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn import_aliases(b: &dyn Backend, domain: &str, bytes: &[u8]) -> Result<ImportedRows> {
    b.import_aliases(ImportAliases {
        domain: domain.into(),
        file_name: "aliases.xlsx".into(),
        content_base64: b64(bytes),
    })
    .await
}

async fn import_bcc(b: &dyn Backend, domain: &str, bytes: &[u8]) -> Result<ImportedRows> {
    b.import_bcc_rules(ImportBccRules {
        domain: domain.into(),
        file_name: "bcc.xlsx".into(),
        content_base64: b64(bytes),
    })
    .await
}

async fn aliases(b: &dyn Backend, domain: &str) -> Vec<Alias> {
    b.list_aliases(ListAliases { domain: domain.into(), ..Default::default() }).await.unwrap().items
}

async fn bcc_rules(b: &dyn Backend, domain: &str) -> Vec<BccRule> {
    b.list_bcc_rules(ListBccRules { domain: domain.into(), ..Default::default() }).await.unwrap().items
}

/// (row, column) of every problem of a refusal, in order.
fn places(err: &postdesk_contract::Error) -> Vec<(u32, String)> {
    err.rows.iter().map(|r| (r.row, r.column.clone())).collect()
}

/// The first sheet's cells as text, whether any cell is a formula, whether every non-empty
/// data cell is a string cell, and the number of sheets.
fn read_back(content_base64: &str) -> (Vec<Vec<String>>, bool, bool, usize) {
    let bytes = base64::engine::general_purpose::STANDARD.decode(content_base64).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let names = book.sheet_names();
    let first = names[0].clone();
    let formulas = book.worksheet_formula(&first).unwrap();
    let any_formula = formulas.used_cells().any(|(_, _, f)| !f.is_empty());
    let range = book.worksheet_range(&first).unwrap();
    let all_strings = range.used_cells().all(|(_, _, c)| matches!(c, Data::String(_)));
    let rows = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    (rows, any_formula, all_strings, names.len())
}

/// A backend of the same kind as `h` with example.com and the accounts ann and bob.
async fn world(h: &Harness) {
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    h.account("bob@example.com", None).await;
}

async fn aliases_export_as_values_and_import_into_a_fresh_backend_equal(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    for (address, targets, description) in [
        ("sales@example.com", vec!["ann@example.com", "x@far.example"], "=cmd|'/C calc'!A0"),
        ("team@example.com", vec!["sales@example.com", "bob@example.com"], "+1"),
        ("-dash@example.com", vec!["ann@example.com"], "@SUM(1)"),
    ] {
        let targets = targets.into_iter().map(String::from).collect();
        b.create_alias(CreateAlias { address: address.into(), targets, description: Some(description.into()) })
            .await
            .unwrap();
    }
    let exported = b.export_aliases(ExportAliases { domain: "example.com".into() }).await.unwrap();
    assert_eq!(exported.rows, 3);
    assert!(exported.file_name.ends_with(".xlsx"));
    let (rows, any_formula, all_strings, _) = read_back(&exported.content_base64);
    assert!(!any_formula, "no cell is a formula");
    assert!(all_strings, "every cell is a string cell");
    assert_eq!(rows[0], ALIAS_COLUMNS);
    assert_eq!(rows[1], ["-dash@example.com", "ann@example.com", "@SUM(1)"]);
    assert_eq!(rows[2], ["sales@example.com", "ann@example.com, x@far.example", "=cmd|'/C calc'!A0"]);
    assert_eq!(rows[3], ["team@example.com", "bob@example.com, sales@example.com", "+1"]);

    // Into a fresh backend with the same domain and accounts: the same aliases, one audit entry.
    let fresh = Harness::new(h.kind).await;
    world(&fresh).await;
    let audit = fresh.audit_count().await;
    let bytes = base64::engine::general_purpose::STANDARD.decode(&exported.content_base64).unwrap();
    assert_eq!(import_aliases(fresh.owner.as_ref(), "example.com", &bytes).await.unwrap(), ImportedRows { added: 3 });
    assert_eq!(aliases(fresh.owner.as_ref(), "example.com").await, aliases(b, "example.com").await);
    assert_eq!(fresh.audit_count().await, audit + 1, "one audit entry for the import");
    let entry = fresh
        .owner
        .list_audit(ListAudit { action: Some("import_aliases".into()), ..Default::default() })
        .await
        .unwrap()
        .items;
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0].domain.as_deref(), Some("example.com"));
    // Mail to the imported alias reaches the mailboxes.
    let resolved = fresh.owner.resolve_address(ResolveAddress { address: "team@example.com".into() }).await.unwrap();
    assert_eq!(resolved.mailboxes, ["ann@example.com", "bob@example.com"]);

    // Into the backend that has them: each row's address is taken, nothing changes.
    let err = refused(import_aliases(b, "example.com", &bytes).await, ErrorCode::Validation, "3 problems");
    assert!(err.rows.iter().all(|r| r.column == "Alias address" && r.message.contains("already used by an alias")));

    // The template: the header and a sheet of instructions; it imports as "no aliases".
    let template = b.aliases_template(AliasesTemplate {}).await.unwrap();
    let (rows, _, _, sheets) = read_back(&template.content_base64);
    assert_eq!((rows, sheets), (vec![ALIAS_COLUMNS.map(String::from).to_vec()], 2));
    let bytes = base64::engine::general_purpose::STANDARD.decode(&template.content_base64).unwrap();
    refused(import_aliases(b, "example.com", &bytes).await, ErrorCode::Validation, "no aliases below the header");
}

async fn bad_alias_files_are_refused_whole_by_row_and_column(h: Harness) {
    world(&h).await;
    h.domain("other.example", 10).await;
    let b = h.owner.as_ref();
    b.create_group(CreateGroup { address: "team@example.com".into(), name: "Team".into(), ..Default::default() })
        .await
        .unwrap();
    let audit = h.audit_count().await;
    let bad = file(
        &ALIAS_COLUMNS,
        &[
            &["ok@example.com", "ann@example.com"],
            &["no at sign", "ann@example.com"],
            &["ann@example.com", "bob@example.com"],
            &["team@example.com", "bob@example.com"],
            &["x@other.example", "bob@example.com"],
            &["ok@example.com", "bob@example.com"],
            &["t@example.com", "bob@example.com, nobody@example.com"],
            &["e@example.com", ""],
            &["self@example.com", "self@example.com"],
            &["d@example.com", "not an address", &"x".repeat(501)],
        ],
    );
    let err = refused(import_aliases(b, "example.com", &bad).await, ErrorCode::Validation, "nothing was written");
    let a = || "Alias address".to_string();
    let t = || "Targets".to_string();
    assert_eq!(
        places(&err),
        [
            (3, a()),
            (4, a()),
            (5, a()),
            (6, a()),
            (7, a()),
            (8, t()),
            (9, t()),
            (10, t()),
            (11, t()),
            (11, "Description".to_string())
        ],
        "{err:?}"
    );
    let message = |row: u32| err.rows.iter().find(|r| r.row == row).unwrap().message.clone();
    assert!(message(4).contains("already used by an account"), "{}", message(4));
    assert!(message(5).contains("already used by a mail group"), "{}", message(5));
    assert!(message(6).contains("not in example.com"), "{}", message(6));
    assert!(message(7).contains("already in row 2"), "{}", message(7));
    assert!(message(8).contains("nobody@example.com does not exist"), "{}", message(8));
    assert!(message(9).contains("at least one target"), "{}", message(9));
    assert!(message(10).contains("itself"), "{}", message(10));
    assert!(err.message.contains("\nrow 3, Alias address:"), "{}", err.message);
    assert!(aliases(b, "example.com").await.is_empty(), "nothing written");
    assert_eq!(h.audit_count().await, audit, "nothing audited");

    // Loops are looked for once every row is in; one refuses the whole file.
    let looped = file(
        &ALIAS_COLUMNS,
        &[
            &["fine@example.com", "ann@example.com"],
            &["l1@example.com", "l2@example.com"],
            &["l2@example.com", "l1@example.com"],
        ],
    );
    let err = refused(import_aliases(b, "example.com", &looped).await, ErrorCode::Validation, "loop");
    assert_eq!(places(&err), [(3, "Targets".to_string()), (4, "Targets".to_string())]);
    assert!(aliases(b, "example.com").await.is_empty(), "nothing written, not even the good row");

    // Aliases of the file may point at each other in any order.
    let chained = file(
        &ALIAS_COLUMNS,
        &[&["all@example.com", "l1@example.com, bob@example.com"], &["l1@example.com", "ann@example.com"]],
    );
    assert_eq!(import_aliases(b, "example.com", &chained).await.unwrap().added, 2);
    assert_eq!(h.audit_count().await, audit + 1);
}

async fn alias_files_that_are_not_right_are_refused_before_any_row(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let one = [["a@example.com", "ann@example.com"]];
    let wrong = file(&["Address", "Targets", "Description"], &[&one[0]]);
    refused(import_aliases(b, "example.com", &wrong).await, ErrorCode::Validation, "column A is 'Address'");
    refused(import_aliases(b, "example.com", b"").await, ErrorCode::Validation, "empty");
    refused(import_aliases(b, "example.com", b"a,b\n").await, ErrorCode::Validation, "not an XLSX");
    let big = vec![b'P'; 1024 * 1024 + 1];
    refused(import_aliases(b, "example.com", &big).await, ErrorCode::Validation, "at most");
    refused(
        import_aliases(b, "nowhere.example", &file(&ALIAS_COLUMNS, &[&one[0]])).await,
        ErrorCode::NotFound,
        "nowhere",
    );
    let many: Vec<[String; 2]> =
        (0..10_001).map(|i| [format!("a{i}@example.com"), "ann@example.com".to_string()]).collect();
    let many: Vec<Vec<String>> = std::iter::once(ALIAS_COLUMNS.iter().map(|c| c.to_string()).collect())
        .chain(many.into_iter().map(|r| r.to_vec()))
        .collect();
    refused(import_aliases(b, "example.com", &xlsx(&many)).await, ErrorCode::LimitExceeded, "at most 10000");
    assert!(aliases(b, "example.com").await.is_empty());
}

async fn bcc_rules_export_as_values_and_import_into_a_fresh_backend_equal(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let rule = |name: &str, direction, sender: Option<&str>, recipient: Option<&str>, copy_to: &str| AddBccRule {
        domain: "example.com".into(),
        name: name.into(),
        direction: Some(direction),
        sender: sender.map(String::from),
        recipient: recipient.map(String::from),
        copy_to: copy_to.into(),
    };
    b.add_bcc_rule(rule(
        "=HYPERLINK(\"x\")",
        RuleDirection::Outbound,
        Some("ann@example.com"),
        None,
        "bob@example.com",
    ))
    .await
    .unwrap();
    b.add_bcc_rule(rule("-all in", RuleDirection::Inbound, None, Some("partner.example"), "archive@far.example"))
        .await
        .unwrap();
    let exported = b.export_bcc_rules(ExportBccRules { domain: "example.com".into() }).await.unwrap();
    assert_eq!(exported.rows, 2);
    let (rows, any_formula, all_strings, _) = read_back(&exported.content_base64);
    assert!(!any_formula && all_strings, "values only, as strings");
    assert_eq!(rows[0], BCC_COLUMNS);
    assert_eq!(rows[1], ["=HYPERLINK(\"x\")", "outbound", "ann@example.com", "", "bob@example.com"]);
    assert_eq!(rows[2], ["-all in", "inbound", "", "partner.example", "archive@far.example"]);

    let fresh = Harness::new(h.kind).await;
    world(&fresh).await;
    let audit = fresh.audit_count().await;
    let bytes = base64::engine::general_purpose::STANDARD.decode(&exported.content_base64).unwrap();
    assert_eq!(import_bcc(fresh.owner.as_ref(), "example.com", &bytes).await.unwrap(), ImportedRows { added: 2 });
    let key = |r: &BccRule| {
        (r.domain.clone(), r.name.clone(), r.direction, r.sender.clone(), r.recipient.clone(), r.copy_to.clone())
    };
    let imported: Vec<_> = bcc_rules(fresh.owner.as_ref(), "example.com").await.iter().map(key).collect();
    let original: Vec<_> = bcc_rules(b, "example.com").await.iter().map(key).collect();
    assert_eq!(imported, original);
    assert_eq!(fresh.audit_count().await, audit + 1);
    let entry = fresh
        .owner
        .list_audit(ListAudit { action: Some("import_bcc_rules".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(entry.items.len(), 1);

    // Back into the domain that has them: the same mail copied twice is refused, by row.
    let err =
        refused(import_bcc(b, "example.com", &bytes).await, ErrorCode::Validation, "already copies the same mail");
    assert_eq!(places(&err), [(2, "Copy to".to_string()), (3, "Copy to".to_string())]);

    let template = b.bcc_rules_template(BccRulesTemplate {}).await.unwrap();
    let (rows, _, _, sheets) = read_back(&template.content_base64);
    assert_eq!((rows, sheets), (vec![BCC_COLUMNS.map(String::from).to_vec()], 2));
}

async fn bad_bcc_files_are_refused_whole_by_row_and_column(h: Harness) {
    world(&h).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let bad = file(
        &BCC_COLUMNS,
        &[
            &["fine", "", "", "", "ann@example.com"],
            &["", "both", "", "", "ann@example.com"],
            &["x", "sideways", "", "", "ann@example.com"],
            &["x", "inbound", "no domain here", "", "ann@example.com"],
            &["x", "inbound", "", "a@b@c", "ann@example.com"],
            &["x", "inbound", "", "", "nobody@example.com"],
            &["x", "inbound", "", "", "not an address"],
            &["again", "BOTH", "", "", "ann@example.com"],
        ],
    );
    let err = refused(import_bcc(b, "example.com", &bad).await, ErrorCode::Validation, "7 problems");
    let s = |c: &str| c.to_string();
    assert_eq!(
        places(&err),
        [
            (3, s("Name")),
            (4, s("Direction")),
            (5, s("Sender")),
            (6, s("Recipient")),
            (7, s("Copy to")),
            (8, s("Copy to")),
            (9, s("Copy to"))
        ],
        "{err:?}"
    );
    let message = |row: u32| err.rows.iter().find(|r| r.row == row).unwrap().message.clone();
    assert!(message(7).contains("cannot be delivered"), "{}", message(7));
    assert!(message(9).contains("row 2 already copies"), "{}", message(9));
    assert!(bcc_rules(b, "example.com").await.is_empty(), "nothing written");
    assert_eq!(h.audit_count().await, audit);
    refused(import_bcc(b, "example.com", &file(&BCC_COLUMNS, &[])).await, ErrorCode::Validation, "no rules below");
    refused(
        import_bcc(b, "example.com", &file(&["Name", "Kind"], &[&["x", "y"]])).await,
        ErrorCode::Validation,
        "wrong header",
    );
}

async fn imports_need_the_page_and_the_domain(h: Harness) {
    world(&h).await;
    h.domain("b.example", 10).await;
    h.account("user@b.example", None).await;
    let (alice, _) = h.admin("alice", Role::Admin, &Page::ALL, Some(&["example.com"])).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &Page::ALL, None).await;
    let (no_page, _) = h.admin("nopage", Role::Admin, &[Page::Accounts], None).await;
    let audit = h.audit_count().await;
    let denied = ErrorCode::PermissionDenied;
    let into_b = file(&ALIAS_COLUMNS, &[&["x@b.example", "user@b.example"]]);
    refused(import_aliases(alice.as_ref(), "b.example", &into_b).await, denied, "b.example");
    refused(alice.export_aliases(ExportAliases { domain: "b.example".into() }).await, denied, "b.example");
    // Its own domain's alias may not send mail into B either.
    let reaching = file(&ALIAS_COLUMNS, &[&["fwd@example.com", "user@b.example"]]);
    let err = refused(import_aliases(alice.as_ref(), "example.com", &reaching).await, denied, "b.example");
    assert!(err.message.contains("row 2, Targets"), "{}", err.message);
    let bcc_b = file(&BCC_COLUMNS, &[&["x", "", "", "", "user@b.example"]]);
    refused(import_bcc(alice.as_ref(), "b.example", &bcc_b).await, denied, "b.example");
    refused(import_bcc(alice.as_ref(), "example.com", &bcc_b).await, denied, "b.example");
    refused(alice.export_bcc_rules(ExportBccRules { domain: "b.example".into() }).await, denied, "b.example");
    let own = file(&ALIAS_COLUMNS, &[&["fwd@example.com", "ann@example.com"]]);
    refused(import_aliases(desk.as_ref(), "example.com", &own).await, denied, "helpdesk");
    refused(import_aliases(no_page.as_ref(), "example.com", &own).await, denied, "aliases");
    refused(import_bcc(no_page.as_ref(), "example.com", &bcc_b).await, denied, "policy");
    assert_eq!(h.audit_count().await, audit, "refusals change and audit nothing");
    // In its own domain, the sub-admin imports; the helpdesk may export.
    assert_eq!(import_aliases(alice.as_ref(), "example.com", &own).await.unwrap().added, 1);
    let bcc_own = file(&BCC_COLUMNS, &[&["x", "", "", "", "fwd@example.com"]]);
    assert_eq!(import_bcc(alice.as_ref(), "example.com", &bcc_own).await.unwrap().added, 1);
    assert_eq!(desk.export_aliases(ExportAliases { domain: "example.com".into() }).await.unwrap().rows, 1);
    assert_eq!(desk.export_bcc_rules(ExportBccRules { domain: "example.com".into() }).await.unwrap().rows, 1);
}
