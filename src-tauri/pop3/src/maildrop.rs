//! The maildrop of one session: the INBOX as it was at login, with the deletion marks and
//! the messages retrieved, applied to the store only at QUIT (the UPDATE state).

use postdesk_contract::Result;
use postdesk_contract::mail::{FlagChange, MailStore};

use crate::limits::MaildropLock;

/// The folder POP3 shows.
pub(crate) const INBOX: &str = "INBOX";

/// One message of the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub uid: u32,
    pub size: u64,
    pub deleted: bool,
    pub retrieved: bool,
}

/// Why a message number does not name a message the session can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Not a number of the snapshot.
    NoSuchMessage,
    /// Marked deleted in this session.
    Deleted,
}

/// The INBOX as it was at login.
#[derive(Debug)]
pub(crate) struct Maildrop {
    pub account: String,
    uidvalidity: u32,
    entries: Vec<Entry>,
    _lock: MaildropLock,
}

impl Maildrop {
    /// Takes the snapshot of `account`'s INBOX (held by `lock`).
    pub async fn open(store: &dyn MailStore, account: String, lock: MaildropLock) -> Result<Maildrop> {
        // `folders` gives a mailbox its standard folders (and the INBOX its UIDVALIDITY) on
        // first use, so the UIDL of a message is the same in every session.
        let folders = store.folders(&account).await?;
        let uidvalidity = folders.iter().find(|f| f.name.eq_ignore_ascii_case(INBOX)).map(|f| f.uidvalidity);
        let uidvalidity = uidvalidity.ok_or_else(|| postdesk_contract::Error::internal("the mailbox has no INBOX"))?;
        let entries = store
            .messages(&account, INBOX)
            .await?
            .into_iter()
            .map(|m| Entry { uid: m.uid, size: m.size, deleted: false, retrieved: false })
            .collect();
        Ok(Maildrop { account, uidvalidity, entries, _lock: lock })
    }

    /// Messages not marked deleted, and their octets (STAT).
    pub fn stat(&self) -> (usize, u64) {
        self.live().fold((0, 0), |(n, bytes), (_, e)| (n + 1, bytes + e.size))
    }

    /// The messages not marked deleted, with their numbers (from 1).
    pub fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries.iter().enumerate().filter(|(_, e)| !e.deleted).map(|(i, e)| (i + 1, e))
    }

    /// The message numbered `n`, unless there is none or it is marked deleted.
    pub fn get(&self, n: usize) -> std::result::Result<&Entry, Missing> {
        let entry = n.checked_sub(1).and_then(|i| self.entries.get(i)).ok_or(Missing::NoSuchMessage)?;
        if entry.deleted { Err(Missing::Deleted) } else { Ok(entry) }
    }

    /// The message number of a UID in the snapshot.
    pub fn number_of(&self, uid: u32) -> Option<usize> {
        self.entries.binary_search_by_key(&uid, |e| e.uid).ok().map(|i| i + 1)
    }

    /// The size of the message of a UID in the snapshot.
    pub fn size_of(&self, uid: u32) -> Option<u64> {
        self.number_of(uid).map(|n| self.entries[n - 1].size)
    }

    /// The unique id of a message (UIDL): `<uidvalidity>.<uid>`, the same in every session.
    pub fn unique_id(&self, entry: &Entry) -> String {
        format!("{}.{}", self.uidvalidity, entry.uid)
    }

    /// Marks message `n` deleted (DELE).
    pub fn delete(&mut self, n: usize) -> std::result::Result<(), Missing> {
        self.get(n)?;
        self.entries[n - 1].deleted = true;
        Ok(())
    }

    /// Marks message `n` retrieved: it is flagged `\Seen` at QUIT.
    pub fn retrieved(&mut self, n: usize) {
        if let Some(e) = n.checked_sub(1).and_then(|i| self.entries.get_mut(i)) {
            e.retrieved = true;
        }
    }

    /// Unmarks every message (RSET).
    pub fn reset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
        }
    }

    /// The UPDATE state: flags the marked messages `\Deleted` and expunges them (only
    /// them), then flags the retrieved ones `\Seen`. Returns how many were removed.
    pub async fn update(&self, store: &dyn MailStore) -> Result<usize> {
        let deleted: Vec<u32> = self.entries.iter().filter(|e| e.deleted).map(|e| e.uid).collect();
        let seen: Vec<u32> = self.entries.iter().filter(|e| e.retrieved && !e.deleted).map(|e| e.uid).collect();
        let mut removed = 0;
        if !deleted.is_empty() {
            store.store_flags(&self.account, INBOX, &deleted, FlagChange::Add, &["\\Deleted".into()], None).await?;
            removed = store.expunge(&self.account, INBOX, Some(&deleted)).await?.len();
        }
        if !seen.is_empty() {
            store.store_flags(&self.account, INBOX, &seen, FlagChange::Add, &["\\Seen".into()], None).await?;
        }
        Ok(removed)
    }
}
