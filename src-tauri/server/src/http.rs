//! Routing, authentication and the params mapping of the admin API.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use postdesk_contract::Error;
use postdesk_contract::api::{HttpMethod, Operation, OperationVisitor, visit_operations};
use std::sync::Arc;

use postdesk_contract::api::Authority;

/// An [`Error`] as an HTTP response: the status its code maps to, the error as JSON.
pub struct ApiError(pub Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self.0)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

#[derive(Clone)]
struct AppState {
    authority: Arc<dyn Authority>,
}

/// Content-Security-Policy of the served UI: only our own scripts, styles and API.
pub const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// The admin API plus the web UI's static files from `ui_dir` (a built `ui/dist`) at `/`,
/// with a strict CSP; unknown non-API paths get `index.html` (client-side routing).
pub fn router_with_ui(authority: impl Authority + 'static, ui_dir: &std::path::Path) -> Router {
    use tower_http::services::{ServeDir, ServeFile};
    use tower_http::set_header::SetResponseHeaderLayer;
    let files = ServeDir::new(ui_dir).fallback(ServeFile::new(ui_dir.join("index.html")));
    let ui = Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(UI_CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")));
    api_routes(Arc::new(authority)).route("/api/{*rest}", axum::routing::any(unknown_route)).merge(ui)
}

/// The admin API over `authority` (the engine, in `serve` and the app): every operation,
/// `/api/openapi.json` and `/api/health`.
pub fn router(authority: impl Authority + 'static) -> Router {
    api_routes(Arc::new(authority)).fallback(unknown_route)
}

async fn unknown_route() -> ApiError {
    ApiError(Error::not_found("no such API route"))
}

fn api_routes(authority: Arc<dyn Authority>) -> Router {
    let setup = crate::autoconfig::routes(authority.client_setup());
    let sessions = crate::session::routes(authority.sessions());
    let portal = crate::portal::routes(authority.portal());
    let mut mount = Mount { router: Router::new() };
    visit_operations(&mut mount);
    let spec = crate::openapi::document();
    mount
        .router
        .route("/api/openapi.json", get(move || async move { axum::Json(spec.clone()) }))
        .route("/api/health", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
        .with_state(AppState { authority })
        .merge(setup)
        .merge(sessions)
        .merge(portal)
}

struct Mount {
    router: Router<AppState>,
}

impl OperationVisitor for Mount {
    fn visit<O: Operation>(&mut self) {
        let handler = handle::<O>;
        let method: MethodRouter<AppState> = match O::METHOD {
            HttpMethod::Get => get(handler),
            HttpMethod::Post => post(handler),
            HttpMethod::Put => put(handler),
            HttpMethod::Patch => patch(handler),
            HttpMethod::Delete => delete(handler),
        };
        let router = std::mem::take(&mut self.router);
        self.router = router.route(O::PATH, method);
    }
}

/// The largest request body an operation takes: imports and batches of accounts are
/// big, lists of members or targets middling, everything else small.
fn body_limit(operation: &str) -> usize {
    match operation {
        // A full batch of accounts with notes is a few MB.
        "create_accounts" => 16 * 1024 * 1024,
        // A 1 MB XLSX file as base64 in JSON.
        "start_import"
        | "import_smtp_rules"
        | "import_aliases"
        | "import_bcc_rules"
        | "import_disclaimer_rules"
        | "import_monitor_rules" => 2 * 1024 * 1024,
        // Up to 10,000 addresses of members, targets or exceptions.
        "create_group"
        | "update_group"
        | "add_group_members"
        | "remove_group_members"
        | "create_alias"
        | "update_alias"
        | "update_settings"
        | "reset_passwords"
        | "clear_security_questions"
        | "bulk_accounts"
        | "explain_policy" => 4 * 1024 * 1024,
        _ => 64 * 1024,
    }
}

/// How long a client may take to send a request body once its headers are in.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Authenticates from the headers first, and only then reads the body, within the
/// operation's limit and [`BODY_TIMEOUT`]: a client without a token cannot make the server
/// read (or wait for) a single byte of body.
async fn handle<O: Operation>(
    State(state): State<AppState>,
    connection: Option<axum::Extension<crate::session::Connection>>,
    headers: HeaderMap,
    path: Option<Path<Vec<(String, String)>>>,
    RawQuery(query): RawQuery,
    body: axum::body::Body,
) -> Result<axum::Json<O::Output>, Response> {
    let tls = connection.is_some_and(|c| c.tls);
    let caller = caller_of(&state, &headers, tls).await.map_err(|e| ApiError(e).into_response())?;
    let limit = body_limit(O::NAME);
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            let e =
                Error::limit_exceeded(format!("the request body is over {limit} bytes, the most {} takes", O::NAME));
            return Err(closing(ApiError(e).into_response(), StatusCode::PAYLOAD_TOO_LARGE));
        }
        Err(_) => {
            let e = Error::validation(format!("the request body did not arrive within {}s", BODY_TIMEOUT.as_secs()));
            return Err(closing(ApiError(e).into_response(), StatusCode::REQUEST_TIMEOUT));
        }
    };
    let path = path.map(|Path(p)| p).unwrap_or_default();
    let params = decode::<O>(&path, query.as_deref(), &body).map_err(|e| ApiError(e).into_response())?;
    let backend = state.authority.backend_for(caller);
    Ok(axum::Json(params.invoke(backend.as_ref()).await.map_err(|e| ApiError(e).into_response())?))
}

/// `response` with `status` and `Connection: close`: the rest of the body is never read,
/// so hyper ends the connection after this answer (RFC 9110 §15.5.14) and a client cannot
/// keep streaming into it.
fn closing(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Who a request comes from: the API token of its `Authorization` header when it has one,
/// else its web UI session cookie (with the session's anti-CSRF token). Tokens are looked up
/// only as tokens and session secrets only as sessions.
async fn caller_of(
    state: &AppState,
    headers: &HeaderMap,
    tls: bool,
) -> Result<postdesk_contract::model::Caller, Error> {
    if headers.contains_key(header::AUTHORIZATION) {
        return state.authority.authenticate(bearer(headers)?).await;
    }
    if let (Some(sessions), Some(secret)) = (state.authority.sessions(), crate::session::session_cookie(headers, tls)) {
        return crate::session::cookie_caller(sessions.as_ref(), secret, headers).await;
    }
    bearer(headers).and_then(|_| Err(Error::unauthenticated("not signed in")))
}

/// The token of an `Authorization: Bearer <token>` header; the scheme in any case
/// (RFC 7235 §2.1).
fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let refuse = Error::unauthenticated;
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| refuse("missing API token: sign in, or send the header 'Authorization: Bearer <token>'"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| refuse("the Authorization header must be 'Bearer <token>'"))
}

/// Builds the params from path segments plus the query string (GET, DELETE) or the JSON
/// body (others). Path segments win over anything else of the same name.
fn decode<O: Operation>(path: &[(String, String)], query: Option<&str>, body: &[u8]) -> Result<O, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::validation(format!("invalid request for {}: {e}", O::NAME));
    if O::METHOD.params_in_query() {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| bad(&e))?;
        pairs.retain(|(k, _)| !path.iter().any(|(p, _)| p == k));
        pairs.extend(path.iter().cloned());
        let combined = serde_urlencoded::to_string(&pairs).map_err(|e| bad(&e))?;
        serde_urlencoded::from_str(&combined).map_err(|e| bad(&e))
    } else {
        let mut value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| bad(&e))?
        };
        let object = value.as_object_mut().ok_or_else(|| bad(&"the body must be a JSON object"))?;
        for (k, v) in path {
            object.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        serde_json::from_value(value).map_err(|e| bad(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use postdesk_contract::api::{CreateAccount, ListAccounts};
    use tower::ServiceExt;

    #[test]
    fn query_params_merge_with_path_params() {
        let path = vec![("domain".to_string(), "example.com".to_string())];
        let p: ListAccounts = decode(&path, Some("query=ann&limit=20&domain=evil.example"), b"").unwrap();
        assert_eq!(p.domain, "example.com");
        assert_eq!(p.query.as_deref(), Some("ann"));
        assert_eq!(p.limit, Some(20));
        let err = decode::<ListAccounts>(&path, Some("limit=lots"), b"").unwrap_err();
        assert!(err.message.contains("invalid request for list_accounts"), "{}", err.message);
        let err = decode::<ListAccounts>(&path, Some("nonsense=1"), b"").unwrap_err();
        assert!(err.message.contains("unknown field"), "{}", err.message);
    }

    #[test]
    fn body_params_are_json_objects() {
        let p: CreateAccount = decode(&[], None, br#"{"address":"a@example.com"}"#).unwrap();
        assert_eq!(p.address, "a@example.com");
        assert!(decode::<CreateAccount>(&[], None, b"[1]").unwrap_err().message.contains("JSON object"));
        assert!(decode::<CreateAccount>(&[], None, b"{").unwrap_err().message.contains("EOF"));
        assert!(decode::<CreateAccount>(&[], None, b"{}").unwrap_err().message.contains("missing field `address`"));
    }

    async fn call(app: Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn every_route_needs_a_valid_token() {
        // Every operation's route, its `{field}` segments filled in, with its method.
        struct Routes(Vec<(&'static str, HttpMethod, String)>);
        impl OperationVisitor for Routes {
            fn visit<O: Operation>(&mut self) {
                let path: Vec<&str> =
                    O::PATH.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect();
                self.0.push((O::NAME, O::METHOD, path.join("/")));
            }
        }
        let mut routes = Routes(Vec::new());
        visit_operations(&mut routes);
        assert!(routes.0.len() > 50, "the operation table");
        let engine = postdesk_engine::Engine::open_in_memory().await.unwrap();
        let app = router(engine);
        for (name, method, path) in &routes.0 {
            let method = match method {
                HttpMethod::Get => axum::http::Method::GET,
                HttpMethod::Post => axum::http::Method::POST,
                HttpMethod::Put => axum::http::Method::PUT,
                HttpMethod::Patch => axum::http::Method::PATCH,
                HttpMethod::Delete => axum::http::Method::DELETE,
            };
            let request = |token: Option<&str>| {
                let mut r = Request::builder().method(method.clone()).uri(path.as_str());
                if let Some(token) = token {
                    r = r.header("authorization", format!("Bearer {token}"));
                }
                r.header("content-type", "application/json").body(Body::from("{}")).unwrap()
            };
            let (status, body) = call(app.clone(), request(None)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{name}");
            let (status, body) = call(app.clone(), request(Some("pd_00_00"))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
            assert!(body["message"].as_str().unwrap().contains("not valid"), "{name}: {body}");
        }
        let (status, body) = call(app, Request::get("/api/openapi.json").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["openapi"], "3.1.0");
    }

    #[tokio::test]
    async fn serves_the_ui_with_a_strict_csp_and_keeps_api_errors_json() {
        let dir = std::env::temp_dir().join(format!("postdesk-ui-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><title>Postdesk</title>").unwrap();
        let app = router_with_ui(postdesk_engine::Engine::open_in_memory().await.unwrap(), &dir);
        for path in ["/", "/accounts/example.com"] {
            let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], UI_CSP);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(String::from_utf8_lossy(&body).contains("<title>Postdesk</title>"));
        }
        let (status, body) = call(app.clone(), Request::get("/api/nope").body(Body::empty()).unwrap()).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, _) = call(app, Request::get("/api/domains").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
