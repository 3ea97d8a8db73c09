import type { AutoReply } from "../bindings/AutoReply";
import { localOf, sinceParam } from "../pages/sharedModel";

/** A `datetime-local` input's value, taken as UTC, as RFC 3339 (empty → absent). */
export function fromLocalInput(value: string): string | undefined {
  return sinceParam(value) || undefined;
}

/** An RFC 3339 time as a `datetime-local` input's value in UTC (absent → empty). */
export const toLocalInput = localOf;

/** The auto-reply's state in one sentence. */
export function autoReplyText(r: AutoReply): string {
  if (!r.enabled) return "Off: nobody gets an automatic answer.";
  const utc = (t: string) => t.replace("T", " ").replace(/:00Z$|Z$/, " UTC");
  const from = r.starts_at ? ` from ${utc(r.starts_at)}` : "";
  const until = r.ends_at ? ` until ${utc(r.ends_at)}` : "";
  return `On${from}${until}: each sender gets “${r.subject}” once (never mailing lists, bulk mail or automatic senders).`;
}
