import { useState } from "react";
import { useSession } from "../app/session";
import type { LocalServerStatus } from "../bindings/LocalServerStatus";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/** The bundled server of the desktop app: status, start/stop, listen address. */
export function SettingsPage() {
  const { desktop } = useSession();
  const status = useAsync(() => (desktop ? desktop.localServerStatus() : Promise.resolve(null)), [desktop]);
  if (!desktop) return <p className="empty">The local server is part of the desktop app.</p>;
  if (status.error) return <PageError error={status.error} what="the local server's status" />;
  if (!status.data) return <p className="empty">Loading…</p>;
  return <ServerForm key={status.data.settings.api_listen} initial={status.data} />;
}

function ServerForm({ initial }: { initial: LocalServerStatus }) {
  const { desktop } = useSession();
  const [status, setStatus] = useState(initial);
  const [listen, setListen] = useState(initial.settings.api_listen);
  const [onLaunch, setOnLaunch] = useState(initial.settings.start_on_launch);
  const action = useAction();
  const start = async () => {
    const s = await action.run(() => desktop!.startLocalServer({ api_listen: listen.trim(), start_on_launch: onLaunch }));
    if (s) setStatus(s);
  };
  const stop = async () => {
    const s = await action.run(() => desktop!.stopLocalServer());
    if (s) setStatus(s);
  };
  return (
    <section className="settings-page">
      <div className="panel" role="status" aria-live="polite">
        <p>
          <span className={`status-dot ${status.running ? "online" : "unreachable"}`} aria-hidden="true" />{" "}
          <strong>{status.running ? "Running" : "Stopped"}</strong>
          {status.api_url && (
            <>
              {" "}
              — admin API and web UI at <code>{status.api_url}</code>
            </>
          )}
        </p>
        <p className="muted small">
          Data folder: <code>{status.data_dir}</code>
        </p>
        {status.error && (
          <div className="form-error" role="alert">
            Last start failed: {status.error}
          </div>
        )}
      </div>
      <form
        className="panel"
        aria-label="Local server settings"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <Field label="Listen address of the admin API" name="api_listen" error={action.error} hint="e.g. 127.0.0.1:7878">
          {(p) => <input {...p} value={listen} onChange={(e) => setListen(e.target.value)} />}
        </Field>
        <label className="check">
          <input type="checkbox" checked={onLaunch} onChange={(e) => setOnLaunch(e.target.checked)} /> Start when the app starts
        </label>
        <FormError error={action.error} fields={["api_listen"]} />
        <div className="row-buttons">
          <button type="submit" className="primary" disabled={action.pending}>
            {status.running ? "Restart with these settings" : "Start"}
          </button>
          <button type="button" disabled={action.pending || !status.running} onClick={() => void stop()}>
            Stop
          </button>
        </div>
      </form>
    </section>
  );
}
