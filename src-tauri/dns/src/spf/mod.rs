//! SPF check (RFC 7208): one record, term syntax, the include/redirect tree with its lookup
//! and void-lookup counts, dangerous `all` qualifiers, and whether our server is authorised.
//!
//! The whole tree is walked (not only up to the first match) so the counts are what a
//! receiver could spend in the worst case; mechanisms after `all` are never evaluated by
//! receivers and are not counted.

pub mod parse;

use std::net::IpAddr;

use futures::future::BoxFuture;

use crate::fix::txt_record;
use crate::mx::dns_error;
use crate::names::normalize_domain;
use crate::report::{Finding, Severity, SpfResult, status_of};
use crate::resolver::{Answer, DnsLookup, Record, RecordType};
use parse::{Mechanism, ParsedSpf, Qualifier, Term, is_spf_record, parse_macro, parse_spf};

/// RFC 7208 §4.6.4: at most 10 DNS-querying terms.
pub const MAX_LOOKUPS: u32 = 10;
/// RFC 7208 §4.6.4: at most 2 void lookups.
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// We stop following includes past this many lookups (a hostile tree cannot make us loop).
const HARD_STOP: u32 = 40;

/// Codes this check can emit.
pub const CODES: &[&str] = &[
    "dns_error",
    "spf_ok",
    "spf_missing",
    "spf_multiple",
    "spf_invalid_qualifier",
    "spf_unknown_mechanism",
    "spf_invalid_ip",
    "spf_invalid_cidr",
    "spf_invalid_domain",
    "spf_invalid_term",
    "spf_duplicate_modifier",
    "spf_unknown_modifier",
    "spf_too_many_lookups",
    "spf_too_many_void_lookups",
    "spf_include_loop",
    "spf_include_missing",
    "spf_redirect_missing",
    "spf_pass_all",
    "spf_neutral_all",
    "spf_softfail_all",
    "spf_no_all",
    "spf_ptr",
    "spf_terms_after_all",
    "spf_redirect_ignored",
    "spf_macro_not_evaluated",
    "spf_server_authorized",
    "spf_server_not_authorized",
];

/// check_host() results (RFC 7208 §2.6) for the optional server address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl From<Qualifier> for Outcome {
    fn from(q: Qualifier) -> Self {
        match q {
            Qualifier::Pass => Outcome::Pass,
            Qualifier::Fail => Outcome::Fail,
            Qualifier::SoftFail => Outcome::SoftFail,
            Qualifier::Neutral => Outcome::Neutral,
        }
    }
}

struct Walk<'a> {
    dns: &'a dyn DnsLookup,
    top: String,
    ip: Option<IpAddr>,
    lookups: u32,
    void_lookups: u32,
    findings: Vec<Finding>,
    stack: Vec<String>,
}

/// What fetching a domain's SPF record gave.
enum Fetched {
    One(String),
    None { void: bool },
    Many(Vec<String>),
    Error(crate::error::DnsError),
}

async fn fetch(dns: &dyn DnsLookup, domain: &str) -> Fetched {
    match dns.query(domain, RecordType::Txt).await {
        Err(e) => Fetched::Error(e),
        Ok(ans) => {
            let mut spf: Vec<String> = ans.txt_strings().into_iter().filter(|t| is_spf_record(t)).collect();
            match spf.len() {
                0 => Fetched::None { void: ans.is_void() },
                1 => Fetched::One(spf.remove(0)),
                _ => Fetched::Many(spf),
            }
        }
    }
}

/// The record we recommend when there is none: the domain's MX hosts, and `server_ip`
/// (the sending server) when given. The DNS wizard's plan publishes exactly this.
pub fn recommended_record(server_ip: Option<IpAddr>) -> String {
    match server_ip {
        Some(IpAddr::V4(ip)) => format!("v=spf1 mx ip4:{ip} -all"),
        Some(IpAddr::V6(ip)) => format!("v=spf1 mx ip6:{ip} -all"),
        None => "v=spf1 mx -all".to_owned(),
    }
}

/// Checks the SPF policy of `domain`; with `server_ip`, also whether that address may send
/// mail for it.
pub async fn check_spf(dns: &dyn DnsLookup, domain: &str, server_ip: Option<IpAddr>) -> SpfResult {
    let suggested = recommended_record(server_ip);
    let mut walk = Walk {
        dns,
        top: domain.to_owned(),
        ip: server_ip,
        lookups: 0,
        void_lookups: 0,
        findings: Vec::new(),
        stack: vec![domain.to_owned()],
    };
    let record = match fetch(dns, domain).await {
        Fetched::Error(e) => {
            walk.findings.push(dns_error(&e));
            return walk.finish();
        }
        Fetched::None { .. } => {
            walk.findings.push(
                Finding::new(
                    "spf_missing",
                    Severity::Fail,
                    format!(
                        "{domain} has no SPF record, so receivers cannot tell which servers may \
                         send its mail. Publish one (this suggestion allows the domain's MX \
                         servers{}).",
                        if server_ip.is_some() { " and your server" } else { "" }
                    ),
                )
                .with_fix(txt_record(domain, &suggested)),
            );
            return walk.finish();
        }
        Fetched::Many(records) => {
            walk.findings.push(Finding::new(
                "spf_multiple",
                Severity::Fail,
                format!(
                    "{domain} has {} SPF records; there must be exactly one, or receivers \
                     treat SPF as broken (permerror). Merge them into one record: {}",
                    records.len(),
                    records.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ")
                ),
            ));
            return walk.finish();
        }
        Fetched::One(r) => r,
    };

    let outcome = walk.evaluate(domain.to_owned(), record.clone(), true).await;

    if walk.lookups > MAX_LOOKUPS {
        walk.findings.push(Finding::new(
            "spf_too_many_lookups",
            Severity::Fail,
            format!(
                "Evaluating the SPF policy of {domain} takes {} DNS lookups (include, a, mx, \
                 ptr, exists, redirect); the limit is {MAX_LOOKUPS} (RFC 7208 §4.6.4), so \
                 receivers give up with a permerror. Replace includes with ip4:/ip6: ranges \
                 or drop unused ones.",
                walk.lookups
            ),
        ));
    }
    if walk.void_lookups > MAX_VOID_LOOKUPS {
        walk.findings.push(Finding::new(
            "spf_too_many_void_lookups",
            Severity::Fail,
            format!(
                "{} lookups of the SPF policy of {domain} return no data or a name that does \
                 not exist; the limit is {MAX_VOID_LOOKUPS} (RFC 7208 §4.6.4). Remove the \
                 terms that point at names without records.",
                walk.void_lookups
            ),
        ));
    }

    if let Some(ip) = server_ip {
        let authorised =
            outcome == Outcome::Pass && walk.lookups <= MAX_LOOKUPS && walk.void_lookups <= MAX_VOID_LOOKUPS;
        if authorised {
            walk.findings.push(Finding::new(
                "spf_server_authorized",
                Severity::Info,
                format!("The SPF policy of {domain} allows {ip} to send its mail."),
            ));
        } else {
            let term = match ip {
                IpAddr::V4(v4) => format!("ip4:{v4}"),
                IpAddr::V6(v6) => format!("ip6:{v6}"),
            };
            let fixed = insert_term(&record, &term);
            walk.findings.push(
                Finding::new(
                    "spf_server_not_authorized",
                    Severity::Fail,
                    format!(
                        "The SPF policy of {domain} does not allow {ip} to send its mail (result: \
                         {}); mail from that server will fail SPF. Add {term} to the record.",
                        outcome_name(outcome)
                    ),
                )
                .with_fix(txt_record(domain, &fixed)),
            );
        }
    }

    if status_of(&walk.findings) == crate::report::Status::Pass {
        walk.findings.insert(
            0,
            Finding::new(
                "spf_ok",
                Severity::Info,
                format!(
                    "{domain} publishes the SPF record \"{record}\" ({} of {MAX_LOOKUPS} DNS \
                     lookups used).",
                    walk.lookups
                ),
            ),
        );
    }
    walk.finish()
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::None => "none",
        Outcome::Neutral => "neutral",
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::SoftFail => "softfail",
        Outcome::TempError => "temperror",
        Outcome::PermError => "permerror",
    }
}

/// The record with `term` added before `all`/`redirect=` (or at the end).
fn insert_term(record: &str, term: &str) -> String {
    let mut parts: Vec<&str> = record.split_ascii_whitespace().collect();
    let at = parts
        .iter()
        .position(|p| {
            let l = p.to_ascii_lowercase();
            l.trim_start_matches(['+', '-', '~', '?']) == "all" || l.starts_with("redirect=")
        })
        .unwrap_or(parts.len());
    parts.insert(at, term);
    parts.join(" ")
}

impl Walk<'_> {
    fn finish(self) -> SpfResult {
        SpfResult {
            status: status_of(&self.findings),
            lookups: self.lookups,
            void_lookups: self.void_lookups,
            findings: self.findings,
        }
    }

    fn push(&mut self, code: &str, severity: Severity, message: String) {
        self.findings.push(Finding::new(code, severity, message));
    }

    /// Where a nested finding comes from, for messages.
    fn origin(&self, domain: &str) -> String {
        if domain == self.top {
            format!("The SPF record of {domain}")
        } else {
            format!("The SPF record of {domain} (reached from {})", self.top)
        }
    }

    /// Counts one DNS-querying term; false once the hard stop is reached.
    fn count(&mut self) -> bool {
        self.lookups += 1;
        self.lookups <= HARD_STOP
    }

    fn void(&mut self, answer: &Answer) {
        if answer.is_void() {
            self.void_lookups += 1;
        }
    }

    /// Evaluates one record (`policy`: the top record or a redirect from it, whose `all`
    /// decides what unlisted senders get).
    fn evaluate(&mut self, domain: String, record: String, policy: bool) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let parsed: ParsedSpf = parse_spf(&record);
            let origin = self.origin(&domain);
            let mut broken = false;
            for e in &parsed.errors {
                broken = true;
                self.push(
                    e.code,
                    Severity::Fail,
                    format!("{origin}: {} — receivers treat the whole record as broken (permerror).", e.message),
                );
            }
            let all = parsed.all();
            self.policy_findings(&domain, &origin, &parsed, all, policy);

            let mut decided: Option<Outcome> = None;
            for (i, term) in parsed.terms.iter().enumerate() {
                let Term::Mechanism { qualifier, mechanism, text } = term else {
                    if let Term::Unknown(name, value) = term {
                        self.push(
                            "spf_unknown_modifier",
                            Severity::Warn,
                            format!(
                                "{origin}: the modifier \"{name}={value}\" is unknown and ignored \
                                 by receivers; remove it or fix its spelling."
                            ),
                        );
                    }
                    continue;
                };
                if let Some((all_at, _)) = all
                    && i > all_at
                {
                    // Never evaluated by receivers; reported in policy_findings.
                    continue;
                }
                if matches!(mechanism, Mechanism::Ptr(_)) {
                    self.push(
                        "spf_ptr",
                        Severity::Warn,
                        format!(
                            "{origin}: \"{text}\" uses the ptr mechanism, which is slow, \
                             unreliable and deprecated (RFC 7208 §5.5); many receivers ignore \
                             it. Use ip4:/ip6: or a instead."
                        ),
                    );
                }
                let matched = self.mechanism(&domain, &origin, mechanism, text).await;
                match matched {
                    Ok(true) if decided.is_none() => decided = Some((*qualifier).into()),
                    Ok(_) => {}
                    Err(o) => {
                        if decided.is_none() {
                            decided = Some(o);
                        }
                    }
                }
            }

            if let Some(target) = parsed.redirect()
                && all.is_none()
            {
                let out = self.redirect(&domain, &origin, target, policy).await;
                if decided.is_none() {
                    decided = Some(out);
                }
            }
            if broken {
                return Outcome::PermError;
            }
            decided.unwrap_or(Outcome::Neutral)
        })
    }

    fn policy_findings(
        &mut self,
        domain: &str,
        origin: &str,
        parsed: &ParsedSpf,
        all: Option<(usize, Qualifier)>,
        policy: bool,
    ) {
        match all {
            Some((_, Qualifier::Pass)) => self.push(
                "spf_pass_all",
                Severity::Fail,
                format!(
                    "{origin} ends with +all, which allows every server on the internet to \
                     send mail as {}. Use -all (or ~all while testing).",
                    self.top
                ),
            ),
            Some((_, Qualifier::Neutral)) if policy => self.push(
                "spf_neutral_all",
                Severity::Fail,
                format!(
                    "{origin} ends with ?all (neutral): mail from any server is neither \
                     accepted nor rejected by SPF, so it gives no protection. Use -all."
                ),
            ),
            Some((_, Qualifier::SoftFail)) if policy => self.push(
                "spf_softfail_all",
                Severity::Warn,
                format!(
                    "{origin} ends with ~all (soft fail): mail from other servers is only \
                     marked as suspicious. Once every sending server is listed, use -all."
                ),
            ),
            None if policy && parsed.redirect().is_none() => self.push(
                "spf_no_all",
                Severity::Warn,
                format!(
                    "{origin} has no all mechanism and no redirect, so mail from unlisted \
                     servers gets a neutral result. End the record with -all."
                ),
            ),
            _ => {}
        }
        if let Some((at, _)) = all {
            let after: Vec<String> = parsed.terms[at + 1..]
                .iter()
                .filter_map(|t| match t {
                    Term::Mechanism { text, .. } => Some(text.clone()),
                    Term::Redirect(d) => Some(format!("redirect={d}")),
                    _ => None,
                })
                .collect();
            let has_redirect = parsed.redirect().is_some();
            let mechanisms_after: Vec<&String> = after.iter().filter(|t| !t.starts_with("redirect=")).collect();
            if !mechanisms_after.is_empty() {
                self.push(
                    "spf_terms_after_all",
                    Severity::Warn,
                    format!(
                        "{origin} has terms after \"all\" ({}); receivers never evaluate them. \
                         Move them before all.",
                        mechanisms_after.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
                    ),
                );
            }
            if has_redirect {
                self.push(
                    "spf_redirect_ignored",
                    Severity::Warn,
                    format!(
                        "{origin} has both all and redirect=; receivers ignore the redirect \
                         when all is present (RFC 7208 §6.1). Remove one of them."
                    ),
                );
            }
        }
        let _ = domain;
    }

    /// Expands a domain-spec for a query; None when it needs data we do not have.
    fn target(&mut self, domain: &str, origin: &str, spec: Option<&str>, text: &str) -> Option<String> {
        let Some(spec) = spec else {
            return Some(domain.to_owned());
        };
        match expand(spec, domain, &self.top, self.ip) {
            Some(t) => normalize_domain(&t).ok(),
            None => {
                self.push(
                    "spf_macro_not_evaluated",
                    Severity::Info,
                    format!(
                        "{origin}: \"{text}\" uses macros that depend on the sender or its \
                         address, so it was counted but not looked up."
                    ),
                );
                None
            }
        }
    }

    /// Evaluates one mechanism: Ok(matched) or Err(outcome that ends evaluation).
    async fn mechanism(
        &mut self,
        domain: &str,
        origin: &str,
        mechanism: &Mechanism,
        text: &str,
    ) -> Result<bool, Outcome> {
        let ip = self.ip;
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4(net, len) => Ok(match ip {
                Some(IpAddr::V4(a)) => prefix_match(&a.octets(), &net.octets(), *len),
                _ => false,
            }),
            Mechanism::Ip6(net, len) => Ok(match ip {
                Some(IpAddr::V6(a)) => prefix_match(&a.octets(), &net.octets(), *len),
                _ => false,
            }),
            Mechanism::Ptr(_) => {
                // Counted; needs reverse DNS of the connecting client, never matches here.
                self.count();
                Ok(false)
            }
            Mechanism::A { domain: spec, v4, v6 } => {
                if !self.count() {
                    return Ok(false);
                }
                let Some(name) = self.target(domain, origin, spec.as_deref(), text) else {
                    return Ok(false);
                };
                match self.dns.query_ips(&name).await {
                    Ok(ans) => {
                        self.void(&ans);
                        Ok(ip.is_some_and(|ip| ans.ips().iter().any(|a| cidr(ip, *a, *v4, *v6))))
                    }
                    Err(e) => {
                        self.findings.push(dns_error(&e));
                        Err(Outcome::TempError)
                    }
                }
            }
            Mechanism::Mx { domain: spec, v4, v6 } => {
                if !self.count() {
                    return Ok(false);
                }
                let Some(name) = self.target(domain, origin, spec.as_deref(), text) else {
                    return Ok(false);
                };
                let ans = match self.dns.query(&name, RecordType::Mx).await {
                    Ok(a) => a,
                    Err(e) => {
                        self.findings.push(dns_error(&e));
                        return Err(Outcome::TempError);
                    }
                };
                self.void(&ans);
                let Some(ip) = ip else { return Ok(false) };
                // RFC 7208 §4.6.4: at most 10 MX names are looked up.
                for rec in ans.records().iter().take(10) {
                    if let Record::Mx { exchange, .. } = rec {
                        if exchange.is_empty() {
                            continue;
                        }
                        if let Ok(addrs) = self.dns.query_ips(exchange).await
                            && addrs.ips().iter().any(|a| cidr(ip, *a, *v4, *v6))
                        {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Mechanism::Exists(spec) => {
                if !self.count() {
                    return Ok(false);
                }
                let Some(name) = self.target(domain, origin, Some(spec), text) else {
                    return Ok(false);
                };
                match self.dns.query(&name, RecordType::A).await {
                    Ok(ans) => {
                        self.void(&ans);
                        Ok(!ans.is_void())
                    }
                    Err(e) => {
                        self.findings.push(dns_error(&e));
                        Err(Outcome::TempError)
                    }
                }
            }
            Mechanism::Include(spec) => {
                if !self.count() {
                    return Ok(false);
                }
                let Some(name) = self.target(domain, origin, Some(spec), text) else {
                    return Ok(false);
                };
                match self.follow(&name, origin, text, false).await {
                    Outcome::Pass => Ok(true),
                    Outcome::Fail | Outcome::SoftFail | Outcome::Neutral => Ok(false),
                    Outcome::TempError => Err(Outcome::TempError),
                    Outcome::None | Outcome::PermError => Err(Outcome::PermError),
                }
            }
        }
    }

    async fn redirect(&mut self, domain: &str, origin: &str, spec: &str, policy: bool) -> Outcome {
        if !self.count() {
            return Outcome::PermError;
        }
        let text = format!("redirect={spec}");
        let Some(name) = self.target(domain, origin, Some(spec), &text) else {
            return Outcome::Neutral;
        };
        match self.follow(&name, origin, &text, policy).await {
            Outcome::None => Outcome::PermError,
            o => o,
        }
    }

    /// Fetches and evaluates the record an include or redirect points at.
    async fn follow(&mut self, name: &str, origin: &str, text: &str, policy: bool) -> Outcome {
        let is_redirect = text.starts_with("redirect=");
        if self.stack.iter().any(|d| d == name) {
            self.push(
                "spf_include_loop",
                Severity::Fail,
                format!(
                    "{origin}: \"{text}\" leads back to {name}, which is already being evaluated \
                     (a loop); receivers give up with a permerror. Remove the circular reference."
                ),
            );
            return Outcome::PermError;
        }
        match fetch(self.dns, name).await {
            Fetched::Error(e) => {
                self.findings.push(dns_error(&e));
                Outcome::TempError
            }
            Fetched::None { void } => {
                if void {
                    self.void_lookups += 1;
                }
                let (code, what) =
                    if is_redirect { ("spf_redirect_missing", "redirect") } else { ("spf_include_missing", "include") };
                self.push(
                    code,
                    Severity::Fail,
                    format!(
                        "{origin}: \"{text}\" points at {name}, which has no SPF record; an \
                         {what} of a domain without SPF is a permerror (RFC 7208 §5.2, §6.1). \
                         Fix the name or remove the term."
                    ),
                );
                Outcome::None
            }
            Fetched::Many(records) => {
                self.push(
                    "spf_multiple",
                    Severity::Fail,
                    format!(
                        "{origin}: \"{text}\" points at {name}, which has {} SPF records; \
                         receivers treat that as a permerror.",
                        records.len()
                    ),
                );
                Outcome::PermError
            }
            Fetched::One(record) => {
                self.stack.push(name.to_owned());
                let out = self.evaluate(name.to_owned(), record, policy).await;
                self.stack.pop();
                out
            }
        }
    }
}

/// True if the first `len` bits of `a` and `b` agree.
fn prefix_match(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    let full = len / 8;
    if a.len() != b.len() || full > a.len() {
        return false;
    }
    if a[..full] != b[..full] {
        return false;
    }
    let rest = len % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

fn cidr(ip: IpAddr, candidate: IpAddr, v4: u8, v6: u8) -> bool {
    match (ip, candidate) {
        (IpAddr::V4(a), IpAddr::V4(b)) => prefix_match(&a.octets(), &b.octets(), v4),
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix_match(&a.octets(), &b.octets(), v6),
        _ => false,
    }
}

/// Expands SPF macros (RFC 7208 §7) as for a bounce from our own server: the sender is
/// `postmaster@<top domain>`, HELO is the top domain. Returns None when a macro needs the
/// client address and none was given, or uses a letter valid only in `exp=`.
fn expand(spec: &str, domain: &str, top: &str, ip: Option<IpAddr>) -> Option<String> {
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            '_' => out.push(' '),
            '-' => out.push_str("%20"),
            '{' => {
                let body: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let m = parse_macro(&body)?;
                let value = match m.letter {
                    's' => format!("postmaster@{top}"),
                    'l' => "postmaster".to_owned(),
                    'o' | 'h' => top.to_owned(),
                    'd' => domain.to_owned(),
                    'i' => match ip? {
                        IpAddr::V4(v4) => v4.to_string(),
                        IpAddr::V6(v6) => v6
                            .octets()
                            .iter()
                            .flat_map(|b| [b >> 4, b & 0xf])
                            .map(|n| format!("{n:x}"))
                            .collect::<Vec<_>>()
                            .join("."),
                    },
                    'v' => match ip? {
                        IpAddr::V4(_) => "in-addr".to_owned(),
                        IpAddr::V6(_) => "ip6".to_owned(),
                    },
                    'p' => "unknown".to_owned(),
                    _ => return None,
                };
                let mut parts: Vec<&str> = value.split(|c| m.delimiters.contains(c)).collect();
                if m.reverse {
                    parts.reverse();
                }
                if let Some(keep) = m.keep {
                    let skip = parts.len().saturating_sub(keep);
                    parts.drain(..skip);
                }
                out.push_str(&parts.join("."));
            }
            _ => return None,
        }
    }
    // RFC 7208 §7.3: drop labels from the left until the name fits.
    while out.len() > 253 {
        match out.split_once('.') {
            Some((_, rest)) => out = rest.to_owned(),
            None => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemoryZone;

    fn codes(r: &SpfResult) -> Vec<&str> {
        r.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn prefixes() {
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(cidr(v4("192.0.2.77"), v4("192.0.2.0"), 24, 128));
        assert!(!cidr(v4("192.0.3.1"), v4("192.0.2.0"), 24, 128));
        assert!(cidr(v4("192.0.2.77"), v4("10.0.0.0"), 0, 128));
        assert!(cidr(v4("2001:db8::1"), v4("2001:db8::"), 32, 32));
        assert!(!cidr(v4("2001:db9::1"), v4("2001:db8::"), 32, 32));
        assert!(cidr(v4("192.0.2.129"), v4("192.0.2.128"), 25, 128));
        assert!(!cidr(v4("192.0.2.127"), v4("192.0.2.128"), 25, 128));
    }

    #[test]
    fn macro_expansion() {
        let ip = Some("192.0.2.3".parse().unwrap());
        let cases = [
            ("%{ir}.%{v}._spf.%{d}", Some("3.2.0.192.in-addr._spf.example.test")),
            ("%{d2}", Some("example.test")),
            ("%{l}.x.test", Some("postmaster.x.test")),
            ("%{o}", Some("example.test")),
            ("%{c}", None),
        ];
        for (spec, want) in cases {
            assert_eq!(expand(spec, "example.test", "example.test", ip).as_deref(), want, "{spec}");
        }
        assert_eq!(expand("%{i}.test", "example.test", "example.test", None), None);
        let v6 = Some("2001:db8::1".parse().unwrap());
        assert_eq!(expand("%{ir}", "e.test", "e.test", v6).map(|s| s.len()), Some(63));
    }

    #[test]
    fn insert_before_all() {
        assert_eq!(insert_term("v=spf1 mx -all", "ip4:192.0.2.1"), "v=spf1 mx ip4:192.0.2.1 -all");
        assert_eq!(insert_term("v=spf1 mx", "ip4:192.0.2.1"), "v=spf1 mx ip4:192.0.2.1");
        assert_eq!(
            insert_term("v=spf1 redirect=_spf.x.test", "ip4:192.0.2.1"),
            "v=spf1 ip4:192.0.2.1 redirect=_spf.x.test"
        );
    }

    #[tokio::test]
    async fn evaluation_table() {
        let zone = MemoryZone::new()
            .txt("ok.test", "v=spf1 ip4:192.0.2.0/24 include:_spf.ok.test -all")
            .txt("_spf.ok.test", "v=spf1 a:mail.ok.test ~all")
            .ip("mail.ok.test", "198.51.100.1".parse().unwrap())
            .txt("loop.test", "v=spf1 include:loop2.test -all")
            .txt("loop2.test", "v=spf1 include:loop.test -all")
            .txt("two.test", "v=spf1 -all")
            .txt("two.test", "v=spf1 mx -all")
            .txt("plus.test", "v=spf1 +all")
            .txt("redir.test", "v=spf1 redirect=ok.test")
            .txt("void.test", "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test -all")
            .txt("void.test", "unrelated");
        type Case<'a> = (&'a str, Option<&'a str>, &'a [&'a str], u32, u32);
        let cases: &[Case] = &[
            ("ok.test", None, &["spf_ok"], 2, 0),
            ("ok.test", Some("192.0.2.9"), &["spf_ok", "spf_server_authorized"], 2, 0),
            ("ok.test", Some("198.51.100.1"), &["spf_ok", "spf_server_authorized"], 2, 0),
            ("ok.test", Some("203.0.113.1"), &["spf_server_not_authorized"], 2, 0),
            ("redir.test", Some("198.51.100.1"), &["spf_ok", "spf_server_authorized"], 3, 0),
            ("loop.test", None, &["spf_include_loop"], 2, 0),
            ("two.test", None, &["spf_multiple"], 0, 0),
            ("plus.test", None, &["spf_pass_all"], 0, 0),
            ("none.test", None, &["spf_missing"], 0, 0),
            ("void.test", None, &["spf_too_many_void_lookups"], 3, 3),
        ];
        for (domain, ip, want, lookups, voids) in cases {
            let r = check_spf(&zone, domain, ip.map(|s| s.parse().unwrap())).await;
            assert_eq!(codes(&r), *want, "{domain} {ip:?}");
            assert_eq!((r.lookups, r.void_lookups), (*lookups, *voids), "{domain}");
        }
    }
}
