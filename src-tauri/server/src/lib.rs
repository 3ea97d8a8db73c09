//! Postdesk's server: the admin HTTP API (and, in later parts, the mail services).
//!
//! The API is a thin mapping of the [`Backend`] trait: one route per operation of the
//! table in `postdesk_contract::api`, mounted by walking it, so routes cannot drift from the
//! trait. Each request authenticates its bearer token to a `Caller` and runs the
//! operation on a `LocalBackend` acting as that caller, so role checks are the engine's
//! and identical for the desktop app, the CLI and HTTP.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod http;
pub mod openapi;
pub mod tls;

pub use http::{ApiError, UI_CSP, router, router_with_ui};

use std::future::Future;

/// Serves `router` on `tcp` until `shutdown` resolves; over TLS when `tls` is given.
pub async fn serve(
    router: axum::Router,
    tcp: tokio::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(tcp, config)?;
            axum::serve(listener, router).with_graceful_shutdown(shutdown).await
        }
        None => axum::serve(tcp, router).with_graceful_shutdown(shutdown).await,
    }
}
