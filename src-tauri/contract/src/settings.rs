//! Mail settings with inheritance: domain default → department → sub-department →
//! account. Pure: no I/O. The engine stores each level's *sparse* overrides (only the keys
//! a level sets) and resolves an account by walking its department's ancestors; the
//! resolution itself is [`EffectiveValues::resolve`] over those layers, general to specific.
//!
//! Every setting is declared once in the `settings!` table below, which generates the
//! key enum, the sparse [`Settings`] (what one level sets), the plain [`ResolvedSettings`]
//! (what the policy function reads) and the sourced [`EffectiveValues`] (each value with
//! the level it came from), so the four cannot drift apart.
//!
//! Lists (the exception lists) are inherited as a whole: a level that sets a list replaces
//! the inherited one, it does not add to it.

use std::borrow::Cow;
use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::validate;

/// Where an effective value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SettingLevel {
    /// Nothing sets it: Postdesk's built-in default.
    BuiltIn,
    /// The domain's default.
    Domain,
    /// A department (the account's own or one of its ancestors).
    Department,
    /// The account's own override.
    Account,
}

impl SettingLevel {
    /// The name stored in the database (`scope` of an override row).
    pub fn as_str(self) -> &'static str {
        match self {
            SettingLevel::BuiltIn => "built_in",
            SettingLevel::Domain => "domain",
            SettingLevel::Department => "department",
            SettingLevel::Account => "account",
        }
    }
}

/// The level an effective value was set at; for a department, which one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SettingSource {
    /// The level.
    pub level: SettingLevel,
    /// Path of the department that sets it (for `department` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub department: Option<String>,
    /// Where the value comes from, in words (`department Sales/East`): the one rendering
    /// that SMTP refusals, the CLI and the UI all show. Borrowed for the fixed levels, so
    /// resolving settings (which clones a source per key) allocates no more than before.
    #[ts(type = "string")]
    #[schemars(with = "String")]
    pub label: Cow<'static, str>,
}

impl SettingSource {
    fn new(level: SettingLevel, department: Option<String>) -> Self {
        let label = match (level, &department) {
            (SettingLevel::BuiltIn, _) => Cow::Borrowed("built-in default"),
            (SettingLevel::Domain, _) => Cow::Borrowed("domain default"),
            (SettingLevel::Department, Some(path)) => Cow::Owned(format!("department {path}")),
            (SettingLevel::Department, None) => Cow::Borrowed("a department"),
            (SettingLevel::Account, _) => Cow::Borrowed("account setting"),
        };
        SettingSource { level, department, label }
    }
    /// Postdesk's built-in default.
    pub fn built_in() -> Self {
        Self::new(SettingLevel::BuiltIn, None)
    }
    /// The domain default.
    pub fn domain() -> Self {
        Self::new(SettingLevel::Domain, None)
    }
    /// The department at `path`.
    pub fn department(path: impl Into<String>) -> Self {
        Self::new(SettingLevel::Department, Some(path.into()))
    }
    /// The account itself.
    pub fn account() -> Self {
        Self::new(SettingLevel::Account, None)
    }
}

/// An effective value with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Sourced<T> {
    /// The value in force.
    pub value: T,
    /// The level that set it.
    pub source: SettingSource,
}

macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident : $ty:ty = $default:expr;
    )*) => {
        /// One setting, by name (`external_send`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS)]
        #[serde(rename_all = "snake_case")]
        pub enum SettingKey {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl SettingKey {
            /// Every setting, in display order.
            pub const ALL: &'static [SettingKey] = &[$(SettingKey::$variant),*];

            /// The name used in the database, on the wire and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $(SettingKey::$variant => stringify!($field)),* }
            }

            /// Parses a name; `-` may stand for `_` (`external-send`).
            pub fn parse(name: &str) -> Option<SettingKey> {
                let name = name.trim().replace('-', "_").to_ascii_lowercase();
                SettingKey::ALL.iter().copied().find(|k| k.as_str() == name)
            }
        }

        /// What one level (domain default, department, account) sets: only the keys it
        /// overrides; `None` inherits from the level above.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $(
                $(#[doc = $doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                #[ts(optional)]
                pub $field: Option<$ty>,
            )*
        }

        /// Every setting's value in force for one account, without sources: what the
        /// policy function reads.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
        pub struct ResolvedSettings {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for ResolvedSettings {
            /// The built-in defaults: everything allowed, no exceptions, nothing required.
            fn default() -> Self {
                ResolvedSettings { $($field: $default),* }
            }
        }

        /// Every setting's value in force for one account, each with its source.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
        pub struct EffectiveValues {
            $( $(#[doc = $doc])* pub $field: Sourced<$ty>, )*
        }

        impl EffectiveValues {
            /// Resolves the layers, ordered from the most general (domain default) to the
            /// most specific (the account): for each key the last layer that sets it wins,
            /// and keys no layer sets take the built-in default.
            pub fn resolve(layers: &[(SettingSource, &Settings)]) -> EffectiveValues {
                let built_in = ResolvedSettings::default();
                let mut out = EffectiveValues {
                    $($field: Sourced { value: built_in.$field, source: SettingSource::built_in() }),*
                };
                for (source, layer) in layers {
                    $(
                        if let Some(v) = &layer.$field {
                            out.$field = Sourced { value: v.clone(), source: source.clone() };
                        }
                    )*
                }
                out
            }

            /// The values without their sources.
            pub fn values(&self) -> ResolvedSettings {
                ResolvedSettings { $($field: self.$field.value.clone()),* }
            }

            /// The source of one key's value.
            pub fn source(&self, key: SettingKey) -> &SettingSource {
                match key { $(SettingKey::$variant => &self.$field.source),* }
            }
        }

        impl Settings {
            /// The keys this level sets, in display order.
            pub fn keys(&self) -> Vec<SettingKey> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(SettingKey::$variant); } )*
                out
            }

            /// Whether the level sets nothing.
            pub fn is_empty(&self) -> bool {
                self.keys().is_empty()
            }

            /// Stops overriding `key` (it inherits again).
            pub fn unset(&mut self, key: SettingKey) {
                match key { $(SettingKey::$variant => self.$field = None),* }
            }

            /// One key's value as JSON (as stored), if this level sets it.
            pub fn get_json(&self, key: SettingKey) -> Option<Value> {
                match key {
                    $(SettingKey::$variant => self.$field.as_ref().and_then(|v| serde_json::to_value(v).ok()),)*
                }
            }

            /// Sets one key from its JSON value; a value of the wrong type is refused.
            pub fn set_json(&mut self, key: SettingKey, value: Value) -> Result<()> {
                match key {
                    $(SettingKey::$variant => {
                        self.$field = Some(serde_json::from_value(value).map_err(|e| {
                            Error::validation(format!("{}: {e}", key.as_str())).with_field(key.as_str())
                        })?);
                    })*
                }
                Ok(())
            }
        }
    };
}

settings! {
    /// External send: may the account send to other domains? (`false`: only to its own
    /// domain, plus the send exceptions.)
    ExternalSend external_send: bool = true;
    /// External receive: may the account receive mail from other domains? (`false`: only
    /// from its own domain, plus the receive exceptions.)
    ExternalReceive external_receive: bool = true;
    /// Addresses and domains the account may still send to when external send is off.
    SendExceptions send_exceptions: Vec<String> = Vec::new();
    /// Addresses and domains the account may still receive from when external receive is off.
    ReceiveExceptions receive_exceptions: Vec<String> = Vec::new();
    /// POP3 client access.
    Pop3 pop3: bool = true;
    /// IMAP client access.
    Imap imap: bool = true;
    /// SMTP client access (submission from mail clients).
    Smtp smtp: bool = true;
    /// The user must set security questions.
    RequireSecurityQuestions require_security_questions: bool = false;
    /// The user must bind a mobile phone.
    RequirePhone require_phone: bool = false;
    /// The user may unbind the phone without an admin.
    AllowPhoneUnbinding allow_phone_unbinding: bool = false;
    /// The mailbox may forward mail automatically to other mailboxes.
    AutoForward auto_forward: bool = true;
    /// The account appears in the company address book.
    AddressBook address_book: bool = true;
    /// Failed logins in a row that lock an account (a domain setting: set it on the
    /// domain default only).
    LockoutThreshold lockout_threshold: u32 = DEFAULT_LOCKOUT_THRESHOLD;
    /// Most messages a day the account may send to other domains (0: no limit).
    DailySendMessages daily_send_messages: u32 = 0;
    /// Most megabytes a day of messages the account may send to other domains (0: no limit).
    DailySendMb daily_send_mb: u32 = 0;
    /// Where the domain's day begins, as minutes east of UTC (a fixed offset: summer time is
    /// not followed); the daily send limits start again then. A domain setting.
    UtcOffsetMinutes utc_offset_minutes: i32 = 0;
}

/// Highest daily send limits accepted (messages; megabytes).
pub const MAX_DAILY_SEND: u32 = 1_000_000;

/// Failed logins in a row that lock an account unless the domain's `lockout_threshold`
/// setting says otherwise: the one place this default is written.
pub const DEFAULT_LOCKOUT_THRESHOLD: u32 = 5;

/// Most entries in one exception list.
pub const MAX_EXCEPTIONS: usize = 1000;
/// Highest lockout threshold accepted.
pub const MAX_LOCKOUT_THRESHOLD: u32 = 100;

impl SettingKey {
    /// Settings that only exist for a whole domain.
    pub fn domain_only(self) -> bool {
        matches!(self, SettingKey::LockoutThreshold | SettingKey::UtcOffsetMinutes)
    }
}

/// Canonicalises one exception entry: an address (`boss@partner.example`) or a domain
/// (`partner.example`).
pub fn exception_entry(input: &str) -> Result<String> {
    let input = input.trim();
    if input.contains('@') { Ok(validate::address(input)?.full()) } else { validate::domain(input) }
}

impl Settings {
    /// Checks and canonicalises what a level is about to set: exception lists become
    /// sorted canonical addresses/domains without duplicates; domain-only settings are
    /// refused below the domain.
    pub fn normalised(mut self, level: SettingLevel) -> Result<Settings> {
        for (key, list) in [
            (SettingKey::SendExceptions, &mut self.send_exceptions),
            (SettingKey::ReceiveExceptions, &mut self.receive_exceptions),
        ] {
            if let Some(entries) = list.as_mut() {
                if entries.len() > MAX_EXCEPTIONS {
                    return Err(
                        Error::validation(format!("at most {MAX_EXCEPTIONS} exceptions")).with_field(key.as_str())
                    );
                }
                let mut set = BTreeSet::new();
                for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
                    let canonical = exception_entry(entry).map_err(|e| Error {
                        message: format!("exception '{}': {}", entry.trim(), e.message),
                        field: Some(key.as_str().into()),
                        ..e
                    })?;
                    set.insert(canonical);
                }
                *entries = set.into_iter().collect();
            }
        }
        if let Some(n) = self.lockout_threshold {
            if level != SettingLevel::Domain {
                return Err(Error::validation(
                    "the lockout threshold is a domain setting: set it on the domain default",
                )
                .with_field("lockout_threshold"));
            }
            if !(1..=MAX_LOCKOUT_THRESHOLD).contains(&n) {
                return Err(Error::validation(format!(
                    "the lockout threshold must be between 1 and {MAX_LOCKOUT_THRESHOLD} failed logins"
                ))
                .with_field("lockout_threshold"));
            }
        }
        if let Some(m) = self.utc_offset_minutes {
            if level != SettingLevel::Domain {
                return Err(Error::validation("the time zone is a domain setting: set it on the domain default")
                    .with_field("utc_offset_minutes"));
            }
            if !(-720..=840).contains(&m) {
                return Err(Error::validation("the offset from UTC must be between -720 and 840 minutes")
                    .with_field("utc_offset_minutes"));
            }
        }
        for (key, v) in
            [(SettingKey::DailySendMessages, self.daily_send_messages), (SettingKey::DailySendMb, self.daily_send_mb)]
        {
            if v.is_some_and(|v| v > MAX_DAILY_SEND) {
                return Err(Error::validation(format!("a daily send limit is at most {MAX_DAILY_SEND} (0: no limit)"))
                    .with_field(key.as_str()));
            }
        }
        Ok(self)
    }

    /// Builds a level's settings from stored `(key, JSON)` rows; unknown keys are skipped
    /// (a newer server's settings in an older database never break resolution).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut out = Settings::default();
        for (key, json) in rows {
            if let (Some(key), Ok(value)) = (SettingKey::parse(key), serde_json::from_str(json)) {
                let _ = out.set_json(key, value);
            }
        }
        out
    }

    /// Overlays `patch`: the keys it sets replace this level's.
    pub fn merge(&mut self, patch: &Settings) {
        for key in patch.keys() {
            if let Some(v) = patch.get_json(key) {
                let _ = self.set_json(key, v);
            }
        }
    }
}

/// The settings in force for one account, each with the level it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct EffectiveSettings {
    /// The account.
    pub address: String,
    /// Its department path (whose ancestors it inherits from), `None` at the top level.
    pub department: Option<String>,
    /// Whether the user has set security questions (an admin can clear them).
    pub security_questions_set: bool,
    /// The values with their sources.
    pub values: EffectiveValues,
}

/// How many overrides of one key exist below a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OverridesBelow {
    /// The setting.
    pub key: SettingKey,
    /// Sub-departments (or, below the domain default, departments) that override it.
    pub departments: u32,
    /// Accounts that override it.
    pub accounts: u32,
}

/// What one level sets, for the settings editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct LevelSettings {
    /// Which level.
    pub level: SettingLevel,
    /// The department's path (for `department`).
    pub department: Option<String>,
    /// The account's address (for `account`).
    pub account: Option<String>,
    /// The overrides this level sets.
    pub settings: Settings,
    /// What the level inherits from above it (each value with its source): the values it
    /// would have without its own overrides.
    pub inherited: EffectiveValues,
    /// Overrides of the same keys further down (which a department batch replaces).
    pub below: Vec<OverridesBelow>,
    /// Accounts the level covers (with sub-departments), not counting deleted ones.
    pub accounts: u32,
}

/// Whether a batch can still be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum UndoState {
    /// Undo restores its before-state (refused if anything it touched changed since).
    Available,
    /// Already undone.
    Undone,
    /// Cannot be undone (password resets, clearing security questions).
    NotUndoable,
}

/// One batch action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Batch {
    /// Sequence number.
    pub id: u32,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// The domain.
    pub domain: String,
    /// The operation (`update_settings`, `reset_passwords`, `clear_security_questions`).
    pub action: String,
    /// What it acted on, in words.
    pub target: String,
    /// Accounts the target covered.
    pub accounts: u32,
    /// Values changed (overrides set or removed; passwords reset; questions cleared).
    pub changes: u32,
    /// What changed, in words.
    pub summary: String,
    /// Whether it can be undone.
    pub undo: UndoState,
    /// Why it cannot be undone, or who undid it when.
    pub note: Option<String>,
}

/// What a batch operation did. `batch` is `None` when nothing needed changing (then
/// nothing was recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct BatchOutcome {
    /// The batch recorded.
    pub batch: Option<Batch>,
    /// What happened, in words.
    pub message: String,
}

/// One person in the company address book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AddressBookEntry {
    /// Address.
    pub address: String,
    /// Display name.
    pub display_name: String,
}

/// One department's part of the address book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AddressBookDepartment {
    /// Department path; `None` for accounts at the top level.
    pub department: Option<String>,
    /// The visible accounts, by display name.
    pub entries: Vec<AddressBookEntry>,
}

/// One page of a domain's company address book: active and locked accounts whose effective
/// `address_book` setting is on. A department can continue on the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AddressBook {
    /// The domain.
    pub domain: String,
    /// This page's departments in path order (top level first), each with this page's
    /// entries; departments with nobody visible are left out.
    pub departments: Vec<AddressBookDepartment>,
    /// Accounts shown in the whole address book (the query applied).
    pub shown: u32,
    /// Active or locked accounts hidden by the setting (in the whole domain).
    pub hidden: u32,
    /// Pass as `after` for the next page; `null` when this page is the last.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_says_where_it_is_set_in_one_wording() {
        let label = |s: SettingSource| s.label.into_owned();
        assert_eq!(label(SettingSource::built_in()), "built-in default");
        assert_eq!(label(SettingSource::domain()), "domain default");
        assert_eq!(label(SettingSource::department("Sales/East")), "department Sales/East");
        assert_eq!(label(SettingSource::account()), "account setting");
        let json = serde_json::to_value(SettingSource::department("Sales")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "level": "department", "department": "Sales", "label": "department Sales" })
        );
    }

    fn s(json: serde_json::Value) -> Settings {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn nothing_set_means_built_in_defaults() {
        let e = EffectiveValues::resolve(&[]);
        assert_eq!(e.values(), ResolvedSettings::default());
        assert!(e.external_send.value && e.pop3.value && e.address_book.value);
        assert_eq!(e.lockout_threshold.value, 5);
        assert!(SettingKey::ALL.iter().all(|k| e.source(*k).level == SettingLevel::BuiltIn));
    }

    #[test]
    fn the_most_specific_level_wins_key_by_key() {
        let domain = s(serde_json::json!({ "external_send": false, "pop3": false, "lockout_threshold": 3 }));
        let sales = s(serde_json::json!({ "external_send": true, "send_exceptions": ["partner.example"] }));
        let east = s(serde_json::json!({ "external_send": false }));
        let account = s(serde_json::json!({ "pop3": true }));
        let layers = [
            (SettingSource::domain(), &domain),
            (SettingSource::department("Sales"), &sales),
            (SettingSource::department("Sales/East"), &east),
            (SettingSource::account(), &account),
        ];
        let e = EffectiveValues::resolve(&layers);
        assert_eq!((e.external_send.value, e.external_send.source.department.as_deref()), (false, Some("Sales/East")));
        assert_eq!(e.send_exceptions.value, ["partner.example"]);
        assert_eq!(e.send_exceptions.source, SettingSource::department("Sales"));
        assert_eq!((e.pop3.value, e.pop3.source.level), (true, SettingLevel::Account));
        assert_eq!((e.lockout_threshold.value, e.lockout_threshold.source.level), (3, SettingLevel::Domain));
        assert_eq!(e.imap.source.level, SettingLevel::BuiltIn);
        // Without the sub-department, Sales' own value shows through.
        let e = EffectiveValues::resolve(&layers[..2]);
        assert_eq!((e.external_send.value, e.external_send.source), (true, SettingSource::department("Sales")));
    }

    #[test]
    fn lists_replace_rather_than_add() {
        let domain = s(serde_json::json!({ "receive_exceptions": ["a.example", "b.example"] }));
        let dept = s(serde_json::json!({ "receive_exceptions": [] }));
        let e =
            EffectiveValues::resolve(&[(SettingSource::domain(), &domain), (SettingSource::department("D"), &dept)]);
        assert!(e.receive_exceptions.value.is_empty());
        assert_eq!(e.receive_exceptions.source, SettingSource::department("D"));
    }

    #[test]
    fn exceptions_are_canonicalised_and_bad_ones_refused() {
        let raw = s(
            serde_json::json!({ "send_exceptions": ["Boss@Partner.example", " partner.example ", "bücher.example", "partner.example", ""] }),
        );
        let n = raw.normalised(SettingLevel::Department).unwrap();
        assert_eq!(n.send_exceptions.unwrap(), ["boss@partner.example", "partner.example", "xn--bcher-kva.example"]);
        let bad = s(serde_json::json!({ "receive_exceptions": ["not a domain"] }));
        let err = bad.normalised(SettingLevel::Domain).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("receive_exceptions"));
        assert!(err.message.contains("'not a domain'"), "{}", err.message);
    }

    #[test]
    fn lockout_threshold_is_a_domain_setting_within_bounds() {
        let t = |n: u32| s(serde_json::json!({ "lockout_threshold": n }));
        assert!(t(10).normalised(SettingLevel::Domain).is_ok());
        assert!(t(10).normalised(SettingLevel::Department).unwrap_err().message.contains("domain setting"));
        assert!(t(0).normalised(SettingLevel::Domain).unwrap_err().message.contains("between 1 and"));
        assert!(t(101).normalised(SettingLevel::Domain).is_err());
    }

    #[test]
    fn rows_round_trip_and_unknown_keys_are_skipped() {
        let level = s(serde_json::json!({ "auto_forward": false, "send_exceptions": ["x.example"] }));
        let rows: Vec<(String, String)> = level
            .keys()
            .into_iter()
            .map(|k| (k.as_str().to_string(), level.get_json(k).unwrap().to_string()))
            .collect();
        assert_eq!(rows[0], ("send_exceptions".to_string(), r#"["x.example"]"#.to_string()));
        let mut with_unknown: Vec<(&str, &str)> = rows.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        with_unknown.push(("from_the_future", "1"));
        assert_eq!(Settings::from_rows(with_unknown), level);
        assert_eq!(SettingKey::parse("External-Send"), Some(SettingKey::ExternalSend));
        assert_eq!(SettingKey::parse("nope"), None);
        let mut x = Settings::default();
        assert!(x.set_json(SettingKey::Pop3, serde_json::json!("yes")).unwrap_err().message.contains("pop3"));
        x.merge(&level);
        assert_eq!(x, level);
        x.unset(SettingKey::AutoForward);
        assert_eq!(x.keys(), [SettingKey::SendExceptions]);
        assert!(serde_json::from_value::<Settings>(serde_json::json!({ "bogus": true })).is_err());
    }
}
