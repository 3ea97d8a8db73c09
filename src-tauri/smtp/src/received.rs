//! The Received trace header (RFC 5321 §4.4) with the protocol names of RFC 3848.

use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::store::QueueId;

/// What the Received header says about one transaction.
pub(crate) struct Trace<'a> {
    pub helo: &'a str,
    pub client_ip: IpAddr,
    pub reverse_name: Option<&'a str>,
    pub hostname: &'a str,
    pub esmtp: bool,
    pub tls: Option<&'a str>,
    pub authenticated: bool,
    pub queue_id: QueueId,
    /// Named only for a single recipient: listing several would disclose Bcc recipients.
    pub single_recipient: Option<&'a str>,
    pub now: OffsetDateTime,
}

/// Keeps client-supplied text printable and free of anything that could end the header.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).take(255).collect()
}

impl Trace<'_> {
    /// RFC 3848 `with` keyword: SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA.
    fn protocol(&self) -> &'static str {
        match (self.esmtp, self.tls.is_some(), self.authenticated) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, false, true) => "ESMTPA",
            (true, true, false) => "ESMTPS",
            (true, true, true) => "ESMTPSA",
        }
    }

    /// The header, folded, ending in CRLF.
    pub fn header(&self) -> String {
        let ip = match self.client_ip {
            IpAddr::V6(v6) => format!("IPv6:{v6}"),
            v4 => v4.to_string(),
        };
        let mut h = format!(
            "Received: from {} ({} [{}])\r\n\tby {} (Postdesk) with {} id {}",
            clean(self.helo),
            self.reverse_name.map(clean).unwrap_or_else(|| "unknown".into()),
            ip,
            clean(self.hostname),
            self.protocol(),
            self.queue_id,
        );
        if let Some(tls) = self.tls {
            h.push_str(&format!("\r\n\t({})", clean_comment(tls)));
        }
        if let Some(rcpt) = self.single_recipient {
            h.push_str(&format!("\r\n\tfor <{}>", clean(rcpt)));
        }
        let date = self.now.format(&Rfc2822).unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".into());
        h.push_str(&format!(";\r\n\t{date}\r\n"));
        h
    }
}

fn clean_comment(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() && c != '(' && c != ')' || c == ' ' { c } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_folded_and_names_the_protocol() {
        let t = Trace {
            helo: "client.test\r\nX-Evil: 1",
            client_ip: "192.0.2.1".parse().unwrap(),
            reverse_name: None,
            hostname: "mx.example.test",
            esmtp: true,
            tls: Some("TLSv1.3 cipher TLS13_AES_256_GCM_SHA384"),
            authenticated: true,
            queue_id: QueueId(0xABC),
            single_recipient: Some("ann@example.test"),
            now: OffsetDateTime::UNIX_EPOCH,
        };
        let h = t.header();
        assert!(h.starts_with("Received: from client.test??X-Evil:?1 (unknown [192.0.2.1])\r\n\tby mx.example.test"));
        assert!(h.contains("with ESMTPSA id 0000000000000ABC"));
        assert!(h.contains("for <ann@example.test>;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n"));
        assert_eq!(h.matches("\r\n").count(), h.matches("\r\n\t").count() + 1);
    }
}
