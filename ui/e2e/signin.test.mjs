// End-to-end: admins sign in to the web UI of a real `postdesk serve` with a name and a
// password, then a TOTP code computed here from the secret the page shows (RFC 6238), or a
// recovery code that works once. The session is an HttpOnly, SameSite=Strict cookie; a call
// without the session's anti-CSRF header is refused; a session left unused past the idle
// time-out (moved back in the database, no waiting) ends with the reason shown; the owner
// (the CLI on the data folder) requires a second factor and an admin without one is refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const PW = "Correct horse 1";

let server;
let browser;

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The TOTP code (SHA-1, 6 digits, 30 s) of a base32 secret at `unix` seconds. */
function totp(secret, unix) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const d = createHmac("sha1", base32(secret)).update(counter).digest();
  const o = d[19] & 0x0f;
  const v = ((d[o] & 0x7f) << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];
  return String(v % 1_000_000).padStart(6, "0");
}

/** A code of the step after the last one used (each step signs in once). */
let lastStep = 0;
async function freshCode(secret) {
  for (;;) {
    const now = Date.now() / 1000;
    // The next step's code is accepted too (one step of drift), so no need to wait long.
    const step = Math.max(Math.floor(now / 30), lastStep + 1);
    if (step <= Math.floor(now / 30) + 1) {
      lastStep = step;
      return totp(secret, step * 30);
    }
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

/** The postdesk CLI on the server's data folder (the local owner), with `input` on stdin. */
function cli(args, input = "") {
  const r = spawnSync(server.bin, ["--data-dir", server.dataDir, ...args], { input, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `postdesk ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Runs SQL on the server's database (python3's sqlite3; the server keeps running). */
function sql(statement) {
  const script = `import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=30)\nc.execute(sys.argv[2])\nc.commit()`;
  const r = spawnSync("python3", ["-c", script, join(server.dataDir, "postdesk.db"), statement], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

const signInForm = (page) => page.getByLabel("Admin name");

async function signIn(page, name, password) {
  await page.goto(server.url);
  await signInForm(page).fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function enterCode(page, code) {
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

const nav = (page) => page.getByRole("navigation", { name: "Pages" });
const alert = (page) => page.locator(".login-card [role=alert], .login-card .field-error").first();

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await signInForm(page).waitFor();
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const call = (method, path, body) => api(server, server.token, method, path, body);
  for (const name of ["ann", "bob"]) {
    await call("POST", "/api/admins", { name, role: "admin", pages: ["accounts"] });
  }
  await call("PUT", "/api/admins/ann/password", { password: PW });
  // bob's password through the CLI, as the owner would on the server.
  cli(["admin", "set-password", "bob", "--password-stdin"], `${PW}\n`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("admin sign-in", { concurrency: false }, () => {
  let secret;
  let recovery;

  it("signs in with a password into an HttpOnly, SameSite=Strict session; a wrong password is refused", async () => {
    const { context, page, problems } = await newPage(browser);
    await signIn(page, "ann", "not her password");
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /wrong name or password/);
    await signIn(page, "nobody", PW);
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /wrong name or password/, "the same answer for an unknown name");
    await signIn(page, "ann", PW);
    await nav(page).waitFor();
    assert.match(await page.locator(".whoami").innerText(), /ann/);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "postdesk_session");
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie.includes("postdesk_session")), false, "scripts cannot read it");
    // Nothing of it in storage: a reload is still signed in, through the cookie.
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    await page.reload();
    await nav(page).waitFor();

    // A call without the session's anti-CSRF header (what another site's form or script
    // would send with the cookie) is refused; the page's own calls carry it.
    const bare = await page.evaluate(async () => {
      const r = await fetch("/api/whoami");
      return { status: r.status, body: await r.text() };
    });
    assert.equal(bare.status, 403);
    assert.match(bare.body, /anti-CSRF/);
    const forged = await page.evaluate(async () => (await fetch("/api/whoami", { headers: { "X-Postdesk-CSRF": "0".repeat(32) } })).status);
    assert.equal(forged, 403);
    const signOutForged = await page.evaluate(async () => (await fetch("/api/session", { method: "DELETE" })).status);
    assert.equal(signOutForged, 403, "signing out needs the token too");

    // Sets up a second factor: the page shows the secret, a code from it confirms it.
    await openPage(page, "Your sign-in");
    await page.getByRole("button", { name: "Set up a second factor" }).click();
    secret = (await page.getByLabel("Secret").innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    // The set-up link as a QR code the browser draws (the CSP admits the data: image).
    const qr = page.getByTestId("totp-qr");
    await qr.waitFor();
    const drawn = await qr.evaluate((img) => img.complete && img.naturalWidth >= 200);
    assert.ok(drawn, "the QR code is drawn");
    await page.getByLabel("Code from the app").fill(totp(secret, Date.now() / 1000) === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.locator('[data-field="code"] .field-error').waitFor();
    await page.getByLabel("Code from the app").fill(await freshCode(secret));
    await page.getByRole("button", { name: "Confirm" }).click();
    const codes = page.getByRole("list", { name: "Recovery codes" }).locator("code");
    await codes.first().waitFor();
    recovery = await codes.allInnerTexts();
    assert.equal(recovery.length, 10);
    assert.match(await page.getByRole("group", { name: "Second factor" }).innerText(), /In force/);
    await page.screenshot({ path: screenshotPath("signin-recovery-codes") });
    await signOut(page);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("asks for the code after the password: a wrong one is refused, a right one signs in", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "ann", PW);
    await page.getByLabel("Code", { exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath("signin-code") });
    await enterCode(page, "12345x");
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /wrong code/);
    await enterCode(page, await freshCode(secret));
    await nav(page).waitFor();
    await signOut(page);
    await context.close();
  });

  it("takes a recovery code once", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "ann", PW);
    await enterCode(page, recovery[0].toUpperCase());
    await nav(page).waitFor();
    await signOut(page);
    await signIn(page, "ann", PW);
    await enterCode(page, recovery[0]);
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /wrong code/);
    await enterCode(page, recovery[1]);
    await nav(page).waitFor();
    await context.close();
  });

  it("ends a session left unused past the idle time-out, saying why", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "ann", PW);
    await enterCode(page, recovery[2]);
    await nav(page).waitFor();
    // 31 minutes without use (the default idle time-out is 30), without waiting them out.
    sql("UPDATE admin_sessions SET last_seen_at = last_seen_at - 31 * 60 WHERE admin = 'ann' AND stage = 'active'");
    // The next call of the page is refused, and the sign-in page says why.
    await nav(page).getByRole("link", { name: "Your sign-in", exact: true }).click();
    await signInForm(page).waitFor();
    assert.match(await page.locator(".login-card [role=alert]").innerText(), /ended after 30 minutes without use/);
    await context.close();
  });

  it("refuses an admin without a second factor once the owner requires one", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob", PW);
    await nav(page).waitFor();
    const policy = JSON.parse(cli(["--json", "admin", "2fa", "require", "on"]));
    assert.equal(policy.require_two_factor, true);
    // bob's open session ended; his next sign-in is refused, saying why.
    await page.reload();
    await signInForm(page).waitFor();
    await signIn(page, "bob", PW);
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /requires a second factor/);
    // ann has one: asked for her code as before.
    await signIn(page, "ann", PW);
    await page.getByLabel("Code", { exact: true }).waitFor();
    await context.close();
  });
});
