//! The backends the app manages: the bundled one (`local`) and the remote ones.
//!
//! Invariants:
//! * `local` is always first and always there; it acts as the local owner;
//! * a remote backend is saved only after it answered `whoami` with its token, and its
//!   token goes to the [`SecretStore`] before its entry goes to the list (so there is
//!   never an entry whose token was never stored); removing it forgets both;
//! * the backend list probes every remote backend concurrently with a short timeout, so
//!   one dead server never holds up the sidebar.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::ipc::{AddRemoteBackend, BackendInfo, BackendKind, BackendStatus};
use postdesk_client::{Options, RemoteBackend, Token};
use postdesk_contract::api::{Backend, ListTokens, RevokeToken, RotateOwnToken, WhoAmI, dispatch};
use postdesk_contract::model::MAX_PAGE;
use postdesk_contract::{Error, ErrorCode, Result};
use postdesk_engine::LocalBackend;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::registry::{LOCAL_ID, Registry, RemoteEntry};
use crate::rotation::{Rotation, rotation_due, token_id};
use crate::secret::{SecretStore, Sensitive};

/// Name of the bundled backend in the sidebar.
pub const LOCAL_NAME: &str = "This computer";

/// How long the sidebar waits for a remote backend's `whoami`.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The backends, their tokens and open connections.
#[derive(Debug)]
pub struct Backends {
    local: LocalBackend,
    registry: Mutex<Registry>,
    secrets: Arc<dyn SecretStore>,
    clients: Mutex<HashMap<String, Arc<RemoteBackend>>>,
    probe_timeout: Duration,
    /// Held for a whole token rotation, so two never make two successors of one token.
    rotating: Mutex<()>,
}

impl Backends {
    /// The bundled backend `local` plus the remote ones of `registry`, tokens in `secrets`.
    pub fn new(local: LocalBackend, registry: Registry, secrets: Arc<dyn SecretStore>) -> Self {
        Backends {
            local,
            registry: Mutex::new(registry),
            secrets,
            clients: Mutex::new(HashMap::new()),
            probe_timeout: PROBE_TIMEOUT,
            rotating: Mutex::new(()),
        }
    }

    /// Changes how long a status probe may take.
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// The bundled backend.
    pub fn local(&self) -> &LocalBackend {
        &self.local
    }

    /// All backends with their current status: `local` first, then the remote ones in
    /// the order they were added.
    pub async fn list(&self) -> Vec<BackendInfo> {
        let entries = self.registry.lock().await.entries().to_vec();
        let probes = entries.iter().map(|entry| self.probe(entry));
        let mut list = vec![local_info()];
        list.extend(futures::future::join_all(probes).await);
        list
    }

    async fn probe(&self, entry: &RemoteEntry) -> BackendInfo {
        let outcome = match self.client(entry).await {
            Ok(client) => match tokio::time::timeout(self.probe_timeout, client.whoami(WhoAmI {})).await {
                Ok(result) => result.map(|_| ()),
                Err(_) => Err(Error::unavailable(format!("no answer within {} s", self.probe_timeout.as_secs_f32()))),
            },
            Err(e) => Err(e),
        };
        remote_info(entry, outcome)
    }

    /// Adds a remote backend after checking that it answers with this token.
    pub async fn add_remote(&self, input: AddRemoteBackend) -> Result<BackendInfo> {
        let AddRemoteBackend { name, url, token, ca_cert_pem } = input;
        let token = Sensitive(token.trim().to_string());
        let url = url.trim().trim_end_matches('/').to_string();
        let ca_cert_pem = ca_cert_pem.filter(|pem| !pem.trim().is_empty());
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(Error::validation("give the backend a name").with_field("name"));
        }
        if name.chars().count() > 100 {
            return Err(Error::validation("the name is longer than 100 characters").with_field("name"));
        }
        if token.expose().is_empty() {
            return Err(Error::validation("paste the backend's API token").with_field("token"));
        }
        if ca_cert_pem.as_deref().is_some_and(|pem| !pem.contains("-----BEGIN CERTIFICATE-----")) {
            // reqwest accepts text without any certificate in it; say so instead of ignoring it.
            return Err(Error::validation("paste the certificate in PEM form (-----BEGIN CERTIFICATE----- …)")
                .with_field("certificate"));
        }
        let client = connect(&url, &token, ca_cert_pem.clone(), None)?;
        if let Some(existing) = self.registry.lock().await.find_url(&url) {
            return Err(Error::conflict(format!("this backend is already in the list as \"{}\"", existing.name))
                .with_field("url"));
        }
        check_answers(&client, self.probe_timeout.max(Duration::from_secs(10))).await?;

        let mut registry = self.registry.lock().await;
        if registry.find_url(&url).is_some() {
            return Err(Error::conflict("this backend was just added").with_field("url"));
        }
        let entry = RemoteEntry { id: registry.new_id(&name), name, url, ca_cert_pem };
        self.secret_set(&entry.id, token).await?;
        if let Err(e) = registry.add(entry.clone()) {
            let _ = self.secret_delete(&entry.id).await;
            return Err(e);
        }
        drop(registry);
        self.clients.lock().await.insert(entry.id.clone(), Arc::new(client));
        tracing::info!(id = %entry.id, url = %entry.url, "remote backend added");
        Ok(remote_info(&entry, Ok(())))
    }

    /// Forgets a remote backend and its token.
    pub async fn remove(&self, id: &str) -> Result<()> {
        if id == LOCAL_ID {
            return Err(Error::validation("the local backend cannot be removed"));
        }
        let mut registry = self.registry.lock().await;
        if registry.get(id).is_none() {
            return Err(Error::not_found(format!("no backend with id {id}")));
        }
        self.secret_delete(id).await?;
        registry.remove(id)?;
        drop(registry);
        self.clients.lock().await.remove(id);
        tracing::info!(id, "remote backend removed");
        Ok(())
    }

    /// The registry's entry of remote backend `id`.
    async fn entry(&self, id: &str) -> Result<RemoteEntry> {
        self.registry.lock().await.get(id).cloned().ok_or_else(|| Error::not_found(format!("no backend with id {id}")))
    }

    /// Runs the operation `operation` with JSON `params` on backend `id`.
    pub async fn call(&self, id: &str, operation: &str, params: Value) -> Result<Value> {
        if id == LOCAL_ID {
            return dispatch(&self.local, operation, params).await;
        }
        let entry = self.entry(id).await?;
        let client = self.client(&entry).await?;
        dispatch(client.as_ref(), operation, params).await
    }

    /// Rotates every remote backend's token that is due ([`rotation_due`]); one backend's
    /// failure (offline, refused) is reported for it and the others go on.
    pub async fn rotate_tokens(&self, now: time::OffsetDateTime) -> Vec<(String, Result<Rotation>)> {
        let ids: Vec<String> = self.registry.lock().await.entries().iter().map(|e| e.id.clone()).collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = self.rotate_token(&id, now).await;
            match &outcome {
                Ok(Rotation::Rotated { old, new, old_revoked, .. }) => {
                    tracing::info!(backend = %id, old = %old, new = %new, old_revoked, "API token rotated")
                }
                Ok(Rotation::NotDue { .. }) => {}
                Err(e) => tracing::warn!(backend = %id, error = %e.message, "API token not rotated"),
            }
            out.push((id, outcome));
        }
        out
    }

    /// Replaces remote backend `id`'s token with its successor when it is due at `now`:
    /// the server makes the successor (`rotate_own_token`), the successor goes to the
    /// keyring and into use, and only then is the old token revoked — with the successor, so
    /// the revocation also proves it works. If the keyring refuses the successor, the old
    /// token stays in use and the successor is revoked; if the answer is lost, the old token
    /// still works and the next check tries again.
    pub async fn rotate_token(&self, id: &str, now: time::OffsetDateTime) -> Result<Rotation> {
        let _turn = self.rotating.lock().await;
        let entry = self.entry(id).await?;
        let secret = self.secret_get(id).await?.ok_or_else(|| {
            Error::unauthenticated("the OS keyring has no token for this backend: remove it and add it again")
        })?;
        let old_id = token_id(secret.expose())
            .ok_or_else(|| Error::validation("the stored token is not a Postdesk API token (pd_…)"))?
            .to_string();
        let client = self.client(&entry).await?;
        // The caller's own tokens, page after page until this app's shows up.
        let mut after = None;
        let current = loop {
            let page = client
                .list_tokens(ListTokens { after: after.clone(), limit: Some(MAX_PAGE), ..Default::default() })
                .await?;
            if let Some(token) = page.items.into_iter().find(|t| t.id == old_id) {
                break token;
            }
            match page.next {
                Some(next) if after.as_ref() != Some(&next) => after = Some(next),
                _ => return Err(Error::not_found(format!("the backend does not list this app's token {old_id}"))),
            }
        };
        if !rotation_due(&current.created_at, current.expires_at.as_deref(), now) {
            return Ok(Rotation::NotDue { expires_at: current.expires_at.clone() });
        }
        let new = client.rotate_own_token(RotateOwnToken { id: old_id.clone(), expires_in_days: None }).await?;
        let new_secret = Sensitive(new.secret.clone());
        let new_client = Arc::new(connect(&entry.url, &new_secret, entry.ca_cert_pem.clone(), None)?);
        if let Err(e) = self.secret_set(id, new_secret).await {
            // The old token stays in use; the successor nobody holds goes.
            let _ = client.revoke_token(RevokeToken { id: new.token.id.clone() }).await;
            return Err(e);
        }
        self.clients.lock().await.insert(id.to_string(), new_client.clone());
        let old_revoked = match new_client.revoke_token(RevokeToken { id: old_id.clone() }).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(backend = %id, error = %e.message, "the old API token could not be revoked; it ends at its expiry");
                false
            }
        };
        Ok(Rotation::Rotated { old: old_id, new: new.token.id, expires_at: new.token.expires_at, old_revoked })
    }

    /// The connection to a remote backend, opened with its token from the keyring.
    async fn client(&self, entry: &RemoteEntry) -> Result<Arc<RemoteBackend>> {
        if let Some(client) = self.clients.lock().await.get(&entry.id) {
            return Ok(client.clone());
        }
        let token = self.secret_get(&entry.id).await?.ok_or_else(|| {
            Error::unauthenticated("the OS keyring has no token for this backend: remove it and add it again")
        })?;
        let client = Arc::new(connect(&entry.url, &token, entry.ca_cert_pem.clone(), None)?);
        self.clients.lock().await.insert(entry.id.clone(), client.clone());
        Ok(client)
    }

    async fn secret_get(&self, account: &str) -> Result<Option<Sensitive<String>>> {
        let (secrets, account) = (self.secrets.clone(), account.to_string());
        blocking(move || secrets.get(&account)).await
    }

    async fn secret_set(&self, account: &str, secret: Sensitive<String>) -> Result<()> {
        let (secrets, account) = (self.secrets.clone(), account.to_string());
        blocking(move || secrets.set(&account, &secret)).await
    }

    async fn secret_delete(&self, account: &str) -> Result<()> {
        let (secrets, account) = (self.secrets.clone(), account.to_string());
        blocking(move || secrets.delete(&account)).await
    }
}

/// Runs a (D-Bus) keyring call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("keyring task failed: {e}")))?
}

fn connect(
    url: &str,
    token: &Sensitive<String>,
    ca_cert_pem: Option<String>,
    timeout: Option<Duration>,
) -> Result<RemoteBackend> {
    RemoteBackend::new(url, Token::new(token.expose().clone()), Options { ca_cert_pem, timeout })
}

/// `whoami` within `timeout`, with errors pointing at the field to fix.
async fn check_answers(client: &RemoteBackend, timeout: Duration) -> Result<()> {
    match tokio::time::timeout(timeout, client.whoami(WhoAmI {})).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if matches!(e.code, ErrorCode::Unauthenticated | ErrorCode::PermissionDenied) => {
            Err(Error::new(e.code, format!("the backend refused this token: {}", e.message)).with_field("token"))
        }
        Ok(Err(e)) => Err(Error::unavailable(format!("the backend did not answer: {}", e.message)).with_field("url")),
        Err(_) => {
            Err(Error::unavailable(format!("the backend did not answer within {} s", timeout.as_secs()))
                .with_field("url"))
        }
    }
}

fn local_info() -> BackendInfo {
    BackendInfo {
        id: LOCAL_ID.to_string(),
        name: LOCAL_NAME.to_string(),
        kind: BackendKind::Local,
        url: None,
        status: BackendStatus::Online,
        error: None,
    }
}

fn remote_info(entry: &RemoteEntry, outcome: Result<()>) -> BackendInfo {
    let (status, error) = match outcome {
        Ok(()) => (BackendStatus::Online, None),
        Err(e) if matches!(e.code, ErrorCode::Unauthenticated | ErrorCode::PermissionDenied) => {
            (BackendStatus::Unauthorized, Some(e.message))
        }
        Err(e) => (BackendStatus::Unreachable, Some(e.message)),
    };
    BackendInfo {
        id: entry.id.clone(),
        name: entry.name.clone(),
        kind: BackendKind::Remote,
        url: Some(entry.url.clone()),
        status,
        error,
    }
}
