//! The recycle bin: a deleted account keeps its address and its mail for the
//! domain's retention period; within it the account can be restored once, or its mail
//! transferred into another mailbox; after it, [`Engine::purge_recycle_bin`] removes the
//! account, its extra addresses and its mail for good.
//!
//! Each deletion is one `recycle_bin` row. A restored row stays listed (so the admin sees
//! it was restored, and it cannot be restored twice) until it ages out itself.

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::accounts::{self, authorised, check_cap};
use super::audit::{self, Change};
use super::store::{self, check_room, ensure_folder, next_uid, used_bytes};
use super::{Engine, EngineBackend, domains, format_time, now, parse_time};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::sql::{self, Conn};
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

async fn latest_entry(conn: &mut Conn, account_id: i64) -> Result<Option<Entry>> {
    let row = sql::recycle::latest_entry(conn, account_id).await?;
    Ok(row.map(|r| Entry {
        id: r.id,
        status_before: AccountStatus::parse(&r.status_before).unwrap_or(AccountStatus::Active),
        deleted_at: r.deleted_at,
        restored_at: r.restored_at,
        restored_by: r.restored_by,
        transferred_to: r.transferred_to,
        transferred_at: r.transferred_at,
    }))
}

/// How often `serve` and the desktop app sweep the recycle bin: hourly.
pub const RECYCLE_BIN_SWEEP: Duration = Duration::from_secs(3600);

/// The system's clock, for [`Engine::spawn_recycle_bin_purger`] outside tests.
pub fn system_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// When an entry deleted at `deleted_at` is purged.
fn purge_after(deleted_at: &str, retention_days: i64) -> Result<OffsetDateTime> {
    Ok(parse_time(deleted_at)? + time::Duration::days(retention_days))
}

pub(crate) async fn list(b: &EngineBackend, p: ListRecycleBin) -> Result<CursorPage<RecycledAccount>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    // The cursor is `<deleted_at> <entry id>` of the page's last entry.
    let after = match pair_cursor(p.after.as_deref())? {
        None => None,
        Some((at, id)) => Some((at, id_cursor(Some(&id))?.unwrap_or_default())),
    };
    let mut conn = b.engine.read().await?;
    super::domain_id(&mut conn, &domain).await?;
    let retention = sql::recycle::retention_days(&mut conn, &domain).await?;
    let after = after.as_ref().map(|(at, id)| (at.as_str(), *id));
    let mut rows = sql::recycle::entries(&mut conn, &domain, after, limit + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{} {}", r.deleted_at, r.id))
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.account_id).collect();
    let usage = sql::recycle::usage(&mut conn, &serde_json::to_string(&ids)?).await?;
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let deleted_at = r.deleted_at;
        let restored_at = r.restored_at;
        let in_bin = r.status == AccountStatus::Deleted.as_str() && r.id == r.latest && restored_at.is_none();
        let (messages, size) = if in_bin { usage.get(&r.account_id).copied().unwrap_or((0, 0)) } else { (0, 0) };
        let purge = purge_after(&deleted_at, retention)?;
        out.push(RecycledAccount {
            address: r.address,
            display_name: r.display_name,
            deleted_by: r.deleted_by,
            purge_after: format_time(purge),
            messages: messages as u32,
            size_bytes: size as u64,
            restorable: in_bin && now < purge,
            restored_at,
            restored_by: r.restored_by,
            transferred_to: r.transferred_to,
            transferred_at: r.transferred_at,
            deleted_at,
        });
    }
    Ok(CursorPage { items: out, next })
}

pub(crate) async fn restore(b: &EngineBackend, p: RestoreAccount) -> Result<Account> {
    let addr = authorised(b, &p.address)?;
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
    let purge = purge_after(&entry.deleted_at, sql::recycle::retention_days(&mut tx, &addr.domain).await?)?;
    if OffsetDateTime::now_utc() >= purge {
        return Err(Error::conflict(format!(
            "{} stayed in the recycle bin past its retention ({}) and is being purged",
            before.address,
            format_time(purge)
        )));
    }
    check_cap(&domains::load(&mut tx, &addr.domain).await?, 1)?;
    let at = now();
    sql::recycle::restore_account(&mut tx, id, entry.status_before, &at).await?;
    sql::recycle::mark_restored(&mut tx, entry.id, &at, &b.caller.name).await?;
    let (_, _, after) = accounts::load(&mut tx, &addr).await?;
    let change = Change { action: RestoreAccount::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn transfer(b: &EngineBackend, p: TransferMail) -> Result<TransferredMail> {
    let addr = authorised(b, &p.address)?;
    let to = validate::address(&p.to).map_err(|e| e.with_field("to"))?;
    b.caller.require(Page::Accounts, Some(&to.domain))?;
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
    let messages = sql::recycle::messages(&mut tx, source_id).await?;
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
        sql::recycle::move_message(&mut tx, *message, target_id, dest, uid).await?;
    }
    let at = now();
    sql::recycle::mark_transferred(&mut tx, entry.id, &target.address, &at).await?;
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
    let status = sql::accounts::status_by_id(&mut tx, id).await?;
    if status.as_deref() != Some(AccountStatus::Deleted.as_str()) {
        return Ok(None);
    }
    let (messages, size_bytes, hashes) = store::delete_messages(&mut tx, id).await?;
    let gone = sql::recycle::forget_account(&mut tx, id, address).await?;
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
        let rows = sql::recycle::purge_candidates(&mut *self.read().await?).await?;
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
            sql::recycle::delete_entries(&mut tx, &expired).await?;
            tx.commit().await?;
            purged.expired_entries = expired.len() as u32;
        }
        hashes.sort();
        hashes.dedup();
        self.collect_blobs(hashes).await?;
        Ok(purged)
    }

    /// Runs [`Engine::purge_recycle_bin`] (and [`Engine::purge_trace`]) now and then every `every` (`serve` and the app:
    /// [`RECYCLE_BIN_SWEEP`]), with `clock` telling the time (theirs: the system's; tests
    /// inject one), and sweeps blob files a crash left behind once at the start; stops when
    /// the runtime does.
    pub fn spawn_recycle_bin_purger<C>(&self, every: Duration, clock: C) -> tokio::task::JoinHandle<()>
    where
        C: Fn() -> OffsetDateTime + Send + 'static,
    {
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.sweep_blobs().await {
                tracing::warn!("sweeping the mail store failed: {}", e.message);
            }
            loop {
                match engine.purge_recycle_bin(clock()).await {
                    Ok(p) if !p.accounts.is_empty() => {
                        tracing::info!("recycle bin: purged {} accounts ({} messages)", p.accounts.len(), p.messages)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("purging the recycle bin failed: {}", e.message),
                }
                match engine.purge_trace(clock()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("message trace: removed {n} records past their retention"),
                    Err(e) => tracing::warn!("purging the message trace failed: {}", e.message),
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}
