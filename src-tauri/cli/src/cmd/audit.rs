//! `postdesk audit`: the audit log, newest first.

use clap::Args;
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list};

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

/// `postdesk audit …`
pub async fn run(b: &dyn Backend, a: &AuditArgs, json: bool) -> Result<()> {
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
    print_list(json, &page, t, Some((page.offset, page.items.len(), page.total_words())))
}
