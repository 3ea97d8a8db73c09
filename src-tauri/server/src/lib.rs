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
mod portal;
mod session;
pub mod tls;

pub use http::{ApiError, UI_CSP, router, router_with_ui};
pub use session::{CSRF_HEADER, Connection};

use std::future::Future;
use std::time::Duration;

use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};

/// Time-outs of the admin API's connections (beside the body time-out of each request).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request's line and headers must be complete within this time of the connection
    /// opening or of the previous response: a client trickling a header, or holding an
    /// idle keep-alive connection, is disconnected after it (default 30 s).
    pub header: Duration,
    /// A response write that makes no progress for this long (the client stopped reading
    /// and the socket buffers are full) ends the connection (default 30 s).
    pub write: Duration,
    /// How long shutdown waits for requests in progress (default 10 s).
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(30),
            write: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `tcp` until `shutdown` resolves; over TLS when `tls` is given.
/// Connections are capped in all and per client ([`limits`]) and timed out ([`Timeouts`]).
pub async fn serve(
    router: axum::Router,
    tcp: tokio::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(router, tcp, tls, Timeouts::default(), shutdown).await
}

/// [`serve`] with chosen time-outs.
pub async fn serve_with(
    router: axum::Router,
    tcp: tokio::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(config) => run(tls::TlsListener::new(tcp, config)?, true, router, timeouts, shutdown).await,
        None => run(limits::CappedListener::new(tcp), false, router, timeouts, shutdown).await,
    }
}

/// The connection loop: each accepted (capped) connection is served by hyper's HTTP/1 with
/// the header time-out and the write time-out ([`limits::WriteTimeout`]), in its own task; on shutdown, open connections finish the request
/// in progress and close, for up to the grace time. Each request carries its [`Connection`]
/// (client address, whether over TLS) as an extension.
async fn run<L>(
    mut listener: L,
    tls: bool,
    router: axum::Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = std::net::SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header).max_buf_size(64 * 1024);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut shutdown => break,
        };
        let connection = Connection { client: Some(peer.ip()), tls };
        let service =
            TowerToHyperService::new(tower_http::add_extension::AddExtension::new(router.clone(), connection));
        let conn =
            graceful.watch(http.serve_connection(TokioIo::new(limits::WriteTimeout::new(io, timeouts.write)), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("admin API connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(timeouts.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("admin API connections still open after {:?}", timeouts.shutdown_grace);
    }
    Ok(())
}
