import { operations, type OperationName } from "../bindings/operations";
import { BackendError, codeFromStatus, fromApiError, isApiError } from "./errors";
import type { Transport } from "./client";

/** A request ready for fetch. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * The HTTP form of an operation call, exactly as the Rust server decodes it: `{name}` path
 * segments are taken (percent-encoded) from the params field of that name; the rest go as
 * the query string for GET and DELETE (scalars only, null/undefined skipped) and as a JSON
 * object body otherwise.
 */
export function buildRequest(
  baseUrl: string,
  name: OperationName,
  params: object,
  token: string | null,
  csrf: string | null = null,
): HttpRequest {
  const op = operations[name];
  const rest: Record<string, unknown> = { ...(params as Record<string, unknown>) };
  const path = op.path.replace(/\{([^}]+)\}/g, (_, field: string) => {
    const value = rest[field];
    if (typeof value !== "string" && typeof value !== "number") {
      throw new BackendError("internal", `${name}: path field ${field} is not a string`);
    }
    delete rest[field];
    return encodeURIComponent(String(value));
  });
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  // A signed-in session (its cookie goes by itself) proves each call is the page's own.
  else if (csrf) headers["X-Postdesk-CSRF"] = csrf;
  let url = baseUrl.replace(/\/+$/, "") + path;
  const request: HttpRequest = { method: op.method, url, headers };
  if (op.method === "GET" || op.method === "DELETE") {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(rest)) {
      if (value === undefined || value === null) continue;
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        query.append(key, String(value));
      } else {
        throw new BackendError("internal", `${name}: query parameter ${key} is not a scalar`);
      }
    }
    const qs = query.toString();
    if (qs) url += `?${qs}`;
    request.url = url;
  } else {
    headers["Content-Type"] = "application/json";
    request.body = JSON.stringify(rest);
  }
  return request;
}

/** Reads a fetch Response: the JSON output on success, a BackendError otherwise. */
export async function readResponse(response: Response, name: OperationName): Promise<unknown> {
  const text = await response.text().catch(() => "");
  if (response.ok) {
    if (text.trim() === "") return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new BackendError("internal", `the backend's answer to ${name} was not understood`);
    }
  }
  let body: unknown = undefined;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // not JSON: fall through to the status
  }
  if (isApiError(body)) throw fromApiError(body);
  throw new BackendError(codeFromStatus(response.status), `the backend answered HTTP ${response.status}`);
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Calls `postdesk serve` over HTTP: with a bearer token when there is one, else as the
 * browser's signed-in session (the cookie, plus `csrf()` in its header).
 */
export class HttpTransport implements Transport {
  private readonly baseUrl: string;
  private readonly token: () => string | null;
  private readonly fetch: FetchLike;
  private readonly csrf: () => string | null;

  constructor(baseUrl: string, token: () => string | null, fetchImpl?: FetchLike, csrf?: () => string | null) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.fetch = fetchImpl ?? ((url, init) => globalThis.fetch(url, init));
    this.csrf = csrf ?? (() => null);
  }

  async call(name: OperationName, params: object): Promise<unknown> {
    const req = buildRequest(this.baseUrl, name, params, this.token(), this.csrf());
    let response: Response;
    try {
      response = await this.fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new BackendError("unavailable", `cannot reach the backend at ${this.baseUrl || "this address"}: ${detail}`);
    }
    return readResponse(response, name);
  }
}
