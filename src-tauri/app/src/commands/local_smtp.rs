//! Commands of the local mail server (the SMTP listeners started with the app).

use postdesk_contract::Error;
use tauri::State;

use crate::local_smtp::{LocalSmtpSettings, LocalSmtpStatus};
use crate::state::AppState;

/// Whether the SMTP service runs, its bound listeners, its settings, or why it is not running.
#[tauri::command]
pub async fn smtp_status(state: State<'_, AppState>) -> Result<LocalSmtpStatus, Error> {
    Ok(state.smtp.status().await)
}

/// Saves the settings and (re)starts the SMTP service on their addresses.
#[tauri::command]
pub async fn start_smtp(state: State<'_, AppState>, settings: LocalSmtpSettings) -> Result<LocalSmtpStatus, Error> {
    state.smtp.start(settings).await
}

/// Stops the SMTP service gracefully.
#[tauri::command]
pub async fn stop_smtp(state: State<'_, AppState>) -> Result<LocalSmtpStatus, Error> {
    Ok(state.smtp.stop().await)
}
