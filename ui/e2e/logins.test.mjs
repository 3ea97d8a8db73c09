// End-to-end: the login log against a real `postdesk serve` WITH its SMTP service. Logins
// are made with swaks (AUTH PLAIN over implicit TLS); a helpdesk agent of example.com then
// reads why they were refused, in plain words, on the Login log page and in an account's
// mailbox view — and sees nothing of other.org. Needs swaks (apt-get install -y swaks).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const PW = "Correct horse 1";

let server;
let browser;
let desk; // { context, page, problems }
let deskToken;

/** One SMTP AUTH PLAIN login over implicit TLS; whether it was accepted. */
function smtpLogin(user, password) {
  const r = spawnSync(
    "swaks",
    [
      "--server", "127.0.0.1", "--port", String(server.smtp.submissions), "--tls-on-connect",
      "--auth", "PLAIN", "--auth-user", user, "--auth-password", password, "--quit-after", "AUTH",
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.error) throw new Error(`cannot run swaks (apt-get install -y swaks): ${r.error.message}`);
  return /235 /.test(`${r.stdout}${r.stderr}`);
}

before(async () => {
  server = await startServer({ smtp: true });
  browser = await launchBrowser();
  desk = await newPage(browser);
  const call = (method, path, body) => api(server, server.token, method, path, body);
  for (const domain of ["example.com", "other.org"]) await call("POST", "/api/domains", { domain });
  for (const address of ["ann@example.com", "pia@example.com", "bob@other.org"]) {
    await call("POST", "/api/accounts", { address, password: PW });
  }
  await call("PUT", "/api/domains/example.com/settings", {
    target: { kind: "accounts", addresses: ["pia@example.com"] },
    set: { smtp: false },
  });
  await call("POST", "/api/admins", { name: "desk", role: "helpdesk", pages: ["accounts"], domains: ["example.com"] });
  deskToken = (await call("POST", "/api/tokens", { admin: "desk" })).secret;

  assert.equal(smtpLogin("ann@example.com", PW), true);
  assert.equal(smtpLogin("ann@example.com", "not her password"), false);
  assert.equal(smtpLogin("pia@example.com", PW), false);
  assert.equal(smtpLogin("anne@example.com", PW), false);
  assert.equal(smtpLogin("bob@other.org", "wrong"), false);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rows = (page) => page.getByRole("table", { name: "Login log" }).locator("tbody tr");

describe("login log", { concurrency: false }, () => {
  it("shows the helpdesk why logins were refused, in plain words, only in its domains", async () => {
    const { page, problems } = desk;
    await login(page, server.url, deskToken);
    await openPage(page, "Login log");
    await rows(page).first().waitFor();
    const texts = (await rows(page).allInnerTexts()).map((t) => t.split("\t").slice(1).join(" | "));
    assert.deepEqual(texts, [
      "SMTP | anne@example.com | 127.0.0.1 | Refused | no such account (check the address for typos)",
      "SMTP | pia@example.com | 127.0.0.1 | Refused | SMTP (sending) switched off for this account",
      "SMTP | ann@example.com | 127.0.0.1 | Refused | wrong password",
      "SMTP | ann@example.com | 127.0.0.1 | Accepted | logged in",
    ]);
    await page.screenshot({ path: screenshotPath("login-log") });

    await page.getByRole("textbox", { name: "Account" }).fill("pia@example.com");
    await page.locator('tbody tr[data-reason="service_disabled"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Login log"] tbody tr').length === 1);
    // A domain outside the helpdesk's scope is refused by the backend, not just hidden.
    await page.getByRole("textbox", { name: "Account" }).fill("bob@other.org");
    await page.locator(".page-error").waitFor();
    assert.match(await page.locator(".page-error").innerText(), /other\.org/);
    assert.deepEqual(problems.filter((p) => !/403|Forbidden/.test(p)), []);
  });

  it("shows an account's recent logins in its mailbox view, linked to the whole log", async () => {
    const { page } = desk;
    await openPage(page, "Accounts");
    await page.locator('[role="row"][data-address="ann@example.com"]').click();
    await page.locator("dialog[open]").last().getByRole("button", { name: "Enter mailbox…" }).click();
    const m = page.locator("dialog[open]").last();
    const recent = m.getByRole("table", { name: "Recent logins" });
    await recent.locator("tbody tr").first().waitFor();
    assert.deepEqual(
      (await recent.locator("tbody tr").allInnerTexts()).map((t) => t.split("\t").slice(1).join(" | ")),
      ["SMTP | 127.0.0.1 | Refused: wrong password", "SMTP | 127.0.0.1 | Accepted (logged in)"],
    );
    await m.getByRole("link", { name: "All logins of this account →" }).click();
    await page.getByRole("heading", { level: 1, name: "Login log" }).waitFor();
    assert.equal(await page.getByRole("textbox", { name: "Account" }).inputValue(), "ann@example.com");
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Login log"] tbody tr').length === 2);
  });
});
