//! The crate's error type.

/// What can go wrong outside the checks themselves (a failed lookup inside a check is a
/// `dns_error` finding, not an error).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The input (domain name, resolver address, option) is not acceptable.
    #[error("invalid input: {0}")]
    Validation(String),
    /// The DNS server could not be reached or answered with an error (SERVFAIL, REFUSED,
    /// timeout).
    #[error("DNS lookup of {name} {rtype} failed: {reason}")]
    Unavailable {
        /// The name queried.
        name: String,
        /// The record type queried.
        rtype: String,
        /// What the resolver said.
        reason: String,
    },
    /// The system resolver configuration could not be read.
    #[error("cannot configure the resolver: {0}")]
    Config(String),
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    Crypto(String),
}
