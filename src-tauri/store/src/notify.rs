//! Change notifications between the nodes sharing a PostgreSQL database (`LISTEN/NOTIFY`).
//! On SQLite (one node) these do nothing: the process's own signals are all there is.

use super::{Conn, Db, Pool, PoolRef};
use crate::Result;

/// An audited change of the organisation (the mail services' caches drop their answers).
pub const ORGANISATION: &str = "postdesk_organisation";
/// The SMTP settings or rules changed; the payload is the stored version.
pub const SMTP: &str = "postdesk_smtp";
/// A mailbox's folder changed; the payload is `{"account": …, "folder": …}` (IDLE).
pub const MAIL: &str = "postdesk_mail";

/// Notifies the other nodes when the transaction `conn` commits (PostgreSQL holds a
/// notification until then, and drops it on rollback).
pub async fn on_commit(conn: &mut Conn, channel: &str, payload: &str) -> Result<()> {
    if let Db::Postgres(c) = conn.db() {
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(c).await?;
    }
    Ok(())
}

/// Notifies the other nodes now (after a commit) of several changes, in one statement.
pub async fn now(pool: &Pool, channel: &str, payloads: &[String]) -> Result<()> {
    if let PoolRef::Postgres(p) = pool.db() {
        sqlx::query("SELECT pg_notify($1, value) FROM json_each($2)")
            .bind(channel)
            .bind(serde_json::to_string(payloads)?)
            .execute(p)
            .await?;
    }
    Ok(())
}

/// A node's name, held on the shared database for as long as this value lives (PostgreSQL: a
/// session advisory lock on a connection of its own; nothing to hold on SQLite).
pub struct NodeName(#[allow(dead_code)] Option<sqlx::PgConnection>);

/// Holds `name` for this node; `None` when a running node holds it already (its connection
/// open: a node that died lets it go with its connection).
pub async fn hold_node_name(pool: &Pool, name: &str) -> Result<Option<NodeName>> {
    let PoolRef::Postgres(p) = pool.db() else { return Ok(Some(NodeName(None))) };
    let mut conn = p.acquire().await?.detach();
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('postdesk node name'), hashtext($1))")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    Ok(held.then_some(NodeName(Some(conn))))
}

/// A connection listening on every channel above.
pub struct Listener(sqlx::postgres::PgListener);

/// What a [`Listener`] heard.
pub enum Heard {
    /// A notification: its channel and payload.
    Notification(String, String),
    /// The pool closed: stop listening.
    Closed,
    /// The connection failed (it reconnects on the next call).
    Failed(String),
}

impl Listener {
    pub async fn next(&mut self) -> Heard {
        match self.0.recv().await {
            Ok(n) => Heard::Notification(n.channel().to_string(), n.payload().to_string()),
            Err(sqlx::Error::PoolClosed) => Heard::Closed,
            Err(e) => Heard::Failed(e.to_string()),
        }
    }
}

/// A listener on every channel above; `None` on SQLite.
pub async fn listen(pool: &Pool) -> Result<Option<Listener>> {
    let PoolRef::Postgres(p) = pool.db() else { return Ok(None) };
    let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
    listener.listen_all([ORGANISATION, SMTP, MAIL]).await?;
    Ok(Some(Listener(listener)))
}
