import { describe, expect, it } from "vitest";
import type { QueuedMessage } from "../bindings/QueuedMessage";
import { counts, parsePort, senderLabel, statusLabel, waiting } from "./outboundModel";

const message = (sender: string, statuses: QueuedMessage["recipients"][number]["status"][]): QueuedMessage => ({
  id: 1,
  sender,
  size: 10,
  created_at: "2026-12-03T18:00:00Z",
  leased_by: null,
  recipients: statuses.map((status, i) => ({
    address: `r${i}@remote.test`,
    status,
    attempts: 1,
    next_attempt_at: null,
    last_attempt_at: null,
    last_reply: null,
  })),
});

describe("outbound queue model", () => {
  it("offers retry and bounce only while a recipient waits", () => {
    expect(waiting(message("a@x.test", ["delivered", "deferred"]))).toBe(true);
    expect(waiting(message("a@x.test", ["delivered", "bounced"]))).toBe(false);
  });
  it("names the null sender and every state", () => {
    expect(senderLabel(message("", ["queued"]))).toBe("<> (a bounce)");
    expect(statusLabel("deferred")).toBe("Deferred (will retry)");
    expect(counts([message("a@x.test", ["queued", "bounced"]), message("", ["bounced"])])).toEqual({
      queued: 1,
      deferred: 0,
      delivered: 0,
      bounced: 2,
    });
  });
  it("reads ports", () => {
    expect(parsePort(" 2525 ")).toBe(2525);
    expect(parsePort("0")).toBeNull();
    expect(parsePort("x")).toBeNull();
  });
});
