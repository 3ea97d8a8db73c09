import { invoke } from "@tauri-apps/api/core";
import type { OperationName } from "../bindings/operations";
import type { AddRemoteBackend } from "../bindings-desktop/AddRemoteBackend";
import type { BackendInfo } from "../bindings-desktop/BackendInfo";
import type { LocalServerSettings } from "../bindings-desktop/LocalServerSettings";
import type { LocalServerStatus } from "../bindings-desktop/LocalServerStatus";
import type { LocalSmtpSettings } from "../bindings-desktop/LocalSmtpSettings";
import type { LocalSmtpStatus } from "../bindings-desktop/LocalSmtpStatus";
import type { OpenKind } from "../bindings-desktop/OpenKind";
import type { OpenedFile } from "../bindings-desktop/OpenedFile";
import type { SavedFile } from "../bindings-desktop/SavedFile";
import type { ExportedFile } from "../bindings/ExportedFile";
import { toBackendError } from "./errors";
import type { Transport } from "./client";

/** Whether the UI runs inside the Tauri app. */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export type Invoke = <T>(cmd: string, args?: Record<string, unknown>) => Promise<T>;

const defaultInvoke: Invoke = (cmd, args) => invoke(cmd, args);

async function ipc<T>(inv: Invoke, cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await inv<T>(cmd, args);
  } catch (e) {
    throw toBackendError(e);
  }
}

/** Operations on one backend of the desktop app, through the `backend_call` command. */
export class TauriTransport implements Transport {
  private readonly backend: string;
  private readonly inv: Invoke;

  constructor(backend: string, inv: Invoke = defaultInvoke) {
    this.backend = backend;
    this.inv = inv;
  }

  call(name: OperationName, params: object): Promise<unknown> {
    return ipc(this.inv, "backend_call", { backend: this.backend, operation: name, params });
  }
}

/** The desktop-only commands: the backend list, the bundled server and its mail server, the OS file dialogs. */
export class Desktop {
  private readonly inv: Invoke;

  constructor(inv: Invoke = defaultInvoke) {
    this.inv = inv;
  }

  listBackends(): Promise<BackendInfo[]> {
    return ipc(this.inv, "list_backends");
  }
  addRemoteBackend(input: AddRemoteBackend): Promise<BackendInfo> {
    return ipc(this.inv, "add_remote_backend", { input });
  }
  removeBackend(id: string): Promise<null> {
    return ipc(this.inv, "remove_backend", { id });
  }
  localServerStatus(): Promise<LocalServerStatus> {
    return ipc(this.inv, "local_server_status");
  }
  startLocalServer(settings: LocalServerSettings): Promise<LocalServerStatus> {
    return ipc(this.inv, "start_local_server", { settings });
  }
  stopLocalServer(): Promise<LocalServerStatus> {
    return ipc(this.inv, "stop_local_server");
  }
  smtpStatus(): Promise<LocalSmtpStatus> {
    return ipc(this.inv, "smtp_status");
  }
  startSmtp(settings: LocalSmtpSettings): Promise<LocalSmtpStatus> {
    return ipc(this.inv, "start_smtp", { settings });
  }
  stopSmtp(): Promise<LocalSmtpStatus> {
    return ipc(this.inv, "stop_smtp");
  }
  /** Asks where to save `file` in the OS's save dialog and writes it there; null when cancelled. */
  saveFile(file: ExportedFile): Promise<SavedFile | null> {
    return ipc(this.inv, "save_file", { file });
  }
  /** Asks for a file in the OS's open dialog and reads it; null when cancelled. */
  openFile(kind: OpenKind): Promise<OpenedFile | null> {
    return ipc(this.inv, "open_file", { kind });
  }
}
