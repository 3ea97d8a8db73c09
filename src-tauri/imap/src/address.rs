//! RFC 5322 address lists as ENVELOPE reports them: display names (quotes and comments
//! handled, encoded words kept as sent), local parts and domains, and groups (a group is
//! reported as `(NIL NIL "name" NIL)` … `(NIL NIL NIL NIL)`).

/// One ENVELOPE address: a group start has only `mailbox` (the group's name), a group end
/// has nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The display name.
    pub name: Option<String>,
    /// The source route (`@a,@b`), obsolete but reported.
    pub adl: Option<String>,
    /// The local part (or a group's name).
    pub mailbox: Option<String>,
    /// The domain.
    pub host: Option<String>,
}

/// The most addresses one field yields.
const MAX_ADDRESSES: usize = 1000;

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Special(char),
    Angle(String),
    Comment(String),
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => i += 1,
            '(' => {
                // A comment, nested; a bare address's comment is its display name.
                let mut depth = 0;
                let mut text = String::new();
                while i < chars.len() {
                    match chars[i] {
                        '\\' => {
                            i += 1;
                            if let Some(&c) = chars.get(i) {
                                text.push(c);
                            }
                        }
                        '(' => {
                            if depth > 0 {
                                text.push('(');
                            }
                            depth += 1;
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                            text.push(')');
                        }
                        c => text.push(c),
                    }
                    i += 1;
                }
                out.push(Token::Comment(text.trim().to_string()));
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                i += 1;
                out.push(Token::Quoted(s));
            }
            '<' => {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '>' {
                    if !chars[i].is_whitespace() {
                        s.push(chars[i]);
                    }
                    i += 1;
                }
                i += 1;
                out.push(Token::Angle(s));
            }
            ',' | ':' | ';' | '@' => {
                out.push(Token::Special(c));
                i += 1;
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() && !" \t\r\n()\"<,:;@".contains(chars[i]) {
                    s.push(chars[i]);
                    i += 1;
                }
                out.push(Token::Word(s));
            }
        }
        if out.len() > MAX_ADDRESSES * 8 {
            break;
        }
    }
    out
}

/// (source route, local part, domain) of `@route:local@domain`.
fn split_addr_spec(spec: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (route, spec) = match spec.rsplit_once(':') {
        Some((r, s)) if r.starts_with('@') => (Some(r.to_string()), s),
        Some((_, s)) => (None, s),
        None => (None, spec),
    };
    match spec.rsplit_once('@') {
        Some((local, domain)) => (route, Some(local.to_string()), Some(domain.to_string())),
        None if spec.is_empty() => (route, None, None),
        None => (route, Some(spec.to_string()), None),
    }
}

/// Parses an address-list field value.
pub fn parse_list(text: &str) -> Vec<Address> {
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut phrase: Vec<String> = Vec::new();
    let mut spec = String::new();
    let mut angle: Option<String> = None;
    let mut comment: Option<String> = None;
    let mut in_group = false;
    let flush = |out: &mut Vec<Address>,
                 phrase: &mut Vec<String>,
                 spec: &mut String,
                 angle: &mut Option<String>,
                 comment: &mut Option<String>| {
        let comment = comment.take().filter(|c| !c.is_empty());
        if let Some(a) = angle.take() {
            let (adl, mailbox, host) = split_addr_spec(&a);
            let name = if phrase.is_empty() { None } else { Some(phrase.join(" ")) };
            out.push(Address { name, adl, mailbox, host });
        } else if !spec.is_empty() || !phrase.is_empty() {
            let s = if spec.is_empty() { phrase.join("") } else { std::mem::take(spec) };
            let (adl, mailbox, host) = split_addr_spec(&s);
            if mailbox.is_some() {
                out.push(Address { name: comment, adl, mailbox, host });
            }
        }
        phrase.clear();
        spec.clear();
    };
    let mut i = 0;
    while i < toks.len() && out.len() < MAX_ADDRESSES {
        match &toks[i] {
            Token::Word(w) => {
                if toks.get(i + 1) == Some(&Token::Special('@')) || (!spec.is_empty() && spec.ends_with('@')) {
                    spec.push_str(w);
                } else if spec.is_empty() {
                    phrase.push(w.clone());
                } else {
                    spec.push_str(w);
                }
            }
            Token::Quoted(q) => {
                if toks.get(i + 1) == Some(&Token::Special('@')) {
                    spec.push_str(q);
                } else {
                    phrase.push(q.clone());
                }
            }
            Token::Special('@') => {
                if spec.is_empty() {
                    spec = phrase.pop().unwrap_or_default();
                    spec.push_str(&phrase.concat());
                    phrase.clear();
                }
                spec.push('@');
            }
            Token::Angle(a) => angle = Some(a.clone()),
            Token::Special(':') if !in_group && angle.is_none() => {
                out.push(Address { mailbox: Some(phrase.join(" ")), ..Address::default() });
                phrase.clear();
                in_group = true;
            }
            Token::Comment(c) => comment = Some(c.clone()),
            Token::Special(';') if in_group => {
                flush(&mut out, &mut phrase, &mut spec, &mut angle, &mut comment);
                out.push(Address::default());
                in_group = false;
            }
            Token::Special(',') => flush(&mut out, &mut phrase, &mut spec, &mut angle, &mut comment),
            Token::Special(_) => {}
        }
        i += 1;
    }
    flush(&mut out, &mut phrase, &mut spec, &mut angle, &mut comment);
    if in_group {
        out.push(Address::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address { name: name.map(str::to_string), adl: None, mailbox: Some(mailbox.into()), host: Some(host.into()) }
    }

    #[test]
    fn names_quotes_comments_and_groups() {
        assert_eq!(parse_list("Ann Example <ann@example.com>"), [a(Some("Ann Example"), "ann", "example.com")]);
        assert_eq!(
            parse_list("\"Doe, John\" <j@x.org>, bob@y.org (Bob)"),
            [a(Some("Doe, John"), "j", "x.org"), a(Some("Bob"), "bob", "y.org")]
        );
        assert_eq!(parse_list("=?utf-8?q?J=C3=B6rg?= <j@x.org>")[0].name.as_deref(), Some("=?utf-8?q?J=C3=B6rg?="));
        let group = parse_list("Team: ann@x.org, bob@x.org;");
        assert_eq!(group.len(), 4);
        assert_eq!(group[0], Address { mailbox: Some("Team".into()), ..Address::default() });
        assert_eq!(group[3], Address::default());
        assert_eq!(parse_list("undisclosed-recipients:;").len(), 2);
        assert_eq!(parse_list(""), []);
        let many = "a@b, ".repeat(5000);
        assert!(parse_list(&many).len() <= MAX_ADDRESSES);
    }
}
