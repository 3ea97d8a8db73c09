//! SPF record grammar (RFC 7208 §4.6, §5, §6, §7), parsed term by term so that every bad
//! term gets its own finding instead of one "permerror" for the whole record.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::names::is_valid_name;

/// The prefix of an SPF mechanism (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+` (the default).
    Pass,
    /// `-`.
    Fail,
    /// `~`.
    SoftFail,
    /// `?`.
    Neutral,
}

impl Qualifier {
    /// The character written before the mechanism.
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// A mechanism with its arguments; domain specs are unexpanded macro strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:<domain-spec>`.
    Include(String),
    /// `a[:<domain-spec>][/<v4>][//<v6>]`.
    A {
        /// Target, the current domain when absent.
        domain: Option<String>,
        /// IPv4 prefix length.
        v4: u8,
        /// IPv6 prefix length.
        v6: u8,
    },
    /// `mx[:<domain-spec>][/<v4>][//<v6>]`.
    Mx {
        /// Target, the current domain when absent.
        domain: Option<String>,
        /// IPv4 prefix length.
        v4: u8,
        /// IPv6 prefix length.
        v6: u8,
    },
    /// `ptr[:<domain-spec>]` (deprecated, RFC 7208 §5.5).
    Ptr(Option<String>),
    /// `ip4:<addr>[/<len>]`.
    Ip4(Ipv4Addr, u8),
    /// `ip6:<addr>[/<len>]`.
    Ip6(Ipv6Addr, u8),
    /// `exists:<domain-spec>`.
    Exists(String),
}

impl Mechanism {
    /// True for the terms that cost a DNS lookup (RFC 7208 §4.6.4).
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// One well-formed term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A mechanism with its qualifier; `text` is the term as written.
    Mechanism {
        /// `+ - ~ ?`.
        qualifier: Qualifier,
        /// What it matches.
        mechanism: Mechanism,
        /// The term as written in the record.
        text: String,
    },
    /// `redirect=<domain-spec>`.
    Redirect(String),
    /// `exp=<domain-spec>`.
    Exp(String),
    /// A modifier receivers ignore (name, value).
    Unknown(String, String),
}

/// A term that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermError {
    /// Finding code (`spf_invalid_ip`, `spf_unknown_mechanism`, …).
    pub code: &'static str,
    /// The term as written.
    pub term: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Parsed record: the good terms in order, and the bad ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedSpf {
    /// Terms that parsed.
    pub terms: Vec<Term>,
    /// Terms that did not (any of them makes the record a permerror).
    pub errors: Vec<TermError>,
}

impl ParsedSpf {
    /// The `all` mechanism's qualifier and position, if the record has one.
    pub fn all(&self) -> Option<(usize, Qualifier)> {
        self.terms.iter().enumerate().find_map(|(i, t)| match t {
            Term::Mechanism { qualifier, mechanism: Mechanism::All, .. } => Some((i, *qualifier)),
            _ => None,
        })
    }

    /// The `redirect=` target, if any.
    pub fn redirect(&self) -> Option<&str> {
        self.terms.iter().find_map(|t| match t {
            Term::Redirect(d) => Some(d.as_str()),
            _ => None,
        })
    }
}

/// True if `txt` is an SPF record (`v=spf1` followed by a space or the end, RFC 7208 §4.5).
pub fn is_spf_record(txt: &str) -> bool {
    let t = txt.trim_start();
    t.len() >= 6
        && t.is_char_boundary(6)
        && t[..6].eq_ignore_ascii_case("v=spf1")
        && (t.len() == 6 || t.as_bytes()[6] == b' ')
}

/// Parses a record that [`is_spf_record`] accepted.
pub fn parse_spf(record: &str) -> ParsedSpf {
    let mut out = ParsedSpf::default();
    let body = record.trim_start().get(6..).unwrap_or("");
    let mut seen_redirect = false;
    let mut seen_exp = false;
    for term in body.split_ascii_whitespace() {
        match parse_term(term) {
            Ok(t) => {
                let dup = match &t {
                    Term::Redirect(_) => std::mem::replace(&mut seen_redirect, true),
                    Term::Exp(_) => std::mem::replace(&mut seen_exp, true),
                    _ => false,
                };
                if dup {
                    out.errors.push(err(
                        "spf_duplicate_modifier",
                        term,
                        "appears twice; redirect= and exp= may each appear only once \
                         (RFC 7208 §6)",
                    ));
                } else {
                    out.terms.push(t);
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    out
}

fn err(code: &'static str, term: &str, message: &str) -> TermError {
    TermError { code, term: term.to_owned(), message: format!("\"{term}\" {message}") }
}

fn parse_term(term: &str) -> Result<Term, TermError> {
    // Modifier: name "=" value, where name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    if let Some((name, value)) = term.split_once('=') {
        let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if is_name {
            let lname = name.to_ascii_lowercase();
            return match lname.as_str() {
                "redirect" | "exp" => {
                    check_domain_spec(value, term)?;
                    Ok(if lname == "redirect" { Term::Redirect(value.to_owned()) } else { Term::Exp(value.to_owned()) })
                }
                _ => Ok(Term::Unknown(lname, value.to_owned())),
            };
        }
    }

    let (qualifier, rest) = match term.chars().next() {
        Some('+') => (Qualifier::Pass, &term[1..]),
        Some('-') => (Qualifier::Fail, &term[1..]),
        Some('~') => (Qualifier::SoftFail, &term[1..]),
        Some('?') => (Qualifier::Neutral, &term[1..]),
        Some(c) if c.is_ascii_alphabetic() => (Qualifier::Pass, term),
        _ => {
            return Err(err(
                "spf_invalid_qualifier",
                term,
                "starts with an invalid qualifier; only +, -, ~ and ? may precede a mechanism",
            ));
        }
    };
    let name_end = rest.find([':', '/']).unwrap_or(rest.len());
    let name = rest[..name_end].to_ascii_lowercase();
    let arg = &rest[name_end..];
    let mechanism = match name.as_str() {
        "all" => {
            if !arg.is_empty() {
                return Err(err("spf_invalid_term", term, "takes no argument"));
            }
            Mechanism::All
        }
        "include" | "exists" => {
            let Some(spec) = arg.strip_prefix(':') else {
                return Err(err("spf_invalid_term", term, "needs a domain, written as name:domain"));
            };
            check_domain_spec(spec, term)?;
            if name == "include" { Mechanism::Include(spec.to_owned()) } else { Mechanism::Exists(spec.to_owned()) }
        }
        "a" | "mx" => {
            let (domain, v4, v6) = parse_dual_cidr(arg, term)?;
            if let Some(d) = &domain {
                check_domain_spec(d, term)?;
            }
            if name == "a" { Mechanism::A { domain, v4, v6 } } else { Mechanism::Mx { domain, v4, v6 } }
        }
        "ptr" => {
            if arg.starts_with('/') {
                return Err(err("spf_invalid_cidr", term, "ptr takes no prefix length"));
            }
            let domain = match arg.strip_prefix(':') {
                Some(spec) => {
                    check_domain_spec(spec, term)?;
                    Some(spec.to_owned())
                }
                None => None,
            };
            Mechanism::Ptr(domain)
        }
        "ip4" | "ip6" => {
            let Some(value) = arg.strip_prefix(':') else {
                return Err(err(
                    "spf_invalid_ip",
                    term,
                    "needs an address, written as ip4:192.0.2.1 or ip6:2001:db8::1",
                ));
            };
            let (addr, len) = match value.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (value, None),
            };
            let max = if name == "ip4" { 32 } else { 128 };
            let prefix = match len {
                None => max,
                Some(l) => parse_cidr(l, max).ok_or_else(|| {
                    err("spf_invalid_cidr", term, &format!("has an invalid prefix length; it must be 0 to {max}"))
                })?,
            };
            if name == "ip4" {
                let ip =
                    addr.parse::<Ipv4Addr>().map_err(|_| err("spf_invalid_ip", term, "is not a valid IPv4 address"))?;
                Mechanism::Ip4(ip, prefix)
            } else {
                let ip =
                    addr.parse::<Ipv6Addr>().map_err(|_| err("spf_invalid_ip", term, "is not a valid IPv6 address"))?;
                Mechanism::Ip6(ip, prefix)
            }
        }
        _ => {
            let hint = if name == "ipv4" || name == "ip" {
                " (did you mean ip4?)"
            } else if name == "ipv6" {
                " (did you mean ip6?)"
            } else if name == "includes" {
                " (did you mean include?)"
            } else {
                ""
            };
            return Err(err(
                "spf_unknown_mechanism",
                term,
                &format!(
                    "is not an SPF mechanism{hint}; the mechanisms are all, include, a, mx, \
                     ptr, ip4, ip6 and exists"
                ),
            ));
        }
    };
    Ok(Term::Mechanism { qualifier, mechanism, text: term.to_owned() })
}

/// Decimal prefix length without leading zeros, at most `max`.
fn parse_cidr(s: &str, max: u8) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u8>().ok().filter(|n| *n <= max)
}

/// `[:domain][/v4][//v6]` after `a` or `mx`.
fn parse_dual_cidr(arg: &str, term: &str) -> Result<(Option<String>, u8, u8), TermError> {
    let bad = || {
        err("spf_invalid_cidr", term, "has an invalid prefix length; use /0 to /32 for IPv4 and //0 to //128 for IPv6")
    };
    let (rest, v6) = match arg.rfind("//") {
        Some(i) => (&arg[..i], parse_cidr(&arg[i + 2..], 128).ok_or_else(bad)?),
        None => (arg, 128),
    };
    let (rest, v4) = match rest.rfind('/') {
        Some(i) => (&rest[..i], parse_cidr(&rest[i + 1..], 32).ok_or_else(bad)?),
        None => (rest, 32),
    };
    let domain = if rest.is_empty() {
        None
    } else {
        let Some(spec) = rest.strip_prefix(':') else {
            return Err(err("spf_invalid_term", term, "is malformed"));
        };
        Some(spec.to_owned())
    };
    Ok((domain, v4, v6))
}

/// Checks a domain-spec (RFC 7208 §7.1): valid macros, and a host-name-shaped ending when
/// there are no macros to expand.
fn check_domain_spec(spec: &str, term: &str) -> Result<(), TermError> {
    let bad = |why: &str| err("spf_invalid_domain", term, why);
    if spec.is_empty() {
        return Err(bad("has an empty domain"));
    }
    let mut has_macro = false;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            if !('\x21'..='\x7e').contains(&c) {
                return Err(bad("contains a character not allowed in a domain"));
            }
            continue;
        }
        match chars.next() {
            Some('%' | '_' | '-') => {}
            Some('{') => {
                has_macro = true;
                let mut body = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => body.push(ch),
                        None => return Err(bad("has an unterminated macro (missing })")),
                    }
                }
                if parse_macro(&body).is_none() {
                    return Err(bad("has an invalid macro; see RFC 7208 §7"));
                }
            }
            _ => {
                return Err(bad("has a % that does not start a macro (write %% for a literal %)"));
            }
        }
    }
    if !has_macro {
        let name = spec.strip_suffix('.').unwrap_or(spec).to_ascii_lowercase();
        if !is_valid_name(&name) || !name.contains('.') {
            return Err(bad("is not a valid domain name"));
        }
    }
    Ok(())
}

/// A parsed `%{…}` macro body: letter, keep-rightmost count, reverse flag, delimiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroSpec {
    /// Macro letter, lower-cased (`s l o d i p h c r t v`).
    pub letter: char,
    /// Keep only the rightmost N parts.
    pub keep: Option<usize>,
    /// Reverse the parts first.
    pub reverse: bool,
    /// Delimiters to split on (default ".").
    pub delimiters: String,
}

/// Parses the inside of `%{…}`.
pub fn parse_macro(body: &str) -> Option<MacroSpec> {
    let mut chars = body.chars();
    let letter = chars.next()?.to_ascii_lowercase();
    if !"slodiphcrtv".contains(letter) {
        return None;
    }
    let rest: String = chars.collect();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let mut rest = &rest[digits.len()..];
    let keep = if digits.is_empty() { None } else { Some(digits.parse::<usize>().ok().filter(|n| *n > 0)?) };
    let reverse = if let Some(r) = rest.strip_prefix(['r', 'R']) {
        rest = r;
        true
    } else {
        false
    };
    if !rest.chars().all(|c| ".-+,/_=".contains(c)) {
        return None;
    }
    Some(MacroSpec { letter, keep, reverse, delimiters: if rest.is_empty() { ".".into() } else { rest.to_owned() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(record: &str) -> Result<Term, &'static str> {
        let p = parse_spf(record);
        match (p.terms.first(), p.errors.first()) {
            (_, Some(e)) => Err(e.code),
            (Some(t), None) => Ok(t.clone()),
            (None, None) => Err("empty"),
        }
    }

    #[test]
    fn recognises_records() {
        for (txt, want) in [
            ("v=spf1 -all", true),
            ("V=SPF1 -all", true),
            ("v=spf1", true),
            ("v=spf10 -all", false),
            ("v=spf1-all", false),
            ("spf2.0/pra -all", false),
            ("google-site-verification=x", false),
        ] {
            assert_eq!(is_spf_record(txt), want, "{txt}");
        }
    }

    #[test]
    fn term_errors() {
        let cases = [
            ("v=spf1 ip4:192.0.2.300", "spf_invalid_ip"),
            ("v=spf1 ip4:", "spf_invalid_ip"),
            ("v=spf1 ip4", "spf_invalid_ip"),
            ("v=spf1 ip6:2001:db8::zz", "spf_invalid_ip"),
            ("v=spf1 ip4:192.0.2.0/33", "spf_invalid_cidr"),
            ("v=spf1 ip4:192.0.2.0/024", "spf_invalid_cidr"),
            ("v=spf1 ip6:2001:db8::/129", "spf_invalid_cidr"),
            ("v=spf1 a/abc", "spf_invalid_cidr"),
            ("v=spf1 mx//200", "spf_invalid_cidr"),
            ("v=spf1 ptr/24", "spf_invalid_cidr"),
            ("v=spf1 ipv4:192.0.2.1", "spf_unknown_mechanism"),
            ("v=spf1 foo", "spf_unknown_mechanism"),
            ("v=spf1 !all", "spf_invalid_qualifier"),
            ("v=spf1 *mx", "spf_invalid_qualifier"),
            ("v=spf1 include", "spf_invalid_term"),
            ("v=spf1 all:x", "spf_invalid_term"),
            ("v=spf1 include:", "spf_invalid_domain"),
            ("v=spf1 include:nodot", "spf_invalid_domain"),
            ("v=spf1 exists:%{x}.test", "spf_invalid_domain"),
            ("v=spf1 exists:%{i.test", "spf_invalid_domain"),
            ("v=spf1 include:50%.test", "spf_invalid_domain"),
            ("v=spf1 redirect=a.test redirect=b.test", "spf_duplicate_modifier"),
        ];
        for (record, code) in cases {
            let p = parse_spf(record);
            assert_eq!(p.errors.iter().map(|e| e.code).collect::<Vec<_>>(), vec![code], "{record}");
        }
    }

    #[test]
    fn good_terms() {
        let cases = [
            ("v=spf1 -all", Mechanism::All),
            ("v=spf1 ip4:192.0.2.0/24", Mechanism::Ip4("192.0.2.0".parse().unwrap(), 24)),
            ("v=spf1 ip4:192.0.2.1", Mechanism::Ip4("192.0.2.1".parse().unwrap(), 32)),
            ("v=spf1 ip6:2001:db8::/32", Mechanism::Ip6("2001:db8::".parse().unwrap(), 32)),
            ("v=spf1 a", Mechanism::A { domain: None, v4: 32, v6: 128 }),
            (
                "v=spf1 mx:mail.example.test/24//64",
                Mechanism::Mx { domain: Some("mail.example.test".into()), v4: 24, v6: 64 },
            ),
            ("v=spf1 a//64", Mechanism::A { domain: None, v4: 32, v6: 64 }),
            ("v=spf1 include:_spf.example.test", Mechanism::Include("_spf.example.test".into())),
            ("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", Mechanism::Exists("%{ir}.%{l1r+-}._spf.%{d}".into())),
            ("v=spf1 ptr", Mechanism::Ptr(None)),
        ];
        for (record, want) in cases {
            match first(record) {
                Ok(Term::Mechanism { mechanism, .. }) => assert_eq!(mechanism, want, "{record}"),
                other => panic!("{record}: {other:?}"),
            }
        }
        assert_eq!(first("v=spf1 redirect=_spf.example.test"), Ok(Term::Redirect("_spf.example.test".into())));
        assert_eq!(first("v=spf1 foo=bar"), Ok(Term::Unknown("foo".into(), "bar".into())));
        match first("v=spf1 ~all") {
            Ok(Term::Mechanism { qualifier, .. }) => assert_eq!(qualifier, Qualifier::SoftFail),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn macros() {
        assert_eq!(
            parse_macro("ir"),
            Some(MacroSpec { letter: 'i', keep: None, reverse: true, delimiters: ".".into() })
        );
        assert_eq!(parse_macro("d2").map(|m| m.keep), Some(Some(2)));
        assert_eq!(parse_macro("l-").map(|m| m.delimiters), Some("-".into()));
        assert_eq!(parse_macro("x"), None);
        assert_eq!(parse_macro("d0"), None);
        assert_eq!(parse_macro("dz"), None);
    }
}
