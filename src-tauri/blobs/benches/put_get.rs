//! Blob store throughput: N messages of 4 KiB stored then read back, 8 at a time, in the
//! data folder's files (fsynced) and in moto's S3 server on loopback.
//!
//!   cargo bench -p postdesk-blobs --bench put_get [-- N]        (default 2000)
//!
//! moto is a Python test server: its figures bound what the S3 client costs here, not what
//! a production object store does.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use postdesk_blobs::{Blobs, Bytes, FsBlobs, S3Blobs, S3Settings};

#[path = "../tests/support/s3.rs"]
mod s3;

fn name(i: usize) -> String {
    format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15 + 1)
}

async fn run(label: &str, store: Arc<dyn Blobs>, n: usize) {
    let body: Bytes = Bytes::from(vec![b'x'; 4096]);
    let started = Instant::now();
    let mut puts = futures::stream::iter(0..n)
        .map(|i| {
            let (store, body) = (store.clone(), body.clone());
            async move { store.put(&name(i), body).await }
        })
        .buffer_unordered(8);
    while let Some(done) = puts.next().await {
        done.unwrap();
    }
    let put = started.elapsed();
    let started = Instant::now();
    let mut gets = futures::stream::iter(0..n)
        .map(|i| {
            let store = store.clone();
            async move { store.get(&name(i)).await }
        })
        .buffer_unordered(8);
    while let Some(done) = gets.next().await {
        assert_eq!(done.unwrap().len(), 4096);
    }
    let get = started.elapsed();
    println!(
        "{label}: {n} puts in {:.2} s ({:.0}/s), {n} gets in {:.2} s ({:.0}/s)",
        put.as_secs_f64(),
        n as f64 / put.as_secs_f64(),
        get.as_secs_f64(),
        n as f64 / get.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let n = std::env::args().skip(1).find_map(|a| a.parse::<usize>().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    run("files (fsync)", Arc::new(FsBlobs::in_dir(dir.path())), n).await;
    let server = s3::S3Server::start();
    server.bucket("bench");
    let settings = S3Settings {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(s3::ACCESS_KEY.into()),
        secret_access_key: Some(s3::SECRET_KEY.into()),
    };
    run("S3 (moto on loopback)", Arc::new(S3Blobs::new("s3://bench/b", settings).unwrap()), n).await;
}
