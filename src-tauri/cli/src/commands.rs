//! The organisation commands: arguments, mapped one to one onto `Backend` operations.

use std::io::IsTerminal;

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Most accounts the domain may have.
    #[arg(long)]
    max_accounts: Option<u32>,
    /// Largest mailbox in MiB.
    #[arg(long)]
    mailbox_mb: Option<u32>,
    /// Largest attachment in MiB.
    #[arg(long)]
    attachment_mb: Option<u32>,
    /// Allow large attachments: true or false.
    #[arg(long)]
    large_attachments: Option<bool>,
}

impl LimitArgs {
    fn over(&self, base: PlanLimits) -> PlanLimits {
        PlanLimits {
            max_accounts: self.max_accounts.unwrap_or(base.max_accounts),
            mailbox_size_mb: self.mailbox_mb.unwrap_or(base.mailbox_size_mb),
            attachment_size_mb: self.attachment_mb.unwrap_or(base.attachment_size_mb),
            large_attachments: self.large_attachments.unwrap_or(base.large_attachments),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum DomainCmd {
    /// Add a domain.
    Add {
        /// Domain name (Unicode or ASCII).
        domain: String,
        #[command(flatten)]
        limits: LimitArgs,
        /// Make it a subsidiary of this domain group.
        #[arg(long)]
        group: Option<String>,
    },
    /// List domains.
    List,
    /// Show one domain.
    Show { domain: String },
    /// Change a domain's plan limits.
    Limits {
        domain: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Set a subsidiary's account allocation within its group.
    Allocate { domain: String, max_accounts: u32 },
    /// Remove an empty domain.
    Remove { domain: String },
    #[command(flatten)]
    Mailbox(crate::mailbox::DomainMailboxCmd),
}

#[derive(Subcommand, Debug)]
pub enum DomainGroupCmd {
    /// Add a domain group.
    Add {
        name: String,
        /// Accounts the group may allocate in total.
        #[arg(long)]
        max_accounts: u32,
    },
    /// List domain groups.
    List,
}

#[derive(Subcommand, Debug)]
pub enum DeptCmd {
    /// Add a department, e.g. `Sales/East`.
    Add {
        domain: String,
        path: String,
        /// Create missing parent departments too.
        #[arg(long, short)]
        parents: bool,
    },
    /// List a domain's departments.
    List { domain: String },
    /// Move a department (with everything in it) under another one.
    Move {
        domain: String,
        path: String,
        /// New parent; omit for the top level.
        #[arg(long)]
        to: Option<String>,
    },
    /// Rename a department.
    Rename { domain: String, path: String, name: String },
    /// Remove an empty department.
    Remove { domain: String, path: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Active,
    Locked,
    Disabled,
    Deleted,
}

impl From<StatusArg> for AccountStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => AccountStatus::Active,
            StatusArg::Locked => AccountStatus::Locked,
            StatusArg::Disabled => AccountStatus::Disabled,
            StatusArg::Deleted => AccountStatus::Deleted,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    Address,
    Name,
    Department,
    Status,
    Created,
}

impl From<SortArg> for AccountSort {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Address => AccountSort::Address,
            SortArg::Name => AccountSort::DisplayName,
            SortArg::Department => AccountSort::Department,
            SortArg::Status => AccountSort::Status,
            SortArg::Created => AccountSort::CreatedAt,
        }
    }
}

/// Which accounts, in which order: shared by `accounts list` and `accounts export`.
#[derive(Debug, clap::Args)]
pub struct AccountFilter {
    /// Substring of address or display name.
    #[arg(long, short)]
    pub query: Option<String>,
    /// Only this department (and its sub-departments).
    #[arg(long)]
    pub dept: Option<String>,
    /// Without sub-departments of --dept.
    #[arg(long)]
    pub no_subdepts: bool,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    #[arg(long, value_enum, default_value = "address")]
    pub sort: SortArg,
    /// Sort descending.
    #[arg(long)]
    pub desc: bool,
}

#[derive(Subcommand, Debug)]
pub enum AccountsCmd {
    /// Add an account (no password until one is set, unless --password-stdin).
    Add {
        address: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Department path.
        #[arg(long)]
        dept: Option<String>,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
        /// Quota in MiB (default: the plan's mailbox size).
        #[arg(long)]
        quota_mb: Option<u32>,
        /// Read an initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Require a password change at first logon.
        #[arg(long)]
        force_change: bool,
    },
    /// List a domain's accounts (one page).
    List {
        domain: String,
        #[command(flatten)]
        filter: AccountFilter,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one account.
    Show { address: String },
    /// Change an account's fields.
    Update {
        address: String,
        #[arg(long)]
        name: Option<String>,
        /// Department path ("" for the top level).
        #[arg(long)]
        dept: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long)]
        quota_mb: Option<u32>,
        /// Require (true) or stop requiring (false) a password change at next logon.
        #[arg(long)]
        force_change: Option<bool>,
    },
    /// Set a password: prompted twice on a terminal, or one line from stdin.
    SetPassword {
        address: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Require a change at next logon.
        #[arg(long)]
        force_change: bool,
    },
    /// Delete an account (to the recycle bin).
    Remove { address: String },
    /// Add an extra address to an account.
    AliasAdd { address: String, alias: String },
    /// Remove an extra address from an account.
    AliasRemove { address: String, alias: String },
    #[command(flatten)]
    Mailbox(crate::mailbox::MailboxCmd),
}

#[derive(Subcommand, Debug)]
pub enum AliasCmd {
    /// Add an alias expanding to the targets.
    Add {
        address: String,
        #[arg(required = true)]
        targets: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List a domain's aliases.
    List { domain: String },
    /// Show one alias.
    Show { address: String },
    /// Replace an alias's targets and/or description.
    Set {
        address: String,
        #[arg(long, num_args = 1..)]
        targets: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Remove an alias.
    Remove { address: String },
    /// Which mailboxes receive mail to an address?
    Resolve { address: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PermissionArg {
    SameDomain,
    MembersOnly,
    Anyone,
    Whitelist,
}

impl From<PermissionArg> for SendPermission {
    fn from(p: PermissionArg) -> Self {
        match p {
            PermissionArg::SameDomain => SendPermission::SameDomain,
            PermissionArg::MembersOnly => SendPermission::MembersOnly,
            PermissionArg::Anyone => SendPermission::Anyone,
            PermissionArg::Whitelist => SendPermission::Whitelist,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Add a mail group.
    Add {
        address: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        permission: Option<PermissionArg>,
        #[arg(long = "member")]
        members: Vec<String>,
        /// A whitelisted sender (for --permission whitelist).
        #[arg(long = "allow")]
        allowed: Vec<String>,
    },
    /// List a domain's mail groups.
    List { domain: String },
    /// Show one group.
    Show { address: String },
    /// Change a group's name, permission or whitelist.
    Update {
        address: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        permission: Option<PermissionArg>,
        /// Replace the whitelist with these senders.
        #[arg(long = "allow")]
        allowed: Option<Vec<String>>,
    },
    /// Add members.
    AddMembers {
        address: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Remove members.
    RemoveMembers {
        address: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Remove a group.
    Remove { address: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Owner,
    Admin,
    Helpdesk,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Owner => Role::Owner,
            RoleArg::Admin => Role::Admin,
            RoleArg::Helpdesk => Role::Helpdesk,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PageArg {
    Domains,
    Departments,
    Accounts,
    Aliases,
    Groups,
    Audit,
    Dns,
    BatchSettings,
    AddressBook,
    Policy,
    Smtp,
}

impl From<PageArg> for Page {
    fn from(p: PageArg) -> Self {
        match p {
            PageArg::Domains => Page::Domains,
            PageArg::Departments => Page::Departments,
            PageArg::Accounts => Page::Accounts,
            PageArg::Aliases => Page::Aliases,
            PageArg::Groups => Page::Groups,
            PageArg::Audit => Page::Audit,
            PageArg::Dns => Page::Dns,
            PageArg::BatchSettings => Page::BatchSettings,
            PageArg::AddressBook => Page::AddressBook,
            PageArg::Policy => Page::Policy,
            PageArg::Smtp => Page::Smtp,
        }
    }
}

#[derive(Args, Debug)]
pub struct ScopeArgs {
    #[arg(long, value_enum)]
    role: RoleArg,
    /// A page it may use (repeat; sub-admins need at least one).
    #[arg(long = "page", value_enum)]
    pages: Vec<PageArg>,
    /// A domain it may act on (repeat); none means all domains.
    #[arg(long = "domain")]
    domains: Vec<String>,
}

impl ScopeArgs {
    fn parts(&self) -> (Role, Option<Vec<Page>>, Option<Vec<String>>) {
        let pages = (!self.pages.is_empty()).then(|| self.pages.iter().map(|p| (*p).into()).collect());
        let domains = (!self.domains.is_empty()).then(|| self.domains.clone());
        (self.role.into(), pages, domains)
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Add an admin user.
    Add {
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// List admin users.
    List,
    /// Replace an admin's role, pages and domains.
    Update {
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Remove an admin and its tokens.
    Remove { name: String },
    /// Create an API token for an admin (the secret is printed once).
    TokenCreate {
        admin: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// List API tokens.
    TokenList {
        #[arg(long)]
        admin: Option<String>,
    },
    /// Revoke an API token.
    TokenRevoke { id: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgorithmArg {
    Rsa2048,
    Ed25519,
}

#[derive(Subcommand, Debug)]
pub enum DkimCmd {
    /// Generate a key and make it the active one (the previous key is retired).
    Create {
        domain: String,
        #[arg(long, value_enum, default_value = "rsa2048")]
        algorithm: AlgorithmArg,
        /// Selector (default: pd<date>).
        #[arg(long)]
        selector: Option<String>,
    },
    /// List a domain's keys.
    List { domain: String },
    /// Remove a retired key.
    Remove { domain: String, selector: String },
}

/// `postdesk dns keys …`
pub async fn dkim(b: &dyn Backend, cmd: &DkimCmd, json: bool) -> Result<()> {
    match cmd {
        DkimCmd::Create { domain, algorithm, selector } => {
            let algorithm = Some(match algorithm {
                AlgorithmArg::Rsa2048 => postdesk_dns::DkimAlgorithm::Rsa2048,
                AlgorithmArg::Ed25519 => postdesk_dns::DkimAlgorithm::Ed25519,
            });
            let key = b
                .create_dkim_key(CreateDkimKey { domain: domain.clone(), algorithm, selector: selector.clone() })
                .await?;
            if json {
                return print_one(true, &key);
            }
            println!(
                "Publish this TXT record, then check it with `postdesk dns setup`:\n{} TXT \"{}\"",
                key.record_name, key.record_value
            );
            Ok(())
        }
        DkimCmd::List { domain } => {
            let keys = b.list_dkim_keys(ListDkimKeys { domain: domain.clone() }).await?;
            let mut t = Table::new(&["SELECTOR", "ALGORITHM", "STATE", "CREATED", "RECORD NAME"]);
            for k in &keys {
                let algorithm = serde_json::to_value(k.algorithm)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let state = if k.active { "active" } else { "retired" };
                t.row(vec![k.selector.clone(), algorithm, state.into(), k.created_at.clone(), k.record_name.clone()]);
            }
            print_list(json, &keys, t, None)
        }
        DkimCmd::Remove { domain, selector } => {
            b.remove_dkim_key(RemoveDkimKey { domain: domain.clone(), selector: selector.clone() }).await
        }
    }
}

/// `postdesk dns setup`: the records to publish, each with the live status of its check.
/// Exit status 1 when any check fails, like `dns check`.
pub async fn dns_setup(
    b: &dyn Backend,
    domain: &str,
    mail_host: &str,
    server_ip: Option<String>,
    json: bool,
) -> Result<()> {
    let plan = b.dns_setup(DnsSetup { domain: domain.into(), mail_host: mail_host.into(), server_ip }).await?;
    if json {
        print_one(true, &plan)?;
    } else {
        let statuses = plan.report.main_statuses();
        let mut t = Table::new(&["CHECK", "STATUS", "NAME", "TYPE", "VALUE"]);
        for r in &plan.records {
            let status = statuses
                .iter()
                .find(|(name, _)| *name == r.check)
                .map_or("-".to_string(), |(_, s)| format!("{s:?}").to_lowercase());
            t.row(vec![r.check.clone(), status, r.name.clone(), r.record_type.clone(), r.value.clone()]);
        }
        print_list(false, &plan.records, t, None)?;
        for (check, finding) in plan.report.all_findings() {
            if finding.severity != postdesk_dns::Severity::Info {
                println!("{check}: {}", finding.message);
            }
        }
    }
    if plan.report.passed() {
        Ok(())
    } else {
        Err(Error::validation(format!("{domain}: some DNS checks fail; publish the records above and run this again")))
    }
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[arg(long)]
    domain: Option<String>,
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    action: Option<String>,
    #[arg(long, default_value_t = 0)]
    offset: u32,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

/// Reads a password: one line from stdin, or prompted twice on a terminal.
pub(crate) fn read_password(from_stdin: bool) -> Result<Password> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read the password: {e}"));
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("New password: ").map_err(io)?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(io)?;
        if first != second {
            return Err(Error::validation("the two passwords differ; nothing was changed").with_field("password"));
        }
        first
    };
    if password.is_empty() {
        return Err(Error::validation("no password given").with_field("password"));
    }
    Ok(Password(password))
}

fn domains_table(domains: &[Domain]) -> Table {
    let mut t = Table::new(&["DOMAIN", "GROUP", "ACCOUNTS", "MAX", "MAILBOX MiB", "ATTACH MiB"]);
    for d in domains {
        t.row(vec![
            d.display_name.clone(),
            d.group.clone().unwrap_or_default(),
            d.account_count.to_string(),
            d.limits.max_accounts.to_string(),
            d.limits.mailbox_size_mb.to_string(),
            d.limits.attachment_size_mb.to_string(),
        ]);
    }
    t
}

fn accounts_table(accounts: &[Account]) -> Table {
    let mut t = Table::new(&["ADDRESS", "NAME", "DEPARTMENT", "STATUS", "PASSWORD", "QUOTA MiB"]);
    for a in accounts {
        t.row(vec![
            a.address.clone(),
            a.display_name.clone(),
            a.department.clone().unwrap_or_default(),
            a.status.as_str().into(),
            if a.has_password { "set" } else { "none" }.into(),
            a.quota_mb.to_string(),
        ]);
    }
    t
}

/// Runs one organisation command against `b`.
pub async fn run(b: &dyn Backend, command: &crate::Command, json: bool) -> Result<()> {
    use crate::Command as C;
    match command {
        C::Domain(cmd) => domain(b, cmd, json).await,
        C::DomainGroup(cmd) => domain_group(b, cmd, json).await,
        C::Dept(cmd) => dept(b, cmd, json).await,
        C::Accounts(cmd) => accounts(b, cmd, json).await,
        C::Alias(cmd) => alias(b, cmd, json).await,
        C::Group(cmd) => group(b, cmd, json).await,
        C::Admin(cmd) => admin(b, cmd, json).await,
        C::Audit(a) => {
            let p = ListAudit {
                domain: a.domain.clone(),
                actor: a.actor.clone(),
                action: a.action.clone(),
                offset: Some(a.offset),
                limit: Some(a.limit),
            };
            let page = b.list_audit(p).await?;
            let mut t = Table::new(&["ID", "AT", "ACTOR", "ACTION", "DOMAIN", "TARGET"]);
            for e in &page.items {
                t.row(vec![
                    e.id.to_string(),
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.domain.clone().unwrap_or_default(),
                    e.target.clone(),
                ]);
            }
            print_list(json, &page, t, Some((page.offset, page.items.len(), page.total)))
        }
        C::Settings(cmd) => crate::batch::settings(b, cmd, json).await,
        C::Batch(cmd) => crate::batch::batch(b, cmd, json).await,
        C::Policy(cmd) => crate::batch::policy(b, cmd, json).await,
        C::AddressBook { domain } => crate::batch::address_book(b, domain, json).await,
        C::Resolve { address } => crate::mailbox::resolve(b, address, json).await,
        C::Smtp(cmd) => crate::smtp::run(b, cmd, json).await,
        C::Serve(_) | C::Dns(_) => unreachable!("handled in main"),
    }
}

async fn domain(b: &dyn Backend, cmd: &DomainCmd, json: bool) -> Result<()> {
    match cmd {
        DomainCmd::Add { domain, limits, group } => {
            let p = CreateDomain {
                domain: domain.clone(),
                limits: Some(limits.over(PlanLimits::default())),
                group: group.clone(),
            };
            print_one(json, &b.create_domain(p).await?)
        }
        DomainCmd::List => {
            let list = b.list_domains(ListDomains {}).await?;
            print_list(json, &list, domains_table(&list), None)
        }
        DomainCmd::Show { domain } => print_one(json, &b.get_domain(GetDomain { domain: domain.clone() }).await?),
        DomainCmd::Limits { domain, limits } => {
            let current = b.get_domain(GetDomain { domain: domain.clone() }).await?;
            let p = UpdateDomainLimits { domain: domain.clone(), limits: limits.over(current.limits) };
            print_one(json, &b.update_domain_limits(p).await?)
        }
        DomainCmd::Allocate { domain, max_accounts } => {
            let p = AllocateAccounts { domain: domain.clone(), max_accounts: *max_accounts };
            print_one(json, &b.allocate_accounts(p).await?)
        }
        DomainCmd::Remove { domain } => b.remove_domain(RemoveDomain { domain: domain.clone() }).await,
        DomainCmd::Mailbox(cmd) => crate::mailbox::domain(b, cmd, json).await,
    }
}

async fn domain_group(b: &dyn Backend, cmd: &DomainGroupCmd, json: bool) -> Result<()> {
    match cmd {
        DomainGroupCmd::Add { name, max_accounts } => print_one(
            json,
            &b.create_domain_group(CreateDomainGroup { name: name.clone(), max_accounts: *max_accounts }).await?,
        ),
        DomainGroupCmd::List => {
            let list = b.list_domain_groups(ListDomainGroups {}).await?;
            let mut t = Table::new(&["GROUP", "MAX ACCOUNTS", "ALLOCATED", "DOMAINS"]);
            for g in &list {
                t.row(vec![g.name.clone(), g.max_accounts.to_string(), g.allocated.to_string(), g.domains.join(", ")]);
            }
            print_list(json, &list, t, None)
        }
    }
}

async fn dept(b: &dyn Backend, cmd: &DeptCmd, json: bool) -> Result<()> {
    match cmd {
        DeptCmd::Add { domain, path, parents } => {
            let p = CreateDepartment { domain: domain.clone(), path: path.clone(), parents: Some(*parents) };
            print_one(json, &b.create_department(p).await?)
        }
        DeptCmd::List { domain } => {
            let list = b.list_departments(ListDepartments { domain: domain.clone() }).await?;
            let mut t = Table::new(&["DEPARTMENT", "ACCOUNTS", "WITH SUB-DEPARTMENTS"]);
            for d in &list {
                t.row(vec![d.path.clone(), d.accounts.to_string(), d.total_accounts.to_string()]);
            }
            print_list(json, &list, t, None)
        }
        DeptCmd::Move { domain, path, to } => {
            let p = MoveDepartment { domain: domain.clone(), path: path.clone(), new_parent: to.clone() };
            print_one(json, &b.move_department(p).await?)
        }
        DeptCmd::Rename { domain, path, name } => {
            let p = RenameDepartment { domain: domain.clone(), path: path.clone(), name: name.clone() };
            print_one(json, &b.rename_department(p).await?)
        }
        DeptCmd::Remove { domain, path } => {
            b.remove_department(RemoveDepartment { domain: domain.clone(), path: path.clone() }).await
        }
    }
}

async fn accounts(b: &dyn Backend, cmd: &AccountsCmd, json: bool) -> Result<()> {
    match cmd {
        AccountsCmd::Add { address, name, dept, notes, quota_mb, password_stdin, force_change } => {
            let password = if *password_stdin { Some(read_password(true)?) } else { None };
            let p = CreateAccount {
                address: address.clone(),
                display_name: name.clone(),
                department: dept.clone(),
                notes: notes.clone(),
                password,
                force_password_change: Some(*force_change),
                quota_mb: *quota_mb,
            };
            print_one(json, &b.create_account(p).await?)
        }
        AccountsCmd::List { domain, filter: f, offset, limit } => {
            let p = ListAccounts {
                domain: domain.clone(),
                query: f.query.clone(),
                department: f.dept.clone(),
                subdepartments: Some(!f.no_subdepts),
                status: f.status.map(Into::into),
                sort: Some(f.sort.into()),
                descending: Some(f.desc),
                offset: Some(*offset),
                limit: Some(*limit),
            };
            let page = b.list_accounts(p).await?;
            print_list(json, &page, accounts_table(&page.items), Some((page.offset, page.items.len(), page.total)))
        }
        AccountsCmd::Show { address } => {
            print_one(json, &b.get_account(GetAccount { address: address.clone() }).await?)
        }
        AccountsCmd::Update { address, name, dept, notes, status, quota_mb, force_change } => {
            let p = UpdateAccount {
                address: address.clone(),
                display_name: name.clone(),
                department: dept.clone(),
                notes: notes.clone(),
                status: status.map(Into::into),
                force_password_change: *force_change,
                quota_mb: *quota_mb,
            };
            print_one(json, &b.update_account(p).await?)
        }
        AccountsCmd::SetPassword { address, password_stdin, force_change } => {
            // Fail on an unknown account before asking for a password.
            b.get_account(GetAccount { address: address.clone() }).await?;
            let password = read_password(*password_stdin)?;
            let p = SetPassword { address: address.clone(), password, force_password_change: Some(*force_change) };
            b.set_password(p).await?;
            if !json {
                println!("password of {address} changed");
            }
            Ok(())
        }
        AccountsCmd::Remove { address } => b.remove_account(RemoveAccount { address: address.clone() }).await,
        AccountsCmd::AliasAdd { address, alias } => print_one(
            json,
            &b.add_account_alias(AddAccountAlias { address: address.clone(), alias: alias.clone() }).await?,
        ),
        AccountsCmd::AliasRemove { address, alias } => print_one(
            json,
            &b.remove_account_alias(RemoveAccountAlias { address: address.clone(), alias: alias.clone() }).await?,
        ),
        AccountsCmd::Mailbox(cmd) => crate::mailbox::run(b, cmd, json).await,
    }
}

async fn alias(b: &dyn Backend, cmd: &AliasCmd, json: bool) -> Result<()> {
    match cmd {
        AliasCmd::Add { address, targets, description } => {
            let p =
                CreateAlias { address: address.clone(), targets: targets.clone(), description: description.clone() };
            print_one(json, &b.create_alias(p).await?)
        }
        AliasCmd::List { domain } => {
            let list = b.list_aliases(ListAliases { domain: domain.clone() }).await?;
            let mut t = Table::new(&["ALIAS", "TARGETS", "DESCRIPTION"]);
            for a in &list {
                t.row(vec![a.address.clone(), a.targets.join(", "), a.description.clone()]);
            }
            print_list(json, &list, t, None)
        }
        AliasCmd::Show { address } => print_one(json, &b.get_alias(GetAlias { address: address.clone() }).await?),
        AliasCmd::Set { address, targets, description } => {
            let p =
                UpdateAlias { address: address.clone(), targets: targets.clone(), description: description.clone() };
            print_one(json, &b.update_alias(p).await?)
        }
        AliasCmd::Remove { address } => b.remove_alias(RemoveAlias { address: address.clone() }).await,
        AliasCmd::Resolve { address } => {
            print_one(json, &b.resolve_address(ResolveAddress { address: address.clone() }).await?)
        }
    }
}

async fn group(b: &dyn Backend, cmd: &GroupCmd, json: bool) -> Result<()> {
    match cmd {
        GroupCmd::Add { address, name, permission, members, allowed } => {
            let p = CreateGroup {
                address: address.clone(),
                name: name.clone(),
                send_permission: permission.map(Into::into),
                members: Some(members.clone()),
                allowed_senders: Some(allowed.clone()),
            };
            print_one(json, &b.create_group(p).await?)
        }
        GroupCmd::List { domain } => {
            let list = b.list_groups(ListGroups { domain: domain.clone() }).await?;
            let mut t = Table::new(&["GROUP", "NAME", "SEND PERMISSION", "MEMBERS"]);
            for g in &list {
                t.row(vec![
                    g.address.clone(),
                    g.name.clone(),
                    g.send_permission.as_str().into(),
                    g.members.len().to_string(),
                ]);
            }
            print_list(json, &list, t, None)
        }
        GroupCmd::Show { address } => print_one(json, &b.get_group(GetGroup { address: address.clone() }).await?),
        GroupCmd::Update { address, name, permission, allowed } => {
            let p = UpdateGroup {
                address: address.clone(),
                name: name.clone(),
                send_permission: permission.map(Into::into),
                allowed_senders: allowed.clone(),
            };
            print_one(json, &b.update_group(p).await?)
        }
        GroupCmd::AddMembers { address, members } => print_one(
            json,
            &b.add_group_members(AddGroupMembers { address: address.clone(), members: members.clone() }).await?,
        ),
        GroupCmd::RemoveMembers { address, members } => print_one(
            json,
            &b.remove_group_members(RemoveGroupMembers { address: address.clone(), members: members.clone() }).await?,
        ),
        GroupCmd::Remove { address } => b.remove_group(RemoveGroup { address: address.clone() }).await,
    }
}

async fn admin(b: &dyn Backend, cmd: &AdminCmd, json: bool) -> Result<()> {
    match cmd {
        AdminCmd::Add { name, scope } => {
            let (role, pages, domains) = scope.parts();
            print_one(json, &b.create_admin(CreateAdmin { name: name.clone(), role, pages, domains }).await?)
        }
        AdminCmd::List => {
            let list = b.list_admins(ListAdmins {}).await?;
            let mut t = Table::new(&["ADMIN", "ROLE", "PAGES", "DOMAINS"]);
            for a in &list {
                let pages: Vec<&str> = a.pages.iter().map(|p| p.as_str()).collect();
                t.row(vec![
                    a.name.clone(),
                    a.role.as_str().into(),
                    pages.join(","),
                    a.domains.as_ref().map_or("all".into(), |d| d.join(",")),
                ]);
            }
            print_list(json, &list, t, None)
        }
        AdminCmd::Update { name, scope } => {
            let (role, pages, domains) = scope.parts();
            print_one(json, &b.update_admin(UpdateAdmin { name: name.clone(), role, pages, domains }).await?)
        }
        AdminCmd::Remove { name } => b.remove_admin(RemoveAdmin { name: name.clone() }).await,
        AdminCmd::TokenCreate { admin, label } => {
            let token = b.create_token(CreateToken { admin: admin.clone(), label: label.clone() }).await?;
            if json {
                print_one(true, &token)
            } else {
                println!(
                    "token {} for {} (shown once, store it now):\n{}",
                    token.token.id, token.token.admin, token.secret
                );
                Ok(())
            }
        }
        AdminCmd::TokenList { admin } => {
            let list = b.list_tokens(ListTokens { admin: admin.clone() }).await?;
            let mut t = Table::new(&["ID", "ADMIN", "LABEL", "CREATED", "LAST USED"]);
            for k in &list {
                t.row(vec![
                    k.id.clone(),
                    k.admin.clone(),
                    k.label.clone(),
                    k.created_at.clone(),
                    k.last_used_at.clone().unwrap_or_default(),
                ]);
            }
            print_list(json, &list, t, None)
        }
        AdminCmd::TokenRevoke { id } => b.revoke_token(RevokeToken { id: id.clone() }).await,
    }
}
