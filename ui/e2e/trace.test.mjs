// End-to-end: the Message trace page against a real `postdesk serve` WITH its SMTP
// service. Mail is given to its MX by swaks (one message delivered, one refused for an
// unknown recipient); a helpdesk agent of example.com then finds both on the page, reads
// each message's steps in plain words, searches by address and outcome — and sees nothing
// of other.org's mail. Needs swaks (apt-get install -y swaks).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

let server;
let browser;
let desk; // { context, page, problems }
let deskToken;

/** One message to the MX from someone@remote.test; whether it was accepted. */
function mx(to, subject) {
  const r = spawnSync(
    "swaks",
    ["--server", "127.0.0.1", "--port", String(server.smtp.mx), "--from", "someone@remote.test", "--to", to, "--header", `Subject: ${subject}`],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.error) throw new Error(`cannot run swaks (apt-get install -y swaks): ${r.error.message}`);
  return /250 .*queued/.test(`${r.stdout}${r.stderr}`);
}

before(async () => {
  server = await startServer({ smtp: true });
  browser = await launchBrowser();
  desk = await newPage(browser);
  const call = (method, path, body) => api(server, server.token, method, path, body);
  for (const domain of ["example.com", "other.org"]) await call("POST", "/api/domains", { domain });
  for (const address of ["ann@example.com", "bob@other.org"]) await call("POST", "/api/accounts", { address });
  await call("POST", "/api/admins", { name: "desk", role: "helpdesk", pages: ["accounts"], domains: ["example.com"] });
  deskToken = (await call("POST", "/api/tokens", { admin: "desk" })).secret;
  assert.equal(mx("ann@example.com", "hello"), true);
  assert.equal(mx("nobody@example.com", "lost"), false);
  assert.equal(mx("bob@other.org", "not yours"), true);
  // Delivery from the spool is asynchronous: wait until the trace holds all three.
  for (let i = 0; i < 200; i++) {
    const all = await call("GET", "/api/trace?limit=10");
    if (all.items.length === 3 && all.items.every((m) => m.outcome !== "accepted")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rows = (page) => page.getByRole("table", { name: "Message trace" }).locator("tbody tr");

describe("message trace", { concurrency: false }, () => {
  it("shows the helpdesk its domains' messages and each one's steps in plain words", async () => {
    const { page, problems } = desk;
    await login(page, server.url, deskToken);
    await openPage(page, "Message trace");
    await rows(page).first().waitFor();
    const texts = (await rows(page).allInnerTexts()).map((t) => t.split("\t").slice(1, 4).join(" | "));
    // Both arrive within the same second: their order among themselves is not the point here
    // (the refusal's record and the delivery's are written by different tasks).
    assert.deepEqual(texts.sort(), [
      "someone@remote.test | ann@example.com | Delivered to the inbox",
      "someone@remote.test | nobody@example.com | Refused",
    ]);
    await page.locator('tr[data-outcome="refused"]').getByRole("button", { name: "Show steps" }).click();
    const steps = page.getByRole("list", { name: "What happened, step by step" });
    await steps.locator("li").first().waitFor();
    assert.match(await steps.innerText(), /Refused for nobody@example\.com: there is no such address here\. The server answered: 550 5\.1\.1/);
    await page.screenshot({ path: screenshotPath("message-trace") });
    await page.locator('tr[data-outcome="inbox"]').getByRole("button", { name: "Show steps" }).click();
    await page.waitForFunction(() => /Delivered to the inbox for ann@example\.com/.test(document.querySelector('[aria-label="What happened, step by step"]')?.textContent ?? ""));
    assert.match(await steps.innerText(), /The server accepted the message\./);

    // Search: an address, then an outcome.
    await page.getByRole("textbox", { name: "Address or domain" }).fill("ann@example.com");
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Message trace"] tbody tr').length === 1);
    await page.getByRole("textbox", { name: "Address or domain" }).fill("");
    await page.getByRole("combobox", { name: "What happened" }).selectOption("refused");
    await page.waitForFunction(() => {
      const r = document.querySelectorAll('table[aria-label="Message trace"] tbody tr');
      return r.length === 1 && r[0].getAttribute("data-outcome") === "refused";
    });
    // Another domain's mail is refused by the backend, not just hidden.
    await page.getByRole("combobox", { name: "What happened" }).selectOption("");
    await page.getByRole("textbox", { name: "Address or domain" }).fill("other.org");
    await page.locator(".page-error").waitFor();
    assert.match(await page.locator(".page-error").innerText(), /other\.org/);
    // The helpdesk reads the retention, and may not change it.
    assert.match(await page.locator(".trace-page").innerText(), /kept in the trace for 30 days/);
    assert.deepEqual(problems.filter((p) => !/403|Forbidden/.test(p)), []);
  });
});
