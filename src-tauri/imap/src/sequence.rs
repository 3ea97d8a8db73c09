//! Sequence sets (RFC 9051 §9 `sequence-set`): `1:4,7,9:*`, and `$` (the saved search
//! result, RFC 5182).

/// One end of a range: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    /// A message sequence number or UID.
    Value(u32),
    /// `*`.
    Largest,
}

/// A parsed sequence set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceSet {
    /// Ranges, each inclusive in either order (`4:2` is `2:4`).
    Ranges(Vec<(SeqNum, SeqNum)>),
    /// `$`: the result of the last `SEARCH RETURN (SAVE)`.
    Saved,
}

/// The most ranges one set may have, so a set cannot be made to cost without bound.
pub const MAX_RANGES: usize = 10_000;

impl SequenceSet {
    /// Parses `1:4,7,9:*` or `$`; `None` when malformed.
    pub fn parse(s: &str) -> Option<SequenceSet> {
        if s == "$" {
            return Some(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        for part in s.split(',') {
            if ranges.len() >= MAX_RANGES {
                return None;
            }
            let (a, b) = match part.split_once(':') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => {
                    let n = num(part)?;
                    (n, n)
                }
            };
            ranges.push((a, b));
        }
        Some(SequenceSet::Ranges(ranges))
    }

    /// Whether `n` is in the set, with `*` meaning `largest` (`saved`: the saved result).
    pub fn contains(&self, n: u32, largest: u32, saved: &[u32]) -> bool {
        match self {
            SequenceSet::Saved => saved.binary_search(&n).is_ok(),
            SequenceSet::Ranges(ranges) => ranges.iter().any(|&(a, b)| {
                let (a, b) = (resolve(a, largest), resolve(b, largest));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                (lo..=hi).contains(&n)
            }),
        }
    }
}

fn resolve(n: SeqNum, largest: u32) -> u32 {
    match n {
        SeqNum::Value(v) => v,
        SeqNum::Largest => largest,
    }
}

fn num(s: &str) -> Option<SeqNum> {
    if s == "*" {
        return Some(SeqNum::Largest);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return None;
    }
    s.parse().ok().map(SeqNum::Value)
}

/// Formats sorted numbers compactly (`1:3,5,8:9`), as COPYUID, ESEARCH and VANISHED
/// report them; the order given is kept (COPYUID pairs must line up).
pub fn compact(numbers: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = numbers[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_parse_and_match_with_star_and_reversed_ranges() {
        let set = SequenceSet::parse("1:3,7,9:*").unwrap();
        let hits: Vec<u32> = (1..=12).filter(|&n| set.contains(n, 10, &[])).collect();
        assert_eq!(hits, [1, 2, 3, 7, 9, 10]);
        let reversed = SequenceSet::parse("4:2").unwrap();
        assert!(reversed.contains(3, 10, &[]) && !reversed.contains(5, 10, &[]));
        assert!(SequenceSet::parse("*:5").unwrap().contains(7, 7, &[]));
        assert!(SequenceSet::parse("$").unwrap().contains(4, 0, &[2, 4]));
        for bad in ["", "0", "1:", ",1", "a", "1,,2", "01", "4294967296"] {
            assert_eq!(SequenceSet::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_reported_compactly_in_order() {
        assert_eq!(compact(&[1, 2, 3, 5, 8, 9]), "1:3,5,8:9");
        assert_eq!(compact(&[7]), "7");
        assert_eq!(compact(&[]), "");
        assert_eq!(compact(&[5, 3, 4]), "5,3:4");
    }
}
