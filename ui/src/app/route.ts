import { useEffect, useState } from "react";
import type { Caller } from "../bindings/Caller";
import type { Page } from "../bindings/Page";

export type PageId =
  | Page
  | "start"
  | "recycle"
  | "mailbox-settings"
  | "shared-mailboxes"
  | "workflow-groups"
  | "logins"
  | "outbound"
  | "trace"
  | "admins"
  | "settings"
  | "mail-rules"
  | "outbound-usage"
  | "sign-in";

/** The sections of the navigation. */
export type NavGroup = "start" | "organisation" | "mail" | "security" | "administration";

export const NAV_GROUPS: { id: NavGroup; title: string | null }[] = [
  { id: "start", title: null },
  { id: "organisation", title: "Organisation" },
  { id: "mail", title: "Mail flow" },
  { id: "security", title: "Security" },
  { id: "administration", title: "Administration" },
];

export interface PageDef {
  id: PageId;
  title: string;
  /** Works on the domain picked in the header. */
  perDomain: boolean;
  /** The navigation section it is listed under. */
  group: NavGroup;
}

export const PAGES: PageDef[] = [
  { id: "start", title: "Get started", perDomain: false, group: "start" },
  { id: "domains", title: "Domains", perDomain: false, group: "organisation" },
  { id: "departments", title: "Departments", perDomain: true, group: "organisation" },
  { id: "accounts", title: "Accounts", perDomain: true, group: "organisation" },
  { id: "recycle", title: "Recycle bin", perDomain: true, group: "organisation" },
  { id: "mailbox-settings", title: "Mailbox settings", perDomain: true, group: "organisation" },
  { id: "shared-mailboxes", title: "Shared mailboxes", perDomain: true, group: "organisation" },
  { id: "workflow-groups", title: "Workflow groups", perDomain: true, group: "organisation" },
  { id: "aliases", title: "Aliases", perDomain: true, group: "organisation" },
  { id: "groups", title: "Mail groups", perDomain: true, group: "organisation" },
  { id: "batch_settings", title: "Batch settings", perDomain: true, group: "organisation" },
  { id: "address_book", title: "Address book", perDomain: true, group: "organisation" },
  { id: "smtp", title: "Mail service", perDomain: false, group: "mail" },
  { id: "outbound", title: "Outbound queue", perDomain: false, group: "mail" },
  { id: "policy", title: "Policy explainer", perDomain: false, group: "mail" },
  { id: "trace", title: "Message trace", perDomain: false, group: "mail" },
  { id: "mail-rules", title: "Mail rules", perDomain: true, group: "mail" },
  { id: "outbound-usage", title: "Outbound usage", perDomain: true, group: "mail" },
  { id: "dns", title: "DNS", perDomain: true, group: "security" },
  { id: "logins", title: "Login log", perDomain: false, group: "security" },
  { id: "sign-in", title: "Your sign-in", perDomain: false, group: "security" },
  { id: "admins", title: "Admins & tokens", perDomain: false, group: "administration" },
  { id: "audit", title: "Audit log", perDomain: false, group: "administration" },
  { id: "settings", title: "Local server", perDomain: false, group: "administration" },
];

/** The pages of `visible` under each navigation section, sections without pages left out. */
export function navSections(visible: readonly PageDef[]): { id: NavGroup; title: string | null; pages: PageDef[] }[] {
  return NAV_GROUPS.map((g) => ({ ...g, pages: visible.filter((p) => p.group === g.id) })).filter((g) => g.pages.length > 0);
}

/**
 * The permission page a UI page belongs to (the recycle bin, mailbox settings, shared
 * mailboxes, workflow groups, the login log and the message trace are Accounts; the outbound queue is the mail service's).
 */
function permissionOf(page: Exclude<PageId, "admins" | "settings" | "start" | "sign-in">): Page {
  if (page === "outbound") return "smtp";
  if (page === "shared-mailboxes" || page === "workflow-groups") return "accounts";
  // Mail rules on the path are the delivery policy's.
  if (page === "mail-rules") return "policy";
  return page === "recycle" || page === "mailbox-settings" || page === "logins" || page === "trace" || page === "outbound-usage"
    ? "accounts"
    : page;
}

/** Whether the caller may use a page (the backend checks again on every call). */
export function mayUse(caller: Caller, page: PageId, desktop: boolean): boolean {
  // The first-run path sets up domains: for those who may add one.
  if (page === "start") return caller.role === "owner" || (caller.domains === null && caller.pages.includes("domains"));
  if (page === "settings") return desktop;
  if (page === "admins") return caller.role === "owner";
  // Every admin's own password and second factor; the local owner (desktop app, CLI) has none.
  if (page === "sign-in") return caller.name !== "local";
  if (caller.role === "owner") return true;
  // The mail service's settings are server-wide: an admin limited to some domains may not.
  if ((page === "smtp" || page === "outbound") && caller.domains !== null) return false;
  return caller.pages.includes(permissionOf(page));
}

function read(): PageId | null {
  const id = window.location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return PAGES.some((p) => p.id === id) ? (id as PageId) : null;
}

/** The current page, kept in the URL hash so Back and reload work. */
export function useRoute(): [PageId | null, (p: PageId) => void] {
  const [page, setPage] = useState<PageId | null>(read);
  useEffect(() => {
    const on = () => setPage(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const go = (p: PageId) => {
    if (read() !== p) window.location.hash = `#/${p}`;
    setPage(p);
  };
  return [page, go];
}

/** The domain last picked in the header for a backend, kept across reloads. */
export function domainKey(backendId: string): string {
  return `postdesk.domain:${backendId}`;
}

type Store = Pick<Storage, "getItem" | "setItem">;

export function loadPickedDomain(store: Store | null, backendId: string): string | null {
  try {
    return store?.getItem(domainKey(backendId)) ?? null;
  } catch {
    return null;
  }
}

export function savePickedDomain(store: Store | null, backendId: string, domain: string | null): void {
  try {
    if (domain) store?.setItem(domainKey(backendId), domain);
  } catch {
    // Storage full or disabled: the first domain is picked next time.
  }
}

const NAV_KEY = "postdesk.nav";

/** Whether the menu (backends and pages) is hidden: as last chosen, else hidden below 1100 px. */
export function loadNavCollapsed(store: Store | null, width: number): boolean {
  try {
    const v = store?.getItem(NAV_KEY);
    if (v === "collapsed") return true;
    if (v === "expanded") return false;
  } catch {
    // No storage: decide by the width.
  }
  return width < 1100;
}

export function saveNavCollapsed(store: Store | null, collapsed: boolean): void {
  try {
    store?.setItem(NAV_KEY, collapsed ? "collapsed" : "expanded");
  } catch {
    // Storage full or disabled: decided by the width next time.
  }
}
