import type { QueuedMessage } from "../bindings/QueuedMessage";
import type { RecipientStatus } from "../bindings/RecipientStatus";

/** A recipient's state in words. */
export function statusLabel(s: RecipientStatus): string {
  switch (s) {
    case "queued":
      return "Queued";
    case "deferred":
      return "Deferred (will retry)";
    case "delivered":
      return "Delivered";
    case "bounced":
      return "Bounced";
  }
}

/** Whether a message still has a recipient waiting (so retry and bounce apply). */
export function waiting(m: QueuedMessage): boolean {
  return m.recipients.some((r) => r.status === "queued" || r.status === "deferred");
}

/** The envelope sender as shown: the null sender (a bounce) is `<>`. */
export function senderLabel(m: QueuedMessage): string {
  return m.sender === "" ? "<> (a bounce)" : m.sender;
}

/** How many recipients are in each state, for the summary line. */
export function counts(queue: QueuedMessage[]): Record<RecipientStatus, number> {
  const out: Record<RecipientStatus, number> = { queued: 0, deferred: 0, delivered: 0, bounced: 0 };
  for (const m of queue) for (const r of m.recipients) out[r.status] += 1;
  return out;
}

/** A port typed in a form: a whole number 1–65535, else null (the backend says why). */
export function parsePort(text: string): number | null {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}
