import { describe, expect, it } from "vitest";
import { actionWords, auditChanges } from "./auditModel";

describe("auditChanges", () => {
  it("lists only the fields that changed, as words", () => {
    const before = { address: "ann@x.test", status: "normal", quota_mb: 1024, limits: { max_accounts: 50, pop3: true } };
    const after = { address: "ann@x.test", status: "disabled", quota_mb: 2048, limits: { max_accounts: 50, pop3: false } };
    expect(auditChanges(before, after)).toEqual([
      { field: "status", before: "normal", after: "disabled" },
      { field: "quota mb", before: "1024", after: "2048" },
      { field: "limits › pop3", before: "yes", after: "no" },
    ]);
  });
  it("shows a creation and a removal field by field", () => {
    expect(auditChanges(null, { name: "Sales", members: ["a@x.test", "b@x.test"] })).toEqual([
      { field: "name", before: null, after: "Sales" },
      { field: "members", before: null, after: "a@x.test, b@x.test" },
    ]);
    expect(auditChanges({ name: "Sales" }, null)).toEqual([{ field: "name", before: "Sales", after: null }]);
  });
  it("words a plain value and an action", () => {
    expect(auditChanges("old", "new")).toEqual([{ field: "value", before: "old", after: "new" }]);
    expect(actionWords("create_account")).toBe("Create account");
  });
});
