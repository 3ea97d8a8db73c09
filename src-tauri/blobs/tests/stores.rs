//! Both blob stores pass the same checks: the data folder's files and a real S3-compatible
//! server (moto, tests/support/s3.rs).

use std::sync::Arc;

use postdesk_blobs::{BlobErrorKind, Blobs, Bytes, FsBlobs, S3Blobs, S3Settings};

#[path = "support/s3.rs"]
mod s3;

fn name(bytes: &[u8]) -> String {
    use std::fmt::Write;
    // Any 64 hex digits name a blob; the engine uses the SHA-256 of the bytes. A cheap
    // stand-in here, distinct per content.
    let mut h: [u64; 4] = [0xcbf29ce484222325, 0x100000001b3, 0x9e3779b97f4a7c15, 0x2545f4914f6cdd1d];
    for (i, b) in bytes.iter().enumerate() {
        let k = i % 4;
        h[k] = (h[k] ^ u64::from(*b)).wrapping_mul(0x100000001b3).rotate_left(5);
    }
    h[0] ^= bytes.len() as u64;
    h.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:016x}");
        s
    })
}

fn settings(server: &s3::S3Server) -> S3Settings {
    S3Settings {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(s3::ACCESS_KEY.into()),
        secret_access_key: Some(s3::SECRET_KEY.into()),
    }
}

async fn conformance(store: Arc<dyn Blobs>) {
    let small = b"From: ann@example.com\r\nSubject: hello\r\n\r\nbody\r\n".to_vec();
    let big: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let (s, b) = (name(&small), name(&big));
    let missing = name(b"never stored");

    assert_eq!(store.size(&s).await.unwrap(), None);
    let e = store.get(&missing).await.unwrap_err();
    assert_eq!(e.kind, BlobErrorKind::NotFound, "{e}");
    assert!(e.message.contains(&missing), "the error names the blob: {e}");
    assert_eq!(store.get_head(&missing, 10).await.unwrap_err().kind, BlobErrorKind::NotFound);

    store.put(&s, Bytes::from(small.clone())).await.unwrap();
    store.put(&s, Bytes::from(small.clone())).await.unwrap(); // again: harmless
    store.put(&b, Bytes::from(big.clone())).await.unwrap();
    assert_eq!(store.get(&s).await.unwrap(), small);
    assert_eq!(store.get(&b).await.unwrap(), big);
    assert_eq!(store.size(&s).await.unwrap(), Some(small.len() as u64));
    assert_eq!(store.size(&b).await.unwrap(), Some(big.len() as u64));
    assert_eq!(store.get_head(&s, 10).await.unwrap(), &small[..10]);
    assert_eq!(store.get_head(&s, 10_000).await.unwrap(), small, "a head past the end is the whole blob");
    assert_eq!(store.get_head(&b, 4096).await.unwrap(), &big[..4096]);

    let mut listed = postdesk_blobs::list_all(store.as_ref()).await.unwrap();
    listed.sort();
    let mut both = vec![s.clone(), b.clone()];
    both.sort();
    assert_eq!(listed, both);

    store.delete(&b).await.unwrap();
    store.delete(&b).await.unwrap(); // gone already: not an error
    assert_eq!(store.size(&b).await.unwrap(), None);
    assert_eq!(postdesk_blobs::list_all(store.as_ref()).await.unwrap(), vec![s.clone()]);

    // Only blob names reach a path or a key.
    for bad in ["../../etc/passwd", "abc", &format!("{}/x", &s[..60]), &s[..63]] {
        let e = store.put(bad, Bytes::from_static(b"x")).await.unwrap_err();
        assert_eq!(e.kind, BlobErrorKind::Invalid, "{bad}: {e}");
        assert_eq!(store.get(bad).await.unwrap_err().kind, BlobErrorKind::Invalid);
    }
}

#[tokio::test]
async fn files_in_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobs::in_dir(dir.path());
    assert_eq!(store.location(), postdesk_blobs::LOCAL);
    conformance(Arc::new(store.clone())).await;
    // Blobs are files under blobs/<two hex digits>/, and nothing is left in tmp/.
    let only = postdesk_blobs::list_all(&store).await.unwrap().remove(0);
    assert!(dir.path().join("blobs").join(&only[..2]).join(&only).is_file());
    assert_eq!(std::fs::read_dir(dir.path().join("blobs/tmp")).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_in_an_s3_bucket_under_their_prefix() {
    let server = s3::S3Server::start();
    server.bucket("mail");
    let store = S3Blobs::new("s3://mail/node/blobs/", settings(&server)).unwrap();
    assert_eq!(store.location(), "s3://mail/node/blobs");
    conformance(Arc::new(store)).await;
    let keys = server.keys("mail");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("node/blobs/") && keys[0].len() == "node/blobs/".len() + 64, "{keys:?}");

    // Another prefix in the same bucket is another store.
    let other = S3Blobs::new("s3://mail/other", settings(&server)).unwrap();
    assert!(postdesk_blobs::list_all(&other).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_store_that_is_down_or_missing_its_bucket_fails_as_unavailable() {
    let server = s3::S3Server::start();
    // No bucket "absent": every call fails, and says which store.
    let store = S3Blobs::new("s3://absent/x", settings(&server)).unwrap();
    let n = name(b"a message");
    let e = store.put(&n, Bytes::from_static(b"a message")).await.unwrap_err();
    assert_eq!(e.kind, BlobErrorKind::Unavailable, "{e}");
    assert!(e.message.contains("s3://absent/x") && e.message.contains("bucket does not exist"), "{e}");

    // The server stops: calls fail (after the client's bounded retries), never hang.
    server.bucket("mail");
    let store = S3Blobs::new("s3://mail", settings(&server)).unwrap();
    store.put(&n, Bytes::from_static(b"a message")).await.unwrap();
    drop(server);
    let e = store.put(&name(b"another"), Bytes::from_static(b"another")).await.unwrap_err();
    assert_eq!(e.kind, BlobErrorKind::Unavailable, "{e}");
    let e = store.get(&n).await.unwrap_err();
    assert_eq!(e.kind, BlobErrorKind::Unavailable, "{e}");
}

#[tokio::test]
async fn a_temporary_store_goes_with_its_last_clone() {
    let store = FsBlobs::temporary();
    let n = name(b"x");
    store.put(&n, Bytes::from_static(b"x")).await.unwrap();
    let root = store.root().to_path_buf();
    assert!(root.is_dir());
    let clone = store.clone();
    drop(store);
    assert!(root.is_dir(), "a clone still uses it");
    drop(clone);
    assert!(!root.exists());
}
