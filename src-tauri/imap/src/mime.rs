//! The MIME structure of a stored message as IMAP reports it: ENVELOPE, BODY and
//! BODYSTRUCTURE (RFC 9051 §7.5.2), and the bytes of a body section (`BODY[1.2.MIME]`).
//!
//! Parsed here on the raw bytes, because IMAP reports raw values (encoded words and
//! parameters as sent) and byte ranges of the original; decoding (for SEARCH) is
//! `mail-parser`'s. Nesting is bounded ([`MAX_DEPTH`]) and so is the number of parts
//! ([`MAX_PARTS`]); deeper or further parts are reported as opaque bodies.

use crate::encode::{nstring, string};

/// How deep multiparts and attached messages are followed.
pub const MAX_DEPTH: usize = 20;

/// How many parts of one message are told apart.
pub const MAX_PARTS: usize = 1000;

/// One header field: its name, and its raw value (unfolded by the reader where needed).
#[derive(Debug, Clone)]
pub struct Field<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value's raw bytes (after the colon, line breaks kept).
    pub value: &'a [u8],
}

/// A part: its header and body byte ranges in the message, its content type, and its
/// children (a multipart's parts, or the attached message of a message/rfc822).
#[derive(Debug, Clone)]
pub struct Part {
    /// The header block, without the blank line after it.
    pub header: std::ops::Range<usize>,
    /// The body.
    pub body: std::ops::Range<usize>,
    /// Lower-case media type and subtype.
    pub media: (String, String),
    /// The content-type parameters, as sent (names lower-cased).
    pub params: Vec<(String, String)>,
    /// A multipart's parts.
    pub parts: Vec<Part>,
    /// A message/rfc822's message (its header and body, and its own parts).
    pub message: Option<Box<Part>>,
}

/// Splits a header block into fields (a continuation line belongs to the field above).
pub fn fields(header: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut current: Option<(usize, usize)> = None; // (name end, value start)
    fn flush<'h>(header: &'h [u8], out: &mut Vec<Field<'h>>, start: usize, end: usize, cur: Option<(usize, usize)>) {
        if let Some((name_end, value_start)) = cur
            && let Ok(name) = std::str::from_utf8(&header[start..name_end])
        {
            out.push(Field { name: name.trim(), value: &header[value_start..end] });
        }
    }
    while i < header.len() {
        let line_end = header[i..].iter().position(|&b| b == b'\n').map_or(header.len(), |p| i + p + 1);
        let first = header[i];
        if i > 0 && (first == b' ' || first == b'\t') {
            i = line_end;
            continue;
        }
        flush(header, &mut out, start, i, current);
        start = i;
        current = header[i..line_end].iter().position(|&b| b == b':').map(|p| (i + p, i + p + 1));
        i = line_end;
        if out.len() > 10_000 {
            break;
        }
    }
    flush(header, &mut out, start, header.len(), current);
    out
}

/// The value of the first field `name` (case-insensitive), unfolded, trimmed.
pub fn field_value(fields: &[Field<'_>], name: &str) -> Option<String> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| unfold(f.value))
}

/// A raw value with its line breaks removed and its ends trimmed.
pub fn unfold(value: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(value).chars().filter(|&c| c != '\r' && c != '\n').collect();
    text.trim().to_string()
}

/// Where the header ends: (end of the header block, start of the body).
pub fn split_header(raw: &[u8]) -> (usize, usize) {
    let mut i = 0;
    loop {
        if i >= raw.len() {
            return (raw.len(), raw.len());
        }
        if raw[i..].starts_with(b"\r\n") {
            return (i, i + 2);
        }
        if raw[i] == b'\n' {
            return (i, i + 1);
        }
        match raw[i..].iter().position(|&b| b == b'\n') {
            Some(p) => i += p + 1,
            None => return (raw.len(), raw.len()),
        }
    }
}

/// Parses the structure of the message (or part) at `range` of `raw`.
pub fn parse(raw: &[u8]) -> Part {
    let mut budget = MAX_PARTS;
    parse_part(raw, 0..raw.len(), ("text".into(), "plain".into()), 0, &mut budget)
}

fn parse_part(
    raw: &[u8],
    range: std::ops::Range<usize>,
    default: (String, String),
    depth: usize,
    budget: &mut usize,
) -> Part {
    let bytes = &raw[range.clone()];
    let (header_end, body_start) = split_header(bytes);
    let header = range.start..range.start + header_end;
    let body = range.start + body_start..range.end;
    let f = fields(&raw[header.clone()]);
    let (media, params) = match field_value(&f, "Content-Type") {
        Some(ct) => content_type(&ct).unwrap_or(("text".into(), "plain".into(), Vec::new())),
        None => (default.0, default.1, Vec::new()),
    }
    .into_parts();
    let mut part = Part { header, body: body.clone(), media, params, parts: Vec::new(), message: None };
    *budget = budget.saturating_sub(1);
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    if part.media.0 == "multipart" {
        let Some(boundary) = part.params.iter().find(|(k, _)| k == "boundary").map(|(_, v)| v.clone()) else {
            return part;
        };
        let child_default = if part.media.1 == "digest" {
            ("message".into(), "rfc822".into())
        } else {
            ("text".into(), "plain".into())
        };
        for child in split_multipart(raw, body, boundary.as_bytes()) {
            if *budget == 0 {
                break;
            }
            part.parts.push(parse_part(raw, child, child_default.clone(), depth + 1, budget));
        }
    } else if part.media == ("message".to_string(), "rfc822".to_string())
        || part.media.1 == "global" && part.media.0 == "message"
    {
        let inner = parse_part(raw, body, ("text".into(), "plain".into()), depth + 1, budget);
        part.message = Some(Box::new(inner));
    }
    part
}

trait IntoParts {
    fn into_parts(self) -> ((String, String), Vec<(String, String)>);
}

impl IntoParts for ContentType {
    fn into_parts(self) -> ((String, String), Vec<(String, String)>) {
        ((self.0, self.1), self.2)
    }
}

/// The byte ranges of a multipart's parts (between the delimiter lines; the line break
/// before a delimiter belongs to the delimiter).
fn split_multipart(raw: &[u8], body: std::ops::Range<usize>, boundary: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = body.start;
    while i < body.end {
        let line_end = raw[i..body.end].iter().position(|&b| b == b'\n').map_or(body.end, |p| i + p + 1);
        let line = &raw[i..line_end];
        if line.len() >= 2 + boundary.len() && line.starts_with(b"--") && line[2..].starts_with(boundary) {
            let rest = &line[2 + boundary.len()..];
            let closing = rest.starts_with(b"--");
            if rest.iter().skip(if closing { 2 } else { 0 }).all(|b| b.is_ascii_whitespace()) {
                if let Some(s) = start {
                    // The CRLF before the delimiter is part of the delimiter.
                    let mut end = i;
                    if end > s && raw[end - 1] == b'\n' {
                        end -= 1;
                        if end > s && raw[end - 1] == b'\r' {
                            end -= 1;
                        }
                    }
                    parts.push(s..end.max(s));
                }
                if closing {
                    return parts;
                }
                start = Some(line_end);
            }
        }
        i = line_end;
    }
    if let Some(s) = start {
        parts.push(s..body.end);
    }
    parts
}

/// `type/subtype; name=value; …` — lower-case type and subtype, parameters as sent
/// (quotes removed, names lower-cased).
/// A media type, subtype and parameters.
type ContentType = (String, String, Vec<(String, String)>);

fn content_type(value: &str) -> Option<ContentType> {
    let (media, params) = match value.split_once(';') {
        Some((m, p)) => (m, p),
        None => (value, ""),
    };
    let (t, s) = media.trim().split_once('/')?;
    let (t, s) = (t.trim().to_ascii_lowercase(), s.trim().to_ascii_lowercase());
    if t.is_empty() || s.is_empty() || t.contains(char::is_whitespace) {
        return None;
    }
    Some((t, s, parameters(params)))
}

/// `; name=value; name="quoted value"` as (lower-case name, value).
pub fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && out.len() < 100 {
        while i < bytes.len() && (bytes[i] == b';' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b';' {
            i += 1;
        }
        let name = text[name_start..i].trim().to_ascii_lowercase();
        if i >= bytes.len() || bytes[i] != b'=' {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let mut v = Vec::new();
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                v.push(bytes[i]);
                i += 1;
            }
            i += 1;
            String::from_utf8_lossy(&v).into_owned()
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b';' {
                i += 1;
            }
            text[start..i].trim().to_string()
        };
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

fn count_lines(bytes: &[u8]) -> usize {
    let n = bytes.iter().filter(|&&b| b == b'\n').count();
    if bytes.last().is_some_and(|&b| b != b'\n') { n + 1 } else { n }
}

fn param_list(params: &[(String, String)]) -> String {
    if params.is_empty() {
        return "NIL".into();
    }
    let items: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{} {}", string(k.to_ascii_uppercase().as_bytes()), string(v.as_bytes())))
        .collect();
    format!("({})", items.join(" "))
}

fn nfield(f: &[Field<'_>], name: &str) -> String {
    nstring(field_value(f, name).as_deref().map(str::as_bytes))
}

/// `Content-Disposition` as `("attachment" ("FILENAME" "x"))` or NIL.
fn disposition(f: &[Field<'_>]) -> String {
    let Some(value) = field_value(f, "Content-Disposition") else { return "NIL".into() };
    let (kind, params) = value.split_once(';').unwrap_or((&value, ""));
    format!("({} {})", string(kind.trim().to_ascii_uppercase().as_bytes()), param_list(&parameters(params)))
}

fn language(f: &[Field<'_>]) -> String {
    match field_value(f, "Content-Language") {
        None => "NIL".into(),
        Some(v) => {
            let tags: Vec<String> =
                v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| string(t.as_bytes())).collect();
            match tags.len() {
                0 => "NIL".into(),
                1 => tags[0].clone(),
                _ => format!("({})", tags.join(" ")),
            }
        }
    }
}

/// BODY (`extended` = false) or BODYSTRUCTURE (`extended` = true) of a part.
pub fn body_structure(raw: &[u8], part: &Part, extended: bool) -> String {
    let f = fields(&raw[part.header.clone()]);
    if part.media.0 == "multipart" && !part.parts.is_empty() {
        let mut out = String::from("(");
        for child in &part.parts {
            out.push_str(&body_structure(raw, child, extended));
        }
        out.push(' ');
        out.push_str(&string(part.media.1.to_ascii_uppercase().as_bytes()));
        if extended {
            out.push_str(&format!(
                " {} {} {} {}",
                param_list(&part.params),
                disposition(&f),
                language(&f),
                nfield(&f, "Content-Location")
            ));
        }
        out.push(')');
        return out;
    }
    let (t, s) =
        if part.media.0 == "multipart" { ("text".to_string(), "plain".to_string()) } else { part.media.clone() };
    let mut params = part.params.clone();
    if t == "text" && !params.iter().any(|(k, _)| k == "charset") && part.media.0 != "multipart" {
        params.push(("charset".into(), "us-ascii".into()));
    }
    let encoding =
        field_value(&f, "Content-Transfer-Encoding").map(|e| e.to_ascii_uppercase()).unwrap_or_else(|| "7BIT".into());
    let body = &raw[part.body.clone()];
    let mut out = format!(
        "({} {} {} {} {} {} {}",
        string(t.to_ascii_uppercase().as_bytes()),
        string(s.to_ascii_uppercase().as_bytes()),
        param_list(&params),
        nfield(&f, "Content-ID"),
        nfield(&f, "Content-Description"),
        string(encoding.as_bytes()),
        body.len()
    );
    if let Some(message) = &part.message {
        out.push_str(&format!(
            " {} {} {}",
            envelope(raw, message),
            body_structure(raw, message, extended),
            count_lines(body)
        ));
    } else if t == "text" {
        out.push_str(&format!(" {}", count_lines(body)));
    }
    if extended {
        out.push_str(&format!(
            " {} {} {} {}",
            nfield(&f, "Content-MD5"),
            disposition(&f),
            language(&f),
            nfield(&f, "Content-Location")
        ));
    }
    out.push(')');
    out
}

/// The ENVELOPE of a message (its header fields as sent).
pub fn envelope(raw: &[u8], message: &Part) -> String {
    let f = fields(&raw[message.header.clone()]);
    let from = addresses(&f, "From");
    let sender = addresses(&f, "Sender");
    let reply_to = addresses(&f, "Reply-To");
    let sender = if sender == "NIL" { from.clone() } else { sender };
    let reply_to = if reply_to == "NIL" { from.clone() } else { reply_to };
    format!(
        "({} {} {} {} {} {} {} {} {} {})",
        nfield(&f, "Date"),
        nfield(&f, "Subject"),
        from,
        sender,
        reply_to,
        addresses(&f, "To"),
        addresses(&f, "Cc"),
        addresses(&f, "Bcc"),
        nfield(&f, "In-Reply-To"),
        nfield(&f, "Message-ID")
    )
}

fn addresses(f: &[Field<'_>], name: &str) -> String {
    let Some(value) = field_value(f, name) else { return "NIL".into() };
    let list = crate::address::parse_list(&value);
    if list.is_empty() {
        return "NIL".into();
    }
    let mut out = String::from("(");
    for a in list {
        out.push_str(&format!(
            "({} {} {} {})",
            nstring(a.name.as_deref().map(str::as_bytes)),
            nstring(a.adl.as_deref().map(str::as_bytes)),
            nstring(a.mailbox.as_deref().map(str::as_bytes)),
            nstring(a.host.as_deref().map(str::as_bytes))
        ));
    }
    out.push(')');
    out
}

/// The part a section's part numbers name (`1.2`): a multipart's child, or inside an
/// attached message its body's parts. `None` when there is no such part.
pub fn locate<'p>(root: &'p Part, numbers: &[u32]) -> Option<&'p Part> {
    let mut part = root;
    for (i, &n) in numbers.iter().enumerate() {
        // Inside a message/rfc822, numbers address the attached message's parts.
        let container = if i > 0 { part.message.as_deref().unwrap_or(part) } else { part };
        part = if container.media.0 == "multipart" && !container.parts.is_empty() {
            container.parts.get(n as usize - 1)?
        } else if n == 1 {
            // A non-multipart has one part: itself.
            container
        } else {
            return None;
        };
    }
    Some(part)
}

/// The header block of `part` with its terminating blank line, as BODY[HEADER] returns it.
pub fn header_with_blank_line(raw: &[u8], part: &Part) -> Vec<u8> {
    let end = if part.body.start > part.header.end { part.body.start } else { part.header.end };
    let mut out = raw[part.header.start..end].to_vec();
    if part.body.start <= part.header.end {
        // No blank line in the original: IMAP still ends the header with one.
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The header fields named (or all but those named, `not`), with a blank line.
pub fn header_fields(raw: &[u8], part: &Part, names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let block = &raw[part.header.clone()];
    for f in fields(block) {
        let named = names.iter().any(|n| n.eq_ignore_ascii_case(f.name));
        if named != not {
            let start = f.name.as_ptr() as usize - block.as_ptr() as usize;
            let start = block[..start].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let end = f.value.as_ptr() as usize - block.as_ptr() as usize + f.value.len();
            out.extend_from_slice(&block[start..end]);
            if !out.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &[u8] = b"From: Ann <ann@example.com>\r\nTo: bob@example.com, \"Carl, Jr\" <carl@example.org>\r\nSubject: =?utf-8?q?Hi?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nworld\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n";

    #[test]
    fn parts_are_found_with_their_byte_ranges() {
        let root = parse(MIXED);
        assert_eq!(root.media, ("multipart".into(), "mixed".into()));
        assert_eq!(root.parts.len(), 2);
        let text = &root.parts[0];
        assert_eq!(&MIXED[text.body.clone()], b"hello\r\nworld");
        let attached = root.parts[1].message.as_ref().unwrap();
        assert_eq!(&MIXED[attached.body.clone()], b"inner body");
        assert_eq!(locate(&root, &[2, 1]).map(|p| &MIXED[p.body.clone()]), Some(&b"inner body"[..]));
        assert!(locate(&root, &[3]).is_none());
    }

    #[test]
    fn bodystructure_and_envelope_report_raw_values() {
        let root = parse(MIXED);
        let bs = body_structure(MIXED, &root, true);
        assert!(
            bs.starts_with("((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 12 2 NIL NIL NIL NIL)"),
            "{bs}"
        );
        assert!(bs.contains("\"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)"), "{bs}");
        let env = envelope(MIXED, &root);
        assert!(env.contains("\"=?utf-8?q?Hi?=\""), "{env}");
        assert!(env.contains("((\"Ann\" NIL \"ann\" \"example.com\"))"), "{env}");
        assert!(
            env.contains("((NIL NIL \"bob\" \"example.com\")(\"Carl, Jr\" NIL \"carl\" \"example.org\"))"),
            "{env}"
        );
    }

    #[test]
    fn header_fields_are_picked_with_a_blank_line() {
        let root = parse(MIXED);
        let picked = header_fields(MIXED, &root, &["subject".into(), "FROM".into()], false);
        assert_eq!(picked, b"From: Ann <ann@example.com>\r\nSubject: =?utf-8?q?Hi?=\r\n\r\n");
        let rest = header_fields(MIXED, &root, &["subject".into(), "from".into(), "to".into()], true);
        assert!(rest.starts_with(b"MIME-Version: 1.0\r\n") && rest.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut raw = Vec::new();
        for i in 0..100 {
            raw.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\nx\r\n");
        let root = parse(&raw);
        let mut depth = 0;
        let mut p = &root;
        while let Some(c) = p.parts.first() {
            depth += 1;
            p = c;
        }
        assert!(depth <= MAX_DEPTH, "{depth}");
        let _ = body_structure(&raw, &root, true);
    }
}
