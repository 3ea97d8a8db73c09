//! IMAP URLs (RFC 5092) as CATENATE (RFC 4469) and URLAUTH (RFC 4467) use them:
//! `imap://user@host/INBOX;UIDVALIDITY=5/;UID=3/;SECTION=1.2/;PARTIAL=0.100` or the
//! relative `/INBOX/;UID=3`, with URLAUTH's `;EXPIRE=` and `;URLAUTH=` at the end.

/// A parsed IMAP URL of one message (or part of one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImapUrl {
    /// The user of an absolute URL (`imap://user@host/…`), without `;AUTH=`; a name
    /// without `@` gets the host as its domain.
    pub user: Option<String>,
    /// The mailbox name (percent-decoded, UTF-8).
    pub mailbox: String,
    /// `;UIDVALIDITY=`
    pub uidvalidity: Option<u32>,
    /// `;UID=`
    pub uid: u32,
    /// `;SECTION=` (percent-decoded).
    pub section: Option<String>,
    /// `;PARTIAL=offset[.length]`
    pub partial: Option<(u32, Option<u32>)>,
    /// `;EXPIRE=` as written (an RFC 3339 time).
    pub expire: Option<String>,
    /// `;URLAUTH=access:mechanism:token`, as written.
    pub urlauth: Option<String>,
    /// The URL up to (not including) `:mechanism:token` of its URLAUTH: what the token
    /// authorises (RFC 4467 §7).
    pub rump: String,
}

impl ImapUrl {
    /// The store's name of the URL's mailbox (UTF-8 as RFC 5092 has it; INBOX in any case).
    pub fn folder(&self) -> String {
        if self.mailbox.eq_ignore_ascii_case("INBOX") { "INBOX".to_string() } else { self.mailbox.clone() }
    }
}

/// Parses an IMAP URL; `None` when it is not one of a message.
pub fn parse(url: &str) -> Option<ImapUrl> {
    let mut out = ImapUrl::default();
    let path = if url.len() >= 7 && url[..7].eq_ignore_ascii_case("imap://") {
        let rest = &url[7..];
        let slash = rest.find('/')?;
        let authority = &rest[..slash];
        if let Some((user, host)) = authority.rsplit_once('@') {
            let user = decode(user.split(';').next().unwrap_or_default())?;
            // A user name without a domain is taken at the URL's host (`imap://ann@x.test/`
            // for ann@x.test); a full address is used as it is.
            let host = host.split(':').next().unwrap_or_default();
            out.user = Some(if user.contains('@') || host.is_empty() { user } else { format!("{user}@{host}") });
        }
        &rest[slash..]
    } else {
        url
    };
    let path = path.strip_prefix('/')?;
    let at = find_ignore_case(path, "/;UID=")?;
    let mut mailbox_part = path[..at].split(';');
    out.mailbox = decode(mailbox_part.next()?)?;
    for param in mailbox_part {
        let (key, value) = param.split_once('=')?;
        if !key.eq_ignore_ascii_case("UIDVALIDITY") {
            return None;
        }
        out.uidvalidity = Some(value.parse().ok().filter(|&n: &u32| n > 0)?);
    }
    let after = &path[at + 6..];
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    out.uid = after[..digits].parse().ok().filter(|&n: &u32| n > 0)?;
    let tail = &after[digits..];
    let mut params = tail.split(';');
    if !matches!(params.next(), Some("" | "/")) {
        return None;
    }
    for param in params {
        let (key, value) = param.split_once('=')?;
        let value = value.strip_suffix('/').unwrap_or(value);
        match key.to_ascii_uppercase().as_str() {
            "SECTION" if out.section.is_none() && out.partial.is_none() => out.section = Some(decode(value)?),
            "PARTIAL" if out.partial.is_none() => {
                let (offset, length) = match value.split_once('.') {
                    Some((o, l)) => (o, Some(l.parse().ok().filter(|&n: &u32| n > 0)?)),
                    None => (value, None),
                };
                out.partial = Some((offset.parse().ok()?, length));
            }
            "EXPIRE" if out.expire.is_none() => out.expire = Some(value.to_string()),
            "URLAUTH" if out.urlauth.is_none() => out.urlauth = Some(value.to_string()),
            _ => return None,
        }
    }
    out.rump = match &out.urlauth {
        Some(auth) => {
            let access_end = auth.find(':').unwrap_or(auth.len());
            let cut = url.len() - (auth.len() - access_end);
            url[..cut].to_string()
        }
        None => url.to_string(),
    };
    Some(out)
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Percent-decoding to UTF-8.
fn decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_urls() {
        let u = parse("/INBOX;UIDVALIDITY=7/;UID=3/;SECTION=HEADER.FIELDS%20(From)/;PARTIAL=5.10").unwrap();
        assert_eq!(u.mailbox, "INBOX");
        assert_eq!(u.uidvalidity, Some(7));
        assert_eq!(u.uid, 3);
        assert_eq!(u.section.as_deref(), Some("HEADER.FIELDS (From)"));
        assert_eq!(u.partial, Some((5, Some(10))));
        let u = parse("imap://ann%40x.test;AUTH=*@mail.x.test/Sent%20Items/2026/;uid=12").unwrap();
        assert_eq!((u.user.as_deref(), u.mailbox.as_str(), u.uid), (Some("ann@x.test"), "Sent Items/2026", 12));
        assert_eq!(parse("imap://ann@x.test:993/INBOX/;UID=1").unwrap().user.as_deref(), Some("ann@x.test"));
        assert_eq!(parse("/INBOX/;UID=0"), None);
        assert_eq!(parse("/INBOX;FOO=1/;UID=2"), None);
        assert_eq!(parse("INBOX/;UID=2"), None);
        assert_eq!(parse("/INBOX/;UID=2/;SECTION=1/;SECTION=2"), None);
    }

    #[test]
    fn urlauth_rump_stops_before_the_mechanism() {
        let url = "imap://a@h/INBOX/;uid=1;expire=2030-01-01T00:00:00Z;urlauth=user+a:internal:0123abcd";
        let u = parse(url).unwrap();
        assert_eq!(u.urlauth.as_deref(), Some("user+a:internal:0123abcd"));
        assert_eq!(u.expire.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(u.rump, "imap://a@h/INBOX/;uid=1;expire=2030-01-01T00:00:00Z;urlauth=user+a");
    }
}
