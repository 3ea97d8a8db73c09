//! Multi-line responses (RFC 1939 §3): a message's lines with CRLF endings, byte-stuffed,
//! produced in bounded chunks from the one copy of the message.

/// Writes a stored message as the body of a multi-line response, a chunk at a time: every
/// line ends in CRLF (a bare LF becomes CRLF, a last line without one gets it), and a line
/// starting with `.` gets another `.` in front. For TOP, only the header, the blank line
/// after it and the first `body_lines` lines of the body.
pub(crate) struct Encoder<'a> {
    raw: &'a [u8],
    pos: usize,
    /// The line being copied: where its content ends (before CR LF) and where the next
    /// line starts. `None` at the start of a line.
    line: Option<(usize, usize)>,
    in_header: bool,
    /// Body lines still to send (TOP); `None` for the whole message.
    body_left: Option<u64>,
    done: bool,
}

impl<'a> Encoder<'a> {
    /// The whole message (RETR).
    pub fn message(raw: &'a [u8]) -> Encoder<'a> {
        Encoder { raw, pos: 0, line: None, in_header: true, body_left: None, done: raw.is_empty() }
    }

    /// The header and the first `body_lines` lines of the body (TOP).
    pub fn top(raw: &'a [u8], body_lines: u64) -> Encoder<'a> {
        Encoder { body_left: Some(body_lines), ..Encoder::message(raw) }
    }

    /// Appends encoded bytes to `out` until it holds at least `limit` bytes or the message
    /// is done; returns false once the message is done (the terminator is not added).
    pub fn fill(&mut self, out: &mut Vec<u8>, limit: usize) -> bool {
        while !self.done && out.len() < limit {
            let (end, next) = match self.line {
                Some(line) => line,
                None => {
                    if !self.in_header {
                        match &mut self.body_left {
                            Some(0) => {
                                self.done = true;
                                break;
                            }
                            Some(n) => *n -= 1,
                            None => {}
                        }
                    }
                    let rest = &self.raw[self.pos..];
                    let (mut end, next) = match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => (self.pos + i, self.pos + i + 1),
                        None => (self.raw.len(), self.raw.len()),
                    };
                    if end > self.pos && self.raw[end - 1] == b'\r' {
                        end -= 1;
                    }
                    if self.in_header && end == self.pos {
                        // The blank line ending the header belongs to it.
                        self.in_header = false;
                    }
                    if self.raw.get(self.pos) == Some(&b'.') {
                        out.push(b'.');
                    }
                    self.line = Some((end, next));
                    (end, next)
                }
            };
            let room = limit.saturating_sub(out.len()).max(1);
            let take = (end - self.pos).min(room);
            out.extend_from_slice(&self.raw[self.pos..self.pos + take]);
            self.pos += take;
            if self.pos == end {
                out.extend_from_slice(b"\r\n");
                self.pos = next;
                self.line = None;
                if self.pos >= self.raw.len() {
                    self.done = true;
                }
            }
        }
        !self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(mut e: Encoder<'_>, limit: usize) -> String {
        let mut all = Vec::new();
        let mut chunk = Vec::new();
        loop {
            let more = e.fill(&mut chunk, limit);
            assert!(chunk.len() <= limit.max(1) + 3, "a chunk stays near its limit");
            all.append(&mut chunk);
            if !more {
                break;
            }
        }
        String::from_utf8(all).unwrap()
    }

    #[test]
    fn lines_are_stuffed_and_end_in_crlf_in_any_chunk_size() {
        let raw = b"Subject: x\n\n.hidden\r\n..two\nplain\r\n.";
        for limit in [1, 2, 3, 7, 64 * 1024] {
            assert_eq!(
                encode(Encoder::message(raw), limit),
                "Subject: x\r\n\r\n..hidden\r\n...two\r\nplain\r\n..\r\n",
                "limit {limit}"
            );
        }
        assert_eq!(encode(Encoder::message(b"a\r\nb\r\n"), 1024), "a\r\nb\r\n");
        assert_eq!(encode(Encoder::message(b""), 1024), "");
        assert_eq!(encode(Encoder::message(b"a\rb"), 1024), "a\rb\r\n", "a bare CR inside a line stays");
    }

    #[test]
    fn top_sends_the_header_and_n_body_lines() {
        let raw = b"From: a\r\nSubject: b\r\n\r\none\r\n.two\r\nthree\r\n";
        assert_eq!(encode(Encoder::top(raw, 0), 5), "From: a\r\nSubject: b\r\n\r\n");
        assert_eq!(encode(Encoder::top(raw, 2), 5), "From: a\r\nSubject: b\r\n\r\none\r\n..two\r\n");
        assert_eq!(encode(Encoder::top(raw, u64::MAX), 5), encode(Encoder::message(raw), 5));
        // No blank line: the whole message is header.
        assert_eq!(encode(Encoder::top(b"From: a\nX: y", 0), 64), "From: a\r\nX: y\r\n");
    }
}
