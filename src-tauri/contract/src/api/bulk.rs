//! Params of the bulk account actions (disable, enable, delete, move, change quota), kept
//! apart from the organisation's so the operation table's parts merge cleanly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::AccountStatus;

/// Which accounts a bulk action acts on: addresses picked one by one, or every account a
/// listing's filter matches (across all its pages) at the moment the action runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountSelection {
    /// Accounts by address, all in the action's domain (1 to 10,000).
    Addresses {
        /// The addresses.
        addresses: Vec<String>,
    },
    /// Every account the filter matches (at most 100,000), as `list_accounts` shows them.
    Filter {
        /// Case-insensitive substring of address or display name.
        #[serde(default)]
        #[ts(optional)]
        query: Option<String>,
        /// Only this department (and, unless `subdepartments` is false, its sub-departments).
        #[serde(default)]
        #[ts(optional)]
        department: Option<String>,
        /// Include sub-departments of `department` (default true).
        #[serde(default)]
        #[ts(optional)]
        subdepartments: Option<bool>,
        /// Only this status (not `deleted`: those are in the recycle bin).
        #[serde(default)]
        #[ts(optional)]
        status: Option<AccountStatus>,
    },
}

// `Default` selects nothing: an empty address list, which every bulk action refuses.
// (A plain comment: doc comments here would reach the TypeScript bindings.)
impl Default for AccountSelection {
    fn default() -> Self {
        AccountSelection::Addresses { addresses: Vec::new() }
    }
}

/// What a bulk action does to every selected account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BulkAction {
    /// No login, no delivery (undoable).
    #[default]
    Disable,
    /// Active again; locked accounts are unlocked and their failed logins cleared (undoable).
    Enable,
    /// To the recycle bin, as `remove_account` does one by one (restore them there).
    Delete,
    /// Into a department (must exist); `null` or empty moves them to the top level.
    MoveToDepartment {
        /// Department path.
        #[serde(default)]
        department: Option<String>,
    },
    /// A new mailbox quota, at most the plan's mailbox size and never below what a
    /// mailbox already stores (undoable).
    SetQuota {
        /// Quota in MiB.
        quota_mb: u32,
    },
}

params!(/// Acts on many accounts of one domain at once: one transaction, one audit entry, all or
/// nothing (any refusal changes nothing). Disable, enable and quota changes are recorded as a
/// batch that can be undone (`undo_batch`) while nothing it touched has changed since.
BulkAccounts {
    /// Domain of every selected account.
    domain: String,
    /// Which accounts.
    selection: AccountSelection,
    /// What to do to them.
    action: BulkAction,
});
