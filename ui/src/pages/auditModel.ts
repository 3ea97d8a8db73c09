/** One changed field of an audit entry: "field: before → after". */
export interface Change {
  field: string;
  before: string | null;
  after: string | null;
}

const MAX_DEPTH = 6;

/** A value as words: text as is, yes/no, lists joined, nothing as null. */
export function showValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string") return v === "" ? "(empty)" : v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.length === 0 ? "(none)" : v.map((x) => showValue(x) ?? "(none)").join(", ");
  return JSON.stringify(v);
}

/** A field name as words: `max_accounts` → "max accounts", nested with " › ". */
export function fieldWords(path: string): string {
  return path
    .split(".")
    .map((p) => p.replace(/_/g, " "))
    .join(" › ");
}

/** An action code as words: `create_account` → "Create account". */
export function actionWords(action: string): string {
  const words = action.replace(/[_.]/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>, depth: number): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v) && depth < MAX_DEPTH) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      flatten(x, prefix ? `${prefix}.${k}` : k, out, depth + 1);
    }
    return;
  }
  out.set(prefix || "value", v);
}

/**
 * What an audit entry changed, field by field, in the order the fields first appear: only
 * fields whose value differs (a creation lists every field with no "before"; a removal every
 * field with no "after").
 */
export function auditChanges(before: unknown, after: unknown): Change[] {
  const b = new Map<string, unknown>();
  const a = new Map<string, unknown>();
  if (before !== null && before !== undefined) flatten(before, "", b, 0);
  if (after !== null && after !== undefined) flatten(after, "", a, 0);
  const fields = [...new Set([...b.keys(), ...a.keys()])];
  return fields
    .map((field) => ({ field: fieldWords(field), before: showValue(b.get(field)), after: showValue(a.get(field)) }))
    .filter((c) => c.before !== c.after);
}
