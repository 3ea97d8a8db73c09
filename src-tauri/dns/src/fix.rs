//! Zone-file text for the records we tell the admin to publish.

/// `name` with the trailing dot a zone file needs.
pub fn fqdn(name: &str) -> String {
    if name.ends_with('.') { name.to_owned() } else { format!("{name}.") }
}

/// `name. IN TYPE rdata`.
pub fn record(name: &str, rtype: &str, rdata: &str) -> String {
    format!("{} IN {rtype} {rdata}", fqdn(name))
}

/// A TXT record in zone-file syntax; values over 255 bytes are split into several quoted
/// character-strings, which resolvers join back without spaces (RFC 7208 §3.3, RFC 6376
/// §3.6.2.2).
pub fn txt_record(name: &str, value: &str) -> String {
    record(name, "TXT", &quote_txt(value))
}

/// The quoted character-strings of a TXT value.
pub fn quote_txt(value: &str) -> String {
    value
        .as_bytes()
        .chunks(255)
        .map(|chunk| {
            let mut s = String::from("\"");
            for &b in chunk {
                match b {
                    b'"' | b'\\' => {
                        s.push('\\');
                        s.push(b as char);
                    }
                    0x20..=0x7e => s.push(b as char),
                    _ => s.push_str(&format!("\\{b:03}")),
                }
            }
            s.push('"');
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(
            txt_record("_dmarc.example.test", "v=DMARC1; p=reject"),
            "_dmarc.example.test. IN TXT \"v=DMARC1; p=reject\""
        );
        let long = "a".repeat(300);
        let q = quote_txt(&long);
        assert_eq!(q, format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45)));
        assert_eq!(quote_txt("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
