//! `postdesk settings …`: mail settings per domain default, department and account.

use clap::Subcommand;
use postdesk_contract::api::*;
use postdesk_contract::settings::*;
use postdesk_contract::{Backend, Error, Result};
use serde_json::Value;

use crate::args::{TargetArgs, only_domain};
use crate::output::{Table, print_list, print_outcome};

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
    /// allow_phone_unbinding, auto_forward, address_book, lockout_threshold, daily_send_messages,
    /// daily_send_mb, utc_offset_minutes.
    Set {
        #[command(flatten)]
        target: TargetArgs,
        /// KEY=VALUE pairs.
        #[arg(required = true, value_name = "KEY=VALUE")]
        values: Vec<String>,
    },
}

/// Parses `KEY=VALUE` pairs into values to set and keys to clear.
fn parse_values(pairs: &[String]) -> Result<(Settings, Vec<SettingKey>)> {
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
            SettingKey::LockoutThreshold
            | SettingKey::DailySendMessages
            | SettingKey::DailySendMb
            | SettingKey::UtcOffsetMinutes => Value::from(value.parse::<i64>().map_err(|_| {
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

/// The effective value of `key` as JSON.
fn effective_json(values: &EffectiveValues, key: SettingKey) -> Value {
    serde_json::to_value(values)
        .ok()
        .and_then(|v| v.get(key.as_str()).map(|s| s["value"].clone()))
        .unwrap_or(Value::Null)
}

/// `postdesk settings …`
pub async fn run(b: &dyn Backend, cmd: &SettingsCmd, json: bool) -> Result<()> {
    match cmd {
        SettingsCmd::Show { account: Some(address), effective: true, .. } => {
            let e = b.get_effective_settings(GetEffectiveSettings { address: address.clone() }).await?;
            let mut t = Table::new(&["SETTING", "VALUE", "FROM"]);
            for key in SettingKey::ALL {
                t.row(vec![
                    key.as_str().into(),
                    show_value(*key, &effective_json(&e.values, *key)),
                    e.values.source(*key).label.to_string(),
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
                    level.inherited.source(*key).label.to_string(),
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
            print_outcome(json, &b.update_settings(p).await?)
        }
    }
}
