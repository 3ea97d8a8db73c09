import { createContext, useContext } from "react";
import type { Client } from "../api/client";
import type { Desktop } from "../api/tauri";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import type { Caller } from "../bindings/Caller";
import type { Domain } from "../bindings/Domain";
import type { BackendError } from "../api/errors";

/** What every page acts on: the selected backend, who we are there, its domains. */
export interface Session {
  backend: BackendInfo;
  client: Client;
  caller: Caller;
  domains: Domain[];
  domainsError: BackendError | null;
  reloadDomains: () => void;
  /** Reads the app-wide notices again (shared mailboxes whose fetching stopped). */
  reloadNotices: () => void;
  /** The domain picked in the header (pages that work per domain use it). */
  domain: string | null;
  setDomain: (d: string | null) => void;
  /** The caller may read but change nothing (helpdesk): change controls are disabled. */
  readOnly: boolean;
  /** Desktop commands, in the Tauri app only. */
  desktop: Desktop | null;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a backend");
  return s;
}
