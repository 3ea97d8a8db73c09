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
    /// Set an admin's web UI password: prompted twice on a terminal, or one line from stdin.
    /// Its web UI sessions end.
    SetPassword {
        name: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The TOTP second factor of admins, and whether the web UI requires one.
    #[command(name = "2fa", subcommand)]
    TwoFactor(TwoFactorCmd),
    /// End every web UI session of an admin (its API tokens keep working).
    SignOutEverywhere { name: String },
    /// Make the successor of one of your own tokens (the secret is printed once); the old
    /// one works until you revoke it with token-revoke.
    TokenRotate {
        id: String,
        /// Days until the new token stops working (1–3650); default: the old one's lifetime.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TwoFactorCmd {
    /// Start setting up a second factor: prints the secret (and its otpauth:// URI) to enter
    /// into an authenticator app, then asks for a code from it (one line on stdin) and prints
    /// the recovery codes once it matches.
    Enroll {
        name: String,
        /// Only print the secret; confirm later with `2fa confirm`.
        #[arg(long)]
        no_confirm: bool,
    },
    /// Confirm the second factor being set up with a current code; prints the recovery codes.
    Confirm { name: String, code: String },
    /// Remove an admin's second factor and recovery codes.
    Remove { name: String },
    /// Require a second factor of every admin in the web UI (on), or not (off); the session
    /// time-outs can be set with it.
    Require {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// Minutes a session may stay unused (1–1440).
        #[arg(long, value_name = "MINUTES")]
        idle_minutes: Option<u32>,
        /// Minutes a session lasts at most (5–43200).
        #[arg(long, value_name = "MINUTES")]
        absolute_minutes: Option<u32>,
    },
}

fn print_recovery_codes(json: bool, codes: &RecoveryCodes) -> Result<()> {
    if json {
        return print_one(true, codes);
    }
    println!("Second factor in force. Recovery codes (each works once; shown once, store them now):");
    for code in &codes.codes {
        println!("{code}");
    }
    Ok(())
}

async fn two_factor(b: &dyn Backend, cmd: &TwoFactorCmd, json: bool) -> Result<()> {
    match cmd {
        TwoFactorCmd::Enroll { name, no_confirm } => {
            let setup = b.start_two_factor(StartTwoFactor { name: name.clone() }).await?;
            if json {
                print_one(true, &setup)?;
            } else {
                println!("Secret (base32): {}\nURI: {}", setup.secret, setup.uri);
            }
            if *no_confirm {
                return Ok(());
            }
            eprint!("Code from the authenticator: ");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| postdesk_contract::Error::validation(format!("cannot read the code: {e}")))?;
            let code = line.trim().to_string();
            let codes = b.confirm_two_factor(ConfirmTwoFactor { name: name.clone(), code }).await?;
            print_recovery_codes(json, &codes)
        }
        TwoFactorCmd::Confirm { name, code } => {
            let codes = b.confirm_two_factor(ConfirmTwoFactor { name: name.clone(), code: code.clone() }).await?;
            print_recovery_codes(json, &codes)
        }
        TwoFactorCmd::Remove { name } => b.remove_two_factor(RemoveTwoFactor { name: name.clone() }).await,
        TwoFactorCmd::Require { state, idle_minutes, absolute_minutes } => {
            let params = SetSignInPolicy {
                require_two_factor: state == "on",
                idle_minutes: *idle_minutes,
                absolute_minutes: *absolute_minutes,
            };
            print_one(json, &b.set_sign_in_policy(params).await?)
        }
    }
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
            let mut t = Table::new(&["ADMIN", "ROLE", "PAGES", "DOMAINS", "PASSWORD", "2FA"]);
            for a in &list {
                let pages: Vec<&str> = a.pages.iter().map(|p| p.as_str()).collect();
                t.row(vec![
                    a.name.clone(),
                    a.role.as_str().into(),
                    pages.join(","),
                    a.domains.as_ref().map_or("all".into(), |d| d.join(",")),
                    if a.password_set { "set" } else { "-" }.into(),
                    if a.two_factor { "on" } else { "-" }.into(),
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
        AdminCmd::SetPassword { name, password_stdin } => {
            let password = crate::io::read_password(*password_stdin)?;
            b.set_admin_password(SetAdminPassword { name: name.clone(), password, current_password: None }).await
        }
        AdminCmd::TwoFactor(cmd) => two_factor(b, cmd, json).await,
        AdminCmd::SignOutEverywhere { name } => {
            let ended = b.end_sessions(EndSessions { name: name.clone() }).await?;
            if json {
                print_one(true, &ended)
            } else {
                println!("{ended} web UI session(s) of {name} ended");
                Ok(())
            }
        }
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
