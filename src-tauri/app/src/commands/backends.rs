//! Commands of the backend list and of operations on one backend.

use crate::ipc::{AddRemoteBackend, BackendInfo};
use postdesk_contract::Error;
use serde_json::Value;
use tauri::State;

use crate::state::AppState;

/// The backends, `local` first, remote ones probed with `whoami`.
#[tauri::command]
pub async fn list_backends(state: State<'_, AppState>) -> Result<Vec<BackendInfo>, Error> {
    Ok(state.backends.list().await)
}

/// Adds a remote backend (token to the OS keyring) once it answers.
#[tauri::command]
pub async fn add_remote_backend(state: State<'_, AppState>, input: AddRemoteBackend) -> Result<BackendInfo, Error> {
    state.backends.add_remote(input).await
}

/// Forgets a remote backend and its token.
#[tauri::command]
pub async fn remove_backend(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    state.backends.remove(&id).await
}

/// Runs one `Backend` operation by name on one backend.
#[tauri::command]
pub async fn backend_call(
    state: State<'_, AppState>,
    backend: String,
    operation: String,
    params: Value,
) -> Result<Value, Error> {
    state.backends.call(&backend, &operation, params).await
}
