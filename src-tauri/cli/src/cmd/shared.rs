//! `postdesk shared-mailbox`: mailboxes of a domain whose mail is fetched from an external
//! IMAP server. The password is read from stdin (`--password-stdin`) and never shown
//! again: `show` says only whether one is stored.

use std::io::IsTerminal;

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::shared::{FetchTls, SharedMailbox, SharedMailboxKind, SharedOwner, WorkflowGroup};
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_list, print_one};

#[derive(Subcommand, Debug)]
pub enum SharedCmd {
    /// List a domain's shared mailboxes with their last fetch and error.
    List { domain: String },
    /// The shared mailboxes whose fetching stopped after too many failures in a row, in every
    /// domain you may see.
    Stopped,
    /// One shared mailbox: settings, folders, errors (never the password).
    Show { address: String },
    /// Create a shared mailbox (and its mailbox at ADDRESS) fetched from an IMAP server.
    Create {
        domain: String,
        address: String,
        /// The name its owners see.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Change a shared mailbox's settings; what is not given stays.
    Update {
        address: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a shared mailbox and its password; its mail stays in the mailbox.
    Remove { address: String },
    /// Fetch its new mail now.
    Fetch { address: String },
    /// Ask the server for its folders (then choose them with `choose-folders`).
    Folders { address: String },
    /// Choose the folders fetched, and the server's Sent and Junk folders.
    ChooseFolders {
        address: String,
        /// A folder to fetch (repeat it).
        #[arg(long = "fetch")]
        fetch: Vec<String>,
        #[arg(long)]
        sent: Option<String>,
        #[arg(long)]
        junk: Option<String>,
    },
    /// Fetch again from a date and time: only what was not fetched before is taken.
    Resync {
        address: String,
        /// RFC 3339, e.g. 2026-12-01T08:00:00Z.
        #[arg(long)]
        since: String,
        /// Agree that everything since then not fetched before will be fetched.
        #[arg(long)]
        yes: bool,
    },
    /// Set who may see and send from it (replaces its owners): users and workflow groups.
    Owners {
        address: String,
        /// A user's address (repeat it).
        #[arg(long = "user")]
        users: Vec<String>,
        /// A workflow group's name (repeat it).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Workflow groups: named groups of a domain's users, owners of shared mailboxes.
    #[command(subcommand)]
    Groups(GroupCmd),
    /// Set its auto-reply (RFC 3834: once per sender per period, never to lists, bulk or
    /// automatic mail); --off turns it off.
    AutoReply {
        address: String,
        #[arg(long)]
        off: bool,
        /// From when (RFC 3339); none: from now on.
        #[arg(long)]
        from: Option<String>,
        /// Until when (RFC 3339); none: until turned off.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value = "")]
        subject: String,
        #[arg(long, default_value = "")]
        text: String,
    },
    /// Set its template: the organisation's stored default font and size for mail written
    /// from it (given back with the mailbox; Postdesk changes no message). What is not
    /// given is cleared.
    Template {
        address: String,
        /// Arial, Calibri, Courier New, Georgia, Helvetica, Tahoma, Times New Roman or Verdana.
        #[arg(long)]
        font: Option<String>,
        /// Size in points, 8 to 36.
        #[arg(long)]
        size: Option<u32>,
    },
    /// A domain's owners of shared mailboxes with their default mailbox ("⚠ none" when unset).
    OwnersList {
        domain: String,
        /// Only owners without a default mailbox.
        #[arg(long)]
        without_default: bool,
    },
    /// Set a user's default shared mailbox (one it owns); without --mailbox, clear it.
    Default {
        user: String,
        #[arg(long)]
        mailbox: Option<String>,
    },
}

/// `postdesk shared-mailbox groups …`
#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// A domain's workflow groups with their members and what they own.
    List { domain: String },
    /// Create a workflow group.
    Create {
        domain: String,
        name: String,
        /// A member's address (repeat it).
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Set a group's members (replaces them).
    Members {
        domain: String,
        name: String,
        /// A member's address (repeat it; none empties the group).
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Remove a group (its members no longer own what it owned).
    Remove { domain: String, name: String },
}

fn groups_table(all: &[WorkflowGroup]) -> Table {
    let mut t = Table::new(&["GROUP", "MEMBERS", "OWNS"]);
    for g in all {
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
        t.row(vec![g.name.clone(), list(&g.members), list(&g.owns)]);
    }
    t
}

/// The external server's settings.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Host name or IP address of the IMAP server.
    #[arg(long)]
    host: Option<String>,
    #[arg(long)]
    port: Option<u16>,
    /// Implicit TLS (993) or STARTTLS (143); there is no plain mode.
    #[arg(long, value_enum)]
    tls: Option<Tls>,
    /// Encrypt without checking the server's certificate.
    #[arg(long)]
    no_verify_certificate: bool,
    /// User name at the server (Microsoft 365: the mailbox, default the sender address).
    #[arg(long)]
    user: Option<String>,
    /// Fetch from Microsoft 365 through Microsoft Graph (client credentials) instead of IMAP.
    #[arg(long)]
    microsoft365: bool,
    /// Microsoft 365: the directory (tenant) id.
    #[arg(long)]
    tenant_id: Option<String>,
    /// Microsoft 365: the app registration's client id.
    #[arg(long)]
    client_id: Option<String>,
    /// Read the password (Microsoft 365: the client secret) as one line from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Minutes between automatic fetches; 0 = only `fetch`.
    #[arg(long)]
    interval: Option<u32>,
    /// Stop fetching after this many failures in a row.
    #[arg(long)]
    disable_after: Option<u32>,
}

/// `--tls`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Tls {
    /// TLS from the first byte (IMAPS).
    Implicit,
    /// STARTTLS, which the server must offer.
    Starttls,
}

impl ServerArgs {
    fn kind(&self) -> Option<SharedMailboxKind> {
        self.microsoft365.then_some(SharedMailboxKind::Microsoft365)
    }

    fn tls(&self) -> Option<FetchTls> {
        self.tls.map(|t| match t {
            Tls::Implicit => FetchTls::Implicit,
            Tls::Starttls => FetchTls::Starttls,
        })
    }

    fn secret(&self) -> Result<Option<RemoteSecret>> {
        if !self.password_stdin {
            return Ok(None);
        }
        let io = |e: std::io::Error| Error::validation(format!("cannot read the password: {e}")).with_field("secret");
        let secret = if std::io::stdin().is_terminal() {
            rpassword::prompt_password("Password at the external server: ").map_err(io)?
        } else {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(io)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        };
        if secret.is_empty() {
            return Err(Error::validation("no password given on stdin").with_field("secret"));
        }
        Ok(Some(RemoteSecret(secret)))
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn table(all: &[SharedMailbox]) -> Table {
    let mut t = Table::new(&["ADDRESS", "NAME", "SERVER", "USER", "INTERVAL", "FETCHED", "ERRORS", "LAST ERROR"]);
    for m in all {
        t.row(vec![
            m.address.clone(),
            m.name.clone(),
            match m.kind {
                SharedMailboxKind::Microsoft365 => format!("Microsoft 365 (tenant {})", m.tenant_id),
                SharedMailboxKind::Imap => format!("{}:{} ({})", m.host, m.port, m.tls.name()),
            },
            m.username.clone(),
            match (m.fetch_interval_minutes, &m.disabled_at) {
                (Some(i), _) => format!("{i} min"),
                (None, Some(at)) => format!("none (stopped {at})"),
                (None, None) => "none".into(),
            },
            m.fetched_messages.to_string(),
            format!("{}/{}", m.error_count, m.disable_after),
            match (&m.last_error_at, &m.last_error) {
                (Some(at), Some(e)) => format!("{at}: {e}"),
                _ => "-".into(),
            },
        ]);
    }
    t
}

fn show(json: bool, m: &SharedMailbox) -> Result<()> {
    if json {
        return print_one(json, m);
    }
    print_list(false, &[m], table(std::slice::from_ref(m)), None)?;
    println!("password: {}", if m.secret_set { "stored" } else { "not stored" });
    println!("sent folder: {}, junk folder: {}", opt(&m.sent_folder), opt(&m.junk_folder));
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    println!("owners: {}; owning groups: {}", list(&m.owners), list(&m.owner_groups));
    println!(
        "template: font {}, size {}",
        m.template.font.as_deref().unwrap_or("none"),
        m.template.size_pt.map_or_else(|| "none".to_string(), |s| format!("{s} pt"))
    );
    let r = &m.auto_reply;
    if r.enabled {
        let when = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
        println!(
            "auto-reply: on from {} until {}: \"{}\"",
            when(&r.starts_at, "now"),
            when(&r.ends_at, "turned off"),
            r.subject
        );
    } else {
        println!("auto-reply: off");
    }
    if let Some(r) = &m.resync_from {
        println!("resync pending from {r}");
    }
    let mut t = Table::new(&["FOLDER", "FETCHED", "SPECIAL USE", "MESSAGES"]);
    for f in &m.folders {
        t.row(vec![
            f.name.clone(),
            if f.fetch { "yes" } else { "no" }.into(),
            opt(&f.special_use),
            f.fetched.to_string(),
        ]);
    }
    print_list(false, &m.folders, t, None)
}

/// `postdesk shared-mailbox …`
pub async fn run(b: &dyn Backend, cmd: &SharedCmd, json: bool) -> Result<()> {
    match cmd {
        SharedCmd::List { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_shared_mailboxes(ListSharedMailboxes { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            print_list(json, &all, table(&all), None)
        }
        SharedCmd::Stopped => {
            let all = crate::output::every_page(|after, limit| {
                b.list_stopped_shared_mailboxes(ListStoppedSharedMailboxes { after, limit: Some(limit) })
            })
            .await?;
            print_list(json, &all, table(&all), None)
        }
        SharedCmd::Show { address } => {
            show(json, &b.get_shared_mailbox(GetSharedMailbox { address: address.clone() }).await?)
        }
        SharedCmd::Create { domain, address, name, server } => {
            let p = CreateSharedMailbox {
                domain: domain.clone(),
                address: address.clone(),
                name: name.clone(),
                kind: server.kind(),
                host: server.host.clone(),
                port: server.port,
                tls: server.tls(),
                verify_certificate: Some(!server.no_verify_certificate),
                username: server.user.clone(),
                tenant_id: server.tenant_id.clone(),
                client_id: server.client_id.clone(),
                secret: server.secret()?,
                fetch_interval_minutes: server.interval,
                disable_after: server.disable_after,
            };
            show(json, &b.create_shared_mailbox(p).await?)
        }
        SharedCmd::Update { address, name, server } => {
            let p = UpdateSharedMailbox {
                address: address.clone(),
                name: name.clone(),
                kind: server.kind(),
                host: server.host.clone(),
                port: server.port,
                tls: server.tls(),
                verify_certificate: server.no_verify_certificate.then_some(false),
                username: server.user.clone(),
                tenant_id: server.tenant_id.clone(),
                client_id: server.client_id.clone(),
                secret: server.secret()?,
                fetch_interval_minutes: server.interval,
                disable_after: server.disable_after,
            };
            show(json, &b.update_shared_mailbox(p).await?)
        }
        SharedCmd::Remove { address } => {
            b.remove_shared_mailbox(RemoveSharedMailbox { address: address.clone() }).await
        }
        SharedCmd::Fetch { address } => {
            let r = b.fetch_shared_mailbox(FetchSharedMailbox { address: address.clone() }).await?;
            if json {
                return print_one(json, &r);
            }
            match &r.error {
                None => println!(
                    "fetched {} message(s){}{}{}",
                    r.fetched,
                    if r.already > 0 {
                        format!(", {} seen before and not stored again", r.already)
                    } else {
                        String::new()
                    },
                    if r.too_large > 0 {
                        format!(", {} over the size limit passed over", r.too_large)
                    } else {
                        String::new()
                    },
                    if r.more { "; more wait, fetch again" } else { "" },
                ),
                Some(e) => {
                    let m = &r.mailbox;
                    let stopped =
                        if m.disabled_at.is_some() { "; fetching has stopped (interval set to none)" } else { "" };
                    return Err(Error::unavailable(format!(
                        "fetch failed ({} of {} failures in a row{stopped}): {e}",
                        m.error_count, m.disable_after
                    )));
                }
            }
            for folder in &r.uidvalidity_changed {
                println!("folder {folder}: UIDVALIDITY changed at the server; read again, nothing stored twice");
            }
            Ok(())
        }
        SharedCmd::Folders { address } => {
            show(json, &b.fetch_shared_folder_list(FetchSharedFolderList { address: address.clone() }).await?)
        }
        SharedCmd::ChooseFolders { address, fetch, sent, junk } => {
            let p = SetSharedFolders {
                address: address.clone(),
                fetch: fetch.clone(),
                sent_folder: sent.clone(),
                junk_folder: junk.clone(),
            };
            show(json, &b.set_shared_folders(p).await?)
        }
        SharedCmd::Resync { address, since, yes } => {
            let p = ResyncSharedMailbox { address: address.clone(), since: since.clone(), confirm: *yes };
            show(json, &b.resync_shared_mailbox(p).await?)
        }
        SharedCmd::Owners { address, users, groups } => {
            let p = SetSharedMailboxOwners { address: address.clone(), users: users.clone(), groups: groups.clone() };
            show(json, &b.set_shared_mailbox_owners(p).await?)
        }
        SharedCmd::Groups(cmd) => groups(b, cmd, json).await,
        SharedCmd::AutoReply { address, off, from, until, subject, text } => {
            let p = SetSharedAutoReply {
                address: address.clone(),
                enabled: !off,
                starts_at: from.clone(),
                ends_at: until.clone(),
                subject: subject.clone(),
                text: text.clone(),
            };
            show(json, &b.set_shared_auto_reply(p).await?)
        }
        SharedCmd::Template { address, font, size } => {
            let p = SetSharedTemplate { address: address.clone(), font: font.clone(), size_pt: *size };
            show(json, &b.set_shared_template(p).await?)
        }
        SharedCmd::OwnersList { domain, without_default } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_shared_owners(ListSharedOwners {
                    domain: domain.clone(),
                    after,
                    limit: Some(limit),
                    without_default: Some(*without_default),
                })
            })
            .await?;
            print_list(json, &all, owners_table(&all), None)
        }
        SharedCmd::Default { user, mailbox } => {
            let p = SetDefaultSharedMailbox { user: user.clone(), mailbox: mailbox.clone() };
            let o = b.set_default_shared_mailbox(p).await?;
            if json {
                return print_one(json, &o);
            }
            print_list(false, &[&o], owners_table(std::slice::from_ref(&o)), None)
        }
    }
}

fn owners_table(all: &[SharedOwner]) -> Table {
    let mut t = Table::new(&["USER", "DEFAULT", "OWNS"]);
    for o in all {
        let default = o.default_mailbox.clone().unwrap_or_else(|| "⚠ no default mailbox".into());
        t.row(vec![o.address.clone(), default, o.owns.join(", ")]);
    }
    t
}

async fn groups(b: &dyn Backend, cmd: &GroupCmd, json: bool) -> Result<()> {
    let one = |g: WorkflowGroup| {
        if json {
            return print_one(json, &g);
        }
        print_list(false, &[&g], groups_table(std::slice::from_ref(&g)), None)
    };
    match cmd {
        GroupCmd::List { domain } => {
            let all = crate::output::every_page(|after, limit| {
                b.list_workflow_groups(ListWorkflowGroups { domain: domain.clone(), after, limit: Some(limit) })
            })
            .await?;
            print_list(json, &all, groups_table(&all), None)
        }
        GroupCmd::Create { domain, name, members } => {
            let p = CreateWorkflowGroup { domain: domain.clone(), name: name.clone(), members: members.clone() };
            one(b.create_workflow_group(p).await?)
        }
        GroupCmd::Members { domain, name, members } => {
            let p = SetWorkflowGroupMembers { domain: domain.clone(), name: name.clone(), members: members.clone() };
            one(b.set_workflow_group_members(p).await?)
        }
        GroupCmd::Remove { domain, name } => {
            b.remove_workflow_group(RemoveWorkflowGroup { domain: domain.clone(), name: name.clone() }).await
        }
    }
}
