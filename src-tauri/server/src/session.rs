//! Web UI sign-in over the contract's [`Sessions`]: the `/api/session` routes, the session
//! cookie and the anti-CSRF check of requests it authenticates.
//!
//! The cookie is `HttpOnly; SameSite=Strict; Path=/`, and over TLS also `Secure` with the
//! `__Host-` prefix (so no other host or path can set it). On plain HTTP, which `serve` allows
//! on loopback only, it cannot be `Secure` (a browser would not send it back) and is named
//! without the prefix. A request authenticated by the cookie must carry the session's
//! anti-CSRF token in [`CSRF_HEADER`] (any method): a cross-site page can neither read the token
//! nor set the header without a CORS preflight, which this server never grants. The sign-in
//! requests themselves must be `application/json` (a cross-site form cannot send that).

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use postdesk_contract::Error;
use postdesk_contract::api::{Password, Sessions, SignInStep};
use postdesk_contract::model::{Caller, SignInAnswer};
use serde::Deserialize;

/// The header carrying the session's anti-CSRF token.
pub const CSRF_HEADER: &str = "x-postdesk-csrf";

/// What the connection loop knows of a request's connection (an extension of every request).
#[derive(Debug, Clone, Copy, Default)]
pub struct Connection {
    /// The client's address (`None` when the router is driven in-process).
    pub client: Option<IpAddr>,
    /// Whether the connection is TLS.
    pub tls: bool,
}

fn cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-postdesk_session" } else { "postdesk_session" }
}

/// The session secret of the request's cookie, if it has one.
pub(crate) fn session_cookie(headers: &HeaderMap, tls: bool) -> Option<&str> {
    find_cookie(headers, cookie_name(tls))
}

/// The value of the cookie `name`, if the request has a non-empty one.
pub(crate) fn find_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn set_cookie(tls: bool, secret: Option<&str>) -> HeaderValue {
    cookie_header(cookie_name(tls), tls, secret)
}

/// A `Set-Cookie` value for cookie `name` (cleared when `secret` is `None`).
pub(crate) fn cookie_header(name: &str, tls: bool, secret: Option<&str>) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    let value = match secret {
        Some(secret) => format!("{name}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Equal-time comparison of two tokens.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller of a session cookie, when the request carries the session's anti-CSRF token.
pub(crate) async fn cookie_caller(sessions: &dyn Sessions, secret: &str, headers: &HeaderMap) -> Result<Caller, Error> {
    let (caller, answer) = sessions.session(secret).await?;
    let SignInAnswer::SignedIn { csrf_token, .. } = answer else {
        return Err(Error::unauthenticated("not signed in"));
    };
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !same(sent, &csrf_token) {
        return Err(Error::permission_denied(format!(
            "refused: a request signed in by the session cookie must carry the session's anti-CSRF token in the {CSRF_HEADER} header"
        )));
    }
    Ok(caller)
}

#[derive(Clone)]
struct SessionState {
    sessions: Arc<dyn Sessions>,
}

/// The sign-in routes over `sessions`.
pub(crate) fn routes(sessions: Option<Arc<dyn Sessions>>) -> Router {
    let Some(sessions) = sessions else {
        return Router::new();
    };
    Router::new()
        .route("/api/session", get(current).post(sign_in).delete(sign_out))
        .route("/api/session/second-factor", post(second_factor))
        .with_state(SessionState { sessions })
}

/// Most a sign-in request's body may hold.
const BODY_LIMIT: usize = 4 * 1024;
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<T, Error> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(Error::validation("a sign-in request must be sent as application/json"));
    }
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(Error::limit_exceeded(format!("a sign-in request is at most {BODY_LIMIT} bytes"))),
        Err(_) => return Err(Error::validation("the request body did not arrive in time")),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::validation(format!("invalid sign-in request: {e}")))
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn step_response(step: SignInStep, tls: bool) -> Response {
    let mut response = axum::Json(&step.answer).into_response();
    if let Some(secret) = step.session_secret.as_deref() {
        response.headers_mut().insert(header::SET_COOKIE, set_cookie(tls, Some(secret)));
    }
    no_store(response)
}

/// An error as the API answers one (its status, the error as JSON).
pub(crate) fn error_response(e: Error) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    no_store((status, axum::Json(&e)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    name: String,
    password: Password,
}

async fn sign_in(
    State(state): State<SessionState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection.map(|c| c.0).unwrap_or_default();
    let run = async {
        let body: SignInBody = json_body(&headers, body).await?;
        state.sessions.sign_in(&body.name, &body.password, connection.client).await
    };
    match run.await {
        Ok(step) => step_response(step, connection.tls),
        Err(e) => error_response(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    ticket: String,
    code: String,
}

async fn second_factor(
    State(state): State<SessionState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection.map(|c| c.0).unwrap_or_default();
    let run = async {
        let body: SecondFactorBody = json_body(&headers, body).await?;
        state.sessions.second_factor(&body.ticket, &body.code, connection.client).await
    };
    match run.await {
        Ok(step) => step_response(step, connection.tls),
        Err(e) => error_response(e),
    }
}

/// The signed-in session (with its anti-CSRF token, for a page that was reloaded). A GET that
/// changes nothing; another site cannot read its answer (no CORS) nor send the cookie
/// (SameSite=Strict).
async fn current(
    State(state): State<SessionState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
) -> Response {
    let connection = connection.map(|c| c.0).unwrap_or_default();
    let Some(secret) = session_cookie(&headers, connection.tls) else {
        return error_response(Error::unauthenticated("not signed in"));
    };
    match state.sessions.session(secret).await {
        Ok((_, answer)) => no_store(axum::Json(&answer).into_response()),
        Err(e) => {
            let mut response = error_response(e);
            response.headers_mut().insert(header::SET_COOKIE, set_cookie(connection.tls, None));
            response
        }
    }
}

/// Signs out: ends the session (its anti-CSRF token required) and clears the cookie.
async fn sign_out(
    State(state): State<SessionState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
) -> Response {
    let connection = connection.map(|c| c.0).unwrap_or_default();
    let Some(secret) = session_cookie(&headers, connection.tls) else {
        return error_response(Error::unauthenticated("not signed in"));
    };
    if let Err(e) = cookie_caller(state.sessions.as_ref(), secret, &headers).await {
        return error_response(e);
    }
    match state.sessions.sign_out(secret).await {
        Ok(()) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().insert(header::SET_COOKIE, set_cookie(connection.tls, None));
            no_store(response)
        }
        Err(e) => error_response(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_only_under_its_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; postdesk_session=ps_x_y; b=2"));
        assert_eq!(session_cookie(&h, false), Some("ps_x_y"));
        assert_eq!(session_cookie(&h, true), None, "over TLS only the __Host- cookie counts");
        let set = set_cookie(true, Some("ps_1"));
        assert_eq!(set.to_str().unwrap(), "__Host-postdesk_session=ps_1; Path=/; HttpOnly; SameSite=Strict; Secure");
        assert!(set_cookie(false, None).to_str().unwrap().contains("Max-Age=0"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
