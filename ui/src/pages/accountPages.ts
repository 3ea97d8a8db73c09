import type { Client } from "../api/client";
import { toBackendError, type BackendError } from "../api/errors";
import type { Account } from "../bindings/Account";
import type { ListAccounts } from "../bindings/ListAccounts";

export const PAGE_SIZE = 100;

/**
 * The pages of one account listing (one filter and sort), fetched on demand as rows come
 * into view. A new filter means a new store: answers for an old one are never mixed in.
 */
export class AccountPages {
  readonly query: ListAccounts;
  /** How many rows match — at least, while `capped` (the server stopped counting). */
  total: number | null = null;
  capped = false;
  error: BackendError | null = null;
  private readonly pages = new Map<number, Account[]>();
  private readonly inflight = new Set<number>();
  private readonly client: Client;
  private readonly changed: () => void;
  private closed = false;

  constructor(client: Client, query: ListAccounts, changed: () => void) {
    this.client = client;
    this.query = query;
    this.changed = changed;
  }

  /** Stops reporting answers (the filter changed). */
  close() {
    this.closed = true;
  }

  row(index: number): Account | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Whether the first page is here (the listing can be shown). */
  get ready(): boolean {
    return this.pages.has(0);
  }

  /** Fetches the pages that hold rows `first`..`last` and are not here yet. */
  ensure(first: number, last: number) {
    const from = Math.max(0, Math.floor(first / PAGE_SIZE));
    const to = Math.max(from, Math.floor(Math.max(first, last) / PAGE_SIZE));
    for (let p = from; p <= to; p++) {
      if (this.total !== null && p * PAGE_SIZE >= this.total && p > 0) break;
      if (this.pages.has(p) || this.inflight.has(p)) continue;
      this.fetch(p);
    }
  }

  private fetch(page: number) {
    this.inflight.add(page);
    this.client.call("list_accounts", { ...this.query, offset: page * PAGE_SIZE, limit: PAGE_SIZE }).then(
      (listing) => {
        this.inflight.delete(page);
        if (this.closed) return;
        this.pages.set(page, listing.items);
        // A capped count is a floor that grows as deeper pages come (each counts 10,000
        // past itself); an exact count from any page is the answer.
        if (!listing.total_capped) {
          this.total = listing.total;
          this.capped = false;
        } else if (this.total === null || this.capped) {
          this.total = Math.max(this.total ?? 0, listing.total);
          this.capped = true;
        }
        this.error = null;
        this.changed();
      },
      (e: unknown) => {
        this.inflight.delete(page);
        if (this.closed) return;
        this.error = toBackendError(e);
        this.changed();
      },
    );
  }

  /** Replaces one loaded row (after an edit) without refetching. */
  replace(account: Account) {
    for (const items of this.pages.values()) {
      const i = items.findIndex((a) => a.address === account.address);
      if (i >= 0) {
        items[i] = account;
        this.changed();
        return;
      }
    }
  }
}
