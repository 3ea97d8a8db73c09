import type { SignInAnswer } from "../bindings/SignInAnswer";
import { BackendError, codeFromStatus, fromApiError, isApiError } from "./errors";
import type { FetchLike } from "./http";

/** A signed-in web UI session: who, its anti-CSRF token, when it ends. */
export type SignedIn = Extract<SignInAnswer, { step: "signed_in" }>;

/** The header every API call of a session carries (the server refuses the call without it). */
export const CSRF_HEADER = "X-Postdesk-CSRF";

async function read(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => "");
  let body: unknown = undefined;
  try {
    body = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    // not JSON
  }
  if (response.ok) return body;
  if (isApiError(body)) throw fromApiError(body);
  throw new BackendError(codeFromStatus(response.status), `the server answered HTTP ${response.status}`);
}

/**
 * The web UI's sign-in (`/api/session`, beside the operation table): the session itself is an
 * HttpOnly cookie the page never sees; the answers carry the anti-CSRF token.
 */
export class SessionApi {
  private readonly fetch: FetchLike;

  constructor(fetchImpl?: FetchLike) {
    this.fetch = fetchImpl ?? ((url, init) => globalThis.fetch(url, init));
  }

  private async call(method: string, path: string, body?: object, csrf?: string): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (csrf) headers[CSRF_HEADER] = csrf;
    let response: Response;
    try {
      response = await this.fetch(path, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        credentials: "same-origin",
      });
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new BackendError("unavailable", `cannot reach the server: ${detail}`);
    }
    return read(response);
  }

  /** The session of this browser, or null when not signed in (or it ended). */
  async current(): Promise<SignedIn | null> {
    try {
      return (await this.call("GET", "/api/session")) as SignedIn;
    } catch (e) {
      if (e instanceof BackendError && e.code === "unauthenticated") return null;
      throw e;
    }
  }

  /** First step: name and password. */
  signIn(name: string, password: string): Promise<SignInAnswer> {
    return this.call("POST", "/api/session", { name, password }) as Promise<SignInAnswer>;
  }

  /** Second step: the ticket and a TOTP or recovery code. */
  secondFactor(ticket: string, code: string): Promise<SignInAnswer> {
    return this.call("POST", "/api/session/second-factor", { ticket, code }) as Promise<SignInAnswer>;
  }

  /** Ends this browser's session. */
  async signOut(csrf: string): Promise<void> {
    await this.call("DELETE", "/api/session", undefined, csrf);
  }
}
