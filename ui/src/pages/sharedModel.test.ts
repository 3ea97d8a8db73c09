import { describe, expect, it } from "vitest";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import type { CheckResult } from "../bindings/CheckResult";
import type { DomainReport } from "../bindings/DomainReport";
import {
  addAddress,
  autoReplyFormOf,
  autoReplyLabel,
  autoReplyParams,
  dnsLines,
  dnsVerdict,
  localOf,
  ownersLabel,
  createParams,
  emptySharedForm,
  formOf,
  intervalLabel,
  noDefaultLabel,
  ownersOf,
  templateLabel,
  templateParams,
  templateStyle,
  reportText,
  sharedFromHash,
  sharedLink,
  sinceParam,
  sourceLabel,
  stoppedNotice,
  updateParams,
} from "./sharedModel";

const stored: SharedMailbox = {
  address: "desk@example.com",
  domain: "example.com",
  name: "Desk",
  kind: "imap",
  host: "imap.ext.test",
  port: 993,
  tls: "implicit",
  verify_certificate: true,
  username: "desk",
  tenant_id: "",
  client_id: "",
  secret_set: true,
  fetch_interval_minutes: 15,
  disable_after: 3,
  error_count: 0,
  folders: [],
  fetched_messages: 0,
  owners: [],
  owner_groups: [],
  auto_reply: { enabled: false, subject: "", text: "" },
  template: {},
  created_at: "2026-12-01T00:00:00Z",
};

describe("shared mailbox form", () => {
  it("sends no password unless one was typed, so the stored one is kept", () => {
    const p = updateParams(formOf(stored));
    expect(p.secret).toBeUndefined();
    expect(p.fetch_interval_minutes).toBe(15);
    expect(updateParams({ ...formOf(stored), password: "new" }).secret).toBe("new");
  });

  it("turns an empty interval into none: no interval on create, 0 on update", () => {
    const f = { ...emptySharedForm(), address: "desk@example.com", name: "Desk", host: "h", username: "u" };
    expect(createParams("example.com", f).fetch_interval_minutes).toBeUndefined();
    expect(updateParams({ ...formOf(stored), interval: "" }).fetch_interval_minutes).toBe(0);
  });

  it("sends a Microsoft 365 mailbox's tenant, client id and mailbox, and no IMAP server", () => {
    const f = {
      ...emptySharedForm(),
      address: "desk@example.com",
      name: "Desk",
      kind: "microsoft365" as const,
      tenantId: " contoso.onmicrosoft.com ",
      clientId: "3c9d2e1f-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
      password: "s3cret",
    };
    const p = createParams("example.com", f);
    expect(p.kind).toBe("microsoft365");
    expect([p.tenant_id, p.client_id, p.secret]).toEqual([
      "contoso.onmicrosoft.com",
      "3c9d2e1f-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
      "s3cret",
    ]);
    expect([p.host, p.port, p.tls, p.username]).toEqual([undefined, undefined, undefined, undefined]);
    const m365 = { ...stored, kind: "microsoft365" as const, host: "", tenant_id: "t.example", client_id: "c", username: "d@t" };
    const u = updateParams(formOf(m365));
    expect([u.kind, u.tenant_id, u.client_id, u.username, u.host, u.secret]).toEqual([
      "microsoft365",
      "t.example",
      "c",
      "d@t",
      undefined,
      undefined,
    ]);
    expect(sourceLabel(m365)).toBe("Microsoft 365: d@t (tenant t.example)");
    expect(sourceLabel(stored)).toBe("imap.ext.test:993 (implicit TLS)");
  });

  it("passes what is not a number on as invalid, for the backend to refuse by field", () => {
    const p = createParams("example.com", { ...emptySharedForm(), port: "abc", disableAfter: "x" });
    expect(p.port).toBe(0);
    expect(p.disable_after).toBe(-1);
  });
});

describe("fetch state", () => {
  it("shows the notice only when fetching was stopped by failures", () => {
    expect(stoppedNotice(stored)).toBeNull();
    const stopped = {
      ...stored,
      fetch_interval_minutes: undefined,
      error_count: 3,
      disabled_at: "2026-12-04T03:00:00Z",
      last_error: "127.0.0.1:993 refused the login of desk",
    };
    expect(stoppedNotice(stopped)).toContain("after 3 failures in a row: 127.0.0.1:993 refused the login");
    expect(intervalLabel(stopped)).toBe("stopped 2026-12-04 03:00:00 UTC");
    expect(intervalLabel({ ...stored, fetch_interval_minutes: undefined })).toBe("only “Fetch now”");
  });

  it("links to a mailbox on its page and reads the link back", () => {
    const link = sharedLink("desk+eu@example.com");
    expect(link).toBe("#/shared-mailboxes?open=desk%2Beu%40example.com");
    expect(sharedFromHash(link)).toBe("desk+eu@example.com");
    expect(sharedFromHash("#/shared-mailboxes")).toBeNull();
    expect(sharedFromHash("#/shared-mailboxes?open=")).toBeNull();
  });

  it("describes a fetch", () => {
    const ok = {
      fetched: 1,
      already: 2,
      too_large: 0,
      uidvalidity_changed: ["INBOX"],
      restarted: [],
      more: true,
      mailbox: stored,
    };
    expect(reportText(ok)).toBe(
      "Fetched 1 message; 2 seen before and not stored again; UIDVALIDITY changed in INBOX. More wait: fetch again.",
    );
    expect(reportText({ ...ok, already: 0, uidvalidity_changed: [], restarted: ["INBOX"], more: false })).toBe(
      "Fetched 1 message; read again from the start (delta expired) in INBOX.",
    );
    const failed = { ...ok, error: "cannot reach h:993", mailbox: { ...stored, error_count: 1 } };
    expect(reportText(failed)).toBe("Fetch failed (1 of 3 failures in a row): cannot reach h:993.");
  });

  it("sends a resync time as RFC 3339 UTC", () => {
    expect(sinceParam("2026-12-01T08:30")).toBe("2026-12-01T08:30:00Z");
    expect(sinceParam("")).toBe("");
  });
});

describe("owners and workflow group members", () => {
  it("adds a bare name in the domain, lower-cased, never twice", () => {
    expect(addAddress([], "Anna", "Example.com")).toEqual(["anna@example.com"]);
    expect(addAddress(["anna@example.com"], " ANNA@example.com ", "example.com")).toEqual(["anna@example.com"]);
    expect(addAddress(["anna@example.com"], "bo@example.com", "example.com")).toEqual(["anna@example.com", "bo@example.com"]);
    expect(addAddress(["a@x.test"], "  ", "x.test")).toEqual(["a@x.test"]);
  });

  it("says who owns it", () => {
    expect(ownersLabel(stored)).toBe("no owner");
    expect(ownersLabel({ ...stored, owners: ["anna@example.com"], owner_groups: ["Sales", "Desk"] })).toBe(
      "anna@example.com; groups Sales, Desk",
    );
    expect(ownersLabel({ ...stored, owner_groups: ["Sales"] })).toBe("group Sales");
  });
});

describe("auto-reply", () => {
  it("round-trips the stored period through datetime-local values in UTC", () => {
    const m = {
      ...stored,
      auto_reply: { enabled: true, starts_at: "2026-12-24T08:00:00Z", ends_at: "2027-01-02T00:00:00+00:00", subject: "Away", text: "Back soon" },
    };
    const f = autoReplyFormOf(m);
    expect(f).toEqual({ enabled: true, startsAt: "2026-12-24T08:00", endsAt: "2027-01-02T00:00", subject: "Away", text: "Back soon" });
    expect(autoReplyParams(m.address, f)).toEqual({
      address: "desk@example.com",
      enabled: true,
      starts_at: "2026-12-24T08:00:00Z",
      ends_at: "2027-01-02T00:00:00Z",
      subject: "Away",
      text: "Back soon",
    });
    expect(autoReplyLabel(m)).toBe("on from 2026-12-24 08:00 UTC until 2027-01-02 00:00 UTC");
  });

  it("leaves empty dates out and says off", () => {
    const p = autoReplyParams("d@x.test", { enabled: false, startsAt: "", endsAt: "", subject: " s ", text: "t" });
    expect(p).toEqual({ address: "d@x.test", enabled: false, subject: "s", text: "t" });
    expect(autoReplyLabel(stored)).toBe("off");
    expect(autoReplyLabel({ ...stored, auto_reply: { enabled: true, subject: "s", text: "t" } })).toBe("on until turned off");
    expect(localOf("not a date")).toBe("");
    expect(localOf(undefined)).toBe("");
  });
});

describe("the domain's DNS in words", () => {
  const r = (status: CheckResult["status"], message?: string): CheckResult => ({
    status,
    findings: message ? [{ code: "c", severity: status === "pass" ? "info" : "fail", message, fix: null }] : [],
  });
  const report: DomainReport = {
    domain: "example.com",
    checks: {
      mx: r("pass", "MX ok"),
      spf: { ...r("fail", "no SPF record"), lookups: 0, void_lookups: 0 },
      dkim: r("unset"),
      dmarc: r("warn", "p=none"),
      cname: r("unset"),
      mta_sts: r("unset"),
      tls_rpt: r("pass"),
    },
  };

  it("says which records pass and which do not, CNAME left out", () => {
    const lines = dnsLines(report);
    expect(lines.map((l) => `${l.check} ${l.words}`)).toEqual([
      "mx passes",
      "spf fails",
      "dkim is not published",
      "dmarc has a warning",
      "mta_sts is not published (optional)",
      "tls_rpt passes",
    ]);
    expect(lines[1].details).toEqual(["no SPF record"]);
    expect(dnsVerdict(lines)).toBe("Not passing: SPF, DKIM, DMARC.");
  });

  it("passes only when every required check does; optional ones do not count", () => {
    const all = { ...report, checks: { ...report.checks, spf: { ...report.checks.spf, status: "pass" as const }, dkim: r("pass"), dmarc: r("pass") } };
    expect(dnsVerdict(dnsLines(all))).toBe("Every required record passes.");
  });
});

describe("template and default mailboxes", () => {
  it("says the template in words and sends none for empty fields", () => {
    expect(templateLabel(stored)).toBe("none");
    expect(templateLabel({ ...stored, template: { font: "Georgia", size_pt: 12 } })).toBe("Georgia, 12 pt");
    expect(templateParams("desk@example.com", "", "")).toEqual({ address: "desk@example.com" });
    expect(templateParams("desk@example.com", "Arial", " 14 ")).toEqual({ address: "desk@example.com", font: "Arial", size_pt: 14 });
  });
  it("previews only a size in range, with a generic fallback font", () => {
    expect(templateStyle("Georgia", "12")).toEqual({ fontFamily: '"Georgia", serif', fontSize: "12pt" });
    expect(templateStyle("Arial", "40")).toEqual({ fontFamily: '"Arial", sans-serif' });
    expect(templateStyle("", "")).toEqual({});
  });
  it("finds a mailbox's owners and counts those without a default", () => {
    const owners = [
      { address: "ann@example.com", owns: ["desk@example.com"] },
      { address: "bob@example.com", owns: ["sales@example.com"], default_mailbox: "sales@example.com" },
    ];
    expect(ownersOf(owners, "desk@example.com").map((o) => o.address)).toEqual(["ann@example.com"]);
    expect(noDefaultLabel(1)).toBe("1 owner has no default mailbox");
    expect(noDefaultLabel(2)).toBe("2 owners have no default mailbox");
  });
});
