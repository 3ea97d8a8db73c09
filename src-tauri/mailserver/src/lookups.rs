//! The engine's answers the mail path asks for again and again, kept for a moment.
//!
//! Every RCPT asks whether the domain is ours, what the address resolves to, the domain's
//! size limit and the policy decision; the end of DATA and the delivery task ask much of it
//! again. Each answer is several SQLite queries, and under load those queries (each a
//! hand-off to the connection's thread) were most of the server's CPU. [`Lookups`] keeps
//! the answers, shared by the directory, the policy and the delivery task, until either
//!
//! * the organisation changes: every change is audited, and the audit log moves
//!   [`ServiceHooks::change_generation`](postdesk_contract::mail::ServiceHooks::change_generation); an entry made under an older generation is not used, so an
//!   admin's change applies to the next message, or
//! * [`TTL`] passes — for changes by another process on the same data folder (the CLI
//!   while `serve` runs), and the instant between a change's audit record and its commit.
//!
//! Mailbox room is never cached (it changes with every delivery), nor are logins.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postdesk_contract::forwarding::Forwarding;
use postdesk_contract::mail::MailBackend;
use postdesk_contract::model::Resolution;
use postdesk_contract::monitor::MonitorRule;
use postdesk_contract::policy::{ClientProtocol, Envelope, PolicyExplanation};
use postdesk_contract::rules::{BccRule, DisclaimerRule};
use postdesk_contract::{ErrorCode, Result};

/// How long an answer is used at most.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries per kind; past it the kind is emptied (cheap, and rare: it takes that many
/// distinct addresses within [`TTL`]).
const MAX_ENTRIES: usize = 8192;

struct Entry<V> {
    generation: u64,
    at: Instant,
    value: V,
}

struct Cache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache { entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self.entries.lock().expect("lookups lock");
        entries.get(key).filter(|e| e.generation == generation && e.at.elapsed() < TTL).map(|e| e.value.clone())
    }

    fn put(&self, key: K, generation: u64, value: V) {
        let mut entries = self.entries.lock().expect("lookups lock");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Entry { generation, at: Instant::now(), value });
    }
}

/// Answers that are the same for everyone asking: found, or definitely not there. A
/// failure of the database is not kept.
fn keepable<T>(r: &Result<T>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => matches!(e.code, ErrorCode::NotFound | ErrorCode::Validation),
    }
}

/// A policy question: sender, recipients, authenticated user, protocol, auto-forward.
type DecisionKey = (String, Vec<String>, Option<String>, ClientProtocol, bool);

struct Inner {
    local_domains: Cache<String, bool>,
    resolutions: Cache<String, Result<Resolution>>,
    limits: Cache<String, Option<u64>>,
    decisions: Cache<DecisionKey, Result<PolicyExplanation>>,
    bcc_rules: Cache<(), Arc<Vec<BccRule>>>,
    disclaimer_rules: Cache<(), Arc<Vec<DisclaimerRule>>>,
    monitor_rules: Cache<(), Arc<Vec<MonitorRule>>>,
    forwardings: Cache<(), Arc<HashMap<String, Forwarding>>>,
}

/// The engine with a short memory for the mail path. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct Lookups {
    backend: Arc<dyn MailBackend>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups").finish_non_exhaustive()
    }
}

impl Lookups {
    /// Lookups over `backend`, empty.
    pub fn new(backend: Arc<dyn MailBackend>) -> Lookups {
        Lookups {
            backend,
            inner: Arc::new(Inner {
                local_domains: Cache::new(),
                resolutions: Cache::new(),
                limits: Cache::new(),
                decisions: Cache::new(),
                bcc_rules: Cache::new(),
                disclaimer_rules: Cache::new(),
                monitor_rules: Cache::new(),
                forwardings: Cache::new(),
            }),
        }
    }

    /// The backend itself, for what is not cached.
    pub fn backend(&self) -> &Arc<dyn MailBackend> {
        &self.backend
    }

    /// [`Directory::is_local_domain`](postdesk_contract::mail::Directory::is_local_domain).
    pub async fn is_local_domain(&self, domain: &str) -> Result<bool> {
        let key = domain.to_ascii_lowercase();
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.local_domains.get(&key, generation) {
            return Ok(v);
        }
        let v = self.backend.is_local_domain(domain).await?;
        self.inner.local_domains.put(key, generation, v);
        Ok(v)
    }

    /// [`Directory::resolve_recipient`](postdesk_contract::mail::Directory::resolve_recipient).
    pub async fn resolve_recipient(&self, address: &str) -> Result<Resolution> {
        let key = address.to_ascii_lowercase();
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.resolutions.get(&key, generation) {
            return v;
        }
        let v = self.backend.resolve_recipient(address).await;
        if keepable(&v) {
            self.inner.resolutions.put(key, generation, v.clone());
        }
        v
    }

    /// [`Directory::domain_message_limit`](postdesk_contract::mail::Directory::domain_message_limit).
    pub async fn domain_message_limit(&self, domain: &str) -> Result<Option<u64>> {
        let key = domain.to_ascii_lowercase();
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.limits.get(&key, generation) {
            return Ok(v);
        }
        let v = self.backend.domain_message_limit(domain).await?;
        self.inner.limits.put(key, generation, v);
        Ok(v)
    }

    /// [`Directory::bcc_rules`](postdesk_contract::mail::Directory::bcc_rules): every
    /// rule, loaded once per organisation change (or [`TTL`]), not once per message.
    pub async fn bcc_rules(&self) -> Result<Arc<Vec<BccRule>>> {
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.bcc_rules.get(&(), generation) {
            return Ok(v);
        }
        let v = Arc::new(self.backend.bcc_rules().await?);
        self.inner.bcc_rules.put((), generation, v.clone());
        Ok(v)
    }

    /// [`Directory::disclaimer_rules`](postdesk_contract::mail::Directory::disclaimer_rules):
    /// every rule, loaded once per organisation change (or [`TTL`]).
    pub async fn disclaimer_rules(&self) -> Result<Arc<Vec<DisclaimerRule>>> {
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.disclaimer_rules.get(&(), generation) {
            return Ok(v);
        }
        let v = Arc::new(self.backend.disclaimer_rules().await?);
        self.inner.disclaimer_rules.put((), generation, v.clone());
        Ok(v)
    }

    /// [`Directory::monitor_rules`](postdesk_contract::mail::Directory::monitor_rules):
    /// every rule, loaded once per organisation change (or [`TTL`]).
    pub async fn monitor_rules(&self) -> Result<Arc<Vec<MonitorRule>>> {
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.monitor_rules.get(&(), generation) {
            return Ok(v);
        }
        let v = Arc::new(self.backend.monitor_rules().await?);
        self.inner.monitor_rules.put((), generation, v.clone());
        Ok(v)
    }

    /// [`Directory::forwardings`](postdesk_contract::mail::Directory::forwardings): the
    /// forwarding of the mailbox at `address` (its own address, lower case), from every
    /// mailbox's loaded once per organisation change (or [`TTL`]).
    pub async fn forwarding(&self, address: &str) -> Result<Option<Forwarding>> {
        let generation = self.backend.change_generation();
        let all = match self.inner.forwardings.get(&(), generation) {
            Some(v) => v,
            None => {
                let v: HashMap<String, Forwarding> =
                    self.backend.forwardings().await?.into_iter().map(|f| (f.address.clone(), f)).collect();
                let v = Arc::new(v);
                self.inner.forwardings.put((), generation, v.clone());
                v
            }
        };
        Ok(all.get(&address.to_ascii_lowercase()).cloned())
    }

    /// The department of `address` if it is an account in one (`None` for anyone else).
    pub async fn department(&self, address: &str) -> Result<Option<String>> {
        match self.backend.effective_settings(address).await {
            Ok(e) => Ok(e.department),
            Err(e)
                if matches!(
                    e.code,
                    postdesk_contract::ErrorCode::NotFound | postdesk_contract::ErrorCode::Validation
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// [`Directory::decide_policy`](postdesk_contract::mail::Directory::decide_policy).
    pub async fn decide_policy(&self, envelope: Envelope) -> Result<PolicyExplanation> {
        let key = (
            envelope.sender.to_ascii_lowercase(),
            envelope.recipients.iter().map(|r| r.to_ascii_lowercase()).collect(),
            envelope.authenticated_user.as_ref().map(|u| u.to_ascii_lowercase()),
            envelope.protocol,
            envelope.auto_forward,
        );
        let generation = self.backend.change_generation();
        if let Some(v) = self.inner.decisions.get(&key, generation) {
            return v;
        }
        let v = self.backend.decide_policy(envelope).await;
        if keepable(&v) {
            self.inner.decisions.put(key, generation, v.clone());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postdesk_contract::Backend;
    use postdesk_contract::api::{CreateAccount, CreateDomain, RemoveAccount};

    #[tokio::test]
    async fn answers_are_kept_until_the_organisation_changes() {
        let engine = postdesk_engine::Engine::open_in_memory().await.unwrap();
        let b = engine.local_backend();
        b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
        let lookups = Lookups::new(Arc::new(engine.clone()));
        assert!(lookups.resolve_recipient("ann@example.com").await.is_err());
        assert!(!lookups.is_local_domain("example.org").await.unwrap());
        b.create_account(CreateAccount {
            address: "ann@example.com".into(),
            display_name: None,
            department: None,
            notes: None,
            password: None,
            force_password_change: None,
            quota_mb: None,
        })
        .await
        .unwrap();
        // The change moved the generation: the refusal kept a moment ago is not used.
        assert_eq!(lookups.resolve_recipient("ANN@example.com").await.unwrap().mailboxes, vec!["ann@example.com"]);
        let kept = lookups.inner.resolutions.get(&"ann@example.com".to_string(), lookups.backend.change_generation());
        assert!(kept.is_some_and(|r| r.is_ok()), "a found address is kept");
        b.remove_account(RemoveAccount { address: "ann@example.com".into() }).await.unwrap();
        let after = lookups.resolve_recipient("ann@example.com").await;
        assert!(after.is_err() || after.unwrap().mailboxes.is_empty(), "a removed account receives nothing");
    }
}
