//! Build script: with the `desktop` feature, `tauri-build` reads `tauri.conf.json` (a
//! symlink to the repository's top-level file), embeds `ui/dist` and generates the
//! permissions of the app's own commands, so each must be granted by a capability.

/// The app's IPC commands; each gets an `allow-<name>` permission the capability grants.
#[cfg(feature = "desktop")]
const COMMANDS: &[&str] = &[
    "list_backends",
    "add_remote_backend",
    "remove_backend",
    "backend_call",
    "local_server_status",
    "start_local_server",
    "stop_local_server",
    "smtp_status",
    "start_smtp",
    "stop_smtp",
    "save_file",
    "open_file",
];

fn main() {
    #[cfg(feature = "desktop")]
    {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist/index.html");
        if !dist.is_file() {
            panic!("ui/dist/index.html is missing: build the web UI first (cd ui && npm ci && npm run build)");
        }
        // The UI is embedded by `generate_context!`, which cannot tell Cargo what it read.
        println!("cargo:rerun-if-changed=../../ui/dist");
        let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
        tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
            .expect("tauri-build failed (see tauri.conf.json and capabilities/)");
    }
}
