//! `postdesk serve`: the admin API and the SMTP service on the local data folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use postdesk_contract::{Error, Result};
use postdesk_mailserver::imap::ImapListener;
use postdesk_mailserver::pop3::Pop3Listener;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};
use postdesk_server::tls::Identity;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address of the admin API.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    listen: SocketAddr,
    /// Serve HTTPS even on loopback (always on for other addresses).
    #[arg(long)]
    tls: bool,
    /// Certificate chain (PEM) to use instead of the self-signed one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Folder of the built web UI to serve at / (default: the repository's ui/dist when built).
    #[arg(long, env = "POSTDESK_UI_DIR", value_name = "DIR")]
    ui: Option<PathBuf>,
    /// Address of the inbound SMTP (MX) listener (port 25 in production).
    #[arg(long, default_value = "127.0.0.1:2525", value_name = "ADDR")]
    smtp_listen: SocketAddr,
    /// Address of the submission listener with STARTTLS (port 587 in production).
    #[arg(long, default_value = "127.0.0.1:2587", value_name = "ADDR")]
    submission_listen: SocketAddr,
    /// Address of the submission listener over implicit TLS (port 465 in production).
    #[arg(long, default_value = "127.0.0.1:2465", value_name = "ADDR")]
    smtps_listen: SocketAddr,
    /// Host name the SMTP service greets with and writes in Received headers. Given here it
    /// replaces the host name of the stored SMTP settings (the Mail service page, default
    /// localhost) for as long as this process runs, even when the stored one is changed.
    #[arg(long, value_name = "NAME")]
    smtp_hostname: Option<String>,
    /// Address of the IMAP listener with STARTTLS (port 143 in production).
    #[arg(long, default_value = "127.0.0.1:2143", value_name = "ADDR")]
    imap_listen: SocketAddr,
    /// Address of the IMAP listener over implicit TLS (port 993 in production).
    #[arg(long, default_value = "127.0.0.1:2993", value_name = "ADDR")]
    imaps_listen: SocketAddr,
    /// Do not start IMAP (the other mail services still run).
    #[arg(long, conflicts_with_all = ["imap_listen", "imaps_listen"])]
    no_imap: bool,
    /// Address of the POP3 listener with STLS (port 110 in production).
    #[arg(long, default_value = "127.0.0.1:2110", value_name = "ADDR")]
    pop3_listen: SocketAddr,
    /// Address of the POP3 listener over implicit TLS (port 995 in production).
    #[arg(long, default_value = "127.0.0.1:2995", value_name = "ADDR")]
    pop3s_listen: SocketAddr,
    /// Do not start POP3 (the other mail services still run).
    #[arg(long, conflicts_with_all = ["pop3_listen", "pop3s_listen"])]
    no_pop3: bool,
    /// Do not start the mail services (SMTP, IMAP, POP3): admin API only.
    #[arg(long, conflicts_with_all = [
        "smtp_listen", "submission_listen", "smtps_listen", "smtp_hostname",
        "imap_listen", "imaps_listen", "no_imap", "pop3_listen", "pop3s_listen", "no_pop3",
    ])]
    no_smtp: bool,
    /// The port outbound delivery connects to on MX hosts (25; another for test setups
    /// whose MX hosts listen elsewhere). The transport table routes single domains.
    #[arg(long, default_value_t = 25, value_name = "PORT")]
    outbound_mx_port: u16,
    /// Outbound transactions to one recipient domain at once, at most.
    #[arg(long, default_value_t = 4, value_name = "N")]
    outbound_per_destination: usize,
    /// The port MTA-STS policies are fetched from on `mta-sts.<domain>` (443; another for
    /// test setups that serve policies elsewhere on loopback).
    #[arg(long, default_value_t = 443, value_name = "PORT")]
    outbound_mta_sts_port: u16,
    /// CA certificates (PEM) trusted besides the Mozilla roots where MTA-STS asks for
    /// verified TLS: the policy fetch and the MX hosts' certificates (a private CA, a test CA).
    #[arg(long, value_name = "PEM")]
    outbound_ca_file: Option<PathBuf>,
    /// How often outbound delivery looks for due retries without a signal (a retry asked
    /// for by another process, e.g. `postdesk outbound retry`), in seconds.
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    outbound_poll_secs: u64,
    /// This node's name in the outbound queue's leases (default: the host name). Nodes
    /// sharing a database need distinct names: a starting node gives up the leases its
    /// earlier run held, by name.
    #[arg(long, value_name = "NAME")]
    node_name: Option<String>,
    /// How long a node holds the messages it took from the outbound queue; a node that dies
    /// while sending leaves them to the others once this has passed (seconds).
    #[arg(long, default_value_t = 600, value_name = "SECS", value_parser = clap::value_parser!(i64).range(5..=86400))]
    outbound_lease_secs: i64,
}

/// The mail server's options from the command line.
fn mail_options(dir: &Path, args: &ServeArgs, dns_resolver: Option<SocketAddr>) -> Result<MailServerOptions> {
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = args.smtp_hostname.clone();
    options.listeners = vec![
        (ListenerKind::Mx, args.smtp_listen),
        (ListenerKind::Submission, args.submission_listen),
        (ListenerKind::Submissions, args.smtps_listen),
    ];
    options.imap = if args.no_imap {
        Vec::new()
    } else {
        vec![(ImapListener::Imap, args.imap_listen), (ImapListener::Imaps, args.imaps_listen)]
    };
    options.pop3 = if args.no_pop3 {
        Vec::new()
    } else {
        vec![(Pop3Listener::Pop3, args.pop3_listen), (Pop3Listener::Pop3s, args.pop3s_listen)]
    };
    let all = [
        args.smtp_listen,
        args.submission_listen,
        args.smtps_listen,
        args.imap_listen,
        args.imaps_listen,
        args.pop3_listen,
        args.pop3s_listen,
    ];
    for addr in all {
        if !options.tls_names.contains(&addr.ip().to_string()) {
            options.tls_names.push(addr.ip().to_string());
        }
    }
    options.dns_server = dns_resolver;
    options.outbound.mx_port = args.outbound_mx_port;
    options.outbound.per_destination = args.outbound_per_destination.max(1);
    options.outbound.mta_sts.https_port = args.outbound_mta_sts_port;
    if let Some(path) = &args.outbound_ca_file {
        options.outbound.mta_sts.extra_roots = postdesk_mailserver::outbound::mta_sts::read_roots(path)
            .map_err(|e| Error::validation(e).with_field("outbound_ca_file"))?;
    }
    options.outbound.poll = std::time::Duration::from_secs(args.outbound_poll_secs);
    options.outbound.lease_secs = args.outbound_lease_secs;
    if let Some(name) = &args.node_name {
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            return Err(Error::validation("a node name is not empty and holds no ':' nor control characters")
                .with_field("node_name"));
        }
        options.outbound.node = name.clone();
    }
    Ok(options)
}

/// The web UI folder: as given, or the repository's `ui/dist` when it has been built.
fn ui_dir(args: &ServeArgs) -> Result<Option<PathBuf>> {
    match &args.ui {
        Some(dir) if dir.join("index.html").is_file() => Ok(Some(dir.clone())),
        Some(dir) => Err(Error::validation(format!(
            "{} has no index.html: build the UI first (npm run build in ui/)",
            dir.display()
        ))),
        // A development build serves the tree's own build; a release binary never looks in
        // the build machine's source tree (it may not be ours, or not be there).
        None if cfg!(debug_assertions) => {
            let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
            Ok(built.join("index.html").is_file().then_some(built))
        }
        None => Ok(None),
    }
}

fn identity(dir: &Path, args: &ServeArgs) -> Result<Option<Identity>> {
    let io = |what: &str, e: std::io::Error| Error::validation(format!("{what}: {e}"));
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let cert_pem = std::fs::read_to_string(cert).map_err(|e| io(&cert.display().to_string(), e))?;
        let key_pem = std::fs::read_to_string(key).map_err(|e| io(&key.display().to_string(), e))?;
        return Ok(Some(Identity { cert_pem, key_pem }));
    }
    // Anything reachable from another machine gets TLS; loopback may stay plain.
    if args.tls || !args.listen.ip().is_loopback() {
        let mut names = vec!["localhost".to_string(), args.listen.ip().to_string()];
        if let Ok(host) = std::env::var("HOSTNAME") {
            names.push(host);
        }
        return Identity::load_or_create(dir, postdesk_server::tls::FILE_STEM, &names)
            .map(Some)
            .map_err(|e| io("cannot create the TLS certificate", e));
    }
    Ok(None)
}

pub async fn run(
    dir: &Path,
    args: &ServeArgs,
    storage: super::blobs::Storage<'_>,
    dns_resolver: Option<SocketAddr>,
) -> Result<()> {
    let database = storage.database;
    // Everything that can be refused is checked before anything is created.
    let ui = ui_dir(args)?;
    // The data folder is the owner's alone (0700), made so before anything is put in it.
    postdesk_engine::files::create_private_dir(dir)
        .map_err(|e| Error::validation(format!("cannot create the data folder {}: {e}", dir.display())))?;
    let engine = super::blobs::open_engine(dir, storage).await?.with_dns_server(dns_resolver);
    let identity = identity(dir, args)?;
    let tls = match &identity {
        Some(id) => Some(id.server_config().map_err(|e| Error::validation(format!("TLS certificate unusable: {e}")))?),
        None => None,
    };
    let tcp = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = tcp.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    // The SMTP listeners too, before the first-start token is spent.
    let (mail, _node_name) = if args.no_smtp {
        (None, None)
    } else {
        let options = mail_options(dir, args, dns_resolver)?;
        let node_name = engine.hold_node_name(&options.outbound.node).await?;
        let started = MailServer::start(std::sync::Arc::new(engine.clone()), options)
            .await
            .map_err(|e| Error::unavailable(format!("{e} (use --no-smtp to run without the mail services)")))?;
        (Some(started), Some(node_name))
    };
    for warning in postdesk_engine::files::secure_data_dir(dir) {
        eprintln!("warning: {warning}");
    }
    if database.is_some() && engine.blob_location() == postdesk_blobs::LOCAL {
        eprintln!(
            "warning: the message blobs are in this node's data folder: several nodes on one database \
             need a shared store (--blobs s3://…, or `postdesk blobs migrate`)"
        );
    }
    if let Some(first) = engine.ensure_first_admin().await? {
        println!(
            "First start: created the owner admin '{}'. Its API token (shown once, store it now):\n{}\n",
            first.admin.name, first.token.secret
        );
    }
    let scheme = if identity.is_some() { "https" } else { "http" };
    if let Some(id) = &identity {
        println!("TLS certificate SHA-256: {}", id.fingerprint().map_err(|e| Error::internal(e.to_string()))?);
    }
    if ui.is_some() {
        // The mail services name the portal when a login waits for a new password.
        let url = if local.ip().is_unspecified() {
            let host = args.smtp_hostname.clone().unwrap_or_else(|| "localhost".to_string());
            format!("{scheme}://{host}:{}/#/portal", local.port())
        } else {
            format!("{scheme}://{local}/#/portal")
        };
        println!("User portal: {url}");
        engine.set_portal_url(Some(url));
    }
    let router = match &ui {
        Some(dir) => {
            println!("Web UI: {scheme}://{local}/");
            postdesk_server::router_with_ui(engine.clone(), dir)
        }
        None => postdesk_server::router(engine.clone()),
    };
    println!("OpenAPI document: {scheme}://{local}/api/openapi.json");
    if let Some(mail) = &mail {
        for (kind, addr) in mail.bound() {
            println!("SMTP {} listening on {addr}", kind.name());
        }
        for (kind, addr) in mail.imap_bound() {
            println!("IMAP {} listening on {addr}", kind.name());
        }
        for (kind, addr) in mail.pop3_bound() {
            println!("POP3 {} listening on {addr}", kind.name());
        }
    }
    let store = if database.is_some() { ", database: PostgreSQL" } else { "" };
    println!("Postdesk admin API listening on {scheme}://{local} (data folder: {}{store})", dir.display());
    // Deleted accounts past their domain's retention are purged with their mail, hourly.
    let purger = engine.spawn_recycle_bin_purger(postdesk_engine::RECYCLE_BIN_SWEEP, postdesk_engine::system_clock);
    // Shared mailboxes with a fetch interval are fetched when it runs out.
    let shared_fetcher = postdesk_engine::spawn_shared_mailbox_fetcher(engine.clone());
    let served = postdesk_server::serve(router, tcp, tls, shutdown_signal()).await;
    purger.abort();
    shared_fetcher.abort();
    if let Some(mail) = mail {
        // Sessions storing a message finish; what is spooled is delivered (or at next start).
        mail.shutdown(std::time::Duration::from_secs(10)).await;
    }
    served.map_err(|e| Error::internal(format!("server failed: {e}")))?;
    engine.close().await;
    println!("Postdesk stopped.");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
