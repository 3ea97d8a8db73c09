// Boots a real `postdesk serve` on a free loopback port with a fresh data folder and the
// built UI, and drives Debian's Chromium with playwright-core. Failures print what the
// server said.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(UI_DIR, "..");
export const SHOTS = join(REPO, "target", "ui-e2e");

/** The postdesk binary: $POSTDESK_BIN, else the workspace's target/debug/postdesk. */
export function postdeskBin() {
  const bin = process.env.POSTDESK_BIN || join(REPO, "target", "debug", "postdesk");
  if (!existsSync(bin)) {
    throw new Error(`no postdesk binary at ${bin}: run 'cargo build -p postdesk-cli' first, or set POSTDESK_BIN`);
  }
  return bin;
}

function distDir() {
  const dist = join(UI_DIR, "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error(`no built UI in ${dist}: run 'npm run build' first`);
  return dist;
}

/** A free loopback port (nothing listens on it once this resolves). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts `postdesk serve`; resolves once it listens, with its URL, the owner's token (read
 * from its first-start output) and a stop function. Without SMTP unless `smtp` is set: then
 * the three SMTP listeners are on free loopback ports (port 0, read back from serve's
 * output into `smtp`: { mx, submission, submissions }), and `reloads()` counts the times the
 * mail server took up changed SMTP settings or rules. `dnsResolver` (IP:PORT) is the DNS
 * server the DNS wizard asks (e.g. a knotd of `knot.mjs`).
 */
export async function startServer({ smtp = false, dnsResolver = null } = {}) {
  const bin = postdeskBin();
  const dataDir = mkdtempSync(join(tmpdir(), "postdesk-e2e-"));
  const port = await freePort();
  const args = ["--data-dir", dataDir, "serve", "--listen", `127.0.0.1:${port}`, "--ui", distDir()];
  if (dnsResolver) args.push("--dns-resolver", dnsResolver);
  if (smtp) {
    const any = "127.0.0.1:0";
    args.push("--smtp-listen", any, "--submission-listen", any, "--smtps-listen", any, "--smtp-hostname", "mx.example.com");
    args.push("--imap-listen", any, "--imaps-listen", any, "--pop3-listen", any, "--pop3s-listen", any);
  } else {
    // The browser tests need only the admin API.
    args.push("--no-smtp");
  }
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: smtp ? { ...process.env, POSTDESK_LOG: "warn,postdesk_mailserver::live=info" } : process.env,
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`postdesk serve did not start in 60 s\nstdout:\n${out}\nstderr:\n${err}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const token = out.match(/^(pd_\S+)/m)?.[1];
      const url = out.match(/listening on (http:\/\/\S+)/)?.[1];
      if (token && url) {
        clearTimeout(timer);
        ok({ token, url });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`postdesk serve exited with ${code}\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
  const { token, url } = await ready;
  const listeners = {};
  for (const m of out.matchAll(/^SMTP (\w+) listening on (\S+):(\d+)$/gm)) listeners[m[1]] = Number(m[3]);
  const readers = {};
  for (const m of out.matchAll(/^(?:IMAP|POP3) (\w+) listening on (\S+):(\d+)$/gm)) readers[m[1]] = Number(m[3]);
  return {
    url,
    token,
    dataDir,
    bin,
    smtp: smtp ? listeners : null,
    /** The IMAP and POP3 listeners by kind (imap, imaps, pop3, pop3s), with `smtp`. */
    readers: smtp ? readers : null,
    reloads: () => (err.match(/profile reloaded/g) ?? []).length,
    output: () => ({ out, err }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once("exit", ok));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls one operation of the admin API over HTTP (for seeding), mapping like the UI client. */
export async function api(server, token, method, path, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return json;
}

/** Debian's Chromium, headless, with no background traffic. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page that records console errors (CSP violations among them). */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { context, page, problems };
}

export function screenshotPath(name) {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, `${name}.png`);
}

/** Signs in on the login screen with the API token `token` (not a name and password). */
export async function login(page, url, token) {
  await page.goto(url);
  await page.getByRole("button", { name: "Use an API token instead" }).click();
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Pages" }).waitFor();
}

/** Goes to a page through the navigation. */
export async function openPage(page, title) {
  await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: title, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The serious and critical WCAG 2.1 A/AA violations axe finds on the page, in words. */
export async function seriousViolations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.join(", ")}`);
}
