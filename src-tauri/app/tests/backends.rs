//! The app's state logic without a window: backend registry, remote probing, calls and
//! the local server's listener, against real `postdesk-server` instances on loopback.
//! Tokens go to an in-memory store here; the real keyring has its own marked test.

use std::sync::Arc;
use std::time::Duration;

use postdesk_app::backends::Backends;
use postdesk_app::ipc::{AddRemoteBackend, BackendKind, BackendStatus, LocalServerSettings};
use postdesk_app::local_server::LocalServer;
use postdesk_app::local_smtp::SmtpOverrides;
use postdesk_app::registry::{FILE_NAME, Registry};
use postdesk_app::secret::{MemoryStore, SecretStore};
use postdesk_app::state::{AppState, LOCAL_OWNER_ACCOUNT};
use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::ErrorCode;
use postdesk_contract::api::{Backend, WhoAmI};
use postdesk_engine::Engine;
use serde_json::json;
use tokio::sync::oneshot;

/// A `postdesk serve` on a loopback port: its URL, owner token and engine.
struct Server {
    url: String,
    token: String,
    engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        let engine = Engine::open_in_memory().await.unwrap();
        let token = engine.ensure_first_admin().await.unwrap().unwrap().token.secret;
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", tcp.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let router = postdesk_server::router(engine.clone());
        let task = tokio::spawn(async move {
            postdesk_server::serve(router, tcp, None, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server { url, token, engine, stop: Some(stop), task }
    }

    async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

async fn backends(dir: &std::path::Path, secrets: Arc<MemoryStore>) -> Backends {
    let engine = Engine::open(dir).await.unwrap();
    Backends::new(engine.local_backend(), Registry::load(dir).unwrap(), secrets)
        .with_probe_timeout(Duration::from_secs(2))
}

fn input(name: &str, url: &str, token: &str) -> AddRemoteBackend {
    AddRemoteBackend { name: name.into(), url: url.into(), token: token.into(), ca_cert_pem: None }
}

#[tokio::test]
async fn a_fresh_app_lists_only_the_local_backend() {
    let dir = tempfile::tempdir().unwrap();
    let b = backends(dir.path(), Arc::default()).await;
    let list = b.list().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "local");
    assert_eq!(list[0].kind, BackendKind::Local);
    assert_eq!(list[0].status, BackendStatus::Online);
    assert_eq!(serde_json::to_value(&list[0]).unwrap()["kind"], "local");
}

#[tokio::test]
async fn add_call_list_and_remove_a_remote_backend() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let b = backends(dir.path(), secrets.clone()).await;
    let server = Server::start().await;

    let added = b.add_remote(input("Head office", &format!("{}/", server.url), &server.token)).await.unwrap();
    assert_eq!(added.id, "head-office");
    assert_eq!(added.status, BackendStatus::Online);
    assert_eq!(added.url.as_deref(), Some(server.url.as_str()), "trailing slash trimmed");

    // The token is in the secret store, and nowhere in the file.
    assert_eq!(secrets.get("head-office").unwrap().unwrap().expose(), &server.token);
    let file = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    assert!(!file.contains(&server.token), "{file}");

    let list = b.list().await;
    assert_eq!(list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["local", "head-office"]);
    assert_eq!(list[1].status, BackendStatus::Online);

    // Operations by name reach the remote engine and the local one separately.
    b.call("head-office", "create_domain", json!({"domain": "remote.example"})).await.unwrap();
    let remote = b.call("head-office", "list_domains", json!({})).await.unwrap();
    assert_eq!(remote["items"][0]["name"], "remote.example");
    let local = b.call("local", "list_domains", json!({})).await.unwrap();
    assert_eq!(local, json!({ "items": [], "next": null }));
    let me = b.call("head-office", "whoami", json!({})).await.unwrap();
    assert_eq!(me["name"], "owner");

    // A fresh app on the same folder finds it again, token from the store.
    let again = backends(dir.path(), secrets.clone()).await;
    assert_eq!(again.call("head-office", "list_domains", json!({})).await.unwrap(), remote);

    b.remove("head-office").await.unwrap();
    assert_eq!(secrets.get("head-office").unwrap(), None);
    assert_eq!(b.list().await.len(), 1);
    assert_eq!(b.call("head-office", "list_domains", json!({})).await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(b.remove("head-office").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(b.remove("local").await.unwrap_err().code, ErrorCode::Validation);
}

#[tokio::test]
async fn refused_additions_say_which_field_and_save_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let b = backends(dir.path(), secrets.clone()).await;
    let server = Server::start().await;

    let wrong_token = b.add_remote(input("X", &server.url, "pd_wrong")).await.unwrap_err();
    assert_eq!((wrong_token.code, wrong_token.field.as_deref()), (ErrorCode::Unauthenticated, Some("token")));

    let plain_http = b.add_remote(input("X", "http://mail.example.com", &server.token)).await.unwrap_err();
    assert_eq!((plain_http.code, plain_http.field.as_deref()), (ErrorCode::Validation, Some("url")));

    let not_a_url = b.add_remote(input("X", "mail example", &server.token)).await.unwrap_err();
    assert_eq!(not_a_url.field.as_deref(), Some("url"));

    let nobody = b.add_remote(input("X", "http://127.0.0.1:9", &server.token)).await.unwrap_err();
    assert_eq!((nobody.code, nobody.field.as_deref()), (ErrorCode::Unavailable, Some("url")));

    let no_name = b.add_remote(input("  ", &server.url, &server.token)).await.unwrap_err();
    assert_eq!(no_name.field.as_deref(), Some("name"));
    let no_token = b.add_remote(input("X", &server.url, " ")).await.unwrap_err();
    assert_eq!(no_token.field.as_deref(), Some("token"));
    let bad_cert = AddRemoteBackend { ca_cert_pem: Some("not pem".into()), ..input("X", &server.url, &server.token) };
    assert_eq!(b.add_remote(bad_cert).await.unwrap_err().field.as_deref(), Some("certificate"));

    assert_eq!(b.list().await.len(), 1);
    assert!(!dir.path().join(FILE_NAME).exists());
    assert_eq!(secrets.get("x").unwrap(), None);

    b.add_remote(input("X", &server.url, &server.token)).await.unwrap();
    let twice = b.add_remote(input("Y", &server.url, &server.token)).await.unwrap_err();
    assert_eq!((twice.code, twice.field.as_deref()), (ErrorCode::Conflict, Some("url")));
}

#[tokio::test]
async fn the_list_shows_why_a_backend_is_not_usable() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let b = backends(dir.path(), secrets.clone()).await;
    let mut refusing = Server::start().await;
    let mut down = Server::start().await;
    b.add_remote(input("Refusing", &refusing.url, &refusing.token)).await.unwrap();
    b.add_remote(input("Down", &down.url, &down.token)).await.unwrap();

    // Revoke the token on the server; stop the other server.
    let owner = refusing.engine.local_backend();
    let tokens = owner.list_tokens(postdesk_contract::api::ListTokens::default()).await.unwrap();
    for t in tokens.items {
        owner.revoke_token(postdesk_contract::api::RevokeToken { id: t.id }).await.unwrap();
    }
    down.shut_down().await;

    let list = b.list().await;
    assert_eq!(list[1].status, BackendStatus::Unauthorized, "{list:?}");
    assert!(list[1].error.is_some());
    assert_eq!(list[2].status, BackendStatus::Unreachable, "{list:?}");
    assert!(list[2].error.is_some());

    // A token missing from the keyring is reported, not a crash.
    let fresh = backends(dir.path(), Arc::new(MemoryStore::default())).await;
    let list = fresh.list().await;
    assert_eq!(list[1].status, BackendStatus::Unauthorized);
    assert!(list[1].error.as_deref().unwrap().contains("keyring"), "{list:?}");
    refusing.shut_down().await;
}

#[tokio::test]
async fn calls_reject_with_the_api_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let b = backends(dir.path(), Arc::default()).await;
    let unknown_op = b.call("local", "make_coffee", json!({})).await.unwrap_err();
    assert_eq!(unknown_op.code, ErrorCode::NotFound);
    let bad_params = b.call("local", "create_domain", json!({"domian": "x.example"})).await.unwrap_err();
    assert_eq!(bad_params.code, ErrorCode::Validation);
    let invalid = b.call("local", "create_domain", json!({"domain": "not a domain"})).await.unwrap_err();
    let as_js = serde_json::to_value(&invalid).unwrap();
    assert_eq!(as_js["code"], "validation");
    assert!(as_js["message"].is_string());
    b.call("local", "create_domain", json!({"domain": "example.com"})).await.unwrap();
    let dup =
        serde_json::to_value(b.call("local", "create_domain", json!({"domain": "example.com"})).await.unwrap_err())
            .unwrap();
    assert_eq!(dup["code"], "conflict");
}

#[tokio::test]
async fn the_local_listener_starts_stops_and_remembers_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let token = engine.ensure_first_admin().await.unwrap().unwrap().token.secret;
    let server = LocalServer::new(engine.clone(), dir.path(), None).unwrap();

    let status = server.status().await;
    assert!(!status.running);
    assert_eq!(status.settings, LocalServerSettings::default());
    assert_eq!(status.data_dir, dir.path().display().to_string());

    let bad = server.start(LocalServerSettings { api_listen: "localhost".into(), start_on_launch: true }).await;
    assert_eq!(bad.unwrap_err().field.as_deref(), Some("api_listen"));

    let status =
        server.start(LocalServerSettings { api_listen: "127.0.0.1:0".into(), start_on_launch: true }).await.unwrap();
    assert!(status.running);
    let url = status.api_url.clone().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let client = RemoteBackend::new(&url, Token::new(token.clone()), Options::default()).unwrap();
    assert_eq!(client.whoami(WhoAmI {}).await.unwrap().name, "owner");

    // A second listener on the same port fails and says why.
    let taken = url.trim_start_matches("http://").to_string();
    let other = LocalServer::new(engine.clone(), tempfile::tempdir().unwrap().path(), None).unwrap();
    let err = other.start(LocalServerSettings { api_listen: taken, start_on_launch: false }).await.unwrap_err();
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::Unavailable, Some("api_listen")));
    assert!(other.status().await.error.is_some());

    let stopped = server.stop().await;
    assert!(!stopped.running);
    assert_eq!(stopped.api_url, None);
    assert!(client.whoami(WhoAmI {}).await.is_err());

    // The next launch starts it again because the saved settings say so.
    let relaunched = LocalServer::new(engine.clone(), dir.path(), None).unwrap();
    let status = relaunched.start_on_launch().await;
    assert!(status.running, "{status:?}");
    assert!(status.settings.start_on_launch);
    relaunched.stop().await;

    // …and not when they do not.
    relaunched.start(LocalServerSettings { api_listen: "127.0.0.1:0".into(), start_on_launch: false }).await.unwrap();
    relaunched.stop().await;
    let quiet = LocalServer::new(engine, dir.path(), None).unwrap();
    assert!(!quiet.start_on_launch().await.running);
}

#[tokio::test]
async fn first_start_keeps_the_owner_token_in_the_secret_store_only() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let state = AppState::open(dir.path(), secrets.clone(), None, &SmtpOverrides::free_ports()).await.unwrap();
    let token = secrets.get(LOCAL_OWNER_ACCOUNT).unwrap().expect("owner token stored");
    assert!(token.expose().starts_with("pd_"));
    assert!(dir.path().join("postdesk.db").is_file());

    // The stored token works against the bundled server's API.
    let status = state
        .local_server
        .start(LocalServerSettings { api_listen: "127.0.0.1:0".into(), start_on_launch: false })
        .await
        .unwrap();
    let client =
        RemoteBackend::new(&status.api_url.unwrap(), Token::new(token.expose().clone()), Options::default()).unwrap();
    assert_eq!(client.whoami(WhoAmI {}).await.unwrap().name, "owner");
    state.close().await;

    // No file in the data folder holds it.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            assert!(!std::fs::read_to_string(&path).unwrap().contains(token.expose()), "{}", path.display());
        }
    }

    // A second start keeps the first token.
    let again = AppState::open(dir.path(), secrets.clone(), None, &SmtpOverrides::free_ports()).await.unwrap();
    assert_eq!(secrets.get(LOCAL_OWNER_ACCOUNT).unwrap().unwrap(), token);
    assert_eq!(again.backends.list().await[0].id, "local");
    again.close().await;
}

/// Moves the deletion of `address` back `days` days in the data folder's database (with
/// Python's sqlite3, while the app is closed).
fn backdate_deletion(dir: &std::path::Path, address: &str, days: u32) {
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        n = db.execute(\"UPDATE recycle_bin SET deleted_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?) \
        WHERE account_id = (SELECT id FROM accounts WHERE address = ?)\", (f'-{sys.argv[3]} days', sys.argv[2])).rowcount\n\
        db.commit()\n\
        assert n == 1, n\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("postdesk.db"))
        .arg(address)
        .arg(days.to_string())
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_app_purges_accounts_past_the_recycle_bins_retention() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let state = AppState::open(dir.path(), secrets.clone(), None, &SmtpOverrides::free_ports()).await.unwrap();
    let call = |op: &'static str, params: serde_json::Value| {
        let backends = &state.backends;
        async move { backends.call("local", op, params).await.unwrap_or_else(|e| panic!("{op}: {e:?}")) }
    };
    call("create_domain", json!({"domain": "example.com"})).await;
    for address in ["ann@example.com", "bob@example.com"] {
        call("create_account", json!({"address": address})).await;
        call("remove_account", json!({"address": address})).await;
    }
    state.close().await;
    // ann was deleted 40 days ago (the retention is 30 days), bob just now.
    backdate_deletion(dir.path(), "ann@example.com", 40);

    let state = AppState::open(dir.path(), secrets, None, &SmtpOverrides::free_ports()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let bin = state.backends.call("local", "list_recycle_bin", json!({"domain": "example.com"})).await.unwrap();
        let left: Vec<&str> = bin["items"].as_array().unwrap().iter().map(|e| e["address"].as_str().unwrap()).collect();
        if left == ["bob@example.com"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the app purged nothing: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ann = state.backends.call("local", "get_account", json!({"address": "ann@example.com"})).await;
    assert_eq!(ann.unwrap_err().code, ErrorCode::NotFound);
    state.close().await;
}

/// A secret store whose writes fail (a locked keyring), reads from an inner store.
#[derive(Debug, Default)]
struct ReadOnlyStore(MemoryStore);

impl SecretStore for ReadOnlyStore {
    fn get(&self, account: &str) -> postdesk_contract::Result<Option<postdesk_app::secret::Sensitive<String>>> {
        self.0.get(account)
    }
    fn set(&self, _: &str, _: &postdesk_app::secret::Sensitive<String>) -> postdesk_contract::Result<()> {
        Err(postdesk_contract::Error::unavailable("the keyring is locked"))
    }
    fn delete(&self, account: &str) -> postdesk_contract::Result<()> {
        self.0.delete(account)
    }
}

/// Token rotation by the app (issue 15, item 8), against a real server: a helpdesk token
/// with 30 days is left alone while it is young; once a third of its life is left the app
/// gets a successor, keeps it in the store, uses it, and revokes the old one.
#[tokio::test]
async fn the_app_rotates_a_remote_token_that_nears_its_end() {
    use postdesk_app::rotation::Rotation;
    use postdesk_contract::api::{CreateAdmin, CreateToken, ListTokens};
    use postdesk_contract::model::{Page, Role};
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let b = backends(dir.path(), secrets.clone()).await;
    let server = Server::start().await;
    let owner = server.engine.local_backend();
    owner
        .create_admin(CreateAdmin {
            name: "desk".into(),
            role: Role::Helpdesk,
            pages: Some(vec![Page::Accounts]),
            domains: None,
        })
        .await
        .unwrap();
    let old = owner
        .create_token(CreateToken { admin: "desk".into(), label: Some("app".into()), expires_in_days: Some(30) })
        .await
        .unwrap();
    b.add_remote(input("Office", &server.url, &old.secret)).await.unwrap();
    let now = time::OffsetDateTime::now_utc();

    // Young: nothing happens.
    let young = b.rotate_token("office", now + time::Duration::days(1)).await.unwrap();
    assert!(matches!(young, Rotation::NotDue { expires_at: Some(_) }), "{young:?}");
    assert_eq!(secrets.get("office").unwrap().unwrap().expose(), &old.secret);

    // Ten days left: rotated.
    let later = now + time::Duration::days(21);
    let Rotation::Rotated { old: old_id, new: new_id, expires_at, old_revoked } =
        b.rotate_token("office", later).await.unwrap()
    else {
        panic!("not rotated")
    };
    assert_eq!(old_id, old.token.id);
    assert!(old_revoked);
    assert!(expires_at.is_some());
    let stored = secrets.get("office").unwrap().unwrap().expose().clone();
    assert_ne!(stored, old.secret);
    assert!(stored.starts_with(&format!("pd_{new_id}_")));
    // The old secret is refused, the new one is the backend's, and calls go on.
    assert_eq!(server.engine.authenticate(&old.secret).await.unwrap_err().code, ErrorCode::Unauthenticated);
    assert_eq!(server.engine.authenticate(&stored).await.unwrap().name, "desk");
    assert_eq!(b.call("office", "whoami", json!({})).await.unwrap()["name"], "desk");
    let left: Vec<String> = owner
        .list_tokens(ListTokens { admin: Some("desk".into()), ..Default::default() })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(left, [new_id]);
    // The successor is young again.
    assert!(matches!(b.rotate_tokens(now).await[0].1, Ok(Rotation::NotDue { .. })));
}

/// A keyring that will not take the successor: the old token stays in use and on the
/// server, and the successor nobody holds is revoked.
#[tokio::test]
async fn a_successor_the_keyring_refuses_is_revoked_and_the_old_token_kept() {
    use postdesk_contract::api::{CreateToken, ListTokens};
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(MemoryStore::default());
    let server = Server::start().await;
    let owner = server.engine.local_backend();
    let old = owner
        .create_token(CreateToken { admin: "owner".into(), label: Some("app".into()), expires_in_days: Some(3) })
        .await
        .unwrap();
    // Added with a working store, then the keyring locks.
    let b = backends(dir.path(), inner.clone()).await;
    b.add_remote(input("Office", &server.url, &old.secret)).await.unwrap();
    let locked = Arc::new(ReadOnlyStore::default());
    locked.0.set("office", &inner.get("office").unwrap().unwrap()).unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = Backends::new(engine.local_backend(), Registry::load(dir.path()).unwrap(), locked.clone());
    let due = time::OffsetDateTime::now_utc() + time::Duration::hours(60);
    let error = b.rotate_token("office", due).await.unwrap_err();
    assert!(error.message.contains("the keyring is locked"), "{error:?}");
    assert_eq!(locked.get("office").unwrap().unwrap().expose(), &old.secret);
    assert_eq!(b.call("office", "whoami", json!({})).await.unwrap()["name"], "owner");
    let tokens: Vec<String> = owner
        .list_tokens(ListTokens { admin: Some("owner".into()), ..Default::default() })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(tokens.len(), 2, "the first-start token and the app's, no successor: {tokens:?}");
    assert!(tokens.contains(&old.token.id));
}
