//! `postdesk secrets`: the relay, shared-mailbox and SMS-gateway secrets the nodes of one
//! PostgreSQL database keep sealed in it (`--secrets-key`, docs/DEPLOYMENT.md).

use std::path::Path;

use clap::Subcommand;
use postdesk_contract::{Error, Result};

use super::blobs::{Storage, open_engine, read_secrets_key};
use crate::output::print_one;

#[derive(Subcommand, Debug)]
pub enum SecretsCmd {
    /// Seal every secret in the database (--database) under the first key of the
    /// --secrets-key file, opening each with any key of the file, in one transaction: the
    /// step of changing the key after which the older keys may be taken out of every node's
    /// file. A secret that opens under none of the keys refuses the whole; nothing changes.
    Reseal,
}

pub async fn run(dir: &Path, storage: Storage<'_>, cmd: &SecretsCmd, json: bool) -> Result<()> {
    let SecretsCmd::Reseal = cmd;
    let (Some(_), Some(key_file)) = (storage.database, storage.secrets_key) else {
        return Err(Error::validation(
            "secrets reseal acts on the nodes' shared database: give --database and --secrets-key",
        ));
    };
    let keys = read_secrets_key(key_file)?;
    let engine = open_engine(dir, Storage { secrets_key: None, ..storage }).await?;
    let result = engine.reseal_secrets(&keys).await;
    engine.close().await;
    let done = result?;
    if !json {
        eprintln!(
            "every secret is now sealed under the first key of {}: the other keys may be taken out of each node's file",
            key_file.display()
        );
    }
    print_one(json, &serde_json::json!({ "secrets": done.secrets, "resealed": done.resealed }))
}
