import { useState, type ChangeEvent } from "react";
import { useSession } from "../app/session";
import type { LocalServerStatus } from "../bindings-desktop/LocalServerStatus";
import type { LocalSmtpListenerKind } from "../bindings-desktop/LocalSmtpListenerKind";
import type { LocalSmtpSettings } from "../bindings-desktop/LocalSmtpSettings";
import type { LocalSmtpStatus } from "../bindings-desktop/LocalSmtpStatus";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/** The bundled server of the desktop app: status, start/stop, listen address; its mail server. */
export function SettingsPage() {
  const { desktop } = useSession();
  const status = useAsync(() => (desktop ? desktop.localServerStatus() : Promise.resolve(null)), [desktop]);
  if (!desktop) return <p className="empty">The local server is part of the desktop app.</p>;
  if (status.error) return <PageError error={status.error} what="the local server's status" />;
  if (!status.data) return <p className="empty">Loading…</p>;
  return (
    <>
      <ServerForm key={status.data.settings.api_listen} initial={status.data} />
      <section className="settings-page" aria-label="Mail server">
        <SmtpPanel />
      </section>
    </>
  );
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

const LISTENER_LABELS: Record<LocalSmtpListenerKind, string> = {
  mx: "Inbound mail (MX)",
  submission: "Submission (STARTTLS)",
  submissions: "Submission (implicit TLS)",
};

const SMTP_FIELDS = ["mx_listen", "submission_listen", "smtps_listen", "hostname"];

/** The local mail server: its listeners or why it is not running, and its settings. */
function SmtpPanel() {
  const { desktop } = useSession();
  const status = useAsync(() => (desktop ? desktop.smtpStatus() : Promise.resolve(null)), [desktop]);
  if (status.error) return <PageError error={status.error} what="the mail server's status" />;
  if (!status.data) return <p className="empty">Loading…</p>;
  return <SmtpForm initial={status.data} />;
}

function SmtpForm({ initial }: { initial: LocalSmtpStatus }) {
  const { desktop } = useSession();
  const [status, setStatus] = useState(initial);
  const [settings, setSettings] = useState<LocalSmtpSettings>(initial.settings);
  const action = useAction();
  const set = (key: keyof LocalSmtpSettings) => (e: ChangeEvent<HTMLInputElement>) =>
    setSettings({ ...settings, [key]: e.target.type === "checkbox" ? e.target.checked : e.target.value });
  const refresh = async () => {
    // A refused start keeps its reason in the status: show it.
    const s = await desktop!.smtpStatus().catch(() => null);
    if (s) setStatus(s);
  };
  const start = async () => {
    const s = await action.run(() => desktop!.startSmtp({ ...settings, hostname: settings.hostname.trim() }));
    if (s) setStatus(s);
    else await refresh();
  };
  const stop = async () => {
    const s = await action.run(() => desktop!.stopSmtp());
    if (s) setStatus(s);
  };
  return (
    <>
      <div className="panel" role="status" aria-live="polite" aria-label="Mail server state" data-testid="smtp-status">
        <h3>Mail server (SMTP)</h3>
        <p>
          <span className={`status-dot ${status.running ? "online" : "unreachable"}`} aria-hidden="true" />{" "}
          <strong>{status.running ? "SMTP running" : "SMTP not running"}</strong>
          {!status.running && status.error && <>: {status.error}</>}
        </p>
        {status.running && (
          <ul className="smtp-listeners">
            {status.listeners.map((l) => (
              <li key={l.kind} data-kind={l.kind}>
                {LISTENER_LABELS[l.kind]} on <code>{l.address}</code>
              </li>
            ))}
          </ul>
        )}
      </div>
      <form
        className="panel"
        aria-label="Mail server settings"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <Field label="Inbound mail (MX) address" name="mx_listen" error={action.error} hint="e.g. 127.0.0.1:2525 (25 in production)">
          {(p) => <input {...p} value={settings.mx_listen} onChange={set("mx_listen")} />}
        </Field>
        <Field label="Submission (STARTTLS) address" name="submission_listen" error={action.error} hint="e.g. 127.0.0.1:2587 (587 in production)">
          {(p) => <input {...p} value={settings.submission_listen} onChange={set("submission_listen")} />}
        </Field>
        <Field label="Submission (implicit TLS) address" name="smtps_listen" error={action.error} hint="e.g. 127.0.0.1:2465 (465 in production)">
          {(p) => <input {...p} value={settings.smtps_listen} onChange={set("smtps_listen")} />}
        </Field>
        <Field label="Host name" name="hostname" error={action.error} hint="greeting and Received headers; empty: this computer's name">
          {(p) => <input {...p} value={settings.hostname} onChange={set("hostname")} />}
        </Field>
        <label className="check">
          <input type="checkbox" checked={settings.start_on_launch} onChange={set("start_on_launch")} /> Start SMTP when the app
          starts
        </label>
        <FormError error={action.error} fields={SMTP_FIELDS} />
        <div className="row-buttons">
          <button type="submit" className="primary" disabled={action.pending}>
            {status.running ? "Restart SMTP with these settings" : "Start SMTP"}
          </button>
          <button type="button" disabled={action.pending || !status.running} onClick={() => void stop()}>
            Stop SMTP
          </button>
        </div>
      </form>
    </>
  );
}
