//! `postdesk rules`: mail rules on the path of a domain — automatic BCC — and the outbound
//! usage against the daily send quota.

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::rules::RuleDirection;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// Automatic blind copies of a domain's mail.
    #[command(subcommand)]
    Bcc(BccCmd),
    /// What each account sent to other domains today and in the last 30 days, against its
    /// daily send quota (set with `settings set … daily_send_messages=N daily_send_mb=N`).
    Usage { domain: String },
}

#[derive(Subcommand, Debug)]
pub enum BccCmd {
    /// List the domain's BCC rules.
    List { domain: String },
    /// Copy the domain's mail that matches to COPY_TO (an account, alias or group of ours, or an address elsewhere).
    Add {
        domain: String,
        /// The rule's name.
        #[arg(long)]
        name: String,
        /// Which mail: received for the domain, sent by it, or both.
        #[arg(long, value_enum, default_value_t = Direction::Both)]
        direction: Direction,
        /// Only mail from this address or domain.
        #[arg(long)]
        sender: Option<String>,
        /// Only mail to this address or domain.
        #[arg(long)]
        recipient: Option<String>,
        copy_to: String,
    },
    /// Remove a BCC rule by its id.
    Remove { domain: String, id: i64 },
}

/// `--direction`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Direction {
    /// Mail received for the domain's addresses.
    Inbound,
    /// Mail sent by the domain's addresses.
    Outbound,
    /// Both.
    Both,
}

/// `postdesk rules …`
pub async fn run(b: &dyn Backend, cmd: &RulesCmd, json: bool) -> Result<()> {
    let cmd = match cmd {
        RulesCmd::Bcc(cmd) => cmd,
        RulesCmd::Usage { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_outbound_usage(ListOutboundUsage { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let mut t =
                Table::new(&["ACCOUNT", "TODAY", "TODAY MB", "30 DAYS", "30 DAYS MB", "LIMIT", "LIMIT MB", "STATE"]);
            let mb = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
            let limit = |n: u32| if n == 0 { "-".to_string() } else { n.to_string() };
            for u in &all {
                t.row(vec![
                    u.address.clone(),
                    u.today_messages.to_string(),
                    mb(u.today_bytes),
                    u.month_messages.to_string(),
                    mb(u.month_bytes),
                    limit(u.limit_messages),
                    limit(u.limit_mb),
                    serde_json::to_value(u.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                ]);
            }
            return print_list(json, &all, t, None);
        }
    };
    match cmd {
        BccCmd::List { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_bcc_rules(ListBccRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["ID", "NAME", "DIRECTION", "SENDER", "RECIPIENT", "COPY TO"]);
            for r in &all {
                t.row(vec![
                    r.id.to_string(),
                    r.name.clone(),
                    r.direction.name().into(),
                    r.sender.clone().unwrap_or_else(|| "(any)".into()),
                    r.recipient.clone().unwrap_or_else(|| "(any)".into()),
                    r.copy_to.clone(),
                ]);
            }
            print_list(json, &all, t, None)
        }
        BccCmd::Add { domain, name, direction, sender, recipient, copy_to } => {
            let p = AddBccRule {
                domain: domain.clone(),
                name: name.clone(),
                direction: Some(match direction {
                    Direction::Inbound => RuleDirection::Inbound,
                    Direction::Outbound => RuleDirection::Outbound,
                    Direction::Both => RuleDirection::Both,
                }),
                sender: sender.clone(),
                recipient: recipient.clone(),
                copy_to: copy_to.clone(),
            };
            print_one(json, &b.add_bcc_rule(p).await?)
        }
        BccCmd::Remove { domain, id } => b.remove_bcc_rule(RemoveBccRule { domain: domain.clone(), id: *id }).await,
    }
}
