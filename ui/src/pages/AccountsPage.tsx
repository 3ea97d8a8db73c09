import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useSession } from "../app/session";
import type { Account } from "../bindings/Account";
import type { AccountSort } from "../bindings/AccountSort";
import type { AccountStatus } from "../bindings/AccountStatus";
import type { ListAccounts } from "../bindings/ListAccounts";
import { Dialog, ExportStatus, FormError, PageError } from "../components/forms";
import { useAction, useAsync, useDebounced, useExport } from "../components/hooks";
import { AccountDialog, CreateAccountDialog } from "./AccountDialogs";
import { AccountPages } from "./accountPages";
import { BatchPanel, Outcome } from "./BatchPanel";
import { BulkDialog, type BulkKind } from "./BulkDialog";
import type { AccountSelection } from "../bindings/AccountSelection";
import type { BatchOutcome } from "../bindings/BatchOutcome";
import { ImportDialog } from "./ImportDialog";
import { listAll } from "../api/client";

const ROW_HEIGHT = 34;

const COLUMNS: { key: AccountSort | null; label: string; className: string }[] = [
  { key: "address", label: "Address", className: "c-address" },
  { key: "display_name", label: "Display name", className: "c-name" },
  { key: "department", label: "Department", className: "c-dept" },
  { key: "status", label: "Status", className: "c-status" },
  { key: null, label: "Quota", className: "c-quota" },
  { key: "created_at", label: "Created", className: "c-created" },
];

const nf = new Intl.NumberFormat();

const BULK_LABELS: Record<BulkKind, string> = {
  disable: "Disable…",
  enable: "Enable…",
  move_to_department: "Move to department…",
  set_quota: "Change quota…",
  delete: "Delete…",
};

/** The accounts of a domain: filtered, sorted and paged on the server, virtually scrolled. */
export function AccountsPage() {
  const { client, domain, reloadDomains, readOnly } = useSession();
  const [text, setText] = useState("");
  const query = useDebounced(text.trim(), 250);
  const [status, setStatus] = useState<AccountStatus | "">("");
  const [department, setDepartment] = useState("");
  const [sort, setSort] = useState<AccountSort>("address");
  const [descending, setDescending] = useState(false);
  const [, setVersion] = useState(0);
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const fileAction = useExport();
  const [reloadTick, setReloadTick] = useState(0);
  // Accounts picked for a batch action (by address, so they survive filtering and paging).
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [batching, setBatching] = useState<"closed" | "open" | "changed">("closed");
  // "Select all N matching the filter": the selection is the filter itself (every page of
  // it), not the addresses loaded so far; it ends when the filter changes.
  const [allMatching, setAllMatching] = useState(false);
  // How many that is, counted exactly when the listing's own count stopped ("more than").
  const [matching, setMatching] = useState<number | null>(null);
  const counting = useAction();
  const [bulk, setBulk] = useState<BulkKind | null>(null);
  const [bulkOutcome, setBulkOutcome] = useState<BatchOutcome | null>(null);
  const toggle = (address: string) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(address)) next.delete(address);
      else next.add(address);
      return next;
    });
  const scrollRef = useRef<HTMLDivElement>(null);
  const departments = useAsync(() => listAll(client, "list_departments", { domain: domain! }), [client, domain]);

  const params: ListAccounts = useMemo(
    () => ({
      domain: domain!,
      ...(query ? { query } : {}),
      ...(status ? { status } : {}),
      ...(department ? { department } : {}),
      sort,
      descending,
    }),
    [domain, query, status, department, sort, descending],
  );
  // A new filter, or the list reloaded (a count that may have moved), ends "all matching".
  const filterKey = `${domain}\u0000${query}\u0000${status}\u0000${department}\u0000${reloadTick}`;
  const [lastFilter, setLastFilter] = useState(filterKey);
  if (lastFilter !== filterKey) {
    setLastFilter(filterKey);
    setAllMatching(false);
    setMatching(null);
  }
  const currentFilter = useRef(filterKey);
  useEffect(() => {
    currentFilter.current = filterKey;
  }, [filterKey]);

  const [shown, setShown] = useState<AccountPages | null>(null);
  const store = useMemo(
    () => {
      const pages: AccountPages = new AccountPages(client, params, () => {
        setVersion((v) => v + 1);
        if (pages.ready) setShown(pages);
      });
      return pages;
    },
    // reloadTick: a fresh store after a create or delete
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client, params, reloadTick],
  );
  useEffect(() => {
    store.ensure(0, 0);
    setActive(0);
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    return () => store.close();
  }, [store]);
  // While a new filter's first page is on its way, the last listing stays on screen.
  const view = store.ready || store.error || !shown ? store : shown;

  const total = view.total ?? 0;
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const first = items.length ? items[0].index : 0;
  const last = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (view === store) store.ensure(first, last);
  }, [view, store, first, last]);

  const move = (to: number) => {
    if (total === 0) return;
    const i = Math.max(0, Math.min(total - 1, to));
    setActive(i);
    virtualizer.scrollToIndex(i, { align: "auto" });
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const pageRows = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / ROW_HEIGHT) - 1);
    switch (e.key) {
      case "ArrowDown":
        move(active + 1);
        break;
      case "ArrowUp":
        move(active - 1);
        break;
      case "PageDown":
        move(active + pageRows);
        break;
      case "PageUp":
        move(active - pageRows);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(total - 1);
        break;
      case "Enter": {
        const a = view.row(active);
        if (a) setOpen(a.address);
        break;
      }
      case " ": {
        const a = view.row(active);
        if (a && !allMatching) toggle(a.address);
        break;
      }
      default:
        return;
    }
    e.preventDefault();
  };

  const toggleSort = (key: AccountSort) => {
    if (key === sort) setDescending((d) => !d);
    else {
      setSort(key);
      setDescending(false);
    }
  };

  const settled = text.trim() === query;
  const selection: AccountSelection = allMatching
    ? {
        kind: "filter",
        ...(query ? { query } : {}),
        ...(department ? { department } : {}),
        ...(status ? { status } : {}),
      }
    : { kind: "addresses", addresses: [...selected] };
  const selectedCount = allMatching ? (matching ?? total) : selected.size;
  const selectAll = async () => {
    if (!view.capped) {
      setMatching(null);
      setAllMatching(true);
      return;
    }
    const asked = filterKey;
    const exact = await counting.run(() => client.call("list_accounts", { ...params, limit: 1, exact_total: true }));
    // The filter changed while counting: this count is another selection's.
    if (exact && currentFilter.current === asked) {
      setMatching(exact.total);
      setAllMatching(true);
    }
  };
  const clearSelection = () => {
    setSelected(new Set());
    setAllMatching(false);
  };
  const activeId = `acct-row-${active}`;
  return (
    <section className="accounts-page">
      <div className="toolbar" role="search">
        <label className="filter">
          <span className="sr-only">Filter accounts</span>
          <input
            type="search"
            placeholder="Filter by address or name…"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-label="Filter accounts"
            aria-controls="accounts-grid"
            onKeyDown={(e) => {
              if (e.key === "ArrowDown") {
                e.preventDefault();
                document.getElementById("accounts-grid")?.focus();
              }
            }}
          />
        </label>
        <label>
          <span className="sr-only">Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value as AccountStatus | "")} aria-label="Status">
            <option value="">Any status (not deleted)</option>
            <option value="active">Active</option>
            <option value="locked">Locked</option>
            <option value="disabled">Disabled</option>
            <option value="deleted">Deleted</option>
          </select>
        </label>
        <label>
          <span className="sr-only">Department</span>
          <select value={department} onChange={(e) => setDepartment(e.target.value)} aria-label="Department">
            <option value="">All departments</option>
            {(departments.data ?? []).map((d) => (
              <option key={d.path} value={d.path}>
                {d.path}
              </option>
            ))}
          </select>
        </label>
        <span
          className="total"
          data-testid="accounts-total"
          data-ready={store.ready && settled ? "true" : "false"}
          aria-live="polite"
        >
          {view.total === null
            ? store.error
              ? ""
              : "Loading…"
            : allMatching && matching !== null
              ? `${nf.format(matching)} account${matching === 1 ? "" : "s"}`
              : `${view.capped ? "More than " : ""}${nf.format(view.total)} account${view.total === 1 && !view.capped ? "" : "s"}`}
        </span>
        <button
          type="button"
          disabled={fileAction.pending}
          title="Download every account of this filter as an XLSX file (never passwords)"
          onClick={() => void fileAction.save(() => client.call("export_accounts", params))}
        >
          Export
        </button>
        <button type="button" disabled={readOnly} onClick={() => setImporting(true)}>
          Import…
        </button>
        {!readOnly && total > 0 && !allMatching && status !== "deleted" && (
          <button type="button" onClick={() => void selectAll()} disabled={!store.ready || !settled || counting.pending}>
            Select all {view.capped ? "" : `${nf.format(total)} `}matching
          </button>
        )}
        <button type="button" className="primary" disabled={readOnly} onClick={() => setCreating(true)}>
          New account
        </button>
      </div>
      <ExportStatus action={fileAction} />
      <FormError error={counting.error} />
      {selectedCount > 0 && (
        <div className="selection-bar" data-testid="selection" role="region" aria-label="Selected accounts">
          <span data-testid="selection-count">
            {allMatching
              ? `All ${nf.format(selectedCount)} account${selectedCount === 1 ? "" : "s"} matching the filter selected`
              : `${nf.format(selected.size)} selected`}
          </span>
          {(["disable", "enable", "move_to_department", "set_quota", "delete"] as BulkKind[]).map((k) => (
            <button key={k} type="button" disabled={readOnly} className={k === "delete" ? "danger" : undefined} onClick={() => setBulk(k)}>
              {BULK_LABELS[k]}
            </button>
          ))}
          {!allMatching && (
            <button type="button" onClick={() => setBatching("open")}>
              Settings and passwords…
            </button>
          )}
          <button type="button" className="ghost" onClick={clearSelection}>
            Clear selection
          </button>
        </div>
      )}
      {bulkOutcome && (
        <div className="bulk-outcome" data-testid="bulk-outcome">
          <Outcome key={bulkOutcome.batch?.id ?? bulkOutcome.message} outcome={bulkOutcome} onUndone={() => setReloadTick((t) => t + 1)} />
          <button type="button" className="ghost" onClick={() => setBulkOutcome(null)}>
            Dismiss
          </button>
        </div>
      )}

      {store.error && <PageError error={store.error} what="the accounts" />}

      <div className="grid-wrap">
        <div className="grid-head" role="presentation">
          <span className="cell c-select" aria-hidden="true" />
          {COLUMNS.map((c) =>
            c.key ? (
              <button
                key={c.label}
                type="button"
                className={`cell ${c.className} sort`}
                aria-pressed={c.key === sort}
                aria-label={`${c.label}${c.key === sort ? (descending ? ", sorted descending" : ", sorted ascending") : ", sort"}`}
                onClick={() => toggleSort(c.key!)}
              >
                {c.label}
                {c.key === sort ? (descending ? " ▼" : " ▲") : ""}
              </button>
            ) : (
              <span key={c.label} className={`cell ${c.className}`}>
                {c.label}
              </span>
            ),
          )}
        </div>
        <div
          id="accounts-grid"
          ref={scrollRef}
          className="grid-body"
          role="grid"
          aria-label="Accounts"
          aria-rowcount={total > 0 ? total : undefined}
          tabIndex={0}
          aria-activedescendant={total > 0 ? activeId : undefined}
          onKeyDown={onKey}
          data-state={store.ready ? "ready" : "loading"}
          aria-busy={!store.ready}
        >
          <div className="grid-sizer" role="presentation" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((v) => {
              const a = view.row(v.index);
              return (
                <Row
                  key={v.key}
                  id={`acct-row-${v.index}`}
                  index={v.index}
                  start={v.start}
                  account={a}
                  active={v.index === active}
                  selected={allMatching || (a ? selected.has(a.address) : false)}
                  locked={allMatching}
                  onToggle={() => a && toggle(a.address)}
                  onOpen={() => {
                    setActive(v.index);
                    if (a) setOpen(a.address);
                  }}
                />
              );
            })}
          </div>
          {view.ready && total === 0 && (
            // A row of its own: a grid holds rows only, also when it has no account to show.
            <div role="row">
              <p role="gridcell" className="empty">
                {query || status || department ? "No account matches this filter." : "No accounts yet."}
              </p>
            </div>
          )}
        </div>
      </div>

      {creating && (
        <CreateAccountDialog
          departments={departments.data ?? []}
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            setReloadTick((t) => t + 1);
            reloadDomains();
          }}
        />
      )}
      {batching !== "closed" && (
        <Dialog
          title={`Batch actions for ${nf.format(selected.size)} selected account${selected.size === 1 ? "" : "s"}`}
          className="wide"
          onClose={() => {
            // Password resets unlock accounts: show the listing afresh if anything ran.
            if (batching === "changed") setReloadTick((t) => t + 1);
            setBatching("closed");
          }}
        >
          <div className="dialog-body">
            <BatchPanel target={{ kind: "accounts", addresses: [...selected] }} onChanged={() => setBatching("changed")} />
          </div>
        </Dialog>
      )}
      {bulk && (
        <BulkDialog
          kind={bulk}
          selection={selection}
          count={selectedCount}
          departments={departments.data ?? []}
          onClose={() => setBulk(null)}
          onDone={(outcome) => {
            setBulk(null);
            setBulkOutcome(outcome);
            clearSelection();
            setReloadTick((t) => t + 1);
            reloadDomains();
          }}
        />
      )}
      {importing && (
        <ImportDialog
          onClose={() => setImporting(false)}
          onImported={() => {
            setReloadTick((t) => t + 1);
            reloadDomains();
            departments.reload();
          }}
        />
      )}
      {open && (
        <AccountDialog
          address={open}
          departments={departments.data ?? []}
          onClose={() => {
            setOpen(null);
            document.getElementById("accounts-grid")?.focus();
          }}
          onChanged={(acc) => store.replace(acc)}
          onRemoved={() => {
            setOpen(null);
            setReloadTick((t) => t + 1);
            reloadDomains();
          }}
        />
      )}
    </section>
  );
}

function Row({
  id,
  index,
  start,
  account,
  active,
  selected,
  locked,
  onToggle,
  onOpen,
}: {
  id: string;
  index: number;
  start: number;
  account: Account | undefined;
  active: boolean;
  selected: boolean;
  /** Checked by "select all matching": not toggled one by one. */
  locked: boolean;
  onToggle: () => void;
  onOpen: () => void;
}) {
  return (
    <div
      id={id}
      role="row"
      aria-rowindex={index + 1}
      aria-selected={active}
      className={active ? "grid-row active" : "grid-row"}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT }}
      onClick={onOpen}
      data-address={account?.address}
    >
      {account ? (
        <>
          <span role="gridcell" className="cell c-select" onClick={(e) => e.stopPropagation()}>
            <input type="checkbox" aria-label={`Select ${account.address}`} checked={selected} disabled={locked} onChange={onToggle} tabIndex={-1} />
          </span>
          <span role="gridcell" className="cell c-address" title={account.address}>
            {account.address}
          </span>
          <span role="gridcell" className="cell c-name">
            {account.display_name}
          </span>
          <span role="gridcell" className="cell c-dept">
            {account.department ?? ""}
          </span>
          <span role="gridcell" className="cell c-status">
            <span className={`badge ${account.status}`}>{account.status}</span>
          </span>
          <span role="gridcell" className="cell c-quota">
            {nf.format(account.quota_mb)} MiB
          </span>
          <span role="gridcell" className="cell c-created">
            {account.created_at.slice(0, 10)}
          </span>
        </>
      ) : (
        <>
          <span className="cell c-select" />
          <span role="gridcell" className="cell placeholder">
            …
          </span>
        </>
      )}
    </div>
  );
}
