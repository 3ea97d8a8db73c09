//! The smarthost relay (seed 003, "Enable SMTP Relay"): outbound mail handed to a
//! third-party server instead of the recipients' MX hosts — all of it, or a sender
//! domain's (a sender-domain relay wins over the global one).
//!
//! Rules shared by every implementation:
//! * TLS is always required: implicit TLS (port 465) or STARTTLS (587); there is no plain
//!   mode. A failed handshake, or a relay that does not offer STARTTLS, is a temporary
//!   failure; the message is never sent in clear text to the relay.
//! * The transport table wins over the relay, as Postfix's `transport_maps` wins over
//!   `relayhost`: a recipient domain with a fixed route (or `*`) goes there.
//! * The secret (password, or the bearer token for XOAUTH2) is write-only: no API answer,
//!   database row or audit entry holds it; [`Relay::secret_set`] only says whether one is
//!   stored ([`SecretStore`](crate::secret::SecretStore)).
//! * A refused AUTH (535) defers the mail with that reply rather than bouncing it: a
//!   relay credential problem is the server's, not the sender's, and is fixed by the admin.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::secret::Sensitive;

/// How the connection to the relay is secured. Both require TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum RelayTls {
    /// TLS from the first byte (SMTPS, RFC 8314; usually port 465).
    Implicit,
    /// STARTTLS required (RFC 3207; usually port 587): no STARTTLS, no mail.
    #[default]
    Starttls,
}

impl RelayTls {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            RelayTls::Implicit => "implicit",
            RelayTls::Starttls => "starttls",
        }
    }
    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<RelayTls> {
        Some(match name {
            "implicit" => RelayTls::Implicit,
            "starttls" => RelayTls::Starttls,
            _ => return None,
        })
    }
}

/// How we authenticate to the relay (RFC 4954).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum RelayAuth {
    /// No AUTH (a relay that trusts our address).
    #[default]
    None,
    /// AUTH PLAIN (RFC 4616) with user and password.
    Plain,
    /// AUTH LOGIN with user and password.
    Login,
    /// AUTH XOAUTH2 with user and an OAuth2 bearer token (Microsoft 365, Google), stored
    /// as a static token: it is not refreshed, the admin sets a new one.
    Xoauth2,
}

impl RelayAuth {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            RelayAuth::None => "none",
            RelayAuth::Plain => "plain",
            RelayAuth::Login => "login",
            RelayAuth::Xoauth2 => "xoauth2",
        }
    }
    /// The mechanism named `name`.
    pub fn parse(name: &str) -> Option<RelayAuth> {
        Some(match name {
            "none" => RelayAuth::None,
            "plain" => RelayAuth::Plain,
            "login" => RelayAuth::Login,
            "xoauth2" => RelayAuth::Xoauth2,
            _ => return None,
        })
    }
}

/// A relay as the admin sees it (`list_relays`, `set_relay`): never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Relay {
    /// The sender domain whose mail it carries; `None`: every sender without its own.
    pub sender_domain: Option<String>,
    /// The relay's host name or IP address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Implicit TLS or STARTTLS (both required).
    pub tls: RelayTls,
    /// Whether the relay's certificate must be valid for `host` (public roots). Off: the
    /// connection is still encrypted, the certificate is not checked (Postfix's `encrypt`).
    pub verify_certificate: bool,
    /// The AUTH mechanism.
    pub auth: RelayAuth,
    /// The user name for AUTH (empty with `none`).
    pub username: String,
    /// Whether a secret is stored (its value is never shown).
    pub secret_set: bool,
}

/// What the delivery worker needs to use a relay: its settings and the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayRoute {
    /// The relay's settings as stored.
    pub relay: Relay,
    /// The password or bearer token; `None` when none is stored.
    pub secret: Option<Sensitive<String>>,
}

impl std::fmt::Debug for RelayRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayRoute").field("relay", &self.relay).field("secret", &self.secret).finish()
    }
}

/// The secret store's account name of the relay for `sender_domain` (`None`: the global
/// one): `relay.all`, `relay.example.com` — a file name in `serve`'s data folder, and a
/// keyring account the app's backend ids (slugs, no dot) never take.
pub fn secret_account(sender_domain: Option<&str>) -> String {
    match sender_domain {
        None => "relay.all".to_string(),
        Some(domain) => format!("relay.{domain}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_secret_never_prints() {
        for t in [RelayTls::Implicit, RelayTls::Starttls] {
            assert_eq!(RelayTls::parse(t.name()), Some(t));
        }
        for a in [RelayAuth::None, RelayAuth::Plain, RelayAuth::Login, RelayAuth::Xoauth2] {
            assert_eq!(RelayAuth::parse(a.name()), Some(a));
        }
        assert_eq!(RelayTls::parse("plain"), None, "there is no plain mode");
        let relay = Relay {
            sender_domain: None,
            host: "smtp.example".into(),
            port: 587,
            tls: RelayTls::Starttls,
            verify_certificate: true,
            auth: RelayAuth::Plain,
            username: "u".into(),
            secret_set: true,
        };
        let route = RelayRoute { relay, secret: Some(Sensitive("hunter2".into())) };
        assert!(!format!("{route:?}").contains("hunter2"));
        assert_eq!(secret_account(None), "relay.all");
        assert_eq!(secret_account(Some("example.com")), "relay.example.com");
    }
}
