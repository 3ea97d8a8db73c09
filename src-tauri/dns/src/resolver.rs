//! The lookup seam: every check asks a [`DnsLookup`], never a resolver directly.
//!
//! [`HickoryLookup`] does real DNS (system configuration or one `IP:PORT` server);
//! [`MemoryZone`] answers from records seeded in memory, for unit tests that must not touch
//! the network. Both distinguish NXDOMAIN from "no data", which SPF's void-lookup limit
//! (RFC 7208 §4.6.4) needs, and report server failures as errors rather than as "no record".

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType as HickoryType};

use crate::error::DnsError;

/// The record types the checks ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Mail exchanger.
    Mx,
    /// Text (SPF, DKIM, DMARC, MTA-STS, TLS-RPT).
    Txt,
    /// Alias.
    Cname,
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Cname => "CNAME",
        })
    }
}

/// One answer record. Names are lower-case ASCII without the trailing dot; the root name
/// (a null MX's exchange) is the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// Target host; empty for the root (null MX, RFC 7505).
        exchange: String,
    },
    /// The character-strings of one TXT record, as sent (each at most 255 bytes).
    Txt(Vec<Vec<u8>>),
    /// Alias target.
    Cname(String),
}

impl Record {
    fn rtype(&self) -> RecordType {
        match self {
            Record::A(_) => RecordType::A,
            Record::Aaaa(_) => RecordType::Aaaa,
            Record::Mx { .. } => RecordType::Mx,
            Record::Txt(_) => RecordType::Txt,
            Record::Cname(_) => RecordType::Cname,
        }
    }
}

/// The outcome of one query that the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// At least one record of the type asked for.
    Records(Vec<Record>),
    /// The name exists but has no record of that type (NOERROR, empty answer).
    NoData,
    /// The name does not exist (RCODE 3).
    NxDomain,
}

impl Answer {
    /// The records, empty for NoData and NXDOMAIN.
    pub fn records(&self) -> &[Record] {
        match self {
            Answer::Records(r) => r,
            Answer::NoData | Answer::NxDomain => &[],
        }
    }

    /// A "void lookup" in RFC 7208's sense: NXDOMAIN or an empty answer.
    pub fn is_void(&self) -> bool {
        self.records().is_empty()
    }

    /// Each TXT record with its character-strings concatenated (RFC 7208 §3.3: no spaces
    /// inserted), decoded lossily as UTF-8.
    pub fn txt_strings(&self) -> Vec<String> {
        self.records()
            .iter()
            .filter_map(|r| match r {
                Record::Txt(parts) => Some(join_txt(parts)),
                _ => None,
            })
            .collect()
    }

    /// The IPv4 and IPv6 addresses in the answer.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.records()
            .iter()
            .filter_map(|r| match r {
                Record::A(ip) => Some(IpAddr::V4(*ip)),
                Record::Aaaa(ip) => Some(IpAddr::V6(*ip)),
                _ => None,
            })
            .collect()
    }
}

/// Concatenates the character-strings of one TXT record without separators.
pub fn join_txt(parts: &[Vec<u8>]) -> String {
    let bytes: Vec<u8> = parts.iter().flatten().copied().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Answers DNS queries. Implementations must return `Err` only when the server could not
/// give an answer (timeout, SERVFAIL, REFUSED), never for NXDOMAIN or empty answers.
#[async_trait]
pub trait DnsLookup: Send + Sync {
    /// Queries `name` (lower-case, no trailing dot) for records of `rtype`.
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError>;

    /// A and AAAA together: `Records` if either has addresses, `NxDomain` if the name does
    /// not exist, `NoData` otherwise. Errors only when both queries failed.
    async fn query_ips(&self, name: &str) -> Result<Answer, DnsError> {
        let (a, aaaa) = futures::join!(self.query(name, RecordType::A), self.query(name, RecordType::Aaaa));
        match (a, aaaa) {
            (Err(e), Err(_)) => Err(e),
            (a, aaaa) => {
                let mut records = Vec::new();
                let mut nx = false;
                for ans in [a, aaaa].into_iter().flatten() {
                    nx |= ans == Answer::NxDomain;
                    records.extend(ans.records().iter().cloned());
                }
                Ok(if !records.is_empty() {
                    Answer::Records(records)
                } else if nx {
                    Answer::NxDomain
                } else {
                    Answer::NoData
                })
            }
        }
    }
}

/// Real DNS through hickory-resolver.
pub struct HickoryLookup {
    resolver: TokioResolver,
}

impl HickoryLookup {
    /// Uses the operating system's resolver configuration (`/etc/resolv.conf` and the like).
    pub fn system() -> Result<Self, DnsError> {
        let builder = TokioResolver::builder_tokio().map_err(|e| DnsError::Config(e.to_string()))?;
        let resolver = builder.build().map_err(|e| DnsError::Config(e.to_string()))?;
        Ok(HickoryLookup { resolver })
    }

    /// Asks only the server at `addr` (UDP, falling back to TCP for truncated answers).
    /// The hosts file and search domains are ignored, so answers come from that server alone.
    pub fn with_server(addr: SocketAddr) -> Result<Self, DnsError> {
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
        opts.max_active_requests = 256;
        // Bulk checks touch ~30 names per domain; keep a few hundred domains cached.
        opts.cache_size = 32_768;
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| DnsError::Config(e.to_string()))?;
        Ok(HickoryLookup { resolver })
    }
}

fn lower_name(name: &Name) -> String {
    let s = name.to_ascii().to_ascii_lowercase();
    s.strip_suffix('.').unwrap_or(&s).to_owned()
}

#[async_trait]
impl DnsLookup for HickoryLookup {
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError> {
        let unavailable =
            |reason: String| DnsError::Unavailable { name: name.to_owned(), rtype: rtype.to_string(), reason };
        let fqdn = Name::from_str_relaxed(format!("{name}."))
            .map_err(|e| DnsError::Validation(format!("{name:?} is not a valid domain name: {e}")))?;
        let htype = match rtype {
            RecordType::A => HickoryType::A,
            RecordType::Aaaa => HickoryType::AAAA,
            RecordType::Mx => HickoryType::MX,
            RecordType::Txt => HickoryType::TXT,
            RecordType::Cname => HickoryType::CNAME,
        };
        let lookup = match self.resolver.lookup(fqdn, htype).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_nx_domain() => return Ok(Answer::NxDomain),
            Err(e) if e.is_no_records_found() => return Ok(Answer::NoData),
            Err(e) => return Err(unavailable(e.to_string())),
        };
        let records: Vec<Record> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(Record::A(a.0)),
                RData::AAAA(a) => Some(Record::Aaaa(a.0)),
                RData::MX(mx) => Some(Record::Mx { preference: mx.preference, exchange: lower_name(&mx.exchange) }),
                RData::TXT(txt) => Some(Record::Txt(txt.txt_data.iter().map(|part| part.to_vec()).collect())),
                RData::CNAME(c) => Some(Record::Cname(lower_name(&c.0))),
                _ => None,
            })
            .filter(|r| r.rtype() == rtype)
            .collect();
        Ok(if records.is_empty() { Answer::NoData } else { Answer::Records(records) })
    }
}

/// An in-memory zone for unit tests (the seam mail-auth offers with its seedable cache).
///
/// A name with no record and no descendant is NXDOMAIN; a name that exists without the type
/// asked for is NoData; CNAMEs are followed (up to 8 steps) for other types; names marked
/// with [`MemoryZone::fail`] answer with an error, like a SERVFAIL.
#[derive(Debug, Clone, Default)]
pub struct MemoryZone {
    records: HashMap<String, Vec<Record>>,
    failing: HashSet<String>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl MemoryZone {
    /// An empty zone: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one record at `name`.
    pub fn with(mut self, name: &str, record: Record) -> Self {
        self.records.entry(key(name)).or_default().push(record);
        self
    }

    /// Adds a TXT record, split into 255-byte character-strings as a zone file would.
    pub fn txt(self, name: &str, text: &str) -> Self {
        let parts = text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
        self.with(name, Record::Txt(parts))
    }

    /// Adds an MX record (`exchange` "." or "" for a null MX).
    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Self {
        let exchange = key(exchange);
        self.with(name, Record::Mx { preference, exchange })
    }

    /// Adds an A or AAAA record.
    pub fn ip(self, name: &str, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.with(name, Record::A(v4)),
            IpAddr::V6(v6) => self.with(name, Record::Aaaa(v6)),
        }
    }

    /// Adds a CNAME record.
    pub fn cname(self, name: &str, target: &str) -> Self {
        let target = key(target);
        self.with(name, Record::Cname(target))
    }

    /// Makes every query for `name` fail, as a SERVFAIL would.
    pub fn fail(mut self, name: &str) -> Self {
        self.failing.insert(key(name));
        self
    }

    fn exists(&self, name: &str) -> bool {
        let suffix = format!(".{name}");
        self.records.keys().any(|k| k == name || k.ends_with(&suffix))
    }
}

#[async_trait]
impl DnsLookup for MemoryZone {
    async fn query(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError> {
        let mut name = key(name);
        for _ in 0..8 {
            if self.failing.contains(&name) {
                return Err(DnsError::Unavailable {
                    name,
                    rtype: rtype.to_string(),
                    reason: "SERVFAIL (simulated)".into(),
                });
            }
            let at = self.records.get(&name).map(Vec::as_slice).unwrap_or(&[]);
            let found: Vec<Record> = at.iter().filter(|r| r.rtype() == rtype).cloned().collect();
            if !found.is_empty() {
                return Ok(Answer::Records(found));
            }
            match at.iter().find_map(|r| match r {
                Record::Cname(t) => Some(t.clone()),
                _ => None,
            }) {
                Some(target) if rtype != RecordType::Cname => name = target,
                _ => {
                    return Ok(if self.exists(&name) { Answer::NoData } else { Answer::NxDomain });
                }
            }
        }
        Ok(Answer::NoData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_parts_are_joined_without_spaces() {
        let cases: &[(&[&str], &str)] = &[
            (&["v=spf1 ", "-all"], "v=spf1 -all"),
            (&["v=spf1", " -all"], "v=spf1 -all"),
            (&["v=spf1 include:a.test", "include:b.test -all"], "v=spf1 include:a.testinclude:b.test -all"),
            (&[], ""),
        ];
        for (parts, joined) in cases {
            let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.as_bytes().to_vec()).collect();
            assert_eq!(join_txt(&parts), *joined);
        }
    }

    #[tokio::test]
    async fn memory_zone_distinguishes_nxdomain_nodata_and_failure() {
        let zone = MemoryZone::new()
            .txt("a.example.test", "hello")
            .cname("alias.example.test", "a.example.test")
            .fail("broken.example.test");
        assert_eq!(
            zone.query("a.example.test", RecordType::Txt).await.ok().map(|a| a.txt_strings()),
            Some(vec!["hello".to_owned()])
        );
        assert_eq!(zone.query("example.test", RecordType::Txt).await.ok(), Some(Answer::NoData));
        assert_eq!(zone.query("nope.example.test", RecordType::Txt).await.ok(), Some(Answer::NxDomain));
        assert_eq!(
            zone.query("alias.example.test", RecordType::Txt).await.ok().map(|a| a.txt_strings()),
            Some(vec!["hello".to_owned()])
        );
        assert!(zone.query("broken.example.test", RecordType::A).await.is_err());
    }
}
