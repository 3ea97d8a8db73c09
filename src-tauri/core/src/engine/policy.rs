//! `explain_policy`: loads what the pure [`policy::decide`] needs from the engine — what
//! each address is, the effective settings of the accounts involved, mail groups' send
//! permissions — and calls it. The SMTP service will build the same [`PolicyInput`].

use std::collections::BTreeMap;

use sqlx::SqliteConnection;

use super::LocalBackend;
use super::settings::{account_id, effective};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::{AccountStatus, Page, SendPermission};
use crate::policy::{self, AccountFacts, ClientProtocol, Envelope, PolicyExplanation, PolicyInput, RecipientFacts};
use crate::settings::EffectiveSettings;
use crate::validate;

/// Most recipients one explanation takes.
const MAX_RECIPIENTS: usize = 100;

/// Effective settings, loaded once per account for one explanation.
struct Consulted<'c> {
    conn: &'c mut SqliteConnection,
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
}

/// What the address is, when it belongs to one of our domains: `(kind, owning account)`.
async fn kind_of(conn: &mut SqliteConnection, address: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT x.kind, coalesce(a.address, (SELECT o.address FROM account_aliases y JOIN accounts o ON o.id = y.account_id
                                             WHERE y.address = x.address))
         FROM addresses x LEFT JOIN accounts a ON a.address = x.address WHERE x.address = ?",
    )
    .bind(address)
    .fetch_optional(conn)
    .await?)
}

async fn status(conn: &mut SqliteConnection, account: &str) -> Result<AccountStatus> {
    let s: String =
        sqlx::query_scalar("SELECT status FROM accounts WHERE address = ?").bind(account).fetch_one(conn).await?;
    Ok(AccountStatus::parse(&s).unwrap_or(AccountStatus::Disabled))
}

async fn is_ours(conn: &mut SqliteConnection, domain: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM domains WHERE name = ?").bind(domain).fetch_one(conn).await?;
    Ok(n > 0)
}

fn canonical(field: &str, input: &str) -> Result<String> {
    validate::address(input).map(|a| a.full()).map_err(|e| Error {
        message: format!("{} ('{}')", e.message, input.trim()),
        field: Some(field.into()),
        ..e
    })
}

pub(crate) async fn explain(b: &LocalBackend, p: ExplainPolicy) -> Result<PolicyExplanation> {
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

    let mut conn = b.engine.read().await?;
    // Every domain of ours the message touches must be within the caller's scope: the
    // answer reveals who exists there and how they are configured.
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let mut ours = BTreeMap::new();
    for address in std::iter::once(&sender).chain(&recipients).chain(authenticated.iter()) {
        let d = domain(address);
        if d.is_empty() || ours.contains_key(&d) {
            continue;
        }
        let local = is_ours(&mut conn, &d).await?;
        ours.insert(d, local);
    }
    for (d, local) in &ours {
        if *local {
            b.caller.require(Page::Policy, Some(d), false)?;
        }
    }
    let local = |a: &str| ours.get(&domain(a)).copied().unwrap_or(false);

    let sender_ours = !sender.is_empty() && local(&sender);
    let protocol = p.protocol.unwrap_or(if sender_ours { ClientProtocol::Smtp } else { ClientProtocol::Mx });
    let authenticated = match authenticated {
        Some(a) => Some(a),
        None if protocol != ClientProtocol::Mx && sender_ours => Some(sender.clone()),
        None => None,
    };
    // Groups and aliases: the mailboxes they reach, as the address resolver finds them
    // (acting as the owner: the caller's scope was checked for these domains above). The
    // resolver takes its own connection, so ours is let go meanwhile.
    let mut expansions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut expanding = Vec::new();
    for rcpt in recipients.iter().filter(|r| local(r)) {
        if let Some((kind, None)) = kind_of(&mut conn, rcpt).await?
            && (kind == "group" || kind == "alias")
        {
            expanding.push(rcpt.clone());
        }
    }
    drop(conn);
    let owner = b.engine.local_backend();
    for rcpt in expanding {
        let mailboxes = owner.resolve_address(ResolveAddress { address: rcpt.clone() }).await?.mailboxes;
        expansions.insert(rcpt, mailboxes);
    }
    let mut conn = b.engine.read().await?;
    let mut facts = Consulted { conn: &mut conn, seen: BTreeMap::new() };

    let authenticated_facts = match &authenticated {
        None => None,
        Some(a) => {
            let owner = match kind_of(facts.conn, a).await? {
                Some((_, Some(account))) => account,
                _ => {
                    return Err(Error::validation(format!("{a} is not an account of this backend"))
                        .with_field("authenticated_user"));
                }
            };
            Some(facts.account(&owner).await?)
        }
    };
    let sender_facts = match kind_of(facts.conn, &sender).await? {
        Some((_, Some(account))) if !sender.is_empty() => Some(facts.account(&account).await?),
        _ => None,
    };
    let mut recipient_facts = Vec::with_capacity(recipients.len());
    for rcpt in &recipients {
        recipient_facts.push(if !local(rcpt) {
            RecipientFacts::External
        } else {
            recipient(&mut facts, rcpt, expansions.get(rcpt).map(Vec::as_slice).unwrap_or_default()).await?
        });
    }
    let envelope = Envelope {
        sender,
        recipients,
        authenticated_user: authenticated,
        protocol,
        auto_forward: p.auto_forward.unwrap_or(false),
    };
    let input = PolicyInput {
        envelope: envelope.clone(),
        authenticated: authenticated_facts,
        sender: sender_facts,
        recipients: recipient_facts,
    };
    let decision = policy::decide(&input);
    Ok(PolicyExplanation { envelope, decision, accounts: facts.seen.into_values().collect() })
}

/// What a recipient address of one of our domains is.
async fn recipient(facts: &mut Consulted<'_>, rcpt: &str, mailboxes: &[String]) -> Result<RecipientFacts> {
    let Some((kind, account)) = kind_of(facts.conn, rcpt).await? else {
        return Ok(RecipientFacts::Unknown);
    };
    if let Some(account) = account {
        return Ok(match status(facts.conn, &account).await? {
            AccountStatus::Active | AccountStatus::Locked => {
                RecipientFacts::Account { account: facts.account(&account).await? }
            }
            AccountStatus::Disabled | AccountStatus::Deleted => RecipientFacts::Disabled,
        });
    }
    let mut accounts = Vec::with_capacity(mailboxes.len());
    for m in mailboxes {
        accounts.push(facts.account(m).await?);
    }
    if kind == "group" {
        let (permission, members, allowed): (String, String, String) = sqlx::query_as(
            "SELECT g.send_permission,
                (SELECT json_group_array(member) FROM group_members WHERE group_id = g.id),
                (SELECT json_group_array(sender) FROM group_allowed_senders WHERE group_id = g.id)
             FROM mail_groups g WHERE g.address = ?",
        )
        .bind(rcpt)
        .fetch_one(&mut *facts.conn)
        .await?;
        return Ok(RecipientFacts::Group {
            send_permission: SendPermission::parse(&permission).unwrap_or(SendPermission::SameDomain),
            members: serde_json::from_str(&members)?,
            allowed_senders: serde_json::from_str(&allowed)?,
            mailboxes: accounts,
        });
    }
    Ok(RecipientFacts::Alias { mailboxes: accounts })
}
