import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesToBase64, fileToBase64, formatBytes } from "./files";

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
});
