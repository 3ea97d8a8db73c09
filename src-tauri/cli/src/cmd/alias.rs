//! `postdesk alias …`: distribution aliases, and their XLSX files.

use std::path::PathBuf;

use base64::Engine as _;
use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::{Backend, Result};

use crate::io::{read_file, with_every_row, write_file};
use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum AliasCmd {
    /// Add an alias expanding to the targets.
    Add {
        address: String,
        #[arg(required = true)]
        targets: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List a domain's aliases.
    List {
        domain: String,
        /// Only aliases whose address or description holds this text, or with a target that
        /// starts with it.
        #[arg(long, short)]
        query: Option<String>,
    },
    /// Show one alias.
    Show { address: String },
    /// Replace an alias's targets and/or description.
    Set {
        address: String,
        #[arg(long, num_args = 1..)]
        targets: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Remove an alias.
    Remove { address: String },
    /// Which mailboxes receive mail to an address?
    Resolve { address: String },
    /// Import a domain's aliases from an XLSX file (all or nothing; problems listed by row
    /// and column; an address already taken, an existing alias included, is a problem).
    Import { domain: String, file: PathBuf },
    /// Export a domain's aliases to an XLSX file (the import template's columns).
    Export { domain: String, file: PathBuf },
    /// Write the XLSX import template.
    Template { file: PathBuf },
}

/// The name and base64 content of an import file, as the import operations take them.
pub fn upload(file: &std::path::Path, default: &str) -> Result<(String, String)> {
    let bytes = read_file(file)?;
    let name = file.file_name().map_or_else(|| default.into(), |n| n.to_string_lossy().into_owned());
    Ok((name, base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// `postdesk alias …`
pub async fn run(b: &dyn Backend, cmd: &AliasCmd, json: bool) -> Result<()> {
    match cmd {
        AliasCmd::Add { address, targets, description } => {
            let p =
                CreateAlias { address: address.clone(), targets: targets.clone(), description: description.clone() };
            print_one(json, &b.create_alias(p).await?)
        }
        AliasCmd::List { domain, query } => {
            let list = crate::output::every_page(|after, limit| {
                b.list_aliases(ListAliases { domain: domain.clone(), after, limit: Some(limit), query: query.clone() })
            })
            .await?;
            let mut t = Table::new(&["ALIAS", "TARGETS", "DESCRIPTION"]);
            for a in &list {
                t.row(vec![a.address.clone(), a.targets.join(", "), a.description.clone()]);
            }
            print_list(json, &list, t, None)
        }
        AliasCmd::Show { address } => print_one(json, &b.get_alias(GetAlias { address: address.clone() }).await?),
        AliasCmd::Set { address, targets, description } => {
            let p =
                UpdateAlias { address: address.clone(), targets: targets.clone(), description: description.clone() };
            print_one(json, &b.update_alias(p).await?)
        }
        AliasCmd::Remove { address } => b.remove_alias(RemoveAlias { address: address.clone() }).await,
        AliasCmd::Resolve { address } => super::resolve::run(b, address, json).await,
        AliasCmd::Import { domain, file } => {
            let (file_name, content_base64) = upload(file, "aliases.xlsx")?;
            let p = ImportAliases { domain: domain.clone(), file_name, content_base64 };
            let done = b.import_aliases(p).await.map_err(with_every_row)?;
            if json {
                return print_one(true, &done);
            }
            println!("imported {} aliases into {domain}", done.added);
            Ok(())
        }
        AliasCmd::Export { domain, file } => {
            let exported = b.export_aliases(ExportAliases { domain: domain.clone() }).await?;
            write_file(file, &exported)?;
            if !json {
                println!("exported {} aliases to {}", exported.rows, file.display());
            }
            Ok(())
        }
        AliasCmd::Template { file } => {
            write_file(file, &b.aliases_template(AliasesTemplate {}).await?)?;
            if !json {
                println!("wrote the aliases import template to {}", file.display());
            }
            Ok(())
        }
    }
}
