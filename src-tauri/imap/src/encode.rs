//! IMAP response atoms: strings as quoted strings or literals, NIL, flag lists, dates.

/// A string as a quoted string when it can be one, else a literal.
pub fn string(bytes: &[u8]) -> String {
    let quotable = bytes.len() < 1024 && bytes.iter().all(|&b| (0x20..0x7f).contains(&b));
    if quotable {
        let mut out = String::with_capacity(bytes.len() + 2);
        out.push('"');
        for &b in bytes {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(b as char);
        }
        out.push('"');
        out
    } else {
        // 8-bit text (UTF-8 headers) goes as a literal; lossless for UTF-8, and other
        // bytes are replaced, since a response is built as text.
        let text = String::from_utf8_lossy(bytes);
        format!("{{{}}}\r\n{}", text.len(), text)
    }
}

/// A string or NIL.
pub fn nstring(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "NIL".to_string(), string)
}

/// A mailbox name as an astring (quoted when needed).
pub fn mailbox(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b)) {
        name.to_string()
    } else {
        string(name.as_bytes())
    }
}

/// `(\Seen $Work)`
pub fn flag_list(flags: &[String]) -> String {
    format!("({})", flags.join(" "))
}

/// An RFC 3339 time as an IMAP date-time (`"05-Dec-2026 09:00:00 +0000"`).
pub fn date_time(rfc3339: &str) -> String {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        [usize::from(u8::from(t.month())) - 1];
    format!("\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"", t.day(), month, t.year(), t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_quote_or_go_literal() {
        assert_eq!(string(b"a \"b\" \\"), "\"a \\\"b\\\" \\\\\"");
        assert_eq!(string("é".as_bytes()), "{2}\r\né");
        assert_eq!(string(b"a\r\nb"), "{4}\r\na\r\nb");
        assert_eq!(nstring(None), "NIL");
        assert_eq!(mailbox("INBOX"), "INBOX");
        assert_eq!(mailbox("a b"), "\"a b\"");
        assert_eq!(mailbox(""), "\"\"");
        assert_eq!(date_time("2026-12-05T09:00:07Z"), "\"05-Dec-2026 09:00:07 +0000\"");
    }
}
