import type { AutoReply } from "../bindings/AutoReply";
import type { ChangeOwnPassword } from "../bindings/ChangeOwnPassword";
import type { OwnForwarding } from "../bindings/OwnForwarding";
import type { PortalAccount } from "../bindings/PortalAccount";
import type { PortalSecurityQuestions } from "../bindings/PortalSecurityQuestions";
import type { PortalSession } from "../bindings/PortalSession";
import type { SetForwarding } from "../bindings/SetForwarding";
import type { RecoverPassword } from "../bindings/RecoverPassword";
import type { RecoveryQuestions } from "../bindings/RecoveryQuestions";
import type { SetSecurityQuestions } from "../bindings/SetSecurityQuestions";
import { BackendError, codeFromStatus, fromApiError, isApiError } from "./errors";
import type { FetchLike } from "./http";
import { CSRF_HEADER } from "./session";

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
 * The user self-service portal (`/api/portal/…`): a mailbox user's session is an HttpOnly
 * cookie of its own (never the admins'); every call carries the session's anti-CSRF token.
 */
export class PortalApi {
  private readonly fetch: FetchLike;

  constructor(fetchImpl?: FetchLike) {
    this.fetch = fetchImpl ?? ((url, init) => globalThis.fetch(url, init));
  }

  /** One portal call (also the phone section's, `portalPhone.ts`). */
  async call(method: string, path: string, body?: object, csrf?: string): Promise<unknown> {
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

  /** This browser's portal session, or null when not signed in (or it ended). */
  async current(): Promise<PortalSession | null> {
    try {
      return (await this.call("GET", "/api/portal/session")) as PortalSession;
    } catch (e) {
      if (e instanceof BackendError && e.code === "unauthenticated") return null;
      throw e;
    }
  }

  signIn(address: string, password: string): Promise<PortalSession> {
    return this.call("POST", "/api/portal/session", { address, password }) as Promise<PortalSession>;
  }

  async signOut(csrf: string): Promise<void> {
    await this.call("DELETE", "/api/portal/session", undefined, csrf);
  }

  changePassword(csrf: string, change: ChangeOwnPassword): Promise<PortalSession> {
    return this.call("POST", "/api/portal/password", change, csrf) as Promise<PortalSession>;
  }

  account(csrf: string): Promise<PortalAccount> {
    return this.call("GET", "/api/portal/account", undefined, csrf) as Promise<PortalAccount>;
  }

  autoReply(csrf: string): Promise<AutoReply> {
    return this.call("GET", "/api/portal/auto-reply", undefined, csrf) as Promise<AutoReply>;
  }

  setAutoReply(csrf: string, reply: AutoReply): Promise<AutoReply> {
    return this.call("PUT", "/api/portal/auto-reply", reply, csrf) as Promise<AutoReply>;
  }

  forwarding(csrf: string): Promise<OwnForwarding> {
    return this.call("GET", "/api/portal/forwarding", undefined, csrf) as Promise<OwnForwarding>;
  }

  setForwarding(csrf: string, forwarding: SetForwarding): Promise<OwnForwarding> {
    return this.call("PUT", "/api/portal/forwarding", forwarding, csrf) as Promise<OwnForwarding>;
  }

  securityQuestions(csrf: string): Promise<PortalSecurityQuestions> {
    return this.call("GET", "/api/portal/security-questions", undefined, csrf) as Promise<PortalSecurityQuestions>;
  }

  setSecurityQuestions(csrf: string, set: SetSecurityQuestions): Promise<PortalSecurityQuestions> {
    return this.call("PUT", "/api/portal/security-questions", set, csrf) as Promise<PortalSecurityQuestions>;
  }

  /** The questions to recover a forgotten password with (no session). */
  recoveryQuestions(address: string): Promise<RecoveryQuestions> {
    return this.call("POST", "/api/portal/recovery/questions", { address }) as Promise<RecoveryQuestions>;
  }

  /** Sets a new password with the answers to the security questions (no session). */
  async recover(recovery: RecoverPassword): Promise<void> {
    await this.call("POST", "/api/portal/recovery", recovery);
  }
}

/** Whether the page was opened as the user portal (`#/portal`). */
export function isPortalRoute(hash: string): boolean {
  return /^#\/?portal(?:[/?]|$)/.test(hash);
}
