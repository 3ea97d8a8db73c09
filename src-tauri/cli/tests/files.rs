//! Files at rest: `serve` under umask 022 on a data folder someone left readable leaves the
//! folder 0700 and every file in it 0600 (database, keys, spool), and says what it changed.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn serve_makes_the_data_folder_private_whatever_the_umask_and_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let any = "127.0.0.1:0";
    let serve = format!(
        "umask 022; exec '{}' --data-dir '{}' serve --listen {any} --smtp-listen {any} --submission-listen {any} \
         --smtps-listen {any} --imap-listen {any} --imaps-listen {any} --pop3-listen {any} --pop3s-listen {any}",
        env!("CARGO_BIN_EXE_postdesk"),
        dir.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &serve])
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_TOKEN")
        .env("POSTDESK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let warnings = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    let mut started = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        if line.starts_with("Postdesk admin API listening on ") {
            started = true;
            break;
        }
    }
    // Made before and after the check: both private.
    let checked: Vec<(String, u32)> = walk(&dir).into_iter().map(|p| (p.display().to_string(), mode(&p))).collect();
    let _ = child.kill();
    let _ = child.wait();
    let warnings = warnings.join().unwrap().join("\n");
    assert!(started, "serve did not start: {warnings}");
    assert_eq!(mode(&dir), 0o700, "{warnings}");
    assert!(warnings.contains("was 755 (others could read it); it is now 700"), "{warnings}");
    let names: Vec<&str> = checked.iter().map(|(p, _)| p.rsplit('/').next().unwrap()).collect();
    for expected in ["postdesk.db", "smtp-key.pem", "spool.lock"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for (path, m) in &checked {
        let want = if Path::new(path).is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*m, want, "{path} is {m:o}");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// `postdesk … | head`: a reader that went away ends the command quietly, not with a
/// panic about a broken pipe.
#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["--json", "domain", "list"])
        .env_remove("POSTDESK_URL")
        .env_remove("POSTDESK_TOKEN")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}
