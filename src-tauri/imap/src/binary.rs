//! BINARY (RFC 3516): a part's content with its Content-Transfer-Encoding undone, for
//! FETCH BINARY[…] and BINARY.SIZE[…]; and binary messages given by APPEND (`~{n}`), whose
//! binary parts are stored as base64 so that BODY[…] never carries raw NULs.

use std::ops::Range;

use base64::Engine as _;

use crate::mime::{self, Part};

/// What a BINARY section holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Content {
    /// The decoded bytes.
    Bytes(Vec<u8>),
    /// The part has an encoding we cannot undo (`UNKNOWN-CTE`): its name.
    UnknownEncoding(String),
}

/// The content of the part `numbers` names (empty: the whole message, as it is); `None`
/// when there is no such part. A multipart or an attached message is given as it is.
pub fn content(raw: &[u8], root: &Part, numbers: &[u32]) -> Option<Content> {
    if numbers.is_empty() {
        return Some(Content::Bytes(raw.to_vec()));
    }
    let part = mime::locate(root, numbers)?;
    let body = &raw[part.body.clone()];
    if part.media.0 == "multipart" || part.message.is_some() {
        return Some(Content::Bytes(body.to_vec()));
    }
    Some(match encoding(raw, part).as_str() {
        "" | "7bit" | "8bit" | "binary" => Content::Bytes(body.to_vec()),
        "base64" => Content::Bytes(decode_base64(body)),
        "quoted-printable" => Content::Bytes(decode_quoted_printable(body)),
        other => Content::UnknownEncoding(other.to_string()),
    })
}

/// A part's Content-Transfer-Encoding, lower-cased ("" when it has none).
fn encoding(raw: &[u8], part: &Part) -> String {
    let fields = mime::fields(&raw[part.header.clone()]);
    mime::field_value(&fields, "Content-Transfer-Encoding").unwrap_or_default().trim().to_ascii_lowercase()
}

/// Base64 as mail has it: line breaks and stray characters skipped, padding optional.
fn decode_base64(body: &[u8]) -> Vec<u8> {
    let mut clean: Vec<u8> =
        body.iter().copied().filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/').collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(&clean).unwrap_or_default()
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` decoded, a trailing `=` (white space after it
/// allowed) joins lines, white space before a hard line break dropped; a malformed `=` is
/// kept as it is.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let (content, eol): (&[u8], &[u8]) = match line {
            [c @ .., b'\r', b'\n'] => (c, b"\r\n"),
            [c @ .., b'\n'] => (c, b"\n"),
            c => (c, b""),
        };
        let end = content.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |p| p + 1);
        let content = &content[..end];
        let (content, soft) = match content.strip_suffix(b"=") {
            Some(c) => (c, true),
            None => (content, false),
        };
        let mut i = 0;
        while i < content.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if content[i] == b'='
                && let (Some(h), Some(l)) =
                    (content.get(i + 1).and_then(|&b| hex(b)), content.get(i + 2).and_then(|&b| hex(b)))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
            } else {
                out.push(content[i]);
                i += 1;
            }
        }
        if !soft {
            out.extend_from_slice(eol);
        }
    }
    out
}

/// A message given as binary: every leaf part declared `binary` or holding a NUL is
/// re-encoded as base64 (and its header says so); the rest is kept byte for byte.
pub fn to_seven_bit(raw: &[u8]) -> Vec<u8> {
    let root = mime::parse(raw);
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut stack: Vec<&Part> = vec![&root];
    while let Some(part) = stack.pop() {
        if let Some(inner) = &part.message {
            stack.push(inner);
            continue;
        }
        if part.media.0 == "multipart" && !part.parts.is_empty() {
            stack.extend(part.parts.iter());
            continue;
        }
        let body = &raw[part.body.clone()];
        if encoding(raw, part) != "binary" && !body.contains(&0) {
            continue;
        }
        let header = &raw[part.header.clone()];
        let field = mime::fields(header).into_iter().find(|f| f.name.eq_ignore_ascii_case("Content-Transfer-Encoding"));
        match field {
            Some(f) => {
                let start = part.header.start + (f.value.as_ptr() as usize - header.as_ptr() as usize);
                edits.push((start..start + f.value.len(), b" base64\r\n".to_vec()));
            }
            None => edits.push((part.header.end..part.header.end, b"Content-Transfer-Encoding: base64\r\n".to_vec())),
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(body);
        let mut lines: Vec<u8> = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
        for (i, chunk) in encoded.as_bytes().chunks(76).enumerate() {
            if i > 0 {
                lines.extend_from_slice(b"\r\n");
            }
            lines.extend_from_slice(chunk);
        }
        if part.body.end == raw.len() {
            lines.extend_from_slice(b"\r\n");
        }
        edits.push((part.body.clone(), lines));
    }
    if edits.is_empty() {
        return raw.to_vec();
    }
    edits.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = Vec::with_capacity(raw.len() * 4 / 3 + 64);
    let mut at = 0;
    for (range, text) in edits {
        out.extend_from_slice(&raw[at..range.start]);
        out.extend_from_slice(&text);
        at = range.end;
    }
    out.extend_from_slice(&raw[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_follows_rfc_2045() {
        let qp = b"hello  \r\nbar=\r\n\r\nfoo\t=\r\nbar\r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar\r\nfoo =\r\n=62\r\nfoo  \r\nbar=\r\n\r\nfoo_bar\r\n";
        assert_eq!(
            decode_quoted_printable(qp),
            b"hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"
        );
        assert_eq!(decode_quoted_printable(b"a=3Db =ZZ=4"), b"a=b =ZZ=4");
    }

    #[test]
    fn base64_skips_line_breaks_and_missing_padding() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8g\r\nd29y bGQ"), b"hello world");
        assert_eq!(decode_base64(b"aGVsbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"!!!"), b"");
    }

    #[test]
    fn sections_decode_their_parts() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAGFi\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nzz\r\n--b--\r\n";
        let root = mime::parse(raw);
        assert_eq!(content(raw, &root, &[1]), Some(Content::Bytes(b"\0ab".to_vec())));
        assert_eq!(content(raw, &root, &[2]), Some(Content::UnknownEncoding("x-uuencode".into())));
        assert_eq!(content(raw, &root, &[3]), None);
        assert_eq!(content(raw, &root, &[]), Some(Content::Bytes(raw.to_vec())));
    }

    #[test]
    fn binary_parts_are_stored_as_base64() {
        let raw = b"Subject: x\r\nContent-Transfer-Encoding: binary\r\n\r\n\0-\xe4\n\r\n\n";
        let stored = to_seven_bit(raw);
        assert_eq!(stored, b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==\r\n");
        let root = mime::parse(&stored);
        assert_eq!(content(&stored, &root, &[1]), Some(Content::Bytes(b"\0-\xe4\n\r\n\n".to_vec())));

        let multi = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\na\0b\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n";
        let stored = to_seven_bit(multi);
        assert_eq!(
            stored,
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBi\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n"
        );
        let plain = b"Subject: y\r\n\r\nhello\r\n";
        assert_eq!(to_seven_bit(plain), plain);
    }
}
