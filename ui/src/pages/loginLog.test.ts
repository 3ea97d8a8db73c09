import { describe, expect, it } from "vitest";
import { current, firstPage, loginFilterFromHash, loginsLink, newer, older, serviceLabel, when, why } from "./loginLog";

describe("login log", () => {
  it("opens with the filters of its link", () => {
    expect(loginFilterFromHash(loginsLink("ann+x@example.com"))).toEqual({ account: "ann+x@example.com", domain: "" });
    expect(loginFilterFromHash("#/logins?domain=example.com")).toEqual({ account: "", domain: "example.com" });
    expect(loginFilterFromHash("#/logins")).toEqual({ account: "", domain: "" });
  });

  it("says why in plain words", () => {
    expect(why({ explanation: "POP3 switched off for this account", reason: "service_disabled" })).toBe(
      "POP3 switched off for this account",
    );
    expect(why({ explanation: "", reason: "wrong_password" })).toBe("wrong password");
    expect(serviceLabel("pop3")).toBe("POP3");
    expect(serviceLabel("portal")).toBe("User portal");
    expect(serviceLabel("admin")).toBe("Admin sign-in");
    expect(when("2026-12-03T10:00:00Z")).toBe("2026-12-03 10:00:00");
  });

  it("pages back and forth with cursors", () => {
    const second = older(firstPage, 120);
    const third = older(second, 70);
    expect([current(firstPage), current(second), current(third)]).toEqual([undefined, 120, 70]);
    expect(current(newer(third))).toBe(120);
    expect(newer(firstPage)).toBe(firstPage);
  });
});
