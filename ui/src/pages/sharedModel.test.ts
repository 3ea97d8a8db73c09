import { describe, expect, it } from "vitest";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import {
  createParams,
  emptySharedForm,
  formOf,
  intervalLabel,
  reportText,
  sinceParam,
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
  secret_set: true,
  fetch_interval_minutes: 15,
  disable_after: 3,
  error_count: 0,
  folders: [],
  fetched_messages: 0,
  owners: [],
  owner_groups: [],
  auto_reply: { enabled: false, subject: "", text: "" },
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

  it("describes a fetch", () => {
    const ok = { fetched: 1, already: 2, too_large: 0, uidvalidity_changed: ["INBOX"], more: true, mailbox: stored };
    expect(reportText(ok)).toBe(
      "Fetched 1 message; 2 seen before and not stored again; UIDVALIDITY changed in INBOX. More wait: fetch again.",
    );
    const failed = { ...ok, error: "cannot reach h:993", mailbox: { ...stored, error_count: 1 } };
    expect(reportText(failed)).toBe("Fetch failed (1 of 3 failures in a row): cannot reach h:993.");
  });

  it("sends a resync time as RFC 3339 UTC", () => {
    expect(sinceParam("2026-12-01T08:30")).toBe("2026-12-01T08:30:00Z");
    expect(sinceParam("")).toBe("");
  });
});
