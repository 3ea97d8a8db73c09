//! The app's local mode with its mail server, no window: `AppState::open` on a fresh data
//! folder starts the SMTP listeners (here on free loopback ports), a real client (swaks)
//! submits a message, and it is found in the INBOX through the app's local backend. A busy
//! port is reported in the status and leaves the rest of the app working.
//!
//! Needs `swaks` (Debian: apt-get install -y swaks).

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postdesk_app::local_smtp::{
    LocalSmtpListenerKind, LocalSmtpSettings, LocalSmtpStatus, SETTINGS_FILE, SmtpOverrides,
};
use postdesk_app::secret::MemoryStore;
use postdesk_app::state::AppState;
use postdesk_contract::ErrorCode;
use serde_json::{Value, json};

const PASSWORD: &str = "Correct horse 1";

async fn open(dir: &std::path::Path, overrides: &SmtpOverrides) -> AppState {
    AppState::open(dir, Arc::new(MemoryStore::default()), None, overrides).await.unwrap()
}

fn listener(status: &LocalSmtpStatus, kind: LocalSmtpListenerKind) -> SocketAddr {
    let l = status.listeners.iter().find(|l| l.kind == kind).unwrap_or_else(|| panic!("no {kind:?} in {status:?}"));
    l.address.parse().unwrap()
}

async fn call(state: &AppState, operation: &str, params: Value) -> Value {
    state.backends.call("local", operation, params).await.unwrap_or_else(|e| panic!("{operation}: {e:?}"))
}

/// The INBOX's subjects once `count` messages are there (delivery runs behind the 250).
async fn inbox(state: &AppState, address: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listing = call(state, "list_messages", json!({"address": address, "folder": "INBOX"})).await;
        let items = listing["items"].as_array().unwrap();
        if items.len() >= count || Instant::now() > deadline {
            return items.iter().map(|m| m["subject"].as_str().unwrap_or_default().to_string()).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks").args(args).output().expect("swaks (apt-get install swaks)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// ann@example.com submits a message to herself on `port`: `tls` is `--tls` (STARTTLS)
/// or `--tlsc` (implicit TLS).
fn submit(port: u16, tls: &str, auth: &str, password: &str, subject: &str) -> (bool, String) {
    let (port, subject) = (port.to_string(), format!("Subject: {subject}"));
    let me = "ann@example.com";
    let mut args = vec!["--server", "127.0.0.1", "--port", &port, tls, "--auth", auth, "--auth-user", me];
    args.extend(["--auth-password", password, "--from", me, "--to", me, "--header", &subject]);
    args.extend(["--body", "Delivered by the desktop app's local mode."]);
    swaks(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_mode_receives_mail_into_the_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path(), &SmtpOverrides::free_ports()).await;
    let status = state.smtp.status().await;
    assert!(status.running, "{status:?}");
    assert_eq!(status.error, None);
    let kinds: Vec<_> = status.listeners.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [LocalSmtpListenerKind::Mx, LocalSmtpListenerKind::Submission, LocalSmtpListenerKind::Submissions]
    );
    assert!(status.listeners.iter().all(|l| !l.address.ends_with(":0")), "{status:?}");
    // The spool and the self-signed certificate live in the app's data folder.
    assert!(dir.path().join("spool").is_dir());
    assert!(dir.path().join("smtp-cert.pem").is_file() && dir.path().join("smtp-key.pem").is_file());

    call(&state, "create_domain", json!({"domain": "example.com"})).await;
    call(&state, "create_account", json!({"address": "ann@example.com", "password": PASSWORD})).await;

    // Submission with STARTTLS and AUTH, as a mail client would.
    let submission = listener(&status, LocalSmtpListenerKind::Submission);
    let (ok, transcript) = submit(submission.port(), "--tls", "PLAIN", PASSWORD, "hello from the app");
    assert!(ok && transcript.contains("<~  250 "), "{transcript}");
    // Over implicit TLS too.
    let smtps = listener(&status, LocalSmtpListenerKind::Submissions).port();
    let (ok, transcript) = submit(smtps, "--tlsc", "LOGIN", PASSWORD, "second over TLS");
    assert!(ok, "{transcript}");

    let mut subjects = inbox(&state, "ann@example.com", 2).await;
    subjects.sort();
    assert_eq!(subjects, ["hello from the app", "second over TLS"]);

    // A wrong password is refused by the same engine (and counted there).
    let (ok, transcript) = submit(submission.port(), "--tls", "PLAIN", "wrong", "never sent");
    assert!(!ok && transcript.contains("535"), "{transcript}");

    // Closing the app stops the listeners.
    state.close().await;
    assert!(TcpStream::connect(submission).is_err(), "the submission port still answers after close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_port_is_reported_and_the_app_works_all_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let overrides = SmtpOverrides { mx_listen: Some(busy.clone()), ..SmtpOverrides::free_ports() };
    let state = open(dir.path(), &overrides).await;

    let status = state.smtp.status().await;
    assert!(!status.running);
    assert!(status.listeners.is_empty());
    let error = status.error.clone().expect("the reason is kept");
    assert!(error.contains(&format!("cannot listen for SMTP (mx) on {busy}")), "{error}");
    assert!(error.to_lowercase().contains("in use"), "{error}");
    // Nothing of the failed start is left listening.
    assert_eq!(status.settings.mx_listen, busy);

    // The rest of the app works.
    assert_eq!(call(&state, "whoami", json!({})).await["role"], "owner");
    call(&state, "create_domain", json!({"domain": "example.com"})).await;
    assert_eq!(state.backends.list().await[0].id, "local");

    // Retrying on the busy port says so again, naming the field; bad input changes nothing.
    let again = state.smtp.start(status.settings.clone()).await.unwrap_err();
    assert_eq!((again.code, again.field.as_deref()), (ErrorCode::Unavailable, Some("mx_listen")));
    let bad = LocalSmtpSettings { submission_listen: "nowhere".into(), ..status.settings.clone() };
    assert_eq!(state.smtp.start(bad).await.unwrap_err().field.as_deref(), Some("submission_listen"));
    let saved: LocalSmtpSettings =
        serde_json::from_slice(&std::fs::read(dir.path().join(SETTINGS_FILE)).unwrap()).unwrap();
    assert_eq!(saved.mx_listen, busy);

    // Another port works, and is saved for the next launch.
    let free = LocalSmtpSettings { mx_listen: "127.0.0.1:0".into(), start_on_launch: false, ..status.settings.clone() };
    let started = state.smtp.start(free).await.unwrap();
    assert!(started.running && started.error.is_none(), "{started:?}");
    let mx = listener(&started, LocalSmtpListenerKind::Mx);
    let mut greeting = String::new();
    {
        use std::io::BufRead;
        let stream = TcpStream::connect(mx).unwrap();
        std::io::BufReader::new(stream).read_line(&mut greeting).unwrap();
    }
    assert!(greeting.starts_with("220 "), "{greeting}");

    let stopped = state.smtp.stop().await;
    assert!(!stopped.running && stopped.listeners.is_empty());
    assert!(TcpStream::connect(mx).is_err());
    state.close().await;

    // The saved settings say not to start at launch: the next launch does not.
    let relaunched = open(dir.path(), &SmtpOverrides::default()).await;
    let status = relaunched.smtp.status().await;
    assert!(!status.running && status.error.is_none(), "{status:?}");
    assert_eq!(status.settings.mx_listen, "127.0.0.1:0");
    relaunched.close().await;
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_data_folder_has_one_mail_server() {
    // The app and `postdesk serve` share the data folder: the second to start is told the
    // spool is in use, and its own listeners are not opened.
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), &SmtpOverrides::free_ports()).await;
    assert!(first.smtp.status().await.running);
    let second = open(dir.path(), &SmtpOverrides::free_ports()).await;
    let status = second.smtp.status().await;
    assert!(!status.running && status.listeners.is_empty(), "{status:?}");
    let error = status.error.unwrap_or_default();
    assert!(error.contains("in use by another Postdesk mail server"), "{error}");
    second.close().await;
    // The first one still takes mail.
    let mx = listener(&first.smtp.status().await, LocalSmtpListenerKind::Mx);
    let mut greeting = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(TcpStream::connect(mx).unwrap()), &mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    first.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_keeps_its_data_folder_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // A data folder someone left readable (as a desktop's umask 022 makes it), with a file in it.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("left-over"), b"x").unwrap();
    std::fs::set_permissions(dir.join("left-over"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let state = open(&dir, &SmtpOverrides::free_ports()).await;
    assert_eq!(mode(&dir), 0o700);
    for file in ["postdesk.db", "left-over", "smtp-key.pem"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    state.close().await;
}
