//! Where remote secrets live (an admin API token of a remote backend, a smarthost relay's
//! password or bearer token): behind [`SecretStore`], so that the engine stays free of the
//! OS keyring. `postdesk serve` keeps them in write-only files of its data folder (mode
//! 0600, the engine's `FileSecrets`); the desktop app in the OS keyring (the app's
//! `Keyring`).
//!
//! Invariants:
//! * a secret is only ever held as [`Sensitive`], whose `Debug` and `Display` print `***`;
//! * a missing entry is `Ok(None)`, not an error; every other failure is `Unavailable`
//!   with the store's message (which never contains the secret).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Result;

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    /// The secret itself, for the one place that needs it (a request header, the store).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive(***)")
    }
}

impl<T> std::fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where secrets are kept, one per account name (a backend id, `relay-…`).
///
/// Calls may block (D-Bus on Linux, file I/O): call them from a blocking thread.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret of `account`, `None` when there is none.
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>>;
    /// Stores (or replaces) the secret of `account`.
    fn set(&self, account: &str, secret: &Sensitive<String>) -> Result<()>;
    /// Forgets the secret of `account`; no entry is not an error.
    fn delete(&self, account: &str) -> Result<()>;
}

/// A store in memory, for unit tests and an engine without a data folder.
#[derive(Debug, Default)]
pub struct MemoryStore {
    secrets: Mutex<HashMap<String, Sensitive<String>>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sensitive<String>>> {
        self.secrets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>> {
        Ok(self.lock().get(account).cloned())
    }
    fn set(&self, account: &str, secret: &Sensitive<String>) -> Result<()> {
        self.lock().insert(account.to_string(), secret.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.lock().remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_never_prints_its_value() {
        let s = Sensitive("pd_supersecret".to_string());
        assert_eq!(format!("{s:?}"), "Sensitive(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Sensitive(***))");
        assert_eq!(s.expose(), "pd_supersecret");
    }

    #[test]
    fn memory_store_forgets_and_replaces() {
        let store = MemoryStore::default();
        assert_eq!(store.get("a").unwrap(), None);
        store.set("a", &Sensitive("one".into())).unwrap();
        store.set("a", &Sensitive("two".into())).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose(), "two");
        store.delete("a").unwrap();
        store.delete("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
    }
}
