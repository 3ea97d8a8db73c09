//! SEARCH: whether a message matches a [`SearchKey`] (RFC 9051 §6.4.4). Flags, sizes,
//! dates and UIDs come from the store's metadata; header and body keys look at the
//! message itself, decoded (transfer encodings, charsets, encoded words) by `mail-parser`,
//! and compare case-insensitively as substrings.

use mail_parser::{HeaderValue, MessageParser};

use crate::grammar::SearchKey;

/// What a key needs to know of one message.
pub struct Candidate<'a> {
    /// Its sequence number.
    pub seq: u32,
    /// Its UID.
    pub uid: u32,
    /// The largest sequence number and UID in the mailbox (for `*`).
    pub largest: (u32, u32),
    /// Its flags.
    pub flags: &'a [String],
    /// `\Recent` for this session.
    pub recent: bool,
    /// RFC822.SIZE
    pub size: u64,
    /// INTERNALDATE as days since 1970-01-01 (UTC).
    pub internal_day: i32,
    /// Its mod-sequence.
    pub modseq: u64,
    /// Its bytes, when the key needs them ([`needs_content`]).
    pub raw: Option<&'a [u8]>,
    /// The last saved search result (UIDs, sorted), for `$`.
    pub saved: &'a [u32],
}

/// Whether evaluating `key` needs the message's bytes.
pub fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().any(needs_content),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::Not(a) => needs_content(a),
        SearchKey::Header(..)
        | SearchKey::Body(_)
        | SearchKey::Text(_)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => true,
        _ => false,
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}

/// Whether `key` has a MODSEQ criterion (the SEARCH result then reports the highest
/// mod-sequence, RFC 7162 §3.1.5).
pub fn uses_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().any(uses_modseq),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        SearchKey::Not(a) => uses_modseq(a),
        SearchKey::ModSeq(_) => true,
        _ => false,
    }
}

/// Whether the message matches.
pub fn matches(key: &SearchKey, m: &Candidate<'_>) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, m)),
        SearchKey::Or(a, b) => matches(a, m) || matches(b, m),
        SearchKey::Not(a) => !matches(a, m),
        SearchKey::All => true,
        SearchKey::Flag(f) if f.eq_ignore_ascii_case("\\Recent") => m.recent,
        SearchKey::NoFlag(f) if f.eq_ignore_ascii_case("\\Recent") => !m.recent,
        SearchKey::Flag(f) => has_flag(m.flags, f),
        SearchKey::NoFlag(f) => !has_flag(m.flags, f),
        SearchKey::New => m.recent && !has_flag(m.flags, "\\Seen"),
        SearchKey::Old => !m.recent,
        SearchKey::Recent => m.recent,
        SearchKey::Larger(n) => m.size > *n,
        SearchKey::Smaller(n) => m.size < *n,
        SearchKey::Before(d) => m.internal_day < *d,
        SearchKey::On(d) => m.internal_day == *d,
        SearchKey::Since(d) => m.internal_day >= *d,
        SearchKey::Uid(set) => set.contains(m.uid, m.largest.1, m.saved),
        SearchKey::Seq(set) => match set {
            crate::sequence::SequenceSet::Saved => m.saved.binary_search(&m.uid).is_ok(),
            _ => set.contains(m.seq, m.largest.0, m.saved),
        },
        SearchKey::ModSeq(n) => m.modseq >= *n,
        SearchKey::SentBefore(d) => sent_day(m).is_some_and(|s| s < *d),
        SearchKey::SentOn(d) => sent_day(m).is_some_and(|s| s == *d),
        SearchKey::SentSince(d) => sent_day(m).is_some_and(|s| s >= *d),
        SearchKey::Header(name, needle) => header_contains(m, name, needle),
        SearchKey::Body(needle) => body_contains(m, needle),
        SearchKey::Text(needle) => {
            body_contains(m, needle) || m.raw.is_some_and(|raw| header_text_contains(raw, needle))
        }
    }
}

fn sent_day(m: &Candidate<'_>) -> Option<i32> {
    let message = MessageParser::default().parse_headers(m.raw?)?;
    let d = message.date()?;
    let date = time::Date::from_calendar_date(i32::from(d.year), time::Month::try_from(d.month).ok()?, d.day).ok()?;
    Some(date.to_julian_day() - time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?.to_julian_day())
}

fn value_text(value: &HeaderValue<'_>) -> String {
    match value {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(" "),
        HeaderValue::Address(a) => a
            .iter()
            .map(|addr| format!("{} <{}>", addr.name.as_deref().unwrap_or(""), addr.address.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn header_contains(m: &Candidate<'_>, name: &str, needle: &str) -> bool {
    let Some(raw) = m.raw else { return false };
    let (end, _) = crate::mime::split_header(raw);
    let fields = crate::mime::fields(&raw[..end]);
    let needle = fold(needle);
    let named: Vec<_> = fields.iter().filter(|f| f.name.eq_ignore_ascii_case(name)).collect();
    if named.is_empty() {
        return false;
    }
    if needle.is_empty() {
        return true;
    }
    if named.iter().any(|f| fold(&crate::mime::unfold(f.value)).contains(&needle)) {
        return true;
    }
    // Decoded: encoded words and address display names.
    let Some(message) = MessageParser::default().parse_headers(raw) else { return false };
    message
        .headers()
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .any(|h| fold(&value_text(&h.value)).contains(&needle))
}

fn header_text_contains(raw: &[u8], needle: &str) -> bool {
    let (end, _) = crate::mime::split_header(raw);
    fold(&String::from_utf8_lossy(&raw[..end])).contains(&fold(needle))
}

fn body_contains(m: &Candidate<'_>, needle: &str) -> bool {
    let Some(raw) = m.raw else { return false };
    let needle = fold(needle);
    let Some(message) = MessageParser::default().parse(raw) else { return false };
    let texts = (0..message.text_body_count()).filter_map(|i| message.body_text(i));
    for text in texts {
        if fold(&text).contains(&needle) {
            return true;
        }
    }
    // Bodies mail-parser does not count as text (a lone non-text part): the raw bytes.
    let (_, start) = crate::mime::split_header(raw);
    message.text_body_count() == 0 && fold(&String::from_utf8_lossy(&raw[start..])).contains(&needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{CommandBody, parse_command};

    fn key(text: &str) -> SearchKey {
        let CommandBody::Search { key, .. } = parse_command(format!("a SEARCH {text}\r\n").as_bytes()).unwrap().body
        else {
            panic!()
        };
        key
    }

    fn candidate<'a>(raw: &'a [u8], flags: &'a [String]) -> Candidate<'a> {
        Candidate {
            seq: 2,
            uid: 7,
            largest: (3, 9),
            flags,
            recent: false,
            size: raw.len() as u64,
            internal_day: crate::grammar::parse_date("5-Dec-2026").unwrap(),
            modseq: 10,
            raw: Some(raw),
            saved: &[],
        }
    }

    const RAW: &[u8] = b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\nSubject: =?utf-8?b?R3LDvMOfZQ==?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nX-Tag: blue\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n";

    #[test]
    fn headers_and_bodies_match_decoded_and_case_insensitively() {
        let flags = vec!["\\Seen".to_string()];
        let m = candidate(RAW, &flags);
        for yes in [
            "FROM jörg",
            "FROM JORG@EXAMPLE",
            "SUBJECT grüße",
            "BODY \"schöne grüße\"",
            "TEXT x-tag",
            "HEADER X-Tag BLUE",
            "HEADER X-Tag \"\"",
            "SEEN UNFLAGGED",
            "UID 5:7",
            "2",
            "*:2",
            "SENTON 1-Dec-2026",
            "SENTBEFORE 2-Dec-2026",
            "ON 5-Dec-2026",
            "SINCE 5-Dec-2026 NOT BEFORE 5-Dec-2026",
            "OR FLAGGED LARGER 10",
            "MODSEQ 10",
            "KEYWORD \\Seen",
        ] {
            assert!(matches(&key(yes), &m), "{yes}");
        }
        for no in [
            "FROM ann",
            "BODY nothing",
            "HEADER X-Other \"\"",
            "UNSEEN",
            "UID 8:*",
            "3",
            "SMALLER 10",
            "MODSEQ 11",
            "NEW",
        ] {
            assert!(!matches(&key(no), &m), "{no}");
        }
        assert!(needs_content(&key("OR SEEN BODY x")) && !needs_content(&key("OR SEEN UID 1")));
    }
}
