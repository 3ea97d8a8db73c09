//! A signed-in user's view of the store: their own folders, and under `Shared/<address>/`
//! the folders of each shared mailbox they own (themselves or through a workflow group).
//! The session calls these methods with the user's account and the folder names it shows;
//! the view routes each to the account that holds it. Which shared mailboxes the user owns
//! is asked again whenever the folder list is read (LIST, SELECT, STATUS …), so an owner
//! removed by the administrator loses them at their next such command.
//!
//! In a shared mailbox an owner reads, flags, expunges, appends, copies and moves messages
//! (across mailboxes too: a copy is read and appended); its folders themselves are managed
//! by the administrator, so CREATE, RENAME and DELETE there are refused. Its folders count
//! as subscribed.

use std::sync::{Arc, Mutex};

use postdesk_contract::mail::{
    Delivered, FlagChange, FlagsStored, FolderState, MailBackend, MailboxChange, Quota, StoredMessage,
};
use postdesk_contract::{Error, Result};

/// The top of the shared namespace (RFC 2342 "shared" namespace prefix `Shared/`).
pub(crate) const SHARED: &str = "Shared";

pub(crate) struct View {
    backend: Arc<dyn MailBackend>,
    user: String,
    owned: Mutex<Vec<String>>,
}

/// Where a folder the user names really is.
struct Place {
    account: String,
    folder: String,
    shared: bool,
}

fn read_only(name: &str) -> Error {
    Error::permission_denied(format!(
        "{name} is a folder of a shared mailbox: its folders are managed by an administrator"
    ))
}

impl View {
    pub(crate) fn new(backend: Arc<dyn MailBackend>, user: &str) -> View {
        View { backend, user: user.to_string(), owned: Mutex::new(Vec::new()) }
    }

    fn owned(&self) -> Vec<String> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks again which shared mailboxes the user owns.
    async fn refresh(&self) -> Result<Vec<String>> {
        let mut owned = self.backend.shared_mailboxes_of(&self.user).await?;
        owned.retain(|a| !a.eq_ignore_ascii_case(&self.user));
        owned.sort();
        *self.owned.lock().unwrap_or_else(|p| p.into_inner()) = owned.clone();
        Ok(owned)
    }

    fn place(&self, account: &str, name: &str) -> Result<Place> {
        let own = || Place { account: account.to_string(), folder: name.to_string(), shared: false };
        if !account.eq_ignore_ascii_case(&self.user) {
            return Ok(own());
        }
        let Some(rest) = name.strip_prefix(SHARED).and_then(|r| r.strip_prefix('/')) else { return Ok(own()) };
        let owned = self.owned();
        let Some(address) = owned.iter().find(|a| {
            rest.len() > a.len() && rest[..a.len()].eq_ignore_ascii_case(a) && rest.as_bytes()[a.len()] == b'/'
        }) else {
            // `Shared/<address>` itself holds no messages; other names are the user's own.
            if owned.iter().any(|a| rest.eq_ignore_ascii_case(a)) {
                return Err(Error::not_found(format!("{name} holds folders, not messages")));
            }
            return Ok(own());
        };
        let folder = &rest[address.len() + 1..];
        let folder = if folder.eq_ignore_ascii_case("INBOX") { "INBOX" } else { folder };
        Ok(Place { account: address.clone(), folder: folder.to_string(), shared: true })
    }

    /// The name the user sees for `folder` of the shared mailbox `address`.
    fn shown(address: &str, folder: &str) -> String {
        format!("{SHARED}/{address}/{folder}")
    }

    /// A change in the store as this user sees it (`None`: not in their view).
    pub(crate) fn change(&self, change: &MailboxChange) -> Option<MailboxChange> {
        if change.account.eq_ignore_ascii_case(&self.user) {
            return Some(change.clone());
        }
        let owned = self.owned();
        let address = owned.iter().find(|a| a.eq_ignore_ascii_case(&change.account))?;
        Some(MailboxChange {
            account: self.user.clone(),
            folder: change.folder.as_deref().map(|f| Self::shown(address, f)),
        })
    }

    pub(crate) async fn folders(&self, account: &str) -> Result<Vec<FolderState>> {
        let mut all = self.backend.folders(account).await?;
        if !account.eq_ignore_ascii_case(&self.user) {
            return Ok(all);
        }
        for address in self.refresh().await? {
            // One shared mailbox that cannot be read does not hide the user's own folders.
            match self.backend.folders(&address).await {
                Ok(folders) => {
                    all.extend(folders.into_iter().map(|f| FolderState { name: Self::shown(&address, &f.name), ..f }))
                }
                Err(e) => {
                    tracing::warn!(user = %self.user, shared = %address, "shared mailbox not listed: {}", e.message)
                }
            }
        }
        Ok(all)
    }

    pub(crate) async fn messages(&self, account: &str, folder: &str) -> Result<Vec<StoredMessage>> {
        let p = self.place(account, folder)?;
        self.backend.messages(&p.account, &p.folder).await
    }

    pub(crate) async fn message_bytes(&self, account: &str, folder: &str, uid: u32) -> Result<Vec<u8>> {
        let p = self.place(account, folder)?;
        self.backend.message_bytes(&p.account, &p.folder, uid).await
    }

    pub(crate) async fn store_flags(
        &self,
        account: &str,
        folder: &str,
        uids: &[u32],
        change: FlagChange,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagsStored> {
        let p = self.place(account, folder)?;
        self.backend.store_flags(&p.account, &p.folder, uids, change, flags, unchanged_since).await
    }

    pub(crate) async fn expunge(&self, account: &str, folder: &str, uids: Option<&[u32]>) -> Result<Vec<u32>> {
        let p = self.place(account, folder)?;
        self.backend.expunge(&p.account, &p.folder, uids).await
    }

    pub(crate) async fn append_dated(
        &self,
        account: &str,
        folder: &str,
        raw: &[u8],
        flags: &[String],
        received_at: Option<time::OffsetDateTime>,
    ) -> Result<Delivered> {
        let p = self.place(account, folder)?;
        let mut delivered = self.backend.append_dated(&p.account, &p.folder, raw, flags, received_at).await?;
        if p.shared {
            delivered.folder = folder.to_string();
            delivered.account = self.user.clone();
        }
        Ok(delivered)
    }

    pub(crate) async fn copy_messages(
        &self,
        account: &str,
        from: &str,
        uids: &[u32],
        to: &str,
    ) -> Result<Vec<(u32, u32)>> {
        let (a, b) = (self.place(account, from)?, self.place(account, to)?);
        if a.account.eq_ignore_ascii_case(&b.account) {
            return self.backend.copy_messages(&a.account, &a.folder, uids, &b.folder).await;
        }
        // Between two mailboxes: each message read and appended, with its flags and date.
        let stored = self.backend.messages(&a.account, &a.folder).await?;
        let mut pairs = Vec::new();
        for m in stored.iter().filter(|m| uids.contains(&m.uid)) {
            let raw = self.backend.message_bytes(&a.account, &a.folder, m.uid).await?;
            let date = time::OffsetDateTime::parse(&m.received_at, &time::format_description::well_known::Rfc3339).ok();
            let flags: Vec<String> = m.flags.iter().filter(|f| f.as_str() != "\\Recent").cloned().collect();
            let copy = self.backend.append_dated(&b.account, &b.folder, &raw, &flags, date).await?;
            pairs.push((m.uid, copy.uid));
        }
        Ok(pairs)
    }

    pub(crate) async fn move_messages(
        &self,
        account: &str,
        from: &str,
        uids: &[u32],
        to: &str,
    ) -> Result<Vec<(u32, u32)>> {
        let (a, b) = (self.place(account, from)?, self.place(account, to)?);
        if a.account.eq_ignore_ascii_case(&b.account) {
            return self.backend.move_messages(&a.account, &a.folder, uids, &b.folder).await;
        }
        let pairs = self.copy_messages(account, from, uids, to).await?;
        let moved: Vec<u32> = pairs.iter().map(|(s, _)| *s).collect();
        let deleted = ["\\Deleted".to_string()];
        self.backend.store_flags(&a.account, &a.folder, &moved, FlagChange::Add, &deleted, None).await?;
        self.backend.expunge(&a.account, &a.folder, Some(&moved)).await?;
        Ok(pairs)
    }

    pub(crate) async fn create_folder(&self, account: &str, name: &str) -> Result<FolderState> {
        if self.place(account, name)?.shared || self.is_shared_root(name) {
            return Err(read_only(name));
        }
        self.backend.create_folder(account, name).await
    }

    pub(crate) async fn rename_folder(&self, account: &str, from: &str, to: &str) -> Result<FolderState> {
        for name in [from, to] {
            if self.place(account, name)?.shared || self.is_shared_root(name) {
                return Err(read_only(name));
            }
        }
        self.backend.rename_folder(account, from, to).await
    }

    pub(crate) async fn delete_folder(&self, account: &str, name: &str) -> Result<()> {
        if self.place(account, name)?.shared || self.is_shared_root(name) {
            return Err(read_only(name));
        }
        self.backend.delete_folder(account, name).await
    }

    /// `Shared/<address>` of an owned mailbox.
    fn is_shared_root(&self, name: &str) -> bool {
        let Some(rest) = name.strip_prefix(SHARED).and_then(|r| r.strip_prefix('/')) else { return false };
        self.owned().iter().any(|a| rest.eq_ignore_ascii_case(a))
    }

    pub(crate) async fn subscriptions(&self, account: &str) -> Result<Vec<String>> {
        let mut subscribed = self.backend.subscriptions(account).await?;
        if account.eq_ignore_ascii_case(&self.user) {
            for address in self.owned() {
                if let Ok(folders) = self.backend.folders(&address).await {
                    subscribed.extend(folders.iter().map(|f| Self::shown(&address, &f.name)));
                }
            }
        }
        Ok(subscribed)
    }

    pub(crate) async fn set_subscribed(&self, account: &str, name: &str, subscribed: bool) -> Result<()> {
        if self.place(account, name)?.shared {
            // Always subscribed: nothing to record.
            return Ok(());
        }
        self.backend.set_subscribed(account, name, subscribed).await
    }

    pub(crate) async fn quota(&self, account: &str) -> Result<Quota> {
        self.backend.quota(account).await
    }
}
