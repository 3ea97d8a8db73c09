import { listAll } from "../api/client";
import { useState } from "react";
import { useSession } from "../app/session";
import type { Admin } from "../bindings/Admin";
import type { ApiToken } from "../bindings/ApiToken";
import type { NewToken } from "../bindings/NewToken";
import type { Page } from "../bindings/Page";
import type { Role } from "../bindings/Role";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

const ALL_PAGES: Page[] = [
  "domains",
  "departments",
  "accounts",
  "aliases",
  "groups",
  "dns",
  "audit",
  "batch_settings",
  "address_book",
  "policy",
];
const ROLES: { value: Role; label: string }[] = [
  { value: "owner", label: "Owner — everything, including admins and tokens" },
  { value: "admin", label: "Admin — may change what its pages and domains cover" },
  { value: "helpdesk", label: "Helpdesk — may read its pages, change nothing" },
];

type Modal =
  | { kind: "admin"; admin: Admin | null }
  | { kind: "remove-admin"; admin: Admin }
  | { kind: "token"; admin: string }
  | { kind: "secret"; token: NewToken }
  | { kind: "revoke"; token: ApiToken }
  | null;

/** Admin users (with roles, pages, domains) and their API tokens; owners only. */
export function AdminsPage() {
  const { client } = useSession();
  const admins = useAsync(() => listAll(client, "list_admins", {}), [client]);
  const tokens = useAsync(() => listAll(client, "list_tokens", {}), [client]);
  const [modal, setModal] = useState<Modal>(null);
  const reload = () => {
    admins.reload();
    tokens.reload();
  };
  if (admins.error) return <PageError error={admins.error} what="the admins" />;
  return (
    <section className="admins-page">
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => setModal({ kind: "admin", admin: null })}>
          New admin
        </button>
      </div>
      <table className="table" aria-label="Admins">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Pages</th>
            <th scope="col">Domains</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(admins.data ?? []).map((a) => (
            <tr key={a.name}>
              <th scope="row">{a.name}</th>
              <td>{a.role}</td>
              <td>{a.role === "owner" ? "all" : a.pages.join(", ") || "none"}</td>
              <td>{a.domains === null ? "all" : a.domains.join(", ") || "none"}</td>
              <td className="actions">
                <button type="button" onClick={() => setModal({ kind: "admin", admin: a })}>
                  Edit…
                </button>
                <button type="button" onClick={() => setModal({ kind: "token", admin: a.name })}>
                  New token…
                </button>
                <button type="button" onClick={() => setModal({ kind: "remove-admin", admin: a })}>
                  Remove…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 className="section-title">API tokens</h2>
      {tokens.error ? (
        <PageError error={tokens.error} what="the tokens" />
      ) : (
        <table className="table" aria-label="API tokens">
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Admin</th>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(tokens.data ?? []).map((t) => (
              <tr key={t.id}>
                <th scope="row">
                  <code>{t.id}…</code>
                </th>
                <td>{t.admin}</td>
                <td>{t.label}</td>
                <td>{t.created_at.slice(0, 16).replace("T", " ")}</td>
                <td>{t.last_used_at ? t.last_used_at.slice(0, 16).replace("T", " ") : <span className="muted">never</span>}</td>
                <td>{t.expires_at ? t.expires_at.slice(0, 16).replace("T", " ") : <span className="muted">never</span>}</td>
                <td className="actions">
                  <button type="button" onClick={() => setModal({ kind: "revoke", token: t })}>
                    Revoke…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {modal?.kind === "admin" && (
        <AdminDialog
          admin={modal.admin}
          onClose={() => setModal(null)}
          onDone={() => {
            setModal(null);
            reload();
          }}
        />
      )}
      {modal?.kind === "token" && (
        <TokenDialog
          admin={modal.admin}
          onClose={() => setModal(null)}
          onDone={(t) => {
            setModal({ kind: "secret", token: t });
            reload();
          }}
        />
      )}
      {modal?.kind === "secret" && <SecretDialog token={modal.token} onClose={() => setModal(null)} />}
      {modal?.kind === "remove-admin" && (
        <RemoveThing
          title={`Remove admin ${modal.admin.name}?`}
          text="Its tokens stop working at once."
          work={() => client.call("remove_admin", { name: modal.admin.name })}
          onClose={() => setModal(null)}
          onDone={() => {
            setModal(null);
            reload();
          }}
        />
      )}
      {modal?.kind === "revoke" && (
        <RemoveThing
          title={`Revoke token ${modal.token.id}?`}
          text={`Programs using it as ${modal.token.admin} are refused from now on.`}
          work={() => client.call("revoke_token", { id: modal.token.id })}
          onClose={() => setModal(null)}
          onDone={() => {
            setModal(null);
            reload();
          }}
        />
      )}
    </section>
  );
}

function AdminDialog({ admin, onClose, onDone }: { admin: Admin | null; onClose: () => void; onDone: () => void }) {
  const { client, domains } = useSession();
  const [name, setName] = useState(admin?.name ?? "");
  const [role, setRole] = useState<Role>(admin?.role ?? "admin");
  const [pages, setPages] = useState<Page[]>(admin?.pages ?? ["accounts"]);
  const [allDomains, setAllDomains] = useState(admin ? admin.domains === null : true);
  const [chosen, setChosen] = useState<string[]>(admin?.domains ?? []);
  const action = useAction();
  const toggle = <T,>(list: T[], v: T) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const submit = async () => {
    const body = { name: name.trim(), role, pages, ...(allDomains ? {} : { domains: chosen }) };
    const ok = await action.run(() => (admin ? client.call("update_admin", body) : client.call("create_admin", body)));
    if (ok) onDone();
  };
  return (
    <Dialog title={admin ? `Admin ${admin.name}` : "New admin"} onClose={onClose} onSubmit={() => void submit()}>
      {!admin && (
        <Field label="Login name" name="name" error={action.error}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoFocus required />}
        </Field>
      )}
      <fieldset className="radios" data-field="role">
        <legend>Role</legend>
        {ROLES.map((r) => (
          <label key={r.value} className="check">
            <input type="radio" name="role" checked={role === r.value} onChange={() => setRole(r.value)} /> {r.label}
          </label>
        ))}
      </fieldset>
      {role !== "owner" && (
        <>
          <fieldset className="checks" data-field="pages">
            <legend>Pages</legend>
            {ALL_PAGES.map((p) => (
              <label key={p} className="check">
                <input type="checkbox" checked={pages.includes(p)} onChange={() => setPages((l) => toggle(l, p))} /> {p}
              </label>
            ))}
            {action.error?.field === "pages" && (
              <div className="field-error" role="alert">
                {action.error.message}
              </div>
            )}
          </fieldset>
          <fieldset className="checks" data-field="domains">
            <legend>Domains</legend>
            <label className="check">
              <input type="checkbox" checked={allDomains} onChange={(e) => setAllDomains(e.target.checked)} /> All domains
            </label>
            {!allDomains &&
              domains.map((d) => (
                <label key={d.name} className="check">
                  <input
                    type="checkbox"
                    checked={chosen.includes(d.name)}
                    onChange={() => setChosen((l) => toggle(l, d.name))}
                  />{" "}
                  {d.display_name}
                </label>
              ))}
            {action.error?.field === "domains" && (
              <div className="field-error" role="alert">
                {action.error.message}
              </div>
            )}
          </fieldset>
        </>
      )}
      <FormError error={action.error} fields={["name", "pages", "domains"]} />
      <DialogButtons submit={admin ? "Save" : "Create admin"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function TokenDialog({ admin, onClose, onDone }: { admin: string; onClose: () => void; onDone: (t: NewToken) => void }) {
  const { client } = useSession();
  const [label, setLabel] = useState("");
  const action = useAction();
  const submit = async () => {
    const t = await action.run(() => client.call("create_token", { admin, label: label.trim() }));
    if (t) onDone(t);
  };
  return (
    <Dialog title={`New API token for ${admin}`} onClose={onClose} onSubmit={() => void submit()}>
      <Field label="What it is for" name="label" error={action.error}>
        {(p) => <input {...p} value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Backup script" autoFocus />}
      </Field>
      <FormError error={action.error} fields={["label"]} />
      <DialogButtons submit="Create token" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function SecretDialog({ token, onClose }: { token: NewToken; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <Dialog title="Token created" onClose={onClose}>
      <p>
        Copy the secret of <code>{token.token.id}</code> for {token.token.admin} now. <strong>It is shown only this once.</strong>
      </p>
      <div className="secret-row">
        <input readOnly value={token.secret} aria-label="Token secret" data-testid="token-secret" onFocus={(e) => e.target.select()} />
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard?.writeText(token.secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <div className="dialog-buttons">
        <button type="button" className="primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

function RemoveThing({
  title,
  text,
  work,
  onClose,
  onDone,
}: {
  title: string;
  text: string;
  work: () => Promise<unknown>;
  onClose: () => void;
  onDone: () => void;
}) {
  const action = useAction();
  return (
    <Confirm
      title={title}
      confirm="Remove"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() => void action.run(() => work().then(() => true)).then((ok) => ok && onDone())}
    >
      {text}
    </Confirm>
  );
}
