// End-to-end: mailbox management in the built UI against a real `postdesk serve` —
// XLSX import (refused with errors by row and column, then imported with progress),
// template and export downloads, the recycle bin (restore once, transfer), enter
// mailbox, pickup rules and the resolver.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";
import { IMPORT_HEADER, readXlsx, xlsx } from "./xlsx.mjs";

let server;
let browser;
let owner;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  await api(server, server.token, "POST", "/api/domains", { domain: "example.com", limits: { max_accounts: 100, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false } });
  for (const local of ["ann", "bob"]) {
    await api(server, server.token, "POST", "/api/accounts", { address: `${local}@example.com`, display_name: local });
  }
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

const file = (name, rows) => ({ name, mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: xlsx(rows) });

describe("mailbox management UI", { concurrency: false }, () => {
  it("signs in and downloads the import template and an export of the current filter", async () => {
    const { page } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Accounts");
    await waitForTotal(page, "2 accounts");
    await page.getByRole("button", { name: "Import…" }).click();
    const templateDownload = page.waitForEvent("download");
    await dialog(page).getByRole("button", { name: "import template" }).click();
    const template = await templateDownload;
    assert.equal(template.suggestedFilename(), "postdesk-accounts-template.xlsx");
    // The template is the header the importer reads, and nothing else on its first sheet.
    assert.deepEqual(readXlsx(readFileSync(await template.path())), [IMPORT_HEADER]);
    await page.keyboard.press("Escape");

    await page.getByRole("searchbox", { name: "Filter accounts" }).fill("ann");
    await waitForTotal(page, "1 account");
    const exportDownload = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export" }).click();
    const exported = await exportDownload;
    assert.match(exported.suggestedFilename(), /^accounts-example\.com-\d{8}\.xlsx$/);
    // Only the filtered account, its values as text (no password column).
    const [header, ...rows] = readXlsx(readFileSync(await exported.path()));
    assert.deepEqual(header.slice(0, 2), ["Email address", "Display name"]);
    assert.ok(!header.some((h) => /password$/i.test(h) && !/set|change/i.test(h)), `no password column: ${header}`);
    assert.deepEqual(rows.map((r) => r.slice(0, 2)), [["ann@example.com", "ann"]]);
    await page.getByRole("searchbox", { name: "Filter accounts" }).fill("");
    await waitForTotal(page, "2 accounts");
  });

  it("refuses a bad file listing every problem by row and column, and writes nothing", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "Import…" }).click();
    const d = dialog(page);
    await d.locator("#import-file").setInputFiles(
      file("bad.xlsx", [
        IMPORT_HEADER,
        ["carl@example.com", "Carl"],
        ["not an address", "X"],
        ["ANN@example.com"],
        ["dora@example.com", "", "", "short"],
      ]),
    );
    await d.getByRole("button", { name: "Import", exact: true }).click();
    const table = d.getByRole("table", { name: "Problems in the file" });
    await table.waitFor();
    const rows = await table.locator("tbody tr").allInnerTexts();
    assert.deepEqual(
      rows.map((r) => r.split("\t").slice(0, 2)),
      [
        ["3", "Email address"],
        ["4", "Email address"],
        ["5", "Password"],
      ],
    );
    assert.match(rows[1], /ann@example\.com is already used by an account/);
    assert.match(await d.locator(".import-errors strong").innerText(), /3 problems to fix \(nothing was written\)/);
    await page.screenshot({ path: screenshotPath("import-errors") });

    // Not an XLSX file at all.
    await d.locator("#import-file").setInputFiles({ name: "list.csv", mimeType: "text/csv", buffer: Buffer.from("Email address\ncarl@example.com\n") });
    await d.getByRole("button", { name: "Import", exact: true }).click();
    await d.locator(".form-error").filter({ hasText: "not an XLSX file" }).waitFor();
    await page.keyboard.press("Escape");
    await waitForTotal(page, "2 accounts");
  });

  it("imports a good file with progress, creating departments", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "Import…" }).click();
    const d = dialog(page);
    await d.locator("#import-file").setInputFiles(
      file("good.xlsx", [
        IMPORT_HEADER,
        ["carl@example.com", "Carl Cook", "Sales/East", "Carl pass 123", "=1+1"],
        ["dora@example.com", "Dora", "Sales/East", "", ""],
        ["eve@example.com", "Eve", "", "", ""],
      ]),
    );
    await d.getByRole("button", { name: "Import", exact: true }).click();
    await d.locator('[data-testid="import-phase"][data-phase="done"]').waitFor();
    assert.equal(await d.locator('[data-testid="import-phase"]').innerText(), "Imported 3 accounts");
    assert.match(await d.locator(".import-progress").innerText(), /New departments: Sales\/East/);
    assert.equal(await d.getByRole("progressbar", { name: "Import progress" }).getAttribute("value"), "1");
    await d.locator(".dialog-buttons").getByRole("button", { name: "Close" }).click();
    await waitForTotal(page, "5 accounts");
    const carl = await api(server, server.token, "GET", "/api/accounts/carl@example.com");
    assert.deepEqual([carl.department, carl.has_password, carl.force_password_change, carl.notes], ["Sales/East", true, true, "=1+1"]);
  });

  it("enters a mailbox: client settings and folders", async () => {
    const { page } = owner;
    await page.locator('[role="row"][data-address="carl@example.com"]').click();
    await dialog(page).getByRole("button", { name: "Enter mailbox…" }).click();
    const m = dialog(page);
    await m.getByRole("heading", { name: "Mailbox carl@example.com" }).waitFor();
    // This server runs without mail services (--no-smtp): no made-up ports, a plain note.
    assert.match(await m.getByTestId("client-note").innerText(), /^Not running: the mail server is not running/);
    assert.equal(await m.getByRole("table", { name: "Client settings" }).count(), 0);
    assert.match(await m.getByTestId("login-state").innerText(), /must change the password at the next logon/);
    assert.equal(await m.getByRole("table", { name: "Folders" }).locator("tbody tr").count(), 5);
    assert.equal(await m.getByRole("button", { name: "Clean mailbox…" }).isDisabled(), true, "nothing to clean");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Escape");
  });

  it("deletes an account, restores it once from the recycle bin, and transfers mail of another", async () => {
    const { page } = owner;
    await page.locator('[role="row"][data-address="dora@example.com"]').click();
    await dialog(page).getByRole("button", { name: "Delete account…" }).click();
    await dialog(page).getByRole("button", { name: "Delete" }).click();
    await waitForTotal(page, "4 accounts");
    await api(server, server.token, "DELETE", "/api/accounts/eve@example.com");

    await openPage(page, "Recycle bin");
    const dora = page.locator('tr[data-address="dora@example.com"]');
    await dora.waitFor();
    assert.match(await dora.innerText(), /In the bin/);
    await dora.getByRole("button", { name: "Restore" }).click();
    await page.getByRole("status").filter({ hasText: "dora@example.com is back (active)" }).waitFor();
    await dora.filter({ hasText: "Restored" }).waitFor();
    assert.equal(await dora.getByRole("button", { name: "Restore" }).count(), 0, "a restored account cannot be restored twice");

    const eve = page.locator('tr[data-address="eve@example.com"]');
    await eve.getByRole("button", { name: "Transfer mail…" }).click();
    const t = dialog(page);
    await t.getByLabel("Into the mailbox").fill("nobody");
    await t.getByRole("button", { name: "Transfer mail" }).click();
    await t.locator('[data-field="to"] .field-error').filter({ hasText: "nobody@example.com" }).waitFor();
    await t.getByLabel("Into the mailbox").fill("bob");
    await t.getByRole("button", { name: "Transfer mail" }).click();
    await page.getByRole("status").filter({ hasText: "to bob@example.com, folder Transferred/eve@example.com" }).waitFor();
    await eve.filter({ hasText: "Mail moved to bob@example.com" }).waitFor();
    await page.screenshot({ path: screenshotPath("recycle-bin") });
    const bin = await api(server, server.token, "GET", "/api/domains/example.com/recycle-bin");
    assert.deepEqual(
      bin.items.map((e) => [e.address, e.restorable, !!e.restored_at]),
      [
        ["eve@example.com", true, false],
        ["dora@example.com", false, true],
      ],
    );
  });

  it("routes unknown addresses with pickup rules and catch-all, and resolves them", async () => {
    const { page } = owner;
    await openPage(page, "Mailbox settings");
    const rules = page.getByRole("form", { name: "Pickup rules" });
    await rules.getByRole("button", { name: "Add rule" }).click();
    await rules.getByLabel("Pattern of rule 1").fill("tiktok");
    await rules.getByLabel("Mailbox of rule 1").fill("ann");
    await rules.getByRole("button", { name: "Save rules" }).click();
    await rules.locator(".form-error").filter({ hasText: "has no {number} or *" }).waitFor();
    await rules.getByLabel("Pattern of rule 1").fill("tiktok_{number}");
    await rules.getByRole("button", { name: "Add rule" }).click();
    await rules.getByLabel("Pattern of rule 2").fill("sub_*");
    await rules.getByLabel("Mailbox of rule 2").fill("bob@example.com");
    await rules.getByRole("button", { name: "Move rule 2 up" }).click();
    await rules.getByRole("button", { name: "Save rules" }).click();
    await rules.getByRole("status").filter({ hasText: "Rules saved." }).waitFor();
    const saved = await api(server, server.token, "GET", "/api/domains/example.com/mailbox-settings");
    assert.deepEqual(saved.pickup_rules, [
      { pattern: "sub_*", target: "bob@example.com" },
      { pattern: "tiktok_{number}", target: "ann@example.com" },
    ]);

    const form = page.getByRole("form", { name: "Mailbox settings" });
    await form.getByLabel(/Deliver mail to any unknown address/).check();
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.locator('[data-field="catch_all_target"] .field-error').filter({ hasText: "needs the mailbox that collects" }).waitFor();
    await form.getByLabel("Collecting mailbox").fill("carl");
    await form.getByLabel("Keep a client address out after this many failed logins").fill("3");
    await form.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("form", { name: "Mailbox settings" }).getByRole("status").filter({ hasText: "Saved." }).waitFor();

    const resolve = async (address) => {
      await page.getByLabel("Who receives mail sent to…").fill(address);
      await page.getByRole("button", { name: "Resolve" }).click();
      const result = page.locator(`.resolution`).filter({ hasText: `${address}@example.com` });
      await result.waitFor();
      return result.innerText();
    };
    assert.match(await resolve("tiktok_2026"), /the pickup rule tiktok_\{number\} takes it[\s\S]*ann@example\.com/);
    assert.match(await resolve("whoever"), /catch-all collection takes it[\s\S]*carl@example\.com/);
    assert.match(await resolve("bob"), /is an account/);
    await page.screenshot({ path: screenshotPath("mailbox-settings") });
    const settings = await api(server, server.token, "GET", "/api/domains/example.com/mailbox-settings");
    assert.deepEqual([settings.catch_all, settings.catch_all_target, settings.lockout_threshold], [true, "carl@example.com", 3]);
    assert.deepEqual(owner.problems, [], "no console errors");
  });
});
