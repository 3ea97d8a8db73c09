//! Commands of the bundled server's listener.

use crate::ipc::{LocalServerSettings, LocalServerStatus};
use postdesk_contract::Error;
use tauri::State;

use crate::state::AppState;

/// Whether the listener runs, where, and the data folder.
#[tauri::command]
pub async fn local_server_status(state: State<'_, AppState>) -> Result<LocalServerStatus, Error> {
    Ok(state.local_server.status().await)
}

/// Saves the settings and (re)starts the listener.
#[tauri::command]
pub async fn start_local_server(
    state: State<'_, AppState>,
    settings: LocalServerSettings,
) -> Result<LocalServerStatus, Error> {
    state.local_server.start(settings).await
}

/// Stops the listener.
#[tauri::command]
pub async fn stop_local_server(state: State<'_, AppState>) -> Result<LocalServerStatus, Error> {
    Ok(state.local_server.stop().await)
}
