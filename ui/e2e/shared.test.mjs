// End-to-end: a shared mailbox's owners, auto-reply and Security tab, and the domain's
// workflow groups (on their own page), against a real `postdesk serve` asking a real DNS server (knotd, knot.mjs)
// for example.com. Everything set is read back after a reload; a refused value shows its
// error at the field; axe finds no serious violation on the opened tabs. Needs knotd
// (apt-get install -y knot).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, seriousViolations, openPage, screenshotPath, startServer } from "./harness.mjs";
import { startKnot } from "./knot.mjs";

const DNS_WAIT = 30_000;
const DESK = "desk@example.com";

let knot;
let server;
let browser;
let owner; // { context, page, problems }

before(async () => {
  knot = await startKnot({
    "example.com": ["@ MX 10 mail.example.net.", '@ TXT "v=spf1 ip4:192.0.2.10 -all"'],
    "example.net": ["mail A 192.0.2.10"],
  });
  server = await startServer({ dnsResolver: knot.address });
  browser = await launchBrowser();
  owner = await newPage(browser);
  const t = server.token;
  await api(server, t, "POST", "/api/domains", { domain: "example.com" });
  await api(server, t, "POST", "/api/domains/example.com/accounts", {
    accounts: [
      { address: "ann@example.com", display_name: "Ann" },
      { address: "bob@example.com", display_name: "Bob" },
      { address: "cy@example.com", display_name: "Cy" },
    ],
  });
  await api(server, t, "POST", "/api/domains/example.com/shared-mailboxes", {
    domain: "example.com",
    address: DESK,
    name: "Desk",
    kind: "imap",
    host: "imap.example.net",
    port: 993,
    tls: "implicit",
    verify_certificate: true,
    username: "desk",
    disable_after: 5,
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await knot?.stop();
});

/** Reloads the browser page and opens the shared mailbox on tab `tab`; returns its panel. */
async function openTab(page, tab, { reload = true } = {}) {
  if (reload) {
    await page.reload();
    await page.getByRole("navigation", { name: "Pages" }).waitFor();
    await openPage(page, "Shared mailboxes");
  }
  const panel = page.getByRole("region", { name: `Shared mailbox ${DESK}` });
  if (!(await panel.isVisible())) {
    await page.locator(`tr[data-shared="${DESK}"]`).getByRole("button", { name: "Open" }).click();
  }
  await panel.getByRole("tab", { name: tab }).click();
  assert.equal(await panel.getByRole("tab", { name: tab }).getAttribute("aria-selected"), "true");
  return panel;
}

function groupRow(page, name) {
  return page.getByRole("table", { name: "Workflow group list" }).locator(`tr[data-group="${name}"]`);
}

describe("shared mailbox owners, workflow groups, auto-reply, template, default mailboxes, security", { concurrency: false }, () => {
  it("creates a workflow group with members, changes them, and a bad member is refused at the field", async () => {
    const { page } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "Workflow groups");
    const form = page.getByRole("form", { name: "New workflow group" });
    await form.getByLabel("Group name").fill("Front office");
    const add = form.getByLabel(/^Add to new group members/);
    await add.fill("ann"); // a bare name is taken in the domain
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await add.fill("nobody@example.com");
    await add.press("Enter");
    await form.getByRole("button", { name: "Create group" }).click();
    const err = form.locator('[data-field="members"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /nobody@example\.com/);
    assert.equal(await add.getAttribute("aria-invalid"), "true");
    assert.equal(await groupRow(page, "Front office").count(), 0);

    await form.getByRole("button", { name: "Remove nobody@example.com" }).click();
    await add.fill("bob@example.com");
    await add.press("Enter");
    await form.getByRole("button", { name: "Create group" }).click();
    await groupRow(page, "Front office").waitFor();
    assert.equal(await groupRow(page, "Front office").getByTestId("members").innerText(), "ann@example.com, bob@example.com");
    assert.equal(await form.getByLabel("Group name").inputValue(), "");

    // A second group, removed again below.
    await form.getByLabel("Group name").fill("Temp");
    await form.getByRole("button", { name: "Create group" }).click();
    await groupRow(page, "Temp").waitFor();

    // Members replaced: bob out, cy in.
    await groupRow(page, "Front office").getByRole("button", { name: "Members of Front office" }).click();
    const members = page.getByRole("form", { name: "Members of Front office" });
    await members.getByRole("button", { name: "Remove bob@example.com" }).click();
    await members.getByLabel(/^Add to members of front office/).fill("cy");
    await members.getByRole("button", { name: "Add", exact: true }).click();
    await members.getByRole("button", { name: "Save members" }).click();
    await members.waitFor({ state: "detached" });
    await page.reload();
    await openPage(page, "Workflow groups");
    await groupRow(page, "Front office").waitFor();
    assert.equal(await groupRow(page, "Front office").getByTestId("members").innerText(), "ann@example.com, cy@example.com");
    assert.deepEqual(await seriousViolations(page), []);
  });

  it("sets owners (a user and a workflow group) and shows them after a reload", async () => {
    const { page } = owner;
    const panel = await openTab(page, "Owners");
    assert.match(await panel.getByTestId("owners-now").innerText(), /no owner/);
    assert.match(await panel.innerText(), /may send mail as desk@example\.com/);
    // What owners get is what runs: sending as the address, and the mailbox over IMAP
    // (mailserver/tests/shared_owners.rs reads it with imaplib).
    assert.match(await panel.innerText(), /read it over IMAP .* under Shared\/desk@example\.com\//);
    const form = panel.getByRole("form", { name: `Owners of ${DESK}` });
    // The mailbox cannot own itself: refused at the users field.
    await form.getByLabel(/^Add to owner users/).fill(DESK);
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await form.getByRole("button", { name: "Save owners" }).click();
    const err = form.locator('[data-field="users"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /cannot own itself/);
    await form.getByRole("button", { name: `Remove ${DESK}` }).click();

    await form.getByLabel(/^Add to owner users/).fill("bob");
    await form.getByRole("button", { name: "Add", exact: true }).click();
    await form.getByRole("checkbox", { name: "Front office" }).check();
    await form.getByRole("button", { name: "Save owners" }).click();
    await form.getByRole("status").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    const again = await openTab(page, "Owners");
    assert.equal(await again.getByTestId("owners-now").innerText(), "Owners now: bob@example.com; group Front office.");
    const f = again.getByRole("form", { name: `Owners of ${DESK}` });
    assert.equal(await f.getByRole("checkbox", { name: "Front office" }).isChecked(), true);
    assert.equal(await f.getByRole("checkbox", { name: "Temp" }).isChecked(), false);
    assert.deepEqual(await f.locator("li[data-address]").evaluateAll((els) => els.map((e) => e.dataset.address)), ["bob@example.com"]);
    // The group's row on its own page says what it owns.
    await openPage(page, "Workflow groups");
    assert.match(await groupRow(page, "Front office").innerText(), /desk@example\.com/);
    // The same owners through the API.
    const m = await api(server, server.token, "GET", `/api/shared-mailboxes/${encodeURIComponent(DESK)}`);
    assert.deepEqual([m.owners, m.owner_groups], [["bob@example.com"], ["Front office"]]);
  });

  it("removes a workflow group", async () => {
    const { page } = owner;
    await groupRow(page, "Temp").getByRole("button", { name: "Remove Temp" }).click();
    await groupRow(page, "Temp").waitFor({ state: "detached" });
    await page.reload();
    await openPage(page, "Workflow groups");
    await groupRow(page, "Front office").waitFor();
    assert.equal(await groupRow(page, "Temp").count(), 0);
    const groups = await api(server, server.token, "GET", "/api/domains/example.com/workflow-groups");
    assert.deepEqual(groups.items.map((g) => g.name), ["Front office"]);
  });

  it("sets an auto-reply, shows a refused period at its field, and keeps it after a reload", async () => {
    const { page } = owner;
    const panel = await openTab(page, "Auto-reply");
    assert.match(await panel.getByTestId("auto-reply-now").innerText(), /off/);
    const form = panel.getByRole("form", { name: `Auto-reply of ${DESK}` });
    await form.getByRole("checkbox", { name: "Answer incoming mail" }).check();
    // Answering needs a subject: refused at the subject field.
    await form.getByRole("button", { name: "Save auto-reply" }).click();
    const subjectErr = form.locator('[data-field="subject"] .field-error');
    await subjectErr.waitFor();
    assert.match(await subjectErr.innerText(), /subject/);
    await form.getByLabel("Subject").fill("We are closed");
    await form.getByLabel("Text").fill("Back on 2 January.\nThe front office");
    // A period that ends before it starts: refused at "Until".
    await form.getByLabel(/^From \(UTC/).fill("2026-12-24T08:00");
    await form.getByLabel(/^Until \(UTC/).fill("2026-12-20T00:00");
    await form.getByRole("button", { name: "Save auto-reply" }).click();
    const endsErr = form.locator('[data-field="ends_at"] .field-error');
    await endsErr.waitFor();
    assert.match(await endsErr.innerText(), /ends before it starts/);
    assert.equal(await form.getByLabel(/^Until \(UTC/).getAttribute("aria-invalid"), "true");
    await form.getByLabel(/^Until \(UTC/).fill("2027-01-02T00:00");
    await form.getByRole("button", { name: "Save auto-reply" }).click();
    await form.getByRole("status").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    const again = await openTab(page, "Auto-reply");
    assert.equal(await again.getByTestId("auto-reply-now").innerText(), "Auto-reply now: on from 2026-12-24 08:00 UTC until 2027-01-02 00:00 UTC.");
    const f = again.getByRole("form", { name: `Auto-reply of ${DESK}` });
    assert.equal(await f.getByRole("checkbox", { name: "Answer incoming mail" }).isChecked(), true);
    assert.equal(await f.getByLabel("Subject").inputValue(), "We are closed");
    assert.equal(await f.getByLabel("Text").inputValue(), "Back on 2 January.\nThe front office");
    assert.equal(await f.getByLabel(/^From \(UTC/).inputValue(), "2026-12-24T08:00");
    assert.equal(await f.getByLabel(/^Until \(UTC/).inputValue(), "2027-01-02T00:00");
    const m = await api(server, server.token, "GET", `/api/shared-mailboxes/${encodeURIComponent(DESK)}`);
    assert.equal(m.auto_reply.enabled, true);
    assert.equal(m.auto_reply.subject, "We are closed");
  });

  it("sets a template with a live preview, refuses a size out of range at its field, and keeps it after a reload", async () => {
    const { page } = owner;
    const panel = await openTab(page, "Template", { reload: false });
    assert.equal(await panel.getByTestId("template-now").innerText(), "Template now: none.");
    assert.match(await panel.innerText(), /Postdesk has no webmail and changes no message/);
    const form = panel.getByRole("form", { name: `Template of ${DESK}` });
    await form.getByLabel("Font").selectOption("Georgia");
    await form.getByLabel(/^Size in points/).fill("40");
    await form.getByRole("button", { name: "Save template" }).click();
    const sizeErr = form.locator('[data-field="size_pt"] .field-error');
    await sizeErr.waitFor();
    assert.match(await sizeErr.innerText(), /8 to 36 pt/);
    await form.getByLabel(/^Size in points/).fill("14");
    const preview = form.getByTestId("template-preview");
    const style = await preview.evaluate((el) => [el.style.fontFamily, el.style.fontSize]);
    assert.match(style[0], /^"?Georgia"?, serif$/);
    assert.equal(style[1], "14pt");
    await form.getByRole("button", { name: "Save template" }).click();
    await form.getByRole("status").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    const again = await openTab(page, "Template");
    assert.equal(await again.getByTestId("template-now").innerText(), "Template now: Georgia, 14 pt.");
    assert.equal(await again.getByLabel("Font").inputValue(), "Georgia");
    assert.equal(await again.getByLabel(/^Size in points/).inputValue(), "14");
    const m = await api(server, server.token, "GET", `/api/shared-mailboxes/${encodeURIComponent(DESK)}`);
    assert.deepEqual(m.template, { font: "Georgia", size_pt: 14 });
  });

  it("marks owners without a default mailbox, and the mark goes when one is set", async () => {
    const { page } = owner;
    const panel = await openTab(page, "Owners");
    // bob directly; ann and cy through Front office: none has a default yet.
    assert.equal(await page.getByTestId("no-default-count").innerText(), "⚠ 3 owners have no default mailbox");
    const defaults = panel.getByRole("region", { name: `Default mailboxes of the owners of ${DESK}` });
    const bob = defaults.locator('li[data-owner="bob@example.com"]');
    assert.equal(await bob.getByTestId("no-default").innerText(), "⚠ no default mailbox");
    assert.equal(await defaults.getByTestId("no-default").count(), 3);
    await bob.getByLabel("Default for bob@example.com").selectOption(DESK);
    await bob.getByRole("button", { name: "Set default for bob@example.com" }).click();
    await bob.getByTestId("default-mailbox").waitFor();
    assert.equal(await bob.getByTestId("no-default").count(), 0);
    assert.equal(await page.getByTestId("no-default-count").innerText(), "⚠ 2 owners have no default mailbox");
    assert.deepEqual(await seriousViolations(page), []);

    const again = await openTab(page, "Owners");
    const row = again.locator('li[data-owner="bob@example.com"]');
    assert.equal(await row.getByTestId("default-mailbox").innerText(), `default ${DESK}`);
    const owners = await api(server, server.token, "GET", "/api/domains/example.com/shared-owners?without_default=true");
    assert.deepEqual(owners.items.map((o) => o.address), ["ann@example.com", "cy@example.com"]);
  });

  it("shows the DNS findings of the mailbox's domain on the Security tab", async () => {
    const { page, problems } = owner;
    const panel = await openTab(page, "Security", { reload: false });
    const region = panel.getByRole("region", { name: "Security of example.com" });
    await region.getByTestId("dns-verdict").waitFor({ timeout: DNS_WAIT });
    const status = async (check) => region.locator(`li[data-check="${check}"]`).getAttribute("data-status");
    // What knotd serves: MX and SPF published; no DKIM key, no DMARC.
    const text = await region.innerText();
    assert.ok(text.includes("MX (where mail"), text);
    assert.equal(await status("mx"), "pass", text);
    assert.equal(await status("spf"), "pass");
    assert.notEqual(await status("dmarc"), "pass");
    assert.notEqual(await status("dkim"), "pass");
    assert.match(await region.locator('li[data-check="mx"]').innerText(), /passes/);
    assert.match(await region.locator('li[data-check="dmarc"]').innerText(), /fails|not published|warning/);
    assert.match(await region.getByTestId("dns-verdict").innerText(), /^Not passing: .*DKIM.*DMARC|^Not passing: .*DMARC/);
    assert.deepEqual(await seriousViolations(page), []);
    await page.screenshot({ path: screenshotPath("shared-security"), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
