import { describe, expect, it } from "vitest";
import { BackendError } from "../api/errors";
import type { SmtpCounters } from "../bindings/SmtpCounters";
import type { SmtpRule } from "../bindings/SmtpRule";
import type { SmtpSettings } from "../bindings/SmtpSettings";
import {
  formFromSettings,
  formatLatency,
  formatTime,
  movedPosition,
  ordered,
  refusalCounts,
  settingsFromForm,
  totalRefused,
} from "./smtpModel";

/** The backend's defaults (SmtpSettings::default()). */
const defaults: SmtpSettings = {
  hostname: "localhost",
  banner: "ESMTP Postdesk",
  max_message_bytes: 25 * 1024 * 1024,
  max_recipients: 100,
  command_timeout_secs: 300,
  data_timeout_secs: 180,
  max_errors: 10,
  max_auth_failures: 3,
  allow_auth_without_tls: false,
  require_sender_match: true,
  max_connections: 1024,
  connection: { max_connections_per_ip: 20, messages_per_ip: null, require_reverse_dns: false },
  probing: { slow_after: 3, delay_step_secs: 1, max_unknown: 10, penalty_secs: 600 },
  data: { in_flight_bytes: 256 * 1024 * 1024 },
  sender: { reject_malformed: true, reject_domain_without_mx_or_a: false, reject_unauthenticated_local_domain: true },
  inbound_auth: {
    verify: true,
    reject_spf_fail: false,
    enforce_dmarc_reject: true,
    junk_dmarc_fail: true,
    junk_spf_fail: false,
  },
};

const rule = (id: number, name: string, position: number): SmtpRule => ({
  id,
  name,
  kind: "sender_domain",
  value: `${name}.test`,
  action: "reject",
  position,
  note: "",
  created_at: "2026-11-23T12:00:00Z",
});

function thrown(f: () => unknown): BackendError {
  try {
    f();
  } catch (e) {
    if (e instanceof BackendError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("SMTP settings form", () => {
  it("round-trips the settings unchanged", () => {
    expect(settingsFromForm(formFromSettings(defaults))).toEqual(defaults);
    const limited: SmtpSettings = {
      ...defaults,
      max_message_bytes: 10 * 1024 * 1024,
      connection: { max_connections_per_ip: 5, messages_per_ip: { count: 30, window_secs: 60 }, require_reverse_dns: true },
    };
    expect(settingsFromForm(formFromSettings(limited))).toEqual(limited);
  });

  it("shows the size in MiB and sends bytes", () => {
    const form = formFromSettings(defaults);
    expect(form.max_message_mib).toBe("25");
    expect(settingsFromForm({ ...form, max_message_mib: "0.5" }).max_message_bytes).toBe(512 * 1024);
  });

  it("blank optional limits mean no limit", () => {
    const form = { ...formFromSettings(defaults), max_connections_per_ip: " ", rate_count: "", rate_window_secs: "" };
    const s = settingsFromForm(form);
    expect(s.connection.max_connections_per_ip).toBeNull();
    expect(s.connection.messages_per_ip).toBeNull();
  });

  it("edits the probing tarpit and the data budget (MiB shown, bytes sent)", () => {
    const form = formFromSettings(defaults);
    expect([form.probing_slow_after, form.probing_max_unknown, form.data_in_flight_mib]).toEqual(["3", "10", "256"]);
    const s = settingsFromForm({
      ...form,
      probing_slow_after: "1",
      probing_delay_step_secs: "0",
      probing_max_unknown: "4",
      probing_penalty_secs: "60",
      data_in_flight_mib: "64",
    });
    expect(s.probing).toEqual({ slow_after: 1, delay_step_secs: 0, max_unknown: 4, penalty_secs: 60 });
    expect(s.data.in_flight_bytes).toBe(64 * 1024 * 1024);
    expect(thrown(() => settingsFromForm({ ...form, probing_slow_after: "first" })).field).toBe("probing.slow_after");
    expect(thrown(() => settingsFromForm({ ...form, probing_penalty_secs: "" })).field).toBe("probing.penalty_secs");
    expect(thrown(() => settingsFromForm({ ...form, data_in_flight_mib: "lots" })).field).toBe("data.in_flight_bytes");
  });

  it("refuses text that is not a number at the API field it belongs to", () => {
    const form = formFromSettings(defaults);
    expect(thrown(() => settingsFromForm({ ...form, max_recipients: "ten" })).field).toBe("max_recipients");
    expect(thrown(() => settingsFromForm({ ...form, max_recipients: "1.5" })).field).toBe("max_recipients");
    expect(thrown(() => settingsFromForm({ ...form, max_message_mib: "" })).field).toBe("max_message_bytes");
    expect(thrown(() => settingsFromForm({ ...form, max_connections_per_ip: "-1" })).field).toBe(
      "connection.max_connections_per_ip",
    );
    expect(thrown(() => settingsFromForm({ ...form, rate_count: "10" })).field).toBe("connection.messages_per_ip.window_secs");
    expect(thrown(() => settingsFromForm({ ...form, rate_window_secs: "10" })).field).toBe("connection.messages_per_ip.count");
  });
});

describe("SMTP counters", () => {
  const counters = (refused: Record<string, number>): SmtpCounters => ({
    connections: 0,
    active_sessions: 0,
    tls_sessions: 0,
    messages_accepted: 0,
    recipients_accepted: 0,
    bytes_accepted: 0,
    messages_discarded: 0,
    auth_succeeded: 0,
    auth_failed: 0,
    store_failures: 0,
    refused,
    discarded: {},
    junked: {},
    accept_latency_p50_ms: 0,
    accept_latency_p99_ms: 0,
  });

  it("lists refusals per rule, most first, list rules marked and built-in checks named", () => {
    const c = counters({ unknown_recipient: 2, "block-spam": 5, relay_denied: 2, whatever_new: 1 });
    const rows = refusalCounts(c, [rule(1, "block-spam", 1)]);
    expect(rows.map((r) => [r.rule, r.count, r.listRule])).toEqual([
      ["block-spam", 5, true],
      ["relay_denied", 2, false],
      ["unknown_recipient", 2, false],
      ["whatever_new", 1, false],
    ]);
    expect(rows[1].label).toBe("Relaying denied");
    expect(rows[3].label).toBe("whatever_new");
    expect(totalRefused(c)).toBe(10);
  });

  it("formats latency and times", () => {
    expect(formatLatency(0, 0)).toBe("–");
    expect(formatLatency(0.84, 3)).toBe("0.8 ms");
    expect(formatLatency(12.4, 3)).toBe("12 ms");
    expect(formatLatency(1340, 3)).toBe("1.3 s");
    expect(formatTime("2026-11-23T15:01:29.051011Z")).toBe("2026-11-23 15:01:29");
  });
});

describe("SMTP rules", () => {
  it("are shown in position order and moved to the neighbour's position", () => {
    const rules = ordered([rule(3, "c", 3), rule(1, "a", 1), rule(2, "b", 2)]);
    expect(rules.map((r) => r.name)).toEqual(["a", "b", "c"]);
    expect(movedPosition(rules, 2, -1)).toBe(2);
    expect(movedPosition(rules, 0, 1)).toBe(2);
    expect(movedPosition(rules, 0, -1)).toBeNull();
    expect(movedPosition(rules, 2, 1)).toBeNull();
  });
});
