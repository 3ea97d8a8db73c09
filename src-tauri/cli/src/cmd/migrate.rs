//! `postdesk migrate`: a SQLite data folder's organisation and mail into PostgreSQL (and its
//! message blobs into an object store), for running several `serve` nodes on them.

use std::path::Path;
use std::sync::Arc;

use postdesk_contract::{Error, Result};
use postdesk_engine::Engine;

use crate::output::print_one;

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The PostgreSQL database to fill (`postgres://user@host/db`): new or empty (no admin,
    /// domain or account); migrated first.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Move the message blobs to this object store first (`s3://bucket/prefix`): what
    /// several nodes share. Without it the blobs stay where the data folder keeps them.
    #[arg(long, value_name = "LOCATION")]
    pub blobs_to: Option<String>,
}

pub async fn run(dir: &Path, args: &MigrateArgs, secrets_key: Option<&Path>, json: bool) -> Result<()> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        return Err(
            Error::validation("--to takes a PostgreSQL address: postgres://user@host/database").with_field("to")
        );
    }
    let _lock = super::blobs::lock_out_the_mail_server(dir)?;
    if !dir.join(postdesk_engine::DATABASE_FILE).exists() {
        return Err(Error::not_found(format!("no Postdesk database in {}", dir.display())));
    }
    let key = secrets_key.map(super::blobs::read_secrets_key).transpose()?;
    let engine = Engine::open(dir).await?;
    let result = copy(&engine, dir, args).await;
    // The data folder's secrets, sealed under the nodes' key, once the rest is in.
    let secrets = match (&result, key) {
        (Ok(_), Some(key)) => engine.seal_secrets_into(&args.to, &key).await.map(Some),
        _ => Ok(None),
    };
    engine.close().await;
    let (blobs, tables) = result?;
    let secrets = secrets?;
    let rows: u64 = tables.iter().map(|(_, n)| n).sum();
    if !json {
        eprintln!(
            "copied {rows} rows of {} tables into PostgreSQL, each table counted equal on both sides; \
             the data folder's database is left as it was",
            tables.len()
        );
    }
    let tables: serde_json::Map<String, serde_json::Value> =
        tables.into_iter().map(|(t, n)| (t, serde_json::Value::from(n))).collect();
    if let (false, Some(n)) = (json, secrets) {
        eprintln!("sealed {n} secrets (relay and shared-mailbox passwords) into PostgreSQL under the secrets key");
    }
    print_one(json, &serde_json::json!({ "blobs": blobs, "rows": rows, "tables": tables, "secrets": secrets }))
}

/// Moves the blobs when asked, then copies the database; where the blobs are.
async fn copy(engine: &Engine, dir: &Path, args: &MigrateArgs) -> Result<(String, Vec<(String, u64)>)> {
    let blobs = match &args.blobs_to {
        Some(to) => {
            let target: Arc<dyn postdesk_blobs::Blobs> =
                postdesk_blobs::open(to, dir).map_err(|e| Error::validation(e.message).with_field("blobs_to"))?;
            engine.migrate_blobs(target).await?.to
        }
        None => engine.blob_location(),
    };
    let tables = engine.copy_to_postgres(&args.to).await?;
    Ok((blobs, tables))
}
