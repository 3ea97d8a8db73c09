//! `postdesk accounts …`: mailbox accounts; the mailbox commands are in [`mailbox`].

mod mailbox;

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Error, Result};

use crate::args::{AccountFilter, StatusArg};
use crate::io::read_password;
use crate::output::{Table, print_list, print_one, print_outcome};

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
        /// Count every match, however many (a filtered count otherwise stops 10,000 past the page).
        #[arg(long)]
        exact: bool,
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
    /// Disable, enable, delete, move or re-quota many accounts at once: those named with
    /// --account, or every account a filter matches (--all for the whole domain). One
    /// transaction, one audit entry; undo a disable, enable or quota change with `batch undo`.
    Bulk {
        domain: String,
        #[command(flatten)]
        action: BulkActionArgs,
        /// An account (repeat for more).
        #[arg(long = "account", value_name = "ADDRESS", conflicts_with_all = ["query", "dept", "status", "all"])]
        accounts: Vec<String>,
        /// Every account whose address or display name holds this text.
        #[arg(long, short)]
        query: Option<String>,
        /// Every account of this department (and its sub-departments).
        #[arg(long)]
        dept: Option<String>,
        /// Without sub-departments of --dept.
        #[arg(long, requires = "dept")]
        no_subdepts: bool,
        /// Every account with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Every account of the domain.
        #[arg(long, conflicts_with_all = ["query", "dept", "status"])]
        all: bool,
        /// Confirm a delete, or an action on a whole department or domain.
        #[arg(long)]
        yes: bool,
    },
    /// Show the forwarding the user set in the portal (and whether auto-forward lets it run).
    Forwarding { address: String },
    /// End the forwarding the user set in the portal.
    ForwardingClear { address: String },
    #[command(flatten)]
    Mailbox(mailbox::MailboxCmd),
}

/// What `accounts bulk` does: exactly one of these.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct BulkActionArgs {
    /// Disable them (no login, no delivery).
    #[arg(long)]
    disable: bool,
    /// Enable them (locked ones are unlocked).
    #[arg(long)]
    enable: bool,
    /// Delete them (to the recycle bin).
    #[arg(long)]
    delete: bool,
    /// Move them into this department ("" for the top level).
    #[arg(long, value_name = "DEPT")]
    move_to: Option<String>,
    /// Give them this quota, in MiB.
    #[arg(long, value_name = "MIB")]
    quota_mb: Option<u32>,
}

impl BulkActionArgs {
    fn action(&self) -> BulkAction {
        if self.enable {
            BulkAction::Enable
        } else if self.delete {
            BulkAction::Delete
        } else if let Some(dept) = &self.move_to {
            BulkAction::MoveToDepartment { department: Some(dept.clone()).filter(|d| !d.trim().is_empty()) }
        } else if let Some(quota_mb) = self.quota_mb {
            BulkAction::SetQuota { quota_mb }
        } else {
            BulkAction::Disable
        }
    }
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

/// `postdesk accounts …`
pub async fn run(b: &dyn Backend, cmd: &AccountsCmd, json: bool) -> Result<()> {
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
        AccountsCmd::List { domain, filter: f, offset, limit, exact } => {
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
                exact_total: Some(*exact),
            };
            let page = b.list_accounts(p).await?;
            print_list(
                json,
                &page,
                accounts_table(&page.items),
                Some((page.offset, page.items.len(), page.total_words())),
            )
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
        AccountsCmd::Bulk { domain, action, accounts, query, dept, no_subdepts, status, all, yes } => {
            let action = action.action();
            let selection = if !accounts.is_empty() {
                AccountSelection::Addresses { addresses: accounts.clone() }
            } else if *all || query.is_some() || dept.is_some() || status.is_some() {
                AccountSelection::Filter {
                    query: query.clone(),
                    department: dept.clone(),
                    subdepartments: Some(!no_subdepts),
                    status: status.map(Into::into),
                }
            } else {
                return Err(Error::validation(
                    "say which accounts: --account ADDRESS (repeat), a filter (--query, --dept, --status) or --all",
                ));
            };
            // Deleting, and acting on a whole department or domain, needs --yes (as the
            // page's confirmation dialog): the count comes from the same filter.
            let wide = *all || (dept.is_some() && query.is_none() && status.is_none());
            if (action == BulkAction::Delete || wide) && !yes {
                let count = match &selection {
                    AccountSelection::Addresses { addresses } => addresses.len().to_string(),
                    AccountSelection::Filter { .. } => {
                        let p = ListAccounts {
                            domain: domain.clone(),
                            query: query.clone(),
                            department: dept.clone(),
                            subdepartments: Some(!no_subdepts),
                            status: status.map(Into::into),
                            limit: Some(1),
                            exact_total: Some(true),
                            ..Default::default()
                        };
                        b.list_accounts(p).await?.total_words()
                    }
                };
                let what = if action == BulkAction::Delete { "deletes" } else { "acts on" };
                return Err(Error::validation(format!("this {what} {count} accounts; add --yes to do it")));
            }
            let p = BulkAccounts { domain: domain.clone(), selection, action };
            print_outcome(json, &b.bulk_accounts(p).await?)
        }
        AccountsCmd::Forwarding { address } => {
            let f = b.get_account_forwarding(GetAccountForwarding { address: address.clone() }).await?;
            if json {
                return print_one(json, &f);
            }
            if f.targets.is_empty() {
                println!("{address}: forwards no mail");
            } else {
                let copy = if f.keep_copy { "keeps a copy" } else { "keeps no copy" };
                let state = if f.allowed { "" } else { " (not used: auto-forward is off for this account)" };
                println!("{address}: forwards to {} and {copy}{state}", f.targets.join(", "));
            }
            Ok(())
        }
        AccountsCmd::ForwardingClear { address } => {
            b.clear_account_forwarding(ClearAccountForwarding { address: address.clone() }).await?;
            if !json {
                println!("ended the forwarding of {address}");
            }
            Ok(())
        }
        AccountsCmd::Mailbox(cmd) => mailbox::run(b, cmd, json).await,
    }
}
