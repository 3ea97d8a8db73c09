//! The directory seam: who our recipients and users are.
//!
//! The SMTP service asks a [`Directory`] four things and nothing else; the organisation
//! engine (recipient resolution, aliases, groups, catch-all, lockout, service switches)
//! implements it. [`MemoryDirectory`] is a small in-memory implementation for tests, the
//! test daemon and the benchmark.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The engine's identifier of the account (opaque here).
    pub id: String,
    /// The account's primary address.
    pub address: String,
}

/// What the directory says about one recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientStatus {
    /// Deliverable (a mailbox, alias, group or catch-all takes it).
    Accept,
    /// No such recipient at one of our domains: refused at RCPT with 550 5.1.1.
    Unknown,
    /// The mailbox is full (or would be with this message): 452 4.2.2.
    OverQuota,
    /// The declared size is over what the recipient's domain accepts (its plan):
    /// 552 5.3.4 at RCPT.
    TooLarge {
        /// The largest message the recipient accepts, in bytes.
        limit: usize,
    },
}

/// What the directory says about a whole message at the end of DATA, now that its real
/// size is known (a client need not declare SIZE, and may declare it wrongly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageStatus {
    /// Every recipient can take it.
    Accept,
    /// Over the size `recipient`'s domain accepts: 552 5.3.4 for the message.
    TooLarge {
        /// The recipient whose limit it breaks.
        recipient: String,
        /// That limit, in bytes.
        limit: usize,
    },
    /// `recipient`'s mailbox has no room for it. The message is refused as a whole
    /// (SMTP has one reply for all recipients): 552 5.2.2 when no recipient has room,
    /// otherwise 452 4.2.2 so the sender tries again later rather than any copy being
    /// lost.
    OverQuota {
        /// The first recipient without room.
        recipient: String,
        /// Whether every recipient is without room.
        all: bool,
    },
}

/// The outcome of checking a user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Right password, account active, SMTP allowed.
    Authenticated(Account),
    /// Unknown user or wrong password (indistinguishable on purpose).
    WrongPassword,
    /// The account is locked (too many failed logins, or by an admin).
    Locked,
    /// The password is right but the account's SMTP service switch is off.
    SmtpDisabled,
}

/// The directory could not answer (database down): the client gets a 4xx and retries.
#[derive(Debug, Clone, thiserror::Error)]
#[error("directory unavailable: {0}")]
pub struct DirectoryError(pub String);

/// Recipient resolution and authentication, as the SMTP service needs them.
///
/// Contract: `authenticate` records failed attempts itself and answers
/// [`AuthOutcome::Locked`] once the domain's lockout threshold is reached; the
/// SMTP service only adds a per-connection limit on top. Addresses passed in are as the
/// client sent them (the implementation canonicalises).
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Whether `address` (at one of our domains) can receive a message of about
    /// `size_hint` bytes (0 when the client gave no SIZE).
    async fn resolve_recipient(&self, address: &str, size_hint: usize) -> Result<RecipientStatus, DirectoryError>;

    /// Whether every recipient can take this message of `size` bytes (as it will be
    /// stored, with our trace headers), asked at the end of DATA: each recipient at one
    /// of our domains is resolved again with the real size (recipients elsewhere are the
    /// outbound relay's business). The first one too large decides; otherwise those
    /// without room make it over quota.
    async fn check_message(&self, recipients: &[String], size: usize) -> Result<MessageStatus, DirectoryError> {
        let mut full = Vec::new();
        let mut local = 0;
        for recipient in recipients {
            let domain = recipient.rsplit_once('@').map_or("", |(_, d)| d);
            if !self.is_local_domain(domain).await? {
                continue;
            }
            local += 1;
            match self.resolve_recipient(recipient, size).await? {
                RecipientStatus::TooLarge { limit } => {
                    return Ok(MessageStatus::TooLarge { recipient: recipient.clone(), limit });
                }
                RecipientStatus::OverQuota => full.push(recipient),
                // Unknown now (removed since RCPT): delivery logs and counts it.
                RecipientStatus::Accept | RecipientStatus::Unknown => {}
            }
        }
        Ok(match full.first() {
            None => MessageStatus::Accept,
            Some(first) => MessageStatus::OverQuota {
                recipient: (*first).clone(),
                all: full.len() == local && local == recipients.len(),
            },
        })
    }

    /// Checks a user name (an address) and password of a client at `client` (for the
    /// directory's login log).
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        client: std::net::IpAddr,
    ) -> Result<AuthOutcome, DirectoryError>;

    /// The envelope senders `account` may use: its own address and its aliases.
    async fn sender_addresses(&self, account: &Account) -> Result<Vec<String>, DirectoryError>;

    /// Whether `domain` is one of ours (mail to it is local; unauthenticated mail from
    /// it is suspect).
    async fn is_local_domain(&self, domain: &str) -> Result<bool, DirectoryError>;
}

#[derive(Debug, Default)]
struct MemoryAccount {
    password: String,
    aliases: Vec<String>,
    locked: bool,
    smtp_enabled: bool,
    /// Free bytes in the mailbox; `None` = no quota.
    room: Option<usize>,
    /// The largest message the mailbox accepts; `None` = no limit.
    max_message: Option<usize>,
    failures: u32,
}

/// An in-memory directory: domains, accounts with passwords and aliases, lockout after
/// `lockout_threshold` consecutive failures.
#[derive(Debug)]
pub struct MemoryDirectory {
    domains: HashSet<String>,
    catch_all: HashSet<String>,
    accounts: Mutex<HashMap<String, MemoryAccount>>,
    aliases: HashMap<String, String>,
    lockout_threshold: u32,
}

impl Default for MemoryDirectory {
    fn default() -> Self {
        MemoryDirectory {
            domains: HashSet::new(),
            catch_all: HashSet::new(),
            accounts: Mutex::new(HashMap::new()),
            aliases: HashMap::new(),
            lockout_threshold: 5,
        }
    }
}

fn canon(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a local domain.
    pub fn domain(mut self, domain: &str) -> Self {
        self.domains.insert(canon(domain));
        self
    }

    /// Adds a local domain where every local part is accepted (catch-all).
    pub fn catch_all_domain(mut self, domain: &str) -> Self {
        self.domains.insert(canon(domain));
        self.catch_all.insert(canon(domain));
        self
    }

    /// Adds an active account with SMTP enabled.
    pub fn account(self, address: &str, password: &str) -> Self {
        let account = MemoryAccount { password: password.into(), smtp_enabled: true, ..Default::default() };
        self.accounts.lock().expect("directory lock").insert(canon(address), account);
        self
    }

    /// Adds an alias address of an account (account aliases).
    pub fn alias(mut self, account: &str, alias: &str) -> Self {
        let (account, alias) = (canon(account), canon(alias));
        if let Some(a) = self.accounts.lock().expect("directory lock").get_mut(&account) {
            a.aliases.push(alias.clone());
        }
        self.aliases.insert(alias, account);
        self
    }

    /// Turns an account's SMTP service switch off.
    pub fn smtp_disabled(self, address: &str) -> Self {
        self.update(address, |a| a.smtp_enabled = false);
        self
    }

    /// Marks a mailbox full.
    pub fn over_quota(self, address: &str) -> Self {
        self.update(address, |a| a.room = Some(0));
        self
    }

    /// Gives a mailbox `bytes` of free room.
    pub fn room(self, address: &str, bytes: usize) -> Self {
        self.update(address, |a| a.room = Some(bytes));
        self
    }

    /// Limits the size of messages a mailbox accepts (the domain plan's limit in the engine).
    pub fn max_message(self, address: &str, bytes: usize) -> Self {
        self.update(address, |a| a.max_message = Some(bytes));
        self
    }

    /// Status of one recipient for a message of `size` bytes.
    fn status(&self, address: &str, size: usize) -> RecipientStatus {
        let address = canon(address);
        let target = self.aliases.get(&address).cloned().unwrap_or(address.clone());
        let accounts = self.accounts.lock().expect("directory lock");
        match accounts.get(&target) {
            Some(MemoryAccount { max_message: Some(limit), .. }) if size > *limit => {
                RecipientStatus::TooLarge { limit: *limit }
            }
            Some(MemoryAccount { room: Some(room), .. }) if size.max(1) > *room => RecipientStatus::OverQuota,
            Some(_) => RecipientStatus::Accept,
            None if self.catch_all.contains(domain_of(&address)) => RecipientStatus::Accept,
            None => RecipientStatus::Unknown,
        }
    }

    /// Locks an account.
    pub fn locked(self, address: &str) -> Self {
        self.update(address, |a| a.locked = true);
        self
    }

    /// Consecutive failed logins that lock an account (a domain setting in the engine).
    pub fn lockout_threshold(mut self, failures: u32) -> Self {
        self.lockout_threshold = failures;
        self
    }

    /// Resets the password and unlocks, as an admin's password reset does.
    pub fn reset_password(&self, address: &str, password: &str) {
        self.update(address, |a| {
            a.password = password.into();
            a.locked = false;
            a.failures = 0;
        });
    }

    /// Whether the account is currently locked.
    pub fn is_locked(&self, address: &str) -> bool {
        self.accounts.lock().expect("directory lock").get(&canon(address)).is_some_and(|a| a.locked)
    }

    fn update(&self, address: &str, f: impl FnOnce(&mut MemoryAccount)) {
        if let Some(a) = self.accounts.lock().expect("directory lock").get_mut(&canon(address)) {
            f(a);
        }
    }
}

#[async_trait]
impl Directory for MemoryDirectory {
    async fn resolve_recipient(&self, address: &str, size_hint: usize) -> Result<RecipientStatus, DirectoryError> {
        Ok(self.status(address, size_hint))
    }

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _client: std::net::IpAddr,
    ) -> Result<AuthOutcome, DirectoryError> {
        let user = canon(user);
        let mut accounts = self.accounts.lock().expect("directory lock");
        let Some(a) = accounts.get_mut(&user) else {
            return Ok(AuthOutcome::WrongPassword);
        };
        if a.locked {
            return Ok(AuthOutcome::Locked);
        }
        if a.password.is_empty() || a.password != password {
            a.failures += 1;
            if a.failures >= self.lockout_threshold {
                a.locked = true;
            }
            return Ok(AuthOutcome::WrongPassword);
        }
        a.failures = 0;
        if !a.smtp_enabled {
            return Ok(AuthOutcome::SmtpDisabled);
        }
        Ok(AuthOutcome::Authenticated(Account { id: user.clone(), address: user }))
    }

    async fn sender_addresses(&self, account: &Account) -> Result<Vec<String>, DirectoryError> {
        let accounts = self.accounts.lock().expect("directory lock");
        let mut out = vec![account.address.clone()];
        if let Some(a) = accounts.get(&account.id) {
            out.extend(a.aliases.iter().cloned());
        }
        Ok(out)
    }

    async fn is_local_domain(&self, domain: &str) -> Result<bool, DirectoryError> {
        Ok(self.domains.contains(&canon(domain)))
    }
}

#[cfg(test)]
mod tests {
    const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    use super::*;

    #[tokio::test]
    async fn lockout_after_threshold_and_reset_unlocks() {
        let dir =
            MemoryDirectory::new().domain("example.test").account("ann@example.test", "right").lockout_threshold(2);
        assert_eq!(dir.authenticate("ann@example.test", "wrong", LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
        assert_eq!(dir.authenticate("ann@example.test", "wrong", LOOPBACK).await.unwrap(), AuthOutcome::WrongPassword);
        assert_eq!(dir.authenticate("ann@example.test", "right", LOOPBACK).await.unwrap(), AuthOutcome::Locked);
        dir.reset_password("ann@example.test", "new");
        assert!(matches!(
            dir.authenticate("ANN@example.test", "new", LOOPBACK).await.unwrap(),
            AuthOutcome::Authenticated(_)
        ));
    }

    #[tokio::test]
    async fn aliases_resolve_and_may_send() {
        let dir = MemoryDirectory::new()
            .domain("example.test")
            .account("ann@example.test", "pw")
            .alias("ann@example.test", "sales@example.test");
        assert_eq!(dir.resolve_recipient("Sales@example.test", 0).await.unwrap(), RecipientStatus::Accept);
        assert_eq!(dir.resolve_recipient("bob@example.test", 0).await.unwrap(), RecipientStatus::Unknown);
        let account = Account { id: "ann@example.test".into(), address: "ann@example.test".into() };
        assert_eq!(
            dir.sender_addresses(&account).await.unwrap(),
            vec!["ann@example.test".to_string(), "sales@example.test".to_string()]
        );
    }
}
