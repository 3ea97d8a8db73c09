//! The durable outbound queue behind the contract's [`OutboundQueue`](postdesk_contract::mail::OutboundQueue): mail for other
//! domains, per recipient, with leases so that several delivery workers (later: several
//! nodes on one database) never send one message at once and a dead worker's messages
//! are taken over when its lease runs out.
//!
//! Invariants:
//! * a message enters the queue in the same transaction as its local copies and its
//!   delivery key (`Engine::deliver_batch` calls `sql::queue::enqueue`), so what the spool hands
//!   over is recorded wholly or not at all, and a repeated hand-over queues nothing twice;
//! * its bytes are in its row when it has no local copy and is at most [`INLINE_MAX`]
//!   (durable with the queue transaction's commit, gone with the row), else a blob of the
//!   mail store, kept while the row exists (`blob_used` counts queue rows), collected when
//!   a finished message is pruned;
//! * a final recipient (delivered, bounced) never changes again.

use postdesk_contract::outbound::{
    DkimSigningKey, KeptStsPolicy, OutboundEnvelope, OutboundJob, OutboundTransport, RecipientResult,
};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, id_cursor, page_limit, page_of};
use crate::sql;
use crate::store::{BlobStore, INLINE_MAX};
use crate::{Backend, Engine, EngineBackend, Operation, validate};
use postdesk_contract::outbound::{QueuedMessage, QueuedRecipient, RecipientStatus};

/// MTA-STS policies kept at most (the worker's memory holds as many).
pub const MAX_STS_POLICIES: i64 = 10_000;

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The admin operations: server-wide, so page `smtp` and every domain.
fn require(b: &EngineBackend) -> Result<()> {
    b.caller.require(Page::Smtp, None)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map(crate::format_time).unwrap_or_default()
}

fn canonical_transport_domain(domain: &str) -> Result<String> {
    if domain == "*" { Ok("*".to_string()) } else { validate::domain(domain).map_err(|e| e.with_field("domain")) }
}

pub(crate) async fn list(b: &EngineBackend, p: ListOutboundQueue) -> Result<CursorPage<QueuedMessage>> {
    require(b)?;
    let domain = p.domain.as_deref().map(canonical_transport_domain).transpose()?;
    let limit = page_limit(p.limit)?;
    let before = id_cursor(p.after.as_deref())?;
    let status = p.status.map(|s| s.name());
    let mut conn = b.engine.read().await?;
    // One message more than the page, to know whether another follows.
    let rows = sql::queue::list(&mut conn, status, domain.as_deref(), p.sender.as_deref(), before, limit + 1).await?;
    let now = unix_now();
    let mut out: Vec<QueuedMessage> = Vec::new();
    for (id, sender, size, created, owner, until, address, status, attempts, next, last, reply) in rows {
        if out.last().is_none_or(|m| m.id != id) {
            let leased_by = owner.filter(|_| until.is_some_and(|u| u > now));
            out.push(QueuedMessage {
                id,
                sender,
                size: size.max(0) as u64,
                created_at: rfc3339(created),
                leased_by,
                recipients: Vec::new(),
            });
        }
        let status = RecipientStatus::parse(&status).unwrap_or(RecipientStatus::Queued);
        if let Some(m) = out.last_mut() {
            m.recipients.push(QueuedRecipient {
                address,
                status,
                attempts: attempts.max(0) as u32,
                next_attempt_at: (!status.is_final()).then(|| rfc3339(next)),
                last_attempt_at: last.map(rfc3339),
                last_reply: reply,
            });
        }
    }
    Ok(page_of(out, limit, |m| m.id.to_string()))
}

/// Retry now or bounce now: the waiting recipients become due (and given up).
pub(crate) async fn due_now(b: &EngineBackend, id: i64, bounce: bool, action: &str) -> Result<()> {
    require(b)?;
    let mut tx = b.engine.write().await?;
    if sql::queue::message(&mut tx, id).await?.is_none() {
        return Err(Error::not_found(format!("there is no queued message {id}")).with_field("id"));
    }
    let n = sql::queue::due_now(&mut tx, id, unix_now(), bounce).await?;
    if n == 0 {
        return Err(Error::conflict(format!("message {id} has no recipient waiting")).with_field("id"));
    }
    let target = id.to_string();
    audit::record(&mut tx, &b.caller.name, Change { action, domain: None, target: &target }, None::<&()>, None::<&()>)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn delete(b: &EngineBackend, p: DeleteOutbound) -> Result<()> {
    require(b)?;
    let mut tx = b.engine.write().await?;
    let Some((_, _, _, sender, _)) = sql::queue::message(&mut tx, p.id).await? else {
        return Err(Error::not_found(format!("there is no queued message {}", p.id)).with_field("id"));
    };
    let hash = sql::queue::delete(&mut tx, p.id).await?;
    let target = p.id.to_string();
    let change = Change { action: DeleteOutbound::NAME, domain: None, target: &target };
    audit::record(&mut tx, &b.caller.name, change, Some(&serde_json::json!({ "sender": sender })), None::<&()>).await?;
    tx.commit().await?;
    b.engine.collect_blobs(hash.into_iter().collect()).await?;
    Ok(())
}

pub(crate) async fn list_transports(b: &EngineBackend, p: ListTransports) -> Result<CursorPage<OutboundTransport>> {
    require(b)?;
    let limit = page_limit(p.limit)?;
    let rows =
        sql::queue::transports_page(&mut *b.engine.read().await?, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    Ok(page_of(rows, limit, |t| t.domain.clone()))
}

pub(crate) async fn set_transport(b: &EngineBackend, p: SetTransport) -> Result<OutboundTransport> {
    require(b)?;
    let domain = canonical_transport_domain(p.domain.trim())?;
    let host = p.host.trim().to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::validation(format!("'{}' is not a host name or IP address", p.host)).with_field("host"));
    }
    if p.port == 0 {
        return Err(Error::validation("the port must be 1–65535").with_field("port"));
    }
    let transport = OutboundTransport { domain, host, port: p.port };
    let mut tx = b.engine.write().await?;
    let before = sql::queue::transports(&mut tx).await?.into_iter().find(|t| t.domain == transport.domain);
    sql::queue::set_transport(&mut tx, &transport).await?;
    let change = Change { action: SetTransport::NAME, domain: None, target: &transport.domain };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&transport)).await?;
    tx.commit().await?;
    Ok(transport)
}

pub(crate) async fn remove_transport(b: &EngineBackend, p: RemoveTransport) -> Result<()> {
    require(b)?;
    let domain = canonical_transport_domain(p.domain.trim())?;
    let mut tx = b.engine.write().await?;
    let before = sql::queue::transports(&mut tx).await?.into_iter().find(|t| t.domain == domain);
    let Some(before) = before else {
        return Err(Error::not_found(format!("there is no transport for {domain}")).with_field("domain"));
    };
    sql::queue::remove_transport(&mut tx, &domain).await?;
    let change = Change { action: RemoveTransport::NAME, domain: None, target: &domain };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), None::<&()>).await?;
    tx.commit().await?;
    Ok(())
}

impl Engine {
    /// Sets a domain's fixed route as the local owner (tests, the desktop app's setup).
    pub async fn set_transport(&self, transport: OutboundTransport) -> Result<()> {
        let p = SetTransport { domain: transport.domain, host: transport.host, port: transport.port };
        self.local_backend().set_transport(p).await.map(drop)
    }

    /// Removes queued messages    /// Removes queued messages older than `before` (UNIX seconds) whose recipients are all
    /// delivered or bounced, and their blobs unless a mailbox holds the same bytes.
    pub async fn prune_outbound(&self, before: i64) -> Result<u32> {
        let mut tx = self.write().await?;
        let hashes = sql::queue::remove_finished(&mut tx, before).await?;
        tx.commit().await?;
        let n = hashes.len() as u32;
        self.collect_blobs(hashes).await?;
        Ok(n)
    }
}

/// The [`OutboundQueue`](postdesk_contract::mail::OutboundQueue) methods (`services.rs` delegates to these).
impl Engine {
    /// See [`OutboundQueue::claim_outbound`](postdesk_contract::mail::OutboundQueue::claim_outbound).
    pub async fn claim_outbound(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
        limit: usize,
    ) -> Result<Vec<OutboundJob>> {
        let mut tx = self.write().await?;
        let ids = sql::queue::claim(&mut tx, owner, now, now + lease_secs, limit as i64).await?;
        tx.commit().await?;
        let mut jobs = Vec::with_capacity(ids.len());
        let mut conn = self.read().await?;
        for id in ids {
            let Some((key, hash, body, sender, created_at)) = sql::queue::message(&mut conn, id).await? else {
                continue;
            };
            let recipients = sql::queue::due_recipients(&mut conn, id, now).await?;
            let raw = match body {
                Some(raw) => raw,
                None => self.blobs.read(&hash).await?,
            };
            jobs.push(OutboundJob { id, key, sender, raw, created_at, recipients });
        }
        Ok(jobs)
    }

    /// See [`OutboundQueue::report_outbound`](postdesk_contract::mail::OutboundQueue::report_outbound).
    pub async fn report_outbound(
        &self,
        owner: &str,
        now: i64,
        reports: Vec<(i64, Vec<RecipientResult>)>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for (id, results) in &reports {
            for r in results {
                if sql::queue::record_result(&mut tx, *id, now, r).await? {
                    crate::trace::record_outbound(&mut tx, now, r).await?;
                }
            }
            sql::queue::release(&mut tx, *id, owner).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See [`OutboundQueue::release_outbound_leases`](postdesk_contract::mail::OutboundQueue::release_outbound_leases).
    pub async fn release_outbound_leases(&self, node: &str) -> Result<u64> {
        let mut tx = self.write().await?;
        let n = sql::queue::release_node(&mut tx, node).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// See [`OutboundQueue::queue_outbound`](postdesk_contract::mail::OutboundQueue::queue_outbound).
    pub async fn queue_outbound(&self, key: &str, envelope: OutboundEnvelope, raw: Vec<u8>) -> Result<()> {
        if raw.is_empty() {
            return Err(Error::validation("an empty message cannot be queued"));
        }
        let hash = BlobStore::hash(&raw);
        if raw.len() <= INLINE_MAX {
            let mut tx = self.write().await?;
            sql::queue::enqueue(&mut tx, key, &hash, Some(&raw), &envelope, raw.len(), unix_now()).await?;
            tx.commit().await?;
            return Ok(());
        }
        let size = raw.len();
        let raw = postdesk_blobs::Bytes::from(raw);
        self.blobs.write(&hash, raw.clone()).await?;
        let mut tx = self.write().await?;
        // Under the write lock no collector can remove the blob; bring it back if one did.
        self.blobs.ensure(&hash, raw).await?;
        sql::queue::enqueue(&mut tx, key, &hash, None, &envelope, size, unix_now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`OutboundQueue::outbound_transports`](postdesk_contract::mail::OutboundQueue::outbound_transports).
    pub async fn outbound_transports(&self) -> Result<Vec<OutboundTransport>> {
        sql::queue::transports(&mut *self.read().await?).await
    }

    /// See [`OutboundQueue::mta_sts_policy`](postdesk_contract::mail::OutboundQueue::mta_sts_policy).
    pub async fn mta_sts_policy(&self, domain: &str, now: i64) -> Result<Option<KeptStsPolicy>> {
        sql::queue::sts_policy(&mut *self.read().await?, domain, now).await
    }

    /// See [`OutboundQueue::keep_mta_sts_policy`](postdesk_contract::mail::OutboundQueue::keep_mta_sts_policy):
    /// at most [`MAX_STS_POLICIES`] domains are kept.
    pub async fn keep_mta_sts_policy(&self, policy: KeptStsPolicy, now: i64) -> Result<()> {
        let Ok(domain) = validate::domain(&policy.domain) else {
            return Err(Error::validation(format!("'{}' is not a domain", policy.domain)).with_field("domain"));
        };
        if !matches!(policy.mode.as_str(), "enforce" | "testing" | "none") {
            return Err(Error::validation(format!("'{}' is not an MTA-STS mode", policy.mode)).with_field("mode"));
        }
        let policy = KeptStsPolicy { domain, ..policy };
        let mut tx = self.write().await?;
        sql::queue::keep_sts_policy(&mut tx, &policy, now, MAX_STS_POLICIES).await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`OutboundQueue::dkim_signing_key`](postdesk_contract::mail::OutboundQueue::dkim_signing_key).
    pub async fn dkim_signing_key(&self, domain: &str) -> Result<Option<DkimSigningKey>> {
        let Ok(domain) = validate::domain(domain) else { return Ok(None) };
        let key = sql::queue::active_dkim_key(&mut *self.read().await?, &domain).await?;
        Ok(key.map(|(selector, algorithm, private_key_pem)| DkimSigningKey {
            domain,
            selector,
            ed25519: algorithm == "ed25519",
            private_key_pem,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::engine_with;
    use postdesk_contract::mail::KeyedMessage;
    use postdesk_contract::outbound::RecipientStatus;

    fn handover(key: &str, local: &[&str], remote: &[&str]) -> KeyedMessage {
        KeyedMessage {
            filed: Vec::new(),
            key: key.into(),
            mailboxes: local.iter().map(|s| s.to_string()).collect(),
            raw: format!("Subject: {key}\r\n\r\nhello\r\n").into_bytes(),
            folder: None,
            outbound: Some(OutboundEnvelope {
                sender: "ann@example.com".into(),
                recipients: remote.iter().map(|s| s.to_string()).collect(),
            }),
            trace: None,
        }
    }

    #[tokio::test]
    async fn a_handed_over_message_is_queued_once_with_its_local_copies() {
        let engine = engine_with(&["ann@example.com", "bob@example.com"]).await;
        let msg = handover("smtp:1", &["bob@example.com"], &["x@remote.test", "y@remote.test", "z@other.test"]);
        let out = engine.deliver_batch(vec![msg.clone()]).await.unwrap();
        assert_eq!(out[0].delivered.len(), 1);
        // The spool offers it again after a crash: nothing twice.
        assert!(engine.deliver_batch(vec![msg.clone()]).await.unwrap()[0].already);
        let now = unix_now();
        let jobs = engine.claim_outbound("node-a", now, 60, 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].raw, msg.raw);
        assert_eq!(jobs[0].sender, "ann@example.com");
        let addresses: Vec<&str> = jobs[0].recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["x@remote.test", "y@remote.test", "z@other.test"]);
        // Its blob survives a sweep while it is queued.
        engine.sweep_blobs().await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_small_message_only_for_the_queue_is_kept_in_its_row_and_a_large_one_in_a_blob() {
        let engine = engine_with(&["ann@example.com"]).await;
        let small = handover("smtp:10", &[], &["x@remote.test"]);
        engine.deliver_batch(vec![small.clone()]).await.unwrap();
        engine.queue_outbound("dsn:10", envelope(), small.raw.clone()).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 0, "no blob file for a message kept in its row");
        let mut large = handover("smtp:11", &[], &["y@remote.test"]);
        large.raw.resize(INLINE_MAX + 1, b'x');
        engine.deliver_batch(vec![large.clone()]).await.unwrap();
        assert_eq!(engine.blob_count().await.unwrap(), 1, "a large message is a blob");
        let jobs = engine.claim_outbound("node-a", unix_now(), 60, 10).await.unwrap();
        let raws: Vec<&[u8]> = jobs.iter().map(|j| j.raw.as_slice()).collect();
        assert_eq!(raws, [small.raw.as_slice(), small.raw.as_slice(), large.raw.as_slice()]);
        // Once final and pruned, nothing is left of either.
        let done: Vec<_> = jobs
            .iter()
            .map(|j| {
                let r = RecipientResult {
                    status: RecipientStatus::Delivered,
                    reply: "250 ok".into(),
                    next_attempt: None,
                    ..j.recipients[0].clone().into_result()
                };
                (j.id, vec![r])
            })
            .collect();
        engine.report_outbound("node-a", unix_now(), done).await.unwrap();
        assert_eq!(engine.prune_outbound(unix_now() + 1).await.unwrap(), 3);
        assert_eq!(engine.blob_count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_kept_mta_sts_policy_is_read_back_until_its_end_and_bad_ones_are_refused() {
        let engine = engine_with(&["ann@example.com"]).await;
        let now = unix_now();
        let policy = KeptStsPolicy {
            domain: "Remote.TEST".into(),
            id: "1".into(),
            mode: "enforce".into(),
            mx: vec!["mx.remote.test".into(), "*.remote.test".into()],
            max_age: 60,
            until: now + 60,
        };
        engine.keep_mta_sts_policy(policy.clone(), now).await.unwrap();
        let kept = engine.mta_sts_policy("remote.test", now + 59).await.unwrap();
        assert_eq!(kept, Some(KeptStsPolicy { domain: "remote.test".into(), ..policy.clone() }));
        assert_eq!(engine.mta_sts_policy("remote.test", now + 60).await.unwrap(), None, "past its max_age");
        let bad = KeptStsPolicy { mode: "maybe".into(), ..policy.clone() };
        assert_eq!(engine.keep_mta_sts_policy(bad, now).await.unwrap_err().field.as_deref(), Some("mode"));
        // A newer policy replaces it; the out-of-force are dropped on the next write.
        let newer = KeptStsPolicy { id: "2".into(), until: now + 600, ..policy };
        engine.keep_mta_sts_policy(newer, now + 1).await.unwrap();
        assert_eq!(engine.mta_sts_policy("remote.test", now + 100).await.unwrap().unwrap().id, "2");
    }

    fn envelope() -> OutboundEnvelope {
        OutboundEnvelope { sender: String::new(), recipients: vec!["ann@remote.test".into()] }
    }

    #[tokio::test]
    async fn a_lease_keeps_other_workers_off_until_it_runs_out() {
        let engine = engine_with(&["ann@example.com"]).await;
        engine.deliver_batch(vec![handover("smtp:2", &[], &["x@remote.test"])]).await.unwrap();
        let now = unix_now();
        assert_eq!(engine.claim_outbound("node-a", now, 60, 10).await.unwrap().len(), 1);
        assert!(engine.claim_outbound("node-b", now + 10, 60, 10).await.unwrap().is_empty(), "leased to a");
        // Node a died: after its lease, b takes the message over.
        let taken = engine.claim_outbound("node-b", now + 60, 60, 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        let id = taken[0].id;
        let rcpt = taken[0].recipients[0].id;
        // a's late report is recorded but does not release b's lease.
        let deferred = RecipientResult {
            id: rcpt,
            status: RecipientStatus::Deferred,
            reply: "451 4.3.0 try later".into(),
            next_attempt: Some(now + 400),
            delay_notified: false,
        };
        engine.report_outbound("node-a", now + 61, vec![(id, vec![deferred])]).await.unwrap();
        assert!(engine.claim_outbound("node-c", now + 100, 60, 10).await.unwrap().is_empty(), "b holds it");
        engine.report_outbound("node-b", now + 62, vec![(id, vec![])]).await.unwrap();
        assert!(engine.claim_outbound("node-c", now + 399, 60, 10).await.unwrap().is_empty(), "not due yet");
        let again = engine.claim_outbound("node-c", now + 400, 60, 10).await.unwrap();
        assert_eq!(again[0].recipients[0].attempts, 1);
        let delivered = RecipientResult {
            status: RecipientStatus::Delivered,
            reply: "250 ok".into(),
            next_attempt: None,
            ..again[0].recipients[0].clone().into_result()
        };
        engine.report_outbound("node-c", now + 401, vec![(id, vec![delivered.clone()])]).await.unwrap();
        assert!(engine.claim_outbound("node-c", now + 9999, 60, 10).await.unwrap().is_empty(), "final");
        // A final recipient never changes again.
        let bounced = RecipientResult { status: RecipientStatus::Bounced, ..delivered };
        engine.report_outbound("node-c", now + 402, vec![(id, vec![bounced])]).await.unwrap();
        assert_eq!(engine.prune_outbound(now + 1).await.unwrap(), 1);
        assert_eq!(engine.blob_count().await.unwrap(), 0, "the blob goes with the pruned message");
    }

    trait IntoResult {
        fn into_result(self) -> RecipientResult;
    }
    impl IntoResult for postdesk_contract::outbound::OutboundRecipient {
        fn into_result(self) -> RecipientResult {
            RecipientResult {
                id: self.id,
                status: RecipientStatus::Deferred,
                reply: String::new(),
                next_attempt: None,
                delay_notified: false,
            }
        }
    }

    #[tokio::test]
    async fn transports_are_canonical_and_removable() {
        let engine = engine_with(&[]).await;
        engine
            .set_transport(OutboundTransport { domain: "Remote.TEST".into(), host: "127.0.0.1".into(), port: 2525 })
            .await
            .unwrap();
        engine
            .set_transport(OutboundTransport { domain: "remote.test".into(), host: "::1".into(), port: 25 })
            .await
            .unwrap();
        let all = engine.outbound_transports().await.unwrap();
        assert_eq!(all, [OutboundTransport { domain: "remote.test".into(), host: "::1".into(), port: 25 }]);
        let remove = || RemoveTransport { domain: "remote.test".into() };
        engine.local_backend().remove_transport(remove()).await.unwrap();
        assert!(engine.local_backend().remove_transport(remove()).await.is_err());
        assert!(engine.dkim_signing_key("example.com").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_smtp_status_counts_recipients_per_destination_and_status() {
        let engine = engine_with(&["ann@example.com"]).await;
        let msg = handover("smtp:9", &[], &["x@remote.test", "y@remote.test", "w@remote.test", "z@other.test"]);
        engine.deliver_batch(vec![msg]).await.unwrap();
        let now = unix_now();
        let job = engine.claim_outbound("node-a", now, 60, 10).await.unwrap().remove(0);
        let result = |i: usize, status, next_attempt| RecipientResult {
            id: job.recipients[i].id,
            status,
            reply: "reply".into(),
            next_attempt,
            delay_notified: false,
        };
        let results = vec![
            result(0, RecipientStatus::Delivered, None),
            result(1, RecipientStatus::Bounced, None),
            result(2, RecipientStatus::Deferred, Some(now + 300)),
        ];
        engine.report_outbound("node-a", now, vec![(job.id, results)]).await.unwrap();
        let status = engine.local_backend().get_smtp_status(GetSmtpStatus {}).await.unwrap();
        let counts: Vec<(&str, u64, u64, u64, u64)> = status
            .destinations
            .iter()
            .map(|d| (d.domain.as_str(), d.queued, d.deferred, d.delivered, d.bounced))
            .collect();
        assert_eq!(counts, [("remote.test", 0, 1, 1, 1), ("other.test", 1, 0, 0, 0)]);
        // Role-checked as before: an admin without the SMTP page does not read it.
        let caller = postdesk_contract::model::Caller {
            name: "dora".into(),
            role: postdesk_contract::model::Role::Admin,
            pages: vec![Page::Accounts],
            domains: None,
        };
        let denied = engine.backend_for(caller).get_smtp_status(GetSmtpStatus {}).await.unwrap_err();
        assert_eq!(denied.code, postdesk_contract::ErrorCode::PermissionDenied);
    }
}
