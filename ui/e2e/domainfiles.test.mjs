// End-to-end: the Aliases and Groups pages in the built UI against a real `postdesk serve` —
// the aliases file (a bad file is refused with every problem by row and column and writes
// nothing, a good one adds its aliases, the export reads back with the same rows, values only),
// and the address pickers that offer the domain's accounts, groups and aliases.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, startServer } from "./harness.mjs";
import { readXlsx, xlsx } from "./xlsx.mjs";

let server;
let browser;

const D = "example.com";
const HEADER = ["Alias address", "Targets", "Description"];
const file = (name, rows) => ({ name, mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: xlsx(rows) });

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const limits = { max_accounts: 100, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false };
  await api(server, server.token, "POST", "/api/domains", { domain: D, limits });
  await api(server, server.token, "POST", `/api/domains/${D}/accounts`, { domain: D, accounts: [{ address: `ann@${D}` }, { address: `bob@${D}` }] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const aliases = async () => (await api(server, server.token, "GET", `/api/domains/${D}/aliases`)).items;

describe("aliases file", () => {
  it("refuses a bad file by row and column, imports a good one, and exports what it holds", async () => {
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Aliases");
    await page.getByRole("button", { name: "Import…" }).click();
    const d = page.locator("dialog[open]");
    await d.locator("#import_aliases-file").setInputFiles(
      file("bad.xlsx", [HEADER, [`team@${D}`, `ann@${D}, bob@${D}`, "The team"], ["not an address", `ann@${D}`, ""], [`ann@${D}`, `bob@${D}`, ""]]),
    );
    await d.getByRole("button", { name: "Import", exact: true }).click();
    const table = d.getByRole("table", { name: "Problems in the file" });
    await table.waitFor();
    const rows = (await table.locator("tbody tr").allInnerTexts()).map((r) => r.split("\t").slice(0, 2));
    assert.deepEqual(rows, [
      ["3", "Alias address"],
      ["4", "Alias address"],
    ]);
    assert.deepEqual(await aliases(), [], "nothing written");

    await d.locator("#import_aliases-file").setInputFiles(file("good.xlsx", [HEADER, [`team@${D}`, `ann@${D}, bob@${D}`, "The team"]]));
    await d.getByRole("button", { name: "Import", exact: true }).click();
    await d.locator(".ok[role=status]").waitFor();
    await d.locator(".dialog-buttons").getByRole("button", { name: "Close" }).click();
    await page.getByText(`team@${D}`).first().waitFor();
    const stored = await aliases();
    assert.deepEqual(stored.map((a) => [a.address, [...a.targets].sort(), a.description]), [[`team@${D}`, [`ann@${D}`, `bob@${D}`], "The team"]]);

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export" }).click();
    const [header, ...exported] = readXlsx(readFileSync(await (await download).path()));
    assert.deepEqual(header, HEADER);
    assert.equal(exported.length, 1);
    assert.equal(exported[0][0], `team@${D}`);
    assert.deepEqual(exported[0][1].split(/,\s*/).sort(), [`ann@${D}`, `bob@${D}`]);
    // The page says what was exported and where it went (the desktop window says the path).
    const note = page.locator(".export-note[role=status]");
    await note.waitFor();
    assert.match(await note.innerText(), new RegExp(`^Exported 1 alias\\. Downloaded ${(await download).suggestedFilename().replace(/\./g, "\\.")}\\.$`));
    assert.deepEqual(problems, []);
  });
});

describe("address pickers", () => {
  it("offers the domain's addresses for alias targets and group members", async () => {
    await api(server, server.token, "POST", "/api/groups", { address: `all@${D}`, name: "All", members: [`ann@${D}`] });
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Aliases");
    await page.getByRole("button", { name: "New alias" }).click();
    const d = page.locator("dialog[open]");
    await d.getByLabel("Alias address").fill("desk");
    const picker = d.getByLabel("Pick a target");
    // The options load after the editor opens: wait (a while) for the expected list, then
    // compare what is there, so a wrong list fails with both lists shown.
    const listed = async (input, expected) => {
      const id = await input.getAttribute("list");
      const options = () => page.locator(`datalist[id="${id}"] option`).evaluateAll((os) => os.map((o) => o.value));
      await page
        .waitForFunction(
          ([id, want]) =>
            JSON.stringify([...document.querySelectorAll(`datalist[id="${id}"] option`)].map((o) => o.value)) === JSON.stringify(want),
          [id, expected],
          { timeout: 10_000 },
        )
        .catch(() => {});
      return options();
    };
    const targets = [`all@${D}`, `ann@${D}`, `bob@${D}`, `team@${D}`];
    assert.deepEqual(await listed(picker, targets), targets);
    await picker.fill(`bob@${D}`);
    await d.getByRole("button", { name: "Add to the list" }).click();
    await picker.fill(`all@${D}`);
    await picker.press("Enter");
    await picker.fill(`bob@${D}`);
    await picker.press("Enter");
    assert.equal(await d.getByLabel("Targets").inputValue(), `bob@${D}\nall@${D}`, "each once, a line each");
    await d.getByRole("button", { name: "Create alias" }).click();
    await page.locator("dialog[open]").waitFor({ state: "detached" });
    const desk = (await aliases()).find((a) => a.address === `desk@${D}`);
    assert.deepEqual([...desk.targets].sort(), [`all@${D}`, `bob@${D}`]);

    // A group's editor offers the addresses that are not members yet (nor the group itself).
    await openPage(page, "Mail groups");
    await page.getByText(`all@${D}`).first().click();
    const add = page.getByRole("form", { name: "Members" }).getByLabel("Add members");
    const candidates = [`bob@${D}`, `desk@${D}`, `team@${D}`];
    assert.deepEqual(await listed(add, candidates), candidates);
    assert.deepEqual(problems, []);
  });
});

describe("filtered lists", () => {
  it("filters aliases and groups on the server, a page at a time", async () => {
    const L = "lists.example";
    const limits = { max_accounts: 10, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false };
    await api(server, server.token, "POST", "/api/domains", { domain: L, limits });
    await api(server, server.token, "POST", `/api/domains/${L}/accounts`, { domain: L, accounts: [{ address: `ann@${L}` }, { address: `bob@${L}` }] });
    // One more than a page of aliases.
    for (let i = 0; i < 201; i++) {
      const n = String(i).padStart(3, "0");
      await api(server, server.token, "POST", "/api/aliases", { address: `list${n}@${L}`, targets: [`ann@${L}`], description: `List ${n}` });
    }
    await api(server, server.token, "POST", "/api/aliases", { address: `sales@${L}`, targets: [`bob@${L}`], description: "Sales team" });
    await api(server, server.token, "POST", "/api/groups", { address: `staff@${L}`, name: "All staff", members: [`ann@${L}`, `bob@${L}`] });
    await api(server, server.token, "POST", "/api/groups", { address: `board@${L}`, name: "Board", members: [`bob@${L}`] });

    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Aliases");
    await page.getByLabel("Domain", { exact: true }).selectOption(L);
    const rows = page.getByRole("table", { name: "Aliases" }).locator("tbody tr");
    const more = page.getByRole("button", { name: "Show more aliases" });
    await more.waitFor();
    assert.equal(await rows.count(), 200, "the first page");
    await more.click();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Aliases"] tbody tr').length > 200, null, { timeout: 10_000 }).catch(() => {});
    assert.equal(await rows.count(), 202, "and the rest");
    assert.equal(await page.locator("button.load-more").count(), 0, "nothing more to show");

    const filter = page.getByLabel("Filter aliases");
    const shown = async (expected) => {
      await page
        .waitForFunction((n) => document.querySelectorAll('table[aria-label="Aliases"] tbody tr').length === n, expected.length, { timeout: 10_000 })
        .catch(() => {});
      return (await rows.locator("th").allInnerTexts()).map((t) => t.trim());
    };
    await filter.fill("TEAM");
    assert.deepEqual(await shown([`sales@${L}`]), [`sales@${L}`], "by description, any case");
    await filter.fill("bob@");
    assert.deepEqual(await shown([`sales@${L}`]), [`sales@${L}`], "by target");
    await filter.fill("list19");
    assert.equal((await shown(Array(10))).length, 10, "list190 … list199");
    assert.equal(await more.count(), 0);
    await filter.fill("nothing-like-this");
    await page.getByText(`No alias of ${L} matches “nothing-like-this”.`).waitFor();

    await openPage(page, "Mail groups");
    const groups = page.getByRole("list", { name: "Mail groups" }).locator("li");
    await page.getByLabel("Filter mail groups").fill("board");
    await page.waitForFunction(() => document.querySelectorAll('ul[aria-label="Mail groups"] li').length === 1, null, { timeout: 10_000 }).catch(() => {});
    assert.deepEqual(await groups.allInnerTexts().then((t) => t.map((x) => x.split("\n")[0])), ["Board"]);
    await page.getByLabel("Filter mail groups").fill("ann@");
    await page.getByText("All staff").waitFor();
    assert.equal(await groups.count(), 1, "only the group with ann as a member");
    // The group open in the editor stays there when a filter leaves it out of the list.
    await page.getByText("All staff").click();
    const members = page.getByRole("form", { name: "Members" });
    await members.getByText(`ann@${L}`).waitFor();
    await page.getByLabel("Filter mail groups").fill("board");
    await page.waitForFunction(() => [...document.querySelectorAll('ul[aria-label="Mail groups"] li')].map((li) => li.innerText.split("\n")[0]).join() === "Board", null, { timeout: 10_000 });
    assert.equal(await members.getByText(`ann@${L}`).count(), 1, "the editor still shows All staff");
    assert.deepEqual(problems, []);
  });
});
