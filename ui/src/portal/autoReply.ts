import type { AutoReply } from "../bindings/AutoReply";

/** A `datetime-local` input's value, taken as UTC, as RFC 3339 (empty → absent). */
export function fromLocalInput(value: string): string | undefined {
  const v = value.trim();
  if (v === "") return undefined;
  return `${v.length === 16 ? `${v}:00` : v}Z`;
}

/** An RFC 3339 time as a `datetime-local` input's value in UTC (absent → empty). */
export function toLocalInput(value: string | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().slice(0, 16);
}

/** The auto-reply's state in one sentence. */
export function autoReplyText(r: AutoReply): string {
  if (!r.enabled) return "Off: nobody gets an automatic answer.";
  const from = r.starts_at ? ` from ${r.starts_at.replace("T", " ").replace(/:00Z$|Z$/, " UTC")}` : "";
  const until = r.ends_at ? ` until ${r.ends_at.replace("T", " ").replace(/:00Z$|Z$/, " UTC")}` : "";
  return `On${from}${until}: each sender gets “${r.subject}” once (never mailing lists, bulk mail or automatic senders).`;
}
