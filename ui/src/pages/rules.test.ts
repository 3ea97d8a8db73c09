import { describe, expect, it } from "vitest";
import { describeRoute } from "../components/resolution";
import type { RecycledAccount } from "../bindings/RecycledAccount";
import { entryState } from "./RecycleBinPage";
import { cleanRules, moveRule, sameRules } from "./rules";

const r = (pattern: string, target: string) => ({ pattern, target });

describe("pickup rules", () => {
  it("move one place up or down and stay put at the ends", () => {
    const list = [r("a_*", "a@x.org"), r("b_*", "b@x.org"), r("c_*", "c@x.org")];
    expect(moveRule(list, 2, -1).map((x) => x.pattern)).toEqual(["a_*", "c_*", "b_*"]);
    expect(moveRule(list, 0, 1).map((x) => x.pattern)).toEqual(["b_*", "a_*", "c_*"]);
    expect(moveRule(list, 0, -1)).toBe(list);
    expect(moveRule(list, 2, 1)).toBe(list);
  });

  it("are cleaned for the API: trimmed, local targets completed, blank rows dropped", () => {
    const cleaned = cleanRules([r(" tiktok_{number} ", "ann"), r("", " "), r("sub_*", "bob@y.org")], "x.org");
    expect(cleaned).toEqual([r("tiktok_{number}", "ann@x.org"), r("sub_*", "bob@y.org")]);
    expect(sameRules(cleaned, [r("tiktok_{number}", "ann@x.org"), r("sub_*", "bob@y.org")])).toBe(true);
    expect(sameRules(cleaned, cleaned.slice().reverse())).toBe(false);
  });
});

describe("words", () => {
  it("say how an address is routed", () => {
    const base = { address: "t_1@x.org", mailboxes: [], external: [], rule: null };
    expect(describeRoute({ ...base, kind: "pickup_rule", rule: "t_{number}" })).toContain("the pickup rule t_{number}");
    expect(describeRoute({ ...base, kind: "catch_all" })).toContain("catch-all");
    expect(describeRoute({ ...base, kind: "alias" })).toBe("an alias");
  });

  it("say what became of a recycle-bin entry", () => {
    const e: RecycledAccount = {
      address: "a@x.org",
      display_name: "",
      deleted_at: "2026-01-01T00:00:00Z",
      deleted_by: "owner",
      purge_after: "2026-01-31T00:00:00Z",
      messages: 0,
      size_bytes: 0,
      restorable: true,
      restored_at: null,
      restored_by: null,
      transferred_to: null,
      transferred_at: null,
    };
    expect(entryState(e)).toBe("In the bin");
    expect(entryState({ ...e, transferred_to: "b@x.org" })).toBe("Mail moved to b@x.org. In the bin");
    expect(entryState({ ...e, restorable: false })).toBe("Waiting to be purged");
    expect(entryState({ ...e, restored_at: "2026-01-02T10:00:00Z", restored_by: "olga", restorable: false })).toBe(
      "Restored 2026-01-02 10:00:00 UTC by olga",
    );
  });
});
