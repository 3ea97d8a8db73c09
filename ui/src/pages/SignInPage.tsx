import { useState } from "react";
import { BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { TwoFactorSetup } from "../bindings/TwoFactorSetup";
import { Confirm, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/**
 * The caller's own web UI sign-in: its password, its TOTP second factor (with recovery
 * codes), signing out everywhere; for owners also the sign-in policy.
 */
export function SignInPage() {
  const { client, caller } = useSession();
  const own = useAsync(() => client.call("get_own_sign_in", {}), [client]);
  if (own.error) return <PageError error={own.error} what="your sign-in" />;
  if (!own.data) return <p className="empty">Loading…</p>;
  const me = own.data;
  return (
    <section className="signin-page">
      <p className="muted">
        {me.name} signs in to this web console with a password
        {me.two_factor ? " and a code from an authenticator app" : ""}. API tokens (for scripts and the desktop app) are
        managed apart and are not affected here.
      </p>
      <PasswordSection name={me.name} hasPassword={me.password_set} />
      <TwoFactorSection name={me.name} active={me.two_factor} required={me.policy.require_two_factor} onChange={own.reload} />
      <EverywhereSection name={me.name} />
      {caller.role === "owner" && <PolicySection onChange={own.reload} policy={me.policy} />}
    </section>
  );
}

function PasswordSection({ name, hasPassword }: { name: string; hasPassword: boolean }) {
  const { client } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();
  const submit = async () => {
    if (next !== again) {
      action.setError(new BackendError("validation", "The two new passwords differ.", "again"));
      return;
    }
    const ok = await action.run(() =>
      client.call("set_admin_password", { name, password: next, ...(hasPassword ? { current_password: current } : {}) }),
    );
    if (ok !== undefined) setDone(true);
  };
  return (
    <form
      className="card"
      aria-label="Password"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 className="section-title">Password</h2>
      {done ? (
        <p role="status">Password changed. Every session of {name} has ended; sign in again with the new password.</p>
      ) : (
        <>
          {hasPassword && (
            <Field label="Current password" name="current_password" error={action.error}>
              {(p) => (
                <input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
              )}
            </Field>
          )}
          <Field label="New password" name="password" error={action.error} hint="8 to 256 characters, not only letters or only digits.">
            {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
          </Field>
          <Field label="Repeat the new password" name="again" error={action.error}>
            {(p) => <input {...p} type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required />}
          </Field>
          <FormError error={action.error} fields={["current_password", "password", "again"]} />
          <button type="submit" className="primary" disabled={action.pending}>
            {hasPassword ? "Change password" : "Set password"}
          </button>
        </>
      )}
    </form>
  );
}

function TwoFactorSection({
  name,
  active,
  required,
  onChange,
}: {
  name: string;
  active: boolean;
  required: boolean;
  onChange: () => void;
}) {
  const { client, caller } = useSession();
  const [setup, setSetup] = useState<TwoFactorSetup | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [removing, setRemoving] = useState(false);
  const action = useAction();
  const start = async () => {
    const s = await action.run(() => client.call("start_two_factor", { name }));
    if (s) {
      setSetup(s);
      setCodes(null);
    }
  };
  const confirm = async () => {
    const r = await action.run(() => client.call("confirm_two_factor", { name, code: code.trim() }));
    if (r) {
      setCodes(r.codes);
      setSetup(null);
      setCode("");
      onChange();
    }
  };
  return (
    <div className="card" role="group" aria-label="Second factor">
      <h2 className="section-title">Second factor (authenticator app)</h2>
      <p>
        {active ? "In force: signing in asks for a code after the password." : "Not set up: the password alone signs in."}
        {required && " The owner requires one for every admin."}
      </p>
      {codes && (
        <div role="status">
          <p>
            <strong>Recovery codes</strong> — each signs in once instead of a code. Store them now; they are not shown
            again.
          </p>
          <ul className="recovery-codes" aria-label="Recovery codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {setup ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void confirm();
          }}
        >
          <p>
            Scan this code with your authenticator app (TOTP, 6 digits, 30 seconds), or enter the secret below, then
            type the code it shows.
          </p>
          <img
            className="totp-qr"
            data-testid="totp-qr"
            alt="QR code of the authenticator set-up link"
            width={200}
            height={200}
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qr_svg)}`}
          />
          <p>
            Secret: <code aria-label="Secret">{setup.secret}</code>
          </p>
          <p className="muted" style={{ wordBreak: "break-all" }}>
            Or as a link: <code>{setup.uri}</code>
          </p>
          <Field label="Code from the app" name="code" error={action.error}>
            {(p) => <input {...p} autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} required autoFocus />}
          </Field>
          <FormError error={action.error} fields={["code"]} />
          <button type="submit" className="primary" disabled={action.pending}>
            Confirm
          </button>
        </form>
      ) : (
        <div className="toolbar">
          <button type="button" onClick={() => void start()} disabled={action.pending}>
            {active ? "Replace the second factor" : "Set up a second factor"}
          </button>
          {active && (!required || caller.role === "owner") && (
            <button type="button" onClick={() => setRemoving(true)}>
              Remove the second factor…
            </button>
          )}
          <FormError error={action.error} />
        </div>
      )}
      {removing && (
        <ConfirmWork
          title="Remove the second factor?"
          text="Signing in then needs only the password; the recovery codes stop working."
          confirm="Remove"
          work={() => client.call("remove_two_factor", { name })}
          onClose={() => setRemoving(false)}
          onDone={() => {
            setRemoving(false);
            setCodes(null);
            onChange();
          }}
        />
      )}
    </div>
  );
}

function EverywhereSection({ name }: { name: string }) {
  const { client } = useSession();
  const [asking, setAsking] = useState(false);
  return (
    <div className="card" role="group" aria-label="Sessions">
      <h2 className="section-title">Sessions</h2>
      <p>Signing out everywhere ends every session of {name} in every browser, this one included.</p>
      <button type="button" onClick={() => setAsking(true)}>
        Sign out everywhere…
      </button>
      {asking && (
        <ConfirmWork
          title="Sign out everywhere?"
          text="Every browser signed in as you has to sign in again."
          confirm="Sign out everywhere"
          work={() => client.call("end_sessions", { name })}
          onClose={() => setAsking(false)}
          onDone={() => {
            setAsking(false);
            window.location.reload();
          }}
        />
      )}
    </div>
  );
}

function PolicySection({
  policy,
  onChange,
}: {
  policy: { require_two_factor: boolean; idle_minutes: number; absolute_minutes: number };
  onChange: () => void;
}) {
  const { client } = useSession();
  const [require, setRequire] = useState(policy.require_two_factor);
  const [idle, setIdle] = useState(String(policy.idle_minutes));
  const [absolute, setAbsolute] = useState(String(policy.absolute_minutes));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const submit = async () => {
    setSaved(false);
    const ok = await action.run(() =>
      client.call("set_sign_in_policy", {
        require_two_factor: require,
        idle_minutes: Number(idle),
        absolute_minutes: Number(absolute),
      }),
    );
    if (ok) {
      setSaved(true);
      onChange();
    }
  };
  return (
    <form
      className="card"
      aria-label="Sign-in policy"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 className="section-title">Sign-in policy (every admin)</h2>
      <label className="check">
        <input type="checkbox" checked={require} onChange={(e) => setRequire(e.target.checked)} /> Require a second factor
        (admins without one cannot sign in to this console; their sessions end)
      </label>
      <Field label="Idle time-out (minutes)" name="idle_minutes" error={action.error} hint="1 to 1440">
        {(p) => <input {...p} type="number" min={1} max={1440} value={idle} onChange={(e) => setIdle(e.target.value)} />}
      </Field>
      <Field label="Absolute time-out (minutes)" name="absolute_minutes" error={action.error} hint="5 to 43200">
        {(p) => <input {...p} type="number" min={5} max={43200} value={absolute} onChange={(e) => setAbsolute(e.target.value)} />}
      </Field>
      <FormError error={action.error} fields={["idle_minutes", "absolute_minutes", "require_two_factor"]} />
      {saved && <p role="status">Saved.</p>}
      <button type="submit" className="primary" disabled={action.pending}>
        Save policy
      </button>
    </form>
  );
}

/** A confirmation whose yes runs `work`, showing its error in place. */
function ConfirmWork({
  title,
  text,
  confirm,
  work,
  onClose,
  onDone,
}: {
  title: string;
  text: string;
  confirm: string;
  work: () => Promise<unknown>;
  onClose: () => void;
  onDone: () => void;
}) {
  const action = useAction();
  return (
    <Confirm
      title={title}
      confirm={confirm}
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action.run(work).then((r) => {
          if (r !== undefined) onDone();
        })
      }
    >
      <p>{text}</p>
    </Confirm>
  );
}
