//! Several `serve` nodes on one PostgreSQL database: what one node changes reaches the
//! others as it commits, through PostgreSQL's `LISTEN/NOTIFY` (`sql/notify.rs`).
//!
//! Three signals that one process keeps in memory cross between nodes this way:
//! * an audited change of the organisation moves [`change_generation`](crate::change_generation)
//!   (the mail services' caches of recipients, policies and rules drop their answers);
//! * a change of the SMTP settings or rules reaches `subscribe_smtp_config` (the live SMTP
//!   profile reloads);
//! * a change of a mailbox's folder reaches the IMAP sessions waiting in IDLE.
//!
//! A node sees its own notifications too (a second, harmless signal). A notification lost
//! while the listening connection reconnects is covered only in part: the caches expire
//! within a second, an IMAP session looks at its folder on every command, but a lost SMTP
//! notice leaves the SMTP profile on its old version until the next SMTP change.

use postdesk_contract::mail::MailboxChange;

use crate::Engine;
use crate::sql;
use crate::sql::notify::Heard;

/// How long the listener waits before listening again after its connection failed.
const RELISTEN: std::time::Duration = std::time::Duration::from_secs(1);

impl Engine {
    /// Tells the other nodes (PostgreSQL only), after the change committed and this node's
    /// own signal went out. Awaited, not left to a background task: a short-lived command
    /// (`postdesk …` on the shared database) would exit before such a task ran. A failure
    /// is logged: the change stands, and the other nodes' IMAP sessions still find it at
    /// their next command.
    pub(crate) async fn announce(&self, channel: &'static str, payloads: &[String]) {
        if self.pool.is_postgres()
            && !payloads.is_empty()
            && let Err(e) = sql::notify::now(&self.pool, channel, payloads).await
        {
            tracing::warn!("cannot notify the other nodes ({channel}): {e}");
        }
    }

    /// Holds this node's name on the database for as long as the returned value lives. Two
    /// running nodes with one name would take each other's outbound leases and delivery keys
    /// (a message of one taken for a message the other delivered): the second is refused.
    pub async fn hold_node_name(&self, name: &str) -> crate::Result<sql::notify::NodeName> {
        sql::notify::hold_node_name(&self.pool, name).await?.ok_or_else(|| {
            crate::Error::conflict(format!(
                "a node named {name} is running on this database already: give each node its own --node-name"
            ))
        })
    }

    /// Listens for the other nodes' notifications for as long as this engine (any clone of
    /// it) lives. Nothing on SQLite.
    pub(crate) async fn listen_to_other_nodes(&self) -> crate::Result<()> {
        let Some(mut listener) = sql::notify::listen(&self.pool).await? else { return Ok(()) };
        let smtp = std::sync::Arc::downgrade(&self.smtp);
        let mail = self.mail_changes.downgrade();
        tokio::spawn(async move {
            loop {
                let (channel, payload) = match listener.next().await {
                    Heard::Notification(channel, payload) => (channel, payload),
                    Heard::Closed => return,
                    Heard::Failed(_) if smtp.strong_count() == 0 => return,
                    Heard::Failed(e) => {
                        tracing::warn!("listening to the other nodes: {e}; listening again");
                        tokio::time::sleep(RELISTEN).await;
                        continue;
                    }
                };
                let (Some(smtp), Some(mail)) = (smtp.upgrade(), mail.upgrade()) else { return };
                match channel.as_str() {
                    sql::notify::ORGANISATION => crate::audit::organisation_changed(),
                    sql::notify::SMTP => {
                        if let Ok(version) = payload.parse() {
                            smtp.changes.send_replace(version);
                        }
                    }
                    sql::notify::MAIL => {
                        if let Some(change) = mailbox_change(&payload) {
                            let _ = mail.send(change);
                        }
                    }
                    _ => {}
                }
            }
        });
        Ok(())
    }
}

/// A mailbox change as another node announced it.
fn mailbox_change(payload: &str) -> Option<MailboxChange> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    Some(MailboxChange {
        account: v.get("account")?.as_str()?.to_string(),
        folder: v.get("folder").and_then(|f| f.as_str()).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_mailbox_changes_read_back() {
        let change = mailbox_change(r#"{"account":"ann@example.com","folder":"INBOX"}"#).unwrap();
        assert_eq!((change.account.as_str(), change.folder.as_deref()), ("ann@example.com", Some("INBOX")));
        assert_eq!(mailbox_change(r#"{"account":"ann@example.com","folder":null}"#).unwrap().folder, None);
        assert!(mailbox_change("not json").is_none());
    }
}
