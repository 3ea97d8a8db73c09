import { useState } from "react";
import { BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { BatchOutcome } from "../bindings/BatchOutcome";
import type { BatchTarget } from "../bindings/BatchTarget";
import type { LevelSettings } from "../bindings/LevelSettings";
import type { SettingKey } from "../bindings/SettingKey";
import { Confirm, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { SETTINGS, SETTING_KEYS, choicesToParams, describeTarget, effectiveOf, formatValue, type Choice } from "./settingsModel";
import "./batch.css";

/** The level a target names, when it names one (domain default, a department, one account). */
function levelParams(target: BatchTarget, domain: string) {
  switch (target.kind) {
    case "domain":
      return { domain };
    case "department":
      return { domain, department: target.path };
    case "accounts":
      return target.addresses.length === 1 ? { domain, account: target.addresses[0] } : null;
  }
}

/**
 * Every batch action on one target: settings (with what the level sets now and what it
 * inherits), a password reset, clearing security questions; after each, its outcome with
 * an Undo of that batch where undo is possible.
 */
export function BatchPanel({ target, onChanged }: { target: BatchTarget; onChanged: () => void }) {
  const { client, domain } = useSession();
  const params = levelParams(target, domain!);
  const [tick, setTick] = useState(0);
  const level = useAsync(params ? () => client.call("get_settings", params) : null, [client, JSON.stringify(params), tick]);
  const changed = () => {
    setTick((t) => t + 1);
    onChanged();
  };
  const what = describeTarget(target, domain!);
  return (
    <div className="batch-panel" data-target={what}>
      {level.error && <PageError error={level.error} what="the settings of this target" />}
      <SettingsEditor target={target} level={level.data ?? null} what={what} onChanged={changed} />
      {target.kind !== "domain" && (
        <div className="batch-side">
          <ResetPasswords target={target} what={what} onChanged={changed} />
          <ClearQuestions target={target} what={what} onChanged={changed} />
        </div>
      )}
    </div>
  );
}

/** The outcome of the last batch this panel ran, with its Undo. */
export function Outcome({ outcome, onUndone }: { outcome: BatchOutcome; onUndone: () => void }) {
  const { client, domain, readOnly, caller } = useSession();
  // Undoing is on the batch settings page's operations: shown only to who may use it.
  const mayUndo = caller.role === "owner" || caller.pages.includes("batch_settings");
  const undo = useAction();
  const [undone, setUndone] = useState<string | null>(null);
  const batch = outcome.batch;
  return (
    <div className="ok outcome" role="status" data-batch={batch?.id}>
      <span>{undone ?? outcome.message}</span>
      {batch && !undone && batch.undo === "available" && mayUndo && (
        <button
          type="button"
          disabled={undo.pending || readOnly}
          onClick={() =>
            void undo.run(() => client.call("undo_batch", { domain: domain!, id: batch.id })).then((r) => {
              if (r) {
                setUndone(r.message);
                onUndone();
              }
            })
          }
        >
          Undo this batch
        </button>
      )}
      {batch && batch.undo === "not_undoable" && <span className="muted small">{batch.note}</span>}
      <FormError error={undo.error} />
    </div>
  );
}

function SettingsEditor({
  target,
  level,
  what,
  onChanged,
}: {
  target: BatchTarget;
  level: LevelSettings | null;
  what: string;
  onChanged: () => void;
}) {
  const { client, domain, readOnly } = useSession();
  const [choices, setChoices] = useState<Partial<Record<SettingKey, Choice>>>({});
  const action = useAction();
  const [outcome, setOutcome] = useState<BatchOutcome | null>(null);
  const keys = SETTING_KEYS.filter((k) => !SETTINGS[k].domainOnly || target.kind === "domain");
  const touched = Object.keys(choices).length;
  const choose = (key: SettingKey, c: Choice | null) =>
    setChoices((old) => {
      const next = { ...old };
      if (c) next[key] = c;
      else delete next[key];
      return next;
    });

  const apply = async () => {
    setOutcome(null);
    const { set, clear } = choicesToParams(choices);
    const out = await action.run(() =>
      client.call("update_settings", {
        domain: domain!,
        target,
        ...(Object.keys(set).length ? { set } : {}),
        ...(clear.length ? { clear } : {}),
      }),
    );
    if (out) {
      setOutcome(out);
      setChoices({});
      onChanged();
    }
  };

  const below = level?.below ?? [];
  const belowCount = below.reduce((n, b) => n + b.departments + b.accounts, 0);
  return (
    <form
      className="panel settings-editor"
      aria-label="Settings"
      onSubmit={(e) => {
        e.preventDefault();
        void apply();
      }}
    >
      <h3>Settings</h3>
      {level && (
        <p className="muted small">
          {level.level === "domain"
            ? `Defaults for the ${level.accounts} accounts of ${domain}; departments and accounts may override them.`
            : level.level === "department"
              ? `${level.department}: ${level.accounts} account${level.accounts === 1 ? "" : "s"} with its sub-departments.`
              : `${level.account}, in ${level.department ?? "no department"}.`}
        </p>
      )}
      {target.kind === "department" && target.subdepartments !== false && belowCount > 0 && (
        <p className="notice small" data-testid="overrides-below">
          Below this department, {below.map((b) => `${SETTINGS[b.key].label} (${b.departments + b.accounts})`).join(", ")} {belowCount === 1 ? "is" : "are"}{" "}
          overridden. Changing one of those keys here replaces the overrides below, so the whole department follows.
        </p>
      )}
      <table className="table settings-table">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Now</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <SettingRow
              key={key}
              settingKey={key}
              level={level}
              choice={choices[key] ?? null}
              error={action.error?.field === key ? action.error.message : null}
              onChoose={(c) => choose(key, c)}
            />
          ))}
        </tbody>
      </table>
      <FormError error={action.error} fields={keys} />
      {outcome && <Outcome outcome={outcome} onUndone={onChanged} />}
      <div className="row-buttons">
        <button type="submit" className="primary" disabled={action.pending || touched === 0 || readOnly}>
          {action.pending ? "Applying…" : `Apply ${touched || ""} change${touched === 1 ? "" : "s"} to ${what}`}
        </button>
        {touched > 0 && (
          <button type="button" onClick={() => setChoices({})}>
            Discard changes
          </button>
        )}
      </div>
    </form>
  );
}

function SettingRow({
  settingKey: key,
  level,
  choice,
  error,
  onChoose,
}: {
  settingKey: SettingKey;
  level: LevelSettings | null;
  choice: Choice | null;
  error: string | null;
  onChoose: (c: Choice | null) => void;
}) {
  const info = SETTINGS[key];
  const own = level?.settings[key];
  const inherited = level ? effectiveOf(level.inherited, key) : null;
  const mode = choice === null ? "" : choice.kind === "inherit" ? "inherit" : info.kind === "bool" ? String(choice.value) : "set";
  const current = own ?? inherited?.value;
  return (
    <tr data-key={key}>
      <th scope="row">
        {info.label}
        {info.hint && <div className="muted small">{info.hint}</div>}
      </th>
      <td className="now">
        {level === null ? (
          <span className="muted">varies per account</span>
        ) : own !== undefined ? (
          <>
            {formatValue(key, own)} <span className="source-chip own">set here</span>
          </>
        ) : (
          <>
            {formatValue(key, inherited?.value)}{" "}
            <span className="source-chip" data-level={inherited?.source.level}>
              from {inherited ? inherited.source.label : "?"}
            </span>
          </>
        )}
      </td>
      <td className="change">
        <select
          aria-label={info.label}
          value={mode}
          onChange={(e) => {
            const v = e.target.value;
            if (v === "") onChoose(null);
            else if (v === "inherit") onChoose({ kind: "inherit" });
            else if (info.kind === "bool") onChoose({ kind: "value", value: v === "true" });
            else if (info.kind === "list") onChoose({ kind: "value", value: Array.isArray(current) ? current.join("\n") : "" });
            else onChoose({ kind: "value", value: typeof current === "number" ? current : 5 });
          }}
        >
          <option value="">No change</option>
          <option value="inherit">Inherit from above</option>
          {info.kind === "bool" ? (
            <>
              <option value="true">{info.on}</option>
              <option value="false">{info.off}</option>
            </>
          ) : (
            <option value="set">Set…</option>
          )}
        </select>
        {choice?.kind === "value" && info.kind === "list" && (
          <textarea
            aria-label={`${info.label} (one per line)`}
            rows={3}
            value={String(choice.value)}
            onChange={(e) => onChoose({ kind: "value", value: e.target.value })}
            placeholder={"partner.example\nboss@partner.example"}
          />
        )}
        {choice?.kind === "value" && info.kind === "number" && (
          <input
            aria-label={`${info.label} (number)`}
            type="number"
            min={1}
            max={100}
            value={String(choice.value)}
            onChange={(e) => onChoose({ kind: "value", value: e.target.value })}
          />
        )}
        {error && (
          <div className="field-error" role="alert">
            {error}
          </div>
        )}
      </td>
    </tr>
  );
}

function ResetPasswords({ target, what, onChanged }: { target: BatchTarget; what: string; onChanged: () => void }) {
  const { client, domain, readOnly } = useSession();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [force, setForce] = useState(true);
  const action = useAction();
  const [outcome, setOutcome] = useState<BatchOutcome | null>(null);
  const submit = async () => {
    setOutcome(null);
    if (!password) {
      action.setError(new BackendError("validation", "Enter the new password.", "password"));
      return;
    }
    if (password !== repeat) {
      action.setError(new BackendError("validation", "The two passwords differ.", "password_repeat"));
      return;
    }
    const out = await action.run(() =>
      client.call("reset_passwords", { domain: domain!, target, password, force_password_change: force }),
    );
    setPassword("");
    setRepeat("");
    if (out) {
      setOutcome(out);
      onChanged();
    }
  };
  return (
    <form
      className="panel"
      aria-label="Reset password"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>Reset password</h3>
      <p className="muted small">For every account of {what}. Locked accounts are unlocked. A reset cannot be undone.</p>
      <Field label="New password" name="password" error={action.error}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      <Field label="Repeat the new password" name="password_repeat" error={action.error}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />}
      </Field>
      <label className="check">
        <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Change password at first logon
      </label>
      <FormError error={action.error} fields={["password", "password_repeat"]} />
      {outcome && <Outcome outcome={outcome} onUndone={onChanged} />}
      <button type="submit" className="primary" disabled={action.pending || readOnly}>
        {action.pending ? "Resetting…" : "Reset passwords"}
      </button>
    </form>
  );
}

function ClearQuestions({ target, what, onChanged }: { target: BatchTarget; what: string; onChanged: () => void }) {
  const { client, domain, readOnly } = useSession();
  const [asking, setAsking] = useState(false);
  const action = useAction();
  const [outcome, setOutcome] = useState<BatchOutcome | null>(null);
  return (
    <div className="panel">
      <h3>Security questions</h3>
      <p className="muted small">Clear the security questions of every account of {what}; each user then sets new ones.</p>
      {outcome && <Outcome outcome={outcome} onUndone={onChanged} />}
      <button type="button" className="danger" disabled={readOnly} onClick={() => setAsking(true)}>
        Clear security questions…
      </button>
      {asking && (
        <Confirm
          title="Clear security questions?"
          confirm="Clear them"
          error={action.error}
          pending={action.pending}
          onClose={() => setAsking(false)}
          onConfirm={() =>
            void action.run(() => client.call("clear_security_questions", { domain: domain!, target })).then((out) => {
              if (out) {
                setOutcome(out);
                setAsking(false);
                onChanged();
              }
            })
          }
        >
          The answers of {what} are deleted. This cannot be undone.
        </Confirm>
      )}
    </div>
  );
}
