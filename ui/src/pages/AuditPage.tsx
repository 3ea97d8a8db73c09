import { Fragment, useState } from "react";
import { useSession } from "../app/session";
import { PageError } from "../components/forms";
import { useAsync, useDebounced } from "../components/hooks";
import { actionWords, auditChanges } from "./auditModel";

const LIMIT = 50;

/** The audit log, newest first, filtered and paged on the server. */
export function AuditPage() {
  const { client, domains } = useSession();
  const [domain, setDomain] = useState("");
  const [actorText, setActor] = useState("");
  const [actionText, setAction] = useState("");
  const actor = useDebounced(actorText.trim(), 300);
  // Typed as words ("create account"), matched as the action's code (create_account).
  const action = useDebounced(actionText.trim().toLowerCase().replace(/\s+/g, "_"), 300);
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<number | null>(null);
  const page = useAsync(
    () =>
      client.call("list_audit", {
        ...(domain ? { domain } : {}),
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        offset,
        limit: LIMIT,
      }),
    [client, domain, actor, action, offset],
  );
  const filter = (set: (v: string) => void) => (v: string) => {
    set(v);
    setOffset(0);
  };
  const total = page.data?.total ?? 0;
  return (
    <section className="audit-page">
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
        <input aria-label="Admin" placeholder="Admin" value={actorText} onChange={(e) => filter(setActor)(e.target.value)} />
        <input
          aria-label="Action"
          placeholder="Action, e.g. create account"
          value={actionText}
          onChange={(e) => filter(setAction)(e.target.value)}
        />
        <span className="total">{page.data ? `${total} change${total === 1 ? "" : "s"}` : "Loading…"}</span>
      </div>
      {page.error ? (
        <PageError error={page.error} what="the audit log" />
      ) : (
        <table className="table audit" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">Admin</th>
              <th scope="col">Action</th>
              <th scope="col">Domain</th>
              <th scope="col">Target</th>
              <th scope="col">
                <span className="sr-only">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(page.data?.items ?? []).map((e) => (
              <Fragment key={e.id}>
                <tr>
                  <td>{e.at.replace("T", " ").replace("Z", "")}</td>
                  <td>{e.actor}</td>
                  <td data-action={e.action}>{actionWords(e.action)}</td>
                  <td>{e.domain ?? ""}</td>
                  <td>{e.target}</td>
                  <td>
                    <button
                      type="button"
                      className="ghost small"
                      aria-expanded={open === e.id}
                      onClick={() => setOpen(open === e.id ? null : e.id)}
                    >
                      {open === e.id ? "Hide changes" : "Changes"}
                    </button>
                  </td>
                </tr>
                {open === e.id && (
                  <tr className="audit-detail">
                    <td colSpan={6}>
                      <ChangeList before={e.before} after={e.after} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))}>
          ← Newer
        </button>
        <span>
          {total === 0 ? "0" : `${offset + 1}–${Math.min(offset + LIMIT, total)}`} of {total}
        </span>
        <button type="button" disabled={offset + LIMIT >= total} onClick={() => setOffset(offset + LIMIT)}>
          Older →
        </button>
      </div>
    </section>
  );
}

/** An entry's changes as "field: before → after" lines. */
function ChangeList({ before, after }: { before: unknown; after: unknown }) {
  const changes = auditChanges(before, after);
  if (changes.length === 0) return <p className="muted">No field changed.</p>;
  return (
    <ul className="audit-changes">
      {changes.map((c) => (
        <li key={c.field} data-field={c.field}>
          <strong>{c.field}:</strong> {c.before === null ? <em>(not set)</em> : c.before} → {c.after === null ? <em>(removed)</em> : c.after}
        </li>
      ))}
    </ul>
  );
}
