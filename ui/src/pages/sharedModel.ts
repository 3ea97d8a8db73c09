import type { CreateSharedMailbox } from "../bindings/CreateSharedMailbox";
import type { FetchReport } from "../bindings/FetchReport";
import type { FetchTls } from "../bindings/FetchTls";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import type { UpdateSharedMailbox } from "../bindings/UpdateSharedMailbox";
import { parsePort } from "./outboundModel";

/** The shared mailbox form as typed. The password starts empty: it is write-only. */
export interface SharedForm {
  address: string;
  name: string;
  host: string;
  port: string;
  tls: FetchTls;
  verifyCertificate: boolean;
  username: string;
  password: string;
  /** Minutes; empty or 0 = none (only "Fetch now"). */
  interval: string;
  disableAfter: string;
}

/** The usual IMAP port of each TLS mode (RFC 8314: 993 implicit, 143 STARTTLS). */
export function defaultPort(tls: FetchTls): string {
  return tls === "implicit" ? "993" : "143";
}

export const emptySharedForm = (): SharedForm => ({
  address: "",
  name: "",
  host: "",
  port: "993",
  tls: "implicit",
  verifyCertificate: true,
  username: "",
  password: "",
  interval: "",
  disableAfter: "5",
});

/** A stored mailbox in the form, to change it (the password stays empty: kept unless typed). */
export function formOf(m: SharedMailbox): SharedForm {
  return {
    address: m.address,
    name: m.name,
    host: m.host,
    port: String(m.port),
    tls: m.tls,
    verifyCertificate: m.verify_certificate,
    username: m.username,
    password: "",
    interval: m.fetch_interval_minutes ? String(m.fetch_interval_minutes) : "",
    disableAfter: String(m.disable_after),
  };
}

/** A whole number as typed; -1 when it is not one (the backend says why). */
function count(text: string, empty: number): number {
  const t = text.trim();
  if (t === "") return empty;
  const n = Number(t);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/** `create_shared_mailbox` params: no password unless typed, no interval when empty. */
export function createParams(domain: string, f: SharedForm): CreateSharedMailbox {
  const interval = count(f.interval, 0);
  const p: CreateSharedMailbox = {
    domain,
    address: f.address.trim(),
    name: f.name.trim(),
    kind: "imap",
    host: f.host.trim(),
    port: parsePort(f.port) ?? 0,
    tls: f.tls,
    verify_certificate: f.verifyCertificate,
    username: f.username.trim(),
    disable_after: count(f.disableAfter, 5),
  };
  if (interval !== 0) p.fetch_interval_minutes = interval;
  if (f.password !== "") p.secret = f.password;
  return p;
}

/** `update_shared_mailbox` params: every field sent, the interval 0 for none, the password only when typed. */
export function updateParams(f: SharedForm): UpdateSharedMailbox {
  const p: UpdateSharedMailbox = {
    address: f.address,
    name: f.name.trim(),
    host: f.host.trim(),
    port: parsePort(f.port) ?? 0,
    tls: f.tls,
    verify_certificate: f.verifyCertificate,
    username: f.username.trim(),
    fetch_interval_minutes: count(f.interval, 0),
    disable_after: count(f.disableAfter, 5),
  };
  if (f.password !== "") p.secret = f.password;
  return p;
}

function when(t: string): string {
  return t.replace("T", " ").replace("Z", " UTC");
}

/** The interval in words, saying when fetching was stopped by errors. */
export function intervalLabel(m: SharedMailbox): string {
  if (m.fetch_interval_minutes) return `every ${m.fetch_interval_minutes} min`;
  if (m.disabled_at) return `stopped ${when(m.disabled_at)}`;
  return "only “Fetch now”";
}

/**
 * The notice the admin cannot miss: fetching stopped after `disable_after` failures in a
 * row. `null` while it fetches.
 */
export function stoppedNotice(m: SharedMailbox): string | null {
  if (!m.disabled_at) return null;
  const why = m.last_error ? `: ${m.last_error}` : "";
  return `Fetching ${m.address} stopped at ${when(m.disabled_at)} after ${m.error_count} failures in a row${why}. Fix the settings and set an interval again.`;
}

/** A fetch's outcome in words. */
export function reportText(r: FetchReport): string {
  if (r.error) {
    const m = r.mailbox;
    const stopped = m.disabled_at ? " Fetching has stopped; the interval is now none." : "";
    return `Fetch failed (${m.error_count} of ${m.disable_after} failures in a row): ${r.error}.${stopped}`;
  }
  const parts = [`Fetched ${r.fetched} message${r.fetched === 1 ? "" : "s"}`];
  if (r.already > 0) parts.push(`${r.already} seen before and not stored again`);
  if (r.too_large > 0) parts.push(`${r.too_large} over the size limit passed over`);
  if (r.uidvalidity_changed.length > 0) parts.push(`UIDVALIDITY changed in ${r.uidvalidity_changed.join(", ")}`);
  return parts.join("; ") + (r.more ? ". More wait: fetch again." : ".");
}

/** A `datetime-local` value (taken as UTC) → RFC 3339. */
export function sinceParam(local: string): string {
  const t = local.trim();
  if (t === "") return "";
  return (t.length === 16 ? `${t}:00` : t) + "Z";
}
