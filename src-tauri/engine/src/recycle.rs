//! The recycle bin (seed 004): a deleted account keeps its address and its mail for the
//! domain's retention period; within it the account can be restored once, or its mail
//! transferred into another mailbox; after it, [`Engine::purge_recycle_bin`] removes the
//! account, its extra addresses and its mail for good.
//!
//! Each deletion is one `recycle_bin` row. A restored row stays listed (so the admin sees
//! it was restored, and it cannot be restored twice) until it ages out itself.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

use super::accounts::{self, authorised, check_cap};
use super::audit::{self, Change};
use super::store::{self, check_room, ensure_folder, next_uid, used_bytes};
use super::{Engine, LocalBackend, domains, format_time, now, parse_time};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

/// The newest recycle-bin entry of an account.
struct Entry {
    id: i64,
    status_before: AccountStatus,
    deleted_at: String,
    restored_at: Option<String>,
    restored_by: Option<String>,
    transferred_to: Option<String>,
    transferred_at: Option<String>,
}

async fn latest_entry(conn: &mut SqliteConnection, account_id: i64) -> Result<Option<Entry>> {
    let row = sqlx::query(
        "SELECT id, status_before, deleted_at, restored_at, restored_by, transferred_to, transferred_at
         FROM recycle_bin WHERE account_id = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Entry {
        id: r.get("id"),
        status_before: AccountStatus::parse(r.get("status_before")).unwrap_or(AccountStatus::Active),
        deleted_at: r.get("deleted_at"),
        restored_at: r.get("restored_at"),
        restored_by: r.get("restored_by"),
        transferred_to: r.get("transferred_to"),
        transferred_at: r.get("transferred_at"),
    }))
}

/// When an entry deleted at `deleted_at` is purged.
fn purge_after(deleted_at: &str, retention_days: i64) -> Result<OffsetDateTime> {
    Ok(parse_time(deleted_at)? + time::Duration::days(retention_days))
}

async fn retention_days(conn: &mut SqliteConnection, domain: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT retention_days FROM domains WHERE name = ?").bind(domain).fetch_one(conn).await?)
}

pub(crate) async fn list(b: &LocalBackend, p: ListRecycleBin) -> Result<Vec<RecycledAccount>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain), false)?;
    let mut conn = b.engine.read().await?;
    super::domain_id(&mut conn, &domain).await?;
    let retention = retention_days(&mut conn, &domain).await?;
    let rows = sqlx::query(
        "SELECT e.id, e.account_id, a.address, a.display_name, a.status, e.deleted_at, e.deleted_by,
                e.restored_at, e.restored_by, e.transferred_to, e.transferred_at,
                (SELECT max(id) FROM recycle_bin WHERE account_id = a.id) AS latest
         FROM recycle_bin e JOIN accounts a ON a.id = e.account_id JOIN domains d ON d.id = a.domain_id
         WHERE d.name = ? ORDER BY e.deleted_at DESC, e.id DESC",
    )
    .bind(&domain)
    .fetch_all(&mut *conn)
    .await?;
    let usage: HashMap<i64, (i64, i64)> = sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT m.account_id, count(*), sum(m.size) FROM messages m JOIN accounts a ON a.id = m.account_id
         JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.status = 'deleted' GROUP BY m.account_id",
    )
    .bind(&domain)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, n, size)| (id, (n, size)))
    .collect();
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let deleted_at: String = r.get("deleted_at");
        let restored_at: Option<String> = r.get("restored_at");
        let in_bin = r.get::<String, _>("status") == AccountStatus::Deleted.as_str()
            && r.get::<i64, _>("id") == r.get::<i64, _>("latest")
            && restored_at.is_none();
        let (messages, size) = if in_bin { usage.get(&r.get("account_id")).copied().unwrap_or((0, 0)) } else { (0, 0) };
        let purge = purge_after(&deleted_at, retention)?;
        out.push(RecycledAccount {
            address: r.get("address"),
            display_name: r.get("display_name"),
            deleted_by: r.get("deleted_by"),
            purge_after: format_time(purge),
            messages: messages as u32,
            size_bytes: size as u64,
            restorable: in_bin && now < purge,
            restored_at,
            restored_by: r.get("restored_by"),
            transferred_to: r.get("transferred_to"),
            transferred_at: r.get("transferred_at"),
            deleted_at,
        });
    }
    Ok(out)
}

pub(crate) async fn restore(b: &LocalBackend, p: RestoreAccount) -> Result<Account> {
    let addr = authorised(b, &p.address, true)?;
    let mut tx = b.engine.write().await?;
    let (id, _, before) = accounts::load(&mut tx, &addr).await?;
    let entry = latest_entry(&mut tx, id).await?;
    if before.status != AccountStatus::Deleted {
        return Err(match entry.and_then(|e| Some((e.restored_at?, e.restored_by.unwrap_or_default()))) {
            Some((at, by)) => Error::conflict(format!(
                "{} was restored from the recycle bin at {at} by {by}; a restored account cannot be restored twice",
                before.address
            )),
            None => Error::conflict(format!("{} is not in the recycle bin", before.address)),
        });
    }
    let entry =
        entry.ok_or_else(|| Error::internal(format!("{} is deleted but not in the recycle bin", addr.full())))?;
    let purge = purge_after(&entry.deleted_at, retention_days(&mut tx, &addr.domain).await?)?;
    if OffsetDateTime::now_utc() >= purge {
        return Err(Error::conflict(format!(
            "{} stayed in the recycle bin past its retention ({}) and is being purged",
            before.address,
            format_time(purge)
        )));
    }
    check_cap(&domains::load(&mut tx, &addr.domain).await?, 1)?;
    let at = now();
    sqlx::query("UPDATE accounts SET status = ?, deleted_at = NULL, updated_at = ? WHERE id = ?")
        .bind(entry.status_before.as_str())
        .bind(&at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE recycle_bin SET restored_at = ?, restored_by = ? WHERE id = ?")
        .bind(&at)
        .bind(&b.caller.name)
        .bind(entry.id)
        .execute(&mut *tx)
        .await?;
    let (_, _, after) = accounts::load(&mut tx, &addr).await?;
    let change = Change { action: RestoreAccount::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn transfer(b: &LocalBackend, p: TransferMail) -> Result<TransferredMail> {
    let addr = authorised(b, &p.address, true)?;
    let to = validate::address(&p.to).map_err(|e| e.with_field("to"))?;
    b.caller.require(Page::Accounts, Some(&to.domain), true)?;
    if to == addr {
        return Err(Error::validation("the mail cannot be transferred to the account it belongs to").with_field("to"));
    }
    let mut tx = b.engine.write().await?;
    let (source_id, _, source) = accounts::load(&mut tx, &addr).await?;
    if source.status != AccountStatus::Deleted {
        return Err(Error::conflict(format!(
            "{} is not in the recycle bin; transferring mail is for deleted accounts",
            source.address
        )));
    }
    let entry = latest_entry(&mut tx, source_id)
        .await?
        .ok_or_else(|| Error::internal(format!("{} is deleted but not in the recycle bin", source.address)))?;
    if let (Some(to), Some(at)) = (&entry.transferred_to, &entry.transferred_at) {
        return Err(Error::conflict(format!("the mail of {} was already transferred to {to} at {at}", source.address)));
    }
    let (target_id, _, target) = accounts::load(&mut tx, &to).await.map_err(|e| e.with_field("to"))?;
    if target.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin too", target.address)).with_field("to"));
    }
    let messages: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT m.id, f.name, m.size FROM messages m JOIN folders f ON f.id = m.folder_id
         WHERE m.account_id = ? ORDER BY f.name, m.uid",
    )
    .bind(source_id)
    .fetch_all(&mut *tx)
    .await?;
    let size_bytes: u64 = messages.iter().map(|(_, _, s)| *s as u64).sum();
    check_room(&target.address, i64::from(target.quota_mb), used_bytes(&mut tx, target_id).await?, size_bytes)
        .map_err(|e| e.with_field("to"))?;
    let folder = format!("Transferred/{}", source.address);
    let mut folders: HashMap<String, i64> = HashMap::new();
    for (message, name, _) in &messages {
        let dest = match folders.get(name) {
            Some(id) => *id,
            None => {
                let id = ensure_folder(&mut tx, target_id, &format!("{folder}/{name}")).await?;
                folders.insert(name.clone(), id);
                id
            }
        };
        let uid = next_uid(&mut tx, dest).await?;
        sqlx::query("UPDATE messages SET account_id = ?, folder_id = ?, uid = ? WHERE id = ?")
            .bind(target_id)
            .bind(dest)
            .bind(uid)
            .bind(message)
            .execute(&mut *tx)
            .await?;
    }
    let at = now();
    sqlx::query("UPDATE recycle_bin SET transferred_to = ?, transferred_at = ? WHERE id = ?")
        .bind(&target.address)
        .bind(&at)
        .bind(entry.id)
        .execute(&mut *tx)
        .await?;
    let moved = TransferredMail {
        from: source.address.clone(),
        to: target.address.clone(),
        folder,
        messages: messages.len() as u32,
        size_bytes,
    };
    let change = Change { action: TransferMail::NAME, domain: Some(&addr.domain), target: &source.address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&moved)).await?;
    tx.commit().await?;
    Ok(moved)
}

/// A recycle-bin entry that may have aged out.
#[derive(sqlx::FromRow)]
struct PurgeCandidate {
    entry: i64,
    account: i64,
    address: String,
    domain: String,
    deleted_at: String,
    retention_days: i64,
    restored_at: Option<String>,
}

/// What a purge run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Accounts removed for good, with their mail.
    pub accounts: Vec<String>,
    /// Messages removed with them.
    pub messages: u32,
    /// Restored entries that aged out of the listing.
    pub expired_entries: u32,
}

/// Removes one deleted account for good, in its own transaction; returns its messages
/// and the blobs that may now be unreferenced (`None`: restored meanwhile, kept).
async fn purge_account(engine: &Engine, id: i64, address: &str, domain: &str) -> Result<Option<(u32, Vec<String>)>> {
    let mut tx = engine.write().await?;
    // Still deleted? (It may have been restored since the candidates were listed.)
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM accounts WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
    if status.as_deref() != Some(AccountStatus::Deleted.as_str()) {
        return Ok(None);
    }
    let (messages, size_bytes, hashes) = store::delete_messages(&mut tx, id).await?;
    sqlx::query("DELETE FROM folders WHERE account_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM pickup_rules WHERE account_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE domains SET catch_all_enabled = 0, catch_all_account_id = NULL WHERE catch_all_account_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut gone: Vec<String> = sqlx::query_scalar("SELECT address FROM account_aliases WHERE account_id = ?")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM account_aliases WHERE account_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM recycle_bin WHERE account_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM accounts WHERE id = ?").bind(id).execute(&mut *tx).await?;
    gone.push(address.to_string());
    let gone_json = serde_json::to_string(&gone)?;
    // Aliases and groups stop pointing at addresses that no longer exist.
    sqlx::query("DELETE FROM alias_targets WHERE target IN (SELECT value FROM json_each(?))")
        .bind(&gone_json)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM group_members WHERE member IN (SELECT value FROM json_each(?))")
        .bind(&gone_json)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM addresses WHERE address IN (SELECT value FROM json_each(?))")
        .bind(&gone_json)
        .execute(&mut *tx)
        .await?;
    let change = Change { action: "purge_account", domain: Some(domain), target: address };
    let before = serde_json::json!({ "addresses": gone, "messages": messages, "size_bytes": size_bytes });
    audit::record::<_, ()>(&mut tx, "system", change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(Some((messages, hashes)))
}

impl Engine {
    /// Purges every deleted account whose retention ran out by `now` (with its mail and
    /// extra addresses), and drops restored entries that aged out. Each account goes in its
    /// own transaction, audited as `system`. Taking `now` lets tests purge deterministically.
    pub async fn purge_recycle_bin(&self, now: OffsetDateTime) -> Result<Purged> {
        let rows: Vec<PurgeCandidate> = sqlx::query_as(
            "SELECT e.id AS entry, a.id AS account, a.address, d.name AS domain, e.deleted_at, d.retention_days,
                    e.restored_at
             FROM recycle_bin e JOIN accounts a ON a.id = e.account_id JOIN domains d ON d.id = a.domain_id
             WHERE (a.status = 'deleted' AND e.id = (SELECT max(id) FROM recycle_bin WHERE account_id = a.id))
                OR e.restored_at IS NOT NULL",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        let mut purged = Purged::default();
        let mut expired = Vec::new();
        let mut hashes = Vec::new();
        for c in rows {
            let expiry = match &c.restored_at {
                Some(restored_at) => parse_time(restored_at)? + time::Duration::days(c.retention_days),
                None => purge_after(&c.deleted_at, c.retention_days)?,
            };
            if expiry > now {
                continue;
            }
            if c.restored_at.is_some() {
                expired.push(c.entry);
            } else if let Some((messages, gone)) = purge_account(self, c.account, &c.address, &c.domain).await? {
                purged.accounts.push(c.address);
                purged.messages += messages;
                hashes.extend(gone);
            }
        }
        if !expired.is_empty() {
            let mut tx = self.write().await?;
            sqlx::query("DELETE FROM recycle_bin WHERE id IN (SELECT value FROM json_each(?))")
                .bind(serde_json::to_string(&expired)?)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            purged.expired_entries = expired.len() as u32;
        }
        hashes.sort();
        hashes.dedup();
        self.collect_blobs(hashes).await?;
        Ok(purged)
    }

    /// Runs [`Engine::purge_recycle_bin`] now and then every `every`, and sweeps blob
    /// files a crash left behind once at the start; stops when the runtime does.
    pub fn spawn_recycle_bin_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.sweep_blobs().await {
                tracing::warn!("sweeping the mail store failed: {}", e.message);
            }
            loop {
                match engine.purge_recycle_bin(OffsetDateTime::now_utc()).await {
                    Ok(p) if !p.accounts.is_empty() => {
                        tracing::info!("recycle bin: purged {} accounts ({} messages)", p.accounts.len(), p.messages)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("purging the recycle bin failed: {}", e.message),
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}
