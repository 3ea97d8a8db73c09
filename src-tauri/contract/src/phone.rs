//! Phone binding in the user self-service portal (issue 18) and the SMS gateway that carries
//! its one-time codes.
//!
//! Rules shared by every implementation:
//! * the SMS gateway is server-wide: mode `log` (the default: each message is a row of the
//!   SMS log an admin reads; the last [`SMS_LOG_KEEP`] are kept) or `http` (a JSON POST
//!   `{"to","text"}` to an `https` URL, or `http` to a loopback address only, with an
//!   optional bearer token). The token is write-only: no answer, row or audit entry holds
//!   it; [`SmsGateway::token_set`] only says whether one is stored;
//! * a phone number is E.164: `+` and 8–15 digits. A user sees it masked but for its last
//!   three digits;
//! * a code has [`CODE_DIGITS`] digits, is valid [`CODE_VALID_SECS`] seconds and only its
//!   hash is kept; an account is sent at most [`MAX_CODES_PER_HOUR`] codes an hour, and a
//!   code is void after [`MAX_WRONG_TRIES`] wrong tries;
//! * while the effective `require_phone` applies and no phone is bound, every portal page
//!   but the phone's is refused (as while a forced password change is pending);
//! * a user removes the bound phone only where the effective `allow_phone_unbinding` says
//!   so; an admin can always clear it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Result;

/// Digits of a one-time code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is valid (10 minutes).
pub const CODE_VALID_SECS: i64 = 10 * 60;
/// Codes an account is sent at most per hour.
pub const MAX_CODES_PER_HOUR: i64 = 5;
/// Wrong tries after which a code is void.
pub const MAX_WRONG_TRIES: i64 = 5;
/// Rows the SMS log keeps at most (the oldest go).
pub const SMS_LOG_KEEP: i64 = 1000;

/// How SMS messages leave the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmsGatewayMode {
    /// Written to the SMS log an admin reads (local mode, tests): nothing leaves the server.
    #[default]
    Log,
    /// POSTed as JSON `{"to","text"}` to the gateway's URL.
    Http,
}

impl SmsGatewayMode {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            SmsGatewayMode::Log => "log",
            SmsGatewayMode::Http => "http",
        }
    }
    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<SmsGatewayMode> {
        Some(match name {
            "log" => SmsGatewayMode::Log,
            "http" => SmsGatewayMode::Http,
            _ => return None,
        })
    }
}

/// The server-wide SMS gateway (never its token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmsGateway {
    /// Log or HTTP.
    pub mode: SmsGatewayMode,
    /// The HTTP gateway's URL (`https://…`, or `http://` to a loopback address); absent in
    /// log mode.
    pub url: Option<String>,
    /// Whether a bearer token is stored (it is never shown).
    pub token_set: bool,
}

/// One message of the SMS log (log mode), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmsMessage {
    /// Sequence number.
    pub id: u32,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The phone number it went to (E.164).
    pub to: String,
    /// The text.
    pub text: String,
    /// The account it was sent for.
    pub account: Option<String>,
}

/// Whether an account has a phone bound, for an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AccountPhone {
    /// The account.
    pub address: String,
    /// The bound number, masked but for its last three digits; absent when none is bound.
    pub phone: Option<String>,
    /// When it was bound, RFC 3339 UTC.
    pub bound_at: Option<String>,
}

/// What the portal's "Mobile phone" section shows a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PortalPhone {
    /// The bound number, masked but for its last three digits; absent when none is bound.
    pub phone: Option<String>,
    /// The administrator requires a bound phone (effective `require_phone`).
    pub required: bool,
    /// The user may remove the bound phone (effective `allow_phone_unbinding`).
    pub unbinding_allowed: bool,
    /// A code was sent and waits for confirmation: to this number, masked.
    pub pending: Option<String>,
}

/// The portal's request for a code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SendPhoneCode {
    /// The number to bind, E.164 (`+` and 8–15 digits; spaces, dashes and brackets are
    /// ignored).
    pub phone: String,
}

/// The portal's confirmation of a code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPhone {
    /// The code the SMS carried.
    pub code: String,
}

/// A phone number as E.164: `+` and 8–15 digits, with spaces, dashes, dots and brackets
/// dropped; a validation error on field `phone` otherwise.
pub fn normalize_phone(input: &str) -> Result<String> {
    let kept: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = kept.strip_prefix('+').unwrap_or("");
    if digits.len() < 8 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(crate::Error::validation(
            "enter the number in international form: + then the country code and number, 8 to 15 digits (e.g. +41791234567)",
        )
        .with_field("phone"));
    }
    Ok(format!("+{digits}"))
}

/// A number masked but for its last three digits: `+41791234567` → `+********567`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let keep = chars.len().saturating_sub(3);
    chars.iter().enumerate().map(|(i, c)| if i < keep && c.is_ascii_digit() { '*' } else { *c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_e164_and_masked_but_for_three_digits() {
        assert_eq!(normalize_phone(" +41 79 123-45 67 ").unwrap(), "+41791234567");
        for bad in ["41791234567", "+4179", "+1234567890123456", "+41 79 abc", "", "+0123456789"] {
            assert_eq!(normalize_phone(bad).unwrap_err().field.as_deref(), Some("phone"), "{bad}");
        }
        assert_eq!(mask_phone("+41791234567"), "+********567");
    }
}
