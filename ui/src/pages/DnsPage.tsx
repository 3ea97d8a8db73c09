import { listAll } from "../api/client";
import { Fragment, useEffect, useRef, useState } from "react";
import { toBackendError, type BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { CheckResult } from "../bindings/CheckResult";
import type { DkimAlgorithm } from "../bindings/DkimAlgorithm";
import type { DkimKey } from "../bindings/DkimKey";
import type { DnsSetup } from "../bindings/DnsSetup";
import type { DomainReport } from "../bindings/DomainReport";
import type { Status } from "../bindings/Status";
import { Confirm, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import {
  CHECK_LABELS,
  INFO_CHECKS,
  RECORD_CHECKS,
  browserStore,
  checkOf,
  groupRecords,
  loadDnsInputs,
  mapLimit,
  saveDnsInputs,
  statusLabel,
} from "./dnsPlan";

const SETUP_FIELDS = ["mail_host", "server_ip"];

/** The DNS wizard of a domain: DKIM keys, the records to publish and their live check; all domains' status. */
export function DnsPage() {
  const { domain } = useSession();
  return (
    <section className="dns-page">
      <DnsWizard key={domain} />
      <AllDomainsCheck />
    </section>
  );
}

function DnsWizard() {
  const { client, backend, domain, readOnly } = useSession();
  const [stored] = useState(() => loadDnsInputs(browserStore(), backend.id, domain!));
  const [mailHost, setMailHost] = useState(stored.mail_host);
  const [serverIp, setServerIp] = useState(stored.server_ip);
  // The request last asked for; a new object re-runs it. Starts with the remembered host.
  const [query, setQuery] = useState<DnsSetup | null>(() =>
    stored.mail_host ? setupParams(domain!, stored.mail_host, stored.server_ip) : null,
  );
  const plan = useAsync(
    query
      ? () =>
          client.call("dns_setup", query).then((p) => {
            saveDnsInputs(browserStore(), backend.id, query.domain, {
              mail_host: query.mail_host,
              server_ip: query.server_ip ?? "",
            });
            return p;
          })
      : null,
    [client, query],
  );
  const keys = useAsync(() => listAll(client, "list_dkim_keys", { domain: domain! }), [client, domain]);

  const check = () => setQuery(setupParams(domain!, mailHost, serverIp));
  const recheck = () => setQuery((q) => (q ? { ...q } : q));
  const report = plan.data?.report;

  return (
    <>
      <form
        className="panel dns-setup"
        aria-label="Mail server"
        onSubmit={(e) => {
          e.preventDefault();
          check();
        }}
      >
        <h3>Mail server of {domain}</h3>
        <div className="inline-form">
          <Field
            label="Mail host"
            name="mail_host"
            error={plan.error}
            hint="The host name of the server that receives and sends this domain's mail"
          >
            {(p) => (
              <input {...p} value={mailHost} onChange={(e) => setMailHost(e.target.value)} placeholder="mail.example.net" required />
            )}
          </Field>
          <Field label="Server IP (optional)" name="server_ip" error={plan.error} hint="Its public address, for SPF">
            {(p) => <input {...p} value={serverIp} onChange={(e) => setServerIp(e.target.value)} placeholder="192.0.2.10" />}
          </Field>
          <button type="submit" className="primary" disabled={plan.loading || !mailHost.trim()}>
            {plan.loading ? "Checking…" : plan.data || plan.error ? "Check again" : "Show records"}
          </button>
        </div>
        <FormError error={plan.error} fields={SETUP_FIELDS} />
      </form>

      <DkimKeys
        keys={keys.data}
        error={keys.error}
        readOnly={readOnly}
        onChanged={() => {
          keys.reload();
          recheck();
        }}
      />

      <h2 className="section-title">Records to publish</h2>
      {!query ? (
        <p className="empty">Enter the mail host to see the records {domain} needs.</p>
      ) : !plan.data ? (
        plan.loading && <p className="empty">Checking the DNS of {domain}…</p>
      ) : (
        <>
          <table className="table dns-records" aria-label="DNS records" aria-busy={plan.loading}>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Value</th>
                <th scope="col">Status</th>
                <th scope="col">Findings</th>
              </tr>
            </thead>
            <tbody>
              {groupRecords(plan.data.records).map((g) =>
                g.records.map((r, i) => (
                  <tr key={`${r.check}:${r.name}:${r.value}`} data-check={r.check} data-name={r.name}>
                    <th scope="row">{CHECK_LABELS[r.check] ?? r.check}</th>
                    <td>
                      <code>{r.name}</code>
                    </td>
                    <td>{r.record_type}</td>
                    <td>
                      <CopyValue value={r.value} label={`${r.record_type} value for ${r.name}`} />
                    </td>
                    {i === 0 && (
                      <>
                        <td rowSpan={g.records.length}>
                          <StatusBadge check={g.check} result={checkOf(report, g.check)} />
                        </td>
                        <td rowSpan={g.records.length}>
                          <Findings result={checkOf(report, g.check)} />
                        </td>
                      </>
                    )}
                  </tr>
                )),
              )}
            </tbody>
          </table>
          <h2 className="section-title">Optional</h2>
          <table className="table dns-records" aria-label="Optional checks">
            <tbody>
              {INFO_CHECKS.map((c) => (
                <tr key={c} data-check={c}>
                  <th scope="row">{CHECK_LABELS[c]}</th>
                  <td>
                    <StatusBadge check={c} result={checkOf(report, c)} />
                  </td>
                  <td>
                    <Findings result={checkOf(report, c)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function setupParams(domain: string, mailHost: string, serverIp: string): DnsSetup {
  const ip = serverIp.trim();
  return { domain, mail_host: mailHost.trim(), ...(ip ? { server_ip: ip } : {}) };
}

function DkimKeys({
  keys,
  error,
  readOnly,
  onChanged,
}: {
  keys: DkimKey[] | undefined;
  error: BackendError | null;
  readOnly: boolean;
  onChanged: () => void;
}) {
  const { client, domain } = useSession();
  const [algorithm, setAlgorithm] = useState<DkimAlgorithm>("rsa2048");
  const [removing, setRemoving] = useState<DkimKey | null>(null);
  const action = useAction();
  const remove = useAction();
  const generate = async () => {
    const key = await action.run(() => client.call("create_dkim_key", { domain: domain!, algorithm }));
    if (key) onChanged();
  };
  return (
    <section className="panel dkim-keys" aria-label="DKIM keys">
      <h3>DKIM keys</h3>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void generate();
        }}
      >
        <Field
          label="Algorithm"
          name="algorithm"
          error={action.error}
          hint={
            keys?.some((k) => k.active)
              ? "The new key signs from now on; the active one is retired (keep its record until mail signed with it is delivered)."
              : "RSA 2048 works everywhere; Ed25519 is shorter but not every receiver checks it."
          }
        >
          {(p) => (
            <select {...p} value={algorithm} onChange={(e) => setAlgorithm(e.target.value as DkimAlgorithm)}>
              <option value="rsa2048">RSA 2048</option>
              <option value="ed25519">Ed25519</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={readOnly || action.pending}>
          {action.pending ? "Generating…" : "Generate DKIM key"}
        </button>
      </form>
      <FormError error={action.error} fields={["algorithm"]} />
      {error ? (
        <PageError error={error} what="the DKIM keys" />
      ) : keys && keys.length === 0 ? (
        <p className="empty">No DKIM key yet: mail from {domain} is not signed.</p>
      ) : (
        <table className="table" aria-label="DKIM key list">
          <thead>
            <tr>
              <th scope="col">Selector</th>
              <th scope="col">Algorithm</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Record</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(keys ?? []).map((k) => (
              <tr key={k.selector} data-selector={k.selector}>
                <th scope="row">{k.selector}</th>
                <td>{k.algorithm === "rsa2048" ? "RSA 2048" : "Ed25519"}</td>
                <td>
                  <span className={k.active ? "badge active" : "badge"}>{k.active ? "active" : "retired"}</span>
                </td>
                <td>{new Date(k.created_at).toLocaleString()}</td>
                <td>
                  <code>{k.record_name}</code> TXT
                  <CopyValue value={k.record_value} label={`TXT value for ${k.record_name}`} />
                </td>
                <td className="actions">
                  {!k.active && (
                    <button type="button" disabled={readOnly} onClick={() => setRemoving(k)}>
                      Remove…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {removing && (
        <Confirm
          title={`Remove DKIM key ${removing.selector}?`}
          confirm="Remove"
          error={remove.error}
          pending={remove.pending}
          onClose={() => {
            setRemoving(null);
            remove.setError(null);
          }}
          onConfirm={() =>
            void remove
              .run(() => client.call("remove_dkim_key", { domain: domain!, selector: removing.selector }).then(() => true))
              .then((ok) => {
                if (ok) {
                  setRemoving(null);
                  onChanged();
                }
              })
          }
        >
          Mail signed with this retired key no longer verifies once its record is gone. Remove the record{" "}
          <code>{removing.record_name}</code> from the DNS too.
        </Confirm>
      )}
    </section>
  );
}

function StatusBadge({ check, result }: { check: string; result: CheckResult | null }) {
  if (!result) return <span className="muted">—</span>;
  return <StatusPill check={check} status={result.status} />;
}

function StatusPill({ check, status }: { check: string; status: Status }) {
  return (
    <span className={`dns-status ${status}`} data-status={status}>
      {statusLabel(check, status)}
    </span>
  );
}

function Findings({ result }: { result: CheckResult | null }) {
  if (!result || result.findings.length === 0) return null;
  return (
    <ul className="findings">
      {result.findings.map((f, i) => (
        <li key={`${f.code}:${i}`} className={`finding ${f.severity}`} data-code={f.code}>
          {f.message}
          {f.fix && (
            <div className="fix">
              Fix: <code>{f.fix}</code>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

function CopyValue({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-value">
      <code className="dns-value">{value}</code>
      <button
        type="button"
        className="ghost"
        aria-label={`Copy ${label}`}
        onClick={() =>
          void navigator.clipboard?.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

type Cell = { state: "checking" } | { state: "done"; report: DomainReport } | { state: "error"; error: BackendError };

/** Every domain of the backend checked, at most 4 at once: a domain × check status matrix. */
function AllDomainsCheck() {
  const { client, backend, domains, setDomain } = useSession();
  const [cells, setCells] = useState<Record<string, Cell>>({});
  const [running, setRunning] = useState(false);
  const generation = useRef(0);
  useEffect(
    () => () => {
      generation.current++; // answers after leaving the page are dropped
    },
    [],
  );
  const runAll = async () => {
    const run = ++generation.current;
    const names = domains.map((d) => d.name);
    setRunning(true);
    setCells(Object.fromEntries(names.map((n): [string, Cell] => [n, { state: "checking" }])));
    const set = (name: string, cell: Cell) => {
      if (generation.current === run) setCells((c) => ({ ...c, [name]: cell }));
    };
    await mapLimit(names, 4, async (name) => {
      const { mail_host, server_ip } = loadDnsInputs(browserStore(), backend.id, name);
      try {
        // The same aliases the wizard asks for (mail.<domain> → the mail host); without a
        // remembered mail host the CNAME column says "Not checked", never "Pass".
        const report = await client.call("check_dns", {
          domain: name,
          ...(mail_host ? { expected_mx: mail_host, expect_cnames: [`mail=${mail_host}`] } : {}),
          ...(server_ip ? { server_ip } : {}),
        });
        set(name, { state: "done", report });
      } catch (e) {
        set(name, { state: "error", error: toBackendError(e) });
      }
    });
    if (generation.current === run) setRunning(false);
  };
  const shown = domains.filter((d) => cells[d.name]);
  return (
    <section className="dns-all" aria-label="All domains">
      <h2 className="section-title">All domains of {backend.name}</h2>
      <div className="toolbar">
        <button type="button" disabled={running || domains.length === 0} onClick={() => void runAll()}>
          {running ? "Checking…" : "Check all domains"}
        </button>
      </div>
      {shown.length > 0 && (
        <table className="table dns-matrix" aria-label="DNS status of all domains" aria-busy={running}>
          <thead>
            <tr>
              <th scope="col">Domain</th>
              {RECORD_CHECKS.map((c) => (
                <th scope="col" key={c}>
                  {CHECK_LABELS[c]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => {
              const cell = cells[d.name];
              return (
                <Fragment key={d.name}>
                <tr data-domain={d.name}>
                  <th scope="row">
                    <button type="button" className="link" onClick={() => setDomain(d.name)} title="Open its records above">
                      {d.display_name}
                    </button>
                  </th>
                  {cell.state === "error" ? (
                    <td colSpan={RECORD_CHECKS.length}>
                      <span className="dns-error" role="alert" data-code={cell.error.code}>
                        {cell.error.message}
                      </span>
                    </td>
                  ) : (
                    RECORD_CHECKS.map((c) => {
                      const r = cell.state === "done" ? checkOf(cell.report, c) : null;
                      return (
                        <td key={c} data-check={c}>
                          {cell.state === "checking" ? <span className="muted">…</span> : <StatusBadge check={c} result={r} />}
                        </td>
                      );
                    })
                  )}
                </tr>
                {cell.state === "done" && <MatrixDetails domain={d.name} report={cell.report} />}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Under a domain's row of the matrix: what is wrong or unchecked, in words (no hovering). */
function MatrixDetails({ domain, report }: { domain: string; report: DomainReport }) {
  const notes = RECORD_CHECKS.flatMap((c) => {
    const r = checkOf(report, c);
    if (!r || r.status === "pass") return [];
    return r.findings.filter((f) => f.severity !== "info" || r.status === "unset").map((f) => ({ check: c, f }));
  });
  if (notes.length === 0) return null;
  return (
    <tr className="dns-matrix-details" data-details-for={domain}>
      <td colSpan={RECORD_CHECKS.length + 1}>
        <ul className="findings">
          {notes.map(({ check, f }, i) => (
            <li key={`${check}:${f.code}:${i}`} className={`finding ${f.severity}`} data-check={check} data-code={f.code}>
              <strong>{CHECK_LABELS[check]}:</strong> {f.message}
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}
