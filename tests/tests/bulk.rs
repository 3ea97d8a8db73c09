//! Bulk account actions (`bulk_accounts`) on both backends: by address and by filter (every
//! page of it), one transaction and one audit entry each, all or nothing, bounded, and the
//! undoable ones undone through the settings batches' `undo_batch`.

use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_tests::{Harness, Kind, contract, list_accounts, message, new_account, refused};

contract!(
    bulk_actions_by_address_and_by_filter,
    bulk_refusals_change_nothing,
    bulk_changes_undo_like_settings_batches,
    bulk_actions_stay_in_the_callers_domains,
);

const D: &str = "example.com";

/// Domain `example.com` with departments Sales, Sales/East and Ops, and accounts
/// s0..s4 in Sales, e0..e2 in Sales/East, o0..o1 in Ops and top0.
async fn world(h: &Harness) {
    h.domain(D, 1000).await;
    for path in ["Sales", "Sales/East", "Ops"] {
        let p = CreateDepartment { domain: D.into(), path: path.into(), ..Default::default() };
        h.owner.create_department(p).await.unwrap();
    }
    let mut rows = Vec::new();
    for (prefix, n, dept) in
        [("s", 5, Some("Sales")), ("e", 3, Some("Sales/East")), ("o", 2, Some("Ops")), ("top", 1, None)]
    {
        for i in 0..n {
            rows.push(new_account(&format!("{prefix}{i}@{D}"), dept));
        }
    }
    h.owner.create_accounts(CreateAccounts { domain: D.into(), accounts: rows }).await.unwrap();
}

fn bulk(selection: AccountSelection, action: BulkAction) -> BulkAccounts {
    BulkAccounts { domain: D.into(), selection, action }
}

fn addresses(list: &[&str]) -> AccountSelection {
    AccountSelection::Addresses { addresses: list.iter().map(|a| format!("{a}@{D}")).collect() }
}

fn department(path: &str) -> AccountSelection {
    AccountSelection::Filter { query: None, department: Some(path.into()), subdepartments: None, status: None }
}

/// `address → (status, department, quota)` of every account (deleted ones too).
async fn snapshot(h: &Harness) -> Vec<(String, AccountStatus, Option<String>, u32)> {
    let mut out = Vec::new();
    for status in [AccountStatus::Active, AccountStatus::Disabled, AccountStatus::Locked, AccountStatus::Deleted] {
        let p = ListAccounts { status: Some(status), limit: Some(1000), ..list_accounts(D) };
        for a in h.owner.list_accounts(p).await.unwrap().items {
            out.push((a.address, a.status, a.department, a.quota_mb));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn account(h: &Harness, local: &str) -> Account {
    h.owner.get_account(GetAccount { address: format!("{local}@{D}") }).await.unwrap()
}

async fn last_audit(h: &Harness) -> AuditEntry {
    let p = ListAudit { action: Some("bulk_accounts".into()), limit: Some(1), ..Default::default() };
    h.owner.list_audit(p).await.unwrap().items.remove(0)
}

async fn bulk_actions_by_address_and_by_filter(h: Harness) {
    world(&h).await;

    // Disable two picked by address (one written in capitals): one audit entry, one batch.
    let audit = h.audit_count().await;
    let out = h.owner.bulk_accounts(bulk(addresses(&["s0", "S1"]), BulkAction::Disable)).await.unwrap();
    let batch = out.batch.expect("a batch");
    assert_eq!((batch.accounts, batch.changes, batch.action.as_str()), (2, 2, "bulk_accounts"));
    assert_eq!(out.message, "2 selected accounts: 2 accounts disabled");
    assert_eq!(h.audit_count().await, audit + 1, "one audit entry for the lot");
    let entry = last_audit(&h).await;
    assert_eq!(entry.target, format!("batch {}: 2 selected accounts", batch.id));
    let after = entry.after.expect("after");
    assert_eq!(after["changed"], 2);
    assert_eq!(after["addresses"], serde_json::json!(["s0@example.com", "s1@example.com"]));
    assert_eq!(
        (account(&h, "s0").await.status, account(&h, "s2").await.status),
        (AccountStatus::Disabled, AccountStatus::Active)
    );

    // Disable the whole of Sales by filter (with Sales/East): 8 selected, 6 changed.
    let out = h.owner.bulk_accounts(bulk(department("sales"), BulkAction::Disable)).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.accounts, batch.changes), (8, 6));
    assert_eq!(
        out.message,
        "8 accounts matching the filter department sales (with sub-departments): 6 accounts disabled"
    );
    let disabled = ListAccounts { status: Some(AccountStatus::Disabled), ..list_accounts(D) };
    assert_eq!(h.owner.list_accounts(disabled.clone()).await.unwrap().total, 8);
    // Again: nothing to change, nothing recorded.
    let audit = h.audit_count().await;
    let again = h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::Disable)).await.unwrap();
    assert!(again.batch.is_none(), "{again:?}");
    assert!(again.message.starts_with("nothing changed"), "{}", again.message);
    assert_eq!(h.audit_count().await, audit);

    // Enable every disabled account: a filter on status, across pages (page size is irrelevant).
    let by_status = AccountSelection::Filter {
        query: None,
        department: None,
        subdepartments: None,
        status: Some(AccountStatus::Disabled),
    };
    let out = h.owner.bulk_accounts(bulk(by_status, BulkAction::Enable)).await.unwrap();
    assert_eq!(out.batch.unwrap().changes, 8);
    assert_eq!(h.owner.list_accounts(disabled).await.unwrap().total, 0);

    // Move Sales/East (by filter) to Ops, then the matches of a text query to the top level.
    let to_ops = BulkAction::MoveToDepartment { department: Some("ops".into()) };
    let out = h.owner.bulk_accounts(bulk(department("Sales/East"), to_ops)).await.unwrap();
    assert_eq!(out.batch.unwrap().changes, 3, "{}", out.message);
    assert_eq!(account(&h, "e1").await.department.as_deref(), Some("Ops"));
    let query =
        AccountSelection::Filter { query: Some("0@".into()), department: None, subdepartments: None, status: None };
    let out = h.owner.bulk_accounts(bulk(query, BulkAction::MoveToDepartment { department: None })).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.accounts, batch.changes), (4, 3), "s0, e0, o0 move; top0 is there already");
    assert_eq!(account(&h, "e0").await.department, None);
    let ops = ListAccounts { department: Some("Ops".into()), ..list_accounts(D) };
    assert_eq!(h.owner.list_accounts(ops).await.unwrap().total, 3);

    // A new quota for Ops (without sub-departments): e1, e2, o1.
    let ops_only = AccountSelection::Filter {
        query: None,
        department: Some("Ops".into()),
        subdepartments: Some(false),
        status: None,
    };
    h.owner.bulk_accounts(bulk(ops_only, BulkAction::SetQuota { quota_mb: 123 })).await.unwrap();
    assert_eq!((account(&h, "o1").await.quota_mb, account(&h, "e1").await.quota_mb), (123, 123));
    assert_ne!(account(&h, "o0").await.quota_mb, 123);

    // Delete Sales (s1..s4: East and s0 moved away): to the recycle bin, as remove_account does.
    let count = |h: &Harness| {
        let owner = h.owner.clone();
        async move { owner.get_domain(GetDomain { domain: D.into() }).await.unwrap().account_count }
    };
    assert_eq!(count(&h).await, 11);
    let out = h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::Delete)).await.unwrap();
    assert_eq!(out.batch.as_ref().unwrap().changes, 4);
    assert!(out.batch.unwrap().note.unwrap().contains("recycle bin"));
    assert_eq!(count(&h).await, 7);
    let bin = h.owner.list_recycle_bin(ListRecycleBin { domain: D.into(), ..Default::default() }).await.unwrap();
    assert_eq!(bin.items.len(), 4);
    let restored = h.owner.restore_account(RestoreAccount { address: format!("s3@{D}") }).await.unwrap();
    assert_eq!(restored.status, AccountStatus::Active);
    assert_eq!(count(&h).await, 8);
}

async fn bulk_refusals_change_nothing(h: Harness) {
    world(&h).await;
    h.owner.remove_account(RemoveAccount { address: format!("top0@{D}") }).await.unwrap();
    // s0 stores 2 MiB.
    let big = "x".repeat(2 * 1024 * 1024);
    h.engine.deliver(&format!("s0@{D}"), &message("a@example.net", "big", &big)).await.unwrap();
    let before = snapshot(&h).await;
    let audit = h.audit_count().await;

    let nowhere = BulkAction::MoveToDepartment { department: Some("Nowhere".into()) };
    refused(
        h.owner.bulk_accounts(bulk(department("Sales"), nowhere)).await,
        ErrorCode::NotFound,
        "department Nowhere does not exist",
    );
    let e = refused(
        h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::SetQuota { quota_mb: 1 })).await,
        ErrorCode::Conflict,
        "a quota of 1 MiB is below what 1 mailbox already stores (s0@example.com stores 2.",
    );
    assert_eq!(e.field.as_deref(), Some("action"));
    let plan = h.owner.get_domain(GetDomain { domain: D.into() }).await.unwrap().limits.mailbox_size_mb;
    refused(
        h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::SetQuota { quota_mb: plan + 1 })).await,
        ErrorCode::LimitExceeded,
        "above the plan's mailbox size",
    );
    refused(
        h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::SetQuota { quota_mb: 0 })).await,
        ErrorCode::Validation,
        "at least 1 MiB",
    );
    refused(
        h.owner.bulk_accounts(bulk(addresses(&["s1", "nobody"]), BulkAction::Disable)).await,
        ErrorCode::NotFound,
        "account 2 (nobody@example.com): account nobody@example.com does not exist",
    );
    let other = AccountSelection::Addresses { addresses: vec![format!("s1@{D}"), "x@other.example".into()] };
    refused(h.owner.bulk_accounts(bulk(other, BulkAction::Disable)).await, ErrorCode::Validation, "not in example.com");
    refused(
        h.owner.bulk_accounts(bulk(addresses(&["s1", "top0"]), BulkAction::Delete)).await,
        ErrorCode::Conflict,
        "account 2 (top0@example.com): is in the recycle bin",
    );
    refused(
        h.owner.bulk_accounts(bulk(AccountSelection::Addresses { addresses: vec![] }, BulkAction::Disable)).await,
        ErrorCode::Validation,
        "1 to 10000 addresses",
    );
    let deleted = AccountSelection::Filter {
        query: None,
        department: None,
        subdepartments: None,
        status: Some(AccountStatus::Deleted),
    };
    refused(h.owner.bulk_accounts(bulk(deleted, BulkAction::Enable)).await, ErrorCode::Validation, "recycle bin");
    let none =
        AccountSelection::Filter { query: Some("zzz".into()), department: None, subdepartments: None, status: None };
    refused(h.owner.bulk_accounts(bulk(none, BulkAction::Delete)).await, ErrorCode::Validation, "match no account");
    refused(
        h.owner.bulk_accounts(bulk(department("Nope"), BulkAction::Delete)).await,
        ErrorCode::NotFound,
        "department Nope",
    );
    // More than one request's worth of addresses is refused before any work.
    let many = AccountSelection::Addresses { addresses: (0..10_001).map(|i| format!("u{i}@{D}")).collect() };
    refused(h.owner.bulk_accounts(bulk(many, BulkAction::Disable)).await, ErrorCode::LimitExceeded, "at most 10000");

    assert_eq!(snapshot(&h).await, before, "nothing changed");
    assert_eq!(h.audit_count().await, audit, "nothing recorded");
}

async fn bulk_changes_undo_like_settings_batches(h: Harness) {
    world(&h).await;
    // s2 is disabled by hand: a bulk disable of Sales, then its undo, gives each account
    // its own status back (s2 stays disabled).
    let s2 = UpdateAccount { address: format!("s2@{D}"), status: Some(AccountStatus::Disabled), ..Default::default() };
    h.owner.update_account(s2).await.unwrap();
    let before = snapshot(&h).await;
    let out = h.owner.bulk_accounts(bulk(department("Sales"), BulkAction::Disable)).await.unwrap();
    let batch = out.batch.unwrap();
    assert_eq!((batch.changes, batch.undo), (7, postdesk_contract::settings::UndoState::Available));
    let listed = h.owner.list_batches(ListBatches { domain: D.into(), ..Default::default() }).await.unwrap();
    assert_eq!(listed.items[0].id, batch.id, "listed with the settings batches");
    let undone = h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await.unwrap();
    assert!(undone.message.contains("back as it was"), "{}", undone.message);
    assert_eq!(snapshot(&h).await, before);
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id: batch.id }).await,
        ErrorCode::Conflict,
        "cannot be undone",
    );

    // A quota change is undone too, unless an account it touched changed since.
    let quota = h.owner.bulk_accounts(bulk(department("Ops"), BulkAction::SetQuota { quota_mb: 77 })).await.unwrap();
    let id = quota.batch.unwrap().id;
    let o1 = UpdateAccount { address: format!("o1@{D}"), quota_mb: Some(88), ..Default::default() };
    h.owner.update_account(o1).await.unwrap();
    let changed = snapshot(&h).await;
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id }).await,
        ErrorCode::Conflict,
        "account o1@example.com: quota_mb is now 88",
    );
    assert_eq!(snapshot(&h).await, changed, "a refused undo changes nothing");
    let o1 = UpdateAccount { address: format!("o1@{D}"), quota_mb: Some(77), ..Default::default() };
    h.owner.update_account(o1).await.unwrap();
    h.owner.undo_batch(UndoBatch { domain: D.into(), id }).await.unwrap();
    assert_eq!(snapshot(&h).await, before);

    // An enable is undone; a delete is not (the recycle bin restores).
    let enable = h.owner.bulk_accounts(bulk(addresses(&["s2"]), BulkAction::Enable)).await.unwrap();
    h.owner.undo_batch(UndoBatch { domain: D.into(), id: enable.batch.unwrap().id }).await.unwrap();
    assert_eq!(account(&h, "s2").await.status, AccountStatus::Disabled);
    let delete = h.owner.bulk_accounts(bulk(addresses(&["o0"]), BulkAction::Delete)).await.unwrap();
    refused(
        h.owner.undo_batch(UndoBatch { domain: D.into(), id: delete.batch.unwrap().id }).await,
        ErrorCode::Conflict,
        "recycle bin",
    );
}

async fn bulk_actions_stay_in_the_callers_domains(h: Harness) {
    world(&h).await;
    h.domain("b.example", 10).await;
    h.account("user@b.example", None).await;
    let (alice, _) = h.admin("alice", Role::Admin, &[Page::Accounts], Some(&["b.example"])).await;
    let before = snapshot(&h).await;
    refused(
        alice.bulk_accounts(bulk(department("Sales"), BulkAction::Delete)).await,
        ErrorCode::PermissionDenied,
        "example.com",
    );
    // Naming another domain's account from its own domain is refused too.
    let sneaky = BulkAccounts {
        domain: "b.example".into(),
        selection: AccountSelection::Addresses { addresses: vec!["user@b.example".into(), format!("s0@{D}")] },
        action: BulkAction::Disable,
    };
    refused(alice.bulk_accounts(sneaky).await, ErrorCode::Validation, "not in b.example");
    assert_eq!(snapshot(&h).await, before);
    // In its own domain it works.
    let own = BulkAccounts {
        domain: "b.example".into(),
        selection: AccountSelection::Addresses { addresses: vec!["user@b.example".into()] },
        action: BulkAction::Disable,
    };
    assert_eq!(alice.bulk_accounts(own).await.unwrap().batch.unwrap().changes, 1);
    // The helpdesk may look but not act.
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    refused(
        desk.bulk_accounts(bulk(department("Sales"), BulkAction::Disable)).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
}

/// A filter matching more than `MAX_BULK` accounts is refused with the count, and nothing
/// changes (in-process only: 100,001 accounts are slow to create twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_past_the_bound_is_refused() {
    let h = Harness::new(Kind::Local).await;
    let n = postdesk_engine::MAX_BULK + 1;
    h.domain(D, n as u32 + 10).await;
    let mut next = 0;
    while next < n {
        let end = (next + 10_000).min(n);
        let accounts = (next..end).map(|i| new_account(&format!("u{i:06}@{D}"), None)).collect();
        h.owner.create_accounts(CreateAccounts { domain: D.into(), accounts }).await.unwrap();
        next = end;
    }
    let all = AccountSelection::Filter { query: None, department: None, subdepartments: None, status: None };
    let audit = h.audit_count().await;
    refused(
        h.owner.bulk_accounts(bulk(all.clone(), BulkAction::Disable)).await,
        ErrorCode::LimitExceeded,
        "the whole of example.com match 100001 accounts; one bulk action takes at most 100000",
    );
    assert_eq!(h.audit_count().await, audit);
    let disabled = ListAccounts { status: Some(AccountStatus::Disabled), ..list_accounts(D) };
    assert_eq!(h.owner.list_accounts(disabled).await.unwrap().total, 0);
    // One fewer fits, in one transaction.
    h.owner.remove_account(RemoveAccount { address: format!("u000000@{D}") }).await.unwrap();
    let out = h.owner.bulk_accounts(bulk(all, BulkAction::Disable)).await.unwrap();
    assert_eq!(out.batch.unwrap().changes, 100_000);
}
