// Drives the real Postdesk window through tauri-driver: the local backend in the sidebar,
// IPC round trips (a result, a rejection with the API error object, a command the
// capability does not grant), the local mail server's SMTP listener greeting a client,
// creating a domain through the UI, exports saved and imports opened through the OS's own
// file dialogs (GTK's, answered with xdotool), and a screenshot.
//
// Env: POSTDESK_APP (the built binary), WEBDRIVER_URL (tauri-driver, default
// http://127.0.0.1:4444), OUT_DIR (where window.png goes), MODE=bench for the cold-start
// and memory figures only.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { LOCAL_BACKEND, WebDriver, sleep } from "./webdriver.mjs";

const app = process.env.POSTDESK_APP;
const outDir = process.env.OUT_DIR ?? "target/desktop";
const mode = process.env.MODE ?? "test";
if (!app) throw new Error("set POSTDESK_APP to the app binary");
mkdirSync(outDir, { recursive: true });

const results = [];
function check(name, ok, detail = "") {
  results.push(ok);
  console.log(`${ok ? "ok" : "not ok"} - ${name}${detail ? ` (${detail})` : ""}`);
}

/** invoke() inside the page; resolves to {ok} or {err}. */
async function invoke(wd, cmd, args) {
  return wd.executeAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
       .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: e }));`,
    [cmd, args],
  );
}

/** The first line an SMTP server sends on `address` (host:port), or the error. */
function smtpGreeting(address) {
  const i = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    let data = "";
    const done = (line) => {
      socket.destroy();
      resolve(line);
    };
    socket.setTimeout(15000, () => done("timeout"));
    socket.on("error", (e) => done(`error: ${e.message}`));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\r\n")) {
        socket.write("QUIT\r\n");
        done(data.split("\r\n")[0]);
      }
    });
  });
}

/** PIDs of the processes running `binary`, and their WebKit children. */
function processes(binary) {
  const target = realpathSync(binary);
  const all = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const parent = (pid) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
  const apps = all.filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === target;
    } catch {
      return false;
    }
  });
  const children = all.filter((pid) => {
    try {
      return apps.includes(String(parent(pid)));
    } catch {
      return false;
    }
  });
  return { apps, children };
}

function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

function comm(pid) {
  return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}

/** `secret-tool` (libsecret-tools) on the session's Secret Service: what the app stored. */
function secretTool(args) {
  const r = spawnSync("secret-tool", args, { encoding: "utf8" });
  if (r.error) throw new Error(`cannot run secret-tool (apt-get install -y libsecret-tools): ${r.error.message}`);
  return { status: r.status, out: r.stdout };
}

/** The keyring service the app's build files its tokens under. */
const KEYRING_SERVICES = ["dev.postdesk.app.debug", "dev.postdesk.app.release"];

/** Starts `postdesk serve --tls` on a free loopback port; resolves to { url, token, certPem, stop }. */
async function startTlsServe() {
  const bin = process.env.POSTDESK_BIN;
  if (!bin || !existsSync(bin)) throw new Error(`no postdesk binary at POSTDESK_BIN=${bin}`);
  const dir = mkdtempSync(join(tmpdir(), "postdesk-remote-"));
  const child = spawn(bin, ["--data-dir", dir, "serve", "--tls", "--listen", "127.0.0.1:0", "--no-smtp"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const { url, token } = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start: ${out}`)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      const token = out.match(/^(pd_\S+)/m)?.[1];
      const url = out.match(/listening on (https:\/\/\S+)/)?.[1];
      if (token && url) {
        clearTimeout(timer);
        ok({ url, token });
      }
    });
    child.once("exit", (code) => fail(new Error(`serve exited with ${code}: ${out}`)));
  });
  const certPem = readFileSync(join(dir, "tls-cert.pem"), "utf8");
  return {
    url,
    token,
    certPem,
    stop() {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A remote backend in the real window with the real keyring: add_remote_backend against a
 * `serve` over TLS (refused without trusting its certificate), its token in the Secret
 * Service only, calls through it, the token taken from the keyring while the app is closed
 * (after a relaunch, the backend says so and refuses calls), and remove_backend.
 */
async function remoteBackendChecks(wd) {
  const remote = await startTlsServe();
  try {
    const input = { name: "Remote office", url: remote.url, token: remote.token };
    const untrusted = await invoke(wd, "add_remote_backend", { input });
    check("add_remote_backend refuses a certificate it does not trust", untrusted.err !== undefined, JSON.stringify(untrusted));
    const added = await invoke(wd, "add_remote_backend", { input: { ...input, ca_cert_pem: remote.certPem } });
    const id = added.ok?.id;
    check("add_remote_backend adds a serve over TLS, online", added.ok?.status === "online" && !!id, JSON.stringify(added));
    const who = await invoke(wd, "backend_call", { backend: id, operation: "whoami", params: {} });
    check("…and calls go through it", who.ok?.name === "owner", JSON.stringify(who));
    const stored = KEYRING_SERVICES.map((service) => secretTool(["lookup", "service", service, "username", id]));
    check("…its token is in the OS keyring", stored.some((r) => r.status === 0 && r.out === remote.token), `${stored.map((r) => r.status)}`);
    const files = readdirSync(process.env.HOME, { recursive: true }).filter((f) => f.endsWith(".json"));
    const leaked = files.filter((f) => readFileSync(join(process.env.HOME, f), "utf8").includes(remote.token));
    check("…and in no file", leaked.length === 0, leaked.join(", "));

    // The token taken from the keyring while the app is closed; the app launched again.
    await wd.quit();
    for (const service of KEYRING_SERVICES) secretTool(["clear", "service", service, "username", id]);
    await wd.start(app);
    await wd.waitFor(LOCAL_BACKEND, 60000);
    const listed = await invoke(wd, "list_backends", {});
    const entry = listed.ok?.find((b) => b.id === id);
    check(
      "a token missing from the keyring is reported on the backend",
      entry?.status === "unauthorized" && /keyring has no token/.test(entry?.error ?? ""),
      JSON.stringify(entry),
    );
    const refused = await invoke(wd, "backend_call", { backend: id, operation: "whoami", params: {} });
    check("…and its calls are refused", refused.err?.code === "unauthenticated", JSON.stringify(refused));

    const removed = await invoke(wd, "remove_backend", { id });
    const after = await invoke(wd, "list_backends", {});
    check("remove_backend removes it", removed.err === undefined && !after.ok?.some((b) => b.id === id), JSON.stringify(after));
  } finally {
    remote.stop();
  }
}

/** Runs xdotool in the Xvfb display; throws with its error. */
function xdotool(...args) {
  const r = spawnSync("xdotool", args, { encoding: "utf8", timeout: 30000 });
  if (r.status !== 0) throw new Error(`xdotool ${args.join(" ")}: ${r.stderr || r.error?.message || `status ${r.status}`}`);
  return r.stdout.trim();
}

/**
 * Answers the OS file dialog titled `title` as a user would: types `path` (into the name
 * field of a save dialog, into the location field of an open dialog) and presses Enter, or
 * presses Escape when `path` is null.
 */
async function answerFileDialog(title, path, { open = false } = {}) {
  const id = xdotool("search", "--sync", "--onlyvisible", "--name", `^${title}$`).split("\n")[0];
  xdotool("windowfocus", "--sync", id);
  await sleep(500); // the chooser takes keys once its widgets are realised
  if (path === null) {
    xdotool("key", "--clearmodifiers", "Escape");
  } else {
    xdotool("key", "--clearmodifiers", open ? "ctrl+l" : "ctrl+a");
    xdotool("type", "--delay", "20", path);
    await sleep(300);
    xdotool("key", "--clearmodifiers", "Return");
  }
  // Gone once answered.
  for (const deadline = Date.now() + 15000; Date.now() < deadline; await sleep(100)) {
    if (spawnSync("xdotool", ["search", "--onlyvisible", "--name", `^${title}$`]).status !== 0) return;
  }
  throw new Error(`the dialog "${title}" is still open`);
}

/** The text of the first element `selector` matches once it says something, or null. */
async function textOf(wd, selector, timeoutMs = 15000) {
  try {
    const [el] = await wd.waitFor([["css selector", selector]], timeoutMs);
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
      const text = await wd.text(el);
      if (text) return text;
    }
  } catch (e) {
    console.log(`# ${e.message}`);
  }
  return null;
}

/**
 * The Aliases page's Export and Import… through the OS dialogs: the export written where the
 * save dialog was told, a cancelled save writing nothing, the file opened in the open dialog
 * imported again, and a file over the import limit refused at the field.
 */
async function fileDialogChecks(wd, domain) {
  const dir = mkdtempSync(join(tmpdir(), "postdesk-dialogs-"));
  try {
    await fileDialogSteps(wd, domain, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fileDialogSteps(wd, domain, dir) {
  const alias = { address: `team@${domain}`, targets: ["someone@elsewhere.example"], description: "The team" };
  const created = await invoke(wd, "backend_call", { backend: "local", operation: "create_alias", params: alias });
  check("an alias is created for the export", created.ok?.address === alias.address, JSON.stringify(created));
  await wd.execute(
    `localStorage.setItem(arguments[0], arguments[1]); location.hash = "#/aliases"; location.reload();`,
    [`postdesk.domain:local`, domain],
  );
  await wd.waitFor([["xpath", `//tr[contains(., "${alias.address}")]`]], 30000);
  const exportButton = async () => (await wd.waitFor([["xpath", '//button[normalize-space(.)="Export"]']]))[0];

  // Cancelled: nothing written, and the page says so.
  await wd.click(await exportButton());
  await answerFileDialog("Save as", null);
  const cancelled = await textOf(wd, ".export-note");
  check("a save dialog closed without saving writes nothing and says so", cancelled === "Not saved: the save dialog was closed." && readdirSync(dir).length === 0, JSON.stringify(cancelled));

  // Saved where the user typed.
  const saved = join(dir, "aliases-saved.xlsx");
  await wd.click(await exportButton());
  await answerFileDialog("Save as", saved);
  let note = null;
  for (const deadline = Date.now() + 15000; Date.now() < deadline && !/Saved to/.test(note ?? ""); await sleep(100)) note = await textOf(wd, ".export-note");
  const bytes = existsSync(saved) ? readFileSync(saved) : Buffer.alloc(0);
  check(
    "Export writes the XLSX where the save dialog was told",
    bytes.subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1")) && bytes.includes(Buffer.from("xl/worksheets/sheet1.xml")),
    `${saved}: ${bytes.length} bytes`,
  );
  check("…and the page says where", note === `Exported 1 alias. Saved to ${saved}.`, JSON.stringify(note));

  // Opened again in the open dialog, after the alias is gone: imported back.
  const removed = await invoke(wd, "backend_call", { backend: "local", operation: "remove_alias", params: { address: alias.address } });
  check("the alias is removed before the import", removed.err === undefined, JSON.stringify(removed));
  const importOnce = async (path) => {
    await wd.click((await wd.waitFor([["xpath", '//button[normalize-space(.)="Import…"]']]))[0]);
    await wd.click((await wd.waitFor([["xpath", '//dialog[@open]//button[normalize-space(.)="Choose file…"]']]))[0]);
    await answerFileDialog("Choose a file to import", path, { open: true });
  };
  const closeDialog = async () => {
    const [close] = await wd.waitFor([["xpath", '//dialog[@open]//div[@class="dialog-buttons"]/button[1]']]);
    await wd.click(close);
  };
  const big = join(dir, "big.xlsx");
  writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 1));
  await importOnce(big);
  const refused = await textOf(wd, 'dialog[open] [data-field="file"] .field-error');
  check("a file over the import limit is refused at the field", refused === "big.xlsx has 2.0 MiB; an import file may have at most 1.0 MiB.", JSON.stringify(refused));
  await closeDialog();
  await importOnce(saved);
  const chosen = await textOf(wd, 'dialog[open] [data-testid="chosen-file"]');
  check("the open dialog's file is shown as chosen", chosen === "aliases-saved.xlsx", JSON.stringify(chosen));
  await wd.click((await wd.waitFor([["xpath", '//dialog[@open]//button[normalize-space(.)="Import"]']]))[0]);
  const imported = await textOf(wd, "dialog[open] .ok[role=status]");
  const back = await invoke(wd, "backend_call", { backend: "local", operation: "get_alias", params: { address: alias.address } });
  check(
    "…and imported from it",
    /1 alias/.test(imported ?? "") && JSON.stringify(back.ok?.targets) === JSON.stringify(alias.targets) && back.ok?.description === alias.description,
    `${JSON.stringify(imported)}; ${JSON.stringify(back)}`,
  );
  await closeDialog();
}

const wd = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
await wd.waitReady();
const t0 = performance.now();
await wd.start(app);
const tSession = performance.now();
try {
  const [, via] = await wd.waitFor(LOCAL_BACKEND, 60000);
  const tSidebar = performance.now();

  if (mode === "bench") {
    await sleep(3000); // let the first page settle
    const { apps, children } = processes(app);
    const appRss = apps.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const childRss = children.reduce((sum, pid) => sum + rssKiB(pid), 0);
    const figures = {
      cold_start_ms: Math.round(tSidebar - t0),
      session_ms: Math.round(tSession - t0),
      app_rss_mib: +(appRss / 1024).toFixed(1),
      webkit_children: children.map((pid) => `${comm(pid)}=${(rssKiB(pid) / 1024).toFixed(1)}MiB`),
      total_rss_mib: +((appRss + childRss) / 1024).toFixed(1),
    };
    console.log(`BENCH ${JSON.stringify(figures)}`);
  } else {
    check("the window opens with a title", (await wd.title()) === "Postdesk", await wd.title());
    const entry = await wd.execute(
      `const el = document.querySelector(arguments[0]); return el ? el.textContent : null;`,
      [LOCAL_BACKEND[via][1]],
    );
    check(
      "the sidebar shows the local backend, online",
      /This computer/.test(entry ?? "") && /online/i.test(entry ?? ""),
      `${via === 0 ? "data-testid=backend-local" : "fallback selector"}: ${JSON.stringify(entry)}`,
    );
    // A figure, not a check: tests/desktop/bench.sh measures it (median of runs).
    console.log(`# cold start to the sidebar: ${Math.round(tSidebar - t0)} ms`);

    const who = await invoke(wd, "backend_call", { backend: "local", operation: "whoami", params: {} });
    check("backend_call round-trips over IPC", who.ok?.role === "owner", JSON.stringify(who));

    const missing = await invoke(wd, "backend_call", { backend: "nowhere", operation: "whoami", params: {} });
    check(
      "errors reject with the API error object",
      missing.err?.code === "not_found" && typeof missing.err?.message === "string",
      JSON.stringify(missing),
    );

    const backends = await invoke(wd, "list_backends", {});
    check("list_backends puts local first", backends.ok?.[0]?.id === "local", JSON.stringify(backends));

    const status = await invoke(wd, "local_server_status", {});
    check("local_server_status reports the data folder", typeof status.ok?.data_dir === "string", JSON.stringify(status));
    if (process.env.XDG_DATA_HOME) {
      // Tauri's app_data_dir() must be the CLI's default folder: $XDG_DATA_HOME/dev.postdesk.app.
      const expected = join(process.env.XDG_DATA_HOME, "dev.postdesk.app");
      check(
        "the engine lives in the OS app-data folder the CLI uses",
        status.ok?.data_dir === expected && existsSync(join(expected, "postdesk.db")),
        status.ok?.data_dir,
      );
    }

    // The bundled server's listener, started and stopped from the app, reached from outside.
    const started = await invoke(wd, "start_local_server", { settings: { api_listen: "127.0.0.1:0", start_on_launch: false } });
    const apiUrl = started.ok?.api_url;
    check("start_local_server opens the admin API", started.ok?.running === true && /^http:\/\/127\.0\.0\.1:\d+$/.test(apiUrl ?? ""), JSON.stringify(started));
    if (apiUrl) {
      const page = await fetch(`${apiUrl}/`).then(async (r) => [r.status, await r.text()], (e) => [0, e.message]);
      check("…which serves the web UI", page[0] === 200 && page[1].includes("<title>Postdesk</title>"), `HTTP ${page[0]}`);
      const anon = await fetch(`${apiUrl}/api/whoami`).then((r) => r.status, () => 0);
      check("…and refuses the API without a token", anon === 401, `HTTP ${anon}`);
    }
    const stopped = await invoke(wd, "stop_local_server", {});
    const after = apiUrl ? await fetch(`${apiUrl}/api/whoami`).then(() => "answered", () => "refused") : "n/a";
    check("stop_local_server closes it", stopped.ok?.running === false && after === "refused", `${JSON.stringify(stopped)}; ${after}`);

    // The local mail server started with the app (on the free ports window.sh asked for).
    const smtp = await invoke(wd, "smtp_status", {});
    const kinds = (smtp.ok?.listeners ?? []).map((l) => l.kind).join(",");
    check("the app started its SMTP listeners", smtp.ok?.running === true && kinds === "mx,submission,submissions", JSON.stringify(smtp));
    const mx = smtp.ok?.listeners?.find((l) => l.kind === "mx")?.address;
    const greeting = mx ? await smtpGreeting(mx) : "no MX listener";
    check("…and its MX listener greets a client with 220", /^220 /.test(greeting), `${mx}: ${greeting}`);
    const submission = smtp.ok?.listeners?.find((l) => l.kind === "submission")?.address;
    const subGreeting = submission ? await smtpGreeting(submission) : "no submission listener";
    check("…and so does submission", /^220 /.test(subGreeting), `${submission}: ${subGreeting}`);

    // Stopped and started again from the app, with new free ports.
    const smtpSettings = smtp.ok?.settings;
    const stoppedSmtp = await invoke(wd, "stop_smtp", {});
    const afterStop = mx ? await smtpGreeting(mx) : "no MX listener";
    check(
      "stop_smtp closes the mail listeners",
      stoppedSmtp.ok?.running === false && (stoppedSmtp.ok?.listeners ?? []).length === 0 && /^error/.test(afterStop),
      `${JSON.stringify(stoppedSmtp)}; ${afterStop}`,
    );
    const restarted = await invoke(wd, "start_smtp", { settings: { ...smtpSettings, mx_listen: "127.0.0.1:0" } });
    const mx2 = restarted.ok?.listeners?.find((l) => l.kind === "mx")?.address;
    const greeting2 = mx2 ? await smtpGreeting(mx2) : "no MX listener";
    check("start_smtp opens them again", restarted.ok?.running === true && /^220 /.test(greeting2), `${JSON.stringify(restarted)}; ${greeting2}`);

    const denied = await invoke(wd, "plugin:event|emit", { event: "probe", payload: null });
    check("commands outside the capability are refused", denied.err !== undefined, JSON.stringify(denied));

    // The UI round trip: create a domain and see it listed.
    const domain = "desktop-test.example";
    const [domainsLink] = await wd.waitFor([["css selector", 'nav[aria-label="Pages"] a[href="#/domains"]']]);
    await wd.click(domainsLink);
    const [newDomain] = await wd.waitFor([["xpath", '//button[normalize-space(.)="New domain"]']]);
    await wd.click(newDomain);
    const [input] = await wd.waitFor([["css selector", 'dialog[open] input[name="domain"]']]);
    await wd.type(input, domain);
    await wd.click(await wd.find('dialog[open] button[type="submit"]'));
    let listed = false;
    try {
      await wd.waitFor([["css selector", `tr[data-domain="${domain}"]`]], 15000);
      listed = true;
    } catch (e) {
      console.log(`# ${e.message}`);
    }
    check("a domain created in the UI is listed", listed);
    const stored = await invoke(wd, "backend_call", { backend: "local", operation: "list_domains", params: {} });
    check("…and stored by the local engine", stored.ok?.items?.some?.((d) => d.name === domain), JSON.stringify(stored));

    await fileDialogChecks(wd, domain);

    await sleep(300);
    const png = join(outDir, "window.png");
    writeFileSync(png, await wd.screenshot());
    const shot = readFileSync(png);
    // A PNG (signature, IHDR) of the window's size, not an empty or blank capture.
    const [width, height] = [shot.readUInt32BE(16), shot.readUInt32BE(20)];
    check(
      "the window is captured",
      shot.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && width >= 800 && height >= 500 && shot.length > 20_000,
      `${png}: ${width}×${height}, ${shot.length} bytes`,
    );

    // The local server page shows the mail server's state and listeners.
    const [settingsLink] = await wd.waitFor([["css selector", 'nav[aria-label="Pages"] a[href="#/settings"]']]);
    await wd.click(settingsLink);
    let shown = null;
    try {
      const [panel] = await wd.waitFor([["css selector", '[data-testid="smtp-status"] li[data-kind="mx"]']], 15000);
      shown = await wd.text(panel);
    } catch (e) {
      console.log(`# ${e.message}`);
    }
    check("the local server page lists the SMTP listeners", mx2 !== undefined && (shown ?? "").includes(mx2), JSON.stringify(shown));
    await sleep(300);
    writeFileSync(join(outDir, "window-smtp.png"), await wd.screenshot());

    // Last, as it relaunches the app.
    await remoteBackendChecks(wd);
  }
} catch (e) {
  check("the window test ran to the end", false, e.message);
  try {
    writeFileSync(join(outDir, "window-failure.png"), await wd.screenshot());
  } catch {
    /* no window to capture */
  }
} finally {
  await wd.quit();
}

if (mode !== "bench") {
  // The app's log (via WebKitWebDriver and tauri-driver): first-start token in the keyring, never printed.
  const logFile = join(outDir, "tauri-driver.log");
  if (existsSync(logFile)) {
    // The app writes its log as it goes: poll for the first-start line rather than sleeping.
    let log = readFileSync(logFile, "utf8");
    for (const deadline = Date.now() + 10000; !log.includes("owner token kept in the OS keyring") && Date.now() < deadline; ) {
      await sleep(100);
      log = readFileSync(logFile, "utf8");
    }
    check("first start keeps the owner token in the OS keyring", log.includes("owner token kept in the OS keyring"));
    check("no token in the app's log", !/pd_[A-Za-z0-9]/.test(log));
  }
  const passed = results.filter(Boolean).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
}
process.exit(results.every(Boolean) ? 0 : 1);
