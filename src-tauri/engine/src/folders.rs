//! The folder, message and flag operations of the mail store, shaped for the IMAP and
//! POP3 servers ([`MailStore`](postdesk_contract::mail::MailStore)): list, create, rename
//! and delete folders; list, append, flag, copy and expunge messages.
//!
//! Rules (the SQL is in `sql::folders`, the blob store and the quota check in `store`):
//! * UIDs only grow: a new message takes the folder's `uidnext`, which is never lowered, so
//!   an expunged UID is never handed out again;
//! * UIDVALIDITY stays for as long as a folder exists under its name (a rename keeps it);
//!   a folder created again under a name gets a different one, even within the same
//!   second (see migration 20261203000000);
//! * the standard folders always exist: they are created on first use and cannot be
//!   deleted; renaming INBOX moves its messages out and leaves it in place, empty (RFC 9051
//!   §6.3.6), and renaming another one is a rename after which a new, empty one takes the
//!   name;
//! * a blob is written and synced before the transaction that adds a row for it, and
//!   checked again under the write lock; blobs a commit may have orphaned are collected
//!   after it;
//! * flags are stored in a canonical order (system flags, then keywords), so equal sets
//!   compare equal as strings; `\Recent` is a session flag and never stored.

use postdesk_contract::mail::{
    Delivered, FlagChange, FlagsStored, FolderState, MailboxChange, Quota, STANDARD_FOLDERS, StoredMessage,
};

use crate::model::AccountStatus;
use crate::sql::folders::{self as db, Account, Message};
use crate::sql::store::uidvalidity;
use crate::sql::{Conn, Read, Tx};
use crate::store::{BlobStore, check_room, ensure_folder, next_uid, used_bytes};
use crate::{Engine, Error, Result, validate};

/// The hierarchy separator of folder names (`Archive/2026`), as transfers already use it.
const SEPARATOR: char = '/';

/// The longest folder name, in bytes.
const MAX_FOLDER_NAME: usize = 255;

/// The longest keyword, in bytes.
const MAX_KEYWORD: usize = 255;

/// The most keywords one message keeps, so a client cannot grow a message's flags (read
/// with every listing) without bound.
const MAX_KEYWORDS: usize = 64;

/// The most folders one mailbox has, and the most names it subscribes to.
const MAX_FOLDERS: i64 = 1000;

/// The IMAP system flags that are stored, in their stored order (RFC 9051 §2.3.2).
const SYSTEM_FLAGS: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

/// A message's flags: which system flags are set, and the keywords in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Flags {
    system: [bool; SYSTEM_FLAGS.len()],
    keywords: Vec<String>,
}

impl Flags {
    /// Flags as stored. Lenient: whatever is not a flag (an older writer's leftovers) is
    /// dropped rather than failing a read.
    fn parse_stored(stored: &str) -> Flags {
        let mut flags = Flags::default();
        for flag in stored.split_whitespace() {
            let _ = flags.insert(flag);
        }
        flags
    }

    /// Flags a client asked for. Strict, so a malformed flag is refused instead of being
    /// stored where every later read would drop it.
    fn requested(given: &[String]) -> Result<Flags> {
        let mut flags = Flags::default();
        for flag in given {
            flags.insert(flag)?;
        }
        Ok(flags)
    }

    fn insert(&mut self, flag: &str) -> Result<()> {
        if let Some(name) = flag.strip_prefix('\\') {
            if name.eq_ignore_ascii_case("Recent") {
                return Ok(());
            }
            let Some(i) = SYSTEM_FLAGS.iter().position(|f| f[1..].eq_ignore_ascii_case(name)) else {
                return Err(Error::validation(format!("'{flag}' is not an IMAP system flag")).with_field("flags"));
            };
            self.system[i] = true;
            return Ok(());
        }
        let atom_special = |c: char| matches!(c, '(' | ')' | '{' | '%' | '*' | '"' | '\\' | ']');
        if flag.is_empty()
            || flag.len() > MAX_KEYWORD
            || !flag.chars().all(|c| c.is_ascii_graphic() && !atom_special(c))
        {
            return Err(Error::validation(format!("'{flag}' is not an IMAP keyword")).with_field("flags"));
        }
        if !self.keywords.iter().any(|k| k == flag) {
            self.keywords.push(flag.to_string());
        }
        self.within_limit()
    }

    fn within_limit(&self) -> Result<()> {
        if self.keywords.len() > MAX_KEYWORDS {
            return Err(
                Error::limit_exceeded(format!("a message keeps at most {MAX_KEYWORDS} keywords")).with_field("flags")
            );
        }
        Ok(())
    }

    fn deleted(&self) -> bool {
        SYSTEM_FLAGS.iter().zip(self.system).any(|(f, set)| set && *f == "\\Deleted")
    }

    fn change(&mut self, change: FlagChange, given: &Flags) {
        match change {
            FlagChange::Replace => *self = given.clone(),
            FlagChange::Add => {
                for (mine, theirs) in self.system.iter_mut().zip(given.system) {
                    *mine |= theirs;
                }
                for k in &given.keywords {
                    if !self.keywords.contains(k) {
                        self.keywords.push(k.clone());
                    }
                }
            }
            FlagChange::Remove => {
                for (mine, theirs) in self.system.iter_mut().zip(given.system) {
                    *mine &= !theirs;
                }
                self.keywords.retain(|k| !given.keywords.contains(k));
            }
        }
    }

    fn list(&self) -> Vec<String> {
        let system = SYSTEM_FLAGS.iter().zip(self.system).filter(|(_, set)| *set).map(|(f, _)| f.to_string());
        system.chain(self.keywords.iter().cloned()).collect()
    }

    fn stored(&self) -> String {
        self.list().join(" ")
    }
}

/// The canonical address of an account, as the store's rows name it.
fn account_address(account: &str) -> Result<String> {
    Ok(validate::address(account).map_err(|e| e.with_field("account"))?.full())
}

/// A folder name as stored: `INBOX` in any case is the INBOX (RFC 9051 §5.1); every other
/// name is case-sensitive.
fn folder_name(name: &str, field: &str) -> Result<String> {
    if name.trim().is_empty() {
        return Err(Error::validation("a folder name cannot be empty").with_field(field));
    }
    if name.len() > MAX_FOLDER_NAME {
        return Err(Error::validation(format!("the folder name '{name}' is longer than {MAX_FOLDER_NAME} bytes"))
            .with_field(field));
    }
    if name.chars().any(char::is_control) {
        return Err(
            Error::validation(format!("the folder name {name:?} contains control characters")).with_field(field)
        );
    }
    Ok(if name.eq_ignore_ascii_case("INBOX") { "INBOX".to_string() } else { name.to_string() })
}

fn is_standard(name: &str) -> bool {
    STANDARD_FOLDERS.contains(&name)
}

async fn load_account(conn: &mut Conn, address: &str) -> Result<Account> {
    db::account(conn, address)
        .await?
        .ok_or_else(|| Error::not_found(format!("account {address} does not exist")).with_field("account"))
}

/// Storing into a mailbox is for its owner's client, so only accounts that may log in
/// (or are merely locked out for now) take messages, as delivery decides.
fn may_store(account: &Account, address: &str) -> Result<()> {
    if matches!(AccountStatus::parse(&account.status), Some(AccountStatus::Active | AccountStatus::Locked)) {
        Ok(())
    } else {
        Err(Error::conflict(format!("{address} is {} and no messages can be stored in it", account.status))
            .with_field("account"))
    }
}

/// The folder `name` in a write transaction; a standard folder is created if it was not
/// yet (the standard folders are never "not found").
async fn locate(tx: &mut Tx, account_id: i64, address: &str, name: &str, field: &str) -> Result<db::Folder> {
    if is_standard(name) {
        ensure_folder(tx, account_id, name).await?;
    }
    db::by_name(tx, account_id, name)
        .await?
        .ok_or_else(|| Error::not_found(format!("{address} has no folder {name}")).with_field(field))
}

/// A UIDVALIDITY for a folder created now: the clock, unless that is not past what a
/// folder of this account gave up (`retired`; a client may still cache UIDs under it).
fn fresh_uidvalidity(retired: i64) -> i64 {
    let now = uidvalidity();
    if now > retired { now } else { (retired + 1).min(i64::from(u32::MAX)) }
}

fn stored_message(m: &Message) -> StoredMessage {
    StoredMessage {
        uid: m.uid as u32,
        size: m.size as u64,
        received_at: m.received_at.clone(),
        flags: Flags::parse_stored(&m.flags).list(),
        modseq: m.modseq as u64,
    }
}

impl Engine {
    /// Tells the IMAP sessions that a folder of `account` changed (after the commit).
    pub(crate) async fn mail_changed(&self, account: &str, folder: Option<&str>) {
        self.mailboxes_changed(&[(account, folder)]).await;
    }

    /// Tells the IMAP sessions, of this node and the others, that these folders (`None`: the
    /// folder list of the account) changed (after the commit).
    pub(crate) async fn mailboxes_changed(&self, changes: &[(&str, Option<&str>)]) {
        let mut notices = Vec::with_capacity(changes.len());
        for &(account, folder) in changes {
            let change = MailboxChange { account: account.to_string(), folder: folder.map(str::to_string) };
            let _ = self.mail_changes.send(change);
            notices.push(serde_json::json!({ "account": account, "folder": folder }).to_string());
        }
        self.announce(crate::sql::notify::MAIL, &notices).await;
    }

    /// A receiver of the mailbox changes committed from now on.
    pub(crate) fn watch_mailboxes(&self) -> tokio::sync::broadcast::Receiver<MailboxChange> {
        self.mail_changes.subscribe()
    }
}

/// The standard folders first (in their order), then the rest by name, as a client shows
/// them.
fn display_order(mut folders: Vec<FolderState>) -> Vec<FolderState> {
    let rank = |name: &str| STANDARD_FOLDERS.iter().position(|s| *s == name).unwrap_or(STANDARD_FOLDERS.len());
    folders.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then_with(|| a.name.cmp(&b.name)));
    folders
}

pub(crate) async fn folders(engine: &Engine, account: &str) -> Result<Vec<FolderState>> {
    let address = account_address(account)?;
    let mut conn: Read = engine.read().await?;
    let id = load_account(&mut conn, &address).await?.id;
    let mut states = db::states(&mut conn, id).await?;
    if STANDARD_FOLDERS.iter().any(|s| !states.iter().any(|f| f.name == *s)) {
        // First use: the standard folders get their UIDVALIDITY now, once, so a client
        // sees the same values on every listing. (The one read connection of an in-memory
        // engine must go back before the write.)
        drop(conn);
        let mut tx = engine.write().await?;
        for name in STANDARD_FOLDERS {
            ensure_folder(&mut tx, id, name).await?;
        }
        states = db::states(&mut tx, id).await?;
        tx.commit().await?;
    }
    Ok(display_order(states))
}

pub(crate) async fn create_folder(engine: &Engine, account: &str, name: &str) -> Result<FolderState> {
    let address = account_address(account)?;
    let name = folder_name(name, "name")?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    // The standard folders exist before any other, so creating one of them is a conflict.
    ensure_folder(&mut tx, account.id, "INBOX").await?;
    if db::by_name(&mut tx, account.id, &name).await?.is_some() {
        return Err(Error::conflict(format!("{address} already has a folder {name}")).with_field("name"));
    }
    if db::folder_count(&mut tx, account.id).await? >= MAX_FOLDERS {
        return Err(Error::limit_exceeded(format!("a mailbox has at most {MAX_FOLDERS} folders")).with_field("name"));
    }
    let id = db::insert(&mut tx, account.id, &name, fresh_uidvalidity(account.retired_uidvalidity), 1).await?;
    let state = db::state_of(&mut tx, id).await?;
    tx.commit().await?;
    engine.mail_changed(&address, None).await;
    Ok(state)
}

pub(crate) async fn rename_folder(engine: &Engine, account: &str, from: &str, to: &str) -> Result<FolderState> {
    let address = account_address(account)?;
    let from = folder_name(from, "from")?;
    let to = folder_name(to, "to")?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    let source = locate(&mut tx, account.id, &address, &from, "from").await?;
    if db::by_name(&mut tx, account.id, &to).await?.is_some() || is_standard(&to) {
        return Err(Error::conflict(format!("{address} already has a folder {to}")).with_field("to"));
    }

    let renamed = if from == "INBOX" {
        // INBOX stays where it is (keeping its UIDVALIDITY and uidnext, so no UID is handed
        // out twice); its messages move, UIDs and all, into a new folder (RFC 9051 §6.3.6).
        let uidvalidity = fresh_uidvalidity(account.retired_uidvalidity);
        let id = db::insert(&mut tx, account.id, &to, uidvalidity, source.uidnext).await?;
        db::move_messages(&mut tx, source.id, id).await?;
        id
    } else {
        // Inferior names move along (RFC 9051 §6.3.6): `A/x` becomes `B/x`.
        let prefix = format!("{from}{SEPARATOR}");
        let children = db::under(&mut tx, account.id, &prefix).await?;
        let mut moves = vec![(source.clone(), to.clone())];
        for child in children {
            let target = folder_name(&format!("{to}{SEPARATOR}{}", &child.name[prefix.len()..]), "to")?;
            if db::by_name(&mut tx, account.id, &target).await?.is_some() {
                return Err(Error::conflict(format!(
                    "{address} already has a folder {target} (where {} would go)",
                    child.name
                ))
                .with_field("to"));
            }
            moves.push((child, target));
        }
        let mut retired = account.retired_uidvalidity;
        for (folder, target) in &moves {
            db::rename(&mut tx, folder.id, target).await?;
            // The old name may be created again; it must then get another UIDVALIDITY.
            db::retire_uidvalidity(&mut tx, account.id, folder.uidvalidity).await?;
            retired = retired.max(folder.uidvalidity);
        }
        if is_standard(&from) {
            // Every mailbox keeps its standard folders: a new, empty one takes the name.
            db::insert(&mut tx, account.id, &from, fresh_uidvalidity(retired), 1).await?;
        }
        source.id
    };
    let state = db::state_of(&mut tx, renamed).await?;
    tx.commit().await?;
    engine.mail_changed(&address, Some(&from)).await;
    engine.mail_changed(&address, None).await;
    Ok(state)
}

pub(crate) async fn delete_folder(engine: &Engine, account: &str, name: &str) -> Result<()> {
    let address = account_address(account)?;
    let name = folder_name(name, "name")?;
    if is_standard(&name) {
        return Err(Error::conflict(format!("{name} is a standard folder of {address} and cannot be deleted"))
            .with_field("name"));
    }
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    let folder = locate(&mut tx, account.id, &address, &name, "name").await?;
    let hashes = db::delete(&mut tx, folder.id).await?;
    db::retire_uidvalidity(&mut tx, account.id, folder.uidvalidity).await?;
    tx.commit().await?;
    engine.mail_changed(&address, Some(&name)).await;
    engine.mail_changed(&address, None).await;
    engine.collect_blobs(hashes).await?;
    Ok(())
}

pub(crate) async fn messages(engine: &Engine, account: &str, folder: &str) -> Result<Vec<StoredMessage>> {
    let address = account_address(account)?;
    let name = folder_name(folder, "folder")?;
    let mut conn = engine.read().await?;
    let account = load_account(&mut conn, &address).await?;
    let Some(folder) = db::by_name(&mut conn, account.id, &name).await? else {
        // A standard folder not used yet is empty, not missing.
        return if is_standard(&name) {
            Ok(Vec::new())
        } else {
            Err(Error::not_found(format!("{address} has no folder {name}")).with_field("folder"))
        };
    };
    Ok(db::messages(&mut conn, folder.id).await?.iter().map(stored_message).collect())
}

pub(crate) async fn append(
    engine: &Engine,
    account: &str,
    folder: &str,
    raw: &[u8],
    flags: &[String],
    received_at: Option<time::OffsetDateTime>,
) -> Result<Delivered> {
    let address = account_address(account)?;
    let received_at = match received_at {
        Some(t) => crate::format_time(t),
        None => crate::now(),
    };
    let name = folder_name(folder, "folder")?;
    let flags = Flags::requested(flags)?.stored();
    if raw.is_empty() {
        return Err(Error::validation("an empty message cannot be stored").with_field("raw"));
    }
    let hash = BlobStore::hash(raw);
    let bytes = postdesk_blobs::Bytes::copy_from_slice(raw);
    engine.blobs.write(&hash, bytes.clone()).await?;

    let stored = async {
        let mut tx = engine.write().await?;
        let account = load_account(&mut tx, &address).await?;
        may_store(&account, &address)?;
        let folder = locate(&mut tx, account.id, &address, &name, "folder").await?;
        check_room(&address, account.quota_mb, used_bytes(&mut tx, account.id).await?, raw.len() as u64)?;
        // Under the write lock no collector can remove the blob; bring it back if one did.
        engine.blobs.ensure(&hash, bytes).await?;
        let uid = next_uid(&mut tx, folder.id).await?;
        let message = Message {
            uid,
            blob_hash: hash.clone(),
            size: raw.len() as i64,
            received_at: received_at.clone(),
            flags,
            modseq: 0,
        };
        db::insert_message(&mut tx, account.id, folder.id, &message).await?;
        tx.commit().await?;
        engine.mail_changed(&address, Some(&name)).await;
        Ok(Delivered { account: address.clone(), folder: name.clone(), uid: uid as u32 })
    }
    .await;
    if stored.is_err() {
        // A refused message leaves no file behind (unless other messages share its bytes).
        engine.collect_blobs(vec![hash]).await?;
    }
    stored
}

pub(crate) async fn store_flags(
    engine: &Engine,
    account: &str,
    folder: &str,
    uids: &[u32],
    change: FlagChange,
    flags: &[String],
    unchanged_since: Option<u64>,
) -> Result<FlagsStored> {
    let address = account_address(account)?;
    let name = folder_name(folder, "folder")?;
    let given = Flags::requested(flags)?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    let folder = locate(&mut tx, account.id, &address, &name, "folder").await?;
    let mut kept = Vec::new();
    let mut modified = Vec::new();
    let mut any = false;
    for message in db::messages_among(&mut tx, folder.id, uids).await? {
        if unchanged_since.is_some_and(|since| message.modseq as u64 > since) {
            modified.push(message.uid as u32);
            continue;
        }
        let mut now = Flags::parse_stored(&message.flags);
        now.change(change, &given);
        now.within_limit()?;
        let stored = now.stored();
        if stored != message.flags {
            db::set_flags(&mut tx, folder.id, message.uid, &stored).await?;
            any = true;
        }
        kept.push(message.uid as u32);
    }
    // The rows again, with the mod-sequences the triggers gave them.
    let after = if any { db::messages_among(&mut tx, folder.id, &kept).await? } else { Vec::new() };
    tx.commit().await?;
    let messages = if any {
        engine.mail_changed(&address, Some(&name)).await;
        after.iter().map(stored_message).collect()
    } else {
        let mut conn = engine.read().await?;
        db::messages_among(&mut conn, folder.id, &kept).await?.iter().map(stored_message).collect()
    };
    Ok(FlagsStored { messages, modified })
}

/// What COPY and MOVE start from: the account (which must take messages), both folders,
/// in a write transaction.
struct Transfer {
    address: String,
    from: String,
    to: String,
    tx: Tx,
    account: Account,
    source: db::Folder,
    target: db::Folder,
}

impl Transfer {
    async fn open(engine: &Engine, account: &str, from: &str, to: &str) -> Result<Transfer> {
        let address = account_address(account)?;
        let from = folder_name(from, "from")?;
        let to = folder_name(to, "to")?;
        let mut tx = engine.write().await?;
        let account = load_account(&mut tx, &address).await?;
        may_store(&account, &address)?;
        let source = locate(&mut tx, account.id, &address, &from, "from").await?;
        let target = locate(&mut tx, account.id, &address, &to, "to").await?;
        Ok(Transfer { address, from, to, tx, account, source, target })
    }
}

pub(crate) async fn copy_messages(
    engine: &Engine,
    account: &str,
    from: &str,
    uids: &[u32],
    to: &str,
) -> Result<Vec<(u32, u32)>> {
    let Transfer { address, to, mut tx, account, source, target, .. } =
        Transfer::open(engine, account, from, to).await?;
    let copies = db::messages_among(&mut tx, source.id, uids).await?;
    let adding: u64 = copies.iter().map(|m| m.size as u64).sum();
    check_room(&address, account.quota_mb, used_bytes(&mut tx, account.id).await?, adding)?;
    // The copies share the originals' blobs, which their rows keep from being collected.
    let mut pairs = Vec::with_capacity(copies.len());
    for mut message in copies {
        let old = message.uid;
        // INTERNALDATE and flags go along (RFC 9051 §6.4.7).
        message.uid = next_uid(&mut tx, target.id).await?;
        db::insert_message(&mut tx, account.id, target.id, &message).await?;
        pairs.push((old as u32, message.uid as u32));
    }
    tx.commit().await?;
    if !pairs.is_empty() {
        engine.mail_changed(&address, Some(&to)).await;
    }
    Ok(pairs)
}

pub(crate) async fn move_messages(
    engine: &Engine,
    account: &str,
    from: &str,
    uids: &[u32],
    to: &str,
) -> Result<Vec<(u32, u32)>> {
    let Transfer { address, from, to, mut tx, source, target, .. } = Transfer::open(engine, account, from, to).await?;
    if source.id == target.id {
        return Err(Error::validation(format!("messages cannot be moved from {from} into itself")).with_field("to"));
    }
    // The rows move (blobs and sizes stay, so the quota is not touched); each gets the
    // target's next UID, and the source's UIDs are never handed out again.
    let moving = db::messages_among(&mut tx, source.id, uids).await?;
    let mut pairs = Vec::with_capacity(moving.len());
    for message in &moving {
        pairs.push((message.uid as u32, next_uid(&mut tx, target.id).await? as u32));
    }
    db::move_to(&mut tx, source.id, target.id, &pairs).await?;
    tx.commit().await?;
    if !pairs.is_empty() {
        engine.mail_changed(&address, Some(&from)).await;
        engine.mail_changed(&address, Some(&to)).await;
    }
    Ok(pairs)
}

pub(crate) async fn subscriptions(engine: &Engine, account: &str) -> Result<Vec<String>> {
    let address = account_address(account)?;
    let mut conn = engine.read().await?;
    let account = load_account(&mut conn, &address).await?;
    db::subscriptions(&mut conn, account.id).await
}

pub(crate) async fn set_subscribed(engine: &Engine, account: &str, name: &str, subscribed: bool) -> Result<()> {
    let address = account_address(account)?;
    let name = folder_name(name, "name")?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    if subscribed && db::subscription_count(&mut tx, account.id).await? >= MAX_FOLDERS {
        return Err(
            Error::limit_exceeded(format!("a mailbox subscribes to at most {MAX_FOLDERS} names")).with_field("name")
        );
    }
    db::set_subscribed(&mut tx, account.id, &name, subscribed).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn quota(engine: &Engine, account: &str) -> Result<Quota> {
    let address = account_address(account)?;
    let mut conn = engine.read().await?;
    let account = load_account(&mut conn, &address).await?;
    let used = used_bytes(&mut conn, account.id).await?;
    Ok(Quota { used, limit: (account.quota_mb.max(0) as u64) * 1024 * 1024 })
}

pub(crate) async fn expunge(engine: &Engine, account: &str, folder: &str, uids: Option<&[u32]>) -> Result<Vec<u32>> {
    let address = account_address(account)?;
    let name = folder_name(folder, "folder")?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    let folder = locate(&mut tx, account.id, &address, &name, "folder").await?;
    let candidates = match uids {
        Some(uids) => db::messages_among(&mut tx, folder.id, uids).await?,
        None => db::messages(&mut tx, folder.id).await?,
    };
    let gone: Vec<Message> = candidates.into_iter().filter(|m| Flags::parse_stored(&m.flags).deleted()).collect();
    let removed: Vec<u32> = gone.iter().map(|m| m.uid as u32).collect();
    db::delete_messages(&mut tx, folder.id, &removed).await?;
    tx.commit().await?;
    if !removed.is_empty() {
        engine.mail_changed(&address, Some(&name)).await;
    }
    let mut hashes: Vec<String> = gone.into_iter().map(|m| m.blob_hash).collect();
    hashes.sort();
    hashes.dedup();
    engine.collect_blobs(hashes).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use postdesk_contract::mail::MailStore;

    use super::*;
    use crate::api::*;
    use crate::testing::engine_with;
    use crate::{Backend, ErrorCode};

    const ANN: &str = "ann@example.com";

    fn store(engine: &Engine) -> &dyn MailStore {
        engine
    }

    fn flags(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| f.to_string()).collect()
    }

    fn msg(subject: &str) -> Vec<u8> {
        format!("From: x@example.net\r\nSubject: {subject}\r\n\r\nhello\r\n").into_bytes()
    }

    async fn folder(engine: &Engine, name: &str) -> FolderState {
        store(engine).folders(ANN).await.unwrap().into_iter().find(|f| f.name == name).unwrap()
    }

    async fn uids(engine: &Engine, name: &str) -> Vec<u32> {
        store(engine).messages(ANN, name).await.unwrap().iter().map(|m| m.uid).collect()
    }

    #[test]
    fn flags_are_stored_in_a_canonical_order_without_recent() {
        let given = flags(&["$Label", "\\flagged", "\\Recent", "\\SEEN", "$Label", "\\Seen"]);
        assert_eq!(Flags::requested(&given).unwrap().stored(), "\\Seen \\Flagged $Label");
        assert_eq!(Flags::parse_stored("\\Deleted junk\\ \\Bogus \\Seen").list(), flags(&["\\Seen", "\\Deleted"]));
        for bad in ["\\Bogus", "", "two words", "a(b", "\\*"] {
            let err = Flags::requested(&flags(&[bad])).unwrap_err();
            assert_eq!(err.code, ErrorCode::Validation, "{bad}");
        }
        let many: Vec<String> = (0..=MAX_KEYWORDS).map(|i| format!("$k{i}")).collect();
        assert_eq!(Flags::requested(&many).unwrap_err().code, ErrorCode::LimitExceeded);
        assert!(Flags::requested(&many[..MAX_KEYWORDS]).is_ok());
    }

    #[tokio::test]
    async fn folders_are_listed_standard_first_with_counts() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let (one, two) = (msg("one"), msg("two"));
        engine.deliver(ANN, &one).await.unwrap();
        engine.deliver(ANN, &two).await.unwrap();
        s.store_flags(ANN, "INBOX", &[1], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        for name in ["Zeta", "Alpha", "Archive/2026"] {
            s.create_folder(ANN, name).await.unwrap();
        }
        let listed = s.folders("Ann@Example.com").await.unwrap();
        let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["INBOX", "Sent", "Drafts", "Junk", "Trash", "Alpha", "Archive/2026", "Zeta"]);
        let inbox = &listed[0];
        assert_eq!((inbox.messages, inbox.unseen, inbox.bytes), (2, 1, (one.len() + two.len()) as u64));
        assert_eq!(inbox.uidnext, 3);
        assert!(inbox.uidvalidity > 0);
        assert_eq!((listed[1].messages, listed[1].unseen, listed[1].bytes, listed[1].uidnext), (0, 0, 0, 1));
        assert_eq!(s.folders(ANN).await.unwrap(), listed, "a second listing is the same");

        // An account that never had mail gets its standard folders, with stable values.
        let bob = "bob@example.com";
        engine
            .local_backend()
            .create_account(CreateAccount { address: bob.into(), ..Default::default() })
            .await
            .unwrap();
        let fresh = s.folders(bob).await.unwrap();
        assert_eq!(fresh.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), STANDARD_FOLDERS);
        assert_eq!(s.folders(bob).await.unwrap(), fresh);
        assert_eq!(s.folders("nobody@example.com").await.unwrap_err().code, ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn creating_a_folder_refuses_duplicates_and_bad_names() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let made = s.create_folder(ANN, "Work").await.unwrap();
        assert_eq!((made.name.as_str(), made.uidnext, made.messages), ("Work", 1, 0));
        assert!(made.uidvalidity > 0);
        for dup in ["Work", "inbox", "InBox", "INBOX", "Sent"] {
            let err = s.create_folder(ANN, dup).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::Conflict, "{dup}");
            assert!(err.message.contains(ANN), "{}", err.message);
        }
        // Folder names other than INBOX are case-sensitive.
        s.create_folder(ANN, "work").await.unwrap();
        for bad in ["", "  ", "a\u{7}b", "line\nbreak", &"x".repeat(256)] {
            assert_eq!(s.create_folder(ANN, bad).await.unwrap_err().code, ErrorCode::Validation, "{bad:?}");
        }
        s.create_folder(ANN, &"x".repeat(255)).await.unwrap();
        assert_eq!(s.create_folder("not an address", "X").await.unwrap_err().code, ErrorCode::Validation);
        assert_eq!(s.create_folder("nobody@example.com", "X").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(s.messages(ANN, "inbox").await.unwrap(), Vec::new(), "INBOX in any case");
    }

    #[tokio::test]
    async fn renaming_keeps_uids_and_uidvalidity_and_moves_inferiors() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let work = s.create_folder(ANN, "Work").await.unwrap();
        for i in 0..3 {
            s.append(ANN, "Work", &msg(&format!("w{i}")), &[]).await.unwrap();
        }
        s.store_flags(ANN, "Work", &[1], FlagChange::Add, &flags(&["\\Deleted"]), None).await.unwrap();
        s.expunge(ANN, "Work", None).await.unwrap();
        let child = s.create_folder(ANN, "Work/2026").await.unwrap();
        s.create_folder(ANN, "Workshop").await.unwrap();

        let renamed = s.rename_folder(ANN, "Work", "Jobs").await.unwrap();
        assert_eq!(renamed.name, "Jobs");
        assert_eq!((renamed.uidvalidity, renamed.uidnext, renamed.messages), (work.uidvalidity, 4, 2));
        assert_eq!(uids(&engine, "Jobs").await, [2, 3]);
        assert_eq!(folder(&engine, "Jobs/2026").await.uidvalidity, child.uidvalidity);
        assert_eq!(s.messages(ANN, "Work").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(s.messages(ANN, "Work/2026").await.unwrap_err().code, ErrorCode::NotFound);
        s.messages(ANN, "Workshop").await.expect("not an inferior of Work");
        assert_eq!(s.append(ANN, "Jobs", &msg("next"), &[]).await.unwrap().uid, 4);

        // Created again, the old name gets another UIDVALIDITY (even within the same second).
        let again = s.create_folder(ANN, "Work").await.unwrap();
        assert_ne!(again.uidvalidity, work.uidvalidity);

        assert_eq!(s.rename_folder(ANN, "Jobs", "Workshop").await.unwrap_err().code, ErrorCode::Conflict);
        assert_eq!(s.rename_folder(ANN, "Jobs", "inbox").await.unwrap_err().code, ErrorCode::Conflict);
        assert_eq!(s.rename_folder(ANN, "Nothing", "Else").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(uids(&engine, "Jobs").await, [2, 3, 4], "a refused rename changes nothing");
    }

    #[tokio::test]
    async fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        engine.deliver(ANN, &msg("a")).await.unwrap();
        engine.deliver(ANN, &msg("b")).await.unwrap();
        s.store_flags(ANN, "INBOX", &[2], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        let inbox = folder(&engine, "INBOX").await;
        let room = engine.mailbox_room(ANN).await.unwrap();

        let old = s.rename_folder(ANN, "inbox", "Old mail").await.unwrap();
        assert_eq!((old.name.as_str(), old.messages, old.unseen, old.uidnext), ("Old mail", 2, 1, 3));
        assert_eq!(uids(&engine, "Old mail").await, [1, 2]);
        let after = folder(&engine, "INBOX").await;
        assert_eq!((after.messages, after.uidvalidity, after.uidnext), (0, inbox.uidvalidity, 3));
        assert_eq!(engine.mailbox_room(ANN).await.unwrap(), room, "the bytes stay counted");
        assert_eq!(engine.deliver(ANN, &msg("c")).await.unwrap().uid, 3, "INBOX UIDs keep growing");

        // Another standard folder is renamed, and a new empty one takes its name.
        s.append(ANN, "Sent", &msg("sent"), &[]).await.unwrap();
        let sent = folder(&engine, "Sent").await;
        let moved = s.rename_folder(ANN, "Sent", "Sent 2025").await.unwrap();
        assert_eq!((moved.uidvalidity, moved.messages), (sent.uidvalidity, 1));
        let new_sent = folder(&engine, "Sent").await;
        assert_eq!(new_sent.messages, 0);
        assert_ne!(new_sent.uidvalidity, sent.uidvalidity);
    }

    #[tokio::test]
    async fn deleting_a_folder_removes_its_messages_and_their_files() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let shared = msg("shared");
        engine.deliver(ANN, &shared).await.unwrap();
        let work = s.create_folder(ANN, "Work").await.unwrap();
        s.append(ANN, "Work", &shared, &[]).await.unwrap();
        s.append(ANN, "Work", &msg("own"), &[]).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 2);
        let room = engine.mailbox_room(ANN).await.unwrap().unwrap();

        for standard in STANDARD_FOLDERS.iter().copied().chain(["inbox"]) {
            let err = s.delete_folder(ANN, standard).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::Conflict, "{standard}");
        }
        assert_eq!(s.delete_folder(ANN, "Nothing").await.unwrap_err().code, ErrorCode::NotFound);

        s.delete_folder(ANN, "Work").await.unwrap();
        assert_eq!(s.messages(ANN, "Work").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(engine.blob_count().await.unwrap(), 1, "the shared file stays for INBOX");
        assert_eq!(engine.message_bytes(ANN, "INBOX", 1).await.unwrap(), shared);
        let freed = (shared.len() + msg("own").len()) as u64;
        assert_eq!(engine.mailbox_room(ANN).await.unwrap().unwrap(), room + freed);

        let again = s.create_folder(ANN, "Work").await.unwrap();
        assert_ne!(again.uidvalidity, work.uidvalidity, "a new folder, a new UIDVALIDITY");
        assert_eq!((again.messages, again.uidnext), (0, 1));
    }

    #[tokio::test]
    async fn appending_stores_flags_and_respects_quota_and_status() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let raw = msg("appended");
        let given = flags(&["$Work", "\\seen", "\\Recent", "\\Draft", "$Work"]);
        let stored = s.append("ANN@example.com", "Drafts", &raw, &given).await.unwrap();
        assert_eq!(stored, Delivered { account: ANN.into(), folder: "Drafts".into(), uid: 1 });
        let listed = s.messages(ANN, "Drafts").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].flags, flags(&["\\Seen", "\\Draft", "$Work"]));
        assert_eq!(listed[0].size, raw.len() as u64);
        crate::parse_time(&listed[0].received_at).unwrap();
        assert_eq!(engine.message_bytes(ANN, "Drafts", 1).await.unwrap(), raw);
        assert_eq!(s.append(ANN, "inbox", &raw, &[]).await.unwrap().folder, "INBOX");

        assert_eq!(s.append(ANN, "Nothing", &raw, &[]).await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(s.append(ANN, "Drafts", b"", &[]).await.unwrap_err().code, ErrorCode::Validation);
        let bad = s.append(ANN, "Drafts", &raw, &flags(&["\\Bogus"])).await.unwrap_err();
        assert_eq!(bad.code, ErrorCode::Validation);

        // Too big for the 1 MiB quota: refused, and nothing changes (no row, no file, no UID).
        let blobs = engine.blob_count().await.unwrap();
        let before = s.folders(ANN).await.unwrap();
        let big = vec![b'x'; 1024 * 1024];
        let err = s.append(ANN, "Drafts", &big, &[]).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
        assert!(err.message.contains(ANN), "{}", err.message);
        assert_eq!(s.folders(ANN).await.unwrap(), before);
        assert_eq!(engine.blob_count().await.unwrap(), blobs);

        // A disabled mailbox takes nothing, but can still be read.
        engine
            .local_backend()
            .update_account(UpdateAccount {
                address: ANN.into(),
                status: Some(AccountStatus::Disabled),
                ..Default::default()
            })
            .await
            .unwrap();
        let err = s.append(ANN, "Drafts", &msg("late"), &[]).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Conflict);
        assert!(err.message.contains(ANN), "{}", err.message);
        assert_eq!(engine.blob_count().await.unwrap(), blobs);
        assert_eq!(s.messages(ANN, "Drafts").await.unwrap().len(), 1);
        assert_eq!(s.folders(ANN).await.unwrap(), before);
        assert_eq!(s.copy_messages(ANN, "Drafts", &[1], "INBOX").await.unwrap_err().code, ErrorCode::Conflict);
    }

    #[tokio::test]
    async fn flags_are_added_removed_and_replaced() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        for i in 0..3 {
            engine.deliver(ANN, &msg(&format!("m{i}"))).await.unwrap();
        }
        let added = s
            .store_flags(ANN, "INBOX", &[1, 2, 9], FlagChange::Add, &flags(&["\\Flagged", "$A"]), None)
            .await
            .unwrap()
            .messages;
        assert_eq!(added.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 2], "missing UIDs skipped");
        assert!(added.iter().all(|m| m.flags == flags(&["\\Flagged", "$A"])));
        let added = s
            .store_flags(ANN, "INBOX", &[2], FlagChange::Add, &flags(&["\\seen", "$B", "$A"]), None)
            .await
            .unwrap()
            .messages;
        assert_eq!(added[0].flags, flags(&["\\Seen", "\\Flagged", "$A", "$B"]));
        let removed = s
            .store_flags(ANN, "INBOX", &[1, 2], FlagChange::Remove, &flags(&["\\FLAGGED", "$A"]), None)
            .await
            .unwrap()
            .messages;
        assert_eq!(removed[0].flags, Vec::<String>::new());
        assert_eq!(removed[1].flags, flags(&["\\Seen", "$B"]));
        let replaced = s
            .store_flags(ANN, "INBOX", &[2, 3], FlagChange::Replace, &flags(&["\\Answered"]), None)
            .await
            .unwrap()
            .messages;
        assert!(replaced.iter().all(|m| m.flags == flags(&["\\Answered"])));
        let all = s.messages(ANN, "INBOX").await.unwrap();
        let now: Vec<Vec<String>> = all.iter().map(|m| m.flags.clone()).collect();
        assert_eq!(now, [vec![], flags(&["\\Answered"]), flags(&["\\Answered"])]);
        assert_eq!(folder(&engine, "INBOX").await.unseen, 3);

        let err = s.store_flags(ANN, "Nothing", &[1], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        let err = s.store_flags(ANN, "INBOX", &[1], FlagChange::Add, &flags(&["\\Bogus"]), None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);

        // Adding keywords past the limit refuses the whole change: nothing is stored.
        let half: Vec<String> = (0..MAX_KEYWORDS / 2 + 1).map(|i| format!("$a{i}")).collect();
        let other: Vec<String> = (0..MAX_KEYWORDS / 2 + 1).map(|i| format!("$b{i}")).collect();
        s.store_flags(ANN, "INBOX", &[1, 3], FlagChange::Add, &half, None).await.unwrap();
        let before = s.messages(ANN, "INBOX").await.unwrap();
        let err = s.store_flags(ANN, "INBOX", &[1, 3], FlagChange::Add, &other, None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
        assert_eq!(s.messages(ANN, "INBOX").await.unwrap(), before);
    }

    #[tokio::test]
    async fn copies_get_new_uids_and_respect_quota() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        for i in 0..3 {
            engine.deliver(ANN, &msg(&format!("m{i}"))).await.unwrap();
        }
        s.store_flags(ANN, "INBOX", &[3], FlagChange::Add, &flags(&["\\Seen", "$Keep"]), None).await.unwrap();
        s.create_folder(ANN, "Archive").await.unwrap();
        s.append(ANN, "Archive", &msg("already"), &[]).await.unwrap();
        let blobs = engine.blob_count().await.unwrap();

        let pairs = s.copy_messages(ANN, "INBOX", &[3, 1, 99], "Archive").await.unwrap();
        assert_eq!(pairs, [(1, 2), (3, 3)]);
        let inbox = s.messages(ANN, "INBOX").await.unwrap();
        let archive = s.messages(ANN, "Archive").await.unwrap();
        assert_eq!(archive.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(archive[2].flags, flags(&["\\Seen", "$Keep"]));
        assert_eq!((archive[1].size, &archive[1].received_at), (inbox[0].size, &inbox[0].received_at));
        assert_eq!(engine.message_bytes(ANN, "Archive", 3).await.unwrap(), msg("m2"));
        assert_eq!(engine.blob_count().await.unwrap(), blobs, "copies share the files");
        assert_eq!(uids(&engine, "INBOX").await, [1, 2, 3], "the originals stay");
        assert_eq!(s.copy_messages(ANN, "INBOX", &[2], "INBOX").await.unwrap(), [(2, 4)]);

        assert_eq!(s.copy_messages(ANN, "Nothing", &[1], "INBOX").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(s.copy_messages(ANN, "INBOX", &[1], "Nothing").await.unwrap_err().code, ErrorCode::NotFound);

        // 600 KiB fits the 1 MiB quota once, not twice.
        let big = vec![b'x'; 600 * 1024];
        let stored = s.append(ANN, "INBOX", &big, &[]).await.unwrap();
        let before = s.folders(ANN).await.unwrap();
        let err = s.copy_messages(ANN, "INBOX", &[stored.uid], "Archive").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
        assert!(err.message.contains(ANN), "{}", err.message);
        assert_eq!(s.folders(ANN).await.unwrap(), before, "a refused copy changes nothing");
    }

    #[tokio::test]
    async fn expunge_removes_only_deleted_messages_and_uids_keep_growing() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        for i in 0..4 {
            engine.deliver(ANN, &msg(&format!("m{i}"))).await.unwrap();
        }
        let blobs = engine.blob_count().await.unwrap();
        s.store_flags(ANN, "INBOX", &[1, 2, 4], FlagChange::Add, &flags(&["\\Deleted"]), None).await.unwrap();

        assert_eq!(s.expunge(ANN, "INBOX", Some(&[2, 3, 4, 7])).await.unwrap(), [2, 4], "only among the UIDs");
        assert_eq!(uids(&engine, "INBOX").await, [1, 3]);
        assert_eq!(engine.blob_count().await.unwrap(), blobs - 2, "their files go");
        assert_eq!(s.expunge(ANN, "INBOX", None).await.unwrap(), [1]);
        assert_eq!(uids(&engine, "INBOX").await, [3]);
        assert_eq!(s.expunge(ANN, "INBOX", None).await.unwrap(), Vec::<u32>::new());

        // UID 4 was the highest and is gone: it is never handed out again.
        assert_eq!(s.append(ANN, "INBOX", &msg("new"), &[]).await.unwrap().uid, 5);
        assert_eq!(engine.deliver(ANN, &msg("newer")).await.unwrap().uid, 6);
        assert_eq!(folder(&engine, "INBOX").await.uidnext, 7);
        assert_eq!(s.expunge(ANN, "Nothing", None).await.unwrap_err().code, ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn messages_of_an_unknown_folder_are_not_found() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let err = s.messages(ANN, "Nothing").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(err.message.contains(ANN) && err.message.contains("Nothing"), "{}", err.message);
        assert_eq!(s.messages(ANN, "Trash").await.unwrap(), Vec::new(), "a standard folder is never unknown");
        assert_eq!(s.messages("nobody@example.com", "INBOX").await.unwrap_err().code, ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn mod_sequences_move_with_every_change_and_guard_conditional_stores() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        for i in 0..3 {
            engine.deliver(ANN, &msg(&format!("m{i}"))).await.unwrap();
        }
        let before = folder(&engine, "INBOX").await.highest_modseq;
        let listed = s.messages(ANN, "INBOX").await.unwrap();
        assert!(listed.windows(2).all(|w| w[0].modseq < w[1].modseq), "each addition is a change");
        assert_eq!(listed[2].modseq, before);

        let flagged = s.store_flags(ANN, "INBOX", &[2], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        let after = folder(&engine, "INBOX").await.highest_modseq;
        assert!(after > before && flagged.messages[0].modseq == after, "a flag change takes the next value");
        let same = s.store_flags(ANN, "INBOX", &[2], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        assert_eq!(same.messages[0].modseq, after, "no change, no new value");
        assert_eq!(folder(&engine, "INBOX").await.highest_modseq, after);

        // CONDSTORE: message 2 changed after `before`, so it is left alone and reported.
        let guarded =
            s.store_flags(ANN, "INBOX", &[1, 2], FlagChange::Add, &flags(&["\\Flagged"]), Some(before)).await.unwrap();
        assert_eq!(guarded.modified, [2]);
        assert_eq!(guarded.messages.iter().map(|m| m.uid).collect::<Vec<_>>(), [1]);
        let now = s.messages(ANN, "INBOX").await.unwrap();
        assert_eq!((now[0].flags.clone(), now[1].flags.clone()), (flags(&["\\Flagged"]), flags(&["\\Seen"])));

        s.store_flags(ANN, "INBOX", &[3], FlagChange::Add, &flags(&["\\Deleted"]), None).await.unwrap();
        let flagged_at = folder(&engine, "INBOX").await.highest_modseq;
        s.expunge(ANN, "INBOX", None).await.unwrap();
        assert!(folder(&engine, "INBOX").await.highest_modseq > flagged_at, "an expunge is a change too");
    }

    #[tokio::test]
    async fn moving_keeps_flags_and_dates_gives_new_uids_and_leaves_the_quota() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        for i in 0..3 {
            engine.deliver(ANN, &msg(&format!("m{i}"))).await.unwrap();
        }
        s.create_folder(ANN, "Work").await.unwrap();
        s.append(ANN, "Work", &msg("there"), &[]).await.unwrap();
        s.store_flags(ANN, "INBOX", &[3], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        let used = s.quota(ANN).await.unwrap().used;
        let dates: Vec<String> = s.messages(ANN, "INBOX").await.unwrap().into_iter().map(|m| m.received_at).collect();

        let pairs = s.move_messages(ANN, "INBOX", &[1, 3, 9], "Work").await.unwrap();
        assert_eq!(pairs, [(1, 2), (3, 3)], "missing UIDs skipped; the target's next UIDs");
        assert_eq!(uids(&engine, "INBOX").await, [2]);
        let work = s.messages(ANN, "Work").await.unwrap();
        assert_eq!(work.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            (work[1].received_at.as_str(), work[2].received_at.as_str()),
            (dates[0].as_str(), dates[2].as_str())
        );
        assert_eq!(work[2].flags, flags(&["\\Seen"]));
        assert_eq!(s.quota(ANN).await.unwrap().used, used, "a move adds nothing");
        assert_eq!(s.message_bytes(ANN, "Work", 2).await.unwrap(), msg("m0"));
        assert_eq!(s.move_messages(ANN, "Work", &[1], "Work").await.unwrap_err().code, ErrorCode::Validation);
        // The moved UIDs are not handed out again in INBOX.
        assert_eq!(engine.deliver(ANN, &msg("new")).await.unwrap().uid, 4);
    }

    #[tokio::test]
    async fn subscriptions_are_kept_by_name_and_bounded() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        s.set_subscribed(ANN, "Work", true).await.unwrap();
        s.set_subscribed(ANN, "inbox", true).await.unwrap();
        s.set_subscribed(ANN, "Work", true).await.unwrap();
        assert_eq!(s.subscriptions(ANN).await.unwrap(), ["INBOX", "Work"], "any name, once, INBOX in any case");
        s.set_subscribed(ANN, "Work", false).await.unwrap();
        assert_eq!(s.subscriptions(ANN).await.unwrap(), ["INBOX"]);
        assert_eq!(s.set_subscribed(ANN, "", true).await.unwrap_err().code, ErrorCode::Validation);
        assert_eq!(s.subscriptions("nobody@example.com").await.unwrap_err().code, ErrorCode::NotFound);
        for i in 1..MAX_FOLDERS {
            s.set_subscribed(ANN, &format!("f{i}"), true).await.unwrap();
        }
        assert_eq!(s.set_subscribed(ANN, "one more", true).await.unwrap_err().code, ErrorCode::LimitExceeded);
    }

    #[tokio::test]
    async fn the_quota_reports_use_and_limit() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let empty = s.quota(ANN).await.unwrap();
        assert_eq!(empty.used, 0);
        assert!(empty.limit >= 1024 * 1024);
        engine.deliver(ANN, &msg("m")).await.unwrap();
        assert_eq!(s.quota(ANN).await.unwrap().used, msg("m").len() as u64);
    }

    #[tokio::test]
    async fn committed_changes_are_announced_per_folder() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let mut changes = s.watch_mailboxes();
        engine.deliver(ANN, &msg("m")).await.unwrap();
        let change = changes.recv().await.unwrap();
        assert_eq!((change.account.as_str(), change.folder.as_deref()), (ANN, Some("INBOX")));
        s.store_flags(ANN, "INBOX", &[1], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        assert_eq!(changes.recv().await.unwrap().folder.as_deref(), Some("INBOX"));
        // Nothing changed: nothing announced (the next announcement is the folder's creation).
        s.store_flags(ANN, "INBOX", &[1], FlagChange::Add, &flags(&["\\Seen"]), None).await.unwrap();
        s.create_folder(ANN, "Work").await.unwrap();
        assert_eq!(changes.recv().await.unwrap().folder, None);
    }

    #[tokio::test]
    async fn an_appended_message_keeps_the_date_the_client_gave() {
        let engine = engine_with(&[ANN]).await;
        let s = store(&engine);
        let when = time::macros::datetime!(2007-03-24 23:00:00 +02:00);
        s.append_dated(ANN, "Drafts", &msg("old"), &[], Some(when)).await.unwrap();
        s.append(ANN, "Drafts", &msg("new"), &[]).await.unwrap();
        let listed = s.messages(ANN, "Drafts").await.unwrap();
        assert_eq!(listed[0].received_at, "2007-03-24T21:00:00Z", "in UTC");
        assert!(listed[1].received_at.as_str() > "2026", "now when none is given");
    }
}
