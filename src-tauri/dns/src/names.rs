//! Domain-name helpers: normalisation, host-name syntax, organisational domain.

use crate::error::DnsError;

/// Lower-cases, strips one trailing dot, converts IDNs to A-labels and checks the syntax
/// (labels of 1–63 letters, digits, hyphens or underscores; at most 253 characters).
pub fn normalize_domain(input: &str) -> Result<String, DnsError> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed)
            .map_err(|_| DnsError::Validation(format!("{input:?} is not a valid domain name")))?
    };
    if !is_valid_name(&ascii) {
        return Err(DnsError::Validation(format!("{input:?} is not a valid domain name")));
    }
    Ok(ascii)
}

/// DNS name syntax as mail records use it (underscores allowed, for `_dmarc` and friends).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// True if `name` is written like an IP address (a host name must not be one).
pub fn looks_like_ip(name: &str) -> bool {
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.parse::<std::net::IpAddr>().is_ok()
}

/// The organisational domain (RFC 7489 §3.2): the registrable domain under the public
/// suffix list compiled into the `psl` crate. Unknown TLDs (like `.test`) count as public
/// suffixes, so `a.b.example.test` → `example.test`.
pub fn organizational_domain(domain: &str) -> String {
    psl::domain_str(domain).unwrap_or(domain).to_owned()
}

/// True if `name` is `domain` or a subdomain of it.
pub fn is_within(name: &str, domain: &str) -> bool {
    name == domain || name.ends_with(&format!(".{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_validates() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Example.TEST.", Some("example.test")),
            ("  mail.example.test ", Some("mail.example.test")),
            ("bücher.test", Some("xn--bcher-kva.test")),
            ("_dmarc.example.test", Some("_dmarc.example.test")),
            ("", None),
            ("a..b", None),
            ("exa mple.test", None),
            (&"a".repeat(64), None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_domain(input).ok().as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn organizational_domains() {
        let cases = [
            ("example.test", "example.test"),
            ("a.b.example.test", "example.test"),
            ("mail.example.co.uk", "example.co.uk"),
            ("example.com", "example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(organizational_domain(input), want, "{input}");
        }
    }

    #[test]
    fn ip_literals() {
        assert!(looks_like_ip("192.0.2.1"));
        assert!(looks_like_ip("[2001:db8::1]"));
        assert!(!looks_like_ip("mail.example.test"));
    }
}
