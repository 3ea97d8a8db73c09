//! Delivery through a smarthost relay (the contract's [`relay`](postdesk_contract::relay)):
//! a recipient domain without a transport-table route goes to the sender domain's relay,
//! else the global one, instead of its MX hosts.
//!
//! TLS is required, never opportunistic: implicit TLS from the first byte, or STARTTLS,
//! which the relay must offer. A failed handshake, a certificate that does not verify
//! (when verification is on) or a relay without STARTTLS is a temporary failure whose
//! reply says so — the message is never sent to the relay in clear text. Then AUTH with
//! the chosen mechanism only (PLAIN per RFC 4616, LOGIN, or XOAUTH2 with the stored bearer
//! token), then the usual transaction ([`client::transact`]). A refused AUTH (535) defers
//! every recipient with the relay's reply: a wrong relay credential is the admin's to fix,
//! not a reason to bounce the sender's mail at once (it bounces only when the give-up time
//! passes, like any temporary failure).

use std::net::{IpAddr, SocketAddr};

use mail_send::{Credentials, SmtpClient};
use postdesk_contract::relay::{RelayAuth, RelayRoute, RelayTls};
use postdesk_dns::DnsLookup;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN, AUTH_XOAUTH2, EXT_START_TLS, EhloResponse};
use tokio::io::{AsyncRead, AsyncWrite};

use super::client::{Outcome, Timeouts, Transaction, err_text, hello, reply_text, transact};
use super::route;

/// One attempt for one recipient domain's share through `route`'s relay: an outcome per
/// recipient, and the relay's name (the DSN's Remote-MTA). Every address of the relay is
/// tried until one takes a session; what refuses TLS or AUTH defers the recipients.
pub(crate) async fn attempt(
    dns: Option<&dyn DnsLookup>,
    route: &RelayRoute,
    t: &Transaction<'_>,
    timeouts: Timeouts,
    transactions: &std::sync::atomic::AtomicU64,
) -> (Vec<Outcome>, Option<String>) {
    let relay = &route.relay;
    let every = |reply: String| (vec![Outcome::Temporary(reply); t.recipients.len()], Some(relay.host.clone()));
    let literal = relay.host.trim_start_matches('[').trim_end_matches(']');
    let addrs = match (literal.parse::<IpAddr>(), dns) {
        (Ok(ip), _) => vec![SocketAddr::new(ip, relay.port)],
        (Err(_), Some(dns)) => match route::addresses(dns, &relay.host, relay.port).await {
            Ok(a) => a,
            Err(e) => return every(format!("451 4.4.3 cannot resolve the relay {}: {e}", relay.host)),
        },
        (Err(_), None) => return every(format!("451 4.4.3 no DNS resolver to find the relay {}", relay.host)),
    };
    let mut last = format!("{} has no address", relay.host);
    for addr in addrs {
        transactions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match deliver(addr, route, t, timeouts).await {
            Ok(outcomes) => return (outcomes, Some(relay.host.clone())),
            Err(Failed::Connect(e)) => last = format!("{}[{addr}]: {e}", relay.host),
            Err(Failed::Tls(e)) => {
                tracing::warn!(host = %relay.host, %addr, "relay TLS failed, nothing sent: {e}");
                return every(format!(
                    "451 4.7.5 TLS with the relay {}:{} failed, not sent without it: {e}",
                    relay.host, relay.port
                ));
            }
        }
    }
    every(format!("451 4.4.1 the relay {}:{} did not answer ({last})", relay.host, relay.port))
}

/// Why the relay took no transaction.
enum Failed {
    /// Connecting, the greeting or EHLO failed: the next address may answer.
    Connect(String),
    /// TLS could not be had (handshake, certificate, no STARTTLS): never sent in clear.
    Tls(String),
}

async fn deliver(
    addr: SocketAddr,
    route: &RelayRoute,
    t: &Transaction<'_>,
    timeouts: Timeouts,
) -> Result<Vec<Outcome>, Failed> {
    let relay = &route.relay;
    let mut client = SmtpClient::connect(addr, timeouts.connect).await.map_err(|e| Failed::Connect(err_text(e)))?;
    let name = relay.host.trim_start_matches('[').trim_end_matches(']');
    let connector = mail_send::smtp::tls::build_tls_connector(!relay.verify_certificate);
    match relay.tls {
        RelayTls::Implicit => {
            client.timeout = timeouts.connect;
            let mut client = client.into_tls(&connector, name).await.map_err(|e| Failed::Tls(err_text(e)))?;
            client.timeout = timeouts.command;
            greeting(&mut client, timeouts).await?;
            let ehlo = hello(&mut client, t.helo).await.map_err(|e| Failed::Connect(e.to_string()))?;
            Ok(session(&mut client, &ehlo, route, t, timeouts).await)
        }
        RelayTls::Starttls => {
            client.timeout = timeouts.command;
            greeting(&mut client, timeouts).await?;
            let ehlo = hello(&mut client, t.helo).await.map_err(|e| Failed::Connect(e.to_string()))?;
            if !ehlo.has_capability(EXT_START_TLS) {
                let _ = client.cmd("QUIT\r\n").await;
                return Err(Failed::Tls("the relay does not offer STARTTLS".into()));
            }
            client.timeout = timeouts.connect;
            let mut client = client.start_tls(&connector, name).await.map_err(|e| Failed::Tls(err_text(e)))?;
            client.timeout = timeouts.command;
            let ehlo = hello(&mut client, t.helo).await.map_err(|e| Failed::Connect(e.to_string()))?;
            Ok(session(&mut client, &ehlo, route, t, timeouts).await)
        }
    }
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    timeouts: Timeouts,
) -> Result<(), Failed> {
    let greeting = tokio::time::timeout(timeouts.command, client.read())
        .await
        .map_err(|_| Failed::Connect("time-out waiting for the greeting".into()))?
        .map_err(|e| Failed::Connect(err_text(e)))?;
    if greeting.code != 220 {
        return Err(Failed::Connect(reply_text(&greeting)));
    }
    Ok(())
}

/// AUTH, then the transaction; a refused AUTH defers every recipient with its reply.
async fn session<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    ehlo: &EhloResponse<String>,
    route: &RelayRoute,
    t: &Transaction<'_>,
    timeouts: Timeouts,
) -> Vec<Outcome> {
    if let Err(reply) = authenticate(client, ehlo, route).await {
        let _ = client.cmd("QUIT\r\n").await;
        return vec![Outcome::Temporary(reply); t.recipients.len()];
    }
    let outcomes = match transact(client, ehlo, t, timeouts, false).await {
        Ok((outcomes, _)) => outcomes,
        Err(_) => vec![Outcome::Temporary("connection lost: the relay closed the session".into()); t.recipients.len()],
    };
    let _ = client.cmd("QUIT\r\n").await;
    outcomes
}

/// AUTH with the relay's mechanism, and only that one (RFC 4954). `Err`: the reply to
/// record, e.g. `535 5.7.8 … (the relay refused AUTH PLAIN for user)`.
async fn authenticate<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    ehlo: &EhloResponse<String>,
    route: &RelayRoute,
) -> Result<(), String> {
    let relay = &route.relay;
    let (mechanism, name) = match relay.auth {
        RelayAuth::None => return Ok(()),
        RelayAuth::Plain => (AUTH_PLAIN, "PLAIN"),
        RelayAuth::Login => (AUTH_LOGIN, "LOGIN"),
        RelayAuth::Xoauth2 => (AUTH_XOAUTH2, "XOAUTH2"),
    };
    let Some(secret) = &route.secret else {
        return Err(format!("454 4.7.0 no secret is stored for AUTH {name} with the relay {}", relay.host));
    };
    if ehlo.auth_mechanisms & mechanism == 0 {
        return Err(format!("454 4.7.0 the relay {} does not offer AUTH {name}", relay.host));
    }
    let (user, secret) = (relay.username.as_str(), secret.expose().as_str());
    let credentials = if relay.auth == RelayAuth::Xoauth2 {
        Credentials::XOauth2 { username: user, secret }
    } else {
        Credentials::Plain { username: user, secret }
    };
    let lost = |e: mail_send::Error| format!("451 4.4.2 connection lost during AUTH: {}", err_text(e));
    let first = if mechanism == AUTH_LOGIN {
        "AUTH LOGIN\r\n".to_string()
    } else {
        // PLAIN and XOAUTH2 send their initial response with the command.
        let response = credentials.encode(mechanism, "").map_err(|e| format!("454 4.7.0 {e}"))?;
        format!("AUTH {name} {response}\r\n")
    };
    let mut reply = client.cmd(first).await.map_err(lost)?;
    for _ in 0..3 {
        match reply.code {
            235 => return Ok(()),
            // XOAUTH2's error challenge (a base64 JSON status): an empty answer ends the
            // exchange and the server sends its final reply.
            334 if mechanism == AUTH_XOAUTH2 => reply = client.cmd("\r\n").await.map_err(lost)?,
            334 => {
                let answer = credentials.encode(mechanism, reply.message()).map_err(|e| format!("454 4.7.0 {e}"))?;
                reply = client.cmd(format!("{answer}\r\n")).await.map_err(lost)?;
            }
            _ => break,
        }
    }
    Err(format!("{} (the relay refused AUTH {name} for {user})", reply_text(&reply)))
}
