import { describe, expect, it } from "vitest";
import { MAX_PAGE, createClient, listAll, type Transport } from "./client";

/** A transport serving `count` departments a page at a time, as the backend pages them. */
function pagedDepartments(count: number, stuck = false) {
  const paths = Array.from({ length: count }, (_, i) => `Dept${String(i).padStart(5, "0")}`);
  const asked: Record<string, unknown>[] = [];
  const transport: Transport = {
    call(_name, params) {
      const p = params as { after?: string; limit: number };
      asked.push({ ...p });
      const start = p.after === undefined ? 0 : paths.indexOf(p.after) + 1;
      const items = paths.slice(start, start + p.limit).map((path) => ({ path }));
      const more = start + p.limit < paths.length;
      const next = more ? (stuck ? (p.after ?? items[items.length - 1].path) : items[items.length - 1].path) : null;
      return Promise.resolve({ items, next });
    },
  };
  return { paths, asked, client: createClient(transport) };
}

describe("listAll", () => {
  it("follows the cursor until no page follows, each item once", async () => {
    const { paths, asked, client } = pagedDepartments(2 * MAX_PAGE + 5);
    const all = await listAll(client, "list_departments", { domain: "example.com" });
    expect(all.map((d) => d.path)).toEqual(paths);
    expect(asked.map((a) => a.after)).toEqual([undefined, "Dept00999", "Dept01999"]);
    expect(asked.every((a) => a.limit === MAX_PAGE && a.domain === "example.com")).toBe(true);
  });

  it("stops when the cursor does not move", async () => {
    const { asked, client } = pagedDepartments(3 * MAX_PAGE, true);
    await listAll(client, "list_departments", { domain: "example.com" });
    expect(asked.length).toBeLessThanOrEqual(2);
  });
});
