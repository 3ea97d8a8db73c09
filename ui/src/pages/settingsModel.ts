// Pure helpers of the batch-settings pages: what each setting is called and how its values
// read, where an effective value comes from, and the editor's choices turned into the
// `update_settings` params. No React here, so it is unit-tested on its own.
import type { BatchTarget } from "../bindings/BatchTarget";
import type { EffectiveValues } from "../bindings/EffectiveValues";
import type { PolicyRule } from "../bindings/PolicyRule";
import type { SettingKey } from "../bindings/SettingKey";
import type { SettingSource } from "../bindings/SettingSource";
import type { Settings } from "../bindings/Settings";

export type SettingKind = "bool" | "list" | "number";

export interface SettingInfo {
  label: string;
  kind: SettingKind;
  group: string;
  /** Words for true / false (bool settings). */
  on?: string;
  off?: string;
  hint?: string;
  /** Only the domain default may set it. */
  domainOnly?: boolean;
}

/** Every setting, in display order. A `Record` over `SettingKey`: a new key fails to compile until described here. */
export const SETTINGS: Record<SettingKey, SettingInfo> = {
  external_send: { label: "External send", kind: "bool", group: "Sending and receiving", on: "Allow", off: "Disallow" },
  send_exceptions: {
    label: "Send exceptions",
    kind: "list",
    group: "Sending and receiving",
    hint: "Addresses or domains still allowed when external send is disallowed",
  },
  external_receive: { label: "External receive", kind: "bool", group: "Sending and receiving", on: "Allow", off: "Disallow" },
  receive_exceptions: {
    label: "Receive exceptions",
    kind: "list",
    group: "Sending and receiving",
    hint: "Senders (addresses or domains) still allowed when external receive is disallowed",
  },
  pop3: { label: "POP3", kind: "bool", group: "Client access", on: "On", off: "Off" },
  imap: { label: "IMAP", kind: "bool", group: "Client access", on: "On", off: "Off" },
  smtp: { label: "SMTP", kind: "bool", group: "Client access", on: "On", off: "Off" },
  require_security_questions: {
    label: "Require security questions",
    kind: "bool",
    group: "Security questions and phone",
    on: "Required",
    off: "Not required",
  },
  require_phone: { label: "Require phone binding", kind: "bool", group: "Security questions and phone", on: "Required", off: "Not required" },
  allow_phone_unbinding: {
    label: "User may unbind the phone",
    kind: "bool",
    group: "Security questions and phone",
    on: "Allowed",
    off: "Not allowed",
  },
  auto_forward: { label: "Auto-forward", kind: "bool", group: "Forwarding", on: "Allow", off: "Disallow" },
  address_book: { label: "In the company address book", kind: "bool", group: "Address book", on: "Shown", off: "Hidden" },
  lockout_threshold: {
    label: "Lock after failed logins",
    kind: "number",
    group: "Login",
    hint: "A domain setting: failed logins in a row that lock an account",
    domainOnly: true,
  },
  daily_send_messages: {
    label: "Messages sent outside a day",
    kind: "number",
    group: "Daily send quota",
    hint: "Most messages a day to other domains; 0: no limit",
  },
  daily_send_mb: {
    label: "Megabytes sent outside a day",
    kind: "number",
    group: "Daily send quota",
    hint: "Most megabytes a day of messages to other domains; 0: no limit",
  },
  utc_offset_minutes: {
    label: "Day starts at (minutes east of UTC)",
    kind: "number",
    group: "Daily send quota",
    hint: "A domain setting: where the domain's day begins (e.g. 60 for UTC+01:00); summer time is not followed",
    domainOnly: true,
  },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export type SettingValue = boolean | string[] | number;

/** A value as people read it. */
export function formatValue(key: SettingKey, value: SettingValue | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const info = SETTINGS[key];
  if (typeof value === "boolean") return value ? (info.on ?? "Yes") : (info.off ?? "No");
  if (Array.isArray(value)) return value.length === 0 ? "(none)" : value.join(", ");
  return String(value);
}

/** The effective value and source of one key. */
export function effectiveOf(values: EffectiveValues, key: SettingKey): { value: SettingValue; source: SettingSource } {
  return values[key];
}

/** Splits a list typed by people (commas, spaces, new lines). */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What the editor says about one key: leave it, inherit it, or set a value. */
export type Choice = { kind: "inherit" } | { kind: "value"; value: boolean | string | number };

/** The editor's touched keys as `update_settings` params; lists are typed as text. */
export function choicesToParams(choices: Partial<Record<SettingKey, Choice>>): { set: Settings; clear: SettingKey[] } {
  const set: Record<string, SettingValue> = {};
  const clear: SettingKey[] = [];
  for (const key of SETTING_KEYS) {
    const c = choices[key];
    if (!c) continue;
    if (c.kind === "inherit") {
      clear.push(key);
      continue;
    }
    const kind = SETTINGS[key].kind;
    if (kind === "list") set[key] = parseList(String(c.value));
    else if (kind === "number") set[key] = Number(c.value);
    else set[key] = Boolean(c.value);
  }
  return { set: set, clear };
}

/** A batch target in words (before it is sent). */
export function describeTarget(target: BatchTarget, domain: string): string {
  switch (target.kind) {
    case "domain":
      return `the domain default of ${domain}`;
    case "department":
      return target.subdepartments === false
        ? `department ${target.path} (sub-departments keep their own settings)`
        : `department ${target.path} and all its sub-departments`;
    case "accounts":
      return target.addresses.length === 1 ? `account ${target.addresses[0]}` : `${target.addresses.length} selected accounts`;
  }
}

/** The policy rules in words. */
export const RULES: Record<PolicyRule, string> = {
  allowed: "Allowed",
  authentication_required: "Login required",
  client_protocol: "Client access switched off",
  auto_forward: "Auto-forward not allowed",
  unknown_recipient: "Unknown recipient",
  recipient_disabled: "Recipient disabled",
  relay: "Relaying refused",
  external_send: "External send disallowed",
  send_exception_address: "Send exception (address)",
  send_exception_domain: "Send exception (domain)",
  group_send_permission: "Mail group send permission",
  external_receive: "External receive disallowed",
  receive_exception_address: "Receive exception (address)",
  receive_exception_domain: "Receive exception (domain)",
};
