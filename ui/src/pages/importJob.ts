import type { Client } from "../api/client";
import { BackendError, fromApiError } from "../api/errors";
import type { ImportJob } from "../bindings/ImportJob";
import type { StartImport } from "../bindings/StartImport";

export type Sleep = (ms: number) => Promise<void>;

const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts an import and polls it until it is done, reporting every state seen. Resolves
 * with the finished job; rejects with the backend's refusal (the file was checked in full
 * first: `rows` lists every problem) or with the error the job failed with.
 */
export async function runImport(
  client: Client,
  params: StartImport,
  onProgress: (job: ImportJob) => void,
  options: { interval?: number; sleep?: Sleep; cancelled?: () => boolean } = {},
): Promise<ImportJob> {
  const sleep = options.sleep ?? realSleep;
  let job = await client.call("start_import", params);
  for (;;) {
    onProgress(job);
    if (job.phase === "done") return job;
    if (job.phase === "failed") {
      throw job.error ? fromApiError(job.error) : new BackendError("internal", "the import failed");
    }
    if (options.cancelled?.()) return job;
    await sleep(options.interval ?? 400);
    job = await client.call("import_status", { id: job.id });
  }
}

/** The progress of a job as a fraction 0..1 over both phases (hashing, then writing). */
export function importFraction(job: ImportJob, hadPasswords: boolean): number {
  if (job.phase === "done") return 1;
  const part = job.total > 0 ? job.done / job.total : 0;
  if (!hadPasswords) return part;
  // Hashing is most of the work when there are passwords.
  return job.phase === "hashing" ? part * 0.9 : 0.9 + part * 0.1;
}

/** What the job is doing, in words. */
export function importLabel(job: ImportJob): string {
  const n = new Intl.NumberFormat();
  switch (job.phase) {
    case "hashing":
      return `Hashing passwords: ${n.format(job.done)} of ${n.format(job.total)}`;
    case "writing":
      return `Writing accounts: ${n.format(job.done)} of ${n.format(job.total)}`;
    case "done":
      return `Imported ${n.format(job.accounts)} account${job.accounts === 1 ? "" : "s"}`;
    case "failed":
      return "The import failed; nothing was written";
  }
}
