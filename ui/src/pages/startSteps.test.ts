import { describe, expect, it } from "vitest";
import type { Caller } from "../bindings/Caller";
import type { Domain } from "../bindings/Domain";
import { startSteps, startsFresh } from "./startSteps";

const domain = (name: string, accounts: number): Domain => ({
  name,
  display_name: name,
  group: null,
  limits: { max_accounts: 50, mailbox_size_mb: 1024, attachment_size_mb: 25, large_attachments: false },
  account_count: accounts,
  created_at: "2026-12-04T00:00:00Z",
});

describe("startSteps", () => {
  it("starts at the domain, the later steps waiting", () => {
    const steps = startSteps([], new Set());
    expect(steps.map((s) => [s.id, s.state])).toEqual([
      ["domain", "todo"],
      ["dns", "later"],
      ["accounts", "later"],
      ["clients", "later"],
    ]);
  });
  it("names the domains whose DNS is not set up yet, and counts the accounts", () => {
    const steps = startSteps([domain("a.test", 0), domain("b.test", 3)], new Set(["a.test"]));
    expect(steps[0].state).toBe("done");
    expect(steps[1]).toMatchObject({ state: "todo", page: "dns" });
    expect(steps[1].detail).toContain("b.test");
    expect(steps[1].detail).not.toContain("a.test");
    expect(steps[2]).toMatchObject({ state: "done" });
    expect(steps[2].detail).toMatch(/^3 accounts/);
    expect(steps[3].state).toBe("todo");
  });
});

describe("startsFresh", () => {
  const owner: Caller = { name: "owner", role: "owner", pages: [], domains: null };
  it("opens the first-run path for an owner with no domain only", () => {
    expect(startsFresh(owner, [])).toBe(true);
    expect(startsFresh(owner, [domain("a.test", 0)])).toBe(false);
    expect(startsFresh({ ...owner, role: "admin" }, [])).toBe(false);
  });
});
