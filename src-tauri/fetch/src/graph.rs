//! Microsoft 365 through Microsoft Graph (v1.0): a token by OAuth2 client credentials,
//! the mailbox's folders, and each chosen folder's new messages by delta query, their
//! MIME from `/messages/{id}/$value`, into a [`GraphSink`].
//!
//! Invariants:
//! * HTTPS only; plain `http` only for a loopback host (the tests' Graph double). Links the
//!   server hands back (`@odata.nextLink`, `@odata.deltaLink`) are followed only when they
//!   are under the configured Graph base (nor stored otherwise), so the bearer token never
//!   goes elsewhere; no redirects are followed;
//! * immutable ids (`Prefer: IdType="ImmutableId"`): a message keeps its id when it moves,
//!   so the sink's record of ids taken stays true;
//! * read-only on the server; `@removed` entries are not fetched, and what was stored
//!   before stays (Postdesk keeps a copy, it does not mirror deletions);
//! * the sink commits each batch with the link to continue from (the page's own URL while
//!   part of it is still to take, then its `nextLink`, finally the `deltaLink`): after a
//!   crash the next fetch continues from the last commit and skips ids already taken;
//! * `410 Gone` on a stored link (the delta token expired) reads the folder again from the
//!   start, once per fetch; ids taken before are skipped, so nothing is stored twice;
//! * `429` and `503` are retried after `Retry-After` (seconds) when given, else after an
//!   exponential wait from [`Limits::throttle_base`]; at most [`Limits::throttle_retries`]
//!   times, and a wait longer than [`Limits::max_throttle_wait`] fails the fetch at once;
//! * bounded: connect and per-request time-outs, a size cap per JSON answer and per
//!   message (read in chunks, stopped at the cap), a cap on pages and on messages per fetch.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use postdesk_contract::secret::Sensitive;
use postdesk_contract::{Error, Result};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::{FolderPlan, Limits, ListedFolder, Outcome};

/// Microsoft Graph's v1.0 base.
pub const GRAPH_BASE: &str = "https://graph.microsoft.com/v1.0";
/// The Microsoft identity platform's token endpoint; `{tenant}` is the tenant id.
pub const TOKEN_URL: &str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token";
/// The scope of an app-only token for Graph.
pub const SCOPE: &str = "https://graph.microsoft.com/.default";
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// Messages per delta page asked for (`Prefer: odata.maxpagesize`).
const PAGE_SIZE: u32 = 100;
/// Most folders listed (the engine keeps at most 1000; a few more say "too many").
const MAX_LISTED: usize = 1001;
/// Deepest folder nesting followed when listing.
const MAX_DEPTH: usize = 16;

/// Where Graph and its token endpoint are. Real ones by default; tests point them at a
/// loopback double.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Graph's base URL, without a trailing slash (`https://graph.microsoft.com/v1.0`).
    pub graph: String,
    /// The token endpoint, `{tenant}` standing for the tenant id.
    pub token: String,
}

impl Default for Endpoints {
    fn default() -> Endpoints {
        Endpoints { graph: GRAPH_BASE.into(), token: TOKEN_URL.into() }
    }
}

fn loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => IpAddr::V4(*a).is_loopback(),
        url::Host::Ipv6(a) => IpAddr::V6(*a).is_loopback(),
    }
}

/// A URL we may send a secret or a token to: `https`, or `http` to a loopback host.
fn safe_url(raw: &str, what: &str) -> Result<url::Url> {
    let u = url::Url::parse(raw).map_err(|e| Error::validation(format!("the {what} '{raw}' is not a URL: {e}")))?;
    let host = u.host().ok_or_else(|| Error::validation(format!("the {what} '{raw}' has no host")))?;
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback(&host) => Ok(u),
        _ => Err(Error::validation(format!("the {what} '{raw}' must be https (plain http only to a loopback host)"))),
    }
}

impl Endpoints {
    /// Checked endpoints: both `https`, or `http` to a loopback host.
    pub fn checked(graph: &str, token: &str) -> Result<Endpoints> {
        let graph = graph.trim_end_matches('/');
        safe_url(graph, "Graph base URL")?;
        safe_url(&token.replace("{tenant}", "tenant"), "token URL")?;
        Ok(Endpoints { graph: graph.into(), token: token.into() })
    }
}

/// The Microsoft 365 mailbox and the app registration that reads it.
#[derive(Debug, Clone)]
pub struct Account {
    /// The directory (tenant) id or its domain.
    pub tenant_id: String,
    /// The app's (client) id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Sensitive<String>,
    /// The mailbox: its user id or user principal name.
    pub mailbox: String,
}

struct CachedToken {
    token: Sensitive<String>,
    until: Instant,
}

/// App-only tokens kept until shortly before they expire, per token URL, tenant, client
/// and secret (a changed secret gets a new token).
#[derive(Default)]
pub struct Tokens {
    cache: std::sync::Mutex<HashMap<(String, String, String, u64), CachedToken>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(***)")
    }
}

fn key(endpoints: &Endpoints, a: &Account) -> (String, String, String, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    a.client_secret.expose().hash(&mut h);
    (endpoints.token.clone(), a.tenant_id.clone(), a.client_id.clone(), h.finish())
}

/// A message taken from Graph.
#[derive(Debug)]
pub struct GraphFetched {
    /// Its immutable id.
    pub id: String,
    /// Its MIME (RFC 5322) bytes.
    pub raw: Vec<u8>,
}

/// Where fetched Graph mail goes (the engine's shared mailbox).
#[async_trait::async_trait]
pub trait GraphSink: Send + Sync {
    /// The link to continue the folder's delta from (a `nextLink` or `deltaLink`), if any.
    async fn link(&self, folder: &str) -> Result<Option<String>>;
    /// Which of `ids` were taken (or passed over) from the folder before.
    async fn seen(&self, folder: &str, ids: &[String]) -> Result<HashSet<String>>;
    /// Stores a batch, records its ids and the `passed_over` ones as taken, and sets the
    /// link to continue from (`None`: unchanged; `Some("")`: none, start over), in one
    /// commit; messages whose content was taken from this folder before are not stored
    /// again. Returns (stored, already taken).
    async fn store(
        &self,
        folder: &FolderPlan,
        batch: Vec<GraphFetched>,
        passed_over: Vec<String>,
        link: Option<String>,
    ) -> Result<(u32, u32)>;
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorInner,
}
#[derive(Deserialize)]
struct GraphErrorInner {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct FolderPage {
    #[serde(default)]
    value: Vec<GraphFolder>,
    #[serde(rename = "@odata.nextLink", default)]
    next: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct GraphFolder {
    id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    child_folder_count: Option<u32>,
}

#[derive(Deserialize)]
struct MessagePage {
    #[serde(default)]
    value: Vec<MessageEntry>,
    #[serde(rename = "@odata.nextLink", default)]
    next: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta: Option<String>,
}

#[derive(Deserialize)]
struct MessageEntry {
    id: String,
    #[serde(rename = "@removed", default)]
    removed: Option<serde_json::Value>,
}

/// One fetch's or listing's connection to Graph.
struct Session<'a> {
    http: reqwest::Client,
    endpoints: &'a Endpoints,
    tokens: &'a Tokens,
    account: &'a Account,
    limits: &'a Limits,
    requests: u32,
    current: Option<Sensitive<String>>,
}

/// How a GET ended that is not a success the caller reads.
enum Got {
    Ok(reqwest::Response),
    Gone,
}

fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let v = r.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

async fn read_capped(mut r: reqwest::Response, cap: u64, what: &str) -> Result<Option<Vec<u8>>> {
    if r.content_length().is_some_and(|n| n > cap) {
        return Ok(None);
    }
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| Error::unavailable(format!("{what}: {e}")))? {
        if out.len() as u64 + chunk.len() as u64 > cap {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

async fn graph_error(r: reqwest::Response, what: &str) -> Error {
    let status = r.status();
    let body = read_capped(r, 64 * 1024, what).await.ok().flatten().unwrap_or_default();
    let detail = match serde_json::from_slice::<GraphErrorBody>(&body) {
        Ok(e) => format!("{} {}", e.error.code, e.error.message),
        Err(_) => String::from_utf8_lossy(&body).chars().take(200).collect(),
    };
    Error::unavailable(format!("{what}: Graph answered {status}: {}", detail.trim()))
}

impl<'a> Session<'a> {
    fn new(endpoints: &'a Endpoints, tokens: &'a Tokens, account: &'a Account, limits: &'a Limits) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect)
            .timeout(limits.command)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("HTTP client: {e}")))?;
        Ok(Session { http, endpoints, tokens, account, limits, requests: 0, current: None })
    }

    /// A token for the account, from the cache or the token endpoint.
    /// One fetch keeps the token it started with (renewed once on a 401); across fetches
    /// the cache gives it until [`TOKEN_MARGIN`] before it expires.
    async fn token(&mut self, fresh: bool) -> Result<Sensitive<String>> {
        if !fresh && let Some(t) = &self.current {
            return Ok(Sensitive(t.expose().clone()));
        }
        let token = self.new_or_cached(fresh).await?;
        self.current = Some(Sensitive(token.expose().clone()));
        Ok(token)
    }

    async fn new_or_cached(&self, fresh: bool) -> Result<Sensitive<String>> {
        let k = key(self.endpoints, self.account);
        if !fresh
            && let Some(t) = self.tokens.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&k)
            && Instant::now() < t.until
        {
            return Ok(Sensitive(t.token.expose().clone()));
        }
        let url = self.endpoints.token.replace("{tenant}", &seg(&self.account.tenant_id));
        let url = safe_url(&url, "token URL")?;
        let form = [
            ("client_id", self.account.client_id.as_str()),
            ("client_secret", self.account.client_secret.expose().as_str()),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ];
        let what = "getting a token from Microsoft";
        let r = self.send(|| self.http.post(url.clone()).form(&form), what).await?;
        let status = r.status();
        let body = read_capped(r, self.limits.max_response_bytes, what)
            .await?
            .ok_or_else(|| Error::unavailable(format!("{what}: the answer is too large")))?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<TokenError>(&body)
                .map(|e| format!("{}: {}", e.error, e.error_description.lines().next().unwrap_or("")))
                .unwrap_or_else(|_| status.to_string());
            return Err(Error::unavailable(format!(
                "Microsoft refused the app's credentials (tenant {}, client {}): {detail}",
                self.account.tenant_id, self.account.client_id
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| Error::unavailable(format!("{what}: not a token answer: {e}")))?;
        let life = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let until = Instant::now() + life.saturating_sub(TOKEN_MARGIN);
        let token = Sensitive(answer.access_token);
        self.tokens
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(k, CachedToken { token: Sensitive(token.expose().clone()), until });
        Ok(token)
    }

    /// Sends a request, waiting out 429 and 503 (bounded).
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let mut tries = 0u32;
        loop {
            let r = make().send().await.map_err(|e| Error::unavailable(format!("{what}: {e}")))?;
            let s = r.status();
            if s != StatusCode::TOO_MANY_REQUESTS && s != StatusCode::SERVICE_UNAVAILABLE {
                return Ok(r);
            }
            if tries >= self.limits.throttle_retries {
                return Err(Error::unavailable(format!("{what}: Graph still answers {s} after {tries} retries")));
            }
            let wait = retry_after(&r).unwrap_or_else(|| self.limits.throttle_base.saturating_mul(1 << tries.min(16)));
            if wait > self.limits.max_throttle_wait {
                return Err(Error::unavailable(format!(
                    "{what}: Graph answers {s} and asks to wait {} s, longer than {} s",
                    wait.as_secs(),
                    self.limits.max_throttle_wait.as_secs()
                )));
            }
            tracing::debug!(status = %s, wait_ms = wait.as_millis() as u64, "Graph throttled; waiting");
            tokio::time::sleep(wait).await;
            tries += 1;
        }
    }

    /// A Graph GET with the bearer token (renewed once on 401); 410 is [`Got::Gone`].
    /// Whether a link is under the configured Graph base (where the token may go).
    fn under_base(&self, url: &str) -> bool {
        url.starts_with(&format!("{}/", self.endpoints.graph))
    }

    async fn get(&mut self, url: &str, what: &str) -> Result<Got> {
        if !self.under_base(url) {
            return Err(Error::unavailable(format!("{what}: Graph gave a link outside {}", self.endpoints.graph)));
        }
        let url = safe_url(url, "Graph link")?;
        self.requests += 1;
        if self.requests > self.limits.max_requests {
            return Err(Error::limit_exceeded(format!(
                "{what}: more than {} requests to Graph in one fetch",
                self.limits.max_requests
            )));
        }
        let mut fresh = false;
        loop {
            let token = self.token(fresh).await?;
            let r = self
                .send(
                    || {
                        self.http
                            .get(url.clone())
                            .bearer_auth(token.expose())
                            .header("Prefer", "IdType=\"ImmutableId\"")
                            .header("Prefer", format!("odata.maxpagesize={PAGE_SIZE}"))
                    },
                    what,
                )
                .await?;
            match r.status() {
                s if s.is_success() => return Ok(Got::Ok(r)),
                StatusCode::GONE => return Ok(Got::Gone),
                StatusCode::UNAUTHORIZED if !fresh => fresh = true,
                _ => return Err(graph_error(r, what).await),
            }
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&mut self, url: &str, what: &str) -> Result<Option<T>> {
        let r = match self.get(url, what).await? {
            Got::Ok(r) => r,
            Got::Gone => return Ok(None),
        };
        let body = read_capped(r, self.limits.max_response_bytes, what).await?.ok_or_else(|| {
            Error::limit_exceeded(format!("{what}: an answer over {} bytes", self.limits.max_response_bytes))
        })?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| Error::unavailable(format!("{what}: Graph's answer is not what it documents: {e}")))
    }

    fn user(&self) -> String {
        format!("{}/users/{}", self.endpoints.graph, seg(&self.account.mailbox))
    }

    /// A well-known folder's id (`inbox`, `sentitems`, `junkemail`), if the mailbox has it.
    async fn well_known(&mut self, name: &str) -> Result<Option<String>> {
        let url = format!("{}/mailFolders/{name}?$select=id", self.user());
        match self.get(&url, &format!("reading folder {name}")).await? {
            Got::Ok(r) => {
                let body = read_capped(r, self.limits.max_response_bytes, name).await?.unwrap_or_default();
                Ok(serde_json::from_slice::<GraphFolder>(&body).ok().map(|f| f.id))
            }
            Got::Gone => Ok(None),
        }
    }

    /// Every page of a folder collection.
    async fn folder_pages(&mut self, first: String, out: &mut Vec<GraphFolder>) -> Result<()> {
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: FolderPage = self
                .get_json(&url, "listing folders")
                .await?
                .ok_or_else(|| Error::unavailable("listing folders: Graph answered 410 Gone"))?;
            out.extend(page.value);
            if out.len() > MAX_LISTED {
                return Ok(());
            }
            next = page.next;
        }
        Ok(())
    }
}

/// The mailbox's folders, child folders included (paths joined by `/`; the inbox is
/// `INBOX`), with `\Sent` and `\Junk` marked from Graph's well-known folders.
pub async fn list_folders(
    endpoints: &Endpoints,
    tokens: &Tokens,
    account: &Account,
    limits: &Limits,
) -> Result<Vec<ListedFolder>> {
    let mut s = Session::new(endpoints, tokens, account, limits)?;
    let inbox = s.well_known("inbox").await?;
    let sent = s.well_known("sentitems").await?;
    let junk = s.well_known("junkemail").await?;
    let select = "$select=id,displayName,childFolderCount&$top=100";
    let mut top = Vec::new();
    s.folder_pages(format!("{}/mailFolders?{select}", s.user()), &mut top).await?;
    // Breadth first: (folder, its path, depth).
    let mut queue: std::collections::VecDeque<(GraphFolder, String, usize)> =
        top.into_iter().map(|f| (f.clone(), f.display_name.replace('/', "_"), 0)).collect();
    let mut out = Vec::new();
    while let Some((f, path, depth)) = queue.pop_front() {
        let is_inbox = inbox.as_deref() == Some(f.id.as_str());
        let name = if is_inbox { "INBOX".to_string() } else { path };
        let special = if sent.as_deref() == Some(f.id.as_str()) {
            Some("\\Sent".to_string())
        } else if junk.as_deref() == Some(f.id.as_str()) {
            Some("\\Junk".to_string())
        } else {
            None
        };
        if f.child_folder_count.unwrap_or(0) > 0 && depth < MAX_DEPTH && out.len() + queue.len() < MAX_LISTED {
            let mut children = Vec::new();
            let url = format!("{}/mailFolders/{}/childFolders?{select}", s.user(), seg(&f.id));
            s.folder_pages(url, &mut children).await?;
            for c in children {
                let p = format!("{name}/{}", c.display_name.replace('/', "_"));
                queue.push_back((c, p, depth + 1));
            }
        }
        out.push(ListedFolder { local_name: name.clone(), name, special_use: special, id: Some(f.id) });
        if out.len() >= MAX_LISTED {
            break;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

/// Fetches the new mail of `folders` into `sink` by delta query; with `since`, first every
/// message received at or after it that was not taken before (a resync).
pub async fn fetch(
    endpoints: &Endpoints,
    tokens: &Tokens,
    account: &Account,
    folders: &[FolderPlan],
    since: Option<time::OffsetDateTime>,
    sink: &dyn GraphSink,
    limits: &Limits,
) -> Result<Outcome> {
    let mut s = Session::new(endpoints, tokens, account, limits)?;
    // The token first: bad credentials fail before anything else is asked.
    s.token(false).await?;
    let mut outcome = Outcome::default();
    for plan in folders {
        if outcome.fetched + outcome.already + outcome.too_large >= limits.max_messages {
            outcome.more = true;
            break;
        }
        fetch_folder(&mut s, plan, since, sink, &mut outcome).await?;
    }
    Ok(outcome)
}

/// The folder's Graph id: as listed, or the well-known inbox for an INBOX never listed.
fn folder_id(plan: &FolderPlan) -> Result<String> {
    match &plan.id {
        Some(id) => Ok(id.clone()),
        None if plan.name == "INBOX" => Ok("inbox".into()),
        None => {
            Err(Error::conflict(format!("folder {} has no Microsoft 365 id; fetch the folder list again", plan.name)))
        }
    }
}

async fn fetch_folder(
    s: &mut Session<'_>,
    plan: &FolderPlan,
    since: Option<time::OffsetDateTime>,
    sink: &dyn GraphSink,
    outcome: &mut Outcome,
) -> Result<()> {
    let id = folder_id(plan)?;
    let base = format!("{}/mailFolders/{}/messages", s.user(), seg(&id));
    if let Some(t) = since {
        // Whole seconds: Graph's OData takes at most 7 fractional digits.
        let at = t
            .replace_nanosecond(0)
            .unwrap_or(t)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Error::internal(e.to_string()))?;
        let filter = seg(&format!("receivedDateTime ge {at}"));
        let first = format!("{base}?$select=id,receivedDateTime&$top={PAGE_SIZE}&$filter={filter}");
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: MessagePage = s
                .get_json(&url, &format!("listing folder {} since {at}", plan.name))
                .await?
                .ok_or_else(|| Error::unavailable(format!("listing folder {}: Graph answered 410 Gone", plan.name)))?;
            if !take_page(s, plan, sink, outcome, &page, None, None).await? {
                return Ok(());
            }
            next = page.next;
        }
    }
    let initial = format!("{base}/delta?$select=id,receivedDateTime");
    // A link stored under another Graph base (the configuration changed): start over.
    let stored = sink.link(&plan.name).await?.filter(|l| !l.is_empty() && s.under_base(l));
    let mut url = stored.clone().unwrap_or_else(|| initial.clone());
    let mut restarted = false;
    loop {
        let what = format!("delta of folder {}", plan.name);
        let page: MessagePage = match s.get_json(&url, &what).await? {
            Some(p) => p,
            None if !restarted && url != initial => {
                // 410 Gone: the delta token expired. Start over; ids taken are skipped.
                tracing::info!(folder = %plan.name, "Graph delta token expired; reading the folder again");
                restarted = true;
                outcome.restarted.push(plan.name.clone());
                sink.store(plan, Vec::new(), Vec::new(), Some(String::new())).await?;
                url = initial.clone();
                continue;
            }
            None => return Err(Error::unavailable(format!("{what}: Graph answered 410 Gone"))),
        };
        let after = page.next.clone().or(page.delta.clone()).ok_or_else(|| {
            Error::unavailable(format!("{what}: a page with neither @odata.nextLink nor @odata.deltaLink"))
        })?;
        // Never stored, never followed: the token goes only to the configured base.
        if !s.under_base(&after) {
            return Err(Error::unavailable(format!("{what}: Graph gave a link outside {}", s.endpoints.graph)));
        }
        if !take_page(s, plan, sink, outcome, &page, Some(&url), Some(&after)).await? {
            return Ok(());
        }
        if page.next.is_none() {
            return Ok(());
        }
        url = after;
    }
}

/// Takes a page's new messages into the sink, in batches. `here`/`after`: the link to
/// continue from while the page is partly taken and once it is all taken (`None`: keep).
/// Returns false when the fetch's budget ran out (the rest waits for the next fetch).
async fn take_page(
    s: &mut Session<'_>,
    plan: &FolderPlan,
    sink: &dyn GraphSink,
    outcome: &mut Outcome,
    page: &MessagePage,
    here: Option<&str>,
    after: Option<&str>,
) -> Result<bool> {
    let limits = s.limits;
    let mut ids: Vec<String> = Vec::new();
    for m in &page.value {
        // A removed message (deleted or moved out): nothing to fetch; our copy stays.
        if m.removed.is_none() && !ids.contains(&m.id) {
            ids.push(m.id.clone());
        }
    }
    let seen = if ids.is_empty() { HashSet::new() } else { sink.seen(&plan.name, &ids).await? };
    ids.retain(|i| !seen.contains(i));
    let mut batch = Vec::new();
    let mut passed = Vec::new();
    let mut bytes = 0u64;
    for (n, id) in ids.iter().enumerate() {
        if outcome.fetched + outcome.already + outcome.too_large + batch.len() as u32 >= limits.max_messages {
            outcome.more = true;
            let (stored, already) = sink.store(plan, batch, passed, here.map(str::to_string)).await?;
            outcome.fetched += stored;
            outcome.already += already;
            return Ok(false);
        }
        let url = format!("{}/messages/{}/$value", s.user(), seg(id));
        let what = format!("downloading a message of folder {}", plan.name);
        let r = match s.get(&url, &what).await? {
            Got::Ok(r) => r,
            Got::Gone => return Err(Error::unavailable(format!("{what}: Graph answered 410 Gone"))),
        };
        match read_capped(r, limits.max_message_bytes, &what).await? {
            Some(raw) => {
                bytes += raw.len() as u64;
                batch.push(GraphFetched { id: id.clone(), raw });
            }
            None => {
                outcome.too_large += 1;
                passed.push(id.clone());
            }
        }
        let last = n + 1 == ids.len();
        if !last && (batch.len() >= limits.batch_messages || bytes >= limits.batch_bytes) {
            let (stored, already) = sink
                .store(plan, std::mem::take(&mut batch), std::mem::take(&mut passed), here.map(str::to_string))
                .await?;
            outcome.fetched += stored;
            outcome.already += already;
            bytes = 0;
        }
    }
    if !batch.is_empty() || !passed.is_empty() || after.is_some() {
        let (stored, already) = sink.store(plan, batch, passed, after.map(str::to_string)).await?;
        outcome.fetched += stored;
        outcome.already += already;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(Endpoints::checked("https://graph.microsoft.com/v1.0/", TOKEN_URL).is_ok());
        assert!(Endpoints::checked("http://127.0.0.1:8080/v1.0", "http://127.0.0.1:8080/{tenant}/token").is_ok());
        assert!(Endpoints::checked("http://[::1]:1/v1.0", "http://localhost:1/{tenant}/token").is_ok());
        assert!(Endpoints::checked("http://graph.example.com/v1.0", TOKEN_URL).is_err());
        assert!(Endpoints::checked(GRAPH_BASE, "http://10.0.0.1/{tenant}/token").is_err());
        assert!(Endpoints::checked("ftp://127.0.0.1/v1.0", TOKEN_URL).is_err());
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(seg("a b/c?d#e"), "a%20b%2Fc%3Fd%23e");
        assert_eq!(seg("shared@contoso.com"), "shared%40contoso.com");
    }

    #[test]
    fn folders_without_an_id_are_the_inbox_or_refused() {
        let inbox = FolderPlan { name: "INBOX".into(), local: "INBOX".into(), id: None };
        assert_eq!(folder_id(&inbox).unwrap(), "inbox");
        let other = FolderPlan { name: "Archive".into(), local: "Archive".into(), id: None };
        assert!(folder_id(&other).is_err());
    }
}
