//! `postdesk domain-group …`: groups of subsidiary domains sharing an account allowance.

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

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

/// `postdesk domain-group …`
pub async fn run(b: &dyn Backend, cmd: &DomainGroupCmd, json: bool) -> Result<()> {
    match cmd {
        DomainGroupCmd::Add { name, max_accounts } => print_one(
            json,
            &b.create_domain_group(CreateDomainGroup { name: name.clone(), max_accounts: *max_accounts }).await?,
        ),
        DomainGroupCmd::List => {
            let list = crate::output::every_page(|after, limit| {
                b.list_domain_groups(ListDomainGroups { after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["GROUP", "MAX ACCOUNTS", "ALLOCATED", "DOMAINS"]);
            for g in &list {
                t.row(vec![g.name.clone(), g.max_accounts.to_string(), g.allocated.to_string(), g.domains.join(", ")]);
            }
            print_list(json, &list, t, None)
        }
    }
}
