//! One client connection: the states of RFC 9051 §3 (not authenticated, authenticated,
//! selected, logout), and the commands that do not need a selected mailbox. The selected
//! mailbox's commands are in [`selected`].

mod selected;

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use postdesk_contract::ErrorCode;
use postdesk_contract::mail::{FlagChange, Login, LoginAttempt, LoginRefusal, LoginService, MailboxChange};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::broadcast;

use crate::encode::mailbox as quote_mailbox;
use crate::grammar::{self, Command, CommandBody, ListOptions, StatusItem};
use crate::shared::Shared;
use crate::view::View;
use crate::wire::{self, Read};
use crate::{Io, mutf7};

pub(crate) use selected::Selected;

/// The hierarchy separator.
const SEP: char = '/';

/// Extensions a client turned on with ENABLE.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Enabled {
    pub condstore: bool,
    pub qresync: bool,
    pub utf8: bool,
    pub rev2: bool,
}

pub(crate) struct Session {
    shared: Arc<Shared>,
    io: BufReader<Box<dyn Io>>,
    out: Vec<u8>,
    peer: SocketAddr,
    tls: bool,
    account: Option<String>,
    /// The signed-in user's folders, their own and their shared mailboxes' (view.rs).
    view: View,
    selected: Option<Selected>,
    enabled: Enabled,
    changes: broadcast::Receiver<MailboxChange>,
    auth_failures: u32,
    /// The last `SEARCH RETURN (SAVE)` result, as UIDs (RFC 5182).
    saved: Vec<u32>,
    logout: bool,
    /// The tag of the command running (ESEARCH names it).
    tag: String,
    /// What NOTIFY SET asked for (RFC 5465).
    notify: Option<Notifying>,
}

/// NOTIFY's state: the filters (folder names as stored) with their events, what changed
/// and has not been told yet.
pub(crate) struct Notifying {
    groups: Vec<(grammar::NotifyFilter, Vec<String>)>,
    subscribed: std::collections::HashSet<String>,
    /// Folders (not the selected one) with new, expunged or flagged messages to report.
    pending: std::collections::BTreeSet<String>,
    /// The folder list as last told (MailboxName), and whether it may have changed.
    folders: Option<std::collections::BTreeSet<String>>,
    list_changed: bool,
}

/// The NOTIFY events offered.
const NOTIFY_EVENTS: [&str; 4] = ["MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE", "MAILBOXNAME"];

impl Notifying {
    /// The events that apply to `folder` (the first filter naming it), for a mailbox
    /// other than the selected one.
    fn events_for(&self, folder: &str) -> Option<&[String]> {
        self.groups.iter().find_map(|(filter, events)| {
            let hit = match filter {
                grammar::NotifyFilter::Selected | grammar::NotifyFilter::SelectedDelayed => false,
                grammar::NotifyFilter::Inboxes => folder == "INBOX",
                grammar::NotifyFilter::Personal => true,
                grammar::NotifyFilter::Subscribed => self.subscribed.contains(folder),
                grammar::NotifyFilter::Subtree(names) => names
                    .iter()
                    .any(|n| folder == n || folder.strip_prefix(n.as_str()).is_some_and(|r| r.starts_with(SEP))),
                grammar::NotifyFilter::Mailboxes(names) => names.iter().any(|n| n == folder),
            };
            hit.then_some(events.as_slice())
        })
    }

    fn message_events(&self, folder: &str) -> bool {
        self.events_for(folder).is_some_and(|e| e.iter().any(|e| e != "MAILBOXNAME"))
    }
}

/// A command's outcome: the tagged status line's condition and text.
pub(crate) enum Done {
    Ok(String),
    No(String),
    Bad(String),
}

impl Done {
    fn ok(text: impl Into<String>) -> Done {
        Done::Ok(text.into())
    }
    fn no(text: impl Into<String>) -> Done {
        Done::No(text.into())
    }
}

/// A store error as a tagged reply.
pub(crate) fn refusal(e: postdesk_contract::Error) -> Done {
    match e.code {
        ErrorCode::NotFound => Done::No(format!("[NONEXISTENT] {}", e.message)),
        ErrorCode::Conflict => Done::No(format!("[ALREADYEXISTS] {}", e.message)),
        ErrorCode::LimitExceeded if e.message.contains("full") => Done::No(format!("[OVERQUOTA] {}", e.message)),
        ErrorCode::LimitExceeded => Done::No(format!("[LIMIT] {}", e.message)),
        ErrorCode::Validation => Done::No(format!("[CANNOT] {}", e.message)),
        _ => {
            tracing::warn!("IMAP store error: {}", e.message);
            Done::No("[SERVERBUG] The mail store failed; try again".into())
        }
    }
}

impl Session {
    pub fn new(shared: Arc<Shared>, stream: Box<dyn Io>, tls: bool, peer: SocketAddr) -> Session {
        let changes = shared.backend.watch_mailboxes();
        let view = View::new(shared.backend.clone(), "");
        Session {
            shared,
            io: BufReader::new(stream),
            out: Vec::new(),
            peer,
            tls,
            account: None,
            view,
            selected: None,
            enabled: Enabled::default(),
            changes,
            auth_failures: 0,
            saved: Vec::new(),
            notify: None,
            logout: false,
            tag: String::new(),
        }
    }

    pub fn capabilities(&self) -> String {
        let mut caps = vec!["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE"];
        if self.account.is_none() {
            if self.tls {
                caps.push("AUTH=PLAIN");
            } else {
                if self.shared.tls.is_some() {
                    caps.push("STARTTLS");
                }
                caps.push("LOGINDISABLED");
            }
        } else {
            caps.extend([
                "UIDPLUS",
                "MULTIAPPEND",
                "MOVE",
                "UNSELECT",
                "CHILDREN",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CONDSTORE",
                "QRESYNC",
                "ESEARCH",
                "SORT",
                "SORT=DISPLAY",
                "ESORT",
                "CONTEXT=SEARCH",
                "CONTEXT=SORT",
                "BINARY",
                "CATENATE",
                "URLAUTH",
                "NOTIFY",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
                "SEARCHRES",
                "QUOTA",
                "QUOTA=RES-STORAGE",
                "STATUS=SIZE",
                "UTF8=ACCEPT",
            ]);
        }
        caps.join(" ")
    }

    fn untagged(&mut self, line: &str) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            self.io.get_mut().write_all(&out).await?;
        }
        self.io.get_mut().flush().await
    }

    pub async fn run(mut self) {
        let greeting = format!("OK [CAPABILITY {}] Postdesk IMAP ready", self.capabilities());
        self.untagged(&greeting);
        if self.flush().await.is_err() {
            return;
        }
        while !self.logout {
            let timeout = if self.account.is_some() {
                self.shared.options.idle_timeout
            } else {
                self.shared.options.login_timeout
            };
            let max_literal = if self.account.is_some() { self.shared.options.max_literal } else { 8 * 1024 };
            let read = tokio::select! {
                r = tokio::time::timeout(timeout, wire::read_command(&mut self.io, max_literal, max_literal + wire::MAX_LINE)) => r,
                _ = self.shared.shutdown.cancelled() => {
                    self.untagged("BYE Server shutting down");
                    let _ = self.flush().await;
                    return;
                }
            };
            let command = match read {
                Err(_) => {
                    self.untagged("BYE Idle for too long");
                    let _ = self.flush().await;
                    return;
                }
                Ok(Err(_)) | Ok(Ok(Read::Eof)) => return,
                Ok(Ok(Read::TooBig { tag, message })) => {
                    match tag {
                        Some(tag) => self.out.extend_from_slice(format!("{tag} NO [TOOBIG] {message}\r\n").as_bytes()),
                        None => self.untagged(&format!("BAD {message}")),
                    }
                    if self.flush().await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Ok(Read::Command(bytes))) => bytes,
            };
            let result = match grammar::parse_command(&command) {
                Ok(cmd) => self.execute(cmd).await,
                Err(e) => {
                    match e.tag {
                        Some(tag) => self.out.extend_from_slice(format!("{tag} BAD {}\r\n", e.message).as_bytes()),
                        None => self.untagged(&format!("BAD {}", e.message)),
                    }
                    Ok(())
                }
            };
            if result.is_err() || self.flush().await.is_err() {
                return;
            }
            if self.auth_failures >= self.shared.options.max_auth_failures {
                self.untagged("BYE Too many failed logins");
                let _ = self.flush().await;
                return;
            }
        }
    }

    async fn execute(&mut self, cmd: Command) -> std::io::Result<()> {
        let Command { tag, body } = cmd;
        self.tag = tag.clone();
        if matches!(body, CommandBody::Idle) {
            return self.idle(&tag).await;
        }
        if matches!(body, CommandBody::StartTls) {
            return self.starttls(&tag).await;
        }
        if let CommandBody::Authenticate { mechanism, initial } = &body {
            let done = self.authenticate(mechanism, initial.clone()).await?;
            self.finish(&tag, done);
            return Ok(());
        }
        let done = self.dispatch(body).await;
        self.update_contexts().await;
        self.report_notifications().await;
        self.finish(&tag, done);
        Ok(())
    }

    fn finish(&mut self, tag: &str, done: Done) {
        let line = match done {
            Done::Ok(t) => format!("{tag} OK {}\r\n", if t.is_empty() { "done" } else { &t }),
            Done::No(t) => format!("{tag} NO {t}\r\n"),
            Done::Bad(t) => format!("{tag} BAD {t}\r\n"),
        };
        self.out.extend_from_slice(line.as_bytes());
    }

    async fn dispatch(&mut self, body: CommandBody) -> Done {
        match body {
            CommandBody::Capability => {
                let caps = format!("CAPABILITY {}", self.capabilities());
                self.untagged(&caps);
                Done::ok("CAPABILITY done")
            }
            CommandBody::CancelUpdate(tags) => self.cancel_updates(&tags),
            CommandBody::Notify(set) => self.notify_set(set).await,
            CommandBody::GenUrlAuth(pairs) => self.gen_url_auth(&pairs).await,
            CommandBody::UrlFetch(urls) => self.url_fetch(&urls).await,
            CommandBody::ResetKey(mailbox) => {
                let account = self.account.clone().unwrap_or_default();
                let name = mailbox.map(|m| self.mailbox_name(&m));
                if let Some(name) = &name
                    && !self.folder_exists(&account, name).await
                {
                    return Done::no(format!("[NONEXISTENT] No mailbox {name}"));
                }
                self.shared.reset_url_keys(&account, name.as_deref());
                Done::ok("RESETKEY done")
            }
            CommandBody::Noop | CommandBody::Check => {
                self.sync(true).await;
                Done::ok("NOOP done")
            }
            CommandBody::Logout => {
                self.untagged("BYE Logging out");
                self.logout = true;
                Done::ok("LOGOUT done")
            }
            CommandBody::Id(_) => {
                self.untagged("ID (\"name\" \"Postdesk\" \"vendor\" \"Postdesk\")");
                Done::ok("ID done")
            }
            CommandBody::Login { user, password } => self.login(&user, &password).await,
            CommandBody::StartTls | CommandBody::Idle | CommandBody::Authenticate { .. } => {
                unreachable!("handled before")
            }
            _ if self.account.is_none() => Done::Bad("Log in first".into()),
            CommandBody::Enable(caps) => self.enable(&caps),
            CommandBody::Namespace => {
                self.untagged("NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))");
                Done::ok("NAMESPACE done")
            }
            CommandBody::Select { mailbox, read_only, condstore, qresync } => {
                let name = self.mailbox_name(&mailbox);
                if qresync.is_some() && !self.enabled.qresync {
                    return Done::Bad("ENABLE QRESYNC first".into());
                }
                if condstore {
                    self.enabled.condstore = true;
                }
                self.select(&name, read_only, qresync).await
            }
            CommandBody::Create(mailbox) => self.create(&mailbox).await,
            CommandBody::Delete(mailbox) => self.delete(&mailbox).await,
            CommandBody::Rename { from, to } => self.rename(&from, &to).await,
            CommandBody::Subscribe(mailbox) => self.subscribe(&mailbox, true).await,
            CommandBody::Unsubscribe(mailbox) => self.subscribe(&mailbox, false).await,
            CommandBody::List { reference, patterns, options, lsub } => {
                self.list(&reference, &patterns, &options, lsub).await
            }
            CommandBody::Status { mailbox, items } => {
                let name = self.mailbox_name(&mailbox);
                match self.status_line(&name, &items).await {
                    Ok(line) => {
                        self.untagged(&line);
                        Done::ok("STATUS done")
                    }
                    Err(done) => done,
                }
            }
            CommandBody::Append { mailbox, messages } => self.append(&mailbox, messages).await,
            CommandBody::GetQuota(root) => {
                if !root.is_empty() {
                    return Done::no("[NONEXISTENT] The only quota root is \"\"");
                }
                self.quota_line().await
            }
            CommandBody::GetQuotaRoot(mailbox) => {
                let name = self.mailbox_name(&mailbox);
                let account = self.account.clone().unwrap_or_default();
                if !self.folder_exists(&account, &name).await {
                    return Done::no(format!("[NONEXISTENT] No mailbox {name}"));
                }
                self.untagged(&format!("QUOTAROOT {} \"\"", quote_mailbox(&mailbox)));
                self.quota_line().await
            }
            CommandBody::SetQuota => {
                Done::no("[NOPERM] Quotas come from the account's plan; an administrator sets them")
            }
            other => self.selected_command(other).await,
        }
    }

    /// The account's name for a folder the client named: UTF-8 when the client speaks
    /// it, modified UTF-7 otherwise; a trailing separator dropped.
    pub(crate) fn mailbox_name(&self, given: &str) -> String {
        let name = if self.enabled.utf8 || self.enabled.rev2 {
            given.to_string()
        } else {
            mutf7::decode(given).unwrap_or_else(|| given.to_string())
        };
        let name = name.strip_suffix(SEP).map(str::to_string).unwrap_or(name);
        if name.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { name }
    }

    /// A folder name as the client reads it.
    pub(crate) fn client_name(&self, name: &str) -> String {
        if self.enabled.utf8 || self.enabled.rev2 { name.to_string() } else { mutf7::encode(name) }
    }

    fn enable(&mut self, caps: &[String]) -> Done {
        let mut turned = Vec::new();
        for cap in caps {
            let on = match cap.as_str() {
                "CONDSTORE" => &mut self.enabled.condstore,
                "QRESYNC" => {
                    self.enabled.condstore = true;
                    &mut self.enabled.qresync
                }
                "UTF8=ACCEPT" => &mut self.enabled.utf8,
                "IMAP4REV2" => &mut self.enabled.rev2,
                _ => continue,
            };
            if !*on {
                *on = true;
                turned.push(cap.clone());
            }
        }
        self.untagged(format!("ENABLED {}", turned.join(" ")).trim_end());
        Done::ok("ENABLE done")
    }

    async fn starttls(&mut self, tag: &str) -> std::io::Result<()> {
        let Some(acceptor) = self.shared.tls.clone() else {
            self.finish(tag, Done::Bad("STARTTLS is not offered".into()));
            return Ok(());
        };
        if self.tls {
            self.finish(tag, Done::Bad("TLS is already on".into()));
            return Ok(());
        }
        if !self.io.buffer().is_empty() {
            // Commands sent before the handshake could be an injection (CVE-2011-0411).
            self.finish(tag, Done::Bad("Nothing may follow STARTTLS before the handshake".into()));
            return Ok(());
        }
        self.finish(tag, Done::ok("Begin TLS negotiation now"));
        self.flush().await?;
        let plain = std::mem::replace(&mut self.io, BufReader::new(Box::new(tokio::io::empty()) as Box<dyn Io>));
        let stream = plain.into_inner();
        match tokio::time::timeout(std::time::Duration::from_secs(15), acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                self.io = BufReader::new(Box::new(tls));
                self.tls = true;
                Ok(())
            }
            _ => Err(std::io::Error::other("TLS handshake failed")),
        }
    }

    async fn authenticate(&mut self, mechanism: &str, initial: Option<String>) -> std::io::Result<Done> {
        if self.account.is_some() {
            return Ok(Done::Bad("Already logged in".into()));
        }
        if mechanism != "PLAIN" {
            return Ok(Done::no(format!("[CANNOT] {mechanism} is not offered; use PLAIN")));
        }
        if !self.tls {
            return Ok(Done::no("[PRIVACYREQUIRED] Use STARTTLS (or the implicit-TLS port) before logging in"));
        }
        let response = match initial {
            Some(r) => r,
            None => {
                self.out.extend_from_slice(b"+ \r\n");
                self.flush().await?;
                let mut line = Vec::new();
                wire::read_line(&mut self.io, &mut line, 8 * 1024).await?;
                String::from_utf8_lossy(&line).trim_end().to_string()
            }
        };
        if response == "*" {
            return Ok(Done::Bad("Authentication cancelled".into()));
        }
        let response = if response == "=" { String::new() } else { response };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(response.as_bytes()) else {
            return Ok(Done::Bad("The response is not base64".into()));
        };
        let mut parts = decoded.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Done::Bad("A PLAIN response is authzid NUL user NUL password".into()));
        };
        if !authz.is_empty() && authz != user {
            return Ok(Done::no("[AUTHORIZATIONFAILED] Logging in as another user is not allowed"));
        }
        let (Ok(user), Ok(password)) = (std::str::from_utf8(user), std::str::from_utf8(password)) else {
            return Ok(Done::no("[AUTHENTICATIONFAILED] Authentication failed"));
        };
        Ok(self.login(user, password).await)
    }

    async fn login(&mut self, user: &str, password: &str) -> Done {
        if self.account.is_some() {
            return Done::Bad("Already logged in".into());
        }
        if !self.tls {
            return Done::no("[PRIVACYREQUIRED] Use STARTTLS (or the implicit-TLS port) before logging in");
        }
        let attempt = LoginAttempt { login: user, password, service: LoginService::Imap, client: self.peer.ip() };
        let login = match self.shared.backend.verify_login(attempt).await {
            Ok(login) => login,
            Err(e) => {
                tracing::warn!("IMAP login check failed: {}", e.message);
                return Done::no("[UNAVAILABLE] The account cannot be checked now; try again later");
            }
        };
        match login {
            Login::Accepted { address, .. } => {
                tracing::debug!(peer = %self.peer, account = %address, "IMAP login");
                self.view = View::new(self.shared.backend.clone(), &address);
                self.account = Some(address);
                let caps = self.capabilities();
                Done::ok(format!("[CAPABILITY {caps}] Logged in"))
            }
            Login::Refused(why) => {
                self.auth_failures += 1;
                Done::no(match why {
                    LoginRefusal::WrongCredentials => "[AUTHENTICATIONFAILED] Authentication failed".to_string(),
                    LoginRefusal::Locked => {
                        "[ALERT] This account is locked; ask your administrator to unlock it or reset its password"
                            .into()
                    }
                    LoginRefusal::Disabled => "[ALERT] This account is disabled; ask your administrator".into(),
                    LoginRefusal::ServiceDisabled => {
                        "[ALERT] IMAP is switched off for this account; ask your administrator".into()
                    }
                    LoginRefusal::PasswordChangeRequired => format!(
                        "[ALERT] You must change your password before reading mail: sign in to the Postdesk user portal{} and set a new one",
                        self.shared.backend.portal_url().map(|u| format!(" at {u}")).unwrap_or_default()
                    ),
                })
            }
        }
    }

    async fn idle(&mut self, tag: &str) -> std::io::Result<()> {
        if self.account.is_none() {
            self.finish(tag, Done::Bad("Log in first".into()));
            return Ok(());
        }
        self.out.extend_from_slice(b"+ idling\r\n");
        self.sync(true).await;
        self.flush().await?;
        let deadline = tokio::time::Instant::now() + self.shared.options.idle_timeout;
        // Outside the loop: a DONE that arrives in pieces while a change is being pushed
        // keeps what was read of it (the read is cancelled, its bytes are not lost).
        let mut line = Vec::new();
        loop {
            tokio::select! {
                read = wire::read_line(&mut self.io, &mut line, 1024) => {
                    let n = read?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    if !line.ends_with(b"\n") && line.len() < 1024 {
                        continue;
                    }
                    if line.trim_ascii().eq_ignore_ascii_case(b"DONE") {
                        self.finish(tag, Done::ok("IDLE done"));
                    } else {
                        self.finish(tag, Done::Bad("Expected DONE".into()));
                    }
                    return Ok(());
                }
                change = self.changes.recv() => {
                    let relevant = match &change {
                        Ok(c) => self.note_change(c),
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => false,
                    };
                    if relevant {
                        if let Some(s) = self.selected.as_mut() {
                            s.dirty |= change.is_err();
                        }
                        self.sync(true).await;
                        self.update_contexts().await;
                        self.report_notifications().await;
                        self.flush().await?;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.untagged("BYE Idle for too long");
                    self.flush().await?;
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
                _ = self.shared.shutdown.cancelled() => {
                    self.untagged("BYE Server shutting down");
                    self.flush().await?;
                    return Err(std::io::ErrorKind::Interrupted.into());
                }
            }
        }
    }

    fn concerns(&self, change: &MailboxChange) -> bool {
        match (&self.account, &self.selected) {
            (Some(a), Some(s)) => *a == change.account && change.folder.as_deref().is_none_or(|f| f == s.name),
            _ => false,
        }
    }

    /// Takes in one change: marks the selected mailbox dirty when it concerns it, and
    /// keeps what NOTIFY asked to hear of. Whether the session has something to tell.
    fn note_change(&mut self, c: &MailboxChange) -> bool {
        // A change in a shared mailbox the user owns, under the name they see it by.
        let Some(seen) = self.view.change(c) else { return false };
        let c = &seen;
        let mut relevant = false;
        if self.concerns(c)
            && let Some(s) = self.selected.as_mut()
        {
            s.dirty = true;
            relevant = true;
        }
        let selected = self.selected.as_ref().map(|s| s.name.as_str());
        if let (Some(n), Some(account)) = (self.notify.as_mut(), self.account.as_deref())
            && c.account == account
        {
            match &c.folder {
                Some(f) if Some(f.as_str()) != selected && n.message_events(f) => {
                    n.pending.insert(f.clone());
                    relevant = true;
                }
                None if n.folders.is_some() => {
                    n.list_changed = true;
                    relevant = true;
                }
                _ => {}
            }
        }
        relevant
    }

    /// NOTIFY SET / NONE (RFC 5465): which mailboxes' changes are told unasked, as STATUS
    /// for message events and LIST for mailbox names; with STATUS, their STATUS now.
    async fn notify_set(&mut self, set: Option<grammar::NotifySet>) -> Done {
        let Some(set) = set else {
            self.notify = None;
            return Done::ok("NOTIFY done");
        };
        let account = self.account.clone().unwrap_or_default();
        for (_, events) in &set.groups {
            let unknown: Vec<&String> = events.iter().filter(|e| !NOTIFY_EVENTS.contains(&e.as_str())).collect();
            if !unknown.is_empty() {
                return Done::no(
                    "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName)] Those events are not offered",
                );
            }
            let has = |e: &str| events.iter().any(|x| x == e);
            if has("MESSAGENEW") != has("MESSAGEEXPUNGE") || (has("FLAGCHANGE") && !has("MESSAGENEW")) {
                return Done::Bad("MessageNew and MessageExpunge go together, and FlagChange needs both".into());
            }
        }
        let folders = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        let mut groups = Vec::with_capacity(set.groups.len());
        for (filter, events) in set.groups {
            let filter = match filter {
                grammar::NotifyFilter::Subtree(names) => {
                    grammar::NotifyFilter::Subtree(names.iter().map(|n| self.mailbox_name(n)).collect())
                }
                grammar::NotifyFilter::Mailboxes(names) => {
                    let names: Vec<String> = names.iter().map(|n| self.mailbox_name(n)).collect();
                    if let Some(missing) = names.iter().find(|n| !folders.iter().any(|f| &f.name == *n)) {
                        return Done::no(format!("[NONEXISTENT] No mailbox {missing}"));
                    }
                    grammar::NotifyFilter::Mailboxes(names)
                }
                other => other,
            };
            groups.push((filter, events));
        }
        let subscribed = self.view.subscriptions(&account).await.unwrap_or_default().into_iter().collect();
        let wants_names = groups.iter().any(|(_, e)| e.iter().any(|x| x == "MAILBOXNAME"));
        let names = wants_names.then(|| folders.iter().map(|f| f.name.clone()).collect());
        let n = Notifying { groups, subscribed, pending: Default::default(), folders: names, list_changed: false };
        let selected = self.selected.as_ref().map(|s| s.name.clone());
        let mut lines = Vec::new();
        if set.status {
            for f in &folders {
                if Some(&f.name) == selected.as_ref() || !n.message_events(&f.name) {
                    continue;
                }
                lines.push(self.notify_status(&n, &f.name).await);
            }
        }
        self.notify = Some(n);
        for line in lines.into_iter().flatten() {
            self.untagged(&line);
        }
        Done::ok("NOTIFY done")
    }

    /// The STATUS told for a folder's message events (HIGHESTMODSEQ with FlagChange).
    async fn notify_status(&mut self, n: &Notifying, folder: &str) -> Option<String> {
        let mut items =
            vec![grammar::StatusItem::Messages, grammar::StatusItem::UidNext, grammar::StatusItem::UidValidity];
        if n.events_for(folder).is_some_and(|e| e.iter().any(|x| x == "FLAGCHANGE")) {
            items.push(grammar::StatusItem::HighestModSeq);
        }
        self.status_line(folder, &items).await.ok()
    }

    /// Tells what NOTIFY asked to hear of and changed since (after each command, and
    /// at once during IDLE).
    pub(crate) async fn report_notifications(&mut self) {
        let Some(mut n) = self.notify.take() else { return };
        for folder in std::mem::take(&mut n.pending) {
            if let Some(line) = self.notify_status(&n, &folder).await {
                self.untagged(&line);
            }
        }
        if std::mem::take(&mut n.list_changed)
            && let Some(known) = n.folders.as_mut()
        {
            let account = self.account.clone().unwrap_or_default();
            if let Ok(now) = self.view.folders(&account).await {
                let now: std::collections::BTreeSet<String> = now.into_iter().map(|f| f.name).collect();
                for gone in known.difference(&now) {
                    self.untagged(&format!("LIST (\\NonExistent) \"/\" {}", quote_mailbox(&self.client_name(gone))));
                }
                for new in now.difference(known) {
                    self.untagged(&format!("LIST () \"/\" {}", quote_mailbox(&self.client_name(new))));
                }
                *known = now;
            }
        }
        self.notify = Some(n);
    }

    /// Takes in the change notifications that arrived; marks the selected mailbox dirty
    /// when one concerns it.
    pub(crate) fn drain_changes(&mut self) {
        loop {
            match self.changes.try_recv() {
                Ok(c) => {
                    self.note_change(&c);
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    if let Some(s) = self.selected.as_mut() {
                        s.dirty = true;
                    }
                }
                Err(_) => return,
            }
        }
    }

    async fn folder_exists(&self, account: &str, name: &str) -> bool {
        self.view.folders(account).await.is_ok_and(|fs| fs.iter().any(|f| f.name == name))
    }

    async fn create(&mut self, mailbox: &str) -> Done {
        let name = self.mailbox_name(mailbox);
        let account = self.account.clone().unwrap_or_default();
        if name == "INBOX" {
            return Done::no("[ALREADYEXISTS] INBOX always exists");
        }
        if name.is_empty() || name.split(SEP).any(str::is_empty) {
            return Done::no("[CANNOT] A folder name has no empty levels");
        }
        let existing = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        // Missing parents are created too, so every level can be selected.
        let levels: Vec<&str> = name.split(SEP).collect();
        for i in 1..levels.len() {
            let parent = levels[..i].join("/");
            if !existing.iter().any(|f| f.name == parent)
                && let Err(e) = self.view.create_folder(&account, &parent).await
                && e.code != ErrorCode::Conflict
            {
                return refusal(e);
            }
        }
        match self.view.create_folder(&account, &name).await {
            Ok(_) => Done::ok("CREATE done"),
            Err(e) => refusal(e),
        }
    }

    async fn delete(&mut self, mailbox: &str) -> Done {
        let name = self.mailbox_name(mailbox);
        let account = self.account.clone().unwrap_or_default();
        if name == "INBOX" {
            return Done::no("[CANNOT] INBOX cannot be deleted");
        }
        let folders = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        if !folders.iter().any(|f| f.name == name) {
            return Done::no(format!("[NONEXISTENT] No mailbox {mailbox}"));
        }
        let prefix = format!("{name}{SEP}");
        if folders.iter().any(|f| f.name.starts_with(&prefix)) {
            return Done::no("[INUSE] The mailbox has sub-folders; delete them first");
        }
        if self.selected.as_ref().is_some_and(|s| s.name == name) {
            self.selected = None;
        }
        match self.view.delete_folder(&account, &name).await {
            Ok(()) => Done::ok("DELETE done"),
            Err(e) if e.code == ErrorCode::Conflict => Done::no(format!("[CANNOT] {}", e.message)),
            Err(e) => refusal(e),
        }
    }

    async fn rename(&mut self, from: &str, to: &str) -> Done {
        let (from, to) = (self.mailbox_name(from), self.mailbox_name(to));
        let account = self.account.clone().unwrap_or_default();
        if to.is_empty() || to.split(SEP).any(str::is_empty) {
            return Done::no("[CANNOT] A folder name has no empty levels");
        }
        match self.view.rename_folder(&account, &from, &to).await {
            Ok(_) => {
                if self.selected.as_ref().is_some_and(|s| s.name == from) && from != "INBOX" {
                    self.selected = None;
                }
                Done::ok("RENAME done")
            }
            Err(e) => refusal(e),
        }
    }

    async fn subscribe(&mut self, mailbox: &str, on: bool) -> Done {
        let name = self.mailbox_name(mailbox);
        let account = self.account.clone().unwrap_or_default();
        if on && !self.folder_exists(&account, &name).await {
            return Done::no(format!("[NONEXISTENT] No mailbox {mailbox}"));
        }
        match self.view.set_subscribed(&account, &name, on).await {
            Ok(()) => Done::ok(if on { "SUBSCRIBE done" } else { "UNSUBSCRIBE done" }),
            Err(e) => refusal(e),
        }
    }

    async fn list(&mut self, reference: &str, patterns: &[String], options: &ListOptions, lsub: bool) -> Done {
        let account = self.account.clone().unwrap_or_default();
        if patterns.len() == 1 && patterns[0].is_empty() && !options.extended {
            let verb = if lsub { "LSUB" } else { "LIST" };
            self.untagged(&format!("{verb} (\\Noselect) \"/\" \"\""));
            return Done::ok(format!("{verb} done"));
        }
        let folders = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        let subscribed = match self.view.subscriptions(&account).await {
            Ok(s) => s,
            Err(e) => return refusal(e),
        };
        let reference = self.mailbox_name(reference);
        let patterns: Vec<String> = patterns
            .iter()
            .map(|p| {
                let p = if self.enabled.utf8 || self.enabled.rev2 {
                    p.clone()
                } else {
                    mutf7::decode(p).unwrap_or(p.clone())
                };
                format!("{reference}{p}")
            })
            .collect();
        let exists = |n: &str| folders.iter().any(|f| f.name == n);
        // Every name that exists or is subscribed, and the levels above them.
        let mut names: std::collections::BTreeSet<String> = folders.iter().map(|f| f.name.clone()).collect();
        if options.subscribed_only || lsub {
            names.extend(subscribed.iter().cloned());
        }
        for n in names.clone() {
            let mut parts: Vec<&str> = n.split(SEP).collect();
            while parts.len() > 1 {
                parts.pop();
                names.insert(parts.join("/"));
            }
        }
        let verb = if lsub { "LSUB" } else { "LIST" };
        let mut lines = Vec::new();
        for name in &names {
            let matched = patterns.iter().any(|p| pattern_matches(p, name));
            if !matched {
                continue;
            }
            let is_subscribed = subscribed.iter().any(|s| s == name);
            let prefix = format!("{name}{SEP}");
            let children = names.iter().any(|n| n.starts_with(&prefix) && (exists(n) || !lsub));
            let children = children || folders.iter().any(|f| f.name.starts_with(&prefix));
            // RECURSIVEMATCH: a subscribed descendant the patterns do not list themselves.
            let unlisted_subscribed_child =
                subscribed.iter().any(|s| s.starts_with(&prefix) && !patterns.iter().any(|p| pattern_matches(p, s)));
            if (options.subscribed_only || lsub) && !is_subscribed {
                if options.recursive_match && unlisted_subscribed_child {
                    let mut attrs = Vec::new();
                    if !exists(name) {
                        attrs.push("\\NonExistent");
                    }
                    if options.return_children && children {
                        attrs.push("\\HasChildren");
                    }
                    lines.push((name.clone(), attrs.join(" "), " (\"CHILDINFO\" (\"SUBSCRIBED\"))".to_string()));
                } else if lsub
                    && subscribed.iter().any(|s| s.starts_with(&prefix))
                    && patterns.iter().any(|p| p.ends_with('%'))
                {
                    lines.push((name.clone(), "\\Noselect".to_string(), String::new()));
                }
                continue;
            }
            let special = special_use(name);
            if options.special_use_only && special.is_none() {
                continue;
            }
            let mut attrs: Vec<&str> = Vec::new();
            if !exists(name) {
                if options.subscribed_only && !lsub && !children {
                    attrs.push("\\NonExistent");
                } else {
                    attrs.push("\\Noselect");
                }
            }
            if !lsub {
                attrs.push(if children { "\\HasChildren" } else { "\\HasNoChildren" });
                if (options.return_subscribed || options.subscribed_only) && is_subscribed {
                    attrs.push("\\Subscribed");
                }
                if let Some(s) = special {
                    attrs.push(s);
                }
            }
            lines.push((name.clone(), attrs.join(" "), String::new()));
        }
        for (name, attrs, extra) in lines {
            let shown = self.client_name(&name);
            self.untagged(&format!("{verb} ({attrs}) \"/\" {}{extra}", quote_mailbox(&shown)));
            // LIST-STATUS: from the folder list already read, not a second look-up per folder.
            if let Some(items) = &options.return_status
                && let Some(state) = folders.iter().find(|f| f.name == name)
                && let Ok(line) = self.status_of(state, items).await
            {
                self.untagged(&line);
            }
        }
        Done::ok(format!("{verb} done"))
    }

    pub(crate) async fn status_line(&mut self, name: &str, items: &[StatusItem]) -> Result<String, Done> {
        let account = self.account.clone().unwrap_or_default();
        let folders = self.view.folders(&account).await.map_err(refusal)?;
        let Some(f) = folders.into_iter().find(|f| f.name == name) else {
            return Err(Done::no(format!("[NONEXISTENT] No mailbox {name}")));
        };
        self.status_of(&f, items).await
    }

    /// The STATUS line of a folder whose state was read already (its messages are read
    /// only for RECENT and DELETED).
    async fn status_of(&self, f: &postdesk_contract::mail::FolderState, items: &[StatusItem]) -> Result<String, Done> {
        let account = self.account.clone().unwrap_or_default();
        let name = f.name.as_str();
        let needs_messages = items.iter().any(|i| matches!(i, StatusItem::Recent | StatusItem::Deleted));
        let messages =
            if needs_messages { self.view.messages(&account, name).await.map_err(refusal)? } else { Vec::new() };
        let mark = self.shared.recent_mark(&account, name, f.uidvalidity);
        let mut parts = Vec::new();
        for item in items {
            parts.push(match item {
                StatusItem::Messages => format!("MESSAGES {}", f.messages),
                StatusItem::Recent => format!("RECENT {}", messages.iter().filter(|m| m.uid > mark).count()),
                StatusItem::UidNext => format!("UIDNEXT {}", f.uidnext),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", f.uidvalidity),
                StatusItem::Unseen => format!("UNSEEN {}", f.unseen),
                StatusItem::Size => format!("SIZE {}", f.bytes),
                StatusItem::Deleted => {
                    format!("DELETED {}", messages.iter().filter(|m| m.flags.iter().any(|x| x == "\\Deleted")).count())
                }
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", f.highest_modseq),
            });
        }
        Ok(format!("STATUS {} ({})", quote_mailbox(&self.client_name(name)), parts.join(" ")))
    }

    async fn quota_line(&mut self) -> Done {
        let account = self.account.clone().unwrap_or_default();
        match self.view.quota(&account).await {
            Ok(q) => {
                self.untagged(&format!("QUOTA \"\" (STORAGE {} {})", q.used.div_ceil(1024), q.limit / 1024));
                Done::ok("GETQUOTA done")
            }
            Err(e) => refusal(e),
        }
    }

    async fn append(&mut self, mailbox: &str, messages: Vec<grammar::AppendMessage>) -> Done {
        let name = self.mailbox_name(mailbox);
        let account = self.account.clone().unwrap_or_default();
        let folders = match self.view.folders(&account).await {
            Ok(fs) => fs,
            Err(e) => return refusal(e),
        };
        let Some(folder) = folders.iter().find(|f| f.name == name) else {
            return Done::no(format!("[TRYCREATE] No mailbox {mailbox}"));
        };
        let uidvalidity = folder.uidvalidity;
        // Every message is made first (a CATENATE may name a message that does not exist):
        // MULTIAPPEND stores all of them or none (RFC 3502).
        let mut made = Vec::with_capacity(messages.len());
        for m in messages {
            let data = match m.content {
                // A binary message's binary parts are kept as base64 (RFC 3516 §4.2 allows
                // the conversion): BODY[…] then never carries a NUL, and BINARY[…] decodes it.
                grammar::AppendContent::Literal { data, binary: true } => crate::binary::to_seven_bit(&data),
                grammar::AppendContent::Literal { data, binary: false } => data,
                grammar::AppendContent::Catenate(parts) => match self.catenate(&account, parts).await {
                    Ok(data) => data,
                    Err(refusal) => return refusal,
                },
            };
            if data.is_empty() {
                return Done::no("[CANNOT] An empty message cannot be stored");
            }
            made.push((m.flags, m.date, data));
        }
        let mut uids = Vec::new();
        for (flags, date, data) in made {
            let flags: Vec<String> = flags.into_iter().filter(|f| !f.eq_ignore_ascii_case("\\Recent")).collect();
            let date = date.and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok());
            match self.view.append_dated(&account, &name, &data, &flags, date).await {
                Ok(d) => uids.push(d.uid),
                Err(e) => {
                    // MULTIAPPEND is all or nothing (RFC 3502): what went in goes again.
                    if !uids.is_empty() {
                        self.undo_appends(&account, &name, &uids).await;
                    }
                    return refusal(e);
                }
            }
        }
        self.drain_changes();
        self.sync(false).await;
        Done::ok(format!("[APPENDUID {uidvalidity} {}] APPEND done", crate::sequence::compact(&uids)))
    }

    /// The message a CATENATE makes: its texts and the messages or sections its URLs name
    /// (the user's own mailboxes only), at most the literal limit in all.
    async fn catenate(&self, account: &str, parts: Vec<grammar::CatenatePart>) -> Result<Vec<u8>, Done> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                grammar::CatenatePart::Text(text) => out.extend_from_slice(&text),
                grammar::CatenatePart::Url(url) => match self.url_content(account, &url).await {
                    Some(bytes) => out.extend_from_slice(&bytes),
                    None => {
                        return Err(Done::no(format!(
                            "[BADURL {}] No such message or section of yours",
                            crate::encode::string(url.as_bytes())
                        )));
                    }
                },
            }
            if out.len() > self.shared.options.max_literal {
                return Err(Done::no("[TOOBIG] The message would be too large"));
            }
        }
        Ok(out)
    }

    /// The bytes an IMAP URL names in `account`'s own mailboxes (whole message, section,
    /// partial), or `None`.
    pub(crate) async fn url_content(&self, account: &str, url: &str) -> Option<Vec<u8>> {
        let url = crate::url::parse(url)?;
        if url.user.as_deref().is_some_and(|u| !u.eq_ignore_ascii_case(account)) {
            return None;
        }
        self.url_bytes(account, &url).await
    }

    /// The bytes a parsed URL names in `account`'s mailboxes.
    pub(crate) async fn url_bytes(&self, account: &str, url: &crate::url::ImapUrl) -> Option<Vec<u8>> {
        let name = url.folder();
        let backend = &self.view;
        let folder = backend.folders(account).await.ok()?.into_iter().find(|f| f.name == name)?;
        if url.uidvalidity.is_some_and(|v| v != folder.uidvalidity) {
            return None;
        }
        let raw = backend.message_bytes(account, &name, url.uid).await.ok()?;
        let bytes = match &url.section {
            None => raw,
            Some(section) => {
                let section = grammar::parse_url_section(section)?;
                selected::section_bytes(&raw, &crate::mime::parse(&raw), &section)?
            }
        };
        Some(match url.partial {
            None => bytes,
            Some((offset, length)) => selected::partial_slice(&bytes, offset, length).to_vec(),
        })
    }

    /// GENURLAUTH (RFC 4467): for each URL of the user's own message, the URL with an
    /// INTERNAL token — HMAC-SHA256 under the mailbox's access key of the URL up to the
    /// access identifier.
    async fn gen_url_auth(&mut self, pairs: &[(String, String)]) -> Done {
        let account = self.account.clone().unwrap_or_default();
        let mut line = String::from("GENURLAUTH");
        for (url, mechanism) in pairs {
            if !mechanism.eq_ignore_ascii_case("INTERNAL") {
                return Done::no(format!("Mechanism {mechanism} is not offered; use INTERNAL"));
            }
            let parsed = crate::url::parse(url);
            let Some(parsed) = parsed.filter(|u| u.urlauth.as_deref().is_some_and(|a| !a.contains(':'))) else {
                return Done::Bad(format!("{url} is not an IMAP URL ending in ;URLAUTH=<access>"));
            };
            if !parsed.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&account)) {
                return Done::no("[BADURL] A URL of one of your own mailboxes, with your user name, is needed");
            }
            let access = parsed.urlauth.as_deref().unwrap_or_default().to_ascii_lowercase();
            let known = access == "authuser"
                || access == "anonymous"
                || access.starts_with("user+")
                || access.starts_with("submit+");
            if !known {
                return Done::no(format!("[BADURL] Unknown URLAUTH access {access}"));
            }
            let name = parsed.folder();
            if !self.folder_exists(&account, &name).await {
                return Done::no(format!("[BADURL] No mailbox {name}"));
            }
            let Some(key) = self.shared.url_key(&account, &name, true) else {
                return Done::no("[UNAVAILABLE] No random numbers for a key");
            };
            let token = ring::hmac::sign(&key, parsed.rump.as_bytes());
            let token: String = token.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            line.push(' ');
            line.push_str(&crate::encode::string(format!("{url}:internal:{token}").as_bytes()));
        }
        self.untagged(&line);
        Done::ok("GENURLAUTH done")
    }

    /// URLFETCH (RFC 4467): each URL's content when its token is right, its access allows
    /// this user and it has not expired; NIL otherwise.
    async fn url_fetch(&mut self, urls: &[String]) -> Done {
        let account = self.account.clone().unwrap_or_default();
        let mut out = b"* URLFETCH".to_vec();
        for url in urls {
            out.push(b' ');
            out.extend_from_slice(crate::encode::string(url.as_bytes()).as_bytes());
            out.push(b' ');
            match self.authorised_content(&account, url).await {
                Some(bytes) => {
                    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                    out.extend_from_slice(&bytes);
                }
                None => out.extend_from_slice(b"NIL"),
            }
        }
        out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&out);
        Done::ok("URLFETCH done")
    }

    async fn authorised_content(&self, account: &str, url: &str) -> Option<Vec<u8>> {
        let parsed = crate::url::parse(url)?;
        let owner = parsed.user.clone()?;
        let mut auth = parsed.urlauth.as_deref()?.splitn(3, ':');
        let (access, mechanism, token) = (auth.next()?.to_ascii_lowercase(), auth.next()?, auth.next()?);
        if !mechanism.eq_ignore_ascii_case("internal") {
            return None;
        }
        let allowed = match access.as_str() {
            "anonymous" | "authuser" => true,
            a => a.strip_prefix("user+").is_some_and(|u| u.eq_ignore_ascii_case(account)),
        };
        if !allowed {
            return None;
        }
        if let Some(expire) = &parsed.expire {
            let at = time::OffsetDateTime::parse(expire, &time::format_description::well_known::Rfc3339).ok()?;
            if at <= time::OffsetDateTime::now_utc() {
                return None;
            }
        }
        let key = self.shared.url_key(&owner, &parsed.folder(), false)?;
        let token = (0..token.len())
            .step_by(2)
            .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()?;
        ring::hmac::verify(&key, parsed.rump.as_bytes(), &token).ok()?;
        self.url_bytes(&owner, &parsed).await
    }

    /// Takes back messages of a MULTIAPPEND that failed half-way.
    async fn undo_appends(&self, account: &str, name: &str, uids: &[u32]) {
        let deleted = ["\\Deleted".to_string()];
        let backend = &self.view;
        let undone = match backend.store_flags(account, name, uids, FlagChange::Add, &deleted, None).await {
            Ok(_) => backend.expunge(account, name, Some(uids)).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = undone {
            tracing::warn!("a failed MULTIAPPEND left {} messages in {name}: {}", uids.len(), e.message);
        }
    }

    /// Turns CONDSTORE on for the session (a command used it); with a mailbox selected,
    /// the client learns its HIGHESTMODSEQ (RFC 7162 §3.1).
    pub(crate) fn enable_condstore(&mut self) {
        if self.enabled.condstore {
            return;
        }
        self.enabled.condstore = true;
        if let Some(highest) = self.selected.as_ref().map(|s| s.highest_modseq) {
            self.untagged(&format!("OK [HIGHESTMODSEQ {highest}] CONDSTORE on"));
        }
    }

    /// Brings the selected mailbox's view up to date and tells the client (EXISTS,
    /// FETCH FLAGS, and EXPUNGE or VANISHED when `expunges` allows).
    pub(crate) async fn sync(&mut self, expunges: bool) {
        self.drain_changes();
        let Some(mut selected) = self.selected.take() else { return };
        let account = self.account.clone().unwrap_or_default();
        let keep = selected.sync(self, &account, expunges).await;
        if keep {
            self.selected = Some(selected);
        }
    }
}

/// The special use of a standard folder (RFC 6154).
fn special_use(name: &str) -> Option<&'static str> {
    match name {
        "Sent" => Some("\\Sent"),
        "Drafts" => Some("\\Drafts"),
        "Junk" => Some("\\Junk"),
        "Trash" => Some("\\Trash"),
        _ => None,
    }
}

/// LIST matching: `*` matches anything, `%` anything but the separator; INBOX in any case.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('%') => (0..=n.len()).take_while(|&i| i == 0 || n[i - 1] != SEP).any(|i| go(&p[1..], &n[i..])),
            Some(&c) => n.first() == Some(&c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = if pattern.len() >= 5 && pattern[..5].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &pattern[5..]).chars().collect()
    } else {
        pattern.chars().collect()
    };
    if p.iter().filter(|&&c| c == '*' || c == '%').count() > 20 {
        return false;
    }
    go(&p, &name.chars().collect::<Vec<_>>())
}

impl Session {
    async fn selected_command(&mut self, body: CommandBody) -> Done {
        if self.selected.is_none() {
            return Done::Bad("Select a mailbox first".into());
        }
        selected::run(self, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_patterns() {
        assert!(pattern_matches("*", "a/b/c"));
        assert!(pattern_matches("%", "a") && !pattern_matches("%", "a/b"));
        assert!(pattern_matches("a/%", "a/b") && !pattern_matches("a/%", "a/b/c"));
        assert!(pattern_matches("inbox", "INBOX"));
        assert!(pattern_matches("*b*", "abc") && !pattern_matches("*x*", "abc"));
        assert!(!pattern_matches(&"*%".repeat(30), "abc"), "pathological patterns are refused");
    }
}
