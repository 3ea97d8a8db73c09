//! The engine behind the contract's service seams: [`Directory`], [`MailStore`],
//! [`ServiceHooks`] and [`OutboundQueue`] for the mail services, [`Authority`] for the
//! admin API. Each method delegates to the engine part that owns the rule; nothing here
//! touches the database.

use std::sync::Arc;

use postdesk_contract::api::{Authority, ClientSetupSource};
use postdesk_contract::mail::{
    Delivered, Directory, FlagChange, FlagsStored, FolderState, KeyedMessage, KeyedOutcome, Login, LoginAttempt,
    MailStore, MailboxChange, OutboundQueue, Quota, ServiceHooks, StoredMessage,
};
use postdesk_contract::outbound::{DkimSigningKey, OutboundEnvelope, OutboundJob, OutboundTransport, RecipientResult};
use postdesk_contract::policy::{Envelope, PolicyExplanation};
use postdesk_contract::settings::EffectiveSettings;
use postdesk_contract::smtp::{MailServiceMonitor, SmtpConfig};

use crate::api::{GetAccount, GetEffectiveSettings};
use crate::model::{Caller, ClientSetup, Resolution};
use crate::{Backend, Engine, ErrorCode, Result};

#[async_trait::async_trait]
impl Directory for Engine {
    async fn is_local_domain(&self, domain: &str) -> Result<bool> {
        Engine::is_local_domain(self, domain).await
    }
    async fn resolve_recipient(&self, address: &str) -> Result<Resolution> {
        Engine::resolve_recipient(self, address).await
    }
    async fn verify_login(&self, attempt: LoginAttempt<'_>) -> Result<Login> {
        Engine::verify_login(self, attempt).await
    }
    async fn effective_settings(&self, address: &str) -> Result<EffectiveSettings> {
        self.local_backend().get_effective_settings(GetEffectiveSettings { address: address.to_string() }).await
    }
    async fn sender_addresses(&self, account: &str) -> Result<Vec<String>> {
        match self.local_backend().get_account(GetAccount { address: account.to_string() }).await {
            // Its address, its aliases, and the shared mailboxes it owns (itself or through
            // a workflow group).
            Ok(a) => {
                let shared = self.shared_sender_addresses(&a.address).await?;
                Ok(std::iter::once(a.address).chain(a.aliases).chain(shared).collect())
            }
            Err(e) if e.code == ErrorCode::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
    async fn shared_mailboxes_of(&self, account: &str) -> Result<Vec<String>> {
        self.shared_sender_addresses(account).await
    }
    async fn decide_policy(&self, envelope: Envelope) -> Result<PolicyExplanation> {
        Engine::decide_policy(self, envelope).await
    }
    async fn domain_message_limit(&self, domain: &str) -> Result<Option<u64>> {
        Engine::domain_message_limit(self, domain).await
    }
    async fn mailbox_room(&self, address: &str) -> Result<Option<u64>> {
        Engine::mailbox_room(self, address).await
    }
    async fn forward_sender(&self, original: &str, forwarding_domain: &str) -> Result<String> {
        Engine::forward_sender(self, original, forwarding_domain).await
    }
    async fn bcc_rules(&self) -> Result<Vec<postdesk_contract::rules::BccRule>> {
        Engine::bcc_rules(self).await
    }
    async fn disclaimer_rules(&self) -> Result<Vec<postdesk_contract::rules::DisclaimerRule>> {
        Engine::disclaimer_rules(self).await
    }
    async fn monitor_rules(&self) -> Result<Vec<postdesk_contract::monitor::MonitorRule>> {
        Engine::monitor_rules(self).await
    }
    async fn forwardings(&self) -> Result<Vec<postdesk_contract::forwarding::Forwarding>> {
        Engine::forwardings(self).await
    }
    async fn daily_send(&self, account: &str, bytes: Option<u64>, now: i64) -> Result<Option<String>> {
        Engine::daily_send(self, account, bytes, now).await
    }
}

#[async_trait::async_trait]
impl MailStore for Engine {
    async fn deliver_batch(&self, messages: Vec<KeyedMessage>) -> Result<Vec<KeyedOutcome>> {
        Engine::deliver_batch(self, messages).await
    }
    async fn forget_delivery_keys(&self, before: time::OffsetDateTime) -> Result<u64> {
        Engine::forget_delivery_keys(self, before).await
    }
    async fn message_bytes(&self, account: &str, folder: &str, uid: u32) -> Result<Vec<u8>> {
        Engine::message_bytes(self, account, folder, uid).await
    }
    async fn folders(&self, account: &str) -> Result<Vec<FolderState>> {
        crate::folders::folders(self, account).await
    }
    async fn create_folder(&self, account: &str, name: &str) -> Result<FolderState> {
        crate::folders::create_folder(self, account, name).await
    }
    async fn rename_folder(&self, account: &str, from: &str, to: &str) -> Result<FolderState> {
        crate::folders::rename_folder(self, account, from, to).await
    }
    async fn delete_folder(&self, account: &str, name: &str) -> Result<()> {
        crate::folders::delete_folder(self, account, name).await
    }
    async fn messages(&self, account: &str, folder: &str) -> Result<Vec<StoredMessage>> {
        crate::folders::messages(self, account, folder).await
    }
    async fn append_dated(
        &self,
        account: &str,
        folder: &str,
        raw: &[u8],
        flags: &[String],
        received_at: Option<time::OffsetDateTime>,
    ) -> Result<Delivered> {
        crate::folders::append(self, account, folder, raw, flags, received_at).await
    }
    async fn store_flags(
        &self,
        account: &str,
        folder: &str,
        uids: &[u32],
        change: FlagChange,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagsStored> {
        crate::folders::store_flags(self, account, folder, uids, change, flags, unchanged_since).await
    }
    async fn copy_messages(&self, account: &str, from: &str, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>> {
        crate::folders::copy_messages(self, account, from, uids, to).await
    }
    async fn expunge(&self, account: &str, folder: &str, uids: Option<&[u32]>) -> Result<Vec<u32>> {
        crate::folders::expunge(self, account, folder, uids).await
    }
    async fn move_messages(&self, account: &str, from: &str, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>> {
        crate::folders::move_messages(self, account, from, uids, to).await
    }
    async fn subscriptions(&self, account: &str) -> Result<Vec<String>> {
        crate::folders::subscriptions(self, account).await
    }
    async fn set_subscribed(&self, account: &str, name: &str, subscribed: bool) -> Result<()> {
        crate::folders::set_subscribed(self, account, name, subscribed).await
    }
    async fn quota(&self, account: &str) -> Result<Quota> {
        crate::folders::quota(self, account).await
    }
    fn watch_mailboxes(&self) -> tokio::sync::broadcast::Receiver<MailboxChange> {
        Engine::watch_mailboxes(self)
    }
}

#[async_trait::async_trait]
impl ServiceHooks for Engine {
    async fn smtp_config(&self) -> Result<SmtpConfig> {
        Engine::smtp_config(self).await
    }
    fn subscribe_smtp_config(&self) -> tokio::sync::watch::Receiver<u64> {
        Engine::subscribe_smtp_config(self)
    }
    fn set_mail_monitor(&self, monitor: Option<Arc<dyn MailServiceMonitor>>) {
        Engine::set_mail_monitor(self, monitor)
    }
    fn change_generation(&self) -> u64 {
        crate::audit::change_generation()
    }
    fn portal_url(&self) -> Option<String> {
        Engine::portal_url(self)
    }
}

#[async_trait::async_trait]
impl OutboundQueue for Engine {
    async fn claim_outbound(&self, owner: &str, now: i64, lease_secs: i64, limit: usize) -> Result<Vec<OutboundJob>> {
        Engine::claim_outbound(self, owner, now, lease_secs, limit).await
    }
    async fn report_outbound(&self, owner: &str, now: i64, reports: Vec<(i64, Vec<RecipientResult>)>) -> Result<()> {
        Engine::report_outbound(self, owner, now, reports).await
    }
    async fn release_outbound_leases(&self, node: &str) -> Result<u64> {
        Engine::release_outbound_leases(self, node).await
    }
    async fn queue_outbound(&self, key: &str, envelope: OutboundEnvelope, raw: Vec<u8>) -> Result<()> {
        Engine::queue_outbound(self, key, envelope, raw).await
    }
    async fn outbound_transports(&self) -> Result<Vec<OutboundTransport>> {
        Engine::outbound_transports(self).await
    }
    async fn dkim_signing_key(&self, domain: &str) -> Result<Option<DkimSigningKey>> {
        Engine::dkim_signing_key(self, domain).await
    }
    async fn outbound_relay(&self, sender_domain: &str) -> Result<Option<postdesk_contract::relay::RelayRoute>> {
        Engine::outbound_relay(self, sender_domain).await
    }
    async fn mta_sts_policy(
        &self,
        domain: &str,
        now: i64,
    ) -> Result<Option<postdesk_contract::outbound::KeptStsPolicy>> {
        Engine::mta_sts_policy(self, domain, now).await
    }
    async fn keep_mta_sts_policy(&self, policy: postdesk_contract::outbound::KeptStsPolicy, now: i64) -> Result<()> {
        Engine::keep_mta_sts_policy(self, policy, now).await
    }
    async fn record_refusals(&self, refusals: Vec<postdesk_contract::mail::TracedRefusal>) -> Result<()> {
        Engine::record_refusals(self, refusals).await
    }
}

#[async_trait::async_trait]
impl Authority for Engine {
    async fn authenticate(&self, token: &str) -> Result<Caller> {
        Engine::authenticate(self, token).await
    }
    fn backend_for(&self, caller: Caller) -> Box<dyn Backend> {
        Box::new(Engine::backend_for(self, caller))
    }
    fn client_setup(&self) -> Option<Arc<dyn ClientSetupSource>> {
        Some(Arc::new(self.clone()))
    }
    fn sessions(&self) -> Option<Arc<dyn postdesk_contract::api::Sessions>> {
        Some(Arc::new(self.clone()))
    }
    fn portal(&self) -> Option<Arc<dyn postdesk_contract::api::Portal>> {
        Some(Arc::new(self.clone()))
    }
}

#[async_trait::async_trait]
impl ClientSetupSource for Engine {
    async fn client_setup(&self, address: &str) -> Result<Option<ClientSetup>> {
        crate::mailbox::client_setup(self, address).await
    }
}
