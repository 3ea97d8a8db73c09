// The desktop mode of the UI, in Chromium, with a stand-in for the Tauri core: the page gets a
// `__TAURI_INTERNALS__` whose `invoke` is answered here, following the IPC contract of the
// app (list_backends, add_remote_backend, remove_backend, backend_call, local server and its
// SMTP listeners). The
// "local" backend's backend_call goes to a real `postdesk serve`; one remote is unreachable.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UI_DIR, launchBrowser, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

/** method and path of every operation, read from the generated table. */
function operationTable() {
  const text = readFileSync(join(UI_DIR, "src", "bindings", "operations.ts"), "utf8");
  const table = new Map();
  for (const m of text.matchAll(/^\s+(\w+): \{ method: "(\w+)", path: "([^"]+)"/gm)) table.set(m[1], { method: m[2], path: m[3] });
  return table;
}

/** A fake Tauri core: the backends, their calls, the bundled server's state. */
class FakeCore {
  constructor(server) {
    this.server = server;
    this.ops = operationTable();
    this.calls = [];
    this.backends = [
      { id: "local", name: "This computer", kind: "local", url: null, status: "online", error: null },
      {
        id: "branch",
        name: "Branch office",
        kind: "remote",
        url: "https://branch.invalid:7878",
        status: "unreachable",
        error: "cannot reach the backend at https://branch.invalid:7878: dns error",
      },
    ];
    this.tokens = new Map([["local", server.token]]);
    this.local = {
      running: false,
      api_url: null,
      data_dir: "/home/admin/.local/share/postdesk",
      settings: { api_listen: "127.0.0.1:7878", start_on_launch: false },
      error: null,
    };
    // The mail server as the app reports it when another program holds the MX port.
    this.busy = "127.0.0.1:2525";
    this.smtp = {
      running: false,
      listeners: [],
      settings: {
        start_on_launch: true,
        mx_listen: this.busy,
        submission_listen: "127.0.0.1:2587",
        smtps_listen: "127.0.0.1:2465",
        hostname: "",
      },
      error: `cannot listen for SMTP (mx) on ${this.busy}: Address already in use (os error 98)`,
    };
  }

  startSmtp(settings) {
    if (settings.mx_listen === this.busy) {
      const message = `cannot listen for SMTP (mx) on ${this.busy}: Address already in use (os error 98)`;
      this.smtp = { ...this.smtp, running: false, listeners: [], settings, error: message };
      throw { code: "unavailable", message, field: "mx_listen" };
    }
    const listeners = [
      { kind: "mx", address: settings.mx_listen },
      { kind: "submission", address: settings.submission_listen },
      { kind: "submissions", address: settings.smtps_listen },
    ];
    this.smtp = { running: true, listeners, settings, error: null };
    return this.smtp;
  }

  async handle(cmd, args) {
    this.calls.push([cmd, args]);
    switch (cmd) {
      case "list_backends":
        return this.backends;
      case "add_remote_backend": {
        const { input } = args;
        if (!/^https:\/\/|^http:\/\/127\.0\.0\.1/.test(input.url)) {
          throw { code: "validation", message: "remote backends must use https://", field: "url" };
        }
        const b = { id: `r${this.backends.length}`, name: input.name, kind: "remote", url: input.url, status: "online", error: null };
        this.backends.push(b);
        this.tokens.set(b.id, input.token);
        return b;
      }
      case "remove_backend":
        this.backends = this.backends.filter((b) => b.id !== args.id);
        return null;
      case "backend_call":
        return this.backendCall(args.backend, args.operation, args.params);
      case "local_server_status":
        return this.local;
      case "start_local_server":
        this.local = { ...this.local, running: true, api_url: `http://${args.settings.api_listen}`, settings: args.settings };
        return this.local;
      case "stop_local_server":
        this.local = { ...this.local, running: false, api_url: null };
        return this.local;
      case "smtp_status":
        return this.smtp;
      case "start_smtp":
        return this.startSmtp(args.settings);
      case "stop_smtp":
        this.smtp = { ...this.smtp, running: false, listeners: [] };
        return this.smtp;
      default:
        throw `command ${cmd} not found`;
    }
  }

  async backendCall(id, operation, params) {
    const b = this.backends.find((x) => x.id === id);
    if (!b) throw { code: "not_found", message: `no backend ${id}` };
    if (b.status === "unreachable") throw { code: "unavailable", message: b.error };
    const op = this.ops.get(operation);
    if (!op) throw { code: "not_found", message: `no operation ${operation}` };
    const rest = { ...params };
    let path = op.path.replace(/\{(\w+)\}/g, (_, f) => {
      const v = rest[f];
      delete rest[f];
      return encodeURIComponent(v);
    });
    const query = op.method === "GET" || op.method === "DELETE";
    if (query) {
      const qs = new URLSearchParams(Object.entries(rest).filter(([, v]) => v !== undefined && v !== null));
      if (qs.size) path += `?${qs}`;
    }
    const res = await fetch(this.server.url + path, {
      method: op.method,
      headers: { Authorization: `Bearer ${this.tokens.get(id)}`, "Content-Type": "application/json" },
      body: query ? undefined : JSON.stringify(rest),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw json;
    return json;
  }
}

let server;
let browser;
let core;
let page;
let problems;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  core = new FakeCore(server);
  ({ page, problems } = await newPage(browser));
  await page.exposeFunction("__postdeskFakeIpc", async (cmd, args) => {
    try {
      return { ok: await core.handle(cmd, args) };
    } catch (err) {
      return { err };
    }
  });
  await page.addInitScript(() => {
    window.__TAURI_INTERNALS__ = {
      async invoke(cmd, args) {
        const r = await window.__postdeskFakeIpc(cmd, args ?? {});
        if ("err" in r) throw r.err;
        return r.ok;
      },
      transformCallback() {
        return 0;
      },
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const sidebar = () => page.getByRole("complementary", { name: "Backends" });
const dialog = () => page.getByRole("dialog");

describe("desktop mode (Tauri IPC)", { concurrency: false }, () => {
  it("lists the backends with their status and works on the local one through backend_call", async () => {
    await page.goto(server.url);
    await sidebar().getByRole("button", { name: /^This computer/ }).waitFor();
    assert.match(await sidebar().getByRole("button", { name: /^Branch office/ }).innerText(), /unreachable/);
    await openPage(page, "Domains");
    await page.getByRole("button", { name: "New domain", exact: true }).click();
    await dialog().getByLabel("Domain name").fill("desk.example");
    await dialog().getByRole("button", { name: "Create domain" }).click();
    await page.locator('tr[data-domain="desk.example"]').waitFor();
    assert.ok(core.calls.some(([c, a]) => c === "backend_call" && a.backend === "local" && a.operation === "create_domain"));
    assert.equal(await page.locator("text=Sign out").count(), 0, "no token login in the app");
  });

  it("shows an unreachable backend as such, and the others keep working", async () => {
    await sidebar().getByRole("button", { name: /^Branch office/ }).click();
    await page.getByText("This backend cannot be reached.").waitFor();
    await page.screenshot({ path: screenshotPath("desktop-unreachable") });
    await sidebar().getByRole("button", { name: /^This computer/ }).click();
    await openPage(page, "Domains");
    await page.locator('tr[data-domain="desk.example"]').waitFor();
  });

  it("adds a remote backend by URL and token, shows the field's error, and removes it", async () => {
    await sidebar().getByRole("button", { name: "+ Add remote backend" }).click();
    await dialog().getByLabel("Name").fill("Loopback");
    await dialog().getByLabel("URL").fill("http://mail.example.com");
    await dialog().getByLabel("API token").fill(server.token);
    await dialog().getByRole("button", { name: "Add backend" }).click();
    const err = dialog().locator('[data-field="url"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /https/);
    await dialog().getByLabel("URL").fill(server.url);
    await dialog().getByRole("button", { name: "Add backend" }).click();
    await dialog().waitFor({ state: "detached" });
    const added = core.calls.filter(([c]) => c === "add_remote_backend").at(-1)[1];
    assert.deepEqual(added, { input: { name: "Loopback", url: server.url, token: server.token } });
    await sidebar().getByRole("button", { name: /^Loopback/ }).waitFor();
    // The new backend is selected and its pages work.
    await openPage(page, "Domains");
    await page.locator('tr[data-domain="desk.example"]').waitFor();
    await sidebar().getByRole("button", { name: "Remove backend Loopback" }).click();
    await dialog().getByRole("button", { name: "Remove" }).click();
    await sidebar().getByRole("button", { name: /^Loopback/ }).waitFor({ state: "detached" });
    assert.deepEqual(core.calls.filter(([c]) => c === "remove_backend").at(-1)[1], { id: "r2" });
  });

  it("starts and stops the local server from its settings page", async () => {
    await sidebar().getByRole("button", { name: /^This computer/ }).click();
    await openPage(page, "Local server");
    await page.getByText("Stopped").waitFor();
    await page.getByLabel("Listen address of the admin API").fill("127.0.0.1:7979");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.getByText("http://127.0.0.1:7979").waitFor();
    assert.deepEqual(core.calls.filter(([c]) => c === "start_local_server").at(-1)[1], {
      settings: { api_listen: "127.0.0.1:7979", start_on_launch: false },
    });
    await page.screenshot({ path: screenshotPath("desktop-settings") });
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    await page.getByText("Stopped").waitFor();
    assert.deepEqual(problems, []);
  });

  it("shows why SMTP is not running and starts it on other ports", async () => {
    const state = page.getByTestId("smtp-status");
    await state.getByText("SMTP not running: cannot listen for SMTP (mx) on 127.0.0.1:2525: Address already in use").waitFor();
    // Retrying on the busy port names the field; another port starts it.
    await page.getByRole("button", { name: "Start SMTP" }).click();
    const err = page.locator('[data-field="mx_listen"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /Address already in use/);
    await page.getByLabel("Inbound mail (MX) address").fill("127.0.0.1:2626");
    await page.getByRole("button", { name: "Start SMTP" }).click();
    await state.getByText("SMTP running").waitFor();
    assert.match(await state.locator('li[data-kind="mx"]').innerText(), /Inbound mail \(MX\) on 127\.0\.0\.1:2626/);
    assert.match(await state.locator('li[data-kind="submissions"]').innerText(), /implicit TLS\) on 127\.0\.0\.1:2465/);
    assert.deepEqual(core.calls.filter(([c]) => c === "start_smtp").at(-1)[1], {
      settings: {
        start_on_launch: true,
        mx_listen: "127.0.0.1:2626",
        submission_listen: "127.0.0.1:2587",
        smtps_listen: "127.0.0.1:2465",
        hostname: "",
      },
    });
    await page.screenshot({ path: screenshotPath("desktop-smtp") });
    await page.getByRole("button", { name: "Stop SMTP" }).click();
    await state.getByText("SMTP not running").waitFor();
    assert.deepEqual(problems, []);
  });
});
