import { useState } from "react";
import { useSession } from "../app/session";
import type { AccountSelection } from "../bindings/AccountSelection";
import type { BatchOutcome } from "../bindings/BatchOutcome";
import type { BulkAction } from "../bindings/BulkAction";
import type { Department } from "../bindings/Department";
import { Dialog, DialogButtons, Field, FormError, wholeNumber } from "../components/forms";
import { useAction } from "../components/hooks";

/** The bulk actions of the Accounts page, by the `kind` of their `BulkAction`. */
export type BulkKind = BulkAction["kind"];

const nf = new Intl.NumberFormat();

const VERBS: Record<BulkKind, { title: string; button: string; danger: boolean }> = {
  disable: { title: "Disable", button: "Disable", danger: false },
  enable: { title: "Enable", button: "Enable", danger: false },
  delete: { title: "Delete", button: "Delete", danger: true },
  move_to_department: { title: "Move", button: "Move", danger: false },
  set_quota: { title: "Change the quota of", button: "Change quota", danger: false },
};

/** What the selection is, in words, for the confirmation: "3 selected accounts", "all 1,234 accounts matching …". */
export function selectionWords(selection: AccountSelection, count: number): string {
  const accounts = `${nf.format(count)} account${count === 1 ? "" : "s"}`;
  if (selection.kind === "addresses") return count === 1 ? selection.addresses[0] : `${accounts} (selected)`;
  const parts: string[] = [];
  if (selection.query) parts.push(`containing "${selection.query}"`);
  if (selection.department) parts.push(`in ${selection.department} and its sub-departments`);
  if (selection.status) parts.push(`with status ${selection.status}`);
  return parts.length ? `all ${accounts} ${parts.join(", ")}` : `all ${accounts} of the domain`;
}

/**
 * Confirms one bulk action, naming the count, asks what it needs (a department, a quota) and
 * runs it as one `bulk_accounts` call; the outcome goes to `onDone`.
 */
export function BulkDialog({
  kind,
  selection,
  count,
  departments,
  onClose,
  onDone,
}: {
  kind: BulkKind;
  selection: AccountSelection;
  count: number;
  departments: Department[];
  onClose: () => void;
  onDone: (outcome: BatchOutcome) => void;
}) {
  const { client, domain } = useSession();
  const action = useAction();
  const [department, setDepartment] = useState("");
  const [quota, setQuota] = useState("");
  const verb = VERBS[kind];
  const what = selectionWords(selection, count);
  const submit = () =>
    void action
      .run(() => {
        let a: BulkAction;
        if (kind === "move_to_department") a = { kind, department: department || null };
        else if (kind === "set_quota") a = { kind, quota_mb: wholeNumber(quota, "action", "Quota") };
        else a = { kind };
        return client.call("bulk_accounts", { domain: domain!, selection, action: a });
      })
      .then((outcome) => outcome && onDone(outcome));
  return (
    <Dialog title={`${verb.title} ${what}?`} onClose={onClose} onSubmit={submit}>
      <div className="dialog-body" data-bulk={kind}>
        {kind === "move_to_department" && (
          <Field label="Move to department" name="action" error={action.error}>
            {(p) => (
              <select {...p} value={department} onChange={(e) => setDepartment(e.target.value)}>
                <option value="">Top level (no department)</option>
                {departments.map((d) => (
                  <option key={d.path} value={d.path}>
                    {d.path}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        {kind === "set_quota" && (
          <Field
            label="New quota (MiB)"
            name="action"
            error={action.error}
            hint="At most the plan's mailbox size, and never below what a mailbox already stores."
          >
            {(p) => <input {...p} inputMode="numeric" value={quota} onChange={(e) => setQuota(e.target.value)} />}
          </Field>
        )}
        <p data-testid="bulk-count">
          {kind === "delete"
            ? `${nf.format(count)} account${count === 1 ? "" : "s"} will go to the recycle bin (restore them there one by one).`
            : `This acts on ${nf.format(count)} account${count === 1 ? "" : "s"} in one step.`}
        </p>
      </div>
      <FormError error={action.error} fields={kind === "move_to_department" || kind === "set_quota" ? ["action"] : []} />
      <DialogButtons submit={`${verb.button} ${nf.format(count)}`} danger={verb.danger} pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}
