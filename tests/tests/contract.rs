//! The `Backend` contract: every test runs twice, on the in-process backend and on the
//! remote client talking to the real server over TLS on loopback. Both must behave the
//! same, refusals included.

use futures::FutureExt;
use futures::future::BoxFuture;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::settings::Settings;
use postdesk_contract::smtp::{SmtpRuleAction, SmtpRuleKind};
use postdesk_contract::{ErrorCode, Result};
use postdesk_engine::{DEFAULT_LOCKOUT_THRESHOLD, Login, LoginRefusal};
use postdesk_tests::{Harness, Kind, call, contract, list_accounts, new_account, refused};

contract!(
    groups_take_whole_departments_as_members,
    domains_are_created_listed_and_refused_when_bad,
    plan_caps_refuse_and_change_nothing,
    domain_groups_allocate_within_their_allowance,
    department_tree_moves_renames_and_refuses_cycles,
    organisation_shapes_are_bounded,
    accounts_are_created_filtered_sorted_and_paged,
    account_changes_and_recycle_bin,
    batches_of_accounts_are_all_or_nothing,
    passwords_are_write_only,
    aliases_expand_and_refuse_loops,
    mail_groups_and_account_aliases,
    sub_admin_of_one_domain_is_refused_on_every_route_of_another,
    helpdesk_reads_but_cannot_change,
    every_operation_needs_its_page_and_the_helpdesk_changes_nothing,
    admins_and_tokens_are_owner_business,
    any_admin_rotates_and_revokes_its_own_tokens_only,
    department_alias_and_group_lists_are_paged_with_a_cursor,
    audit_log_records_who_what_before_after,
    dkim_keys_rotate_and_never_show_the_private_key,
);

async fn domains_are_created_listed_and_refused_when_bad(h: Harness) {
    let d = h.domain("Example.COM", 10).await;
    assert_eq!(d.name, "example.com");
    assert_eq!(d.account_count, 0);
    let idn = h.domain("bücher.example", 10).await;
    assert_eq!(idn.name, "xn--bcher-kva.example");
    assert_eq!(idn.display_name, "bücher.example");
    let names: Vec<String> =
        h.owner.list_domains(ListDomains::default()).await.unwrap().items.into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["example.com", "xn--bcher-kva.example"]);

    let before = h.audit_count().await;
    let dup = CreateDomain { domain: "EXAMPLE.com".into(), ..Default::default() };
    refused(h.owner.create_domain(dup).await, ErrorCode::Conflict, "already exists");
    let bad = CreateDomain { domain: "not a domain".into(), ..Default::default() };
    let err = h.owner.create_domain(bad).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::Validation, Some("domain")));
    refused(
        h.owner.get_domain(GetDomain { domain: "nowhere.example".into() }).await,
        ErrorCode::NotFound,
        "nowhere.example",
    );
    assert_eq!(h.audit_count().await, before, "refusals record nothing");

    h.account("ann@example.com", None).await;
    refused(
        h.owner.remove_domain(RemoveDomain { domain: "example.com".into() }).await,
        ErrorCode::Conflict,
        "still has 1 addresses",
    );
    h.owner.remove_domain(RemoveDomain { domain: "bücher.example".into() }).await.unwrap();
    assert_eq!(h.owner.list_domains(ListDomains::default()).await.unwrap().items.len(), 1);
}

async fn plan_caps_refuse_and_change_nothing(h: Harness) {
    h.domain("example.com", 2).await;
    h.account("a@example.com", None).await;
    h.account("b@example.com", None).await;
    let before = h.audit_count().await;
    refused(
        h.owner.create_account(new_account("c@example.com", None)).await,
        ErrorCode::LimitExceeded,
        "plan limit of 2",
    );
    assert_eq!(h.owner.get_domain(GetDomain { domain: "example.com".into() }).await.unwrap().account_count, 2);
    refused(
        h.owner.get_account(GetAccount { address: "c@example.com".into() }).await,
        ErrorCode::NotFound,
        "does not exist",
    );

    let big = CreateAccount {
        address: "c@example.com".into(),
        quota_mb: Some(PlanLimits::default().mailbox_size_mb + 1),
        ..Default::default()
    };
    refused(h.owner.create_account(big).await, ErrorCode::LimitExceeded, "above the plan's mailbox size");

    let lower = UpdateDomainLimits {
        domain: "example.com".into(),
        limits: PlanLimits { max_accounts: 1, ..PlanLimits::default() },
    };
    refused(h.owner.update_domain_limits(lower).await, ErrorCode::LimitExceeded, "has 2 accounts");
    assert_eq!(h.audit_count().await, before);

    // Deleted accounts free their place under the cap.
    h.owner.remove_account(RemoveAccount { address: "b@example.com".into() }).await.unwrap();
    h.account("c@example.com", None).await;
    let raise = UpdateDomainLimits {
        domain: "example.com".into(),
        limits: PlanLimits { max_accounts: 3, ..PlanLimits::default() },
    };
    assert_eq!(h.owner.update_domain_limits(raise).await.unwrap().limits.max_accounts, 3);
    h.account("d@example.com", None).await;
}

async fn domain_groups_allocate_within_their_allowance(h: Harness) {
    let g = h.owner.create_domain_group(CreateDomainGroup { name: "acme".into(), max_accounts: 10 }).await.unwrap();
    assert_eq!((g.allocated, g.domains.len()), (0, 0));
    let sub = |name: &str, n: u32| CreateDomain {
        domain: name.into(),
        limits: Some(PlanLimits { max_accounts: n, ..PlanLimits::default() }),
        group: Some("acme".into()),
    };
    h.owner.create_domain(sub("east.example", 6)).await.unwrap();
    refused(h.owner.create_domain(sub("west.example", 5)).await, ErrorCode::LimitExceeded, "at most 4");
    let west = h.owner.create_domain(sub("west.example", 4)).await.unwrap();
    assert_eq!(west.group.as_deref(), Some("acme"));
    refused(
        h.owner.allocate_accounts(AllocateAccounts { domain: "west.example".into(), max_accounts: 5 }).await,
        ErrorCode::LimitExceeded,
        "at most 4",
    );
    h.owner.allocate_accounts(AllocateAccounts { domain: "east.example".into(), max_accounts: 2 }).await.unwrap();
    h.owner.allocate_accounts(AllocateAccounts { domain: "west.example".into(), max_accounts: 8 }).await.unwrap();
    let groups = h.owner.list_domain_groups(ListDomainGroups::default()).await.unwrap().items;
    assert_eq!(
        (groups[0].allocated, groups[0].domains.clone()),
        (10, vec!["east.example".to_string(), "west.example".to_string()])
    );
    refused(
        h.owner
            .create_domain(CreateDomain {
                domain: "x.example".into(),
                group: Some("nope".into()),
                ..Default::default()
            })
            .await,
        ErrorCode::NotFound,
        "nope",
    );

    // A subsidiary's own admin may not grow its allocation; the group admin may.
    let pages = [Page::Domains, Page::Accounts];
    let (east_admin, _) = h.admin("east-admin", Role::Admin, &pages, Some(&["east.example"])).await;
    refused(
        east_admin.allocate_accounts(AllocateAccounts { domain: "east.example".into(), max_accounts: 1 }).await,
        ErrorCode::PermissionDenied,
        "west.example",
    );
    let (group_admin, _) = h.admin("acme-admin", Role::Admin, &pages, Some(&["east.example", "west.example"])).await;
    group_admin.allocate_accounts(AllocateAccounts { domain: "east.example".into(), max_accounts: 1 }).await.unwrap();
}

async fn department_tree_moves_renames_and_refuses_cycles(h: Harness) {
    h.domain("example.com", 100).await;
    let dept = |path: &str, parents: bool| CreateDepartment {
        domain: "example.com".into(),
        path: path.into(),
        parents: Some(parents),
    };
    refused(h.owner.create_department(dept("Sales/East", false)).await, ErrorCode::NotFound, "parent department Sales");
    let east = h.owner.create_department(dept("Sales/East", true)).await.unwrap();
    assert_eq!((east.path.as_str(), east.parent.as_deref()), ("Sales/East", Some("Sales")));
    h.owner.create_department(dept("Sales/West", false)).await.unwrap();
    h.owner.create_department(dept("Support", false)).await.unwrap();
    refused(h.owner.create_department(dept("sales/EAST", false)).await, ErrorCode::Conflict, "already exists");
    refused(h.owner.create_department(dept("Sales//x", false)).await, ErrorCode::Validation, "empty");

    h.account("a@example.com", Some("Sales/East")).await;
    h.account("b@example.com", Some("sales/east")).await;
    h.account("c@example.com", Some("Sales")).await;
    let list = h
        .owner
        .list_departments(ListDepartments { domain: "example.com".into(), ..Default::default() })
        .await
        .unwrap()
        .items;
    let summary: Vec<(String, u32, u32)> =
        list.iter().map(|d| (d.path.clone(), d.accounts, d.total_accounts)).collect();
    assert_eq!(
        summary,
        [("Sales".into(), 1, 3), ("Sales/East".into(), 2, 2), ("Sales/West".into(), 0, 0), ("Support".into(), 0, 0)]
    );

    let mv = |path: &str, to: Option<&str>| MoveDepartment {
        domain: "example.com".into(),
        path: path.into(),
        new_parent: to.map(String::from),
    };
    refused(h.owner.move_department(mv("Sales", Some("Sales/East"))).await, ErrorCode::Conflict, "inside itself");
    refused(h.owner.move_department(mv("Sales", Some("Sales"))).await, ErrorCode::Conflict, "inside itself");
    let moved = h.owner.move_department(mv("Sales", Some("Support"))).await.unwrap();
    assert_eq!((moved.path.as_str(), moved.total_accounts), ("Support/Sales", 3));
    let a = h.owner.get_account(GetAccount { address: "a@example.com".into() }).await.unwrap();
    assert_eq!(a.department.as_deref(), Some("Support/Sales/East"), "accounts follow their department");
    h.owner.create_department(dept("East", false)).await.unwrap();
    refused(h.owner.move_department(mv("Support/Sales/East", None)).await, ErrorCode::Conflict, "already exists there");

    let rn =
        RenameDepartment { domain: "example.com".into(), path: "Support/Sales".into(), name: "Field Sales".into() };
    assert_eq!(h.owner.rename_department(rn).await.unwrap().path, "Support/Field Sales");
    let bad = RenameDepartment { domain: "example.com".into(), path: "Support/Field Sales".into(), name: "a/b".into() };
    refused(h.owner.rename_department(bad).await, ErrorCode::Validation, "'/'");

    let rm = |path: &str| RemoveDepartment { domain: "example.com".into(), path: path.into() };
    refused(h.owner.remove_department(rm("Support")).await, ErrorCode::Conflict, "sub-departments");
    refused(h.owner.remove_department(rm("Support/Field Sales/East")).await, ErrorCode::Conflict, "2 accounts");
    h.owner.remove_department(rm("Support/Field Sales/West")).await.unwrap();
    refused(h.owner.remove_department(rm("Support/Field Sales/West")).await, ErrorCode::NotFound, "does not exist");
}

/// A deep or long department path, an over-long list in any request and an over-large
/// audit value are refused or cut before they cost anything (a 200 KB request made 4,000
/// levels and 1.6 GB of audit before these limits).
async fn organisation_shapes_are_bounded(h: Harness) {
    h.domain("example.com", 100).await;
    let dept = |path: String| CreateDepartment { domain: "example.com".into(), path, parents: Some(true) };
    let deep = vec!["d"; 4000].join("/");
    refused(h.owner.create_department(dept(deep)).await, ErrorCode::LimitExceeded, "4000 levels; at most 16");
    let sixteen = vec!["d"; 16].join("/");
    assert_eq!(h.owner.create_department(dept(sixteen.clone())).await.unwrap().path, sixteen);
    refused(h.owner.create_department(dept(format!("{sixteen}/e"))).await, ErrorCode::LimitExceeded, "17 levels");
    let long = vec!["x".repeat(56); 9].join("/");
    assert_eq!(h.owner.create_department(dept(long.clone())).await.unwrap().path.len(), 512);
    refused(h.owner.create_department(dept(format!("{long}/y"))).await, ErrorCode::LimitExceeded, "514 characters");
    // Moving or renaming may not make a path too deep or too long either.
    h.owner.create_department(dept("a/b".into())).await.unwrap();
    let mv = MoveDepartment { domain: "example.com".into(), path: "a".into(), new_parent: Some(sixteen.clone()) };
    refused(h.owner.move_department(mv).await, ErrorCode::LimitExceeded, "17 levels");
    let rn = RenameDepartment { domain: "example.com".into(), path: "x".repeat(56), name: "z".repeat(57) };
    refused(h.owner.rename_department(rn).await, ErrorCode::LimitExceeded, "513 characters");
    let list = h
        .owner
        .list_departments(ListDepartments { domain: "example.com".into(), ..Default::default() })
        .await
        .unwrap()
        .items;
    assert_eq!(list.len(), 16 + 9 + 2, "nothing refused was written");
    assert!(list.iter().all(|d| d.path.split('/').count() <= 16));

    // Any list in any request: at most 10,000 items, named by its field.
    let members: Vec<String> = (0..10_001).map(|i| format!("m{i}@example.com")).collect();
    let group = CreateGroup {
        address: "team@example.com".into(),
        name: "Team".into(),
        members: Some(members),
        ..Default::default()
    };
    refused(h.owner.create_group(group).await, ErrorCode::LimitExceeded, "members has 10001 items; at most 10000");

    // One audit entry stores at most 64 KiB of before and after each.
    let exceptions: Vec<String> = (0..1000).map(|i| format!("{}{i}@partner.example", "p".repeat(60))).collect();
    let set = Settings { send_exceptions: Some(exceptions), ..Default::default() };
    let update =
        UpdateSettings { domain: "example.com".into(), target: BatchTarget::Domain, set: Some(set), clear: None };
    h.owner.update_settings(update).await.unwrap();
    let audit = h.owner.list_audit(ListAudit { limit: Some(1), ..Default::default() }).await.unwrap();
    let after = audit.items[0].after.clone().unwrap();
    assert_eq!(after["truncated"], true, "{after}");
    assert!(after["bytes"].as_u64().unwrap() > 64 * 1024);
}

async fn accounts_are_created_filtered_sorted_and_paged(h: Harness) {
    h.domain("example.com", 100).await;
    for (dept, n) in [("Sales", 0), ("Sales/East", 1), ("Support", 2)] {
        let p = CreateDepartment { domain: "example.com".into(), path: dept.into(), ..Default::default() };
        h.owner.create_department(p).await.unwrap_or_else(|e| panic!("{n}: {e:?}"));
    }
    let people = [
        ("Zoe.Ng", "Zoë Ng", "Sales"),
        ("ann", "Ann Lee", "Sales/East"),
        ("bob", "Bob Annan", "Support"),
        ("carl", "Carl", "Support"),
    ];
    for (local, name, dept) in people {
        let p = CreateAccount {
            address: format!("{local}@Example.com"),
            display_name: Some(name.into()),
            department: Some(dept.into()),
            notes: Some(format!("notes of {name}")),
            ..Default::default()
        };
        let a = h.owner.create_account(p).await.unwrap();
        assert_eq!(a.address, format!("{}@example.com", local.to_lowercase()));
        assert_eq!(a.status, AccountStatus::Active);
        assert!(!a.has_password);
    }
    let addresses = |l: Listing<Account>| l.items.into_iter().map(|a| a.address).collect::<Vec<_>>();
    let all = h.owner.list_accounts(list_accounts("example.com")).await.unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(addresses(all), ["ann@example.com", "bob@example.com", "carl@example.com", "zoe.ng@example.com"]);

    let q = ListAccounts { domain: "example.com".into(), query: Some("ANN".into()), ..Default::default() };
    assert_eq!(
        addresses(h.owner.list_accounts(q).await.unwrap()),
        ["ann@example.com", "bob@example.com"],
        "address or display name"
    );
    let q = ListAccounts { domain: "example.com".into(), query: Some("%".into()), ..Default::default() };
    assert_eq!(h.owner.list_accounts(q).await.unwrap().total, 0, "LIKE wildcards are literal");
    // A filter is a substring anywhere in the address or display name, any case, accents
    // kept, quotes and spaces literal characters.
    let found = |q: &'static str| {
        let q = ListAccounts { domain: "example.com".into(), query: Some(q.into()), ..Default::default() };
        let owner = &h.owner;
        async move { addresses(owner.list_accounts(q).await.unwrap()) }
    };
    assert_eq!(found("nna").await, ["bob@example.com"], "inside a display name");
    assert_eq!(found("E.nG@exa").await, ["zoe.ng@example.com"], "inside an address, any case");
    assert_eq!(found("zoë").await, ["zoe.ng@example.com"], "non-ASCII");
    assert_eq!(found("ng").await, ["zoe.ng@example.com"], "two letters");
    assert_eq!(found("ë").await, ["zoe.ng@example.com"], "one character, non-ASCII");
    assert_eq!(found("Q").await, Vec::<String>::new(), "one character found nowhere");
    assert_eq!(found("\"an").await, Vec::<String>::new(), "a quote is a character, not syntax");
    assert_eq!(found("Lee Ann").await, Vec::<String>::new(), "the words in this order only");
    assert_eq!(found("n L").await, ["ann@example.com"], "a space is a character too");
    // A renamed account is found by its new name only.
    let upd = UpdateAccount {
        address: "carl@example.com".into(),
        display_name: Some("Carla Mosley".into()),
        ..Default::default()
    };
    h.owner.update_account(upd).await.unwrap();
    assert_eq!(found("mosley").await, ["carl@example.com"]);
    assert_eq!(found("Y").await, ["carl@example.com"], "one character of the new name");
    let upd =
        UpdateAccount { address: "carl@example.com".into(), display_name: Some("Carl".into()), ..Default::default() };
    h.owner.update_account(upd).await.unwrap();
    assert_eq!(found("mosley").await, Vec::<String>::new());
    assert_eq!(found("y").await, Vec::<String>::new());

    let mut q = ListAccounts { domain: "example.com".into(), department: Some("sales".into()), ..Default::default() };
    assert_eq!(addresses(h.owner.list_accounts(q.clone()).await.unwrap()), ["ann@example.com", "zoe.ng@example.com"]);
    q.subdepartments = Some(false);
    assert_eq!(addresses(h.owner.list_accounts(q).await.unwrap()), ["zoe.ng@example.com"]);

    let q = ListAccounts {
        domain: "example.com".into(),
        sort: Some(AccountSort::DisplayName),
        descending: Some(true),
        limit: Some(2),
        offset: Some(1),
        ..Default::default()
    };
    let page = h.owner.list_accounts(q).await.unwrap();
    assert_eq!((page.total, page.offset), (4, 1));
    assert_eq!(addresses(page), ["carl@example.com", "bob@example.com"]);
    // By department path, then address; an account in no department comes first (last when
    // descending), on every database; pages cut the same order.
    h.owner.create_account(new_account("dan@example.com", None)).await.unwrap();
    let q = ListAccounts { domain: "example.com".into(), sort: Some(AccountSort::Department), ..Default::default() };
    let by_department =
        ["dan@example.com", "zoe.ng@example.com", "ann@example.com", "bob@example.com", "carl@example.com"];
    assert_eq!(addresses(h.owner.list_accounts(q.clone()).await.unwrap()), by_department);
    let descending = ListAccounts { descending: Some(true), ..q.clone() };
    let reversed: Vec<_> = by_department.iter().rev().map(|a| a.to_string()).collect();
    assert_eq!(addresses(h.owner.list_accounts(descending.clone()).await.unwrap()), reversed);
    let page = ListAccounts { limit: Some(2), offset: Some(1), ..q };
    assert_eq!(addresses(h.owner.list_accounts(page).await.unwrap()), by_department[1..3]);
    let page = ListAccounts { limit: Some(2), offset: Some(3), ..descending };
    assert_eq!(addresses(h.owner.list_accounts(page).await.unwrap()), reversed[3..5]);
    h.owner.remove_account(RemoveAccount { address: "dan@example.com".into() }).await.unwrap();
    let q = ListAccounts { domain: "example.com".into(), limit: Some(0), ..Default::default() };
    refused(h.owner.list_accounts(q).await, ErrorCode::Validation, "between 1 and 1000");

    let before = h.audit_count().await;
    refused(
        h.owner.create_account(new_account("ANN@example.com", None)).await,
        ErrorCode::Conflict,
        "already used by an account",
    );
    refused(h.owner.create_account(new_account("a b@example.com", None)).await, ErrorCode::Validation, "not allowed");
    refused(
        h.owner.create_account(new_account("x@other.example", None)).await,
        ErrorCode::NotFound,
        "domain other.example does not exist",
    );
    refused(
        h.owner.create_account(new_account("x@example.com", Some("Nowhere"))).await,
        ErrorCode::NotFound,
        "department Nowhere",
    );
    assert_eq!(h.audit_count().await, before);
    assert_eq!(h.owner.list_accounts(list_accounts("example.com")).await.unwrap().total, 4);
}

async fn account_changes_and_recycle_bin(h: Harness) {
    h.domain("example.com", 100).await;
    h.owner
        .create_department(CreateDepartment { domain: "example.com".into(), path: "Ops".into(), ..Default::default() })
        .await
        .unwrap();
    h.account("ann@example.com", None).await;
    let upd = UpdateAccount {
        address: "Ann@example.com".into(),
        display_name: Some("Ann Lee".into()),
        department: Some("ops".into()),
        notes: Some("=cmd|' /C calc'!A0".into()),
        status: Some(AccountStatus::Disabled),
        force_password_change: Some(true),
        quota_mb: Some(100),
    };
    let a = h.owner.update_account(upd.clone()).await.unwrap();
    assert_eq!(
        (a.display_name.as_str(), a.department.as_deref(), a.status, a.force_password_change, a.quota_mb),
        ("Ann Lee", Some("Ops"), AccountStatus::Disabled, true, 100)
    );
    let cleared =
        UpdateAccount { address: "ann@example.com".into(), department: Some(String::new()), ..Default::default() };
    assert_eq!(h.owner.update_account(cleared).await.unwrap().department, None);
    let del =
        UpdateAccount { address: "ann@example.com".into(), status: Some(AccountStatus::Deleted), ..Default::default() };
    refused(h.owner.update_account(del).await, ErrorCode::Validation, "remove_account");

    h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(h.owner.list_accounts(list_accounts("example.com")).await.unwrap().total, 0);
    let deleted =
        ListAccounts { domain: "example.com".into(), status: Some(AccountStatus::Deleted), ..Default::default() };
    assert_eq!(h.owner.list_accounts(deleted).await.unwrap().items[0].address, "ann@example.com");
    refused(
        h.owner.remove_account(RemoveAccount { address: "ann@example.com".into() }).await,
        ErrorCode::Conflict,
        "already in the recycle bin",
    );
    refused(h.owner.create_account(new_account("ann@example.com", None)).await, ErrorCode::Conflict, "already used");
    refused(h.owner.update_account(upd).await, ErrorCode::Conflict, "recycle bin");
}

async fn batches_of_accounts_are_all_or_nothing(h: Harness) {
    h.domain("example.com", 5).await;
    h.owner
        .create_department(CreateDepartment { domain: "example.com".into(), path: "Ops".into(), ..Default::default() })
        .await
        .unwrap();
    h.account("taken@example.com", None).await;
    let batch = |rows: &[(&str, Option<&str>)]| CreateAccounts {
        domain: "example.com".into(),
        accounts: rows.iter().map(|(a, d)| new_account(a, *d)).collect(),
    };
    let before = h.audit_count().await;
    refused(
        h.owner.create_accounts(batch(&[("a@example.com", None), ("TAKEN@example.com", None)])).await,
        ErrorCode::Conflict,
        "account 2 (TAKEN@example.com): taken@example.com is already used",
    );
    refused(
        h.owner.create_accounts(batch(&[("a@example.com", None), ("A@example.com", None)])).await,
        ErrorCode::Conflict,
        "account 2 (A@example.com): appears twice",
    );
    refused(
        h.owner.create_accounts(batch(&[("a@example.com", None), ("b@other.example", None)])).await,
        ErrorCode::Validation,
        "not in example.com",
    );
    refused(
        h.owner.create_accounts(batch(&[("a@example.com", Some("Nope"))])).await,
        ErrorCode::NotFound,
        "account 1 (a@example.com): department Nope",
    );
    let five: Vec<String> = (0..5).map(|i| format!("u{i}@example.com")).collect();
    let rows: Vec<(&str, Option<&str>)> = five.iter().map(|a| (a.as_str(), None)).collect();
    refused(h.owner.create_accounts(batch(&rows)).await, ErrorCode::LimitExceeded, "(4 more fit)");
    let mut weak = batch(&[("a@example.com", None)]);
    weak.accounts[0].password = Some(Password("weak".into()));
    refused(
        h.owner.create_accounts(weak).await,
        ErrorCode::Validation,
        "account 1 (a@example.com): password is too short",
    );
    assert_eq!(
        h.owner.get_domain(GetDomain { domain: "example.com".into() }).await.unwrap().account_count,
        1,
        "nothing half-created"
    );
    assert_eq!(h.audit_count().await, before);

    let mut ok = batch(&[("a@example.com", Some("ops")), ("b@example.com", None), ("c@example.com", None)]);
    for (i, row) in ok.accounts.iter_mut().enumerate() {
        row.password = Some(Password(format!("Batch pass {i}")));
    }
    assert_eq!(h.owner.create_accounts(ok).await.unwrap().created, 3);
    let a = h.owner.get_account(GetAccount { address: "a@example.com".into() }).await.unwrap();
    assert_eq!((a.department.as_deref(), a.has_password), (Some("Ops"), true));
    assert!(matches!(
        h.engine.verify_login(smtp_login("c@example.com", "Batch pass 2")).await.unwrap(),
        Login::Accepted { .. }
    ));
    let entry = &h
        .owner
        .list_audit(ListAudit { action: Some("create_accounts".into()), ..Default::default() })
        .await
        .unwrap()
        .items[0];
    assert_eq!(entry.target, "3 accounts");
}

async fn passwords_are_write_only(h: Harness) {
    h.domain("example.com", 100).await;
    let p = CreateAccount {
        address: "ann@example.com".into(),
        password: Some(Password("Initial pass 1".into())),
        ..Default::default()
    };
    let a = h.owner.create_account(p).await.unwrap();
    assert!(a.has_password);
    let weak = CreateAccount {
        address: "bob@example.com".into(),
        password: Some(Password("short".into())),
        ..Default::default()
    };
    let err = h.owner.create_account(weak).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::Validation, Some("password")));
    refused(h.owner.get_account(GetAccount { address: "bob@example.com".into() }).await, ErrorCode::NotFound, "bob");

    // Wrong passwords keep the guessing client out at the threshold (the account stays
    // active for others); a reset lets it in again.
    assert!(matches!(
        h.engine.verify_login(smtp_login("ann@example.com", "Initial pass 1")).await.unwrap(),
        Login::Accepted { .. }
    ));
    for _ in 0..DEFAULT_LOCKOUT_THRESHOLD {
        let r = h.engine.verify_login(smtp_login("ann@example.com", "wrong guess")).await.unwrap();
        assert_eq!(r, Login::Refused(LoginRefusal::WrongCredentials));
    }
    assert_eq!(
        h.owner.get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap().status,
        AccountStatus::Active
    );
    let r = h.engine.verify_login(smtp_login("ann@example.com", "Initial pass 1")).await.unwrap();
    assert_eq!(r, Login::Refused(LoginRefusal::WrongCredentials), "even the right password, from this client");
    let reset = SetPassword {
        address: "ann@example.com".into(),
        password: Password("Second pass 2".into()),
        force_password_change: Some(true),
    };
    h.owner.set_password(reset).await.unwrap();
    let a = h.owner.get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!((a.status, a.force_password_change, a.has_password), (AccountStatus::Active, true, true));
    let r = h.engine.verify_login(smtp_login("ANN@example.com", "Second pass 2")).await.unwrap();
    assert_eq!(r, Login::Accepted { address: "ann@example.com".into(), force_password_change: true });
    assert_eq!(
        h.engine.verify_login(smtp_login("ann@example.com", "Initial pass 1")).await.unwrap(),
        Login::Refused(LoginRefusal::WrongCredentials)
    );
    assert_eq!(
        h.engine.verify_login(smtp_login("nobody@example.com", "x")).await.unwrap(),
        Login::Refused(LoginRefusal::WrongCredentials)
    );
    let bad = SetPassword {
        address: "ann@example.com".into(),
        password: Password("nodigitsorcaps".into()),
        ..Default::default()
    };
    refused(h.owner.set_password(bad).await, ErrorCode::Validation, "two of");

    // The password is nowhere: not in the account, not in the audit log.
    let account_json = serde_json::to_string(&a).unwrap();
    let audit = h.owner.list_audit(ListAudit { limit: Some(1000), ..Default::default() }).await.unwrap();
    let audit_json = serde_json::to_string(&audit).unwrap();
    for text in [&account_json, &audit_json] {
        assert!(
            !text.contains("Second pass 2") && !text.contains("Initial pass 1") && !text.contains("argon2"),
            "{text}"
        );
    }
}

async fn aliases_expand_and_refuse_loops(h: Harness) {
    h.domain("example.com", 100).await;
    h.account("ann@example.com", None).await;
    h.account("bob@example.com", None).await;
    let alias = |addr: &str, targets: &[&str]| CreateAlias {
        address: addr.into(),
        targets: targets.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    let sales = h
        .owner
        .create_alias(alias("sales@example.com", &["ann@example.com", "partner@elsewhere.example"]))
        .await
        .unwrap();
    assert_eq!(sales.targets, ["ann@example.com", "partner@elsewhere.example"]);
    h.owner
        .create_alias(alias("all@example.com", &["sales@example.com", "bob@example.com", "ann@example.com"]))
        .await
        .unwrap();
    let r = h.owner.resolve_address(ResolveAddress { address: "ALL@example.com".into() }).await.unwrap();
    assert_eq!(r.kind, AddressKind::Alias);
    assert_eq!(r.mailboxes, ["ann@example.com", "bob@example.com"]);
    assert_eq!(r.external, ["partner@elsewhere.example"]);

    let before = h.audit_count().await;
    let looped = UpdateAlias {
        address: "sales@example.com".into(),
        targets: Some(vec!["all@example.com".into()]),
        ..Default::default()
    };
    refused(
        h.owner.update_alias(looped).await,
        ErrorCode::Conflict,
        "sales@example.com → all@example.com → sales@example.com",
    );
    refused(
        h.owner.create_alias(alias("self@example.com", &["self@example.com"])).await,
        ErrorCode::Conflict,
        "itself",
    );
    refused(
        h.owner.create_alias(alias("x@example.com", &["ghost@example.com"])).await,
        ErrorCode::NotFound,
        "ghost@example.com does not exist",
    );
    refused(h.owner.create_alias(alias("x@example.com", &[])).await, ErrorCode::Validation, "at least one target");
    refused(
        h.owner.create_alias(alias("ann@example.com", &["bob@example.com"])).await,
        ErrorCode::Conflict,
        "already used by an account",
    );
    assert_eq!(h.audit_count().await, before);
    assert_eq!(
        h.owner.get_alias(GetAlias { address: "sales@example.com".into() }).await.unwrap(),
        sales,
        "refused update changed nothing"
    );

    refused(
        h.owner.remove_alias(RemoveAlias { address: "sales@example.com".into() }).await,
        ErrorCode::Conflict,
        "alias all@example.com",
    );
    h.owner.remove_alias(RemoveAlias { address: "all@example.com".into() }).await.unwrap();
    h.owner.remove_alias(RemoveAlias { address: "sales@example.com".into() }).await.unwrap();
    assert!(
        h.owner
            .list_aliases(ListAliases { domain: "example.com".into(), ..Default::default() })
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn mail_groups_and_account_aliases(h: Harness) {
    h.domain("example.com", 100).await;
    h.account("ann@example.com", None).await;
    h.account("bob@example.com", None).await;
    let ann = h
        .owner
        .add_account_alias(AddAccountAlias { address: "ann@example.com".into(), alias: "Anna@example.com".into() })
        .await
        .unwrap();
    assert_eq!(ann.aliases, ["anna@example.com"]);
    refused(
        h.owner
            .add_account_alias(AddAccountAlias { address: "bob@example.com".into(), alias: "anna@example.com".into() })
            .await,
        ErrorCode::Conflict,
        "already used by an account alias",
    );
    let r = h.owner.resolve_address(ResolveAddress { address: "anna@example.com".into() }).await.unwrap();
    assert_eq!((r.kind, r.mailboxes.clone()), (AddressKind::AccountAlias, vec!["ann@example.com".to_string()]));

    let group = CreateGroup {
        address: "team@example.com".into(),
        name: "Team".into(),
        members: Some(vec!["anna@example.com".into(), "bob@example.com".into()]),
        ..Default::default()
    };
    let g = h.owner.create_group(group).await.unwrap();
    assert_eq!(g.send_permission, SendPermission::SameDomain);
    let r = h.owner.resolve_address(ResolveAddress { address: "team@example.com".into() }).await.unwrap();
    assert_eq!(r.mailboxes, ["ann@example.com", "bob@example.com"]);

    let wl = UpdateGroup {
        address: "team@example.com".into(),
        send_permission: Some(SendPermission::Whitelist),
        ..Default::default()
    };
    refused(h.owner.update_group(wl).await, ErrorCode::Validation, "at least one allowed sender");
    let wl = UpdateGroup {
        address: "team@example.com".into(),
        name: Some("The team".into()),
        send_permission: Some(SendPermission::Whitelist),
        allowed_senders: Some(vec!["Boss@Partner.example".into()]),
    };
    let g = h.owner.update_group(wl).await.unwrap();
    assert_eq!(
        (g.name.as_str(), g.send_permission, g.allowed_senders.clone()),
        ("The team", SendPermission::Whitelist, vec!["boss@partner.example".to_string()])
    );

    // A group inside an alias inside the group is a loop.
    h.owner
        .create_alias(CreateAlias {
            address: "crew@example.com".into(),
            targets: vec!["team@example.com".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    refused(
        h.owner
            .add_group_members(AddGroupMembers {
                address: "team@example.com".into(),
                members: vec!["crew@example.com".into()],
            })
            .await,
        ErrorCode::Conflict,
        "loop",
    );
    let g = h
        .owner
        .remove_group_members(RemoveGroupMembers {
            address: "team@example.com".into(),
            members: vec!["bob@example.com".into()],
        })
        .await
        .unwrap();
    assert_eq!(g.members, ["anna@example.com"]);
    refused(
        h.owner
            .remove_account_alias(RemoveAccountAlias {
                address: "ann@example.com".into(),
                alias: "anna@example.com".into(),
            })
            .await,
        ErrorCode::Conflict,
        "mail group team@example.com",
    );
    refused(
        h.owner.remove_group(RemoveGroup { address: "team@example.com".into() }).await,
        ErrorCode::Conflict,
        "alias crew@example.com",
    );
    assert_eq!(
        h.owner
            .list_groups(ListGroups { domain: "example.com".into(), ..Default::default() })
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // Disabled accounts receive nothing.
    let off = UpdateAccount {
        address: "ann@example.com".into(),
        status: Some(AccountStatus::Disabled),
        ..Default::default()
    };
    h.owner.update_account(off).await.unwrap();
    assert!(
        h.owner
            .resolve_address(ResolveAddress { address: "crew@example.com".into() })
            .await
            .unwrap()
            .mailboxes
            .is_empty()
    );
}

/// What a sub-admin of domain A gets from an operation aimed at domain B.
enum Expect {
    /// A refusal: 403, and nothing changes.
    Forbidden,
    /// An answer filtered to the caller's scope: the operation names no domain to refuse.
    Answers,
}

/// One row of the role table: an operation, its params already applied, and what it gets.
struct Row<'a> {
    name: &'static str,
    expect: Expect,
    outcome: BoxFuture<'a, Result<()>>,
}

/// `params`' operation as `b`, which must be refused.
fn forbidden<O: Operation>(b: &dyn Backend, params: O) -> Row<'_> {
    Row { name: O::NAME, expect: Expect::Forbidden, outcome: call(b, params).map(|r| r.map(drop)).boxed() }
}

/// `params`' operation as `b`, which must answer (filtered to what `b` may see).
fn answers<O: Operation>(b: &dyn Backend, params: O) -> Row<'_> {
    Row { name: O::NAME, expect: Expect::Answers, outcome: call(b, params).map(|r| r.map(drop)).boxed() }
}

/// Every operation, aimed at domain B, as a sub-admin of domain A with every page.
fn role_table<'a>(b: &'a dyn Backend, import: &str, owner_token: &str) -> Vec<Row<'a>> {
    let d = || "b.example".to_string();
    let acct = || "user@b.example".to_string();
    let team = || "team@b.example".to_string();
    let list = || "list@b.example".to_string();
    let new = |address: &str| CreateAccount { address: address.into(), ..Default::default() };
    let password = || Password("Whatever 123".into());
    let pop3_off = || Settings { pop3: Some(false), ..Default::default() };
    vec![
        answers(b, WhoAmI {}),
        answers(b, ListDomains::default()),
        forbidden(b, GetDomain { domain: d() }),
        forbidden(b, CreateDomain { domain: "c.example".into(), ..Default::default() }),
        forbidden(b, UpdateDomainLimits { domain: d(), limits: PlanLimits::default() }),
        forbidden(b, AllocateAccounts { domain: d(), max_accounts: 1 }),
        forbidden(b, RemoveDomain { domain: d() }),
        answers(b, ListDomainGroups::default()),
        forbidden(b, CreateDomainGroup { name: "g".into(), max_accounts: 1 }),
        // ---- Departments and accounts ----------------------------------------------------
        forbidden(b, ListDepartments { domain: d(), ..Default::default() }),
        forbidden(b, CreateDepartment { domain: d(), path: "X".into(), ..Default::default() }),
        forbidden(b, MoveDepartment { domain: d(), path: "Dept".into(), ..Default::default() }),
        forbidden(b, RenameDepartment { domain: d(), path: "Dept".into(), name: "Y".into() }),
        forbidden(b, RemoveDepartment { domain: d(), path: "Dept".into() }),
        forbidden(b, ListAccounts { domain: d(), ..Default::default() }),
        forbidden(b, GetAccount { address: acct() }),
        forbidden(b, new("new@b.example")),
        forbidden(b, CreateAccounts { domain: d(), accounts: vec![new("n@b.example")] }),
        forbidden(b, UpdateAccount { address: acct(), ..Default::default() }),
        forbidden(b, SetPassword { address: acct(), password: password(), ..Default::default() }),
        forbidden(b, RemoveAccount { address: acct() }),
        forbidden(b, AddAccountAlias { address: acct(), alias: "x@b.example".into() }),
        forbidden(b, RemoveAccountAlias { address: acct(), alias: "alias@b.example".into() }),
        // ---- Mailbox management: the import template holds nothing of any domain ----------
        answers(b, AccountsTemplate {}),
        forbidden(b, StartImport { domain: d(), file_name: "x.xlsx".into(), ..Default::default() }),
        forbidden(b, ImportStatus { id: import.to_string() }),
        forbidden(b, ExportAccounts { domain: d(), ..Default::default() }),
        // Moves B's account into the department it is already in: changes nothing when allowed.
        forbidden(
            b,
            BulkAccounts {
                domain: d(),
                selection: AccountSelection::Addresses { addresses: vec![acct()] },
                action: BulkAction::MoveToDepartment { department: Some("Dept".into()) },
            },
        ),
        forbidden(b, ListRecycleBin { domain: d(), ..Default::default() }),
        forbidden(b, RestoreAccount { address: acct() }),
        forbidden(b, TransferMail { address: acct(), to: "me@a.example".into() }),
        forbidden(b, CleanMailbox { address: acct(), confirm: true }),
        forbidden(b, GetMailbox { address: acct() }),
        forbidden(b, ListMessages { address: acct(), ..Default::default() }),
        forbidden(b, GetMailboxSettings { domain: d() }),
        forbidden(b, UpdateMailboxSettings { domain: d(), lockout_threshold: Some(3), ..Default::default() }),
        forbidden(b, SetPickupRules { domain: d(), rules: vec![] }),
        // A rule of A may not send mail into B either.
        forbidden(
            b,
            SetPickupRules {
                domain: "a.example".into(),
                rules: vec![PickupRule { pattern: "b_*".into(), target: acct() }],
            },
        ),
        // ---- Aliases and groups -----------------------------------------------------------
        forbidden(b, ListAliases { domain: d(), ..Default::default() }),
        forbidden(b, GetAlias { address: list() }),
        forbidden(b, CreateAlias { address: "new@b.example".into(), targets: vec![acct()], ..Default::default() }),
        forbidden(b, UpdateAlias { address: list(), description: Some("x".into()), ..Default::default() }),
        forbidden(b, RemoveAlias { address: list() }),
        forbidden(b, ImportAliases { domain: d(), file_name: "a.xlsx".into(), content_base64: "UEsDBA==".into() }),
        forbidden(b, ExportAliases { domain: d() }),
        // The template holds nothing of any domain.
        answers(b, AliasesTemplate {}),
        forbidden(b, ResolveAddress { address: acct() }),
        forbidden(b, ListGroups { domain: d(), ..Default::default() }),
        forbidden(b, GetGroup { address: team() }),
        forbidden(b, CreateGroup { address: "new@b.example".into(), name: "n".into(), ..Default::default() }),
        forbidden(b, SetGroupDepartments { address: "team@b.example".into(), departments: vec!["Sales".into()] }),
        forbidden(b, UpdateGroup { address: team(), name: Some("n".into()), ..Default::default() }),
        forbidden(b, AddGroupMembers { address: team(), members: vec![acct()] }),
        forbidden(b, RemoveGroupMembers { address: team(), members: vec![acct()] }),
        forbidden(b, RemoveGroup { address: team() }),
        // ---- Admins and tokens: owner business --------------------------------------------
        forbidden(b, ListAdmins::default()),
        forbidden(b, CreateAdmin { name: "evil".into(), role: Role::Owner, pages: None, domains: None }),
        forbidden(b, UpdateAdmin { name: "alice".into(), role: Role::Owner, pages: None, domains: None }),
        forbidden(b, RemoveAdmin { name: "owner".into() }),
        // Its own tokens it may list, rotate and revoke; nobody else's.
        answers(b, ListTokens::default()),
        forbidden(b, ListTokens { admin: Some("owner".into()), ..Default::default() }),
        forbidden(b, CreateToken { admin: "owner".into(), ..Default::default() }),
        forbidden(b, RevokeToken { id: owner_token.into() }),
        forbidden(b, RotateOwnToken { id: owner_token.into(), ..Default::default() }),
        // Its own web UI sign-in it may manage; nobody else's, nor the policy.
        forbidden(
            b,
            SetAdminPassword {
                name: "owner".into(),
                password: Password("Correct horse 1".into()),
                current_password: None,
            },
        ),
        forbidden(b, StartTwoFactor { name: "owner".into() }),
        forbidden(b, ConfirmTwoFactor { name: "owner".into(), code: "123456".into() }),
        forbidden(b, RemoveTwoFactor { name: "owner".into() }),
        forbidden(b, EndSessions { name: "owner".into() }),
        answers(b, GetSignInPolicy {}),
        answers(b, GetOwnSignIn {}),
        forbidden(b, SetSignInPolicy { require_two_factor: true, ..Default::default() }),
        // ---- DNS and DKIM -----------------------------------------------------------------
        forbidden(b, CheckDns { domain: d(), ..Default::default() }),
        forbidden(b, DnsSetup { domain: d(), mail_host: "mx.b.example".into(), ..Default::default() }),
        forbidden(b, CreateDkimKey { domain: d(), ..Default::default() }),
        forbidden(b, ListDkimKeys { domain: d(), ..Default::default() }),
        forbidden(b, RemoveDkimKey { domain: d(), selector: "old".into() }),
        forbidden(b, ListAudit { domain: Some(d()), ..Default::default() }),
        forbidden(b, ListLogins { domain: Some(d()), ..Default::default() }),
        forbidden(b, ListLogins { account: Some(acct()), ..Default::default() }),
        forbidden(b, ListLogins { account: Some("alias@b.example".into()), ..Default::default() }),
        forbidden(b, ExportLogins { domain: Some(d()), ..Default::default() }),
        // ---- Message trace: B's mail is not A's to read; the retention is server-wide
        forbidden(b, ListMessageTrace { domain: Some(d()), ..Default::default() }),
        forbidden(b, GetMessageTrace { id: 1 }),
        forbidden(b, ExportMessageTrace { domain: Some(d()), ..Default::default() }),
        answers(b, GetTraceSettings {}),
        forbidden(b, UpdateTraceSettings { retention_days: 30 }),
        // ---- Batch settings, address book, policy --------------------------------
        forbidden(b, GetSettings { domain: d(), department: Some("Dept".into()), ..Default::default() }),
        forbidden(b, GetEffectiveSettings { address: acct() }),
        forbidden(
            b,
            UpdateSettings { domain: d(), target: BatchTarget::Domain, set: Some(pop3_off()), ..Default::default() },
        ),
        forbidden(
            b,
            ResetPasswords {
                domain: d(),
                target: BatchTarget::Accounts { addresses: vec![acct()] },
                password: password(),
                ..Default::default()
            },
        ),
        forbidden(
            b,
            ClearSecurityQuestions {
                domain: d(),
                target: BatchTarget::Department { path: "Dept".into(), subdepartments: None },
            },
        ),
        forbidden(b, ListBatches { domain: d(), ..Default::default() }),
        forbidden(b, UndoBatch { domain: d(), id: 1 }),
        forbidden(b, ListAddressBook { domain: d(), ..Default::default() }),
        forbidden(b, ExplainPolicy { sender: "x@far.example".into(), recipients: vec![acct()], ..Default::default() }),
        forbidden(b, ListBccRules { domain: d(), ..Default::default() }),
        forbidden(b, AddBccRule { domain: d(), name: "copy".into(), copy_to: acct(), ..Default::default() }),
        forbidden(b, RemoveBccRule { domain: d(), id: 1 }),
        forbidden(b, ImportBccRules { domain: d(), file_name: "b.xlsx".into(), content_base64: "UEsDBA==".into() }),
        forbidden(b, ExportBccRules { domain: d() }),
        answers(b, BccRulesTemplate {}),
        forbidden(b, ListDisclaimerRules { domain: d(), ..Default::default() }),
        forbidden(
            b,
            AddDisclaimerRule { domain: d(), name: "legal".into(), text: "Confidential.".into(), ..Default::default() },
        ),
        forbidden(b, MoveDisclaimerRule { domain: d(), id: 1, position: 1 }),
        forbidden(b, RemoveDisclaimerRule { domain: d(), id: 1 }),
        forbidden(
            b,
            ImportDisclaimerRules { domain: d(), file_name: "d.xlsx".into(), content_base64: "UEsDBA==".into() },
        ),
        forbidden(b, ExportDisclaimerRules { domain: d() }),
        answers(b, DisclaimerRulesTemplate {}),
        forbidden(b, ListMonitorRules { domain: d(), ..Default::default() }),
        forbidden(b, ImportMonitorRules { domain: d(), file_name: "m.xlsx".into(), content_base64: "UEsDBA==".into() }),
        forbidden(b, ExportMonitorRules { domain: d() }),
        answers(b, MonitorRulesTemplate {}),
        forbidden(b, AddMonitorRule { domain: d(), name: "watch".into(), target: acct(), ..Default::default() }),
        forbidden(b, RemoveMonitorRule { domain: d(), id: 1 }),
        forbidden(b, UpdateMonitorRule { domain: d(), id: 1, name: "w".into(), target: acct(), ..Default::default() }),
        forbidden(b, UpdateBccRule { domain: d(), id: 1, name: "b".into(), copy_to: acct(), ..Default::default() }),
        forbidden(
            b,
            UpdateDisclaimerRule { domain: d(), id: 1, name: "d".into(), text: "t".into(), ..Default::default() },
        ),
        forbidden(b, ListOutboundUsage { domain: d(), ..Default::default() }),
        // ---- SMTP service admin: server-wide, so a domain-limited admin is refused
        forbidden(b, GetSmtpSettings {}),
        forbidden(b, UpdateSmtpSettings::default()),
        forbidden(b, ListSmtpRules::default()),
        forbidden(
            b,
            AddSmtpRule {
                name: "r".into(),
                kind: SmtpRuleKind::ClientIp,
                value: "192.0.2.1".into(),
                action: SmtpRuleAction::Reject,
                note: None,
                position: None,
            },
        ),
        forbidden(b, UpdateSmtpRule { id: 1, ..Default::default() }),
        forbidden(b, RemoveSmtpRule { id: 1 }),
        forbidden(b, MoveSmtpRule { id: 1, position: 1 }),
        forbidden(
            b,
            ImportSmtpRules { file_name: "r.xlsx".into(), content_base64: "UEsDBA==".into(), ..Default::default() },
        ),
        forbidden(b, ExportSmtpRules {}),
        forbidden(b, SmtpRulesTemplate {}),
        forbidden(b, GetSmtpStatus {}),
        // ---- Outbound queue and transport table: server-wide too
        forbidden(b, ListOutboundQueue::default()),
        forbidden(b, RetryOutbound { id: 1 }),
        forbidden(b, DeleteOutbound { id: 1 }),
        forbidden(b, BounceOutbound { id: 1 }),
        forbidden(b, ListTransports::default()),
        forbidden(b, SetTransport { domain: "b.example".into(), host: "127.0.0.1".into(), port: 25 }),
        forbidden(b, RemoveTransport { domain: "b.example".into() }),
        // ---- Smarthost relays: server-wide, even a sender domain's
        forbidden(b, ListRelays::default()),
        forbidden(
            b,
            SetRelay {
                sender_domain: Some("b.example".into()),
                host: "127.0.0.1".into(),
                port: 587,
                auth: Some(postdesk_contract::relay::RelayAuth::Plain),
                username: Some("u".into()),
                secret: Some(RelaySecret("x".into())),
                ..Default::default()
            },
        ),
        forbidden(b, RemoveRelay { sender_domain: Some("b.example".into()) }),
        // ---- SMS gateway: server-wide; an account's phone: the Accounts page of its domain
        forbidden(b, GetSmsGateway {}),
        forbidden(b, SetSmsGateway { mode: postdesk_contract::phone::SmsGatewayMode::Log, ..Default::default() }),
        forbidden(b, ListSmsLog::default()),
        forbidden(b, GetAccountPhone { address: acct() }),
        forbidden(b, ClearAccountPhone { address: acct() }),
        forbidden(b, GetAccountForwarding { address: acct() }),
        forbidden(b, ClearAccountForwarding { address: acct() }),
        // ---- Shared mailboxes: the Accounts page of their domain
        forbidden(
            b,
            CreateSharedMailbox {
                domain: d(),
                address: "desk@b.example".into(),
                name: "Desk".into(),
                host: Some("127.0.0.1".into()),
                port: Some(1),
                username: Some("u".into()),
                secret: Some(RemoteSecret("x".into())),
                ..Default::default()
            },
        ),
        forbidden(b, ListSharedMailboxes { domain: d(), ..Default::default() }),
        answers(b, ListStoppedSharedMailboxes::default()),
        forbidden(b, GetSharedMailbox { address: "desk@b.example".into() }),
        forbidden(b, UpdateSharedMailbox { address: "desk@b.example".into(), ..Default::default() }),
        forbidden(b, FetchSharedMailbox { address: "desk@b.example".into() }),
        forbidden(b, FetchSharedFolderList { address: "desk@b.example".into() }),
        forbidden(b, SetSharedFolders { address: "desk@b.example".into(), fetch: vec![], ..Default::default() }),
        forbidden(
            b,
            ResyncSharedMailbox {
                address: "desk@b.example".into(),
                since: "2026-01-01T00:00:00Z".into(),
                confirm: true,
            },
        ),
        forbidden(b, SetSharedMailboxOwners { address: "desk@b.example".into(), users: vec![acct()], groups: vec![] }),
        forbidden(
            b,
            SetSharedAutoReply {
                address: "desk@b.example".into(),
                enabled: true,
                subject: "Away".into(),
                text: "Back soon.".into(),
                ..Default::default()
            },
        ),
        forbidden(
            b,
            SetSharedTemplate { address: "desk@b.example".into(), font: Some("Arial".into()), size_pt: Some(12) },
        ),
        forbidden(b, ListSharedOwners { domain: d(), ..Default::default() }),
        forbidden(b, SetDefaultSharedMailbox { user: acct(), mailbox: None }),
        forbidden(b, RemoveSharedMailbox { address: "desk@b.example".into() }),
        // ---- Workflow groups: the Accounts page of their domain
        forbidden(b, ListWorkflowGroups { domain: d(), ..Default::default() }),
        forbidden(b, CreateWorkflowGroup { domain: d(), name: "Team".into(), members: vec![acct()] }),
        forbidden(b, SetWorkflowGroupMembers { domain: d(), name: "Team".into(), members: vec![] }),
        forbidden(b, RemoveWorkflowGroup { domain: d(), name: "Team".into() }),
    ]
}

/// Domains A and B, and in B a department, an account with an alias, an alias, a group and
/// a finished import job: what the role tables aim at. Returns the import's id.
async fn role_world(h: &Harness) -> String {
    h.domain("a.example", 10).await;
    h.domain("b.example", 10).await;
    h.owner
        .create_department(CreateDepartment { domain: "b.example".into(), path: "Dept".into(), ..Default::default() })
        .await
        .unwrap();
    h.account("user@b.example", Some("Dept")).await;
    h.owner
        .add_account_alias(AddAccountAlias { address: "user@b.example".into(), alias: "alias@b.example".into() })
        .await
        .unwrap();
    h.owner
        .create_alias(CreateAlias {
            address: "list@b.example".into(),
            targets: vec!["user@b.example".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let team = CreateGroup { address: "team@b.example".into(), name: "t".into(), ..Default::default() };
    h.owner.create_group(team).await.unwrap();
    // An import job in B, whose progress A's admin may not read.
    let file = postdesk_tests::xlsx(&[postdesk_tests::import_header(), vec!["imported@b.example".into()]]);
    let import = postdesk_tests::start_import(h.owner.as_ref(), "b.example", &file).await.unwrap();
    postdesk_tests::finish_import(h.owner.as_ref(), &import.id).await;
    import.id
}

async fn sub_admin_of_one_domain_is_refused_on_every_route_of_another(h: Harness) {
    let import = role_world(&h).await;
    let (alice, _) = h.admin("alice", Role::Admin, &Page::ALL, Some(&["a.example"])).await;
    let audit_before = h.audit_count().await;
    let owner_token =
        h.owner.list_tokens(ListTokens { admin: Some("owner".into()), ..Default::default() }).await.unwrap().items[0]
            .id
            .clone();

    let mut covered = Vec::new();
    for Row { name, expect, outcome } in role_table(alice.as_ref(), &import, &owner_token) {
        covered.push(name);
        match (expect, outcome.await) {
            (Expect::Forbidden, Err(err)) => assert_eq!(err.code, ErrorCode::PermissionDenied, "{name}: {err:?}"),
            (Expect::Answers, Ok(())) => {}
            (_, outcome) => panic!("{name}: {outcome:?}"),
        }
    }
    assert_eq!(h.audit_count().await, audit_before, "nothing changed");

    // The table above must name every operation of the Backend.
    let missing: Vec<&str> = operation_names().into_iter().filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "operations without a role test: {missing:?}");

    // The scope-filtered ones show A only.
    assert_eq!(alice.whoami(WhoAmI {}).await.unwrap().domains, Some(vec!["a.example".to_string()]));
    let visible: Vec<String> =
        alice.list_domains(ListDomains::default()).await.unwrap().items.into_iter().map(|d| d.name).collect();
    assert_eq!(visible, ["a.example"]);
    assert!(alice.list_domain_groups(ListDomainGroups::default()).await.unwrap().items.is_empty());
    let audit = alice.list_audit(ListAudit::default()).await.unwrap();
    assert!(audit.items.iter().all(|e| e.domain.as_deref() != Some("b.example")), "no entries of B");
    h.engine.verify_login(smtp_login("user@b.example", "x")).await.unwrap();
    let logins = alice.list_logins(ListLogins::default()).await.unwrap();
    assert!(logins.items.is_empty(), "no logins of B: {logins:?}");
    assert!(alice.accounts_template(AccountsTemplate {}).await.unwrap().content_base64.len() > 100);

    // …and the same sub-admin works in its own domain.
    alice.create_account(new_account("me@a.example", None)).await.unwrap();
    // Aliases may not reach into B either.
    let sneaky =
        CreateAlias { address: "fwd@a.example".into(), targets: vec!["user@b.example".into()], ..Default::default() };
    refused(alice.create_alias(sneaky).await, ErrorCode::PermissionDenied, "b.example");
}

/// The name of every operation of the Backend, in table order.
fn operation_names() -> Vec<&'static str> {
    operation_mutates().into_iter().map(|(name, _)| name).collect()
}

/// The operations `caller` is refused (403) in the role table, aimed at B, on a fresh world.
async fn refused_operations(kind: Kind, role: Role, pages: &[Page]) -> std::collections::BTreeSet<&'static str> {
    let h = Harness::new(kind).await;
    let import = role_world(&h).await;
    let (caller, _) = h.admin("probe", role, pages, None).await;
    let owner_token =
        h.owner.list_tokens(ListTokens { admin: Some("owner".into()), ..Default::default() }).await.unwrap().items[0]
            .id
            .clone();
    let mut refused = std::collections::BTreeSet::new();
    for Row { name, outcome, .. } in role_table(caller.as_ref(), &import, &owner_token) {
        if let Err(err) = outcome.await
            && err.code == ErrorCode::PermissionDenied
        {
            refused.insert(name);
        }
    }
    refused
}

/// Which admins an operation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Every admin (filtered to what it may see).
    Everyone,
    /// Admins who have this page.
    Page(Page),
    /// Owners only.
    Owner,
}

async fn every_operation_needs_its_page_and_the_helpdesk_changes_nothing(h: Harness) {
    let gates: std::collections::BTreeMap<&str, Gate> = OPERATION_GATES.iter().copied().collect();
    let unlisted: Vec<&str> = operation_names().into_iter().filter(|n| !gates.contains_key(n)).collect();
    assert!(unlisted.is_empty(), "operations missing from OPERATION_GATES (say which page they need): {unlisted:?}");

    // An admin of every domain with every page: refused only the owners' operations.
    let all = refused_operations(h.kind, Role::Admin, &Page::ALL).await;
    // With every page but one: refused that page's operations as well, and nothing else.
    let mut without = Vec::new();
    for page in Page::ALL {
        let pages: Vec<Page> = Page::ALL.into_iter().filter(|p| *p != page).collect();
        without.push((page, refused_operations(h.kind, Role::Admin, &pages).await));
    }
    // A helpdesk agent of every domain with every page: refused every change.
    let desk = refused_operations(h.kind, Role::Helpdesk, &Page::ALL).await;

    let mut wrong = Vec::new();
    for (name, mutates) in operation_mutates() {
        let gate = gates[name];
        let needs: Vec<Page> =
            without.iter().filter(|(_, r)| r.contains(name) && !all.contains(name)).map(|(p, _)| *p).collect();
        let seen = match (all.contains(name), needs.as_slice()) {
            (true, _) => Gate::Owner,
            (false, []) => Gate::Everyone,
            (false, [page]) => Gate::Page(*page),
            (false, more) => {
                wrong.push(format!("{name}: needs several pages {more:?}"));
                continue;
            }
        };
        if seen != gate {
            wrong.push(format!("{name}: expected {gate:?}, behaves as {seen:?}"));
        }
        let desk_refused = desk.contains(name);
        if desk_refused != (mutates || gate == Gate::Owner) {
            wrong.push(format!("{name} (mutates: {mutates}): helpdesk refused = {desk_refused}"));
        }
    }
    assert!(wrong.is_empty(), "role checks that differ from OPERATION_GATES:\n{}", wrong.join("\n"));
}

/// Each operation's name and whether it changes state.
fn operation_mutates() -> Vec<(&'static str, bool)> {
    struct Names(Vec<(&'static str, bool)>);
    impl OperationVisitor for Names {
        fn visit<O: Operation>(&mut self) {
            self.0.push((O::NAME, O::MUTATES));
        }
    }
    let mut all = Names(Vec::new());
    visit_operations(&mut all);
    all.0
}

/// The page each operation needs (the role table's expectations, one row per operation).
const OPERATION_GATES: &[(&str, Gate)] = &[
    // Another admin's token (the role table's rows) only an owner may revoke or rotate; every
    // admin its own (any_admin_rotates_and_revokes_its_own_tokens_only).
    ("accounts_template", Gate::Page(Page::Accounts)),
    ("add_account_alias", Gate::Page(Page::Accounts)),
    ("add_bcc_rule", Gate::Page(Page::Policy)),
    ("aliases_template", Gate::Page(Page::Aliases)),
    ("bcc_rules_template", Gate::Page(Page::Policy)),
    ("export_aliases", Gate::Page(Page::Aliases)),
    ("export_bcc_rules", Gate::Page(Page::Policy)),
    ("import_aliases", Gate::Page(Page::Aliases)),
    ("import_bcc_rules", Gate::Page(Page::Policy)),
    ("disclaimer_rules_template", Gate::Page(Page::Policy)),
    ("export_disclaimer_rules", Gate::Page(Page::Policy)),
    ("import_disclaimer_rules", Gate::Page(Page::Policy)),
    ("monitor_rules_template", Gate::Page(Page::Policy)),
    ("export_monitor_rules", Gate::Page(Page::Policy)),
    ("import_monitor_rules", Gate::Page(Page::Policy)),
    ("add_disclaimer_rule", Gate::Page(Page::Policy)),
    ("add_monitor_rule", Gate::Page(Page::Policy)),
    ("add_group_members", Gate::Page(Page::Groups)),
    ("add_smtp_rule", Gate::Page(Page::Smtp)),
    ("allocate_accounts", Gate::Page(Page::Domains)),
    ("bounce_outbound", Gate::Page(Page::Smtp)),
    ("bulk_accounts", Gate::Page(Page::Accounts)),
    ("check_dns", Gate::Page(Page::Dns)),
    ("clean_mailbox", Gate::Page(Page::Accounts)),
    ("clear_security_questions", Gate::Page(Page::BatchSettings)),
    ("confirm_two_factor", Gate::Owner),
    ("create_account", Gate::Page(Page::Accounts)),
    ("create_accounts", Gate::Page(Page::Accounts)),
    ("create_admin", Gate::Owner),
    ("create_alias", Gate::Page(Page::Aliases)),
    ("create_department", Gate::Page(Page::Departments)),
    ("create_dkim_key", Gate::Page(Page::Dns)),
    ("create_domain", Gate::Page(Page::Domains)),
    ("create_domain_group", Gate::Page(Page::Domains)),
    ("create_group", Gate::Page(Page::Groups)),
    ("create_token", Gate::Owner),
    ("delete_outbound", Gate::Page(Page::Smtp)),
    ("dns_setup", Gate::Page(Page::Dns)),
    ("end_sessions", Gate::Owner),
    ("explain_policy", Gate::Page(Page::Policy)),
    ("export_accounts", Gate::Page(Page::Accounts)),
    ("export_logins", Gate::Page(Page::Accounts)),
    ("export_message_trace", Gate::Page(Page::Accounts)),
    ("export_smtp_rules", Gate::Page(Page::Smtp)),
    ("get_account", Gate::Page(Page::Accounts)),
    ("get_alias", Gate::Page(Page::Aliases)),
    ("get_domain", Gate::Page(Page::Domains)),
    ("get_effective_settings", Gate::Page(Page::BatchSettings)),
    ("get_group", Gate::Page(Page::Groups)),
    ("get_mailbox", Gate::Page(Page::Accounts)),
    ("get_mailbox_settings", Gate::Page(Page::Accounts)),
    ("get_message_trace", Gate::Page(Page::Accounts)),
    ("get_settings", Gate::Page(Page::BatchSettings)),
    ("get_own_sign_in", Gate::Everyone),
    ("get_sign_in_policy", Gate::Everyone),
    ("get_smtp_settings", Gate::Page(Page::Smtp)),
    ("get_smtp_status", Gate::Page(Page::Smtp)),
    ("get_trace_settings", Gate::Page(Page::Accounts)),
    ("import_smtp_rules", Gate::Page(Page::Smtp)),
    ("import_status", Gate::Page(Page::Accounts)),
    ("list_accounts", Gate::Page(Page::Accounts)),
    ("list_address_book", Gate::Page(Page::AddressBook)),
    ("list_admins", Gate::Owner),
    ("list_aliases", Gate::Page(Page::Aliases)),
    ("list_bcc_rules", Gate::Page(Page::Policy)),
    ("list_disclaimer_rules", Gate::Page(Page::Policy)),
    ("list_monitor_rules", Gate::Page(Page::Policy)),
    ("move_disclaimer_rule", Gate::Page(Page::Policy)),
    ("list_outbound_usage", Gate::Page(Page::Accounts)),
    ("list_audit", Gate::Page(Page::Audit)),
    ("list_batches", Gate::Page(Page::BatchSettings)),
    ("list_departments", Gate::Page(Page::Departments)),
    ("list_dkim_keys", Gate::Page(Page::Dns)),
    ("list_domain_groups", Gate::Page(Page::Domains)),
    ("list_domains", Gate::Everyone),
    ("list_groups", Gate::Page(Page::Groups)),
    ("list_logins", Gate::Page(Page::Accounts)),
    ("list_message_trace", Gate::Page(Page::Accounts)),
    ("list_messages", Gate::Page(Page::Accounts)),
    ("list_outbound_queue", Gate::Page(Page::Smtp)),
    ("list_recycle_bin", Gate::Page(Page::Accounts)),
    ("list_relays", Gate::Page(Page::Smtp)),
    ("list_smtp_rules", Gate::Page(Page::Smtp)),
    ("list_tokens", Gate::Owner),
    ("list_transports", Gate::Page(Page::Smtp)),
    ("move_department", Gate::Page(Page::Departments)),
    ("move_smtp_rule", Gate::Page(Page::Smtp)),
    ("remove_account", Gate::Page(Page::Accounts)),
    ("remove_account_alias", Gate::Page(Page::Accounts)),
    ("remove_admin", Gate::Owner),
    ("remove_alias", Gate::Page(Page::Aliases)),
    ("remove_department", Gate::Page(Page::Departments)),
    ("remove_dkim_key", Gate::Page(Page::Dns)),
    ("remove_domain", Gate::Page(Page::Domains)),
    ("remove_group", Gate::Page(Page::Groups)),
    ("set_group_departments", Gate::Page(Page::Groups)),
    ("remove_group_members", Gate::Page(Page::Groups)),
    ("remove_smtp_rule", Gate::Page(Page::Smtp)),
    ("remove_bcc_rule", Gate::Page(Page::Policy)),
    ("remove_disclaimer_rule", Gate::Page(Page::Policy)),
    ("remove_monitor_rule", Gate::Page(Page::Policy)),
    ("update_bcc_rule", Gate::Page(Page::Policy)),
    ("update_disclaimer_rule", Gate::Page(Page::Policy)),
    ("update_monitor_rule", Gate::Page(Page::Policy)),
    ("remove_relay", Gate::Page(Page::Smtp)),
    ("remove_smtp_rule", Gate::Page(Page::Smtp)),
    ("remove_transport", Gate::Page(Page::Smtp)),
    ("remove_two_factor", Gate::Owner),
    ("rename_department", Gate::Page(Page::Departments)),
    ("reset_passwords", Gate::Page(Page::BatchSettings)),
    ("resolve_address", Gate::Page(Page::Accounts)),
    ("restore_account", Gate::Page(Page::Accounts)),
    ("retry_outbound", Gate::Page(Page::Smtp)),
    ("revoke_token", Gate::Owner),
    ("rotate_own_token", Gate::Owner),
    ("set_admin_password", Gate::Owner),
    ("set_password", Gate::Page(Page::Accounts)),
    ("set_pickup_rules", Gate::Page(Page::Accounts)),
    ("set_relay", Gate::Page(Page::Smtp)),
    ("set_sign_in_policy", Gate::Owner),
    ("set_transport", Gate::Page(Page::Smtp)),
    ("smtp_rules_template", Gate::Page(Page::Smtp)),
    ("start_import", Gate::Page(Page::Accounts)),
    ("start_two_factor", Gate::Owner),
    ("transfer_mail", Gate::Page(Page::Accounts)),
    ("undo_batch", Gate::Page(Page::BatchSettings)),
    ("update_account", Gate::Page(Page::Accounts)),
    ("update_admin", Gate::Owner),
    ("update_alias", Gate::Page(Page::Aliases)),
    ("update_domain_limits", Gate::Page(Page::Domains)),
    ("update_group", Gate::Page(Page::Groups)),
    ("update_mailbox_settings", Gate::Page(Page::Accounts)),
    ("update_settings", Gate::Page(Page::BatchSettings)),
    ("update_smtp_rule", Gate::Page(Page::Smtp)),
    ("update_smtp_settings", Gate::Page(Page::Smtp)),
    ("update_trace_settings", Gate::Page(Page::Smtp)),
    ("whoami", Gate::Everyone),
    // Shared mailboxes (issue 17).
    ("list_shared_mailboxes", Gate::Page(Page::Accounts)),
    ("list_stopped_shared_mailboxes", Gate::Page(Page::Accounts)),
    ("get_shared_mailbox", Gate::Page(Page::Accounts)),
    ("create_shared_mailbox", Gate::Page(Page::Accounts)),
    ("update_shared_mailbox", Gate::Page(Page::Accounts)),
    ("remove_shared_mailbox", Gate::Page(Page::Accounts)),
    ("fetch_shared_mailbox", Gate::Page(Page::Accounts)),
    ("fetch_shared_folder_list", Gate::Page(Page::Accounts)),
    ("set_shared_folders", Gate::Page(Page::Accounts)),
    ("resync_shared_mailbox", Gate::Page(Page::Accounts)),
    ("set_shared_mailbox_owners", Gate::Page(Page::Accounts)),
    ("list_workflow_groups", Gate::Page(Page::Accounts)),
    ("create_workflow_group", Gate::Page(Page::Accounts)),
    ("set_workflow_group_members", Gate::Page(Page::Accounts)),
    ("remove_workflow_group", Gate::Page(Page::Accounts)),
    ("set_shared_auto_reply", Gate::Page(Page::Accounts)),
    ("set_shared_template", Gate::Page(Page::Accounts)),
    ("list_shared_owners", Gate::Page(Page::Accounts)),
    ("set_default_shared_mailbox", Gate::Page(Page::Accounts)),
    ("get_sms_gateway", Gate::Page(Page::Smtp)),
    ("set_sms_gateway", Gate::Page(Page::Smtp)),
    ("list_sms_log", Gate::Page(Page::Smtp)),
    ("get_account_phone", Gate::Page(Page::Accounts)),
    ("clear_account_phone", Gate::Page(Page::Accounts)),
    ("get_account_forwarding", Gate::Page(Page::Accounts)),
    ("clear_account_forwarding", Gate::Page(Page::Accounts)),
];

async fn helpdesk_reads_but_cannot_change(h: Harness) {
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    assert_eq!(
        desk.get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap().address,
        "ann@example.com"
    );
    assert_eq!(desk.list_accounts(list_accounts("example.com")).await.unwrap().total, 1);
    let reset = SetPassword {
        address: "ann@example.com".into(),
        password: Password("Helpdesk 123".into()),
        ..Default::default()
    };
    refused(desk.set_password(reset).await, ErrorCode::PermissionDenied, "helpdesk");
    refused(
        desk.remove_account(RemoveAccount { address: "ann@example.com".into() }).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
    refused(
        desk.list_aliases(ListAliases { domain: "example.com".into(), ..Default::default() }).await,
        ErrorCode::PermissionDenied,
        "aliases page",
    );
    refused(desk.list_audit(ListAudit::default()).await, ErrorCode::PermissionDenied, "audit page");
}

async fn admins_and_tokens_are_owner_business(h: Harness) {
    h.domain("example.com", 10).await;
    let create = |name: &str, role, domains: Option<Vec<String>>| CreateAdmin {
        name: name.into(),
        role,
        pages: Some(vec![Page::Accounts]),
        domains,
    };
    refused(
        h.owner.create_admin(create("bad name", Role::Admin, None)).await,
        ErrorCode::Validation,
        "not a valid admin name",
    );
    refused(
        h.owner.create_admin(create("x", Role::Admin, Some(vec!["nowhere.example".into()]))).await,
        ErrorCode::NotFound,
        "nowhere.example",
    );
    refused(h.owner.create_admin(create("x", Role::Admin, Some(vec![]))).await, ErrorCode::Validation, "allow nothing");
    let no_pages = CreateAdmin { name: "x".into(), role: Role::Admin, pages: None, domains: None };
    refused(h.owner.create_admin(no_pages).await, ErrorCode::Validation, "at least one page");
    let (bob, bob_secret) = h.admin("bob", Role::Admin, &Page::ALL, None).await;
    refused(h.owner.create_admin(create("BOB", Role::Admin, None)).await, ErrorCode::Conflict, "already exists");
    refused(bob.list_admins(ListAdmins::default()).await, ErrorCode::PermissionDenied, "only an owner");
    refused(
        bob.create_token(CreateToken { admin: "bob".into(), ..Default::default() }).await,
        ErrorCode::PermissionDenied,
        "only an owner",
    );

    refused(h.owner.remove_admin(RemoveAdmin { name: "owner".into() }).await, ErrorCode::Conflict, "last owner");
    let demote =
        UpdateAdmin { name: "owner".into(), role: Role::Admin, pages: Some(vec![Page::Accounts]), domains: None };
    refused(h.owner.update_admin(demote).await, ErrorCode::Conflict, "last owner");

    let tokens =
        h.owner.list_tokens(ListTokens { admin: Some("bob".into()), ..Default::default() }).await.unwrap().items;
    assert_eq!(tokens.len(), 1);
    assert!(bob_secret.starts_with(&format!("pd_{}_", tokens[0].id)));
    assert!(!serde_json::to_string(&tokens).unwrap().contains(&bob_secret), "secrets are shown once only");
    h.owner.revoke_token(RevokeToken { id: tokens[0].id.clone() }).await.unwrap();
    if h.kind == Kind::Remote {
        refused(bob.whoami(WhoAmI {}).await, ErrorCode::Unauthenticated, "not valid");
    }
    refused(h.engine.authenticate(&bob_secret).await, ErrorCode::Unauthenticated, "not valid");
    let promoted = UpdateAdmin { name: "bob".into(), role: Role::Owner, pages: None, domains: None };
    assert_eq!(h.owner.update_admin(promoted).await.unwrap().pages, Page::ALL);
    h.owner.remove_admin(RemoveAdmin { name: "bob".into() }).await.unwrap();
    assert_eq!(h.owner.list_admins(ListAdmins::default()).await.unwrap().items.len(), 1);
}

/// Token rotation (issue 15, item 8): any admin, helpdesk too, makes the successor of its own
/// token, which works at once while the old one works until revoked; nobody rotates or
/// revokes another admin's token; each step is audited.
async fn any_admin_rotates_and_revokes_its_own_tokens_only(h: Harness) {
    h.owner
        .create_admin(CreateAdmin {
            name: "desk".into(),
            role: Role::Helpdesk,
            pages: Some(vec![Page::Accounts]),
            domains: None,
        })
        .await
        .unwrap();
    let old = h
        .owner
        .create_token(CreateToken {
            admin: "desk".into(),
            label: Some("desktop app".into()),
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    let (bob, _) = h.admin("bob", Role::Admin, &Page::ALL, None).await;
    let desk = h.with_token(&old.secret).await.unwrap();

    // It sees its own tokens only, with their expiry.
    let mine = desk.list_tokens(ListTokens::default()).await.unwrap().items;
    assert_eq!(mine.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [old.token.id.as_str()]);
    assert!(mine[0].expires_at.is_some());
    refused(
        desk.list_tokens(ListTokens { admin: Some("bob".into()), ..Default::default() }).await,
        ErrorCode::PermissionDenied,
        "only an owner",
    );

    // Not somebody else's, not a missing one, not a silly lifetime: nothing recorded.
    let bobs = h.owner.list_tokens(ListTokens { admin: Some("bob".into()), ..Default::default() }).await.unwrap().items
        [0]
    .id
    .clone();
    let before = h.audit_count().await;
    let rotate = |id: &str, days| RotateOwnToken { id: id.into(), expires_in_days: days };
    refused(desk.rotate_own_token(rotate(&bobs, None)).await, ErrorCode::PermissionDenied, "not one of desk's tokens");
    refused(desk.revoke_token(RevokeToken { id: bobs.clone() }).await, ErrorCode::PermissionDenied, "only an owner");
    refused(bob.rotate_own_token(rotate(&old.token.id, None)).await, ErrorCode::PermissionDenied, "not one of bob's");
    refused(desk.rotate_own_token(rotate("000000000000", None)).await, ErrorCode::NotFound, "does not exist");
    refused(desk.rotate_own_token(rotate(&old.token.id, Some(0))).await, ErrorCode::Validation, "1 to 3650 days");
    refused(desk.rotate_own_token(rotate(&old.token.id, Some(3651))).await, ErrorCode::Validation, "1 to 3650 days");
    assert_eq!(h.audit_count().await, before);

    // The successor: same admin and label, the old lifetime, a new secret that works at once.
    let new = desk.rotate_own_token(rotate(&old.token.id, None)).await.unwrap();
    assert_ne!(new.token.id, old.token.id);
    assert_ne!(new.secret, old.secret);
    assert_eq!((new.token.admin.as_str(), new.token.label.as_str()), ("desk", "desktop app"));
    let days = |t: &ApiToken| {
        let at = |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
        (at(t.expires_at.as_deref().unwrap()) - at(&t.created_at)).whole_days()
    };
    assert_eq!(days(&new.token), 30);
    let successor = h.with_token(&new.secret).await.unwrap();
    assert_eq!(successor.whoami(WhoAmI {}).await.unwrap().name, "desk");
    // The old one still works until revoked: a lost answer never locks the app out.
    assert_eq!(desk.whoami(WhoAmI {}).await.unwrap().name, "desk");
    successor.revoke_token(RevokeToken { id: old.token.id.clone() }).await.unwrap();
    refused(h.engine.authenticate(&old.secret).await, ErrorCode::Unauthenticated, "not valid");
    assert_eq!(successor.list_tokens(ListTokens::default()).await.unwrap().items.len(), 1);
    // A lifetime can be asked for.
    let shorter = successor.rotate_own_token(rotate(&new.token.id, Some(7))).await.unwrap();
    assert_eq!(days(&shorter.token), 7);

    // Both steps are in the audit log, by the admin that rotated.
    let audit = h.owner.list_audit(ListAudit { limit: Some(3), ..Default::default() }).await.unwrap();
    let steps: Vec<(&str, &str, &str)> =
        audit.items.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("desk", "rotate_own_token", shorter.token.id.as_str()),
            ("desk", "revoke_token", old.token.id.as_str()),
            ("desk", "rotate_own_token", new.token.id.as_str()),
        ]
    );
}

/// Walks a cursor-paged list `page_size` at a time: every page's items and the count of pages.
async fn walk<T, F, Fut>(page_size: u32, mut fetch: F, key: impl Fn(&T) -> String) -> (Vec<String>, Vec<usize>)
where
    F: FnMut(Option<String>, Option<u32>) -> Fut,
    Fut: std::future::Future<Output = Result<CursorPage<T>>>,
{
    let (mut seen, mut sizes, mut after) = (Vec::new(), Vec::new(), None);
    loop {
        let page = fetch(after.clone(), Some(page_size)).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(&key));
        assert!(sizes.len() < 1000, "the cursor does not move");
        match page.next {
            Some(next) => {
                assert_eq!(Some(&next), seen.last(), "the cursor is the page's last item");
                after = Some(next);
            }
            None => return (seen, sizes),
        }
    }
}

/// Every listing paged (issue 15, item 2): departments, aliases and groups come a bounded page
/// at a time with a keyset cursor; walking it yields each item exactly once, in order, even
/// when items are added before the cursor between pages; a page size over the most is refused.
async fn department_alias_and_group_lists_are_paged_with_a_cursor(h: Harness) {
    h.domain("example.com", 1000).await;
    h.account("ann@example.com", None).await;
    let mut aliases = Vec::new();
    let mut groups = Vec::new();
    for i in 0..7 {
        let address = format!("list{i}@example.com");
        let alias =
            CreateAlias { address: address.clone(), targets: vec!["ann@example.com".into()], ..Default::default() };
        h.owner.create_alias(alias).await.unwrap();
        aliases.push(address);
        let address = format!("team{i}@example.com");
        let group = CreateGroup { address: address.clone(), name: format!("Team {i}"), ..Default::default() };
        h.owner.create_group(group).await.unwrap();
        groups.push(address);
    }
    let domain = || "example.com".to_string();
    let (seen, sizes) = walk(
        3,
        |after, limit| h.owner.list_aliases(ListAliases { domain: domain(), after, limit, query: None }),
        |a: &Alias| a.address.clone(),
    )
    .await;
    assert_eq!((seen, sizes), (aliases.clone(), vec![3, 3, 1]));
    let (seen, sizes) = walk(
        4,
        |after, limit| h.owner.list_groups(ListGroups { domain: domain(), after, limit, query: None }),
        |g: &MailGroup| g.address.clone(),
    )
    .await;
    assert_eq!((seen, sizes), (groups.clone(), vec![4, 3]));

    // Keyset, not offset: an alias added before the cursor between two pages neither repeats
    // an item nor hides one.
    let first =
        h.owner.list_aliases(ListAliases { domain: domain(), after: None, limit: Some(3), query: None }).await.unwrap();
    let early = CreateAlias {
        address: "aaa@example.com".into(),
        targets: vec!["ann@example.com".into()],
        ..Default::default()
    };
    h.owner.create_alias(early).await.unwrap();
    let rest = h
        .owner
        .list_aliases(ListAliases { domain: domain(), after: first.next, limit: Some(100), query: None })
        .await
        .unwrap();
    let walked: Vec<String> = first.items.iter().chain(&rest.items).map(|a| a.address.clone()).collect();
    assert_eq!(walked, aliases);
    assert_eq!(rest.next, None);

    // Departments: more than one default page (200); the default page is bounded.
    let paths: Vec<String> = (0..205).map(|i| format!("Dept{i:03}")).collect();
    for path in &paths {
        h.owner
            .create_department(CreateDepartment { domain: domain(), path: path.clone(), parents: None })
            .await
            .unwrap();
    }
    let default = h.owner.list_departments(ListDepartments { domain: domain(), ..Default::default() }).await.unwrap();
    assert_eq!(default.items.len(), DEFAULT_PAGE as usize);
    assert_eq!(default.next.as_deref(), Some("Dept199"));
    let (seen, sizes) = walk(
        64,
        |after, limit| h.owner.list_departments(ListDepartments { domain: domain(), after, limit }),
        |d: &Department| d.path.clone(),
    )
    .await;
    assert_eq!(seen, paths);
    assert_eq!(sizes, [64, 64, 64, 13]);

    // A page size out of range is refused, naming the field and the range.
    for limit in [0, MAX_PAGE + 1, u32::MAX] {
        let err = refused(
            h.owner.list_aliases(ListAliases { domain: domain(), after: None, limit: Some(limit), query: None }).await,
            ErrorCode::Validation,
            "a page holds 1 to 1000 items",
        );
        assert_eq!(err.field.as_deref(), Some("limit"));
        refused(
            h.owner.list_departments(ListDepartments { domain: domain(), after: None, limit: Some(limit) }).await,
            ErrorCode::Validation,
            "a page holds 1 to 1000 items",
        );
        refused(
            h.owner.list_groups(ListGroups { domain: domain(), after: None, limit: Some(limit), query: None }).await,
            ErrorCode::Validation,
            "a page holds 1 to 1000 items",
        );
    }
}

async fn audit_log_records_who_what_before_after(h: Harness) {
    h.domain("example.com", 10).await;
    h.domain("other.example", 10).await;
    let (alice, _) = h.admin("alice", Role::Admin, &Page::ALL, Some(&["example.com"])).await;
    alice.create_account(new_account("ann@example.com", None)).await.unwrap();
    let upd =
        UpdateAccount { address: "ann@example.com".into(), display_name: Some("Ann".into()), ..Default::default() };
    alice.update_account(upd).await.unwrap();
    h.account("zed@other.example", None).await;

    let page = |domain: Option<&str>, actor: Option<&str>| ListAudit {
        domain: domain.map(String::from),
        actor: actor.map(String::from),
        limit: Some(10),
        ..Default::default()
    };
    let entries = h.owner.list_audit(page(Some("example.com"), Some("alice"))).await.unwrap();
    let actions: Vec<&str> = entries.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["update_account", "create_account"], "newest first");
    let update = &entries.items[0];
    assert_eq!((update.actor.as_str(), update.target.as_str()), ("alice", "ann@example.com"));
    assert_eq!(update.before.as_ref().unwrap()["display_name"], "");
    assert_eq!(update.after.as_ref().unwrap()["display_name"], "Ann");
    assert!(entries.items[1].before.is_none());
    assert!(!entries.items[0].at.is_empty());

    let alices_view = alice.list_audit(page(None, None)).await.unwrap();
    assert!(alices_view.items.iter().all(|e| e.domain.as_deref() == Some("example.com")), "{alices_view:?}");
    let owners_view = h.owner.list_audit(page(Some("other.example"), None)).await.unwrap();
    assert_eq!(owners_view.items[0].target, "zed@other.example");
}

async fn dkim_keys_rotate_and_never_show_the_private_key(h: Harness) {
    h.domain("example.com", 10).await;
    let create = |selector: Option<&str>, algorithm| CreateDkimKey {
        domain: "example.com".into(),
        algorithm: Some(algorithm),
        selector: selector.map(String::from),
    };
    use postdesk_dns::DkimAlgorithm::{Ed25519, Rsa2048};
    let first = h.owner.create_dkim_key(create(None, Rsa2048)).await.unwrap();
    assert!(first.selector.starts_with("pd") && first.active, "{first:?}");
    assert_eq!(first.record_name, format!("{}._domainkey.example.com", first.selector));
    assert!(first.record_value.starts_with("v=DKIM1; k=rsa; p=MII"), "{}", first.record_value);
    let before = h.audit_count().await;
    refused(
        h.owner.create_dkim_key(create(Some(&first.selector), Ed25519)).await,
        ErrorCode::Conflict,
        "already has a key",
    );
    refused(
        h.owner.create_dkim_key(create(Some("bad selector"), Ed25519)).await,
        ErrorCode::Validation,
        "not a valid selector",
    );
    refused(
        h.owner.remove_dkim_key(RemoveDkimKey { domain: "example.com".into(), selector: first.selector.clone() }).await,
        ErrorCode::Conflict,
        "rotation",
    );
    assert_eq!(h.audit_count().await, before);

    // Rotation: the new key is active, the old one retired but kept.
    let second = h.owner.create_dkim_key(create(Some("s2026"), Ed25519)).await.unwrap();
    assert!(second.record_value.starts_with("v=DKIM1; k=ed25519; p="), "{}", second.record_value);
    let keys = h
        .owner
        .list_dkim_keys(ListDkimKeys { domain: "example.com".into(), ..Default::default() })
        .await
        .unwrap()
        .items;
    let summary: Vec<(&str, bool)> = keys.iter().map(|k| (k.selector.as_str(), k.active)).collect();
    assert_eq!(summary, [("s2026", true), (first.selector.as_str(), false)]);
    h.owner
        .remove_dkim_key(RemoveDkimKey { domain: "example.com".into(), selector: first.selector.clone() })
        .await
        .unwrap();
    assert_eq!(
        h.owner
            .list_dkim_keys(ListDkimKeys { domain: "example.com".into(), ..Default::default() })
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // The private key is nowhere the API reaches: not in keys, not in the audit log.
    let audit = h.owner.list_audit(ListAudit { limit: Some(100), ..Default::default() }).await.unwrap();
    let text = format!("{}{}", serde_json::to_string(&keys).unwrap(), serde_json::to_string(&audit).unwrap());
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

/// A login attempt over SMTP from loopback.
fn smtp_login<'a>(login: &'a str, password: &'a str) -> postdesk_contract::mail::LoginAttempt<'a> {
    postdesk_contract::mail::LoginAttempt {
        login,
        password,
        service: postdesk_contract::mail::LoginService::Smtp,
        client: std::net::Ipv4Addr::LOCALHOST.into(),
    }
}

async fn groups_take_whole_departments_as_members(h: Harness) {
    h.domain("example.com", 50).await;
    for path in ["Sales/East", "Ops"] {
        let p = CreateDepartment { domain: "example.com".into(), path: path.into(), parents: Some(true) };
        h.owner.create_department(p).await.unwrap();
    }
    h.account("ann@example.com", Some("Sales")).await;
    h.account("bob@example.com", Some("Sales/East")).await;
    h.account("cid@example.com", Some("Ops")).await;
    h.account("dan@example.com", None).await;
    // A department that does not exist: refused at its field, nothing made.
    let bad = CreateGroup {
        address: "sales@example.com".into(),
        name: "Sales".into(),
        departments: Some(vec!["Nowhere".into()]),
        ..Default::default()
    };
    let e = refused(h.owner.create_group(bad).await, ErrorCode::NotFound, "department Nowhere does not exist");
    assert_eq!(e.field.as_deref(), Some("departments"));
    let group = CreateGroup {
        address: "sales@example.com".into(),
        name: "Sales".into(),
        send_permission: Some(SendPermission::MembersOnly),
        members: Some(vec!["dan@example.com".into()]),
        departments: Some(vec!["sales".into()]),
        ..Default::default()
    };
    let g = h.owner.create_group(group).await.unwrap();
    assert_eq!(g.departments, ["Sales"]);
    let resolve = async || {
        h.owner.resolve_address(ResolveAddress { address: "sales@example.com".into() }).await.unwrap().mailboxes
    };
    // The department and the ones below it, with the named member.
    assert_eq!(resolve().await, ["ann@example.com", "bob@example.com", "dan@example.com"]);
    // Whoever is in the department when the mail comes: cid moves in, bob moves out.
    let moved = |address: &str, dept: &str| UpdateAccount {
        address: address.into(),
        department: Some(dept.into()),
        ..Default::default()
    };
    h.owner.update_account(moved("cid@example.com", "Sales/East")).await.unwrap();
    h.owner.update_account(moved("bob@example.com", "Ops")).await.unwrap();
    assert_eq!(resolve().await, ["ann@example.com", "cid@example.com", "dan@example.com"]);
    // A members-only group admits its department's accounts as senders, not the others.
    let explain = |from: &str| ExplainPolicy {
        sender: from.into(),
        recipients: vec!["sales@example.com".into()],
        ..Default::default()
    };
    let allowed = |x: postdesk_contract::policy::PolicyExplanation| x.decision.recipients[0].allowed;
    assert!(allowed(h.owner.explain_policy(explain("cid@example.com")).await.unwrap()));
    assert!(!allowed(h.owner.explain_policy(explain("bob@example.com")).await.unwrap()));
    // Replaced (audited), then none.
    let set = |departments: &[&str]| SetGroupDepartments {
        address: "sales@example.com".into(),
        departments: departments.iter().map(|d| d.to_string()).collect(),
    };
    let g = h.owner.set_group_departments(set(&["Ops", "Sales/East"])).await.unwrap();
    assert_eq!(g.departments, ["Ops", "Sales/East"]);
    assert_eq!(resolve().await, ["bob@example.com", "cid@example.com", "dan@example.com"]);
    let audit = h.owner.list_audit(ListAudit { limit: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(audit.items[0].action, "set_group_departments");
    assert_eq!(audit.items[0].before, Some(serde_json::json!(["Sales"])));
    let g = h.owner.set_group_departments(set(&[])).await.unwrap();
    assert!(g.departments.is_empty());
    assert_eq!(resolve().await, ["dan@example.com"]);
}
