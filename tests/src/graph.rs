//! A Microsoft Graph double on loopback (axum, plain HTTP on 127.0.0.1) for the Microsoft
//! 365 shared mailbox tests. It does what Graph's documentation says, for the part
//! Postdesk uses:
//! * the identity platform's token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client
//!   credentials, scope `https://graph.microsoft.com/.default`; `401 invalid_client` for a
//!   wrong secret);
//! * `GET /v1.0/users/{mailbox}/mailFolders` (paged by `@odata.nextLink`), `…/{id}` (with
//!   the well-known names `inbox`, `sentitems`, `junkemail`), `…/{id}/childFolders`;
//! * `GET …/mailFolders/{id}/messages/delta`: pages with `@odata.nextLink`, the last with
//!   `@odata.deltaLink`; following a delta link gives what changed since, removals as
//!   `{"id": …, "@removed": {"reason": "deleted"}}`; a delta token made expired answers
//!   `410 Gone`;
//! * `GET …/mailFolders/{id}/messages?$filter=receivedDateTime ge …` (paged);
//! * `GET /v1.0/users/{mailbox}/messages/{id}/$value`: the MIME;
//! * ids: immutable ones when the request has `Prefer: IdType="ImmutableId"`, others
//!   (which change when a message moves, as Graph's default ids do) otherwise;
//! * throttling scripted by the test: the next requests answer 429 or 503, with or without
//!   `Retry-After`.
//!
//! Every request needs the bearer token it issued. It records what it was asked.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The tenant the double serves.
pub const TENANT: &str = "8a1f0c2e-5b3d-4e6f-9a7b-0c1d2e3f4a5b";
/// The app registration's client id it accepts.
pub const CLIENT_ID: &str = "3c9d2e1f-7a6b-4c5d-8e9f-0a1b2c3d4e5f";
/// The client secret it accepts.
pub const SECRET: &str = "Graph~Client~Secret~7Qx2";
/// The mailbox it holds.
pub const MAILBOX: &str = "shared@contoso.test";

struct Message {
    immutable: String,
    folder: String,
    moves: u32,
    received: time::OffsetDateTime,
    raw: Vec<u8>,
    seq: u64,
    /// Not in any delta (a message the delta missed; only a listing finds it).
    hidden: bool,
}

struct Folder {
    id: String,
    name: String,
    parent: Option<String>,
    well_known: Option<&'static str>,
}

/// What a throttled answer is.
#[derive(Debug, Clone, Copy)]
pub enum Throttle {
    /// `429 Too Many Requests`, with `Retry-After` seconds or without.
    TooMany(Option<u64>),
    /// `503 Service Unavailable`, with `Retry-After` seconds or without.
    Unavailable(Option<u64>),
}

#[derive(Default)]
struct Inner {
    folders: Vec<Folder>,
    messages: Vec<Message>,
    removed: Vec<(String, String, u64)>,
    seq: u64,
    expired_below: u64,
    throttle: VecDeque<Throttle>,
    tokens: Vec<String>,
    downloads: Vec<String>,
    without_immutable: u32,
    page_size: usize,
    token_life: u64,
    revoked: usize,
    link_base: Option<String>,
    throttled: u32,
    requests: Vec<String>,
}

/// The double; dropped, it stops.
pub struct GraphDouble {
    /// Graph's base URL (`http://127.0.0.1:port/v1.0`).
    pub base: String,
    /// The token URL, `{tenant}` standing for the tenant.
    pub token_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GraphDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GraphDouble {
    /// Starts the double with an inbox, Sent Items, Junk Email, and `Projects` with a child
    /// folder `2026` (folder lists are paged two at a time, message lists `page_size`).
    pub async fn start(page_size: usize) -> GraphDouble {
        let mut inner = Inner { page_size, token_life: 3599, ..Default::default() };
        let folder = |id: &str, name: &str, parent: Option<&str>, wk: Option<&'static str>| Folder {
            id: id.into(),
            name: name.into(),
            parent: parent.map(str::to_string),
            well_known: wk,
        };
        inner.folders = vec![
            folder("AAMkFolderInbox=", "Inbox", None, Some("inbox")),
            folder("AAMkFolderSent=", "Sent Items", None, Some("sentitems")),
            folder("AAMkFolderJunk=", "Junk Email", None, Some("junkemail")),
            folder("AAMkFolderProjects=", "Projects", None, None),
            folder("AAMkFolder2026=", "2026", Some("AAMkFolderProjects="), None),
        ];
        let inner = Arc::new(Mutex::new(inner));
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GraphDouble {
            base: format!("http://127.0.0.1:{port}/v1.0"),
            token_url: format!("http://127.0.0.1:{port}/{{tenant}}/oauth2/v2.0/token"),
            inner,
            task,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// Adds a message to a folder (by display name; `INBOX` is the inbox), received at
    /// `received`; returns its immutable id.
    pub fn add(&self, folder: &str, raw: &[u8], received: time::OffsetDateTime) -> String {
        self.add_as(folder, raw, received, false)
    }

    /// Adds a message that no delta reports (one a delta missed): only a listing finds it.
    pub fn add_hidden(&self, folder: &str, raw: &[u8], received: time::OffsetDateTime) -> String {
        self.add_as(folder, raw, received, true)
    }

    fn add_as(&self, folder: &str, raw: &[u8], received: time::OffsetDateTime, hidden: bool) -> String {
        let mut s = self.lock();
        let folder = folder_id(&s, folder);
        s.seq += 1;
        let seq = s.seq;
        let immutable = format!("AAkALgImmutable{seq:04}=");
        s.messages.push(Message {
            immutable: immutable.clone(),
            folder,
            moves: 0,
            received,
            raw: raw.to_vec(),
            seq,
            hidden,
        });
        immutable
    }

    /// Deletes a message: later deltas report it `@removed`.
    pub fn delete(&self, immutable: &str) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let i = s.messages.iter().position(|m| m.immutable == immutable).expect("a message");
        let m = s.messages.remove(i);
        s.removed.push((m.folder, m.immutable, seq));
    }

    /// Makes every delta token issued so far expired (410 Gone).
    pub fn expire_delta_tokens(&self) {
        let mut s = self.lock();
        s.seq += 1;
        s.expired_below = s.seq;
    }

    /// The next requests to Graph (not to the token endpoint) answer these, in order.
    pub fn throttle(&self, answers: &[Throttle]) {
        self.lock().throttle.extend(answers.iter().copied());
    }

    /// Makes the links it hands back (`nextLink`, `deltaLink`) point under `base` instead
    /// of itself (a link to another host).
    pub fn set_link_base(&self, base: &str) {
        self.lock().link_base = Some(base.to_string());
    }

    /// Revokes every token issued so far (the next request with one answers 401).
    pub fn revoke_tokens(&self) {
        let mut s = self.lock();
        s.revoked = s.tokens.len();
    }

    /// The `expires_in` of tokens issued from now on (seconds; 3599 by default).
    pub fn set_token_life(&self, seconds: u64) {
        self.lock().token_life = seconds;
    }

    /// Immutable ids whose MIME was downloaded, in order (a mutable id downloaded is
    /// recorded as `mutable:<id>`).
    pub fn downloads(&self) -> Vec<String> {
        self.lock().downloads.clone()
    }

    /// Tokens issued.
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens.len()
    }

    /// Requests to Graph without `Prefer: IdType="ImmutableId"`.
    pub fn without_immutable(&self) -> u32 {
        self.lock().without_immutable
    }

    /// Throttled answers given.
    pub fn throttled(&self) -> u32 {
        self.lock().throttled
    }

    /// Paths and queries asked, in order (not the token endpoint).
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

fn folder_id(s: &Inner, name: &str) -> String {
    s.folders
        .iter()
        .find(|f| f.name == name || (name == "INBOX" && f.well_known == Some("inbox")))
        .map(|f| f.id.clone())
        .expect("a folder of the double")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(q: Option<&str>) -> HashMap<String, String> {
    let url = reqwest::Url::parse(&format!("http://x/?{}", q.unwrap_or(""))).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let q = query(parts.uri.query());
    let host = parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    if parts.method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        let body = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
        let form = query(Some(std::str::from_utf8(&body).unwrap_or("")));
        return token(&inner, &path, &form);
    }
    let mut s = inner.lock().unwrap();
    s.requests.push(format!("{path}?{}", parts.uri.query().unwrap_or("")));
    if let Some(t) = s.throttle.pop_front() {
        s.throttled += 1;
        let (status, after) = match t {
            Throttle::TooMany(a) => (StatusCode::TOO_MANY_REQUESTS, a),
            Throttle::Unavailable(a) => (StatusCode::SERVICE_UNAVAILABLE, a),
        };
        let mut r = error(status, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.");
        if let Some(a) = after {
            r.headers_mut().insert("Retry-After", a.to_string().parse().unwrap());
        }
        return r;
    }
    let bearer = parts.headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or("");
    if !bearer.strip_prefix("Bearer ").is_some_and(|t| s.tokens[s.revoked..].iter().any(|k| k == t)) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty or invalid.");
    }
    let immutable = prefers_immutable(&parts.headers);
    if !immutable {
        s.without_immutable += 1;
    }
    let segs: Vec<String> = path.trim_start_matches('/').split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let base = s.link_base.clone().unwrap_or_else(|| format!("http://{host}/v1.0"));
    let base = format!("{base}/users/{}", MAILBOX.replace('@', "%40"));
    match segs.as_slice() {
        ["v1.0", "users", m, rest @ ..] if *m == MAILBOX => graph(&mut s, rest, &q, &base, immutable),
        ["v1.0", "users", ..] => error(StatusCode::NOT_FOUND, "ErrorInvalidUser", "The requested user is invalid."),
        _ => error(StatusCode::BAD_REQUEST, "BadRequest", "Unsupported segment type."),
    }
}

fn prefers_immutable(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == "IdType=\"ImmutableId\"")
}

fn token(inner: &Arc<Mutex<Inner>>, path: &str, form: &HashMap<String, String>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let oauth = |status: StatusCode, e: &str, d: &str| {
        (status, axum::Json(json!({ "error": e, "error_description": d }))).into_response()
    };
    if path != format!("/{TENANT}/oauth2/v2.0/token") {
        return oauth(StatusCode::BAD_REQUEST, "invalid_request", "AADSTS90002: Tenant not found.");
    }
    if field("grant_type") != "client_credentials" || field("scope") != "https://graph.microsoft.com/.default" {
        return oauth(StatusCode::BAD_REQUEST, "invalid_request", "AADSTS900144: bad grant_type or scope.");
    }
    if field("client_id") != CLIENT_ID {
        return oauth(StatusCode::BAD_REQUEST, "unauthorized_client", "AADSTS700016: Application not found.");
    }
    if field("client_secret") != SECRET {
        return oauth(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    let mut s = inner.lock().unwrap();
    let t = format!("eyJ0eXAi.double.{}", s.tokens.len() + 1);
    s.tokens.push(t.clone());
    let life = s.token_life;
    axum::Json(json!({ "token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": t }))
        .into_response()
}

fn message_id(m: &Message, immutable: bool) -> String {
    if immutable { m.immutable.clone() } else { format!("AAMkMutable{}.{}=", m.seq, m.moves) }
}

fn graph(s: &mut Inner, rest: &[&str], q: &HashMap<String, String>, base: &str, immutable: bool) -> Response {
    match rest {
        ["mailFolders"] => folder_page(s, None, q, &format!("{base}/mailFolders")),
        ["mailFolders", id] => match s.folders.iter().find(|f| f.id == *id || f.well_known == Some(id)) {
            Some(f) => axum::Json(json!({ "id": f.id, "displayName": f.name })).into_response(),
            None => {
                error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.")
            }
        },
        ["mailFolders", id, "childFolders"] => {
            let id = id.to_string();
            folder_page(s, Some(&id), q, &format!("{base}/mailFolders/{id}/childFolders"))
        }
        ["mailFolders", id, "messages", "delta"] => delta(s, id, q, base, immutable),
        ["mailFolders", id, "messages"] => listing(s, id, q, base, immutable),
        ["messages", id, "$value"] => {
            let found = s.messages.iter().find(|m| m.immutable == *id || message_id(m, false) == *id);
            match found {
                Some(m) => {
                    let raw = m.raw.clone();
                    let logged = if m.immutable == *id { id.to_string() } else { format!("mutable:{id}") };
                    s.downloads.push(logged);
                    Response::builder().header("content-type", "message/rfc822").body(Body::from(raw)).unwrap()
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ),
            }
        }
        _ => error(StatusCode::BAD_REQUEST, "BadRequest", "Resource not found for the segment."),
    }
}

fn resolve<'a>(s: &'a Inner, id: &str) -> Option<&'a Folder> {
    s.folders.iter().find(|f| f.id == id || f.well_known == Some(id))
}

fn folder_page(s: &Inner, parent: Option<&str>, q: &HashMap<String, String>, url: &str) -> Response {
    let all: Vec<&Folder> = s.folders.iter().filter(|f| f.parent.as_deref() == parent).collect();
    let skip: usize = q.get("$skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(2)
        .map(|f| {
            let children = s.folders.iter().filter(|c| c.parent.as_deref() == Some(f.id.as_str())).count();
            json!({ "id": f.id, "displayName": f.name, "childFolderCount": children })
        })
        .collect();
    let mut body = json!({ "value": value });
    if skip + 2 < all.len() {
        body["@odata.nextLink"] = json!(format!("{url}?$skip={}", skip + 2));
    }
    axum::Json(body).into_response()
}

fn delta(s: &Inner, id: &str, q: &HashMap<String, String>, base: &str, immutable: bool) -> Response {
    let Some(folder) = resolve(s, id) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified folder was not found.");
    };
    // A round: what changed after `from`, read `skip` entries in.
    let (from, skip) = if let Some(t) = q.get("$deltatoken") {
        let from: u64 = t.parse().unwrap_or(0);
        if from < s.expired_below {
            return error(StatusCode::GONE, "SyncStateNotFound", "The sync state is no longer valid; sync again.");
        }
        (from, 0)
    } else if let Some(t) = q.get("$skiptoken") {
        let (a, b) = t.split_once('.').unwrap_or(("0", "0"));
        let from: u64 = a.parse().unwrap_or(0);
        if from < s.expired_below && from != 0 {
            return error(StatusCode::GONE, "SyncStateNotFound", "The sync state is no longer valid; sync again.");
        }
        (from, b.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    let mut changes: Vec<(u64, Value)> = s
        .messages
        .iter()
        .filter(|m| m.folder == folder.id && m.seq > from && !m.hidden)
        .map(|m| (m.seq, json!({ "id": message_id(m, immutable), "receivedDateTime": rfc3339(m.received) })))
        .collect();
    if from > 0 {
        changes.extend(
            s.removed
                .iter()
                .filter(|(f, _, seq)| *f == folder.id && *seq > from)
                .map(|(_, imm, seq)| (*seq, json!({ "id": imm, "@removed": { "reason": "deleted" } }))),
        );
    }
    changes.sort_by_key(|c| c.0);
    let url = format!("{base}/mailFolders/{}/messages/delta", folder.id);
    let page: Vec<Value> = changes.iter().skip(skip).take(s.page_size).map(|c| c.1.clone()).collect();
    let mut body = json!({ "value": page });
    if skip + s.page_size < changes.len() {
        body["@odata.nextLink"] = json!(format!("{url}?$skiptoken={from}.{}", skip + s.page_size));
    } else {
        body["@odata.deltaLink"] = json!(format!("{url}?$deltatoken={}", s.seq));
    }
    axum::Json(body).into_response()
}

fn listing(s: &Inner, id: &str, q: &HashMap<String, String>, base: &str, immutable: bool) -> Response {
    let Some(folder) = resolve(s, id) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified folder was not found.");
    };
    let since = q
        .get("$filter")
        .and_then(|f| f.strip_prefix("receivedDateTime ge "))
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
    let skip: usize = q.get("$skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let all: Vec<&Message> =
        s.messages.iter().filter(|m| m.folder == folder.id && since.is_none_or(|t| m.received >= t)).collect();
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(s.page_size)
        .map(|m| json!({ "id": message_id(m, immutable), "receivedDateTime": rfc3339(m.received) }))
        .collect();
    let mut body = json!({ "value": value });
    if skip + s.page_size < all.len() {
        let filter = q.get("$filter").map(|f| f.replace(' ', "%20").replace(':', "%3A")).unwrap_or_default();
        body["@odata.nextLink"] =
            json!(format!("{base}/mailFolders/{}/messages?$filter={filter}&$skip={}", folder.id, skip + s.page_size));
    }
    axum::Json(body).into_response()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}
