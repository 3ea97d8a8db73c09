//! The smarthost relays' admin operations and the delivery worker's look-up
//! ([`OutboundQueue::outbound_relay`](postdesk_contract::mail::OutboundQueue::outbound_relay)),
//! and [`FileSecrets`], the secret store of an engine with a data folder (`postdesk serve`,
//! the CLI).
//!
//! Invariants:
//! * a relay's settings are rows of `outbound_relays`; its secret is only ever in the
//!   engine's [`SecretStore`] (write-only: `secret_set` says whether there is one), never
//!   in a row, an answer or the audit log;
//! * a relay and its secret change together: the secret is written (or removed) inside the
//!   settings' write transaction, before the commit, so a failed write changes nothing;
//! * `auth: none` keeps no secret.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postdesk_contract::relay::{Relay, RelayAuth, RelayRoute, RelayTls, secret_account};
use postdesk_contract::secret::{SecretStore, Sensitive};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, page_limit};
use crate::sql;
use crate::store::blocking;
use crate::{Engine, EngineBackend, Operation, validate};

/// Longest user name and secret accepted (an OAuth2 access token can be a few KiB).
const MAX_USERNAME: usize = 256;
const MAX_SECRET: usize = 16 * 1024;

/// The admin operations: server-wide, so page `smtp` and every domain.
fn require(b: &EngineBackend) -> Result<()> {
    b.caller.require(Page::Smtp, None)
}

/// `None` (the global relay) → `*`; a domain → canonical.
fn scope(sender_domain: Option<&str>) -> Result<Option<String>> {
    match sender_domain.map(str::trim) {
        None | Some("") | Some("*") => Ok(None),
        Some(d) => validate::domain(d).map(Some).map_err(|e| e.with_field("sender_domain")),
    }
}

fn scope_key(domain: Option<&str>) -> &str {
    domain.unwrap_or("*")
}

fn from_row(row: sql::relay::Row, secret_set: bool) -> Relay {
    let (scope, host, port, tls, verify_certificate, auth, username) = row;
    Relay {
        sender_domain: (scope != "*").then_some(scope),
        host,
        port: port.clamp(1, 65535) as u16,
        tls: RelayTls::parse(&tls).unwrap_or_default(),
        verify_certificate,
        auth: RelayAuth::parse(&auth).unwrap_or_default(),
        username,
        secret_set,
    }
}

impl Engine {
    async fn secret(&self, account: String) -> Result<Option<Sensitive<String>>> {
        let store = self.secrets.clone();
        blocking(move || store.get(&account)).await
    }

    /// Keeps relay secrets (and any other) in `store` instead of the data folder's files:
    /// the desktop app passes the OS keyring.
    pub fn with_secret_store(mut self, store: Arc<dyn SecretStore>) -> Engine {
        self.secrets = store;
        self
    }
}

pub(crate) async fn list(b: &EngineBackend, p: ListRelays) -> Result<CursorPage<Relay>> {
    require(b)?;
    let limit = page_limit(p.limit)?;
    let mut rows = sql::relay::list(&mut *b.engine.read().await?, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.0.clone())
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let domain = (row.0 != "*").then(|| row.0.clone());
        let set = b.engine.secret(secret_account(domain.as_deref())).await?.is_some();
        items.push(from_row(row, set));
    }
    Ok(CursorPage { items, next })
}

fn valid_text(value: &str, field: &str, what: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::validation(format!("the {what} is longer than {max} bytes")).with_field(field));
    }
    if value.chars().any(char::is_control) {
        return Err(
            Error::validation(format!("the {what} may not hold control characters or line breaks")).with_field(field)
        );
    }
    Ok(())
}

pub(crate) async fn set(b: &EngineBackend, p: SetRelay) -> Result<Relay> {
    require(b)?;
    let domain = scope(p.sender_domain.as_deref())?;
    let host = p.host.trim().to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::validation(format!("'{}' is not a host name or IP address", p.host)).with_field("host"));
    }
    if p.port == 0 {
        return Err(Error::validation("the port must be 1–65535").with_field("port"));
    }
    let auth = p.auth.unwrap_or_default();
    let username = p.username.as_deref().unwrap_or("").trim().to_string();
    valid_text(&username, "username", "user name", MAX_USERNAME)?;
    let secret = p.secret.map(|s| s.0);
    if let Some(s) = &secret {
        valid_text(s, "secret", "secret", MAX_SECRET)?;
    }
    if auth == RelayAuth::None {
        if !username.is_empty() {
            return Err(Error::validation("a user name needs an AUTH mechanism (plain, login or xoauth2)")
                .with_field("username"));
        }
        if secret.is_some() {
            return Err(
                Error::validation("a secret needs an AUTH mechanism (plain, login or xoauth2)").with_field("secret")
            );
        }
    } else {
        if username.is_empty() {
            return Err(Error::validation(format!("AUTH {} needs a user name", auth.name().to_uppercase()))
                .with_field("username"));
        }
        if secret.as_deref() == Some("") {
            return Err(Error::validation("the secret is empty").with_field("secret"));
        }
    }
    let key = scope_key(domain.as_deref()).to_string();
    let account = secret_account(domain.as_deref());
    let had_secret = b.engine.secret(account.clone()).await?.is_some();
    if auth != RelayAuth::None && secret.is_none() && !had_secret {
        let what = if auth == RelayAuth::Xoauth2 { "an OAuth2 bearer token" } else { "a password" };
        return Err(Error::validation(format!("AUTH {} needs {what}", auth.name().to_uppercase())).with_field("secret"));
    }
    let tls = p.tls.unwrap_or_default();
    let verify = p.verify_certificate.unwrap_or(true);
    let row = (key.clone(), host, i64::from(p.port), tls.name().to_string(), verify, auth.name().to_string(), username);

    let mut tx = b.engine.write().await?;
    let before = sql::relay::get(&mut tx, &key).await?.map(|r| from_row(r, had_secret));
    sql::relay::set(&mut tx, &row).await?;
    // The secret changes with the row, before the commit: a failed write changes nothing.
    let store = b.engine.secrets.clone();
    let wrote = secret.is_some();
    let secret_set = match (auth, secret) {
        (RelayAuth::None, _) => {
            let account = account.clone();
            blocking(move || store.delete(&account)).await?;
            false
        }
        (_, Some(secret)) => {
            let account = account.clone();
            blocking(move || store.set(&account, &Sensitive(secret))).await?;
            true
        }
        (_, None) => had_secret,
    };
    let relay = from_row(row, secret_set);
    // Whether a secret was written or removed (the audit says so; never what it is).
    let changed = wrote || (had_secret && !secret_set);
    let after = serde_json::json!({ "relay": &relay, "secret_changed": changed });
    let change = Change { action: SetRelay::NAME, domain: None, target: &key };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&after)).await?;
    tx.commit().await?;
    Ok(relay)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveRelay) -> Result<()> {
    require(b)?;
    let domain = scope(p.sender_domain.as_deref())?;
    let key = scope_key(domain.as_deref()).to_string();
    let account = secret_account(domain.as_deref());
    let mut tx = b.engine.write().await?;
    let Some(row) = sql::relay::get(&mut tx, &key).await? else {
        let what = domain.map_or("no global relay".to_string(), |d| format!("no relay for mail from {d}"));
        return Err(Error::not_found(format!("there is {what}")).with_field("sender_domain"));
    };
    let had = b.engine.secret(account.clone()).await?.is_some();
    let before = from_row(row, had);
    sql::relay::remove(&mut tx, &key).await?;
    let store = b.engine.secrets.clone();
    blocking(move || store.delete(&account)).await?;
    let change = Change { action: RemoveRelay::NAME, domain: None, target: &key };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), None::<&()>).await?;
    tx.commit().await?;
    Ok(())
}

impl Engine {
    /// See [`OutboundQueue::outbound_relay`](postdesk_contract::mail::OutboundQueue::outbound_relay).
    pub async fn outbound_relay(&self, sender_domain: &str) -> Result<Option<RelayRoute>> {
        let domain = validate::domain(sender_domain).ok();
        let row = {
            let mut conn = self.read().await?;
            let own = match &domain {
                Some(d) => sql::relay::get(&mut conn, d).await?,
                None => None,
            };
            match own {
                Some(row) => Some(row),
                None => sql::relay::get(&mut conn, "*").await?,
            }
        };
        let Some(row) = row else { return Ok(None) };
        let scope = (row.0 != "*").then(|| row.0.clone());
        let secret = if RelayAuth::parse(&row.5).unwrap_or_default() == RelayAuth::None {
            None
        } else {
            self.secret(secret_account(scope.as_deref())).await?
        };
        Ok(Some(RelayRoute { relay: from_row(row, secret.is_some()), secret }))
    }
}

/// Secrets as files of one folder (`<data>/secrets/<account>`): the folder 0700, each
/// file 0600 and written whole (a temporary file renamed over it). What `postdesk serve`
/// and the CLI use; the desktop app uses the OS keyring instead.
#[derive(Debug, Clone)]
pub struct FileSecrets {
    dir: PathBuf,
}

impl FileSecrets {
    /// The store in `dir` (created on the first write).
    pub fn new(dir: &Path) -> FileSecrets {
        FileSecrets { dir: dir.to_path_buf() }
    }

    /// The names of the secrets kept here.
    pub fn names(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unavailable("list", &self.dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| unavailable("list", &self.dir, e))?;
            if let Some(name) = entry.file_name().to_str().filter(|n| self.path(n).is_ok()) {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn path(&self, account: &str) -> Result<PathBuf> {
        let ok = !account.is_empty()
            && account.len() <= 255
            && !account.starts_with('.')
            && account.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return Err(Error::internal(format!("'{account}' is not a secret name")));
        }
        Ok(self.dir.join(account))
    }
}

fn unavailable(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot {what} the secret file {}: {e}", path.display()))
}

impl SecretStore for FileSecrets {
    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>> {
        let path = self.path(account)?;
        match std::fs::read_to_string(&path) {
            // A final line break (a file written by hand) is not part of the secret.
            Ok(s) => {
                let s = s.strip_suffix('\n').map_or(s.as_str(), |s| s.strip_suffix('\r').unwrap_or(s));
                Ok(Some(Sensitive(s.to_string())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable("read", &path, e)),
        }
    }

    fn set(&self, account: &str, secret: &Sensitive<String>) -> Result<()> {
        use std::io::Write;
        let path = self.path(account)?;
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.dir).map_err(|e| unavailable("create the folder of", &path, e))?;
        let tmp = self.dir.join(format!(".{account}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(&tmp)?;
            #[cfg(unix)]
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            file.write_all(secret.expose().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            unavailable("write", &path, e)
        })
    }

    fn delete(&self, account: &str) -> Result<()> {
        let path = self.path(account)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable("remove", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn file_secrets_are_0600_in_a_0700_folder_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FileSecrets::new(&dir.path().join("secrets"));
        assert_eq!(store.get("relay.all").unwrap(), None);
        store.set("relay.all", &Sensitive("one".into())).unwrap();
        store.set("relay.all", &Sensitive("two".into())).unwrap();
        assert_eq!(store.get("relay.all").unwrap().unwrap().expose(), "two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("secrets/relay.all")), 0o600);
        assert_eq!(mode(&dir.path().join("secrets")), 0o700);
        assert_eq!(std::fs::read_dir(dir.path().join("secrets")).unwrap().count(), 1, "no temporary file left");
        store.delete("relay.all").unwrap();
        store.delete("relay.all").unwrap();
        assert_eq!(store.get("relay.all").unwrap(), None);
        assert!(store.set("../escape", &Sensitive("x".into())).is_err());
        assert!(store.get(".hidden").is_err());
    }
}
