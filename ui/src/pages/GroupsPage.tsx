import { AddressSuggest, appendLine, useDomainAddresses } from "../components/AddressSuggest";
import { useId, useState } from "react";
import { useSession } from "../app/session";
import type { MailGroup } from "../bindings/MailGroup";
import type { SendPermission } from "../bindings/SendPermission";
import { Confirm, Dialog, DialogButtons, Field, FormError, ListFilter, MoreButton, PageError, splitList } from "../components/forms";
import { useAction, useAsync, useDebounced, usePaged } from "../components/hooks";
import { listAll } from "../api/client";

const PERMISSIONS: { value: SendPermission; label: string }[] = [
  { value: "same_domain", label: "Only accounts of the same domain" },
  { value: "members_only", label: "Only members of the group" },
  { value: "anyone", label: "Anyone, inside or outside" },
  { value: "whitelist", label: "Only the senders on the whitelist" },
];

/** Mail groups asked for at a time. */
const PAGE = 200;

/** Mail groups: members, who may send to them, the whitelist. */
export function GroupsPage() {
  const { client, domain, readOnly } = useSession();
  const [text, setText] = useState("");
  const query = useDebounced(text.trim(), 250);
  const list = usePaged(
    (after) => client.call("list_groups", { domain: domain!, limit: PAGE, ...(query ? { query } : {}), ...(after ? { after } : {}) }),
    [client, domain, query],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const groups = list.data ?? [];
  const listed = groups.find((g) => g.address === selected) ?? null;
  // A group picked or created that the loaded pages do not hold (filtered out, or further on).
  const fetched = useAsync(
    selected && !listed ? () => client.call("get_group", { address: selected }) : null,
    [client, selected, listed === null],
  );
  // The group last shown stays in the editor while a new filter's answer comes (no edit lost).
  const [shown, setShown] = useState<MailGroup | null>(null);
  const fresh = listed ?? (fetched.data?.address === selected ? fetched.data : null);
  if (fresh && fresh !== shown) setShown(fresh);
  const current = fresh ?? (shown?.address === selected ? shown : null);
  const changed = () => {
    list.reload();
    fetched.reload();
  };
  return (
    <section className="groups-page two-pane">
      <div className="pane-list">
        <div className="toolbar">
          <button type="button" className="primary" disabled={readOnly} onClick={() => setCreating(true)}>
            New group
          </button>
        </div>
        <div className="toolbar" role="search">
          <ListFilter label="Filter mail groups" placeholder="Filter by address, name or member…" value={text} onChange={setText} />
        </div>
        {list.error ? (
          <PageError error={list.error} what="the mail groups" />
        ) : groups.length === 0 && list.data ? (
          <p className="empty">{query ? `No mail group of ${domain} matches “${query}”.` : `No mail groups in ${domain}.`}</p>
        ) : (
          <ul className="select-list" aria-label="Mail groups">
            {groups.map((g) => (
              <li key={g.address}>
                <button
                  type="button"
                  aria-current={g.address === selected ? "true" : undefined}
                  onClick={() => setSelected(g.address)}
                >
                  <strong>{g.name}</strong>
                  <span className="muted small">
                    {g.address} · {g.members.length} member{g.members.length === 1 ? "" : "s"}
                    {g.departments.length > 0 && ` · ${g.departments.length} department${g.departments.length === 1 ? "" : "s"}`}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <MoreButton list={list} label="Show more groups" />
      </div>
      <div className="pane-detail">
        {current ? (
          <GroupEditor
            key={current.address}
            group={current}
            onChanged={changed}
            onRemoved={() => {
              setSelected(null);
              list.reload();
            }}
          />
        ) : (
          <p className="empty">Pick a group to see its members and send permission.</p>
        )}
      </div>
      {creating && (
        <CreateGroup
          onClose={() => setCreating(false)}
          onDone={(g) => {
            setCreating(false);
            setSelected(g.address);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function CreateGroup({ onClose, onDone }: { onClose: () => void; onDone: (g: MailGroup) => void }) {
  const { client, domain } = useSession();
  const [address, setAddress] = useState("");
  const [name, setName] = useState("");
  const [permission, setPermission] = useState<SendPermission>("same_domain");
  const [members, setMembers] = useState("");
  const addresses = useDomainAddresses(client, domain);
  const action = useAction();
  const submit = async () => {
    const g = await action.run(() =>
      client.call("create_group", {
        address: address.includes("@") ? address.trim() : `${address.trim()}@${domain}`,
        name: name.trim(),
        send_permission: permission,
        members: splitList(members),
      }),
    );
    if (g) onDone(g);
  };
  return (
    <Dialog title="New mail group" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Group address" name="address" error={action.error}>
        {(p) => <input {...p} value={address} onChange={(e) => setAddress(e.target.value)} placeholder={`all@${domain}`} required />}
      </Field>
      <Field label="Name" name="name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required />}
      </Field>
      <PermissionChoice value={permission} onChange={setPermission} error={action.error} />
      <Field label="Members" name="members" error={action.error} hint="One address per line">
        {(p) => <textarea {...p} rows={4} value={members} onChange={(e) => setMembers(e.target.value)} />}
      </Field>
      <AddressSuggest label="Pick a member" options={addresses} onPick={(a) => setMembers((m) => appendLine(m, a))} />
      <FormError error={action.error} fields={["address", "name", "send_permission", "members"]} />
      <DialogButtons submit="Create group" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function PermissionChoice({
  value,
  onChange,
  error,
}: {
  value: SendPermission;
  onChange: (v: SendPermission) => void;
  error: ReturnType<typeof useAction>["error"];
}) {
  return (
    <fieldset className="radios" data-field="send_permission">
      <legend>Who may send to the group</legend>
      {PERMISSIONS.map((p) => (
        <label key={p.value} className="check">
          <input type="radio" name="send_permission" value={p.value} checked={value === p.value} onChange={() => onChange(p.value)} />{" "}
          {p.label}
        </label>
      ))}
      {error?.field === "send_permission" && (
        <div className="field-error" role="alert">
          {error.message}
        </div>
      )}
    </fieldset>
  );
}

function GroupEditor({ group, onChanged, onRemoved }: { group: MailGroup; onChanged: () => void; onRemoved: () => void }) {
  const { client, domain, readOnly } = useSession();
  const addresses = useDomainAddresses(client, domain);
  const suggestId = useId();
  const [name, setName] = useState(group.name);
  const [permission, setPermission] = useState<SendPermission>(group.send_permission);
  const [whitelist, setWhitelist] = useState(group.allowed_senders.join("\n"));
  const save = useAction();
  const [saved, setSaved] = useState(false);
  const [member, setMember] = useState("");
  const members = useAction();
  const [removing, setRemoving] = useState(false);
  const remove = useAction();

  const submit = async () => {
    setSaved(false);
    const g = await save.run(() =>
      client.call("update_group", {
        address: group.address,
        name: name.trim(),
        send_permission: permission,
        allowed_senders: splitList(whitelist),
      }),
    );
    if (g) {
      setSaved(true);
      onChanged();
    }
  };
  const addMembers = async () => {
    const list = splitList(member);
    if (list.length === 0) return;
    const g = await members.run(() => client.call("add_group_members", { address: group.address, members: list }));
    if (g) {
      setMember("");
      onChanged();
    }
  };
  const removeMember = async (m: string) => {
    const g = await members.run(() => client.call("remove_group_members", { address: group.address, members: [m] }));
    if (g) onChanged();
  };

  return (
    <div className="group-editor">
      <h2 className="section-title">{group.address}</h2>
      <form
        className="panel"
        aria-label="Group settings"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field label="Name" name="name" error={save.error}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <PermissionChoice value={permission} onChange={setPermission} error={save.error} />
        {permission === "whitelist" && (
          <Field label="Whitelisted senders" name="allowed_senders" error={save.error} hint="One address per line">
            {(p) => <textarea {...p} rows={4} value={whitelist} onChange={(e) => setWhitelist(e.target.value)} />}
          </Field>
        )}
        <FormError error={save.error} fields={["name", "send_permission", "allowed_senders"]} />
        {saved && (
          <div className="ok" role="status">
            Saved.
          </div>
        )}
        <button type="submit" className="primary" disabled={save.pending || readOnly}>
          Save
        </button>
      </form>
      <form
        className="panel"
        aria-label="Members"
        onSubmit={(e) => {
          e.preventDefault();
          void addMembers();
        }}
      >
        <h3>Members ({group.members.length})</h3>
        <ul className="chips">
          {group.members.map((m) => (
            <li key={m}>
              {m}
              <button type="button" className="ghost small" aria-label={`Remove member ${m}`} disabled={readOnly} onClick={() => void removeMember(m)}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <Field label="Add members" name="members" error={members.error} hint="Addresses, separated by spaces or lines">
          {(p) => <input {...p} list={suggestId} value={member} onChange={(e) => setMember(e.target.value)} />}
        </Field>
        <datalist id={suggestId}>
          {addresses
            .filter((a) => a !== group.address && !group.members.includes(a))
            .map((a) => (
              <option key={a} value={a} />
            ))}
        </datalist>
        <FormError error={members.error} fields={["members"]} />
        <button type="submit" disabled={members.pending || readOnly}>
          Add
        </button>
      </form>
      <GroupDepartments group={group} onChanged={onChanged} />
      <div className="panel">
        <button type="button" className="danger" disabled={readOnly} onClick={() => setRemoving(true)}>
          Remove group…
        </button>
      </div>
      {removing && (
        <Confirm
          title={`Remove group ${group.address}?`}
          confirm="Remove"
          error={remove.error}
          pending={remove.pending}
          onClose={() => setRemoving(false)}
          onConfirm={() =>
            void remove
              .run(() => client.call("remove_group", { address: group.address }).then(() => true))
              .then((ok) => ok && onRemoved())
          }
        >
          Mail to the group address will no longer be delivered.
        </Confirm>
      )}
    </div>
  );
}

/** Whole departments as members: their accounts and those of the departments below, whoever is in them. */
function GroupDepartments({ group, onChanged }: { group: MailGroup; onChanged: () => void }) {
  const { client, domain, readOnly } = useSession();
  const departments = useAsync(() => listAll(client, "list_departments", { domain: domain! }), [client, domain]);
  const [pick, setPick] = useState("");
  const action = useAction();
  const set = async (list: string[]) => {
    const g = await action.run(() => client.call("set_group_departments", { address: group.address, departments: list }));
    if (g) {
      setPick("");
      onChanged();
    }
  };
  const choices = (departments.data ?? []).filter((d) => !group.departments.includes(d.path));
  return (
    <form
      className="panel"
      aria-label="Member departments"
      onSubmit={(e) => {
        e.preventDefault();
        if (pick) void set([...group.departments, pick]);
      }}
    >
      <h3>Member departments ({group.departments.length})</h3>
      <p className="muted small">
        Every account of a member department, and of the departments below it, receives the group&apos;s mail — whoever is
        in it when the mail arrives.
      </p>
      <ul className="chips" aria-label="Member departments">
        {group.departments.map((d) => (
          <li key={d}>
            {d}
            <button
              type="button"
              className="ghost small"
              aria-label={`Remove department ${d}`}
              disabled={readOnly || action.pending}
              onClick={() => void set(group.departments.filter((x) => x !== d))}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      {departments.error && <PageError error={departments.error} what="the departments" />}
      <label>
        <span className="sr-only">Department to add</span>
        <select aria-label="Department to add" value={pick} disabled={readOnly} onChange={(e) => setPick(e.target.value)}>
          <option value="">Choose a department…</option>
          {choices.map((d) => (
            <option key={d.path} value={d.path}>
              {d.path} ({d.total_accounts})
            </option>
          ))}
        </select>
      </label>
      <FormError error={action.error} fields={["departments"]} />
      <button type="submit" disabled={!pick || action.pending || readOnly}>
        Add department
      </button>
    </form>
  );
}
