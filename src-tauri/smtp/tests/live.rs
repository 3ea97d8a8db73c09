//! The profile replaced while the service runs (`SmtpService::set_profile`), and the log
//! of the last refusals, driven by swaks and raw sessions against the real service.
//! Needs `swaks` (Debian: apt-get install -y swaks).

use crate::support;

use postdesk_smtp::{ListAction, ListMatch, ListRule, ListenerKind, RefusalStage, SmtpProfile};
use support::{TestServer, Wire, swaks};

fn rule(name: &str, matches: ListMatch, action: ListAction) -> ListRule {
    ListRule { name: name.into(), matches, action }
}

/// The server's current profile with `change` applied.
fn changed(server: &TestServer, change: impl FnOnce(&mut SmtpProfile)) -> SmtpProfile {
    let mut profile = (*server.service.profile()).clone();
    change(&mut profile);
    profile
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_rule_added_at_runtime_refuses_the_next_connection_and_removing_it_lets_mail_through() {
    let server = TestServer::start().await;
    let send = || swaks(server.mx, &["--from", "someone@remote.test", "--to", "ann@example.test"]);
    assert!(send().await.ok);
    assert_eq!(server.spool.ids().len(), 1);

    // A session opened before the change keeps its connect-stage decision.
    let (mut open, greeting) = Wire::open(server.mx).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    open.cmd("EHLO client.test").await;

    let block = rule("block-loopback", ListMatch::ClientIp("127.0.0.0/8".parse().unwrap()), ListAction::Reject);
    server.service.set_profile(changed(&server, |p| p.lists = vec![block]));

    let run = send().await;
    assert!(!run.ok);
    assert!(run.stdout.contains("<** 554 5.7.1 Connection refused by policy"), "{}", run.stdout);
    assert_eq!(server.spool.ids().len(), 1, "nothing more stored");
    // The listener is the same one, still accepting (and refusing) connections.
    assert_eq!(server.service.listeners().len(), 3);
    assert!(server.service.listeners().contains(&(ListenerKind::Mx, server.mx)));
    let (mut w, refused) = Wire::open(server.mx).await;
    assert_eq!(refused, "554 5.7.1 Connection refused by policy\r\n");
    assert!(w.closed().await);
    assert_eq!(server.service.counters().refused("block-loopback"), 2);

    let log = server.service.recent_refusals();
    assert_eq!(log.len(), 2);
    let last = &log[0];
    assert_eq!(last.rule, "block-loopback");
    assert_eq!(last.stage, RefusalStage::Connect);
    assert_eq!(last.listener, ListenerKind::Mx);
    assert_eq!(last.client_ip.to_string(), "127.0.0.1");
    assert_eq!(last.reply, "554 5.7.1 Connection refused by policy");
    assert_eq!((last.sender.as_deref(), last.recipient.as_deref()), (None, None));

    let mail = open.cmd("MAIL FROM:<someone@remote.test>").await;
    assert!(mail.starts_with("250"), "IP rules are decided at connect: {mail}");
    open.cmd("QUIT").await;

    server.service.set_profile(changed(&server, |p| p.lists.clear()));
    assert!(send().await.ok);
    assert_eq!(server.spool.ids().len(), 2);
    assert_eq!(server.service.counters().refused("block-loopback"), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_rules_and_limits_apply_from_the_next_mail_of_an_open_session() {
    let server = TestServer::start().await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.test").await;
    assert!(w.cmd("MAIL FROM:<x@bad.test>").await.starts_with("250"));
    assert!(w.cmd("RSET").await.starts_with("250"));

    let block = rule("bad-domain", ListMatch::SenderDomain("bad.test".into()), ListAction::Reject);
    server.service.set_profile(changed(&server, |p| p.lists = vec![block]));
    let refused = w.cmd("MAIL FROM:<x@mail.bad.test>").await;
    assert_eq!(refused, "550 5.7.1 Sender refused by policy\r\n");
    let log = server.service.recent_refusals();
    let last = &log[0];
    assert_eq!(
        (last.rule.as_str(), last.stage, last.sender.as_deref(), last.recipient.as_deref()),
        ("bad-domain", RefusalStage::Mail, Some("x@mail.bad.test"), None)
    );
    assert_eq!(last.reply, "550 5.7.1 Sender refused by policy");

    // The recipient limit (5 in the test profile) lowered to 1 while the session is open.
    server.service.set_profile(changed(&server, |p| p.max_recipients = 1));
    assert!(w.cmd("MAIL FROM:<x@remote.test>").await.starts_with("250"));
    assert!(w.cmd("RCPT TO:<ann@example.test>").await.starts_with("250"));
    let second = w.cmd("RCPT TO:<dora@example.test>").await;
    assert!(second.starts_with("452 4.5.3"), "{second}");
    let log = server.service.recent_refusals();
    let last = &log[0];
    assert_eq!(
        (last.rule.as_str(), last.stage, last.sender.as_deref(), last.recipient.as_deref()),
        ("too_many_recipients", RefusalStage::Rcpt, Some("x@remote.test"), Some("dora@example.test"))
    );
    assert_eq!(last.reply, "452 4.5.3 Too many recipients");
    w.cmd("QUIT").await;

    // A refusal at DATA names the transaction's sender.
    let run =
        swaks(server.mx, &["--from", "x@remote.test", "--to", "ann@example.test", "--body", &"x".repeat(70_000)]).await;
    assert!(run.stdout.contains("<** 552 5.3.4"), "{}", run.stdout);
    let log = server.service.recent_refusals();
    assert_eq!(
        (log[0].rule.as_str(), log[0].stage, log[0].sender.as_deref()),
        ("message_too_big", RefusalStage::Data, Some("x@remote.test"))
    );
    assert_eq!(log.len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_and_allow_rules_through_a_swapped_profile() {
    let server = TestServer::start().await;
    let send =
        |from: &'static str| async move { swaks(server.mx, &["--from", from, "--to", "ann@example.test"]).await };

    assert!(send("news@newsletter.test").await.ok);
    assert_eq!(server.spool.ids().len(), 1);
    let discard = rule("newsletters", ListMatch::SenderDomain("newsletter.test".into()), ListAction::Discard);
    server.service.set_profile(changed(&server, |p| p.lists = vec![discard]));
    assert!(send("news@newsletter.test").await.ok, "a discarded message looks accepted");
    assert_eq!(server.spool.ids().len(), 1, "but is not stored");
    let c = server.service.counters();
    assert_eq!((c.messages_discarded, c.discarded.get("newsletters")), (1, Some(&1)));
    assert!(server.service.recent_refusals().is_empty(), "a discard is not a refusal");

    // Allow before reject: the first matching rule decides, in the order given.
    let allow = rule("vip", ListMatch::SenderAddress("boss@bad.test".into()), ListAction::Allow);
    let block = rule("bad-domain", ListMatch::SenderDomain("bad.test".into()), ListAction::Reject);
    server.service.set_profile(changed(&server, |p| p.lists = vec![allow.clone(), block.clone()]));
    assert!(send("boss@bad.test").await.ok);
    assert_eq!(server.spool.ids().len(), 2);
    let run = send("other@bad.test").await;
    assert!(run.stdout.contains("<** 550 5.7.1 Sender refused by policy"), "{}", run.stdout);

    // Swapped order: the reject rule now comes first for the boss too.
    server.service.set_profile(changed(&server, |p| p.lists = vec![block, allow]));
    let run = send("boss@bad.test").await;
    assert!(run.stdout.contains("<** 550 5.7.1 Sender refused by policy"), "{}", run.stdout);
    assert_eq!(server.service.counters().refused("bad-domain"), 2);
    assert_eq!(server.spool.ids().len(), 2);

    // An allow rule skips the later checks: our own domain from an unauthenticated client.
    let run = send("partner@example.test").await;
    assert!(run.stdout.contains("<** 550 5.7.1 Authentication required"), "{}", run.stdout);
    let allow = rule("partner", ListMatch::SenderAddress("partner@example.test".into()), ListAction::Allow);
    server.service.set_profile(changed(&server, |p| p.lists = vec![allow]));
    assert!(send("partner@example.test").await.ok);
    assert_eq!(server.spool.ids().len(), 3);
    server.stop().await;
}
