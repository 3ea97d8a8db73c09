//! Starting and stopping the whole mail server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::mail::MailBackend;
use postdesk_contract::smtp::ClientService;
use postdesk_imap::{ImapListener, ImapOptions, ImapService};
use postdesk_pop3::{Pop3Listener, Pop3Service};
use postdesk_smtp::store::SpoolOptions;
use postdesk_smtp::{
    CountersSnapshot, DataLimits, FileSpool, InboundVerifier, ListenerKind, SmtpProfile, SmtpService, TlsIdentity,
};
use tokio_util::sync::CancellationToken;

use crate::delivery::{self, DeliveryStats, Stats};
use crate::outbound::{self, OutboundOptions, OutboundStats};
use crate::{BackendDirectory, BackendPolicy, Lookups, live, trace};

/// What to start.
#[derive(Debug, Clone)]
pub struct MailServerOptions {
    /// Listeners: kind and address (port 0 picks a free port).
    pub listeners: Vec<(ListenerKind, SocketAddr)>,
    /// A host name replacing the stored one (`postdesk serve --smtp-hostname`); `None` =
    /// the host name of the stored SMTP settings. Everything else of the profile comes from
    /// the engine (`ServiceHooks::smtp_config`) and follows its changes while running.
    pub hostname: Option<String>,
    /// The spool folder (the durable queue between 250 and the mailboxes).
    pub spool_dir: PathBuf,
    /// Where the SMTP certificate is kept (`smtp-cert.pem`, `smtp-key.pem`); a
    /// self-signed one for `tls_names` is made there on first start.
    pub tls_dir: PathBuf,
    /// Names (host names, IP addresses) of the self-signed certificate made on first start;
    /// the host name in force at that start is added.
    pub tls_names: Vec<String>,
    /// DNS server for the inbound checks (SPF, DKIM, DMARC, reverse DNS, sender domain);
    /// `None` = the system's resolver.
    pub dns_server: Option<SocketAddr>,
    /// IMAP listeners (STARTTLS and implicit TLS), with the SMTP service's certificate.
    pub imap: Vec<(ImapListener, SocketAddr)>,
    /// IMAP limits and time-outs.
    pub imap_options: ImapOptions,
    /// POP3 listeners (STLS and implicit TLS), with the same certificate.
    pub pop3: Vec<(Pop3Listener, SocketAddr)>,
    /// Outbound delivery (the queue's worker): MX port, retry schedule, limits, time-outs.
    /// Its DNS is `dns_server`'s (or the system's).
    pub outbound: OutboundOptions,
}

impl MailServerOptions {
    /// The three SMTP, the two IMAP and the two POP3 listeners on their default (unprivileged) ports of
    /// 127.0.0.1, the spool and certificate in `data_dir`, the stored host name.
    pub fn defaults(data_dir: &std::path::Path) -> MailServerOptions {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        MailServerOptions {
            listeners: [ListenerKind::Mx, ListenerKind::Submission, ListenerKind::Submissions]
                .into_iter()
                .map(|k| (k, SocketAddr::new(ip, k.default_port())))
                .collect(),
            hostname: None,
            spool_dir: data_dir.join("spool"),
            tls_dir: data_dir.to_path_buf(),
            tls_names: vec!["localhost".into(), "127.0.0.1".into()],
            dns_server: None,
            imap: [ImapListener::Imap, ImapListener::Imaps]
                .into_iter()
                .map(|k| (k, SocketAddr::new(ip, k.default_port())))
                .collect(),
            imap_options: ImapOptions::default(),
            pop3: [Pop3Listener::Pop3, Pop3Listener::Pop3s]
                .into_iter()
                .map(|k| (k, SocketAddr::new(ip, k.default_port())))
                .collect(),
            outbound: OutboundOptions::default(),
        }
    }
}

/// The running mail server: SMTP listeners, spool, delivery task, the reload of the
/// profile on stored changes, and the monitor registered with the engine.
pub struct MailServer {
    /// Held while running: one mail server per spool (see [`lock_spool`]).
    _spool_lock: std::fs::File,
    backend: Arc<dyn MailBackend>,
    service: Arc<SmtpService>,
    imap: ImapService,
    pop3: Pop3Service,
    spool: Arc<FileSpool>,
    bound: Vec<(ListenerKind, SocketAddr)>,
    stats: Arc<Stats>,
    stop: CancellationToken,
    delivery: tokio::task::JoinHandle<()>,
    outbound: tokio::task::JoinHandle<()>,
    outbound_stats: Arc<outbound::Stats>,
    reloader: tokio::task::JoinHandle<()>,
    reloads: Arc<live::ReloadCounts>,
    refusal_writer: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MailServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServer").field("bound", &self.bound).finish()
    }
}

impl MailServer {
    /// Reads the SMTP settings and rules from the engine, opens the spool (recovering what
    /// a crash left: it is delivered first), starts the delivery task, binds every listener,
    /// starts following stored changes and registers the monitor with the engine. Fails
    /// without leaving anything running when the settings cannot be read or a listener
    /// cannot be bound, and without touching the spool when another mail server (the
    /// desktop app or `postdesk serve` on the same data folder) has it open.
    pub async fn start(backend: Arc<dyn MailBackend>, options: MailServerOptions) -> std::io::Result<MailServer> {
        let spool_lock = lock_spool(&options.spool_dir)?;
        // Subscribed before reading, so that a change in between is not missed.
        let changes = backend.subscribe_smtp_config();
        let config = backend
            .smtp_config()
            .await
            .map_err(|e| std::io::Error::other(format!("cannot read the SMTP settings: {e}")))?;
        let profile = live::profile_from_config(&config, options.hostname.as_deref()).map_err(std::io::Error::other)?;
        let mut tls_names = options.tls_names.clone();
        if !tls_names.contains(&profile.hostname) {
            tls_names.push(profile.hostname.clone());
        }
        let (spool, recovery) = FileSpool::open(&options.spool_dir, SpoolOptions::default())?;
        if recovery.messages > 0 {
            tracing::info!(messages = recovery.messages, "spool recovered; delivering what is left");
        }
        let spool = Arc::new(spool);
        let lookups = Lookups::new(backend.clone());
        let identity = TlsIdentity::load_or_create(&options.tls_dir, &tls_names)?;
        let verifier = match options.dns_server {
            Some(addr) => InboundVerifier::with_server(addr)?,
            None => InboundVerifier::system()?,
        };
        let stop = CancellationToken::new();
        // Refusals go to the message trace through a bounded queue; written in batches.
        let (refusals, refusal_writer) = trace::refusal_writer(backend.clone(), stop.clone());
        let service =
            SmtpService::builder(profile, Arc::new(BackendDirectory::with_lookups(lookups.clone())), spool.clone())
                .policy(Arc::new(
                    BackendPolicy::with_lookups(lookups.clone()).with_clock(options.outbound.clock.clone()),
                ))
                .tls(identity.clone())
                .verifier(verifier)
                .refusal_sink(refusals)
                // Large messages wait in unlinked files beside the spool (same disk, 0700);
                // the stored in-flight budget, read here only (a change applies on restart).
                .data_limits(live::data_limits(&config.settings, options.spool_dir.clone()))
                .build()?;
        let service = Arc::new(service);
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
        let imap = ImapService::new(backend.clone(), Some(&identity), options.imap_options.clone())?;
        for (kind, addr) in &options.imap {
            if let Err(e) = imap.listen(*kind, *addr).await {
                imap.shutdown(Duration::from_secs(1)).await;
                service.shutdown(Duration::from_secs(1)).await;
                spool.close();
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen for IMAP ({}) on {addr}: {e}", kind.name()),
                ));
            }
        }
        let pop3 = Pop3Service::builder(backend.clone()).tls((*identity).clone()).build()?;
        for (kind, addr) in &options.pop3 {
            if let Err(e) = pop3.listen(*kind, *addr).await {
                pop3.shutdown(Duration::from_secs(1)).await;
                imap.shutdown(Duration::from_secs(1)).await;
                service.shutdown(Duration::from_secs(1)).await;
                spool.close();
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen for POP3 ({}) on {addr}: {e}", kind.name()),
                ));
            }
        }
        let stats = Arc::new(Stats::default());
        let wake_outbound = Arc::new(tokio::sync::Notify::new());
        let delivery = tokio::spawn(delivery::run(
            lookups,
            options.outbound.node.clone(),
            spool.clone(),
            stats.clone(),
            wake_outbound.clone(),
            stop.clone(),
        ));
        let dns: Option<Arc<dyn postdesk_dns::DnsLookup>> = match options.dns_server {
            Some(addr) => postdesk_dns::HickoryLookup::with_server(addr).map(|d| Arc::new(d) as _),
            None => postdesk_dns::HickoryLookup::system().map(|d| Arc::new(d) as _),
        }
        .inspect_err(|e| tracing::warn!("no DNS for outbound delivery (only the transport table routes): {e}"))
        .ok();
        let outbound_stats = Arc::new(outbound::Stats::default());
        let outbound = tokio::spawn(outbound::run(
            backend.clone(),
            dns,
            options.outbound.clone(),
            options.hostname.clone(),
            outbound_stats.clone(),
            wake_outbound,
            stop.clone(),
        ));
        let reloads = Arc::new(live::ReloadCounts::default());
        let reloader = live::spawn_reloader(
            backend.clone(),
            service.clone(),
            changes,
            options.hostname.clone(),
            reloads.clone(),
            stop.clone(),
        );
        let imaps = imap.listeners().into_iter().map(|(kind, addr)| match kind {
            ImapListener::Imap => (ClientService::Imap, addr.port()),
            ImapListener::Imaps => (ClientService::Imaps, addr.port()),
        });
        let pop3s = pop3.listeners().into_iter().map(|(kind, addr)| match kind {
            Pop3Listener::Pop3 => (ClientService::Pop3, addr.port()),
            Pop3Listener::Pop3s => (ClientService::Pop3s, addr.port()),
        });
        let other_listeners = imaps.chain(pop3s).collect();
        let monitor = live::Monitor {
            service: service.clone(),
            stats: stats.clone(),
            spool: spool.clone(),
            outbound: outbound_stats.clone(),
            other_listeners,
        };
        backend.set_mail_monitor(Some(Arc::new(monitor)));
        Ok(MailServer {
            _spool_lock: spool_lock,
            backend,
            service,
            imap,
            pop3,
            spool,
            bound,
            stats,
            stop,
            delivery,
            outbound,
            outbound_stats,
            reloader,
            reloads,
            refusal_writer,
        })
    }

    /// The SMTP profile in force now.
    pub fn profile(&self) -> Arc<SmtpProfile> {
        self.service.profile()
    }

    /// The message data limits of the running SMTP service (the stored in-flight budget as
    /// it was at start).
    pub fn data_limits(&self) -> DataLimits {
        self.service.data_limits().clone()
    }

    /// How the reloads after stored changes went since start.
    pub fn reloads(&self) -> live::Reloads {
        self.reloads.snapshot()
    }

    /// The listeners with their bound addresses.
    pub fn bound(&self) -> &[(ListenerKind, SocketAddr)] {
        &self.bound
    }

    /// The IMAP listeners with their bound addresses.
    pub fn imap_bound(&self) -> Vec<(ImapListener, SocketAddr)> {
        self.imap.listeners()
    }

    /// The POP3 listeners with their bound addresses.
    pub fn pop3_bound(&self) -> Vec<(Pop3Listener, SocketAddr)> {
        self.pop3.listeners()
    }

    /// The SMTP service's live counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.service.counters()
    }

    /// What the delivery into mailboxes has done.
    pub fn delivery_stats(&self) -> DeliveryStats {
        self.stats.snapshot()
    }

    /// What outbound delivery has done.
    pub fn outbound_stats(&self) -> OutboundStats {
        self.outbound_stats.snapshot()
    }

    /// Stops gracefully: no new connections, idle sessions get 421, sessions storing a
    /// message finish (up to `grace`); then the spool's writer finishes, and the delivery
    /// task makes one last pass (up to `grace` again; whatever is left is delivered at the
    /// next start).
    pub async fn shutdown(self, grace: Duration) {
        self.backend.set_mail_monitor(None);
        self.imap.shutdown(grace).await;
        self.pop3.shutdown(grace).await;
        self.service.shutdown(grace).await;
        self.spool.close();
        self.stop.cancel();
        let _ = self.reloader.await;
        let _ = self.refusal_writer.await;
        let mut delivery = self.delivery;
        if tokio::time::timeout(grace, &mut delivery).await.is_err() {
            tracing::warn!("delivery still running after {grace:?}; the rest is delivered at the next start");
            delivery.abort();
        }
        let _ = self.outbound.await;
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
