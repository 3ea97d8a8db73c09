import type { BccRule } from "../bindings/BccRule";
import type { DisclaimerRule } from "../bindings/DisclaimerRule";
import type { MonitorRule } from "../bindings/MonitorRule";
import type { QuotaState } from "../bindings/QuotaState";
import type { RuleDirection } from "../bindings/RuleDirection";

/** The direction in words. */
export function directionText(d: RuleDirection): string {
  switch (d) {
    case "inbound":
      return "received";
    case "outbound":
      return "sent";
    case "both":
      return "sent or received";
  }
}

/** A BCC rule in one sentence: "Mail sent from ann@example.com to any recipient → archive@example.com". */
export function describeBcc(r: BccRule): string {
  const from = r.sender ? `from ${r.sender}` : "from any sender";
  const to = r.recipient ? `to ${r.recipient}` : "to any recipient";
  return `Mail ${directionText(r.direction)} ${from} ${to} → a blind copy to ${r.copy_to}`;
}

/** An empty field is no condition. */
export function condition(text: string): string | undefined {
  const t = text.trim();
  return t === "" ? undefined : t;
}

/** Bytes as megabytes with one decimal. */
export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The daily limits in words (0: none). */
export function limitText(messages: number, mb: number): string {
  const parts = [messages > 0 ? `${messages} messages` : null, mb > 0 ? `${mb} MB` : null].filter(Boolean);
  return parts.length === 0 ? "No limit" : parts.join(" and ");
}

/** Where an account stands. */
export function stateText(state: QuotaState): string {
  switch (state) {
    case "unlimited":
      return "No limit";
    case "ok":
      return "Within the limit";
    case "near":
      return "Near the limit (80 % or more)";
    case "over":
      return "Over: refused until tomorrow";
  }
}

/** A disclaimer rule's conditions and exceptions in one sentence. */
export function describeDisclaimer(r: DisclaimerRule): string {
  const scope =
    r.scope === "internal" ? "only for our domains" : r.scope === "external" ? "with a recipient elsewhere" : "to anyone";
  const cond = [
    r.sender ? `from ${r.sender}` : null,
    r.recipient ? `to ${r.recipient}` : null,
    r.department ? `from department ${r.department}` : null,
  ].filter(Boolean);
  const except = [
    r.except_sender ? `from ${r.except_sender}` : null,
    r.except_recipient ? `to ${r.except_recipient}` : null,
    r.except_department ? `from department ${r.except_department}` : null,
  ].filter(Boolean);
  return withConditions(`Mail sent ${scope}`, cond, except);
}

/** `base`, then its conditions (", a, b") and exceptions ("; except mail c or d"). */
function withConditions(base: string, cond: unknown[], except: unknown[]): string {
  let s = base;
  if (cond.length > 0) s += `, ${cond.join(", ")}`;
  if (except.length > 0) s += `; except mail ${except.join(" or ")}`;
  return s;
}

/** The order after moving the rule at `index` by `delta` (−1 up, +1 down): its new position (1-based), or null at an end. */
export function movedPosition(index: number, delta: number, count: number): number | null {
  const to = index + delta;
  return to < 0 || to >= count ? null : to + 1;
}

/** Whom a monitoring rule watches, which mail, and what it does, in one sentence. */
export function describeMonitor(r: MonitorRule): string {
  const who = r.scope_account
    ? r.scope_account
    : r.scope_department
      ? `department ${r.scope_department}`
      : `everyone of ${r.domain}`;
  const traffic = r.traffic === "internal" ? " inside our domains" : r.traffic === "external" ? " to or from elsewhere" : "";
  const cond = [
    r.sender ? `from ${r.sender}` : null,
    r.recipient ? `to ${r.recipient}` : null,
    r.min_size_kb !== null ? `of at least ${r.min_size_kb} KB` : null,
    r.keyword ? `saying “${r.keyword}”` : null,
  ].filter(Boolean);
  const except = [
    r.except_sender ? `from ${r.except_sender}` : null,
    r.except_recipient ? `to ${r.except_recipient}` : null,
    r.except_keyword ? `saying “${r.except_keyword}”` : null,
  ].filter(Boolean);
  const s = withConditions(`Mail of ${who}${traffic}`, cond, except);
  const act = r.action === "copy" ? `copied to ${r.target}` : `filed into the folder “${r.target}”`;
  return `${s}: ${act}`;
}
