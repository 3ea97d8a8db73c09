//! The bundled server's listeners: the admin API (and web UI) on a chosen address.
//!
//! The engine itself always runs in-process (the `local` backend needs no listener);
//! this module only opens or closes the door to other machines and browsers. Settings
//! are saved in `local-server.json` in the data folder; the listener starts at launch
//! only when they say so. Addresses other than loopback are served over HTTPS with the
//! data folder's certificate (self-signed unless replaced), as `postdesk serve` does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::ipc::{LocalServerSettings, LocalServerStatus};
use postdesk_contract::{Error, Result};
use postdesk_engine::Engine;
use postdesk_server::tls::Identity;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::registry::{load_settings_file, save_settings_file};

/// File name of the settings inside the data folder.
pub const SETTINGS_FILE: &str = "local-server.json";

struct Running {
    api_url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Inner {
    settings: LocalServerSettings,
    running: Option<Running>,
    error: Option<String>,
}

/// Controls the admin API listener of the bundled server.
pub struct LocalServer {
    engine: Engine,
    data_dir: PathBuf,
    ui_dir: Option<PathBuf>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer").field("data_dir", &self.data_dir).field("ui_dir", &self.ui_dir).finish()
    }
}

impl LocalServer {
    /// The listener controller for `engine`, whose data folder is `data_dir`; serves the
    /// web UI from `ui_dir` when given. Reads the saved settings (defaults if none).
    pub fn new(engine: Engine, data_dir: &Path, ui_dir: Option<PathBuf>) -> Result<LocalServer> {
        let settings = load_settings(data_dir)?;
        Ok(LocalServer {
            engine,
            data_dir: data_dir.to_path_buf(),
            ui_dir,
            inner: Mutex::new(Inner { settings, ..Inner::default() }),
        })
    }

    /// Starts the listener if the saved settings ask for it; a failure is kept in the
    /// status rather than stopping the app.
    pub async fn start_on_launch(&self) -> LocalServerStatus {
        let settings = self.inner.lock().await.settings.clone();
        if settings.start_on_launch
            && let Err(e) = self.start(settings).await
        {
            tracing::warn!(error = %e, "local server did not start on launch");
        }
        self.status().await
    }

    /// The current state.
    pub async fn status(&self) -> LocalServerStatus {
        let inner = self.inner.lock().await;
        self.status_of(&inner)
    }

    fn status_of(&self, inner: &Inner) -> LocalServerStatus {
        LocalServerStatus {
            running: inner.running.as_ref().is_some_and(|r| !r.task.is_finished()),
            api_url: inner.running.as_ref().map(|r| r.api_url.clone()),
            data_dir: self.data_dir.display().to_string(),
            settings: inner.settings.clone(),
            error: inner.error.clone(),
        }
    }

    /// Saves `settings` and (re)starts the listener on their address.
    pub async fn start(&self, settings: LocalServerSettings) -> Result<LocalServerStatus> {
        let addr: SocketAddr = settings.api_listen.trim().parse().map_err(|_| {
            Error::validation(format!("'{}' is not an address like 127.0.0.1:7878", settings.api_listen))
                .with_field("api_listen")
        })?;
        let settings = LocalServerSettings { api_listen: addr.to_string(), ..settings };
        let mut inner = self.inner.lock().await;
        save_settings(&self.data_dir, &settings)?;
        inner.settings = settings;
        if let Some(running) = inner.running.take() {
            stop(running).await;
        }
        match self.listen(addr).await {
            Ok(running) => {
                tracing::info!(url = %running.api_url, "local server listening");
                inner.running = Some(running);
                inner.error = None;
                Ok(self.status_of(&inner))
            }
            Err(e) => {
                inner.error = Some(e.message.clone());
                Err(e)
            }
        }
    }

    /// Stops the listener (the in-process engine keeps running).
    pub async fn stop(&self) -> LocalServerStatus {
        let mut inner = self.inner.lock().await;
        if let Some(running) = inner.running.take() {
            stop(running).await;
            self.engine.set_portal_url(None);
            tracing::info!("local server stopped");
        }
        self.status_of(&inner)
    }

    async fn listen(&self, addr: SocketAddr) -> Result<Running> {
        let tls = if addr.ip().is_loopback() {
            None
        } else {
            let names = vec!["localhost".to_string(), addr.ip().to_string()];
            let identity = Identity::load_or_create(&self.data_dir, postdesk_server::tls::FILE_STEM, &names)
                .map_err(|e| Error::internal(format!("cannot create the TLS certificate: {e}")))?;
            Some(identity.server_config().map_err(|e| Error::internal(format!("TLS certificate unusable: {e}")))?)
        };
        let tcp = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::unavailable(format!("cannot listen on {addr}: {e}")).with_field("api_listen"))?;
        let local = tcp.local_addr().map_err(|e| Error::internal(e.to_string()))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let router = match &self.ui_dir {
            Some(dir) => {
                // The user portal is the same web UI at #/portal; the mail services name it.
                let host =
                    if local.ip().is_unspecified() { format!("localhost:{}", local.port()) } else { local.to_string() };
                self.engine.set_portal_url(Some(format!("{scheme}://{host}/#/portal")));
                postdesk_server::router_with_ui(self.engine.clone(), dir)
            }
            None => postdesk_server::router(self.engine.clone()),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = postdesk_server::serve(router, tcp, tls, shutdown).await {
                tracing::error!(error = %e, "local server failed");
            }
        });
        Ok(Running { api_url: format!("{scheme}://{local}"), stop, task })
    }
}

async fn stop(running: Running) {
    let _ = running.stop.send(());
    // Graceful shutdown waits for open connections; do not hang the UI on a slow client.
    let abort = running.task.abort_handle();
    if tokio::time::timeout(std::time::Duration::from_secs(5), running.task).await.is_err() {
        abort.abort();
    }
}

fn load_settings(data_dir: &Path) -> Result<LocalServerSettings> {
    load_settings_file(&data_dir.join(SETTINGS_FILE))
}

fn save_settings(data_dir: &Path, settings: &LocalServerSettings) -> Result<()> {
    save_settings_file(&data_dir.join(SETTINGS_FILE), settings)
}
