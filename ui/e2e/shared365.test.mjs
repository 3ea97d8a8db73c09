// End-to-end: a Microsoft 365 shared mailbox set up in the form (tenant id, client id,
// write-only client secret) against a real `postdesk serve`: a bad client id is refused at
// its field and creates nothing; the stored mailbox says where its mail comes from after a
// reload, and changing it keeps the secret unless one is typed. (Fetching from Graph is
// tested in tests/tests/shared_graph.rs against a Graph double; no real tenant.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, startServer } from "./harness.mjs";

const TENANT = "8a1f0c2e-5b3d-4e6f-9a7b-0c1d2e3f4a5b";
const CLIENT = "3c9d2e1f-7a6b-4c5d-8e9f-0a1b2c3d4e5f";
const SECRET = "Graph~Client~Secret~e2e";

let server;
let browser;
let owner;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  await api(server, server.token, "POST", "/api/domains", { domain: "example.com" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("a Microsoft 365 shared mailbox in the form", { concurrency: false }, () => {
  it("refuses a bad client id at its field, then creates the mailbox with a write-only secret", async () => {
    const { page } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Shared mailboxes");
    const form = page.getByRole("form", { name: "New shared mailbox" });
    await form.getByLabel("Sender address", { exact: true }).fill("desk@example.com");
    await form.getByLabel("Name", { exact: true }).fill("Desk");
    await form.getByLabel("Source").selectOption("microsoft365");
    assert.equal(await form.getByLabel("IMAP server").count(), 0, "no IMAP server for Microsoft 365");
    await form.getByLabel(/^Tenant id/).fill(TENANT);
    await form.getByLabel(/^Client id/).fill("not-a-guid");
    await form.getByLabel("Client secret", { exact: true }).fill(SECRET);
    await form.getByRole("button", { name: "Create" }).click();
    const err = form.locator('[data-field="client_id"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /not a client id/);
    assert.equal(await page.locator('tr[data-shared="desk@example.com"]').count(), 0);

    await form.getByLabel(/^Client id/).fill(CLIENT);
    await form.getByRole("button", { name: "Create" }).click();
    const row = page.locator('tr[data-shared="desk@example.com"]');
    await row.waitFor();
    await page.reload();
    await openPage(page, "Shared mailboxes");
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, new RegExp(`Microsoft 365: desk@example\\.com \\(tenant ${TENANT}\\)`));
    assert.match(text, /stored/);
    assert.doesNotMatch(await page.content(), new RegExp(SECRET));
    const got = await api(server, server.token, "GET", "/api/shared-mailboxes/desk@example.com");
    assert.equal(got.kind, "microsoft365");
    assert.equal(got.client_id, CLIENT);
    assert.equal(got.secret_set, true);
    assert.doesNotMatch(JSON.stringify(got), new RegExp(SECRET));
  });
});
