import { describe, expect, it } from "vitest";
import { appendLine } from "./AddressSuggest";

describe("address picker", () => {
  it("appends a picked address as a line, once", () => {
    expect(appendLine("", "ann@example.com")).toBe("ann@example.com");
    expect(appendLine("ann@example.com\n", "bob@example.com")).toBe("ann@example.com\nbob@example.com");
    expect(appendLine("ann@example.com bob@example.com", "BOB@example.com")).toBe("ann@example.com bob@example.com");
    expect(appendLine("ann@example.com", "  ")).toBe("ann@example.com");
  });
});
