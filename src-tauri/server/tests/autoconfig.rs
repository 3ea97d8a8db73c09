//! The autoconfiguration endpoints over real HTTP on loopback, with a real engine and a
//! registered mail-server monitor reporting the client services that run. Every answer is
//! parsed as XML (a small tree over quick-xml), not searched as text.

use std::net::SocketAddr;
use std::sync::Arc;

use postdesk_contract::Backend;
use postdesk_contract::api::{CreateAccount, CreateDomain, UpdateMailboxSettings};
use postdesk_contract::smtp::{ClientService, ClientServices, MailServiceMonitor, SmtpStatus};
use postdesk_engine::Engine;

/// A mail server's monitor with fixed client listeners.
struct Fake(Vec<(ClientService, u16)>);

impl MailServiceMonitor for Fake {
    fn status(&self) -> SmtpStatus {
        SmtpStatus { running: true, ..Default::default() }
    }
    fn client_services(&self) -> ClientServices {
        ClientServices { hostname: "mx.example.net".into(), listeners: self.0.clone() }
    }
}

/// IMAP (both), SMTP submission (both); no POP3, as `serve --no-pop3` runs.
const NO_POP3: [(ClientService, u16); 4] = [
    (ClientService::Imaps, 2993),
    (ClientService::Imap, 2143),
    (ClientService::Submissions, 2465),
    (ClientService::Submission, 2587),
];

const HOSTILE: &str = "o'neil&co+{x}@example.com";

/// The engine with example.com (client host not set) and the admin API on a free port.
async fn start(listeners: Option<&[(ClientService, u16)]>) -> (Engine, String) {
    let engine = Engine::open_in_memory().await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), ..Default::default() }).await.unwrap();
    b.create_domain(CreateDomain { domain: "other.test".into(), ..Default::default() }).await.unwrap();
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "other.test".into(),
        mail_host: Some("imap.other.test".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    b.create_account(CreateAccount { address: HOSTILE.into(), ..Default::default() }).await.unwrap();
    if let Some(l) = listeners {
        engine.set_mail_monitor(Some(Arc::new(Fake(l.to_vec()))));
    }
    let tcp = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let url = format!("http://{}", tcp.local_addr().unwrap());
    let router = postdesk_server::router(engine.clone());
    tokio::spawn(postdesk_server::serve(router, tcp, None, std::future::pending()));
    (engine, url)
}

/// An element: name (prefix dropped), attributes, text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn one<'a>(&'a self, name: &'a str) -> &'a Node {
        let found: Vec<_> = self.all(name).collect();
        assert_eq!(found.len(), 1, "one <{name}> in <{}>: {self:?}", self.name);
        found[0]
    }
    fn text_of<'a>(&'a self, name: &'a str) -> &'a str {
        &self.one(name).text
    }
    fn attr(&self, name: &str) -> &str {
        &self.attrs.iter().find(|(k, _)| k == name).unwrap().1
    }
}

/// The document's root element; panics on anything not well-formed.
fn parse(xml: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    let open = |e: &quick_xml::events::BytesStart| Node {
        name: AsRef::<str>::as_ref(&e.local_name()).to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    AsRef::<str>::as_ref(&a.key).to_string(),
                    a.normalized_value(quick_xml::XmlVersion::default()).unwrap().into_owned(),
                )
            })
            .collect(),
        ..Default::default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(open(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack.last_mut().unwrap().text += t.xml10_content().trim(),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c,
                    None => match &*r.into_inner() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("undefined entity {other}"),
                    },
                };
                stack.last_mut().unwrap().text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "every element closed");
    stack.pop().unwrap().children.pop().expect("a root element")
}

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = reqwest::get(url).await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().await.unwrap(), headers)
}

fn q(address: &str) -> String {
    url::form_urlencoded::byte_serialize(address.as_bytes()).collect()
}

#[tokio::test]
async fn thunderbird_gets_the_services_that_run_with_their_real_ports() {
    let (_engine, url) = start(Some(&NO_POP3)).await;
    for path in ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"] {
        let (status, body, headers) = get(&format!("{url}{path}?emailaddress={}", q(HOSTILE))).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/xml"));
        let root = parse(&body);
        assert_eq!((root.name.as_str(), root.attr("version")), ("clientConfig", "1.1"));
        let provider = root.one("emailProvider");
        assert_eq!((provider.attr("id"), provider.text_of("domain")), ("example.com", "example.com"));
        let servers = |tag: &str| -> Vec<(String, String, String, String, String, String)> {
            provider
                .all(tag)
                .map(|s| {
                    (
                        s.attr("type").to_string(),
                        s.text_of("hostname").to_string(),
                        s.text_of("port").to_string(),
                        s.text_of("socketType").to_string(),
                        s.text_of("username").to_string(),
                        s.text_of("authentication").to_string(),
                    )
                })
                .collect()
        };
        let row = |t: &str, port: &str, socket: &str| {
            (
                t.to_string(),
                "mx.example.net".to_string(),
                port.to_string(),
                socket.to_string(),
                "%EMAILADDRESS%".to_string(),
                "password-cleartext".to_string(),
            )
        };
        assert_eq!(servers("incomingServer"), vec![row("imap", "2993", "SSL"), row("imap", "2143", "STARTTLS")]);
        assert_eq!(servers("outgoingServer"), vec![row("smtp", "2465", "SSL"), row("smtp", "2587", "STARTTLS")]);
    }
    // The domain's client host, when set, is the host name given.
    let (_, body, _) = get(&format!("{url}/mail/config-v1.1.xml?emailaddress=x%40other.test")).await;
    let root = parse(&body);
    assert!(root.one("emailProvider").all("incomingServer").all(|s| s.text_of("hostname") == "imap.other.test"));
}

#[tokio::test]
async fn unknown_domains_bad_queries_and_a_stopped_mail_server_are_refused() {
    let (engine, url) = start(Some(&NO_POP3)).await;
    for path in ["/mail/config-v1.1.xml", "/apple/mobileconfig"] {
        let (status, _, _) = get(&format!("{url}{path}?emailaddress=ann%40not-ours.example")).await;
        assert_eq!(status, 404, "{path}");
        let (status, _, _) = get(&format!("{url}{path}")).await;
        assert_eq!(status, 400, "{path} without an address");
        let (status, _, _) = get(&format!("{url}{path}?emailaddress=no-at-sign")).await;
        assert_eq!(status, 400, "{path} with a non-address");
    }
    let client = reqwest::Client::new();
    let body = autodiscover_request("ann@not-ours.example");
    let r = client.post(format!("{url}/autodiscover/autodiscover.xml")).body(body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);

    engine.set_mail_monitor(None);
    let (status, body, _) = get(&format!("{url}/mail/config-v1.1.xml?emailaddress=ann%40example.com")).await;
    assert_eq!((status, body.as_str()), (503, "the mail server is not running"));
}

fn autodiscover_request(address: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover \
         xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\n<Request>\
         <EMailAddress>{}</EMailAddress><AcceptableResponseSchema>\
         http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\
         </AcceptableResponseSchema></Request></Autodiscover>",
        postdesk_server::autoconfig::escape(address)
    )
}

#[tokio::test]
async fn autodiscover_answers_protocols_escapes_the_address_and_bounds_the_body() {
    let all = [NO_POP3.as_slice(), &[(ClientService::Pop3s, 2995)]].concat();
    let (_engine, url) = start(Some(&all)).await;
    let client = reqwest::Client::new();
    for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"] {
        let r = client.post(format!("{url}{path}")).body(autodiscover_request(HOSTILE)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(HOSTILE), "the address is escaped: {body}");
        let root = parse(&body);
        assert_eq!(root.name, "Autodiscover");
        let response = root.one("Response");
        assert_eq!(response.one("User").text_of("DisplayName"), HOSTILE);
        let account = response.one("Account");
        assert_eq!((account.text_of("AccountType"), account.text_of("Action")), ("email", "settings"));
        let protocols: Vec<_> = account
            .all("Protocol")
            .map(|p| {
                assert_eq!(p.text_of("LoginName"), HOSTILE);
                assert_eq!(p.text_of("Server"), "mx.example.net");
                (p.text_of("Type").to_string(), p.text_of("Port").to_string(), p.text_of("Encryption").to_string())
            })
            .collect();
        let want = [
            ("IMAP", "2993", "SSL"),
            ("IMAP", "2143", "TLS"),
            ("POP3", "2995", "SSL"),
            ("SMTP", "2465", "SSL"),
            ("SMTP", "2587", "TLS"),
        ];
        let want: Vec<_> = want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
        assert_eq!(protocols, want);
    }
    // Bounded: 16 KiB at most.
    let big = format!(
        "<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress>{}</Request></Autodiscover>",
        " ".repeat(17 * 1024)
    );
    let r = client.post(format!("{url}/autodiscover/autodiscover.xml")).body(big).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // No DOCTYPE, so no entity of any kind.
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
        <Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>";
    let r = client.post(format!("{url}/autodiscover/autodiscover.xml")).body(xxe).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("DOCTYPE"));
}

/// The key → value pairs of a plist `<dict>`.
fn dict(node: &Node) -> Vec<(String, &Node)> {
    assert_eq!(node.name, "dict");
    node.children.chunks(2).map(|kv| (kv[0].text.clone(), &kv[1])).collect()
}

fn value<'a>(d: &'a [(String, &'a Node)], key: &str) -> &'a Node {
    d.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key}")).1
}

#[tokio::test]
async fn apple_gets_an_unsigned_profile_with_one_mail_payload_and_no_password() {
    let (_engine, url) = start(Some(&NO_POP3)).await;
    let (status, body, headers) = get(&format!("{url}/apple/mobileconfig?emailaddress={}", q(HOSTILE))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/x-apple-aspen-config");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"example.com.mobileconfig\"");
    let root = parse(&body);
    assert_eq!(root.name, "plist");
    let top = dict(root.one("dict"));
    assert_eq!(value(&top, "PayloadType").text, "Configuration");
    let payloads = &value(&top, "PayloadContent").children;
    assert_eq!(payloads.len(), 1);
    let mail = dict(&payloads[0]);
    let text = |k: &str| value(&mail, k).text.clone();
    assert_eq!(text("PayloadType"), "com.apple.mail.managed");
    assert_eq!(text("EmailAccountType"), "EmailTypeIMAP");
    assert_eq!(text("EmailAddress"), HOSTILE);
    assert_eq!(text("IncomingMailServerUsername"), HOSTILE);
    assert_eq!(
        (text("IncomingMailServerHostName"), text("IncomingMailServerPortNumber")),
        ("mx.example.net".into(), "2993".into())
    );
    assert_eq!(value(&mail, "IncomingMailServerUseSSL").name, "true");
    assert_eq!(text("IncomingMailServerAuthentication"), "EmailAuthPassword");
    assert_eq!(
        (text("OutgoingMailServerHostName"), text("OutgoingMailServerPortNumber")),
        ("mx.example.net".into(), "2465".into())
    );
    assert_eq!(value(&mail, "OutgoingMailServerUseSSL").name, "true");
    let keys: Vec<&str> = mail.iter().map(|(k, _)| k.as_str()).collect();
    assert!(!keys.contains(&"IncomingPassword") && !keys.contains(&"OutgoingPassword"), "no password: {keys:?}");
    let (outer, inner) = (value(&top, "PayloadUUID").text.clone(), text("PayloadUUID"));
    assert_ne!(outer, inner);
    assert_eq!((outer.len(), inner.len()), (36, 36));
    // Stable per address: the same profile again replaces the installed one.
    let (_, again, _) = get(&format!("{url}/apple/mobileconfig?emailaddress={}", q(HOSTILE))).await;
    assert_eq!(again, body);
    let (_, other, _) = get(&format!("{url}/apple/mobileconfig?emailaddress=bob%40example.com")).await;
    assert!(!other.contains(&outer));

    // Only POP3 and SMTP running: a POP profile.
    let (_engine, url) = start(Some(&[(ClientService::Pop3s, 2995), (ClientService::Submission, 2587)])).await;
    let (_, body, _) = get(&format!("{url}/apple/mobileconfig?emailaddress=bob%40example.com")).await;
    let root = parse(&body);
    let top = dict(root.one("dict"));
    let mail = dict(&value(&top, "PayloadContent").children[0]);
    assert_eq!(value(&mail, "EmailAccountType").text, "EmailTypePOP");
    assert_eq!(value(&mail, "IncomingMailServerPortNumber").text, "2995");
}
