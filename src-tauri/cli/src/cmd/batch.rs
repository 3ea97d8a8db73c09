//! `postdesk batch …`: password resets, clearing security questions, the batch list, undo.

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::settings::UndoState;
use postdesk_contract::{Backend, Result};

use crate::args::TargetArgs;
use crate::io::read_password;
use crate::output::{Table, print_list, print_outcome};

#[derive(Subcommand, Debug)]
pub enum BatchCmd {
    /// Reset the passwords of a department's or a selection's accounts: prompted twice on
    /// a terminal, or one line from stdin. Unlocks locked accounts. Cannot be undone.
    ResetPassword {
        #[command(flatten)]
        target: TargetArgs,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Require a change at first logon.
        #[arg(long)]
        force_change: bool,
    },
    /// Clear the security questions of a department's or a selection's accounts.
    ClearSecurityQuestions {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// A domain's recent batches, newest first.
    List {
        domain: String,
        /// Batches to show, newest first (walks as many pages as it takes).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Undo a settings batch (refused when anything it touched changed since).
    Undo { domain: String, id: u32 },
}

/// `postdesk batch …`
pub async fn run(b: &dyn Backend, cmd: &BatchCmd, json: bool) -> Result<()> {
    match cmd {
        BatchCmd::ResetPassword { target, password_stdin, force_change } => {
            let (domain, target) = target.resolve(b).await?;
            let password = read_password(*password_stdin)?;
            let p = ResetPasswords { domain, target, password, force_password_change: Some(*force_change) };
            print_outcome(json, &b.reset_passwords(p).await?)
        }
        BatchCmd::ClearSecurityQuestions { target } => {
            let (domain, target) = target.resolve(b).await?;
            print_outcome(json, &b.clear_security_questions(ClearSecurityQuestions { domain, target }).await?)
        }
        BatchCmd::List { domain, limit } => {
            let (list, more) = crate::output::pages_upto(Some(*limit), |after, limit| {
                b.list_batches(ListBatches { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["ID", "AT", "ACTOR", "ACTION", "TARGET", "ACCOUNTS", "UNDO", "SUMMARY"]);
            for x in &list {
                let undo = match x.undo {
                    UndoState::Available => "available",
                    UndoState::Undone => "undone",
                    UndoState::NotUndoable => "not undoable",
                };
                t.row(vec![
                    x.id.to_string(),
                    x.at.clone(),
                    x.actor.clone(),
                    x.action.clone(),
                    x.target.clone(),
                    x.accounts.to_string(),
                    undo.into(),
                    x.summary.clone(),
                ]);
            }
            print_list(json, &list, t, None)?;
            if more && !json {
                println!("(the {} newest; older ones with a larger --limit)", list.len());
            }
            Ok(())
        }
        BatchCmd::Undo { domain, id } => {
            print_outcome(json, &b.undo_batch(UndoBatch { domain: domain.clone(), id: *id }).await?)
        }
    }
}
