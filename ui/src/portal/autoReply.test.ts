import { describe, expect, it } from "vitest";
import { autoReplyText, fromLocalInput, toLocalInput } from "./autoReply";

describe("portal auto-reply", () => {
  it("reads and writes the period as UTC", () => {
    expect(fromLocalInput("2026-12-24T08:30")).toBe("2026-12-24T08:30:00Z");
    expect(fromLocalInput("  ")).toBeUndefined();
    expect(toLocalInput("2026-12-24T08:30:00Z")).toBe("2026-12-24T08:30");
    expect(toLocalInput(undefined)).toBe("");
  });
  it("says whether and when it answers", () => {
    const r = { enabled: true, subject: "Away", text: "Back soon." };
    expect(autoReplyText({ ...r, enabled: false })).toMatch(/^Off/);
    expect(autoReplyText({ ...r, ends_at: "2027-01-04T00:00:00Z" })).toBe(
      "On until 2027-01-04 00:00 UTC: each sender gets “Away” once (never mailing lists, bulk mail or automatic senders).",
    );
  });
});
