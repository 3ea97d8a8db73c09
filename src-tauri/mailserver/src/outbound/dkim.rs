//! DKIM signing (RFC 6376) of outbound mail with the active key of the author's domain
//! (the `From:` header's, so DMARC aligns; the envelope sender's when `From:` names no
//! domain of ours with a key). RSA-SHA256 (RSA-2048) or Ed25519-SHA256 (RFC 8463),
//! relaxed/relaxed, with mail-auth.

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use postdesk_contract::outbound::DkimSigningKey;

/// The headers signed (those present; `From` always), the ones a receiver checks and a
/// list manager should not change silently.
const SIGNED: [&str; 13] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
];

/// The domain of the message's `From:` address, lower-case.
pub fn author_domain(message: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::new().parse_headers(message)?;
    let from = parsed.from()?.first()?.address()?;
    from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

/// The `DKIM-Signature:` header line (with its CRLF) for `message`.
pub fn signature(key: &DkimSigningKey, message: &[u8]) -> Result<String, String> {
    let der = pem_der(&key.private_key_pem)?;
    let signed = if key.ed25519 {
        let k = Ed25519Key::from_pkcs8_der(&der).map_err(|e| e.to_string())?;
        DkimSigner::from_key(k).domain(&key.domain).selector(&key.selector).headers(SIGNED).sign(message)
    } else {
        let der = rustls_pki_types::PrivateKeyDer::Pkcs8(der.into());
        let k = RsaKey::<Sha256>::from_key_der(der).map_err(|e| e.to_string())?;
        DkimSigner::from_key(k).domain(&key.domain).selector(&key.selector).headers(SIGNED).sign(message)
    };
    Ok(signed.map_err(|e| e.to_string())?.to_header())
}

/// The DER inside a PEM block (the engine stores PKCS#8 `PRIVATE KEY`).
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("the DKIM key is not PEM: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_kinds_sign_with_their_algorithm() {
        let message = b"From: Ann <ann@Example.com>\r\nTo: x@remote.test\r\nSubject: hi\r\n\r\nhello\r\n";
        assert_eq!(author_domain(message).as_deref(), Some("example.com"));
        for algorithm in [postdesk_dns::DkimAlgorithm::Rsa2048, postdesk_dns::DkimAlgorithm::Ed25519] {
            let generated = postdesk_dns::generate_dkim_key(algorithm, "s1", "example.com").unwrap();
            let key = DkimSigningKey {
                domain: "example.com".into(),
                selector: "s1".into(),
                ed25519: algorithm == postdesk_dns::DkimAlgorithm::Ed25519,
                private_key_pem: generated.private_key_pem,
            };
            let header = signature(&key, message).unwrap();
            assert!(header.starts_with("DKIM-Signature: "), "{header}");
            let want = if key.ed25519 { "a=ed25519-sha256" } else { "a=rsa-sha256" };
            assert!(header.contains(want) && header.contains("d=example.com") && header.contains("s=s1"), "{header}");
        }
    }
}
