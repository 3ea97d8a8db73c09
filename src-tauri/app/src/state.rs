//! Everything the commands share, opened once at launch with no set-up by the user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postdesk_contract::Result;
use postdesk_engine::Engine;

use crate::backends::{Backends, blocking};
use crate::local_server::LocalServer;
use crate::local_smtp::{LocalSmtp, SmtpOverrides};
use crate::registry::Registry;
use crate::secret::{SecretStore, Sensitive};

/// Keyring account of the owner token created on the first start of the local engine.
pub const LOCAL_OWNER_ACCOUNT: &str = "local-owner";

/// The app's state: the engine, the backends, the local server's listener and mail server.
#[derive(Debug)]
pub struct AppState {
    /// The local and remote backends.
    pub backends: Arc<Backends>,
    /// The bundled server's listener.
    pub local_server: LocalServer,
    /// The local mail server (SMTP listeners, spool, delivery into the mailboxes).
    pub smtp: LocalSmtp,
    engine: Engine,
    /// Purges the recycle bin of expired accounts hourly (as `postdesk serve` does).
    purger: tokio::task::JoinHandle<()>,
    /// Rotates remote backends' API tokens that near their expiry, at launch and every
    /// [`CHECK_EVERY`](crate::rotation::CHECK_EVERY).
    rotator: tokio::task::JoinHandle<()>,
    /// Fetches shared mailboxes whose interval has run out (as `postdesk serve` does).
    shared_fetcher: tokio::task::JoinHandle<()>,
}

impl AppState {
    /// Opens (creating on first use) the database in `data_dir`, creates the owner admin on
    /// the first start (its token goes to `secrets`, never to the screen or a log), loads
    /// the remote backends, starts the mail server (unless its settings or `smtp` say not
    /// to; a listener that cannot be bound is reported in its status, the app opens all the
    /// same) and the admin API listener if the saved settings say so.
    pub async fn open(
        data_dir: &Path,
        secrets: Arc<dyn SecretStore>,
        ui_dir: Option<PathBuf>,
        smtp: &SmtpOverrides,
    ) -> Result<AppState> {
        // Relay secrets go to the OS keyring too, not to files of the data folder.
        let engine = Engine::open(data_dir).await?.with_secret_store(secrets.clone());
        if let Some(first) = engine.ensure_first_admin().await? {
            let (store, secret) = (secrets.clone(), Sensitive(first.token.secret));
            match blocking(move || store.set(LOCAL_OWNER_ACCOUNT, &secret)).await {
                Ok(()) => tracing::info!(admin = %first.admin.name, "first start: owner token kept in the OS keyring"),
                // The local backend needs no token; an admin can create one later.
                Err(e) => tracing::warn!(error = %e, "first start: could not keep the owner token in the OS keyring"),
            }
        }
        let registry = Registry::load(data_dir)?;
        let backends = Arc::new(Backends::new(engine.local_backend(), registry, secrets));
        let local_server = LocalServer::new(engine.clone(), data_dir, ui_dir)?;
        local_server.start_on_launch().await;
        let smtp = LocalSmtp::new(engine.clone(), data_dir, smtp)?;
        smtp.start_on_launch().await;
        // The data folder and everything in it (database, keys, spool, mail) are the owner's
        // alone whatever the umask: the same check and correction as `postdesk serve`.
        for warning in postdesk_engine::files::secure_data_dir(data_dir) {
            tracing::warn!("{warning}");
        }
        let purger = engine.spawn_recycle_bin_purger(postdesk_engine::RECYCLE_BIN_SWEEP, postdesk_engine::system_clock);
        let shared_fetcher = postdesk_engine::spawn_shared_mailbox_fetcher(engine.clone());
        let rotator = tokio::spawn({
            let backends = backends.clone();
            async move {
                loop {
                    backends.rotate_tokens(time::OffsetDateTime::now_utc()).await;
                    tokio::time::sleep(crate::rotation::CHECK_EVERY).await;
                }
            }
        });
        Ok(AppState { backends, local_server, smtp, engine, purger, rotator, shared_fetcher })
    }

    /// Stops the recycle-bin purger, the listener and the mail server (gracefully: sessions
    /// storing a message finish, the spool is synced, delivery drains, within a bounded
    /// grace) and closes the database (checkpointing its WAL).
    pub async fn close(&self) {
        self.purger.abort();
        self.rotator.abort();
        self.shared_fetcher.abort();
        self.local_server.stop().await;
        self.smtp.stop().await;
        self.engine.close().await;
    }
}
