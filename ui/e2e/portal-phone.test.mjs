// End-to-end: phone binding in the user portal (#/portal) against a real `postdesk serve`
// with the SMS gateway in log mode. A user whose administrator requires a phone sees only the
// phone screen; a bad number and a wrong code are refused at their fields; the code read from
// the log sender through the admin API binds the number and opens the portal; removing it is
// refused where the administrator does not allow it (no button, and the route says no), and
// works where allowed. The admin reads the log and sets the gateway on the Mail service page.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PW = "Correct horse 1";
let server;
let browser;
const call = (method, path, body) => api(server, server.token, method, path, body);

async function signIn(page, address) {
  await page.goto(`${server.url}/#/portal`);
  await page.getByLabel("Email address").fill(address);
  await page.getByLabel("Password", { exact: true }).fill(PW);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The code of the newest message the log sender kept for `to`, read as the admin. */
async function codeFor(to) {
  const log = await call("GET", "/api/sms/log?limit=5");
  const message = log.items.find((m) => m.to === to);
  assert.ok(message, JSON.stringify(log));
  return message.text.match(/\b(\d{6})\b/)[1];
}

/** Enters the number, asks for a code and enters the code from the log. */
async function bind(page, number, e164) {
  const phone = page.getByTestId("portal-phone");
  await phone.getByLabel("Mobile number").fill(number);
  await phone.getByRole("button", { name: "Send code" }).click();
  await phone.getByRole("status").filter({ hasText: "A code was sent to" }).waitFor();
  await phone.getByLabel(/^Code sent to/).fill(await codeFor(e164));
  await phone.getByRole("button", { name: "Confirm code" }).click();
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  await call("POST", "/api/domains", { domain: "example.com" });
  for (const address of ["carl@example.com", "erin@example.com"]) {
    await call("POST", "/api/accounts", { address });
    await call("PUT", `/api/accounts/${address}/password`, { password: PW });
  }
  await call("PUT", "/api/domains/example.com/settings", {
    target: { kind: "accounts", addresses: ["carl@example.com"] },
    set: { require_phone: true },
  });
  await call("PUT", "/api/domains/example.com/settings", {
    target: { kind: "accounts", addresses: ["erin@example.com"] },
    set: { allow_phone_unbinding: true },
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("phone binding in the user portal", { concurrency: false }, () => {
  it("binds a required phone with the code from the log sender; unbinding refused where not allowed", async () => {
    const { context, page, problems } = await newPage(browser);
    await signIn(page, "carl@example.com");
    await page.getByRole("heading", { name: "Bind your mobile phone" }).waitFor();
    assert.equal(await page.getByTestId("portal-address").count(), 0, "nothing else before the phone is bound");
    const phone = page.getByTestId("portal-phone");
    // A bad number is refused at its field, and nothing is sent.
    await phone.getByLabel("Mobile number").fill("079 123 45 67");
    await phone.getByRole("button", { name: "Send code" }).click();
    await phone.locator("[data-field=phone] .field-error").waitFor();
    assert.match(await phone.locator("[data-field=phone] .field-error").innerText(), /international form/);
    assert.deepEqual((await call("GET", "/api/sms/log")).items, []);

    await phone.getByLabel("Mobile number").fill("+41 79 123 45 67");
    await phone.getByRole("button", { name: "Send code" }).click();
    await phone.getByRole("status").filter({ hasText: "A code was sent to +********567" }).waitFor();
    const code = await codeFor("+41791234567");
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    await phone.getByLabel(/^Code sent to/).fill(wrong);
    await phone.getByRole("button", { name: "Confirm code" }).click();
    await phone.locator("[data-field=code] .field-error").filter({ hasText: "wrong code; 4 tries left" }).waitFor();
    await page.screenshot({ path: screenshotPath("portal-phone-required"), fullPage: true });
    await page.evaluate(AXE);
    const serious = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
    });
    assert.deepEqual(serious, [], "no serious axe violation on the phone screen");

    await phone.getByLabel(/^Code sent to/).fill(code);
    await phone.getByRole("button", { name: "Confirm code" }).click();
    // Bound: the portal opens, its phone section shows the masked number and no remove button.
    await page.getByTestId("portal-address").waitFor();
    const section = page.getByTestId("portal-phone");
    await section.getByTestId("portal-phone-state").filter({ hasText: "Bound phone: +********567" }).waitFor();
    assert.equal(await section.getByRole("button", { name: "Remove phone" }).count(), 0);
    assert.match(await section.innerText(), /ask your administrator/);
    // The route refuses too: the administrator does not allow it.
    const refused = await page.evaluate(async () => {
      const s = await (await fetch("/api/portal/session")).json();
      const res = await fetch("/api/portal/phone", { method: "DELETE", headers: { "x-postdesk-csrf": s.csrf_token } });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(refused.status, 403, JSON.stringify(refused));
    assert.equal(refused.body.code, "permission_denied");
    assert.match(refused.body.message, /does not allow removing the phone/);
    const seen = await call("GET", "/api/accounts/carl@example.com/phone");
    assert.equal(seen.phone, "+********567");
    // A reload keeps it bound: the server's state, not the page's.
    await page.reload();
    await page.getByTestId("portal-phone-state").filter({ hasText: "Bound phone: +********567" }).waitFor();
    assert.deepEqual(problems.filter((p) => !/403|400/.test(p)), []);
    await context.close();
  });

  it("binds and removes a phone where the administrator allows it", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "erin@example.com");
    await page.getByTestId("portal-address").waitFor();
    const section = page.getByTestId("portal-phone");
    await section.getByTestId("portal-phone-state").filter({ hasText: "No phone is bound." }).waitFor();
    await bind(page, "+49 151 1234 5678", "+4915112345678");
    await section.getByRole("status").filter({ hasText: "Your phone +**********678 is bound." }).waitFor();
    await section.getByRole("button", { name: "Remove phone" }).click();
    await section.getByRole("status").filter({ hasText: "Your phone is removed." }).waitFor();
    await section.getByTestId("portal-phone-state").filter({ hasText: "No phone is bound." }).waitFor();
    assert.equal((await call("GET", "/api/accounts/erin@example.com/phone")).phone, null);
    await context.close();
  });

  it("shows the admin the SMS log and refuses a plain-http gateway URL at its field", async () => {
    const { context, page } = await newPage(browser);
    await login(page, server.url, server.token);
    await openPage(page, "Mail service");
    const panel = page.getByRole("region", { name: "SMS gateway" });
    const log = panel.getByRole("table", { name: "SMS log" });
    await log.waitFor();
    assert.match(await log.innerText(), /\+4915112345678/);
    assert.match(await log.innerText(), /carl@example\.com/);
    await panel.getByLabel("Send codes").selectOption("http");
    await panel.getByLabel("Gateway URL").fill("http://sms.example/send");
    await panel.getByRole("button", { name: "Save gateway" }).click();
    await panel.locator("[data-field=url] .field-error").filter({ hasText: "https://" }).waitFor();
    assert.equal((await call("GET", "/api/sms/gateway")).mode, "log", "nothing saved");
    await panel.getByLabel("Gateway URL").fill("https://sms.example/send");
    await panel.getByLabel("Bearer token").fill("tok-e2e");
    await panel.getByRole("button", { name: "Save gateway" }).click();
    await panel.getByTestId("sms-gateway-state").filter({ hasText: "HTTP gateway https://sms.example/send (token set)" }).waitFor();
    assert.deepEqual(await call("GET", "/api/sms/gateway"), { mode: "http", url: "https://sms.example/send", token_set: true });
    await context.close();
  });
});
