import type { CheckResult } from "../bindings/CheckResult";
import type { DnsRecord } from "../bindings/DnsRecord";
import type { DomainReport } from "../bindings/DomainReport";
import type { Status } from "../bindings/Status";

/** The checks a published record can satisfy, in the order the matrix shows them. */
export const RECORD_CHECKS = ["mx", "spf", "dkim", "dmarc", "cname"] as const;
export type RecordCheck = (typeof RECORD_CHECKS)[number];

/** Informational checks: shown, but they never make a domain fail. */
export const INFO_CHECKS = ["mta_sts", "tls_rpt"] as const;

export const CHECK_LABELS: Record<string, string> = {
  mx: "MX",
  spf: "SPF",
  dkim: "DKIM",
  dmarc: "DMARC",
  cname: "CNAME",
  mta_sts: "MTA-STS",
  tls_rpt: "TLS-RPT",
};

export const STATUS_LABELS: Record<Status, string> = { pass: "Pass", unset: "Not set", warn: "Warning", fail: "Fail" };

/**
 * The words for a check's status: "unset" is never a pass — an optional record that is not
 * published ("Not set (optional)"), or a CNAME check that had nothing to compare
 * ("Not checked").
 */
export function statusLabel(check: string, status: Status): string {
  if (status !== "unset") return STATUS_LABELS[status];
  return check === "cname" ? "Not checked" : (INFO_CHECKS as readonly string[]).includes(check) ? "Not set (optional)" : "Not set";
}

/** The result of check `check` in `report` (null for a check the report does not have). */
export function checkOf(report: DomainReport | null | undefined, check: string): CheckResult | null {
  if (!report) return null;
  const checks = report.checks as unknown as Record<string, CheckResult | undefined>;
  return Object.prototype.hasOwnProperty.call(checks, check) ? (checks[check] ?? null) : null;
}

/** The worst of some statuses (pass when there are none; "unset" only when nothing passed). */
export function worstStatus(statuses: readonly Status[]): Status {
  if (statuses.includes("fail")) return "fail";
  if (statuses.includes("warn")) return "warn";
  if (statuses.length > 0 && statuses.every((s) => s === "unset")) return "unset";
  return "pass";
}

export interface RecordGroup {
  check: string;
  records: DnsRecord[];
}

/**
 * The records grouped by the check they satisfy, groups in order of first appearance:
 * a check's status and findings are shown once for all of its records.
 */
export function groupRecords(records: readonly DnsRecord[]): RecordGroup[] {
  const groups: RecordGroup[] = [];
  for (const r of records) {
    const g = groups.find((x) => x.check === r.check);
    if (g) g.records.push(r);
    else groups.push({ check: r.check, records: [r] });
  }
  return groups;
}

/** What the wizard remembers per backend and domain. */
export interface DnsInputs {
  mail_host: string;
  server_ip: string;
}

type Store = Pick<Storage, "getItem" | "setItem">;

export function dnsInputsKey(backendId: string, domain: string): string {
  return `postdesk.dns:${backendId}:${domain}`;
}

/** The last mail host and server IP used for a domain of a backend (empty when none). */
export function loadDnsInputs(store: Store | null, backendId: string, domain: string): DnsInputs {
  const empty = { mail_host: "", server_ip: "" };
  try {
    const raw = store?.getItem(dnsInputsKey(backendId, domain));
    if (!raw) return empty;
    const v = JSON.parse(raw) as Partial<Record<keyof DnsInputs, unknown>>;
    return {
      mail_host: typeof v.mail_host === "string" ? v.mail_host : "",
      server_ip: typeof v.server_ip === "string" ? v.server_ip : "",
    };
  } catch {
    return empty;
  }
}

export function saveDnsInputs(store: Store | null, backendId: string, domain: string, inputs: DnsInputs): void {
  try {
    store?.setItem(dnsInputsKey(backendId, domain), JSON.stringify(inputs));
  } catch {
    // Storage full or disabled: the wizard just asks again next time.
  }
}

/** localStorage when the environment has one. */
export function browserStore(): Store | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

/**
 * Runs `work` on every item with at most `limit` running at once; resolves with every
 * outcome in the items' order (a failure does not stop the others).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await work(items[i], i) };
      } catch (e) {
        results[i] = { status: "rejected", reason: e };
      }
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}
