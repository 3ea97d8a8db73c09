import type { BccRule } from "../bindings/BccRule";
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
