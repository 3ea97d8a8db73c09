//! Settings: the sparse `setting_overrides` rows per level (domain default, department,
//! account), the department ancestry and account facts their resolution reads, the
//! address book's inputs, and the lockout threshold as SQL.

use sqlx::Row;

use super::Conn;
use crate::Result;
use postdesk_contract::settings::{SettingLevel, Settings};

/// The lockout threshold of the domain row `d` as an SQL expression: its override, else the
/// default the contract writes once (`DEFAULT_LOCKOUT_THRESHOLD`).
pub fn lockout_threshold_sql() -> String {
    format!(
        "coalesce((SELECT CAST(o.value AS BIGINT) FROM setting_overrides o
                   WHERE o.scope = 'domain' AND o.scope_id = d.id AND o.key = 'lockout_threshold'), {})",
        postdesk_contract::settings::DEFAULT_LOCKOUT_THRESHOLD
    )
}

/// Sets the domain setting `lockout_threshold` (validated by the caller) inside `tx`.
pub async fn set_lockout_threshold(conn: &mut Conn, domain_id: i64, n: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO setting_overrides (domain_id, scope, scope_id, key, value) VALUES ($1, 'domain', $1, 'lockout_threshold', $2)
             ON CONFLICT (scope, scope_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(domain_id)
        .bind(serde_json::to_string(&n).expect("a number serialises"))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// A department's ancestry, root first: `(id, name)` of each level down to it (found with
/// a recursive query up the parent pointers).
pub async fn ancestry(conn: &mut Conn, department: i64) -> Result<Vec<(i64, String)>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, name, depth) AS (
            SELECT id, parent_id, name, CAST(0 AS BIGINT) FROM departments WHERE id = $1
            UNION ALL
            SELECT d.id, d.parent_id, d.name, up.depth + 1 FROM departments d JOIN up ON d.id = up.parent_id)
         SELECT id, name, depth FROM up ORDER BY depth DESC",
        )
        .bind(department)
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(|(id, name, _)| (id, name)).collect())
    })
}

/// The overrides one level sets.
pub async fn level(conn: &mut Conn, scope: SettingLevel, id: i64) -> Result<Settings> {
    super::on_db!(conn, conn => {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM setting_overrides WHERE scope = $1 AND scope_id = $2")
                .bind(scope.as_str())
                .bind(id)
                .fetch_all(conn)
                .await?;
        Ok(Settings::from_rows(rows.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    })
}

/// The overrides of the domain default and of `departments`: `(scope, scope_id, key, value)`.
pub async fn domain_and_department_overrides(
    conn: &mut Conn,
    domain: i64,
    departments: &[i64],
) -> Result<Vec<(String, i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope, scope_id, key, value FROM setting_overrides
         WHERE (scope = 'domain' AND scope_id = $1)
            OR (scope = 'department' AND scope_id IN (SELECT CAST(value AS BIGINT) FROM json_each($2)))",
        )
        .bind(domain)
        .bind(serde_json::to_string(departments)?)
        .fetch_all(conn)
        .await?)
    })
}

/// An account's `(address, domain id, department id, security questions set)`.
pub async fn account_facts(conn: &mut Conn, account: i64) -> Result<(String, i64, Option<i64>, bool)> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT address, domain_id, department_id, security_questions_set FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_one(conn)
            .await?)
    })
}

/// The id of the account at `address` (its own address).
pub async fn account_id(conn: &mut Conn, address: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM accounts WHERE address = $1").bind(address).fetch_optional(conn).await?)
    })
}

/// The department of the account `account`.
pub async fn account_department(conn: &mut Conn, account: i64) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT department_id FROM accounts WHERE id = $1").bind(account).fetch_one(conn).await?)
    })
}

/// Per scope and key, how many departments (of `departments`) and accounts (in
/// `account_departments`, or the whole domain when `None`) override it: `(scope, key, n)`.
pub async fn overrides_below(
    conn: &mut Conn,
    domain: i64,
    departments: &[i64],
    account_departments: Option<&[i64]>,
) -> Result<Vec<(String, String, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope, key, count(*) FROM setting_overrides o
         WHERE o.domain_id = $1 AND (
            (o.scope = 'department' AND o.scope_id IN (SELECT CAST(value AS BIGINT) FROM json_each($2)))
            OR (o.scope = 'account' AND ($3 IS NULL OR o.scope_id IN
                (SELECT id FROM accounts WHERE department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($3))))))
         GROUP BY scope, key",
        )
        .bind(domain)
        .bind(serde_json::to_string(departments)?)
        .bind(account_departments.map(serde_json::to_string).transpose()?)
        .fetch_all(conn)
        .await?)
    })
}

/// How many accounts (not deleted) `departments` hold.
pub async fn count_accounts(conn: &mut Conn, departments: &[i64]) -> Result<u32> {
    super::on_db!(conn, conn => {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM accounts WHERE department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND status <> 'deleted'",
        )
        .bind(serde_json::to_string(departments)?)
        .fetch_one(conn)
        .await?;
        Ok(n as u32)
    })
}

/// The ids of the domain's departments.
pub async fn department_ids(conn: &mut Conn, domain: i64) -> Result<Vec<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM departments WHERE domain_id = $1").bind(domain).fetch_all(conn).await?)
    })
}

/// What the levels `ids` (all at `scope`) hold now for `keys`: `(scope_id, key, value)`.
pub async fn current(
    conn: &mut Conn,
    scope: SettingLevel,
    ids: &[i64],
    keys: &[&str],
) -> Result<Vec<(i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope_id, key, value FROM setting_overrides
             WHERE scope = $1 AND scope_id IN (SELECT CAST(value AS BIGINT) FROM json_each($2)) AND key IN (SELECT value FROM json_each($3))",
        )
        .bind(scope.as_str())
        .bind(serde_json::to_string(ids)?)
        .bind(serde_json::to_string(keys)?)
        .fetch_all(conn)
        .await?)
    })
}

/// An override of a level below a department.
pub struct Below {
    /// `department` or `account`.
    pub scope: String,
    pub scope_id: i64,
    pub key: String,
    pub value: String,
    /// The account's address, for an account's override (`None` for a department's).
    pub address: Option<String>,
}

/// The overrides of `keys` set below a department: by the departments `below` and by the
/// accounts of `subtree` (the department and `below`); departments first.
pub async fn overrides_of_keys_below(
    conn: &mut Conn,
    domain: i64,
    keys: &[&str],
    below: &[i64],
    subtree: &[i64],
) -> Result<Vec<Below>> {
    super::on_db!(conn, conn => {
        let rows = sqlx::query(
            "SELECT o.scope, o.scope_id, o.key, o.value, a.address FROM setting_overrides o
             LEFT JOIN accounts a ON o.scope = 'account' AND a.id = o.scope_id
             WHERE o.domain_id = $1 AND o.key IN (SELECT value FROM json_each($2)) AND (
                (o.scope = 'department' AND o.scope_id IN (SELECT CAST(value AS BIGINT) FROM json_each($3)))
                OR (o.scope = 'account' AND a.department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($4))))
             ORDER BY o.scope DESC, o.scope_id, o.key",
        )
        .bind(domain)
        .bind(serde_json::to_string(keys)?)
        .bind(serde_json::to_string(below)?)
        .bind(serde_json::to_string(subtree)?)
        .fetch_all(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let scope: String = r.get("scope");
                let address = if scope == "department" { None } else { Some(r.get::<String, _>("address")) };
                Below { scope, scope_id: r.get("scope_id"), key: r.get("key"), value: r.get("value"), address }
            })
            .collect())
    })
}

/// Writes one override value (or removes it when `value` is `None`).
pub async fn write_override(
    conn: &mut Conn,
    domain: i64,
    scope: SettingLevel,
    scope_id: i64,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    super::on_db!(conn, conn => {
        match value {
            Some(v) => {
                sqlx::query(
                    "INSERT INTO setting_overrides (domain_id, scope, scope_id, key, value) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (scope, scope_id, key) DO UPDATE SET value = excluded.value",
                )
                .bind(domain)
                .bind(scope.as_str())
                .bind(scope_id)
                .bind(key)
                .bind(v)
                .execute(conn)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM setting_overrides WHERE scope = $1 AND scope_id = $2 AND key = $3")
                    .bind(scope.as_str())
                    .bind(scope_id)
                    .bind(key)
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    })
}

/// The domain's departments with their parents: `(id, parent id)`.
pub async fn department_parents(conn: &mut Conn, domain: i64) -> Result<Vec<(i64, Option<i64>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (i64, Option<i64>)>("SELECT id, parent_id FROM departments WHERE domain_id = $1")
            .bind(domain)
            .fetch_all(conn)
            .await?)
    })
}

/// Every `address_book` override of the domain: `(scope, scope_id, value)`.
pub async fn address_book_overrides(conn: &mut Conn, domain: i64) -> Result<Vec<(String, i64, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope, scope_id, value FROM setting_overrides WHERE domain_id = $1 AND key = 'address_book'",
        )
        .bind(domain)
        .fetch_all(conn)
        .await?)
    })
}

/// The domain's active and locked accounts: `(id, address, display name, department id)`.
pub async fn address_book_accounts(conn: &mut Conn, domain: i64) -> Result<Vec<(i64, String, String, Option<i64>)>> {
    super::on_db!(conn, conn => {
        // One row holding every account as JSON: a domain's 100,000 rows one by one through the
        // driver took 175 ms, as one JSON text 36 ms.
        // `json_array` is a SQL/JSON keyword on PostgreSQL 16+ (and drops NULLs there).
        let row = match super::dialect(&*conn) {
            super::Dialect::Sqlite => "json_group_array(json_array(id, address, display_name, department_id))",
            super::Dialect::Postgres => {
                "coalesce(json_agg(json_build_array(id, address, display_name, department_id))::text, '[]')"
            }
        };
        let json: String = sqlx::query_scalar(&format!(
            "SELECT {row} FROM accounts WHERE domain_id = $1 AND status IN ('active', 'locked')"
        ))
        .bind(domain)
        .fetch_one(conn)
        .await?;
        Ok(serde_json::from_str(&json)?)
    })
}

/// Marks that the account `account` has set security questions.
pub async fn set_security_questions(conn: &mut Conn, account: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET security_questions_set = TRUE WHERE id = $1").bind(account).execute(conn).await?;
        Ok(())
    })
}
