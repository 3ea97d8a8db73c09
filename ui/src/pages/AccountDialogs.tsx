import { useState } from "react";
import { BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { Account } from "../bindings/Account";
import type { AccountStatus } from "../bindings/AccountStatus";
import type { Department } from "../bindings/Department";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError, wholeNumber } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { MailboxDialog } from "./MailboxDialog";
import { EffectiveSettingsPanel } from "./EffectiveSettingsPanel";
import { AccountForwardingPanel } from "./AccountForwardingPanel";
import { AccountPhonePanel } from "./AccountPhonePanel";

function DepartmentSelect({
  departments,
  value,
  onChange,
  ...rest
}: {
  departments: Department[];
  value: string;
  onChange: (v: string) => void;
  id: string;
  name: string;
  "aria-invalid": boolean;
  "aria-describedby": string | undefined;
}) {
  return (
    <select {...rest} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">(top level)</option>
      {value && !departments.some((d) => d.path === value) && <option value={value}>{value}</option>}
      {departments.map((d) => (
        <option key={d.path} value={d.path}>
          {d.path}
        </option>
      ))}
    </select>
  );
}

/** Two password inputs that must agree; the password is never shown. */
function PasswordPair({
  error,
  value,
  repeat,
  onValue,
  onRepeat,
  label = "Password",
}: {
  error: BackendError | null;
  value: string;
  repeat: string;
  onValue: (v: string) => void;
  onRepeat: (v: string) => void;
  label?: string;
}) {
  return (
    <>
      <Field label={label} name="password" error={error}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={value} onChange={(e) => onValue(e.target.value)} />}
      </Field>
      <Field label="Repeat password" name="password_repeat" error={error}>
        {(p) => (
          <input {...p} type="password" autoComplete="new-password" value={repeat} onChange={(e) => onRepeat(e.target.value)} />
        )}
      </Field>
    </>
  );
}

function mismatch(): BackendError {
  return new BackendError("validation", "The two passwords differ.", "password_repeat");
}

export function CreateAccountDialog({
  departments,
  onClose,
  onCreated,
}: {
  departments: Department[];
  onClose: () => void;
  onCreated: (a: Account) => void;
}) {
  const { client, domain } = useSession();
  const [local, setLocal] = useState("");
  const [name, setName] = useState("");
  const [dept, setDept] = useState("");
  const [notes, setNotes] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [force, setForce] = useState(true);
  const [quota, setQuota] = useState("");
  const action = useAction();
  const address = local.includes("@") ? local.trim() : `${local.trim()}@${domain}`;

  const submit = async () => {
    if (password !== repeat) {
      action.setError(mismatch());
      return;
    }
    const created = await action.run(() =>
      client.call("create_account", {
        address,
        ...(name.trim() ? { display_name: name.trim() } : {}),
        ...(dept ? { department: dept } : {}),
        ...(notes ? { notes } : {}),
        ...(password ? { password, force_password_change: force } : {}),
        ...(quota.trim() ? { quota_mb: wholeNumber(quota, "quota_mb", "Quota") } : {}),
      }),
    );
    if (created) onCreated(created);
  };
  const fields = ["address", "display_name", "department", "notes", "password", "password_repeat", "quota_mb"];
  return (
    <Dialog title="New account" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Address" name="address" error={action.error} hint={`Local part, or a full address in ${domain}`}>
        {(p) => (
          <div className="input-suffix">
            <input {...p} value={local} onChange={(e) => setLocal(e.target.value)} autoFocus required autoComplete="off" />
            {!local.includes("@") && <span className="suffix">@{domain}</span>}
          </div>
        )}
      </Field>
      <Field label="Display name" name="display_name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Department" name="department" error={action.error}>
        {(p) => <DepartmentSelect {...p} departments={departments} value={dept} onChange={setDept} />}
      </Field>
      <PasswordPair
        error={action.error}
        value={password}
        repeat={repeat}
        onValue={setPassword}
        onRepeat={setRepeat}
        label="Password (optional)"
      />
      <label className="check">
        <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Must change the password at
        first logon
      </label>
      <Field label="Quota (MiB)" name="quota_mb" error={action.error} hint="Empty: the plan's mailbox size">
        {(p) => <input {...p} type="number" min={1} value={quota} onChange={(e) => setQuota(e.target.value)} />}
      </Field>
      <Field label="Notes" name="notes" error={action.error}>
        {(p) => <textarea {...p} rows={2} value={notes} onChange={(e) => setNotes(e.target.value)} />}
      </Field>
      <FormError error={action.error} fields={fields} />
      <DialogButtons submit="Create account" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

/** One account: fields, status, password, extra addresses. */
export function AccountDialog({
  address,
  departments,
  onClose,
  onChanged,
  onRemoved,
}: {
  address: string;
  departments: Department[];
  onClose: () => void;
  onChanged: (a: Account) => void;
  onRemoved: () => void;
}) {
  const { client } = useSession();
  const loaded = useAsync(() => client.call("get_account", { address }), [client, address]);
  const [current, setCurrent] = useState<Account | null>(null);
  const account = current ?? loaded.data;
  return (
    <Dialog title={address} onClose={onClose} className="wide">
      {loaded.error && <PageError error={loaded.error} what="this account" />}
      {account ? (
        <AccountEditor
          account={account}
          departments={departments}
          onChanged={(a) => {
            setCurrent(a);
            onChanged(a);
          }}
          onRemoved={onRemoved}
          onClose={onClose}
        />
      ) : (
        !loaded.error && <p className="empty">Loading…</p>
      )}
    </Dialog>
  );
}

function AccountEditor({
  account,
  departments,
  onChanged,
  onRemoved,
  onClose,
}: {
  account: Account;
  departments: Department[];
  onChanged: (a: Account) => void;
  onRemoved: () => void;
  onClose: () => void;
}) {
  const { client, readOnly } = useSession();
  const [name, setName] = useState(account.display_name);
  const [dept, setDept] = useState(account.department ?? "");
  const [notes, setNotes] = useState(account.notes);
  const [status, setStatus] = useState<AccountStatus>(account.status);
  const [quota, setQuota] = useState(String(account.quota_mb));
  const [force, setForce] = useState(account.force_password_change);
  const save = useAction();
  const [saved, setSaved] = useState(false);

  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const pw = useAction();
  const [pwDone, setPwDone] = useState(false);

  const [alias, setAlias] = useState("");
  const aliasAction = useAction();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [entering, setEntering] = useState(false);
  const remove = useAction();
  const deleted = account.status === "deleted";

  const submit = async () => {
    setSaved(false);
    const updated = await save.run(() =>
      client.call("update_account", {
        address: account.address,
        display_name: name,
        department: dept,
        notes,
        ...(status !== account.status ? { status } : {}),
        quota_mb: wholeNumber(quota, "quota_mb", "Quota"),
        force_password_change: force,
      }),
    );
    if (updated) {
      setSaved(true);
      onChanged(updated);
    }
  };

  const setPass = async () => {
    setPwDone(false);
    if (!password) {
      pw.setError(new BackendError("validation", "Enter the new password.", "password"));
      return;
    }
    if (password !== repeat) {
      pw.setError(mismatch());
      return;
    }
    const ok = await pw.run(() =>
      client.call("set_password", { address: account.address, password, force_password_change: force }).then(() => true),
    );
    setPassword("");
    setRepeat("");
    if (ok) setPwDone(true);
  };

  const addAlias = async () => {
    const a = alias.trim();
    if (!a) return;
    const full = a.includes("@") ? a : `${a}@${account.address.split("@")[1]}`;
    const updated = await aliasAction.run(() => client.call("add_account_alias", { address: account.address, alias: full }));
    if (updated) {
      setAlias("");
      onChanged(updated);
    }
  };
  const removeAlias = async (a: string) => {
    const updated = await aliasAction.run(() => client.call("remove_account_alias", { address: account.address, alias: a }));
    if (updated) onChanged(updated);
  };

  return (
    <div className="account-editor">
      <form
        className="panel"
        aria-label="Account fields"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h3>Details</h3>
        <Field label="Display name" name="display_name" error={save.error}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} disabled={deleted} />}
        </Field>
        <Field label="Department" name="department" error={save.error}>
          {(p) => <DepartmentSelect {...p} departments={departments} value={dept} onChange={setDept} />}
        </Field>
        <Field label="Status" name="status" error={save.error}>
          {(p) => (
            <select {...p} value={status} onChange={(e) => setStatus(e.target.value as AccountStatus)} disabled={deleted}>
              <option value="active">Active</option>
              <option value="locked">Locked</option>
              <option value="disabled">Disabled</option>
              {deleted && <option value="deleted">Deleted</option>}
            </select>
          )}
        </Field>
        <Field label="Quota (MiB)" name="quota_mb" error={save.error}>
          {(p) => <input {...p} type="number" min={1} value={quota} onChange={(e) => setQuota(e.target.value)} />}
        </Field>
        <label className="check">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Must change the password at
          next logon
        </label>
        <Field label="Notes" name="notes" error={save.error}>
          {(p) => <textarea {...p} rows={2} value={notes} onChange={(e) => setNotes(e.target.value)} />}
        </Field>
        <FormError error={save.error} fields={["display_name", "department", "status", "quota_mb", "notes"]} />
        {saved && (
          <div className="ok" role="status">
            Saved.
          </div>
        )}
        <div className="row-buttons">
          <button type="submit" className="primary" disabled={save.pending || deleted || readOnly}>
            {save.pending ? "Saving…" : "Save changes"}
          </button>
        </div>
        <p className="muted small">
          Created {account.created_at.replace("T", " ").replace("Z", " UTC")} · password{" "}
          {account.has_password ? "set" : "not set"}
        </p>
      </form>

      <div className="side">
        <form
          className="panel"
          aria-label="Set password"
          onSubmit={(e) => {
            e.preventDefault();
            void setPass();
          }}
        >
          <h3>Set password</h3>
          <PasswordPair error={pw.error} value={password} repeat={repeat} onValue={setPassword} onRepeat={setRepeat} label="New password" />
          <FormError error={pw.error} fields={["password", "password_repeat"]} />
          {pwDone && (
            <div className="ok" role="status">
              Password set.
            </div>
          )}
          <button type="submit" disabled={pw.pending || deleted || readOnly}>
            Set password
          </button>
        </form>

        <form
          className="panel"
          aria-label="Extra addresses"
          onSubmit={(e) => {
            e.preventDefault();
            void addAlias();
          }}
        >
          <h3>Extra addresses</h3>
          {account.aliases.length === 0 ? (
            <p className="muted small">None.</p>
          ) : (
            <ul className="chips">
              {account.aliases.map((a) => (
                <li key={a}>
                  {a}
                  <button type="button" className="ghost small" aria-label={`Remove ${a}`} disabled={readOnly} onClick={() => void removeAlias(a)}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          <Field label="Add an address" name="alias" error={aliasAction.error}>
            {(p) => <input {...p} value={alias} onChange={(e) => setAlias(e.target.value)} placeholder="sales" />}
          </Field>
          <FormError error={aliasAction.error} fields={["alias"]} />
          <button type="submit" disabled={aliasAction.pending || deleted || readOnly}>
            Add address
          </button>
        </form>

        <EffectiveSettingsPanel address={account.address} />
        <AccountPhonePanel address={account.address} disabled={deleted} />
        <AccountForwardingPanel address={account.address} disabled={deleted} />

        <div className="panel">
          <h3>Mailbox</h3>
          <p className="muted small">Client settings, login state, folders and messages.</p>
          <button type="button" onClick={() => setEntering(true)}>
            Enter mailbox…
          </button>
        </div>

        {!deleted && (
          <div className="panel">
            <button type="button" className="danger" disabled={readOnly} onClick={() => setConfirmRemove(true)}>
              Delete account…
            </button>
          </div>
        )}
      </div>
      <div className="dialog-buttons full">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {entering && <MailboxDialog address={account.address} onClose={() => setEntering(false)} />}
      {confirmRemove && (
        <Confirm
          title={`Delete ${account.address}?`}
          confirm="Delete"
          error={remove.error}
          pending={remove.pending}
          onClose={() => setConfirmRemove(false)}
          onConfirm={() =>
            void remove
              .run(() => client.call("remove_account", { address: account.address }).then(() => true))
              .then((ok) => {
                if (ok) onRemoved();
              })
          }
        >
          The account and its mail move to the recycle bin; its address stays reserved. Within the domain’s retention it
          can be restored once, or its mail transferred to another mailbox; after it, both are purged.
        </Confirm>
      )}
    </div>
  );
}
