//! Shared mailboxes (seed 002): their admin operations, fetching into the store through
//! `postdesk-fetch` (the engine is its [`Sink`] for IMAP and its [`GraphSink`] for
//! Microsoft 365), the count of consecutive failures that stops fetching, the resync, and
//! the scheduler `serve` and the desktop app run ([`spawn_shared_mailbox_fetcher`]).
//!
//! Invariants:
//! * the mailbox in the store is the account at the sender address, created in the same
//!   transaction as the shared mailbox (no password: nobody logs in as it);
//! * its password (Microsoft 365: client secret) is only ever in the engine's [`SecretStore`] (account
//!   [`secret_account`], by row id), written or removed inside the settings' write transaction,
//!   never in a row, an answer or the audit log;
//! * a fetched batch, the record of what was fetched and the folder's high-water UID (for
//!   Microsoft 365: the Graph ids taken and the delta link to continue from) are one
//!   transaction; a message's content already taken from a folder is never stored
//!   again (a crash, a reconnect, a changed UIDVALIDITY, a resync);
//! * one fetch at a time per mailbox in this process (fetch now and the scheduler wait
//!   for each other); the outcome (error count, interval set to none at the limit, the
//!   notice) is written with its audit entry in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use postdesk_contract::secret::Sensitive;
use postdesk_contract::shared::*;
use postdesk_fetch::graph::{self, GraphSink};
use postdesk_fetch::{FolderPlan, Limits, Server, Sink};

use crate::accounts::{self, Prepared};
use crate::api::*;
use crate::audit::{self, Change};
use crate::departments::Tree;
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, page_limit};
use crate::sql::{self, shared::Row};
use crate::store::{BlobStore, blocking};
use crate::{Engine, EngineBackend, Operation, domain_id, domains, now, validate};

const MAX_NAME: usize = 128;
const MAX_USERNAME: usize = 256;
const MAX_SECRET: usize = 16 * 1024;
/// Most folders a folder list keeps.
const MAX_FOLDERS: usize = 1000;
/// The actor of the scheduler's fetches in the audit log.
const SCHEDULER: &str = "system (shared mailbox fetch)";

/// The caller's scope over the address's domain (Accounts page).
fn authorised(b: &EngineBackend, address: &str) -> Result<validate::Address> {
    let addr = validate::address(address)?;
    b.caller.require(Page::Accounts, Some(&addr.domain))?;
    Ok(addr)
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

fn valid_host(host: &str) -> Result<String> {
    let h = host.trim().to_ascii_lowercase();
    if h.is_empty() || h.len() > 253 || h.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(Error::validation(format!("'{host}' is not a host name or IP address")).with_field("host"));
    }
    Ok(h)
}

fn valid_interval(minutes: u32) -> Result<Option<i64>> {
    match minutes {
        0 => Ok(None),
        m if m <= MAX_FETCH_INTERVAL_MINUTES => Ok(Some(i64::from(m))),
        m => Err(Error::validation(format!(
            "a fetch interval of {m} minutes is too long; at most {MAX_FETCH_INTERVAL_MINUTES} (a week), or none"
        ))
        .with_field("fetch_interval_minutes")),
    }
}

fn valid_disable_after(n: u32) -> Result<i64> {
    if n == 0 || n > MAX_DISABLE_AFTER {
        return Err(Error::validation(format!("stop after 1 to {MAX_DISABLE_AFTER} failures, not {n}"))
            .with_field("disable_after"));
    }
    Ok(i64::from(n))
}

/// A Microsoft 365 directory (tenant) id: a GUID or the tenant's domain name.
fn valid_tenant(tenant: &str) -> Result<String> {
    let t = tenant.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err(Error::validation("a Microsoft 365 mailbox needs the tenant id").with_field("tenant_id"));
    }
    if t.len() > 253 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(Error::validation(format!(
            "'{tenant}' is not a tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, or the tenant's domain)"
        ))
        .with_field("tenant_id"));
    }
    Ok(t)
}

/// An app registration's (client) id: a GUID.
fn valid_client_id(client: &str) -> Result<String> {
    let c = client.trim().to_ascii_lowercase();
    if c.is_empty() {
        return Err(Error::validation("a Microsoft 365 mailbox needs the app's client id").with_field("client_id"));
    }
    let groups: Vec<&str> = c.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let guid = groups.len() == 5
        && groups.iter().zip(shape).all(|(g, n)| g.len() == n && g.chars().all(|ch| ch.is_ascii_hexdigit()));
    if !guid {
        return Err(Error::validation(format!(
            "'{client}' is not a client id (the app registration's GUID, such as 8f6e3c1a-0b2d-4e5f-9a7b-1c2d3e4f5a6b)"
        ))
        .with_field("client_id"));
    }
    Ok(c)
}

/// The Microsoft 365 mailbox read through Graph: a user principal name or user id.
fn valid_graph_mailbox(mailbox: &str) -> Result<String> {
    let m = mailbox.trim().to_string();
    valid_text(&m, "username", "Microsoft 365 mailbox", MAX_USERNAME)?;
    if m.is_empty() || m.chars().any(|c| c.is_whitespace() || matches!(c, '/' | '\\' | '?' | '#' | '%')) {
        return Err(Error::validation(format!(
            "'{mailbox}' is not a Microsoft 365 mailbox (its user principal name, such as shared@contoso.com, or user id)"
        ))
        .with_field("username"));
    }
    Ok(m)
}

/// What the secret is called for a kind, in messages.
fn secret_word(kind: SharedMailboxKind) -> &'static str {
    match kind {
        SharedMailboxKind::Imap => "password",
        SharedMailboxKind::Microsoft365 => "client secret",
    }
}

fn valid_secret(secret: Option<&str>, kind: SharedMailboxKind) -> Result<()> {
    if let Some(s) = secret {
        valid_text(s, "secret", secret_word(kind), MAX_SECRET)?;
        if s.is_empty() {
            return Err(Error::validation(format!("the {} is empty", secret_word(kind))).with_field("secret"));
        }
    }
    Ok(())
}

impl Engine {
    async fn shared_secret(&self, id: i64) -> Result<Option<Sensitive<String>>> {
        let (store, account) = (self.secrets.clone(), secret_account(id));
        blocking(move || store.get(&account)).await
    }

    async fn set_shared_secret(&self, id: i64, secret: Option<String>) -> Result<()> {
        let (store, account) = (self.secrets.clone(), secret_account(id));
        blocking(move || match secret {
            Some(s) => store.set(&account, &Sensitive(s)),
            None => store.delete(&account),
        })
        .await
    }

    /// The API's view of a stored shared mailbox.
    pub(crate) async fn shared_view(&self, conn: &mut sql::Conn, row: &Row) -> Result<SharedMailbox> {
        let folders = sql::shared::folders(&mut *conn, row.id)
            .await?
            .into_iter()
            .map(|(name, fetch, special_use, fetched)| SharedFolder {
                name,
                fetch,
                special_use,
                fetched: fetched.max(0) as u64,
            })
            .collect();
        let fetched = sql::shared::fetched_count(&mut *conn, row.id).await?;
        let secret_set = self.shared_secret(row.id).await?.is_some();
        let mut mailbox = view(row, folders, fetched, secret_set);
        (mailbox.owners, mailbox.owner_groups) = sql::shared::owners(&mut *conn, row.id).await?;
        mailbox.auto_reply = crate::autoreply::get(&mut *conn, row.account_id).await?;
        Ok(mailbox)
    }
}

fn view(row: &Row, folders: Vec<SharedFolder>, fetched: i64, secret_set: bool) -> SharedMailbox {
    SharedMailbox {
        address: row.address.clone(),
        domain: row.domain.clone(),
        name: row.name.clone(),
        kind: SharedMailboxKind::parse(&row.kind).unwrap_or_default(),
        host: row.host.clone(),
        port: row.port.clamp(1, 65535) as u16,
        tls: FetchTls::parse(&row.tls).unwrap_or_default(),
        verify_certificate: row.verify_certificate,
        username: row.username.clone(),
        tenant_id: row.tenant_id.clone(),
        client_id: row.client_id.clone(),
        secret_set,
        fetch_interval_minutes: row.fetch_interval_minutes.map(|m| m.clamp(0, i64::from(u32::MAX)) as u32),
        disable_after: row.disable_after.clamp(0, i64::from(u32::MAX)) as u32,
        error_count: row.error_count.clamp(0, i64::from(u32::MAX)) as u32,
        last_error: row.last_error.clone(),
        last_error_at: row.last_error_at.clone(),
        disabled_at: row.disabled_at.clone(),
        last_fetch_at: row.last_fetch_at.clone(),
        last_success_at: row.last_success_at.clone(),
        folders,
        sent_folder: row.sent_folder.clone(),
        junk_folder: row.junk_folder.clone(),
        resync_from: row.resync_from.clone(),
        fetched_messages: fetched.max(0) as u64,
        owners: Vec::new(),
        owner_groups: Vec::new(),
        auto_reply: Default::default(),
        template: SharedTemplate {
            font: row.template_font.clone(),
            size_pt: row.template_size_pt.map(|s| s.clamp(0, i64::from(u32::MAX)) as u32),
        },
        created_at: row.created_at.clone(),
    }
}

async fn load(conn: &mut sql::Conn, address: &str) -> Result<Row> {
    sql::shared::get(conn, address)
        .await?
        .ok_or_else(|| Error::not_found(format!("there is no shared mailbox {address}")).with_field("address"))
}

/// A page of `rows` (at most `limit` + 1 read, so the extra one says there are more) as views.
async fn page_of(
    b: &EngineBackend,
    conn: &mut sql::Conn,
    mut rows: Vec<Row>,
    limit: u32,
) -> Result<CursorPage<SharedMailbox>> {
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.address.clone())
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(b.engine.shared_view(&mut *conn, row).await?);
    }
    Ok(CursorPage { items, next })
}

pub(crate) async fn list(b: &EngineBackend, p: ListSharedMailboxes) -> Result<CursorPage<SharedMailbox>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let rows = sql::shared::list(&mut conn, &domain, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    page_of(b, &mut conn, rows, limit).await
}

/// `list_stopped_shared_mailboxes`: the mailboxes whose fetching stopped at their limit of
/// failures, in the caller's domains (the app-wide notice).
pub(crate) async fn list_stopped(
    b: &EngineBackend,
    p: ListStoppedSharedMailboxes,
) -> Result<CursorPage<SharedMailbox>> {
    b.caller.require_page(Page::Accounts)?;
    let limit = page_limit(p.limit)?;
    let scope = match &b.caller.domains {
        Some(list) if b.caller.role != crate::model::Role::Owner => Some(serde_json::to_string(list)?),
        _ => None,
    };
    let mut conn = b.engine.read().await?;
    let after = p.after.as_deref().unwrap_or("");
    let rows = sql::shared::stopped(&mut conn, scope.as_deref(), after, limit + 1).await?;
    page_of(b, &mut conn, rows, limit).await
}

pub(crate) async fn get(b: &EngineBackend, p: GetSharedMailbox) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let mut conn = b.engine.read().await?;
    let row = load(&mut conn, &addr.full()).await?;
    b.engine.shared_view(&mut conn, &row).await
}

pub(crate) async fn create(b: &EngineBackend, p: CreateSharedMailbox) -> Result<SharedMailbox> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let addr = validate::address(&p.address)?;
    if addr.domain != domain {
        return Err(
            Error::validation(format!("the sender address {} is not in {domain}", addr.full())).with_field("address")
        );
    }
    let name = validate::text("name", &p.name, MAX_NAME)?;
    if name.is_empty() {
        return Err(Error::validation("a shared mailbox needs a name").with_field("name"));
    }
    let kind = p.kind.unwrap_or_default();
    let tls = p.tls.unwrap_or_default();
    // Microsoft 365: no host, port or TLS choice (Graph is HTTPS); the tenant, the app's
    // client id and the mailbox at Microsoft 365 instead.
    let (host, port, username, tenant_id, client_id) = match kind {
        SharedMailboxKind::Imap => {
            let host = valid_host(p.host.as_deref().unwrap_or(""))?;
            let port = p.port.unwrap_or(match tls {
                FetchTls::Implicit => 993,
                FetchTls::Starttls => 143,
            });
            if port == 0 {
                return Err(Error::validation("the port must be 1–65535").with_field("port"));
            }
            let username = p.username.as_deref().unwrap_or("").trim().to_string();
            valid_text(&username, "username", "user name", MAX_USERNAME)?;
            if username.is_empty() {
                return Err(Error::validation("the external server needs a user name").with_field("username"));
            }
            (host, port, username, String::new(), String::new())
        }
        SharedMailboxKind::Microsoft365 => {
            let tenant = valid_tenant(p.tenant_id.as_deref().unwrap_or(""))?;
            let client = valid_client_id(p.client_id.as_deref().unwrap_or(""))?;
            let mailbox = valid_graph_mailbox(p.username.as_deref().unwrap_or(&addr.full()))?;
            (String::new(), 443, mailbox, tenant, client)
        }
    };
    let secret = p.secret.map(|s| s.0);
    valid_secret(secret.as_deref(), kind)?;
    let interval = valid_interval(p.fetch_interval_minutes.unwrap_or(0))?;
    let disable_after = valid_disable_after(p.disable_after.unwrap_or(DEFAULT_DISABLE_AFTER))?;

    let mut tx = b.engine.write().await?;
    let dom = domains::load(&mut tx, &domain).await?;
    accounts::check_cap(&dom, 1)?;
    let did = domain_id(&mut tx, &dom.name).await?;
    let tree = Tree::load(&mut tx, did, &dom.name).await?;
    let prepared = Prepared {
        addr: addr.clone(),
        display_name: name.clone(),
        notes: "Shared mailbox, fetched from an external server".into(),
        department: None,
        hash: None,
        force_password_change: false,
        quota_mb: None,
    };
    let at = now();
    let account_id = accounts::insert(&mut tx, &dom, did, &tree, &prepared, &at).await?;
    let mut row = Row {
        id: 0,
        account_id,
        address: addr.full(),
        domain: domain.clone(),
        name,
        kind: kind.name().into(),
        host,
        port: i64::from(port),
        tls: tls.name().into(),
        verify_certificate: p.verify_certificate.unwrap_or(true),
        username,
        tenant_id,
        client_id,
        fetch_interval_minutes: interval,
        disable_after,
        error_count: 0,
        last_error: None,
        last_error_at: None,
        disabled_at: None,
        last_fetch_at: None,
        last_success_at: None,
        sent_folder: None,
        junk_folder: None,
        resync_from: None,
        template_font: None,
        template_size_pt: None,
        created_at: at,
    };
    row.id = sql::shared::insert(&mut tx, &row).await?;
    let wrote = secret.is_some();
    // Written, or cleared when none is given: a row id can be reused after the highest
    // row went with its account (purged), and its secret must not be inherited.
    b.engine.set_shared_secret(row.id, secret).await?;
    let mailbox = view(&row, Vec::new(), 0, wrote);
    let after = serde_json::json!({ "shared_mailbox": &mailbox, "secret_changed": wrote });
    let change = Change { action: CreateSharedMailbox::NAME, domain: Some(&domain), target: &row.address };
    audit::record(&mut tx, &b.caller.name, change, None::<&()>, Some(&after)).await?;
    if let Err(e) = tx.commit().await {
        if wrote {
            let _ = b.engine.set_shared_secret(row.id, None).await;
        }
        return Err(e.into());
    }
    Ok(mailbox)
}

pub(crate) async fn update(b: &EngineBackend, p: UpdateSharedMailbox) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let name = p.name.as_deref().map(|n| validate::text("name", n, MAX_NAME)).transpose()?;
    if name.as_deref() == Some("") {
        return Err(Error::validation("a shared mailbox needs a name").with_field("name"));
    }
    let host = p.host.as_deref().map(valid_host).transpose()?;
    if p.port == Some(0) {
        return Err(Error::validation("the port must be 1–65535").with_field("port"));
    }
    let username = p.username.as_deref().map(|u| u.trim().to_string());
    if let Some(u) = &username {
        valid_text(u, "username", "user name", MAX_USERNAME)?;
        if u.is_empty() {
            return Err(Error::validation("the external server needs a user name").with_field("username"));
        }
    }
    let tenant_id = p.tenant_id.as_deref().map(valid_tenant).transpose()?;
    let client_id = p.client_id.as_deref().map(valid_client_id).transpose()?;
    let secret = p.secret.map(|s| s.0);
    let interval = p.fetch_interval_minutes.map(valid_interval).transpose()?;
    let disable_after = p.disable_after.map(valid_disable_after).transpose()?;

    let mut tx = b.engine.write().await?;
    let before_row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &before_row).await?;
    let mut row = before_row.clone();
    if let Some(n) = name {
        row.name = n;
    }
    if let Some(k) = p.kind {
        row.kind = k.name().into();
    }
    if let Some(h) = host {
        row.host = h;
    }
    if let Some(t) = p.tls {
        row.tls = t.name().into();
    }
    if let Some(port) = p.port {
        row.port = i64::from(port);
    }
    if let Some(v) = p.verify_certificate {
        row.verify_certificate = v;
    }
    if let Some(u) = username {
        row.username = u;
    }
    if let Some(t) = tenant_id {
        row.tenant_id = t;
    }
    if let Some(c) = client_id {
        row.client_id = c;
    }
    // The settings as a whole must suit the kind they end with.
    let kind = SharedMailboxKind::parse(&row.kind).unwrap_or_default();
    valid_secret(secret.as_deref(), kind)?;
    match kind {
        SharedMailboxKind::Imap => {
            valid_host(&row.host)?;
        }
        SharedMailboxKind::Microsoft365 => {
            valid_tenant(&row.tenant_id)?;
            valid_client_id(&row.client_id)?;
            valid_graph_mailbox(&row.username)?;
        }
    }
    // Another mailbox or tenant: Graph's delta links of the old one are no use.
    if (row.kind.as_str(), &row.username, &row.tenant_id)
        != (before_row.kind.as_str(), &before_row.username, &before_row.tenant_id)
    {
        sql::shared::clear_delta_links(&mut tx, row.id).await?;
    }
    if let Some(i) = interval {
        row.fetch_interval_minutes = i;
        // The admin has seen the notice and turned fetching back on.
        if i.is_some() {
            row.disabled_at = None;
        }
    }
    if let Some(n) = disable_after {
        row.disable_after = n;
    }
    sql::shared::update(&mut tx, &row).await?;
    let wrote = secret.is_some();
    if wrote {
        b.engine.set_shared_secret(row.id, secret).await?;
    }
    let after = b.engine.shared_view(&mut tx, &row).await?;
    let audited = serde_json::json!({ "shared_mailbox": &after, "secret_changed": wrote });
    let change = Change { action: UpdateSharedMailbox::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&audited)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveSharedMailbox) -> Result<()> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let _turn = b.engine.shared.turn(&address).await;
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    sql::shared::remove(&mut tx, row.id).await?;
    b.engine.set_shared_secret(row.id, None).await?;
    let change = Change { action: RemoveSharedMailbox::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), None::<&()>).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_folders(b: &EngineBackend, p: SetSharedFolders) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    let listed: HashSet<&str> = before.folders.iter().map(|f| f.name.as_str()).collect();
    if listed.is_empty() {
        return Err(Error::conflict("fetch the folder list from the server first").with_field("fetch"));
    }
    let named = |field: &str, name: &str| -> Result<()> {
        if listed.contains(name) {
            Ok(())
        } else {
            Err(Error::validation(format!("the server listed no folder named '{name}'")).with_field(field))
        }
    };
    let mut fetch: Vec<String> = Vec::new();
    for f in &p.fetch {
        named("fetch", f)?;
        if !fetch.contains(f) {
            fetch.push(f.clone());
        }
    }
    let pick = |field: &str, v: &Option<String>| -> Result<Option<String>> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(name) => named(field, name).map(|()| Some(name.to_string())),
        }
    };
    let sent = pick("sent_folder", &p.sent_folder)?;
    let junk = pick("junk_folder", &p.junk_folder)?;
    if sent.is_some() && sent == junk {
        return Err(Error::validation("the Sent and Junk folders must differ").with_field("junk_folder"));
    }
    // The Sent and Junk folders are fetched (into our Sent and Junk).
    for f in sent.iter().chain(junk.iter()) {
        if !fetch.contains(f) {
            fetch.push(f.clone());
        }
    }
    sql::shared::choose_folders(&mut tx, row.id, &fetch).await?;
    let mut changed = row.clone();
    changed.sent_folder = sent;
    changed.junk_folder = junk;
    sql::shared::update(&mut tx, &changed).await?;
    let after = b.engine.shared_view(&mut tx, &changed).await?;
    let change = Change { action: SetSharedFolders::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn resync(b: &EngineBackend, p: ResyncSharedMailbox) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    if !p.confirm {
        return Err(Error::validation(
            "a resync fetches again everything received since then that was not fetched before; confirm it",
        )
        .with_field("confirm"));
    }
    let since =
        time::OffsetDateTime::parse(p.since.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
            Error::validation(format!("'{}' is not a date and time (RFC 3339, e.g. 2026-12-01T08:00:00Z)", p.since))
                .with_field("since")
        })?;
    if since > time::OffsetDateTime::now_utc() {
        return Err(Error::validation("a resync starts in the past").with_field("since"));
    }
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    let mut changed = row.clone();
    changed.resync_from = Some(crate::format_time(since));
    sql::shared::update(&mut tx, &changed).await?;
    let after = b.engine.shared_view(&mut tx, &changed).await?;
    let change = Change { action: ResyncSharedMailbox::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn set_auto_reply(b: &EngineBackend, p: SetSharedAutoReply) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let reply = crate::autoreply::checked(postdesk_contract::autoreply::AutoReply {
        enabled: p.enabled,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
        subject: p.subject,
        text: p.text,
    })?;
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    crate::autoreply::set(&mut tx, row.account_id, reply).await?;
    let after = b.engine.shared_view(&mut tx, &row).await?;
    let change = Change { action: SetSharedAutoReply::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.auto_reply), Some(&after.auto_reply)).await?;
    tx.commit().await?;
    Ok(after)
}

/// The template's font, one of [`TEMPLATE_FONTS`] (any case, given back as listed), or none.
fn valid_font(font: Option<&str>) -> Result<Option<&'static str>> {
    let Some(font) = font.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    TEMPLATE_FONTS.iter().find(|f| f.eq_ignore_ascii_case(font)).copied().map(Some).ok_or_else(|| {
        Error::validation(format!("'{font}' is not one of the template fonts ({})", TEMPLATE_FONTS.join(", ")))
            .with_field("font")
    })
}

pub(crate) async fn set_template(b: &EngineBackend, p: SetSharedTemplate) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let font = valid_font(p.font.as_deref())?;
    if let Some(size) = p.size_pt
        && !(MIN_TEMPLATE_SIZE..=MAX_TEMPLATE_SIZE).contains(&size)
    {
        return Err(Error::validation(format!(
            "a template font size of {size} pt is out of range; {MIN_TEMPLATE_SIZE} to {MAX_TEMPLATE_SIZE} pt, or none"
        ))
        .with_field("size_pt"));
    }
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    sql::shared::set_template(&mut tx, row.id, font, p.size_pt.map(i64::from)).await?;
    let row = load(&mut tx, &address).await?;
    let after = b.engine.shared_view(&mut tx, &row).await?;
    let change = Change { action: SetSharedTemplate::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.template), Some(&after.template)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Where a stored mailbox's mail comes from, with its secret.
enum Remote {
    Imap(Server),
    Graph(graph::Account),
}

/// The server settings and password (client secret) of a stored mailbox.
async fn remote_of(engine: &Engine, row: &Row) -> Result<Remote> {
    let kind = SharedMailboxKind::parse(&row.kind).unwrap_or_default();
    let secret = engine.shared_secret(row.id).await?.ok_or_else(|| {
        Error::validation(format!("no {} is stored for {}; set one first", secret_word(kind), row.address))
            .with_field("secret")
    })?;
    Ok(match kind {
        SharedMailboxKind::Imap => Remote::Imap(Server {
            host: row.host.clone(),
            port: row.port.clamp(1, 65535) as u16,
            tls: FetchTls::parse(&row.tls).unwrap_or_default(),
            verify_certificate: row.verify_certificate,
            username: row.username.clone(),
            password: secret,
        }),
        SharedMailboxKind::Microsoft365 => Remote::Graph(graph::Account {
            tenant_id: row.tenant_id.clone(),
            client_id: row.client_id.clone(),
            client_secret: secret,
            mailbox: row.username.clone(),
        }),
    })
}

pub(crate) async fn fetch_folder_list(b: &EngineBackend, p: FetchSharedFolderList) -> Result<SharedMailbox> {
    let addr = authorised(b, &p.address)?;
    let address = addr.full();
    let row = load(&mut *b.engine.read().await?, &address).await?;
    let limits = b.engine.shared.limits();
    let listed = match remote_of(&b.engine, &row).await? {
        Remote::Imap(server) => postdesk_fetch::list_folders(&server, &limits).await?,
        Remote::Graph(account) => {
            let endpoints = b.engine.shared.endpoints();
            graph::list_folders(&endpoints, &b.engine.shared.tokens, &account, &limits).await?
        }
    };
    if listed.len() > MAX_FOLDERS {
        return Err(Error::limit_exceeded(format!(
            "the server lists {} folders; at most {MAX_FOLDERS} can be chosen from",
            listed.len()
        )));
    }
    let listed: Vec<sql::shared::ListedFolder> = listed
        .into_iter()
        .map(|f| sql::shared::ListedFolder {
            name: f.name,
            local_name: f.local_name,
            special_use: f.special_use,
            remote_id: f.id,
        })
        .collect();
    let mut tx = b.engine.write().await?;
    let row = load(&mut tx, &address).await?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    sql::shared::replace_folder_list(&mut tx, row.id, &listed).await?;
    // Sent and Junk: kept when still listed, else taken from the special-use marks.
    let mut changed = row.clone();
    let has = |n: &Option<String>| n.as_ref().is_some_and(|n| listed.iter().any(|f| &f.name == n));
    let marked = |mark: &str| listed.iter().find(|f| f.special_use.as_deref() == Some(mark)).map(|f| f.name.clone());
    if !has(&changed.sent_folder) {
        changed.sent_folder = marked("\\Sent");
    }
    if !has(&changed.junk_folder) {
        changed.junk_folder = marked("\\Junk");
    }
    sql::shared::update(&mut tx, &changed).await?;
    let after = b.engine.shared_view(&mut tx, &changed).await?;
    let change = Change { action: FetchSharedFolderList::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn fetch_now(b: &EngineBackend, p: FetchSharedMailbox) -> Result<FetchReport> {
    let addr = authorised(b, &p.address)?;
    b.engine.fetch_shared(&addr.full(), &b.caller.name, FetchSharedMailbox::NAME).await
}

/// Per-process state of the fetcher: one fetch at a time per mailbox, and its bounds.
#[derive(Debug)]
pub(crate) struct SharedFetch {
    turns: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    limits: std::sync::Mutex<Limits>,
    /// Microsoft Graph and its token endpoint (the real ones unless a test points them at
    /// a loopback double).
    endpoints: std::sync::Mutex<graph::Endpoints>,
    /// Graph tokens, kept until shortly before they expire.
    tokens: graph::Tokens,
}

impl Default for SharedFetch {
    fn default() -> SharedFetch {
        SharedFetch {
            turns: Default::default(),
            limits: std::sync::Mutex::new(Limits::default()),
            endpoints: Default::default(),
            tokens: Default::default(),
        }
    }
}

impl SharedFetch {
    fn limits(&self) -> Limits {
        self.limits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn endpoints(&self) -> graph::Endpoints {
        self.endpoints.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn turn(&self, address: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            turns.entry(address.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// The engine as the fetcher's sink for one mailbox.
struct StoreSink {
    engine: Engine,
    id: i64,
    address: String,
    sent: Option<String>,
    junk: Option<String>,
}

impl StoreSink {
    /// Our folder for a server folder: Sent and Junk by role, others by name.
    /// The desk's auto-reply (RFC 3834) to a message just fetched into its INBOX, in the
    /// fetch's transaction: answered at its `Return-Path` when it is recent
    /// ([`crate::autoreply::fetched_sender`]), once per sender per period, never to lists,
    /// bulk or automatic mail. A reply to one of our own domains is added to `local`.
    async fn auto_reply(
        &self,
        tx: &mut sql::Conn,
        folder: &str,
        hash: &str,
        raw: &[u8],
        local: &mut Vec<(String, crate::autoreply::Reply)>,
    ) -> Result<()> {
        let now = time::OffsetDateTime::now_utc();
        if folder != "INBOX" {
            return Ok(());
        }
        let Some(sender) = crate::autoreply::fetched_sender(raw, now) else { return Ok(()) };
        let Some(reply) = crate::autoreply::reply_for(&mut *tx, &self.address, &sender, raw, now).await? else {
            return Ok(());
        };
        let key = format!("autoreply:fetched:{}:{hash}", self.address);
        if let Some(reply) = crate::store::queue_auto_reply(tx, key, reply, now.unix_timestamp()).await? {
            local.push(reply);
        }
        Ok(())
    }

    fn local<'a>(&self, plan: &'a FolderPlan) -> &'a str {
        if self.sent.as_deref() == Some(plan.name.as_str()) {
            "Sent"
        } else if self.junk.as_deref() == Some(plan.name.as_str()) {
            "Junk"
        } else {
            &plan.local
        }
    }
}

#[async_trait::async_trait]
impl Sink for StoreSink {
    async fn state(&self, folder: &str) -> Result<(Option<u32>, u32)> {
        let (uv, last) = sql::shared::folder_state(&mut *self.engine.read().await?, self.id, folder).await?;
        Ok((uv.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32), last.clamp(0, i64::from(u32::MAX)) as u32))
    }

    async fn known(&self, folder: &str, uidvalidity: u32, from: u32, to: u32) -> Result<HashSet<u32>> {
        let mut conn = self.engine.read().await?;
        let uids =
            sql::shared::known_uids(&mut conn, self.id, folder, i64::from(uidvalidity), i64::from(from), i64::from(to))
                .await?;
        Ok(uids.into_iter().map(|u| u.clamp(0, i64::from(u32::MAX)) as u32).collect())
    }

    async fn store(
        &self,
        plan: &FolderPlan,
        uidvalidity: u32,
        batch: Vec<postdesk_fetch::Fetched>,
        last_uid: u32,
    ) -> Result<(u32, u32)> {
        let local = self.local(plan).to_string();
        let batch: Vec<(u32, String, postdesk_blobs::Bytes)> =
            batch.into_iter().map(|m| (m.uid, BlobStore::hash(&m.raw), postdesk_blobs::Bytes::from(m.raw))).collect();
        // Blobs written and synced before the transaction, as every delivery does.
        self.engine.blobs.write_all(batch.iter().map(|(_, h, raw)| (h.clone(), raw.clone())).collect()).await?;
        let mut tx = self.engine.write().await?;
        let (mut stored, mut already) = (0u32, 0u32);
        let mut local_replies = Vec::new();
        for (uid, hash, raw) in batch.iter() {
            let uv = i64::from(uidvalidity);
            if sql::shared::hash_seen(&mut tx, self.id, &plan.name, hash).await? {
                already += 1;
            } else {
                self.engine.blobs.ensure(hash, raw.clone()).await?;
                crate::store::insert_fetched(&mut tx, &self.address, &local, hash, raw.len()).await?;
                self.auto_reply(&mut tx, &local, hash, raw, &mut local_replies).await?;
                stored += 1;
            }
            sql::shared::record_fetched(&mut tx, self.id, &plan.name, hash, uv, i64::from(*uid)).await?;
        }
        sql::shared::set_folder_state(&mut tx, self.id, &plan.name, i64::from(uidvalidity), i64::from(last_uid))
            .await?;
        tx.commit().await?;
        if stored > 0 {
            self.engine.mail_changed(&self.address, Some(&local)).await;
        }
        if !local_replies.is_empty() {
            self.engine.deliver_local_replies(local_replies).await;
        }
        Ok((stored, already))
    }
}

#[async_trait::async_trait]
impl GraphSink for StoreSink {
    async fn link(&self, folder: &str) -> Result<Option<String>> {
        sql::shared::delta_link(&mut *self.engine.read().await?, self.id, folder).await
    }

    async fn seen(&self, folder: &str, ids: &[String]) -> Result<HashSet<String>> {
        let seen = sql::shared::graph_seen(&mut *self.engine.read().await?, self.id, folder, ids).await?;
        Ok(seen.into_iter().collect())
    }

    async fn store(
        &self,
        plan: &FolderPlan,
        batch: Vec<graph::GraphFetched>,
        passed_over: Vec<String>,
        link: Option<String>,
    ) -> Result<(u32, u32)> {
        let local = self.local(plan).to_string();
        let batch: Vec<(String, String, postdesk_blobs::Bytes)> =
            batch.into_iter().map(|m| (m.id, BlobStore::hash(&m.raw), postdesk_blobs::Bytes::from(m.raw))).collect();
        // Blobs written and synced before the transaction, as every delivery does.
        self.engine.blobs.write_all(batch.iter().map(|(_, h, raw)| (h.clone(), raw.clone())).collect()).await?;
        let mut tx = self.engine.write().await?;
        let (mut stored, mut already) = (0u32, 0u32);
        let mut local_replies = Vec::new();
        for (id, hash, raw) in batch.iter() {
            // Another id with content taken before (a copy), or an id taken in a fetch that
            // crashed after its commit: recorded, not stored again.
            if sql::shared::hash_seen(&mut tx, self.id, &plan.name, hash).await?
                || !sql::shared::graph_seen(&mut tx, self.id, &plan.name, std::slice::from_ref(id)).await?.is_empty()
            {
                already += 1;
            } else {
                // Under the write lock no collector can remove the blob; bring it back if one did.
                self.engine.blobs.ensure(hash, raw.clone()).await?;
                crate::store::insert_fetched(&mut tx, &self.address, &local, hash, raw.len()).await?;
                self.auto_reply(&mut tx, &local, hash, raw, &mut local_replies).await?;
                stored += 1;
            }
            sql::shared::record_fetched(&mut tx, self.id, &plan.name, hash, 0, 0).await?;
            sql::shared::record_graph_seen(&mut tx, self.id, &plan.name, id).await?;
        }
        for id in &passed_over {
            sql::shared::record_graph_seen(&mut tx, self.id, &plan.name, id).await?;
        }
        if let Some(link) = link {
            let link = Some(link).filter(|l| !l.is_empty());
            sql::shared::set_delta_link(&mut tx, self.id, &plan.name, link.as_deref()).await?;
        }
        tx.commit().await?;
        if stored > 0 {
            self.engine.mail_changed(&self.address, Some(&local)).await;
        }
        if !local_replies.is_empty() {
            self.engine.deliver_local_replies(local_replies).await;
        }
        Ok((stored, already))
    }
}

impl Engine {
    /// Fetches a shared mailbox now and records the outcome (error count, the interval
    /// set to none at the limit, the notice) with an audit entry as `actor`. A failed
    /// fetch is an answer (`error` set), not an `Err`: the failure is recorded.
    pub(crate) async fn fetch_shared(&self, address: &str, actor: &str, action: &str) -> Result<FetchReport> {
        let _turn = self.shared.turn(address).await;
        let row = load(&mut *self.read().await?, address).await?;
        let since = match row.resync_from.as_deref() {
            Some(s) => Some(crate::parse_time(s)?),
            None => None,
        };
        let started = now();
        let result = async {
            let remote = remote_of(self, &row).await?;
            let plans: Vec<FolderPlan> = sql::shared::fetch_plan(&mut *self.read().await?, row.id)
                .await?
                .into_iter()
                .map(|(name, local, id)| FolderPlan { name, local, id })
                .collect();
            let plans = if plans.is_empty() {
                // Never listed: INBOX, the folder every server has.
                let mut tx = self.write().await?;
                let inbox = sql::shared::ListedFolder {
                    name: "INBOX".into(),
                    local_name: "INBOX".into(),
                    special_use: None,
                    remote_id: None,
                };
                if sql::shared::folders(&mut tx, row.id).await?.is_empty() {
                    sql::shared::replace_folder_list(&mut tx, row.id, &[inbox]).await?;
                }
                tx.commit().await?;
                sql::shared::fetch_plan(&mut *self.read().await?, row.id)
                    .await?
                    .into_iter()
                    .map(|(name, local, id)| FolderPlan { name, local, id })
                    .collect()
            } else {
                plans
            };
            let sink = StoreSink {
                engine: self.clone(),
                id: row.id,
                address: row.address.clone(),
                sent: row.sent_folder.clone(),
                junk: row.junk_folder.clone(),
            };
            let limits = self.shared.limits();
            match remote {
                Remote::Imap(server) => postdesk_fetch::fetch(&server, &plans, since, &sink, &limits).await,
                Remote::Graph(account) => {
                    let endpoints = self.shared.endpoints();
                    graph::fetch(&endpoints, &self.shared.tokens, &account, &plans, since, &sink, &limits).await
                }
            }
        }
        .await;

        let mut tx = self.write().await?;
        let before_row = load(&mut tx, address).await?;
        let mut row = before_row.clone();
        let at = now();
        row.last_fetch_at = Some(at.clone());
        let (outcome, error) = match result {
            Ok(o) => {
                row.error_count = 0;
                row.last_success_at = Some(at.clone());
                row.disabled_at = None;
                // A resync is done once every message since then has been taken.
                if !o.more {
                    row.resync_from = None;
                }
                (o, None)
            }
            Err(e) => {
                row.error_count = row.error_count.saturating_add(1);
                row.last_error = Some(e.message.clone());
                row.last_error_at = Some(at.clone());
                // N failures in a row: fetching stops (the interval becomes none) and the
                // notice stays until the admin sets an interval again or a fetch succeeds.
                // The time is recorded at the limit even when the interval was none already
                // (fetched only by "fetch now"), and kept from the first stop.
                if row.error_count >= row.disable_after {
                    row.fetch_interval_minutes = None;
                    if row.disabled_at.is_none() {
                        row.disabled_at = Some(at.clone());
                    }
                }
                (postdesk_fetch::Outcome::default(), Some(e.message))
            }
        };
        sql::shared::record_outcome(&mut tx, &row).await?;
        let mailbox = self.shared_view(&mut tx, &row).await?;
        let report = FetchReport {
            fetched: outcome.fetched,
            already: outcome.already,
            too_large: outcome.too_large,
            uidvalidity_changed: outcome.uidvalidity_changed,
            more: outcome.more,
            restarted: outcome.restarted,
            error,
            mailbox,
        };
        let summary = serde_json::json!({
            "started_at": started,
            "fetched": report.fetched,
            "already": report.already,
            "too_large": report.too_large,
            "uidvalidity_changed": &report.uidvalidity_changed,
            "more": report.more,
            "restarted": &report.restarted,
            "error": &report.error,
            "error_count": row.error_count,
            "fetch_interval_minutes": row.fetch_interval_minutes,
            "disabled_at": &row.disabled_at,
        });
        let change = Change { action, domain: Some(&row.domain), target: address };
        audit::record(&mut tx, actor, change, None::<&()>, Some(&summary)).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Sets the bounds of fetching for this engine and its clones (tests and benchmarks use
    /// small or large ones).
    pub fn set_fetch_limits(&self, limits: Limits) {
        *self.shared.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Points Microsoft 365 fetching at another Graph base URL and token URL (`{tenant}`
    /// stands for the tenant id). Only for tests: both must be `https`, or plain `http`
    /// to a loopback host.
    pub fn set_graph_endpoints(&self, graph_base: &str, token_url: &str) -> Result<()> {
        let endpoints = graph::Endpoints::checked(graph_base, token_url)?;
        *self.shared.endpoints.lock().unwrap_or_else(|p| p.into_inner()) = endpoints;
        Ok(())
    }

    /// Fetches every shared mailbox whose interval has run out since its last fetch, one
    /// after another; returns how many were fetched. What `serve` runs every minute.
    pub async fn fetch_due_shared_mailboxes(&self, now: time::OffsetDateTime) -> Result<u32> {
        let due = sql::shared::scheduled(&mut *self.read().await?).await?;
        let mut n = 0;
        for (address, minutes, last) in due {
            let last = last.as_deref().map(crate::parse_time).transpose()?;
            if last.is_some_and(|l| now < l + time::Duration::minutes(minutes)) {
                continue;
            }
            // A failure is recorded on the mailbox; the others are still fetched.
            match self.fetch_shared(&address, SCHEDULER, "scheduled_fetch_shared_mailbox").await {
                Ok(_) => n += 1,
                Err(e) => tracing::warn!(%address, error = %e.message, "shared mailbox fetch not recorded"),
            }
        }
        Ok(n)
    }
}

/// How often the scheduler looks for shared mailboxes to fetch.
pub const SHARED_FETCH_TICK: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs [`Engine::fetch_due_shared_mailboxes`] every [`SHARED_FETCH_TICK`] until the
/// engine's process ends (`serve`, the desktop app).
pub fn spawn_shared_mailbox_fetcher(engine: Engine) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SHARED_FETCH_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = engine.fetch_due_shared_mailboxes(time::OffsetDateTime::now_utc()).await {
                tracing::warn!(error = %e.message, "shared mailbox scheduler");
            }
        }
    })
}
