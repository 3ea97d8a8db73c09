//! Message blobs in an S3-compatible object store (a real one: moto's server, started per
//! test): the engine keeps mail there, the data folder records where, opening it with
//! another store is refused, and `migrate_blobs` moves a data folder's mail there whole or
//! not at all.

use std::sync::Arc;

use postdesk_blobs::{Blobs, FsBlobs, S3Blobs, S3Settings};
use postdesk_contract::ErrorCode;
use postdesk_contract::api::*;
use postdesk_contract::outbound::OutboundEnvelope;
use postdesk_engine::Engine;

use crate::s3;

fn s3_store(server: &s3::S3Server, location: &str) -> Arc<dyn Blobs> {
    let settings = S3Settings {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(s3::ACCESS_KEY.into()),
        secret_access_key: Some(s3::SECRET_KEY.into()),
    };
    Arc::new(S3Blobs::new(location, settings).unwrap())
}

async fn organisation(engine: &Engine) {
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    for a in ["ann@example.com", "bob@example.com"] {
        b.create_account(CreateAccount { address: a.into(), ..Default::default() }).await.unwrap();
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    FsBlobs::in_dir(dir)
        .root()
        .read_dir()
        .map(|d| d.flatten().filter(|e| e.file_name().len() == 2).count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_lives_in_the_bucket_and_the_data_folder_refuses_another_store() {
    let server = s3::S3Server::start();
    server.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with_blobs(dir.path(), s3_store(&server, "s3://mail/node")).await.unwrap();
    assert_eq!(engine.blob_location(), "s3://mail/node");
    organisation(&engine).await;
    let msg = b"From: x@example.net\r\nSubject: in the bucket\r\n\r\nhello\r\n";
    engine.deliver("ann@example.com", msg).await.unwrap();
    engine.deliver("bob@example.com", msg).await.unwrap();
    assert_eq!(engine.message_bytes("bob@example.com", "INBOX", 1).await.unwrap(), msg);
    let keys = server.keys("mail");
    assert_eq!(keys.len(), 1, "one object for the same bytes: {keys:?}");
    assert!(keys[0].starts_with("node/"), "{keys:?}");
    assert_eq!(files_in(dir.path()), 0, "nothing in the data folder's blobs folder");
    engine.close().await;

    // The same store again: the mail is there. Another one: refused, saying where it is.
    let engine = Engine::open_with_blobs(dir.path(), s3_store(&server, "s3://mail/node")).await.unwrap();
    assert_eq!(engine.message_bytes("ann@example.com", "INBOX", 1).await.unwrap(), msg);
    engine.close().await;
    for other in [Arc::new(FsBlobs::in_dir(dir.path())) as Arc<dyn Blobs>, s3_store(&server, "s3://mail/elsewhere")] {
        let e = Engine::open_with_blobs(dir.path(), other).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
        assert!(
            e.message.contains("keeps its mail in s3://mail/node") && e.message.contains("blobs migrate"),
            "{}",
            e.message
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrating_moves_every_blob_a_row_needs_or_switches_nothing() {
    let server = s3::S3Server::start();
    server.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    assert_eq!(engine.blob_location(), "local");
    organisation(&engine).await;
    let shared = b"Subject: to both\r\n\r\nhi\r\n".to_vec();
    engine.deliver("ann@example.com", &shared).await.unwrap();
    engine.deliver("bob@example.com", &shared).await.unwrap();
    engine.deliver("bob@example.com", b"Subject: bob's\r\n\r\nhi\r\n").await.unwrap();
    // Queued for sending: a large message has a blob, a small one lives in its queue row.
    let envelope = OutboundEnvelope { sender: "ann@example.com".into(), recipients: vec!["x@remote.test".into()] };
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(300 * 1024)).into_bytes();
    engine.queue_outbound("q:big", envelope.clone(), big.clone()).await.unwrap();
    engine.queue_outbound("q:small", envelope, b"Subject: small\r\n\r\n.\r\n".to_vec()).await.unwrap();
    assert!(files_in(dir.path()) > 0);

    // A bucket that does not exist: refused, and the data folder still uses its own files.
    let e = engine.migrate_blobs(s3_store(&server, "s3://absent")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}");
    assert!(e.message.contains("bucket does not exist"), "{}", e.message);
    assert_eq!(engine.blob_location(), "local");
    engine.close().await;
    let engine = Engine::open_with_blobs(dir.path(), Arc::new(FsBlobs::in_dir(dir.path()))).await.unwrap();

    // Into the bucket: three distinct blobs (the shared message once, bob's, the big queued one).
    let moved = engine.migrate_blobs(s3_store(&server, "s3://mail/moved")).await.unwrap();
    assert_eq!((moved.from.as_str(), moved.to.as_str(), moved.blobs), ("local", "s3://mail/moved", 3), "{moved:?}");
    assert_eq!(moved.bytes as usize, shared.len() + b"Subject: bob's\r\n\r\nhi\r\n".len() + big.len());
    assert_eq!(server.keys("mail").len(), 3);
    assert!(files_in(dir.path()) > 0, "the old files are left where they were");
    engine.close().await;

    // From now on the data folder is opened on the bucket; its own files are refused.
    let e = Engine::open_with_blobs(dir.path(), Arc::new(FsBlobs::in_dir(dir.path()))).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    let engine = Engine::open_with_blobs(dir.path(), s3_store(&server, "s3://mail/moved")).await.unwrap();
    assert_eq!(engine.message_bytes("bob@example.com", "INBOX", 1).await.unwrap(), shared);
    let jobs = engine.claim_outbound("test", i64::MAX / 2, 60, 10).await.unwrap();
    assert!(jobs.iter().any(|j| j.raw == big), "the queued message reads from the bucket");

    // And back into the data folder's own files, whichever files store is passed: `local`
    // is always the data folder's blobs folder, where it is looked for when opened again.
    let msg = b"Subject: while in the bucket\r\n\r\n.\r\n";
    engine.deliver("ann@example.com", msg).await.unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let back = engine.migrate_blobs(Arc::new(FsBlobs::in_dir(elsewhere.path()))).await.unwrap();
    assert_eq!((back.from.as_str(), back.to.as_str(), back.blobs), ("s3://mail/moved", "local", 4), "{back:?}");
    assert!(postdesk_blobs::list_all(&FsBlobs::in_dir(elsewhere.path())).await.unwrap().is_empty());
    engine.close().await;
    let engine = Engine::open(dir.path()).await.unwrap();
    assert_eq!(engine.blob_location(), "local");
    assert_eq!(engine.message_bytes("ann@example.com", "INBOX", 2).await.unwrap(), msg);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_file_stops_the_move_before_anything_is_switched() {
    let server = s3::S3Server::start();
    server.bucket("mail");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    organisation(&engine).await;
    let msg = b"Subject: lost\r\n\r\n.\r\n";
    engine.deliver("ann@example.com", msg).await.unwrap();
    let files = FsBlobs::in_dir(dir.path());
    let name = postdesk_blobs::list_all(&files).await.unwrap().remove(0);
    files.delete(&name).await.unwrap();
    let e = engine.migrate_blobs(s3_store(&server, "s3://mail")).await.unwrap_err();
    assert!(e.message.contains(&name) && e.message.contains("nothing was switched"), "{}", e.message);
    engine.close().await;
    let engine = Engine::open(dir.path()).await.unwrap();
    assert_eq!(engine.blob_location(), "local");
    engine.close().await;
}
