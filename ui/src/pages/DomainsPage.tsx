import { listAll } from "../api/client";
import { useState } from "react";
import { BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { Domain } from "../bindings/Domain";
import type { PlanLimits } from "../bindings/PlanLimits";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError, wholeNumber } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

const nf = new Intl.NumberFormat();

type Modal = { kind: "create" } | { kind: "limits"; domain: Domain } | { kind: "remove"; domain: Domain } | { kind: "group" } | null;

/** Domains with their plan limits and usage; domain groups with their allowance. */
export function DomainsPage() {
  const { client, domains, domainsError, reloadDomains, caller } = useSession();
  const groups = useAsync(() => listAll(client, "list_domain_groups", {}), [client]);
  const [modal, setModal] = useState<Modal>(null);
  const allDomains = caller.domains === null;
  const done = () => {
    setModal(null);
    reloadDomains();
    groups.reload();
  };

  return (
    <section className="domains-page">
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          onClick={() => setModal({ kind: "create" })}
          disabled={!allDomains}
          title={allDomains ? undefined : "Only admins of all domains can create domains"}
        >
          New domain
        </button>
        <button type="button" onClick={() => setModal({ kind: "group" })} disabled={!allDomains}>
          New domain group
        </button>
      </div>
      {domainsError ? (
        <PageError error={domainsError} what="the domains" />
      ) : domains.length === 0 ? (
        <p className="empty">No domains yet.</p>
      ) : (
        <table className="table" aria-label="Domains">
          <thead>
            <tr>
              <th scope="col">Domain</th>
              <th scope="col">Accounts used</th>
              <th scope="col">Mailbox size</th>
              <th scope="col">Attachments</th>
              <th scope="col">Group</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {domains.map((d) => {
              const pct = d.limits.max_accounts > 0 ? Math.min(100, (100 * d.account_count) / d.limits.max_accounts) : 100;
              return (
                <tr key={d.name} data-domain={d.name}>
                  <th scope="row">
                    {d.display_name}
                    {d.display_name !== d.name && <div className="muted small">{d.name}</div>}
                  </th>
                  <td>
                    <div className="usage">
                      <meter min={0} max={d.limits.max_accounts} value={d.account_count} high={d.limits.max_accounts * 0.9}>
                        {pct.toFixed(0)}%
                      </meter>
                      <span>
                        {nf.format(d.account_count)} / {nf.format(d.limits.max_accounts)}
                      </span>
                    </div>
                  </td>
                  <td>{nf.format(d.limits.mailbox_size_mb)} MiB</td>
                  <td>
                    {nf.format(d.limits.attachment_size_mb)} MiB{d.limits.large_attachments ? ", large via links" : ""}
                  </td>
                  <td>{d.group ?? <span className="muted">—</span>}</td>
                  <td className="actions">
                    <button type="button" disabled={!allDomains} onClick={() => setModal({ kind: "limits", domain: d })}>
                      Limits…
                    </button>
                    <button type="button" disabled={!allDomains} onClick={() => setModal({ kind: "remove", domain: d })}>
                      Remove…
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      {(groups.data?.length ?? 0) > 0 && (
        <>
          <h2 className="section-title">Domain groups</h2>
          <table className="table" aria-label="Domain groups">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Allocated / allowance</th>
                <th scope="col">Subsidiary domains</th>
              </tr>
            </thead>
            <tbody>
              {groups.data!.map((g) => (
                <tr key={g.name}>
                  <th scope="row">{g.name}</th>
                  <td>
                    {nf.format(g.allocated)} / {nf.format(g.max_accounts)}
                  </td>
                  <td>{g.domains.join(", ") || <span className="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {groups.error && groups.error.code !== "permission_denied" && <PageError error={groups.error} what="the domain groups" />}

      {modal?.kind === "create" && (
        <DomainDialog groups={(groups.data ?? []).map((g) => g.name)} onClose={() => setModal(null)} onDone={done} />
      )}
      {modal?.kind === "limits" && (
        <DomainDialog domain={modal.domain} groups={[]} onClose={() => setModal(null)} onDone={done} />
      )}
      {modal?.kind === "group" && <GroupDialog onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && <RemoveDomain domain={modal.domain} onClose={() => setModal(null)} onDone={done} />}
    </section>
  );
}

const STANDARD: PlanLimits = { max_accounts: 50, mailbox_size_mb: 10240, attachment_size_mb: 60, large_attachments: true };

/** Create a domain, or change an existing one's limits (or, for a subsidiary, its allocation). */
function DomainDialog({
  domain,
  groups,
  onClose,
  onDone,
}: {
  domain?: Domain;
  groups: string[];
  onClose: () => void;
  onDone: () => void;
}) {
  const { client } = useSession();
  const start = domain?.limits ?? STANDARD;
  const [name, setName] = useState("");
  const [group, setGroup] = useState("");
  const [maxAccounts, setMaxAccounts] = useState(String(start.max_accounts));
  const [mailbox, setMailbox] = useState(String(start.mailbox_size_mb));
  const [attachment, setAttachment] = useState(String(start.attachment_size_mb));
  const [large, setLarge] = useState(start.large_attachments);
  const action = useAction();
  const submit = async () => {
    const ok = await action.run(async () => {
      const limits: PlanLimits = {
        max_accounts: wholeNumber(maxAccounts, "max_accounts", group || domain?.group ? "Accounts allocated" : "Max accounts"),
        mailbox_size_mb: wholeNumber(mailbox, "mailbox_size_mb", "Mailbox size"),
        attachment_size_mb: wholeNumber(attachment, "attachment_size_mb", "Attachment size"),
        large_attachments: large,
      };
      if (!domain) {
        return client.call("create_domain", { domain: name.trim(), limits, ...(group ? { group } : {}) });
      }
      if (domain.group && limits.max_accounts !== domain.limits.max_accounts) {
        await client.call("allocate_accounts", { domain: domain.name, max_accounts: limits.max_accounts });
      }
      return client.call("update_domain_limits", { domain: domain.name, limits });
    });
    if (ok) onDone();
  };
  // Limit errors name the field inside limits; accept both spellings.
  const e = action.error;
  const err = e?.field?.startsWith("limits.") ? new BackendError(e.code, e.message, e.field.slice("limits.".length)) : e;
  const fields = ["domain", "group", "max_accounts", "mailbox_size_mb", "attachment_size_mb", "large_attachments"];
  return (
    <Dialog title={domain ? `Limits of ${domain.display_name}` : "New domain"} onClose={onClose} onSubmit={() => void submit()}>
      {!domain && (
        <Field label="Domain name" name="domain" error={err}>
          {(p) => (
            <input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="example.com" autoFocus required />
          )}
        </Field>
      )}
      {!domain && groups.length > 0 && (
        <Field label="Subsidiary of group" name="group" error={err}>
          {(p) => (
            <select {...p} value={group} onChange={(e) => setGroup(e.target.value)}>
              <option value="">(none)</option>
              {groups.map((g) => (
                <option key={g}>{g}</option>
              ))}
            </select>
          )}
        </Field>
      )}
      <div className="grid-2">
        <Field label={group || domain?.group ? "Accounts allocated" : "Max accounts"} name="max_accounts" error={err}>
          {(p) => <input {...p} type="number" min={0} value={maxAccounts} onChange={(e) => setMaxAccounts(e.target.value)} />}
        </Field>
        <Field label="Mailbox size (MiB)" name="mailbox_size_mb" error={err}>
          {(p) => <input {...p} type="number" min={1} value={mailbox} onChange={(e) => setMailbox(e.target.value)} />}
        </Field>
        <Field label="Attachment size (MiB)" name="attachment_size_mb" error={err}>
          {(p) => <input {...p} type="number" min={1} value={attachment} onChange={(e) => setAttachment(e.target.value)} />}
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" checked={large} onChange={(e) => setLarge(e.target.checked)} /> Allow large attachments (as
        links)
      </label>
      <FormError error={err} fields={fields} />
      <DialogButtons submit={domain ? "Save limits" : "Create domain"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function GroupDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState("");
  const [max, setMax] = useState("500");
  const action = useAction();
  const submit = async () => {
    const g = await action.run(() =>
      client.call("create_domain_group", { name: name.trim(), max_accounts: wholeNumber(max, "max_accounts", "Account allowance") }),
    );
    if (g) onDone();
  };
  return (
    <Dialog title="New domain group" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Group name" name="name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoFocus required />}
      </Field>
      <Field label="Account allowance" name="max_accounts" error={action.error}>
        {(p) => <input {...p} type="number" min={0} value={max} onChange={(e) => setMax(e.target.value)} />}
      </Field>
      <FormError error={action.error} fields={["name", "max_accounts"]} />
      <DialogButtons submit="Create group" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function RemoveDomain({ domain, onClose, onDone }: { domain: Domain; onClose: () => void; onDone: () => void }) {
  const { client } = useSession();
  const action = useAction();
  return (
    <Confirm
      title={`Remove ${domain.display_name}?`}
      confirm="Remove domain"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action.run(() => client.call("remove_domain", { domain: domain.name }).then(() => true)).then((ok) => ok && onDone())
      }
    >
      Only an empty domain (no accounts, aliases or groups) can be removed.
    </Confirm>
  );
}
