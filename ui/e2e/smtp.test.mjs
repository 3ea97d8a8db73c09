// End-to-end: the Mail service page against a real `postdesk serve` WITH its SMTP service
// (listeners on free loopback ports): a rule added in the page refuses the next message
// swaks sends, and the page's live counters and last refusals show it; a settings value
// out of range is refused at its field. Needs swaks (apt-get install -y swaks).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";
import { readXlsx, xlsx } from "./xlsx.mjs";

let server;
let browser;
let owner;

before(async () => {
  server = await startServer({ smtp: true });
  browser = await launchBrowser();
  owner = await newPage(browser);
  const call = (method, path, body) => api(server, server.token, method, path, body);
  await call("POST", "/api/domains", { domain: "example.com" });
  await call("POST", "/api/domains/example.com/accounts", {
    accounts: [{ address: "ann@example.com" }, { address: "bob@example.com" }],
  });
  // No DNS server here: the inbound SPF/DKIM/DMARC checks are off.
  await call("PUT", "/api/smtp/settings", { settings: { inbound_auth: { verify: false, reject_spf_fail: false, enforce_dmarc_reject: false } } });
  await reloaded(1);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** swaks to the MX listener; returns its exit status and transcript. */
function swaks(from, to) {
  const r = spawnSync(
    "swaks",
    ["--server", "127.0.0.1", "--port", String(server.smtp.mx), "--helo", "client.test", "--from", from, "--to", to],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.error) throw new Error(`cannot run swaks (apt-get install -y swaks): ${r.error.message}`);
  return { ok: r.status === 0, text: `${r.stdout}${r.stderr}` };
}

/** Resolves once the mail server has taken up `n` changes of the SMTP settings or rules. */
async function reloaded(n) {
  const deadline = Date.now() + 20_000;
  while (server.reloads() < n) {
    if (Date.now() > deadline) throw new Error(`the SMTP profile was not reloaded:\n${server.output().err}`);
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

describe("mail service page", { concurrency: false }, () => {
  it("adds a rule that refuses the next message, and shows the refusal counted and logged", async () => {
    const { page, problems } = owner;
    assert.ok(server.smtp.mx > 0, "serve printed its MX listener");
    await login(page, server.url, server.token);
    await openPage(page, "Mail service");
    const counters = page.getByRole("region", { name: "Live counters" });
    await counters.getByText(`127.0.0.1:${server.smtp.mx}`, { exact: false }).waitFor();

    await page.getByRole("button", { name: "Add rule" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("block-spam");
    await dialog.getByLabel("Matches").selectOption("sender_domain");
    await dialog.getByLabel("Value").fill("spam.test");
    await dialog.getByLabel("Action").selectOption("reject");
    await dialog.getByRole("button", { name: "Add rule" }).click();
    await dialog.waitFor({ state: "detached" });
    const rules = page.getByRole("table", { name: "Rules" });
    await rules.locator('tr[data-rule="block-spam"]').waitFor();
    assert.match(await rules.locator('tr[data-rule="block-spam"]').innerText(), /Sender domain\s+spam\.test\s+Reject/);
    await reloaded(2);

    const sent = swaks("someone@spam.test", "ann@example.com");
    assert.equal(sent.ok, false, sent.text);
    assert.match(sent.text, /<\*\* 550 5\.7\.1 Sender refused by policy/);

    // The page reads the counters again by itself every few seconds.
    const byRule = page.getByRole("table", { name: "Refusals by rule" }).locator('tr[data-rule="block-spam"]');
    await byRule.waitFor({ timeout: 20_000 });
    assert.match(await byRule.innerText(), /block-spam \(list rule\)\s+1/);
    const last = page.getByRole("table", { name: "Last refusals" }).locator('tr[data-rule="block-spam"]').first();
    await last.waitFor();
    const row = await last.innerText();
    assert.match(row, /127\.0\.0\.1/);
    assert.match(row, /MAIL FROM/);
    assert.match(row, /someone@spam\.test/);
    assert.match(row, /550 5\.7\.1 Sender refused by policy/);
    assert.equal(await counters.locator('[data-counter="refused"] .figure-value').innerText(), "1");
    await page.screenshot({ path: screenshotPath("smtp-refusal"), fullPage: true });

    // Removed in the page: the same sender's message is accepted.
    await rules.getByRole("button", { name: "Remove block-spam" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await page.getByText("No rules.").waitFor();
    await reloaded(3);
    const again = swaks("someone@spam.test", "ann@example.com");
    assert.equal(again.ok, true, again.text);
    await counters.locator('[data-counter="messages_accepted"] .figure-value').getByText("1", { exact: true }).waitFor({ timeout: 20_000 });
    assert.deepEqual(problems, []);
  });

  it("shows a settings value the backend refuses at its field and saves a good one", async () => {
    const { page, problems } = owner;
    const form = page.getByRole("form", { name: "SMTP settings" });
    const recipients = form.getByLabel("Recipients per message");
    await recipients.fill("0");
    await form.getByRole("button", { name: "Save settings" }).click();
    const field = form.locator('[data-field="max_recipients"]');
    await field.getByRole("alert").waitFor();
    assert.match(await field.getByRole("alert").innerText(), /recipients per message must be 1 to 10000/);
    assert.equal(await recipients.getAttribute("aria-invalid"), "true");

    await recipients.fill("1.5");
    await form.getByRole("button", { name: "Save settings" }).click();
    assert.match(await field.getByRole("alert").innerText(), /whole number/);

    await recipients.fill("1");
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByRole("status").waitFor();
    await reloaded(4);
    // Enforced without a restart: the second recipient of a message is refused.
    const sent = swaks("someone@remote.test", "ann@example.com,bob@example.com");
    assert.match(sent.text, /<\*\* 452 4\.5\.3 Too many recipients/);
    const last = page.getByRole("table", { name: "Last refusals" }).locator("tbody tr").first();
    await last.getByText("bob@example.com").waitFor({ timeout: 20_000 });
    assert.match(await last.innerText(), /RCPT TO/);
    assert.deepEqual(problems, []);
  });

  it("imports rules (a bad file is refused by row), reorders them and exports them", async () => {
    const { page, problems } = owner;
    const rules = page.getByRole("table", { name: "Rules" });
    const file = (name, rows) => ({
      name,
      mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      buffer: xlsx([["Name", "Kind", "Value", "Action", "Note"], ...rows]),
    });
    const templateDownload = page.waitForEvent("download");
    await page.getByRole("button", { name: "Import template" }).click();
    const template = await templateDownload;
    assert.deepEqual(readXlsx(readFileSync(await template.path()))[0], ["Name", "Kind", "Value", "Action", "Note"]);

    await page.getByRole("button", { name: "Import…" }).click();
    const d = page.getByRole("dialog");
    await d.locator("#rules-file").setInputFiles(
      file("bad.xlsx", [
        ["bad-net", "client_ip", "192.0.2.1/24", "reject", ""],
        ["ok-domain", "sender_domain", "junk.test", "discard", "newsletters"],
      ]),
    );
    await d.getByRole("button", { name: "Import", exact: true }).click();
    const problem = d.getByRole("table", { name: "Problems in the file" }).locator('tr[data-row="2"]');
    await problem.waitFor();
    assert.match(await problem.innerText(), /host bits/);
    await page.keyboard.press("Escape");
    assert.equal(await rules.count(), 0, "nothing was imported");

    await page.getByRole("button", { name: "Import…" }).click();
    await d.locator("#rules-file").setInputFiles(
      file("good.xlsx", [
        ["bad-net", "client_ip", "192.0.2.0/24", "reject", ""],
        ["ok-domain", "sender_domain", "junk.test", "discard", "newsletters"],
      ]),
    );
    await d.getByRole("button", { name: "Import", exact: true }).click();
    await d.getByRole("status").getByText("Imported 2 rules.").waitFor();
    await d.locator(".dialog-buttons").getByRole("button", { name: "Close" }).click();
    await rules.locator('tr[data-rule="ok-domain"]').waitFor();
    const names = () => rules.locator("tbody th").allInnerTexts();
    assert.deepEqual(await names(), ["bad-net", "ok-domain"]);
    await rules.getByRole("button", { name: "Move ok-domain up" }).click();
    await rules.locator("tbody tr").first().and(page.locator('[data-rule="ok-domain"]')).waitFor();
    assert.deepEqual(await names(), ["ok-domain", "bad-net"]);

    // Edited in the dialog: a bad value is refused at its field, a good one saved.
    await rules.getByRole("button", { name: "Edit bad-net" }).click();
    const edit = page.getByRole("dialog");
    await edit.getByLabel("Value").fill("192.0.2.300");
    await edit.getByRole("button", { name: "Save" }).click();
    const valueError = edit.locator('[data-field="value"]').getByRole("alert");
    await valueError.waitFor();
    assert.match(await valueError.innerText(), /192\.0\.2\.300/);
    await edit.getByLabel("Value").fill("198.51.100.7");
    await edit.getByLabel("Action").selectOption("discard");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "detached" });
    await rules.locator('tr[data-rule="bad-net"] td[data-action="discard"]').waitFor();
    assert.match(await rules.locator('tr[data-rule="bad-net"]').innerText(), /198\.51\.100\.7/);

    const exportDownload = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export" }).click();
    const exported = await exportDownload;
    // The export holds the rules in their order, as edited, and reads back as an import would.
    const [header, ...rows] = readXlsx(readFileSync(await exported.path()));
    assert.deepEqual(header, ["Name", "Kind", "Value", "Action", "Note"]);
    assert.deepEqual(rows, [
      ["ok-domain", "sender_domain", "junk.test", "discard", "newsletters"],
      ["bad-net", "client_ip", "198.51.100.7", "discard"], // no note: the cell is left empty
    ]);
    assert.deepEqual(problems, []);
  });

  it("stores the recipient-probing policy, which the running service applies, and says when the data budget applies", async () => {
    const { page, problems } = owner;
    const form = page.getByRole("form", { name: "SMTP settings" });
    const save = () => form.getByRole("button", { name: "Save settings" }).click();
    await form.getByLabel("Recipients per message").fill("100");
    // Out of range: refused at its field, nothing saved.
    await form.getByLabel("Slow down after (unknown recipients)").fill("0");
    await save();
    const field = form.locator('[data-field="probing.slow_after"]');
    await field.getByRole("alert").waitFor();
    assert.match(await field.getByRole("alert").innerText(), /1 to 1000/);
    const stored = await api(server, server.token, "GET", "/api/smtp/settings");
    assert.equal(stored.probing.slow_after, 3, "the refused value was not stored");

    // Drop a session at its second unknown recipient, no slow-down, no penalty after.
    await form.getByLabel("Slow down after (unknown recipients)").fill("1");
    await form.getByLabel("Slow-down step (seconds)").fill("0");
    await form.getByLabel("Disconnect at (unknown recipients)").fill("2");
    await form.getByLabel("Refuse the address for (seconds)").fill("0");
    const reloads = server.reloads();
    await save();
    await form.getByRole("status").waitFor();
    await reloaded(reloads + 1);
    const after = await api(server, server.token, "GET", "/api/smtp/settings");
    assert.deepEqual(after.probing, { slow_after: 1, delay_step_secs: 0, max_unknown: 2, penalty_secs: 0 });
    const probe = swaks("someone@remote.test", "nobody1@example.com,nobody2@example.com,ann@example.com");
    assert.match(probe.text, /<\*\* 550/, probe.text);
    assert.match(probe.text, /<\*\* 421 4\.7\.0/, probe.text);
    // No penalty: the next client from the same address is served.
    assert.ok(swaks("someone@remote.test", "ann@example.com").ok);

    // The in-flight data budget is read when the service starts: the page says so.
    await form.getByLabel("In-flight data budget (MiB)").fill("64");
    await save();
    await form.getByRole("status").waitFor();
    assert.match(await form.getByRole("status").innerText(), /applies when the mail service restarts/);
    const budget = await api(server, server.token, "GET", "/api/smtp/settings");
    assert.equal(budget.data.in_flight_bytes, 64 * 1024 * 1024);
    assert.deepEqual(problems, []);
  });
});
