//! Params of the mail rules' admin operations (automatic BCC, disclaimers, monitoring), per
//! domain.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::monitor::{MonitorAction, MonitorTraffic};
use crate::rules::{DisclaimerScope, RuleDirection};

params!(/// A domain's automatic-BCC rules, oldest first, one page at a time.
ListBccRules {
    /// Domain name.
    domain: String,
    /// Only rules after this id (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Adds an automatic-BCC rule to a domain.
AddBccRule {
    /// Domain name.
    domain: String,
    /// Its name (1–100 characters).
    name: String,
    /// Inbound, outbound or both (default both).
    #[serde(default)] #[ts(optional)] direction: Option<RuleDirection>,
    /// Sender condition: an address or a domain; absent: any sender.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain; absent: any recipient.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Where the blind copy goes: an account, alias or group of ours, or an address elsewhere.
    copy_to: String,
});
params!(/// Removes an automatic-BCC rule.
RemoveBccRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
});
params!(/// Imports automatic-BCC rules into a domain from an XLSX file (the template's columns),
/// after its existing rules. The whole file is checked first; any problem refuses it with
/// every error by row and column, and nothing changes. A rule that copies the same mail to
/// the same address as an existing rule (or an earlier row) is a problem of its row.
ImportBccRules {
    /// Domain name.
    domain: String,
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
});
params!(/// A domain's automatic-BCC rules as an XLSX file in the import template's columns
/// (cells are values, never formulas).
ExportBccRules { /// Domain name.
domain: String });
params!(/// The XLSX template for importing automatic-BCC rules: the header row and a sheet
/// explaining each column.
BccRulesTemplate {});
params!(/// Imports disclaimer rules into a domain from an XLSX file (the template's columns),
/// after its existing rules, in file order. The whole file is checked first, each row as
/// adding that rule checks it; any problem refuses it with every error by row and column,
/// and nothing changes. A rule with the same scope, conditions and exceptions as an existing
/// rule (or an earlier row) would never fire, and is a problem of its row.
ImportDisclaimerRules {
    /// Domain name.
    domain: String,
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
});
params!(/// A domain's disclaimer rules, in their order, as an XLSX file in the import template's
/// columns (cells are values, never formulas).
ExportDisclaimerRules { /// Domain name.
domain: String });
params!(/// The XLSX template for importing disclaimer rules: the header row and a sheet
/// explaining each column.
DisclaimerRulesTemplate {});
params!(/// Imports monitoring and copy rules into a domain from an XLSX file (the template's
/// columns). The whole file is checked first, each row as adding that rule checks it; any
/// problem refuses it with every error by row and column, and nothing changes. A rule that
/// does the same as an existing rule (or an earlier row) for the same mail is a problem of
/// its row.
ImportMonitorRules {
    /// Domain name.
    domain: String,
    /// The file's name (for messages and the audit log).
    file_name: String,
    /// The XLSX file, standard base64 (at most 1 MB before encoding).
    content_base64: String,
});
params!(/// A domain's monitoring and copy rules as an XLSX file in the import template's columns
/// (cells are values, never formulas).
ExportMonitorRules { /// Domain name.
domain: String });
params!(/// The XLSX template for importing monitoring and copy rules: the header row and a sheet
/// explaining each column.
MonitorRulesTemplate {});
params!(/// What each account of a domain sent to other domains today and in the last 30 days,
/// against its daily send quota, by address, one page at a time.
ListOutboundUsage {
    /// Domain name.
    domain: String,
    /// Only accounts after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// A domain's disclaimer rules in their order (1 = tried first), one page at a time.
ListDisclaimerRules {
    /// Domain name.
    domain: String,
    /// Only rules after this position (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Adds a disclaimer rule to a domain, last in its order.
AddDisclaimerRule {
    /// Domain name.
    domain: String,
    /// Its name (1–100 characters).
    name: String,
    /// Any, internal or external recipients (default any).
    #[serde(default)] #[ts(optional)] scope: Option<DisclaimerScope>,
    /// Sender condition: an address or a domain; absent: any sender of the domain.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain; absent: any recipient.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Department condition: a department path of the domain (sub-departments included).
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// Exception: a sender address or domain.
    #[serde(default)] #[ts(optional)] except_sender: Option<String>,
    /// Exception: a recipient address or domain.
    #[serde(default)] #[ts(optional)] except_recipient: Option<String>,
    /// Exception: a department path of the domain.
    #[serde(default)] #[ts(optional)] except_department: Option<String>,
    /// The plain-text variant (1–16384 bytes).
    text: String,
    /// The HTML variant (at most 16384 bytes); absent: the plain text, escaped.
    #[serde(default)] #[ts(optional)] html: Option<String>,
});
params!(/// Moves a disclaimer rule to another place in its domain's order; returns the order.
MoveDisclaimerRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
    /// New place, 1 = first (past the end means last).
    position: u32,
});
params!(/// Removes a disclaimer rule; the rules after it move up.
RemoveDisclaimerRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
});
params!(/// A domain's monitoring and copy rules, oldest first, one page at a time.
ListMonitorRules {
    /// Domain name.
    domain: String,
    /// Only rules after this id (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Adds a monitoring or copy rule to a domain.
AddMonitorRule {
    /// Domain name.
    domain: String,
    /// Its name (1–100 characters).
    name: String,
    /// Scope: a department path of the domain (sub-departments included).
    #[serde(default)] #[ts(optional)] scope_department: Option<String>,
    /// Scope: one account of the domain (not with a department). Neither: everyone.
    #[serde(default)] #[ts(optional)] scope_account: Option<String>,
    /// Any, internal or external mail (default any).
    #[serde(default)] #[ts(optional)] traffic: Option<MonitorTraffic>,
    /// Sender condition: an address or a domain.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Only messages of at least this many KB (1–1048576).
    #[serde(default)] #[ts(optional)] min_size_kb: Option<u32>,
    /// Only messages whose subject or body contains this (1–200 characters).
    #[serde(default)] #[ts(optional)] keyword: Option<String>,
    /// Exception: a sender address or domain.
    #[serde(default)] #[ts(optional)] except_sender: Option<String>,
    /// Exception: a recipient address or domain.
    #[serde(default)] #[ts(optional)] except_recipient: Option<String>,
    /// Exception: a word in the subject or body.
    #[serde(default)] #[ts(optional)] except_keyword: Option<String>,
    /// Copy to a monitor mailbox (default) or file into a folder.
    #[serde(default)] #[ts(optional)] action: Option<MonitorAction>,
    /// The monitor mailbox (an account, alias or group of ours) or the folder's name.
    target: String,
});
params!(/// Removes a monitoring or copy rule.
RemoveMonitorRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
});
params!(/// Changes an automatic-BCC rule in place (same checks as adding it).
UpdateBccRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
    /// Its name (1–100 characters).
    name: String,
    /// Inbound, outbound or both (default both).
    #[serde(default)] #[ts(optional)] direction: Option<RuleDirection>,
    /// Sender condition: an address or a domain; absent: any sender.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain; absent: any recipient.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Where the blind copy goes: an account, alias or group of ours, or an address elsewhere.
    copy_to: String,
});
params!(/// Changes a disclaimer rule in place, keeping its place in the order (same checks as adding it).
UpdateDisclaimerRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
    /// Its name (1–100 characters).
    name: String,
    /// Any, internal or external recipients (default any).
    #[serde(default)] #[ts(optional)] scope: Option<DisclaimerScope>,
    /// Sender condition: an address or a domain; absent: any sender of the domain.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain; absent: any recipient.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Department condition: a department path of the domain (sub-departments included).
    #[serde(default)] #[ts(optional)] department: Option<String>,
    /// Exception: a sender address or domain.
    #[serde(default)] #[ts(optional)] except_sender: Option<String>,
    /// Exception: a recipient address or domain.
    #[serde(default)] #[ts(optional)] except_recipient: Option<String>,
    /// Exception: a department path of the domain.
    #[serde(default)] #[ts(optional)] except_department: Option<String>,
    /// The plain-text variant (1–16384 bytes).
    text: String,
    /// The HTML variant (at most 16384 bytes); absent: the plain text, escaped.
    #[serde(default)] #[ts(optional)] html: Option<String>,
});
params!(/// Changes a monitoring or copy rule in place (same checks as adding it).
UpdateMonitorRule {
    /// Domain name.
    domain: String,
    /// The rule's id.
    #[ts(type = "number")]
    id: i64,
    /// Its name (1–100 characters).
    name: String,
    /// Scope: a department path of the domain (sub-departments included).
    #[serde(default)] #[ts(optional)] scope_department: Option<String>,
    /// Scope: one account of the domain (not with a department). Neither: everyone.
    #[serde(default)] #[ts(optional)] scope_account: Option<String>,
    /// Any, internal or external mail (default any).
    #[serde(default)] #[ts(optional)] traffic: Option<MonitorTraffic>,
    /// Sender condition: an address or a domain.
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Recipient condition: an address or a domain.
    #[serde(default)] #[ts(optional)] recipient: Option<String>,
    /// Only messages of at least this many KB (1–1048576).
    #[serde(default)] #[ts(optional)] min_size_kb: Option<u32>,
    /// Only messages whose subject or body contains this (1–200 characters).
    #[serde(default)] #[ts(optional)] keyword: Option<String>,
    /// Exception: a sender address or domain.
    #[serde(default)] #[ts(optional)] except_sender: Option<String>,
    /// Exception: a recipient address or domain.
    #[serde(default)] #[ts(optional)] except_recipient: Option<String>,
    /// Exception: a word in the subject or body.
    #[serde(default)] #[ts(optional)] except_keyword: Option<String>,
    /// Copy to a monitor mailbox (default) or file into a folder.
    #[serde(default)] #[ts(optional)] action: Option<MonitorAction>,
    /// The monitor mailbox (an account, alias or group of ours) or the folder's name.
    target: String,
});

impl UpdateBccRule {
    /// The rule's id and its new content, as adding it would take it.
    pub fn into_parts(self) -> (i64, AddBccRule) {
        (
            self.id,
            AddBccRule {
                domain: self.domain,
                name: self.name,
                direction: self.direction,
                sender: self.sender,
                recipient: self.recipient,
                copy_to: self.copy_to,
            },
        )
    }
}

impl UpdateDisclaimerRule {
    /// The rule's id and its new content, as adding it would take it.
    pub fn into_parts(self) -> (i64, AddDisclaimerRule) {
        (
            self.id,
            AddDisclaimerRule {
                domain: self.domain,
                name: self.name,
                scope: self.scope,
                sender: self.sender,
                recipient: self.recipient,
                department: self.department,
                except_sender: self.except_sender,
                except_recipient: self.except_recipient,
                except_department: self.except_department,
                text: self.text,
                html: self.html,
            },
        )
    }
}

impl UpdateMonitorRule {
    /// The rule's id and its new content, as adding it would take it.
    pub fn into_parts(self) -> (i64, AddMonitorRule) {
        (
            self.id,
            AddMonitorRule {
                domain: self.domain,
                name: self.name,
                scope_department: self.scope_department,
                scope_account: self.scope_account,
                traffic: self.traffic,
                sender: self.sender,
                recipient: self.recipient,
                min_size_kb: self.min_size_kb,
                keyword: self.keyword,
                except_sender: self.except_sender,
                except_recipient: self.except_recipient,
                except_keyword: self.except_keyword,
                action: self.action,
                target: self.target,
            },
        )
    }
}
