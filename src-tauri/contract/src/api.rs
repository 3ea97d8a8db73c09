//! The `Backend` seam: every operation the UI, CLI and HTTP API can perform, declared once.
//!
//! Each operation is a params struct implementing [`Operation`] (its name, HTTP method and
//! path, and output type). The `operations!` table below generates from one list:
//! the [`Backend`] trait (one async method per operation), the [`Operation`] impls, a
//! [`visit_operations`] walker (the server mounts routes with it, the OpenAPI document and
//! the TypeScript bindings are generated with it), and a blanket `Backend` impl for every
//! [`Transport`] (the remote client only implements `call`). Adding an operation to the
//! table is the only way to add one, so the four cannot drift apart.
//!
//! HTTP mapping (used by server and client alike): `{name}` segments of the path are filled
//! from the params field of that name; the remaining fields travel as the query string for
//! GET and DELETE (so their params are flat) and as a JSON body otherwise.

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use ts_rs::TS;

use crate::error::Result;
use crate::model::*;
use crate::monitor::MonitorRule;
use crate::outbound::{OutboundTransport, QueuedMessage};
use crate::policy::PolicyExplanation;
use crate::relay::Relay;
use crate::rules::{BccRule, DisclaimerRule, OutboundUsage};
use crate::settings::{AddressBook, Batch, BatchOutcome, EffectiveSettings, LevelSettings};
use crate::shared::{FetchReport, SharedMailbox, SharedOwner, WorkflowGroup};
use crate::smtp::{SmtpRule, SmtpRulesImported, SmtpSettings, SmtpStatus};
use crate::trace::{TraceSettings, TracedMessage, TracedMessageDetail};

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// Read; params in the query string.
    Get,
    /// Create; params in the body.
    Post,
    /// Replace or act; params in the body.
    Put,
    /// Partial update; params in the body.
    Patch,
    /// Remove; params in the query string.
    Delete,
}

impl HttpMethod {
    /// Whether params travel in the query string (else in a JSON body).
    pub fn params_in_query(self) -> bool {
        matches!(self, HttpMethod::Get | HttpMethod::Delete)
    }
    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// One operation of the admin API: its params are `Self`.
pub trait Operation: Serialize + DeserializeOwned + JsonSchema + TS + Send + Sync + 'static {
    /// `verb_noun` name, also the Tauri command and the OpenAPI operationId.
    const NAME: &'static str;
    /// HTTP method.
    const METHOD: HttpMethod;
    /// HTTP path template with `{field}` segments.
    const PATH: &'static str;
    /// One-line description (the doc comment in the table).
    const SUMMARY: &'static str;
    /// Whether the operation changes state (audited; refused for read-only roles).
    const MUTATES: bool;
    /// What it returns.
    type Output: Serialize + DeserializeOwned + JsonSchema + TS + Send + 'static;
    /// Runs this operation on a backend.
    fn invoke(self, backend: &dyn Backend) -> BoxFuture<'_, Result<Self::Output>>;
}

/// Walks the operation table; see [`visit_operations`].
pub trait OperationVisitor {
    /// Called once per operation, in table order.
    fn visit<O: Operation>(&mut self);
}

/// Something that can carry any operation to a backend and bring its result back
/// (the remote HTTP client). Every `Transport` is a [`Backend`].
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// Sends one operation and waits for its result.
    async fn call<O: Operation>(&self, params: O) -> Result<O::Output>;
}

/// What serves the admin API over a backend: who a bearer token belongs to, and the
/// backend acting as that caller (every operation then checks the caller itself).
#[async_trait::async_trait]
pub trait Authority: Send + Sync {
    /// The caller an API token acts as; `unauthenticated` for an unknown or revoked token.
    async fn authenticate(&self, token: &str) -> Result<Caller>;
    /// A backend acting as `caller`.
    fn backend_for(&self, caller: Caller) -> Box<dyn Backend>;
    /// What answers the unauthenticated autoconfiguration endpoints; `None` (the
    /// default) = they answer 404.
    fn client_setup(&self) -> Option<std::sync::Arc<dyn ClientSetupSource>> {
        None
    }
    /// What signs admins in to the web UI; `None` (the default) = only API tokens.
    fn sessions(&self) -> Option<std::sync::Arc<dyn Sessions>> {
        None
    }
    /// What signs mailbox users in to the self-service portal; `None` (the default) = no portal.
    fn portal(&self) -> Option<std::sync::Arc<dyn Portal>> {
        None
    }
}

/// A mailbox user signed in to the portal: the account and the session. Only [`Portal::session`]
/// makes one; every portal operation acts on this account alone (none takes an address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUser {
    /// The account's address.
    pub address: String,
    /// The session's id (not its secret).
    pub session: String,
}

/// The user self-service portal: mailbox users sign in with their address and password into
/// server-side sessions of their own kind. Kept apart from the admin API: a portal session
/// secret (`pu_…`) lives in `portal_sessions`, travels only in the portal's cookie and is
/// accepted by no admin route; neither an admin session (`ps_…`) nor an API token (`pd_…`) is
/// accepted by a portal route. These are not operations of the admin table: no admin caller
/// can reach them, and they never name another account.
#[async_trait::async_trait]
pub trait Portal: PortalPhones + Send + Sync {
    /// Signs a user in with an address (or an account alias) and password from `client`.
    /// An unknown address and a wrong password get the same answer after the same work.
    async fn sign_in(&self, address: &str, password: &Password, client: Option<std::net::IpAddr>)
    -> Result<PortalStep>;
    /// The user of a live session (idle time-out restarted) and its answer; `unauthenticated`
    /// when it ended, saying why.
    async fn session(&self, secret: &str) -> Result<(PortalUser, PortalSession)>;
    /// Ends one session (nothing when it already ended).
    async fn sign_out(&self, secret: &str) -> Result<()>;
    /// Changes the user's own password (the current one required; the password policy
    /// applies); ends the user's other portal sessions.
    async fn change_own_password(
        &self,
        user: &PortalUser,
        change: ChangeOwnPassword,
        client: Option<std::net::IpAddr>,
    ) -> Result<PortalSession>;
    /// The user's own mailbox: storage use and the client settings of the services that run.
    async fn own_account(&self, user: &PortalUser) -> Result<PortalAccount>;
    /// The user's own auto-reply.
    async fn own_auto_reply(&self, user: &PortalUser) -> Result<crate::autoreply::AutoReply>;
    /// Sets the user's own auto-reply (checked as an admin's; audited as the user's).
    async fn set_own_auto_reply(
        &self,
        user: &PortalUser,
        reply: crate::autoreply::AutoReply,
    ) -> Result<crate::autoreply::AutoReply>;
    /// The user's own forwarding, and whether the administrator allows it.
    async fn own_forwarding(&self, user: &PortalUser) -> Result<crate::forwarding::OwnForwarding>;
    /// Sets (or, with no targets, ends) the user's own forwarding; refused where the
    /// account's `auto_forward` setting does not allow automatic forwarding.
    async fn set_own_forwarding(
        &self,
        user: &PortalUser,
        forwarding: crate::forwarding::SetForwarding,
    ) -> Result<crate::forwarding::OwnForwarding>;
    /// The user's own security questions (never the answers) and whether they are required.
    async fn own_security_questions(&self, user: &PortalUser) -> Result<PortalSecurityQuestions>;
    /// Sets the user's own security questions (the current password required), replacing
    /// those set before.
    async fn set_own_security_questions(
        &self,
        user: &PortalUser,
        set: SetSecurityQuestions,
        client: Option<std::net::IpAddr>,
    ) -> Result<PortalSecurityQuestions>;
    /// The security questions to recover the password of `address` (no session). An unknown
    /// address, or one without questions, gets three questions of the same shape, the same
    /// each time, so the answer does not tell which addresses exist.
    async fn recovery_questions(&self, address: &str, client: Option<std::net::IpAddr>) -> Result<RecoveryQuestions>;
    /// Sets a new password when every answer is right (no session): one answer for any wrong
    /// answer or unknown address, counted with the failed sign-ins and refused past their limit.
    async fn recover_password(&self, recovery: RecoverPassword, client: Option<std::net::IpAddr>) -> Result<()>;
}

/// The portal's phone operations, on the signed-in user's own account only. Apart from the
/// admin table, as [`Portal`] (of which it is a part).
#[async_trait::async_trait]
pub trait PortalPhones: Send + Sync {
    /// The user's phone: masked number, whether required, whether removable.
    async fn own_phone(&self, user: &PortalUser) -> Result<crate::phone::PortalPhone>;
    /// Sends a code to `phone` through the SMS gateway (replacing a pending one).
    async fn send_phone_code(
        &self,
        user: &PortalUser,
        request: crate::phone::SendPhoneCode,
    ) -> Result<crate::phone::PortalPhone>;
    /// Binds the number the pending code went to, when `code` is right.
    async fn confirm_phone(
        &self,
        user: &PortalUser,
        request: crate::phone::ConfirmPhone,
    ) -> Result<crate::phone::PortalPhone>;
    /// Removes the bound phone, where the user may.
    async fn unbind_phone(&self, user: &PortalUser) -> Result<crate::phone::PortalPhone>;
}

/// A portal sign-in: the answer for the browser and the session secret for the cookie.
#[derive(Clone)]
pub struct PortalStep {
    /// The JSON answer.
    pub answer: PortalSession,
    /// The session's secret, which travels only in the cookie.
    pub session_secret: String,
}

impl std::fmt::Debug for PortalStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalStep").field("answer", &self.answer).finish_non_exhaustive()
    }
}

/// Admin sign-in to the web UI with a password and a second factor, into server-side
/// sessions. Kept apart from the API tokens: a session secret (`ps_…`) is accepted only from
/// its cookie and only with the session's anti-CSRF token; a token (`pd_…`) only from the
/// `Authorization` header; each in its own table, and neither turns into the other.
#[async_trait::async_trait]
pub trait Sessions: Send + Sync {
    /// First step: a name and password from `client` (its address, for the rate limits and
    /// the audit). Wrong name and wrong password get the same answer after the same work.
    async fn sign_in(&self, name: &str, password: &Password, client: Option<std::net::IpAddr>) -> Result<SignInStep>;
    /// Second step: the ticket of the first and a TOTP code or a recovery code.
    async fn second_factor(&self, ticket: &str, code: &str, client: Option<std::net::IpAddr>) -> Result<SignInStep>;
    /// The caller of a live session (idle time-out restarted), as a `SignedIn` answer;
    /// `unauthenticated` when it ended, saying why.
    async fn session(&self, secret: &str) -> Result<(Caller, SignInAnswer)>;
    /// Ends one session (nothing when it already ended).
    async fn sign_out(&self, secret: &str) -> Result<()>;
}

/// What a sign-in step produced: the answer for the browser, and when signed in the session
/// secret, which travels only in the cookie.
#[derive(Clone)]
pub struct SignInStep {
    /// The JSON answer.
    pub answer: SignInAnswer,
    /// The session's secret when `answer` is `SignedIn`.
    pub session_secret: Option<String>,
}

impl std::fmt::Debug for SignInStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInStep").field("answer", &self.answer).finish_non_exhaustive()
    }
}

/// The client settings of an address, for the unauthenticated autoconfiguration
/// endpoints. No caller: it reveals only what a mail client needs and what DNS shows
/// anyway (whether a domain is ours, the host and ports), never whether an account exists.
#[async_trait::async_trait]
pub trait ClientSetupSource: Send + Sync {
    /// `Ok(None)` when the address's domain is not ours; a validation error when `address`
    /// is not an address.
    async fn client_setup(&self, address: &str) -> Result<Option<crate::model::ClientSetup>>;
}

/// A password in transit. Its `Debug` never shows it; it is only ever hashed.
// `Default` (empty) is refused by every password rule, so a defaulted params struct sets
// none. (A plain comment: doc comments here would reach the TypeScript bindings.)
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(type = "string")]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A user's change of their own password in the portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ChangeOwnPassword {
    /// The password in force now.
    pub current_password: Password,
    /// The new one (the password policy applies).
    pub new_password: Password,
}

/// One security question of the user's own, with its answer (kept only as an Argon2id hash
/// of the answer in lower case without its spaces; never shown again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SecurityAnswer {
    /// The question, in the user's words (3 to 200 characters).
    pub question: String,
    /// Its answer (2 to 100 characters; case and spaces do not matter).
    pub answer: Password,
}

/// A user's own security questions in the portal: exactly three, the current password
/// required. They replace those set before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetSecurityQuestions {
    /// The password in force now.
    pub current_password: Password,
    /// Three distinct questions with their answers.
    pub questions: Vec<SecurityAnswer>,
}

/// A forgotten password recovered in the portal with the answers to the account's security
/// questions (no session).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct RecoverPassword {
    /// The account's address.
    pub address: String,
    /// The answers, in the order of the questions.
    pub answers: Vec<Password>,
    /// The new password (the password policy applies).
    pub new_password: Password,
}

/// Declares an operation's params struct. Every params struct derives `Default` (so a
/// caller names only the fields it means: `CreateAccount { address, ..Default::default() }`),
/// except those marked `no_default;`: a required field with no neutral value (an admin's
/// role, an SMTP rule's kind and action) must be chosen by the caller, never filled in.
/// `Default` is a Rust-side convenience only: it changes neither serde nor the bindings.
macro_rules! params {
    (@struct [$($default:ident)?] $(#[doc = $doc:literal])* $name:ident { $($(#[$fattr:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, $($default,)? PartialEq, Serialize, Deserialize, JsonSchema, TS)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fattr])* pub $field: $ty),* }
    };
    (no_default; $($params:tt)*) => { params!(@struct [] $($params)*); };
    ($($params:tt)*) => { params!(@struct [Default] $($params)*); };
}

// Batch settings, address book and policy params live in their own file.
mod batch;
pub use batch::*;
// SMTP service admin params.
mod smtp;
pub use smtp::*;
// The login log.
mod logins;
pub use logins::*;
// The outbound queue and the transport table.
mod outbound;
pub use outbound::*;
// The smarthost relay.
mod relay;
pub use relay::*;
// The message trace.
mod trace;
pub use trace::*;
// Mail rules on the path (automatic BCC, disclaimers, monitoring).
mod rules;
pub use rules::*;
// Shared mailboxes fetched from external servers.
mod shared;
pub use shared::*;
// Bulk account actions.
mod bulk;
pub use bulk::*;

mod phone;
pub use phone::*;
mod forwarding;
pub use forwarding::*;

params!(/// Who am I, and what may I do?
WhoAmI {});
params!(/// Lists the domains the caller may see, by name, one page at a time.
ListDomains {
    /// Only items after this name (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// One domain with its limits and usage.
GetDomain { /// Domain name.
domain: String });
params!(/// Creates a domain (caller must cover all domains).
CreateDomain {
    /// Domain name (Unicode or ASCII).
    domain: String,
    /// Plan limits; the standard edition when omitted.
    #[serde(default)] #[ts(optional)] limits: Option<PlanLimits>,
    /// Make it a subsidiary of this domain group; `limits.max_accounts` is then its allocation.
    #[serde(default)] #[ts(optional)] group: Option<String>,
});
params!(/// Replaces a domain's plan limits (caller must cover all domains).
UpdateDomainLimits { /// Domain name.
domain: String, /// New limits.
limits: PlanLimits });
params!(/// Sets a subsidiary's account allocation within its group's allowance.
AllocateAccounts { /// Subsidiary domain.
domain: String, /// New allocation.
max_accounts: u32 });
params!(/// Removes an empty domain (no accounts, aliases or groups).
RemoveDomain { /// Domain name.
domain: String });
params!(/// Lists domain groups, by name, one page at a time.
ListDomainGroups {
    /// Only items after this name (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Creates a domain group with a total account allowance.
CreateDomainGroup { /// Group name.
name: String, /// Accounts the group may allocate in total.
max_accounts: u32 });

params!(/// The department tree of a domain, as a flat list in path order (case-insensitive), one
/// page at a time.
ListDepartments {
    /// Domain name.
    domain: String,
    /// Only departments after this path (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Creates a department.
CreateDepartment {
    /// Domain name.
    domain: String,
    /// Full path, e.g. `Sales/East`.
    path: String,
    /// Also create missing parent departments.
    #[serde(default)] #[ts(optional)] parents: Option<bool>,
});
params!(/// Moves a department (with its sub-departments and accounts) under another parent.
MoveDepartment {
    /// Domain name.
    domain: String,
    /// Department to move.
    path: String,
    /// New parent path; `null` moves it to the top level.
    #[serde(default)] new_parent: Option<String>,
});
params!(/// Renames a department (its last path segment).
RenameDepartment { /// Domain name.
domain: String, /// Department to rename.
path: String, /// New name.
name: String });
params!(/// Removes an empty department (no accounts, no sub-departments).
RemoveDepartment { /// Domain name.
domain: String, /// Department path.
path: String });

/// Sort order of account listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountSort {
    /// By address.
    #[default]
    Address,
    /// By display name.
    DisplayName,
    /// By department path.
    Department,
    /// By status.
    Status,
    /// By creation time.
    CreatedAt,
}

params!(/// One page of a domain's accounts, filtered and sorted on the server.
ListAccounts {
    /// Domain name.
    domain: String,
    /// Case-insensitive substring of address or display name.
    #[serde(default)] #[ts(optional)] query: Option<String>,
    /// Only this department (and, unless `subdepartments` is false, its sub-departments).
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// Include sub-departments of `department` (default true).
    #[serde(default)] #[ts(optional)] subdepartments: Option<bool>,
    /// Only this status; deleted accounts are listed only when asked for.
    #[serde(default)] #[ts(optional)] status: Option<AccountStatus>,
    /// Sort key.
    #[serde(default)] #[ts(optional)] sort: Option<AccountSort>,
    /// Sort descending.
    #[serde(default)] #[ts(optional)] descending: Option<bool>,
    /// Items to skip.
    #[serde(default)] #[ts(optional)] offset: Option<u32>,
    /// Page size, 1–1000 (default 50).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
    /// Count every match however many (a confirmation naming the number). Otherwise a
    /// filtered count stops 10,000 past `offset` and says so (`total_capped`).
    #[serde(default)] #[ts(optional)] exact_total: Option<bool>,
});
params!(/// One account.
GetAccount { /// Account address.
address: String });
params!(/// Creates an account; the password is optional.
CreateAccount {
    /// Address in one of the backend's domains.
    address: String,
    /// Display name.
    #[serde(default)] #[ts(optional)] display_name: Option<String>,
    /// Department path (must exist).
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// Notes.
    #[serde(default)] #[ts(optional)] notes: Option<String>,
    /// Initial password (stored only as an Argon2id hash).
    #[serde(default)] #[ts(optional)] password: Option<Password>,
    /// Require a password change at first logon.
    #[serde(default)] #[ts(optional)] force_password_change: Option<bool>,
    /// Mailbox quota in MiB; the plan's mailbox size when omitted.
    #[serde(default)] #[ts(optional)] quota_mb: Option<u32>,
});
params!(/// Creates many accounts in one domain at once: all or nothing, one transaction.
CreateAccounts {
    /// Domain every account belongs to.
    domain: String,
    /// The accounts (at most 10,000 per call).
    accounts: Vec<CreateAccount>,
});

/// What a batch created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct CreatedAccounts {
    /// How many accounts were created.
    pub created: u32,
}

params!(/// Changes an account's fields; omitted fields stay as they are.
UpdateAccount {
    /// Account address.
    address: String,
    /// New display name.
    #[serde(default)] #[ts(optional)] display_name: Option<String>,
    /// New department path; empty string moves it to the top level.
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// New notes.
    #[serde(default)] #[ts(optional)] notes: Option<String>,
    /// New status (`deleted` is not set here: use remove_account).
    #[serde(default)] #[ts(optional)] status: Option<AccountStatus>,
    /// Require a password change at next logon.
    #[serde(default)] #[ts(optional)] force_password_change: Option<bool>,
    /// New quota in MiB.
    #[serde(default)] #[ts(optional)] quota_mb: Option<u32>,
});
params!(/// Sets an account's password (write-only); unlocks a locked account.
SetPassword {
    /// Account address.
    address: String,
    /// The new password.
    password: Password,
    /// Require a change at next logon.
    #[serde(default)] #[ts(optional)] force_password_change: Option<bool>,
});
params!(/// Deletes an account: it moves to the recycle bin, its address stays reserved.
RemoveAccount { /// Account address.
address: String });
params!(/// Adds an extra address to an account.
AddAccountAlias { /// Account address.
address: String, /// The extra address.
alias: String });
params!(/// Removes an extra address from an account.
RemoveAccountAlias { /// Account address.
address: String, /// The extra address.
alias: String });

params!(/// The XLSX import template: the header row and a sheet explaining each column.
AccountsTemplate {});
params!(/// Checks an XLSX file of accounts in full and starts importing it as a job; any problem
/// refuses the whole file, listing every error by row and column, and nothing is written.
StartImport {
    /// Domain every account belongs to.
    domain: String,
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
    /// Require a password change at first logon from accounts given a password (default true).
    #[serde(default)] #[ts(optional)] force_password_change: Option<bool>,
});
params!(/// Progress of an import job.
ImportStatus { /// Job id.
id: String });
params!(/// Every account of a filter as an XLSX file (no passwords; cells are values, never formulas).
ExportAccounts {
    /// Domain name.
    domain: String,
    /// Case-insensitive substring of address or display name.
    #[serde(default)] #[ts(optional)] query: Option<String>,
    /// Only this department (and, unless `subdepartments` is false, its sub-departments).
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// Include sub-departments of `department` (default true).
    #[serde(default)] #[ts(optional)] subdepartments: Option<bool>,
    /// Only this status; deleted accounts are exported only when asked for.
    #[serde(default)] #[ts(optional)] status: Option<AccountStatus>,
    /// Sort key.
    #[serde(default)] #[ts(optional)] sort: Option<AccountSort>,
    /// Sort descending.
    #[serde(default)] #[ts(optional)] descending: Option<bool>,
});
params!(/// The recycle bin of a domain: deleted accounts, and restored ones until they age out.
ListRecycleBin {
    /// Domain name.
    domain: String,
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Restores a deleted account from the recycle bin (once per deletion).
RestoreAccount { /// Account address.
address: String });
params!(/// Moves all mail of a deleted account into another mailbox.
TransferMail { /// The deleted account.
address: String, /// The mailbox that receives the mail.
to: String });
params!(/// Deletes every message of a mailbox at once.
CleanMailbox { /// Account address.
address: String, /// Must be true: the messages cannot be recovered.
confirm: bool });
params!(/// "Enter mailbox": client settings, login state and folders with counts and sizes.
GetMailbox { /// Account address.
address: String });
params!(/// Messages of one folder of a mailbox, newest first (headers only).
ListMessages {
    /// Account address.
    address: String,
    /// Folder name (default INBOX).
    #[serde(default)] #[ts(optional)] folder: Option<String>,
    /// Items to skip.
    #[serde(default)] #[ts(optional)] offset: Option<u32>,
    /// Page size, 1–500 (default 50).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// A domain's mailbox settings, catch-all and pickup rules.
GetMailboxSettings { /// Domain name.
domain: String });
params!(/// Changes a domain's mailbox settings; omitted fields stay as they are.
UpdateMailboxSettings {
    /// Domain name.
    domain: String,
    /// Failed logins that lock an account, 1–100.
    #[serde(default)] #[ts(optional)] lockout_threshold: Option<u32>,
    /// Days deleted accounts stay in the recycle bin, 1–3650.
    #[serde(default)] #[ts(optional)] retention_days: Option<u32>,
    /// Host name for mail clients; empty string for the default `mail.<domain>`.
    #[serde(default)] #[ts(optional)] mail_host: Option<String>,
    /// Catch-all collection on or off (on needs a target).
    #[serde(default)] #[ts(optional)] catch_all: Option<bool>,
    /// The account that collects; empty string clears it.
    #[serde(default)] #[ts(optional)] catch_all_target: Option<String>,
});
params!(/// Replaces a domain's pickup rules (in order; first match wins).
SetPickupRules { /// Domain name.
domain: String, /// The rules, at most 200.
rules: Vec<PickupRule> });

params!(/// Lists a domain's distribution aliases by address, one page at a time.
ListAliases {
    /// Domain name.
    domain: String,
    /// Only aliases after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Only aliases whose address or description holds this text (any case), or with a
    /// target that starts with it.
    #[serde(default)] #[ts(optional)] query: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// One alias.
GetAlias { /// Alias address.
address: String });
params!(/// Creates an alias; loops through aliases and groups are refused.
CreateAlias {
    /// Alias address.
    address: String,
    /// Target addresses.
    targets: Vec<String>,
    /// What it is for.
    #[serde(default)] #[ts(optional)] description: Option<String>,
});
params!(/// Changes an alias's targets or description.
UpdateAlias {
    /// Alias address.
    address: String,
    /// New targets (replacing the old ones).
    #[serde(default)] #[ts(optional)] targets: Option<Vec<String>>,
    /// New description.
    #[serde(default)] #[ts(optional)] description: Option<String>,
});
params!(/// Removes an alias.
RemoveAlias { /// Alias address.
address: String });
params!(/// Imports a domain's aliases from an XLSX file (the template's columns). The whole
/// file is checked first; any problem refuses it with every error by row and column, and
/// nothing changes. An address that is already taken (an existing alias included) is a
/// problem of its row, as in the account import.
ImportAliases {
    /// Domain every alias belongs to.
    domain: String,
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
});
params!(/// A domain's aliases as an XLSX file in the import template's columns (cells are values, never formulas).
ExportAliases { /// Domain name.
domain: String });
params!(/// The XLSX template for importing aliases: the header row and a sheet explaining each column.
AliasesTemplate {});
params!(/// Which mailboxes receive mail sent to an address of ours?
ResolveAddress { /// Address to resolve.
address: String });

params!(/// Lists a domain's mail groups by address, one page at a time.
ListGroups {
    /// Domain name.
    domain: String,
    /// Only groups after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Only groups whose address or name holds this text (any case), or with a member that
    /// starts with it.
    #[serde(default)] #[ts(optional)] query: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// One mail group with members.
GetGroup { /// Group address.
address: String });
params!(/// Creates a mail group.
CreateGroup {
    /// Group address.
    address: String,
    /// Group name.
    name: String,
    /// Who may send to it (default: same domain).
    #[serde(default)] #[ts(optional)] send_permission: Option<SendPermission>,
    /// Initial members.
    #[serde(default)] #[ts(optional)] members: Option<Vec<String>>,
    /// Member departments (paths of the group's domain; with the departments below them).
    #[serde(default)] #[ts(optional)] departments: Option<Vec<String>>,
    /// Whitelisted senders (for `whitelist`).
    #[serde(default)] #[ts(optional)] allowed_senders: Option<Vec<String>>,
});
params!(/// Replaces the departments a group takes as members (their accounts and those below).
SetGroupDepartments {
    /// Group address.
    address: String,
    /// Department paths of the group's domain (empty: none).
    departments: Vec<String>,
});
params!(/// Changes a group's name, send permission or whitelist.
UpdateGroup {
    /// Group address.
    address: String,
    /// New name.
    #[serde(default)] #[ts(optional)] name: Option<String>,
    /// New send permission.
    #[serde(default)] #[ts(optional)] send_permission: Option<SendPermission>,
    /// New whitelist (replacing the old one).
    #[serde(default)] #[ts(optional)] allowed_senders: Option<Vec<String>>,
});
params!(/// Adds members to a group.
AddGroupMembers { /// Group address.
address: String, /// Addresses to add.
members: Vec<String> });
params!(/// Removes members from a group.
RemoveGroupMembers { /// Group address.
address: String, /// Addresses to remove.
members: Vec<String> });
params!(/// Removes a mail group.
RemoveGroup { /// Group address.
address: String });

params!(/// Lists admin users (owner only).
ListAdmins {
    /// Only items after this name (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(no_default; /// Creates an admin user (owner only).
CreateAdmin {
    /// Login name.
    name: String,
    /// Role.
    role: Role,
    /// Pages it may use (ignored for owners).
    #[serde(default)] #[ts(optional)] pages: Option<Vec<Page>>,
    /// Domains it may act on; omitted or null means all.
    #[serde(default)] #[ts(optional)] domains: Option<Vec<String>>,
});
params!(no_default; /// Replaces an admin's role, pages and domains (owner only).
UpdateAdmin {
    /// Login name.
    name: String,
    /// Role.
    role: Role,
    /// Pages it may use.
    #[serde(default)] #[ts(optional)] pages: Option<Vec<Page>>,
    /// Domains it may act on; null means all.
    #[serde(default)] #[ts(optional)] domains: Option<Vec<String>>,
});
params!(/// Removes an admin and its tokens (owner only; never the last owner).
RemoveAdmin { /// Login name.
name: String });
params!(/// Lists API tokens: an owner any admin's, every other admin only its own.
ListTokens {
    /// Only this admin's tokens.
    #[serde(default)] #[ts(optional)] admin: Option<String>,
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Creates an API token for an admin; the secret is returned once (owner only).
CreateToken { /// Admin the token acts as.
admin: String, /// What it is for.
#[serde(default)] #[ts(optional)] label: Option<String>, /// Days until it stops working (1–3650); none = never.
#[serde(default)] #[ts(optional)] expires_in_days: Option<u32> });
params!(/// Revokes an API token: an owner any token, every other admin (helpdesk too) its own.
RevokeToken { /// Token id.
id: String });
params!(/// Creates the successor of one of the caller's own tokens (any role, helpdesk too): same
/// admin and label, a new secret shown once. The old token keeps working until it is revoked
/// (`revoke_token`), so a client stores the new secret first and then revokes the old one.
RotateOwnToken {
    /// Id of the caller's token to replace (the part of the secret after `pd_`, before `_`).
    id: String,
    /// Days until the new token stops working (1–3650); default: the old token's lifetime
    /// (never, when the old one never expires).
    #[serde(default)] #[ts(optional)] expires_in_days: Option<u32>,
});

params!(/// Sets an admin's web UI password (Argon2id; the domain-independent policy: 8–256
/// characters, not only letters or only digits). An owner sets anyone's; any other admin
/// (helpdesk too) only its own, giving the current one when it has one. Its other sessions end.
SetAdminPassword {
    /// Login name.
    name: String,
    /// The new password.
    password: Password,
    /// The current password (needed to change one's own, not by an owner for others).
    #[serde(default)] #[ts(optional)] current_password: Option<Password>,
});
params!(/// Starts setting up a TOTP second factor: a new secret, in force once confirmed. An
/// admin for itself; an owner for anyone (to hand over, e.g. from the CLI).
StartTwoFactor { /// Login name.
name: String });
params!(/// Confirms the second factor being set up with a code from it; answers new recovery codes
/// (shown once; earlier ones stop working).
ConfirmTwoFactor {
    /// Login name.
    name: String,
    /// A current 6-digit code from the authenticator.
    code: String,
});
params!(/// Removes an admin's second factor and recovery codes: an owner anyone's, an admin its
/// own unless the owner requires a second factor.
RemoveTwoFactor { /// Login name.
name: String });
params!(/// Ends every web UI session of an admin ("sign out everywhere"): an owner anyone's, an
/// admin its own. API tokens are not touched.
EndSessions { /// Login name.
name: String });
params!(/// The sign-in policy: whether a second factor is required, session time-outs.
GetSignInPolicy {});
params!(/// The caller's own sign-in: password and second factor set up or not, and the policy.
GetOwnSignIn {});
params!(/// Sets the sign-in policy (owner only). Requiring a second factor ends the sessions of
/// admins without one.
SetSignInPolicy {
    /// Every admin must use a second factor in the web UI.
    require_two_factor: bool,
    /// Idle time-out, minutes (1–1440); default: unchanged.
    #[serde(default)] #[ts(optional)] idle_minutes: Option<u32>,
    /// Absolute time-out, minutes (5–43200); default: unchanged.
    #[serde(default)] #[ts(optional)] absolute_minutes: Option<u32>,
});

params!(/// Checks a domain's mail DNS (MX, SPF, DKIM, DMARC, CNAME, MTA-STS, TLS-RPT).
CheckDns {
    /// Domain of this backend.
    domain: String,
    /// DKIM selectors to check; default: the domain's keys on this server, else common ones.
    #[serde(default)] #[ts(optional)] dkim_selectors: Option<Vec<String>>,
    /// Aliases that must exist, as `HOST=TARGET` (`mail=mail.example.net`).
    #[serde(default)] #[ts(optional)] expect_cnames: Option<Vec<String>>,
    /// The host that should receive the domain's mail.
    #[serde(default)] #[ts(optional)] expected_mx: Option<String>,
    /// Our sending server's address, which SPF must authorise.
    #[serde(default)] #[ts(optional)] server_ip: Option<String>,
});
params!(/// The records to publish for a domain served by `mail_host`, checked live.
DnsSetup {
    /// Domain of this backend.
    domain: String,
    /// Host name of the mail server (MX target, login CNAME target).
    mail_host: String,
    /// The server's public address, for SPF.
    #[serde(default)] #[ts(optional)] server_ip: Option<String>,
});
params!(/// Generates a DKIM key for the domain on this server and makes it the active one;
/// the previous key is kept, retired (rotation).
CreateDkimKey {
    /// Domain of this backend.
    domain: String,
    /// Key algorithm (default RSA 2048).
    #[serde(default)] #[ts(optional)] algorithm: Option<postdesk_dns::DkimAlgorithm>,
    /// Selector; default `pd<date>`, made unique.
    #[serde(default)] #[ts(optional)] selector: Option<String>,
});
params!(/// A domain's DKIM keys, active first.
ListDkimKeys {
    /// Domain of this backend.
    domain: String,
    /// Only items after this selector (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Removes a retired DKIM key (the active one is replaced by rotating, not removed).
RemoveDkimKey { /// Domain of this backend.
domain: String, /// Selector of the key.
selector: String });

params!(/// One page of the audit log, newest first.
ListAudit {
    /// Only changes in this domain.
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// Only changes by this admin.
    #[serde(default)] #[ts(optional)] actor: Option<String>,
    /// Only this action (operation name).
    #[serde(default)] #[ts(optional)] action: Option<String>,
    /// Items to skip.
    #[serde(default)] #[ts(optional)] offset: Option<u32>,
    /// Page size, 1–1000 (default 50).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});

macro_rules! operations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident : $method:ident $path:literal $params:ident => $output:ty, mutates = $mutates:literal;
    )*) => {
        /// Everything the UI can do, as one async interface. Implemented in-process by
        /// the engine's `LocalBackend` and remotely by every [`Transport`].
        #[async_trait::async_trait]
        pub trait Backend: Send + Sync {
            $( $(#[doc = $doc])* async fn $name(&self, params: $params) -> Result<$output>; )*
        }

        $(
            impl Operation for $params {
                const NAME: &'static str = stringify!($name);
                const METHOD: HttpMethod = HttpMethod::$method;
                const PATH: &'static str = $path;
                const SUMMARY: &'static str = concat!($($doc),*);
                const MUTATES: bool = $mutates;
                type Output = $output;
                fn invoke(self, backend: &dyn Backend) -> BoxFuture<'_, Result<$output>> {
                    backend.$name(self)
                }
            }
        )*

        /// Calls `visitor.visit::<P>()` for every operation's params type, in table order.
        pub fn visit_operations(visitor: &mut impl OperationVisitor) {
            $( visitor.visit::<$params>(); )*
        }

        #[async_trait::async_trait]
        impl<T: Transport> Backend for T {
            $( async fn $name(&self, params: $params) -> Result<$output> { self.call(params).await } )*
        }

        #[async_trait::async_trait]
        impl<B: Backend> Backend for RoleChecked<B> {
            $( async fn $name(&self, params: $params) -> Result<$output> {
                crate::access::admit(&self.caller, <$params as Operation>::MUTATES, stringify!($name))?;
                crate::access::admit_lists(&params)?;
                self.inner.$name(params).await
            } )*
        }
    };
}

/// A backend acting for one caller, with the rules every backend shares applied before
/// each operation — today: a read-only role (helpdesk) is refused every operation whose
/// [`Operation::MUTATES`] is set, and no list in the parameters may hold more than
/// [`MAX_LIST_ITEMS`](crate::access::MAX_LIST_ITEMS). This is the one place that rule is enforced; the
/// backend inside checks pages and domains.
#[derive(Debug, Clone)]
pub struct RoleChecked<B> {
    caller: Caller,
    inner: B,
}

impl<B> RoleChecked<B> {
    /// `inner` acting for `caller`.
    pub fn new(caller: Caller, inner: B) -> Self {
        RoleChecked { caller, inner }
    }
    /// Who this backend acts for.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

operations! {
    /// Who am I, and what may I do?
    whoami: Get "/api/whoami" WhoAmI => Caller, mutates = false;
    /// Lists the domains the caller may see, a page at a time.
    list_domains: Get "/api/domains" ListDomains => CursorPage<Domain>, mutates = false;
    /// One domain with its limits and usage.
    get_domain: Get "/api/domains/{domain}" GetDomain => Domain, mutates = false;
    /// Creates a domain.
    create_domain: Post "/api/domains" CreateDomain => Domain, mutates = true;
    /// Replaces a domain's plan limits.
    update_domain_limits: Put "/api/domains/{domain}/limits" UpdateDomainLimits => Domain, mutates = true;
    /// Sets a subsidiary's account allocation within its group.
    allocate_accounts: Put "/api/domains/{domain}/allocation" AllocateAccounts => Domain, mutates = true;
    /// Removes an empty domain.
    remove_domain: Delete "/api/domains/{domain}" RemoveDomain => (), mutates = true;
    /// Lists domain groups.
    list_domain_groups: Get "/api/domain-groups" ListDomainGroups => CursorPage<DomainGroup>, mutates = false;
    /// Creates a domain group.
    create_domain_group: Post "/api/domain-groups" CreateDomainGroup => DomainGroup, mutates = true;

    /// The department tree of a domain.
    list_departments: Get "/api/domains/{domain}/departments" ListDepartments => CursorPage<Department>, mutates = false;
    /// Creates a department.
    create_department: Post "/api/domains/{domain}/departments" CreateDepartment => Department, mutates = true;
    /// Moves a department under another parent.
    move_department: Post "/api/domains/{domain}/departments/move" MoveDepartment => Department, mutates = true;
    /// Renames a department.
    rename_department: Post "/api/domains/{domain}/departments/rename" RenameDepartment => Department, mutates = true;
    /// Removes an empty department.
    remove_department: Delete "/api/domains/{domain}/departments" RemoveDepartment => (), mutates = true;

    /// One page of a domain's accounts.
    list_accounts: Get "/api/domains/{domain}/accounts" ListAccounts => Listing<Account>, mutates = false;
    /// One account.
    get_account: Get "/api/accounts/{address}" GetAccount => Account, mutates = false;
    /// Creates an account.
    create_account: Post "/api/accounts" CreateAccount => Account, mutates = true;
    /// Creates many accounts at once, all or nothing.
    create_accounts: Post "/api/domains/{domain}/accounts" CreateAccounts => CreatedAccounts, mutates = true;
    /// Changes an account's fields.
    update_account: Patch "/api/accounts/{address}" UpdateAccount => Account, mutates = true;
    /// Sets an account's password.
    set_password: Put "/api/accounts/{address}/password" SetPassword => (), mutates = true;
    /// Deletes an account (to the recycle bin).
    remove_account: Delete "/api/accounts/{address}" RemoveAccount => (), mutates = true;
    /// Adds an extra address to an account.
    add_account_alias: Post "/api/accounts/{address}/aliases" AddAccountAlias => Account, mutates = true;
    /// Removes an extra address from an account.
    remove_account_alias: Delete "/api/accounts/{address}/aliases" RemoveAccountAlias => Account, mutates = true;

    /// The XLSX import template.
    accounts_template: Get "/api/account-import-template" AccountsTemplate => ExportedFile, mutates = false;
    /// Checks an XLSX file of accounts and starts importing it.
    start_import: Post "/api/domains/{domain}/imports" StartImport => ImportJob, mutates = true;
    /// Progress of an import job.
    import_status: Get "/api/imports/{id}" ImportStatus => ImportJob, mutates = false;
    /// A filter's accounts as an XLSX file.
    export_accounts: Get "/api/domains/{domain}/accounts-export" ExportAccounts => ExportedFile, mutates = false;
    /// Disables, enables, deletes, moves or re-quotas many accounts at once (one transaction).
    bulk_accounts: Post "/api/domains/{domain}/accounts-bulk" BulkAccounts => BatchOutcome, mutates = true;
    /// The recycle bin of a domain.
    list_recycle_bin: Get "/api/domains/{domain}/recycle-bin" ListRecycleBin => CursorPage<RecycledAccount>, mutates = false;
    /// Restores a deleted account.
    restore_account: Post "/api/accounts/{address}/restore" RestoreAccount => Account, mutates = true;
    /// Moves a deleted account's mail into another mailbox.
    transfer_mail: Post "/api/accounts/{address}/transfer" TransferMail => TransferredMail, mutates = true;
    /// Deletes every message of a mailbox.
    clean_mailbox: Post "/api/accounts/{address}/clean" CleanMailbox => CleanedMailbox, mutates = true;
    /// Client settings, login state and folders of a mailbox.
    get_mailbox: Get "/api/accounts/{address}/mailbox" GetMailbox => MailboxView, mutates = false;
    /// Messages of one folder of a mailbox.
    list_messages: Get "/api/accounts/{address}/messages" ListMessages => Listing<MessageSummary>, mutates = false;
    /// A domain's mailbox settings.
    get_mailbox_settings: Get "/api/domains/{domain}/mailbox-settings" GetMailboxSettings => MailboxSettings, mutates = false;
    /// Changes a domain's mailbox settings.
    update_mailbox_settings: Patch "/api/domains/{domain}/mailbox-settings" UpdateMailboxSettings => MailboxSettings, mutates = true;
    /// Replaces a domain's pickup rules.
    set_pickup_rules: Put "/api/domains/{domain}/pickup-rules" SetPickupRules => MailboxSettings, mutates = true;

    /// Lists a domain's aliases.
    list_aliases: Get "/api/domains/{domain}/aliases" ListAliases => CursorPage<Alias>, mutates = false;
    /// One alias.
    get_alias: Get "/api/aliases/{address}" GetAlias => Alias, mutates = false;
    /// Creates an alias.
    create_alias: Post "/api/aliases" CreateAlias => Alias, mutates = true;
    /// Changes an alias.
    update_alias: Patch "/api/aliases/{address}" UpdateAlias => Alias, mutates = true;
    /// Removes an alias.
    remove_alias: Delete "/api/aliases/{address}" RemoveAlias => (), mutates = true;
    /// Imports aliases from an XLSX file, all or nothing.
    import_aliases: Post "/api/domains/{domain}/aliases-import" ImportAliases => ImportedRows, mutates = true;
    /// A domain's aliases as an XLSX file.
    export_aliases: Get "/api/domains/{domain}/aliases-export" ExportAliases => ExportedFile, mutates = false;
    /// The XLSX template for importing aliases.
    aliases_template: Get "/api/aliases-template" AliasesTemplate => ExportedFile, mutates = false;
    /// Which mailboxes receive mail sent to an address?
    resolve_address: Get "/api/resolve/{address}" ResolveAddress => Resolution, mutates = false;

    /// Lists a domain's mail groups.
    list_groups: Get "/api/domains/{domain}/groups" ListGroups => CursorPage<MailGroup>, mutates = false;
    /// One mail group.
    get_group: Get "/api/groups/{address}" GetGroup => MailGroup, mutates = false;
    /// Creates a mail group.
    create_group: Post "/api/groups" CreateGroup => MailGroup, mutates = true;
    /// Changes a group's name, permission or whitelist.
    update_group: Patch "/api/groups/{address}" UpdateGroup => MailGroup, mutates = true;
    /// Adds members to a group.
    add_group_members: Post "/api/groups/{address}/members" AddGroupMembers => MailGroup, mutates = true;
    /// Removes members from a group.
    remove_group_members: Post "/api/groups/{address}/members/remove" RemoveGroupMembers => MailGroup, mutates = true;
    /// Replaces the departments a group takes as members.
    set_group_departments: Put "/api/groups/{address}/departments" SetGroupDepartments => MailGroup, mutates = true;
    /// Removes a mail group.
    remove_group: Delete "/api/groups/{address}" RemoveGroup => (), mutates = true;

    /// Lists admin users.
    list_admins: Get "/api/admins" ListAdmins => CursorPage<Admin>, mutates = false;
    /// Creates an admin user.
    create_admin: Post "/api/admins" CreateAdmin => Admin, mutates = true;
    /// Replaces an admin's role, pages and domains.
    update_admin: Put "/api/admins/{name}" UpdateAdmin => Admin, mutates = true;
    /// Removes an admin and its tokens.
    remove_admin: Delete "/api/admins/{name}" RemoveAdmin => (), mutates = true;
    /// Lists API tokens.
    list_tokens: Get "/api/tokens" ListTokens => CursorPage<ApiToken>, mutates = false;
    /// Creates an API token (secret shown once).
    create_token: Post "/api/tokens" CreateToken => NewToken, mutates = true;
    /// Revokes an API token.
    revoke_token: Delete "/api/tokens/{id}" RevokeToken => (), mutates = true;
    /// Creates the successor of the caller's own token (rotation; the old one stays until revoked).
    rotate_own_token: Post "/api/tokens/{id}/rotate" RotateOwnToken => NewToken, mutates = true;
    /// Sets an admin's web UI password.
    set_admin_password: Put "/api/admins/{name}/password" SetAdminPassword => (), mutates = true;
    /// Starts setting up an admin's TOTP second factor.
    start_two_factor: Post "/api/admins/{name}/two-factor" StartTwoFactor => TwoFactorSetup, mutates = true;
    /// Confirms the second factor being set up; answers recovery codes.
    confirm_two_factor: Post "/api/admins/{name}/two-factor/confirm" ConfirmTwoFactor => RecoveryCodes, mutates = true;
    /// Removes an admin's second factor.
    remove_two_factor: Delete "/api/admins/{name}/two-factor" RemoveTwoFactor => (), mutates = true;
    /// Ends every web UI session of an admin.
    end_sessions: Delete "/api/admins/{name}/sessions" EndSessions => u32, mutates = true;
    /// The sign-in policy.
    get_sign_in_policy: Get "/api/sign-in-policy" GetSignInPolicy => SignInPolicy, mutates = false;
    /// The caller's own sign-in.
    get_own_sign_in: Get "/api/sign-in" GetOwnSignIn => OwnSignIn, mutates = false;
    /// Sets the sign-in policy.
    set_sign_in_policy: Put "/api/sign-in-policy" SetSignInPolicy => SignInPolicy, mutates = true;

    /// Checks a domain's mail DNS.
    check_dns: Post "/api/domains/{domain}/dns/check" CheckDns => postdesk_dns::DomainReport, mutates = false;
    /// The records to publish, checked live.
    dns_setup: Get "/api/domains/{domain}/dns/setup" DnsSetup => DnsPlan, mutates = false;
    /// Generates and activates a DKIM key.
    create_dkim_key: Post "/api/domains/{domain}/dkim-keys" CreateDkimKey => DkimKey, mutates = true;
    /// A domain's DKIM keys.
    list_dkim_keys: Get "/api/domains/{domain}/dkim-keys" ListDkimKeys => CursorPage<DkimKey>, mutates = false;
    /// Removes a retired DKIM key.
    remove_dkim_key: Delete "/api/domains/{domain}/dkim-keys/{selector}" RemoveDkimKey => (), mutates = true;

    /// One page of the audit log.
    list_audit: Get "/api/audit" ListAudit => Listing<AuditEntry>, mutates = false;
    /// One page of the login log.
    list_logins: Get "/api/logins" ListLogins => LoginLog, mutates = false;

    // ---- Batch settings, address book, policy -------------------------------
    /// The overrides one level sets.
    get_settings: Get "/api/domains/{domain}/settings" GetSettings => LevelSettings, mutates = false;
    /// The settings in force for an account, with their sources.
    get_effective_settings: Get "/api/accounts/{address}/settings" GetEffectiveSettings => EffectiveSettings, mutates = false;
    /// Sets and clears settings on a target, as one undoable batch.
    update_settings: Put "/api/domains/{domain}/settings" UpdateSettings => BatchOutcome, mutates = true;
    /// Resets the passwords of a target's accounts, as one batch.
    reset_passwords: Post "/api/domains/{domain}/batches/reset-passwords" ResetPasswords => BatchOutcome, mutates = true;
    /// Clears the security questions of a target's accounts, as one batch.
    clear_security_questions: Post "/api/domains/{domain}/batches/clear-security-questions" ClearSecurityQuestions => BatchOutcome, mutates = true;
    /// A domain's batches, newest first.
    list_batches: Get "/api/domains/{domain}/batches" ListBatches => CursorPage<Batch>, mutates = false;
    /// Undoes a settings batch.
    undo_batch: Post "/api/domains/{domain}/batches/undo" UndoBatch => BatchOutcome, mutates = true;
    /// The company address book of a domain.
    list_address_book: Get "/api/domains/{domain}/address-book" ListAddressBook => AddressBook, mutates = false;
    /// What would happen to a message?
    explain_policy: Post "/api/policy/explain" ExplainPolicy => PolicyExplanation, mutates = false;
    /// A domain's automatic-BCC rules.
    list_bcc_rules: Get "/api/domains/{domain}/bcc-rules" ListBccRules => CursorPage<BccRule>, mutates = false;
    /// Adds an automatic-BCC rule.
    add_bcc_rule: Post "/api/domains/{domain}/bcc-rules" AddBccRule => BccRule, mutates = true;
    /// Removes an automatic-BCC rule.
    remove_bcc_rule: Delete "/api/domains/{domain}/bcc-rules" RemoveBccRule => (), mutates = true;
    /// Changes a bcc rule in place (same checks as adding it; audited before → after).
    update_bcc_rule: Put "/api/domains/{domain}/bcc-rules" UpdateBccRule => BccRule, mutates = true;
    /// Imports automatic-BCC rules from an XLSX file, all or nothing.
    import_bcc_rules: Post "/api/domains/{domain}/bcc-rules-import" ImportBccRules => ImportedRows, mutates = true;
    /// A domain's automatic-BCC rules as an XLSX file.
    export_bcc_rules: Get "/api/domains/{domain}/bcc-rules-export" ExportBccRules => ExportedFile, mutates = false;
    /// The XLSX template for importing automatic-BCC rules.
    bcc_rules_template: Get "/api/bcc-rules-template" BccRulesTemplate => ExportedFile, mutates = false;
    /// A domain's disclaimer rules, in order.
    list_disclaimer_rules: Get "/api/domains/{domain}/disclaimer-rules" ListDisclaimerRules => CursorPage<DisclaimerRule>, mutates = false;
    /// Adds a disclaimer rule (last in the order).
    add_disclaimer_rule: Post "/api/domains/{domain}/disclaimer-rules" AddDisclaimerRule => DisclaimerRule, mutates = true;
    /// Moves a disclaimer rule in its domain's order.
    move_disclaimer_rule: Post "/api/domains/{domain}/disclaimer-rules/move" MoveDisclaimerRule => Vec<DisclaimerRule>, mutates = true;
    /// Removes a disclaimer rule.
    remove_disclaimer_rule: Delete "/api/domains/{domain}/disclaimer-rules" RemoveDisclaimerRule => (), mutates = true;
    /// Changes a disclaimer rule in place (same checks as adding it; audited before → after).
    update_disclaimer_rule: Put "/api/domains/{domain}/disclaimer-rules" UpdateDisclaimerRule => DisclaimerRule, mutates = true;
    /// Imports disclaimer rules from an XLSX file, after the domain's rules, all or nothing.
    import_disclaimer_rules: Post "/api/domains/{domain}/disclaimer-rules-import" ImportDisclaimerRules => ImportedRows, mutates = true;
    /// A domain's disclaimer rules, in order, as an XLSX file.
    export_disclaimer_rules: Get "/api/domains/{domain}/disclaimer-rules-export" ExportDisclaimerRules => ExportedFile, mutates = false;
    /// The XLSX template for importing disclaimer rules.
    disclaimer_rules_template: Get "/api/disclaimer-rules-template" DisclaimerRulesTemplate => ExportedFile, mutates = false;
    /// A domain's monitoring and copy rules.
    list_monitor_rules: Get "/api/domains/{domain}/monitor-rules" ListMonitorRules => CursorPage<MonitorRule>, mutates = false;
    /// Adds a monitoring or copy rule.
    add_monitor_rule: Post "/api/domains/{domain}/monitor-rules" AddMonitorRule => MonitorRule, mutates = true;
    /// Removes a monitoring or copy rule.
    remove_monitor_rule: Delete "/api/domains/{domain}/monitor-rules" RemoveMonitorRule => (), mutates = true;
    /// Changes a monitor rule in place (same checks as adding it; audited before → after).
    update_monitor_rule: Put "/api/domains/{domain}/monitor-rules" UpdateMonitorRule => MonitorRule, mutates = true;
    /// Imports monitoring and copy rules from an XLSX file, all or nothing.
    import_monitor_rules: Post "/api/domains/{domain}/monitor-rules-import" ImportMonitorRules => ImportedRows, mutates = true;
    /// A domain's monitoring and copy rules as an XLSX file.
    export_monitor_rules: Get "/api/domains/{domain}/monitor-rules-export" ExportMonitorRules => ExportedFile, mutates = false;
    /// The XLSX template for importing monitoring and copy rules.
    monitor_rules_template: Get "/api/monitor-rules-template" MonitorRulesTemplate => ExportedFile, mutates = false;
    /// What a domain's accounts sent outside, against their daily send quota.
    list_outbound_usage: Get "/api/domains/{domain}/outbound-usage" ListOutboundUsage => CursorPage<OutboundUsage>, mutates = false;

    // ---- SMTP service admin ----------------------------------------------------
    /// The server-wide SMTP settings.
    get_smtp_settings: Get "/api/smtp/settings" GetSmtpSettings => SmtpSettings, mutates = false;
    /// Replaces the server-wide SMTP settings.
    update_smtp_settings: Put "/api/smtp/settings" UpdateSmtpSettings => SmtpSettings, mutates = true;
    /// The black/white list rules in order.
    list_smtp_rules: Get "/api/smtp/rules" ListSmtpRules => CursorPage<SmtpRule>, mutates = false;
    /// Adds a black/white list rule.
    add_smtp_rule: Post "/api/smtp/rules" AddSmtpRule => SmtpRule, mutates = true;
    /// Changes a black/white list rule.
    update_smtp_rule: Patch "/api/smtp/rules" UpdateSmtpRule => SmtpRule, mutates = true;
    /// Removes a black/white list rule.
    remove_smtp_rule: Delete "/api/smtp/rules" RemoveSmtpRule => (), mutates = true;
    /// Moves a rule to another place in the list.
    move_smtp_rule: Post "/api/smtp/rules/move" MoveSmtpRule => Vec<SmtpRule>, mutates = true;
    /// Imports rules from an XLSX file, all or nothing.
    import_smtp_rules: Post "/api/smtp/rules-import" ImportSmtpRules => SmtpRulesImported, mutates = true;
    /// The rules as an XLSX file.
    export_smtp_rules: Get "/api/smtp/rules-export" ExportSmtpRules => ExportedFile, mutates = false;
    /// The XLSX template for importing rules.
    smtp_rules_template: Get "/api/smtp/rules-template" SmtpRulesTemplate => ExportedFile, mutates = false;
    /// The SMTP service's listeners, counters and last refusals.
    get_smtp_status: Get "/api/smtp/status" GetSmtpStatus => SmtpStatus, mutates = false;

    // ---- Outbound queue and transport table ------------------------------------
    /// The outbound queue, per recipient, filtered.
    list_outbound_queue: Get "/api/outbound/queue" ListOutboundQueue => CursorPage<QueuedMessage>, mutates = false;
    /// Tries a queued message again now.
    retry_outbound: Post "/api/outbound/queue/retry" RetryOutbound => (), mutates = true;
    /// Removes a message from the queue.
    delete_outbound: Delete "/api/outbound/queue" DeleteOutbound => (), mutates = true;
    /// Bounces a queued message's waiting recipients now.
    bounce_outbound: Post "/api/outbound/queue/bounce" BounceOutbound => (), mutates = true;
    /// The transport table.
    list_transports: Get "/api/outbound/transports" ListTransports => CursorPage<OutboundTransport>, mutates = false;
    /// Sets a domain's fixed route.
    set_transport: Put "/api/outbound/transports" SetTransport => OutboundTransport, mutates = true;
    /// Removes a domain's fixed route.
    remove_transport: Delete "/api/outbound/transports" RemoveTransport => (), mutates = true;
    /// The smarthost relays (global, per sender domain), without their secrets.
    list_relays: Get "/api/outbound/relays" ListRelays => CursorPage<Relay>, mutates = false;
    /// Sets a smarthost relay.
    set_relay: Put "/api/outbound/relays" SetRelay => Relay, mutates = true;
    /// Removes a smarthost relay and its secret.
    remove_relay: Delete "/api/outbound/relays" RemoveRelay => (), mutates = true;

    // ---- Message trace ---------------------------------------------------------------
    /// One page of the message trace.
    list_message_trace: Get "/api/trace" ListMessageTrace => CursorPage<TracedMessage>, mutates = false;
    /// One message of the trace with every step.
    get_message_trace: Get "/api/trace-message" GetMessageTrace => TracedMessageDetail, mutates = false;
    /// A trace filter as a CSV or XLSX file.
    export_message_trace: Get "/api/trace-export" ExportMessageTrace => ExportedFile, mutates = false;
    /// How long trace records are kept.
    get_trace_settings: Get "/api/trace-settings" GetTraceSettings => TraceSettings, mutates = false;
    /// Sets how long trace records are kept.
    update_trace_settings: Put "/api/trace-settings" UpdateTraceSettings => TraceSettings, mutates = true;
    /// The login log of a filter as a CSV or XLSX file.
    export_logins: Get "/api/logins-export" ExportLogins => ExportedFile, mutates = false;

    // ---- SMS gateway and phone binding ----------------------------------------------
    /// The server-wide SMS gateway (never its token).
    get_sms_gateway: Get "/api/sms/gateway" GetSmsGateway => crate::phone::SmsGateway, mutates = false;
    /// Sets the server-wide SMS gateway.
    set_sms_gateway: Put "/api/sms/gateway" SetSmsGateway => crate::phone::SmsGateway, mutates = true;
    /// The SMS log (log mode), newest first.
    list_sms_log: Get "/api/sms/log" ListSmsLog => CursorPage<crate::phone::SmsMessage>, mutates = false;
    /// Whether an account has a phone bound.
    get_account_phone: Get "/api/accounts/{address}/phone" GetAccountPhone => crate::phone::AccountPhone, mutates = false;
    /// Clears an account's bound phone.
    clear_account_phone: Delete "/api/accounts/{address}/phone" ClearAccountPhone => (), mutates = true;
    /// A user's own forwarding (set in the portal).
    get_account_forwarding: Get "/api/accounts/{address}/forwarding" GetAccountForwarding => crate::forwarding::OwnForwarding, mutates = false;
    /// Ends a user's own forwarding.
    clear_account_forwarding: Delete "/api/accounts/{address}/forwarding" ClearAccountForwarding => (), mutates = true;

    // ---- Shared mailboxes (fetched from external servers) ------------------------
    /// A domain's shared mailboxes, without their secrets.
    list_shared_mailboxes: Get "/api/domains/{domain}/shared-mailboxes" ListSharedMailboxes => CursorPage<SharedMailbox>, mutates = false;
    /// The shared mailboxes whose fetching stopped after too many failures, in the caller's domains.
    list_stopped_shared_mailboxes: Get "/api/stopped-shared-mailboxes" ListStoppedSharedMailboxes => CursorPage<SharedMailbox>, mutates = false;
    /// One shared mailbox.
    get_shared_mailbox: Get "/api/shared-mailboxes/{address}" GetSharedMailbox => SharedMailbox, mutates = false;
    /// Creates a shared mailbox.
    create_shared_mailbox: Post "/api/domains/{domain}/shared-mailboxes" CreateSharedMailbox => SharedMailbox, mutates = true;
    /// Changes a shared mailbox's settings.
    update_shared_mailbox: Patch "/api/shared-mailboxes/{address}" UpdateSharedMailbox => SharedMailbox, mutates = true;
    /// Removes a shared mailbox (its mail stays in our store).
    remove_shared_mailbox: Delete "/api/shared-mailboxes/{address}" RemoveSharedMailbox => (), mutates = true;
    /// Fetches a shared mailbox's new mail now.
    fetch_shared_mailbox: Post "/api/shared-mailboxes/{address}/fetch" FetchSharedMailbox => FetchReport, mutates = true;
    /// Lists the external server's folders and keeps the list.
    fetch_shared_folder_list: Post "/api/shared-mailboxes/{address}/folder-list" FetchSharedFolderList => SharedMailbox, mutates = true;
    /// Chooses the fetched folders and the Sent and Junk folders.
    set_shared_folders: Put "/api/shared-mailboxes/{address}/folders" SetSharedFolders => SharedMailbox, mutates = true;
    /// Fetches again from a date and time (only what was not fetched before).
    resync_shared_mailbox: Post "/api/shared-mailboxes/{address}/resync" ResyncSharedMailbox => SharedMailbox, mutates = true;
    /// Sets a shared mailbox's owners (users and workflow groups of its domain).
    set_shared_mailbox_owners: Put "/api/shared-mailboxes/{address}/owners" SetSharedMailboxOwners => SharedMailbox, mutates = true;
    /// A domain's workflow groups with their members.
    list_workflow_groups: Get "/api/domains/{domain}/workflow-groups" ListWorkflowGroups => CursorPage<WorkflowGroup>, mutates = false;
    /// Creates a workflow group.
    create_workflow_group: Post "/api/domains/{domain}/workflow-groups" CreateWorkflowGroup => WorkflowGroup, mutates = true;
    /// Sets a workflow group's members.
    set_workflow_group_members: Put "/api/domains/{domain}/workflow-groups/{name}/members" SetWorkflowGroupMembers => WorkflowGroup, mutates = true;
    /// Removes a workflow group.
    remove_workflow_group: Delete "/api/domains/{domain}/workflow-groups/{name}" RemoveWorkflowGroup => (), mutates = true;
    /// Sets a shared mailbox's auto-reply.
    set_shared_auto_reply: Put "/api/shared-mailboxes/{address}/auto-reply" SetSharedAutoReply => SharedMailbox, mutates = true;
    /// Sets a shared mailbox's template (default font and size for mail written from it).
    set_shared_template: Put "/api/shared-mailboxes/{address}/template" SetSharedTemplate => SharedMailbox, mutates = true;
    /// A domain's owners of shared mailboxes with their default shared mailbox.
    list_shared_owners: Get "/api/domains/{domain}/shared-owners" ListSharedOwners => CursorPage<SharedOwner>, mutates = false;
    /// Sets or clears a user's default shared mailbox (one it owns).
    set_default_shared_mailbox: Put "/api/accounts/{user}/default-shared-mailbox" SetDefaultSharedMailbox => SharedOwner, mutates = true;
}

/// Runs the operation called `name` with JSON params and returns its JSON output: the
/// by-name entry point for transports that carry operations as data (Tauri IPC).
pub async fn dispatch(backend: &dyn Backend, name: &str, params: serde_json::Value) -> Result<serde_json::Value> {
    struct Find<'a> {
        name: &'a str,
        params: Option<serde_json::Value>,
        backend: &'a dyn Backend,
        call: Option<BoxFuture<'a, Result<serde_json::Value>>>,
    }
    impl<'a> OperationVisitor for Find<'a> {
        fn visit<O: Operation>(&mut self) {
            if O::NAME != self.name {
                return;
            }
            let (params, backend) = (self.params.take().unwrap_or(serde_json::Value::Null), self.backend);
            self.call = Some(Box::pin(async move {
                let params: O = serde_json::from_value(params)
                    .map_err(|e| crate::Error::validation(format!("invalid request for {}: {e}", O::NAME)))?;
                Ok(serde_json::to_value(params.invoke(backend).await?)?)
            }));
        }
    }
    let mut find = Find { name, params: Some(params), backend, call: None };
    visit_operations(&mut find);
    match find.call {
        Some(call) => call.await,
        None => Err(crate::Error::not_found(format!("no operation named {name}"))),
    }
}
