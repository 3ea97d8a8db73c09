//! Where message bytes live. The engine keeps every message (and every queued message too
//! large to sit in its queue row) as a blob named by the SHA-256 of its bytes, behind the
//! [`Blobs`] trait:
//!
//! * [`FsBlobs`]: fsynced files in the data folder (`<data>/blobs`), for one node: the
//!   default, and what the desktop app uses;
//! * [`S3Blobs`]: an S3-compatible object store (`s3://bucket/prefix`), which several nodes
//!   can share.
//!
//! Either way [`Blobs::put`] returns only once the bytes are durable (the files fsynced and
//! renamed into place; the object store's PUT answered), so the engine acknowledges a
//! message only after its blob is safe. Blob names are checked here: 64 lower- or upper-case
//! hex digits, nothing else reaches a path or a key.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use bytes::Bytes;

mod fs;
mod s3;

pub use fs::FsBlobs;
pub use s3::{S3Blobs, S3Settings};

/// What went wrong with a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobErrorKind {
    /// No blob by that name.
    NotFound,
    /// The store could not be reached or refused (a full disk, a network error, a 5xx):
    /// worth trying again later.
    Unavailable,
    /// A setting or name that can never work.
    Invalid,
}

/// A blob store's error: its kind and a sentence naming the store and the blob.
#[derive(Debug, Clone)]
pub struct BlobError {
    pub kind: BlobErrorKind,
    pub message: String,
}

impl BlobError {
    pub fn not_found(message: impl Into<String>) -> BlobError {
        BlobError { kind: BlobErrorKind::NotFound, message: message.into() }
    }
    pub fn unavailable(message: impl Into<String>) -> BlobError {
        BlobError { kind: BlobErrorKind::Unavailable, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> BlobError {
        BlobError { kind: BlobErrorKind::Invalid, message: message.into() }
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BlobError {}

pub type Result<T> = std::result::Result<T, BlobError>;

/// A store of immutable, content-addressed blobs.
#[async_trait::async_trait]
pub trait Blobs: Send + Sync + fmt::Debug {
    /// Where the blobs are, as the data folder records it: [`LOCAL`] or `s3://bucket/prefix`.
    fn location(&self) -> String;
    /// Stores `bytes` under `name` (a no-op when it is there already); durable on return.
    async fn put(&self, name: &str, bytes: Bytes) -> Result<()>;
    /// The whole blob.
    async fn get(&self, name: &str) -> Result<Vec<u8>>;
    /// The first `limit` bytes of the blob (all of it when shorter): a message's header.
    async fn get_head(&self, name: &str, limit: u64) -> Result<Vec<u8>>;
    /// The blob's size, `None` when there is no such blob.
    async fn size(&self, name: &str) -> Result<Option<u64>>;
    /// Removes the blob; removing one that is not there is not an error.
    async fn delete(&self, name: &str) -> Result<()>;
    /// Every blob's name, as a stream (a store may hold millions: nobody has to hold them
    /// all at once).
    fn list(&self) -> futures::stream::BoxStream<'static, Result<String>>;
}

/// Every blob's name at once (small stores and tests).
pub async fn list_all(store: &dyn Blobs) -> Result<Vec<String>> {
    use futures::TryStreamExt;
    store.list().try_collect().await
}

/// The location of the data folder's own blob files.
pub const LOCAL: &str = "local";

/// Refuses anything but a blob name (the hex SHA-256 of its bytes).
pub fn check_name(name: &str) -> Result<()> {
    if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(BlobError::invalid(format!("'{name}' is not a blob name")))
    }
}

/// Opens the store at `location`: [`LOCAL`] (the `blobs` folder of `data_dir`) or
/// `s3://bucket[/prefix]`, whose endpoint and credentials come from the environment
/// ([`S3Settings::from_env`]).
pub fn open(location: &str, data_dir: &Path) -> Result<Arc<dyn Blobs>> {
    if location == LOCAL {
        return Ok(Arc::new(FsBlobs::in_dir(data_dir)));
    }
    if location.starts_with("s3://") {
        return Ok(Arc::new(S3Blobs::new(location, S3Settings::from_env())?));
    }
    Err(BlobError::invalid(format!(
        "'{location}' is not a blob store: use '{LOCAL}' (the data folder) or s3://bucket/prefix"
    )))
}
