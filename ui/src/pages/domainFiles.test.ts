import { describe, expect, it } from "vitest";
import { MAX_IMPORT_BYTES } from "../api/files";
import {
  ALIAS_FILES,
  BCC_FILES,
  DISCLAIMER_FILES,
  MONITOR_FILES,
  exportedText,
  fileProblem,
  importedText,
} from "./domainFiles";

describe("domain files (aliases, BCC, disclaimer and monitoring rules)", () => {
  it("refuses no file and a file over 1 MB before sending it", () => {
    expect(fileProblem(null, ALIAS_FILES)).toBe("Choose an XLSX file first.");
    expect(fileProblem({ name: "big.xlsx", size: MAX_IMPORT_BYTES + 1 }, BCC_FILES)).toBe(
      "big.xlsx has 1.0 MiB; a file of BCC rules may have at most 1 MB.",
    );
    expect(fileProblem({ name: "ok.xlsx", size: MAX_IMPORT_BYTES }, ALIAS_FILES)).toBeNull();
  });
  it("counts rows in the singular and the plural", () => {
    expect(importedText(1, ALIAS_FILES)).toBe("Imported 1 alias.");
    expect(importedText(3, BCC_FILES)).toBe("Imported 3 BCC rules.");
    expect(exportedText({ file_name: "a.xlsx", content_base64: "", rows: 0 }, ALIAS_FILES)).toBe("Exported 0 aliases.");
  });
  it("names each kind's own operations", () => {
    expect([ALIAS_FILES.importOp, ALIAS_FILES.exportOp, ALIAS_FILES.templateOp]).toEqual([
      "import_aliases",
      "export_aliases",
      "aliases_template",
    ]);
    expect([BCC_FILES.importOp, BCC_FILES.exportOp, BCC_FILES.templateOp]).toEqual([
      "import_bcc_rules",
      "export_bcc_rules",
      "bcc_rules_template",
    ]);
    expect([DISCLAIMER_FILES.importOp, DISCLAIMER_FILES.exportOp, DISCLAIMER_FILES.templateOp]).toEqual([
      "import_disclaimer_rules",
      "export_disclaimer_rules",
      "disclaimer_rules_template",
    ]);
    expect([MONITOR_FILES.importOp, MONITOR_FILES.exportOp, MONITOR_FILES.templateOp]).toEqual([
      "import_monitor_rules",
      "export_monitor_rules",
      "monitor_rules_template",
    ]);
  });
  it("words the disclaimer and monitoring rules", () => {
    expect(importedText(1, DISCLAIMER_FILES)).toBe("Imported 1 disclaimer rule.");
    expect(exportedText({ file_name: "m.xlsx", content_base64: "", rows: 2 }, MONITOR_FILES)).toBe(
      "Exported 2 monitoring rules.",
    );
    expect(fileProblem({ name: "big.xlsx", size: MAX_IMPORT_BYTES + 1 }, DISCLAIMER_FILES)).toBe(
      "big.xlsx has 1.0 MiB; a file of disclaimer rules may have at most 1 MB.",
    );
  });
});
