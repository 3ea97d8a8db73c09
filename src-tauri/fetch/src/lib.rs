//! Postdesk's fetcher: takes an external IMAP account's mail, by UID, into a [`Sink`]
//! (the engine's store of a shared mailbox). async-imap on tokio, TLS by rustls (the
//! workspace's one TLS stack). Microsoft 365 mailboxes are read through Microsoft Graph
//! by [`graph`] (delta queries into a [`graph::GraphSink`]), under the same [`Limits`].
//!
//! Invariants (IMAP; [`graph`] states its own):
//! Invariants:
//! * TLS always: implicit (IMAPS) or STARTTLS required; the password is never sent in
//!   clear text. Certificates are checked against the Mozilla roots unless the mailbox
//!   says not to;
//! * read-only on the server: folders are opened with EXAMINE and bodies read with
//!   `BODY.PEEK[]`, so no flag changes there;
//! * by UID, with UIDVALIDITY checked per folder (RFC 3501 §2.3.1.1): a changed
//!   UIDVALIDITY makes the folder be read again from the start, and the sink drops what it
//!   stored before (it remembers content), so nothing is stored twice;
//! * the sink commits a batch and the folder's new high-water UID together: after a crash
//!   or a lost connection the next fetch starts after the last committed batch;
//! * bounded: a connect and a per-command time-out, a size cap per message (checked with
//!   `RFC822.SIZE` before the body is asked for), a cap on messages per fetch, batches
//!   bounded in count and bytes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod graph;
mod mutf7;
mod tls;

use std::collections::HashSet;
use std::time::Duration;

use async_imap::{Client, Session};
use futures::TryStreamExt;
use postdesk_contract::secret::Sensitive;
use postdesk_contract::shared::FetchTls;
use postdesk_contract::{Error, Result};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The external server and the account on it.
#[derive(Debug, Clone)]
pub struct Server {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub tls: FetchTls,
    /// Check the certificate against public roots.
    pub verify_certificate: bool,
    /// User name.
    pub username: String,
    /// Password.
    pub password: Sensitive<String>,
}

/// The bounds of one fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connecting (TCP and TLS).
    pub connect: Duration,
    /// Each command's answer (a batch of bodies included).
    pub command: Duration,
    /// Largest message fetched; larger ones are passed over and counted.
    pub max_message_bytes: u64,
    /// Most messages one fetch takes; the next one continues.
    pub max_messages: u32,
    /// Most messages per batch (one FETCH, one transaction of the sink).
    pub batch_messages: usize,
    /// Most bytes per batch.
    pub batch_bytes: u64,
    /// Largest JSON answer read from Graph.
    pub max_response_bytes: u64,
    /// Most HTTP requests to Graph in one fetch or listing (pages and messages).
    pub max_requests: u32,
    /// Most retries of one Graph request answered 429 or 503.
    pub throttle_retries: u32,
    /// The first wait after a 429 or 503 without `Retry-After`; doubled each retry.
    pub throttle_base: Duration,
    /// The longest single wait accepted; asked to wait longer, the fetch fails.
    pub max_throttle_wait: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(120),
            max_message_bytes: 64 * 1024 * 1024,
            max_messages: 5000,
            batch_messages: 200,
            batch_bytes: 32 * 1024 * 1024,
            max_response_bytes: 16 * 1024 * 1024,
            max_requests: 20_000,
            throttle_retries: 6,
            throttle_base: Duration::from_secs(2),
            max_throttle_wait: Duration::from_secs(120),
        }
    }
}

/// A folder as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFolder {
    /// Its name on the server (as sent: modified UTF-7).
    pub name: String,
    /// Our name for it: decoded, the server's hierarchy delimiter turned into `/`.
    pub local_name: String,
    /// Its special-use mark (RFC 6154), if any (`\Sent`, `\Junk`, …).
    pub special_use: Option<String>,
    /// Its id at the server (Microsoft Graph's folder id; `None` for IMAP).
    pub id: Option<String>,
}

/// A folder to fetch and where its mail goes.
#[derive(Debug, Clone)]
pub struct FolderPlan {
    /// Its name on the server.
    pub name: String,
    /// Our folder.
    pub local: String,
    /// Its id at the server (Microsoft Graph's folder id), if listed with one.
    pub id: Option<String>,
}

/// One message taken from the server.
#[derive(Debug)]
pub struct Fetched {
    /// Its UID in the folder.
    pub uid: u32,
    /// Its RFC 5322 bytes.
    pub raw: Vec<u8>,
}

/// Where fetched mail goes (the engine's shared mailbox).
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// The folder's UIDVALIDITY last seen and the highest UID taken under it.
    async fn state(&self, folder: &str) -> Result<(Option<u32>, u32)>;
    /// Which UIDs in `from..=to` were taken before under `uidvalidity`.
    async fn known(&self, folder: &str, uidvalidity: u32, from: u32, to: u32) -> Result<HashSet<u32>>;
    /// Stores a batch and the folder's new high-water mark (`last_uid`) in one commit;
    /// messages whose content was taken from this folder before are not stored again.
    /// Returns (stored, already taken).
    async fn store(
        &self,
        folder: &FolderPlan,
        uidvalidity: u32,
        batch: Vec<Fetched>,
        last_uid: u32,
    ) -> Result<(u32, u32)>;
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages stored.
    pub fetched: u32,
    /// Messages seen again and not stored.
    pub already: u32,
    /// Messages over the size cap, passed over.
    pub too_large: u32,
    /// Folders whose UIDVALIDITY changed.
    pub uidvalidity_changed: Vec<String>,
    /// Whether more messages wait than this fetch took.
    pub more: bool,
    /// Microsoft 365 folders whose delta token had expired (410 Gone), read again.
    pub restarted: Vec<String>,
}

type Stream = TlsStream<TcpStream>;

fn failed(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("{what}: {e}"))
}

async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| Error::unavailable(format!("{what}: no answer within {} s", limit.as_secs())))?
}

/// Connects, secures and logs in.
async fn open(server: &Server, limits: &Limits) -> Result<Session<Stream>> {
    let at = format!("{}:{}", server.host, server.port);
    let tcp = within(limits.connect, &format!("cannot reach {at}"), async {
        TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(|e| failed(format!("cannot reach {at}"), e))
    })
    .await?;
    let connector = tls::connector(server.verify_certificate);
    let name = rustls_pki_types::ServerName::try_from(server.host.clone())
        .map_err(|e| Error::validation(format!("'{}' is not a host name: {e}", server.host)).with_field("host"))?;
    let tcp = match server.tls {
        FetchTls::Implicit => tcp,
        FetchTls::Starttls => {
            within(limits.command, &format!("STARTTLS with {at}"), async {
                let mut client = Client::new(tcp);
                client.read_response().await.map_err(|e| failed(format!("no greeting from {at}"), e))?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| failed(format!("{at} refused STARTTLS"), e))?;
                Ok(client.into_inner())
            })
            .await?
        }
    };
    let stream = within(limits.connect, &format!("TLS with {at}"), async {
        connector.connect(name, tcp).await.map_err(|e| failed(format!("TLS with {at} failed"), e))
    })
    .await?;
    let mut client = Client::new(stream);
    if server.tls == FetchTls::Implicit {
        within(limits.command, &format!("greeting of {at}"), async {
            client.read_response().await.map_err(|e| failed(format!("no greeting from {at}"), e)).map(drop)
        })
        .await?;
    }
    within(limits.command, &format!("login at {at}"), async {
        client
            .login(&server.username, server.password.expose())
            .await
            .map_err(|(e, _)| failed(format!("{at} refused the login of {}", server.username), e))
    })
    .await
}

async fn close(mut session: Session<Stream>, limits: &Limits) {
    let _ = tokio::time::timeout(limits.command, session.logout()).await;
}

/// The server's folders (LIST "" "*"), those that can be selected.
pub async fn list_folders(server: &Server, limits: &Limits) -> Result<Vec<ListedFolder>> {
    let mut session = open(server, limits).await?;
    let listed = within(limits.command, "LIST", async {
        let names: Vec<_> = session
            .list(Some(""), Some("*"))
            .await
            .map_err(|e| failed("LIST failed", e))?
            .try_collect()
            .await
            .map_err(|e| failed("LIST failed", e))?;
        let mut out = Vec::new();
        for n in &names {
            use async_imap::types::NameAttribute as A;
            if n.attributes().iter().any(|a| matches!(a, A::NoSelect)) {
                continue;
            }
            let special = n.attributes().iter().find_map(|a| match a {
                A::Sent => Some("\\Sent".to_string()),
                A::Junk => Some("\\Junk".to_string()),
                A::Trash => Some("\\Trash".to_string()),
                A::Drafts => Some("\\Drafts".to_string()),
                A::Archive => Some("\\Archive".to_string()),
                A::All => Some("\\All".to_string()),
                A::Flagged => Some("\\Flagged".to_string()),
                _ => None,
            });
            out.push(ListedFolder {
                name: n.name().to_string(),
                local_name: local_name(n.name(), n.delimiter()),
                special_use: special,
                id: None,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    })
    .await;
    close(session, limits).await;
    listed
}

/// Our name for a server folder: INBOX in any case is INBOX; otherwise decoded from
/// modified UTF-7 with the delimiter turned into `/`.
pub fn local_name(name: &str, delimiter: Option<&str>) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return "INBOX".into();
    }
    let decoded = mutf7::decode(name).unwrap_or_else(|| name.to_string());
    match delimiter {
        Some(d) if d != "/" && !d.is_empty() => decoded.replace('/', "_").replace(d, "/"),
        _ => decoded,
    }
}

/// A UID set for a command: ascending runs as `a:b`, joined by commas.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// IMAP's date for SEARCH SINCE (RFC 3501 `date`): `1-Dec-2026`.
fn imap_date(t: time::OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    // A day early: SINCE compares dates in the server's zone; the exact time is checked on
    // each message's INTERNALDATE.
    let d = (t - time::Duration::days(1)).date();
    format!("{}-{}-{}", d.day(), MONTHS[usize::from(u8::from(d.month())) - 1], d.year())
}

/// Fetches the new mail of `folders` into `sink`; with `since`, also every message whose
/// INTERNALDATE is at or after it and that was not taken before (a resync).
pub async fn fetch(
    server: &Server,
    folders: &[FolderPlan],
    since: Option<time::OffsetDateTime>,
    sink: &dyn Sink,
    limits: &Limits,
) -> Result<Outcome> {
    let mut session = open(server, limits).await?;
    let mut outcome = Outcome::default();
    let mut result = Ok(());
    for plan in folders {
        if outcome.fetched + outcome.already + outcome.too_large >= limits.max_messages {
            outcome.more = true;
            break;
        }
        if let Err(e) = fetch_folder(&mut session, plan, since, sink, limits, &mut outcome).await {
            result = Err(e);
            break;
        }
    }
    close(session, limits).await;
    result.map(|()| outcome)
}

async fn fetch_folder(
    session: &mut Session<Stream>,
    plan: &FolderPlan,
    since: Option<time::OffsetDateTime>,
    sink: &dyn Sink,
    limits: &Limits,
    outcome: &mut Outcome,
) -> Result<()> {
    let name = &plan.name;
    let mailbox = within(limits.command, &format!("EXAMINE {name}"), async {
        session.examine(name).await.map_err(|e| failed(format!("cannot open folder {name}"), e))
    })
    .await?;
    let uidvalidity = mailbox
        .uid_validity
        .ok_or_else(|| Error::unavailable(format!("the server gave no UIDVALIDITY for folder {name}")))?;
    let (stored, mut last) = sink.state(name).await?;
    if stored != Some(uidvalidity) {
        if stored.is_some() {
            outcome.uidvalidity_changed.push(name.clone());
        }
        last = 0;
    }
    if mailbox.exists == 0 {
        if stored != Some(uidvalidity) {
            sink.store(plan, uidvalidity, Vec::new(), 0).await?;
        }
        return Ok(());
    }
    // Candidates: every UID above the mark, and with `since` every message since then.
    let mut query = format!("UID {}:*", last.saturating_add(1));
    if let Some(t) = since {
        query = format!("OR {query} SINCE {}", imap_date(t));
    }
    let found = within(limits.command, &format!("UID SEARCH in {name}"), async {
        session.uid_search(&query).await.map_err(|e| failed(format!("UID SEARCH in {name} failed"), e))
    })
    .await?;
    let mut uids: Vec<u32> = found.into_iter().collect();
    uids.sort_unstable();
    let (mut new, mut old): (Vec<u32>, Vec<u32>) = uids.into_iter().partition(|&u| u > last);
    if since.is_none() {
        // `n:*` names the highest UID even when it is below n.
        old.clear();
    }
    if let (Some(&first), Some(&end)) = (old.first(), old.last()) {
        let known = sink.known(name, uidvalidity, first, end).await?;
        old.retain(|u| !known.contains(u));
    }
    old.append(&mut new);
    let candidates = old;
    // Sizes (and dates, to hold a resync to its exact time), a chunk at a time.
    let budget = limits.max_messages.saturating_sub(outcome.fetched + outcome.already + outcome.too_large) as usize;
    let mut take: Vec<(u32, u64)> = Vec::new();
    let mut passed_over = last;
    for chunk in candidates.chunks(500) {
        if take.len() >= budget {
            outcome.more = true;
            break;
        }
        let set = uid_set(chunk);
        let infos: Vec<_> = within(limits.command, &format!("UID FETCH sizes in {name}"), async {
            session
                .uid_fetch(&set, "(UID RFC822.SIZE INTERNALDATE)")
                .await
                .map_err(|e| failed(format!("UID FETCH in {name} failed"), e))?
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| failed(format!("UID FETCH in {name} failed"), e))
        })
        .await?;
        let mut infos: Vec<(u32, u64, Option<i64>)> = infos
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)), f.internal_date().map(|d| d.timestamp()))))
            .collect();
        infos.sort_unstable_by_key(|i| i.0);
        for (uid, size, date) in infos {
            if take.len() >= budget {
                outcome.more = true;
                break;
            }
            if uid <= last {
                // Older than the mark: only a resync asks for it, and only from its time on.
                let Some(t) = since else { continue };
                if date.is_none_or(|d| d < t.unix_timestamp()) {
                    continue;
                }
            }
            if size > limits.max_message_bytes {
                outcome.too_large += 1;
                passed_over = passed_over.max(uid);
                continue;
            }
            take.push((uid, size));
        }
    }
    // Bodies, in batches bounded in count and bytes; each batch committed with its mark.
    let mut mark = last;
    let mut committed = None;
    let mut i = 0;
    while i < take.len() {
        let mut bytes = 0u64;
        let mut j = i;
        while j < take.len() && j - i < limits.batch_messages && (j == i || bytes + take[j].1 <= limits.batch_bytes) {
            bytes += take[j].1;
            j += 1;
        }
        let batch_uids: Vec<u32> = take[i..j].iter().map(|t| t.0).collect();
        let set = uid_set(&batch_uids);
        let fetched = within(limits.command, &format!("UID FETCH bodies in {name}"), async {
            session
                .uid_fetch(&set, "(UID BODY.PEEK[])")
                .await
                .map_err(|e| failed(format!("UID FETCH in {name} failed"), e))?
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| failed(format!("UID FETCH in {name} failed"), e))
        })
        .await?;
        let mut batch = Vec::with_capacity(fetched.len());
        for f in &fetched {
            let (Some(uid), Some(body)) = (f.uid, f.body()) else { continue };
            if !batch_uids.contains(&uid) || batch.iter().any(|b: &Fetched| b.uid == uid) {
                continue;
            }
            if body.len() as u64 > limits.max_message_bytes {
                outcome.too_large += 1;
                continue;
            }
            batch.push(Fetched { uid, raw: body.to_vec() });
        }
        let batch_max = batch_uids.iter().copied().max().unwrap_or(0);
        // Too-large UIDs below this batch's end are passed over with it.
        mark = mark.max(batch_max).max(passed_over.min(batch_max));
        let (stored, already) = sink.store(plan, uidvalidity, batch, mark).await?;
        committed = Some(mark);
        outcome.fetched += stored;
        outcome.already += already;
        i = j;
    }
    let end = mark.max(passed_over);
    let record = match committed {
        Some(c) => c != end,
        None => end != last || stored != Some(uidvalidity),
    };
    if record {
        sink.store(plan, uidvalidity, Vec::new(), end).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn local_names_use_slashes_and_decode() {
        assert_eq!(local_name("inbox", Some(".")), "INBOX");
        assert_eq!(local_name("Archive.2024", Some(".")), "Archive/2024");
        assert_eq!(local_name("Archive/2024", Some("/")), "Archive/2024");
        assert_eq!(local_name("Entw&APw-rfe", Some("/")), "Entwürfe");
    }

    #[test]
    fn search_dates_are_a_day_early() {
        let t = time::macros::datetime!(2026-12-01 00:30 UTC);
        assert_eq!(imap_date(t), "30-Nov-2026");
    }
}
