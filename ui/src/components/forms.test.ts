import { describe, expect, it } from "vitest";
import { BackendError } from "../api/errors";
import { fieldError, splitList, wholeNumber } from "./forms";

describe("fieldError", () => {
  it("gives the error to the field it names, and to no other", () => {
    const e = new BackendError("conflict", "taken", "address");
    expect(fieldError(e, "address")).toBe(e);
    expect(fieldError(e, "display_name")).toBeNull();
    expect(fieldError(new BackendError("internal", "boom"), "address")).toBeNull();
    expect(fieldError(null, "address")).toBeNull();
  });
});

describe("splitList", () => {
  it("splits on lines, commas, semicolons and spaces", () => {
    expect(splitList(" a@x.org,b@x.org\n\nc@x.org ; d@x.org  e@x.org ")).toEqual([
      "a@x.org",
      "b@x.org",
      "c@x.org",
      "d@x.org",
      "e@x.org",
    ]);
    expect(splitList("   ")).toEqual([]);
  });
});

describe("wholeNumber", () => {
  it("refuses an empty field at that field instead of reading it as 0", () => {
    expect(() => wholeNumber("  ", "max_accounts", "Max accounts")).toThrow(/Max accounts: enter a number/);
    try {
      wholeNumber("", "max_accounts", "Max accounts");
    } catch (e) {
      expect((e as BackendError).field).toBe("max_accounts");
      expect((e as BackendError).code).toBe("validation");
    }
    expect(() => wholeNumber("1.5", "quota_mb", "Quota")).toThrow(/not a whole number/);
    expect(() => wholeNumber("-3", "quota_mb", "Quota")).toThrow(/not a whole number/);
    expect(wholeNumber(" 0 ", "quota_mb", "Quota")).toBe(0);
    expect(wholeNumber("250", "max_accounts", "Max accounts")).toBe(250);
  });
});
