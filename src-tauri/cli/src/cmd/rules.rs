//! `postdesk rules`: mail rules on the path of a domain — automatic BCC, disclaimers, monitoring — and the outbound
//! usage against the daily send quota.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::{ExportedFile, ImportedRows};
use postdesk_contract::rules::{DisclaimerScope, RuleDirection};
use postdesk_contract::{Backend, Result};

use crate::io::{with_every_row, write_file};
use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// Automatic blind copies of a domain's mail.
    #[command(subcommand)]
    Bcc(BccCmd),
    /// Disclaimers appended to the mail a domain's users send, tried in order.
    #[command(subcommand)]
    Disclaimer(DisclaimerCmd),
    /// Monitoring and copy rules: watched people's mail copied to a monitor mailbox or
    /// filed into a folder.
    #[command(subcommand)]
    Monitor(MonitorCmd),
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
    /// Change a BCC rule by its id: the options given replace its values, the others stay
    /// (an empty condition, `--sender ""`, matches everything).
    Update {
        domain: String,
        id: i64,
        /// The rule's new name.
        #[arg(long)]
        name: Option<String>,
        /// Which mail: received for the domain, sent by it, or both.
        #[arg(long, value_enum)]
        direction: Option<Direction>,
        /// Only mail from this address or domain ("" for any).
        #[arg(long)]
        sender: Option<String>,
        /// Only mail to this address or domain ("" for any).
        #[arg(long)]
        recipient: Option<String>,
        /// Where the copy goes.
        #[arg(long)]
        copy_to: Option<String>,
    },
    /// Remove a BCC rule by its id.
    Remove { domain: String, id: i64 },
    /// Import BCC rules into a domain from an XLSX file, after its rules (all or nothing;
    /// problems listed by row and column).
    Import { domain: String, file: PathBuf },
    /// Export a domain's BCC rules to an XLSX file (the import template's columns).
    Export { domain: String, file: PathBuf },
    /// Write the XLSX import template.
    Template { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum DisclaimerCmd {
    /// List the domain's disclaimer rules in their order (the first that fires applies).
    List { domain: String },
    /// Add a disclaimer rule, last in the order.
    Add {
        domain: String,
        #[command(flatten)]
        rule: Box<DisclaimerAdd>,
    },
    /// Change a disclaimer rule by its id, keeping its place: the options given replace its
    /// values, the others stay (an empty condition or department, `--sender ""`, clears it).
    Update {
        domain: String,
        id: i64,
        #[command(flatten)]
        rule: Box<DisclaimerUpdate>,
    },
    /// Move a disclaimer rule to POSITION (1 = tried first).
    Move { domain: String, id: i64, position: u32 },
    /// Remove a disclaimer rule by its id.
    Remove { domain: String, id: i64 },
    /// Import disclaimer rules into a domain from an XLSX file, after its rules in file order
    /// (all or nothing; problems listed by row and column).
    Import { domain: String, file: PathBuf },
    /// Export a domain's disclaimer rules, in order, to an XLSX file (the import template's columns).
    Export { domain: String, file: PathBuf },
    /// Write the XLSX import template.
    Template { file: PathBuf },
}

/// What `rules disclaimer update` may change.
#[derive(clap::Args, Debug)]
pub struct DisclaimerUpdate {
    /// The rule's new name.
    #[arg(long)]
    pub name: Option<String>,
    /// The plain-text disclaimer.
    #[arg(long, conflicts_with = "text_file")]
    pub text: Option<String>,
    /// The plain-text disclaimer, read from a file.
    #[arg(long)]
    pub text_file: Option<std::path::PathBuf>,
    /// The HTML disclaimer, read from a file.
    #[arg(long, conflicts_with = "no_html")]
    pub html_file: Option<std::path::PathBuf>,
    /// Drop the HTML disclaimer (the text, escaped, is used).
    #[arg(long)]
    pub no_html: bool,
    /// Which recipients: any, only ours (internal), or at least one elsewhere (external).
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    /// Only mail from this address or domain.
    #[arg(long)]
    pub sender: Option<String>,
    /// Only mail to this address or domain.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only mail from accounts of this department (and below).
    #[arg(long)]
    pub department: Option<String>,
    /// Except mail from this address or domain.
    #[arg(long)]
    pub except_sender: Option<String>,
    /// Except mail to this address or domain.
    #[arg(long)]
    pub except_recipient: Option<String>,
    /// Except mail from accounts of this department (and below).
    #[arg(long)]
    pub except_department: Option<String>,
}

/// What `rules disclaimer add` takes besides the domain.
#[derive(clap::Args, Debug)]
pub struct DisclaimerAdd {
    /// The rule's name.
    #[arg(long)]
    pub name: String,
    /// The plain-text disclaimer.
    #[arg(long, conflicts_with = "text_file")]
    pub text: Option<String>,
    /// The plain-text disclaimer, read from a file.
    #[arg(long)]
    pub text_file: Option<std::path::PathBuf>,
    /// The HTML disclaimer, read from a file (default: the text, escaped).
    #[arg(long)]
    pub html_file: Option<std::path::PathBuf>,
    /// Which recipients: any, only ours (internal), or at least one elsewhere (external).
    #[arg(long, value_enum, default_value_t = Scope::Any)]
    pub scope: Scope,
    /// Only mail from this address or domain.
    #[arg(long)]
    pub sender: Option<String>,
    /// Only mail to this address or domain.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only mail from accounts of this department (and below).
    #[arg(long)]
    pub department: Option<String>,
    /// Except mail from this address or domain.
    #[arg(long)]
    pub except_sender: Option<String>,
    /// Except mail to this address or domain.
    #[arg(long)]
    pub except_recipient: Option<String>,
    /// Except mail from accounts of this department (and below).
    #[arg(long)]
    pub except_department: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum MonitorCmd {
    /// List the domain's monitoring rules.
    List { domain: String },
    /// Add a monitoring rule.
    Add {
        domain: String,
        #[command(flatten)]
        rule: Box<MonitorAdd>,
    },
    /// Change a monitoring rule by its id: the options given replace its values, the others
    /// stay (an empty condition or keyword, `--sender ""`, clears it; `--min-size-kb 0` drops
    /// the size condition; a department replaces a watched account and the reverse).
    Update {
        domain: String,
        id: i64,
        #[command(flatten)]
        rule: Box<MonitorUpdate>,
    },
    /// Remove a monitoring rule by its id.
    Remove { domain: String, id: i64 },
    /// Import monitoring rules into a domain from an XLSX file (all or nothing; problems
    /// listed by row and column).
    Import { domain: String, file: PathBuf },
    /// Export a domain's monitoring rules to an XLSX file (the import template's columns).
    Export { domain: String, file: PathBuf },
    /// Write the XLSX import template.
    Template { file: PathBuf },
}

/// What `rules monitor update` may change.
#[derive(clap::Args, Debug)]
pub struct MonitorUpdate {
    /// The rule's new name.
    #[arg(long)]
    pub name: Option<String>,
    /// Watch the accounts of this department (and below); "" with no --account: everyone.
    #[arg(long, conflicts_with = "account")]
    pub department: Option<String>,
    /// Watch this one account; "" with no --department: everyone.
    #[arg(long)]
    pub account: Option<String>,
    /// Which mail: any, internal (only our domains) or external (to or from elsewhere).
    #[arg(long, value_enum)]
    pub traffic: Option<Traffic>,
    /// Only mail from this address or domain.
    #[arg(long)]
    pub sender: Option<String>,
    /// Only mail to this address or domain.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only messages of at least this many KB (0: any size).
    #[arg(long)]
    pub min_size_kb: Option<u32>,
    /// Only messages whose subject or body contains this.
    #[arg(long)]
    pub keyword: Option<String>,
    /// Except mail from this address or domain.
    #[arg(long)]
    pub except_sender: Option<String>,
    /// Except mail to this address or domain.
    #[arg(long)]
    pub except_recipient: Option<String>,
    /// Except messages whose subject or body contains this.
    #[arg(long)]
    pub except_keyword: Option<String>,
    /// Copy to this monitor mailbox (an address of ours).
    #[arg(long, conflicts_with = "folder")]
    pub copy_to: Option<String>,
    /// File the watched recipients' copies into this folder.
    #[arg(long)]
    pub folder: Option<String>,
}

/// A value given on the command line, else the rule's.
fn or_kept(given: &Option<String>, kept: &Option<String>) -> Option<String> {
    given.clone().or_else(|| kept.clone())
}

/// The rule with `id` among `all`, or the same refusal the backend gives.
fn find<T>(all: Vec<T>, id: i64, of: impl Fn(&T) -> i64, what: &str, domain: &str) -> Result<T> {
    all.into_iter()
        .find(|r| of(r) == id)
        .ok_or_else(|| postdesk_contract::Error::not_found(format!("{domain} has no {what} {id}")).with_field("id"))
}

/// Imports `file` with `import`, saying how many `what` it added.
async fn import_file<F, Fut>(json: bool, domain: &str, file: &std::path::Path, what: &str, import: F) -> Result<()>
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<ImportedRows>>,
{
    let (file_name, content_base64) = super::alias::upload(file, "rules.xlsx")?;
    let done = import(file_name, content_base64).await.map_err(with_every_row)?;
    if json {
        return print_one(true, &done);
    }
    println!("imported {} {what} into {domain}", done.added);
    Ok(())
}

/// Writes an export to `file`, saying how many `what` it holds.
fn exported_to(json: bool, file: &std::path::Path, exported: &ExportedFile, what: &str) -> Result<()> {
    write_file(file, exported)?;
    if !json {
        println!("exported {} {what} to {}", exported.rows, file.display());
    }
    Ok(())
}

/// Writes a template to `file`.
fn template_to(json: bool, file: &std::path::Path, template: &ExportedFile, what: &str) -> Result<()> {
    write_file(file, template)?;
    if !json {
        println!("wrote the {what} import template to {}", file.display());
    }
    Ok(())
}

/// What `rules monitor add` takes besides the domain.
#[derive(clap::Args, Debug)]
pub struct MonitorAdd {
    /// The rule's name.
    #[arg(long)]
    pub name: String,
    /// Watch the accounts of this department (and below).
    #[arg(long, conflicts_with = "account")]
    pub department: Option<String>,
    /// Watch this one account. Neither: everyone of the domain.
    #[arg(long)]
    pub account: Option<String>,
    /// Which mail: any, internal (only our domains) or external (to or from elsewhere).
    #[arg(long, value_enum, default_value_t = Traffic::Any)]
    pub traffic: Traffic,
    /// Only mail from this address or domain.
    #[arg(long)]
    pub sender: Option<String>,
    /// Only mail to this address or domain.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only messages of at least this many KB.
    #[arg(long)]
    pub min_size_kb: Option<u32>,
    /// Only messages whose subject or body contains this.
    #[arg(long)]
    pub keyword: Option<String>,
    /// Except mail from this address or domain.
    #[arg(long)]
    pub except_sender: Option<String>,
    /// Except mail to this address or domain.
    #[arg(long)]
    pub except_recipient: Option<String>,
    /// Except messages whose subject or body contains this.
    #[arg(long)]
    pub except_keyword: Option<String>,
    /// Copy to this monitor mailbox (an address of ours).
    #[arg(long, conflicts_with = "folder")]
    pub copy_to: Option<String>,
    /// File the watched recipients' copies into this folder.
    #[arg(long)]
    pub folder: Option<String>,
}

/// `--traffic`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Traffic {
    /// Any mail.
    Any,
    /// Only mail between our domains.
    Internal,
    /// Only mail to or from elsewhere.
    External,
}

fn monitor_table(all: &[postdesk_contract::monitor::MonitorRule]) -> Table {
    let mut t = Table::new(&["ID", "NAME", "WATCHING", "TRAFFIC", "CONDITIONS", "EXCEPT", "ACTION"]);
    let any = |v: &Option<String>, what: &str| v.as_ref().map(|v| format!("{what} {v}"));
    let join = |v: Vec<Option<String>>| {
        let v: Vec<String> = v.into_iter().flatten().collect();
        if v.is_empty() { "-".to_string() } else { v.join(", ") }
    };
    for r in all {
        let size = r.min_size_kb.map(|kb| format!(">= {kb} KB"));
        let cond = vec![any(&r.sender, "from"), any(&r.recipient, "to"), size, any(&r.keyword, "says")];
        let except =
            vec![any(&r.except_sender, "from"), any(&r.except_recipient, "to"), any(&r.except_keyword, "says")];
        let action = match r.action {
            postdesk_contract::monitor::MonitorAction::Copy => format!("copy to {}", r.target),
            postdesk_contract::monitor::MonitorAction::Folder => format!("file into {}", r.target),
        };
        t.row(vec![
            r.id.to_string(),
            r.name.clone(),
            r.scope_text(),
            r.traffic.name().into(),
            join(cond),
            join(except),
            action,
        ]);
    }
    t
}

async fn monitor(b: &dyn Backend, cmd: &MonitorCmd, json: bool) -> Result<()> {
    use postdesk_contract::monitor::{MonitorAction, MonitorTraffic};
    match cmd {
        MonitorCmd::List { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_monitor_rules(ListMonitorRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let t = monitor_table(&all);
            print_list(json, &all, t, None)
        }
        MonitorCmd::Add { domain, rule } => {
            let r = rule.as_ref();
            let (action, target) = match (&r.copy_to, &r.folder) {
                (Some(to), _) => (MonitorAction::Copy, to.clone()),
                (None, Some(f)) => (MonitorAction::Folder, f.clone()),
                (None, None) => {
                    return Err(postdesk_contract::Error::validation("give --copy-to or --folder").with_field("target"));
                }
            };
            let p = AddMonitorRule {
                domain: domain.clone(),
                name: r.name.clone(),
                scope_department: r.department.clone(),
                scope_account: r.account.clone(),
                traffic: Some(match r.traffic {
                    Traffic::Any => MonitorTraffic::Any,
                    Traffic::Internal => MonitorTraffic::Internal,
                    Traffic::External => MonitorTraffic::External,
                }),
                sender: r.sender.clone(),
                recipient: r.recipient.clone(),
                min_size_kb: r.min_size_kb,
                keyword: r.keyword.clone(),
                except_sender: r.except_sender.clone(),
                except_recipient: r.except_recipient.clone(),
                except_keyword: r.except_keyword.clone(),
                action: Some(action),
                target,
            };
            print_one(json, &b.add_monitor_rule(p).await?)
        }
        MonitorCmd::Update { domain, id, rule } => {
            let r = rule.as_ref();
            let all = crate::output::every_page(|after, limit| {
                b.list_monitor_rules(ListMonitorRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let old = find(all, *id, |r| r.id, "monitoring rule", domain)?;
            let (action, target) = match (&r.copy_to, &r.folder) {
                (Some(to), _) => (MonitorAction::Copy, to.clone()),
                (None, Some(f)) => (MonitorAction::Folder, f.clone()),
                (None, None) => (old.action, old.target.clone()),
            };
            // A department given replaces the watched account, and the reverse.
            let (scope_department, scope_account) = match (&r.department, &r.account) {
                (Some(d), _) => (Some(d.clone()), None),
                (None, Some(a)) => (None, Some(a.clone())),
                (None, None) => (old.scope_department.clone(), old.scope_account.clone()),
            };
            let p = UpdateMonitorRule {
                domain: domain.clone(),
                id: *id,
                name: r.name.clone().unwrap_or(old.name.clone()),
                scope_department,
                scope_account,
                traffic: Some(r.traffic.map_or(old.traffic, |t| match t {
                    Traffic::Any => MonitorTraffic::Any,
                    Traffic::Internal => MonitorTraffic::Internal,
                    Traffic::External => MonitorTraffic::External,
                })),
                sender: or_kept(&r.sender, &old.sender),
                recipient: or_kept(&r.recipient, &old.recipient),
                min_size_kb: match r.min_size_kb {
                    Some(0) => None,
                    Some(kb) => Some(kb),
                    None => old.min_size_kb,
                },
                keyword: or_kept(&r.keyword, &old.keyword),
                except_sender: or_kept(&r.except_sender, &old.except_sender),
                except_recipient: or_kept(&r.except_recipient, &old.except_recipient),
                except_keyword: or_kept(&r.except_keyword, &old.except_keyword),
                action: Some(action),
                target,
            };
            print_one(json, &b.update_monitor_rule(p).await?)
        }
        MonitorCmd::Remove { domain, id } => {
            b.remove_monitor_rule(RemoveMonitorRule { domain: domain.clone(), id: *id }).await
        }
        MonitorCmd::Import { domain, file } => {
            import_file(json, domain, file, "monitoring rules", |file_name, content_base64| {
                b.import_monitor_rules(ImportMonitorRules { domain: domain.clone(), file_name, content_base64 })
            })
            .await
        }
        MonitorCmd::Export { domain, file } => {
            let exported = b.export_monitor_rules(ExportMonitorRules { domain: domain.clone() }).await?;
            exported_to(json, file, &exported, "monitoring rules")
        }
        MonitorCmd::Template { file } => {
            template_to(json, file, &b.monitor_rules_template(MonitorRulesTemplate {}).await?, "monitoring rules")
        }
    }
}

/// `--scope`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Scope {
    /// Any message.
    Any,
    /// Only when every recipient is ours.
    Internal,
    /// When a recipient is elsewhere.
    External,
}

fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        postdesk_contract::Error::validation(format!("cannot read {}: {e}", path.display())).with_field("file")
    })
}

fn disclaimer_table(all: &[postdesk_contract::rules::DisclaimerRule]) -> Table {
    let mut t = Table::new(&["POS", "ID", "NAME", "SCOPE", "CONDITIONS", "EXCEPT", "TEXT"]);
    let any = |v: &Option<String>, what: &str| v.as_ref().map(|v| format!("{what} {v}"));
    for r in all {
        let cond = [any(&r.sender, "from"), any(&r.recipient, "to"), any(&r.department, "dept")];
        let except = [any(&r.except_sender, "from"), any(&r.except_recipient, "to"), any(&r.except_department, "dept")];
        let join = |v: [Option<String>; 3]| {
            let v: Vec<String> = v.into_iter().flatten().collect();
            if v.is_empty() { "-".to_string() } else { v.join(", ") }
        };
        t.row(vec![
            r.position.to_string(),
            r.id.to_string(),
            r.name.clone(),
            r.scope.name().into(),
            join(cond),
            join(except),
            r.text.lines().next().unwrap_or_default().chars().take(40).collect(),
        ]);
    }
    t
}

async fn disclaimer(b: &dyn Backend, cmd: &DisclaimerCmd, json: bool) -> Result<()> {
    match cmd {
        DisclaimerCmd::List { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_disclaimer_rules(ListDisclaimerRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let t = disclaimer_table(&all);
            print_list(json, &all, t, None)
        }
        DisclaimerCmd::Add { domain, rule } => {
            let DisclaimerAdd {
                name,
                text,
                text_file,
                html_file,
                scope,
                sender,
                recipient,
                department,
                except_sender,
                except_recipient,
                except_department,
            } = rule.as_ref();
            let text = match (text, text_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => read(f)?,
                (None, None) => {
                    return Err(postdesk_contract::Error::validation("give the disclaimer with --text or --text-file")
                        .with_field("text"));
                }
            };
            let html = match html_file {
                Some(f) => Some(read(f)?),
                None => None,
            };
            let p = AddDisclaimerRule {
                domain: domain.clone(),
                name: name.clone(),
                scope: Some(match scope {
                    Scope::Any => DisclaimerScope::Any,
                    Scope::Internal => DisclaimerScope::Internal,
                    Scope::External => DisclaimerScope::External,
                }),
                sender: sender.clone(),
                recipient: recipient.clone(),
                department: department.clone(),
                except_sender: except_sender.clone(),
                except_recipient: except_recipient.clone(),
                except_department: except_department.clone(),
                text,
                html,
            };
            print_one(json, &b.add_disclaimer_rule(p).await?)
        }
        DisclaimerCmd::Update { domain, id, rule } => {
            let r = rule.as_ref();
            let all = crate::output::every_page(|after, limit| {
                b.list_disclaimer_rules(ListDisclaimerRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let old = find(all, *id, |r| r.id, "disclaimer rule", domain)?;
            let text = match (&r.text, &r.text_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => read(f)?,
                (None, None) => old.text.clone(),
            };
            let html = match (&r.html_file, r.no_html) {
                (Some(f), _) => Some(read(f)?),
                (None, true) => None,
                (None, false) => old.html.clone(),
            };
            let p = UpdateDisclaimerRule {
                domain: domain.clone(),
                id: *id,
                name: r.name.clone().unwrap_or(old.name.clone()),
                scope: Some(r.scope.map_or(old.scope, |s| match s {
                    Scope::Any => DisclaimerScope::Any,
                    Scope::Internal => DisclaimerScope::Internal,
                    Scope::External => DisclaimerScope::External,
                })),
                sender: or_kept(&r.sender, &old.sender),
                recipient: or_kept(&r.recipient, &old.recipient),
                department: or_kept(&r.department, &old.department),
                except_sender: or_kept(&r.except_sender, &old.except_sender),
                except_recipient: or_kept(&r.except_recipient, &old.except_recipient),
                except_department: or_kept(&r.except_department, &old.except_department),
                text,
                html,
            };
            print_one(json, &b.update_disclaimer_rule(p).await?)
        }
        DisclaimerCmd::Import { domain, file } => {
            import_file(json, domain, file, "disclaimer rules", |file_name, content_base64| {
                b.import_disclaimer_rules(ImportDisclaimerRules { domain: domain.clone(), file_name, content_base64 })
            })
            .await
        }
        DisclaimerCmd::Export { domain, file } => {
            let exported = b.export_disclaimer_rules(ExportDisclaimerRules { domain: domain.clone() }).await?;
            exported_to(json, file, &exported, "disclaimer rules")
        }
        DisclaimerCmd::Template { file } => {
            let template = b.disclaimer_rules_template(DisclaimerRulesTemplate {}).await?;
            template_to(json, file, &template, "disclaimer rules")
        }
        DisclaimerCmd::Move { domain, id, position } => {
            let p = MoveDisclaimerRule { domain: domain.clone(), id: *id, position: *position };
            let all = b.move_disclaimer_rule(p).await?;
            let t = disclaimer_table(&all);
            print_list(json, &all, t, None)
        }
        DisclaimerCmd::Remove { domain, id } => {
            b.remove_disclaimer_rule(RemoveDisclaimerRule { domain: domain.clone(), id: *id }).await
        }
    }
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
        RulesCmd::Disclaimer(cmd) => return disclaimer(b, cmd, json).await,
        RulesCmd::Monitor(cmd) => return monitor(b, cmd, json).await,
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
        BccCmd::Update { domain, id, name, direction, sender, recipient, copy_to } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_bcc_rules(ListBccRules { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let old = find(all, *id, |r| r.id, "BCC rule", domain)?;
            let p = UpdateBccRule {
                domain: domain.clone(),
                id: *id,
                name: name.clone().unwrap_or(old.name.clone()),
                direction: Some(direction.map_or(old.direction, |d| match d {
                    Direction::Inbound => RuleDirection::Inbound,
                    Direction::Outbound => RuleDirection::Outbound,
                    Direction::Both => RuleDirection::Both,
                })),
                sender: or_kept(sender, &old.sender),
                recipient: or_kept(recipient, &old.recipient),
                copy_to: copy_to.clone().unwrap_or(old.copy_to.clone()),
            };
            print_one(json, &b.update_bcc_rule(p).await?)
        }
        BccCmd::Remove { domain, id } => b.remove_bcc_rule(RemoveBccRule { domain: domain.clone(), id: *id }).await,
        BccCmd::Import { domain, file } => {
            import_file(json, domain, file, "BCC rules", |file_name, content_base64| {
                b.import_bcc_rules(ImportBccRules { domain: domain.clone(), file_name, content_base64 })
            })
            .await
        }
        BccCmd::Export { domain, file } => {
            let exported = b.export_bcc_rules(ExportBccRules { domain: domain.clone() }).await?;
            exported_to(json, file, &exported, "BCC rules")
        }
        BccCmd::Template { file } => {
            template_to(json, file, &b.bcc_rules_template(BccRulesTemplate {}).await?, "BCC rules")
        }
    }
}
