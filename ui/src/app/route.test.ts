import { describe, expect, it } from "vitest";
import type { Caller } from "../bindings/Caller";
import { mayUse } from "./route";

const owner: Caller = { name: "owner", role: "owner", pages: [], domains: null };
const olga: Caller = { name: "olga", role: "admin", pages: ["accounts", "departments"], domains: ["other.org"] };

describe("mayUse", () => {
  it("gives owners every page, admins and tokens included", () => {
    expect(mayUse(owner, "audit", false)).toBe(true);
    expect(mayUse(owner, "admins", false)).toBe(true);
  });
  it("gives others only their pages, never admins", () => {
    expect(mayUse(olga, "accounts", false)).toBe(true);
    expect(mayUse(olga, "aliases", false)).toBe(false);
    expect(mayUse(olga, "admins", false)).toBe(false);
    expect(mayUse(olga, "dns", false)).toBe(false);
    expect(mayUse({ ...olga, pages: ["dns"] }, "dns", false)).toBe(true);
  });
  it("puts the recycle bin and mailbox settings under the accounts permission", () => {
    expect(mayUse(olga, "recycle", false)).toBe(true);
    expect(mayUse(olga, "mailbox-settings", false)).toBe(true);
    const aliasesOnly: Caller = { ...olga, pages: ["aliases"] };
    expect(mayUse(aliasesOnly, "recycle", false)).toBe(false);
    expect(mayUse(aliasesOnly, "mailbox-settings", false)).toBe(false);
  });
  it("puts the login log under the accounts permission, helpdesk included", () => {
    expect(mayUse(olga, "logins", false)).toBe(true);
    expect(mayUse({ ...olga, role: "helpdesk" }, "logins", false)).toBe(true);
    expect(mayUse({ ...olga, pages: ["aliases"] }, "logins", false)).toBe(false);
  });
  it("gives the server-wide mail service page only to admins of every domain", () => {
    expect(mayUse(owner, "smtp", false)).toBe(true);
    expect(mayUse({ ...olga, pages: ["smtp"] }, "smtp", false)).toBe(false);
    expect(mayUse({ ...olga, pages: ["smtp"], domains: null }, "smtp", false)).toBe(true);
    expect(mayUse({ ...olga, domains: null }, "smtp", false)).toBe(false);
    expect(mayUse({ ...olga, pages: ["smtp"], domains: null }, "outbound", false)).toBe(true);
    expect(mayUse({ ...olga, pages: ["smtp"] }, "outbound", false)).toBe(false);
  });
  it("offers the local server settings in the desktop app only", () => {
    expect(mayUse(owner, "settings", false)).toBe(false);
    expect(mayUse(olga, "settings", true)).toBe(true);
  });
});
