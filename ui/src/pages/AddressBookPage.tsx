import { useState } from "react";
import { useSession } from "../app/session";
import { PageError } from "../components/forms";
import { useAsync } from "../components/hooks";
import "./batch.css";

/** The company address book of a domain: who is visible in it, by department. */
export function AddressBookPage() {
  const { client, domain } = useSession();
  const book = useAsync(() => client.call("list_address_book", { domain: domain! }), [client, domain]);
  const [filter, setFilter] = useState("");
  if (book.error) return <PageError error={book.error} what="the address book" />;
  if (!book.data) return <p className="empty">Loading…</p>;
  const q = filter.trim().toLowerCase();
  const groups = book.data.departments
    .map((d) => ({
      ...d,
      entries: q ? d.entries.filter((e) => `${e.display_name} ${e.address}`.toLowerCase().includes(q)) : d.entries,
    }))
    .filter((d) => d.entries.length > 0);
  return (
    <section className="address-book">
      <div className="toolbar" role="search">
        <label className="filter">
          <span className="sr-only">Filter the address book</span>
          <input type="search" placeholder="Filter by name or address…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <span className="total" data-testid="address-book-total">
          {book.data.shown} shown · {book.data.hidden} hidden by the address-book setting
        </span>
      </div>
      {groups.length === 0 && <p className="empty">{q ? "Nobody matches this filter." : "Nobody is visible in the address book."}</p>}
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
    </section>
  );
}
