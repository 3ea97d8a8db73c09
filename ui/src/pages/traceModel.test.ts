import { describe, expect, it } from "vitest";
import {
  currentCursor,
  emptyFilter,
  firstCursor,
  localToRfc3339,
  nextCursor,
  previousCursor,
  recipientsLabel,
  senderLabel,
  traceFilterFromHash,
  traceParams,
} from "./traceModel";

describe("message trace filters", () => {
  it("sends an address, a domain, the outcome and the time range, and leaves empty fields out", () => {
    expect(traceParams(emptyFilter)).toEqual({});
    expect(traceParams({ ...emptyFilter, search: " Ann@Example.com " })).toEqual({ address: "ann@example.com" });
    expect(traceParams({ ...emptyFilter, search: "example.com", outcome: "junk" })).toEqual({
      domain: "example.com",
      outcome: "junk",
    });
    expect(traceParams({ ...emptyFilter, messageId: " <a@b> ", since: "2026-12-01T09:30", until: "2026-12-02T00:00" })).toEqual({
      message_id: "<a@b>",
      since: "2026-12-01T09:30:00Z",
      until: "2026-12-02T00:00:00Z",
    });
    expect(localToRfc3339("2026-12-01T09:30:15")).toBe("2026-12-01T09:30:15Z");
  });

  it("opens from a link with an address", () => {
    expect(traceFilterFromHash("#/trace?address=ann%40example.com").search).toBe("ann@example.com");
    expect(traceFilterFromHash("#/trace").search).toBe("");
  });

  it("shows a bounce's empty sender and long recipient lists in words", () => {
    expect(senderLabel({ sender: "" })).toBe("(bounce, no sender)");
    expect(recipientsLabel({ recipients: ["a@x", "b@x", "c@x", "d@x"] })).toBe("a@x, b@x and 2 more");
    expect(recipientsLabel({ recipients: [] })).toBe("—");
  });

  it("walks pages forward by cursor and back", () => {
    const two = nextCursor(firstCursor, "100 7");
    expect(currentCursor(two)).toBe("100 7");
    expect(currentCursor(previousCursor(two))).toBeUndefined();
    expect(previousCursor(firstCursor)).toBe(firstCursor);
  });
});
