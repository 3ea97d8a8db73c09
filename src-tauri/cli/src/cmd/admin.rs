//! `postdesk admin …`: admin users and API tokens.

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

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
        /// Days until the token stops working (1–3650); without it, it never does.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// List API tokens.
    TokenList {
        #[arg(long)]
        admin: Option<String>,
    },
    /// Revoke an API token (any admin may revoke its own).
    TokenRevoke { id: String },
    /// Make the successor of one of your own tokens (the secret is printed once); the old
    /// one works until you revoke it with token-revoke.
    TokenRotate {
        id: String,
        /// Days until the new token stops working (1–3650); default: the old one's lifetime.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
}

/// `postdesk admin …`
pub async fn run(b: &dyn Backend, cmd: &AdminCmd, json: bool) -> Result<()> {
    match cmd {
        AdminCmd::Add { name, scope } => {
            let (role, pages, domains) = scope.parts();
            print_one(json, &b.create_admin(CreateAdmin { name: name.clone(), role, pages, domains }).await?)
        }
        AdminCmd::List => {
            let list =
                crate::output::every_page(|after, limit| b.list_admins(ListAdmins { after, limit: Some(limit) }))
                    .await?;
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
        AdminCmd::TokenCreate { admin, label, expires_in_days } => {
            let params = CreateToken { admin: admin.clone(), label: label.clone(), expires_in_days: *expires_in_days };
            print_new_token(json, &b.create_token(params).await?)
        }
        AdminCmd::TokenRotate { id, expires_in_days } => {
            let params = RotateOwnToken { id: id.clone(), expires_in_days: *expires_in_days };
            print_new_token(json, &b.rotate_own_token(params).await?)
        }
        AdminCmd::TokenList { admin } => {
            let list = crate::output::every_page(|after, limit| {
                b.list_tokens(ListTokens { admin: admin.clone(), after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["ID", "ADMIN", "LABEL", "CREATED", "LAST USED", "EXPIRES"]);
            for k in &list {
                t.row(vec![
                    k.id.clone(),
                    k.admin.clone(),
                    k.label.clone(),
                    k.created_at.clone(),
                    k.last_used_at.clone().unwrap_or_default(),
                    k.expires_at.clone().unwrap_or_else(|| "never".into()),
                ]);
            }
            print_list(json, &list, t, None)
        }
        AdminCmd::TokenRevoke { id } => b.revoke_token(RevokeToken { id: id.clone() }).await,
    }
}

fn print_new_token(json: bool, token: &NewToken) -> Result<()> {
    if json {
        print_one(true, token)
    } else {
        println!("token {} for {} (shown once, store it now):\n{}", token.token.id, token.token.admin, token.secret);
        Ok(())
    }
}
