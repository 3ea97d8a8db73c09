import type { BccRule } from "../bindings/BccRule";
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
