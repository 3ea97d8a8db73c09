//! The portal's phone routes (`/api/portal/phone…`) over [`PortalPhones`](postdesk_contract::api::PortalPhones): the same portal
//! cookie and anti-CSRF token as every portal route; they work while a phone is required
//! and none is bound (they are how that is met).

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use postdesk_contract::phone::{ConfirmPhone, SendPhoneCode};

use super::{PortalState, SignedIn, json_answer};
use crate::session::json_body;

/// The phone routes (merged into the portal's router).
pub(super) fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/portal/phone", get(phone).delete(unbind))
        .route("/api/portal/phone/code", post(send_code))
        .route("/api/portal/phone/confirm", post(confirm))
}

async fn phone(u: SignedIn) -> Response {
    json_answer(u.portal.own_phone(&u.user).await)
}

async fn send_code(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let request: SendPhoneCode = json_body(&headers, body).await?;
        u.portal.send_phone_code(&u.user, request).await
    };
    json_answer(run.await)
}

async fn confirm(u: SignedIn, headers: HeaderMap, body: axum::body::Body) -> Response {
    let run = async {
        let request: ConfirmPhone = json_body(&headers, body).await?;
        u.portal.confirm_phone(&u.user, request).await
    };
    json_answer(run.await)
}

async fn unbind(u: SignedIn) -> Response {
    json_answer(u.portal.unbind_phone(&u.user).await)
}
