//! `postdesk policy explain …`: what would happen to a message?

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::policy::{ClientProtocol, PolicyExplanation};
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProtocolArg {
    /// From another mail server (inbound).
    Mx,
    Smtp,
    Imap,
    Pop3,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// What would happen to a message from --from to --to?
    Explain {
        /// Envelope sender ("" for a bounce).
        #[arg(long)]
        from: String,
        /// A recipient (repeat).
        #[arg(long = "to", required = true)]
        to: Vec<String>,
        /// The account that logged in (default: the sender, when it is ours).
        #[arg(long)]
        auth: Option<String>,
        /// How it arrives (default: smtp when the sender is ours, else mx).
        #[arg(long, value_enum)]
        protocol: Option<ProtocolArg>,
        /// It is an automatic forward by the sender's mailbox.
        #[arg(long)]
        auto_forward: bool,
    },
}

/// `postdesk policy explain …`
pub async fn run(b: &dyn Backend, cmd: &PolicyCmd, json: bool) -> Result<()> {
    let PolicyCmd::Explain { from, to, auth, protocol, auto_forward } = cmd;
    let p = ExplainPolicy {
        sender: from.clone(),
        recipients: to.clone(),
        authenticated_user: auth.clone(),
        protocol: protocol.map(|p| match p {
            ProtocolArg::Mx => ClientProtocol::Mx,
            ProtocolArg::Smtp => ClientProtocol::Smtp,
            ProtocolArg::Imap => ClientProtocol::Imap,
            ProtocolArg::Pop3 => ClientProtocol::Pop3,
        }),
        auto_forward: Some(*auto_forward),
    };
    let x = b.explain_policy(p).await?;
    let mut t = Table::new(&["RECIPIENT", "DECISION", "RULE", "REASON"]);
    for r in &x.decision.recipients {
        let rule = serde_json::to_value(r.rule).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let reason = match deciding_source(&x, r.setting.as_ref()) {
            Some(from) => format!("{} ({from})", r.reason),
            None => r.reason.clone(),
        };
        t.row(vec![r.recipient.clone(), if r.allowed { "allow" } else { "deny" }.into(), rule, reason]);
        for m in &r.mailboxes {
            t.row(vec![
                format!("  → {}", m.address),
                if m.allowed { "allow" } else { "deny" }.into(),
                String::new(),
                m.reason.clone(),
            ]);
        }
    }
    print_list(json, &x, t, None)
}

/// "external_send set at department Sales" for the setting that decided.
fn deciding_source(
    x: &PolicyExplanation,
    setting: Option<&postdesk_contract::policy::DecidingSetting>,
) -> Option<String> {
    let s = setting?;
    let account = x.accounts.iter().find(|a| a.address == s.account)?;
    Some(format!("{} of {}: {}", s.key.as_str(), s.account, account.values.source(s.key).label))
}
