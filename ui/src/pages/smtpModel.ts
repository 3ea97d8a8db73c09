import { BackendError } from "../api/errors";
import type { SmtpCounters } from "../bindings/SmtpCounters";
import type { SmtpListenerKind } from "../bindings/SmtpListenerKind";
import type { SmtpRule } from "../bindings/SmtpRule";
import type { SmtpRuleAction } from "../bindings/SmtpRuleAction";
import type { SmtpRuleKind } from "../bindings/SmtpRuleKind";
import type { SmtpSettings } from "../bindings/SmtpSettings";
import type { SmtpStage } from "../bindings/SmtpStage";

/** How often the live counters are read again. */
export const STATUS_REFRESH_MS = 3000;

export const RULE_KINDS: { kind: SmtpRuleKind; label: string; placeholder: string }[] = [
  { kind: "sender_address", label: "Sender address", placeholder: "spammer@example.net" },
  { kind: "sender_domain", label: "Sender domain", placeholder: "example.net" },
  { kind: "client_ip", label: "Client IP or network", placeholder: "192.0.2.0/24" },
];

export const RULE_ACTIONS: { action: SmtpRuleAction; label: string }[] = [
  { action: "reject", label: "Reject" },
  { action: "discard", label: "Discard (accept, then drop)" },
  { action: "allow", label: "Allow (skip further checks)" },
];

export function kindLabel(kind: SmtpRuleKind): string {
  return RULE_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

export function actionLabel(action: SmtpRuleAction): string {
  return RULE_ACTIONS.find((a) => a.action === action)?.label.split(" (")[0] ?? action;
}

const STAGES: Record<SmtpStage, string> = {
  connect: "Connect",
  helo: "Command",
  auth: "AUTH",
  mail: "MAIL FROM",
  rcpt: "RCPT TO",
  data: "DATA",
};

export function stageLabel(stage: SmtpStage): string {
  return STAGES[stage];
}

const LISTENERS: Record<SmtpListenerKind, string> = {
  mx: "MX (inbound)",
  submission: "Submission (STARTTLS)",
  submissions: "Submission (implicit TLS)",
};

export function listenerLabel(kind: SmtpListenerKind): string {
  return LISTENERS[kind];
}

/** Built-in checks' rule names as people read them (list rules keep the admin's name). */
const BUILT_IN: Record<string, string> = {
  unknown_recipient: "Unknown recipient",
  relay_denied: "Relaying denied",
  too_many_recipients: "Too many recipients",
  message_too_big: "Message too big",
  over_quota: "Mailbox full",
  auth_required: "Authentication required",
  auth_without_tls: "AUTH without TLS",
  sender_malformed: "Malformed sender",
  sender_not_owned: "Sender not owned",
  sender_local_unauthenticated: "Our domain, unauthenticated",
  sender_domain_unresolvable: "Sender domain unresolvable",
  spf_fail: "SPF fail",
  dmarc_reject: "DMARC reject",
  reverse_dns: "No reverse DNS",
  connection_limit: "Connections per address",
  max_connections: "Connections at once",
  message_rate: "Message rate",
  too_many_errors: "Too many errors",
  directory_unavailable: "Directory unavailable",
};

export interface RefusalCount {
  /** The rule name as counted. */
  rule: string;
  /** What to show: a list rule's own name, or the built-in check's description. */
  label: string;
  count: number;
  /** Whether it is one of the black/white list rules. */
  listRule: boolean;
}

/** Refusals per rule, most first (then by name); list rules are marked. */
export function refusalCounts(counters: SmtpCounters, rules: SmtpRule[]): RefusalCount[] {
  const names = new Set(rules.map((r) => r.name));
  return Object.entries(counters.refused)
    .map(([rule, count]) => ({
      rule,
      label: names.has(rule) ? rule : (BUILT_IN[rule] ?? rule),
      count,
      listRule: names.has(rule),
    }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
}

/** All refusals counted. */
export function totalRefused(counters: SmtpCounters): number {
  return Object.values(counters.refused).reduce((a, b) => a + b, 0);
}

/** A latency for people: "0.8 ms", "12 ms", "1.3 s"; "–" before the first message. */
export function formatLatency(ms: number, accepted: number): string {
  if (accepted === 0) return "–";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** An RFC 3339 time as "YYYY-MM-DD HH:MM:SS" UTC (as the audit log shows times). */
export function formatTime(at: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(at);
  return m ? `${m[1]} ${m[2]}` : at;
}

/** The settings form: what the inputs hold (text), one entry per API field. */
export interface SettingsForm {
  hostname: string;
  banner: string;
  /** MiB. */
  max_message_mib: string;
  max_recipients: string;
  command_timeout_secs: string;
  data_timeout_secs: string;
  max_errors: string;
  max_auth_failures: string;
  allow_auth_without_tls: boolean;
  require_sender_match: boolean;
  max_connections: string;
  /** Blank = no limit. */
  max_connections_per_ip: string;
  /** Both blank = no limit. */
  rate_count: string;
  rate_window_secs: string;
  require_reverse_dns: boolean;
  probing_slow_after: string;
  probing_delay_step_secs: string;
  probing_max_unknown: string;
  probing_penalty_secs: string;
  /** MiB; read when the mail service starts. */
  data_in_flight_mib: string;
  reject_malformed: boolean;
  reject_domain_without_mx_or_a: boolean;
  reject_unauthenticated_local_domain: boolean;
  verify: boolean;
  reject_spf_fail: boolean;
  enforce_dmarc_reject: boolean;
  junk_dmarc_fail: boolean;
  junk_spf_fail: boolean;
}

const MIB = 1024 * 1024;

export function formFromSettings(s: SmtpSettings): SettingsForm {
  const rate = s.connection.messages_per_ip;
  return {
    hostname: s.hostname,
    banner: s.banner,
    max_message_mib: String(Math.round((s.max_message_bytes / MIB) * 100) / 100),
    max_recipients: String(s.max_recipients),
    command_timeout_secs: String(s.command_timeout_secs),
    data_timeout_secs: String(s.data_timeout_secs),
    max_errors: String(s.max_errors),
    max_auth_failures: String(s.max_auth_failures),
    allow_auth_without_tls: s.allow_auth_without_tls,
    require_sender_match: s.require_sender_match,
    max_connections: String(s.max_connections),
    max_connections_per_ip: s.connection.max_connections_per_ip === null ? "" : String(s.connection.max_connections_per_ip),
    rate_count: rate ? String(rate.count) : "",
    rate_window_secs: rate ? String(rate.window_secs) : "",
    require_reverse_dns: s.connection.require_reverse_dns,
    probing_slow_after: String(s.probing.slow_after),
    probing_delay_step_secs: String(s.probing.delay_step_secs),
    probing_max_unknown: String(s.probing.max_unknown),
    probing_penalty_secs: String(s.probing.penalty_secs),
    data_in_flight_mib: String(Math.round((s.data.in_flight_bytes / MIB) * 100) / 100),
    reject_malformed: s.sender.reject_malformed,
    reject_domain_without_mx_or_a: s.sender.reject_domain_without_mx_or_a,
    reject_unauthenticated_local_domain: s.sender.reject_unauthenticated_local_domain,
    verify: s.inbound_auth.verify,
    reject_spf_fail: s.inbound_auth.reject_spf_fail,
    enforce_dmarc_reject: s.inbound_auth.enforce_dmarc_reject,
    junk_dmarc_fail: s.inbound_auth.junk_dmarc_fail,
    junk_spf_fail: s.inbound_auth.junk_spf_fail,
  };
}

/** A whole number typed in `field`, or a validation error naming that API field. */
function whole(text: string, field: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new BackendError("validation", `${what} must be a whole number; '${t}' is not`, field);
  return Number(t);
}

/**
 * The API's settings from the form. Input that is not a number is refused here with the
 * API field it belongs to (so it shows at that input); ranges are the backend's to check.
 */
export function settingsFromForm(f: SettingsForm): SmtpSettings {
  const mib = Number(f.max_message_mib.trim());
  if (f.max_message_mib.trim() === "" || !Number.isFinite(mib) || mib < 0) {
    throw new BackendError("validation", `the message size limit must be a number of MiB; '${f.max_message_mib.trim()}' is not`, "max_message_bytes");
  }
  const inFlight = Number(f.data_in_flight_mib.trim());
  if (f.data_in_flight_mib.trim() === "" || !Number.isFinite(inFlight) || inFlight < 0) {
    throw new BackendError(
      "validation",
      `the in-flight message data budget must be a number of MiB; '${f.data_in_flight_mib.trim()}' is not`,
      "data.in_flight_bytes",
    );
  }
  const perIp = f.max_connections_per_ip.trim();
  const count = f.rate_count.trim();
  const window = f.rate_window_secs.trim();
  if ((count === "") !== (window === "")) {
    const field = count === "" ? "connection.messages_per_ip.count" : "connection.messages_per_ip.window_secs";
    throw new BackendError("validation", "give both the number of messages and the window, or neither (no limit)", field);
  }
  return {
    hostname: f.hostname.trim(),
    banner: f.banner.trim(),
    max_message_bytes: Math.round(mib * MIB),
    max_recipients: whole(f.max_recipients, "max_recipients", "the recipients per message"),
    command_timeout_secs: whole(f.command_timeout_secs, "command_timeout_secs", "the command timeout"),
    data_timeout_secs: whole(f.data_timeout_secs, "data_timeout_secs", "the data timeout"),
    max_errors: whole(f.max_errors, "max_errors", "the bad commands tolerated"),
    max_auth_failures: whole(f.max_auth_failures, "max_auth_failures", "the failed AUTH attempts tolerated"),
    allow_auth_without_tls: f.allow_auth_without_tls,
    require_sender_match: f.require_sender_match,
    max_connections: whole(f.max_connections, "max_connections", "the connections at once"),
    connection: {
      max_connections_per_ip:
        perIp === "" ? null : whole(perIp, "connection.max_connections_per_ip", "the connections per client address"),
      messages_per_ip:
        count === ""
          ? null
          : {
              count: whole(count, "connection.messages_per_ip.count", "the messages per client address"),
              window_secs: whole(window, "connection.messages_per_ip.window_secs", "the rate window"),
            },
      require_reverse_dns: f.require_reverse_dns,
    },
    probing: {
      slow_after: whole(f.probing_slow_after, "probing.slow_after", "the unknown recipients before the slow-down"),
      delay_step_secs: whole(f.probing_delay_step_secs, "probing.delay_step_secs", "the slow-down step"),
      max_unknown: whole(f.probing_max_unknown, "probing.max_unknown", "the unknown recipients that end a session"),
      penalty_secs: whole(f.probing_penalty_secs, "probing.penalty_secs", "the penalty of a probing address"),
    },
    data: { in_flight_bytes: Math.round(inFlight * MIB) },
    sender: {
      reject_malformed: f.reject_malformed,
      reject_domain_without_mx_or_a: f.reject_domain_without_mx_or_a,
      reject_unauthenticated_local_domain: f.reject_unauthenticated_local_domain,
    },
    inbound_auth: {
      verify: f.verify,
      reject_spf_fail: f.reject_spf_fail,
      enforce_dmarc_reject: f.enforce_dmarc_reject,
      junk_dmarc_fail: f.junk_dmarc_fail,
      junk_spf_fail: f.junk_spf_fail,
    },
  };
}

/** The position to move the rule at `index` to, one place up (-1) or down (+1); null at the ends. */
export function movedPosition(rules: SmtpRule[], index: number, by: -1 | 1): number | null {
  const to = index + by;
  if (index < 0 || index >= rules.length || to < 0 || to >= rules.length) return null;
  return rules[to].position;
}

/** The rules in list order (first match decides). */
export function ordered(rules: SmtpRule[]): SmtpRule[] {
  return rules.slice().sort((a, b) => a.position - b.position);
}
