//! Mailbox management commands: the XLSX template, import and export, the recycle bin,
//! cleaning and entering a mailbox, a domain's mailbox settings and pickup rules, and the
//! address resolver. Each maps onto `Backend` operations.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Error, Result};

use crate::commands::AccountFilter;
use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum MailboxCmd {
    /// Write the XLSX import template (header row and column help) to FILE.
    Template { file: PathBuf },
    /// Import accounts from an XLSX file: every row is checked first; any problem refuses
    /// the whole file, listed by row and column, and nothing is written.
    Import {
        file: PathBuf,
        /// Domain the accounts belong to.
        #[arg(long)]
        domain: String,
        /// Do not require accounts given a password to change it at first logon.
        #[arg(long)]
        no_force_change: bool,
    },
    /// Export a domain's accounts (of a filter) to an XLSX file; never passwords.
    Export {
        file: PathBuf,
        #[arg(long)]
        domain: String,
        #[command(flatten)]
        filter: AccountFilter,
    },
    /// List a domain's recycle bin.
    RecycleBin { domain: String },
    /// Restore a deleted account from the recycle bin (once).
    Restore { address: String },
    /// Move all mail of a deleted account into another mailbox.
    Transfer {
        address: String,
        /// The mailbox that receives the mail.
        #[arg(long)]
        to: String,
    },
    /// Delete every message of a mailbox (cannot be undone).
    Clean {
        address: String,
        /// Confirm: delete them.
        #[arg(long)]
        yes: bool,
    },
    /// Client settings, login state and folders of a mailbox ("enter mailbox").
    Mailbox { address: String },
    /// Messages of a folder, newest first (headers only).
    Messages {
        address: String,
        #[arg(long, default_value = "INBOX")]
        folder: String,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
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

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read {}: {e}", path.display())).with_field("file");
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > postdesk_xlsx::MAX_FILE_BYTES as u64 {
        return Err(Error::validation(format!(
            "{} has {len} bytes; an import file may have at most {} bytes (1 MB)",
            path.display(),
            postdesk_xlsx::MAX_FILE_BYTES
        ))
        .with_field("file"));
    }
    std::fs::read(path).map_err(io)
}

pub(crate) fn write_file(path: &Path, file: &ExportedFile) -> Result<()> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&file.content_base64)
        .map_err(|e| Error::internal(format!("the backend sent a file that is not base64: {e}")))?;
    std::fs::write(path, bytes)
        .map_err(|e| Error::validation(format!("cannot write {}: {e}", path.display())).with_field("file"))
}

/// A refusal that lists problems by row: every row in the message, not just the first ones.
pub(crate) fn with_every_row(e: Error) -> Error {
    if e.rows.is_empty() {
        return e;
    }
    let first = e.message.lines().next().unwrap_or_default().to_string();
    let listed: Vec<String> = e.rows.iter().map(|r| r.to_string()).collect();
    Error { message: format!("{first}\n{}", listed.join("\n")), ..e }
}

fn phase_name(phase: ImportPhase) -> &'static str {
    match phase {
        ImportPhase::Hashing => "hashing passwords",
        ImportPhase::Writing => "writing accounts",
        ImportPhase::Done => "done",
        ImportPhase::Failed => "failed",
    }
}

async fn import(b: &dyn Backend, file: &Path, domain: &str, force: bool, json: bool) -> Result<()> {
    let bytes = read_file(file)?;
    let p = StartImport {
        domain: domain.to_string(),
        file_name: file.file_name().map_or_else(|| "import.xlsx".into(), |n| n.to_string_lossy().into_owned()),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        force_password_change: Some(force),
    };
    let mut job = b.start_import(p).await.map_err(with_every_row)?;
    let live = std::io::stderr().is_terminal() && !json;
    let mut last = None;
    loop {
        if live {
            eprint!("\r{}: {} / {}   ", phase_name(job.phase), job.done, job.total);
            let _ = std::io::stderr().flush();
        } else if last != Some(job.phase) && !json {
            eprintln!("{}…", phase_name(job.phase));
        }
        last = Some(job.phase);
        match job.phase {
            ImportPhase::Done => break,
            ImportPhase::Failed => {
                if live {
                    eprintln!();
                }
                return Err(with_every_row(
                    job.error.unwrap_or_else(|| Error::internal("the import failed without saying why")),
                ));
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        job = b.import_status(ImportStatus { id: job.id.clone() }).await?;
    }
    if live {
        eprintln!();
    }
    if json {
        return print_one(true, &job);
    }
    println!("imported {} accounts into {}", job.accounts, job.domain);
    if !job.new_departments.is_empty() {
        println!("new departments: {}", job.new_departments.join(", "));
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn print_mailbox(view: &MailboxView) {
    println!("{} ({})", view.address, view.status.as_str());
    match &view.login_note {
        Some(note) => println!("login: {note}"),
        None => println!("login: ready (user name {})", view.address),
    }
    println!("stored: {} messages, {} of {} MiB", view.messages, size(view.used_bytes), view.quota_mb);
    println!();
    let mut t = Table::new(&["PROTOCOL", "HOST", "PORT", "SECURITY"]);
    for e in &view.client {
        let security = match e.security {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS",
        };
        t.row(vec![e.protocol.to_uppercase(), e.host.clone(), e.port.to_string(), security.into()]);
    }
    t.print();
    println!();
    let mut t = Table::new(&["FOLDER", "MESSAGES", "UNSEEN", "SIZE"]);
    for f in &view.folders {
        t.row(vec![f.name.clone(), f.messages.to_string(), f.unseen.to_string(), size(f.size_bytes)]);
    }
    t.print();
}

pub async fn run(b: &dyn Backend, cmd: &MailboxCmd, json: bool) -> Result<()> {
    match cmd {
        MailboxCmd::Template { file } => {
            let template = b.accounts_template(AccountsTemplate {}).await?;
            write_file(file, &template)?;
            if !json {
                println!("wrote the import template to {}", file.display());
            }
            Ok(())
        }
        MailboxCmd::Import { file, domain, no_force_change } => import(b, file, domain, !no_force_change, json).await,
        MailboxCmd::Export { file, domain, filter: f } => {
            let p = ExportAccounts {
                domain: domain.clone(),
                query: f.query.clone(),
                department: f.dept.clone(),
                subdepartments: Some(!f.no_subdepts),
                status: f.status.map(Into::into),
                sort: Some(f.sort.into()),
                descending: Some(f.desc),
            };
            let exported = b.export_accounts(p).await?;
            write_file(file, &exported)?;
            if !json {
                println!("exported {} accounts to {}", exported.rows, file.display());
            }
            Ok(())
        }
        MailboxCmd::RecycleBin { domain } => {
            let list = b.list_recycle_bin(ListRecycleBin { domain: domain.clone() }).await?;
            let mut t = Table::new(&["ADDRESS", "DELETED", "BY", "PURGE AFTER", "MESSAGES", "SIZE", "STATE"]);
            for e in &list {
                let state = match (&e.restored_at, &e.transferred_to) {
                    (Some(at), _) => format!("restored {at}"),
                    (None, Some(to)) if e.restorable => format!("mail moved to {to}; restorable"),
                    (None, Some(to)) => format!("mail moved to {to}"),
                    (None, None) if e.restorable => "restorable".into(),
                    (None, None) => "waiting to be purged".into(),
                };
                t.row(vec![
                    e.address.clone(),
                    e.deleted_at.clone(),
                    e.deleted_by.clone(),
                    e.purge_after.clone(),
                    e.messages.to_string(),
                    size(e.size_bytes),
                    state,
                ]);
            }
            print_list(json, &list, t, None)
        }
        MailboxCmd::Restore { address } => {
            print_one(json, &b.restore_account(RestoreAccount { address: address.clone() }).await?)
        }
        MailboxCmd::Transfer { address, to } => {
            let moved = b.transfer_mail(TransferMail { address: address.clone(), to: to.clone() }).await?;
            if json {
                return print_one(true, &moved);
            }
            println!(
                "moved {} messages ({}) of {} into {}, folder {}",
                moved.messages,
                size(moved.size_bytes),
                moved.from,
                moved.to,
                moved.folder
            );
            Ok(())
        }
        MailboxCmd::Clean { address, yes } => {
            if !yes {
                return Err(Error::validation(format!(
                    "cleaning deletes every message of {address} and cannot be undone; add --yes to do it"
                )));
            }
            let cleaned = b.clean_mailbox(CleanMailbox { address: address.clone(), confirm: true }).await?;
            if json {
                return print_one(true, &cleaned);
            }
            println!("deleted {} messages ({}) of {address}", cleaned.messages, size(cleaned.size_bytes));
            Ok(())
        }
        MailboxCmd::Mailbox { address } => {
            let view = b.get_mailbox(GetMailbox { address: address.clone() }).await?;
            if json {
                return print_one(true, &view);
            }
            print_mailbox(&view);
            Ok(())
        }
        MailboxCmd::Messages { address, folder, offset, limit } => {
            let p = ListMessages {
                address: address.clone(),
                folder: Some(folder.clone()),
                offset: Some(*offset),
                limit: Some(*limit),
            };
            let page = b.list_messages(p).await?;
            let mut t = Table::new(&["UID", "RECEIVED", "FROM", "SUBJECT", "SIZE"]);
            for m in &page.items {
                t.row(vec![
                    m.uid.to_string(),
                    m.received_at.clone(),
                    m.from.clone(),
                    m.subject.clone(),
                    size(m.size.into()),
                ]);
            }
            print_list(json, &page, t, Some((page.offset, page.items.len(), page.total)))
        }
    }
}

pub async fn domain(b: &dyn Backend, cmd: &DomainMailboxCmd, json: bool) -> Result<()> {
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

/// `postdesk resolve ADDRESS`: which mailboxes receive mail to it, and why.
pub async fn resolve(b: &dyn Backend, address: &str, json: bool) -> Result<()> {
    print_one(json, &b.resolve_address(ResolveAddress { address: address.to_string() }).await?)
}
