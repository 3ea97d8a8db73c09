import { describe, expect, it } from "vitest";
import { groupByDepartment } from "./AddressBookPage";

describe("groupByDepartment", () => {
  it("groups entries in book order and joins a department split over pages", () => {
    const e = (address: string, department: string | null) => ({ address, display_name: "", department });
    const pageOne = [e("carl@x.test", null), e("ann@x.test", "Sales")];
    const pageTwo = [e("bob@x.test", "Sales"), e("dora@x.test", "Support")];
    const groups = groupByDepartment([...pageOne, ...pageTwo]);
    expect(groups.map((g) => [g.department, g.entries.map((x) => x.address)])).toEqual([
      [null, ["carl@x.test"]],
      ["Sales", ["ann@x.test", "bob@x.test"]],
      ["Support", ["dora@x.test"]],
    ]);
  });
});
