import { useState, type DragEvent } from "react";
import { useSession } from "../app/session";
import type { BccRule } from "../bindings/BccRule";
import type { DisclaimerRule } from "../bindings/DisclaimerRule";
import type { DisclaimerScope } from "../bindings/DisclaimerScope";
import type { RuleDirection } from "../bindings/RuleDirection";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { listAll } from "../api/client";
import { condition, describeBcc, describeDisclaimer, movedPosition } from "./mailRules";
import { MonitorRules } from "./MonitorRules";
import { DomainFileButtons } from "./DomainFileButtons";
import { BCC_FILES, DISCLAIMER_FILES } from "./domainFiles";

type Modal = { kind: "add" } | { kind: "edit"; rule: BccRule } | { kind: "remove"; rule: BccRule } | null;

/** Mail rules on the path of a domain: automatic blind copies, disclaimers, monitoring and copy rules. */
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
        <DomainFileButtons kind={BCC_FILES} onImported={list.reload} />
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
                  <button
                    type="button"
                    aria-label={`Edit ${r.name}`}
                    disabled={readOnly}
                    onClick={() => setModal({ kind: "edit", rule: r })}
                  >
                    Edit…
                  </button>
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
      {modal?.kind === "edit" && <AddBcc rule={modal.rule} onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && <RemoveBcc rule={modal.rule} onClose={() => setModal(null)} onDone={done} />}
      <Disclaimers />
      <MonitorRules />
    </section>
  );
}

/** A new BCC rule, or `rule` changed in place. */
function AddBcc({ rule, onClose, onDone }: { rule?: BccRule; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const [name, setName] = useState(rule?.name ?? "");
  const [direction, setDirection] = useState<RuleDirection>(rule?.direction ?? "both");
  const [sender, setSender] = useState(rule?.sender ?? "");
  const [recipient, setRecipient] = useState(rule?.recipient ?? "");
  const [copyTo, setCopyTo] = useState(rule?.copy_to ?? "");
  const action = useAction();
  const submit = async () => {
    const params = {
      domain: domain!,
      name,
      direction,
      sender: condition(sender),
      recipient: condition(recipient),
      copy_to: copyTo.trim(),
    };
    const ok = await action.run(() =>
      rule ? client.call("update_bcc_rule", { ...params, id: rule.id }) : client.call("add_bcc_rule", params),
    );
    if (ok) onDone();
  };
  return (
    <Dialog title={rule ? `Edit BCC rule ${rule.name}` : "New BCC rule"} onClose={onClose} onSubmit={() => void submit()}>
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
      <DialogButtons submit={rule ? "Save rule" : "Add rule"} pending={action.pending} onCancel={onClose} />
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

type DisclaimerModal = { kind: "add" } | { kind: "edit"; rule: DisclaimerRule } | { kind: "remove"; rule: DisclaimerRule } | null;

/** Disclaimers: the domain's rules in order, the first that fires is appended. */
function Disclaimers() {
  const { client, domain, readOnly } = useSession();
  const list = useAsync(() => listAll(client, "list_disclaimer_rules", { domain: domain! }), [client, domain]);
  const [modal, setModal] = useState<DisclaimerModal>(null);
  const move = useAction();
  const done = () => {
    setModal(null);
    list.reload();
  };
  const rules = list.data ?? [];
  const moveTo = async (id: number, position: number) => {
    const ok = await move.run(() =>
      client.call("move_disclaimer_rule", { domain: domain!, id, position }).then(() => true),
    );
    if (ok) list.reload();
  };
  const moveBy = async (index: number, delta: number) => {
    const position = movedPosition(index, delta, rules.length);
    if (position === null) return;
    await moveTo(rules[index].id, position);
  };
  // Drag a row onto another: it takes that row's place (the keyboard has Up and Down).
  const [dragging, setDragging] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const dragEnd = () => {
    setDragging(null);
    setOver(null);
  };
  const drop = (e: DragEvent, index: number) => {
    e.preventDefault();
    const from = dragging;
    dragEnd();
    if (from !== null && from !== index) void moveTo(rules[from].id, index + 1);
  };
  return (
    <>
      <h2>Disclaimers</h2>
      <p className="muted">
        Text appended to the mail {domain}&apos;s users send (plain text to the text part, HTML before the end of the
        HTML part; attachments untouched). The rules are tried from the top: the first that fires is appended, once per
        message. Drag a rule onto another to take its place, or use Up and Down. Signed or encrypted mail is left as it
        is.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" disabled={readOnly} onClick={() => setModal({ kind: "add" })}>
          New disclaimer
        </button>
        <DomainFileButtons kind={DISCLAIMER_FILES} onImported={list.reload} />
      </div>
      <FormError error={move.error} fields={[]} />
      {list.error ? (
        <PageError error={list.error} what="the disclaimer rules" />
      ) : list.data && rules.length === 0 ? (
        <p className="empty">No disclaimers in {domain}.</p>
      ) : (
        <table className="table" aria-label="Disclaimer rules">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Name</th>
              <th scope="col">Applies to</th>
              <th scope="col">Text</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r, i) => (
              <tr
                key={r.id}
                data-testid={`disclaimer-${r.name}`}
                className={[dragging === i ? "dragging" : "", over === i && dragging !== i ? "drop-target" : ""]
                  .join(" ")
                  .trim()}
                draggable={!readOnly && !move.pending}
                onDragStart={(e) => {
                  e.dataTransfer.setData("text/plain", r.name);
                  e.dataTransfer.effectAllowed = "move";
                  setDragging(i);
                }}
                onDragEnd={dragEnd}
                onDragOver={(e) => {
                  if (dragging === null) return;
                  e.preventDefault();
                  e.dataTransfer.dropEffect = "move";
                  if (over !== i) setOver(i);
                }}
                onDrop={(e) => drop(e, i)}
              >
                <td>{r.position}</td>
                <th scope="row">{r.name}</th>
                <td>{describeDisclaimer(r)}</td>
                <td className="small">{r.text.length > 80 ? `${r.text.slice(0, 80)}…` : r.text}</td>
                <td className="actions">
                  <button
                    type="button"
                    aria-label={`Move ${r.name} up`}
                    disabled={readOnly || move.pending || i === 0}
                    onClick={() => void moveBy(i, -1)}
                  >
                    Up
                  </button>
                  <button
                    type="button"
                    aria-label={`Move ${r.name} down`}
                    disabled={readOnly || move.pending || i === rules.length - 1}
                    onClick={() => void moveBy(i, 1)}
                  >
                    Down
                  </button>
                  <button
                    type="button"
                    aria-label={`Edit ${r.name}`}
                    disabled={readOnly}
                    onClick={() => setModal({ kind: "edit", rule: r })}
                  >
                    Edit…
                  </button>
                  <button type="button" disabled={readOnly} onClick={() => setModal({ kind: "remove", rule: r })}>
                    Remove…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {modal?.kind === "add" && <AddDisclaimer onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "edit" && <AddDisclaimer rule={modal.rule} onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && (
        <Confirm
          title={`Remove the disclaimer "${modal.rule.name}"?`}
          confirm="Remove"
          error={move.error}
          pending={move.pending}
          onClose={() => setModal(null)}
          onConfirm={() =>
            void move
              .run(() =>
                client.call("remove_disclaimer_rule", { domain: domain!, id: modal.rule.id }).then(() => true),
              )
              .then((ok) => ok && done())
          }
        >
          Mail sent from now on no longer gets it; the rules below move up.
        </Confirm>
      )}
    </>
  );
}

/** A new disclaimer (last in the order), or `rule` changed in place (its place kept). */
function AddDisclaimer({ rule, onClose, onDone }: { rule?: DisclaimerRule; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const [v, setV] = useState({
    name: rule?.name ?? "",
    scope: rule?.scope ?? ("external"),
    sender: rule?.sender ?? "",
    recipient: rule?.recipient ?? "",
    department: rule?.department ?? "",
    except_sender: rule?.except_sender ?? "",
    except_recipient: rule?.except_recipient ?? "",
    except_department: rule?.except_department ?? "",
    text: rule?.text ?? "",
    html: rule?.html ?? "",
  });
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  const action = useAction();
  const submit = async () => {
    const params = {
        domain: domain!,
        name: v.name,
        scope: v.scope,
        sender: condition(v.sender),
        recipient: condition(v.recipient),
        department: condition(v.department),
        except_sender: condition(v.except_sender),
        except_recipient: condition(v.except_recipient),
        except_department: condition(v.except_department),
        text: v.text,
        html: condition(v.html),
      };
    const ok = await action.run(() =>
      rule
        ? client.call("update_disclaimer_rule", { ...params, id: rule.id })
        : client.call("add_disclaimer_rule", params),
    );
    if (ok) onDone();
  };
  const fields = [
    "name",
    "scope",
    "sender",
    "recipient",
    "department",
    "except_sender",
    "except_recipient",
    "except_department",
    "text",
    "html",
  ];
  return (
    <Dialog title={rule ? `Edit disclaimer ${rule.name}` : "New disclaimer"} onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Name" name="name" error={action.error}>
        {(p) => <input {...p} value={v.name} onChange={set("name")} required />}
      </Field>
      <Field label="Mail" name="scope" error={action.error}>
        {(p) => (
          <select {...p} value={v.scope} onChange={(e) => setV({ ...v, scope: e.target.value as DisclaimerScope })}>
            <option value="external">with a recipient outside our domains</option>
            <option value="internal">only to our domains</option>
            <option value="any">to anyone</option>
          </select>
        )}
      </Field>
      <Field label="From" name="sender" error={action.error} hint="An address or a domain; empty: any sender">
        {(p) => <input {...p} value={v.sender} onChange={set("sender")} />}
      </Field>
      <Field label="To" name="recipient" error={action.error} hint="An address or a domain; empty: any recipient">
        {(p) => <input {...p} value={v.recipient} onChange={set("recipient")} />}
      </Field>
      <Field label="Department" name="department" error={action.error} hint="Its sub-departments too; empty: any">
        {(p) => <input {...p} value={v.department} onChange={set("department")} placeholder="Sales/East" />}
      </Field>
      <Field label="Except from" name="except_sender" error={action.error} hint="An address or a domain">
        {(p) => <input {...p} value={v.except_sender} onChange={set("except_sender")} />}
      </Field>
      <Field label="Except to" name="except_recipient" error={action.error} hint="An address or a domain">
        {(p) => <input {...p} value={v.except_recipient} onChange={set("except_recipient")} />}
      </Field>
      <Field label="Except department" name="except_department" error={action.error}>
        {(p) => <input {...p} value={v.except_department} onChange={set("except_department")} />}
      </Field>
      <Field label="Plain text" name="text" error={action.error}>
        {(p) => <textarea {...p} value={v.text} onChange={set("text")} rows={4} required />}
      </Field>
      <Field label="HTML" name="html" error={action.error} hint="Empty: the plain text, line by line">
        {(p) => <textarea {...p} value={v.html} onChange={set("html")} rows={4} />}
      </Field>
      <FormError error={action.error} fields={fields} />
      <DialogButtons submit={rule ? "Save disclaimer" : "Add disclaimer"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}
