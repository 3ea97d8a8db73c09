//! The OS keyring for real (Secret Service on Linux), through the same code the app uses.
//!
//! Ignored by default: it needs an unlocked Secret Service on the session bus. Run it with
//! `tests/desktop/keyring.sh`, which starts a private D-Bus session and gnome-keyring:
//! `dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets;
//!  cargo test -p postdesk-app --test keyring -- --ignored'`.
//! Entries go to the test namespace (`dev.postdesk.app.test-keyring`), never the app's.

use std::sync::Arc;

use postdesk_app::backends::Backends;
use postdesk_app::ipc::{AddRemoteBackend, BackendStatus};
use postdesk_app::registry::Registry;
use postdesk_app::secret::{Keyring, Namespace, SecretStore, Sensitive};
use postdesk_engine::Engine;

fn store() -> Keyring {
    Keyring::new(&Namespace::Test("test-keyring".into()))
}

#[test]
#[ignore = "needs a Secret Service: run tests/desktop/keyring.sh"]
fn store_read_overwrite_and_delete_a_token() {
    let keyring = store();
    assert_eq!(keyring.service(), "dev.postdesk.app.test-keyring");
    let account = format!("roundtrip-{}", std::process::id());

    assert_eq!(keyring.get(&account).unwrap(), None, "NoEntry is Ok(None)");
    keyring.set(&account, &Sensitive("pd_first".to_string())).unwrap();
    assert_eq!(keyring.get(&account).unwrap().unwrap().expose(), "pd_first");

    keyring.set(&account, &Sensitive("pd_second".to_string())).unwrap();
    assert_eq!(keyring.get(&account).unwrap().unwrap().expose(), "pd_second");
    // In the Secret Service itself, the entry is filed under the namespace's service.
    let raw = keyring::Entry::new("dev.postdesk.app.test-keyring", &account).unwrap();
    assert_eq!(raw.get_password().unwrap(), "pd_second");
    // Another namespace does not see it.
    let elsewhere = Keyring::new(&Namespace::Test("test-keyring-elsewhere".into()));
    assert_eq!(elsewhere.get(&account).unwrap(), None);

    // Another account in the same service is a separate entry.
    let other = format!("{account}-other");
    keyring.set(&other, &Sensitive("pd_other".to_string())).unwrap();
    assert_eq!(keyring.get(&account).unwrap().unwrap().expose(), "pd_second");

    keyring.delete(&account).unwrap();
    assert_eq!(keyring.get(&account).unwrap(), None);
    assert!(matches!(raw.get_password(), Err(keyring::Error::NoEntry)), "gone from the Secret Service");
    keyring.delete(&account).unwrap();
    keyring.delete(&other).unwrap();
}

#[tokio::test]
#[ignore = "needs a Secret Service: run tests/desktop/keyring.sh"]
async fn a_remote_backend_token_lives_in_the_keyring_only() {
    // A real server on loopback to add.
    let remote = Engine::open_in_memory().await.unwrap();
    let token = remote.ensure_first_admin().await.unwrap().unwrap().token.secret;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", tcp.local_addr().unwrap());
    tokio::spawn(postdesk_server::serve(postdesk_server::router(remote), tcp, None, std::future::pending()));

    let dir = tempfile::tempdir().unwrap();
    let keyring = Arc::new(store());
    let engine = Engine::open(dir.path()).await.unwrap();
    let backends = Backends::new(engine.local_backend(), Registry::load(dir.path()).unwrap(), keyring.clone());
    let added = backends
        .add_remote(AddRemoteBackend { name: "Keyring test".into(), url, token: token.clone(), ca_cert_pem: None })
        .await
        .unwrap();
    let id = added.id.clone();
    let stored = tokio::task::spawn_blocking({
        let (k, id) = (keyring.clone(), id.clone());
        move || k.get(&id)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored.unwrap().expose(), &token);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            assert!(!std::fs::read_to_string(&path).unwrap().contains(&token));
        }
    }

    // A new app instance reads the token back from the keyring.
    let relaunched = Backends::new(engine.local_backend(), Registry::load(dir.path()).unwrap(), keyring.clone());
    assert_eq!(relaunched.list().await[1].status, BackendStatus::Online);

    backends.remove(&id).await.unwrap();
    let gone = tokio::task::spawn_blocking(move || keyring.get(&id)).await.unwrap().unwrap();
    assert_eq!(gone, None);
}

/// Every file under `dir`, read whole (the database, its WAL, any secret file).
fn every_file(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_file(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

#[tokio::test]
#[ignore = "needs a Secret Service: run tests/desktop/keyring.sh"]
async fn a_relay_secret_lives_in_the_keyring_only() {
    use postdesk_contract::Backend;
    use postdesk_contract::api::{ListRelays, RelaySecret, RemoveRelay, SetRelay};
    use postdesk_contract::relay::{RelayAuth, RelayTls, secret_account};

    const SECRET: &str = "relay-Passw0rd-in-the-keyring-5d2e";
    let dir = tempfile::tempdir().unwrap();
    let keyring = Arc::new(store());
    let account = secret_account(None);
    keyring.delete(&account).unwrap();
    // The engine as the app opens it: relay secrets through the OS keyring.
    let engine = Engine::open(dir.path()).await.unwrap().with_secret_store(keyring.clone());
    let set = SetRelay {
        sender_domain: None,
        host: "smtp.relay.example".into(),
        port: 587,
        tls: Some(RelayTls::Starttls),
        verify_certificate: None,
        auth: Some(RelayAuth::Plain),
        username: Some("relay-user".into()),
        secret: Some(RelaySecret(SECRET.into())),
    };
    assert!(engine.local_backend().set_relay(set).await.unwrap().secret_set);
    let stored = tokio::task::spawn_blocking({
        let (k, a) = (keyring.clone(), account.clone());
        move || k.get(&a)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored.map(|s| s.expose().to_string()).as_deref(), Some(SECRET), "the secret is in the keyring");
    engine.close().await;
    // …and in no file of the data folder: not the database, its WAL, nor a secrets file.
    for (path, bytes) in every_file(dir.path()) {
        assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "{} holds the secret", path.display());
    }
    assert!(!dir.path().join("secrets").exists(), "no secrets folder where the keyring is used");

    // The app started again reads it back from the keyring.
    let engine = Engine::open(dir.path()).await.unwrap().with_secret_store(keyring.clone());
    let relays = engine.local_backend().list_relays(ListRelays::default()).await.unwrap();
    assert!(format!("{relays:?}").contains("secret_set: true"), "{relays:?}");
    // Removing the relay removes its secret from the keyring.
    engine.local_backend().remove_relay(RemoveRelay { sender_domain: None }).await.unwrap();
    let gone = tokio::task::spawn_blocking(move || keyring.get(&account)).await.unwrap().unwrap();
    assert_eq!(gone, None, "the relay's secret left the keyring with it");
    engine.close().await;
}
