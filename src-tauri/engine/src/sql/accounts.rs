//! Accounts: their rows, listing filters, account aliases, status and password writes.

use std::collections::HashMap;

use super::Conn;
use super::search::{SearchIndex, candidates, contains_pattern, search_phrase};
use crate::Result;
use crate::api::AccountSort;
use crate::model::AccountStatus;

/// An account's row as listings show it (`has_password`, never the hash).
#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub id: i64,
    pub address: String,
    pub display_name: String,
    pub department_id: Option<i64>,
    pub notes: String,
    pub status: String,
    pub has_password: bool,
    pub force_password_change: bool,
    pub quota_mb: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The rows of the accounts `ids` (in no order) and their aliases by account id, each
/// account's sorted by address.
pub(crate) async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<(Vec<AccountRow>, HashMap<i64, Vec<String>>)> {
    let ids_json = serde_json::to_string(ids)?;
    let rows = sqlx::query_as::<_, AccountRow>(
        "SELECT id, address, display_name, department_id, notes, status, password_hash IS NOT NULL AS has_password,
                force_password_change, quota_mb, created_at, updated_at
         FROM accounts WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(&ids_json)
    .fetch_all(&mut *conn)
    .await?;
    let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
    for (account_id, alias) in sqlx::query_as::<_, (i64, String)>(
        "SELECT account_id, address FROM account_aliases WHERE account_id IN (SELECT value FROM json_each(?)) ORDER BY address",
    )
    .bind(&ids_json)
    .fetch_all(&mut *conn)
    .await?
    {
        aliases.entry(account_id).or_default().push(alias);
    }
    Ok((rows, aliases))
}

/// The id and domain id of the account at `address` (its own address).
pub(crate) async fn id_and_domain(conn: &mut Conn, address: &str) -> Result<Option<(i64, i64)>> {
    Ok(sqlx::query_as("SELECT id, domain_id FROM accounts WHERE address = ?")
        .bind(address)
        .fetch_optional(conn)
        .await?)
}

/// The id and status of the account at `address` (its own address).
pub(crate) async fn id_and_status(conn: &mut Conn, address: &str) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, status FROM accounts WHERE address = ?").bind(address).fetch_optional(conn).await?)
}

/// The status of the account with id `id`, as stored.
pub(crate) async fn status_by_id(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT status FROM accounts WHERE id = ?").bind(id).fetch_optional(conn).await?)
}

/// A filtered count stops after this many accounts past the page: beyond it a listing says
/// "more than" instead of reading the whole domain to count.
pub(crate) const COUNT_CAP: i64 = 10_000;

/// A listing's filter and order as SQL: `?1` domain id, `?2` LIKE pattern, `?3` JSON
/// department ids, `?4` status, `?5` JSON candidate ids (from the trigram index) or null.
pub(crate) struct AccountFilter {
    pattern: Option<String>,
    /// The query as an FTS5 phrase, when it is long enough for trigrams (3 characters).
    search: Option<String>,
    /// What the search found, once asked (see `candidates`).
    found: Option<Option<String>>,
    departments: Option<String>,
    status: Option<&'static str>,
    with: &'static str,
    join: &'static str,
    order: &'static str,
    direction: &'static str,
}

impl AccountFilter {
    /// The WHERE clauses of this filter. A part the filter does not use only checks that its
    /// parameter is null, and reads no column: an unfiltered listing then reads nothing but
    /// the `(domain_id, address, status)` index, even for its deepest pages.
    fn clauses(&self, candidates: &Option<String>) -> String {
        let text = if self.pattern.is_some() {
            "(a.address LIKE ?2 ESCAPE '\\' OR a.display_name LIKE ?2 ESCAPE '\\')"
        } else {
            "?2 IS NULL"
        };
        let departments = if self.departments.is_some() {
            "a.department_id IN (SELECT value FROM json_each(?3))"
        } else {
            "?3 IS NULL"
        };
        let status = if self.status.is_some() { "a.status = ?4" } else { "a.status <> 'deleted' AND ?4 IS NULL" };
        let candidates = if candidates.is_some() { "1" } else { "?5 IS NULL" };
        format!("a.domain_id = ?1 AND {text} AND {departments} AND {status} AND {candidates}")
    }
}

/// The rows a filter reads: the candidates the trigram index found (each one still checked
/// by the filter's LIKE, so the index only narrows), or the domain's accounts in order.
fn source(candidates: &Option<String>) -> &'static str {
    match candidates {
        // CROSS JOIN keeps this order: the few candidates first, then their rows by id.
        Some(_) => "json_each(?5) c CROSS JOIN accounts a ON a.id = c.value",
        None => "accounts a",
    }
}

impl AccountFilter {
    /// The filter of a listing or export: `departments` are the ids to keep (already
    /// resolved from the tree), `query` a substring of address or display name.
    pub(crate) fn new(
        query: Option<&str>,
        departments: Option<&[i64]>,
        status: Option<AccountStatus>,
        sort: Option<AccountSort>,
        descending: Option<bool>,
    ) -> Result<AccountFilter> {
        let departments = match departments {
            None => None,
            Some(ids) => Some(serde_json::to_string(ids)?),
        };
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        let pattern = query.map(contains_pattern);
        let search = query.and_then(search_phrase);
        let (with, join, order) = match sort.unwrap_or_default() {
            AccountSort::Address => ("", "", "a.address"),
            AccountSort::DisplayName => ("", "", "a.display_name COLLATE NOCASE"),
            AccountSort::Status => ("", "", "a.status"),
            AccountSort::CreatedAt => ("", "", "a.created_at"),
            AccountSort::Department => (
                "WITH RECURSIVE dp(id, path) AS (
                    SELECT id, name FROM departments WHERE domain_id = ?1 AND parent_id IS NULL
                    UNION ALL SELECT d.id, dp.path || '/' || d.name FROM departments d JOIN dp ON d.parent_id = dp.id)",
                "LEFT JOIN dp ON dp.id = a.department_id",
                "dp.path COLLATE NOCASE",
            ),
        };
        let direction = if descending.unwrap_or(false) { "DESC" } else { "ASC" };
        Ok(AccountFilter {
            pattern,
            search,
            found: None,
            departments,
            status: status.map(AccountStatus::as_str),
            with,
            join,
            order,
            direction,
        })
    }

    /// Whether the filter keeps every (not deleted) account.
    pub(crate) fn is_everything(&self) -> bool {
        self.pattern.is_none() && self.departments.is_none() && self.status.is_none()
    }

    /// The ids the trigram index finds for the query (JSON), when they are few enough to
    /// read one by one; `None` when the filter has no such query or it is broad. Asked once.
    async fn candidates(&mut self, conn: &mut Conn) -> Result<Option<String>> {
        if let Some(found) = &self.found {
            return Ok(found.clone());
        }
        let found = self.search(conn).await?;
        self.found = Some(found.clone());
        Ok(found)
    }

    async fn search(&self, conn: &mut Conn) -> Result<Option<String>> {
        match &self.search {
            Some(phrase) => candidates(conn, SearchIndex::Accounts, phrase).await,
            None => Ok(None),
        }
    }

    /// How many accounts of the domain match, and whether that is a floor: unless `exact`,
    /// counting stops `COUNT_CAP` accounts past `offset` (the answer is then that many and
    /// `true`: more match).
    pub(crate) async fn count(&mut self, conn: &mut Conn, did: i64, offset: u32, exact: bool) -> Result<(i64, bool)> {
        let candidates = self.candidates(conn).await?;
        let from = source(&candidates);
        // Candidates are at most CANDIDATE_CAP: counting them is always cheap and exact.
        let cap = if exact || candidates.is_some() { -1 } else { i64::from(offset) + COUNT_CAP };
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {} LIMIT ?6)",
            self.clauses(&candidates)
        ))
        .bind(did)
        .bind(&self.pattern)
        .bind(&self.departments)
        .bind(self.status)
        .bind(&candidates)
        .bind(if cap < 0 { -1 } else { cap + 1 })
        .fetch_one(conn)
        .await?;
        Ok(if cap >= 0 && n > cap { (cap, true) } else { (n, false) })
    }

    /// Ids of the matching accounts in order; `limit` -1 means all.
    pub(crate) async fn ids(&mut self, conn: &mut Conn, did: i64, offset: u32, limit: i64) -> Result<Vec<i64>> {
        let candidates = self.candidates(conn).await?;
        let (with, from, order, direction) = (self.with, source(&candidates), self.order, self.direction);
        let (join, clauses) = (self.join, self.clauses(&candidates));
        // Ties go by address; ordering by address twice would make SQLite sort the whole
        // domain instead of reading its index in order.
        let tie = if order == "a.address" { String::new() } else { format!(", a.address {direction}") };
        Ok(sqlx::query_scalar(&format!(
            "{with} SELECT a.id FROM {from} {join} WHERE {clauses} ORDER BY {order} {direction}{tie} LIMIT ?6 OFFSET ?7"
        ))
        .bind(did)
        .bind(&self.pattern)
        .bind(&self.departments)
        .bind(self.status)
        .bind(&candidates)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?)
    }
}

/// A new account's row (its password already hashed).
pub(crate) struct NewAccount<'a> {
    pub address: &'a str,
    pub display_name: &'a str,
    pub department: Option<i64>,
    pub notes: &'a str,
    pub password_hash: &'a Option<String>,
    pub force_password_change: bool,
    pub quota_mb: u32,
}

/// Inserts an active account; returns its id.
pub(crate) async fn insert(conn: &mut Conn, did: i64, a: &NewAccount<'_>, at: &str) -> Result<i64> {
    let id = sqlx::query(
        "INSERT INTO accounts (domain_id, address, display_name, department_id, notes, status, password_hash,
                               force_password_change, quota_mb, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
    )
    .bind(did)
    .bind(a.address)
    .bind(a.display_name)
    .bind(a.department)
    .bind(a.notes)
    .bind(a.password_hash)
    .bind(a.force_password_change)
    .bind(a.quota_mb)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?
    .last_insert_rowid();
    Ok(id)
}

/// The changes of `update_account`; `None` keeps a field.
pub(crate) struct AccountChanges {
    pub display_name: Option<String>,
    /// `Some(None)` clears the department.
    pub department: Option<Option<i64>>,
    pub notes: Option<String>,
    pub status: Option<AccountStatus>,
    pub force_password_change: Option<bool>,
    pub quota_mb: Option<u32>,
    pub clear_failures: bool,
}

/// Applies `c` to the account `id`.
pub(crate) async fn update(conn: &mut Conn, id: i64, c: AccountChanges, at: String) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET
            display_name = coalesce(?, display_name),
            department_id = CASE WHEN ? THEN ? ELSE department_id END,
            notes = coalesce(?, notes),
            status = coalesce(?, status),
            force_password_change = coalesce(?, force_password_change),
            quota_mb = coalesce(?, quota_mb),
            failed_logins = CASE WHEN ? THEN 0 ELSE failed_logins END,
            updated_at = ?
         WHERE id = ?",
    )
    .bind(c.display_name)
    .bind(c.department.is_some())
    .bind(c.department.flatten())
    .bind(c.notes)
    .bind(c.status.map(AccountStatus::as_str))
    .bind(c.force_password_change)
    .bind(c.quota_mb)
    .bind(c.clear_failures)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a new password hash, clearing failed logins and unlocking a locked account.
pub(crate) async fn set_password(
    conn: &mut Conn,
    id: i64,
    hash: &str,
    force_password_change: Option<bool>,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET password_hash = ?, force_password_change = coalesce(?, force_password_change),
            failed_logins = 0, status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, updated_at = ?
         WHERE id = ?",
    )
    .bind(hash)
    .bind(force_password_change)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the account `id` deleted (it goes to the recycle bin).
pub(crate) async fn mark_deleted(conn: &mut Conn, id: i64, at: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ?")
        .bind(at)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives the account `id` the extra address `alias` (already registered).
pub(crate) async fn add_alias(conn: &mut Conn, alias: &str, id: i64) -> Result<()> {
    sqlx::query("INSERT INTO account_aliases (address, account_id) VALUES (?, ?)")
        .bind(alias)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the extra address `alias` from its account (the address stays registered).
pub(crate) async fn remove_alias(conn: &mut Conn, alias: &str) -> Result<()> {
    sqlx::query("DELETE FROM account_aliases WHERE address = ?").bind(alias).execute(conn).await?;
    Ok(())
}

/// The status of the account at `address`, if there is one.
pub(crate) async fn status_of(conn: &mut Conn, address: &str) -> Result<Option<AccountStatus>> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM accounts WHERE address = ?").bind(address).fetch_optional(conn).await?;
    Ok(status.as_deref().and_then(AccountStatus::parse))
}

/// The account an extra address belongs to.
pub(crate) async fn owner_of_alias(conn: &mut Conn, alias: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT a.address FROM account_aliases x JOIN accounts a ON a.id = x.account_id WHERE x.address = ?",
    )
    .bind(alias)
    .fetch_optional(conn)
    .await?)
}
