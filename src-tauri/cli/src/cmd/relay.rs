//! `postdesk outbound relay`: the smarthost relays — all outbound mail, or one sender
//! domain's, through a third-party server with required TLS and AUTH. The secret is read
//! from stdin (`--secret-stdin`) and never shown again: `list` says only whether one is set.

use std::io::IsTerminal;

use clap::{Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::relay::{RelayAuth, RelayTls};
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum RelayCmd {
    /// List the relays (global and per sender domain); secrets show as set or not set.
    List,
    /// Send all outbound mail (or --sender-domain's) through HOST:PORT. TLS is required.
    Set {
        /// Only mail from this sender domain (it wins over the global relay).
        #[arg(long)]
        sender_domain: Option<String>,
        host: String,
        port: u16,
        /// Implicit TLS (465) or STARTTLS required (587); there is no plain mode.
        #[arg(long, value_enum, default_value_t = Tls::Starttls)]
        tls: Tls,
        /// Encrypt without checking the relay's certificate (Postfix's `encrypt` level).
        #[arg(long)]
        no_verify_certificate: bool,
        /// The AUTH mechanism.
        #[arg(long, value_enum, default_value_t = Auth::None)]
        auth: Auth,
        /// User name for AUTH.
        #[arg(long)]
        user: Option<String>,
        /// Read the password (XOAUTH2: the bearer token) as one line from stdin; without
        /// it the stored secret is kept.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Remove the global relay (or --sender-domain's) and its secret.
    Remove {
        #[arg(long)]
        sender_domain: Option<String>,
    },
}

/// `--tls`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Tls {
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// STARTTLS, which the relay must offer.
    Starttls,
}

/// `--auth`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Auth {
    /// No AUTH.
    None,
    /// AUTH PLAIN.
    Plain,
    /// AUTH LOGIN.
    Login,
    /// AUTH XOAUTH2 (the secret is an OAuth2 bearer token, not refreshed).
    Xoauth2,
}

fn read_secret() -> Result<RelaySecret> {
    let io = |e: std::io::Error| Error::validation(format!("cannot read the secret: {e}")).with_field("secret");
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Relay secret: ").map_err(io)?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if secret.is_empty() {
        return Err(Error::validation("no secret given on stdin").with_field("secret"));
    }
    Ok(RelaySecret(secret))
}

/// `postdesk outbound relay …`
pub async fn run(b: &dyn Backend, cmd: &RelayCmd, json: bool) -> Result<()> {
    match cmd {
        RelayCmd::List => {
            let all = crate::output::every_page(|after, limit| b.list_relays(ListRelays { after, limit: Some(limit) }))
                .await?;
            let mut t = Table::new(&["SENDER DOMAIN", "HOST", "PORT", "TLS", "VERIFY", "AUTH", "USER", "SECRET"]);
            for r in &all {
                t.row(vec![
                    r.sender_domain.clone().unwrap_or_else(|| "(all)".into()),
                    r.host.clone(),
                    r.port.to_string(),
                    r.tls.name().into(),
                    if r.verify_certificate { "yes" } else { "no" }.into(),
                    r.auth.name().into(),
                    if r.username.is_empty() { "-".into() } else { r.username.clone() },
                    if r.secret_set { "set" } else { "not set" }.into(),
                ]);
            }
            print_list(json, &all, t, None)
        }
        RelayCmd::Set { sender_domain, host, port, tls, no_verify_certificate, auth, user, secret_stdin } => {
            let p = SetRelay {
                sender_domain: sender_domain.clone(),
                host: host.clone(),
                port: *port,
                tls: Some(match tls {
                    Tls::Implicit => RelayTls::Implicit,
                    Tls::Starttls => RelayTls::Starttls,
                }),
                verify_certificate: Some(!no_verify_certificate),
                auth: Some(match auth {
                    Auth::None => RelayAuth::None,
                    Auth::Plain => RelayAuth::Plain,
                    Auth::Login => RelayAuth::Login,
                    Auth::Xoauth2 => RelayAuth::Xoauth2,
                }),
                username: user.clone(),
                secret: if *secret_stdin { Some(read_secret()?) } else { None },
            };
            print_one(json, &b.set_relay(p).await?)
        }
        RelayCmd::Remove { sender_domain } => {
            b.remove_relay(RemoveRelay { sender_domain: sender_domain.clone() }).await
        }
    }
}
