import { useEffect, useId, useState } from "react";
import { listAll, type Client } from "../api/client";
import { useSession } from "../app/session";
import type { FetchTls } from "../bindings/FetchTls";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import type { SharedMailboxKind } from "../bindings/SharedMailboxKind";
import type { SharedOwner } from "../bindings/SharedOwner";
import type { WorkflowGroup } from "../bindings/WorkflowGroup";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { AddressPicker, useDomainUsers } from "../components/AddressPicker";
import {
  autoReplyFormOf,
  autoReplyLabel,
  autoReplyParams,
  dnsLines,
  dnsVerdict,
  noDefaultLabel,
  ownersLabel,
  ownersOf,
  TEMPLATE_FONTS,
  templateLabel,
  templateParams,
  templateStyle,
  type AutoReplyForm,
  createParams,
  defaultPort,
  emptySharedForm,
  formOf,
  intervalLabel,
  reportText,
  sharedFromHash,
  sinceParam,
  sourceLabel,
  stoppedNotice,
  updateParams,
  type SharedForm,
} from "./sharedModel";

const FIELDS = [
  "address",
  "name",
  "kind",
  "host",
  "port",
  "tls",
  "username",
  "tenant_id",
  "client_id",
  "secret",
  "fetch_interval_minutes",
  "disable_after",
];

/**
 * Shared mailboxes of the domain: mailboxes whose mail is fetched from an external IMAP
 * server into Postdesk. The password is write-only (the page shows whether one is stored).
 * Fetching stops after the set number of failures in a row; the notice says so until an
 * interval is set again.
 */
export function SharedMailboxesPage() {
  const { client, domain, readOnly, reloadNotices } = useSession();
  const list = useAsync(() => listAll(client, "list_shared_mailboxes", { domain: domain! }), [client, domain]);
  const groups = useAsync(() => listAll(client, "list_workflow_groups", { domain: domain! }), [client, domain]);
  // Every owner of the domain's shared mailboxes with its default mailbox (the warning marks).
  const owners = useAsync(() => listAll(client, "list_shared_owners", { domain: domain! }), [client, domain]);
  // The domain's users, offered when picking owners and members (the first 1000; any other
  // address can be typed).
  const accounts = useDomainUsers(client, domain!);
  const act = useAction();
  const [form, setForm] = useState<SharedForm>(emptySharedForm);
  const [editing, setEditing] = useState<string | null>(null);
  // A link (the notice of stopped fetching) may name the mailbox to open.
  const [open, setOpen] = useState<string | null>(() => sharedFromHash(window.location.hash));
  useEffect(() => {
    const on = () => {
      const named = sharedFromHash(window.location.hash);
      if (named) setOpen(named);
    };
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  const [message, setMessage] = useState<string | null>(null);
  const set = (patch: Partial<SharedForm>) => setForm({ ...form, ...patch });

  const save = async () => {
    const done = await act.run(() =>
      editing ? client.call("update_shared_mailbox", updateParams(form)) : client.call("create_shared_mailbox", createParams(domain!, form)),
    );
    if (done !== undefined) {
      setForm(emptySharedForm());
      setEditing(null);
      list.reload();
      reloadNotices();
    }
  };
  const fetchNow = async (address: string) => {
    setMessage(null);
    const r = await act.run(() => client.call("fetch_shared_mailbox", { address }));
    if (r !== undefined) {
      setMessage(reportText(r));
      list.reload();
      reloadNotices();
    }
  };
  const remove = async (address: string) => {
    const done = await act.run(() => client.call("remove_shared_mailbox", { address }));
    if (done !== undefined) {
      list.reload();
      reloadNotices();
    }
  };

  const mailboxes = list.data ?? [];
  const notices = mailboxes.map(stoppedNotice).filter((n): n is string => n !== null);
  const opened = mailboxes.find((m) => m.address === open);
  const noDefault = (owners.data ?? []).filter((o) => o.default_mailbox === undefined).length;
  const reloadAll = () => {
    list.reload();
    owners.reload();
  };

  return (
    <section className="shared-page">
      <p className="muted">
        A shared mailbox is a mailbox of this domain whose mail is fetched from another server over IMAP (TLS always), by
        UID, or from Microsoft 365 through Microsoft Graph (an app registration&apos;s client credentials, delta queries per
        folder): each message is taken once, whatever reconnects, UIDVALIDITY changes or expired delta tokens happen, and
        nothing changes on that server. With no interval it is fetched only with “Fetch now”. After the set number of
        failures in a row fetching stops and the interval becomes none. Microsoft 365 fetching was tested against a Graph
        test double only, not a real tenant.
      </p>
      <p className="muted">
        Owners are users of the domain or whole workflow groups, which are managed on the{" "}
        <a href="#/workflow-groups">Workflow groups</a> page.
      </p>
      {noDefault > 0 && (
        <p className="warning-mark" data-testid="no-default-count">
          ⚠ {noDefaultLabel(noDefault)}
        </p>
      )}
      {notices.map((n) => (
        <div key={n} className="form-error" role="alert" data-testid="fetch-stopped">
          {n}
        </div>
      ))}
      {message && (
        <p className="notice" role="status" data-testid="fetch-report">
          {message}
        </p>
      )}
      <FormError error={act.error} fields={FIELDS} />
      {list.error ? (
        <PageError error={list.error} what="the shared mailboxes" />
      ) : list.data && mailboxes.length === 0 ? (
        <p className="empty">No shared mailbox in {domain}.</p>
      ) : (
        <div className="table-scroll">
          <table className="table shared" aria-label="Shared mailboxes">
            <thead>
              <tr>
                <th scope="col">Address</th>
                <th scope="col">Name</th>
                <th scope="col">Server</th>
                <th scope="col">Password</th>
                <th scope="col">Fetching</th>
                <th scope="col">Messages</th>
                <th scope="col">Failures</th>
                <th scope="col">Last error</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {mailboxes.map((m) => (
                <tr key={m.address} data-shared={m.address}>
                  <td>{m.address}</td>
                  <td>{m.name}</td>
                  <td>{sourceLabel(m)}</td>
                  <td>{m.secret_set ? "stored" : "not stored"}</td>
                  <td data-testid="interval">{intervalLabel(m)}</td>
                  <td>{m.fetched_messages}</td>
                  <td data-testid="failures">
                    {m.error_count} of {m.disable_after}
                  </td>
                  <td>{m.last_error_at ? `${m.last_error_at}: ${m.last_error ?? ""}` : "—"}</td>
                  <td>
                    <span className="actions">
                      {!readOnly && (
                        <button type="button" disabled={act.pending} onClick={() => void fetchNow(m.address)}>
                          Fetch now
                        </button>
                      )}
                      <button
                        type="button"
                        aria-expanded={open === m.address}
                        onClick={() => setOpen(open === m.address ? null : m.address)}
                      >
                        {open === m.address ? "Close" : "Open"}
                      </button>
                      {!readOnly && (
                        <>
                          <button
                            type="button"
                            disabled={act.pending}
                            onClick={() => {
                              setEditing(m.address);
                              setForm(formOf(m));
                            }}
                          >
                            Edit
                          </button>
                          <button type="button" disabled={act.pending} onClick={() => void remove(m.address)}>
                            Remove
                          </button>
                        </>
                      )}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {opened && (
        <MailboxPanel
          key={opened.address}
          client={client}
          mailbox={opened}
          readOnly={readOnly}
          groups={groups.data ?? []}
          accounts={accounts.data ?? []}
          owners={owners.data ?? []}
          onChange={reloadAll}
        />
      )}
      {!readOnly && (
        <form
          className="inline-form shared-form"
          aria-label={editing ? `Change ${editing}` : "New shared mailbox"}
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <h2>{editing ? `Change ${editing}` : "New shared mailbox"}</h2>
          {!editing && (
            <Field label="Sender address" name="address" error={act.error}>
              {(p) => <input {...p} value={form.address} onChange={(e) => set({ address: e.target.value })} />}
            </Field>
          )}
          <Field label="Name" name="name" error={act.error}>
            {(p) => <input {...p} value={form.name} onChange={(e) => set({ name: e.target.value })} />}
          </Field>
          <Field label="Source" name="kind" error={act.error}>
            {(p) => (
              <select {...p} value={form.kind} onChange={(e) => set({ kind: e.target.value as SharedMailboxKind })}>
                <option value="imap">IMAP server</option>
                <option value="microsoft365">Microsoft 365 (Microsoft Graph)</option>
              </select>
            )}
          </Field>
          {form.kind === "microsoft365" ? (
            <>
              <Field label="Tenant id (directory id or domain)" name="tenant_id" error={act.error}>
                {(p) => <input {...p} value={form.tenantId} onChange={(e) => set({ tenantId: e.target.value })} />}
              </Field>
              <Field label="Client id (app registration)" name="client_id" error={act.error}>
                {(p) => <input {...p} value={form.clientId} onChange={(e) => set({ clientId: e.target.value })} />}
              </Field>
              <Field label="Mailbox at Microsoft 365 (empty: the sender address)" name="username" error={act.error}>
                {(p) => <input {...p} value={form.username} onChange={(e) => set({ username: e.target.value })} />}
              </Field>
              <Field
                label={editing ? "Client secret (empty: keep the stored one)" : "Client secret"}
                name="secret"
                error={act.error}
              >
                {(p) => (
                  <input
                    {...p}
                    type="password"
                    autoComplete="new-password"
                    value={form.password}
                    onChange={(e) => set({ password: e.target.value })}
                  />
                )}
              </Field>
            </>
          ) : (
            <>
              <Field label="IMAP server" name="host" error={act.error}>
                {(p) => <input {...p} value={form.host} onChange={(e) => set({ host: e.target.value })} />}
              </Field>
              <Field label="TLS" name="tls" error={act.error}>
                {(p) => (
                  <select
                    {...p}
                    value={form.tls}
                    onChange={(e) => {
                      const tls = e.target.value as FetchTls;
                      set({ tls, port: form.port === defaultPort(form.tls) ? defaultPort(tls) : form.port });
                    }}
                  >
                    <option value="implicit">Implicit TLS</option>
                    <option value="starttls">STARTTLS required</option>
                  </select>
                )}
              </Field>
              <Field label="Port" name="port" error={act.error}>
                {(p) => <input {...p} value={form.port} onChange={(e) => set({ port: e.target.value })} />}
              </Field>
              <label className="checkbox">
                <input type="checkbox" checked={form.verifyCertificate} onChange={(e) => set({ verifyCertificate: e.target.checked })} />
                Check the server&apos;s certificate
              </label>
              <Field label="User name" name="username" error={act.error}>
                {(p) => <input {...p} value={form.username} onChange={(e) => set({ username: e.target.value })} />}
              </Field>
              <Field label={editing ? "Password (empty: keep the stored one)" : "Password"} name="secret" error={act.error}>
                {(p) => (
                  <input {...p} type="password" autoComplete="new-password" value={form.password} onChange={(e) => set({ password: e.target.value })} />
                )}
              </Field>
            </>
          )}
          <Field label="Fetch every … minutes (empty: only “Fetch now”)" name="fetch_interval_minutes" error={act.error}>
            {(p) => <input {...p} value={form.interval} onChange={(e) => set({ interval: e.target.value })} />}
          </Field>
          <Field label="Stop after … failures in a row" name="disable_after" error={act.error}>
            {(p) => <input {...p} value={form.disableAfter} onChange={(e) => set({ disableAfter: e.target.value })} />}
          </Field>
          <span className="actions">
            <button type="submit" disabled={act.pending}>
              {editing ? "Save" : "Create"}
            </button>
            {editing && (
              <button
                type="button"
                onClick={() => {
                  setEditing(null);
                  setForm(emptySharedForm());
                }}
              >
                Cancel
              </button>
            )}
          </span>
        </form>
      )}
    </section>
  );
}

/** The server's folders: fetch the list, choose the fetched ones and Sent/Junk; resync from a date. */
function FoldersPanel({
  client,
  mailbox,
  readOnly,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  onChange: () => void;
}) {
  const act = useAction();
  const [chosen, setChosen] = useState<string[]>(mailbox.folders.filter((f) => f.fetch).map((f) => f.name));
  const [sent, setSent] = useState(mailbox.sent_folder ?? "");
  const [junk, setJunk] = useState(mailbox.junk_folder ?? "");
  const [since, setSince] = useState("");
  const [agree, setAgree] = useState(false);
  const address = mailbox.address;
  const done = async <T,>(work: () => Promise<T>) => {
    if ((await act.run(work)) !== undefined) onChange();
  };
  return (
    <section className="shared-folders" aria-label={`Folders of ${address}`}>
      <h3>Folders of {address}</h3>
      <FormError error={act.error} fields={["fetch", "sent_folder", "junk_folder", "since", "confirm"]} />
      {!readOnly && (
        <button type="button" disabled={act.pending} onClick={() => void done(() => client.call("fetch_shared_folder_list", { address }))}>
          Fetch folder list
        </button>
      )}
      {mailbox.folders.length === 0 ? (
        <p className="empty">No folder list yet: until one is fetched, INBOX is fetched.</p>
      ) : (
        <form
          aria-label="Choose folders"
          onSubmit={(e) => {
            e.preventDefault();
            void done(() =>
              client.call("set_shared_folders", { address, fetch: chosen, sent_folder: sent || undefined, junk_folder: junk || undefined }),
            );
          }}
        >
          <ul className="plain">
            {mailbox.folders.map((f) => (
              <li key={f.name}>
                <label className="checkbox">
                  <input
                    type="checkbox"
                    disabled={readOnly}
                    checked={chosen.includes(f.name)}
                    onChange={(e) => setChosen(e.target.checked ? [...chosen, f.name] : chosen.filter((c) => c !== f.name))}
                  />
                  {f.name} {f.special_use ? <span className="muted">({f.special_use})</span> : null}{" "}
                  <span className="muted">{f.fetched} fetched</span>
                </label>
              </li>
            ))}
          </ul>
          <Field label="Sent folder (fetched into Sent)" name="sent_folder" error={act.error}>
            {(p) => (
              <select {...p} disabled={readOnly} value={sent} onChange={(e) => setSent(e.target.value)}>
                <option value="">none</option>
                {mailbox.folders.map((f) => (
                  <option key={f.name}>{f.name}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Junk folder (fetched into Junk)" name="junk_folder" error={act.error}>
            {(p) => (
              <select {...p} disabled={readOnly} value={junk} onChange={(e) => setJunk(e.target.value)}>
                <option value="">none</option>
                {mailbox.folders.map((f) => (
                  <option key={f.name}>{f.name}</option>
                ))}
              </select>
            )}
          </Field>
          {!readOnly && (
            <button type="submit" disabled={act.pending}>
              Save folders
            </button>
          )}
        </form>
      )}
      <h4>Resync</h4>
      <p className="muted">
        Fetch again from a date and time (UTC): the next fetch takes what the server received since then that was not
        fetched before; those messages get the time of fetching as their received date.
        {mailbox.resync_from ? ` A resync from ${mailbox.resync_from} waits for the next fetch.` : ""}
      </p>
      {!readOnly && (
        <form
          aria-label="Resync"
          onSubmit={(e) => {
            e.preventDefault();
            void done(() => client.call("resync_shared_mailbox", { address, since: sinceParam(since), confirm: agree }));
          }}
        >
          <Field label="From (UTC)" name="since" error={act.error}>
            {(p) => <input {...p} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}
          </Field>
          <label className="checkbox">
            <input type="checkbox" checked={agree} onChange={(e) => setAgree(e.target.checked)} />I agree
          </label>
          <button type="submit" disabled={act.pending}>
            Resync
          </button>
        </form>
      )}
    </section>
  );
}

type Tab = "folders" | "owners" | "template" | "auto-reply" | "security";
const TABS: [Tab, string][] = [
  ["folders", "Folders"],
  ["owners", "Owners"],
  ["template", "Template"],
  ["auto-reply", "Auto-reply"],
  ["security", "Security"],
];

/** One shared mailbox opened: its folders, owners, template, auto-reply and its domain's DNS, as tabs. */
function MailboxPanel({
  client,
  mailbox,
  readOnly,
  groups,
  accounts,
  owners,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  groups: WorkflowGroup[];
  accounts: string[];
  owners: SharedOwner[];
  onChange: () => void;
}) {
  const [tab, setTab] = useState<Tab>("folders");
  const id = useId();
  const pick = (t: Tab) => setTab(t);
  return (
    <section className="shared-mailbox panel" aria-label={`Shared mailbox ${mailbox.address}`}>
      <h2>{mailbox.address}</h2>
      <div
        role="tablist"
        aria-label={`Settings of ${mailbox.address}`}
        className="tabs"
        onKeyDown={(e) => {
          const i = TABS.findIndex(([t]) => t === tab);
          const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
          if (step === 0) return;
          e.preventDefault();
          const next = TABS[(i + step + TABS.length) % TABS.length][0];
          pick(next);
          document.getElementById(`${id}-tab-${next}`)?.focus();
        }}
      >
        {TABS.map(([t, label]) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`${id}-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`${id}-panel`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => pick(t)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${tab}`} className="tab-panel">
        {tab === "folders" && <FoldersPanel client={client} mailbox={mailbox} readOnly={readOnly} onChange={onChange} />}
        {tab === "owners" && (
          <>
            <OwnersPanel client={client} mailbox={mailbox} readOnly={readOnly} groups={groups} accounts={accounts} onChange={onChange} />
            <DefaultMailboxes client={client} mailbox={mailbox} readOnly={readOnly} owners={owners} onChange={onChange} />
          </>
        )}
        {tab === "template" && <TemplatePanel client={client} mailbox={mailbox} readOnly={readOnly} onChange={onChange} />}
        {tab === "auto-reply" && <AutoReplyPanel client={client} mailbox={mailbox} readOnly={readOnly} onChange={onChange} />}
        {tab === "security" && <SecurityPanel client={client} mailbox={mailbox} />}
      </div>
    </section>
  );
}

/** Who owns the shared mailbox: users and workflow groups of its domain. */
function OwnersPanel({
  client,
  mailbox,
  readOnly,
  groups,
  accounts,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  groups: WorkflowGroup[];
  accounts: string[];
  onChange: () => void;
}) {
  const act = useAction();
  const [users, setUsers] = useState<string[]>(mailbox.owners ?? []);
  const [chosen, setChosen] = useState<string[]>(mailbox.owner_groups ?? []);
  const [saved, setSaved] = useState(false);
  const address = mailbox.address;
  const names = [...new Set([...groups.map((g) => g.name), ...chosen])];
  return (
    <form
      className="shared-owners"
      aria-label={`Owners of ${address}`}
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void act.run(() => client.call("set_shared_mailbox_owners", { address, users, groups: chosen })).then((r) => {
          if (r !== undefined) {
            setSaved(true);
            onChange();
          }
        });
      }}
    >
      <h3>Owners of {address}</h3>
      <p className="muted">
        Owners — these users and the members of these workflow groups — may send mail as {address} when they send
        through this server with their own account, and read it over IMAP with their own login: it appears in their
        mail program under Shared/{address}/.
      </p>
      <p data-testid="owners-now">Owners now: {ownersLabel(mailbox)}.</p>
      <FormError error={act.error} fields={["users", "groups"]} />
      <h4>Users</h4>
      <AddressPicker
        label="Owner users"
        name="users"
        value={users}
        onChange={setUsers}
        domain={mailbox.domain}
        options={accounts.filter((a) => a !== address)}
        error={act.error}
        disabled={readOnly}
      />
      <fieldset className="plain-fieldset" data-field="groups">
        <legend>Workflow groups</legend>
        {names.length === 0 ? (
          <p className="muted">No workflow group in {mailbox.domain} yet: create one below the list.</p>
        ) : (
          <ul className="plain">
            {names.map((n) => (
              <li key={n}>
                <label className="checkbox">
                  <input
                    type="checkbox"
                    disabled={readOnly}
                    checked={chosen.includes(n)}
                    onChange={(e) => setChosen(e.target.checked ? [...chosen, n] : chosen.filter((c) => c !== n))}
                  />
                  {n}
                </label>
              </li>
            ))}
          </ul>
        )}
        {act.error?.field === "groups" && (
          <div className="field-error" role="alert">
            {act.error.message}
          </div>
        )}
      </fieldset>
      {!readOnly && (
        <span className="actions">
          <button type="submit" disabled={act.pending}>
            Save owners
          </button>
          {saved && (
            <span role="status" className="muted">
              Saved.
            </span>
          )}
        </span>
      )}
    </form>
  );
}

/**
 * The users who own the shared mailbox (themselves or through a workflow group) and each
 * one's default shared mailbox; a warning mark on those without one.
 */
function DefaultMailboxes({
  client,
  mailbox,
  readOnly,
  owners,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  owners: SharedOwner[];
  onChange: () => void;
}) {
  const act = useAction();
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const mine = ownersOf(owners, mailbox.address);
  const save = async (user: string) => {
    const pick = chosen[user] ?? owners.find((o) => o.address === user)?.default_mailbox ?? "";
    const r = await act.run(() => client.call("set_default_shared_mailbox", { user, mailbox: pick || undefined }));
    if (r !== undefined) onChange();
  };
  return (
    <section className="shared-defaults" aria-label={`Default mailboxes of the owners of ${mailbox.address}`}>
      <h4>Default mailbox of each owner</h4>
      <p className="muted">
        A user&apos;s default shared mailbox is the sender address its mail apps should propose. It is stored, given
        through the API and shown to the user in the self-service portal; it goes when the user no longer owns the
        mailbox. Owners may send as any mailbox they own either way.
      </p>
      <FormError error={act.error} fields={["user", "mailbox"]} />
      {mine.length === 0 ? (
        <p className="muted">No user owns {mailbox.address} yet.</p>
      ) : (
        <ul className="plain owner-defaults">
          {mine.map((o) => {
            const value = chosen[o.address] ?? o.default_mailbox ?? "";
            return (
              <li key={o.address} data-owner={o.address}>
                <strong>{o.address}</strong>:{" "}
                {o.default_mailbox ? (
                  <span data-testid="default-mailbox">default {o.default_mailbox}</span>
                ) : (
                  <span className="warning-mark" data-testid="no-default">
                    ⚠ no default mailbox
                  </span>
                )}
                {!readOnly && (
                  <span className="inline-form">
                    <label>
                      Default for {o.address}{" "}
                      <select value={value} onChange={(e) => setChosen({ ...chosen, [o.address]: e.target.value })}>
                        <option value="">none</option>
                        {o.owns.map((m) => (
                          <option key={m} value={m}>
                            {m}
                          </option>
                        ))}
                      </select>
                    </label>
                    <button type="button" disabled={act.pending} onClick={() => void save(o.address)}>
                      Set default for {o.address}
                    </button>
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The shared mailbox's template: the stored default font and size, with a preview line. */
function TemplatePanel({
  client,
  mailbox,
  readOnly,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  onChange: () => void;
}) {
  const act = useAction();
  const [font, setFont] = useState(mailbox.template?.font ?? "");
  const [size, setSize] = useState(mailbox.template?.size_pt?.toString() ?? "");
  const [saved, setSaved] = useState(false);
  const address = mailbox.address;
  return (
    <form
      className="shared-template"
      aria-label={`Template of ${address}`}
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void act.run(() => client.call("set_shared_template", templateParams(address, font, size))).then((r) => {
          if (r !== undefined) {
            setSaved(true);
            onChange();
          }
        });
      }}
    >
      <h3>Template of {address}</h3>
      <p className="muted">
        The organisation&apos;s stored default font and size for mail written from {address}. Postdesk has no webmail and
        changes no message: the template is kept here, given with the mailbox through the API and shown to its owners in
        the self-service portal, for them to set in their mail apps.
      </p>
      <p data-testid="template-now">Template now: {templateLabel(mailbox)}.</p>
      <FormError error={act.error} fields={["font", "size_pt"]} />
      <div className="grid-2">
        <Field label="Font" name="font" error={act.error}>
          {(p) => (
            <select {...p} disabled={readOnly} value={font} onChange={(e) => setFont(e.target.value)}>
              <option value="">none</option>
              {TEMPLATE_FONTS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Size in points (8–36; empty: none)" name="size_pt" error={act.error}>
          {(p) => (
            <input {...p} inputMode="numeric" disabled={readOnly} value={size} onChange={(e) => setSize(e.target.value)} />
          )}
        </Field>
      </div>
      <p className="template-preview" data-testid="template-preview" style={templateStyle(font, size)}>
        The quick brown fox jumps over the lazy dog — preview
      </p>
      {!readOnly && (
        <span className="actions">
          <button type="submit" disabled={act.pending}>
            Save template
          </button>
          {saved && (
            <span role="status" className="muted">
              Saved.
            </span>
          )}
        </span>
      )}
    </form>
  );
}

/** The shared mailbox's auto-reply: on/off, a period in UTC, subject and text. */
function AutoReplyPanel({
  client,
  mailbox,
  readOnly,
  onChange,
}: {
  client: Client;
  mailbox: SharedMailbox;
  readOnly: boolean;
  onChange: () => void;
}) {
  const act = useAction();
  const [form, setForm] = useState<AutoReplyForm>(() => autoReplyFormOf(mailbox));
  const [saved, setSaved] = useState(false);
  const set = (patch: Partial<AutoReplyForm>) => setForm({ ...form, ...patch });
  const address = mailbox.address;
  return (
    <form
      className="shared-auto-reply"
      aria-label={`Auto-reply of ${address}`}
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void act.run(() => client.call("set_shared_auto_reply", autoReplyParams(address, form))).then((r) => {
          if (r !== undefined) {
            setSaved(true);
            onChange();
          }
        });
      }}
    >
      <h3>Auto-reply of {address}</h3>
      <p className="muted">
        Answers mail delivered to {address} on this server, once per sender in the period; never mailing lists, bulk or
        automatic mail. Mail fetched from the external server is not answered.
      </p>
      <p data-testid="auto-reply-now">Auto-reply now: {autoReplyLabel(mailbox)}.</p>
      <FormError error={act.error} fields={["starts_at", "ends_at", "subject", "text"]} />
      <label className="checkbox">
        <input type="checkbox" disabled={readOnly} checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
        Answer incoming mail
      </label>
      <div className="grid-2">
        <Field label="From (UTC, empty: from now on)" name="starts_at" error={act.error}>
          {(p) => <input {...p} type="datetime-local" disabled={readOnly} value={form.startsAt} onChange={(e) => set({ startsAt: e.target.value })} />}
        </Field>
        <Field label="Until (UTC, not included; empty: until turned off)" name="ends_at" error={act.error}>
          {(p) => <input {...p} type="datetime-local" disabled={readOnly} value={form.endsAt} onChange={(e) => set({ endsAt: e.target.value })} />}
        </Field>
      </div>
      <Field label="Subject" name="subject" error={act.error}>
        {(p) => <input {...p} disabled={readOnly} maxLength={200} value={form.subject} onChange={(e) => set({ subject: e.target.value })} />}
      </Field>
      <Field label="Text" name="text" error={act.error}>
        {(p) => <textarea {...p} rows={6} disabled={readOnly} value={form.text} onChange={(e) => set({ text: e.target.value })} />}
      </Field>
      {!readOnly && (
        <span className="actions">
          <button type="submit" disabled={act.pending}>
            Save auto-reply
          </button>
          {saved && (
            <span role="status" className="muted">
              Saved.
            </span>
          )}
        </span>
      )}
    </form>
  );
}

/** The DNS checks of the shared mailbox's domain (the DNS page's check), in plain words. */
function SecurityPanel({ client, mailbox }: { client: Client; mailbox: SharedMailbox }) {
  const report = useAsync(() => client.call("check_dns", { domain: mailbox.domain }), [client, mailbox.domain]);
  const lines = report.data ? dnsLines(report.data) : [];
  return (
    <section className="shared-security" aria-label={`Security of ${mailbox.domain}`} aria-busy={report.loading}>
      <h3>DNS of {mailbox.domain}</h3>
      <p className="muted">
        Whether receivers can trust mail sent as {mailbox.address}: the domain&apos;s MX, SPF, DKIM and DMARC records as
        the DNS answers now. The DNS page shows the records to publish.
      </p>
      <button type="button" disabled={report.loading} onClick={report.reload}>
        {report.loading ? "Checking…" : "Check again"}
      </button>
      {report.error ? (
        <PageError error={report.error} what={`the DNS checks of ${mailbox.domain}`} />
      ) : report.data ? (
        <>
          <p data-testid="dns-verdict">{dnsVerdict(lines)}</p>
          <ul className="plain dns-lines">
            {lines.map((l) => (
              <li key={l.check} data-check={l.check} data-status={l.status}>
                <span className={`dns-status ${l.status}`}>{l.words}</span> <strong>{l.label}</strong>
                {l.details.length > 0 && (
                  <ul className="findings">
                    {l.details.map((d, i) => (
                      <li key={i}>{d}</li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
