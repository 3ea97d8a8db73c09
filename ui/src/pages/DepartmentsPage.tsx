import { useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import { useSession } from "../app/session";
import type { BackendError } from "../api/errors";
import type { Department } from "../bindings/Department";
import { Confirm, Dialog, DialogButtons, Field, FormError, PageError } from "../components/forms";
import { useAction, useAsync } from "../components/hooks";
import { buildTree, canMove, movedPath, visibleNodes, type TreeNode } from "./departmentTree";
import { listAll } from "../api/client";

const DRAG_TYPE = "application/x-postdesk-department";

type Modal =
  | { kind: "create"; parent: string | null }
  | { kind: "rename"; dept: Department }
  | { kind: "move"; dept: Department }
  | { kind: "remove"; dept: Department }
  | null;

/** The department tree of a domain: create, rename, remove, and drag (or M) to move. */
export function DepartmentsPage() {
  const { client, domain, readOnly } = useSession();
  const list = useAsync(() => listAll(client, "list_departments", { domain: domain! }), [client, domain]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [focused, setFocused] = useState<string | null>(null);
  const [modal, setModal] = useState<Modal>(null);
  const [dragging, setDragging] = useState<Department | null>(null);
  const [dropTarget, setDropTarget] = useState<string | null | undefined>(undefined);
  const move = useAction();
  const [notice, setNotice] = useState<{ text: string; undo: (() => void) | null } | null>(null);
  const treeRef = useRef<HTMLUListElement>(null);

  const depts = useMemo(() => list.data ?? [], [list.data]);
  const roots = useMemo(() => buildTree(depts), [depts]);
  const visible = useMemo(() => visibleNodes(roots, collapsed), [roots, collapsed]);
  const current = visible.find((n) => n.dept.path === focused) ?? visible[0] ?? null;

  // Keep DOM focus on the focused item when the tree re-renders with focus inside it.
  const focusPath = current?.dept.path ?? null;
  useEffect(() => {
    const tree = treeRef.current;
    if (!tree || !focusPath || !tree.contains(document.activeElement)) return;
    tree.querySelector<HTMLElement>(`[data-path="${CSS.escape(focusPath)}"]`)?.focus();
  }, [focusPath, visible]);

  const doMove = async (dept: Department, parent: string | null, undoing = false) => {
    setNotice(null);
    const moved = await move.run(() => client.call("move_department", { domain: domain!, path: dept.path, new_parent: parent }));
    if (moved) {
      setFocused(moved.path);
      const back = dept.parent;
      setNotice({
        text: `Moved ${dept.path} to ${parent ?? "the top level"}: now ${moved.path}.`,
        // A move is cheap to undo: move it back where it was.
        undo: undoing ? null : () => void doMove(moved, back, true),
      });
      list.reload();
    }
    return moved;
  };

  const onKey = (e: KeyboardEvent<HTMLElement>, node: TreeNode) => {
    const i = visible.indexOf(node);
    const path = node.dept.path;
    const hasChildren = node.children.length > 0;
    const changes = ["F2", "Enter", "Delete", "m", "M", "n", "N"];
    if (readOnly && changes.includes(e.key)) return;
    const focusAt = (j: number) => {
      const n = visible[Math.max(0, Math.min(visible.length - 1, j))];
      if (n) setFocused(n.dept.path);
    };
    switch (e.key) {
      case "ArrowDown":
        focusAt(i + 1);
        break;
      case "ArrowUp":
        focusAt(i - 1);
        break;
      case "Home":
        focusAt(0);
        break;
      case "End":
        focusAt(visible.length - 1);
        break;
      case "ArrowRight":
        if (hasChildren && collapsed.has(path)) setCollapsed((c) => without(c, path));
        else if (hasChildren) setFocused(node.children[0].dept.path);
        break;
      case "ArrowLeft":
        if (hasChildren && !collapsed.has(path)) setCollapsed((c) => new Set(c).add(path));
        else if (node.dept.parent) setFocused(node.dept.parent);
        break;
      case "F2":
      case "Enter":
        setModal({ kind: "rename", dept: node.dept });
        break;
      case "Delete":
        setModal({ kind: "remove", dept: node.dept });
        break;
      case "m":
      case "M":
        setModal({ kind: "move", dept: node.dept });
        break;
      case "n":
      case "N":
        setModal({ kind: "create", parent: path });
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const dragStart = (e: DragEvent, dept: Department) => {
    e.dataTransfer.setData(DRAG_TYPE, dept.path);
    e.dataTransfer.setData("text/plain", dept.path);
    e.dataTransfer.effectAllowed = "move";
    // Nothing above the tree may change now: a layout shift would move the drop targets.
    setDragging(dept);
  };
  const dragEnd = () => {
    setDragging(null);
    setDropTarget(undefined);
  };
  const dragOver = (e: DragEvent, target: string | null) => {
    if (!dragging || !canMove(dragging, target)) return;
    e.preventDefault();
    e.stopPropagation();
    e.dataTransfer.dropEffect = "move";
    if (dropTarget !== target) setDropTarget(target);
  };
  const drop = (e: DragEvent, target: string | null) => {
    e.preventDefault();
    e.stopPropagation();
    const d = dragging;
    dragEnd();
    if (d && canMove(d, target)) void doMove(d, target);
  };

  if (list.error) return <PageError error={list.error} what="the departments" />;

  const renderNode = (node: TreeNode) => {
    const { dept } = node;
    const expanded = node.children.length > 0 ? !collapsed.has(dept.path) : undefined;
    const isFocus = current?.dept.path === dept.path;
    return (
      <li
        key={dept.path}
        role="treeitem"
        aria-level={node.level}
        aria-expanded={expanded}
        aria-selected={isFocus}
        tabIndex={isFocus ? 0 : -1}
        data-path={dept.path}
        className="tree-item"
        onKeyDown={(e) => {
          if (e.target === e.currentTarget) onKey(e, node);
        }}
        onFocus={(e) => {
          if (e.target === e.currentTarget) setFocused(dept.path);
        }}
      >
        <div
          className={[
            "tree-row",
            isFocus ? "focused" : "",
            dropTarget === dept.path ? "drop-target" : "",
            dragging?.path === dept.path ? "dragging" : "",
          ].join(" ")}
          draggable={!readOnly}
          onDragStart={(e) => dragStart(e, dept)}
          onDragEnd={dragEnd}
          onDragOver={(e) => dragOver(e, dept.path)}
          onDragLeave={() => dropTarget === dept.path && setDropTarget(undefined)}
          onDrop={(e) => drop(e, dept.path)}
          onClick={() => setFocused(dept.path)}
          data-testid={`dept-${dept.path}`}
        >
          <button
            type="button"
            tabIndex={-1}
            className="twisty ghost"
            aria-hidden="true"
            onClick={() => setCollapsed((c) => (c.has(dept.path) ? without(c, dept.path) : new Set(c).add(dept.path)))}
          >
            {expanded === undefined ? "" : expanded ? "▾" : "▸"}
          </button>
          <span className="tree-name">
            {dept.name}
          </span>{" "}
          <span className="tree-count muted" title="accounts here / including sub-departments">
            {dept.accounts} / {dept.total_accounts}
          </span>
        </div>
        {expanded && (
          <ul role="group">{node.children.map(renderNode)}</ul>
        )}
      </li>
    );
  };

  return (
    <section className="departments-page">
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          disabled={readOnly}
          onClick={() => setModal({ kind: "create", parent: null })}
        >
          New department
        </button>
        <button type="button" disabled={!current || readOnly} onClick={() => current && setModal({ kind: "rename", dept: current.dept })}>
          Rename
        </button>
        <button type="button" disabled={!current || readOnly} onClick={() => current && setModal({ kind: "move", dept: current.dept })}>
          Move to…
        </button>
        <button type="button" disabled={!current || readOnly} onClick={() => current && setModal({ kind: "remove", dept: current.dept })}>
          Remove
        </button>
        <span className="muted small">
          Drag a department onto another to move it. Keys: arrows, Enter/F2 rename, M move, N new, Delete remove.
        </span>
      </div>

      <FormError error={move.error} />
      {notice && (
        <div className="ok notice-row" role="status">
          <span>{notice.text}</span>
          {notice.undo && !readOnly && (
            <button type="button" className="small" onClick={notice.undo}>
              Undo
            </button>
          )}
        </div>
      )}

      <div
        className={`drop-top ${dragging ? "visible" : ""} ${dropTarget === null ? "drop-target" : ""}`}
        onDragOver={(e) => dragOver(e, null)}
        onDragLeave={() => dropTarget === null && setDropTarget(undefined)}
        onDrop={(e) => drop(e, null)}
        data-testid="dept-drop-top"
        aria-hidden="true"
      >
        Drop here to move to the top level
      </div>

      {list.loading && !list.data ? (
        <p className="empty">Loading…</p>
      ) : depts.length === 0 ? (
        <p className="empty">No departments in {domain} yet.</p>
      ) : (
        <ul className="tree" role="tree" aria-label={`Departments of ${domain}`} ref={treeRef}>
          {roots.map(renderNode)}
        </ul>
      )}

      {modal?.kind === "create" && (
        <CreateDepartment
          parent={modal.parent}
          depts={depts}
          onClose={() => setModal(null)}
          onDone={(d) => {
            setModal(null);
            setFocused(d.path);
            list.reload();
          }}
        />
      )}
      {modal?.kind === "rename" && (
        <RenameDepartment
          dept={modal.dept}
          onClose={() => setModal(null)}
          onDone={(d) => {
            setModal(null);
            setFocused(d.path);
            list.reload();
          }}
        />
      )}
      {modal?.kind === "move" && (
        <MoveDepartment
          dept={modal.dept}
          depts={depts}
          error={move.error}
          onClose={() => setModal(null)}
          onMove={doMove}
        />
      )}
      {modal?.kind === "remove" && (
        <RemoveDepartment
          dept={modal.dept}
          onClose={() => setModal(null)}
          onDone={() => {
            setModal(null);
            setFocused(modal.dept.parent);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function without(set: Set<string>, v: string): Set<string> {
  const s = new Set(set);
  s.delete(v);
  return s;
}

function CreateDepartment({
  parent: initial,
  depts,
  onClose,
  onDone,
}: {
  parent: string | null;
  depts: Department[];
  onClose: () => void;
  onDone: (d: Department) => void;
}) {
  const { client, domain } = useSession();
  const [parent, setParent] = useState(initial ?? "");
  const [name, setName] = useState("");
  const action = useAction();
  const submit = async () => {
    const path = parent ? `${parent}/${name.trim()}` : name.trim();
    const d = await action.run(() => client.call("create_department", { domain: domain!, path, parents: true }));
    if (d) onDone(d);
  };
  return (
    <Dialog title="New department" onClose={onClose} onSubmit={() => void submit()}>
      <Field label="Inside" name="parent" error={action.error}>
        {(p) => (
          <select {...p} value={parent} onChange={(e) => setParent(e.target.value)}>
            <option value="">(top level)</option>
            {depts.map((d) => (
              <option key={d.path} value={d.path}>
                {d.path}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Name" name="path" error={action.error} hint="A slash makes nested departments: East/North">
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoFocus required />}
      </Field>
      <FormError error={action.error} fields={["parent", "path"]} />
      <DialogButtons submit="Create" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function RenameDepartment({ dept, onClose, onDone }: { dept: Department; onClose: () => void; onDone: (d: Department) => void }) {
  const { client, domain } = useSession();
  const [name, setName] = useState(dept.name);
  const action = useAction();
  const submit = async () => {
    const d = await action.run(() => client.call("rename_department", { domain: domain!, path: dept.path, name: name.trim() }));
    if (d) onDone(d);
  };
  return (
    <Dialog title={`Rename ${dept.path}`} onClose={onClose} onSubmit={() => void submit()}>
      <Field label="New name" name="name" error={action.error}>
        {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoFocus required />}
      </Field>
      <FormError error={action.error} fields={["name"]} />
      <DialogButtons submit="Rename" pending={action.pending} onCancel={onClose} />
    </Dialog>
  );
}

function MoveDepartment({
  dept,
  depts,
  error,
  onClose,
  onMove,
}: {
  dept: Department;
  depts: Department[];
  error: BackendError | null;
  onClose: () => void;
  onMove: (d: Department, parent: string | null) => Promise<Department | undefined>;
}) {
  const targets = depts.filter((d) => canMove(dept, d.path));
  const [target, setTarget] = useState<string>(dept.parent !== null ? "" : (targets[0]?.path ?? ""));
  const [pending, setPending] = useState(false);
  const submit = async () => {
    setPending(true);
    const moved = await onMove(dept, target === "" ? null : target);
    setPending(false);
    if (moved) onClose();
  };
  const topAllowed = canMove(dept, null);
  return (
    <Dialog title={`Move ${dept.path}`} onClose={onClose} onSubmit={() => void submit()}>
      <Field label="New parent" name="new_parent" error={error} hint={`It becomes ${movedPath(dept, target || null)}`}>
        {(p) => (
          <select {...p} value={target} onChange={(e) => setTarget(e.target.value)} autoFocus>
            {topAllowed && <option value="">(top level)</option>}
            {targets.map((d) => (
              <option key={d.path} value={d.path}>
                {d.path}
              </option>
            ))}
          </select>
        )}
      </Field>
      <FormError error={error} fields={["new_parent"]} />
      <DialogButtons submit="Move" pending={pending} onCancel={onClose} />
    </Dialog>
  );
}

function RemoveDepartment({ dept, onClose, onDone }: { dept: Department; onClose: () => void; onDone: () => void }) {
  const { client, domain } = useSession();
  const action = useAction();
  return (
    <Confirm
      title={`Remove ${dept.path}?`}
      confirm="Remove"
      error={action.error}
      pending={action.pending}
      onClose={onClose}
      onConfirm={() =>
        void action
          .run(() => client.call("remove_department", { domain: domain!, path: dept.path }).then(() => true))
          .then((ok) => ok && onDone())
      }
    >
      Only an empty department (no accounts, no sub-departments) can be removed.
    </Confirm>
  );
}

