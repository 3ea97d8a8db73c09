//! Batch settings, the address book and the policy explainer on the command line:
//! `postdesk settings …`, `postdesk batch …`, `postdesk address-book`, `postdesk policy explain`.

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::policy::{ClientProtocol, PolicyExplanation};
use postdesk_contract::settings::*;
use postdesk_contract::{Backend, Error, Result};
use serde_json::Value;

use crate::output::{Table, print_list, print_one};

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
    async fn resolve(&self, b: &dyn Backend) -> Result<(String, BatchTarget)> {
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
async fn only_domain(b: &dyn Backend) -> Result<String> {
    let domains = b.list_domains(ListDomains {}).await?;
    match domains.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::validation("this backend has no domain yet")),
        _ => Err(Error::validation("this backend has several domains: say which with --domain")),
    }
}

#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    /// Show what a level sets, or with --effective what is in force for an account.
    Show {
        /// An account address.
        account: Option<String>,
        /// The values in force for the account, each with where it comes from.
        #[arg(long, requires = "account")]
        effective: bool,
        /// A department path instead of an account.
        #[arg(long, conflicts_with_all = ["account", "domain_default"])]
        dept: Option<String>,
        /// The domain of --dept (needed when the backend has more than one).
        #[arg(long, requires = "dept")]
        domain: Option<String>,
        /// The default of this domain.
        #[arg(long, value_name = "DOMAIN", conflicts_with = "account")]
        domain_default: Option<String>,
    },
    /// Set settings as one batch: KEY=VALUE (allow/disallow, on/off, a comma-separated list
    /// for the exception lists, a number for lockout_threshold, or `inherit` to stop
    /// overriding). Keys: external_send, external_receive, send_exceptions,
    /// receive_exceptions, pop3, imap, smtp, require_security_questions, require_phone,
    /// allow_phone_unbinding, auto_forward, address_book, lockout_threshold.
    Set {
        #[command(flatten)]
        target: TargetArgs,
        /// KEY=VALUE pairs.
        #[arg(required = true, value_name = "KEY=VALUE")]
        values: Vec<String>,
    },
}

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
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Undo a settings batch (refused when anything it touched changed since).
    Undo { domain: String, id: u32 },
}

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

/// Parses `KEY=VALUE` pairs into values to set and keys to clear.
pub fn parse_values(pairs: &[String]) -> Result<(Settings, Vec<SettingKey>)> {
    let mut set = Settings::default();
    let mut clear = Vec::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::validation(format!("'{pair}' is not KEY=VALUE")).with_field("values"))?;
        let key = SettingKey::parse(key).ok_or_else(|| {
            let known: Vec<&str> = SettingKey::ALL.iter().map(|k| k.as_str()).collect();
            Error::validation(format!("unknown setting '{}'; known: {}", key.trim(), known.join(", ")))
        })?;
        let value = value.trim();
        if value.eq_ignore_ascii_case("inherit") {
            clear.push(key);
            continue;
        }
        let json = match key {
            SettingKey::SendExceptions | SettingKey::ReceiveExceptions => Value::Array(
                value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect(),
            ),
            SettingKey::LockoutThreshold => Value::from(value.parse::<u32>().map_err(|_| {
                Error::validation(format!("{}: '{value}' is not a number", key.as_str())).with_field(key.as_str())
            })?),
            _ => Value::Bool(match value.to_ascii_lowercase().as_str() {
                "allow" | "on" | "true" | "yes" | "1" | "share" | "shown" => true,
                "disallow" | "off" | "false" | "no" | "0" | "hide" | "hidden" => false,
                _ => {
                    return Err(Error::validation(format!(
                        "{}: '{value}' is not allow/disallow (on/off, true/false)",
                        key.as_str()
                    ))
                    .with_field(key.as_str()));
                }
            }),
        };
        set.set_json(key, json)?;
    }
    Ok((set, clear))
}

fn show_value(key: SettingKey, v: &Value) -> String {
    let words = match key {
        SettingKey::Pop3 | SettingKey::Imap | SettingKey::Smtp => ("on", "off"),
        SettingKey::AddressBook => ("shown", "hidden"),
        SettingKey::RequireSecurityQuestions | SettingKey::RequirePhone | SettingKey::AllowPhoneUnbinding => {
            ("yes", "no")
        }
        _ => ("allow", "disallow"),
    };
    match v {
        Value::Bool(true) => words.0.into(),
        Value::Bool(false) => words.1.into(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(|i| i.as_str().unwrap_or_default()).collect::<Vec<_>>().join(", "),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn show_source(s: &SettingSource) -> String {
    match s.level {
        SettingLevel::BuiltIn => "built-in default".into(),
        SettingLevel::Domain => "domain default".into(),
        SettingLevel::Department => format!("department {}", s.department.as_deref().unwrap_or("?")),
        SettingLevel::Account => "account".into(),
    }
}

/// The effective value of `key` as JSON.
fn effective_json(values: &EffectiveValues, key: SettingKey) -> Value {
    serde_json::to_value(values)
        .ok()
        .and_then(|v| v.get(key.as_str()).map(|s| s["value"].clone()))
        .unwrap_or(Value::Null)
}

fn outcome(json: bool, out: &BatchOutcome) -> Result<()> {
    if json {
        return print_one(true, out);
    }
    match &out.batch {
        Some(b) => println!("batch {}: {}", b.id, out.message),
        None => println!("{}", out.message),
    }
    Ok(())
}

/// `postdesk settings …`
pub async fn settings(b: &dyn Backend, cmd: &SettingsCmd, json: bool) -> Result<()> {
    match cmd {
        SettingsCmd::Show { account: Some(address), effective: true, .. } => {
            let e = b.get_effective_settings(GetEffectiveSettings { address: address.clone() }).await?;
            let mut t = Table::new(&["SETTING", "VALUE", "FROM"]);
            for key in SettingKey::ALL {
                t.row(vec![
                    key.as_str().into(),
                    show_value(*key, &effective_json(&e.values, *key)),
                    show_source(e.values.source(*key)),
                ]);
            }
            print_list(json, &e, t, None)?;
            if !json {
                println!("security questions: {}", if e.security_questions_set { "set" } else { "not set" });
            }
            Ok(())
        }
        SettingsCmd::Show { account, dept, domain, domain_default, .. } => {
            let p = match (account, dept, domain_default) {
                (Some(a), _, _) => GetSettings {
                    domain: a.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default(),
                    department: None,
                    account: Some(a.clone()),
                },
                (None, Some(path), _) => GetSettings {
                    domain: match domain {
                        Some(d) => d.clone(),
                        None => only_domain(b).await?,
                    },
                    department: Some(path.clone()),
                    account: None,
                },
                (None, None, Some(d)) => GetSettings { domain: d.clone(), department: None, account: None },
                (None, None, None) => {
                    return Err(Error::validation("say which: ACCOUNT, --dept PATH or --domain-default DOMAIN"));
                }
            };
            let level = b.get_settings(p).await?;
            let mut t = Table::new(&["SETTING", "SET HERE", "INHERITED", "FROM"]);
            for key in SettingKey::ALL {
                let here = level.settings.get_json(*key).map_or_else(|| "-".into(), |v| show_value(*key, &v));
                t.row(vec![
                    key.as_str().into(),
                    here,
                    show_value(*key, &effective_json(&level.inherited, *key)),
                    show_source(level.inherited.source(*key)),
                ]);
            }
            print_list(json, &level, t, None)
        }
        SettingsCmd::Set { target, values } => {
            let (set, clear) = parse_values(values)?;
            let (domain, target) = target.resolve(b).await?;
            let p = UpdateSettings {
                domain,
                target,
                set: (!set.is_empty()).then_some(set),
                clear: (!clear.is_empty()).then_some(clear),
            };
            outcome(json, &b.update_settings(p).await?)
        }
    }
}

/// `postdesk batch …`
pub async fn batch(b: &dyn Backend, cmd: &BatchCmd, json: bool) -> Result<()> {
    match cmd {
        BatchCmd::ResetPassword { target, password_stdin, force_change } => {
            let (domain, target) = target.resolve(b).await?;
            let password = crate::commands::read_password(*password_stdin)?;
            let p = ResetPasswords { domain, target, password, force_password_change: Some(*force_change) };
            outcome(json, &b.reset_passwords(p).await?)
        }
        BatchCmd::ClearSecurityQuestions { target } => {
            let (domain, target) = target.resolve(b).await?;
            outcome(json, &b.clear_security_questions(ClearSecurityQuestions { domain, target }).await?)
        }
        BatchCmd::List { domain, limit } => {
            let list = b.list_batches(ListBatches { domain: domain.clone(), limit: Some(*limit) }).await?;
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
            print_list(json, &list, t, None)
        }
        BatchCmd::Undo { domain, id } => {
            outcome(json, &b.undo_batch(UndoBatch { domain: domain.clone(), id: *id }).await?)
        }
    }
}

/// `postdesk address-book DOMAIN`
pub async fn address_book(b: &dyn Backend, domain: &str, json: bool) -> Result<()> {
    let book = b.list_address_book(ListAddressBook { domain: domain.into() }).await?;
    let mut t = Table::new(&["DEPARTMENT", "NAME", "ADDRESS"]);
    for d in &book.departments {
        for e in &d.entries {
            t.row(vec![d.department.clone().unwrap_or_default(), e.display_name.clone(), e.address.clone()]);
        }
    }
    print_list(json, &book, t, None)?;
    if !json {
        println!("({} shown, {} hidden by the address_book setting)", book.shown, book.hidden);
    }
    Ok(())
}

/// `postdesk policy explain …`
pub async fn policy(b: &dyn Backend, cmd: &PolicyCmd, json: bool) -> Result<()> {
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
    Some(format!("{} of {}: {}", s.key.as_str(), s.account, show_source(account.values.source(s.key))))
}
