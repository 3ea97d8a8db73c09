//! The organisation model as it crosses the API: what callers see.
//!
//! Invariant: no type here carries a password or a password hash. Accounts only say
//! whether a password is set (`has_password`); tokens are shown once, at creation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Limits of a domain's plan (edition). Enforced on every create and update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PlanLimits {
    /// Most accounts (mailboxes) the domain may have; deleted ones do not count.
    pub max_accounts: u32,
    /// Largest mailbox, in MiB; an account's quota may not exceed it.
    pub mailbox_size_mb: u32,
    /// Largest attachment of normal mail, in MiB.
    pub attachment_size_mb: u32,
    /// Whether large attachments (links instead of inline files) are allowed.
    pub large_attachments: bool,
}

impl PlanLimits {
    /// The largest message, in bytes as received over SMTP, that a mailbox of this plan
    /// accepts: an attachment of the plan's size encoded in base64 (4/3, plus CRLF after
    /// every 76 characters: × 4/3 × 78/76) and 1 MiB for the text and headers around it.
    /// 60 MiB attachments → 87.1 MiB messages.
    pub fn max_message_bytes(&self) -> u64 {
        const MIB: u64 = 1024 * 1024;
        let attachment = u64::from(self.attachment_size_mb) * MIB;
        (attachment * 4 * 78).div_ceil(3 * 76) + MIB
    }
}

impl Default for PlanLimits {
    /// The standard edition: 60 MB attachments, large ones allowed.
    fn default() -> Self {
        PlanLimits { max_accounts: 50, mailbox_size_mb: 10_240, attachment_size_mb: 60, large_attachments: true }
    }
}

/// A mail domain of a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Domain {
    /// ASCII (A-label) name, the identifier.
    pub name: String,
    /// The name as people write it (Unicode labels decoded).
    pub display_name: String,
    /// The group this domain is a subsidiary of, if any.
    pub group: Option<String>,
    /// Plan limits (for a subsidiary, `max_accounts` is its allocation from the group).
    pub limits: PlanLimits,
    /// Accounts in use (not deleted).
    pub account_count: u32,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// A group of subsidiary domains sharing one account allowance (group edition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DomainGroup {
    /// Group name, the identifier.
    pub name: String,
    /// Accounts the group may allocate to its subsidiaries in total.
    pub max_accounts: u32,
    /// Sum of the subsidiaries' allocations.
    pub allocated: u32,
    /// The subsidiary domains.
    pub domains: Vec<String>,
}

/// A department in a domain's tree, identified by its path (`Sales/East`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Department {
    /// Full path from the root, segments joined by `/`.
    pub path: String,
    /// Last segment of the path.
    pub name: String,
    /// Path of the parent, `None` at the top level.
    pub parent: Option<String>,
    /// Accounts directly in this department.
    pub accounts: u32,
    /// Accounts in this department and all its sub-departments.
    pub total_accounts: u32,
}

/// Lifecycle state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Can log in and receive mail.
    Active,
    /// Locked after too many failed logins; a password reset unlocks it.
    Locked,
    /// Disabled by an admin: no login, no delivery.
    Disabled,
    /// Deleted: in the recycle bin, address still reserved.
    Deleted,
}

impl AccountStatus {
    /// The name stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Locked => "locked",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => AccountStatus::Active,
            "locked" => AccountStatus::Locked,
            "disabled" => AccountStatus::Disabled,
            "deleted" => AccountStatus::Deleted,
            _ => return None,
        })
    }
}

/// A mailbox account. Never carries its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Account {
    /// Canonical address, the identifier.
    pub address: String,
    /// Name shown to recipients and in the address book.
    pub display_name: String,
    /// Department path, `None` when at the domain's top level.
    pub department: Option<String>,
    /// Free-text notes for admins.
    pub notes: String,
    /// Lifecycle state.
    pub status: AccountStatus,
    /// Whether a password has been set (the password itself is never readable).
    pub has_password: bool,
    /// The user must change the password at the next logon.
    pub force_password_change: bool,
    /// Mailbox quota in MiB (at most the plan's mailbox size).
    pub quota_mb: u32,
    /// Extra addresses of this account.
    pub aliases: Vec<String>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
}

/// One page of a longer list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Listing<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match the filter in all — at least, when `total_capped`.
    pub total: u32,
    /// Offset of the first item.
    pub offset: u32,
    /// The count stopped at `total` (10,000 past the page) instead of reading everything:
    /// more items match. Never set for an unfiltered listing nor when asked for an exact count.
    #[serde(default)]
    pub total_capped: bool,
}

impl<T> Listing<T> {
    /// The total in words: "42", or "more than 10000" when the count stopped.
    pub fn total_words(&self) -> String {
        if self.total_capped { format!("more than {}", self.total) } else { self.total.to_string() }
    }
}

/// One page of a list walked with a cursor (keyset paging: a page stays right however the
/// list changes between calls, and costs the same at any depth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct CursorPage<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `null` when this page is the last.
    pub next: Option<String>,
}

/// Items one cursor page holds when the call gives no `limit`.
pub const DEFAULT_PAGE: u32 = 200;
/// The most items one cursor page holds; a larger `limit` is refused.
pub const MAX_PAGE: u32 = 1000;

/// The page size a `limit` asks for: [`DEFAULT_PAGE`] when none, refused outside 1–[`MAX_PAGE`].
pub fn page_limit(limit: Option<u32>) -> crate::Result<u32> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(n) => {
            Err(crate::Error::validation(format!("limit {n} is out of range: a page holds 1 to {MAX_PAGE} items"))
                .with_field("limit"))
        }
    }
}

/// The cursor page of `items` (sorted by `key`, the cursor's order) that follows `after`:
/// at most `limit` items, and `next` when more follow.
pub fn cursor_page<T, K: Ord>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    cursor: impl Fn(&T) -> String,
    after: Option<K>,
    limit: u32,
) -> CursorPage<T> {
    let mut items: Vec<T> = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|a| key(item) > *a))
        .take(limit as usize + 1)
        .collect();
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(&cursor)
    } else {
        None
    };
    CursorPage { items, next }
}

/// The cursor page of `rows`, read from the store with `LIMIT limit + 1` after the cursor:
/// the first `limit` of them, and `next` (the cursor of the last one kept) when the extra row
/// shows that more follow.
pub fn page_of<T>(mut rows: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> CursorPage<T> {
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor)
    } else {
        None
    };
    CursorPage { items: rows, next }
}

/// The number a numeric cursor (an id) holds; anything else is refused, naming `after`.
pub fn id_cursor(after: Option<&str>) -> crate::Result<Option<i64>> {
    after
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                crate::Error::validation(format!("'{a}' is not a cursor of this list: pass a page's `next`"))
                    .with_field("after")
            })
        })
        .transpose()
}

/// The two parts of a two-part cursor (`<first> <second>`, e.g. a time and an id); anything
/// else is refused, naming `after`.
pub fn pair_cursor(after: Option<&str>) -> crate::Result<Option<(String, String)>> {
    after
        .map(|a| {
            a.split_once(' ').map(|(x, y)| (x.to_string(), y.to_string())).ok_or_else(|| {
                crate::Error::validation(format!("'{a}' is not a cursor of this list: pass a page's `next`"))
                    .with_field("after")
            })
        })
        .transpose()
}

/// A distribution alias: an address that expands to other addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Alias {
    /// The alias address.
    pub address: String,
    /// Where mail goes: accounts, groups, other aliases or external addresses.
    pub targets: Vec<String>,
    /// What the alias is for.
    pub description: String,
}

/// Who may send to a mail group: exactly one of four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SendPermission {
    /// Only accounts of the group's own domain (the default).
    SameDomain,
    /// Only members of the group.
    MembersOnly,
    /// Anyone, inside or outside.
    Anyone,
    /// Only the senders on the group's whitelist.
    Whitelist,
}

impl SendPermission {
    /// The name stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SendPermission::SameDomain => "same_domain",
            SendPermission::MembersOnly => "members_only",
            SendPermission::Anyone => "anyone",
            SendPermission::Whitelist => "whitelist",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "same_domain" => SendPermission::SameDomain,
            "members_only" => SendPermission::MembersOnly,
            "anyone" => SendPermission::Anyone,
            "whitelist" => SendPermission::Whitelist,
            _ => return None,
        })
    }
}

/// A mail group: one address delivering to all members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MailGroup {
    /// The group address.
    pub address: String,
    /// Human name of the group.
    pub name: String,
    /// Who may send to it.
    pub send_permission: SendPermission,
    /// Member addresses.
    pub members: Vec<String>,
    /// Member departments (paths): their accounts and those of the departments below them,
    /// whoever is in them when a message arrives.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Senders allowed when `send_permission` is `whitelist`.
    pub allowed_senders: Vec<String>,
}

/// What an address of ours is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// An account's own address.
    Account,
    /// An extra address of an account.
    AccountAlias,
    /// A distribution alias.
    Alias,
    /// A mail group.
    Group,
    /// Not an address of ours, but a pickup rule of the domain routes it (never stored).
    PickupRule,
    /// Not an address of ours, collected by the domain's catch-all mailbox (never stored).
    CatchAll,
    /// The SRS return address of mail we forwarded to another domain: it leads back to the
    /// original sender (never stored; see the engine's `forwarding.rs`).
    SrsReturn,
}

impl AddressKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Account => "account",
            AddressKind::AccountAlias => "account_alias",
            AddressKind::Alias => "alias",
            AddressKind::Group => "group",
            AddressKind::PickupRule => "pickup_rule",
            AddressKind::CatchAll => "catch_all",
            AddressKind::SrsReturn => "srs_return",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "account" => AddressKind::Account,
            "account_alias" => AddressKind::AccountAlias,
            "alias" => AddressKind::Alias,
            "group" => AddressKind::Group,
            _ => return None,
        })
    }
    /// How a person would say it in an error message.
    pub fn describe(self) -> &'static str {
        match self {
            AddressKind::Account => "an account",
            AddressKind::AccountAlias => "an account alias",
            AddressKind::Alias => "an alias",
            AddressKind::Group => "a mail group",
            AddressKind::PickupRule => "a pickup rule",
            AddressKind::CatchAll => "the catch-all mailbox",
            AddressKind::SrsReturn => "the return address of a forwarded message",
        }
    }
}

/// Where mail to an address ends up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Resolution {
    /// The address asked about, canonical.
    pub address: String,
    /// What it is.
    pub kind: AddressKind,
    /// Local accounts that receive a copy, sorted, without duplicates.
    pub mailboxes: Vec<String>,
    /// External addresses that receive a copy.
    pub external: Vec<String>,
    /// The pickup rule pattern that matched (`kind` = `pickup_rule`).
    pub rule: Option<String>,
}

/// An admin's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The backend owner: every page, every domain, manages admins and tokens.
    Owner,
    /// A sub-admin: may change things on its pages in its domains.
    Admin,
    /// Helpdesk: may read its pages in its domains, change nothing.
    Helpdesk,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Helpdesk => "helpdesk",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "helpdesk" => Role::Helpdesk,
            _ => return None,
        })
    }
}

/// The pages (features) a sub-admin can be given. Admins and tokens are owner-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    /// Domains, plan limits, domain groups.
    Domains,
    /// The department tree.
    Departments,
    /// Accounts (mailboxes) and their aliases.
    Accounts,
    /// Distribution aliases.
    Aliases,
    /// Mail groups.
    Groups,
    /// The audit log.
    Audit,
    /// DNS wizard: checks and DKIM keys.
    Dns,
    /// Batch settings: settings per level, batch password resets, undo.
    BatchSettings,
    /// The company address book.
    AddressBook,
    /// The policy explainer ("what would happen to this message?").
    Policy,
    /// The SMTP service: server-wide settings, black/white lists, live counters. Server-wide,
    /// so only for admins of all domains.
    Smtp,
}

impl Page {
    /// Every page, in menu order.
    pub const ALL: [Page; 11] = [
        Page::Domains,
        Page::Departments,
        Page::Accounts,
        Page::Aliases,
        Page::Groups,
        Page::Audit,
        Page::Dns,
        Page::BatchSettings,
        Page::AddressBook,
        Page::Policy,
        Page::Smtp,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Page::Domains => "domains",
            Page::Departments => "departments",
            Page::Accounts => "accounts",
            Page::Aliases => "aliases",
            Page::Groups => "groups",
            Page::Audit => "audit",
            Page::Dns => "dns",
            Page::BatchSettings => "batch_settings",
            Page::AddressBook => "address_book",
            Page::Policy => "policy",
            Page::Smtp => "smtp",
        }
    }
}

/// An admin user of the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Admin {
    /// Login name, the identifier.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Pages a non-owner may use (owners: all).
    pub pages: Vec<Page>,
    /// Domains a non-owner may act on; `None` means all domains.
    pub domains: Option<Vec<String>>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Whether it has a password to sign in to the web UI with (the hash is never shown).
    #[serde(default)]
    pub password_set: bool,
    /// Whether it has a TOTP second factor.
    #[serde(default)]
    pub two_factor: bool,
}

/// The identity an operation runs as, with what it may touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Caller {
    /// Admin name (the local desktop/CLI owner is `local`).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Pages the caller may use.
    pub pages: Vec<Page>,
    /// Domains the caller may act on; `None` means all.
    pub domains: Option<Vec<String>>,
}

/// An API token's public record (the secret is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ApiToken {
    /// Public identifier, also the token's prefix.
    pub id: String,
    /// The admin the token acts as.
    pub admin: String,
    /// What the token is for.
    pub label: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last successful use, RFC 3339 UTC.
    pub last_used_at: Option<String>,
    /// When the token stops working, RFC 3339 UTC; `null` = never.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct NewToken {
    /// The public record.
    pub token: ApiToken,
    /// The bearer secret; store it now, it cannot be shown again.
    pub secret: String,
}

/// The owner's rules for people signing in to the web UI (API tokens are not concerned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SignInPolicy {
    /// Every admin must give a TOTP code (or a recovery code) after the password.
    pub require_two_factor: bool,
    /// A session unused this long ends (minutes, 1–1440).
    pub idle_minutes: u32,
    /// A session ends this long after sign-in whatever its use (minutes, 5–43200).
    pub absolute_minutes: u32,
}

/// The caller's own web UI sign-in: what it has set up, and the policy it signs in under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OwnSignIn {
    /// The caller's admin name.
    pub name: String,
    /// Whether it has a password (the local owner of the desktop app and CLI never has).
    pub password_set: bool,
    /// Whether it has a second factor in force.
    pub two_factor: bool,
    /// The policy.
    pub policy: SignInPolicy,
}

/// A TOTP second factor being set up: what to enter into an authenticator app. It takes
/// effect once a code from it is confirmed (`confirm_two_factor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TwoFactorSetup {
    /// The shared secret, base32 (RFC 4648, no padding).
    pub secret: String,
    /// The same as an `otpauth://totp/…` URI (SHA-1, 6 digits, 30 s; RFC 6238).
    pub uri: String,
    /// The URI as a QR code for the authenticator app's camera: an SVG document.
    pub qr_svg: String,
}

/// One-time recovery codes, shown once; each signs in once instead of a TOTP code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RecoveryCodes {
    /// The codes (only their hashes are stored).
    pub codes: Vec<String>,
}

/// Where a sign-in to the web UI stands (the answer of `/api/session/…`, not an operation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignInAnswer {
    /// The password was right; a TOTP or recovery code must follow with this ticket
    /// (valid 5 minutes, 5 tries).
    SecondFactor {
        /// Names the waiting sign-in; send it with the code.
        ticket: String,
    },
    /// Signed in: the session is in an HttpOnly cookie; every API call made with it must carry
    /// `csrf_token` in the `X-Postdesk-CSRF` header.
    SignedIn {
        /// Who is signed in.
        caller: Caller,
        /// The session's anti-CSRF token.
        csrf_token: String,
        /// The session ends after this many minutes unused.
        idle_minutes: u32,
        /// The session ends at this time whatever its use, RFC 3339 UTC.
        expires_at: String,
    },
}

/// A mailbox user's session in the self-service portal (the answer of `/api/portal/session`,
/// not an operation). The session itself is an HttpOnly cookie of its own, apart from the
/// admins' sessions and the API tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PortalSession {
    /// The account signed in (an account alias signs in as its account).
    pub address: String,
    /// The session's anti-CSRF token: every portal call must carry it in `X-Postdesk-CSRF`.
    pub csrf_token: String,
    /// The admin asked for a new password at first logon: nothing else works until it is set.
    pub must_change_password: bool,
    /// The account's settings require security questions and none are set: nothing but the
    /// password change (which comes first) and setting them works until they are.
    pub must_set_security_questions: bool,
    /// The session ends after this many minutes unused.
    pub idle_minutes: u32,
    /// The session ends at this time whatever its use, RFC 3339 UTC.
    pub expires_at: String,
    /// The administrator requires a bound mobile phone and none is bound: nothing but the
    /// phone's section works until one is.
    #[serde(default)]
    pub must_bind_phone: bool,
}

/// A portal user's own security questions (the answers are never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PortalSecurityQuestions {
    /// The account's settings require them (`require_security_questions`).
    pub required: bool,
    /// The questions set, in order; empty when none are.
    pub questions: Vec<String>,
}

/// The questions to answer to recover a forgotten password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RecoveryQuestions {
    /// The address asked about, as counted (trimmed, lower case).
    pub address: String,
    /// Three questions, in order.
    pub questions: Vec<String>,
}

/// What the portal shows a user of their own mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PortalAccount {
    /// The account's address, also the login name of the mail clients.
    pub address: String,
    /// The name shown.
    pub display_name: String,
    /// Quota in MiB (0: none).
    pub quota_mb: u32,
    /// Bytes stored.
    #[ts(type = "number")]
    pub used_bytes: u64,
    /// Messages stored.
    pub messages: u32,
    /// The services the running mail server offers, with their real ports (none when no
    /// mail server runs); a service switched off for the account says so.
    pub client: Vec<ClientEndpoint>,
    /// What to know about the client settings, in plain words.
    pub client_note: Option<String>,
    /// The shared mailboxes the user owns (itself or through a workflow group), by address,
    /// with its default and their templates.
    #[serde(default)]
    pub shared_mailboxes: Vec<crate::shared::OwnedSharedMailbox>,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: u32,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who (admin name).
    pub actor: String,
    /// The operation, e.g. `create_account`.
    pub action: String,
    /// The domain concerned, if any.
    pub domain: Option<String>,
    /// What was changed (address, path, name).
    pub target: String,
    /// State before the change (`null` when created).
    #[ts(type = "unknown")]
    pub before: Option<serde_json::Value>,
    /// State after the change (`null` when removed).
    #[ts(type = "unknown")]
    pub after: Option<serde_json::Value>,
}

/// One row of the login log: a mailbox login attempt (SMTP, IMAP, POP3), accepted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LoginRecord {
    /// Sequence number; newer rows have larger ones (page with `before`).
    #[ts(type = "number")]
    pub id: u64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// `smtp`, `imap`, `pop3`, `portal` (the user portal) or `admin` (an admin's sign-in to
    /// the web UI; no account and no domain).
    pub service: String,
    /// The name the client gave (control characters removed, cut at 320 bytes).
    pub login: String,
    /// The account it named (an alias login names its account); `null` when it named none.
    pub account: Option<String>,
    /// The account's domain, or for an unknown address the domain it gave when that domain
    /// is one of ours; `null` otherwise (visible only to callers of all domains).
    pub domain: Option<String>,
    /// The client's IP address.
    pub client: String,
    /// `accepted` or `refused`.
    pub outcome: String,
    /// Why, as a code: `accepted`, `accepted_password_change_pending`, `wrong_password`,
    /// `wrong_password_now_locked`, `unknown_address`, `no_password_set`,
    /// `wrong_credentials`, `locked`, `disabled`, `service_disabled`,
    /// `password_change_required`; admin sign-ins: `accepted`, `accepted_totp`,
    /// `accepted_recovery_code`, `unknown_name`, `wrong_second_factor`,
    /// `second_factor_not_set_up`, `too_many_failures_for_name`, `too_many_failures_from_client`.
    pub reason: String,
    /// The reason in plain words, for the helpdesk.
    pub explanation: String,
}

/// One page of the login log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LoginLog {
    /// The rows of this page.
    pub items: Vec<LoginRecord>,
    /// Pass as `before` for the next (older) page; `null` when this page is the last.
    #[ts(type = "number | null")]
    pub next_before: Option<u64>,
}

/// A login-log reason code in plain words; `service` names the switched-off service.
pub fn login_reason_text(service: &str, reason: &str) -> String {
    let admin = service == "admin";
    let service = match service {
        "smtp" => "SMTP (sending)",
        "imap" => "IMAP",
        "pop3" => "POP3",
        "portal" => "the user portal",
        "admin" => "admin sign-in",
        other => other,
    };
    match reason {
        // Admin sign-ins to the web UI.
        "accepted_totp" => "signed in with the password and a code of the authenticator app".into(),
        "accepted_recovery_code" => "signed in with the password and a recovery code (each works once)".into(),
        "unknown_name" => "no such admin (told only \"wrong name or password\")".into(),
        "no_password_set" if admin => "this admin has no password yet (told only \"wrong name or password\")".into(),
        "wrong_second_factor" => "right password, but a wrong or already used code of the second factor".into(),
        "second_factor_not_set_up" => {
            "right password, but the owner requires a second factor and this admin has none yet".into()
        }
        "too_many_failures_for_name" => {
            "refused unchecked: too many failed sign-ins for this name in the last 15 minutes".into()
        }
        "too_many_failures_from_client" => {
            "refused unchecked: too many failed sign-ins from this client address in the last 15 minutes".into()
        }
        "accepted" => "logged in".into(),
        "accepted_password_change_pending" => "logged in (sending only); must still change the password".into(),
        "wrong_password" => "wrong password".into(),
        "wrong_password_now_locked" => "wrong password; now locked after too many failed logins".into(),
        "wrong_password_client_locked_out" => {
            "wrong password; this client address is now kept out of the account for 15 minutes (told only \
             \"authentication failed\")"
                .into()
        }
        "client_locked_out" => {
            "refused unchecked: this client address had too many failed logins on the account in the last \
             15 minutes (told only \"authentication failed\")"
                .into()
        }
        "locked_wrong_password" => "wrong password for a locked account (told only \"authentication failed\")".into(),
        "disabled_wrong_password" => {
            "wrong password for a disabled or deleted account (told only \"authentication failed\")".into()
        }
        "unknown_address" => "no such account (check the address for typos)".into(),
        "no_password_set" => "no password set for this account yet".into(),
        "wrong_credentials" => "the login name is not an email address".into(),
        "locked" => "right password, but the account is locked (a password reset unlocks it)".into(),
        "disabled" => "right password, but the account is disabled or deleted".into(),
        "service_disabled" => format!("{service} switched off for this account"),
        "password_change_required" => "must change the password first".into(),
        "no_mail_service" => {
            "right password, but IMAP, POP3 and SMTP are all switched off for this account (the portal has nothing \
             to offer)"
                .into()
        }
        other => other.replace('_', " "),
    }
}

/// A DKIM signing key of the local server: its public half (the private key stays on
/// the server and is never returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DkimKey {
    /// The signing domain.
    pub domain: String,
    /// The selector (`<selector>._domainkey.<domain>`).
    pub selector: String,
    /// Key algorithm.
    pub algorithm: postdesk_dns::DkimAlgorithm,
    /// Where to publish the public key.
    pub record_name: String,
    /// The TXT value to publish.
    pub record_value: String,
    /// Whether new mail is signed with it (one active key per domain).
    pub active: bool,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// One DNS record the wizard asks the admin to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DnsRecord {
    /// Which check it satisfies: `mx`, `spf`, `dkim`, `dmarc` or `cname`.
    pub check: String,
    /// Owner name, fully qualified.
    pub name: String,
    /// Record type: MX, TXT or CNAME.
    pub record_type: String,
    /// Record data as it goes into the zone.
    pub value: String,
}

/// The records to publish for a domain, and what the DNS says now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DnsPlan {
    /// What to publish.
    pub records: Vec<DnsRecord>,
    /// The live check against those expectations.
    pub report: postdesk_dns::DomainReport,
}

/// A domain's mailbox settings: lockout, recycle bin, client host, catch-all and pickup rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MailboxSettings {
    /// The domain.
    pub domain: String,
    /// Failed logins in a row that lock an account (a password reset unlocks it).
    pub lockout_threshold: u32,
    /// Days a deleted account stays in the recycle bin before it is purged with its mail.
    pub retention_days: u32,
    /// Host name mail clients connect to (IMAP, POP3, SMTP).
    pub mail_host: String,
    /// Catch-all collection: mail to any unknown local part goes to `catch_all_target`.
    pub catch_all: bool,
    /// The mailbox that collects (an account address).
    pub catch_all_target: Option<String>,
    /// Pickup rules, first match wins; consulted before catch-all collection.
    pub pickup_rules: Vec<PickupRule>,
}

/// Routes the local parts a pattern matches to a mailbox (`tiktok_{number}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PickupRule {
    /// Local-part pattern: `{number}` matches one or more digits, `*` any characters
    /// (also none); everything else literally, case-insensitively.
    pub pattern: String,
    /// The account that receives the mail.
    pub target: String,
}

/// How a client connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (implicit TLS, RFC 8314).
    Tls,
    /// Plain connection upgraded with STARTTLS.
    StartTls,
}

/// One service a mail client connects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ClientEndpoint {
    /// `imap`, `pop3` or `smtp`.
    pub protocol: String,
    /// Host name.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// Whether the account may use it (its effective `imap`, `pop3` or `smtp` setting);
    /// always true where no account is known (autoconfiguration).
    pub allowed: bool,
    /// Why it cannot be used, in plain words, when it cannot.
    pub note: Option<String>,
}

/// The client settings of an address of one of our domains, for the unauthenticated
/// autoconfiguration endpoints (Thunderbird autoconfig, Autodiscover, Apple profiles).
/// Says nothing about whether the account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ClientSetup {
    /// The address asked about (validated, lower-case domain); also the login name.
    pub address: String,
    /// Its domain (ASCII).
    pub domain: String,
    /// The domain as people write it.
    pub domain_display: String,
    /// The services that run, implicit TLS first; empty when the mail server is not running.
    pub endpoints: Vec<ClientEndpoint>,
}

/// A folder of a mailbox with what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct FolderSummary {
    /// Folder name (IMAP mailbox name, `/` between levels).
    pub name: String,
    /// Messages in it.
    pub messages: u32,
    /// Messages without the `\Seen` flag.
    pub unseen: u32,
    /// Total size in bytes.
    #[ts(type = "number")]
    pub size_bytes: u64,
}

/// "Enter mailbox": what an admin needs to open an account's mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MailboxView {
    /// The account address, also the login name.
    pub address: String,
    /// Account state.
    pub status: AccountStatus,
    /// Whether a client could log in now (password set, active).
    pub can_log_in: bool,
    /// Why not, or what the user will be asked, in plain words.
    pub login_note: Option<String>,
    /// Failed logins in a row so far.
    pub failed_logins: u32,
    /// Failures that lock the account (the domain's setting).
    pub lockout_threshold: u32,
    /// Quota in MiB.
    pub quota_mb: u32,
    /// Bytes stored.
    #[ts(type = "number")]
    pub used_bytes: u64,
    /// Messages stored.
    pub messages: u32,
    /// Folders, INBOX first.
    pub folders: Vec<FolderSummary>,
    /// Exact client settings: the services the running mail server offers, with their
    /// real ports; empty when no mail server runs.
    pub client: Vec<ClientEndpoint>,
    /// Whether a mail server runs in this backend's process.
    pub mail_server_running: bool,
    /// What to know about the client settings, in plain words (the mail server not
    /// running, a service switched off for the account).
    pub client_note: Option<String>,
}

/// One message as a folder listing shows it (headers only, never the body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MessageSummary {
    /// UID within the folder.
    pub uid: u32,
    /// `From` header.
    pub from: String,
    /// `Subject` header.
    pub subject: String,
    /// `Date` header, RFC 3339, when present and valid.
    pub date: Option<String>,
    /// Size in bytes.
    pub size: u32,
    /// When it arrived, RFC 3339 UTC.
    pub received_at: String,
    /// IMAP flags.
    pub flags: Vec<String>,
}

/// What a clean removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct CleanedMailbox {
    /// Messages deleted.
    pub messages: u32,
    /// Bytes freed.
    #[ts(type = "number")]
    pub size_bytes: u64,
}

/// What a transfer out of the recycle bin moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TransferredMail {
    /// The deleted account the mail came from.
    pub from: String,
    /// The mailbox it went to.
    pub to: String,
    /// The folder in `to` that holds it (source folders below it).
    pub folder: String,
    /// Messages moved.
    pub messages: u32,
    /// Bytes moved.
    #[ts(type = "number")]
    pub size_bytes: u64,
}

/// An account in the recycle bin (or restored from it, which stays listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RecycledAccount {
    /// The account address (still reserved).
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// When it was deleted, RFC 3339 UTC.
    pub deleted_at: String,
    /// Who deleted it.
    pub deleted_by: String,
    /// When it will be purged with its mail (deleted accounts), RFC 3339 UTC.
    pub purge_after: String,
    /// Messages kept with it.
    pub messages: u32,
    /// Their size in bytes.
    #[ts(type = "number")]
    pub size_bytes: u64,
    /// Whether it can still be restored (in the bin, never restored from this deletion).
    pub restorable: bool,
    /// When it was restored, if it was.
    pub restored_at: Option<String>,
    /// Who restored it.
    pub restored_by: Option<String>,
    /// Where its mail was transferred, if it was.
    pub transferred_to: Option<String>,
    /// When its mail was transferred.
    pub transferred_at: Option<String>,
}

/// A file made by the backend (XLSX), base64-encoded for the JSON API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ExportedFile {
    /// Suggested file name.
    pub file_name: String,
    /// The file's bytes, standard base64.
    pub content_base64: String,
    /// Data rows written (without the header).
    pub rows: u32,
}

/// What a synchronous, all-or-nothing XLSX import (aliases, BCC rules) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ImportedRows {
    /// Rows of the file added.
    pub added: u32,
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportPhase {
    /// Hashing the file's passwords (across all cores).
    Hashing,
    /// Writing the accounts, in one transaction.
    Writing,
    /// Every account was created.
    Done,
    /// Refused while writing; nothing was created (see `error`).
    Failed,
}

/// An import of accounts from a file, running on the backend. The file was checked in
/// full when the job started; a job only hashes and writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ImportJob {
    /// Job id, to ask for its progress.
    pub id: String,
    /// The domain imported into.
    pub domain: String,
    /// Name of the imported file.
    pub file_name: String,
    /// Phase.
    pub phase: ImportPhase,
    /// Work done in this phase (passwords hashed, accounts written).
    pub done: u32,
    /// Work in this phase.
    pub total: u32,
    /// Accounts in the file.
    pub accounts: u32,
    /// Departments the import creates (or created), paths.
    pub new_departments: Vec<String>,
    /// Why it failed (`failed`).
    pub error: Option<crate::error::Error>,
}
