//! Params of the SMTP service's admin operations: server-wide settings, the
//! black/white list rules, their XLSX import/export, and the live status. Kept apart from
//! the organisation's so the operation table's parts merge cleanly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::smtp::{SmtpImportMode, SmtpRuleAction, SmtpRuleKind, SmtpSettings};

params!(/// The server-wide SMTP settings (defaults until an admin changes them).
GetSmtpSettings {});
params!(/// Replaces the server-wide SMTP settings; every field is checked, a refusal changes nothing.
UpdateSmtpSettings { /// The new settings (omitted fields take their defaults).
settings: SmtpSettings });
params!(/// The black/white list rules in order (first match decides).
ListSmtpRules {
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(no_default; /// Adds a black/white list rule.
AddSmtpRule {
    /// Unique name (1–64 characters); refusals are counted under it.
    name: String,
    /// What it matches.
    kind: SmtpRuleKind,
    /// The sender address, sender domain, or client IP / CIDR network.
    value: String,
    /// What it does.
    action: SmtpRuleAction,
    /// Free text for admins (at most 500 characters).
    #[serde(default)] #[ts(optional)] note: Option<String>,
    /// Place in the list (1 = first); at the end when omitted.
    #[serde(default)] #[ts(optional)] position: Option<u32>,
});
params!(/// Changes a rule; omitted fields stay as they are (its place changes with move_smtp_rule).
UpdateSmtpRule {
    /// Rule id.
    id: u32,
    /// New name.
    #[serde(default)] #[ts(optional)] name: Option<String>,
    /// New kind (the value is checked against it).
    #[serde(default)] #[ts(optional)] kind: Option<SmtpRuleKind>,
    /// New value.
    #[serde(default)] #[ts(optional)] value: Option<String>,
    /// New action.
    #[serde(default)] #[ts(optional)] action: Option<SmtpRuleAction>,
    /// New note.
    #[serde(default)] #[ts(optional)] note: Option<String>,
});
params!(/// Removes a rule; the rules after it move up.
RemoveSmtpRule { /// Rule id.
id: u32 });
params!(/// Moves a rule to another place in the list; returns the whole list.
MoveSmtpRule { /// Rule id.
id: u32, /// New place, 1 = first (past the end means last).
position: u32 });
params!(/// Imports rules from an XLSX file (the template's columns). The whole file is checked
/// first; any problem refuses it with every error by row and column, and nothing changes.
ImportSmtpRules {
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
    /// After the existing rules (default) or instead of them.
    #[serde(default)] #[ts(optional)] mode: Option<SmtpImportMode>,
});
params!(/// The rules as an XLSX file in the import template's columns (cells are values, never formulas).
ExportSmtpRules {});
params!(/// The XLSX template for importing rules: the header row and a sheet explaining each column.
SmtpRulesTemplate {});
params!(/// The running SMTP service's listeners, live counters, delivery figures and last refusals.
GetSmtpStatus {});
