import { describe, expect, it } from "vitest";
import { forwardingText, parseTargets } from "./forwarding";

describe("portal forwarding", () => {
  it("reads addresses one per line or separated by commas, without blanks", () => {
    expect(parseTargets(" a@x.test,\nb@y.test ;\n\n c@z.test ")).toEqual(["a@x.test", "b@y.test", "c@z.test"]);
    expect(parseTargets("  \n ")).toEqual([]);
  });

  it("says what happens to the mail", () => {
    expect(forwardingText({ targets: [], keep_copy: true, allowed: true })).toBe("Mail is not forwarded.");
    expect(forwardingText({ targets: ["a@x.test"], keep_copy: true, allowed: true })).toContain("a copy stays");
    expect(forwardingText({ targets: ["a@x.test"], keep_copy: false, allowed: true })).toContain("no copy stays");
    expect(forwardingText({ targets: ["a@x.test"], keep_copy: false, allowed: false })).toContain("not used");
  });
});
