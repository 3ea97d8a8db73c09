//! `postdesk trace`: the message trace — what the server did with each message (accepted
//! or refused, filed into INBOX or Junk, queued, delivered, deferred, bounced) — searched,
//! one message's steps in plain words, exported; and how long it is kept.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::trace::{ExportFormat, TraceStage};
use postdesk_contract::{Backend, Result};

use crate::io::write_file;
use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum TraceCmd {
    /// Messages, newest first, filtered.
    Search(SearchArgs),
    /// One message with every step in plain words.
    Show {
        /// Its trace id (the ID column of `trace search`).
        id: i64,
    },
    /// Writes the messages of a filter to a CSV or XLSX file.
    Export {
        #[command(flatten)]
        filter: Filter,
        /// The file to write (.csv or .xlsx by --format).
        #[arg(long)]
        out: PathBuf,
        /// csv or xlsx.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
    /// How many days records are kept; with DAYS, sets it.
    Retention {
        /// Days to keep records (1–3650).
        days: Option<u32>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Csv,
    Xlsx,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Outcome {
    Accepted,
    Refused,
    Inbox,
    Junk,
    NotDelivered,
    Queued,
    Delivered,
    Deferred,
    Bounced,
    Discarded,
}

impl From<Outcome> for TraceStage {
    fn from(o: Outcome) -> TraceStage {
        match o {
            Outcome::Accepted => TraceStage::Accepted,
            Outcome::Refused => TraceStage::Refused,
            Outcome::Inbox => TraceStage::Inbox,
            Outcome::Junk => TraceStage::Junk,
            Outcome::NotDelivered => TraceStage::NotDelivered,
            Outcome::Queued => TraceStage::Queued,
            Outcome::Delivered => TraceStage::Delivered,
            Outcome::Deferred => TraceStage::Deferred,
            Outcome::Bounced => TraceStage::Bounced,
            Outcome::Discarded => TraceStage::Discarded,
        }
    }
}

#[derive(Args, Debug)]
pub struct Filter {
    /// Only messages from or to this address.
    #[arg(long)]
    address: Option<String>,
    /// Only messages from or to an address at this domain.
    #[arg(long)]
    domain: Option<String>,
    /// Only messages with this Message-ID.
    #[arg(long)]
    message_id: Option<String>,
    /// Only messages that went through this step.
    #[arg(long, value_enum)]
    outcome: Option<Outcome>,
    /// Only messages seen at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only messages seen before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    filter: Filter,
    /// Continue after this cursor (the `next` of the previous page).
    #[arg(long)]
    after: Option<String>,
    /// Messages to show, 1–1000.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

/// `postdesk trace …`
pub async fn run(b: &dyn Backend, cmd: &TraceCmd, json: bool) -> Result<()> {
    match cmd {
        TraceCmd::Search(a) => {
            let f = &a.filter;
            let p = ListMessageTrace {
                address: f.address.clone(),
                domain: f.domain.clone(),
                message_id: f.message_id.clone(),
                outcome: f.outcome.map(Into::into),
                since: f.since.clone(),
                until: f.until.clone(),
                after: a.after.clone(),
                limit: Some(a.limit),
            };
            let page = b.list_message_trace(p).await?;
            let mut t = Table::new(&["ID", "AT", "FROM", "TO", "CLIENT", "OUTCOME"]);
            for m in &page.items {
                let from = if m.sender.is_empty() { "<>".to_string() } else { m.sender.clone() };
                t.row(vec![
                    m.id.to_string(),
                    m.at.clone(),
                    from,
                    m.recipients.join(", "),
                    m.client.clone(),
                    m.outcome_text.clone(),
                ]);
            }
            print_list(json, &page, t, None)?;
            if !json && let Some(next) = &page.next {
                println!("(more: --after '{next}')");
            }
            Ok(())
        }
        TraceCmd::Show { id } => {
            let d = b.get_message_trace(GetMessageTrace { id: *id }).await?;
            if json {
                return print_one(true, &d);
            }
            let m = &d.message;
            println!("Message {} at {}", m.id, m.at);
            println!("  From:       {}", if m.sender.is_empty() { "<> (a bounce)" } else { &m.sender });
            println!("  To:         {}", m.recipients.join(", "));
            println!("  Client:     {}", m.client);
            if let Some(a) = &m.account {
                println!("  Signed in:  {a}");
            }
            if let Some(size) = m.size {
                println!("  Size:       {size} bytes");
            }
            if let Some(id) = &m.message_id {
                println!("  Message-ID: {id}");
            }
            for s in &d.steps {
                println!("{}  {}", s.at, s.text);
            }
            Ok(())
        }
        TraceCmd::Export { filter: f, out, format } => {
            let p = ExportMessageTrace {
                address: f.address.clone(),
                domain: f.domain.clone(),
                message_id: f.message_id.clone(),
                outcome: f.outcome.map(Into::into),
                since: f.since.clone(),
                until: f.until.clone(),
                format: Some(match format {
                    Format::Csv => ExportFormat::Csv,
                    Format::Xlsx => ExportFormat::Xlsx,
                }),
            };
            let file = b.export_message_trace(p).await?;
            write_file(out, &file)?;
            if json {
                return print_one(true, &serde_json::json!({ "file": out, "rows": file.rows }));
            }
            println!("{} messages written to {}", file.rows, out.display());
            Ok(())
        }
        TraceCmd::Retention { days } => {
            let settings = match days {
                Some(d) => b.update_trace_settings(UpdateTraceSettings { retention_days: *d }).await?,
                None => b.get_trace_settings(GetTraceSettings {}).await?,
            };
            if json {
                return print_one(true, &settings);
            }
            println!("Message trace records are kept {} days.", settings.retention_days);
            Ok(())
        }
    }
}
