//! A user's own forwarding, set in the self-service portal (see
//! [`postdesk_contract::forwarding`]): checked and stored here, applied by the delivery task
//! of the mail services (`mailserver::delivery`), which judges every forwarded copy by the
//! policy with `auto_forward` set.

use std::collections::BTreeSet;

use postdesk_contract::forwarding::{Forwarding, MAX_FORWARD_TARGETS, OwnForwarding, SetForwarding};

use super::audit::{self, Change};
use super::{Engine, EngineBackend, sql};
use crate::api::*;
use crate::error::{Error, Result};
use crate::validate;

impl Engine {
    /// Whether the account at `address` may forward automatically (its effective
    /// `auto_forward` setting).
    async fn may_forward(&self, address: &str) -> Result<bool> {
        let effective =
            self.local_backend().get_effective_settings(GetEffectiveSettings { address: address.to_string() }).await?;
        Ok(effective.values.auto_forward.value)
    }

    /// The portal user's forwarding and whether it is allowed.
    pub(crate) async fn own_forwarding_of(&self, user: &PortalUser) -> Result<OwnForwarding> {
        let account_id = self.portal_account_id(user).await?;
        self.forwarding_of(account_id, &user.address).await
    }

    async fn forwarding_of(&self, account_id: i64, address: &str) -> Result<OwnForwarding> {
        let allowed = self.may_forward(address).await?;
        let stored = sql::forwards::get(&mut *self.read().await?, account_id).await?;
        let (targets, keep_copy) = stored.unwrap_or((Vec::new(), true));
        Ok(OwnForwarding { targets, keep_copy, allowed })
    }

    /// Sets the portal user's forwarding: at most [`MAX_FORWARD_TARGETS`] distinct valid
    /// addresses, not the mailbox itself, addresses of ours only when something receives
    /// there; refused (unless it ends the forwarding) where `auto_forward` is off. Audited
    /// as the user's.
    pub(crate) async fn set_own_forwarding_of(&self, user: &PortalUser, p: SetForwarding) -> Result<OwnForwarding> {
        let account_id = self.portal_account_id(user).await?;
        if p.targets.len() > MAX_FORWARD_TARGETS {
            return Err(
                Error::validation(format!("forward to at most {MAX_FORWARD_TARGETS} addresses")).with_field("targets")
            );
        }
        let mut targets = BTreeSet::new();
        for raw in p.targets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let address = validate::address(raw).map_err(|e| e.with_field("targets"))?;
            let full = address.full();
            if full == user.address {
                return Err(Error::validation("a mailbox cannot forward to itself").with_field("targets"));
            }
            if self.is_local_domain(&address.domain).await? && self.resolve_recipient(&full).await.is_err() {
                return Err(Error::validation(format!("nothing receives mail at {full} here")).with_field("targets"));
            }
            targets.insert(full);
        }
        let targets: Vec<String> = targets.into_iter().collect();
        let allowed = self.may_forward(&user.address).await?;
        if !targets.is_empty() && !allowed {
            return Err(Error::permission_denied(
                "your administrator does not allow this mailbox to forward mail automatically",
            ));
        }
        let keep_copy = p.keep_copy || targets.is_empty();
        let mut tx = self.write().await?;
        let before = sql::forwards::get(&mut tx, account_id).await?;
        sql::forwards::set(&mut tx, account_id, &targets, keep_copy, &super::now()).await?;
        let domain = user.address.rsplit_once('@').map(|(_, d)| d.to_string());
        let change = Change { action: "portal_set_forwarding", domain: domain.as_deref(), target: &user.address };
        let shown = |(t, k): (Vec<String>, bool)| serde_json::json!({ "targets": t, "keep_copy": k });
        let after = (!targets.is_empty()).then(|| shown((targets.clone(), keep_copy)));
        audit::record(&mut tx, "portal", change, before.map(shown).as_ref(), after.as_ref()).await?;
        tx.commit().await?;
        Ok(OwnForwarding { targets, keep_copy, allowed })
    }

    /// Every mailbox's forwarding (for the mail path).
    pub async fn forwardings(&self) -> Result<Vec<Forwarding>> {
        sql::forwards::all(&mut *self.read().await?).await
    }
}

/// The account `address` (id, canonical address, domain) of a domain whose accounts the
/// caller may manage.
async fn account_of(b: &EngineBackend, address: &str) -> Result<(i64, String, String)> {
    let addr = crate::accounts::authorised(b, address)?;
    let full = addr.full();
    let id = crate::settings::account_id(&mut *b.engine.read().await?, &full).await?;
    Ok((id, full, addr.domain))
}

/// An admin's look at a user's own forwarding.
pub(crate) async fn account_forwarding(b: &EngineBackend, p: GetAccountForwarding) -> Result<OwnForwarding> {
    let (id, address, _) = account_of(b, &p.address).await?;
    b.engine.forwarding_of(id, &address).await
}

/// An admin ends a user's own forwarding (audited; not found when none is set).
pub(crate) async fn clear_account_forwarding(b: &EngineBackend, p: ClearAccountForwarding) -> Result<()> {
    let (id, address, domain) = account_of(b, &p.address).await?;
    let mut tx = b.engine.write().await?;
    let Some((targets, keep_copy)) = sql::forwards::get(&mut tx, id).await? else {
        return Err(Error::not_found(format!("{address} forwards no mail")).with_field("address"));
    };
    sql::forwards::set(&mut tx, id, &[], true, &super::now()).await?;
    let change = Change { action: ClearAccountForwarding::NAME, domain: Some(&domain), target: &address };
    let before = serde_json::json!({ "targets": targets, "keep_copy": keep_copy });
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}
