//! Starting and stopping the whole mail server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use postdesk_core::Engine;
use postdesk_smtp::store::SpoolOptions;
use postdesk_smtp::{
    CountersSnapshot, FileSpool, InboundVerifier, ListenerKind, SmtpProfile, SmtpService, TlsIdentity,
};
use tokio_util::sync::CancellationToken;

use crate::delivery::{self, DeliveryStats, Stats};
use crate::{EngineDirectory, EnginePolicy, Lookups};

/// What to start.
#[derive(Debug, Clone)]
pub struct MailServerOptions {
    /// Listeners: kind and address (port 0 picks a free port).
    pub listeners: Vec<(ListenerKind, SocketAddr)>,
    /// The SMTP profile (host name, limits, built-in checks).
    pub profile: SmtpProfile,
    /// The spool folder (the durable queue between 250 and the mailboxes).
    pub spool_dir: PathBuf,
    /// Where the SMTP certificate is kept (`smtp-cert.pem`, `smtp-key.pem`); a
    /// self-signed one for `tls_names` is made there on first start.
    pub tls_dir: PathBuf,
    /// Names (host names, IP addresses) of the self-signed certificate.
    pub tls_names: Vec<String>,
    /// DNS server for the inbound checks (SPF, DKIM, DMARC, reverse DNS, sender domain);
    /// `None` = the system's resolver.
    pub dns_server: Option<SocketAddr>,
}

impl MailServerOptions {
    /// The three listeners on their default (unprivileged) ports of `ip`, the spool and
    /// certificate in `data_dir`.
    pub fn defaults(data_dir: &std::path::Path, hostname: &str) -> MailServerOptions {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        MailServerOptions {
            listeners: [ListenerKind::Mx, ListenerKind::Submission, ListenerKind::Submissions]
                .into_iter()
                .map(|k| (k, SocketAddr::new(ip, k.default_port())))
                .collect(),
            profile: SmtpProfile { hostname: hostname.to_string(), ..SmtpProfile::default() },
            spool_dir: data_dir.join("spool"),
            tls_dir: data_dir.to_path_buf(),
            tls_names: vec!["localhost".into(), "127.0.0.1".into(), hostname.to_string()],
            dns_server: None,
        }
    }
}

/// The running mail server: SMTP listeners, spool and delivery task.
pub struct MailServer {
    /// Held while running: one mail server per spool (see [`lock_spool`]).
    _spool_lock: std::fs::File,
    service: SmtpService,
    spool: Arc<FileSpool>,
    bound: Vec<(ListenerKind, SocketAddr)>,
    stats: Arc<Stats>,
    stop: CancellationToken,
    delivery: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MailServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServer").field("bound", &self.bound).finish()
    }
}

impl MailServer {
    /// Opens the spool (recovering what a crash left: it is delivered first), starts the
    /// delivery task and binds every listener. Fails without leaving anything running when
    /// a listener cannot be bound, and without touching the spool when another mail server
    /// (the desktop app or `postdesk serve` on the same data folder) has it open.
    pub async fn start(engine: Engine, options: MailServerOptions) -> std::io::Result<MailServer> {
        let spool_lock = lock_spool(&options.spool_dir)?;
        let (spool, recovery) = FileSpool::open(&options.spool_dir, SpoolOptions::default())?;
        if recovery.messages > 0 {
            tracing::info!(messages = recovery.messages, "spool recovered; delivering what is left");
        }
        let spool = Arc::new(spool);
        let lookups = Lookups::new(engine);
        let identity = TlsIdentity::load_or_create(&options.tls_dir, &options.tls_names)?;
        let verifier = match options.dns_server {
            Some(addr) => InboundVerifier::with_server(addr)?,
            None => InboundVerifier::system()?,
        };
        let service = SmtpService::builder(
            options.profile.clone(),
            Arc::new(EngineDirectory::with_lookups(lookups.clone())),
            spool.clone(),
        )
        .policy(Arc::new(EnginePolicy::with_lookups(lookups.clone())))
        .tls(identity)
        .verifier(verifier)
        .build()?;
        let mut bound = Vec::new();
        for (kind, addr) in &options.listeners {
            match service.listen(*kind, *addr).await {
                Ok(local) => bound.push((*kind, local)),
                Err(e) => {
                    service.shutdown(Duration::from_secs(1)).await;
                    spool.close();
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("cannot listen for SMTP ({}) on {addr}: {e}", kind.name()),
                    ));
                }
            }
        }
        let stats = Arc::new(Stats::default());
        let stop = CancellationToken::new();
        let delivery = tokio::spawn(delivery::run(lookups, spool.clone(), stats.clone(), stop.clone()));
        Ok(MailServer { _spool_lock: spool_lock, service, spool, bound, stats, stop, delivery })
    }

    /// The listeners with their bound addresses.
    pub fn bound(&self) -> &[(ListenerKind, SocketAddr)] {
        &self.bound
    }

    /// The SMTP service's live counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.service.counters()
    }

    /// What the delivery into mailboxes has done.
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.stats.snapshot()
    }

    /// Stops gracefully: no new connections, idle sessions get 421, sessions storing a
    /// message finish (up to `grace`); then the spool's writer finishes, and the delivery
    /// task makes one last pass (up to `grace` again; whatever is left is delivered at the
    /// next start).
    pub async fn shutdown(self, grace: Duration) {
        self.service.shutdown(grace).await;
        self.spool.close();
        self.stop.cancel();
        let mut delivery = self.delivery;
        if tokio::time::timeout(grace, &mut delivery).await.is_err() {
            tracing::warn!("delivery still running after {grace:?}; the rest is delivered at the next start");
            delivery.abort();
        }
    }
}

/// Locks `<spool>.lock` beside the spool folder for as long as the returned file is open
/// (an advisory lock the OS releases when the process dies). Two processes appending to one
/// spool would lose messages (each drops segments it thinks are empty at open), so the
/// second is refused before it opens the spool.
fn lock_spool(spool_dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = spool_dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let path = spool_dir.with_extension("lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "the SMTP spool {} is in use by another Postdesk mail server (the desktop app or `postdesk serve` on the same data folder)",
                spool_dir.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(std::io::Error::new(e.kind(), format!("cannot lock {}: {e}", path.display())))
        }
    }
}
