//! `postdesk outbound`: the outbound queue (per recipient: status, attempts, next attempt,
//! last reply; retry now, bounce now, delete) and the transport table (fixed routes by
//! recipient domain, like Postfix's `transport_maps`), and the smarthost relays
//! ([`relay`](super::relay)).

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::outbound::RecipientStatus;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum OutboundCmd {
    /// The queue, newest first: one line per recipient.
    Queue {
        /// Only messages with a recipient in this state.
        #[arg(long, value_enum)]
        status: Option<Status>,
        /// Only messages with a recipient at this domain.
        #[arg(long)]
        domain: Option<String>,
        /// Only messages from this sender.
        #[arg(long)]
        sender: Option<String>,
        /// Messages to show, newest first (walks as many pages as it takes).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Try a queued message's waiting recipients again now.
    Retry { id: i64 },
    /// Give a queued message's waiting recipients up now (the sender gets a DSN).
    Bounce { id: i64 },
    /// Remove a message from the queue (the sender is not told).
    Delete { id: i64 },
    /// The transport table.
    #[command(subcommand)]
    Transports(TransportsCmd),
    /// The smarthost relays (all outbound mail, or a sender domain's).
    #[command(subcommand)]
    Relay(super::relay::RelayCmd),
}

#[derive(Subcommand, Debug)]
pub enum TransportsCmd {
    /// List the fixed routes.
    List,
    /// Send mail for DOMAIN (or `*`, every other domain) to HOST:PORT instead of its MX hosts.
    Set { domain: String, host: String, port: u16 },
    /// Remove DOMAIN's fixed route.
    Remove { domain: String },
}

/// A recipient's state, for `--status`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Status {
    /// Not tried yet.
    Queued,
    /// Failed temporarily; tried again later.
    Deferred,
    /// Accepted by the remote server.
    Delivered,
    /// Given up; the sender was told.
    Bounced,
}

/// `postdesk outbound …`
pub async fn run(b: &dyn Backend, cmd: &OutboundCmd, json: bool) -> Result<()> {
    match cmd {
        OutboundCmd::Queue { status, domain, sender, limit } => {
            let status = status.map(|s| match s {
                Status::Queued => RecipientStatus::Queued,
                Status::Deferred => RecipientStatus::Deferred,
                Status::Delivered => RecipientStatus::Delivered,
                Status::Bounced => RecipientStatus::Bounced,
            });
            let (queue, more) = crate::output::pages_upto(Some(*limit), |after, limit| {
                let p = ListOutboundQueue {
                    status,
                    domain: domain.clone(),
                    sender: sender.clone(),
                    after,
                    limit: Some(limit),
                };
                b.list_outbound_queue(p)
            })
            .await?;
            let mut t =
                Table::new(&["ID", "QUEUED", "SENDER", "RECIPIENT", "STATUS", "ATTEMPTS", "NEXT", "LAST REPLY"]);
            for m in &queue {
                for r in &m.recipients {
                    t.row(vec![
                        m.id.to_string(),
                        m.created_at.clone(),
                        if m.sender.is_empty() { "<>".into() } else { m.sender.clone() },
                        r.address.clone(),
                        r.status.name().into(),
                        r.attempts.to_string(),
                        r.next_attempt_at.clone().unwrap_or_else(|| "-".into()),
                        r.last_reply.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
            }
            print_list(json, &queue, t, None)?;
            if more && !json {
                println!("(the {} newest messages; older ones with a larger --limit)", queue.len());
            }
            Ok(())
        }
        OutboundCmd::Retry { id } => b.retry_outbound(RetryOutbound { id: *id }).await,
        OutboundCmd::Bounce { id } => b.bounce_outbound(BounceOutbound { id: *id }).await,
        OutboundCmd::Delete { id } => b.delete_outbound(DeleteOutbound { id: *id }).await,
        OutboundCmd::Transports(TransportsCmd::List) => {
            let all = crate::output::every_page(|after, limit| {
                b.list_transports(ListTransports { after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["DOMAIN", "HOST", "PORT"]);
            for r in &all {
                t.row(vec![r.domain.clone(), r.host.clone(), r.port.to_string()]);
            }
            print_list(json, &all, t, None)
        }
        OutboundCmd::Transports(TransportsCmd::Set { domain, host, port }) => {
            let p = SetTransport { domain: domain.clone(), host: host.clone(), port: *port };
            print_one(json, &b.set_transport(p).await?)
        }
        OutboundCmd::Relay(cmd) => super::relay::run(b, cmd, json).await,
        OutboundCmd::Transports(TransportsCmd::Remove { domain }) => {
            b.remove_transport(RemoveTransport { domain: domain.clone() }).await
        }
    }
}
