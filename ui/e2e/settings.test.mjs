// End-to-end: batch settings, effective settings with their source, undo, batch password
// reset from the accounts selection, the address book and the policy explainer, against a
// real `postdesk serve` in headless Chromium.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

let server;
let browser;
let owner; // { context, page, problems }

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  const call = (method, path, body) => api(server, server.token, method, path, body);
  await call("POST", "/api/domains", { domain: "example.com" });
  await call("POST", "/api/domains/example.com/departments", { path: "Sales/East", parents: true });
  await call("POST", "/api/domains/example.com/departments", { path: "Support" });
  await call("POST", "/api/domains/example.com/accounts", {
    accounts: [
      { address: "ann@example.com", display_name: "Ann Archer", department: "Sales/East" },
      { address: "bob@example.com", display_name: "Bob Baker", department: "Sales" },
      { address: "dora@example.com", display_name: "Dora Dunn", department: "Support" },
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  for (let i = 0; i < 3 && owner && (await owner.page.locator("dialog[open]").count()) > 0; i++) {
    await owner.page.keyboard.press("Escape");
  }
});

const dialog = (page) => page.getByRole("dialog");

/** The effective-settings row of `key` in the open account dialog. */
async function effectiveRow(page, address, key) {
  await openPage(page, "Accounts");
  await page.locator(`.grid-row[data-address="${address}"]`).click();
  const panel = dialog(page).getByRole("region", { name: "Effective settings" });
  const row = panel.locator(`tr[data-key="${key}"]`);
  await row.waitFor();
  return row;
}

describe("batch settings", { concurrency: false }, () => {
  it("sets a department setting and shows it effective on an account with its source", async () => {
    const { page, problems } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Batch settings");
    await page.getByRole("radio", { name: "A department and its sub-departments" }).check();
    await page.getByRole("combobox", { name: "Department" }).selectOption("Sales");
    const editor = page.getByRole("form", { name: "Settings" });
    // What the department has now: inherited from the built-in default.
    const sendRow = editor.locator('tr[data-key="external_send"]');
    await sendRow.locator(".source-chip").waitFor();
    assert.match(await sendRow.locator(".now").innerText(), /Allow.*built-in default/s);
    await editor.getByRole("combobox", { name: "External send", exact: true }).selectOption("false");
    await editor.getByRole("combobox", { name: "Send exceptions", exact: true }).selectOption("set");
    await editor.getByLabel("Send exceptions (one per line)").fill("partner.example");
    await editor.getByRole("button", { name: /Apply 2 changes to department Sales/ }).click();
    const outcome = editor.locator(".outcome");
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /department Sales with its sub-departments: set external_send=false/);
    await sendRow.locator(".source-chip.own").waitFor();
    await page.screenshot({ path: screenshotPath("batch-settings") });

    // ann sits in Sales/East: the value is hers, from department Sales.
    const row = await effectiveRow(page, "ann@example.com", "external_send");
    assert.match(await row.innerText(), /Disallow\s+department Sales/);
    const exceptions = dialog(page).locator('tr[data-key="send_exceptions"]');
    assert.match(await exceptions.innerText(), /partner\.example\s+department Sales/);
    assert.match(await dialog(page).locator('tr[data-key="pop3"]').innerText(), /On\s+built-in default/);
    await page.screenshot({ path: screenshotPath("effective-settings") });
    await page.keyboard.press("Escape");
    assert.deepEqual(problems, []);
  });

  it("explains a denied external send, naming the setting and where it is set", async () => {
    const { page } = owner;
    await openPage(page, "Policy explainer");
    const form = page.getByRole("form", { name: "Message" });
    await form.getByLabel("From (envelope sender)").fill("ann@example.com");
    await form.getByLabel("To (one or more recipients)").fill("someone@far.example\nboss@partner.example");
    await form.getByRole("button", { name: "Explain" }).click();
    const denied = page.locator('tr[data-recipient="someone@far.example"]');
    await denied.waitFor();
    assert.equal(await denied.getAttribute("data-allowed"), "false");
    assert.equal(await denied.locator("td[data-rule]").getAttribute("data-rule"), "external_send");
    assert.match(await denied.innerText(), /Denied/);
    assert.match(await denied.locator(".deciding").innerText(), /External send of ann@example\.com: Disallow, from department Sales/);
    const allowed = page.locator('tr[data-recipient="boss@partner.example"]');
    assert.equal(await allowed.getAttribute("data-allowed"), "true");
    assert.match(await allowed.innerText(), /Send exception \(domain\)/);
    await page.screenshot({ path: screenshotPath("policy-explainer") });

    // A bad sender is shown at its field.
    await form.getByLabel("From (envelope sender)").fill("not an address");
    await form.getByRole("button", { name: "Explain" }).click();
    const err = form.locator('[data-field="sender"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /no @/);
  });

  it("undoes the last batch", async () => {
    const { page } = owner;
    await openPage(page, "Batch settings");
    const recent = page.getByRole("region", { name: "Recent batches" });
    await recent.getByRole("button", { name: "Undo last batch" }).click();
    await recent.locator(".ok").waitFor();
    assert.match(await recent.locator(".ok").innerText(), /undone/);
    await recent.locator('tr[data-batch="1"]').getByText("undone").waitFor();
    assert.equal(await recent.getByRole("button", { name: "Undo last batch" }).count(), 0);
    const row = await effectiveRow(page, "ann@example.com", "external_send");
    assert.match(await row.innerText(), /Allow\s+built-in default/);
    await page.keyboard.press("Escape");
  });

  it("resets the passwords of a selection of accounts, checking the two entries match", async () => {
    const { page } = owner;
    await openPage(page, "Accounts");
    await page.getByRole("checkbox", { name: "Select bob@example.com" }).check();
    await page.getByRole("checkbox", { name: "Select dora@example.com" }).check();
    await page.getByTestId("selection").getByText("2 selected").waitFor();
    await page.getByRole("button", { name: "Settings and passwords…" }).click();
    const d = dialog(page);
    const reset = d.getByRole("form", { name: "Reset password" });
    await reset.getByLabel("New password", { exact: true }).fill("Brand new 2026");
    await reset.getByLabel("Repeat the new password").fill("Brand new 2027");
    await reset.getByRole("button", { name: "Reset passwords" }).click();
    const mismatch = reset.locator('[data-field="password_repeat"] .field-error');
    await mismatch.waitFor();
    assert.match(await mismatch.innerText(), /differ/);
    await reset.getByLabel("New password", { exact: true }).fill("Brand new 2026");
    await reset.getByLabel("Repeat the new password").fill("Brand new 2026");
    await reset.getByRole("button", { name: "Reset passwords" }).click();
    const outcome = reset.locator(".outcome");
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /2 selected accounts: reset 2 passwords, change required at first logon/);
    assert.match(await outcome.innerText(), /cannot be undone/);
    assert.equal(await outcome.getByRole("button", { name: "Undo this batch" }).count(), 0);
    await page.keyboard.press("Escape");
    const bob = await api(server, server.token, "GET", "/api/accounts/bob%40example.com");
    assert.equal(bob.has_password, true);
    assert.equal(bob.force_password_change, true);
  });

  it("lists the company address book by department", async () => {
    const { page } = owner;
    await api(server, server.token, "PUT", "/api/domains/example.com/settings", {
      target: { kind: "accounts", addresses: ["dora@example.com"] },
      set: { address_book: false },
    });
    await openPage(page, "Address book");
    await page.getByTestId("address-book-total").waitFor();
    assert.match(await page.getByTestId("address-book-total").innerText(), /2 shown · 1 hidden/);
    assert.match(await page.getByRole("region", { name: "Sales/East" }).innerText(), /Ann Archer\s+ann@example\.com/);
    assert.equal(await page.getByRole("region", { name: "Support" }).count(), 0);
    // The search asks the backend (it covers the whole book, not only the pages loaded).
    await page.getByRole("searchbox", { name: "Search the address book" }).fill("ARCHER");
    await page.getByTestId("address-book-total").getByText(/^1 found/).waitFor();
    assert.match(await page.getByRole("region", { name: "Sales/East" }).innerText(), /ann@example\.com/);
    assert.equal(await page.locator("section.address-book tbody tr").count(), 1);
  });

  it("shows the newest batches a page at a time, the older ones on asking", async () => {
    const { page } = owner;
    // More batches than one page of the list (10): each changes something.
    for (let i = 0; i < 12; i++) {
      await api(server, server.token, "PUT", "/api/domains/example.com/settings", {
        target: { kind: "accounts", addresses: ["bob@example.com"] },
        set: { pop3: i % 2 === 0 },
      });
    }
    const all = await api(server, server.token, "GET", "/api/domains/example.com/batches?limit=1000");
    assert.equal(all.next, null);
    const ids = all.items.map((b) => String(b.id));
    assert.ok(ids.length > 10, `${ids.length} batches`);
    await openPage(page, "Batch settings");
    const recent = page.getByRole("region", { name: "Recent batches" });
    const rows = recent.locator("tr[data-batch]");
    const older = recent.getByRole("button", { name: "Show older batches" });
    await older.waitFor();
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.batch)), ids.slice(0, 10));
    // Page after page until none is left: every batch once, newest first.
    while ((await older.count()) > 0) {
      const shown = await rows.count();
      await older.click();
      await recent.locator(`tr[data-batch]:nth-child(${Math.min(shown + 1, ids.length)})`).waitFor();
    }
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.batch)), ids);
  });
});
