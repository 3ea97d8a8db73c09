// Benchmark (not a test): the accounts page at 100,000 accounts, in headless Chromium.
//
//   npm run build && node bench/accounts.mjs [--accounts 100000]
//
// Boots a real `postdesk serve` (target/debug/postdesk or $POSTDESK_BIN) on a fresh data
// folder, seeds the accounts through the API's create_accounts in batches of 10,000, then
// measures in the page (performance.now(), no CDP round trips in the figures):
//   - first render: from navigation start to the first row of the accounts page on screen;
//   - filter: from the input event of typing a filter to its first page rendered
//     (this includes the UI's 250 ms debounce; the figure without it is printed too);
//   - End key: from pressing End to the last row rendered (a page fetched far away);
// and, for comparison, the server's own list_accounts time for the same filters (fetch from
// node).
import { api, launchBrowser, login, newPage, startServer } from "../e2e/harness.mjs";

const DEBOUNCE_MS = 250;
const argIndex = process.argv.indexOf("--accounts");
const COUNT = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 100_000;
const DOMAIN = "bench.example";
const BATCH = 10_000;
const RUNS = 5;

const pad = (i) => String(i).padStart(6, "0");
const DEPTS = ["Sales", "Sales/East", "Sales/West", "Support", "Engineering", "Engineering/Platform", "Finance"];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const ms = (x) => `${x.toFixed(1)} ms`;

const server = await startServer();
const browser = await launchBrowser();
try {
  // Seed.
  const t = server.token;
  await api(server, t, "POST", "/api/domains", {
    domain: DOMAIN,
    limits: { max_accounts: COUNT + 10, mailbox_size_mb: 10240, attachment_size_mb: 60, large_attachments: true },
  });
  for (const path of DEPTS) await api(server, t, "POST", `/api/domains/${DOMAIN}/departments`, { path, parents: true });
  const seedStart = performance.now();
  for (let from = 0; from < COUNT; from += BATCH) {
    const accounts = [];
    for (let i = from; i < Math.min(COUNT, from + BATCH); i++) {
      accounts.push({ address: `user${pad(i)}@${DOMAIN}`, display_name: `Person ${pad(i)}`, department: DEPTS[i % DEPTS.length] });
    }
    await api(server, t, "POST", `/api/domains/${DOMAIN}/accounts`, { accounts });
  }
  const seedMs = performance.now() - seedStart;
  console.log(`seeded ${COUNT.toLocaleString("en")} accounts in ${(seedMs / 1000).toFixed(1)} s (create_accounts, batches of ${BATCH})`);

  // Server-only figures.
  const filters = [
    { q: "user09999", expect: COUNT > 99_999 ? 10 : null },
    { q: "user0999", expect: COUNT > 99_999 ? 100 : null },
    { q: "person 05", expect: COUNT > 59_999 ? 10_000 : null },
    { q: "no-such-account", expect: 0 },
  ];
  for (const f of [{ q: "" }, ...filters]) {
    const times = [];
    let total = 0;
    for (let r = 0; r < RUNS; r++) {
      const s = performance.now();
      const qs = new URLSearchParams({ ...(f.q ? { query: f.q } : {}), limit: "100", sort: "address" });
      const res = await api(server, t, "GET", `/api/domains/${DOMAIN}/accounts?${qs}`);
      times.push(performance.now() - s);
      total = res.total;
    }
    console.log(`server list_accounts ${JSON.stringify(f.q).padEnd(18)} total ${String(total).padStart(6)}: median ${ms(median(times))}`);
  }

  // The UI.
  const { page, problems } = await newPage(browser, { viewport: { width: 1400, height: 900 } });
  await page.addInitScript(() => {
    // Notes when the accounts grid first shows a row, from navigation start.
    const watch = () => {
      if (document.querySelector('#acct-row-0[data-address]')) {
        window.__firstRowAt = performance.now();
        return;
      }
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  });
  await login(page, server.url, t);
  const firstRenders = [];
  for (let r = 0; r < RUNS; r++) {
    await page.goto(`${server.url}/#/accounts`);
    await page.reload();
    await page.waitForFunction(() => window.__firstRowAt !== undefined);
    firstRenders.push(await page.evaluate(() => window.__firstRowAt));
  }
  const totalText = await page.getByTestId("accounts-total").innerText();
  console.log(`first render of the accounts page (navigation start → first row, ${totalText}): median ${ms(median(firstRenders))} of ${RUNS}`);

  const typeAndWait = (q) =>
    page.evaluate(async (query) => {
      const input = document.querySelector('input[aria-label="Filter accounts"]');
      const total = document.querySelector('[data-testid="accounts-total"]');
      const before = total.textContent;
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
      const t0 = performance.now();
      setValue.call(input, query);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((resolve) => {
        const check = () => {
          const row = document.querySelector("#acct-row-0[data-address]");
          const ready = total.dataset.ready === "true";
          const rowOk = row ? row.textContent.toLowerCase().includes(query.toLowerCase()) || query === "" : false;
          const empty = ready && /^0 accounts$/.test(total.textContent);
          if (ready && (rowOk || empty) && (total.textContent !== before || query === "")) resolve();
          else requestAnimationFrame(check);
        };
        check();
      });
      return { ms: performance.now() - t0, total: total.textContent };
    }, q);

  for (const f of filters) {
    const times = [];
    let shown = "";
    for (let r = 0; r < RUNS; r++) {
      await typeAndWait(""); // back to the unfiltered list
      const res = await typeAndWait(f.q);
      times.push(res.ms);
      shown = res.total;
    }
    const m = median(times);
    console.log(
      `filter ${JSON.stringify(f.q).padEnd(18)} → first page rendered (${shown}): median ${ms(m)} ` +
        `(${ms(m - DEBOUNCE_MS)} after the ${DEBOUNCE_MS} ms debounce)`,
    );
  }

  await typeAndWait("");
  const ends = [];
  for (let r = 0; r < RUNS; r++) {
    await page.getByRole("grid", { name: "Accounts" }).focus();
    await page.keyboard.press("Home");
    await page.locator("#acct-row-0[data-address]").waitFor();
    ends.push(
      await page.evaluate(async (last) => {
        const grid = document.getElementById("accounts-grid");
        const t0 = performance.now();
        grid.dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
        await new Promise((resolve) => {
          const check = () => (document.querySelector(`#acct-row-${last}[data-address]`) ? resolve() : requestAnimationFrame(check));
          check();
        });
        return performance.now() - t0;
      }, COUNT - 1),
    );
  }
  console.log(`End key → last of ${COUNT.toLocaleString("en")} rows rendered: median ${ms(median(ends))}`);
  console.log(`rows in the DOM: ${await page.locator('[role="row"]').count()}`);
  if (problems.length) console.log("console errors:", problems);
} finally {
  await browser.close();
  await server.stop();
}
