//! Message data under memory bounds: large messages go to temporary files while they
//! arrive, and the bytes of messages in memory stay within one budget for all sessions —
//! sessions wait for it at the end of data, and a message the budget can never hold gets
//! 452 4.3.1. Nothing answered 250 is lost or changed. Bounds show as counts and
//! refusals, never as times (the memory figures are in docs/BENCHMARKS.md).

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postdesk_smtp::{DataLimits, Envelope, ListenerKind, QueueId, SmtpProfile, SmtpService, Store, StoreError};
use support::{TestServer, Wire, python};

const MIB: usize = 1024 * 1024;

/// 50 smtplib sessions (from ten loopback addresses, within the per-address share) each
/// send a 20 MB message at once: all are answered 250 and stored byte for byte, and every
/// one went to a temporary file while it arrived instead of staying in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sessions_of_20_mb_are_all_stored_intact() {
    let server = TestServer::with(|s| s.profile.max_message_size = 25 * MIB).await;
    let base = server.dir.path().join("body.txt");
    let script = format!(
        r#"
import base64, threading
N = 50
body = base64.encodebytes(os.urandom(20_000_000 * 57 // 78)).replace(b'\n', b'\r\n')
open({base:?}, 'wb').write(body)
results = {{}}
lock = threading.Lock()
start = threading.Barrier(N)
def send(i):
    try:
        s = smtplib.SMTP('127.0.0.1', MX, timeout=600, source_address=('127.0.0.%d' % (10 + i % 10), 0))
        s.ehlo('client.test')
        s.mail('big%d@remote.test' % i, ['SIZE=%d' % (len(body) + 100)])
        s.rcpt('ann@example.test')
        code, _ = s.docmd('DATA')
        assert code == 354, code
        start.wait()
        s.send(b'Subject: big %d\r\n\r\n' % i)
        view = memoryview(body)
        for off in range(0, len(view), 1 << 20):
            s.sock.sendall(view[off:off + (1 << 20)])
        s.send(b'.\r\n')
        code, text = s.getreply()
        result = (code, text.decode())
        s.quit()
    except Exception as e:
        result = ('error', repr(e))
    with lock:
        results[i] = result
threads = [threading.Thread(target=send, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
for i in sorted(results):
    show('sent', i, results[i][0], results[i][1])
"#
    );
    let run = python(&server, &script).await;
    assert!(run.ok, "{}", run.stderr);
    let body = std::fs::read(&base).unwrap();
    assert!(body.len() > 19_900_000, "{}", body.len());
    let mut stored = 0;
    for line in run.stdout.lines().filter(|l| l.starts_with("sent ")) {
        let mut words = line.split(' ');
        let i: usize = words.nth(1).unwrap().parse().unwrap();
        assert_eq!(words.next(), Some("250"), "{line}");
        let id: QueueId = line.rsplit(' ').next().unwrap().parse().unwrap();
        let message = server.stored(id).message;
        let mut expected = format!("Subject: big {i}\r\n\r\n").into_bytes();
        expected.extend_from_slice(&body);
        assert!(message.ends_with(&expected), "message {i} ({id}) changed: {} bytes stored", message.len());
        stored += 1;
    }
    assert_eq!(stored, 50, "{}", run.stdout);
    let c = server.service.counters();
    assert_eq!(c.messages_accepted, 50);
    assert_eq!(c.data_spooled_to_disk, 50, "each 20 MB message went to a temporary file while arriving");
    server.stop().await;
}

/// Sends one message of `size` bytes (plus a header) over a raw connection from `source`
/// and returns the reply to its end of data.
async fn send_message(addr: std::net::SocketAddr, source: &str, size: usize) -> String {
    let (mut w, _) = Wire::open_from(addr, source.parse().unwrap()).await;
    w.cmd("EHLO client.test").await;
    assert!(w.cmd("MAIL FROM:<a@remote.test>").await.starts_with("250"));
    assert!(w.cmd("RCPT TO:<ann@example.test>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    let mut data = b"Subject: sized\r\n\r\n".to_vec();
    let line = [b'x'; 98];
    while data.len() < size {
        data.extend_from_slice(&line);
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    w.send(&data).await;
    w.reply().await
}

/// With the budget lowered below one message, that message is refused with 452 4.3.1 (the
/// client keeps it and retries) instead of being held in memory; a small one still goes
/// through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_the_memory_budget_gets_452() {
    let server = TestServer::with(|s| {
        s.profile.max_message_size = 25 * MIB;
        s.data = Some(DataLimits { in_memory: MIB, in_flight: 16 * MIB, ..DataLimits::default() });
    })
    .await;
    let reply = send_message(server.mx, "127.0.0.1", 20 * MIB).await;
    assert_eq!(reply, "452 4.3.1 Insufficient system storage, try again later\r\n");
    let reply = send_message(server.mx, "127.0.0.1", 64 * 1024).await;
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "{reply}");
    let c = server.service.counters();
    assert_eq!(c.refused("data_budget"), 1);
    assert_eq!(c.messages_accepted, 1);
    assert_eq!(c.data_spooled_to_disk, 1, "only the 20 MiB message went past the in-memory limit");
    server.stop().await;
}

/// The temporary files are bounded on disk: with their budget at 4 MiB a 20 MiB message
/// is refused with 452 4.3.1 once its file would pass it (the rest read and dropped, the
/// session usable), and with a free-space floor above the disk's free space no message
/// past the in-memory limit is taken at all; a message under the in-memory limit still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_files_are_bounded_on_disk() {
    let budget = TestServer::with(|s| {
        s.profile.max_message_size = 25 * MIB;
        s.data = Some(DataLimits { in_memory: MIB, on_disk: 4 * MIB as u64, ..DataLimits::default() });
    })
    .await;
    let reply = send_message(budget.mx, "127.0.0.1", 20 * MIB).await;
    assert_eq!(reply, "452 4.3.1 Insufficient system storage, try again later\r\n");
    let reply = send_message(budget.mx, "127.0.0.1", 3 * MIB).await;
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "a file within the budget: {reply}");
    let c = budget.service.counters();
    assert_eq!((c.refused("data_disk"), c.messages_accepted), (1, 1));
    budget.stop().await;

    let floor = TestServer::with(|s| {
        s.profile.max_message_size = 25 * MIB;
        s.data = Some(DataLimits { in_memory: MIB, min_free_disk: u64::MAX / 2, ..DataLimits::default() });
    })
    .await;
    let reply = send_message(floor.mx, "127.0.0.1", 2 * MIB).await;
    assert_eq!(reply, "452 4.3.1 Insufficient system storage, try again later\r\n");
    let reply = send_message(floor.mx, "127.0.0.1", 64 * 1024).await;
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "in memory, no file: {reply}");
    let c = floor.service.counters();
    assert_eq!((c.refused("data_disk"), c.messages_accepted, c.data_spooled_to_disk), (1, 1, 0));
    floor.stop().await;
}

/// Polls `ok` until it holds (failing after a minute: a bound for a broken build, not a
/// timing assertion).
async fn until(what: &str, ok: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A store that holds every delivery until the test opens the gate.
struct GatedStore {
    gate: tokio::sync::Semaphore,
    entered: AtomicUsize,
}

#[async_trait::async_trait]
impl Store for GatedStore {
    async fn deliver(&self, envelope: Envelope, _message: Vec<u8>) -> Result<QueueId, StoreError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        self.gate.acquire().await.expect("gate").forget();
        Ok(envelope.queue_id)
    }
}

/// A 32 MiB budget holds one 20 MiB message: while the first is being stored (held at the
/// store's gate), the second session's end of data waits for the budget instead of loading
/// its message; once the first is stored both are answered 250.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_data_waits_for_the_memory_budget() {
    let store = Arc::new(GatedStore { gate: tokio::sync::Semaphore::new(0), entered: AtomicUsize::new(0) });
    let profile = SmtpProfile { hostname: "mx.example.test".into(), max_message_size: 25 * MIB, ..Default::default() };
    let service = SmtpService::builder(profile, Arc::new(support::directory()), store.clone())
        .data_limits(DataLimits { in_memory: MIB, in_flight: 32 * MIB, ..DataLimits::default() })
        .build()
        .unwrap();
    let addr = service.listen(ListenerKind::Mx, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let first = tokio::spawn(send_message(addr, "127.0.0.1", 20 * MIB));
    let counters = || service.counters();
    // The first message is loaded and at the store, holding 20 MiB of the budget.
    until("the first message at the store", || store.entered.load(Ordering::SeqCst) == 1).await;
    let second = tokio::spawn(send_message(addr, "127.0.0.2", 20 * MIB));
    until("the second end of data waiting for the budget", || counters().data_budget_waiting == 1).await;
    assert_eq!(counters().messages_accepted, 0);
    store.gate.add_permits(2);
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert!(first.starts_with("250 2.0.0 Ok: queued as "), "{first}");
    assert!(second.starts_with("250 2.0.0 Ok: queued as "), "{second}");
    let c = counters();
    assert_eq!((c.messages_accepted, c.data_budget_waits, c.data_budget_waiting), (2, 1, 0));
    service.shutdown(Duration::from_secs(5)).await;
}
