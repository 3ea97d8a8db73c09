//! Mail storage: a content-addressed blob store of message files plus the `folders` and
//! `messages` tables, and [`Engine::deliver`] / [`Engine::deliver_batch`], the ways messages
//! get in (the SMTP service's delivery task uses the batch form: one transaction per batch,
//! idempotent per key).
//!
//! Invariants:
//! * a blob is the exact RFC 5322 bytes, named by their SHA-256, in the data folder's
//!   [`Blobs`] store (fsynced files, or an S3-compatible object store): once `deliver`
//!   returns, the message survives a crash, because the store's `put` returns only once the
//!   bytes are durable;
//! * blobs are removed only while holding the database write lock, after checking no
//!   message refers to them; a delivery checks (and if need be rewrites) its blob under the
//!   same lock before it inserts its row, so a message row never points at a missing file;
//! * UIDs only grow within a folder (RFC 3501 §2.3.1.1): `uidnext` is never lowered, so a
//!   cleaned folder does not hand out an old UID again.

use std::sync::Arc;

use postdesk_blobs::{BlobError, BlobErrorKind, Blobs, Bytes};

use sha2::{Digest, Sha256};

use super::Engine;
use crate::error::{Error, Result};
use crate::model::AccountStatus;
use crate::sql::store::NewMessage;
pub(crate) use crate::sql::store::{delete_messages, ensure_folder, next_uid, used_bytes};
use crate::sql::{self, Conn};
use crate::validate;
pub use postdesk_contract::mail::{Delivered, KeyedMessage, KeyedOutcome, STANDARD_FOLDERS};
use postdesk_contract::outbound::OutboundEnvelope;

/// Where blobs live: the [`Blobs`] store the data folder names (its own files, or an
/// S3-compatible object store), with the engine's error mapping. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct BlobStore {
    inner: Arc<dyn Blobs>,
}

/// Queued messages up to this size without a local copy keep their bytes in their outbound
/// queue row (no blob of their own: created, synced, removed once per message).
pub(crate) const INLINE_MAX: usize = 256 * 1024;

/// A blob store's error as the engine's: a store that cannot be reached is `unavailable`
/// (the SMTP service answers 4xx and the sender tries again); a missing blob behind a row,
/// or a bad name, is the engine's own fault.
fn blob_error(e: BlobError) -> Error {
    match e.kind {
        BlobErrorKind::Unavailable => Error::unavailable(e.message),
        BlobErrorKind::NotFound | BlobErrorKind::Invalid => Error::internal(e.message),
    }
}

impl BlobStore {
    pub(crate) fn new(inner: Arc<dyn Blobs>) -> BlobStore {
        BlobStore { inner }
    }

    /// A private store under the system's temporary folder, removed when the engine goes.
    pub(crate) fn temporary() -> BlobStore {
        BlobStore { inner: Arc::new(postdesk_blobs::FsBlobs::temporary()) }
    }

    /// The hex SHA-256 naming `bytes`.
    pub(crate) fn hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Where the blobs are ([`postdesk_blobs::LOCAL`] or `s3://…`).
    pub(crate) fn location(&self) -> String {
        self.inner.location()
    }

    /// Writes `bytes` under `hash` unless it is there already; durable on return.
    pub(crate) async fn write(&self, hash: &str, bytes: Bytes) -> Result<()> {
        self.inner.put(hash, bytes).await.map_err(blob_error)
    }

    /// Writes the blob again if it is missing (called under the write lock, where no
    /// collector can remove it, before a row that refers to it is inserted).
    pub(crate) async fn ensure(&self, hash: &str, bytes: Bytes) -> Result<()> {
        if self.exists(hash).await? { Ok(()) } else { self.write(hash, bytes).await }
    }

    pub(crate) async fn read(&self, hash: &str) -> Result<Vec<u8>> {
        self.inner.get(hash).await.map_err(blob_error)
    }

    /// The first `limit` bytes of a blob: enough for a message's header.
    pub(crate) async fn read_head(&self, hash: &str, limit: u64) -> Result<Vec<u8>> {
        self.inner.get_head(hash, limit).await.map_err(blob_error)
    }

    pub(crate) async fn exists(&self, hash: &str) -> Result<bool> {
        Ok(self.size(hash).await?.is_some())
    }

    pub(crate) async fn size(&self, hash: &str) -> Result<Option<u64>> {
        self.inner.size(hash).await.map_err(blob_error)
    }

    async fn remove(&self, hash: &str) -> Result<()> {
        self.inner.delete(hash).await.map_err(blob_error)
    }

    /// Every blob's name, as a stream.
    pub(crate) fn list(&self) -> futures::stream::BoxStream<'static, Result<String>> {
        use futures::{StreamExt, TryStreamExt};
        self.inner.list().map_err(blob_error).boxed()
    }

    /// Writes many blobs, a few at a time (an object store answers each PUT in a round
    /// trip; files are synced on blocking threads).
    pub(crate) async fn write_all(&self, blobs: Vec<(String, Bytes)>) -> Result<()> {
        use futures::StreamExt;
        let mut writes = futures::stream::iter(blobs)
            .map(|(hash, bytes)| async move { self.write(&hash, bytes).await })
            .buffer_unordered(8);
        while let Some(done) = writes.next().await {
            done?;
        }
        Ok(())
    }
}

pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::internal(format!("mail storage task failed: {e}")))?
}

/// Refuses when `adding` bytes would take an account past its quota.
pub(crate) fn check_room(address: &str, quota_mb: i64, used: u64, adding: u64) -> Result<()> {
    let quota = (quota_mb.max(0) as u64) * 1024 * 1024;
    if used.saturating_add(adding) > quota {
        return Err(Error::limit_exceeded(format!(
            "the mailbox {address} is full: {used} of {quota} bytes used, {adding} more do not fit"
        )));
    }
    Ok(())
}

/// Sends an auto-reply keyed `key` from the caller's write transaction: to another domain
/// through the outbound queue with the null envelope sender (nothing answers an auto-reply
/// back); to one of our own domains it is returned, for
/// [`Engine::deliver_local_replies`] after the commit.
pub(crate) async fn queue_auto_reply(
    conn: &mut Conn,
    key: String,
    reply: crate::autoreply::Reply,
    at: i64,
) -> Result<Option<(String, crate::autoreply::Reply)>> {
    let domain = reply.to.rsplit_once('@').map_or("", |(_, d)| d);
    if sql::domains::id_by_name(&mut *conn, domain).await?.is_some() {
        return Ok(Some((key, reply)));
    }
    let envelope = OutboundEnvelope { sender: String::new(), recipients: vec![reply.to.clone()] };
    let hash = BlobStore::hash(&reply.raw);
    sql::queue::enqueue(conn, &key, &hash, Some(&reply.raw), &envelope, reply.raw.len(), at).await?;
    Ok(None)
}

/// Inserts a message row for the account at `address` (canonical) in the caller's write
/// transaction; the blob must exist. The inner error says why this mailbox refuses it.
async fn insert_message(
    conn: &mut Conn,
    address: &str,
    folder: &str,
    hash: &str,
    size: usize,
) -> Result<std::result::Result<Delivered, Error>> {
    let row = sql::store::mailbox(&mut *conn, address).await?;
    let Some((account_id, status, quota_mb)) = row else {
        return Ok(Err(Error::not_found(format!("account {address} does not exist"))));
    };
    if !matches!(AccountStatus::parse(&status), Some(AccountStatus::Active | AccountStatus::Locked)) {
        return Ok(Err(Error::conflict(format!("{address} is {status} and receives no mail"))));
    }
    if let Err(full) = check_room(address, quota_mb, used_bytes(&mut *conn, account_id).await?, size as u64) {
        return Ok(Err(full));
    }
    let folder_id = ensure_folder(&mut *conn, account_id, folder).await?;
    let uid = next_uid(&mut *conn, folder_id).await?;
    let row = NewMessage { account_id, folder_id, uid, blob_hash: hash, size: size as i64, received_at: super::now() };
    sql::store::insert_message(&mut *conn, row).await?;
    Ok(Ok(Delivered { account: address.to_string(), folder: folder.to_string(), uid: uid as u32 }))
}

/// Inserts a fetched message (its blob written) into a shared mailbox's folder in the
/// caller's write transaction; a mailbox that refuses it (full, disabled) fails the batch.
pub(crate) async fn insert_fetched(
    conn: &mut Conn,
    address: &str,
    folder: &str,
    hash: &str,
    size: usize,
) -> Result<()> {
    insert_message(conn, address, folder, hash, size).await?.map(drop)
}

impl Engine {
    /// Stores a message (its raw RFC 5322 bytes) in the INBOX of the account at `address`
    /// (its own address; resolve aliases, groups and rules first). Refused for accounts that
    /// receive nothing (disabled, deleted) and for a full mailbox. Not an API operation:
    /// the mail services call it.
    pub async fn deliver(&self, address: &str, raw: &[u8]) -> Result<Delivered> {
        self.deliver_to(address, "INBOX", raw).await
    }

    /// [`Engine::deliver`] into a named folder (created if needed).
    pub async fn deliver_to(&self, address: &str, folder: &str, raw: &[u8]) -> Result<Delivered> {
        let address = validate::address(address)?.full();
        if raw.is_empty() {
            return Err(Error::validation("an empty message cannot be delivered"));
        }
        if folder.trim().is_empty() || folder.len() > 255 || folder.chars().any(char::is_control) {
            return Err(Error::validation(format!("'{folder}' is not a folder name")).with_field("folder"));
        }
        let hash = BlobStore::hash(raw);
        let bytes = Bytes::copy_from_slice(raw);
        self.blobs.write(&hash, bytes.clone()).await?;

        let mut tx = self.write().await?;
        // Under the write lock no collector can remove the blob; bring it back if one did.
        self.blobs.ensure(&hash, bytes).await?;
        let delivered = insert_message(&mut tx, &address, folder, &hash, raw.len()).await??;
        tx.commit().await?;
        self.mail_changed(&delivered.account, Some(&delivered.folder)).await;
        Ok(delivered)
    }

    /// Delivers a batch of messages into INBOXes in one write transaction, idempotently:
    /// each message carries a key (a mail service's queue id), recorded with its rows, and a
    /// key seen before stores nothing again (so a service can redeliver everything it is
    /// unsure about after a crash). Blobs are written and synced before the transaction
    /// (a small message only for the outbound queue has none: its bytes go in its queue
    /// row, see [`INLINE_MAX`]); every mailbox is checked like [`Engine::deliver`] (status,
    /// quota) and a mailbox that does not take the message is reported in [`KeyedOutcome::refused`] without failing
    /// the others. An `Err` means nothing of the batch was recorded.
    pub async fn deliver_batch(&self, messages: Vec<KeyedMessage>) -> Result<Vec<KeyedOutcome>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let messages: Arc<Vec<KeyedMessage>> = Arc::new(messages);
        let hashes: Vec<String> = messages.iter().map(|m| BlobStore::hash(&m.raw)).collect();
        // Keys already delivered need no blob; the rest get theirs synced before any row.
        let mut known = std::collections::HashSet::new();
        {
            let mut conn = self.read().await?;
            for m in messages.iter() {
                if sql::store::key_seen(&mut conn, &m.key).await? {
                    known.insert(m.key.clone());
                }
            }
        }
        // A message only for the outbound queue, and small, is kept in its queue row.
        let inline = |m: &KeyedMessage| m.mailboxes.is_empty() && m.outbound.is_some() && m.raw.len() <= INLINE_MAX;
        let wanted: Vec<usize> = (0..messages.len())
            .filter(|&i| !known.contains(&messages[i].key) && !messages[i].raw.is_empty() && !inline(&messages[i]))
            .collect();
        let blobs: Vec<(String, Bytes)> =
            wanted.iter().map(|&i| (hashes[i].clone(), Bytes::copy_from_slice(&messages[i].raw))).collect();
        self.blobs.write_all(blobs).await?;

        let mut tx = self.write().await?;
        let mut outcomes = Vec::with_capacity(messages.len());
        // Auto-replies to senders of our own domains, delivered after the commit.
        let mut local_replies: Vec<(String, crate::autoreply::Reply)> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let mut outcome =
                KeyedOutcome { key: m.key.clone(), already: false, delivered: Vec::new(), refused: Vec::new() };
            if sql::store::key_seen(&mut tx, &m.key).await? {
                outcome.already = true;
                outcomes.push(outcome);
                continue;
            }
            if m.raw.is_empty() {
                for mailbox in &m.mailboxes {
                    outcome.refused.push((mailbox.clone(), Error::validation("an empty message cannot be delivered")));
                }
            } else if !inline(m) {
                // Under the write lock no collector can remove the blob; bring it back if one did.
                if !self.blobs.exists(&hashes[i]).await? {
                    self.blobs.write(&hashes[i], Bytes::copy_from_slice(&m.raw)).await?;
                }
                for mailbox in &m.mailboxes {
                    let folder = m.filed.iter().find(|(to, _)| to == mailbox).map(|(_, f)| f.as_str());
                    match insert_message(
                        &mut tx,
                        mailbox,
                        folder.or(m.folder.as_deref()).unwrap_or("INBOX"),
                        &hashes[i],
                        m.raw.len(),
                    )
                    .await?
                    {
                        Ok(delivered) => outcome.delivered.push(delivered),
                        Err(refused) => outcome.refused.push((mailbox.clone(), refused)),
                    }
                }
            }
            if let (Some(outbound), false) = (&m.outbound, m.raw.is_empty()) {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let body = inline(m).then_some(m.raw.as_slice());
                sql::queue::enqueue(&mut tx, &m.key, &hashes[i], body, outbound, m.raw.len(), now).await?;
            }
            // Auto-replies (RFC 3834) for copies filed into an INBOX of mail that arrived
            // (a message of the server's own has no trace: never answered), in this
            // transaction: the answered sender is recorded with the message.
            if let (Some(trace), None) = (&m.trace, &m.folder) {
                for d in outcome.delivered.iter().filter(|d| d.folder == "INBOX") {
                    let now = time::OffsetDateTime::now_utc();
                    let Some(reply) =
                        crate::autoreply::reply_for(&mut tx, &d.account, &trace.sender, &m.raw, now).await?
                    else {
                        continue;
                    };
                    let key = format!("autoreply:{}:{}", m.key, d.account);
                    if let Some(local) = queue_auto_reply(&mut tx, key, reply, now.unix_timestamp()).await? {
                        local_replies.push(local);
                    }
                }
            }
            sql::store::record_key(&mut tx, &m.key, super::now()).await?;
            crate::trace::record_delivery(&mut tx, m, &outcome, time::OffsetDateTime::now_utc().unix_timestamp())
                .await?;
            outcomes.push(outcome);
        }
        tx.commit().await?;
        let mut changed: Vec<(&str, Option<&str>)> =
            outcomes.iter().flat_map(|o| &o.delivered).map(|d| (d.account.as_str(), Some(d.folder.as_str()))).collect();
        changed.sort_unstable();
        changed.dedup();
        self.mailboxes_changed(&changed).await;
        if !local_replies.is_empty() {
            self.deliver_local_replies(local_replies).await;
        }
        Ok(outcomes)
    }

    /// Delivers auto-replies to senders of our own domains (their mailboxes as resolved
    /// now); a sender gone since is skipped. Without a trace, so nothing answers them.
    pub(crate) async fn deliver_local_replies(&self, replies: Vec<(String, crate::autoreply::Reply)>) {
        let mut batch = Vec::new();
        for (key, reply) in replies {
            match self.resolve_recipient(&reply.to).await {
                Ok(r) if !r.mailboxes.is_empty() => batch.push(KeyedMessage {
                    filed: Vec::new(),
                    key,
                    mailboxes: r.mailboxes,
                    raw: reply.raw,
                    folder: None,
                    outbound: None,
                    trace: None,
                }),
                Ok(_) => {}
                Err(e) => tracing::warn!(to = %reply.to, "auto-reply not delivered: {}", e.message),
            }
        }
        if let Err(e) = Box::pin(self.deliver_batch(batch)).await {
            tracing::warn!("auto-replies not delivered: {}", e.message);
        }
    }

    /// Forgets delivery keys recorded before `before` (once no service can deliver those
    /// messages again). Returns how many went.
    pub async fn forget_delivery_keys(&self, before: time::OffsetDateTime) -> Result<u64> {
        let mut tx = self.write().await?;
        let gone = sql::store::forget_keys(&mut tx, super::format_time(before)).await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// Bytes still free in the mailbox of the account at `address` (its own address), or
    /// `None` when no account receives mail there (unknown, disabled, deleted).
    pub async fn mailbox_room(&self, address: &str) -> Result<Option<u64>> {
        let address = validate::address(address)?.full();
        let mut conn = self.read().await?;
        let row = sql::store::mailbox(&mut conn, &address).await?;
        let Some((id, status, quota_mb)) = row else { return Ok(None) };
        if !matches!(AccountStatus::parse(&status), Some(AccountStatus::Active | AccountStatus::Locked)) {
            return Ok(None);
        }
        let quota = (quota_mb.max(0) as u64) * 1024 * 1024;
        Ok(Some(quota.saturating_sub(used_bytes(&mut conn, id).await?)))
    }

    /// The largest message (bytes as received) the plan of `domain` accepts
    /// ([`PlanLimits::max_message_bytes`](crate::model::PlanLimits::max_message_bytes)), or
    /// `None` when the domain is not ours.
    pub async fn domain_message_limit(&self, domain: &str) -> Result<Option<u64>> {
        let Ok(domain) = validate::domain(domain) else { return Ok(None) };
        let mb = sql::domains::attachment_size_mb(&mut *self.read().await?, &domain).await?;
        Ok(mb.map(|mb| {
            crate::model::PlanLimits { attachment_size_mb: mb.max(0) as u32, ..Default::default() }.max_message_bytes()
        }))
    }

    /// The raw bytes of a stored message.
    pub async fn message_bytes(&self, address: &str, folder: &str, uid: u32) -> Result<Vec<u8>> {
        let address = validate::address(address)?.full();
        let hash = sql::store::blob_of(&mut *self.read().await?, &address, folder, uid).await?;
        let hash = hash.ok_or_else(|| Error::not_found(format!("{address} has no message {uid} in {folder}")))?;
        self.blobs.read(&hash).await
    }

    /// Removes the blobs among `hashes` that no message refers to any more (under the
    /// write lock, see the module invariants).
    pub(crate) async fn collect_blobs(&self, hashes: Vec<String>) -> Result<u32> {
        let mut removed = 0;
        for chunk in hashes.chunks(500) {
            let mut tx = self.write().await?;
            let mut unreferenced = Vec::new();
            for hash in chunk {
                if !sql::store::blob_used(&mut tx, hash).await? {
                    unreferenced.push(hash.clone());
                }
            }
            removed += unreferenced.len() as u32;
            for hash in &unreferenced {
                self.blobs.remove(hash).await?;
            }
            tx.rollback().await?;
        }
        Ok(removed)
    }

    /// Removes every blob file no message refers to (left behind by a crash between a
    /// commit and its collection). Returns how many went.
    pub async fn sweep_blobs(&self) -> Result<u32> {
        // In chunks as the store lists them: a store may hold millions of blobs.
        use futures::TryStreamExt;
        let mut chunks = self.blobs.list().try_chunks(500);
        let mut removed = 0;
        while let Some(chunk) = chunks.try_next().await.map_err(|e| e.1)? {
            removed += self.collect_blobs(chunk).await?;
        }
        Ok(removed)
    }

    /// How many blob files the store holds (for tests and diagnostics).
    pub async fn blob_count(&self) -> Result<usize> {
        use futures::TryStreamExt;
        self.blobs.list().try_fold(0, |n, _| async move { Ok(n + 1) }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::engine_with;
    use crate::{Backend, ErrorCode};

    #[tokio::test]
    async fn delivered_messages_are_stored_once_per_content_with_growing_uids() {
        let engine = engine_with(&["ann@example.com", "bob@example.com"]).await;
        let msg = b"From: x@example.net\r\nSubject: hi\r\n\r\nhello\r\n";
        let first = engine.deliver("Ann@example.com", msg).await.unwrap();
        assert_eq!(first, Delivered { account: "ann@example.com".into(), folder: "INBOX".into(), uid: 1 });
        assert_eq!(engine.deliver("ann@example.com", msg).await.unwrap().uid, 2);
        engine.deliver("bob@example.com", msg).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 1, "same bytes, one blob");
        assert_eq!(engine.message_bytes("ann@example.com", "INBOX", 2).await.unwrap(), msg);
        let hash = BlobStore::hash(msg);
        assert!(engine.blobs.exists(&hash).await.unwrap());

        let err = engine.deliver("nobody@example.com", msg).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        let err = engine.deliver("ann@example.com", b"").await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        let big = vec![b'x'; 1024 * 1024];
        let err = engine.deliver("ann@example.com", &big).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::LimitExceeded);
        assert!(err.message.contains("is full"), "{}", err.message);
    }

    #[tokio::test]
    async fn the_message_size_limit_follows_the_domain_plan() {
        let engine = engine_with(&[]).await;
        let mib: u64 = 1024 * 1024;
        // The default plan: 60 MiB attachments.
        assert_eq!(
            engine.domain_message_limit("EXAMPLE.com").await.unwrap(),
            Some((60 * mib * 4 * 78).div_ceil(3 * 76) + mib)
        );
        let limits = crate::model::PlanLimits { attachment_size_mb: 3, ..Default::default() };
        engine
            .local_backend()
            .update_domain_limits(crate::api::UpdateDomainLimits {
                domain: "example.com".into(),
                limits: limits.clone(),
            })
            .await
            .unwrap();
        assert_eq!(engine.domain_message_limit("example.com").await.unwrap(), Some(limits.max_message_bytes()));
        assert_eq!(limits.max_message_bytes(), (3 * mib * 4 * 78).div_ceil(3 * 76) + mib);
        assert_eq!(engine.domain_message_limit("other.test").await.unwrap(), None);
        assert_eq!(engine.domain_message_limit("not a domain").await.unwrap(), None);
    }

    #[tokio::test]
    async fn batches_deliver_once_per_key_and_report_refusals_per_mailbox() {
        let engine = engine_with(&["ann@example.com", "bob@example.com"]).await;
        let msg = b"Subject: batch\r\n\r\nhello\r\n".to_vec();
        let big = vec![b'x'; 1024 * 1024];
        let batch = vec![
            KeyedMessage {
                filed: Vec::new(),
                key: "q1".into(),
                mailboxes: vec!["ann@example.com".into(), "bob@example.com".into()],
                raw: msg.clone(),
                folder: None,
                outbound: None,
                trace: None,
            },
            KeyedMessage {
                filed: Vec::new(),
                key: "q2".into(),
                mailboxes: vec!["ann@example.com".into(), "nobody@example.com".into()],
                raw: big,
                folder: None,
                outbound: None,
                trace: None,
            },
        ];
        let out = engine.deliver_batch(batch.clone()).await.unwrap();
        assert_eq!(out[0].delivered.len(), 2, "{out:?}");
        assert!(out[0].refused.is_empty() && !out[0].already);
        assert!(out[1].delivered.is_empty());
        assert_eq!(out[1].refused[0].1.code, ErrorCode::LimitExceeded);
        assert_eq!(out[1].refused[1].1.code, ErrorCode::NotFound);
        // Again (a redelivery after a crash): nothing is stored twice.
        let again = engine.deliver_batch(batch).await.unwrap();
        assert!(again.iter().all(|o| o.already && o.delivered.is_empty() && o.refused.is_empty()));
        assert_eq!(engine.message_bytes("bob@example.com", "INBOX", 1).await.unwrap(), msg);
        assert!(engine.message_bytes("ann@example.com", "INBOX", 2).await.is_err());
        assert_eq!(engine.mailbox_room("ANN@example.com").await.unwrap(), Some(1024 * 1024 - msg.len() as u64));
        assert_eq!(engine.mailbox_room("nobody@example.com").await.unwrap(), None);
        let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
        assert_eq!(engine.forget_delivery_keys(later).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_removed_blob_is_written_again_by_the_next_delivery() {
        let engine = engine_with(&["ann@example.com"]).await;
        let msg = b"Subject: a\r\n\r\nb\r\n";
        engine.deliver("ann@example.com", msg).await.unwrap();
        // Simulate a collector that removed the file between the write and the insert.
        let hash = BlobStore::hash(msg);
        engine.blobs.remove(&hash).await.unwrap();
        engine.deliver("ann@example.com", msg).await.unwrap();
        assert_eq!(engine.message_bytes("ann@example.com", "INBOX", 1).await.unwrap(), msg);
    }

    #[tokio::test]
    async fn sweeping_goes_through_the_listing_in_chunks_and_misses_none() {
        let engine = engine_with(&["ann@example.com"]).await;
        engine.deliver("ann@example.com", b"Subject: kept\r\n\r\n.\r\n").await.unwrap();
        // More orphans than one chunk (500) of the listing.
        let orphans: Vec<(String, Bytes)> = (0..1201)
            .map(|i| {
                let bytes = Bytes::from(format!("orphan {i}"));
                (BlobStore::hash(&bytes), bytes)
            })
            .collect();
        engine.blobs.write_all(orphans).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 1202);
        assert_eq!(engine.sweep_blobs().await.unwrap(), 1201);
        assert_eq!(engine.blob_count().await.unwrap(), 1);
        assert!(engine.message_bytes("ann@example.com", "INBOX", 1).await.is_ok());
    }

    #[tokio::test]
    async fn sweeping_removes_only_unreferenced_blobs() {
        let engine = engine_with(&["ann@example.com"]).await;
        engine.deliver("ann@example.com", b"Subject: kept\r\n\r\n.\r\n").await.unwrap();
        let orphan = b"orphan";
        engine.blobs.write(&BlobStore::hash(orphan), Bytes::from_static(orphan)).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 2);
        assert_eq!(engine.sweep_blobs().await.unwrap(), 1);
        assert_eq!(engine.blob_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn the_running_total_of_used_bytes_follows_every_change() {
        let engine = engine_with(&["ann@example.com", "bob@example.com"]).await;
        let total = |address: &'static str| {
            let engine = engine.clone();
            async move {
                let mut conn = engine.read().await.unwrap();
                let (id, used): (i64, i64) = sqlx::query_as("SELECT id, used_bytes FROM accounts WHERE address = $1")
                    .bind(address)
                    .fetch_one(conn.sqlite())
                    .await
                    .unwrap();
                let summed: i64 = sqlx::query_scalar(
                    "SELECT coalesce(CAST(sum(size) AS BIGINT), 0) FROM messages WHERE account_id = $1",
                )
                .bind(id)
                .fetch_one(conn.sqlite())
                .await
                .unwrap();
                assert_eq!(used, summed, "{address}");
                used
            }
        };
        engine.deliver("ann@example.com", b"Subject: 1\r\n\r\n12345\r\n").await.unwrap();
        engine.deliver("ann@example.com", b"Subject: 2\r\n\r\n1\r\n").await.unwrap();
        assert_eq!(total("ann@example.com").await, 38);
        let mut tx = engine.write().await.unwrap();
        let bob: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE address = 'bob@example.com'")
            .fetch_one(tx.sqlite())
            .await
            .unwrap();
        sqlx::query("UPDATE messages SET account_id = $1 WHERE uid = 2").bind(bob).execute(tx.sqlite()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((total("ann@example.com").await, total("bob@example.com").await), (21, 17));
        let mut tx = engine.write().await.unwrap();
        crate::sql::store::delete_messages(&mut tx, bob).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(total("bob@example.com").await, 0);
    }
}
