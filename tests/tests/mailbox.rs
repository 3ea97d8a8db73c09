//! Mailbox management through the `Backend`, on both implementations: XLSX import (every
//! refusal, with a file the test builds, and a 5000-row import), export, the recycle bin,
//! cleaning, "enter mailbox", the domain's lockout threshold, catch-all and pickup rules,
//! and sub-admin roles on all of them.

use std::io::{Cursor, Write};

use base64::Engine as _;
use calamine::{Reader, Xlsx};
use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_engine::{Login, LoginRefusal};
use postdesk_tests::{
    Harness, contract, finish_import, import_header, list_accounts, message, refused, start_import, xlsx,
};

contract!(
    imports_refuse_bad_files_and_write_nothing,
    imports_of_5000_rows_create_departments_and_report_progress,
    exports_round_trip_and_formula_text_stays_text,
    recycle_bin_restores_once_transfers_and_purges_after_retention,
    cleaning_deletes_every_message_and_its_files,
    entering_a_mailbox_shows_client_settings_folders_and_messages,
    lockout_keeps_the_guessing_client_out_and_lets_the_owner_in,
    catch_all_and_pickup_rules_route_unknown_addresses,
    roles_apply_to_mailbox_management,
);

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// A file of the template's header and these rows.
fn file(rows: &[&[&str]]) -> Vec<u8> {
    let mut all = vec![import_header()];
    all.extend(rows.iter().map(|r| row(r)));
    xlsx(&all)
}

/// What must stay unchanged when an import is refused.
async fn state(h: &Harness, domain: &str) -> (u32, usize, u32) {
    let d = h.owner.get_domain(GetDomain { domain: domain.into() }).await.unwrap();
    let depts =
        h.owner.list_departments(ListDepartments { domain: domain.into(), ..Default::default() }).await.unwrap().items;
    (d.account_count, depts.len(), h.audit_count().await)
}

/// A zip whose one entry expands from a few hundred kB to `mb` MB of zeros.
fn zip_bomb(mb: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = zip::ZipWriter::new(Cursor::new(&mut out));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("[Content_Types].xml", options).unwrap();
    w.write_all(b"<Types/>").unwrap();
    w.start_file("xl/workbook.xml", options).unwrap();
    w.write_all(b"<workbook/>").unwrap();
    w.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..mb {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap();
    out
}

async fn imports_refuse_bad_files_and_write_nothing(h: Harness) {
    h.domain("example.com", 5).await;
    h.account("taken@example.com", None).await;
    h.account("held@example.com", None).await;
    h.owner
        .create_department(CreateDepartment { domain: "example.com".into(), path: "Ops".into(), ..Default::default() })
        .await
        .unwrap();
    let before = state(&h, "example.com").await;
    let import = |bytes: Vec<u8>| {
        let owner = h.owner.clone();
        async move { start_import(owner.as_ref(), "example.com", &bytes).await }
    };

    // The file itself.
    refused(import(Vec::new()).await, ErrorCode::Validation, "the file is empty");
    refused(
        import(b"Email address,Display name\nann@example.com,Ann\n".to_vec()).await,
        ErrorCode::Validation,
        "not an XLSX",
    );
    let mut too_big = b"PK\x03\x04".to_vec();
    too_big.resize(1024 * 1024 + 1, b'x');
    refused(import(too_big).await, ErrorCode::Validation, "at most 1048576 bytes (1 MB)");
    let bomb = zip_bomb(200);
    assert!(bomb.len() < 1024 * 1024, "the bomb fits the size limit: {} bytes", bomb.len());
    refused(import(bomb).await, ErrorCode::Validation, "would expand to 200 MB when unpacked");
    let wrong = xlsx(&[row(&["E-mail", "Name", "Department", "Password", "Notes"]), row(&["a@example.com"])]);
    refused(import(wrong).await, ErrorCode::Validation, "wrong header: column A is 'E-mail'");
    refused(import(file(&[])).await, ErrorCode::Validation, "no accounts below the header");
    let many: Vec<Vec<String>> =
        std::iter::once(import_header()).chain((0..5001).map(|i| row(&[&format!("u{i}@example.com")]))).collect();
    refused(import(xlsx(&many)).await, ErrorCode::LimitExceeded, "5001 rows of accounts; at most 5000");

    // Rows, each problem at its row and column, all of them at once.
    let err = refused(
        import(file(&[
            &["ok@example.com", "Ok"],
            &["not an address"],
            &["x@other.example"],
            &["dup@example.com"],
            &["DUP@example.com"],
            &["TAKEN@example.com"],
            &["held@example.com", "", "", "short"],
            &["bad@example.com", "", "Ops//x", "", ""],
        ]))
        .await,
        ErrorCode::Validation,
        "7 problems to fix (nothing was written)",
    );
    let listed: Vec<String> = err.rows.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        listed,
        [
            "row 3, Email address: 'not an address' is not an address: it has no @",
            "row 4, Email address: x@other.example is not in example.com, the domain being imported into",
            "row 6, Email address: dup@example.com appears twice in this file (also row 5)",
            "row 7, Email address: taken@example.com is already used by an account",
            "row 8, Email address: held@example.com is already used by an account",
            "row 8, Password: password is too short: at least 8 characters",
            "row 9, Department: department name is empty",
        ]
    );
    assert!(err.message.contains("\nrow 3, Email address:"), "{}", err.message);
    assert_eq!(err.field.as_deref(), Some("file"));

    // Plan cap: 5 accounts allowed, 2 used, 5 in the file.
    let five: Vec<String> = (0..5).map(|i| format!("n{i}@example.com")).collect();
    let cap = xlsx(&std::iter::once(import_header()).chain(five.iter().map(|a| row(&[a]))).collect::<Vec<_>>());
    refused(import(cap).await, ErrorCode::LimitExceeded, "(3 more fit)");

    assert_eq!(state(&h, "example.com").await, before, "nothing written, nothing audited");
    refused(
        h.owner.get_account(GetAccount { address: "ok@example.com".into() }).await,
        ErrorCode::NotFound,
        "does not exist",
    );
}

async fn imports_of_5000_rows_create_departments_and_report_progress(h: Harness) {
    h.domain("example.com", 6000).await;
    let depts = ["Sales/East", "Sales/West", "Support", "Ops/Night/Shift"];
    let mut rows = vec![import_header()];
    for i in 0..5000 {
        let password = if i < 4 { format!("Import pass {i}") } else { String::new() };
        rows.push(vec![
            format!("user{i:04}@Example.com"),
            format!("User {i}"),
            if i % 10 == 0 { String::new() } else { depts[i % 4].to_string() },
            password,
            if i == 7 { "=HYPERLINK(\"x\")".into() } else { String::new() },
        ]);
    }
    let bytes = xlsx(&rows);
    let job = start_import(h.owner.as_ref(), "example.com", &bytes).await.unwrap();
    assert_eq!((job.phase, job.total, job.accounts), (ImportPhase::Hashing, 4, 5000));
    assert_eq!(job.new_departments, ["Sales/West", "Support", "Ops/Night/Shift", "Sales/East"]);
    let (phases, done) = finish_import(h.owner.as_ref(), &job.id).await;
    assert_eq!(done.phase, ImportPhase::Done, "{:?}", done.error);
    assert_eq!((done.done, done.total), (5000, 5000));
    assert!(phases.ends_with(&[ImportPhase::Done]) && phases.len() >= 2, "{phases:?}");

    assert_eq!(h.owner.get_domain(GetDomain { domain: "example.com".into() }).await.unwrap().account_count, 5000);
    let tree: Vec<String> = h
        .owner
        .list_departments(ListDepartments { domain: "example.com".into(), limit: Some(1000), ..Default::default() })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(tree, ["Ops", "Ops/Night", "Ops/Night/Shift", "Sales", "Sales/East", "Sales/West", "Support"]);
    let a = h.owner.get_account(GetAccount { address: "user0001@example.com".into() }).await.unwrap();
    assert_eq!((a.display_name.as_str(), a.department.as_deref()), ("User 1", Some("Sales/West")));
    assert!(a.has_password && a.force_password_change, "imported passwords must be changed at first logon");
    let seven = h.owner.get_account(GetAccount { address: "user0007@example.com".into() }).await.unwrap();
    assert_eq!(
        (seven.notes.as_str(), seven.has_password, seven.force_password_change),
        ("=HYPERLINK(\"x\")", false, false)
    );
    assert_eq!(
        h.engine.verify_login(smtp_login("user0003@example.com", "Import pass 3")).await.unwrap(),
        Login::Accepted { address: "user0003@example.com".into(), force_password_change: true }
    );
    let entry = &h
        .owner
        .list_audit(ListAudit { action: Some("import_accounts".into()), ..Default::default() })
        .await
        .unwrap()
        .items[0];
    assert_eq!(entry.target, "5000 accounts from accounts.xlsx");
    assert!(!serde_json::to_string(entry).unwrap().contains("Import pass"), "no password in the audit log");

    // The same file again: every row is taken now, and the job is refused up front.
    let err =
        refused(start_import(h.owner.as_ref(), "example.com", &bytes).await, ErrorCode::Validation, "5000 problems");
    assert_eq!(err.rows.len(), 5000);
    refused(
        h.owner.import_status(ImportStatus { id: "nope".into() }).await,
        ErrorCode::NotFound,
        "there is no import job nope",
    );
}

/// Reads an exported file: header and rows as text, and whether any cell is a formula.
fn read_export(file: &ExportedFile) -> (Vec<Vec<String>>, bool) {
    let bytes = base64::engine::general_purpose::STANDARD.decode(&file.content_base64).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let formulas = book.worksheet_formula("Accounts").unwrap();
    let any_formula = formulas.used_cells().any(|(_, _, f)| !f.is_empty());
    let range = book.worksheet_range("Accounts").unwrap();
    (range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(), any_formula)
}

async fn exports_round_trip_and_formula_text_stays_text(h: Harness) {
    h.domain("example.com", 100).await;
    let evil = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@A1"];
    for (i, text) in evil.iter().enumerate() {
        let p = CreateAccount {
            address: format!("evil{i}@example.com"),
            display_name: Some(text.to_string()),
            notes: Some(format!("{text} note")),
            password: Some(Password("Secret pass 1".into())),
            ..Default::default()
        };
        h.owner.create_account(p).await.unwrap();
    }
    h.owner
        .create_department(CreateDepartment {
            domain: "example.com".into(),
            path: "Sales/East".into(),
            parents: Some(true),
        })
        .await
        .unwrap();
    let ann = CreateAccount {
        address: "ann@example.com".into(),
        display_name: Some("Ann Lee".into()),
        department: Some("Sales/East".into()),
        ..Default::default()
    };
    h.owner.create_account(ann).await.unwrap();
    h.owner
        .add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "sales@example.com".into() })
        .await
        .unwrap();
    h.account("gone@example.com", None).await;
    h.owner.remove_account(RemoveAccount { address: "gone@example.com".into() }).await.unwrap();

    let all =
        h.owner.export_accounts(ExportAccounts { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    assert_eq!(all.rows, 5, "deleted accounts only when asked for");
    assert!(all.file_name.starts_with("accounts-example.com-") && all.file_name.ends_with(".xlsx"));
    let (rows, any_formula) = read_export(&all);
    assert!(!any_formula, "no cell is a formula");
    assert_eq!(rows[0], postdesk_xlsx::EXPORT_COLUMNS.map(String::from));
    assert!(!rows[0].iter().any(|c| c.contains("Password") && c != "Password set" && c != "Must change password"));
    assert_eq!(rows[1][..4], ["ann@example.com", "Ann Lee", "Sales/East", ""]);
    assert_eq!(rows[1][4..8], ["active", "10240", "sales@example.com", "no"]);
    for (i, text) in evil.iter().enumerate() {
        let r = &rows[2 + i];
        assert_eq!(
            (r[0].as_str(), r[1].as_str(), r[3].clone()),
            (format!("evil{i}@example.com").as_str(), *text, format!("{text} note"))
        );
        assert_eq!(r[7], "yes", "password set, never the password");
    }
    let text = rows.concat().join("|");
    assert!(!text.contains("Secret pass") && !text.contains("argon2"));

    // The current filter is what is exported.
    let filtered =
        ExportAccounts { domain: "example.com".into(), department: Some("Sales".into()), ..Default::default() };
    let (rows, _) = read_export(&h.owner.export_accounts(filtered).await.unwrap());
    assert_eq!(rows.len(), 2);
    let deleted =
        ExportAccounts { domain: "example.com".into(), status: Some(AccountStatus::Deleted), ..Default::default() };
    let (rows, _) = read_export(&h.owner.export_accounts(deleted).await.unwrap());
    assert_eq!((rows.len(), rows[1][0].as_str(), rows[1][4].as_str()), (2, "gone@example.com", "deleted"));
    let sorted = ExportAccounts {
        domain: "example.com".into(),
        query: Some("evil".into()),
        descending: Some(true),
        ..Default::default()
    };
    let (rows, _) = read_export(&h.owner.export_accounts(sorted).await.unwrap());
    assert_eq!(rows.iter().skip(1).map(|r| r[0].clone()).collect::<Vec<_>>()[0], "evil3@example.com");

    // The template is the import's header.
    let template = h.owner.accounts_template(AccountsTemplate {}).await.unwrap();
    let bytes = base64::engine::general_purpose::STANDARD.decode(&template.content_base64).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names().len(), 2);
    let header: Vec<String> =
        book.worksheet_range("Accounts").unwrap().rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, import_header());
}

/// The purger `serve` and the app run: a sweep at its start and then one per interval, each
/// asking its clock for the time. Here the clock is injected and the interval short; the
/// account is purged by a later sweep once the clock is past its retention — not by the first.
#[tokio::test]
async fn the_recycle_bin_purger_sweeps_again_each_interval_by_its_clock() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let h = Harness::new(postdesk_tests::Kind::Local).await;
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    let bin = || h.owner.list_recycle_bin(ListRecycleBin { domain: "example.com".into(), ..Default::default() });

    let now = Arc::new(Mutex::new(time::OffsetDateTime::now_utc()));
    let sweeps = Arc::new(AtomicUsize::new(0));
    let (clock_now, clock_sweeps) = (now.clone(), sweeps.clone());
    let purger = h.engine.spawn_recycle_bin_purger(std::time::Duration::from_millis(20), move || {
        clock_sweeps.fetch_add(1, Ordering::SeqCst);
        *clock_now.lock().unwrap()
    });
    // Two sweeps within the retention purge nothing.
    while sweeps.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(bin().await.unwrap().items.len(), 1, "within the retention, ann stays in the bin");
    // Past the retention (30 days by default), a later sweep purges her.
    *now.lock().unwrap() = plus_days(31);
    let seen = sweeps.load(Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !bin().await.unwrap().items.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no sweep purged ann after the clock moved");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(sweeps.load(Ordering::SeqCst) > seen, "purged by a sweep after the clock moved");
    purger.abort();
    refused(h.owner.get_account(GetAccount { address: "ann@example.com".into() }).await, ErrorCode::NotFound, "ann");
    let audit = h.owner.list_audit(ListAudit::default()).await.unwrap();
    assert!(
        audit.items.iter().any(|e| e.action == "purge_account" && e.target == "ann@example.com" && e.actor == "system"),
        "the purge is audited as system"
    );
}

fn plus_days(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

async fn recycle_bin_restores_once_transfers_and_purges_after_retention(h: Harness) {
    h.domain("example.com", 3).await;
    h.account("ann@example.com", None).await;
    h.account("bob@example.com", None).await;
    h.owner
        .add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "a.lee@example.com".into() })
        .await
        .unwrap();
    h.owner
        .create_alias(CreateAlias {
            address: "team@example.com".into(),
            targets: vec!["ann@example.com".into(), "bob@example.com".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    for i in 0..3 {
        h.engine.deliver("ann@example.com", &message("x@example.net", &format!("Hello {i}"), "hi")).await.unwrap();
    }
    h.engine.deliver_to("ann@example.com", "Sent", &message("ann@example.com", "Sent one", "s")).await.unwrap();

    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    let bin = recycle_bin(&h).await;
    assert_eq!(bin.len(), 1);
    let entry = &bin[0];
    assert_eq!((entry.address.as_str(), entry.messages, entry.restorable), ("ann@example.com", 4, true));
    assert_eq!(entry.deleted_by, if h.kind != postdesk_tests::Kind::Remote { "local" } else { "owner" });
    let deleted =
        time::OffsetDateTime::parse(&entry.deleted_at, &time::format_description::well_known::Rfc3339).unwrap();
    let purge =
        time::OffsetDateTime::parse(&entry.purge_after, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(purge - deleted, time::Duration::days(30), "default retention: 30 days");
    // A deleted account's mail is not delivered to and its place is free under the cap.
    assert_eq!(
        h.engine.deliver("ann@example.com", b"Subject: x\r\n\r\n.\r\n").await.unwrap_err().code,
        ErrorCode::Conflict
    );

    // Restore once: the account and its mail come back.
    let restored = h.owner.restore_account(RestoreAccount { address: "Ann@example.com".into() }).await.unwrap();
    assert_eq!(restored.status, AccountStatus::Active);
    assert_eq!(h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap().messages, 4);
    refused(
        h.owner.restore_account(RestoreAccount { address: "ann@example.com".into() }).await,
        ErrorCode::Conflict,
        "a restored account cannot be restored twice",
    );
    let bin = recycle_bin(&h).await;
    assert_eq!(
        (bin.len(), bin[0].restorable, bin[0].restored_at.is_some()),
        (1, false, true),
        "still listed, restored"
    );
    refused(
        h.owner.transfer_mail(TransferMail { address: "ann@example.com".into(), to: "bob@example.com".into() }).await,
        ErrorCode::Conflict,
        "not in the recycle bin",
    );

    // Deleted again, then its mail moves to bob.
    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    refused(
        h.owner
            .transfer_mail(TransferMail { address: "ann@example.com".into(), to: "nobody@example.com".into() })
            .await,
        ErrorCode::NotFound,
        "nobody@example.com",
    );
    let moved = h
        .owner
        .transfer_mail(TransferMail { address: "ann@example.com".into(), to: "BOB@example.com".into() })
        .await
        .unwrap();
    assert_eq!(
        (moved.messages, moved.folder.as_str(), moved.to.as_str()),
        (4, "Transferred/ann@example.com", "bob@example.com")
    );
    refused(
        h.owner.transfer_mail(TransferMail { address: "ann@example.com".into(), to: "bob@example.com".into() }).await,
        ErrorCode::Conflict,
        "already transferred to bob@example.com",
    );
    let bob = h.owner.get_mailbox(GetMailbox { address: "bob@example.com".into() }).await.unwrap();
    let folders: Vec<(String, u32)> =
        bob.folders.iter().filter(|f| f.messages > 0).map(|f| (f.name.clone(), f.messages)).collect();
    assert_eq!(
        folders,
        [("Transferred/ann@example.com/INBOX".to_string(), 3), ("Transferred/ann@example.com/Sent".to_string(), 1)]
    );
    let listed = h
        .owner
        .list_messages(ListMessages {
            address: "bob@example.com".into(),
            folder: Some("Transferred/ann@example.com/INBOX".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|m| (m.uid, m.subject.clone())).collect::<Vec<_>>(),
        [(3, "Hello 2".to_string()), (2, "Hello 1".into()), (1, "Hello 0".into())]
    );
    let bin = recycle_bin(&h).await;
    assert_eq!(bin.len(), 2, "the restored entry and the new one");
    assert_eq!(
        (bin[0].transferred_to.as_deref(), bin[0].messages, bin[0].restorable),
        (Some("bob@example.com"), 0, true)
    );

    // Nothing is purged within the retention; after it, the account and its addresses go.
    let blobs = h.engine.blob_count().await.unwrap();
    assert!(h.engine.purge_recycle_bin(plus_days(29)).await.unwrap().accounts.is_empty());
    let purged = h.engine.purge_recycle_bin(plus_days(31)).await.unwrap();
    assert_eq!(purged.accounts, ["ann@example.com"]);
    assert_eq!(h.engine.blob_count().await.unwrap(), blobs, "bob still has the transferred mail");
    refused(h.owner.get_account(GetAccount { address: "ann@example.com".into() }).await, ErrorCode::NotFound, "ann");
    assert!(recycle_bin(&h).await.is_empty());
    let team = h.owner.resolve_address(ResolveAddress { address: "team@example.com".into() }).await.unwrap();
    assert_eq!((team.mailboxes, team.external), (vec!["bob@example.com".to_string()], vec![]));
    // The addresses are free again.
    h.account("ann@example.com", None).await;
    h.account("a.lee@example.com", None).await;
    let entry =
        &h.owner.list_audit(ListAudit { actor: Some("system".into()), ..Default::default() }).await.unwrap().items[0];
    assert_eq!((entry.action.as_str(), entry.target.as_str()), ("purge_account", "ann@example.com"));

    // A domain's own retention, and purged mail leaves the store.
    h.owner
        .update_mailbox_settings(UpdateMailboxSettings {
            domain: "example.com".into(),
            retention_days: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    h.engine.deliver("ann@example.com", &message("x@example.net", "Only copy", "unique body 1")).await.unwrap();
    let blobs = h.engine.blob_count().await.unwrap();
    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(h.engine.purge_recycle_bin(plus_days(2)).await.unwrap().messages, 1);
    assert_eq!(h.engine.blob_count().await.unwrap(), blobs - 1);
    // Restored entries age out of the listing too.
    h.owner.remove_account(RemoveAccount { address: "a.lee@example.com".into() }).await.unwrap();
    h.owner.restore_account(RestoreAccount { address: "a.lee@example.com".into() }).await.unwrap();
    assert_eq!(recycle_bin(&h).await.len(), 1);
    assert_eq!(h.engine.purge_recycle_bin(plus_days(2)).await.unwrap().expired_entries, 1);
    assert!(recycle_bin(&h).await.is_empty());

    // A restore that would break the plan cap is refused.
    h.owner.remove_account(RemoveAccount { address: "bob@example.com".into() }).await.unwrap();
    h.account("carl@example.com", None).await;
    h.account("dora@example.com", None).await;
    refused(
        h.owner.restore_account(RestoreAccount { address: "bob@example.com".into() }).await,
        ErrorCode::LimitExceeded,
        "plan limit of 3",
    );
}

async fn cleaning_deletes_every_message_and_its_files(h: Harness) {
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    for i in 0..3 {
        h.engine.deliver("ann@example.com", &message("x@example.net", "s", &format!("body {i}"))).await.unwrap();
    }
    assert_eq!(h.engine.blob_count().await.unwrap(), 3);
    let before = h.audit_count().await;
    refused(
        h.owner.clean_mailbox(CleanMailbox { address: "ann@example.com".into(), confirm: false }).await,
        ErrorCode::Validation,
        "cannot be undone; confirm it",
    );
    assert_eq!(h.audit_count().await, before);
    let cleaned =
        h.owner.clean_mailbox(CleanMailbox { address: "ann@example.com".into(), confirm: true }).await.unwrap();
    assert_eq!(cleaned.messages, 3);
    assert!(cleaned.size_bytes > 0);
    assert_eq!(h.engine.blob_count().await.unwrap(), 0, "the files are gone too");
    let view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!((view.messages, view.used_bytes), (0, 0));
    let entry = &h
        .owner
        .list_audit(ListAudit { action: Some("clean_mailbox".into()), ..Default::default() })
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        (entry.target.as_str(), entry.before.as_ref().unwrap()["messages"].as_u64()),
        ("ann@example.com", Some(3))
    );
    // UIDs are not handed out again after a clean.
    assert_eq!(h.engine.deliver("ann@example.com", b"Subject: new\r\n\r\n.\r\n").await.unwrap().uid, 4);
    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    refused(
        h.owner.clean_mailbox(CleanMailbox { address: "ann@example.com".into(), confirm: true }).await,
        ErrorCode::Conflict,
        "recycle bin",
    );
}

async fn entering_a_mailbox_shows_client_settings_folders_and_messages(h: Harness) {
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    let view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(!view.can_log_in);
    assert!(view.login_note.as_deref().unwrap().contains("no password is set"), "{:?}", view.login_note);
    assert_eq!(
        view.folders.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["INBOX", "Sent", "Drafts", "Junk", "Trash"]
    );
    // No mail server runs here: no client settings, and a note saying so (the services
    // that run and their ports: mailserver/tests/live.rs, server/tests/autoconfig.rs).
    assert!(!view.mail_server_running && view.client.is_empty(), "{:?}", view.client);
    assert!(view.client_note.as_deref().unwrap().contains("not running"), "{:?}", view.client_note);
    let settings = h
        .owner
        .update_mailbox_settings(UpdateMailboxSettings {
            domain: "example.com".into(),
            mail_host: Some("MX.Example.NET".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(settings.mail_host, "mx.example.net");
    h.owner
        .set_password(SetPassword {
            address: "ann@example.com".into(),
            password: Password("Ann pass 123".into()),
            force_password_change: Some(false),
        })
        .await
        .unwrap();
    let raw = mail_builder::MessageBuilder::new()
        .from(("Bob Baker", "bob@example.net"))
        .to("ann@example.com")
        .subject("Quarterly figures")
        .date(1_764_000_000i64)
        .text_body("see attached")
        .write_to_vec()
        .unwrap();
    h.engine.deliver("ann@example.com", &raw).await.unwrap();
    h.engine.deliver("ann@example.com", &message("c@example.net", "Second", "x")).await.unwrap();
    h.engine.deliver_to("ann@example.com", "Projects/2026", &message("c@example.net", "Filed", "y")).await.unwrap();
    let view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(view.can_log_in && view.login_note.is_none(), "{:?}", view.login_note);
    let inbox = &view.folders[0];
    assert_eq!((inbox.name.as_str(), inbox.messages, inbox.unseen), ("INBOX", 2, 2));
    assert_eq!(view.folders.last().unwrap().name, "Projects/2026");
    assert_eq!(view.messages, 3);
    assert_eq!(view.used_bytes, view.folders.iter().map(|f| f.size_bytes).sum::<u64>());
    let page = h
        .owner
        .list_messages(ListMessages {
            address: "ann@example.com".into(),
            offset: Some(1),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    let m = &page.items[0];
    assert_eq!((m.uid, m.from.as_str(), m.subject.as_str()), (1, "Bob Baker <bob@example.net>", "Quarterly figures"));
    assert_eq!(m.date.as_deref(), Some("2025-11-24T16:00:00Z"));
    refused(
        h.owner
            .list_messages(ListMessages {
                address: "ann@example.com".into(),
                folder: Some("Nope".into()),
                ..Default::default()
            })
            .await,
        ErrorCode::NotFound,
        "has no folder Nope",
    );
}

async fn lockout_keeps_the_guessing_client_out_and_lets_the_owner_in(h: Harness) {
    h.domain("example.com", 10).await;
    let ann = CreateAccount {
        address: "ann@example.com".into(),
        password: Some(Password("Right pass 1".into())),
        ..Default::default()
    };
    h.owner.create_account(ann).await.unwrap();
    let settings = h.owner.get_mailbox_settings(GetMailboxSettings { domain: "example.com".into() }).await.unwrap();
    assert_eq!((settings.lockout_threshold, settings.retention_days, settings.catch_all), (5, 30, false));
    let set = |n: u32| UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: Some(n),
        ..Default::default()
    };
    refused(h.owner.update_mailbox_settings(set(0)).await, ErrorCode::Validation, "1 to 100");
    h.owner.update_mailbox_settings(set(3)).await.unwrap();
    let hostile: std::net::IpAddr = "203.0.113.66".parse().unwrap();
    let owner: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let wrong = Login::Refused(LoginRefusal::WrongCredentials);
    for _ in 0..3 {
        assert_eq!(h.engine.verify_login(login_from("ann@example.com", "guess", hostile)).await.unwrap(), wrong);
    }
    let view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!((view.failed_logins, view.lockout_threshold, view.status), (3, 3, AccountStatus::Active));
    // The guessing client is kept out, even with the right password, and told only what
    // a wrong password or an unknown address is told.
    assert_eq!(h.engine.verify_login(login_from("ann@example.com", "Right pass 1", hostile)).await.unwrap(), wrong);
    assert_eq!(h.engine.verify_login(login_from("nobody@example.com", "Right pass 1", hostile)).await.unwrap(), wrong);
    // The owner, from another address, still logs in; the account was never locked.
    assert_eq!(
        h.engine.verify_login(login_from("ann@example.com", "Right pass 1", owner)).await.unwrap(),
        Login::Accepted { address: "ann@example.com".into(), force_password_change: false }
    );
    // An account an admin locked: a wrong password is only "wrong"; the right one is told.
    let lock =
        UpdateAccount { address: "ann@example.com".into(), status: Some(AccountStatus::Locked), ..Default::default() };
    h.owner.update_account(lock).await.unwrap();
    assert_eq!(h.engine.verify_login(login_from("ann@example.com", "guess", owner)).await.unwrap(), wrong);
    assert_eq!(
        h.engine.verify_login(login_from("ann@example.com", "Right pass 1", owner)).await.unwrap(),
        Login::Refused(LoginRefusal::Locked)
    );
    let view = h.owner.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap();
    assert!(view.login_note.unwrap().contains("set a new password"));
    // The admin sees the real reasons.
    let log = h.engine.login_log(Some("ann@example.com"), None, 10).await.unwrap();
    let reasons: Vec<(&str, &str)> = log.iter().map(|r| (r.client.as_str(), r.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            ("192.0.2.7", "locked"),
            ("192.0.2.7", "locked_wrong_password"),
            ("192.0.2.7", "accepted"),
            ("203.0.113.66", "client_locked_out"),
            ("203.0.113.66", "wrong_password_client_locked_out"),
            ("203.0.113.66", "wrong_password"),
            ("203.0.113.66", "wrong_password"),
        ],
        "newest first"
    );
    h.owner
        .set_password(SetPassword {
            address: "ann@example.com".into(),
            password: Password("Reset pass 2".into()),
            force_password_change: Some(true),
        })
        .await
        .unwrap();
    assert_eq!(
        h.engine.verify_login(smtp_login("ann@example.com", "Reset pass 2")).await.unwrap(),
        Login::Accepted { address: "ann@example.com".into(), force_password_change: true }
    );
}

fn rules(list: &[(&str, &str)]) -> Vec<PickupRule> {
    list.iter().map(|(p, t)| PickupRule { pattern: p.to_string(), target: t.to_string() }).collect()
}

async fn catch_all_and_pickup_rules_route_unknown_addresses(h: Harness) {
    h.domain("example.com", 10).await;
    for a in ["ann", "bob", "main"] {
        h.account(&format!("{a}@example.com"), None).await;
    }
    let resolve = |a: &str| {
        let owner = h.owner.clone();
        let a = a.to_string();
        async move { owner.resolve_address(ResolveAddress { address: a }).await }
    };
    refused(resolve("tiktok_12@example.com").await, ErrorCode::NotFound, "no account, alias, group, pickup rule");

    let set = |list: &[(&str, &str)]| SetPickupRules { domain: "example.com".into(), rules: rules(list) };
    refused(
        h.owner.set_pickup_rules(set(&[("tiktok", "ann@example.com")])).await,
        ErrorCode::Validation,
        "rule 1: 'tiktok' has no {number}",
    );
    refused(
        h.owner.set_pickup_rules(set(&[("a_*", "ann@example.com"), ("A_*", "bob@example.com")])).await,
        ErrorCode::Conflict,
        "rule 2: repeats the pattern of rule 1",
    );
    refused(
        h.owner.set_pickup_rules(set(&[("x_*", "nobody@example.com")])).await,
        ErrorCode::NotFound,
        "rule 1: nobody@example.com is not an account",
    );
    let settings = h
        .owner
        .set_pickup_rules(set(&[
            ("TikTok_{number}", "ann@example.com"),
            ("sub_*", "bob@example.com"),
            ("*_{number}", "main@example.com"),
        ]))
        .await
        .unwrap();
    assert_eq!(
        settings.pickup_rules[0],
        PickupRule { pattern: "tiktok_{number}".into(), target: "ann@example.com".into() }
    );

    let r = resolve("TIKTOK_2026@example.com").await.unwrap();
    assert_eq!(
        (r.kind, r.mailboxes.clone(), r.rule.as_deref()),
        (AddressKind::PickupRule, vec!["ann@example.com".to_string()], Some("tiktok_{number}"))
    );
    assert_eq!(resolve("sub_dev@example.com").await.unwrap().mailboxes, ["bob@example.com"]);
    assert_eq!(resolve("weixin_7@example.com").await.unwrap().rule.as_deref(), Some("*_{number}"), "first match wins");
    refused(resolve("tiktok_x@example.com").await, ErrorCode::NotFound, "catch-all");
    // An address that exists wins over every rule.
    assert_eq!(resolve("ann@example.com").await.unwrap().kind, AddressKind::Account);

    // Catch-all collection takes what no rule does.
    let catch_all = |on: Option<bool>, target: Option<&str>| UpdateMailboxSettings {
        domain: "example.com".into(),
        catch_all: on,
        catch_all_target: target.map(String::from),
        ..Default::default()
    };
    refused(
        h.owner.update_mailbox_settings(catch_all(Some(true), None)).await,
        ErrorCode::Validation,
        "needs the mailbox that collects",
    );
    let s = h.owner.update_mailbox_settings(catch_all(Some(true), Some("Main@example.com"))).await.unwrap();
    assert_eq!((s.catch_all, s.catch_all_target.as_deref()), (true, Some("main@example.com")));
    let r = resolve("anything.at.all@example.com").await.unwrap();
    assert_eq!((r.kind, r.mailboxes), (AddressKind::CatchAll, vec!["main@example.com".to_string()]));
    assert_eq!(h.engine.resolve_recipient("tiktok_5@example.com").await.unwrap().mailboxes, ["ann@example.com"]);
    refused(
        h.owner.update_mailbox_settings(catch_all(None, Some(""))).await,
        ErrorCode::Validation,
        "needs the mailbox that collects",
    );
    // A disabled target receives nothing, though the rule still matches.
    h.owner
        .update_account(UpdateAccount {
            address: "ann@example.com".into(),
            status: Some(AccountStatus::Disabled),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(resolve("tiktok_1@example.com").await.unwrap().mailboxes.is_empty());
    h.owner.update_mailbox_settings(catch_all(Some(false), None)).await.unwrap();
    refused(resolve("nobody.here@example.com").await, ErrorCode::NotFound, "no account");
    h.owner.set_pickup_rules(set(&[])).await.unwrap();
    refused(resolve("sub_dev@example.com").await, ErrorCode::NotFound, "no account");
    // Purging a target removes what pointed at it.
    h.owner.set_pickup_rules(set(&[("sub_*", "bob@example.com")])).await.unwrap();
    h.owner.update_mailbox_settings(catch_all(Some(true), Some("bob@example.com"))).await.unwrap();
    h.owner.remove_account(RemoveAccount { address: "bob@example.com".into() }).await.unwrap();
    h.engine.purge_recycle_bin(plus_days(31)).await.unwrap();
    let s = h.owner.get_mailbox_settings(GetMailboxSettings { domain: "example.com".into() }).await.unwrap();
    assert_eq!((s.catch_all, s.catch_all_target, s.pickup_rules.len()), (false, None, 0));
}

async fn roles_apply_to_mailbox_management(h: Harness) {
    h.domain("example.com", 100).await;
    h.account("ann@example.com", None).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    assert_eq!(
        desk.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await.unwrap().address,
        "ann@example.com"
    );
    desk.list_recycle_bin(ListRecycleBin { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    desk.get_mailbox_settings(GetMailboxSettings { domain: "example.com".into() }).await.unwrap();
    desk.export_accounts(ExportAccounts { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    let before = h.audit_count().await;
    let one = file(&[&["new@example.com"]]);
    refused(start_import(desk.as_ref(), "example.com", &one).await, ErrorCode::PermissionDenied, "helpdesk");
    refused(
        desk.clean_mailbox(CleanMailbox { address: "ann@example.com".into(), confirm: true }).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    refused(
        desk.set_pickup_rules(SetPickupRules { domain: "example.com".into(), rules: vec![] }).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    refused(
        desk.restore_account(RestoreAccount { address: "ann@example.com".into() }).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    assert_eq!(h.audit_count().await, before);

    // An admin with the accounts page but not the departments page may import into
    // existing departments, not create new ones.
    h.owner
        .create_department(CreateDepartment { domain: "example.com".into(), path: "Ops".into(), ..Default::default() })
        .await
        .unwrap();
    let (clerk, _) = h.admin("clerk", Role::Admin, &[Page::Accounts], Some(&["example.com"])).await;
    let err = refused(
        start_import(
            clerk.as_ref(),
            "example.com",
            &file(&[&["a@example.com", "", "ops"], &["b@example.com", "", "Sales"]]),
        )
        .await,
        ErrorCode::Validation,
        "1 problem",
    );
    assert_eq!(
        err.rows[0].to_string(),
        "row 3, Department: Sales does not exist, and clerk may not create departments"
    );
    let job = start_import(clerk.as_ref(), "example.com", &file(&[&["a@example.com", "", "ops"]])).await.unwrap();
    assert_eq!(finish_import(clerk.as_ref(), &job.id).await.1.phase, ImportPhase::Done);
    assert_eq!(
        h.owner.get_account(GetAccount { address: "a@example.com".into() }).await.unwrap().department.as_deref(),
        Some("Ops")
    );
    // Without the accounts page, nothing of this.
    let (aliaser, _) = h.admin("aliaser", Role::Admin, &[Page::Aliases], None).await;
    refused(aliaser.accounts_template(AccountsTemplate {}).await, ErrorCode::PermissionDenied, "accounts page");
    refused(
        aliaser.get_mailbox(GetMailbox { address: "ann@example.com".into() }).await,
        ErrorCode::PermissionDenied,
        "accounts page",
    );
    assert_eq!(h.owner.list_accounts(list_accounts("example.com")).await.unwrap().total, 2);
}

/// A login attempt over SMTP from loopback.
fn login_from<'a>(
    login: &'a str,
    password: &'a str,
    client: std::net::IpAddr,
) -> postdesk_contract::mail::LoginAttempt<'a> {
    postdesk_contract::mail::LoginAttempt { client, ..smtp_login(login, password) }
}

fn smtp_login<'a>(login: &'a str, password: &'a str) -> postdesk_contract::mail::LoginAttempt<'a> {
    postdesk_contract::mail::LoginAttempt {
        login,
        password,
        service: postdesk_contract::mail::LoginService::Smtp,
        client: std::net::Ipv4Addr::LOCALHOST.into(),
    }
}

/// The recycle bin of example.com (one page holds it in these tests).
async fn recycle_bin(h: &Harness) -> Vec<RecycledAccount> {
    h.owner.list_recycle_bin(ListRecycleBin { domain: "example.com".into(), ..Default::default() }).await.unwrap().items
}
