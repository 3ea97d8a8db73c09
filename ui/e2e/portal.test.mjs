// End-to-end: the user self-service portal (#/portal of the same web UI) against a real
// `postdesk serve` with its mail services. A mailbox user whose administrator asked for a new
// password is refused by IMAP with a text naming the portal's address, signs in there with
// address and password, must set a new password first (wrong current password, a weak new
// one refused at their fields), then sees the mailbox's storage and the client settings of
// the services that run, with their real ports, and IMAP takes the new password. An unknown
// address and a wrong password get one answer; a disabled account is told so; a user changes
// the password again and signs out; the portal's session is a cookie of its own that the admin
// API does not take, and the admin's token opens no portal route. A user whose administrator
// requires security questions sets them first (a repeated question refused at its field), signs
// out, recovers the forgotten password through "Forgot your password?" with the answers typed in
// another case and spacing (wrong ones refused with one answer), and signs in with the new one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PW = "Correct horse 1";
const NEW_PW = "Battery staple 2";
let server;
let browser;

/** One IMAP LOGIN over implicit TLS on loopback; the tagged answer line. */
function imapLogin(port, user, password) {
  return new Promise((ok, fail) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    let buffer = "";
    let sent = false;
    const timer = setTimeout(() => (socket.destroy(), fail(new Error(`IMAP answered: ${buffer}`))), 20_000);
    socket.on("data", (d) => {
      buffer += d;
      if (!sent && buffer.includes("* OK")) {
        sent = true;
        socket.write(`a1 LOGIN "${user}" "${password}"\r\n`);
      }
      const line = buffer.split("\r\n").find((l) => l.startsWith("a1 "));
      if (line) {
        clearTimeout(timer);
        socket.end("a2 LOGOUT\r\n");
        ok(line);
      }
    });
    socket.on("error", (e) => (clearTimeout(timer), fail(e)));
  });
}

const portalUrl = () => `${server.url}/#/portal`;
const alert = (page) => page.locator(".login-card [role=alert]").first();

async function signIn(page, address, password) {
  await page.goto(portalUrl());
  await page.getByLabel("Email address").fill(address);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function changePassword(page, current, next, button) {
  await page.getByLabel("Current password").fill(current);
  await page.getByLabel("New password", { exact: true }).fill(next);
  await page.getByLabel("Repeat the new password").fill(next);
  await page.getByRole("button", { name: button }).click();
}

before(async () => {
  server = await startServer({ smtp: true });
  browser = await launchBrowser();
  const call = (method, path, body) => api(server, server.token, method, path, body);
  await call("POST", "/api/domains", { domain: "example.com" });
  for (const address of ["ann@example.com", "bob@example.com", "dora@example.com", "eve@example.com"]) {
    await call("POST", "/api/accounts", { address });
  }
  await call("PUT", "/api/accounts/ann@example.com/password", { password: PW, force_password_change: true });
  await call("PUT", "/api/accounts/bob@example.com/password", { password: PW });
  await call("PUT", "/api/accounts/dora@example.com/password", { password: PW });
  await call("PATCH", "/api/accounts/dora@example.com", { status: "disabled" });
  await call("PUT", "/api/accounts/eve@example.com/password", { password: PW });
  await call("PUT", "/api/domains/example.com/settings", {
    target: { kind: "accounts", addresses: ["eve@example.com"] },
    set: { require_security_questions: true },
  });
  // bob owns a shared mailbox with a template, his default sender.
  await call("POST", "/api/domains/example.com/shared-mailboxes", {
    domain: "example.com",
    address: "desk@example.com",
    name: "Desk",
    host: "imap.example.net",
    username: "desk",
  });
  await call("PUT", "/api/shared-mailboxes/desk@example.com/owners", { users: ["bob@example.com"], groups: [] });
  await call("PUT", "/api/shared-mailboxes/desk@example.com/template", { font: "Verdana", size_pt: 11 });
  await call("PUT", "/api/accounts/bob@example.com/default-shared-mailbox", { mailbox: "desk@example.com" });
  // bob may not use POP3: the portal says so beside the POP3 rows.
  await call("PUT", "/api/domains/example.com/settings", {
    target: { kind: "accounts", addresses: ["bob@example.com"] },
    set: { pop3: false },
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("user portal", { concurrency: false }, () => {
  it("sends a user who must change the password from IMAP to the portal, where the change comes first", async () => {
    const before = await imapLogin(server.readers.imaps, "ann@example.com", PW);
    assert.match(before, /^a1 NO \[ALERT\] You must change your password/);
    assert.ok(before.includes(`sign in to the Postdesk user portal at ${portalUrl()}`), before);

    const { context, page, problems } = await newPage(browser);
    await signIn(page, "ann@example.com", PW);
    await page.getByRole("heading", { name: "Set a new password" }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === "postdesk_portal");
    assert.ok(cookie?.httpOnly && cookie.sameSite === "Strict", JSON.stringify(await context.cookies()));
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the session");
    // Refusals at their fields; nothing changes.
    await changePassword(page, "not my password", NEW_PW, "Set new password");
    await page.locator("[data-field=current_password] .field-error").waitFor();
    assert.match(await page.locator("[data-field=current_password] .field-error").innerText(), /current password is wrong/);
    await changePassword(page, PW, "short", "Set new password");
    await page.locator("[data-field=new_password] .field-error").waitFor();
    assert.match(await page.locator("[data-field=new_password] .field-error").innerText(), /too short/);
    // A reload keeps the demand: it is the server's, not the page's.
    await page.reload();
    await page.getByRole("heading", { name: "Set a new password" }).waitFor();
    assert.match((await imapLogin(server.readers.imaps, "ann@example.com", PW)), /^a1 NO/);

    await changePassword(page, PW, NEW_PW, "Set new password");
    await page.getByTestId("portal-address").waitFor();
    assert.equal(await page.getByTestId("portal-address").innerText(), "ann@example.com");
    assert.match(await imapLogin(server.readers.imaps, "ann@example.com", NEW_PW), /^a1 OK/);
    assert.match(await imapLogin(server.readers.imaps, "ann@example.com", PW), /^a1 NO \[AUTHENTICATIONFAILED\]/);
    await page.screenshot({ path: screenshotPath("portal-home"), fullPage: true });
    await page.evaluate(AXE);
    const serious = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
    });
    assert.deepEqual(serious, [], "no serious axe violation on the portal");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows the user's storage and the client settings of the services that run, with their ports", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob@example.com", PW);
    await page.getByTestId("portal-address").waitFor();
    await page.getByTestId("portal-usage").waitFor();
    assert.match(await page.getByTestId("portal-usage").innerText(), /0 messages, 0 B used of [\d,.]+ MiB/);
    const table = page.getByRole("table", { name: "Mail app settings" });
    const rows = await table.locator("tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())),
    );
    const ports = (protocol) => rows.filter((r) => r[0] === protocol).map((r) => Number(r[2])).sort();
    assert.deepEqual(ports("IMAP"), [server.readers.imap, server.readers.imaps].sort());
    assert.deepEqual(ports("POP3"), [server.readers.pop3, server.readers.pop3s].sort());
    assert.deepEqual(ports("SMTP"), [server.smtp.submission, server.smtp.submissions].sort());
    assert.ok(rows.every((r) => r[0] !== "SMTP" || Number(r[2]) !== server.smtp.mx), "the MX port is no client setting");
    for (const r of rows.filter((r) => r[0] === "POP3")) assert.match(r[4], /^Off: POP3 is switched off/);
    for (const r of rows.filter((r) => r[0] !== "POP3")) assert.equal(r[4], "On");
    // The shared mailbox he owns: his default sender and its template.
    assert.equal(
      await page.getByTestId("portal-shared").locator('li[data-shared="desk@example.com"]').innerText(),
      "desk@example.com (Desk) — your default sender; template: Verdana, 11 pt",
    );
    await page.evaluate(AXE);
    const serious = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
    });
    assert.deepEqual(serious, [], "no serious axe violation with the shared mailboxes");
    await context.close();
  });

  it("sets the user's own automatic reply: a bad period refused at its field, a good one stored", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob@example.com", PW);
    const form = page.getByRole("form", { name: "Automatic reply" });
    await form.waitFor();
    assert.match(await page.getByTestId("portal-auto-reply-state").innerText(), /^Off/);
    await form.getByLabel("Answer mail automatically").check();
    await form.getByLabel("From (UTC)").fill("2030-01-10T08:00");
    await form.getByLabel("Until (UTC)").fill("2030-01-01T08:00");
    await form.getByLabel("Subject").fill("Away");
    await form.getByLabel("Text").fill("Back on Monday.");
    await form.getByRole("button", { name: "Save automatic reply" }).click();
    await form.locator("[data-field=ends_at] .field-error").waitFor();
    const stored = async () => {
      const r = await page.evaluate(async () => {
        const s = await (await fetch("/api/portal/session")).json();
        const res = await fetch("/api/portal/auto-reply", { headers: { "x-postdesk-csrf": s.csrf_token } });
        return res.json();
      });
      return r;
    };
    assert.equal((await stored()).enabled, false, "nothing stored");
    await form.getByLabel("Until (UTC)").fill("2030-01-20T08:00");
    await form.getByRole("button", { name: "Save automatic reply" }).click();
    await page.getByTestId("portal-auto-reply-state").filter({ hasText: /^On from 2030-01-10 08:00 UTC until 2030-01-20 08:00 UTC/ }).waitFor();
    const r = await stored();
    assert.deepEqual([r.enabled, r.starts_at, r.ends_at, r.subject, r.text], [true, "2030-01-10T08:00:00Z", "2030-01-20T08:00:00Z", "Away", "Back on Monday."]);
    await page.reload();
    await form.waitFor();
    assert.equal(await form.getByLabel("Subject").inputValue(), "Away");
    assert.equal(await form.getByLabel("Until (UTC)").inputValue(), "2030-01-20T08:00");
    await context.close();
  });

  it("sets the user's own forwarding, and refuses it where the administrator switched auto-forward off", async () => {
    const call = (method, path, body) => api(server, server.token, method, path, body);
    await call("POST", "/api/accounts", { address: "fay@example.com" });
    await call("PUT", "/api/accounts/fay@example.com/password", { password: PW });
    const { context, page, problems } = await newPage(browser);
    await signIn(page, "fay@example.com", PW);
    const form = page.getByRole("form", { name: "Forwarding" });
    await form.waitFor();
    const state = page.getByTestId("portal-forwarding-state");
    assert.match(await state.innerText(), /^Mail is not forwarded/);
    // An address of ours where nothing receives: refused at the field, nothing stored.
    await form.getByLabel("Forward to").fill("nobody@example.com");
    await form.getByRole("button", { name: "Save forwarding" }).click();
    await form.locator("[data-field=targets] .field-error").waitFor();
    assert.match(await form.locator("[data-field=targets] .field-error").innerText(), /nothing receives mail at nobody@example.com/);
    await form.getByLabel("Forward to").fill("bob@example.com\nFar@Remote.test");
    await form.getByLabel("Keep a copy in this mailbox").uncheck();
    await form.getByRole("button", { name: "Save forwarding" }).click();
    await state.filter({ hasText: "Forwarding saved." }).waitFor();
    assert.match(await state.innerText(), /forwarded to bob@example.com, far@remote.test; no copy stays here/);
    const stored = () =>
      page.evaluate(async () => {
        const s = await (await fetch("/api/portal/session")).json();
        return (await fetch("/api/portal/forwarding", { headers: { "x-postdesk-csrf": s.csrf_token } })).json();
      });
    assert.deepEqual(await stored(), { targets: ["bob@example.com", "far@remote.test"], keep_copy: false, allowed: true });

    // The admin sees it in the account's dialog and can end it; the user sees it ended.
    const admin = await newPage(browser);
    await login(admin.page, server.url, server.token);
    await openPage(admin.page, "Accounts");
    await admin.page.locator('[role="row"][data-address="fay@example.com"]').click();
    const panel = admin.page.locator("dialog[open]").last().getByRole("region", { name: "Forwarding" });
    await panel.getByTestId("account-forwarding").filter({ hasText: "far@remote.test" }).waitFor();
    await panel.getByRole("button", { name: "End forwarding" }).click();
    await panel.getByTestId("account-forwarding").filter({ hasText: "Mail is not forwarded." }).waitFor();
    await admin.context.close();
    await page.reload();
    await state.filter({ hasText: "Mail is not forwarded." }).waitFor();
    await form.getByLabel("Forward to").fill("bob@example.com\nfar@remote.test");
    await form.getByRole("button", { name: "Save forwarding" }).click();
    await state.filter({ hasText: "Forwarding saved." }).waitFor();

    // The administrator switches auto-forward off for fay: the page says so, offers no
    // saving, and the server refuses a new forwarding; stopping it still works.
    await call("PUT", "/api/domains/example.com/settings", {
      target: { kind: "accounts", addresses: ["fay@example.com"] },
      set: { auto_forward: false },
    });
    await page.reload();
    await page.getByTestId("portal-forwarding-refused").waitFor();
    assert.match(await state.innerText(), /set but not used/);
    assert.equal(await form.getByRole("button", { name: "Save forwarding" }).count(), 0);
    assert.equal(await form.getByLabel("Forward to").getAttribute("readonly"), "");
    const refused = await page.evaluate(async () => {
      const s = await (await fetch("/api/portal/session")).json();
      const r = await fetch("/api/portal/forwarding", {
        method: "PUT",
        headers: { "x-postdesk-csrf": s.csrf_token, "content-type": "application/json" },
        body: JSON.stringify({ targets: ["far@remote.test"], keep_copy: true }),
      });
      return [r.status, (await r.json()).message];
    });
    assert.equal(refused[0], 403);
    assert.match(refused[1], /does not allow this mailbox to forward/);
    await form.getByRole("button", { name: "Stop forwarding" }).click();
    await state.filter({ hasText: "Forwarding stopped." }).waitFor();
    assert.deepEqual(await stored(), { targets: [], keep_copy: true, allowed: false });
    const audit = await call("GET", "/api/audit?limit=50");
    const set = audit.items.filter((e) => e.actor === "portal" && e.action === "portal_set_forwarding");
    assert.equal(set.length, 3, JSON.stringify(set));
    assert.ok(audit.items.some((e) => e.action === "clear_account_forwarding" && e.target === "fay@example.com"));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("gives one answer for an unknown address and a wrong password, and tells a disabled account", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob@example.com", "Wrong horse 9");
    await alert(page).waitFor();
    const wrong = await alert(page).innerText();
    await signIn(page, "nobody@example.com", PW);
    await alert(page).waitFor();
    assert.equal(await alert(page).innerText(), wrong);
    assert.match(wrong, /wrong address or password/);
    await signIn(page, "dora@example.com", PW);
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /disabled/);
    // Every try is in the login log as a portal login, and in the audit.
    const log = await api(server, server.token, "GET", "/api/logins?limit=10");
    const portal = log.items.filter((r) => r.service === "portal").map((r) => `${r.login} ${r.reason}`);
    for (const want of ["bob@example.com wrong_password", "nobody@example.com unknown_address", "dora@example.com disabled"]) {
      assert.ok(portal.includes(want), `${want} in ${portal.join("; ")}`);
    }
    const audit = await api(server, server.token, "GET", "/api/audit?limit=50");
    const actions = audit.items.filter((e) => e.actor === "portal").map((e) => `${e.action} ${e.target}`);
    assert.ok(actions.includes("portal_sign_in_failed nobody@example.com"), actions.join("; "));
    assert.ok(actions.includes("portal_sign_in_refused dora@example.com"), actions.join("; "));
    await context.close();
  });

  it("changes the user's own password (the current one required) and signs out", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob@example.com", PW);
    await page.getByTestId("portal-address").waitFor();
    await changePassword(page, "Wrong horse 9", NEW_PW, "Change password");
    await page.locator("[data-field=current_password] .field-error").waitFor();
    await changePassword(page, PW, NEW_PW, "Change password");
    await page.getByText("Your password is changed").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email address").waitFor();
    await signIn(page, "bob@example.com", PW);
    await alert(page).waitFor();
    await signIn(page, "bob@example.com", NEW_PW);
    await page.getByTestId("portal-address").waitFor();
    await context.close();
  });

  it("keeps the portal's session and the admin API apart", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, "bob@example.com", NEW_PW);
    await page.getByTestId("portal-address").waitFor();
    // Signed in to the portal, the admin API answers "not signed in", with or without the
    // portal's anti-CSRF token.
    const asAdmin = await page.evaluate(async () => {
      const s = await (await fetch("/api/portal/session")).json();
      const bare = await fetch("/api/whoami");
      const withToken = await fetch("/api/whoami", { headers: { "X-Postdesk-CSRF": s.csrf_token } });
      const own = await fetch("/api/portal/account", { headers: { "X-Postdesk-CSRF": s.csrf_token } });
      const noCsrf = await fetch("/api/portal/account");
      return [bare.status, withToken.status, own.status, noCsrf.status];
    });
    assert.deepEqual(asAdmin, [401, 401, 200, 403]);
    // The admin's token opens no portal route.
    const r = await fetch(`${server.url}/api/portal/account`, { headers: { Authorization: `Bearer ${server.token}` } });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /does not take API tokens/);
    await context.close();
  });

  it("sets the required security questions first, then recovers a forgotten password with them", async () => {
    const { context, page, problems } = await newPage(browser);
    const questions = ["What was the name of your first pet?", "Which street did you grow up on?", "Who was your best friend at school?"];
    const answers = ["Rex the Dog", "Elm Street", "Alice"];
    await signIn(page, "eve@example.com", PW);
    await page.getByRole("heading", { name: "Set your security questions" }).waitFor();
    const form = page.getByRole("form", { name: "Security questions" });
    const fill = async (qs) => {
      for (const [i, q] of qs.entries()) {
        await form.getByLabel(`Question ${i + 1}`, { exact: true }).fill(q);
        await form.getByLabel(`Answer ${i + 1}`, { exact: true }).fill(answers[i]);
      }
      await form.getByLabel("Your password").fill(PW);
      await form.getByRole("button", { name: "Save security questions" }).click();
    };
    // A question asked twice is refused at its field; nothing else opens meanwhile.
    await fill([questions[0], questions[1], "what was the NAME of your first pet?"]);
    await form.locator("[data-field=question_3] .field-error").waitFor();
    assert.match(await form.locator("[data-field=question_3] .field-error").innerText(), /same as question 1/);
    await fill(questions);
    await page.getByTestId("portal-address").waitFor();
    await page.getByTestId("portal-questions-state").filter({ hasText: /are set/ }).waitFor();
    const shown = await page.evaluate(async () => {
      const s = await (await fetch("/api/portal/session")).json();
      const r = await fetch("/api/portal/security-questions", { headers: { "x-postdesk-csrf": s.csrf_token } });
      return r.text();
    });
    assert.ok(JSON.parse(shown).questions.length === 3 && !/rex|elm|alice/i.test(shown), shown);
    await page.getByRole("button", { name: "Sign out" }).click();

    // Forgot the password: address, then the questions with a new password.
    await page.getByRole("button", { name: "Forgot your password?" }).click();
    const recovery = page.getByRole("form", { name: "Recover your password" });
    await recovery.getByLabel("Email address").fill("EVE@example.com");
    await recovery.getByRole("button", { name: "Continue" }).click();
    await recovery.getByLabel(questions[0]).waitFor();
    await page.evaluate(AXE);
    const serious = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
    });
    assert.deepEqual(serious, [], "no serious axe violation on the recovery form");
    const answer = async (given, password) => {
      for (const [i, q] of questions.entries()) await recovery.getByLabel(q).fill(given[i]);
      await recovery.getByLabel("New password", { exact: true }).fill(password);
      await recovery.getByLabel("Repeat the new password").fill(password);
      await recovery.getByRole("button", { name: "Set new password" }).click();
    };
    await answer(["rex the dog", "elm street", "Bob"], NEW_PW);
    await recovery.locator(".form-error").waitFor();
    assert.match(await recovery.locator(".form-error").innerText(), /do not match/);
    await answer(["  REX  the dog", "elm   STREET ", "alice"], NEW_PW);
    await page.getByTestId("portal-notice").waitFor();
    assert.match(await page.getByTestId("portal-notice").innerText(), /new password is set/);
    await page.screenshot({ path: screenshotPath("portal-recovered"), fullPage: true });

    await signIn(page, "eve@example.com", PW);
    await alert(page).waitFor();
    assert.match(await alert(page).innerText(), /wrong address or password/);
    await signIn(page, "eve@example.com", NEW_PW);
    await page.getByTestId("portal-address").waitFor();
    assert.equal(await page.getByTestId("portal-address").innerText(), "eve@example.com");
    const audit = await api(server, server.token, "GET", "/api/audit?limit=50");
    const actions = audit.items.filter((e) => e.actor === "portal").map((e) => `${e.action} ${e.target}`);
    for (const want of ["portal_set_security_questions eve@example.com", "portal_recovery_failed eve@example.com", "portal_password_recovered eve@example.com"]) {
      assert.ok(actions.includes(want), `${want} in ${actions.join("; ")}`);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
});
