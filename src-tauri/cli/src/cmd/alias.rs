//! `postdesk alias …`: distribution aliases.

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

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

/// `postdesk alias …`
pub async fn run(b: &dyn Backend, cmd: &AliasCmd, json: bool) -> Result<()> {
    match cmd {
        AliasCmd::Add { address, targets, description } => {
            let p =
                CreateAlias { address: address.clone(), targets: targets.clone(), description: description.clone() };
            print_one(json, &b.create_alias(p).await?)
        }
        AliasCmd::List { domain } => {
            let list = crate::output::every_page(|after, limit| {
                b.list_aliases(ListAliases { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
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
        AliasCmd::Resolve { address } => super::resolve::run(b, address, json).await,
    }
}
