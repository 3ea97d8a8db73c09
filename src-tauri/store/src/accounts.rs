//! Accounts: their rows, listing filters, account aliases, status and password writes.

use std::collections::HashMap;

use super::Conn;
use super::search::{SearchIndex, candidates, contains_pattern};
use crate::Result;
use crate::api::AccountSort;
use crate::model::AccountStatus;

/// An account's row as listings show it (`has_password`, never the hash).
#[derive(sqlx::FromRow)]
pub struct AccountRow {
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
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<(Vec<AccountRow>, HashMap<i64, Vec<String>>)> {
    super::on_db!(conn, conn => {
        let ids_json = serde_json::to_string(ids)?;
        let rows = sqlx::query_as::<_, AccountRow>(
            "SELECT id, address, display_name, department_id, notes, status, password_hash IS NOT NULL AS has_password,
                force_password_change, quota_mb, created_at, updated_at
         FROM accounts WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($1))",
        )
        .bind(&ids_json)
        .fetch_all(&mut *conn)
        .await?;
        let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
        for (account_id, alias) in sqlx::query_as::<_, (i64, String)>(
            "SELECT account_id, address FROM account_aliases WHERE account_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) ORDER BY address",
        )
        .bind(&ids_json)
        .fetch_all(&mut *conn)
        .await?
        {
            aliases.entry(account_id).or_default().push(alias);
        }
        Ok((rows, aliases))
    })
}

/// The id and domain id of the account at `address` (its own address).
pub async fn id_and_domain(conn: &mut Conn, address: &str) -> Result<Option<(i64, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, domain_id FROM accounts WHERE address = $1")
            .bind(address)
            .fetch_optional(conn)
            .await?)
    })
}

/// The id and status of the account at `address` (its own address).
pub async fn id_and_status(conn: &mut Conn, address: &str) -> Result<Option<(i64, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, status FROM accounts WHERE address = $1").bind(address).fetch_optional(conn).await?)
    })
}

/// The status of the account with id `id`, as stored.
pub async fn status_by_id(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT status FROM accounts WHERE id = $1").bind(id).fetch_optional(conn).await?)
    })
}

/// A filtered count stops after this many accounts past the page: beyond it a listing says
/// "more than" instead of reading the whole domain to count.
pub const COUNT_CAP: i64 = 10_000;

/// A listing's filter and order as SQL: `$1` domain id, `$2` LIKE pattern, `$3` JSON
/// department ids, `$4` status, `$5` JSON candidate ids (from a search index) or null.
pub struct AccountFilter {
    pattern: Option<String>,
    /// The query holds NUL, which no stored text holds (PostgreSQL's text cannot): the
    /// filter keeps nothing, and the text is never bound.
    nothing: bool,
    /// The query (trimmed, without NUL), for the search indexes (`candidates`).
    search: Option<String>,
    /// What the search found, once asked (see `candidates`).
    found: Option<Option<String>>,
    departments: Option<String>,
    status: Option<&'static str>,
    with: &'static str,
    join: &'static str,
    order: &'static str,
    /// Sorted by department path (which an account may not have).
    by_department: bool,
    direction: &'static str,
}

impl AccountFilter {
    /// The WHERE clauses of this filter. A part the filter does not use only checks that its
    /// parameter is null, and reads no column: an unfiltered listing then reads nothing but
    /// the `(domain_id, address, status)` index, even for its deepest pages.
    fn clauses(&self, candidates: &Option<String>, dialect: super::Dialect) -> String {
        let text = if self.nothing {
            "FALSE AND $2 IS NULL".to_string()
        } else if self.pattern.is_some() {
            format!(
                "({} OR {})",
                super::like_lowercase_column(dialect, "a.address", 2),
                super::like_ignoring_case(dialect, "a.display_name", 2)
            )
        } else {
            "$2 IS NULL".to_string()
        };
        let departments = if self.departments.is_some() {
            "a.department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($3))"
        } else {
            "$3 IS NULL"
        };
        let status = if self.status.is_some() { "a.status = $4" } else { "a.status <> 'deleted' AND $4 IS NULL" };
        let candidates = if candidates.is_some() { "TRUE" } else { "$5 IS NULL" };
        format!("a.domain_id = $1 AND {text} AND {departments} AND {status} AND {candidates}")
    }
}

/// The rows a filter reads: the candidates a search index found (each one still checked
/// by the filter's LIKE, so the index only narrows), or the domain's accounts in order.
/// SQLite's CROSS JOIN keeps the order written (the few candidates, then their rows by id).
fn source(candidates: &Option<String>, dialect: super::Dialect) -> std::borrow::Cow<'static, str> {
    match candidates {
        Some(_) => match dialect {
            super::Dialect::Sqlite => "json_each($5) c CROSS JOIN accounts a ON a.id = c.value".into(),
            super::Dialect::Postgres => "json_each($5) c JOIN accounts a ON a.id = CAST(c.value AS BIGINT)".into(),
        },
        None => "accounts a".into(),
    }
}

/// A sort key as the database writes it: SQLite's `COLLATE NOCASE` (its index's order) is
/// `lower(…)` on PostgreSQL (ASCII case folded on the "C" collation, as NOCASE folds it).
fn order_on(order: &'static str, dialect: super::Dialect) -> std::borrow::Cow<'static, str> {
    match (dialect, order.strip_suffix(" COLLATE NOCASE")) {
        (super::Dialect::Postgres, Some(column)) => format!("lower({column})").into(),
        _ => order.into(),
    }
}

impl AccountFilter {
    /// The filter of a listing or export: `departments` are the ids to keep (already
    /// resolved from the tree), `query` a substring of address or display name.
    pub fn new(
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
        let nothing = query.is_some_and(|q| q.contains('\0'));
        let query = query.filter(|_| !nothing);
        let pattern = query.map(contains_pattern);
        let search = query.map(str::to_owned);
        let (with, join, order) = match sort.unwrap_or_default() {
            AccountSort::Address => ("", "", "a.address"),
            AccountSort::DisplayName => ("", "", "a.display_name COLLATE NOCASE"),
            AccountSort::Status => ("", "", "a.status"),
            AccountSort::CreatedAt => ("", "", "a.created_at"),
            AccountSort::Department => (
                "WITH RECURSIVE dp(id, path) AS (
                    SELECT id, name FROM departments WHERE domain_id = $1 AND parent_id IS NULL
                    UNION ALL SELECT d.id, dp.path || '/' || d.name FROM departments d JOIN dp ON d.parent_id = dp.id)",
                "LEFT JOIN dp ON dp.id = a.department_id",
                "dp.path COLLATE NOCASE",
            ),
        };
        let direction = if descending.unwrap_or(false) { "DESC" } else { "ASC" };
        Ok(AccountFilter {
            pattern,
            nothing,
            search,
            found: None,
            departments,
            status: status.map(AccountStatus::as_str),
            with,
            join,
            order,
            by_department: matches!(sort, Some(AccountSort::Department)),
            direction,
        })
    }

    /// Whether the filter keeps every (not deleted) account.
    pub fn is_everything(&self) -> bool {
        self.pattern.is_none() && !self.nothing && self.departments.is_none() && self.status.is_none()
    }

    /// The ids a search index finds for the query (JSON), when they are few enough to
    /// read one by one; `None` when the filter has no such query or it is broad. Asked once.
    async fn candidates(&mut self, conn: &mut Conn) -> Result<Option<String>> {
        super::on_db!(conn, conn => {
            if let Some(found) = &self.found {
                return Ok(found.clone());
            }
            let found = self.search(conn).await?;
            self.found = Some(found.clone());
            Ok(found)
        })
    }

    async fn search(&self, conn: &mut Conn) -> Result<Option<String>> {
        super::on_db!(conn, conn => {
            match &self.search {
                Some(query) => candidates(conn, SearchIndex::Accounts, query).await,
                None => Ok(None),
            }
        })
    }

    /// How many accounts of the domain match, and whether that is a floor: unless `exact`,
    /// counting stops `COUNT_CAP` accounts past `offset` (the answer is then that many and
    /// `true`: more match).
    pub async fn count(&mut self, conn: &mut Conn, did: i64, offset: u32, exact: bool) -> Result<(i64, bool)> {
        super::on_db!(conn, conn => {
            let candidates = self.candidates(conn).await?;
            let from = source(&candidates, super::dialect(&*conn));
            // Candidates are at most CANDIDATE_CAP: counting them is always cheap and exact.
            let cap = if exact || candidates.is_some() { None } else { Some(i64::from(offset) + COUNT_CAP) };
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {} LIMIT $6) AS matching",
                self.clauses(&candidates, super::dialect(&*conn))
            ))
            .bind(did)
            .bind(&self.pattern)
            .bind(&self.departments)
            .bind(self.status)
            .bind(&candidates)
            .bind(cap.map_or(i64::MAX, |cap| cap + 1))
            .persistent(super::keep_prepared(&*conn))
            .fetch_one(conn)
            .await?;
            Ok(match cap {
                Some(cap) if n > cap => (cap, true),
                _ => (n, false),
            })
        })
    }

    /// Ids of the matching accounts in order; `limit` `i64::MAX` means all.
    pub async fn ids(&mut self, conn: &mut Conn, did: i64, offset: u32, limit: i64) -> Result<Vec<i64>> {
        super::on_db!(conn, conn => {
            let candidates = self.candidates(conn).await?;
            let (with, from, direction) = (self.with, source(&candidates, super::dialect(&*conn)), self.direction);
            let order = order_on(self.order, super::dialect(&*conn));
            let (join, clauses) = (self.join, self.clauses(&candidates, super::dialect(&*conn)));
            // Ties go by address; ordering by address twice would make SQLite sort the whole
            // domain instead of reading its index in order.
            let tie = if order == "a.address" { String::new() } else { format!(", a.address {direction}") };
            // Accounts in no department come first in ascending order, on both databases.
            let nulls = match (self.by_department, direction) {
                (false, _) => "",
                (true, "ASC") => " NULLS FIRST",
                (true, _) => " NULLS LAST",
            };
            let each_department = self.by_department && candidates.is_none() && super::dialect(&*conn) == super::Dialect::Postgres;
            let sql = if each_department {
                // Each department's accounts read in address order from `accounts_department_address`,
                // at most offset + limit of each ($8), then the few departments ordered by path: a page
                // no longer sorts the whole domain (SQLite has no LATERAL; it sorts, fast enough there).
                format!(
                    "{with} SELECT s.id FROM (
                        SELECT dp.path, d.address, d.id FROM dp CROSS JOIN LATERAL (
                            SELECT a.id, a.address FROM accounts a WHERE a.department_id = dp.id AND {clauses}
                            ORDER BY a.address {direction} LIMIT $8) d
                        UNION ALL
                        (SELECT NULL, a.address, a.id FROM accounts a WHERE a.department_id IS NULL AND {clauses}
                         ORDER BY a.address {direction} LIMIT $8)
                     ) s ORDER BY lower(s.path) {direction}{nulls}, s.address {direction} LIMIT $6 OFFSET $7"
                )
            } else {
                format!(
                    "{with} SELECT a.id FROM {from} {join} WHERE {clauses} ORDER BY {order} {direction}{nulls}{tie} LIMIT $6 OFFSET $7"
                )
            };
            let mut query = sqlx::query_scalar(&sql)
                .bind(did)
                .bind(&self.pattern)
                .bind(&self.departments)
                .bind(self.status)
                .bind(&candidates)
                .bind(limit)
                .bind(i64::from(offset));
            if each_department {
                query = query.bind(limit.saturating_add(i64::from(offset)));
            }
            Ok(query.persistent(super::keep_prepared(&*conn)).fetch_all(conn).await?)
        })
    }
}

/// A new account's row (its password already hashed).
pub struct NewAccount<'a> {
    pub address: &'a str,
    pub display_name: &'a str,
    pub department: Option<i64>,
    pub notes: &'a str,
    pub password_hash: &'a Option<String>,
    pub force_password_change: bool,
    pub quota_mb: u32,
}

/// Inserts an active account; returns its id.
pub async fn insert(conn: &mut Conn, did: i64, a: &NewAccount<'_>, at: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO accounts (domain_id, address, display_name, department_id, notes, status, password_hash,
                               force_password_change, quota_mb, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(did)
        .bind(a.address)
        .bind(a.display_name)
        .bind(a.department)
        .bind(a.notes)
        .bind(a.password_hash)
        .bind(a.force_password_change)
        .bind(i64::from(a.quota_mb))
        .bind(at)
        .bind(at)
        .fetch_one(conn)
        .await?;
        Ok(id)
    })
}

/// The changes of `update_account`; `None` keeps a field.
pub struct AccountChanges {
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
pub async fn update(conn: &mut Conn, id: i64, c: AccountChanges, at: String) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE accounts SET
            display_name = coalesce($1, display_name),
            department_id = CASE WHEN $2 THEN $3 ELSE department_id END,
            notes = coalesce($4, notes),
            status = coalesce($5, status),
            force_password_change = coalesce($6, force_password_change),
            quota_mb = coalesce($7, quota_mb),
            failed_logins = CASE WHEN $8 THEN 0 ELSE failed_logins END,
            updated_at = $9
         WHERE id = $10",
        )
        .bind(c.display_name)
        .bind(c.department.is_some())
        .bind(c.department.flatten())
        .bind(c.notes)
        .bind(c.status.map(AccountStatus::as_str))
        .bind(c.force_password_change)
        .bind(c.quota_mb.map(i64::from))
        .bind(c.clear_failures)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets a new password hash, clearing failed logins and unlocking a locked account.
pub async fn set_password(
    conn: &mut Conn,
    id: i64,
    hash: &str,
    force_password_change: Option<bool>,
    at: &str,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, force_password_change = coalesce($2, force_password_change),
            failed_logins = 0, status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, updated_at = $3
         WHERE id = $4",
        )
        .bind(hash)
        .bind(force_password_change)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Marks the account `id` deleted (it goes to the recycle bin).
pub async fn mark_deleted(conn: &mut Conn, id: i64, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET status = 'deleted', deleted_at = $1, updated_at = $2 WHERE id = $3")
            .bind(at)
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Gives the account `id` the extra address `alias` (already registered).
pub async fn add_alias(conn: &mut Conn, alias: &str, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO account_aliases (address, account_id) VALUES ($1, $2)")
            .bind(alias)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Takes the extra address `alias` from its account (the address stays registered).
pub async fn remove_alias(conn: &mut Conn, alias: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM account_aliases WHERE address = $1").bind(alias).execute(conn).await?;
        Ok(())
    })
}

/// The status of the account at `address`, if there is one.
pub async fn status_of(conn: &mut Conn, address: &str) -> Result<Option<AccountStatus>> {
    super::on_db!(conn, conn => {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM accounts WHERE address = $1").bind(address).fetch_optional(conn).await?;
        Ok(status.as_deref().and_then(AccountStatus::parse))
    })
}

/// The account an extra address belongs to.
pub async fn owner_of_alias(conn: &mut Conn, alias: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT a.address FROM account_aliases x JOIN accounts a ON a.id = x.account_id WHERE x.address = $1",
        )
        .bind(alias)
        .fetch_optional(conn)
        .await?)
    })
}
