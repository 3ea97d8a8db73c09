//! The IPC commands, one module per concern; each is a thin wrapper over the plain
//! modules, and every error reaches JavaScript as `postdesk_contract::Error`
//! (`{code, message, field?}`), so the `invoke` promise rejects with that object.

pub mod backends;
pub mod files;
pub mod local_server;
pub mod local_smtp;

/// The handler with every command of every module.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        backends::list_backends,
        backends::add_remote_backend,
        backends::remove_backend,
        backends::backend_call,
        local_server::local_server_status,
        local_server::start_local_server,
        local_server::stop_local_server,
        local_smtp::smtp_status,
        local_smtp::start_smtp,
        local_smtp::stop_smtp,
        files::save_file,
        files::open_file,
    ]
}
