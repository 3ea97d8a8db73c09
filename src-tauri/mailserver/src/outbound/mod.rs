//! Outbound delivery: drains the backend's durable queue
//! ([`OutboundQueue`](postdesk_contract::mail::OutboundQueue)) to the rest of the world.
//!
//! A worker leases due messages (several workers or nodes never send one message at
//! once; a dead one's messages are taken over when its lease runs out), signs each once
//! with its author domain's DKIM key ([`dkim`]), and sends every recipient domain's share
//! in one transaction ([`client`]) to the first host of its [`route`] that answers — the
//! transport table, else MX in preference order, the implicit MX, never a null MX — at
//! most [`OutboundOptions::per_destination`] transactions per domain at once. Each
//! recipient's outcome is then recorded: delivered, bounced (5xx, null MX, no such domain,
//! or past the give-up time), or deferred to the next time of the schedule
//! ([`RetryPolicy`]). Bounces and delay notices go to the sender as RFC 3464 DSNs
//! ([`dsn`]) — into the sender's mailbox when the sender is ours, else queued with the
//! null sender — and never to the null sender (a DSN never causes a DSN).
//!
//! At least once: a recipient is recorded after the remote's reply; a crash between that
//! reply and the record sends it again when the lease runs out.

pub mod client;
pub mod dkim;
pub mod dsn;
pub mod mta_sts;
pub mod pool;
pub mod relay;
pub mod route;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postdesk_contract::mail::{KeyedMessage, MailBackend};
use postdesk_contract::outbound::{
    OutboundEnvelope, OutboundJob, OutboundRecipient, OutboundTransport, RecipientResult, RecipientStatus, RetryPolicy,
    dsn_allowed,
};
use postdesk_dns::DnsLookup;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use client::{Outcome, Session, SessionError, Stale, Timeouts, TlsMode, Transaction};
use mta_sts::{Sts, StsOptions};
use pool::{Key, Pool, Reuse};
use postdesk_dns::mta_sts::StsMode;
use route::Route;

/// What time it is (UNIX seconds) for the worker: the system clock, or a test's.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(unix_now))
    }

    /// A clock that reads `f` (tests move time forward with it, e.g. past the give-up time).
    pub fn new(f: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    /// Now, UNIX seconds.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

/// How outbound delivery behaves.
#[derive(Clone)]
pub struct OutboundOptions {
    /// The port of MX hosts (25; tests point it elsewhere).
    pub mx_port: u16,
    /// When to retry, give up, send a delay notice.
    pub retry: RetryPolicy,
    /// Session time-outs.
    pub timeouts: Timeouts,
    /// Transactions to one recipient domain at once, at most.
    pub per_destination: usize,
    /// Messages in flight at once, at most.
    pub concurrency: usize,
    /// How long a claimed message is ours before another worker may take it over.
    pub lease_secs: i64,
    /// How often to look for due retries without a signal.
    pub poll: Duration,
    /// This node's name in leases (a restarted node releases its previous leases).
    pub node: String,
    /// Connection reuse: how many transactions a session carries, how long it idles.
    pub reuse: Reuse,
    /// The worker's clock (retry times, give-up, delay notices, leases).
    pub clock: Clock,
    /// MTA-STS: whether it applies, where policies are fetched, the trusted roots.
    pub mta_sts: StsOptions,
}

impl std::fmt::Debug for OutboundOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundOptions")
            .field("mx_port", &self.mx_port)
            .field("retry", &self.retry)
            .field("per_destination", &self.per_destination)
            .field("concurrency", &self.concurrency)
            .field("lease_secs", &self.lease_secs)
            .field("node", &self.node)
            .field("reuse", &self.reuse)
            .field("mta_sts", &self.mta_sts)
            .finish_non_exhaustive()
    }
}

impl Default for OutboundOptions {
    fn default() -> Self {
        let node = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".into());
        OutboundOptions {
            mx_port: 25,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            per_destination: 4,
            concurrency: 64,
            lease_secs: 600,
            poll: Duration::from_secs(15),
            node,
            reuse: Reuse::default(),
            clock: Clock::system(),
            mta_sts: StsOptions::default(),
        }
    }
}

/// What outbound delivery has done since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboundStats {
    /// Recipients the remote accepted.
    pub delivered: u64,
    /// Recipients deferred (a temporary failure).
    pub deferred: u64,
    /// Recipients bounced.
    pub bounced: u64,
    /// DSNs sent (bounces and delay notices).
    pub dsns: u64,
    /// Transactions attempted.
    pub transactions: u64,
    /// Connections opened (fewer than transactions when sessions are reused).
    pub connections: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    delivered: AtomicU64,
    deferred: AtomicU64,
    bounced: AtomicU64,
    dsns: AtomicU64,
    transactions: AtomicU64,
    connections: AtomicU64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> OutboundStats {
        OutboundStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
            bounced: self.bounced.load(Ordering::Relaxed),
            dsns: self.dsns.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

/// One message's outcomes, on their way to the reporter.
struct Report {
    id: i64,
    now: i64,
    results: Vec<RecipientResult>,
}

/// Most reports per transaction.
const REPORT_BATCH: usize = 256;

struct Worker {
    reports: tokio::sync::mpsc::UnboundedSender<Report>,
    backend: Arc<dyn MailBackend>,
    dns: Option<Arc<dyn DnsLookup>>,
    options: OutboundOptions,
    hostname: Option<String>,
    owner: String,
    stats: Arc<Stats>,
    destinations: Mutex<HashMap<String, Arc<Semaphore>>>,
    pool: Pool,
    sts: Sts,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs until `stop`: claims due messages whenever `wake` is signalled (something was
/// queued), a delivery finished, or `poll` passed.
pub(crate) async fn run(
    backend: Arc<dyn MailBackend>,
    dns: Option<Arc<dyn DnsLookup>>,
    options: OutboundOptions,
    hostname: Option<String>,
    stats: Arc<Stats>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let owner = format!("{}:{}", options.node, std::process::id());
    match backend.release_outbound_leases(&options.node).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("took back {n} outbound messages leased by this node's previous run"),
        Err(e) => tracing::warn!("cannot release this node's old leases: {}", e.message),
    }
    let poll = options.poll;
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let (reports, queue) = tokio::sync::mpsc::unbounded_channel();
    let reporter = tokio::spawn(report(backend.clone(), owner.clone(), stats.clone(), queue));
    let destinations = Mutex::new(HashMap::new());
    let mut reuse = options.reuse;
    reuse.idle_per_server = reuse.idle_per_server.min(options.per_destination.max(1));
    let pool = Pool::new(reuse);
    let sts = Sts::new(options.mta_sts.clone());
    let worker = Arc::new(Worker { reports, backend, dns, options, hostname, owner, stats, destinations, pool, sts });
    let sweeper = tokio::spawn(sweep(worker.clone(), stop.clone()));
    let finished = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    let slots_total = worker.options.concurrency.max(1);
    // Claims come in batches: each is a write transaction (an fsync) that would otherwise
    // be paid for every message that finishes.
    let batch = (slots_total / 4).max(1);
    loop {
        if stop.is_cancelled() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = slots.available_permits();
        let mut claimed = 0;
        if free >= batch || (free > 0 && tasks.is_empty()) {
            let now = worker.options.clock.now();
            match worker.backend.claim_outbound(&worker.owner, now, worker.options.lease_secs, free).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        let Ok(permit) = slots.clone().acquire_owned().await else { break };
                        let (w, finished) = (worker.clone(), finished.clone());
                        tasks.spawn(async move {
                            w.process(job).await;
                            drop(permit);
                            finished.notify_one();
                        });
                    }
                }
                Err(e) => tracing::warn!("cannot read the outbound queue: {}", e.message),
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = finished.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.cancelled() => {}
        }
    }
    // In-flight transactions get a moment; what is cut off is retried when its lease ends.
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let _ = sweeper.await;
    let closing = worker.pool.expired(true);
    let _ =
        tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(closing.into_iter().map(Session::quit)))
            .await;
    drop(worker); // the tasks are gone: the reports channel closes once the reporter drains it
    let _ = tokio::time::timeout(Duration::from_secs(5), reporter).await;
}

/// Closes idle sessions past their idle time, every second until `stop`.
async fn sweep(worker: Arc<Worker>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
        for session in worker.pool.expired(false) {
            tokio::spawn(session.quit());
        }
    }
}

/// Records outcomes in batches: every report waiting is committed in one transaction
/// (one fsync for many messages, as the spool does for acceptance), then counted.
async fn report(
    backend: Arc<dyn MailBackend>,
    owner: String,
    stats: Arc<Stats>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Report>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < REPORT_BATCH {
            match queue.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let now = batch.iter().map(|r| r.now).max().unwrap_or_default();
        let reports: Vec<(i64, Vec<RecipientResult>)> = batch.into_iter().map(|r| (r.id, r.results)).collect();
        let mut tried = 0;
        loop {
            match backend.report_outbound(&owner, now, reports.clone()).await {
                Ok(()) => break,
                Err(e) if tried < 3 => {
                    tried += 1;
                    tracing::warn!("cannot record outbound attempts, trying again: {}", e.message);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    // The leases run out and the attempts are made again: at least once.
                    tracing::error!("outbound attempts not recorded (they will be made again): {}", e.message);
                    break;
                }
            }
        }
        for r in reports.iter().flat_map(|(_, results)| results) {
            let counter = match r.status {
                RecipientStatus::Delivered => &stats.delivered,
                RecipientStatus::Bounced => &stats.bounced,
                _ => &stats.deferred,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Worker {
    async fn helo(&self) -> String {
        if let Some(h) = &self.hostname {
            return h.clone();
        }
        match self.backend.smtp_config().await {
            Ok(c) => c.settings.hostname,
            Err(_) => "localhost".into(),
        }
    }

    fn destination(&self, domain: &str) -> Arc<Semaphore> {
        let mut map = self.destinations.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(domain.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.per_destination.max(1))))
            .clone()
    }

    async fn process(&self, job: OutboundJob) {
        let helo = self.helo().await;
        let message = self.sign(&job).await;
        let transports = match self.backend.outbound_transports().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(id = job.id, "cannot read the transport table: {}", e.message);
                let _ = self.reports.send(Report { id: job.id, now: self.options.clock.now(), results: Vec::new() });
                return;
            }
        };
        // The sender domain's smarthost relay, else the global one (the transport table
        // still wins per recipient domain, as Postfix's transport_maps over relayhost).
        let sender_domain = job.sender.rsplit_once('@').map_or("", |(_, d)| d).to_ascii_lowercase();
        let relay = match self.backend.outbound_relay(&sender_domain).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(id = job.id, "cannot read the relay settings: {}", e.message);
                let _ = self.reports.send(Report { id: job.id, now: unix_now(), results: Vec::new() });
                return;
            }
        };
        let mut by_domain: BTreeMap<String, Vec<OutboundRecipient>> = BTreeMap::new();
        for r in &job.recipients {
            let domain = r.address.rsplit_once('@').map_or("", |(_, d)| d).to_ascii_lowercase();
            by_domain.entry(domain).or_default().push(r.clone());
        }
        // Recipients an admin bounced get no attempt.
        let mut outcomes = Vec::new();
        for rcpts in by_domain.values_mut() {
            let (given_up, keep): (Vec<_>, Vec<_>) = rcpts.drain(..).partition(|r| r.bounce_now);
            for r in given_up {
                outcomes.push((r, Outcome::Permanent("550 5.0.0 bounced by an administrator".into()), None));
            }
            *rcpts = keep;
        }
        by_domain.retain(|_, rcpts| !rcpts.is_empty());
        let attempts = by_domain.iter().map(|(domain, rcpts)| {
            let (helo, message, transports, sender, relay) = (&helo, &message, &transports, &job.sender, &relay);
            async move {
                let semaphore = self.destination(domain);
                let _turn = semaphore.acquire().await;
                let addresses: Vec<String> = rcpts.iter().map(|r| r.address.clone()).collect();
                let t = Transaction { helo, sender, recipients: &addresses, message };
                let (outcomes, remote) = self.attempt(domain, transports, relay.as_ref(), &t).await;
                rcpts.iter().cloned().zip(outcomes).map(|(r, o)| (r, o, remote.clone())).collect::<Vec<_>>()
            }
        });
        outcomes.extend(futures_flatten(futures::future::join_all(attempts).await));
        self.record(&job, outcomes).await;
    }

    /// The message as it goes out: with a `DKIM-Signature` when its author domain (or the
    /// sender's) has an active key.
    async fn sign(&self, job: &OutboundJob) -> Vec<u8> {
        let sender_domain = job.sender.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        for domain in dkim::author_domain(&job.raw).into_iter().chain(sender_domain) {
            match self.backend.dkim_signing_key(&domain).await {
                Ok(Some(key)) => match dkim::signature(&key, &job.raw) {
                    Ok(header) => {
                        let mut out = header.into_bytes();
                        out.extend_from_slice(&job.raw);
                        return out;
                    }
                    Err(e) => tracing::warn!(id = job.id, %domain, "cannot DKIM-sign: {e}"),
                },
                Ok(None) => continue,
                Err(e) => tracing::warn!(id = job.id, %domain, "cannot read the DKIM key: {}", e.message),
            }
        }
        job.raw.clone()
    }

    /// One attempt for one domain's recipients: an outcome each, and the host that gave it.
    async fn attempt(
        &self,
        domain: &str,
        transports: &[OutboundTransport],
        relay: Option<&postdesk_contract::relay::RelayRoute>,
        t: &Transaction<'_>,
    ) -> (Vec<Outcome>, Option<String>) {
        if let Some(relay) = relay.filter(|_| route::fixed(transports, domain).is_none()) {
            let timeouts = self.options.timeouts;
            return relay::attempt(self.dns.as_deref(), relay, t, timeouts, &self.stats.transactions).await;
        }
        let n = t.recipients.len();
        let every = |o: Outcome| (vec![o; n], None);
        let Some(dns) = self.dns.as_deref() else {
            return every(Outcome::Temporary("451 4.4.3 no DNS resolver".into()));
        };
        let mut hosts = match route::route(dns, transports, domain, self.options.mx_port).await {
            Route::NullMx => {
                return every(Outcome::Permanent(format!("556 5.1.10 {domain} accepts no mail (null MX, RFC 7505)")));
            }
            Route::NoSuchDomain => {
                return every(Outcome::Permanent(format!("550 5.1.2 {domain} has no mail server (no MX, no address)")));
            }
            Route::Unavailable(e) => return every(Outcome::Temporary(format!("451 4.4.3 DNS lookup failed: {e}"))),
            Route::Hosts(hosts) => hosts,
        };
        let mut mode = TlsMode::Opportunistic;
        // MTA-STS applies to MX delivery, not to a fixed route an admin chose.
        let fixed = transports.iter().any(|t| t.domain == domain || t.domain == "*");
        let policy = if fixed {
            None
        } else {
            self.sts.policy(self.backend.as_ref(), dns, domain, self.options.clock.now()).await
        };
        if let Some(applied) = &policy {
            let (named, unnamed): (Vec<_>, Vec<_>) = hosts.into_iter().partition(|(h, _)| applied.policy.matches(h));
            let other: Vec<String> = unnamed.iter().map(|(h, _)| h.clone()).collect();
            if applied.policy.mode == StsMode::Enforce {
                if named.is_empty() {
                    return every(Outcome::Temporary(format!(
                        "451 4.7.5 the MTA-STS policy of {domain} (id {}, enforce) names none of its MX hosts ({})",
                        applied.id,
                        other.join(", ")
                    )));
                }
                if !other.is_empty() {
                    tracing::warn!(%domain, hosts = ?other, "MTA-STS: MX hosts the policy does not name are skipped");
                }
                hosts = named;
                mode = TlsMode::Verified(self.sts.verified());
            } else {
                if !other.is_empty() {
                    tracing::warn!(%domain, hosts = ?other, "MTA-STS (testing): MX hosts the policy does not name");
                }
                hosts = named.into_iter().chain(unnamed).collect();
            }
        }
        // A session kept open after an earlier transaction to one of these servers goes
        // first (in route order); one closed meanwhile is no failure: the next, or a new one.
        for (host, port) in &hosts {
            let key = Key::new(host, *port, &mode);
            while let Some(mut session) = self.pool.take(&key) {
                match session.send(t, self.options.timeouts).await {
                    Ok(outcomes) => {
                        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
                        self.keep(key, session);
                        return (outcomes, Some(host.clone()));
                    }
                    Err(Stale(e)) => tracing::debug!(%host, "a kept session was closed, another is used: {e}"),
                }
            }
        }
        let mut last = String::from("no address");
        let mut tls_refused = false;
        for (host, port) in hosts {
            let addrs = match route::addresses(dns, &host, port).await {
                Ok(a) => a,
                Err(e) => {
                    last = format!("{host}: {e}");
                    continue;
                }
            };
            for addr in addrs {
                match self.open(addr, &host, t.helo, &mode).await {
                    Ok(mut session) => {
                        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
                        match session.send(t, self.options.timeouts).await {
                            Ok(outcomes) => {
                                self.keep(Key::new(&host, port, &mode), session);
                                return (outcomes, Some(host));
                            }
                            // A new session is never stale; read as a lost connection.
                            Err(Stale(e)) => last = format!("{host}[{addr}]: {e}"),
                        }
                    }
                    Err(e) => {
                        tls_refused |= matches!(e, SessionError::TlsRequired(_));
                        last = format!("{host}[{addr}]: {e}");
                    }
                }
            }
        }
        if let (true, Some(applied)) = (tls_refused, &policy) {
            return every(Outcome::Temporary(format!(
                "451 4.7.5 the MTA-STS policy of {domain} (id {}, enforce) requires verified TLS, which no MX host gave ({last})",
                applied.id
            )));
        }
        every(Outcome::Temporary(format!("451 4.4.1 no mail server of {domain} answered ({last})")))
    }

    /// A new session with `addr`; under opportunistic TLS, a failed handshake is followed
    /// by a session in plain text (RFC 7435).
    async fn open(
        &self,
        addr: std::net::SocketAddr,
        host: &str,
        helo: &str,
        mode: &TlsMode,
    ) -> Result<Session, SessionError> {
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        match client::open(addr, host, helo, self.options.timeouts, mode).await {
            Err(SessionError::Tls(e)) if matches!(mode, TlsMode::Opportunistic) => {
                tracing::info!(%host, %addr, "STARTTLS failed, sending without TLS: {e}");
                self.stats.connections.fetch_add(1, Ordering::Relaxed);
                client::open(addr, host, helo, self.options.timeouts, &TlsMode::Plain).await
            }
            other => other,
        }
    }

    /// Keeps a session for the next transaction to its server, or closes it.
    fn keep(&self, key: Key, session: Session) {
        if let Some(done) = self.pool.put(key, session) {
            tokio::spawn(done.quit());
        }
    }

    /// Records every outcome, sending the DSNs first (so a crash between the two sends a
    /// DSN again under the same key, which stores nothing twice, rather than none).
    async fn record(&self, job: &OutboundJob, outcomes: Vec<(OutboundRecipient, Outcome, Option<String>)>) {
        let now = self.options.clock.now();
        let policy = &self.options.retry;
        let mut results = Vec::new();
        let mut bounced = Vec::new();
        let mut delayed = Vec::new();
        for (r, outcome, remote) in outcomes {
            let (status, reply, next) = match outcome {
                Outcome::Delivered(reply) => (RecipientStatus::Delivered, reply, None),
                Outcome::Permanent(reply) => (RecipientStatus::Bounced, reply, None),
                Outcome::Temporary(reply) => match policy.next_attempt(job.created_at, now, r.attempts + 1) {
                    Some(next) => (RecipientStatus::Deferred, reply, Some(next)),
                    None => {
                        let days = policy.give_up_secs / 86_400;
                        (RecipientStatus::Bounced, format!("{reply} (given up after {days} days)"), None)
                    }
                },
            };
            let reported = dsn::Reported { recipient: r.address.clone(), reply: reply.clone(), remote };
            let mut notified = false;
            match status {
                RecipientStatus::Delivered => {}
                RecipientStatus::Bounced => bounced.push((r.id, reported)),
                _ => {
                    if !r.delay_notified && policy.delay_notice_due(job.created_at, now) {
                        notified = true;
                        delayed.push((r.id, reported));
                    }
                }
            }
            tracing::info!(id = job.id, rcpt = %r.address, status = status.name(), %reply, "outbound attempt");
            results.push(RecipientResult { id: r.id, status, reply, next_attempt: next, delay_notified: notified });
        }
        for (action, list) in [(dsn::Action::Failed, bounced), (dsn::Action::Delayed, delayed)] {
            if list.is_empty() {
                continue;
            }
            if let Err(e) = self.notify_sender(job, action, list).await {
                tracing::warn!(id = job.id, "cannot send a DSN, trying again later: {}", e.message);
                return; // the lease runs out and the attempt is made again
            }
        }
        // Recorded (and counted) by the reporter, many messages per transaction.
        let _ = self.reports.send(Report { id: job.id, now, results });
    }

    /// Sends a DSN about `list` to the job's sender: into the sender's own mailbox when the
    /// sender is ours, else queued with the null sender. Never to the null sender.
    async fn notify_sender(
        &self,
        job: &OutboundJob,
        action: dsn::Action,
        list: Vec<(i64, dsn::Reported)>,
    ) -> postdesk_contract::Result<()> {
        if !dsn_allowed(&job.sender) {
            return Ok(());
        }
        let ids: Vec<String> = list.iter().map(|(id, _)| id.to_string()).collect();
        let kind = if action == dsn::Action::Failed { "failed" } else { "delayed" };
        let key = format!("dsn:{}:{kind}:{}", job.id, ids.join(","));
        let reported: Vec<dsn::Reported> = list.into_iter().map(|(_, r)| r).collect();
        let helo = self.helo().await;
        let raw = dsn::build(&helo, &job.sender, action, &reported, &job.raw);
        let domain = job.sender.rsplit_once('@').map_or("", |(_, d)| d);
        if self.backend.is_local_domain(domain).await? {
            let mailboxes = match self.backend.resolve_recipient(&job.sender).await {
                Ok(r) => r.mailboxes,
                Err(e) => {
                    tracing::warn!(id = job.id, sender = %job.sender, "DSN not delivered, the sender is gone: {}", e.message);
                    return Ok(());
                }
            };
            let message =
                KeyedMessage { filed: Vec::new(), key, mailboxes, raw, folder: None, outbound: None, trace: None };
            self.backend.deliver_batch(vec![message]).await?;
        } else {
            let envelope = OutboundEnvelope { sender: String::new(), recipients: vec![job.sender.clone()] };
            self.backend.queue_outbound(&key, envelope, raw).await?;
        }
        self.stats.dsns.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn futures_flatten<T>(v: Vec<Vec<T>>) -> Vec<T> {
    v.into_iter().flatten().collect()
}
