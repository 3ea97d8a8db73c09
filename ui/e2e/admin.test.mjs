// End-to-end: the built UI served by a real `postdesk serve`, driven in headless Chromium.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { api, launchBrowser, login, newPage, openPage, screenshotPath, startServer } from "./harness.mjs";

let server;
let browser;
let owner; // { context, page, problems }

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// A failed step may leave a dialog open: close it so the next step starts clean.
beforeEach(async () => {
  for (let i = 0; i < 3 && owner && (await owner.page.locator("dialog[open]").count()) > 0; i++) {
    await owner.page.keyboard.press("Escape");
  }
});

/** The dialog that is open now. */
const dialog = (page) => page.getByRole("dialog");

describe("postdesk admin UI", { concurrency: false }, () => {
  it("refuses a wrong token at the token field, then signs in", async () => {
    const { page } = owner;
    await page.goto(server.url);
    await page.getByRole("button", { name: "Use an API token instead" }).click();
    await page.getByLabel("API token").fill("pd_0000_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    const fieldError = page.locator('[data-field="token"] .field-error');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /token/i);
    await login(page, server.url, server.token);
    assert.match(await page.locator(".whoami").innerText(), /owner/);
    // Nothing set up yet: the owner lands on the first-run path, which starts at the domain.
    await page.getByRole("heading", { level: 1, name: "Get started" }).waitFor();
    const steps = page.locator("li[data-step]");
    assert.deepEqual(await steps.evaluateAll((els) => els.map((e) => `${e.dataset.step}:${e.dataset.state}`)), [
      "domain:todo",
      "dns:later",
      "accounts:later",
      "clients:later",
    ]);
    // The navigation is grouped into sections.
    const nav = page.getByRole("navigation", { name: "Pages" });
    assert.deepEqual(await nav.locator(".nav-heading").allInnerTexts(), ["ORGANISATION", "MAIL FLOW", "SECURITY", "ADMINISTRATION"]);
    assert.equal(await nav.getByRole("group", { name: "Security" }).getByRole("link", { name: "DNS", exact: true }).count(), 1);
    await page.locator('li[data-step="domain"]').getByRole("link", { name: "Open Domains" }).click();
    await page.getByRole("heading", { level: 1, name: "Domains" }).waitFor();
  });

  it("creates domains with plan limits", async () => {
    const { page } = owner;
    await openPage(page, "Domains");
    for (const [name, max] of [
      ["example.com", "1000"],
      ["other.org", "20"],
    ]) {
      await page.getByRole("button", { name: "New domain", exact: true }).click();
      const d = dialog(page);
      await d.getByLabel("Domain name").fill(name);
      await d.getByLabel("Max accounts").fill(max);
      await d.getByRole("button", { name: "Create domain" }).click();
      await page.locator(`tr[data-domain="${name}"]`).waitFor();
    }
    assert.match(await page.locator('tr[data-domain="example.com"]').innerText(), /0 \/ 1,000/);
    await page.screenshot({ path: screenshotPath("domains") });
    // A duplicate domain: the conflict is shown at the domain name field.
    await page.getByRole("button", { name: "New domain", exact: true }).click();
    await dialog(page).getByLabel("Domain name").fill("example.com");
    await dialog(page).getByRole("button", { name: "Create domain" }).click();
    const err = dialog(page).locator('[data-field="domain"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /already exists/);
    await page.keyboard.press("Escape");
    await dialog(page).waitFor({ state: "detached" });
    // An emptied "Max accounts" is refused at that field, not stored as a plan of 0.
    await page.getByRole("button", { name: "New domain", exact: true }).click();
    await dialog(page).getByLabel("Domain name").fill("empty-plan.test");
    await dialog(page).getByLabel("Max accounts").fill("");
    await dialog(page).getByRole("button", { name: "Create domain" }).click();
    const maxErr = dialog(page).locator('[data-field="max_accounts"] .field-error');
    await maxErr.waitFor();
    assert.match(await maxErr.innerText(), /Max accounts: enter a number/);
    await page.keyboard.press("Escape");
    await dialog(page).waitFor({ state: "detached" });
    const listed = await api(server, server.token, "GET", "/api/domains");
    assert.equal(listed.items.some((d) => d.name === "empty-plan.test"), false, "nothing was created");
  });

  it("leads on from the domain to its DNS records, and keeps the picked domain across reloads", async () => {
    const { page } = owner;
    await openPage(page, "Get started");
    const dns = page.locator('li[data-step="dns"]');
    assert.equal(await page.locator('li[data-step="domain"]').getAttribute("data-state"), "done");
    assert.equal(await dns.getAttribute("data-state"), "todo");
    assert.match(await dns.innerText(), /example\.com, other\.org/);
    await dns.getByRole("link", { name: "Open the DNS wizard" }).click();
    await page.getByRole("heading", { level: 1, name: "DNS" }).waitFor();
    await page.getByRole("combobox", { name: "Domain" }).selectOption("other.org");
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "DNS" }).waitFor();
    assert.equal(await page.getByRole("combobox", { name: "Domain" }).inputValue(), "other.org");
    await page.getByRole("heading", { name: "Mail server of other.org" }).waitFor();
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
  });

  it("builds a department tree", async () => {
    const { page } = owner;
    await openPage(page, "Departments");
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    const create = async (parent, name) => {
      await page.getByRole("button", { name: "New department" }).click();
      const d = dialog(page);
      await d.getByLabel("Inside").selectOption(parent);
      await d.getByLabel("Name").fill(name);
      await d.getByLabel("Name").press("Enter");
      await page.locator(`[data-path="${parent ? `${parent}/${name}` : name}"]`).waitFor();
    };
    await create("", "Sales");
    await create("", "Support");
    await create("Sales", "East");
    await create("Sales/East", "North");
    const tree = page.getByRole("tree");
    assert.equal(await tree.getByRole("treeitem").count(), 4);
    assert.equal(await page.locator('[data-path="Sales/East/North"]').getAttribute("aria-level"), "3");
    // With a department selected, "New department" still starts at the top level: the dialog's
    // "Inside" is where it goes, nothing else.
    await page.locator('[data-path="Sales/East"]').click();
    await page.getByRole("button", { name: "New department" }).click();
    assert.equal(await dialog(page).getByLabel("Inside").inputValue(), "");
    await dialog(page).getByLabel("Name").fill("Legal");
    await dialog(page).getByLabel("Name").press("Enter");
    await page.locator('[data-path="Legal"]').waitFor();
    assert.equal(await page.locator('[data-path="Legal"]').getAttribute("aria-level"), "1");
  });

  it("creates accounts, and shows a duplicate address's conflict next to the address field", async () => {
    const { page } = owner;
    await openPage(page, "Accounts");
    const add = async (local, name, dept) => {
      await page.getByRole("button", { name: "New account" }).click();
      const d = dialog(page);
      await d.getByLabel("Address").fill(local);
      await d.getByLabel("Display name").fill(name);
      if (dept) await d.getByLabel("Department").selectOption(dept);
      await d.getByRole("button", { name: "Create account" }).click();
      await d.waitFor({ state: "detached" });
    };
    await add("ann", "Ann Archer", "Sales/East");
    await add("bob", "Bob Baker", "Support");
    await add("carol", "Carol Cook", "");
    // More rows through the API, so that the table pages.
    await api(server, server.token, "POST", "/api/domains/example.com/accounts", {
      accounts: Array.from({ length: 250 }, (_, i) => ({
        address: `user${String(i).padStart(4, "0")}@example.com`,
        display_name: `User ${i}`,
        department: i % 2 ? "Sales" : "Support",
      })),
    });
    await page.getByRole("combobox", { name: "Status" }).selectOption("active");
    await page.getByRole("combobox", { name: "Status" }).selectOption("");
    await waitForTotal(page, "253 accounts");

    await page.getByRole("button", { name: "New account" }).click();
    const d = dialog(page);
    await d.getByLabel("Address").fill("ann");
    await d.getByRole("button", { name: "Create account" }).click();
    const err = d.locator('[data-field="address"] .field-error');
    await err.waitFor();
    assert.match(await err.innerText(), /already (exists|used)/i);
    assert.equal(await d.getByLabel("Address").getAttribute("aria-invalid"), "true");
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
  });

  it("filters, sorts and scrolls the accounts table on the server", async () => {
    const { page } = owner;
    const filter = page.getByRole("searchbox", { name: "Filter accounts" });
    await filter.fill("ann");
    await waitForTotal(page, "1 account");
    await page.locator('[role="row"][data-address="ann@example.com"]').waitFor();
    await filter.fill("user01");
    await waitForTotal(page, "100 accounts");
    await filter.fill("");
    await waitForTotal(page, "253 accounts");
    // Descending by address: the last user comes first.
    await page.getByRole("button", { name: /^Address/ }).click();
    await page.locator('#acct-row-0[data-address="user0249@example.com"]').waitFor();
    await page.getByRole("button", { name: /^Address/ }).click();
    await page.locator('#acct-row-0[data-address="ann@example.com"]').waitFor();
    // Keyboard: End goes to the last row, fetched page by page as it comes into view.
    const grid = page.getByRole("grid", { name: "Accounts" });
    await grid.focus();
    await page.keyboard.press("End");
    await page.locator('#acct-row-252[data-address="user0249@example.com"]').waitFor();
    // Only the rows in view are in the DOM.
    assert.ok((await page.locator('[role="row"]').count()) < 100);
    // Enter opens the account; its fields are edited in place.
    await page.keyboard.press("Home");
    await page.locator('#acct-row-0[data-address="ann@example.com"]').waitFor();
    await page.keyboard.press("Enter");
    const d = dialog(page);
    await d.getByRole("heading", { name: "ann@example.com" }).waitFor();
    await d.getByLabel("Display name").fill("Ann A. Archer");
    await d.getByRole("button", { name: "Save changes" }).click();
    await d.getByText("Saved.").waitFor();
    // Passwords are entered twice and must agree.
    await d.getByLabel("New password").fill("correct horse battery");
    await d.getByLabel("Repeat password").fill("correct horse battery!");
    await d.getByRole("button", { name: "Set password" }).click();
    await d.getByText("The two passwords differ.").waitFor();
    await d.getByLabel("Repeat password").fill("correct horse battery");
    await d.getByRole("button", { name: "Set password" }).click();
    await d.getByText("Password set.").waitFor();
    await d.getByLabel("Add an address").fill("sales");
    await d.getByRole("button", { name: "Add address" }).click();
    await d.getByText("sales@example.com").waitFor();
    await page.screenshot({ path: screenshotPath("account-detail") });
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
    await page.locator('#acct-row-0:has-text("Ann A. Archer")').waitFor();
    await page.screenshot({ path: screenshotPath("accounts") });
  });

  it("moves a department by dragging it, and back to the top level with the keyboard", async () => {
    const { page } = owner;
    await openPage(page, "Departments");
    await page.getByTestId("dept-Sales/East").dragTo(page.getByTestId("dept-Support"));
    await page.locator('[data-path="Support/East/North"]').waitFor();
    await page.getByRole("status").filter({ hasText: "now Support/East" }).waitFor();
    assert.equal(await page.locator('[data-path="Sales/East"]').count(), 0);
    // Undo moves it back; then drag it again.
    await page.getByRole("status").getByRole("button", { name: "Undo" }).click();
    await page.locator('[data-path="Sales/East/North"]').waitFor();
    await page.getByTestId("dept-Sales/East").dragTo(page.getByTestId("dept-Support"));
    await page.locator('[data-path="Support/East/North"]').waitFor();
    // The moved department has focus; M opens the move dialog, Enter confirms.
    const east = page.locator('[data-path="Support/East"]');
    await east.focus();
    await page.keyboard.press("m");
    await dialog(page).getByLabel("New parent").selectOption("");
    await page.keyboard.press("Enter");
    await page.locator('[data-path="East/North"]').waitFor();
    // Arrow keys walk the tree.
    await page.locator('[data-path="East"]').focus();
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-path")), "East/North");
    // F2 renames, Delete removes (an empty department only: the refusal shows in the dialog).
    await page.keyboard.press("F2");
    await dialog(page).getByLabel("New name").fill("Nord");
    await page.keyboard.press("Enter");
    await page.locator('[data-path="East/Nord"]').waitFor();
    await page.locator('[data-path="East"]').focus();
    await page.keyboard.press("Delete");
    await dialog(page).getByRole("button", { name: "Remove" }).click();
    const refusal = dialog(page).locator(".form-error");
    await refusal.waitFor();
    assert.ok((await refusal.innerText()).length > 0);
    await page.keyboard.press("Escape");
    await dialog(page).waitFor({ state: "detached" });
    await page.locator('[data-path="East/Nord"]').focus();
    await page.keyboard.press("Delete");
    await dialog(page).getByRole("button", { name: "Remove" }).click();
    await page.locator('[data-path="East/Nord"]').waitFor({ state: "detached" });
    // Ann's account moved along.
    const ann = await api(server, server.token, "GET", "/api/accounts/ann%40example.com");
    assert.equal(ann.department, "East");
    await page.screenshot({ path: screenshotPath("departments") });
  });

  it("keeps a domain-limited admin to its domain", async () => {
    await api(server, server.token, "POST", "/api/admins", {
      name: "olga",
      role: "admin",
      pages: ["domains", "departments", "accounts"],
      domains: ["other.org"],
    });
    const { secret } = await api(server, server.token, "POST", "/api/tokens", { admin: "olga", label: "e2e" });
    const olga = await newPage(browser);
    try {
      const { page } = olga;
      await login(page, server.url, secret);
      await openPage(page, "Domains");
      await page.locator('tr[data-domain="other.org"]').waitFor();
      assert.equal(await page.locator('tr[data-domain="example.com"]').count(), 0);
      await openPage(page, "Accounts");
      const options = await page.getByRole("combobox", { name: "Domain" }).locator("option").allInnerTexts();
      assert.deepEqual(options, ["other.org"]);
      await waitForTotal(page, "0 accounts");
      // Pages it was not given are not offered, and say so when opened directly.
      const nav = await page.getByRole("navigation", { name: "Pages" }).getByRole("link").allInnerTexts();
      assert.deepEqual(nav, ["Domains", "Departments", "Accounts", "Recycle bin", "Mailbox settings", "Shared mailboxes", "Workflow groups", "Message trace", "Outbound usage", "Login log", "Your sign-in"]);
      await page.goto(`${server.url}/#/admins`);
      await page.getByText("Permission denied.").waitFor();
      // Creating an account outside its domain is refused by the backend, shown at the field.
      await page.goto(`${server.url}/#/accounts`);
      await page.getByRole("button", { name: "New account" }).click();
      await dialog(page).getByLabel("Address").fill("spy@example.com");
      await dialog(page).getByRole("button", { name: "Create account" }).click();
      const err = dialog(page).locator(".field-error, .form-error").first();
      await err.waitFor();
      assert.match(await err.innerText(), /example\.com|permission|not allowed|may not/i);
      await page.keyboard.press("Escape");
      await dialog(page).waitFor({ state: "detached" });
      // The owner takes the accounts page away while olga has it open: the backend refuses
      // the next listing and the page says so plainly.
      await api(server, server.token, "PUT", "/api/admins/olga", { role: "admin", pages: ["domains"], domains: ["other.org"] });
      await page.getByRole("searchbox", { name: "Filter accounts" }).fill("x");
      const denied = page.locator('.page-error[data-code="permission_denied"]');
      await denied.waitFor();
      assert.match(await denied.innerText(), /Permission denied/);
      await page.screenshot({ path: screenshotPath("limited-admin") });
      assert.deepEqual(olga.problems, []);
    } finally {
      await olga.context.close();
    }
  });

  it("shows a helpdesk admin a read-only UI and a clear refusal on pages it lacks", async () => {
    await api(server, server.token, "POST", "/api/admins", { name: "hd", role: "helpdesk", pages: ["accounts"], domains: ["other.org"] });
    const { secret } = await api(server, server.token, "POST", "/api/tokens", { admin: "hd" });
    const hd = await newPage(browser);
    try {
      const { page } = hd;
      await login(page, server.url, secret);
      await page.goto(`${server.url}/#/audit`);
      await page.getByText("Permission denied.").waitFor();
      // Helpdesk changes nothing: the change controls are disabled and it is said why.
      await page.goto(`${server.url}/#/accounts`);
      await page.getByText("Read-only: the helpdesk role").waitFor();
      assert.equal(await page.getByRole("button", { name: "New account" }).isDisabled(), true);
    } finally {
      await hd.context.close();
    }
  });

  it("creates an alias and tells who receives its mail; refuses a loop at the targets", async () => {
    const { page } = owner;
    await openPage(page, "Aliases");
    await page.getByRole("combobox", { name: "Domain" }).selectOption("example.com");
    await page.getByRole("button", { name: "New alias" }).click();
    let d = dialog(page);
    await d.getByLabel("Alias address").fill("team");
    await d.getByLabel("Targets").fill("bob@example.com\ncarol@example.com\npartner@elsewhere.net");
    await d.getByRole("button", { name: "Create alias" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByRole("table", { name: "Aliases" }).getByText("team@example.com").waitFor();
    // A second alias pointing back at the first is fine; making the first point at it is a loop.
    await page.getByRole("button", { name: "New alias" }).click();
    d = dialog(page);
    await d.getByLabel("Alias address").fill("all");
    await d.getByLabel("Targets").fill("team@example.com");
    await d.getByRole("button", { name: "Create alias" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByRole("row", { name: /team@example\.com/ }).first().getByRole("button", { name: "Edit…" }).click();
    d = dialog(page);
    await d.getByLabel("Targets").fill("bob@example.com\nall@example.com");
    await d.getByRole("button", { name: "Save" }).click();
    await d.locator(".field-error, .form-error").first().waitFor();
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });

    await page.getByLabel("Who receives mail sent to…").fill("all");
    await page.getByRole("button", { name: "Resolve" }).click();
    const result = page.locator(".resolution");
    await result.waitFor();
    const text = await result.innerText();
    assert.match(text, /bob@example\.com/);
    assert.match(text, /carol@example\.com/);
    assert.match(text, /partner@elsewhere\.net \(external\)/);
  });

  it("creates a mail group with a send permission, members and a whitelist", async () => {
    const { page } = owner;
    await openPage(page, "Mail groups");
    await page.getByRole("button", { name: "New group" }).click();
    const d = dialog(page);
    await d.getByLabel("Group address").fill("board");
    await d.getByLabel("Name", { exact: true }).fill("The board");
    await d.getByLabel("Only members of the group").check();
    await d.getByLabel("Members", { exact: true }).fill("ann@example.com bob@example.com");
    await d.getByRole("button", { name: "Create group" }).click();
    await d.waitFor({ state: "detached" });
    const editor = page.locator(".group-editor");
    await editor.getByRole("heading", { name: "board@example.com" }).waitFor();
    await editor.getByText("Members (2)").waitFor();
    await editor.getByLabel("Add members").fill("carol@example.com");
    await editor.getByRole("button", { name: "Add", exact: true }).click();
    await editor.getByText("Members (3)").waitFor();
    await editor.getByRole("button", { name: "Remove member bob@example.com" }).click();
    await editor.getByText("Members (2)").waitFor();
    await editor.getByLabel("Only the senders on the whitelist").check();
    await editor.getByLabel("Whitelisted senders").fill("ceo@partner.example");
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await editor.getByText("Saved.").waitFor();
    const g = await api(server, server.token, "GET", "/api/groups/board%40example.com");
    assert.equal(g.send_permission, "whitelist");
    assert.deepEqual(g.allowed_senders, ["ceo@partner.example"]);
    assert.deepEqual([...g.members].sort(), ["ann@example.com", "carol@example.com"]);
    // A whole department as members: its accounts (and those below it) receive the mail.
    await editor.getByLabel("Department to add").selectOption("Support");
    await editor.getByRole("button", { name: "Add department" }).click();
    await editor.getByText("Member departments (1)").waitFor();
    const withDept = await api(server, server.token, "GET", "/api/groups/board%40example.com");
    assert.deepEqual(withDept.departments, ["Support"]);
    const resolved = await api(server, server.token, "GET", "/api/resolve/board%40example.com");
    assert.ok(resolved.mailboxes.length > 2, JSON.stringify(resolved));
    await page.screenshot({ path: screenshotPath("groups") });
  });

  it("creates an admin and a token whose secret is shown once and works", async () => {
    const { page } = owner;
    await openPage(page, "Admins & tokens");
    await page.getByRole("button", { name: "New admin" }).click();
    const d = dialog(page);
    await d.getByLabel("Login name").fill("helen");
    await d.getByRole("radio", { name: /Helpdesk/ }).check();
    await d.getByRole("button", { name: "Create admin" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByRole("row", { name: /helen/ }).getByRole("button", { name: "New token…" }).click();
    await dialog(page).getByLabel("What it is for").fill("phone");
    await page.keyboard.press("Enter");
    const secret = await page.getByTestId("token-secret").inputValue();
    assert.match(secret, /^pd_/);
    await dialog(page).getByRole("button", { name: "Done" }).click();
    await page.getByRole("table", { name: "API tokens" }).getByText("phone").waitFor();
    assert.equal(await page.getByTestId("token-secret").count(), 0);
    const me = await api(server, secret, "GET", "/api/whoami");
    assert.equal(me.name, "helen");
  });

  it("loads the other pages without errors, in both themes", async () => {
    const { page, problems } = owner;
    for (const title of ["Aliases", "Mail groups", "Admins & tokens", "Audit log"]) {
      await openPage(page, title);
    }
    await page.locator("table[aria-label='Audit log'] tbody tr").first().waitFor();
    // Actions are searched and shown as words; a change reads "field: before → after", no JSON.
    await page.getByLabel("Action").fill("Rename department");
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll("table[aria-label='Audit log'] tbody td[data-action]")];
      return cells.length === 1 && cells[0].dataset.action === "rename_department";
    });
    const row = page.locator("table[aria-label='Audit log'] tbody tr").first();
    assert.equal(await row.locator("td[data-action]").innerText(), "Rename department");
    await row.getByRole("button", { name: "Changes" }).click();
    const changes = page.locator(".audit-changes li");
    await changes.first().waitFor();
    assert.deepEqual(await changes.allInnerTexts(), ["path: East/North → East/Nord"]);
    await page.getByLabel("Action").fill("");
    await page.getByRole("button", { name: /Change theme/ }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.screenshot({ path: screenshotPath("audit-dark") });
    assert.deepEqual(problems, [], "console errors (CSP violations among them)");
  });
});

async function waitForTotal(page, text) {
  await page.locator(`[data-testid="accounts-total"][data-ready="true"]`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}
