// End-to-end: the DNS wizard against a real `postdesk serve` asking a real DNS server: knotd
// (knot.mjs) serves example.com (MX, SPF, DMARC published; DKIM and the mail CNAME not yet),
// other.org (nothing) and example.net (the mail host). The test checks the exact status and
// finding of each record, publishes the generated DKIM key and the CNAME the wizard asks for,
// and sees every check pass. Needs knotd (apt-get install -y knot).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";
import { startKnot } from "./knot.mjs";

const DNS_WAIT = 30_000;
const CHECKS = ["mx", "spf", "dkim", "dmarc", "cname"];
const EXAMPLE_COM = [
  "@ MX 10 mail.example.net.",
  '@ TXT "v=spf1 ip4:192.0.2.10 -all"',
  '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"',
];

let knot;
let server;
let browser;
let owner; // { context, page, problems }
let dkimSelector;

before(async () => {
  knot = await startKnot({
    "example.com": EXAMPLE_COM,
    "other.org": ['@ TXT "publishes nothing mail-related"'],
    "example.net": ["mail A 192.0.2.10"],
  });
  server = await startServer({ dnsResolver: knot.address });
  browser = await launchBrowser();
  owner = await newPage(browser);
  for (const domain of ["example.com", "other.org"]) {
    await api(server, server.token, "POST", "/api/domains", { domain });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await knot?.stop();
});

/** Waits for the records table after a check; fails with the wizard's error if it shows one. */
async function waitForPlan(page) {
  const form = page.getByRole("form", { name: "Mail server" });
  await page.locator('table[aria-label="DNS records"]:not([aria-busy="true"]), form[aria-label="Mail server"] .form-error').first().waitFor({ timeout: DNS_WAIT });
  await form.getByRole("button", { name: "Check again" }).waitFor({ timeout: DNS_WAIT });
  const error = form.locator(".form-error");
  if ((await error.count()) > 0) throw new Error(`the wizard shows an error: ${await error.innerText()}`);
  await page.locator('table[aria-label="DNS records"]:not([aria-busy="true"])').waitFor({ timeout: DNS_WAIT });
}

/** Each check's status and finding codes in the records table: { mx: "pass mx_ok", … }. */
async function statuses(page, checks = CHECKS) {
  const table = page.locator('table[aria-label="DNS records"]');
  const out = {};
  for (const check of checks) {
    const row = table.locator(`tr[data-check="${check}"]`).first();
    const status = await row.locator("[data-status]").getAttribute("data-status");
    const codes = await row.locator("li[data-code]").evaluateAll((els) => els.map((e) => e.dataset.code));
    out[check] = [status, ...codes].join(" ");
  }
  return out;
}

describe("DNS wizard", { concurrency: false }, () => {
  it("asks for the mail host and shows the backend's error at that field", async () => {
    const { page } = owner;
    await login(page, server.url, server.token);
    await openPage(page, "DNS");
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    const form = page.getByRole("form", { name: "Mail server" });
    // No default host: the check cannot be asked for until one is entered.
    assert.equal(await form.getByLabel("Mail host").inputValue(), "");
    assert.equal(await form.getByRole("button", { name: "Show records" }).isDisabled(), true);
    await form.getByLabel("Mail host").fill("x");
    await form.getByRole("button", { name: "Show records" }).click();
    const err = form.locator('[data-field="mail_host"] .field-error');
    await err.waitFor({ timeout: DNS_WAIT });
    assert.match(await err.innerText(), /label/i);
    assert.equal(await form.getByLabel("Mail host").getAttribute("aria-invalid"), "true");
  });

  it("shows each record's exact status, then every check passes once the DKIM key and the CNAME are published", async () => {
    const { page } = owner;
    const form = page.getByRole("form", { name: "Mail server" });
    await form.getByLabel("Mail host").fill("mail.example.net");
    await form.getByLabel("Server IP (optional)").fill("192.0.2.10");
    await form.getByRole("button", { name: "Check again" }).click();
    await waitForPlan(page);
    const table = page.locator('table[aria-label="DNS records"]');
    // What knotd serves: MX, SPF (authorising 192.0.2.10) and DMARC pass; mail.example.com
    // does not exist yet. No DKIM key on this server yet, so no DKIM record to publish.
    assert.deepEqual(await statuses(page, ["mx", "spf", "dmarc", "cname"]), {
      mx: "pass mx_ok",
      spf: "pass spf_ok spf_server_authorized",
      dmarc: "pass dmarc_ok",
      cname: "fail cname_missing",
    });
    assert.equal(await table.locator('tr[data-check="dkim"]').count(), 0);
    // The record to publish and the finding's fix line say the same thing.
    const cname = table.locator('tr[data-check="cname"]');
    assert.equal(await cname.getAttribute("data-name"), "mail.example.com");
    assert.equal(await cname.locator("code.dns-value").innerText(), "mail.example.net.");
    assert.equal(await cname.locator(".fix code").innerText(), "mail.example.com. IN CNAME mail.example.net.");
    assert.match(await table.locator('tr[data-check="spf"]').innerText(), /192\.0\.2\.10/);

    const keys = page.getByRole("region", { name: "DKIM keys" });
    await keys.getByRole("button", { name: "Generate DKIM key" }).click();
    const keyRow = keys.locator("table[aria-label='DKIM key list'] tbody tr").first();
    await keyRow.waitFor();
    dkimSelector = await keyRow.getAttribute("data-selector");
    assert.ok(dkimSelector);
    assert.match(await keyRow.innerText(), /active/);
    const recordName = `${dkimSelector}._domainkey.example.com`;
    assert.match(await keyRow.innerText(), new RegExp(recordName.replace(/\./g, "\\.")));

    // Generating a key re-runs the check: the key's record is to publish, and is missing.
    const dkimRow = table.locator(`tr[data-check="dkim"][data-name="${recordName}"]`);
    await dkimRow.waitFor({ timeout: DNS_WAIT });
    await waitForPlan(page);
    assert.equal((await statuses(page)).dkim, "fail dkim_missing");
    const dkimValue = await dkimRow.locator("code.dns-value").innerText();
    assert.match(dkimValue, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    await page.screenshot({ path: screenshotPath("dns-wizard"), fullPage: true });

    // Published as the wizard says (a long TXT value in 255-byte strings), checked again.
    const strings = dkimValue.match(/.{1,255}/g).map((part) => `"${part}"`).join(" ");
    await knot.setZone("example.com", [...EXAMPLE_COM, `${recordName}. TXT ${strings}`, "mail CNAME mail.example.net."]);
    await form.getByRole("button", { name: "Check again" }).click();
    await waitForPlan(page);
    assert.deepEqual(await statuses(page), {
      mx: "pass mx_ok",
      spf: "pass spf_ok spf_server_authorized",
      dkim: "pass dkim_ok",
      dmarc: "pass dmarc_ok",
      cname: "pass cname_ok",
    });
    // The optional records example.com does not publish are "Not set (optional)", never "Pass",
    // each with the record that would enable it.
    const optional = page.locator('table[aria-label="Optional checks"]');
    for (const check of ["mta_sts", "tls_rpt"]) {
      const row = optional.locator(`tr[data-check="${check}"]`);
      assert.equal(await row.locator("[data-status]").getAttribute("data-status"), "unset");
      assert.equal(await row.locator("[data-status]").innerText(), "Not set (optional)");
      assert.match(await row.locator(".fix code").innerText(), /^_(mta-sts|smtp\._tls)\.example\.com\. IN TXT "v=(STSv1|TLSRPTv1);/);
    }
  });

  it("rotates the DKIM key and removes the retired one", async () => {
    const { page } = owner;
    const keys = page.getByRole("region", { name: "DKIM keys" });
    await keys.getByLabel("Algorithm").selectOption("ed25519");
    await keys.getByRole("button", { name: "Generate DKIM key" }).click();
    const rows = keys.locator("table[aria-label='DKIM key list'] tbody tr");
    await page.waitForFunction(() => document.querySelectorAll("table[aria-label='DKIM key list'] tbody tr").length === 2);
    const retired = rows.filter({ hasText: "retired" });
    assert.equal(await retired.count(), 1);
    assert.match(await rows.filter({ hasText: "active" }).innerText(), /Ed25519/);
    // Only the retired key can be removed.
    assert.equal(await rows.filter({ hasText: "active" }).getByRole("button", { name: "Remove…" }).count(), 0);
    await retired.getByRole("button", { name: "Remove…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.waitForFunction(() => document.querySelectorAll("table[aria-label='DKIM key list'] tbody tr").length === 1);
    await waitForPlan(page);
    // The new key's record is not in the DNS yet: DKIM fails until it is published.
    const active = await rows.first().getAttribute("data-selector");
    assert.notEqual(active, dkimSelector);
    await page.locator(`table[aria-label="DNS records"] tr[data-check="dkim"][data-name="${active}._domainkey.example.com"]`).waitFor();
    assert.equal((await statuses(page)).dkim, "fail dkim_missing");
  });

  it("checks all domains of the backend into a status matrix", async () => {
    const { page, problems } = owner;
    const all = page.getByRole("region", { name: "All domains" });
    await all.getByRole("button", { name: "Check all domains" }).click();
    const matrix = all.locator('table[aria-label="DNS status of all domains"]');
    await matrix.waitFor();
    await all.getByRole("button", { name: "Check all domains" }).waitFor({ timeout: DNS_WAIT * 2 });
    const cells = async (domain) => {
      const row = matrix.locator(`tr[data-domain="${domain}"]`);
      const out = {};
      for (const check of ["mx", "spf", "dkim", "dmarc", "cname"]) {
        out[check] = await row.locator(`td[data-check="${check}"] [data-status]`).getAttribute("data-status");
      }
      return out;
    };
    // example.com: MX, SPF, DMARC as published; its active key (rotated) is not published;
    // the mail CNAME the wizard asked for (its remembered mail host) is published.
    assert.deepEqual(await cells("example.com"), { mx: "pass", spf: "pass", dkim: "fail", dmarc: "pass", cname: "pass" });
    // other.org publishes nothing: no MX, SPF or DMARC; no DKIM key under a common selector;
    // no mail host was ever given for it, so its CNAME was not checked — and does not say "Pass".
    assert.deepEqual(await cells("other.org"), { mx: "fail", spf: "fail", dkim: "warn", dmarc: "fail", cname: "unset" });
    const otherRow = matrix.locator('tr[data-domain="other.org"]');
    assert.equal(await otherRow.locator('td[data-check="cname"]').innerText(), "Not checked");
    // What is wrong is written under the row, readable without hovering.
    const details = matrix.locator('tr[data-details-for="other.org"]');
    assert.match(await details.locator('li[data-check="spf"]').first().innerText(), /^SPF: other\.org has no SPF record/);
    assert.equal(await details.locator('li[data-code="cname_none_expected"]').count(), 1);
    assert.equal(await matrix.locator('tr[data-details-for="example.com"] li[data-check="mx"]').count(), 0);
    await page.screenshot({ path: screenshotPath("dns-all"), fullPage: true });

    // A domain of the matrix opens its wizard; the matrix stays.
    await matrix.getByRole("button", { name: "other.org" }).click();
    const form = page.getByRole("form", { name: "Mail server" });
    await page.getByRole("heading", { name: "Mail server of other.org" }).waitFor();
    assert.equal(await form.getByLabel("Mail host").inputValue(), "");
    assert.equal(await matrix.locator("tbody tr[data-domain]").count(), 2);
    assert.deepEqual(problems, [], "console errors (CSP violations among them)");
  });

  it("remembers the mail host per domain", async () => {
    const { page } = owner;
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "DNS" }).waitFor();
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    const form = page.getByRole("form", { name: "Mail server" });
    await page.getByRole("heading", { name: "Mail server of example.com" }).waitFor();
    assert.equal(await form.getByLabel("Mail host").inputValue(), "mail.example.net");
    assert.equal(await form.getByLabel("Server IP (optional)").inputValue(), "192.0.2.10");
    // It is checked straight away.
    await waitForPlan(page);
  });
});
