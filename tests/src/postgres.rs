//! A real PostgreSQL (Debian `postgresql`) for the tests that run the engine on it.
//!
//! The server is `POSTDESK_TEST_POSTGRES` when set, else the user's test server in
//! `$TMPDIR/postdesk-test-postgres-<uid>`, started by the first test that needs it and
//! left running for the next run (`scripts/test.sh` stops it at the end). Every test gets
//! a database of its own, copied from a template that is migrated once.
//!
//! `initdb` refuses to run as root, so as root the server runs as the `postgres` user
//! (Debian's package creates it), else as whoever runs the tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable `scripts/test.sh` sets to a server's address (`postgres://user@host:port`).
pub const ENV: &str = "POSTDESK_TEST_POSTGRES";

/// The newest installed PostgreSQL's binaries (`/usr/lib/postgresql/<version>/bin`).
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Starts a server in `dir` (initialised there first if needed) on a free loopback port
/// (trust authentication on loopback only; no fsync: a test's data need not survive a
/// power cut); its address.
fn start_in(bin: &Path, dir: &Path) -> String {
    let data = dir.join("data");
    if !data.join("PG_VERSION").exists() {
        let _ = std::fs::remove_dir_all(&data);
        let out = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postdesk", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
    }
    let port = TcpListener::bind("127.0.0.1:0").expect("a free loopback port").local_addr().unwrap().port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    let out = as_server_user(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .stdout(Stdio::null())
        .output()
        .expect("pg_ctl runs");
    assert!(
        out.status.success(),
        "pg_ctl start: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
    format!("postgres://postdesk@127.0.0.1:{port}")
}

/// A command run as the server's user (`postgres` when the tests run as root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The user id the tests run as (asked once).
fn uid() -> &'static str {
    static UID: OnceLock<String> = OnceLock::new();
    UID.get_or_init(|| {
        let out = Command::new("id").arg("-u").output().expect("id runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

fn is_root() -> bool {
    uid() == "0"
}

fn answers(url: &str) -> bool {
    Command::new("psql")
        .arg(format!("{url}/postgres"))
        .args(["-qAt", "-c", "SELECT 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server this process's tests use: `POSTDESK_TEST_POSTGRES`, else the user's test
/// server in `$TMPDIR/postdesk-test-postgres-<uid>`, started by the first test that needs
/// it (under a file lock, so parallel test processes start one) and left running for the
/// next run (`pg_ctl -D <that folder>/data stop` ends it; `scripts/test.sh` does).
fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var(ENV)
            && !url.is_empty()
        {
            return url;
        }
        let bin = bin_dir().expect("PostgreSQL is needed for this test: apt-get install postgresql");
        let dir = std::env::temp_dir().join(format!("postdesk-test-postgres-{}", uid()));
        std::fs::create_dir_all(&dir).expect("the test server's folder");
        let lock = std::fs::File::create(dir.join("lock")).expect("the test server's lock file");
        lock.lock().expect("the test server's lock");
        let url_file = dir.join("url");
        if let Ok(url) = std::fs::read_to_string(&url_file)
            && answers(url.trim())
        {
            return url.trim().to_string();
        }
        if is_root() {
            let ok = Command::new("chown").arg("postgres:").arg(&dir).status().is_ok_and(|s| s.success());
            assert!(ok, "chown of the PostgreSQL folder to the postgres user");
        }
        let url = start_in(&bin, &dir);
        std::fs::write(&url_file, &url).expect("the test server's address file");
        url
    })
    .clone()
}

/// A database of its own on the test server, dropped (connections and all) when this is.
pub struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    /// `postgres://…/<name>`
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Every test's database would otherwise stay on the server (gigabytes over a run).
        let _ = Command::new("psql")
            .arg(format!("{}/postgres", self.server))
            .args(["-qAt", "-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A new, empty database on the test server: a copy of a template the engine's
/// PostgreSQL migrations ran on once (so each test only copies it).
pub async fn fresh_database() -> Database {
    let server = server_url();
    let template = ensure_template(&server).await;
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos());
    psql(&server, &format!("CREATE DATABASE {name} TEMPLATE {template}"));
    Database { url: format!("{server}/{name}"), server, name }
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

/// The migrated template (made by the first test of a process to ask; when two processes
/// make it together, one renames its copy into place and the other drops its own); named
/// after the migrations' checksum, so a changed migration makes a new one.
async fn ensure_template(server: &str) -> String {
    // Once per process (its tests run in parallel); across processes, see below.
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE.get_or_init(|| make_template(server)).await.clone()
}

async fn make_template(server: &str) -> String {
    let name = format!("postdesk_template_{}", postdesk_engine::postgres_schema_version());
    let exists = psql(server, &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"));
    if exists.trim() == "1" {
        return name;
    }
    let building = format!("{name}_building_{}", std::process::id());
    psql(server, &format!("CREATE DATABASE {building}"));
    postdesk_engine::Engine::migrate_postgres(&format!("{server}/{building}")).await.expect("migrate the template");
    // Only one process renames its copy into place; the others drop theirs.
    let renamed = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c"])
        .arg(format!("ALTER DATABASE {building} RENAME TO {name}"))
        .output()
        .expect("psql runs");
    if !renamed.status.success() {
        psql(server, &format!("DROP DATABASE IF EXISTS {building}"));
    }
    name
}

/// Runs one statement with `psql` against the server's `postgres` database; its output.
pub fn psql(server: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .expect("psql runs (apt-get install postgresql-client)");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
