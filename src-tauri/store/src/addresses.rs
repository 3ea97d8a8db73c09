//! The address namespace (`addresses`), distribution aliases and mail groups.

use super::Conn;
use super::search::{CANDIDATE_CAP, SearchIndex, candidates, contains_pattern};
use crate::Result;
use crate::model::AddressKind;

/// What `address` is, if it is registered.
pub async fn kind_of(conn: &mut Conn, address: &str) -> Result<Option<AddressKind>> {
    super::on_db!(conn, conn => {
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM addresses WHERE address = $1").bind(address).fetch_optional(conn).await?;
        Ok(kind.as_deref().and_then(AddressKind::parse))
    })
}

/// Registers `address` (free) for something of `kind`.
pub async fn insert(conn: &mut Conn, domain_id: i64, address: &str, kind: AddressKind) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO addresses (address, domain_id, kind) VALUES ($1, $2, $3)")
            .bind(address)
            .bind(domain_id)
            .bind(kind.as_str())
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Frees `address` in the namespace.
pub async fn release(conn: &mut Conn, address: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM addresses WHERE address = $1").bind(address).execute(conn).await?;
        Ok(())
    })
}

/// Which of `addresses` are registered already: address, kind, and the status when it
/// is an account.
pub async fn taken(conn: &mut Conn, addresses: &[&String]) -> Result<Vec<(String, String, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT x.address, x.kind, a.status FROM addresses x LEFT JOIN accounts a ON a.address = x.address
             WHERE x.address IN (SELECT value FROM json_each($1))",
        )
        .bind(serde_json::to_string(&addresses)?)
        .fetch_all(conn)
        .await?)
    })
}

/// The first alias with `address` among its targets.
pub async fn alias_pointing_at(conn: &mut Conn, address: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT a.address FROM alias_targets t JOIN aliases a ON a.id = t.alias_id WHERE t.target = $1 LIMIT 1",
        )
        .bind(address)
        .fetch_optional(conn)
        .await?)
    })
}

/// The first mail group with `address` among its members.
pub async fn group_containing(conn: &mut Conn, address: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT g.address FROM group_members m JOIN mail_groups g ON g.id = m.group_id WHERE m.member = $1 LIMIT 1",
        )
        .bind(address)
        .fetch_optional(conn)
        .await?)
    })
}

/// Where an alias or group sends mail next (its targets or members, and the accounts of a
/// group's member departments).
pub async fn edges(conn: &mut Conn, address: &str) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        let mut out: Vec<String> = sqlx::query_scalar(
            "SELECT t.target FROM alias_targets t JOIN aliases a ON a.id = t.alias_id WHERE a.address = $1
         UNION ALL
         SELECT m.member FROM group_members m JOIN mail_groups g ON g.id = m.group_id WHERE g.address = $1",
        )
        .bind(address)
        .fetch_all(&mut *conn)
        .await?;
        out.extend(department_members(conn, address).await?);
        Ok(out)
    })
}

/// The accounts (their own addresses) of the departments the group at `address` takes as
/// members, and of every department below them.
pub async fn department_members(conn: &mut Conn, address: &str) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS (
             SELECT gd.department_id FROM group_departments gd JOIN mail_groups g ON g.id = gd.group_id
             WHERE g.address = $1
             UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id)
         SELECT a.address FROM accounts a WHERE a.department_id IN (SELECT id FROM sub) ORDER BY a.address",
        )
        .bind(address)
        .fetch_all(conn)
        .await?)
    })
}

/// The departments (ids) a group takes as members.
pub async fn group_departments(conn: &mut Conn, group_id: i64) -> Result<Vec<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT department_id FROM group_departments WHERE group_id = $1")
            .bind(group_id)
            .fetch_all(conn)
            .await?)
    })
}

/// Replaces the departments a group takes as members.
pub async fn set_group_departments(conn: &mut Conn, group_id: i64, departments: &[i64]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM group_departments WHERE group_id = $1").bind(group_id).execute(&mut *conn).await?;
        for d in departments {
            sqlx::query("INSERT INTO group_departments (group_id, department_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(d)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

// ---- aliases -------------------------------------------------------------------------

/// The id and description of the alias at `address`.
pub async fn alias(conn: &mut Conn, address: &str) -> Result<Option<(i64, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, description FROM aliases WHERE address = $1")
            .bind(address)
            .fetch_optional(conn)
            .await?)
    })
}

/// An alias's targets, sorted.
pub async fn targets(conn: &mut Conn, alias_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT target FROM alias_targets WHERE alias_id = $1 ORDER BY target")
            .bind(alias_id)
            .fetch_all(conn)
            .await?)
    })
}

/// Removes every target of an alias.
pub async fn clear_targets(conn: &mut Conn, alias_id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM alias_targets WHERE alias_id = $1").bind(alias_id).execute(conn).await?;
        Ok(())
    })
}

/// Replaces an alias's targets.
pub async fn set_targets(conn: &mut Conn, alias_id: i64, targets: &[String]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM alias_targets WHERE alias_id = $1").bind(alias_id).execute(&mut *conn).await?;
        for t in targets {
            sqlx::query("INSERT INTO alias_targets (alias_id, target) VALUES ($1, $2)")
                .bind(alias_id)
                .bind(t)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Inserts an alias (its address registered already); returns its id.
pub async fn insert_alias(conn: &mut Conn, domain_id: i64, address: &str, description: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>("INSERT INTO aliases (domain_id, address, description) VALUES ($1, $2, $3) RETURNING id")
            .bind(domain_id)
            .bind(address)
            .bind(description)
            .fetch_one(conn)
            .await?)
    })
}

/// Sets an alias's description.
pub async fn set_description(conn: &mut Conn, alias_id: i64, description: String) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE aliases SET description = $1 WHERE id = $2")
            .bind(description)
            .bind(alias_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes an alias row (its address stays registered).
pub async fn delete_alias(conn: &mut Conn, alias_id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM aliases WHERE id = $1").bind(alias_id).execute(conn).await?;
        Ok(())
    })
}

// ---- mail groups ---------------------------------------------------------------------

/// The id, name and send permission of the group at `address`.
pub async fn group(conn: &mut Conn, address: &str) -> Result<Option<(i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, name, send_permission FROM mail_groups WHERE address = $1")
            .bind(address)
            .fetch_optional(conn)
            .await?)
    })
}

/// A group's members, sorted.
pub async fn members(conn: &mut Conn, group_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT member FROM group_members WHERE group_id = $1 ORDER BY member")
            .bind(group_id)
            .fetch_all(conn)
            .await?)
    })
}

/// A group's allowed senders, sorted.
pub async fn allowed_senders(conn: &mut Conn, group_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT sender FROM group_allowed_senders WHERE group_id = $1 ORDER BY sender")
            .bind(group_id)
            .fetch_all(conn)
            .await?)
    })
}

/// Adds members to a group (ones it has already are skipped).
pub async fn insert_members(conn: &mut Conn, group_id: i64, members: &[String]) -> Result<()> {
    super::on_db!(conn, conn => {
        for m in members {
            sqlx::query("INSERT INTO group_members (group_id, member) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(group_id)
                .bind(m)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Removes one member from a group.
pub async fn remove_member(conn: &mut Conn, group_id: i64, member: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND member = $2")
            .bind(group_id)
            .bind(member)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Replaces a group's allowed senders.
pub async fn set_allowed_senders(conn: &mut Conn, group_id: i64, senders: &[String]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM group_allowed_senders WHERE group_id = $1").bind(group_id).execute(&mut *conn).await?;
        for s in senders {
            sqlx::query("INSERT INTO group_allowed_senders (group_id, sender) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(group_id)
                .bind(s)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Inserts a group (its address registered already); returns its id.
pub async fn insert_group(
    conn: &mut Conn,
    domain_id: i64,
    address: &str,
    name: &str,
    send_permission: &str,
) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>("INSERT INTO mail_groups (domain_id, address, name, send_permission) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(domain_id)
            .bind(address)
            .bind(name)
            .bind(send_permission)
            .fetch_one(conn)
            .await?)
    })
}

/// Changes a group's name and send permission; `None` keeps one.
pub async fn update_group(
    conn: &mut Conn,
    group_id: i64,
    name: Option<String>,
    send_permission: Option<&str>,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE mail_groups SET name = coalesce($1, name), send_permission = coalesce($2, send_permission) WHERE id = $3",
        )
        .bind(name)
        .bind(send_permission)
        .bind(group_id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Deletes a group row (its address stays registered).
pub async fn delete_group(conn: &mut Conn, group_id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM mail_groups WHERE id = $1").bind(group_id).execute(conn).await?;
        Ok(())
    })
}

/// A domain's aliases or mail groups, as one listing reads them.
#[derive(Clone, Copy, Debug)]
pub enum Listed {
    /// `aliases`, their description and targets.
    Aliases,
    /// `mail_groups`, their name and members.
    Groups,
}

impl Listed {
    /// Table, text column, link table, its owner and address columns, trigram index.
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str, &'static str, SearchIndex) {
        match self {
            Listed::Aliases => ("aliases", "description", "alias_targets", "alias_id", "target", SearchIndex::Aliases),
            Listed::Groups => ("mail_groups", "name", "group_members", "group_id", "member", SearchIndex::Groups),
        }
    }
}

/// The addresses of a domain's aliases or groups after `after`, in address order, at most
/// `limit`. With `query`, only those whose address or text (description, name) holds it in
/// any case, or with a target or member that starts with it: a query a search index serves
/// (`candidates`) reads the rows it names and those the link index finds by prefix; any
/// other, or a broad one, reads the domain in order. Keyset paging on
/// `(domain_id, address)`: the same cost at any depth.
pub async fn listed_addresses(
    conn: &mut Conn,
    which: Listed,
    domain_id: i64,
    after: &str,
    limit: u32,
    query: Option<&str>,
) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        let (table, text, links, owner, link, index) = which.parts();
        let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
            let sql =
                format!("SELECT address FROM {table} WHERE domain_id = $1 AND address > $2 ORDER BY address LIMIT $3");
            return Ok(sqlx::query_scalar(&sql).bind(domain_id).bind(after).bind(i64::from(limit)).fetch_all(conn).await?);
        };
        // No stored text holds NUL (PostgreSQL's text cannot): such a filter finds nothing.
        if query.contains('\0') {
            return Ok(Vec::new());
        }
        // Addresses are stored in ASCII lower case: a target or member "starts with" by index range.
        let prefix = query.to_ascii_lowercase();
        let below = format!("{prefix}\u{10FFFF}");
        let found = candidates(&mut *conn, index, query).await?;
        // The owners of the targets or members the prefix finds join the candidates: when they are
        // many too, the query is broad that way and the domain is read in order instead.
        let found = match found {
            Some(ids) => {
                let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {links} WHERE {link} >= $1 AND {link} < $2 LIMIT $3) AS matching");
                let by_prefix: i64 = sqlx::query_scalar(&sql)
                    .bind(&prefix)
                    .bind(&below)
                    .bind(CANDIDATE_CAP + 1)
                    .fetch_one(&mut *conn)
                    .await?;
                (by_prefix <= CANDIDATE_CAP).then_some(ids)
            }
            None => None,
        };
        let source = match found {
            // The few candidates first, then their rows by id.
            Some(_) => format!(
                "(SELECT CAST(value AS BIGINT) AS id FROM json_each($7) UNION SELECT {owner} FROM {links} WHERE {link} >= $5 AND {link} < $6) c
                 {} {table} x ON x.id = c.id",
                super::join_in_order(super::dialect(&*conn))
            ),
            None => format!("{table} x"),
        };
        let dialect = super::dialect(&*conn);
        let sql = format!(
            "SELECT x.address FROM {source}
         WHERE x.domain_id = $1 AND x.address > $2
           AND ({} OR {}
                OR x.id IN (SELECT {owner} FROM {links} WHERE {link} >= $5 AND {link} < $6))
         ORDER BY x.address LIMIT $3",
            super::like_lowercase_column(dialect, "x.address", 4),
            super::like_ignoring_case(dialect, &format!("x.{text}"), 4)
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(domain_id)
            .bind(after)
            .bind(i64::from(limit))
            .bind(contains_pattern(query))
            .bind(&prefix)
            .bind(below)
            .bind(found)
            .persistent(super::keep_prepared(&*conn))
            .fetch_all(conn)
            .await?)
    })
}
