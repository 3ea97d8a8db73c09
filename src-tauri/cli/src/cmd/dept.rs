//! `postdesk dept …`: the department tree of a domain.

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

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

/// `postdesk dept …`
pub async fn run(b: &dyn Backend, cmd: &DeptCmd, json: bool) -> Result<()> {
    match cmd {
        DeptCmd::Add { domain, path, parents } => {
            let p = CreateDepartment { domain: domain.clone(), path: path.clone(), parents: Some(*parents) };
            print_one(json, &b.create_department(p).await?)
        }
        DeptCmd::List { domain } => {
            let list = crate::output::every_page(|after, limit| {
                b.list_departments(ListDepartments { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
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
