import { describe, expect, it } from "vitest";
import { BackendError } from "../api/errors";
import { fieldError, splitList } from "./forms";

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
