//! Types of the desktop app's own IPC commands (backend list, keyring, local server, local
//! SMTP, file dialogs), generated to TypeScript into the UI's `src/bindings-desktop` (never by hand).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a backend lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The server bundled in the app, in-process, on the local data folder.
    Local,
    /// A `postdesk serve` elsewhere, over HTTPS.
    Remote,
}

/// Whether a backend can be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum BackendStatus {
    /// Answering.
    Online,
    /// Could not be reached; `error` says why.
    Unreachable,
    /// Its token was refused.
    Unauthorized,
}

/// A backend as the sidebar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct BackendInfo {
    /// Stable identifier (`local` for the bundled server).
    pub id: String,
    /// Name chosen by the user.
    pub name: String,
    /// Local or remote.
    pub kind: BackendKind,
    /// Base URL of a remote backend.
    pub url: Option<String>,
    /// Current status.
    pub status: BackendStatus,
    /// Why it is not online.
    pub error: Option<String>,
}

/// Input of `add_remote_backend`: the token goes to the OS keyring, never to a file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AddRemoteBackend {
    /// Name to show.
    pub name: String,
    /// Base URL, `https://…` (plain http only to loopback).
    pub url: String,
    /// API token.
    pub token: String,
    /// Extra trusted certificate (PEM), e.g. the server's self-signed one.
    #[ts(optional)]
    pub ca_cert_pem: Option<String>,
}

impl std::fmt::Debug for AddRemoteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddRemoteBackend")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &"***")
            .finish()
    }
}

/// Settings of the bundled server's listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LocalServerSettings {
    /// Address of the admin API (and web UI), e.g. `127.0.0.1:7878`.
    pub api_listen: String,
    /// Start the listeners when the app starts.
    pub start_on_launch: bool,
}

impl Default for LocalServerSettings {
    fn default() -> Self {
        LocalServerSettings { api_listen: "127.0.0.1:7878".into(), start_on_launch: false }
    }
}

/// State of the bundled server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LocalServerStatus {
    /// Whether its listeners are running (the in-process engine always is).
    pub running: bool,
    /// URL of the admin API while running.
    pub api_url: Option<String>,
    /// The data folder.
    pub data_dir: String,
    /// The saved settings.
    pub settings: LocalServerSettings,
    /// Why the last start failed, if it did.
    pub error: Option<String>,
}

/// Writes the TypeScript bindings of the app's own types into `dir` (the UI's
/// `src/bindings-desktop`), with ts-rs like the operation table's.
pub fn write_typescript(dir: &std::path::Path) -> std::result::Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let export = |r: std::result::Result<(), ts_rs::ExportError>| r.map_err(|e| e.to_string());
    export(BackendInfo::export_all_to(dir))?;
    export(AddRemoteBackend::export_all_to(dir))?;
    export(LocalServerSettings::export_all_to(dir))?;
    export(LocalServerStatus::export_all_to(dir))?;
    export(crate::local_smtp::LocalSmtpStatus::export_all_to(dir))?;
    export(crate::local_smtp::LocalSmtpSettings::export_all_to(dir))?;
    export(crate::files::SavedFile::export_all_to(dir))?;
    export(crate::files::OpenedFile::export_all_to(dir))?;
    export(crate::files::OpenKind::export_all_to(dir))
}

#[cfg(test)]
mod tests {
    /// Fails when `ui/src/bindings-desktop` is not what these types generate.
    #[test]
    fn committed_typescript_bindings_are_current() {
        postdesk_contract::bindings::assert_current(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings-desktop"),
            super::write_typescript,
            "UPDATE_BINDINGS=1 cargo test -p postdesk-app --no-default-features bindings",
        );
    }
}
