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

  it("recovers a password without a session: no anti-CSRF token, JSON bodies, 204 taken", async () => {
    const seen: { url: string; method?: string; headers: Record<string, string>; body: unknown }[] = [];
    const api = new PortalApi((url, init) => {
      seen.push({
        url: String(url),
        method: init?.method,
        headers: (init?.headers ?? {}) as Record<string, string>,
        body: JSON.parse(init?.body as string) as unknown,
      });
      const answer = String(url).endsWith("/questions")
        ? new Response(JSON.stringify({ address: "ann@example.com", questions: ["a?", "b?", "c?"] }), { status: 200 })
        : new Response(null, { status: 204 });
      return Promise.resolve(answer);
    });
    expect((await api.recoveryQuestions("ann@example.com")).questions).toEqual(["a?", "b?", "c?"]);
    await api.recover({ address: "ann@example.com", answers: ["x", "y", "z"], new_password: "New pass 1" });
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ["POST", "/api/portal/recovery/questions"],
      ["POST", "/api/portal/recovery"],
    ]);
    expect(seen[1].body).toEqual({ address: "ann@example.com", answers: ["x", "y", "z"], new_password: "New pass 1" });
    for (const s of seen) {
      expect(s.headers["Content-Type"]).toBe("application/json");
      expect(Object.keys(s.headers)).not.toContain("X-Postdesk-CSRF");
    }
  });

  it("answers null for a browser that is not signed in", async () => {
    const refusal = { code: "unauthenticated", message: "not signed in", field: null, rows: [] };
    const api = new PortalApi(() => Promise.resolve(new Response(JSON.stringify(refusal), { status: 401 })));
    expect(await api.current()).toBeNull();
  });
});
