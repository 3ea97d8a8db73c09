//! Postfix's `smtp-sink` as the other domains' server in the mail server's tests (shared by
//! `outbound.rs`, `rules.rs` and `shared_autoreply.rs` through `#[path]`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Postfix's smtp-sink on a free loopback port, dumping each transaction to a file.
pub struct Sink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    pub fn start(extra: &[&str]) -> Sink {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Sink::on(port, extra)
    }

    pub fn on(port: u16, extra: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        // smtp-sink drops root for `nobody`, who must write the dumps.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let template = dir.path().join("m%s.");
        let mut child = Command::new("smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(&template)
            .args(extra)
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian package postfix) must be installed");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Sink { child, port, dir };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("smtp-sink did not start on {port}");
    }

    /// The dumped transactions (envelope lines, then the message).
    /// Only finished ones: a file smtp-sink still holds open (read from `/proc/<pid>/fd`) is
    /// a transaction still arriving, and reading it would give half a message.
    pub fn dumps(&self) -> Vec<String> {
        let open: std::collections::HashSet<PathBuf> = std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|fds| fds.flatten().filter_map(|fd| std::fs::read_link(fd.path()).ok()).collect())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|f| !open.contains(f) && !std::fs::canonicalize(f).is_ok_and(|c| open.contains(&c)))
            .collect();
        // In the order they arrived (smtp-sink's file names do not follow it).
        files.sort_by_key(|f| (std::fs::metadata(f).and_then(|m| m.modified()).ok(), f.clone()));
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
