import { useEffect, useState } from "react";
import type { Caller } from "../bindings/Caller";
import type { Page } from "../bindings/Page";

export type PageId = Page | "recycle" | "mailbox-settings" | "logins" | "outbound" | "admins" | "settings";

export interface PageDef {
  id: PageId;
  title: string;
  /** Works on the domain picked in the header. */
  perDomain: boolean;
}

export const PAGES: PageDef[] = [
  { id: "domains", title: "Domains", perDomain: false },
  { id: "departments", title: "Departments", perDomain: true },
  { id: "accounts", title: "Accounts", perDomain: true },
  { id: "recycle", title: "Recycle bin", perDomain: true },
  { id: "mailbox-settings", title: "Mailbox settings", perDomain: true },
  { id: "aliases", title: "Aliases", perDomain: true },
  { id: "groups", title: "Mail groups", perDomain: true },
  { id: "dns", title: "DNS", perDomain: true },
  { id: "batch_settings", title: "Batch settings", perDomain: true },
  { id: "address_book", title: "Address book", perDomain: true },
  { id: "policy", title: "Policy explainer", perDomain: false },
  { id: "smtp", title: "Mail service", perDomain: false },
  { id: "outbound", title: "Outbound queue", perDomain: false },
  { id: "admins", title: "Admins & tokens", perDomain: false },
  { id: "audit", title: "Audit log", perDomain: false },
  { id: "logins", title: "Login log", perDomain: false },
  { id: "settings", title: "Local server", perDomain: false },
];

/**
 * The permission page a UI page belongs to (the recycle bin, mailbox settings and the login
 * log are Accounts; the outbound queue is the mail service's).
 */
function permissionOf(page: Exclude<PageId, "admins" | "settings">): Page {
  if (page === "outbound") return "smtp";
  return page === "recycle" || page === "mailbox-settings" || page === "logins" ? "accounts" : page;
}

/** Whether the caller may use a page (the backend checks again on every call). */
export function mayUse(caller: Caller, page: PageId, desktop: boolean): boolean {
  if (page === "settings") return desktop;
  if (page === "admins") return caller.role === "owner";
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
