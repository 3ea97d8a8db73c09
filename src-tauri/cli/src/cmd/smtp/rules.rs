//! `postdesk smtp rules …`: the black/white list, checked in order (the first match decides).

use std::path::PathBuf;

use base64::Engine as _;
use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::smtp::*;
use postdesk_contract::{Backend, Error, Result};

use crate::io::{read_file, with_every_row, write_file};
use crate::output::{Table, print_list, print_one};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    SenderAddress,
    SenderDomain,
    ClientIp,
}

impl From<KindArg> for SmtpRuleKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::SenderAddress => SmtpRuleKind::SenderAddress,
            KindArg::SenderDomain => SmtpRuleKind::SenderDomain,
            KindArg::ClientIp => SmtpRuleKind::ClientIp,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ActionArg {
    Reject,
    Discard,
    Allow,
}

impl From<ActionArg> for SmtpRuleAction {
    fn from(a: ActionArg) -> Self {
        match a {
            ActionArg::Reject => SmtpRuleAction::Reject,
            ActionArg::Discard => SmtpRuleAction::Discard,
            ActionArg::Allow => SmtpRuleAction::Allow,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// List the rules in order.
    List,
    /// Add a rule (at the end unless --position is given).
    Add {
        /// Unique name; refusals are counted under it.
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Sender address, sender domain, or client IP / CIDR network.
        #[arg(long)]
        value: String,
        #[arg(long, value_enum)]
        action: ActionArg,
        #[arg(long)]
        note: Option<String>,
        /// Place in the list, 1 = first.
        #[arg(long)]
        position: Option<u32>,
    },
    /// Change a rule (by name or id).
    Update {
        rule: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        #[arg(long)]
        value: Option<String>,
        #[arg(long, value_enum)]
        action: Option<ActionArg>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Remove a rule (by name or id).
    Remove { rule: String },
    /// Move a rule (by name or id) to a place in the list, 1 = first.
    Move { rule: String, position: u32 },
    /// Import rules from an XLSX file (all or nothing; problems listed by row and column).
    Import {
        file: PathBuf,
        /// Replace the existing rules instead of appending after them.
        #[arg(long)]
        replace: bool,
    },
    /// Export the rules to an XLSX file (the import template's columns).
    Export { file: PathBuf },
    /// Write the XLSX import template.
    Template { file: PathBuf },
}

fn rules_table(rules: &[SmtpRule]) -> Table {
    let mut t = Table::new(&["POS", "ID", "NAME", "KIND", "VALUE", "ACTION", "NOTE"]);
    for r in rules {
        t.row(vec![
            r.position.to_string(),
            r.id.to_string(),
            r.name.clone(),
            r.kind.as_str().into(),
            r.value.clone(),
            r.action.as_str().into(),
            r.note.clone(),
        ]);
    }
    t
}

/// Every rule, in order (page after page).
async fn all_rules(b: &dyn Backend) -> Result<Vec<postdesk_contract::smtp::SmtpRule>> {
    crate::output::every_page(|after, limit| b.list_smtp_rules(ListSmtpRules { after, limit: Some(limit) })).await
}

/// A rule by name (case-insensitive) or id.
async fn find(b: &dyn Backend, rule: &str) -> Result<u32> {
    let rules = all_rules(b).await?;
    if let Some(r) = rules.iter().find(|r| r.name.eq_ignore_ascii_case(rule.trim())) {
        return Ok(r.id);
    }
    match rule.trim().parse::<u32>() {
        Ok(id) if rules.iter().any(|r| r.id == id) => Ok(id),
        _ => Err(Error::not_found(format!("there is no SMTP rule named or numbered '{rule}'")).with_field("rule")),
    }
}

/// `postdesk smtp rules …`
pub async fn run(b: &dyn Backend, cmd: &RulesCmd, json: bool) -> Result<()> {
    match cmd {
        RulesCmd::List => {
            let rules = all_rules(b).await?;
            print_list(json, &rules, rules_table(&rules), None)
        }
        RulesCmd::Add { name, kind, value, action, note, position } => {
            let p = AddSmtpRule {
                name: name.clone(),
                kind: (*kind).into(),
                value: value.clone(),
                action: (*action).into(),
                note: note.clone(),
                position: *position,
            };
            print_one(json, &b.add_smtp_rule(p).await?)
        }
        RulesCmd::Update { rule, name, kind, value, action, note } => {
            let p = UpdateSmtpRule {
                id: find(b, rule).await?,
                name: name.clone(),
                kind: kind.map(Into::into),
                value: value.clone(),
                action: action.map(Into::into),
                note: note.clone(),
            };
            print_one(json, &b.update_smtp_rule(p).await?)
        }
        RulesCmd::Remove { rule } => {
            b.remove_smtp_rule(RemoveSmtpRule { id: find(b, rule).await? }).await?;
            if !json {
                println!("removed rule {rule}");
            }
            Ok(())
        }
        RulesCmd::Move { rule, position } => {
            let rules = b.move_smtp_rule(MoveSmtpRule { id: find(b, rule).await?, position: *position }).await?;
            print_list(json, &rules, rules_table(&rules), None)
        }
        RulesCmd::Import { file, replace } => {
            let bytes = read_file(file)?;
            let p = ImportSmtpRules {
                file_name: file.file_name().map_or_else(|| "rules.xlsx".into(), |n| n.to_string_lossy().into_owned()),
                content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                mode: Some(if *replace { SmtpImportMode::Replace } else { SmtpImportMode::Append }),
            };
            let done = b.import_smtp_rules(p).await.map_err(with_every_row)?;
            if json {
                return print_one(true, &done);
            }
            println!("imported {} rules ({} removed first)", done.added, done.removed);
            Ok(())
        }
        RulesCmd::Export { file } => {
            let exported = b.export_smtp_rules(ExportSmtpRules {}).await?;
            write_file(file, &exported)?;
            if !json {
                println!("exported {} rules to {}", exported.rows, file.display());
            }
            Ok(())
        }
        RulesCmd::Template { file } => {
            write_file(file, &b.smtp_rules_template(SmtpRulesTemplate {}).await?)?;
            if !json {
                println!("wrote the rules import template to {}", file.display());
            }
            Ok(())
        }
    }
}
