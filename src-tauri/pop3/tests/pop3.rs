//! The POP3 service against a real engine, driven by real clients: Python's poplib (and raw
//! sockets for wire-level checks) and curl. Each test starts its own engine and service on
//! 127.0.0.1 with a self-signed certificate the clients verify.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::{MailBackend, MailStore, StoredMessage};
use postdesk_contract::model::AccountStatus;
use postdesk_contract::settings::Settings;
use postdesk_engine::Engine;
use postdesk_pop3::{Pop3Limits, Pop3Listener, Pop3Service};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";

/// A plain message.
const MSG1: &str =
    "From: sender@example.org\r\nTo: ann@example.com\r\nSubject: one\r\n\r\nHello Ann\r\nsecond line\r\nthird line\r\n";
/// Lines starting with '.', one of them the terminator itself: byte-stuffing matters.
const MSG2: &str = "From: sender@example.org\r\nSubject: dots\r\n\r\n.\r\n..two\r\n.hidden\r\nend\r\n";
/// Bare LF line endings: sent as CRLF.
const MSG3: &str = "From: sender@example.org\nSubject: bare LF\n\nbare\nlines\n";

/// Helpers for the client scripts; each script fills the dict `R`, printed as JSON.
const PRELUDE: &str = r#"
import base64, json, os, poplib, socket, ssl, sys
HOST = '127.0.0.1'
PORT = int(os.environ['POP3_PORT'])
PORTS = int(os.environ['POP3S_PORT'])
PASSWORD = os.environ['PASSWORD']
CTX = ssl.create_default_context(cafile=os.environ['CAFILE'])
R = {}

def plain():
    return poplib.POP3(HOST, PORT, timeout=30)

def tls():
    p = plain()
    p.stls(context=CTX)
    return p

def pop3s():
    return poplib.POP3_SSL(HOST, PORTS, context=CTX, timeout=30)

def login(p, user, password=PASSWORD):
    p.user(user)
    return p.pass_(password)

def s(b):
    return b.decode('latin-1')

def L(lines):
    return [s(x) for x in lines]

def err(f):
    """The -ERR line a command got (or how the connection ended); fails on +OK."""
    try:
        r = f()
    except poplib.error_proto as e:
        a = e.args[0]
        return s(a) if isinstance(a, bytes) else str(a)
    except (OSError, EOFError) as e:
        return 'closed: ' + type(e).__name__
    raise AssertionError('expected -ERR, got %r' % (r,))

def plain_ir(user, password=PASSWORD, authz=''):
    return base64.b64encode(('%s\0%s\0%s' % (authz, user, password)).encode()).decode()

def raw_plain():
    return socket.create_connection((HOST, PORT), timeout=30)

def raw_tls():
    return CTX.wrap_socket(socket.create_connection((HOST, PORTS), timeout=30), server_hostname=HOST)

def read_all(sock):
    chunks = []
    while True:
        try:
            c = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            chunks.append(b'<reset>')
            break
        if not c:
            break
        chunks.append(c)
    return b''.join(chunks)
"#;

struct Server {
    dir: tempfile::TempDir,
    engine: Engine,
    service: Pop3Service,
    pop3: SocketAddr,
    pop3s: SocketAddr,
    cafile: PathBuf,
}

fn account(address: &str, force_password_change: bool) -> CreateAccount {
    CreateAccount {
        address: address.into(),
        display_name: None,
        department: None,
        notes: None,
        password: Some(Password(PASSWORD.into())),
        force_password_change: force_password_change.then_some(true),
        quota_mb: None,
    }
}

/// example.com (lockout after 4 failed logins): ann, bob (POP3 switched off), cara (must
/// change her password at first logon), dan; a POP3 and a POP3S listener.
async fn start(limits: Pop3Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("data")).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    b.update_mailbox_settings(UpdateMailboxSettings {
        domain: "example.com".into(),
        lockout_threshold: Some(4),
        retention_days: None,
        mail_host: None,
        catch_all: None,
        catch_all_target: None,
    })
    .await
    .unwrap();
    for (address, force) in
        [(ANN, false), ("bob@example.com", false), ("cara@example.com", true), ("dan@example.com", false)]
    {
        b.create_account(account(address, force)).await.unwrap();
    }
    b.update_settings(UpdateSettings {
        domain: "example.com".into(),
        target: BatchTarget::Accounts { addresses: vec!["bob@example.com".into()] },
        set: Some(Settings { pop3: Some(false), ..Default::default() }),
        clear: None,
    })
    .await
    .unwrap();

    let identity = postdesk_tls::Identity::self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cafile = dir.path().join("ca.pem");
    std::fs::write(&cafile, &identity.cert_pem).unwrap();
    let backend: Arc<dyn MailBackend> = Arc::new(engine.clone());
    let service = Pop3Service::builder(backend).tls(identity).limits(limits).build().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let pop3 = service.listen(Pop3Listener::Pop3, any).await.unwrap();
    let pop3s = service.listen(Pop3Listener::Pop3s, any).await.unwrap();
    assert_eq!(service.listeners(), vec![(Pop3Listener::Pop3, pop3), (Pop3Listener::Pop3s, pop3s)]);
    Server { dir, engine, service, pop3, pop3s, cafile }
}

impl Server {
    /// Delivers MSG1..MSG3 to ann; their UIDs.
    async fn deliver_three(&self) -> Vec<u32> {
        let mut uids = Vec::new();
        for raw in [MSG1, MSG2, MSG3] {
            uids.push(self.engine.deliver(ANN, raw.as_bytes()).await.unwrap().uid);
        }
        uids
    }

    async fn inbox(&self, account: &str) -> Vec<StoredMessage> {
        MailStore::messages(&self.engine, account, "INBOX").await.unwrap()
    }

    async fn uidvalidity(&self, account: &str) -> u32 {
        let folders = MailStore::folders(&self.engine, account).await.unwrap();
        folders.iter().find(|f| f.name == "INBOX").unwrap().uidvalidity
    }

    fn python_command(&self, script: &str, tail: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg("-c")
            .arg(format!("{PRELUDE}\n{script}\n{tail}"))
            .env("POP3_PORT", self.pop3.port().to_string())
            .env("POP3S_PORT", self.pop3s.port().to_string())
            .env("PASSWORD", PASSWORD)
            .env("CAFILE", &self.cafile)
            .kill_on_drop(true);
        cmd
    }

    /// Runs a client script to its end; the `R` it filled.
    async fn python(&self, script: &str) -> Value {
        let out = self.python_command(script, "print(json.dumps(R))").output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "client script failed:\n{}\nstdout: {stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
    }

    /// Runs curl; its stdout.
    async fn curl(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "--max-time", "30"])
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A client script that talks with the test while it runs: it prints a JSON line when it
/// reaches a point, and goes on when the test writes a line.
struct Interactive {
    child: tokio::process::Child,
    stdout: BufReader<tokio::process::ChildStdout>,
}

impl Interactive {
    fn start(server: &Server, script: &str) -> Interactive {
        let mut child = server
            .python_command(script, "print(json.dumps(R), flush=True)")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Interactive { child, stdout }
    }

    async fn next(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).await.unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("client printed {line:?}: {e}"))
    }

    async fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn finish(mut self) -> Value {
        let last = self.next().await;
        assert!(self.child.wait().await.unwrap().success(), "client script failed");
        last
    }
}

/// The lines of a message as a client sees them after un-stuffing.
fn lines(raw: &str) -> Vec<String> {
    let mut lines: Vec<String> = raw.split('\n').map(|l| l.trim_end_matches('\r').to_string()).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// A message as the wire carries it inside a multi-line response: CRLF, byte-stuffed.
fn on_the_wire(raw: &str) -> String {
    lines(raw).iter().map(|l| if l.starts_with('.') { format!(".{l}\r\n") } else { format!("{l}\r\n") }).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}")).iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stls_then_user_pass_serves_the_inbox() {
    let server = start(Pop3Limits::default()).await;
    let uids = server.deliver_three().await;
    let r = server
        .python(
            r#"
p = plain()
R['caps_plain'] = sorted(p.capa())
R['user_plain'] = err(lambda: p.user('ann@example.com'))
R['auth_plain'] = err(lambda: p._shortcmd('AUTH PLAIN ' + plain_ir('ann@example.com')))
p.stls(context=CTX)
caps = p.capa()
R['caps_tls'] = sorted(caps)
R['sasl'] = caps.get('SASL')
R['login'] = s(login(p, 'ann@example.com'))
R['stat'] = list(p.stat())
R['list'] = L(p.list()[1])
R['uidl'] = L(p.uidl()[1])
R['list_2'] = s(p.list(2))
R['uidl_3'] = s(p.uidl(3))
R['retr_1'] = L(p.retr(1)[1])
R['retr_2'] = L(p.retr(2)[1])
R['retr_3'] = L(p.retr(3)[1])
R['top_2_0'] = L(p.top(2, 0)[1])
R['top_2_2'] = L(p.top(2, 2)[1])
R['no_such'] = err(lambda: p.retr(4))
R['zero'] = err(lambda: p.retr(0))
R['noop'] = s(p.noop())
R['quit'] = s(p.quit())
"#,
        )
        .await;

    let caps_plain = strings(&r["caps_plain"]);
    for cap in ["STLS", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"] {
        assert!(caps_plain.contains(&cap.to_string()), "{cap} in {caps_plain:?}");
    }
    assert!(!caps_plain.iter().any(|c| c == "USER" || c == "SASL"), "no login offered in clear: {caps_plain:?}");
    for refused in [text(&r["user_plain"]), text(&r["auth_plain"])] {
        assert!(refused.starts_with("-ERR [SYS/PERM]") && refused.contains("use STLS first"), "{refused}");
    }
    let caps_tls = strings(&r["caps_tls"]);
    assert!(caps_tls.contains(&"USER".to_string()) && !caps_tls.contains(&"STLS".to_string()), "{caps_tls:?}");
    assert_eq!(strings(&r["sasl"]), ["PLAIN"]);

    let sizes = [MSG1.len(), MSG2.len(), MSG3.len()];
    let total: usize = sizes.iter().sum();
    assert_eq!(text(&r["login"]), format!("+OK Logged in, 3 messages ({total} octets)"));
    assert_eq!(r["stat"], serde_json::json!([3, total]));
    assert_eq!(
        strings(&r["list"]),
        sizes.iter().enumerate().map(|(i, s)| format!("{} {s}", i + 1)).collect::<Vec<_>>()
    );
    let v = server.uidvalidity(ANN).await;
    let uidl: Vec<String> = uids.iter().enumerate().map(|(i, uid)| format!("{} {v}.{uid}", i + 1)).collect();
    assert_eq!(strings(&r["uidl"]), uidl);
    assert_eq!(text(&r["list_2"]), format!("+OK 2 {}", MSG2.len()));
    assert_eq!(text(&r["uidl_3"]), format!("+OK 3 {v}.{}", uids[2]));
    assert_eq!(strings(&r["retr_1"]), lines(MSG1));
    assert_eq!(strings(&r["retr_2"]), lines(MSG2), "dot lines survive byte-stuffing");
    assert_eq!(strings(&r["retr_3"]), lines(MSG3));
    assert_eq!(strings(&r["top_2_0"]), ["From: sender@example.org", "Subject: dots", ""]);
    assert_eq!(strings(&r["top_2_2"]), ["From: sender@example.org", "Subject: dots", "", ".", "..two"]);
    assert_eq!(text(&r["no_such"]), "-ERR No such message");
    assert!(text(&r["zero"]).starts_with("-ERR"), "{}", r["zero"]);
    assert_eq!(text(&r["noop"]), "+OK");
    assert_eq!(text(&r["quit"]), "+OK Postdesk POP3 server signing off (0 messages deleted)");

    // RETR marked the messages \Seen at QUIT; nothing was removed.
    let inbox = server.inbox(ANN).await;
    assert_eq!(inbox.len(), 3);
    assert!(inbox.iter().all(|m| m.flags.contains(&"\\Seen".to_string())), "{inbox:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3s_with_auth_plain_and_the_wire_format() {
    let server = start(Pop3Limits::default()).await;
    server.deliver_three().await;
    let r = server
        .python(
            r#"
p = pop3s()
caps = p.capa()
R['caps'] = sorted(caps)
R['sasl'] = caps.get('SASL')
R['auth_ir'] = s(p._shortcmd('AUTH PLAIN ' + plain_ir('ann@example.com')))
R['stat'] = list(p.stat())
p.quit()

p = pop3s()
R['auth_continue'] = s(p._shortcmd('AUTH PLAIN'))
R['auth_response'] = s(p._shortcmd(plain_ir('ann@example.com')))
p.quit()

p = pop3s()
R['cancel_continue'] = s(p._shortcmd('AUTH PLAIN'))
R['cancelled'] = err(lambda: p._shortcmd('*'))
R['mechanism'] = err(lambda: p._shortcmd('AUTH CRAM-MD5'))
R['other_identity'] = err(lambda: p._shortcmd('AUTH PLAIN ' + plain_ir('ann@example.com', authz='bob@example.com')))
R['not_base64'] = err(lambda: p._shortcmd('AUTH PLAIN !!!'))
R['wrong'] = err(lambda: p._shortcmd('AUTH PLAIN ' + plain_ir('ann@example.com', 'wrong')))
R['after_three'] = err(lambda: p.noop())

# Pipelined commands on a raw connection, to see the bytes on the wire.
sock = raw_tls()
sock.sendall(('AUTH PLAIN ' + plain_ir('ann@example.com') + '\r\nRETR 2\r\nRETR 3\r\nTOP 1 1\r\nQUIT\r\n').encode())
R['wire'] = s(read_all(sock))
"#,
        )
        .await;

    assert!(strings(&r["caps"]).contains(&"USER".to_string()), "USER offered over implicit TLS");
    assert_eq!(strings(&r["sasl"]), ["PLAIN"]);
    assert!(text(&r["auth_ir"]).starts_with("+OK Logged in"), "{}", r["auth_ir"]);
    assert_eq!(r["stat"][0], 3);
    assert_eq!(text(&r["auth_continue"]), "+ ");
    assert!(text(&r["auth_response"]).starts_with("+OK Logged in"), "{}", r["auth_response"]);
    assert_eq!(text(&r["cancel_continue"]), "+ ");
    assert_eq!(text(&r["cancelled"]), "-ERR Authentication cancelled");
    assert!(text(&r["mechanism"]).starts_with("-ERR Unsupported authentication mechanism"));
    assert!(text(&r["other_identity"]).starts_with("-ERR [AUTH] You can only log in as yourself"));
    assert!(text(&r["not_base64"]).starts_with("-ERR [AUTH]"));
    // The third failed login on one connection closes it.
    let third = text(&r["wrong"]);
    assert!(third.starts_with("-ERR [AUTH] Authentication failed") && third.contains("closing connection"), "{third}");
    let after = text(&r["after_three"]);
    assert!(after.contains("EOF") || after.starts_with("closed"), "{after}");

    let wire = text(&r["wire"]);
    let total = MSG1.len() + MSG2.len() + MSG3.len();
    let expected = format!(
        "+OK Postdesk POP3 server ready\r\n\
         +OK Logged in, 3 messages ({total} octets)\r\n\
         +OK {} octets\r\n{}.\r\n\
         +OK {} octets\r\n{}.\r\n\
         +OK Top of message follows\r\n{}.\r\n\
         +OK Postdesk POP3 server signing off (0 messages deleted)\r\n",
        MSG2.len(),
        on_the_wire(MSG2),
        MSG3.len(),
        on_the_wire(MSG3),
        on_the_wire("From: sender@example.org\r\nTo: ann@example.com\r\nSubject: one\r\n\r\nHello Ann\r\n"),
    );
    assert_eq!(wire, expected);
    assert!(wire.contains("\r\n..\r\n...two\r\n..hidden\r\n"), "stuffed: {wire:?}");
    assert!(!wire.replace("\r\n", "").contains('\n'), "no bare LF on the wire: {wire:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dele_takes_effect_at_quit_only_and_uidl_is_stable() {
    let server = start(Pop3Limits::default()).await;
    let uids = server.deliver_three().await;
    let uidl_script = "p = tls(); login(p, 'ann@example.com'); R['uidl'] = L(p.uidl()[1]); p.quit()";
    let first = strings(&server.python(uidl_script).await["uidl"]);
    assert_eq!(first, strings(&server.python(uidl_script).await["uidl"]), "UIDL is the same in the next session");

    // DELE then RSET: nothing goes.
    let r = server
        .python("p = tls(); login(p, 'ann@example.com'); p.dele(1); R['rset'] = s(p.rset()); R['stat'] = list(p.stat()); R['quit'] = s(p.quit())")
        .await;
    assert!(text(&r["rset"]).starts_with("+OK Maildrop has 3 messages"), "{}", r["rset"]);
    assert_eq!(r["stat"][0], 3);
    assert_eq!(text(&r["quit"]), "+OK Postdesk POP3 server signing off (0 messages deleted)");
    assert_eq!(server.inbox(ANN).await.len(), 3);

    // DELE and hang up without QUIT: nothing goes.
    let r = server
        .python(
            r#"
p = tls(); login(p, 'ann@example.com')
R['dele'] = s(p.dele(1))
R['again'] = err(lambda: p.dele(1))
R['list_1'] = err(lambda: p.list(1))
R['retr_1'] = err(lambda: p.retr(1))
R['stat'] = list(p.stat())
R['list'] = L(p.list()[1])
p.close()
"#,
        )
        .await;
    assert_eq!(text(&r["dele"]), "+OK Message 1 deleted");
    for key in ["again", "list_1", "retr_1"] {
        assert_eq!(text(&r[key]), "-ERR Message 1 is deleted", "{key}");
    }
    assert_eq!(r["stat"], serde_json::json!([2, MSG2.len() + MSG3.len()]));
    assert_eq!(strings(&r["list"]), [format!("2 {}", MSG2.len()), format!("3 {}", MSG3.len())]);
    assert_eq!(server.inbox(ANN).await.len(), 3, "no QUIT, no update");

    // DELE and QUIT: gone from the store.
    let r =
        server.python("p = tls(); login(p, 'ann@example.com'); p.dele(1); p.dele(3); R['quit'] = s(p.quit())").await;
    assert_eq!(text(&r["quit"]), "+OK Postdesk POP3 server signing off (2 messages deleted)");
    let inbox = server.inbox(ANN).await;
    assert_eq!(inbox.iter().map(|m| m.uid).collect::<Vec<_>>(), [uids[1]]);
    assert!(!inbox[0].flags.contains(&"\\Deleted".to_string()));

    // The one left keeps its unique id, now as message 1.
    let now = strings(&server.python(uidl_script).await["uidl"]);
    let id_of_2 = first[1].split_once(' ').unwrap().1;
    assert_eq!(now, [format!("1 {id_of_2}")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_is_a_snapshot_and_one_session_holds_it() {
    let server = start(Pop3Limits::default()).await;
    server.deliver_three().await;
    let mut client = Interactive::start(
        &server,
        r#"
p = tls(); login(p, 'ann@example.com')
other = tls()
R['in_use'] = err(lambda: login(other, 'ann@example.com'))
R['stat'] = list(p.stat())
print(json.dumps(R), flush=True)
sys.stdin.readline()
R['stat_later'] = list(p.stat())
R['retr_4'] = err(lambda: p.retr(4))
p.quit()
q = tls(); R['next_login'] = s(login(q, 'ann@example.com')); R['next_stat'] = list(q.stat()); q.quit()
"#,
    );
    let r = client.next().await;
    assert!(text(&r["in_use"]).starts_with("-ERR [IN-USE]"), "{}", r["in_use"]);
    assert_eq!(r["stat"][0], 3);
    server.engine.deliver(ANN, b"Subject: late\r\n\r\nlate\r\n").await.unwrap();
    client.go().await;
    let r = client.finish().await;
    assert_eq!(r["stat_later"][0], 3, "mail delivered during the session is not shown");
    assert_eq!(text(&r["retr_4"]), "-ERR No such message");
    assert!(text(&r["next_login"]).starts_with("+OK Logged in, 4 messages"), "{}", r["next_login"]);
    assert_eq!(r["next_stat"][0], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_to_do_and_the_lockout_is_the_engines() {
    let server = start(Pop3Limits::default()).await;
    // Where `serve` says the user portal is: the refusal names it.
    server.engine.set_portal_url(Some("https://mail.example.com:8443/#/portal".into()));
    let r = server
        .python(
            r#"
R['pop3_off'] = err(lambda: login(tls(), 'bob@example.com'))
R['pop3_off_sasl'] = err(lambda: pop3s()._shortcmd('AUTH PLAIN ' + plain_ir('bob@example.com')))
R['change_first'] = err(lambda: login(tls(), 'cara@example.com'))
R['unknown'] = err(lambda: login(tls(), 'nobody@example.com'))
R['pass_first'] = err(lambda: tls().pass_('x'))

p = tls()
R['w1'] = err(lambda: login(p, 'dan@example.com', 'wrong 1'))
R['w2'] = err(lambda: login(p, 'dan@example.com', 'wrong 2'))
R['w3'] = err(lambda: login(p, 'dan@example.com', 'wrong 3'))
R['closed'] = err(lambda: p.noop())
p = pop3s()
R['w4'] = err(lambda: login(p, 'dan@example.com', 'wrong 4'))
R['locked'] = err(lambda: login(p, 'dan@example.com'))
"#,
        )
        .await;
    assert_eq!(text(&r["pop3_off"]), "-ERR [AUTH] POP3 is switched off for this account");
    assert_eq!(text(&r["pop3_off_sasl"]), "-ERR [AUTH] POP3 is switched off for this account");
    let change = text(&r["change_first"]);
    assert!(
        change.starts_with(
            "-ERR [AUTH] You must change your password first: sign in to the Postdesk user portal at \
             https://mail.example.com:8443/#/portal, set a new password"
        ),
        "{change}"
    );
    assert_eq!(text(&r["unknown"]), "-ERR [AUTH] Authentication failed");
    assert_eq!(text(&r["pass_first"]), "-ERR Send USER first");

    assert_eq!(text(&r["w1"]), "-ERR [AUTH] Authentication failed");
    assert_eq!(text(&r["w2"]), "-ERR [AUTH] Authentication failed");
    assert!(text(&r["w3"]).contains("closing connection"), "{}", r["w3"]);
    let closed = text(&r["closed"]);
    assert!(closed.contains("EOF") || closed.starts_with("closed"), "{closed}");
    // The fourth failure reaches the domain's threshold: the engine keeps this client out
    // of the account (told only "failed", even with the right password); the account
    // stays active for everyone else.
    assert_eq!(text(&r["w4"]), "-ERR [AUTH] Authentication failed");
    assert_eq!(text(&r["locked"]), "-ERR [AUTH] Authentication failed");
    let dan =
        server.engine.local_backend().get_account(GetAccount { address: "dan@example.com".into() }).await.unwrap();
    assert_eq!(dan.status, AccountStatus::Active);
    // Every attempt is in the engine's login log, as a POP3 login from the client.
    let log = server.engine.login_log(Some("dan@example.com"), None, 50).await.unwrap();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|e| e.service == "pop3" && e.client == "127.0.0.1"), "{log:?}");
    assert_eq!(log[0].reason, "client_locked_out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_and_garbage_are_refused() {
    let server = start(Pop3Limits::default()).await;
    let r = server
        .python(
            r#"
sock = raw_plain()
f = sock.makefile('rb')
R['greeting'] = s(f.readline())
sock.sendall(b'NOOP ' + b'x' * 600 + b'\r\nCAPA\r\n')
R['long'] = s(f.readline())
R['capa'] = s(f.readline())
sock.close()

sock = raw_plain()
sock.sendall(b'FOO\r\n' * 10)
R['bad_commands'] = s(read_all(sock))

sock = raw_tls()
try:
    sock.sendall(b'x' * (100 * 1024))
except OSError:
    pass
R['garbage'] = s(read_all(sock))
"#,
        )
        .await;
    assert!(text(&r["greeting"]).starts_with("+OK"));
    assert_eq!(text(&r["long"]), "-ERR Line too long (at most 512 octets)\r\n");
    assert_eq!(text(&r["capa"]), "+OK Capability list follows\r\n", "the session goes on after a long line");
    let bad = text(&r["bad_commands"]);
    assert_eq!(bad.matches("-ERR Unknown command\r\n").count(), 9, "{bad}");
    assert!(bad.ends_with("-ERR Unknown command; too many bad commands, closing connection\r\n"), "{bad}");
    // The connection ends (with the reason, unless the reset overtook it).
    let garbage = text(&r["garbage"]);
    assert!(
        garbage.ends_with("-ERR Line far too long, closing connection\r\n") || garbage.ends_with("<reset>"),
        "{garbage}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_connections_and_idle_sessions_are_closed() {
    let limits = Pop3Limits { max_connections_per_ip: 2, ..Default::default() };
    let server = start(limits).await;
    let r = server
        .python(
            r#"
a = raw_plain(); fa = a.makefile('rb'); R['a'] = s(fa.readline())
b = raw_plain(); fb = b.makefile('rb'); R['b'] = s(fb.readline())
c = raw_plain(); R['c'] = s(read_all(c))
"#,
        )
        .await;
    assert!(text(&r["a"]).starts_with("+OK") && text(&r["b"]).starts_with("+OK"));
    assert_eq!(text(&r["c"]), "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n");

    // Idle: the server hangs up without a word and without an update (RFC 1939 autologout).
    let server = start(Pop3Limits { idle_timeout: Duration::from_secs(1), ..Default::default() }).await;
    server.deliver_three().await;
    let r = server.python("p = tls(); login(p, 'ann@example.com'); p.dele(1); R['idle'] = s(read_all(p.sock))").await;
    assert_eq!(text(&r["idle"]), "");
    assert_eq!(server.inbox(ANN).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_lists_and_retrieves() {
    let server = start(Pop3Limits::default()).await;
    server.deliver_three().await;
    let user = format!("{ANN}:{PASSWORD}");
    let base = format!("pop3s://127.0.0.1:{}", server.pop3s.port());
    let list = server.curl(&["-k", "--user", &user, &format!("{base}/")]).await;
    assert_eq!(list, format!("1 {}\r\n2 {}\r\n3 {}\r\n", MSG1.len(), MSG2.len(), MSG3.len()));
    let one = server.curl(&["-k", "--user", &user, &format!("{base}/1")]).await;
    assert_eq!(one, MSG1);
    // STLS on the plain port, the certificate checked.
    let cafile = server.cafile.to_str().unwrap();
    let url = format!("pop3://127.0.0.1:{}/2", server.pop3.port());
    let two = server.curl(&["--ssl-reqd", "--cacert", cafile, "--user", &user, &url]).await;
    assert_eq!(two, MSG2, "curl gets the message with dot lines back as delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_sessions_without_an_update() {
    let server = start(Pop3Limits::default()).await;
    server.deliver_three().await;
    let mut client = Interactive::start(
        &server,
        r#"
p = tls(); login(p, 'ann@example.com'); p.dele(1)
print(json.dumps(R), flush=True)
sys.stdin.readline()
R['told'] = s(p.file.readline())
R['eof'] = s(p.file.readline())
try:
    plain()
    R['refused'] = False
except ConnectionRefusedError:
    R['refused'] = True
"#,
    );
    client.next().await;
    server.service.shutdown(Duration::from_secs(10)).await;
    client.go().await;
    let r = client.finish().await;
    assert_eq!(text(&r["told"]), "-ERR [SYS/TEMP] The server is shutting down, try again later\r\n");
    assert_eq!(text(&r["eof"]), "");
    assert_eq!(r["refused"], true, "no listener after shutdown");
    assert_eq!(server.inbox(ANN).await.len(), 3, "a session ended by shutdown changes nothing");
    assert!(server.service.listen(Pop3Listener::Pop3, "127.0.0.1:0".parse().unwrap()).await.is_err());
    let _ = &server.dir;
}

#[tokio::test]
async fn listeners_need_a_certificate() {
    let engine = Engine::open_in_memory().await.unwrap();
    let backend: Arc<dyn MailBackend> = Arc::new(engine);
    let service = Pop3Service::builder(backend).build().unwrap();
    for kind in [Pop3Listener::Pop3, Pop3Listener::Pop3s] {
        let e = service.listen(kind, "127.0.0.1:0".parse().unwrap()).await.unwrap_err();
        assert!(e.to_string().contains("needs a certificate"), "{e}");
    }
    assert!(service.listeners().is_empty());
}
