//! `postdesk logins`: the login log (SMTP, IMAP, POP3 attempts), newest first, with the
//! reason in plain words.

use clap::Args;
use postdesk_contract::api::*;
use postdesk_contract::trace::ExportFormat;
use postdesk_contract::{Backend, Result};

use crate::output::{Table, print_list};

#[derive(Args, Debug)]
pub struct LoginsArgs {
    /// Only this account (its address or an account alias).
    #[arg(long)]
    account: Option<String>,
    /// Only this domain.
    #[arg(long)]
    domain: Option<String>,
    /// Only rows older than this id (the ID of the last row shown, or `next_before` in --json).
    #[arg(long)]
    before: Option<u64>,
    /// Rows to show, 1–500.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Instead of showing rows, write every row of the filter to this file (CSV, or XLSX
    /// when it ends in .xlsx).
    #[arg(long)]
    export: Option<std::path::PathBuf>,
}

/// `postdesk logins …`
pub async fn run(b: &dyn Backend, a: &LoginsArgs, json: bool) -> Result<()> {
    if let Some(out) = &a.export {
        let xlsx = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        let format = Some(if xlsx { ExportFormat::Xlsx } else { ExportFormat::Csv });
        let file =
            b.export_logins(ExportLogins { account: a.account.clone(), domain: a.domain.clone(), format }).await?;
        crate::io::write_file(out, &file)?;
        println!("{} logins written to {}", file.rows, out.display());
        return Ok(());
    }
    let p = ListLogins { account: a.account.clone(), domain: a.domain.clone(), before: a.before, limit: Some(a.limit) };
    let page = b.list_logins(p).await?;
    let mut t = Table::new(&["ID", "AT", "SERVICE", "LOGIN", "CLIENT", "OUTCOME", "WHY"]);
    for r in &page.items {
        t.row(vec![
            r.id.to_string(),
            r.at.clone(),
            r.service.clone(),
            r.login.clone(),
            r.client.clone(),
            r.outcome.clone(),
            r.explanation.clone(),
        ]);
    }
    print_list(json, &page, t, None)?;
    if !json && let Some(id) = page.next_before {
        println!("(older rows: --before {id})");
    }
    Ok(())
}
