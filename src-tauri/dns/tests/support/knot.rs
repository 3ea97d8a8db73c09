//! A real authoritative DNS server for tests: Knot DNS (`knotd`, Debian package `knot`)
//! serving fixture zones on 127.0.0.1 at a free port, from a generated config in a temp
//! directory. Started per test, killed on drop. Shared by the integration tests and the
//! benchmark (`#[path]`-included).
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running knotd; dropping it kills the process.
pub struct Knot {
    child: Child,
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The path of `knotd`: `$KNOTD`, else the first one found in PATH, /usr/sbin, /usr/local/sbin.
pub fn knotd_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KNOTD") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|d| d.join("knotd"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    // Bind UDP and TCP on the same port to make sure both are free, then release them.
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on loopback");
        let port = udp.local_addr().expect("local addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port for knotd");
}

impl Knot {
    /// Starts knotd serving `zones` (origin, zone file) and waits until every zone answers
    /// authoritatively. Panics with knotd's log when it cannot.
    pub fn start(zones: &[(&str, &Path)]) -> Knot {
        let knotd = knotd_path().unwrap_or_else(|| {
            panic!(
                "knotd (Knot DNS) is not installed; the DNS integration tests need a real \
                 authoritative server. Install the Debian package `knot`: \
                 apt-get install -y knot (or set KNOTD=/path/to/knotd)"
            )
        });
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir for knotd");
            let port = free_port();
            let conf = config(dir.path(), port, zones);
            let conf_path = dir.path().join("knot.conf");
            std::fs::write(&conf_path, conf).expect("write knot.conf");
            std::fs::create_dir_all(dir.path().join("db")).expect("create db dir");
            let log_path = dir.path().join("knotd.log");
            let log = std::fs::File::create(&log_path).expect("create knotd log");
            let child = Command::new(&knotd)
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", knotd.display()));
            let mut knot = Knot { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), dir };
            match knot.wait_ready(zones) {
                Ok(()) => return knot,
                Err(why) => {
                    last_log =
                        format!("{why}\n--- knotd log ---\n{}", std::fs::read_to_string(&log_path).unwrap_or_default());
                    // Dropping `knot` kills it; retry on another port (the old one may have
                    // been taken between probing and binding).
                }
            }
        }
        panic!("knotd did not come up: {last_log}");
    }

    fn wait_ready(&mut self, zones: &[(&str, &Path)]) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_millis(200))).map_err(|e| e.to_string())?;
        let mut pending: Vec<&str> = zones.iter().map(|(origin, _)| *origin).collect();
        let mut id: u16 = 0x5150;
        while !pending.is_empty() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("knotd exited early ({status})"));
            }
            if Instant::now() > deadline {
                return Err(format!("zones {pending:?} not served after 20 s"));
            }
            id = id.wrapping_add(1);
            let query = soa_query(id, pending[0]);
            let _ = sock.send_to(&query, self.addr);
            let mut buf = [0u8; 1500];
            match sock.recv_from(&mut buf) {
                Ok((n, _)) if authoritative_answer(&buf[..n], id) => {
                    pending.remove(0);
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        Ok(())
    }

    /// The temp directory holding the config and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, port: u16, zones: &[(&str, &Path)]) -> String {
    let mut conf = format!(
        "server:\n    rundir: \"{dir}\"\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n    \
         tcp-workers: 1\n    background-workers: 1\n\
         database:\n    storage: \"{dir}/db\"\n\
         log:\n  - target: stderr\n    any: warning\n\
         template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
         journal-content: none\n    semantic-checks: off\n\
         zone:\n",
        dir = dir.display()
    );
    for (origin, file) in zones {
        conf.push_str(&format!("  - domain: \"{origin}\"\n    file: \"{}\"\n", file.display()));
    }
    conf
}

/// A DNS query (RFC 1035 §4.1) for the SOA of `origin`, without recursion desired.
fn soa_query(id: u16, origin: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend(id.to_be_bytes());
    q.extend([0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    for label in origin.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend(label.as_bytes());
    }
    q.push(0);
    q.extend([0x00, 0x06, 0x00, 0x01]); // SOA, IN
    q
}

/// A response to `id` with AA set, RCODE NOERROR and at least one answer.
fn authoritative_answer(resp: &[u8], id: u16) -> bool {
    resp.len() >= 12
        && resp[0..2] == id.to_be_bytes()
        && resp[2] & 0x80 != 0
        && resp[2] & 0x04 != 0
        && resp[3] & 0x0f == 0
        && u16::from_be_bytes([resp[6], resp[7]]) > 0
}

/// The fixture zones directory of this crate.
pub fn zones_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("zones")
}
