//! Secrets (API tokens) in the OS credential store, and a wrapper that keeps them out of logs.
//!
//! Invariants:
//! * a secret is only ever held as [`Sensitive`], whose `Debug` and `Display` print `***`;
//! * the keyring service name is namespaced by build kind ([`Namespace`]), so a debug
//!   build never reads or overwrites the tokens of the installed release, and tests use
//!   their own namespace;
//! * a missing entry is `Ok(None)`, not an error; every other keyring failure is
//!   `Unavailable` with the store's message (which never contains the secret).

use postdesk_contract::{Error, Result};

/// The secret-store seam and its wrapper live in the contract (the engine keeps relay
/// secrets through it too); this module adds the OS keyring.
pub use postdesk_contract::secret::{MemoryStore, SecretStore, Sensitive};

/// Which set of secrets a store reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// The app as built: `release` or `debug` (a development build never touches the
    /// installed app's tokens).
    Build,
    /// A named set for tests, e.g. `test-keyring`.
    Test(String),
}

/// The app identifier the service names start with (also the data folder's name).
pub const SERVICE_PREFIX: &str = postdesk_engine::APP_IDENTIFIER;

impl Namespace {
    /// The keyring service name, e.g. `dev.postdesk.app.release`.
    pub fn service(&self) -> String {
        match self {
            Namespace::Build if cfg!(debug_assertions) => format!("{SERVICE_PREFIX}.debug"),
            Namespace::Build => format!("{SERVICE_PREFIX}.release"),
            Namespace::Test(name) => format!("{SERVICE_PREFIX}.{name}"),
        }
    }
}

/// The OS credential store: Secret Service on Linux, Keychain on macOS, Credential
/// Manager on Windows.
#[derive(Debug, Clone)]
pub struct Keyring {
    service: String,
}

impl Keyring {
    /// The store of `namespace`.
    pub fn new(namespace: &Namespace) -> Self {
        Keyring { service: namespace.service() }
    }

    /// The service name entries are filed under.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account).map_err(unavailable)
    }
}

fn unavailable(e: keyring::Error) -> Error {
    Error::unavailable(format!("the OS keyring failed: {e}"))
}

impl SecretStore for Keyring {
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(Sensitive(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn set(&self, account: &str, secret: &Sensitive<String>) -> Result<()> {
        self.entry(account)?.set_password(secret.expose()).map_err(unavailable)
    }

    fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_never_share_a_service() {
        let build = Namespace::Build.service();
        let test = Namespace::Test("test-keyring".into()).service();
        assert!(build.starts_with("dev.postdesk.app."));
        assert_eq!(build, if cfg!(debug_assertions) { "dev.postdesk.app.debug" } else { "dev.postdesk.app.release" });
        assert_eq!(test, "dev.postdesk.app.test-keyring");
        assert_ne!(build, test);
    }
}
