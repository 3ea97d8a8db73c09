import { listAll } from "../api/client";
import { useState } from "react";
import { formatBytes } from "../api/files";
import { useSession } from "../app/session";
import type { RecycledAccount } from "../bindings/RecycledAccount";
import { Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

const nf = new Intl.NumberFormat();

function when(t: string): string {
  return t.replace("T", " ").replace("Z", " UTC");
}

/** What became of a recycle-bin entry, in words. */
export function entryState(e: RecycledAccount): string {
  if (e.restored_at) return `Restored ${when(e.restored_at)} by ${e.restored_by ?? "?"}`;
  const moved = e.transferred_to ? `Mail moved to ${e.transferred_to}. ` : "";
  return e.restorable ? `${moved}In the bin` : `${moved}Waiting to be purged`;
}

/**
 * The recycle bin: deleted accounts with their mail, until the domain's
 * retention runs out. Restore an account (once), or move its mail to another mailbox.
 */
export function RecycleBinPage() {
  const { client, domain, readOnly, reloadDomains } = useSession();
  const list = useAsync(() => listAll(client, "list_recycle_bin", { domain: domain! }), [client, domain]);
  const settings = useAsync(() => client.call("get_mailbox_settings", { domain: domain! }), [client, domain]);
  const restore = useAction();
  const [done, setDone] = useState<string | null>(null);
  const [transferring, setTransferring] = useState<RecycledAccount | null>(null);

  return (
    <section className="recycle-page">
      <p className="muted">
        Deleted accounts stay here with their mail for {settings.data ? nf.format(settings.data.retention_days) : "…"} days (the
        domain&#8217;s retention, set on the Mailbox settings page), then they are purged for good. A restored account stays
        listed but cannot be restored again.
      </p>
      <FormError error={restore.error} />
      {done && (
        <div className="ok" role="status">
          {done}
        </div>
      )}
      {list.error && <PageError error={list.error} what="the recycle bin" />}
      {list.data && list.data.length === 0 && <p className="empty">The recycle bin is empty.</p>}
      {list.data && list.data.length > 0 && (
        <table className="table" aria-label="Recycle bin">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Deleted</th>
              <th scope="col">Purged after</th>
              <th scope="col">Mail</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((e) => (
              <tr key={`${e.address}-${e.deleted_at}`} data-address={e.address} data-restorable={e.restorable}>
                <th scope="row">
                  {e.address}
                  {e.display_name && <div className="muted small">{e.display_name}</div>}
                </th>
                <td>
                  {when(e.deleted_at)}
                  <div className="muted small">by {e.deleted_by}</div>
                </td>
                <td>{e.restored_at ? "—" : when(e.purge_after)}</td>
                <td>
                  {nf.format(e.messages)} messages
                  <div className="muted small">{formatBytes(e.size_bytes)}</div>
                </td>
                <td>{entryState(e)}</td>
                <td className="actions">
                  {e.restorable && (
                    <>
                      <button
                        type="button"
                        disabled={readOnly || restore.pending}
                        onClick={() =>
                          void restore.run(() => client.call("restore_account", { address: e.address })).then((a) => {
                            if (!a) return;
                            setDone(`${a.address} is back (${a.status}).`);
                            list.reload();
                            reloadDomains();
                          })
                        }
                      >
                        Restore
                      </button>
                      {!e.transferred_to && (
                        <button type="button" disabled={readOnly} onClick={() => setTransferring(e)}>
                          Transfer mail…
                        </button>
                      )}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {transferring && (
        <TransferDialog
          entry={transferring}
          onClose={() => setTransferring(null)}
          onDone={(text) => {
            setTransferring(null);
            setDone(text);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function TransferDialog({
  entry,
  onClose,
  onDone,
}: {
  entry: RecycledAccount;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const { client, domain } = useSession();
  const [to, setTo] = useState("");
  const action = useAction();
  const submit = async () => {
    const t = to.trim();
    const full = t.includes("@") ? t : `${t}@${domain}`;
    const moved = await action.run(() => client.call("transfer_mail", { address: entry.address, to: full }));
    if (moved) {
      onDone(`Moved ${nf.format(moved.messages)} messages (${formatBytes(moved.size_bytes)}) to ${moved.to}, folder ${moved.folder}.`);
    }
  };
  return (
    <Dialog title={`Transfer the mail of ${entry.address}`} onClose={onClose} onSubmit={() => void submit()}>
      <div className="dialog-body">
        <p className="muted small">
          All {nf.format(entry.messages)} messages move into a folder <code>Transferred/{entry.address}</code> of the mailbox you
          choose. The deleted account keeps no mail.
        </p>
        <Field label="Into the mailbox" name="to" error={action.error} hint={`An account address, or a local part in ${domain}`}>
          {(p) => <input {...p} value={to} onChange={(e) => setTo(e.target.value)} autoFocus required />}
        </Field>
        <FormError error={action.error} fields={["to"]} />
      </div>
      <DialogButtons submit="Transfer mail" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}
