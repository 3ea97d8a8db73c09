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

use std::sync::Arc;

use postdesk_contract::mail::{Delivered, FlagChange, FolderState, STANDARD_FOLDERS, StoredMessage};

use crate::model::AccountStatus;
use crate::sql::folders::{self as db, Account, Message};
use crate::sql::store::uidvalidity;
use crate::sql::{Conn, Read, Tx};
use crate::store::{BlobStore, blocking, check_room, ensure_folder, next_uid, used_bytes};
use crate::{Engine, Error, Result, validate};

/// The hierarchy separator of folder names (`Archive/2026`), as transfers already use it.
const SEPARATOR: char = '/';

/// The longest folder name, in bytes.
const MAX_FOLDER_NAME: usize = 255;

/// The longest keyword, in bytes.
const MAX_KEYWORD: usize = 255;

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
        if flag.is_empty() || flag.len() > MAX_KEYWORD || !flag.chars().all(|c| c.is_ascii_graphic() && !atom_special(c))
        {
            return Err(Error::validation(format!("'{flag}' is not an IMAP keyword")).with_field("flags"));
        }
        if !self.keywords.iter().any(|k| k == flag) {
            self.keywords.push(flag.to_string());
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
        return Err(
            Error::validation(format!("the folder name '{name}' is longer than {MAX_FOLDER_NAME} bytes"))
                .with_field(field),
        );
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation(format!("the folder name {name:?} contains control characters")).with_field(field));
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
    let id = db::insert(&mut tx, account.id, &name, fresh_uidvalidity(account.retired_uidvalidity), 1).await?;
    let state = db::state_of(&mut tx, id).await?;
    tx.commit().await?;
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
) -> Result<Delivered> {
    let address = account_address(account)?;
    let name = folder_name(folder, "folder")?;
    let flags = Flags::requested(flags)?.stored();
    if raw.is_empty() {
        return Err(Error::validation("an empty message cannot be stored").with_field("raw"));
    }
    let hash = BlobStore::hash(raw);
    let bytes = Arc::new(raw.to_vec());
    let (store, h, b) = (engine.blobs.clone(), hash.clone(), bytes.clone());
    blocking(move || store.write(&h, &b)).await?;

    let stored = async {
        let mut tx = engine.write().await?;
        let account = load_account(&mut tx, &address).await?;
        may_store(&account, &address)?;
        let folder = locate(&mut tx, account.id, &address, &name, "folder").await?;
        check_room(&address, account.quota_mb, used_bytes(&mut tx, account.id).await?, raw.len() as u64)?;
        // Under the write lock no collector can remove the blob; bring it back if one did.
        let (store, h) = (engine.blobs.clone(), hash.clone());
        blocking(move || if store.exists(&h)? { Ok(()) } else { store.write(&h, &bytes) }).await?;
        let uid = next_uid(&mut tx, folder.id).await?;
        let message =
            Message { uid, blob_hash: hash.clone(), size: raw.len() as i64, received_at: crate::now(), flags };
        db::insert_message(&mut tx, account.id, folder.id, &message).await?;
        tx.commit().await?;
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
) -> Result<Vec<StoredMessage>> {
    let address = account_address(account)?;
    let name = folder_name(folder, "folder")?;
    let given = Flags::requested(flags)?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    let folder = locate(&mut tx, account.id, &address, &name, "folder").await?;
    let mut changed = db::messages_among(&mut tx, folder.id, uids).await?;
    for message in &mut changed {
        let mut now = Flags::parse_stored(&message.flags);
        now.change(change, &given);
        let stored = now.stored();
        if stored != message.flags {
            db::set_flags(&mut tx, folder.id, message.uid, &stored).await?;
            message.flags = stored;
        }
    }
    tx.commit().await?;
    Ok(changed.iter().map(stored_message).collect())
}

pub(crate) async fn copy_messages(
    engine: &Engine,
    account: &str,
    from: &str,
    uids: &[u32],
    to: &str,
) -> Result<Vec<(u32, u32)>> {
    let address = account_address(account)?;
    let from = folder_name(from, "from")?;
    let to = folder_name(to, "to")?;
    let mut tx = engine.write().await?;
    let account = load_account(&mut tx, &address).await?;
    may_store(&account, &address)?;
    let source = locate(&mut tx, account.id, &address, &from, "from").await?;
    let target = locate(&mut tx, account.id, &address, &to, "to").await?;
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
    Ok(pairs)
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
    let mut hashes: Vec<String> = gone.into_iter().map(|m| m.blob_hash).collect();
    hashes.sort();
    hashes.dedup();
    engine.collect_blobs(hashes).await?;
    Ok(removed)
}
