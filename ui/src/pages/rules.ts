import type { PickupRule } from "../bindings/PickupRule";

/** Moves the rule at `from` one place up (-1) or down (+1); out of range leaves the list. */
export function moveRule(rules: PickupRule[], from: number, by: -1 | 1): PickupRule[] {
  const to = from + by;
  if (from < 0 || from >= rules.length || to < 0 || to >= rules.length) return rules;
  const next = rules.slice();
  [next[from], next[to]] = [next[to], next[from]];
  return next;
}

/** The rules as the API takes them: trimmed, targets completed with the domain, empty rows dropped. */
export function cleanRules(rules: PickupRule[], domain: string): PickupRule[] {
  return rules
    .map((r) => ({ pattern: r.pattern.trim(), target: r.target.trim() }))
    .filter((r) => r.pattern !== "" || r.target !== "")
    .map((r) => ({ ...r, target: r.target === "" || r.target.includes("@") ? r.target : `${r.target}@${domain}` }));
}

/** Whether two rule lists are the same. */
export function sameRules(a: PickupRule[], b: PickupRule[]): boolean {
  return a.length === b.length && a.every((r, i) => r.pattern === b[i].pattern && r.target === b[i].target);
}
