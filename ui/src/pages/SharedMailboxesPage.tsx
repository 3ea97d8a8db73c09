import { useState } from "react";
import { listAll, type Client } from "../api/client";
import { useSession } from "../app/session";
import type { FetchTls } from "../bindings/FetchTls";
import type { SharedMailbox } from "../bindings/SharedMailbox";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import {
  createParams,
  defaultPort,
  emptySharedForm,
  formOf,
  intervalLabel,
  reportText,
  sinceParam,
  stoppedNotice,
  updateParams,
  type SharedForm,
} from "./sharedModel";

const FIELDS = ["address", "name", "host", "port", "tls", "username", "secret", "fetch_interval_minutes", "disable_after", "kind"];

/**
 * Shared mailboxes of the domain: mailboxes whose mail is fetched from an external IMAP
 * server into Postdesk. The password is write-only (the page shows whether one is stored).
 * Fetching stops after the set number of failures in a row; the notice says so until an
 * interval is set again.
 */
export function SharedMailboxesPage() {
  const { client, domain, readOnly } = useSession();
  const list = useAsync(() => listAll(client, "list_shared_mailboxes", { domain: domain! }), [client, domain]);
  const act = useAction();
  const [form, setForm] = useState<SharedForm>(emptySharedForm);
  const [editing, setEditing] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
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
    }
  };
  const fetchNow = async (address: string) => {
    setMessage(null);
    const r = await act.run(() => client.call("fetch_shared_mailbox", { address }));
    if (r !== undefined) {
      setMessage(reportText(r));
      list.reload();
    }
  };
  const remove = async (address: string) => {
    const done = await act.run(() => client.call("remove_shared_mailbox", { address }));
    if (done !== undefined) list.reload();
  };

  const mailboxes = list.data ?? [];
  const notices = mailboxes.map(stoppedNotice).filter((n): n is string => n !== null);
  const opened = mailboxes.find((m) => m.address === open);

  return (
    <section className="shared-page">
      <p className="muted">
        A shared mailbox is a mailbox of this domain whose mail is fetched from another server over IMAP (TLS always), by
        UID: each message is taken once, whatever reconnects or UIDVALIDITY changes happen, and nothing changes on that
        server. With no interval it is fetched only with “Fetch now”. After the set number of failures in a row fetching
        stops and the interval becomes none. Microsoft 365 is not supported yet.
      </p>
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
                <td>
                  {m.host}:{m.port} ({m.tls === "implicit" ? "implicit TLS" : "STARTTLS"}
                  {m.verify_certificate ? "" : ", certificate not checked"})
                </td>
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
                    <button type="button" onClick={() => setOpen(open === m.address ? null : m.address)}>
                      Folders
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
      )}
      {opened && <FoldersPanel key={opened.address} client={client} mailbox={opened} readOnly={readOnly} onChange={list.reload} />}
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
      <h2>Folders of {address}</h2>
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
      <h3>Resync</h3>
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
