//! `postdesk sms`: the SMS gateway that carries the portal's phone codes (log mode, the
//! default, or an HTTP gateway), the log sender's messages, and an account's bound phone.
//! The gateway's bearer token is read from stdin (`--token-stdin`) and never shown again.

use std::io::IsTerminal;

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::phone::SmsGatewayMode;
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum SmsCmd {
    /// The server-wide SMS gateway.
    #[command(subcommand)]
    Gateway(GatewayCmd),
    /// The log sender's messages, newest first.
    Log {
        /// How many (1–1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// An account's bound phone (masked).
    #[command(subcommand)]
    Phone(PhoneCmd),
}

#[derive(Subcommand, Debug)]
pub enum GatewayCmd {
    /// Show the gateway (the token only as set or not set).
    Show,
    /// Set the gateway: `log` (messages kept for an admin to read) or `http --url URL`.
    Set {
        #[arg(value_enum)]
        mode: Mode,
        /// The HTTP gateway's URL: https://…, or http:// to this computer only.
        #[arg(long)]
        url: Option<String>,
        /// Read a bearer token as one line from stdin; without it the stored one is kept.
        #[arg(long)]
        token_stdin: bool,
        /// Remove the stored token.
        #[arg(long, conflicts_with = "token_stdin")]
        clear_token: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PhoneCmd {
    /// Whether ADDRESS has a phone bound.
    Show { address: String },
    /// Clear ADDRESS's bound phone: the user binds one again.
    Clear { address: String },
}

/// The gateway's mode.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Mode {
    /// Write each message to the SMS log (`postdesk sms log`).
    Log,
    /// POST {"to","text"} as JSON to --url.
    Http,
}

fn read_token() -> Result<SmsToken> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read the token: {e}")).with_field("token");
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Gateway token: ").map_err(io)?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if token.is_empty() {
        return Err(Error::validation("no token given on stdin").with_field("token"));
    }
    Ok(SmsToken(token))
}

fn print_gateway(json: bool, g: &postdesk_contract::phone::SmsGateway) -> Result<()> {
    if json {
        return print_one(json, g);
    }
    println!("mode:  {}", g.mode.name());
    println!("url:   {}", g.url.as_deref().unwrap_or("-"));
    println!("token: {}", if g.token_set { "set" } else { "not set" });
    Ok(())
}

/// `postdesk sms …`
pub async fn run(b: &dyn Backend, cmd: &SmsCmd, json: bool) -> Result<()> {
    match cmd {
        SmsCmd::Gateway(GatewayCmd::Show) => print_gateway(json, &b.get_sms_gateway(GetSmsGateway {}).await?),
        SmsCmd::Gateway(GatewayCmd::Set { mode, url, token_stdin, clear_token }) => {
            let p = SetSmsGateway {
                mode: match mode {
                    Mode::Log => SmsGatewayMode::Log,
                    Mode::Http => SmsGatewayMode::Http,
                },
                url: url.clone(),
                token: if *token_stdin { Some(read_token()?) } else { None },
                clear_token: clear_token.then_some(true),
            };
            print_gateway(json, &b.set_sms_gateway(p).await?)
        }
        SmsCmd::Log { limit } => {
            let page = b.list_sms_log(ListSmsLog { after: None, limit: Some(*limit) }).await?;
            let mut t = Table::new(&["AT", "TO", "ACCOUNT", "TEXT"]);
            for m in &page.items {
                t.row(vec![
                    m.at.clone(),
                    m.to.clone(),
                    m.account.clone().unwrap_or_else(|| "-".into()),
                    m.text.clone(),
                ]);
            }
            print_list(json, &page.items, t, None)
        }
        SmsCmd::Phone(PhoneCmd::Show { address }) => {
            let phone = b.get_account_phone(GetAccountPhone { address: address.clone() }).await?;
            if json {
                return print_one(json, &phone);
            }
            match (&phone.phone, &phone.bound_at) {
                (Some(p), Some(at)) => println!("{}: phone {p} bound at {at}", phone.address),
                _ => println!("{}: no phone bound", phone.address),
            }
            Ok(())
        }
        SmsCmd::Phone(PhoneCmd::Clear { address }) => {
            b.clear_account_phone(ClearAccountPhone { address: address.clone() }).await?;
            if !json {
                println!("cleared the phone of {address}");
            }
            Ok(())
        }
    }
}
