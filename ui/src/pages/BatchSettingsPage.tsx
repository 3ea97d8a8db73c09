import { useMemo, useState } from "react";
import { useSession } from "../app/session";
import type { Batch } from "../bindings/Batch";
import type { BatchTarget } from "../bindings/BatchTarget";
import { FormError, MoreButton, PageError, splitList } from "../components/forms";
import { useAction, useAsync, usePaged } from "../components/hooks";
import { BatchPanel } from "./BatchPanel";
import { listAll } from "../api/client";

type Kind = "domain" | "department" | "accounts";

/** `?department=…` or `?account=…` after the page in the URL hash (links from other pages). */
export function targetFromHash(hash: string): { kind: Kind; value: string } | null {
  const query = hash.split("?")[1];
  if (!query) return null;
  const q = new URLSearchParams(query);
  const department = q.get("department");
  if (department) return { kind: "department", value: department };
  const account = q.get("account");
  if (account) return { kind: "accounts", value: account };
  return null;
}

/**
 * Batch settings: pick a target — the domain default, a department with its
 * sub-departments, or accounts — then change its settings, reset passwords or clear
 * security questions as one batch; the latest batch can be undone.
 */
export function BatchSettingsPage() {
  const { client, domain } = useSession();
  const initial = useMemo(() => targetFromHash(window.location.hash), []);
  const [kind, setKind] = useState<Kind>(initial?.kind ?? "domain");
  const [department, setDepartment] = useState(initial?.kind === "department" ? initial.value : "");
  const [subdepartments, setSubdepartments] = useState(true);
  const [accountsText, setAccountsText] = useState(initial?.kind === "accounts" ? initial.value : "");
  const [tick, setTick] = useState(0);
  const departments = useAsync(() => listAll(client, "list_departments", { domain: domain! }), [client, domain]);

  const addresses = splitList(accountsText).map((a) => (a.includes("@") ? a : `${a}@${domain}`));
  const target: BatchTarget | null =
    kind === "domain"
      ? { kind: "domain" }
      : kind === "department"
        ? department
          ? { kind: "department", path: department, subdepartments }
          : null
        : addresses.length
          ? { kind: "accounts", addresses }
          : null;

  return (
    <section className="batch-page">
      <fieldset className="panel target-chooser">
        <legend>Apply to</legend>
        <div className="target-kinds" role="radiogroup" aria-label="Target">
          {(
            [
              ["domain", "Domain default"],
              ["department", "A department and its sub-departments"],
              ["accounts", "Accounts"],
            ] as const
          ).map(([k, label]) => (
            <label key={k} className="check">
              <input type="radio" name="target-kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {label}
            </label>
          ))}
        </div>
        {kind === "department" && (
          <div className="inline-form">
            <label>
              <span className="sr-only">Department</span>
              <select aria-label="Department" value={department} onChange={(e) => setDepartment(e.target.value)}>
                <option value="">Choose a department…</option>
                {(departments.data ?? []).map((d) => (
                  <option key={d.path} value={d.path}>
                    {d.path} ({d.total_accounts})
                  </option>
                ))}
              </select>
            </label>
            <label className="check">
              <input type="checkbox" checked={subdepartments} onChange={(e) => setSubdepartments(e.target.checked)} /> Sub-departments
              follow too (their own overrides of the changed settings are replaced)
            </label>
          </div>
        )}
        {kind === "accounts" && (
          <label className="field">
            <span>Addresses (one per line; a local part means @{domain})</span>
            <textarea aria-label="Addresses" rows={3} value={accountsText} onChange={(e) => setAccountsText(e.target.value)} />
          </label>
        )}
        {departments.error && <PageError error={departments.error} what="the departments" />}
      </fieldset>

      {target ? (
        <BatchPanel key={JSON.stringify(target)} target={target} onChanged={() => setTick((t) => t + 1)} />
      ) : (
        <p className="empty">{kind === "department" ? "Choose a department." : "Enter one or more addresses."}</p>
      )}

      <RecentBatches tick={tick} onUndone={() => setTick((t) => t + 1)} />
    </section>
  );
}

/** The domain's recent batches; the newest can be undone when nothing it touched changed since. */
function RecentBatches({ tick, onUndone }: { tick: number; onUndone: () => void }) {
  const { client, domain, readOnly } = useSession();
  const list = usePaged(
    (after) => client.call("list_batches", { domain: domain!, limit: 10, ...(after === undefined ? {} : { after }) }),
    [client, domain, tick],
  );
  const undo = useAction();
  const [message, setMessage] = useState<string | null>(null);
  const batches: Batch[] = list.data ?? [];
  const latest = batches[0];
  return (
    <section className="panel recent-batches" aria-label="Recent batches">
      <h3>Recent batches</h3>
      {list.error && <PageError error={list.error} what="the batches" />}
      {batches.length === 0 && list.data && <p className="muted small">No batches yet in {domain}.</p>}
      {latest && (
        <div className="notice-row">
          <span>
            Last batch #{latest.id}: {latest.summary} — {latest.target}.
          </span>
          {latest.undo === "available" ? (
            <button
              type="button"
              disabled={undo.pending || readOnly}
              onClick={() =>
                void undo.run(() => client.call("undo_batch", { domain: domain!, id: latest.id })).then((r) => {
                  if (r) {
                    setMessage(r.message);
                    onUndone();
                  }
                })
              }
            >
              Undo last batch
            </button>
          ) : (
            <span className="muted small">{latest.note}</span>
          )}
        </div>
      )}
      <FormError error={undo.error} />
      {message && (
        <div className="ok" role="status">
          {message}
        </div>
      )}
      {batches.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Target</th>
              <th scope="col">What</th>
              <th scope="col">Accounts</th>
              <th scope="col">Undo</th>
            </tr>
          </thead>
          <tbody>
            {batches.map((b) => (
              <tr key={b.id} data-batch={b.id}>
                <td>{b.id}</td>
                <td>{b.at.replace("T", " ").replace("Z", "")}</td>
                <td>{b.actor}</td>
                <td>{b.target}</td>
                <td>{b.summary}</td>
                <td>{b.accounts}</td>
                <td>{b.undo === "available" ? "possible" : b.undo === "undone" ? "undone" : "not possible"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} label="Show older batches" />
    </section>
  );
}
