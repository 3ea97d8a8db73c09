//! EHLO/HELO, MAIL and RCPT, with the policy checks that belong to each stage.

use smtp_proto::{MailFrom, RcptTo};

use super::{Flow, Session, Transaction};
use crate::directory::RecipientStatus;
use crate::inbound::{SenderDomain, spf_failed};
use crate::policy::{Stage, Verdict, list_verdict};
use crate::reply::{Reply, canned};

impl Session {
    /// EHLO (RFC 5321 §4.1.1.1) and HELO. Either resets the transaction.
    pub(super) fn ehlo(&mut self, host: String, esmtp: bool) -> Flow {
        self.tx = None;
        self.helo = Some(host);
        self.esmtp = esmtp;
        let hostname = self.hostname().to_string();
        if !esmtp {
            self.reply(&Reply::new(250, [2, 0, 0], hostname));
            return Ok(());
        }
        let profile = &self.profile;
        let mut lines = vec![
            format!("{hostname} Hello [{}]", self.peer.ip()),
            "PIPELINING".to_string(),
            format!("SIZE {}", profile.max_message_size),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
            "SMTPUTF8".to_string(),
        ];
        if self.tls.is_none() && self.shared.tls.is_some() {
            lines.push("STARTTLS".into());
        }
        if self.account.is_none() && (self.tls.is_some() || profile.allow_auth_without_tls) {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            self.out.extend_from_slice(if i == last { b"250 " } else { b"250-" });
            crate::reply::push_sanitised(&mut self.out, line);
            self.out.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    /// MAIL FROM (RFC 5321 §4.1.1.2) with the sender checks of the profile (AUTH and sender match, lists, sender policy, SPF).
    pub(super) async fn mail(&mut self, from: MailFrom<String>) -> Flow {
        if self.helo.is_none() {
            return self.protocol_error(canned::bad_sequence("Send EHLO or HELO first"));
        }
        if self.tx.is_some() {
            return self.protocol_error(canned::bad_sequence("Nested MAIL command"));
        }
        // A new transaction runs under the profile in force now (lists, limits, checks).
        self.profile = self.shared.profile();
        if self.kind.requires_auth() && self.account.is_none() {
            self.refuse(&canned::auth_required(), "auth_required");
            return Ok(());
        }
        let profile = self.profile.clone();
        let ip = self.peer.ip();
        let sender = from.address.trim().to_string();
        if from.size > profile.max_message_size {
            self.refuse(&canned::message_too_big(), "message_too_big");
            return Ok(());
        }
        if !sender.is_empty() && profile.sender.reject_malformed && !well_formed(&sender) {
            self.refuse(&Reply::new(553, [5, 1, 7], "Malformed sender address"), "sender_malformed");
            return Ok(());
        }
        let mut tx = Transaction { mail_from: sender.clone(), size_hint: from.size, ..Default::default() };
        tx.allowed = self.session_allowed;
        tx.discard = self.session_discard.clone();

        if !tx.allowed {
            match list_verdict(&profile.lists, Stage::Mail, ip, &sender) {
                Verdict::Reject { reply, rule } => {
                    self.refuse(&reply, &rule);
                    return Ok(());
                }
                Verdict::Discard { rule } => tx.discard = Some(rule),
                Verdict::Allow { .. } => tx.allowed = true,
                Verdict::Continue => {}
            }
        }
        if !self.shared.limits.message(ip, profile.connection.messages_per_ip) {
            let reply = Reply::new(451, [4, 7, 1], "Too many messages from your address, try again later");
            self.refuse(&reply, "message_rate");
            return Ok(());
        }

        let domain = sender.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
        let directory = self.shared.directory.clone();
        if !domain.is_empty() {
            match directory.is_local_domain(&domain).await {
                Ok(local) => tx.sender_is_local = local,
                Err(e) => {
                    self.directory_failed(&e);
                    return Ok(());
                }
            }
        }

        if let Some(account) = self.account.clone() {
            if profile.require_sender_match && !sender.is_empty() {
                let owned = match directory.sender_addresses(&account).await {
                    Ok(addresses) => addresses.iter().any(|a| a.eq_ignore_ascii_case(&sender)),
                    Err(e) => {
                        self.directory_failed(&e);
                        return Ok(());
                    }
                };
                if !owned {
                    let reply = Reply::new(
                        553,
                        [5, 7, 1],
                        format!("Sender address <{sender}> is not owned by user {}", account.address),
                    );
                    self.refuse(&reply, "sender_not_owned");
                    return Ok(());
                }
            }
        } else if !tx.allowed {
            if tx.sender_is_local && profile.sender.reject_unauthenticated_local_domain {
                let reply =
                    Reply::new(550, [5, 7, 1], format!("Authentication required to send as a user of {domain}"));
                self.refuse(&reply, "sender_local_unauthenticated");
                return Ok(());
            }
            if let Some(verifier) = self.shared.verifier.clone() {
                if profile.sender.reject_domain_without_mx_or_a && !domain.is_empty() {
                    let refusal = match verifier.sender_domain(&domain).await {
                        SenderDomain::Reachable => None,
                        SenderDomain::Unreachable => {
                            Some(Reply::new(550, [5, 1, 8], format!("Sender domain {domain} has no MX or A record")))
                        }
                        SenderDomain::NullMx => Some(Reply::new(
                            550,
                            [5, 7, 27],
                            format!("Sender domain {domain} does not accept mail (null MX)"),
                        )),
                        SenderDomain::TempFail => Some(Reply::new(
                            451,
                            [4, 4, 3],
                            format!("Cannot check sender domain {domain} now, try again later"),
                        )),
                    };
                    if let Some(reply) = refusal {
                        self.refuse(&reply, "sender_domain_unresolvable");
                        return Ok(());
                    }
                }
                if profile.inbound_auth.verify {
                    let helo = self.helo.clone().unwrap_or_default();
                    let spf = verifier.spf(ip, &helo, &profile.hostname, &sender).await;
                    if profile.inbound_auth.reject_spf_fail && spf_failed(&spf) {
                        let reply = Reply::new(550, [5, 7, 23], format!("SPF check failed for {}", spf.domain()));
                        self.refuse(&reply, "spf_fail");
                        return Ok(());
                    }
                    tx.spf = Some(spf);
                }
            }
        }

        self.tx = Some(tx);
        if !self.tx.as_ref().is_some_and(|t| t.allowed) {
            match self.ask_policy(Stage::Mail, None, false, None).await {
                Verdict::Reject { reply, rule } => {
                    self.tx = None;
                    self.refuse(&reply, &rule);
                    return Ok(());
                }
                Verdict::Discard { rule } => set(&mut self.tx, |t| t.discard = Some(rule)),
                Verdict::Allow { .. } => set(&mut self.tx, |t| t.allowed = true),
                Verdict::Continue => {}
            }
        }
        self.reply(&Reply::new(250, [2, 1, 0], "Sender OK"));
        Ok(())
    }

    /// RCPT TO (RFC 5321 §4.1.1.3): recipient limit, relaying, the directory, the policy.
    pub(super) async fn rcpt(&mut self, to: RcptTo<String>) -> Flow {
        self.probing_delay().await?;
        let Some(tx) = self.tx.as_ref() else {
            return self.protocol_error(canned::bad_sequence("Need MAIL command first"));
        };
        let (count, size_hint, allowed) = (tx.rcpt_accepted, tx.size_hint, tx.allowed);
        if count >= self.profile.max_recipients {
            self.refuse(&canned::too_many_recipients(), "too_many_recipients");
            return Ok(());
        }
        let rcpt = to.address.trim().to_string();
        let Some((_, domain)) = rcpt.rsplit_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty()) else {
            return self.protocol_error(Reply::new(553, [5, 1, 3], "Recipient address must be user@domain"));
        };
        let directory = self.shared.directory.clone();
        let local = match directory.is_local_domain(domain).await {
            Ok(local) => local,
            Err(e) => {
                self.directory_failed(&e);
                return Ok(());
            }
        };
        if !local && self.account.is_none() {
            self.refuse(&Reply::new(554, [5, 7, 1], format!("Relay access denied for <{rcpt}>")), "relay_denied");
            return Ok(());
        }
        if local {
            match directory.resolve_recipient(&rcpt, size_hint).await {
                Ok(RecipientStatus::Accept) => {}
                Ok(RecipientStatus::Unknown) => {
                    let reply =
                        Reply::new(550, [5, 1, 1], format!("Recipient address rejected: <{rcpt}>: user unknown"));
                    self.refuse(&reply, "unknown_recipient");
                    return self.count_unknown_recipient();
                }
                Ok(RecipientStatus::OverQuota) => {
                    let reply = Reply::new(452, [4, 2, 2], format!("Mailbox <{rcpt}> is full"));
                    self.refuse(&reply, "over_quota");
                    return Ok(());
                }
                Ok(RecipientStatus::TooLarge { limit }) => {
                    self.refuse(&canned::too_big_for(&rcpt, limit), "recipient_size_limit");
                    return Ok(());
                }
                Err(e) => {
                    self.directory_failed(&e);
                    return Ok(());
                }
            }
        }
        if !allowed {
            match self.ask_policy(Stage::Rcpt, Some(&rcpt), local, None).await {
                Verdict::Reject { reply, rule } => {
                    self.refuse(&reply, &rule);
                    return Ok(());
                }
                Verdict::Discard { rule } => {
                    self.shared.counters.refused(&format!("discard_recipient:{rule}"));
                    set(&mut self.tx, |t| {
                        t.discarded_recipients += 1;
                        t.rcpt_accepted += 1;
                    });
                    let reply = Reply::new(250, [2, 1, 5], "Recipient OK");
                    let sender = self.tx.as_ref().map(|t| t.mail_from.clone());
                    self.record_discard(sender.as_deref(), &rule, &reply, vec![rcpt]);
                    self.reply(&reply);
                    return Ok(());
                }
                Verdict::Allow { .. } | Verdict::Continue => {}
            }
        }
        set(&mut self.tx, |t| {
            t.rcpt_accepted += 1;
            if !t.recipients.iter().any(|r| r.eq_ignore_ascii_case(&rcpt)) {
                t.recipients.push(rcpt);
            }
        });
        self.reply(&Reply::new(250, [2, 1, 5], "Recipient OK"));
        Ok(())
    }
}

fn set(tx: &mut Option<Transaction>, f: impl FnOnce(&mut Transaction)) {
    if let Some(t) = tx.as_mut() {
        f(t);
    }
}

/// A sender address an admin would call well-formed: `local@domain` with a local part of
/// at most 64 octets and a domain of dot-separated labels (or an address literal).
pub(crate) fn well_formed(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.len() > 253 {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let literal = literal.strip_prefix("IPv6:").unwrap_or(literal);
        return literal.parse::<std::net::IpAddr>().is_ok();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn sender_syntax() {
        for ok in [
            "a@example.test",
            "first.last+tag@sub.example.test",
            "x@[192.0.2.1]",
            "x@[IPv6:2001:db8::1]",
            "ü@bücher.de",
        ] {
            assert!(well_formed(ok), "{ok}");
        }
        for bad in [
            "user",
            "@example.test",
            "a@localhost",
            "a@-x.test",
            "a@exa..mple.test",
            "a@[300.1.1.1]",
            "a@exa_mple.test",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
