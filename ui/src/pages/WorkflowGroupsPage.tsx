import { useState } from "react";
import { listAll, type Client } from "../api/client";
import type { BackendError } from "../api/errors";
import { useSession } from "../app/session";
import type { WorkflowGroup } from "../bindings/WorkflowGroup";
import { AddressPicker, useDomainUsers } from "../components/AddressPicker";
import { Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";

/**
 * Workflow groups of the domain: named groups of users, made owners of shared mailboxes on the
 * Shared mailboxes page (every member may then read and send as the mailbox).
 */
export function WorkflowGroupsPage() {
  const { client, domain, readOnly } = useSession();
  const groups = useAsync(() => listAll(client, "list_workflow_groups", { domain: domain! }), [client, domain]);
  const accounts = useDomainUsers(client, domain!);
  return (
    <WorkflowGroups
      client={client}
      domain={domain!}
      readOnly={readOnly}
      groups={groups.data}
      error={groups.error}
      accounts={accounts.data ?? []}
      onChange={groups.reload}
    />
  );
}

/** The domain's workflow groups: named groups of users made owners of shared mailboxes. */
function WorkflowGroups({
  client,
  domain,
  readOnly,
  groups,
  error,
  accounts,
  onChange,
}: {
  client: Client;
  domain: string;
  readOnly: boolean;
  groups: WorkflowGroup[] | undefined;
  error: BackendError | null;
  accounts: string[];
  onChange: () => void;
}) {
  const create = useAction();
  const remove = useAction();
  const [name, setName] = useState("");
  const [members, setMembers] = useState<string[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const edited = groups?.find((g) => g.name === editing);
  return (
    <section className="workflow-groups" aria-label="Workflow groups">
      <h2>Workflow groups of {domain}</h2>
      <p className="muted">
        A workflow group is a named group of users of {domain}; made owner of a shared mailbox, each of its members may
        send as it. A member removed from the group no longer may.
      </p>
      <FormError error={remove.error} />
      {error ? (
        <PageError error={error} what="the workflow groups" />
      ) : groups && groups.length === 0 ? (
        <p className="empty">No workflow group in {domain}.</p>
      ) : (
        <table className="table" aria-label="Workflow group list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Members</th>
              <th scope="col">Owns</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {(groups ?? []).map((g) => (
              <tr key={g.name} data-group={g.name}>
                <td>{g.name}</td>
                <td data-testid="members">{g.members.length === 0 ? "—" : g.members.join(", ")}</td>
                <td>{g.owns.length === 0 ? "—" : g.owns.join(", ")}</td>
                <td>
                  {!readOnly && (
                    <span className="actions">
                      <button type="button" aria-label={`Members of ${g.name}`} onClick={() => setEditing(editing === g.name ? null : g.name)}>
                        Members
                      </button>
                      <button
                        type="button"
                        aria-label={`Remove ${g.name}`}
                        disabled={remove.pending}
                        onClick={() =>
                          void remove.run(() => client.call("remove_workflow_group", { domain, name: g.name })).then((r) => {
                            if (r !== undefined) {
                              if (editing === g.name) setEditing(null);
                              onChange();
                            }
                          })
                        }
                      >
                        Remove
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {edited && !readOnly && (
        <MembersForm key={edited.name} client={client} group={edited} accounts={accounts} onDone={() => setEditing(null)} onChange={onChange} />
      )}
      {!readOnly && (
        <form
          aria-label="New workflow group"
          onSubmit={(e) => {
            e.preventDefault();
            void create.run(() => client.call("create_workflow_group", { domain, name: name.trim(), members })).then((r) => {
              if (r !== undefined) {
                setName("");
                setMembers([]);
                onChange();
              }
            });
          }}
        >
          <h3>New workflow group</h3>
          <FormError error={create.error} fields={["name", "members"]} />
          <Field label="Group name" name="name" error={create.error}>
            {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <h4>Members</h4>
          <AddressPicker
            label="New group members"
            name="members"
            value={members}
            onChange={setMembers}
            domain={domain}
            options={accounts}
            error={create.error}
            disabled={false}
          />
          <button type="submit" disabled={create.pending}>
            Create group
          </button>
        </form>
      )}
    </section>
  );
}

/** A workflow group's members, replaced as a whole on save. */
function MembersForm({
  client,
  group,
  accounts,
  onDone,
  onChange,
}: {
  client: Client;
  group: WorkflowGroup;
  accounts: string[];
  onDone: () => void;
  onChange: () => void;
}) {
  const act = useAction();
  const [members, setMembers] = useState<string[]>(group.members);
  return (
    <form
      aria-label={`Members of ${group.name}`}
      className="panel"
      onSubmit={(e) => {
        e.preventDefault();
        void act
          .run(() => client.call("set_workflow_group_members", { domain: group.domain, name: group.name, members }))
          .then((r) => {
            if (r !== undefined) {
              onChange();
              onDone();
            }
          });
      }}
    >
      <h3>Members of {group.name}</h3>
      <FormError error={act.error} fields={["members"]} />
      <AddressPicker
        label={`Members of ${group.name}`}
        name="members"
        value={members}
        onChange={setMembers}
        domain={group.domain}
        options={accounts}
        error={act.error}
        disabled={false}
      />
      <span className="actions">
        <button type="submit" disabled={act.pending}>
          Save members
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </span>
    </form>
  );
}
