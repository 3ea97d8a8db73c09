import type { Department } from "../bindings/Department";

export interface TreeNode {
  dept: Department;
  level: number;
  children: TreeNode[];
}

/** The flat path-ordered list as a forest. */
export function buildTree(list: Department[]): TreeNode[] {
  const byPath = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  for (const dept of list) byPath.set(dept.path, { dept, level: 1, children: [] });
  for (const dept of list) {
    const node = byPath.get(dept.path)!;
    const parent = dept.parent ? byPath.get(dept.parent) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const setLevel = (nodes: TreeNode[], level: number) => {
    for (const n of nodes) {
      n.level = level;
      setLevel(n.children, level + 1);
    }
  };
  setLevel(roots, 1);
  return roots;
}

/** The nodes a reader sees, top to bottom, skipping children of collapsed nodes. */
export function visibleNodes(roots: TreeNode[], collapsed: ReadonlySet<string>): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (nodes: TreeNode[]) => {
    for (const n of nodes) {
      out.push(n);
      if (!collapsed.has(n.dept.path)) walk(n.children);
    }
  };
  walk(roots);
  return out;
}

/** Whether `path` is `ancestor` or below it. */
export function isWithin(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/**
 * Whether `moving` may be dropped onto `target` (`null`: the top level): never onto itself
 * or below itself, and not where it already is.
 */
export function canMove(moving: Department, target: string | null): boolean {
  if (target === null) return moving.parent !== null;
  if (isWithin(target, moving.path)) return false;
  return moving.parent !== target;
}

/** The path a department gets when moved under `parent`. */
export function movedPath(dept: Department, parent: string | null): string {
  return parent ? `${parent}/${dept.name}` : dept.name;
}
