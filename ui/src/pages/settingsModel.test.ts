import { describe, expect, it } from "vitest";
import type { EffectiveValues } from "../bindings/EffectiveValues";
import {
  RULES,
  SETTINGS,
  SETTING_KEYS,
  choicesToParams,
  describeTarget,
  effectiveOf,
  formatValue,
  parseList,
} from "./settingsModel";

describe("settings model", () => {
  it("describes every setting and every rule", () => {
    expect(SETTING_KEYS).toHaveLength(16);
    expect(SETTING_KEYS[0]).toBe("external_send");
    for (const key of SETTING_KEYS) expect(SETTINGS[key].label).not.toBe("");
    expect(Object.keys(RULES)).toHaveLength(14);
  });

  it("formats values per setting", () => {
    expect(formatValue("external_send", false)).toBe("Disallow");
    expect(formatValue("pop3", true)).toBe("On");
    expect(formatValue("address_book", false)).toBe("Hidden");
    expect(formatValue("send_exceptions", [])).toBe("(none)");
    expect(formatValue("send_exceptions", ["a.example", "b@c.example"])).toBe("a.example, b@c.example");
    expect(formatValue("lockout_threshold", 5)).toBe("5");
    expect(formatValue("imap", null)).toBe("—");
  });

  it("reads one key of effective values", () => {
    const values = {
      external_send: { value: false, source: { level: "department", department: "Sales" } },
    } as unknown as EffectiveValues;
    expect(effectiveOf(values, "external_send")).toEqual({ value: false, source: { level: "department", department: "Sales" } });
  });

  it("turns the editor's choices into set and clear", () => {
    expect(
      choicesToParams({
        external_send: { kind: "value", value: false },
        send_exceptions: { kind: "value", value: "partner.example, boss@far.example\nx.example" },
        lockout_threshold: { kind: "value", value: "3" },
        pop3: { kind: "inherit" },
      }),
    ).toEqual({
      set: { external_send: false, send_exceptions: ["partner.example", "boss@far.example", "x.example"], lockout_threshold: 3 },
      clear: ["pop3"],
    });
    expect(choicesToParams({})).toEqual({ set: {}, clear: [] });
    expect(choicesToParams({ receive_exceptions: { kind: "value", value: "" } }).set).toEqual({ receive_exceptions: [] });
  });

  it("splits lists and describes targets", () => {
    expect(parseList(" a , b;c\n\nd ")).toEqual(["a", "b", "c", "d"]);
    expect(describeTarget({ kind: "domain" }, "example.com")).toBe("the domain default of example.com");
    expect(describeTarget({ kind: "department", path: "Sales" }, "x")).toBe("department Sales and all its sub-departments");
    expect(describeTarget({ kind: "department", path: "Sales", subdepartments: false }, "x")).toMatch(/keep their own/);
    expect(describeTarget({ kind: "accounts", addresses: ["a@x"] }, "x")).toBe("account a@x");
    expect(describeTarget({ kind: "accounts", addresses: ["a@x", "b@x"] }, "x")).toBe("2 selected accounts");
  });
});
