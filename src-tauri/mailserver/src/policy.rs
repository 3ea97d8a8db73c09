//! [`Policy`] over the backend's delivery-policy decision.

use async_trait::async_trait;
use std::sync::Arc;

use postdesk_contract::mail::MailBackend;
use postdesk_contract::policy::{ClientProtocol, Envelope, PolicyExplanation, PolicyRule, RecipientDecision};
use postdesk_smtp::{ListenerKind, Policy, PolicyRequest, Stage, Verdict};

use crate::Lookups;
use crate::outbound::Clock;

/// Asks the engine's policy decision at RCPT, once per recipient, with the envelope as
/// known then: the sender, this recipient, the authenticated account and the protocol
/// (a session that authenticated is a mail client submitting, `smtp`; otherwise mail from
/// another server, `mx`). The other stages are left to the SMTP profile's built-in checks.
///
/// For an authenticated account sending to another domain it also applies the daily send
/// quota: at RCPT, refused once a limit is reached; at the end of DATA, refused when the
/// message would pass the size limit, else counted (`Directory::daily_send`).
#[derive(Clone)]
pub struct BackendPolicy {
    lookups: Lookups,
    clock: Clock,
}

impl std::fmt::Debug for BackendPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendPolicy").finish_non_exhaustive()
    }
}

impl BackendPolicy {
    /// A policy over `backend`.
    pub fn new(backend: Arc<dyn MailBackend>) -> BackendPolicy {
        BackendPolicy::with_lookups(Lookups::new(backend))
    }

    /// A policy sharing `lookups` (and their cache) with the rest of the mail server.
    pub fn with_lookups(lookups: Lookups) -> BackendPolicy {
        BackendPolicy { lookups, clock: Clock::system() }
    }

    /// The same with `clock` for the day of the daily send quota (tests move it).
    pub fn with_clock(mut self, clock: Clock) -> BackendPolicy {
        self.clock = clock;
        self
    }

    /// The daily send quota's refusal for `account`, if any (a message of `bytes`, or at RCPT any).
    async fn quota(&self, account: &str, bytes: Option<u64>) -> Verdict {
        match self.lookups.backend().daily_send(account, bytes, self.clock.now()).await {
            Ok(None) => Verdict::Continue,
            Ok(Some(reason)) => Verdict::reject("daily_send_quota", 550, [5, 4, 5], reason),
            Err(e) => {
                tracing::warn!("daily send quota check failed: {}", e.message);
                Verdict::reject("policy_unavailable", 451, [4, 3, 0], "Temporary policy failure, try again later")
            }
        }
    }
}

#[async_trait]
impl Policy for BackendPolicy {
    async fn check(&self, request: &PolicyRequest<'_>) -> Verdict {
        if let (Stage::Data, Some(account), Some(message)) = (request.stage, request.account, request.message) {
            let mut outside = false;
            for r in request.recipients {
                let domain = r.rsplit_once('@').map_or("", |(_, d)| d);
                match self.lookups.is_local_domain(domain).await {
                    Ok(local) => outside |= !local,
                    Err(e) => {
                        tracing::warn!("policy decision failed: {}", e.message);
                        return Verdict::reject(
                            "policy_unavailable",
                            451,
                            [4, 3, 0],
                            "Temporary policy failure, try again later",
                        );
                    }
                }
            }
            return if outside {
                self.quota(&account.address, Some(message.len() as u64)).await
            } else {
                Verdict::Continue
            };
        }
        let (Stage::Rcpt, Some(rcpt)) = (request.stage, request.rcpt_to) else {
            return Verdict::Continue;
        };
        let protocol = if request.account.is_some() || request.listener != ListenerKind::Mx {
            ClientProtocol::Smtp
        } else {
            ClientProtocol::Mx
        };
        let envelope = Envelope {
            sender: request.mail_from.unwrap_or_default().to_string(),
            recipients: vec![rcpt.to_string()],
            authenticated_user: request.account.map(|a| a.address.clone()),
            protocol,
            auto_forward: false,
        };
        match self.lookups.decide_policy(envelope).await {
            Ok(explanation) => match (verdict(&explanation), request.account) {
                (Verdict::Continue, Some(account)) if !request.recipient_is_local => {
                    self.quota(&account.address, None).await
                }
                (v, _) => v,
            },
            Err(e) => {
                tracing::warn!("policy decision failed: {}", e.message);
                Verdict::reject("policy_unavailable", 451, [4, 3, 0], "Temporary policy failure, try again later")
            }
        }
    }
}

/// The rule's name as on the wire (`external_send`), used for the counters.
pub(crate) fn rule_name(rule: PolicyRule) -> String {
    serde_json::to_value(rule).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{rule:?}"))
}

/// `(setting, where it is set)` for a decision decided by a setting.
fn deciding(explanation: &PolicyExplanation, d: &RecipientDecision) -> Option<(String, String, String)> {
    let setting = d.setting.as_ref()?;
    let source = explanation
        .accounts
        .iter()
        .find(|a| a.address == setting.account)
        .map(|a| a.values.source(setting.key).label.to_string())
        .unwrap_or_else(|| "built-in default".into());
    Some((setting.account.clone(), setting.key.as_str().to_string(), source))
}

/// Maps the decision for the one recipient asked about to a verdict.
pub(crate) fn verdict(explanation: &PolicyExplanation) -> Verdict {
    let Some(d) = explanation.decision.recipients.first() else {
        return Verdict::Continue;
    };
    if d.allowed {
        return Verdict::Continue;
    }
    let rule = rule_name(d.rule);
    let named = deciding(explanation, d);
    let because = |what: &str| match &named {
        Some((account, key, source)) => format!("{what} for {account} ({key}, {source})"),
        None => format!("{what} ({rule})"),
    };
    let rcpt = &d.recipient;
    let (code, enhanced, text) = match d.rule {
        PolicyRule::ExternalSend => (550, [5, 7, 1], because("external send is not allowed")),
        PolicyRule::ExternalReceive => (550, [5, 7, 1], because("external receive is not allowed")),
        PolicyRule::ClientProtocol => (550, [5, 7, 1], because("SMTP is switched off")),
        PolicyRule::AutoForward => (550, [5, 7, 1], because("automatic forwarding is not allowed")),
        PolicyRule::GroupSendPermission => (550, [5, 7, 1], format!("{} ({rule})", d.reason)),
        PolicyRule::AuthenticationRequired => (530, [5, 7, 0], format!("Authentication required ({rule})")),
        PolicyRule::UnknownRecipient => (550, [5, 1, 1], format!("Recipient address rejected: <{rcpt}>: user unknown")),
        PolicyRule::RecipientDisabled => (550, [5, 2, 1], format!("Mailbox <{rcpt}> is disabled ({rule})")),
        PolicyRule::Relay => (554, [5, 7, 1], format!("Relay access denied for <{rcpt}> ({rule})")),
        _ => (550, [5, 7, 1], format!("{} ({rule})", d.reason)),
    };
    Verdict::reject(rule, code, enhanced, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_the_wire_names() {
        assert_eq!(rule_name(PolicyRule::ExternalSend), "external_send");
        assert_eq!(rule_name(PolicyRule::GroupSendPermission), "group_send_permission");
    }
}
