import { useCallback, useEffect, useMemo, useState } from "react";
import { BackendError, toBackendError } from "../api/errors";
import { saveFile, saveOutcomeText } from "../api/files";
import type { ExportedFile } from "../bindings/ExportedFile";
import type { CursorPage } from "../bindings/CursorPage";

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** A string that changes exactly when one of `deps` changes (objects by identity). */
function depsKey(deps: readonly unknown[]): string {
  return deps
    .map((d) => {
      if ((typeof d === "object" && d !== null) || typeof d === "function") {
        let id = objectIds.get(d);
        if (id === undefined) {
          id = nextObjectId++;
          objectIds.set(d, id);
        }
        return `@${id}`;
      }
      return JSON.stringify(d) ?? "undefined";
    })
    .join("|");
}

export interface AsyncState<T> {
  data: T | undefined;
  error: BackendError | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` whenever `deps` change; stale answers are dropped, old data kept meanwhile. */
export function useAsync<T>(load: (() => Promise<T>) | null, deps: readonly unknown[]): AsyncState<T> {
  const [tick, setTick] = useState(0);
  // A key per request: answers are matched to the request they belong to.
  const request = `${depsKey(deps)}#${tick}`;
  const [result, setResult] = useState<{ request: string | null; data: T | undefined; error: BackendError | null }>({
    request: null,
    data: undefined,
    error: null,
  });

  useEffect(() => {
    if (!load) return;
    let live = true;
    load().then(
      (data) => live && setResult({ request, data, error: null }),
      (e: unknown) => live && setResult((r) => ({ request, data: r.data, error: toBackendError(e) })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return {
    data: load ? result.data : undefined,
    error: load ? result.error : null,
    loading: load !== null && result.request !== request,
    reload,
  };
}

export interface PagedState<T> extends AsyncState<T[]> {
  /** Whether the backend has more items after those loaded. */
  more: boolean;
  /** Whether the next page is being loaded. */
  loadingMore: boolean;
  /** Appends the next page (a no-op when none follows). */
  loadMore: () => void;
  /** Why the last `loadMore` failed (the pages loaded stay shown). */
  moreError: BackendError | null;
}

/**
 * A cursor-paged list shown a page at a time: the first page loads whenever `deps` change
 * (a reload starts again from it), `loadMore` appends the page after the last one loaded.
 */
export function usePaged<T>(
  load: ((after: string | undefined) => Promise<CursorPage<T>>) | null,
  deps: readonly unknown[],
): PagedState<T> {
  const first = useAsync(load ? () => load(undefined) : null, deps);
  const [extra, setExtra] = useState<{ base: CursorPage<T>; items: T[]; next: string | null } | null>(null);
  const more = useAction();
  // Pages loaded after a first page that has since been reloaded are dropped.
  const current = extra && first.data && extra.base === first.data ? extra : null;
  const next = current ? current.next : (first.data?.next ?? null);
  const loadMore = () => {
    const base = first.data;
    if (!load || !base || next === null || more.pending) return;
    void more.run(() => load(next)).then((page) => {
      if (!page) return;
      setExtra((e) => ({
        base,
        items: [...(e && e.base === base ? e.items : []), ...page.items],
        next: page.next === next ? null : page.next,
      }));
    });
  };
  // One array while its pages stay the same (callers may key work on its identity).
  const data = useMemo(() => (first.data ? [...first.data.items, ...(current?.items ?? [])] : undefined), [first.data, current]);
  return {
    data,
    error: first.error,
    loading: first.loading,
    reload: first.reload,
    more: next !== null,
    loadingMore: more.pending,
    loadMore,
    moreError: more.error,
  };
}

export interface Action {
  /** Runs `work`; resolves to its value, or undefined when it failed (the error is kept). */
  run: <T>(work: () => Promise<T>) => Promise<T | undefined>;
  pending: boolean;
  error: BackendError | null;
  setError: (e: BackendError | null) => void;
}

/** A user action (a form submit, a button) whose error is shown where the user acted. */
export function useAction(): Action {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<BackendError | null>(null);
  const run = useCallback(async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
    setPending(true);
    setError(null);
    try {
      return await work();
    } catch (e) {
      setError(toBackendError(e));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  return { run, pending, error, setError };
}

/** An export action: `run` asks the backend for the file and saves it (the OS's save dialog in
 *  the desktop window, a download in a browser); `note` says how the last one ended. */
export interface ExportAction extends Action {
  note: string | null;
  /** Saves the file `work` gets; `describe` names what it holds, before where it went. */
  save: (work: () => Promise<ExportedFile>, describe?: (file: ExportedFile) => string) => Promise<void>;
}

/** The state of an export button (see {@link ExportAction}). */
export function useExport(): ExportAction {
  const action = useAction();
  const [note, setNote] = useState<string | null>(null);
  const { run } = action;
  const save = useCallback(
    async (work: () => Promise<ExportedFile>, describe?: (file: ExportedFile) => string) => {
      setNote(null);
      const done = await run(async () => {
        const file = await work();
        return { file, outcome: await saveFile(file) };
      });
      if (!done) return;
      const where = saveOutcomeText(done.outcome);
      setNote(describe && !("cancelled" in done.outcome) ? `${describe(done.file)} ${where}` : where);
    },
    [run],
  );
  return { ...action, note, save };
}

/** `value` once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
