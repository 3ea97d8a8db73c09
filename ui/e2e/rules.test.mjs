// End-to-end: the Mail rules page in the built UI against a real `postdesk serve` — disclaimer
// rules reordered by dragging a row onto another (and with the Up button); monitoring and copy
// rules: a refused rule shows its error at the field and stores nothing, a good one is listed
// in words and stored as asked, and removed after a confirmation.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, startServer } from "./harness.mjs";

let server;
let browser;

const D = "example.com";

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const limits = { max_accounts: 100, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false };
  await api(server, server.token, "POST", "/api/domains", { domain: D, limits });
  await api(server, server.token, "POST", `/api/domains/${D}/departments`, { domain: D, path: "Legal" });
  const accounts = [{ address: `monitor@${D}` }, { address: `lena@${D}`, department: "Legal" }];
  await api(server, server.token, "POST", `/api/domains/${D}/accounts`, { domain: D, accounts });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rules = () => api(server, server.token, "GET", `/api/domains/${D}/monitor-rules`);

const disclaimers = async () =>
  (await api(server, server.token, "GET", `/api/domains/${D}/disclaimer-rules`)).items.map((r) => [r.position, r.name]);

describe("disclaimer rules", () => {
  it("reorders the rules by dragging a row onto another, and with Up", async () => {
    for (const name of ["legal", "sales", "all"]) {
      await api(server, server.token, "POST", `/api/domains/${D}/disclaimer-rules`, { domain: D, name, text: `${name}.` });
    }
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Mail rules");
    await page.getByTestId("disclaimer-all").dragTo(page.getByTestId("disclaimer-legal"));
    await page.getByTestId("disclaimer-all").locator("td").first().filter({ hasText: /^1$/ }).waitFor();
    assert.deepEqual(await disclaimers(), [[1, "all"], [2, "legal"], [3, "sales"]]);
    await page.getByRole("button", { name: "Move sales up" }).click();
    await page.getByTestId("disclaimer-sales").locator("td").first().filter({ hasText: /^2$/ }).waitFor();
    assert.deepEqual(await disclaimers(), [[1, "all"], [2, "sales"], [3, "legal"]]);
    // Edited in place: the form holds the rule, a bad change is refused at its field, a good
    // one keeps the rule's id and place.
    const before = (await api(server, server.token, "GET", `/api/domains/${D}/disclaimer-rules`)).items;
    await page.getByRole("button", { name: "Edit sales" }).click();
    const d = page.locator("dialog[open]");
    assert.equal(await d.getByLabel("Plain text").inputValue(), "sales.");
    await d.getByLabel("Department", { exact: true }).fill("Nowhere");
    await d.getByRole("button", { name: "Save disclaimer" }).click();
    await d.locator("[data-field=department] .field-error").waitFor();
    await d.getByLabel("Department", { exact: true }).fill("");
    await d.getByLabel("Name").fill("sales team");
    await d.getByLabel("Plain text").fill("Sales, with care.");
    await d.getByRole("button", { name: "Save disclaimer" }).click();
    await page.getByTestId("disclaimer-sales team").waitFor();
    const after = (await api(server, server.token, "GET", `/api/domains/${D}/disclaimer-rules`)).items;
    const sales = after.find((r) => r.name === "sales team");
    assert.deepEqual([sales.id, sales.position, sales.text], [before[1].id, 2, "Sales, with care."]);
    assert.deepEqual(problems, []);
  });
});

describe("monitoring rules", () => {
  it("refuses a bad rule at its field, adds a good one in words, and removes it", async () => {
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Mail rules");
    await page.getByText(`No monitoring rules in ${D}.`).waitFor();
    await page.getByRole("button", { name: "New monitoring rule" }).click();
    const d = page.locator("dialog[open]");
    await d.getByLabel("Name").fill("legal outside");
    await d.getByLabel("Watch").selectOption("department");
    await d.getByLabel("Department").fill("Nowhere");
    await d.getByLabel("Mail", { exact: true }).selectOption("external");
    await d.getByLabel("Except when it contains").fill("newsletter");
    await d.getByLabel("Monitor mailbox").fill(`monitor@${D}`);
    await d.getByRole("button", { name: "Add rule" }).click();
    const department = d.getByLabel("Department");
    await page.waitForFunction((el) => el.getAttribute("aria-invalid") === "true", await department.elementHandle());
    assert.match(await d.locator(".field-error").first().innerText(), /Nowhere/);
    assert.equal((await rules()).items.length, 0, "nothing stored");

    await department.fill("legal");
    await d.getByRole("button", { name: "Add rule" }).click();
    const row = page.getByRole("table", { name: "Monitoring rules" }).getByRole("row", { name: /legal outside/ });
    await row.waitFor();
    assert.equal(
      await row.locator("td").first().innerText(),
      `Mail of department Legal to or from elsewhere; except mail saying “newsletter”: copied to monitor@${D}`,
    );
    const stored = (await rules()).items;
    assert.equal(stored.length, 1);
    assert.deepEqual(
      [stored[0].scope_department, stored[0].traffic, stored[0].except_keyword, stored[0].action, stored[0].target],
      ["Legal", "external", "newsletter", "copy", `monitor@${D}`],
    );

    // Edited in place: filing into a folder instead, the same rule.
    await row.getByRole("button", { name: "Edit legal outside" }).click();
    const e = page.locator("dialog[open]");
    assert.equal(await e.getByLabel("Department").inputValue(), "Legal");
    await e.getByLabel("Name").fill("legal filed");
    await e.getByRole("button", { name: "Save rule" }).click();
    const edited = page.getByRole("table", { name: "Monitoring rules" }).getByRole("row", { name: /legal filed/ });
    await edited.waitFor();
    const changed = (await rules()).items;
    assert.deepEqual([changed.length, changed[0].id, changed[0].name], [1, stored[0].id, "legal filed"]);

    await edited.getByRole("button", { name: "Remove…" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Remove" }).click();
    await page.getByText(`No monitoring rules in ${D}.`).waitFor();
    assert.equal((await rules()).items.length, 0);
    assert.deepEqual(problems, []);
  });
});
