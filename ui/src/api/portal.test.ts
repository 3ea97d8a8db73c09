import { describe, expect, it } from "vitest";
import { isPortalRoute, PortalApi } from "./portal";

describe("the user portal's route and calls", () => {
  it("is #/portal and nothing that merely starts like it", () => {
    for (const hash of ["#/portal", "#portal", "#/portal/", "#/portal?x=1"]) expect(isPortalRoute(hash)).toBe(true);
    for (const hash of ["", "#/", "#/accounts", "#/portals", "#/sign-in"]) expect(isPortalRoute(hash)).toBe(false);
  });

  it("sends the session's anti-CSRF token and never an Authorization header", async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const api = new PortalApi((url, init) => {
      seen.push({ url: String(url), headers: (init?.headers ?? {}) as Record<string, string> });
      return Promise.resolve(new Response(JSON.stringify({ address: "ann@example.com" }), { status: 200 }));
    });
    await api.account("tok");
    await api.changePassword("tok", { current_password: "a", new_password: "b" });
    expect(seen.map((s) => s.url)).toEqual(["/api/portal/account", "/api/portal/password"]);
    for (const s of seen) {
      expect(s.headers["X-Postdesk-CSRF"]).toBe("tok");
      expect(Object.keys(s.headers)).not.toContain("Authorization");
    }
  });

  it("answers null for a browser that is not signed in", async () => {
    const refusal = { code: "unauthenticated", message: "not signed in", field: null, rows: [] };
    const api = new PortalApi(() => Promise.resolve(new Response(JSON.stringify(refusal), { status: 401 })));
    expect(await api.current()).toBeNull();
  });
});
