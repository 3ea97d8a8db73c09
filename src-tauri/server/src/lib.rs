//! Postdesk's admin HTTP API server.
//!
//! The API is a thin mapping of the [`Backend`] trait: one route per operation of the
//! table in `postdesk_contract::api`, mounted by walking it, so routes cannot drift from the
//! trait. Each request authenticates its bearer token to a `Caller` through the contract's
//! [`Authority`](postdesk_contract::api::Authority) and runs the operation on the backend it
//! gives for that caller (the engine's role-checked `LocalBackend` in `serve` and the app),
//! so role checks are identical for the desktop app, the CLI and HTTP. This crate does not
//! depend on the engine.
//!
//! Beside the API, unauthenticated, the mail clients' autoconfiguration endpoints
//! ([`autoconfig`]: Thunderbird, Autodiscover, Apple profiles) over the `Authority`'s
//! `ClientSetupSource`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod autoconfig;
mod http;
pub mod limits;
pub mod openapi;
pub mod tls;

pub use http::{ApiError, UI_CSP, router, router_with_ui};

use std::future::Future;

/// Serves `router` on `tcp` until `shutdown` resolves; over TLS when `tls` is given.
/// Connections are capped in all and per client ([`limits`]).
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
        None => axum::serve(limits::CappedListener::new(tcp), router).with_graceful_shutdown(shutdown).await,
    }
}
