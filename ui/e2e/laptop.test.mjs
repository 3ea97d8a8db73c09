// End-to-end: every page of the admin UI at laptop sizes (1024×768 and 1280×800) against a
// real `postdesk serve` with mail services, checked with axe-core (WCAG 2.1 A/AA rules):
// zero serious or critical violations, nothing wider than the window, the navigation
// collapsible. A screenshot of every page at 1024×768 is kept in target/ui-e2e/laptop-*.png.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api, launchBrowser, newPage, seriousViolations, screenshotPath, startServer } from "./harness.mjs";

// Run through the DevTools protocol: the page's CSP (script-src 'self') stays on and untouched.
const SIZES = [
  { width: 1024, height: 768 },
  { width: 1280, height: 800 },
];

let server;
let browser;

before(async () => {
  server = await startServer({ smtp: true });
  browser = await launchBrowser();
  const t = server.token;
  await api(server, t, "POST", "/api/domains", { domain: "example.com" });
  await api(server, t, "POST", "/api/domains/example.com/departments", { path: "Sales/East", parents: true });
  await api(server, t, "POST", "/api/domains/example.com/accounts", {
    accounts: [
      { address: "ann@example.com", display_name: "Ann", department: "Sales/East" },
      { address: "a-very-long-mailbox-name-that-does-not-fit@example.com", display_name: "Long Name", department: "Sales" },
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The serious and critical axe violations of the page as it is now, one line each. */
/** Elements that stick out of the window to the right (content cut off), outside scroll boxes. */
async function overflowing(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll("main *, nav *, header *")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1) continue;
      // Inside a box that scrolls sideways, it is reachable.
      let p = el.parentElement;
      let scrolls = false;
      while (p && p !== document.body) {
        const o = getComputedStyle(p).overflowX;
        if ((o === "auto" || o === "scroll") && p.getBoundingClientRect().right <= width + 1) {
          scrolls = true;
          break;
        }
        p = p.parentElement;
      }
      if (!scrolls) out.push(`${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).split(" ")[0] : ""} right=${Math.round(r.right)}`);
    }
    return out.slice(0, 5);
  });
}

describe("laptop sizes and accessibility", { concurrency: false }, () => {
  for (const size of SIZES) {
    it(`every page at ${size.width}×${size.height}: no serious axe violation, nothing cut off`, async () => {
      const { page, problems, context } = await newPage(browser, { viewport: size });
      try {
        await page.goto(server.url);
        // The sign-in screen itself, both of its forms.
        await page.getByRole("button", { name: "Sign in" }).waitFor();
        assert.deepEqual(await seriousViolations(page), [], "sign-in (name and password)");
        assert.deepEqual(await overflowing(page), [], "sign-in (name and password)");
        await page.getByRole("button", { name: "Use an API token instead" }).click();
        assert.deepEqual(await seriousViolations(page), [], "sign-in (API token)");
        await page.getByLabel("API token").fill(server.token);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator("h1.page-title").waitFor();
        const toggle = page.locator("button.menu-toggle");
        const nav = page.getByRole("navigation", { name: "Pages" });
        // Below 1100 px the menu starts hidden, the page using the whole width; one click shows it.
        assert.equal(await toggle.getAttribute("aria-expanded"), size.width < 1100 ? "false" : "true");
        if (size.width < 1100) {
          assert.equal(await nav.isVisible(), false);
          await toggle.click();
        }
        await nav.waitFor();
        const links = await nav.getByRole("link").evaluateAll((els) => els.map((e) => [e.getAttribute("href"), e.textContent]));
        assert.ok(links.length >= 15, `pages in the navigation: ${links.length}`);
        const failures = [];
        for (const [href, title] of links) {
          await nav.locator(`a[href="${href}"]`).click();
          await page.getByRole("heading", { level: 1, name: title }).waitFor();
          await page.waitForLoadState("networkidle");
          await page.locator('[aria-busy="true"]').first().waitFor({ state: "detached", timeout: 10_000 }).catch(() => {});
          const id = href.replace("#/", "");
          if (size.width === 1024) await page.screenshot({ path: screenshotPath(`laptop-${id}`), fullPage: true });
          for (const v of await seriousViolations(page)) failures.push(`${title}: ${v}`);
          for (const o of await overflowing(page)) failures.push(`${title}: cut off at the right: ${o}`);
        }
        // A long address is reachable in full; the account editor (the largest dialog) fits the
        // window and scrolls, and passes axe too.
        await nav.locator('a[href="#/accounts"]').click();
        const long = page.locator('[data-address^="a-very-long"] .c-address');
        assert.equal(await long.getAttribute("title"), "a-very-long-mailbox-name-that-does-not-fit@example.com");
        await long.click();
        const dlg = page.getByRole("dialog");
        await dlg.waitFor();
        const box = await dlg.boundingBox();
        assert.ok(box.y >= 0 && box.y + box.height <= size.height + 1, `dialog ${JSON.stringify(box)} in ${size.height}px`);
        const scrolls = await dlg.evaluate((d) => d.scrollHeight <= d.clientHeight || getComputedStyle(d).overflowY !== "visible");
        assert.ok(scrolls, "the dialog scrolls when taller than the window");
        if (size.width === 1024) await page.screenshot({ path: screenshotPath("laptop-account-editor") });
        for (const v of await seriousViolations(page)) failures.push(`account editor: ${v}`);
        await page.keyboard.press("Escape");
        await dlg.waitFor({ state: "detached" });
        // Hiding the menu gives the page the window's width (and is remembered).
        const narrow = await page.locator("main").evaluate((m) => m.getBoundingClientRect().width);
        await page.getByRole("button", { name: "Hide menu" }).click();
        await nav.waitFor({ state: "hidden" });
        const wide = await page.locator("main").evaluate((m) => m.getBoundingClientRect().width);
        assert.ok(wide >= size.width - 20 && wide > narrow, `main ${narrow} → ${wide} px`);
        await page.reload();
        await page.locator("h1.page-title").waitFor();
        assert.equal(await nav.isVisible(), false);
        assert.deepEqual(failures, [], failures.join("\n"));
        assert.deepEqual(problems, [], "console errors");
      } finally {
        await context.close();
      }
    });
  }
});
