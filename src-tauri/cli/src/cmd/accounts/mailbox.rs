//! The mailbox commands of `postdesk accounts`: the XLSX template, import and export, the
//! recycle bin, cleaning and entering a mailbox. Each maps onto `Backend` operations.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Error, Result};

use crate::args::AccountFilter;
use crate::io::{read_file, with_every_row, write_file};
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
    if let Some(note) = &view.client_note {
        println!("client settings: {note}");
    }
    if !view.client.is_empty() {
        let mut t = Table::new(&["PROTOCOL", "HOST", "PORT", "SECURITY", "FOR THIS ACCOUNT"]);
        for e in &view.client {
            let security = match e.security {
                Security::Tls => "TLS",
                Security::StartTls => "STARTTLS",
            };
            let state = match (&e.note, e.allowed) {
                (Some(note), _) => note.clone(),
                (None, true) => "on".into(),
                (None, false) => "off".into(),
            };
            t.row(vec![e.protocol.to_uppercase(), e.host.clone(), e.port.to_string(), security.into(), state]);
        }
        t.print();
    }
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
            let list = crate::output::every_page(|after, limit| {
                b.list_recycle_bin(ListRecycleBin { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
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
            print_list(json, &page, t, Some((page.offset, page.items.len(), page.total_words())))
        }
    }
}
