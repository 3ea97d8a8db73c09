//! `postdesk blobs`: where the data folder's message blobs are, and moving them into an
//! S3-compatible object store (docs/ARCHITECTURE.md, "Storage").

use std::path::Path;
use std::sync::Arc;

use clap::Subcommand;
use postdesk_contract::{Error, Result};
use postdesk_engine::Engine;

use crate::output::print_one;

#[derive(Subcommand, Debug)]
pub enum BlobsCmd {
    /// Where the message blobs are: `local` (the data folder's blobs folder) or s3://….
    Where,
    /// Moves every message blob into another store (s3://bucket/prefix, endpoint and keys in
    /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), checks each
    /// arrived whole, then records it as the data folder's store. Stop the mail server
    /// (desktop app or `postdesk serve`) first. The old files are left in place.
    Migrate {
        /// The store to move to.
        #[arg(long, value_name = "LOCATION")]
        to: String,
    },
}

/// Where an engine keeps its data besides the data folder (the global options).
#[derive(Clone, Copy, Debug, Default)]
pub struct Storage<'a> {
    /// `--database`: a PostgreSQL address instead of the folder's SQLite file.
    pub database: Option<&'a str>,
    /// `--blobs`: where the message blobs are.
    pub blobs: Option<&'a str>,
    /// `--secrets-key`: the file of the key secrets are sealed with in the database.
    pub secrets_key: Option<&'a Path>,
}

/// Opens the data folder (its own SQLite database, or `database`: a PostgreSQL address) on
/// the blob store the database records, or on `blobs` when given; with `secrets_key`, its
/// secrets sealed in that database.
pub async fn open_engine(dir: &Path, storage: Storage<'_>) -> Result<Engine> {
    let Storage { database, blobs, secrets_key } = storage;
    let key = secrets_key.map(read_secrets_key).transpose()?;
    let engine = open_store(dir, database, blobs).await?;
    match key {
        Some(keys) => engine.with_sealed_secrets(&keys),
        None => Ok(engine),
    }
}

/// The most bytes a secrets key file is read for: its at most 8 keys, with room for comments.
const MAX_KEY_FILE: u64 = 16 * 1024;

/// The secrets keys in the file `path` (`--secrets-key`): the first seals, each opens.
pub fn read_secrets_key(path: &Path) -> Result<Vec<[u8; postdesk_engine::sealed::KEY_LEN]>> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| {
        Error::validation(format!("cannot read the secrets key {}: {e}", path.display())).with_field("secrets_key")
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_KEY_FILE + 1).read_to_string(&mut text))
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_KEY_FILE {
        return Err(Error::validation(format!(
            "the secrets key file {} is over {} KiB: it holds keys of 64 hexadecimal digits, one per line",
            path.display(),
            MAX_KEY_FILE / 1024
        ))
        .with_field("secrets_key"));
    }
    postdesk_engine::sealed::parse_keys(&text).map_err(|e| e.with_field("secrets_key"))
}

async fn open_store(dir: &Path, database: Option<&str>, blobs: Option<&str>) -> Result<Engine> {
    let store = match blobs {
        None => None,
        Some(location) => {
            Some(postdesk_blobs::open(location, dir).map_err(|e| Error::validation(e.message).with_field("blobs"))?)
        }
    };
    match (database, store) {
        (Some(url), store) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(Error::validation("--database takes a PostgreSQL address: postgres://user@host/database")
                    .with_field("database"));
            }
            Engine::open_postgres(dir, url, store).await
        }
        (None, None) => Engine::open(dir).await,
        (None, Some(store)) => Engine::open_with_blobs(dir, store).await,
    }
}

/// Refuses while a mail server runs on the data folder: it holds `spool.lock` (see the
/// mail server's `lock_spool`) and would go on writing to the old store.
pub(crate) fn lock_out_the_mail_server(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join("spool.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::internal(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::conflict(
            "a mail server is running on this data folder (the desktop app or `postdesk serve`): stop it first",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::internal(format!("cannot lock {}: {e}", path.display()))),
    }
}

pub async fn run(dir: &Path, storage: Storage<'_>, cmd: &BlobsCmd, json: bool) -> Result<()> {
    match cmd {
        BlobsCmd::Where => {
            let engine = open_engine(dir, storage).await?;
            let location = engine.blob_location();
            engine.close().await;
            print_one(json, &serde_json::json!({ "location": location }))
        }
        BlobsCmd::Migrate { to } => {
            let _lock = lock_out_the_mail_server(dir)?;
            let target: Arc<dyn postdesk_blobs::Blobs> =
                postdesk_blobs::open(to, dir).map_err(|e| Error::validation(e.message).with_field("to"))?;
            let engine = open_engine(dir, storage).await?;
            let moved = engine.migrate_blobs(target).await;
            engine.close().await;
            let moved = moved?;
            if !json {
                eprintln!(
                    "the old copies stay where they were ({}); remove them once you no longer need them",
                    moved.from
                );
            }
            print_one(json, &moved)
        }
    }
}
