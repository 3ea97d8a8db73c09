//! What the delivery-policy explainer and decision load about addresses, accounts,
//! domains and mail groups.

use super::Conn;
use crate::Result;

/// What the address is, when it belongs to one of our domains: `(kind, owning account)`.
pub async fn kind_of(conn: &mut Conn, address: &str) -> Result<Option<(String, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT x.kind, coalesce(a.address, (SELECT o.address FROM account_aliases y JOIN accounts o ON o.id = y.account_id
                                             WHERE y.address = x.address))
         FROM addresses x LEFT JOIN accounts a ON a.address = x.address WHERE x.address = $1",
        )
        .bind(address)
        .fetch_optional(conn)
        .await?)
    })
}

/// The stored status of the account at `account`.
pub async fn account_status(conn: &mut Conn, account: &str) -> Result<String> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT status FROM accounts WHERE address = $1").bind(account).fetch_one(conn).await?)
    })
}

/// Whether `domain` is one of ours.
pub async fn is_ours(conn: &mut Conn, domain: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM domains WHERE name = $1").bind(domain).fetch_one(conn).await?;
        Ok(n > 0)
    })
}

/// A mail group's send permission, members and allowed senders (the last two as JSON
/// arrays), by the group's address.
pub async fn group(conn: &mut Conn, address: &str) -> Result<(String, String, String)> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT g.send_permission,
                (SELECT json_group_array(member) FROM group_members WHERE group_id = g.id),
                (SELECT json_group_array(sender) FROM group_allowed_senders WHERE group_id = g.id)
             FROM mail_groups g WHERE g.address = $1",
        )
        .bind(address)
        .fetch_one(conn)
        .await?)
    })
}
