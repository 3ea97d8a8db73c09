//! Modified UTF-7 (RFC 3501 §5.1.3), decoding only: folder names as servers send them.

/// The decoded name; `None` when it is not valid modified UTF-7.
pub(crate) fn decode(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find('-')?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let units = base64_utf16(encoded)?;
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Modified base64 (`,` for `/`, no padding) of UTF-16BE code units.
fn base64_utf16(s: &str) -> Option<Vec<u16>> {
    let mut bits = 0u32;
    let mut count = 0u32;
    let mut bytes = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b',' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    Some(bytes.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_names() {
        assert_eq!(super::decode("Entw&APw-rfe").as_deref(), Some("Entwürfe"));
        assert_eq!(super::decode("A&-B").as_deref(), Some("A&B"));
        assert_eq!(super::decode("&ZeVnLIqe-").as_deref(), Some("日本語"));
        assert_eq!(super::decode("bad&"), None);
    }
}
