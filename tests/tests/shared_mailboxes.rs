//! Shared mailboxes through the `Backend`, on both implementations: the settings with a
//! write-only password (a 0600 file of the data folder; never in an answer, the database
//! or the audit log), validation that changes nothing, domain scope; and fetching from a
//! real Dovecot on loopback (`postdesk_tests::dovecot`): folders, messages added while
//! fetching, a wrong password (the count rises and fetching stops at N), the server
//! stopped, a changed UIDVALIDITY, a resync from a date.

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::shared::*;
use postdesk_contract::{Backend, ErrorCode};
use postdesk_tests::dovecot::Dovecot;
use postdesk_tests::{Harness, contract, message, refused};

contract!(
    shared_mailboxes_are_created_listed_changed_and_removed_with_a_write_only_password,
    bad_shared_mailbox_settings_are_refused_and_change_nothing,
    domain_admins_manage_only_their_domains_shared_mailboxes,
    folders_are_listed_chosen_and_fetched_by_uid_once,
    messages_added_while_fetching_are_all_taken_once,
    a_wrong_password_counts_failures_and_stops_fetching_at_n,
    an_unreachable_server_is_a_failure_and_a_success_resets_the_count,
    a_stop_without_an_interval_is_timed_and_listed_for_the_admins_of_its_domain,
    a_changed_uidvalidity_stores_nothing_twice,
    a_resync_takes_only_what_was_not_fetched_since_then,
    addresses_that_differ_only_in_punctuation_keep_their_own_passwords,
    owners_and_workflow_groups_are_checked_audited_and_kept_to_the_domain,
    an_auto_reply_is_checked_stored_and_audited,
    a_template_is_checked_stored_audited_and_kept_to_the_domain,
    a_default_mailbox_is_one_the_user_owns_and_goes_with_the_ownership,
    fetched_mail_is_auto_replied_once_per_sender_and_never_to_lists_or_old_mail,
);

const PASSWORD: &str = "Ext3rnal-Imap-Passw0rd-9c2e";
const REMOTE_USER: &str = "shared@ext.test";

fn imap(address: &str, dovecot: Option<&Dovecot>) -> CreateSharedMailbox {
    CreateSharedMailbox {
        domain: "example.com".into(),
        address: address.into(),
        name: "Support desk".into(),
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.map_or(993, |d| d.imaps_port)),
        tls: Some(FetchTls::Implicit),
        verify_certificate: Some(false),
        username: Some(REMOTE_USER.into()),
        secret: Some(RemoteSecret(PASSWORD.into())),
        ..Default::default()
    }
}

/// Every byte of the data folder's database files (the WAL included).
/// The shared mailboxes' secret files of the data folder: (name, content), sorted.
fn secret_files(h: &Harness) -> Vec<(String, String)> {
    let dir = h.engine.data_dir().unwrap().join(postdesk_engine::SECRETS_DIR);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            name.starts_with("shared.").then(|| (name, std::fs::read_to_string(&p).unwrap()))
        })
        .collect();
    files.sort();
    files
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn subjects(b: &dyn Backend, address: &str, folder: &str) -> Vec<String> {
    let p =
        ListMessages { address: address.into(), folder: Some(folder.into()), limit: Some(500), ..Default::default() };
    let mut s: Vec<String> = b.list_messages(p).await.unwrap().items.into_iter().map(|m| m.subject).collect();
    s.sort();
    s
}

async fn fetch(b: &dyn Backend, address: &str) -> FetchReport {
    b.fetch_shared_mailbox(FetchSharedMailbox { address: address.into() }).await.unwrap()
}

async fn shared_mailboxes_are_created_listed_changed_and_removed_with_a_write_only_password(h: Harness) {
    h.domain("example.com", 10).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let created = b
        .create_shared_mailbox(CreateSharedMailbox {
            fetch_interval_minutes: Some(15),
            ..imap("Desk@Example.com", None)
        })
        .await
        .unwrap();
    assert_eq!((created.address.as_str(), created.domain.as_str()), ("desk@example.com", "example.com"));
    assert_eq!((created.host.as_str(), created.port, created.tls), ("127.0.0.1", 993, FetchTls::Implicit));
    assert_eq!(created.fetch_interval_minutes, Some(15));
    assert_eq!((created.disable_after, created.error_count), (DEFAULT_DISABLE_AFTER, 0));
    assert!(created.secret_set);
    assert_eq!(h.audit_count().await, audit + 1, "one audit entry, with the account it made");
    // The mailbox in the store: an account at the sender address, without a password.
    let account = b.get_account(GetAccount { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(account.display_name, "Support desk");

    // Write-only: the answers say "set", the secret file holds it (0600), nothing else does.
    let listed = b.list_shared_mailboxes(ListSharedMailboxes { domain: "example.com".into(), ..Default::default() });
    let listed = listed.await.unwrap().items;
    assert_eq!(listed.len(), 1);
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got, created);
    let answers = serde_json::to_string(&(&listed, &got)).unwrap();
    assert!(!answers.contains(PASSWORD), "{answers}");
    let files = secret_files(&h);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = h.engine.data_dir().unwrap().join(postdesk_engine::SECRETS_DIR).join(&files[0].0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), PASSWORD);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!holds(&h.stored_bytes(), PASSWORD), "the password is not in the database");
    let log = b.list_audit(ListAudit { limit: Some(1000), ..Default::default() }).await.unwrap();
    assert!(!serde_json::to_string(&log).unwrap().contains(PASSWORD));

    // Changes: a new password replaces the file; absent keeps it; interval 0 = none.
    let update = UpdateSharedMailbox {
        address: "desk@example.com".into(),
        name: Some("Helpdesk".into()),
        port: Some(1993),
        fetch_interval_minutes: Some(0),
        disable_after: Some(3),
        secret: Some(RemoteSecret("second-password".into())),
        ..Default::default()
    };
    let changed = b.update_shared_mailbox(update).await.unwrap();
    assert_eq!((changed.name.as_str(), changed.port, changed.disable_after), ("Helpdesk", 1993, 3));
    assert_eq!(changed.fetch_interval_minutes, None);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "second-password");
    let kept = UpdateSharedMailbox {
        address: "desk@example.com".into(),
        host: Some("imap.ext.test".into()),
        ..Default::default()
    };
    assert!(b.update_shared_mailbox(kept).await.unwrap().secret_set);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "second-password");

    // Removed: the settings and the secret go; the mailbox in the store stays.
    b.remove_shared_mailbox(RemoveSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert!(!file.exists());
    let gone = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await;
    refused(gone, ErrorCode::NotFound, "no shared mailbox");
    assert!(b.get_account(GetAccount { address: "desk@example.com".into() }).await.is_ok());
}

async fn bad_shared_mailbox_settings_are_refused_and_change_nothing(h: Harness) {
    h.domain("example.com", 10).await;
    h.domain("other.example", 10).await;
    h.account("taken@example.com", None).await;
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let cases: Vec<(CreateSharedMailbox, &str)> = vec![
        (imap("desk@other.example", None), "address"),
        (CreateSharedMailbox { name: "  ".into(), ..imap("desk@example.com", None) }, "name"),
        (CreateSharedMailbox { host: Some("".into()), ..imap("desk@example.com", None) }, "host"),
        (CreateSharedMailbox { host: Some("a b".into()), ..imap("desk@example.com", None) }, "host"),
        (CreateSharedMailbox { port: Some(0), ..imap("desk@example.com", None) }, "port"),
        (CreateSharedMailbox { username: Some("".into()), ..imap("desk@example.com", None) }, "username"),
        (CreateSharedMailbox { username: Some("a\r\nb".into()), ..imap("desk@example.com", None) }, "username"),
        (CreateSharedMailbox { secret: Some(RemoteSecret("".into())), ..imap("desk@example.com", None) }, "secret"),
        (
            CreateSharedMailbox { fetch_interval_minutes: Some(10081), ..imap("desk@example.com", None) },
            "fetch_interval_minutes",
        ),
        (CreateSharedMailbox { disable_after: Some(0), ..imap("desk@example.com", None) }, "disable_after"),
        (CreateSharedMailbox { disable_after: Some(1001), ..imap("desk@example.com", None) }, "disable_after"),
        // Microsoft 365 needs its tenant (and client id), not a host.
        (
            CreateSharedMailbox { kind: Some(SharedMailboxKind::Microsoft365), ..imap("desk@example.com", None) },
            "tenant_id",
        ),
    ];
    for (params, field) in cases {
        let e = b.create_shared_mailbox(params).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{field}: {e:?}");
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
    }
    let e = b.create_shared_mailbox(imap("taken@example.com", None)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    assert_eq!(h.audit_count().await, audit, "nothing recorded");
    assert!(b.get_account(GetAccount { address: "desk@example.com".into() }).await.is_err(), "no account made");
    let dir = h.engine.data_dir().unwrap().join(postdesk_engine::SECRETS_DIR);
    assert!(std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_none()), "no secret written");

    b.create_shared_mailbox(imap("desk@example.com", None)).await.unwrap();
    let audit = h.audit_count().await;
    let bad = UpdateSharedMailbox {
        address: "desk@example.com".into(),
        fetch_interval_minutes: Some(99999),
        ..Default::default()
    };
    refused(b.update_shared_mailbox(bad).await, ErrorCode::Validation, "fetch interval");
    let no_list =
        SetSharedFolders { address: "desk@example.com".into(), fetch: vec!["INBOX".into()], ..Default::default() };
    refused(b.set_shared_folders(no_list).await, ErrorCode::Conflict, "folder list");
    let unconfirmed = ResyncSharedMailbox {
        address: "desk@example.com".into(),
        since: "2026-01-01T00:00:00Z".into(),
        confirm: false,
    };
    refused(b.resync_shared_mailbox(unconfirmed).await, ErrorCode::Validation, "confirm");
    let not_a_date =
        ResyncSharedMailbox { address: "desk@example.com".into(), since: "yesterday".into(), confirm: true };
    refused(b.resync_shared_mailbox(not_a_date).await, ErrorCode::Validation, "not a date");
    assert_eq!(h.audit_count().await, audit);
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!((got.fetch_interval_minutes, got.resync_from), (None, None));
}

async fn domain_admins_manage_only_their_domains_shared_mailboxes(h: Harness) {
    h.domain("a.example", 10).await;
    h.domain("b.example", 10).await;
    h.owner
        .create_shared_mailbox(CreateSharedMailbox { domain: "b.example".into(), ..imap("desk@b.example", None) })
        .await
        .unwrap();
    let (sub, _) = h.admin("sub", Role::Admin, &[Page::Accounts], Some(&["a.example"])).await;
    let own = CreateSharedMailbox { domain: "a.example".into(), ..imap("desk@a.example", None) };
    sub.create_shared_mailbox(own).await.unwrap();
    let listed = sub.list_shared_mailboxes(ListSharedMailboxes { domain: "a.example".into(), ..Default::default() });
    assert_eq!(listed.await.unwrap().items.len(), 1);
    let other = || "desk@b.example".to_string();
    refused(
        sub.list_shared_mailboxes(ListSharedMailboxes { domain: "b.example".into(), ..Default::default() }).await,
        ErrorCode::PermissionDenied,
        "b.example",
    );
    refused(
        sub.get_shared_mailbox(GetSharedMailbox { address: other() }).await,
        ErrorCode::PermissionDenied,
        "b.example",
    );
    refused(
        sub.fetch_shared_mailbox(FetchSharedMailbox { address: other() }).await,
        ErrorCode::PermissionDenied,
        "b.example",
    );
    refused(
        sub.remove_shared_mailbox(RemoveSharedMailbox { address: other() }).await,
        ErrorCode::PermissionDenied,
        "b.example",
    );
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    assert!(desk.get_shared_mailbox(GetSharedMailbox { address: other() }).await.is_ok());
    refused(
        desk.fetch_shared_mailbox(FetchSharedMailbox { address: other() }).await,
        ErrorCode::PermissionDenied,
        "helpdesk",
    );
}

/// A Dovecot with the shared account and a shared mailbox fetching from it.
async fn fetching(h: &Harness, disable_after: u32) -> Dovecot {
    h.domain("example.com", 10).await;
    let dovecot = Dovecot::start(&[(REMOTE_USER, PASSWORD)]);
    let p = CreateSharedMailbox {
        fetch_interval_minutes: Some(5),
        disable_after: Some(disable_after),
        ..imap("desk@example.com", Some(&dovecot))
    };
    h.owner.create_shared_mailbox(p).await.unwrap();
    dovecot
}

async fn folders_are_listed_chosen_and_fetched_by_uid_once(h: Harness) {
    let dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    dovecot.create_folder(REMOTE_USER, "Projects/2026");
    for i in 1..=3 {
        dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", &format!("inbox {i}"), "x"));
    }
    dovecot.save(REMOTE_USER, "Sent", &message("desk@example.com", "sent 1", "x"));
    dovecot.save(REMOTE_USER, "Junk", &message("spam@ext.test", "junk 1", "x"));
    dovecot.save(REMOTE_USER, "Projects/2026", &message("a@ext.test", "project 1", "x"));

    let listed =
        b.fetch_shared_folder_list(FetchSharedFolderList { address: "desk@example.com".into() }).await.unwrap();
    let names: Vec<(&str, bool, Option<&str>)> =
        listed.folders.iter().map(|f| (f.name.as_str(), f.fetch, f.special_use.as_deref())).collect();
    assert_eq!(
        names,
        [
            ("INBOX", true, None),
            ("Junk", false, Some("\\Junk")),
            ("Projects/2026", false, None),
            ("Sent", false, Some("\\Sent"))
        ]
    );
    assert_eq!((listed.sent_folder.as_deref(), listed.junk_folder.as_deref()), (Some("Sent"), Some("Junk")));

    let choose = SetSharedFolders {
        address: "desk@example.com".into(),
        fetch: vec!["INBOX".into(), "Projects/2026".into()],
        sent_folder: Some("Sent".into()),
        junk_folder: None,
    };
    let chosen = b.set_shared_folders(choose).await.unwrap();
    let fetched: Vec<&str> = chosen.folders.iter().filter(|f| f.fetch).map(|f| f.name.as_str()).collect();
    assert_eq!(fetched, ["INBOX", "Projects/2026", "Sent"], "the Sent folder is fetched too");
    let unknown =
        SetSharedFolders { address: "desk@example.com".into(), fetch: vec!["Nope".into()], ..Default::default() };
    refused(b.set_shared_folders(unknown).await, ErrorCode::Validation, "Nope");

    let report = fetch(b, "desk@example.com").await;
    assert_eq!((report.fetched, report.already, report.error.as_deref()), (5, 0, None), "{report:?}");
    assert_eq!(subjects(b, "desk@example.com", "INBOX").await, ["inbox 1", "inbox 2", "inbox 3"]);
    assert_eq!(subjects(b, "desk@example.com", "Sent").await, ["sent 1"]);
    assert_eq!(subjects(b, "desk@example.com", "Projects/2026").await, ["project 1"]);
    assert!(subjects(b, "desk@example.com", "Junk").await.is_empty(), "Junk was not chosen");
    assert_eq!(report.mailbox.fetched_messages, 5);

    // Again: nothing new, nothing stored twice; then only the new one.
    let again = fetch(b, "desk@example.com").await;
    assert_eq!((again.fetched, again.already), (0, 0));
    dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", "inbox 4", "x"));
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 1);
    assert_eq!(subjects(b, "desk@example.com", "INBOX").await.len(), 4);
    // Read-only on the server: Dovecot still has every message unseen.
    assert!(dovecot.log().contains("deleted=0 expunged=0"));
}

async fn messages_added_while_fetching_are_all_taken_once(h: Harness) {
    let dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    // Small bounds: a fetch takes at most 7 messages, in batches of 2.
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits {
        max_messages: 7,
        batch_messages: 2,
        ..Default::default()
    });
    for i in 0..10 {
        dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", &format!("m{i:03}"), "x"));
    }
    // Another 30 arrive while the fetches below run.
    let dovecot = std::sync::Arc::new(dovecot);
    let saver = tokio::task::spawn_blocking({
        let dovecot = dovecot.clone();
        move || {
            for i in 10..40 {
                dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", &format!("m{i:03}"), "x"));
            }
        }
    });
    let mut total = 0;
    let mut rounds = 0;
    loop {
        let r = fetch(b, "desk@example.com").await;
        assert_eq!(r.error, None);
        assert!(r.fetched <= 7, "bounded per fetch: {r:?}");
        total += r.fetched;
        rounds += 1;
        if saver.is_finished() && !r.more && r.fetched == 0 {
            break;
        }
        assert!(rounds < 100, "fetching never caught up");
    }
    saver.await.unwrap();
    assert_eq!(total, 40);
    let all = subjects(b, "desk@example.com", "INBOX").await;
    let expected: Vec<String> = (0..40).map(|i| format!("m{i:03}")).collect();
    assert_eq!(all, expected, "every message once");
    drop(dovecot);
}

async fn a_wrong_password_counts_failures_and_stops_fetching_at_n(h: Harness) {
    let dovecot = fetching(&h, 3).await;
    let b = h.owner.as_ref();
    dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", "hello", "x"));
    dovecot.set_password(REMOTE_USER, "changed-at-the-server");
    for n in 1..=2 {
        let r = fetch(b, "desk@example.com").await;
        let error = r.error.as_deref().unwrap_or_default();
        assert!(error.contains("refused the login"), "{r:?}");
        assert_eq!(r.mailbox.error_count, n);
        assert_eq!(r.mailbox.fetch_interval_minutes, Some(5), "still fetching after {n}");
        assert_eq!(r.mailbox.disabled_at, None);
        assert_eq!(r.mailbox.last_error.as_deref(), Some(error));
        assert!(r.mailbox.last_error_at.is_some());
    }
    let third = fetch(b, "desk@example.com").await;
    assert_eq!(third.mailbox.error_count, 3);
    assert_eq!(third.mailbox.fetch_interval_minutes, None, "the interval is set to none at N");
    assert!(third.mailbox.disabled_at.is_some(), "the notice is shown");
    // The scheduler leaves it alone now.
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert_eq!(h.engine.fetch_due_shared_mailboxes(later).await.unwrap(), 0);
    assert_eq!(
        b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap().error_count,
        3
    );

    // The admin sets the right password and an interval again: it fetches, the count resets.
    let fix = UpdateSharedMailbox {
        address: "desk@example.com".into(),
        secret: Some(RemoteSecret("changed-at-the-server".into())),
        fetch_interval_minutes: Some(10),
        ..Default::default()
    };
    let fixed = b.update_shared_mailbox(fix).await.unwrap();
    assert_eq!(fixed.disabled_at, None, "setting an interval clears the notice");
    assert_eq!(h.engine.fetch_due_shared_mailboxes(later).await.unwrap(), 1);
    let now = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!((now.error_count, now.fetched_messages, now.fetch_interval_minutes), (0, 1, Some(10)));
    assert!(now.last_success_at.is_some());
    // Not due again until its interval has passed.
    assert_eq!(h.engine.fetch_due_shared_mailboxes(time::OffsetDateTime::now_utc()).await.unwrap(), 0);
}

async fn an_unreachable_server_is_a_failure_and_a_success_resets_the_count(h: Harness) {
    let mut dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", "hello", "x"));
    dovecot.stop();
    let r = fetch(b, "desk@example.com").await;
    assert!(r.error.as_deref().unwrap_or_default().contains("cannot reach 127.0.0.1"), "{r:?}");
    assert_eq!((r.mailbox.error_count, r.mailbox.fetch_interval_minutes), (1, Some(5)));
    dovecot.restart();
    let r = fetch(b, "desk@example.com").await;
    assert_eq!((r.error, r.fetched, r.mailbox.error_count), (None, 1, 0), "a success resets the count");
    assert!(r.mailbox.last_error.is_some(), "the last error stays for the record");
}

/// The addresses of the shared mailboxes whose fetching stopped, as `b` sees them.
async fn stopped(b: &dyn Backend) -> Vec<String> {
    let listed = b.list_stopped_shared_mailboxes(ListStoppedSharedMailboxes::default()).await.unwrap();
    listed.items.into_iter().map(|m| m.address).collect()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn a_stop_without_an_interval_is_timed_and_listed_for_the_admins_of_its_domain(h: Harness) {
    h.domain("a.example", 10).await;
    h.domain("b.example", 10).await;
    let port = closed_port();
    for domain in ["a.example", "b.example"] {
        // Only "fetch now" (no interval), and stopped at the first failure.
        let p = CreateSharedMailbox {
            domain: domain.into(),
            port: Some(port),
            disable_after: Some(1),
            ..imap(&format!("desk@{domain}"), None)
        };
        h.owner.create_shared_mailbox(p).await.unwrap();
    }
    assert!(stopped(h.owner.as_ref()).await.is_empty(), "nothing stopped yet");
    let mut times = Vec::new();
    for domain in ["a.example", "b.example"] {
        let r = fetch(h.owner.as_ref(), &format!("desk@{domain}")).await;
        assert!(r.error.as_deref().unwrap_or_default().contains("cannot reach 127.0.0.1"), "{r:?}");
        assert_eq!((r.mailbox.error_count, r.mailbox.fetch_interval_minutes), (1, None));
        assert_eq!(r.mailbox.disabled_at, r.mailbox.last_error_at, "stopped at the failure, with its time");
        times.push(r.mailbox.disabled_at.clone());
    }
    assert!(times.iter().all(Option::is_some), "{times:?}");
    // Another failure keeps the time it stopped at.
    let again = fetch(h.owner.as_ref(), "desk@a.example").await;
    assert_eq!((again.mailbox.error_count, &again.mailbox.disabled_at), (2, &times[0]));

    assert_eq!(stopped(h.owner.as_ref()).await, ["desk@a.example", "desk@b.example"]);
    let (sub, _) = h.admin("sub", Role::Helpdesk, &[Page::Accounts], Some(&["a.example"])).await;
    assert_eq!(stopped(sub.as_ref()).await, ["desk@a.example"], "only the domains the admin may see");
    let (other, _) = h.admin("other", Role::Admin, &[Page::Domains], None).await;
    refused(
        other.list_stopped_shared_mailboxes(ListStoppedSharedMailboxes::default()).await,
        ErrorCode::PermissionDenied,
        "accounts",
    );
    let page = h.owner.list_stopped_shared_mailboxes(ListStoppedSharedMailboxes { limit: Some(1), after: None });
    let page = page.await.unwrap();
    assert_eq!((page.items.len(), page.next.as_deref()), (1, Some("desk@a.example")));

    // Turning fetching on again ends the notice.
    let on = UpdateSharedMailbox {
        address: "desk@a.example".into(),
        fetch_interval_minutes: Some(10),
        ..Default::default()
    };
    h.owner.update_shared_mailbox(on).await.unwrap();
    assert_eq!(stopped(h.owner.as_ref()).await, ["desk@b.example"]);
}

async fn a_changed_uidvalidity_stores_nothing_twice(h: Harness) {
    let dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    for i in 1..=3 {
        dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", &format!("m{i}"), "x"));
    }
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 3);
    dovecot.set_uidvalidity(REMOTE_USER, "INBOX", 4242);
    dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", "m4", "x"));
    let r = fetch(b, "desk@example.com").await;
    assert_eq!(r.uidvalidity_changed, ["INBOX"]);
    assert_eq!((r.fetched, r.already), (1, 3), "read again, only the new one stored");
    assert_eq!(subjects(b, "desk@example.com", "INBOX").await, ["m1", "m2", "m3", "m4"]);
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 0);
}

async fn a_resync_takes_only_what_was_not_fetched_since_then(h: Harness) {
    let dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    let day = 86_400;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let big = |subject: &str| message("a@ext.test", subject, &"x".repeat(6000));
    // Two large messages passed over by a small size cap, one old and one recent, and a
    // small one fetched.
    dovecot.append_dated(REMOTE_USER, PASSWORD, "INBOX", &big("old big"), now - 40 * day);
    dovecot.append_dated(REMOTE_USER, PASSWORD, "INBOX", &message("a@ext.test", "small", "x"), now - 5 * day);
    dovecot.append_dated(REMOTE_USER, PASSWORD, "INBOX", &big("recent big"), now - 3 * day);
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits { max_message_bytes: 4000, ..Default::default() });
    let first = fetch(b, "desk@example.com").await;
    assert_eq!((first.fetched, first.too_large), (1, 2), "{first:?}");
    h.engine.set_fetch_limits(postdesk_engine::FetchLimits::default());
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 0, "passed over until a resync");

    let since = time::OffsetDateTime::from_unix_timestamp(now - 10 * day).unwrap();
    let since = since.format(&time::format_description::well_known::Rfc3339).unwrap();
    let audit = h.audit_count().await;
    let asked = ResyncSharedMailbox { address: "desk@example.com".into(), since, confirm: true };
    let pending = b.resync_shared_mailbox(asked).await.unwrap();
    assert!(pending.resync_from.is_some());
    assert_eq!(h.audit_count().await, audit + 1);
    let before = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let r = fetch(b, "desk@example.com").await;
    assert_eq!((r.fetched, r.already, r.error.as_deref()), (1, 0, None), "{r:?}");
    assert_eq!(r.mailbox.resync_from, None, "done");
    assert_eq!(subjects(b, "desk@example.com", "INBOX").await, ["recent big", "small"]);
    // Received at the time of fetching, not its date at the server.
    let listed =
        b.list_messages(ListMessages { address: "desk@example.com".into(), ..Default::default() }).await.unwrap().items;
    let recent = listed.iter().find(|m| m.subject == "recent big").unwrap();
    let received =
        time::OffsetDateTime::parse(&recent.received_at, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(received >= before, "{received} is the fetch time");
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 0);
}

/// `a+b@` and `a_b@` once mapped to one secret file: the second's password replaced the
/// first's, and removing one took the other's. Each keeps its own now (named by row id).
async fn addresses_that_differ_only_in_punctuation_keep_their_own_passwords(h: Harness) {
    h.domain("example.com", 10).await;
    let dovecot = Dovecot::start(&[(REMOTE_USER, PASSWORD)]);
    let b = h.owner.as_ref();
    dovecot.save(REMOTE_USER, "INBOX", &message("a@ext.test", "for a+b", "x"));
    b.create_shared_mailbox(imap("a+b@example.com", Some(&dovecot))).await.unwrap();
    let wrong = CreateSharedMailbox {
        secret: Some(RemoteSecret("another-password".into())),
        ..imap("a_b@example.com", Some(&dovecot))
    };
    b.create_shared_mailbox(wrong).await.unwrap();
    let files = secret_files(&h);
    assert_eq!(files.len(), 2, "one secret file each: {files:?}");
    let good = fetch(b, "a+b@example.com").await;
    assert_eq!((good.error.as_deref(), good.fetched), (None, 1), "a+b@ fetches with its own password");
    let bad = fetch(b, "a_b@example.com").await;
    assert!(bad.error.is_some(), "a_b@ keeps its own (wrong) password");

    b.remove_shared_mailbox(RemoveSharedMailbox { address: "a_b@example.com".into() }).await.unwrap();
    assert_eq!(secret_files(&h).iter().map(|f| f.1.as_str()).collect::<Vec<_>>(), [PASSWORD]);
    let kept = b.get_shared_mailbox(GetSharedMailbox { address: "a+b@example.com".into() }).await.unwrap();
    assert!(kept.secret_set, "removing a_b@ leaves a+b@'s password");
    assert_eq!(fetch(b, "a+b@example.com").await.error, None);
}

/// Owners and workflow groups through the API: members and owners are users of the shared
/// mailbox's domain (others refused by name, nothing changed), each change is one audit
/// entry, a group's removal takes its ownership, a sub-admin of another domain is refused.
async fn owners_and_workflow_groups_are_checked_audited_and_kept_to_the_domain(h: Harness) {
    h.domain("example.com", 10).await;
    h.domain("other.example", 10).await;
    for a in ["ann@example.com", "bob@example.com", "eve@other.example"] {
        h.account(a, None).await;
    }
    let b = h.owner.as_ref();
    b.create_shared_mailbox(imap("desk@example.com", None)).await.unwrap();
    let group = |members: &[&str]| CreateWorkflowGroup {
        domain: "example.com".into(),
        name: "Support".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    };
    let audit = h.audit_count().await;
    refused(b.create_workflow_group(group(&["eve@other.example"])).await, ErrorCode::Validation, "not a user of");
    refused(b.create_workflow_group(group(&["nobody@example.com"])).await, ErrorCode::NotFound, "no user");
    let none = b.list_workflow_groups(ListWorkflowGroups { domain: "example.com".into(), ..Default::default() });
    assert!(none.await.unwrap().items.is_empty(), "a refused group is not made");
    let made = b.create_workflow_group(group(&["BOB@example.com", "ann@example.com"])).await.unwrap();
    assert_eq!(made.members, ["ann@example.com", "bob@example.com"]);
    refused(b.create_workflow_group(group(&[])).await, ErrorCode::Conflict, "already has");

    let owners = |users: &[&str], groups: &[&str]| SetSharedMailboxOwners {
        address: "desk@example.com".into(),
        users: users.iter().map(|m| m.to_string()).collect(),
        groups: groups.iter().map(|m| m.to_string()).collect(),
    };
    refused(b.set_shared_mailbox_owners(owners(&["eve@other.example"], &[])).await, ErrorCode::Validation, "eve");
    refused(b.set_shared_mailbox_owners(owners(&[], &["Sales"])).await, ErrorCode::NotFound, "Sales");
    refused(b.set_shared_mailbox_owners(owners(&["desk@example.com"], &[])).await, ErrorCode::Validation, "itself");
    let desk = b.set_shared_mailbox_owners(owners(&["ann@example.com"], &["support"])).await.unwrap();
    assert_eq!(
        (desk.owners.as_slice(), desk.owner_groups.as_slice()),
        (&["ann@example.com".to_string()][..], &["Support".to_string()][..])
    );
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got, desk);
    let listed = b.list_workflow_groups(ListWorkflowGroups { domain: "example.com".into(), ..Default::default() });
    assert_eq!(listed.await.unwrap().items[0].owns, ["desk@example.com"]);
    assert_eq!(h.audit_count().await, audit + 2, "the group and the owners, nothing for the refusals");

    // Scope: a sub-admin of other.example touches neither.
    let (sub, _) = h.admin("sub", Role::Admin, &[Page::Accounts], Some(&["other.example"])).await;
    let audit = h.audit_count().await;
    refused(sub.set_shared_mailbox_owners(owners(&[], &[])).await, ErrorCode::PermissionDenied, "example.com");
    let members = SetWorkflowGroupMembers { domain: "example.com".into(), name: "Support".into(), members: vec![] };
    refused(sub.set_workflow_group_members(members).await, ErrorCode::PermissionDenied, "example.com");

    // The group removed: its ownership goes with it.
    b.remove_workflow_group(RemoveWorkflowGroup { domain: "example.com".into(), name: "SUPPORT".into() })
        .await
        .unwrap();
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!((got.owners.len(), got.owner_groups.len()), (1, 0));
    assert_eq!(h.audit_count().await, audit + 1, "the removal, nothing for the refusals");
}

/// The auto-reply's settings: a bad period, an empty text or a subject with a line break
/// are refused by field and change nothing; a good one is stored, shown and audited.
async fn an_auto_reply_is_checked_stored_and_audited(h: Harness) {
    h.domain("example.com", 10).await;
    let b = h.owner.as_ref();
    b.create_shared_mailbox(imap("desk@example.com", None)).await.unwrap();
    let away = || SetSharedAutoReply {
        address: "desk@example.com".into(),
        enabled: true,
        starts_at: Some("2026-12-20T00:00:00+01:00".into()),
        ends_at: Some("2027-01-04T00:00:00Z".into()),
        subject: "Closed for the holidays".into(),
        text: "We answer from 4 January.".into(),
    };
    let audit = h.audit_count().await;
    let bad = [
        (SetSharedAutoReply { ends_at: Some("2026-12-01T00:00:00Z".into()), ..away() }, "ends_at"),
        (SetSharedAutoReply { starts_at: Some("next week".into()), ..away() }, "starts_at"),
        (SetSharedAutoReply { text: "  ".into(), ..away() }, "text"),
        (SetSharedAutoReply { subject: "a\r\nBcc: x@y.test".into(), ..away() }, "subject"),
        (SetSharedAutoReply { subject: "x".repeat(201), ..away() }, "subject"),
    ];
    for (p, field) in bad {
        let e = refused(b.set_shared_auto_reply(p).await, ErrorCode::Validation, "");
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
    }
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert!(!got.auto_reply.enabled, "nothing stored");
    assert_eq!(h.audit_count().await, audit);

    let set = b.set_shared_auto_reply(away()).await.unwrap();
    assert!(set.auto_reply.enabled);
    assert_eq!(set.auto_reply.starts_at.as_deref(), Some("2026-12-19T23:00:00Z"), "stored in UTC");
    assert_eq!(set.auto_reply.text, "We answer from 4 January.");
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got.auto_reply, set.auto_reply);
    assert_eq!(h.audit_count().await, audit + 1);
}

/// The template: a font off the list or a size outside 8–36 pt is refused by field and
/// changes nothing; a good one is stored (the font as listed), shown and audited; a
/// sub-admin of another domain is refused; none clears it.
async fn a_template_is_checked_stored_audited_and_kept_to_the_domain(h: Harness) {
    h.domain("example.com", 10).await;
    h.domain("other.example", 10).await;
    let b = h.owner.as_ref();
    b.create_shared_mailbox(imap("desk@example.com", None)).await.unwrap();
    let template = |font: Option<&str>, size_pt: Option<u32>| SetSharedTemplate {
        address: "desk@example.com".into(),
        font: font.map(String::from),
        size_pt,
    };
    let audit = h.audit_count().await;
    let bad = [
        (template(Some("Comic Sans MS"), Some(12)), "font"),
        (template(Some("Arial; color: red"), None), "font"),
        (template(Some("Arial"), Some(7)), "size_pt"),
        (template(None, Some(37)), "size_pt"),
        (template(None, Some(0)), "size_pt"),
    ];
    for (p, field) in bad {
        let e = refused(b.set_shared_template(p).await, ErrorCode::Validation, "");
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
    }
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got.template, SharedTemplate::default(), "nothing stored");
    assert_eq!(h.audit_count().await, audit);

    let set = b.set_shared_template(template(Some("times new roman"), Some(14))).await.unwrap();
    let want = SharedTemplate { font: Some("Times New Roman".into()), size_pt: Some(14) };
    assert_eq!(set.template, want);
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got.template, want);
    let listed = b.list_shared_mailboxes(ListSharedMailboxes { domain: "example.com".into(), ..Default::default() });
    assert_eq!(listed.await.unwrap().items[0].template, want);
    assert_eq!(h.audit_count().await, audit + 1);
    let entries = b.list_audit(ListAudit { action: Some("set_shared_template".into()), ..Default::default() });
    let entries = entries.await.unwrap().items;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].target, "desk@example.com");

    let (sub, _) = h.admin("sub", Role::Admin, &[Page::Accounts], Some(&["other.example"])).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    let audit = h.audit_count().await;
    refused(sub.set_shared_template(template(None, None)).await, ErrorCode::PermissionDenied, "example.com");
    refused(desk.set_shared_template(template(None, None)).await, ErrorCode::PermissionDenied, "");
    assert_eq!(h.audit_count().await, audit, "nothing for the refusals");
    let got = b.get_shared_mailbox(GetSharedMailbox { address: "desk@example.com".into() }).await.unwrap();
    assert_eq!(got.template, want, "unchanged by the refusals");

    let cleared = b.set_shared_template(template(None, None)).await.unwrap();
    assert_eq!(cleared.template, SharedTemplate::default());
}

async fn owners_list(b: &dyn Backend, without_default: bool) -> Vec<(String, Vec<String>, Option<String>)> {
    let p =
        ListSharedOwners { domain: "example.com".into(), without_default: Some(without_default), ..Default::default() };
    b.list_shared_owners(p).await.unwrap().items.into_iter().map(|o| (o.address, o.owns, o.default_mailbox)).collect()
}

/// A user's default shared mailbox: one it owns (directly or through a workflow group),
/// others refused and nothing changed; audited; listed; cleared in the same change that takes
/// the ownership away (owners set, group members set, group removed); kept to the domain.
async fn a_default_mailbox_is_one_the_user_owns_and_goes_with_the_ownership(h: Harness) {
    h.domain("example.com", 10).await;
    h.domain("other.example", 10).await;
    for a in ["ann@example.com", "bob@example.com", "cat@example.com"] {
        h.account(a, None).await;
    }
    let b = h.owner.as_ref();
    b.create_shared_mailbox(imap("desk@example.com", None)).await.unwrap();
    b.create_shared_mailbox(imap("sales@example.com", None)).await.unwrap();
    let group = |members: &[&str]| SetWorkflowGroupMembers {
        domain: "example.com".into(),
        name: "Support".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    };
    let create = CreateWorkflowGroup { domain: "example.com".into(), name: "Support".into(), members: vec![] };
    b.create_workflow_group(create).await.unwrap();
    b.set_workflow_group_members(group(&["bob@example.com"])).await.unwrap();
    let owners = |address: &str, users: &[&str], groups: &[&str]| SetSharedMailboxOwners {
        address: address.into(),
        users: users.iter().map(|m| m.to_string()).collect(),
        groups: groups.iter().map(|m| m.to_string()).collect(),
    };
    b.set_shared_mailbox_owners(owners("desk@example.com", &["ann@example.com"], &[])).await.unwrap();
    b.set_shared_mailbox_owners(owners("sales@example.com", &["ann@example.com"], &["Support"])).await.unwrap();
    let s = |v: &str| v.to_string();
    assert_eq!(
        owners_list(b, true).await,
        [
            (s("ann@example.com"), vec![s("desk@example.com"), s("sales@example.com")], None),
            (s("bob@example.com"), vec![s("sales@example.com")], None),
        ],
        "two owners without a default; cat owns nothing"
    );

    let default = |user: &str, mailbox: Option<&str>| SetDefaultSharedMailbox {
        user: user.into(),
        mailbox: mailbox.map(String::from),
    };
    let (sub, _) = h.admin("sub", Role::Admin, &[Page::Accounts], Some(&["other.example"])).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Accounts], None).await;
    let audit = h.audit_count().await;
    let e = refused(
        b.set_default_shared_mailbox(default("bob@example.com", Some("desk@example.com"))).await,
        ErrorCode::Validation,
        "does not own",
    );
    assert_eq!(e.field.as_deref(), Some("mailbox"));
    let e = refused(
        b.set_default_shared_mailbox(default("cat@example.com", Some("desk@example.com"))).await,
        ErrorCode::Validation,
        "does not own",
    );
    assert_eq!(e.field.as_deref(), Some("mailbox"));
    refused(
        b.set_default_shared_mailbox(default("ann@example.com", Some("nobody@example.com"))).await,
        ErrorCode::NotFound,
        "no shared mailbox",
    );
    refused(
        b.set_default_shared_mailbox(default("nobody@example.com", Some("desk@example.com"))).await,
        ErrorCode::NotFound,
        "no user",
    );
    refused(
        sub.set_default_shared_mailbox(default("ann@example.com", Some("desk@example.com"))).await,
        ErrorCode::PermissionDenied,
        "example.com",
    );
    assert_eq!(owners_list(desk.as_ref(), true).await.len(), 2, "the helpdesk sees the owners without a default");
    refused(
        desk.set_default_shared_mailbox(default("ann@example.com", Some("desk@example.com"))).await,
        ErrorCode::PermissionDenied,
        "",
    );
    assert_eq!(h.audit_count().await, audit, "nothing for the refusals");
    assert_eq!(owners_list(b, true).await.len(), 2, "nothing changed");

    // Set: directly owned (ann) and through the group (bob); one audit entry each.
    let ann = b.set_default_shared_mailbox(default("ANN@example.com", Some("desk@example.com"))).await.unwrap();
    assert_eq!(ann.default_mailbox.as_deref(), Some("desk@example.com"));
    let bob = b.set_default_shared_mailbox(default("bob@example.com", Some("sales@example.com"))).await.unwrap();
    assert_eq!(bob.default_mailbox.as_deref(), Some("sales@example.com"));
    assert_eq!(h.audit_count().await, audit + 2);
    assert!(owners_list(b, true).await.is_empty(), "every owner has a default");
    let all = owners_list(b, false).await;
    assert_eq!(all[0].2.as_deref(), Some("desk@example.com"));
    assert_eq!(all[1].2.as_deref(), Some("sales@example.com"));

    // Ownership taken away directly: ann's default goes in the same change (and is audited).
    let audit = h.audit_count().await;
    b.set_shared_mailbox_owners(owners("desk@example.com", &[], &[])).await.unwrap();
    assert_eq!(
        owners_list(b, true).await,
        [(s("ann@example.com"), vec![s("sales@example.com")], None)],
        "ann still owns sales, without a default"
    );
    assert_eq!(h.audit_count().await, audit + 2, "the owners and the default cleared");

    // Through the group: bob leaves it, his default goes.
    b.set_workflow_group_members(group(&[])).await.unwrap();
    assert_eq!(owners_list(b, false).await.len(), 1, "bob owns nothing now");
    b.set_workflow_group_members(group(&["bob@example.com"])).await.unwrap();
    assert_eq!(
        owners_list(b, true).await.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
        ["ann@example.com", "bob@example.com"],
        "back in the group, bob has no default until one is set again"
    );
    b.set_default_shared_mailbox(default("bob@example.com", Some("sales@example.com"))).await.unwrap();
    b.remove_workflow_group(RemoveWorkflowGroup { domain: "example.com".into(), name: "Support".into() })
        .await
        .unwrap();
    assert_eq!(owners_list(b, false).await.len(), 1, "the group removed, bob owns nothing");
    // A new group makes bob an owner of sales again: the old default did not survive.
    let create = CreateWorkflowGroup {
        domain: "example.com".into(),
        name: "Support".into(),
        members: vec!["bob@example.com".into()],
    };
    b.create_workflow_group(create).await.unwrap();
    b.set_shared_mailbox_owners(owners("sales@example.com", &["ann@example.com"], &["Support"])).await.unwrap();
    let bob = owners_list(b, true).await.into_iter().find(|o| o.0 == "bob@example.com");
    assert_eq!(bob.map(|o| o.2), Some(None), "bob has no default after the group's removal");

    // Cleared on purpose.
    b.set_default_shared_mailbox(default("ann@example.com", Some("sales@example.com"))).await.unwrap();
    let cleared = b.set_default_shared_mailbox(default("ann@example.com", None)).await.unwrap();
    assert_eq!(cleared.default_mailbox, None);
    assert_eq!(owners_list(b, true).await.len(), 2, "ann cleared, bob never set");
}

/// A fetched message as an outside server keeps it: `Return-Path` and `Date` set.
fn fetched(return_path: &str, date: time::OffsetDateTime, subject: &str, extra: &str) -> Vec<u8> {
    let date = date.format(&time::format_description::well_known::Rfc2822).unwrap();
    let from = return_path.trim_matches(['<', '>']);
    format!(
        "Return-Path: {return_path}\r\nDate: {date}\r\nFrom: {from}\r\nTo: desk@example.com\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@ext.test>\r\n{extra}\r\nPlease help.\r\n"
    )
    .into_bytes()
}

/// The desk's auto-reply answers fetched mail too (RFC 3834 §4: at its Return-Path), once
/// per sender, never to list mail, the null sender, mail without a Return-Path or mail
/// older than a day (a first fetch of old mail answers nobody); a sender of our own domain
/// gets it in their INBOX, another domain's through the outbound queue.
async fn fetched_mail_is_auto_replied_once_per_sender_and_never_to_lists_or_old_mail(h: Harness) {
    let dovecot = fetching(&h, 5).await;
    let b = h.owner.as_ref();
    b.create_account(CreateAccount { address: "ann@example.com".into(), ..Default::default() }).await.unwrap();
    let on = SetSharedAutoReply {
        address: "desk@example.com".into(),
        enabled: true,
        starts_at: None,
        ends_at: None,
        subject: "We got your message".into(),
        text: "We answer within a day.".into(),
    };
    b.set_shared_auto_reply(on).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let old = now - time::Duration::days(3);
    for raw in [
        fetched("<a@ext.test>", now, "first", ""),
        fetched("<a@ext.test>", now, "second", ""),
        fetched("<news@ext.test>", now, "newsletter", "List-Id: <news.ext.test>\r\n"),
        fetched("<>", now, "bounce", ""),
        fetched("<old@ext.test>", old, "old", ""),
        fetched("<ann@example.com>", now, "from ann", ""),
    ] {
        dovecot.save(REMOTE_USER, "INBOX", &raw);
    }
    // And one without a Return-Path at all.
    dovecot.save(REMOTE_USER, "INBOX", &message("nobody@ext.test", "no return path", "x"));
    let report = fetch(b, "desk@example.com").await;
    assert_eq!((report.fetched, report.error.as_deref()), (7, None), "{report:?}");

    let queued = b.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    let to: Vec<String> = queued.iter().flat_map(|m| m.recipients.iter().map(|r| r.address.clone())).collect();
    assert_eq!(to, ["a@ext.test"], "one reply, to the one outside sender answered: {queued:?}");
    assert_eq!(queued[0].sender, "", "with the null envelope sender");
    assert_eq!(subjects(b, "ann@example.com", "INBOX").await, ["We got your message"]);

    // Fetched again (a resync): nobody is answered twice.
    dovecot.save(REMOTE_USER, "INBOX", &fetched("<a@ext.test>", now, "third", ""));
    assert_eq!(fetch(b, "desk@example.com").await.fetched, 1);
    assert_eq!(b.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items.len(), 1);
}
