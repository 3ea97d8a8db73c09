//! `postdesk migrate`: a SQLite data folder (accounts, a department tree, an alias, mail)
//! copied into a real PostgreSQL database with its blobs moved to a real S3-compatible
//! server (moto); every table counted on both sides; the engine then runs on PostgreSQL
//! with the same organisation and mail; a second copy into the used database is refused
//! and changes nothing.
//!
//! Needs PostgreSQL (Debian `postgresql`) and moto (`pip install 'moto[server]'`).

use crate::common;

use std::process::Command;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::{FlagChange, FolderState, MailStore, Quota};
use postdesk_engine::Engine;

use crate::s3;

const MESSAGE: &[u8] = b"Subject: kept\r\n\r\nthe message body\r\n";

/// The relay password the data folder holds.
const RELAY_SECRET: &str = "relay-Passw0rd-moved-4k";

/// A data folder with a domain, two departments (the child made first, then moved under a
/// newer parent: rows whose ids are not in tree order), two accounts, an alias and a message
/// (flagged: its mod-sequence moved); ann's folders and quota as the SQLite store has them.
async fn provision(dir: &std::path::Path) -> (Vec<FolderState>, Quota) {
    let engine = Engine::open(dir).await.unwrap();
    engine.ensure_first_admin().await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Sales".into(), parents: None })
        .await
        .unwrap();
    b.create_department(CreateDepartment { domain: "example.com".into(), path: "Europe".into(), parents: None })
        .await
        .unwrap();
    b.move_department(MoveDepartment {
        domain: "example.com".into(),
        path: "Sales".into(),
        new_parent: Some("Europe".into()),
    })
    .await
    .unwrap();
    for a in ["ann@example.com", "bob@example.com"] {
        let account =
            CreateAccount { address: a.into(), department: Some("Europe/Sales".into()), ..Default::default() };
        b.create_account(account).await.unwrap();
    }
    let alias = CreateAlias {
        address: "team@example.com".into(),
        targets: vec!["ann@example.com".into(), "bob@example.com".into()],
        description: Some("the team\\north, école".into()),
    };
    b.create_alias(alias).await.unwrap();
    b.set_relay(postdesk_tests::relay_with_password(RELAY_SECRET)).await.unwrap();
    engine.deliver("ann@example.com", MESSAGE).await.unwrap();
    engine.deliver("ann@example.com", MESSAGE).await.unwrap();
    MailStore::store_flags(&engine, "ann@example.com", "INBOX", &[1], FlagChange::Add, &["\\Seen".into()], None)
        .await
        .unwrap();
    let state = (
        MailStore::folders(&engine, "ann@example.com").await.unwrap(),
        MailStore::quota(&engine, "ann@example.com").await.unwrap(),
    );
    engine.close().await;
    state
}

/// The bucket's store, as a node given its credentials opens it.
fn bucket(server: &s3::S3Server) -> std::sync::Arc<dyn postdesk_blobs::Blobs> {
    let settings = postdesk_blobs::S3Settings {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(s3::ACCESS_KEY.into()),
        secret_access_key: Some(s3::SECRET_KEY.into()),
    };
    std::sync::Arc::new(postdesk_blobs::S3Blobs::new("s3://mail/moved", settings).unwrap())
}

fn migrate(dir: &std::path::Path, s3: &s3::S3Server, args: &[&str]) -> common::Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(dir).args(["--json", "migrate"]).args(args).envs(s3.env());
    c.env_remove("POSTDESK_DATABASE").env_remove("POSTDESK_BLOBS").env_remove("POSTDESK_URL");
    common::run(c, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_moves_into_postgres_and_s3_whole() {
    let db = postdesk_tests::postgres::fresh_database().await;
    let s3 = s3::S3Server::start();
    s3.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let (folders, quota) = provision(dir.path()).await;

    let key = dir.path().join("nodes.key");
    std::fs::write(&key, format!("{}\n", "5d".repeat(32))).unwrap();
    let key_arg = key.to_str().unwrap();
    let ran = migrate(dir.path(), &s3, &["--to", db.url(), "--blobs-to", "s3://mail/moved", "--secrets-key", key_arg]);
    let report = ran.assert_ok().json();
    assert_eq!(report["secrets"], 1, "the relay's password, sealed: {report}");
    assert_eq!(report["blobs"], "s3://mail/moved");
    assert_eq!(report["tables"]["accounts"], 2, "{report}");
    assert_eq!(report["tables"]["departments"], 2, "{report}");
    assert_eq!(report["tables"]["messages"], 2, "{report}");
    assert_eq!(report["tables"]["admins"], 1, "{report}");
    assert!(report["rows"].as_u64().unwrap() > 10, "{report}");

    // The engine on PostgreSQL: the same organisation, the message's bytes from the bucket.
    let node = tempfile::tempdir().unwrap();
    let engine = Engine::open_postgres(node.path(), db.url(), Some(bucket(&s3))).await.unwrap();
    assert_eq!(engine.blob_location(), "s3://mail/moved", "the database records the bucket: it is accepted");
    let b = engine.local_backend();
    let domain = b.get_domain(GetDomain { domain: "example.com".into() }).await.unwrap();
    assert_eq!(domain.account_count, 2, "the trigger-kept count copied as it was, not counted twice");
    let ann = b.get_account(GetAccount { address: "ann@example.com".into() }).await.unwrap();
    assert_eq!(ann.department.as_deref(), Some("Europe/Sales"));
    let alias = b.resolve_address(ResolveAddress { address: "team@example.com".into() }).await.unwrap();
    assert_eq!(alias.mailboxes.len(), 2);
    let aliases = b.list_aliases(ListAliases { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    assert_eq!(
        aliases.items[0].description, "the team\\north, école",
        "text with COPY's escape character and beyond ASCII"
    );
    assert_eq!(engine.message_bytes("ann@example.com", "INBOX", 1).await.unwrap(), MESSAGE);
    // The relay's password, for a node given the key.
    let sealed = engine.clone().with_sealed_secrets(&[postdesk_engine::sealed::parse_key(&"5d".repeat(32)).unwrap()]);
    let route = sealed.unwrap().outbound_relay("example.com").await.unwrap().expect("the relay moved");
    assert_eq!(route.secret.map(|s| s.expose().clone()).as_deref(), Some(RELAY_SECRET));
    // What the triggers keep (used bytes, mod-sequences, UIDNEXT) is as it was: the copy
    // ran with them off.
    assert_eq!(MailStore::folders(&engine, "ann@example.com").await.unwrap(), folders);
    assert_eq!(MailStore::quota(&engine, "ann@example.com").await.unwrap(), quota);
    // New rows take ids past the copied ones (the identity sequences moved).
    b.create_account(CreateAccount { address: "cy@example.com".into(), ..Default::default() }).await.unwrap();
    engine.deliver("ann@example.com", b"Subject: after\r\n\r\nx\r\n").await.unwrap();
    engine.close().await;

    // A second copy into the used database is refused, and changes nothing.
    let again = migrate(dir.path(), &s3, &["--to", db.url()]);
    again.assert_code(1).assert_stderr_contains("in use already");
    let engine = Engine::open_postgres(node.path(), db.url(), Some(bucket(&s3))).await.unwrap();
    let domain = engine.local_backend().get_domain(GetDomain { domain: "example.com".into() }).await.unwrap();
    assert_eq!(domain.account_count, 3);
    engine.close().await;

    // Not a PostgreSQL address: refused before anything is opened.
    migrate(dir.path(), &s3, &["--to", "mysql://x"]).assert_code(1).assert_stderr_contains("PostgreSQL address");
}

/// `postdesk secrets reseal` with the key file the nodes are given.
fn reseal(node: &std::path::Path, url: &str, key_file: &std::path::Path) -> common::Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(node).args(["--database", url, "--secrets-key"]).arg(key_file);
    c.args(["--json", "secrets", "reseal"]);
    c.env_remove("POSTDESK_DATABASE").env_remove("POSTDESK_BLOBS").env_remove("POSTDESK_URL");
    common::run(c, None)
}

/// The relay secret as a node given `keys` reads it (a fresh node: nothing cached).
async fn relay_secret(url: &str, keys: &[[u8; 32]]) -> Result<Option<String>, String> {
    let node = tempfile::tempdir().unwrap();
    let engine = Engine::open_postgres(node.path(), url, None).await.unwrap().with_sealed_secrets(keys).unwrap();
    let read = engine.outbound_relay("example.com").await;
    engine.close().await;
    read.map(|route| route.and_then(|r| r.secret).map(|s| s.expose().clone())).map_err(|e| e.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_key_is_changed_without_stopping_the_nodes() {
    let key = |hex: &str| postdesk_engine::sealed::parse_key(&hex.repeat(32)).unwrap();
    let (old, new, other) = (key("5d"), key("a1"), key("0f"));
    let db = postdesk_tests::postgres::fresh_database().await;
    let node = tempfile::tempdir().unwrap();
    let engine = Engine::open_postgres(node.path(), db.url(), None).await.unwrap();
    engine.ensure_first_admin().await.unwrap();
    let a = engine.with_sealed_secrets(&[old]).unwrap();
    a.local_backend().create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    a.local_backend().set_relay(postdesk_tests::relay_with_password(RELAY_SECRET)).await.unwrap();
    a.close().await;

    // Step 1: the nodes are given the new key after the old; they still read what the old sealed.
    assert_eq!(relay_secret(db.url(), &[new, old]).await, Ok(Some(RELAY_SECRET.into())));
    let unopened = relay_secret(db.url(), &[new]).await.unwrap_err();
    assert!(unopened.contains("does not open with this node's secrets key"), "{unopened}");

    // A file whose keys open nothing refuses the whole and changes nothing.
    let files = tempfile::tempdir().unwrap();
    let wrong = files.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "0f".repeat(32))).unwrap();
    reseal(node.path(), db.url(), &wrong).assert_code(1).assert_stderr_contains("does not open");
    assert_eq!(relay_secret(db.url(), &[old]).await, Ok(Some(RELAY_SECRET.into())), "still sealed under the old key");
    assert!(relay_secret(db.url(), &[other]).await.is_err());

    // Step 2: the new key first, then reseal: every secret is under the new key.
    let both = files.path().join("both.key");
    std::fs::write(
        &both,
        format!(
            "# the new key seals\n{}\n\n# the old one, until every secret is resealed\n{}\n",
            "a1".repeat(32),
            "5d".repeat(32)
        ),
    )
    .unwrap();
    let report = reseal(node.path(), db.url(), &both).assert_ok().json();
    assert_eq!((report["secrets"].as_u64(), report["resealed"].as_u64()), (Some(1), Some(1)), "{report}");
    // Step 3: the old key can go.
    assert_eq!(relay_secret(db.url(), &[new]).await, Ok(Some(RELAY_SECRET.into())));
    assert!(relay_secret(db.url(), &[old]).await.unwrap_err().contains("does not open"));
    let again = reseal(node.path(), db.url(), &both).assert_ok().json();
    assert_eq!(again["resealed"].as_u64(), Some(0), "nothing left under the old key: {again}");

    // Refused with what is wrong: a bad line, no database.
    let bad = files.path().join("bad.key");
    std::fs::write(&bad, format!("{}\nzz\n", "a1".repeat(32))).unwrap();
    reseal(node.path(), db.url(), &bad).assert_code(1).assert_stderr_contains("key 2 of the secrets key file");
    let huge = files.path().join("huge.key");
    std::fs::write(&huge, format!("{}\n", "#".repeat(1 << 20))).unwrap();
    reseal(node.path(), db.url(), &huge).assert_code(1).assert_stderr_contains("is over 16 KiB");
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.arg("--data-dir").arg(node.path()).arg("--secrets-key").arg(&both).args(["secrets", "reseal"]);
    c.env_remove("POSTDESK_DATABASE");
    common::run(c, None).assert_code(1).assert_stderr_contains("give --database and --secrets-key");
}
