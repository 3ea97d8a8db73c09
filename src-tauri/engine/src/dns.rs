//! The DNS wizard: live checks of a domain's mail DNS (through `postdesk-dns`), the
//! records to publish, and the local server's DKIM keys.
//!
//! Private keys are written here and read only by the signer (not yet built); no query
//! that feeds an API type selects `private_key_pem`.

use std::net::IpAddr;

use postdesk_dns::{CheckOptions, CnameExpectation, DkimAlgorithm, DomainReport, ResolverChoice};

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{EngineBackend, domain_id, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

fn dns_error(e: postdesk_dns::DnsError) -> Error {
    match e {
        postdesk_dns::DnsError::Validation(m) => Error::validation(m),
        other => Error::unavailable(format!("DNS: {other}")),
    }
}

fn algorithm_name(a: DkimAlgorithm) -> &'static str {
    match a {
        DkimAlgorithm::Rsa2048 => "rsa2048",
        DkimAlgorithm::Ed25519 => "ed25519",
    }
}

/// A domain of this backend the caller may use on the DNS page: canonical name and id.
async fn scoped(b: &EngineBackend, conn: &mut Conn, domain: &str) -> Result<(String, i64)> {
    let name = validate::domain(domain)?;
    b.caller.require(Page::Dns, Some(&name))?;
    let id = domain_id(conn, &name).await?;
    Ok((name, id))
}

fn parse_ip(ip: Option<&str>) -> Result<Option<IpAddr>> {
    ip.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| Error::validation(format!("'{s}' is not an IP address")).with_field("server_ip"))
        })
        .transpose()
}

fn host(h: &str, field: &str) -> Result<String> {
    validate::domain(h).map_err(|e| Error { field: Some(field.into()), ..e })
}

async fn run_check(b: &EngineBackend, domain: &str, options: CheckOptions) -> Result<DomainReport> {
    let choice = b.engine.dns_server.map_or(ResolverChoice::System, ResolverChoice::Server);
    let lookup = postdesk_dns::resolver(choice).map_err(dns_error)?;
    postdesk_dns::check_domain(lookup.as_ref(), domain, &options).await.map_err(dns_error)
}

pub(crate) async fn check(b: &EngineBackend, p: CheckDns) -> Result<DomainReport> {
    let mut conn = b.engine.read().await?;
    let (domain, did) = scoped(b, &mut conn, &p.domain).await?;
    let mut dkim_selectors = p.dkim_selectors.unwrap_or_default();
    if dkim_selectors.is_empty() {
        dkim_selectors = sql::dkim::keys(&mut conn, &domain, did).await?.into_iter().map(|k| k.selector).collect();
    }
    drop(conn);
    let expect_cnames = p
        .expect_cnames
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse::<CnameExpectation>().map_err(|e| dns_error(e).with_field("expect_cnames")))
        .collect::<Result<Vec<_>>>()?;
    let expected_mx = p.expected_mx.as_deref().map(|h| host(h, "expected_mx")).transpose()?;
    let options =
        CheckOptions { dkim_selectors, expect_cnames, expected_mx, server_ip: parse_ip(p.server_ip.as_deref())? };
    run_check(b, &domain, options).await
}

pub(crate) async fn setup(b: &EngineBackend, p: DnsSetup) -> Result<DnsPlan> {
    let mut conn = b.engine.read().await?;
    let (domain, did) = scoped(b, &mut conn, &p.domain).await?;
    let mail_host = host(&p.mail_host, "mail_host")?;
    let server_ip = parse_ip(p.server_ip.as_deref())?;
    let active = sql::dkim::keys(&mut conn, &domain, did).await?.into_iter().find(|k| k.active);
    drop(conn);
    let record = |check: &str, name: String, record_type: &str, value: String| DnsRecord {
        check: check.into(),
        name,
        record_type: record_type.into(),
        value,
    };
    // The same values the checks offer as their fix, so the plan and the fix lines agree.
    let spf = postdesk_dns::spf::recommended_record(server_ip);
    let mut records =
        vec![record("mx", domain.clone(), "MX", format!("10 {mail_host}.")), record("spf", domain.clone(), "TXT", spf)];
    if let Some(key) = &active {
        records.push(record("dkim", key.record_name.clone(), "TXT", key.record_value.clone()));
    }
    records.push(record("dmarc", format!("_dmarc.{domain}"), "TXT", postdesk_dns::dmarc::recommended_record(&domain)));
    records.push(record("cname", format!("mail.{domain}"), "CNAME", format!("{mail_host}.")));
    let options = CheckOptions {
        dkim_selectors: active.iter().map(|k| k.selector.clone()).collect(),
        expect_cnames: vec![CnameExpectation { host: "mail".into(), target: mail_host.clone() }],
        expected_mx: Some(mail_host),
        server_ip,
    };
    let report = run_check(b, &domain, options).await?;
    Ok(DnsPlan { records, report })
}

fn check_selector(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.split('.').all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    if !ok {
        return Err(Error::validation(format!(
            "'{s}' is not a valid selector (letters, digits, '-', dots between labels)"
        ))
        .with_field("selector"));
    }
    Ok(s)
}

pub(crate) async fn create_key(b: &EngineBackend, p: CreateDkimKey) -> Result<DkimKey> {
    let requested = p.selector.as_deref().map(check_selector).transpose()?;
    let algorithm = p.algorithm.unwrap_or(DkimAlgorithm::Rsa2048);
    let (domain, did) = scoped(b, &mut *b.engine.read().await?, &p.domain).await?;
    let existing: Vec<String> =
        sql::dkim::keys(&mut *b.engine.read().await?, &domain, did).await?.into_iter().map(|k| k.selector).collect();
    let selector = match requested {
        Some(s) if existing.contains(&s) => {
            return Err(Error::conflict(format!("{domain} already has a key with selector {s}")).with_field("selector"));
        }
        Some(s) => s,
        None => {
            let base = format!("pd{}", now().get(..10).unwrap_or_default().replace('-', ""));
            (1..)
                .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
                .find(|s| !existing.contains(s))
                .unwrap_or(base)
        }
    };
    // RSA generation is CPU-heavy: off the async workers, before the write lock.
    let (sel, dom) = (selector.clone(), domain.clone());
    let key = tokio::task::spawn_blocking(move || postdesk_dns::generate_dkim_key(algorithm, &sel, &dom))
        .await
        .map_err(|e| Error::internal(format!("key generation failed: {e}")))?
        .map_err(dns_error)?;
    let mut tx = b.engine.write().await?;
    let before = sql::dkim::keys(&mut tx, &domain, did).await?.into_iter().find(|k| k.active);
    sql::dkim::deactivate_all(&mut tx, did).await?;
    let new = sql::dkim::NewKey {
        domain_id: did,
        selector: &selector,
        algorithm: algorithm_name(algorithm),
        private_key_pem: &key.private_key_pem,
        record_value: &key.record_value,
        created_at: &now(),
    };
    sql::dkim::insert(&mut tx, new).await.map_err(|e| match e {
        err if err.code == crate::ErrorCode::Conflict => {
            Error::conflict(format!("{domain} already has a key with selector {selector}")).with_field("selector")
        }
        err => err,
    })?;
    let created = sql::dkim::keys(&mut tx, &domain, did)
        .await?
        .into_iter()
        .find(|k| k.active)
        .ok_or_else(|| Error::internal("key vanished"))?;
    let change = Change { action: CreateDkimKey::NAME, domain: Some(&domain), target: &selector };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&created)).await?;
    tx.commit().await?;
    Ok(created)
}

pub(crate) async fn list_keys(b: &EngineBackend, p: ListDkimKeys) -> Result<CursorPage<DkimKey>> {
    let limit = page_limit(p.limit)?;
    // The cursor is `<1|0> <created_at> <selector>`: the order's key of the page's last key.
    let bad = || {
        Error::validation(format!(
            "'{}' is not a cursor of this list: pass a page's `next`",
            p.after.as_deref().unwrap_or("")
        ))
        .with_field("after")
    };
    let after = match pair_cursor(p.after.as_deref())? {
        None => None,
        Some((active, rest)) => {
            let (at, selector) = rest.split_once(' ').ok_or_else(bad)?;
            let active = match active.as_str() {
                "1" => true,
                "0" => false,
                _ => return Err(bad()),
            };
            Some((active, at.to_string(), selector.to_string()))
        }
    };
    let mut conn = b.engine.read().await?;
    let (domain, did) = scoped(b, &mut conn, &p.domain).await?;
    let cursor = after.as_ref().map(|(a, at, s)| (*a, at.as_str(), s.as_str()));
    let rows = sql::dkim::keys_page(&mut conn, &domain, did, cursor, limit + 1).await?;
    Ok(page_of(rows, limit, |k| format!("{} {} {}", u8::from(k.active), k.created_at, k.selector)))
}

pub(crate) async fn remove_key(b: &EngineBackend, p: RemoveDkimKey) -> Result<()> {
    let selector = check_selector(&p.selector)?;
    let mut tx = b.engine.write().await?;
    let (domain, did) = scoped(b, &mut tx, &p.domain).await?;
    let key = sql::dkim::keys(&mut tx, &domain, did).await?.into_iter().find(|k| k.selector == selector).ok_or_else(
        || Error::not_found(format!("{domain} has no DKIM key with selector {selector}")).with_field("selector"),
    )?;
    if key.active {
        return Err(Error::conflict(format!(
            "{selector} is the active key of {domain}; create a new key first (rotation), then remove this one"
        )));
    }
    sql::dkim::delete(&mut tx, did, &selector).await?;
    let change = Change { action: RemoveDkimKey::NAME, domain: Some(&domain), target: &selector };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&key), None).await?;
    tx.commit().await?;
    Ok(())
}
