//! Crash test: a client process (Python smtplib, 4 threads) sends messages while the
//! server process (`smtp-testd`, the real spool) is SIGKILLed at random moments and
//! restarted. Every message the client saw a 250 for — it records the queue id from the
//! reply — must be in the spool afterwards, with its bytes intact.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postdesk_smtp::{FileSpool, QueueId};

const CLIENT: &str = r#"
import os, smtplib, sys, threading, time
port, out_path, stop_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
out = open(out_path, 'a')
def worker(t):
    n = 0
    while not os.path.exists(stop_path):
        try:
            s = smtplib.SMTP('127.0.0.1', port, timeout=5)
            s.ehlo('crash.test')
            for _ in range(20):
                if os.path.exists(stop_path):
                    break
                token = 'msg-%d-%d' % (t, n)
                n += 1
                body = ('Subject: %s\r\n\r\n%s\r\n' % (token, (token + ' ') * 40)).encode()
                s.mail('load@remote.test')
                s.rcpt('box%d@example.test' % t)
                code, text = s.data(body)
                if code == 250:
                    qid = text.decode().rsplit(' ', 1)[1]
                    with lock:
                        out.write('%s %s\n' % (qid, token))
                        out.flush()
            s.quit()
        except Exception:
            time.sleep(0.02)
threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
for th in threads: th.start()
for th in threads: th.join()
"#;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the daemon and waits for READY (retrying while the port is still held).
fn start_server(spool: &Path, port: u16) -> Child {
    for _ in 0..50 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-testd"))
            .args(["--spool", spool.to_str().unwrap(), "--mx", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-testd");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut ready = false;
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            if line.starts_with("READY") {
                ready = true;
                break;
            }
        }
        if ready {
            // Keep draining stdout so the daemon never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return child;
        }
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("smtp-testd did not come up on port {port}");
}

#[test]
fn every_acknowledged_message_survives_sigkill() {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let acks = dir.path().join("acks.txt");
    let stop = dir.path().join("stop");
    let port = free_port();

    let mut server = start_server(&spool, port);
    let mut client = Command::new("python3")
        .arg("-c")
        .arg(CLIENT)
        .args([port.to_string(), acks.display().to_string(), stop.display().to_string()])
        .spawn()
        .expect("python3");
    // SIGKILLs at random moments, at least 8, and on until the client has seen 100 messages
    // acknowledged (a count, not a time: a slow machine just takes more rounds).
    let acknowledged = || std::fs::read_to_string(&acks).map_or(0, |t| t.lines().count());
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 8 || acknowledged() < 100 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {} acknowledged in {rounds} rounds",
            acknowledged()
        );
        std::thread::sleep(Duration::from_millis(150 + rng.below(600)));
        server.kill().expect("SIGKILL the server");
        server.wait().unwrap();
        rounds += 1;
        eprintln!("round {rounds}: killed with {} acknowledged", acknowledged());
        std::thread::sleep(Duration::from_millis(rng.below(100)));
        server = start_server(&spool, port);
    }
    std::fs::write(&stop, b"").unwrap();
    assert!(client.wait().unwrap().success());
    server.kill().unwrap();
    server.wait().unwrap();

    let stored: HashMap<QueueId, Vec<u8>> =
        FileSpool::scan(&spool).unwrap().into_iter().map(|m| (m.envelope.queue_id, m.message)).collect();
    let acked = std::fs::read_to_string(&acks).unwrap();
    let mut checked = 0;
    for line in acked.lines() {
        let (id, token) = line.split_once(' ').unwrap();
        let id: QueueId = id.parse().unwrap();
        let message =
            stored.get(&id).unwrap_or_else(|| panic!("acknowledged message {id} ({token}) lost; seed {seed}"));
        let text = String::from_utf8_lossy(message);
        let expected = format!("Subject: {token}\r\n\r\n{}\r\n", format!("{token} ").repeat(40));
        assert!(text.ends_with(&expected), "message {id} corrupted: {text}");
        checked += 1;
    }
    eprintln!("{checked} acknowledged messages all found among {} stored, after {rounds} SIGKILLs", stored.len());
    assert!(checked >= 100, "the loop above waits for 100 acknowledgements: {checked}");
}
