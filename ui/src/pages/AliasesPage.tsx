import { AddressSuggest, appendLine, useDomainAddresses } from "../components/AddressSuggest";
import { useState } from "react";
import { useSession } from "../app/session";
import type { Alias } from "../bindings/Alias";
import { Confirm, Dialog, DialogButtons, Field, FormError, ListFilter, MoreButton, PageError, splitList } from "../components/forms";
import { useAction, useDebounced, usePaged } from "../components/hooks";
import { ResolveBox } from "../components/ResolveBox";
import { DomainFileButtons } from "./DomainFileButtons";
import { ALIAS_FILES } from "./domainFiles";

/** Aliases asked for at a time. */
const PAGE = 200;

type Modal = { kind: "edit"; alias: Alias | null } | { kind: "remove"; alias: Alias } | null;

/** Distribution aliases of a domain, and "who receives mail to x?". */
export function AliasesPage() {
  const { client, domain, readOnly } = useSession();
  const [text, setText] = useState("");
  const query = useDebounced(text.trim(), 250);
  const list = usePaged(
    (after) => client.call("list_aliases", { domain: domain!, limit: PAGE, ...(query ? { query } : {}), ...(after ? { after } : {}) }),
    [client, domain, query],
  );
  const [modal, setModal] = useState<Modal>(null);
  const done = () => {
    setModal(null);
    list.reload();
  };
  return (
    <section className="aliases-page">
      <ResolveBox />
      <div className="toolbar">
        <button type="button" className="primary" disabled={readOnly} onClick={() => setModal({ kind: "edit", alias: null })}>
          New alias
        </button>
        <DomainFileButtons kind={ALIAS_FILES} onImported={list.reload} />
      </div>
      <div className="toolbar" role="search">
        <ListFilter
          label="Filter aliases"
          placeholder="Filter by address, description or target…"
          value={text}
          onChange={setText}
        />
      </div>
      {list.error ? (
        <PageError error={list.error} what="the aliases" />
      ) : list.data && list.data.length === 0 ? (
        <p className="empty">{query ? `No alias of ${domain} matches “${query}”.` : `No aliases in ${domain}.`}</p>
      ) : (
        <table className="table" aria-label="Aliases">
          <thead>
            <tr>
              <th scope="col">Alias</th>
              <th scope="col">Targets</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((a) => (
              <tr key={a.address}>
                <th scope="row">{a.address}</th>
                <td>{a.targets.join(", ")}</td>
                <td>{a.description}</td>
                <td className="actions">
                  <button type="button" disabled={readOnly} onClick={() => setModal({ kind: "edit", alias: a })}>
                    Edit…
                  </button>
                  <button type="button" disabled={readOnly} onClick={() => setModal({ kind: "remove", alias: a })}>
                    Remove…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton list={list} label="Show more aliases" />
      {modal?.kind === "edit" && <AliasDialog alias={modal.alias} onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && <RemoveAlias alias={modal.alias} onClose={() => setModal(null)} onDone={done} />}
    </section>
  );
}

function AliasDialog({ alias, onClose, onDone }: { alias: Alias | null; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const [address, setAddress] = useState("");
  const [targets, setTargets] = useState(alias?.targets.join("\n") ?? "");
  const [description, setDescription] = useState(alias?.description ?? "");
  const addresses = useDomainAddresses(client, domain);
  const action = useAction();
  const submit = async () => {
    const list = splitList(targets);
    const ok = await action.run(() =>
      alias
        ? client.call("update_alias", { address: alias.address, targets: list, description })
        : client.call("create_alias", {
            address: address.includes("@") ? address.trim() : `${address.trim()}@${domain}`,
            targets: list,
            description,
          }),
    );
    if (ok) onDone();
  };
  return (
    <Dialog title={alias ? `Alias ${alias.address}` : "New alias"} onClose={onClose} onSubmit={() => void submit()}>
      {!alias && (
        <Field label="Alias address" name="address" error={action.error}>
          {(p) => <input {...p} value={address} onChange={(e) => setAddress(e.target.value)} placeholder={`team@${domain}`} required />}
        </Field>
      )}
      <Field label="Targets" name="targets" error={action.error} hint="Accounts, groups, aliases or external addresses; one per line">
        {(p) => <textarea {...p} rows={5} value={targets} onChange={(e) => setTargets(e.target.value)} />}
      </Field>
      <AddressSuggest label="Pick a target" options={addresses} onPick={(a) => setTargets((t) => appendLine(t, a))} />
      <Field label="Description" name="description" error={action.error}>
        {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <FormError error={action.error} fields={["address", "targets", "description"]} />
      <DialogButtons submit={alias ? "Save" : "Create alias"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function RemoveAlias({ alias, onClose, onDone }: { alias: Alias; onClose: () => void; onDone: () => void }) {
  const { client } = useSession();
  const action = useAction();
  return (
    <Confirm
      title={`Remove alias ${alias.address}?`}
      confirm="Remove"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action.run(() => client.call("remove_alias", { address: alias.address }).then(() => true)).then((ok) => ok && onDone())
      }
    >
      Mail to this address will no longer be delivered.
    </Confirm>
  );
}
