//! `postdesk group …`: mail groups.

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

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
        /// A member department (path): its accounts and those of the departments below.
        #[arg(long = "dept")]
        departments: Vec<String>,
        /// A whitelisted sender (for --permission whitelist).
        #[arg(long = "allow")]
        allowed: Vec<String>,
    },
    /// List a domain's mail groups.
    List {
        domain: String,
        /// Only groups whose address or name holds this text, or with a member that starts
        /// with it.
        #[arg(long, short)]
        query: Option<String>,
    },
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
    /// Replace the member departments (none given: no department is a member).
    SetDepts { address: String, departments: Vec<String> },
    /// Remove a group.
    Remove { address: String },
}

/// `postdesk group …`
pub async fn run(b: &dyn Backend, cmd: &GroupCmd, json: bool) -> Result<()> {
    match cmd {
        GroupCmd::Add { address, name, permission, members, departments, allowed } => {
            let p = CreateGroup {
                address: address.clone(),
                name: name.clone(),
                send_permission: permission.map(Into::into),
                members: Some(members.clone()),
                departments: Some(departments.clone()),
                allowed_senders: Some(allowed.clone()),
            };
            print_one(json, &b.create_group(p).await?)
        }
        GroupCmd::List { domain, query } => {
            let list = crate::output::every_page(|after, limit| {
                b.list_groups(ListGroups { domain: domain.clone(), after, limit: Some(limit), query: query.clone() })
            })
            .await?;
            let mut t = Table::new(&["GROUP", "NAME", "SEND PERMISSION", "MEMBERS", "DEPARTMENTS"]);
            for g in &list {
                t.row(vec![
                    g.address.clone(),
                    g.name.clone(),
                    g.send_permission.as_str().into(),
                    g.members.len().to_string(),
                    g.departments.join(", "),
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
        GroupCmd::SetDepts { address, departments } => print_one(
            json,
            &b.set_group_departments(SetGroupDepartments {
                address: address.clone(),
                departments: departments.clone(),
            })
            .await?,
        ),
        GroupCmd::Remove { address } => b.remove_group(RemoveGroup { address: address.clone() }).await,
    }
}
