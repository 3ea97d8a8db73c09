import { useState } from "react";
import { useSession } from "../app/session";
import type { SmsGateway } from "../bindings/SmsGateway";
import type { SmsGatewayMode } from "../bindings/SmsGatewayMode";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/** Messages of the SMS log shown. */
const LOG_ROWS = 50;

/**
 * The SMS gateway on the Mail service page (server-wide): how the user portal's phone codes
 * are sent — written to the SMS log below (the default; for local use and tests) or POSTed to
 * an HTTP gateway. The gateway's token is write-only: the page says whether one is set.
 */
export function SmsGatewaySection() {
  const { client } = useSession();
  const gateway = useAsync(() => client.call("get_sms_gateway", {}), [client]);
  const log = useAsync(() => client.call("list_sms_log", { limit: LOG_ROWS }), [client]);
  return (
    <div className="panel" role="region" aria-label="SMS gateway">
      <h3>SMS gateway</h3>
      <p className="muted small">
        Carries the one-time codes users get when they bind a mobile phone in the self-service portal. In log mode nothing
        leaves the server: each message is listed below. An HTTP gateway gets a JSON POST of {"{"}&quot;to&quot;,
        &quot;text&quot;{"}"} (https only; plain http only to this computer), with the token as a bearer token.
      </p>
      {gateway.error ? (
        <PageError error={gateway.error} what="the SMS gateway" />
      ) : (
        gateway.data && <GatewayForm key={JSON.stringify(gateway.data)} initial={gateway.data} onSaved={() => (gateway.reload(), log.reload())} />
      )}
      <h4>SMS log</h4>
      {log.error ? (
        <PageError error={log.error} what="the SMS log" />
      ) : log.data && log.data.items.length === 0 ? (
        <p className="empty" data-testid="sms-log-empty">
          No messages logged.
        </p>
      ) : (
        <table className="table" aria-label="SMS log">
          <thead>
            <tr>
              <th scope="col">When (UTC)</th>
              <th scope="col">To</th>
              <th scope="col">Account</th>
              <th scope="col">Text</th>
            </tr>
          </thead>
          <tbody>
            {(log.data?.items ?? []).map((m) => (
              <tr key={m.id}>
                <td>{m.at.replace("T", " ").replace("Z", "")}</td>
                <td>{m.to}</td>
                <td>{m.account ?? "—"}</td>
                <td>{m.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" className="ghost small" onClick={log.reload}>
        Refresh the log
      </button>
    </div>
  );
}

function GatewayForm({ initial, onSaved }: { initial: SmsGateway; onSaved: () => void }) {
  const { client, readOnly } = useSession();
  const [mode, setMode] = useState<SmsGatewayMode>(initial.mode);
  const [url, setUrl] = useState(initial.url ?? "");
  const [token, setToken] = useState("");
  const [clearToken, setClearToken] = useState(false);
  const [ok, setOk] = useState(false);
  const action = useAction();
  const save = async () => {
    setOk(false);
    const saved = await action.run(() =>
      client.call(
        "set_sms_gateway",
        mode === "log"
          ? { mode }
          : { mode, url: url.trim(), token: token ? token : undefined, clear_token: clearToken ? true : undefined },
      ),
    );
    if (!saved) return;
    setToken("");
    setOk(true);
    onSaved();
  };
  return (
    <form
      aria-label="Set the SMS gateway"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field label="Send codes" name="mode" error={action.error}>
        {(p) => (
          <select {...p} value={mode} onChange={(e) => setMode(e.target.value as SmsGatewayMode)} disabled={readOnly}>
            <option value="log">To the SMS log (nothing leaves the server)</option>
            <option value="http">Through an HTTP gateway</option>
          </select>
        )}
      </Field>
      {mode === "http" && (
        <>
          <Field label="Gateway URL" name="url" error={action.error} hint="https://…, or http:// to 127.0.0.1, ::1 or localhost">
            {(p) => <input {...p} type="url" value={url} onChange={(e) => setUrl(e.target.value)} disabled={readOnly} />}
          </Field>
          <Field
            label="Bearer token"
            name="token"
            error={action.error}
            hint={initial.token_set ? "A token is set; leave empty to keep it." : "Optional; none is set."}
          >
            {(p) => (
              <input {...p} type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} disabled={readOnly} />
            )}
          </Field>
          {initial.token_set && (
            <label className="checkbox">
              <input type="checkbox" checked={clearToken} onChange={(e) => setClearToken(e.target.checked)} disabled={readOnly} /> Remove
              the stored token
            </label>
          )}
        </>
      )}
      <p className="muted small" data-testid="sms-gateway-state">
        In use: {initial.mode === "log" ? "the SMS log" : `HTTP gateway ${initial.url ?? ""}`}
        {initial.mode === "http" && (initial.token_set ? " (token set)" : " (no token)")}
      </p>
      <FormError error={action.error} fields={["mode", "url", "token"]} />
      {ok && (
        <div className="ok" role="status">
          Saved.
        </div>
      )}
      <button type="submit" className="primary" disabled={readOnly || action.pending}>
        {action.pending ? "Saving…" : "Save gateway"}
      </button>
    </form>
  );
}
