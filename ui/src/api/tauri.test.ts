import { describe, expect, it } from "vitest";
import { createClient } from "./client";
import { BackendError, toBackendError } from "./errors";
import { Desktop, TauriTransport, type Invoke } from "./tauri";

function recorder(answer: (cmd: string) => Promise<unknown>) {
  const calls: [string, Record<string, unknown> | undefined][] = [];
  const inv: Invoke = <T,>(cmd: string, args?: Record<string, unknown>) => {
    calls.push([cmd, args]);
    return answer(cmd) as Promise<T>;
  };
  return { calls, inv };
}

describe("TauriTransport", () => {
  it("calls backend_call with the backend id, operation name and params", async () => {
    const { calls, inv } = recorder(() => Promise.resolve({ items: [], total: 0, offset: 0 }));
    const c = createClient(new TauriTransport("local", inv));
    const out = await c.call("list_accounts", { domain: "example.com", limit: 100 });
    expect(out.total).toBe(0);
    expect(calls).toEqual([
      ["backend_call", { backend: "local", operation: "list_accounts", params: { domain: "example.com", limit: 100 } }],
    ]);
  });

  it("turns a rejected Error object into a BackendError", async () => {
    // Tauri rejects with the command's serialised error: a plain object, not an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const { inv } = recorder(() => Promise.reject({ code: "not_found", message: "no account x@y.org", field: "address" }));
    const err = (await createClient(new TauriTransport("r1", inv))
      .call("get_account", { address: "x@y.org" })
      .catch((e: unknown) => e)) as BackendError;
    expect(err).toBeInstanceOf(BackendError);
    expect([err.code, err.message, err.field]).toEqual(["not_found", "no account x@y.org", "address"]);
  });

  it("turns a plain string rejection (e.g. unknown command) into an internal error", async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const { inv } = recorder(() => Promise.reject("command backend_call not found"));
    const err = (await createClient(new TauriTransport("r1", inv))
      .call("list_domains", {})
      .catch((e: unknown) => e)) as BackendError;
    expect([err.code, err.message]).toEqual(["internal", "command backend_call not found"]);
  });
});

describe("Desktop", () => {
  it("uses the agreed command names and argument names", async () => {
    const { calls, inv } = recorder(() => Promise.resolve(null));
    const d = new Desktop(inv);
    await d.listBackends();
    await d.addRemoteBackend({ name: "HQ", url: "https://hq.example", token: "pd_x" });
    await d.removeBackend("r1");
    await d.localServerStatus();
    await d.startLocalServer({ api_listen: "127.0.0.1:7878", start_on_launch: true });
    await d.stopLocalServer();
    const smtp = {
      start_on_launch: true,
      mx_listen: "127.0.0.1:2525",
      submission_listen: "127.0.0.1:2587",
      smtps_listen: "127.0.0.1:2465",
      hostname: "",
    };
    await d.smtpStatus();
    await d.startSmtp(smtp);
    await d.stopSmtp();
    expect(calls).toEqual([
      ["list_backends", undefined],
      ["add_remote_backend", { input: { name: "HQ", url: "https://hq.example", token: "pd_x" } }],
      ["remove_backend", { id: "r1" }],
      ["local_server_status", undefined],
      ["start_local_server", { settings: { api_listen: "127.0.0.1:7878", start_on_launch: true } }],
      ["stop_local_server", undefined],
      ["smtp_status", undefined],
      ["start_smtp", { settings: smtp }],
      ["stop_smtp", undefined],
    ]);
  });
});

describe("toBackendError", () => {
  it("keeps BackendErrors and reads API error objects", () => {
    const be = new BackendError("conflict", "x");
    expect(toBackendError(be)).toBe(be);
    expect(toBackendError({ code: "validation", message: "bad", field: null }).field).toBeUndefined();
    expect(toBackendError({ code: "weird", message: "bad" }).code).toBe("internal");
    expect(toBackendError(new TypeError("boom")).message).toBe("boom");
    expect(toBackendError(42).code).toBe("internal");
  });
});
