import { describe, expect, it } from "vitest";
import type { Department } from "../bindings/Department";
import { buildTree, canMove, isWithin, movedPath, visibleNodes } from "./departmentTree";

function dept(path: string): Department {
  const i = path.lastIndexOf("/");
  return {
    path,
    name: i < 0 ? path : path.slice(i + 1),
    parent: i < 0 ? null : path.slice(0, i),
    accounts: 0,
    total_accounts: 0,
  };
}

const list = ["Sales", "Sales/East", "Sales/East/North", "Sales/West", "Support"].map(dept);

describe("department tree", () => {
  it("builds levels and children in path order", () => {
    const roots = buildTree(list);
    expect(roots.map((r) => r.dept.path)).toEqual(["Sales", "Support"]);
    expect(roots[0].children.map((c) => [c.dept.path, c.level])).toEqual([
      ["Sales/East", 2],
      ["Sales/West", 2],
    ]);
    expect(roots[0].children[0].children[0].level).toBe(3);
  });

  it("hides the children of collapsed nodes", () => {
    const roots = buildTree(list);
    expect(visibleNodes(roots, new Set()).length).toBe(5);
    expect(visibleNodes(roots, new Set(["Sales/East"])).map((n) => n.dept.path)).toEqual([
      "Sales",
      "Sales/East",
      "Sales/West",
      "Support",
    ]);
    expect(visibleNodes(roots, new Set(["Sales"])).map((n) => n.dept.path)).toEqual(["Sales", "Support"]);
  });

  it("refuses moves onto itself, below itself or where it already is", () => {
    const east = dept("Sales/East");
    expect(canMove(east, "Sales/East")).toBe(false);
    expect(canMove(east, "Sales/East/North")).toBe(false);
    expect(canMove(east, "Sales")).toBe(false);
    expect(canMove(east, "Support")).toBe(true);
    expect(canMove(east, "Sales/Eastern")).toBe(true);
    expect(canMove(east, null)).toBe(true);
    expect(canMove(dept("Sales"), null)).toBe(false);
    expect(isWithin("Sales/Eastern", "Sales/East")).toBe(false);
  });

  it("computes the new path", () => {
    expect(movedPath(dept("Sales/East"), "Support")).toBe("Support/East");
    expect(movedPath(dept("Sales/East"), null)).toBe("East");
  });
});
