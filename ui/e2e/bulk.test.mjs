// End-to-end: bulk work on the Accounts page in the built UI against a real `postdesk serve` —
// select all accounts of a filter across pages, disable them in one step after a confirmation
// naming the count, undo it, pick accounts one by one to move and re-quota them (a refused
// quota changes nothing), delete a selection to the recycle bin; the list and counts refresh.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

let server;
let browser;
let owner;

const D = "example.com";

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  const limits = { max_accounts: 1000, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false };
  await api(server, server.token, "POST", "/api/domains", { domain: D, limits });
  for (const path of ["Sales", "Ops"]) {
    await api(server, server.token, "POST", `/api/domains/${D}/departments`, { domain: D, path });
  }
  // 120 in Sales: more than two pages of the grid's listing.
  const accounts = [];
  for (let i = 0; i < 120; i++) accounts.push({ address: `s${String(i).padStart(3, "0")}@${D}`, department: "Sales" });
  for (const local of ["ann", "bob", "cy"]) accounts.push({ address: `${local}@${D}`, department: "Ops" });
  await api(server, server.token, "POST", `/api/domains/${D}/accounts`, { domain: D, accounts });
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

const dialog = (page) => page.locator("dialog[open]").last();

async function waitForTotal(page, text) {
  await page.locator(`[data-testid="accounts-total"][data-ready="true"]`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

/** How many accounts of the domain have `status`, asked of the API. */
async function count(status) {
  const page = await api(server, server.token, "GET", `/api/domains/${D}/accounts?status=${status}&limit=1`);
  return page.total;
}

async function account(address) {
  return api(server, server.token, "GET", `/api/accounts/${address}`);
}

describe("bulk account actions", { concurrency: false }, () => {
  it("selects every account of a filter across pages, disables them after naming the count, and undoes it", async () => {
    const { page, problems } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Accounts");
    await waitForTotal(page, "123 accounts");
    await page.getByLabel("Department", { exact: true }).selectOption("Sales");
    await waitForTotal(page, "120 accounts");
    await page.getByRole("button", { name: "Select all 120 matching" }).click();
    assert.equal(await page.getByTestId("selection-count").innerText(), "All 120 accounts matching the filter selected");
    // Rows loaded so far show as selected and cannot be picked one by one meanwhile.
    const box = page.getByRole("checkbox", { name: "Select s000@example.com" });
    assert.equal(await box.isChecked(), true);
    assert.equal(await box.isDisabled(), true);

    await page.getByRole("button", { name: "Disable…" }).click();
    const d = dialog(page);
    assert.equal(await d.getByRole("heading").innerText(), "Disable all 120 accounts in Sales and its sub-departments?");
    assert.match(await d.getByTestId("bulk-count").innerText(), /120 accounts in one step/);
    await page.screenshot({ path: screenshotPath("bulk-confirm") });
    await d.getByRole("button", { name: "Disable 120" }).click();
    const outcome = page.getByTestId("bulk-outcome").getByRole("status");
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /120 accounts matching the filter department Sales \(with sub-departments\): 120 accounts disabled/);
    assert.equal(await count("disabled"), 120);
    // The selection ended and the list shows the new statuses.
    assert.equal(await page.getByTestId("selection").count(), 0);
    await page.locator('[data-address="s000@example.com"] .badge.disabled').waitFor();
    await page.getByLabel("Status", { exact: true }).selectOption("disabled");
    await waitForTotal(page, "120 accounts");

    await outcome.getByRole("button", { name: "Undo this batch" }).click();
    await outcome.filter({ hasText: /undone/ }).waitFor();
    assert.equal(await count("disabled"), 0);
    await waitForTotal(page, "0 accounts");
    assert.deepEqual(problems, []);
  });

  it("moves and re-quotas accounts picked one by one; a refused quota changes nothing", async () => {
    const { page } = owner;
    await page.getByLabel("Status", { exact: true }).selectOption("");
    await page.getByLabel("Department", { exact: true }).selectOption("Ops");
    await waitForTotal(page, "3 accounts");
    for (const local of ["ann", "bob"]) await page.getByRole("checkbox", { name: `Select ${local}@example.com` }).check();
    assert.equal(await page.getByTestId("selection-count").innerText(), "2 selected");

    await page.getByRole("button", { name: "Change quota…" }).click();
    let d = dialog(page);
    assert.equal(await d.getByRole("heading").innerText(), "Change the quota of 2 accounts (selected)?");
    await d.getByLabel("New quota (MiB)").fill("5000");
    await d.getByRole("button", { name: "Change quota 2" }).click();
    const err = d.locator('[data-field="action"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /above the plan's mailbox size of 1024 MiB/);
    assert.notEqual((await account(`ann@${D}`)).quota_mb, 5000);
    await d.getByLabel("New quota (MiB)").fill("50");
    await d.getByRole("button", { name: "Change quota 2" }).click();
    await page.getByTestId("bulk-outcome").filter({ hasText: "2 accounts set to a quota of 50 MiB" }).waitFor();
    assert.deepEqual([(await account(`ann@${D}`)).quota_mb, (await account(`bob@${D}`)).quota_mb, (await account(`cy@${D}`)).quota_mb], [50, 50, 1024]);
    await page.locator('[data-address="ann@example.com"] .c-quota').filter({ hasText: "50 MiB" }).waitFor();

    for (const local of ["ann", "bob"]) await page.getByRole("checkbox", { name: `Select ${local}@example.com` }).check();
    await page.getByRole("button", { name: "Move to department…" }).click();
    d = dialog(page);
    await d.getByLabel("Move to department").selectOption("Sales");
    await d.getByRole("button", { name: "Move 2" }).click();
    await page.getByTestId("bulk-outcome").filter({ hasText: "2 accounts moved to department Sales" }).waitFor();
    // The Ops listing refreshed: only cy is left.
    await waitForTotal(page, "1 account");
    assert.equal((await account(`ann@${D}`)).department, "Sales");
  });

  it("deletes a selection to the recycle bin after a confirmation, and the counts refresh", async () => {
    const { page } = owner;
    await page.getByLabel("Department", { exact: true }).selectOption("");
    await page.getByRole("searchbox", { name: "Filter accounts" }).fill("s11");
    await waitForTotal(page, "10 accounts");
    await page.getByRole("button", { name: "Select all 10 matching" }).click();
    await page.getByRole("button", { name: "Delete…" }).click();
    const d = dialog(page);
    assert.equal(await d.getByRole("heading").innerText(), 'Delete all 10 accounts containing "s11"?');
    assert.match(await d.getByTestId("bulk-count").innerText(), /10 accounts will go to the recycle bin/);
    // Cancelling changes nothing.
    await d.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await count("deleted"), 0);
    await page.getByRole("button", { name: "Delete…" }).click();
    await dialog(page).getByRole("button", { name: "Delete 10" }).click();
    await page.getByTestId("bulk-outcome").filter({ hasText: "10 accounts moved to the recycle bin" }).waitFor();
    await waitForTotal(page, "0 accounts");
    assert.equal(await count("deleted"), 10);
    const domain = await api(server, server.token, "GET", `/api/domains/${D}`);
    assert.equal(domain.account_count, 113);
    // A delete is not undone here: the outcome says where to restore.
    assert.equal(await page.getByTestId("bulk-outcome").getByRole("button", { name: "Undo this batch" }).count(), 0);
    assert.match(await page.getByTestId("bulk-outcome").innerText(), /recycle bin/);
    await page.screenshot({ path: screenshotPath("bulk-deleted") });
  });
});
