//! Delivery status notifications (RFC 3464): a `multipart/report;
//! report-type=delivery-status` (RFC 6522) with a human part, the machine-readable
//! `message/delivery-status` part (one per-recipient block each: Final-Recipient, Action,
//! Status, Remote-MTA, Diagnostic-Code) and the original's header (`text/rfc822-headers`).
//! Sent from `MAILER-DAEMON` with the null envelope sender, so a DSN never causes another.

use mail_builder::MessageBuilder;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;

/// Failed (bounce) or still trying (delay notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Given up: the message will not be delivered to these recipients.
    Failed,
    /// Still trying: a delay notice.
    Delayed,
}

/// One recipient in a DSN.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The address.
    pub recipient: String,
    /// The last reply (or why there was none).
    pub reply: String,
    /// The host that gave it, if one did.
    pub remote: Option<String>,
}

/// The enhanced status code (RFC 3463) of a reply, or a generic one for the action.
fn status_of(reply: &str, action: Action) -> String {
    let mut words = reply.split_whitespace();
    let _code = words.next();
    match words.next() {
        Some(esc) if esc.split('.').count() == 3 && esc.split('.').all(|p| p.parse::<u16>().is_ok()) => esc.into(),
        _ if action == Action::Delayed => "4.0.0".into(),
        _ => "5.0.0".into(),
    }
}

/// Builds a DSN to `to` about the message whose header is `original_header`.
pub fn build(reporting_mta: &str, to: &str, action: Action, recipients: &[Reported], original: &[u8]) -> Vec<u8> {
    let header_end = original.windows(4).position(|w| w == b"\r\n\r\n").map_or(original.len(), |p| p + 2);
    let header = String::from_utf8_lossy(&original[..header_end]).into_owned();
    let (subject, human) = match action {
        Action::Failed => (
            "Undelivered Mail Returned to Sender",
            format!(
                "This is the mail system at {reporting_mta}.\r\n\r\nYour message could not be delivered to \
                 the recipients below. The reply of the remote server is given for each.\r\n\r\n"
            ),
        ),
        Action::Delayed => (
            "Delayed Mail (still being retried)",
            format!(
                "This is the mail system at {reporting_mta}.\r\n\r\nYour message has not been delivered yet \
                 to the recipients below. Delivery is still being tried; you will be told if it fails. \
                 Nothing needs to be done now.\r\n\r\n"
            ),
        ),
    };
    let mut human = human;
    let mut status = format!("Reporting-MTA: dns; {reporting_mta}\r\n");
    for r in recipients {
        human.push_str(&format!("<{}>: {}\r\n", r.recipient, r.reply));
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: {}\r\nStatus: {}\r\n",
            r.recipient,
            if action == Action::Failed { "failed" } else { "delayed" },
            status_of(&r.reply, action),
        ));
        if let Some(remote) = &r.remote {
            status.push_str(&format!("Remote-MTA: dns; {remote}\r\n"));
        }
        if !r.reply.is_empty() {
            status.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", r.reply));
        }
    }
    let report = MimePart::new(
        mail_builder::headers::content_type::ContentType::new("multipart/report")
            .attribute("report-type", "delivery-status"),
        vec![
            MimePart::new("text/plain", human),
            MimePart::new(mail_builder::headers::content_type::ContentType::new("message/delivery-status"), status)
                .transfer_encoding("7bit"),
            MimePart::new(mail_builder::headers::content_type::ContentType::new("text/rfc822-headers"), header),
        ],
    );
    MessageBuilder::new()
        .from(("Mail Delivery System", format!("MAILER-DAEMON@{reporting_mta}").as_str()))
        .to(to)
        .subject(subject)
        .header("Auto-Submitted", Text::new("auto-replied"))
        .body(report)
        .write_to_vec()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    #[test]
    fn a_bounce_is_a_delivery_status_report() {
        let original = b"From: ann@example.com\r\nTo: x@remote.test\r\nSubject: plans\r\n\r\nsecret body\r\n";
        let failed = [Reported {
            recipient: "x@remote.test".into(),
            reply: "550 5.1.1 no such user".into(),
            remote: Some("mx.remote.test".into()),
        }];
        let dsn = build("mail.example.com", "ann@example.com", Action::Failed, &failed, original);
        let parsed = mail_parser::MessageParser::new().parse(&dsn).unwrap();
        let ct = parsed.root_part().content_type().unwrap();
        assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        let text = String::from_utf8_lossy(&dsn);
        assert!(text.contains("Action: failed\r\nStatus: 5.1.1\r\n"), "{text}");
        assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 no such user"), "{text}");
        assert!(text.contains("Subject: plans") && !text.contains("secret body"), "the header only");
        assert!(text.contains("Auto-Submitted: auto-replied"));
        let delayed = build("mail.example.com", "ann@example.com", Action::Delayed, &failed[..], original);
        assert!(String::from_utf8_lossy(&delayed).contains("Action: delayed"));
    }
}
