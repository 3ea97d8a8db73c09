//! The user self-service portal's routes (`/api/portal/…`) over the contract's [`Portal`].
//!
//! A portal session lives in a cookie of its own (`__Host-postdesk_portal` over TLS,
//! `postdesk_portal` on plain loopback HTTP; `HttpOnly; SameSite=Strict; Path=/`), apart from
//! the admins' session cookie. These routes read only that cookie: an `Authorization` header
//! (an API token) or an admin session cookie is refused here, and the admin routes never read
//! the portal cookie (`http.rs` `caller_of`). Every call made with the portal cookie carries the
//! session's anti-CSRF token in [`CSRF_HEADER`](crate::CSRF_HEADER), and every request with a
//! body must be `application/json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use postdesk_contract::Error;
use postdesk_contract::api::{ChangeOwnPassword, Password, Portal, PortalUser, RecoverPassword, SetSecurityQuestions};
use serde::Deserialize;

mod phone;

use crate::session::{CSRF_HEADER, Connection, cookie_header, error_response, find_cookie, json_body, no_store, same};

fn cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-postdesk_portal" } else { "postdesk_portal" }
}

#[derive(Clone)]
struct PortalState {
    portal: Arc<dyn Portal>,
}

/// The portal's routes over `portal` (none without one).
pub(crate) fn routes(portal: Option<Arc<dyn Portal>>) -> Router {
    let Some(portal) = portal else {
        return Router::new();
    };
    Router::new()
        .merge(phone::routes())
        .route("/api/portal/session", get(current).post(sign_in).delete(sign_out))
        .route("/api/portal/password", post(change_password))
        .route("/api/portal/account", get(account))
        .route("/api/portal/auto-reply", get(auto_reply).put(set_auto_reply))
        .route("/api/portal/forwarding", get(forwarding).put(set_forwarding))
        .route("/api/portal/security-questions", get(security_questions).put(set_security_questions))
        .route("/api/portal/recovery/questions", post(recovery_questions))
        .route("/api/portal/recovery", post(recover))
        .with_state(PortalState { portal })
}

fn connection_of(connection: Option<axum::Extension<Connection>>) -> Connection {
    connection.map(|c| c.0).unwrap_or_default()
}

/// Admin credentials have no business here: refused by name, never looked up.
fn refuse_admin_credentials(headers: &HeaderMap) -> Result<(), Error> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(Error::permission_denied(
            "the user portal does not take API tokens: a mailbox user signs in with address and password",
        ));
    }
    Ok(())
}

/// The user of the request's portal cookie, when it carries the session's anti-CSRF token.
async fn user_of(state: &PortalState, headers: &HeaderMap, tls: bool) -> Result<(String, PortalUser), Error> {
    refuse_admin_credentials(headers)?;
    let secret = find_cookie(headers, cookie_name(tls)).ok_or_else(|| Error::unauthenticated("not signed in"))?;
    let (user, answer) = state.portal.session(secret).await?;
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !same(sent, &answer.csrf_token) {
        return Err(Error::permission_denied(format!(
            "refused: a portal request must carry the session's anti-CSRF token in the {CSRF_HEADER} header"
        )));
    }
    Ok((secret.to_string(), user))
}

/// A request of a signed-in portal user: the cookie's session and its anti-CSRF token checked
/// (before any body is read); refused with the API error otherwise.
struct SignedIn {
    portal: Arc<dyn Portal>,
    user: PortalUser,
    secret: String,
    connection: Connection,
}

impl axum::extract::FromRequestParts<PortalState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &PortalState) -> Result<Self, Response> {
        let connection = parts.extensions.get::<Connection>().cloned().unwrap_or_default();
        let (secret, user) = user_of(state, &parts.headers, connection.tls).await.map_err(error_response)?;
        Ok(SignedIn { portal: state.portal.clone(), user, secret, connection })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    address: String,
    password: Password,
}

async fn sign_in(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        refuse_admin_credentials(&headers)?;
        let body: SignInBody = json_body(&headers, body).await?;
        state.portal.sign_in(&body.address, &body.password, connection.client).await
    };
    match run.await {
        Ok(step) => {
            let mut response = axum::Json(&step.answer).into_response();
            let cookie = cookie_header(cookie_name(connection.tls), connection.tls, Some(&step.session_secret));
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            no_store(response)
        }
        Err(e) => error_response(e),
    }
}

/// The signed-in session (with its anti-CSRF token, for a reloaded page).
async fn current(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
) -> Response {
    let connection = connection_of(connection);
    if let Err(e) = refuse_admin_credentials(&headers) {
        return error_response(e);
    }
    let Some(secret) = find_cookie(&headers, cookie_name(connection.tls)) else {
        return error_response(Error::unauthenticated("not signed in"));
    };
    match state.portal.session(secret).await {
        Ok((_, answer)) => no_store(axum::Json(&answer).into_response()),
        Err(e) => {
            let mut response = error_response(e);
            let clear = cookie_header(cookie_name(connection.tls), connection.tls, None);
            response.headers_mut().insert(header::SET_COOKIE, clear);
            response
        }
    }
}

async fn sign_out(u: SignedIn) -> Response {
    let tls = u.connection.tls;
    match u.portal.sign_out(&u.secret).await {
        Ok(()) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie_header(cookie_name(tls), tls, None));
            no_store(response)
        }
        Err(e) => error_response(e),
    }
}

async fn change_password(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let change: ChangeOwnPassword = json_body(&headers, body).await?;
        u.portal.change_own_password(&u.user, change, u.connection.client).await
    };
    json_answer(run.await)
}

async fn account(u: SignedIn) -> Response {
    json_answer(u.portal.own_account(&u.user).await)
}

async fn auto_reply(u: SignedIn) -> Response {
    json_answer(u.portal.own_auto_reply(&u.user).await)
}

async fn set_auto_reply(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let reply: postdesk_contract::autoreply::AutoReply = json_body(&headers, body).await?;
        u.portal.set_own_auto_reply(&u.user, reply).await
    };
    json_answer(run.await)
}

async fn security_questions(u: SignedIn) -> Response {
    json_answer(u.portal.own_security_questions(&u.user).await)
}

async fn set_security_questions(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let set: SetSecurityQuestions = json_body(&headers, body).await?;
        u.portal.set_own_security_questions(&u.user, set, u.connection.client).await
    };
    json_answer(run.await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryBody {
    address: String,
}

/// The questions to recover a forgotten password with (no session; JSON only, as the
/// sign-in, so no other site's form can post here).
async fn recovery_questions(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        refuse_admin_credentials(&headers)?;
        let body: RecoveryBody = json_body(&headers, body).await?;
        state.portal.recovery_questions(&body.address, connection.client).await
    };
    json_answer(run.await)
}

/// A forgotten password recovered with the security answers (no session): 204 when set.
async fn recover(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        refuse_admin_credentials(&headers)?;
        let recovery: RecoverPassword = json_body(&headers, body).await?;
        state.portal.recover_password(recovery, connection.client).await
    };
    match run.await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => error_response(e),
    }
}

async fn forwarding(u: SignedIn) -> Response {
    json_answer(u.portal.own_forwarding(&u.user).await)
}

async fn set_forwarding(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let forwarding: postdesk_contract::forwarding::SetForwarding = json_body(&headers, body).await?;
        u.portal.set_own_forwarding(&u.user, forwarding).await
    };
    json_answer(run.await)
}

/// A portal answer as JSON, never cached, or the error.
fn json_answer<T: serde::Serialize>(result: postdesk_contract::Result<T>) -> Response {
    match result {
        Ok(answer) => no_store(axum::Json(&answer).into_response()),
        Err(e) => error_response(e),
    }
}
