//! `postdesk`: the headless face of Postdesk.
//!
//! Every organisation command goes through the `Backend` trait, so it works the same on
//! the local data folder (`--data-dir`, default: the OS app-data folder) and on a remote
//! server (`--remote URL`, token from `POSTDESK_TOKEN`, never from the command line).
//! Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage error.
#![forbid(unsafe_code)]

mod args;
mod cmd;
mod io;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use postdesk_contract::{Backend, Error};

use cmd::dns::DnsCmd;
use cmd::*;

/// Postdesk: run a company's mail and find out why it bounces.
#[derive(Parser, Debug)]
#[command(name = "postdesk", version, about, propagate_version = true)]
struct Cli {
    /// Data folder of the local backend (default: the OS app-data folder).
    #[arg(long, global = true, env = "POSTDESK_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Act on a remote backend's admin API instead (token in POSTDESK_TOKEN).
    #[arg(long, global = true, env = "POSTDESK_URL", value_name = "URL", conflicts_with = "data_dir")]
    remote: Option<String>,
    /// Trust this certificate (PEM) for the remote backend, e.g. its self-signed one.
    #[arg(long, global = true, value_name = "FILE", requires = "remote")]
    ca_cert: Option<PathBuf>,
    /// DNS server the DNS wizard asks, as IP:PORT (default: the system's resolver).
    #[arg(long, global = true, env = "POSTDESK_DNS_RESOLVER", value_name = "IP:PORT")]
    dns_resolver: Option<std::net::SocketAddr>,
    /// Where the local data folder's message blobs are: `local` (its blobs folder) or
    /// s3://bucket/prefix (endpoint and keys from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION). Needed only the first time: the data folder
    /// records its store, and refuses another once it holds mail.
    #[arg(long, global = true, env = "POSTDESK_BLOBS", value_name = "LOCATION", conflicts_with = "remote")]
    blobs: Option<String>,
    /// Keep the organisation and mail in this PostgreSQL database (`postgres://user@host/db`;
    /// `?sslmode=verify-full` for TLS) instead of the data folder's SQLite file: what several
    /// `serve` nodes share. Each node still keeps its own data folder (its SMTP spool, TLS
    /// keys, and its secrets unless --secrets-key).
    #[arg(long, global = true, env = "POSTDESK_DATABASE", value_name = "URL", conflicts_with = "remote")]
    database: Option<String>,
    /// With --database: keep relay, shared-mailbox and SMS-gateway secrets in that database, sealed under
    /// the key in FILE (64 hexadecimal digits: `openssl rand -hex 32`), so that every node
    /// given the same key has them; without it each node keeps its own in its data folder.
    /// `postdesk migrate` seals the data folder's secrets into the target with it. FILE may
    /// hold several keys, one per line, while the key is changed: the first seals, each opens
    /// (`postdesk secrets reseal`).
    #[arg(long, global = true, env = "POSTDESK_SECRETS_KEY", value_name = "FILE", conflicts_with = "remote")]
    secrets_key: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the admin API (and UI) and the SMTP service on the local data folder.
    Serve(Box<serve::ServeArgs>),
    /// Mail domains and their plan limits.
    #[command(subcommand)]
    Domain(domain::DomainCmd),
    /// Groups of subsidiary domains sharing an account allowance.
    #[command(subcommand, name = "domain-group")]
    DomainGroup(domain_group::DomainGroupCmd),
    /// The department tree of a domain.
    #[command(subcommand)]
    Dept(dept::DeptCmd),
    /// Mailbox accounts.
    #[command(subcommand)]
    Accounts(accounts::AccountsCmd),
    /// Distribution aliases.
    #[command(subcommand)]
    Alias(alias::AliasCmd),
    /// Mail groups.
    #[command(subcommand)]
    Group(group::GroupCmd),
    /// Admin users and API tokens.
    #[command(subcommand)]
    Admin(admin::AdminCmd),
    /// Which mailboxes receive mail to an address (accounts, aliases, groups, pickup rules, catch-all)?
    Resolve { address: String },
    /// The audit log, newest first.
    Audit(audit::AuditArgs),
    /// The login log (SMTP, IMAP, POP3 attempts), newest first, with why each was refused.
    Logins(logins::LoginsArgs),
    /// DNS checks.
    #[command(subcommand)]
    Dns(DnsCmd),
    /// Mail settings per domain default, department and account (with inheritance).
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// Batch actions: password resets, clearing security questions, undo.
    #[command(subcommand)]
    Batch(batch::BatchCmd),
    /// The delivery policy: what would happen to a message?
    #[command(subcommand)]
    Policy(policy::PolicyCmd),
    /// Mail rules on the path of a domain (automatic BCC, disclaimers, monitoring and copy rules).
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// The company address book of a domain.
    AddressBook { domain: String },
    /// The SMTP service: server-wide settings, black/white list rules, live status.
    #[command(subcommand)]
    Smtp(smtp::SmtpCmd),
    /// Outbound mail: the queue (retry, bounce, delete) and the transport table.
    #[command(subcommand)]
    Outbound(outbound::OutboundCmd),
    /// The message trace: what the server did with each message; search, show, export.
    #[command(subcommand)]
    Trace(trace::TraceCmd),
    /// Shared mailboxes fetched from external IMAP servers.
    #[command(subcommand)]
    SharedMailbox(shared::SharedCmd),
    /// The SMS gateway of the portal's phone codes, its log, and accounts' bound phones.
    #[command(subcommand)]
    Sms(sms::SmsCmd),
    /// Copy the data folder's database into PostgreSQL (and its blobs into an object
    /// store) for several `serve` nodes; every table's rows are counted on both sides.
    Migrate(migrate::MigrateArgs),
    /// Where the data folder's message blobs are, and moving them to an object store.
    #[command(subcommand)]
    Blobs(blobs::BlobsCmd),
    /// The secrets sealed in the nodes' shared database (--secrets-key): resealing them
    /// under a new key.
    #[command(subcommand)]
    Secrets(secrets::SecretsCmd),
}

fn data_dir(cli: &Cli) -> Result<PathBuf, Error> {
    cli.data_dir
        .clone()
        .or_else(postdesk_engine::default_data_dir)
        .ok_or_else(|| Error::validation("no app-data folder on this system; pass --data-dir"))
}

async fn backend(cli: &Cli) -> Result<Arc<dyn Backend>, Error> {
    if let Some(url) = &cli.remote {
        let token = std::env::var("POSTDESK_TOKEN")
            .map_err(|_| Error::unauthenticated("set POSTDESK_TOKEN to the backend's API token"))?;
        let ca_cert_pem = match &cli.ca_cert {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                Error::validation(format!("cannot read {}: {e}", path.display())).with_field("ca_cert")
            })?),
            None => None,
        };
        let options = postdesk_client::Options { ca_cert_pem, timeout: None };
        return Ok(Arc::new(postdesk_client::RemoteBackend::new(url, postdesk_client::Token::new(token), options)?));
    }
    let engine = blobs::open_engine(&data_dir(cli)?, storage(cli)).await?.with_dns_server(cli.dns_resolver);
    Ok(Arc::new(engine.local_backend()))
}

/// Where the command line keeps the engine's data.
fn storage(cli: &Cli) -> blobs::Storage<'_> {
    blobs::Storage {
        database: cli.database.as_deref(),
        blobs: cli.blobs.as_deref(),
        secrets_key: cli.secrets_key.as_deref(),
    }
}

/// Runs one command that acts through the backend `b`.
async fn run(b: &dyn Backend, command: &Command, json: bool) -> Result<(), Error> {
    match command {
        Command::Domain(cmd) => domain::run(b, cmd, json).await,
        Command::DomainGroup(cmd) => domain_group::run(b, cmd, json).await,
        Command::Dept(cmd) => dept::run(b, cmd, json).await,
        Command::Accounts(cmd) => accounts::run(b, cmd, json).await,
        Command::Alias(cmd) => alias::run(b, cmd, json).await,
        Command::Group(cmd) => group::run(b, cmd, json).await,
        Command::Admin(cmd) => admin::run(b, cmd, json).await,
        Command::Resolve { address } => resolve::run(b, address, json).await,
        Command::Audit(args) => audit::run(b, args, json).await,
        Command::Logins(args) => logins::run(b, args, json).await,
        Command::Dns(cmd) => dns::run(b, cmd, json).await,
        Command::Settings(cmd) => settings::run(b, cmd, json).await,
        Command::Batch(cmd) => batch::run(b, cmd, json).await,
        Command::Policy(cmd) => policy::run(b, cmd, json).await,
        Command::Rules(cmd) => rules::run(b, cmd, json).await,
        Command::AddressBook { domain } => address_book::run(b, domain, json).await,
        Command::Smtp(cmd) => smtp::run(b, cmd, json).await,
        Command::Outbound(cmd) => outbound::run(b, cmd, json).await,
        Command::Trace(cmd) => trace::run(b, cmd, json).await,
        Command::SharedMailbox(cmd) => shared::run(b, cmd, json).await,
        Command::Sms(cmd) => sms::run(b, cmd, json).await,
        Command::Serve(_) | Command::Blobs(_) | Command::Migrate(_) | Command::Secrets(_) => {
            unreachable!("handled in main")
        }
    }
}

/// `postdesk … | head`: when the reader of our output goes away, stop quietly (exit 0)
/// instead of panicking with "failed printing to stdout: Broken pipe" (Rust ignores
/// SIGPIPE, so `println!` panics on it).
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

#[tokio::main]
async fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("POSTDESK_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        Command::Dns(DnsCmd::Check(args)) => return postdesk_dns::cli::run(args.clone()).await,
        Command::Serve(args) => match data_dir(&cli) {
            Ok(dir) => serve::run(&dir, args, storage(&cli), cli.dns_resolver).await,
            Err(e) => Err(e),
        },
        Command::Blobs(cmd) => match (&cli.remote, data_dir(&cli)) {
            (Some(_), _) => Err(Error::validation("blobs acts on a local data folder, not on --remote")),
            (None, Ok(dir)) => blobs::run(&dir, storage(&cli), cmd, cli.json).await,
            (None, Err(e)) => Err(e),
        },
        Command::Secrets(cmd) => match (&cli.remote, data_dir(&cli)) {
            (Some(_), _) => Err(Error::validation("secrets acts on the shared database (--database), not on --remote")),
            (None, Ok(dir)) => secrets::run(&dir, storage(&cli), cmd, cli.json).await,
            (None, Err(e)) => Err(e),
        },
        Command::Migrate(args) => match (&cli.remote, &cli.database, data_dir(&cli)) {
            (Some(_), _, _) => Err(Error::validation("migrate acts on a local data folder, not on --remote")),
            (_, Some(_), _) => {
                Err(Error::validation("migrate copies the data folder's own database: give the target as --to"))
            }
            (None, None, Ok(dir)) => migrate::run(&dir, args, cli.secrets_key.as_deref(), cli.json).await,
            (None, None, Err(e)) => Err(e),
        },
        command => match backend(&cli).await {
            Ok(b) => run(b.as_ref(), command, cli.json).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e.field {
                Some(field) => eprintln!("postdesk: {} (field: {field})", e.message),
                None => eprintln!("postdesk: {}", e.message),
            }
            ExitCode::from(1)
        }
    }
}
