//! DNS-based checks of inbound mail with mail-auth: SPF (RFC 7208), DKIM (RFC 6376),
//! DMARC (RFC 7489), reverse DNS ("iprev", RFC 8601 §3) and whether a sender domain can
//! receive mail at all (MX or A/AAAA, null MX of RFC 7505).
//!
//! The resolver is the system's, or one `IP:PORT` server (tests point it at a loopback
//! knotd). A lookup failure is never a refusal on its own: it becomes a temporary error.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::Policy as DmarcPolicy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use mail_auth::hickory_resolver::proto::rr::{Name, RData, RecordType};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DmarcResult, IprevResult, MessageAuthenticator, SpfOutput, SpfResult,
};

/// Runs the DNS-based checks. Cheap to clone.
#[derive(Clone)]
pub struct InboundVerifier {
    auth: Arc<MessageAuthenticator>,
}

impl std::fmt::Debug for InboundVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboundVerifier")
    }
}

/// Whether a sender's domain can receive replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SenderDomain {
    /// It has an MX, or an A/AAAA record (the implicit MX of RFC 5321 §5.1).
    Reachable,
    /// The domain does not exist, or has neither MX nor address records.
    Unreachable,
    /// It publishes a null MX (RFC 7505): it never sends or receives mail.
    NullMx,
    /// DNS did not answer.
    TempFail,
}

/// What the DATA-stage checks found.
#[derive(Debug, Clone)]
pub(crate) struct Verification {
    /// The Authentication-Results header, CRLF-terminated.
    pub header: String,
    /// DMARC failed and the author domain's policy is `reject`.
    pub dmarc_reject: bool,
    /// DMARC failed and the author domain's policy is `quarantine`.
    pub dmarc_quarantine: bool,
}

impl InboundVerifier {
    /// Uses the operating system's resolver configuration.
    pub fn system() -> std::io::Result<InboundVerifier> {
        let auth = MessageAuthenticator::new_system_conf().map_err(std::io::Error::other)?;
        Ok(InboundVerifier { auth: Arc::new(auth) })
    }

    /// Asks only the DNS server at `addr` (UDP, TCP for truncated answers); no hosts file.
    pub fn with_server(addr: SocketAddr) -> std::io::Result<InboundVerifier> {
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![server]);
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(3);
        opts.attempts = 2;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        let auth = MessageAuthenticator::new(config, opts).map_err(std::io::Error::other)?;
        Ok(InboundVerifier { auth: Arc::new(auth) })
    }

    /// SPF for the MAIL FROM identity (the HELO identity for the null sender).
    pub(crate) async fn spf(&self, ip: IpAddr, helo: &str, hostname: &str, mail_from: &str) -> SpfOutput {
        if mail_from.is_empty() {
            self.auth.verify_spf(SpfParameters::verify_ehlo(ip, helo, hostname)).await
        } else {
            self.auth.verify_spf(SpfParameters::verify_mail_from(ip, helo, hostname, mail_from)).await
        }
    }

    /// DKIM and DMARC over the received message, plus the SPF result from MAIL FROM, as an
    /// Authentication-Results header (RFC 8601) with `hostname` as authserv-id.
    pub(crate) async fn verify_message(
        &self,
        raw: &[u8],
        spf: &SpfOutput,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
        hostname: &str,
    ) -> Verification {
        let message = AuthenticatedMessage::parse(raw);
        let dkim = match &message {
            Some(m) => self.auth.verify_dkim(m).await,
            None => Vec::new(),
        };
        let mail_from_domain = match mail_from.rsplit_once('@') {
            Some((_, d)) => d,
            None => helo,
        };
        let dmarc = match &message {
            Some(m) => Some(self.auth.verify_dmarc(DmarcParameters::new(m, &dkim, mail_from_domain, spf)).await),
            None => None,
        };
        let header_from = message.as_ref().and_then(|m| m.from.first()).map(String::as_str).unwrap_or("");
        let mut results = AuthenticationResults::new(hostname)
            .with_dkim_results(&dkim, header_from)
            .with_spf_mailfrom_result(spf, ip, mail_from, helo);
        if let Some(dmarc) = &dmarc {
            results = results.with_dmarc_result(dmarc);
        }
        let mut header = results.to_header();
        if dkim.is_empty() {
            // RFC 8601 §2.7.1: say "none" rather than leave the method out.
            let at = "Authentication-Results: ".len() + hostname.len();
            header.insert_str(at, ";\r\n\tdkim=none");
        }
        if dmarc.is_none() {
            header.insert_str(header.len() - 2, ";\r\n\tdmarc=permerror (message not parseable)");
        }
        let failed_with = |policy: DmarcPolicy| {
            dmarc.as_ref().is_some_and(|d| matches!(d.result(), DmarcResult::Fail(_)) && d.policy() == policy)
        };
        Verification {
            header,
            dmarc_reject: failed_with(DmarcPolicy::Reject),
            dmarc_quarantine: failed_with(DmarcPolicy::Quarantine),
        }
    }

    /// Reverse DNS of `ip` confirmed forward: `Ok(Some(name))` on a pass, `Ok(None)` when
    /// there is no (matching) PTR, `Err(())` when DNS failed temporarily.
    pub(crate) async fn reverse_name(&self, ip: IpAddr) -> Result<Option<String>, ()> {
        let out = self.auth.verify_iprev(ip).await;
        match out.result() {
            IprevResult::Pass => {
                Ok(out.ptr.as_ref().and_then(|p| p.first()).map(|n| n.trim_end_matches('.').to_string()))
            }
            IprevResult::TempError(_) => Err(()),
            _ => Ok(None),
        }
    }

    /// Whether `domain` can receive mail (MX, else A/AAAA).
    pub(crate) async fn sender_domain(&self, domain: &str) -> SenderDomain {
        let Ok(name) = Name::from_str_relaxed(format!("{}.", domain.trim_end_matches('.'))) else {
            return SenderDomain::Unreachable;
        };
        let resolver = self.auth.resolver();
        match resolver.lookup(name.clone(), RecordType::MX).await {
            Ok(lookup) => {
                let exchanges: Vec<bool> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some(mx.exchange.is_root()),
                        _ => None,
                    })
                    .collect();
                if exchanges.len() == 1 && exchanges[0] {
                    return SenderDomain::NullMx;
                }
                if !exchanges.is_empty() {
                    return SenderDomain::Reachable;
                }
            }
            Err(e) if e.is_nx_domain() => return SenderDomain::Unreachable,
            Err(e) if e.is_no_records_found() => {}
            Err(_) => return SenderDomain::TempFail,
        }
        let mut temp = false;
        for rtype in [RecordType::A, RecordType::AAAA] {
            match resolver.lookup(name.clone(), rtype).await {
                Ok(lookup) if !lookup.answers().is_empty() => return SenderDomain::Reachable,
                Ok(_) => {}
                Err(e) if e.is_nx_domain() || e.is_no_records_found() => {}
                Err(_) => temp = true,
            }
        }
        if temp { SenderDomain::TempFail } else { SenderDomain::Unreachable }
    }
}

/// Whether SPF said "fail" (the only SPF result RFC 7208 §8.4 lets a receiver refuse on).
pub(crate) fn spf_failed(spf: &SpfOutput) -> bool {
    spf.result() == SpfResult::Fail
}
