//! `postdesk dns …`: checks, the records to publish for a domain, DKIM keys.

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum DnsCmd {
    /// Check MX, SPF, DKIM, DMARC and CNAME records of any domains (straight from DNS).
    Check(postdesk_dns::cli::DnsCheckArgs),
    /// The records to publish for a domain of the backend, checked live.
    Setup {
        domain: String,
        /// Host name of the mail server (MX and login CNAME target).
        #[arg(long)]
        mail_host: String,
        /// The server's public address, for SPF.
        #[arg(long)]
        server_ip: Option<String>,
    },
    /// DKIM keys of the local server.
    #[command(subcommand)]
    Keys(DkimCmd),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgorithmArg {
    Rsa2048,
    Ed25519,
}

#[derive(Subcommand, Debug)]
pub enum DkimCmd {
    /// Generate a key and make it the active one (the previous key is retired).
    Create {
        domain: String,
        #[arg(long, value_enum, default_value = "rsa2048")]
        algorithm: AlgorithmArg,
        /// Selector (default: pd<date>).
        #[arg(long)]
        selector: Option<String>,
    },
    /// List a domain's keys.
    List { domain: String },
    /// Remove a retired key.
    Remove { domain: String, selector: String },
}

/// `postdesk dns setup|keys …`; `dns check` needs no backend and runs from `main`.
pub async fn run(b: &dyn Backend, cmd: &DnsCmd, json: bool) -> Result<()> {
    match cmd {
        DnsCmd::Check(_) => unreachable!("handled in main"),
        DnsCmd::Setup { domain, mail_host, server_ip } => setup(b, domain, mail_host, server_ip.clone(), json).await,
        DnsCmd::Keys(cmd) => keys(b, cmd, json).await,
    }
}

/// `postdesk dns keys …`
async fn keys(b: &dyn Backend, cmd: &DkimCmd, json: bool) -> Result<()> {
    match cmd {
        DkimCmd::Create { domain, algorithm, selector } => {
            let algorithm = Some(match algorithm {
                AlgorithmArg::Rsa2048 => postdesk_dns::DkimAlgorithm::Rsa2048,
                AlgorithmArg::Ed25519 => postdesk_dns::DkimAlgorithm::Ed25519,
            });
            let key = b
                .create_dkim_key(CreateDkimKey { domain: domain.clone(), algorithm, selector: selector.clone() })
                .await?;
            if json {
                return print_one(true, &key);
            }
            println!(
                "Publish this TXT record, then check it with `postdesk dns setup`:\n{} TXT \"{}\"",
                key.record_name, key.record_value
            );
            Ok(())
        }
        DkimCmd::List { domain } => {
            let keys = crate::output::every_page(|after, limit| {
                b.list_dkim_keys(ListDkimKeys { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            let mut t = Table::new(&["SELECTOR", "ALGORITHM", "STATE", "CREATED", "RECORD NAME"]);
            for k in &keys {
                let algorithm = serde_json::to_value(k.algorithm)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let state = if k.active { "active" } else { "retired" };
                t.row(vec![k.selector.clone(), algorithm, state.into(), k.created_at.clone(), k.record_name.clone()]);
            }
            print_list(json, &keys, t, None)
        }
        DkimCmd::Remove { domain, selector } => {
            b.remove_dkim_key(RemoveDkimKey { domain: domain.clone(), selector: selector.clone() }).await
        }
    }
}

/// `postdesk dns setup`: the records to publish, each with the live status of its check.
/// Exit status 1 when any check fails, like `dns check`.
async fn setup(b: &dyn Backend, domain: &str, mail_host: &str, server_ip: Option<String>, json: bool) -> Result<()> {
    let plan = b.dns_setup(DnsSetup { domain: domain.into(), mail_host: mail_host.into(), server_ip }).await?;
    if json {
        print_one(true, &plan)?;
    } else {
        let statuses = plan.report.main_statuses();
        let mut t = Table::new(&["CHECK", "STATUS", "NAME", "TYPE", "VALUE"]);
        for r in &plan.records {
            let status = statuses
                .iter()
                .find(|(name, _)| *name == r.check)
                .map_or("-".to_string(), |(_, s)| format!("{s:?}").to_lowercase());
            t.row(vec![r.check.clone(), status, r.name.clone(), r.record_type.clone(), r.value.clone()]);
        }
        print_list(false, &plan.records, t, None)?;
        for (check, finding) in plan.report.all_findings() {
            if finding.severity != postdesk_dns::Severity::Info {
                println!("{check}: {}", finding.message);
            }
        }
    }
    if plan.report.passed() {
        Ok(())
    } else {
        Err(Error::validation(format!("{domain}: some DNS checks fail; publish the records above and run this again")))
    }
}
