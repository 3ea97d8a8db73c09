//! Just enough DER to measure an RSA public key: SubjectPublicKeyInfo (RFC 5280 §4.1, what
//! `openssl rsa -pubout` writes and most DKIM records carry) or a bare PKCS#1 RSAPublicKey
//! (RFC 8017 §A.1.1, which RFC 6376 §3.6.1 literally asks for).

/// DER `rsaEncryption` OID 1.2.840.113549.1.1.1.
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Reads one TLV at the start of `input`: (tag, content, rest).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("truncated DER (no tag)")?;
    let (&first, mut rest) = rest.split_first().ok_or("truncated DER (no length)")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length".into());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err("truncated DER (content shorter than its length)".into());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

/// The size in bits of the RSA modulus in `der` (SPKI or PKCS#1).
pub fn rsa_modulus_bits(der: &[u8]) -> Result<usize, String> {
    let (tag, body, _) = tlv(der)?;
    if tag != SEQUENCE {
        return Err("the key is not a DER SEQUENCE".into());
    }
    let (inner_tag, inner, after) = tlv(body)?;
    match inner_tag {
        SEQUENCE => {
            // SubjectPublicKeyInfo: AlgorithmIdentifier, then BIT STRING.
            let (oid_tag, oid, _) = tlv(inner)?;
            if oid_tag != OID || oid != RSA_OID {
                return Err("the key is not an RSA key (algorithm is not rsaEncryption)".into());
            }
            let (bs_tag, bits, _) = tlv(after)?;
            if bs_tag != BIT_STRING {
                return Err("the key has no BIT STRING".into());
            }
            let (&unused, key) = bits.split_first().ok_or("empty BIT STRING")?;
            if unused != 0 {
                return Err("the key's BIT STRING is not byte-aligned".into());
            }
            pkcs1_modulus_bits(key)
        }
        INTEGER => modulus_bits(inner),
        _ => Err("unrecognised key structure".into()),
    }
}

fn pkcs1_modulus_bits(der: &[u8]) -> Result<usize, String> {
    let (tag, body, _) = tlv(der)?;
    if tag != SEQUENCE {
        return Err("RSAPublicKey is not a SEQUENCE".into());
    }
    let (int_tag, modulus, _) = tlv(body)?;
    if int_tag != INTEGER {
        return Err("RSAPublicKey has no modulus".into());
    }
    modulus_bits(modulus)
}

fn modulus_bits(int: &[u8]) -> Result<usize, String> {
    let start = int.iter().position(|&b| b != 0).ok_or("the modulus is zero")?;
    let digits = &int[start..];
    let lead = digits.first().copied().unwrap_or(0);
    Ok(digits.len() * 8 - lead.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).expect("test vector is base64")
    }

    /// Builds SPKI/PKCS#1 structures around a modulus of `bits` bits.
    fn spki(bits: usize, wrap: bool) -> Vec<u8> {
        fn enc(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let len = content.len();
            if len < 0x80 {
                out.push(len as u8);
            } else if len < 0x100 {
                out.extend([0x81, len as u8]);
            } else {
                out.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            out.extend_from_slice(content);
            out
        }
        let mut n = vec![0u8; bits / 8 + 1];
        n[1] = 0x80; // top bit set: leading 0x00 keeps it positive
        let mut pk = enc(INTEGER, &n);
        pk.extend(enc(INTEGER, &[1, 0, 1]));
        let pkcs1 = enc(SEQUENCE, &pk);
        if !wrap {
            return pkcs1;
        }
        let mut alg = enc(OID, RSA_OID);
        alg.extend([0x05, 0x00]);
        let mut body = enc(SEQUENCE, &alg);
        let mut bs = vec![0u8];
        bs.extend(pkcs1);
        body.extend(enc(BIT_STRING, &bs));
        enc(SEQUENCE, &body)
    }

    #[test]
    fn table() {
        for bits in [512usize, 1024, 2048, 4096] {
            assert_eq!(rsa_modulus_bits(&spki(bits, true)), Ok(bits), "spki {bits}");
            assert_eq!(rsa_modulus_bits(&spki(bits, false)), Ok(bits), "pkcs1 {bits}");
        }
        // RFC 6376 §A.3's example key (1024-bit SPKI).
        let rfc = b64("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt\
             IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0f\
             zfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB");
        assert_eq!(rsa_modulus_bits(&rfc), Ok(1024));
        let bad: &[&[u8]] = &[&[], &[0x30], &[0x30, 0x05, 0x02], &[0x04, 0x00], &[0x30, 0x00]];
        for der in bad {
            assert!(rsa_modulus_bits(der).is_err(), "{der:?}");
        }
        // An Ed25519 SPKI is not an RSA key.
        let ed = b64("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=");
        assert!(rsa_modulus_bits(&ed).is_err());
    }
}
