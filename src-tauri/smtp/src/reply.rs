//! SMTP replies: a basic code (RFC 5321 §4.2) with an enhanced status code (RFC 3463,
//! advertised as ENHANCEDSTATUSCODES, RFC 2034) and one line of text.

use std::fmt;

/// One single-line SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Basic reply code, e.g. 550.
    pub code: u16,
    /// Enhanced status code class.subject.detail, e.g. `[5, 1, 1]`.
    pub enhanced: [u8; 3],
    /// Human text; CR and LF are replaced when written.
    pub text: String,
}

impl Reply {
    /// A reply from its parts.
    pub fn new(code: u16, enhanced: [u8; 3], text: impl Into<String>) -> Reply {
        Reply { code, enhanced, text: text.into() }
    }

    /// Whether the reply is a permanent (5xx) failure.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// Whether the reply is a failure (4xx or 5xx).
    pub fn is_failure(&self) -> bool {
        self.code >= 400
    }

    /// Appends the wire form (`code x.y.z text\r\n`) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let [a, b, c] = self.enhanced;
        out.extend_from_slice(format!("{} {a}.{b}.{c} ", self.code).as_bytes());
        push_sanitised(out, &self.text);
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.enhanced;
        write!(f, "{} {a}.{b}.{c} {}", self.code, self.text)
    }
}

/// Text goes on one line: a CR or LF from configuration or a rule name must not let
/// anyone forge a second reply line.
pub(crate) fn push_sanitised(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
}

/// Replies used in several places, with the RFC that defines each code.
pub(crate) mod canned {
    use super::Reply;

    /// RFC 5321 §4.5.3.1.10 / RFC 3463 4.5.3: too many recipients.
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, [4, 5, 3], "Too many recipients")
    }
    /// RFC 1870 §6.1 / RFC 3463 5.3.4: message exceeds the fixed maximum size.
    pub fn message_too_big() -> Reply {
        Reply::new(552, [5, 3, 4], "Message size exceeds the fixed maximum message size")
    }
    /// RFC 5321 §4.2.4 / RFC 3463 5.5.1: bad sequence of commands.
    pub fn bad_sequence(text: &str) -> Reply {
        Reply::new(503, [5, 5, 1], text)
    }
    /// RFC 4954 §6: authentication required.
    pub fn auth_required() -> Reply {
        Reply::new(530, [5, 7, 0], "Authentication required")
    }
    /// RFC 4954 §6: encryption required for the mechanism.
    pub fn encryption_required() -> Reply {
        Reply::new(538, [5, 7, 11], "Encryption required for requested authentication mechanism; use STARTTLS first")
    }
    /// RFC 4954 §6: invalid credentials.
    pub fn bad_credentials() -> Reply {
        Reply::new(535, [5, 7, 8], "Authentication credentials invalid")
    }
    /// RFC 5321 §4.2.2: temporary local error (the store could not keep the message).
    /// RFC 3463 5.3.4 for one recipient: over the size its domain accepts.
    pub fn too_big_for(recipient: &str, limit: usize) -> Reply {
        Reply::new(
            552,
            [5, 3, 4],
            format!("Message too big for <{recipient}>: its domain accepts at most {limit} bytes"),
        )
    }
    /// The directory could not answer: try again later.
    pub fn lookup_failure() -> Reply {
        Reply::new(451, [4, 3, 0], "Temporary lookup failure, try again later")
    }
    pub fn local_error() -> Reply {
        Reply::new(451, [4, 3, 0], "Requested action aborted: local error in processing; try again later")
    }
    /// RFC 5321 §3.8: service closing (shutdown).
    pub fn shutting_down(host: &str) -> Reply {
        Reply::new(421, [4, 3, 2], format!("{host} Service shutting down, try again later"))
    }
    /// RFC 5321 §4.5.3.2: timeout.
    pub fn timeout(host: &str) -> Reply {
        Reply::new(421, [4, 4, 2], format!("{host} Timeout waiting for input, closing connection"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_has_enhanced_code_and_no_injected_lines() {
        let mut out = Vec::new();
        Reply::new(550, [5, 1, 1], "no\r\n250 such user").write_to(&mut out);
        assert_eq!(out, b"550 5.1.1 no  250 such user\r\n");
    }
}
