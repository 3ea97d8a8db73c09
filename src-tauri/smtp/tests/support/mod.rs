//! Harness for the client tests: the real service on 127.0.0.1:0 over a real spool in a
//! temp directory, and real clients (swaks, Python's smtplib) run as processes. Failures
//! print the command, its exit status, stdout and stderr.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use postdesk_smtp::store::SpoolOptions;
use postdesk_smtp::{
    DataLimits, FileSpool, InboundVerifier, ListenerKind, MemoryDirectory, Policy, QueueId, SmtpProfile, SmtpService,
    TlsIdentity,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const PASSWORD: &str = "correct horse";

/// A running service with its spool.
pub struct TestServer {
    pub service: SmtpService,
    pub spool: Arc<FileSpool>,
    pub directory: Arc<MemoryDirectory>,
    pub mx: SocketAddr,
    pub submission: SocketAddr,
    pub submissions: SocketAddr,
    pub cert: PathBuf,
    pub dir: tempfile::TempDir,
}

/// What a test may change before the server starts.
pub struct Setup {
    pub profile: SmtpProfile,
    pub directory: MemoryDirectory,
    pub policy: Option<Arc<dyn Policy>>,
    pub verifier: Option<InboundVerifier>,
    /// Message data limits (default: the service's defaults).
    pub data: Option<DataLimits>,
}

/// The default directory: example.test with ann (alias sales@), bob (SMTP disabled),
/// carl (mailbox full), lockout after 3 failures.
pub fn directory() -> MemoryDirectory {
    MemoryDirectory::new()
        .domain("example.test")
        .account("ann@example.test", PASSWORD)
        .alias("ann@example.test", "sales@example.test")
        .account("bob@example.test", PASSWORD)
        .smtp_disabled("bob@example.test")
        .account("carl@example.test", PASSWORD)
        .over_quota("carl@example.test")
        .account("dora@example.test", PASSWORD)
        .lockout_threshold(3)
}

impl Default for Setup {
    fn default() -> Self {
        let profile = SmtpProfile {
            hostname: "mx.example.test".into(),
            max_message_size: 64 * 1024,
            max_recipients: 5,
            ..SmtpProfile::default()
        };
        Setup { profile, directory: directory(), policy: None, verifier: None, data: None }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with(|_| {}).await
    }

    pub async fn with(change: impl FnOnce(&mut Setup)) -> TestServer {
        let mut setup = Setup::default();
        change(&mut setup);
        let dir = tempfile::tempdir().expect("temp dir");
        let (spool, _) = FileSpool::open(&dir.path().join("spool"), SpoolOptions::default()).expect("open spool");
        let spool = Arc::new(spool);
        let identity =
            TlsIdentity::load_or_create(dir.path(), &["localhost".into(), "127.0.0.1".into()]).expect("certificate");
        let cert = dir.path().join("smtp-cert.pem");
        let directory = Arc::new(setup.directory);
        let mut builder = SmtpService::builder(setup.profile, directory.clone(), spool.clone()).tls(identity);
        if let Some(policy) = setup.policy {
            builder = builder.policy(policy);
        }
        if let Some(verifier) = setup.verifier {
            builder = builder.verifier(verifier);
        }
        if let Some(data) = setup.data {
            builder = builder.data_limits(data);
        }
        let service = builder.build().expect("build service");
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let mx = service.listen(ListenerKind::Mx, any).await.expect("mx listener");
        let submission = service.listen(ListenerKind::Submission, any).await.expect("submission listener");
        let submissions = service.listen(ListenerKind::Submissions, any).await.expect("submissions listener");
        TestServer { service, spool, directory, mx, submission, submissions, cert, dir }
    }

    /// The stored message with this id (panics when missing).
    pub fn stored(&self, id: QueueId) -> postdesk_smtp::store::SpooledMessage {
        self.spool.read(id).expect("read spool").unwrap_or_else(|| panic!("message {id} not in the spool"))
    }

    pub async fn stop(self) {
        self.service.shutdown(Duration::from_secs(5)).await;
        self.spool.close();
    }
}

/// The output of a client process.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Queue ids from every `250 … queued as ID` line.
    pub fn queue_ids(&self) -> Vec<QueueId> {
        self.stdout
            .lines()
            .filter_map(|l| l.split("queued as ").nth(1))
            .map(|id| id.trim().parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }
}

/// Runs a command to completion off the async runtime.
pub async fn run(mut command: Command) -> Run {
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e} (is it installed? apt-get install -y swaks python3)"));
    let run = Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!("--- {shown}\n--- status {}\n--- stdout\n{}\n--- stderr\n{}", output.status, run.stdout, run.stderr);
    run
}

/// swaks against `addr` with extra arguments.
pub async fn swaks(addr: SocketAddr, args: &[&str]) -> Run {
    let mut c = Command::new("swaks");
    c.args(["--server", &addr.ip().to_string(), "--port", &addr.port().to_string(), "--helo", "client.test"]);
    c.args(args);
    run(c).await
}

/// A Python 3 script; `PORT_MX`, `PORT_SUB`, `PORT_SUBS` and `CERT` are in its environment,
/// and a `ctx()` helper returns an SSL context trusting the test certificate.
pub async fn python(server: &TestServer, script: &str) -> Run {
    let prelude = "import os, smtplib, ssl, base64, sys\n\
        MX = int(os.environ['PORT_MX']); SUB = int(os.environ['PORT_SUB']); SUBS = int(os.environ['PORT_SUBS'])\n\
        def ctx():\n    c = ssl.create_default_context(cafile=os.environ['CERT'])\n    c.check_hostname = True\n    return c\n\
        def show(*a):\n    print(*a, flush=True)\n";
    let mut c = Command::new("python3");
    c.arg("-c").arg(format!("{prelude}{script}"));
    c.env("PORT_MX", server.mx.port().to_string())
        .env("PORT_SUB", server.submission.port().to_string())
        .env("PORT_SUBS", server.submissions.port().to_string())
        .env("CERT", &server.cert);
    run(c).await
}

/// A raw SMTP connection.
pub struct Wire {
    io: BufReader<TcpStream>,
}

impl Wire {
    /// Connects and returns the greeting too.
    pub async fn open(addr: SocketAddr) -> (Wire, String) {
        Self::open_from(addr, "127.0.0.1".parse().unwrap()).await
    }

    /// Connects from a chosen loopback source address.
    pub async fn open_from(addr: SocketAddr, source: std::net::IpAddr) -> (Wire, String) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(SocketAddr::new(source, 0)).expect("bind source");
        let tcp = socket.connect(addr).await.expect("connect");
        let mut wire = Wire { io: BufReader::new(tcp) };
        let greeting = wire.reply().await;
        (wire, greeting)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.expect("send");
    }

    /// One whole reply (all lines of a multi-line reply), CRLFs kept.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut line))
                .await
                .expect("reply within 10 s")
                .expect("read");
            if n == 0 {
                all.push_str("<EOF>");
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Sends `command` and returns the reply.
    pub async fn cmd(&mut self, command: &str) -> String {
        self.send(format!("{command}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Whether the server closed the connection.
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(tokio::time::timeout(Duration::from_secs(5), self.io.read_to_end(&mut rest)).await, Ok(Ok(0)))
    }
}

/// The queue id at the end of a `250 … queued as ID` reply.
pub fn queue_id(reply: &str) -> QueueId {
    reply.trim().rsplit(' ').next().unwrap().parse().unwrap_or_else(|e| panic!("{e}: {reply}"))
}
