import type { OwnForwarding } from "../bindings/OwnForwarding";

/** The addresses typed into the forwarding field: one per line or separated by commas. */
export function parseTargets(text: string): string[] {
  return text
    .split(/[\n,;]/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** One sentence for the stored forwarding, as the portal shows it. */
export function forwardingText(f: OwnForwarding): string {
  if (f.targets.length === 0) return "Mail is not forwarded.";
  const to = f.targets.join(", ");
  if (!f.allowed) return `Forwarding to ${to} is set but not used: your administrator does not allow it.`;
  return f.keep_copy
    ? `Mail is forwarded to ${to}; a copy stays in this mailbox.`
    : `Mail is forwarded to ${to}; no copy stays here (unless forwarding is refused).`;
}
