//! Mail clients set themselves up: the unauthenticated autoconfiguration endpoints.
//!
//! - Thunderbird autoconfig (Mozilla ISPDB format, `clientConfig` 1.1):
//!   `GET /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=…` and
//!   `GET /mail/config-v1.1.xml?emailaddress=…` (what `autoconfig.<domain>` serves).
//! - Microsoft Autodiscover, plain old XML: `POST /autodiscover/autodiscover.xml` (and
//!   `/Autodiscover/Autodiscover.xml`) with the request's `EMailAddress`.
//! - Apple configuration profile: `GET /apple/mobileconfig?emailaddress=…` (unsigned, no
//!   password in it).
//!
//! Every answer comes from the contract's [`ClientSetupSource`] (the engine): only our
//! domains (404 otherwise), only the client services the running mail server offers, on
//! their real ports (503 when none runs). Nothing says whether an account exists. Every
//! value put into XML is escaped; request bodies are bounded ([`MAX_BODY`]), the query
//! too, and all of it together answers at most [`MAX_PER_SECOND`] requests a second.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use postdesk_contract::ErrorCode;
use postdesk_contract::api::ClientSetupSource;
use postdesk_contract::model::{ClientEndpoint, ClientSetup, Security};
use sha2::Digest;

/// Largest Autodiscover request body accepted (413 above).
pub const MAX_BODY: usize = 16 * 1024;
/// Longest query string accepted.
const MAX_QUERY: usize = 1024;
/// Requests a second over all these endpoints (429 above).
pub const MAX_PER_SECOND: u32 = 50;

/// Thunderbird's autoconfig paths.
pub const AUTOCONFIG_PATHS: [&str; 2] = ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"];
/// Autodiscover's paths (clients differ in case).
pub const AUTODISCOVER_PATHS: [&str; 2] = ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"];
/// The Apple profile's path.
pub const MOBILECONFIG_PATH: &str = "/apple/mobileconfig";

#[derive(Clone)]
struct Setup {
    source: Option<Arc<dyn ClientSetupSource>>,
    window: Arc<Mutex<(Instant, u32)>>,
}

/// The autoconfiguration routes over `source` (`None`: every one answers 404).
pub(crate) fn routes(source: Option<Arc<dyn ClientSetupSource>>) -> Router {
    let state = Setup { source, window: Arc::new(Mutex::new((Instant::now(), 0))) };
    let mut router = Router::new().route(MOBILECONFIG_PATH, get(mobileconfig));
    for path in AUTOCONFIG_PATHS {
        router = router.route(path, get(autoconfig));
    }
    for path in AUTODISCOVER_PATHS {
        router = router.route(path, post(autodiscover).layer(DefaultBodyLimit::max(MAX_BODY)));
    }
    router.with_state(state)
}

/// A plain-text refusal.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = (self.0, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.1).into_response();
        if self.0 == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal(status, message.into())
}

impl Setup {
    /// Counts the request; false when over the limit of this second.
    fn admit(&self) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.0.elapsed() >= Duration::from_secs(1) {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        w.1 <= MAX_PER_SECOND
    }

    /// The setup of `address`, or the response refusing it.
    async fn lookup(&self, address: &str) -> Result<ClientSetup, Refusal> {
        if !self.admit() {
            return Err(refuse(StatusCode::TOO_MANY_REQUESTS, "too many requests; try again in a second"));
        }
        let Some(source) = &self.source else {
            return Err(refuse(StatusCode::NOT_FOUND, "no mail domains are served here"));
        };
        match source.client_setup(address).await {
            Ok(Some(setup)) if setup.endpoints.is_empty() => {
                Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "the mail server is not running"))
            }
            Ok(Some(setup)) => Ok(setup),
            Ok(None) => Err(refuse(StatusCode::NOT_FOUND, "not a mail domain of this server")),
            Err(e) if e.code == ErrorCode::Validation => Err(refuse(StatusCode::BAD_REQUEST, e.message)),
            Err(e) => {
                tracing::warn!("autoconfiguration failed: {}", e.message);
                Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "the settings cannot be read now"))
            }
        }
    }
}

/// The `emailaddress` of the query string.
fn query_address(query: Option<&str>) -> Result<String, Refusal> {
    let query = query.unwrap_or("");
    if query.len() > MAX_QUERY {
        return Err(refuse(StatusCode::URI_TOO_LONG, "the query is too long"));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("unreadable query: {e}")))?;
    pairs
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("emailaddress"))
        .map(|(_, v)| v)
        .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "add ?emailaddress=you@example.com"))
}

/// `value` safe as XML text or attribute value.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all: dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn xml(body: String, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The endpoints of `protocol`, implicit TLS first (the order the engine gives).
fn of<'a>(setup: &'a ClientSetup, protocol: &'a str) -> impl Iterator<Item = &'a ClientEndpoint> + 'a {
    setup.endpoints.iter().filter(move |e| e.protocol == protocol)
}

// ---- Thunderbird ----------------------------------------------------------------------

async fn autoconfig(State(s): State<Setup>, RawQuery(query): RawQuery) -> Response {
    let address = match query_address(query.as_deref()) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match s.lookup(&address).await {
        Ok(setup) => xml(thunderbird(&setup), "application/xml; charset=utf-8"),
        Err(r) => r.into_response(),
    }
}

/// The `clientConfig` document (Mozilla ISPDB format 1.1).
pub fn thunderbird(setup: &ClientSetup) -> String {
    let d = escape(&setup.domain);
    let name = escape(&setup.domain_display);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n");
    x += &format!("  <emailProvider id=\"{d}\">\n    <domain>{d}</domain>\n");
    x += &format!("    <displayName>{name}</displayName>\n    <displayShortName>{name}</displayShortName>\n");
    let server = |tag: &str, e: &ClientEndpoint| {
        let socket = match e.security {
            Security::Tls => "SSL",
            Security::StartTls => "STARTTLS",
        };
        format!(
            "    <{tag} type=\"{}\">\n      <hostname>{}</hostname>\n      <port>{}</port>\n      \
             <socketType>{socket}</socketType>\n      <authentication>password-cleartext</authentication>\n      \
             <username>%EMAILADDRESS%</username>\n    </{tag}>\n",
            escape(&e.protocol),
            escape(&e.host),
            e.port
        )
    };
    for e in of(setup, "imap").chain(of(setup, "pop3")) {
        x += &server("incomingServer", e);
    }
    for e in of(setup, "smtp") {
        x += &server("outgoingServer", e);
    }
    x += "  </emailProvider>\n</clientConfig>\n";
    x
}

// ---- Autodiscover ---------------------------------------------------------------------

async fn autodiscover(State(s): State<Setup>, body: Bytes) -> Response {
    let address = match request_address(&body) {
        Ok(a) => a,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message).into_response(),
    };
    match s.lookup(&address).await {
        Ok(setup) => xml(outlook(&setup), "application/xml; charset=utf-8"),
        Err(r) => r.into_response(),
    }
}

/// The text of the request's `EMailAddress` element (any namespace prefix). Refuses a
/// DOCTYPE (so no entity can be declared, let alone an external one) and any entity but
/// XML's five and character references.
pub fn request_address(body: &[u8]) -> Result<String, String> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8".to_string())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut inside = false;
    let mut found = String::new();
    loop {
        match reader.read_event().map_err(|e| format!("the request is not well-formed XML: {e}"))? {
            Event::DocType(_) => return Err("a DOCTYPE is not accepted".into()),
            Event::Start(e) if AsRef::<str>::as_ref(&e.local_name()) == "EMailAddress" => inside = true,
            Event::End(e) if AsRef::<str>::as_ref(&e.local_name()) == "EMailAddress" => {
                return Ok(found.trim().to_string());
            }
            Event::Text(t) if inside => found += &t.xml10_content(),
            Event::CData(t) if inside => found += &t.into_inner(),
            Event::GeneralRef(r) if inside => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*r.into_inner() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("the entity &{other}; is not defined")),
                    },
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                found.push(c);
            }
            Event::Start(_) if inside => return Err("EMailAddress holds an element".into()),
            Event::Eof => return Err("the request has no EMailAddress".into()),
            _ => {}
        }
        if found.len() > 1024 {
            return Err("EMailAddress is too long".into());
        }
    }
}

/// The Autodiscover response (Outlook response schema 2006a), one `Protocol` per service.
pub fn outlook(setup: &ClientSetup) -> String {
    let login = escape(&setup.address);
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n  \
         <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n",
    );
    x += &format!("    <User>\n      <DisplayName>{login}</DisplayName>\n    </User>\n");
    x += "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n";
    for proto in ["imap", "pop3", "smtp"] {
        for e in of(setup, proto) {
            let (ssl, encryption) = match e.security {
                Security::Tls => ("on", "SSL"),
                Security::StartTls => ("on", "TLS"),
            };
            x += &format!(
                "      <Protocol>\n        <Type>{}</Type>\n        <Server>{}</Server>\n        <Port>{}</Port>\n        \
                 <LoginName>{login}</LoginName>\n        <DomainRequired>off</DomainRequired>\n        <SPA>off</SPA>\n        \
                 <SSL>{ssl}</SSL>\n        <Encryption>{encryption}</Encryption>\n        <AuthRequired>on</AuthRequired>\n      \
                 </Protocol>\n",
                proto.to_uppercase(),
                escape(&e.host),
                e.port
            );
        }
    }
    x += "    </Account>\n  </Response>\n</Autodiscover>\n";
    x
}

// ---- Apple ----------------------------------------------------------------------------

async fn mobileconfig(State(s): State<Setup>, RawQuery(query): RawQuery) -> Response {
    let address = match query_address(query.as_deref()) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let setup = match s.lookup(&address).await {
        Ok(setup) => setup,
        Err(r) => return r.into_response(),
    };
    let Some(profile) = apple(&setup) else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the mail server offers no IMAP/POP3 or no SMTP submission")
            .into_response();
    };
    let mut response = xml(profile, "application/x-apple-aspen-config");
    // The domain is a validated host name: letters, digits, dots and hyphens only.
    let disposition = format!("attachment; filename=\"{}.mobileconfig\"", setup.domain);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A UUID (upper-case, version-4 layout) made from `address` and `what`: the same
/// address always gets the same profile identity, so installing it again replaces it.
pub fn uuid_for(address: &str, what: &str) -> String {
    let hash = sha2::Sha256::digest(format!("postdesk-mobileconfig\0{address}\0{what}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode_upper(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The configuration profile with one `com.apple.mail.managed` payload: IMAP when it runs
/// (else POP3), SMTP submission; `None` when either side does not run.
pub fn apple(setup: &ClientSetup) -> Option<String> {
    let (incoming, kind) = match of(setup, "imap").next() {
        Some(e) => (e, "EmailTypeIMAP"),
        None => (of(setup, "pop3").next()?, "EmailTypePOP"),
    };
    let outgoing = of(setup, "smtp").next()?;
    let a = escape(&setup.address);
    let domain = escape(&setup.domain);
    let reverse: Vec<&str> = setup.domain.split('.').rev().collect();
    let ident = escape(&format!("{}.postdesk.mail", reverse.join(".")));
    // Every client service of ours needs TLS (implicit, or STARTTLS before any login).
    let tls = |_: &ClientEndpoint| "<true/>";
    let key = |k: &str, v: String| format!("      <key>{k}</key>\n      {v}\n");
    let s = |v: &str| format!("<string>{v}</string>");
    let mut inner = String::new();
    inner += &key("EmailAccountDescription", s(&a));
    inner += &key("EmailAccountName", s(&a));
    inner += &key("EmailAccountType", s(kind));
    inner += &key("EmailAddress", s(&a));
    inner += &key("IncomingMailServerAuthentication", s("EmailAuthPassword"));
    inner += &key("IncomingMailServerHostName", s(&escape(&incoming.host)));
    inner += &key("IncomingMailServerPortNumber", format!("<integer>{}</integer>", incoming.port));
    inner += &key("IncomingMailServerUseSSL", tls(incoming).into());
    inner += &key("IncomingMailServerUsername", s(&a));
    inner += &key("OutgoingMailServerAuthentication", s("EmailAuthPassword"));
    inner += &key("OutgoingMailServerHostName", s(&escape(&outgoing.host)));
    inner += &key("OutgoingMailServerPortNumber", format!("<integer>{}</integer>", outgoing.port));
    inner += &key("OutgoingMailServerUseSSL", tls(outgoing).into());
    inner += &key("OutgoingMailServerUsername", s(&a));
    inner += &key("OutgoingPasswordSameAsIncomingPassword", "<true/>".into());
    inner += &key("PayloadDescription", s(&format!("Mail account {a}")));
    inner += &key("PayloadDisplayName", s(&a));
    inner += &key("PayloadIdentifier", s(&format!("{ident}.account.{}", uuid_for(&setup.address, "account"))));
    inner += &key("PayloadType", s("com.apple.mail.managed"));
    inner += &key("PayloadUUID", s(&uuid_for(&setup.address, "account")));
    inner += &key("PayloadVersion", "<integer>1</integer>".into());
    let outer = |k: &str, v: String| format!("  <key>{k}</key>\n  {v}\n");
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n",
    );
    x += &outer("PayloadContent", format!("<array>\n    <dict>\n{inner}    </dict>\n  </array>"));
    x += &outer("PayloadDescription", s(&format!("Sets up the mail account {a} of {domain}")));
    x += &outer("PayloadDisplayName", s(&format!("Mail: {a}")));
    x += &outer("PayloadIdentifier", s(&format!("{ident}.{}", uuid_for(&setup.address, "profile"))));
    x += &outer("PayloadRemovalDisallowed", "<false/>".into());
    x += &outer("PayloadType", s("Configuration"));
    x += &outer("PayloadUUID", s(&uuid_for(&setup.address, "profile")));
    x += &outer("PayloadVersion", "<integer>1</integer>".into());
    x += "</dict>\n</plist>\n";
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
        assert_eq!(escape("a\u{1}b\tc"), "ab\tc");
    }

    #[test]
    fn the_request_address_is_read_without_any_entity_but_xmls_own() {
        let ok = br#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress> o&apos;neil&amp;co@example.com </EMailAddress>
  <AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>"#;
        assert_eq!(request_address(ok).unwrap(), "o'neil&co@example.com");
        let prefixed = b"<a:Autodiscover xmlns:a=\"u\"><a:Request><a:EMailAddress>&#97;@example.com</a:EMailAddress></a:Request></a:Autodiscover>";
        assert_eq!(request_address(prefixed).unwrap(), "a@example.com");
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"#;
        assert!(request_address(xxe).unwrap_err().contains("DOCTYPE"));
        let undefined = b"<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>";
        assert!(request_address(undefined).unwrap_err().contains("not defined"));
        assert!(request_address(b"<Autodiscover/>").unwrap_err().contains("no EMailAddress"));
        assert!(request_address(b"<a><b></a>").is_err());
    }

    #[test]
    fn uuids_are_stable_per_address_and_distinct_per_payload() {
        let a = uuid_for("ann@example.com", "account");
        assert_eq!(a, uuid_for("ann@example.com", "account"));
        assert_ne!(a, uuid_for("ann@example.com", "profile"));
        assert_ne!(a, uuid_for("bob@example.com", "account"));
        assert_eq!((a.len(), &a[14..15]), (36, "4"));
    }
}
