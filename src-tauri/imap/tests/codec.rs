//! Every response the server sends in a full client session parses with an independent
//! IMAP implementation (imap-codec), so a grammar slip in a reply (a bad literal, an
//! unbalanced list, a wrong response code) fails here even where our own clients are lenient.

use std::sync::Arc;

use imap_codec::ResponseCodec;
use imap_codec::decode::{Decoder, ResponseDecodeError};
use imap_codec::imap_types::response::{Response, Status, StatusKind};
use postdesk_contract::Backend;
use postdesk_contract::api::{CreateAccount, CreateDomain, Password};
use postdesk_engine::Engine;
use postdesk_imap::{ImapListener, ImapOptions, ImapService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ANN: &str = "ann@example.com";
const PASSWORD: &str = "Correct horse 1";

const MIXED: &[u8] = b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>, \"Doe, Jane\" <jane@example.org>\r\nTo: Team: ann@example.com, bob@example.com;\r\nSubject: =?utf-8?b?R3LDvMOfZQ==?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"a \\\"b\\\".pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n";

async fn session(commands: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    let account =
        CreateAccount { address: ANN.into(), password: Some(Password(PASSWORD.into())), ..Default::default() };
    b.create_account(account).await.unwrap();
    engine.deliver(ANN, MIXED).await.unwrap();
    engine.deliver(ANN, b"Subject: plain\r\n\r\nplain body\r\n").await.unwrap();

    let identity = postdesk_tls::Identity::self_signed(&["localhost".into()]).unwrap();
    let service = ImapService::new(Arc::new(engine.clone()), Some(&identity), ImapOptions::default()).unwrap();
    let addr = service.listen(ImapListener::Imaps, "127.0.0.1:0".parse().unwrap()).await.unwrap();

    let mut roots = rustls::RootCertStore::empty();
    for cert in identity.certificates().unwrap() {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector.connect("localhost".try_into().unwrap(), tcp).await.unwrap();

    let mut transcript = Vec::new();
    read_until(&mut tls, &mut transcript, b"\r\n").await;
    for (i, command) in commands.iter().enumerate() {
        let tag = format!("t{i}");
        tls.write_all(format!("{tag} {command}\r\n").as_bytes()).await.unwrap();
        let end = format!("{tag} ");
        read_until_tagged(&mut tls, &mut transcript, end.as_bytes()).await;
    }
    service.shutdown(std::time::Duration::from_secs(2)).await;
    transcript
}

async fn read_until<S: AsyncReadExt + Unpin>(s: &mut S, out: &mut Vec<u8>, end: &[u8]) {
    let mut buf = [0u8; 4096];
    while !out.ends_with(end) {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection:\n{}", String::from_utf8_lossy(out));
        out.extend_from_slice(&buf[..n]);
    }
}

/// Reads until a line starting with `tag` has ended.
async fn read_until_tagged<S: AsyncReadExt + Unpin>(s: &mut S, out: &mut Vec<u8>, tag: &[u8]) {
    let start = out.len();
    let mut buf = [0u8; 4096];
    loop {
        let chunk = &out[start..];
        let line_start = if chunk.starts_with(tag) {
            Some(0)
        } else {
            chunk.windows(tag.len() + 2).position(|w| w.starts_with(b"\r\n") && &w[2..] == tag).map(|p| p + 2)
        };
        if line_start.is_some_and(|p| chunk[p..].ends_with(b"\r\n")) {
            return;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection:\n{}", String::from_utf8_lossy(out));
        out.extend_from_slice(&buf[..n]);
    }
}

/// Decodes every response of a transcript (ESEARCH lines skipped); returns the tagged
/// statuses in order.
fn decode_all(transcript: &[u8]) -> Vec<(String, StatusKind, String)> {
    let codec = ResponseCodec::default();
    let mut rest = transcript;
    let mut tagged = Vec::new();
    while !rest.is_empty() {
        // imap-codec has no ESEARCH (RFC 4731): those lines are checked by text below.
        if rest.starts_with(b"* ESEARCH ") {
            let end = rest.windows(2).position(|w| w == b"\r\n").expect("a line") + 2;
            rest = &rest[end..];
            continue;
        }
        match codec.decode(rest) {
            Ok((remaining, response)) => {
                if let Response::Status(Status::Tagged(t)) = &response {
                    tagged.push((t.tag.inner().to_string(), t.body.kind, t.body.text.inner().to_string()));
                }
                rest = remaining;
            }
            Err(e) => {
                let shown = String::from_utf8_lossy(&rest[..rest.len().min(400)]);
                let err = match e {
                    ResponseDecodeError::Incomplete => "incomplete",
                    ResponseDecodeError::LiteralFound { .. } => "literal cut",
                    ResponseDecodeError::Failed => "does not parse",
                };
                panic!("a response {err}:\n{shown}");
            }
        }
    }
    tagged
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_of_a_client_session_parses_with_imap_codec() {
    let commands = [
        "CAPABILITY",
        "ID (\"name\" \"test\")",
        &format!("LOGIN {ANN} \"{PASSWORD}\""),
        "ENABLE CONDSTORE",
        "NAMESPACE",
        "LIST \"\" \"*\"",
        "LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))",
        "LSUB \"\" \"*\"",
        "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)",
        "GETQUOTAROOT INBOX",
        "SELECT INBOX",
        "FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE MODSEQ)",
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS (From Subject)] BODY.PEEK[1.1] BODY.PEEK[2.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[]<0.20>)",
        "FETCH 1 (RFC822.HEADER RFC822.TEXT)",
        "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])",
        "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
        "SEARCH CHARSET UTF-8 SUBJECT grüße",
        "UID SEARCH RETURN (MIN MAX COUNT ALL) ALL",
        "SORT (REVERSE DATE) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
        "UID THREAD ORDEREDSUBJECT US-ASCII ALL",
        "STORE 1 +FLAGS ($Work \\Flagged)",
        "UID STORE 2 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)",
        "CREATE Archive/2026",
        "UID COPY 1 Archive/2026",
        "UID MOVE 2 Archive/2026",
        "APPEND Drafts (\\Draft) {5+}\r\nhello",
        "NOOP",
        "UID EXPUNGE 1",
        "EXAMINE Archive/2026",
        "FETCH 1:* (FLAGS BODY[TEXT])",
        "UNSELECT",
        "RENAME Archive/2026 Archive/Old",
        "SUBSCRIBE Archive/Old",
        "LIST (SUBSCRIBED) \"\" \"*\" RETURN (CHILDREN)",
        "DELETE Archive/Old",
        "FROB",
        "LOGOUT",
    ];
    let transcript = session(&commands).await;
    let tagged = decode_all(&transcript);
    assert_eq!(
        tagged.len(),
        commands.len(),
        "one tagged status per command:\n{}",
        String::from_utf8_lossy(&transcript)
    );
    for (i, (tag, kind, text)) in tagged.iter().enumerate() {
        assert_eq!(tag, &format!("t{i}"));
        let expected = if commands[i] == "FROB" { StatusKind::Bad } else { StatusKind::Ok };
        assert_eq!(*kind, expected, "{}: {text}", commands[i]);
    }
    let text = String::from_utf8_lossy(&transcript);
    for needle in [
        "[APPENDUID ",
        "[COPYUID ",
        "\"MIXED\"",
        "(\"Doe, Jane\" NIL \"jane\" \"example.org\")",
        "ESEARCH (TAG \"t17\") UID MIN 1 MAX 2 COUNT 2 ALL 1:2",
        "* QUOTAROOT INBOX \"\"",
        "* THREAD (",
        "BINARY.SIZE[1] ",
    ] {
        assert!(text.contains(needle), "no {needle} in:\n{text}");
    }
}
