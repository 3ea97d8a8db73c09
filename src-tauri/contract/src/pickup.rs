//! Pickup-rule patterns: `tiktok_{number}`, `sub_*`, matched against the local
//! part of an address that is not ours yet.
//!
//! `{number}` matches one or more ASCII digits, `*` any run of characters (also none);
//! every other character matches itself, case-insensitively (local parts are stored
//! lower-cased). Matching is a dynamic programme over (pattern token, position), so no
//! pattern makes it exponential.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(u8),
    Number,
    Any,
}

/// A parsed pickup-rule pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

/// Longest pattern accepted (a local part is at most 64 octets).
const MAX_LENGTH: usize = 64;

impl Pattern {
    /// Parses and canonicalises (lower-cases) a pattern; it needs at least one wildcard.
    pub fn parse(input: &str) -> Result<Pattern> {
        let field = "pattern";
        let source = input.trim().to_ascii_lowercase();
        if source.is_empty() {
            return Err(Error::validation("the pattern is empty").with_field(field));
        }
        if source.len() > MAX_LENGTH {
            return Err(Error::validation(format!("a pattern has at most {MAX_LENGTH} characters")).with_field(field));
        }
        if source.contains('@') {
            return Err(Error::validation(format!(
                "'{source}': write only the part before @ (the rule applies to its own domain)"
            ))
            .with_field(field));
        }
        let mut tokens = Vec::new();
        let mut rest = source.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '{' {
                let end = rest.find('}').ok_or_else(|| {
                    Error::validation(format!("'{source}' has a '{{' without '}}'; write {{number}}")).with_field(field)
                })?;
                match &rest[1..end] {
                    "number" => tokens.push(Token::Number),
                    other => {
                        return Err(Error::validation(format!(
                            "'{source}' has the unknown placeholder {{{other}}}; use {{number}} or *"
                        ))
                        .with_field(field));
                    }
                }
                rest = &rest[end + 1..];
                continue;
            }
            if c == '*' {
                // `**` matches what `*` does.
                if tokens.last() != Some(&Token::Any) {
                    tokens.push(Token::Any);
                }
            } else if c.is_ascii_alphanumeric() || "!#$%&'+-/=?^_`|~.".contains(c) {
                tokens.push(Token::Literal(c as u8));
            } else {
                return Err(Error::validation(format!(
                    "'{source}' contains '{c}', which cannot be in an address (letters, digits and . _ - + …)"
                ))
                .with_field(field));
            }
            rest = &rest[c.len_utf8()..];
        }
        if !tokens.iter().any(|t| matches!(t, Token::Number | Token::Any)) {
            return Err(Error::validation(format!(
                "'{source}' has no {{number}} or *, so it matches one address only; give that account an extra address instead"
            ))
            .with_field(field));
        }
        Ok(Pattern { source, tokens })
    }

    /// The canonical pattern text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the (canonical, lower-case) local part matches.
    pub fn matches(&self, local: &str) -> bool {
        let s = local.as_bytes();
        // reach[j]: the tokens so far can consume exactly s[..j].
        let mut reach = vec![false; s.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; s.len() + 1];
            for j in (0..=s.len()).filter(|&j| reach[j]) {
                match token {
                    Token::Literal(b) => {
                        if s.get(j) == Some(b) {
                            next[j + 1] = true;
                        }
                    }
                    Token::Number => {
                        let mut k = j;
                        while k < s.len() && s[k].is_ascii_digit() {
                            k += 1;
                            next[k] = true;
                        }
                    }
                    Token::Any => next[j..].iter_mut().for_each(|r| *r = true),
                }
            }
            reach = next;
        }
        reach[s.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_stars_match_as_the_seed_describes() {
        let tiktok = Pattern::parse("TikTok_{number}").unwrap();
        assert_eq!(tiktok.as_str(), "tiktok_{number}");
        assert!(tiktok.matches("tiktok_1") && tiktok.matches("tiktok_20261123"));
        assert!(!tiktok.matches("tiktok_") && !tiktok.matches("tiktok_1a") && !tiktok.matches("xtiktok_1"));
        let sub = Pattern::parse("sub_*").unwrap();
        assert!(sub.matches("sub_") && sub.matches("sub_dev.team") && !sub.matches("sub"));
        let both = Pattern::parse("*.{number}.x").unwrap();
        assert!(both.matches("a.b.12.x") && both.matches(".1.x") && !both.matches("a.b.x"));
        assert!(Pattern::parse("a**b").unwrap().matches("ab"));
    }

    #[test]
    fn many_stars_stay_fast() {
        let p = Pattern::parse(&"*a".repeat(30)).unwrap();
        assert!(!p.matches(&"a".repeat(29)));
        assert!(p.matches(&"a".repeat(30)) && p.matches(&"ba".repeat(32)));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for (input, needle) in [
            ("", "empty"),
            ("sales", "no {number} or *"),
            ("x@example.com", "part before @"),
            ("a{word}", "unknown placeholder {word}"),
            ("a{number", "without"),
            ("a b*", "' '"),
            (&"x*".repeat(40), "at most 64"),
        ] {
            let err = Pattern::parse(input).unwrap_err();
            assert!(err.message.contains(needle), "{input}: {}", err.message);
            assert_eq!(err.field.as_deref(), Some("pattern"));
        }
    }
}
