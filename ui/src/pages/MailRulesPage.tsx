import { useState } from "react";
import { useSession } from "../app/session";
import type { BccRule } from "../bindings/BccRule";
import type { RuleDirection } from "../bindings/RuleDirection";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { listAll } from "../api/client";
import { condition, describeBcc } from "./mailRules";

type Modal = { kind: "add" } | { kind: "remove"; rule: BccRule } | null;

/** Mail rules on the path of a domain: automatic blind copies. */
export function MailRulesPage() {
  const { client, domain, readOnly } = useSession();
  const list = useAsync(() => listAll(client, "list_bcc_rules", { domain: domain! }), [client, domain]);
  const [modal, setModal] = useState<Modal>(null);
  const done = () => {
    setModal(null);
    list.reload();
  };
  return (
    <section className="mail-rules-page">
      <h2>Automatic BCC</h2>
      <p className="muted">
        A blind copy of the mail {domain} sends or receives that matches a rule goes to the address you choose. A
        condition is an address or a domain; an empty one matches everything.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" disabled={readOnly} onClick={() => setModal({ kind: "add" })}>
          New BCC rule
        </button>
      </div>
      {list.error ? (
        <PageError error={list.error} what="the BCC rules" />
      ) : list.data && list.data.length === 0 ? (
        <p className="empty">No BCC rules in {domain}.</p>
      ) : (
        <table className="table" aria-label="BCC rules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Rule</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.name}</th>
                <td>{describeBcc(r)}</td>
                <td className="actions">
                  <button type="button" disabled={readOnly} onClick={() => setModal({ kind: "remove", rule: r })}>
                    Remove…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {modal?.kind === "add" && <AddBcc onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && <RemoveBcc rule={modal.rule} onClose={() => setModal(null)} onDone={done} />}
    </section>
  );
}

function AddBcc({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const [name, setName] = useState("");
  const [direction, setDirection] = useState<RuleDirection>("both");
  const [sender, setSender] = useState("");
  const [recipient, setRecipient] = useState("");
  const [copyTo, setCopyTo] = useState("");
  const action = useAction();
  const submit = async () => {
    const ok = await action.run(() =>
      client.call("add_bcc_rule", {
        domain: domain!,
        name,
        direction,
        sender: condition(sender),
        recipient: condition(recipient),
        copy_to: copyTo.trim(),
      }),
    );
    if (ok) onDone();
  };
  return (
    <Dialog title="New BCC rule" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Name" name="name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required />}
      </Field>
      <Field label="Mail" name="direction" error={action.error}>
        {(p) => (
          <select {...p} value={direction} onChange={(e) => setDirection(e.target.value as RuleDirection)}>
            <option value="both">sent or received by {domain}</option>
            <option value="outbound">sent by {domain}</option>
            <option value="inbound">received by {domain}</option>
          </select>
        )}
      </Field>
      <Field label="From" name="sender" error={action.error} hint="An address or a domain; empty: any sender">
        {(p) => <input {...p} value={sender} onChange={(e) => setSender(e.target.value)} />}
      </Field>
      <Field label="To" name="recipient" error={action.error} hint="An address or a domain; empty: any recipient">
        {(p) => <input {...p} value={recipient} onChange={(e) => setRecipient(e.target.value)} />}
      </Field>
      <Field label="Blind copy to" name="copy_to" error={action.error} hint="An account, alias or group, or an address elsewhere">
        {(p) => <input {...p} value={copyTo} onChange={(e) => setCopyTo(e.target.value)} placeholder={`archive@${domain}`} required />}
      </Field>
      <FormError error={action.error} fields={["name", "direction", "sender", "recipient", "copy_to"]} />
      <DialogButtons submit="Add rule" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function RemoveBcc({ rule, onClose, onDone }: { rule: BccRule; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const action = useAction();
  return (
    <Confirm
      title={`Remove the BCC rule "${rule.name}"?`}
      confirm="Remove"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action
          .run(() => client.call("remove_bcc_rule", { domain: domain!, id: rule.id }).then(() => true))
          .then((ok) => ok && onDone())
      }
    >
      No more copies are made by it.
    </Confirm>
  );
}
