import type { ListMessageTrace } from "../bindings/ListMessageTrace";
import type { TraceStage } from "../bindings/TraceStage";
import type { TracedMessage } from "../bindings/TracedMessage";

/** The filters of the Message trace page, as typed. */
export interface TraceFilter {
  /** An address (sender or recipient), a domain, or empty. */
  search: string;
  messageId: string;
  outcome: TraceStage | "";
  /** `datetime-local` values (UTC), or empty. */
  since: string;
  until: string;
}

export const emptyFilter: TraceFilter = { search: "", messageId: "", outcome: "", since: "", until: "" };

/** The outcomes a search may ask for, in plain words. */
export const OUTCOMES: { value: TraceStage; label: string }[] = [
  { value: "accepted", label: "Accepted" },
  { value: "refused", label: "Refused" },
  { value: "inbox", label: "Delivered to the inbox" },
  { value: "junk", label: "Put in Junk" },
  { value: "not_delivered", label: "Not delivered to the mailbox" },
  { value: "queued", label: "Waiting to be sent out" },
  { value: "delivered", label: "Sent to the other server" },
  { value: "deferred", label: "Sending delayed" },
  { value: "bounced", label: "Bounced" },
  { value: "discarded", label: "Dropped by a discard rule" },
];

/** `2026-12-03T10:00` (a datetime-local field, read as UTC) → RFC 3339. */
export function localToRfc3339(value: string): string | undefined {
  const v = value.trim();
  if (!v) return undefined;
  return /T\d\d:\d\d$/.test(v) ? `${v}:00Z` : `${v}Z`;
}

/**
 * The search's params: text with an `@` is an address, other text a domain; empty fields
 * are left out.
 */
export function traceParams(f: TraceFilter): ListMessageTrace {
  const p: ListMessageTrace = {};
  const search = f.search.trim().toLowerCase();
  if (search.includes("@")) p.address = search;
  else if (search) p.domain = search;
  if (f.messageId.trim()) p.message_id = f.messageId.trim();
  if (f.outcome) p.outcome = f.outcome;
  const since = localToRfc3339(f.since);
  const until = localToRfc3339(f.until);
  if (since) p.since = since;
  if (until) p.until = until;
  return p;
}

/** The filter a link may open the page with: `#/trace?address=…`. */
export function traceFilterFromHash(hash: string): TraceFilter {
  const query = new URLSearchParams(hash.split("?")[1] ?? "");
  return { ...emptyFilter, search: query.get("address") ?? query.get("domain") ?? "", messageId: query.get("message_id") ?? "" };
}

/** The link to an address's messages. */
export function traceLink(address: string): string {
  return `#/trace?address=${encodeURIComponent(address)}`;
}

/** A stored time as shown: `2026-12-03 10:00:00`. */
export function when(at: string): string {
  return at.replace("T", " ").replace("Z", "");
}

/** The sender as shown: the null sender is a bounce. */
export function senderLabel(m: Pick<TracedMessage, "sender">): string {
  return m.sender === "" ? "(bounce, no sender)" : m.sender;
}

/** The recipients as shown: the first two, then how many more. */
export function recipientsLabel(m: Pick<TracedMessage, "recipients">): string {
  const r = m.recipients;
  if (r.length === 0) return "—";
  return r.length <= 2 ? r.join(", ") : `${r.slice(0, 2).join(", ")} and ${r.length - 2} more`;
}

/** A badge's look per outcome. */
export function outcomeClass(o: TraceStage): string {
  switch (o) {
    case "inbox":
    case "delivered":
      return "active";
    case "refused":
    case "bounced":
    case "not_delivered":
    case "discarded":
      return "locked";
    default:
      return "disabled";
  }
}

/** Cursor paging: the `after` of each page seen so far (the first page has none). */
export interface Cursors {
  stack: (string | undefined)[];
}

export const firstCursor: Cursors = { stack: [undefined] };

export const currentCursor = (c: Cursors) => c.stack[c.stack.length - 1];
export const nextCursor = (c: Cursors, next: string): Cursors => ({ stack: [...c.stack, next] });
export const previousCursor = (c: Cursors): Cursors => (c.stack.length > 1 ? { stack: c.stack.slice(0, -1) } : c);
