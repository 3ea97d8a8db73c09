//! A message while it is being received, and the bound on message bytes in memory.
//!
//! Memory. A message is kept in memory up to [`DataLimits::in_memory`] (1 MiB by default);
//! past it, what came so far and everything after goes to an unlinked temporary file (no
//! name on disk, so a crash leaves nothing behind), and the session holds only its read
//! buffer. The in-memory part is taken from one budget shared by all sessions,
//! [`DataLimits::in_flight`] (256 MiB by default): when the budget is short, a message goes
//! to its file at once instead of waiting.
//!
//! Disk. The temporary files are bounded too: their bytes over all sessions stay within
//! [`DataLimits::on_disk`] (4 GiB by default), taken in steps of [`DISK_STEP`] as a file
//! grows, and at each step the folder's free space (`statvfs`, on Unix) must stay above
//! [`DataLimits::min_free_disk`] (256 MiB by default), so arriving mail never fills the disk
//! the spool and the database live on. Past either, the rest of the message is read and
//! dropped and the client gets 452 4.3.1 (it keeps the message and retries later); the
//! error is `ErrorKind::StorageFull`, which the session counts as `data_disk`.
//!
//! End of data. The checks after the data (the policy hook, DKIM/DMARC) and the durable
//! store take the whole message in memory, so before loading it the session reserves its
//! whole size from the same budget, and holds it until the store has answered. When the
//! budget is taken by other messages the session **waits** for it (the client is waiting
//! for the reply to its end of data anyway, RFC 5321 §4.5.3.2.6 gives it 10 minutes), up to
//! the profile's data time-out; a message that cannot get its reservation in that time, or
//! that is larger than the whole budget, is refused with 452 4.3.1 (insufficient system
//! storage, RFC 3463) and the client retries later. So the bytes of messages in memory
//! never exceed the budget, whatever the number of sessions, and nothing answered 250 was
//! ever dropped for it: the reservation comes before the store, the 250 after it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Where received messages are kept while they arrive, and how many bytes of them may be in
/// memory at once (see the module documentation).
#[derive(Debug, Clone)]
pub struct DataLimits {
    /// Bytes of one message kept in memory while it arrives; past it, a temporary file.
    pub in_memory: usize,
    /// Bytes of messages in memory over all sessions (arriving, checked or being stored).
    /// Should be at least the largest message size allowed: a larger message is refused
    /// with 452 4.3.1.
    pub in_flight: usize,
    /// Folder of the temporary files (unlinked at once); `None` = the system's temporary
    /// folder. Best on the disk of the spool.
    pub dir: Option<PathBuf>,
    /// Bytes of temporary files over all sessions (see the module documentation).
    pub on_disk: u64,
    /// Free space the folder of the temporary files keeps: a file does not grow past it.
    pub min_free_disk: u64,
}

impl Default for DataLimits {
    fn default() -> Self {
        DataLimits {
            in_memory: 1024 * 1024,
            in_flight: 256 * 1024 * 1024,
            dir: None,
            on_disk: 4 << 30,
            min_free_disk: 256 << 20,
        }
    }
}

/// Room left in front of a message read back from its file for the trace headers.
const HEADROOM: usize = 8 * 1024;

/// A temporary file takes the disk budget (and checks the free space) in steps of this.
pub const DISK_STEP: u64 = 1024 * 1024;

/// The budget in KiB permits (a u32 of permits covers 4 TiB).
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

/// The shared budget of message bytes in memory, and what the sessions report of it.
#[derive(Debug)]
pub(crate) struct DataBudget {
    limits: DataLimits,
    permits: Arc<Semaphore>,
    total_units: u32,
    /// The disk budget of the temporary files, in KiB permits.
    disk: Arc<Semaphore>,
    /// Messages that went to a temporary file while arriving.
    pub spilled: AtomicU64,
    /// Ends of data that had to wait for the budget.
    pub waits: AtomicU64,
    /// Sessions waiting for the budget now.
    pub waiting: AtomicU64,
}

/// Why the whole message could not be taken into memory.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Larger than the whole budget.
    TooLarge,
    /// The budget stayed taken for the whole data time-out.
    Busy,
    /// The temporary file could not be read back.
    Io(std::io::Error),
}

impl DataBudget {
    pub fn new(limits: DataLimits) -> DataBudget {
        let total_units = units(limits.in_flight).min(u32::MAX >> 3);
        let disk_units = u32::try_from(limits.on_disk.div_ceil(UNIT as u64)).unwrap_or(u32::MAX).min(u32::MAX >> 3);
        DataBudget {
            permits: Arc::new(Semaphore::new(total_units as usize)),
            disk: Arc::new(Semaphore::new(disk_units as usize)),
            total_units,
            limits,
            spilled: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
        }
    }

    /// The limits it was made with.
    pub fn limits(&self) -> &DataLimits {
        &self.limits
    }

    /// An empty message to receive into.
    pub fn incoming(self: &Arc<Self>) -> Incoming {
        Incoming { budget: self.clone(), memory: Vec::new(), file: None, len: 0, held: None, on_disk: None }
    }
}

/// A message being received: in memory while small, then in an unlinked temporary file.
#[derive(Debug)]
pub(crate) struct Incoming {
    budget: Arc<DataBudget>,
    memory: Vec<u8>,
    file: Option<tokio::fs::File>,
    len: usize,
    /// The part of the budget covering `memory`.
    held: Option<OwnedSemaphorePermit>,
    /// The part of the disk budget covering `file`.
    on_disk: Option<OwnedSemaphorePermit>,
}

impl Incoming {
    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the message went to a temporary file.
    #[cfg(test)]
    pub fn on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// Takes budget so that `bytes` of memory are covered; false when it is short.
    fn cover(&mut self, bytes: usize) -> bool {
        let need = units(bytes);
        let have = self.held.as_ref().map_or(0, |p| p.num_permits() as u32);
        if need <= have {
            return true;
        }
        match self.budget.permits.clone().try_acquire_many_owned(need - have) {
            Ok(more) => {
                match self.held.as_mut() {
                    Some(held) => held.merge(more),
                    None => self.held = Some(more),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Takes disk budget so that `bytes` of temporary file are covered, a [`DISK_STEP`] at
    /// a time, checking the folder's free space at each step.
    fn cover_disk(&mut self, bytes: usize) -> std::io::Result<()> {
        let have = self.on_disk.as_ref().map_or(0, |p| p.num_permits() as u64) * UNIT as u64;
        let bytes = bytes as u64;
        if bytes <= have {
            return Ok(());
        }
        let full = |why: String| std::io::Error::new(std::io::ErrorKind::StorageFull, why);
        let limits = &self.budget.limits;
        let want = bytes.next_multiple_of(DISK_STEP).min(limits.on_disk.max(bytes));
        let more = u32::try_from((want - have).div_ceil(UNIT as u64)).unwrap_or(u32::MAX);
        let dir = limits.dir.clone().unwrap_or_else(std::env::temp_dir);
        if let Some(free) = free_space(&dir)
            && free < limits.min_free_disk.saturating_add(want - have)
        {
            return Err(full(format!(
                "{} has {free} bytes free, the floor is {} bytes",
                dir.display(),
                limits.min_free_disk
            )));
        }
        let more = self
            .budget
            .disk
            .clone()
            .try_acquire_many_owned(more)
            .map_err(|_| full(format!("the temporary files of arriving messages hold {} bytes", limits.on_disk)))?;
        match self.on_disk.as_mut() {
            Some(held) => held.merge(more),
            None => self.on_disk = Some(more),
        }
        Ok(())
    }

    /// Appends received bytes (already dot-unstuffed or de-chunked).
    pub async fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.len += bytes.len();
        if self.file.is_none() {
            let want = self.memory.len() + bytes.len();
            if want <= self.budget.limits.in_memory && self.cover(want) {
                if self.memory.capacity() < want {
                    // Grow by doubling, but never past the in-memory limit.
                    let cap = (self.memory.capacity() * 2).clamp(want.max(4096), self.budget.limits.in_memory);
                    self.memory.reserve_exact(cap - self.memory.len());
                }
                self.memory.extend_from_slice(bytes);
                return Ok(());
            }
            self.cover_disk(self.len)?;
            let dir = self.budget.limits.dir.clone().unwrap_or_else(std::env::temp_dir);
            let file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(dir))
                .await
                .map_err(std::io::Error::other)??;
            let mut file = tokio::fs::File::from_std(file);
            file.write_all(&self.memory).await?;
            self.memory = Vec::new();
            self.held = None;
            self.file = Some(file);
            self.budget.spilled.fetch_add(1, Ordering::Relaxed);
        }
        self.cover_disk(self.len)?;
        let file = self.file.as_mut().expect("just made");
        file.write_all(bytes).await
    }

    /// The whole message in memory, with the budget reservation that covers it (drop it
    /// once the message is stored). Waits up to `wait` for the budget.
    pub async fn into_message(mut self, wait: Duration) -> Result<(Vec<u8>, OwnedSemaphorePermit), Refused> {
        let budget = self.budget.clone();
        let need = units(self.len);
        if need > budget.total_units {
            return Err(Refused::TooLarge);
        }
        // Nothing is held while waiting, so waiters can never block each other for good.
        self.held = None;
        let permit = match budget.permits.clone().try_acquire_many_owned(need) {
            Ok(permit) => permit,
            Err(_) => {
                budget.waits.fetch_add(1, Ordering::Relaxed);
                budget.waiting.fetch_add(1, Ordering::Relaxed);
                let got = tokio::time::timeout(wait, budget.permits.clone().acquire_many_owned(need)).await;
                budget.waiting.fetch_sub(1, Ordering::Relaxed);
                match got {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Refused::Busy),
                }
            }
        };
        let message = match self.file.take() {
            None => std::mem::take(&mut self.memory),
            Some(mut file) => {
                let mut message = Vec::new();
                // Room for the trace headers put in front of it.
                message.try_reserve_exact(self.len + HEADROOM).map_err(|e| Refused::Io(std::io::Error::other(e)))?;
                file.flush().await.map_err(Refused::Io)?;
                file.rewind().await.map_err(Refused::Io)?;
                file.read_to_end(&mut message).await.map_err(Refused::Io)?;
                if message.len() != self.len {
                    return Err(Refused::Io(std::io::Error::other("the temporary file came back short")));
                }
                // The file is closed (and, unlinked, gone) here: its disk budget with it.
                drop(file);
                self.on_disk = None;
                message
            }
        };
        Ok((message, permit))
    }
}

/// Bytes free for an unprivileged writer in the file system of `dir`; `None` where it
/// cannot be told (not Unix, or the call failed: then only the budget bounds the files).
fn free_space(dir: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        match rustix::fs::statvfs(dir) {
            Ok(s) => Some(s.f_bavail.saturating_mul(s.f_frsize)),
            Err(e) => {
                tracing::warn!("cannot tell the free space of {}: {e}", dir.display());
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(in_memory: usize, in_flight: usize) -> Arc<DataBudget> {
        Arc::new(DataBudget::new(DataLimits { in_memory, in_flight, ..DataLimits::default() }))
    }

    #[tokio::test]
    async fn small_messages_stay_in_memory_large_ones_go_to_a_file_and_come_back_whole() {
        let b = budget(64 * 1024, 1024 * 1024);
        let mut small = b.incoming();
        small.append(b"Subject: x\r\n\r\nhello\r\n").await.unwrap();
        assert!(!small.on_disk());
        assert_eq!(b.permits.available_permits(), 1024 - 1);

        let mut large = b.incoming();
        let piece: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..20 {
            large.append(&piece).await.unwrap();
        }
        assert!(large.on_disk());
        assert_eq!(b.spilled.load(Ordering::Relaxed), 1);
        assert_eq!(b.permits.available_permits(), 1024 - 1, "the file holds no budget");
        let (message, permit) = large.into_message(Duration::from_secs(1)).await.unwrap();
        assert_eq!(message, piece.repeat(20));
        assert_eq!(permit.num_permits(), 200_000usize.div_ceil(1024));
        drop((permit, small));
        assert_eq!(b.permits.available_permits(), 1024);
    }

    #[tokio::test]
    async fn a_short_budget_sends_data_to_disk_and_refuses_what_it_cannot_hold() {
        let b = budget(64 * 1024, 8 * 1024);
        let mut a = b.incoming();
        a.append(&[b'a'; 6 * 1024]).await.unwrap();
        assert!(!a.on_disk());
        let mut c = b.incoming();
        c.append(&[b'c'; 4 * 1024]).await.unwrap();
        assert!(c.on_disk(), "the budget was short: to disk at once");
        let mut big = b.incoming();
        big.append(&[b'b'; 9 * 1024]).await.unwrap();
        assert!(matches!(big.into_message(Duration::from_secs(1)).await, Err(Refused::TooLarge)));
        // `a` holds 6 KiB; `c` needs 4 KiB of 8: it waits, and gets it once `a` is gone.
        let (waiter, ()) = tokio::join!(c.into_message(Duration::from_secs(30)), async {
            while b.waiting.load(Ordering::Relaxed) == 0 {
                tokio::task::yield_now().await;
            }
            drop(a);
        });
        assert_eq!(waiter.unwrap().0, vec![b'c'; 4 * 1024]);
        assert_eq!(b.waits.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn temporary_files_stay_within_the_disk_budget_and_above_the_free_space_floor() {
        let limits = DataLimits { in_memory: 4 * 1024, on_disk: 3 * DISK_STEP, ..DataLimits::default() };
        let b = Arc::new(DataBudget::new(limits.clone()));
        let mib = vec![b'm'; DISK_STEP as usize];
        let mut first = b.incoming();
        first.append(&mib).await.unwrap();
        first.append(&mib).await.unwrap();
        assert!(first.on_disk());
        let mut second = b.incoming();
        second.append(&mib[..1000]).await.unwrap();
        assert!(!second.on_disk());
        let full = second.append(&mib).await.unwrap_err();
        assert_eq!(full.kind(), std::io::ErrorKind::StorageFull, "{full}");
        assert!(full.to_string().contains("hold 3145728 bytes"), "{full}");
        // Read back, the first gives its disk back: the next one fits.
        let (message, _memory) = first.into_message(Duration::from_secs(1)).await.unwrap();
        assert_eq!(message.len(), 2 * mib.len());
        let mut third = b.incoming();
        third.append(&mib).await.unwrap();
        third.append(&mib).await.unwrap();
        assert!(third.on_disk());

        // A floor above the free space: nothing goes to disk at all.
        let floor = Arc::new(DataBudget::new(DataLimits { min_free_disk: u64::MAX / 2, ..limits }));
        let mut refused = floor.incoming();
        let full = refused.append(&mib).await.unwrap_err();
        assert_eq!(full.kind(), std::io::ErrorKind::StorageFull, "{full}");
        assert!(full.to_string().contains("the floor is"), "{full}");
        assert!(!refused.on_disk(), "no file was made");
    }
}
