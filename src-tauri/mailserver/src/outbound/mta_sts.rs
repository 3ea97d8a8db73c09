//! MTA-STS (RFC 8461): a recipient domain that publishes an `_mta-sts` TXT record has a
//! policy at `https://mta-sts.<domain>/.well-known/mta-sts.txt`. It is fetched over HTTPS
//! (certificate verified, no redirects, at most [`MAX_POLICY`] bytes, a time-out), kept for
//! its `max_age`, and fetched again when the record's id changes (§5.1). A kept policy
//! still applies when the record disappears or the fetch fails (that is the point: an
//! attacker who strips the record or blocks the fetch does not turn TLS off); with neither a
//! fetched nor a kept policy, delivery goes on as without MTA-STS.
//!
//! In `enforce` mode delivery goes only to MX hosts the policy names, over STARTTLS with a
//! certificate valid for the MX host's name ([`Sts::verified`]); anything else is a
//! temporary failure with a reply saying why. In `testing` mode the mismatches are logged
//! and delivery goes on as usual.
//!
//! Certificates are checked against the Mozilla roots (webpki-roots) plus the roots an
//! admin (or a test) adds ([`StsOptions::extra_roots`]). Policies are kept in memory and in
//! the store (`OutboundQueue::keep_mta_sts_policy`, at most [`MAX_CACHED`] domains each),
//! each until its `max_age` runs out: after a restart a kept policy still applies, read
//! back from the store the first time its domain is attempted — a restart is no way
//! around a policy either.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postdesk_contract::mail::MailBackend;
use postdesk_contract::outbound::KeptStsPolicy;
use postdesk_dns::DnsLookup;
use postdesk_dns::mta_sts::{StsMode, StsPolicy, parse_policy, record_id, sts_records};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

/// The largest policy file read (RFC 8461 §3.3 suggests 64 KiB).
pub const MAX_POLICY: usize = 64 * 1024;
/// Domains whose policy is kept at most.
pub const MAX_CACHED: usize = 10_000;

fn mode_name(mode: StsMode) -> &'static str {
    match mode {
        StsMode::Enforce => "enforce",
        StsMode::Testing => "testing",
        StsMode::None => "none",
    }
}

/// How policies are fetched and certificates checked.
#[derive(Clone)]
pub struct StsOptions {
    /// Whether MTA-STS is looked up and applied at all.
    pub enabled: bool,
    /// The port of the policy host (443; tests serve the policy elsewhere on loopback).
    pub https_port: u16,
    /// Time-out of the whole fetch (connect, TLS, request, body).
    pub fetch_timeout: Duration,
    /// Roots trusted besides the Mozilla roots (a private CA; tests' CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for StsOptions {
    fn default() -> Self {
        StsOptions { enabled: true, https_port: 443, fetch_timeout: Duration::from_secs(20), extra_roots: Vec::new() }
    }
}

impl std::fmt::Debug for StsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsOptions")
            .field("enabled", &self.enabled)
            .field("https_port", &self.https_port)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// The CA certificates of a PEM file (`serve --outbound-ca-file`), or why there are none.
pub fn read_roots(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// A policy in force for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The policy id (from the TXT record).
    pub id: String,
    /// The policy.
    pub policy: StsPolicy,
}

struct Kept {
    applied: Applied,
    /// UNIX seconds after which it is no longer used.
    until: i64,
}

/// Policy look-ups, the policy cache and the verifying TLS configuration.
pub(crate) struct Sts {
    options: StsOptions,
    tls: Arc<rustls::ClientConfig>,
    kept: Mutex<HashMap<String, Kept>>,
}

impl Sts {
    pub(crate) fn new(options: StsOptions) -> Sts {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &options.extra_roots {
            if let Err(e) = roots.add(cert.clone()) {
                tracing::warn!("an extra TLS root is not usable: {e}");
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|e| panic!("ring offers the default TLS versions: {e}"));
        Sts { options, tls: Arc::new(tls), kept: Mutex::new(HashMap::new()) }
    }

    /// The TLS connector of `enforce` mode: the certificate must chain to a trusted root
    /// and name the host.
    pub(crate) fn verified(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.tls.clone())
    }

    /// The policy in force for `domain` at `now` (UNIX seconds), if any (RFC 8461 §5.1).
    pub(crate) async fn policy(
        &self,
        store: &dyn MailBackend,
        dns: &dyn DnsLookup,
        domain: &str,
        now: i64,
    ) -> Option<Applied> {
        if !self.options.enabled {
            return None;
        }
        let kept = match self.kept(domain, now) {
            Some(k) => Some(k),
            None => self.stored(store, domain, now).await,
        };
        let id = match sts_records(dns, domain).await {
            Ok(records) => match records.as_slice() {
                [one] => record_id(one).ok(),
                _ => None,
            },
            Err(e) => {
                tracing::debug!(%domain, "MTA-STS record look-up failed: {e}");
                None
            }
        };
        let Some(id) = id else { return kept.filter(|k| k.policy.mode != StsMode::None) };
        if kept.as_ref().is_some_and(|k| k.id == id) {
            return kept.filter(|k| k.policy.mode != StsMode::None);
        }
        match self.fetch(dns, domain).await {
            Ok(policy) => {
                let applied = Applied { id, policy };
                tracing::info!(%domain, id = %applied.id, mode = ?applied.policy.mode, "MTA-STS policy fetched");
                self.keep(domain, applied.clone(), now);
                let until = now.saturating_add(applied.policy.max_age.min(i64::MAX as u64) as i64);
                let stored = KeptStsPolicy {
                    domain: domain.to_string(),
                    id: applied.id.clone(),
                    mode: mode_name(applied.policy.mode).to_string(),
                    mx: applied.policy.mx.clone(),
                    max_age: applied.policy.max_age,
                    until,
                };
                if let Err(e) = store.keep_mta_sts_policy(stored, now).await {
                    tracing::warn!(%domain, "MTA-STS policy not stored (kept in memory only): {}", e.message);
                }
                (applied.policy.mode != StsMode::None).then_some(applied)
            }
            Err(e) => {
                tracing::warn!(%domain, "MTA-STS policy not fetched: {e}");
                kept.filter(|k| k.policy.mode != StsMode::None)
            }
        }
    }

    /// The policy the store kept for `domain` (an earlier run's), now kept in memory too.
    async fn stored(&self, store: &dyn MailBackend, domain: &str, now: i64) -> Option<Applied> {
        let stored = match store.mta_sts_policy(domain, now).await {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(%domain, "cannot read the kept MTA-STS policy: {}", e.message);
                return None;
            }
        };
        let mode = match stored.mode.as_str() {
            "enforce" => StsMode::Enforce,
            "testing" => StsMode::Testing,
            _ => StsMode::None,
        };
        let applied = Applied { id: stored.id, policy: StsPolicy { mode, mx: stored.mx, max_age: stored.max_age } };
        let mut map = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() < MAX_CACHED || map.contains_key(domain) {
            map.insert(domain.to_string(), Kept { applied: applied.clone(), until: stored.until });
        }
        Some(applied)
    }

    fn kept(&self, domain: &str, now: i64) -> Option<Applied> {
        let map = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        map.get(domain).filter(|k| k.until > now).map(|k| k.applied.clone())
    }

    fn keep(&self, domain: &str, applied: Applied, now: i64) {
        let mut map = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED && !map.contains_key(domain) {
            map.retain(|_, k| k.until > now);
            if map.len() >= MAX_CACHED {
                let oldest = map.iter().min_by_key(|(_, k)| k.until).map(|(d, _)| d.clone());
                if let Some(d) = oldest {
                    map.remove(&d);
                }
            }
        }
        let until = now.saturating_add(applied.policy.max_age as i64);
        map.insert(domain.to_string(), Kept { applied, until });
    }

    /// Fetches and parses the policy of `domain` (§3.3): HTTPS with a verified
    /// certificate for `mta-sts.<domain>`, a 200 with `text/plain`, no redirects, at most
    /// [`MAX_POLICY`] bytes.
    async fn fetch(&self, dns: &dyn DnsLookup, domain: &str) -> Result<StsPolicy, String> {
        let host = format!("mta-sts.{domain}");
        let ips = dns.query_ips(&host).await.map_err(|e| format!("{host}: {e}"))?.ips();
        if ips.is_empty() {
            return Err(format!("{host} has no address"));
        }
        let port = self.options.https_port;
        let addrs: Vec<SocketAddr> = ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect();
        let url = if port == 443 {
            format!("https://{host}/.well-known/mta-sts.txt")
        } else {
            format!("https://{host}:{port}/.well-known/mta-sts.txt")
        };
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*self.tls).clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.options.fetch_timeout)
            .connect_timeout(self.options.fetch_timeout)
            .resolve_to_addrs(&host, &addrs)
            .user_agent("Postdesk MTA-STS")
            .build()
            .map_err(|e| format!("cannot make an HTTPS client: {e}"))?;
        let work = async {
            let mut response = client.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
            if response.status() != reqwest::StatusCode::OK {
                return Err(format!("{url} answered {}", response.status()));
            }
            let media = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !media.starts_with("text/plain") {
                return Err(format!("{url} is '{media}', not text/plain"));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
                if body.len() + chunk.len() > MAX_POLICY {
                    return Err(format!("{url} is larger than {MAX_POLICY} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(body).map_err(|_| format!("{url} is not UTF-8 text"))?;
            parse_policy(&text).map_err(|e| format!("{url}: {e}"))
        };
        tokio::time::timeout(self.options.fetch_timeout, work).await.map_err(|_| format!("{url}: time-out"))?
    }
}
