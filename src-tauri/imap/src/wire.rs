//! Reading one command from the client: lines and the literals inside them (`{n}` with a
//! `+` continuation, `{n+}` without, RFC 7888), within limits, so a client can make a
//! session hold at most one bounded command in memory.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::Io;

/// The longest line (without its literals).
pub const MAX_LINE: usize = 64 * 1024;

/// What one read brought.
#[derive(Debug)]
pub enum Read {
    /// A whole command, literals inline, CRLF at the end.
    Command(Vec<u8>),
    /// A line or literal over the limit: refused with this text; the rest was skipped
    /// (the tag, when it could be read, is given).
    TooBig { tag: Option<String>, message: String },
    /// The client closed the connection.
    Eof,
}

/// Reads one command. `max_literal` bounds each literal; `max_total` the whole command.
pub async fn read_command(
    io: &mut tokio::io::BufReader<Box<dyn Io>>,
    max_literal: usize,
    max_total: usize,
) -> std::io::Result<Read> {
    let mut command = Vec::new();
    loop {
        let before = command.len();
        let n = read_line(io, &mut command, MAX_LINE).await?;
        if n == 0 {
            return Ok(Read::Eof);
        }
        let line = &command[before..];
        if !line.ends_with(b"\n") {
            skip_line(io).await?;
            return Ok(Read::TooBig { tag: tag_of(&command), message: format!("a line is at most {MAX_LINE} bytes") });
        }
        let Some((size, sync)) = literal_at_end(line) else {
            return Ok(Read::Command(command));
        };
        if size > max_literal || command.len() + size > max_total {
            let tag = tag_of(&command);
            if !sync {
                // The client sends it anyway: skip it, and the rest of the command.
                let mut left = size as u64;
                let mut sink = tokio::io::sink();
                left -= tokio::io::copy(&mut (&mut *io).take(left), &mut sink).await?;
                if left > 0 {
                    return Ok(Read::Eof);
                }
                skip_line(io).await?;
            }
            return Ok(Read::TooBig { tag, message: format!("a literal is at most {max_literal} bytes here") });
        }
        if sync {
            io.get_mut().write_all(b"+ Ready for literal data\r\n").await?;
            io.get_mut().flush().await?;
        }
        let start = command.len();
        command.resize(start + size, 0);
        io.read_exact(&mut command[start..]).await?;
    }
}

/// `{123}` or `{123+}` (also `~{123}`) at the end of a line: the size, and whether the
/// client waits for a continuation.
fn literal_at_end(line: &[u8]) -> Option<(usize, bool)> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let inner = &line[open + 1..];
    let (digits, sync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (inner, true),
    };
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok().map(|n| (n, sync))
}

fn tag_of(command: &[u8]) -> Option<String> {
    let end = command.iter().position(|&b| b == b' ' || b == b'\r' || b == b'\n')?;
    (end > 0).then(|| String::from_utf8_lossy(&command[..end]).into_owned())
}

/// Reads up to and including `\n`, at most `max` bytes; returns the bytes read.
pub async fn read_line(
    io: &mut tokio::io::BufReader<Box<dyn Io>>,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = io.fill_buf().await?;
        if buf.is_empty() {
            return Ok(total);
        }
        let room = max - total;
        let (take, done) = match buf.iter().take(room).position(|&b| b == b'\n') {
            Some(p) => (p + 1, true),
            None => (buf.len().min(room), buf.len() >= room),
        };
        out.extend_from_slice(&buf[..take]);
        io.consume(take);
        total += take;
        if done || total >= max {
            return Ok(total);
        }
    }
}

/// Skips to the end of the current line.
async fn skip_line(io: &mut tokio::io::BufReader<Box<dyn Io>>) -> std::io::Result<()> {
    loop {
        let mut scratch = Vec::new();
        let n = read_line(io, &mut scratch, MAX_LINE).await?;
        if n == 0 || scratch.ends_with(b"\n") {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(input: &'static [u8]) -> tokio::io::BufReader<Box<dyn Io>> {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            let mut client = client;
            client.write_all(input).await.unwrap();
            // Keep the client end open until the server has read.
            let mut sink = Vec::new();
            let _ = client.read_to_end(&mut sink).await;
        });
        tokio::io::BufReader::new(Box::new(server))
    }

    #[tokio::test]
    async fn literals_are_read_inline_and_limits_hold() {
        let mut io = reader(b"a LOGIN {3}\r\nann {2+}\r\npw\r\nb NOOP\r\n");
        let Read::Command(c) = read_command(&mut io, 100, 1000).await.unwrap() else { panic!() };
        assert_eq!(c, b"a LOGIN {3}\r\nann {2+}\r\npw\r\n");
        let Read::Command(c) = read_command(&mut io, 100, 1000).await.unwrap() else { panic!() };
        assert_eq!(c, b"b NOOP\r\n");

        let mut io = reader(b"a APPEND x {5+}\r\n12345\r\nb NOOP\r\n");
        let Read::TooBig { tag, .. } = read_command(&mut io, 4, 1000).await.unwrap() else { panic!() };
        assert_eq!(tag.as_deref(), Some("a"));
        let Read::Command(c) = read_command(&mut io, 4, 1000).await.unwrap() else { panic!() };
        assert_eq!(c, b"b NOOP\r\n", "the refused literal was skipped");
        assert_eq!(literal_at_end(b"x {99999999999}\r\n"), None);
    }
}
