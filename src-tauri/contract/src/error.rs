//! The one error type that crosses every boundary (IPC, HTTP, CLI).
//!
//! It serialises as `{"code": "validation", "message": "…", "field": "address"}`; the
//! code is stable (clients branch on it), the message is for people, and `field`, when
//! set, names the input the user got wrong so the UI can show the message there.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What kind of failure this is; stable, machine-readable, mapped to HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is malformed (bad address, empty name, …). HTTP 400.
    Validation,
    /// No credentials, or credentials that match no one. HTTP 401.
    Unauthenticated,
    /// The caller's role does not cover this page or domain. HTTP 403.
    PermissionDenied,
    /// The thing named does not exist (or the caller may not know it does). HTTP 404.
    NotFound,
    /// The change clashes with existing state (duplicate, loop, non-empty). HTTP 409.
    Conflict,
    /// A plan limit would be exceeded (max accounts, mailbox size). HTTP 409.
    LimitExceeded,
    /// The backend cannot be reached or is not running. HTTP 503.
    Unavailable,
    /// A fault on our side; the message says what failed. HTTP 500.
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code maps to.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Validation => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::LimitExceeded => 409,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The inverse of [`ErrorCode::http_status`] for statuses a server sends without a body.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            400 | 422 => ErrorCode::Validation,
            401 => ErrorCode::Unauthenticated,
            403 => ErrorCode::PermissionDenied,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            502..=504 => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// A failure with a stable code, a message for people and optionally the offending field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Stable machine-readable kind.
    pub code: ErrorCode,
    /// Plain-language explanation, safe to show to the user.
    pub message: String,
    /// The input field the message is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
    /// Every problem of a file or batch that was refused as a whole (an import), by row
    /// and column, so the user can fix them all at once. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<RowError>>", optional)]
    pub rows: Vec<RowError>,
}

/// One problem in one cell of a file (row numbers as the spreadsheet shows them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RowError {
    /// Row number, 1-based as in the spreadsheet (the header is row 1).
    pub row: u32,
    /// Column header, e.g. `Email address`.
    pub column: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}, {}: {}", self.row, self.column, self.message)
    }
}

/// Result alias used throughout Postdesk.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of the given kind.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), field: None, rows: Vec::new() }
    }
    /// Input was malformed.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }
    /// The named thing does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    /// The change clashes with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// The caller may not do this.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }
    /// A plan limit would be exceeded.
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }
    /// Missing or wrong credentials.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }
    /// The backend is unreachable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    /// A fault on our side.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    /// Names the input field the message is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// Attaches the problems by row and column.
    pub fn with_rows(mut self, rows: Vec<RowError>) -> Self {
        self.rows = rows;
        self
    }
}

#[cfg(feature = "sqlx")]
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return Error::conflict(format!("already exists ({})", db.message()));
            }
            if db.is_foreign_key_violation() {
                return Error::conflict(format!("still referenced ({})", db.message()));
            }
        }
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                Error::unavailable(format!("database unavailable: {err}"))
            }
            other => Error::internal(format!("database error: {other}")),
        }
    }
}

#[cfg(feature = "sqlx")]
impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Error::internal(format!("database migration failed: {err}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::internal(format!("serialisation failed: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_stable_code_and_optional_field() {
        let e = Error::validation("bad address").with_field("address");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"validation","message":"bad address","field":"address"}"#
        );
        let e = Error::not_found("no such domain");
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"code":"not_found","message":"no such domain"}"#);
        let row = RowError { row: 9, column: "Email address".into(), message: "no @".into() };
        assert_eq!(row.to_string(), "row 9, Email address: no @");
        let e = Error::validation("1 error").with_rows(vec![row]);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"validation","message":"1 error","rows":[{"row":9,"column":"Email address","message":"no @"}]}"#
        );
    }

    #[test]
    fn codes_map_to_http_and_back() {
        for code in [
            ErrorCode::Validation,
            ErrorCode::Unauthenticated,
            ErrorCode::PermissionDenied,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            assert_eq!(ErrorCode::from_http_status(code.http_status()), code);
        }
        assert_eq!(ErrorCode::LimitExceeded.http_status(), 409);
    }
}
