//! SORT (RFC 5256, with DISPLAYFROM/DISPLAYTO of RFC 5957): the sort keys of a message —
//! the base subject, the first address's local part or display name, the sent date — and
//! their order (`i;ascii-casemap`, ties by sequence number).

use std::cmp::Ordering;

use mail_parser::MessageParser;

use crate::grammar::SortKey;

/// What one message is sorted by.
#[derive(Debug, Default)]
pub struct Keys {
    /// Its sequence number (the last tie-breaker).
    pub seq: u32,
    /// INTERNALDATE, seconds.
    pub arrival: i64,
    /// The Date header's time (the arrival when there is none), seconds.
    pub date: i64,
    /// RFC822.SIZE
    pub size: u64,
    /// The base subject, upper-cased.
    pub subject: String,
    /// The first From/To/Cc address's local part, upper-cased.
    pub from: String,
    /// See `from`.
    pub to: String,
    /// See `from`.
    pub cc: String,
    /// The first From/To address's display name (else its address), upper-cased.
    pub display_from: String,
    /// See `display_from`.
    pub display_to: String,
}

/// Whether a criterion needs the message's header.
pub fn needs_header(criteria: &[(bool, SortKey)]) -> bool {
    criteria.iter().any(|(_, k)| !matches!(k, SortKey::Arrival | SortKey::Size))
}

fn first_address(raw_fields: &[crate::mime::Field<'_>], name: &str) -> (String, String) {
    let Some(value) = crate::mime::field_value(raw_fields, name) else { return (String::new(), String::new()) };
    let list = crate::address::parse_list(&value);
    // The first entry with a mailbox: an address, or a group's name (as common servers do).
    let Some(a) = list.into_iter().find(|a| a.mailbox.is_some()) else {
        return (String::new(), String::new());
    };
    let mailbox = a.mailbox.clone().unwrap_or_default();
    let display = match (a.name.filter(|n| !n.is_empty()), a.host) {
        (Some(name), _) => decode_words(&name),
        (None, Some(host)) => format!("{mailbox}@{host}"),
        (None, None) => mailbox.clone(),
    };
    (mailbox.to_ascii_uppercase(), display.to_ascii_uppercase())
}

/// Decodes RFC 2047 encoded words (through mail-parser) in a header value.
pub(crate) fn decode_words(value: &str) -> String {
    let raw = format!("Subject: {value}\r\n\r\n");
    MessageParser::default()
        .parse_headers(raw.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string())
}

/// The sort keys of a message; `raw` when a criterion needs the header.
pub fn keys(seq: u32, arrival: i64, size: u64, raw: Option<&[u8]>) -> Keys {
    let mut keys = Keys { seq, arrival, date: arrival, size, ..Keys::default() };
    let Some(raw) = raw else { return keys };
    let (end, _) = crate::mime::split_header(raw);
    let fields = crate::mime::fields(&raw[..end]);
    if let Some(subject) = crate::mime::field_value(&fields, "Subject") {
        keys.subject = base_subject(&decode_words(&subject)).to_ascii_uppercase();
    }
    (keys.from, keys.display_from) = first_address(&fields, "From");
    (keys.to, keys.display_to) = first_address(&fields, "To");
    keys.cc = first_address(&fields, "Cc").0;
    if let Some(d) = MessageParser::default().parse_headers(raw).and_then(|m| m.date().cloned()) {
        let t = d.to_timestamp();
        if d.year > 0 {
            keys.date = t;
        }
    }
    keys
}

/// Orders two messages by the criteria, ties by sequence number.
pub fn compare(a: &Keys, b: &Keys, criteria: &[(bool, SortKey)]) -> Ordering {
    for (reverse, key) in criteria {
        let o = match key {
            SortKey::Arrival => a.arrival.cmp(&b.arrival),
            SortKey::Date => a.date.cmp(&b.date),
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Subject => a.subject.cmp(&b.subject),
            SortKey::From => a.from.cmp(&b.from),
            SortKey::To => a.to.cmp(&b.to),
            SortKey::Cc => a.cc.cmp(&b.cc),
            SortKey::DisplayFrom => a.display_from.cmp(&b.display_from),
            SortKey::DisplayTo => a.display_to.cmp(&b.display_to),
        };
        let o = if *reverse { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.seq.cmp(&b.seq)
}

/// The base subject (RFC 5256 §2.1): reply and forward markers, `[blob]` prefixes and
/// `(fwd)` trailers removed, white space collapsed.
pub fn base_subject(subject: &str) -> String {
    base_subject_and_reply(subject).0
}

/// Whether a subject is a reply or a forward: taking its base subject removes a `re`, `fw`
/// or `fwd` leader, a `(fwd)` trailer or a `[fwd: …]` wrapper (RFC 5256 §2.1, for THREAD).
pub fn subject_is_reply(subject: &str) -> bool {
    base_subject_and_reply(subject).1
}

fn base_subject_and_reply(subject: &str) -> (String, bool) {
    let mut reply = false;
    let mut s: String = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        // (2) trailers
        loop {
            let t = s.trim_end();
            let lower = t.to_ascii_lowercase();
            if lower.ends_with("(fwd)") {
                s = t[..t.len() - 5].to_string();
                reply = true;
            } else {
                s = t.to_string();
                break;
            }
        }
        // (3)-(5) leaders and blobs
        loop {
            let before = s.clone();
            while let Some(rest) = strip_leader(&s) {
                s = rest;
                reply = true;
            }
            if let Some(rest) = strip_blob(&s).filter(|r| !r.is_empty()) {
                s = rest;
            }
            if s == before {
                break;
            }
        }
        // (6) [fwd: …]
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("[fwd:") && s.ends_with(']') {
            s = s[5..s.len() - 1].trim().to_string();
            reply = true;
            continue;
        }
        return (s, reply);
    }
}

/// `subj-blob`: `[` … `]` and white space after it.
fn strip_blob(s: &str) -> Option<String> {
    let rest = s.strip_prefix('[')?;
    let end = rest.find(']')?;
    if rest[..end].contains('[') {
        return None;
    }
    Some(rest[end + 1..].trim_start().to_string())
}

/// `subj-leader`: blobs, then `re`, `fw` or `fwd`, optionally a blob, then `:`.
fn strip_leader(s: &str) -> Option<String> {
    let mut rest = s.trim_start().to_string();
    while let Some(r) = strip_blob(&rest) {
        rest = r;
    }
    let lower = rest.to_ascii_lowercase();
    let word = ["fwd", "fw", "re"].into_iter().find(|w| lower.starts_with(w))?;
    let mut after = rest[word.len()..].trim_start().to_string();
    if let Some(r) = strip_blob(&after) {
        after = r;
    }
    let after = after.strip_prefix(':')?;
    Some(after.trim_start().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects_follow_rfc_5256() {
        assert_eq!(base_subject("Re: hello"), "hello");
        assert_eq!(base_subject("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)"), "b");
        assert_eq!(base_subject("RE [x]: re: x"), "x");
        assert_eq!(base_subject("[fwd: Re: topic]"), "topic");
        assert_eq!(base_subject("[only blob]"), "[only blob]");
        assert_eq!(base_subject("  a   b\t c "), "a b c");
        assert_eq!(base_subject("Re:"), "");
        assert!(subject_is_reply("[list] Re: x") && subject_is_reply("x (fwd)") && subject_is_reply("[Fwd: x]"));
        assert!(!subject_is_reply("[list] x") && !subject_is_reply("Rex: y"));
    }
}
