import type { LoginRecord } from "../bindings/LoginRecord";

/** The filters a link may open the login log with: `#/logins?account=…&domain=…`. */
export function loginFilterFromHash(hash: string): { account: string; domain: string } {
  const query = new URLSearchParams(hash.split("?")[1] ?? "");
  return { account: query.get("account") ?? "", domain: query.get("domain") ?? "" };
}

/** The link to an account's logins. */
export function loginsLink(account: string): string {
  return `#/logins?account=${encodeURIComponent(account)}`;
}

const SERVICE: Record<string, string> = { smtp: "SMTP", imap: "IMAP", pop3: "POP3", portal: "User portal", admin: "Admin sign-in" };

/** `imap` → `IMAP`. */
export function serviceLabel(service: string): string {
  return SERVICE[service] ?? service.toUpperCase();
}

/**
 * Why, in plain words: the backend's explanation, or (from an older backend without one)
 * the reason code spelled out.
 */
export function why(r: Pick<LoginRecord, "explanation" | "reason">): string {
  return r.explanation || r.reason.replace(/_/g, " ");
}

/** A stored time as shown: `2026-12-03 10:00:00`. */
export function when(at: string): string {
  return at.replace("T", " ").replace("Z", "");
}

/**
 * Cursor paging, newest first: the `before` of each page seen so far (the first page has
 * none), so "Newer" goes back without the backend counting rows.
 */
export interface Pages {
  stack: (number | undefined)[];
}

export const firstPage: Pages = { stack: [undefined] };

export function current(p: Pages): number | undefined {
  return p.stack[p.stack.length - 1];
}

export function older(p: Pages, nextBefore: number): Pages {
  return { stack: [...p.stack, nextBefore] };
}

export function newer(p: Pages): Pages {
  return p.stack.length > 1 ? { stack: p.stack.slice(0, -1) } : p;
}
