//! Every listing paged (issue 15, item 2), on both implementations: each list of the admin
//! API comes a bounded page at a time with a keyset cursor (`after` = the previous page's
//! `next`). Walking a list page by page yields each item exactly once, in the list's order,
//! the same as one large page; a page size outside 1–1000 and a cursor that is not one are
//! refused with a clear error. (Departments, aliases and groups: `contract.rs`.)

use std::collections::HashSet;
use std::future::Future;

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::outbound::OutboundEnvelope;
use postdesk_contract::relay::RelayTls;
use postdesk_contract::smtp::{SmtpRuleAction, SmtpRuleKind};
use postdesk_contract::{ErrorCode, Result};
use postdesk_dns::DkimAlgorithm;
use postdesk_tests::{Harness, contract, refused};

contract!(
    domain_and_organisation_lists_are_paged,
    admin_and_token_lists_are_paged,
    mail_service_lists_are_paged,
    batches_and_the_outbound_queue_are_paged_newest_first,
);

/// A page-walk of one list: the keys of every item in the order seen, and each page's size.
struct Walk {
    keys: Vec<String>,
    sizes: Vec<usize>,
}

/// Walks a paged list `size` at a time until no `next` is given.
async fn walk<T, F, Fut>(size: u32, mut fetch: F, key: impl Fn(&T) -> String) -> Walk
where
    F: FnMut(Option<String>, Option<u32>) -> Fut,
    Fut: Future<Output = Result<CursorPage<T>>>,
{
    let (mut keys, mut sizes, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = fetch(after.clone(), Some(size)).await.unwrap();
        assert!(page.items.len() <= size as usize, "a page holds at most its limit");
        sizes.push(page.items.len());
        keys.extend(page.items.iter().map(&key));
        assert!(sizes.len() <= 1000, "the cursor does not move");
        match page.next {
            Some(next) => {
                assert_ne!(Some(&next), after.as_ref(), "the cursor moves");
                after = Some(next);
            }
            None => return Walk { keys, sizes },
        }
    }
}

/// Checks one list: walked `size` at a time it holds exactly `expected` in order (no item
/// twice, none left out), over more than one page, every page full but the last; one page
/// of the largest size says the same; `limit` 0 and 1001 are refused naming the field.
async fn paged<T: std::fmt::Debug, F, Fut>(
    what: &str,
    expected: &[String],
    size: u32,
    mut fetch: F,
    key: impl Fn(&T) -> String,
) where
    F: FnMut(Option<String>, Option<u32>) -> Fut,
    Fut: Future<Output = Result<CursorPage<T>>>,
{
    assert!(expected.len() > size as usize, "{what}: the test needs more than one page");
    let Walk { keys, sizes } = walk(size, &mut fetch, &key).await;
    assert_eq!(keys, expected, "{what}: walked page by page");
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "{what}: an item came twice");
    let full = expected.len() / size as usize;
    let mut want = vec![size as usize; full];
    if !expected.len().is_multiple_of(size as usize) {
        want.push(expected.len() % size as usize);
    }
    assert_eq!(sizes, want, "{what}: page sizes");
    let one = fetch(None, Some(MAX_PAGE)).await.unwrap();
    assert_eq!(one.items.iter().map(&key).collect::<Vec<_>>(), expected, "{what}: one large page");
    assert_eq!(one.next, None, "{what}: nothing after the last page");
    for limit in [0, MAX_PAGE + 1] {
        let err = refused(fetch(None, Some(limit)).await, ErrorCode::Validation, "a page holds 1 to 1000 items");
        assert_eq!(err.field.as_deref(), Some("limit"), "{what}");
    }
}

/// A cursor that is not one of the list's is refused, naming `after`.
fn bad_cursor<T: std::fmt::Debug>(result: Result<T>) {
    let err = refused(result, ErrorCode::Validation, "is not a cursor of this list");
    assert_eq!(err.field.as_deref(), Some("after"));
}

async fn domain_and_organisation_lists_are_paged(h: Harness) {
    let names: Vec<String> = (0..7).map(|i| format!("d{i}.example")).collect();
    for name in &names {
        h.domain(name, 100).await;
    }
    paged(
        "domains",
        &names,
        3,
        |after, limit| h.owner.list_domains(ListDomains { after, limit }),
        |d: &Domain| d.name.clone(),
    )
    .await;
    // A limited admin walks its own domains only, in pages just the same.
    let mine = vec!["d1.example".to_string(), "d3.example".to_string(), "d5.example".to_string()];
    let (scoped, _) = h
        .admin(
            "scoped",
            Role::Admin,
            &[Page::Domains, Page::Accounts],
            Some(&["d1.example", "d3.example", "d5.example"]),
        )
        .await;
    paged(
        "a limited admin's domains",
        &mine,
        2,
        |after, limit| scoped.list_domains(ListDomains { after, limit }),
        |d: &Domain| d.name.clone(),
    )
    .await;

    let groups: Vec<String> = (0..5).map(|i| format!("group{i}")).collect();
    for g in &groups {
        h.owner.create_domain_group(CreateDomainGroup { name: g.clone(), max_accounts: 10 }).await.unwrap();
    }
    paged(
        "domain groups",
        &groups,
        2,
        |after, limit| h.owner.list_domain_groups(ListDomainGroups { after, limit }),
        |g: &DomainGroup| g.name.clone(),
    )
    .await;

    // The recycle bin, newest deletion first (deletions within one second too).
    let domain = || "d0.example".to_string();
    let mut deleted = Vec::new();
    for i in 0..5 {
        let address = format!("gone{i}@d0.example");
        h.account(&address, None).await;
        h.owner.remove_account(RemoveAccount { address: address.clone() }).await.unwrap();
        deleted.insert(0, address);
    }
    paged(
        "the recycle bin",
        &deleted,
        2,
        |after, limit| h.owner.list_recycle_bin(ListRecycleBin { domain: domain(), after, limit }),
        |e: &RecycledAccount| e.address.clone(),
    )
    .await;
    bad_cursor(
        h.owner.list_recycle_bin(ListRecycleBin { domain: domain(), after: Some("x".into()), limit: None }).await,
    );

    // DKIM keys: the active one first, then newest first.
    for selector in ["k1", "k2", "k3"] {
        let key = CreateDkimKey {
            domain: domain(),
            algorithm: Some(DkimAlgorithm::Ed25519),
            selector: Some(selector.into()),
        };
        h.owner.create_dkim_key(key).await.unwrap();
    }
    let all = h.owner.list_dkim_keys(ListDkimKeys { domain: domain(), ..Default::default() }).await.unwrap();
    assert_eq!(all.items[0].selector, "k3");
    assert!(all.items[0].active && all.items[1..].iter().all(|k| !k.active));
    let keys: Vec<String> = all.items.iter().map(|k| k.selector.clone()).collect();
    paged(
        "DKIM keys",
        &keys,
        2,
        |after, limit| h.owner.list_dkim_keys(ListDkimKeys { domain: domain(), after, limit }),
        |k: &DkimKey| k.selector.clone(),
    )
    .await;
    bad_cursor(
        h.owner.list_dkim_keys(ListDkimKeys { domain: domain(), after: Some("2 x y".into()), limit: None }).await,
    );
}

async fn admin_and_token_lists_are_paged(h: Harness) {
    h.domain("example.com", 10).await;
    for name in ["carol", "alice", "dave", "bob"] {
        let admin =
            CreateAdmin { name: name.into(), role: Role::Admin, pages: Some(vec![Page::Accounts]), domains: None };
        h.owner.create_admin(admin).await.unwrap();
    }
    let mut names: Vec<String> = ["carol", "alice", "dave", "bob", "owner"].map(String::from).to_vec();
    names.sort();
    paged(
        "admins",
        &names,
        2,
        |after, limit| h.owner.list_admins(ListAdmins { after, limit }),
        |a: &Admin| a.name.clone(),
    )
    .await;

    for i in 0..5 {
        let token = CreateToken { admin: "bob".into(), label: Some(format!("t{i}")), expires_in_days: None };
        h.owner.create_token(token).await.unwrap();
    }
    let bob = || Some("bob".to_string());
    let all = h.owner.list_tokens(ListTokens { admin: bob(), ..Default::default() }).await.unwrap().items;
    assert_eq!(all.len(), 5);
    let order: Vec<(String, String)> = all.iter().map(|t| (t.created_at.clone(), t.id.clone())).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "oldest first, then by id: {order:?}");
    let ids: Vec<String> = all.iter().map(|t| t.id.clone()).collect();
    paged(
        "tokens",
        &ids,
        2,
        |after, limit| h.owner.list_tokens(ListTokens { admin: bob(), after, limit }),
        |t: &ApiToken| t.id.clone(),
    )
    .await;
    bad_cursor(h.owner.list_tokens(ListTokens { admin: bob(), after: Some("nospace".into()), limit: None }).await);
}

async fn mail_service_lists_are_paged(h: Harness) {
    for i in 0..3 {
        h.domain(&format!("s{i}.example"), 10).await;
    }
    // Transports: more than one default page; `*` sorts first.
    let mut domains: Vec<String> = (0..204).map(|i| format!("t{i:03}.example")).collect();
    domains.insert(0, "*".into());
    for domain in &domains {
        let route = SetTransport { domain: domain.clone(), host: "relay.example".into(), port: 25 };
        h.owner.set_transport(route).await.unwrap();
    }
    let first = h.owner.list_transports(ListTransports::default()).await.unwrap();
    assert_eq!(first.items.len(), DEFAULT_PAGE as usize, "the default page is bounded");
    assert_eq!(first.next.as_deref(), Some("t198.example"));
    paged(
        "transports",
        &domains,
        64,
        |after, limit| h.owner.list_transports(ListTransports { after, limit }),
        |t: &postdesk_contract::outbound::OutboundTransport| t.domain.clone(),
    )
    .await;

    let mut scopes = vec!["*".to_string()];
    for scope in [None, Some("s2.example"), Some("s0.example"), Some("s1.example")] {
        let relay = SetRelay {
            sender_domain: scope.map(String::from),
            host: "smarthost.example".into(),
            port: 465,
            tls: Some(RelayTls::Implicit),
            ..Default::default()
        };
        h.owner.set_relay(relay).await.unwrap();
    }
    scopes.extend(["s0.example", "s1.example", "s2.example"].map(String::from));
    paged(
        "relays",
        &scopes,
        3,
        |after, limit| h.owner.list_relays(ListRelays { after, limit }),
        |r: &postdesk_contract::relay::Relay| r.sender_domain.clone().unwrap_or_else(|| "*".into()),
    )
    .await;

    let mut rules = Vec::new();
    for i in 0..5 {
        let rule = AddSmtpRule {
            name: format!("rule{i}"),
            kind: SmtpRuleKind::ClientIp,
            value: format!("192.0.2.{i}"),
            action: SmtpRuleAction::Reject,
            note: None,
            // Each new rule goes first: the list's order is the rules' places, not their ids.
            position: Some(1),
        };
        h.owner.add_smtp_rule(rule).await.unwrap();
        rules.insert(0, format!("rule{i}"));
    }
    paged(
        "SMTP rules",
        &rules,
        2,
        |after, limit| h.owner.list_smtp_rules(ListSmtpRules { after, limit }),
        |r: &postdesk_contract::smtp::SmtpRule| r.name.clone(),
    )
    .await;
    bad_cursor(h.owner.list_smtp_rules(ListSmtpRules { after: Some("1 x".into()), limit: None }).await);
}

async fn batches_and_the_outbound_queue_are_paged_newest_first(h: Harness) {
    h.domain("example.com", 10).await;
    h.account("ann@example.com", None).await;
    let domain = || "example.com".to_string();
    for i in 0..5 {
        // Alternating values: every batch changes something.
        let values = serde_json::json!({ "pop3": i % 2 == 0 });
        let set = UpdateSettings {
            domain: domain(),
            target: BatchTarget::Accounts { addresses: vec!["ann@example.com".into()] },
            set: Some(serde_json::from_value(values).unwrap()),
            ..Default::default()
        };
        h.owner.update_settings(set).await.unwrap();
    }
    let all = h.owner.list_batches(ListBatches { domain: domain(), ..Default::default() }).await.unwrap().items;
    let ids: Vec<String> = all.iter().map(|b| b.id.to_string()).collect();
    assert_eq!(ids.len(), 5);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    paged(
        "batches",
        &ids,
        2,
        |after, limit| h.owner.list_batches(ListBatches { domain: domain(), after, limit }),
        |b: &postdesk_contract::settings::Batch| b.id.to_string(),
    )
    .await;
    bad_cursor(h.owner.list_batches(ListBatches { domain: domain(), after: Some("x".into()), limit: None }).await);

    // The queue, newest first; its filters page too.
    let queue = |key: String, sender: &str| {
        let envelope = OutboundEnvelope { sender: sender.into(), recipients: vec!["x@remote.test".into()] };
        let bytes = format!("Subject: {key}\r\n\r\nx\r\n").into_bytes();
        let engine = h.engine.clone();
        async move { engine.queue_outbound(&key, envelope, bytes).await.unwrap() }
    };
    for i in 0..7 {
        queue(format!("k{i}"), if i % 2 == 0 { "ann@example.com" } else { "bob@example.com" }).await;
    }
    let list = |sender: Option<&str>, after, limit| {
        h.owner.list_outbound_queue(ListOutboundQueue {
            sender: sender.map(String::from),
            after,
            limit,
            ..Default::default()
        })
    };
    let all = list(None, None, None).await.unwrap().items;
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let ids: Vec<String> = all.iter().map(|m| m.id.to_string()).collect();
    let key = |m: &postdesk_contract::outbound::QueuedMessage| m.id.to_string();
    paged("the outbound queue", &ids, 3, |after, limit| list(None, after, limit), key).await;
    let anns: Vec<String> = all.iter().filter(|m| m.sender == "ann@example.com").map(key).collect();
    paged("the queue filtered by sender", &anns, 3, |after, limit| list(Some("ann@example.com"), after, limit), key)
        .await;
    bad_cursor(list(None, Some("x".into()), None).await);

    // Keyset, not offset: a message queued between two pages (it is newer than the cursor)
    // neither repeats an item of the next page nor hides one.
    let first = list(None, None, Some(3)).await.unwrap();
    queue("late".into(), "ann@example.com").await;
    let rest = list(None, first.next.clone(), Some(MAX_PAGE)).await.unwrap();
    let walked: Vec<String> = first.items.iter().chain(&rest.items).map(key).collect();
    assert_eq!(walked, ids);
}
