//! The `tag=value; tag=value` syntax shared by DKIM key records (RFC 6376 §3.2) and DMARC
//! records (RFC 7489 §6.4).

/// Parses a tag-list. Tag names are lower-cased; values are trimmed. Errors name the
/// problem in plain words (empty tag, missing `=`, bad name, duplicate tag).
pub fn parse_tag_list(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let parts: Vec<&str> = text.split(';').collect();
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        let part = part.trim_matches(|c: char| c.is_ascii_whitespace());
        if part.is_empty() {
            // A trailing ";" is allowed; an empty tag in the middle is not.
            if i == last {
                continue;
            }
            return Err("has an empty tag (two semicolons in a row)".into());
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("has \"{part}\", which is not written as tag=value"));
        };
        let name = name.trim_matches(|c: char| c.is_ascii_whitespace());
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("has an invalid tag name \"{name}\""));
        }
        let name = name.to_ascii_lowercase();
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("has the tag \"{name}\" twice"));
        }
        out.push((name, value.trim_matches(|c: char| c.is_ascii_whitespace()).to_owned()));
    }
    Ok(out)
}

/// The value of `name` in a parsed tag-list.
pub fn tag<'a>(tags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    tags.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok: &[(&str, &[(&str, &str)])] = &[
            ("v=DMARC1; p=none", &[("v", "DMARC1"), ("p", "none")]),
            ("v=DMARC1;p=none;", &[("v", "DMARC1"), ("p", "none")]),
            (" k = rsa ; p = AB CD ", &[("k", "rsa"), ("p", "AB CD")]),
            ("p=", &[("p", "")]),
            ("P=x", &[("p", "x")]),
        ];
        for (text, want) in ok {
            let got = parse_tag_list(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            assert_eq!(got, *want, "{text}");
        }
        for bad in ["v=DMARC1;; p=none", "v=DMARC1; p", "v=1; v=2", "1x=3", "=x"] {
            assert!(parse_tag_list(bad).is_err(), "{bad}");
        }
    }
}
