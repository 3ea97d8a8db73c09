import type { ExportedFile } from "../bindings/ExportedFile";
import type { OpenedFile } from "../bindings-desktop/OpenedFile";
import { Desktop, inTauri } from "./tauri";

/** Standard base64 of bytes (files cross the JSON API this way). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of standard base64 text. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A chosen file's bytes as base64. */
export async function fileToBase64(file: Blob): Promise<string> {
  return bytesToBase64(new Uint8Array(await file.arrayBuffer()));
}

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** Largest file any import takes (the backend checks it again). */
export const MAX_IMPORT_BYTES = 1024 * 1024;

/** The desktop app's commands when the page runs in its window, else null (a browser). */
export function desktopOrNull(): Desktop | null {
  return inTauri() ? new Desktop() : null;
}

/** How saving an export ended. */
export type SaveOutcome = { saved: string } | { downloaded: string } | { cancelled: true };

/**
 * Saves a file made by the backend: in the desktop window through the OS's save dialog
 * (the user picks where), in a browser as a download.
 */
export async function saveFile(file: ExportedFile, desktop: Desktop | null = desktopOrNull()): Promise<SaveOutcome> {
  if (!desktop) {
    downloadFile(file);
    return { downloaded: file.file_name };
  }
  const saved = await desktop.saveFile(file);
  return saved ? { saved: saved.path } : { cancelled: true };
}

/** What the page says after a save. */
export function saveOutcomeText(outcome: SaveOutcome): string {
  if ("saved" in outcome) return `Saved to ${outcome.saved}.`;
  if ("downloaded" in outcome) return `Downloaded ${outcome.downloaded}.`;
  return "Not saved: the save dialog was closed.";
}

/** A file read by the desktop app's open dialog, as the browser's file input gives one. */
export function openedToFile(opened: OpenedFile): File {
  return new File([base64ToBytes(opened.content_base64) as BlobPart], opened.file_name, { type: XLSX_TYPE });
}

/** Hands a file made by the backend to the browser as a download. */
function downloadFile(file: ExportedFile): void {
  const type = file.file_name.endsWith(".csv") ? "text/csv" : XLSX_TYPE;
  const blob = new Blob([base64ToBytes(file.content_base64) as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = file.file_name;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke after the click has been handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A byte count for people: 0 B, 12.3 KiB, 4.0 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
