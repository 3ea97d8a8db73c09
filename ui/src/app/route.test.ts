import { describe, expect, it } from "vitest";
import type { Caller } from "../bindings/Caller";
import { PAGES, loadNavCollapsed, loadPickedDomain, mayUse, navSections, saveNavCollapsed, savePickedDomain } from "./route";

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
  it("offers the first-run path to those who may add domains", () => {
    expect(mayUse(owner, "start", false)).toBe(true);
    expect(mayUse({ ...olga, pages: ["domains"] }, "start", false)).toBe(false);
    expect(mayUse({ ...olga, pages: ["domains"], domains: null }, "start", false)).toBe(true);
  });
  it("offers the local server settings in the desktop app only", () => {
    expect(mayUse(owner, "settings", false)).toBe(false);
    expect(mayUse(olga, "settings", true)).toBe(true);
  });
});

describe("navSections", () => {
  it("lists every page once, under its section, in the sections' order", () => {
    const sections = navSections(PAGES);
    expect(sections.map((g) => g.title)).toEqual([null, "Organisation", "Mail flow", "Security", "Administration"]);
    expect(sections.flatMap((g) => g.pages).length).toBe(PAGES.length);
    expect(sections.find((g) => g.id === "security")?.pages.map((p) => p.id)).toContain("dns");
  });
  it("leaves out a section with no page the caller may use", () => {
    const visible = PAGES.filter((p) => mayUse(olga, p.id, false));
    const titles = navSections(visible).map((g) => g.title);
    expect(titles).not.toContain("Administration");
    // Of the mail flow, a sub-admin of some domains has only the message trace (its
    // domains' mail) and its domains' outbound usage; the server-wide pages are not for it.
    const mail = navSections(visible).find((g) => g.id === "mail");
    expect(mail?.pages.map((p) => p.id)).toEqual(["trace", "outbound-usage"]);
    expect(mayUse({ ...olga, pages: ["aliases"] }, "trace", false)).toBe(false);
  });
});

describe("picked domain", () => {
  it("is kept per backend", () => {
    const data = new Map<string, string>();
    const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    expect(loadPickedDomain(store, "b1")).toBeNull();
    savePickedDomain(store, "b1", "other.org");
    expect(loadPickedDomain(store, "b1")).toBe("other.org");
    expect(loadPickedDomain(store, "b2")).toBeNull();
  });
});

describe("menu collapsed", () => {
  it("starts hidden on a narrow window, then follows the admin's choice", () => {
    const data = new Map<string, string>();
    const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    expect(loadNavCollapsed(store, 1024)).toBe(true);
    expect(loadNavCollapsed(store, 1280)).toBe(false);
    saveNavCollapsed(store, false);
    expect(loadNavCollapsed(store, 1024)).toBe(false);
    saveNavCollapsed(store, true);
    expect(loadNavCollapsed(store, 1920)).toBe(true);
  });
});
