//! The `postdesk` binary end to end: exit codes, messages, JSON, local and remote.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::Ran;

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        Run { dir: tempfile::tempdir().unwrap() }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--data-dir").arg(self.dir.path()).env_remove("POSTDESK_URL").env_remove("POSTDESK_TOKEN");
        c
    }

    /// Runs with args; the assertions on the result print everything when they fail.
    #[track_caller]
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Ran {
        let mut c = self.cmd();
        c.args(args);
        common::run(c, stdin)
    }

    /// Runs with args and expects success.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> Ran {
        let out = self.run(args, None);
        out.assert_ok();
        out
    }

    /// Expects exit code 1 with `needle` in the message on stderr.
    #[track_caller]
    fn refused(&self, args: &[&str], needle: &str) {
        let out = self.run(args, None);
        out.assert_code(1).assert_stderr_contains(needle);
        out.check(out.output.stdout.is_empty(), "refusals print nothing on stdout");
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        self.ok(&full).json()
    }
}

#[test]
fn manages_the_organisation_with_exit_codes_and_json() {
    let r = Run::new();
    r.ok(&["domain", "add", "Example.com", "--max-accounts", "3"]);
    r.ok(&["dept", "add", "example.com", "Sales/East", "--parents"]);
    r.ok(&["accounts", "add", "Ann@example.com", "--name", "Ann Lee", "--dept", "Sales/East"]);
    r.ok(&["accounts", "add", "bob@example.com", "--name", "Bob"]);
    let page = r.json(&["accounts", "list", "example.com", "--query", "ann"]);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["address"], "ann@example.com");
    assert_eq!(page["items"][0]["department"], "Sales/East");
    r.ok(&["accounts", "list", "example.com"]).assert_stdout(
        |text| text.starts_with("ADDRESS") && text.contains("ann@example.com") && text.contains("(1–2 of 2)"),
        "the accounts table and its paging line",
    );

    // Refusals: exit 1, a specific message, nothing changed.
    r.refused(&["accounts", "add", "ANN@example.com"], "already used by an account");
    r.refused(&["accounts", "add", "not an address"], "no @");
    r.refused(&["accounts", "add", "x@unknown.example"], "domain unknown.example does not exist");
    r.refused(&["dept", "move", "example.com", "Sales", "--to", "Sales/East"], "inside itself");
    r.refused(&["alias", "add", "loop@example.com", "loop@example.com"], "itself");
    r.ok(&["accounts", "add", "carl@example.com"]);
    r.refused(&["accounts", "add", "dora@example.com"], "plan limit of 3");
    assert_eq!(r.json(&["domain", "show", "example.com"])["account_count"], 3);

    r.ok(&["alias", "add", "team@example.com", "ann@example.com", "bob@example.com"]);
    r.ok(&["alias", "add", "all@example.com", "team@example.com"]);
    r.refused(&["alias", "set", "team@example.com", "--targets", "all@example.com"], "loop");
    let resolved = r.json(&["alias", "resolve", "all@example.com"]);
    assert_eq!(resolved["mailboxes"], serde_json::json!(["ann@example.com", "bob@example.com"]));

    // Usage errors exit 2.
    r.run(&["accounts", "frobnicate"], None).assert_code(2);
    r.run(&["accounts", "list"], None).assert_code(2);
}

#[test]
fn passwords_come_from_stdin_and_are_never_printed() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.run(&["accounts", "add", "ann@example.com", "--password-stdin"], Some("Secret pass 1\n")).assert_ok();
    r.ok(&["accounts", "show", "ann@example.com"])
        .assert_stdout(|shown| shown.contains("has_password: true") && !shown.contains("Secret"), "no password");
    r.run(&["accounts", "set-password", "ann@example.com", "--password-stdin"], Some("weak\n"))
        .assert_code(1)
        .assert_stderr_contains("too short");
    r.run(&["accounts", "set-password", "nobody@example.com", "--password-stdin"], Some("Whatever 12\n"))
        .assert_stderr_contains("account nobody@example.com does not exist");
    r.ok(&["--json", "audit", "--limit", "100"])
        .assert_stdout(|audit| !audit.contains("Secret pass 1") && !audit.contains("argon2"), "no password");
}

#[test]
fn logins_say_why_a_login_was_refused() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.run(&["accounts", "add", "ann@example.com", "--password-stdin"], Some("Secret pass 1\n")).assert_ok();
    // Login attempts as the IMAP service makes them, on the same data folder.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use postdesk_contract::mail::{LoginAttempt, LoginService};
        let engine = postdesk_engine::Engine::open(r.dir.path()).await.unwrap();
        let client = std::net::Ipv4Addr::new(192, 0, 2, 9).into();
        for (login, password) in
            [("ann@example.com", "Secret pass 1"), ("ann@example.com", "nope"), ("anne@example.com", "x")]
        {
            engine.verify_login(LoginAttempt { login, password, service: LoginService::Imap, client }).await.unwrap();
        }
        engine.close().await;
    });
    r.ok(&["logins", "--account", "ann@example.com"]).assert_stdout(
        |out| {
            let lines: Vec<&str> = out.lines().collect();
            lines.len() == 3
                && lines[0].starts_with("ID")
                && lines[0].contains("WHY")
                && lines[1].contains("imap")
                && lines[1].contains("192.0.2.9")
                && lines[1].ends_with("wrong password")
                && lines[2].contains("accepted")
                && lines[2].ends_with("logged in")
        },
        "a table, newest first, the reason in words",
    );
    let page = r.json(&["logins", "--domain", "example.com", "--limit", "1"]);
    assert_eq!(page["items"][0]["login"], "anne@example.com");
    assert_eq!(page["items"][0]["reason"], "unknown_address");
    let before = page["next_before"].as_u64().expect("an older page");
    let older = r.json(&["logins", "--domain", "example.com", "--before", &before.to_string()]);
    assert_eq!(older["items"].as_array().unwrap().len(), 2);
    assert_eq!(older["next_before"], serde_json::Value::Null);
    r.refused(&["logins", "--domain", "not a domain"], "domain");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on a free loopback port; returns it, its URL and the first-start token.
fn serve(r: &Run, extra: &[&str]) -> (Server, String, String) {
    let s = start_serve(r, "127.0.0.1", true, extra);
    (s.server, s.url, s.token)
}

/// A started `serve` and what it printed up to its "listening" line.
struct Started {
    server: Server,
    url: String,
    token: String,
    lines: Vec<String>,
}

/// Starts `serve` with its admin API on a free port of `ip`, and its mail services (when
/// `mail`) on free loopback ports.
fn start_serve(r: &Run, ip: &str, mail: bool, extra: &[&str]) -> Started {
    let port = std::net::TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().port();
    let listen = format!("{ip}:{port}");
    // A bad option is refused before anything happens (the first token is not spent).
    let mut c = r.cmd();
    c.args(["serve", "--listen", &listen, "--ui", "/nonexistent-ui"]).args(extra);
    common::run(c, None).assert_code(1).assert_stderr_contains("has no index.html");

    let mut c = r.cmd();
    c.args(["serve", "--listen", &listen]);
    if mail {
        c.args(["--smtp-listen", "127.0.0.1:0", "--submission-listen", "127.0.0.1:0", "--smtps-listen", "127.0.0.1:0"])
            .args(["--imap-listen", "127.0.0.1:0", "--imaps-listen", "127.0.0.1:0"])
            .args(["--pop3-listen", "127.0.0.1:0", "--pop3s-listen", "127.0.0.1:0"]);
    }
    c.args(extra).env_remove("POSTDESK_UI_DIR").stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut token, mut url, mut lines) = (String::new(), String::new(), Vec::new());
    for line in out.by_ref() {
        let line = line.unwrap();
        if line.starts_with("pd_") {
            token = line.trim().to_string();
        }
        lines.push(line.clone());
        if let Some(rest) = line.strip_prefix("Postdesk admin API listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in out {});
    Started { server: Server(child), url, token, lines }
}

#[test]
fn serve_shows_the_first_token_once_and_the_cli_works_remotely() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    let (server, url, token) = serve(&r, &[]);
    assert!(token.starts_with("pd_"), "first start prints the owner's token");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let remote = |args: &[&str], token: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--remote").arg(&url).args(args).env("POSTDESK_TOKEN", token);
        common::run(c, None)
    };
    let domains = remote(&["--json", "domain", "list"], &token).assert_ok().json();
    assert_eq!(domains[0]["name"], "example.com");
    remote(&["accounts", "add", "rem@example.com"], &token).assert_ok();
    // The same data behind both.
    r.ok(&["accounts", "show", "rem@example.com"]).assert_stdout_contains("rem@example.com");
    remote(&["domain", "list"], "pd_wrong_token").assert_code(1).assert_stderr_contains("not valid");
    // The token rotates itself: the successor works, then it revokes the old one.
    let old_id = token.split('_').nth(1).unwrap();
    let new = remote(&["--json", "admin", "token-rotate", old_id], &token).assert_ok().json();
    let new_secret = new["secret"].as_str().unwrap().to_string();
    assert_eq!(new["token"]["admin"], "owner");
    remote(&["admin", "token-revoke", old_id], &new_secret).assert_ok();
    remote(&["domain", "list"], &token).assert_code(1).assert_stderr_contains("not valid");
    remote(&["domain", "list"], &new_secret).assert_ok().assert_stdout_contains("example.com");
    drop(server);

    // A second start shows no token: it was shown once.
    let (_server, _, token) = serve(&r, &[]);
    assert!(token.is_empty());
}

#[test]
fn serve_on_tls_presents_the_self_signed_certificate_kept_in_the_data_folder() {
    let r = Run::new();
    let (_server, url, token) = serve(&r, &["--tls"]);
    assert!(url.starts_with("https://"), "{url}");
    let cert = r.dir.path().join("tls-cert.pem");
    assert!(cert.is_file());
    let key_mode = std::fs::metadata(r.dir.path().join("tls-key.pem")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key_mode.permissions().mode() & 0o777, 0o600, "private key readable by its owner only");
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.args(["--remote", &url, "--ca-cert"]).arg(&cert).args(["domain", "list"]).env("POSTDESK_TOKEN", &token);
    common::run(c, None).assert_ok();
    // Without trusting the certificate, the connection is refused, not downgraded.
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.args(["--remote", &url, "domain", "list"]).env("POSTDESK_TOKEN", &token);
    common::run(c, None).assert_code(1).assert_stderr_contains("cannot reach the backend");
}

/// The CLI as a client of the admin API at `url`, trusting the certificate `ca` if given.
fn remote(url: &str, token: &str, ca: Option<&std::path::Path>, args: &[&str]) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    c.args(["--remote", url]);
    if let Some(ca) = ca {
        c.arg("--ca-cert").arg(ca);
    }
    c.args(args).env("POSTDESK_TOKEN", token).env_remove("POSTDESK_DATA_DIR");
    common::run(c, None)
}

#[test]
fn serve_beyond_loopback_speaks_only_tls() {
    let r = Run::new();
    // Listening on every address (reached here over loopback), without --tls.
    let s = start_serve(&r, "0.0.0.0", false, &["--no-smtp"]);
    assert!(s.url.starts_with("https://0.0.0.0:"), "{}", s.url);
    let port = s.url.rsplit(':').next().unwrap();
    let cert = r.dir.path().join("tls-cert.pem");
    remote(&format!("https://localhost:{port}"), &s.token, Some(&cert), &["domain", "list"]).assert_ok();
    // Plain HTTP gets no answer.
    remote(&format!("http://127.0.0.1:{port}"), &s.token, None, &["domain", "list"])
        .assert_code(1)
        .assert_stderr_contains("cannot reach the backend");
}

#[test]
fn serve_presents_the_certificate_given_with_tls_cert_and_tls_key() {
    let r = Run::new();
    let files = tempfile::tempdir().unwrap();
    let mine = postdesk_server::tls::Identity::self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (files.path().join("mine-cert.pem"), files.path().join("mine-key.pem"));
    std::fs::write(&cert, &mine.cert_pem).unwrap();
    std::fs::write(&key, &mine.key_pem).unwrap();
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let s = start_serve(&r, "127.0.0.1", false, &["--no-smtp", "--tls-cert", cert_arg, "--tls-key", key_arg]);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let printed = format!("TLS certificate SHA-256: {}", mine.fingerprint().unwrap());
    assert!(s.lines.contains(&printed), "serve names the given certificate: {:?}", s.lines);
    remote(&s.url, &s.token, Some(&cert), &["domain", "list"]).assert_ok();
    // No self-signed certificate was made instead.
    assert!(!r.dir.path().join("tls-cert.pem").exists());
    // A certificate that is not the given one is not trusted for it.
    let other = files.path().join("other.pem");
    std::fs::write(&other, postdesk_server::tls::Identity::self_signed(&["localhost".into()]).unwrap().cert_pem)
        .unwrap();
    remote(&s.url, &s.token, Some(&other), &["domain", "list"]).assert_code(1);
}

#[test]
fn serve_with_no_smtp_runs_no_mail_service() {
    let r = Run::new();
    let s = start_serve(&r, "127.0.0.1", false, &["--no-smtp"]);
    let mail = ["SMTP ", "IMAP ", "POP3 "];
    assert!(!s.lines.iter().any(|l| mail.iter().any(|m| l.starts_with(m))), "no mail listener: {:?}", s.lines);
    let status = remote(&s.url, &s.token, None, &["--json", "smtp", "status"]).assert_ok().json();
    assert_eq!(status["running"], false, "{status}");
    assert_eq!(status["listeners"].as_array().map(Vec::len), Some(0), "{status}");
    // With the mail services, the same status lists them (the token is the first start's).
    let token = s.token.clone();
    drop(s);
    let s = start_serve(&r, "127.0.0.1", true, &[]);
    let status = remote(&s.url, &token, None, &["--json", "smtp", "status"]).assert_ok().json();
    assert_eq!(status["running"], true, "{status}");
}

#[test]
fn a_second_serve_is_refused_while_the_first_holds_the_spool() {
    let r = Run::new();
    let first = start_serve(&r, "127.0.0.1", true, &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = r.cmd();
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--smtp-listen", "127.0.0.1:0", "--submission-listen", "127.0.0.1:0", "--smtps-listen", "127.0.0.1:0"])
        .args(["--imap-listen", "127.0.0.1:0", "--imaps-listen", "127.0.0.1:0"])
        .args(["--pop3-listen", "127.0.0.1:0", "--pop3s-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // It must stop by itself; one that serves is killed and fails the test.
    let mut second = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while second.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            let out = second.wait_with_output().unwrap();
            panic!("a second serve runs on the same data folder:\n{}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = second.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("is in use by another Postdesk mail server"), "{stderr}");
    assert!(!stdout.contains("listening on"), "it serves nothing: {stdout}");
    // The first one goes on.
    remote(&first.url, &first.token, None, &["domain", "add", "example.com"]).assert_ok();
}

/// Moves the deletion of `address` back `days` days in the data folder's database (with
/// Python's sqlite3, while no server runs).
fn backdate_deletion(dir: &std::path::Path, address: &str, days: u32) {
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        n = db.execute(\"UPDATE recycle_bin SET deleted_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?) \
        WHERE account_id = (SELECT id FROM accounts WHERE address = ?)\", (f'-{sys.argv[3]} days', sys.argv[2])).rowcount\n\
        db.commit()\n\
        assert n == 1, n\n";
    let db = dir.join("postdesk.db");
    let mut c = Command::new("python3");
    c.args(["-c", script]).arg(db).arg(address).arg(days.to_string());
    common::run(c, None).assert_ok();
}

#[test]
fn serve_purges_accounts_past_the_recycle_bins_retention() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    for a in ["ann@example.com", "bob@example.com"] {
        r.ok(&["accounts", "add", a]);
        r.ok(&["accounts", "remove", a]);
    }
    // ann was deleted 40 days ago (the retention is 30 days), bob just now.
    backdate_deletion(r.dir.path(), "ann@example.com", 40);
    let s = start_serve(&r, "127.0.0.1", false, &["--no-smtp"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let audit = remote(&s.url, &s.token, None, &["--json", "audit"]).assert_ok().json();
        let purged: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "purge_account")
            .map(|e| e["target"].as_str().unwrap())
            .collect();
        if !purged.is_empty() {
            assert_eq!(purged, ["ann@example.com"]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "serve purged nothing: {audit}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    r.refused(&["accounts", "show", "ann@example.com"], "ann@example.com");
    r.ok(&["accounts", "show", "bob@example.com"]);
}

#[test]
fn a_restore_is_refused_after_the_retention() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    for a in ["ann@example.com", "bob@example.com"] {
        r.ok(&["accounts", "add", a]);
        r.ok(&["accounts", "remove", a]);
    }
    // ann was deleted 31 days ago: one day past the 30-day retention.
    backdate_deletion(r.dir.path(), "ann@example.com", 31);
    r.refused(&["accounts", "restore", "ann@example.com"], "past its retention");
    r.ok(&["accounts", "show", "ann@example.com"]).assert_stdout_contains("status: deleted");
    // bob, deleted just now, comes back.
    r.ok(&["accounts", "restore", "bob@example.com"]);
    r.ok(&["accounts", "show", "bob@example.com"]).assert_stdout_contains("status: active");
}

use crate::knot;

#[test]
fn dns_keys_and_setup_against_a_real_dns_server() {
    let r = Run::new();
    r.ok(&["domain", "add", "wizard.test"]);
    r.ok(&["dns", "keys", "create", "wizard.test", "--algorithm", "ed25519", "--selector", "s1"])
        .assert_stdout_contains("s1._domainkey.wizard.test TXT \"v=DKIM1; k=ed25519; p=");
    r.refused(&["dns", "keys", "remove", "wizard.test", "s1"], "active key");
    r.ok(&["dns", "keys", "create", "wizard.test", "--selector", "s2"]);
    let keys = r.json(&["dns", "keys", "list", "wizard.test"]);
    assert_eq!((keys[0]["selector"].as_str(), keys[0]["active"].as_bool()), (Some("s2"), Some(true)));
    assert!(!keys.to_string().contains("PRIVATE"), "{keys}");
    r.ok(&["dns", "keys", "remove", "wizard.test", "s1"]);

    // Publish what `dns setup` asks for (except DMARC) on a real authoritative server.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.zone");
    std::fs::write(&empty, "$ORIGIN wizard.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\n")
        .unwrap();
    let server = knot::Knot::start(&[("wizard.test.", empty.as_path())]);
    let resolver = server.addr.to_string();
    let plan = r.run(
        &["--dns-resolver", &resolver, "--json", "dns", "setup", "wizard.test", "--mail-host", "mx.wizard.test"],
        None,
    );
    // Failing checks exit 1.
    let plan = plan.assert_code(1).json();
    drop(server);
    let mut zone = String::from(
        "$ORIGIN wizard.test.\n$TTL 60\n@ SOA ns admin 1 60 60 600 60\n@ NS ns\nns A 127.0.0.1\nmx A 192.0.2.7\n",
    );
    for rec in plan["records"].as_array().unwrap() {
        if rec["check"] == "dmarc" {
            continue;
        }
        let value = rec["value"].as_str().unwrap();
        let data = if rec["record_type"] == "TXT" {
            value
                .as_bytes()
                .chunks(255)
                .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            value.to_string()
        };
        zone.push_str(&format!(
            "{}. {} {}\n",
            rec["name"].as_str().unwrap(),
            rec["record_type"].as_str().unwrap(),
            data
        ));
    }
    let published = dir.path().join("published.zone");
    std::fs::write(&published, zone).unwrap();
    let server = knot::Knot::start(&[("wizard.test.", published.as_path())]);
    let out = r.run(
        &["--dns-resolver", &server.addr.to_string(), "dns", "setup", "wizard.test", "--mail-host", "mx.wizard.test"],
        None,
    );
    // DMARC is still missing.
    out.assert_code(1);
    for line in ["mx     pass", "spf    pass", "dkim   pass", "cname  pass", "dmarc  fail"] {
        out.assert_stdout_contains(line);
    }
    out.assert_stderr_contains("some DNS checks fail");
}

// ---- Batch settings, address book, policy ------------------------------------

#[test]
fn settings_batches_and_policy_from_the_command_line() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Sales/East", "--parents"]);
    r.ok(&["accounts", "add", "ann@example.com", "--name", "Ann Lee", "--dept", "Sales/East"]);
    r.ok(&["accounts", "add", "bob@example.com", "--name", "Bob", "--dept", "Sales"]);

    // A department setting (the only domain is implied), seen on the account with its source.
    r.ok(&["settings", "set", "--dept", "Sales", "external_send=disallow", "send-exceptions=Partner.example"])
        .assert_stdout(|out| out.starts_with("batch 1: department Sales with its sub-departments"), "batch 1");
    r.ok(&["settings", "show", "ann@example.com", "--effective"]).assert_stdout(
        |shown| {
            let line = shown.lines().find(|l| l.starts_with("external_send"));
            line.is_some_and(|line| line.contains("disallow") && line.ends_with("department Sales"))
        },
        "external_send disallowed by department Sales",
    );
    let effective = r.json(&["settings", "show", "ann@example.com", "--effective"]);
    assert_eq!(effective["values"]["send_exceptions"]["value"], serde_json::json!(["partner.example"]));
    assert_eq!(effective["values"]["pop3"]["source"]["level"], "built_in");

    // An account override, a domain default, and what a level sets.
    r.ok(&["settings", "set", "--account", "ann@example.com", "pop3=off", "address_book=hidden"]);
    r.ok(&["settings", "set", "--domain-default", "example.com", "lockout_threshold=3"]);
    let level = r.json(&["settings", "show", "ann@example.com"]);
    assert_eq!(level["settings"], serde_json::json!({ "pop3": false, "address_book": false }));
    r.ok(&["settings", "show", "--dept", "Sales/East", "--domain", "example.com"]).assert_stdout(
        |dept| dept.lines().any(|l| l.starts_with("external_send") && l.contains("department Sales")),
        "external_send from department Sales",
    );
    r.ok(&["settings", "set", "--account", "ann@example.com", "pop3=inherit"]);
    assert_eq!(r.json(&["settings", "show", "ann@example.com", "--effective"])["values"]["pop3"]["value"], true);

    // Refusals: exit 1 with the reason.
    r.refused(&["settings", "set", "--dept", "Sales", "bogus=1"], "unknown setting 'bogus'");
    r.refused(&["settings", "set", "--dept", "Sales", "pop3=maybe"], "not allow/disallow");
    r.refused(&["settings", "set", "--dept", "Sales", "lockout_threshold=3"], "domain setting");
    r.refused(&["settings", "set", "--dept", "Nowhere", "pop3=off"], "department Nowhere does not exist");
    // A target is a department or accounts, not both.
    r.run(&["settings", "set", "--dept", "Sales", "--account", "ann@example.com", "pop3=off"], None).assert_code(2);

    // The policy explainer: a denied external send, with the setting's source.
    let out =
        r.ok(&["policy", "explain", "--from", "ann@example.com", "--to", "x@far.example", "--to", "y@partner.example"]);
    let denied = |out: &str| out.lines().find(|l| l.starts_with("x@far.example")).unwrap_or_default().to_string();
    out.assert_stdout(|out| denied(out).contains("deny") && denied(out).contains("external_send"), "x@far denied");
    out.assert_stdout(
        |out| denied(out).contains("external_send of ann@example.com: department Sales"),
        "the deciding setting of x@far",
    );
    out.assert_stdout(
        |out| out.lines().any(|l| l.starts_with("y@partner.example") && l.contains("allow")),
        "y@partner allowed",
    );
    let x = r.json(&["policy", "explain", "--from", "x@far.example", "--to", "ann@example.com", "--protocol", "mx"]);
    assert_eq!(x["decision"]["recipients"][0]["rule"], "allowed");

    // Address book: ann hides herself.
    let book = r.json(&["address-book", "example.com"]);
    assert_eq!((book["shown"].as_u64(), book["hidden"].as_u64()), (Some(1), Some(1)));

    // A password reset of the department: from stdin, one batch, not undoable.
    r.run(
        &["batch", "reset-password", "--dept", "Sales", "--force-change", "--password-stdin"],
        Some("New pass word 7\n"),
    )
    .assert_ok()
    .assert_stdout_contains("reset 2 passwords, change required");
    assert_eq!(r.json(&["accounts", "show", "bob@example.com"])["force_password_change"], true);
    let list = r.json(&["batch", "list", "example.com"]);
    assert_eq!(list[0]["action"], "reset_passwords");
    assert_eq!(list[0]["undo"], "not_undoable");
    let reset_id = list[0]["id"].to_string();
    r.refused(&["batch", "undo", "example.com", &reset_id], "cannot be undone");

    // Undo of the first batch (still as it left things), once.
    r.ok(&["batch", "undo", "example.com", "1"]).assert_stdout_contains("undone");
    assert_eq!(
        r.json(&["settings", "show", "ann@example.com", "--effective"])["values"]["external_send"]["source"]["level"],
        "built_in"
    );
    r.refused(&["batch", "undo", "example.com", "1"], "undone by");
    r.ok(&["--json", "audit", "--limit", "100"])
        .assert_stdout(|audit| !audit.contains("New pass word 7"), "the password nowhere");
}

/// An XLSX file with the import header and these rows.
fn import_file(path: &std::path::Path, rows: &[&[&str]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Email address", "Display name", "Department", "Password", "Notes"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save(path).unwrap();
}

fn read_xlsx(path: &std::path::Path) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let first = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&first).unwrap();
    range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

#[test]
fn template_import_export_and_the_recycle_bin() {
    let r = Run::new();
    let path = |name: &str| r.dir.path().join(name).to_str().unwrap().to_string();
    r.ok(&["domain", "add", "example.com", "--max-accounts", "10"]);
    let template = path("template.xlsx");
    r.ok(&["accounts", "template", &template]).assert_stdout_contains("wrote the import template");
    assert_eq!(
        read_xlsx(std::path::Path::new(&template)),
        [["Email address", "Display name", "Department", "Password", "Notes"]]
    );
    r.refused(&["accounts", "import", &template, "--domain", "example.com"], "no accounts below the header row");

    // A bad file: every problem on stderr by row and column, nothing written.
    let bad = path("bad.xlsx");
    import_file(
        std::path::Path::new(&bad),
        &[
            &["ann@example.com", "Ann"],
            &["not-an-address"],
            &["ANN@example.com"],
            &["weak@example.com", "", "", "short"],
        ],
    );
    let out = r.run(&["accounts", "import", &bad, "--domain", "example.com"], None);
    out.assert_code(1);
    for line in [
        "3 problems to fix (nothing was written)",
        "row 3, Email address: 'not-an-address' is not an address",
        "row 4, Email address: ann@example.com appears twice in this file (also row 2)",
        "row 5, Password: password is too short",
    ] {
        out.assert_stderr_contains(line);
    }
    assert_eq!(r.json(&["domain", "show", "example.com"])["account_count"], 0);
    let not_xlsx = path("accounts.csv");
    std::fs::write(&not_xlsx, "Email address\nann@example.com\n").unwrap();
    r.refused(&["accounts", "import", &not_xlsx, "--domain", "example.com"], "not an XLSX file");

    // A good file.
    let good = path("good.xlsx");
    import_file(
        std::path::Path::new(&good),
        &[
            &["ann@example.com", "Ann Lee", "Sales/East", "Ann pass 123", "=HYPERLINK(\"http://x\")"],
            &["bob@example.com", "Bob", "", "", ""],
        ],
    );
    r.ok(&["accounts", "import", &good, "--domain", "example.com"])
        .assert_stdout_contains("imported 2 accounts into example.com")
        .assert_stdout_contains("new departments: Sales/East");
    let ann = r.json(&["accounts", "show", "ann@example.com"]);
    assert_eq!((ann["department"].as_str(), ann["force_password_change"].as_bool()), (Some("Sales/East"), Some(true)));

    // Export of a filter: values, never passwords.
    let out = path("out.xlsx");
    r.ok(&["accounts", "export", &out, "--domain", "example.com", "--dept", "Sales"])
        .assert_stdout_contains("exported 1 accounts");
    let rows = read_xlsx(std::path::Path::new(&out));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][..4], ["ann@example.com", "Ann Lee", "Sales/East", "=HYPERLINK(\"http://x\")"]);
    assert!(!rows.concat().join(" ").contains("Ann pass"));

    // Recycle bin: restore once, transfer, clean needs --yes.
    r.ok(&["accounts", "remove", "ann@example.com"]);
    let bin = r.json(&["accounts", "recycle-bin", "example.com"]);
    assert_eq!((bin[0]["address"].as_str(), bin[0]["restorable"].as_bool()), (Some("ann@example.com"), Some(true)));
    r.ok(&["accounts", "recycle-bin", "example.com"]).assert_stdout_contains("restorable");
    r.ok(&["accounts", "restore", "ann@example.com"]);
    r.refused(&["accounts", "restore", "ann@example.com"], "cannot be restored twice");
    r.ok(&["accounts", "remove", "ann@example.com"]);
    r.ok(&["accounts", "transfer", "ann@example.com", "--to", "bob@example.com"])
        .assert_stdout_contains("into bob@example.com, folder Transferred/ann@example.com");
    r.refused(&["accounts", "transfer", "ann@example.com", "--to", "bob@example.com"], "already transferred");
    r.refused(&["accounts", "clean", "bob@example.com"], "add --yes");
    r.ok(&["accounts", "clean", "bob@example.com", "--yes"]).assert_stdout_contains("deleted 0 messages");
    // No mail server runs in this process: the client settings say so, with no made-up ports.
    r.ok(&["accounts", "mailbox", "bob@example.com"])
        .assert_stdout_contains("client settings: the mail server is not running")
        .assert_stdout_contains("INBOX");
    assert_eq!(r.json(&["accounts", "mailbox", "bob@example.com"])["client"], serde_json::json!([]));

    // Pickup rules and the resolver.
    r.ok(&["domain", "pickup-rules", "example.com", "--rule", "tiktok_{number}=bob@example.com"]);
    r.refused(&["domain", "pickup-rules", "example.com", "--rule", "tiktok"], "not PATTERN=MAILBOX");
    let resolved = r.json(&["resolve", "tiktok_42@example.com"]);
    assert_eq!(
        (resolved["kind"].as_str(), resolved["mailboxes"][0].as_str()),
        (Some("pickup_rule"), Some("bob@example.com"))
    );
    r.ok(&["domain", "mailbox-settings", "example.com", "--catch-all", "on", "--catch-all-target", "bob@example.com"]);
    assert_eq!(r.json(&["resolve", "anyone@example.com"])["kind"], "catch_all");
}

/// An XLSX file of SMTP rules: the rules template's header and these rows.
fn rules_file(path: &std::path::Path, rows: &[&[&str]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Name", "Kind", "Value", "Action", "Note"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save(path).unwrap();
}

#[test]
fn smtp_settings_rules_and_status_from_the_command_line() {
    let r = Run::new();
    let path = |name: &str| r.dir.path().join(name).to_str().unwrap().to_string();

    // Settings: defaults, a partial change, refusals that change nothing.
    r.ok(&["smtp", "settings", "show"])
        .assert_stdout_contains("hostname: localhost")
        .assert_stdout_contains("max_message_bytes: 26214400");
    r.ok(&[
        "smtp",
        "settings",
        "set",
        "--hostname",
        "MX.Example.com",
        "--max-recipients",
        "500",
        "--messages-per-ip",
        "100/60",
        "--reject-spf-fail",
        "true",
    ]);
    let s = r.json(&["smtp", "settings", "show"]);
    assert_eq!(s["hostname"], "mx.example.com");
    assert_eq!(s["max_recipients"], 500);
    assert_eq!(s["connection"]["messages_per_ip"]["window_secs"], 60);
    assert_eq!(s["inbound_auth"]["reject_spf_fail"], true);
    assert_eq!(s["command_timeout_secs"], 300, "untouched settings stay");
    r.refused(&["smtp", "settings", "set", "--max-recipients", "0"], "1 to 10000");
    r.refused(&["smtp", "settings", "set", "--command-timeout", "5"], "10 to 3600");
    r.refused(&["smtp", "settings", "set", "--messages-per-ip", "lots"], "not understood");
    r.ok(&["smtp", "settings", "set", "--messages-per-ip", "none"]);
    let s = r.json(&["smtp", "settings", "show"]);
    assert_eq!((s["max_recipients"].as_u64(), s["connection"]["messages_per_ip"].is_null()), (Some(500), true));

    // Rules: add, move, remove by name, refusals.
    r.ok(&[
        "smtp",
        "rules",
        "add",
        "block-net",
        "--kind",
        "client-ip",
        "--value",
        "192.0.2.0/24",
        "--action",
        "reject",
    ]);
    r.ok(&[
        "smtp",
        "rules",
        "add",
        "partner",
        "--kind",
        "sender-domain",
        "--value",
        "Partner.Example",
        "--action",
        "allow",
    ]);
    r.refused(
        &["smtp", "rules", "add", "bad", "--kind", "client-ip", "--value", "192.0.2.9/24", "--action", "reject"],
        "192.0.2.0/24",
    );
    r.refused(
        &["smtp", "rules", "add", "PARTNER", "--kind", "client-ip", "--value", "10.0.0.1", "--action", "reject"],
        "already a rule named",
    );
    r.ok(&["smtp", "rules", "move", "partner", "1"]).assert_stdout(
        |moved| {
            let lines: Vec<&str> = moved.lines().collect();
            lines.len() >= 3
                && lines[0].starts_with("POS")
                && lines[1].contains("partner")
                && lines[2].contains("block-net")
        },
        "the header, partner, block-net",
    );
    r.refused(&["smtp", "rules", "remove", "nope"], "no SMTP rule");

    // Template, import (bad then good), export read back.
    let template = path("rules-template.xlsx");
    r.ok(&["smtp", "rules", "template", &template]).assert_stdout_contains("wrote the rules import template");
    assert_eq!(read_xlsx(std::path::Path::new(&template)), [["Name", "Kind", "Value", "Action", "Note"]]);
    let bad = path("bad-rules.xlsx");
    rules_file(
        std::path::Path::new(&bad),
        &[&["x", "client_ip", "not-an-ip", "reject"], &["y", "sender", "a.example", "nuke"]],
    );
    let out = r.run(&["smtp", "rules", "import", &bad], None);
    out.assert_code(1);
    for line in ["3 problems to fix", "row 2, Value:", "row 3, Kind:", "row 3, Action:"] {
        out.assert_stderr_contains(line);
    }
    let good = path("rules.xlsx");
    rules_file(
        std::path::Path::new(&good),
        &[&["=1+1", "sender_address", "spam@bad.example", "discard", "formula-looking"]],
    );
    r.ok(&["smtp", "rules", "import", &good]).assert_stdout_contains("imported 1 rules (0 removed first)");
    let export = path("export.xlsx");
    r.ok(&["smtp", "rules", "export", &export]).assert_stdout_contains("exported 3 rules");
    let rows = read_xlsx(std::path::Path::new(&export));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3], ["=1+1", "sender_address", "spam@bad.example", "discard", "formula-looking"]);
    r.ok(&["smtp", "rules", "import", &good, "--replace"]).assert_stdout_contains("imported 1 rules (3 removed first)");
    r.ok(&["smtp", "rules", "remove", "=1+1"]);
    assert_eq!(r.json(&["smtp", "rules", "list"]), serde_json::json!([]));

    // Status: no SMTP service runs in the CLI's own process.
    r.ok(&["smtp", "status"]).assert_stdout_contains("not running");
    assert_eq!(r.json(&["smtp", "status"])["running"], false);
}

/// `postdesk serve --no-pop3`: "enter mailbox" (over the API) shows the IMAP and submission
/// listeners on the ports they were bound to and no POP3; Thunderbird's autoconfig, served
/// by the same process, agrees.
#[test]
fn the_mailbox_view_and_autoconfig_show_the_services_serve_runs_on_their_real_ports() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["accounts", "add", "ann@example.com"]);
    let any = "127.0.0.1:0";
    let mut c = r.cmd();
    c.args(["serve", "--listen", any, "--smtp-hostname", "mx.example.com"])
        .args(["--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any])
        .args(["--imap-listen", any, "--imaps-listen", any, "--no-pop3"])
        .env_remove("POSTDESK_UI_DIR")
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _server = Server(child);
    let (mut token, mut url) = (String::new(), String::new());
    let mut ports = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("pd_") {
            token = line.trim().to_string();
        }
        if let Some((what, addr)) = line.split_once(" listening on ")
            && let Ok(addr) = addr.trim().parse::<std::net::SocketAddr>()
        {
            ports.insert(what.to_string(), addr.port());
        }
        if let Some(rest) = line.strip_prefix("Postdesk admin API listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert!(!url.is_empty() && token.starts_with("pd_"), "serve started: {ports:?}");
    assert!(!ports.keys().any(|k| k.starts_with("POP3")), "{ports:?}");

    let remote = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("--remote").arg(&url).args(args).env("POSTDESK_TOKEN", &token);
        common::run(c, None)
    };
    let view = remote(&["--json", "accounts", "mailbox", "ann@example.com"]).assert_ok().json();
    assert_eq!(view["mail_server_running"], true);
    let shown: Vec<(String, u64, String)> = view["client"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["host"], "mx.example.com");
            (
                e["protocol"].as_str().unwrap().into(),
                e["port"].as_u64().unwrap(),
                e["security"].as_str().unwrap().into(),
            )
        })
        .collect();
    let port = |k: &str| u64::from(ports[k]);
    assert_eq!(
        shown,
        vec![
            ("imap".into(), port("IMAP imaps"), "tls".into()),
            ("imap".into(), port("IMAP imap"), "start_tls".into()),
            ("smtp".into(), port("SMTP submissions"), "tls".into()),
            ("smtp".into(), port("SMTP submission"), "start_tls".into()),
        ]
    );
    remote(&["accounts", "mailbox", "ann@example.com"])
        .assert_ok()
        .assert_stdout_contains(&format!("IMAP      mx.example.com  {}", ports["IMAP imaps"]));

    // Thunderbird's autoconfig from the same process: the same ports, no POP3.
    let addr = url.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(tcp, "GET /mail/config-v1.1.xml?emailaddress=ann%40example.com HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&format!("<port>{}</port>", ports["IMAP imaps"])), "{answer}");
    assert!(answer.contains(&format!("<port>{}</port>", ports["SMTP submission"])), "{answer}");
    assert!(!answer.contains("type=\"pop3\""), "{answer}");
}

#[test]
fn bcc_rules_from_the_command_line_with_refusals_that_change_nothing() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["accounts", "add", "archive@example.com"]);
    let added = r.json(&[
        "rules",
        "bcc",
        "add",
        "example.com",
        "--name",
        "sent by ann",
        "--direction",
        "outbound",
        "--sender",
        "Ann@Example.com",
        "archive@example.com",
    ]);
    assert_eq!(added["sender"], "ann@example.com");
    assert_eq!(added["direction"], "outbound");
    r.refused(&["rules", "bcc", "add", "example.com", "--name", "x", "nobody@example.com"], "copy cannot be delivered");
    r.refused(
        &["rules", "bcc", "add", "example.com", "--name", "x", "--recipient", "no domain", "a@b.test"],
        "recipient",
    );
    r.refused(&["rules", "bcc", "add", "example.com", "--name", " ", "a@b.test"], "name");
    let listed = r.json(&["rules", "bcc", "list", "example.com"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    r.ok(&["rules", "bcc", "list", "example.com"])
        .assert_stdout(|t| t.starts_with("ID") && t.contains("sent by ann"), "the rules table");
    let id = added["id"].to_string();
    r.ok(&["rules", "bcc", "remove", "example.com", &id]);
    r.refused(&["rules", "bcc", "remove", "example.com", &id], "has no BCC rule");
    assert_eq!(r.json(&["rules", "bcc", "list", "example.com"]), serde_json::json!([]));
}

/// Writes an XLSX file: the header `columns`, then `rows`, every cell a string.
fn table_file(path: &str, columns: &[&str], rows: &[&[&str]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in columns.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save(path).unwrap();
}

#[test]
fn aliases_and_bcc_rules_go_through_xlsx_files_from_the_command_line() {
    let r = Run::new();
    let path = |name: &str| r.dir.path().join(name).to_str().unwrap().to_string();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["accounts", "add", "ann@example.com"]);

    // Aliases: template, a bad file refused by row and column with nothing written, a good one.
    let template = path("aliases-template.xlsx");
    r.ok(&["alias", "template", &template]).assert_stdout_contains("wrote the aliases import template");
    assert_eq!(read_xlsx(std::path::Path::new(&template)), [["Alias address", "Targets", "Description"]]);
    r.refused(&["alias", "import", "example.com", &template], "no aliases below the header row");
    let columns = ["Alias address", "Targets", "Description"];
    let bad = path("bad-aliases.xlsx");
    table_file(&bad, &columns, &[&["sales@example.com", "ann@example.com"], &["no at sign", "nobody@example.com"]]);
    let out = r.run(&["alias", "import", "example.com", &bad], None);
    out.assert_code(1);
    for line in ["2 problems to fix", "row 3, Alias address:", "row 3, Targets: nobody@example.com"] {
        out.assert_stderr_contains(line);
    }
    assert_eq!(r.json(&["alias", "list", "example.com"]), serde_json::json!([]), "nothing written");
    let good = path("aliases.xlsx");
    table_file(&good, &columns, &[&["sales@example.com", "ann@example.com, x@far.example", "=HYPERLINK(1)"]]);
    r.ok(&["alias", "import", "example.com", &good]).assert_stdout_contains("imported 1 aliases into example.com");
    r.refused(&["alias", "import", "example.com", &good], "row 2, Alias address: sales@example.com is already used");
    let export = path("aliases-export.xlsx");
    r.ok(&["alias", "export", "example.com", &export]).assert_stdout_contains("exported 1 aliases");
    assert_eq!(
        read_xlsx(std::path::Path::new(&export))[1],
        ["sales@example.com", "ann@example.com, x@far.example", "=HYPERLINK(1)"]
    );

    // BCC rules: the same.
    let template = path("bcc-template.xlsx");
    r.ok(&["rules", "bcc", "template", &template]).assert_stdout_contains("wrote the BCC rules import template");
    let columns = ["Name", "Direction", "Sender", "Recipient", "Copy to"];
    assert_eq!(read_xlsx(std::path::Path::new(&template)), [columns]);
    let bad = path("bad-bcc.xlsx");
    table_file(
        &bad,
        &columns,
        &[&["ok", "", "", "", "ann@example.com"], &["x", "sideways", "", "", "nobody@example.com"]],
    );
    let out = r.run(&["rules", "bcc", "import", "example.com", &bad], None);
    out.assert_code(1);
    for line in ["row 3, Direction:", "row 3, Copy to: the copy cannot be delivered"] {
        out.assert_stderr_contains(line);
    }
    assert_eq!(r.json(&["rules", "bcc", "list", "example.com"]), serde_json::json!([]), "nothing written");
    let good = path("bcc.xlsx");
    table_file(&good, &columns, &[&["-archive", "outbound", "ann@example.com", "", "sales@example.com"]]);
    r.ok(&["rules", "bcc", "import", "example.com", &good]).assert_stdout_contains("imported 1 BCC rules");
    r.refused(&["rules", "bcc", "import", "example.com", &good], "already copies the same mail");
    let export = path("bcc-export.xlsx");
    r.ok(&["rules", "bcc", "export", "example.com", &export]).assert_stdout_contains("exported 1 BCC rules");
    assert_eq!(
        read_xlsx(std::path::Path::new(&export))[1],
        ["-archive", "outbound", "ann@example.com", "", "sales@example.com"]
    );
}

#[test]
fn monitor_rules_from_the_command_line_with_refusals_that_change_nothing() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Legal"]);
    r.ok(&["accounts", "add", "monitor@example.com"]);
    r.ok(&["accounts", "add", "ann@example.com"]);
    let copy = r.json(&[
        "rules",
        "monitor",
        "add",
        "example.com",
        "--name",
        "legal outside",
        "--department",
        "legal",
        "--traffic",
        "external",
        "--except-keyword",
        "newsletter",
        "--copy-to",
        "monitor@example.com",
    ]);
    assert_eq!((copy["scope_department"].as_str(), copy["action"].as_str()), (Some("Legal"), Some("copy")));
    let filed = r.json(&[
        "rules",
        "monitor",
        "add",
        "example.com",
        "--name",
        "big",
        "--account",
        "ann@example.com",
        "--min-size-kb",
        "20",
        "--folder",
        "Large",
    ]);
    assert_eq!((filed["min_size_kb"].as_u64(), filed["target"].as_str()), (Some(20), Some("Large")));
    r.refused(&["rules", "monitor", "add", "example.com", "--name", "x"], "--copy-to");
    r.refused(&["rules", "monitor", "add", "example.com", "--name", "x", "--copy-to", "nobody@example.com"], "nobody");
    r.refused(&["rules", "monitor", "add", "example.com", "--name", "x", "--folder", "INBOX"], "not a folder");
    r.refused(
        &["rules", "monitor", "add", "example.com", "--name", "x", "--department", "Nowhere", "--folder", "F"],
        "Nowhere",
    );
    r.ok(&["rules", "monitor", "list", "example.com"]).assert_stdout(
        |t| t.starts_with("ID") && t.contains("department Legal of example.com") && t.contains("file into Large"),
        "the rules table",
    );
    r.ok(&["rules", "monitor", "remove", "example.com", &copy["id"].to_string()]);
    let listed = r.json(&["rules", "monitor", "list", "example.com"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    r.refused(&["rules", "monitor", "remove", "example.com", &copy["id"].to_string()], "has no monitoring rule");
}

#[test]
fn disclaimer_rules_from_the_command_line_in_order_with_refusals_that_change_nothing() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Legal"]);
    let html = r.dir.path().join("legal.html");
    std::fs::write(&html, "<p>Confidential.</p>").unwrap();
    let legal = r.json(&[
        "rules",
        "disclaimer",
        "add",
        "example.com",
        "--name",
        "legal",
        "--scope",
        "external",
        "--text",
        "Confidential.",
        "--html-file",
        html.to_str().unwrap(),
        "--except-department",
        "legal",
    ]);
    assert_eq!((legal["position"].as_u64(), legal["scope"].as_str()), (Some(1), Some("external")));
    assert_eq!(
        (legal["html"].as_str(), legal["except_department"].as_str()),
        (Some("<p>Confidential.</p>"), Some("Legal"))
    );
    let all = r.json(&["rules", "disclaimer", "add", "example.com", "--name", "all", "--text", "For everyone."]);
    r.refused(&["rules", "disclaimer", "add", "example.com", "--name", "x"], "--text");
    r.refused(
        &["rules", "disclaimer", "add", "example.com", "--name", "x", "--text", "t", "--department", "Nowhere"],
        "Nowhere",
    );
    r.refused(
        &["rules", "disclaimer", "add", "example.com", "--name", "x", "--text", "t", "--sender", "no domain"],
        "sender",
    );
    let moved = r.json(&["rules", "disclaimer", "move", "example.com", &all["id"].to_string(), "1"]);
    assert_eq!(moved[0]["name"], "all");
    assert_eq!(moved[1]["name"], "legal");
    r.ok(&["rules", "disclaimer", "list", "example.com"])
        .assert_stdout(|t| t.starts_with("POS") && t.contains("dept Legal"), "the rules table");
    r.ok(&["rules", "disclaimer", "remove", "example.com", &all["id"].to_string()]);
    let listed = r.json(&["rules", "disclaimer", "list", "example.com"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["position"], 1);
    r.refused(&["rules", "disclaimer", "remove", "example.com", &all["id"].to_string()], "has no disclaimer rule");
}

#[test]
fn the_daily_send_quota_is_a_batch_setting_and_usage_is_listed() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["accounts", "add", "ann@example.com"]);
    r.ok(&["settings", "set", "--domain-default", "example.com", "daily_send_messages=100", "utc_offset_minutes=60"]);
    r.refused(
        &["settings", "set", "--domain-default", "example.com", "utc_offset_minutes=900"],
        "between -720 and 840",
    );
    r.refused(&["settings", "set", "--account", "ann@example.com", "utc_offset_minutes=60"], "domain setting");
    r.ok(&["settings", "set", "--account", "ann@example.com", "daily_send_mb=5"]);
    let usage = r.json(&["rules", "usage", "example.com"]);
    assert_eq!(usage[0]["address"], "ann@example.com");
    assert_eq!((usage[0]["limit_messages"].as_u64(), usage[0]["limit_mb"].as_u64()), (Some(100), Some(5)));
    assert_eq!(usage[0]["state"], "ok");
    r.ok(&["rules", "usage", "example.com"])
        .assert_stdout(|t| t.starts_with("ACCOUNT") && t.contains("ann@example.com"), "the table");
}

/// `shared-mailbox create` of desk@example.com at 127.0.0.1; the rest of the options follow.
const CREATE_DESK: &[&str] =
    &["shared-mailbox", "create", "example.com", "desk@example.com", "--name", "Desk", "--host", "127.0.0.1"];

#[test]
fn shared_mailbox_template_and_default_mailboxes_from_the_command_line() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["accounts", "add", "ann@example.com"]);
    r.ok(&[CREATE_DESK, &["--user", "u"]].concat());
    r.ok(&["shared-mailbox", "owners", "desk@example.com", "--user", "ann@example.com"]);

    r.refused(&["shared-mailbox", "template", "desk@example.com", "--font", "Comic Sans MS"], "template fonts");
    r.refused(&["shared-mailbox", "template", "desk@example.com", "--size", "40"], "8 to 36 pt");
    let m = r.json(&["shared-mailbox", "template", "desk@example.com", "--font", "georgia", "--size", "12"]);
    assert_eq!(m["template"], serde_json::json!({"font": "Georgia", "size_pt": 12}));
    r.ok(&["shared-mailbox", "show", "desk@example.com"])
        .assert_stdout(|t| t.contains("template: font Georgia, size 12 pt"), "the template in show");

    r.ok(&["shared-mailbox", "owners-list", "example.com"])
        .assert_stdout(|t| t.contains("ann@example.com") && t.contains("⚠ no default mailbox"), "the warning");
    r.refused(&["shared-mailbox", "default", "ann@example.com", "--mailbox", "ann@example.com"], "no shared mailbox");
    let o = r.json(&["shared-mailbox", "default", "ann@example.com", "--mailbox", "desk@example.com"]);
    assert_eq!(o["default_mailbox"], "desk@example.com");
    let none = r.json(&["shared-mailbox", "owners-list", "example.com", "--without-default"]);
    assert_eq!(none, serde_json::json!([]));
}

#[test]
fn rules_are_updated_from_the_command_line_keeping_what_is_not_given() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Legal"]);
    for a in ["archive@example.com", "monitor@example.com", "ann@example.com"] {
        r.ok(&["accounts", "add", a]);
    }

    // BCC: a new name and no sender condition; the rest stays.
    let bcc = r.json(&[
        "rules",
        "bcc",
        "add",
        "example.com",
        "--name",
        "sent",
        "--direction",
        "outbound",
        "--sender",
        "ann@example.com",
        "archive@example.com",
    ]);
    let id = bcc["id"].to_string();
    let updated = r.json(&["rules", "bcc", "update", "example.com", &id, "--name", "all sent", "--sender", ""]);
    assert_eq!(updated["id"], bcc["id"], "changed in place");
    assert_eq!((updated["name"].as_str(), updated["sender"].as_str()), (Some("all sent"), None));
    assert_eq!(
        (updated["direction"].as_str(), updated["copy_to"].as_str()),
        (Some("outbound"), Some("archive@example.com"))
    );
    r.refused(
        &["rules", "bcc", "update", "example.com", &id, "--copy-to", "nobody@example.com"],
        "cannot be delivered",
    );
    assert_eq!(r.json(&["rules", "bcc", "list", "example.com"])[0]["copy_to"], "archive@example.com", "unchanged");
    r.refused(&["rules", "bcc", "update", "example.com", "999", "--name", "x"], "has no BCC rule 999");

    // Disclaimer: the scope and a department; the text and place stay.
    let first = r.json(&["rules", "disclaimer", "add", "example.com", "--name", "first", "--text", "One."]);
    let legal = r.json(&["rules", "disclaimer", "add", "example.com", "--name", "legal", "--text", "Confidential."]);
    let id = legal["id"].to_string();
    let updated = r.json(&[
        "rules",
        "disclaimer",
        "update",
        "example.com",
        &id,
        "--scope",
        "external",
        "--except-department",
        "legal",
    ]);
    assert_eq!((updated["id"].clone(), updated["position"].as_u64()), (legal["id"].clone(), Some(2)));
    assert_eq!((updated["scope"].as_str(), updated["except_department"].as_str()), (Some("external"), Some("Legal")));
    assert_eq!(updated["text"], "Confidential.");
    r.refused(&["rules", "disclaimer", "update", "example.com", &id, "--department", "Nowhere"], "Nowhere");
    r.refused(
        &["rules", "disclaimer", "update", "example.com", &first["id"].to_string(), "--text", ""],
        "text is empty",
    );
    let listed = r.json(&["rules", "disclaimer", "list", "example.com"]);
    assert_eq!(listed[1]["scope"], "external", "the refusals changed nothing");
    assert_eq!(listed[0]["text"], "One.");

    // Monitoring: from a copy for the department to a folder for one account, then no size.
    let watch = r.json(&[
        "rules",
        "monitor",
        "add",
        "example.com",
        "--name",
        "legal",
        "--department",
        "Legal",
        "--min-size-kb",
        "20",
        "--copy-to",
        "monitor@example.com",
    ]);
    let id = watch["id"].to_string();
    let updated = r.json(&[
        "rules",
        "monitor",
        "update",
        "example.com",
        &id,
        "--account",
        "ann@example.com",
        "--folder",
        "Large",
    ]);
    assert_eq!(updated["id"], watch["id"]);
    assert_eq!(
        (updated["scope_department"].as_str(), updated["scope_account"].as_str()),
        (None, Some("ann@example.com"))
    );
    assert_eq!((updated["action"].as_str(), updated["target"].as_str()), (Some("folder"), Some("Large")));
    assert_eq!((updated["name"].as_str(), updated["min_size_kb"].as_u64()), (Some("legal"), Some(20)));
    let updated = r.json(&["rules", "monitor", "update", "example.com", &id, "--min-size-kb", "0"]);
    assert_eq!(updated["min_size_kb"], serde_json::Value::Null);
    r.refused(&["rules", "monitor", "update", "example.com", &id, "--folder", "INBOX"], "not a folder");
    assert_eq!(r.json(&["rules", "monitor", "list", "example.com"])[0]["target"], "Large");
}

#[test]
fn disclaimer_and_monitoring_rules_go_through_xlsx_files_from_the_command_line() {
    let r = Run::new();
    let path = |name: &str| r.dir.path().join(name).to_str().unwrap().to_string();
    r.ok(&["domain", "add", "example.com"]);
    r.ok(&["dept", "add", "example.com", "Legal"]);
    r.ok(&["accounts", "add", "monitor@example.com"]);

    let columns = [
        "Name",
        "Scope",
        "Sender",
        "Recipient",
        "Department",
        "Except sender",
        "Except recipient",
        "Except department",
        "Text",
        "HTML",
    ];
    let template = path("disclaimer-template.xlsx");
    r.ok(&["rules", "disclaimer", "template", &template])
        .assert_stdout_contains("wrote the disclaimer rules import template");
    assert_eq!(read_xlsx(std::path::Path::new(&template)), [columns]);
    r.refused(&["rules", "disclaimer", "import", "example.com", &template], "no rules below the header row");
    let bad = path("bad-disclaimers.xlsx");
    table_file(
        &bad,
        &columns,
        &[&["ok", "", "", "", "", "", "", "", "Text."], &["x", "sideways", "", "", "Nowhere", "", "", "", "Text."]],
    );
    let out = r.run(&["rules", "disclaimer", "import", "example.com", &bad], None);
    out.assert_code(1);
    for line in ["2 problems to fix", "row 3, Scope:", "row 3, Department: department Nowhere does not exist"] {
        out.assert_stderr_contains(line);
    }
    assert_eq!(r.json(&["rules", "disclaimer", "list", "example.com"]), serde_json::json!([]), "nothing written");
    let good = path("disclaimers.xlsx");
    table_file(&good, &columns, &[&["=legal", "external", "", "", "legal", "", "", "", "Confidential.", "<p>C.</p>"]]);
    r.ok(&["rules", "disclaimer", "import", "example.com", &good])
        .assert_stdout_contains("imported 1 disclaimer rules into example.com");
    r.refused(&["rules", "disclaimer", "import", "example.com", &good], "would never be appended");
    let export = path("disclaimer-export.xlsx");
    r.ok(&["rules", "disclaimer", "export", "example.com", &export])
        .assert_stdout_contains("exported 1 disclaimer rules");
    assert_eq!(
        read_xlsx(std::path::Path::new(&export))[1],
        ["=legal", "external", "", "", "Legal", "", "", "", "Confidential.", "<p>C.</p>"]
    );

    let columns = [
        "Name",
        "Watch department",
        "Watch account",
        "Traffic",
        "Sender",
        "Recipient",
        "Min size (KB)",
        "Keyword",
        "Except sender",
        "Except recipient",
        "Except keyword",
        "Action",
        "Target",
    ];
    let template = path("monitor-template.xlsx");
    r.ok(&["rules", "monitor", "template", &template])
        .assert_stdout_contains("wrote the monitoring rules import template");
    assert_eq!(read_xlsx(std::path::Path::new(&template)), [columns]);
    let bad = path("bad-monitors.xlsx");
    table_file(
        &bad,
        &columns,
        &[
            &["ok", "", "", "", "", "", "", "", "", "", "", "", "monitor@example.com"],
            &["x", "", "", "", "", "", "big", "", "", "", "", "", "nobody@example.com"],
        ],
    );
    let out = r.run(&["rules", "monitor", "import", "example.com", &bad], None);
    out.assert_code(1);
    for line in ["row 3, Min size (KB): 'big' is not a whole number", "row 3, Target: the copy cannot be delivered"] {
        out.assert_stderr_contains(line);
    }
    assert_eq!(r.json(&["rules", "monitor", "list", "example.com"]), serde_json::json!([]), "nothing written");
    let good = path("monitors.xlsx");
    table_file(
        &good,
        &columns,
        &[&["legal", "Legal", "", "external", "", "", "20", "", "", "", "", "folder", "Legal mail"]],
    );
    r.ok(&["rules", "monitor", "import", "example.com", &good]).assert_stdout_contains("imported 1 monitoring rules");
    r.refused(&["rules", "monitor", "import", "example.com", &good], "already does the same");
    let export = path("monitor-export.xlsx");
    r.ok(&["rules", "monitor", "export", "example.com", &export]).assert_stdout_contains("exported 1 monitoring rules");
    assert_eq!(
        read_xlsx(std::path::Path::new(&export))[1],
        ["legal", "Legal", "", "external", "", "", "20", "", "", "", "", "folder", "Legal mail"]
    );
}

#[test]
fn a_microsoft365_shared_mailbox_from_the_command_line() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    let create = |client: &'static str| {
        [
            "shared-mailbox",
            "create",
            "example.com",
            "desk@example.com",
            "--name",
            "Desk",
            "--microsoft365",
            "--tenant-id",
            "contoso.onmicrosoft.com",
            "--client-id",
            client,
        ]
    };
    r.refused(&create("not-a-guid"), "not a client id");
    let m = r.json(&create("3c9d2e1f-7a6b-4c5d-8e9f-0a1b2c3d4e5f"));
    assert_eq!((m["kind"].as_str(), m["tenant_id"].as_str()), (Some("microsoft365"), Some("contoso.onmicrosoft.com")));
    assert_eq!(m["username"], "desk@example.com", "the mailbox defaults to the sender address");
    r.ok(&["shared-mailbox", "show", "desk@example.com"])
        .assert_stdout(|t| t.contains("Microsoft 365 (tenant contoso.onmicrosoft.com)"), "the source in show");
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret now, computed here.
fn totp_now(secret_base32: &str) -> String {
    use hmac::Mac;
    let key = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).expect("base32 secret");
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = (d[19] & 0x0f) as usize;
    let v = u32::from_be_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]) & 0x7fff_ffff;
    format!("{:06}", v % 1_000_000)
}

/// One JSON request to the plain-HTTP `url` (a loopback `serve`), with the session cookie
/// `cookie` if given: its status, the session cookie it sets (if any) and its JSON body.
fn http_json(
    url: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, Option<String>, serde_json::Value) {
    use std::io::{Read, Write};
    let host = url.strip_prefix("http://").expect("plain http");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        request.push_str(&format!("Cookie: postdesk_session={c}\r\n"));
    }
    request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let session = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.trim().strip_prefix("postdesk_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .find(|v| !v.is_empty());
    (status, session, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

#[test]
fn second_factors_and_signing_out_everywhere_from_the_command_line() {
    let r = Run::new();
    let password = "Correct horse 1\n";
    for name in ["ann", "bob"] {
        r.ok(&["admin", "add", name, "--role", "admin", "--page", "accounts"]);
        r.run(&["admin", "set-password", name, "--password-stdin"], Some(password)).assert_ok();
    }
    let two_factor = |name: &str| {
        let list = r.json(&["admin", "list"]);
        list.as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["two_factor"].clone()
    };

    // Enrol in two steps: the secret, then a code of it (a wrong one is refused).
    let setup = r.json(&["admin", "2fa", "enroll", "ann", "--no-confirm"]);
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(setup["uri"].as_str().unwrap().starts_with("otpauth://totp/"), "{setup}");
    assert_eq!(two_factor("ann"), false, "not in force before the code");
    let right = totp_now(&secret);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    r.refused(&["admin", "2fa", "confirm", "ann", wrong], "does not match");
    let codes = r.json(&["admin", "2fa", "confirm", "ann", &right]);
    let codes: Vec<String> = codes["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(two_factor("ann"), true);
    r.ok(&["admin", "list"])
        .assert_stdout(|t| t.lines().any(|l| l.starts_with("ann") && l.trim_end().ends_with("on")), "2FA on");

    // Enrol in one go: the secret on stdout, the code read from stdin.
    let mut c = r.cmd();
    c.args(["admin", "2fa", "enroll", "bob"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let bob_secret = line.strip_prefix("Secret (base32): ").expect("the secret first").trim().to_string();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{}", totp_now(&bob_secret)).unwrap();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("Second factor in force") && rest.lines().filter(|l| l.len() >= 8).count() >= 10, "{rest}");
    assert_eq!(two_factor("bob"), true);

    // Sessions of the web UI: ann signs in twice (password, then a recovery code); signing out
    // everywhere ends both, and her API use with them stops.
    let s = start_serve(&r, "127.0.0.1", false, &["--no-smtp"]);
    let sign_in = |code: &str| {
        let body = serde_json::json!({"name": "ann", "password": "Correct horse 1"});
        let (status, _, step) = http_json(&s.url, "POST", "/api/session", None, Some(body));
        assert_eq!((status, step["step"].as_str()), (200, Some("second_factor")), "{step}");
        let body = serde_json::json!({"ticket": step["ticket"], "code": code});
        let (status, cookie, step) = http_json(&s.url, "POST", "/api/session/second-factor", None, Some(body));
        assert_eq!((status, step["step"].as_str()), (200, Some("signed_in")), "{step}");
        cookie.expect("a session cookie")
    };
    let sessions = [sign_in(&codes[0]), sign_in(&codes[1])];
    for cookie in &sessions {
        let (status, _, who) = http_json(&s.url, "GET", "/api/session", Some(cookie), None);
        assert_eq!(status, 200, "{who}");
    }
    r.ok(&["admin", "sign-out-everywhere", "ann"]).assert_stdout_contains("2 web UI session(s) of ann ended");
    for cookie in &sessions {
        let (status, _, _) = http_json(&s.url, "GET", "/api/session", Some(cookie), None);
        assert_eq!(status, 401, "the session ended");
    }
    assert_eq!(r.json(&["admin", "sign-out-everywhere", "ann"]), serde_json::json!(0));
    r.refused(&["admin", "sign-out-everywhere", "nobody"], "nobody");

    // Removed: the password alone signs in again.
    r.ok(&["admin", "2fa", "remove", "ann"]);
    assert_eq!(two_factor("ann"), false);
    let body = serde_json::json!({"name": "ann", "password": "Correct horse 1"});
    let (status, cookie, step) = http_json(&s.url, "POST", "/api/session", None, Some(body));
    assert_eq!((status, step["step"].as_str()), (200, Some("signed_in")), "{step}");
    assert!(cookie.is_some());
    // What the login log says of those sign-ins.
    let logins = r.json(&["logins", "--limit", "50"]);
    let reasons: Vec<&str> = logins["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["service"] == "admin")
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["accepted", "accepted_recovery_code", "accepted_recovery_code"], "newest first");
}

#[test]
fn shared_mailbox_fetch_folders_resync_and_the_stopped_list_from_the_command_line() {
    let r = Run::new();
    r.ok(&["domain", "add", "example.com"]);
    // A loopback port nothing listens on: every fetch fails, the second one stops fetching.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let options =
        ["--port", &port, "--user", "u", "--no-verify-certificate", "--disable-after", "2", "--password-stdin"];
    r.run(&[CREATE_DESK, &options].concat(), Some("Ext3rnal pw\n")).assert_ok();
    r.refused(&["shared-mailbox", "folders", "desk@example.com"], "cannot reach 127.0.0.1");
    r.refused(&["shared-mailbox", "fetch", "desk@example.com"], "fetch failed (1 of 2 failures in a row): ");
    assert_eq!(r.json(&["shared-mailbox", "stopped"]), serde_json::json!([]));
    r.refused(
        &["shared-mailbox", "fetch", "desk@example.com"],
        "fetch failed (2 of 2 failures in a row; fetching has stopped (interval set to none))",
    );
    let report = r.json(&["shared-mailbox", "fetch", "desk@example.com"]);
    assert!(report["error"].as_str().unwrap().contains("cannot reach 127.0.0.1"), "{report}");
    assert_eq!(report["mailbox"]["error_count"], 3);
    r.ok(&["shared-mailbox", "stopped"])
        .assert_stdout(|t| t.contains("desk@example.com") && t.contains("none (stopped 20"), "the stopped one");
    let stopped = r.json(&["shared-mailbox", "stopped"]);
    assert!(stopped[0]["last_error_at"].is_string(), "{stopped}");

    r.refused(&["shared-mailbox", "resync", "desk@example.com", "--since", "2026-12-01T08:00:00Z"], "confirm it");
    r.refused(
        &["shared-mailbox", "resync", "desk@example.com", "--since", "yesterday", "--yes"],
        "not a date and time",
    );
    r.ok(&["shared-mailbox", "resync", "desk@example.com", "--since", "2026-12-01T08:00:00Z", "--yes"])
        .assert_stdout_contains("resync pending from 2026-12-01T08:00:00Z");
    let m = r.json(&["shared-mailbox", "show", "desk@example.com"]);
    assert_eq!(m["resync_from"], "2026-12-01T08:00:00Z");
    // An interval again ends the stop.
    r.ok(&["shared-mailbox", "update", "desk@example.com", "--interval", "30"]);
    assert_eq!(r.json(&["shared-mailbox", "stopped"]), serde_json::json!([]));
}
