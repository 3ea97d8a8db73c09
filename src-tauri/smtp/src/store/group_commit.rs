//! Group commit: one writer thread, one sync per batch.
//!
//! Sessions send `(envelope, message, reply channel)` to the writer. The writer takes the
//! first pending message, then everything else already queued (up to a count and byte
//! limit), hands the batch to a [`BatchWriter`] that writes it all and syncs once, and
//! only then answers every session in the batch. While one batch is being synced the next
//! one queues up, so the batch size follows the load by itself: one message per sync when
//! idle (lowest latency), hundreds when busy (one fsync shared by all of them). No timer
//! waits for more messages.
//!
//! The writer is a plain OS thread because its work is blocking file I/O; it never
//! occupies a Tokio worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{Envelope, QueueId, Store, StoreError};

/// One message waiting in a batch.
#[derive(Debug)]
pub struct Pending {
    /// Its envelope.
    pub envelope: Envelope,
    /// Its bytes.
    pub message: Vec<u8>,
}

/// Makes a batch of messages durable: writes all of them, then syncs once.
///
/// Contract: return `Ok` only when every message of the batch is on stable storage. On
/// error, none of them may be treated as stored (the writer answers all with an error),
/// and the writer must stay usable for the next batch.
pub trait BatchWriter: Send + 'static {
    /// Writes and syncs `batch`.
    fn write_batch(&mut self, batch: &[Pending]) -> std::io::Result<()>;
}

/// Limits on one batch.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommitOptions {
    /// Most messages per batch.
    pub max_messages: usize,
    /// Most message bytes per batch (a batch always takes at least one message).
    pub max_bytes: usize,
}

impl Default for GroupCommitOptions {
    fn default() -> Self {
        GroupCommitOptions { max_messages: 1024, max_bytes: 32 * 1024 * 1024 }
    }
}

/// Totals of the writer, for the benchmark and the counters page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches synced.
    pub batches: u64,
    /// Messages in them.
    pub messages: u64,
}

struct Job {
    pending: Pending,
    done: oneshot::Sender<Result<QueueId, StoreError>>,
}

#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    messages: AtomicU64,
}

/// A [`Store`] that batches deliveries onto one [`BatchWriter`].
pub struct GroupCommit {
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: std::sync::Arc<Stats>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").field("stats", &self.stats()).finish()
    }
}

impl GroupCommit {
    /// Starts the writer thread over `writer`.
    pub fn start<W: BatchWriter>(writer: W, options: GroupCommitOptions) -> std::io::Result<GroupCommit> {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = std::sync::Arc::new(Stats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("smtp-group-commit".into())
            .spawn(move || run(writer, rx, options, &thread_stats))?;
        Ok(GroupCommit { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), stats })
    }

    /// Batches and messages written so far.
    pub fn stats(&self) -> CommitStats {
        CommitStats {
            batches: self.stats.batches.load(Ordering::Relaxed),
            messages: self.stats.messages.load(Ordering::Relaxed),
        }
    }

    /// Stops taking messages, lets the writer finish what is queued, and waits for it.
    /// Later deliveries fail with [`StoreError::Closed`].
    pub fn close(&self) {
        drop(self.tx.lock().expect("group commit lock").take());
        if let Some(thread) = self.thread.lock().expect("group commit lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.close();
    }
}

#[async_trait]
impl Store for GroupCommit {
    async fn deliver(&self, envelope: Envelope, message: Vec<u8>) -> Result<QueueId, StoreError> {
        let (done, wait) = oneshot::channel();
        let job = Job { pending: Pending { envelope, message }, done };
        {
            let tx = self.tx.lock().expect("group commit lock");
            let tx = tx.as_ref().ok_or(StoreError::Closed)?;
            tx.send(job).map_err(|_| StoreError::Closed)?;
        }
        wait.await.map_err(|_| StoreError::Closed)?
    }
}

fn run<W: BatchWriter>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<Job>,
    options: GroupCommitOptions,
    stats: &Stats,
) {
    let mut jobs: Vec<oneshot::Sender<Result<QueueId, StoreError>>> = Vec::new();
    let mut batch: Vec<Pending> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut bytes = first.pending.message.len();
        batch.push(first.pending);
        jobs.push(first.done);
        while batch.len() < options.max_messages && bytes < options.max_bytes {
            match rx.try_recv() {
                Ok(job) => {
                    bytes += job.pending.message.len();
                    batch.push(job.pending);
                    jobs.push(job.done);
                }
                Err(_) => break,
            }
        }
        let result = writer.write_batch(&batch);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.messages.fetch_add(batch.len() as u64, Ordering::Relaxed);
        match result {
            Ok(()) => {
                for (pending, done) in batch.drain(..).zip(jobs.drain(..)) {
                    let _ = done.send(Ok(pending.envelope.queue_id));
                }
            }
            Err(e) => {
                tracing::error!("store batch of {} failed: {e}", batch.len());
                let kind = e.kind();
                let text = e.to_string();
                batch.clear();
                for done in jobs.drain(..) {
                    let _ = done.send(Err(StoreError::Io(std::io::Error::new(kind, text.clone()))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Counts batches; holds the first one until the test lets it go; fails when told to.
    struct Gated {
        seen: Arc<Mutex<Vec<usize>>>,
        fail_next: Arc<std::sync::atomic::AtomicBool>,
        /// Told when the first batch is being written; that batch then waits for `gate`.
        entered: Option<std::sync::mpsc::Sender<()>>,
        gate: Option<std::sync::mpsc::Receiver<()>>,
    }

    impl BatchWriter for Gated {
        fn write_batch(&mut self, batch: &[Pending]) -> std::io::Result<()> {
            if let (Some(entered), Some(gate)) = (self.entered.take(), self.gate.take()) {
                entered.send(()).unwrap();
                gate.recv().unwrap();
            }
            self.seen.lock().unwrap().push(batch.len());
            if self.fail_next.swap(false, Ordering::SeqCst) {
                return Err(std::io::Error::other("disk full"));
            }
            Ok(())
        }
    }

    fn envelope() -> Envelope {
        Envelope {
            queue_id: QueueId::generate(),
            mail_from: "a@b.test".into(),
            recipients: vec!["c@d.test".into()],
            client_ip: "127.0.0.1".parse().unwrap(),
            helo: "client".into(),
            account: None,
            listener: "mx".into(),
            received_at: 0,
            junk: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_queued_during_a_sync_share_the_next_one_and_errors_reach_every_sender() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, gate) = std::sync::mpsc::channel();
        let writer =
            Gated { seen: seen.clone(), fail_next: fail_next.clone(), entered: Some(entered_tx), gate: Some(gate) };
        let store = Arc::new(GroupCommit::start(writer, GroupCommitOptions::default()).unwrap());

        // The first message's sync is under way (held)…
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.deliver(envelope(), b"x".to_vec()).await }
        });
        tokio::task::spawn_blocking(move || entered.recv()).await.unwrap().unwrap();
        // …while 199 more arrive: each is queued by its first poll.
        type Delivery = std::pin::Pin<Box<dyn std::future::Future<Output = Result<QueueId, StoreError>> + Send>>;
        let mut waiting: Vec<Delivery> = (0..199)
            .map(|_| {
                let store = store.clone();
                Box::pin(async move { store.deliver(envelope(), b"x".to_vec()).await }) as Delivery
            })
            .collect();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for delivery in &mut waiting {
            assert!(delivery.as_mut().poll(&mut cx).is_pending(), "no answer before its sync");
        }
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for delivery in waiting {
            delivery.await.unwrap();
        }
        // One sync for the first, one for all that queued behind it.
        assert_eq!(*seen.lock().unwrap(), [1, 199]);
        assert_eq!(store.stats(), CommitStats { batches: 2, messages: 200 });

        fail_next.store(true, Ordering::SeqCst);
        assert!(matches!(store.deliver(envelope(), vec![]).await, Err(StoreError::Io(_))));
        store.deliver(envelope(), vec![]).await.unwrap();
        store.close();
        assert!(matches!(store.deliver(envelope(), vec![]).await, Err(StoreError::Closed)));
    }
}
