import { listAll } from "../api/client";
import { useEffect, useState, type ReactNode } from "react";
import { BackendError, toBackendError } from "../api/errors";
import { MAX_IMPORT_BYTES, fileToBase64, formatBytes } from "../api/files";
import { useSession } from "../app/session";
import type { SmtpImportMode } from "../bindings/SmtpImportMode";
import type { SmtpRule } from "../bindings/SmtpRule";
import type { SmtpRuleAction } from "../bindings/SmtpRuleAction";
import type { SmtpRuleKind } from "../bindings/SmtpRuleKind";
import type { SmtpSettings } from "../bindings/SmtpSettings";
import type { SmtpStatus } from "../bindings/SmtpStatus";
import { Confirm, Dialog, DialogButtons, ExportStatus, Field, FileErrors, FormError, PageError, XlsxFileField } from "../components/forms";
import { useAction, useAsync, useExport } from "../components/hooks";
import {
  RULE_ACTIONS,
  RULE_KINDS,
  STATUS_REFRESH_MS,
  actionLabel,
  formFromSettings,
  formatLatency,
  formatTime,
  kindLabel,
  listenerLabel,
  movedPosition,
  ordered,
  refusalCounts,
  settingsFromForm,
  stageLabel,
  totalRefused,
  type SettingsForm,
} from "./smtpModel";
import { SmsGatewaySection } from "./SmsGatewaySection";


/**
 * The SMTP service of this backend: live counters and the last refusals (read again every
 * few seconds), the server-wide settings, and the black/white list rules (edit, order,
 * import/export). Changes apply to the running service without a restart.
 */
export function MailServicePage() {
  const { client } = useSession();
  const rules = useAsync(() => listAll(client, "list_smtp_rules", {}), [client]);
  const list = ordered(rules.data ?? []);
  return (
    <section className="mail-service-page">
      <StatusPanel rules={list} />
      <RulesPanel rules={list} loadError={rules.error} reload={rules.reload} />
      <SettingsPanel />
      <SmsGatewaySection />
    </section>
  );
}

function StatusPanel({ rules }: { rules: SmtpRule[] }) {
  const { client } = useSession();
  const status = useAsync(() => client.call("get_smtp_status", {}), [client]);
  const { reload } = status;
  useEffect(() => {
    const timer = setInterval(reload, STATUS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  if (status.error && !status.data) return <PageError error={status.error} what="the SMTP service's status" />;
  if (!status.data) return <p className="muted">Loading the live counters…</p>;
  return <StatusView status={status.data} rules={rules} stale={!!status.error} />;
}

function Figure({ label, value, name }: { label: string; value: ReactNode; name: string }) {
  return (
    <div className="figure" data-counter={name}>
      <div className="figure-value">{value}</div>
      <div className="figure-label">{label}</div>
    </div>
  );
}

function StatusView({ status, rules, stale }: { status: SmtpStatus; rules: SmtpRule[]; stale: boolean }) {
  const c = status.counters;
  const counts = refusalCounts(c, rules);
  return (
    <div className="panel" aria-label="Live counters" role="region">
      <h3>
        Live counters{" "}
        <span className="muted small" data-running={status.running}>
          {status.running ? `running on ${status.listeners.map((l) => `${l.address} (${listenerLabel(l.kind)})`).join(", ")}` : "the SMTP service is not running in this backend"}
        </span>
      </h3>
      {stale && (
        <div className="form-error" role="alert">
          Could not read the counters just now; showing the last ones.
        </div>
      )}
      <div className="figures">
        <Figure name="messages_accepted" label="Messages accepted" value={c.messages_accepted} />
        <Figure name="refused" label="Refusals" value={totalRefused(c)} />
        <Figure name="messages_discarded" label="Discarded" value={c.messages_discarded} />
        <Figure name="junked" label="Into Junk (DMARC / SPF)" value={`${c.junked["dmarc_fail"] ?? 0} / ${c.junked["spf_fail"] ?? 0}`} />
        <Figure name="recipients_accepted" label="Recipients accepted" value={c.recipients_accepted} />
        <Figure name="bytes_accepted" label="Accepted size" value={formatBytes(c.bytes_accepted)} />
        <Figure name="connections" label="Connections (open now)" value={`${c.connections} (${c.active_sessions})`} />
        <Figure name="auth" label="Logins ok / failed" value={`${c.auth_succeeded} / ${c.auth_failed}`} />
        <Figure
          name="latency"
          label="Acceptance latency p50 / p99"
          value={`${formatLatency(c.accept_latency_p50_ms, c.messages_accepted)} / ${formatLatency(c.accept_latency_p99_ms, c.messages_accepted)}`}
        />
        <Figure name="delivered" label="Copies delivered to mailboxes" value={status.delivery.copies} />
        <Figure name="waiting" label="Accepted, waiting for delivery" value={status.delivery.waiting} />
        <Figure
          name="disclaimers"
          label="Disclaimers appended / signed mail left untouched"
          value={`${status.delivery.disclaimers} / ${status.delivery.disclaimers_signed_untouched}`}
        />
        <Figure
          name="outbound"
          label="Outbound delivered / deferred / bounced"
          value={`${status.outbound.delivered} / ${status.outbound.deferred} / ${status.outbound.bounced}`}
        />
      </div>
      <h4>Outbound by destination</h4>
      <p className="muted small">Recipients in the outbound queue per destination domain (the busiest 100), whether or not the mail server runs here.</p>
      {status.destinations.length === 0 ? (
        <p className="empty">Nothing queued for other domains yet.</p>
      ) : (
        <table className="table" aria-label="Outbound by destination">
          <thead>
            <tr>
              <th scope="col">Destination</th>
              <th scope="col">Queued</th>
              <th scope="col">Deferred</th>
              <th scope="col">Delivered</th>
              <th scope="col">Bounced</th>
            </tr>
          </thead>
          <tbody>
            {status.destinations.map((d) => (
              <tr key={d.domain} data-domain={d.domain}>
                <th scope="row">{d.domain}</th>
                <td>{d.queued}</td>
                <td>{d.deferred}</td>
                <td>{d.delivered}</td>
                <td>{d.bounced}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Refusals by rule</h4>
      {counts.length === 0 ? (
        <p className="empty">No refusals yet.</p>
      ) : (
        <table className="table" aria-label="Refusals by rule">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Refusals</th>
            </tr>
          </thead>
          <tbody>
            {counts.map((r) => (
              <tr key={r.rule} data-rule={r.rule}>
                <th scope="row">
                  {r.label} {r.listRule ? <span className="muted small">(list rule)</span> : null}
                </th>
                <td>{r.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Last refusals</h4>
      {status.last_refusals.length === 0 ? (
        <p className="empty">No refusals yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-label="Last refusals">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Client</th>
                <th scope="col">Stage</th>
                <th scope="col">Sender</th>
                <th scope="col">Recipient</th>
                <th scope="col">Rule</th>
                <th scope="col">Reply</th>
              </tr>
            </thead>
            <tbody>
              {status.last_refusals.map((r, i) => (
                <tr key={`${r.at}-${i}`} data-rule={r.rule}>
                  <td>{formatTime(r.at)}</td>
                  <td>
                    {r.client_ip} <span className="muted small">{r.listener}</span>
                  </td>
                  <td>{stageLabel(r.stage)}</td>
                  <td>{r.sender === null ? "" : r.sender === "" ? "<>" : r.sender}</td>
                  <td>{r.recipient ?? ""}</td>
                  <td>{r.rule}</td>
                  <td>
                    <code>{r.reply}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

type Modal =
  | { kind: "edit"; rule: SmtpRule | null }
  | { kind: "remove"; rule: SmtpRule }
  | { kind: "import" }
  | null;

function RulesPanel({ rules, loadError, reload }: { rules: SmtpRule[]; loadError: BackendError | null; reload: () => void }) {
  const { client, readOnly } = useSession();
  const [modal, setModal] = useState<Modal>(null);
  const action = useAction();
  const done = () => {
    setModal(null);
    reload();
  };
  const move = async (i: number, by: -1 | 1) => {
    const position = movedPosition(rules, i, by);
    if (position === null) return;
    if (await action.run(() => client.call("move_smtp_rule", { id: rules[i].id, position }))) reload();
  };
  const exporting = useExport();
  const download = (which: "export_smtp_rules" | "smtp_rules_template") => exporting.save(() => client.call(which, {}));
  return (
    <div className="panel" role="region" aria-label="Black and white list">
      <h3>Black and white list</h3>
      <p className="muted small">
        Checked in order, the first matching rule decides: client IP rules when a client connects, sender rules at MAIL FROM.
        Refusals are counted under the rule&apos;s name. Changes apply to new connections and transactions at once.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" disabled={readOnly} onClick={() => setModal({ kind: "edit", rule: null })}>
          Add rule
        </button>
        <button type="button" disabled={readOnly} onClick={() => setModal({ kind: "import" })}>
          Import…
        </button>
        <button type="button" disabled={exporting.pending} onClick={() => void download("export_smtp_rules")}>
          Export
        </button>
        <button type="button" className="link" disabled={exporting.pending} onClick={() => void download("smtp_rules_template")}>
          Import template
        </button>
        <ExportStatus action={exporting} />
      </div>
      <FormError error={action.error} />
      {loadError ? (
        <PageError error={loadError} what="the rules" />
      ) : rules.length === 0 ? (
        <p className="empty">No rules.</p>
      ) : (
        <table className="table" aria-label="Rules">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Name</th>
              <th scope="col">Matches</th>
              <th scope="col">Value</th>
              <th scope="col">Action</th>
              <th scope="col">Note</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r, i) => (
              <tr key={r.id} data-rule={r.name}>
                <td>{i + 1}</td>
                <th scope="row">{r.name}</th>
                <td>{kindLabel(r.kind)}</td>
                <td>
                  <code>{r.value}</code>
                </td>
                <td data-action={r.action}>{actionLabel(r.action)}</td>
                <td>{r.note}</td>
                <td className="actions">
                  <button type="button" className="ghost small" aria-label={`Move ${r.name} up`} disabled={readOnly || i === 0} onClick={() => void move(i, -1)}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="ghost small"
                    aria-label={`Move ${r.name} down`}
                    disabled={readOnly || i === rules.length - 1}
                    onClick={() => void move(i, 1)}
                  >
                    ↓
                  </button>
                  <button type="button" disabled={readOnly} aria-label={`Edit ${r.name}`} onClick={() => setModal({ kind: "edit", rule: r })}>
                    Edit…
                  </button>
                  <button type="button" disabled={readOnly} aria-label={`Remove ${r.name}`} onClick={() => setModal({ kind: "remove", rule: r })}>
                    Remove…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {modal?.kind === "edit" && <RuleDialog rule={modal.rule} onClose={() => setModal(null)} onSaved={done} />}
      {modal?.kind === "remove" && <RemoveRule rule={modal.rule} onClose={() => setModal(null)} onRemoved={done} />}
      {modal?.kind === "import" && <ImportRules onClose={() => setModal(null)} onImported={reload} />}
    </div>
  );
}

function RuleDialog({ rule, onClose, onSaved }: { rule: SmtpRule | null; onClose: () => void; onSaved: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState(rule?.name ?? "");
  const [kind, setKind] = useState<SmtpRuleKind>(rule?.kind ?? "sender_domain");
  const [value, setValue] = useState(rule?.value ?? "");
  const [act, setAct] = useState<SmtpRuleAction>(rule?.action ?? "reject");
  const [note, setNote] = useState(rule?.note ?? "");
  const action = useAction();
  const submit = async () => {
    const saved = await action.run(() =>
      rule
        ? client.call("update_smtp_rule", { id: rule.id, name, kind, value, action: act, note })
        : client.call("add_smtp_rule", { name, kind, value, action: act, note }),
    );
    if (saved) onSaved();
  };
  const placeholder = RULE_KINDS.find((k) => k.kind === kind)?.placeholder;
  return (
    <Dialog title={rule ? `Edit rule ${rule.name}` : "Add rule"} onClose={onClose} onSubmit={() => void submit()}>
      <div className="dialog-body">
        <Field label="Name" name="name" error={action.error} hint="Refusals are counted under this name">
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Matches" name="kind" error={action.error}>
          {(p) => (
            <select {...p} value={kind} onChange={(e) => setKind(e.target.value as SmtpRuleKind)}>
              {RULE_KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Value" name="value" error={action.error}>
          {(p) => <input {...p} value={value} placeholder={placeholder} onChange={(e) => setValue(e.target.value)} />}
        </Field>
        <Field label="Action" name="action" error={action.error}>
          {(p) => (
            <select {...p} value={act} onChange={(e) => setAct(e.target.value as SmtpRuleAction)}>
              {RULE_ACTIONS.map((a) => (
                <option key={a.action} value={a.action}>
                  {a.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Note" name="note" error={action.error}>
          {(p) => <input {...p} value={note} onChange={(e) => setNote(e.target.value)} />}
        </Field>
        <FormError error={action.error} fields={["name", "kind", "value", "action", "note"]} />
      </div>
      <DialogButtons submit={rule ? "Save" : "Add rule"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function RemoveRule({ rule, onClose, onRemoved }: { rule: SmtpRule; onClose: () => void; onRemoved: () => void }) {
  const { client } = useSession();
  const action = useAction();
  return (
    <Confirm
      title={`Remove rule ${rule.name}?`}
      confirm="Remove"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action.run(() => client.call("remove_smtp_rule", { id: rule.id })).then((r) => {
          if (r !== undefined) onRemoved();
        })
      }
    >
      {kindLabel(rule.kind)} <code>{rule.value}</code> will no longer be {actionLabel(rule.action).toLowerCase()}ed.
    </Confirm>
  );
}

function ImportRules({ onClose, onImported }: { onClose: () => void; onImported: () => void }) {
  const { client } = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<SmtpImportMode>("append");
  const [error, setError] = useState<BackendError | null>(null);
  const [pending, setPending] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const start = async () => {
    setError(null);
    setResult(null);
    if (!file) {
      setError(new BackendError("validation", "Choose an XLSX file first.", "file"));
      return;
    }
    if (file.size > MAX_IMPORT_BYTES) {
      setError(new BackendError("validation", `${file.name} has ${formatBytes(file.size)}; a rules file may have at most 1 MB.`, "file"));
      return;
    }
    setPending(true);
    try {
      const content_base64 = await fileToBase64(file);
      const done = await client.call("import_smtp_rules", { file_name: file.name, content_base64, mode });
      setResult(`Imported ${done.added} rule${done.added === 1 ? "" : "s"}${done.removed ? `, removed ${done.removed}` : ""}.`);
      onImported();
    } catch (e) {
      setError(toBackendError(e));
    } finally {
      setPending(false);
    }
  };
  return (
    <Dialog title="Import rules" onClose={onClose} className="wide">
      <div className="dialog-body import-dialog">
        <p className="muted small">
          One rule per row of the import template (name, kind, value, action, note). The whole file is checked first; if a row
          has a problem, nothing is imported.
        </p>
        <XlsxFileField
          id="rules-file"
          disabled={pending}
          invalid={error?.field === "file"}
          onFile={(f) => {
            setFile(f);
            setError(null);
            setResult(null);
          }}
        />
        <label className="check">
          <input type="radio" name="mode" checked={mode === "append"} onChange={() => setMode("append")} /> Add after the
          existing rules
        </label>
        <label className="check">
          <input type="radio" name="mode" checked={mode === "replace"} onChange={() => setMode("replace")} /> Replace all
          existing rules
        </label>
        {result && (
          <div className="ok" role="status">
            {result}
          </div>
        )}
        <FileErrors error={error} />
      </div>
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          {result ? "Close" : "Cancel"}
        </button>
        {!result && (
          <button type="button" className="primary" disabled={pending} onClick={() => void start()}>
            {pending ? "Importing…" : "Import"}
          </button>
        )}
      </div>
    </Dialog>
  );
}

function SettingsPanel() {
  const { client } = useSession();
  const loaded = useAsync(() => client.call("get_smtp_settings", {}), [client]);
  if (loaded.error) return <PageError error={loaded.error} what="the SMTP settings" />;
  if (!loaded.data) return null;
  return <SettingsEditor settings={loaded.data} />;
}

const SETTINGS_FIELDS = [
  "hostname",
  "banner",
  "max_message_bytes",
  "max_recipients",
  "command_timeout_secs",
  "data_timeout_secs",
  "max_errors",
  "max_auth_failures",
  "max_connections",
  "connection.max_connections_per_ip",
  "connection.messages_per_ip.count",
  "connection.messages_per_ip.window_secs",
  "probing.slow_after",
  "probing.delay_step_secs",
  "probing.max_unknown",
  "probing.penalty_secs",
  "data.in_flight_bytes",
];

function SettingsEditor({ settings }: { settings: SmtpSettings }) {
  const { client, readOnly } = useSession();
  const [form, setForm] = useState<SettingsForm>(() => formFromSettings(settings));
  const action = useAction();
  const [ok, setOk] = useState(false);
  // The budget the running service was started with is the one loaded with the page, unless
  // a save changed it: then it only applies after a restart, and the page says so.
  const [started] = useState(settings.data.in_flight_bytes);
  const [saved, setSaved] = useState(settings.data.in_flight_bytes);
  const set = <K extends keyof SettingsForm>(key: K, value: SettingsForm[K]) => {
    setOk(false);
    setForm((f) => ({ ...f, [key]: value }));
  };
  const submit = async () => {
    setOk(false);
    const updated = await action.run(() => client.call("update_smtp_settings", { settings: settingsFromForm(form) }));
    // Show what the backend stored (canonical host name, trimmed banner).
    if (updated) {
      setForm(formFromSettings(updated));
      setSaved(updated.data.in_flight_bytes);
    }
    setOk(!!updated);
  };
  const text = (key: keyof SettingsForm, field: string, label: string, hint?: string, type = "number") => (
    <Field label={label} name={field} error={action.error} hint={hint}>
      {(p) => <input {...p} type={type} value={form[key] as string} onChange={(e) => set(key, e.target.value)} />}
    </Field>
  );
  const check = (key: keyof SettingsForm, label: string) => (
    <label className="check">
      <input type="checkbox" checked={form[key] as boolean} onChange={(e) => set(key, e.target.checked)} /> {label}
    </label>
  );
  return (
    <form
      className="panel"
      aria-label="SMTP settings"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Settings</h3>
      <p className="muted small">
        Server-wide; saved settings apply to new connections and transactions at once, except the in-flight data budget,
        which is read when the mail service starts. The listener addresses and the TLS certificate are set when the server
        starts.
      </p>
      <div className="settings-grid">
        <fieldset>
          <legend>Greeting and limits</legend>
          {text("hostname", "hostname", "Host name", "Greeting, EHLO reply and Received headers (postdesk serve --smtp-hostname overrides it)", "text")}
          {text("banner", "banner", "Banner", "Text after the host name in the greeting", "text")}
          {text("max_message_mib", "max_message_bytes", "Largest message (MiB)", "Advertised as SIZE; 1 KiB to 1 GiB")}
          {text("max_recipients", "max_recipients", "Recipients per message", "1–10000; more get 452 4.5.3")}
          {text("max_connections", "max_connections", "Connections at once", "All listeners together")}
          {text("command_timeout_secs", "command_timeout_secs", "Command timeout (seconds)", "10–3600")}
          {text("data_timeout_secs", "data_timeout_secs", "Data timeout (seconds)", "10–3600")}
          {text("max_errors", "max_errors", "Bad commands before disconnect", "1–1000")}
          {text("max_auth_failures", "max_auth_failures", "Failed logins per connection", "1–100")}
        </fieldset>
        <fieldset>
          <legend>Per client address</legend>
          {text("max_connections_per_ip", "connection.max_connections_per_ip", "Connections per address", "Blank: no limit")}
          {text("rate_count", "connection.messages_per_ip.count", "Messages per address", "Blank (with the window): no limit")}
          {text("rate_window_secs", "connection.messages_per_ip.window_secs", "…per window of (seconds)", "1–86400")}
          {check("require_reverse_dns", "Refuse inbound clients without matching reverse DNS")}
        </fieldset>
        <fieldset>
          <legend>Recipient probing</legend>
          {text("probing_slow_after", "probing.slow_after", "Slow down after (unknown recipients)", "1–1000; each further RCPT waits longer")}
          {text("probing_delay_step_secs", "probing.delay_step_secs", "Slow-down step (seconds)", "0–60; the k-th delayed RCPT waits k steps")}
          {text("probing_max_unknown", "probing.max_unknown", "Disconnect at (unknown recipients)", "1–10000; 421 and the address is refused")}
          {text("probing_penalty_secs", "probing.penalty_secs", "Refuse the address for (seconds)", "0–86400")}
        </fieldset>
        <fieldset>
          <legend>Message data</legend>
          {text(
            "data_in_flight_mib",
            "data.in_flight_bytes",
            "In-flight data budget (MiB)",
            "Messages held in memory at once, 16 MiB–16 GiB, at least the largest message; applies when the mail service restarts",
          )}
        </fieldset>
        <fieldset>
          <legend>Senders and authentication</legend>
          {check("reject_malformed", "Refuse malformed sender addresses")}
          {check("reject_domain_without_mx_or_a", "Refuse sender domains without MX or A records")}
          {check("reject_unauthenticated_local_domain", "Refuse our own domains from unauthenticated clients")}
          {check("require_sender_match", "Logged-in users may only send as their own addresses")}
          {check("allow_auth_without_tls", "Offer AUTH without TLS (not recommended)")}
          {check("verify", "Verify SPF, DKIM and DMARC of inbound mail")}
          {check("reject_spf_fail", "Refuse when SPF fails")}
          {check("enforce_dmarc_reject", "Refuse when DMARC fails and the domain says reject")}
          {check("junk_dmarc_fail", "Put mail failing DMARC (quarantine, or reject not enforced) in Junk")}
          {check("junk_spf_fail", "Put mail failing SPF in Junk")}
        </fieldset>
      </div>
      <FormError error={action.error} fields={SETTINGS_FIELDS} />
      {ok && (
        <div className="ok" role="status">
          Saved; the SMTP service uses the new settings.
          {saved !== started && " The new in-flight data budget applies when the mail service restarts."}
        </div>
      )}
      <div className="row-buttons">
        <button type="submit" className="primary" disabled={readOnly || action.pending}>
          {action.pending ? "Saving…" : "Save settings"}
        </button>
      </div>
    </form>
  );
}
