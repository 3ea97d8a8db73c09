import type { ExportedFile } from "../bindings/ExportedFile";
import { MAX_IMPORT_BYTES, formatBytes } from "../api/files";

/** The XLSX files of one kind of a domain's rows: its operations and words. */
export interface DomainFileKind {
  /** Import operation. */
  importOp: "import_aliases" | "import_bcc_rules" | "import_disclaimer_rules" | "import_monitor_rules";
  /** Export operation. */
  exportOp: "export_aliases" | "export_bcc_rules" | "export_disclaimer_rules" | "export_monitor_rules";
  /** Template operation. */
  templateOp: "aliases_template" | "bcc_rules_template" | "disclaimer_rules_template" | "monitor_rules_template";
  /** One row, for messages ("alias", "BCC rule"). */
  noun: string;
  /** Several rows ("aliases", "BCC rules"). */
  plural: string;
  /** The template's columns, as the dialog explains them. */
  columns: string;
  /** What happens to rows that clash with what exists. */
  existing: string;
}

export const ALIAS_FILES: DomainFileKind = {
  importOp: "import_aliases",
  exportOp: "export_aliases",
  templateOp: "aliases_template",
  noun: "alias",
  plural: "aliases",
  columns: "alias address, targets separated by commas, description",
  existing: "An address that is already taken (by an account, group or alias, an existing alias too) is a problem of its row.",
};

export const BCC_FILES: DomainFileKind = {
  importOp: "import_bcc_rules",
  exportOp: "export_bcc_rules",
  templateOp: "bcc_rules_template",
  noun: "BCC rule",
  plural: "BCC rules",
  columns: "name, direction, sender, recipient, copy to",
  existing: "The rules are added after the existing ones; a rule that copies the same mail to the same address as another is a problem of its row.",
};

export const DISCLAIMER_FILES: DomainFileKind = {
  importOp: "import_disclaimer_rules",
  exportOp: "export_disclaimer_rules",
  templateOp: "disclaimer_rules_template",
  noun: "disclaimer rule",
  plural: "disclaimer rules",
  columns:
    "name, scope, sender, recipient, department, except sender, except recipient, except department, text, HTML",
  existing:
    "The rules are added after the existing ones, in the file's order; a rule with the same scope, conditions and exceptions as one tried before it would never fire, and is a problem of its row.",
};

export const MONITOR_FILES: DomainFileKind = {
  importOp: "import_monitor_rules",
  exportOp: "export_monitor_rules",
  templateOp: "monitor_rules_template",
  noun: "monitoring rule",
  plural: "monitoring rules",
  columns:
    "name, watch department, watch account, traffic, sender, recipient, min size (KB), keyword, except sender, except recipient, except keyword, action (copy or folder), target",
  existing: "A rule that does the same as an existing one (or an earlier row) for the same mail is a problem of its row.",
};

/** Why a chosen file cannot be sent (none chosen, too big), or null when it can. */
export function fileProblem(file: { name: string; size: number } | null, kind: DomainFileKind): string | null {
  if (!file) return "Choose an XLSX file first.";
  if (file.size > MAX_IMPORT_BYTES) {
    return `${file.name} has ${formatBytes(file.size)}; a file of ${kind.plural} may have at most 1 MB.`;
  }
  return null;
}

/** The message after an import. */
export function importedText(added: number, kind: DomainFileKind): string {
  return `Imported ${added} ${added === 1 ? kind.noun : kind.plural}.`;
}

/** What an export holds, said before where it went. */
export function exportedText(file: ExportedFile, kind: DomainFileKind): string {
  return `Exported ${file.rows} ${file.rows === 1 ? kind.noun : kind.plural}.`;
}
