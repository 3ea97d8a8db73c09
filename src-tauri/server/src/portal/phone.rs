//! The portal's phone routes (`/api/portal/phone…`) over [`PortalPhones`](postdesk_contract::api::PortalPhones): the same portal
//! cookie and anti-CSRF token as every portal route; they work while a phone is required
//! and none is bound (they are how that is met).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use postdesk_contract::phone::{ConfirmPhone, SendPhoneCode};

use super::{PortalState, connection_of, json_answer, user_of};
use crate::session::{Connection, json_body};

/// The phone routes (merged into the portal's router).
pub(super) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/portal/phone", get(phone).delete(unbind))
        .route("/api/portal/phone/code", post(send_code))
        .route("/api/portal/phone/confirm", post(confirm))
}

async fn phone(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        let (_, user) = user_of(&state, &headers, connection.tls).await?;
        state.portal.own_phone(&user).await
    };
    json_answer(run.await)
}

async fn send_code(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        let (_, user) = user_of(&state, &headers, connection.tls).await?;
        let request: SendPhoneCode = json_body(&headers, body).await?;
        state.portal.send_phone_code(&user, request).await
    };
    json_answer(run.await)
}

async fn confirm(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        let (_, user) = user_of(&state, &headers, connection.tls).await?;
        let request: ConfirmPhone = json_body(&headers, body).await?;
        state.portal.confirm_phone(&user, request).await
    };
    json_answer(run.await)
}

async fn unbind(
    State(state): State<PortalState>,
    connection: Option<axum::Extension<Connection>>,
    headers: HeaderMap,
) -> Response {
    let connection = connection_of(connection);
    let run = async {
        let (_, user) = user_of(&state, &headers, connection.tls).await?;
        state.portal.unbind_phone(&user).await
    };
    json_answer(run.await)
}
