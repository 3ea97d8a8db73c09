//! Inbound SPF, DKIM and DMARC (mail-auth), reverse DNS and the sender-domain check,
//! against a real authoritative DNS server: knotd on loopback serving a zone made per run
//! (it carries a fresh Ed25519 DKIM key). Needs the Debian package `knot`.

use crate::knot;
use crate::support;

use base64::Engine;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use postdesk_smtp::InboundVerifier;
use support::{TestServer, Wire, queue_id};

/// The zones: auth.test (senders) and an empty `test.` parent, so that DMARC's tree walk
/// above auth.test gets NXDOMAIN rather than REFUSED.
fn zones(dir: &std::path::Path, dkim_public: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let soa = "@ SOA ns.auth.test. hostmaster.auth.test. 1 3600 600 86400 300\n@ NS ns.auth.test.\n";
    let forward = format!(
        "$ORIGIN auth.test.\n$TTL 300\n{soa}ns A 127.0.0.1\n\
         pass MX 10 mx.pass.auth.test.\nmx.pass A 127.0.0.1\n\
         pass TXT \"v=spf1 ip4:127.0.0.1 -all\"\n\
         s1._domainkey.pass TXT \"v=DKIM1; k=ed25519; p={dkim_public}\"\n\
         _dmarc.pass TXT \"v=DMARC1; p=reject\"\n\
         fail MX 10 mx.pass.auth.test.\nfail TXT \"v=spf1 ip4:192.0.2.1 -all\"\n\
         _dmarc.fail TXT \"v=DMARC1; p=reject\"\n\
         soft MX 10 mx.pass.auth.test.\nsoft TXT \"v=spf1 ip4:192.0.2.1 -all\"\n\
         quar MX 10 mx.pass.auth.test.\nquar TXT \"v=spf1 ip4:192.0.2.1 -all\"\n\
         _dmarc.quar TXT \"v=DMARC1; p=quarantine\"\n\
         nomx TXT \"v=spf1 -all\"\n\
         nullmx MX 0 .\n"
    );
    let parent = format!(
        "$ORIGIN test.\n$TTL 300\n{}",
        soa.replace("ns.auth.test.", "ns.test.").replace("hostmaster.auth.test.", "hostmaster.test.")
    ) + "ns A 127.0.0.1\n";
    let (f, p) = (dir.join("auth.zone"), dir.join("test.zone"));
    std::fs::write(&f, forward).unwrap();
    std::fs::write(&p, parent).unwrap();
    (f, p)
}

/// Sends one message on an open MX session; returns the final reply.
async fn send(w: &mut Wire, from: &str, message: &str) -> String {
    let mail = w.cmd(&format!("MAIL FROM:<{from}>")).await;
    if !mail.starts_with("250") {
        return mail;
    }
    assert!(w.cmd("RCPT TO:<ann@example.test>").await.starts_with("250"));
    assert!(w.cmd("DATA").await.starts_with("354"));
    w.send(format!("{message}.\r\n").as_bytes()).await;
    w.reply().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_dkim_dmarc_reverse_dns_and_sender_domains_against_knotd() {
    let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap();
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    let dir = tempfile::tempdir().unwrap();
    let (forward, parent) = zones(dir.path(), &public);
    let dns = knot::Knot::start(&[("test.", parent.as_path()), ("auth.test.", forward.as_path())]);
    let verifier = || InboundVerifier::with_server(dns.addr).unwrap();

    // Verification on (the default): SPF at MAIL FROM, DKIM and DMARC at end of DATA.
    let server = TestServer::with(|s| s.verifier = Some(verifier())).await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.auth.test").await;
    let original = "From: Sender <x@pass.auth.test>\r\nTo: ann@example.test\r\nSubject: signed\r\n\r\nHello.\r\n";
    let signature = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(&pkcs8).unwrap())
        .domain("pass.auth.test")
        .selector("s1")
        .headers(["From", "To", "Subject"])
        .sign(original.as_bytes())
        .unwrap();
    let signed = format!("{}{original}", signature.to_header());
    let done = send(&mut w, "x@pass.auth.test", &signed).await;
    assert!(done.starts_with("250 "), "{done}");
    let stored = String::from_utf8(server.stored(queue_id(&done)).message).unwrap();
    let ar_start = stored.find("Authentication-Results: ").expect("A-R header");
    let (trace, rest) = stored.split_at(ar_start);
    assert!(trace.starts_with("Received: "));
    assert!(rest.ends_with(&signed), "message kept byte-exact after the trace headers");
    let ar = &rest[..rest.len() - signed.len()];
    assert!(
        ar.starts_with("Authentication-Results: mx.example.test;\r\n\tdkim=pass header.d=pass.auth.test header.s=s1"),
        "{ar}"
    );
    assert!(ar.contains("spf=pass"), "{ar}");
    assert!(ar.contains("smtp.mailfrom=x@pass.auth.test"), "{ar}");
    assert!(ar.contains("dmarc=pass header.from=pass.auth.test policy.dmarc=reject"), "{ar}");

    // SPF fail + DMARC p=reject without DKIM: refused at end of DATA.
    let done = send(&mut w, "x@fail.auth.test", "From: x@fail.auth.test\r\nSubject: spoof\r\n\r\nHi\r\n").await;
    assert!(done.starts_with("550 5.7.1 Message rejected: DMARC policy"), "{done}");
    // SPF fail without DMARC: accepted and recorded.
    let done = send(&mut w, "x@soft.auth.test", "From: x@soft.auth.test\r\nSubject: soft\r\n\r\nHi\r\n").await;
    let stored = String::from_utf8(server.stored(queue_id(&done)).message).unwrap();
    assert!(stored.contains("\tdkim=none;\r\n\tspf=fail"), "{stored}");
    assert!(stored.contains("dmarc=none"), "{stored}");
    assert_eq!(server.stored(queue_id(&done)).envelope.junk, None, "SPF fail alone is not junk by default");
    // DMARC fails with p=quarantine: accepted for the recipients' Junk folder.
    let done = send(&mut w, "x@quar.auth.test", "From: x@quar.auth.test\r\nSubject: quar\r\n\r\nHi\r\n").await;
    assert!(done.starts_with("250 "), "{done}");
    let quarantined = server.stored(queue_id(&done));
    assert_eq!(quarantined.envelope.junk.as_deref(), Some("dmarc_fail"));
    assert!(String::from_utf8(quarantined.message).unwrap().contains("dmarc=fail"));
    let c = server.service.counters();
    assert_eq!(c.refused("dmarc_reject"), 1);
    assert_eq!(c.junked.get("dmarc_fail"), Some(&1));
    server.stop().await;

    // The admin's other choices: p=reject not enforced → Junk; SPF fail → Junk.
    let server = TestServer::with(|s| {
        s.verifier = Some(verifier());
        s.profile.inbound_auth.enforce_dmarc_reject = false;
        s.profile.inbound_auth.junk_spf_fail = true;
    })
    .await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.auth.test").await;
    for (sender, junk) in [("x@fail.auth.test", "dmarc_fail"), ("x@soft.auth.test", "spf_fail")] {
        let done = send(&mut w, sender, &format!("From: {sender}\r\nSubject: s\r\n\r\nHi\r\n")).await;
        assert!(done.starts_with("250 "), "{sender}: {done}");
        assert_eq!(server.stored(queue_id(&done)).envelope.junk.as_deref(), Some(junk), "{sender}");
    }
    server.stop().await;

    // Refusing on SPF fail at MAIL FROM, and senders whose domain cannot receive mail.
    let server = TestServer::with(|s| {
        s.verifier = Some(verifier());
        s.profile.inbound_auth.reject_spf_fail = true;
        s.profile.sender.reject_domain_without_mx_or_a = true;
    })
    .await;
    let (mut w, _) = Wire::open(server.mx).await;
    w.cmd("EHLO client.auth.test").await;
    let table = [
        ("x@soft.auth.test", "550 5.7.23 SPF check failed for soft.auth.test"),
        ("x@nomx.auth.test", "550 5.1.8 Sender domain nomx.auth.test has no MX or A record"),
        ("x@missing.auth.test", "550 5.1.8 Sender domain missing.auth.test has no MX or A record"),
        ("x@nullmx.auth.test", "550 5.7.27 Sender domain nullmx.auth.test does not accept mail (null MX)"),
        ("x@pass.auth.test", "250 2.1.0"),
    ];
    for (sender, expected) in table {
        let reply = w.cmd(&format!("MAIL FROM:<{sender}>")).await;
        assert!(reply.starts_with(expected), "{sender}: {reply}");
        w.cmd("RSET").await;
    }
    let c = server.service.counters();
    assert_eq!(c.refused("spf_fail"), 1);
    assert_eq!(c.refused("sender_domain_unresolvable"), 3);
    server.stop().await;

    // Reverse DNS required. Loopback PTRs never reach knotd: hickory answers every PTR in
    // 127.in-addr.arpa itself with "localhost" (RFC 6761), whose A record is 127.0.0.1.
    // So 127.0.0.1 passes (PTR confirmed forward) and 127.0.0.2 fails (the forward lookup
    // of its PTR name does not lead back to it) — the iprev rule, on special-use names.
    let server = TestServer::with(|s| {
        s.verifier = Some(verifier());
        s.profile.connection.require_reverse_dns = true;
    })
    .await;
    let (mut w, greeting) = Wire::open_from(server.mx, "127.0.0.1".parse().unwrap()).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    w.cmd("EHLO client.auth.test").await;
    let done = send(&mut w, "x@nomx.auth.test", "Subject: rdns\r\n\r\nHi\r\n").await;
    let stored = String::from_utf8(server.stored(queue_id(&done)).message).unwrap();
    assert!(stored.starts_with("Received: from client.auth.test (localhost [127.0.0.1])"), "{stored}");
    let (mut w, greeting) = Wire::open_from(server.mx, "127.0.0.2".parse().unwrap()).await;
    assert_eq!(greeting, "554 5.7.25 Reverse DNS validation failed for [127.0.0.2]\r\n");
    assert!(w.closed().await);
    // Submission does not require reverse DNS (clients sit behind home routers).
    let (_, greeting) = Wire::open_from(server.submission, "127.0.0.2".parse().unwrap()).await;
    assert!(greeting.starts_with("220 "));
    assert_eq!(server.service.counters().refused("reverse_dns"), 1);
    server.stop().await;
}
