//! Where a data folder's message blobs are, and moving them.
//!
//! The database records the store (`blob_location`: `local` or `s3://bucket/prefix`), so
//! every program that opens the data folder (the desktop app, `postdesk serve`, the CLI)
//! reads and writes mail in the same place without being told. Opening it with another
//! store is refused once it holds mail: mail would be looked for where it is not, and new
//! mail written where the rest is not. [`Engine::migrate_blobs`] moves every blob a row
//! needs, checks each arrived whole, and only then records the new store.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use postdesk_blobs::{Blobs, Bytes, LOCAL};
use serde::Serialize;

use crate::store::BlobStore;
use crate::{Engine, Error, Result, sql};

/// Blobs copied at once while moving.
const MIGRATE_CONCURRENCY: usize = 8;

/// How a location reads in a message.
fn describe(location: &str, data_dir: &Path) -> String {
    if location == LOCAL {
        format!("the data folder's own blobs folder ({})", data_dir.join("blobs").display())
    } else {
        location.to_string()
    }
}

fn unusable(location: &str, e: postdesk_blobs::BlobError) -> Error {
    Error::unavailable(format!("this data folder keeps its mail in {location}, which cannot be used: {e}"))
}

/// The store the data folder records (its own files when none is recorded).
pub(crate) async fn recorded(engine: &Engine, data_dir: &Path) -> Result<BlobStore> {
    let location = sql::blob_location::get(&mut *engine.read().await?).await?;
    let location = location.unwrap_or_else(|| LOCAL.to_string());
    let blobs = postdesk_blobs::open(&location, data_dir).map_err(|e| unusable(&location, e))?;
    Ok(BlobStore::new(blobs))
}

/// `local` always means the data folder's own `blobs` folder, whatever files store was
/// passed: the location recorded must find the same files when the folder is opened again.
fn as_recorded(data_dir: &Path, blobs: Arc<dyn Blobs>) -> Arc<dyn Blobs> {
    if blobs.location() == LOCAL { Arc::new(postdesk_blobs::FsBlobs::in_dir(data_dir)) } else { blobs }
}

/// Records `blobs` as the data folder's store, unless it holds mail kept elsewhere.
pub(crate) async fn adopt(engine: &Engine, data_dir: &Path, blobs: Arc<dyn Blobs>) -> Result<BlobStore> {
    let blobs = as_recorded(data_dir, blobs);
    let wanted = blobs.location();
    let mut tx = engine.write().await?;
    let recorded = sql::blob_location::get(&mut tx).await?;
    let current = recorded.clone().unwrap_or_else(|| LOCAL.to_string());
    if current != wanted && !sql::blob_location::referenced(&mut tx).await?.is_empty() {
        return Err(Error::conflict(format!(
            "this data folder keeps its mail in {}, not {}: move it there first with \
             `postdesk blobs migrate --to {wanted}` (with the mail server stopped), or open it without --blobs",
            describe(&current, data_dir),
            describe(&wanted, data_dir),
        )));
    }
    if recorded.as_deref() != Some(wanted.as_str()) {
        sql::blob_location::set(&mut tx, &wanted, &crate::now()).await?;
    }
    tx.commit().await?;
    if current != wanted {
        tracing::info!(from = %current, to = %wanted, "this data folder's (empty) blob store is now {wanted}");
    }
    Ok(BlobStore::new(blobs))
}

/// What [`Engine::migrate_blobs`] moved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobMigration {
    /// The store the blobs were in (they are left there).
    pub from: String,
    /// The store now recorded.
    pub to: String,
    /// Blobs the rows need, each copied and found whole (its recorded size) in `to`.
    pub blobs: u64,
    /// Their total size.
    pub bytes: u64,
}

impl Engine {
    /// Moves every blob the data folder's rows need into `to` (`local`: the data folder's
    /// own blobs folder, whichever files store is passed), checks that each is there
    /// with the size its row records, and records `to` as the data folder's store. The
    /// write lock is held throughout, so nothing is delivered meanwhile; the mail server
    /// must nevertheless be stopped (a running one would keep writing to the old store).
    /// The old store's blobs are left where they were. On any error nothing is recorded:
    /// the data folder still uses the old store, whole.
    pub async fn migrate_blobs(&self, to: Arc<dyn Blobs>) -> Result<BlobMigration> {
        let data_dir = self.data_dir().ok_or_else(|| Error::validation("an in-memory engine has no data folder"))?;
        let to = as_recorded(data_dir, to);
        let (from, target) = (self.blobs.location(), to.location());
        if from == target {
            return Err(Error::validation(format!("the mail is in {target} already")));
        }
        let mut tx = self.write().await?;
        let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
        for (hash, size) in sql::blob_location::referenced(&mut tx).await? {
            wanted.insert(hash, size);
        }
        let source = &self.blobs;
        let target_store = BlobStore::new(to.clone());
        let target_ref = &target_store;
        let (from_ref, target_name) = (&from, &target);
        let mut copies = futures::stream::iter(wanted.iter())
            .map(|(hash, size)| async move {
                let bytes = match source.read(hash).await {
                    Ok(bytes) => bytes,
                    Err(e) if source.exists(hash).await == Ok(false) => {
                        return Err(Error::not_found(format!(
                            "message {hash} is missing from {from_ref}, so it cannot be moved ({e}); nothing was switched"
                        )));
                    }
                    Err(e) => return Err(e),
                };
                if bytes.len() as i64 != *size {
                    return Err(Error::internal(format!(
                        "message {hash} in {from_ref} has {} bytes where its row records {size}; nothing was switched",
                        bytes.len()
                    )));
                }
                target_ref.write(hash, Bytes::from(bytes)).await?;
                match target_ref.size(hash).await? {
                    Some(n) if n as i64 == *size => Ok(n),
                    found => Err(Error::unavailable(format!(
                        "message {hash} did not arrive whole in {target_name} ({found:?} bytes of {size}); nothing was switched"
                    ))),
                }
            })
            .buffer_unordered(MIGRATE_CONCURRENCY);
        let (mut blobs, mut bytes) = (0u64, 0u64);
        while let Some(copied) = copies.next().await {
            bytes += copied?;
            blobs += 1;
        }
        drop(copies);
        if blobs != wanted.len() as u64 {
            return Err(Error::internal(format!("{blobs} of {} messages moved; nothing was switched", wanted.len())));
        }
        sql::blob_location::set(&mut tx, &target, &crate::now()).await?;
        tx.commit().await?;
        tracing::info!(%from, to = %target, blobs, bytes, "message blobs moved");
        Ok(BlobMigration { from, to: target, blobs, bytes })
    }

    /// Where this engine's message blobs are (`local` or `s3://…`).
    pub fn blob_location(&self) -> String {
        self.blobs.location()
    }
}
