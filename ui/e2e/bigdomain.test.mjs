// End-to-end: a domain of more than 10,000 accounts in the built UI against a real
// `postdesk serve`. A broad filter's count stops at 10,000 and the page says "More than";
// scrolling to the end counts on to the exact number; selecting all matching asks the server
// for the exact count first, so the confirmation names it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, startServer } from "./harness.mjs";

const D = "big.example";
const N = 10_050;
const nf = new Intl.NumberFormat("en-US");

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const limits = { max_accounts: 20_000, mailbox_size_mb: 1024, attachment_size_mb: 20, large_attachments: false };
  await api(server, server.token, "POST", "/api/domains", { domain: D, limits });
  for (let first = 0; first < N; first += 2_000) {
    const accounts = [];
    for (let i = first; i < Math.min(N, first + 2_000); i++) accounts.push({ address: `u${String(i).padStart(5, "0")}@${D}` });
    await api(server, server.token, "POST", `/api/domains/${D}/accounts`, { domain: D, accounts });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function waitForTotal(page, text) {
  await page.locator(`[data-testid="accounts-total"][data-ready="true"]`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

describe("a big domain", () => {
  it("says 'more than' for a broad filter, counts on at the end, and names the exact count of a bulk action", async () => {
    const { page, problems } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Accounts");
    await waitForTotal(page, `${nf.format(N)} accounts`);

    await page.getByRole("searchbox", { name: "Filter accounts" }).fill("big");
    await waitForTotal(page, "More than 10,000 accounts");
    // To the last row: the deepest page counts to the end.
    await page.locator("#accounts-grid").focus();
    await page.keyboard.press("End");
    await waitForTotal(page, `${nf.format(N)} accounts`);

    // A fresh filter starts counting again; selecting all of it counts exactly first.
    await page.getByRole("searchbox", { name: "Filter accounts" }).fill("big.ex");
    await waitForTotal(page, "More than 10,000 accounts");
    await page.getByRole("button", { name: "Select all matching" }).click();
    const selected = page.getByTestId("selection-count");
    await selected.waitFor();
    assert.equal(await selected.innerText(), `All ${nf.format(N)} accounts matching the filter selected`);
    // The toolbar says the exact count too, now that it is known.
    await waitForTotal(page, `${nf.format(N)} accounts`);
    await page.getByRole("button", { name: "Disable…" }).click();
    const d = page.locator("dialog[open]");
    assert.equal(await d.getByRole("heading").innerText(), `Disable all ${nf.format(N)} accounts containing "big.ex"?`);
    await d.getByRole("button", { name: "Cancel" }).click();
    const active = await api(server, server.token, "GET", `/api/domains/${D}/accounts?status=active&limit=1&exact_total=true`);
    assert.equal(active.total, N, "cancelled: nothing changed");
    assert.deepEqual(problems, []);
  });
});
