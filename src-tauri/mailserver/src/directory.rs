//! [`Directory`] over the backend's directory (the contract's mail seam).

use std::sync::Arc;

use async_trait::async_trait;
use postdesk_contract::ErrorCode;
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService, MailBackend};
use postdesk_contract::model::AddressKind;

use crate::Lookups;
use postdesk_smtp::{Account, AuthOutcome, Directory, DirectoryError, RecipientStatus};

/// The backend's directory as the SMTP service's. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BackendDirectory {
    lookups: Lookups,
}

impl BackendDirectory {
    /// A directory over `backend`.
    pub fn new(backend: Arc<dyn MailBackend>) -> BackendDirectory {
        BackendDirectory::with_lookups(Lookups::new(backend))
    }

    /// A directory sharing `lookups` (and their cache) with the rest of the mail server.
    pub fn with_lookups(lookups: Lookups) -> BackendDirectory {
        BackendDirectory { lookups }
    }

    /// One recipient against a message of `size` bytes (0 = unknown size).
    async fn status(&self, address: &str, size: usize) -> Result<RecipientStatus, DirectoryError> {
        let resolution = match self.lookups.resolve_recipient(address).await {
            Ok(r) => r,
            Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Validation) => {
                return Ok(RecipientStatus::Unknown);
            }
            Err(e) => return Err(unavailable(e)),
        };
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        if let Some(limit) = self.lookups.domain_message_limit(domain).await.map_err(unavailable)?
            && size as u64 > limit
        {
            return Ok(RecipientStatus::TooLarge { limit: usize::try_from(limit).unwrap_or(usize::MAX) });
        }
        if resolution.mailboxes.is_empty() {
            return Ok(match resolution.kind {
                AddressKind::Account | AddressKind::AccountAlias => RecipientStatus::Accept,
                // Only external targets (kept for the outbound relay) or nothing at all.
                _ if !resolution.external.is_empty() => RecipientStatus::Accept,
                _ => RecipientStatus::Unknown,
            });
        }
        let needed = size.max(1) as u64;
        let mut full = 0;
        for mailbox in &resolution.mailboxes {
            let room = self.lookups.backend().mailbox_room(mailbox).await.map_err(unavailable)?;
            if room.is_some_and(|r| r < needed) {
                full += 1;
            }
        }
        Ok(if full == resolution.mailboxes.len() && resolution.external.is_empty() {
            RecipientStatus::OverQuota
        } else {
            RecipientStatus::Accept
        })
    }
}

fn unavailable(e: postdesk_contract::Error) -> DirectoryError {
    DirectoryError(e.message)
}

#[async_trait]
impl Directory for BackendDirectory {
    /// Accepts what the engine's resolver delivers somewhere: an account (even a disabled
    /// one: the policy then refuses it as disabled, 550 5.2.1, which says more than "user
    /// unknown"), an alias or group, a pickup rule's or the catch-all's mailbox. Unknown
    /// otherwise. Too large when the declared SIZE is over what the plan of the address's
    /// domain accepts. Over quota when the one receiving mailbox (all of a group's or
    /// alias's mailboxes) has no room for `size_hint` bytes (any byte when the client gave
    /// no SIZE).
    async fn resolve_recipient(&self, address: &str, size_hint: usize) -> Result<RecipientStatus, DirectoryError> {
        self.status(address, size_hint).await
    }

    /// Through the backend's `verify_login` for SMTP (an account alias logs in as its
    /// account; a wrong password counts towards the domain's lockout threshold; the
    /// account's effective SMTP switch applies; the attempt is logged). Disabled and deleted accounts answer like a switched-off
    /// service (525 5.7.13 "user account disabled").
    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        client: std::net::IpAddr,
    ) -> Result<AuthOutcome, DirectoryError> {
        let attempt = LoginAttempt { login: user, password, service: LoginService::Smtp, client };
        let login = self.lookups.backend().verify_login(attempt).await.map_err(unavailable)?;
        Ok(match login {
            Login::Accepted { address, .. } => AuthOutcome::Authenticated(Account { id: address.clone(), address }),
            Login::Refused(LoginRefusal::WrongCredentials) => AuthOutcome::WrongPassword,
            Login::Refused(LoginRefusal::Locked) => AuthOutcome::Locked,
            Login::Refused(
                LoginRefusal::Disabled | LoginRefusal::ServiceDisabled | LoginRefusal::PasswordChangeRequired,
            ) => AuthOutcome::SmtpDisabled,
        })
    }

    async fn sender_addresses(&self, account: &Account) -> Result<Vec<String>, DirectoryError> {
        self.lookups.backend().sender_addresses(&account.id).await.map_err(unavailable)
    }

    async fn is_local_domain(&self, domain: &str) -> Result<bool, DirectoryError> {
        self.lookups.is_local_domain(domain).await.map_err(unavailable)
    }
}
