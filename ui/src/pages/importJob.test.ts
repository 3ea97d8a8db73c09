import { describe, expect, it } from "vitest";
import { createClient, type Transport } from "../api/client";
import { BackendError } from "../api/errors";
import type { ImportJob } from "../bindings/ImportJob";
import type { OperationName } from "../bindings/operations";
import { importFraction, importLabel, runImport } from "./importJob";

function job(patch: Partial<ImportJob>): ImportJob {
  return {
    id: "j1",
    domain: "x.org",
    file_name: "a.xlsx",
    phase: "hashing",
    done: 0,
    total: 4,
    accounts: 10,
    new_departments: [],
    error: null,
    ...patch,
  };
}

/** A backend answering start_import, then each import_status with the next state. */
function backend(start: ImportJob | BackendError, states: ImportJob[]) {
  const calls: [OperationName, object][] = [];
  const transport: Transport = {
    call(name, params) {
      calls.push([name, params]);
      if (name === "start_import") return start instanceof BackendError ? Promise.reject(start) : Promise.resolve(start);
      expect(name).toBe("import_status");
      return Promise.resolve(states.shift());
    },
  };
  return { client: createClient(transport), calls };
}

const params = { domain: "x.org", file_name: "a.xlsx", content_base64: "UEsDBA==" };
const noWait = { sleep: () => Promise.resolve() };

describe("runImport", () => {
  it("polls until the job is done, reporting every state", async () => {
    const b = backend(job({}), [
      job({ done: 2 }),
      job({ phase: "writing", done: 0, total: 10 }),
      job({ phase: "done", done: 10, total: 10 }),
    ]);
    const seen: string[] = [];
    const done = await runImport(b.client, params, (j) => seen.push(`${j.phase}:${j.done}`), noWait);
    expect(done.phase).toBe("done");
    expect(seen).toEqual(["hashing:0", "hashing:2", "writing:0", "done:10"]);
    expect(b.calls.slice(1).every(([n, p]) => n === "import_status" && (p as { id: string }).id === "j1")).toBe(true);
  });

  it("passes on a refusal with every problem by row and column", async () => {
    const refusal = new BackendError("validation", "2 problems", "file", [
      { row: 3, column: "Email address", message: "no @" },
      { row: 5, column: "Password", message: "too short" },
    ]);
    const err = (await runImport(backend(refusal, []).client, params, () => {}, noWait).catch((e: unknown) => e)) as BackendError;
    expect(err.rows.map((r) => r.row)).toEqual([3, 5]);
  });

  it("turns a failed job into its error", async () => {
    const failed = job({ phase: "failed", error: { code: "limit_exceeded", message: "plan limit of 5" } });
    const b = backend(job({ phase: "writing", total: 10 }), [failed]);
    const err = (await runImport(b.client, params, () => {}, noWait).catch((e: unknown) => e)) as BackendError;
    expect([err.code, err.message]).toEqual(["limit_exceeded", "plan limit of 5"]);
  });

  it("stops polling when cancelled (the job goes on on the backend)", async () => {
    const b = backend(job({}), [job({ done: 1 })]);
    const j = await runImport(b.client, params, () => {}, { ...noWait, cancelled: () => true });
    expect(j.phase).toBe("hashing");
    expect(b.calls.length).toBe(1);
  });
});

describe("progress", () => {
  it("weighs hashing as most of the work when there are passwords", () => {
    expect(importFraction(job({ done: 2, total: 4 }), true)).toBeCloseTo(0.45);
    expect(importFraction(job({ phase: "writing", done: 5, total: 10 }), true)).toBeCloseTo(0.95);
    expect(importFraction(job({ phase: "writing", done: 5, total: 10 }), false)).toBeCloseTo(0.5);
    expect(importFraction(job({ phase: "done" }), false)).toBe(1);
  });

  it("says what is going on", () => {
    expect(importLabel(job({ done: 1200, total: 5000 }))).toBe("Hashing passwords: 1,200 of 5,000");
    expect(importLabel(job({ phase: "done", accounts: 1 }))).toBe("Imported 1 account");
    expect(importLabel(job({ phase: "failed" }))).toMatch(/nothing was written/);
  });
});
