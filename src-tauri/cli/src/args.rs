//! Argument types shared by several commands: the account filter of `accounts list` and
//! `accounts export`, and the batch target of `settings set` and `batch …`.

use clap::{Args, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::{Backend, Error, Result};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Active,
    Locked,
    Disabled,
    Deleted,
}

impl From<StatusArg> for AccountStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => AccountStatus::Active,
            StatusArg::Locked => AccountStatus::Locked,
            StatusArg::Disabled => AccountStatus::Disabled,
            StatusArg::Deleted => AccountStatus::Deleted,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    Address,
    Name,
    Department,
    Status,
    Created,
}

impl From<SortArg> for AccountSort {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Address => AccountSort::Address,
            SortArg::Name => AccountSort::DisplayName,
            SortArg::Department => AccountSort::Department,
            SortArg::Status => AccountSort::Status,
            SortArg::Created => AccountSort::CreatedAt,
        }
    }
}

/// Which accounts, in which order: shared by `accounts list` and `accounts export`.
#[derive(Debug, clap::Args)]
pub struct AccountFilter {
    /// Substring of address or display name.
    #[arg(long, short)]
    pub query: Option<String>,
    /// Only this department (and its sub-departments).
    #[arg(long)]
    pub dept: Option<String>,
    /// Without sub-departments of --dept.
    #[arg(long)]
    pub no_subdepts: bool,
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    #[arg(long, value_enum, default_value = "address")]
    pub sort: SortArg,
    /// Sort descending.
    #[arg(long)]
    pub desc: bool,
}

/// Where a batch acts: a department (with `--domain` unless the backend has one domain),
/// accounts, or a domain's default.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// A department path, with its sub-departments (see --no-subdepts).
    #[arg(long, conflicts_with_all = ["accounts", "domain_default"])]
    dept: Option<String>,
    /// The domain of --dept (needed when the backend has more than one).
    #[arg(long, requires = "dept")]
    domain: Option<String>,
    /// With --dept: leave the sub-departments' own settings alone.
    #[arg(long, requires = "dept")]
    no_subdepts: bool,
    /// An account (repeat for a selection; all in one domain).
    #[arg(long = "account", value_name = "ADDRESS")]
    accounts: Vec<String>,
    /// The default of this domain.
    #[arg(long, value_name = "DOMAIN", conflicts_with = "accounts")]
    domain_default: Option<String>,
}

impl TargetArgs {
    /// The domain and the target, or a usage-style refusal.
    pub async fn resolve(&self, b: &dyn Backend) -> Result<(String, BatchTarget)> {
        if let Some(domain) = &self.domain_default {
            return Ok((domain.clone(), BatchTarget::Domain));
        }
        if let Some(path) = &self.dept {
            let domain = match &self.domain {
                Some(d) => d.clone(),
                None => only_domain(b).await?,
            };
            let target = BatchTarget::Department { path: path.clone(), subdepartments: Some(!self.no_subdepts) };
            return Ok((domain, target));
        }
        let Some(first) = self.accounts.first() else {
            return Err(Error::validation("say where: --dept PATH, --account ADDRESS or --domain-default DOMAIN"));
        };
        let domain = first.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        Ok((domain, BatchTarget::Accounts { addresses: self.accounts.clone() }))
    }
}

/// The backend's only domain (for `--dept` without `--domain`).
pub async fn only_domain(b: &dyn Backend) -> Result<String> {
    // Two are enough to tell "one" from "several".
    let domains = b.list_domains(ListDomains { after: None, limit: Some(2) }).await?.items;
    match domains.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::validation("this backend has no domain yet")),
        _ => Err(Error::validation("this backend has several domains: say which with --domain")),
    }
}
