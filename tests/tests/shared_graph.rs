//! Microsoft 365 shared mailboxes through the `Backend`, on both implementations, fetched
//! from a Microsoft Graph double on loopback (`postdesk_tests::graph`; no real tenant):
//! the client secret write-only, bad settings refused, folders with child folders and
//! Sent/Junk, delta pages followed to the delta link and the link used next time,
//! immutable ids, `@removed`, 429/503 waited out (or a failure when too long), 410 Gone
//! read again without storing twice, a wrong client secret counting to N, a resync.

use std::time::Duration;

use postdesk_contract::api::*;
use postdesk_contract::shared::*;
use postdesk_contract::{Backend, ErrorCode};
use postdesk_tests::graph::{CLIENT_ID, GraphDouble, MAILBOX, SECRET, TENANT, Throttle};
use postdesk_tests::{Harness, contract, message};

contract!(
    a_microsoft365_mailbox_keeps_its_client_secret_write_only,
    bad_microsoft365_settings_are_refused_and_change_nothing,
    folders_come_from_graph_with_child_folders_sent_and_junk,
    delta_pages_are_followed_and_the_delta_link_is_used_next_time,
    removed_messages_are_not_fetched_and_our_copy_stays,
    throttling_is_waited_out_and_a_long_wait_is_a_failure,
    an_expired_delta_token_reads_the_folder_again_storing_nothing_twice,
    a_wrong_client_secret_counts_failures_and_stops_fetching_at_n,
    a_resync_takes_what_the_delta_missed_since_then,
    a_token_is_renewed_shortly_before_it_expires,
    a_revoked_token_is_renewed_once,
    a_link_to_another_host_is_not_followed,
    a_fetch_cut_short_continues_where_it_stopped_taking_each_message_once,
    a_message_over_the_size_limit_is_passed_over_once,
);

const DESK: &str = "desk@example.com";

fn m365(secret: &str, disable_after: u32) -> CreateSharedMailbox {
    CreateSharedMailbox {
        domain: "example.com".into(),
        address: DESK.into(),
        name: "Support desk".into(),
        kind: Some(SharedMailboxKind::Microsoft365),
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT_ID.into()),
        username: Some(MAILBOX.into()),
        secret: Some(RemoteSecret(secret.into())),
        fetch_interval_minutes: Some(5),
        disable_after: Some(disable_after),
        ..Default::default()
    }
}

/// A domain, the double (message pages of `page`), the engine pointed at it with short
/// throttle waits, and the shared mailbox.
async fn graph_mailbox(h: &Harness, page: usize, secret: &str, disable_after: u32) -> GraphDouble {
    h.domain("example.com", 10).await;
    let g = GraphDouble::start(page).await;
    h.engine.set_graph_endpoints(&g.base, &g.token_url).unwrap();
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits {
        throttle_base: Duration::from_millis(10),
        ..Default::default()
    });
    h.owner.create_shared_mailbox(m365(secret, disable_after)).await.unwrap();
    g
}

fn days_ago(n: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() - time::Duration::days(n)
}

fn mail(subject: &str) -> Vec<u8> {
    message("a@contoso.test", subject, "body")
}

async fn subjects(b: &dyn Backend, folder: &str) -> Vec<String> {
    let p = ListMessages { address: DESK.into(), folder: Some(folder.into()), limit: Some(500), ..Default::default() };
    let mut s: Vec<String> = b.list_messages(p).await.unwrap().items.into_iter().map(|m| m.subject).collect();
    s.sort();
    s
}

async fn fetch(b: &dyn Backend) -> FetchReport {
    b.fetch_shared_mailbox(FetchSharedMailbox { address: DESK.into() }).await.unwrap()
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn a_microsoft365_mailbox_keeps_its_client_secret_write_only(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    let got = b.get_shared_mailbox(GetSharedMailbox { address: DESK.into() }).await.unwrap();
    assert_eq!(got.kind, SharedMailboxKind::Microsoft365);
    assert_eq!((got.tenant_id.as_str(), got.client_id.as_str()), (TENANT, CLIENT_ID));
    assert_eq!((got.username.as_str(), got.host.as_str()), (MAILBOX, ""));
    assert!(got.secret_set);
    g.add("INBOX", &mail("first"), days_ago(1));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (1, None), "{r:?}");
    // Never in an answer, the database or the audit log.
    let answers = serde_json::to_string(&(&got, &r)).unwrap();
    assert!(!answers.contains(SECRET), "{answers}");
    assert!(!holds(&h.stored_bytes(), SECRET), "the client secret is not in the database");
    let audit = b.list_audit(postdesk_contract::api::ListAudit { limit: Some(100), ..Default::default() });
    let audit = serde_json::to_string(&audit.await.unwrap()).unwrap();
    assert!(!audit.contains(SECRET));
    // A second fetch reuses the token (cached until shortly before it expires).
    g.add("INBOX", &mail("second"), days_ago(1));
    assert_eq!(fetch(b).await.fetched, 1);
    assert_eq!(g.tokens_issued(), 1);
}

async fn bad_microsoft365_settings_are_refused_and_change_nothing(h: Harness) {
    h.domain("example.com", 10).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let cases = [
        (CreateSharedMailbox { tenant_id: None, ..m365(SECRET, 5) }, "tenant_id"),
        (CreateSharedMailbox { tenant_id: Some("contoso tenant".into()), ..m365(SECRET, 5) }, "tenant_id"),
        (CreateSharedMailbox { client_id: None, ..m365(SECRET, 5) }, "client_id"),
        (CreateSharedMailbox { client_id: Some("not-a-guid".into()), ..m365(SECRET, 5) }, "client_id"),
        (CreateSharedMailbox { username: Some("a/b@contoso.test".into()), ..m365(SECRET, 5) }, "username"),
        (CreateSharedMailbox { secret: Some(RemoteSecret(String::new())), ..m365(SECRET, 5) }, "secret"),
    ];
    for (params, field) in cases {
        let e = b.create_shared_mailbox(params).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{field}: {e:?}");
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
        if field == "client_id" {
            assert!(e.message.contains("client id"), "{e:?}");
        }
    }
    assert_eq!(h.audit_count().await, audit, "nothing recorded");
    assert!(b.get_account(GetAccount { address: DESK.into() }).await.is_err(), "no account made");

    // The mailbox defaults to the sender address.
    let made = b.create_shared_mailbox(CreateSharedMailbox { username: None, ..m365(SECRET, 5) }).await.unwrap();
    assert_eq!(made.username, DESK);
    let audit = h.audit_count().await;
    let bad = [
        (UpdateSharedMailbox { client_id: Some("x".into()), ..Default::default() }, "client_id"),
        (UpdateSharedMailbox { tenant_id: Some("".into()), ..Default::default() }, "tenant_id"),
        // IMAP needs a host, which a Microsoft 365 mailbox does not have.
        (UpdateSharedMailbox { kind: Some(SharedMailboxKind::Imap), ..Default::default() }, "host"),
    ];
    for (p, field) in bad {
        let e = b.update_shared_mailbox(UpdateSharedMailbox { address: DESK.into(), ..p }).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Validation, Some(field)), "{e:?}");
    }
    assert_eq!(h.audit_count().await, audit);
    assert_eq!(b.get_shared_mailbox(GetSharedMailbox { address: DESK.into() }).await.unwrap(), made);
    // Graph is reached over HTTPS only; plain http only on loopback (the tests' double).
    assert!(h.engine.set_graph_endpoints("http://graph.example.net/v1.0", "https://x/{tenant}/t").is_err());
}

async fn folders_come_from_graph_with_child_folders_sent_and_junk(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    let listed = b.fetch_shared_folder_list(FetchSharedFolderList { address: DESK.into() }).await.unwrap();
    let names: Vec<&str> = listed.folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["INBOX", "Junk Email", "Projects", "Projects/2026", "Sent Items"]);
    assert_eq!(listed.sent_folder.as_deref(), Some("Sent Items"));
    assert_eq!(listed.junk_folder.as_deref(), Some("Junk Email"));
    assert!(listed.folders.iter().find(|f| f.name == "INBOX").unwrap().fetch, "INBOX fetched by default");
    let set = SetSharedFolders {
        address: DESK.into(),
        fetch: vec!["INBOX".into(), "Projects/2026".into()],
        sent_folder: Some("Sent Items".into()),
        junk_folder: Some("Junk Email".into()),
    };
    b.set_shared_folders(set).await.unwrap();
    g.add("INBOX", &mail("in inbox"), days_ago(1));
    g.add("2026", &mail("in 2026"), days_ago(1));
    g.add("Sent Items", &mail("sent one"), days_ago(1));
    g.add("Junk Email", &mail("junk one"), days_ago(1));
    g.add("Projects", &mail("not chosen"), days_ago(1));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (4, None), "{r:?}");
    assert_eq!(subjects(b, "INBOX").await, ["in inbox"]);
    assert_eq!(subjects(b, "Projects/2026").await, ["in 2026"]);
    assert_eq!(subjects(b, "Sent").await, ["sent one"]);
    assert_eq!(subjects(b, "Junk").await, ["junk one"]);
}

async fn delta_pages_are_followed_and_the_delta_link_is_used_next_time(h: Harness) {
    let g = graph_mailbox(&h, 2, SECRET, 5).await;
    let b = h.owner.as_ref();
    let ids: Vec<String> = (1..=5).map(|i| g.add("INBOX", &mail(&format!("m{i}")), days_ago(2))).collect();
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.already, r.error.as_deref()), (5, 0, None), "{r:?}");
    assert_eq!(subjects(b, "INBOX").await, ["m1", "m2", "m3", "m4", "m5"]);
    // Three pages: two by nextLink; every download by immutable id.
    let asked = g.requests();
    assert_eq!(asked.iter().filter(|r| r.contains("$skiptoken=")).count(), 2, "{asked:#?}");
    assert_eq!(g.downloads(), ids);
    assert_eq!(g.without_immutable(), 0, "every request prefers immutable ids");

    // Nothing new: the delta link answers nothing, nothing is downloaded.
    let again = fetch(b).await;
    assert_eq!((again.fetched, again.already), (0, 0));
    assert!(g.requests().last().unwrap().contains("$deltatoken="), "{:?}", g.requests());
    assert_eq!(g.downloads().len(), 5);
    let more = g.add("INBOX", &mail("m6"), days_ago(0));
    let r = fetch(b).await;
    assert_eq!(r.fetched, 1);
    assert_eq!(g.downloads().last(), Some(&more));
    assert_eq!(g.downloads().len(), 6, "only the new message downloaded");
    let listed = b.get_shared_mailbox(GetSharedMailbox { address: DESK.into() }).await.unwrap();
    assert_eq!(listed.fetched_messages, 6);
}

async fn removed_messages_are_not_fetched_and_our_copy_stays(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    let gone = g.add("INBOX", &mail("to delete"), days_ago(1));
    g.add("INBOX", &mail("kept"), days_ago(1));
    assert_eq!(fetch(b).await.fetched, 2);
    g.delete(&gone);
    g.add("INBOX", &mail("new"), days_ago(0));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.already, r.error.as_deref()), (1, 0, None), "{r:?}");
    assert_eq!(g.downloads().iter().filter(|d| **d == gone).count(), 1, "a removed entry is not downloaded");
    // Postdesk keeps what it fetched; a deletion at Microsoft 365 is not mirrored.
    assert_eq!(subjects(b, "INBOX").await, ["kept", "new", "to delete"]);
    // Added and deleted between two fetches: only an `@removed` entry, never asked for.
    let brief = g.add("INBOX", &mail("brief"), days_ago(0));
    g.delete(&brief);
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (0, None), "{r:?}");
    assert!(!g.downloads().contains(&brief));
    assert!(g.requests().last().unwrap().contains("$deltatoken="), "the removal came in a delta");
}

async fn throttling_is_waited_out_and_a_long_wait_is_a_failure(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    g.add("INBOX", &mail("one"), days_ago(1));
    g.add("INBOX", &mail("two"), days_ago(1));
    g.throttle(&[Throttle::TooMany(Some(1)), Throttle::TooMany(None), Throttle::Unavailable(None)]);
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (2, None), "{r:?}");
    assert_eq!(g.throttled(), 3);

    // Asked to wait an hour: the fetch fails (counted), nothing half-stored.
    g.add("INBOX", &mail("three"), days_ago(0));
    g.throttle(&[Throttle::TooMany(Some(3600))]);
    let r = fetch(b).await;
    let error = r.error.as_deref().unwrap_or_default();
    assert!(error.contains("3600 s"), "{r:?}");
    assert_eq!((r.fetched, r.mailbox.error_count), (0, 1));
    // Throttled past the retries: a failure too.
    g.throttle(&[Throttle::Unavailable(None); 7]);
    let r = fetch(b).await;
    assert!(r.error.as_deref().unwrap_or_default().contains("after 6 retries"), "{r:?}");
    assert_eq!(r.mailbox.error_count, 2);
    // The next fetch takes what waited; the count resets.
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.mailbox.error_count, r.error.as_deref()), (1, 0, None), "{r:?}");
    assert_eq!(subjects(b, "INBOX").await, ["one", "three", "two"]);
}

async fn an_expired_delta_token_reads_the_folder_again_storing_nothing_twice(h: Harness) {
    let g = graph_mailbox(&h, 2, SECRET, 5).await;
    let b = h.owner.as_ref();
    for i in 1..=3 {
        g.add("INBOX", &mail(&format!("m{i}")), days_ago(1));
    }
    assert_eq!(fetch(b).await.fetched, 3);
    g.expire_delta_tokens();
    g.add("INBOX", &mail("m4"), days_ago(0));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.already, r.error.as_deref()), (1, 0, None), "{r:?}");
    assert_eq!(r.restarted, ["INBOX"]);
    assert_eq!(g.downloads().len(), 4, "messages taken before are not downloaded again");
    assert_eq!(subjects(b, "INBOX").await, ["m1", "m2", "m3", "m4"]);
    // The new delta link works again.
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.restarted.len()), (0, 0), "{r:?}");
    assert_eq!(r.mailbox.fetched_messages, 4);
}

async fn a_wrong_client_secret_counts_failures_and_stops_fetching_at_n(h: Harness) {
    let g = graph_mailbox(&h, 10, "not-the-secret", 3).await;
    let b = h.owner.as_ref();
    g.add("INBOX", &mail("waiting"), days_ago(1));
    for n in 1..=2 {
        let r = fetch(b).await;
        let error = r.error.as_deref().unwrap_or_default();
        assert!(error.contains("invalid_client"), "{r:?}");
        assert!(!error.contains("not-the-secret"), "{r:?}");
        assert_eq!((r.mailbox.error_count, r.mailbox.fetch_interval_minutes), (n, Some(5)));
        assert_eq!(r.mailbox.disabled_at, None);
    }
    let third = fetch(b).await;
    assert_eq!((third.mailbox.error_count, third.mailbox.fetch_interval_minutes), (3, None));
    assert!(third.mailbox.disabled_at.is_some(), "the notice is shown");
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert_eq!(h.engine.fetch_due_shared_mailboxes(later).await.unwrap(), 0);
    assert!(g.downloads().is_empty());

    let fix = UpdateSharedMailbox {
        address: DESK.into(),
        secret: Some(RemoteSecret(SECRET.into())),
        fetch_interval_minutes: Some(10),
        ..Default::default()
    };
    assert_eq!(b.update_shared_mailbox(fix).await.unwrap().disabled_at, None);
    assert_eq!(h.engine.fetch_due_shared_mailboxes(later).await.unwrap(), 1);
    let now = b.get_shared_mailbox(GetSharedMailbox { address: DESK.into() }).await.unwrap();
    assert_eq!((now.error_count, now.fetched_messages), (0, 1));
}

async fn a_resync_takes_what_the_delta_missed_since_then(h: Harness) {
    let g = graph_mailbox(&h, 2, SECRET, 5).await;
    let b = h.owner.as_ref();
    g.add("INBOX", &mail("old"), days_ago(20));
    g.add("INBOX", &mail("recent"), days_ago(2));
    assert_eq!(fetch(b).await.fetched, 2);
    // Two messages no delta reports: one before the resync's date, one after.
    g.add_hidden("INBOX", &mail("missed long ago"), days_ago(15));
    let missed = g.add_hidden("INBOX", &mail("missed lately"), days_ago(3));
    assert_eq!(fetch(b).await.fetched, 0, "the delta does not show them");
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(10);
    let since = since.format(&time::format_description::well_known::Rfc3339).unwrap();
    b.resync_shared_mailbox(ResyncSharedMailbox { address: DESK.into(), since, confirm: true }).await.unwrap();
    let before = g.downloads().len();
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (1, None), "{r:?}");
    assert_eq!(g.downloads()[before..], [missed], "only what was not taken, from the date on");
    assert_eq!(r.mailbox.resync_from, None, "the resync is done");
    assert_eq!(subjects(b, "INBOX").await, ["missed lately", "old", "recent"]);
}

async fn a_token_is_renewed_shortly_before_it_expires(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    // Tokens that live 4 minutes are inside the renewal margin (5 minutes): never reused.
    g.set_token_life(240);
    assert_eq!(fetch(b).await.error, None);
    assert_eq!(fetch(b).await.error, None);
    assert_eq!(g.tokens_issued(), 2);
    // An hour's token is kept.
    g.set_token_life(3599);
    for _ in 0..3 {
        assert_eq!(fetch(b).await.error, None);
    }
    assert_eq!(g.tokens_issued(), 3);
}

async fn a_fetch_cut_short_continues_where_it_stopped_taking_each_message_once(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits {
        max_messages: 2,
        batch_messages: 1,
        throttle_base: Duration::from_millis(10),
        ..Default::default()
    });
    let ids: Vec<String> = (1..=5).map(|i| g.add("INBOX", &mail(&format!("m{i}")), days_ago(1))).collect();
    // One page of five; each fetch takes two and says more wait.
    let firsts: Vec<(u32, bool)> = [fetch(b).await, fetch(b).await].iter().map(|r| (r.fetched, r.more)).collect();
    assert_eq!(firsts, [(2, true), (2, true)]);
    let last = fetch(b).await;
    assert_eq!((last.fetched, last.more, last.error.as_deref()), (1, false, None), "{last:?}");
    assert_eq!(g.downloads(), ids, "each message downloaded once, in order");
    assert_eq!(subjects(b, "INBOX").await, ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(fetch(b).await.fetched, 0);
}

async fn a_message_over_the_size_limit_is_passed_over_once(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits {
        max_message_bytes: 4000,
        throttle_base: Duration::from_millis(10),
        ..Default::default()
    });
    g.add("INBOX", &message("a@contoso.test", "big", &"x".repeat(20_000)), days_ago(1));
    g.add("INBOX", &mail("small"), days_ago(1));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.too_large, r.error.as_deref()), (1, 1, None), "{r:?}");
    assert_eq!(subjects(b, "INBOX").await, ["small"]);
    // Passed over for good: not asked for again (a resync does not take it either).
    g.add("INBOX", &mail("later"), days_ago(0));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.too_large), (1, 0));
    assert_eq!(g.downloads().len(), 3);
}

async fn a_revoked_token_is_renewed_once(h: Harness) {
    let g = graph_mailbox(&h, 10, SECRET, 5).await;
    let b = h.owner.as_ref();
    g.add("INBOX", &mail("one"), days_ago(1));
    assert_eq!(fetch(b).await.fetched, 1);
    // The cached token still looks fresh, but Graph answers 401: a new one is asked for.
    g.revoke_tokens();
    g.add("INBOX", &mail("two"), days_ago(0));
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (1, None), "{r:?}");
    assert_eq!(g.tokens_issued(), 2);
}

async fn a_link_to_another_host_is_not_followed(h: Harness) {
    let g = graph_mailbox(&h, 2, SECRET, 5).await;
    let b = h.owner.as_ref();
    for i in 1..=3 {
        g.add("INBOX", &mail(&format!("m{i}")), days_ago(1));
    }
    // The bearer token goes only to the configured Graph base.
    g.set_link_base("http://127.0.0.2:9/v1.0");
    let r = fetch(b).await;
    assert!(r.error.as_deref().unwrap_or_default().contains("Graph gave a link outside"), "{r:?}");
    assert_eq!(r.mailbox.error_count, 1);
    // Not stored either: the page that gave it is not taken, and once Graph behaves the
    // fetch starts from the beginning again.
    assert!(subjects(b, "INBOX").await.is_empty());
    g.set_link_base(&g.base);
    let r = fetch(b).await;
    assert_eq!((r.fetched, r.error.as_deref()), (3, None), "{r:?}");
}
