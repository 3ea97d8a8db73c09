//! `postdesk domain …`: mail domains, their plan limits, mailbox settings and pickup rules.

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
    Mailbox(DomainMailboxCmd),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Subcommand, Debug)]
pub enum DomainMailboxCmd {
    /// Show or change a domain's mailbox settings (lockout, recycle bin, client host, catch-all).
    MailboxSettings(MailboxSettingsArgs),
    /// Show, replace or clear a domain's pickup rules (first match wins).
    PickupRules {
        domain: String,
        /// A rule PATTERN=MAILBOX, e.g. 'tiktok_{number}=ann@example.com'; repeat in order.
        #[arg(long = "rule", value_name = "PATTERN=MAILBOX")]
        rules: Vec<String>,
        /// Remove every rule.
        #[arg(long, conflicts_with = "rules")]
        clear: bool,
    },
}

#[derive(Args, Debug)]
pub struct MailboxSettingsArgs {
    domain: String,
    /// Failed logins in a row that lock an account (1–100).
    #[arg(long)]
    lockout_threshold: Option<u32>,
    /// Days a deleted account stays in the recycle bin (1–3650).
    #[arg(long)]
    retention_days: Option<u32>,
    /// Host name mail clients connect to ("" for mail.<domain>).
    #[arg(long)]
    mail_host: Option<String>,
    /// Catch-all collection on or off.
    #[arg(long, value_enum)]
    catch_all: Option<OnOff>,
    /// The mailbox that collects ("" to clear).
    #[arg(long)]
    catch_all_target: Option<String>,
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

/// `postdesk domain …`
pub async fn run(b: &dyn Backend, cmd: &DomainCmd, json: bool) -> Result<()> {
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
            let list =
                crate::output::every_page(|after, limit| b.list_domains(ListDomains { after, limit: Some(limit) }))
                    .await?;
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
        DomainCmd::Mailbox(cmd) => mailbox(b, cmd, json).await,
    }
}

async fn mailbox(b: &dyn Backend, cmd: &DomainMailboxCmd, json: bool) -> Result<()> {
    match cmd {
        DomainMailboxCmd::MailboxSettings(a) => {
            let changes = a.lockout_threshold.is_some()
                || a.retention_days.is_some()
                || a.mail_host.is_some()
                || a.catch_all.is_some()
                || a.catch_all_target.is_some();
            let settings = if changes {
                b.update_mailbox_settings(UpdateMailboxSettings {
                    domain: a.domain.clone(),
                    lockout_threshold: a.lockout_threshold,
                    retention_days: a.retention_days,
                    mail_host: a.mail_host.clone(),
                    catch_all: a.catch_all.map(|c| matches!(c, OnOff::On)),
                    catch_all_target: a.catch_all_target.clone(),
                })
                .await?
            } else {
                b.get_mailbox_settings(GetMailboxSettings { domain: a.domain.clone() }).await?
            };
            print_one(json, &settings)
        }
        DomainMailboxCmd::PickupRules { domain, rules, clear } => {
            let settings = if rules.is_empty() && !clear {
                b.get_mailbox_settings(GetMailboxSettings { domain: domain.clone() }).await?
            } else {
                let rules = rules
                    .iter()
                    .map(|r| {
                        r.split_once('=')
                            .map(|(p, t)| PickupRule { pattern: p.trim().into(), target: t.trim().into() })
                            .ok_or_else(|| {
                                Error::validation(format!("'{r}' is not PATTERN=MAILBOX")).with_field("rule")
                            })
                    })
                    .collect::<Result<Vec<_>>>()?;
                b.set_pickup_rules(SetPickupRules { domain: domain.clone(), rules }).await?
            };
            let mut t = Table::new(&["#", "PATTERN", "MAILBOX"]);
            for (i, r) in settings.pickup_rules.iter().enumerate() {
                t.row(vec![(i + 1).to_string(), r.pattern.clone(), r.target.clone()]);
            }
            print_list(json, &settings.pickup_rules, t, None)
        }
    }
}
