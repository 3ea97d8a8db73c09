//! The audit log: written inside each change's transaction, read newest first.

use serde::Serialize;

use super::EngineBackend;
use super::sql::{self, Conn};
use crate::api::ListAudit;
use crate::error::Result;
use crate::model::{AuditEntry, Listing, Page};

/// Counts audited changes in this process (see [`change_generation`]).
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A number that grows whenever this process records an audited change — every change
/// an admin (or the system: lockouts, purges) makes to the organisation, since each is
/// audited in its own transaction. The mail services' caches of engine answers
/// (recipients, policy decisions) drop what they hold when it moves. It moves just
/// before the change commits, so a reader may still cache the old state in that
/// instant: such caches also expire by time. Changes made by another process on the
/// same SQLite data folder are seen only through that expiry; on PostgreSQL the other
/// nodes' changes move it too, as they commit (`nodes.rs`).
pub fn change_generation() -> u64 {
    GENERATION.load(std::sync::atomic::Ordering::Acquire)
}

/// One change to record.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub domain: Option<&'a str>,
    pub target: &'a str,
}

/// Largest `before` or `after` stored with one audit entry, in bytes of JSON.
pub const MAX_AUDIT_VALUE: usize = 64 * 1024;

/// `json` as stored: itself, or past [`MAX_AUDIT_VALUE`] a JSON object saying how big it
/// was, with its beginning as text, so one change cannot write megabytes of audit.
fn bounded(json: String) -> String {
    if json.len() <= MAX_AUDIT_VALUE {
        return json;
    }
    let cut = (0..=4096).rev().find(|&i| json.is_char_boundary(i)).unwrap_or(0);
    serde_json::json!({ "truncated": true, "bytes": json.len(), "start": &json[..cut] }).to_string()
}

/// Records a change made by `actor`; `before`/`after` are `None` for creations/removals.
pub(crate) async fn record<B: Serialize, A: Serialize>(
    conn: &mut Conn,
    actor: &str,
    change: Change<'_>,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<()> {
    let before = before.map(serde_json::to_string).transpose()?.map(bounded);
    let after = after.map(serde_json::to_string).transpose()?.map(bounded);
    let at = super::now();
    let entry = sql::audit::Entry {
        at: &at,
        actor,
        action: change.action,
        domain: change.domain,
        target: change.target,
        before,
        after,
    };
    sql::audit::insert(conn, entry).await?;
    sql::notify::on_commit(conn, sql::notify::ORGANISATION, "").await?;
    organisation_changed();
    Ok(())
}

/// Moves [`change_generation`]: an audited change here, or one another node announced.
pub(crate) fn organisation_changed() {
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

pub(crate) async fn list(b: &EngineBackend, p: ListAudit) -> Result<Listing<AuditEntry>> {
    let domain = p.domain.as_deref().map(crate::validate::domain).transpose()?;
    match &domain {
        Some(d) => b.caller.require(Page::Audit, Some(d))?,
        None => b.caller.require_page(Page::Audit)?,
    }
    let offset = p.offset.unwrap_or(0);
    let limit = p.limit.unwrap_or(50).clamp(1, 1000);
    // A caller limited to some domains sees only changes within them.
    let scope: Option<String> = match (&domain, &b.caller.domains) {
        (None, Some(list)) if b.caller.role != crate::model::Role::Owner => Some(serde_json::to_string(list)?),
        _ => None,
    };
    let filter = sql::audit::Filter {
        domain: domain.as_deref(),
        actor: p.actor.as_deref(),
        action: p.action.as_deref(),
        scope: scope.as_deref(),
    };
    let mut conn = b.engine.read().await?;
    let total = sql::audit::count(&mut conn, &filter).await?;
    let items = sql::audit::page(&mut conn, &filter, limit, offset).await?;
    Ok(Listing { items, total: total as u32, offset, total_capped: false })
}
