//! The Tauri application: window, state, commands and shutdown.

use std::path::PathBuf;
use std::sync::Arc;

use tauri::Manager;

use crate::secret::{Keyring, Namespace, SecretStore};
use crate::state::AppState;

/// Starts the app and blocks until its last window closes.
pub fn run() {
    init_tracing();
    let app = tauri::Builder::default()
        // Registered for its Rust API only: the capability grants the page none of its
        // commands, so the page never names a path (see `commands::files`).
        .plugin(tauri_plugin_dialog::init())
        .setup(setup)
        .invoke_handler(crate::commands::handler())
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Postdesk could not start: {e}");
            std::process::exit(1);
        });
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<AppState>()
        {
            tauri::async_runtime::block_on(state.close());
        }
    });
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = app.path().app_data_dir()?;
    // The CLI finds the same database through the same rule; say so if they ever differ.
    let cli_dir = postdesk_engine::default_data_dir();
    if cli_dir.as_deref() != Some(data_dir.as_path()) {
        tracing::warn!(app = %data_dir.display(), cli = ?cli_dir, "the app and the CLI use different data folders");
    }
    let secrets: Arc<dyn SecretStore> = Arc::new(Keyring::new(&Namespace::Build));
    let ui_dir = ui_dir(app);
    // POSTDESK_SMTP_LISTEN and friends override the saved SMTP settings for this run.
    let smtp = crate::local_smtp::SmtpOverrides::from_env();
    let state = tauri::async_runtime::block_on(AppState::open(&data_dir, secrets, ui_dir, &smtp))?;
    tracing::info!(data_dir = %data_dir.display(), "Postdesk started");
    app.manage(state);
    Ok(())
}

/// The built web UI the local server serves to browsers: `POSTDESK_UI_DIR`, else the copy
/// bundled as a resource (beside the binary for a plain `cargo build`, which Tauri only
/// recognises in a folder named `target`); without one the listener serves the API only.
fn ui_dir(app: &tauri::App) -> Option<PathBuf> {
    let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join("ui")));
    let candidates = std::env::var_os("POSTDESK_UI_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(app.path().resource_dir().ok().map(|dir| dir.join("ui")))
        .chain(beside_binary);
    let found = candidates.into_iter().find(|dir| dir.join("index.html").is_file());
    tracing::info!(ui_dir = ?found, "web UI for the local server");
    found
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}
