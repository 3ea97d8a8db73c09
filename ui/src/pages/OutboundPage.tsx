import { listAll } from "../api/client";
import { useState } from "react";
import { useSession } from "../app/session";
import type { RecipientStatus } from "../bindings/RecipientStatus";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync, usePaged } from "../components/hooks";
import { counts, parsePort, senderLabel, statusLabel, waiting } from "./outboundModel";
import { RelaySection } from "./RelaySection";

const STATUSES: RecipientStatus[] = ["queued", "deferred", "delivered", "bounced"];
/** Messages one page of the queue shows; "Show older messages" loads the next. */
const QUEUE_PAGE = 100;

/**
 * Outbound mail: the durable queue (per recipient: state, attempts, next attempt, the
 * remote server's last reply; retry now, bounce now, delete) and the transport table
 * (fixed routes by recipient domain) and the smarthost relays ({@link RelaySection}). Server-wide, like the Mail service page; the
 * backend refuses changes to a read-only role.
 */
export function OutboundPage() {
  const { client, caller } = useSession();
  const readOnly = caller.role === "helpdesk";
  const [status, setStatus] = useState<RecipientStatus | "">("");
  const [domain, setDomain] = useState("");
  const queue = usePaged(
    (after) =>
      client.call("list_outbound_queue", {
        ...(status ? { status } : {}),
        ...(domain.trim() ? { domain: domain.trim() } : {}),
        ...(after === undefined ? {} : { after }),
        limit: QUEUE_PAGE,
      }),
    [client, status, domain],
  );
  const transports = useAsync(() => listAll(client, "list_transports", {}), [client]);
  const act = useAction();
  const [route, setRoute] = useState({ domain: "", host: "", port: "25" });

  const onMessage = async (op: "retry_outbound" | "bounce_outbound" | "delete_outbound", id: number) => {
    const done = await act.run(() => client.call(op, { id }));
    if (done !== undefined) queue.reload();
  };
  const addRoute = async () => {
    const port = parsePort(route.port) ?? 0;
    const done = await act.run(() =>
      client.call("set_transport", { domain: route.domain.trim(), host: route.host.trim(), port }),
    );
    if (done !== undefined) {
      setRoute({ domain: "", host: "", port: "25" });
      transports.reload();
    }
  };
  const removeRoute = async (d: string) => {
    const done = await act.run(() => client.call("remove_transport", { domain: d }));
    if (done !== undefined) transports.reload();
  };

  const items = queue.data ?? [];
  const n = counts(items);
  return (
    <section className="outbound-page">
      <h2>Outbound queue</h2>
      <p className="muted">
        Mail to other domains waits here until the remote server accepts it. Temporary failures are retried (5 minutes,
        doubling to hourly); after 5 days the sender gets a bounce report.
      </p>
      <div className="toolbar" role="search">
        <select value={status} onChange={(e) => setStatus(e.target.value as RecipientStatus | "")} aria-label="Status">
          <option value="">Every state</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
        <input aria-label="Recipient domain" placeholder="Recipient domain" value={domain} onChange={(e) => setDomain(e.target.value)} />
        <button type="button" onClick={queue.reload}>
          Refresh
        </button>
        <span className="total" data-testid="queue-summary">
          {queue.data
            ? `${n.queued} queued, ${n.deferred} deferred, ${n.delivered} delivered, ${n.bounced} bounced` +
              (queue.more ? ` in the ${items.length} newest messages; older ones below` : "")
            : "Loading…"}
        </span>
      </div>
      <FormError error={act.error} fields={["domain", "host", "port"]} />
      {queue.error ? (
        <PageError error={queue.error} what="the outbound queue" />
      ) : queue.data && items.length === 0 ? (
        <p className="empty">The outbound queue is empty.</p>
      ) : (
        <table className="table outbound" aria-label="Outbound queue">
          <thead>
            <tr>
              <th scope="col">Queued (UTC)</th>
              <th scope="col">Sender</th>
              <th scope="col">Recipient</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next attempt</th>
              <th scope="col">Last reply</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.flatMap((m) =>
              m.recipients.map((r, i) => (
                <tr key={`${m.id}-${r.address}`} data-message-id={m.id} data-status={r.status}>
                  <td>{i === 0 ? m.created_at : ""}</td>
                  <td>{i === 0 ? senderLabel(m) : ""}</td>
                  <td>{r.address}</td>
                  <td>
                    <span className={`badge ${r.status === "delivered" ? "active" : r.status === "bounced" ? "locked" : ""}`}>
                      {statusLabel(r.status)}
                    </span>
                  </td>
                  <td>{r.attempts}</td>
                  <td>{r.next_attempt_at ?? "—"}</td>
                  <td>
                    <code>{r.last_reply ?? "—"}</code>
                  </td>
                  <td>
                    {i === 0 && !readOnly && (
                      <span className="actions">
                        {waiting(m) && (
                          <>
                            <button type="button" disabled={act.pending} onClick={() => onMessage("retry_outbound", m.id)}>
                              Retry now
                            </button>
                            <button type="button" disabled={act.pending} onClick={() => onMessage("bounce_outbound", m.id)}>
                              Bounce
                            </button>
                          </>
                        )}
                        <button type="button" disabled={act.pending} onClick={() => onMessage("delete_outbound", m.id)}>
                          Delete
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
      {queue.more && !queue.error && (
        <button type="button" className="load-more" disabled={queue.loadingMore} onClick={queue.loadMore}>
          {queue.loadingMore ? "Loading…" : "Show older messages"}
        </button>
      )}
      <FormError error={queue.moreError} />

      <h2>Transport table</h2>
      <p className="muted">
        Mail for a domain listed here goes to that host instead of the domain&apos;s MX hosts; <code>*</code> stands for
        every other domain. These routes win over the smarthost relay below and use no AUTH.
      </p>
      {transports.error ? (
        <PageError error={transports.error} what="the transport table" />
      ) : (
        <table className="table transports" aria-label="Transport table">
          <thead>
            <tr>
              <th scope="col">Domain</th>
              <th scope="col">Host</th>
              <th scope="col">Port</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {(transports.data ?? []).map((t) => (
              <tr key={t.domain}>
                <td>{t.domain}</td>
                <td>{t.host}</td>
                <td>{t.port}</td>
                <td>
                  {!readOnly && (
                    <button type="button" disabled={act.pending} onClick={() => removeRoute(t.domain)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readOnly && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void addRoute();
          }}
        >
          <Field label="Domain" name="domain" error={act.error}>
            {(p) => <input {...p} value={route.domain} onChange={(e) => setRoute({ ...route, domain: e.target.value })} />}
          </Field>
          <Field label="Host" name="host" error={act.error}>
            {(p) => <input {...p} value={route.host} onChange={(e) => setRoute({ ...route, host: e.target.value })} />}
          </Field>
          <Field label="Port" name="port" error={act.error}>
            {(p) => <input {...p} value={route.port} onChange={(e) => setRoute({ ...route, port: e.target.value })} />}
          </Field>
          <button type="submit" disabled={act.pending}>
            Set route
          </button>
        </form>
      )}

      <RelaySection client={client} readOnly={readOnly} />
    </section>
  );
}
