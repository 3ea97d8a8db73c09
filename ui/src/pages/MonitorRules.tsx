import { useState } from "react";
import { useSession } from "../app/session";
import type { MonitorAction } from "../bindings/MonitorAction";
import type { MonitorRule } from "../bindings/MonitorRule";
import type { MonitorTraffic } from "../bindings/MonitorTraffic";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { listAll } from "../api/client";
import { condition, describeMonitor } from "./mailRules";
import { DomainFileButtons } from "./DomainFileButtons";
import { MONITOR_FILES } from "./domainFiles";

type Modal = { kind: "add" } | { kind: "edit"; rule: MonitorRule } | { kind: "remove"; rule: MonitorRule } | null;

/** Monitoring and copy rules: the watched people's mail copied to a monitor mailbox or filed into a folder. */
export function MonitorRules() {
  const { client, domain, readOnly } = useSession();
  const list = useAsync(() => listAll(client, "list_monitor_rules", { domain: domain! }), [client, domain]);
  const [modal, setModal] = useState<Modal>(null);
  const remove = useAction();
  const done = () => {
    setModal(null);
    list.reload();
  };
  const rules = list.data ?? [];
  return (
    <>
      <h2>Monitoring and copies</h2>
      <p className="muted">
        Watch the mail of everyone in {domain}, of a department or of one account: every rule that fires either copies
        the message to a monitor mailbox of ours or files the watched recipients&apos; copies into a folder instead of
        their inbox.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" disabled={readOnly} onClick={() => setModal({ kind: "add" })}>
          New monitoring rule
        </button>
        <DomainFileButtons kind={MONITOR_FILES} onImported={list.reload} />
      </div>
      {list.error ? (
        <PageError error={list.error} what="the monitoring rules" />
      ) : list.data && rules.length === 0 ? (
        <p className="empty">No monitoring rules in {domain}.</p>
      ) : (
        <table className="table" aria-label="Monitoring rules">
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
            {rules.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.name}</th>
                <td>{describeMonitor(r)}</td>
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
      {modal?.kind === "add" && <AddMonitor onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "edit" && <AddMonitor rule={modal.rule} onClose={() => setModal(null)} onDone={done} />}
      {modal?.kind === "remove" && (
        <Confirm
          title={`Remove the monitoring rule "${modal.rule.name}"?`}
          confirm="Remove"
          error={remove.error}
          pending={remove.pending}
          onClose={() => setModal(null)}
          onConfirm={() =>
            void remove
              .run(() => client.call("remove_monitor_rule", { domain: domain!, id: modal.rule.id }).then(() => true))
              .then((ok) => ok && done())
          }
        >
          Mail from now on is no longer copied or filed by it.
        </Confirm>
      )}
    </>
  );
}

/** A new monitoring rule, or `rule` changed in place. */
function AddMonitor({ rule, onClose, onDone }: { rule?: MonitorRule; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const [v, setV] = useState({
    name: rule?.name ?? "",
    scope: (rule?.scope_department ? "department" : rule?.scope_account ? "account" : "everyone"),
    scope_value: rule?.scope_department ?? rule?.scope_account ?? "",
    traffic: rule?.traffic ?? ("any"),
    sender: rule?.sender ?? "",
    recipient: rule?.recipient ?? "",
    min_size_kb: rule?.min_size_kb == null ? "" : String(rule.min_size_kb),
    keyword: rule?.keyword ?? "",
    except_sender: rule?.except_sender ?? "",
    except_recipient: rule?.except_recipient ?? "",
    except_keyword: rule?.except_keyword ?? "",
    action: rule?.action ?? ("copy"),
    target: rule?.target ?? "",
  });
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  const action = useAction();
  const submit = async () => {
    const size = v.min_size_kb.trim();
    const params = {
        domain: domain!,
        name: v.name,
        scope_department: v.scope === "department" ? condition(v.scope_value) : undefined,
        scope_account: v.scope === "account" ? condition(v.scope_value) : undefined,
        traffic: v.traffic,
        sender: condition(v.sender),
        recipient: condition(v.recipient),
        min_size_kb: size === "" ? undefined : Number(size),
        keyword: condition(v.keyword),
        except_sender: condition(v.except_sender),
        except_recipient: condition(v.except_recipient),
        except_keyword: condition(v.except_keyword),
        action: v.action,
        target: v.target.trim(),
      };
    const ok = await action.run(() =>
      rule ? client.call("update_monitor_rule", { ...params, id: rule.id }) : client.call("add_monitor_rule", params),
    );
    if (ok) onDone();
  };
  const scopeField = v.scope === "department" ? "scope_department" : "scope_account";
  const fields = [
    "name",
    "scope_department",
    "scope_account",
    "traffic",
    "sender",
    "recipient",
    "min_size_kb",
    "keyword",
    "except_sender",
    "except_recipient",
    "except_keyword",
    "action",
    "target",
  ];
  return (
    <Dialog title={rule ? `Edit monitoring rule ${rule.name}` : "New monitoring rule"} onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Name" name="name" error={action.error}>
        {(p) => <input {...p} value={v.name} onChange={set("name")} required />}
      </Field>
      <Field label="Watch" name="scope" error={action.error}>
        {(p) => (
          <select
            {...p}
            value={v.scope}
            onChange={(e) => setV({ ...v, scope: e.target.value, scope_value: "" })}
          >
            <option value="everyone">everyone of {domain}</option>
            <option value="department">a department (and below)</option>
            <option value="account">one account</option>
          </select>
        )}
      </Field>
      {v.scope !== "everyone" && (
        <Field label={v.scope === "department" ? "Department" : "Account"} name={scopeField} error={action.error}>
          {(p) => (
            <input
              {...p}
              value={v.scope_value}
              onChange={set("scope_value")}
              placeholder={v.scope === "department" ? "Legal" : `ann@${domain}`}
              required
            />
          )}
        </Field>
      )}
      <Field label="Mail" name="traffic" error={action.error}>
        {(p) => (
          <select {...p} value={v.traffic} onChange={(e) => setV({ ...v, traffic: e.target.value as MonitorTraffic })}>
            <option value="any">any mail</option>
            <option value="external">to or from other domains</option>
            <option value="internal">only inside our domains</option>
          </select>
        )}
      </Field>
      <Field label="From" name="sender" error={action.error} hint="An address or a domain; empty: any sender">
        {(p) => <input {...p} value={v.sender} onChange={set("sender")} />}
      </Field>
      <Field label="To" name="recipient" error={action.error} hint="An address or a domain; empty: any recipient">
        {(p) => <input {...p} value={v.recipient} onChange={set("recipient")} />}
      </Field>
      <Field label="At least (KB)" name="min_size_kb" error={action.error} hint="Empty: any size">
        {(p) => <input {...p} type="number" min={1} value={v.min_size_kb} onChange={set("min_size_kb")} />}
      </Field>
      <Field label="Subject or text contains" name="keyword" error={action.error}>
        {(p) => <input {...p} value={v.keyword} onChange={set("keyword")} />}
      </Field>
      <Field label="Except from" name="except_sender" error={action.error} hint="An address or a domain">
        {(p) => <input {...p} value={v.except_sender} onChange={set("except_sender")} />}
      </Field>
      <Field label="Except to" name="except_recipient" error={action.error} hint="An address or a domain">
        {(p) => <input {...p} value={v.except_recipient} onChange={set("except_recipient")} />}
      </Field>
      <Field label="Except when it contains" name="except_keyword" error={action.error}>
        {(p) => <input {...p} value={v.except_keyword} onChange={set("except_keyword")} />}
      </Field>
      <Field label="Action" name="action" error={action.error}>
        {(p) => (
          <select {...p} value={v.action} onChange={(e) => setV({ ...v, action: e.target.value as MonitorAction })}>
            <option value="copy">copy to a monitor mailbox</option>
            <option value="folder">file the watched recipients&apos; copies into a folder</option>
          </select>
        )}
      </Field>
      <Field
        label={v.action === "copy" ? "Monitor mailbox" : "Folder"}
        name="target"
        error={action.error}
        hint={v.action === "copy" ? "An account, alias or group of ours" : "Created when first needed"}
      >
        {(p) => (
          <input
            {...p}
            value={v.target}
            onChange={set("target")}
            placeholder={v.action === "copy" ? `monitor@${domain}` : "Monitored"}
            required
          />
        )}
      </Field>
      <FormError error={action.error} fields={fields} />
      <DialogButtons submit={rule ? "Save rule" : "Add rule"} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}
