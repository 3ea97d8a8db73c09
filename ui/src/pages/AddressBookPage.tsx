import { useEffect, useState } from "react";
import { useSession } from "../app/session";
import { FormError, PageError } from "../components/forms";
import { usePaged } from "../components/hooks";
import type { AddressBookEntry } from "../bindings/AddressBookEntry";
import "./batch.css";

/** An entry with the department it is listed under (`null`: the top level). */
interface Listed extends AddressBookEntry {
  department: string | null;
}

/** Entries in book order grouped by department; a department split over pages is joined up. */
export function groupByDepartment(entries: Listed[]): { department: string | null; entries: Listed[] }[] {
  const groups: { department: string | null; entries: Listed[] }[] = [];
  for (const e of entries) {
    const last = groups[groups.length - 1];
    if (last && last.department === e.department) last.entries.push(e);
    else groups.push({ department: e.department, entries: [e] });
  }
  return groups;
}

/** The company address book of a domain: who is visible in it, by department, a page at a
 * time; the search asks the backend, so it covers the whole book. */
export function AddressBookPage() {
  const { client, domain } = useSession();
  const [filter, setFilter] = useState("");
  const [query, setQuery] = useState("");
  // Search once typing pauses.
  useEffect(() => {
    const t = setTimeout(() => setQuery(filter.trim()), 250);
    return () => clearTimeout(t);
  }, [filter]);
  const [totals, setTotals] = useState<{ shown: number; hidden: number } | null>(null);
  const book = usePaged<Listed>(
    (after) =>
      client
        .call("list_address_book", {
          domain: domain!,
          ...(query ? { query } : {}),
          ...(after === undefined ? {} : { after }),
        })
        .then((b) => {
          setTotals({ shown: b.shown, hidden: b.hidden });
          return {
            items: b.departments.flatMap((d) => d.entries.map((e) => ({ ...e, department: d.department }))),
            next: b.next,
          };
        }),
    [client, domain, query],
  );
  if (book.error) return <PageError error={book.error} what="the address book" />;
  if (!book.data) return <p className="empty">Loading…</p>;
  const groups = groupByDepartment(book.data);
  return (
    <section className="address-book">
      <div className="toolbar" role="search">
        <label className="filter">
          <span className="sr-only">Search the address book</span>
          <input type="search" placeholder="Search by name or address…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        {totals && (
          <span className="total" data-testid="address-book-total">
            {query ? `${totals.shown} found` : `${totals.shown} shown`} · {totals.hidden} hidden by the
            address-book setting
          </span>
        )}
      </div>
      {groups.length === 0 && <p className="empty">{query ? "Nobody matches this search." : "Nobody is visible in the address book."}</p>}
      {groups.map((d) => (
        <section key={d.department ?? ""} className="panel" aria-label={d.department ?? "Top level"} data-department={d.department ?? ""}>
          <h3>{d.department ?? "Top level"}</h3>
          <table className="table compact">
            <tbody>
              {d.entries.map((e) => (
                <tr key={e.address}>
                  <td>{e.display_name || <span className="muted">(no name)</span>}</td>
                  <td>
                    <a href={`mailto:${e.address}`}>{e.address}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      {book.more && (
        <button type="button" className="load-more" disabled={book.loadingMore} onClick={book.loadMore}>
          {book.loadingMore ? "Loading…" : `Show more (${book.data.length} of ${totals?.shown ?? "?"} shown)`}
        </button>
      )}
      <FormError error={book.moreError} />
    </section>
  );
}
