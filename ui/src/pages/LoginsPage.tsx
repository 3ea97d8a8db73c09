import { useMemo, useState } from "react";
import { useSession } from "../app/session";
import { ExportStatus, PageError } from "../components/forms";
import { useAsync, useDebounced, useExport } from "../components/hooks";
import { current, firstPage, loginFilterFromHash, newer, older, serviceLabel, when, why, type Pages } from "./loginLog";

const LIMIT = 50;

/**
 * The login log: every SMTP, IMAP and POP3 login attempt, newest first, with why it was
 * refused in plain words — "why can't she log in". Filtered and paged on the server (by
 * cursor: the log can be long); only the caller's domains are listed.
 */
export function LoginsPage() {
  const { client, domains } = useSession();
  const initial = useMemo(() => loginFilterFromHash(window.location.hash), []);
  const [domain, setDomain] = useState(initial.domain);
  const [accountText, setAccount] = useState(initial.account);
  const account = useDebounced(accountText.trim(), 300);
  const [pages, setPages] = useState<Pages>(firstPage);
  const before = current(pages);
  const page = useAsync(
    () =>
      client.call("list_logins", {
        ...(domain ? { domain } : {}),
        ...(account ? { account } : {}),
        ...(before !== undefined ? { before } : {}),
        limit: LIMIT,
      }),
    [client, domain, account, before],
  );
  const filter = (set: (v: string) => void) => (v: string) => {
    set(v);
    setPages(firstPage);
  };
  const exporting = useExport();
  const download = (format: "csv" | "xlsx") =>
    exporting.save(() => client.call("export_logins", { ...(domain ? { domain } : {}), ...(account ? { account } : {}), format }));
  const items = page.data?.items ?? [];
  const next = page.data?.next_before ?? null;
  return (
    <section className="logins-page">
      <div className="toolbar" role="search">
        <label>
          <span className="sr-only">Domain</span>
          <select value={domain} onChange={(e) => filter(setDomain)(e.target.value)} aria-label="Domain">
            <option value="">All domains</option>
            {domains.map((d) => (
              <option key={d.name} value={d.name}>
                {d.display_name}
              </option>
            ))}
          </select>
        </label>
        <input
          aria-label="Account"
          placeholder="Account, e.g. ann@example.com"
          value={accountText}
          onChange={(e) => filter(setAccount)(e.target.value)}
        />
        <button type="button" disabled={exporting.pending} onClick={() => void download("csv")}>
          Export CSV
        </button>
        <button type="button" disabled={exporting.pending} onClick={() => void download("xlsx")}>
          Export Excel
        </button>
        <span className="total">
          {page.data ? `${items.length} attempt${items.length === 1 ? "" : "s"}${next !== null ? " on this page" : ""}` : "Loading…"}
        </span>
      </div>
      <ExportStatus action={exporting} />
      {page.error ? (
        <PageError error={page.error} what="the login log" />
      ) : page.data && items.length === 0 ? (
        <p className="empty">No login attempts{account ? ` for ${account}` : ""} yet.</p>
      ) : (
        <table className="table logins" aria-label="Login log">
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Service</th>
              <th scope="col">Login</th>
              <th scope="col">Client</th>
              <th scope="col">Outcome</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-login-id={r.id} data-reason={r.reason}>
                <td>{when(r.at)}</td>
                <td>{serviceLabel(r.service)}</td>
                <td>
                  {r.login}
                  {r.account && r.account !== r.login.toLowerCase() && <span className="muted small"> → {r.account}</span>}
                </td>
                <td>
                  <code>{r.client}</code>
                </td>
                <td>
                  <span className={`badge ${r.outcome === "accepted" ? "active" : "locked"}`}>
                    {r.outcome === "accepted" ? "Accepted" : "Refused"}
                  </span>
                </td>
                <td>{why(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={before === undefined} onClick={() => setPages(newer(pages))}>
          ← Newer
        </button>
        <button type="button" disabled={next === null} onClick={() => next !== null && setPages(older(pages, next))}>
          Older →
        </button>
      </div>
    </section>
  );
}
