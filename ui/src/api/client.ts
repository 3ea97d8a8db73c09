import type { OperationName, Output, Params } from "../bindings/operations";

/**
 * How operations reach a backend: HTTP to `postdesk serve`, or Tauri IPC to the desktop
 * core. A transport resolves with the operation's JSON output or rejects with a BackendError.
 */
export interface Transport {
  call(name: OperationName, params: object): Promise<unknown>;
}

/** The one typed entry point the pages use. */
export interface Client {
  call<N extends OperationName>(name: N, params: Params<N>): Promise<Output<N>>;
}

export function createClient(transport: Transport): Client {
  return {
    call<N extends OperationName>(name: N, params: Params<N>): Promise<Output<N>> {
      return transport.call(name, params) as Promise<Output<N>>;
    },
  };
}
