import { describe, expect, it } from "vitest";
import { buildRequest } from "../api/http";
import { PAGES, mayUse } from "../app/route";
import type { Caller } from "../bindings/Caller";
import { targetFromHash } from "./BatchSettingsPage";

describe("batch settings pages", () => {
  it("are pages a sub-admin must be given", () => {
    const desk: Caller = { name: "desk", role: "helpdesk", pages: ["policy"], domains: ["a.example"] };
    expect(mayUse(desk, "policy", false)).toBe(true);
    expect(mayUse(desk, "batch_settings", false)).toBe(false);
    expect(mayUse(desk, "address_book", false)).toBe(false);
    expect(PAGES.find((p) => p.id === "batch_settings")?.perDomain).toBe(true);
    expect(PAGES.find((p) => p.id === "policy")?.perDomain).toBe(false);
  });

  it("take a department or an account from the link that opened them", () => {
    expect(targetFromHash("#/batch_settings?department=Sales%2FEast")).toEqual({ kind: "department", value: "Sales/East" });
    expect(targetFromHash("#/batch_settings?account=ann%40example.com")).toEqual({ kind: "accounts", value: "ann@example.com" });
    expect(targetFromHash("#/batch_settings")).toBeNull();
    expect(targetFromHash("#/batch_settings?other=1")).toBeNull();
  });

  it("send a batch target in the body and level params in the query", () => {
    const put = buildRequest(
      "http://h",
      "update_settings",
      {
        domain: "example.com",
        target: { kind: "department", path: "Sales", subdepartments: true },
        set: { external_send: false },
        clear: ["pop3"],
      },
      "t",
    );
    expect(put.method).toBe("PUT");
    expect(put.url).toBe("http://h/api/domains/example.com/settings");
    expect(JSON.parse(put.body!)).toEqual({
      target: { kind: "department", path: "Sales", subdepartments: true },
      set: { external_send: false },
      clear: ["pop3"],
    });
    const get = buildRequest("http://h", "get_settings", { domain: "example.com", department: "Sales/East" }, "t");
    expect(get.url).toBe("http://h/api/domains/example.com/settings?department=Sales%2FEast");
    const eff = buildRequest("http://h", "get_effective_settings", { address: "ann@example.com" }, "t");
    expect(eff.url).toBe("http://h/api/accounts/ann%40example.com/settings");
    const explain = buildRequest("http://h", "explain_policy", { sender: "a@x.example", recipients: ["b@y.example"] }, "t");
    expect(explain.url).toBe("http://h/api/policy/explain");
    expect(explain.method).toBe("POST");
  });
});
