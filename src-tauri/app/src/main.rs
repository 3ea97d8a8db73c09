//! The Postdesk desktop app.
#![forbid(unsafe_code)]
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    postdesk_app::run();
}
