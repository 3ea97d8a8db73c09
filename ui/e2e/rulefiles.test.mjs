// End-to-end: the disclaimer and monitoring rule files on the Mail rules page in the built UI
// against a real `postdesk serve` — a bad file is refused with every problem by row and column
// and writes nothing, a good one adds its rules, the export reads back with the same rows, and
// the template is the header row.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, startServer } from "./harness.mjs";
import { readXlsx, xlsx } from "./xlsx.mjs";

let server;
let browser;

const D = "example.com";
const DISCLAIMER_HEADER = ["Name", "Scope", "Sender", "Recipient", "Department", "Except sender", "Except recipient", "Except department", "Text", "HTML"];
const MONITOR_HEADER = [
  "Name",
  "Watch department",
  "Watch account",
  "Traffic",
  "Sender",
  "Recipient",
  "Min size (KB)",
  "Keyword",
  "Except sender",
  "Except recipient",
  "Except keyword",
  "Action",
  "Target",
];
const file = (name, rows) => ({ name, mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: xlsx(rows) });

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

/** The toolbar of the section whose "New …" button is `add` (each section has its own file buttons). */
const toolbar = (page, add) => page.locator(".toolbar").filter({ has: page.getByRole("button", { name: add, exact: true }) });

/** Imports `bad` (its problems' rows and columns answered), then `good`, through the toolbar's dialog. */
async function importBadThenGood(page, bar, inputId, bad, good) {
  await bar.getByRole("button", { name: "Import…" }).click();
  const d = page.locator("dialog[open]");
  await d.locator(`#${inputId}`).setInputFiles(bad);
  await d.getByRole("button", { name: "Import", exact: true }).click();
  const table = d.getByRole("table", { name: "Problems in the file" });
  await table.waitFor();
  const problems = (await table.locator("tbody tr").allInnerTexts()).map((r) => r.split("\t").slice(0, 2));
  await d.locator(`#${inputId}`).setInputFiles(good);
  await d.getByRole("button", { name: "Import", exact: true }).click();
  await d.locator(".ok[role=status]").waitFor();
  const done = await d.locator(".ok[role=status]").innerText();
  await d.locator(".dialog-buttons").getByRole("button", { name: "Close" }).click();
  return { problems, done };
}

/** Clicks the toolbar's Export and reads the downloaded file. */
async function exportRows(page, bar, button = "Export") {
  const download = page.waitForEvent("download");
  await bar.getByRole("button", { name: button, exact: true }).click();
  return readXlsx(readFileSync(await (await download).path()));
}

describe("disclaimer rule files", () => {
  it("refuses a bad file by row and column, imports a good one in order, and exports what it holds", async () => {
    await api(server, server.token, "POST", `/api/domains/${D}/disclaimer-rules`, { domain: D, name: "first", text: "First." });
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Mail rules");
    const bar = toolbar(page, "New disclaimer");
    const bad = file("bad.xlsx", [
      DISCLAIMER_HEADER,
      ["legal", "external", "", "", "Legal", "", "", "", "Confidential."],
      ["x", "sideways", "", "", "Nowhere", "", "", "", ""],
    ]);
    const good = file("good.xlsx", [
      DISCLAIMER_HEADER,
      ["legal", "external", "", "", "Legal", "", "", "", "Confidential."],
      ["=HYPERLINK(1)", "internal", "", "", "", "", "", "", "For us."],
    ]);
    const { problems: refused, done } = await importBadThenGood(page, bar, "import_disclaimer_rules-file", bad, good);
    assert.deepEqual(refused, [
      ["3", "Scope"],
      ["3", "Department"],
      ["3", "Text"],
    ]);
    assert.equal(done, "Imported 2 disclaimer rules.");
    await page.getByTestId("disclaimer-=HYPERLINK(1)").waitFor();
    const stored = (await api(server, server.token, "GET", `/api/domains/${D}/disclaimer-rules`)).items;
    assert.deepEqual(
      stored.map((r) => [r.position, r.name, r.scope, r.department]),
      [
        [1, "first", "any", null],
        [2, "legal", "external", "Legal"],
        [3, "=HYPERLINK(1)", "internal", null],
      ],
    );

    const [header, ...rows] = await exportRows(page, bar);
    assert.deepEqual(header, DISCLAIMER_HEADER);
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[8]]),
      [
        ["first", "any", "First."],
        ["legal", "external", "Confidential."],
        ["=HYPERLINK(1)", "internal", "For us."],
      ],
    );
    const [template] = await exportRows(page, bar, "Import template");
    assert.deepEqual(template, DISCLAIMER_HEADER);
    assert.deepEqual(problems, []);
  });
});

describe("monitoring rule files", () => {
  it("refuses a bad file by row and column, imports a good one, and exports what it holds", async () => {
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Mail rules");
    const bar = toolbar(page, "New monitoring rule");
    const row = (name, cells) => {
      const r = Array(MONITOR_HEADER.length).fill("");
      r[0] = name;
      for (const [i, v] of Object.entries(cells)) r[i] = v;
      return r;
    };
    const bad = file("bad.xlsx", [
      MONITOR_HEADER,
      row("legal", { 1: "Legal", 12: `monitor@${D}` }),
      row("big", { 6: "lots", 11: "folder", 12: "INBOX" }),
    ]);
    const good = file("good.xlsx", [
      MONITOR_HEADER,
      row("legal", { 1: "Legal", 3: "external", 12: `monitor@${D}` }),
      row("big", { 2: `lena@${D}`, 6: "512", 11: "folder", 12: "Large" }),
    ]);
    const { problems: refused, done } = await importBadThenGood(page, bar, "import_monitor_rules-file", bad, good);
    assert.deepEqual(refused, [
      ["3", "Min size (KB)"],
      ["3", "Target"],
    ]);
    assert.equal(done, "Imported 2 monitoring rules.");
    await page.getByRole("table", { name: "Monitoring rules" }).getByText("big", { exact: true }).waitFor();
    const stored = (await api(server, server.token, "GET", `/api/domains/${D}/monitor-rules`)).items;
    assert.deepEqual(
      stored.map((r) => [r.name, r.scope_department, r.scope_account, r.traffic, r.min_size_kb, r.action, r.target]),
      [
        ["legal", "Legal", null, "external", null, "copy", `monitor@${D}`],
        ["big", null, `lena@${D}`, "any", 512, "folder", "Large"],
      ],
    );

    const [header, ...rows] = await exportRows(page, bar);
    assert.deepEqual(header, MONITOR_HEADER);
    assert.deepEqual(rows, [
      ["legal", "Legal", "", "external", "", "", "", "", "", "", "", "copy", `monitor@${D}`],
      ["big", "", `lena@${D}`, "any", "", "", "512", "", "", "", "", "folder", "Large"],
    ]);
    assert.deepEqual(problems, []);
  });
});
