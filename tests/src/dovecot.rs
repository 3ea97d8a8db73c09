//! A real Dovecot (Debian `dovecot-imapd`) for tests that need an external IMAP server:
//! started by the test as an unprivileged process (as `nobody` when the test runs as
//! root) with its own configuration, Maildirs and passwd-file in a temporary folder,
//! listening on loopback only (IMAPS and IMAP with STARTTLS, self-signed certificate).
//! Mail is put in with `doveadm save`, folders made with `doveadm mailbox create`, and a
//! folder's UIDVALIDITY changed with `doveadm mailbox update`.
//!
//! ```ignore
//! let dovecot = Dovecot::start(&[("shared@ext.test", "pw")]);
//! dovecot.save("shared@ext.test", "INBOX", b"Subject: hi\r\n\r\nbody\r\n");
//! // connect to 127.0.0.1:dovecot.imaps_port …
//! ```

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binaries (Debian's paths; `PATH` is searched too).
const DOVECOT: &str = "dovecot";
const DOVEADM: &str = "doveadm";

/// A running Dovecot; stopped (and its folder removed) when dropped.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// IMAPS (implicit TLS) port on 127.0.0.1.
    pub imaps_port: u16,
    /// IMAP port on 127.0.0.1 (STARTTLS required before login).
    pub imap_port: u16,
    /// Who Dovecot runs as: (uid, gid, name, group).
    user: (u32, u32, String, String),
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free loopback port").local_addr().unwrap().port()
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether Dovecot is installed (`apt-get install dovecot-imapd`).
pub fn installed() -> bool {
    Command::new(DOVECOT)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Dovecot {
    /// Starts Dovecot with these (user, password) accounts; panics, saying what to
    /// install, when Dovecot is missing.
    pub fn start(users: &[(&str, &str)]) -> Dovecot {
        assert!(installed(), "Dovecot is needed for this test: apt-get install dovecot-imapd");
        let dir = tempfile::Builder::new().prefix("postdesk-dovecot-").tempdir().expect("a temporary folder");
        let uid: u32 = id("-u").parse().unwrap();
        // Root: run as nobody, since Dovecot refuses root for logins and mail.
        let user = if uid == 0 {
            (65534, 65534, "nobody".to_string(), id_group_of_65534())
        } else {
            (uid, id("-g").parse().unwrap(), id("-un"), id("-gn"))
        };
        let mut d = Dovecot { dir, child: None, imaps_port: free_port(), imap_port: free_port(), user };
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let cert = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
        std::fs::write(d.path("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(d.path("key.pem"), cert.key_pair.serialize_pem()).unwrap();
        for (name, password) in users {
            d.set_password(name, password);
        }
        d.write_config();
        d.chown_all();
        d.run();
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The temporary folder (config, Maildirs, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn write_config(&self) {
        let root = self.dir.path().display();
        let (uid, gid, user, group) = &self.user;
        let config = format!(
            "base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n\
             instance_name = postdesk-test-{imaps}\nprotocols = imap\nlisten = 127.0.0.1\n\
             ssl = required\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n\
             default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n\
             disable_plaintext_auth = yes\nauth_mechanisms = plain login\nfirst_valid_uid = 0\nauth_failure_delay = 0\n\
             mail_location = maildir:{root}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={root}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap}\n  }}\n\
             \x20 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n\
             \x20 mailbox Sent {{\n    special_use = \\Sent\n    auto = create\n  }}\n\
             \x20 mailbox Junk {{\n    special_use = \\Junk\n    auto = create\n  }}\n}}\n",
            imaps = self.imaps_port,
            imap = self.imap_port,
        );
        std::fs::write(self.path("dovecot.conf"), config).unwrap();
    }

    fn chown_all(&self) {
        let (uid, gid, ..) = &self.user;
        let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(self.dir.path()).status();
        assert!(status.is_ok_and(|s| s.success()), "chown of the Dovecot folder");
        let mut perms = std::fs::metadata(self.dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(self.dir.path(), perms).unwrap();
    }

    /// A command run as Dovecot's user.
    fn as_user(&self, program: &str) -> Command {
        if id("-u") == "0" {
            let (uid, gid, ..) = &self.user;
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}")).arg("--clear-groups").arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn run(&mut self) {
        let conf = self.path("dovecot.conf");
        let child = self
            .as_user(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(self.path("stderr")).unwrap()))
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.imaps_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_err()
        {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("dovecot exited ({status}): {}\n{}", self.read("stderr"), self.read("dovecot.log"));
            }
            assert!(Instant::now() < deadline, "dovecot did not listen: {}", self.read("dovecot.log"));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        self.read("dovecot.log")
    }

    /// Stops the server (clients then find nothing listening); [`Dovecot::restart`] brings
    /// it back on the same ports with the same mail.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM to the master, which stops its children.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", self.imaps_port)).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Starts the server again after [`Dovecot::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Sets (or adds) a user's password (read by Dovecot at each login).
    pub fn set_password(&self, user: &str, password: &str) {
        let path = self.path("passwd");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<String> =
            old.lines().filter(|l| !l.starts_with(&format!("{user}:"))).map(str::to_string).collect();
        lines.push(format!("{user}:{{PLAIN}}{password}"));
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        if self.child.is_some() {
            // Dovecot looks at the file at most once a second (passwd-file's sync): a change
            // in the second it last looked would go unseen.
            std::thread::sleep(Duration::from_millis(1100));
        }
    }

    fn doveadm(&self, args: &[&str], input: Option<&[u8]>) {
        let mut cmd = self.as_user(DOVEADM);
        cmd.arg("-c").arg(self.path("dovecot.conf")).args(args);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("doveadm runs");
        if let Some(bytes) = input {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Puts a message in a user's folder (as delivery would).
    pub fn save(&self, user: &str, folder: &str, raw: &[u8]) {
        self.doveadm(&["save", "-u", user, "-m", folder], Some(raw));
    }

    /// Puts a message in a user's folder with the given received date (INTERNALDATE, Unix
    /// seconds), by IMAP APPEND over TLS from Python's imaplib.
    pub fn append_dated(&self, user: &str, password: &str, folder: &str, raw: &[u8], unix_time: i64) {
        let script = "import imaplib, ssl, sys\n\
            port, user, password, folder, when = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])\n\
            c = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ssl._create_unverified_context())\n\
            c.login(user, password)\n\
            typ, data = c.append(folder, None, imaplib.Time2Internaldate(when), sys.stdin.buffer.read())\n\
            assert typ == 'OK', data\n\
            c.logout()\n";
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args([&self.imaps_port.to_string(), user, password, folder, &unix_time.to_string()])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        child.stdin.take().unwrap().write_all(raw).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "APPEND: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Writes `count` messages straight into a user's INBOX Maildir (`new/`), as a local
    /// delivery agent would: Dovecot indexes them when the folder is next opened. For
    /// filling an account fast (benchmarks); `make(i)` gives message `i`.
    pub fn fill_inbox(&self, user: &str, count: usize, make: impl Fn(usize) -> Vec<u8>) {
        let maildir = self.dir.path().join("mail").join(user);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        for i in 0..count {
            std::fs::write(maildir.join("new").join(format!("1700000000.P{i}Q1.postdesk-test")), make(i)).unwrap();
        }
        self.chown_all();
    }

    /// Creates a folder.
    pub fn create_folder(&self, user: &str, folder: &str) {
        self.doveadm(&["mailbox", "create", "-u", user, folder], None);
    }

    /// Gives a folder a new UIDVALIDITY (as a server does after rebuilding its index).
    pub fn set_uidvalidity(&self, user: &str, folder: &str, uidvalidity: u32) {
        self.doveadm(&["mailbox", "update", "-u", user, "--uid-validity", &uidvalidity.to_string(), folder], None);
    }
}

fn id_group_of_65534() -> String {
    let out = Command::new("getent").args(["group", "65534"]).output().expect("getent runs");
    String::from_utf8_lossy(&out.stdout).split(':').next().unwrap_or("nogroup").to_string()
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}
