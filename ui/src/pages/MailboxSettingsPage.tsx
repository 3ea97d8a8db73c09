import { useState } from "react";
import { useSession } from "../app/session";
import type { MailboxSettings } from "../bindings/MailboxSettings";
import type { PickupRule } from "../bindings/PickupRule";
import { Field, FormError, PageError, wholeNumber } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { ResolveBox } from "../components/ResolveBox";
import { cleanRules, moveRule, sameRules } from "./rules";

/**
 * A domain's mailbox settings: failed-login lockout, recycle-bin retention, the host mail
 * clients use, catch-all collection and ordered pickup rules, and the resolver that shows
 * where mail to an address goes.
 */
export function MailboxSettingsPage() {
  const { client, domain } = useSession();
  const loaded = useAsync(() => client.call("get_mailbox_settings", { domain: domain! }), [client, domain]);
  const [saved, setSaved] = useState<MailboxSettings | null>(null);
  const settings = saved ?? loaded.data;
  return (
    <section className="mailbox-settings-page">
      {loaded.error && <PageError error={loaded.error} what="the mailbox settings" />}
      {settings && (
        <div className="settings-grid">
          <SettingsForm settings={settings} onSaved={setSaved} />
          <RulesEditor settings={settings} onSaved={setSaved} />
        </div>
      )}
      <ResolveBox />
    </section>
  );
}

function SettingsForm({ settings, onSaved }: { settings: MailboxSettings; onSaved: (s: MailboxSettings) => void }) {
  const { client, readOnly } = useSession();
  const [threshold, setThreshold] = useState(String(settings.lockout_threshold));
  const [retention, setRetention] = useState(String(settings.retention_days));
  const [host, setHost] = useState(settings.mail_host);
  const [catchAll, setCatchAll] = useState(settings.catch_all);
  const [target, setTarget] = useState(settings.catch_all_target ?? "");
  const action = useAction();
  const [ok, setOk] = useState(false);
  const submit = async () => {
    setOk(false);
    const t = target.trim();
    const updated = await action.run(() =>
      client.call("update_mailbox_settings", {
        domain: settings.domain,
        lockout_threshold: wholeNumber(threshold, "lockout_threshold", "Failed logins before a client address is kept out"),
        retention_days: wholeNumber(retention, "retention_days", "Days in the recycle bin"),
        mail_host: host.trim() === `mail.${settings.domain}` ? "" : host.trim(),
        catch_all: catchAll,
        catch_all_target: t === "" || t.includes("@") ? t : `${t}@${settings.domain}`,
      }),
    );
    if (updated) {
      // Show what the backend stored (canonical host and address).
      setHost(updated.mail_host);
      setTarget(updated.catch_all_target ?? "");
      onSaved(updated);
    }
    setOk(!!updated);
  };
  const fields = ["lockout_threshold", "retention_days", "mail_host", "catch_all_target"];
  return (
    <form
      className="panel"
      aria-label="Mailbox settings"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Settings of {settings.domain}</h3>
      <Field
        label="Keep a client address out after this many failed logins"
        name="lockout_threshold"
        error={action.error}
        hint="1–100. That address is kept out of the account for 15 minutes; the owner still logs in from elsewhere, and a password reset lets everyone in again."
      >
        {(p) => <input {...p} type="number" min={1} max={100} value={threshold} onChange={(e) => setThreshold(e.target.value)} />}
      </Field>
      <Field
        label="Keep deleted accounts in the recycle bin for (days)"
        name="retention_days"
        error={action.error}
        hint="1–3650. After this, an account and its mail are purged for good."
      >
        {(p) => <input {...p} type="number" min={1} max={3650} value={retention} onChange={(e) => setRetention(e.target.value)} />}
      </Field>
      <Field label="Mail server host for clients" name="mail_host" error={action.error} hint="Shown in every mailbox's client settings">
        {(p) => <input {...p} value={host} onChange={(e) => setHost(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>Catch-all collection</legend>
        <label className="check">
          <input type="checkbox" checked={catchAll} onChange={(e) => setCatchAll(e.target.checked)} /> Deliver mail to any unknown
          address of {settings.domain} to one mailbox (after the pickup rules)
        </label>
        <Field label="Collecting mailbox" name="catch_all_target" error={action.error}>
          {(p) => <input {...p} value={target} onChange={(e) => setTarget(e.target.value)} placeholder={`main@${settings.domain}`} />}
        </Field>
      </fieldset>
      <FormError error={action.error} fields={fields} />
      {ok && (
        <div className="ok" role="status">
          Saved.
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

function RulesEditor({ settings, onSaved }: { settings: MailboxSettings; onSaved: (s: MailboxSettings) => void }) {
  const { client, readOnly } = useSession();
  const [rules, setRules] = useState<PickupRule[]>(settings.pickup_rules);
  const action = useAction();
  const [ok, setOk] = useState(false);
  const change = (i: number, patch: Partial<PickupRule>) => {
    setOk(false);
    setRules((list) => list.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  };
  const clean = cleanRules(rules, settings.domain);
  const dirty = !sameRules(clean, settings.pickup_rules);
  const save = async () => {
    const updated = await action.run(() => client.call("set_pickup_rules", { domain: settings.domain, rules: clean }));
    if (updated) {
      setRules(updated.pickup_rules);
      onSaved(updated);
    }
    setOk(!!updated);
  };
  return (
    <form
      className="panel"
      aria-label="Pickup rules"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3>Pickup rules</h3>
      <p className="muted small">
        Mail to an address of {settings.domain} that is not an account, alias or group goes to the mailbox of the first rule
        whose pattern matches the part before @. <code>{"{number}"}</code> matches digits, <code>*</code> anything: e.g.{" "}
        <code>{"tiktok_{number}"}</code> or <code>sub_*</code>.
      </p>
      {rules.length === 0 && <p className="empty">No rules.</p>}
      <ol className="rules">
        {rules.map((r, i) => (
          <li key={i} className="rule" data-rule={i + 1}>
            <input
              aria-label={`Pattern of rule ${i + 1}`}
              value={r.pattern}
              placeholder="tiktok_{number}"
              onChange={(e) => change(i, { pattern: e.target.value })}
            />
            <span aria-hidden="true">→</span>
            <input
              aria-label={`Mailbox of rule ${i + 1}`}
              value={r.target}
              placeholder={`ann@${settings.domain}`}
              onChange={(e) => change(i, { target: e.target.value })}
            />
            <button type="button" className="ghost small" aria-label={`Move rule ${i + 1} up`} disabled={i === 0} onClick={() => setRules(moveRule(rules, i, -1))}>
              ↑
            </button>
            <button
              type="button"
              className="ghost small"
              aria-label={`Move rule ${i + 1} down`}
              disabled={i === rules.length - 1}
              onClick={() => setRules(moveRule(rules, i, 1))}
            >
              ↓
            </button>
            <button type="button" className="ghost small" aria-label={`Remove rule ${i + 1}`} onClick={() => setRules(rules.filter((_, j) => j !== i))}>
              ×
            </button>
          </li>
        ))}
      </ol>
      <FormError error={action.error} />
      {ok && !dirty && (
        <div className="ok" role="status">
          Rules saved.
        </div>
      )}
      <div className="row-buttons">
        <button type="button" disabled={readOnly} onClick={() => setRules([...rules, { pattern: "", target: "" }])}>
          Add rule
        </button>
        <button type="submit" className="primary" disabled={readOnly || action.pending || !dirty}>
          {action.pending ? "Saving…" : "Save rules"}
        </button>
      </div>
    </form>
  );
}
