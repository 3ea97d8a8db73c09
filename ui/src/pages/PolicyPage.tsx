import { useState } from "react";
import { useSession } from "../app/session";
import type { ClientProtocol } from "../bindings/ClientProtocol";
import type { DecidingSetting } from "../bindings/DecidingSetting";
import type { PolicyExplanation } from "../bindings/PolicyExplanation";
import { Field, FormError, splitList } from "../components/forms";
import { useAction } from "../components/hooks";
import { RULES, SETTINGS, effectiveOf, formatValue } from "./settingsModel";
import "./batch.css";

const PROTOCOLS: { value: ClientProtocol | ""; label: string }[] = [
  { value: "", label: "Automatic (a client of ours when the sender is ours, else another server)" },
  { value: "mx", label: "From another mail server" },
  { value: "smtp", label: "SMTP client (submission)" },
  { value: "imap", label: "IMAP client" },
  { value: "pop3", label: "POP3 client" },
];

/** "What would happen to a message from A to B?" — the delivery policy, explained. */
export function PolicyPage() {
  const { client, domain } = useSession();
  const [sender, setSender] = useState("");
  const [recipients, setRecipients] = useState("");
  const [auth, setAuth] = useState("");
  const [protocol, setProtocol] = useState<ClientProtocol | "">("");
  const [autoForward, setAutoForward] = useState(false);
  const action = useAction();
  const [result, setResult] = useState<PolicyExplanation | null>(null);
  const submit = async () => {
    const x = await action.run(() =>
      client.call("explain_policy", {
        sender: sender.trim(),
        recipients: splitList(recipients),
        ...(auth.trim() ? { authenticated_user: auth.trim() } : {}),
        ...(protocol ? { protocol } : {}),
        auto_forward: autoForward,
      }),
    );
    setResult(x ?? null);
  };
  const fields = ["sender", "recipients", "authenticated_user"];
  return (
    <section className="policy-page">
      <form
        className="panel policy-form"
        aria-label="Message"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="grid-2">
          <Field label="From (envelope sender)" name="sender" error={action.error} hint="Empty for a bounce">
            {(p) => <input {...p} value={sender} onChange={(e) => setSender(e.target.value)} placeholder={`ann@${domain ?? "example.com"}`} />}
          </Field>
          <Field label="To (one or more recipients)" name="recipients" error={action.error}>
            {(p) => <textarea {...p} rows={2} value={recipients} onChange={(e) => setRecipients(e.target.value)} placeholder="someone@example.net" />}
          </Field>
          <Field label="Arrives" name="protocol" error={action.error}>
            {(p) => (
              <select {...p} value={protocol} onChange={(e) => setProtocol(e.target.value as ClientProtocol | "")}>
                {PROTOCOLS.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Logged in as (optional)" name="authenticated_user" error={action.error} hint="Default: the sender, when it is ours">
            {(p) => <input {...p} value={auth} onChange={(e) => setAuth(e.target.value)} />}
          </Field>
        </div>
        <label className="check">
          <input type="checkbox" checked={autoForward} onChange={(e) => setAutoForward(e.target.checked)} /> It is an automatic
          forward by the sender's mailbox
        </label>
        <FormError error={action.error} fields={fields} />
        <button type="submit" className="primary" disabled={action.pending}>
          {action.pending ? "Explaining…" : "Explain"}
        </button>
      </form>
      {result && <Explanation x={result} />}
    </section>
  );
}

/** "External send of ann@…: Disallow, set at department Sales". */
function deciding(x: PolicyExplanation, s: DecidingSetting | null): string | null {
  if (!s) return null;
  const account = x.accounts.find((a) => a.address === s.account);
  if (!account) return null;
  const { value, source } = effectiveOf(account.values, s.key);
  return `${SETTINGS[s.key].label} of ${s.account}: ${formatValue(s.key, value)}, from ${source.label}`;
}

function Explanation({ x }: { x: PolicyExplanation }) {
  const p = PROTOCOLS.find((o) => o.value === x.envelope.protocol)?.label ?? x.envelope.protocol;
  return (
    <section className="panel" aria-label="Decision">
      <h3>Decision</h3>
      <p className="muted small">
        {x.envelope.sender || "(empty sender)"} · {p}
        {x.envelope.authenticated_user ? ` · logged in as ${x.envelope.authenticated_user}` : ""}
        {x.envelope.auto_forward ? " · automatic forward" : ""}
        {x.decision.acting_account ? ` · send settings of ${x.decision.acting_account} apply` : ""}
      </p>
      <table className="table decisions">
        <thead>
          <tr>
            <th scope="col">Recipient</th>
            <th scope="col">Decision</th>
            <th scope="col">Rule</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {x.decision.recipients.map((r) => (
            <tr key={r.recipient} data-recipient={r.recipient} data-allowed={r.allowed ? "true" : "false"}>
              <td>{r.recipient}</td>
              <td>
                <span className={`verdict ${r.allowed ? "allow" : "deny"}`}>{r.allowed ? "Allowed" : "Denied"}</span>
              </td>
              <td data-rule={r.rule}>{RULES[r.rule]}</td>
              <td>
                {r.reason}
                {deciding(x, r.setting) && <div className="muted small deciding">{deciding(x, r.setting)}</div>}
                {r.mailboxes.length > 0 && (
                  <ul className="mailboxes">
                    {r.mailboxes.map((m) => (
                      <li key={m.address}>
                        <span className={`verdict ${m.allowed ? "allow" : "deny"}`}>{m.allowed ? "gets it" : "refused"}</span> {m.address}
                        {!m.allowed && <span className="muted small"> — {m.reason}</span>}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Mail rules on the path</h4>
      {x.rules.length === 0 ? (
        <p className="muted small">No BCC rule or daily send quota acts on this message.</p>
      ) : (
        <ol className="fired-rules" aria-label="Mail rules that act">
          {x.rules.map((r, i) => (
            <li key={`${r.kind}:${i}`} data-kind={r.kind}>
              <strong>{r.name}</strong> <span className="muted small">({r.set_in})</span>: {r.effect}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
