//! `explain_policy`: loads what the pure [`policy::decide`] needs from the engine — what
//! each address is, the effective settings of the accounts involved, mail groups' send
//! permissions — and calls it. [`Engine::decide_policy`] is the same loading for the mail
//! services (the SMTP service asks it at RCPT), so server and explainer cannot disagree.

use std::collections::BTreeMap;

use super::settings::{account_id, effective};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::{AccountStatus, Page, SendPermission};
use crate::validate;
use postdesk_contract::policy::{
    self, AccountFacts, ClientProtocol, Envelope, PolicyDecision, PolicyExplanation, PolicyInput, RecipientFacts,
};
use postdesk_contract::settings::EffectiveSettings;

/// Most recipients one explanation takes.
const MAX_RECIPIENTS: usize = 100;

/// Effective settings, loaded once per account for one explanation.
struct Consulted<'c> {
    conn: &'c mut Conn,
    seen: BTreeMap<String, EffectiveSettings>,
}

impl Consulted<'_> {
    async fn account(&mut self, address: &str) -> Result<AccountFacts> {
        if !self.seen.contains_key(address) {
            let id = account_id(self.conn, address).await?;
            let e = effective(self.conn, id).await?;
            self.seen.insert(address.to_string(), e);
        }
        Ok(AccountFacts { address: address.to_string(), settings: self.seen[address].values.values() })
    }

    /// An alias or group of ours forwarding automatically: it has no settings of its own,
    /// so its domain's defaults apply (the `auto_forward` and send restrictions an admin
    /// sets for the domain).
    async fn forwarder(&mut self, address: &str) -> Result<AccountFacts> {
        if !self.seen.contains_key(address) {
            let e = super::settings::domain_effective(self.conn, domain_of(address), address).await?;
            self.seen.insert(address.to_string(), e);
        }
        Ok(AccountFacts { address: address.to_string(), settings: self.seen[address].values.values() })
    }
}

async fn status(conn: &mut Conn, account: &str) -> Result<AccountStatus> {
    let s = sql::policy::account_status(conn, account).await?;
    Ok(AccountStatus::parse(&s).unwrap_or(AccountStatus::Disabled))
}

fn canonical(field: &str, input: &str) -> Result<String> {
    validate::address(input).map(|a| a.full()).map_err(|e| Error {
        message: format!("{} ('{}')", e.message, input.trim()),
        field: Some(field.into()),
        ..e
    })
}

pub(crate) async fn explain(b: &EngineBackend, p: ExplainPolicy) -> Result<PolicyExplanation> {
    b.caller.require_page(Page::Policy)?;
    let sender = if p.sender.trim().is_empty() || p.sender.trim() == "<>" {
        String::new()
    } else {
        canonical("sender", &p.sender)?
    };
    if p.recipients.is_empty() || p.recipients.len() > MAX_RECIPIENTS {
        return Err(Error::validation(format!("give 1 to {MAX_RECIPIENTS} recipients")).with_field("recipients"));
    }
    let recipients: Vec<String> =
        p.recipients.iter().map(|r| canonical("recipients", r)).collect::<Result<Vec<_>>>()?;
    let authenticated = p
        .authenticated_user
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|a| canonical("authenticated_user", a))
        .transpose()?;

    let ours = {
        let mut conn = b.engine.read().await?;
        our_domains(&mut conn, std::iter::once(&sender).chain(&recipients).chain(authenticated.iter())).await?
    };
    // Every domain of ours the message touches must be within the caller's scope: the
    // answer reveals who exists there and how they are configured.
    for (d, local) in &ours {
        if *local {
            b.caller.require(Page::Policy, Some(d))?;
        }
    }
    let sender_ours = !sender.is_empty() && ours.get(domain_of(&sender)).copied().unwrap_or(false);
    let protocol = p.protocol.unwrap_or(if sender_ours { ClientProtocol::Smtp } else { ClientProtocol::Mx });
    let authenticated = match authenticated {
        Some(a) => Some(a),
        None if protocol != ClientProtocol::Mx && sender_ours => Some(sender.clone()),
        None => None,
    };
    let envelope = Envelope {
        sender,
        recipients,
        authenticated_user: authenticated,
        protocol,
        auto_forward: p.auto_forward.unwrap_or(false),
    };
    let (decision, accounts) = decide_loaded(&b.engine, &envelope).await?;
    let rules = super::rules::fired(&b.engine, &envelope, time::OffsetDateTime::now_utc().unix_timestamp()).await?;
    Ok(PolicyExplanation { envelope, decision, accounts: accounts.into_values().collect(), rules })
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether each domain of `addresses` is one of ours.
async fn our_domains<'a>(
    conn: &mut Conn,
    addresses: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, bool>> {
    let mut ours = BTreeMap::new();
    for address in addresses {
        let d = domain_of(address);
        if d.is_empty() || ours.contains_key(d) {
            continue;
        }
        let local = sql::policy::is_ours(conn, d).await?;
        ours.insert(d.to_string(), local);
    }
    Ok(ours)
}

impl Engine {
    /// The delivery-policy decision for `envelope`, with the effective settings of the
    /// accounts consulted (so a refusal can name the level its setting comes from). The
    /// facts are loaded exactly as `explain_policy` loads them: the mail services call
    /// this, so server and explainer cannot disagree. No caller scope: for the services
    /// only. Addresses are canonicalised here; ones that are not valid addresses are taken
    /// as they are (lower-cased), so they are never ours.
    pub async fn decide_policy(&self, envelope: Envelope) -> Result<PolicyExplanation> {
        let loose = |a: &str| validate::address(a).map(|a| a.full()).unwrap_or_else(|_| a.trim().to_lowercase());
        let envelope = Envelope {
            sender: if envelope.sender.trim().is_empty() { String::new() } else { loose(&envelope.sender) },
            recipients: envelope.recipients.iter().map(|r| loose(r)).collect(),
            authenticated_user: envelope.authenticated_user.as_deref().map(loose),
            ..envelope
        };
        let (decision, accounts) = decide_loaded(self, &envelope).await?;
        Ok(PolicyExplanation { envelope, decision, accounts: accounts.into_values().collect(), rules: Vec::new() })
    }
}

/// Loads what [`policy::decide`] needs for `envelope` (canonical addresses, defaults
/// filled in) and decides. Also returns the effective settings of every account consulted.
async fn decide_loaded(
    engine: &Engine,
    envelope: &Envelope,
) -> Result<(PolicyDecision, BTreeMap<String, EffectiveSettings>)> {
    let mut conn = engine.read().await?;
    let ours = our_domains(
        &mut conn,
        std::iter::once(&envelope.sender).chain(&envelope.recipients).chain(envelope.authenticated_user.iter()),
    )
    .await?;
    let local = |a: &str| ours.get(domain_of(a)).copied().unwrap_or(false);
    // Groups and aliases: the mailboxes they reach; unknown addresses of ours: the pickup
    // rule or catch-all mailbox that takes them — both as the address resolver finds them.
    // The resolver takes its own connection, so ours is let go meanwhile.
    let mut expanding = Vec::new();
    for rcpt in envelope.recipients.iter().filter(|r| local(r)) {
        match sql::policy::kind_of(&mut conn, rcpt).await? {
            Some((kind, None)) if kind == "group" || kind == "alias" => expanding.push(rcpt.clone()),
            None => expanding.push(rcpt.clone()),
            _ => {}
        }
    }
    drop(conn);
    let mut expansions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Return addresses of forwarded mail (SRS): they lead back to a sender elsewhere.
    let mut returns = std::collections::BTreeSet::new();
    for rcpt in expanding {
        match engine.resolve_recipient(&rcpt).await {
            Ok(resolution) => {
                if resolution.kind == crate::model::AddressKind::SrsReturn {
                    returns.insert(rcpt.clone());
                }
                expansions.insert(rcpt, resolution.mailboxes);
            }
            Err(e) if e.code == crate::ErrorCode::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let mut conn = engine.read().await?;
    let mut facts = Consulted { conn: &mut conn, seen: BTreeMap::new() };

    let authenticated_facts = match &envelope.authenticated_user {
        None => None,
        Some(a) => {
            let owner = match sql::policy::kind_of(facts.conn, a).await? {
                Some((_, Some(account))) => account,
                _ => {
                    return Err(Error::validation(format!("{a} is not an account of this backend"))
                        .with_field("authenticated_user"));
                }
            };
            Some(facts.account(&owner).await?)
        }
    };
    let sender_facts = match sql::policy::kind_of(facts.conn, &envelope.sender).await? {
        Some((_, Some(account))) if !envelope.sender.is_empty() => Some(facts.account(&account).await?),
        Some((_, None)) if envelope.auto_forward => Some(facts.forwarder(&envelope.sender).await?),
        _ => None,
    };
    let mut recipient_facts = Vec::with_capacity(envelope.recipients.len());
    for rcpt in &envelope.recipients {
        recipient_facts.push(if !local(rcpt) {
            RecipientFacts::External
        } else if returns.contains(rcpt) {
            // Passed on to the original sender, like an alias with an external target.
            RecipientFacts::Alias { mailboxes: Vec::new() }
        } else {
            recipient(&mut facts, rcpt, expansions.get(rcpt).map(Vec::as_slice)).await?
        });
    }
    let input = PolicyInput {
        envelope: envelope.clone(),
        authenticated: authenticated_facts,
        sender: sender_facts,
        recipients: recipient_facts,
    };
    let decision = policy::decide(&input);
    Ok((decision, facts.seen))
}

/// What a recipient address of one of our domains is. `mailboxes`: what the resolver
/// found for groups, aliases and addresses taken by a pickup rule or catch-all (`None`
/// when it found nothing).
async fn recipient(facts: &mut Consulted<'_>, rcpt: &str, mailboxes: Option<&[String]>) -> Result<RecipientFacts> {
    let Some((kind, account)) = sql::policy::kind_of(facts.conn, rcpt).await? else {
        // Not an address of ours: a pickup rule or the catch-all may deliver it to a
        // mailbox, whose receive settings then apply.
        return Ok(match mailboxes {
            None => RecipientFacts::Unknown,
            Some([target]) => RecipientFacts::Account { account: facts.account(target).await? },
            Some(_) => RecipientFacts::Disabled,
        });
    };
    if let Some(account) = account {
        return Ok(match status(facts.conn, &account).await? {
            AccountStatus::Active | AccountStatus::Locked => {
                RecipientFacts::Account { account: facts.account(&account).await? }
            }
            AccountStatus::Disabled | AccountStatus::Deleted => RecipientFacts::Disabled,
        });
    }
    let mailboxes = mailboxes.unwrap_or_default();
    let mut accounts = Vec::with_capacity(mailboxes.len());
    for m in mailboxes {
        accounts.push(facts.account(m).await?);
    }
    if kind == "group" {
        let (permission, members, allowed) = sql::policy::group(facts.conn, rcpt).await?;
        let mut members: Vec<String> = serde_json::from_str(&members)?;
        members.extend(sql::addresses::department_members(facts.conn, rcpt).await?);
        return Ok(RecipientFacts::Group {
            send_permission: SendPermission::parse(&permission).unwrap_or(SendPermission::SameDomain),
            members,
            allowed_senders: serde_json::from_str(&allowed)?,
            mailboxes: accounts,
        });
    }
    Ok(RecipientFacts::Alias { mailboxes: accounts })
}
