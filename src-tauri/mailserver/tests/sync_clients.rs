//! The mail server with real synchronising clients no one here wrote, on a real engine:
//! mbsync (isync) keeping a whole account and a Maildir in step both ways over IMAPS, and
//! fetchmail draining the INBOX over POP3S.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use postdesk_contract::Backend;
use postdesk_contract::api::*;
use postdesk_contract::mail::{FlagChange, MailStore};
use postdesk_engine::Engine;
use postdesk_mailserver::imap::ImapListener;
use postdesk_mailserver::pop3::Pop3Listener;
use postdesk_mailserver::smtp::ListenerKind;
use postdesk_mailserver::{MailServer, MailServerOptions};

const PASSWORD: &str = "Correct horse 1";
const ANN: &str = "ann@example.com";

async fn organisation(dir: &Path) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    let b = engine.local_backend();
    b.create_domain(CreateDomain { domain: "example.com".into(), limits: None, group: None }).await.unwrap();
    let account = CreateAccount {
        address: ANN.into(),
        password: Some(Password(PASSWORD.into())),
        force_password_change: Some(false),
        ..Default::default()
    };
    b.create_account(account).await.unwrap();
    engine
}

async fn start(dir: &Path, engine: &Engine) -> MailServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = MailServerOptions::defaults(dir);
    options.hostname = Some("mx.example.com".into());
    options.listeners = vec![(ListenerKind::Submission, any)];
    options.imap = vec![(ImapListener::Imap, any), (ImapListener::Imaps, any)];
    options.pop3 = vec![(Pop3Listener::Pop3s, any)];
    options.dns_server = Some(SocketAddr::from(([127, 0, 0, 1], 9)));
    MailServer::start(Arc::new(engine.clone()), options).await.unwrap()
}

fn port<K: PartialEq>(bound: &[(K, SocketAddr)], kind: K) -> u16 {
    bound.iter().find(|(k, _)| *k == kind).unwrap().1.port()
}

/// A message with a subject that names it on both sides.
fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.org>\r\nTo: {ANN}\r\nSubject: {subject}\r\nMessage-ID: <{}@example.org>\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nBody of {subject}.\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

fn subject_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text.lines().find(|l| l.starts_with("Subject: ")).unwrap_or_else(|| panic!("no subject in {text}"));
    line["Subject: ".len()..].trim_end().to_string()
}

/// Runs a client with `HOME` in `home`; returns its exit code and its output.
fn run(program: &str, args: &[&str], home: &Path) -> (i32, String) {
    let out = Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("FETCHMAILHOME", home)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install it: apt-get install isync fetchmail)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// `mbsync -a`, which must succeed.
async fn mbsync(rc: &Path, home: &Path) {
    let (rc, home) = (rc.display().to_string(), home.to_path_buf());
    let (code, text) =
        tokio::task::spawn_blocking(move || run("mbsync", &["-V", "-c", &rc, "-a"], &home)).await.unwrap();
    assert_eq!(code, 0, "mbsync -a failed:\n{text}");
    println!("mbsync -a:\n{text}");
}

/// Maildir info letters (`:2,FS`) as IMAP flags.
fn maildir_flags(name: &str) -> BTreeSet<String> {
    let info = name.rsplit_once(":2,").map(|(_, info)| info).unwrap_or("");
    info.chars()
        .filter_map(|c| match c {
            'D' => Some("\\Draft"),
            'F' => Some("\\Flagged"),
            'R' => Some("\\Answered"),
            'S' => Some("\\Seen"),
            'T' => Some("\\Deleted"),
            _ => None,
        })
        .map(String::from)
        .collect()
}

/// One side of the sync: folder → its messages as (subject, system flags), sorted, so a
/// message that went missing or came twice shows.
type View = BTreeMap<String, Vec<(String, BTreeSet<String>)>>;

/// A folder's messages written out: (subject, flags).
type Listed<'a> = &'a [(&'a str, &'a [&'a str])];

/// A [`View`] from a literal.
fn view(folders: &[(&str, Listed)]) -> View {
    let messages = |list: Listed| {
        let mut list: Vec<_> =
            list.iter().map(|(s, f)| (s.to_string(), f.iter().map(|f| f.to_string()).collect())).collect();
        list.sort();
        list
    };
    folders.iter().map(|(name, list)| (name.to_string(), messages(list))).collect()
}

/// The messages' files of a Maildir folder (in `cur/` and `new/`).
fn maildir_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        for entry in std::fs::read_dir(folder.join(sub)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

/// The local side: every Maildir under `root` (a folder is a directory with `cur/`), named
/// as on the server (`SubFolders Verbatim`: `Projects/2026` is `root/Projects/2026`).
fn local_view(root: &Path) -> View {
    fn walk(root: &Path, dir: &Path, view: &mut View) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_dir() || ["cur", "new", "tmp"].iter().any(|s| path.ends_with(s)) {
                continue;
            }
            if path.join("cur").is_dir() {
                let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let mut messages: Vec<_> = maildir_files(&path)
                    .into_iter()
                    .map(|file| {
                        let name = file.file_name().unwrap().to_string_lossy().into_owned();
                        (subject_of(&std::fs::read(&file).unwrap()), maildir_flags(&name))
                    })
                    .collect();
                messages.sort();
                view.insert(name, messages);
            }
            walk(root, &path, view);
        }
    }
    let mut view = View::new();
    walk(root, root, &mut view);
    view
}

const SYSTEM_FLAGS: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

/// The server side, read from the store (not over IMAP).
async fn server_view(engine: &Engine) -> View {
    let mut view = View::new();
    for folder in MailStore::folders(engine, ANN).await.unwrap() {
        let mut messages = Vec::new();
        for m in MailStore::messages(engine, ANN, &folder.name).await.unwrap() {
            let raw = MailStore::message_bytes(engine, ANN, &folder.name, m.uid).await.unwrap();
            let flags = m.flags.into_iter().filter(|f| SYSTEM_FLAGS.contains(&f.as_str())).collect();
            messages.push((subject_of(&raw), flags));
        }
        messages.sort();
        view.insert(folder.name, messages);
    }
    view
}

/// Everything about the server's mailbox a no-op sync must leave alone.
async fn server_state(engine: &Engine) -> Vec<(String, u32, u32, Vec<(u32, Vec<String>, u64)>)> {
    let mut state = Vec::new();
    for f in MailStore::folders(engine, ANN).await.unwrap() {
        let messages = MailStore::messages(engine, ANN, &f.name).await.unwrap();
        let messages = messages.into_iter().map(|m| (m.uid, m.flags, m.modseq)).collect();
        state.push((f.name, f.uidvalidity, f.uidnext, messages));
    }
    state
}

/// Every file and directory under `root`, for "nothing changed".
fn local_state(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            }
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out.sort();
    out
}

/// The UID of the message with `subject` in a server folder.
async fn uid(engine: &Engine, folder: &str, subject: &str) -> u32 {
    for m in MailStore::messages(engine, ANN, folder).await.unwrap() {
        if subject_of(&MailStore::message_bytes(engine, ANN, folder, m.uid).await.unwrap()) == subject {
            return m.uid;
        }
    }
    panic!("no {subject:?} in {folder} on the server")
}

/// The file in a local folder whose message has `subject`.
fn local_file(folder: &Path, subject: &str) -> PathBuf {
    maildir_files(folder)
        .into_iter()
        .find(|f| subject_of(&std::fs::read(f).unwrap()) == subject)
        .unwrap_or_else(|| panic!("no {subject:?} in {}", folder.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn mbsync_keeps_a_maildir_and_the_account_in_step_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    // Mail on the server before the first sync: the INBOX, a folder and a subfolder.
    engine.deliver(ANN, &message("inbox one")).await.unwrap();
    engine.deliver(ANN, &message("inbox two")).await.unwrap();
    MailStore::create_folder(&engine, ANN, "Projects").await.unwrap();
    MailStore::create_folder(&engine, ANN, "Projects/2026").await.unwrap();
    MailStore::append(&engine, ANN, "Projects", &message("project plan"), &["\\Seen".into()]).await.unwrap();
    MailStore::append(&engine, ANN, "Projects/2026", &message("budget"), &["\\Flagged".into()]).await.unwrap();
    let server = start(dir.path(), &engine).await;
    let imaps = port(&server.imap_bound(), ImapListener::Imaps);

    let home = tempfile::tempdir().unwrap();
    let mail = home.path().join("Mail");
    std::fs::create_dir(&mail).unwrap();
    let rc = home.path().join(".mbsyncrc");
    let cert = dir.path().join("smtp-cert.pem");
    // isync 1.4's keywords (`SSLType`, not 1.5's `TLSType`). The certificate names localhost
    // and mx.example.com, not 127.0.0.1: isync accepts a server certificate listed in
    // `CertificateFile` whatever the host name, so verification still pins this one.
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount postdesk\nHost 127.0.0.1\nPort {imaps}\nUser {ANN}\nPass \"{PASSWORD}\"\nSSLType IMAPS\n\
             CertificateFile {cert}\n\n\
             IMAPStore postdesk-remote\nAccount postdesk\n\n\
             MaildirStore postdesk-local\nPath {mail}/\nInbox {mail}/INBOX\nSubFolders Verbatim\n\n\
             Channel postdesk\nFar :postdesk-remote:\nNear :postdesk-local:\nPatterns *\nCreate Both\n\
             Expunge Both\nSyncState *\n",
            cert = cert.display(),
            mail = mail.display(),
        ),
    )
    .unwrap();

    // 1. The first sync brings the whole account down.
    mbsync(&rc, home.path()).await;
    let local = local_view(&mail);
    let expected = view(&[
        ("INBOX", &[("inbox one", &[]), ("inbox two", &[])]),
        ("Projects", &[("project plan", &["\\Seen"])]),
        ("Projects/2026", &[("budget", &["\\Flagged"])]),
        ("Sent", &[]),
        ("Drafts", &[]),
        ("Junk", &[]),
        ("Trash", &[]),
    ]);
    assert_eq!(local, expected, "the Maildir after the first sync");
    assert_eq!(server_view(&engine).await, expected, "the server after the first sync");

    // 2. Changes on both sides.
    // Locally: a new message in Projects (as a client that files a copy writes it), one
    // INBOX message flagged and seen, the other deleted.
    std::fs::write(mail.join("Projects/cur/1772445600.P1Q1.laptop:2,S"), message("written locally")).unwrap();
    let one = local_file(&mail.join("INBOX"), "inbox one");
    let name = one.file_name().unwrap().to_string_lossy().into_owned();
    let base = name.rsplit_once(":2,").map(|(b, _)| b.to_string()).unwrap_or(name);
    std::fs::rename(&one, mail.join("INBOX/cur").join(format!("{base}:2,FS"))).unwrap();
    std::fs::remove_file(local_file(&mail.join("INBOX"), "inbox two")).unwrap();
    // On the server: a new message in Projects/2026, and the project plan answered.
    MailStore::append(&engine, ANN, "Projects/2026", &message("written on the server"), &[]).await.unwrap();
    let plan = uid(&engine, "Projects", "project plan").await;
    MailStore::store_flags(&engine, ANN, "Projects", &[plan], FlagChange::Add, &["\\Answered".into()], None)
        .await
        .unwrap();

    mbsync(&rc, home.path()).await;
    let expected = view(&[
        ("INBOX", &[("inbox one", &["\\Flagged", "\\Seen"])]),
        ("Projects", &[("project plan", &["\\Answered", "\\Seen"]), ("written locally", &["\\Seen"])]),
        ("Projects/2026", &[("budget", &["\\Flagged"]), ("written on the server", &[])]),
        ("Sent", &[]),
        ("Drafts", &[]),
        ("Junk", &[]),
        ("Trash", &[]),
    ]);
    // The server: the local flags arrived, the deleted message is expunged (not merely
    // flagged \Deleted), the local message was appended.
    assert_eq!(server_view(&engine).await, expected, "the server after the second sync");
    assert_eq!(MailStore::messages(&engine, ANN, "INBOX").await.unwrap().len(), 1, "inbox two expunged");
    // The Maildir: the server's message and flag arrived.
    assert_eq!(local_view(&mail), expected, "the Maildir after the second sync");

    // 3. A third sync changes nothing on either side.
    let (before_server, before_local) = (server_state(&engine).await, local_state(&mail));
    mbsync(&rc, home.path()).await;
    assert_eq!(server_state(&engine).await, before_server, "a sync with nothing to do changed the server");
    assert_eq!(local_state(&mail), before_local, "a sync with nothing to do changed the Maildir");
    assert_eq!(local_view(&mail), expected);
    server.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fetchmail_drains_the_inbox_over_pop3s() {
    let dir = tempfile::tempdir().unwrap();
    let engine = organisation(dir.path()).await;
    for subject in ["first for fetchmail", "second for fetchmail", "third for fetchmail"] {
        engine.deliver(ANN, &message(subject)).await.unwrap();
    }
    let server = start(dir.path(), &engine).await;
    let pop3s = port(&server.pop3_bound(), Pop3Listener::Pop3s);

    let home = tempfile::tempdir().unwrap();
    let spool = home.path().join("fetched.mbox");
    let rc = home.path().join(".fetchmailrc");
    // The certificate names localhost, not 127.0.0.1: `sslcommonname` is the name fetchmail
    // checks it against (with `sslcertck`, against the certificate itself as the trust anchor).
    std::fs::write(
        &rc,
        format!(
            "set no bouncemail\n\
             poll 127.0.0.1 with protocol pop3 service {pop3s}\n\
             \tuser \"{ANN}\" there with password \"{PASSWORD}\"\n\
             \tssl sslcertfile \"{cert}\" sslcertck sslcommonname localhost\n\
             \tfetchall no keep\n\
             \tmda \"cat >> {spool}\"\n",
            cert = dir.path().join("smtp-cert.pem").display(),
            spool = spool.display(),
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let fetch = {
        let (rc, home) = (rc.display().to_string(), home.path().to_path_buf());
        move || run("fetchmail", &["-f", &rc, "-v", "--nosyslog", "--nodetach"], &home)
    };

    let (code, text) = tokio::task::spawn_blocking(fetch.clone()).await.unwrap();
    println!("fetchmail:\n{text}");
    assert_eq!(code, 0, "fetchmail should have fetched mail:\n{text}");
    let fetched = std::fs::read_to_string(&spool).unwrap_or_default();
    for subject in ["first for fetchmail", "second for fetchmail", "third for fetchmail"] {
        let line = format!("Subject: {subject}");
        let copies = fetched.lines().filter(|l| l.trim_end() == line).count();
        assert_eq!(copies, 1, "{subject}:\n{fetched}\n{text}");
    }
    // Not `keep`: fetchmail deleted what it fetched, and the deletions took at QUIT.
    let left = MailStore::messages(&engine, ANN, "INBOX").await.unwrap();
    assert!(left.is_empty(), "the INBOX after fetchmail: {left:?}\n{text}");

    // Again: nothing new (fetchmail's exit code 1).
    let (code, text) = tokio::task::spawn_blocking(fetch).await.unwrap();
    println!("fetchmail again:\n{text}");
    assert_eq!(code, 1, "fetchmail should have found no mail:\n{text}");
    assert_eq!(std::fs::read_to_string(&spool).unwrap(), fetched, "nothing more was delivered");
    server.shutdown(std::time::Duration::from_secs(5)).await;
}
