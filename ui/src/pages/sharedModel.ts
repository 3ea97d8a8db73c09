import type { Checks } from "../bindings/Checks";
import type { CreateSharedMailbox } from "../bindings/CreateSharedMailbox";
import type { DomainReport } from "../bindings/DomainReport";
import type { FetchReport } from "../bindings/FetchReport";
import type { FetchTls } from "../bindings/FetchTls";
import type { SetSharedAutoReply } from "../bindings/SetSharedAutoReply";
import type { SetSharedTemplate } from "../bindings/SetSharedTemplate";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import type { SharedMailboxKind } from "../bindings/SharedMailboxKind";
import type { SharedOwner } from "../bindings/SharedOwner";
import type { Status } from "../bindings/Status";
import type { UpdateSharedMailbox } from "../bindings/UpdateSharedMailbox";
import { parsePort } from "./outboundModel";

/** The shared mailbox form as typed. The password starts empty: it is write-only. */
export interface SharedForm {
  address: string;
  name: string;
  /** IMAP, or Microsoft 365 through Microsoft Graph. */
  kind: SharedMailboxKind;
  /** Microsoft 365: the directory (tenant) id. */
  tenantId: string;
  /** Microsoft 365: the app registration's client id. */
  clientId: string;
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
  kind: "imap",
  tenantId: "",
  clientId: "",
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
    kind: m.kind,
    tenantId: m.tenant_id,
    clientId: m.client_id,
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

/** `create_shared_mailbox` params: no password unless typed, no interval when empty; for
 * Microsoft 365 the tenant, client id and mailbox instead of a server. */
export function createParams(domain: string, f: SharedForm): CreateSharedMailbox {
  const interval = count(f.interval, 0);
  const p: CreateSharedMailbox = {
    domain,
    address: f.address.trim(),
    name: f.name.trim(),
    kind: f.kind,
    disable_after: count(f.disableAfter, 5),
  };
  if (f.kind === "microsoft365") {
    p.tenant_id = f.tenantId.trim();
    p.client_id = f.clientId.trim();
    if (f.username.trim() !== "") p.username = f.username.trim();
  } else {
    p.host = f.host.trim();
    p.port = parsePort(f.port) ?? 0;
    p.tls = f.tls;
    p.verify_certificate = f.verifyCertificate;
    p.username = f.username.trim();
  }
  if (interval !== 0) p.fetch_interval_minutes = interval;
  if (f.password !== "") p.secret = f.password;
  return p;
}

/** `update_shared_mailbox` params: every field of the kind sent, the interval 0 for none, the password only when typed. */
export function updateParams(f: SharedForm): UpdateSharedMailbox {
  const p: UpdateSharedMailbox = {
    address: f.address,
    name: f.name.trim(),
    kind: f.kind,
    username: f.username.trim(),
    fetch_interval_minutes: count(f.interval, 0),
    disable_after: count(f.disableAfter, 5),
  };
  if (f.kind === "microsoft365") {
    p.tenant_id = f.tenantId.trim();
    p.client_id = f.clientId.trim();
  } else {
    p.host = f.host.trim();
    p.port = parsePort(f.port) ?? 0;
    p.tls = f.tls;
    p.verify_certificate = f.verifyCertificate;
  }
  if (f.password !== "") p.secret = f.password;
  return p;
}

/** Where a mailbox's mail comes from, in words. */
export function sourceLabel(m: SharedMailbox): string {
  if (m.kind === "microsoft365") return `Microsoft 365: ${m.username} (tenant ${m.tenant_id})`;
  const tls = m.tls === "implicit" ? "implicit TLS" : "STARTTLS";
  return `${m.host}:${m.port} (${tls}${m.verify_certificate ? "" : ", certificate not checked"})`;
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
  return `Fetching ${m.address} stopped at ${when(m.disabled_at)} after ${m.error_count} failure${m.error_count === 1 ? "" : "s"} in a row${why}. Fix the settings, then fetch now or set an interval again.`;
}

/** The link that opens a shared mailbox on the Shared mailboxes page: `#/shared-mailboxes?open=…`. */
export function sharedLink(address: string): string {
  return `#/shared-mailboxes?open=${encodeURIComponent(address)}`;
}

/** The shared mailbox a link opens, if it names one. */
export function sharedFromHash(hash: string): string | null {
  return new URLSearchParams(hash.split("?")[1] ?? "").get("open") || null;
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
  if (r.restarted.length > 0) parts.push(`read again from the start (delta expired) in ${r.restarted.join(", ")}`);
  return parts.join("; ") + (r.more ? ". More wait: fetch again." : ".");
}

/** A `datetime-local` value (taken as UTC) → RFC 3339. */
export function sinceParam(local: string): string {
  const t = local.trim();
  if (t === "") return "";
  return (t.length === 16 ? `${t}:00` : t) + "Z";
}

/** An RFC 3339 time → a `datetime-local` value in UTC ("" when absent or unreadable). */
export function localOf(t: string | undefined | null): string {
  if (!t) return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  return d.toISOString().slice(0, 16);
}

/** The auto-reply form as typed; the dates are `datetime-local` values taken as UTC. */
export interface AutoReplyForm {
  enabled: boolean;
  startsAt: string;
  endsAt: string;
  subject: string;
  text: string;
}

/** A mailbox's stored auto-reply in the form. */
export function autoReplyFormOf(m: SharedMailbox): AutoReplyForm {
  const a = m.auto_reply;
  return {
    enabled: a?.enabled ?? false,
    startsAt: localOf(a?.starts_at),
    endsAt: localOf(a?.ends_at),
    subject: a?.subject ?? "",
    text: a?.text ?? "",
  };
}

/** `set_shared_auto_reply` params: empty dates left out (from now on / until turned off). */
export function autoReplyParams(address: string, f: AutoReplyForm): SetSharedAutoReply {
  const p: SetSharedAutoReply = { address, enabled: f.enabled, subject: f.subject.trim(), text: f.text };
  const starts = sinceParam(f.startsAt);
  const ends = sinceParam(f.endsAt);
  if (starts) p.starts_at = starts;
  if (ends) p.ends_at = ends;
  return p;
}

/** The auto-reply in words, as stored. */
export function autoReplyLabel(m: SharedMailbox): string {
  const a = m.auto_reply;
  if (!a?.enabled) return "off";
  const utc = (t: string) => `${localOf(t).replace("T", " ") || t} UTC`;
  const from = a.starts_at ? `from ${utc(a.starts_at)}` : "";
  const until = a.ends_at ? `until ${utc(a.ends_at)}` : "until turned off";
  return ["on", from, until].filter(Boolean).join(" ");
}

/**
 * Adds a typed address to `list`: a bare name gets `@domain`; lower-cased; not twice.
 * Returns the list unchanged when nothing usable was typed.
 */
export function addAddress(list: readonly string[], typed: string, domain: string): string[] {
  let a = typed.trim().toLowerCase();
  if (a === "") return [...list];
  if (!a.includes("@")) a = `${a}@${domain.toLowerCase()}`;
  return list.some((x) => x.toLowerCase() === a) ? [...list] : [...list, a];
}

/** The owners in words: users, then groups, or that there are none. */
/** The fonts a template may name (the engine's `TEMPLATE_FONTS`). */
export const TEMPLATE_FONTS = ["Arial", "Calibri", "Courier New", "Georgia", "Helvetica", "Tahoma", "Times New Roman", "Verdana"];

/** The template in words: "Georgia, 12 pt", "none". */
export function templateLabel(m: SharedMailbox): string {
  const t = m.template;
  const parts = [t?.font, t?.size_pt === undefined ? undefined : `${t.size_pt} pt`].filter((x): x is string => !!x);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** `set_shared_template` params from the form (empty: none; a size that is no number goes as is to be refused). */
export function templateParams(address: string, font: string, size: string): SetSharedTemplate {
  const s = size.trim();
  return { address, ...(font ? { font } : {}), ...(s === "" ? {} : { size_pt: Number(s) }) };
}

/** The preview line's style: the chosen font (with a generic fallback) and size. */
export function templateStyle(font: string, size: string): { fontFamily?: string; fontSize?: string } {
  const n = Number(size.trim());
  const generic = font === "Courier New" ? "monospace" : font === "Georgia" || font === "Times New Roman" ? "serif" : "sans-serif";
  return {
    ...(font ? { fontFamily: `"${font}", ${generic}` } : {}),
    ...(size.trim() !== "" && Number.isInteger(n) && n >= 8 && n <= 36 ? { fontSize: `${n}pt` } : {}),
  };
}

/** The users who own the mailbox at `address`, from the domain's owners. */
export function ownersOf(owners: SharedOwner[], address: string): SharedOwner[] {
  return owners.filter((o) => o.owns.includes(address));
}

/** "1 owner has no default mailbox", "2 owners have no default mailbox". */
export function noDefaultLabel(n: number): string {
  return n === 1 ? "1 owner has no default mailbox" : `${n} owners have no default mailbox`;
}

export function ownersLabel(m: SharedMailbox): string {
  const users = m.owners ?? [];
  const groups = m.owner_groups ?? [];
  if (users.length === 0 && groups.length === 0) return "no owner";
  const parts: string[] = [];
  if (users.length > 0) parts.push(users.join(", "));
  if (groups.length > 0) parts.push(`${groups.length === 1 ? "group" : "groups"} ${groups.join(", ")}`);
  return parts.join("; ");
}

/** One check of a domain's DNS report, in plain words. */
export interface DnsLine {
  check: string;
  label: string;
  status: Status;
  /** "passes", "fails", "has a warning", "is not published" / "was not checked". */
  words: string;
  /** What the check found (its findings' messages). */
  details: string[];
}

const CHECK_NAMES: [keyof Checks, string][] = [
  ["mx", "MX (where mail for the domain is delivered)"],
  ["spf", "SPF (which servers may send as the domain)"],
  ["dkim", "DKIM (signatures on mail sent as the domain)"],
  ["dmarc", "DMARC (what receivers do with unauthenticated mail)"],
  ["mta_sts", "MTA-STS (optional: TLS required for mail to the domain)"],
  ["tls_rpt", "TLS-RPT (optional: reports of TLS failures)"],
];

const OPTIONAL = new Set(["mta_sts", "tls_rpt"]);

/**
 * The DNS checks of a shared mailbox's domain in words, failures first as the report
 * gives them. CNAME is left out: it is only checked against a mail host the DNS page asks for.
 */
export function dnsLines(report: DomainReport): DnsLine[] {
  return CHECK_NAMES.map(([check, label]) => {
    const r = report.checks[check];
    const words =
      r.status === "pass"
        ? "passes"
        : r.status === "fail"
          ? "fails"
          : r.status === "warn"
            ? "has a warning"
            : OPTIONAL.has(check)
              ? "is not published (optional)"
              : "is not published";
    return { check, label, status: r.status, words, details: r.findings.map((f) => f.message) };
  });
}

/** The one-line verdict over the required checks (MX, SPF, DKIM, DMARC). */
export function dnsVerdict(lines: readonly DnsLine[]): string {
  const required = lines.filter((l) => !OPTIONAL.has(l.check));
  const bad = required.filter((l) => l.status !== "pass").map((l) => l.label.split(" ")[0]);
  if (bad.length === 0) return "Every required record passes.";
  return `Not passing: ${bad.join(", ")}.`;
}
