//! SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding for AUTH (RFC 4954).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Credentials taken from a SASL exchange. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"***").finish()
    }
}

/// Decodes one base64 client response (surrounding whitespace ignored).
pub(crate) fn decode(line: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(line.trim_ascii()).ok()
}

/// Encodes a server challenge.
pub(crate) fn encode(text: &str) -> String {
    STANDARD.encode(text)
}

/// PLAIN: `[authzid] NUL authcid NUL passwd`. An authorisation identity other than the
/// authentication identity (acting for someone else) is refused.
pub(crate) fn plain(message: &[u8]) -> Option<Credentials> {
    let mut parts = message.split(|b| *b == 0);
    let authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?;
    let password = std::str::from_utf8(parts.next()?).ok()?;
    if parts.next().is_some() || user.is_empty() {
        return None;
    }
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(user.as_bytes()) {
        return None;
    }
    Some(Credentials { user: user.to_string(), password: password.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_parses_and_refuses_proxy_identities() {
        let ok = plain(&decode(STANDARD.encode("\0ann@example.test\0s3cret").as_bytes()).unwrap()).unwrap();
        assert_eq!(ok.user, "ann@example.test");
        assert_eq!(ok.password, "s3cret");
        assert!(!format!("{ok:?}").contains("s3cret"));
        assert!(plain(b"ann@example.test\0ann@example.test\0pw").is_some());
        assert!(plain(b"bob@example.test\0ann@example.test\0pw").is_none());
        assert!(plain(b"\0\0pw").is_none());
        assert!(plain(b"no-nuls").is_none());
        assert!(decode(b"!!!").is_none());
    }
}
