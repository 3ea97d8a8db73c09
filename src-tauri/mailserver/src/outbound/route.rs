//! Where mail for a domain goes: the transport table first (a fixed `host:port`, exact
//! domain before `*`), else its MX hosts in preference order (RFC 5321 §5.1), the domain
//! itself when it has no MX (the implicit MX), nowhere when it publishes a null MX
//! (RFC 7505) or does not exist. Each host is then resolved to its addresses (A and AAAA).

use std::net::{IpAddr, SocketAddr};

use postdesk_contract::outbound::OutboundTransport;
use postdesk_dns::{Answer, DnsLookup, Record, RecordType};

/// The hosts to try for a domain, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Try these, in order (host name or IP literal, port).
    Hosts(Vec<(String, u16)>),
    /// The domain accepts no mail (null MX, RFC 7505): bounce, 5.1.10.
    NullMx,
    /// The domain does not exist (NXDOMAIN), or has neither MX nor address: bounce, 5.1.2.
    NoSuchDomain,
    /// DNS did not answer: try again later.
    Unavailable(String),
}

/// The route for `domain` (canonical) with `mx_port` as the port of MX hosts (25 but in
/// tests).
pub async fn route(dns: &dyn DnsLookup, transports: &[OutboundTransport], domain: &str, mx_port: u16) -> Route {
    if let Some(t) = fixed(transports, domain) {
        return Route::Hosts(vec![(t.host.clone(), t.port)]);
    }
    match dns.query(domain, RecordType::Mx).await {
        Err(e) => Route::Unavailable(e.to_string()),
        Ok(Answer::NxDomain) => Route::NoSuchDomain,
        Ok(Answer::NoData) => match dns.query_ips(domain).await {
            // The implicit MX (RFC 5321 §5.1): the domain's own address.
            Ok(Answer::Records(_)) => Route::Hosts(vec![(domain.to_string(), mx_port)]),
            Ok(_) => Route::NoSuchDomain,
            Err(e) => Route::Unavailable(e.to_string()),
        },
        Ok(Answer::Records(records)) => {
            let mut mx: Vec<(u16, String)> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Mx { preference, exchange } => Some((*preference, exchange.clone())),
                    _ => None,
                })
                .collect();
            // A null MX is the only MX record a domain that takes no mail has (RFC 7505 §3).
            if mx.iter().any(|(_, exchange)| exchange.is_empty()) {
                return Route::NullMx;
            }
            mx.sort();
            mx.dedup_by(|a, b| a.1 == b.1);
            Route::Hosts(mx.into_iter().map(|(_, host)| (host, mx_port)).collect())
        }
    }
}

/// The transport table's route for `domain`: its own entry, else `*`'s.
pub fn fixed<'a>(transports: &'a [OutboundTransport], domain: &str) -> Option<&'a OutboundTransport> {
    transports.iter().find(|t| t.domain == domain).or_else(|| transports.iter().find(|t| t.domain == "*"))
}

/// The addresses of a host: itself when it is an IP literal, else its A and AAAA records
/// (IPv4 first). An error when DNS did not answer; empty when the name has no address.
pub async fn addresses(dns: &dyn DnsLookup, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let mut ips = dns.query_ips(host).await.map_err(|e| e.to_string())?.ips();
    ips.sort_by_key(|ip| ip.is_ipv6());
    Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postdesk_dns::MemoryZone;

    fn zone() -> MemoryZone {
        MemoryZone::default()
            .mx("multi.test", 20, "backup.multi.test")
            .mx("multi.test", 10, "primary.multi.test")
            .ip("primary.multi.test", "::1".parse().unwrap())
            .ip("primary.multi.test", "127.0.0.2".parse().unwrap())
            .mx("null.test", 0, ".")
            .ip("implicit.test", "127.0.0.3".parse().unwrap())
            .txt("noaddress.test", "v=spf1 -all")
            .fail("broken.test")
    }

    #[tokio::test]
    async fn mx_hosts_in_preference_order_then_the_implicit_mx() {
        let z = zone();
        let hosts = |h: &[&str]| Route::Hosts(h.iter().map(|h| (h.to_string(), 25)).collect());
        assert_eq!(route(&z, &[], "multi.test", 25).await, hosts(&["primary.multi.test", "backup.multi.test"]));
        assert_eq!(route(&z, &[], "implicit.test", 25).await, hosts(&["implicit.test"]));
        assert_eq!(route(&z, &[], "null.test", 25).await, Route::NullMx);
        assert_eq!(route(&z, &[], "nowhere.test", 25).await, Route::NoSuchDomain);
        assert_eq!(route(&z, &[], "noaddress.test", 25).await, Route::NoSuchDomain);
        assert!(matches!(route(&z, &[], "broken.test", 25).await, Route::Unavailable(_)));
        let addrs = addresses(&z, "primary.multi.test", 25).await.unwrap();
        assert_eq!(addrs, ["127.0.0.2:25".parse().unwrap(), "[::1]:25".parse().unwrap()]);
        assert_eq!(addresses(&z, "[127.0.0.9]", 2525).await.unwrap(), ["127.0.0.9:2525".parse().unwrap()]);
    }

    #[tokio::test]
    async fn the_transport_table_wins_exact_domain_first() {
        let z = zone();
        let t = |domain: &str, port| OutboundTransport { domain: domain.into(), host: "127.0.0.1".into(), port };
        let table = [t("*", 2000), t("multi.test", 3000)];
        assert_eq!(route(&z, &table, "multi.test", 25).await, Route::Hosts(vec![("127.0.0.1".into(), 3000)]));
        assert_eq!(route(&z, &table, "null.test", 25).await, Route::Hosts(vec![("127.0.0.1".into(), 2000)]));
    }
}
