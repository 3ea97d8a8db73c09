import { useMemo, useState } from "react";
import { useSession } from "../app/session";
import type { TraceStage } from "../bindings/TraceStage";
import { ExportStatus, Field, FormError, PageError, wholeNumber } from "../components/forms";
import { useAction, useAsync, useDebounced, useExport } from "../components/hooks";
import {
  OUTCOMES,
  currentCursor,
  firstCursor,
  nextCursor,
  outcomeClass,
  previousCursor,
  recipientsLabel,
  senderLabel,
  traceFilterFromHash,
  traceParams,
  when,
  type Cursors,
  type TraceFilter,
} from "./traceModel";

const LIMIT = 50;

/**
 * The message trace — "why did this mail bounce or land in spam": every message the server
 * handled, newest first, searched on the server by address or domain, Message-ID, outcome and
 * time (cursor pages: the trace is long); a message's steps in plain words; exports. Only the
 * caller's domains' mail is listed.
 */
export function TracePage() {
  const { client, caller, readOnly } = useSession();
  const initial = useMemo(() => traceFilterFromHash(window.location.hash), []);
  const [form, setForm] = useState<TraceFilter>(initial);
  const filter = useDebounced(form, 300);
  const [cursors, setCursors] = useState<Cursors>(firstCursor);
  const [open, setOpen] = useState<number | null>(null);
  const after = currentCursor(cursors);
  const params = traceParams(filter);
  const page = useAsync(
    () => client.call("list_message_trace", { ...params, ...(after ? { after } : {}), limit: LIMIT }),
    [client, JSON.stringify(params), after],
  );
  const detail = useAsync(open === null ? null : () => client.call("get_message_trace", { id: open }), [client, open]);
  const settings = useAsync(() => client.call("get_trace_settings", {}), [client]);
  const exporting = useExport();
  const set = (patch: Partial<TraceFilter>) => {
    setForm((f) => ({ ...f, ...patch }));
    setCursors(firstCursor);
    setOpen(null);
  };
  const download = (format: "csv" | "xlsx") => exporting.save(() => client.call("export_message_trace", { ...params, format }));
  const items = page.data?.items ?? [];
  const next = page.data?.next ?? null;
  const mayChangeRetention = !readOnly && (caller.role === "owner" || (caller.domains === null && caller.pages.includes("smtp")));
  return (
    <section className="trace-page">
      <div className="toolbar" role="search">
        <input
          aria-label="Address or domain"
          placeholder="Address or domain, e.g. ann@example.com"
          value={form.search}
          onChange={(e) => set({ search: e.target.value })}
        />
        <input
          aria-label="Message-ID"
          placeholder="Message-ID"
          value={form.messageId}
          onChange={(e) => set({ messageId: e.target.value })}
        />
        <label>
          <span className="sr-only">What happened</span>
          <select aria-label="What happened" value={form.outcome} onChange={(e) => set({ outcome: e.target.value as TraceStage | "" })}>
            <option value="">Any outcome</option>
            {OUTCOMES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          From (UTC){" "}
          <input type="datetime-local" aria-label="From (UTC)" value={form.since} onChange={(e) => set({ since: e.target.value })} />
        </label>
        <label>
          Until (UTC){" "}
          <input type="datetime-local" aria-label="Until (UTC)" value={form.until} onChange={(e) => set({ until: e.target.value })} />
        </label>
        <button type="button" disabled={exporting.pending} onClick={() => void download("csv")}>
          Export CSV
        </button>
        <button type="button" disabled={exporting.pending} onClick={() => void download("xlsx")}>
          Export Excel
        </button>
      </div>
      <ExportStatus action={exporting} />
      {page.error ? (
        <PageError error={page.error} what="the message trace" />
      ) : page.data && items.length === 0 ? (
        <p className="empty">No messages match.</p>
      ) : (
        <table className="table trace" aria-label="Message trace">
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">What happened</th>
              <th scope="col">
                <span className="sr-only">Steps</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((m) => (
              <tr key={m.id} data-trace-id={m.id} data-outcome={m.outcome} className={open === m.id ? "selected" : undefined}>
                <td>{when(m.at)}</td>
                <td>{senderLabel(m)}</td>
                <td>{recipientsLabel(m)}</td>
                <td>
                  <span className={`badge ${outcomeClass(m.outcome)}`}>{m.outcome_text}</span>
                </td>
                <td>
                  <button type="button" className="link" onClick={() => setOpen(open === m.id ? null : m.id)} aria-expanded={open === m.id}>
                    {open === m.id ? "Hide steps" : "Show steps"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={after === undefined} onClick={() => setCursors(previousCursor(cursors))}>
          ← Newer
        </button>
        <button type="button" disabled={next === null} onClick={() => next !== null && setCursors(nextCursor(cursors, next))}>
          Older →
        </button>
      </div>
      {open !== null && (
        <div className="panel" role="region" aria-label="Message steps">
          {detail.error ? (
            <PageError error={detail.error} what="this message's steps" />
          ) : !detail.data ? (
            <p>Loading…</p>
          ) : (
            <>
              <h3>
                {senderLabel(detail.data.message)} → {detail.data.message.recipients.join(", ")}
              </h3>
              <dl className="facts">
                <dt>Received</dt>
                <dd>{when(detail.data.message.at)}</dd>
                <dt>From the computer at</dt>
                <dd>{detail.data.message.client || "—"}</dd>
                {detail.data.message.account && (
                  <>
                    <dt>Signed in as</dt>
                    <dd>{detail.data.message.account}</dd>
                  </>
                )}
                {detail.data.message.size !== null && (
                  <>
                    <dt>Size</dt>
                    <dd>{detail.data.message.size.toLocaleString()} bytes</dd>
                  </>
                )}
                {detail.data.message.message_id && (
                  <>
                    <dt>Message-ID</dt>
                    <dd>{detail.data.message.message_id}</dd>
                  </>
                )}
              </dl>
              <ol className="steps" aria-label="What happened, step by step">
                {detail.data.steps.map((s, i) => (
                  <li key={i} data-stage={s.stage}>
                    <span className="muted small">{when(s.at)}</span> {s.text}
                  </li>
                ))}
              </ol>
            </>
          )}
        </div>
      )}
      {settings.data && <Retention days={settings.data.retention_days} mayChange={mayChangeRetention} onChanged={settings.reload} />}
    </section>
  );
}

function Retention({ days, mayChange, onChanged }: { days: number; mayChange: boolean; onChanged: () => void }) {
  const { client } = useSession();
  const [text, setText] = useState(String(days));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const save = async () => {
    setSaved(false);
    // An empty or non-numeric field is refused at the field, never sent as 0.
    const done = await action.run(() =>
      client.call("update_trace_settings", { retention_days: wholeNumber(text, "retention_days", "Days") }),
    );
    if (done) {
      setSaved(true);
      onChanged();
    }
  };
  if (!mayChange) return <p className="muted small">Messages are kept in the trace for {days} days.</p>;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field label="Keep messages in the trace for (days)" name="retention_days" error={action.error}>
        {(p) => <input {...p} inputMode="numeric" value={text} onChange={(e) => setText(e.target.value)} />}
      </Field>
      <button type="submit" disabled={action.pending}>
        Save
      </button>
      {saved && <span role="status"> Saved: messages are kept {days} days.</span>}
      <FormError error={action.error} fields={["retention_days"]} />
    </form>
  );
}
