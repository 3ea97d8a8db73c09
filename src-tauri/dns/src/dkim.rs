//! DKIM check: key records at `<selector>._domainkey.<domain>` (RFC 6376 §3.6.1, Ed25519
//! RFC 8463, key sizes RFC 8301).

use base64::Engine;

use crate::der::rsa_modulus_bits;
use crate::mx::dns_error;
use crate::report::{CheckResult, Finding, Severity};
use crate::resolver::{DnsLookup, RecordType};
use crate::tags::{parse_tag_list, tag};

/// Selectors tried when none is given: the usual defaults of common providers and servers.
pub const COMMON_SELECTORS: &[&str] = &[
    "default",
    "selector1",
    "selector2",
    "google",
    "k1",
    "k2",
    "s1",
    "s2",
    "dkim",
    "mail",
    "postdesk",
    "smtp",
    "key1",
    "sig1",
    "mxvault",
    "zoho",
    "protonmail",
    "fm1",
];

/// Codes this check can emit.
pub const CODES: &[&str] = &[
    "dns_error",
    "dkim_ok",
    "dkim_missing",
    "dkim_not_found",
    "dkim_multiple",
    "dkim_syntax",
    "dkim_revoked",
    "dkim_unknown_key_type",
    "dkim_key_invalid",
    "dkim_key_weak",
    "dkim_key_short",
    "dkim_test_mode",
    "dkim_sha1",
];

/// Checks the given selectors, or probes [`COMMON_SELECTORS`] when `selectors` is empty.
pub async fn check_dkim(dns: &dyn DnsLookup, domain: &str, selectors: &[String]) -> CheckResult {
    let probing = selectors.is_empty();
    let list: Vec<String> =
        if probing { COMMON_SELECTORS.iter().map(|s| (*s).to_owned()).collect() } else { selectors.to_vec() };
    let answers = futures::future::join_all(list.iter().map(|sel| async move {
        let name = format!("{sel}._domainkey.{domain}");
        (sel, name.clone(), dns.query(&name, RecordType::Txt).await)
    }))
    .await;

    let mut findings = Vec::new();
    let mut found = 0usize;
    for (sel, name, answer) in answers {
        let records = match answer {
            Ok(a) => a.txt_strings(),
            Err(e) => {
                // One unanswered probe usually means all are; report it once.
                if !findings.iter().any(|f: &Finding| f.code == "dns_error") {
                    findings.push(dns_error(&e));
                }
                continue;
            }
        };
        if records.is_empty() {
            if !probing {
                findings.push(Finding::new(
                    "dkim_missing",
                    Severity::Fail,
                    format!(
                        "There is no DKIM key for selector \"{sel}\" ({name}), so mail signed \
                         with it fails DKIM. Publish the key record your mail server shows for \
                         this selector."
                    ),
                ));
            }
            continue;
        }
        found += 1;
        if records.len() > 1 {
            findings.push(Finding::new(
                "dkim_multiple",
                Severity::Fail,
                format!(
                    "{name} has {} TXT records; a DKIM selector must have exactly one key record, \
                     or verification is unpredictable. Keep one.",
                    records.len()
                ),
            ));
            continue;
        }
        let record = records.into_iter().next().unwrap_or_default();
        findings.extend(check_key_record(sel, &name, &record, probing));
    }

    if probing && found == 0 && findings.is_empty() {
        findings.push(Finding::new(
            "dkim_not_found",
            Severity::Warn,
            format!(
                "No DKIM key was found for {domain} under the common selectors ({}). If your \
                 mail is signed, give the selector it uses; if not, set up DKIM signing.",
                COMMON_SELECTORS.join(", ")
            ),
        ));
    }
    CheckResult::from_findings(findings)
}

/// Checks one key record's text. `probed`: found by guessing, not asked for.
pub fn check_key_record(selector: &str, name: &str, record: &str, probed: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let syntax = |why: String| {
        Finding::new(
            "dkim_syntax",
            Severity::Fail,
            format!(
                "The DKIM key record at {name} {why}, so receivers cannot use it. Publish the \
                 record exactly as your mail server generated it."
            ),
        )
    };
    let tags = match parse_tag_list(record) {
        Ok(t) => t,
        Err(why) => return vec![syntax(why)],
    };
    if let Some(v) = tag(&tags, "v") {
        if tags.first().map(|(n, _)| n.as_str()) != Some("v") {
            return vec![syntax("has v= but not as its first tag".into())];
        }
        if v != "DKIM1" {
            return vec![syntax(format!("has v={v}; the only version is DKIM1"))];
        }
    }
    let Some(p) = tag(&tags, "p") else {
        return vec![syntax("has no p= tag (the public key)".into())];
    };
    let p: String = p.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if p.is_empty() {
        out.push(Finding::new(
            "dkim_revoked",
            if probed { Severity::Warn } else { Severity::Fail },
            format!(
                "The DKIM key for selector \"{selector}\" is revoked (empty p=); mail signed \
                 with it fails DKIM. Sign with another selector, or publish a new key."
            ),
        ));
        return out;
    }
    let k = tag(&tags, "k").unwrap_or("rsa").to_ascii_lowercase();
    let key = match base64::engine::general_purpose::STANDARD.decode(p.as_bytes()) {
        Ok(k) => k,
        Err(_) => {
            out.push(key_invalid(selector, "is not valid base64"));
            return out;
        }
    };
    let strength = match k.as_str() {
        "rsa" => match rsa_modulus_bits(&key) {
            Ok(bits) if bits < 1024 => {
                out.push(Finding::new(
                    "dkim_key_weak",
                    Severity::Fail,
                    format!(
                        "The DKIM key for selector \"{selector}\" is RSA {bits}-bit; keys under \
                         1024 bits can be broken and receivers ignore them (RFC 8301). Generate \
                         a 2048-bit key."
                    ),
                ));
                format!("RSA {bits}-bit")
            }
            Ok(bits) if bits < 2048 => {
                out.push(Finding::new(
                    "dkim_key_short",
                    Severity::Warn,
                    format!(
                        "The DKIM key for selector \"{selector}\" is RSA {bits}-bit; 2048 bits \
                         is the recommended minimum. Generate a 2048-bit key when you next \
                         rotate."
                    ),
                ));
                format!("RSA {bits}-bit")
            }
            Ok(bits) => format!("RSA {bits}-bit"),
            Err(why) => {
                out.push(key_invalid(selector, &format!("cannot be read as an RSA key ({why})")));
                return out;
            }
        },
        "ed25519" => {
            if key.len() != 32 {
                out.push(key_invalid(
                    selector,
                    &format!("is {} bytes long; an Ed25519 key is 32 bytes (RFC 8463)", key.len()),
                ));
                return out;
            }
            "Ed25519".to_owned()
        }
        other => {
            out.push(Finding::new(
                "dkim_unknown_key_type",
                Severity::Fail,
                format!(
                    "The DKIM key for selector \"{selector}\" has key type k={other}; receivers \
                     only know rsa and ed25519."
                ),
            ));
            return out;
        }
    };
    if let Some(t) = tag(&tags, "t")
        && t.split(':').any(|f| f.trim().eq_ignore_ascii_case("y"))
    {
        out.push(Finding::new(
            "dkim_test_mode",
            Severity::Warn,
            format!(
                "The DKIM key for selector \"{selector}\" is in test mode (t=y): receivers \
                     may treat signed and unsigned mail alike. Remove t=y once signing works."
            ),
        ));
    }
    if let Some(h) = tag(&tags, "h") {
        let algs: Vec<String> = h.split(':').map(|a| a.trim().to_ascii_lowercase()).collect();
        if !algs.iter().any(|a| a == "sha256") {
            out.push(Finding::new(
                "dkim_sha1",
                Severity::Warn,
                format!(
                    "The DKIM key for selector \"{selector}\" allows only h={h}; signatures \
                     must use SHA-256 (RFC 8301). Remove the h= tag or add sha256."
                ),
            ));
        }
    }
    if !out.iter().any(|f| f.severity != Severity::Info) {
        out.push(Finding::new(
            "dkim_ok",
            Severity::Info,
            format!("Selector \"{selector}\" publishes a valid {strength} DKIM key."),
        ));
    }
    out
}

fn key_invalid(selector: &str, why: &str) -> Finding {
    Finding::new(
        "dkim_key_invalid",
        Severity::Fail,
        format!(
            "The public key (p=) of DKIM selector \"{selector}\" {why}. Publish the key again, \
             copying it exactly."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";
    const ED: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    #[test]
    fn key_records() {
        let cases: Vec<(String, Vec<&str>)> = vec![
            (format!("v=DKIM1; k=rsa; p={RSA1024}"), vec!["dkim_key_short"]),
            (format!("k=ed25519; p={ED}"), vec!["dkim_ok"]),
            (format!("v=DKIM1; p={ED}"), vec!["dkim_key_invalid"]),
            ("v=DKIM1; p=".into(), vec!["dkim_revoked"]),
            ("v=DKIM1; k=dsa; p=AAAA".into(), vec!["dkim_unknown_key_type"]),
            ("v=DKIM1; p=!!!".into(), vec!["dkim_key_invalid"]),
            ("v=DKIM2; p=AAAA".into(), vec!["dkim_syntax"]),
            ("k=rsa; v=DKIM1; p=AAAA".into(), vec!["dkim_syntax"]),
            ("v=DKIM1; k=rsa".into(), vec!["dkim_syntax"]),
            ("v=DKIM1; p".into(), vec!["dkim_syntax"]),
            (format!("v=DKIM1; t=y; k=ed25519; p={ED}"), vec!["dkim_test_mode"]),
            (format!("v=DKIM1; h=sha1; k=ed25519; p={ED}"), vec!["dkim_sha1"]),
            (format!("v=DKIM1; h=sha1:sha256; t=s; k=ed25519; p={ED}"), vec!["dkim_ok"]),
        ];
        for (record, want) in cases {
            let got = check_key_record("s", "s._domainkey.x.test", &record, false);
            let codes: Vec<&str> = got.iter().map(|f| f.code.as_str()).collect();
            assert_eq!(codes, want, "{record}");
        }
    }
}
