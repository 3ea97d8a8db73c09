//! The outbound queue's and the transport table's admin API through the `Backend`, on both
//! implementations: list with filters, retry now, bounce now, delete; set, list and remove
//! fixed routes; audit entries; who may do what.

use postdesk_contract::api::*;
use postdesk_contract::model::*;
use postdesk_contract::outbound::{OutboundEnvelope, OutboundTransport, RecipientStatus};
use postdesk_contract::{Backend, ErrorCode};
use postdesk_tests::{Harness, contract, refused};

contract!(
    the_queue_lists_filters_retries_bounces_and_deletes,
    transports_are_set_listed_and_removed_with_audit,
    helpdesk_reads_the_queue_and_domain_admins_are_refused,
);

async fn queue(h: &Harness, key: &str, sender: &str, to: &[&str]) -> i64 {
    let envelope = OutboundEnvelope { sender: sender.into(), recipients: to.iter().map(|s| s.to_string()).collect() };
    h.engine.queue_outbound(key, envelope, format!("Subject: {key}\r\n\r\nx\r\n").into_bytes()).await.unwrap();
    let all = h.owner.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    all.into_iter().find(|m| m.sender == sender).map(|m| m.id).unwrap()
}

async fn the_queue_lists_filters_retries_bounces_and_deletes(h: Harness) {
    let b = h.owner.as_ref();
    let first = queue(&h, "k1", "ann@example.com", &["x@remote.test", "y@other.test"]).await;
    let second = queue(&h, "k2", "bob@example.com", &["z@other.test"]).await;
    let all = b.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items;
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), [second, first], "newest first");
    let m = &all[1];
    assert_eq!(m.recipients.len(), 2);
    assert_eq!(m.recipients[0].status, RecipientStatus::Queued);
    assert!(m.recipients[0].next_attempt_at.is_some() && m.recipients[0].last_reply.is_none());
    let by = |p: ListOutboundQueue| async move {
        b.list_outbound_queue(p).await.unwrap().items.into_iter().map(|m| m.id).collect::<Vec<_>>()
    };
    assert_eq!(by(ListOutboundQueue { domain: Some("REMOTE.test".into()), ..Default::default() }).await, [first]);
    assert_eq!(by(ListOutboundQueue { sender: Some("bob@example.com".into()), ..Default::default() }).await, [second]);
    let delivered = ListOutboundQueue { status: Some(RecipientStatus::Delivered), ..Default::default() };
    assert!(by(delivered).await.is_empty());
    assert_eq!(by(ListOutboundQueue { limit: Some(1), ..Default::default() }).await, [second]);

    let audit = h.audit_count().await;
    b.retry_outbound(RetryOutbound { id: first }).await.unwrap();
    b.bounce_outbound(BounceOutbound { id: first }).await.unwrap();
    // A worker now finds the recipients due, and marked to bounce without an attempt.
    let jobs = h.engine.claim_outbound("test-node:1", i64::MAX / 2, 60, 10).await.unwrap();
    let job = jobs.iter().find(|j| j.id == first).unwrap();
    assert!(job.recipients.iter().all(|r| r.bounce_now));
    b.delete_outbound(DeleteOutbound { id: second }).await.unwrap();
    assert_eq!(h.audit_count().await, audit + 3, "retry, bounce and delete are audited");
    assert_eq!(by(ListOutboundQueue::default()).await, [first]);
    refused(b.delete_outbound(DeleteOutbound { id: second }).await, ErrorCode::NotFound, "no queued message");
    refused(b.retry_outbound(RetryOutbound { id: second }).await, ErrorCode::NotFound, "no queued message");
}

async fn transports_are_set_listed_and_removed_with_audit(h: Harness) {
    let b = h.owner.as_ref();
    let audit = h.audit_count().await;
    let set = |domain: &str, port| SetTransport { domain: domain.into(), host: "Relay.Example".into(), port };
    let t = b.set_transport(set("Remote.TEST", 2525)).await.unwrap();
    assert_eq!(t, OutboundTransport { domain: "remote.test".into(), host: "relay.example".into(), port: 2525 });
    b.set_transport(set("remote.test", 25)).await.unwrap();
    b.set_transport(set("*", 587)).await.unwrap();
    let all = b.list_transports(ListTransports::default()).await.unwrap().items;
    assert_eq!(all.iter().map(|t| (t.domain.as_str(), t.port)).collect::<Vec<_>>(), [("*", 587), ("remote.test", 25)]);
    refused(b.set_transport(set("not a domain", 25)).await, ErrorCode::Validation, "domain");
    refused(b.set_transport(set("x.test", 0)).await, ErrorCode::Validation, "port");
    b.remove_transport(RemoveTransport { domain: "remote.test".into() }).await.unwrap();
    refused(
        b.remove_transport(RemoveTransport { domain: "remote.test".into() }).await,
        ErrorCode::NotFound,
        "no transport",
    );
    assert_eq!(b.list_transports(ListTransports::default()).await.unwrap().items.len(), 1);
    assert_eq!(h.audit_count().await, audit + 4);
}

async fn helpdesk_reads_the_queue_and_domain_admins_are_refused(h: Harness) {
    h.domain("a.example", 10).await;
    let id = queue(&h, "k3", "ann@a.example", &["x@remote.test"]).await;
    let (desk, _) = h.admin("desk", Role::Helpdesk, &[Page::Smtp], None).await;
    let (scoped, _) = h.admin("scoped", Role::Admin, &Page::ALL, Some(&["a.example"])).await;
    let denied = ErrorCode::PermissionDenied;
    assert_eq!(desk.list_outbound_queue(ListOutboundQueue::default()).await.unwrap().items.len(), 1);
    desk.list_transports(ListTransports::default()).await.unwrap();
    refused(desk.retry_outbound(RetryOutbound { id }).await, denied, "helpdesk");
    refused(desk.delete_outbound(DeleteOutbound { id }).await, denied, "helpdesk");
    let route = SetTransport { domain: "remote.test".into(), host: "127.0.0.1".into(), port: 25 };
    refused(desk.set_transport(route.clone()).await, denied, "helpdesk");
    // The queue carries every domain's mail: server-wide, not a domain admin's to read.
    refused(scoped.list_outbound_queue(ListOutboundQueue::default()).await, denied, "all of them");
    refused(scoped.set_transport(route).await, denied, "all of them");
    let _: &dyn Backend = desk.as_ref();
}
