import { useCallback, useEffect, useState } from "react";
import { BackendError, toBackendError } from "../api/errors";

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

/** `value` once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}
