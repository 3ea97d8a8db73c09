//! Disclaimers appended to the body of the mail our users send, before it is stored or
//! queued (so before DKIM signing, which the outbound workers do as a message leaves).
//!
//! The message is parsed with mail-parser; only the body text parts are rewritten, the
//! rest of the bytes stay as they were:
//! * a single `text/plain` or `text/html` message: that part;
//! * `multipart/alternative`: its `text/plain` and its `text/html` alternatives (each of
//!   them, also when nested in `multipart/related`);
//! * `multipart/mixed` (or `related`, or any other multipart): its first part, looked into
//!   the same way; the other parts are attachments and are never touched, nor is a part
//!   with `Content-Disposition: attachment`.
//!
//! A body part is decoded (quoted-printable or base64, its charset to UTF-8), the
//! disclaimer appended (plain text at the end, HTML before `</body>`), and re-encoded:
//! base64 stays base64, anything else becomes quoted-printable, `charset=utf-8`
//! (`format`/`delsp` kept). Signed or encrypted mail (`multipart/signed`,
//! `application/pkcs7-mime`) is left untouched — rewriting it would break the signature.
//! A stamped message carries [`DISCLAIMER_HEADER`], and a message that has one is not
//! stamped again.

use base64::Engine as _;
use mail_parser::{Encoding, MessageParser, MimeHeaders, PartType};
use postdesk_contract::rules::{DISCLAIMER_HEADER, DisclaimerRule};

/// Largest decoded body part a disclaimer is appended to (a bigger one is left as it is).
pub const MAX_PART: usize = 8 * 1024 * 1024;
/// Deepest multipart nesting looked into for the body.
const MAX_DEPTH: usize = 8;

/// What became of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Stamped {
    /// The disclaimer was appended: the new message.
    Applied(Vec<u8>),
    /// Signed or encrypted: left untouched.
    Signed,
    /// It carries the mark of an earlier pass.
    Already,
    /// No body text part (or one too big, or not parseable): left as it is.
    NoBody,
}

/// The header block of `raw` (up to the first empty line).
fn header_block(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1))
        .unwrap_or(raw.len());
    &raw[..end]
}

/// Whether the top-level header has field `name`.
fn has_field(raw: &[u8], name: &str) -> bool {
    header_block(raw).split(|b| *b == b'\n').any(|line| {
        line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && line[name.len()..].trim_ascii_start().first() == Some(&b':')
    })
}

/// Appends `rule`'s disclaimer to `raw`; see the module's description.
pub fn stamp(raw: &[u8], rule: &DisclaimerRule) -> Stamped {
    if has_field(raw, DISCLAIMER_HEADER) {
        return Stamped::Already;
    }
    let Some(message) = MessageParser::new().parse(raw) else { return Stamped::NoBody };
    let kind = |i: usize| {
        let part = &message.parts[i];
        let ct = part.content_type();
        let ctype = ct.map_or("text".to_string(), |c| c.ctype().to_ascii_lowercase());
        let sub = ct.and_then(|c| c.subtype()).map_or("plain".to_string(), str::to_ascii_lowercase);
        (ctype, sub)
    };
    for i in 0..message.parts.len() {
        let (ctype, sub) = kind(i);
        if (ctype == "multipart" && (sub == "signed" || sub == "encrypted"))
            || (ctype == "application" && (sub == "pkcs7-mime" || sub == "x-pkcs7-mime" || sub == "pgp-encrypted"))
        {
            return Stamped::Signed;
        }
    }
    // The body parts, found from the root.
    let mut targets = Vec::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        let Some(part) = message.parts.get(i) else { continue };
        let (ctype, sub) = kind(i);
        let attachment = part.content_disposition().is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        match &part.body {
            PartType::Multipart(children) if depth < MAX_DEPTH => {
                if sub == "alternative" {
                    stack.extend(children.iter().map(|c| (*c as usize, depth + 1)));
                } else if let Some(first) = children.first() {
                    stack.push((*first as usize, depth + 1));
                }
            }
            PartType::Text(text) | PartType::Html(text)
                if !attachment && ctype == "text" && (sub == "plain" || sub == "html") =>
            {
                if part.is_encoding_problem || text.len() > MAX_PART {
                    return Stamped::NoBody;
                }
                targets.push((i, sub == "html", text.as_ref()));
            }
            _ => {}
        }
    }
    if targets.is_empty() {
        return Stamped::NoBody;
    }
    // Rewrite from the last part to the first so earlier offsets stay right.
    targets.sort_by_key(|(i, _, _)| std::cmp::Reverse(message.parts[*i].offset_header));
    let mut out = raw.to_vec();
    for (i, html, text) in targets {
        let part = &message.parts[i];
        let (start, body, end) = (part.offset_header as usize, part.offset_body as usize, part.offset_end as usize);
        if start > body || body > end || end > raw.len() {
            return Stamped::NoBody;
        }
        let new_text = if html { insert_html(text, &rule.html_variant()) } else { append_text(text, &rule.text) };
        let base64 = matches!(part.encoding, Encoding::Base64);
        let mut params = Vec::new();
        if let Some(ct) = part.content_type() {
            for name in ["format", "delsp"] {
                if let Some(v) = ct.attribute(name) {
                    params.push(format!("; {name}={v}"));
                }
            }
        }
        let content_type = format!("text/{}; charset=utf-8{}", if html { "html" } else { "plain" }, params.concat());
        let mut piece = rewrite_header(
            &raw[start..body],
            &content_type,
            if base64 { "base64" } else { "quoted-printable" },
            i == 0,
        );
        piece.extend_from_slice(&if base64 { encode_base64(&new_text) } else { encode_qp(&new_text) });
        if raw[body..end].ends_with(b"\n") {
            piece.extend_from_slice(b"\r\n");
        }
        out.splice(start..end, piece);
    }
    let mut stamped = format!("{DISCLAIMER_HEADER}: {}; rule={}\r\n", rule.domain, rule.id).into_bytes();
    stamped.extend_from_slice(&out);
    Stamped::Applied(stamped)
}

/// The plain text with the disclaimer after an empty line.
fn append_text(text: &str, disclaimer: &str) -> String {
    format!("{}\n\n{}\n", text.trim_end_matches(['\r', '\n']), disclaimer.trim_end_matches(['\r', '\n']))
}

/// The HTML with the disclaimer before its last `</body>` (else `</html>`, else at the end).
fn insert_html(html: &str, disclaimer: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let at = lower.rfind("</body").or_else(|| lower.rfind("</html")).unwrap_or(html.len());
    format!("{}{}\n{}", &html[..at], disclaimer, &html[at..])
}

/// A part's header with its `Content-Type` and `Content-Transfer-Encoding` replaced (and a
/// `MIME-Version` added to a top-level header without one); ends with the empty line.
fn rewrite_header(header: &[u8], content_type: &str, encoding: &str, top: bool) -> Vec<u8> {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in header.split_inclusive(|b| *b == b'\n') {
        let bare = line.trim_ascii_end();
        if bare.is_empty() {
            continue;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(last) = fields.last_mut() {
                last.extend_from_slice(bare);
                last.extend_from_slice(b"\r\n");
            }
            continue;
        }
        let mut field = bare.to_vec();
        field.extend_from_slice(b"\r\n");
        fields.push(field);
    }
    let named = |f: &[u8], name: &str| {
        f.len() > name.len()
            && f[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && f[name.len()..].trim_ascii_start().first() == Some(&b':')
    };
    let has_version = fields.iter().any(|f| named(f, "MIME-Version"));
    let mut out: Vec<u8> = fields
        .into_iter()
        .filter(|f| !named(f, "Content-Type") && !named(f, "Content-Transfer-Encoding"))
        .flatten()
        .collect();
    if top && !has_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(
        format!("Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n").as_bytes(),
    );
    out
}

/// Lines of `text` with CRLF line breaks.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n")
}

/// Base64 in lines of 76 characters (no line break after the last).
fn encode_base64(text: &str) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(crlf(text));
    encoded.as_bytes().chunks(76).collect::<Vec<_>>().join(&b"\r\n"[..])
}

/// Quoted-printable (RFC 2045 6.7): hard line breaks as CRLF, soft breaks before 76
/// characters, trailing white space and `=` and non-ASCII encoded; no line break after
/// the last line.
fn encode_qp(text: &str) -> Vec<u8> {
    let normal = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Vec::with_capacity(normal.len() + normal.len() / 8);
    for (n, line) in normal.split('\n').enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let bytes = line.as_bytes();
        let mut width = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal = (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let piece: Vec<u8> = if literal { vec![b] } else { format!("={b:02X}").into_bytes() };
            // Room for the piece and a soft break's '=' on this line.
            if width + piece.len() > 75 {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            width += piece.len();
            out.extend_from_slice(&piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use postdesk_contract::rules::DisclaimerScope;

    fn rule() -> DisclaimerRule {
        DisclaimerRule {
            id: 7,
            domain: "example.com".into(),
            position: 1,
            name: "legal".into(),
            scope: DisclaimerScope::Any,
            sender: None,
            recipient: None,
            department: None,
            except_sender: None,
            except_recipient: None,
            except_department: None,
            text: "Vertraulich – confidential.".into(),
            html: Some("<p class=\"disclaimer\">Vertraulich &ndash; <b>confidential</b>.</p>".into()),
        }
    }

    fn applied(raw: &str) -> Vec<u8> {
        match stamp(raw.as_bytes(), &rule()) {
            Stamped::Applied(out) => out,
            other => panic!("not applied: {other:?}"),
        }
    }

    #[test]
    fn quoted_printable_decodes_back_and_keeps_lines_short() {
        let text = format!("{}\nline with trailing space \n= sign and ünïcode\n", "x".repeat(200));
        let encoded = encode_qp(&text);
        assert!(encoded.split(|b| *b == b'\n').all(|l| l.len() <= 77), "{}", String::from_utf8_lossy(&encoded));
        let message = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
            String::from_utf8(encoded).unwrap()
        );
        let parsed = MessageParser::new().parse(message.as_bytes()).unwrap();
        assert_eq!(parsed.body_text(0).unwrap(), text.replace('\n', "\r\n"));
    }

    #[test]
    fn a_latin1_quoted_printable_part_becomes_utf8_with_the_disclaimer() {
        let raw = "From: ann@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n";
        let out = applied(raw);
        let parsed = MessageParser::new().parse(&out).unwrap();
        assert_eq!(parsed.body_text(0).unwrap().trim_end(), "Grüße\r\n\r\nVertraulich – confidential.");
        assert_eq!(parsed.subject(), Some("x"));
        let again = stamp(&out, &rule());
        assert_eq!(again, Stamped::Already);
    }

    #[test]
    fn a_signed_message_is_left_alone() {
        let raw = "From: ann@example.com\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; \
                   boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: \
                   application/pkcs7-signature\r\n\r\nAAAA\r\n--b--\r\n";
        assert_eq!(stamp(raw.as_bytes(), &rule()), Stamped::Signed);
        let smime =
            "From: ann@example.com\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nAAAA\r\n";
        assert_eq!(stamp(smime.as_bytes(), &rule()), Stamped::Signed);
    }

    #[test]
    fn only_the_body_of_a_mixed_message_changes_and_the_attachment_keeps_its_bytes() {
        let attachment = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K";
        let raw = format!(
            "From: ann@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n\
             --a\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n\
             --a\r\nContent-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --a--\r\n\r\n--m\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; \
             filename=\"notes.txt\"\r\n\r\nnot to be touched\r\n\
             --m\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--m--\r\n",
            base64::engine::general_purpose::STANDARD.encode("<html><body><p>Hello.</p></body></html>")
        );
        let out = applied(&raw);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains(&format!("\r\n\r\n{attachment}\r\n--m--")), "{text}");
        assert!(text.contains("\r\n\r\nnot to be touched\r\n--m\r\n"), "{text}");
        let parsed = MessageParser::new().parse(&out).unwrap();
        assert_eq!(parsed.body_text(0).unwrap().matches("confidential").count(), 1);
        let html = parsed.body_html(0).unwrap();
        assert!(html.contains("<b>confidential</b>.</p>\r\n</body>"), "{html}");
        assert_eq!(parsed.attachments().count(), 2);
        let notes = parsed.attachments().next().unwrap();
        assert_eq!(notes.contents(), b"not to be touched");
    }
}
