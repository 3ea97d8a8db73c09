import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Served by `postdesk serve` under a strict CSP (no inline scripts or styles) and loaded by
// Tauri from the same files: relative asset URLs, no inline module preload polyfill.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: "es2022",
  },
  server: {
    port: 5173,
    strictPort: true,
    // `npm run dev` against a local `postdesk serve` on the default port.
    proxy: { "/api": "http://127.0.0.1:7878" },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
