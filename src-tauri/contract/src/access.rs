//! Role checks: the rules every backend applies to its caller before it looks anything up.

use crate::error::{Error, Result};
use crate::model::{Caller, Page, Role};

/// The rules every backend applies to an operation before running it (see
/// [`RoleChecked`](crate::api::RoleChecked), which passes the operation table's
/// `MUTATES` and name): a read-only role may run only operations that change nothing, and
/// those of [`OWN_TOKEN_OPERATIONS`] (which the backend limits to the caller's own tokens).
pub fn admit(caller: &Caller, mutates: bool, operation: &str) -> Result<()> {
    if mutates && caller.role.is_read_only() && !OWN_TOKEN_OPERATIONS.contains(&operation) {
        return Err(Error::permission_denied(format!(
            "{} has the {} role, which can look but not change anything ({operation} changes data)",
            caller.name,
            caller.role.as_str(),
        )));
    }
    Ok(())
}

/// Operations that change only the caller's own API tokens or sign-in when the caller is not an owner
/// (rotating and revoking them), so a read-only role may run them too: a helpdesk token can
/// be rotated by the app that holds it. The backend refuses anyone else's token.
pub const OWN_TOKEN_OPERATIONS: &[&str] = &[
    "rotate_own_token",
    "revoke_token",
    // Its own web UI sign-in: password, second factor, sessions.
    "set_admin_password",
    "start_two_factor",
    "confirm_two_factor",
    "remove_two_factor",
    "end_sessions",
];

/// Most items any list-valued field of an operation's parameters may hold (members,
/// targets, addresses, accounts to create, …); fields with a smaller limit of their own
/// check it where they are read.
pub const MAX_LIST_ITEMS: usize = 10_000;

/// Refuses parameters with a list longer than [`MAX_LIST_ITEMS`] anywhere in them, naming
/// the field, before any backend work (and any per-item work) starts.
pub fn admit_lists<P: serde::Serialize>(params: &P) -> Result<()> {
    fn walk(value: &serde_json::Value, path: &mut Vec<String>) -> Result<()> {
        match value {
            serde_json::Value::Array(items) => {
                if items.len() > MAX_LIST_ITEMS {
                    let field = path.join(".");
                    return Err(Error::limit_exceeded(format!(
                        "{field} has {} items; at most {MAX_LIST_ITEMS} fit in one request",
                        items.len()
                    ))
                    .with_field(field));
                }
                items.iter().try_for_each(|item| walk(item, path))
            }
            serde_json::Value::Object(fields) => fields.iter().try_for_each(|(name, item)| {
                path.push(name.clone());
                let out = walk(item, path);
                path.pop();
                out
            }),
            _ => Ok(()),
        }
    }
    let value = serde_json::to_value(params).map_err(|e| Error::validation(format!("unreadable parameters: {e}")))?;
    walk(&value, &mut Vec::new())
}

impl Role {
    /// Whether the role may only read (helpdesk).
    pub fn is_read_only(self) -> bool {
        self == Role::Helpdesk
    }
}

impl Caller {
    /// Whether the caller's domain scope includes `domain` (canonical name).
    pub fn covers_domain(&self, domain: &str) -> bool {
        self.role == Role::Owner || self.domains.as_ref().is_none_or(|list| list.iter().any(|d| d == domain))
    }

    /// Whether the caller may use `page` at all.
    pub fn has_page(&self, page: Page) -> bool {
        self.role == Role::Owner || self.pages.contains(&page)
    }

    /// Refuses unless the caller may use `page` on `domain`; `domain = None` means "all
    /// domains" (creating domains, domain groups). Whether the caller may change anything
    /// at all is decided once per operation by [`admit`].
    pub fn require(&self, page: Page, domain: Option<&str>) -> Result<()> {
        if self.role == Role::Owner {
            return Ok(());
        }
        if !self.has_page(page) {
            return Err(Error::permission_denied(format!("{} may not use the {} page", self.name, page.as_str())));
        }
        match domain {
            Some(d) if !self.covers_domain(d) => {
                Err(Error::permission_denied(format!("{} may not manage domain {d}", self.name)))
            }
            None if self.domains.is_some() => Err(Error::permission_denied(format!(
                "{} is limited to some domains; this needs access to all of them",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses unless the caller may read `page` in at least some domain; for listings
    /// that are then filtered to the caller's domains.
    pub fn require_page(&self, page: Page) -> Result<()> {
        if self.has_page(page) {
            Ok(())
        } else {
            Err(Error::permission_denied(format!("{} may not use the {} page", self.name, page.as_str())))
        }
    }

    /// Refuses unless the caller is an owner (admin users and tokens).
    pub fn require_owner(&self) -> Result<()> {
        if self.role == Role::Owner {
            Ok(())
        } else {
            Err(Error::permission_denied(format!(
                "only an owner may manage admins and tokens; {} is {}",
                self.name,
                self.role.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn sub(role: Role, pages: &[Page], domains: Option<&[&str]>) -> Caller {
        Caller {
            name: "sub".into(),
            role,
            pages: pages.to_vec(),
            domains: domains.map(|d| d.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn owners_may_do_everything() {
        let c = Caller { name: "local".into(), role: Role::Owner, pages: Page::ALL.to_vec(), domains: None };
        assert!(c.require(Page::Accounts, Some("x.example")).is_ok());
        assert!(c.require(Page::Domains, None).is_ok());
        assert!(c.require_owner().is_ok());
    }

    #[test]
    fn sub_admins_are_limited_to_pages_and_domains() {
        let c = sub(Role::Admin, &[Page::Accounts], Some(&["a.example"]));
        assert!(c.require(Page::Accounts, Some("a.example")).is_ok());
        let e = c.require(Page::Accounts, Some("b.example")).unwrap_err();
        assert_eq!(e.code, ErrorCode::PermissionDenied);
        assert!(e.message.contains("b.example"));
        assert!(c.require(Page::Aliases, Some("a.example")).unwrap_err().message.contains("aliases page"));
        assert!(c.require(Page::Accounts, None).is_err());
        assert!(c.require_owner().is_err());
        let all = sub(Role::Admin, &[Page::Domains], None);
        assert!(all.require(Page::Domains, None).is_ok());
    }

    #[test]
    fn helpdesk_reads_but_never_writes() {
        let c = sub(Role::Helpdesk, &[Page::Accounts], None);
        assert!(c.require(Page::Accounts, Some("a.example")).is_ok());
        assert!(admit(&c, false, "list_accounts").is_ok());
        // Its own tokens it may rotate and revoke (the backend checks they are its own).
        assert!(admit(&c, true, "rotate_own_token").is_ok());
        assert!(admit(&c, true, "revoke_token").is_ok());
        assert!(admit(&c, true, "create_token").is_err());
        let e = admit(&c, true, "create_account").unwrap_err();
        assert_eq!(e.code, ErrorCode::PermissionDenied);
        assert!(e.message.contains("helpdesk") && e.message.contains("create_account"), "{}", e.message);
        let admin = sub(Role::Admin, &[Page::Accounts], None);
        assert!(admit(&admin, true, "create_account").is_ok());
    }
}
