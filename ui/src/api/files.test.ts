import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesToBase64, fileToBase64, formatBytes, openedToFile, saveFile, saveOutcomeText } from "./files";
import { Desktop, type Invoke } from "./tauri";

/** A Desktop whose commands answer `answer` and are recorded. */
function desktop(answer: unknown) {
  const calls: [string, Record<string, unknown> | undefined][] = [];
  const inv: Invoke = <T,>(cmd: string, args?: Record<string, unknown>) => {
    calls.push([cmd, args]);
    return Promise.resolve(answer as T);
  };
  return { calls, desktop: new Desktop(inv) };
}

const EXPORT = { file_name: "aliases-example.com.xlsx", content_base64: "UEsDBA==", rows: 2 };

describe("files", () => {
  it("round-trips bytes through base64, also past one chunk", async () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    const text = bytesToBase64(bytes);
    expect(base64ToBytes(text)).toEqual(bytes);
    expect(bytesToBase64(new TextEncoder().encode("PK\x03\x04"))).toBe("UEsDBA==");
    expect(await fileToBase64(new Blob([new Uint8Array([1, 2, 3])]))).toBe("AQID");
  });

  it("formats sizes for people", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3.0 TiB");
  });

  it("saves an export through the desktop app's save dialog and says where it went", async () => {
    const saved = desktop({ path: "/home/ann/aliases.xlsx", bytes: 4 });
    const outcome = await saveFile(EXPORT, saved.desktop);
    expect(saved.calls).toEqual([["save_file", { file: EXPORT }]]);
    expect(outcome).toEqual({ saved: "/home/ann/aliases.xlsx" });
    expect(saveOutcomeText(outcome)).toBe("Saved to /home/ann/aliases.xlsx.");

    const cancelled = await saveFile(EXPORT, desktop(null).desktop);
    expect(cancelled).toEqual({ cancelled: true });
    expect(saveOutcomeText(cancelled)).toBe("Not saved: the save dialog was closed.");
    expect(saveOutcomeText({ downloaded: "x.csv" })).toBe("Downloaded x.csv.");
  });

  it("opens an import through the desktop app's open dialog as a File", async () => {
    const opened = desktop({ file_name: "accounts.xlsx", content_base64: "UEsDBA==", size: 4 });
    const picked = await opened.desktop.openFile("xlsx");
    expect(opened.calls).toEqual([["open_file", { kind: "xlsx" }]]);
    const file = openedToFile(picked!);
    expect([file.name, file.size]).toEqual(["accounts.xlsx", 4]);
    expect(await fileToBase64(file)).toBe("UEsDBA==");
  });
});
