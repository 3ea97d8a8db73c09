// End-to-end: the DNS wizard against a real `postdesk serve`. There is no internet in the
// test environment, so the live checks fail (or the resolver errors): the test asserts that
// a status is shown for every record, never that it passes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const DNS_WAIT = 30_000;
const CHECKS = ["mx", "spf", "dkim", "dmarc", "cname"];

let server;
let browser;
let owner; // { context, page, problems }

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  for (const domain of ["example.com", "other.org"]) {
    await api(server, server.token, "POST", "/api/domains", { domain });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The records table, or the error the wizard shows instead (whichever comes first). */
async function waitForPlan(page) {
  const form = page.getByRole("form", { name: "Mail server" });
  await page.locator('table[aria-label="DNS records"]:not([aria-busy="true"]), form[aria-label="Mail server"] .form-error').first().waitFor({ timeout: DNS_WAIT });
  await form.getByRole("button", { name: "Check again" }).waitFor({ timeout: DNS_WAIT });
  const error = form.locator(".form-error");
  return (await error.count()) > 0 ? { error: await error.getAttribute("data-code") } : { error: null };
}

describe("DNS wizard", { concurrency: false }, () => {
  it("asks for the mail host and shows the backend's error at that field", async () => {
    const { page } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "DNS");
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    const form = page.getByRole("form", { name: "Mail server" });
    // No default host: the check cannot be asked for until one is entered.
    assert.equal(await form.getByLabel("Mail host").inputValue(), "");
    assert.equal(await form.getByRole("button", { name: "Show records" }).isDisabled(), true);
    await form.getByLabel("Mail host").fill("x");
    await form.getByRole("button", { name: "Show records" }).click();
    const err = form.locator('[data-field="mail_host"] .field-error');
    await err.waitFor({ timeout: DNS_WAIT });
    assert.match(await err.innerText(), /label/i);
    assert.equal(await form.getByLabel("Mail host").getAttribute("aria-invalid"), "true");
  });

  it("generates a DKIM key, lists its record, and checks again", async () => {
    const { page } = owner;
    const form = page.getByRole("form", { name: "Mail server" });
    await form.getByLabel("Mail host").fill("mail.example.net");
    await form.getByLabel("Server IP (optional)").fill("192.0.2.10");
    await form.getByRole("button", { name: "Check again" }).click();
    await waitForPlan(page);

    const keys = page.getByRole("region", { name: "DKIM keys" });
    await keys.getByRole("button", { name: "Generate DKIM key" }).click();
    const keyRow = keys.locator("table[aria-label='DKIM key list'] tbody tr").first();
    await keyRow.waitFor();
    const selector = await keyRow.getAttribute("data-selector");
    assert.ok(selector);
    assert.match(await keyRow.innerText(), /active/);
    const recordName = `${selector}._domainkey.example.com`;
    assert.match(await keyRow.innerText(), new RegExp(recordName.replace(/\./g, "\\.")));

    // Generating a key re-runs the setup: its record appears among those to publish.
    const table = page.locator('table[aria-label="DNS records"]');
    const { error } = await waitForPlan(page);
    if (error) {
      // The resolver failed the whole setup: the error is shown where the user acted,
      // and the key's record is still there to copy from the key list.
      assert.equal(error, "unavailable");
      assert.equal(await keys.locator(`tr[data-selector="${selector}"]`).count(), 1);
      return;
    }
    const dkimRow = table.locator(`tr[data-check="dkim"][data-name="${recordName}"]`);
    await dkimRow.waitFor({ timeout: DNS_WAIT });
    assert.match(await dkimRow.innerText(), /v=DKIM1; k=rsa; p=/);
    await assertStatuses(table);
    assert.match(await table.locator('tr[data-check="spf"]').innerText(), /192\.0\.2\.10/);
    await page.screenshot({ path: screenshotPath("dns-wizard"), fullPage: true });

    await form.getByRole("button", { name: "Check again" }).click();
    await waitForPlan(page);
    await assertStatuses(table);
  });

  it("rotates the DKIM key and removes the retired one", async () => {
    const { page } = owner;
    const keys = page.getByRole("region", { name: "DKIM keys" });
    await keys.getByLabel("Algorithm").selectOption("ed25519");
    await keys.getByRole("button", { name: "Generate DKIM key" }).click();
    const rows = keys.locator("table[aria-label='DKIM key list'] tbody tr");
    await page.waitForFunction(() => document.querySelectorAll("table[aria-label='DKIM key list'] tbody tr").length === 2);
    const retired = rows.filter({ hasText: "retired" });
    assert.equal(await retired.count(), 1);
    assert.match(await rows.filter({ hasText: "active" }).innerText(), /Ed25519/);
    // Only the retired key can be removed.
    assert.equal(await rows.filter({ hasText: "active" }).getByRole("button", { name: "Remove…" }).count(), 0);
    await retired.getByRole("button", { name: "Remove…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.waitForFunction(() => document.querySelectorAll("table[aria-label='DKIM key list'] tbody tr").length === 1);
    await waitForPlan(page);
  });

  it("checks all domains of the backend into a status matrix", async () => {
    const { page, problems } = owner;
    const all = page.getByRole("region", { name: "All domains" });
    await all.getByRole("button", { name: "Check all domains" }).click();
    const matrix = all.locator('table[aria-label="DNS status of all domains"]');
    await matrix.waitFor();
    await all.getByRole("button", { name: "Check all domains" }).waitFor({ timeout: DNS_WAIT * 2 });
    for (const domain of ["example.com", "other.org"]) {
      const row = matrix.locator(`tr[data-domain="${domain}"]`);
      const statuses = await row.locator("[data-status]").count();
      const failed = await row.locator(".dns-error").count();
      assert.ok(statuses === CHECKS.length || failed === 1, `${domain}: ${await row.innerText()}`);
    }
    await page.screenshot({ path: screenshotPath("dns-all"), fullPage: true });

    // A domain of the matrix opens its wizard; the matrix stays.
    await matrix.getByRole("button", { name: "other.org" }).click();
    const form = page.getByRole("form", { name: "Mail server" });
    await page.getByRole("heading", { name: "Mail server of other.org" }).waitFor();
    assert.equal(await form.getByLabel("Mail host").inputValue(), "");
    assert.equal(await matrix.locator("tbody tr").count(), 2);
    assert.deepEqual(problems, [], "console errors (CSP violations among them)");
  });

  it("remembers the mail host per domain", async () => {
    const { page } = owner;
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "DNS" }).waitFor();
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    const form = page.getByRole("form", { name: "Mail server" });
    await page.getByRole("heading", { name: "Mail server of example.com" }).waitFor();
    assert.equal(await form.getByLabel("Mail host").inputValue(), "mail.example.net");
    assert.equal(await form.getByLabel("Server IP (optional)").inputValue(), "192.0.2.10");
    // It is checked straight away.
    await waitForPlan(page);
  });
});

/** Every check that has records shows a status (pass, warn or fail: whatever the DNS says). */
async function assertStatuses(table) {
  for (const check of CHECKS) {
    const status = table.locator(`tr[data-check="${check}"] [data-status]`);
    assert.equal(await status.count(), 1, `status of ${check}`);
    assert.match(await status.getAttribute("data-status"), /^(pass|warn|fail)$/);
  }
}
