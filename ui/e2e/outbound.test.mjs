// End-to-end: the Outbound queue page against a real `postdesk serve` WITH its SMTP service.
// ann sends (swaks, AUTH over implicit TLS) to a domain whose route in the transport table
// points at a closed port: the page shows the recipient deferred with the connection error.
// A route set in the page's form to Postfix's smtp-sink and "Retry now" deliver it; a second
// message is bounced from the page (its bounce report is then queued for nobody: ann is
// local, so it lands in her INBOX, read over IMAPS) and deleted.
// Needs swaks and postfix's smtp-sink (apt-get install -y swaks postfix).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

const PW = "Correct horse 1";

let server;
let browser;
let owner;
let sink; // { port, dir, child }

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Postfix's smtp-sink on a free loopback port, dumping each transaction into a folder. */
async function startSink() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "postdesk-sink-"));
  chmodSync(dir, 0o777); // smtp-sink drops root for nobody, who writes the dumps
  const child = spawn("smtp-sink", ["-u", "nobody", "-d", join(dir, "m%s."), `127.0.0.1:${port}`, "16"], { stdio: "ignore" });
  child.once("error", (e) => {
    throw new Error(`cannot run smtp-sink (apt-get install -y postfix): ${e.message}`);
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise((ok) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        ok(true);
      });
      s.once("error", () => ok(false));
    });
    if (up) return { port, dir, child };
    if (Date.now() > deadline) throw new Error(`smtp-sink did not start on ${port}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** ann sends one message through the submission service (AUTH PLAIN, implicit TLS). */
function send(to, subject) {
  const r = spawnSync(
    "swaks",
    [
      "--server", "127.0.0.1", "--port", String(server.smtp.submissions), "--tls-on-connect",
      "--auth", "PLAIN", "--auth-user", "ann@example.com", "--auth-password", PW,
      "--from", "ann@example.com", "--to", to, "--header", `Subject: ${subject}`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.error) throw new Error(`cannot run swaks (apt-get install -y swaks): ${r.error.message}`);
  const text = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, text);
  assert.match(text, /<~? {1,2}250 /);
}

before(async () => {
  server = await startServer({ smtp: true });
  sink = await startSink();
  browser = await launchBrowser();
  owner = await newPage(browser);
  const call = (method, path, body) => api(server, server.token, method, path, body);
  await call("POST", "/api/domains", { domain: "example.com" });
  await call("POST", "/api/accounts", { address: "ann@example.com", password: PW });
  // Nothing listens on this port: a delivery attempt is refused at connect.
  const closed = await freePort();
  await call("PUT", "/api/outbound/transports", { domain: "far.test", host: "127.0.0.1", port: closed });
  await call("PUT", "/api/outbound/transports", { domain: "gone.test", host: "127.0.0.1", port: closed });
});

after(async () => {
  await browser?.close();
  sink?.child.kill();
  if (sink) rmSync(sink.dir, { recursive: true, force: true });
  await server?.stop();
});

/** Clicks Refresh until the queue table has a row matching `selector` (the worker runs on its own). */
async function refreshUntil(page, selector, what) {
  const table = page.getByRole("table", { name: "Outbound queue" });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if ((await table.locator(selector).count()) > 0) return table.locator(selector).first();
    if (Date.now() > deadline) throw new Error(`no ${what} in the outbound queue:\n${await page.locator("main").innerText()}`);
    await page.getByRole("button", { name: "Refresh" }).click();
    await new Promise((ok) => setTimeout(ok, 300));
  }
}

describe("outbound queue page", { concurrency: false }, () => {
  it("shows a deferred recipient with the remote error, then delivers it after a route change and Retry now", async () => {
    const { page, problems } = owner;
    send("carl@far.test", "to far");
    await login(page, server.url, server.token);
    await openPage(page, "Outbound queue");

    const row = await refreshUntil(page, 'tr[data-status="deferred"]', "deferred recipient");
    const text = await row.innerText();
    assert.match(text, /ann@example\.com/);
    assert.match(text, /carl@far\.test/);
    assert.match(text, /Deferred \(will retry\)/);
    assert.match(text, /refused|connect/i, "the last reply names the connection failure");
    assert.match(await page.getByTestId("queue-summary").innerText(), /0 queued, 1 deferred, 0 delivered, 0 bounced/);

    // The route, changed in the page, now points at the sink.
    const routeForm = page.locator("form", { has: page.getByRole("button", { name: "Set route" }) });
    await routeForm.getByLabel("Domain", { exact: true }).fill("far.test");
    await routeForm.getByLabel("Host", { exact: true }).fill("127.0.0.1");
    await routeForm.getByLabel("Port", { exact: true }).fill(String(sink.port));
    await routeForm.getByRole("button", { name: "Set route" }).click();
    const routes = page.getByRole("table", { name: "Transport table" });
    await routes.locator("tr", { hasText: String(sink.port) }).waitFor();
    assert.match(await routes.locator("tr", { hasText: "far.test" }).innerText(), new RegExp(`far\\.test\\s+127\\.0\\.0\\.1\\s+${sink.port}`));

    await row.getByRole("button", { name: "Retry now" }).click();
    const done = await refreshUntil(page, 'tr[data-status="delivered"]', "delivered recipient");
    assert.match(await done.innerText(), /carl@far\.test/);
    assert.match(await done.innerText(), /^.*250/m, "the remote's 250 is the last reply");

    // The sink got the message, with its subject, for carl.
    const dumps = readdirSync(sink.dir).map((f) => readFileSync(join(sink.dir, f), "utf8"));
    assert.equal(dumps.length, 1, "one transaction reached the sink");
    assert.match(dumps[0], /carl@far\.test/);
    assert.match(dumps[0], /Subject: to far/);
    await page.screenshot({ path: screenshotPath("outbound-delivered"), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it("bounces a waiting message from the page (a report goes to the sender) and deletes it", async () => {
    const { page, problems } = owner;
    send("dora@gone.test", "to gone");
    await page.getByLabel("Recipient domain").fill("gone.test");
    const row = await refreshUntil(page, 'tr[data-status="deferred"]', "deferred recipient of gone.test");
    assert.match(await row.innerText(), /dora@gone\.test/);
    assert.equal(await page.getByRole("table", { name: "Outbound queue" }).locator("tbody tr").count(), 1, "the filter shows gone.test only");

    await row.getByRole("button", { name: "Bounce" }).click();
    const bounced = await refreshUntil(page, 'tr[data-status="bounced"]', "bounced recipient");
    assert.match(await bounced.innerText(), /dora@gone\.test/);
    // A bounced message waits for nobody: no retry or bounce any more, only delete.
    assert.equal(await bounced.getByRole("button", { name: "Retry now" }).count(), 0);

    // The bounce report reached ann's INBOX (she is local), read with Python's imaplib.
    assert.ok(server.readers.imaps > 0, "serve printed its IMAPS listener");
    const dsn = spawnSync("python3", ["-c", IMAP_SUBJECTS, String(server.readers.imaps)], { encoding: "utf8" });
    assert.equal(dsn.status, 0, dsn.stderr);
    assert.match(dsn.stdout, /Subject: .*(Undelivered|failure|not delivered)/i);

    await bounced.getByRole("button", { name: "Delete" }).click();
    await page.getByText("The outbound queue is empty.").waitFor();
    await page.getByLabel("Recipient domain").fill("");
    const all = page.getByRole("table", { name: "Outbound queue" }).locator("tbody tr");
    await all.first().waitFor();
    assert.equal(await all.count(), 1, "only far.test's delivered message is left");
    assert.match(await all.first().innerText(), /carl@far\.test/);
    assert.deepEqual(problems, []);
  });
});

// Lists the subjects in ann's INBOX over IMAPS (certificate not checked: serve's own).
const IMAP_SUBJECTS = `
import imaplib, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
m.login("ann@example.com", "${PW}")
m.select("INBOX")
typ, data = m.search(None, "ALL")
for n in data[0].split():
    typ, d = m.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    print(d[0][1].decode().strip())
`;
