//! Params of the batch-settings, address-book and policy operations, kept apart
//! from the organisation's so the operation table's two halves merge cleanly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Password;
use crate::policy::ClientProtocol;
use crate::settings::{SettingKey, Settings};

/// What a batch acts on: the domain default, a department (with its sub-departments), or
/// accounts picked by address (one, or a selection).
// `Default` is `Domain`, the level every setting falls back to: with nothing to set or
// clear it changes nothing, and the account batches (passwords, security questions)
// refuse it, so a defaulted target never reaches an account by accident. (A plain comment:
// doc comments here would reach the TypeScript bindings.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BatchTarget {
    /// The domain default (settings only; a password reset needs accounts or a department).
    #[default]
    Domain,
    /// A department; with `subdepartments` (the default) also everything below it: its
    /// sub-departments and their accounts follow the new values (their overrides of the
    /// same keys are removed). The value is stored once, at the department.
    Department {
        /// Department path.
        path: String,
        /// Include sub-departments (default true).
        #[serde(default)]
        #[ts(optional)]
        subdepartments: Option<bool>,
    },
    /// Accounts by address, all in the batch's domain.
    Accounts {
        /// The addresses (1 to 10,000).
        addresses: Vec<String>,
    },
}

params!(/// The overrides one level sets (domain default, a department, or an account), with how
/// many overrides of each key exist below it.
GetSettings {
    /// Domain name.
    domain: String,
    /// A department path; omit (with `account`) for the domain default.
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// An account address.
    #[serde(default)] #[ts(optional)] account: Option<String>,
});
params!(/// The settings in force for an account, each with the level it comes from.
GetEffectiveSettings { /// Account address.
address: String });
params!(/// Sets and clears settings on a target, as one batch: one transaction, one audit entry,
/// undoable while nothing it touched has changed since.
UpdateSettings {
    /// Domain of the target.
    domain: String,
    /// Where to set them.
    target: BatchTarget,
    /// Values to set (keys left out are not touched).
    #[serde(default)] #[ts(optional)] set: Option<Settings>,
    /// Keys to stop overriding at the target (they inherit again).
    #[serde(default)] #[ts(optional)] clear: Option<Vec<SettingKey>>,
});
params!(/// Resets the password of every account of a target (each hashed with its own salt):
/// unlocks locked accounts and clears their failed logins. Cannot be undone.
ResetPasswords {
    /// Domain of the target.
    domain: String,
    /// A department or accounts.
    target: BatchTarget,
    /// The new password.
    password: Password,
    /// Require a change at first logon (omitted: left as it is).
    #[serde(default)] #[ts(optional)] force_password_change: Option<bool>,
});
params!(/// Clears the security questions of every account of a target, so each user sets new
/// ones. Cannot be undone (the answers are gone).
ClearSecurityQuestions {
    /// Domain of the target.
    domain: String,
    /// A department or accounts.
    target: BatchTarget,
});
params!(/// A domain's batches, newest first.
ListBatches {
    /// Domain name.
    domain: String,
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Undoes a settings batch: restores exactly its before-state, refused when anything it
/// touched has changed since.
UndoBatch { /// Domain name.
domain: String, /// The batch.
id: u32 });
params!(/// One page of the company address book of a domain: the accounts visible in it, by
/// department (department path, then name, then address).
ListAddressBook {
    /// Domain name.
    domain: String,
    /// Only entries whose name or address holds this text, in any case (at most 200 bytes).
    #[serde(default)] #[ts(optional)] query: Option<String>,
    /// Only entries after this one (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// What would happen to a message from `sender` to `recipients`?
ExplainPolicy {
    /// Envelope sender (MAIL FROM); empty for a bounce.
    sender: String,
    /// Envelope recipients (RCPT TO).
    recipients: Vec<String>,
    /// The account that logged in, if any (default: the sender when it is ours and
    /// `protocol` is a client protocol).
    #[serde(default)] #[ts(optional)] authenticated_user: Option<String>,
    /// How the message arrives (default: `smtp` when the sender is ours, else `mx`).
    #[serde(default)] #[ts(optional)] protocol: Option<ClientProtocol>,
    /// Whether it is an automatic forward by the sender's mailbox.
    #[serde(default)] #[ts(optional)] auto_forward: Option<bool>,
});
