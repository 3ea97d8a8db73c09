//! Input validation: mail domains (IDNA), addresses (RFC 5321 dot-atom local parts),
//! names of departments and admins.
//!
//! Everything stored is in canonical form: domains as lower-case ASCII (A-labels), local
//! parts lower-cased, so duplicate checks are case-insensitive by construction.

use crate::error::{Error, Result};

/// Longest local part RFC 5321 §4.5.3.1.1 allows, in octets.
const MAX_LOCAL_PART: usize = 64;
/// Longest forward-path RFC 5321 §4.5.3.1.3 allows, minus the angle brackets.
const MAX_ADDRESS: usize = 254;
/// Longest domain name (RFC 1035 §2.3.4, without the trailing dot).
const MAX_DOMAIN: usize = 253;

/// Canonicalises a mail domain: trims, lower-cases, converts Unicode labels to A-labels
/// (IDNA/UTS 46) and checks the result is a hostname with at least two labels.
pub fn domain(input: &str) -> Result<String> {
    let field = "domain";
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(Error::validation("domain name is empty").with_field(field));
    }
    let ascii = idna::domain_to_ascii_strict(trimmed)
        .map_err(|_| Error::validation(format!("'{trimmed}' is not a valid domain name")).with_field(field))?;
    if ascii.len() > MAX_DOMAIN {
        return Err(Error::validation(format!(
            "domain name is {} characters long; the limit is {MAX_DOMAIN}",
            ascii.len()
        ))
        .with_field(field));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(
            Error::validation(format!("'{trimmed}' needs at least two labels, like example.com")).with_field(field)
        );
    }
    for label in &labels {
        host_label(trimmed, label, field)?;
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(
            Error::validation(format!("'{trimmed}' looks like an IP address, not a domain name")).with_field(field)
        );
    }
    Ok(ascii)
}

/// Canonicalises a local part: a dot-atom of RFC 5322 atext (RFC 5321 §4.1.2), at most
/// 64 octets, lower-cased. Quoted-string local parts are refused: they are legal but
/// no admin wants to issue one and many clients mangle them.
pub fn local_part(input: &str) -> Result<String> {
    let field = "address";
    let lp = input.trim();
    if lp.is_empty() {
        return Err(Error::validation("the part before @ is empty").with_field(field));
    }
    if lp.starts_with('"') {
        return Err(Error::validation(
            "quoted local parts (\"…\"@domain) are not supported; use letters, digits and . _ - +",
        )
        .with_field(field));
    }
    if lp.len() > MAX_LOCAL_PART {
        return Err(Error::validation(format!(
            "the part before @ is {} characters long; RFC 5321 allows at most {MAX_LOCAL_PART}",
            lp.len()
        ))
        .with_field(field));
    }
    if lp.starts_with('.') || lp.ends_with('.') || lp.contains("..") {
        return Err(Error::validation(format!("'{lp}' may not start or end with a dot or contain two dots in a row"))
            .with_field(field));
    }
    if let Some(bad) = lp.chars().find(|c| !is_atext(*c) && *c != '.') {
        return Err(Error::validation(format!(
            "'{lp}' contains '{bad}', which is not allowed in an address (RFC 5322 atext)"
        ))
        .with_field(field));
    }
    Ok(lp.to_ascii_lowercase())
}

/// RFC 5322 §3.2.3 atext.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// A canonical mail address split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Lower-cased local part.
    pub local: String,
    /// Lower-case ASCII domain.
    pub domain: String,
}

impl Address {
    /// The canonical `local@domain` form.
    pub fn full(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
}

/// Parses and canonicalises `local@domain`.
pub fn address(input: &str) -> Result<Address> {
    let field = "address";
    let s = input.trim();
    let Some((local, dom)) = s.rsplit_once('@') else {
        return Err(Error::validation(format!("'{s}' is not an address: it has no @")).with_field(field));
    };
    let local = local_part(local)?;
    let domain = domain(dom).map_err(|e| e.with_field(field))?;
    let addr = Address { local, domain };
    if addr.full().len() > MAX_ADDRESS {
        return Err(Error::validation(format!("address is longer than {MAX_ADDRESS} characters")).with_field(field));
    }
    Ok(addr)
}

/// A department name: one path segment, trimmed, 1–64 characters, no `/`.
pub fn department_name(input: &str) -> Result<String> {
    let field = "path";
    let name = input.trim();
    if name.is_empty() {
        return Err(Error::validation("department name is empty").with_field(field));
    }
    if name.contains('/') {
        return Err(Error::validation("a department name may not contain '/'").with_field(field));
    }
    if name.chars().count() > 64 {
        return Err(Error::validation("department name is longer than 64 characters").with_field(field));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation("department name contains control characters").with_field(field));
    }
    Ok(name.to_string())
}

/// Most levels a department path may have (`A/B/C` has 3).
pub const MAX_DEPARTMENT_DEPTH: usize = 16;
/// Longest department path, in characters (16 levels of 32 characters).
pub const MAX_DEPARTMENT_PATH: usize = 512;

/// Splits a department path `Sales/East` into validated segments: at most
/// [`MAX_DEPARTMENT_DEPTH`] levels and [`MAX_DEPARTMENT_PATH`] characters, checked before
/// any segment is looked at (a 200 KB path must cost nothing).
pub fn department_path(input: &str) -> Result<Vec<String>> {
    let trimmed = input.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Err(Error::validation("department path is empty").with_field("path"));
    }
    check_department_shape(trimmed.split('/').count(), trimmed.chars().count())?;
    trimmed.split('/').map(department_name).collect()
}

/// Refuses a department path of `depth` levels and `length` characters past the limits.
pub fn check_department_shape(depth: usize, length: usize) -> Result<()> {
    if depth > MAX_DEPARTMENT_DEPTH {
        return Err(Error::limit_exceeded(format!(
            "the department path has {depth} levels; at most {MAX_DEPARTMENT_DEPTH} are allowed"
        ))
        .with_field("path"));
    }
    if length > MAX_DEPARTMENT_PATH {
        return Err(Error::limit_exceeded(format!(
            "the department path is {length} characters long; at most {MAX_DEPARTMENT_PATH} are allowed"
        ))
        .with_field("path"));
    }
    Ok(())
}

/// An admin's login name: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn admin_name(input: &str) -> Result<String> {
    let name = input.trim().to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        return Err(Error::validation(format!(
            "'{}' is not a valid admin name (1–64 of a-z, 0-9, '.', '_', '-')",
            input.trim()
        ))
        .with_field("name"));
    }
    Ok(name)
}

/// Free text such as display names and notes: length-capped, no control characters
/// other than newline and tab.
pub fn text(field: &str, input: &str, max_chars: usize) -> Result<String> {
    let t = input.trim();
    if t.chars().count() > max_chars {
        return Err(Error::validation(format!("{field} is longer than {max_chars} characters")).with_field(field));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::validation(format!("{field} contains control characters")).with_field(field));
    }
    Ok(t.to_string())
}

/// A host name (for an SMTP greeting): one or more labels (`localhost` is fine), IDNA,
/// at most 253 octets; returned lower-case ASCII. Errors name `field`.
pub fn host_name(input: &str, field: &str) -> Result<String> {
    let t = input.trim().trim_end_matches('.');
    if t.is_empty() {
        return Err(Error::validation("the host name is empty").with_field(field));
    }
    let ascii = idna::domain_to_ascii_strict(t)
        .map_err(|_| Error::validation(format!("'{t}' is not a valid host name")).with_field(field))?;
    if ascii.len() > 253 {
        return Err(Error::validation("the host name is longer than 253 characters").with_field(field));
    }
    for label in ascii.split('.') {
        host_label(t, label, field)?;
    }
    Ok(ascii)
}

/// One label of the A-label (ASCII) form of `name`: letters, digits and inner hyphens, at
/// most 63 octets (RFC 1035 §2.3.1, RFC 5890 LDH labels).
pub(crate) fn host_label(name: &str, label: &str, field: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        return Ok(());
    }
    Err(Error::validation(format!(
        "'{name}' has an invalid label '{label}' (letters, digits and inner hyphens, at most 63)"
    ))
    .with_field(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_canonicalised() {
        for (input, want) in [
            ("Example.COM", "example.com"),
            ("  example.com. ", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("mail-1.example.org", "mail-1.example.org"),
        ] {
            assert_eq!(domain(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn bad_domains_are_refused_with_a_reason() {
        for (input, needle) in [
            ("", "empty"),
            ("localhost", "two labels"),
            ("-bad.example", "not a valid domain"),
            ("a..b", "not a valid domain"),
            ("exa mple.com", "not a valid domain"),
            ("under_score.com", "not a valid domain"),
            ("1.2.3.4", "IP address"),
        ] {
            let err = domain(input).unwrap_err();
            assert!(err.message.contains(needle), "{input}: {}", err.message);
            assert_eq!(err.field.as_deref(), Some("domain"));
        }
    }

    #[test]
    fn addresses_follow_dot_atom_rules() {
        assert_eq!(address("John.Doe@Example.com").unwrap().full(), "john.doe@example.com");
        assert_eq!(address("a+tag@bücher.example").unwrap().full(), "a+tag@xn--bcher-kva.example");
        assert_eq!(address("o'brien@example.com").unwrap().local, "o'brien");
        for (input, needle) in [
            ("nobody", "no @"),
            ("@example.com", "empty"),
            (".a@example.com", "dot"),
            ("a.@example.com", "dot"),
            ("a..b@example.com", "dot"),
            ("a b@example.com", "' '"),
            ("a(b)@example.com", "'('"),
            ("\"quoted\"@example.com", "quoted"),
            ("é@example.com", "'é'"),
            ("x@localhost", "two labels"),
        ] {
            let err = address(input).unwrap_err();
            assert!(err.message.contains(needle), "{input}: {}", err.message);
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(address(&long).unwrap_err().message.contains("at most 64"));
    }

    #[test]
    fn department_paths_split_and_validate() {
        assert_eq!(department_path("/Sales/ East /").unwrap(), vec!["Sales", "East"]);
        assert!(department_path("").is_err());
        assert!(department_path("Sales//East").unwrap_err().message.contains("empty"));
        assert!(department_name(&"x".repeat(65)).is_err());
        let deep = vec!["d"; MAX_DEPARTMENT_DEPTH + 1].join("/");
        assert!(department_path(&deep).unwrap_err().message.contains("17 levels"));
        assert_eq!(department_path(&deep[2..]).unwrap().len(), MAX_DEPARTMENT_DEPTH);
        let long = vec!["x".repeat(40); 13].join("/");
        assert!(department_path(&long).unwrap_err().message.contains("532 characters"));
        // A 200 KB request is refused by its shape, before any segment is read.
        assert!(department_path(&"a/".repeat(100_000)).unwrap_err().message.contains("levels"));
    }

    #[test]
    fn admin_names() {
        assert_eq!(admin_name("Help.Desk").unwrap(), "help.desk");
        assert!(admin_name("-x").is_err());
        assert!(admin_name("a b").is_err());
    }
}
