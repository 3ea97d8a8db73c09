//! Shared mailboxes (`shared_mailboxes`), their external folders (`shared_folders`) and
//! what was fetched (`shared_fetched`). No secret is ever stored here.

use super::Conn;
use crate::Result;

/// A stored shared mailbox with its address and domain.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub account_id: i64,
    pub address: String,
    pub domain: String,
    pub name: String,
    pub kind: String,
    pub host: String,
    pub port: i64,
    pub tls: String,
    pub verify_certificate: bool,
    pub username: String,
    pub tenant_id: String,
    pub client_id: String,
    pub fetch_interval_minutes: Option<i64>,
    pub disable_after: i64,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub disabled_at: Option<String>,
    pub last_fetch_at: Option<String>,
    pub last_success_at: Option<String>,
    pub sent_folder: Option<String>,
    pub junk_folder: Option<String>,
    pub resync_from: Option<String>,
    pub template_font: Option<String>,
    pub template_size_pt: Option<i64>,
    pub created_at: String,
}

const SELECT: &str = "SELECT s.id, s.account_id, a.address, d.name AS domain, s.name, s.kind, s.host, s.port, s.tls,
        s.verify_certificate, s.username, s.tenant_id, s.client_id, s.fetch_interval_minutes, s.disable_after, s.error_count, s.last_error,
        s.last_error_at, s.disabled_at, s.last_fetch_at, s.last_success_at, s.sent_folder, s.junk_folder,
        s.resync_from, s.template_font, s.template_size_pt, s.created_at
    FROM shared_mailboxes s JOIN accounts a ON a.id = s.account_id JOIN domains d ON d.id = a.domain_id";

/// At most `limit` shared mailboxes of `domain` with addresses after `after`, by address.
pub async fn list(conn: &mut Conn, domain: &str, after: &str, limit: u32) -> Result<Vec<Row>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE d.name = $1 AND a.address > $2 ORDER BY a.address LIMIT $3"))
            .bind(domain)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?)
    })
}

/// At most `limit` shared mailboxes whose fetching stopped (`disabled_at` set), of the domains
/// in the JSON list `scope` (all when `None`), with addresses after `after`, by address.
pub async fn stopped(conn: &mut Conn, scope: Option<&str>, after: &str, limit: u32) -> Result<Vec<Row>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE s.disabled_at IS NOT NULL AND ($1 IS NULL OR d.name IN (SELECT value FROM json_each($2)))
             AND a.address > $3 ORDER BY a.address LIMIT $4"
        ))
        .bind(scope)
        .bind(scope)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

/// The shared mailbox at `address`, if there is one.
pub async fn get(conn: &mut Conn, address: &str) -> Result<Option<Row>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE a.address = $1")).bind(address).fetch_optional(conn).await?)
    })
}

/// Every shared mailbox with a fetch interval: (address, interval minutes, last fetch).
pub async fn scheduled(conn: &mut Conn) -> Result<Vec<(String, i64, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT a.address, s.fetch_interval_minutes, s.last_fetch_at FROM shared_mailboxes s
             JOIN accounts a ON a.id = s.account_id WHERE s.fetch_interval_minutes IS NOT NULL ORDER BY s.id",
        )
        .fetch_all(conn)
        .await?)
    })
}

/// Inserts a shared mailbox (the account exists); returns its id.
pub async fn insert(conn: &mut Conn, r: &Row) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO shared_mailboxes (account_id, name, kind, host, port, tls, verify_certificate, username,
             tenant_id, client_id, fetch_interval_minutes, disable_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(r.account_id)
        .bind(&r.name)
        .bind(&r.kind)
        .bind(&r.host)
        .bind(r.port)
        .bind(&r.tls)
        .bind(r.verify_certificate)
        .bind(&r.username)
        .bind(&r.tenant_id)
        .bind(&r.client_id)
        .bind(r.fetch_interval_minutes)
        .bind(r.disable_after)
        .bind(&r.created_at)
        .fetch_one(conn)
        .await?)
    })
}

/// Writes the settings of `r` (name, server, interval, notice, folders chosen, resync).
pub async fn update(conn: &mut Conn, r: &Row) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE shared_mailboxes SET name = $1, kind = $2, host = $3, port = $4, tls = $5, verify_certificate = $6,
             username = $7, tenant_id = $8, client_id = $9, fetch_interval_minutes = $10, disable_after = $11,
             disabled_at = $12, sent_folder = $13, junk_folder = $14, resync_from = $15
         WHERE id = $16",
        )
        .bind(&r.name)
        .bind(&r.kind)
        .bind(&r.host)
        .bind(r.port)
        .bind(&r.tls)
        .bind(r.verify_certificate)
        .bind(&r.username)
        .bind(&r.tenant_id)
        .bind(&r.client_id)
        .bind(r.fetch_interval_minutes)
        .bind(r.disable_after)
        .bind(&r.disabled_at)
        .bind(&r.sent_folder)
        .bind(&r.junk_folder)
        .bind(&r.resync_from)
        .bind(r.id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Records a fetch's outcome: the error columns, the count, the interval and the notice.
pub async fn record_outcome(conn: &mut Conn, r: &Row) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE shared_mailboxes SET error_count = $1, last_error = $2, last_error_at = $3, disabled_at = $4,
             fetch_interval_minutes = $5, last_fetch_at = $6, last_success_at = $7, resync_from = $8
         WHERE id = $9",
        )
        .bind(r.error_count)
        .bind(&r.last_error)
        .bind(&r.last_error_at)
        .bind(&r.disabled_at)
        .bind(r.fetch_interval_minutes)
        .bind(&r.last_fetch_at)
        .bind(&r.last_success_at)
        .bind(&r.resync_from)
        .bind(r.id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Removes a shared mailbox with its folders and fetch records.
pub async fn remove(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM shared_mailboxes WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// A listed folder: name, fetched or not, special use, messages fetched from it.
pub type FolderRow = (String, bool, Option<String>, i64);

/// The listed folders of a shared mailbox, by name.
pub async fn folders(conn: &mut Conn, id: i64) -> Result<Vec<FolderRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT f.name, f.fetch, f.special_use,
             (SELECT count(*) FROM shared_fetched x WHERE x.mailbox_id = f.mailbox_id AND x.folder = f.name)
         FROM shared_folders f WHERE f.mailbox_id = $1 ORDER BY f.name",
        )
        .bind(id)
        .fetch_all(conn)
        .await?)
    })
}

/// Messages fetched into a shared mailbox in all.
pub async fn fetched_count(conn: &mut Conn, id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM shared_fetched WHERE mailbox_id = $1").bind(id).fetch_one(conn).await?)
    })
}

/// Replaces the folder list with what the server listed: new folders added (INBOX fetched
/// by default), special-use marks refreshed, folders the server no longer has dropped.
pub async fn replace_folder_list(conn: &mut Conn, id: i64, listed: &[ListedFolder]) -> Result<()> {
    super::on_db!(conn, conn => {
        let known: Vec<String> = sqlx::query_scalar("SELECT name FROM shared_folders WHERE mailbox_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        for name in known.iter().filter(|k| !listed.iter().any(|f| &f.name == *k)) {
            sqlx::query("DELETE FROM shared_folders WHERE mailbox_id = $1 AND name = $2")
                .bind(id)
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
        for f in listed {
            sqlx::query(
                "INSERT INTO shared_folders (mailbox_id, name, local_name, \"fetch\", special_use, remote_id)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (mailbox_id, name) DO UPDATE SET special_use = excluded.special_use,
                 local_name = excluded.local_name,
                 delta_link = CASE WHEN shared_folders.remote_id IS NOT DISTINCT FROM excluded.remote_id
                     THEN shared_folders.delta_link END,
                 remote_id = excluded.remote_id",
            )
            .bind(id)
            .bind(&f.name)
            .bind(&f.local_name)
            .bind(f.name.eq_ignore_ascii_case("INBOX"))
            .bind(&f.special_use)
            .bind(&f.remote_id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    })
}

/// A folder as the server listed it.
pub struct ListedFolder {
    pub name: String,
    pub local_name: String,
    pub special_use: Option<String>,
    /// Its Graph id (Microsoft 365); `None` for IMAP.
    pub remote_id: Option<String>,
}

/// The folders to fetch: (server name, our name, Graph id).
pub async fn fetch_plan(conn: &mut Conn, id: i64) -> Result<Vec<(String, String, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT name, local_name, remote_id FROM shared_folders WHERE mailbox_id = $1 AND \"fetch\" = TRUE ORDER BY name",
        )
        .bind(id)
        .fetch_all(conn)
        .await?)
    })
}

/// Marks exactly `names` as fetched.
pub async fn choose_folders(conn: &mut Conn, id: i64, names: &[String]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE shared_folders SET \"fetch\" = FALSE WHERE mailbox_id = $1").bind(id).execute(&mut *conn).await?;
        for name in names {
            sqlx::query("UPDATE shared_folders SET \"fetch\" = TRUE WHERE mailbox_id = $1 AND name = $2")
                .bind(id)
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Where fetching stands in a folder: the server's UIDVALIDITY last seen, the highest UID taken.
pub async fn folder_state(conn: &mut Conn, id: i64, folder: &str) -> Result<(Option<i64>, i64)> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT uidvalidity, last_uid FROM shared_folders WHERE mailbox_id = $1 AND name = $2")
            .bind(id)
            .bind(folder)
            .fetch_optional(conn)
            .await?
            .unwrap_or((None, 0)))
    })
}

/// Sets where fetching stands in a folder.
pub async fn set_folder_state(conn: &mut Conn, id: i64, folder: &str, uidvalidity: i64, last_uid: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE shared_folders SET uidvalidity = $1, last_uid = $2 WHERE mailbox_id = $3 AND name = $4")
            .bind(uidvalidity)
            .bind(last_uid)
            .bind(id)
            .bind(folder)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The UIDs in `from..=to` of a folder (under one UIDVALIDITY) already fetched.
pub async fn known_uids(
    conn: &mut Conn,
    id: i64,
    folder: &str,
    uidvalidity: i64,
    from: i64,
    to: i64,
) -> Result<Vec<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT uid FROM shared_fetched WHERE mailbox_id = $1 AND folder = $2 AND uidvalidity = $3 AND uid BETWEEN $4 AND $5",
        )
        .bind(id)
        .bind(folder)
        .bind(uidvalidity)
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?)
    })
}

/// Whether a message with this content was fetched from the folder before.
pub async fn hash_seen(conn: &mut Conn, id: i64, folder: &str, hash: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT) FROM shared_fetched WHERE mailbox_id = $1 AND folder = $2 AND hash = $3")
            .bind(id)
            .bind(folder)
            .bind(hash)
            .fetch_optional(conn)
            .await?
            .is_some())
    })
}

/// Records a fetched message (or, for one seen before under another UID, its new UID).
pub async fn record_fetched(
    conn: &mut Conn,
    id: i64,
    folder: &str,
    hash: &str,
    uidvalidity: i64,
    uid: i64,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO shared_fetched (mailbox_id, folder, hash, uidvalidity, uid) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mailbox_id, folder, hash) DO UPDATE SET uidvalidity = excluded.uidvalidity, uid = excluded.uid",
        )
        .bind(id)
        .bind(folder)
        .bind(hash)
        .bind(uidvalidity)
        .bind(uid)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// The link a Graph folder's delta continues from, if any.
pub async fn delta_link(conn: &mut Conn, id: i64, folder: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT delta_link FROM shared_folders WHERE mailbox_id = $1 AND name = $2")
            .bind(id)
            .bind(folder)
            .fetch_optional(conn)
            .await?
            .flatten())
    })
}

/// Sets the link a Graph folder's delta continues from (`None`: start over).
pub async fn set_delta_link(conn: &mut Conn, id: i64, folder: &str, link: Option<&str>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE shared_folders SET delta_link = $1 WHERE mailbox_id = $2 AND name = $3")
            .bind(link)
            .bind(id)
            .bind(folder)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Forgets every folder's Graph delta link (the mailbox or tenant changed).
pub async fn clear_delta_links(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE shared_folders SET delta_link = NULL WHERE mailbox_id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Which of `ids` (Graph message ids) were taken from the folder before.
pub async fn graph_seen(conn: &mut Conn, id: i64, folder: &str, ids: &[String]) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        let mut seen = Vec::new();
        for chunk in ids.chunks(200) {
            let marks = (3..chunk.len() + 3).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT message_id FROM shared_graph_seen WHERE mailbox_id = $1 AND folder = $2 AND message_id IN ({marks})"
            );
            let mut q = sqlx::query_scalar(&sql).bind(id).bind(folder);
            for m in chunk {
                q = q.bind(m);
            }
            seen.extend(q.fetch_all(&mut *conn).await?);
        }
        Ok(seen)
    })
}

/// Records a Graph message id as taken from the folder.
pub async fn record_graph_seen(conn: &mut Conn, id: i64, folder: &str, message_id: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO shared_graph_seen (mailbox_id, folder, message_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(folder)
            .bind(message_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The shared mailbox's owners: users' addresses and workflow groups' names, each sorted.
pub async fn owners(conn: &mut Conn, mailbox_id: i64) -> Result<(Vec<String>, Vec<String>)> {
    super::on_db!(conn, conn => {
        let users = sqlx::query_scalar(
            "SELECT a.address FROM shared_mailbox_owners o JOIN accounts a ON a.id = o.account_id
             WHERE o.mailbox_id = $1 ORDER BY a.address",
        )
        .bind(mailbox_id)
        .fetch_all(&mut *conn)
        .await?;
        let groups = sqlx::query_scalar(
            "SELECT g.name FROM shared_mailbox_owners o JOIN workflow_groups g ON g.id = o.group_id
             WHERE o.mailbox_id = $1 ORDER BY g.name",
        )
        .bind(mailbox_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok((users, groups))
    })
}

/// Replaces the shared mailbox's owners with these accounts and workflow groups.
pub async fn set_owners(conn: &mut Conn, mailbox_id: i64, accounts: &[i64], groups: &[i64]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM shared_mailbox_owners WHERE mailbox_id = $1").bind(mailbox_id).execute(&mut *conn).await?;
        for id in accounts {
            sqlx::query("INSERT INTO shared_mailbox_owners (mailbox_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(mailbox_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        for id in groups {
            sqlx::query("INSERT INTO shared_mailbox_owners (mailbox_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(mailbox_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// The sender addresses of the shared mailboxes the account at `address` owns, itself or
/// through a workflow group it is a member of (what the "sender must match" rule admits).
pub async fn owned_by(conn: &mut Conn, address: &str) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT sa.address FROM accounts u
         JOIN shared_mailbox_owners o ON o.account_id = u.id
             OR o.group_id IN (SELECT m.group_id FROM workflow_group_members m WHERE m.account_id = u.id)
         JOIN shared_mailboxes s ON s.id = o.mailbox_id
         JOIN accounts sa ON sa.id = s.account_id
         WHERE u.address = $1 ORDER BY sa.address",
        )
        .bind(address)
        .fetch_all(conn)
        .await?)
    })
}

/// Sets the shared mailbox's template.
pub async fn set_template(conn: &mut Conn, id: i64, font: Option<&str>, size_pt: Option<i64>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE shared_mailboxes SET template_font = $1, template_size_pt = $2 WHERE id = $3")
            .bind(font)
            .bind(size_pt)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The accounts of the domain that own shared mailboxes, themselves or through a workflow
/// group, with addresses after `after` and not in the recycle bin: (user, mailbox owned,
/// default mailbox), by user then mailbox.
pub async fn owner_rows(conn: &mut Conn, domain_id: i64, after: &str) -> Result<Vec<(String, String, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT DISTINCT u.address, sa.address,
             (SELECT da.address FROM shared_default_mailboxes dm JOIN shared_mailboxes ds ON ds.id = dm.mailbox_id
              JOIN accounts da ON da.id = ds.account_id WHERE dm.account_id = u.id)
         FROM accounts u
         JOIN shared_mailbox_owners o ON o.account_id = u.id
             OR o.group_id IN (SELECT m.group_id FROM workflow_group_members m WHERE m.account_id = u.id)
         JOIN shared_mailboxes s ON s.id = o.mailbox_id
         JOIN accounts sa ON sa.id = s.account_id
         WHERE u.domain_id = $1 AND u.status != 'deleted' AND u.address > $2
         ORDER BY u.address, sa.address",
        )
        .bind(domain_id)
        .bind(after)
        .fetch_all(conn)
        .await?)
    })
}

/// Whether the account owns the shared mailbox, itself or through a workflow group.
pub async fn owns(conn: &mut Conn, account_id: i64, mailbox_id: i64) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM shared_mailbox_owners o WHERE o.mailbox_id = $1 AND (o.account_id = $2
                 OR o.group_id IN (SELECT m.group_id FROM workflow_group_members m WHERE m.account_id = $3))",
        )
        .bind(mailbox_id)
        .bind(account_id)
        .bind(account_id)
        .fetch_one(conn)
        .await?
            > 0)
    })
}

/// Sets (`Some`) or clears the account's default shared mailbox.
pub async fn set_default(conn: &mut Conn, account_id: i64, mailbox_id: Option<i64>) -> Result<()> {
    super::on_db!(conn, conn => {
        match mailbox_id {
            Some(m) => {
                sqlx::query(
                    "INSERT INTO shared_default_mailboxes (account_id, mailbox_id) VALUES ($1, $2)
                     ON CONFLICT (account_id) DO UPDATE SET mailbox_id = excluded.mailbox_id",
                )
                .bind(account_id)
                .bind(m)
                .execute(conn)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM shared_default_mailboxes WHERE account_id = $1")
                    .bind(account_id)
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    })
}

/// Removes the defaults of users who no longer own their default mailbox; returns them as
/// (user, mailbox) addresses.
pub async fn drop_stale_defaults(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    super::on_db!(conn, conn => {
        const STALE: &str = "NOT EXISTS (SELECT 1 FROM shared_mailbox_owners o WHERE o.mailbox_id = d.mailbox_id
             AND (o.account_id = d.account_id OR o.group_id IN
                 (SELECT m.group_id FROM workflow_group_members m WHERE m.account_id = d.account_id)))";
        let gone: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT d.account_id, u.address, sa.address FROM shared_default_mailboxes d
         JOIN accounts u ON u.id = d.account_id JOIN shared_mailboxes s ON s.id = d.mailbox_id
         JOIN accounts sa ON sa.id = s.account_id WHERE {STALE} ORDER BY u.address"
        ))
        .fetch_all(&mut *conn)
        .await?;
        for (id, _, _) in &gone {
            sqlx::query("DELETE FROM shared_default_mailboxes WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        }
        Ok(gone.into_iter().map(|(_, u, m)| (u, m)).collect())
    })
}

/// The sender address of the default shared mailbox of the account at `address`, if set.
pub async fn default_of(conn: &mut Conn, address: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT sa.address FROM shared_default_mailboxes d JOIN accounts u ON u.id = d.account_id
         JOIN shared_mailboxes s ON s.id = d.mailbox_id JOIN accounts sa ON sa.id = s.account_id
         WHERE u.address = $1",
        )
        .bind(address)
        .fetch_optional(conn)
        .await?)
    })
}
