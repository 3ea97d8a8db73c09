//! The local mode's mail server: the SMTP listeners (MX, submission with STARTTLS,
//! implicit TLS), the spool and the delivery into the local engine's mailboxes — the same
//! [`MailServer`] `postdesk serve` runs, on the app's data folder.
//!
//! It starts when the app starts, on the default unprivileged ports, unless the saved
//! settings (`smtp.json` in the data folder, beside `local-server.json`) say otherwise.
//! A listener that cannot be bound (a busy port) does not stop the app: the reason is kept
//! in the status for the UI, and the user can retry with other addresses. Environment
//! variables override the saved settings for one run (see [`SmtpOverrides::from_env`]);
//! the tests use them to put the listeners on free ports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postdesk_contract::{Error, Result};
use postdesk_engine::Engine;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use ts_rs::TS;

use crate::registry::{load_settings_file, save_settings_file};

/// File name of the settings inside the data folder.
pub const SETTINGS_FILE: &str = "smtp.json";

/// How long stopping waits for sessions storing a message, and again for the delivery
/// into mailboxes (what is left is delivered at the next start).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Settings of the local mail server's listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct LocalSmtpSettings {
    /// Start the SMTP service when the app starts.
    pub start_on_launch: bool,
    /// Inbound mail (MX), e.g. `127.0.0.1:2525` (port 25 in production).
    pub mx_listen: String,
    /// Submission with STARTTLS, e.g. `127.0.0.1:2587` (port 587 in production).
    pub submission_listen: String,
    /// Submission over implicit TLS, e.g. `127.0.0.1:2465` (port 465 in production).
    pub smtps_listen: String,
    /// Host name for the greeting and Received headers, replacing the stored SMTP setting
    /// (the Mail service page's) for this app; empty = the stored one.
    pub hostname: String,
}

impl Default for LocalSmtpSettings {
    fn default() -> Self {
        let addr = |kind: ListenerKind| format!("127.0.0.1:{}", kind.default_port());
        LocalSmtpSettings {
            start_on_launch: true,
            mx_listen: addr(ListenerKind::Mx),
            submission_listen: addr(ListenerKind::Submission),
            smtps_listen: addr(ListenerKind::Submissions),
            hostname: String::new(),
        }
    }
}

/// Which SMTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LocalSmtpListenerKind {
    /// Inbound mail from other servers; no AUTH.
    Mx,
    /// Submission with STARTTLS; AUTH required.
    Submission,
    /// Submission over implicit TLS; AUTH required.
    Submissions,
}

impl From<ListenerKind> for LocalSmtpListenerKind {
    fn from(kind: ListenerKind) -> Self {
        match kind {
            ListenerKind::Mx => LocalSmtpListenerKind::Mx,
            ListenerKind::Submission => LocalSmtpListenerKind::Submission,
            ListenerKind::Submissions => LocalSmtpListenerKind::Submissions,
        }
    }
}

/// A bound listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LocalSmtpListener {
    /// Which one.
    pub kind: LocalSmtpListenerKind,
    /// The address it is bound to (the real port when 0 was asked for).
    pub address: String,
}

/// State of the local mail server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LocalSmtpStatus {
    /// Whether the SMTP service runs.
    pub running: bool,
    /// The bound listeners while it runs.
    pub listeners: Vec<LocalSmtpListener>,
    /// The settings in use (the saved ones, with any environment overrides of this run).
    pub settings: LocalSmtpSettings,
    /// Why the last start failed, if it did (e.g. `cannot listen for SMTP (mx) on
    /// 127.0.0.1:2525: Address already in use`).
    pub error: Option<String>,
}

/// Overrides of the saved settings for one run, from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmtpOverrides {
    /// `POSTDESK_SMTP_LISTEN`.
    pub mx_listen: Option<String>,
    /// `POSTDESK_SUBMISSION_LISTEN`.
    pub submission_listen: Option<String>,
    /// `POSTDESK_SMTPS_LISTEN`.
    pub smtps_listen: Option<String>,
    /// `POSTDESK_SMTP_HOSTNAME`.
    pub hostname: Option<String>,
    /// `POSTDESK_NO_SMTP` set to anything but empty or `0`: do not start at launch.
    pub no_smtp: bool,
    /// `POSTDESK_IMAP_LISTEN`, `POSTDESK_IMAPS_LISTEN`, `POSTDESK_POP3_LISTEN`,
    /// `POSTDESK_POP3S_LISTEN`: where IMAP and POP3 listen instead of their default ports
    /// on 127.0.0.1 (they start and stop with SMTP).
    pub readers: [Option<String>; 4],
}

impl SmtpOverrides {
    /// Reads `POSTDESK_SMTP_LISTEN`, `POSTDESK_SUBMISSION_LISTEN`, `POSTDESK_SMTPS_LISTEN`,
    /// `POSTDESK_SMTP_HOSTNAME` and `POSTDESK_NO_SMTP` (the names follow `postdesk serve`'s
    /// `--smtp-listen`, `--submission-listen`, `--smtps-listen`, `--smtp-hostname`, `--no-smtp`).
    pub fn from_env() -> SmtpOverrides {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        SmtpOverrides {
            mx_listen: var("POSTDESK_SMTP_LISTEN"),
            submission_listen: var("POSTDESK_SUBMISSION_LISTEN"),
            smtps_listen: var("POSTDESK_SMTPS_LISTEN"),
            hostname: var("POSTDESK_SMTP_HOSTNAME"),
            no_smtp: var("POSTDESK_NO_SMTP").is_some_and(|v| v != "0"),
            readers: [
                var("POSTDESK_IMAP_LISTEN"),
                var("POSTDESK_IMAPS_LISTEN"),
                var("POSTDESK_POP3_LISTEN"),
                var("POSTDESK_POP3S_LISTEN"),
            ],
        }
    }

    /// Every listener on a free loopback port (port 0), for tests.
    pub fn free_ports() -> SmtpOverrides {
        let any = Some("127.0.0.1:0".to_string());
        SmtpOverrides {
            mx_listen: any.clone(),
            submission_listen: any.clone(),
            smtps_listen: any.clone(),
            readers: [any.clone(), any.clone(), any.clone(), any],
            ..SmtpOverrides::default()
        }
    }

    fn apply(&self, mut settings: LocalSmtpSettings) -> LocalSmtpSettings {
        let set = |value: &Option<String>, field: &mut String| {
            if let Some(v) = value {
                *field = v.clone();
            }
        };
        set(&self.mx_listen, &mut settings.mx_listen);
        set(&self.submission_listen, &mut settings.submission_listen);
        set(&self.smtps_listen, &mut settings.smtps_listen);
        set(&self.hostname, &mut settings.hostname);
        if self.no_smtp {
            settings.start_on_launch = false;
        }
        settings
    }
}

#[derive(Default)]
struct Inner {
    settings: LocalSmtpSettings,
    running: Option<MailServer>,
    error: Option<String>,
}

/// Controls the local mail server.
pub struct LocalSmtp {
    engine: Engine,
    data_dir: PathBuf,
    /// IMAP, IMAPS, POP3, POP3S addresses overriding the default ports (checked in `new`).
    readers: [Option<String>; 4],
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for LocalSmtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSmtp").field("data_dir", &self.data_dir).finish()
    }
}

impl LocalSmtp {
    /// The controller for `engine`, whose data folder is `data_dir` (spool, certificate and
    /// settings go there). Reads the saved settings (defaults if none) and applies `overrides`.
    pub fn new(engine: Engine, data_dir: &Path, overrides: &SmtpOverrides) -> Result<LocalSmtp> {
        let settings = overrides.apply(load_settings(data_dir)?);
        for value in overrides.readers.iter().flatten() {
            value
                .parse::<SocketAddr>()
                .map_err(|_| Error::validation(format!("'{value}' is not an address like 127.0.0.1:2143")))?;
        }
        Ok(LocalSmtp {
            engine,
            readers: overrides.readers.clone(),
            data_dir: data_dir.to_path_buf(),
            inner: Mutex::new(Inner { settings, ..Inner::default() }),
        })
    }

    /// Starts the service if the settings ask for it (they do by default); a failure is
    /// kept in the status rather than stopping the app.
    pub async fn start_on_launch(&self) -> LocalSmtpStatus {
        let mut inner = self.inner.lock().await;
        if inner.settings.start_on_launch {
            let settings = inner.settings.clone();
            if let Err(e) = self.start_locked(&mut inner, settings).await {
                tracing::warn!(error = %e, "SMTP did not start on launch");
            }
        }
        status_of(&inner)
    }

    /// The current state.
    pub async fn status(&self) -> LocalSmtpStatus {
        status_of(&*self.inner.lock().await)
    }

    /// Checks `settings`, saves them and (re)starts the service on their addresses. A
    /// refused start keeps the saved settings and the reason in the status.
    pub async fn start(&self, settings: LocalSmtpSettings) -> Result<LocalSmtpStatus> {
        let checked = check(&settings)?;
        let mut inner = self.inner.lock().await;
        save_settings(&self.data_dir, &checked)?;
        self.start_locked(&mut inner, checked).await?;
        Ok(status_of(&inner))
    }

    /// Stops the service gracefully (sessions storing a message finish, the spool is
    /// synced, delivery makes a last pass, each within [`SHUTDOWN_GRACE`]).
    pub async fn stop(&self) -> LocalSmtpStatus {
        let mut inner = self.inner.lock().await;
        if let Some(running) = inner.running.take() {
            running.shutdown(SHUTDOWN_GRACE).await;
            tracing::info!("SMTP stopped");
        }
        status_of(&inner)
    }

    async fn start_locked(&self, inner: &mut Inner, settings: LocalSmtpSettings) -> Result<()> {
        if let Some(running) = inner.running.take() {
            running.shutdown(SHUTDOWN_GRACE).await;
        }
        inner.settings = settings.clone();
        let listeners = match listeners(&settings) {
            Ok(listeners) => listeners,
            Err(e) => {
                inner.error = Some(e.message.clone());
                return Err(e);
            }
        };
        let mut options = MailServerOptions::defaults(&self.data_dir);
        options.hostname = Some(settings.hostname.trim().to_string()).filter(|h| !h.is_empty());
        for (_, addr) in &listeners {
            if !options.tls_names.contains(&addr.ip().to_string()) {
                options.tls_names.push(addr.ip().to_string());
            }
        }
        options.listeners = listeners.clone();
        let addr = |i: usize, default: SocketAddr| -> SocketAddr {
            self.readers[i].as_deref().and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        options.imap = options.imap.iter().enumerate().map(|(i, (k, a))| (*k, addr(i, *a))).collect();
        options.pop3 = options.pop3.iter().enumerate().map(|(i, (k, a))| (*k, addr(2 + i, *a))).collect();
        match MailServer::start(std::sync::Arc::new(self.engine.clone()), options).await {
            Ok(server) => {
                for (kind, addr) in server.bound() {
                    tracing::info!(kind = kind.name(), %addr, "SMTP listening");
                }
                inner.running = Some(server);
                inner.error = None;
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                inner.error = Some(message.clone());
                // Name the form field of the listener that failed, when the message says which.
                let field = listeners
                    .iter()
                    .find(|(kind, _)| message.contains(&format!("({})", kind.name())))
                    .map(|(kind, _)| field_of(*kind));
                let error = Error::unavailable(message);
                Err(match field {
                    Some(field) => error.with_field(field),
                    None => error,
                })
            }
        }
    }
}

fn status_of(inner: &Inner) -> LocalSmtpStatus {
    let listeners = inner
        .running
        .as_ref()
        .map(|r| {
            r.bound().iter().map(|(k, a)| LocalSmtpListener { kind: (*k).into(), address: a.to_string() }).collect()
        })
        .unwrap_or_default();
    LocalSmtpStatus {
        running: inner.running.is_some(),
        listeners,
        settings: inner.settings.clone(),
        error: inner.error.clone(),
    }
}

fn field_of(kind: ListenerKind) -> &'static str {
    match kind {
        ListenerKind::Mx => "mx_listen",
        ListenerKind::Submission => "submission_listen",
        ListenerKind::Submissions => "smtps_listen",
    }
}

/// The listeners of `settings`, every address parsed.
fn listeners(settings: &LocalSmtpSettings) -> Result<Vec<(ListenerKind, SocketAddr)>> {
    [
        (ListenerKind::Mx, &settings.mx_listen),
        (ListenerKind::Submission, &settings.submission_listen),
        (ListenerKind::Submissions, &settings.smtps_listen),
    ]
    .into_iter()
    .map(|(kind, text)| {
        text.trim().parse::<SocketAddr>().map(|addr| (kind, addr)).map_err(|_| {
            Error::validation(format!("'{text}' is not an address like 127.0.0.1:{}", kind.default_port()))
                .with_field(field_of(kind))
        })
    })
    .collect()
}

/// `settings` checked and normalised; bad input is refused before anything is saved.
fn check(settings: &LocalSmtpSettings) -> Result<LocalSmtpSettings> {
    let listeners = listeners(settings)?;
    for (i, (kind, addr)) in listeners.iter().enumerate() {
        if addr.port() != 0
            && let Some((other, _)) = listeners[..i].iter().find(|(_, a)| a == addr)
        {
            return Err(Error::validation(format!(
                "{addr} is already the {} listener's address; each listener needs its own port",
                other.name()
            ))
            .with_field(field_of(*kind)));
        }
    }
    let hostname = match settings.hostname.trim() {
        "" => String::new(),
        name => postdesk_contract::validate::host_name(name, "hostname")?,
    };
    let addr =
        |kind: ListenerKind| listeners.iter().find(|(k, _)| *k == kind).map(|(_, a)| a.to_string()).unwrap_or_default();
    Ok(LocalSmtpSettings {
        start_on_launch: settings.start_on_launch,
        mx_listen: addr(ListenerKind::Mx),
        submission_listen: addr(ListenerKind::Submission),
        smtps_listen: addr(ListenerKind::Submissions),
        hostname,
    })
}

fn load_settings(data_dir: &Path) -> Result<LocalSmtpSettings> {
    load_settings_file(&data_dir.join(SETTINGS_FILE))
}

fn save_settings(data_dir: &Path, settings: &LocalSmtpSettings) -> Result<()> {
    save_settings_file(&data_dir.join(SETTINGS_FILE), settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mx: &str, submission: &str, smtps: &str) -> LocalSmtpSettings {
        LocalSmtpSettings {
            mx_listen: mx.into(),
            submission_listen: submission.into(),
            smtps_listen: smtps.into(),
            ..LocalSmtpSettings::default()
        }
    }

    #[test]
    fn defaults_are_the_unprivileged_ports_on_loopback_and_start_on_launch() {
        let s = LocalSmtpSettings::default();
        assert_eq!(
            (s.mx_listen.as_str(), s.submission_listen.as_str(), s.smtps_listen.as_str()),
            ("127.0.0.1:2525", "127.0.0.1:2587", "127.0.0.1:2465")
        );
        assert!(s.start_on_launch);
        // A settings file from an older version (or written by hand) fills in the rest.
        let partial: LocalSmtpSettings = serde_json::from_str(r#"{"mx_listen":"127.0.0.1:25"}"#).unwrap();
        assert_eq!(partial, LocalSmtpSettings { mx_listen: "127.0.0.1:25".into(), ..LocalSmtpSettings::default() });
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let field = |s: LocalSmtpSettings| check(&s).unwrap_err().field;
        let any = "127.0.0.1:0";
        assert_eq!(field(settings("localhost", any, any)).as_deref(), Some("mx_listen"));
        assert_eq!(field(settings(any, "127.0.0.1", any)).as_deref(), Some("submission_listen"));
        assert_eq!(field(settings(any, any, "2465")).as_deref(), Some("smtps_listen"));
        let same = check(&settings("127.0.0.1:2600", any, "127.0.0.1:2600")).unwrap_err();
        assert_eq!(same.field.as_deref(), Some("smtps_listen"));
        assert!(same.message.contains("mx listener"), "{}", same.message);
        let host = LocalSmtpSettings { hostname: "mail example".into(), ..LocalSmtpSettings::default() };
        assert_eq!(field(host).as_deref(), Some("hostname"));
        // Port 0 (any free port) may repeat; addresses are normalised.
        let ok =
            check(&LocalSmtpSettings { hostname: " mx.example.com ".into(), ..settings(" 127.0.0.1:0", any, any) })
                .unwrap();
        assert_eq!((ok.mx_listen.as_str(), ok.hostname.as_str()), ("127.0.0.1:0", "mx.example.com"));
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let saved = LocalSmtpSettings { hostname: "mx.example.com".into(), ..LocalSmtpSettings::default() };
        let o = SmtpOverrides { mx_listen: Some("127.0.0.1:0".into()), no_smtp: true, ..SmtpOverrides::default() };
        let s = o.apply(saved.clone());
        assert_eq!(s.mx_listen, "127.0.0.1:0");
        assert_eq!((s.submission_listen, s.hostname), (saved.submission_listen, saved.hostname));
        assert!(!s.start_on_launch);
    }
}
