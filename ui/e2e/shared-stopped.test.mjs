// End-to-end: a shared mailbox whose fetching stopped after N failures in a row is shown in a
// notice on every page, with its error, its time and a link that opens the mailbox in its
// domain. The mailbox points at a loopback port nothing listens on and stops after one failure
// of "Fetch now" (no interval: the stop is still timed and noticed).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, freePort, launchBrowser, login, newPage, openPage, screenshotPath, seriousViolations, startServer } from "./harness.mjs";

const DESK = "desk@example.org";

let server;
let browser;
let owner; // { context, page, problems }

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
  const t = server.token;
  for (const domain of ["example.com", "example.org"]) await api(server, t, "POST", "/api/domains", { domain });
  await api(server, t, "POST", "/api/domains/example.org/shared-mailboxes", {
    domain: "example.org",
    address: DESK,
    name: "Desk",
    kind: "imap",
    host: "127.0.0.1",
    port: await freePort(),
    tls: "implicit",
    verify_certificate: false,
    username: "desk",
    secret: "Ext3rnal pw",
    disable_after: 1,
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("the notice of stopped fetching", { concurrency: false }, () => {
  it("appears on every page once fetching stopped, and its link opens the mailbox in its domain", async () => {
    const { page, problems } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Shared mailboxes");
    const notice = page.getByTestId("stopped-fetching");
    assert.equal(await notice.count(), 0, "nothing stopped yet");

    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.org");
    await page.locator(`tr[data-shared="${DESK}"]`).getByRole("button", { name: "Fetch now" }).click();
    await page.getByTestId("fetch-report").waitFor();
    await notice.waitFor();
    const text = await notice.innerText();
    assert.match(text, /Fetching stopped for a shared mailbox\./);
    assert.match(text, /Fetching desk@example\.org stopped at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC after 1 failure in a row: .*cannot reach 127\.0\.0\.1/);
    assert.equal(await notice.getAttribute("role"), "alert");

    // On another page, in another domain, and after a reload: still there.
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    await openPage(page, "Domains");
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Domains" }).waitFor();
    await notice.waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    // The Accounts page of a domain with no account yet: an empty grid is still a grid of rows.
    await openPage(page, "Accounts");
    await page.getByText("No accounts yet.").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await openPage(page, "Domains");
    await page.screenshot({ path: screenshotPath("shared-stopped-notice"), fullPage: true });

    // The link opens the mailbox's page in its domain, with the mailbox open.
    await notice.getByRole("link", { name: `Open the shared mailbox ${DESK}` }).click();
    await page.getByRole("heading", { level: 1, name: "Shared mailboxes" }).waitFor();
    await page.getByRole("region", { name: `Shared mailbox ${DESK}` }).waitFor();
    assert.equal(await page.getByRole("combobox", { name: "Domain" }).inputValue(), "example.org");
    assert.deepEqual(problems, []);
  });

  it("goes once an interval is set again", async () => {
    const { page } = owner;
    await api(server, server.token, "PATCH", `/api/shared-mailboxes/${encodeURIComponent(DESK)}`, { fetch_interval_minutes: 60 });
    await openPage(page, "Domains");
    await page.getByTestId("stopped-fetching").waitFor({ state: "detached" });
    const stopped = await api(server, server.token, "GET", "/api/stopped-shared-mailboxes");
    assert.deepEqual(stopped.items, []);
  });
});
