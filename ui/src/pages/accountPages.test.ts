import { describe, expect, it } from "vitest";
import { createClient, type Transport } from "../api/client";
import { BackendError } from "../api/errors";
import type { Account } from "../bindings/Account";
import type { OperationName } from "../bindings/operations";
import { AccountPages, PAGE_SIZE } from "./accountPages";

function account(i: number): Account {
  return {
    address: `u${i}@x.org`,
    display_name: `U ${i}`,
    department: null,
    notes: "",
    status: "active",
    has_password: false,
    force_password_change: false,
    quota_mb: 1,
    aliases: [],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
}

/**
 * A backend of `total` accounts whose answers wait until `flush()`; with `cap`, it counts as
 * the server does for a filter: at most `cap` past the page's offset, then says "capped".
 */
function fakeBackend(total: number, fail = false, cap: number | null = null) {
  const calls: Record<string, unknown>[] = [];
  const pending: (() => void)[] = [];
  const transport: Transport = {
    call(name: OperationName, params: object) {
      expect(name).toBe("list_accounts");
      const p = params as { offset: number; limit: number };
      calls.push(p);
      return new Promise((resolve, reject) => {
        pending.push(() => {
          if (fail) {
            reject(new BackendError("permission_denied", "no"));
            return;
          }
          const items = [];
          for (let i = p.offset; i < Math.min(total, p.offset + p.limit); i++) items.push(account(i));
          const capped = cap !== null && total > p.offset + cap;
          resolve({ items, total: capped ? p.offset + cap : total, offset: p.offset, total_capped: capped });
        });
      });
    },
  };
  const flush = async () => {
    while (pending.length) pending.shift()!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { client: createClient(transport), calls, flush };
}

describe("AccountPages", () => {
  it("fetches each page once, with the filter, as rows come into view", async () => {
    const b = fakeBackend(1000);
    let changes = 0;
    const store = new AccountPages(b.client, { domain: "x.org", query: "u", sort: "address" }, () => changes++);
    store.ensure(0, 30);
    store.ensure(0, 30); // already in flight
    expect(b.calls).toEqual([{ domain: "x.org", query: "u", sort: "address", offset: 0, limit: PAGE_SIZE }]);
    expect(store.ready).toBe(false);
    await b.flush();
    expect(store.ready).toBe(true);
    expect(store.total).toBe(1000);
    expect(store.row(5)?.address).toBe("u5@x.org");
    expect(store.row(150)).toBeUndefined();
    store.ensure(90, 210);
    expect(b.calls.map((c) => c.offset)).toEqual([0, 100, 200]);
    await b.flush();
    expect(store.row(210)?.address).toBe("u210@x.org");
    expect(changes).toBe(3);
    // Past the end: nothing asked.
    store.ensure(5000, 5100);
    expect(b.calls.length).toBe(3);
  });

  it("grows a capped count as deeper pages come, and takes an exact one when it comes", async () => {
    const b = fakeBackend(1000, false, 300);
    const store = new AccountPages(b.client, { domain: "x.org", query: "u" }, () => undefined);
    store.ensure(0, 0);
    await b.flush();
    expect([store.total, store.capped]).toEqual([300, true]);
    // Rows past the floor are not asked for yet…
    store.ensure(250, 400);
    expect(b.calls.map((c) => c.offset)).toEqual([0, 200]);
    await b.flush();
    // …the deeper page counts further.
    expect([store.total, store.capped]).toEqual([500, true]);
    // Scrolled on to each new end, the floor moves on until a page can count to the end.
    for (const [row, floor] of [
      [499, 700],
      [699, 900],
    ]) {
      store.ensure(row, row);
      await b.flush();
      expect([store.total, store.capped]).toEqual([floor, true]);
    }
    store.ensure(899, 899);
    await b.flush();
    expect([store.total, store.capped]).toEqual([1000, false]);
    // An older, capped answer does not undo the exact count.
    store.ensure(100, 100);
    await b.flush();
    expect([store.total, store.capped]).toEqual([1000, false]);
  });

  it("drops answers once closed (the filter changed)", async () => {
    const b = fakeBackend(10);
    let changes = 0;
    const store = new AccountPages(b.client, { domain: "x.org" }, () => changes++);
    store.ensure(0, 0);
    store.close();
    await b.flush();
    expect(changes).toBe(0);
    expect(store.ready).toBe(false);
  });

  it("keeps the error of a failed page", async () => {
    const b = fakeBackend(10, true);
    const store = new AccountPages(b.client, { domain: "x.org" }, () => undefined);
    store.ensure(0, 0);
    await b.flush();
    expect(store.error?.code).toBe("permission_denied");
  });

  it("replaces an edited row in place", async () => {
    const b = fakeBackend(10);
    const store = new AccountPages(b.client, { domain: "x.org" }, () => undefined);
    store.ensure(0, 0);
    await b.flush();
    store.replace({ ...account(3), display_name: "Changed" });
    expect(store.row(3)?.display_name).toBe("Changed");
  });
});
