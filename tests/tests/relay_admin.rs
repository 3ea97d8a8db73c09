//! The smarthost relays' admin API through the `Backend`, on both implementations: set,
//! list and remove (global and per sender domain), the secret write-only (a 0600 file of
//! the data folder; never in an answer, the database or the audit log), validation that
//! changes nothing, audit entries, and who may do what. Delivery through a relay is tested
//! with real servers in cli/tests/relay.rs.

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::relay::{RelayAuth, RelayTls};
use postdesk_contract::{Backend, ErrorCode};
use postdesk_tests::{Harness, contract, refused};

contract!(
    relays_are_set_listed_and_removed_with_a_write_only_secret,
    bad_relay_settings_are_refused_and_change_nothing,
    helpdesk_reads_relays_and_domain_admins_are_refused,
);

const SECRET: &str = "s3cret-Relay-Passw0rd-7f1c";
const TOKEN: &str = "ya29.bearer-token-Q9x";

fn plain(sender_domain: Option<&str>, secret: Option<&str>) -> SetRelay {
    SetRelay {
        sender_domain: sender_domain.map(str::to_string),
        host: "Smtp.Relay.Example".into(),
        port: 587,
        tls: Some(RelayTls::Starttls),
        verify_certificate: None,
        auth: Some(RelayAuth::Plain),
        username: Some("relay-user".into()),
        secret: secret.map(|s| RelaySecret(s.into())),
    }
}

/// Every byte of the data folder's database files (the WAL included).
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn relays_are_set_listed_and_removed_with_a_write_only_secret(h: Harness) {
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    assert!(b.list_relays(ListRelays::default()).await.unwrap().items.is_empty());
    let global = b.set_relay(plain(None, Some(SECRET))).await.unwrap();
    assert_eq!(global.sender_domain, None);
    assert_eq!((global.host.as_str(), global.port, global.tls), ("smtp.relay.example", 587, RelayTls::Starttls));
    assert!(global.verify_certificate, "certificates are checked unless turned off");
    assert!(global.secret_set);
    let xoauth2 = SetRelay {
        sender_domain: Some("Example.COM".into()),
        host: "127.0.0.1".into(),
        port: 465,
        tls: Some(RelayTls::Implicit),
        verify_certificate: Some(false),
        auth: Some(RelayAuth::Xoauth2),
        username: Some("ann@example.com".into()),
        secret: Some(RelaySecret(TOKEN.into())),
    };
    let own = b.set_relay(xoauth2).await.unwrap();
    assert_eq!(own.sender_domain.as_deref(), Some("example.com"));

    // Write-only: the answers say "set", the files hold it, 0600, and nothing else does.
    let listed = b.list_relays(ListRelays::default()).await.unwrap().items;
    assert_eq!(listed.iter().map(|r| r.sender_domain.as_deref()).collect::<Vec<_>>(), [None, Some("example.com")]);
    assert!(listed.iter().all(|r| r.secret_set));
    let answers = serde_json::to_string(&(&listed, &global, &own)).unwrap();
    assert!(!answers.contains(SECRET) && !answers.contains(TOKEN), "{answers}");
    let dir = h.engine.data_dir().unwrap().join(postdesk_engine::SECRETS_DIR);
    assert_eq!(std::fs::read_to_string(dir.join("relay.all")).unwrap(), SECRET);
    assert_eq!(std::fs::read_to_string(dir.join("relay.example.com")).unwrap(), TOKEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("relay.all")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let db = h.stored_bytes();
    assert!(holds(&db, "smtp.relay.example"), "the settings are in the database");
    assert!(!holds(&db, SECRET) && !holds(&db, TOKEN), "no secret in the database");
    let entries = b.list_audit(ListAudit { action: Some("set_relay".into()), ..Default::default() }).await.unwrap();
    assert_eq!(entries.items.len(), 2);
    let log = serde_json::to_string(&entries).unwrap();
    assert!(!log.contains(SECRET) && !log.contains(TOKEN), "no secret in the audit: {log}");
    assert!(log.contains("secret_changed"), "the audit says a secret was set: {log}");

    // The worker's view: the sender domain's own relay first, with its secret.
    let route = h.engine.outbound_relay("example.com").await.unwrap().unwrap();
    assert_eq!((route.relay.auth, route.secret.as_ref().unwrap().expose().as_str()), (RelayAuth::Xoauth2, TOKEN));
    let route = h.engine.outbound_relay("other.example").await.unwrap().unwrap();
    assert_eq!((route.relay.port, route.secret.as_ref().unwrap().expose().as_str()), (587, SECRET));
    assert_eq!(h.engine.outbound_relay("").await.unwrap().unwrap().relay.sender_domain, None, "null sender: global");

    // Changed without a secret: the stored one is kept. Auth none: it is removed.
    let port = SetRelay { port: 2587, ..plain(None, None) };
    assert!(b.set_relay(port).await.unwrap().secret_set);
    assert_eq!(std::fs::read_to_string(dir.join("relay.all")).unwrap(), SECRET);
    let open = SetRelay { auth: Some(RelayAuth::None), username: None, ..plain(None, None) };
    assert!(!b.set_relay(open).await.unwrap().secret_set);
    assert!(!dir.join("relay.all").exists(), "auth none keeps no secret");
    assert!(h.engine.outbound_relay("other.example").await.unwrap().unwrap().secret.is_none());

    b.remove_relay(RemoveRelay { sender_domain: Some("example.com".into()) }).await.unwrap();
    assert!(!dir.join("relay.example.com").exists(), "the secret goes with its relay");
    refused(
        b.remove_relay(RemoveRelay { sender_domain: Some("example.com".into()) }).await,
        ErrorCode::NotFound,
        "no relay for mail from example.com",
    );
    b.remove_relay(RemoveRelay { sender_domain: None }).await.unwrap();
    assert!(b.list_relays(ListRelays::default()).await.unwrap().items.is_empty());
    assert!(h.engine.outbound_relay("example.com").await.unwrap().is_none(), "MX delivery again");
    assert_eq!(h.audit_count().await, audit + 6);
}

async fn bad_relay_settings_are_refused_and_change_nothing(h: Harness) {
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    refused(b.set_relay(plain(None, None)).await, ErrorCode::Validation, "needs a password");
    let token = SetRelay { auth: Some(RelayAuth::Xoauth2), ..plain(None, None) };
    refused(b.set_relay(token).await, ErrorCode::Validation, "bearer token");
    refused(b.set_relay(plain(Some("not a domain"), Some(SECRET))).await, ErrorCode::Validation, "domain");
    refused(b.set_relay(SetRelay { port: 0, ..plain(None, Some(SECRET)) }).await, ErrorCode::Validation, "port");
    let host = SetRelay { host: "two words".into(), ..plain(None, Some(SECRET)) };
    refused(b.set_relay(host).await, ErrorCode::Validation, "host");
    let user = SetRelay { username: None, ..plain(None, Some(SECRET)) };
    refused(b.set_relay(user).await, ErrorCode::Validation, "user name");
    let line = plain(None, Some("pass\r\nRSET"));
    refused(b.set_relay(line).await, ErrorCode::Validation, "line breaks");
    let stray = SetRelay { auth: Some(RelayAuth::None), username: None, ..plain(None, Some(SECRET)) };
    refused(b.set_relay(stray).await, ErrorCode::Validation, "needs an AUTH mechanism");
    // A plain (no TLS) mode does not exist.
    let raw = serde_json::json!({ "host": "h.example", "port": 25, "tls": "none" });
    let err = postdesk_contract::api::dispatch(b, "set_relay", raw).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation, "{err:?}");
    assert!(b.list_relays(ListRelays::default()).await.unwrap().items.is_empty());
    assert!(!h.engine.data_dir().unwrap().join(postdesk_engine::SECRETS_DIR).join("relay.all").exists());
    assert_eq!(h.audit_count().await, audit);
}

async fn helpdesk_reads_relays_and_domain_admins_are_refused(h: Harness) {
    h.domain("a.example", 10).await;
    h.owner.set_relay(plain(None, Some(SECRET))).await.unwrap();
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Smtp], None).await;
    let (scoped, _) = h.admin("scoped", Role::Admin, &Page::ALL, Some(&["a.example"])).await;
    let denied = ErrorCode::PermissionDenied;
    let seen = desk.list_relays(ListRelays::default()).await.unwrap().items;
    assert!(seen[0].secret_set && !serde_json::to_string(&seen).unwrap().contains(SECRET));
    refused(desk.set_relay(plain(None, Some("other"))).await, denied, "helpdesk");
    refused(desk.remove_relay(RemoveRelay { sender_domain: None }).await, denied, "helpdesk");
    // Server-wide, even for the admin's own domain.
    refused(scoped.list_relays(ListRelays::default()).await, denied, "all of them");
    refused(scoped.set_relay(plain(Some("a.example"), Some("x"))).await, denied, "all of them");
    refused(scoped.remove_relay(RemoveRelay { sender_domain: None }).await, denied, "all of them");
    assert_eq!(h.engine.outbound_relay("x.example").await.unwrap().unwrap().secret.unwrap().expose(), SECRET);
    let _: &dyn Backend = desk.as_ref();
}
